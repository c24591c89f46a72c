"""The dashboard's state: URL parsing and validation, and callbacks that reject crafted values.

Query strings and widget (comm) messages are untrusted: every value must be one the compare
and meta layers allow, or it falls back with a visible notice. These tests drive the App in
Python (no browser): a crafted comm message ends in ``Widget.set_state``, as here.
"""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evidence
from evidence.app.state import (
    ALLOWED,
    DEFAULT,
    MAX_QUERY,
    PARAMS,
    QUESTION_PARAMS,
    TABS,
    InvalidValue,
    ViewState,
    coerce,
    param,
    parse_query,
    request_query_string,
    to_query,
)
from evidence.appraisal.rob import ROB_FILTERS
from evidence.compare import COMPARED_GROUPS, OUTCOME_LABELS, Question
from evidence.meta import METHODS

from .conftest import ROOT

KEYS = {"sharma2021_jceh", "kharaziha2009_ejgh"}
#: Study arms ("citekey~arm") a record link may name; arms hold spaces, '+' and '/'.
RECORDS = {"kharaziha2009_ejgh~MSC", "sharma2021_jceh~MSC+HSC", "x2020_y~CD34+/CD133+ 5M"}


# --- query strings ----------------------------------------------------------------------------


def test_empty_query_is_the_default():
    for query in (None, "", "?"):
        assert parse_query(query) == (DEFAULT, [])


def test_full_query():
    state, notices = parse_query(
        "?tab=robustness&outcome=albumin&effect=control&window=4-6&estimator=DL&test=knha"
        "&design=rct&confidence=verified&population=decompensated&groups=MSC%2BHSC,HSC"
        "&corr=0.7&measure=RR&rob=exclude-high&scope=HSC&section=certainty&tool=robins-i"
        "&study=sharma2021_jceh",
        KEYS,
    )
    assert notices == []
    assert state == ViewState(
        question=Question(
            outcome="albumin",
            effect="control",
            window="4-6",
            design="rct",
            confidence="verified",
            population="decompensated",
            groups=("MSC+HSC", "HSC"),
            ri=0.7,
            binary_measure="RR",
        ),
        tab="robustness",
        estimator="DL",
        test="knha",
        rob="exclude-high",
        scope="HSC",
        section="certainty",
        tool="robins-i",
        study="sharma2021_jceh",
    )


def test_lenient_spelling():
    # case does not matter; a '+' typed into a link decodes to a space and still means MSC+HSC
    state, notices = parse_query("estimator=reml&groups=msc+hsc,Msc&tab=Studies")
    assert notices == []
    assert state.estimator == "REML" and state.question.groups == ("MSC+HSC", "MSC")
    assert state.tab == "studies"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("outcome=__import__('os').system('id')", "outcome"),
        ("outcome=meld;rm%20-rf", "outcome"),
        ("estimator=REML%00", "estimator"),
        ("tab=../../etc/passwd", "tab"),
        ("study=../../etc/passwd", "study"),
        ("study=nosuchstudy2020", "study"),
        ("groups=", "groups"),
        ("groups=MSC,Bogus", "groups"),
        ("corr=nan", "corr"),
        ("corr=inf", "corr"),
        ("corr=1e308", "corr"),
        ("corr=0.99", "corr"),
        ("corr=-0.1", "corr"),
        ("corr=0x1", "corr"),
        ("measure=HR", "measure"),
        ("test=hksj", "test"),  # metafor's name is knha
        ("window=1-2", "window"),
        ("design=" + "a" * 500, "design"),
        ("rob=exclude", "rob"),
        ("rob=%3Cscript%3E", "rob"),
        ("section=../claims", "section"),
        ("tool=RoB%202", "tool"),  # the URL value is rob2
        ("tab=Appraisal2", "tab"),
        ("record=nosuch2020~MSC", "record"),
        ("record=kharaziha2009_ejgh", "record"),  # no arm
        ("record=kharaziha2009_ejgh~HSC", "record"),  # not an arm of that study
        ("record=kharaziha2009_ejgh~%3Cscript%3E", "record"),
        ("record=../../etc/passwd~MSC", "record"),
        ("record=~MSC", "record"),
        ("record=kharaziha2009_ejgh~" + "M" * 500, "record"),
    ],
)
def test_bad_values_fall_back_with_a_notice(query, field):
    state, notices = parse_query(query, KEYS, RECORDS)
    assert param(state, field) == param(DEFAULT, field)
    assert len(notices) == 1 and f"for {field}" in notices[0] and "default" in notices[0]
    assert len(notices[0]) < 300  # a long value is truncated, not echoed whole


def test_unknown_and_repeated_parameters():
    state, notices = parse_query("foo=1&outcome=inr&outcome=albumin&__class__=x")
    assert state.question.outcome == "inr"
    assert any("'foo'" in n for n in notices)
    assert any("twice" in n for n in notices)
    assert any("__class__" in n for n in notices)


def test_oversized_queries_are_ignored():
    state, notices = parse_query("outcome=inr&x=" + "y" * MAX_QUERY)
    assert state == DEFAULT and "too long" in notices[0]
    state, notices = parse_query("&".join(f"k{i}=1" for i in range(100)))
    assert state == DEFAULT and "too many" in notices[0]


def test_allowed_values_come_from_compare_and_meta():
    assert ALLOWED["outcome"] == tuple(OUTCOME_LABELS)
    assert ALLOWED["estimator"] == tuple(METHODS)
    assert ALLOWED["tab"] == TABS
    assert ALLOWED["rob"] == tuple(ROB_FILTERS)
    assert "appraisal" in TABS
    with pytest.raises(InvalidValue):
        coerce("nonsense", "x")


questions = st.builds(
    Question,
    outcome=st.sampled_from(ALLOWED["outcome"]),
    effect=st.sampled_from(ALLOWED["effect"]),
    window=st.sampled_from(ALLOWED["window"]),
    design=st.sampled_from(ALLOWED["design"]),
    confidence=st.sampled_from(ALLOWED["confidence"]),
    population=st.sampled_from(ALLOWED["population"]),
    groups=st.sets(st.sampled_from(COMPARED_GROUPS), min_size=1).map(
        lambda s: tuple(g for g in COMPARED_GROUPS if g in s)
    ),
    ri=st.integers(0, 19).map(lambda i: round(i * 0.05, 2)),
    binary_measure=st.sampled_from(ALLOWED["measure"]),
)
states = st.builds(
    ViewState,
    question=questions,
    tab=st.sampled_from(ALLOWED["tab"]),
    estimator=st.sampled_from(ALLOWED["estimator"]),
    model=st.sampled_from(ALLOWED["model"]),
    prior=st.sampled_from(["", "0.5", "2.5", "10"]),
    threshold=st.sampled_from(["", "0", "1.5"]),
    test=st.sampled_from(ALLOWED["test"]),
    rob=st.sampled_from(ALLOWED["rob"]),
    scope=st.sampled_from(ALLOWED["scope"]),
    section=st.sampled_from(ALLOWED["section"]),
    tool=st.sampled_from(ALLOWED["tool"]),
    study=st.sampled_from(["", *sorted(KEYS)]),
    record=st.sampled_from(["", *sorted(RECORDS)]),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(states)
def test_every_state_round_trips_through_its_link(state):
    query = to_query(state)
    assert parse_query(query, KEYS, RECORDS) == (state, [])
    assert parse_query("?" + query, KEYS, RECORDS) == (state, [])


#: Every URL parameter links carry today, with a valid value other than the default. The names
#: are public (people saved links): renaming a state field must not rename or drop any of them.
PUBLIC_LINK_VALUES = {
    "tab": "robustness",
    "outcome": "albumin",
    "effect": "control",
    "window": "4-6",
    "estimator": "DL",
    "model": "bayes",
    "prior": "2.5",
    "threshold": "1",
    "test": "knha",
    "design": "rct",
    "confidence": "verified",
    "population": "decompensated",
    "groups": "MSC%2BHSC,HSC",
    "corr": "0.7",
    "measure": "RR",
    "rob": "exclude-high",
    "scope": "HSC",
    "section": "certainty",
    "tool": "robins-i",
    "study": "sharma2021_jceh",
    "record": "kharaziha2009_ejgh~MSC",
}


@pytest.mark.parametrize(("name", "value"), PUBLIC_LINK_VALUES.items())
def test_every_public_link_parameter_round_trips(name, value):
    state, notices = parse_query(f"{name}={value}", KEYS, RECORDS)
    assert notices == []
    assert param(state, name) != param(DEFAULT, name)
    assert to_query(state) == f"{name}={value}"


def test_the_codec_names_every_field_of_the_state_once():
    assert set(PARAMS) == set(PUBLIC_LINK_VALUES)
    assert len(PARAMS) == len(set(PARAMS))
    own = {f for f in ViewState.__dataclass_fields__ if f != "question"}
    assert set(PARAMS) == own | set(QUESTION_PARAMS)
    assert not own & set(QUESTION_PARAMS)
    assert sorted(QUESTION_PARAMS.values()) == sorted(Question.__dataclass_fields__)
    # the two renames, spelled out: links say corr and measure
    assert QUESTION_PARAMS["corr"] == "ri" and QUESTION_PARAMS["measure"] == "binary_measure"
    full = "&".join(f"{k}={v}" for k, v in PUBLIC_LINK_VALUES.items())
    state, notices = parse_query(full, KEYS, RECORDS)
    assert notices == [] and to_query(state) == full


def test_record_links_read_as_typed():
    """The record's value is citekey~arm; an arm's '+', '/' and spaces survive the link, and a
    '+' typed into an address (decoded as a space) still names the arm."""
    for record in sorted(RECORDS):
        state = DEFAULT.with_(record=record)
        query = to_query(state)
        assert query.startswith("record=") and "~" in query  # readable: '~' is not quoted
        assert parse_query(query, KEYS, RECORDS) == (state, [])
    state, notices = parse_query("record=sharma2021_jceh~MSC+HSC", KEYS, RECORDS)
    assert notices == [] and state.record_key == ("sharma2021_jceh", "MSC+HSC")
    assert coerce("record", ("kharaziha2009_ejgh", "MSC"), records=RECORDS) == (
        "kharaziha2009_ejgh~MSC"
    )
    assert DEFAULT.record_key is None


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_any_text_parses_without_error(query):
    state, notices = parse_query(query, KEYS, RECORDS)
    assert isinstance(state, ViewState) and all(isinstance(n, str) for n in notices)
    assert isinstance(state.question, Question)  # always a valid question


# --- the query string inside a Voila kernel ----------------------------------------------------


def test_query_string_outside_voila(monkeypatch):
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    monkeypatch.setenv("QUERY_STRING", "outcome=inr")
    assert request_query_string() == "outcome=inr"
    monkeypatch.delenv("QUERY_STRING")
    assert request_query_string() == ""


def test_preheated_kernel_waits_for_the_request(monkeypatch):
    """Voila 0.5's protocol: the kernel opens <server>/voila/query/<kernel id> and receives the
    request info as one JSON message (voila.request_info_handler)."""
    from websockets.sync.server import serve

    seen = {}

    def handler(ws):
        seen["path"] = ws.request.path
        ws.send(json.dumps({"QUERY_STRING": "outcome=albumin&tab=studies", "X": "y"}))

    with serve(handler, "127.0.0.1", 0) as server:
        port = server.socket.getsockname()[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        monkeypatch.setenv("VOILA_PREHEAT", "True")
        monkeypatch.setenv("VOILA_KERNEL_ID", "abc-123")
        monkeypatch.setenv("VOILA_APP_PORT", str(port))
        monkeypatch.setenv("VOILA_SERVER_URL", "/")
        monkeypatch.delenv("QUERY_STRING", raising=False)
        monkeypatch.delenv("VOILA_WS_BASE_URL", raising=False)
        assert request_query_string(timeout=10) == "outcome=albumin&tab=studies"
        server.shutdown()
    assert seen["path"] == "/voila/query/abc-123"


def test_preheated_kernel_without_a_server_keeps_the_defaults(monkeypatch):
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.setenv("VOILA_KERNEL_ID", "abc")
    monkeypatch.setenv("VOILA_APP_PORT", "1")  # nothing listens there
    monkeypatch.delenv("QUERY_STRING", raising=False)
    assert request_query_string(timeout=2) == ""


# --- the App: callbacks reject crafted values --------------------------------------------------


@pytest.fixture(scope="module")
def data():
    return evidence.load(ROOT)


@pytest.fixture
def app(data):
    from evidence.app import App

    return App(data)


def _included(data, question: Question, group: str | None = None) -> int:
    """Arms the stages include for ``question`` (the curated count is in tests/bundled/)."""
    from evidence.compare import effects

    frame = effects(data, question)
    keep = frame["included"] & (frame["group"] == group if group else True)
    return int(keep.sum())


def test_app_starts_on_the_compare_view(app, data):
    assert app.state == DEFAULT
    assert app.compare.forest is not None
    assert app.compare.forest.fig.layout.meta["studies"] == _included(data, Question())
    assert "MSC+HSC: no usable" in app.compare.summary.value
    assert app.robustness.figures == {}  # built when first shown
    assert app.studies.map is None
    assert app.url.query == ""


def test_controls_update_the_figure_in_place(app):
    forest = app.compare.forest
    before = forest.fig.layout.title.text
    app.controls.widgets["outcome"].value = "albumin"
    assert app.compare.forest is forest  # the same widget, updated
    assert "Albumin" in forest.fig.layout.title.text and forest.fig.layout.title.text != before
    assert app.state.question.outcome == "albumin"
    assert "Albumin" in app.compare.summary.value
    app.controls.widgets["estimator"].value = "DL"
    assert "DL estimator" in forest.fig.layout.title.text
    app.controls.widgets["test"].value = "knha"
    assert app.state.test == "knha" and "Knapp-Hartung" in forest.fig.layout.title.text
    app.controls.group_boxes["BM-MNC"].value = False
    assert app.state.question.groups == ("MSC+HSC", "MSC", "HSC")
    assert "BM-MNC" not in " ".join(forest.fig.layout.yaxis.ticktext)
    assert app.url.query == "outcome=albumin&estimator=DL&test=knha&groups=MSC%2BHSC,MSC,HSC"
    assert app.notices == []


def test_link_applied_before_the_page_connects_is_in_the_model_state(app):
    """A preheated kernel applies the link before any browser view exists; the views are then
    drawn from the widgets' model state, which must hold the linked figure."""
    app.apply_url("outcome=albumin&estimator=DL")
    state = app.compare.forest.figure["layout"]  # the synced model state
    assert "Albumin" in state["title"]["text"] and "DL estimator" in state["title"]["text"]


def test_deep_link_opens_the_view(app, data):
    app.apply_url("?tab=robustness&outcome=meld&scope=HSC&estimator=PM")
    assert app.tabs.selected_index == 2
    assert app.controls.widgets["estimator"].value == "PM"
    assert app.robustness.scope.value == "HSC"
    assert set(app.robustness.figures) == {"grid", "loo", "cumulative", "funnel"}
    k = _included(data, Question(), "HSC")
    assert k >= 2, "the bundled data needs two HSC arms for a reference model"
    assert f"Reference model (PM, z) on {k} study arms" in app.robustness.summary.value
    app.change("outcome", "inr")
    assert app.robustness.figures["grid"].fig.layout.meta["changes"] == 0
    assert "No model for HSC only" in app.robustness.summary.value


def test_bad_link_shows_an_escaped_notice(app):
    app.apply_url("outcome=<img src=x onerror=alert(1)>&estimator=REML")
    assert app.state.question.outcome == "meld"
    assert "ev-notice-item" in app.notice.value
    assert "<img" not in app.notice.value and "&lt;img" in app.notice.value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("outcome", "os.system('id')"),
        ("outcome", ["meld"]),
        ("outcome", {"__class__": 1}),
        ("estimator", None),
        ("test", "hksj"),
        ("test", 3),
        ("groups", ("MSC", "<b>")),
        ("groups", ()),
        ("groups", "MSC"),  # a string is split like a link value; valid
        ("corr", 5.0),
        ("corr", float("nan")),
        ("corr", True),
        ("tab", 7),
        ("tab", "admin"),
        ("scope", "../x"),
        ("rob", "exclude-everything"),
        ("rob", ["all"]),
        ("section", 3),
        ("section", "<img src=x>"),
        ("tool", "QUADAS-2"),
        ("study", "nosuch"),
        ("study", "a" * 10_000),
        ("record", "nosuch2020~MSC"),
        ("record", ("kharaziha2009_ejgh", "MSC", "x")),
        ("record", {"citekey": "kharaziha2009_ejgh"}),
        ("record", "<img src=x onerror=alert(1)>~MSC"),
    ],
)
def test_callbacks_reject_crafted_values(app, name, value):
    before = app.state
    app.change(name, value)
    if (name, value) == ("groups", "MSC"):
        assert app.state.question.groups == ("MSC",) and not app.notices
        return
    assert app.state == before
    assert len(app.notices) == 1 and f"for {name}" in app.notices[0]
    assert len(app.notice.value) < 500


def test_crafted_comm_messages(app):
    """What the frontend can send: any synced trait. Dropdowns and tabs are guarded by
    ipywidgets itself; a slider's bounds are synced too, so its value is checked by us."""
    slider = app.controls.widgets["corr"]
    slider.set_state({"max": 10.0})
    slider.set_state({"value": 7.5})
    assert app.state.question.ri == 0.5
    assert slider.value == 0.5  # shown back as the valid value
    assert "Ignored a value for corr" in app.notice.value
    with pytest.raises(Exception):  # noqa: B017 - the trait rejects it before any callback
        app.controls.widgets["outcome"].set_state({"index": 999})
    assert app.state.question.outcome == "meld"
    with pytest.raises(Exception):  # noqa: B017
        app.tabs.set_state({"selected_index": 42})
    box = app.controls.group_boxes["MSC"]
    with pytest.raises(Exception):  # noqa: B017
        box.set_state({"value": "yes"})
    assert app.state.question.groups == DEFAULT.question.groups
    # the studies table's free-text search is only ever a literal substring
    app.change("tab", "studies")
    app.studies.filters["search"].value = ".*(" * 50
    assert "0</b> of" in app.studies.count.value


def test_study_detail_lists_numbers_with_locators(app):
    app.apply_url("tab=studies&study=kharaziha2009_ejgh")
    detail = app.studies.detail.value
    assert "Kharaziha 2009" in detail and "doi.org" in detail
    assert "verified" in detail and "data-ev-record='kharaziha2009_ejgh~" in detail
    assert "outcomes.csv" not in detail  # a viewer cannot open the data file
    assert "rel='noopener noreferrer'" in detail
    app.apply_url("tab=studies&study=sharma2021_jceh")
    detail = app.studies.detail.value
    assert "seed-only" in detail and "not reported" in detail
    assert app.studies.map is not None


def test_studies_table_filters_and_sorts(app):
    app.apply_url("tab=studies")
    f = app.studies.filters
    f["design"].value = "RCT"
    assert "studies match" in app.studies.count.value
    rct = app.studies.filtered()
    assert (rct["design"] == "RCT").all() and len(rct) > 0
    f["sort"].value = "n"
    f["order"].value = "desc"
    ns = app.studies.filtered()["n"].dropna().tolist()
    assert ns == sorted(ns, reverse=True)
    f["group"].value = "MSC+HSC"
    assert app.studies.filtered().empty  # the combination pilot is single-arm, not an RCT


def test_views_subset_for_notebooks(data):
    from evidence.app import App

    only = App(data, ViewState(tab="robustness"), views=("robustness",))
    assert only.views == ("robustness",) and only.state.tab == "robustness"
    assert only.robustness.figures and only.compare.forest is None
    only.change("tab", "compare")  # not in this app: stays on its only view
    assert only.state.tab == "robustness"


def test_find_root(tmp_path, monkeypatch):
    from evidence.app import find_root

    monkeypatch.delenv("EVIDENCE_ROOT", raising=False)
    assert find_root(ROOT / "notebooks") == ROOT
    monkeypatch.setenv("EVIDENCE_ROOT", str(tmp_path))
    assert find_root() == tmp_path
    monkeypatch.delenv("EVIDENCE_ROOT")
    with pytest.raises(FileNotFoundError):
        find_root(tmp_path)


def test_a_pane_keeps_its_plot_when_the_structure_changes():
    import plotly.graph_objects as go

    from evidence.app.widgets import FigurePane

    pane = FigurePane("p", "p")
    pane.draw(go.Figure(go.Scatter(x=[1], y=[1], name="a")))
    plot = pane.widget
    pane.draw(go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="a"), {"title": {"text": "t"}}))
    assert pane.widget is plot and plot.figure["data"][0]["x"] == [1, 2]
    assert plot.figure["layout"]["title"]["text"] == "t"
    pane.draw(go.Figure([go.Bar(x=[1], y=[2]), go.Scatter(x=[0], y=[0])]))
    assert pane.widget is plot and [t["type"] for t in plot.figure["data"]] == ["bar", "scatter"]
    assert "title" not in plot.figure["layout"]  # what the new figure does not set is gone


def test_every_plot_has_a_download_menu_named_after_what_it_shows(app):
    app.apply_url("tab=robustness&outcome=albumin&effect=control")
    panes = [*app.compare.panes.values(), *app.robustness.panes.values()]
    for pane in panes:
        assert pane.menu is not None and pane.box.children == (pane.menu, pane.widget)
        r_item = ["r"] if pane is app.compare.panes["forest"] else []  # Reproduce in R (zip)
        assert [i["key"] for i in pane.menu.items] == ["svg", "png", "csv", *r_item]
        assert pane.widget.config["showSendToCloud"] is False  # nothing leaves the machine
    assert app.compare.panes["forest"].menu.stem == "forest_albumin_vs-control"
    assert app.robustness.panes["funnel"].menu.stem == "funnel-plot_albumin_all-included-studies"


def test_forest_csv_is_what_the_plot_shows(app):
    import io

    import pandas as pd

    menu = app.compare.panes["forest"].menu
    answer = menu.file("csv")
    assert answer["ext"] == "csv" and answer["mime"] == "text/csv"
    table = pd.read_csv(io.StringIO(answer["content"]))
    arms = table[table["row"] == "study arm"]
    shown = arms[arms["in_plot"]]
    assert len(shown) == app.compare.forest.fig.layout.meta["studies"]
    assert shown["sources"].str.startswith("data/outcomes.csv:").all()
    assert (arms.loc[~arms["in_plot"], "reason"].str.len() > 0).all()  # each says why
    pooled = table[table["row"] == "pooled"]
    assert set(pooled["group"]) >= set(app.state.question.groups)
    for crafted in ("../../etc/passwd", "svg", 3, None):  # not a file the kernel makes
        assert menu.file(crafted) is None


def test_forest_r_zip_is_the_view_on_screen(app):
    import base64
    import io
    import zipfile

    app.apply_url("outcome=meld&effect=control&estimator=DL&test=knha")
    answer = app.compare.panes["forest"].menu.file("r")
    assert answer["ext"] == "zip" and answer["encoding"] == "base64"
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(answer["content"]))) as archive:
        script = archive.read("meld_control/meld_control.R").decode("utf-8")
    assert 'method <- "DL"' in script and 'test <- "knha"' in script


def test_multi_valued_descriptors_read_as_lists() -> None:
    from evidence.app.html import LIST_FIELDS, list_cell

    assert {"route", "cell_groups"} <= LIST_FIELDS
    assert list_cell("peripheral vein;portal vein") == "peripheral vein, portal vein"
    assert "not reported" in list_cell(float("nan"))
    assert list_cell("a<b;c") == "a&lt;b, c"  # still escaped


def test_the_ad_hoc_knapp_hartung_test_is_offered(app):
    """Issue 14: pool, the report and the export take metafor's adhoc; so does the dashboard."""
    assert [v for _, v in app.controls.widgets["test"].options] == ["z", "knha", "adhoc"]
    app.controls.widgets["test"].value = "adhoc"
    assert app.state.test == "adhoc" and app.notices == []
    assert app.url.query == "test=adhoc"
    assert "Knapp-Hartung (ad hoc)" in app.compare.forest.fig.layout.title.text
    assert "ad hoc Knapp-Hartung intervals" in app.compare.summary.value
    app.apply_url("tab=robustness&test=adhoc&scope=HSC")
    assert app.notices == [] and app.controls.widgets["test"].value == "adhoc"
    grid = app.robustness.figures["grid"]
    assert "Knapp-Hartung (ad hoc)" in " ".join(map(str, grid.fig.layout.xaxis.ticktext or ()))
