"""Hostile command lines (issue 13): one line and the right exit code, never a traceback, never
a changed file; ``evidence diff`` never hands its revision to git as an option."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from evidence.cli import main

from .test_changes import git
from .test_cli_add import DESCRIPTORS, SNIPPET, add, snapshot


@pytest.mark.parametrize("corr", ["5", "nan", "inf", "-0.1", "0.99"])
def test_report_corr_out_of_range_is_a_usage_error(valid_copy, tmp_path, capsys, corr):
    out = tmp_path / "r.html"
    assert main(["report", "--root", str(valid_copy), "--out", str(out), "--corr", corr]) == 2
    err = capsys.readouterr().err
    assert "--corr" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("corr", ["abc", ""])
def test_report_corr_not_a_number_is_a_usage_error(valid_copy, tmp_path, capsys, corr):
    with pytest.raises(SystemExit) as stop:
        main(["report", "--root", str(valid_copy), "--out", str(tmp_path / "r.html"),
              "--corr", corr])  # fmt: skip
    assert stop.value.code == 2
    assert "--corr" in capsys.readouterr().err


def test_add_from_stdin_that_is_not_utf8(valid_copy, monkeypatch, capsys):
    before = snapshot(valid_copy)
    stdin = io.TextIOWrapper(io.BytesIO(SNIPPET.encode("latin-1") + b"\xff\xfe title"))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["add", "-", "--root", str(valid_copy), *DESCRIPTORS]) == 2
    assert "<stdin>:8: cannot read: not valid UTF-8 (byte 0xff)" in capsys.readouterr().err
    assert snapshot(valid_copy) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--note", "ends in a backslash\\"], "[note] ends with a backslash"),
        (["--dose", "{{{"], "[dose] braces are BibTeX syntax"),
        (["--population-detail", "a } b"], "[population_detail] braces are BibTeX syntax"),
    ],
)
def test_add_option_values_that_would_break_the_entry(valid_copy, capsys, args, message):
    before = snapshot(valid_copy)
    assert add(valid_copy, *DESCRIPTORS, "--arm", "MSC=MSC:5", *args) == 1
    assert message in capsys.readouterr().out
    after = snapshot(valid_copy)
    after.pop(valid_copy / "new.bib")
    assert after == before


@pytest.mark.parametrize("arm", ["MSC=MSC:0", "MSC=MSC:99999999999999999999", "MSC=MSC:\u0663"])
def test_add_arm_sizes_ascii_and_bounded(valid_copy, capsys, arm):
    assert add(valid_copy, *DESCRIPTORS, "--arm", arm) == 2
    err = capsys.readouterr().err
    assert f"arm {arm!r}" in err and "Traceback" not in err


@pytest.fixture
def repo(valid_copy: Path) -> Path:
    git(valid_copy, "init", "-q", "-b", "main")
    git(valid_copy, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(valid_copy, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    return valid_copy


@pytest.mark.parametrize(
    "revision", ["--output=OUT", "--help", "-p", "HEAD --output=OUT", "HEAD:../x", "no-such"]
)
def test_diff_revision_is_never_an_option(repo, tmp_path, capsys, revision):
    target = tmp_path / "written-by-git"
    revision = revision.replace("OUT", str(target))
    assert main(["diff", "--root", str(repo), "--", revision]) == 2
    err = capsys.readouterr().err
    assert "is not a commit, tag or branch" in err and "Traceback" not in err
    assert not target.exists()


def test_diff_names_the_revision_in_errors_about_the_old_data(repo, capsys):
    arms = repo / "data" / "arms.csv"
    good = arms.read_text()
    arms.write_text(good.replace("alpha2010_trial,MSC,MSC,20,", "alpha2010_trial,MSC,MSC,x,"))
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "bad")
    git(repo, "tag", "v-bad")
    arms.write_text(good)
    assert main(["diff", "v-bad", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "v-bad:data/arms.csv:2:" in err
    assert "\ndata/arms.csv:2:" not in err  # not blamed on the working tree


def test_diff_unreadable_old_file_names_the_revision(repo, capsys):
    bib = repo / "references.bib"
    good = bib.read_bytes()
    bib.write_bytes(good + b"\n% \xff\n")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "latin-1")
    bib.write_bytes(good)
    assert main(["diff", "HEAD", "--root", str(repo)]) == 2
    err = capsys.readouterr().err
    assert "HEAD:references.bib:" in err and "not valid UTF-8" in err
    assert "evidence-diff-" not in err  # no temporary path


def test_citekeys_bibtex_would_reject_or_confuse(tmp_path):
    from evidence.registry import read_registry

    bib = tmp_path / "r.bib"
    bib.write_text(
        "@article{a b,\n title = {x},\n}\n@article{Key1,\n title = {z},\n}\n"
        "@article{key1,\n title = {w},\n}\n",
        encoding="utf-8",
    )
    found = [str(p) for p in read_registry(bib).problems]
    assert "r.bib:1: error: a b citekey 'a b' has characters BibTeX rejects" in found[0]
    assert any("r.bib:7: error: key1 citekey 'key1' differs from 'Key1'" in f for f in found)
