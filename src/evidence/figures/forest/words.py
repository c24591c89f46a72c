"""The forest plot's words: row labels, empty-group reasons, direction labels and hover texts
(every text is escaped here, where data becomes markup)."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pandas as pd

from evidence.compare import LOWER_IS_BETTER, to_display
from evidence.figures.style import SMALL_SIZE, esc, fmt, fmt_n
from evidence.text import source_text

#: Marks a row whose n at the visit is not reported (the arm's size stands in; issue 12).
N_ASSUMED_MARK = "\u2020"


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


def reasons(rows: pd.DataFrame) -> str:
    """Why a group has no usable numbers: its two commonest reasons (and how many others)."""
    counts = Counter(r for r in rows["reason"] if isinstance(r, str) and r)
    if not counts:
        return "no study of this group in the dataset"
    top = [r for r, _ in counts.most_common(2)]
    more = len(counts) - len(top)
    return "; ".join(top) + (f"; and {more} other reason(s), see the table" if more else "")


def timepoint(tp: object, long: bool = False) -> str:
    # "end" is the data's word for an end of follow-up whose visit the source does not state
    if not isinstance(tp, str):
        return "time n/a"
    if tp == "end":
        return "end of follow-up (visit not stated)" if long else "end of f/u"
    return tp


def n_text(r: Any) -> str:
    assumed = getattr(r, "n_assumed", False) is True
    return fmt_n(r.n) + (N_ASSUMED_MARK if assumed else "")


def study_label(r: Any) -> str:
    arm = "" if r.arm == r.group else f" \u00b7 {r.arm}"
    return f"{r.label}{arm} \u00b7 {n_text(r)} \u00b7 {timepoint(r.timepoint)}"


def heading_label(group: str, used: int, studies: int) -> str:
    """A group's heading row: its name and how many of its studies have usable numbers."""
    return (
        f"<b>{esc(group)}</b>  <span style='font-size:{SMALL_SIZE}px'>{used} of {studies} "
        f"{'study' if studies == 1 else 'studies'} with usable numbers</span>"
    )


def visit_text(r: Any) -> str:
    visit = getattr(r, "visit", None)  # the effects frame's visit (an 'end' placed by follow-up)
    return visit if isinstance(visit, str) and visit else timepoint(r.timepoint, long=True)


def hover_study(
    r: Any, measure: str, unit: str, weight: float | None, est: float, lb: float, ub: float
) -> str:
    control = ""
    if isinstance(r.comparator, str):
        control = f" vs {esc(r.comparator)} ({fmt_n(r.n_control)})"
    locators = getattr(r, "locators", None)
    # where the numbers were read ("Table 2"), not lines of a data file a viewer cannot open
    if isinstance(locators, str) and locators:
        source = f"read in: {esc(locators)}"
    else:
        source = f"source: {esc(source_text(r.source_file, r.source_lines))}"
    derived = f"<br>derived: {esc(r.derived)}" if isinstance(r.derived, str) and r.derived else ""
    return (
        f"<b>{esc(r.label)}</b> \u00b7 {esc(r.design)}<br>"
        f"arm {esc(r.arm)} ({esc(r.group)}, {fmt_n(r.n)}){control}<br>"
        f"time point: {esc(visit_text(r))}<br>"
        f"{esc(measure)} {fmt(est)} (95% CI {fmt(lb)} to {fmt(ub)}) {esc(unit)}<br>"
        + (f"weight in group: {fmt(weight, 1)}%<br>" if weight is not None else "")
        + f"basis: {esc(r.basis)}{derived}<br>"
        f"confidence: {esc(r.confidence)}<br>{source}"
    )


def interval_text(measure: str, est: float, lb: float, ub: float) -> str:
    e, lo, hi = (float(to_display(measure, v)) for v in (est, lb, ub))
    return f"{fmt(e)} [{fmt(lo)}, {fmt(hi)}]"


def hover_pooled(result: Any, measure: str, unit: str, name: str) -> tuple[float, str]:
    """(displayed estimate, hover text) of a pooled result: interval, PI, heterogeneity."""
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
    return est, (
        f"<b>{esc(name)} pooled</b> (k={result.k}; {esc(result.method)}, {esc(result.test)})<br>"
        f"{esc(measure)} {fmt(est)} (95% CI {fmt(lb)} to {fmt(ub)}) {esc(unit)}{pi}{het}"
    )
