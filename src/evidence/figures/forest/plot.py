"""forest_plot: the forest plot of a pooled result, put together from its rows, shapes,
traces and layout (each in its own module of this package)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from evidence.compare import (
    CONFIDENCE_FILTERS,
    DESIGN_FILTERS,
    MEASURE_LABELS,
    NULL_VALUE,
    OUTCOME_LABELS,
    WINDOWS,
    Pooled,
)
from evidence.figures.axes import RATIO_MEASURES, TEST_LABELS, measure_axis_title
from evidence.figures.forest.layout import annotations, axes, compact_number_shapes, x_range
from evidence.figures.forest.rob_column import rob_records
from evidence.figures.forest.rows import MAX_LABELLED_ROWS, build_rows
from evidence.figures.forest.shapes import compact_shapes, null_line, pooled_shapes, separators
from evidence.figures.forest.traces import forest_traces
from evidence.figures.forest.words import direction_labels
from evidence.figures.style import base_layout, export_config, figure


def forest_plot(
    pooled: Pooled,
    *,
    title: str | None = None,
    window_note: bool = True,
    rob: pd.DataFrame | None = None,
    filter_note: str = "",
    click_hint: bool = False,
) -> go.Figure:
    """The subgroup forest plot of ``pooled`` (see the package docstring).

    ``rob``: risk-of-bias columns by citekey (:func:`evidence.appraisal.rob.forest_columns`)
    for the column at the right (none when None or empty, and none in a compact plot: its
    rows are not labelled either). ``filter_note`` is added to the subtitle (e.g. a filter
    that left studies out). ``click_hint``: each study's hover ends "click for the record"
    (the dashboard opens it; a static page has nothing to click).
    """
    q = pooled.question
    measure = q.measure
    log = measure in RATIO_MEASURES
    null = NULL_VALUE.get(measure, math.nan)
    compact = int(pooled.effects["included"].sum()) > MAX_LABELLED_ROWS
    # No column in a compact plot: its rows are not labelled either.
    records = rob_records(rob) if rob is not None and len(rob) and not compact else {}
    rows = build_rows(pooled, records)
    if click_hint:
        rows.st_hover = [h + "<br><i>click for the record</i>" for h in rows.st_hover]

    n_rows = len(rows.labels)
    row_px = 30 if n_rows <= 60 else (22 if n_rows <= 150 else 14)
    height = int(205 + max(n_rows, 3) * row_px)
    # A compact (big) plot keeps the range of its studies whatever the estimator, so that an
    # estimator change moves diamonds, not thousands of squares.
    values = rows.study_values + ([] if compact and rows.study_values else rows.range_values)
    x_span = x_range(values, null, log)
    x_left = 10 ** x_span[0] if log else x_span[0]

    # Pooled rows live in the layout (diamonds and prediction bars as shapes, hover text as
    # annotations): an estimator change then only relayouts, and the study traces - thousands
    # of points in a big review - are not redrawn.
    shapes = compact_shapes(rows, x_span, log) if compact else []
    shapes += pooled_shapes(rows, measure)
    if math.isfinite(null):
        shapes.append(null_line(null))
    shapes += separators(rows.kinds)
    if compact:
        shapes += compact_number_shapes(rows)

    what = OUTCOME_LABELS.get(q.outcome, q.outcome)
    fig_title = title or f"{what}: {MEASURE_LABELS.get(measure, measure)} by cell group"
    subtitle = (
        f"{pooled.method} estimator, {TEST_LABELS.get(pooled.test, pooled.test)}"
        f" \u00b7 {WINDOWS[q.window][0] if window_note else ''}"
        f" \u00b7 {DESIGN_FILTERS[q.design][0]} \u00b7 {CONFIDENCE_FILTERS[q.confidence][0]}"
        + (f" \u00b7 {filter_note}" if filter_note else "")
    )
    layout = base_layout(fig_title, subtitle, height)
    layout |= axes(rows, x_span, log, measure_axis_title(measure, q.outcome), bool(records))
    layout |= {
        "annotations": annotations(rows, direction_labels(measure, q.outcome), log, bool(records)),
        "shapes": shapes,
        "meta": {"rows": n_rows, "studies": len(rows.st_x), "measure": measure},
    }
    return figure(forest_traces(rows, x_left), layout)


def config(filename: str = "forest-plot", fmt_: str = "svg") -> dict:
    return export_config(filename, fmt_)
