"""The outcome menu says what each outcome holds: the studies with at least one arm in its plot
under every other setting (counted by the analysis stage in one pass over all outcomes), or
"none usable". Only the labels change: the values, the choice and the state stay, nothing is
reported back as a change, and the new labels go to the page in one message. Fixture data
only (facts about the bundled data belong in tests/bundled/)."""

from __future__ import annotations

import re

import pytest

import evidence
from evidence.analysis.arm_effects import prepare, studies_per_outcome
from evidence.analysis.words import NONE_USABLE, outcome_choice
from evidence.app.cache import load_rob
from evidence.app.state import ALLOWED
from evidence.appraisal.rob import ROB_FILTERS, filter_effects, kept_studies
from evidence.compare import OUTCOME_LABELS, Question, effects
from evidence.vocab import OUTCOME_MENU_NAMES

from .conftest import FIXTURES


@pytest.fixture(scope="module")
def small():
    return evidence.load(FIXTURES / "appraisal" / "valid")  # has data/rob.csv


QUESTIONS = [
    Question(),
    Question(effect="control"),
    Question(effect="control", binary_measure="RD", groups=("MSC", "BM-MNC", "control")),
    Question(window="0-3", confidence="seed-only", design="controlled"),
    Question(groups=("MSC", "BM-MNC", "control")),
]


@pytest.mark.parametrize("q", QUESTIONS)
@pytest.mark.parametrize("level", list(ROB_FILTERS))
def test_one_pass_counts_what_each_outcomes_plot_holds(small, q, level):
    rob = load_rob(small)[0]
    prepared = prepare(small)
    kept = kept_studies(rob, prepared.studies, level)
    counts = studies_per_outcome(small, q, kept, prepared)
    assert list(counts) == list(OUTCOME_LABELS)
    for code in OUTCOME_LABELS:
        frame = filter_effects(effects(small, q.with_(outcome=code)), rob, level)
        assert counts[code] == frame.loc[frame["included"], "citekey"].nunique(), code


def test_counts_are_studies_not_arms(small):
    q = Question(groups=("MSC", "BM-MNC", "control"))
    counts = studies_per_outcome(small, q)
    arms = {
        code: int(effects(small, q.with_(outcome=code))["included"].sum())
        for code in OUTCOME_LABELS
    }
    # the fixture's point: a study with two arms in a plot counts once
    assert any(arms[code] > counts[code] > 0 for code in OUTCOME_LABELS)
    assert any(n == 0 for n in counts.values()) and any(n > 0 for n in counts.values())


def test_choice_words():
    assert outcome_choice("MELD score", 3) == "MELD score: 3 studies"
    assert outcome_choice("Mortality", 1) == "Mortality: 1 study"
    assert outcome_choice("Child-Pugh score", 0) == f"Child-Pugh score: {NONE_USABLE}"


@pytest.fixture
def app(small):
    from evidence.app import App

    return App(small)


def _labels(app) -> dict[str, str]:
    return {value: label for label, value in app.controls.widgets["outcome"].options}


def _expected(app) -> dict[str, str]:
    """What the plot of each outcome holds, asked outcome by outcome as the Compare view does."""
    out = {}
    for code in ALLOWED["outcome"]:
        q = app.state.question.with_(outcome=code)
        frame = app.analysis.effects(q, app.state.rob)
        n = frame.loc[frame["included"], "citekey"].nunique()
        out[code] = outcome_choice(OUTCOME_MENU_NAMES[code], n)
    return out


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("effect", "control"),
        ("rob", "exclude-high-unclear"),
        ("window", "0-3"),
        ("groups", ("MSC", "control")),
        ("confidence", "seed-only"),
    ],
)
def test_labels_say_what_each_plot_holds(app, name, value):
    assert _labels(app) == _expected(app)
    app.change(name, value)
    assert _labels(app) == _expected(app)


def test_relabelling_is_not_a_change(app):
    widget = app.controls.widgets["outcome"]
    values = [v for _, v in widget.options]
    reported = []
    app.controls.on_change(lambda name, value: (reported.append(name), app.change(name, value)))
    sent = []
    send = widget.send_state
    widget.send_state = lambda key=None: (sent.append(set(key or ())), send(key))[1]
    app.change("outcome", "albumin")
    sent.clear()
    before = _labels(app)
    app.change("effect", "control")  # the labels change; the outcome stays albumin
    assert _labels(app) != before
    assert [v for _, v in widget.options] == values == list(ALLOWED["outcome"])
    assert (widget.value, app.state.question.outcome) == ("albumin", "albumin")
    assert widget.label == _labels(app)["albumin"]
    assert reported == [] and app.notices == []
    assert sent == [{"_options_labels", "index"}]  # one message: the labels, the same choice
    sent.clear()
    app.change("estimator", "DL")  # the same question: nothing to relabel, nothing sent
    assert sent == []


def test_an_empty_outcome_is_marked_and_its_plot_says_why(app):
    app.change("effect", "control")
    empty = [code for code, label in _labels(app).items() if label.endswith(NONE_USABLE)]
    assert empty
    app.change("outcome", empty[0])
    assert app.state.question.outcome == empty[0]
    assert re.search(r"no usable .* numbers", app.compare.summary.value)
