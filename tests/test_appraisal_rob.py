"""Risk of bias: the tools' algorithms, the helpers the views use, and the figures."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

import evidence
from evidence.appraisal import flow, rob
from evidence.appraisal.schema import NOT_APPLICABLE, ROB2, ROBINS_I
from evidence.figures.flow import flow_diagram
from evidence.figures.rob import summary_plot, traffic_light_plot

from .conftest import FIXTURES

VALID = FIXTURES / "appraisal" / "valid"


@pytest.mark.parametrize(
    ("domains", "overall"),
    [
        (["low"] * 5, "low"),
        (["low", "some concerns", "low", "low", "low"], "some concerns"),
        (["low", "no information", "low", "low", "low"], "some concerns"),
        (["low", "some concerns", "high", "low", "no information"], "high"),
        (["no information"] * 5, "no information"),
    ],
)
def test_rob2_algorithm(domains, overall):
    assert rob.algorithm(ROB2, domains) == overall


@pytest.mark.parametrize(
    ("domains", "overall"),
    [
        (["low"] * 7, "low"),
        (["low", "moderate"] + ["low"] * 5, "moderate"),
        (["moderate", "no information"] + ["low"] * 5, "no information"),
        (["serious", "no information"] + ["low"] * 5, "serious"),
        (["serious", "critical"] + ["low"] * 5, "critical"),
    ],
)
def test_robins_i_algorithm(domains, overall):
    assert rob.algorithm(ROBINS_I, domains) == overall


def test_no_tool_is_not_applicable():
    assert rob.algorithm("none", []) == NOT_APPLICABLE
    with pytest.raises(ValueError):
        rob.algorithm("QUADAS-2", ["low"])


@pytest.fixture(scope="module")
def data() -> evidence.Dataset:
    return evidence.load(VALID)


@pytest.fixture(scope="module")
def table(data) -> pd.DataFrame:
    return rob.load(VALID, data)


def test_loaded_frame(table):
    assert list(table.columns) == list(rob.COLUMNS)
    alpha = table[table["citekey"] == "alpha2010_trial"].set_index("domain")
    assert alpha.loc["D1", "domain_name"] == "Randomisation process"
    assert alpha.loc["D5", "symbol"] == "?"
    assert alpha.loc["overall", "source_line"] == 7


def test_overall_column_for_the_forest_plot(table):
    column = rob.overall_column(table, ["beta2014_cohort", "alpha2010_trial", "nobody"])
    assert list(column) == ["serious", "some concerns", rob.NOT_ASSESSED]
    assert list(column.index) == ["beta2014_cohort", "alpha2010_trial", "nobody"]
    wide = rob.forest_columns(table, ["alpha2010_trial", "gamma2012_series"])
    assert wide.loc["alpha2010_trial", "D1"] == "+"
    assert wide.loc["alpha2010_trial", "D6"] == ""
    assert wide.loc["gamma2012_series", "overall"] == NOT_APPLICABLE


def test_sensitivity_filter_drops_high_risk_only(table):
    keys = ["alpha2010_trial", "beta2014_cohort", "gamma2012_series", "unknown2020"]
    assert rob.sensitivity_filter(table, keys) == [
        "alpha2010_trial",
        "gamma2012_series",
        "unknown2020",
    ]
    assert rob.sensitivity_filter(table, keys, keep_not_assessed=False) == ["alpha2010_trial"]
    strict = rob.sensitivity_filter(table, keys, exclude=("high", "serious", "some concerns"))
    assert "alpha2010_trial" not in strict


def test_summary_weights(table, data):
    by_patients = rob.summary_weights(table, data)
    assert by_patients.attrs["weighting"] == "patients per study"
    shares = by_patients.groupby(["tool", "domain"])["share"].sum()
    assert shares.round(6).eq(100).all()
    assert "none" not in set(by_patients["tool"])
    equal = rob.summary_weights(table)
    assert equal.attrs["weighting"] == "one per study"
    given = rob.summary_weights(table, weights={"alpha2010_trial": 3.0})
    assert given.attrs["unweighted"] == ["beta2014_cohort"]


def test_traffic_light_plot_has_symbols_and_not_applicable(table):
    fig = traffic_light_plot(table)
    assert isinstance(fig, go.Figure)
    names = {trace.name for trace in fig.data}
    assert {"+ Low", "X Serious", "? No information", "NA Not applicable"} <= names
    for trace in fig.data:
        assert all(text for text in trace.text)  # a symbol in every cell, not colour alone
    titles = [a.text for a in fig.layout.annotations]
    assert any("RoB 2" in t for t in titles) and any("Not applicable" in t for t in titles)
    only = traffic_light_plot(table, tools=[ROB2])
    assert {trace.name for trace in only.data} <= {
        "+ Low",
        "\u2212 Some concerns",
        "? No information",
    }


def test_summary_plot_uses_patterns(table, data):
    fig = summary_plot(rob.summary_weights(table, data))
    assert fig.layout.barmode == "stack"
    patterns = {trace.name: trace.marker.pattern.shape for trace in fig.data}
    assert patterns["X Serious"] == "x" and patterns["? No information"] == "."


def test_flow_diagram_shows_the_counts(data):
    counts = flow.counts(data)
    fig = flow_diagram(counts.boxes, counts.per_outcome)
    text = " ".join(a.text for a in fig.layout.annotations)
    assert f"(n = {counts.n('registry')})" in text
    assert "Animal study (n = 1)" in text
    assert "MELD score:" in text
    assert len(fig.layout.shapes) >= 6


def test_flow_follows_the_design_filter(data):
    """A study whose design the filter leaves out is excluded for that reason, as the pooled
    analyses leave it out, and no outcome counts it."""
    from evidence.compare import Question, effects

    every = flow.counts(data).records.set_index("citekey")
    assert every.at["gamma2012_series", "stage"] == "included"  # single-arm, with numbers
    for design in ("controlled", "rct"):
        counts = flow.counts(data, design=design)
        records = counts.records.set_index("citekey")
        assert records.at["gamma2012_series", "reason"] == "design excluded by the filter"
        assert records.at["alpha2010_trial", "stage"] == "included"  # an RCT
        assert all("gamma2012_series" not in keys for keys in counts.per_outcome["citekeys"])
        assert counts.n("excluded:design excluded by the filter") == 1
        frame = effects(data, Question(design=design))
        assert "gamma2012_series" not in set(frame.loc[frame["included"], "citekey"])
    assert flow.counts(data).n("excluded:design excluded by the filter") == 0


# --- the risk-of-bias filter of the Compare view ------------------------------------------------


def test_filter_keeps_the_first_reason_of_rows_already_out(data, table):
    from evidence.compare import Question, effects

    frame = effects(data, Question(groups=("MSC", "HSC", "BM-MNC")))
    out = rob.filter_effects(frame, table, "exclude-high-unclear")
    beta = out.set_index("citekey").loc["beta2014_cohort"]
    assert beta["rob"] == "serious" and not beta["included"]
    assert beta["reason"] == "no numbers: abstract gives directions only"
    assert out.attrs["rob_left_out"] == 0


def test_filter_levels_and_bad_level(data, table):
    from evidence.compare import Question, effects

    assert list(rob.ROB_FILTERS) == ["all", "exclude-high", "exclude-high-unclear"]
    assert set(rob.ROB_FILTERS["exclude-high"][1]) == set(rob.HIGH_RISK)
    assert "no information" in rob.ROB_FILTERS["exclude-high-unclear"][1]
    frame = effects(data, Question())
    with pytest.raises(ValueError, match="rob filter"):
        rob.filter_effects(frame, table, "exclude-everything")
    empty = rob.filter_effects(frame, table.iloc[0:0], "exclude-high")  # no records: all kept
    assert empty["included"].tolist() == frame["included"].tolist()
    assert set(empty["rob"]) == {rob.NOT_ASSESSED}
