"""Q-profile confidence interval for tau^2 (metafor ``confint(res)``, type "QP").

Shared maths below both :mod:`~evidence.meta.model` (which fits batches) and
:mod:`~evidence.meta.results` (which computes the interval lazily on first access), so that
neither imports the other (PyMARE keeps its Q-profile apart for the same reason).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from evidence.meta import inference, scalar
from evidence.meta.design import Design
from evidence.meta.estimators import q_root

Array = NDArray[np.float64]


def qprofile_batch(
    d: Design, method: str, alpha: float, tau2: Array, ok: NDArray[np.bool_]
) -> tuple[Array, Array]:
    """Q-profile interval for tau2 (metafor ``confint(res)``, type "QP"): the tau2 values where
    the generalised Q equals the chi-square(k - p) quantiles ``1 - alpha/2`` and ``alpha/2``;
    a bound is 0 where Q(0) is already below its quantile. NaN where not ``ok``."""
    nan = np.full(d.B, np.nan)
    if method == "FE" or not ok.any():
        return nan, nan
    crit_u = inference.chi2_isf(alpha / 2.0, d.df)
    crit_l = inference.chi2_isf(1.0 - alpha / 2.0, d.df)
    d.common_effect()
    # Both bounds in one Newton loop: model b's two copies solve Q = crit_l and Q = crit_u.
    with d.replicated(2) as d2:
        roots = q_root(d2, np.stack([crit_l, crit_u], axis=1).ravel(), start=np.repeat(tau2, 2))
    return np.where(ok, roots[1::2], np.nan), np.where(ok, roots[0::2], np.nan)


def qprofile_interval(
    yi: Array, vi: Array, k: int, method: str, level: float, tau2: float, tau2_fixed: bool
) -> tuple[float, float]:
    """Q-profile bounds of a fitted intercept-only model (computed when first accessed)."""
    y, v = np.asarray(yi), np.asarray(vi)
    if method == "FE" or tau2_fixed or k < 2 or not (v > 0).all():
        return math.nan, math.nan
    if k <= scalar.MAX_K:
        return scalar.qprofile(y, v, 1.0 - level, tau2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"), Design(y, v) as d:
        lb, ub = qprofile_batch(d, method, 1.0 - level, np.array([tau2]), np.ones(1, bool))
    return float(lb[0]), float(ub[0])
