"""Unit normalisation: numbers are stored as reported and converted here to one unit per outcome.

Conversion factors are exact definitions or molar masses, kept with each outcome's record in
:mod:`evidence.vocab` (albumin: 1 g/dL = 10 g/L; bilirubin: 1 mg/dL = 17.104 umol/L; creatinine:
1 mg/dL = 88.42 umol/L).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evidence.data.vocabulary import UNITS
from evidence.vocab import OUTCOME_RECORDS

# Multiply a value in `unit` by the factor to get the canonical unit of its outcome (the
# factors are the Outcome records' in evidence.vocab).
TO_CANONICAL: dict[tuple[str, str], float] = {
    (o.code, unit): f for o in OUTCOME_RECORDS if len(o.units) > 1 for unit, f in o.units
}

# Statistics that scale with the unit (a p value, a count or a total does not).
SCALED_STATISTICS = frozenset({"mean", "sd", "se", "median", "q1", "q3", "min", "max"})


def canonical_unit(outcome: str) -> str:
    return UNITS[outcome][0]


def factor(outcome: str, unit: str) -> float:
    """Factor taking ``unit`` to the canonical unit of ``outcome`` (1 when already canonical)."""
    if unit == "p" or unit == canonical_unit(outcome):
        return 1.0
    try:
        return TO_CANONICAL[(outcome, unit)]
    except KeyError:
        raise ValueError(f"no conversion for {outcome} in {unit!r}") from None


def convert(value: float, outcome: str, unit: str, to: str) -> float:
    """Convert one value between two units of the same outcome."""
    return value * factor(outcome, unit) / factor(outcome, to)


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with ``value``/``unit`` in canonical units.

    The reported numbers stay in ``value_reported``/``unit_reported``. Expects columns
    ``outcome``, ``statistic``, ``unit`` and ``value``; units must already be validated.
    """
    out = frame.copy()
    out["value_reported"] = out["value"]
    out["unit_reported"] = out["unit"]
    factors = np.array(
        [
            factor(o, u) if s in SCALED_STATISTICS else 1.0
            for o, u, s in zip(out["outcome"], out["unit"], out["statistic"], strict=True)
        ],
        dtype=float,
    )
    out["value"] = out["value"].astype(float) * factors
    out["unit"] = [
        "p" if s == "p" else ("%" if s == "percent" else canonical_unit(o))
        for o, s in zip(out["outcome"], out["statistic"], strict=True)
    ]
    return out
