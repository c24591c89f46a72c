"""The normal, t, chi-square and F distributions the frequentist tests need, in Python.

The same functions as :mod:`scipy.special`'s ufuncs of the same names (``ndtr``, ``ndtri``,
``stdtr``, ``stdtrit``, ``chdtrc``, ``chdtri``, ``fdtrc``, ``gammaln``), written here because
importing ``scipy.special`` costs every dashboard kernel about 14 MB resident (it brings
``numpy.testing``, ``numpy.f2py`` and SciPy's array-API layer) for these few functions. They take
scalars or arrays (broadcast like a ufunc) and give a float for scalars, an array otherwise.

The methods are the textbook ones: ``math.erfc`` for the normal distribution; the regularized
incomplete beta function by its continued fraction (DLMF 8.17.22, Lentz's evaluation) for t and
F; the regularized incomplete gamma function by its series (DLMF 8.7.1) or continued fraction
(DLMF 8.9.2) for chi-square; quantiles by safeguarded Newton steps inside a bracket that always
holds the root. They agree with SciPy to 1e-12 relative over the tested grids
(``tests/test_distributions.py``); metafor's values are pinned separately.

Quantiles and t probabilities are cached per argument: the dashboard asks for the same few
(a 95% critical value for the same degrees of freedom) over and over.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

_EPS = 1e-16  # relative accuracy asked of a continued fraction or series
_TINY = 1e-300  # Lentz's guard against a zero denominator
_MAX_TERMS = 10_000
_SQRT1_2 = math.sqrt(0.5)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _vectorised(scalar: Callable[..., float], nargs: int) -> Callable[..., Any]:
    """``scalar`` applied elementwise over broadcast arguments, as a ufunc: a float for
    scalar arguments, else a float array of the broadcast shape."""
    elementwise = np.frompyfunc(scalar, nargs, 1)

    def apply(*args: Any) -> Any:
        arrays = [np.asarray(a, dtype=float) for a in args]
        if all(a.ndim == 0 for a in arrays):
            return np.float64(scalar(*(float(a) for a in arrays)))
        return np.asarray(elementwise(*arrays), dtype=float)

    apply.__name__ = scalar.__name__.lstrip("_")
    apply.__doc__ = scalar.__doc__
    return apply


# -- the normal distribution --------------------------------------------------------------


def _ndtr(x: float) -> float:
    """P(Z <= x) for a standard normal Z."""
    return 0.5 * math.erfc(-x * _SQRT1_2)


def _log_ndtr_lower(x: float) -> float:
    """log P(Z <= x) for x <= 0 (no underflow far in the tail)."""
    if x > -37.0:  # P(Z <= x) is a normal float: erfc keeps its relative accuracy
        return math.log(_ndtr(x))
    # erfc(u) = exp(-u^2) / (u sqrt(pi)) * sum_n (-1)^n (2n - 1)!! / (2 u^2)^n, u = -x/sqrt(2),
    # an asymptotic series whose terms shrink fast this far out
    u2 = 0.5 * x * x
    term = total = 1.0
    for n in range(1, 30):
        term *= -(2 * n - 1) / (2 * u2)
        total += term
        if abs(term) < _EPS:
            break
    return -u2 - math.log(-x) - _LOG_SQRT_2PI + math.log(total)


@lru_cache(maxsize=1024)
def _ndtri(p: float) -> float:
    """x with P(Z <= x) = p."""
    if math.isnan(p) or p < 0 or p > 1:
        return math.nan
    if p == 0:
        return -math.inf
    if p == 1:
        return math.inf
    if p > 0.5:
        return -_ndtri(1.0 - p)  # 1 - p is exact for p in [0.5, 1]
    if p == 0.5:
        return 0.0
    # Start near the root (the tail's leading terms), then Halley's steps on log P(Z <= x),
    # whose derivative phi(x) / Phi(x) stays well scaled however small p is.
    t = math.sqrt(-2.0 * math.log(p))
    x = -t + (math.log(t) + 0.5 * math.log(2 * math.pi)) / t if t > 1.5 else (p - 0.5) * 2.5
    log_p = math.log(p)
    for _ in range(100):
        log_cdf = _log_ndtr_lower(x)
        ratio = math.exp(-0.5 * x * x - _LOG_SQRT_2PI - log_cdf)  # phi / Phi
        g = log_cdf - log_p
        # d/dx log Phi = ratio; d2/dx2 = -ratio (x + ratio)
        step = g / ratio
        step /= 1.0 + 0.5 * step * (x + ratio)
        x -= step
        if abs(step) <= 4 * _EPS * max(1.0, abs(x)):
            break
    return x


# -- the regularized incomplete beta function: t and F ----------------------------------------


def _stirling_tail(x: float) -> float:
    """lgamma(x) - ((x - 1/2) log x - x + log sqrt(2 pi)), for x >= 10: Stirling's series
    (the Bernoulli-number terms 1/12x - 1/360x^3 + 1/1260x^5 - 1/1680x^7)."""
    r = 1.0 / (x * x)
    return (1.0 / 12 - r * (1.0 / 360 - r * (1.0 / 1260 - r / 1680))) / x


def _lgamma_ratio(a: float, b: float) -> float:
    """lgamma(a + b) - lgamma(a), without the cancellation of two large lgammas when a >> b."""
    if a < 10:
        return math.lgamma(a + b) - math.lgamma(a)
    return (
        (a + b - 0.5) * math.log1p(b / a) + b * math.log(a) - b
        + _stirling_tail(a + b) - _stirling_tail(a)
    )  # fmt: skip


def _lbeta(a: float, b: float) -> float:
    """log B(a, b)."""
    small, large = (a, b) if a <= b else (b, a)
    return math.lgamma(small) - _lgamma_ratio(large, small)


def _log_pair(x: float, y: float) -> tuple[float, float]:
    """(log x, log y) for x + y = 1, the larger one's from the smaller (log1p), exactly given."""
    if x > 0.5:
        return math.log1p(-y), math.log(y)
    return math.log(x), math.log1p(-x)


def _beta_cf(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b) by its continued fraction, for x < (a + 1) / (a + b + 2); y = 1 - x exactly."""
    log_x, log_y = _log_pair(x, y)
    front = math.exp(a * log_x + b * log_y - _lbeta(a, b)) / a
    # 1 / (1 + d1 / (1 + d2 / (1 + ...))), evaluated by Lentz's method
    f, c, d = 1.0, 1.0, 0.0
    for i in range(_MAX_TERMS):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + num / c
        c = c if abs(c) > _TINY else _TINY
        f *= c * d
        if i > 0 and abs(c * d - 1.0) < _EPS:
            break
    return front * (f - 1.0)


def _betainc(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b), the regularized incomplete beta function; ``y`` is 1 - x, given exactly so
    that neither tail loses digits to a subtraction."""
    if x <= 0:
        return 0.0
    if y <= 0:
        return 1.0
    if x < (a + 1) / (a + b + 2):
        return _beta_cf(a, b, x, y)
    return 1.0 - _beta_cf(b, a, y, x)


def _t_tail(df: float, t: float) -> float:
    """P(T <= -|t|) for T ~ t(df)."""
    t2 = t * t
    if math.isinf(t2):
        return 0.0
    return 0.5 * _betainc(0.5 * df, 0.5, df / (df + t2), t2 / (df + t2))


@lru_cache(maxsize=1024)
def _stdtr(df: float, t: float) -> float:
    """P(T <= t) for T ~ t(df)."""
    if math.isnan(df) or math.isnan(t) or df <= 0:
        return math.nan
    if math.isinf(df):
        return _ndtr(t)
    tail = _t_tail(df, t)
    return tail if t < 0 else 1.0 - tail


def _log_t_pdf(df: float, t: float) -> float:
    return (
        math.lgamma(0.5 * (df + 1)) - math.lgamma(0.5 * df) - 0.5 * math.log(df * math.pi)
        - 0.5 * (df + 1) * math.log1p(t * t / df)
    )  # fmt: skip


@lru_cache(maxsize=1024)
def _stdtrit(df: float, p: float) -> float:
    """t with P(T <= t) = p for T ~ t(df)."""
    if math.isnan(df) or math.isnan(p) or df <= 0 or p < 0 or p > 1:
        return math.nan
    if p == 0:
        return -math.inf
    if p == 1:
        return math.inf
    if math.isinf(df):
        return _ndtri(p)
    if p > 0.5:
        return -_stdtrit(df, 1.0 - p)
    if p == 0.5:
        return 0.0
    if df == 1:  # Cauchy: tan(pi (p - 1/2)), written so that a tiny p keeps its digits
        return -1.0 / math.tan(math.pi * p)
    # The lower tail: a bracket [lo, 0] of the root, then Newton's steps on log P(T <= t)
    # (near linear in log|t| far out, where the t tail is a power law), bisecting whenever a
    # step would leave the bracket.
    z = _ndtri(p)
    x = z + (z**3 + z) / (4 * df)  # the Cornish-Fisher expansion's first term
    lo, hi = x, 0.0
    while _t_tail(df, lo) > p:
        hi, lo = lo, 2 * lo - 1
    log_p = math.log(p)
    x = lo
    for _ in range(200):
        cdf = _t_tail(df, x)
        if cdf == p:
            return x
        if cdf < p:
            lo = x
        else:
            hi = x
        if cdf > 0:
            step = (math.log(cdf) - log_p) / math.exp(_log_t_pdf(df, x) - math.log(cdf))
            new = x - step
        else:
            new = math.nan
        if not lo < new < hi:
            new = 0.5 * (lo + hi)
        if abs(new - x) <= 4 * _EPS * abs(new) or hi - lo <= 4 * _EPS * abs(lo):
            return new
        x = new
    return x


@lru_cache(maxsize=1024)
def _fdtrc(df1: float, df2: float, x: float) -> float:
    """P(F > x) for F ~ F(df1, df2)."""
    if math.isnan(df1) or math.isnan(df2) or math.isnan(x) or df1 <= 0 or df2 <= 0:
        return math.nan
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    s = df2 + df1 * x
    return _betainc(0.5 * df2, 0.5 * df1, df2 / s, df1 * x / s)


# -- the regularized incomplete gamma function: chi-square -----------------------------------


def _gamma_front(a: float, x: float) -> float:
    """x^a exp(-x) / Gamma(a); for large a through Stirling's series, so that the large terms
    a log x, x and lgamma(a) do not cancel."""
    if a < 10:
        return math.exp(a * math.log(x) - x - math.lgamma(a))
    d = (x - a) / a
    log_front = -a * (d - math.log1p(d)) + 0.5 * math.log(a) - _LOG_SQRT_2PI - _stirling_tail(a)
    return math.exp(log_front)


def _gamma_lower_series(a: float, x: float) -> float:
    """P(a, x) by its series (for x < a + 1)."""
    term = total = 1.0 / a
    for n in range(1, _MAX_TERMS):
        term *= x / (a + n)
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * _gamma_front(a, x)


def _gamma_upper_cf(a: float, x: float) -> float:
    """Q(a, x) by its continued fraction (for x >= a + 1), evaluated by Lentz's method."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    f = d
    for n in range(1, _MAX_TERMS):
        num = -n * (n - a)
        b += 2.0
        d = num * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + num / c
        c = c if abs(c) > _TINY else _TINY
        f *= c * d
        if abs(c * d - 1.0) < _EPS:
            break
    return f * _gamma_front(a, x)


def _gamma_pq(a: float, x: float) -> tuple[float, float]:
    """(P(a, x), Q(a, x)), each computed directly where it is the smaller."""
    if x <= 0:
        return 0.0, 1.0
    if math.isinf(x):
        return 1.0, 0.0
    if x < a + 1:
        p = _gamma_lower_series(a, x)
        return p, 1.0 - p
    q = _gamma_upper_cf(a, x)
    return 1.0 - q, q


@lru_cache(maxsize=1024)
def _chdtrc(df: float, x: float) -> float:
    """P(X > x) for X ~ chi-square(df)."""
    if math.isnan(df) or math.isnan(x) or df <= 0 or x < 0:
        return math.nan
    return _gamma_pq(0.5 * df, 0.5 * x)[1]


@lru_cache(maxsize=1024)
def _chdtri(df: float, p: float) -> float:
    """x with P(X > x) = p for X ~ chi-square(df)."""
    if math.isnan(df) or math.isnan(p) or df <= 0 or p < 0 or p > 1:
        return math.nan
    if p == 0:
        return math.inf
    if p == 1:
        return 0.0
    a = 0.5 * df
    # Solve for the tail that is the smaller probability (upper if p < 0.5, else lower), on
    # the log scale, in a bracket that always holds the root.
    upper = p < 0.5
    target = math.log(p if upper else 1.0 - p)
    z = -_ndtri(p) if upper else _ndtri(1.0 - p)  # the Wilson-Hilferty start
    h = 2.0 / (9.0 * df)
    x = df * max(1.0 - h + z * math.sqrt(h), 0.1) ** 3
    lo, hi = 0.0, math.inf

    def tail(v: float) -> float:
        lower, upper_q = _gamma_pq(a, 0.5 * v)
        return upper_q if upper else lower

    for _ in range(300):
        prob = tail(x)
        too_far = prob < p if upper else prob > 1.0 - p  # x is beyond the root
        if too_far:
            hi = x
        else:
            lo = x
        if prob <= 0:
            new = math.nan
        else:
            log_pdf = (a - 1) * math.log(0.5 * x) - 0.5 * x - math.lgamma(a) - math.log(2.0)
            slope = math.exp(log_pdf) / prob * (-1.0 if upper else 1.0)  # d log(tail) / dx
            new = x - (math.log(prob) - target) / slope if slope != 0 else math.nan
        if not lo < new < hi:
            new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * x + 1.0
        if abs(new - x) <= 4 * _EPS * abs(new):
            return new
        x = new
    return x


def _gammaln(x: float) -> float:
    """log |Gamma(x)| (infinite at the poles 0, -1, -2, ...)."""
    try:
        return math.lgamma(x)
    except ValueError:
        return math.inf


ndtr = _vectorised(_ndtr, 1)
ndtri = _vectorised(_ndtri, 1)
stdtr = _vectorised(_stdtr, 2)
stdtrit = _vectorised(_stdtrit, 2)
chdtrc = _vectorised(_chdtrc, 2)
chdtri = _vectorised(_chdtri, 2)
fdtrc = _vectorised(_fdtrc, 3)
gammaln = _vectorised(_gammaln, 1)

__all__ = ["chdtrc", "chdtri", "fdtrc", "gammaln", "ndtr", "ndtri", "stdtr", "stdtrit"]
