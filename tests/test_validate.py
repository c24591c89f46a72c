"""The validator: the bundled data is clean, and each broken variant gets the right message."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

import evidence
from evidence.cli import main
from evidence.dataset import validate
from evidence.schema import DatasetError
from evidence.storage import UnreadableFile

from .conftest import FIXTURES

VARIANTS = tomllib.loads((FIXTURES / "broken.toml").read_text(encoding="utf-8"))["variant"]


def apply(root: Path, variant: dict) -> None:
    path = root / variant["file"]
    if variant.get("delete"):
        path.unlink()
    elif "replace" in variant:
        old, new = variant["replace"]
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{variant['name']}: edit must match exactly once"
        path.write_text(text.replace(old, new), encoding="utf-8")
    elif "append" in variant:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(variant["append"])
    elif "bytes" in variant:
        with path.open("ab") as handle:
            handle.write(bytes.fromhex(variant["bytes"]))


def test_fixture_dataset_is_clean():
    assert [p for p in validate(FIXTURES / "valid")] == []


def test_there_are_at_least_25_broken_variants():
    assert len(VARIANTS) >= 25
    assert len({v["name"] for v in VARIANTS}) == len(VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v["name"] for v in VARIANTS])
def test_broken_variant(variant, valid_copy, capsys):
    apply(valid_copy, variant)
    before = {p: p.read_bytes() for p in valid_copy.rglob("*") if p.is_file()}
    code = main(["validate", "--root", str(valid_copy)])
    captured = capsys.readouterr()
    expect = variant["expect"]
    assert code == variant.get("exit", 1), captured.out + captured.err
    # Validation never changes a file.
    assert {p: p.read_bytes() for p in valid_copy.rglob("*") if p.is_file()} == before
    assert "Traceback" not in captured.out + captured.err
    if code == 2:
        assert expect["file"] in captured.err and expect["message"] in captured.err
        if "line" in expect:
            assert f"{expect['file']}:{expect['line']}:" in captured.err
        with pytest.raises(UnreadableFile):
            evidence.load(valid_copy)
        return
    errors = [p for p in validate(valid_copy) if p.severity == "error"]
    matching = [
        p
        for p in errors
        if p.file == expect["file"]
        and p.line == expect.get("line", p.line)
        and p.citekey == expect.get("citekey", p.citekey)
        and p.field == expect.get("field", p.field)
        and expect["message"] in str(p)
    ]
    assert matching, "\n".join(str(p) for p in errors) or "no errors reported"
    # The printed line names file:line, citekey and field.
    printed = str(matching[0])
    assert printed in captured.out
    with pytest.raises(DatasetError) as info:
        evidence.load(valid_copy)
    assert matching[0] in info.value.problems


def test_json_output_is_machine_readable(valid_copy, capsys):
    apply(valid_copy, next(v for v in VARIANTS if v["name"] == "outcomes_negative_sd"))
    assert main(["validate", "--root", str(valid_copy), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["errors"][0]["field"] == "value"
    assert report["errors"][0]["line"] == 3
    assert set(report) == {"root", "errors", "warnings"}


def test_warnings_are_kept_apart_from_errors(valid_copy, capsys):
    bib = valid_copy / "references.bib"
    bib.write_text(bib.read_text().replace("  doi = {10.1000/delta.2015},\n", ""))
    assert main(["validate", "--root", str(valid_copy)]) == 0
    out = capsys.readouterr().out
    assert "warning: delta2015_rats [doi] no DOI recorded" in out
    assert main(["validate", "--root", str(valid_copy), "--strict"]) == 1


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate", "--format", "yaml"])
    assert info.value.code == 2


def test_validate_covers_the_appraisal_files(tmp_path, capsys):
    import shutil

    root = tmp_path / "dataset"
    shutil.copytree(FIXTURES / "appraisal" / "valid", root)
    assert main(["validate", "--root", str(root), "-q"]) == 0
    rob = root / "data" / "rob.csv"
    lines = rob.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("judgement")] = "maybe"
    lines[1] = ",".join(cells)
    rob.write_text("".join(lines), encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", "--root", str(root)]) == 1
    assert "data/rob.csv:2: error:" in capsys.readouterr().out
