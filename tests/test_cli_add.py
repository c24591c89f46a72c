"""`evidence add`: one study in, checked, appended byte-faithfully; every refusal writes nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import evidence
from evidence.cli import main

SNIPPET = """@article{zeta2019_trial,
  author = {Zeta, Zoe and Eta, Ed},
  title = {Umbilical cord MSC in decompensated cirrhosis: a pilot trial},
  journal = {Cell Therapy Reports},
  year = {2019},
  doi = {10.1000/zeta.2019},
}
"""
DESCRIPTORS = [
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
    "abstract https://x.org/z",
]


def snapshot(root: Path) -> dict[Path, bytes]:
    """Every file's bytes; the (empty) lock file is not data."""
    return {
        p: p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".evidence.lock"
    }


def add(root: Path, *args: str, snippet: str = SNIPPET) -> int:
    path = root / "new.bib"
    path.write_text(snippet, encoding="utf-8")
    return main(["add", str(path), "--root", str(root), *args])


def test_add_appends_and_leaves_every_other_byte(valid_copy, capsys):
    bib = valid_copy / "references.bib"
    before = {
        name: (valid_copy / name).read_bytes()
        for name in ("references.bib", "data/arms.csv", "data/outcomes.csv")
    }
    code = add(valid_copy, *DESCRIPTORS, "--arm", "MSC=MSC:15", "--arm", "control=control:15")
    out = capsys.readouterr().out
    assert code == 0, out
    for name, old in before.items():
        new = (valid_copy / name).read_bytes()
        assert new.startswith(old), f"{name}: existing bytes changed"
    assert b"@article{zeta2019_trial," in bib.read_bytes()[len(before["references.bib"]) :]
    assert "To do for zeta2019_trial" in out
    assert "data/outcomes.csv:23: error: zeta2019_trial [value] is missing" in out


def test_dry_run_writes_nothing(valid_copy, capsys):
    before = snapshot(valid_copy)
    assert add(valid_copy, *DESCRIPTORS, "--arm", "MSC=MSC:15", "--dry-run") == 0
    after = snapshot(valid_copy)
    after.pop(valid_copy / "new.bib")
    assert after == before
    assert "+@article{zeta2019_trial," in capsys.readouterr().out


@pytest.mark.parametrize(
    ("snippet", "args", "message"),
    [
        (SNIPPET.replace("zeta2019_trial", "alpha2010_trial"), [], "exists already"),
        (SNIPPET.replace("10.1000/zeta.2019", "10.1000/alpha.2010"), [], "also on alpha2010_trial"),
        (
            SNIPPET.replace("doi = {10.1000/zeta.2019},", "pmid = {11111111},"),
            [],
            "PMID 11111111 is also on alpha2010_trial",
        ),
        (
            SNIPPET.replace(
                "Umbilical cord MSC in decompensated cirrhosis: a pilot trial",
                "A randomised trial of bone-marrow MSC in decompensated cirrhosis.",
            ),
            [],
            "likely the same study",
        ),
        (
            SNIPPET.replace("doi = {10.1000/zeta.2019},", "registration = {NCT00000001},"),
            [],
            "likely the same cohort",
        ),
        (SNIPPET + "\n@article{other, title = {x}}\n", [], "the snippet holds 2 entries"),
        (
            SNIPPET.replace("title = {Umbilical", "title = {{Umbilical"),
            [],
            "malformed BibTeX: Unexpectedly reached end of file",  # the reason, not ""
        ),
        (
            SNIPPET.replace("zeta2019_trial,", "zeta2019_trial"),
            [],
            "malformed BibTeX: Expected comma after entry key",
        ),
        (SNIPPET, ["--route", "femoral vein"], "unknown value 'femoral vein'"),
        (SNIPPET, ["--arm", "cells=HSC:10"], "group 'HSC' is not among the entry's cell_groups"),
        (SNIPPET, ["--outcomes", "melt"], "unknown outcome 'melt'"),
        (SNIPPET, ["--timepoint", "six months"], "is not a follow-up timepoint"),
        (SNIPPET, [], "no arms given"),
    ],
)
def test_refusals_write_nothing(valid_copy, capsys, snippet, args, message):
    (valid_copy / "new.bib").write_text(snippet, encoding="utf-8")
    before = snapshot(valid_copy)
    extra = [] if "--arm" in args else ["--arm", "MSC=MSC:15"]
    if message == "no arms given":
        extra = []
    code = main(
        ["add", str(valid_copy / "new.bib"), "--root", str(valid_copy), *DESCRIPTORS, *args, *extra]
    )
    out = capsys.readouterr()
    assert code == 1, out
    assert message in out.out
    assert "Traceback" not in out.out + out.err
    assert snapshot(valid_copy) == before


def test_force_accepts_a_likely_duplicate(valid_copy):
    snippet = SNIPPET.replace("doi = {10.1000/zeta.2019},", "registration = {NCT00000001},")
    assert add(valid_copy, *DESCRIPTORS, "--arm", "MSC=MSC:15", snippet=snippet) == 1
    assert add(valid_copy, *DESCRIPTORS, "--arm", "MSC=MSC:15", "--force", snippet=snippet) == 0


def test_no_numbers_study_validates_clean(valid_copy, capsys):
    code = add(
        valid_copy,
        *DESCRIPTORS,
        "--arm",
        "MSC=MSC:15",
        "--no-numbers",
        "abstract gives directions only",
    )
    assert code == 0
    problems = [p for p in evidence.dataset.validate(valid_copy) if p.citekey == "zeta2019_trial"]
    assert {p.field for p in problems if p.severity == "error"} == {"confidence", "locator"}


def test_snippet_from_stdin(valid_copy, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(SNIPPET))
    code = main(
        ["add", "-", "--root", str(valid_copy), *DESCRIPTORS, "--arm", "MSC=MSC:15", "--dry-run"]
    )
    assert code == 0


def test_unreadable_snippet_exits_2(valid_copy, capsys):
    (valid_copy / "new.bib").write_bytes(b"@article{a, title = {caf\xe9}}")
    assert main(["add", str(valid_copy / "new.bib"), "--root", str(valid_copy)]) == 2
    assert "not valid UTF-8" in capsys.readouterr().err
    assert main(["add", str(valid_copy / "missing.bib"), "--root", str(valid_copy)]) == 2


def test_failed_write_writes_nothing_and_names_the_file(valid_copy, monkeypatch, capsys):
    """A full disk on the second file: no file changed, no temporary file left, one line
    naming the file (issue 13: it used to name none)."""
    import errno

    from evidence import storage

    before = snapshot(valid_copy)
    calls = []
    real = storage._write_temp

    def flaky(path, text):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, text)

    monkeypatch.setattr(storage, "_write_temp", flaky)
    code = add(valid_copy, *DESCRIPTORS, "--arm", "MSC=MSC:15")
    assert code == 2
    err = capsys.readouterr().err
    assert "data/arms.csv" in err and "No space left on device" in err and "Traceback" not in err
    after = snapshot(valid_copy)
    after.pop(valid_copy / "new.bib")
    before.pop(valid_copy / "new.bib", None)
    assert after == before
