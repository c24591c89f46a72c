"""evidence.meta: behaviour, edge cases and API contracts (the metafor pins are in
test_meta_reference.py, the properties in test_meta_properties.py)."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evidence.meta import (
    METHODS,
    RMAResult,
    cumul,
    leave1out,
    ranktest,
    regtest,
    rma,
    subgroups,
    trimfill,
)

# dat.bcg, log risk ratios (metafor's escalc("RR", ...))
BCG_YI = np.array(
    [
        -0.88931133,
        -1.58538866,
        -1.34807315,
        -1.44155119,
        -0.21754732,
        -0.78611559,
        -1.62089822,
        0.01195233,
        -0.46941765,
        -1.37134480,
        -0.33935883,
        0.44591340,
        -0.01731395,
    ]
)
BCG_VI = np.array(
    [
        0.32558476,
        0.19458112,
        0.41536797,
        0.02001003,
        0.05121018,
        0.00690562,
        0.22301725,
        0.00396158,
        0.05649658,
        0.07302479,
        0.01241221,
        0.53250585,
        0.07140466,
    ]
)
ALLOC = [
    "random",
    "random",
    "random",
    "random",
    "alternate",
    "alternate",
    "random",
    "random",
    "random",
    "systematic",
    "systematic",
    "systematic",
    "systematic",
]
YEAR = [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961, 1974, 1969, 1976]


def synthetic(k: int, tau2: float = 0.05, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.5, k)
    return rng.normal(0.3, np.sqrt(tau2 + vi)), vi


# -- the result object -------------------------------------------------------------------


def test_result_is_frozen_and_has_the_public_fields() -> None:
    res = rma(BCG_YI, BCG_VI)
    assert isinstance(res, RMAResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 0.0  # type: ignore[misc]
    for name in ("weights", "yi", "vi"):
        arr = getattr(res, name)
        with pytest.raises(ValueError):
            arr[0] = 1.0
    for field in (
        "k",
        "estimate",
        "se",
        "stat",
        "pval",
        "ci_lb",
        "ci_ub",
        "df",
        "tau2",
        "tau2_ci_lb",
        "tau2_ci_ub",
        "i2",
        "i2_ci_lb",
        "i2_ci_ub",
        "h2",
        "q",
        "q_pval",
        "pi_lb",
        "pi_ub",
        "weights",
        "studies",
    ):
        assert hasattr(res, field)
    frame = res.to_frame()
    assert frame.shape[0] == 1
    assert frame["estimate"].iloc[0] == res.estimate
    assert res.weights.sum() == pytest.approx(100.0)
    assert "Random-effects model" in str(res)


def test_inputs_are_copied_not_frozen() -> None:
    yi, vi = BCG_YI.copy(), BCG_VI.copy()
    res = rma(yi, vi)
    yi[0] = 99.0  # the caller's array stays writable and the result does not change
    assert res.yi[0] == BCG_YI[0]


def test_series_labels_become_studies() -> None:
    labels = [f"s{i}" for i in range(13)]
    res = rma(pd.Series(BCG_YI, index=labels), pd.Series(BCG_VI, index=labels))
    assert list(res.studies) == labels


def test_level_accepts_fraction_or_percent_and_method_aliases() -> None:
    a = rma(BCG_YI, BCG_VI, level=0.9)
    b = rma(BCG_YI, BCG_VI, level=90)
    assert a.ci_lb == b.ci_lb
    assert rma(BCG_YI, BCG_VI, method="EE").estimate == rma(BCG_YI, BCG_VI, method="FE").estimate
    with pytest.raises(ValueError, match="unknown method"):
        rma(BCG_YI, BCG_VI, method="XX")
    with pytest.raises(ValueError, match="unknown test"):
        rma(BCG_YI, BCG_VI, test="t-ish")


# -- edge cases ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
def test_k1_is_the_study_itself(method: str, test: str) -> None:
    res = rma([0.42], [0.05], method=method, test=test)
    assert res.k == 1
    assert res.estimate == pytest.approx(0.42, rel=1e-15)
    assert res.se == pytest.approx(math.sqrt(0.05))
    assert res.test == "z"  # metafor switches to z with one study
    assert math.isnan(res.df)
    assert res.ci_lb == pytest.approx(0.42 - 1.959963984540054 * math.sqrt(0.05))
    for undefined in ("tau2", "q", "q_pval", "i2", "h2", "pi_lb", "pi_ub", "tau2_ci_lb"):
        assert math.isnan(getattr(res, undefined)), undefined
    assert res.weights.tolist() == [100.0]


@pytest.mark.parametrize("method", METHODS)
def test_k2(method: str) -> None:
    res = rma([0.12, 0.55], [0.04, 0.09], method=method, test="knha")
    assert res.k == 2
    assert res.df == 1
    assert res.q_df == 1
    assert np.isfinite([res.estimate, res.se, res.ci_lb, res.ci_ub, res.pi_lb]).all()


@pytest.mark.parametrize("method", [m for m in METHODS if m != "FE"])
def test_q_below_df_truncates_tau2_to_zero(method: str) -> None:
    yi = [0.30, 0.31, 0.29, 0.305, 0.295, 0.302]
    vi = [0.02, 0.03, 0.025, 0.04, 0.05, 0.035]
    res = rma(yi, vi, method=method)
    fe = rma(yi, vi, method="FE")
    assert res.q < res.q_df
    if method != "SJ":  # SJ is positive by construction
        assert res.tau2 == pytest.approx(0.0, abs=1e-12)
        assert res.i2 == pytest.approx(0.0, abs=1e-9)
        assert res.estimate == pytest.approx(fe.estimate, rel=1e-9)
    assert res.tau2_ci_lb == 0.0 and res.tau2_ci_ub == 0.0  # Q(0) below the 2.5% point


def test_huge_tau2_is_scale_equivariant() -> None:
    yi, vi = synthetic(25, tau2=1.0, seed=3)
    base = rma(yi, vi, test="knha")
    c = 1e4
    big = rma(yi * c, vi * c**2, test="knha")
    assert big.tau2 == pytest.approx(base.tau2 * c**2, rel=1e-8)
    assert big.estimate == pytest.approx(base.estimate * c, rel=1e-9)
    assert big.tau2_ci_ub == pytest.approx(base.tau2_ci_ub * c**2, rel=1e-8)
    assert big.i2 == pytest.approx(base.i2, rel=1e-9)


def test_nan_input_names_the_row_and_column() -> None:
    yi = pd.Series([0.1, np.nan, 0.3], index=["a", "b", "c"])
    vi = pd.Series([0.1, 0.2, 0.3], index=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"yi is missing \(NaN\) for study 'b'"):
        rma(yi, vi)
    with pytest.raises(ValueError, match=r"vi is missing \(NaN\) for study 2"):
        rma([0.1, 0.2, 0.3], [0.1, 0.2, np.nan])
    with pytest.raises(ValueError, match="vi is infinite for study 0"):
        rma([0.1, 0.2], [np.inf, 0.2])
    res = rma(yi, vi, na="omit")
    assert list(res.studies) == ["a", "c"]
    assert res.k == 2


def test_negative_variance_is_an_error() -> None:
    with pytest.raises(ValueError, match="vi is negative for study 1"):
        rma([0.1, 0.2, 0.3], [0.1, -0.2, 0.3])


@pytest.mark.parametrize("method", ["FE", "DL", "HS", "PM", "EB"])
def test_zero_variance_with_inverse_variance_methods_is_an_error(method: str) -> None:
    yi = pd.Series([0.1, 0.5, 0.9], index=["x", "y", "z"])
    vi = pd.Series([0.1, 0.0, 0.3], index=["x", "y", "z"])
    with pytest.raises(ValueError, match=r"vi is 0 for study 'y'.*method='" + method):
        rma(yi, vi, method=method)


@pytest.mark.parametrize("method", ["REML", "ML", "HE", "SJ"])
def test_zero_variance_is_fine_when_tau2_is_positive(method: str) -> None:
    yi = [0.1, 0.9, -0.6, 1.4, 0.2]
    vi = [0.05, 0.0, 0.04, 0.06, 0.05]
    res = rma(yi, vi, method=method)
    assert res.tau2 > 0
    assert np.isfinite(res.estimate) and np.isfinite(res.se)
    # metafor computes no Q, I^2, H^2 or Q-profile CI with a non-positive variance
    assert math.isnan(res.q) and math.isnan(res.i2) and math.isnan(res.tau2_ci_lb)


def test_zero_variance_with_zero_tau2_is_an_error() -> None:
    with pytest.raises(ValueError, match="vi is 0 for study 1 and the estimated tau2 is 0"):
        rma([0.30, 0.31, 0.29], [0.02, 0.0, 0.025], method="REML")


def test_fixed_tau2() -> None:
    res = rma(BCG_YI, BCG_VI, tau2=0.0)
    fe = rma(BCG_YI, BCG_VI, method="FE")
    assert res.estimate == pytest.approx(fe.estimate, rel=1e-12)
    assert res.tau2_fixed and math.isnan(res.tau2_ci_lb)
    with pytest.raises(ValueError, match="tau2 must be"):
        rma(BCG_YI, BCG_VI, tau2=-1.0)
    with pytest.raises(ValueError, match="tau2 = 0 by definition"):
        rma(BCG_YI, BCG_VI, method="FE", tau2=0.1)


def test_knapp_hartung_and_adhoc() -> None:
    z = rma(BCG_YI, BCG_VI)
    kh = rma(BCG_YI, BCG_VI, test="knha")
    assert kh.df == 12
    assert kh.se == pytest.approx(z.se * math.sqrt(kh.s2w))
    homog_y = [0.30, 0.31, 0.29, 0.305, 0.295, 0.302]
    homog_v = [0.02, 0.03, 0.025, 0.04, 0.05, 0.035]
    plain = rma(homog_y, homog_v, test="knha")
    adhoc = rma(homog_y, homog_v, test="adhoc")
    assert plain.s2w < 1 and adhoc.s2w == 1.0  # adhoc truncates the scaling at 1
    assert adhoc.se > plain.se


def test_prediction_interval_uses_t_under_knha() -> None:
    kh = rma(BCG_YI, BCG_VI, test="knha")
    crit = stats.t.ppf(0.975, 12)
    assert kh.pi_ub == pytest.approx(kh.estimate + crit * math.sqrt(kh.se**2 + kh.tau2))


def test_fe_prediction_interval_is_the_confidence_interval() -> None:
    fe = rma(BCG_YI, BCG_VI, method="FE")
    assert (fe.pi_lb, fe.pi_ub) == (fe.ci_lb, fe.ci_ub)


# -- subgroups -------------------------------------------------------------------------------


def test_subgroups_separate_is_a_q_test_on_the_subgroup_estimates() -> None:
    res = subgroups(BCG_YI, BCG_VI, ALLOC)
    assert res.groups == ("alternate", "random", "systematic")
    est = np.array([r.estimate for r in res.results])
    w = 1 / np.array([r.se for r in res.results]) ** 2
    q = np.sum(w * (est - np.sum(w * est) / np.sum(w)) ** 2)
    assert res.q_between == pytest.approx(q, rel=1e-12)
    assert res.q_between_df == 2
    assert res["random"].k == 7
    frame = res.to_frame()
    assert list(frame.index) == list(res.groups)
    assert frame.attrs["q_between"] == res.q_between
    single = rma(BCG_YI[np.array(ALLOC) == "random"], BCG_VI[np.array(ALLOC) == "random"])
    assert res["random"].estimate == pytest.approx(single.estimate, rel=1e-12)
    assert res["random"].tau2_ci_ub == pytest.approx(single.tau2_ci_ub, rel=1e-10)


def test_subgroups_common_uses_one_tau2() -> None:
    res = subgroups(BCG_YI, BCG_VI, ALLOC, tau2="common", test="knha")
    assert len({r.tau2 for r in res.results}) == 1
    assert res.results[0].tau2 == res.tau2_common
    assert res.q_between_df == 2 and res.q_between_df2 == 10
    with pytest.raises(ValueError, match="at least two subgroups"):
        subgroups(BCG_YI, BCG_VI, ["a"] * 13, tau2="common")


def test_subgroups_missing_label() -> None:
    groups = [*ALLOC[:-1], None]
    with pytest.raises(ValueError, match="groups is missing"):
        subgroups(BCG_YI, BCG_VI, groups)
    res = subgroups(BCG_YI, BCG_VI, groups, na="omit")
    assert sum(r.k for r in res.results) == 12


# -- leave-one-out and cumulative -----------------------------------------------------------


@pytest.mark.parametrize("method", ["REML", "DL", "PM", "FE"])
def test_leave1out_rows_equal_separate_fits(method: str) -> None:
    yi, vi = synthetic(12, seed=5)
    table = leave1out(yi, vi, method=method, test="knha")
    assert table.index.name == "omitted" and len(table) == 12
    for i in (0, 5, 11):
        keep = np.arange(12) != i
        ref = rma(yi[keep], vi[keep], method=method, test="knha")
        row = table.iloc[i]
        for field in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "i2", "q", "pi_ub"):
            assert row[field] == pytest.approx(getattr(ref, field), rel=1e-8, abs=1e-12)


def test_leave1out_in_chunks_for_many_studies() -> None:
    yi, vi = synthetic(1500, seed=8)
    table = leave1out(yi, vi, method="DL")
    keep = np.arange(1500) != 1234
    assert table["estimate"].iloc[1234] == pytest.approx(
        rma(yi[keep], vi[keep], method="DL").estimate, rel=1e-10
    )


def test_cumul_follows_the_order_key() -> None:
    table = cumul(BCG_YI, BCG_VI, order=YEAR)
    assert table.index.name == "added"
    assert list(table.index[:3]) == [0, 1, 5]  # 1948, 1949, 1953
    assert table["k"].tolist() == list(range(1, 14))
    assert math.isnan(table["tau2"].iloc[0])
    assert table["estimate"].iloc[-1] == pytest.approx(rma(BCG_YI, BCG_VI).estimate, rel=1e-9)
    ties = cumul([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], order=[2, 1, 1])
    assert list(ties.index) == [1, 2, 0]  # ties keep the input order, as R's order()


# -- publication bias ------------------------------------------------------------------------


def test_regtest_lm_is_weighted_least_squares() -> None:
    import statsmodels.api as sm

    res = regtest(BCG_YI, BCG_VI, model="lm")
    X = sm.add_constant(np.sqrt(BCG_VI))
    wls = sm.WLS(BCG_YI, X, weights=1 / BCG_VI).fit()
    assert res.stat == pytest.approx(wls.tvalues[1], rel=1e-10)
    assert res.pval == pytest.approx(wls.pvalues[1], rel=1e-10)
    assert res.limit_estimate == pytest.approx(wls.params[0], rel=1e-10)
    assert res.df == 11


def test_ranktest_is_kendall_tau_of_standardised_deviates() -> None:
    res = ranktest(BCG_YI, BCG_VI)
    w = 1 / BCG_VI
    theta = np.sum(w * BCG_YI) / np.sum(w)
    ystar = (BCG_YI - theta) / np.sqrt(BCG_VI - 1 / np.sum(w))
    ref = stats.kendalltau(ystar, BCG_VI)
    assert res.tau == pytest.approx(ref.statistic)
    assert res.exact


def test_trimfill_symmetric_data_fills_nothing() -> None:
    yi = np.array([-0.5, -0.2, 0.0, 0.2, 0.5])
    vi = np.array([0.1, 0.05, 0.02, 0.05, 0.1])
    res = trimfill(yi, vi)
    assert res.k0 == 0
    assert res.result.k == 5 and not res.fill.any()
    assert res.result.estimate == pytest.approx(rma(yi, vi).estimate)


def test_trimfill_labels_filled_studies() -> None:
    yi = np.array([0.9, 0.75, 0.62, 0.55, 0.48, 0.41, 0.36, 0.32, 0.3, 0.28, 0.27])
    vi = np.array([0.3, 0.22, 0.16, 0.12, 0.09, 0.07, 0.05, 0.035, 0.025, 0.018, 0.01])
    res = trimfill(yi, vi, method="FE")
    assert res.side == "left" and res.k0 > 0
    assert list(res.result.studies[-res.k0 :]) == [f"Filled {i + 1}" for i in range(res.k0)]
    assert res.result.estimate < rma(yi, vi, method="FE").estimate
    assert res.to_frame()["k0"].iloc[0] == res.k0


def test_statistics_do_not_import_plotting_widgets_or_the_loader() -> None:
    code = (
        "import sys, evidence.meta, evidence.effects\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('plotly', 'ipywidgets', 'matplotlib', 'anywidget', 'voila', 'bibtexparser')"
        " or m in ('evidence.dataset', 'evidence.registry')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_large_k_batched_path_equals_the_fast_path() -> None:
    """Above scalar.MAX_K rma() uses the pooled-buffer engine; both give the same numbers."""
    from evidence.meta import scalar

    yi, vi = synthetic(scalar.MAX_K + 500, seed=12)
    for method in ("REML", "PM", "SJ", "DL"):
        res = rma(yi, vi, method=method, test="knha")
        ref = scalar.fit(yi, vi, method, "knha", 0.05)
        for field in ("estimate", "se", "tau2", "se_tau2", "i2", "q", "pi_lb", "pval"):
            assert getattr(res, field) == pytest.approx(ref[field], rel=1e-9, abs=1e-14), field
        lb, ub = scalar.qprofile(yi, vi, 0.05, res.tau2)
        assert res.tau2_ci_lb == pytest.approx(lb, rel=1e-9)
        assert res.tau2_ci_ub == pytest.approx(ub, rel=1e-9)
