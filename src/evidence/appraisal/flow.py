"""Study flow: from the registry to the pooled analyses, in the spirit of a PRISMA 2020 diagram.

Every entry of ``references.bib`` is placed in exactly one box: published meta-analyses are
benchmarks (never pooled); studies are excluded from pooling for the first reason that applies,
in this order, or included:

1. animal study;
2. no extractable numbers (the entry's ``no_numbers`` reason);
3. numbers below the confidence filter (e.g. only seed-only numbers);
4. design excluded by the design filter (e.g. a single-arm study under "controlled studies");
5. population excluded by the population filter;
6. cell group not compared (e.g. whole bone marrow only);
7. numbers not poolable (only p values, no spread, or outcomes outside the pooled ones);
8. included: at least one arm enters at least one pooled comparison.

"Included per outcome" counts studies that enter the pooled comparison of that outcome (either
effect type). The registry is the record set: there is no database search behind it, so the
diagram starts at "records in the registry" rather than at database hits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import pandas as pd

from evidence.appraisal.schema import GRADE_GROUPS, GRADE_OUTCOMES
from evidence.dataset import Dataset
from evidence.vocab import DEFAULT_CONFIDENCE

if TYPE_CHECKING:
    from evidence.analysis.question import Question

REASONS = (
    "animal study",
    "no extractable numbers",
    "numbers below the confidence filter",
    "design excluded by the filter",
    "population excluded by the filter",
    "cell group not compared",
    "numbers not poolable",
)
META_ANALYSIS = "published meta-analysis (benchmark, not pooled)"
INCLUDED = "included"


@dataclass(frozen=True)
class FlowCounts:
    """The flow as tidy frames.

    ``records``: one row per registry entry (citekey, label, kind, design, stage, reason).
    ``boxes``: the diagram's boxes (id, stage, label, n, detail), in drawing order.
    ``per_outcome``: studies included per outcome (outcome, label, studies, citekeys).
    """

    records: pd.DataFrame
    boxes: pd.DataFrame
    per_outcome: pd.DataFrame
    settings: dict[str, str] = field(default_factory=dict)

    def n(self, box_id: str) -> int:
        return int(self.boxes.set_index("id").at[box_id, "n"])


def counts(
    dataset: Dataset,
    *,
    outcomes: Iterable[str] = GRADE_OUTCOMES,
    groups: Iterable[str] = GRADE_GROUPS,
    confidence: str = DEFAULT_CONFIDENCE,
    design: str = "all",
    population: str = "all",
    window: str = "latest",
) -> FlowCounts:
    """Place every registry entry in the flow, with the filters the pooled analyses use."""
    from evidence.compare import CONFIDENCE_FILTERS, DESIGN_FILTERS, POPULATION_FILTERS, Question

    groups = tuple(groups)
    question = Question(
        groups=groups,
        confidence=confidence,
        design=design,
        population=population,
        window=window,
    )
    per_outcome = _per_outcome(dataset, tuple(outcomes), question)
    included = {key for keys in per_outcome.values() for key in keys}
    records = _records(dataset, question, included)
    return FlowCounts(
        records=records,
        boxes=_boxes(records),
        per_outcome=_outcome_frame(dataset, per_outcome),
        settings={
            "confidence": CONFIDENCE_FILTERS[confidence][0],
            "design": DESIGN_FILTERS[design][0],
            "population": POPULATION_FILTERS[population][0],
            "window": window,
            "groups": ", ".join(groups),
        },
    )


def _per_outcome(
    dataset: Dataset, outcomes: tuple[str, ...], question: Question
) -> dict[str, list[str]]:
    """The studies in each outcome's pooled comparison, of either effect type, in order."""
    from evidence.compare import effects

    per_outcome: dict[str, list[str]] = {}
    for outcome in outcomes:
        keys: list[str] = []
        for effect in ("control", "change"):
            frame = effects(dataset, replace(question, outcome=outcome, effect=effect))
            keys += list(frame.loc[frame["included"], "citekey"])
        per_outcome[outcome] = list(dict.fromkeys(keys))
    return per_outcome


def _records(dataset: Dataset, question: Question, included: set[str]) -> pd.DataFrame:
    """One row per registry entry: its stage and the first reason that applies."""
    from evidence.compare import CONFIDENCE_FILTERS, DESIGN_FILTERS, POPULATION_FILTERS

    groups = set(question.groups)
    allowed = CONFIDENCE_FILTERS[question.confidence][1]
    designs = DESIGN_FILTERS[question.design][1]
    populations = POPULATION_FILTERS[question.population][1]
    numbers = dataset.outcomes
    arm_groups = dataset.arms.groupby("citekey")["group"].agg(set)
    records = []
    for study in dataset.studies.itertuples(index=False):
        key = study.citekey
        rows = numbers[numbers["citekey"] == key]
        if study.kind != "study":
            stage, reason = "benchmark", META_ANALYSIS
        elif study.design == "animal":
            stage, reason = "excluded", "animal study"
        elif rows.empty:
            stage, reason = "excluded", "no extractable numbers"
        elif not rows["confidence"].isin(allowed).any():
            stage, reason = "excluded", "numbers below the confidence filter"
        elif designs is not None and study.design not in designs:
            stage, reason = "excluded", "design excluded by the filter"
        elif populations is not None and study.population not in populations:
            stage, reason = "excluded", "population excluded by the filter"
        elif not (arm_groups.get(key, set()) & groups):
            stage, reason = "excluded", "cell group not compared"
        elif key not in included:
            stage, reason = "excluded", "numbers not poolable"
        else:
            stage, reason = INCLUDED, INCLUDED
        records.append(
            {
                "citekey": key,
                "label": study.label,
                "kind": study.kind,
                "design": study.design,
                "stage": stage,
                "reason": reason,
            }
        )
    return pd.DataFrame.from_records(
        records, columns=["citekey", "label", "kind", "design", "stage", "reason"]
    )


def _boxes(record_frame: pd.DataFrame) -> pd.DataFrame:
    """The diagram's boxes, in drawing order."""
    excluded = record_frame[record_frame["stage"] == "excluded"]
    studies = record_frame[record_frame["kind"] == "study"]
    detail_of = {
        reason: ", ".join(excluded.loc[excluded["reason"] == reason, "label"]) for reason in REASONS
    }
    boxes = [
        {
            "id": "registry",
            "stage": "identification",
            "label": "Records in the registry (references.bib)",
            "n": len(record_frame),
            "detail": "",
        },
        {
            "id": "benchmarks",
            "stage": "identification",
            "label": "Published meta-analyses: benchmarks, not pooled",
            "n": int((record_frame["stage"] == "benchmark").sum()),
            "detail": ", ".join(record_frame.loc[record_frame["stage"] == "benchmark", "label"]),
        },
        {
            "id": "studies",
            "stage": "screening",
            "label": "Studies assessed for pooling",
            "n": len(studies),
            "detail": "",
        },
        {
            "id": "excluded",
            "stage": "screening",
            "label": "Studies excluded from pooling",
            "n": len(excluded),
            "detail": "",
        },
        *(
            {
                "id": f"excluded:{reason}",
                "stage": "screening",
                "label": reason[0].upper() + reason[1:],
                "n": int((excluded["reason"] == reason).sum()),
                "detail": detail_of[reason],
            }
            for reason in REASONS
        ),
        {
            "id": "included",
            "stage": "included",
            "label": "Studies in at least one pooled comparison",
            "n": int((record_frame["stage"] == INCLUDED).sum()),
            "detail": ", ".join(record_frame.loc[record_frame["stage"] == INCLUDED, "label"]),
        },
    ]
    return pd.DataFrame.from_records(boxes, columns=["id", "stage", "label", "n", "detail"])


def _outcome_frame(dataset: Dataset, per_outcome: dict[str, list[str]]) -> pd.DataFrame:
    """Studies included per outcome."""
    from evidence.compare import OUTCOME_LABELS

    labels = dict(zip(dataset.studies["citekey"], dataset.studies["label"], strict=True))
    return pd.DataFrame.from_records(
        [
            {
                "outcome": outcome,
                "label": OUTCOME_LABELS[outcome],
                "studies": len(keys),
                "citekeys": ";".join(keys),
                "study_labels": ", ".join(labels[k] for k in keys),
            }
            for outcome, keys in per_outcome.items()
        ],
        columns=["outcome", "label", "studies", "citekeys", "study_labels"],
    )
