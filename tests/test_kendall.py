"""Kendall's tau-b and its test (Begg's test without scipy.stats) against scipy.stats.kendalltau,
which R's cor.test(method = "kendall") agrees with; the metafor pins in test_meta_reference
cover ranktest itself."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from evidence.meta.kendall import _exact_pvalue, _strict_inversions, kendall


def _close(a: float, b: float, rel: float = 1e-9) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=rel, abs=1e-300)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=3, max_size=60))
def test_tau_b_and_asymptotic_pvalue_with_ties_match_scipy(pairs) -> None:
    x = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs], dtype=float)
    ref = stats.kendalltau(x, y, method="asymptotic")
    ours = kendall(x, y, exact=False)
    assert _close(ours.tau, float(ref.statistic))
    assert _close(ours.pval, float(ref.pvalue))


@settings(max_examples=200, deadline=None)
@given(st.integers(3, 120), st.integers(0, 2**32 - 1), st.floats(-1, 1))
def test_exact_pvalue_without_ties_matches_scipy(n, seed, rho) -> None:
    rng = np.random.default_rng(seed)
    x = rng.permutation(n).astype(float)
    y = rho * x + rng.normal(scale=n / 3, size=n)
    ref = stats.kendalltau(x, y, method="exact")
    ours = kendall(x, y, exact=True)
    assert _close(ours.tau, float(ref.statistic), 1e-12)
    assert _close(ours.pval, float(ref.pvalue))


def test_exact_pvalue_edges() -> None:
    assert _exact_pvalue(2, 0) == 1.0
    assert _exact_pvalue(11, 0) == pytest.approx(2 / math.factorial(11), rel=1e-12)  # tau = 1
    assert _exact_pvalue(6, 1) == pytest.approx(2 * (1 + 5) / math.factorial(6), rel=1e-12)
    assert _exact_pvalue(10, 45 // 2 + 1) == 1.0  # c past the middle


def test_inversions_count_strict_pairs_only() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 7, 64, 65, 300):
        v = rng.integers(0, 10, n)
        brute = sum(int(v[i] > v[j]) for i in range(n) for j in range(i + 1, n))
        assert _strict_inversions(v) == brute


def test_large_k_without_a_pairwise_matrix() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=50_000)
    y = x + rng.normal(size=50_000)
    ref = stats.kendalltau(x, y, method="asymptotic")
    assert kendall(x, y, exact=False).tau == pytest.approx(float(ref.statistic), rel=1e-12)


def test_exact_refuses_ties() -> None:
    with pytest.raises(ValueError, match="without ties"):
        kendall(np.array([1.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]), exact=True)


def test_ranktest_does_not_import_scipy_stats() -> None:
    """The reason this module exists: Begg's test in a dashboard kernel without scipy.stats."""
    code = (
        "import sys; from evidence.meta import ranktest; "
        "ranktest([0.1, 0.3, -0.2, 0.5, 0.05], [0.01, 0.04, 0.02, 0.09, 0.03]); "
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
