"""evidence.figures: what each figure draws, for k from 0 to hundreds, with a fixed structure."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import evidence
from evidence import robustness as R
from evidence.compare import EFFECT_COLUMNS, Question, effects, pool
from evidence.figures import (
    GROUP_COLOURS,
    OKABE_ITO,
    cumulative_plot,
    estimator_grid_plot,
    evidence_map_plot,
    export_config,
    forest_plot,
    funnel_plot,
    leave_one_out_plot,
    map_frame,
)
from evidence.figures import forest as forest_module
from evidence.figures.funnel import TRACES as FUNNEL_TRACES
from evidence.figures.palette import CONFIDENCE_SYMBOLS, DESIGN_SYMBOLS
from evidence.vocab import CONFIDENCES, ROB_SYMBOLS

from .conftest import ROOT

GROUPS = ("MSC+HSC", "MSC", "HSC", "BM-MNC")


@pytest.fixture(scope="module")
def data():
    return evidence.load(ROOT)


def synthetic_pooled(k: int, groups=GROUPS[1:], seed: int = 3, measure_q=None):
    """A pooled result with k included arms spread over groups (MSC+HSC always empty)."""
    rng = np.random.default_rng(seed)
    q = measure_q or Question()
    rows = []
    for i in range(k):
        group = groups[i % len(groups)]
        yi, vi = rng.normal(-2, 1.5), rng.uniform(0.2, 2.0)
        rows.append(
            dict.fromkeys(EFFECT_COLUMNS)
            | {
                "citekey": f"study{i}",
                "label": f"Author{i} {2000 + i % 20}",
                "year": 2000 + i % 20,
                "design": "RCT",
                "group": group,
                "arm": group,
                "timepoint": "6 mo",
                "n": 20.0,
                "n_control": math.nan,
                "measure": q.measure,
                "basis": "reported change from baseline",
                "yi": yi,
                "vi": vi,
                "sei": math.sqrt(vi),
                "ci_lb": yi - 1.96 * math.sqrt(vi),
                "ci_ub": yi + 1.96 * math.sqrt(vi),
                "confidence": ("verified", "secondary", "seed-only")[i % 3],
                "derived": "",
                "included": True,
                "reason": "",
                "source_file": "data/outcomes.csv",
                "source_lines": (i + 2,),
            }
        )
    rows.append(
        dict.fromkeys(EFFECT_COLUMNS)
        | {
            "citekey": "pilot",
            "label": "Pilot 2021",
            "group": "MSC+HSC",
            "arm": "MSC+HSC",
            "design": "single-arm",
            "included": False,
            "reason": "MELD score not reported",
            "n": 5.0,
        }
    )
    frame = pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))
    return pool(frame, q)


def trace(fig: go.Figure, name: str):
    (match,) = [t for t in fig.data if t.name == name]
    return match


def shapes(fig: go.Figure, name: str) -> list:
    return [s for s in fig.layout.shapes if s.name == name]


def test_palette_is_okabe_ito_and_covers_groups():
    from evidence.compare import COMPARED_GROUPS

    assert set(COMPARED_GROUPS) <= set(GROUP_COLOURS)
    colours = [GROUP_COLOURS[g] for g in COMPARED_GROUPS]
    assert len(set(colours)) == len(colours)
    okabe = set(OKABE_ITO.values())
    assert all(c in okabe for c in colours if c != GROUP_COLOURS["control"])
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colours)
    assert len(set(DESIGN_SYMBOLS.values())) == len(DESIGN_SYMBOLS)
    assert len(set(CONFIDENCE_SYMBOLS.values())) == len(CONFIDENCES) == 4


def test_forest_has_no_overall_diamond_by_default(data):
    # "subtotals only": the groups are different interventions, so nothing pools across them
    q = Question()
    pooled = pool(effects(data, q), q)
    fig = forest_plot(pooled)
    assert len(shapes(fig, "diamond")) == sum(r is not None for r in pooled.groups.values())
    assert not any("average" in t for t in fig.layout.yaxis.ticktext)


def test_forest_on_the_bundled_data(data):
    q = Question()
    pooled = pool(effects(data, q), q, overall=True)
    fig = forest_plot(pooled)
    assert tuple(t.name for t in fig.data) == forest_module.TRACES
    studies = trace(fig, "studies")
    included = pooled.effects[pooled.effects["included"]]
    assert len(studies.x) == len(included) == fig.layout.meta["studies"]
    # squares at the estimates, sized by weight within the group
    assert sorted(studies.x) == pytest.approx(sorted(included["yi"]))
    hsc = pooled.groups["HSC"]
    sizes = [s for s, c in zip(studies.marker.size, studies.marker.color, strict=True)
             if c == GROUP_COLOURS["HSC"]]  # fmt: skip
    assert (sizes[0] < sizes[1]) == (hsc.weights[0] < hsc.weights[1])
    # the empty groups are rows with their reason, never dropped
    # (which groups have a result is curated: tests/bundled/test_views_data.py)
    with_result = [g for g, r in pooled.groups.items() if r is not None]
    without = len(pooled.groups) - len(with_result)
    assert without >= 1 and len(with_result) >= 2, "the test needs both kinds of group"
    empty = trace(fig, "empty")
    assert len(empty.text) == without and empty.mode == "text"
    assert "MELD score not reported" in empty.text[0]
    assert all("no usable numbers" in h for h in empty.hovertext)
    assert sum("<i>no usable numbers</i>" in t for t in fig.layout.yaxis.ticktext) == without
    ticks = " ".join(fig.layout.yaxis.ticktext)
    for group in GROUPS:
        assert f"<b>{group}</b>" in ticks
    # diamonds: one per group with a result plus the overall one, each with a hover; a null
    # line at 0; a prediction interval only where k >= 3 (the overall model here)
    assert len(shapes(fig, "diamond")) == len(with_result) + 1
    hovers = [a for a in fig.layout.annotations if a.name == "pooled"]
    assert len(hovers) == len(with_result) + 1
    assert f"{with_result[1]} pooled" in hovers[1].hovertext
    assert "95% prediction interval" in hovers[-1].hovertext
    assert [s.x0 for s in shapes(fig, "null")] == [0]
    fits = [*(pooled.groups[g] for g in with_result), pooled.overall]
    assert len(shapes(fig, "prediction")) == sum(r.k >= 3 for r in fits) >= 1
    # titles and axis with units; hover with locator and confidence
    assert "MELD score" in fig.layout.title.text and "REML" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "mean change from baseline (points)"
    assert all("confidence:" in h and "source:" in h for h in studies.hovertext)


def test_forest_locators_in_hover(data):
    q = Question()
    frame = effects(data, q).assign(locators="Table 2")
    fig = forest_plot(pool(frame, q))
    hovers = trace(fig, "studies").hovertext
    # the locator, not lines of a data file a viewer cannot open (issue 14)
    assert all("read in: Table 2" in h and "outcomes.csv" not in h for h in hovers)
    assert not any("click for the record" in h for h in hovers)  # nothing to click by default
    hovers = trace(forest_plot(pool(frame, q), click_hint=True), "studies").hovertext
    assert all(h.endswith("<br><i>click for the record</i>") for h in hovers)


def test_forest_ratio_is_back_transformed_on_a_log_axis(data):
    # Newsome 2018's deaths were read on a third-party copy: include that level here
    q = Question(outcome="deaths", effect="control", binary_measure="RR", confidence="third-party")
    pooled = pool(effects(data, q), q)
    fig = forest_plot(pooled)
    assert fig.layout.xaxis.type == "log"
    included = pooled.effects[pooled.effects["included"]]
    assert sorted(trace(fig, "studies").x) == pytest.approx(sorted(np.exp(included["yi"])))
    assert [s.x0 for s in shapes(fig, "null")] == [1.0]
    assert "(log scale)" in fig.layout.xaxis.title.text
    # annotations are placed in log10 units on a log axis; shapes in data units
    with_result = [g for g, r in pooled.groups.items() if r is not None]
    hovers = [a for a in fig.layout.annotations if a.name == "pooled"]
    assert len(hovers) == len(with_result) >= 1
    for hover, group in zip(hovers, with_result, strict=True):
        assert f"{group} pooled" in hover.hovertext
        assert 10**hover.x == pytest.approx(float(np.exp(pooled.groups[group].estimate)))


def test_forest_proportions_have_no_null_line(data):
    q = Question(outcome="deaths")
    fig = forest_plot(pool(effects(data, q), q))
    assert not shapes(fig, "null")
    assert all(0 <= x <= 1 for x in trace(fig, "studies").x)


@pytest.mark.parametrize("k", [1, 2, 3, 12, 60, 400])
def test_forest_scales_from_one_study_to_hundreds(k):
    pooled = synthetic_pooled(k)
    fig = forest_plot(pooled)
    assert tuple(t.name for t in fig.data) == forest_module.TRACES
    assert fig.layout.meta["studies"] == k
    studies = trace(fig, "studies")
    # one point per study: a square, or above the labelling limit the hover point of a study
    # whose whisker and dash are subpaths of one shape each
    assert len(studies.x) == k
    # each point names its study arm, so that a click can open its record (issue 14)
    frame = pooled.effects[pooled.effects["included"]]
    assert sorted(map(tuple, studies.customdata)) == sorted(
        zip(frame["citekey"], frame["arm"], strict=True)
    )
    rows = fig.layout.meta["rows"]
    assert fig.layout.height >= 200 + 14 * rows  # sized to its rows
    labelled = k <= forest_module.MAX_LABELLED_ROWS
    # every row is labelled; above the limit only headings, pooled and empty rows are
    assert (len(fig.layout.yaxis.tickvals) == rows) == labelled
    assert len(fig.layout.yaxis.tickvals) >= rows - k
    numbers, weights = fig.layout.yaxis2, fig.layout.yaxis3  # the text columns' tick labels
    if labelled:  # an estimate per study and pooled row, a weight per study row
        assert len(numbers.ticktext) == k + len(shapes(fig, "diamond")) == len(numbers.tickvals)
        assert all(numbers.ticktext) and len(weights.ticktext) == k
        assert all(t.endswith("%") for t in weights.ticktext)
    else:  # only the pooled rows' numbers, no weights, uniform sizes
        assert len(numbers.ticktext) == len(shapes(fig, "diamond"))
        assert all("[" in t for t in numbers.ticktext) and not weights.ticktext
        assert any("pooled" in t for t in fig.layout.yaxis.ticktext)
        assert studies.mode == "lines" and len(trace(fig, "ci").x) == 0
        for name in ("ci", "squares"):
            (path,) = shapes(fig, name)
            assert path.path.count("M") == k
    # prediction intervals only where a group has k >= 3 (and for the overall model when it
    # is shown: two or more groups with numbers)
    results = [r for r in pooled.groups.values() if r is not None]
    expected = sum(r.k >= 3 for r in results)
    shown = len(results) >= 2 and pooled.overall is not None  # pool(overall=True) only
    expected += int(shown and pooled.overall.k >= 3)
    assert len(shapes(fig, "prediction")) == expected


def test_forest_readable_sizes():
    fig = forest_plot(synthetic_pooled(10))
    assert fig.layout.font.size >= 16 and fig.layout.title.font.size >= 20
    assert fig.layout.yaxis.tickfont.size >= 15


def test_export_config_offers_svg_and_png():
    assert export_config("forest")["toImageButtonOptions"] == {
        "format": "svg",
        "filename": "forest",
        "scale": 2,
    }
    assert export_config("forest", "png")["toImageButtonOptions"]["format"] == "png"
    assert export_config("x")["displaylogo"] is False


def test_text_from_data_is_escaped():
    pooled = synthetic_pooled(2)
    frame = pooled.effects.copy()
    frame.loc[0, "label"] = "<script>alert(1)</script>"
    fig = forest_plot(pool(frame, pooled.question))
    text = " ".join(fig.layout.yaxis.ticktext) + " ".join(trace(fig, "studies").hovertext)
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_forest_risk_of_bias_column(data):
    """robvis' rob_append_to_forest: the overall judgement beside each study row, a symbol in
    every circle (never colour alone), the domains in the hover and a legend line."""
    from evidence.appraisal import rob

    table = rob.load(ROOT, data)
    columns = rob.forest_columns(table, data.studies["citekey"])
    q = Question()
    pooled = pool(effects(data, q), q)
    fig = forest_plot(pooled, rob=columns, filter_note="all studies")
    assert tuple(t.name for t in fig.data) == forest_module.TRACES
    circles, notes = shapes(fig, "rob"), rob_notes(fig)
    studies = trace(fig, "studies")
    # one circle per study row, on its row, with its symbol and hover on top
    assert sorted(c.yanchor for c in circles) == sorted(studies.y) == sorted(a.y for a in notes)
    labels = dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True))
    symbols = {labels[a.y].split(" \u00b7 ")[0]: a.text for a in notes}
    # each circle is its study's overall judgement as a symbol (which judgements the default
    # view shows is curated: tests/bundled/test_views_data.py)
    included = pooled.effects[pooled.effects["included"]]
    overall = columns["overall"]
    assert symbols == {
        label: ROB_SYMBOLS[overall[key]]
        for key, label in zip(included["citekey"], included["label"], strict=True)
    }
    assert len(set(symbols.values())) >= 2, "the test needs studies judged differently"
    (high, *_) = [k for k in included["citekey"] if overall[k] == "high"]
    # the rightmost column, in the right margin: px from the plot area's right edge
    assert all(c.xref == "paper" and c.xanchor == 1 and c.xsizemode == "pixel" for c in circles)
    assert fig.layout.width is None  # any width: the plot area takes what is left
    assert all(0 < c.x0 < c.x1 < fig.layout.margin.r for c in circles)
    assert all(-fig.layout.yaxis3.ticklabelstandoff < c.x0 for c in circles)
    tool, d1 = columns.loc[high, "tool"], columns.loc[high, "D1"]
    assert any(f"{tool}: <b>high</b><br>D1 {d1}" in a.hovertext for a in notes)
    assert any("risk of bias: high" in h for h in studies.hovertext)
    legend = " ".join(a.text for a in fig.layout.annotations)
    assert "RoB, risk of bias (overall)" in legend and "<b>RoB</b>" in legend
    assert "all studies" in fig.layout.title.text
    go.Figure(fig.to_plotly_json())
    # without risk-of-bias data: the same traces, no column, a narrower right margin
    plain = forest_plot(pooled)
    assert tuple(t.name for t in plain.data) == forest_module.TRACES
    assert not shapes(plain, "rob") and not rob_notes(plain)
    assert plain.layout.margin.r < fig.layout.margin.r
    assert "RoB" not in " ".join(a.text for a in plain.layout.annotations)
    # a compact plot labels no rows: no column either
    big = forest_plot(synthetic_pooled(forest_module.MAX_LABELLED_ROWS + 5), rob=columns)
    assert not shapes(big, "rob")


def rob_notes(fig: go.Figure) -> list:
    return [a for a in fig.layout.annotations if a.name == "rob"]


def test_forest_risk_of_bias_text_is_escaped():
    pooled = synthetic_pooled(2)
    columns = pd.DataFrame(
        {"tool": ["<b>RoB 2</b>"], "D1": ["<i>"], "overall": ["high"]},
        index=pd.Index(["study0"], name="citekey"),
    )
    (note,) = rob_notes(forest_plot(pooled, rob=columns))
    assert note.text == "X"
    assert "<b>RoB 2</b>" not in note.hovertext and "&lt;i&gt;" in note.hovertext


def test_funnel_plot(data):
    frame = effects(data, Question())
    f = R.funnel(frame)
    fig = funnel_plot(f, "meld")
    assert tuple(t.name for t in fig.data) == FUNNEL_TRACES
    assert len(trace(fig, "studies").x) == f.k == frame["included"].sum()
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # SE 0 at the top
    text = fig.layout.annotations[0].text
    assert (f"Warning: k = {f.k} < 10" in text) == (f.k < 10)  # k is curated: tests/bundled/
    assert "Egger" in text and "Begg" in text
    # pseudo-CI contours meet at the estimate at SE 0
    c95 = trace(fig, "contour95")
    assert c95.x[0] == pytest.approx(f.estimate) and c95.y[0] == 0


def test_funnel_with_nothing_in_scope(data):
    frame = effects(data, Question())
    f = R.funnel(frame[frame["group"] != "BM-MNC"], scope="BM-MNC")
    fig = funnel_plot(f, "meld")
    assert len(trace(fig, "studies").x) == 0
    assert "No included study" in fig.layout.annotations[0].text


def test_evidence_map(data):
    frame = map_frame(data.clinical_studies, data.treated_arms)
    assert set(frame["citekey"]) <= set(data.clinical_studies["citekey"])
    fig = evidence_map_plot(frame, highlight="sharma2021_jceh")
    assert sum(len(t.x) for t in fig.data) == len(frame) == fig.layout.meta["points"]
    assert [t.name for t in fig.data] == ["RCT", "non-randomised controlled", "single-arm",
                                         "case series"]  # fmt: skip
    # a study with arms in two groups is a point in each row
    twice = frame["citekey"].value_counts()
    assert (twice >= 1).all()
    # a point's patients are the group's treated arms' real n (curated values: tests/bundled/)
    arms = data.treated_arms.groupby(["citekey", "group"])["n"].sum(min_count=1)
    for row in frame.itertuples():
        n = arms.loc[(row.citekey, row.group)]
        assert (pd.isna(n) and pd.isna(row.patients)) or n == row.patients, row.citekey
    widths = [w for t in fig.data for w in t.marker.line.width]
    assert max(widths) == 4  # the highlighted study
    assert fig.layout.xaxis.title.text == "year of publication"


def test_sensitivity_plots(data):
    frame = effects(data, Question())
    ref = R.reference(frame)
    loo = leave_one_out_plot(R.leave_one_out(frame), ref, "MC", "meld")
    assert [t.name for t in loo.data] == ["ci", "points", "reference"]
    assert len(loo.data[1].x) == frame["included"].sum()
    cumulative = R.cumulative(frame)
    cum = cumulative_plot(cumulative, ref, "MC", "meld")
    ticks = cum.layout.yaxis.ticktext
    # a step whose conclusion differs from the reference is flagged in vermillion
    assert list(cumulative["changes"]).count(True) >= 1, "the test needs a step that differs"
    for tick, changes in zip(ticks, cumulative["changes"], strict=False):
        assert (tick.startswith("<span") and "\u2691" in tick) == bool(changes), tick
    assert ticks[-1] == "<b>All studies (reference)</b>"
    grid = R.estimator_grid(frame)
    heat = estimator_grid_plot(grid, "MC")
    z = np.array(heat.data[0].z)
    assert z.shape == (9, 2)
    assert heat.layout.meta["changes"] == int(grid["changes"].sum())
    boxed = [s for s in heat.layout.shapes if s.type == "rect"]
    assert len(boxed) == 1  # the reference model


def test_sensitivity_empty_tables_explain_why(data):
    frame = effects(data, Question())
    ref = R.reference(frame, "MSC")
    fig = leave_one_out_plot(R.leave_one_out(frame, "MSC"), ref, "MC", "meld", "MSC")
    assert "at least 2" in fig.layout.annotations[0].text


def test_figures_module_does_not_import_robustness_views_at_start():
    import subprocess
    import sys

    code = (
        "import sys, evidence.figures.forest\n"
        "print('evidence.robustness' in sys.modules, 'evidence.figures.funnel' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_figure_is_valid_plotly(data):
    """The figures skip plotly's per-element validation for speed: validate them here."""
    frame = effects(data, Question())
    ref = R.reference(frame)
    figures = [
        forest_plot(pool(frame, Question())),
        forest_plot(synthetic_pooled(80)),
        forest_plot(
            pool(
                effects(data, Question(outcome="deaths", effect="control")),
                Question(outcome="deaths", effect="control"),
            )
        ),
        funnel_plot(R.funnel(frame), "meld"),
        evidence_map_plot(map_frame(data.clinical_studies, data.treated_arms)),
        leave_one_out_plot(R.leave_one_out(frame), ref, "MC", "meld"),
        cumulative_plot(R.cumulative(frame), ref, "MC", "meld"),
        estimator_grid_plot(R.estimator_grid(frame), "MC"),
    ]
    for fig in figures:
        go.Figure(fig.to_plotly_json())  # raises on any invalid property or value


def test_p_values_read_as_phrases() -> None:
    from evidence.figures.style import fmt_p

    assert fmt_p(0.00001) == "p < 0.001"  # never "p = < 0.001"
    assert fmt_p(0.0456) == "p = 0.046"
    assert fmt_p(float("nan")) == "p = NA"


def test_funnel_tests_text_has_no_broken_p_phrase(data) -> None:
    from evidence.figures.funnel import tests_text

    text = " ".join(tests_text(R.funnel(effects(data, Question()))))
    assert "Egger" in text and "p " in text and "= <" not in text
