"""How robust is a pooled result? Sensitivity analyses on the included effects of a Question.

Every table here is computed by :mod:`evidence.meta` (leave-one-out, cumulative, Egger, Begg,
trim and fill, one ``rma`` per estimator and CI method); this module only picks the studies,
labels them and says where the *conclusion* changes:

- the conclusion of an interval is ``"lower"`` or ``"higher"`` when the 95% CI excludes the
  null (0 on the analysis scale: a mean difference or change of 0, a log ratio of 0), else
  ``"unclear"``; proportions (``PLO``) have no null, so their conclusion is ``"n/a"``;
- a row ``changes`` when its conclusion differs from the reference model's (the CI now
  includes or excludes the null) or its estimate has the opposite sign (direction flips).

``scope`` picks the studies: ``"all"`` (every included effect, across cell groups) or one cell
group. Rows are study arms (a study with two treated arms contributes two effects), labelled
``"<label> (<arm>)"`` when a study has more than one arm in scope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evidence.compare import NULL_VALUE, TESTS
from evidence.meta import (
    METHODS,
    RanktestResult,
    RegtestResult,
    RMAResult,
    TrimfillResult,
    cumul,
    leave1out,
    ranktest,
    regtest,
    rma,
    trimfill,
)

SCOPE_ALL = "all"
#: Below this many studies the funnel-plot tests have little power (Cochrane Handbook 13.3.5).
FEW_STUDIES = 10

STEP_COLUMNS = (
    "study",
    "citekey",
    "group",
    "year",
    "k",
    "estimate",
    "ci_lb",
    "ci_ub",
    "pval",
    "tau2",
    "i2",
    "pi_lb",
    "pi_ub",
    "conclusion",
    "direction_flips",
    "changes",
)
GRID_COLUMNS = (
    "method",
    "test",
    "k",
    "estimate",
    "ci_lb",
    "ci_ub",
    "pval",
    "tau2",
    "i2",
    "pi_lb",
    "pi_ub",
    "conclusion",
    "direction_flips",
    "changes",
    "reference",
    "error",
)


def analysis_null(measure: str) -> float:
    """The value of "no effect" on the analysis scale (NaN for proportions: no null)."""
    null = NULL_VALUE.get(measure, 0.0)
    if measure in ("OR", "RR"):
        return math.log(null)
    return null


def conclusion(ci_lb: float, ci_ub: float, null: float) -> str:
    """``"lower"``/``"higher"`` when the CI excludes the null, ``"unclear"`` when it does not."""
    if math.isnan(null):
        return "n/a"
    if not (math.isfinite(ci_lb) and math.isfinite(ci_ub)):
        return "unclear"
    if ci_ub < null:
        return "lower"
    if ci_lb > null:
        return "higher"
    return "unclear"


def _sign(x: float, null: float) -> int:
    base = 0.0 if math.isnan(null) else null
    return 0 if not math.isfinite(x) or x == base else (1 if x > base else -1)


def _flags(
    estimate: float, ci_lb: float, ci_ub: float, null: float, ref: tuple[str, int] | None
) -> tuple[str, bool, bool]:
    """Conclusion, direction flip and change against the reference (conclusion, sign)."""
    concl = conclusion(ci_lb, ci_ub, null)
    if ref is None or math.isnan(null):
        return concl, False, False
    sign = _sign(estimate, null)
    flips = sign != 0 and ref[1] != 0 and sign != ref[1]
    return concl, flips, flips or concl != ref[0]


# --- which studies --------------------------------------------------------------------------


def scopes(frame: pd.DataFrame) -> list[str]:
    """``"all"`` and every group with at least one included effect, in the frame's order."""
    included = frame[frame["included"]]
    return [SCOPE_ALL, *dict.fromkeys(included["group"])]


def studies(frame: pd.DataFrame, scope: str = SCOPE_ALL) -> pd.DataFrame:
    """The included effects in ``scope``, indexed by a unique study label."""
    rows = frame[frame["included"]]
    if scope != SCOPE_ALL:
        rows = rows[rows["group"] == scope]
    rows = rows.copy()
    several = rows["citekey"].duplicated(keep=False)
    labels = np.where(several, rows["label"] + " (" + rows["arm"].astype(str) + ")", rows["label"])
    rows.index = pd.Index(_unique(list(labels)), name="study")
    return rows


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def _measure(frame: pd.DataFrame) -> str:
    measures = frame.loc[frame["included"], "measure"].dropna().unique()
    return str(measures[0]) if len(measures) else "MD"


@dataclass(frozen=True)
class Reference:
    """The model every sensitivity row is compared with: all studies in scope."""

    result: RMAResult | None
    conclusion: str
    sign: int
    null: float
    error: str = ""


def reference(
    frame: pd.DataFrame, scope: str = SCOPE_ALL, method: str = "REML", test: str = "z"
) -> Reference:
    null = analysis_null(_measure(frame))
    rows = studies(frame, scope)
    if rows.empty:
        return Reference(None, "n/a", 0, null, "no included study in scope")
    try:
        result = rma(rows["yi"], rows["vi"], method=method, test=test)
    except ValueError as exc:
        return Reference(None, "n/a", 0, null, str(exc))
    return Reference(
        result,
        conclusion(result.ci_lb, result.ci_ub, null),
        _sign(result.estimate, null),
        null,
    )


# --- leave-one-out and cumulative -----------------------------------------------------------


def _steps(table: pd.DataFrame, rows: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    """Attach study descriptors and conclusion flags to a leave1out/cumul table."""
    key = None if ref.result is None else (ref.conclusion, ref.sign)
    out = pd.DataFrame(index=pd.RangeIndex(len(table)), columns=list(STEP_COLUMNS))
    out["study"] = list(table.index)
    meta = rows.loc[list(table.index)]
    out["citekey"] = meta["citekey"].to_numpy()
    out["group"] = meta["group"].to_numpy()
    out["year"] = meta["year"].to_numpy()
    for column in ("k", "estimate", "ci_lb", "ci_ub", "pval", "tau2", "i2", "pi_lb", "pi_ub"):
        out[column] = table[column].to_numpy()
    flags = [
        _flags(e, lb, ub, ref.null, key)
        for e, lb, ub in zip(out["estimate"], out["ci_lb"], out["ci_ub"], strict=True)
    ]
    out["conclusion"] = [f[0] for f in flags]
    out["direction_flips"] = [f[1] for f in flags]
    out["changes"] = [f[2] for f in flags]
    out["k"] = out["k"].astype(int)
    for column in ("estimate", "ci_lb", "ci_ub", "pval", "tau2", "i2", "pi_lb", "pi_ub"):
        out[column] = out[column].astype(float)
    out["direction_flips"] = out["direction_flips"].astype(bool)
    out["changes"] = out["changes"].astype(bool)
    return out


def _empty(reason: str) -> pd.DataFrame:
    frame = pd.DataFrame(columns=list(STEP_COLUMNS))
    frame.attrs["reason"] = reason
    return frame


def leave_one_out(
    frame: pd.DataFrame, scope: str = SCOPE_ALL, method: str = "REML", test: str = "z"
) -> pd.DataFrame:
    """One row per omitted study arm: the model without it, flagged where the conclusion changes.

    ``attrs["reason"]`` says why the table is empty (fewer than 2 studies, a model error).
    """
    rows = studies(frame, scope)
    if len(rows) < 2:
        return _empty(f"leave-one-out needs at least 2 study arms; {len(rows)} in scope")
    ref = reference(frame, scope, method, test)
    try:
        table = leave1out(rows["yi"], rows["vi"], method=method, test=test)
    except ValueError as exc:
        return _empty(str(exc))
    out = _steps(table, rows, ref)
    out.attrs["reason"] = ""
    return out


def cumulative(
    frame: pd.DataFrame, scope: str = SCOPE_ALL, method: str = "REML", test: str = "z"
) -> pd.DataFrame:
    """Cumulative meta-analysis by publication year (ties: the frame's order): row i pools the
    first i + 1 study arms. The last row is the full model."""
    rows = studies(frame, scope)
    if rows.empty:
        return _empty("no included study in scope")
    ref = reference(frame, scope, method, test)
    year = rows["year"].astype(float).fillna(math.inf)  # undated studies last
    try:
        table = cumul(rows["yi"], rows["vi"], order=year, method=method, test=test)
    except ValueError as exc:
        return _empty(str(exc))
    out = _steps(table, rows, ref)
    out.attrs["reason"] = ""
    return out


# --- funnel, Egger, Begg, trim and fill -----------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    """What a funnel plot shows, with the small-study tests and why any of them is missing.

    ``points`` has one row per study arm (``study`` label, ``yi``, ``sei``, ``group``, ...);
    ``estimate`` is the reference model's estimate (the funnel's centre line). ``few_studies``
    is True when k < 10: the tests are then underpowered and should not be read as evidence
    for or against small-study effects.
    """

    measure: str
    k: int
    points: pd.DataFrame
    estimate: float
    method: str
    egger: RegtestResult | None
    begg: RanktestResult | None
    trimfill: TrimfillResult | None
    few_studies: bool
    notes: tuple[str, ...]


def funnel(
    frame: pd.DataFrame, scope: str = SCOPE_ALL, method: str = "REML", test: str = "z"
) -> Funnel:
    rows = studies(frame, scope)
    k = len(rows)
    notes: list[str] = []
    ref = reference(frame, scope, method, test)
    if ref.error and k:
        notes.append(f"model: {ref.error}")
    egger = begg = filled = None
    if k < 3:
        notes.append(f"Egger's and Begg's tests need at least 3 study arms; {k} in scope.")
    else:
        try:
            egger = regtest(rows["yi"], rows["vi"], method=method, test=test)
        except ValueError as exc:
            notes.append(f"Egger's test: {exc}")
        try:
            begg = ranktest(rows["yi"], rows["vi"])
        except ValueError as exc:
            notes.append(f"Begg's test: {exc}")
    if k >= 2:
        try:
            filled = trimfill(rows["yi"], rows["vi"], method=method, test=test)
        except ValueError as exc:
            notes.append(f"trim and fill: {exc}")
    else:
        notes.append(f"trim and fill needs at least 2 study arms; {k} in scope.")
    few = k < FEW_STUDIES
    if few and k:
        notes.insert(
            0,
            f"Only {k} study {'arm' if k == 1 else 'arms'}: with fewer than {FEW_STUDIES} the "
            "funnel-plot tests have too little power to detect or rule out small-study effects.",
        )
    points = rows[["citekey", "label", "arm", "group", "year", "n", "yi", "vi", "sei"]].copy()
    points.insert(0, "study", rows.index)
    points = points.reset_index(drop=True)
    return Funnel(
        measure=_measure(frame),
        k=k,
        points=points,
        estimate=ref.result.estimate if ref.result is not None else math.nan,
        method=method,
        egger=egger,
        begg=begg,
        trimfill=filled,
        few_studies=few,
        notes=tuple(notes),
    )


# --- estimator x CI-method grid -------------------------------------------------------------


def estimator_grid(
    frame: pd.DataFrame,
    scope: str = SCOPE_ALL,
    method: str = "REML",
    test: str = "z",
    methods: tuple[str, ...] = METHODS,
    tests: tuple[str, ...] = TESTS,
) -> pd.DataFrame:
    """One row per estimator x CI method; ``changes`` flags a conclusion that differs from the
    reference model (``method``, ``test``). A model that cannot be fitted has an ``error``."""
    rows = studies(frame, scope)
    null = analysis_null(_measure(frame))
    if test not in tests:  # e.g. adhoc: the reference model is always one of the grid's
        tests = (*tests, test)
    records: list[dict[str, object]] = []
    for m in methods:
        for t in tests:
            record: dict[str, object] = dict.fromkeys(GRID_COLUMNS, math.nan)
            record |= {"method": m, "test": t, "k": len(rows), "error": ""}
            record["reference"] = (m, t) == (method, test)
            if rows.empty:
                record["error"] = "no included study in scope"
            else:
                try:
                    r = rma(rows["yi"], rows["vi"], method=m, test=t)
                except ValueError as exc:
                    record["error"] = str(exc)
                else:
                    for c in ("estimate", "ci_lb", "ci_ub", "pval", "tau2", "i2", "pi_lb", "pi_ub"):
                        record[c] = getattr(r, c)
            records.append(record)
    out = pd.DataFrame.from_records(records, columns=list(GRID_COLUMNS))
    ref_rows = out[out["reference"]]
    ref = None
    if len(ref_rows) and not ref_rows["error"].iloc[0]:
        r0 = ref_rows.iloc[0]
        ref = (conclusion(r0["ci_lb"], r0["ci_ub"], null), _sign(r0["estimate"], null))
    flags = [
        _flags(e, lb, ub, null, ref) if not err else ("n/a", False, False)
        for e, lb, ub, err in zip(
            out["estimate"], out["ci_lb"], out["ci_ub"], out["error"], strict=True
        )
    ]
    out["conclusion"] = [f[0] for f in flags]
    out["direction_flips"] = [f[1] for f in flags]
    out["changes"] = [f[2] for f in flags]
    out["k"] = out["k"].astype(int)
    out["reference"] = out["reference"].astype(bool)
    return out


def describe_conclusion(value: str) -> str:
    """Words for a conclusion code (used by tables and hover text)."""
    words = {
        "lower": "CI below the null",
        "higher": "CI above the null",
        "unclear": "CI includes the null",
        "n/a": "no null value",
    }
    return words.get(value, value)


__all__ = [
    "FEW_STUDIES",
    "GRID_COLUMNS",
    "SCOPE_ALL",
    "STEP_COLUMNS",
    "Funnel",
    "Reference",
    "analysis_null",
    "conclusion",
    "cumulative",
    "describe_conclusion",
    "estimator_grid",
    "funnel",
    "leave_one_out",
    "reference",
    "scopes",
    "studies",
]
