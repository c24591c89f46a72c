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
from evidence.meta import RMAResult, SubgroupResult, rma, subgroups
from evidence.meta.estimators import METHODS
from evidence.schema import BINARY_OUTCOMES, CONFIDENCES, CONTROLLED_DESIGNS
from evidence.units import canonical_unit
from evidence.vocab import (
    ARM_GROUPS,
    DEFAULT_CONFIDENCE,
    DEFAULT_GROUPS,
    DEFAULT_OUTCOME,
    OUTCOME_RECORDS,
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
    "seed-only": ("all, seed-only included", CONFIDENCES),
}
POPULATION_FILTERS = {
    "all": ("all populations", None),
    "decompensated": ("decompensated cirrhosis only", ("decompensated cirrhosis",)),
}
BINARY_MEASURES = ("OR", "RR", "RD")
TESTS = ("z", "knha")
COMPARED_GROUPS = ARM_GROUPS


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
    "n",
    "n_control",
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

    def add(self, statistic: str, value: float, confidence: str, line: int, n: float) -> None:
        self.stats[statistic] = value
        self.confidences[statistic] = confidence
        self.line_of[statistic] = line
        if not math.isnan(n):
            self.n = n if math.isnan(self.n) else min(self.n, n)

    def used(self, statistics: Iterable[str]) -> tuple[str, tuple[int, ...]]:
        """The weakest confidence and the source lines of the statistics a number rests on."""
        present = [s for s in statistics if s in self.stats]
        confidence = max(
            (self.confidences[s] for s in present), key=_RANK.__getitem__, default="verified"
        )
        return confidence, tuple(self.line_of[s] for s in present)


Cells = dict[tuple[str, str, str, str], _Cell]


def _cells(outcomes: pd.DataFrame) -> Cells:
    cells: Cells = {}
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
    )
    for key, arm, quantity, tp, stat, value, conf, line, n in zip(
        *(outcomes[c].to_numpy() for c in columns), strict=True
    ):
        cell = cells.setdefault((key, arm, quantity, tp), _Cell())
        cell.add(stat, float(value), conf, int(line), math.nan if pd.isna(n) else float(n))
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
    )


def _count(cells: Cells, key: str, arm: str, tp: str) -> _Numbers:
    cell = cells.get((key, arm, "level", tp))
    if cell is None:
        return _Numbers(reason=f"no count for arm {arm!r} at {tp}")
    events, total = cell.stats.get("events", math.nan), cell.stats.get("total", math.nan)
    derived: tuple[str, ...] = ()
    if math.isnan(total) and not math.isnan(cell.n):
        total, derived = cell.n, ("denominator: the arm's n (no total reported)",)
    reason = ""
    if math.isnan(events):
        reason = "only a p value reported" if "p" in cell.stats else "no event count reported"
    elif math.isnan(total):
        reason = "events reported without a denominator"
    return _Numbers(
        basis="count",
        events=events,
        total=total,
        n=total,
        confidence=cell.used(("events", "total"))[0],
        lines=cell.used(("events", "total"))[1],
        derived=derived,
        reason=reason,
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
    if math.isnan(months):  # 'end' of follow-up, visit not stated: only the latest window
        return window == "latest"
    return low < months <= high


def _latest_first(months: float) -> float:
    return -math.inf if math.isnan(months) else -months


def effects(data: Dataset, question: Question) -> pd.DataFrame:
    """One row per study arm in the question's groups: its effect, or why it has none.

    Rows with ``included`` False carry a ``reason`` (not reported, filtered out, no SD, ...): they
    are never dropped, so a view can show every study and why it is or is not in the plot.
    """
    studies = data.studies.set_index("citekey")
    outcomes = data.outcomes[data.outcomes["outcome"] == question.outcome]
    cells = _cells(outcomes)
    months = dict(zip(outcomes["timepoint"], outcomes["timepoint_months"], strict=True))
    timepoints: dict[tuple[str, str], set[str]] = {}
    for key, arm, _quantity, tp in cells:
        if tp != "baseline":
            timepoints.setdefault((key, arm), set()).add(tp)

    clinical = studies[(studies["kind"] == "study") & (studies["species"] == "human")]
    arms = data.arms[data.arms["citekey"].isin(clinical.index)].copy()
    # A planned arm size is not a count of treated patients.
    arms["n"] = arms["n"].mask(arms["n_basis"] == "planned")
    controls: dict[str, tuple[str, float]] = {}
    for key, arm, group, n in zip(
        arms["citekey"], arms["arm"], arms["group"], arms["n"], strict=True
    ):
        if group == "control":
            controls.setdefault(key, (arm, math.nan if pd.isna(n) else float(n)))

    rows: list[dict[str, object]] = []
    chosen: list[tuple[dict[str, object], _Numbers, _Numbers | None]] = []
    for key, arm, group, arm_n in zip(
        arms["citekey"], arms["arm"], arms["group"], arms["n"], strict=True
    ):
        if group not in question.groups or (question.effect == "control" and group == "control"):
            continue
        study = clinical.loc[key]
        row = _base_row(key, study, group, arm, arm_n)
        control = controls.get(key)
        if control is not None and question.effect == "control":
            row["comparator"], row["n_control"] = control
        reason = _filter_reason(study, question, control is not None)
        reported = sorted(timepoints.get((key, arm), ()), key=lambda t: _latest_first(months[t]))
        window = [t for t in reported if _in_window(months[t], question.window)]
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
            candidate = (row | {"timepoint": tp, "timepoint_months": months[tp]}, treated, ctrl)
            first = first or candidate
            if not treated.reason and (ctrl is None or not ctrl.reason):
                first = candidate
                break
        chosen.append(first)

    rows.extend(_compute(chosen, question))
    frame = pd.DataFrame.from_records(rows, columns=list(EFFECT_COLUMNS))
    for column in ("yi", "vi", "sei", "ci_lb", "ci_ub", "n", "n_control", "timepoint_months"):
        frame[column] = frame[column].astype(float)
    frame["included"] = frame["included"].astype(bool)
    order = {g: i for i, g in enumerate(COMPARED_GROUPS)}
    frame = frame.sort_values(
        ["group", "year", "label", "arm"], key=lambda c: c.map(order) if c.name == "group" else c
    )
    return frame.reset_index(drop=True)


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
        "n": math.nan if pd.isna(arm_n) else float(arm_n),
        "n_control": math.nan,
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
    """Per-group pooled results, the test for subgroup differences and the overall result."""

    question: Question
    method: str
    test: str
    effects: pd.DataFrame
    groups: dict[str, RMAResult | None]
    subgroups: SubgroupResult | None
    overall: RMAResult | None

    @property
    def included(self) -> pd.DataFrame:
        return self.effects[self.effects["included"]]


def pool(
    effects_frame: pd.DataFrame,
    question: Question,
    method: str = "REML",
    test: str = "z",
    tau2: str = "separate",
) -> Pooled:
    """Pool the included effects per cell group (and overall) with :func:`evidence.meta.rma`.

    A group with no included effect maps to None; the subgroup test needs two groups with at
    least one study each.
    """
    _one_of("method", method, METHODS)
    _one_of("test", test, TESTS)
    included = effects_frame[effects_frame["included"]]
    groups: dict[str, RMAResult | None] = {}
    for group in question.groups:
        part = included[included["group"] == group]
        groups[group] = (
            rma(part["yi"].to_numpy(), part["vi"].to_numpy(), method=method, test=test)
            if len(part)
            else None
        )
    present = [g for g, r in groups.items() if r is not None]
    sub = None
    if len(present) >= 2:
        sub = subgroups(
            included["yi"].to_numpy(),
            included["vi"].to_numpy(),
            included["group"].to_numpy(),
            method=method,
            test=test,
            tau2=tau2,
        )
    overall = (
        rma(included["yi"].to_numpy(), included["vi"].to_numpy(), method=method, test=test)
        if len(included)
        else None
    )
    return Pooled(question, method, test, effects_frame, groups, sub, overall)


# --- reading the result -----------------------------------------------------------------------

MEASURE_LABELS = {
    "MC": "mean change from baseline",
    "MD": "mean difference (cells minus control)",
    "PLO": "proportion of patients with the event",
    "OR": "odds ratio (cells versus control)",
    "RR": "risk ratio (cells versus control)",
    "RD": "risk difference (cells minus control)",
}
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
    sub = pooled.subgroups
    if sub is not None and math.isfinite(sub.q_between):
        lines.append(
            f"Test for subgroup differences: Q = {sub.q_between:.2f}, df = "
            f"{sub.q_between_df:g}, p = {sub.q_between_pval:.3g}."
        )
    lines.append(_caveat(pooled))
    return lines


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
