"""``evidence report --tables`` writes text that spreadsheets show as text (issue 13): no live
formula in tables.xlsx or the CSVs (OWASP's CSV-injection advice: a leading ``'``), and control
characters pasted from a PDF never break the workbook half-way."""

from __future__ import annotations

import csv

import openpyxl
import pytest

from evidence import report
from evidence.escaping import spreadsheet_text, strip_controls

from .hostile import corpus, hostile_dataset

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    built = report.build(hostile_dataset(), report.Settings(outcomes=("meld",)))
    folder = tmp_path_factory.mktemp("tables") / "tables"
    paths = report.write_tables(built, folder)
    return built, folder, paths


def test_spreadsheet_text():
    assert spreadsheet_text("=1+1") == "'=1+1"
    assert spreadsheet_text("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_text("\t=1") == "'\t=1"
    assert spreadsheet_text("-2+3") == "'-2+3"
    assert spreadsheet_text("a\x00b") == "a\ufffdb"
    assert spreadsheet_text("plain") == "plain"
    assert spreadsheet_text(-2.5) == -2.5


def test_csv_cells_are_never_formulas(written):
    _, folder, _ = written
    hostile = [s for s in corpus() if s.startswith(FORMULA_START)]
    assert hostile
    fields = []
    for path in folder.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            fields += [f for row in csv.reader(handle) for f in row]
    for text in hostile:
        assert text not in fields, f"{text!r} written as is"
        assert "'" + strip_controls(text) in fields, f"{text!r} not found escaped"


def test_xlsx_is_complete_and_has_no_formula(written):
    built, folder, paths = written
    book = openpyxl.load_workbook(folder / "tables.xlsx")
    assert len(book.sheetnames) == len(built.tables)  # no one-sheet half workbook
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}: {cell.value!r}"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_START), cell.value
                    assert len(cell.value) <= 32_767
    assert {p.name for p in paths} == {p.name for p in folder.iterdir()} - {".evidence-tables"}


def test_tables_folder_with_other_files_is_refused(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.docx").write_text("precious")
    assert "did not write" in report.tables_folder_problem(folder)
    with pytest.raises(ValueError):
        report.write_tables(report.Report("<html></html>", {}), folder)
    assert (folder / "thesis.docx").read_text() == "precious"
