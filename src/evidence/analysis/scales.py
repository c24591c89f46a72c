"""Display scales and labels: what a measure is called, its value of no effect, the scale people
read it on and the unit of an outcome.
"""

from __future__ import annotations

import math

import numpy as np

from evidence.schema import BINARY_OUTCOMES
from evidence.units import canonical_unit

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
