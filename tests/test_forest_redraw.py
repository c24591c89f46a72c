"""What lets plotly.js redraw the forest plot cheaply stays true: ``layout.datarevision`` names
every array plotly.js compares as data (so a change that leaves them alone is not redrawn in
full, and a change of any of them always is), and no tick label is measured to be hidden
(benchmarks/bench_redraw.py measures the gain; nothing here times anything)."""

from __future__ import annotations

import copy

import pytest

from evidence.compare import pool
from evidence.figures.forest import forest_plot
from evidence.figures.forest.layout import x_range
from evidence.figures.forest.plot import data_revision

from .test_figures import synthetic_pooled


def _revision(fig: dict) -> str:
    return data_revision(fig["data"], fig["layout"])


def test_the_revision_is_stable() -> None:
    pooled = synthetic_pooled(12)
    one, two = forest_plot(pooled).to_plotly_json(), forest_plot(pooled).to_plotly_json()
    assert one["layout"]["datarevision"] == two["layout"]["datarevision"]


@pytest.mark.parametrize(
    "where",
    [
        ("data", 1, "x"),
        ("data", 1, "hovertext"),
        ("data", 1, "customdata"),
        ("data", 2, "text"),
        ("layout", "yaxis", "ticktext"),
        ("layout", "yaxis2", "ticktext"),
        ("layout", "yaxis3", "tickvals"),
    ],
)
def test_any_array_plotly_compares_changes_the_revision(where: tuple) -> None:
    fig = forest_plot(synthetic_pooled(12)).to_plotly_json()
    changed = copy.deepcopy(fig)
    part, key, name = where
    values = changed[part][key][name]
    assert len(values), where
    if name == "customdata":
        values[0] = ["another", "arm"]
    else:
        values[0] = "changed" if isinstance(values[0], str) else -99.0
    assert _revision(changed) != _revision(fig)


def test_an_estimator_change_keeps_the_arrays_and_their_revision() -> None:
    """DL and REML of the same studies differ only in the pooled rows (layout shapes, hover
    annotations, title), unless a pooled cell's text changes: then the revision must too."""
    pooled = synthetic_pooled(12)
    for method in ("DL", "PM", "FE"):
        other = pool(pooled.effects, pooled.question, method)
        a, b = forest_plot(pooled).to_plotly_json(), forest_plot(other).to_plotly_json()
        same_arrays = a["data"] == b["data"] and all(
            a["layout"][k] == b["layout"][k]
            for k in a["layout"]
            if k.startswith(("xaxis", "yaxis"))
        )
        assert (a["layout"]["datarevision"] == b["layout"]["datarevision"]) == same_arrays


def test_bounds_a_few_ulps_apart_give_the_same_axis() -> None:
    """Estimators that agree mathematically (DL and REML of two studies) give pooled bounds a
    few ulps apart; the axis range, and so the revision, must not see that (else an estimator
    change redraws every trace: in the served page 66 ms against 41 for the relayout)."""
    for log, null in ((False, 0.0), (True, 1.0)):
        near = x_range([0.2, 0.7531318328225141], null, log)
        assert near == x_range([0.2, 0.7531318328225146], null, log)
    assert x_range([0.2, 0.75], 0.0, False) != x_range([0.2, 0.7501], 0.0, False)


def test_no_tick_label_is_measured_to_be_hidden() -> None:
    layout = forest_plot(synthetic_pooled(12)).to_plotly_json()["layout"]
    axes = [k for k in layout if k.startswith(("xaxis", "yaxis"))]
    assert len(axes) == 4
    assert all(layout[k]["ticklabeloverflow"] == "allow" for k in axes)
