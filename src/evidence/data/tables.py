"""CSV tables of the dataset read with the line each record starts on, and their per-field rules."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from evidence.data.fields import FieldSpec, TableSpec
from evidence.data.grammar import CONTROL, control_character
from evidence.data.problems import Problem, Reporter
from evidence.storage import read_text


@dataclass(frozen=True)
class Row:
    """One CSV record: its 1-based starting line and its cells (stripped strings)."""

    line: int
    cells: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.cells.get(name, "")


@dataclass(frozen=True)
class Table:
    spec: TableSpec
    display: str
    rows: tuple[Row, ...]
    columns: tuple[str, ...]
    present: bool = True

    def first_line(self, citekey: str) -> int | None:
        """The line of the first row of ``citekey``."""
        return next((r.line for r in self.rows if r["citekey"] == citekey), None)


def read_table(root: Path, spec: TableSpec) -> tuple[Table, list[Problem]]:
    """Read ``spec``'s CSV under ``root``: problems of its header, shape and characters (the
    values themselves are checked by :func:`row_problems` and the rules)."""
    path = root / spec.path
    if not path.exists() and spec.optional:
        return Table(spec, spec.path, (), tuple(spec.columns), present=False), []
    text = read_text(path)
    if text.startswith("\ufeff"):
        text = text[1:]  # the byte-order mark Excel's "CSV UTF-8" writes
    report = Reporter(spec.path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        report.error(1, None, None, "file is empty", "a header row: " + ",".join(spec.columns))
        return Table(spec, spec.path, (), ()), report.problems
    _header_problems(report, spec, header)
    rows: list[Row] = []
    previous_end = reader.line_num
    try:
        for record in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            cells = {name: cell.strip() for name, cell in zip(header, record, strict=False)}
            if len(record) != len(header):
                report.error(
                    line,
                    cells.get("citekey") or None,
                    None,
                    f"row has {len(record)} fields, the header has {len(header)}",
                    "one value per column (quote values that contain commas)",
                )
                continue
            rows.append(Row(line, cells))
            report.extend(
                control_problems(
                    spec.path, lambda _n, at=line: at, cells.get("citekey") or None, cells
                )
            )
    except csv.Error as exc:
        report.error(
            reader.line_num,
            None,
            None,
            f"malformed CSV: {exc}",
            "RFC 4180 CSV with balanced quotes",
        )
    return Table(spec, spec.path, tuple(rows), tuple(header)), report.problems


def _header_problems(report: Reporter, spec: TableSpec, header: list[str]) -> None:
    columns = "columns " + ", ".join(spec.columns)
    for name in header:
        if name not in spec.columns:
            report.error(1, None, name, f"unknown column {name!r}", columns)
    for name, column in spec.columns.items():
        if column.required and name not in header:
            report.error(1, None, name, f"required column {name!r} is missing", columns)
    for name, count in Counter(header).items():
        if count > 1:
            report.error(
                1, None, name, f"column {name!r} appears {count} times", "each column once"
            )


def check_fields(
    specs: dict[str, FieldSpec],
    get: dict[str, str],
    file: str,
    line_of: Callable[[str], int | None],
    citekey: str | None,
    skip: Iterable[str] = (),
) -> list[Problem]:
    """Problems of each field of one record (a bib entry or a CSV row) against its spec."""
    skipped = set(skip)
    report = Reporter(file)
    for name, spec in specs.items():
        if name in skipped:
            continue
        for message, expected in spec.check(get.get(name)):
            report.error(line_of(name), citekey, name, message, expected)
    return report.problems


def row_problems(table: Table) -> list[Problem]:
    """Problems of every cell of ``table`` against its column's spec (absent columns skipped)."""
    problems = []
    missing_columns = {name for name in table.spec.columns if name not in table.columns}
    for row in table.rows:
        problems += check_fields(
            table.spec.columns,
            row.cells,
            table.display,
            lambda _name, line=row.line: line,
            row["citekey"] or None,
            skip=missing_columns,
        )
    return problems


def control_problems(
    file: str,
    line_of: Callable[[str], int | None],
    citekey: str | None,
    values: dict[str, str],
    pattern: re.Pattern[str] = CONTROL,
) -> list[Problem]:
    """A control character (pasted from a PDF, say) in any value: exports and reports choke."""
    report = Reporter(file)
    for name, text in values.items():
        code = control_character(text, pattern)
        if code:
            report.error(
                line_of(name),
                citekey,
                name,
                f"control character {code} in the text",
                "printable text",
            )
    return report.problems
