"""An arm's numbers from the outcome rows: cells per arm, quantity and timepoint; a change from
baseline, a level or a count; the weakest confidence and the source lines; each treated arm's
comparator.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Set
from dataclasses import dataclass, field, replace

import pandas as pd

from evidence.analysis.question import (
    CONFIDENCE_FILTERS,
    Question,
)
from evidence.effects import conv_fivenum
from evidence.schema import CONFIDENCES

#: Confidence levels from strongest (0) to weakest.
CONFIDENCE_RANK = {c: i for i, c in enumerate(CONFIDENCES)}


# --- an arm's numbers -------------------------------------------------------------------------


@dataclass
class Cell:
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
            (self.confidences[s] for s in present),
            key=CONFIDENCE_RANK.__getitem__,
            default="verified",
        )
        return confidence, tuple(self.line_of[s] for s in present)


Cells = dict[tuple[str, str, str, str], Cell]


def group_cells(outcomes: pd.DataFrame, planned: Set[tuple[str, str]]) -> Cells:
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
        cell = cells.setdefault((key, arm, quantity, tp), Cell())
        reported = bool(reported)
        if pd.isna(n) or (not reported and (key, arm) in planned):
            n = math.nan
        cell.add(stat, float(value), conf, int(line), float(n), reported)
    return cells


@dataclass(frozen=True)
class Numbers:
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


def _mean_sd(cell: Cell) -> tuple[float, float, tuple[str, ...], str, tuple[str, ...]]:
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


def _from_cell(cell: Cell, basis: str) -> Numbers:
    mean, sd, derived, reason, statistics = _mean_sd(cell)
    confidence, lines = cell.used(statistics)
    return Numbers(
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


def _count(cells: Cells, key: str, arm: str, tp: str) -> Numbers:
    cell = cells.get((key, arm, "level", tp))
    if cell is None:
        return Numbers(reason=f"no count for arm {arm!r} at {tp}")
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
    return Numbers(
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


def _change(cells: Cells, key: str, arm: str, tp: str) -> Numbers:
    """Change from baseline within an arm: reported, else from baseline and follow-up levels."""
    reported = cells.get((key, arm, "change", tp))
    first: Numbers | None = None
    if reported is not None:
        first = _from_cell(reported, "change")
        if not first.reason:
            return first
    follow, base = cells.get((key, arm, "level", tp)), cells.get((key, arm, "level", "baseline"))
    if follow is None or base is None:
        if first is not None:
            return first
        missing = "baseline" if base is None else f"follow-up at {tp}"
        return Numbers(reason=f"no {missing} to compute a change from baseline")
    after, before = _from_cell(follow, "level"), _from_cell(base, "level")
    if after.reason or before.reason:
        return Numbers(reason=after.reason or before.reason)
    return Numbers(
        basis="pre-post",
        mean=after.mean,
        sd=after.sd,
        mean0=before.mean,
        sd0=before.sd,
        n=after.n if not math.isnan(after.n) else before.n,
        confidence=max(after.confidence, before.confidence, key=CONFIDENCE_RANK.__getitem__),
        lines=before.lines + after.lines,
        derived=before.derived + after.derived,
        n_assumed=after.n_assumed if not math.isnan(after.n) else before.n_assumed,
    )


def _level_or_change(cells: Cells, key: str, arm: str, tp: str, basis: str) -> Numbers:
    cell = cells.get((key, arm, basis, tp))
    if cell is None:
        return Numbers(reason=f"no {basis} for arm {arm!r} at {tp}")
    return _from_cell(cell, basis)


def _check_confidence(numbers: Numbers, question: Question) -> Numbers:
    allowed = CONFIDENCE_FILTERS[question.confidence][1]
    if not numbers.reason and numbers.confidence not in allowed:
        return replace(
            numbers,
            reason=f"numbers are {numbers.confidence}: excluded by the "
            f"confidence filter ({CONFIDENCE_FILTERS[question.confidence][0]})",
        )
    return numbers


def numbers_at(
    cells: Cells, key: str, arm: str, control: str | None, tp: str, question: Question
) -> tuple[Numbers, Numbers | None]:
    """The treated arm's (and its control's) numbers at ``tp`` on one common basis."""
    if question.effect == "change":
        numbers = _count(cells, key, arm, tp) if question.binary else _change(cells, key, arm, tp)
        return _check_confidence(numbers, question), None
    assert control is not None
    if question.binary:
        pair = (_count(cells, key, arm, tp), _count(cells, key, control, tp))
    else:
        pair = (Numbers(reason=f"no numbers for arm {arm!r} at {tp}"), Numbers())
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


def comparators(arms: pd.DataFrame) -> dict[tuple[str, str], tuple[str, float] | str]:
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
