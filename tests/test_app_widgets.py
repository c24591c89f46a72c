"""evidence.app.widgets is the only code that touches plotly FigureWidget internals; these
tests pin them to the plotly version in requirements.txt, so an upgrade that moves them fails
here (and names what to re-check) rather than in a viewer's browser."""

from __future__ import annotations

import json
import random
import re

import ipywidgets as W
import plotly
import plotly.graph_objects as go
import plotly.io as pio
import pytest

import evidence
from evidence.app import widgets
from evidence.app.controls import Controls
from evidence.bayesian import BAYES

from .conftest import FIXTURES, ROOT


def _pinned(name: str) -> str:
    text = (ROOT / "requirements.txt").read_text()
    match = re.search(rf"^{re.escape(name)}==(\S+)$", text, re.M)
    assert match, f"{name} is not pinned in requirements.txt"
    return match.group(1)


def test_plotly_is_the_version_the_internals_were_checked_against():
    # On a plotly upgrade: re-check _widget_data/_widget_layout (model state), _config,
    # _esm (the widget's JS module), _layout_obj._props and _data, then update the pin.
    assert plotly.__version__ == _pinned("plotly") == "7.1.0"


def test_figure_widget_internals_exist():
    fw = go.FigureWidget(go.Figure(go.Scatter(x=[1], y=[2])))
    for name in ("_widget_data", "_widget_layout", "_config", "_esm", "_data", "_layout_obj"):
        assert hasattr(fw, name), name
    assert isinstance(fw._layout_obj._props, dict)


def test_sync_model_writes_the_figure_into_the_model_state():
    fw = widgets.figure_widget(go.Figure(go.Scatter(x=[1], y=[2])), "f")
    widgets.refresh(fw, go.Figure(go.Scatter(x=[1, 2], y=[3, 4], text=["a", "b"]), {"height": 300}))
    widgets.sync_model(fw)
    assert list(fw._widget_data[0]["text"]) == ["a", "b"]
    assert fw._widget_layout["height"] == 300


def test_refresh_removes_what_the_new_figure_does_not_set():
    fw = widgets.figure_widget(go.Figure(go.Scatter(x=[1], y=[1], text=["t"])), "f")
    widgets.refresh(fw, go.Figure(go.Scatter(x=[1], y=[1])))
    assert fw.data[0].text is None


def test_served_figure_class_loads_the_bundle_by_url(monkeypatch):
    monkeypatch.setenv(widgets.BUNDLE_ENV, "static/plotly.js")
    cls = widgets.figure_class()
    assert cls is not go.FigureWidget and '"static/plotly.js"' in cls._esm
    monkeypatch.setenv(widgets.BUNDLE_ENV, "../../etc/passwd.js")
    assert widgets.figure_class() is go.FigureWidget


def test_download_menu_is_a_list_of_items():
    pane = widgets.FigurePane("forest", "forest-plot")
    # another module adds its own item (a file the kernel makes), before the first draw
    pane.downloads.append(
        widgets.DownloadItem("r", "Reproduce in R", "file", lambda: ("x <- 1\n", "R", "text/plain"))
    )
    pane.draw(go.Figure(go.Scatter(x=[1], y=[1], text=["a"], mode="markers+text")), stem="s")
    assert pane.menu is not None and pane.menu.stem == "s"
    assert [i["key"] for i in pane.menu.items] == ["svg", "png", "csv", "r"]
    assert pane.menu.file("r") == {
        "key": "r",
        "content": "x <- 1\n",
        "ext": "R",
        "mime": "text/plain",
    }
    assert pane.menu.file("csv")["content"].splitlines()[1] == ",1,1,a,"  # an unnamed trace
    pane.draw(go.Figure(go.Scatter(x=[2], y=[2])), stem="t")  # in place: same menu, new name
    assert pane.menu.stem == "t" and pane.box.children == (pane.menu, pane.widget)


def test_slug():
    assert widgets.slug("forest", "MELD score", "change from baseline", "") == (
        "forest_meld-score_change-from-baseline"
    )


@pytest.mark.parametrize("name", ["app.css", "appraisal.css", "url_sync.js", "bundle_loader.js"])
def test_assets_are_package_files(name):
    assert len(widgets.asset(name)) > 50


def test_show_only_hides_the_others_and_never_takes_a_child_out():
    a, b, c = W.HTML("a"), W.HTML("b"), W.HTML("c")
    box = W.VBox([a, b])
    widgets.show_only(box, (c,))
    assert box.children == (a, b, c)  # appended; a and b keep their browser views
    assert [w.layout.display for w in box.children] == ["none", "none", None]
    widgets.show_only(box, (a, b))
    assert box.children == (a, b, c)
    assert [w.layout.display for w in box.children] == [None, None, "none"]


# --- issue 14: in-place updates equal a fresh render -------------------------------------------

SELECTS = ("outcome", "effect", "window", "estimator", "design", "confidence", "population", "rob")


def _edges(root: W.Widget) -> dict[int, tuple[set[tuple[int, int]], bool]]:
    """Every plot under ``root`` by id: the (parent, child) links from ``root`` down to it (by
    widget id) and whether it is in view (no box on the way hidden)."""
    out = {}

    def walk(w: W.Widget, path: tuple[tuple[int, int], ...], shown: bool) -> None:
        shown = shown and getattr(getattr(w, "layout", None), "display", None) != "none"
        if isinstance(w, go.FigureWidget):
            out[id(w)] = (set(path), shown)
        for child in getattr(w, "children", ()):
            walk(child, (*path, (id(w), id(child))), shown)

    walk(root, (), True)
    return out


def _plain(fig: go.Figure) -> dict:
    """A figure as plotly.js receives it, without what a fresh widget and an updated one may
    carry differently and plotly.js draws the same: the template (sent once), trace uids,
    properties set to null or to an empty list (absent)."""

    def drop_none(x: object) -> object:
        if isinstance(x, dict):
            return {k: drop_none(v) for k, v in x.items() if v is not None and v != []}
        if isinstance(x, list):
            return [drop_none(v) for v in x]
        return x

    d = json.loads(pio.to_json(fig, validate=False))
    d["layout"].pop("template", None)
    for trace in d["data"]:
        trace.pop("uid", None)
    return drop_none(d)  # type: ignore[return-value]


#: Issue 14's sequence first (the forest plot must redraw after a round trip through the
#: Bayesian model), with Bayesian plots that a later state has none of (the fixture has no
#: prior scale for INR; no fitted tau for albumin versus control).
SCRIPT = (
    ("estimator", BAYES),
    ("outcome", "inr"),
    ("outcome", "albumin"),
    ("effect", "control"),
    ("estimator", "ML"),
    ("outcome", "inr"),
    ("estimator", BAYES),
    ("outcome", "meld"),
    ("estimator", "REML"),
)


def _change(controls: Controls, rng: random.Random, kind: str, value: object = None) -> None:
    """One control change as a viewer makes it (random ``value`` when not given)."""
    if kind == "test":
        widget = controls.widgets["test"]  # the next choice (no draw: the sequences stay)
        tests = [v for _, v in widget.options]
        widget.value = tests[(tests.index(widget.value) + 1) % len(tests)]
    elif kind == "groups":
        boxes = controls.group_boxes
        checked = [g for g, b in boxes.items() if b.value]
        group = rng.choice([g for g in boxes if g not in checked or len(checked) > 1])
        boxes[group].value = not boxes[group].value
    else:
        widget = controls.widgets[kind]
        if value is None:
            value = rng.choice([v for _, v in widget.options if v != widget.value])
        widget.value = value


def test_control_changes_keep_every_plot_in_the_page_and_equal_a_fresh_render():
    """The kernel side of tests/browser/test_forest_updates.py, on the small fixture dataset:
    after each control change (:data:`SCRIPT`, then random ones, the Bayesian model included)
    the plots in view are the ones a fresh page draws, with the same content, and no plot was
    ever taken out of the page (plotly's browser view cannot be put back: widgets.show_only).
    """
    from evidence.app import App
    from evidence.app.state import to_query
    from evidence.app.views.bayes import BayesPanel

    app = App(evidence.load(FIXTURES / "valid"))
    fresh_bayes = BayesPanel(app.context)  # builds figures afresh; never shown
    rng = random.Random(3)
    seen: dict[int, tuple[go.FigureWidget, set[tuple[int, int]]]] = {}
    kinds = (*SELECTS, "test", "groups", "groups", "estimator")  # the estimator more often
    steps = [*SCRIPT, *((rng.choice(kinds), None) for _ in range(50))]
    for step, (kind, value) in enumerate(steps):
        _change(app.controls, rng, kind, value)
        state = app.state
        where = f"step {step} ({kind}): ?{to_query(state)}"
        assert app.notices == [], where
        plots = _edges(app.widget)
        for key, (fig, links) in seen.items():
            if fig.comm is not None:  # a plot still open is still where it was
                assert key in plots and links <= plots[key][0], f"{where}: a plot was moved"
        for name, pane in app.compare.panes.items():
            if pane.widget is not None:
                assert id(pane.widget) in plots, f"{where}: plot {name} taken out of the page"
                seen[id(pane.widget)] = (pane.widget, plots[id(pane.widget)][0])
        if state.model == "bayes":
            want = fresh_bayes.figures(state)
        else:
            want = {"forest": app.compare.figure(state)}
        shown = {  # every plot of the Compare tab, the Bayesian ones included
            name: _plain(pane.widget)
            for name, pane in app.compare.panes.items()
            if pane.widget is not None and plots[id(pane.widget)][1]
        }
        assert shown == {name: _plain(fig) for name, fig in want.items()}, where
