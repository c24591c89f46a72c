"""The dashboard's speed-ups must not change what it shows: a setting drawn again from the
cache shows what it showed when first built, and our trimmed plotly template is plotly_white
for every trace type the figures draw. (Speed itself is measured in benchmarks/, never here.)"""

from __future__ import annotations

import json

import plotly.io as pio
import pytest

import evidence
from evidence.app.state import DEFAULT, param, with_params
from evidence.figures import style

from .conftest import ROOT


@pytest.fixture(scope="module")
def data():
    return evidence.load(ROOT)


def _shown(app) -> tuple[str, str, str, str]:
    view = app.compare
    fig = json.dumps([view.forest.figure, view.forest.template], sort_keys=True)  # as sent
    return fig, view.summary.value, view.heterogeneity.value, view.excluded.value


@pytest.mark.parametrize(
    ("name", "value"),
    [("estimator", "DL"), ("outcome", "albumin"), ("rob", "exclude-high"), ("test", "knha")],
)
def test_a_setting_shown_again_is_what_it_first_showed(data, name, value):
    from evidence.app import App

    app = App(data)
    first = _shown(app)
    app.change(name, value)
    other = _shown(app)
    assert other != first
    app.change(name, param(DEFAULT, name))  # back: from the cache
    assert _shown(app) == first
    app.change(name, value)
    assert _shown(app) == other
    fresh = App(data, with_params(DEFAULT, **{name: value}))
    assert _shown(fresh) == other  # as a fresh app draws it


def test_template_is_plotly_white_for_the_trace_types_we_draw(data):
    """Our template is plotly_white trimmed to what the figures draw (less memory in every
    kernel): the same layout, the same defaults for each trace type the app's plots use."""
    from evidence.app import App

    full = pio.templates[style.SOURCE_TEMPLATE].to_plotly_json()
    ours = pio.templates[style.template_name()].to_plotly_json()
    assert ours["layout"] == full["layout"]
    assert ours["data"] == {k: full["data"][k] for k in style.TRACE_TYPES}
    app = App(data)
    for tab in ("robustness", "appraisal"):  # every view's plots that the App builds
        app.change("tab", tab)
    drawn = {t.type for f in app.figures() for t in f.data}
    assert drawn and drawn <= set(style.TRACE_TYPES)
