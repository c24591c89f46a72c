"""Rules of data/external.csv: published pooled estimates of meta-analysis entries."""

from __future__ import annotations

from evidence.data.grammar import parse_number
from evidence.data.problems import Problem, Reporter
from evidence.data.rules.links import report_orphan
from evidence.data.tables import Table
from evidence.data.vocabulary import UNITS
from evidence.registry import Registry


def external_problems(external: Table, registry: Registry) -> list[Problem]:
    report = Reporter(external.display)
    for row in external.rows:
        key = row["citekey"]
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
    return report.problems
