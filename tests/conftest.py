"""Shared fixtures: paths to the bundled dataset and to the small valid test dataset; the fast
lane's hypothesis profile."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: `./dev test --fast` runs pytest with ``--hypothesis-profile=fast``: every property test draws
#: at most this many examples there (see :func:`examples`); the full `./dev test` draws them all.
FAST_EXAMPLES = 10
# No per-example deadline anywhere: hypothesis's default 200 ms is a timing assertion, and on a
# busy 2-core machine a URL round trip failed it once (the examples themselves passed).
settings.register_profile("patient", deadline=None)
settings.register_profile("fast", max_examples=FAST_EXAMPLES, deadline=None)
settings.load_profile("patient")
_fast_lane = False


def pytest_configure(config: pytest.Config) -> None:
    global _fast_lane
    _fast_lane = config.getoption("hypothesis_profile", None) == "fast"


def examples(n: int) -> int:
    """A property test's example count: ``n`` in the full run, at most FAST_EXAMPLES in the
    fast lane. (An explicit ``max_examples`` overrides a profile, hence this helper.)"""
    return min(n, FAST_EXAMPLES) if _fast_lane else n


@pytest.fixture
def valid_copy(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures/valid that a test may break."""
    target = tmp_path / "dataset"
    shutil.copytree(FIXTURES / "valid", target)
    return target


def click_point(widget, trace_name: str, index: int) -> None:
    """What the browser's plot (assets/plot_view.js) sends when the viewer clicks point
    ``index`` of the trace named ``trace_name``: its indices and customdata, as a message."""
    from evidence.app.widgets import jsonable

    curve = next(i for i, t in enumerate(widget.data) if t.name == trace_name)
    custom = widget.data[curve].customdata
    data = jsonable(custom[index]) if custom is not None and 0 <= index < len(custom) else None
    widget._handle_custom_msg({"click": {"curve": curve, "point": index, "customdata": data}}, [])
