"""No lost study, no half-written dataset (issue 13): the real command line as subprocesses.

- 2, then 8 simultaneous ``evidence add`` of different studies: every study is kept (the lock is
  held from the first read to the last rename).
- ``kill -9`` at random moments of ``evidence add`` and ``evidence report --tables`` (run through
  tests/fixtures/hostile/slow_io.py, which slows renames and fsyncs so that kills land in the
  write phase too): after the next command's recovery the files are as they were or as they
  should be, never in between, and no temporary file is left.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from evidence import report
from evidence.registry import read_registry

from .conftest import FIXTURES

SLOW_IO = FIXTURES / "hostile" / "slow_io.py"
WORDS = (
    "umbilical cord stromal cells in alcoholic cirrhosis",
    "peripheral blood CD34 infusion for hepatitis B failure",
    "autologous marrow mononuclear cells through the portal vein",
    "adipose derived stromal cells and liver stiffness",
    "granulocyte colony stimulating factor with CD133 selection",
    "menstrual blood progenitors in end stage liver disease",
    "Wharton jelly mesenchymal cells given intravenously",
    "placental stem cells for primary biliary cholangitis",
)
ADD_ARGS = [
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
    "abstract https://example.org/x",
    "--arm",
    "MSC=MSC:10",
    "--arm",
    "control=control:10",
]


def snippet(i: int) -> str:
    return (
        f"@article{{conc{i}_study,\n  author = {{Writer{i}, Wanda}},\n"
        f"  title = {{{WORDS[i].capitalize()}: trial {i}}},\n  journal = {{Journal {i}}},\n"
        f"  year = {{2020}},\n  doi = {{10.1000/conc.{i}}},\n}}\n"
    )


def cli(*args: str, slow: float | None = None) -> list[str]:
    if slow is None:
        return [sys.executable, "-m", "evidence.cli", *args]
    return [sys.executable, str(SLOW_IO), str(slow), *args]


def add_command(root: Path, i: int, slow: float | None = None) -> list[str]:
    path = root.parent / f"new{i}.bib"
    path.write_text(snippet(i), encoding="utf-8")
    return cli("add", str(path), "--root", str(root), *ADD_ARGS, slow=slow)


def state(root: Path) -> dict[str, bytes]:
    """Every file of the dataset folder but the (empty) lock file."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".evidence.lock"
    }


def leftovers(folder: Path) -> list[str]:
    return sorted(
        str(p) for p in folder.rglob(".*") if p.name not in (".evidence.lock", ".evidence-tables")
    )


# Eight at once is in the full run only (slow); two at once already race for the lock.
@pytest.mark.parametrize("n", [2, pytest.param(8, marks=pytest.mark.slow)])
def test_simultaneous_adds_keep_every_study(valid_copy, n):
    procs = [
        subprocess.Popen(add_command(valid_copy, i), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(n)
    ]
    results = [(p.wait(timeout=600), p.stderr.read().decode()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [code for code, _ in results] == [0] * n, results
    keys = read_registry(valid_copy / "references.bib").keys
    arms = (valid_copy / "data" / "arms.csv").read_text(encoding="utf-8")
    for i in range(n):
        assert keys.count(f"conc{i}_study") == 1, f"study {i} lost"
        assert arms.count(f"conc{i}_study,") == 2, f"arms of study {i}"
    assert leftovers(valid_copy) == []


def test_a_file_changed_underneath_is_not_overwritten(valid_copy, monkeypatch, capsys):
    """The lock keeps out other evidence commands; a hand edit between read and write is
    caught by the re-check and nothing is written."""
    from evidence import authoring
    from evidence.cli import main

    real_apply = authoring.apply
    arms = valid_copy / "data" / "arms.csv"

    def edit_then_apply(change):
        arms.write_text(arms.read_text(encoding="utf-8") + "# edited by hand\n", "utf-8")
        real_apply(change)

    monkeypatch.setattr(authoring, "apply", edit_then_apply)
    (valid_copy / "new.bib").write_text(snippet(0), encoding="utf-8")
    before = (valid_copy / "references.bib").read_bytes()
    code = main(["add", str(valid_copy / "new.bib"), "--root", str(valid_copy), *ADD_ARGS])
    assert code == 2
    assert "data/arms.csv changed while this command ran" in capsys.readouterr().err
    assert (valid_copy / "references.bib").read_bytes() == before
    assert arms.read_text(encoding="utf-8").endswith("# edited by hand\n")


def _timed(command: list[str]) -> float:
    start = time.monotonic()
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    return time.monotonic() - start


def _kill_at(command: list[str], after: float) -> None:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=after)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)


@pytest.mark.slow  # many real processes killed at random points: the full run only
def test_kill_9_during_add_leaves_before_or_after(valid_copy, tmp_path):
    rng = random.Random(13)
    before = state(valid_copy)
    done = tmp_path / "done"
    shutil.copytree(valid_copy, done)
    subprocess.run(add_command(done, 0), check=True, capture_output=True, timeout=600)
    after = state(done)
    assert after != before
    timing = tmp_path / "timing"
    shutil.copytree(valid_copy, timing)
    duration = _timed(add_command(timing, 0, slow=0.3))
    seen = {"before": 0, "after": 0, "recovered": 0}
    for trial in range(6):
        root = tmp_path / f"trial{trial}"
        shutil.copytree(valid_copy, root)
        _kill_at(add_command(root, 0, slow=0.3), rng.uniform(0.3 * duration, duration))
        left = leftovers(root)
        # the next command (any that reads the dataset) finishes or undoes, and says so
        nxt = subprocess.run(
            cli("validate", "--root", str(root)), capture_output=True, text=True, timeout=600
        )
        assert "Traceback" not in nxt.stderr
        if left:
            seen["recovered"] += 1
            assert "interrupted command" in nxt.stderr, (left, nxt.stderr)
        now = state(root)
        assert now in (before, after), f"trial {trial}: a state in between"
        assert leftovers(root) == []
        seen["before" if now == before else "after"] += 1
    print(f"kill -9 during add, 6 trials: {seen}")


@pytest.mark.slow  # many real reports killed at random points: the full run only
def test_kill_9_during_report_tables_leaves_old_or_new(valid_copy, tmp_path):
    rng = random.Random(7)
    out = tmp_path / "out"
    out.mkdir()
    page, tables = out / "report.html", out / "tables"
    command = ["report", "--root", str(valid_copy), "--out", str(page), "--tables", str(tables)]
    subprocess.run(cli(*command), check=True, capture_output=True, timeout=600)
    names = sorted(p.name for p in tables.iterdir())
    csvs = {p.name: p.read_bytes() for p in tables.glob("*.csv")}
    sheets = openpyxl.load_workbook(tables / "tables.xlsx", read_only=True).sheetnames
    duration = _timed(cli(*command, slow=0.3))
    seen = {"messages": 0}
    for _ in range(4):
        _kill_at(cli(*command, slow=0.3), rng.uniform(0.3 * duration, duration))
        # what `evidence report` does first: tidy what the killed run left, saying so
        seen["messages"] += len(report.recover_outputs(page, tables))
        assert leftovers(out) == []
        assert page.read_text(encoding="utf-8").endswith("</html>")
        assert sorted(p.name for p in tables.iterdir()) == names
        assert {p.name: p.read_bytes() for p in tables.glob("*.csv")} == csvs
        assert openpyxl.load_workbook(tables / "tables.xlsx", read_only=True).sheetnames == sheets
    print(f"kill -9 during report --tables, 4 trials: {seen}")
