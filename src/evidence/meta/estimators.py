"""Estimators of the between-study variance tau^2, as metafor's ``rma.uni`` defines them.

Every estimator works on a :class:`~evidence.meta.design.Design` (a batch of models), so the
same code serves one ``rma()`` fit, a leave-one-out batch and the per-subgroup fits.

metafor's definitions (``method=`` in ``rma.uni``), with ``Q(t)`` the generalised Q statistic
at ``tau2 = t``, ``w = 1/v`` and ``P`` the weighted residual projection:

* ``FE``   tau2 = 0 (common effect).
* ``DL``   DerSimonian-Laird: ``(Q(0) - (k - p)) / tr(P)``, truncated at 0.
* ``HS``   Hunter-Schmidt: ``(Q(0) - k) / sum(w)``, truncated at 0.
* ``HE``   Hedges (unweighted method of moments): ``(RSS_ols - tr(P_ols V)) / (k - p)``,
           truncated at 0.
* ``SJ``   Sidik-Jonkman: ``t0 * Q(t0) / (k - p)`` with the initial estimate
           ``t0 = sum (y - mean y)^2 / k`` (metafor's ``var(yi) * (k - 1) / k``).
* ``PM``   Paule-Mandel: the root of ``Q(t) = k - p``; 0 when ``Q(0) < k - p``.
* ``EB``   empirical Bayes (Morris): metafor iterates ``t += (Q(t) k / (k - p) - k) / sum(w)``,
           whose fixed point is again ``Q(t) = k - p``; it is solved as that root, so EB and PM
           coincide for these models (metafor agrees to its convergence tolerance).
* ``ML``, ``REML``  maximum / restricted maximum likelihood by metafor's Fisher scoring, started
           at the (truncated) HE estimate, with step halving to stay at tau2 >= 0 and metafor's
           check that the likelihood at tau2 = 0 is not higher than at the solution.

Roots of ``Q(t) = target`` (PM, EB and the Q-profile interval) use Newton's method on the convex,
decreasing ``Q``: from the left of the root the iterates increase monotonically and cannot
overshoot, and a first step from the right lands on the left. That converges to full double
precision without metafor's bracket ``tau2.max``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from evidence.meta.design import Design

Array = NDArray[np.float64]

METHODS = ("FE", "DL", "REML", "ML", "PM", "EB", "HS", "SJ", "HE")
ALIASES = {"EE": "FE", "CE": "FE"}

# Newton's method converges quadratically: after a relative step d the error is about d^2,
# so stopping once a step is below 1e-8 leaves an error near 1e-16. Fisher scoring converges
# linearly and stops at 1e-10 of the scale (tau2 + typical vi).
RTOL = 1e-8
FS_RTOL = 1e-10
MAXITER = 1000


def normalise_method(method: str) -> str:
    """Upper-case ``method`` and map metafor's aliases (EE, CE) onto FE."""
    m = str(method).upper()
    m = ALIASES.get(m, m)
    if m not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    return m


def estimate_tau2(d: Design, method: str) -> Array:
    """tau^2 for every model of the batch by ``method`` (see the module docstring)."""
    zero = np.zeros(d.B)
    if method == "FE":
        return zero
    if method in ("DL", "HS"):
        fe = d.common_effect()
        if method == "HS":
            return np.maximum(0.0, (fe.q - d.k) / fe.sum_w)
        return np.maximum(0.0, (fe.q - d.df) / fe.tr_p)
    if method == "HE":
        return np.maximum(0.0, _hedges(d))
    if method == "SJ":
        t0 = d.centred_ss() / d.k
        Q, _ = d.q(t0)
        return np.maximum(0.0, t0 * Q / d.df)
    if method in ("PM", "EB"):
        return q_root(d, d.df.copy(), start=estimate_tau2(d, "DL"))
    if method in ("ML", "REML"):
        return _fisher_scoring(d, reml=method == "REML")
    raise ValueError(f"unknown method {method!r}")  # pragma: no cover - guarded by caller


def _hedges(d: Design) -> Array:
    """Untruncated Hedges (HE) estimate; also the starting value of ML/REML."""
    sv = d.masked_sum(d.v_raw)
    if d.intercept_only:  # ordinary least squares is the plain mean
        return (d.centred_ss() - (sv - sv / d.k)) / d.df
    m = d.unit_weights()
    _, r, C = d.solve(m)
    rss = d.rss(m, r)
    mv = d.v_raw[None, :] if d.mask is None else d.mask * d.v_raw
    tr_pv = sv - np.einsum("bij,bji->b", C, d.gram(mv))
    return (rss - tr_pv) / d.df


def _fisher_scoring(d: Design, *, reml: bool) -> Array:
    """ML / REML by metafor's Fisher scoring (``rma.uni``), vectorised over the batch.

    metafor's step is ``(y'PPy - tr P) / tr PP`` (REML) or ``(y'PPy - sum w) / sum w^2`` (ML),
    started at the HE estimate and halved to keep tau2 >= 0. Fisher scoring converges only
    linearly (17 steps to 1e-12 at k = 30), so once a model's step is below 2% of the scale
    it switches to Newton's method on the same score (observed instead of expected
    information, using ``y'PPPy``): same stationary point, quadratic convergence.
    A step below 0 goes to 0 (metafor halves it, creeping to the same limit).
    """
    B = d.B
    tau2 = np.maximum(0.0, _hedges(d))
    tau2 = np.where(np.isfinite(tau2), tau2, 0.0)
    vscale = d.masked_sum(d.v_raw) / d.k  # typical sampling variance: sets the scale
    newton = np.zeros(B, dtype=bool)
    for _ in range(MAXITER):
        at = tau2  # the point where this iteration's weights and residuals are evaluated
        w = d.weights(tau2)
        _, r, C = d.solve(w)
        t_buf, u_buf = d.scratch()
        z = np.multiply(w, r, out=t_buf)  # P y
        ypy = np.vecdot(z, z)  # y'PPy
        rss = np.vecdot(z, r)  # sum w r^2, kept for the likelihood check below
        wz = np.multiply(w, z, out=u_buf)
        # y'PPPy = z'Wz - (X'Wz)' C (X'Wz) with z = Py
        if d.intercept_only:
            xwz = np.add.reduce(wz, axis=1)
            yp3y = np.vecdot(wz, z) - xwz**2 * C[:, 0, 0]
        else:
            xwz = wz @ d.X
            yp3y = np.vecdot(wz, z) - np.einsum("bi,bij,bj->b", xwz, C, xwz)
        if reml:
            tr_p, info = d.traces(w, C)
            score = ypy - tr_p
        else:
            info = np.vecdot(w, w)
            score = ypy - np.add.reduce(w, axis=1)
        observed = 2.0 * yp3y - info
        fisher = score / info
        newton_step = score / observed
        # Newton only where the likelihood is locally concave and it agrees with Fisher scoring
        # on the uphill direction, so it polishes the same maximum metafor converges to.
        use_newton = (
            newton
            & (observed > 0)
            & (newton_step * fisher > 0)
            & (np.abs(newton_step) <= 4.0 * np.abs(fisher))
        )
        adj = np.where(use_newton, newton_step, fisher)
        adj = np.where(np.isfinite(adj), adj, 0.0)
        # metafor halves a step until tau2 + adj >= 0, which creeps towards 0 one halving per
        # iteration; stepping to 0 at once reaches the same limit (the next step from 0 is
        # either <= 0, and tau2 stays 0, or it moves back up to the same root).
        adj = np.where(tau2 + adj < 0, -tau2, adj)
        tau2 = tau2 + adj
        scale = tau2 + vscale
        if np.all(np.abs(adj) <= np.where(use_newton, RTOL, FS_RTOL) * scale):
            break
        newton |= np.abs(fisher) <= 0.02 * scale
    if not np.all(d.v_raw > 0):
        return tau2
    # metafor's ll0check: fall back to tau2 = 0 if that has the higher likelihood. The
    # likelihood at the solution uses the last iteration's weights (their tau2 differs from
    # the solution by less than the stopping tolerance, a second-order change at a maximum).
    pos = tau2 > 1e-12 * vscale  # metafor: tau2 > threshold
    if not pos.any():
        return tau2
    logdet = -np.log(C[:, 0, 0]) if d.intercept_only else -np.linalg.slogdet(C)[1]
    ll1 = -0.5 * d.sum_log_variance(at) - 0.5 * rss - (0.5 * logdet if reml else 0.0)
    fe = d.common_effect()
    ll0 = -0.5 * d.sum_log_variance(np.zeros(d.B)) - 0.5 * fe.q
    if reml:
        ll0 = ll0 - 0.5 * fe.logdet
    worse = pos & (ll0 - ll1 > 1e-10 * np.maximum(1.0, np.abs(ll1)))
    return np.where(worse, 0.0, tau2)


def q_root(d: Design, target: Array, *, start: Array) -> Array:
    """Smallest ``tau2 >= 0`` with ``Q(tau2) = target``; 0 where ``Q(0) <= target``.

    Q is convex and decreasing in tau2, so a Newton step on Q taken from the right of the
    root lands on its left, and from the left Newton iterates increase monotonically to the
    root. From the left we take the (longer) Newton step on ``1/Q``, which is exact when
    ``Q ~ a / (b + tau2)`` and saves about a third of the iterations; if it overshoots, the
    next step (on Q, from the right) brings the iterate back to the left.
    """
    active = d.common_effect().q > target
    x = np.where(active & np.isfinite(start), np.maximum(start, 0.0), 0.0)
    for i in range(MAXITER):
        Q, S = d.q(x)
        step = (Q - target) / S
        if i < 50:  # the 1/Q step speeds things up; plain Newton is the safe fallback
            step *= np.maximum(Q / target, 1.0)  # Q / target > 1 exactly when left of the root
        # Models with Q(0) <= target sit at x = 0 with a step <= 0; fmax also clears NaN steps.
        new = np.fmax(x + step, 0.0)
        if np.all(np.abs(new - x) <= RTOL * new):
            x = new
            break
        x = new
    return np.where(active, x, 0.0)


def se_tau2(d: Design, method: str, tau2: Array) -> Array:
    """Standard error of tau^2 as ``rma.uni`` reports it (intercept-only models)."""
    k, df = d.k, d.df
    t = np.maximum(tau2, 0.0)
    if method in ("DL", "HS"):
        fe = d.common_effect()
        den = fe.tr_p if method == "DL" else fe.sum_w
        return np.sqrt((2 * df + 4 * t * fe.tr_p + 2 * t**2 * fe.tr_pp) / den**2)
    if method == "HE":
        sv = d.masked_sum(d.v_raw)
        sv2 = d.masked_sum(d.v_raw * d.v_raw)
        tr_pv = sv - sv / k
        tr_pvpv = sv2 - 2 * sv2 / k + (sv / k) ** 2
        return np.sqrt((2 * tr_pvpv + 4 * t * tr_pv + 2 * t**2 * df) / df**2)
    if method == "SJ":
        t0 = d.centred_ss() / k
        w = d.weights(t0)
        _, _, C = d.solve(w)
        _, tr_pp = d.traces(w, C)
        s1 = np.add.reduce(w, axis=1)
        s2 = np.vecdot(w, w)
        t_buf, u_buf = d.scratch()
        a = np.multiply(w, d.v, out=u_buf)  # diagonal of W V
        aw = np.multiply(a, w, out=t_buf)  # v w^2
        s_aw = np.add.reduce(aw, axis=1)
        tr_pvpv = np.vecdot(a, a) - 2 * np.vecdot(a, aw) / s1 + (s_aw / s1) ** 2
        tr_pvp = s_aw - 2 * np.vecdot(aw, w) / s1 + s2 * s_aw / s1**2
        return np.sqrt(t0**2 / df**2 * (2 * tr_pvpv + 4 * t * tr_pvp + 2 * t**2 * tr_pp))
    w = d.weights(tau2)
    if method == "ML":
        return np.sqrt(2.0 / np.vecdot(w, w))
    if method == "REML":
        _, _, C = d.solve(w)
        _, tr_pp = d.traces(w, C)
        return np.sqrt(2.0 / tr_pp)
    if method in ("PM", "EB"):
        return np.sqrt(2 * k**2 / df / np.add.reduce(w, axis=1) ** 2)
    return np.full(d.B, np.nan)
