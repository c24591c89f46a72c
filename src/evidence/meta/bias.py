"""Small-study effects and publication bias: Egger's regression test (metafor ``regtest``),
Begg's rank correlation test (``ranktest``) and Duval and Tweedie's trim and fill
(``trimfill``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evidence.meta import inference
from evidence.meta.design import Design
from evidence.meta.estimators import normalise_method
from evidence.meta.inputs import study_arrays
from evidence.meta.kendall import kendall
from evidence.meta.model import (
    check_variances,
    fit_batch,
    make_result,
    normalise_test,
    raise_infinite_weight,
    summarise_intercept,
)
from evidence.meta.results import RanktestResult, RegtestResult, TrimfillResult

REGTEST_MODELS = ("rma", "lm")
TRIMFILL_ESTIMATORS = ("L0", "R0")

#: Above this k, Begg's test uses the normal approximation even without ties (the exact
#: null distribution costs O(k^3); R's cor.test would still try it).
RANKTEST_EXACT_MAX_K = 500


def regtest(
    yi: Any,
    vi: Any,
    model: str = "rma",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    na: str = "raise",
) -> RegtestResult:
    """Egger's regression test for funnel plot asymmetry (metafor ``regtest``, predictor "sei").

    ``model="rma"`` (metafor's default): the mixed-effects meta-regression
    ``rma(yi, vi, mods = ~ sqrt(vi), method, test)``; ``stat`` is the z (or t, k - 2 df) value of
    the ``sqrt(vi)`` coefficient. ``model="lm"``: the classic weighted regression
    ``lm(yi ~ sqrt(vi), weights = 1/vi)`` (multiplicative dispersion, t with k - 2 df).
    ``limit_estimate`` is the intercept, the estimate as ``sei -> 0`` (metafor's ``est``), with
    its confidence interval.
    """
    if model not in REGTEST_MODELS:
        raise ValueError(f"model must be one of {REGTEST_MODELS}, got {model!r}")
    method = normalise_method(method)
    test = normalise_test(test)
    alpha = inference.alpha_of(level)
    y, v, index, _, _ = study_arrays(yi, vi, na=na)
    k = y.shape[0]
    if model == "lm":
        # lm() with weights 1/vi is the common-effect fit with the residual variance scaling
        # that Knapp-Hartung uses: s2w = sum w r^2 / (k - 2).
        method_fit, test_fit = "FE", "knha"
        need = 3
    else:
        method_fit, test_fit = method, test
        need = 2 if method == "FE" else 3
    if k < need:
        raise ValueError(f"regtest needs at least {need} studies, got {k}")
    zero = check_variances(v, index, method_fit, None)
    X = np.column_stack([np.ones(k), np.sqrt(v)])
    with Design(y, v, X=X) as d:
        out = fit_batch(d, method_fit, test_fit, alpha, qprofile=False)
    if out["infinite"][0]:
        raise_infinite_weight(index, zero, float(out["tau2_fit"][0]))
    beta = out["beta"][0]
    se = np.sqrt(np.diag(out["vb"][0]))
    df = out["df"]
    stat = beta[1] / se[1]
    crit = float(inference.crit_value(alpha, df)[0])
    return RegtestResult(
        model=model,
        predictor="sei",
        method=method_fit if model == "rma" else "lm",
        stat=float(stat),
        pval=float(inference.two_sided_p(stat, df)[0]),
        df=float(df[0]),
        limit_estimate=float(beta[0]),
        limit_ci_lb=float(beta[0] - crit * se[0]),
        limit_ci_ub=float(beta[0] + crit * se[0]),
    )


def ranktest(yi: Any, vi: Any, *, na: str = "raise") -> RanktestResult:
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``).

    Kendall's tau (tau-b) between the standardised deviates
    ``(yi - theta_FE) / sqrt(vi - 1/sum(1/vi))`` and ``vi``. The p-value is exact (as R's
    ``cor.test(..., exact = TRUE)``) when there are no ties and k <= 500, otherwise from the
    normal approximation with the tie-corrected variance and no continuity correction.
    """
    y, v, index, _, _ = study_arrays(yi, vi, na=na)
    k = y.shape[0]
    if k < 3:
        raise ValueError(f"ranktest needs at least 3 studies, got {k}")
    check_variances(v, index, "FE", None)
    w = 1.0 / v
    theta = np.sum(w * y) / np.sum(w)
    v_star = v - 1.0 / np.sum(w)
    with np.errstate(divide="ignore", invalid="ignore"):
        y_star = (y - theta) / np.sqrt(v_star)
    if not np.isfinite(y_star).all():
        raise ValueError("ranktest: a study carries all the weight (vi - 1/sum(1/vi) <= 0)")
    ties = len(np.unique(y_star)) < k or len(np.unique(v)) < k
    exact = not ties and k <= RANKTEST_EXACT_MAX_K
    res = kendall(y_star, v, exact=exact)
    return RanktestResult(tau=res.tau, pval=res.pval, exact=exact)


def trimfill(
    yi: Any,
    vi: Any,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    side: str | None = None,
    estimator: str = "L0",
    maxiter: int = 100,
    na: str = "raise",
) -> TrimfillResult:
    """Trim and fill (metafor ``trimfill``; estimator L0 by default).

    ``side`` (where studies are missing) is chosen as metafor does when not given: from the
    sign of the slope in ``rma(yi, vi, mods = ~ sqrt(vi), method)`` - a negative slope means
    the missing studies are on the right. The trimmed fits use ``method``; the returned
    ``result`` is a full ``rma`` fit (``method``, ``test``, ``level``) on the observed plus
    filled studies, the filled ones labelled ``"Filled 1"``, ``"Filled 2"``, ...
    """
    method = normalise_method(method)
    test = normalise_test(test)
    if estimator not in TRIMFILL_ESTIMATORS:
        raise ValueError(f"estimator must be one of {TRIMFILL_ESTIMATORS}, got {estimator!r}")
    alpha = inference.alpha_of(level)
    y, v, index, _, _ = study_arrays(yi, vi, na=na)
    k = y.shape[0]
    if k < 2:
        raise ValueError("trimfill needs at least 2 studies")
    zero = check_variances(v, index, method, None)

    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(v)])
        with Design(y, v, X=X) as d:
            out = fit_batch(d, method, "z", alpha, qprofile=False)
        side = "right" if out["beta"][0, 1] < 0 else "left"
    elif side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")

    ys = -y if side == "right" else y
    order = np.argsort(ys, kind="stable")
    ys, vs = ys[order], v[order]
    k0, k0_prev, se_k0, beta = 0, -1, np.nan, np.nan
    iteration = 0
    while k0 != k0_prev:  # metafor: iterate until the number of missing studies is stable
        iteration += 1
        if iteration > maxiter:
            raise ValueError(f"trim and fill did not converge in {maxiter} iterations")
        k0_prev = k0
        kt = k - k0
        with Design(ys[:kt], vs[:kt]) as dt:
            beta = float(fit_batch(dt, method, "z", alpha, qprofile=False)["beta"][0, 0])
        yc = ys - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)  # ties: "first"
        signed = np.sign(yc) * ranks
        if estimator == "L0":
            sr = signed[signed > 0].sum()
            k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0f**3
                + 27 * k0f**2
                + 17 * k0f
                - 18 * k * k0f**2
                - 18 * k * k0f
                + 6 * k**2 * k0f
            ) / 24
            # a negative variance gives NaN, as in metafor (sqrt of a negative number)
            se_k0 = 4 * np.sqrt(var_sr) / (2 * k - 1) if var_sr >= 0 else np.nan
        else:  # R0
            neg = signed[signed < 0]
            k0f = (k - (np.max(-neg) if neg.size else 0)) - 1
            se_k0 = np.sqrt(2 * max(0.0, k0f) + 2)
        k0 = int(max(0, np.round(k0f)))  # np.round and R's round() both round half to even
        se_k0 = float(se_k0) if np.isnan(se_k0) else max(0.0, float(se_k0))
        if k0 >= k:
            raise ValueError("trim and fill estimated as many missing studies as observed ones")

    if k0 > 0:
        mirrored = 2.0 * beta - ys[k - k0 :]
        fill_y = -mirrored if side == "right" else mirrored
        fill_v = vs[k - k0 :]
    else:
        fill_y = np.empty(0)
        fill_v = np.empty(0)
    y_all = np.concatenate([y, fill_y])
    v_all = np.concatenate([v, fill_v])
    labels = list(index) + [f"Filled {i + 1}" for i in range(k0)]
    index_all = pd.Index(labels, dtype=object) if k0 else index
    zero_all = np.concatenate([zero, fill_v == 0])
    with Design(y_all, v_all) as d:
        out = fit_batch(d, method, test, alpha)
    if out["infinite"][0]:
        raise_infinite_weight(index_all, zero_all, float(out["tau2_fit"][0]))
    result = make_result(
        out,
        summarise_intercept(out, alpha),
        0,
        method=method,
        test=test,
        level=1.0 - alpha,
        tau2_fixed=False,
        y=y_all,
        v=v_all,
        index=index_all,
    )
    fill = np.concatenate([np.zeros(k, dtype=bool), np.ones(k0, dtype=bool)])
    fill.flags.writeable = False
    fill_y.flags.writeable = False
    fill_v.flags.writeable = False
    return TrimfillResult(
        k0=k0,
        se_k0=se_k0,
        side=side,
        estimator=estimator,
        result=result,
        fill=fill,
        filled_yi=fill_y,
        filled_vi=fill_v,
    )
