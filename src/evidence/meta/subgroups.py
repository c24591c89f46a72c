"""Subgroup analysis and the test for subgroup differences.

Two conventions are in use and both are offered:

* ``tau2="separate"`` (RevMan, R's meta ``update(m, subgroup = g)``): each subgroup is its own
  random-effects model; the test is the common-effect Q statistic of the subgroup estimates
  with their standard errors, chi-square with G - 1 df.
* ``tau2="common"`` (metafor ``rma(yi, vi, mods = ~ factor(g))``): one mixed-effects model with
  the subgroup as a factor and one tau^2; the test is its moderator test ``QM`` (chi-square,
  or F with (G - 1, k - G) df under Knapp-Hartung). Per-group results are
  ``rma(yi, vi, subset = g, tau2 = <common tau2>)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from evidence.meta import inference
from evidence.meta.design import Design
from evidence.meta.estimators import normalise_method
from evidence.meta.inputs import study_arrays
from evidence.meta.model import (
    check_variances,
    fit_batch,
    fit_validated,
    normalise_test,
    raise_infinite_weight,
)
from evidence.meta.results import RMAResult, SubgroupResult

TAU2_MODES = ("separate", "common")


def subgroups(
    yi: Any,
    vi: Any,
    groups: Any,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    tau2: str = "separate",
    na: str = "raise",
) -> SubgroupResult:
    """Fit the model within each subgroup and test for subgroup differences.

    ``groups`` gives each study's subgroup (any hashable labels; a missing label is treated
    like a missing ``yi``). Groups are ordered as sorted labels, like R's ``factor()``.
    """
    method = normalise_method(method)
    test = normalise_test(test)
    if tau2 not in TAU2_MODES:
        raise ValueError(f"tau2 must be one of {TAU2_MODES}, got {tau2!r}")
    alpha = inference.alpha_of(level)
    g_raw = groups.to_numpy() if isinstance(groups, pd.Series) else np.asarray(groups, dtype=object)
    if g_raw.ndim != 1:
        raise ValueError("groups must be one-dimensional")
    # A missing group label follows the same rule as a missing yi (error or omitted).
    gmiss: Any = np.where(pd.isna(g_raw), np.nan, 0.0)
    if isinstance(yi, pd.Series):
        gmiss = pd.Series(gmiss, index=yi.index)
    y, v, index, _, keep = study_arrays(yi, vi, na=na, extra=[("groups", gmiss)])
    try:  # np.unique is much cheaper than pandas for the few labels of a dashboard
        labels, codes = np.unique(g_raw[keep], return_inverse=True)
    except TypeError:  # labels that do not sort together (e.g. numbers and strings)
        codes, labels = pd.factorize(g_raw[keep], sort=False)
    check_variances(v, index, method, None)
    G = len(labels)
    k = y.shape[0]
    members = [np.flatnonzero(codes == g) for g in range(G)]
    reliable, why = _few_studies(labels, members)

    def fit_groups(tau2_fixed: float | None) -> tuple[RMAResult, ...]:
        return tuple(
            fit_validated(y[i], v[i], index[i], method, test, alpha, tau2_fixed) for i in members
        )

    if tau2 == "separate":
        results = fit_groups(None)
        est = np.array([r.estimate for r in results])
        se = np.array([r.se for r in results])
        with np.errstate(divide="ignore", invalid="ignore"):
            w = 1.0 / se**2
            mu = np.sum(w * est) / np.sum(w)
            qb = float(np.sum(w * (est - mu) ** 2)) if G > 1 else 0.0
        dfb = float(G - 1)
        return SubgroupResult(
            groups=tuple(labels),
            results=results,
            tau2_mode=tau2,
            q_between=qb,
            q_between_df=dfb,
            q_between_df2=np.nan,
            q_between_pval=float(inference.chi2_sf(qb, dfb)) if G > 1 else np.nan,
            tau2_common=np.nan,
            reliable=reliable and G > 1,
            reason=why if G > 1 else "one subgroup: nothing to compare",
        )

    # Common tau2: the subgroup as a factor in one mixed-effects model (dummy coding).
    if G < 2:
        raise ValueError("tau2='common' needs at least two subgroups")
    need = G if method == "FE" else G + 1
    if k < need:
        raise ValueError(
            f"tau2='common' with method={method!r} needs at least {need} studies for {G} "
            f"subgroups, got {k}"
        )
    X = np.zeros((k, G))
    X[:, 0] = 1.0
    X[np.arange(k), codes] = 1.0  # intercept + indicator of every group but the first
    with Design(y, v, X=X) as d:
        out = fit_batch(d, method, test, alpha, qprofile=False)
    tau2_common = float(out["tau2_fit"][0])
    if out["infinite"][0]:
        raise_infinite_weight(index, v == 0, tau2_common)
    b = out["beta"][0, 1:]
    V = out["vb"][0, 1:, 1:]
    m = G - 1
    qm = float(b @ np.linalg.solve(V, b))
    if test in ("knha", "adhoc"):
        qm /= m
        df2 = float(k - G)
        pval = float(inference.f_sf(qm, m, df2))
    else:
        df2 = np.nan
        pval = float(inference.chi2_sf(qm, m))
    return SubgroupResult(
        groups=tuple(labels),
        results=fit_groups(None if method == "FE" else tau2_common),
        tau2_mode=tau2,
        q_between=qm,
        q_between_df=float(m),
        q_between_df2=df2,
        q_between_pval=pval,
        tau2_common=tau2_common,
        reliable=reliable,
        reason=why,
    )


def _few_studies(labels: Any, members: list[np.ndarray]) -> tuple[bool, str]:
    """A group of one study makes the "between-group" test a contrast of one study with the
    rest: its within-group variance is unknown, so a small p says nothing about the groups."""
    few = [str(g) for g, m in zip(labels, members, strict=True) if len(m) < 2]
    if not few:
        return True, ""
    which = ", ".join(few)
    return False, (
        f"{which} {'rests' if len(few) == 1 else 'rest'} on a single study; a test of "
        "subgroup differences needs at least two studies in every compared group"
    )


def difference_test(
    yi: Any,
    vi: Any,
    groups: Any,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> SubgroupResult:
    """The test for subgroup differences that matches ``test``.

    ``test="z"``: the RevMan test (separate tau^2 per group, chi-square on the group estimates).
    ``test="knha"`` / ``"adhoc"``: metafor's mixed-effects moderator test,
    ``rma(yi, vi, mods = ~ factor(group), test = "knha")``, an F test with (G - 1, k - G) df, so
    that the small-sample method reaches the test and not only the intervals. When there are no
    more studies than groups that test has no residual df: the result is returned with a NaN
    statistic and ``reliable=False`` (per-group fits with separate tau^2).
    """
    test = normalise_test(test)
    if test == "z":
        return subgroups(yi, vi, groups, method=method, test=test, level=level)
    labels = pd.unique(pd.Series(np.asarray(groups, dtype=object)).dropna())
    k = len(np.asarray(yi))
    need = len(labels) + (0 if normalise_method(method) == "FE" else 1)
    if len(labels) >= 2 and k >= need:
        return subgroups(yi, vi, groups, method=method, test=test, level=level, tau2="common")
    sep = subgroups(yi, vi, groups, method=method, test=test, level=level)
    why = (
        f"the Knapp-Hartung moderator test needs more studies than groups ({k} studies, "
        f"{len(labels)} groups): not computed"
    )
    return replace(
        sep,
        q_between=np.nan,
        q_between_df=float(len(labels) - 1),
        q_between_df2=float(k - len(labels)),
        q_between_pval=np.nan,
        reliable=False,
        reason=why if sep.reliable else f"{why}; {sep.reason}",
    )
