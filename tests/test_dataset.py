"""The loader's public face: evidence.load(root) -> Dataset with validated, joined frames."""

from __future__ import annotations

import pandas as pd
import pytest

import evidence
from evidence.dataset import first_author

from .conftest import FIXTURES

REQUIRED_OUTCOME_COLUMNS = {
    "citekey",
    "arm",
    "group",
    "n",
    "outcome",
    "unit",
    "timepoint",
    "statistic",
    "value",
    "locator",
    "confidence",
}


@pytest.fixture(scope="module")
def small() -> evidence.Dataset:
    return evidence.load(FIXTURES / "valid")


def test_studies_one_row_per_citekey(small):
    assert small.studies["citekey"].is_unique
    assert list(small.studies["citekey"]) == [
        "alpha2010_trial",
        "gamma2012_series",
        "delta2015_rats",
        "omega2020_ma",
    ]
    alpha = small.study("alpha2010_trial")
    assert alpha["journal"] == "World Journal of Gastroenterology"  # @string resolved
    assert alpha["label"] == "Alpha 2010"
    assert alpha["n"] == 40 and alpha["n_arms"] == 2
    assert alpha["source_line"] == 5


def test_outcomes_have_the_public_columns_and_point_at_their_line(small):
    assert set(small.outcomes.columns) >= REQUIRED_OUTCOME_COLUMNS
    row = small.outcomes.iloc[0]
    assert (row.source_file, row.source_line) == ("data/outcomes.csv", 2)
    assert pd.api.types.is_float_dtype(small.outcomes["value"])


def test_outcomes_are_joined_to_arms_and_studies(small):
    completers = small.outcomes.query(
        "arm == 'MSC' and timepoint == '6 mo' and statistic == 'mean'"
    )
    assert completers["n"].tolist() == [18]  # the row's own n beats the arm's n
    baseline = small.outcomes.query("arm == 'MSC' and timepoint == 'baseline'")
    assert set(baseline["n"]) == {20}
    assert set(small.outcomes.query("citekey == 'gamma2012_series'")["group"]) == {"BM-MNC"}
    assert set(small.outcomes["design"]) == {"RCT", "single-arm"}


def test_units_are_normalised_and_reported_values_kept(small):
    albumin = small.outcomes.query("citekey == 'gamma2012_series' and outcome == 'albumin'")
    assert set(albumin["unit"]) == {"g/L"}
    assert albumin["value"].tolist() == pytest.approx([34.7, 5.0, 37.3, 5.0])
    assert albumin["value_reported"].tolist() == [3.47, 0.5, 3.73, 0.5]


def test_frames_are_empty_but_typed_for_an_empty_table(valid_copy):
    (valid_copy / "data" / "external.csv").unlink()  # optional file
    data = evidence.load(valid_copy)
    assert data.external.empty and "estimate" in data.external.columns


@pytest.mark.parametrize(
    ("author", "family"),
    [
        ("Kharaziha, P. and Hellström, P. M.", "Kharaziha"),
        ("Sharma M and Kulkarni A", "Sharma"),
        ("{World Health Organization}", "World Health Organization"),
        ("Ann Lee", "Lee"),
        ("da Silva, L. F. M.", "da Silva"),
    ],
)
def test_first_author(author, family):
    assert first_author(author) == family
