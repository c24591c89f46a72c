"""Every pooled result, reproducible in R with metafor: a script, its data and the expected values.

For one view (a :class:`~evidence.compare.Question`, an estimator and a test) :func:`analysis`
collects

* ``NAME.data.csv``: every number the analysis uses, one per row as in ``data/outcomes.csv``
  (citekey, arm, statistic, value in the canonical unit, the value and unit as reported, n,
  locator, confidence, source line), with the study arm (``effect``) and its ``role`` (the
  treated arm or its control) it belongs to;
* ``NAME.expected.csv``: the product's own per-group results (``group, k, estimate, ci_lb,
  ci_ub, tau2, pi_lb, pi_ub``; NA where a group has no study or a quantity is undefined);
* ``NAME.R``: a readable script that starts from those numbers, converts them as the product
  does (SE to SD; median with quartiles or range to mean and SD by Luo/Wan/Shi; the assumed
  pre-post correlation), computes the effect sizes with metafor's ``escalc``, fits each group
  with ``rma`` (same estimator and test), writes ``NAME.metafor.csv`` with the same columns,
  prints a summary with the largest difference from the product, and draws ``forest()`` to
  ``NAME.pdf``.

The script's text is written by :mod:`evidence.export.rcode` from the blocks of
:mod:`evidence.export.r_templates`; :func:`files` (:mod:`evidence.export.bundle`) gives a
folder's files for several analyses (with ``run_all.R``, which runs them all in one R session,
and a README); :func:`zip_bytes` gives one view as a zip for a download.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from evidence.compare import OUTCOME_LABELS, Question, effects, pool
from evidence.data import Dataset
from evidence.export import bundle, rcode
from evidence.export.bundle import files
from evidence.meta import METHODS
from evidence.meta.inference import TESTS

#: Estimators metafor's ``rma`` has under the same name: every estimator of evidence.meta, which
#: implements rma's own (its results are pinned against metafor). Anything else (a Bayesian
#: model, say) has no metafor equivalent and is refused by :func:`unsupported`.
METAFOR_METHODS = METHODS
METAFOR_TESTS = TESTS  # rma's tests, as evidence.meta has them (metafor 3.8.1 has all three)

RESULT_COLUMNS = ("group", "k", "estimate", "ci_lb", "ci_ub", "tau2", "pi_lb", "pi_ub")
DATA_COLUMNS = (
    "effect",
    "citekey",
    "study",
    "group",
    "arm",
    "role",
    "quantity",
    "timepoint",
    "statistic",
    "value",
    "unit",
    "n",
    "n_reported",
    "used",
    "value_reported",
    "unit_reported",
    "locator",
    "confidence",
    "source",
)
EFFECT_TITLES = {"change": "change from baseline within arms", "control": "cells versus control"}


def unsupported(method: str, test: str) -> str | None:
    """Why ``method``/``test`` cannot be reproduced with metafor, or None when it can."""
    if method not in METAFOR_METHODS:
        return (
            f"the {method} estimator has no metafor equivalent (rma has "
            f"{', '.join(METAFOR_METHODS)}), so there is nothing for R to reproduce"
        )
    if test not in METAFOR_TESTS:
        return f"the {test!r} test has no metafor equivalent"
    return None


def slug(question: Question) -> str:
    """The analysis' file name stem, as the report names its tables: ``meld_change``."""
    return re.sub(r"[^a-z0-9]+", "_", f"{question.outcome}_{question.effect}".lower()).strip("_")


@dataclass(frozen=True)
class Analysis:
    """One analysis ready to export: its numbers, the product's results and the R script."""

    name: str
    question: Question
    method: str
    test: str
    numbers: pd.DataFrame
    expected: pd.DataFrame
    excluded: int

    @property
    def title(self) -> str:
        return f"{OUTCOME_LABELS[self.question.outcome]}: {EFFECT_TITLES[self.question.effect]}"

    @property
    def k(self) -> int:
        return int(self.expected["k"].sum())

    def script(self) -> str:
        """The R script that recomputes this analysis (:func:`evidence.export.rcode.script`)."""
        used = self.numbers.loc[self.numbers["used"] == "TRUE", "statistic"]
        return rcode.script(
            self.question,
            self.method,
            self.test,
            name=self.name,
            title=self.title,
            k=self.k,
            excluded=self.excluded,
            statistics=set(used),
        )

    def files(self) -> dict[str, str]:
        return {
            f"{self.name}.R": self.script(),
            f"{self.name}.data.csv": _csv(self.numbers),
            f"{self.name}.expected.csv": _csv(self.expected),
        }


def _csv(frame: pd.DataFrame) -> str:
    # NA is what read.csv reads as missing in any column; floats keep every digit (repr).
    return frame.to_csv(index=False, na_rep="NA", lineterminator="\n")


def analysis(
    data: Dataset,
    question: Question,
    method: str = "REML",
    test: str = "z",
    name: str = "",
    effects_frame: pd.DataFrame | None = None,
) -> Analysis:
    """The numbers, the product's pooled results and the script of one view.

    ``effects_frame`` is the view's table of effects when it is not plain
    ``compare.effects(data, question)`` (a dashboard filter that leaves arms out). Raises
    ValueError when the estimator or test has no metafor equivalent.
    """
    why = unsupported(method, test)
    if why:
        raise ValueError(why)
    frame = effects(data, question) if effects_frame is None else effects_frame
    pooled = pool(frame, question, method=method, test=test)
    rows = []
    for group in question.groups:
        result = pooled.groups.get(group)
        if result is None:
            rows.append({"group": group, "k": 0})
        else:
            rows.append({c: getattr(result, c) for c in RESULT_COLUMNS if c != "group"})
            rows[-1] = {"group": group} | rows[-1]
    expected = pd.DataFrame.from_records(rows, columns=list(RESULT_COLUMNS))
    expected["k"] = expected["k"].astype(int)
    included = frame[frame["included"]]
    return Analysis(
        name=name or slug(question),
        question=question,
        method=method,
        test=test,
        numbers=_numbers(data, question, included),
        expected=expected,
        excluded=int((~frame["included"]).sum()),
    )


def _numbers(data: Dataset, question: Question, included: pd.DataFrame) -> pd.DataFrame:
    """Every number of the cells each included study arm rests on, one per row.

    A cell is what one arm reports for one quantity at one timepoint; the effect's ``source_lines``
    name the numbers it uses (``used``), and the cell's other numbers come along because the
    product reads the cell's n from all of them.
    """
    outcomes = data.outcomes[data.outcomes["outcome"] == question.outcome]
    if "n_reported" not in outcomes:  # a frame from before the loader said so
        outcomes = outcomes.assign(n_reported=False)
    planned_arms = data.planned_arms
    by_line = outcomes.set_index("source_line", drop=False)
    cell_of = ["citekey", "arm", "quantity", "timepoint"]
    records = []
    for effect, row in enumerate(included.itertuples(index=False), start=1):
        used = set(row.source_lines)
        cells = {tuple(by_line.loc[line, cell_of]) for line in used}
        rows = outcomes[[tuple(r) in cells for r in outcomes[cell_of].itertuples(index=False)]]
        for o in rows.itertuples(index=False):
            if o.arm == row.arm:
                role = "treated"
            elif o.arm == row.comparator:
                role = "control"
            else:  # the product's own bookkeeping is broken: say so rather than export it
                raise ValueError(
                    f"{row.citekey}: outcomes line {o.source_line} is neither arm {row.arm!r} "
                    f"nor its comparator {row.comparator!r}"
                )
            reported = bool(o.n_reported)
            # A planned arm size never stands in for an n (the product ignores it too).
            stand_in_ok = (o.citekey, o.arm) not in planned_arms
            records.append(
                {
                    "effect": effect,
                    "citekey": o.citekey,
                    "study": row.label,
                    "group": row.group,
                    "arm": o.arm,
                    "role": role,
                    "quantity": o.quantity,
                    "timepoint": o.timepoint,
                    "statistic": o.statistic,
                    "value": float(o.value),
                    "unit": o.unit,
                    "n": o.n if reported or stand_in_ok else pd.NA,
                    "n_reported": "TRUE" if reported else "FALSE",
                    "used": "TRUE" if int(o.source_line) in used else "FALSE",
                    "value_reported": float(o.value_reported),
                    "unit_reported": o.unit_reported,
                    "locator": o.locator,
                    "confidence": o.confidence,
                    "source": f"{o.source_file}:{o.source_line}",
                }
            )
    frame = pd.DataFrame.from_records(records, columns=list(DATA_COLUMNS))
    frame["n"] = frame["n"].astype("Int64")
    return frame


def zip_bytes(
    question: Question,
    method: str = "REML",
    test: str = "z",
    data: Dataset | None = None,
    effects_frame: pd.DataFrame | None = None,
) -> bytes:
    """The R script, its data and the expected results of one view, as a zip (for a download).

    ``data`` defaults to the dataset of the project folder (``evidence.load``);
    ``effects_frame`` as in :func:`analysis`. Raises ValueError when the estimator or test has
    no metafor equivalent.
    """
    if data is None:
        from evidence.data import load

        data = load(".")
    a = analysis(data, question, method=method, test=test, effects_frame=effects_frame)
    return bundle.zipped(a.name, files([a]))


__all__ = [
    "DATA_COLUMNS",
    "EFFECT_TITLES",
    "METAFOR_METHODS",
    "METAFOR_TESTS",
    "RESULT_COLUMNS",
    "Analysis",
    "analysis",
    "files",
    "slug",
    "unsupported",
    "zip_bytes",
]
