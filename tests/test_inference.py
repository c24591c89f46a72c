"""Safeguards on what the comparison infers (issue 12), each on constructed data.

The dataset here is the small valid fixture plus a synthetic three-arm trial (cells, G-CSF
alone, one shared control), a planned-size study and a study whose last visit is unstated.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evidence
from evidence.compare import (
    EFFECT_COLUMNS,
    OVERALL_LABEL,
    Question,
    effects,
    pool,
    subgroup_sentence,
    summary,
)
from evidence.dataset import validate
from evidence.meta import difference_test, rma, subgroups

from .conftest import FIXTURES

EXTRA_BIB = """
@article{kappa2018_trial,
  author = {Kappa, Kim},
  title = {G-CSF with or without CD133+ cells: a three-arm trial},
  journal = {Synthetic Hepatology},
  year = {2018},
  doi = {10.1000/kappa.2018},
  kind = {study},
  design = {RCT},
  species = {human},
  population = {compensated cirrhosis},
  cell_groups = {HSC},
  follow_up = {12 mo},
  confidence = {verified},
  source = {abstract https://example.org/kappa},
}

@article{lambda2019_plan,
  author = {Lambda, Lou},
  title = {A dose-escalation protocol of MSC},
  journal = {Synthetic Hepatology},
  year = {2019},
  doi = {10.1000/lambda.2019},
  kind = {study},
  design = {single-arm},
  species = {human},
  population = {decompensated cirrhosis},
  cell_groups = {MSC},
  confidence = {verified},
  source = {abstract https://example.org/lambda},
}

@article{mu2014_series,
  author = {Mu, Max},
  title = {Autologous CD34+ cells: a case series},
  journal = {Synthetic Hepatology},
  year = {2014},
  doi = {10.1000/mu.2014},
  kind = {study},
  design = {single-arm},
  species = {human},
  population = {decompensated cirrhosis},
  cell_groups = {HSC},
  follow_up = {24 mo},
  confidence = {verified},
  source = {abstract https://example.org/mu},
}
"""

EXTRA_ARMS = """kappa2018_trial,standard care,control,30,randomised,abstract,verified,
kappa2018_trial,G-CSF,G-CSF,30,randomised,abstract,verified,
kappa2018_trial,G-CSF + CD133+,HSC,30,randomised,abstract,verified,
lambda2019_plan,MSC,MSC,12,treated,abstract,verified,
mu2014_series,CD34+,HSC,9,treated,abstract,verified,
"""

EXTRA_OUTCOMES = """\
kappa2018_trial,standard care,deaths,level,12 mo,events,6,patients,,abstract,verified,,
kappa2018_trial,standard care,deaths,level,12 mo,total,30,patients,,abstract,verified,,
kappa2018_trial,G-CSF,deaths,level,12 mo,events,4,patients,,abstract,verified,,
kappa2018_trial,G-CSF,deaths,level,12 mo,total,30,patients,,abstract,verified,,
kappa2018_trial,G-CSF + CD133+,deaths,level,12 mo,events,3,patients,,abstract,verified,,
kappa2018_trial,G-CSF + CD133+,deaths,level,12 mo,total,30,patients,,abstract,verified,,
kappa2018_trial,standard care,meld,change,3 mo,mean,-0.2,points,,abstract,verified,,
kappa2018_trial,standard care,meld,change,3 mo,sd,2.0,points,,abstract,verified,,
kappa2018_trial,G-CSF + CD133+,meld,change,3 mo,mean,-1.0,points,26,abstract,verified,,
kappa2018_trial,G-CSF + CD133+,meld,change,3 mo,sd,2.2,points,26,abstract,verified,,
lambda2019_plan,MSC,meld,change,1 mo,mean,-1.0,points,,abstract,verified,,
lambda2019_plan,MSC,meld,change,1 mo,sd,2.0,points,,abstract,verified,,
mu2014_series,CD34+,meld,level,baseline,mean,18.0,points,,abstract,verified,,
mu2014_series,CD34+,meld,level,baseline,sd,4.0,points,,abstract,verified,,
mu2014_series,CD34+,meld,level,end,mean,15.5,points,,abstract,verified,,
mu2014_series,CD34+,meld,level,end,sd,4.5,points,,abstract,verified,,
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> evidence.Dataset:
    root = tmp_path_factory.mktemp("infer") / "dataset"
    shutil.copytree(FIXTURES / "valid", root)
    with (root / "references.bib").open("a") as f:
        f.write(EXTRA_BIB)
    with (root / "data" / "arms.csv").open("a") as f:
        f.write(EXTRA_ARMS)
    with (root / "data" / "outcomes.csv").open("a") as f:
        f.write(EXTRA_OUTCOMES)
    return evidence.load(root)


def arm(frame: pd.DataFrame, key: str, name: str) -> pd.Series:
    (match,) = frame.index[(frame["citekey"] == key) & (frame["arm"] == name)]
    return frame.loc[match]


def frame_of(rows: list[dict[str, object]]) -> pd.DataFrame:
    """An effects frame from a few fields per row (included, reported changes by default)."""
    full = []
    for i, r in enumerate(rows):
        yi, vi = float(r["yi"]), float(r["vi"])  # type: ignore[arg-type]
        full.append(
            dict.fromkeys(EFFECT_COLUMNS)
            | {
                "citekey": f"s{i}",
                "label": f"S{i}",
                "arm": str(r["group"]),
                "timepoint": "6 mo",
                "timepoint_months": 6.0,
                "visit": "6 mo",
                "n": 20.0,
                "n_assumed": False,
                "basis": "reported change from baseline",
                "sei": math.sqrt(vi),
                "ci_lb": yi - 1.96 * math.sqrt(vi),
                "ci_ub": yi + 1.96 * math.sqrt(vi),
                "included": True,
                "reason": "",
            }
            | r
        )
    return pd.DataFrame(full, columns=list(EFFECT_COLUMNS))


# --- the test for subgroup differences -----------------------------------------------------


def test_knha_reaches_the_subgroup_test_as_metafors_moderator_test():
    # the shape: one single-arm study against two; metafor 3.8.1 gives F(1, 1) = 6.36,
    # p = 0.24 (pinned in tests/reference/moderator.json); RevMan's Q stays at 7.63
    yi = [-7.2, -2.0, -0.250125]
    vi = [4.47125, 0.874225, 0.11528585621368322]
    frame = frame_of(
        [
            {"group": g, "yi": y, "vi": v}
            for g, y, v in zip(("MSC", "HSC", "HSC"), yi, vi, strict=True)
        ]
    )
    q = Question(groups=("MSC", "HSC"))
    knha = pool(frame, q, test="knha").subgroups
    assert knha is not None
    assert (knha.q_between_df, knha.q_between_df2) == (1, 1)
    assert knha.q_between == pytest.approx(6.3582651639725, rel=1e-6)
    assert knha.q_between_pval == pytest.approx(0.24035867839744, rel=1e-6)
    z = pool(frame, q, test="z").subgroups
    assert z is not None and z.q_between == pytest.approx(7.628, abs=1e-3)
    assert math.isnan(z.q_between_df2)
    # both unreliable: MSC is one study
    for sub in (knha, z):
        assert not sub.reliable and "MSC rests on a single study" in sub.reason


def test_a_test_with_two_studies_per_group_is_reliable():
    frame = frame_of(
        [
            {"group": g, "yi": y, "vi": 0.2}
            for g, y in (("MSC", -3.0), ("MSC", -2.5), ("HSC", -0.4), ("HSC", 0.1))
        ]
    )
    pooled = pool(frame, Question(groups=("MSC", "HSC")), test="knha")
    assert pooled.subgroups is not None and pooled.subgroups.reliable
    assert pooled.subgroups.reason == ""
    sentence = subgroup_sentence(pooled)
    assert sentence.startswith("Across studies (an indirect comparison)")
    assert "F(1, 2)" in sentence


def test_assumed_correlation_makes_the_test_unreliable():
    rows = [
        {"group": g, "yi": y, "vi": 0.2, "basis": b, "sd1i": 4.0, "sd2i": 4.0}
        for g, y, b in (
            ("MSC", -3.0, "baseline and follow-up levels"),
            ("MSC", -2.5, "baseline and follow-up levels"),
            ("HSC", -0.4, "reported change from baseline"),
            ("HSC", 0.1, "reported change from baseline"),
        )
    ]
    pooled = pool(frame_of(rows), Question(groups=("MSC", "HSC")))
    assert pooled.subgroups is not None and not pooled.subgroups.reliable
    assert "MSC rests only on within-arm changes" in pooled.subgroups.reason
    # a versus-control analysis has no assumed correlation: the same rule does not apply
    ctrl = pool(frame_of(rows), Question(effect="control", groups=("MSC", "HSC")))
    assert ctrl.subgroups is not None and ctrl.subgroups.reliable


def test_knha_test_without_residual_df_is_not_computed():
    sub = difference_test([0.1, 0.5], [0.04, 0.05], ["a", "b"], test="knha")
    assert math.isnan(sub.q_between) and math.isnan(sub.q_between_pval)
    assert not sub.reliable and "needs more studies than groups" in sub.reason
    # the z test of the same data is computed, and flagged for its single-study groups
    z = difference_test([0.1, 0.5], [0.04, 0.05], ["a", "b"], test="z")
    assert math.isfinite(z.q_between) and not z.reliable


def test_core_subgroups_flag_single_study_groups():
    res = subgroups([0.1, 0.2, 0.5], [0.04, 0.05, 0.06], ["a", "a", "b"])
    assert not res.reliable and res.reason.startswith("b rests on a single study")
    ok = subgroups([0.1, 0.2, 0.5, 0.6], [0.04, 0.05, 0.06, 0.05], ["a", "a", "b", "b"])
    assert ok.reliable and ok.to_frame().attrs["reliable"]


def test_summary_never_leads_with_a_p_value_and_never_concludes_from_an_unreliable_test():
    frame = frame_of(
        [{"group": g, "yi": y, "vi": 0.1} for g, y in (("MSC", -7.0), ("HSC", 0.0), ("HSC", 0.2))]
    )
    pooled = pool(frame, Question(groups=("MSC", "HSC")))
    assert pooled.subgroups is not None and pooled.subgroups.q_between_pval < 0.001
    lines = summary(pooled)
    for line in lines:
        assert not line.lstrip().lower().startswith(("p ", "p=", "q =", "test for", "f("))
    (test_line,) = [line for line in lines if "The test (" in line]
    assert test_line.startswith("Whether the cell groups differ cannot be judged")
    assert "shown for completeness only" in test_line
    assert "differ by more than chance" not in " ".join(lines)


# --- no overall pool across interventions by default ------------------------------------------


def test_overall_is_off_by_default_and_pools_cell_therapy_arms_only():
    frame = frame_of(
        [
            {"group": "MSC", "yi": -2.0, "vi": 0.3},
            {"group": "HSC", "yi": -1.0, "vi": 0.3},
            {"group": "control", "yi": 0.5, "vi": 0.3},
            {"group": "G-CSF", "yi": 0.4, "vi": 0.3},
        ]
    )
    q = Question(groups=("MSC", "HSC", "control", "G-CSF"))
    assert pool(frame, q).overall is None
    both = pool(frame, q, overall=True)
    expected = rma([-2.0, -1.0], [0.3, 0.3])
    assert both.overall is not None and both.overall.k == 2
    assert both.overall.estimate == pytest.approx(expected.estimate)
    assert both.overall_label == OVERALL_LABEL and "never included" in OVERALL_LABEL
    assert any(line.startswith("Average across cell therapies") for line in summary(both))


# --- arm pairing, shared controls and planned sizes -------------------------------------------


def test_shared_control_is_split_between_its_comparisons(built):
    q = Question(outcome="deaths", effect="control", groups=("HSC", "G-CSF"), binary_measure="OR")
    frame = effects(built, q)
    cells, gcsf = (
        arm(frame, "kappa2018_trial", "G-CSF + CD133+"),
        arm(frame, "kappa2018_trial", "G-CSF"),
    )
    for r, events in ((cells, 3), (gcsf, 4)):
        assert r["included"] and r["n_control"] == 15  # 30 split in two
        assert r["yi"] == pytest.approx(math.log(events / (30 - events)) - math.log(3 / 12))
        assert r["vi"] == pytest.approx(1 / events + 1 / (30 - events) + 1 / 3 + 1 / 12)
        assert "shared control 'standard care' split between 2 comparisons" in r["derived"]
    # alone in the analysis, the control keeps its 30
    alone = arm(effects(built, q.with_(groups=("HSC",))), "kappa2018_trial", "G-CSF + CD133+")
    assert alone["n_control"] == 30 and "shared control" not in alone["derived"]


def test_planned_arm_size_never_reaches_a_variance(built):
    # validate refuses such rows (below); the comparison still never uses a planned n
    arms = built.arms.copy()
    arms.loc[arms["citekey"] == "lambda2019_plan", "n_basis"] = "planned"
    frame = effects(
        dataclasses.replace(built, arms=arms), Question(outcome="meld", groups=("MSC",))
    )
    assert arm(effects(built, Question(outcome="meld", groups=("MSC",))), "lambda2019_plan", "MSC")[
        "included"
    ]
    planned = arm(frame, "lambda2019_plan", "MSC")
    assert not planned["included"] and math.isnan(planned["vi"])
    assert math.isnan(planned["n"])


# --- n at each visit, visits ----------------------------------------------------------------


def test_n_assumed_marks_the_rows_whose_visit_n_is_not_reported(built):
    frame = effects(built, Question(outcome="meld", groups=("MSC", "HSC", "BM-MNC")))
    reported = arm(frame, "alpha2010_trial", "MSC")  # n 18 given with the 6-month numbers
    assert reported["n"] == 18 and not reported["n_assumed"]
    cells = arm(frame, "kappa2018_trial", "G-CSF + CD133+")
    assert cells["n"] == 26 and not cells["n_assumed"]
    series = arm(frame, "mu2014_series", "CD34+")  # no n with the numbers: the arm's 9
    assert series["n"] == 9 and series["n_assumed"]
    assert "n at this visit not reported" in series["derived"]
    pooled = pool(frame, Question(outcome="meld", groups=("MSC", "HSC", "BM-MNC")))
    assert any("the arm's size stands in" in note for note in pooled.notes)


def test_unstated_end_of_follow_up_is_placed_by_the_studys_follow_up(built):
    q = Question(outcome="meld", window="12+", groups=("HSC",))
    series = arm(effects(built, q), "mu2014_series", "CD34+")
    assert series["included"] and series["timepoint"] == "end"
    assert series["timepoint_months"] == 24
    assert series["visit"].startswith("end of follow-up (24 mo")
    early = arm(effects(built, q.with_(window="0-3")), "mu2014_series", "CD34+")
    assert not early["included"] and "nothing in the window" in early["reason"]


def test_pool_warns_when_visits_are_far_apart(built):
    q = Question(outcome="meld", groups=("HSC",))
    pooled = pool(effects(built, q), q)
    (note,) = [n for n in pooled.notes if "pools visits" in n]
    assert note.startswith("HSC pools visits 21 months apart")


# --- sensitivity to the assumed correlation and Knapp-Hartung edge cases ------------------------


def test_within_arm_conclusion_is_checked_at_r_02_and_08():
    # levels 10.0 (SD 4) -> 8.5 (SD 4), n 20: the CI excludes 0 only when r is high
    rows = [
        {
            "group": "MSC",
            "yi": -1.5,
            "vi": (16 + 16 - 2 * 0.5 * 16) / 20,
            "basis": "baseline and follow-up levels",
            "sd1i": 4.0,
            "sd2i": 4.0,
        }
    ]
    pooled = pool(frame_of(rows), Question(groups=("MSC",), ri=0.5))
    table = pooled.ri_sensitivity
    assert table is not None and list(table["ri"]) == [0.2, 0.5, 0.8]
    se = np.sqrt((32 - 2 * np.array([0.2, 0.5, 0.8]) * 16) / 20)
    assert list(table["ci_ub"]) == pytest.approx(list(-1.5 + 1.959963984540054 * se))
    assert list(table["conclusion"]) == ["includes no change", "includes no change",
                                         "below no change"]  # fmt: skip
    assert pooled.ri_flip
    assert any("depends on the assumed pre-post correlation" in n for n in pooled.notes)
    # reported changes do not depend on r: no sensitivity table
    plain = pool(frame_of([{"group": "MSC", "yi": -1.0, "vi": 0.2}]), Question(groups=("MSC",)))
    assert plain.ri_sensitivity is None and not plain.ri_flip


def test_knapp_hartung_zero_and_absurd_widths_carry_a_note():
    same = frame_of(
        [{"group": "HSC", "yi": -1.0, "vi": 0.2}, {"group": "HSC", "yi": -1.0, "vi": 0.3}]
    )
    pooled = pool(same, Question(groups=("HSC",)), test="knha")
    result = pooled.groups["HSC"]
    assert result is not None and result.ci_ub - result.ci_lb == pytest.approx(0.0, abs=1e-12)
    assert any("zero width" in n and "adhoc" in n for n in pooled.notes)
    adhoc = pool(same, Question(groups=("HSC",)), test="adhoc").groups["HSC"]
    assert adhoc is not None and adhoc.ci_ub - adhoc.ci_lb > 0
    apart = frame_of(
        [{"group": "HSC", "yi": -2.0, "vi": 0.2}, {"group": "HSC", "yi": 1.0, "vi": 0.3}]
    )
    wide = pool(apart, Question(groups=("HSC",)), test="knha")
    assert any("times as wide as the z interval" in n for n in wide.notes)
    assert not pool(apart, Question(groups=("HSC",)), test="z").notes


# --- provenance, comparators and planned sizes in `evidence validate` -------------------------


def _append(root: Path, name: str, text: str) -> None:
    with (root / "data" / name).open("a") as f:
        f.write(text)


def _problems(root: Path) -> list[str]:
    return [str(p) for p in validate(root)]


def test_secondary_locator_must_name_a_review(valid_copy: Path):
    _append(
        valid_copy,
        "outcomes.csv",
        "gamma2012_series,BM-MNC,bilirubin,level,4 mo,mean,40,umol/L,,"
        "secondary: machine-rewritten copy,secondary,,\n"
        "gamma2012_series,BM-MNC,bilirubin,level,4 mo,sd,9,umol/L,,"
        "secondary: alpha2010_trial Table 1,secondary,,\n",
    )
    found = [p for p in _problems(valid_copy) if "[locator]" in p]
    assert len(found) == 2
    assert found[0].startswith("data/outcomes.csv:23: error: gamma2012_series [locator]")
    assert "'machine-rewritten' is not a meta-analysis" in found[0]
    assert "'alpha2010_trial' is not a meta-analysis" in found[1]
    # the fixture's own secondary row names omega2020_ma, a meta-analysis: clean
    assert not any(":22:" in p for p in found)


def test_third_party_numbers_are_their_own_level_and_excluded_by_default(valid_copy: Path):
    _append(
        valid_copy,
        "outcomes.csv",
        "gamma2012_series,BM-MNC,meld,level,baseline,mean,18,points,,"
        "rewritten copy of the abstract,third-party,https://example.org/copy,\n"
        "gamma2012_series,BM-MNC,meld,level,baseline,sd,4,points,,"
        "rewritten copy of the abstract,third-party,,\n",
    )
    problems = _problems(valid_copy)
    assert not any(": error:" in p for p in problems)
    (warning,) = [p for p in problems if "[source_url]" in p]
    assert warning.startswith("data/outcomes.csv:24: warning: gamma2012_series [source_url]")
    data = evidence.load(valid_copy)
    assert (data.outcomes["confidence"] == "third-party").sum() == 2


def test_confidence_filter_excludes_third_party_unless_asked(built: evidence.Dataset):
    outcomes = built.outcomes.copy()
    mine = outcomes["citekey"] == "kappa2018_trial"
    outcomes.loc[mine, "confidence"] = "third-party"
    data = dataclasses.replace(built, outcomes=outcomes)
    q = Question(outcome="deaths", effect="change", groups=("HSC",))
    default = arm(effects(data, q), "kappa2018_trial", "G-CSF + CD133+")
    assert not default["included"] and "numbers are third-party" in default["reason"]
    asked = arm(
        effects(data, q.with_(confidence="third-party")), "kappa2018_trial", "G-CSF + CD133+"
    )
    assert asked["included"] and asked["confidence"] == "third-party"
    # every level is in the filter that includes everything
    assert arm(effects(data, q.with_(confidence="seed-only")), "kappa2018_trial", "G-CSF + CD133+")[
        "included"
    ]


def test_comparator_names_an_arm_of_the_same_study(valid_copy: Path):
    path = valid_copy / "data" / "arms.csv"
    lines = path.read_text().splitlines()
    lines[0] += ",comparator"
    lines[1] += ",placebo"  # alpha's MSC arm: no such arm
    lines[2] += ",MSC"  # alpha's control: a control has no comparator
    lines[3] += ","
    path.write_text("\n".join(lines) + "\n")
    found = [p for p in _problems(valid_copy) if "[comparator]" in p]
    assert found == [
        "data/arms.csv:2: error: alpha2010_trial [comparator] comparator 'placebo' is not "
        "another arm of this study; expected one of 'control'",
        "data/arms.csv:3: error: alpha2010_trial [comparator] a control arm has no "
        "comparator; expected leave it blank",
    ]


def test_several_controls_without_comparator_are_not_paired(valid_copy: Path):
    _append(valid_copy, "arms.csv", "alpha2010_trial,placebo,control,,,,verified,\n")
    (warning,) = [p for p in _problems(valid_copy) if "[comparator]" in p]
    assert warning.startswith("data/arms.csv:2: warning: alpha2010_trial [comparator]")
    data = evidence.load(valid_copy)
    q = Question(outcome="meld", effect="control", groups=("MSC",))
    row = arm(effects(data, q), "alpha2010_trial", "MSC")
    assert not row["included"] and "2 control arms and no comparator named" in row["reason"]


def test_numbers_on_a_planned_arm_are_refused(valid_copy: Path):
    path = valid_copy / "data" / "arms.csv"
    path.write_text(
        path.read_text().replace(
            "gamma2012_series,BM-MNC,BM-MNC,10,treated", "gamma2012_series,BM-MNC,BM-MNC,10,planned"
        )
    )
    found = [p for p in _problems(valid_copy) if "planned" in p and ": error:" in p]
    assert len(found) == 8  # every gamma row without its own n
    assert found[0].startswith("data/outcomes.csv:15: error: gamma2012_series [arm]")


def test_counted_outcomes_are_not_called_a_change_from_baseline():
    from evidence.compare import effect_title

    assert effect_title("change", "deaths") == "patients with the event within arms (no control)"
    assert effect_title("change", "meld") == "change from baseline within arms"
    assert effect_title("control", "deaths") == "cells versus control"


def test_compare_view_greys_an_unreliable_test_with_its_reason():
    from evidence.app.views.compare import CompareView

    one = frame_of(
        [{"group": g, "yi": y, "vi": 0.1} for g, y in (("MSC", -7.0), ("HSC", 0.0), ("HSC", 0.2))]
    )
    html = CompareView._heterogeneity(pool(one, Question(groups=("MSC", "HSC"))))
    assert "<p class='ev-muted ev-unreliable'>Whether the cell groups differ cannot" in html
    assert "MSC rests on a single study" in html
    two = frame_of(
        [
            {"group": g, "yi": y, "vi": 0.2}
            for g, y in (("MSC", -3.0), ("MSC", -2.5), ("HSC", -0.4), ("HSC", 0.1))
        ]
    )
    html = CompareView._heterogeneity(pool(two, Question(groups=("MSC", "HSC"))))
    assert "<p>Across studies (an indirect comparison)" in html


@pytest.mark.parametrize("reliable", [False, True])
def test_compare_view_states_the_subgroup_test_once(reliable):
    from evidence.app.html import escape
    from evidence.app.views.compare import CompareView

    per_group = (("MSC", -3.0), ("MSC", -2.5)) if reliable else (("MSC", -7.0),)
    rows = (*per_group, ("HSC", -0.4), ("HSC", 0.1))
    pooled = pool(
        frame_of([{"group": g, "yi": y, "vi": 0.2} for g, y in rows]),
        Question(groups=("MSC", "HSC")),
    )
    sentence = subgroup_sentence(pooled)
    assert sentence and sentence in summary(pooled)  # the words module still says it
    shown = CompareView._summary(pooled) + CompareView._heterogeneity(pooled)
    assert shown.count(escape(sentence)) == 1


def test_forest_marks_rows_whose_visit_n_is_assumed_and_shows_the_visit():
    from evidence.figures.forest import N_ASSUMED_MARK, forest_plot

    frame = frame_of(
        [
            {"group": "HSC", "yi": -1.0, "vi": 0.2, "n_assumed": True, "visit": "3 yr"},
            {"group": "HSC", "yi": -0.5, "vi": 0.3},
        ]
    )
    fig = forest_plot(pool(frame, Question(groups=("HSC",))))
    ticks = list(fig.layout.yaxis.ticktext)
    assert sum(f"n=20{N_ASSUMED_MARK}" in t for t in ticks) == 1
    (studies,) = [t for t in fig.data if t.name == "studies"]
    assert any("time point: 3 yr" in h for h in studies.hovertext)
