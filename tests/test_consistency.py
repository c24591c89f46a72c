"""Internal-consistency checks of extracted numbers (evidence validate warnings), each on
constructed data: p vs means/SDs/n, GRIM, SD against the range, percentages against counts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from evidence.data.rules.consistency import (
    grim_consistent,
    max_sd,
    min_sd,
    t_test_p,
)
from evidence.dataset import validate


def _append(root: Path, text: str) -> None:
    with (root / "data" / "outcomes.csv").open("a") as f:
        f.write(text)


def _warnings(root: Path) -> list[str]:
    return [str(p) for p in validate(root) if p.severity == "warning"]


def test_t_test_p_matches_known_values():
    # Student: t = 3.9 / sqrt(s_p^2 (1/18 + 1/19)) with s_p^2 = (17*16 + 18*25) / 35
    student, welch = t_test_p(12.1, 4.0, 18, 16.0, 5.0, 19)
    sp = math.sqrt((17 * 16 + 18 * 25) / 35)
    t = 3.9 / (sp * math.sqrt(1 / 18 + 1 / 19))
    assert t == pytest.approx(2.610611347, rel=1e-9)
    assert student == pytest.approx(0.0132157588, rel=1e-8)  # R: 2 * pt(-t, 35)
    assert welch == pytest.approx(0.01283039181, rel=1e-8)  # R: Welch-Satterthwaite df


def test_grim():
    assert not grim_consistent(15.75, 2, 22)  # 346/22 = 15.727, 347/22 = 15.773
    assert grim_consistent(15.75, 2, 20)
    assert grim_consistent(10.7, 1, 8)  # 85.6/8: 10.75 prints as 10.7 rounding half down
    assert not grim_consistent(-0.13, 2, 6)
    assert grim_consistent(-0.13, 2, 8)  # -1/8 = -0.125


def test_sd_bounds():
    # n values in [6, 40] with mean 6.5: at most sqrt(0.5 * 33.5 * n / (n - 1))
    assert max_sd(6.5, 6, 40, 10) == pytest.approx(math.sqrt(0.5 * 33.5 * 10 / 9))
    # min 10, max 30, mean 20, n 5: the other three at 20
    assert min_sd(20, 10, 30, 5) == pytest.approx(math.sqrt(200 / 4))


def test_stored_p_that_the_means_cannot_give_is_flagged_with_the_n_that_would(valid_copy: Path):
    path = valid_copy / "data" / "outcomes.csv"
    path.write_text(path.read_text().replace(",6 mo,p,0.013,p,", ",6 mo,p,0.04,p,"))
    (warning,) = [w for w in _warnings(valid_copy) if "does not fit the means" in w]
    assert warning.startswith("data/outcomes.csv:8: warning: alpha2010_trial [value] p = 0.04")
    assert "n 18 versus 'control' n 19" in warning
    assert "patients in the larger arm would fit" in warning


def test_consistent_p_is_silent(valid_copy: Path):
    assert not [w for w in _warnings(valid_copy) if "does not fit the means" in w]


def test_grim_flags_an_impossible_mean_of_whole_number_scores(valid_copy: Path):
    _append(
        valid_copy,
        "gamma2012_series,BM-MNC,child_pugh,level,baseline,mean,8.75,points,,abstract,verified,,\n"
        "gamma2012_series,BM-MNC,child_pugh,level,baseline,sd,1.1,points,,abstract,verified,,\n",
    )
    (warning,) = [w for w in _warnings(valid_copy) if "GRIM" in w]
    assert warning.startswith("data/outcomes.csv:23: warning: gamma2012_series [value] GRIM:")
    assert "not possible for 10 whole-number scores" in warning
    assert "n = 4, 8, 12 would fit" in warning  # 8.75 = 35/4 = 70/8 = 105/12


def test_sd_larger_than_the_score_range_allows(valid_copy: Path):
    _append(
        valid_copy,
        "gamma2012_series,BM-MNC,child_pugh,level,4 mo,mean,6,points,,abstract,verified,,\n"
        "gamma2012_series,BM-MNC,child_pugh,level,4 mo,sd,4.5,points,,abstract,verified,,\n",
    )
    (warning,) = [w for w in _warnings(valid_copy) if "larger than" in w]
    assert warning.startswith("data/outcomes.csv:24: warning: gamma2012_series [value] SD 4.5")
    assert "the score's range 5-15" in warning


def test_sd_smaller_than_min_and_max_allow(valid_copy: Path):
    _append(
        valid_copy,
        "gamma2012_series,BM-MNC,bilirubin,level,4 mo,mean,3.0,mg/dL,,abstract,verified,,\n"
        "gamma2012_series,BM-MNC,bilirubin,level,4 mo,sd,0.2,mg/dL,,abstract,verified,,\n"
        "gamma2012_series,BM-MNC,bilirubin,level,4 mo,min,1.0,mg/dL,,abstract,verified,,\n"
        "gamma2012_series,BM-MNC,bilirubin,level,4 mo,max,6.0,mg/dL,,abstract,verified,,\n",
    )
    (warning,) = [w for w in _warnings(valid_copy) if "smaller than" in w]
    assert warning.startswith("data/outcomes.csv:24: warning: gamma2012_series [value] SD 0.2")


def test_percentage_against_counts(valid_copy: Path):
    _append(
        valid_copy,
        "alpha2010_trial,MSC,deaths,level,6 mo,percent,10,%,,Table 3,verified,,\n"
        "alpha2010_trial,control,deaths,level,6 mo,percent,25,%,,Table 3,verified,,\n",
    )
    (warning,) = [w for w in _warnings(valid_copy) if "does not fit 4 events" in w]
    # 2/20 = 10% fits; 4/20 = 20% is not 25%: 16 would be
    assert warning.startswith("data/outcomes.csv:24: warning: alpha2010_trial [value] 25%")
    assert "a denominator of 16 would fit" in warning


def test_percentage_that_the_arm_n_cannot_give_keeps_the_count_out(valid_copy: Path):
    import evidence
    from evidence.compare import Question, effects

    arms = valid_copy / "data" / "arms.csv"
    arms.write_text(arms.read_text() + "alpha2010_trial,placebo,control,,,,verified,\n")
    _append(
        valid_copy,
        "gamma2012_series,BM-MNC,sae,level,4 mo,events,3,patients,,abstract,verified,,\n"
        "gamma2012_series,BM-MNC,sae,level,4 mo,percent,25,%,,abstract,verified,,\n",
    )
    (warning,) = [w for w in _warnings(valid_copy) if "25%" in w]
    assert "3 events of 10 (the arm's n (treated); 30.0%)" in warning
    frame = effects(evidence.load(valid_copy), Question(outcome="sae", groups=("BM-MNC",)))
    (row,) = frame.itertuples()
    assert not row.included and "the printed 25% does not fit 3 of the arm's 10" in row.reason
