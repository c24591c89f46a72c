"""Writing a report out: the HTML file, and its tables as CSV files and one XLSX workbook in a
folder replaced whole (spreadsheet-safe cells; what a killed run left is finished or removed)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from evidence.escaping import spreadsheet_text
from evidence.report.settings import Report


def write_html(report: Report, path: Path) -> None:
    from evidence.storage import write_atomic

    write_atomic(Path(path), report.html)


TABLES_MARKER = ".evidence-tables"  # in a tables folder we wrote: ours to replace

_SAFE_CELL_CHARS = 32_767  # Excel's limit for one cell


def tables_folder_problem(directory: Path) -> str | None:
    """Why ``directory`` cannot take the tables: it exists and holds files we did not write
    (replacing the folder would lose them)."""
    directory = Path(directory)
    if not directory.exists() or (directory / TABLES_MARKER).exists():
        return None
    if not directory.is_dir():
        return f"cannot write tables into {directory}: it is a file"
    if any(directory.iterdir()):
        return (
            f"{directory} holds files that evidence report did not write; "
            "give --tables a new or empty folder"
        )
    return None


def write_tables(report: Report, directory: Path) -> list[Path]:
    """Every table as ``<name>.csv`` plus all of them in ``tables.xlsx`` (one sheet each).

    All or nothing: the files are written into a temporary folder beside ``directory``, which
    then replaces it (a kill leaves the old folder or the new one; :func:`recover_outputs`
    tidies what a kill between the two renames leaves). Text cells are spreadsheet-safe.
    """
    import shutil
    import tempfile

    from evidence.storage import sync_dir, umask

    directory = Path(directory)
    problem = tables_folder_problem(directory)
    if problem:
        raise ValueError(problem)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp's folder is private (0700)
        names = []
        for name, frame in report.tables.items():
            # CRLF rows (RFC 4180): with "\n" rows, csv leaves a lone "\r" in a field unquoted
            # and a spreadsheet starts a new row there (and a formula with it)
            _spreadsheet_safe(frame).to_csv(tmp / f"{name}.csv", index=False, lineterminator="\r\n")
            names.append(f"{name}.csv")
        with pd.ExcelWriter(tmp / "tables.xlsx", engine="openpyxl") as excel:
            for name, frame in report.tables.items():
                _excel_safe(frame).to_excel(
                    excel, sheet_name=_sheet(name, excel.sheets), index=False
                )
        names.append("tables.xlsx")
        (tmp / TABLES_MARKER).write_text("written by evidence report; replaced on each run\n")
        for path in tmp.iterdir():
            with path.open("rb+") as handle:
                os.fsync(handle.fileno())
        sync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if directory.exists():
        old = Path(
            tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".old", dir=directory.parent)
        )
        os.replace(directory, old)  # an empty folder is replaced by a rename
        os.replace(tmp, directory)
        sync_dir(directory.parent)
        shutil.rmtree(old)
    else:
        os.replace(tmp, directory)
    sync_dir(directory.parent)
    return [directory / name for name in names]


def recover_outputs(out: Path, tables: Path | None) -> list[str]:
    """Tidy what a killed ``evidence report`` left beside its outputs; one message per thing."""
    import shutil

    messages = []
    out = Path(out)
    for leftover in sorted(out.parent.glob(f".{out.name}.*.tmp")):
        leftover.unlink()
        messages.append(f"removed {leftover}, left by an interrupted run ({out} was not changed)")
    if tables is None:
        return messages
    tables = Path(tables)
    for leftover in sorted(tables.parent.glob(f".{tables.name}.*.tmp")):
        shutil.rmtree(leftover, ignore_errors=True)
        messages.append(f"removed {leftover}, the unfinished tables of an interrupted run")
    for old in sorted(tables.parent.glob(f".{tables.name}.*.old")):
        if tables.exists() or not (old / TABLES_MARKER).exists():
            shutil.rmtree(old, ignore_errors=True)
            messages.append(f"removed {old}, the previous tables an interrupted run replaced")
        else:
            os.replace(old, tables)
            messages.append(f"restored {tables}: an interrupted run had moved it aside")
    return messages


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)
    ]


def _spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    # '=cmd' in a CSV opened in Excel is a live formula (OWASP CSV injection): text stays text
    out = frame.copy()
    for column in _text_columns(out):
        out[column] = out[column].map(spreadsheet_text).astype(object)
    return out


def _sheet(name: str, taken: Iterable[str]) -> str:
    base = name[:31]
    taken = set(taken)
    candidate, i = base, 1
    while candidate in taken:
        suffix = f"~{i}"
        candidate, i = base[: 31 - len(suffix)] + suffix, i + 1
    return candidate


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    # openpyxl cannot store numpy arrays or tuples in a cell; strings are what a reader wants.
    # Text is spreadsheet-safe (no live formula, no control character, which openpyxl refuses)
    # and within Excel's cell limit.
    out = frame.copy()
    for column in _text_columns(out):
        out[column] = out[column].map(_excel_cell).astype(object)
    return out


def _excel_cell(value: object) -> object:
    if value is None or value is pd.NA or isinstance(value, int | float | bool):
        return value
    text = spreadsheet_text(str(value))
    if len(text) > _SAFE_CELL_CHARS:
        mark = " [cut at Excel's cell limit; full text in the CSV]"
        text = text[: _SAFE_CELL_CHARS - len(mark)] + mark
    return text
