"""Properties of evidence.meta that must hold for any data (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evidence.meta import METHODS, leave1out, rma

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

effect = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False, allow_infinity=False)
variance = st.floats(min_value=1e-3, max_value=5.0, allow_nan=False, allow_infinity=False)


@st.composite
def studies(draw: st.DrawFn, min_k: int = 2, max_k: int = 25) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(min_value=min_k, max_value=max_k))
    yi = np.array(draw(st.lists(effect, min_size=k, max_size=k)))
    vi = np.array(draw(st.lists(variance, min_size=k, max_size=k)))
    return yi, vi


method_st = st.sampled_from(METHODS)
test_st = st.sampled_from(["z", "knha", "adhoc"])


def close(a: float, b: float, rel: float = 1e-7, abs_: float = 1e-10) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


@SETTINGS
@given(data=studies(), method=method_st, test=test_st, seed=st.integers(0, 2**32 - 1))
def test_invariant_to_study_order(data, method, test, seed) -> None:
    yi, vi = data
    perm = np.random.default_rng(seed).permutation(len(yi))
    a = rma(yi, vi, method=method, test=test)
    b = rma(yi[perm], vi[perm], method=method, test=test)
    scale = float(np.mean(vi))
    for field in ("estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        assert close(getattr(a, field), getattr(b, field), abs_=1e-8 * math.sqrt(scale)), field
    for field in ("tau2", "tau2_ci_lb", "tau2_ci_ub"):
        assert close(getattr(a, field), getattr(b, field), abs_=1e-8 * scale), field
    for field in ("q", "i2", "h2", "pval"):
        assert close(getattr(a, field), getattr(b, field), abs_=1e-7), field
    np.testing.assert_allclose(a.weights[perm], b.weights, rtol=1e-7, atol=1e-9)


@SETTINGS
@given(data=studies(min_k=1), method=method_st, test=test_st)
def test_estimate_is_within_the_range_and_tau2_nonnegative(data, method, test) -> None:
    yi, vi = data
    res = rma(yi, vi, method=method, test=test)
    span = 1e-12 * (1 + np.max(np.abs(yi)))
    assert yi.min() - span <= res.estimate <= yi.max() + span
    if res.k > 1:
        assert res.tau2 >= 0
        assert 0 <= res.i2 <= 100
        assert res.h2 >= 1 - 1e-12 or method == "FE"
        assert 0 <= res.pval <= 1
        assert res.ci_lb <= res.estimate <= res.ci_ub
        assert res.pi_lb <= res.ci_lb + 1e-12 and res.pi_ub >= res.ci_ub - 1e-12
        if method != "FE":
            assert 0 <= res.tau2_ci_lb <= res.tau2_ci_ub


@SETTINGS
@given(data=studies(), test=test_st)
def test_random_effects_equals_common_effect_when_tau2_is_zero(data, test) -> None:
    yi, vi = data
    fe = rma(yi, vi, method="FE", test=test)
    fixed0 = rma(yi, vi, tau2=0.0, test=test)
    assert close(fixed0.estimate, fe.estimate, rel=1e-12)
    assert close(fixed0.se, fe.se, rel=1e-12)
    for method in ("DL", "REML", "PM"):
        re = rma(yi, vi, method=method, test=test)
        if re.tau2 == 0:
            assert close(re.estimate, fe.estimate, rel=1e-12)
            assert close(re.se, fe.se, rel=1e-12)


@SETTINGS
@given(y=effect, v=variance, method=method_st, test=test_st)
def test_one_study_is_the_study_itself(y, v, method, test) -> None:
    res = rma([y], [v], method=method, test=test)
    assert close(res.estimate, y, rel=1e-14, abs_=1e-15)
    assert close(res.se, math.sqrt(v), rel=1e-14)
    assert math.isnan(res.tau2) and math.isnan(res.i2) and math.isnan(res.q)


@SETTINGS
@given(
    data=studies(), method=method_st, shift=effect, scale=st.floats(min_value=0.01, max_value=100.0)
)
def test_shifting_and_scaling_the_effects(data, method, shift, scale) -> None:
    yi, vi = data
    base = rma(yi, vi, method=method)
    shifted = rma(yi + shift, vi, method=method)
    s = math.sqrt(float(np.mean(vi)))
    assert close(shifted.estimate, base.estimate + shift, rel=1e-7, abs_=1e-8 * s)
    assert close(shifted.tau2, base.tau2, rel=1e-6, abs_=1e-9 * s * s)
    scaled = rma(yi * scale, vi * scale**2, method=method)
    assert close(scaled.estimate, base.estimate * scale, rel=1e-7, abs_=1e-8 * s * scale)
    assert close(scaled.tau2, base.tau2 * scale**2, rel=1e-6, abs_=1e-9 * (s * scale) ** 2)
    assert close(scaled.pval, base.pval, rel=1e-6, abs_=1e-9)


@SETTINGS
@given(data=studies(min_k=3, max_k=12), method=st.sampled_from(["REML", "DL", "PM", "SJ"]))
def test_leave_one_out_equals_refits(data, method) -> None:
    yi, vi = data
    table = leave1out(yi, vi, method=method)
    i = len(yi) // 2
    keep = np.arange(len(yi)) != i
    ref = rma(yi[keep], vi[keep], method=method)
    s = float(np.mean(vi))
    assert close(table["estimate"].iloc[i], ref.estimate, rel=1e-7, abs_=1e-9 * math.sqrt(s))
    assert close(table["tau2"].iloc[i], ref.tau2, rel=1e-7, abs_=1e-9 * s)


@SETTINGS
@given(data=studies(min_k=2))
def test_paule_mandel_lies_inside_its_q_profile_interval(data) -> None:
    yi, vi = data
    res = rma(yi, vi, method="PM")
    assume(res.q > 0)
    s = float(np.mean(vi))
    assert res.tau2_ci_lb - 1e-9 * s <= res.tau2 <= res.tau2_ci_ub + 1e-9 * s


@pytest.mark.parametrize("method", METHODS)
def test_extreme_spread(method: str) -> None:
    """Effects spread over six orders of magnitude more than their standard errors."""
    yi = np.array([-2100.0, 850, 3200, -400, 1500, 60, -1750, 2600])
    vi = np.array([1.5, 2.0, 0.8, 3.1, 1.1, 2.6, 0.9, 1.7])
    res = rma(yi, vi, method=method, test="knha")
    assert np.isfinite([res.estimate, res.se, res.ci_lb, res.ci_ub]).all()
    if method != "FE":
        assert res.tau2 > 1e6 and res.i2 > 99.99
        assert res.tau2_ci_lb < res.tau2 < res.tau2_ci_ub


@SETTINGS
@given(data=studies(min_k=2, max_k=40), method=method_st, test=test_st)
def test_single_model_fast_path_equals_the_batched_engine(data, method, test) -> None:
    """rma() uses a scalar fast path for small k; the batched engine must give the same."""
    from evidence.meta.design import Design
    from evidence.meta.model import fit_batch, summarise_intercept

    yi, vi = data
    fast = rma(yi, vi, method=method, test=test)
    with Design(yi, vi) as d:
        out = fit_batch(d, method, test, 0.05)
    summary = summarise_intercept(out, 0.05)
    s = float(np.mean(vi))
    for field, scale in (
        ("estimate", math.sqrt(s)),
        ("se", math.sqrt(s)),
        ("pi_ub", math.sqrt(s)),
        ("pval", 1e-9),
        ("stat", 1e-9),
    ):
        assert close(getattr(fast, field), float(summary[field][0]), rel=1e-8, abs_=1e-9 * scale)
    for field, scale in (
        ("tau2", s),
        ("se_tau2", s),
        ("i2", 1.0),
        ("q", 1.0),
        ("s2w", 1.0),
        ("tau2_ci_lb", s),
        ("tau2_ci_ub", s),
    ):
        assert close(getattr(fast, field), float(out[field][0]), rel=1e-8, abs_=1e-9 * scale), field
