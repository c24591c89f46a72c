"""The forest plot's text columns, placed in pixels from measured text widths (as metafor's
forest() places its columns with strwidth): row label | plot | estimate [95% CI] | weight | RoB.

Each column is as wide as its widest cell (header included) and the next starts a gap later,
so no two texts of a row overlap. The row labels are the y axis' tick labels in the left
margin; the other columns are in the right margin at pixel offsets from the plot area's
right edge, so no column moves with the figure's width: only the plot area stretches or
shrinks (a dashboard pane, an export 1280 to 2400 px wide). The estimates and the weights
are tick labels of two more y axes (``ticklabelstandoff`` in px; one SVG text per row,
updated in place as the row labels are); a risk-of-bias cell is a circle sized in px with an
annotation carrying its symbol and hover.

Texts that cross the plot area (an empty group's reason, the direction words under the axis,
the legend, the subtitle) are wrapped for a plot area of :data:`MIN_PLOT` px: at any figure
width from :attr:`Columns.min_width` on, nothing overlaps and nothing leaves the figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from evidence.figures.forest.rows import ForestRows
from evidence.figures.style import SMALL_SIZE, TICK_SIZE, fmt
from evidence.figures.text_width import markup_width

GAP = 16  # px between two columns
EDGE = 10  # px between the outermost text and the figure's edge
LABEL_GAP = 8  # px between the row labels and the plot area (the axis' ticklabelstandoff)
MIN_PLOT = 240  # px: the narrowest plot area the wrapped texts are laid out for
#: px: a study label wider than this is broken into lines (its row grows), so that the
#: figure fits a dashboard pane about 900 px wide
LABEL_CAP = 360
HEADER_SIZE = SMALL_SIZE + 1
REASON_SIZE = SMALL_SIZE + 1
#: plotly draws a right-side axis' inside tick labels this many px short of their standoff
#: (measured in chromium; tests/browser/test_forest_layout.py checks the drawn result).
INSIDE_PAD = 3


@dataclass(frozen=True)
class Columns:
    """Widths (px) of the text columns and where each starts, from the plot's right edge."""

    tick_size: int
    label: float  # the widest row label
    numbers: float  # the widest estimate [95% CI], or its header
    weight: float  # the widest weight, or its header; 0 without the column
    rob: float  # a risk-of-bias circle, or its header; 0 without the column
    circle: int  # the risk-of-bias circle's diameter

    @property
    def left(self) -> int:
        """The left margin: the labels, their gap to the plot and the edge."""
        return math.ceil(EDGE + self.label + LABEL_GAP)

    @property
    def numbers_start(self) -> float:
        return GAP

    @property
    def weight_end(self) -> float:
        """Right edge of the (right-aligned) weight column."""
        return GAP + self.numbers + (GAP + self.weight if self.weight else 0)

    @property
    def rob_centre(self) -> float:
        return self.weight_end + GAP + self.rob / 2

    @property
    def right(self) -> int:
        """The right margin: every column, its gaps and the edge."""
        return math.ceil(self.weight_end + (GAP + self.rob if self.rob else 0) + EDGE)

    @property
    def min_width(self) -> int:
        """The narrowest figure whose plot area is MIN_PLOT px wide."""
        return self.left + MIN_PLOT + self.right

    @property
    def reason_width(self) -> float:
        """Room for an empty group's reason: the plot area and the columns (that row has none)."""
        return MIN_PLOT + self.right - EDGE - REASON_SIZE  # an en space before each line


def numbers_header(compact: bool) -> str:
    return "<b>Pooled [95% CI]</b>" if compact else "<b>Estimate [95% CI]</b>"


WEIGHT_HEADER = "<b>Weight</b>"
ROB_HEADER = "<b>RoB</b>"


def tick_size(n_rows: int) -> int:
    """The font size of the row labels and of the numbers columns."""
    return TICK_SIZE if n_rows <= 60 else SMALL_SIZE - 2


def measure(rows: ForestRows, shown_labels: list[str], with_rob: bool) -> Columns:
    """The columns of ``rows``: each as wide as its widest cell, header included."""
    size = tick_size(len(rows.labels))
    label = max((markup_width(t, size) for t in shown_labels), default=0.0)
    cells = [t for t in rows.numbers if t]
    if rows.compact:
        cells.append(_widest_pooled(rows))  # stable across estimators: no full redraw
    numbers = max(
        [markup_width(numbers_header(rows.compact), HEADER_SIZE)]
        + [markup_width(t, size) for t in cells]
    )
    weights = [t for t in rows.weights if t]
    weight = 0.0
    if weights:
        weight = max(
            [markup_width(WEIGHT_HEADER, HEADER_SIZE)] + [markup_width(t, size) for t in weights]
        )
    circle = 22 if len(rows.labels) <= 60 else 14
    rob = max(circle, markup_width(ROB_HEADER, HEADER_SIZE)) if with_rob else 0.0
    return Columns(size, label, numbers, weight, rob, circle)


def _widest_pooled(rows: ForestRows) -> str:
    """A compact plot's widest possible pooled cell (its studies' largest magnitude in every
    place), so that an estimator change never changes the margin (a full redraw)."""
    values = [abs(v) for v in rows.study_values + rows.range_values if math.isfinite(v)]
    big = fmt(-max(values, default=0.0))
    return f"<b>{big} [{big}, {big}]</b> I\u00b2 100%"


def column_axes(rows: ForestRows, cols: Columns, span: list[float]) -> dict[str, Any]:
    """yaxis2 (estimates, left-aligned) and yaxis3 (weights, right-aligned): tick labels in
    the right margin, over the row axis (each needs a trace: see traces.py)."""
    common = {
        "overlaying": "y",
        "anchor": "x",
        "side": "right",
        "range": span,
        "autorange": False,
        "fixedrange": True,
        "tickmode": "array",
        "ticks": "",
        "showgrid": False,
        "zeroline": False,
        "showline": False,
        "automargin": False,
        # measured columns never overflow: plotly need not measure every label to hide one
        "ticklabeloverflow": "allow",
        "tickfont": {"size": cols.tick_size, "color": "#111111"},  # the figure's text colour
    }
    numbered = [i for i, t in enumerate(rows.numbers) if t]
    weighted = [i for i, t in enumerate(rows.weights) if t]
    return {
        "yaxis2": common
        | {
            "tickvals": [rows.ys[i] for i in numbered],
            "ticktext": [rows.numbers[i] for i in numbered],
            "ticklabelstandoff": round(cols.numbers_start),
        },
        "yaxis3": common
        | {
            # inside labels end at the axis: a negative standoff moves them out, right-aligned
            "ticklabelposition": "inside",
            "tickvals": [rows.ys[i] for i in weighted],
            "ticktext": [rows.weights[i] for i in weighted],
            "ticklabelstandoff": -round(cols.weight_end + INSIDE_PAD),
        },
    }


def _at_right(px: float, anchor: str) -> dict[str, Any]:
    return {"xref": "paper", "x": 1.0, "xshift": px, "xanchor": anchor, "showarrow": False}


def headers(cols: Columns, compact: bool) -> list[dict[str, Any]]:
    """The column headers, above the first row."""
    top = {"yref": "paper", "y": 1.0, "yanchor": "bottom", "font": {"size": HEADER_SIZE}}
    out = [{"text": numbers_header(compact), **_at_right(cols.numbers_start, "left"), **top}]
    if cols.weight:
        out.append({"text": WEIGHT_HEADER, **_at_right(cols.weight_end, "right"), **top})
    if cols.rob:
        out.append(
            {
                "text": ROB_HEADER,
                **_at_right(cols.rob_centre, "center"),
                **top,
                "hovertext": "Risk of bias: the study's overall judgement (RoB 2 for randomised"
                " trials, ROBINS-I for non-randomised comparisons); hover a circle for its"
                " domains",
            }
        )
    return out


def rob_cells(rows: ForestRows, cols: Columns) -> tuple[list[dict], list[dict]]:
    """(circle shapes, symbol annotations with the hover) of the risk-of-bias column."""
    r = cols.circle / 2
    size = SMALL_SIZE - 1 if cols.circle >= 22 else 9
    shapes, notes = [], []
    for y, fill, symbol, ink, hover in rows.rob:
        shapes.append(
            {
                "type": "circle",
                "name": "rob",
                "xref": "paper",
                "xsizemode": "pixel",
                "xanchor": 1.0,
                "x0": cols.rob_centre - r,
                "x1": cols.rob_centre + r,
                "yref": "y",
                "ysizemode": "pixel",
                "yanchor": y,
                "y0": -r,
                "y1": r,
                "fillcolor": fill,
                "line": {"color": "#444444", "width": 1},
                "layer": "above",
            }
        )
        notes.append(
            {
                "text": symbol,
                "name": "rob",
                **_at_right(cols.rob_centre, "center"),
                "yref": "y",
                "y": y,
                "width": cols.circle,
                "height": cols.circle,
                "font": {"size": size, "color": ink},
                "hovertext": hover,
                "hoverlabel": {"bgcolor": "white", "font": {"size": SMALL_SIZE + 1}},
            }
        )
    return shapes, notes
