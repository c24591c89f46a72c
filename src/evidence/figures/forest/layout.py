"""The forest plot's layout: x range, margins, axes (the forest, the numbers and the
risk-of-bias columns) and annotations (column headers, direction words, legend, hover)."""

from __future__ import annotations

import html
import math
import re
from typing import Any

from evidence.figures.axes import log_ticks
from evidence.figures.forest.rob_column import ROB_LEGEND
from evidence.figures.forest.rows import MAX_LABELLED_ROWS, ForestRows
from evidence.figures.forest.words import N_ASSUMED_MARK
from evidence.figures.palette import GREY
from evidence.figures.style import SMALL_SIZE, TICK_SIZE, esc

#: x-axis domains (forest, numbers, risk-of-bias column) without and with the RoB column.
DOMAINS = {False: ([0.0, 0.6], [0.62, 1.0]), True: ([0.0, 0.58], [0.6, 0.91], [0.92, 1.0])}
_TAG = re.compile(r"<[^>]+>")
LEGEND = (
    "\u25a0 verified  \u25a1 secondary  \u22a1 third-party copy  \u22a0 seed-only"
    f" numbers \u00b7 {N_ASSUMED_MARK} n at the visit not reported \u00b7 square size ="
    " weight in group<br>\u25c6 pooled estimate and 95% CI \u00b7 bar under \u25c6 ="
    " 95% prediction interval (k \u2265 3)"
)


def label_margin(labels: list[str], size: int) -> int:
    """Pixels for the longest label: characters x 0.56 em (Arial averages 0.5), plus room."""
    longest = max((len(html.unescape(_TAG.sub("", t))) for t in labels), default=0)
    return int(min(560, 24 + longest * size * 0.56))


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
        return [llo - pad, lhi + pad]
    pad = (hi - lo) * 0.06 or max(abs(hi) * 0.1, 0.5)
    return [lo - pad, hi + pad]


def annotations(
    rows: ForestRows, directions: tuple[str, str], log: bool, with_rob: bool
) -> list[dict[str, Any]]:
    """Column headers, the legend under the plot, the direction words and the pooled hover."""
    out: list[dict[str, Any]] = [
        {
            "text": (
                "<b>Pooled [95% CI]</b>" if rows.compact else "<b>Estimate [95% CI]  weight</b>"
            ),
            "xref": "x2 domain",
            "yref": "paper",
            "x": 0.0,
            "y": 1.0,
            "xanchor": "left",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": SMALL_SIZE + 1},
        },
        {
            "text": LEGEND + (f"<br>{ROB_LEGEND}" if with_rob else ""),
            "xref": "paper",
            "yref": "paper",
            "x": 0.0,
            "y": 0.0,
            "yshift": -78,
            "xanchor": "left",
            "yanchor": "top",
            "align": "left",
            "showarrow": False,
            "font": {"size": SMALL_SIZE, "color": GREY},
        },
    ]
    if with_rob:
        out.append(
            {
                "text": "<b>RoB</b>",
                "xref": "x3 domain",
                "yref": "paper",
                "x": 0.5,
                "y": 1.0,
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": SMALL_SIZE + 1},
                "hovertext": "Risk of bias: the study's overall judgement (RoB 2 for randomised "
                "trials, ROBINS-I for non-randomised comparisons); hover a circle for its domains",
            }
        )
    for text, x, anchor in ((directions[0], 0.0, "left"), (directions[1], 1.0, "right")):
        out.append(
            {
                "text": esc(text),
                "xref": "x domain",
                "yref": "paper",
                "x": x,
                "y": 0.0,
                "yshift": -56,
                "xanchor": anchor,
                "yanchor": "top",
                "showarrow": False,
                "font": {"size": SMALL_SIZE},
            }
        )
    out += pooled_hover(rows, log)
    if rows.compact:
        out.append(
            {
                "text": f"{len(rows.st_x)} study arms: above {MAX_LABELLED_ROWS} the rows are not "
                "labelled and the squares are not sized by weight; hover a row for its study",
                "xref": "paper",
                "yref": "paper",
                "x": 0.0,
                "y": 0.0,
                "yshift": -112,
                "xanchor": "left",
                "yanchor": "top",
                "showarrow": False,
                "font": {"size": SMALL_SIZE, "color": GREY},
            }
        )
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


def compact_number_shapes(rows: ForestRows) -> list[dict[str, Any]]:
    """A compact plot's pooled numbers, as labels of transparent shapes.

    A compact plot has no numbers column (a text trace: changing it redraws every point), and
    its row labels stay the same whatever the estimator (a new label width re-runs automargin:
    a full redraw).
    """
    return [
        {
            "type": "rect",
            "name": "numbers",
            "xref": "paper",
            "yref": "y",
            "x0": 0.62,
            "x1": 1.0,
            "y0": y - 0.5,
            "y1": y + 0.5,
            "line": {"width": 0},
            "fillcolor": "rgba(0,0,0,0)",
            "label": {"text": text, "textposition": "middle left", "font": {"size": TICK_SIZE}},
        }
        for y, (kind, text) in enumerate(zip(rows.kinds, rows.numbers, strict=True))
        if kind in ("pooled", "overall")
    ]


def axes(
    rows: ForestRows, x_span: list[float], log: bool, axis_title: str, with_rob: bool
) -> dict[str, Any]:
    """Margins, the forest's x axis, the columns' x axes and the row axis."""
    labelled = not rows.compact
    n_rows = len(rows.labels)
    tick_text = [
        f"<span style='color:{GREY}'>{t}</span>" if k == "empty" else t
        for t, k in zip(rows.labels, rows.kinds, strict=True)
    ]
    shown = [t for t, k in zip(tick_text, rows.kinds, strict=True) if labelled or k != "study"]
    tick_size = TICK_SIZE if n_rows <= 60 else SMALL_SIZE - 2
    return {
        # The left margin fits the longest row label (estimated, generously): plotly's
        # automargin would draw the plot twice, on the first render and on every label change.
        "margin": {
            "l": label_margin(shown, tick_size),
            "r": 20,
            "t": 95,
            "b": (125 if labelled else 145) + (36 if with_rob else 0),
            "autoexpand": True,
        },
        "xaxis": {
            "domain": DOMAINS[with_rob][0],
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
        },
        "xaxis2": {
            "domain": DOMAINS[with_rob][1],
            "range": [0.0, 1.0],
            "visible": False,
            "fixedrange": True,
        },
        "xaxis3": {  # the risk-of-bias column (empty without risk-of-bias data)
            "domain": DOMAINS[True][2] if with_rob else DOMAINS[False][1],
            "range": [0.0, 1.0],
            "visible": False,
            "fixedrange": True,
        },
        "yaxis": {
            "tickmode": "array",
            # A compact plot labels only its headings, pooled and empty rows.
            "tickvals": [y for y, k in enumerate(rows.kinds) if labelled or k != "study"],
            "ticktext": shown,
            "showticklabels": True,
            "range": [n_rows - 0.4, -0.8],
            "autorange": False,
            "fixedrange": True,
            "showgrid": False,
            "zeroline": False,
            "automargin": False,
            "tickfont": {"size": tick_size},
            "ticks": "",
        },
    }
