"""forest_plot: the forest plot of a pooled result, put together from its rows, text columns,
shapes, traces and layout (each in its own module of this package)."""

from __future__ import annotations

import hashlib
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
from evidence.figures.forest import columns
from evidence.figures.forest.layout import (
    LINE,
    axes,
    below,
    pooled_hover,
    reason_lines,
    shown_labels,
    under_plot,
    x_range,
)
from evidence.figures.forest.layout import title as title_layout
from evidence.figures.forest.rob_column import rob_records
from evidence.figures.forest.rows import MAX_LABELLED_ROWS, ForestRows, build_rows
from evidence.figures.forest.shapes import compact_shapes, null_line, pooled_shapes, separators
from evidence.figures.forest.traces import forest_traces
from evidence.figures.forest.words import direction_labels
from evidence.figures.style import base_layout, esc, export_config, figure
from evidence.figures.text_width import markup_width, wrap


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
    tick_size = columns.tick_size(n_rows)
    label_lines = {} if compact else _wrap_labels(rows, tick_size)
    cols = columns.measure(rows, shown_labels(rows)[1], bool(records))
    reasons = _place_rows(rows, cols, row_px, label_lines)

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
    shapes += separators(rows, cols.right - columns.EDGE)
    rob_shapes, rob_notes = columns.rob_cells(rows, cols)

    what = OUTCOME_LABELS.get(q.outcome, q.outcome)
    head, top = _title(
        pooled,
        title or f"{what}: {MEASURE_LABELS.get(measure, measure)} by cell group",
        window_note,
        filter_note,
        cols,
    )
    under = below(rows, cols, direction_labels(measure, q.outcome))
    plot_px = max(rows.bottom + 0.9, 3.0) * row_px
    layout = base_layout("", "", math.ceil(top + plot_px + under.margin))
    layout |= axes(rows, cols, x_span, log, measure_axis_title(measure, q.outcome))
    layout |= {
        "title": head,
        "margin": {
            "l": cols.left,
            "r": cols.right,
            "t": top,
            "b": under.margin,
            "autoexpand": False,
        },
        "annotations": columns.headers(cols, compact)
        + under_plot(cols, under)
        + pooled_hover(rows, log)
        + rob_notes,
        "shapes": shapes + rob_shapes,
        "meta": {
            "rows": n_rows,
            "studies": len(rows.st_x),
            "measure": measure,
            "min_width": cols.min_width,  # below it the plot area is under MIN_PLOT px
        },
    }
    traces = forest_traces(rows, x_left, reasons)
    layout["datarevision"] = data_revision(traces, layout)
    return figure(traces, layout)


def data_revision(traces: list[dict], layout: dict) -> str:
    """A digest of every array plotly.js compares as data (the traces', the axes' tick values
    and texts): ``layout.datarevision``.

    Without one, ``Plotly.react`` takes every array it is given afresh (as a widget's JSON
    always is) for new data and redraws the whole plot; with it, plotly.js compares arrays
    only when the revision changes, so a change that leaves them as they were (an estimator:
    the diamonds, their hover and the title) redraws only what changed.
    """
    axes = [layout[k] for k in sorted(layout) if k.startswith(("xaxis", "yaxis"))]
    return hashlib.blake2b(repr((traces, axes)).encode(), digest_size=8).hexdigest()


def _wrap_labels(rows: ForestRows, size: int) -> dict[int, int]:
    """Break a study label wider than LABEL_CAP px between its parts (study, arm, n, time
    point); returns the line count of each broken label's row."""
    out = {}
    for i, (label, kind) in enumerate(zip(rows.labels, rows.kinds, strict=True)):
        if kind == "study" and markup_width(label, size) > columns.LABEL_CAP:
            parts = wrap(label.split(" \u00b7 "), columns.LABEL_CAP, size, " \u00b7 ")
            rows.labels[i] = "<br>".join(parts)
            out[i] = len(parts)
    return out


def _place_rows(
    rows: ForestRows, cols: columns.Columns, row_px: int, label_lines: dict[int, int]
) -> list[str]:
    """Wrap the empty groups' reasons, make every row as tall as its lines need (a wrapped
    label or reason), and place the rows; returns each reason's text (lines a little away
    from the axis)."""
    need = {i: n * LINE * cols.tick_size for i, n in label_lines.items()}
    texts = []
    for y, why, _ in rows.empty:
        lines = reason_lines(why, cols, columns.REASON_SIZE)
        texts.append("<br>".join(f"\u2002{esc(line)}" for line in lines))
        need[int(y)] = len(lines) * LINE * columns.REASON_SIZE
    rows.place({i: (px + 6) / row_px for i, px in need.items() if px + 6 > row_px})
    return texts


def _title(
    pooled: Pooled, text: str, window_note: bool, filter_note: str, cols: columns.Columns
) -> tuple[dict, int]:
    q = pooled.question
    parts = [
        f"{pooled.method} estimator, {TEST_LABELS.get(pooled.test, pooled.test)}",
        WINDOWS[q.window][0] if window_note else "",
        DESIGN_FILTERS[q.design][0],
        CONFIDENCE_FILTERS[q.confidence][0],
        filter_note,
    ]
    return title_layout(text, parts, cols)


def config(filename: str = "forest-plot", fmt_: str = "svg") -> dict:
    return export_config(filename, fmt_)
