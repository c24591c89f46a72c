"""A PRISMA 2020-style flow diagram drawn with plotly shapes and annotations.

Takes the tidy frames of :func:`evidence.appraisal.flow.counts` (``boxes`` and
``per_outcome``) and draws: records in the registry; published meta-analyses set aside as
benchmarks; studies assessed; studies excluded from pooling with each reason and its count;
studies included; and the studies per pooled outcome. Stage bands on the left follow PRISMA's
"Identification / Screening / Included".
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from evidence.figures.palette import GREY, OKABE_ITO
from evidence.figures.style import SMALL_SIZE, base_layout, esc

_BOX_FILL = "#FFFFFF"
_EXCLUDED_FILL = "#F5F5F5"
_STAGE_FILL = OKABE_ITO["sky blue"]
_LINE = "#333333"


def _box(fig: go.Figure, x0: float, x1: float, y0: float, y1: float, text: str, fill: str) -> None:
    fig.add_shape(
        type="rect",
        x0=x0,
        x1=x1,
        y0=y0,
        y1=y1,
        line={"color": _LINE, "width": 1.5},
        fillcolor=fill,
        layer="below",
    )
    fig.add_annotation(
        x=(x0 + x1) / 2,
        y=(y0 + y1) / 2,
        text=text,
        showarrow=False,
        align="center",
        font={"size": SMALL_SIZE + 1},
    )


def _arrow(fig: go.Figure, x0: float, y0: float, x1: float, y1: float) -> None:
    fig.add_annotation(
        x=x1,
        y=y1,
        ax=x0,
        ay=y0,
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        text="",
        showarrow=True,
        arrowhead=2,
        arrowsize=1.2,
        arrowwidth=1.5,
        arrowcolor=_LINE,
    )


def _stage(fig: go.Figure, y0: float, y1: float, label: str) -> None:
    fig.add_shape(
        type="rect",
        x0=0,
        x1=5,
        y0=y0,
        y1=y1,
        line={"width": 0},
        fillcolor=_STAGE_FILL,
        layer="below",
    )
    fig.add_annotation(
        x=2.5,
        y=(y0 + y1) / 2,
        text=f"<b>{esc(label)}</b>",
        textangle=-90,
        showarrow=False,
        font={"size": SMALL_SIZE + 1, "color": "#000000"},
    )


def flow_diagram(
    boxes: pd.DataFrame,
    per_outcome: pd.DataFrame,
    title: str = "Study flow: from the registry to the pooled analyses",
    subtitle: str = "",
) -> go.Figure:
    """The flow diagram. ``boxes`` needs id, label and n; ``per_outcome`` label and studies."""
    by_id = boxes.set_index("id")

    def line(box_id: str) -> str:
        return f"{esc(by_id.at[box_id, 'label'])}<br><b>(n = {int(by_id.at[box_id, 'n'])})</b>"

    reasons = boxes[boxes["id"].str.startswith("excluded:") & (boxes["n"] > 0)]
    excluded_text = (
        f"{esc(by_id.at['excluded', 'label'])} <b>(n = {int(by_id.at['excluded', 'n'])})</b>"
        + "".join(f"<br>{esc(r.label)} (n = {int(r.n)})" for r in reasons.itertuples())
    )
    outcome_text = "<b>Studies per pooled outcome</b>" + "".join(
        f"<br>{esc(r.label)}: {int(r.studies)}" for r in per_outcome.itertuples()
    )

    fig = go.Figure()
    top, step = 100.0, 25.0
    rows = [top - i * step for i in range(4)]  # centres of the four rows
    half = 8.0
    # Boxes with a list grow downwards from the row's top edge (2.7 units per text line).
    excluded_height = max(2 * half, 4.0 + 2.7 * (1 + len(reasons)))
    outcome_height = max(2 * half, 4.0 + 2.7 * (1 + len(per_outcome)))
    excluded_half = excluded_height - half  # extent below the row centre
    outcome_half = outcome_height - half

    _stage(fig, rows[0] - half - 2, rows[0] + half + 2, "Identification")
    _stage(fig, rows[1] - half - 2, rows[1] + half + 2, "Screening")
    _stage(fig, rows[3] - outcome_half - 2, rows[2] + half + 2, "Included")

    _box(fig, 10, 52, rows[0] - half, rows[0] + half, line("registry"), _BOX_FILL)
    _box(fig, 60, 98, rows[0] - half, rows[0] + half, line("benchmarks"), _EXCLUDED_FILL)
    _box(fig, 10, 52, rows[1] - half, rows[1] + half, line("studies"), _BOX_FILL)
    _box(fig, 60, 98, rows[1] - excluded_half, rows[1] + half, excluded_text, _EXCLUDED_FILL)
    _box(fig, 10, 52, rows[2] - half, rows[2] + half, line("included"), _BOX_FILL)
    _box(
        fig,
        10,
        52,
        rows[3] - outcome_half,
        rows[3] + half,
        outcome_text,
        _BOX_FILL,
    )
    _arrow(fig, 31, rows[0] - half, 31, rows[1] + half)
    _arrow(fig, 52, rows[0], 60, rows[0])
    _arrow(fig, 52, rows[1], 60, rows[1])
    _arrow(fig, 31, rows[1] - half, 31, rows[2] + half)
    _arrow(fig, 31, rows[2] - half, 31, rows[3] + half)

    bottom = min(rows[3] - outcome_half, rows[1] - excluded_half) - 4
    layout = base_layout(title, subtitle, height=int(7 * (top + half + 4 - bottom)) + 60)
    layout.pop("annotations")
    layout.pop("shapes")
    layout["xaxis"] = {"range": [0, 100], "visible": False, "fixedrange": True}
    layout["yaxis"] = {"range": [bottom, top + half + 4], "visible": False, "fixedrange": True}
    layout["margin"] = {"l": 10, "r": 10, "t": 80, "b": 10}
    fig.update_layout(**layout)
    fig.add_annotation(
        x=100,
        y=bottom,
        xanchor="right",
        yanchor="bottom",
        text="Each registry entry is counted once, under the first reason that applies.",
        showarrow=False,
        font={"size": SMALL_SIZE - 1, "color": GREY},
    )
    return fig
