"""The Summary of Findings table: the review's questions pooled, each row rated by the rules."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evidence.appraisal import schema as aschema
from evidence.appraisal.grade.overrides import OverrideKey, load_overrides
from evidence.appraisal.grade.rules import (
    EGGER_MIN_K,
    STEPS,
    Evidence,
    Override,
    Rating,
    StudyEvidence,
    rate,
)
from evidence.appraisal.grade.words import effect_text, statement
from evidence.appraisal.schema import (
    CERTAINTIES,
    GRADE_EFFECTS,
    GRADE_GROUPS,
    GRADE_OUTCOMES,
    GRADE_TABLE,
    NO_EVIDENCE,
    NO_INFORMATION,
)
from evidence.dataset import Dataset
from evidence.vocab import DEFAULT_CONFIDENCE

if TYPE_CHECKING:
    from evidence.compare import Question
    from evidence.meta import RMAResult


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
    from evidence.compare import OUTCOME_LABELS, Question, effect_title, pool, unit_of
    from evidence.compare import effects as compare_effects

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
                evidence = _evidence(dataset, question, group, used, result, rob_overall, method)
                rating = rate(evidence, overrides.get(key))
                rows.append(_row(base, question, evidence, result, rating, used, test))
    out = pd.DataFrame.from_records(rows, columns=list(SOF_COLUMNS))
    for column in ("k", "n_patients", "certainty_score", *(f"{s}_levels" for s in STEPS)):
        out[column] = out[column].astype("Int64")
    for column in ("events", "estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "i2"):
        out[column] = out[column].astype(float)
    return out


def _evidence(
    dataset: Dataset,
    question: Question,
    group: str,
    used: pd.DataFrame,
    result: RMAResult,
    rob_overall: Mapping[str, str],
    method: str,
) -> Evidence:
    """What GRADE rates for one group's pooled result: its studies with their weights and
    overall risk of bias, the numbers, and Egger's test where there are enough studies."""
    from evidence.meta import regtest

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
        egger = regtest(used["yi"].to_numpy(), used["vi"].to_numpy(), method=method).pval
    return Evidence(
        outcome=question.outcome,
        group=group,
        effect=question.effect,
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


def _row(
    base: dict[str, object],
    question: Question,
    evidence: Evidence,
    result: RMAResult,
    rating: Rating,
    used: pd.DataFrame,
    test: str,
) -> dict[str, object]:
    """One Summary of Findings row: the numbers on the display scale, each GRADE step with
    its levels, reason and author, and the sentence."""
    from evidence.compare import to_display

    shown = [
        float(to_display(question.measure, v))
        for v in (result.estimate, result.ci_lb, result.ci_ub, result.pi_lb, result.pi_ub)
    ]
    row = base | {
        "k": result.k,
        "studies": "; ".join(s.label for s in evidence.studies),
        "citekeys": ";".join(s.citekey for s in evidence.studies),
        "n_patients": evidence.n_patients,
        "events": evidence.events,
        "timepoints": ", ".join(sorted(set(used["timepoint"].astype(str)))),
        "estimate": shown[0],
        "ci_lb": shown[1],
        "ci_ub": shown[2],
        "pi_lb": shown[3],
        "pi_ub": shown[4],
        "i2": result.i2,
        "effect_text": effect_text(question.measure, shown[:3], str(base["unit"])),
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
    return row


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
    lines = {x for rows in used["source_lines"] for x in rows}
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
