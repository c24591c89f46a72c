"""The author's overrides of the draft (``data/grade.csv``): reading and checking them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evidence.appraisal import schema as aschema
from evidence.appraisal.grade.rules import Override
from evidence.appraisal.schema import (
    GRADE_STEPS,
    GRADE_TABLE,
)
from evidence.data.fields import ARMS_TABLE, OUTCOMES_TABLE
from evidence.data.tables import read_table
from evidence.dataset import Table
from evidence.schema import DatasetError, Problem
from evidence.storage import UnreadableFile

if TYPE_CHECKING:
    pass


# --- author overrides (data/grade.csv) ----------------------------------------------------------


def check(table: Table) -> list[Problem]:
    """Rules across fields and rows of data/grade.csv."""
    if not table.present:
        return []
    problems = []
    seen: dict[tuple[str, ...], int] = {}
    for row in table.rows:
        step, rating = row["step"], row["rating"]
        if step in GRADE_STEPS and rating and rating not in GRADE_STEPS[step]:
            problems.append(
                Problem(
                    table.display,
                    row.line,
                    None,
                    "rating",
                    f"unknown rating {rating!r} for step {step!r}",
                    "one of " + ", ".join(map(repr, GRADE_STEPS[step])),
                )
            )
        key = (row["outcome"], row["group"], row["effect"], step)
        if key in seen:
            problems.append(
                Problem(
                    table.display,
                    row.line,
                    None,
                    "step",
                    f"step {step!r} of {'/'.join(key[:3])} already overridden on line {seen[key]}",
                    "one override per outcome, group, effect and step",
                )
            )
        seen.setdefault(key, row.line)
    return problems


def problems(root: Path) -> list[Problem]:
    """Every problem in ``data/grade.csv`` (none when the file does not exist)."""
    table, found = aschema.read(root, GRADE_TABLE, key_column=None)
    return found + check(table) + _unknown_comparisons(table, root)


def _unknown_comparisons(table: Table, root: Path) -> list[Problem]:
    """An override for a comparison the data does not have (a typo, say) would apply to nothing.

    A comparison exists when some arm of the group has rows of the outcome in data/outcomes.csv
    and, for effect 'control', a control arm of the same study has them too.
    """
    if not table.rows:
        return []
    try:
        arms, _ = read_table(root, ARMS_TABLE)
        outcomes, _ = read_table(root, OUTCOMES_TABLE)
    except UnreadableFile:
        return []  # reported by the dataset's own validation
    group_of = {(r["citekey"], r["arm"]): r["group"] for r in arms.rows}
    reported = {
        (r["outcome"], r["citekey"], group_of.get((r["citekey"], r["arm"]))) for r in outcomes.rows
    }
    exists = {(o, g, "change") for o, _k, g in reported}
    exists |= {(o, g, "control") for o, k, g in reported if (o, k, "control") in reported}
    found = []
    for row in table.rows:
        outcome, group, effect = row["outcome"], row["group"], row["effect"]
        if outcome and group and effect and (outcome, group, effect) not in exists:
            what = "versus control" if effect == "control" else "change from baseline"
            found.append(
                Problem(
                    table.display,
                    row.line,
                    None,
                    "group",
                    f"no {outcome} numbers for {group} {what} in data/outcomes.csv: "
                    "the override applies to nothing",
                    "an outcome, group and effect the data has",
                )
            )
    return found


OverrideKey = tuple[str, str, str]


def load_overrides(root: Path | str) -> dict[OverrideKey, dict[str, Override]]:
    """``data/grade.csv`` as {(outcome, group, effect): {step: Override}}; raises on errors."""
    table, found = aschema.read(Path(root), GRADE_TABLE, key_column=None)
    found += check(table)
    if any(p.severity == "error" for p in found):
        raise DatasetError(found)
    return overrides_from(table)


def overrides_from(table: Table) -> dict[OverrideKey, dict[str, Override]]:
    out: dict[OverrideKey, dict[str, Override]] = {}
    for row in table.rows:
        key = (row["outcome"], row["group"], row["effect"])
        out.setdefault(key, {})[row["step"]] = Override(
            row["rating"], row["reason"], row["source"], row.line
        )
    return out
