"""Subgroup forest plot of a :class:`~evidence.compare.Pooled` result.

One row per included study arm (square: estimate, size: weight within its group; whisker: 95%
CI), a diamond per cell group and one overall, a prediction-interval bar where k >= 3
(diamonds and bars are layout shapes, their hover text annotations, so an estimator change
never redraws the study traces), group headings, and a labelled row for every group with no
usable numbers ("no usable numbers: <reason>") so an empty group is never silently missing.

The trace structure is fixed (always the same five traces in the same order, :data:`TRACES`),
so the app can update a FigureWidget in place.

Given the risk-of-bias columns (``rob=``, the frame of
:func:`evidence.appraisal.rob.forest_columns`), a compact column at the right shows each study
row's overall judgement as a coloured circle with robvis' symbol (+, \u2212, X, !, ?, NA; never
colour alone), its domains in the hover, and a legend line under the plot, as robvis'
``rob_append_to_forest`` does. It is one more trace of the fixed structure, and an estimator
change leaves it untouched.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from evidence.compare import (
    CONFIDENCE_FILTERS,
    DESIGN_FILTERS,
    LOWER_IS_BETTER,
    MEASURE_LABELS,
    NULL_VALUE,
    OUTCOME_LABELS,
    WINDOWS,
    Pooled,
    to_display,
    unit_of,
)
from evidence.figures.axes import (
    RATIO_MEASURES,
    TEST_LABELS,
    diamond_path,
    log_ticks,
    measure_axis_title,
)
from evidence.figures.palette import (
    CONFIDENCE_SYMBOLS,
    GREY,
    LIGHT_GREY,
    OVERALL_COLOUR,
    ROB_COLOURS,
    ROB_SYMBOLS,
    ROB_TEXT_COLOURS,
    group_colour,
)
from evidence.figures.style import (
    SMALL_SIZE,
    TICK_SIZE,
    base_layout,
    esc,
    export_config,
    figure,
    fmt,
    fmt_n,
    trace,
)
from evidence.text import source_text

#: Names of the traces, in order (tests and the app rely on the order).
TRACES = ("ci", "studies", "empty", "numbers", "rob")
#: x-axis domains (forest, numbers, risk-of-bias column) without and with the RoB column.
_DOMAINS = {False: ([0.0, 0.6], [0.62, 1.0]), True: ([0.0, 0.58], [0.6, 0.91], [0.92, 1.0])}
ROB_LEGEND = (
    "RoB, risk of bias (overall): + low \u00b7 \u2212 some concerns or moderate \u00b7 X high or"
    " serious<br>! critical \u00b7 ? no information \u00b7 NA not applicable (uncontrolled study)"
)
#: Above this many included study arms the plot is compact: no row labels or numbers, one
#: square size (each weight is then below 1% and unreadable as an area) and a shorter hover
#: without the weight. It keeps a 2,000-study update fast; the summary and tables still have it.
MAX_LABELLED_ROWS = 300


@dataclass
class _Rows:
    """Rows top to bottom: y positions, labels and what each row is."""

    labels: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)

    def add(self, label: str, kind: str, numbers: str = "") -> int:
        self.labels.append(label)
        self.kinds.append(kind)
        self.numbers.append(numbers)
        return len(self.labels) - 1


def direction_labels(measure: str, outcome: str) -> tuple[str, str]:
    """Words under the two ends of the x axis (what lower and higher values mean)."""
    if measure == "PLO":
        return "", ""
    lower_better = outcome in LOWER_IS_BETTER
    if measure == "MC":
        good, bad = "(better)", "(worse)"
        low, high = "\u2190 fell", "rose \u2192"
        return (f"{low} {good if lower_better else bad}", f"{high} {bad if lower_better else good}")
    cells, control = "\u2190 favours cells", "favours control \u2192"
    if lower_better:
        return cells, control
    return "\u2190 favours control", "favours cells \u2192"


def _reasons(rows: pd.DataFrame) -> str:
    reasons = Counter(r for r in rows["reason"] if isinstance(r, str) and r)
    if not reasons:
        return "no study of this group in the dataset"
    top = [r for r, _ in reasons.most_common(2)]
    more = len(reasons) - len(top)
    return "; ".join(top) + (f"; and {more} other reason(s), see the table" if more else "")


def _timepoint(tp: object, long: bool = False) -> str:
    # "end" is the data's word for an end of follow-up whose visit the source does not state
    if not isinstance(tp, str):
        return "time n/a"
    if tp == "end":
        return "end of follow-up (visit not stated)" if long else "end of f/u"
    return tp


#: Marks a row whose n at the visit is not reported (the arm's size stands in; issue 12).
N_ASSUMED_MARK = "\u2020"


def _n_text(r: Any) -> str:
    assumed = getattr(r, "n_assumed", False) is True
    return fmt_n(r.n) + (N_ASSUMED_MARK if assumed else "")


def _study_label(r: Any) -> str:
    arm = "" if r.arm == r.group else f" \u00b7 {r.arm}"
    return f"{r.label}{arm} \u00b7 {_n_text(r)} \u00b7 {_timepoint(r.timepoint)}"


def _visit_text(r: Any) -> str:
    visit = getattr(r, "visit", None)  # the effects frame's visit (an 'end' placed by follow-up)
    return visit if isinstance(visit, str) and visit else _timepoint(r.timepoint, long=True)


def _hover_study(
    r: Any, measure: str, unit: str, weight: float | None, est: float, lb: float, ub: float
) -> str:
    control = ""
    if isinstance(r.comparator, str):
        control = f" vs {esc(r.comparator)} ({fmt_n(r.n_control)})"
    locators = getattr(r, "locators", None)
    source = esc(source_text(r.source_file, r.source_lines))
    if isinstance(locators, str) and locators:
        source = f"{esc(locators)} ({source})"
    derived = f"<br>derived: {esc(r.derived)}" if isinstance(r.derived, str) and r.derived else ""
    return (
        f"<b>{esc(r.label)}</b> \u00b7 {esc(r.design)}<br>"
        f"arm {esc(r.arm)} ({esc(r.group)}, {fmt_n(r.n)}){control}<br>"
        f"time point: {esc(_visit_text(r))}<br>"
        f"{esc(measure)} {fmt(est)} (95% CI {fmt(lb)} to {fmt(ub)}) {esc(unit)}<br>"
        + (f"weight in group: {fmt(weight, 1)}%<br>" if weight is not None else "")
        + f"basis: {esc(r.basis)}{derived}<br>"
        f"confidence: {esc(r.confidence)}<br>source: {source}"
    )


def _interval_text(measure: str, est: float, lb: float, ub: float) -> str:
    e, lo, hi = (float(to_display(measure, v)) for v in (est, lb, ub))
    return f"{fmt(e)} [{fmt(lo)}, {fmt(hi)}]"


_TAG = re.compile(r"<[^>]+>")


def label_margin(labels: list[str], size: int) -> int:
    """Pixels for the longest label: characters x 0.56 em (Arial averages 0.5), plus room."""
    longest = max((len(html.unescape(_TAG.sub("", t))) for t in labels), default=0)
    return int(min(560, 24 + longest * size * 0.56))


def _x_range(values: list[float], null: float, log: bool) -> list[float]:
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


#: Fill, symbol and text colour of each judgement in the risk-of-bias column.
_ROB_STYLE = {
    j: (ROB_COLOURS[j], ROB_SYMBOLS[j], ROB_TEXT_COLOURS.get(j, "#000000")) for j in ROB_COLOURS
}


def _rob_records(rob: pd.DataFrame) -> dict[str, dict[str, str]]:
    """citekey -> {column: text} of the risk-of-bias columns (plain dicts: fast per row)."""
    names = [str(c) for c in rob.columns]
    return {
        str(key): dict(zip(names, map(str, values), strict=True))
        for key, values in zip(rob.index, rob.to_numpy(dtype=object).tolist(), strict=True)
    }


def _rob_cell(key: str, columns: dict[str, dict[str, str]]) -> tuple[str, str] | None:
    """(overall judgement, hover text of the domains) of a study, None without a record."""
    record = columns.get(key)
    if record is None or record["overall"] not in _ROB_STYLE:
        return None
    domains = " \u00b7 ".join(
        f"{d} {record[d]}" for d in ("D1", "D2", "D3", "D4", "D5", "D6", "D7") if record.get(d)
    )
    return record["overall"], f"{esc(record['tool'])}: <b>{esc(record['overall'])}</b>" + (
        f"<br>{esc(domains)}" if domains else ""
    )


def forest_plot(
    pooled: Pooled,
    *,
    title: str | None = None,
    window_note: bool = True,
    rob: pd.DataFrame | None = None,
    filter_note: str = "",
) -> go.Figure:
    """The subgroup forest plot of ``pooled`` (see the module docstring).

    ``rob``: risk-of-bias columns by citekey (:func:`evidence.appraisal.rob.forest_columns`)
    for the column at the right (none when None or empty, and none in a compact plot: its
    rows are not labelled either). ``filter_note`` is added to the subtitle (e.g. a filter
    that left studies out).
    """
    q = pooled.question
    frame = pooled.effects
    measure = q.measure
    unit = unit_of(q.outcome)
    log = measure in RATIO_MEASURES
    null = NULL_VALUE.get(measure, math.nan)

    rows = _Rows()
    compact = int(frame["included"].sum()) > MAX_LABELLED_ROWS
    # No column in a compact plot: its rows are not labelled either.
    rob_records = _rob_records(rob) if rob is not None and len(rob) and not compact else {}
    rob_y: list[int] = []
    rob_fill: list[str] = []
    rob_text: list[str] = []
    rob_ink: list[str] = []
    rob_hover: list[str] = []
    ci_x: list[float | None] = []
    ci_y: list[float | None] = []
    st_x, st_y, st_size, st_colour, st_symbol, st_hover = [], [], [], [], [], []
    st_keys: list[list[str]] = []  # [citekey, arm] per study point: what a click names
    pool_x, pool_y, pool_hover = [], [], []
    pis: list[tuple[float, float, int]] = []
    empty_y, empty_text, empty_hover = [], [], []
    shapes: list[dict] = []
    diamonds: list[tuple[float, float, float, int, str]] = []
    range_values: list[float] = []  # the x range: studies and pooled results
    study_values: list[float] = []

    for group in q.groups:
        in_group = frame[frame["group"] == group]
        used = in_group[in_group["included"]]
        result = pooled.groups.get(group)
        n_studies = in_group["citekey"].nunique()
        rows.add(
            f"<b>{esc(group)}</b>  <span style='font-size:{SMALL_SIZE}px'>"
            f"{used['citekey'].nunique()} of {n_studies} "
            f"{'study' if n_studies == 1 else 'studies'} with usable numbers</span>",
            "heading",
        )
        weights = result.weights if result is not None else np.full(len(used), np.nan)
        # Whole columns at once: the plot must stay fast at thousands of rows.
        est = to_display(measure, used["yi"].to_numpy(dtype=float))
        lb = to_display(measure, used["ci_lb"].to_numpy(dtype=float))
        ub = to_display(measure, used["ci_ub"].to_numpy(dtype=float))
        colour = group_colour(group)
        for r, w, e, lo, hi in zip(used.itertuples(index=False), weights, est, lb, ub, strict=True):
            y = rows.add(
                "" if compact else esc(_study_label(r)),
                "study",
                "" if compact else f"{fmt(e)} [{fmt(lo)}, {fmt(hi)}]  {fmt(w, 0)}%",
            )
            ci_x += [lo, hi, None]
            ci_y += [y, y, None]
            st_y.append(y)
            st_keys.append([str(r.citekey), str(r.arm)])
            st_size.append(6.0 if compact else 9 + 22 * math.sqrt(max(w, 0.0) / 100.0))
            st_colour.append(colour)
            st_symbol.append(CONFIDENCE_SYMBOLS.get(r.confidence, "square"))
            cell = _rob_cell(r.citekey, rob_records) if rob_records else None
            if cell is not None:
                fill, symbol, ink = _ROB_STYLE[cell[0]]
                rob_y.append(y)
                rob_fill.append(fill)
                rob_text.append(symbol)
                rob_ink.append(ink)
                rob_hover.append(f"<b>{esc(r.label)}</b> \u00b7 risk of bias<br>{cell[1]}")
            hover = _hover_study(r, measure, unit, None if compact else w, e, lo, hi)
            if cell is not None:
                hover += f"<br>risk of bias: {esc(cell[0])}"
            st_hover.append(hover)
        st_x += est.tolist()
        study_values += [*est.tolist(), *lb.tolist(), *ub.tolist()]
        if result is None:
            why = _reasons(in_group)
            short = why if len(why) <= 56 else why[:54].rstrip() + "\u2026"
            y = rows.add("<i>no usable numbers</i>", "empty")
            empty_y.append(y)
            empty_text.append("\u2002" + esc(short))  # a little room from the axis
            empty_hover.append(f"<b>{esc(group)}</b>: no usable numbers<br>{esc(why)}")
            continue
        het = f", I\u00b2 {result.i2:.0f}%" if result.k > 1 and math.isfinite(result.i2) else ""
        numbers = _interval_text(measure, result.estimate, result.ci_lb, result.ci_ub)
        y = rows.add(
            f"<i>{esc(group)} pooled (k={result.k}{'' if compact else het})</i>",
            "pooled",
            f"<b>{numbers}</b>" + (het.replace(",", " ") if compact else ""),
        )
        _add_pooled(
            result, measure, unit, y, group, group_colour(group), pool_x, pool_y, pool_hover
        )
        diamonds.append((result.ci_lb, result.estimate, result.ci_ub, y, group_colour(group)))
        range_values += [float(to_display(measure, v)) for v in (result.ci_lb, result.ci_ub)]
        if result.k >= 3 and math.isfinite(result.pi_lb):
            lo, hi = (float(to_display(measure, v)) for v in (result.pi_lb, result.pi_ub))
            pis.append((lo, hi, y))
            range_values += [lo, hi]

    overall = pooled.overall
    present = [g for g, r in pooled.groups.items() if r is not None]
    if overall is not None and len(present) >= 2:
        het = f", I\u00b2 {overall.i2:.0f}%" if math.isfinite(overall.i2) else ""
        numbers = _interval_text(measure, overall.estimate, overall.ci_lb, overall.ci_ub)
        y = rows.add(
            # pool(overall=True) pools cell-therapy arms only: say it averages different therapies
            f"<b>Average across cell therapies (k={overall.k}{'' if compact else het})</b>",
            "overall",
            f"<b>{numbers}</b>" + (het.replace(",", " ") if compact else ""),
        )
        _add_pooled(
            overall, measure, unit, y, "all groups", OVERALL_COLOUR, pool_x, pool_y, pool_hover
        )
        diamonds.append((overall.ci_lb, overall.estimate, overall.ci_ub, y, OVERALL_COLOUR))
        range_values += [float(to_display(measure, v)) for v in (overall.ci_lb, overall.ci_ub)]
        if overall.k >= 3 and math.isfinite(overall.pi_lb):
            lo, hi = (float(to_display(measure, v)) for v in (overall.pi_lb, overall.pi_ub))
            pis.append((lo, hi, y))
            range_values += [lo, hi]

    n_rows = len(rows.labels)
    labelled = not compact
    row_px = 30 if n_rows <= 60 else (22 if n_rows <= 150 else 14)
    height = int(205 + max(n_rows, 3) * row_px)
    # A compact (big) plot keeps the range of its studies whatever the estimator, so that an
    # estimator change moves diamonds, not thousands of squares.
    x_range = _x_range(study_values + ([] if compact and study_values else range_values), null, log)
    x_left = 10 ** x_range[0] if log else x_range[0]

    if compact:
        shapes += _compact_shapes(st_x, st_y, ci_x, x_range, log)
    # Pooled rows live in the layout (diamonds and prediction bars as shapes, hover text as
    # annotations): an estimator change then only relayouts, and the study traces - thousands
    # of points in a big review - are not redrawn.
    for lb, est, ub, y, colour in diamonds:
        d_lb, d_est, d_ub = (float(to_display(measure, v)) for v in (lb, est, ub))
        shapes.append(
            {
                "type": "path",
                "name": "diamond",
                "path": diamond_path(d_lb, d_est, d_ub, y),
                "xref": "x",
                "yref": "y",
                "fillcolor": colour,
                "line": {"color": colour, "width": 1},
                "layer": "above",
            }
        )
    for lo, hi, y in pis:
        shapes.append(
            {
                "type": "line",
                "name": "prediction",
                "xref": "x",
                "yref": "y",
                "x0": lo,
                "x1": hi,
                "y0": y + 0.42,
                "y1": y + 0.42,
                "line": {"color": "#333333", "width": 3},
                "layer": "above",
            }
        )
    if math.isfinite(null):
        shapes.append(
            {
                "type": "line",
                "name": "null",
                "xref": "x",
                "yref": "paper",
                "x0": null,
                "x1": null,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#333333", "width": 1.5},
                "layer": "below",
            }
        )
    for y, kind in enumerate(rows.kinds):
        if kind == "heading" and y > 0:
            shapes.append(
                {
                    "type": "line",
                    "xref": "paper",
                    "yref": "y",
                    "x0": 0,
                    "x1": 1,
                    "y0": y - 0.5,
                    "y1": y - 0.5,
                    "line": {"color": LIGHT_GREY, "width": 1},
                    "layer": "below",
                }
            )

    tick_text = [
        f"<span style='color:{GREY}'>{t}</span>" if k == "empty" else t
        for t, k in zip(rows.labels, rows.kinds, strict=True)
    ]
    low_label, high_label = direction_labels(measure, q.outcome)
    what = OUTCOME_LABELS.get(q.outcome, q.outcome)
    fig_title = title or f"{what}: {MEASURE_LABELS.get(measure, measure)} by cell group"
    subtitle = (
        f"{pooled.method} estimator, {TEST_LABELS.get(pooled.test, pooled.test)}"
        f" \u00b7 {WINDOWS[q.window][0] if window_note else ''}"
        f" \u00b7 {DESIGN_FILTERS[q.design][0]} \u00b7 {CONFIDENCE_FILTERS[q.confidence][0]}"
        + (f" \u00b7 {filter_note}" if filter_note else "")
    )
    layout = base_layout(fig_title, subtitle, height)
    annotations = [
        {
            "text": "<b>Pooled [95% CI]</b>" if compact else "<b>Estimate [95% CI]  weight</b>",
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
            "text": (
                "\u25a0 verified  \u25a1 secondary  \u22a1 third-party copy  \u22a0 seed-only"
                f" numbers \u00b7 {N_ASSUMED_MARK} n at the visit not reported \u00b7 square size ="
                " weight in group<br>\u25c6 pooled estimate and 95% CI \u00b7 bar under \u25c6 ="
                " 95% prediction interval (k \u2265 3)"
                + (f"<br>{ROB_LEGEND}" if rob_records else "")
            ),
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
    if rob_records:
        annotations.append(
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
    for text, x, anchor in ((low_label, 0.0, "left"), (high_label, 1.0, "right")):
        annotations.append(
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
    # A compact plot has no numbers column (a text trace: changing it redraws every point);
    # the pooled rows' numbers are labels of transparent shapes there, and the row labels stay
    # the same whatever the estimator (a new label width re-runs automargin: a full redraw).
    if compact:
        for y, (kind, text) in enumerate(zip(rows.kinds, rows.numbers, strict=True)):
            if kind in ("pooled", "overall"):
                shapes.append(
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
                        "label": {
                            "text": text,
                            "textposition": "middle left",
                            "font": {"size": TICK_SIZE},
                        },
                    }
                )
    # Hover for the pooled rows (not in a compact plot: changing annotations makes plotly redraw
    # every point, 100 ms at 2,000 rows; the numbers are then in the row labels instead).
    for x, y, text in zip(pool_x, pool_y, pool_hover, strict=True) if not compact else ():
        annotations.append(
            {  # an invisible mark over the diamond that carries its hover text
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
        )
    if not labelled:
        annotations.append(
            {
                "text": f"{len(st_x)} study arms: above {MAX_LABELLED_ROWS} the rows are not "
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
    shown = [t for t, k in zip(tick_text, rows.kinds, strict=True) if labelled or k != "study"]
    tick_size = TICK_SIZE if n_rows <= 60 else SMALL_SIZE - 2
    layout |= {
        # The left margin fits the longest row label (estimated, generously): plotly's
        # automargin would draw the plot twice, on the first render and on every label change.
        "margin": {
            "l": label_margin(shown, tick_size),
            "r": 20,
            "t": 95,
            "b": (125 if labelled else 145) + (36 if rob_records else 0),
            "autoexpand": True,
        },
        "xaxis": {
            "domain": _DOMAINS[bool(rob_records)][0],
            "type": "log" if log else "linear",
            "range": x_range,
            "tickmode": "array" if log else "auto",
            "tickvals": log_ticks(x_range) if log else None,
            "title": {"text": measure_axis_title(measure, q.outcome), "standoff": 8},
            "zeroline": False,
            "showgrid": True,
            "gridcolor": "#EEEEEE",
            "tickfont": {"size": TICK_SIZE},
            "showline": True,
            "linecolor": "#333333",
            "ticks": "outside",
        },
        "xaxis2": {
            "domain": _DOMAINS[bool(rob_records)][1],
            "range": [0.0, 1.0],
            "visible": False,
            "fixedrange": True,
        },
        "xaxis3": {  # the risk-of-bias column (empty without risk-of-bias data)
            "domain": _DOMAINS[True][2] if rob_records else _DOMAINS[False][1],
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
        "annotations": annotations,
        "shapes": shapes,
        "meta": {"rows": n_rows, "studies": len(st_x), "measure": measure},
    }

    # Only rows with numbers get a text point: plotly.js removes the <text> of a point whose
    # text is empty and an in-place update never draws it again, so a row that gained numbers
    # after a control change stayed blank (the dashboard's vanishing numbers).
    numbered = [y for y, t in enumerate(rows.numbers) if t] if labelled else []
    traces = [
        trace(
            "scatter",
            name="ci",
            x=[] if compact else ci_x,
            y=[] if compact else ci_y,
            mode="lines",
            line={"color": "#333333", "width": 1.6},
            hoverinfo="skip",
        ),
        _studies_trace(st_x, st_y, st_size, st_colour, st_symbol, st_hover, st_keys, compact),
        trace(
            "scatter",
            name="empty",
            x=[x_left] * len(empty_y),
            y=empty_y,
            mode="text",  # the reason, written in the plot area; hover gives all of it
            text=empty_text,
            textposition="middle right",
            textfont={"size": SMALL_SIZE + 1, "color": GREY},
            cliponaxis=False,
            hovertext=empty_hover,
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
    return figure(traces, layout)


def _studies_trace(
    xs: list[float],
    ys: list[int],
    sizes: list[float],
    colours: list[str],
    symbols: list[str],
    hovers: list[str],
    keys: list[list[str]],
    compact: bool,
) -> dict[str, Any]:
    """The study squares (markers sized by weight); in a compact plot an invisible line through
    the estimates that only carries the hover text (one SVG element; see _compact_shapes).
    ``customdata`` is each point's [citekey, arm], so a click can name its study arm."""
    if compact:
        return trace(
            "scatter",
            name="studies",
            x=xs,
            y=ys,
            mode="lines",
            line={"color": "rgba(0,0,0,0)", "width": 1},
            customdata=keys,
            hovertext=hovers,
            hoverinfo="text",
        )
    return trace(
        "scatter",
        name="studies",
        x=xs,
        y=ys,
        mode="markers",
        marker={
            "symbol": symbols,
            "size": sizes,
            "color": colours,
            "opacity": 1.0,
            "line": {"color": colours, "width": 2},
        },
        customdata=keys,
        hovertext=hovers,
        hoverinfo="text",
    )


def _compact_shapes(
    est: list[float], ys: list[int], ci_x: list[float | None], x_range: list[float], log: bool
) -> list[dict[str, Any]]:
    """Every CI whisker, and every study's dash, as ONE path shape each.

    Plotly draws each marker, and each gap-separated line segment, as its own SVG element, and
    restyles all of them on every update of a FigureWidget (~100 ms at 2,000 studies); one
    path with 2,000 subpaths costs a few ms.
    """
    half = (x_range[1] - x_range[0]) * 0.006  # about 4 px either side
    whiskers, dashes = [], []
    for i, (mid, y) in enumerate(zip(est, ys, strict=True)):
        lo, hi = ci_x[3 * i], ci_x[3 * i + 1]
        whiskers.append(f"M{lo:.5g},{y}L{hi:.5g},{y}")
        a, b = (mid * 10**-half, mid * 10**half) if log else (mid - half, mid + half)
        dashes.append(f"M{a:.5g},{y}L{b:.5g},{y}")
    common = {"type": "path", "xref": "x", "yref": "y", "layer": "above"}
    return [
        common
        | {"name": "ci", "path": "".join(whiskers), "line": {"color": "#333333", "width": 1.4}},
        common
        | {"name": "squares", "path": "".join(dashes), "line": {"color": "#222222", "width": 7}},
    ]


def _add_pooled(
    result, measure: str, unit: str, y: int, name: str, colour: str, xs, ys, hovers
) -> None:
    est, lb, ub = (
        float(to_display(measure, v)) for v in (result.estimate, result.ci_lb, result.ci_ub)
    )
    pi = ""
    if result.k >= 3 and math.isfinite(result.pi_lb):
        plo, phi = (float(to_display(measure, v)) for v in (result.pi_lb, result.pi_ub))
        pi = f"<br>95% prediction interval {fmt(plo)} to {fmt(phi)}"
    elif result.k < 3:
        pi = "<br>no prediction interval (needs k \u2265 3)"
    het = ""
    if result.k > 1:
        het = (
            f"<br>\u03c4\u00b2 {fmt(result.tau2, 3)}, I\u00b2 {fmt(result.i2, 0)}%, "
            f"Q {fmt(result.q)} (df {fmt(result.q_df, 0)}, p {fmt(result.q_pval, 3)})"
        )
    xs.append(est)
    ys.append(y)
    hovers.append(
        f"<b>{esc(name)} pooled</b> (k={result.k}; {esc(result.method)}, {esc(result.test)})<br>"
        f"{esc(measure)} {fmt(est)} (95% CI {fmt(lb)} to {fmt(ub)}) {esc(unit)}{pi}{het}"
    )


def config(filename: str = "forest-plot", fmt_: str = "svg") -> dict:
    return export_config(filename, fmt_)
