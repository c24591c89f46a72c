"""The forest plot's traces: always the same five in the same order (:data:`TRACES`), so the
app can update a FigureWidget in place."""

from __future__ import annotations

from typing import Any

from evidence.figures.forest.rows import ForestRows
from evidence.figures.palette import GREY
from evidence.figures.style import SMALL_SIZE, TICK_SIZE, trace

#: Names of the traces, in order (tests and the app rely on the order).
TRACES = ("ci", "studies", "empty", "numbers", "rob")


def forest_traces(rows: ForestRows, x_left: float) -> list[dict[str, Any]]:
    """The five traces of :data:`TRACES` for ``rows`` (``x_left``: the x axis' left end)."""
    compact = rows.compact
    n_rows = len(rows.labels)
    # Only rows with numbers get a text point: plotly.js removes the <text> of a point whose
    # text is empty and an in-place update never draws it again, so a row that gained numbers
    # after a control change stayed blank (the dashboard's vanishing numbers).
    numbered = [y for y, t in enumerate(rows.numbers) if t] if not compact else []
    rob_y, rob_fill, rob_text, rob_ink, rob_hover = (
        [cell[i] for cell in rows.rob] for i in range(5)
    )
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
            text=[text for _, text, _ in rows.empty],
            textposition="middle right",
            textfont={"size": SMALL_SIZE + 1, "color": GREY},
            cliponaxis=False,
            hovertext=[hover for _, _, hover in rows.empty],
            hoverinfo="text",
        ),
        trace(
            "scatter",
            name="numbers",
            x=[0.02] * len(numbered),
            y=numbered,
            xaxis="x2",
            mode="text",
            text=[rows.numbers[y] for y in numbered],
            textposition="middle right",
            textfont={"size": TICK_SIZE if n_rows <= 60 else SMALL_SIZE - 2},
            cliponaxis=False,  # a long interval may reach into the next column
            hoverinfo="skip",
        ),
        trace(
            "scatter",
            name="rob",
            x=[0.5] * len(rob_y),
            y=rob_y,
            xaxis="x3",
            mode="markers+text",
            marker={
                "size": 22 if n_rows <= 60 else 14,
                "color": rob_fill,
                "symbol": "circle",
                "line": {"color": "#444444", "width": 1},
            },
            text=rob_text,
            textposition="middle center",
            textfont={"size": SMALL_SIZE - 1 if n_rows <= 60 else 9, "color": rob_ink},
            cliponaxis=False,
            hovertext=rob_hover,
            hoverinfo="text",
        ),
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
