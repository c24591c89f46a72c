"""Appraisal: the claims audit, risk of bias, GRADE certainty and the study flow.

Data flows one way: ``evidence.dataset`` -> ``evidence.compare`` -> here -> figures -> app. This
package reads ``data/claims.csv``, ``data/rob.csv`` and ``data/grade.csv`` (formats in
docs/appraisal.md), validates them with the same :class:`~evidence.schema.Problem` records as the
rest of the dataset, and computes the tables the views show.
"""

from __future__ import annotations

from pathlib import Path

from evidence.data.problems import Problem, file_order

__all__ = ["validate"]


def _source_problems(root: Path) -> list[Problem]:
    """Warnings for ``source`` addresses that name no record (an IP address, a search page)."""
    from evidence.appraisal import schema as aschema
    from evidence.data.rules.urls import column_problems

    found = []
    for spec, key in (
        (aschema.CLAIMS_TABLE, "cites"),  # as the claims rules name a row
        (aschema.ROB_TABLE, "citekey"),
        (aschema.GRADE_TABLE, None),
    ):
        table, _ = aschema.read(root, spec, key_column=key)  # its own problems: reported above
        found += column_problems(table, "source", key)
    return found


def validate(root: Path | str = ".") -> list[Problem]:
    """Every problem in the appraisal files at ``root``, errors and warnings, in file order.

    Loads what it needs itself (the registry) and never raises on bad data: an unreadable
    ``references.bib`` or appraisal file becomes a problem. Files that do not exist are skipped
    (a dataset without appraisal files is valid); see docs/appraisal.md.
    """
    from evidence.appraisal import claims, grade, rob
    from evidence.dataset import BIB_FILE
    from evidence.registry import read_registry
    from evidence.storage import UnreadableFile

    root = Path(root)
    try:
        registry = read_registry(root / BIB_FILE, BIB_FILE)
    except UnreadableFile as exc:
        return [Problem(BIB_FILE, exc.line, None, None, f"cannot read: {exc.reason}", None)]
    found = claims.problems(root, registry) + rob.problems(root, registry) + grade.problems(root)
    found += _source_problems(root)
    unique = set(found)
    return sorted(unique, key=file_order)
