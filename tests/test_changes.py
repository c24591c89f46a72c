"""`evidence diff REV`: studies, numbers and pooled estimates that changed since a git revision."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from evidence.cli import main


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def repo(valid_copy: Path) -> Path:
    git(valid_copy, "init", "-q", "-b", "main")
    git(valid_copy, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(valid_copy, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    return valid_copy


def test_no_change(repo, capsys):
    assert main(["diff", "HEAD", "--root", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "No study added, removed or changed." in out
    assert "No pooled estimate moved." in out


def test_changed_number_and_moved_estimate(repo, capsys):
    outcomes = repo / "data" / "outcomes.csv"
    outcomes.write_text(
        outcomes.read_text().replace(
            "alpha2010_trial,control,meld,level,6 mo,mean,16.0,",
            "alpha2010_trial,control,meld,level,6 mo,mean,17.0,",
        )
    )
    assert main(["diff", "HEAD", "--root", str(repo), "--format", "json"]) == 0
    log = json.loads(capsys.readouterr().out)
    (number,) = log["numbers"]
    assert number["change"] == "changed" and number["arm"] == "control"
    assert number["before"].startswith("16 points") and number["after"].startswith("17 points")
    moved = [r for r in log["pooled"] if r["moved"]]
    assert {(r["outcome"], r["effect"], r["group"]) for r in moved} == {("meld", "control", "MSC")}
    (row,) = moved
    assert row["estimate_after"] == pytest.approx(row["estimate_before"] - 1.0)


def test_removed_study_is_listed(repo, capsys):
    bib = repo / "references.bib"
    text = bib.read_text()
    start = text.index("@article{delta2015_rats")
    bib.write_text(text[:start] + text[text.index("@article{omega2020_ma") :])
    assert main(["diff", "HEAD", "--root", str(repo)]) == 0
    assert "- removed: `delta2015_rats`" in capsys.readouterr().out


def test_bad_revision_exits_2(repo, capsys):
    assert main(["diff", "no-such-rev", "--root", str(repo)]) == 2
    assert "no-such-rev" in capsys.readouterr().err


def test_not_a_repository_exits_2(valid_copy, capsys):
    assert main(["diff", "HEAD", "--root", str(valid_copy)]) == 2


def test_unwritable_html_exits_2(repo, tmp_path, capsys):
    target = tmp_path / "missing" / "changes.html"
    assert main(["diff", "HEAD", "--root", str(repo), "--html", str(target)]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err
    assert not target.parent.exists()


def test_html_before_after_plot(repo, tmp_path, capsys):
    outcomes = repo / "data" / "outcomes.csv"
    outcomes.write_text(
        outcomes.read_text().replace(
            "alpha2010_trial,control,meld,level,6 mo,mean,16.0,",
            "alpha2010_trial,control,meld,level,6 mo,mean,17.0,",
        )
    )
    target = tmp_path / "changes.html"
    assert main(["diff", "HEAD", "--root", str(repo), "--html", str(target)]) == 0
    page = target.read_text(encoding="utf-8")
    assert "MELD score, versus control: MSC" in page
    assert "Plotly.newPlot" in page
    assert '<script src="http' not in page and "<script src='http" not in page  # self-contained
