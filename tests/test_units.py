"""Unit normalisation: one test per conversion, both directions, and what must not scale."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from evidence import units
from evidence.schema import UNITS, timepoint_months


@pytest.mark.parametrize(
    ("outcome", "value", "unit", "expected", "to"),
    [
        ("albumin", 3.5, "g/dL", 35.0, "g/L"),
        ("albumin", 35.0, "g/L", 3.5, "g/dL"),
        ("bilirubin", 17.104, "umol/L", 1.0, "mg/dL"),
        ("bilirubin", 2.0, "mg/dL", 34.208, "umol/L"),
        ("creatinine", 88.42, "umol/L", 1.0, "mg/dL"),
        ("creatinine", 1.2, "mg/dL", 106.104, "umol/L"),
        ("meld", 17.9, "points", 17.9, "points"),
        ("inr", 1.4, "ratio", 1.4, "ratio"),
    ],
)
def test_conversion(outcome, value, unit, expected, to):
    assert units.convert(value, outcome, unit, to) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("outcome", sorted(UNITS))
def test_round_trip_through_every_unit(outcome):
    for unit in UNITS[outcome]:
        there = units.convert(12.34, outcome, units.canonical_unit(outcome), unit)
        back = units.convert(there, outcome, unit, units.canonical_unit(outcome))
        assert back == pytest.approx(12.34, rel=1e-12)


def test_unknown_unit_is_an_error():
    with pytest.raises(ValueError, match="no conversion for albumin in 'mg/dL'"):
        units.factor("albumin", "mg/dL")


def test_normalise_scales_location_and_spread_but_not_p_or_counts():
    frame = pd.DataFrame(
        {
            "outcome": ["bilirubin", "bilirubin", "bilirubin", "deaths", "albumin"],
            "statistic": ["mean", "sd", "p", "events", "median"],
            "unit": ["umol/L", "umol/L", "p", "patients", "g/dL"],
            "value": [46.0, 29.0, 0.04, 3.0, 3.47],
        }
    )
    out = units.normalise(frame)
    assert out["value"].tolist() == pytest.approx([46 / 17.104, 29 / 17.104, 0.04, 3.0, 34.7])
    assert out["unit"].tolist() == ["mg/dL", "mg/dL", "p", "patients", "g/L"]
    assert out["value_reported"].tolist() == [46.0, 29.0, 0.04, 3.0, 3.47]
    assert out["unit_reported"].tolist() == ["umol/L", "umol/L", "p", "patients", "g/dL"]


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("baseline", 0.0),
        ("3 mo", 3.0),
        ("1 yr", 12.0),
        ("24 wk", 24 * 12 / 52.1775),
        ("14 d", 14 * 12 / 365.25),
        ("0.5 mo", 0.5),
    ],
)
def test_timepoints(text, months):
    assert timepoint_months(text) == pytest.approx(months)


def test_unstated_end_of_follow_up_has_no_month():
    assert math.isnan(timepoint_months("end"))
    with pytest.raises(ValueError):
        timepoint_months("3 months")
