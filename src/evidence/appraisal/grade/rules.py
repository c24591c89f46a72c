"""GRADE's rules as pure functions of an :class:`Evidence` record: start, the five
reasons to rate down, the reasons to rate up, and :func:`rate` with the author's overrides.

Thresholds are module constants; their sources and rationale are in docs/appraisal.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evidence.appraisal.schema import (
    DOWN_RATINGS,
    GRADE_STEPS,
    NO_INFORMATION,
    UP_RATINGS,
)

if TYPE_CHECKING:
    pass


# --- thresholds (sources and rationale: docs/appraisal.md) ---------------------------------------

#: Inconsistency: I2 above this is "serious" (Cochrane Handbook 10.10.2: 50-90% may be substantial).
I2_SERIOUS = 50.0
#: ... and above this, with a prediction interval that crosses no effect, "very serious".
I2_VERY_SERIOUS = 75.0
#: Imprecision, optimal information size rule of thumb (GRADE guidelines 6, Guyatt et al. 2011):
#: fewer than 400 patients for a continuous outcome, fewer than 300 events for a binary one.
OIS_PATIENTS = 400
OIS_EVENTS = 300
#: A within-arm proportion (events per patient, no comparator) is imprecise when its 95% CI is
#: wider than this many percentage points (our choice; there is no null to cross).
PROPORTION_CI_WIDTH = 0.20
#: Small-study effects: Egger's test only from this many studies (Cochrane Handbook ch. 13),
#: rated down when its p value is below EGGER_ALPHA.
EGGER_MIN_K = 10
EGGER_ALPHA = 0.10
#: Indirectness: rated down when at least this share of the weight comes from populations that
#: are not decompensated cirrhosis (compensated disease, liver failure, ACLF, animals).
INDIRECT_SHARE = 50.0
INDIRECT_POPULATIONS = ("compensated cirrhosis", "liver failure", "ACLF", "animal model")
UNCLEAR_POPULATIONS = ("cirrhosis (stage mixed or not stated)", "end-stage liver disease")
#: Risk-of-bias score per overall judgement; the weighted mean decides the step (see _rob_step).
ROB_SCORE = {
    "low": 0.0,
    "some concerns": 1.0,
    "moderate": 1.0,
    NO_INFORMATION: 1.0,
    "high": 2.0,
    "serious": 2.0,
    "critical": 3.0,
}
ROB_SERIOUS = 0.5
ROB_VERY_SERIOUS = 1.5

STEPS = tuple(GRADE_STEPS)
_LEVELS = {rating: i for i, rating in enumerate(DOWN_RATINGS)} | {
    rating: i for i, rating in enumerate(UP_RATINGS)
}
_START_SCORE = {"high": 4, "low": 2}
_CERTAINTY = {4: "high", 3: "moderate", 2: "low", 1: "very low"}


# --- the record the rules read ------------------------------------------------------------------


@dataclass(frozen=True)
class StudyEvidence:
    """One study's part in a pooled result."""

    citekey: str
    label: str
    design: str
    population: str
    weight: float  # percent of the pooled weight (summed over the study's arms)
    rob: str = NO_INFORMATION  # overall risk-of-bias judgement, or "not applicable"


@dataclass(frozen=True)
class Evidence:
    """What the rules need to know about one pooled result (analysis scale)."""

    outcome: str
    group: str
    effect: str  # "control" or "change"
    measure: str  # MD, MC, OR, RR, RD, PLO
    k: int
    n_patients: int
    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float = math.nan
    pi_ub: float = math.nan
    i2: float = math.nan
    events: float = math.nan
    egger_p: float = math.nan
    studies: tuple[StudyEvidence, ...] = ()

    @property
    def binary(self) -> bool:
        return self.measure in ("OR", "RR", "RD", "PLO")

    @property
    def null(self) -> float:
        """No effect on the analysis scale (log scale for ratios); NaN for a proportion."""
        return math.nan if self.measure == "PLO" else 0.0


@dataclass(frozen=True)
class Step:
    """One GRADE step: its rating, how many levels it moves, why, and who decided."""

    step: str
    rating: str
    levels: int  # levels rated down (rating-down steps) or up ("upgrade")
    reason: str
    by: str = "rule"  # "rule" or "author"


@dataclass(frozen=True)
class Rating:
    """The start, every step and the resulting certainty of one pooled result."""

    start: str
    start_reason: str
    steps: tuple[Step, ...]
    certainty: str
    score: int
    notes: tuple[str, ...] = field(default=())

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.step == name)


@dataclass(frozen=True)
class Override:
    """An author's rating of one step, with the reason kept in data/grade.csv."""

    rating: str
    reason: str
    source: str = ""
    line: int | None = None


# --- the rules ----------------------------------------------------------------------------------


def start(e: Evidence) -> tuple[str, str]:
    """GRADE's starting level and why."""
    if e.effect == "change":
        return "low", "within-arm change from baseline: uncontrolled before-after evidence"
    designs = sorted({s.design for s in e.studies})
    if designs and all(d == "RCT" for d in designs):
        return "high", "randomised comparisons only"
    return "low", "includes non-randomised comparisons (" + ", ".join(designs) + ")"


def _fmt(x: float, digits: int = 2) -> str:
    return "NA" if not math.isfinite(x) else f"{x:.{digits}f}"


def risk_of_bias(e: Evidence, start_level: str) -> Step:
    """Weighted mean of the studies' overall judgements (low 0, some concerns/moderate/no
    information 1, high/serious 2, critical 3). Evidence that starts low has already been
    rated down once for its design, so one point is subtracted before the thresholds."""
    name = "risk_of_bias"
    if e.effect == "change":
        return Step(
            name,
            "serious",
            1,
            "no control group: RoB 2 and ROBINS-I do not apply, and the change mixes the cells' "
            "effect with natural course, regression to the mean and co-treatment",
        )
    total = sum(s.weight for s in e.studies) or 1.0
    mean = sum(ROB_SCORE.get(s.rob, 1.0) * s.weight for s in e.studies) / total
    adjusted = max(mean - 1.0, 0.0) if start_level == "low" else mean
    levels = 2 if adjusted >= ROB_VERY_SERIOUS else 1 if adjusted >= ROB_SERIOUS else 0
    parts = ", ".join(f"{s.label} {s.rob} ({s.weight:.0f}%)" for s in e.studies)
    how = f"weighted mean score {mean:.2f}" + (
        f", {adjusted:.2f} after the design's own rating down" if start_level == "low" else ""
    )
    return Step(name, DOWN_RATINGS[levels], levels, f"{parts}; {how}")


def inconsistency(e: Evidence) -> Step:
    name = "inconsistency"
    if e.k < 2:
        return Step(
            name,
            "not serious",
            0,
            "single study: inconsistency cannot be judged (imprecision covers a lone study)",
        )
    null = e.null
    pi_known = math.isfinite(e.pi_lb) and math.isfinite(e.pi_ub) and math.isfinite(null)
    pi_crosses = pi_known and e.pi_lb < null < e.pi_ub
    ci_crosses = math.isfinite(null) and e.ci_lb <= null <= e.ci_ub
    i2 = e.i2 if math.isfinite(e.i2) else 0.0
    described = f"I\u00b2 = {i2:.0f}%" + (
        f"; 95% prediction interval {_fmt(e.pi_lb)} to {_fmt(e.pi_ub)}"
        + (" crosses no effect" if pi_crosses else " excludes no effect")
        if pi_known
        else ""
    )
    if i2 > I2_VERY_SERIOUS and pi_crosses:
        return Step(name, "very serious", 2, described)
    if i2 > I2_SERIOUS or (pi_crosses and not ci_crosses):
        return Step(name, "serious", 1, described)
    return Step(name, "not serious", 0, described)


def indirectness(e: Evidence) -> Step:
    name = "indirectness"
    total = sum(s.weight for s in e.studies) or 1.0
    indirect = [s for s in e.studies if s.population in INDIRECT_POPULATIONS]
    unclear = [s for s in e.studies if s.population in UNCLEAR_POPULATIONS]
    share = 100.0 * sum(s.weight for s in indirect) / total
    parts = []
    if indirect:
        parts.append(
            "not decompensated cirrhosis: "
            + ", ".join(f"{s.label} ({s.population}, {s.weight:.0f}%)" for s in indirect)
        )
    if unclear:
        parts.append("stage unclear: " + ", ".join(f"{s.label} ({s.population})" for s in unclear))
    text = "; ".join(parts) or "all studies in decompensated cirrhosis"
    if indirect and share >= INDIRECT_SHARE:
        return Step(name, "serious", 1, f"{share:.0f}% of the weight is indirect: {text}")
    return Step(name, "not serious", 0, text)


def imprecision(e: Evidence) -> Step:
    name = "imprecision"
    reasons = []
    levels = 0
    if e.measure == "PLO":
        width = _expit(e.ci_ub) - _expit(e.ci_lb)
        if width > PROPORTION_CI_WIDTH:
            levels += 1
            reasons.append(f"95% CI spans {100 * width:.0f} percentage points")
        if e.n_patients < OIS_PATIENTS:
            levels += 1
            reasons.append(f"{e.n_patients} patients (fewer than {OIS_PATIENTS})")
    else:
        if e.binary:
            events = e.events if math.isfinite(e.events) else 0
            if events < OIS_EVENTS:
                levels += 1
                reasons.append(
                    f"{events:.0f} events in {e.n_patients} patients (fewer than "
                    f"{OIS_EVENTS} events: optimal information size not met)"
                )
        elif e.n_patients < OIS_PATIENTS:
            levels += 1
            reasons.append(
                f"{e.n_patients} patients (fewer than {OIS_PATIENTS}: optimal information size "
                "not met)"
            )
        if e.ci_lb <= e.null <= e.ci_ub:
            levels += 1
            reasons.append("the 95% CI includes no effect")
    levels = min(levels, 2)
    text = "; ".join(reasons) or (
        f"{e.n_patients} patients and a 95% CI that excludes no effect"
        if e.measure != "PLO"
        else f"{e.n_patients} patients and a narrow 95% CI"
    )
    return Step(name, DOWN_RATINGS[levels], levels, text)


def publication_bias(e: Evidence) -> Step:
    name = "publication_bias"
    if e.k < EGGER_MIN_K:
        return Step(
            name,
            "not serious",
            0,
            f"not assessable: {e.k} {'study' if e.k == 1 else 'studies'} (Egger's test needs "
            f"at least {EGGER_MIN_K}); small-study effects cannot be excluded",
        )
    if math.isfinite(e.egger_p) and e.egger_p < EGGER_ALPHA:
        p_text = "p < 0.001" if e.egger_p < 0.001 else f"p = {e.egger_p:.3f}"
        return Step(name, "serious", 1, f"Egger's test {p_text} (< {EGGER_ALPHA})")
    return Step(name, "not serious", 0, f"Egger's test p = {_fmt(e.egger_p, 3)}")


def upgrade(e: Evidence) -> Step:
    return Step(
        "upgrade",
        "none",
        0,
        "the rules never rate up (large effect, dose-response and opposing confounding need an "
        "author's judgement: see data/grade.csv)",
    )


def rate(e: Evidence, overrides: Mapping[str, Override] | None = None) -> Rating:
    """Apply the rules, then the author's overrides, and return every step and the certainty."""
    overrides = overrides or {}
    level, why = start(e)
    ruled = [
        risk_of_bias(e, level),
        inconsistency(e),
        indirectness(e),
        imprecision(e),
        publication_bias(e),
        upgrade(e),
    ]
    steps = []
    for step in ruled:
        override = overrides.get(step.step)
        if override is None:
            steps.append(step)
            continue
        steps.append(
            Step(
                step.step,
                override.rating,
                _LEVELS[override.rating],
                f"author: {override.reason} (the rule said {step.rating}: {step.reason})",
                "author",
            )
        )
    down = sum(s.levels for s in steps if s.step != "upgrade")
    up = next(s.levels for s in steps if s.step == "upgrade")
    score = min(max(_START_SCORE[level] - down + up, 1), 4)
    return Rating(level, why, tuple(steps), _CERTAINTY[score], score)


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
