"""The review's question -> per-arm effects (with reasons) -> pooled per cell group."""

from __future__ import annotations

import math

import pytest

import evidence
from evidence.compare import Question, effects, pool, summary, to_display
from evidence.effects import conv_fivenum

from .conftest import FIXTURES


@pytest.fixture(scope="module")
def small():
    return evidence.load(FIXTURES / "valid")


def row(frame, arm):
    (match,) = frame.index[frame["arm"] == arm]
    return frame.loc[match]


def test_change_from_levels_is_metafor_mc(small):
    q = Question(outcome="meld", groups=("MSC", "BM-MNC", "control"), ri=0.5)
    e = effects(small, q)
    msc = row(e, "MSC")
    # follow-up 12.1 (SD 4.0, n 18) minus baseline 17.9 (SD 5.6); r = 0.5
    assert msc["yi"] == pytest.approx(12.1 - 17.9)
    assert msc["vi"] == pytest.approx((4.0**2 + 5.6**2 - 2 * 0.5 * 4.0 * 5.6) / 18)
    assert msc["included"] and msc["basis"] == "baseline and follow-up levels"
    assert "r = 0.5" in msc["derived"]
    assert msc["source_lines"] == (2, 3, 4, 5)
    assert msc["source_file"] == "data/outcomes.csv"
    # The control arm has no baseline: it is listed, with the reason, not dropped.
    control = row(e, "control")
    assert not control["included"] and "no baseline" in control["reason"]


def test_reported_median_change_is_converted(small):
    e = effects(small, Question(outcome="meld", groups=("BM-MNC",)))
    gamma = row(e, "BM-MNC")
    conv = conv_fivenum(q1=[-1.5], median=[-0.5], q3=[1.1], n=[10])
    assert gamma["yi"] == pytest.approx(conv["mean"][0])
    assert gamma["vi"] == pytest.approx(conv["sd"][0] ** 2 / 10)
    assert "median/IQR" in gamma["derived"]


def test_versus_control(small):
    e = effects(small, Question(outcome="meld", effect="control", groups=("MSC", "BM-MNC")))
    msc = row(e, "MSC")
    assert msc["yi"] == pytest.approx(12.1 - 16.0)
    assert msc["vi"] == pytest.approx(4.0**2 / 18 + 5.0**2 / 19)
    assert (msc["n"], msc["n_control"], msc["comparator"]) == (18, 19, "control")
    assert row(e, "BM-MNC")["reason"] == "no control arm to compare with"


def test_binary_versus_control_uses_totals(small):
    q = Question(outcome="deaths", effect="control", groups=("MSC",), binary_measure="RR")
    msc = row(effects(small, q), "MSC")
    assert msc["yi"] == pytest.approx(math.log((2 / 20) / (4 / 20)))
    assert msc["vi"] == pytest.approx(1 / 2 - 1 / 20 + 1 / 4 - 1 / 20)
    assert to_display("RR", msc["yi"]) == pytest.approx(0.5)


def test_filters_give_reasons(small):
    rct = effects(small, Question(outcome="meld", design="rct", groups=("BM-MNC",)))
    assert "single-arm design: excluded" in row(rct, "BM-MNC")["reason"]
    verified = effects(
        small, Question(outcome="bilirubin", confidence="verified", groups=("BM-MNC",))
    )
    assert (
        "no follow-up" in row(verified, "BM-MNC")["reason"]
        or not row(verified, "BM-MNC")["included"]
    )
    window = effects(small, Question(outcome="albumin", window="12+", groups=("BM-MNC",)))
    assert "nothing in the window" in row(window, "BM-MNC")["reason"]
    assert "reported at 4 mo" in row(window, "BM-MNC")["reason"]


def test_window_picks_the_timepoint(small):
    early = effects(small, Question(outcome="albumin", window="0-3", groups=("BM-MNC",)))
    assert not row(early, "BM-MNC")["included"]
    mid = effects(small, Question(outcome="albumin", window="4-6", groups=("BM-MNC",)))
    assert row(mid, "BM-MNC")["timepoint"] == "4 mo"
    # 3.47 -> 3.73 g/dL is 34.7 -> 37.3 g/L after unit normalisation
    assert row(mid, "BM-MNC")["yi"] == pytest.approx(2.6)


@pytest.mark.parametrize(
    "bad",
    [
        dict(outcome="meldd"),
        dict(effect="both"),
        dict(window="1 week"),
        dict(design="any"),
        dict(confidence="all"),
        dict(groups=("MSC", "stem cells")),
        dict(ri=1.5),
        dict(ri="0.5"),
        dict(binary_measure="HR"),
    ],
)
def test_question_rejects_unknown_values(bad):
    with pytest.raises(ValueError):
        Question(**bad)


def test_pool_per_group_and_subgroup_test(small):
    q = Question(outcome="meld", groups=("MSC", "BM-MNC", "MSC+HSC"))
    pooled = pool(effects(small, q), q, method="DL")
    assert pooled.groups["MSC+HSC"] is None
    assert pooled.groups["MSC"].k == 1
    assert pooled.subgroups is not None and pooled.subgroups.q_between_df == 1
    text = summary(pooled)
    assert text[0].startswith("MSC: 1 study arm")
    assert any(line.startswith("MSC+HSC: no usable MELD score numbers") for line in text)
    assert "cannot be tested here" in text[-1]
    with pytest.raises(ValueError):
        pool(effects(small, q), q, method="XYZ")
