"""The dashboard's Bayesian model: the estimator choice, the prior-scale and threshold controls
(validated like every widget value), and - in a real kernel through nbclient - that changing the
prior scale updates the view."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from evidence.app.state import DEFAULT, parse_query, to_query, update

from .conftest import ROOT


def test_estimator_choice_switches_the_model_and_keeps_the_frequentist_estimator() -> None:
    state, notice = update(DEFAULT.with_(estimator="DL"), "estimator", "BAYES")
    assert not notice and state.model == "bayes" and state.estimator == "DL"
    back, _ = update(state, "estimator", "PM")
    assert back.model == "frequentist" and back.estimator == "PM"


@pytest.mark.parametrize("bad", ["-1", "0", "1e3", "abc", "1.5.2", "nan", "inf", " 2x", True])
def test_prior_scale_rejects_what_is_not_a_positive_number(bad) -> None:
    state, notice = update(DEFAULT, "prior", bad)
    assert state == DEFAULT and "Ignored a value for prior" in notice


def test_prior_and_threshold_round_trip_through_the_link() -> None:
    state = DEFAULT.with_(model="bayes", prior="2.5", threshold="0")
    query = to_query(state)
    assert "model=bayes" in query and "prior=2.5" in query
    parsed, notices = parse_query(query)
    assert parsed == state and not notices
    assert parsed.prior_scale == 2.5 and parsed.benefit_threshold == 0.0
    _, notices = parse_query("estimator=BAYES&prior=-4")
    assert len(notices) == 2  # 'BAYES' is a model, not a link value for estimator; -4 invalid


CELL = """
import json
from evidence.app import App
app = App.start({root!r})
app.controls.widgets["estimator"].value = "BAYES"   # as a viewer picks it in the dropdown
view = app.compare
before = (view.panes["bayes-forest"].fig.layout.title.text, view.bayes.summary.value)
app.controls.widgets["prior"].value = "20"           # the viewer types a prior scale
after = (view.panes["bayes-forest"].fig.layout.title.text, view.bayes.summary.value)
print(json.dumps({{"model": app.state.model, "prior": app.state.prior, "notices": app.notices,
                  "before": before, "after": after}}))
"""


@pytest.mark.notebook
def test_changing_the_prior_scale_updates_the_view_in_a_kernel() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL.format(root=str(ROOT)))]
    NotebookClient(nb, timeout=180, startup_timeout=120, kernel_name="python3").execute()
    out = json.loads("".join(o.get("text", "") for o in nb.cells[0].outputs))
    assert out["model"] == "bayes" and out["prior"] == "20" and not out["notices"]
    (title0, summary0), (title1, summary1) = out["before"], out["after"]
    assert "Half-normal(" in title0 and "median of the" in title0  # the default, with source
    assert "Half-normal(20) prior on tau (set by the reviewer)" in title1
    assert summary1 != summary0  # the posterior moved with the prior
    assert "across-study, indirect comparison" in summary1 or "no usable" in summary1
