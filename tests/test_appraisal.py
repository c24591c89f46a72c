"""Appraisal files: the bundled ones are complete and clean, every broken variant is reported
with file, line, citekey and field, and validation never raises on bad data."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

import evidence
from evidence.appraisal import claims, grade, rob, validate
from evidence.appraisal.schema import (
    GRADE_EFFECTS,
    GRADE_GROUPS,
    GRADE_OUTCOMES,
    VERDICTS,
)
from evidence.schema import DatasetError

from .conftest import FIXTURES

APPRAISAL = FIXTURES / "appraisal"
VARIANTS = tomllib.loads((APPRAISAL / "broken.toml").read_text(encoding="utf-8"))["variant"]


@pytest.fixture
def appraisal_copy(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures/appraisal/valid that a test may break."""
    target = tmp_path / "dataset"
    shutil.copytree(APPRAISAL / "valid", target)
    return target


def apply(root: Path, variant: dict) -> None:
    path = root / variant["file"]
    if variant.get("delete"):
        path.unlink()
    elif "replace" in variant:
        pairs = variant["replace"]
        pairs = pairs if isinstance(pairs[0], list) else [pairs]
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            assert text.count(old) == 1, f"{variant['name']}: edit must match exactly once"
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    elif "drop_lines" in variant:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if variant["drop_lines"] not in line]
        assert len(kept) < len(lines), f"{variant['name']}: nothing to drop"
        path.write_text("".join(kept), encoding="utf-8")
    elif "append" in variant:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(variant["append"])
    elif "bytes" in variant:
        with path.open("ab") as handle:
            handle.write(bytes.fromhex(variant["bytes"]))


# --- the fixture and the bundled data -------------------------------------------------------------


def test_fixture_is_clean():
    assert evidence.dataset.validate(APPRAISAL / "valid") == []
    assert validate(APPRAISAL / "valid") == []


def test_there_are_broken_variants_for_every_file():
    names = [v["name"] for v in VARIANTS]
    assert len(names) == len(set(names)) >= 35
    assert {v["file"] for v in VARIANTS} >= {
        "data/rob.csv",
        "data/claims.csv",
        "data/grade.csv",
        "references.bib",
    }


@pytest.mark.parametrize("variant", VARIANTS, ids=[v["name"] for v in VARIANTS])
def test_broken_variant(variant, appraisal_copy):
    apply(appraisal_copy, variant)
    problems = validate(appraisal_copy)  # never raises
    expect = variant["expect"]
    severity = expect.get("severity", "error")
    matching = [
        p
        for p in problems
        if p.file == expect["file"]
        and p.severity == severity
        and p.line == expect.get("line", p.line)
        and p.citekey == expect.get("citekey", p.citekey)
        and p.field == expect.get("field", p.field)
        and expect["message"] in str(p)
    ]
    assert matching, "\n".join(str(p) for p in problems) or "no problems reported"
    printed = str(matching[0])
    # Printed exactly like the dataset's problems: file:line: severity: citekey [field] message
    where = f"{expect['file']}:{expect['line']}" if "line" in expect else expect["file"]
    assert printed.startswith(f"{where}: {severity}:")
    if "citekey" in expect:
        assert f" {expect['citekey']} " in printed
    if "field" in expect:
        assert f"[{expect['field']}]" in printed


def test_loaders_raise_dataset_error_on_errors(appraisal_copy):
    apply(appraisal_copy, next(v for v in VARIANTS if v["name"] == "rob_missing_domain"))
    with pytest.raises(DatasetError) as info:
        rob.load(appraisal_copy)
    assert any("no row for D4" in str(p) for p in info.value.problems)
    apply(appraisal_copy, next(v for v in VARIANTS if v["name"] == "claims_unknown_verdict"))
    with pytest.raises(DatasetError):
        claims.load(appraisal_copy)
    apply(appraisal_copy, next(v for v in VARIANTS if v["name"] == "grade_unknown_step"))
    with pytest.raises(DatasetError):
        grade.load_overrides(appraisal_copy)


def test_missing_appraisal_files_are_skipped(appraisal_copy):
    for name in ("claims.csv", "rob.csv", "grade.csv"):
        (appraisal_copy / "data" / name).unlink()
    assert validate(appraisal_copy) == []
    # The GRADE draft still runs: no risk-of-bias records ("no information"), no overrides.
    sof = grade.draft(evidence.load(appraisal_copy))
    assert len(sof) == len(GRADE_OUTCOMES) * len(GRADE_GROUPS) * len(GRADE_EFFECTS)


def test_every_verdict_has_a_colour_and_a_symbol():
    assert set(claims.VERDICT_STYLE) == set(VERDICTS)
    assert len({s["symbol"] for s in claims.VERDICT_STYLE.values()}) == len(VERDICTS)


@pytest.mark.parametrize("name", ["claims.csv", "rob.csv", "grade.csv"])
def test_validation_never_raises_on_truncated_files(appraisal_copy, name):
    path = appraisal_copy / "data" / name
    text = path.read_text(encoding="utf-8")
    for cut in range(0, len(text), max(len(text) // 40, 1)):
        path.write_text(text[:cut], encoding="utf-8")
        problems = validate(appraisal_copy)
        assert all(p.file for p in problems)
