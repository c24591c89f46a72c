"""The grammar of values in the data: numbers, timepoints and ';'-separated lists.

Strict on purpose: a value is ASCII digits with an optional sign and decimal point, never what
Python's ``float()`` or ``str.isdigit()`` would also take (``1_7.9``, ``1e300``, ``inf``,
Unicode digits, a trailing newline), so that what passes here is what every later stage reads.
"""

from __future__ import annotations

import math
import re

NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\Z")
WHOLE = re.compile(r"^[+-]?[0-9]+\Z")
DIGITS = re.compile(r"^[0-9]+\Z")
TIMEPOINT = re.compile(r"^(?:baseline|end|(?P<num>[0-9]+(?:\.[0-9]+)?) (?P<unit>d|wk|mo|yr))\Z")
_MONTHS_PER = {"d": 12 / 365.25, "wk": 12 / 52.1775, "mo": 1.0, "yr": 12.0}

#: No count (patients, events, studies) in a study or a review reaches this.
MAX_COUNT = 1_000_000
#: No measured number in the data reaches this in absolute value, whatever its unit.
MAX_NUMBER = 1_000_000
#: No follow-up or timepoint is longer than a century.
MAX_MONTHS = 1200.0
# C0 control characters; bib values may keep tab, newline and carriage return (line wrapping).
CONTROL = re.compile(r"[\x00-\x1f]")
BIB_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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


def is_timepoint(text: str) -> bool:
    """Whether ``text`` is a timepoint in the grammar and within a century."""
    return TIMEPOINT.match(text) is not None and not timepoint_months(text) > MAX_MONTHS


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(";") if item.strip()]


def parse_number(value: str | None) -> float | None:
    """The number written in ``value`` (surrounding blanks ignored), or None if it is not one."""
    text = value.strip() if value else ""
    return float(text) if NUMBER.match(text) else None


def control_character(text: str, pattern: re.Pattern[str] = CONTROL) -> str | None:
    """The first control character of ``text`` as ``U+XXXX``, or None."""
    m = pattern.search(text)
    return f"U+{ord(m.group()):04X}" if m else None
