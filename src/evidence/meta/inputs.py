"""Checks on the study-level inputs ``yi``, ``vi`` before any model is fitted.

Errors name the row by its index label (the Series index, or the 0-based position for plain
arrays) and the column, so a reviewer can find the offending study.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Array = NDArray[np.float64]

NA_ACTIONS = ("raise", "omit")


class Studies(NamedTuple):
    """Validated study-level inputs."""

    y: Array
    v: Array
    index: pd.Index
    extra: list[Array]
    keep: NDArray[np.intp]  # positions (in the input) of the studies kept


def _labels(*columns: Any) -> pd.Index | None:
    index = None
    for col in columns:
        if isinstance(col, pd.Series):
            if index is None:
                index = col.index
            elif not col.index.equals(index):
                raise ValueError("yi and vi are pandas Series with different indexes")
    return index


def _as_float(name: str, values: Any) -> Array:
    """A float64 copy we own (results keep it read-only; the caller's array stays writable)."""
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype=float, na_value=np.nan)
    try:
        arr = np.array(values, dtype=float, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def first_label(index: pd.Index, bad: NDArray[np.bool_]) -> Any:
    """Index label of the first ``True`` in ``bad``."""
    return index[int(np.flatnonzero(bad)[0])]


def describe_rows(index: pd.Index, bad: NDArray[np.bool_], limit: int = 5) -> str:
    """``'a', 'b' and 3 more`` for the rows flagged in ``bad``."""
    pos = np.flatnonzero(bad)
    shown = ", ".join(repr(index[i]) for i in pos[:limit])
    more = len(pos) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def study_arrays(
    yi: Any,
    vi: Any,
    *,
    na: str = "raise",
    extra: Sequence[tuple[str, Any]] = (),
) -> Studies:
    """Validate ``yi``, ``vi`` (and ``extra`` columns): float arrays, labels, kept positions.

    ``na="raise"`` rejects a missing (NaN) or infinite value with an error naming the row and the
    column; ``na="omit"`` drops such studies (as metafor does with a warning) and the returned
    labels record which studies remain. A negative ``vi`` is always an error.
    """
    if na not in NA_ACTIONS:
        raise ValueError(f"na must be one of {NA_ACTIONS}, got {na!r}")
    extra_values = [v for _, v in extra]
    index = _labels(yi, vi, *extra_values)
    y = _as_float("yi", yi)
    v = _as_float("vi", vi)
    cols = [(n, _as_float(n, val)) for n, val in extra]
    if y.shape != v.shape:
        raise ValueError(f"yi and vi have different lengths ({y.size} and {v.size})")
    for n, c in cols:
        if c.shape != y.shape:
            raise ValueError(f"{n} has length {c.size}, yi has {y.size}")
    if index is None:
        index = pd.RangeIndex(y.size)
    if y.size == 0:
        raise ValueError("no studies: yi is empty")
    named = [("yi", y), ("vi", v), *cols]
    ok = np.ones(y.size, dtype=bool)
    for n, c in named:
        finite = np.isfinite(c)
        if not finite.all():
            if na == "raise":
                bad = ~finite
                what = "missing (NaN)" if np.isnan(c[bad][0]) else "infinite"
                raise ValueError(
                    f"{n} is {what} for study {first_label(index, bad)!r}"
                    f" (rows: {describe_rows(index, bad)}); pass na='omit' to drop such studies"
                )
            ok &= finite
    keep = np.arange(y.size)
    if not ok.all():
        keep = np.flatnonzero(ok)
        y, v, index = y[keep], v[keep], index[keep]
        cols = [(n, c[keep]) for n, c in cols]
        if y.size == 0:
            raise ValueError("no studies left after dropping missing values")
    if (v < 0).any():
        bad = v < 0
        raise ValueError(
            f"vi is negative for study {first_label(index, bad)!r} "
            f"(vi = {v[bad][0]!r}); sampling variances must be >= 0"
        )
    return Studies(y, v, index, [c for _, c in cols], keep)
