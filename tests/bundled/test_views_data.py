"""The bundled dataset's curated facts behind the views: what the dashboard, the figures and the
appraisal tab show by default. The view tests (tests/test_app_*.py, tests/test_figures.py)
assert that a view shows what these stage results say; the numbers themselves live here."""

from __future__ import annotations

import pandas as pd
import pytest

import evidence
from evidence import robustness as R
from evidence.appraisal import claims, rob
from evidence.compare import Question, effects, pool
from evidence.figures.evidence_map import map_frame
from evidence.vocab import ROB_SYMBOLS

from ..conftest import ROOT


@pytest.fixture(scope="module")
def data() -> evidence.Dataset:
    return evidence.load(ROOT)


@pytest.fixture(scope="module")
def meld(data) -> pd.DataFrame:
    return effects(data, Question())  # the dashboard's default: MELD, change from baseline


def test_default_question_rests_on_three_arms(data, meld):
    included = meld[meld["included"]]
    # the forest plot's rows, the funnel's points, leave-one-out's rows (test_app_state,
    # test_app_appraisal, test_figures)
    assert sorted(included["citekey"]) == [
        "kharaziha2009_ejgh",
        "mohamadnejad2016_sctm",
        "newsome2018_realistic",
    ]
    assert included.groupby("group").size().to_dict() == {"HSC": 2, "MSC": 1}
    pooled = pool(meld, Question())
    assert {g for g, r in pooled.groups.items() if r is not None} == {"MSC", "HSC"}
    # two groups without a result: MSC+HSC (nothing reported) and BM-MNC
    assert {g for g, r in pooled.groups.items() if r is None} == {"MSC+HSC", "BM-MNC"}


def test_rob_filter_leaves_out_one_arm_of_the_default_question(data, meld):
    out = rob.filter_effects(meld, rob.load(ROOT, data), "exclude-high")
    assert out.attrs["rob_left_out"] == 1
    assert out["included"].sum() == 2


def test_rob_column_of_the_default_question(data, meld):
    """The forest plot's RoB column on the default view (test_figures checks the column shows
    these judgements): Kharaziha 2009 not assessed, Mohamadnejad 2016 high (RoB 2, D1 some
    concerns), Newsome 2018 some concerns; the cumulative plot flags its first step."""
    columns = rob.forest_columns(rob.load(ROOT, data), data.studies["citekey"])
    included = meld[meld["included"]]
    symbols = {
        label: ROB_SYMBOLS[columns.loc[key, "overall"]]
        for key, label in zip(included["citekey"], included["label"], strict=True)
    }
    assert symbols == {"Kharaziha 2009": "NA", "Mohamadnejad 2016": "X", "Newsome 2018": "\u2212"}
    assert tuple(columns.loc["mohamadnejad2016_sctm", ["tool", "D1"]]) == ("RoB 2", "?")
    assert list(R.cumulative(meld)["changes"]) == [True, False, False]


def test_deaths_ratio_with_third_party_numbers(data):
    """The forest plot's ratio test (test_figures) reads deaths, cells versus control, with
    third-party numbers: Newsome 2018 (HSC, read on a third-party copy) and Spahr 2013."""
    q = Question(outcome="deaths", effect="control", binary_measure="RR", confidence="third-party")
    pooled = pool(effects(data, q), q)
    included = pooled.effects[pooled.effects["included"]]
    assert dict(zip(included["citekey"], included["group"], strict=True)) == {
        "newsome2018_realistic": "HSC",
        "spahr2013_bmmct": "BM-MNC",
    }
    assert {g for g, r in pooled.groups.items() if r is not None} == {"HSC", "BM-MNC"}


def test_robustness_hsc_scope_has_two_arms(meld):
    # "Reference model (PM, z) on 2 study arms" in the Robustness view (test_app_state)
    scoped = meld[meld["included"] & (meld["group"] == "HSC")]
    assert len(scoped) == 2
    assert R.funnel(meld, scope="HSC").k == 2 and R.funnel(meld).k == 3


def test_twelve_claims_are_audited(data):
    assert len(claims.load(ROOT, data)) == 12


def test_what_the_claims_view_shows_of_the_curated_claims(data):
    """The Appraisal tab's claims (test_app_appraisal runs the view on a fixture): the central
    claim C8 is not supported; C2, read at data/claims.csv:4, mis-cites Kharaziha 2009 (a link
    to its Studies record); an animal study is cited (linked by its DOI); the only head-to-head
    comparison with a combination arm is De Luna-Saldivar 2019, in rats."""
    table = claims.load(ROOT, data).set_index("claim_id")
    assert table.loc["C8", "verdict"] == "does not support"
    c2 = table.loc["C2"]
    assert (c2["cites"], c2["source_line"], c2["verdict"]) == (
        "kharaziha2009_ejgh",
        4,
        "does not support",
    )
    assert "Mis-cited" in c2["reason"]
    assert table.loc["C6", "cites"] == "higashiyama2007_hepatology"
    animal = data.studies.set_index("citekey").loc["higashiyama2007_hepatology"]
    assert (animal["species"], animal["doi"]) == ("mouse", "10.1002/hep.21477")
    central = claims.central_claim(data)
    combination = central.head_to_head[central.head_to_head["combination_arm"]]
    assert list(combination["label"]) == ["De Luna-Saldivar 2019"]


def test_the_combination_rests_on_one_uncontrolled_five_patient_study(data):
    central = claims.central_claim(data)
    combo = central.groups.set_index("group").loc["MSC+HSC"]
    assert (combo["studies"], combo["controlled"], combo["randomised"]) == (1, 0, 0)
    assert combo["patients_treated"] == 5
    frame = map_frame(data.clinical_studies, data.treated_arms)
    on_map = frame[frame["group"] == "MSC+HSC"]
    assert list(on_map["citekey"]) == ["sharma2021_jceh"] and list(on_map["patients"]) == [5]


def test_a_trial_with_only_planned_arms_shows_no_patients(data):
    # stempeucel2021's arms are planned sizes (10 per dose); nobody is known to be treated
    frame = map_frame(data.clinical_studies, data.treated_arms).set_index("citekey")
    assert pd.isna(frame.loc["stempeucel2021", "patients"])


def test_prepared_effects_equal_fresh_ones_for_every_question(data):
    """The app keeps one ``prepare(data)`` per kernel (evidence.app.cache) and asks it every
    question in turn: each frame must equal the one computed from scratch, column for column,
    whatever was asked before (the per-outcome cells are filled as outcomes are asked)."""
    from evidence.analysis.arm_effects import prepare
    from evidence.compare import OUTCOME_LABELS

    prepared = prepare(data)
    for effect in ("change", "control"):
        for outcome in OUTCOME_LABELS:
            for window in ("latest", "4-6"):
                q = Question(outcome=outcome, effect=effect, window=window)
                pd.testing.assert_frame_equal(effects(data, q, prepared), effects(data, q))


def test_outcome_menu_marks_the_empty_outcomes(data):
    """Issue 14: Child-Pugh has no usable numbers in either effect mode, and the menu says so;
    MELD, the default, rests on 3 studies (the arms above), and vs control fewer outcomes hold
    numbers than within arms. Each count is what that outcome's own plot holds."""
    from evidence.analysis.arm_effects import studies_per_outcome

    within = studies_per_outcome(data, Question())
    versus = studies_per_outcome(data, Question(effect="control"))
    assert within["child_pugh"] == versus["child_pugh"] == 0
    assert within["meld"] == 3
    empty_within = sum(n == 0 for n in within.values())
    empty_versus = sum(n == 0 for n in versus.values())
    assert 0 < empty_within < empty_versus < len(versus)
    for q, counts in ((Question(), within), (Question(effect="control"), versus)):
        for code, n in counts.items():
            frame = effects(data, q.with_(outcome=code))
            assert n == frame.loc[frame["included"], "citekey"].nunique(), code
