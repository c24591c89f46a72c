"""Appraisal files: the bundled ones are complete and clean, every broken variant is reported
with file, line, citekey and field, and validation never raises on bad data."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

import evidence
from evidence.appraisal import claims, flow, grade, rob, validate
from evidence.appraisal.schema import (
    GRADE_EFFECTS,
    GRADE_GROUPS,
    GRADE_OUTCOMES,
    TOOL_FOR_DESIGN,
    VERDICTS,
)
from evidence.schema import DatasetError

from .conftest import FIXTURES, ROOT

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


def test_bundled_appraisal_has_no_errors():
    problems = validate(ROOT)
    assert [str(p) for p in problems if p.severity == "error"] == []


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


# --- "done when" on the bundled data --------------------------------------------------------------


@pytest.fixture(scope="module")
def data() -> evidence.Dataset:
    return evidence.load(ROOT)


def test_every_seed_reference_has_an_audited_claim(data):
    table = claims.load(ROOT, data)
    seed = data.studies.dropna(subset=["seed_ref"])
    assert len(seed) == 6
    assert set(seed["citekey"]) <= set(table["cites"].dropna())
    assert set(table["verdict"]) <= set(VERDICTS)
    assert (table["topic"] == "central").sum() == 1
    # What the cited work is comes from the registry, not from the claims file.
    c2 = table.set_index("claim_id").loc["C2"]
    assert (c2["cited_design"], c2["cited_cells"], c2["cited_n"]) == ("single-arm", "MSC", 8)


def test_every_controlled_study_has_a_risk_of_bias_record(data):
    table = rob.load(ROOT, data)
    studies = data.studies[data.studies["kind"] == "study"]
    for study in studies.itertuples():
        rows = table[table["citekey"] == study.citekey]
        assert not rows.empty, study.citekey
        assert set(rows["tool"]) == {TOOL_FOR_DESIGN[study.design]}, study.citekey
    overall = rob.overall(table)
    assert overall["citekey"].is_unique


def test_every_pooled_outcome_has_a_certainty_row(data):
    sof = grade.draft(data)
    expected = {(o, g, e) for o in GRADE_OUTCOMES for g in GRADE_GROUPS for e in GRADE_EFFECTS}
    assert set(zip(sof["outcome"], sof["group"], sof["effect"], strict=True)) == expected
    assert len(sof) == len(expected)
    empty = sof[sof["k"] == 0]
    assert (empty["certainty"] == "no evidence").all()
    assert empty["statement"].str.startswith("No usable evidence").all()
    pooled = sof[sof["k"] > 0]
    assert pooled["certainty"].isin(["high", "moderate", "low", "very low"]).all()
    for step in grade.STEPS:
        assert pooled[f"{step}_reason"].str.len().gt(0).all()
    # The combination has nothing to pool: every MSC+HSC row says so.
    assert (sof.loc[sof["group"] == "MSC+HSC", "certainty"] == "no evidence").all()
    # The author's override is applied and its reason shown.
    row = sof.set_index(["outcome", "group", "effect"]).loc[("deaths", "BM-MNC", "control")]
    assert row["indirectness_by"] == "author"
    assert row["indirectness_reason"].startswith("author: ")


def test_flow_places_every_entry_once(data):
    counts = flow.counts(data)
    assert counts.records["citekey"].is_unique
    assert len(counts.records) == len(data.studies) == counts.n("registry")
    assert counts.n("registry") == counts.n("benchmarks") + counts.n("studies")
    assert counts.n("studies") == counts.n("excluded") + counts.n("included")
    reasons = counts.boxes[counts.boxes["id"].str.startswith("excluded:")]
    assert reasons["n"].sum() == counts.n("excluded")
    sharma = counts.records.set_index("citekey").loc["sharma2021_jceh"]
    assert sharma["reason"] == "numbers below the confidence filter"
    assert counts.records.set_index("citekey").loc["khalifa2019_bmri", "reason"] == "animal study"
    meld = counts.per_outcome.set_index("outcome").loc["meld"]
    assert meld["studies"] == len(meld["citekeys"].split(";"))


def test_central_claim_says_what_the_dataset_can(data):
    central = claims.central_claim(data)
    groups = central.groups.set_index("group")
    assert groups.loc["MSC+HSC", "studies"] == 1
    assert groups.loc["MSC+HSC", "patients_treated"] == 5
    assert groups.loc["MSC+HSC", "studies_pooled"] == 0
    assert not central.combination_testable
    assert not central.tests["includes_combination"].any()
    combo = central.head_to_head[central.head_to_head["combination_arm"]]
    assert list(combo["species"]) == ["rat"]
    assert any("No subgroup test can include MSC+HSC" in line for line in central.lines)


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
