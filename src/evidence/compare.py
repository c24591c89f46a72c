"""The review's question: does the cell group make a difference to an outcome?

Re-exports of :mod:`evidence.analysis`, where each concern now has its own module (question,
extract, arm_effects, pooling, scales, words); kept so that ``evidence.compare`` imports go on
working.
"""

from __future__ import annotations

from evidence.analysis.arm_effects import EFFECT_COLUMNS, effects
from evidence.analysis.extract import Cells
from evidence.analysis.pooling import (
    KNHA_WIDE,
    MIXED_VISITS_MONTHS,
    OVERALL_LABEL,
    RI_SENSITIVITY,
    Pooled,
    pool,
)
from evidence.analysis.question import (
    BINARY_MEASURES,
    CELL_THERAPY_GROUPS,
    COMPARED_GROUPS,
    CONFIDENCE_FILTERS,
    DESIGN_FILTERS,
    LOWER_IS_BETTER,
    OUTCOME_LABELS,
    POOL_TESTS,
    POPULATION_FILTERS,
    TESTS,
    WINDOWS,
    EffectType,
    Question,
)
from evidence.analysis.scales import MEASURE_LABELS, NULL_VALUE, effect_title, to_display, unit_of
from evidence.analysis.words import subgroup_sentence, summary

__all__ = [
    "BINARY_MEASURES",
    "CELL_THERAPY_GROUPS",
    "COMPARED_GROUPS",
    "CONFIDENCE_FILTERS",
    "DESIGN_FILTERS",
    "EFFECT_COLUMNS",
    "KNHA_WIDE",
    "LOWER_IS_BETTER",
    "MEASURE_LABELS",
    "MIXED_VISITS_MONTHS",
    "NULL_VALUE",
    "OUTCOME_LABELS",
    "OVERALL_LABEL",
    "POOL_TESTS",
    "POPULATION_FILTERS",
    "RI_SENSITIVITY",
    "TESTS",
    "WINDOWS",
    "Cells",
    "EffectType",
    "Pooled",
    "Question",
    "effect_title",
    "effects",
    "pool",
    "subgroup_sentence",
    "summary",
    "to_display",
    "unit_of",
]
