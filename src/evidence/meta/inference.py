"""Reference distributions: critical values and p-values for z, t, chi-square and F tests.

Thin wrappers over :mod:`evidence.distributions` (scipy.special's functions of the same names,
without the 14 MB scipy.special costs a dashboard kernel): its quantiles and t probabilities
are cached, and the dashboard asks for the same few at every widget change.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evidence import distributions as dist

Array = NDArray[np.float64]

TESTS = ("z", "knha", "adhoc")


def alpha_of(level: float) -> float:
    """Two-sided alpha from a confidence level given as 0.95 or as metafor's 95."""
    level = float(level)
    if level >= 1.0:  # metafor convention: level=95
        level = level / 100.0
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1) or (1, 100), got {level!r}")
    return 1.0 - level


def crit_value(alpha: float, df: ArrayLike) -> Array:
    """Two-sided critical value: standard normal where ``df`` is NaN, else Student t(df)."""
    df = np.asarray(df, dtype=float)
    q = 1.0 - alpha / 2.0
    is_z = np.isnan(df)
    if is_z.all():  # the common cases compute one distribution only
        return np.full(df.shape, dist.ndtri(q))
    t = dist.stdtrit(np.where(df > 0, df, np.nan), q)
    return t if not is_z.any() else np.where(is_z, dist.ndtri(q), t)


def two_sided_p(stat: ArrayLike, df: ArrayLike) -> Array:
    """Two-sided p-value of ``stat`` against N(0, 1) where ``df`` is NaN, else t(df)."""
    stat, df = np.broadcast_arrays(np.abs(np.asarray(stat, dtype=float)), np.asarray(df, float))
    is_z = np.isnan(df)
    if is_z.all():
        return 2.0 * dist.ndtr(-stat)
    t = 2.0 * dist.stdtr(np.where(df > 0, df, np.nan), -stat)
    return t if not is_z.any() else np.where(is_z, 2.0 * dist.ndtr(-stat), t)


def chi2_sf(x: ArrayLike, df: ArrayLike) -> Array:
    """Upper tail ``P(X > x)`` of a chi-square with ``df`` degrees of freedom."""
    return dist.chdtrc(np.asarray(df, dtype=float), np.asarray(x, dtype=float))


def chi2_isf(p: float, df: ArrayLike) -> Array:
    """``x`` such that ``P(X > x) = p`` for a chi-square with ``df`` degrees of freedom."""
    return dist.chdtri(np.asarray(df, dtype=float), p)


def f_sf(x: ArrayLike, df1: ArrayLike, df2: ArrayLike) -> Array:
    """Upper tail ``P(F > x)`` of an F(df1, df2) distribution."""
    return dist.fdtrc(np.asarray(df1, dtype=float), np.asarray(df2, dtype=float), x)
