"""evidence.figures.validators: plotly's validator table read one entry at a time gives plotly
the same entries, so the same validators and the same figures, as plotly's own table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import plotly.validator_cache

from evidence.figures.validators import ValidatorTable

from .conftest import ROOT

TABLE = Path(plotly.validator_cache.__file__).parent / "validators" / "_validators.json"


def test_every_entry_equals_plotlys_parsed_file() -> None:
    full = json.loads(TABLE.read_text(encoding="utf-8"))
    table = ValidatorTable(TABLE)
    assert len(table) == len(full)
    assert table.keys() == list(full)
    for key, entry in full.items():
        assert key in table
        assert table.get(key) == entry, key
    assert table.get("no.such.key") is None
    assert table.get("no.such.key", 0) == 0


def test_an_entry_is_the_same_object_each_time() -> None:
    """plotly updates some entries in place (the "data" and "layout" base parameters), as in
    its own table: the second lookup must see the first one's changes."""
    table = ValidatorTable(TABLE)
    first = table.get("layout.yaxis")
    first["params"]["marker"] = 1
    assert table.get("layout.yaxis") is first
    assert table["layout.yaxis"]["params"]["marker"] == 1


# Builds every plot of the dashboard (each tab and appraisal section, two outcomes, the
# Bayesian model) and prints each figure's JSON and every validator plotly made. With "plotly"
# it first makes plotly read its own whole table, so evidence's is never installed.
SCRIPT = """
import json, sys
from plotly.validator_cache import ValidatorCache
if sys.argv[1] == "plotly":
    ValidatorCache.get_validator("", "layout")
from evidence.app import App
from evidence.app.widgets import figure_json
app = App.start(sys.argv[2])
steps = [("tab", "studies"), ("tab", "compare"), ("outcome", "albumin"),
         ("estimator", "REML"), ("model", "bayes"), ("model", "frequentist"),
         ("tab", "robustness"), ("tab", "appraisal"), ("section", "rob"),
         ("section", "certainty"), ("section", "flow")]
figures = []
for name, value in steps:
    app.change(name, value)
    figures += [figure_json(p.fig) for p in app.figures() if p.fig is not None]
def plain(v):  # a validator as data: its class and attributes (nested validators too)
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if hasattr(v, "__dict__") and not isinstance(v, type):
        return [type(v).__name__, plain(vars(v))]
    return repr(v)
cache = ValidatorCache._cache
print(json.dumps({
    "table": type(ValidatorCache._json_cache).__name__,
    "figures": figures,
    "validators": {repr(k): plain(v) for k, v in sorted(cache.items())},
}, sort_keys=True))
"""


def _run(mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_figures_and_validators_equal_plotlys_own_table() -> None:
    ours, plotlys = _run("evidence"), _run("plotly")
    assert ours["table"] == "ValidatorTable"  # installed (a new plotly layout fails here)
    assert plotlys["table"] == "dict"
    assert len(ours["figures"]) > 10
    assert ours["figures"] == plotlys["figures"]
    assert ours["validators"] == plotlys["validators"]
