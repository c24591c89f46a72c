"""evidence.distributions against scipy.special (the functions of the same names) over grids
that reach far into the tails, against closed forms where SciPy itself loses digits (the t
distribution with 1 and 2 degrees of freedom near 0), and the rest of the contract: a float
for scalars, arrays broadcast like a ufunc, NaN for arguments outside the domain. The dashboard
kernel's freedom from scipy.special is checked at the end."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from evidence import distributions as dist

DFS = [1, 1.5, 2, 2.3, 3, 4, 5, 7, 8.7, 10, 15, 29, 30, 50, 100, 300, 1000]
#: Probabilities from 1e-300 up, the centre, and close to 1 (1 - p exact down to 1e-16).
PROBS = np.concatenate(
    [
        10.0 ** -np.arange(1, 300, 0.5),
        np.linspace(0.001, 0.999, 999),
        1 - 10.0 ** -np.arange(1, 16, 0.25),
        [0.025, 0.975, 0.005, 0.995, 0.05, 0.95, 0.1, 0.9],
    ]
)
QUANTILE_PROBS = PROBS[PROBS >= 1e-30]  # the t and chi-square quantiles' grid


def agree(ours: np.ndarray, ref: np.ndarray, rel: float, abs_: float = 0.0) -> None:
    """Equal where finite to ``rel`` (or ``abs_``), and non-finite at the same places."""
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(ours), np.isposinf(ref))
    np.testing.assert_array_equal(np.isneginf(ours), np.isneginf(ref))
    finite = np.isfinite(ref)
    np.testing.assert_allclose(ours[finite], ref[finite], rtol=rel, atol=abs_)


def test_ndtr() -> None:
    x = np.concatenate([np.linspace(-37, 37, 7401), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    agree(dist.ndtr(x), special.ndtr(x), rel=1e-13)


def test_ndtri() -> None:
    p = np.concatenate([PROBS, [0.0, 1.0, 0.5, -0.1, 1.1, np.nan]])
    # near p = 0.5 the quantile is near 0: an absolute tolerance there
    agree(dist.ndtri(p), special.ndtri(p), rel=1e-13, abs_=1e-16)


def test_ndtri_inverts_ndtr_far_out() -> None:
    for x in (-37.0, -30.0, -20.0, -8.0, -1.0):
        assert dist.ndtri(dist.ndtr(x)) == pytest.approx(x, rel=1e-13)


def test_stdtr() -> None:
    df, t = np.meshgrid(DFS, np.concatenate([np.linspace(-60, 60, 241), [1e3, -1e4, 0.0]]))
    agree(dist.stdtr(df, t), special.stdtr(df, t), rel=1e-12, abs_=1e-300)


def test_stdtr_closed_forms_near_zero() -> None:
    # SciPy's stdtr(1, -1e-8) is 0.49999999526 (the Cauchy value is 0.49999999682): ours keeps
    # the digits of a small t
    for t in (-1e-8, -1e-4, -0.3, 2.5, -40.0):
        assert dist.stdtr(1, t) == pytest.approx(0.5 + math.atan(t) / math.pi, rel=1e-14)
        assert dist.stdtr(2, t) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), rel=1e-14)


def test_stdtrit() -> None:
    df, p = np.meshgrid(DFS, QUANTILE_PROBS)
    # near p = 0.5 (t near 0) both are good to about 1e-14 absolute (checked with mpmath)
    agree(dist.stdtrit(df, p), special.stdtrit(df, p), rel=1e-12, abs_=1e-13)
    assert dist.stdtrit(1, 1e-30) == pytest.approx(-1 / math.tan(math.pi * 1e-30), rel=1e-14)


def test_stdtr_of_stdtrit_large_df() -> None:
    for df in (1e4, 1e5, math.inf):
        for p in (1e-10, 0.0224, 0.3, 0.975):
            assert dist.stdtr(df, dist.stdtrit(df, p)) == pytest.approx(p, rel=1e-10)


def test_chdtrc() -> None:
    df, x = np.meshgrid(DFS, np.concatenate([np.linspace(0, 400, 801), [1e-8, 1e-3, 1e3, -1.0]]))
    agree(dist.chdtrc(df, x), special.chdtrc(df, x), rel=1e-12, abs_=1e-300)


def test_chdtri() -> None:
    df, p = np.meshgrid(DFS, QUANTILE_PROBS)
    agree(dist.chdtri(df, p), special.chdtri(df, p), rel=1e-12)
    assert dist.chdtri(3, 0.0) == math.inf and dist.chdtri(3, 1.0) == 0.0


def test_fdtrc() -> None:
    d1, d2, x = np.meshgrid([1, 2, 3, 5, 10, 30, 100], [1, 2, 5, 10, 30, 100, 1000],
                            np.concatenate([np.linspace(0, 60, 121), [1e-6, 1e3]]))  # fmt: skip
    agree(dist.fdtrc(d1, d2, x), special.fdtrc(d1, d2, x), rel=1e-12, abs_=1e-300)


def test_gammaln() -> None:
    x = np.concatenate([np.linspace(0.01, 200, 1000), [0.0, -1.0, -2.5, np.nan]])
    agree(dist.gammaln(x), special.gammaln(x), rel=1e-13, abs_=1e-15)


@settings(max_examples=300, deadline=None)
@given(st.floats(0.5, 5000), st.floats(1e-12, 1 - 1e-12))
def test_quantiles_invert_their_probabilities(df: float, p: float) -> None:
    assert dist.stdtr(df, dist.stdtrit(df, p)) == pytest.approx(p, rel=1e-11)
    assert dist.chdtrc(df, dist.chdtri(df, p)) == pytest.approx(p, rel=1e-11)


def test_outside_the_domain_is_nan() -> None:
    assert math.isnan(dist.stdtr(0, 1.0)) and math.isnan(dist.stdtr(-1, 1.0))
    assert math.isnan(dist.stdtrit(3, 1.5)) and math.isnan(dist.stdtrit(np.nan, 0.5))
    assert math.isnan(dist.chdtrc(-2, 1.0)) and math.isnan(dist.chdtri(2, -0.1))
    assert math.isnan(dist.chdtrc(2, -1.0))  # as scipy (R's pchisq would say 1)
    assert math.isnan(dist.fdtrc(0, 2, 1.0)) and math.isnan(dist.ndtri(np.nan))


def test_a_float_for_scalars_an_array_broadcast_otherwise() -> None:
    assert isinstance(dist.stdtrit(4, 0.975), float)
    out = dist.stdtrit(np.array([[2.0], [3.0]]), np.array([0.9, 0.95, 0.975]))
    assert out.shape == (2, 3) and out.dtype == np.float64
    assert dist.ndtri(np.array([])).shape == (0,)


def test_a_dashboard_kernel_never_imports_scipy_special() -> None:
    """The reason the module exists: the frequentist statistics without scipy.special."""
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from evidence.meta import rma, leave1out, regtest, ranktest, subgroups\n"
        "from evidence import effects\n"
        "y = np.array([0.1, 0.3, -0.2, 0.5]); v = np.array([0.04, 0.02, 0.05, 0.03])\n"
        "for test in ('z', 'knha'):\n"
        "    r = rma(y, v, method='REML', test=test)\n"
        "    r.tau2_ci_lb, r.tau2_ci_ub\n"
        "    leave1out(y, v, test=test); regtest(y, v, test=test)\n"
        "ranktest(y, v)\n"
        "effects.se_from_ci([0.1], [0.5], df=[9])\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
