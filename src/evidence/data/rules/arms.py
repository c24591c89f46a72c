"""Rules of data/arms.csv: arms link to studies, once each, in the study's groups, n adds up."""

from __future__ import annotations

from collections import defaultdict

from evidence.data.grammar import parse_number, split_list
from evidence.data.problems import Problem, Reporter
from evidence.data.rules.links import report_orphan, study_entry
from evidence.data.tables import Table
from evidence.data.vocabulary import ARM_GROUPS
from evidence.registry import Registry


def arm_problems(arms: Table, registry: Registry) -> list[Problem]:
    report = Reporter(arms.display)
    seen: dict[tuple[str, str], int] = {}
    n_by_study: dict[str, int] = defaultdict(int)
    for row in arms.rows:
        key, arm = row["citekey"], row["arm"]
        entry = study_entry(registry, key)
        if key and entry is None:
            report_orphan(report, row, registry)
            continue
        if (key, arm) in seen:
            report.error(
                row.line,
                key,
                "arm",
                f"arm {arm!r} already defined on line {seen[(key, arm)]}",
                "each arm once per study",
            )
        seen[(key, arm)] = row.line
        group = row["group"]
        allowed = {*split_list(entry.get("cell_groups")), "G-CSF", "control"} if entry else set()
        if entry and group in ARM_GROUPS and group not in allowed:
            report.error(
                row.line,
                key,
                "group",
                f"group {group!r} is not among the study's cell_groups "
                f"({entry.get('cell_groups') or 'none'})",
                "one of " + ", ".join(sorted(allowed)),
            )
        n = parse_number(row["n"])
        if n is not None and not row["locator"]:
            report.error(
                row.line, key, "locator", "n is given without a locator", "where n was read"
            )
        if n is not None and n > 0 and float(n).is_integer():
            n_by_study[key] += int(n)
    _comparators(report, arms)
    for key, total_arms in n_by_study.items():
        entry = study_entry(registry, key)
        n_total = parse_number(entry.get("n_total")) if entry else None
        if n_total is not None and total_arms > n_total:
            report.error(
                arms.first_line(key),
                key,
                "n",
                f"arms add up to {total_arms} patients, more than the study's "
                f"n_total of {int(n_total)}",
                f"arm n summing to at most {int(n_total)}",
            )
    return report.problems


def _comparators(report: Reporter, arms: Table) -> None:
    """A treated arm's comparator is another arm of its study; a study with several control
    arms names, for every treated arm, the one it is compared with (a dose-ranging study with a
    control per dose would otherwise be paired by position)."""
    by_study: dict[str, dict[str, str]] = defaultdict(dict)
    for row in arms.rows:
        by_study[row["citekey"]][row["arm"]] = row["group"]
    for row in arms.rows:
        key, arm, comparator = row["citekey"], row["arm"], row["comparator"]
        study = by_study[key]
        if comparator and row["group"] == "control":
            report.error(
                row.line, key, "comparator", "a control arm has no comparator", "leave it blank"
            )
        elif comparator and (comparator == arm or comparator not in study):
            others = sorted(a for a in study if a != arm)
            report.error(
                row.line,
                key,
                "comparator",
                f"comparator {comparator!r} is not another arm of this study",
                "one of " + ", ".join(map(repr, others)) if others else "an arm of this study",
            )
        controls = [a for a, g in study.items() if g == "control"]
        if not comparator and row["group"] != "control" and len(controls) > 1:
            report.warning(
                row.line,
                key,
                "comparator",
                f"the study has {len(controls)} control arms and this arm names none: it is "
                "left out of comparisons with control",
                "one of " + ", ".join(map(repr, controls)),
            )
