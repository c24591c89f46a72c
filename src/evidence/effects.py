"""Effect sizes and their sampling variances (metafor ``escalc``) and input conversions.

* :func:`escalc` - MD, SMD, ROM, RR, OR, RD, PR, PLO, MC, SMCR, SMCC with metafor's argument
  names, meanings and defaults (``vtype="LS"``, ``add=1/2``, ``to="only0"``, ``drop00=False``).
  A row that cannot be computed keeps ``yi = vi = NaN`` and says why in ``reason``; rows are
  never dropped.
* :func:`conv_fivenum` - mean and SD from median with min/max and/or quartiles (the
  "luo/wan/shi" methods of metafor's ``conv.fivenum``, with its skewness test).
* :func:`conv_wald`, :func:`se_from_ci`, :func:`se_from_pval` - standard errors from confidence
  intervals or p-values (metafor's ``conv.wald``; optionally t with ``df``).

This module is a pure library: numpy, scipy and pandas only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evidence import distributions as dist

Array = NDArray[np.float64]

MEASURES = ("MD", "SMD", "ROM", "RR", "OR", "RD", "PR", "PLO", "MC", "SMCR", "SMCC")
TWO_BY_TWO = ("RR", "OR", "RD")
PROPORTIONS = ("PR", "PLO")
TWO_GROUP_MEANS = ("MD", "SMD", "ROM")
PRE_POST = ("MC", "SMCR", "SMCC")
CORRECTION_RULES = ("only0", "all", "if0all", "none")
COLUMN_NAMES = (
    "ai",
    "bi",
    "ci",
    "di",
    "n1i",
    "n2i",
    "m1i",
    "m2i",
    "sd1i",
    "sd2i",
    "xi",
    "ni",
    "ri",
)

#: Default pre-post correlation for MC, SMCR and SMCC when ``ri`` is not reported.
DEFAULT_RI = 0.5


class _Reasons:
    """Collects, per row, the first reason it cannot be computed."""

    def __init__(self, n: int) -> None:
        self.text = np.full(n, "", dtype=object)

    def flag(self, mask: NDArray[np.bool_], text: str) -> None:
        self.text[mask & (self.text == "")] = text

    @property
    def ok(self) -> NDArray[np.bool_]:
        return self.text == ""


def _resolve(data: pd.DataFrame | None, value: Any) -> Any:
    if isinstance(value, str):
        if data is None:
            raise ValueError(f"column name {value!r} given without data=")
        return data[value]
    return value


def _index_of(data: pd.DataFrame | None, columns: dict[str, Any], n: int) -> pd.Index:
    if data is not None:
        return data.index
    for value in columns.values():
        if isinstance(value, pd.Series):
            return value.index
    return pd.RangeIndex(n)


def _column(name: str, value: Any, n: int) -> Array:
    if isinstance(value, pd.Series):
        arr = value.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} has {arr.size} values, expected {n}")
    return arr


def _lcm_factor(m: Array) -> Array:
    """Hedges' small-sample correction ``c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(dist.gammaln(m / 2) - np.log(np.sqrt(m / 2)) - dist.gammaln((m - 1) / 2))
    return np.where(m > 1, out, np.nan)


def escalc(
    measure: str,
    data: pd.DataFrame | None = None,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    m1i: Any = None,
    m2i: Any = None,
    sd1i: Any = None,
    sd2i: Any = None,
    xi: Any = None,
    ni: Any = None,
    ri: Any = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
) -> pd.DataFrame:
    """Compute effect sizes ``yi`` and sampling variances ``vi`` (metafor ``escalc``).

    Columns may be arrays, Series, or names of columns of ``data``. Meanings are metafor's:

    * ``MD``, ``SMD``, ``ROM``: group 1 ``m1i, sd1i, n1i`` versus group 2 ``m2i, sd2i, n2i``.
      SMD is Hedges' g (exact correction factor) with metafor's default large-sample variance
      ``1/n1i + 1/n2i + yi^2 / (2 (n1i + n2i))``; ROM is ``log(m1i / m2i)``.
    * ``RR``, ``OR`` (log scale), ``RD``: 2x2 tables ``ai, bi`` (group 1 events / non-events),
      ``ci, di`` (group 2); ``bi``/``di`` may be given as group sizes ``n1i``/``n2i``. With
      ``to="only0"`` (default) ``add`` (0.5) is added to every cell of a table with a zero cell;
      ``"all"`` adds it to every table, ``"if0all"`` to every table if any has a zero cell,
      ``"none"`` never. Double-zero tables are kept unless ``drop00=True``.
    * ``PR``, ``PLO``: single-arm proportions ``xi`` events of ``ni`` (raw and logit), with the
      same correction rule applied to ``xi`` and ``ni - xi``.
    * ``MC``, ``SMCR``, ``SMCC``: one group measured twice, ``yi = m1i - m2i`` (put the
      follow-up in ``m1i, sd1i`` and the baseline in ``m2i, sd2i`` for change from baseline),
      ``ni`` patients, pre-post correlation ``ri`` (a scalar for every study or one value per
      study; missing values and ``ri=None`` use 0.5). SMCC standardises by the SD of the
      change, SMCR by ``sd1i`` (metafor's raw-score standardisation).

    Returns a DataFrame (index of ``data``, or of the first Series given) with ``yi``, ``vi``,
    ``reason`` (empty when computed) and, where relevant, ``corrected`` (a continuity correction
    was added) or ``ri`` (the correlation used).
    """
    m = str(measure).upper()
    if m not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; expected one of {', '.join(MEASURES)}")
    if to not in CORRECTION_RULES:
        raise ValueError(f"to must be one of {CORRECTION_RULES}, got {to!r}")
    given = {
        name: _resolve(data, value)
        for name, value in zip(
            COLUMN_NAMES,
            (ai, bi, ci, di, n1i, n2i, m1i, m2i, sd1i, sd2i, xi, ni, ri),
            strict=True,
        )
        if value is not None
    }
    sized = [v for k, v in given.items() if k != "ri" and np.ndim(v) > 0]
    if data is not None:
        n = len(data)
    elif sized:
        n = len(sized[0])
    else:
        raise ValueError("no data columns given")
    index = _index_of(data, given, n)
    cols = {name: _column(name, value, n) for name, value in given.items()}
    reasons = _Reasons(n)

    if m in TWO_BY_TWO:
        out = _two_by_two(m, cols, n, reasons, add, to, drop00)
    elif m in PROPORTIONS:
        out = _proportion(m, cols, n, reasons, add, to)
    elif m in TWO_GROUP_MEANS:
        out = _two_group(m, cols, n, reasons)
    else:
        out = _pre_post(m, cols, n, reasons)

    ok = reasons.ok
    yi = np.where(ok, out.pop("yi"), np.nan)
    vi = np.where(ok, out.pop("vi"), np.nan)
    frame = pd.DataFrame({"yi": yi, "vi": vi}, index=index)
    for name, values in out.items():
        frame[name] = values
    frame["reason"] = reasons.text.astype(str)
    return frame


def _require(
    cols: dict[str, Array],
    names: tuple[str, ...],
    n: int,
    reasons: _Reasons,
    shown: dict[str, str] | None = None,
) -> None:
    """Flag rows where a required column is absent or NaN (``shown``: names for messages)."""
    shown = shown or {}
    missing_cols = [c for c in names if c not in cols]
    if missing_cols:
        raise ValueError(f"missing argument(s) {', '.join(missing_cols)} for this measure")
    miss = np.zeros((n, len(names)), dtype=bool)
    for j, c in enumerate(names):
        miss[:, j] = np.isnan(cols[c])
    for row in np.flatnonzero(miss.any(axis=1)):
        reasons.flag(
            np.arange(n) == row,
            "missing " + ", ".join(shown.get(c, c) for j, c in enumerate(names) if miss[row, j]),
        )


def _correction(has_zero: NDArray[np.bool_], ok: NDArray[np.bool_], to: str) -> NDArray[np.bool_]:
    """Which rows get ``add`` under metafor's ``to`` rule."""
    if to == "all":
        return ok.copy()
    if to == "only0":
        return has_zero & ok
    if to == "if0all":
        return ok & bool((has_zero & ok).any())
    return np.zeros_like(ok)


def _two_by_two(
    m: str,
    cols: dict[str, Array],
    n: int,
    reasons: _Reasons,
    add: float,
    to: str,
    drop00: bool,
) -> dict[str, Any]:
    if "ai" not in cols or "ci" not in cols:
        raise ValueError(f"{m} needs ai and ci, plus bi or n1i and di or n2i")
    a, c = cols["ai"], cols["ci"]
    given_cells = {c for c in ("bi", "di") if c in cols}
    for name, other, total in (("bi", "ai", "n1i"), ("di", "ci", "n2i")):
        given_cell = cols.get(name)
        if given_cell is None and total not in cols:
            raise ValueError(f"{m} needs {name} or {total}")
        if total in cols:
            derived = cols[total] - cols[other]
            if given_cell is not None:
                clash = ~np.isnan(given_cell) & ~np.isnan(derived) & (given_cell != derived)
                reasons.flag(clash, f"{total} is not {other} + {name}")
                cols[name] = np.where(np.isnan(given_cell), derived, given_cell)
            else:
                cols[name] = derived
    b, d = cols["bi"], cols["di"]
    # Name the column the user gave: a missing bi derived from n1i is a missing n1i.
    shown = {
        "bi": "bi" if "n1i" not in cols else ("n1i" if "bi" not in given_cells else "bi/n1i"),
        "di": "di" if "n2i" not in cols else ("n2i" if "di" not in given_cells else "di/n2i"),
    }
    _require(cols, ("ai", "bi", "ci", "di"), n, reasons, shown)
    with np.errstate(invalid="ignore"):
        reasons.flag((a < 0) | (c < 0), "negative event count")
        reasons.flag((b < 0) | (d < 0), "more events than patients (or a negative count)")
        reasons.flag((a + b <= 0) | (c + d <= 0), "a group has no patients")
        both_zero = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    if drop00:
        reasons.flag(both_zero, "double-zero study dropped (drop00=True)")
    ok = reasons.ok
    with np.errstate(invalid="ignore"):
        has_zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    corrected = _correction(has_zero, ok, to)
    inc = np.where(corrected, add, 0.0)
    a, b, c, d = a + inc, b + inc, c + inc, d + inc
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        if m != "RD":
            log_of_zero = (a == 0) | (c == 0)
            if m == "OR":
                log_of_zero |= (b == 0) | (d == 0)
            reasons.flag(ok & log_of_zero, f"zero cell and no continuity correction (to={to!r})")
        p1, p2 = a / n1, c / n2
        if m == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif m == "OR":
            yi = np.log(a / b) - np.log(c / d)
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        else:
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    return {"yi": yi, "vi": vi, "corrected": corrected}


def _proportion(
    m: str, cols: dict[str, Array], n: int, reasons: _Reasons, add: float, to: str
) -> dict[str, Any]:
    _require(cols, ("xi", "ni"), n, reasons)
    x, size = cols["xi"], cols["ni"]
    with np.errstate(invalid="ignore"):
        reasons.flag(size <= 0, "ni must be > 0")
        reasons.flag(x < 0, "negative event count")
        reasons.flag(x > size, "xi > ni")
    ok = reasons.ok
    mi = size - x
    with np.errstate(invalid="ignore"):
        corrected = _correction((x == 0) | (mi == 0), ok, to)
    inc = np.where(corrected, add, 0.0)
    x, mi = x + inc, mi + inc
    size = x + mi
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / size
        if m == "PR":
            yi, vi = p, p * (1 - p) / size
        else:
            reasons.flag(
                ok & ((x == 0) | (mi == 0)), f"0 or all events and no correction (to={to!r})"
            )
            yi, vi = np.log(x / mi), 1 / x + 1 / mi
    return {"yi": yi, "vi": vi, "corrected": corrected}


def _two_group(m: str, cols: dict[str, Array], n: int, reasons: _Reasons) -> dict[str, Any]:
    names = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    _require(cols, names, n, reasons)
    m1, sd1, n1, m2, sd2, n2 = (cols[c] for c in names)
    with np.errstate(invalid="ignore", divide="ignore"):
        reasons.flag((n1 <= 0) | (n2 <= 0), "group sizes must be > 0")
        reasons.flag((sd1 < 0) | (sd2 < 0), "negative standard deviation")
        if m == "MD":
            yi = m1 - m2
            vi = sd1**2 / n1 + sd2**2 / n2
        elif m == "SMD":
            dfree = n1 + n2 - 2
            reasons.flag(dfree <= 1, "SMD needs n1i + n2i > 3")
            sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / dfree)
            reasons.flag(sdp == 0, "pooled SD is 0")
            yi = _lcm_factor(dfree) * (m1 - m2) / sdp
            vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
        else:
            reasons.flag((m1 <= 0) | (m2 <= 0), "ROM needs positive means")
            yi = np.log(m1 / m2)
            vi = sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
    return {"yi": yi, "vi": vi}


def _pre_post(m: str, cols: dict[str, Array], n: int, reasons: _Reasons) -> dict[str, Any]:
    names = ("m1i", "m2i", "sd1i", "ni") if m == "SMCR" else ("m1i", "m2i", "sd1i", "sd2i", "ni")
    _require(cols, names, n, reasons)
    r = cols.get("ri", np.full(n, np.nan))
    r = np.where(np.isnan(r), DEFAULT_RI, r)
    m1, m2, sd1, size = cols["m1i"], cols["m2i"], cols["sd1i"], cols["ni"]
    sd2 = cols.get("sd2i", np.full(n, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        reasons.flag(size <= 0, "ni must be > 0")
        reasons.flag(np.abs(r) > 1, "ri must be within [-1, 1]")
        reasons.flag((sd1 < 0) | ((m != "SMCR") & (sd2 < 0)), "negative standard deviation")
        if m == "MC":
            yi = m1 - m2
            vi = (sd1**2 + sd2**2 - 2 * r * sd1 * sd2) / size
        else:
            reasons.flag(size <= 2, f"{m} needs ni > 2")
            cm = _lcm_factor(size - 1)
            if m == "SMCC":
                sdd = np.sqrt(sd1**2 + sd2**2 - 2 * r * sd1 * sd2)
                reasons.flag(sdd == 0, "SD of the change is 0")
                yi = cm * (m1 - m2) / sdd
                vi = 1 / size + yi**2 / (2 * size)
            else:
                reasons.flag(sd1 == 0, "sd1i is 0")
                yi = cm * (m1 - m2) / sd1
                vi = 2 * (1 - r) / size + yi**2 / (2 * size)
    return {"yi": yi, "vi": vi, "ri": r}


# -- median / quartiles / range -> mean and SD ------------------------------------------


def conv_fivenum(
    min: Any = None,  # metafor's argument names (shadow the builtins here only)
    q1: Any = None,
    median: Any = None,
    q3: Any = None,
    max: Any = None,
    n: Any = None,
    *,
    test: bool = True,
) -> pd.DataFrame:
    """Estimate means and SDs from five-number summaries (metafor ``conv.fivenum``, normal data).

    Our implementation of the published formulas metafor's default ``method="luo/wan/shi"``
    uses (``dist="norm"``):

    * case 1, min / median / max: mean by Luo et al. (2018) eq. 7,
      ``w = 4 / (4 + n^0.75)``, ``mean = w (min + max) / 2 + (1 - w) median``; SD by Wan et al.
      (2014) eq. 9, ``(max - min) / xi(n)`` with ``xi(n) = 2 Phi^-1((n - 0.375) / (n + 0.25))``;
    * case 2, q1 / median / q3: mean by Luo eq. 11, ``w = 0.7 + 0.39 / n``,
      ``mean = w (q1 + q3) / 2 + (1 - w) median``; SD by Wan eq. 16, ``(q3 - q1) / eta(n)`` with
      ``eta(n) = 2 Phi^-1((0.75 n - 0.125) / (n + 0.25))``;
    * case 3, all five: mean by Luo eq. 15, ``w1 = 2.2 / (2.2 + n^0.75)``,
      ``w2 = 0.7 - 0.72 / n^0.55``, ``mean = w1 (min + max) / 2 + w2 (q1 + q3) / 2 +
      (1 - w1 - w2) median``; SD by Shi et al. (2020) eq. 10, ``w = 1 / (1 + 0.07 n^0.6)``,
      ``sd = w (max - min) / xi(n) + (1 - w) (q3 - q1) / eta(n)``.

    The median is not needed for the SD (the mean is then NaN). Rows with ``n < 5`` are not
    converted. With ``test=True`` (metafor's default) a row whose values look skewed by the
    tests of Shi et al. (2023) is not converted either. Returns ``mean``, ``sd``, ``case``,
    ``tval``, ``crit``, ``skewed`` and ``reason`` (why no estimate).
    """
    given = {"min": min, "q1": q1, "median": median, "q3": q3, "max": max, "n": n}
    sized = [v for v in given.values() if v is not None and np.ndim(v) > 0]
    size = len(sized[0]) if sized else 1
    index = _index_of(None, {k: v for k, v in given.items() if v is not None}, size)
    full = {
        k: (_column(k, v, size) if v is not None else np.full(size, np.nan))
        for k, v in given.items()
    }
    reasons = _Reasons(size)
    nn = full["n"]
    reasons.flag(np.isnan(nn), "missing n")
    with np.errstate(invalid="ignore"):
        reasons.flag(nn < 5, "n < 5")
    # metafor drops rows with n < 5 before anything else (no case, no skewness test)
    excluded = ~reasons.ok
    lo, a, med, b, hi = (
        np.where(excluded, np.nan, full[k]) for k in ("min", "q1", "median", "q3", "max")
    )
    with np.errstate(invalid="ignore"):
        vals = np.column_stack([lo, a, med, b, hi])
        # Order over the values present (NaNs skipped), as R's is.unsorted(na.rm = TRUE).
        running_max = np.fmax.accumulate(vals, axis=1)
        unordered = (vals[:, 1:] < running_max[:, :-1]).any(axis=1)
    reasons.flag(unordered, "values not ordered as min <= q1 <= median <= q3 <= max")
    has = {k: ~np.isnan(x) for k, x in (("min", lo), ("q1", a), ("q3", b), ("max", hi))}
    case1 = has["min"] & has["max"] & ~has["q1"] & ~has["q3"]
    case2 = has["q1"] & has["q3"] & ~has["min"] & ~has["max"]
    case3 = has["min"] & has["max"] & has["q1"] & has["q3"]
    reasons.flag(~(case1 | case2 | case3), "needs min and max, q1 and q3, or all four")
    case = np.where(case1, 1, np.where(case2, 2, np.where(case3, 3, 0)))

    with np.errstate(invalid="ignore", divide="ignore"):
        xi = 2 * dist.ndtri((nn - 0.375) / (nn + 0.25))
        eta = 2 * dist.ndtri((0.75 * nn - 0.125) / (nn + 0.25))
        # Skewness tests (Shi et al. 2023) and their critical values.
        t1 = np.abs((lo + hi - 2 * med) / (hi - lo))
        t2 = np.abs((a + b - 2 * med) / (b - a))
        t3 = np.maximum(2.65 * np.log(0.6 * nn) / np.sqrt(nn) * t1, t2)
        tval = np.select([case1, case2, case3], [t1, t2, t3], np.nan)
        crit = np.select(
            [case1, case2, case3],
            [
                1 / np.log(nn + 9) + 2.5 / (nn + 1),
                2.65 / np.sqrt(nn) - 6 / nn**2,
                3 / np.sqrt(nn) - 40 / nn**3,
            ],
            np.nan,
        )
        skewed = tval >= crit  # NaN compares False, as R's isTRUE()
        if test:
            reasons.flag(skewed, "skewness test significant (test=True)")
        w1 = 4 / (4 + nn**0.75)
        mean1 = w1 * (lo + hi) / 2 + (1 - w1) * med
        sd1 = (hi - lo) / xi
        w2 = 0.7 + 0.39 / nn
        mean2 = w2 * (a + b) / 2 + (1 - w2) * med
        sd2 = (b - a) / eta
        w31 = 2.2 / (2.2 + nn**0.75)
        w32 = 0.7 - 0.72 / nn**0.55
        mean3 = w31 * (lo + hi) / 2 + w32 * (a + b) / 2 + (1 - w31 - w32) * med
        ws = 1 / (1 + 0.07 * nn**0.6)
        sd3 = ws * (hi - lo) / xi + (1 - ws) * (b - a) / eta
    ok = reasons.ok
    mean = np.where(ok, np.select([case1, case2, case3], [mean1, mean2, mean3], np.nan), np.nan)
    sd = np.where(ok, np.select([case1, case2, case3], [sd1, sd2, sd3], np.nan), np.nan)
    return pd.DataFrame(
        {
            "mean": mean,
            "sd": sd,
            "case": case,
            "tval": tval,
            "crit": crit,
            "skewed": skewed,
            "reason": reasons.text.astype(str),
        },
        index=index,
    )


# -- confidence intervals and p-values -> standard errors --------------------------------


def _crit(level: float, df: Any, size: int) -> Array:
    level = float(level)
    if level >= 1:
        level /= 100.0
    q = 1 - (1 - level) / 2
    if df is None:
        return np.full(size, dist.ndtri(q))
    dfa = _column("df", df, size)
    return np.where(np.isnan(dfa), dist.ndtri(q), dist.stdtrit(dfa, q))


def se_from_ci(lb: Any, ub: Any, level: float = 0.95, df: Any = None) -> Array:
    """Standard error from a symmetric (Wald-type) CI: ``(ub - lb) / (2 z_{1-a/2})``.

    Give bounds on the analysis scale (e.g. log for ratios). With ``df`` the t quantile is
    used instead of the normal one (scalar or one value per row; NaN means normal).
    """
    lo = np.atleast_1d(np.asarray(lb, dtype=float))
    hi = np.atleast_1d(np.asarray(ub, dtype=float))
    return (hi - lo) / (2 * _crit(level, df, lo.size))


def se_from_pval(est: Any, pval: Any, df: Any = None) -> Array:
    """Standard error from an estimate and its two-sided p-value: ``|est| / z_{1-p/2}``.

    With ``df`` the statistic is taken as t with ``df`` degrees of freedom.
    """
    e = np.atleast_1d(np.asarray(est, dtype=float))
    p = np.atleast_1d(np.asarray(pval, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = dist.ndtri(1 - p / 2)
        if df is not None:
            dfa = _column("df", df, e.size)
            stat = np.where(np.isnan(dfa), stat, dist.stdtrit(dfa, 1 - p / 2))
        return np.abs(e) / stat


def conv_wald(
    out: Any = None,
    ci_lb: Any = None,
    ci_ub: Any = None,
    pval: Any = None,
    *,
    level: float = 0.95,
    df: Any = None,
    transf: str | Callable[[Array], Array] | None = None,
    check: bool = True,
) -> pd.DataFrame:
    """Effect sizes and sampling variances from estimates with CIs or p-values (``conv.wald``).

    ``vi = ((ci_ub - ci_lb) / (2 z))^2`` where the CI is available, else
    ``vi = (yi / z_{1-p/2})^2`` from the two-sided p-value (the CI is preferred when both are
    given, as in metafor). ``transf`` ("log" or a function) is applied to ``out`` and the CI
    bounds first, e.g. to move a ratio and its CI to the log scale. ``df`` switches to t
    quantiles. With ``check=True`` rows whose estimate is not near the CI midpoint (more than
    10% of the CI width away; metafor warns) are flagged in ``ci_asymmetric``.

    Returns ``yi``, ``vi``, ``sei``, ``source`` (``"ci"``, ``"pval"`` or ``""``),
    ``ci_asymmetric`` and ``reason``.
    """
    given = {"out": out, "ci_lb": ci_lb, "ci_ub": ci_ub, "pval": pval}
    sized = [v for v in given.values() if v is not None and np.ndim(v) > 0]
    size = len(sized[0]) if sized else 1
    index = _index_of(None, {k: v for k, v in given.items() if v is not None}, size)
    cols = {
        k: (_column(k, v, size) if v is not None else np.full(size, np.nan))
        for k, v in given.items()
    }
    f: Callable[[Array], Array] | None
    if transf == "log":
        f = np.log
    elif transf is None or callable(transf):
        f = transf
    else:
        raise ValueError(f"transf must be None, 'log' or a function, got {transf!r}")
    yi, lb, ub, p = cols["out"], cols["ci_lb"], cols["ci_ub"], cols["pval"]
    with np.errstate(divide="ignore", invalid="ignore"):
        if f is not None:
            yi, lb, ub = f(yi), f(lb), f(ub)
        reasons = _Reasons(size)
        reasons.flag((p < 0) | (p > 1), "p-value outside [0, 1]")
        from_ci = ~np.isnan(lb) & ~np.isnan(ub)
        reasons.flag(from_ci & (ub < lb), "ci_ub < ci_lb")
        se_ci = se_from_ci(lb, ub, level, df)
        se_p = se_from_pval(yi, p, df)
        from_p = ~from_ci & ~np.isnan(p) & ~np.isnan(yi)
        reasons.flag(from_p & (p >= 1), "p = 1: the SE cannot be recovered")
        reasons.flag(from_p & (p <= 0), "p = 0: the SE cannot be recovered")
        reasons.flag(~from_ci & ~from_p, "needs ci_lb and ci_ub, or out and pval")
        sei = np.where(from_ci, se_ci, se_p)
        ok = reasons.ok
        sei = np.where(ok, sei, np.nan)
        asym = (
            from_ci & (np.abs((ub + lb) / 2 - yi) / (ub - lb) > 0.1)
            if check
            else np.zeros(size, bool)
        )
    source = np.where(ok & from_ci, "ci", np.where(ok & from_p, "pval", ""))
    return pd.DataFrame(
        {
            "yi": yi,
            "vi": sei**2,
            "sei": sei,
            "source": source,
            "ci_asymmetric": asym,
            "reason": reasons.text.astype(str),
        },
        index=index,
    )
