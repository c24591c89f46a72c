"""`evidence report`: one self-contained HTML file and its tables; the author workflow end to end.

The end-to-end test: snippet -> add -> fill rows -> validate -> report shows it in the forest
plot -> diff lists it.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

import evidence
from evidence import report
from evidence.cli import main

from .conftest import FIXTURES

#: The small dataset with every appraisal file (claims, risk of bias, GRADE): the report's code
#: tests run on it; what the bundled report says of the curated studies is asserted in
#: tests/bundled/test_report_data.py.
APPRAISAL_FIXTURE = FIXTURES / "appraisal" / "valid"


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("report")
    page, tables = out / "report.html", out / "tables"
    args = ["report", "--root", str(APPRAISAL_FIXTURE), "--out", str(page), "--tables", str(tables)]
    assert main(args) == 0
    return page, tables


def test_report_is_self_contained(fixture_report):
    page = fixture_report[0].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for remote in ('src="http', "src='http", 'href="http://cdn', "@import"):
        assert remote not in page.split("</head>")[0] + page.replace('href="https://doi.org', ""), (
            remote
        )
    assert page.count("plotly.js v") <= 2  # the library is inlined once (banner + version)
    assert page.count("Plotly.newPlot") >= 14


def test_report_content(fixture_report):
    page = fixture_report[0].read_text(encoding="utf-8")
    for text in (
        "The studies",
        "MELD score: cells versus control",
        "Risk of bias",
        "Certainty of evidence",
        "Study flow",
        "Claims of the source article",
        "Alpha A, Beta B. A randomised trial of bone-marrow MSC",  # the reference list
        "not reported",
        "cannot be tested here",
    ):
        assert text in page, text


def test_report_appraisal_tables(fixture_report):
    from evidence.appraisal.claims import VERDICT_STYLE

    page = fixture_report[0].read_text(encoding="utf-8")
    # verdicts as badges with symbol and word (one per verdict of the fixture's claims.csv),
    # each claim expandable to its evidence
    for verdict in ("supports", "partly supports", "unverifiable"):
        style = VERDICT_STYLE[verdict]
        badge = f'background:{style["colour"]};color:{style["text"]}">{style["symbol"]} {verdict}<'
        assert badge in page, verdict
    assert "<details><summary>Combining the two cell types beats either alone." in page
    # the Summary of Findings: outcome, studies, patients, effect, certainty, statement
    sof = page[page.index('<table class="sof">') :]
    sof = sof[: sof.index("</table>")]
    head = sof[: sof.index("</thead>")]
    for column in ("outcome", "studies", "patients", "effect (95% CI)", "certainty"):
        assert f"<th>{column}</th>" in head, column
    # the fixture's one controlled MELD trial, rated down for indirectness by data/grade.csv
    assert (
        "We are very uncertain about the effect of MSC therapy on the MELD score compared with "
        "control (1 study, 37 patients;" in sof
    )


def test_tables_as_csv_and_xlsx(fixture_report):
    tables = fixture_report[1]
    names = {p.stem for p in tables.glob("*.csv")}
    assert {
        "studies",
        "effects_meld_control",
        "pooled_meld_control",
        "risk_of_bias",
        "summary_of_findings",
        "claims",
    } <= names
    with (tables / "pooled_meld_control.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["group"] for r in rows} >= {"MSC+HSC", "MSC", "HSC", "BM-MNC"}
    workbook = openpyxl.load_workbook(tables / "tables.xlsx", read_only=True)
    assert len(workbook.sheetnames) == len(names)


def test_report_options_select_views(tmp_path):
    page = tmp_path / "r.html"
    assert (
        main(
            [
                "report",
                "--root",
                str(APPRAISAL_FIXTURE),
                "--out",
                str(page),
                "--outcome",
                "albumin",
                "--effect",
                "change",
                "--estimator",
                "DL",
                "--test",
                "knha",
            ]
        )
        == 0
    )
    text = page.read_text(encoding="utf-8")
    assert "Albumin: change from baseline within arms" in text
    assert "MELD score: change" not in text
    assert "DL estimator, Knapp-Hartung" in text


def test_bad_dataset_gives_no_report(valid_copy, tmp_path, capsys):
    outcomes = valid_copy / "data" / "outcomes.csv"
    outcomes.write_text(outcomes.read_text().replace(",sd,5.6,", ",sd,-5.6,"))
    assert main(["report", "--root", str(valid_copy), "--out", str(tmp_path / "r.html")]) == 1
    assert not (tmp_path / "r.html").exists()
    assert "negative sd" in capsys.readouterr().err


def test_unwritable_outputs_are_refused_before_the_build(valid_copy, tmp_path, capsys):
    """A message and exit 2, no traceback, nothing written; checked before the build starts."""
    missing = tmp_path / "no-such-folder" / "r.html"
    assert main(["report", "--root", str(valid_copy), "--out", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {missing}: no folder" in err and "Traceback" not in err
    assert "[1/" not in err  # refused before any work
    assert main(["report", "--root", str(valid_copy), "--out", str(tmp_path)]) == 2
    assert "it is a folder" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = tmp_path / "r.html"
    args = ["report", "--root", str(valid_copy), "--out", str(out), "--tables", str(blocker / "t")]
    assert main(args) == 2
    assert "cannot write" in capsys.readouterr().err
    assert not out.exists()
    assert sorted(q.name for q in tmp_path.iterdir()) == ["a-file", valid_copy.name]


SNIPPET = """@article{zeta2019_trial,
  author = {Zeta, Zoe and Eta, Ed},
  title = {Umbilical cord MSC in decompensated cirrhosis: a randomised pilot},
  journal = {Cell Therapy Reports},
  year = {2019},
  doi = {10.1000/zeta.2019},
}
"""


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def fill(outcomes: Path, values: dict[tuple[str, str, str], str]) -> None:
    """Fill the template rows `evidence add` wrote (value, locator, confidence)."""
    with outcomes.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    col = {name: header.index(name) for name in header}
    for row in rows[1:]:
        key = (row[col["arm"]], row[col["timepoint"]], row[col["statistic"]])
        if row[col["citekey"]] == "zeta2019_trial" and key in values:
            row[col["value"]] = values[key]
            row[col["locator"]] = "Table 2"
            row[col["confidence"]] = "verified"
    with outcomes.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def test_author_workflow_end_to_end(tmp_path, capsys):
    root = tmp_path / "review"
    shutil.copytree(FIXTURES / "valid", root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-qm", "before")
    (root / "zeta.bib").write_text(SNIPPET, encoding="utf-8")

    # add: the entry plus template rows
    assert (
        main(
            [
                "add",
                str(root / "zeta.bib"),
                "--root",
                str(root),
                "--design",
                "RCT",
                "--species",
                "human",
                "--population",
                "decompensated cirrhosis",
                "--cell-groups",
                "MSC",
                "--confidence",
                "verified",
                "--source",
                "full text https://example.org/zeta Table 2",
                "--n-total",
                "30",
                "--arm",
                "UC-MSC=MSC:15",
                "--arm",
                "control=control:15",
                "--outcomes",
                "meld",
                "--timepoint",
                "6 mo",
            ]
        )
        == 0
    )
    assert main(["validate", "--root", str(root), "-q"]) == 1  # blanks left to fill

    # fill the rows the template asked for
    arms = root / "data" / "arms.csv"
    arms.write_text(
        arms.read_text()
        .replace(
            "zeta2019_trial,UC-MSC,MSC,15,,,,",
            "zeta2019_trial,UC-MSC,MSC,15,randomised,Table 1,verified,",
        )
        .replace(
            "zeta2019_trial,control,control,15,,,,",
            "zeta2019_trial,control,control,15,randomised,Table 1,verified,",
        )
    )
    fill(
        root / "data" / "outcomes.csv",
        {
            ("UC-MSC", "baseline", "mean"): "18.2",
            ("UC-MSC", "baseline", "sd"): "4.1",
            ("UC-MSC", "6 mo", "mean"): "14.0",
            ("UC-MSC", "6 mo", "sd"): "3.9",
            ("control", "baseline", "mean"): "18.0",
            ("control", "baseline", "sd"): "4.4",
            ("control", "6 mo", "mean"): "17.1",
            ("control", "6 mo", "sd"): "4.2",
        },
    )
    capsys.readouterr()
    assert main(["validate", "--root", str(root), "-q"]) == 0, capsys.readouterr().out

    # report: the new study is a row of the MELD forest plot
    data = evidence.load(root)
    built = report.build(data, report.Settings(outcomes=("meld",), effects=("control",)))
    assert "Zeta 2019" in built.html
    effects = built.tables["effects_meld_control"]
    zeta = effects[effects["citekey"] == "zeta2019_trial"]
    assert zeta["included"].tolist() == [True]
    assert zeta["yi"].iloc[0] == pytest.approx(14.0 - 17.1)

    # diff: the change log lists the study, its numbers and the moved estimate
    assert main(["diff", "HEAD", "--root", str(root)]) == 0
    log = capsys.readouterr().out
    assert "- added: `zeta2019_trial` Zeta 2019: RCT, MSC" in log
    assert "added: `zeta2019_trial` UC-MSC meld level 6 mo mean: - -> 14 points (verified)" in log
    assert "| MELD score | control | MSC |" in log


def test_report_states_the_bayesian_model_and_its_prior(fixture_report):
    page, tables = fixture_report
    text = page.read_text(encoding="utf-8")
    assert "Bayesian (half-normal prior on tau)" in text
    assert "Half-normal(" in text and "prior on tau" in text
    assert "Spahr 2013" in text  # the MELD threshold's source
    assert any(p.name.startswith("bayes_") for p in tables.iterdir())
