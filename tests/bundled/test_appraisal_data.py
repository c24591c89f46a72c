"""The bundled dataset's curated facts: what a curator checks when a count changes.

Code tests run on the small datasets in ``tests/fixtures`` and assert behaviour; the numbers that
depend on the curated data (how many studies, arms and patients a view shows, which study a
filter leaves out, how many claims are audited) are asserted here and only here. When you add or
correct a study and one of these fails, check that the new number is what the data now says,
then update it here (and the README's inventory with `python -m evidence.inventory --write`).
"""

from __future__ import annotations

import pytest

import evidence
from evidence.appraisal import claims, flow, grade, rob
from evidence.appraisal.schema import (
    GRADE_EFFECTS,
    GRADE_GROUPS,
    GRADE_OUTCOMES,
    NOT_APPLICABLE,
    TOOL_FOR_DESIGN,
    VERDICTS,
)

from ..conftest import ROOT


@pytest.fixture(scope="module")
def data() -> evidence.Dataset:
    return evidence.load(ROOT)


@pytest.fixture(scope="module")
def bundled(data):
    return data, rob.load(ROOT, data)


# --- appraisal: "done when" on the bundled data ---------------------------------------------


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


# --- the risk-of-bias filter on the bundled data --------------------------------------------


def test_filter_marks_high_risk_rows_and_never_drops_them(bundled):
    from evidence.compare import Question, effects

    data, table = bundled
    frame = effects(data, Question())  # MELD change: Mohamadnejad 2016 (RoB 2 high) is in it
    assert frame["included"].sum() == 3
    everything = rob.filter_effects(frame, table, "all")
    assert everything["included"].tolist() == frame["included"].tolist()
    assert everything.attrs == {"rob_filter": "all", "rob_left_out": 0}
    out = rob.filter_effects(frame, table, "exclude-high")
    assert len(out) == len(frame) and list(out["citekey"]) == list(frame["citekey"])
    left = out[out["included"] != frame["included"]]
    assert list(left["citekey"]) == ["mohamadnejad2016_sctm"]
    assert left["reason"].iloc[0] == (
        "risk of bias high (RoB 2): left out by the filter (without high risk of bias)"
    )
    assert out.attrs["rob_left_out"] == 1
    # uncontrolled series: no tool applies, kept; the judgement is in the frame for the views
    kept = out.set_index("citekey")
    assert kept.at["kharaziha2009_ejgh", "included"]
    assert kept.at["kharaziha2009_ejgh", "rob"] == NOT_APPLICABLE
    assert kept.at["newsome2018_realistic", "rob"] == "some concerns"
    assert frame["included"].sum() == 3  # the input is not changed


def test_filter_lines_say_what_was_left_out(bundled):
    from evidence.compare import Question, effects

    data, table = bundled
    frame = effects(data, Question())
    lines = rob.filter_lines(rob.filter_effects(frame, table, "exclude-high"))
    assert lines[0].startswith("Risk of bias filter (without high risk of bias): 1 study arm")
    assert "Mohamadnejad 2016 (high)" in lines[0]
    assert any("neither RoB 2 nor ROBINS-I applies" in line for line in lines)
    unfiltered = rob.filter_lines(rob.filter_effects(frame, table))
    assert not any(line.startswith("Risk of bias filter") for line in unfiltered)
