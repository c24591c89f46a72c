"""GRADE's words: the effect as people read it and the plain-language statement
(Santesso et al. 2020).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from evidence.vocab import OUTCOME_RECORDS

if TYPE_CHECKING:
    pass


# --- words --------------------------------------------------------------------------------------


def _number(x: float) -> str:
    return "NA" if not math.isfinite(x) else f"{x:.2f}".replace("-", "\u2212")


def effect_text(measure: str, shown: list[float], unit: str) -> str:
    """'MD −1.06 points (95% CI −4.65 to 2.53)' on the scale people read."""
    est, lb, ub = shown
    if measure == "PLO":
        return f"{100 * est:.0f}% of patients (95% CI {100 * lb:.0f}% to {100 * ub:.0f}%)"
    names = {"MD": "MD", "MC": "mean change", "OR": "OR", "RR": "RR", "RD": "RD"}
    suffix = f" {unit}" if unit and measure in ("MD", "MC") else ""
    return f"{names[measure]} {_number(est)}{suffix} (95% CI {_number(lb)} to {_number(ub)})"


_QUALIFIER = {"high": "", "moderate": "probably ", "low": "may "}
OUTCOME_WORDS = {o.code: o.words for o in OUTCOME_RECORDS if o.main}
OUTCOME_EVENTS = {o.code: o.event for o in OUTCOME_RECORDS if o.event}


def statement(row: Mapping[str, object]) -> str:
    """A plain-language sentence in GRADE's informative style (Santesso et al. 2020)."""
    from evidence.compare import LOWER_IS_BETTER, NULL_VALUE

    certainty = str(row["certainty"])
    what = OUTCOME_WORDS.get(str(row["outcome"]), str(row["outcome_label"]))
    group = str(row["group"])
    measure = str(row["measure"])
    est, lb, ub = (float(row[c]) for c in ("estimate", "ci_lb", "ci_ub"))
    size = f"{row['k']} {'study' if row['k'] == 1 else 'studies'}, {row['n_patients']} patients"
    if row["effect"] == "change":
        if measure == "PLO":
            verb = OUTCOME_EVENTS.get(str(row["outcome"])) or "had the event"
            found = (
                f"{100 * est:.0f}% of patients given {group} {verb} "
                f"(95% CI {100 * lb:.0f}% to {100 * ub:.0f}%)"
            )
        else:
            change = str(row["effect_text"]).removeprefix("mean change ")
            found = f"mean change in {what} {change} in patients given {group}"
        return (
            f"Before-after data without a control ({size}): {found}. Without a comparison this "
            f"cannot show an effect of the cells; certainty {certainty}."
        )
    null = NULL_VALUE[measure]
    crosses = lb <= null <= ub
    up = est > null
    good = (not up) if str(row["outcome"]) in LOWER_IS_BETTER else up
    direction = "a benefit" if good else "a harm"
    detail = f"({size}; {row['effect_text']})"
    if certainty == "very low":
        return (
            f"We are very uncertain about the effect of {group} therapy on {what} compared with "
            f"control {detail}" + ("." if crosses else f"; the estimate points to {direction}.")
        )
    if crosses:
        core = (
            "makes little or no difference to"
            if certainty == "high"
            else ("make little or no difference to")
        )
    else:
        verb = "increase" if up else "reduce"
        core = f"{verb}s" if certainty == "high" else verb
    qualifier = _QUALIFIER[certainty]
    tail = "" if crosses else f" ({direction})"
    return f"{group} therapy {qualifier}{core} {what}{tail} compared with control {detail}."
