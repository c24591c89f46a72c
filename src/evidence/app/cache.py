"""The dashboard's one cache: the analysis results a view asks for, kept per setting.

Every view asks :class:`Analysis` (effects, pooled results, anything else through
:meth:`Analysis.cached`); nothing here computes a statistic, it only remembers what the
compare layer, the robustness checks and the appraisal returned.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd

from evidence.analysis.arm_effects import Prepared, prepare, studies_per_outcome
from evidence.appraisal import rob as rob_module
from evidence.compare import Pooled, Question, effects, pool
from evidence.dataset import Dataset
from evidence.schema import DatasetError
from evidence.text import read_in
from evidence.vocab import DEFAULT_OUTCOME

CACHE_SIZE = 32  # results kept (a GRADE draft, the largest, is ~100 kB)
#: Figures kept apart, fewer: a forest plot of 2,000 studies holds a few MB of hover text.
FIGURES_KEPT = 4


class LRU:
    """A small least-recently-used cache: ``get(key, make)`` computes once per key."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.entries: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self.entries:
            self.entries.move_to_end(key)
            return self.entries[key]
        value = make()
        self.entries[key] = value
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return value


def load_rob(data: Dataset) -> tuple[pd.DataFrame, str]:
    """``data/rob.csv`` as a frame, and a notice when it cannot be used (then empty).

    A dataset without the file is valid (no risk-of-bias column, the filter keeps everything);
    a file with errors must not take the dashboard down: the notice says to run the validator.
    """
    empty = pd.DataFrame(columns=list(rob_module.COLUMNS))
    try:
        return rob_module.load(data.root, data), ""
    except DatasetError as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        return empty, (
            f"data/rob.csv has {len(errors)} error(s), so risk of bias is not shown; "
            "run `evidence validate` to see them."
        )


def clinical_studies(data: Dataset) -> pd.DataFrame:
    """The registry's clinical studies (not meta-analyses, not animal studies)."""
    return data.clinical_studies


class Analysis:
    """Effects and pooled results, computed once per question, risk-of-bias filter and
    estimator; the risk-of-bias records, loaded once."""

    def __init__(self, data: Dataset, size: int = CACHE_SIZE) -> None:
        self.data = data
        self.cache = LRU(size)
        self.figures = LRU(FIGURES_KEPT)
        lines = data.outcomes["source_line"].astype(int).tolist()
        self._locator = dict(zip(lines, data.outcomes["locator"], strict=True))
        self.rob, self.rob_problem = load_rob(data)
        self._rob_columns: pd.DataFrame | None = None
        self._prepared: Prepared | None = None

    @property
    def prepared(self) -> Prepared:
        """The dataset's question-independent part of every effects frame, read once."""
        if self._prepared is None:
            self._prepared = prepare(self.data)
        return self._prepared

    @property
    def rob_columns(self) -> pd.DataFrame:
        """Risk-of-bias columns of every study (tool, domains, overall) for the forest plot."""
        if self._rob_columns is None:
            self._rob_columns = rob_module.forest_columns(self.rob, self.data.studies["citekey"])
        return self._rob_columns

    def cached(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """``make()`` once per ``key`` (a tuple naming the result and its settings)."""
        return self.cache.get(key, make)

    def figure(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """A built figure, once per ``key``. The caller must not change it: it is drawn
        again as it is (:func:`evidence.app.widgets.refresh` only reads it)."""
        return self.figures.get(key, make)

    def effects(self, q: Question, rob: str = "all") -> pd.DataFrame:
        """The question's effects; studies the risk-of-bias filter ``rob`` leaves out are
        marked (not included, with the reason), never dropped."""
        return self.cached(
            ("effects", q, rob),
            lambda: rob_module.filter_effects(
                self.cached(
                    ("effects", q),
                    lambda: self._with_locators(effects(self.data, q, self.prepared)),
                ),
                self.rob,
                rob,
            ),
        )

    def pooled(self, q: Question, method: str, test: str, rob: str = "all") -> Pooled:
        return self.cached(
            ("pool", q, method, test, rob), lambda: pool(self.effects(q, rob), q, method, test)
        )

    def outcome_counts(self, q: Question, rob: str = "all") -> dict[str, int]:
        """Per outcome, the studies with at least one arm in the plot of ``q`` with that
        outcome (all other settings as in ``q``, the risk-of-bias filter ``rob`` applied):
        one pass over every outcome, once per question without its outcome."""
        key = ("outcome_counts", q.with_(outcome=DEFAULT_OUTCOME), rob)
        return self.cached(
            key,
            lambda: studies_per_outcome(
                self.data,
                q,
                rob_module.kept_studies(self.rob, self.prepared.studies, rob),
                self.prepared,
            ),
        )

    def _with_locators(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add where each effect's numbers were read ("Table 2; abstract") for hover text."""
        return frame.assign(locators=[read_in(x, self._locator) for x in frame["source_lines"]])


__all__ = ["CACHE_SIZE", "FIGURES_KEPT", "LRU", "Analysis", "clinical_studies", "load_rob"]
