"""The dashboard's appraisal: the risk-of-bias filter and column of the Compare view, and the
Appraisal tab (claims, risk of bias, certainty, flow), driven in Python (no browser)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import evidence
from evidence.app.html import escape
from evidence.app.state import DEFAULT, ViewState

from .conftest import FIXTURES, ROOT

APPRAISAL_FIXTURE = FIXTURES / "appraisal" / "valid"


@pytest.fixture(scope="module")
def data():
    return evidence.load(ROOT)


@pytest.fixture
def app(data):
    from evidence.app import App

    return App(data)


def _rows(app) -> int:
    return app.compare.forest.fig.layout.meta["studies"]


def _circles(forest) -> int:
    """The forest plot's risk-of-bias circles (layout shapes in its right margin)."""
    return sum(s.name == "rob" for s in forest.fig.layout.shapes)


def _arms(n: int) -> str:
    return f"{n} study arm" + ("" if n == 1 else "s")


@pytest.fixture(scope="module")
def default_rows(data):
    """What the stages say the default view holds: included arms, and those the high-risk
    filter leaves out (the curated numbers are asserted in tests/bundled/)."""
    from evidence.appraisal import rob
    from evidence.compare import Question, effects

    frame = effects(data, Question())
    out = rob.filter_effects(frame, rob.load(ROOT, data), "exclude-high")
    return int(frame["included"].sum()), int(out.attrs["rob_left_out"])


# --- Compare: the risk-of-bias filter and column ---------------------------------------------


def test_rob_filter_repools_and_says_why(app, default_rows):
    rows, left = default_rows
    assert left >= 1, "the bundled data needs a high-risk arm in the default view for this test"
    forest = app.compare.forest
    assert _rows(app) == rows and _circles(forest) == rows  # RoB column: one per study row
    app.controls.widgets["rob"].value = "exclude-high"
    assert app.state.rob == "exclude-high" and app.compare.forest is forest  # updated in place
    assert _rows(app) == rows - left and _circles(forest) == rows - left
    arms = f"{left} arm" + ("" if left == 1 else "s")
    assert f"without high risk of bias ({arms} left out)" in forest.fig.layout.title.text
    excluded = app.compare.excluded.value
    assert "Mohamadnejad 2016" in excluded
    assert "risk of bias high (RoB 2): left out by the filter" in excluded
    summary = app.compare.summary.value
    assert f"Risk of bias filter (without high risk of bias): {_arms(left)} left out" in summary
    assert "risk of bias: without high risk of bias" in summary
    assert app.url.query == "rob=exclude-high"
    # the estimator cache is per filter: back to all studies gives the first result again
    app.change("rob", "all")
    assert _rows(app) == rows and "left out" not in forest.fig.layout.title.text


def test_rob_filter_applies_to_robustness(app, default_rows):
    rows, left = default_rows
    app.apply_url("tab=robustness&rob=exclude-high")
    assert f"Risk of bias filter (without high risk of bias), as in the Compare view: {left}" in (
        app.robustness.summary.value
    )
    assert f"on {_arms(rows - left)}" in app.robustness.summary.value


def test_controls_offer_the_filter_levels(app):
    from evidence.appraisal.rob import ROB_FILTERS

    widget = app.controls.widgets["rob"]
    assert [v for _, v in widget.options] == list(ROB_FILTERS)
    assert "ev-rob" in widget._dom_classes


def test_invalid_rob_file_keeps_the_dashboard(tmp_path):
    from evidence.app import App

    root = tmp_path / "dataset"
    shutil.copytree(FIXTURES / "appraisal" / "valid", root)
    rob_csv = root / "data" / "rob.csv"
    rob_csv.write_text(rob_csv.read_text().replace("some concerns", "maybe", 1))
    app = App(evidence.load(root))
    assert app.notices == []
    assert "data/rob.csv has 2 error(s)" in app.notice.value  # a judgement and its overall
    assert _circles(app.compare.forest) == 0  # no column, nothing invented
    app.change("rob", "exclude-high")  # the filter has nothing to act on: every row is kept
    assert "0 arms left out" in app.compare.forest.fig.layout.title.text
    assert "data/rob.csv has 2 error(s)" in app.notice.value  # still said after a change


# --- the Appraisal tab --------------------------------------------------------------------------


def test_appraisal_modules_are_imported_on_first_use():
    code = (
        "import sys, evidence\n"
        "from evidence.app import App\n"
        f"app = App(evidence.load({str(ROOT)!r}))\n"
        # the claims audit is read at once: the landing claim panel states its verdict
        "lazy = ('evidence.appraisal.grade', "
        "'evidence.appraisal.flow', 'evidence.figures.rob', 'evidence.figures.flow', "
        "'evidence.app.views.appraisal')\n"
        "print(any(m in sys.modules for m in lazy))\n"
        "app.change('tab', 'appraisal')\n"
        "print('evidence.appraisal.claims' in sys.modules, "
        "'evidence.appraisal.grade' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "False"]  # GRADE only when asked


@pytest.fixture
def fixture_app():
    """The App on the small dataset with every appraisal file (its claims are four, one each of
    three verdicts and the central one); the bundled claims' facts are in tests/bundled/."""
    from evidence.app import App

    return App(evidence.load(APPRAISAL_FIXTURE))


def test_claims_section(fixture_app):
    from evidence.appraisal import claims as C

    app = fixture_app
    assert app._appraisal is None
    app.change("tab", "appraisal")
    view = app.appraisal
    assert app.state.section == "claims" and app.tabs.selected_index == 3
    claims = view.claims.value
    # every claim, its verdict as colour + symbol + word, expandable to the evidence
    table = C.load(APPRAISAL_FIXTURE, app.data)
    assert claims.count("<details class='ev-claim'") == len(table) == 4
    for claim_id in table["claim_id"]:
        assert f"data-claim='{claim_id}'" in claims
    for verdict in set(table["verdict"]):
        style = C.VERDICT_STYLE[verdict]
        badge = f"background:{style['colour']};color:{style['text']}'>{style['symbol']} {verdict}<"
        assert badge in claims, verdict
    # the reason and the row it was read from; a human study links to its Studies view record,
    # an animal study (no record there) to its DOI
    assert "Animal evidence only." in claims and "data/claims.csv:4" in claims
    assert "data-ev-study='alpha2010_trial'" in claims
    assert "https://doi.org/10.1000/delta.2015" in claims
    assert "data-ev-study='delta2015_rats'" not in claims
    central = view.central.value
    assert "The central claim" in central and "C4" in central
    for group, row in C.central_claim(app.data).groups.set_index("group").iterrows():
        study = "study" if row["studies"] == 1 else "studies"
        assert (
            f"{group}: {row['studies']} clinical {study} ({row['controlled']} controlled, "
            f"{row['randomised']} randomised), {row['patients_treated']} patients treated"
        ) in central
    assert "No subgroup test can include MSC+HSC" in central
    assert app.url.query == "tab=appraisal"


def test_sections_follow_the_link_and_the_tool(app):
    app.apply_url("tab=appraisal&section=rob&tool=rob2")
    view = app.appraisal
    assert view.tabs.selected_index == 1 and view.tool.value == "rob2"
    traffic = view.figures["rob-traffic"]
    assert {a.text for a in traffic.fig.layout.annotations} >= {"RoB 2 (randomised trials)"}
    assert not any("ROBINS-I" in (a.text or "") for a in traffic.fig.layout.annotations)
    summary = view.figures["rob-summary"]
    view.tool.value = "robins-i"  # the control reports the change; the plots follow
    assert app.state.tool == "robins-i" and app.notices == []
    assert view.figures["rob-traffic"] is traffic  # one panel as before: updated in place
    assert view.figures["rob-summary"] is summary
    assert any("ROBINS-I" in (a.text or "") for a in traffic.fig.layout.annotations)
    view.tool.value = "all"  # three panels: a new plot in the same place
    assert app.notices == []
    menu, plot = view.boxes["rob-traffic"].children  # one plot, under its Download menu
    assert plot is view.figures["rob-traffic"] and menu is view.panes["rob-traffic"].menu
    titles = " ".join(a.text or "" for a in view.figures["rob-traffic"].fig.layout.annotations)
    assert "ROBINS-I" in titles and "Not applicable" in titles
    assert "Every judgement with its rationale" in view.rob_table.value
    view.tabs.selected_index = 3  # the inner tab bar
    assert app.state.section == "flow"
    assert "flow-plot" in view.figures
    assert "Studies in at least one pooled comparison" in " ".join(
        a.text for a in view.figures["flow-plot"].fig.layout.annotations
    )
    assert app.url.query == "tab=appraisal&section=flow"


def test_certainty_section(app):
    app.apply_url("tab=appraisal&section=certainty&outcome=deaths")
    view = app.appraisal
    sof = view.sof.value
    from evidence.appraisal.schema import GRADE_EFFECTS, GRADE_OUTCOMES

    per_outcome = len(DEFAULT.question.groups) * len(GRADE_EFFECTS)  # every group x effect type
    assert sof.count("<tbody class='ev-sof-entry'") == per_outcome
    assert "We are very uncertain about the effect of BM-MNC therapy on mortality" in sof
    assert "\u2295\u25ef\u25ef\u25ef very low" in sof
    assert "indirectness \u22121 (author)" in sof  # the trail of GRADE steps
    assert "author: The only study (Spahr 2013)" in sof
    app.change("groups", "HSC,BM-MNC")
    assert view.sof.value.count("<tbody class='ev-sof-entry'") == 2 * len(GRADE_EFFECTS)
    view.all_outcomes.value = True
    entries = len(GRADE_OUTCOMES) * 2 * len(GRADE_EFFECTS)
    assert view.sof.value.count("<tbody class='ev-sof-entry'") == entries
    # the draft is cached by its settings: an outcome change does not recompute it
    drafts = [k for k in app.analysis.cache.entries if k[0] == "sof"]
    app.change("outcome", "albumin")
    assert [k for k in app.analysis.cache.entries if k[0] == "sof"] == drafts


def test_crafted_section_and_tool_values(app):
    app.change("tab", "appraisal")
    before = app.state
    app.change("section", "../../etc")
    assert app.state == before and "Ignored a value for section" in app.notice.value
    app.change("tool", "<script>")
    assert app.state == before and "&lt;script&gt;" in app.notice.value
    with pytest.raises(Exception):  # noqa: B017 - the trait refuses it before any callback
        app.appraisal.tabs.set_state({"selected_index": 9})
    with pytest.raises(Exception):  # noqa: B017
        app.appraisal.tool.set_state({"index": 7})
    assert app.state == before


def test_flow_section_follows_the_sidebar_design_filter(fixture_app):
    app = fixture_app
    app.apply_url("tab=appraisal&section=flow&design=controlled")
    view = app.appraisal
    text = " ".join(a.text for a in view.figures["flow-plot"].fig.layout.annotations)
    assert "Design excluded by the filter (n = 1)" in text
    subtitle = view.figures["flow-plot"].fig.layout.title.text  # the settings under the title
    assert "controlled studies" in subtitle
    assert "design excluded by the filter" in view.flow_text.value


def test_study_links_open_the_studies_view(fixture_app):
    app = fixture_app
    app.change("tab", "appraisal")
    # what the page sends when a link is clicked (a custom message of the UrlSync widget)
    app.url._handle_custom_msg({"open_study": "alpha2010_trial"}, [])
    assert app.state.tab == "studies" and app.state.study == "alpha2010_trial"
    assert "Alpha 2010" in app.studies.detail.value
    for crafted in ("../../etc/passwd", "nosuch2020", 42, None):
        app.url._handle_custom_msg({"open_study": crafted}, [])
        assert app.state.study == "alpha2010_trial"
        assert "Ignored a study link" in app.notice.value
    app.url._handle_custom_msg(["not", "a", "dict"], [])  # ignored
    assert app.state.tab == "studies"


def test_data_never_becomes_markup(tmp_path):
    from evidence.app import App

    root = tmp_path / "dataset"
    shutil.copytree(FIXTURES / "appraisal" / "valid", root)
    claims = root / "data" / "claims.csv"
    text = claims.read_text()
    text = text.replace("MSC lower the MELD score.", '"<img src=x onerror=alert(1)>"', 1)
    text = text.replace("https://example.org/alpha", "javascript:alert(1) https://e.org/?a=<b>", 1)
    claims.write_text(text)
    app = App(evidence.load(root), ViewState(tab="appraisal"), views=("compare", "appraisal"))
    html = app.appraisal.claims.value
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "href='javascript" not in html and "href='https://e.org/?a=&lt;b&gt;'" in html
    assert "data-ev-study" not in html  # no Studies view in this app: DOI links only


def test_app_without_appraisal_files(tmp_path):
    from evidence.app import App

    root = tmp_path / "dataset"
    shutil.copytree(FIXTURES / "valid", root)
    for name in ("claims.csv", "rob.csv", "grade.csv"):
        (root / "data" / name).unlink(missing_ok=True)
    app = App(evidence.load(root), ViewState(tab="appraisal"))
    assert app.notices == []
    assert "No claims audit" in app.appraisal.claims.value
    for section in ("rob", "certainty", "flow"):
        app.change("section", section)
        assert app.notices == [], section
    assert "No risk-of-bias records" in app.appraisal.rob_text.value


def test_appraisal_plots_have_download_menus(app):
    app.apply_url("tab=appraisal&section=rob")
    pane = app.appraisal.panes["rob-traffic"]
    assert pane.menu is not None and pane.menu.stem == "rob-traffic-light"
    answer = pane.menu.file("csv")  # the plot's points, for a plot without its own table
    assert answer["content"].startswith("trace,x,y,text,hover")


def test_default_state_is_unchanged_by_the_new_fields():
    assert DEFAULT.rob == "all" and DEFAULT.section == "claims" and DEFAULT.tool == "all"


def test_tabs_that_keep_the_frequentist_estimator_say_so_in_bayesian_mode(app):
    """Issue 14: Robustness and Appraisal pool with the frequentist estimator even while the
    Bayesian model is chosen; each says so in one line (and only then)."""
    from evidence.analysis.words import frequentist_note
    from evidence.bayesian import BAYES

    app.change("estimator", "DL")
    app.change("tab", "robustness")
    app.change("tab", "appraisal")
    views = (app.robustness, app.appraisal)
    assert all(v.model_note.value == "" for v in views)
    app.change("estimator", BAYES)
    assert app.state.model == "bayes" and app.notices == []
    for view in views:
        assert escape(frequentist_note("DL")) in view.model_note.value
        assert "frequentist DL estimator" in view.model_note.value
        assert view.model_note in view.box.children
    app.change("estimator", "PM")
    assert all(v.model_note.value == "" for v in views)
