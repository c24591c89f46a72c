"""The random-effects model ``rma()``: metafor's ``rma.uni`` without moderators.

:func:`rma` validates the inputs, fits one model and returns an
:class:`~evidence.meta.results.RMAResult`: through :mod:`~evidence.meta.scalar` for the usual
few dozen studies, through :func:`fit_batch` otherwise. :func:`fit_batch` fits a whole
:class:`~evidence.meta.design.Design` batch and returns plain arrays; leave-one-out,
cumulative, Egger and trim-and-fill call it so that k models cost one vectorised fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evidence.meta import inference, scalar
from evidence.meta.design import Design
from evidence.meta.estimators import estimate_tau2, normalise_method, se_tau2
from evidence.meta.inputs import describe_rows, first_label, study_arrays
from evidence.meta.qprofile import qprofile_batch
from evidence.meta.results import RMAResult, readonly

Array = NDArray[np.float64]

#: Estimators that need every sampling variance to be positive (they weight by 1/vi).
NEEDS_POSITIVE_VI = ("FE", "DL", "HS", "PM", "EB")

_EPS = np.finfo(float).eps


def normalise_test(test: str) -> str:
    t = str(test).lower()
    if t not in inference.TESTS:
        raise ValueError(f"unknown test {test!r}; expected one of {', '.join(inference.TESTS)}")
    return t


def fit_batch(
    d: Design,
    method: str,
    test: str,
    alpha: float,
    *,
    tau2_fixed: float | None = None,
    qprofile: bool = True,
) -> dict[str, Array]:
    """Fit every model of the batch (see :func:`_fit_batch`)."""
    # One errstate for the whole fit: a NaN or inf here is an expected, handled outcome
    # (k = 1, a zero variance, a zero tau2), and entering errstate per operation is costly.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _fit_batch(d, method, test, alpha, tau2_fixed=tau2_fixed, qprofile=qprofile)


def _fit_batch(
    d: Design,
    method: str,
    test: str,
    alpha: float,
    *,
    tau2_fixed: float | None,
    qprofile: bool,
) -> dict[str, Array]:
    """Fit every model of the batch; return arrays of length ``B`` (``beta``: ``(B, p)``,
    ``vb``: ``(B, p, p)``).

    Follows ``rma.uni``: tau2 by ``method`` (or fixed), inverse-variance weights
    ``1/(vi + tau2)``, Knapp-Hartung scaling ``s2w = sum w r^2 / (k - p)`` for ``knha``
    (``max(1, s2w)`` for ``adhoc``) with t(k - p) inference, Q and I^2/H^2 from the
    common-effect weights with the "typical" variance ``vt = (k - p) / tr(P)``, and (with
    ``qprofile=True``) the Q-profile interval for tau2.

    Models with ``k <= p`` (one study in an intercept-only model) have no information on
    heterogeneity: they are fitted with tau2 = 0 and z tests (as metafor does) but tau2, Q,
    I^2, H^2 and the prediction interval are reported as NaN (metafor reports 0, 0, 0, 1).
    """
    B, p = d.B, d.p
    single = d.df <= 0
    # Most fits have no single-study model and no zero variance: skip the masking then
    # (each small-array operation costs about a microsecond, which adds up at k = 10).
    any_single = bool(single.any())
    if d.mask is None:
        vpos = np.full(B, bool((d.v_raw > 0).all()))
    else:
        vpos = (d.mask * (d.v_raw <= 0)).sum(axis=1) == 0
    valid = vpos & ~single if any_single else vpos
    all_valid = bool(valid.all())

    if tau2_fixed is not None:
        tau2 = np.full(B, float(tau2_fixed))
    else:
        tau2 = estimate_tau2(d, method)
        if any_single:
            tau2 = np.where(single, 0.0, tau2)
    w = d.weights(tau2)
    beta, r, C = d.solve(w)
    c0 = C[:, 0, 0]
    infinite = ~np.isfinite(c0) | (c0 == 0)  # a zero vi with tau2 = 0

    if test in ("knha", "adhoc"):
        rss = d.rss(w, r)
        s2w = rss / d.df
        s2w[rss <= _EPS] = 0.0
        if test == "adhoc":
            s2w = np.maximum(s2w, 1.0)
        df_test = d.df.copy()
        if any_single:  # metafor switches to test="z" when k = 1
            s2w[single] = 1.0
            df_test[single] = np.nan
        vb = C * s2w[:, None, None]
    else:
        s2w = np.ones(B)
        df_test = np.full(B, np.nan)
        vb = C

    # Heterogeneity: Q from the common-effect weights, I^2 and H^2 via the typical variance.
    nan = np.full(B, np.nan)
    q = vt = nan
    if vpos.any():
        fe = d.common_effect()
        q = fe.q
        vt = d.df / fe.tr_p
        if not all_valid:
            q = np.where(valid, q, np.nan)
            vt = np.where(valid, vt, np.nan)
    q_pval = inference.chi2_sf(q, d.df)
    if method == "FE" and tau2_fixed is None:
        i2 = np.maximum(0.0, 100.0 * (q - d.df) / q)
        h2 = q / d.df
    else:
        i2 = 100.0 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1.0

    tau2_report = tau2
    q_df = d.df
    if any_single:
        q_df = np.where(single, np.nan, d.df)
        if tau2_fixed is None:
            tau2_report = np.where(single, np.nan, tau2)
    out: dict[str, Array] = {
        "beta": beta,
        "vb": vb,
        "df": df_test,
        "tau2": tau2_report,
        "tau2_fit": tau2,
        "q": q,
        "q_df": q_df,
        "q_pval": q_pval,
        "i2": i2,
        "h2": h2,
        "vt": vt,
        "s2w": s2w,
        "k": d.k,
        "infinite": infinite,
    }
    if p == 1:
        # metafor reports the method's SE formula at tau2 even when tau2 was fixed
        if method == "FE":
            out["se_tau2"] = nan
        else:
            se = se_tau2(d, method, tau2)
            out["se_tau2"] = np.where(single, np.nan, se) if any_single else se
    if qprofile:
        ok = vpos & ~single & (tau2_fixed is None)  # no interval for a fixed tau2 (metafor)
        out["tau2_ci_lb"], out["tau2_ci_ub"] = qprofile_batch(d, method, alpha, tau2, ok)
    return out


def summarise_intercept(out: dict[str, Array], alpha: float) -> dict[str, Array]:
    """Estimate, test, confidence and prediction interval of intercept-only fits (``p = 1``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _summarise_intercept(out, alpha)


def _summarise_intercept(out: dict[str, Array], alpha: float) -> dict[str, Array]:
    est = out["beta"][:, 0]
    se = np.sqrt(out["vb"][:, 0, 0])
    stat = est / se
    crit = inference.crit_value(alpha, out["df"])
    # predict.rma: pred +/- crit * sqrt(se^2 + tau2), crit from t(k - 1) under knha/adhoc
    sd_pi = np.sqrt(se**2 + out["tau2"])
    return {
        "estimate": est,
        "se": se,
        "stat": stat,
        "pval": inference.two_sided_p(stat, out["df"]),
        "ci_lb": est - crit * se,
        "ci_ub": est + crit * se,
        "pi_lb": est - crit * sd_pi,
        "pi_ub": est + crit * sd_pi,
    }


def check_variances(
    v: Array, index: pd.Index, method: str, tau2: float | None
) -> NDArray[np.bool_]:
    """Reject zero sampling variances where the model cannot use them; return the zero mask.

    FE, DL, HS, PM and EB weight by ``1/vi`` (metafor stops for them too). REML, ML, HE and SJ
    accept a zero ``vi`` as long as the estimated tau2 is positive (checked after fitting).
    """
    zero = v == 0
    if zero.any() and method in NEEDS_POSITIVE_VI and not (tau2 is not None and tau2 > 0):
        raise ValueError(
            f"vi is 0 for study {first_label(index, zero)!r} (rows: {describe_rows(index, zero)});"
            f" method={method!r} needs positive sampling variances (inverse-variance weights)."
            " Fix or exclude the study, or use REML, ML, HE or SJ."
        )
    return zero


def raise_infinite_weight(index: pd.Index, zero: NDArray[np.bool_], tau2: float) -> None:
    raise ValueError(
        f"vi is 0 for study {first_label(index, zero)!r} and the estimated tau2 is {tau2!r}:"
        " its inverse-variance weight is infinite. Fix or exclude the study."
    )


def make_result(
    out: dict[str, Array],
    summary: dict[str, Array],
    b: int,
    *,
    method: str,
    test: str,
    level: float,
    tau2_fixed: bool,
    y: Array,
    v: Array,
    index: pd.Index,
    keep: NDArray[np.intp] | None = None,
) -> RMAResult:
    """Build the ``RMAResult`` of model ``b`` of a batch (``keep``: its studies' positions)."""

    def f(name: str, src: dict[str, Array] = out) -> float:
        return float(src[name][b])

    if keep is not None:
        y, v, index = y[keep], v[keep], index[keep]
    k = int(out["k"][b])
    return RMAResult(
        k=k,
        method=method,
        test=test if k > 1 else "z",
        level=level,
        estimate=f("estimate", summary),
        se=f("se", summary),
        stat=f("stat", summary),
        pval=f("pval", summary),
        ci_lb=f("ci_lb", summary),
        ci_ub=f("ci_ub", summary),
        df=f("df"),
        tau2=f("tau2"),
        se_tau2=f("se_tau2"),
        i2=f("i2"),
        h2=f("h2"),
        q=f("q"),
        q_df=f("q_df"),
        q_pval=f("q_pval"),
        pi_lb=f("pi_lb", summary),
        pi_ub=f("pi_ub", summary),
        s2w=f("s2w"),
        vt=f("vt"),
        tau2_fixed=tau2_fixed,
        studies=index,
        yi=readonly(y),
        vi=readonly(v),
        _tau2_ci=(f("tau2_ci_lb"), f("tau2_ci_ub")) if "tau2_ci_lb" in out else None,
    )


def rma(
    yi: Any,
    vi: Any,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    tau2: float | None = None,
    na: str = "raise",
) -> RMAResult:
    """Fit a random-effects (or common-effect) model: metafor ``rma(yi, vi, method, test)``.

    Parameters
    ----------
    yi, vi
        Observed effects and their sampling variances (arrays, lists or pandas Series; a
        Series index labels the studies in ``studies`` and in error messages).
    method
        ``"FE"`` (common effect; ``"EE"``/``"CE"`` accepted), ``"DL"``, ``"REML"``, ``"ML"``,
        ``"PM"``, ``"EB"``, ``"HS"``, ``"SJ"`` or ``"HE"`` with metafor's definitions.
    test
        ``"z"``; ``"knha"`` (Knapp-Hartung: t with k - 1 df, variance scaled by
        ``s2w = sum w r^2 / (k - 1)``); ``"adhoc"`` (Knapp-Hartung with ``max(1, s2w)``).
    level
        Confidence level for the CI, the prediction interval and the Q-profile interval for
        tau2 (0.95 or metafor's 95).
    tau2
        Fix tau2 at this value instead of estimating it (metafor's ``tau2=`` argument).
    na
        ``"raise"``: a NaN/inf in ``yi`` or ``vi`` is an error naming the study and column;
        ``"omit"``: drop such studies (metafor's default) and leave them out of ``studies``.
    """
    method = normalise_method(method)
    test = normalise_test(test)
    alpha = inference.alpha_of(level)
    if tau2 is not None and not (np.isfinite(tau2) and tau2 >= 0):
        raise ValueError(f"tau2 must be a finite value >= 0, got {tau2!r}")
    if tau2 is not None and method == "FE":
        raise ValueError("method='FE' has tau2 = 0 by definition; do not pass tau2")
    y, v, index, _, _ = study_arrays(yi, vi, na=na)
    return fit_validated(y, v, index, method, test, alpha, tau2)


def fit_validated(
    y: Array,
    v: Array,
    index: pd.Index,
    method: str,
    test: str,
    alpha: float,
    tau2: float | None = None,
) -> RMAResult:
    """``rma()`` on inputs that already passed ``study_arrays`` (used by subgroups)."""
    k = y.shape[0]
    if 2 <= k <= scalar.MAX_K and bool((v > 0).all()):
        # The common case (a few dozen studies): one model, no batch bookkeeping.
        return RMAResult(
            k=k,
            method=method,
            test=test,
            level=1.0 - alpha,
            **scalar.fit(y, v, method, test, alpha, tau2),
            tau2_fixed=tau2 is not None,
            studies=index,
            yi=readonly(y),
            vi=readonly(v),
        )
    zero = check_variances(v, index, method, tau2)
    with Design(y, v) as d:
        out = fit_batch(d, method, test, alpha, tau2_fixed=tau2, qprofile=False)
    if out["infinite"][0]:
        raise_infinite_weight(index, zero, float(out["tau2_fit"][0]))
    summary = summarise_intercept(out, alpha)
    return make_result(
        out,
        summary,
        0,
        method=method,
        test=test,
        level=1.0 - alpha,
        tau2_fixed=tau2 is not None,
        y=y,
        v=v,
        index=index,
    )
