"""evidence.app.widgets is the only code that touches plotly FigureWidget internals; these
tests pin them to the plotly version in requirements.txt, so an upgrade that moves them fails
here (and names what to re-check) rather than in a viewer's browser."""

from __future__ import annotations

import re

import plotly
import plotly.graph_objects as go
import pytest

from evidence.app import widgets

from .conftest import ROOT


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
