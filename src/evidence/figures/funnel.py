"""Funnel plot of a :class:`~evidence.robustness.Funnel`: effect against its standard error,
with pseudo 95% and 99% confidence contours around the pooled estimate, trim-and-fill's
imputed studies, and Egger's and Begg's tests (with a warning when k < 10).

Fixed traces (``TRACES``) so the app can update it in place.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from evidence.compare import NULL_VALUE, to_display
from evidence.figures.axes import RATIO_MEASURES, measure_axis_title
from evidence.figures.palette import (
    CHANGED_COLOUR,
    FILLED_COLOUR,
    GREY,
    design_symbol,
    group_colour,
)
from evidence.figures.style import SMALL_SIZE, base_layout, esc, fmt, fmt_n, fmt_p, vline
from evidence.robustness import Funnel

TRACES = ("contour95", "contour99", "studies", "filled")
_Z = {95: 1.959963984540054, 99: 2.5758293035489004}


def tests_text(f: Funnel) -> list[str]:
    """One line per small-study test, in words (also used by the app's summary)."""
    lines = []
    if f.egger is not None:
        stat = "t" if math.isfinite(f.egger.df) else "z"
        lines.append(
            f"Egger's regression test: {stat} = {fmt(f.egger.stat)}, {fmt_p(f.egger.pval)}"
        )
    if f.begg is not None:
        lines.append(
            f"Begg's rank correlation: Kendall's \u03c4 = {fmt(f.begg.tau)}, "
            f"{fmt_p(f.begg.pval)}{'' if f.begg.exact else ' (normal approximation)'}"
        )
    if f.trimfill is not None:
        tf = f.trimfill
        k0 = tf.k0
        est, lb, ub = (
            fmt(float(to_display(f.measure, v)))
            for v in (tf.result.estimate, tf.result.ci_lb, tf.result.ci_ub)
        )
        lines.append(
            f"Trim and fill ({tf.estimator}): {k0} {'study' if k0 == 1 else 'studies'} imputed"
            f" on the {tf.side}; adjusted estimate {est} (95% CI {lb} to {ub})"
        )
    return lines


def funnel_plot(f: Funnel, outcome: str, *, title: str | None = None) -> go.Figure:
    measure = f.measure
    log = measure in RATIO_MEASURES
    pts = f.points
    se_max = float(pts["sei"].max()) if len(pts) else 1.0
    if f.trimfill is not None and len(f.trimfill.filled_vi):
        se_max = max(se_max, float(np.sqrt(f.trimfill.filled_vi).max()))
    se_max = se_max * 1.1 if math.isfinite(se_max) and se_max > 0 else 1.0
    centre = f.estimate

    contours: dict[int, tuple[list, list]] = {}
    for level, z in _Z.items():
        se = np.linspace(0.0, se_max, 40)
        if math.isfinite(centre):
            left = to_display(measure, centre - z * se)
            right = to_display(measure, centre + z * se)
            xs = [*left.tolist(), None, *right.tolist()]
            ys = [*se.tolist(), None, *se.tolist()]
        else:
            xs, ys = [], []
        contours[level] = (xs, ys)

    hover = [
        f"<b>{esc(r.study)}</b> ({esc(r.group)}, {fmt_n(r.n)})<br>"
        f"{esc(measure)} {fmt(float(to_display(measure, r.yi)))}, SE {fmt(r.sei, 3)}"
        for r in pts.itertuples()
    ]
    filled_x: list[float] = []
    filled_y: list[float] = []
    if f.trimfill is not None:
        filled_x = to_display(measure, np.asarray(f.trimfill.filled_yi)).tolist()
        filled_y = np.sqrt(np.asarray(f.trimfill.filled_vi)).tolist()

    what = title or "Funnel plot: small-study effects"
    subtitle = f"{f.k} study {'arm' if f.k == 1 else 'arms'} \u00b7 centre: {f.method} estimate"
    layout = base_layout(what, subtitle, 640)
    annotations = []
    lines = tests_text(f)
    if f.few_studies and f.k:
        lines.insert(0, f"<b>Warning: k = {f.k} < 10, the tests below are underpowered</b>")
    if not f.k:
        lines.append("No included study in scope.")
    for note in f.notes:
        if note.startswith(("Egger", "Begg", "trim", "model")):
            lines.append(esc(note))
    annotations.append(
        {
            "text": "<br>".join(lines),
            "xref": "paper",
            "yref": "paper",
            "x": 0.0,
            "y": 0.0,
            "yshift": -62,
            "xanchor": "left",
            "yanchor": "top",
            "align": "left",
            "showarrow": False,
            "font": {"size": SMALL_SIZE, "color": CHANGED_COLOUR if f.few_studies else "#111"},
        }
    )
    null = NULL_VALUE.get(measure, math.nan)
    shapes = []
    if math.isfinite(centre):
        shapes.append(vline(float(to_display(measure, centre)), "#333333", "solid"))
    if math.isfinite(null):
        shapes.append(vline(null, GREY, "dot"))
    layout |= {
        "margin": {"l": 80, "r": 30, "t": 95, "b": 150},
        "xaxis": {
            "title": {"text": measure_axis_title(measure, outcome)},
            "type": "log" if log else "linear",
            "zeroline": False,
            "showline": True,
            "linecolor": "#333",
            "ticks": "outside",
        },
        "yaxis": {
            "title": {"text": "standard error (0 at the top)"},
            "range": [se_max, 0.0],
            "autorange": False,
            "zeroline": False,
            "showline": True,
            "linecolor": "#333",
            "ticks": "outside",
        },
        "annotations": annotations,
        "shapes": shapes,
        "meta": {"k": f.k, "filled": len(filled_x)},
    }
    traces = [
        go.Scatter(
            name="contour95",
            x=contours[95][0],
            y=contours[95][1],
            mode="lines",
            line={"color": "#555555", "dash": "dash", "width": 1.2},
            hoverinfo="skip",
        ),
        go.Scatter(
            name="contour99",
            x=contours[99][0],
            y=contours[99][1],
            mode="lines",
            line={"color": "#999999", "dash": "dot", "width": 1.2},
            hoverinfo="skip",
        ),
        go.Scatter(
            name="studies",
            x=to_display(measure, pts["yi"].to_numpy(dtype=float)).tolist(),
            y=pts["sei"].astype(float).tolist(),
            mode="markers",
            marker={
                "size": 14,
                "color": [group_colour(g) for g in pts["group"]],
                "symbol": [design_symbol("") for _ in range(len(pts))],
                "line": {"color": "white", "width": 1},
            },
            hovertext=hover,
            hoverinfo="text",
        ),
        go.Scatter(
            name="filled",
            x=filled_x,
            y=filled_y,
            mode="markers",
            marker={
                "size": 14,
                "color": "white",
                "symbol": "circle-open",
                "line": {"color": FILLED_COLOUR, "width": 2.5},
            },
            hovertext=["imputed by trim and fill"] * len(filled_x),
            hoverinfo="text",
        ),
    ]
    return go.Figure(data=traces, layout=layout)
