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

from evidence.appraisal.grade.draft import SOF_COLUMNS, certainty_counts, draft, steps
from evidence.appraisal.grade.overrides import (
    OverrideKey,
    check,
    load_overrides,
    overrides_from,
    problems,
)
from evidence.appraisal.grade.rules import (
    EGGER_ALPHA,
    EGGER_MIN_K,
    I2_SERIOUS,
    I2_VERY_SERIOUS,
    INDIRECT_POPULATIONS,
    INDIRECT_SHARE,
    OIS_EVENTS,
    OIS_PATIENTS,
    PROPORTION_CI_WIDTH,
    ROB_SCORE,
    ROB_SERIOUS,
    ROB_VERY_SERIOUS,
    STEPS,
    UNCLEAR_POPULATIONS,
    Evidence,
    Override,
    Rating,
    Step,
    StudyEvidence,
    imprecision,
    inconsistency,
    indirectness,
    publication_bias,
    rate,
    risk_of_bias,
    start,
    upgrade,
)
from evidence.appraisal.grade.words import OUTCOME_WORDS, effect_text, statement
from evidence.appraisal.schema import NOT_APPLICABLE

__all__ = [
    "EGGER_ALPHA",
    "EGGER_MIN_K",
    "I2_SERIOUS",
    "I2_VERY_SERIOUS",
    "INDIRECT_POPULATIONS",
    "INDIRECT_SHARE",
    "NOT_APPLICABLE",
    "OIS_EVENTS",
    "OIS_PATIENTS",
    "OUTCOME_WORDS",
    "PROPORTION_CI_WIDTH",
    "ROB_SCORE",
    "ROB_SERIOUS",
    "ROB_VERY_SERIOUS",
    "SOF_COLUMNS",
    "STEPS",
    "UNCLEAR_POPULATIONS",
    "Evidence",
    "Override",
    "OverrideKey",
    "Rating",
    "Step",
    "StudyEvidence",
    "certainty_counts",
    "check",
    "draft",
    "effect_text",
    "imprecision",
    "inconsistency",
    "indirectness",
    "load_overrides",
    "overrides_from",
    "problems",
    "publication_bias",
    "rate",
    "risk_of_bias",
    "start",
    "statement",
    "steps",
    "upgrade",
]
