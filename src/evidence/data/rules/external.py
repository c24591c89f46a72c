"""Rules of data/external.csv: published pooled estimates of meta-analysis entries."""

from __future__ import annotations

from evidence.data import units
from evidence.data.grammar import parse_number
from evidence.data.problems import Problem, Reporter
from evidence.data.rules.links import report_orphan
from evidence.data.tables import Row, Table
from evidence.data.vocabulary import PLAUSIBLE, UNITS
from evidence.registry import Registry

# What one published estimate is of: a second row with the same values is a duplicate.
_IDENTITY = ("citekey", "group", "outcome", "comparison", "timepoint", "measure")


def external_problems(external: Table, registry: Registry) -> list[Problem]:
    report = Reporter(external.display)
    seen: dict[tuple[str, ...], int] = {}
    for row in external.rows:
        key = row["citekey"]
        ident = tuple(row[c] for c in _IDENTITY)
        if ident in seen:
            report.error(
                row.line,
                key,
                "estimate",
                f"{row['outcome']} {row['comparison']} {row['measure']} for {row['group']} at "
                f"{row['timepoint']} already given on line {seen[ident]}",
                "one row per published estimate",
            )
        seen.setdefault(ident, row.line)
        entry = registry.get(key)
        if key and entry is None:
            report_orphan(report, row, registry)
            continue
        if entry is not None and entry.get("kind") != "meta-analysis":
            report.error(
                row.line,
                key,
                "citekey",
                f"{key} is a {entry.get('kind') or 'entry'}, not a meta-analysis",
                "a kind = {meta-analysis} entry",
            )
        outcome, unit = row["outcome"], row["unit"]
        if outcome in UNITS and unit and unit not in UNITS[outcome]:
            report.error(
                row.line,
                key,
                "unit",
                f"unit {unit!r} does not fit {outcome}",
                "one of " + ", ".join(map(repr, UNITS[outcome])),
            )
        est, lb, ub = (parse_number(row[c]) for c in ("estimate", "ci_lb", "ci_ub"))
        if est is not None and lb is not None and ub is not None and not lb <= est <= ub:
            report.error(
                row.line,
                key,
                "estimate",
                f"estimate {est:g} is outside its CI [{lb:g}, {ub:g}]",
                "ci_lb <= estimate <= ci_ub",
            )
        if outcome in PLAUSIBLE and unit in UNITS[outcome]:
            _plausible(report, row, outcome, unit)
    return report.problems


def _plausible(report: Reporter, row: Row, outcome: str, unit: str) -> None:
    """A mean difference cannot exceed the width of the outcome's plausible range."""
    low, high = PLAUSIBLE[outcome]
    width = (high - low) / units.factor(outcome, unit)  # in the row's own unit
    for column in ("estimate", "ci_lb", "ci_ub"):
        value = parse_number(row[column])
        if value is not None and not -width <= value <= width:
            report.error(
                row.line,
                row["citekey"],
                column,
                f"{outcome} {column} {value:g} {unit} is implausible",
                f"a difference between -{width:g} and {width:g} {unit}",
            )
