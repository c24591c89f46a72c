"""The review's question: does the cell group make a difference to an outcome?

A :class:`Question` (outcome, effect type, time window, filters) turns the dataset's arm-level
numbers into one effect per study arm (:func:`effects`), each with the numbers, locators and
confidence it rests on, or with the reason it could not be computed. :func:`pool` then pools the
included effects per cell group and tests for subgroup differences.

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
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from evidence.dataset import Dataset
from evidence.effects import conv_fivenum, escalc
from evidence.meta import RMAResult, SubgroupResult, difference_test, rma, subgroups
from evidence.meta.estimators import METHODS
from evidence.schema import BINARY_OUTCOMES, CONFIDENCES, CONTROLLED_DESIGNS
from evidence.units import canonical_unit
from evidence.vocab import (
    ARM_GROUPS,
    CELL_GROUPS,
    DEFAULT_CONFIDENCE,
    DEFAULT_GROUPS,
    DEFAULT_OUTCOME,
    OUTCOME_RECORDS,
    PLANNED,
)

EffectType = Literal["change", "control"]

#: Outcomes the comparison offers, with a label and the direction that is better for patients
#: (both from the Outcome records of evidence.vocab).
OUTCOME_LABELS = {o.code: o.label for o in OUTCOME_RECORDS}
LOWER_IS_BETTER = frozenset(o.code for o in OUTCOME_RECORDS if o.lower_is_better)

#: Time windows in months after the infusion: (label, lower bound exclusive, upper inclusive).
WINDOWS: dict[str, tuple[str, float, float]] = {
    "latest": ("latest reported", 0.0, math.inf),
    "0-3": ("up to 3 months", 0.0, 3.5),
    "4-6": ("4 to 6 months", 3.5, 7.0),
    "7-12": ("7 to 12 months", 7.0, 13.0),
    "12+": ("beyond 12 months", 13.0, math.inf),
}
DESIGN_FILTERS = {
    "all": ("all designs", None),
    "controlled": ("controlled studies", CONTROLLED_DESIGNS),
    "rct": ("randomised trials only", ("RCT",)),
}
CONFIDENCE_FILTERS = {
    "verified": ("verified numbers only", ("verified",)),
    "secondary": ("verified and secondary", ("verified", "secondary")),
    "third-party": (
        "verified, secondary and third-party copies",
        ("verified", "secondary", "third-party"),
    ),
    "seed-only": ("all, seed-only included", CONFIDENCES),
}
POPULATION_FILTERS = {
    "all": ("all populations", None),
    "decompensated": ("decompensated cirrhosis only", ("decompensated cirrhosis",)),
}
BINARY_MEASURES = ("OR", "RR", "RD")
#: Tests the dashboard's control offers; ``pool`` also takes metafor's ``adhoc`` (Knapp-Hartung
#: with its scale factor truncated at 1, never narrower than z).
TESTS = ("z", "knha")
POOL_TESTS = (*TESTS, "adhoc")
COMPARED_GROUPS = ARM_GROUPS
#: Arms that received cells: the only arms an across-group ("overall") average may pool.
CELL_THERAPY_GROUPS = CELL_GROUPS
#: Correlations at which a within-arm analysis is re-run to see whether its conclusion holds.
RI_SENSITIVITY = (0.2, 0.8)
#: Visits further apart than this (months) in one pool are mixed timepoints: the summary says so.
MIXED_VISITS_MONTHS = 6.0


@dataclass(frozen=True)
class Question:
    """What a reviewer asks. Every field is checked against its allowed values."""

    outcome: str = DEFAULT_OUTCOME
    effect: EffectType = "change"
    window: str = "latest"
    design: str = "all"
    confidence: str = DEFAULT_CONFIDENCE
    population: str = "all"
    groups: tuple[str, ...] = DEFAULT_GROUPS
    ri: float = 0.5
    binary_measure: str = "OR"

    def __post_init__(self) -> None:
        _one_of("outcome", self.outcome, OUTCOME_LABELS)
        _one_of("effect", self.effect, ("change", "control"))
        _one_of("window", self.window, WINDOWS)
        _one_of("design", self.design, DESIGN_FILTERS)
        _one_of("confidence", self.confidence, CONFIDENCE_FILTERS)
        _one_of("population", self.population, POPULATION_FILTERS)
        _one_of("binary_measure", self.binary_measure, BINARY_MEASURES)
        groups = tuple(self.groups)
        for group in groups:
            _one_of("groups", group, COMPARED_GROUPS)
        object.__setattr__(self, "groups", groups)
        if not (isinstance(self.ri, int | float) and -1 <= float(self.ri) <= 1):
            raise ValueError(f"ri must be a correlation in [-1, 1], got {self.ri!r}")

    @property
    def binary(self) -> bool:
        return self.outcome in BINARY_OUTCOMES

    @property
    def measure(self) -> str:
        if self.effect == "change":
            return "PLO" if self.binary else "MC"
        return self.binary_measure if self.binary else "MD"

    def with_(self, **changes: object) -> Question:
        return replace(self, **changes)


def _one_of(name: str, value: object, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(map(repr, allowed))}")


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
    "sources",
    "sd1i",
    "sd2i",
)

_RANK = {c: i for i, c in enumerate(CONFIDENCES)}


# --- an arm's numbers -------------------------------------------------------------------------


@dataclass
class _Cell:
    """The rows one arm reports for one outcome, quantity and timepoint."""

    stats: dict[str, float] = field(default_factory=dict)
    confidences: dict[str, str] = field(default_factory=dict)
    line_of: dict[str, int] = field(default_factory=dict)
    n: float = math.nan
    #: True while every n seen is the arm's n standing in for the visit's (not reported).
    n_assumed: bool = True

    def add(
        self, statistic: str, value: float, confidence: str, line: int, n: float, reported: bool
    ) -> None:
        self.stats[statistic] = value
        self.confidences[statistic] = confidence
        self.line_of[statistic] = line
        if math.isnan(n):
            return
        if reported and self.n_assumed:  # a visit's own n beats the arm's
            self.n, self.n_assumed = n, False
        elif reported == (not self.n_assumed):
            self.n = n if math.isnan(self.n) else min(self.n, n)

    def used(self, statistics: Iterable[str]) -> tuple[str, tuple[int, ...]]:
        """The weakest confidence and the source lines of the statistics a number rests on."""
        present = [s for s in statistics if s in self.stats]
        confidence = max(
            (self.confidences[s] for s in present), key=_RANK.__getitem__, default="verified"
        )
        return confidence, tuple(self.line_of[s] for s in present)


Cells = dict[tuple[str, str, str, str], _Cell]


def _cells(outcomes: pd.DataFrame, planned: set[tuple[str, str]]) -> Cells:
    """Group the rows by arm, quantity and timepoint. ``planned`` arms' sizes never become an
    n: only a number's own reported n counts there."""
    cells: Cells = {}
    if "n_reported" not in outcomes:  # a frame from before the loader said so
        outcomes = outcomes.assign(n_reported=False)
    columns = (
        "citekey",
        "arm",
        "quantity",
        "timepoint",
        "statistic",
        "value",
        "confidence",
        "source_line",
        "n",
        "n_reported",
    )
    for key, arm, quantity, tp, stat, value, conf, line, n, reported in zip(
        *(outcomes[c].to_numpy() for c in columns), strict=True
    ):
        cell = cells.setdefault((key, arm, quantity, tp), _Cell())
        reported = bool(reported)
        if pd.isna(n) or (not reported and (key, arm) in planned):
            n = math.nan
        cell.add(stat, float(value), conf, int(line), float(n), reported)
    return cells


@dataclass(frozen=True)
class _Numbers:
    """What one arm contributes at one timepoint, or why it contributes nothing.

    ``basis`` says what the numbers are: ``change`` (a reported change from baseline), ``pre-post``
    (follow-up ``mean``/``sd`` with the baseline in ``mean0``/``sd0``), ``level`` (follow-up
    values) or ``count`` (``events`` of ``total``).
    """

    basis: str = ""
    mean: float = math.nan
    sd: float = math.nan
    n: float = math.nan
    mean0: float = math.nan
    sd0: float = math.nan
    events: float = math.nan
    total: float = math.nan
    confidence: str = "verified"
    lines: tuple[int, ...] = ()
    derived: tuple[str, ...] = ()
    reason: str = ""
    n_assumed: bool = False


def _mean_sd(cell: _Cell) -> tuple[float, float, tuple[str, ...], str, tuple[str, ...]]:
    """Mean and SD of a cell: reported, from an SE, or converted from a median (conv.fivenum)."""
    s, n = cell.stats, cell.n
    if "mean" in s and "sd" in s:
        return s["mean"], s["sd"], (), "", ("mean", "sd")
    if "mean" in s and "se" in s:
        if math.isnan(n):
            return math.nan, math.nan, (), "SE reported without n", ()
        return s["mean"], s["se"] * math.sqrt(n), ("SD from SE",), "", ("mean", "se")
    if "median" in s and (("q1" in s and "q3" in s) or ("min" in s and "max" in s)):
        conv = conv_fivenum(
            min=s.get("min"),
            q1=s.get("q1"),
            median=s["median"],
            q3=s.get("q3"),
            max=s.get("max"),
            n=n if not math.isnan(n) else None,
        )
        reason = str(conv["reason"].iloc[0])
        if reason:
            return math.nan, math.nan, (), f"median not convertible to a mean ({reason})", ()
        how = "IQR" if "q1" in s else "range"
        return (
            float(conv["mean"].iloc[0]),
            float(conv["sd"].iloc[0]),
            (f"mean/SD from median/{how} (Luo/Wan/Shi)",),
            "",
            ("min", "q1", "median", "q3", "max"),
        )
    if "mean" in s:
        return math.nan, math.nan, (), "mean reported without SD or SE", ()
    if "median" in s:
        return math.nan, math.nan, (), "median reported without IQR or range", ()
    if "p" in s:
        return math.nan, math.nan, (), "only a p value reported", ()
    return math.nan, math.nan, (), "no usable summary statistics", ()


def _from_cell(cell: _Cell, basis: str) -> _Numbers:
    mean, sd, derived, reason, statistics = _mean_sd(cell)
    confidence, lines = cell.used(statistics)
    return _Numbers(
        basis=basis,
        mean=mean,
        sd=sd,
        n=cell.n,
        confidence=confidence,
        lines=lines,
        derived=derived,
        reason=reason,
        n_assumed=cell.n_assumed and not math.isnan(cell.n),
    )


def _count(cells: Cells, key: str, arm: str, tp: str) -> _Numbers:
    cell = cells.get((key, arm, "level", tp))
    if cell is None:
        return _Numbers(reason=f"no count for arm {arm!r} at {tp}")
    events, total = cell.stats.get("events", math.nan), cell.stats.get("total", math.nan)
    derived: tuple[str, ...] = ()
    assumed = False
    if math.isnan(total) and not math.isnan(cell.n):
        total, derived = cell.n, ("denominator: the arm's n (no total reported)",)
        assumed = cell.n_assumed
    reason = ""
    if math.isnan(events):
        reason = "only a p value reported" if "p" in cell.stats else "no event count reported"
    elif math.isnan(total):
        reason = "events reported without a denominator"
    elif assumed and "percent" in cell.stats:
        # A printed percentage that the arm's n cannot give means the denominator was another
        # population (e.g. safety by treatment received) whose size is not reported.
        shown = 100 * events / total
        if abs(shown - cell.stats["percent"]) > 0.5 + 1e-9:
            reason = (
                f"the printed {cell.stats['percent']:g}% does not fit {events:g} of the arm's "
                f"{total:g} ({shown:.1f}%): the denominator is another population whose size is "
                "not reported"
            )
    return _Numbers(
        basis="count",
        events=events,
        total=total,
        n=total,
        confidence=cell.used(("events", "total"))[0],
        lines=cell.used(("events", "total"))[1],
        derived=derived,
        reason=reason,
        n_assumed=assumed,
    )


def _change(cells: Cells, key: str, arm: str, tp: str) -> _Numbers:
    """Change from baseline within an arm: reported, else from baseline and follow-up levels."""
    reported = cells.get((key, arm, "change", tp))
    first: _Numbers | None = None
    if reported is not None:
        first = _from_cell(reported, "change")
        if not first.reason:
            return first
    follow, base = cells.get((key, arm, "level", tp)), cells.get((key, arm, "level", "baseline"))
    if follow is None or base is None:
        if first is not None:
            return first
        missing = "baseline" if base is None else f"follow-up at {tp}"
        return _Numbers(reason=f"no {missing} to compute a change from baseline")
    after, before = _from_cell(follow, "level"), _from_cell(base, "level")
    if after.reason or before.reason:
        return _Numbers(reason=after.reason or before.reason)
    return _Numbers(
        basis="pre-post",
        mean=after.mean,
        sd=after.sd,
        mean0=before.mean,
        sd0=before.sd,
        n=after.n if not math.isnan(after.n) else before.n,
        confidence=max(after.confidence, before.confidence, key=_RANK.__getitem__),
        lines=before.lines + after.lines,
        derived=before.derived + after.derived,
        n_assumed=after.n_assumed if not math.isnan(after.n) else before.n_assumed,
    )


def _level_or_change(cells: Cells, key: str, arm: str, tp: str, basis: str) -> _Numbers:
    cell = cells.get((key, arm, basis, tp))
    if cell is None:
        return _Numbers(reason=f"no {basis} for arm {arm!r} at {tp}")
    return _from_cell(cell, basis)


def _check_confidence(numbers: _Numbers, question: Question) -> _Numbers:
    allowed = CONFIDENCE_FILTERS[question.confidence][1]
    if not numbers.reason and numbers.confidence not in allowed:
        return replace(
            numbers,
            reason=f"numbers are {numbers.confidence}: excluded by the "
            f"confidence filter ({CONFIDENCE_FILTERS[question.confidence][0]})",
        )
    return numbers


def _at(
    cells: Cells, key: str, arm: str, control: str | None, tp: str, question: Question
) -> tuple[_Numbers, _Numbers | None]:
    """The treated arm's (and its control's) numbers at ``tp`` on one common basis."""
    if question.effect == "change":
        numbers = _count(cells, key, arm, tp) if question.binary else _change(cells, key, arm, tp)
        return _check_confidence(numbers, question), None
    assert control is not None
    if question.binary:
        pair = (_count(cells, key, arm, tp), _count(cells, key, control, tp))
    else:
        pair = (_Numbers(reason=f"no numbers for arm {arm!r} at {tp}"), _Numbers())
        for basis in ("change", "level"):  # changes where both arms report them, else levels
            if (key, arm, basis, tp) not in cells:
                continue
            pair = (
                _level_or_change(cells, key, arm, tp, basis),
                _level_or_change(cells, key, control, tp, basis),
            )
            if not pair[0].reason and not pair[1].reason:
                break
    return _check_confidence(pair[0], question), _check_confidence(pair[1], question)


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


def _pairs(arms: pd.DataFrame) -> dict[tuple[str, str], tuple[str, float] | str]:
    """Each treated arm's comparator: the arm it names in ``comparator``, else the study's only
    control arm. A study with several control arms and no comparator named gets a reason."""
    controls: dict[str, list[tuple[str, float]]] = {}
    n_of: dict[tuple[str, str], float] = {}
    for key, arm, group, n in zip(
        arms["citekey"], arms["arm"], arms["group"], arms["n"], strict=True
    ):
        size = math.nan if pd.isna(n) else float(n)
        n_of[(key, arm)] = size
        if group == "control":
            controls.setdefault(key, []).append((arm, size))
    named = arms["comparator"] if "comparator" in arms else pd.Series([None] * len(arms))
    out: dict[tuple[str, str], tuple[str, float] | str] = {}
    for key, arm, group, comparator in zip(
        arms["citekey"], arms["arm"], arms["group"], named, strict=True
    ):
        if group == "control":
            continue
        if isinstance(comparator, str) and comparator:
            out[(key, arm)] = (comparator, n_of.get((key, comparator), math.nan))
        elif len(controls.get(key, ())) == 1:
            out[(key, arm)] = controls[key][0]
        elif controls.get(key):
            out[(key, arm)] = (
                f"{len(controls[key])} control arms and no comparator named in data/arms.csv"
            )
    return out


def effects(data: Dataset, question: Question) -> pd.DataFrame:
    """One row per study arm in the question's groups: its effect, or why it has none.

    Rows with ``included`` False carry a ``reason`` (not reported, filtered out, no SD, ...): they
    are never dropped, so a view can show every study and why it is or is not in the plot.
    ``n_assumed`` is True where the visit's n is not reported and the arm's size stands in;
    ``visit`` is the timepoint as shown (an unstated end of follow-up is placed at the study's
    ``follow_up`` when the registry gives one). A control arm shared by several comparisons in
    the analysis has its n (and events) split between them (``derived`` says so).
    """
    outcomes = data.outcomes[data.outcomes["outcome"] == question.outcome]
    clinical = data.clinical_studies.set_index("citekey")
    # A planned arm size is not a count of patients: it never becomes an n or a variance.
    arms = data.clinical_arms
    planned = arms["n_basis"] == PLANNED
    cells = _cells(outcomes, set(zip(arms["citekey"][planned], arms["arm"][planned], strict=True)))
    follow = clinical["follow_up_months"]
    tp_months = dict(zip(outcomes["timepoint"], outcomes["timepoint_months"], strict=True))
    months: dict[tuple[str, str], float] = {}
    timepoints: dict[tuple[str, str], set[str]] = {}
    for key, arm, _quantity, tp in cells:
        if tp != "baseline":
            timepoints.setdefault((key, arm), set()).add(tp)
            at = float(tp_months[tp])
            if tp == "end" and key in follow.index:
                at = float(follow.loc[key])  # NaN when the registry gives no follow_up
            months[(key, tp)] = at
    pairs = _pairs(arms)

    rows: list[dict[str, object]] = []
    chosen: list[tuple[dict[str, object], _Numbers, _Numbers | None]] = []
    for key, arm, group, arm_n in zip(
        arms["citekey"], arms["arm"], arms["group"], arms["n"], strict=True
    ):
        if group not in question.groups or (question.effect == "control" and group == "control"):
            continue
        study = clinical.loc[key]
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
            treated, ctrl = _at(cells, key, arm, control[0] if control else None, tp, question)
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
    frame = pd.DataFrame.from_records(rows, columns=list(EFFECT_COLUMNS))
    for column in (
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
    ):
        frame[column] = frame[column].astype(float)
    frame["included"] = frame["included"].astype(bool)
    frame["n_assumed"] = frame["n_assumed"].astype(bool)
    order = {g: i for i, g in enumerate(COMPARED_GROUPS)}
    frame = frame.sort_values(
        ["group", "year", "label", "arm"], key=lambda c: c.map(order) if c.name == "group" else c
    )
    return frame.reset_index(drop=True)


def _split_shared(
    chosen: list[tuple[dict[str, object], _Numbers, _Numbers | None]],
) -> list[tuple[dict[str, object], _Numbers, _Numbers | None]]:
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


def _base_row(key: str, study: pd.Series, group: str, arm: str, arm_n: object) -> dict[str, object]:
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
        "sources": "",
        "sd1i": math.nan,
        "sd2i": math.nan,
    }


def _filter_reason(study: pd.Series, question: Question, has_control: bool) -> str:
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
    chosen: list[tuple[dict[str, object], _Numbers, _Numbers | None]], question: Question
) -> list[dict[str, object]]:
    """Effect sizes for every chosen arm in one vectorised escalc call per measure."""
    rows = []
    ready: list[tuple[dict[str, object], _Numbers, _Numbers | None]] = []
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
        lines = sorted({line for x in numbers for line in x.lines})
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
                "confidence": max((x.confidence for x in numbers), key=_RANK.__getitem__),
                "n_assumed": assumed,
                "sd1i": treated.sd if treated.basis == "pre-post" else math.nan,
                "sd2i": treated.sd0 if treated.basis == "pre-post" else math.nan,
                "derived": "; ".join(dict.fromkeys(derived)),
                "included": not reason and math.isfinite(yi) and math.isfinite(vi),
                "reason": reason,
                "sources": "data/outcomes.csv:" + ",".join(map(str, lines)),
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


# --- pooling ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pooled:
    """Per-group pooled results, the test for subgroup differences and the safeguards.

    ``overall`` is None unless ``pool(..., overall=True)``: it then pools the cell-therapy arms
    only and ``overall_label`` says what that average is. ``subgroups.reliable`` /
    ``subgroups.reason`` say whether the test may be read as evidence of a difference.
    ``ri_sensitivity`` (within-arm changes computed from levels only) has the group results at
    the correlations of :data:`RI_SENSITIVITY` beside the chosen one; ``ri_flip`` is True when
    a conclusion changes with the correlation. ``notes`` are sentences a view shows with the
    result (mixed visits, Knapp-Hartung edge cases, assumed n).
    """

    question: Question
    method: str
    test: str
    effects: pd.DataFrame
    groups: dict[str, RMAResult | None]
    subgroups: SubgroupResult | None
    overall: RMAResult | None
    overall_label: str = ""
    ri_sensitivity: pd.DataFrame | None = None
    ri_flip: bool = False
    notes: tuple[str, ...] = ()

    @property
    def included(self) -> pd.DataFrame:
        return self.effects[self.effects["included"]]


OVERALL_LABEL = (
    "Average across cell therapies (different interventions pooled; control and G-CSF-alone "
    "arms never included): not an estimate of any one therapy"
)
_PRE_POST = "baseline and follow-up levels"


def pool(
    effects_frame: pd.DataFrame,
    question: Question,
    method: str = "REML",
    test: str = "z",
    tau2: str | None = None,
    overall: bool = False,
) -> Pooled:
    """Pool the included effects per cell group with :func:`evidence.meta.rma` ("subtotals
    only", as Cochrane advises when the subgroups are different interventions).

    A group with no included effect maps to None; the subgroup test needs two groups with at
    least one study each. ``test="z"``: RevMan's test (separate tau^2); ``"knha"``/``"adhoc"``:
    metafor's moderator F test. ``tau2`` overrides the test's convention ("separate" or
    "common"). ``overall=True`` adds an across-therapy average of the cell-therapy arms only.
    """
    _one_of("method", method, METHODS)
    _one_of("test", test, POOL_TESTS)
    included = effects_frame[effects_frame["included"]]
    groups = _fit_groups(included, question.groups, method, test)
    sub = _difference(included, groups, question, method, test, tau2)
    overall_result = None
    if overall:
        cells = included[included["group"].isin(CELL_THERAPY_GROUPS)]
        if len(cells):
            overall_result = rma(
                cells["yi"].to_numpy(), cells["vi"].to_numpy(), method=method, test=test
            )
    ri_frame, flip, ri_notes = _ri_sensitivity(included, groups, question, method, test, sub)
    notes = (
        *_visit_notes(included),
        *_knha_notes(included, groups, question, method, test),
        *_n_notes(included),
        *ri_notes,
    )
    return Pooled(
        question,
        method,
        test,
        effects_frame,
        groups,
        sub,
        overall_result,
        OVERALL_LABEL if overall_result is not None else "",
        ri_frame,
        flip,
        tuple(notes),
    )


def _fit_groups(
    included: pd.DataFrame, names: Iterable[str], method: str, test: str
) -> dict[str, RMAResult | None]:
    groups: dict[str, RMAResult | None] = {}
    for group in names:
        part = included[included["group"] == group]
        groups[group] = (
            rma(part["yi"].to_numpy(), part["vi"].to_numpy(), method=method, test=test)
            if len(part)
            else None
        )
    return groups


def _difference(
    included: pd.DataFrame,
    groups: dict[str, RMAResult | None],
    question: Question,
    method: str,
    test: str,
    tau2: str | None,
) -> SubgroupResult | None:
    present = [g for g, r in groups.items() if r is not None]
    if len(present) < 2:
        return None
    yi, vi, g = (included[c].to_numpy() for c in ("yi", "vi", "group"))
    if tau2 is None:
        sub = difference_test(yi, vi, g, method=method, test=test)
    else:
        sub = subgroups(yi, vi, g, method=method, test=test, tau2=tau2)
    reasons = [sub.reason] if sub.reason else []
    assumed = [
        grp
        for grp in present
        if (included.loc[included["group"] == grp, "basis"] == _PRE_POST).all()
    ]
    if question.effect == "change" and assumed:
        reasons.append(
            f"{', '.join(assumed)} {'rests' if len(assumed) == 1 else 'rest'} only on "
            "within-arm changes whose variance uses an assumed pre-post correlation"
        )
    if reasons:
        sub = replace(sub, reliable=False, reason="; ".join(reasons))
    return sub


def _conclusion(lb: float, ub: float, null: float) -> str:
    if not (math.isfinite(lb) and math.isfinite(ub)):
        return "not estimable"
    if lb > null:
        return "above no change" if null == 0 else "above the null"
    if ub < null:
        return "below no change" if null == 0 else "below the null"
    return "includes no change" if null == 0 else "includes the null"


def _ri_sensitivity(
    included: pd.DataFrame,
    groups: dict[str, RMAResult | None],
    question: Question,
    method: str,
    test: str,
    sub: SubgroupResult | None,
) -> tuple[pd.DataFrame | None, bool, list[str]]:
    """Re-pool a within-arm analysis at r = 0.2 and 0.8 (only the variances of changes computed
    from levels depend on r: MC's vi = (sd1^2 + sd2^2 - 2 r sd1 sd2) / n)."""
    pre = included["basis"] == _PRE_POST
    if question.effect != "change" or question.binary or not pre.any() or "sd1i" not in included:
        return None, False, []
    records = []
    chosen = float(question.ri)
    for r in sorted({chosen, *RI_SENSITIVITY}):
        frame = included
        if r != chosen:
            sd1, sd2, n = (included[c].to_numpy() for c in ("sd1i", "sd2i", "n"))
            vi = np.where(pre, (sd1**2 + sd2**2 - 2 * r * sd1 * sd2) / n, included["vi"])
            frame = included.assign(vi=vi)
        fits = groups if r == chosen else _fit_groups(frame, groups, method, test)
        for group, res in fits.items():
            if res is None:
                continue
            records.append(
                {
                    "ri": r,
                    "group": group,
                    "estimate": res.estimate,
                    "ci_lb": res.ci_lb,
                    "ci_ub": res.ci_ub,
                    "conclusion": _conclusion(res.ci_lb, res.ci_ub, 0.0),
                }
            )
    table = pd.DataFrame.from_records(records)
    flips = []
    for group, rows in table.groupby("group", sort=False):
        seen = dict(zip(rows["ri"], rows["conclusion"], strict=True))
        if len(set(seen.values())) > 1:
            flips.append(f"{group}: " + ", ".join(f"r = {r:g} {c}" for r, c in seen.items()))
    if flips:
        note = (
            "The conclusion depends on the assumed pre-post correlation ("
            + "; ".join(flips)
            + "): read these within-arm results as not established."
        )
    else:
        note = (
            "The within-arm conclusions hold at r = "
            + ", ".join(f"{r:g}" for r in sorted({chosen, *RI_SENSITIVITY}))
            + " (pre-post correlation assumed where changes come from levels)."
        )
    return table, bool(flips), [note]


def _visit_notes(included: pd.DataFrame) -> list[str]:
    notes = []
    for group, rows in included.groupby("group", sort=False):
        at = pd.to_numeric(rows["timepoint_months"], errors="coerce").dropna()
        if len(at) > 1 and at.max() - at.min() > MIXED_VISITS_MONTHS:
            shown = rows.get("visit", rows["timepoint"])
            visits = ", ".join(dict.fromkeys(str(v) for v in shown))
            notes.append(
                f"{group} pools visits {at.max() - at.min():.0f} months apart ({visits}): "
                "early and late effects are mixed; choose a time window to separate them."
            )
    return notes


def _n_notes(included: pd.DataFrame) -> list[str]:
    flag = included.get("n_assumed", pd.Series(False, index=included.index))
    assumed = included[flag.astype("boolean").fillna(False).astype(bool)]
    if assumed.empty:
        return []
    k = len(assumed)
    return [
        f"For {k} of {len(included)} study {'arm' if len(included) == 1 else 'arms'} the number "
        "of patients at the visit is not reported and the arm's size stands in (marked in the "
        "plot); if patients dropped out, their variance is understated."
    ]


#: A Knapp-Hartung interval this many times wider than the Wald interval is flagged.
KNHA_WIDE = 5.0


def _knha_notes(
    included: pd.DataFrame,
    groups: dict[str, RMAResult | None],
    question: Question,
    method: str,
    test: str,
) -> list[str]:
    """Knapp-Hartung edge cases that look like certainty or like information: a zero-width
    interval (identical estimates give a scale factor of 0) and an interval many times wider
    than the Wald one (t with k - 1 = 1 df)."""
    if test not in ("knha", "adhoc"):
        return []
    notes = []
    for group, res in groups.items():
        if res is None or res.k < 2:
            continue
        part = included[included["group"] == group]
        wald = rma(part["yi"].to_numpy(), part["vi"].to_numpy(), method=method, test="z")
        width, wald_width = res.ci_ub - res.ci_lb, wald.ci_ub - wald.ci_lb
        if width <= 1e-9 * max(1.0, abs(res.estimate)):
            notes.append(
                f"{group}: the Knapp-Hartung interval has zero width because the {res.k} "
                "estimates are identical (its scale factor is 0); that is not certainty. The "
                "ad hoc variant (test 'adhoc', scale factor at least 1) or the z interval "
                "gives a usable width."
            )
        elif wald_width > 0 and width / wald_width >= KNHA_WIDE:
            notes.append(
                f"{group}: with k = {res.k} the Knapp-Hartung interval is "
                f"{width / wald_width:.0f} times as wide as the z interval (t with {res.k - 1} "
                "df): read it as 'too few studies to estimate', not as evidence either way."
            )
    return notes


# --- reading the result -----------------------------------------------------------------------

MEASURE_LABELS = {
    "MC": "mean change from baseline",
    "MD": "mean difference (cells minus control)",
    "PLO": "proportion of patients with the event",
    "OR": "odds ratio (cells versus control)",
    "RR": "risk ratio (cells versus control)",
    "RD": "risk difference (cells minus control)",
}


def effect_title(effect: str, outcome: str) -> str:
    """What an effect type shows for an outcome: a within-arm effect of a counted outcome is the
    proportion of patients with the event, not a change from baseline."""
    if effect == "control":
        return "cells versus control"
    if outcome in BINARY_OUTCOMES:
        return "patients with the event within arms (no control)"
    return "change from baseline within arms"


#: Value of "no effect" on the display scale of each measure.
NULL_VALUE = {"MC": 0.0, "MD": 0.0, "RD": 0.0, "OR": 1.0, "RR": 1.0, "PLO": math.nan}


def to_display(measure: str, values: np.ndarray | float) -> np.ndarray:
    """Move values from the analysis scale to the scale people read (ratios, proportions)."""
    values = np.asarray(values, dtype=float)
    if measure in ("OR", "RR"):
        return np.exp(values)
    if measure == "PLO":
        return 1 / (1 + np.exp(-values))
    return values


def unit_of(outcome: str) -> str:
    """The unit effects of ``outcome`` are expressed in (canonical; counts have none)."""
    return "" if outcome in BINARY_OUTCOMES else canonical_unit(outcome)


def _fmt(x: float) -> str:
    return "NA" if not math.isfinite(x) else f"{x:.2f}".replace("-", "\u2212")


def summary(pooled: Pooled) -> list[str]:
    """Plain-language sentences: what each group rests on and what the comparison can show."""
    q = pooled.question
    frame = pooled.effects
    what = OUTCOME_LABELS[q.outcome]
    measure = q.measure
    lines = []
    for group in q.groups:
        rows = frame[frame["group"] == group]
        used = rows[rows["included"]]
        n_studies = rows["citekey"].nunique()
        patients = int(used["n"].fillna(0).sum() + used["n_control"].fillna(0).sum())
        result = pooled.groups.get(group)
        if result is None:
            reasons = sorted(set(rows["reason"]))
            why = "; ".join(reasons[:3]) + ("; and other reasons" if len(reasons) > 3 else "")
            lines.append(
                f"{group}: no usable {what} numbers. "
                + _describe(rows)
                + (f" Why: {why.rstrip('.')}." if why else "")
            )
            continue
        est, lb, ub = (
            float(to_display(measure, v)) for v in (result.estimate, result.ci_lb, result.ci_ub)
        )
        k = result.k
        lines.append(
            f"{group}: {k} {'study arm' if k == 1 else 'study arms'} from "
            f"{used['citekey'].nunique()} of {n_studies} studies, {patients} patients; "
            f"pooled {MEASURE_LABELS[measure]} {_fmt(est)} (95% CI {_fmt(lb)} to {_fmt(ub)})"
            + (f", I\u00b2 {result.i2:.0f}%" if k > 1 else "")
            + "."
        )
    if pooled.overall is not None:
        r = pooled.overall
        est, lb, ub = (float(to_display(measure, v)) for v in (r.estimate, r.ci_lb, r.ci_ub))
        lines.append(
            f"{pooled.overall_label}: {_fmt(est)} (95% CI {_fmt(lb)} to {_fmt(ub)}), "
            f"{r.k} study arms."
        )
    test_line = subgroup_sentence(pooled)
    if test_line:
        lines.append(test_line)
    lines.extend(pooled.notes)
    lines.append(_caveat(pooled))
    return lines


def subgroup_sentence(pooled: Pooled) -> str:
    """The test for subgroup differences in words: what it may show first, its numbers after.
    An unreliable test is reported with its reason and never as a difference."""
    sub = pooled.subgroups
    if sub is None:
        return ""
    if not math.isfinite(sub.q_between):
        return f"Whether the cell groups differ cannot be tested here: {sub.reason}."
    numbers = _test_numbers(sub)
    if not sub.reliable:
        return (
            f"Whether the cell groups differ cannot be judged from these data: {sub.reason}. "
            f"The test ({numbers}) is shown for completeness only and is not evidence of a "
            "difference or of its absence."
        )
    verdict = (
        "the groups' pooled results differ by more than chance would explain"
        if sub.q_between_pval < 0.05
        else "no difference between the groups is shown (which is not evidence that they are alike)"
    )
    return (
        f"Across studies (an indirect comparison), {verdict}: test for subgroup differences "
        f"{numbers}."
    )


def _test_numbers(sub: SubgroupResult) -> str:
    if math.isfinite(sub.q_between_df2):
        stat = f"F({sub.q_between_df:g}, {sub.q_between_df2:g}) = {sub.q_between:.2f}"
    else:
        stat = f"Q = {sub.q_between:.2f}, df = {sub.q_between_df:g}"
    p = sub.q_between_pval
    return f"{stat}, p {'< 0.001' if p < 0.001 else f'= {p:.3g}'}"


def _describe(rows: pd.DataFrame) -> str:
    """'The group has 1 study (single-arm, 5 patients; descriptors seed-only).'"""
    studies = rows.drop_duplicates("citekey")
    if studies.empty:
        return "The dataset has no study of this group."
    designs = ", ".join(f"{n} {d}" for d, n in studies["design"].value_counts().items())
    patients = rows["n"].sum()
    seed = int((studies["study_confidence"] == "seed-only").sum())
    k = len(studies)
    return (
        f"The dataset has {k} {'study' if k == 1 else 'studies'} of this group ({designs}; "
        f"{int(patients)} patients in its arms"
        + (f"; {seed} known only from the source article" if seed else "")
        + ")."
    )


def _caveat(pooled: Pooled) -> str:
    q = pooled.question
    frame = pooled.effects
    parts = []
    if q.effect == "change":
        parts.append(
            "Changes from baseline within arms have no control: they mix the treatment with "
            "natural course, regression to the mean and co-treatment."
        )
    parts.append(
        "Groups come from different studies (different patients, designs, doses and timing), "
        "so a difference between groups is an indirect, across-study comparison, not evidence "
        "that one cell type works better than another."
    )
    combo = frame[frame["group"] == "MSC+HSC"]
    if "MSC+HSC" in q.groups and not combo["included"].any():
        parts.append(
            "No study in the dataset gives usable outcome numbers for the MSC+HSC combination, so "
            "the claim that the combination beats either cell type alone cannot be tested here."
        )
    return " ".join(parts)
