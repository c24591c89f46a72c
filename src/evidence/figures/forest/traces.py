"""The forest plot's traces: always the same five in the same order (:data:`TRACES`), so the
browser's ``Plotly.react`` can update the plot in place."""

from __future__ import annotations

from typing import Any

from evidence.figures.forest.columns import REASON_SIZE
from evidence.figures.forest.rows import ForestRows
from evidence.figures.palette import GREY
from evidence.figures.style import trace

#: Names of the traces, in order (tests and the app rely on the order). "numbers" and
#: "weights" have no points: they only make plotly draw the axes (yaxis2, yaxis3) whose tick
#: labels are those columns (see columns.py).
TRACES = ("ci", "studies", "empty", "numbers", "weights")


def forest_traces(rows: ForestRows, x_left: float, reasons: list[str]) -> list[dict[str, Any]]:
    """The five traces of :data:`TRACES` for ``rows`` (``x_left``: the x axis' left end;
    ``reasons``: each empty group's reason, as lines)."""
    compact = rows.compact
    return [
        trace(
            "scatter",
            name="ci",
            x=[] if compact else rows.ci_x,
            y=[] if compact else rows.ci_y,
            mode="lines",
            line={"color": "#333333", "width": 1.6},
            hoverinfo="skip",
        ),
        studies_trace(rows),
        trace(
            "scatter",
            name="empty",
            x=[x_left] * len(rows.empty),
            y=[y for y, _, _ in rows.empty],
            mode="text",  # the reason, written in the plot area; hover gives all of it
            text=reasons,
            textposition="middle right",
            textfont={"size": REASON_SIZE, "color": GREY},
            cliponaxis=False,
            hovertext=[hover for _, _, hover in rows.empty],
            hoverinfo="text",
        ),
        trace("scatter", name="numbers", x=[], y=[], yaxis="y2", hoverinfo="skip"),
        trace("scatter", name="weights", x=[], y=[], yaxis="y3", hoverinfo="skip"),
    ]


def studies_trace(rows: ForestRows) -> dict[str, Any]:
    """The study squares (markers sized by weight); in a compact plot an invisible line through
    the estimates that only carries the hover text (one SVG element; see compact_shapes).
    ``customdata`` is each point's [citekey, arm], so a click can name its study arm."""
    if rows.compact:
        return trace(
            "scatter",
            name="studies",
            x=rows.st_x,
            y=rows.st_y,
            mode="lines",
            line={"color": "rgba(0,0,0,0)", "width": 1},
            customdata=rows.st_keys,
            hovertext=rows.st_hover,
            hoverinfo="text",
        )
    return trace(
        "scatter",
        name="studies",
        x=rows.st_x,
        y=rows.st_y,
        mode="markers",
        marker={
            "symbol": rows.st_symbol,
            "size": rows.st_size,
            "color": rows.st_colour,
            "opacity": 1.0,
            "line": {"color": rows.st_colour, "width": 2},
        },
        customdata=rows.st_keys,
        hovertext=rows.st_hover,
        hoverinfo="text",
    )
