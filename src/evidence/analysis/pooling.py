"""Pooling the included effects per cell group, the test for subgroup differences, the
optional across-therapy average and the safeguards (pre-post correlation, visits, Knapp-Hartung, n).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from evidence.analysis.question import (
    CELL_THERAPY_GROUPS,
    POOL_TESTS,
    Question,
    one_of,
)
from evidence.meta import RMAResult, SubgroupResult, difference_test, rma, subgroups
from evidence.meta.estimators import METHODS

#: Correlations at which a within-arm analysis is re-run to see whether its conclusion holds.
RI_SENSITIVITY = (0.2, 0.8)
#: Visits further apart than this (months) in one pool are mixed timepoints: the summary says so.
MIXED_VISITS_MONTHS = 6.0


@dataclass(frozen=True)
class Pooled:
    """Per-group pooled results, the test for subgroup differences and the safeguards.

    ``overall`` is None unless ``pool(..., overall=True)``: it then pools the cell-therapy arms
    only and ``overall_label`` says what that average is. ``subgroups.reliable`` /
    ``subgroups.reason`` say whether the test may be read as evidence of a difference.
    ``ri_sensitivity`` (within-arm changes computed from levels only) has the group results at
    the correlations of :data:`RI_SENSITIVITY` beside the chosen one; ``ri_flip`` is True when
    a conclusion changes with the correlation. ``notes`` are sentences a view shows with the
    result (mixed visits, Knapp-Hartung edge cases, assumed n).
    """

    question: Question
    method: str
    test: str
    effects: pd.DataFrame
    groups: dict[str, RMAResult | None]
    subgroups: SubgroupResult | None
    overall: RMAResult | None
    overall_label: str = ""
    ri_sensitivity: pd.DataFrame | None = None
    ri_flip: bool = False
    notes: tuple[str, ...] = ()

    @property
    def included(self) -> pd.DataFrame:
        return self.effects[self.effects["included"]]


OVERALL_LABEL = (
    "Average across cell therapies (different interventions pooled; control and G-CSF-alone "
    "arms never included): not an estimate of any one therapy"
)
_PRE_POST = "baseline and follow-up levels"


def pool(
    effects_frame: pd.DataFrame,
    question: Question,
    method: str = "REML",
    test: str = "z",
    tau2: str | None = None,
    overall: bool = False,
) -> Pooled:
    """Pool the included effects per cell group with :func:`evidence.meta.rma` ("subtotals
    only", as Cochrane advises when the subgroups are different interventions).

    A group with no included effect maps to None; the subgroup test needs two groups with at
    least one study each. ``test="z"``: RevMan's test (separate tau^2); ``"knha"``/``"adhoc"``:
    metafor's moderator F test. ``tau2`` overrides the test's convention ("separate" or
    "common"). ``overall=True`` adds an across-therapy average of the cell-therapy arms only.
    """
    one_of("method", method, METHODS)
    one_of("test", test, POOL_TESTS)
    included = _Included.of(effects_frame)
    groups = _fit_groups(included, included.vi, question.groups, method, test)
    sub = _difference(included, groups, question, method, test, tau2)
    overall_result = None
    if overall:
        cells = np.array([g in CELL_THERAPY_GROUPS for g in included.group], dtype=bool)
        if cells.any():
            overall_result = rma(included.yi[cells], included.vi[cells], method=method, test=test)
    ri_frame, flip, ri_notes = _ri_sensitivity(included, groups, question, method, test, sub)
    notes = (
        *_visit_notes(included),
        *_knha_notes(included, groups, question, method, test),
        *_n_notes(included),
        *ri_notes,
    )
    return Pooled(
        question,
        method,
        test,
        effects_frame,
        groups,
        sub,
        overall_result,
        OVERALL_LABEL if overall_result is not None else "",
        ri_frame,
        flip,
        tuple(notes),
    )


@dataclass(frozen=True)
class _Included:
    """The included rows' columns as numpy arrays, taken once per :func:`pool`: a boolean
    mask of the frame per group and per check (hundreds of DataFrame lookups per control
    change) was most of pooling's time. ``None`` where the frame lacks the column."""

    yi: np.ndarray
    vi: np.ndarray
    group: np.ndarray
    basis: np.ndarray
    months: np.ndarray
    visit: np.ndarray
    n_assumed: np.ndarray
    sd1i: np.ndarray | None
    sd2i: np.ndarray | None
    n: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Included:
        mask = frame["included"].to_numpy(dtype=bool)

        def col(name: str) -> np.ndarray:
            return frame[name].to_numpy()[mask]

        assumed = (
            frame["n_assumed"].astype("boolean").fillna(False).astype(bool).to_numpy()[mask]
            if "n_assumed" in frame
            else np.zeros(int(mask.sum()), dtype=bool)
        )
        return cls(
            yi=col("yi"),
            vi=col("vi"),
            group=col("group"),
            basis=col("basis"),
            months=pd.to_numeric(frame["timepoint_months"], errors="coerce").to_numpy()[mask],
            visit=col("visit" if "visit" in frame else "timepoint"),
            n_assumed=assumed,
            sd1i=col("sd1i") if "sd1i" in frame else None,
            sd2i=col("sd2i") if "sd2i" in frame else None,
            n=col("n"),
        )

    def __len__(self) -> int:
        return len(self.yi)

    def groups_seen(self) -> list[str]:
        """The groups of the included rows, in order of first appearance."""
        return list(dict.fromkeys(self.group.tolist()))


def _fit_groups(
    included: _Included, vi: np.ndarray, names: Iterable[str], method: str, test: str
) -> dict[str, RMAResult | None]:
    groups: dict[str, RMAResult | None] = {}
    for group in names:
        part = included.group == group
        groups[group] = (
            rma(included.yi[part], vi[part], method=method, test=test) if part.any() else None
        )
    return groups


def _difference(
    included: _Included,
    groups: dict[str, RMAResult | None],
    question: Question,
    method: str,
    test: str,
    tau2: str | None,
) -> SubgroupResult | None:
    present = [g for g, r in groups.items() if r is not None]
    if len(present) < 2:
        return None
    yi, vi, g = included.yi, included.vi, included.group
    if tau2 is None:
        sub = difference_test(yi, vi, g, method=method, test=test)
    else:
        sub = subgroups(yi, vi, g, method=method, test=test, tau2=tau2)
    reasons = [sub.reason] if sub.reason else []
    assumed = [
        grp for grp in present if bool(np.all(included.basis[included.group == grp] == _PRE_POST))
    ]
    if question.effect == "change" and assumed:
        reasons.append(
            f"{', '.join(assumed)} {'rests' if len(assumed) == 1 else 'rest'} only on "
            "within-arm changes whose variance uses an assumed pre-post correlation"
        )
    if reasons:
        sub = replace(sub, reliable=False, reason="; ".join(reasons))
    return sub


def _conclusion(lb: float, ub: float, null: float) -> str:
    if not (math.isfinite(lb) and math.isfinite(ub)):
        return "not estimable"
    if lb > null:
        return "above no change" if null == 0 else "above the null"
    if ub < null:
        return "below no change" if null == 0 else "below the null"
    return "includes no change" if null == 0 else "includes the null"


def _ri_sensitivity(
    included: _Included,
    groups: dict[str, RMAResult | None],
    question: Question,
    method: str,
    test: str,
    sub: SubgroupResult | None,
) -> tuple[pd.DataFrame | None, bool, list[str]]:
    """Re-pool a within-arm analysis at r = 0.2 and 0.8 (only the variances of changes computed
    from levels depend on r: MC's vi = (sd1^2 + sd2^2 - 2 r sd1 sd2) / n)."""
    pre = included.basis == _PRE_POST
    if question.effect != "change" or question.binary or not pre.any() or included.sd1i is None:
        return None, False, []
    records = []
    chosen = float(question.ri)
    for r in sorted({chosen, *RI_SENSITIVITY}):
        fits = groups
        if r != chosen:
            sd1, sd2, n = included.sd1i, included.sd2i, included.n
            vi = np.where(pre, (sd1**2 + sd2**2 - 2 * r * sd1 * sd2) / n, included.vi)
            fits = _fit_groups(included, vi, groups, method, test)
        for group, res in fits.items():
            if res is None:
                continue
            records.append(
                {
                    "ri": r,
                    "group": group,
                    "estimate": res.estimate,
                    "ci_lb": res.ci_lb,
                    "ci_ub": res.ci_ub,
                    "conclusion": _conclusion(res.ci_lb, res.ci_ub, 0.0),
                }
            )
    table = pd.DataFrame.from_records(records)
    seen: dict[str, dict[float, str]] = {}  # per group in order of appearance, as groupby
    for record in records:
        seen.setdefault(record["group"], {})[record["ri"]] = record["conclusion"]
    flips = [
        f"{group}: " + ", ".join(f"r = {r:g} {c}" for r, c in by_r.items())
        for group, by_r in seen.items()
        if len(set(by_r.values())) > 1
    ]
    if flips:
        note = (
            "The conclusion depends on the assumed pre-post correlation ("
            + "; ".join(flips)
            + "): read these within-arm results as not established."
        )
    else:
        note = (
            "The within-arm conclusions hold at r = "
            + ", ".join(f"{r:g}" for r in sorted({chosen, *RI_SENSITIVITY}))
            + " (pre-post correlation assumed where changes come from levels)."
        )
    return table, bool(flips), [note]


def _visit_notes(included: _Included) -> list[str]:
    notes = []
    for group in included.groups_seen():
        part = included.group == group
        at = included.months[part]
        at = at[~np.isnan(at)]
        if len(at) > 1 and at.max() - at.min() > MIXED_VISITS_MONTHS:
            visits = ", ".join(dict.fromkeys(str(v) for v in included.visit[part]))
            notes.append(
                f"{group} pools visits {at.max() - at.min():.0f} months apart ({visits}): "
                "early and late effects are mixed; choose a time window to separate them."
            )
    return notes


def _n_notes(included: _Included) -> list[str]:
    k = int(included.n_assumed.sum())
    if not k:
        return []
    return [
        f"For {k} of {len(included)} study {'arm' if len(included) == 1 else 'arms'} the number "
        "of patients at the visit is not reported and the arm's size stands in (marked in the "
        "plot); if patients dropped out, their variance is understated."
    ]


#: A Knapp-Hartung interval this many times wider than the Wald interval is flagged.
KNHA_WIDE = 5.0


def _knha_notes(
    included: _Included,
    groups: dict[str, RMAResult | None],
    question: Question,
    method: str,
    test: str,
) -> list[str]:
    """Knapp-Hartung edge cases that look like certainty or like information: a zero-width
    interval (identical estimates give a scale factor of 0) and an interval many times wider
    than the Wald one (t with k - 1 = 1 df)."""
    if test not in ("knha", "adhoc"):
        return []
    notes = []
    for group, res in groups.items():
        if res is None or res.k < 2:
            continue
        part = included.group == group
        wald = rma(included.yi[part], included.vi[part], method=method, test="z")
        width, wald_width = res.ci_ub - res.ci_lb, wald.ci_ub - wald.ci_lb
        if width <= 1e-9 * max(1.0, abs(res.estimate)):
            notes.append(
                f"{group}: the Knapp-Hartung interval has zero width because the {res.k} "
                "estimates are identical (its scale factor is 0); that is not certainty. The "
                "ad hoc variant (test 'adhoc', scale factor at least 1) or the z interval "
                "gives a usable width."
            )
        elif wald_width > 0 and width / wald_width >= KNHA_WIDE:
            notes.append(
                f"{group}: with k = {res.k} the Knapp-Hartung interval is "
                f"{width / wald_width:.0f} times as wide as the z interval (t with {res.k - 1} "
                "df): read it as 'too few studies to estimate', not as evidence either way."
            )
    return notes
