"""The review's question: outcome, effect type, time window and filters, each checked against
its allowed values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from evidence.schema import BINARY_OUTCOMES, CONFIDENCES, CONTROLLED_DESIGNS
from evidence.vocab import (
    ARM_GROUPS,
    CELL_GROUPS,
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
    "third-party": (
        "verified, secondary and third-party copies",
        ("verified", "secondary", "third-party"),
    ),
    "seed-only": ("all, seed-only included", CONFIDENCES),
}
POPULATION_FILTERS = {
    "all": ("all populations", None),
    "decompensated": ("decompensated cirrhosis only", ("decompensated cirrhosis",)),
}
BINARY_MEASURES = ("OR", "RR", "RD")
#: Tests of the robustness grid; ``pool`` and the dashboard also take metafor's ``adhoc``
#: (Knapp-Hartung with its scale factor truncated at 1, never narrower than z).
TESTS = ("z", "knha")
POOL_TESTS = (*TESTS, "adhoc")
COMPARED_GROUPS = ARM_GROUPS
#: Arms that received cells: the only arms an across-group ("overall") average may pool.
CELL_THERAPY_GROUPS = CELL_GROUPS


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
        one_of("outcome", self.outcome, OUTCOME_LABELS)
        one_of("effect", self.effect, ("change", "control"))
        one_of("window", self.window, WINDOWS)
        one_of("design", self.design, DESIGN_FILTERS)
        one_of("confidence", self.confidence, CONFIDENCE_FILTERS)
        one_of("population", self.population, POPULATION_FILTERS)
        one_of("binary_measure", self.binary_measure, BINARY_MEASURES)
        groups = tuple(self.groups)
        for group in groups:
            one_of("groups", group, COMPARED_GROUPS)
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


def one_of(name: str, value: object, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(map(repr, allowed))}")
