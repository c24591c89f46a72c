"""A preheated kernel's prefetch (evidence.app.prefetch): the states one control away are
computed while the kernel waits for its viewer, so that the first change is a cache hit that
shows exactly what a fresh app shows; it stops when the request comes, keeps to its budget and
can be turned off. (Its speed is measured in benchmarks/bench_kernel.py, never here.)"""

from __future__ import annotations

import json
import threading

import pytest
from plotly.utils import PlotlyJSONEncoder

import evidence
from evidence.app.prefetch import PREFETCH_ENV, Prefetcher, enabled, neighbours
from evidence.app.state import DEFAULT, PARAMS, param, request_query_string, with_params

from .conftest import ROOT


@pytest.fixture(scope="module")
def data():
    return evidence.load(ROOT)


def _json(figure) -> str:
    return json.dumps(figure.to_plotly_json(), sort_keys=True, cls=PlotlyJSONEncoder)


def _keys(app) -> set:
    return set(app.analysis.cache.entries) | set(app.analysis.figures.entries)


def test_neighbours_are_the_states_one_sidebar_change_away(data):
    from evidence.app import App

    app = App(data)
    states = neighbours(DEFAULT, app.study_keys)
    assert len(states) == len(set(states))
    for state in states:
        changed = [p for p in PARAMS if param(state, p) != param(DEFAULT, p)]
        assert len(changed) == 1, changed
        assert state.model == "frequentist"
    for name, value in (
        ("estimator", "DL"),
        ("outcome", "albumin"),
        ("effect", "control"),
        ("rob", "exclude-high"),
        ("corr", 0.55),
        ("corr", 0.45),
        ("groups", ("MSC+HSC", "MSC", "BM-MNC")),
    ):
        assert with_params(DEFAULT, **{name: value}) in states


@pytest.mark.parametrize(
    ("name", "value"),
    [("estimator", "DL"), ("outcome", "albumin"), ("window", "4-6"), ("test", "knha")],
)
def test_a_prefetched_first_change_is_a_cache_hit_showing_what_a_fresh_app_shows(data, name, value):
    from evidence.app import App

    app = App(data)
    prefetch = Prefetcher(app)
    assert prefetch.run() == len(prefetch.states) > 30
    warm = _keys(app)
    app.change(name, value)
    assert _keys(app) <= warm  # nothing computed: every result came from the cache
    view = app.compare
    fresh = App(data, with_params(DEFAULT, **{name: value})).compare
    assert _json(view.results(app.state)[1]) == _json(fresh.results(app.state)[1])
    for text in ("summary", "heterogeneity", "excluded_line", "excluded"):
        assert getattr(view, text).value == getattr(fresh, text).value


def test_the_budget_bounds_the_prefetch(data):
    from evidence.app import App

    app = App(data)
    prefetch = Prefetcher(app, budget=0.0)
    assert prefetch.step() is False
    assert prefetch.warmed == 0


def test_the_environment_turns_it_off(monkeypatch):
    monkeypatch.delenv(PREFETCH_ENV, raising=False)
    assert enabled()
    for off in ("0", "off", "False", " no "):
        monkeypatch.setenv(PREFETCH_ENV, off)
        assert not enabled()
    monkeypatch.setenv(PREFETCH_ENV, "1")
    assert enabled()


def _query_server(monkeypatch, send_when: threading.Event):
    """A real websocket server playing Voila's /voila/query/<id>: it sends the request info
    once ``send_when`` is set."""
    from websockets.sync.server import serve

    def handler(ws):
        send_when.wait(30)
        ws.send(json.dumps({"QUERY_STRING": "outcome=albumin"}))

    server = serve(handler, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.setenv("VOILA_KERNEL_ID", "abc-123")
    monkeypatch.setenv("VOILA_APP_PORT", str(server.socket.getsockname()[1]))
    monkeypatch.setenv("VOILA_SERVER_URL", "/")
    monkeypatch.delenv("QUERY_STRING", raising=False)
    monkeypatch.delenv("VOILA_WS_BASE_URL", raising=False)
    return server


def test_a_preheated_kernel_works_while_it_waits_and_stops_when_the_request_comes(monkeypatch):
    request = threading.Event()
    calls = []

    def idle() -> bool:  # endless work, one short piece per call; the request comes at the 5th
        calls.append(request.is_set())
        if len(calls) == 5:
            request.set()
        return True

    server = _query_server(monkeypatch, request)
    try:
        assert request_query_string(timeout=30, idle=idle) == "outcome=albumin"
    finally:
        server.shutdown()
    assert len(calls) >= 5
    assert calls[:5] == [False] * 5  # it worked while nothing had come


def test_a_preheated_kernel_with_nothing_left_to_do_waits_for_the_request(monkeypatch):
    request = threading.Event()
    calls = []

    def idle() -> bool:
        calls.append(1)
        threading.Timer(0.3, request.set).start()  # the viewer arrives after the work is done
        return False

    server = _query_server(monkeypatch, request)
    try:
        assert request_query_string(timeout=30, idle=idle) == "outcome=albumin"
    finally:
        server.shutdown()
    assert calls == [1]


def test_an_app_without_the_compare_view_prefetches_nothing(data):
    from evidence.app import App

    app = App(data, views=("studies",))
    assert Prefetcher(app).run() == 0
    assert "compare" not in app.built


def test_a_kernel_prefetch_ends_by_freezing_what_is_left():
    """In a kernel (its own process: here a subprocess, so the test session is not frozen) the
    last step collects the garbage and freezes the objects left (gc.freeze), so that the
    collector's full passes during the viewer's changes walk only what they made."""
    import subprocess
    import sys

    code = (
        "import gc, sys\n"
        "from evidence.app import App\n"
        "from evidence.app.prefetch import Prefetcher\n"
        f"app = App.start({str(ROOT)!r})\n"
        "p = Prefetcher(app, settle=True)\n"
        "n = p.run()\n"
        "assert n > 30 and p.frozen and gc.get_freeze_count() > 10000, gc.get_freeze_count()\n"
        "app.change('estimator', 'DL')\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
