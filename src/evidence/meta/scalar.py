"""One intercept-only model on plain 1-D arrays: the fast path of ``rma()`` for small k.

The batched engine (:mod:`~evidence.meta.design`, :mod:`~evidence.meta.estimators`) fits any
number of models at once, with masks, moderators and pooled scratch buffers; for a single
model with a few dozen studies its bookkeeping on length-B arrays costs more than the
arithmetic. This module computes the same quantities for one model with numpy reductions
over the k studies and Python floats for everything else - the same formulas, iterations and
stopping rules as the batched engine (tests check that the two agree to rounding, and both
are pinned against metafor).

Used by ``rma()`` for ``2 <= k <= MAX_K`` with positive variances and an estimated tau2;
everything else (k = 1, zero variances, fixed tau2, large k) goes through the batched engine.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from evidence import distributions as dist
from evidence.meta.estimators import FS_RTOL, MAXITER, RTOL

Array = NDArray[np.float64]

#: Above this k the batched engine (which reuses its buffers) is faster.
MAX_K = 4096
_EPS = float(np.finfo(float).eps)


class OneModel:
    """Sums and estimators for one intercept-only model with all ``v > 0``."""

    __slots__ = ("css", "df", "k", "q0", "s1_0", "tr_p0", "tr_pp0", "v", "y")

    def __init__(self, y: Array, v: Array) -> None:
        self.y, self.v = y, v
        self.k = y.shape[0]
        self.df = self.k - 1
        w = 1.0 / v
        s1 = float(w.sum())
        r = y - float(w @ y) / s1
        wr = w * r
        w2 = w * w
        s2 = float(w2.sum())
        s3 = float(w2 @ w)
        self.q0 = float(wr @ r)  # Cochran's Q
        self.s1_0 = s1
        self.tr_p0 = s1 - s2 / s1
        self.tr_pp0 = s2 - 2.0 * s3 / s1 + (s2 / s1) ** 2
        d = y - float(y.mean())
        self.css = float(d @ d)  # sum of squares about the unweighted mean

    def q(self, tau2: float) -> tuple[float, float]:
        """Generalised Q at ``tau2`` and the magnitude of its slope, ``sum w^2 r^2``."""
        w = 1.0 / (self.v + tau2)
        r = self.y - float(w @ self.y) / float(w.sum())
        wr = w * r
        return float(wr @ r), float(wr @ wr)

    # -- estimators (metafor's definitions; see estimators.py) -------------------------

    def tau2(self, method: str) -> float:
        k, df = self.k, self.df
        if method == "FE":
            return 0.0
        if method == "DL":
            return max(0.0, (self.q0 - df) / self.tr_p0)
        if method == "HS":
            return max(0.0, (self.q0 - k) / self.s1_0)
        if method == "HE":
            return max(0.0, self._hedges())
        if method == "SJ":
            t0 = self.css / k
            return max(0.0, t0 * self.q(t0)[0] / df)
        if method in ("PM", "EB"):
            return self.q_root(float(df), start=self.tau2("DL"))
        return self._fisher_scoring(reml=method == "REML")

    def _hedges(self) -> float:
        sv = float(self.v.sum())
        return (self.css - (sv - sv / self.k)) / self.df

    def _fisher_scoring(self, *, reml: bool) -> float:
        y, v = self.y, self.v
        tau2 = self._hedges()
        tau2 = tau2 if tau2 > 0 else 0.0
        vscale = float(v.mean())
        newton = False
        for _ in range(MAXITER):
            w = 1.0 / (v + tau2)
            sw = float(w.sum())
            z = w * (y - float(w @ y) / sw)  # P y
            ypy = float(z @ z)
            wz = w * z
            xwz = float(wz.sum())
            yp3y = float(wz @ z) - xwz * xwz / sw
            if reml:
                w2 = w * w
                s2 = float(w2.sum())
                s3 = float(w2 @ w)
                info = s2 - 2.0 * s3 / sw + (s2 / sw) ** 2
                score = ypy - (sw - s2 / sw)
            else:
                info = float(w @ w)
                score = ypy - sw
            observed = 2.0 * yp3y - info
            fisher = score / info if info != 0 else 0.0
            newton_step = score / observed if observed != 0 else 0.0
            use_newton = (
                newton
                and observed > 0
                and newton_step * fisher > 0
                and abs(newton_step) <= 4.0 * abs(fisher)
            )
            adj = newton_step if use_newton else fisher
            if not math.isfinite(adj):
                adj = 0.0
            if tau2 + adj < 0:
                adj = -tau2
            tau2 += adj
            scale = tau2 + vscale
            if abs(adj) <= (RTOL if use_newton else FS_RTOL) * scale:
                break
            if abs(fisher) <= 0.02 * scale:
                newton = True
        if tau2 > 1e-12 * vscale and self._loglik(0.0, reml) - self._loglik(
            tau2, reml
        ) > 1e-10 * max(1.0, abs(self._loglik(tau2, reml))):
            return 0.0  # metafor's ll0check
        return tau2

    def _loglik(self, tau2: float, reml: bool) -> float:
        vt = self.v + tau2
        w = 1.0 / vt
        sw = float(w.sum())
        r = self.y - float(w @ self.y) / sw
        ll = -0.5 * float(np.log(vt).sum()) - 0.5 * float((w * r) @ r)
        return ll - 0.5 * math.log(sw) if reml else ll

    def q_root(self, target: float, *, start: float) -> float:
        """Smallest tau2 >= 0 with Q(tau2) = target (see ``estimators.q_root``)."""
        if not self.q0 > target:
            return 0.0
        x = start if math.isfinite(start) and start > 0 else 0.0
        for i in range(MAXITER):
            q, slope = self.q(x)
            step = (q - target) / slope if slope > 0 else 0.0
            if i < 50 and q > target:
                step *= q / target
            new = x + step
            new = new if new > 0 else 0.0  # also clears a NaN step
            if abs(new - x) <= RTOL * new:
                return new
            x = new
        return x

    def se_tau2(self, method: str, tau2: float) -> float:
        """metafor's ``se.tau2`` for ``method`` at ``tau2``."""
        k, df, t = self.k, self.df, max(tau2, 0.0)
        if method in ("DL", "HS"):
            den = self.tr_p0 if method == "DL" else self.s1_0
            return math.sqrt((2 * df + 4 * t * self.tr_p0 + 2 * t * t * self.tr_pp0) / den**2)
        if method == "HE":
            v = self.v
            sv, sv2 = float(v.sum()), float(v @ v)
            tr_pv = sv - sv / k
            tr_pvpv = sv2 - 2 * sv2 / k + (sv / k) ** 2
            return math.sqrt((2 * tr_pvpv + 4 * t * tr_pv + 2 * t * t * df) / df**2)
        if method == "SJ":
            t0 = self.css / k
            w = 1.0 / (self.v + t0)
            s1, s2 = float(w.sum()), float(w @ w)
            w2 = w * w
            s3 = float(w2 @ w)
            tr_pp = s2 - 2.0 * s3 / s1 + (s2 / s1) ** 2
            a = w * self.v
            aw = a * w
            s_aw = float(aw.sum())
            tr_pvpv = float(a @ a) - 2 * float(a @ aw) / s1 + (s_aw / s1) ** 2
            tr_pvp = s_aw - 2 * float(aw @ w) / s1 + s2 * s_aw / s1**2
            return math.sqrt(t0**2 / df**2 * (2 * tr_pvpv + 4 * t * tr_pvp + 2 * t * t * tr_pp))
        w = 1.0 / (self.v + tau2)
        sw = float(w.sum())
        if method == "ML":
            return math.sqrt(2.0 / float(w @ w))
        if method == "REML":
            w2 = w * w
            s2, s3 = float(w2.sum()), float(w2 @ w)
            return math.sqrt(2.0 / (s2 - 2.0 * s3 / sw + (s2 / sw) ** 2))
        if method in ("PM", "EB"):
            return math.sqrt(2 * k * k / df / sw**2)
        return math.nan


def fit(
    y: Array, v: Array, method: str, test: str, alpha: float, tau2_fixed: float | None = None
) -> dict[str, float]:
    """Every scalar field of ``RMAResult`` for one model (``2 <= k``, all ``v > 0``)."""
    m = OneModel(y, v)
    df = float(m.df)
    tau2 = m.tau2(method) if tau2_fixed is None else float(tau2_fixed)
    w = 1.0 / (v + tau2)
    sw = float(w.sum())
    est = float(w @ y) / sw
    vb = 1.0 / sw
    s2w = 1.0
    if test in ("knha", "adhoc"):
        r = y - est
        rss = float((w * r) @ r)
        s2w = 0.0 if rss <= _EPS else rss / df
        if test == "adhoc":
            s2w = max(s2w, 1.0)
        q_crit = float(dist.stdtrit(df, 1.0 - alpha / 2.0))
        test_df = df
    else:
        q_crit = float(dist.ndtri(1.0 - alpha / 2.0))
        test_df = math.nan
    se = math.sqrt(vb * s2w)
    stat = est / se if se > 0 else math.copysign(math.inf, est) if est != 0 else math.nan
    if test_df == test_df:  # t
        pval = float(2.0 * dist.stdtr(df, -abs(stat)))
    else:
        pval = float(2.0 * dist.ndtr(-abs(stat)))
    q = m.q0
    vt = df / m.tr_p0
    if method == "FE" and tau2_fixed is None:
        i2 = max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0
        h2 = q / df
    else:
        i2 = 100.0 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1.0
    sd_pi = math.sqrt(se * se + tau2)
    return {
        "estimate": est,
        "se": se,
        "stat": stat,
        "pval": pval,
        "ci_lb": est - q_crit * se,
        "ci_ub": est + q_crit * se,
        "df": test_df,
        "tau2": tau2,
        "se_tau2": math.nan if method == "FE" else m.se_tau2(method, tau2),
        "i2": i2,
        "h2": h2,
        "q": q,
        "q_df": df,
        "q_pval": float(dist.chdtrc(df, q)),
        "pi_lb": est - q_crit * sd_pi,
        "pi_ub": est + q_crit * sd_pi,
        "s2w": s2w,
        "vt": vt,
    }


def qprofile(y: Array, v: Array, alpha: float, start: float) -> tuple[float, float]:
    """Q-profile bounds for tau2 (``estimators.q_root`` for each chi-square quantile)."""
    m = OneModel(y, v)
    df = m.df
    lb = m.q_root(float(dist.chdtri(df, alpha / 2.0)), start=start)
    ub = m.q_root(float(dist.chdtri(df, 1.0 - alpha / 2.0)), start=start)
    return lb, ub
