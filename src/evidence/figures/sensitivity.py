"""Sensitivity figures: leave-one-out and cumulative forest-style plots, and the estimator x
CI-method grid as a heatmap. Rows whose conclusion differs from the reference model (the CI now
includes or excludes the null, or the direction flips) are drawn in vermillion and flagged.

Each figure has a fixed trace structure so the app can update it in place.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from evidence.compare import NULL_VALUE, to_display
from evidence.figures.axes import (
    RATIO_MEASURES,
    TEST_LABELS,
    diamond_path,
    log_ticks,
    measure_axis_title,
)
from evidence.figures.palette import CHANGED_COLOUR, GREY, UNCHANGED_COLOUR
from evidence.figures.style import (
    SMALL_SIZE,
    TICK_SIZE,
    base_layout,
    esc,
    fmt,
    fmt_p,
    vline,
)
from evidence.robustness import Reference, describe_conclusion

STEP_TRACES = ("ci", "points", "reference")


def _steps_plot(
    table: pd.DataFrame,
    ref: Reference,
    measure: str,
    outcome: str,
    labels: list[str],
    title: str,
    subtitle: str,
) -> go.Figure:
    log = measure in RATIO_MEASURES
    n = len(table)
    est = to_display(measure, table["estimate"].to_numpy(dtype=float)) if n else np.array([])
    lb = to_display(measure, table["ci_lb"].to_numpy(dtype=float)) if n else np.array([])
    ub = to_display(measure, table["ci_ub"].to_numpy(dtype=float)) if n else np.array([])
    changed = table["changes"].to_numpy(dtype=bool) if n else np.array([], dtype=bool)
    colours = [CHANGED_COLOUR if c else UNCHANGED_COLOUR for c in changed]
    ci_x: list[float | None] = []
    ci_y: list[float | None] = []
    for i in range(n):
        ci_x += [float(lb[i]), float(ub[i]), None]
        ci_y += [i, i, None]
    hover = [
        f"<b>{esc(label)}</b><br>k = {int(row.k)}: {fmt(float(e))} (95% CI {fmt(float(lo))} to "
        f"{fmt(float(hi))}), {fmt_p(row.pval)}<br>\u03c4\u00b2 {fmt(row.tau2, 3)}, "
        f"I\u00b2 {fmt(row.i2, 0)}%<br>{describe_conclusion(row.conclusion)}"
        + ("<br><b>conclusion changes</b>" if row.changes else "")
        + ("; direction flips" if row.direction_flips else "")
        for label, row, e, lo, hi in zip(labels, table.itertuples(), est, lb, ub, strict=True)
    ]
    tick_text = [
        (f"<span style='color:{CHANGED_COLOUR}'><b>\u2691 {esc(t)}</b></span>" if c else esc(t))
        for t, c in zip(labels, changed, strict=True)
    ]
    ref_x: list[float] = []
    ref_y: list[float] = []
    ref_hover: list[str] = []
    shapes: list[dict] = []
    values = [v for v in (*lb, *ub) if math.isfinite(v)]
    if ref.result is not None:
        r = ref.result
        e, lo, hi = (float(to_display(measure, v)) for v in (r.estimate, r.ci_lb, r.ci_ub))
        ref_x, ref_y = [e], [n]
        ref_hover = [
            f"<b>all studies in scope</b> (k = {r.k}): {fmt(e)} (95% CI {fmt(lo)} to {fmt(hi)})"
            f"<br>{describe_conclusion(ref.conclusion)}"
        ]
        tick_text.append("<b>All studies (reference)</b>")
        values += [lo, hi]
        shapes.append(
            {
                "type": "path",
                "path": diamond_path(lo, e, hi, n),
                "fillcolor": "#000000",
                "line": {"color": "#000000", "width": 1},
                "xref": "x",
                "yref": "y",
            }
        )
        shapes.append(vline(e, GREY, "dash", layer="below"))
    null = NULL_VALUE.get(measure, math.nan)
    if math.isfinite(null):
        shapes.append(vline(null, "#333333", "solid", layer="below"))
        values.append(null)
    rows = n + (1 if ref.result is not None else 0)
    layout = base_layout(title, subtitle, int(200 + max(rows, 3) * 30))
    if values:
        lo_v, hi_v = min(values), max(values)
        if log:
            lo_v, hi_v = math.log10(max(lo_v, 1e-3)), math.log10(min(max(hi_v, 1e-3), 1e3))
        pad = (hi_v - lo_v) * 0.06 or 0.5
        x_range = [lo_v - pad, hi_v + pad]
    else:
        x_range = [-1.0, 1.0]
    annotations = []
    if n == 0:
        annotations.append(
            {
                "text": esc(table.attrs.get("reason") or "nothing to show"),
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": SMALL_SIZE + 2, "color": GREY},
            }
        )
    layout |= {
        "margin": {"l": 20, "r": 30, "t": 95, "b": 70, "autoexpand": True},
        "xaxis": {
            "title": {"text": measure_axis_title(measure, outcome)},
            "type": "log" if log else "linear",
            "range": x_range,
            "tickmode": "array" if log else "auto",
            "tickvals": log_ticks(x_range) if log else None,
            "zeroline": False,
            "showline": True,
            "linecolor": "#333",
            "ticks": "outside",
            "tickfont": {"size": TICK_SIZE},
        },
        "yaxis": {
            "tickmode": "array",
            "tickvals": list(range(rows)),
            "ticktext": tick_text,
            "range": [rows - 0.4, -0.7],
            "autorange": False,
            "fixedrange": True,
            "automargin": True,
            "zeroline": False,
            "showgrid": False,
            "tickfont": {"size": TICK_SIZE},
        },
        "annotations": annotations,
        "shapes": shapes,
        "meta": {"rows": n, "changes": int(changed.sum())},
    }
    traces = [
        go.Scatter(
            name="ci",
            x=ci_x,
            y=ci_y,
            mode="lines",
            line={"color": "#333333", "width": 1.6},
            hoverinfo="skip",
        ),
        go.Scatter(
            name="points",
            x=[float(v) for v in est],
            y=list(range(n)),
            mode="markers",
            marker={"symbol": "square", "size": 13, "color": colours},
            hovertext=hover,
            hoverinfo="text",
        ),
        go.Scatter(
            name="reference",
            x=ref_x,
            y=ref_y,
            mode="markers",
            marker={"symbol": "diamond", "size": 12, "color": "#000", "opacity": 0.01},
            hovertext=ref_hover,
            hoverinfo="text",
        ),
    ]
    return go.Figure(data=traces, layout=layout)


def leave_one_out_plot(
    table: pd.DataFrame, ref: Reference, measure: str, outcome: str, scope: str = "all"
) -> go.Figure:
    """Each row: the pooled result without that study arm."""
    labels = [f"without {s}" for s in table["study"]] if len(table) else []
    changes = int(table["changes"].sum()) if len(table) else 0
    return _steps_plot(
        table,
        ref,
        measure,
        outcome,
        labels,
        "Leave-one-out: the pooled result without each study",
        f"scope: {scope} \u00b7 {changes} of {len(table)} omissions change the conclusion",
    )


def cumulative_plot(
    table: pd.DataFrame, ref: Reference, measure: str, outcome: str, scope: str = "all"
) -> go.Figure:
    """Row i: the pooled result of the first i + 1 studies by year."""
    labels = []
    for row in table.itertuples():
        year = "" if pd.isna(row.year) else f" ({int(row.year)})"
        labels.append(f"+ {row.study}{year}")
    return _steps_plot(
        table,
        ref,
        measure,
        outcome,
        labels,
        "Cumulative meta-analysis by year of publication",
        f"scope: {scope} \u00b7 each row adds one study arm to those above it",
    )


#: Cell codes of the grid heatmap: what the colour means.
GRID_CODES = {"unclear": 0, "excludes": 1, "changes": 2, "error": 3}
_GRID_SCALE = [
    [0.0, "#F2F2F2"],
    [0.25, "#F2F2F2"],
    [0.25, "#BFD9EC"],
    [0.5, "#BFD9EC"],
    [0.5, "#F4C29B"],
    [0.75, "#F4C29B"],
    [0.75, "#FFFFFF"],
    [1.0, "#FFFFFF"],
]


def estimator_grid_plot(grid: pd.DataFrame, measure: str, scope: str = "all") -> go.Figure:
    """The estimator x CI-method grid: one cell per model with its estimate and CI.

    Colour: grey (CI includes the null), blue (CI excludes it), orange (the conclusion differs
    from the reference model), white (the model cannot be fitted). The reference cell is boxed.
    """
    methods = list(dict.fromkeys(grid["method"]))
    tests = list(dict.fromkeys(grid["test"]))
    z = np.zeros((len(methods), len(tests)))
    text = [["" for _ in tests] for _ in methods]
    hover = [["" for _ in tests] for _ in methods]
    shapes: list[dict] = []
    for row in grid.itertuples():
        i, j = methods.index(row.method), tests.index(row.test)
        if row.error:
            z[i, j] = GRID_CODES["error"]
            text[i][j] = "cannot fit"
            hover[i][j] = esc(row.error)
            continue
        e, lo, hi = (float(to_display(measure, v)) for v in (row.estimate, row.ci_lb, row.ci_ub))
        code = (
            "changes"
            if row.changes
            else ("excludes" if row.conclusion in ("lower", "higher") else "unclear")
        )
        z[i, j] = GRID_CODES[code]
        flag = " \u2691" if row.changes else ""
        text[i][j] = f"{fmt(e)} [{fmt(lo)}, {fmt(hi)}]{flag}"
        hover[i][j] = (
            f"<b>{esc(row.method)} \u00b7 {esc(TEST_LABELS.get(row.test, row.test))}</b><br>"
            f"{fmt(e)} (95% CI {fmt(lo)} to {fmt(hi)}), {fmt_p(row.pval)}<br>"
            f"\u03c4\u00b2 {fmt(row.tau2, 3)}, I\u00b2 {fmt(row.i2, 0)}%<br>"
            f"{describe_conclusion(row.conclusion)}"
            + ("<br><b>conclusion differs from the reference</b>" if row.changes else "")
            + (" (direction flips)" if row.direction_flips else "")
            + ("<br>reference model" if row.reference else "")
        )
        if row.reference:
            shapes.append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "y",
                    "x0": j - 0.5,
                    "x1": j + 0.5,
                    "y0": i - 0.5,
                    "y1": i + 0.5,
                    "line": {"color": "#000000", "width": 3},
                }
            )
    changes = int(grid["changes"].sum())
    k = int(grid["k"].iloc[0]) if len(grid) else 0
    layout = base_layout(
        "Estimator \u00d7 CI method: does the conclusion depend on the method?",
        f"scope: {scope} \u00b7 k = {k} \u00b7 {changes} of {len(grid)} models change the "
        "conclusion (\u2691) \u00b7 boxed: the model in use",
        int(170 + 46 * max(len(methods), 1)),
    )
    layout |= {
        "margin": {"l": 70, "r": 30, "t": 95, "b": 70},
        "xaxis": {
            "tickmode": "array",
            "tickvals": list(range(len(tests))),
            "ticktext": [TEST_LABELS.get(t, t) for t in tests],
            "side": "top",
            "fixedrange": True,
            "showgrid": False,
            "zeroline": False,
            "tickfont": {"size": TICK_SIZE},
        },
        "yaxis": {
            "tickmode": "array",
            "tickvals": list(range(len(methods))),
            "ticktext": [f"<b>{esc(m)}</b>" for m in methods],
            "autorange": "reversed",
            "fixedrange": True,
            "showgrid": False,
            "zeroline": False,
            "tickfont": {"size": TICK_SIZE},
        },
        "annotations": [
            {
                "text": (
                    "grey: CI includes the null \u00b7 blue: CI excludes the null \u00b7 "
                    "orange \u2691: conclusion differs from the boxed model"
                ),
                "xref": "paper",
                "yref": "paper",
                "x": 0.0,
                "y": 0.0,
                "yshift": -30,
                "xanchor": "left",
                "yanchor": "top",
                "showarrow": False,
                "font": {"size": SMALL_SIZE, "color": GREY},
            }
        ],
        "shapes": shapes,
        "meta": {"changes": changes, "cells": len(grid)},
    }
    trace = go.Heatmap(
        name="grid",
        z=z.tolist(),
        x=list(range(len(tests))),
        y=list(range(len(methods))),
        text=text,
        texttemplate="%{text}",
        textfont={"size": TICK_SIZE, "color": "#111111"},
        hovertext=hover,
        hoverinfo="text",
        colorscale=_GRID_SCALE,
        zmin=0,
        zmax=3,
        showscale=False,
        xgap=3,
        ygap=3,
    )
    return go.Figure(data=[trace], layout=layout)
