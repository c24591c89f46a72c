"""The GRADE rules on constructed cases: each rule, its thresholds, overrides and the certainty."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

import evidence
from evidence.appraisal import grade
from evidence.appraisal.grade import Evidence, Override, StudyEvidence, rate

from .conftest import FIXTURES


def study(key: str = "s1", design: str = "RCT", rob: str = "low", weight: float = 100.0, **kw):
    return StudyEvidence(
        citekey=key,
        label=key.upper(),
        design=design,
        population=kw.get("population", "decompensated cirrhosis"),
        weight=weight,
        rob=rob,
    )


def evidence_(**changes) -> Evidence:
    """A precise, consistent, direct, low-risk randomised result: certainty high."""
    base = Evidence(
        outcome="meld",
        group="MSC",
        effect="control",
        measure="MD",
        k=3,
        n_patients=600,
        estimate=-2.0,
        ci_lb=-3.0,
        ci_ub=-1.0,
        pi_lb=-3.5,
        pi_ub=-0.5,
        i2=10.0,
        studies=(study("a", weight=40), study("b", weight=35), study("c", weight=25)),
    )
    return replace(base, **changes)


def test_clean_randomised_evidence_is_high():
    rating = rate(evidence_())
    assert rating.start == "high"
    assert all(s.levels == 0 for s in rating.steps)
    assert rating.certainty == "high" and rating.score == 4


# --- start -------------------------------------------------------------------------------------


def test_start_low_with_any_non_randomised_study():
    e = evidence_(studies=(study("a"), study("b", design="non-randomised controlled")))
    assert grade.start(e)[0] == "low"
    assert rate(e).certainty == "low"


def test_start_low_for_within_arm_change_whatever_the_design():
    e = evidence_(effect="change", measure="MC")
    level, why = grade.start(e)
    assert level == "low" and "uncontrolled" in why
    # ... and rated down once more for risk of bias: no control group.
    rating = rate(e)
    assert rating.step("risk_of_bias").levels == 1
    assert rating.certainty == "very low"


# --- risk of bias ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("judgements", "levels"),
    [
        (("low", "low", "low"), 0),
        (("low", "some concerns", "low"), 0),  # mean 0.35 < 0.5
        (("some concerns", "some concerns", "low"), 1),  # mean 0.75
        (("high", "high", "high"), 2),  # mean 2.0 >= 1.5
        (("high", "some concerns", "low"), 1),  # 0.8 + 0.35 = 1.15
        (("no information", "no information", "no information"), 1),
    ],
)
def test_risk_of_bias_weighted_mean_for_randomised_evidence(judgements, levels):
    studies = tuple(
        study(k, rob=j, weight=w) for k, j, w in zip("abc", judgements, (40, 35, 25), strict=True)
    )
    step = grade.risk_of_bias(evidence_(studies=studies), "high")
    assert step.levels == levels
    assert step.rating == ("not serious", "serious", "very serious")[levels]
    assert "weighted mean score" in step.reason


@pytest.mark.parametrize(
    ("judgement", "levels"),
    [("low", 0), ("moderate", 0), ("no information", 0), ("serious", 1), ("critical", 2)],
)
def test_risk_of_bias_does_not_count_the_design_twice_when_starting_low(judgement, levels):
    studies = (study("a", design="non-randomised controlled", rob=judgement),)
    assert grade.risk_of_bias(evidence_(studies=studies), "low").levels == levels


def test_risk_of_bias_follows_the_weights():
    heavy_high = (study("a", rob="high", weight=90), study("b", rob="low", weight=10))
    light_high = (study("a", rob="high", weight=10), study("b", rob="low", weight=90))
    assert grade.risk_of_bias(evidence_(studies=heavy_high), "high").levels == 2
    assert grade.risk_of_bias(evidence_(studies=light_high), "high").levels == 0


# --- inconsistency -----------------------------------------------------------------------------


def test_inconsistency_not_judged_for_a_single_study():
    step = grade.inconsistency(evidence_(k=1, i2=math.nan, pi_lb=math.nan, pi_ub=math.nan))
    assert step.levels == 0 and "single study" in step.reason


@pytest.mark.parametrize(
    ("i2", "pi", "levels"),
    [
        (10.0, (-3.5, -0.5), 0),  # low I2, PI excludes the null
        (50.0, (-3.5, -0.5), 0),  # threshold is "above 50%"
        (60.0, (-3.5, -0.5), 1),  # I2 > 50%
        (30.0, (-5.0, 1.0), 1),  # PI crosses no effect though the CI does not
        (80.0, (-6.0, 2.0), 2),  # I2 > 75% and the PI crosses
        (80.0, (-6.0, -0.2), 1),  # I2 > 75% but the PI excludes no effect
    ],
)
def test_inconsistency_thresholds(i2, pi, levels):
    step = grade.inconsistency(evidence_(i2=i2, pi_lb=pi[0], pi_ub=pi[1]))
    assert step.levels == levels, step.reason
    assert f"I\u00b2 = {i2:.0f}%" in step.reason


def test_inconsistency_when_both_ci_and_pi_cross_is_left_to_imprecision():
    e = evidence_(i2=20.0, ci_lb=-3.0, ci_ub=0.5, pi_lb=-4.0, pi_ub=1.5)
    assert grade.inconsistency(e).levels == 0
    assert grade.imprecision(e).levels >= 1


# --- imprecision -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "ci", "levels"),
    [
        (600, (-3.0, -1.0), 0),
        (399, (-3.0, -1.0), 1),  # optimal information size: 400 patients
        (400, (-3.0, -1.0), 0),
        (600, (-3.0, 0.5), 1),  # CI includes no effect
        (100, (-3.0, 0.5), 2),
    ],
)
def test_imprecision_continuous(n, ci, levels):
    step = grade.imprecision(evidence_(n_patients=n, ci_lb=ci[0], ci_ub=ci[1]))
    assert step.levels == levels, step.reason


@pytest.mark.parametrize(
    ("events", "ci", "levels"),
    [
        (350, (-0.5, -0.1), 0),
        (299, (-0.5, -0.1), 1),  # fewer than 300 events
        (350, (-0.5, 0.2), 1),  # the CI of the log odds ratio includes 0
        (12, (-1.5, 2.0), 2),
    ],
)
def test_imprecision_binary(events, ci, levels):
    e = evidence_(outcome="deaths", measure="OR", events=events, ci_lb=ci[0], ci_ub=ci[1])
    assert grade.imprecision(e).levels == levels


def test_imprecision_of_a_within_arm_proportion():
    # logit scale: 10% (7% to 14%) is narrow; 43% (26% to 61%) is not.
    narrow = evidence_(
        effect="change", measure="PLO", n_patients=500, estimate=-2.197, ci_lb=-2.587, ci_ub=-1.815
    )
    wide = replace(narrow, n_patients=28, estimate=-0.288, ci_lb=-1.036, ci_ub=0.461)
    assert grade.imprecision(narrow).levels == 0
    step = grade.imprecision(wide)
    assert step.levels == 2 and "percentage points" in step.reason


# --- indirectness ------------------------------------------------------------------------------


def test_indirectness_by_share_of_weight():
    mostly = (
        study("a", population="compensated cirrhosis", weight=60),
        study("b", weight=40),
    )
    partly = (
        study("a", population="ACLF", weight=40),
        study("b", weight=60),
    )
    step = grade.indirectness(evidence_(studies=mostly))
    assert step.levels == 1 and "60% of the weight is indirect" in step.reason
    step = grade.indirectness(evidence_(studies=partly))
    assert step.levels == 0 and "ACLF" in step.reason
    unclear = (study("a", population="end-stage liver disease"),)
    step = grade.indirectness(evidence_(studies=unclear))
    assert step.levels == 0 and "stage unclear" in step.reason


# --- small-study effects -----------------------------------------------------------------------


def test_publication_bias_needs_ten_studies():
    step = grade.publication_bias(evidence_(k=9, egger_p=0.001))
    assert step.levels == 0 and "not assessable" in step.reason
    assert grade.publication_bias(evidence_(k=12, egger_p=0.05)).levels == 1
    assert grade.publication_bias(evidence_(k=12, egger_p=0.10)).levels == 0
    assert grade.publication_bias(evidence_(k=12, egger_p=0.40)).levels == 0


# --- overrides and the certainty ---------------------------------------------------------------


def test_override_replaces_the_rule_and_keeps_both_reasons():
    rating = rate(evidence_(), {"inconsistency": Override("serious", "two trials disagree")})
    step = rating.step("inconsistency")
    assert (step.rating, step.levels, step.by) == ("serious", 1, "author")
    assert "two trials disagree" in step.reason and "the rule said not serious" in step.reason
    assert rating.certainty == "moderate"


def test_upgrade_override_rates_up_but_never_above_high():
    low = evidence_(studies=(study("a", design="non-randomised controlled"),))
    assert rate(low).certainty == "low"
    up = {"upgrade": Override("two levels", "very large effect")}
    assert rate(low, up).certainty == "high"
    assert rate(evidence_(), up).certainty == "high"


def test_certainty_never_falls_below_very_low():
    e = evidence_(
        n_patients=20,
        ci_lb=-3.0,
        ci_ub=1.0,
        i2=90.0,
        pi_lb=-9.0,
        pi_ub=5.0,
        studies=(study("a", rob="high", population="compensated cirrhosis"),),
    )
    rating = rate(e)
    assert sum(s.levels for s in rating.steps) > 3
    assert rating.certainty == "very low" and rating.score == 1


@pytest.mark.parametrize(
    ("down", "certainty"), [(0, "high"), (1, "moderate"), (2, "low"), (3, "very low")]
)
def test_levels_to_certainty(down, certainty):
    overrides = {
        step: Override("serious", "constructed")
        for step in ("risk_of_bias", "inconsistency", "indirectness")[:down]
    }
    assert rate(evidence_(), overrides).certainty == certainty


# --- words -------------------------------------------------------------------------------------


def test_statements_follow_certainty_and_direction():
    row = {
        "outcome": "meld",
        "outcome_label": "MELD score",
        "group": "MSC",
        "effect": "control",
        "measure": "MD",
        "estimate": -2.0,
        "ci_lb": -3.0,
        "ci_ub": -1.0,
        "k": 3,
        "n_patients": 600,
        "effect_text": "MD -2.00 points",
    }
    assert grade.statement(row | {"certainty": "high"}).startswith(
        "MSC therapy reduces the MELD score (a benefit)"
    )
    assert "probably reduce the MELD score" in grade.statement(row | {"certainty": "moderate"})
    assert "may reduce" in grade.statement(row | {"certainty": "low"})
    assert grade.statement(row | {"certainty": "very low"}).startswith("We are very uncertain")
    crossing = row | {"ci_ub": 0.5, "certainty": "low"}
    assert "may make little or no difference" in grade.statement(crossing)
    harm = row | {
        "outcome": "sae",
        "outcome_label": "Serious adverse events",
        "measure": "OR",
        "estimate": 6.0,
        "ci_lb": 1.5,
        "ci_ub": 24.7,
        "certainty": "low",
    }
    assert "may increase serious adverse events (a harm)" in grade.statement(harm)


# --- the draft on the small fixture ------------------------------------------------------------


def test_draft_on_the_fixture():
    data = evidence.load(FIXTURES / "appraisal" / "valid")
    sof = grade.draft(data)
    row = sof.set_index(["outcome", "group", "effect"]).loc[("meld", "MSC", "control")]
    # RCT (start high); RoB some concerns (-1); 37 patients (-1); author: indirect (-1).
    assert row["start"] == "high"
    assert (row["risk_of_bias"], row["imprecision"], row["indirectness"]) == (
        "serious",
        "serious",
        "serious",
    )
    assert row["indirectness_by"] == "author"
    assert row["certainty"] == "very low"
    assert row["n_patients"] == 37 and row["k"] == 1
    assert row["effect_text"].startswith("MD \u22123.90 points")
    long = grade.steps(sof)
    assert len(long) == len(sof) * len(grade.STEPS)
    counts = grade.certainty_counts(sof)
    assert counts.sum() == len(sof)
    # Method and test are recorded with every row.
    assert set(sof["method"]) == {"REML"} and set(sof["test"]) == {"knha"}
