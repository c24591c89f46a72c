"""The forest plot's layout: x range, margins and height, the axes (the forest's, the row
labels' and the text columns'), the title and the annotations (column headers, direction
words, legend, hover). Horizontal positions come from :mod:`.columns`; vertical ones from
line counts (plotly sets a line 1.3 font sizes apart)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from evidence.figures.axes import log_ticks
from evidence.figures.forest.columns import (
    EDGE,
    GAP,
    HEADER_SIZE,
    LABEL_GAP,
    MIN_PLOT,
    Columns,
    column_axes,
)
from evidence.figures.forest.rob_column import ROB_LEGEND
from evidence.figures.forest.rows import MAX_LABELLED_ROWS, ForestRows
from evidence.figures.forest.words import N_ASSUMED_MARK
from evidence.figures.palette import GREY
from evidence.figures.style import SMALL_SIZE, TICK_SIZE, TITLE_SIZE, esc
from evidence.figures.text_width import markup_width, wrap

LINE = 1.3  # plotly's line height, in font sizes
LEGEND = (
    "\u25a0 verified  \u25a1 secondary  \u22a1 third-party copy  \u22a0 seed-only numbers",
    f"{N_ASSUMED_MARK} n at the visit not reported",
    "square size = weight in group",
    "\u25c6 pooled estimate and 95% CI",
    "bar under \u25c6 = 95% prediction interval (k \u2265 3)",
)
DIRECTION_TOP = 56  # px under the plot: below the tick labels and the axis title
SUBTITLE_SIZE = SMALL_SIZE + 1


def label_margin(labels: list[str], size: int) -> int:
    """Pixels of the left margin for these row labels: the widest, measured, plus room."""
    widest = max((markup_width(t, size) for t in labels), default=0.0)
    return math.ceil(EDGE + widest + LABEL_GAP)


def x_range(values: list[float], null: float, log: bool) -> list[float]:
    """The forest's x range (log10 units on a log axis): every value and the null, padded."""
    vals = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
    if math.isfinite(null):
        vals.append(null)
    if not vals:
        return [0.01, 100.0] if log else [-1.0, 1.0]
    lo, hi = min(vals), max(vals)
    if log:
        lo, hi = max(lo, 1e-3), min(hi, 1e3)
        llo, lhi = math.log10(lo), math.log10(hi)
        pad = max((lhi - llo) * 0.06, 0.05)
        return [_settled(llo - pad), _settled(lhi + pad)]
    pad = (hi - lo) * 0.06 or max(abs(hi) * 0.1, 0.5)
    return [_settled(lo - pad), _settled(hi + pad)]


def _settled(x: float) -> float:
    """``x`` to 10 significant digits: estimators that agree (two studies' DL and REML fits,
    say) give pooled bounds a few ulps apart, and an axis range that moved by an ulp would
    change the figure's data revision and make plotly.js redraw every trace."""
    return float(f"{x:.10g}")


def reason_lines(why: str, cols: Columns, size: int) -> list[str]:
    """An empty group's reason in lines that fit beside its label (never cut)."""
    return wrap(why.split("; "), cols.reason_width, size, "; ")


@dataclass(frozen=True)
class Below:
    """What is written under the plot, in lines, and the bottom margin it needs."""

    directions: tuple[list[str], list[str]]
    legend: list[str]
    note: list[str]

    def tops(self) -> tuple[float, float, float]:
        """px under the plot where the direction words, the legend and the note begin."""
        n_dir = max(len(self.directions[0]), len(self.directions[1]), 1)
        legend = DIRECTION_TOP + n_dir * LINE * SMALL_SIZE + 10
        note = legend + len(self.legend) * LINE * SMALL_SIZE + 8
        return DIRECTION_TOP, legend, note

    @property
    def margin(self) -> int:
        end = self.tops()[2] + len(self.note) * LINE * SMALL_SIZE
        return math.ceil(end + 4 + EDGE)


def below(rows: ForestRows, cols: Columns, directions: tuple[str, str]) -> Below:
    """The direction words (each under its half of the narrowest plot area), the legend and,
    in a compact plot, a note, wrapped to the narrowest figure."""
    half = (MIN_PLOT - GAP) / 2
    width = cols.min_width - 2 * EDGE
    legend = wrap(list(LEGEND), width, SMALL_SIZE, " \u00b7 ")
    if cols.rob:
        legend += wrap(list(ROB_LEGEND), width, SMALL_SIZE, " \u00b7 ")
    note = []
    if rows.compact:
        note = wrap(
            [
                f"{len(rows.st_x)} study arms: above {MAX_LABELLED_ROWS} the rows are not"
                " labelled and the squares are not sized by weight",
                "hover a row for its study",
            ],
            width,
            SMALL_SIZE,
            "; ",
        )
    low, high = (wrap([d], half, SMALL_SIZE) if d else [] for d in directions)
    return Below((low, high), legend, note)


def title(text: str, parts: list[str], cols: Columns) -> tuple[dict[str, Any], int]:
    """The title and its subtitle (``parts``, joined by middle dots), wrapped to the narrowest
    figure, and the top margin they and the column headers need."""
    width = cols.min_width - 2 * EDGE
    lines = [f"<b>{esc(t)}</b>" for t in wrap([text], width, TITLE_SIZE, bold=True)]
    subtitle = wrap([esc(p) for p in parts if p], width, SUBTITLE_SIZE, " \u00b7 ")
    lines += [f"<span style='font-size:{SUBTITLE_SIZE}px'>{t}</span>" for t in subtitle]
    height = (len(lines) - len(subtitle)) * LINE * TITLE_SIZE + len(subtitle) * LINE * SUBTITLE_SIZE
    top = math.ceil(EDGE + height + 10 + LINE * HEADER_SIZE + 4)
    layout = {
        "text": "<br>".join(lines),
        "x": 0.0,
        "xanchor": "left",
        # plotly places a title's FIRST line by the anchor and runs the others downwards
        # (measured in chromium): its bottom, 22 px under its top, is pad.b above the plot
        "y": 1.0,
        "yref": "paper",
        "yanchor": "bottom",
        "pad": {"b": top - EDGE - 18, "l": EDGE},
        "font": {"size": TITLE_SIZE},
    }
    return layout, top


def _under(text: str, x: float, xshift: float, anchor: str, top: float) -> dict[str, Any]:
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": x,
        "y": 0.0,
        "xshift": xshift,
        "yshift": -top,
        "xanchor": anchor,
        "yanchor": "top",
        "align": anchor if anchor != "center" else "center",
        "showarrow": False,
        "font": {"size": SMALL_SIZE, "color": GREY},
    }


def under_plot(cols: Columns, text: Below) -> list[dict[str, Any]]:
    """The direction words under the two ends of the x axis, the legend and the note (these
    two from the figure's left edge)."""
    directions, legend, note = text.tops()
    out = []
    for lines, x, anchor in ((text.directions[0], 0.0, "left"), (text.directions[1], 1.0, "right")):
        if lines:
            out.append(_under("<br>".join(esc(t) for t in lines), x, 0, anchor, directions))
            out[-1]["font"] = {"size": SMALL_SIZE}
    from_edge = -(cols.left - EDGE)
    out.append(_under("<br>".join(text.legend), 0.0, from_edge, "left", legend))
    if text.note:
        out.append(_under("<br>".join(esc(t) for t in text.note), 0.0, from_edge, "left", note))
    return out


def pooled_hover(rows: ForestRows, log: bool) -> list[dict[str, Any]]:
    """Invisible marks over the diamonds that carry their hover text.

    None in a compact plot: changing annotations makes plotly redraw every point, 100 ms at
    2,000 rows; the numbers are then in the row labels instead.
    """
    if rows.compact:
        return []
    return [
        {
            "text": "\u25c6\u25c6",
            "name": "pooled",
            "xref": "x",
            "yref": "y",
            "x": math.log10(x) if log and x > 0 else x,
            "y": y,
            "showarrow": False,
            "font": {"size": 16, "color": "rgba(0,0,0,0)"},
            "hovertext": text,
            "hoverlabel": {"bgcolor": "white", "font": {"size": SMALL_SIZE + 1}},
        }
        for x, y, text in zip(rows.pool_x, rows.pool_y, rows.pool_hover, strict=True)
    ]


def shown_labels(rows: ForestRows) -> tuple[list[float], list[str]]:
    """(positions, texts) of the row labels: every row, or in a compact plot only its
    headings, pooled and empty rows."""
    shown = [
        (y, f"<span style='color:{GREY}'>{t}</span>" if k == "empty" else t)
        for y, t, k in zip(rows.ys, rows.labels, rows.kinds, strict=True)
        if not rows.compact or k != "study"
    ]
    return [y for y, _ in shown], [t for _, t in shown]


def axes(
    rows: ForestRows, cols: Columns, x_span: list[float], log: bool, axis_title: str
) -> dict[str, Any]:
    """The forest's x axis, the row labels' axis and the text columns' axes."""
    tickvals, ticktext = shown_labels(rows)
    span = [rows.bottom + 0.1, -0.8]
    return {
        "xaxis": {
            "domain": [0.0, 1.0],
            "type": "log" if log else "linear",
            "range": x_span,
            "tickmode": "array" if log else "auto",
            "tickvals": log_ticks(x_span) if log else None,
            "title": {"text": axis_title, "standoff": 8},
            "zeroline": False,
            "showgrid": True,
            "gridcolor": "#EEEEEE",
            "tickfont": {"size": TICK_SIZE},
            "showline": True,
            "linecolor": "#333333",
            "ticks": "outside",
            "ticklabeloverflow": "allow",  # no label leaves the figure: none to measure
        },
        "yaxis": {
            "tickmode": "array",
            "tickvals": tickvals,
            "ticktext": ticktext,
            "showticklabels": True,
            "range": span,
            "autorange": False,
            "fixedrange": True,
            "showgrid": False,
            "zeroline": False,
            # measured widths: plotly's automargin would draw the plot twice, on the first
            # render and on every label change
            "automargin": False,
            "ticklabeloverflow": "allow",  # measured: no label to hide
            "tickfont": {"size": cols.tick_size},
            "ticks": "",
            "ticklabelstandoff": LABEL_GAP,
        },
        **column_axes(rows, cols, span),
    }
