"""What a report shows (:class:`Settings`) and what it is (:class:`Report`: the page and its
tables)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from evidence.compare import (
    CONFIDENCE_FILTERS,
    DESIGN_FILTERS,
    WINDOWS,
    Question,
)
from evidence.vocab import MAIN_OUTCOMES

Progress = Callable[[str], None]

REPORT_OUTCOMES = MAIN_OUTCOMES

TEST_NAMES = {"z": "Wald z", "knha": "Knapp-Hartung", "adhoc": "Knapp-Hartung (ad hoc)"}


@dataclass(frozen=True)
class Settings:
    """What the report shows: the dashboard's :class:`Question` (filters, cell groups, pre-post
    correlation) asked of every outcome x effect, and the estimator and test to pool with."""

    outcomes: tuple[str, ...] = REPORT_OUTCOMES
    effects: tuple[str, ...] = ("change", "control")
    method: str = "REML"
    test: str = "z"
    # The question asked of each outcome x effect above (its outcome and effect are replaced).
    base: Question = field(default_factory=Question)
    style: str = "vancouver"

    def question(self, outcome: str, effect: str) -> Question:
        return self.base.with_(outcome=outcome, effect=effect)

    def describe(self) -> str:
        q = self.base
        return (
            f"{self.method} estimator, {TEST_NAMES.get(self.test, self.test)} "
            f"confidence intervals, {DESIGN_FILTERS[q.design][0]}, "
            f"{CONFIDENCE_FILTERS[q.confidence][0]}, time window "
            f"{WINDOWS[q.window][0]}, pre-post correlation r = {q.ri:g}"
        )


@dataclass
class Report:
    html: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


#: The report's default view (a module-level value: a default argument is built once anyway).
DEFAULT_SETTINGS = Settings()
