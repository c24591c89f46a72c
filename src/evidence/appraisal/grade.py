"""A rule-based GRADE draft and the Summary of Findings table.

For every outcome x cell group x effect type (cells versus control; change from baseline within
arms) :func:`draft` pools what :mod:`evidence.compare` can estimate and rates the certainty:

- start: high when every contributing study is randomised and the effect is a controlled
  comparison; low otherwise (non-randomised comparisons; within-arm change, which is
  uncontrolled);
- rate down for risk of bias, inconsistency, indirectness, imprecision and publication bias
  with the rules below (thresholds in module constants, their sources in docs/appraisal.md);
- apply the author's overrides from ``data/grade.csv`` (each with a reason).

The rules are pure functions of an :class:`Evidence` record so that they can be tested on
constructed cases (:func:`rate`); :func:`draft` only builds the records from the dataset.
Where nothing can be pooled the row stays, with certainty "no evidence" and the reasons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evidence.appraisal import schema as aschema
from evidence.appraisal.schema import (
    CERTAINTIES,
    DOWN_RATINGS,
    GRADE_EFFECTS,
    GRADE_GROUPS,
    GRADE_OUTCOMES,
    GRADE_STEPS,
    GRADE_TABLE,
    NO_EVIDENCE,
    NO_INFORMATION,
    NOT_APPLICABLE,
    UP_RATINGS,
)
from evidence.data.fields import ARMS_TABLE, OUTCOMES_TABLE
from evidence.data.tables import read_table
from evidence.dataset import Dataset, Table
from evidence.registry import UnreadableFile
from evidence.schema import DatasetError, Problem
from evidence.vocab import DEFAULT_CONFIDENCE, OUTCOME_RECORDS

if TYPE_CHECKING:
    from evidence.compare import Question

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


# --- author overrides (data/grade.csv) ----------------------------------------------------------


def check(table: Table) -> list[Problem]:
    """Rules across fields and rows of data/grade.csv."""
    if not table.present:
        return []
    problems = []
    seen: dict[tuple[str, ...], int] = {}
    for row in table.rows:
        step, rating = row["step"], row["rating"]
        if step in GRADE_STEPS and rating and rating not in GRADE_STEPS[step]:
            problems.append(
                Problem(
                    table.display,
                    row.line,
                    None,
                    "rating",
                    f"unknown rating {rating!r} for step {step!r}",
                    "one of " + ", ".join(map(repr, GRADE_STEPS[step])),
                )
            )
        key = (row["outcome"], row["group"], row["effect"], step)
        if key in seen:
            problems.append(
                Problem(
                    table.display,
                    row.line,
                    None,
                    "step",
                    f"step {step!r} of {'/'.join(key[:3])} already overridden on line {seen[key]}",
                    "one override per outcome, group, effect and step",
                )
            )
        seen.setdefault(key, row.line)
    return problems


def problems(root: Path) -> list[Problem]:
    """Every problem in ``data/grade.csv`` (none when the file does not exist)."""
    table, found = aschema.read(root, GRADE_TABLE, key_column=None)
    return found + check(table) + _unknown_comparisons(table, root)


def _unknown_comparisons(table: Table, root: Path) -> list[Problem]:
    """An override for a comparison the data does not have (a typo, say) would apply to nothing.

    A comparison exists when some arm of the group has rows of the outcome in data/outcomes.csv
    and, for effect 'control', a control arm of the same study has them too.
    """
    if not table.rows:
        return []
    try:
        arms, _ = read_table(root, ARMS_TABLE)
        outcomes, _ = read_table(root, OUTCOMES_TABLE)
    except UnreadableFile:
        return []  # reported by the dataset's own validation
    group_of = {(r["citekey"], r["arm"]): r["group"] for r in arms.rows}
    reported = {
        (r["outcome"], r["citekey"], group_of.get((r["citekey"], r["arm"]))) for r in outcomes.rows
    }
    exists = {(o, g, "change") for o, _k, g in reported}
    exists |= {(o, g, "control") for o, k, g in reported if (o, k, "control") in reported}
    found = []
    for row in table.rows:
        outcome, group, effect = row["outcome"], row["group"], row["effect"]
        if outcome and group and effect and (outcome, group, effect) not in exists:
            what = "versus control" if effect == "control" else "change from baseline"
            found.append(
                Problem(
                    table.display,
                    row.line,
                    None,
                    "group",
                    f"no {outcome} numbers for {group} {what} in data/outcomes.csv: "
                    "the override applies to nothing",
                    "an outcome, group and effect the data has",
                )
            )
    return found


OverrideKey = tuple[str, str, str]


def load_overrides(root: Path | str) -> dict[OverrideKey, dict[str, Override]]:
    """``data/grade.csv`` as {(outcome, group, effect): {step: Override}}; raises on errors."""
    table, found = aschema.read(Path(root), GRADE_TABLE, key_column=None)
    found += check(table)
    if any(p.severity == "error" for p in found):
        raise DatasetError(found)
    return overrides_from(table)


def overrides_from(table: Table) -> dict[OverrideKey, dict[str, Override]]:
    out: dict[OverrideKey, dict[str, Override]] = {}
    for row in table.rows:
        key = (row["outcome"], row["group"], row["effect"])
        out.setdefault(key, {})[row["step"]] = Override(
            row["rating"], row["reason"], row["source"], row.line
        )
    return out


# --- the draft ----------------------------------------------------------------------------------

SOF_COLUMNS = (
    "outcome",
    "outcome_label",
    "group",
    "effect",
    "comparison",
    "k",
    "studies",
    "citekeys",
    "n_patients",
    "events",
    "measure",
    "unit",
    "timepoints",
    "estimate",
    "ci_lb",
    "ci_ub",
    "pi_lb",
    "pi_ub",
    "i2",
    "effect_text",
    "start",
    "start_reason",
    *(f"{s}{suffix}" for s in STEPS for suffix in ("", "_levels", "_reason", "_by")),
    "certainty",
    "certainty_score",
    "statement",
    "notes",
    "method",
    "test",
)


def draft(
    dataset: Dataset,
    rob: pd.DataFrame | None = None,
    overrides: Mapping[OverrideKey, Mapping[str, Override]] | None = None,
    *,
    outcomes: Iterable[str] = GRADE_OUTCOMES,
    groups: Iterable[str] = GRADE_GROUPS,
    effects: Iterable[str] = GRADE_EFFECTS,
    window: str = "latest",
    confidence: str = DEFAULT_CONFIDENCE,
    method: str = "REML",
    test: str = "knha",
) -> pd.DataFrame:
    """The Summary of Findings table: one row per outcome x group x effect, every step explained.

    ``rob`` is the frame of :func:`evidence.appraisal.rob.load` and ``overrides`` the mapping of
    :func:`load_overrides`; both are read from ``dataset.root`` when not given (and treated as
    empty when the files do not exist).
    """
    from evidence.compare import OUTCOME_LABELS, Question, effect_title, pool, to_display, unit_of
    from evidence.compare import effects as compare_effects
    from evidence.meta import regtest

    rob = _rob_frame(dataset) if rob is None else rob
    overrides = _overrides(dataset) if overrides is None else overrides
    rob_overall = dict(
        zip(
            rob.loc[rob["domain"] == "overall", "citekey"],
            rob.loc[rob["domain"] == "overall", "judgement"],
            strict=True,
        )
    )
    groups = tuple(groups)
    rows = []
    for outcome in outcomes:
        for effect in effects:
            question = Question(
                outcome=outcome,
                effect=effect,
                window=window,
                confidence=confidence,
                groups=groups,
            )
            frame = compare_effects(dataset, question)
            pooled = pool(frame, question, method=method, test=test)
            for group in groups:
                part = frame[frame["group"] == group]
                used = part[part["included"]]
                result = pooled.groups.get(group)
                base = {
                    "outcome": outcome,
                    "outcome_label": OUTCOME_LABELS[outcome],
                    "group": group,
                    "effect": effect,
                    "comparison": f"{group} versus control"
                    if effect == "control"
                    else f"{group}: {effect_title(effect, outcome)}",
                    "measure": question.measure,
                    "unit": unit_of(outcome),
                    "method": method,
                    "test": test,
                }
                key = (outcome, group, effect)
                if result is None:
                    rows.append(base | _no_evidence(part, question, key in overrides))
                    continue
                weights = np.asarray(result.weights, dtype=float)
                by_study: dict[str, float] = {}
                for citekey, w in zip(used["citekey"], weights, strict=True):
                    by_study[citekey] = by_study.get(citekey, 0.0) + float(w)
                first = used.drop_duplicates("citekey").set_index("citekey")
                studies = tuple(
                    StudyEvidence(
                        citekey=c,
                        label=str(first.at[c, "label"]),
                        design=str(first.at[c, "design"]),
                        population=str(first.at[c, "population"]),
                        weight=w,
                        rob=rob_overall.get(c, NO_INFORMATION),
                    )
                    for c, w in by_study.items()
                )
                egger = math.nan
                if result.k >= EGGER_MIN_K:
                    egger = regtest(
                        used["yi"].to_numpy(), used["vi"].to_numpy(), method=method
                    ).pval
                evidence = Evidence(
                    outcome=outcome,
                    group=group,
                    effect=effect,
                    measure=question.measure,
                    k=result.k,
                    n_patients=_patients(used),
                    estimate=result.estimate,
                    ci_lb=result.ci_lb,
                    ci_ub=result.ci_ub,
                    pi_lb=result.pi_lb,
                    pi_ub=result.pi_ub,
                    i2=result.i2,
                    events=_events(used, dataset) if question.binary else math.nan,
                    egger_p=egger,
                    studies=studies,
                )
                rating = rate(evidence, overrides.get(key))
                shown = [
                    float(to_display(question.measure, v))
                    for v in (
                        result.estimate,
                        result.ci_lb,
                        result.ci_ub,
                        result.pi_lb,
                        result.pi_ub,
                    )
                ]
                row = base | {
                    "k": result.k,
                    "studies": "; ".join(s.label for s in studies),
                    "citekeys": ";".join(s.citekey for s in studies),
                    "n_patients": evidence.n_patients,
                    "events": evidence.events,
                    "timepoints": ", ".join(sorted(set(used["timepoint"].astype(str)))),
                    "estimate": shown[0],
                    "ci_lb": shown[1],
                    "ci_ub": shown[2],
                    "pi_lb": shown[3],
                    "pi_ub": shown[4],
                    "i2": result.i2,
                    "effect_text": effect_text(question.measure, shown[:3], base["unit"]),
                    "start": rating.start,
                    "start_reason": rating.start_reason,
                    "certainty": rating.certainty,
                    "certainty_score": rating.score,
                    # One study: Knapp-Hartung is undefined and the model falls back to z.
                    "notes": f"k = 1: the CI is the study's own ({result.test} test)"
                    if result.test != test
                    else "",
                }
                for step in rating.steps:
                    row |= {
                        step.step: step.rating,
                        f"{step.step}_levels": step.levels,
                        f"{step.step}_reason": step.reason,
                        f"{step.step}_by": step.by,
                    }
                row["statement"] = statement(row)
                rows.append(row)
    out = pd.DataFrame.from_records(rows, columns=list(SOF_COLUMNS))
    for column in ("k", "n_patients", "certainty_score", *(f"{s}_levels" for s in STEPS)):
        out[column] = out[column].astype("Int64")
    for column in ("events", "estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "i2"):
        out[column] = out[column].astype(float)
    return out


def _no_evidence(part: pd.DataFrame, question: Question, overridden: bool) -> dict[str, object]:
    from evidence.compare import OUTCOME_LABELS

    n = part["citekey"].nunique()
    reasons = [r for r in dict.fromkeys(part["reason"]) if r]
    why = "; ".join(reasons[:3]) + (" ..." if len(reasons) > 3 else "")
    what = OUTCOME_LABELS[question.outcome]
    text = (
        f"No usable evidence: {n} {'study' if n == 1 else 'studies'} of this cell group, none "
        f"with usable {what} numbers for this comparison" + (f" ({why})." if why else ".")
        if n
        else "No usable evidence: the dataset has no study of this cell group for this comparison."
    )
    return {
        "k": 0,
        "studies": "; ".join(dict.fromkeys(part["label"].astype(str))),
        "citekeys": ";".join(dict.fromkeys(part["citekey"].astype(str))),
        "n_patients": 0,
        "events": math.nan,
        "timepoints": "",
        "estimate": math.nan,
        "ci_lb": math.nan,
        "ci_ub": math.nan,
        "pi_lb": math.nan,
        "pi_ub": math.nan,
        "i2": math.nan,
        "effect_text": "not estimable",
        "start": None,
        "start_reason": None,
        "certainty": NO_EVIDENCE,
        "certainty_score": None,
        "statement": text,
        "notes": "an author override exists for this row but nothing was pooled"
        if overridden
        else "",
    }


def _patients(used: pd.DataFrame) -> int:
    """Treated arms plus each study's control arm once (a shared control is not counted twice)."""
    treated = used["n"].fillna(0).sum()
    controls = used.drop_duplicates("citekey")["n_control"].fillna(0).sum()
    return int(treated + controls)


def _events(used: pd.DataFrame, dataset: Dataset) -> float:
    lines: set[int] = set()
    for sources in used["sources"]:
        if isinstance(sources, str) and ":" in sources:
            lines |= {int(x) for x in sources.split(":", 1)[1].split(",") if x}
    rows = dataset.outcomes[dataset.outcomes["source_line"].isin(lines)]
    return float(rows.loc[rows["statistic"] == "events", "value"].sum())


def _rob_frame(dataset: Dataset) -> pd.DataFrame:
    from evidence.appraisal import rob as rob_module

    if not (Path(dataset.root) / aschema.ROB_TABLE.path).exists():
        return pd.DataFrame(columns=list(rob_module.COLUMNS))
    return rob_module.load(dataset.root, dataset)


def _overrides(dataset: Dataset) -> dict[OverrideKey, dict[str, Override]]:
    if not (Path(dataset.root) / GRADE_TABLE.path).exists():
        return {}
    return load_overrides(dataset.root)


# --- words --------------------------------------------------------------------------------------


def _num(x: float) -> str:
    return "NA" if not math.isfinite(x) else f"{x:.2f}".replace("-", "\u2212")


def effect_text(measure: str, shown: list[float], unit: str) -> str:
    """'MD −1.06 points (95% CI −4.65 to 2.53)' on the scale people read."""
    est, lb, ub = shown
    if measure == "PLO":
        return f"{100 * est:.0f}% of patients (95% CI {100 * lb:.0f}% to {100 * ub:.0f}%)"
    names = {"MD": "MD", "MC": "mean change", "OR": "OR", "RR": "RR", "RD": "RD"}
    suffix = f" {unit}" if unit and measure in ("MD", "MC") else ""
    return f"{names[measure]} {_num(est)}{suffix} (95% CI {_num(lb)} to {_num(ub)})"


_QUALIFIER = {"high": "", "moderate": "probably ", "low": "may "}
_OUTCOME_WORDS = {o.code: o.words for o in OUTCOME_RECORDS if o.main}


def statement(row: Mapping[str, object]) -> str:
    """A plain-language sentence in GRADE's informative style (Santesso et al. 2020)."""
    from evidence.compare import LOWER_IS_BETTER, NULL_VALUE

    certainty = str(row["certainty"])
    what = _OUTCOME_WORDS.get(str(row["outcome"]), str(row["outcome_label"]))
    group = str(row["group"])
    measure = str(row["measure"])
    est, lb, ub = (float(row[c]) for c in ("estimate", "ci_lb", "ci_ub"))
    size = f"{row['k']} {'study' if row['k'] == 1 else 'studies'}, {row['n_patients']} patients"
    if row["effect"] == "change":
        if measure == "PLO":
            verb = {"deaths": "died", "sae": "had a serious adverse event"}.get(
                str(row["outcome"]), "had the event"
            )
            found = (
                f"{100 * est:.0f}% of patients given {group} {verb} "
                f"(95% CI {100 * lb:.0f}% to {100 * ub:.0f}%)"
            )
        else:
            change = str(row["effect_text"]).removeprefix("mean change ")
            found = f"mean change in {what} {change} in patients given {group}"
        return (
            f"Before-after data without a control ({size}): {found}. Without a comparison this "
            f"cannot show an effect of the cells; certainty {certainty}."
        )
    null = NULL_VALUE[measure]
    crosses = lb <= null <= ub
    up = est > null
    good = (not up) if str(row["outcome"]) in LOWER_IS_BETTER else up
    direction = "a benefit" if good else "a harm"
    detail = f"({size}; {row['effect_text']})"
    if certainty == "very low":
        return (
            f"We are very uncertain about the effect of {group} therapy on {what} compared with "
            f"control {detail}" + ("." if crosses else f"; the estimate points to {direction}.")
        )
    if crosses:
        core = (
            "makes little or no difference to"
            if certainty == "high"
            else ("make little or no difference to")
        )
    else:
        verb = "increase" if up else "reduce"
        core = f"{verb}s" if certainty == "high" else verb
    qualifier = _QUALIFIER[certainty]
    tail = "" if crosses else f" ({direction})"
    return f"{group} therapy {qualifier}{core} {what}{tail} compared with control {detail}."


def steps(sof: pd.DataFrame) -> pd.DataFrame:
    """The SoF table in long form: one row per outcome, group, effect and step."""
    records = []
    for row in sof.itertuples(index=False):
        data = row._asdict()
        for step in STEPS:
            records.append(
                {
                    "outcome": data["outcome"],
                    "group": data["group"],
                    "effect": data["effect"],
                    "step": step,
                    "rating": data[step],
                    "levels": data[f"{step}_levels"],
                    "reason": data[f"{step}_reason"],
                    "by": data[f"{step}_by"],
                    "certainty": data["certainty"],
                }
            )
    return pd.DataFrame.from_records(
        records,
        columns=[
            "outcome",
            "group",
            "effect",
            "step",
            "rating",
            "levels",
            "reason",
            "by",
            "certainty",
        ],
    )


def certainty_counts(sof: pd.DataFrame) -> pd.Series:
    """SoF rows per certainty, in order, "no evidence" last."""
    order = (*CERTAINTIES, NO_EVIDENCE)
    counts = sof["certainty"].value_counts()
    return pd.Series({c: int(counts.get(c, 0)) for c in order}, name="rows")


__all__ = [
    "EGGER_MIN_K",
    "I2_SERIOUS",
    "NOT_APPLICABLE",
    "OIS_EVENTS",
    "OIS_PATIENTS",
    "Evidence",
    "Override",
    "Rating",
    "Step",
    "StudyEvidence",
    "certainty_counts",
    "draft",
    "load_overrides",
    "rate",
    "statement",
    "steps",
]
