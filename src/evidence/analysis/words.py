"""The pooled result in plain-language sentences."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from evidence.analysis.pooling import Pooled
from evidence.analysis.question import (
    OUTCOME_LABELS,
)
from evidence.analysis.scales import MEASURE_LABELS, to_display
from evidence.meta import SubgroupResult

#: The confidence intervals of each test, in a sentence ("... estimator and {words}").
INTERVAL_WORDS = {
    "z": "z (Wald) intervals",
    "knha": "Knapp-Hartung (t) intervals",
    "adhoc": "ad hoc Knapp-Hartung intervals (never narrower than z)",
}


def _fmt(x: float) -> str:
    return "NA" if not math.isfinite(x) else f"{x:.2f}".replace("-", "\u2212")


def _total(values: Iterable[float]) -> float:
    """A column's sum as pandas takes it after ``fillna(0)``: missing values count 0."""
    return math.fsum(v for v in values if v is not None and v == v)


def summary(pooled: Pooled) -> list[str]:
    """Plain-language sentences: what each group rests on and what the comparison can show."""
    q = pooled.question
    frame = pooled.effects
    what = OUTCOME_LABELS[q.outcome]
    measure = q.measure
    lines = []
    # Plain lists, read once: per-group boolean masks on the frame cost ~1 ms per group, and
    # this runs on every control change.
    columns = ("group", "included", "citekey", "n", "n_control", "reason")
    records = list(zip(*(frame[c].tolist() for c in columns), strict=True))
    for group in q.groups:
        mine = [r for r in records if r[0] == group]
        used = [r for r in mine if r[1]]
        n_studies = len({r[2] for r in mine})
        patients = int(_total(r[3] for r in used) + _total(r[4] for r in used))
        result = pooled.groups.get(group)
        if result is None:
            reasons = sorted({r[5] for r in mine})
            why = "; ".join(reasons[:3]) + ("; and other reasons" if len(reasons) > 3 else "")
            lines.append(
                f"{group}: no usable {what} numbers. "
                + _describe(frame, frame["group"].to_numpy() == group)
                + (f" Why: {why.rstrip('.')}." if why else "")
            )
            continue
        est, lb, ub = (
            float(to_display(measure, v)) for v in (result.estimate, result.ci_lb, result.ci_ub)
        )
        k = result.k
        lines.append(
            f"{group}: {k} {'study arm' if k == 1 else 'study arms'} from "
            f"{len({r[2] for r in used})} of {n_studies} studies, {patients} patients; "
            f"pooled {MEASURE_LABELS[measure]} {_fmt(est)} (95% CI {_fmt(lb)} to {_fmt(ub)})"
            + (f", I\u00b2 {result.i2:.0f}%" if k > 1 else "")
            + "."
        )
    if pooled.overall is not None:
        r = pooled.overall
        est, lb, ub = (float(to_display(measure, v)) for v in (r.estimate, r.ci_lb, r.ci_ub))
        lines.append(
            f"{pooled.overall_label}: {_fmt(est)} (95% CI {_fmt(lb)} to {_fmt(ub)}), "
            f"{r.k} study arms."
        )
    test_line = subgroup_sentence(pooled)
    if test_line:
        lines.append(test_line)
    lines.extend(pooled.notes)
    lines.append(_caveat(pooled))
    return lines


def subgroup_sentence(pooled: Pooled) -> str:
    """The test for subgroup differences in words: what it may show first, its numbers after.
    An unreliable test is reported with its reason and never as a difference."""
    sub = pooled.subgroups
    if sub is None:
        return ""
    if not math.isfinite(sub.q_between):
        return f"Whether the cell groups differ cannot be tested here: {sub.reason}."
    numbers = _test_numbers(sub)
    if not sub.reliable:
        return (
            f"Whether the cell groups differ cannot be judged from these data: {sub.reason}. "
            f"The test ({numbers}) is shown for completeness only and is not evidence of a "
            "difference or of its absence."
        )
    verdict = (
        "the groups' pooled results differ by more than chance would explain"
        if sub.q_between_pval < 0.05
        else "no difference between the groups is shown (which is not evidence that they are alike)"
    )
    return (
        f"Across studies (an indirect comparison), {verdict}: test for subgroup differences "
        f"{numbers}."
    )


def _test_numbers(sub: SubgroupResult) -> str:
    if math.isfinite(sub.q_between_df2):
        stat = f"F({sub.q_between_df:g}, {sub.q_between_df2:g}) = {sub.q_between:.2f}"
    else:
        stat = f"Q = {sub.q_between:.2f}, df = {sub.q_between_df:g}"
    p = sub.q_between_pval
    return f"{stat}, p {'< 0.001' if p < 0.001 else f'= {p:.3g}'}"


def _describe(frame: pd.DataFrame, rows: np.ndarray) -> str:
    """'The group has 1 study (single-arm, 5 patients; descriptors seed-only).' of the
    ``rows`` (a boolean mask) of ``frame``: plain lists, not a sub-frame (a control change
    asks this of every empty group)."""
    keys, designs, confidences = (
        frame[c].to_numpy()[rows].tolist() for c in ("citekey", "design", "study_confidence")
    )
    first: dict[object, int] = {}  # each study's first row, as drop_duplicates keeps it
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    if not first:
        return "The dataset has no study of this group."
    counts: dict[object, int] = {}  # value_counts: by count, ties in order of appearance
    for i in first.values():
        design = designs[i]
        if design is not None and design == design:  # NaN is not counted
            counts[design] = counts.get(design, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    described = ", ".join(f"{n} {d}" for d, n in ranked)
    patients = np.nansum(frame["n"].to_numpy(dtype=float)[rows])  # Series.sum: NaN counts 0
    seed = sum(confidences[i] == "seed-only" for i in first.values())
    k = len(first)
    return (
        f"The dataset has {k} {'study' if k == 1 else 'studies'} of this group ({described}; "
        f"{int(patients)} patients in its arms"
        + (f"; {seed} known only from the source article" if seed else "")
        + ")."
    )


def _caveat(pooled: Pooled) -> str:
    q = pooled.question
    frame = pooled.effects
    parts = []
    if q.effect == "change":
        parts.append(
            "Changes from baseline within arms have no control: they mix the treatment with "
            "natural course, regression to the mean and co-treatment."
        )
    parts.append(
        "Groups come from different studies (different patients, designs, doses and timing), "
        "so a difference between groups is an indirect, across-study comparison, not evidence "
        "that one cell type works better than another."
    )
    combo = frame["group"].to_numpy() == "MSC+HSC"
    if "MSC+HSC" in q.groups and not frame["included"].to_numpy()[combo].any():
        parts.append(
            "No study in the dataset gives usable outcome numbers for the MSC+HSC combination, so "
            "the claim that the combination beats either cell type alone cannot be tested here."
        )
    return " ".join(parts)


def frequentist_note(method: str) -> str:
    """Said on a tab that keeps the frequentist model while the Bayesian one is chosen."""
    return (
        "The Bayesian model applies to the Compare view only: this tab uses the frequentist "
        f"{method} estimator (the last one chosen), as its methods are defined for it."
    )


def left_out_line(effects: pd.DataFrame, top: int = 3) -> str:
    """The arms of the chosen groups that are not in the plot, counted, with the commonest
    reasons (the part of a reason before its first colon: "no numbers", "MELD score not
    reported"): "27 of 30 study arms are not in the plot: no numbers (17), ...".
    """
    left = ~effects["included"].to_numpy(dtype=bool)
    total = len(effects)
    if not left.any():
        return f"Every one of the {total} study arms is in the plot."
    reasons = effects["reason"].to_numpy()[left].tolist()
    counted: dict[str, int] = {}  # value_counts: by count, ties in order of appearance
    for reason in reasons:
        text = "" if reason is None or reason != reason else str(reason)  # fillna("")
        kind = text.split(":", 1)[0].strip() or "?"
        counted[kind] = counted.get(kind, 0) + 1
    ranked = sorted(counted.items(), key=lambda item: -item[1])
    shown = [f"{kind} ({n})" for kind, n in ranked[:top]]
    rest = sum(n for _, n in ranked[top:])
    if rest:
        shown.append(f"other reasons ({rest})")
    arms = "study arm is" if total == 1 else "study arms are"
    return f"{len(reasons)} of {total} {arms} not in the plot: {', '.join(shown)}."


def rests_on(by_group: pd.DataFrame, groups: tuple[str, ...]) -> list[str]:
    """What each cell group rests on, from :func:`evidence.inventory.by_group`: its clinical
    studies and the patients in its arms whose size the source gives, "at least" (≥) when
    some arm's size is not reported: "MSC: 13 studies, ≥305 patients"."""
    rows = by_group.set_index("cell group")
    lines = []
    for group in groups:
        if group not in rows.index:
            continue
        r = rows.loc[group]
        k, n, unknown = int(r["studies"]), int(r["patients treated"]), int(r["arms without n"])
        lines.append(
            f"{group}: {k} {'study' if k == 1 else 'studies'}, "
            f"{'≥' if unknown else ''}{n} {'patient' if n == 1 and not unknown else 'patients'}"
        )
    return lines


#: What an outcome's choice says when no study has an effect in its plot (kept short: the
#: sidebar's menu is about 265 px wide).
NONE_USABLE = "none usable"
#: What the count in an outcome's choice means (the menu's tooltip and docs/dashboard.md).
OUTCOME_COUNT_MEANING = (
    "After each outcome: how many studies (not arms) have at least one arm in its plot under "
    f"all the other settings chosen here; '{NONE_USABLE}': its plot is empty and says why."
)


def outcome_choice(label: str, studies: int) -> str:
    """An outcome's choice in the menu: "MELD score: 3 studies", "Child-Pugh score: none
    usable" (``studies`` from :func:`evidence.analysis.arm_effects.studies_per_outcome`)."""
    if studies <= 0:
        return f"{label}: {NONE_USABLE}"
    return f"{label}: {studies} {'study' if studies == 1 else 'studies'}"
