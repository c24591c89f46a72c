"""One effect per study arm for a question.

A :class:`Question` (outcome, effect type, time window, filters) turns the dataset's arm-level
numbers into one effect per study arm (:func:`effects`), each with the numbers, locators and
confidence it rests on, or with the reason it could not be computed.
:func:`evidence.analysis.pooling.pool` then pools the included effects per cell group and tests
for subgroup differences.

Effect types:

- ``change``: change from baseline within an arm (follow-up minus baseline). Either reported as a
  change (mean and SD or SE; median and IQR or range converted with :func:`conv_fivenum`), or
  computed from baseline and follow-up levels as metafor's ``MC`` with an assumed pre-post
  correlation ``ri``. For counted outcomes (deaths, adverse events) the within-arm effect is the
  proportion of patients with the event, on the logit scale (``PLO``).
- ``control``: treated arm versus the study's control arm at the same timepoint (``MD`` of
  changes where both arms report them, else of follow-up levels; ``OR``, ``RR`` or ``RD`` for
  counted outcomes). Only studies with a control arm can give one.

Across groups the comparison is always across studies: an indirect, observational contrast.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from evidence.analysis.extract import (
    CONFIDENCE_RANK,
    Cells,
    Numbers,
    comparators,
    group_cells,
    numbers_at,
)
from evidence.analysis.question import (
    COMPARED_GROUPS,
    DESIGN_FILTERS,
    OUTCOME_LABELS,
    POPULATION_FILTERS,
    WINDOWS,
    Question,
)
from evidence.data.fields import OUTCOMES_TABLE
from evidence.dataset import Dataset
from evidence.effects import escalc

#: The file every effect's ``source_lines`` are rows of (lines as the data layer counts them).
SOURCE_FILE = OUTCOMES_TABLE.path

EFFECT_COLUMNS = (
    "citekey",
    "label",
    "year",
    "design",
    "population",
    "group",
    "arm",
    "comparator",
    "timepoint",
    "timepoint_months",
    "visit",
    "n",
    "n_control",
    "n_assumed",
    "measure",
    "basis",
    "yi",
    "vi",
    "sei",
    "ci_lb",
    "ci_ub",
    "confidence",
    "study_confidence",
    "derived",
    "included",
    "reason",
    "source_file",
    "source_lines",
    "sd1i",
    "sd2i",
)


# --- effects ----------------------------------------------------------------------------------


def _in_window(months: float, window: str) -> bool:
    _, low, high = WINDOWS[window]
    if math.isnan(months):  # 'end' of follow-up, visit unknown: only the latest window
        return window == "latest"
    return low < months <= high


def _latest_first(months: float) -> float:
    return -math.inf if math.isnan(months) else -months


def _visit(tp: str, months: float, follow_up: object) -> str:
    """The visit as a reader should see it; an unstated end of follow-up says where it was put."""
    if tp != "end":
        return tp
    if isinstance(follow_up, str) and follow_up and math.isfinite(months):
        return f"end of follow-up ({follow_up}, the study's follow-up; visit not stated)"
    return "end of follow-up (visit not stated)"


@dataclass
class Prepared:
    """What :func:`effects` reads from a dataset whatever the question: each clinical study's
    fields, the clinical arms, each treated arm's comparator, and (filled as outcomes are
    asked for) each outcome's cells with their visits. Built once per dataset by
    :func:`prepare`; a kernel asks dozens of questions of one dataset, and this part was
    half of every :func:`effects` call. Read-only once built, like the dataset's frames."""

    studies: dict[str, dict[str, Any]]
    arms: list[tuple[str, str, str, object]]  # citekey, arm, group, n (NaN when planned)
    pairs: dict[tuple[str, str], tuple[str, float] | str]
    follow: dict[str, object]
    planned: frozenset[tuple[str, str]]
    outcomes: pd.DataFrame
    by_outcome: dict[str, _OutcomeCells] = field(default_factory=dict)

    def cells(self, outcome: str) -> _OutcomeCells:
        """The outcome's cells, the months of each (study, visit) and each arm's visits."""
        if outcome not in self.by_outcome:
            self.by_outcome[outcome] = _outcome_cells(self, outcome)
        return self.by_outcome[outcome]


@dataclass(frozen=True)
class _OutcomeCells:
    cells: Cells
    months: dict[tuple[str, str], float]
    timepoints: dict[tuple[str, str], set[str]]


def prepare(data: Dataset) -> Prepared:
    """The question-independent part of :func:`effects` for ``data`` (see :class:`Prepared`)."""
    clinical = data.clinical_studies
    # Each study's fields as a plain dict, read once: a pandas row lookup per arm (~0.1 ms)
    # was most of this function's time, and it runs on most control changes.
    studies = {
        key: dict(zip(_STUDY_FIELDS, values, strict=True))
        for key, *values in zip(
            clinical["citekey"], *(clinical[c] for c in _STUDY_FIELDS), strict=True
        )
    }
    # A planned arm size is not a count of patients: it never becomes an n or a variance.
    arms = data.clinical_arms
    return Prepared(
        studies=studies,
        arms=list(zip(arms["citekey"], arms["arm"], arms["group"], arms["n"], strict=True)),
        pairs=comparators(arms),
        follow={key: study["follow_up_months"] for key, study in studies.items()},
        planned=data.planned_arms,
        outcomes=data.outcomes,
    )


def _outcome_cells(prepared: Prepared, outcome: str) -> _OutcomeCells:
    all_outcomes = prepared.outcomes
    outcomes = all_outcomes[all_outcomes["outcome"] == outcome]
    cells = group_cells(outcomes, prepared.planned)
    follow = prepared.follow
    tp_months = dict(zip(outcomes["timepoint"], outcomes["timepoint_months"], strict=True))
    months: dict[tuple[str, str], float] = {}
    timepoints: dict[tuple[str, str], set[str]] = {}
    for key, arm, _quantity, tp in cells:
        if tp != "baseline":
            timepoints.setdefault((key, arm), set()).add(tp)
            at = float(tp_months[tp])
            if tp == "end" and key in follow:
                at = float(follow[key])  # NaN when the registry gives no follow_up
            months[(key, tp)] = at
    return _OutcomeCells(cells, months, timepoints)


def effects(data: Dataset, question: Question, prepared: Prepared | None = None) -> pd.DataFrame:
    """One row per study arm in the question's groups: its effect, or why it has none.

    Rows with ``included`` False carry a ``reason`` (not reported, filtered out, no SD, ...): they
    are never dropped, so a view can show every study and why it is or is not in the plot.
    ``n_assumed`` is True where the visit's n is not reported and the arm's size stands in;
    ``visit`` is the timepoint as shown (an unstated end of follow-up is placed at the study's
    ``follow_up`` when the registry gives one). A control arm shared by several comparisons in
    the analysis has its n (and events) split between them (``derived`` says so).
    ``source_lines`` are the rows of ``source_file`` (data/outcomes.csv) the effect's numbers
    were read from, a tuple of line numbers (text only at the edge: :mod:`evidence.text`).
    ``prepared``: :func:`prepare` of ``data``, kept by a caller that asks many questions.
    """
    return _frame(_rows(prepared if prepared is not None else prepare(data), question))


def studies_per_outcome(
    data: Dataset,
    question: Question,
    kept: Collection[str] | None = None,
    prepared: Prepared | None = None,
    outcomes: Iterable[str] = OUTCOME_LABELS,
) -> dict[str, int]:
    """Per outcome, how many studies (not arms) have at least one effect in its plot: an
    ``included`` row of :func:`effects` for the question with that outcome (all its other
    settings kept), from a study in ``kept`` (the studies a later filter, the risk of bias,
    keeps; None: all). One pass over the outcomes without building their frames; 0 where
    the plot would be empty."""
    if prepared is None:
        prepared = prepare(data)
    keep = None if kept is None else frozenset(kept)
    counts = {}
    for code in outcomes:
        used = {
            r["citekey"] for r in _rows(prepared, replace(question, outcome=code)) if r["included"]
        }
        counts[code] = len(used if keep is None else used & keep)
    return counts


def _rows(prepared: Prepared, question: Question) -> list[dict[str, object]]:
    """The rows of :func:`effects`, not yet a frame."""
    studies, pairs = prepared.studies, prepared.pairs
    by_outcome = prepared.cells(question.outcome)
    cells, months, timepoints = by_outcome.cells, by_outcome.months, by_outcome.timepoints

    rows: list[dict[str, object]] = []
    chosen: list[tuple[dict[str, object], Numbers, Numbers | None]] = []
    for key, arm, group, arm_n in prepared.arms:
        if group not in question.groups or (question.effect == "control" and group == "control"):
            continue
        study = studies[key]
        row = _base_row(key, study, group, arm, arm_n)
        pair = pairs.get((key, arm))
        control = pair if isinstance(pair, tuple) else None
        if control is not None and question.effect == "control":
            row["comparator"], row["n_control"] = control
        reason = _filter_reason(study, question, pair is not None)
        if not reason and question.effect == "control" and isinstance(pair, str):
            reason = pair
        reported = sorted(
            timepoints.get((key, arm), ()), key=lambda t, k=key: _latest_first(months[(k, t)])
        )
        window = [t for t in reported if _in_window(months[(key, t)], question.window)]
        if not reason and not reported:
            no_numbers = study["no_numbers"]
            reason = (
                f"no numbers: {no_numbers}"
                if isinstance(no_numbers, str) and no_numbers
                else f"{OUTCOME_LABELS[question.outcome]} not reported"
            )
        elif not reason and not window:
            reason = (
                f"nothing in the window {WINDOWS[question.window][0]!r} "
                f"(reported at {', '.join(reported)})"
            )
        if reason:
            rows.append(row | {"reason": reason})
            continue
        first = None
        for tp in window:  # the latest timepoint in the window with usable numbers
            treated, ctrl = numbers_at(
                cells, key, arm, control[0] if control else None, tp, question
            )
            at = months[(key, tp)]
            candidate = (
                row
                | {
                    "timepoint": tp,
                    "timepoint_months": at,
                    "visit": _visit(tp, at, study["follow_up"]),
                },
                treated,
                ctrl,
            )
            first = first or candidate
            if not treated.reason and (ctrl is None or not ctrl.reason):
                first = candidate
                break
        chosen.append(first)

    rows.extend(_compute(_split_shared(chosen), question))
    return rows


_FLOAT_COLUMNS = (
    "yi",
    "vi",
    "sei",
    "ci_lb",
    "ci_ub",
    "n",
    "n_control",
    "timepoint_months",
    "sd1i",
    "sd2i",
)
_GROUP_ORDER = {g: i for i, g in enumerate(COMPARED_GROUPS)}


def _missing(value: object) -> bool:
    return value is None or value != value  # None or NaN, as pandas sorts them: last


def _sort_key(row: Mapping[str, object]) -> tuple:
    """The frame's order (group, year, label, arm; missing values last), as ``sort_values``
    gave it; ties keep their order (both sorts are stable)."""
    key: list[object] = [_GROUP_ORDER[str(row["group"])]]
    for column in ("year", "label", "arm"):
        value = row[column]
        missing = _missing(value)
        key += [missing, 0 if missing else value]
    return tuple(key)


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The rows as the effects frame: its columns, dtypes and order (group, year, label, arm).
    Sorted as records before the frame is built: one frame, not a sorted copy of it."""
    rows = sorted(rows, key=_sort_key)
    frame = pd.DataFrame.from_records(rows, columns=list(EFFECT_COLUMNS))
    for column in _FLOAT_COLUMNS:
        if frame[column].dtype != np.float64:
            frame[column] = frame[column].astype(float)
    for column in ("included", "n_assumed"):
        if frame[column].dtype != np.bool_:
            frame[column] = frame[column].astype(bool)
    return frame


def _split_shared(
    chosen: list[tuple[dict[str, object], Numbers, Numbers | None]],
) -> list[tuple[dict[str, object], Numbers, Numbers | None]]:
    """Cochrane Handbook 23.3.4: a control arm compared with several treated arms of one
    analysis is split evenly between the comparisons (n, and events for counts), so that its
    patients are not counted twice."""
    usable: dict[tuple[object, object], int] = {}
    for row, treated, ctrl in chosen:
        if ctrl is not None and not treated.reason and not ctrl.reason:
            shared = (row["citekey"], row["comparator"])
            usable[shared] = usable.get(shared, 0) + 1
    out = []
    for row, treated, ctrl in chosen:
        parts = usable.get((row["citekey"], row["comparator"]), 0)
        if ctrl is None or parts < 2 or treated.reason or ctrl.reason:
            out.append((row, treated, ctrl))
            continue
        note = (
            f"shared control {row['comparator']!r} split between {parts} comparisons in this "
            f"analysis: {_fmt_count(ctrl.n / parts)} of its {_fmt_count(ctrl.n)} patients"
            + (
                f" and {_fmt_count(ctrl.events / parts)} of its {_fmt_count(ctrl.events)} events"
                if ctrl.basis == "count"
                else ""
            )
            + " counted here"
        )
        split = replace(
            ctrl,
            n=ctrl.n / parts,
            total=ctrl.total / parts,
            events=ctrl.events / parts,
            derived=(*ctrl.derived, note),
        )
        out.append((row, treated, split))
    return out


def _fmt_count(x: float) -> str:
    return "NA" if not math.isfinite(x) else f"{x:g}"


#: The study fields an arm's row reads (:func:`_base_row`, :func:`_filter_reason`, the visit).
_STUDY_FIELDS = (
    "label",
    "year",
    "design",
    "population",
    "confidence",
    "no_numbers",
    "follow_up",
    "follow_up_months",
)


def _base_row(
    key: str, study: Mapping[str, Any], group: str, arm: str, arm_n: object
) -> dict[str, object]:
    return {
        "citekey": key,
        "label": study["label"],
        "year": study["year"],
        "design": study["design"],
        "population": study["population"],
        "group": group,
        "arm": arm,
        "comparator": None,
        "timepoint": None,
        "timepoint_months": math.nan,
        "visit": None,
        "n": math.nan if pd.isna(arm_n) else float(arm_n),
        "n_control": math.nan,
        "n_assumed": False,
        "measure": None,
        "basis": None,
        "yi": math.nan,
        "vi": math.nan,
        "sei": math.nan,
        "ci_lb": math.nan,
        "ci_ub": math.nan,
        "confidence": None,
        "study_confidence": study["confidence"],
        "derived": "",
        "included": False,
        "reason": "",
        "source_file": SOURCE_FILE,
        "source_lines": (),
        "sd1i": math.nan,
        "sd2i": math.nan,
    }


def _filter_reason(study: Mapping[str, Any], question: Question, has_control: bool) -> str:
    label, allowed = DESIGN_FILTERS[question.design]
    if allowed is not None and study["design"] not in allowed:
        return f"{study['design']} design: excluded by the filter ({label})"
    label, populations = POPULATION_FILTERS[question.population]
    if populations is not None and study["population"] not in populations:
        return f"population is {study['population']}: excluded by the filter ({label})"
    if question.effect == "control" and not has_control:
        return "no control arm to compare with"
    return ""


def _compute(
    chosen: list[tuple[dict[str, object], Numbers, Numbers | None]], question: Question
) -> list[dict[str, object]]:
    """Effect sizes for every chosen arm in one vectorised escalc call per measure."""
    rows = []
    ready: list[tuple[dict[str, object], Numbers, Numbers | None]] = []
    for row, treated, ctrl in chosen:
        reason = treated.reason or (ctrl.reason if ctrl is not None else "")
        if reason:
            rows.append(row | {"reason": reason})
        else:
            ready.append((row, treated, ctrl))
    if not ready:
        return rows
    t = [r[1] for r in ready]
    c = [r[2] for r in ready]

    def arr(values: Iterable[float]) -> np.ndarray:
        return np.array(list(values), dtype=float)

    measure = question.measure
    if question.effect == "change" and question.binary:
        es = escalc("PLO", xi=arr(x.events for x in t), ni=arr(x.total for x in t))
    elif question.effect == "change":
        # A reported change is taken as is (vi = SD^2 / n); levels go through metafor's MC.
        pre = np.array([x.basis == "pre-post" for x in t])
        es = escalc(
            "MC",
            m1i=arr(x.mean for x in t),
            m2i=arr(x.mean0 if x.basis == "pre-post" else 0.0 for x in t),
            sd1i=arr(x.sd for x in t),
            sd2i=arr(x.sd0 if x.basis == "pre-post" else 0.0 for x in t),
            ni=arr(x.n for x in t),
            ri=np.where(pre, question.ri, 0.0),
        )
    elif question.binary:
        es = escalc(
            measure,
            ai=arr(x.events for x in t),
            n1i=arr(x.total for x in t),
            ci=arr(x.events for x in c),
            n2i=arr(x.total for x in c),
        )
    else:
        es = escalc(
            "MD",
            m1i=arr(x.mean for x in t),
            m2i=arr(x.mean for x in c),
            sd1i=arr(x.sd for x in t),
            sd2i=arr(x.sd for x in c),
            n1i=arr(x.n for x in t),
            n2i=arr(x.n for x in c),
        )
    for i, (row, treated, ctrl) in enumerate(ready):
        yi, vi, reason = float(es["yi"].iat[i]), float(es["vi"].iat[i]), str(es["reason"].iat[i])
        numbers = [treated] if ctrl is None else [treated, ctrl]
        derived = [d for x in numbers for d in x.derived]
        if treated.basis == "pre-post":
            derived.append(f"pre-post correlation r = {question.ri:g} assumed")
        if "corrected" in es and bool(es["corrected"].iat[i]):
            derived.append("0.5 added to each cell (zero events)")
        lines = tuple(sorted({int(line) for x in numbers for line in x.lines}))
        assumed = any(x.n_assumed for x in numbers)
        if assumed:
            derived.append("n at this visit not reported: the arm's size stands in")
        if row["timepoint"] == "end" and math.isfinite(float(str(row["timepoint_months"]))):
            derived.append("visit not stated: placed at the end of the study's follow-up")
        if not reason and vi == 0:
            # An SD (or IQR) of 0, or r = 1 with equal SDs: the weight 1/vi would be infinite.
            reason = "no sampling variance (an SD of 0): cannot be weighted"
        se = math.sqrt(vi) if vi >= 0 else math.nan
        rows.append(
            row
            | {
                "measure": measure,
                "basis": _BASIS_LABEL[treated.basis],
                "n": treated.n if not math.isnan(treated.n) else row["n"],
                "n_control": ctrl.n
                if ctrl is not None and not math.isnan(ctrl.n)
                else row["n_control"],
                "yi": yi,
                "vi": vi,
                "sei": se,
                "ci_lb": yi - _Z95 * se,
                "ci_ub": yi + _Z95 * se,
                "confidence": max((x.confidence for x in numbers), key=CONFIDENCE_RANK.__getitem__),
                "n_assumed": assumed,
                "sd1i": treated.sd if treated.basis == "pre-post" else math.nan,
                "sd2i": treated.sd0 if treated.basis == "pre-post" else math.nan,
                "derived": "; ".join(dict.fromkeys(derived)),
                "included": not reason and math.isfinite(yi) and math.isfinite(vi),
                "reason": reason,
                "source_lines": lines,
            }
        )
    return rows


_Z95 = 1.959963984540054
_BASIS_LABEL = {
    "change": "reported change from baseline",
    "pre-post": "baseline and follow-up levels",
    "level": "follow-up levels",
    "count": "event counts",
}
