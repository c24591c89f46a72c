"""The dataset's vocabularies: kinds, designs, groups, outcomes, units, plausible ranges.

The domain's words come from :mod:`evidence.vocab`; this module adds the data format's own
(quantities, statistics, comparisons) and the per-outcome tables the rules check.
"""

from __future__ import annotations

from evidence import vocab
from evidence.vocab import OUTCOME_RECORDS

# The domain's words, written once in evidence.vocab (aliases keep the names importable here).
KINDS = vocab.KINDS
DESIGNS = vocab.DESIGNS
CONTROLLED_DESIGNS = vocab.CONTROLLED_DESIGNS
SPECIES = vocab.SPECIES
POPULATIONS = vocab.POPULATIONS
CELL_GROUPS = vocab.CELL_GROUPS
ARM_GROUPS = vocab.ARM_GROUPS
CELL_ORIGINS = vocab.CELL_ORIGINS
CELL_TISSUES = vocab.CELL_TISSUES
ROUTES = vocab.ROUTES
CONFIDENCES = vocab.CONFIDENCES
N_BASES = vocab.N_BASES
OUTCOMES = vocab.OUTCOMES
BINARY_OUTCOMES = vocab.COUNTED_OUTCOMES
QUANTITIES = ("level", "change")
STATISTICS = (
    "mean",
    "sd",
    "se",
    "median",
    "q1",
    "q3",
    "min",
    "max",
    "events",
    "total",
    "percent",  # a printed percentage of patients with the event (checked against the counts)
    "p",
)
COMPARISONS = ("before-after", "versus control")
EXTERNAL_GROUPS = (*CELL_GROUPS, "any")
MEASURES = ("MD",)

# Units as reported, canonical first (the loader converts to the canonical unit).
UNITS: dict[str, tuple[str, ...]] = {o.code: tuple(u for u, _ in o.units) for o in OUTCOME_RECORDS}

# Plausible ranges of a level (mean, median, quartiles, extremes) in the canonical unit.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    o.code: o.plausible for o in OUTCOME_RECORDS if o.plausible is not None
}
LOCATION_STATISTICS = ("mean", "median", "q1", "q3", "min", "max")
SPREAD_STATISTICS = ("sd", "se")
