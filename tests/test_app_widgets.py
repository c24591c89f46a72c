"""evidence.app.widgets: the dashboard's plot widget (PlotView: the figure as plain JSON, drawn
by plotly.js in the browser; clicks back to the kernel), its pane and Download menu, and the
kernel side of issue 14 (in-place updates equal a fresh render)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import pytest

import evidence
from evidence.app import widgets
from evidence.app.controls import Controls
from evidence.bayesian import BAYES
from evidence.serving import plotlyjs

from .conftest import FIXTURES


def test_the_figure_is_sent_as_plain_json_and_the_template_apart():
    fig = go.Figure(
        go.Scatter(
            x=np.array([1.0, np.nan, 3.0]),
            y=(np.int64(1), 2, 3),
            customdata=np.array([["a", "x"], ["b", "y"], ["c", "z"]], dtype=object),
        ),
        {"title": {"text": "t"}, "template": "simple_white"},
    )
    plot = widgets.plot_view(fig, "f")
    text = json.dumps(plot.figure, allow_nan=False)  # JSON proper: no NaN, no numpy
    assert plot.figure["data"][0]["x"] == [1.0, None, 3.0]
    assert plot.figure["data"][0]["y"] == [1, 2, 3]
    assert plot.figure["data"][0]["customdata"][1] == ["b", "y"]
    assert "template" not in plot.figure["layout"] and "template" not in text
    assert plot.template == json.loads(json.dumps(fig.layout.template.to_plotly_json()))
    assert plot.fig is fig and plot.data == tuple(fig.data)
    assert plot.config["toImageButtonOptions"]["filename"] == "f"
    # a redraw sends the figure; the same template again is not sent
    sent: list[str] = []
    plot.observe(lambda change: sent.append(change["name"]), names=["figure", "template"])
    plot.draw(go.Figure(go.Bar(x=[1], y=[2]), {"template": "simple_white"}))
    assert sent == ["figure"] and plot.figure["data"][0]["type"] == "bar"


def test_figure_json_is_the_public_json_of_the_figure():
    # figure_json reads plotly's _data/_layout (no deep copy): the same as to_plotly_json
    from evidence.app import App

    app = App(evidence.load(FIXTURES / "valid"))
    app.apply_url("outcome=meld&effect=control&tab=robustness")
    figs = [p.fig for v in (app.compare, app.robustness) for p in v.panes.values() if p.fig]
    assert len(figs) >= 3
    for fig in figs:
        d = fig.to_plotly_json()
        template = d["layout"].pop("template")
        assert widgets.figure_json(fig) == (widgets.jsonable(d), widgets.jsonable(template))


def test_a_click_reaches_the_callbacks_only_when_it_matches_the_figure():
    fig = go.Figure(
        [
            go.Scatter(x=[1], y=[1], name="lines"),
            go.Scatter(x=[1, 2], y=[1, 2], name="studies", customdata=[["k1", "a"], ["k2", "b"]]),
        ]
    )
    plot = widgets.plot_view(fig, "f")
    heard: list[widgets.Click] = []
    plot.on_click(heard.append)

    def send(content: object) -> None:
        plot._handle_custom_msg(content, [])  # as the browser's message arrives

    send({"click": {"curve": 1, "point": 1, "customdata": ["k2", "b"]}})
    assert heard == [widgets.Click(1, "studies", 1, ["k2", "b"])]
    send({"click": {"curve": 0, "point": 0, "customdata": None}})
    assert heard[-1] == widgets.Click(0, "lines", 0, None)
    heard.clear()
    for bad in (
        {"click": {"curve": 1, "point": 1, "customdata": ["k1", "a"]}},  # an earlier drawing
        {"click": {"curve": 1, "point": 5, "customdata": None}},
        {"click": {"curve": 7, "point": 0, "customdata": None}},
        {"click": {"curve": -1, "point": 0, "customdata": None}},
        {"click": {"curve": True, "point": 0, "customdata": None}},
        {"click": {"curve": "1", "point": "1", "customdata": ["k2", "b"]}},
        {"click": [1, 1]},
        {"download": "csv"},
        "click",
        None,
    ):
        send(bad)
    assert heard == []


def test_served_plots_load_plotly_js_by_url_else_carry_it(monkeypatch):
    monkeypatch.setenv(widgets.BUNDLE_ENV, "templates/evidence/static/plotly.min.js")
    cls = widgets.plot_class()
    assert '"templates/evidence/static/plotly.min.js"' in cls._esm and len(cls._esm) < 10_000
    monkeypatch.setenv(widgets.BUNDLE_ENV, "../../etc/passwd.js")  # never a path like that
    inline = widgets.plot_class()._esm
    assert "passwd" not in inline and "window.Plotly = Plotly" in inline
    assert f"v{plotlyjs.VERSION}" in inline[:200]  # the plotly.js of the installed plotly


def test_a_dashboard_kernel_creates_no_figure_widget():
    """A served kernel (the bundle named in the environment, in a kernel process) builds the
    App, draws and changes controls without importing plotly's FigureWidget machinery (about
    40 MB a kernel)."""
    code = """
import sys, ipykernel.kernelapp
import evidence
from evidence.app import App
app = App(evidence.load(sys.argv[1]))
app.apply_url("outcome=meld&effect=control")
app.change("outcome", "albumin")
app.change("tab", "robustness")
assert app.compare.forest.figure["data"] and not app.notices, app.notices
print([m for m in ("plotly.basewidget", "plotly.graph_objs._figurewidget") if m in sys.modules])
"""
    env = {**os.environ, widgets.BUNDLE_ENV: "templates/evidence/static/plotly.min.js"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(FIXTURES / "valid")],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "[]"  # go.FigureWidget (and its base) were never imported


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


@pytest.mark.parametrize(
    "name", ["app.css", "appraisal.css", "url_sync.js", "plot_view.js", "download_menu.js"]
)
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
        if isinstance(w, widgets.PlotView):
            out[id(w)] = (set(path), shown)
        for child in getattr(w, "children", ()):
            walk(child, (*path, (id(w), id(child))), shown)

    walk(root, (), True)
    return out


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
    ever taken out of the page (it keeps its one browser view: widgets.show_only).
    """
    from evidence.app import App
    from evidence.app.state import to_query
    from evidence.app.views.bayes import BayesPanel

    app = App(evidence.load(FIXTURES / "valid"))
    fresh_bayes = BayesPanel(app.context)  # builds figures afresh; never shown
    rng = random.Random(3)
    seen: dict[int, tuple[widgets.PlotView, set[tuple[int, int]]]] = {}
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
        shown = {  # what every plot of the Compare tab was sent, the Bayesian ones included
            name: (pane.widget.figure, pane.widget.template)
            for name, pane in app.compare.panes.items()
            if pane.widget is not None and plots[id(pane.widget)][1]
        }
        assert shown == {name: widgets.figure_json(fig) for name, fig in want.items()}, where
