"""evidence.bayesian (the review's question with the Bayesian model) and its figures, on the
small fixture dataset."""

from __future__ import annotations

import math
import re

import numpy as np
import plotly.graph_objects as go
import pytest

import evidence
from evidence.bayesian import (
    BENEFIT_THRESHOLDS,
    NO_THRESHOLD,
    TauPrior,
    default_tau_prior,
    pool_bayes,
    summary_frame,
    threshold_label,
)
from evidence.compare import Question, effects
from evidence.figures.bayes import (
    SUBTITLE_LINE,
    SUBTITLE_WIDTH,
    bayes_forest_plot,
    tau_prior_posterior_plot,
)
from evidence.figures.style import SMALL_SIZE
from evidence.figures.text_width import line_width
from evidence.meta import bayesmeta

from .conftest import FIXTURES


@pytest.fixture(scope="module")
def data():
    return evidence.load(FIXTURES / "valid")


def test_default_scale_is_half_the_median_reported_sd(data) -> None:
    q = Question(outcome="meld", groups=("MSC", "BM-MNC", "control"))
    prior = default_tau_prior(data, q)
    sds = data.outcomes.query("outcome == 'meld' and statistic == 'sd'")["value"]
    assert prior.scale == pytest.approx(0.5 * float(np.median(sds)))
    assert "median" in prior.text and "Half-normal" in prior.text
    # albumin's SDs are converted to g/L before the median (0.5 g/dL = 5 g/L)
    alb = default_tau_prior(data, q.with_(outcome="albumin"))
    assert alb.scale == pytest.approx(0.5 * 5.0)


def test_log_ratio_default_is_roever_2021(data) -> None:
    q = Question(outcome="deaths", effect="control", groups=("MSC", "BM-MNC"))
    prior = default_tau_prior(data, q)
    assert prior.scale == 0.5 and "Röver" in prior.source
    rd = default_tau_prior(data, q.with_(binary_measure="RD"))
    assert "a choice" in rd.source


def test_probabilities_follow_the_posterior(data) -> None:
    q = Question(outcome="meld", groups=("MSC", "BM-MNC", "control"))
    e = effects(data, q)
    bp = pool_bayes(e, q, default_tau_prior(data, q))
    assert bp.threshold == BENEFIT_THRESHOLDS["meld"][0]
    assert "Spahr 2013" in bp.threshold_source
    fitted = {k: g for k, g in bp.groups.items() if g is not None}
    assert fitted
    for g in fitted.values():
        # MELD: lower is better, so benefit is mu < 0 and a 3-point benefit is mu <= -3
        assert g.p_benefit == pytest.approx(g.result.mu_cdf(0.0), abs=1e-12)
        assert g.p_threshold == pytest.approx(g.result.mu_cdf(-3.0), abs=1e-12)
        assert g.p_threshold <= g.p_benefit
    assert any("not a comparison with control" in n for n in bp.notes)
    frame = summary_frame(bp)
    assert list(frame["group"]) == list(fitted)
    user = pool_bayes(e, q, TauPrior(1.0, "x", user_set=True), threshold=0.0)
    assert user.threshold_source == "set by the reviewer"
    for g in user.groups.values():
        if g is not None:
            assert g.p_threshold == pytest.approx(g.p_benefit)


def test_a_larger_prior_scale_widens_the_interval(data) -> None:
    q = Question(outcome="meld", groups=("MSC", "BM-MNC", "control"))
    e = effects(data, q)
    narrow = pool_bayes(e, q, TauPrior(0.5, "x"))
    wide = pool_bayes(e, q, TauPrior(20.0, "x"))
    for name, g in narrow.groups.items():
        if g is not None:
            w = wide.groups[name].result
            assert w.mu_ci_ub - w.mu_ci_lb > g.result.mu_ci_ub - g.result.mu_ci_lb


def test_indirect_comparisons_are_labelled(data) -> None:
    q = Question(outcome="meld", groups=("MSC", "BM-MNC", "control"))
    bp = pool_bayes(effects(data, q), q, default_tau_prior(data, q))
    fitted = [k for k, g in bp.groups.items() if g is not None]
    assert len(bp.comparisons) == len(fitted) * (len(fitted) - 1) // 2
    for better, worse, p in bp.comparisons:
        assert 0.5 <= p <= 1 and better != worse
    if bp.comparisons:
        assert any("indirect" in n for n in bp.notes)
    assert NO_THRESHOLD.startswith("no sourced")


def test_figures_are_valid_plotly(data) -> None:
    q = Question(outcome="meld", groups=("MSC", "BM-MNC", "control"))
    bp = pool_bayes(effects(data, q), q, default_tau_prior(data, q))
    fig = bayes_forest_plot(bp)
    go.Figure(fig.to_plotly_json())
    assert "Half-normal" in fig.layout.title.text
    r = bayesmeta([0.1, -0.4], [0.04, 0.09])
    small = tau_prior_posterior_plot(r)
    go.Figure(small.to_plotly_json())
    names = [t.name for t in small.data]
    assert names == ["posterior", "prior"]
    assert all(math.isfinite(v) for v in small.data[0].y)


def test_the_subtitle_fits_the_narrowest_pane(data) -> None:
    """Plotly never wraps a title: at a 1280 px projector the one-line subtitle ran past the
    pane's right edge. Its lines are measured to fit, and the plot moves down for each."""
    q = Question(outcome="meld", groups=("MSC", "BM-MNC", "control"))
    bp = pool_bayes(effects(data, q), q, default_tau_prior(data, q))
    layout = bayes_forest_plot(bp).to_plotly_json()["layout"]
    lines = layout["title"]["text"].split("<br>")[1:]
    assert len(lines) >= 2
    for line in lines:
        text = re.sub(r"<[^>]+>", "", line)
        assert line_width(text, SMALL_SIZE + 1) <= SUBTITLE_WIDTH, text
    assert layout["margin"]["t"] == 110 + SUBTITLE_LINE * (len(lines) - 1)


def test_threshold_label_names_the_event_on_the_scale_people_read() -> None:
    """Issue 14: a counted outcome's threshold is a ratio, so 'P(benefit >= 0.00)' meant
    nothing; the label states the event whose probability is shown, or plain P(benefit)."""
    deaths = Question(outcome="deaths", effect="control", groups=("MSC", "BM-MNC"))
    assert threshold_label(deaths, 0.0) == "P(benefit), no threshold set"
    assert threshold_label(deaths, 1.0) == "P(benefit), no threshold set"
    assert threshold_label(deaths, 0.8) == "P(OR \u2264 0.80)"  # fewer deaths: OR below 0.8
    rr = deaths.with_(binary_measure="RR")
    assert threshold_label(rr, 0.8) == "P(RR \u2264 0.80)"
    response = deaths.with_(outcome="meld_response")  # more responders is better: 1/0.8
    assert threshold_label(response, 0.8) == "P(OR \u2265 1.25)"
    rd = deaths.with_(binary_measure="RD")
    assert threshold_label(rd, 0.05) == "P(risk difference \u2264 \u22120.05)"
    meld = Question(outcome="meld")
    assert threshold_label(meld, 3.0) == "P(benefit \u2265 3.00 points)"
    assert threshold_label(meld, 0.0) == "P(benefit), no threshold set"
    assert "0.00" not in threshold_label(Question(outcome="deaths"), 0.0)  # within arms


def test_bayes_summary_labels_a_counted_outcome_threshold(data) -> None:
    from evidence.app.views.bayes import BayesPanel

    q = Question(outcome="deaths", effect="control", groups=("MSC", "BM-MNC"))
    prior = default_tau_prior(data, q)
    html = BayesPanel._summary(pool_bayes(effects(data, q), q, prior), prior)
    assert "P(benefit), no threshold set" in html and "\u2265 0.00" not in html
    html = BayesPanel._summary(pool_bayes(effects(data, q), q, prior, threshold=0.8), prior)
    assert "P(OR \u2264 0.80)" in html
    assert "Benefit threshold:</b> P(OR \u2264 0.80) (set by the reviewer)" in html
