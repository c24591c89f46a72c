"""Sensitivity analyses: leave-one-out and cumulative meta-analysis (metafor ``leave1out``,
``cumul``), each a batch of models fitted together rather than k separate fits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evidence.meta import inference
from evidence.meta.design import Design
from evidence.meta.estimators import normalise_method
from evidence.meta.inputs import study_arrays
from evidence.meta.model import check_variances, fit_batch, normalise_test, summarise_intercept

Array = NDArray[np.float64]

#: Columns of the leave-one-out and cumulative tables, one row per step.
STEP_COLUMNS = (
    "k",
    "estimate",
    "se",
    "stat",
    "pval",
    "ci_lb",
    "ci_ub",
    "df",
    "q",
    "q_df",
    "q_pval",
    "tau2",
    "i2",
    "h2",
    "pi_lb",
    "pi_ub",
)

_MAX_CELLS = 1 << 21  # studies x models per chunk: bounds memory, never a k x k matrix at once


def _fit_steps(
    y: Array,
    v: Array,
    masks: Callable[[int, int], Array],
    method: str,
    test: str,
    alpha: float,
) -> Array:
    """Fit one intercept-only model per step, ``k`` steps in chunks; ``masks(start, stop)``
    gives the 0/1 study masks of steps ``start .. stop - 1`` (never all k x k at once).
    Returns one row per step with the ``STEP_COLUMNS`` as columns."""
    k = y.shape[0]
    step = max(1, _MAX_CELLS // max(k, 1))
    parts: list[Array] = []
    for start in range(0, k, step):
        with Design(y, v, mask=masks(start, min(k, start + step))) as d:
            out = fit_batch(d, method, test, alpha, qprofile=False)
        summary = summarise_intercept(out, alpha)
        block = np.column_stack([summary[c] if c in summary else out[c] for c in STEP_COLUMNS])
        block[out["infinite"], 1:] = np.nan  # a zero vi with tau2 = 0: no estimate
        parts.append(block)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _frame(table: Array, index: pd.Index) -> pd.DataFrame:
    # One float block plus an int column: far cheaper than a dict of 16 columns.
    df = pd.DataFrame(table[:, 1:], columns=list(STEP_COLUMNS[1:]), index=index, copy=False)
    df.insert(0, "k", table[:, 0].astype(int))
    return df


def _prepare(yi: Any, vi: Any, method: str, test: str, level: float, na: str):
    method = normalise_method(method)
    test = normalise_test(test)
    alpha = inference.alpha_of(level)
    y, v, index, _, keep = study_arrays(yi, vi, na=na)
    check_variances(v, index, method, None)
    return method, test, alpha, y, v, index, keep


def leave1out(
    yi: Any,
    vi: Any,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    na: str = "raise",
) -> pd.DataFrame:
    """Refit the model k times, each time without one study (metafor ``leave1out``).

    Returns one row per omitted study (index: its label) with the ``rma`` fields as columns.
    With k = 2 every step has one study left: heterogeneity is then NaN (see ``rma``).
    """
    method, test, alpha, y, v, index, _ = _prepare(yi, vi, method, test, level, na)
    k = y.shape[0]
    if k < 2:
        raise ValueError("leave1out needs at least 2 studies")

    def without_one(start: int, stop: int) -> Array:
        rows = np.ones((stop - start, k))
        rows[np.arange(stop - start), np.arange(start, stop)] = 0.0
        return rows

    return _frame(_fit_steps(y, v, without_one, method, test, alpha), index.rename("omitted"))


def cumul(
    yi: Any,
    vi: Any,
    order: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    decreasing: bool = False,
    na: str = "raise",
) -> pd.DataFrame:
    """Cumulative meta-analysis: add the studies one at a time (metafor ``cumul``).

    ``order`` is a sort key with one value per study (e.g. publication year; ties keep the
    input order, as R's ``order()`` does) or ``None`` for the input order. Row ``i`` is the
    model of the first ``i + 1`` studies; its index is the label of the study added.
    """
    method, test, alpha, y, v, index, keep = _prepare(yi, vi, method, test, level, na)
    k = y.shape[0]
    if order is None:
        perm = np.arange(k)
    else:
        key = pd.Series(order.to_numpy() if isinstance(order, pd.Series) else np.asarray(order))
        n_in = len(yi)
        if len(key) != n_in:
            raise ValueError(f"order has {len(key)} values for {n_in} studies")
        key = key.iloc[keep]
        if key.isna().any():
            raise ValueError("order has missing values")
        perm = (
            key.reset_index(drop=True)
            .sort_values(ascending=not decreasing, kind="stable")
            .index.to_numpy()
        )
    rank = np.empty(k, dtype=np.intp)
    rank[perm] = np.arange(k)  # position of each study in the cumulative order

    def first_steps(start: int, stop: int) -> Array:
        # step i uses the studies ranked 0 .. i
        return (rank[None, :] <= np.arange(start, stop)[:, None]).astype(float)

    return _frame(_fit_steps(y, v, first_steps, method, test, alpha), index[perm].rename("added"))
