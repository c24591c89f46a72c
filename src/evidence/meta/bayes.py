"""Bayesian random-effects meta-analysis (the normal-normal hierarchical model), computed exactly.

Model (as R's ``bayesmeta``, Röver 2020, J Stat Softw 93(6)):

    y_i | theta_i ~ N(theta_i, v_i),   theta_i | mu, tau ~ N(mu, tau^2),
    tau ~ half-normal(scale) | half-Cauchy(scale) | uniform (improper),
    mu ~ flat (improper) | N(mean, sd^2).

Given tau, everything is conjugate: mu | tau, y is normal, each theta_i | tau, y is normal, and
the marginal posterior of tau has a closed-form density up to a constant. So the only numerical
step is one-dimensional: integrating over tau. We do that with composite 16-point
Gauss-Legendre panels (one panel in tau on [0, tau_lo], then panels in log(tau) wherever the
posterior has mass, their width set by the curvature of the log-density), which is exact to
~1e-12 for these smooth integrands, and the marginal posteriors of mu, theta_i and a new
study's effect are the resulting finite normal mixtures. bayesmeta instead discretises tau by its
DIRECT algorithm (a Kullback-Leibler bound of 1%); its tau quantities come from numerical
integration like ours. Quantiles are found by a safeguarded Newton iteration on the mixture CDF
(vectorised), tau quantiles by integrating the panel's Legendre interpolant.

The normal CDF of the mixtures is ``scipy.special.ndtr`` (vectorised over the large grids here),
imported when a model is first fitted: ``scipy.special`` costs a kernel 14 MB, and a dashboard
kernel that never shows the Bayesian model does not load it (``scipy.stats`` is never used: 46
MB; see docs/statistics.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.polynomial import legendre as leg
from numpy.typing import NDArray

from evidence import distributions as dist
from evidence.meta.inputs import first_label, study_arrays
from evidence.meta.results import readonly

Array = NDArray[np.float64]

TAU_PRIORS = ("halfnormal", "halfcauchy", "uniform")

#: Default half-normal scale for log odds ratios and log risk ratios: Röver C, Bender R, Dias S,
#: et al. (2021) On weakly informative prior distributions for the heterogeneity parameter in
#: Bayesian random-effects meta-analysis. Res Synth Methods 12:448-474 (half-normal(0.5) is
#: their recommendation for log odds ratios in general medical settings).
LOG_RATIO_TAU_SCALE = 0.5


def _ndtr(x: Array) -> Array:
    """The standard normal CDF over an array (scipy's ufunc, imported on first use: see above)."""
    from scipy.special import ndtr

    return ndtr(x)


_NGL = 16
_GL_T, _GL_W = leg.leggauss(_NGL)
# Legendre coefficients of the degree-15 interpolant through the 16 nodes: c = _TO_LEG @ f.
_TO_LEG = np.linalg.inv(leg.legvander(_GL_T, _NGL - 1))
_DROP = 45.0  # log-density drop treated as no mass (e^-45 ~ 3e-20)
_SCAN_STEP = 0.5
_SCAN_SPAN = 110.0  # coarse scan of log(tau) above tau_lo


def _validate(
    yi: Any, vi: Any, tau_prior: str, tau_scale: float | None, mu_prior: Any, level: float
) -> tuple[Array, Array, pd.Index, float, tuple[float, float] | None, float]:
    if tau_prior not in TAU_PRIORS:
        raise ValueError(f"tau_prior must be one of {TAU_PRIORS}, got {tau_prior!r}")
    if tau_prior == "uniform":
        scale = math.nan
    else:
        if tau_scale is None:
            raise ValueError(f"tau_scale is required for the {tau_prior} prior on tau")
        scale = float(tau_scale)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"tau_scale must be a positive number, got {tau_scale!r}")
    prior: tuple[float, float] | None = None
    if mu_prior is not None:
        try:
            m0, s0 = (float(x) for x in mu_prior)
        except (TypeError, ValueError):
            raise ValueError(f"mu_prior must be None or (mean, sd), got {mu_prior!r}") from None
        if not (math.isfinite(m0) and math.isfinite(s0) and s0 > 0):
            raise ValueError(f"mu_prior needs a finite mean and a positive sd, got {mu_prior!r}")
        prior = (m0, s0)
    lev = float(level)
    if lev > 1:  # metafor-style level=95
        lev /= 100
    if not 0 < lev < 1:
        raise ValueError(f"level must be in (0, 1) or (0, 100), got {level!r}")
    st = study_arrays(yi, vi)
    if (st.v <= 0).any():
        bad = st.v <= 0
        raise ValueError(
            f"vi is 0 for study {first_label(st.index, bad)!r}; the Bayesian model needs "
            "positive sampling variances"
        )
    k = st.y.size
    if tau_prior == "uniform" and k < (2 if prior is not None else 3):
        raise ValueError(
            f"the uniform prior on tau gives an improper posterior with k = {k}"
            f" (needs k >= {2 if prior is not None else 3})"
        )
    return st.y, st.v, st.index, scale, prior, lev


class _Model:
    """log p(tau | y) up to a constant, and the conditional moments of mu given tau."""

    def __init__(
        self, y: Array, v: Array, tau_prior: str, scale: float, mu_prior: tuple[float, float] | None
    ) -> None:
        self.y, self.v, self.tau_prior, self.scale = y, v, tau_prior, scale
        self.p0, self.m0 = (0.0, 0.0) if mu_prior is None else (1 / mu_prior[1] ** 2, mu_prior[0])

    def log_prior(self, tau: Array) -> Array:
        if self.tau_prior == "halfnormal":
            s = self.scale
            return -0.5 * (tau / s) ** 2 + math.log(2 / (s * math.sqrt(2 * math.pi)))
        if self.tau_prior == "halfcauchy":
            s = self.scale
            return -np.log1p((tau / s) ** 2) + math.log(2 / (math.pi * s))
        return np.zeros_like(tau)

    def conditional(self, tau: Array) -> tuple[Array, Array, Array]:
        """(log-posterior of tau up to a constant, E[mu | tau, y], Var[mu | tau, y])."""
        t2 = (tau * tau)[:, None]
        vt = self.v + t2
        w = 1.0 / vt
        sw = w.sum(axis=1) + self.p0
        m = (w @ self.y + self.p0 * self.m0) / sw
        resid = ((self.y - m[:, None]) ** 2 * w).sum(axis=1) + self.p0 * (self.m0 - m) ** 2
        lp = self.log_prior(tau) - 0.5 * (np.log(vt).sum(axis=1) + np.log(sw) + resid)
        return lp, m, 1.0 / sw


@dataclass(frozen=True)
class _Grid:
    """The tau quadrature: panels, nodes and the posterior weight of each node."""

    pa: Array  # panel lower bounds: panel 0 in tau, the others in log(tau)
    pb: Array  # panel upper bounds
    tau: Array  # nodes, shape (panels * 16,)
    weight: Array  # posterior probability carried by each node (sums to 1)
    gvals: Array  # scaled integrand at the nodes, per panel (panels, 16)
    cum: Array  # posterior CDF of tau at the panel ends (panels + 1,)
    lp_max: float
    norm: float  # integral of exp(lp - lp_max) d tau


def _panel_nodes(a: Array, b: Array) -> Array:
    return ((a + b) / 2)[:, None] + ((b - a) / 2)[:, None] * _GL_T


def _build_grid(model: _Model) -> _Grid:
    ref = math.sqrt(float(model.v.min()))
    if model.tau_prior != "uniform":
        ref = min(ref, model.scale)
    tau_lo = 0.3 * ref  # below this the integrand is smooth in tau: one linear panel
    x0 = math.log(tau_lo)
    xs = x0 + np.arange(0.0, _SCAN_SPAN + _SCAN_STEP / 2, _SCAN_STEP)
    lps, _, _ = model.conditional(np.exp(xs))
    lg = lps + xs  # log-density in log(tau)
    top = int(np.argmax(lg))
    above = np.flatnonzero(lg > lg[top] - _DROP)
    if above[-1] == xs.size - 1:
        raise ValueError(
            "the posterior of tau is too heavy-tailed to integrate (improper prior with too "
            "few studies?)"
        )
    # Panel width from the curvature of the log-density at the scan's maximum.
    width = 1.0
    if 0 < top < xs.size - 1:
        curv = (lg[top - 1] - 2 * lg[top] + lg[top + 1]) / _SCAN_STEP**2
        if curv < 0:
            width = float(np.clip(2.5 / math.sqrt(-curv), 0.01, 1.0))
    # If the mass starts above tau_lo, [tau_lo, e^lo] carries < e^-45 of the peak: skipped.
    lo = max(x0, xs[above[0]] - _SCAN_STEP)
    hi = xs[above[-1]] + _SCAN_STEP
    n_pan = max(1, math.ceil((hi - lo) / width))
    log_edges = np.linspace(lo, hi, n_pan + 1)
    pa = np.concatenate(([0.0], log_edges[:-1]))
    pb = np.concatenate(([tau_lo], log_edges[1:]))
    x = _panel_nodes(pa, pb)
    tau = x.copy()
    tau[1:] = np.exp(x[1:])
    tau = tau.ravel()
    lp, _, _ = model.conditional(tau)
    lg_nodes = lp.reshape(-1, _NGL)
    lg_nodes[1:] += x[1:]  # Jacobian: d tau = tau d log(tau)
    lp_max = float(lg_nodes.max())
    g = np.exp(lg_nodes - lp_max)
    half = (pb - pa) / 2
    panel_int = half * (g @ _GL_W)
    norm = float(panel_int.sum())
    weight = (half[:, None] * g * _GL_W).ravel() / norm
    cum = np.concatenate(([0.0], np.cumsum(panel_int) / norm))
    return _Grid(pa, pb, tau, weight, g, cum, lp_max, norm)


def _tau_quantile(grid: _Grid, p: float) -> float:
    """Quantile of the posterior of tau: Newton on the integral of the panel's interpolant."""
    cum = grid.cum
    j = int(np.clip(np.searchsorted(cum, p, side="right") - 1, 0, cum.size - 2))
    a, b = grid.pa[j], grid.pb[j]
    half = (b - a) / 2
    c = _TO_LEG @ grid.gvals[j]
    ci = leg.legint(c, lbnd=-1)
    target = (p - cum[j]) * grid.norm / half
    lo_t, hi_t, t = -1.0, 1.0, 0.0
    for _ in range(60):
        f = leg.legval(t, ci) - target
        if abs(f) <= 1e-15 * max(1.0, abs(target)):
            break
        if f < 0:
            lo_t = t
        else:
            hi_t = t
        d = leg.legval(t, c)
        step = t - f / d if d > 0 else math.nan
        t = step if lo_t < step < hi_t else (lo_t + hi_t) / 2
        if hi_t - lo_t < 1e-15:
            break
    x = a + (t + 1) * half
    return float(x if j == 0 else math.exp(x))


def _mixture_quantile(weight: Array, mean: Array, sd: Array, p: Array) -> Array:
    """Quantiles of normal mixtures, vectorised: ``mean``/``sd`` (n,) or (n, m); ``p`` (q,).

    Returns shape (q,) or (q, m). The quantile lies between the smallest and largest component
    quantile, which brackets a safeguarded Newton iteration.
    """
    p = np.asarray(p, dtype=float)
    mean2 = mean if mean.ndim == 2 else mean[:, None]
    sd2 = sd if sd.ndim == 2 else sd[:, None]
    z = dist.ndtri(p)  # (q,)
    comp = mean2[None] + sd2[None] * z[:, None, None]  # (q, n, m)
    lo = comp.min(axis=1)
    hi = comp.max(axis=1)
    x = np.einsum("n,qnm->qm", weight, comp)
    target = p[:, None]
    w = weight[:, None]
    for _ in range(100):
        u = (x[:, None, :] - mean2[None]) / sd2[None]
        f = np.einsum("qnm,nm->qm", _ndtr(u), w) - target
        d = np.einsum("qnm,nm->qm", np.exp(-0.5 * u * u), w / sd2) / math.sqrt(2 * math.pi)
        below = f < 0
        lo = np.where(below, x, lo)
        hi = np.where(below, hi, x)
        done = (np.abs(f) <= 1e-14) | (hi - lo <= 1e-14 * np.maximum(1.0, np.abs(x)))
        if done.all():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - f / d
        ok = (newton > lo) & (newton < hi) & np.isfinite(newton)
        x = np.where(done, x, np.where(ok, newton, (lo + hi) / 2))
    return x if mean.ndim == 2 else x[:, 0]


def _mixture_cdf(weight: Array, mean: Array, sd: Array, x: Array) -> Array:
    u = (np.asarray(x, dtype=float)[..., None] - mean) / sd
    return _ndtr(u) @ weight


@dataclass(frozen=True)
class BayesResult:
    """Posterior of the normal-normal hierarchical model (frozen; arrays read-only).

    Intervals are central (equal-tailed) at ``level``. ``pred_*`` is the posterior predictive
    interval of a new study's true effect theta_new ~ N(mu, tau^2). ``theta_*`` are the
    shrinkage estimates of each study's true effect theta_i. ``mu_cdf(x)`` is P(mu <= x | y).
    """

    k: int
    tau_prior: str
    tau_scale: float
    mu_prior: tuple[float, float] | None
    level: float
    mu_median: float
    mu_ci_lb: float
    mu_ci_ub: float
    tau_median: float
    tau_ci_lb: float
    tau_ci_ub: float
    pred_median: float
    pred_lb: float
    pred_ub: float
    yi: Array = field(repr=False)
    vi: Array = field(repr=False)
    studies: pd.Index = field(repr=False)
    _grid: _Grid = field(repr=False, compare=False)
    _mu_mean: Array = field(repr=False, compare=False)  # E[mu | tau_j, y] per node
    _mu_var: Array = field(repr=False, compare=False)

    # --- marginal posterior of mu -------------------------------------------------------
    def mu_cdf(self, x: Any) -> Any:
        """P(mu <= x | y); scalar or array in, same shape out."""
        out = _mixture_cdf(self._grid.weight, self._mu_mean, np.sqrt(self._mu_var), x)
        return float(out) if np.ndim(out) == 0 else out

    def mu_quantile(self, p: Any) -> Any:
        q = _mixture_quantile(
            self._grid.weight, self._mu_mean, np.sqrt(self._mu_var), np.atleast_1d(p)
        )
        return float(q[0]) if np.ndim(p) == 0 else q

    def mu_pdf(self, x: Any) -> Any:
        sd = np.sqrt(self._mu_var)
        u = (np.asarray(x, dtype=float)[..., None] - self._mu_mean) / sd
        out = (np.exp(-0.5 * u * u) / sd) @ self._grid.weight / math.sqrt(2 * math.pi)
        return float(out) if np.ndim(out) == 0 else out

    # --- marginal posterior of tau ------------------------------------------------------
    def tau_quantile(self, p: float) -> float:
        return _tau_quantile(self._grid, float(p))

    def tau_pdf(self, tau: Any) -> Any:
        """Posterior density of tau (0 for tau < 0)."""
        t = np.atleast_1d(np.asarray(tau, dtype=float))
        model = self._model
        lp, _, _ = model.conditional(np.abs(t))
        out = np.where(t >= 0, np.exp(lp - self._grid.lp_max) / self._grid.norm, 0.0)
        return float(out[0]) if np.ndim(tau) == 0 else out

    def tau_prior_pdf(self, tau: Any) -> Any:
        """Prior density of tau (NaN for the improper uniform prior)."""
        t = np.atleast_1d(np.asarray(tau, dtype=float))
        if self.tau_prior == "uniform":
            out = np.full(t.shape, np.nan)
        else:
            out = np.where(t >= 0, np.exp(self._model.log_prior(np.abs(t))), 0.0)
        return float(out[0]) if np.ndim(tau) == 0 else out

    # --- predictive and shrinkage -------------------------------------------------------
    def pred_quantile(self, p: Any) -> Any:
        sd = np.sqrt(self._mu_var + self._grid.tau**2)
        q = _mixture_quantile(self._grid.weight, self._mu_mean, sd, np.atleast_1d(p))
        return float(q[0]) if np.ndim(p) == 0 else q

    @cached_property
    def _model(self) -> _Model:
        prior = None if self.mu_prior is None else self.mu_prior
        return _Model(self.yi, self.vi, self.tau_prior, self.tau_scale, prior)

    def _theta_components(self) -> tuple[Array, Array]:
        t2 = (self._grid.tau**2)[:, None]
        shrink = self.vi / (self.vi + t2)  # (n, k): weight of mu in E[theta_i | mu, tau]
        mean = (1 - shrink) * self.yi + shrink * self._mu_mean[:, None]
        var = (1 - shrink) * self.vi + shrink**2 * self._mu_var[:, None]
        return mean, np.sqrt(var)

    @cached_property
    def _theta(self) -> Array:
        a = (1 - self.level) / 2
        mean, sd = self._theta_components()
        q = _mixture_quantile(self._grid.weight, mean, sd, np.array([0.5, a, 1 - a]))
        return readonly(q)

    @property
    def theta_median(self) -> Array:
        """Posterior median of each study's true effect (shrinkage estimate)."""
        return self._theta[0]

    @property
    def theta_ci_lb(self) -> Array:
        return self._theta[1]

    @property
    def theta_ci_ub(self) -> Array:
        return self._theta[2]

    def theta_cdf(self, x: Any) -> Array:
        """P(theta_i <= x | y) for every study i (x scalar)."""
        mean, sd = self._theta_components()
        return _ndtr((float(x) - mean) / sd).T @ self._grid.weight

    # --- grids for plotting ---------------------------------------------------------------
    @cached_property
    def mu_grid(self) -> pd.DataFrame:
        """Posterior density of mu on 201 points spanning its 0.05%-99.95% quantiles."""
        lo, hi = self.mu_quantile(np.array([0.0005, 0.9995]))
        x = np.linspace(lo, hi, 201)
        return pd.DataFrame({"mu": x, "density": self.mu_pdf(x)})

    @cached_property
    def tau_grid(self) -> pd.DataFrame:
        """Posterior and prior density of tau on 201 points from 0 to the 99.5% quantile."""
        hi = self.tau_quantile(0.995)
        if self.tau_prior != "uniform":
            hi = max(hi, min(3 * self.tau_scale, 10 * hi))
        x = np.linspace(0.0, hi, 201)
        return pd.DataFrame(
            {"tau": x, "posterior": self.tau_pdf(x), "prior": self.tau_prior_pdf(x)}
        )

    def prior_label(self) -> str:
        """The priors in words, e.g. 'half-normal(0.5) on tau, flat on mu'."""
        tau = {
            "halfnormal": f"half-normal({self.tau_scale:.3g})",
            "halfcauchy": f"half-Cauchy({self.tau_scale:.3g})",
            "uniform": "uniform (improper)",
        }[self.tau_prior]
        mu = (
            "flat"
            if self.mu_prior is None
            else f"N({self.mu_prior[0]:.3g}, {self.mu_prior[1]:.3g}^2)"
        )
        return f"{tau} prior on tau, {mu} prior on mu"

    def to_frame(self) -> pd.DataFrame:
        """One row per study: observed yi, sqrt(vi), shrinkage median and interval."""
        return pd.DataFrame(
            {
                "yi": self.yi,
                "sei": np.sqrt(self.vi),
                "theta_median": self.theta_median,
                "theta_ci_lb": self.theta_ci_lb,
                "theta_ci_ub": self.theta_ci_ub,
            },
            index=self.studies,
        )


def bayesmeta(
    yi: Any,
    vi: Any,
    tau_prior: str = "halfnormal",
    tau_scale: float | None = LOG_RATIO_TAU_SCALE,
    mu_prior: tuple[float, float] | None = None,
    level: float = 0.95,
) -> BayesResult:
    """Bayesian random-effects meta-analysis (normal-normal hierarchical model), exact.

    ``tau_prior`` is ``"halfnormal"`` (default) or ``"halfcauchy"`` with ``tau_scale``, or the
    improper ``"uniform"``; ``mu_prior`` is ``None`` (flat) or ``(mean, sd)``. k = 1 is defined
    for proper tau priors (the prior then carries tau). Intervals are central at ``level``.
    See docs/statistics.md ("Bayesian random-effects model") for the method and its checks.
    """
    y, v, index, scale, prior, lev = _validate(yi, vi, tau_prior, tau_scale, mu_prior, level)
    model = _Model(y, v, tau_prior, scale, prior)
    grid = _build_grid(model)
    _, m, var = model.conditional(grid.tau)
    keep = grid.weight > 0
    grid = _Grid(
        grid.pa,
        grid.pb,
        grid.tau[keep],
        grid.weight[keep],
        grid.gvals,
        grid.cum,
        grid.lp_max,
        grid.norm,
    )
    m, var = m[keep], var[keep]
    a = (1 - lev) / 2
    sd = np.sqrt(var)
    mu_q = _mixture_quantile(grid.weight, m, sd, np.array([0.5, a, 1 - a]))
    pred_q = _mixture_quantile(
        grid.weight, m, np.sqrt(var + grid.tau**2), np.array([0.5, a, 1 - a])
    )
    for arr in (y, v, grid.tau, grid.weight, grid.gvals, grid.cum, grid.pa, grid.pb, m, var):
        readonly(arr)
    return BayesResult(
        k=int(y.size),
        tau_prior=tau_prior,
        tau_scale=scale,
        mu_prior=prior,
        level=lev,
        mu_median=float(mu_q[0]),
        mu_ci_lb=float(mu_q[1]),
        mu_ci_ub=float(mu_q[2]),
        tau_median=_tau_quantile(grid, 0.5),
        tau_ci_lb=_tau_quantile(grid, a),
        tau_ci_ub=_tau_quantile(grid, 1 - a),
        pred_median=float(pred_q[0]),
        pred_lb=float(pred_q[1]),
        pred_ub=float(pred_q[2]),
        yi=y,
        vi=v,
        studies=index,
        _grid=grid,
        _mu_mean=m,
        _mu_var=var,
    )


def prob_greater(a: BayesResult, b: BayesResult, delta: float = 0.0) -> float:
    """P(mu_a - mu_b > delta) for two independent posteriors (separate data, separate fits).

    An across-study (indirect) comparison: the two groups' studies are different, so nothing
    here is randomised between them.
    """
    ma, va, wa = a._mu_mean, a._mu_var, a._grid.weight
    mb, vb, wb = b._mu_mean, b._mu_var, b._grid.weight
    diff = ma[:, None] - mb[None, :] - delta
    z = diff / np.sqrt(va[:, None] + vb[None, :])
    return float(wa @ _ndtr(z) @ wb)
