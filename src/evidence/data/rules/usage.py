"""Rules across files: every study has outcome rows or says why not; clinical studies have arms."""

from __future__ import annotations

from evidence.data.fields import BIB_FILE
from evidence.data.problems import Problem, Reporter
from evidence.data.tables import Table
from evidence.registry import Registry


def usage_problems(registry: Registry, outcomes: Table, arms: Table) -> list[Problem]:
    with_numbers = {r["citekey"] for r in outcomes.rows}
    with_arms = {r["citekey"] for r in arms.rows}
    report = Reporter(BIB_FILE)
    for entry in registry.entries:
        if entry.get("kind") != "study":
            continue
        reason = entry.get("no_numbers")
        if entry.key in with_numbers and reason:
            report.error(
                entry.line_of("no_numbers"),
                entry.key,
                "no_numbers",
                "marked as having no numbers, but data/outcomes.csv has rows for it",
                "no_numbers only on studies without outcome rows",
            )
        elif entry.key not in with_numbers and not reason:
            report.error(
                entry.line,
                entry.key,
                "no_numbers",
                "study has no rows in data/outcomes.csv and no no_numbers reason",
                "outcome rows, or no_numbers = {why none can be extracted}",
            )
        if entry.get("species") == "human" and entry.key not in with_arms:
            report.warning(
                entry.line,
                entry.key,
                None,
                "clinical study has no arms in data/arms.csv",
                "its arms with their group (and n where reported)",
            )
    return report.problems
