"""The grammar of values in the data: numbers, timepoints and ';'-separated lists."""

from __future__ import annotations

import math
import re

TIMEPOINT = re.compile(r"^(?:baseline|end|(?P<num>\d+(?:\.\d+)?) (?P<unit>d|wk|mo|yr))$")
_MONTHS_PER = {"d": 12 / 365.25, "wk": 12 / 52.1775, "mo": 1.0, "yr": 12.0}


def timepoint_months(text: str) -> float:
    """Months after the first cell infusion: 0 at baseline, NaN for an unstated end of follow-up."""
    m = TIMEPOINT.match(text)
    if m is None:
        raise ValueError(f"not a timepoint: {text!r}")
    if text == "baseline":
        return 0.0
    if text == "end":
        return math.nan
    return float(m["num"]) * _MONTHS_PER[m["unit"]]


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(";") if item.strip()]


def _parse_number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_number(value: str | None) -> float | None:
    return _parse_number(value.strip()) if value else None
