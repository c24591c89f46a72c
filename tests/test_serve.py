"""``evidence serve`` settings and the kernel bookkeeping, without a server (the real-server
safety tests are tests/browser/test_serving.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evidence import serve as s
from evidence.serving.kernels import EvidenceKernelManager, Viewer

from .conftest import ROOT

ENV = (
    s.POOL_ENV,
    s.CULL_ENV,
    s.CULL_INTERVAL_ENV,
    s.MAX_KERNELS_ENV,
    s.RETRY_ENV,
    s.GRACE_ENV,
    s.IP_ENV,
    s.TOKEN_ENV,
    s.INSECURE_ENV,
    s.BASE_URL_ENV,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_loopback_without_token():
    settings, warnings = s.resolve()
    assert settings.ip == "127.0.0.1" and settings.token is None and not warnings
    assert settings.max_kernels == s.MAX_KERNELS_DEFAULT and settings.pool_size == 2
    argv = s.voila_argv(ROOT / s.NOTEBOOK, settings)
    for arg in (
        "--Voila.ip=127.0.0.1",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--EvidenceKernelManager.max_kernels=20",
        "--MappingKernelManager.cull_connected=False",
        "--VoilaConfiguration.multi_kernel_manager_class="
        "evidence.serving.kernels.EvidenceKernelManager",
    ):
        assert arg in argv, arg
    assert not any(a.startswith("--Voila.token") for a in argv)


@pytest.mark.parametrize("ip", ["0.0.0.0", "::", "192.168.1.20"])
def test_beyond_loopback_needs_a_token(ip, monkeypatch):
    with pytest.raises(s.UsageError, match="without a token"):
        s.resolve(ip=ip)
    monkeypatch.setenv(s.IP_ENV, ip)
    with pytest.raises(s.UsageError, match="without a token"):
        s.resolve()
    settings, warnings = s.resolve(ip=ip, insecure_no_token=True)
    assert settings.token is None and "WITHOUT a token" in warnings[0]
    settings, warnings = s.resolve(ip=ip, token="auto")
    assert len(settings.token) >= 30 and not warnings
    assert f"--Voila.token={settings.token}" in s.voila_argv(ROOT / s.NOTEBOOK, settings)


def test_serve_refuses_before_starting_anything(capsys):
    assert s.serve(port=1, root=ROOT, ip="0.0.0.0") == 2
    assert "refusing to serve on 0.0.0.0" in capsys.readouterr().err


def test_token_from_the_environment(monkeypatch):
    monkeypatch.setenv(s.TOKEN_ENV, "a-long-enough-token-value")
    assert s.resolve()[0].token == "a-long-enough-token-value"
    with pytest.raises(s.UsageError, match="16 characters"):
        s.resolve(token="short")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ip": "example.org"}, "IP address"),
        ({"port": 0}, "invalid port"),
        ({"base_url": "/a/../b"}, "invalid base URL"),
        ({"pool_size": -1}, "negative"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(s.UsageError, match=message):
        s.resolve(**kwargs)


def test_environment_numbers(monkeypatch):
    monkeypatch.setenv(s.POOL_ENV, "30")
    monkeypatch.setenv(s.MAX_KERNELS_ENV, "8")
    settings, warnings = s.resolve()
    assert settings.pool_size == 8 and "above the kernel cap" in warnings[0]
    monkeypatch.setenv(s.MAX_KERNELS_ENV, "lots")
    with pytest.raises(s.UsageError, match="must be an integer"):
        s.resolve()
    monkeypatch.delenv(s.MAX_KERNELS_ENV)
    assert s.resolve(base_url="services/evidence")[0].base_url == "/services/evidence/"


def _running(km: EvidenceKernelManager, kernel_id: str) -> None:
    km._kernels[kernel_id] = object()  # as if started (the bookkeeping only looks at ids)


def test_the_cap_counts_reserved_and_running_kernels():
    km = EvidenceKernelManager(max_kernels=2)
    a = km.reserve()
    assert km.used() == 1 and km.has_room()
    _running(km, a)
    b = km.reserve()
    assert km.used() == 2 and not km.has_room() and km.room() == 0
    km._kernels.pop(a)
    km.release(a)
    assert km.used() == 1 and km.has_room()
    km.release(b)
    assert km.used() == 0 and EvidenceKernelManager(max_kernels=0).room() > 1000


def test_owners_and_abandoned_kernels():
    km = EvidenceKernelManager(max_kernels=4, connect_grace=5)
    mine, theirs = km.reserve(), km.reserve()
    for kernel_id, user in ((mine, "me"), (theirs, "them")):
        _running(km, kernel_id)
        km.claim(kernel_id, Viewer(user))
    assert km.is_owner(mine, "me") and not km.is_owner(mine, "them")
    assert not km.is_owner(mine, None) and not km.is_owner("no-such-kernel", "me")
    now = time.monotonic()
    assert km.abandoned(now) == []  # just served
    assert sorted(km.abandoned(now + 6)) == sorted([mine, theirs])  # never connected
    km.connected(mine)
    assert km.abandoned(now + 6) == [theirs]  # an open page keeps its kernel
    assert km.abandoned(user="me") == []
    km.disconnected(mine)
    assert km.abandoned(user="me") == [mine]  # the viewer reloads: their old page is gone
    assert km.abandoned(user="them") == []  # never connected: maybe still loading
    km.release(mine)
    assert mine not in km.owners


@pytest.mark.parametrize("token", [" " * 16, "\t\n  ", "   \u00a0  "])
def test_whitespace_token_is_refused(token, monkeypatch):
    """A token of spaces is a mistake, not "no token" (before: it silently meant no token)."""
    with pytest.raises(s.UsageError, match="empty or only spaces"):
        s.resolve(token=token)
    monkeypatch.setenv(s.TOKEN_ENV, token)
    with pytest.raises(s.UsageError, match="empty or only spaces"):
        s.resolve()
    with pytest.raises(s.UsageError, match="empty or only spaces"):
        s.resolve(ip="0.0.0.0")  # never "serve beyond loopback without a token"


def test_token_with_inner_space_or_control_is_refused():
    for token in ("two words token value", "nul\x00-0123456789abcdef", "tab\there-0123456789"):
        with pytest.raises(s.UsageError, match="spaces or control characters"):
            s.resolve(token=token)
    assert s.resolve(token="  padded-token-0123456789\n")[0].token == "padded-token-0123456789"


def _serve_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``evidence serve`` as a user runs it (a real process; it must exit by itself)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENCE_")}
    return subprocess.run(
        [sys.executable, "-m", "evidence.cli", "serve", "--no-browser", "--root", str(ROOT),
         *args],
        env={**full_env, **(env or {})}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_serve_refuses_a_whitespace_token_with_exit_2():
    for env, args in (({s.TOKEN_ENV: " " * 16}, ()), ({}, ("--token", " " * 16))):
        done = _serve_cli("--port", "1", *args, env=env)
        assert done.returncode == 2, (done.returncode, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "empty or only spaces" in lines[0], done.stderr
        assert "Traceback" not in done.stderr


def test_busy_port_exits_2_with_one_line():
    """Another server on the port: one line naming it, exit 2 (before: exit 1, the code for
    data errors, after Voila's own log lines)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve_cli("--port", str(port), "--pool-size", "0")
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    assert f"port {port}" in lines[0] and "in use" in lines[0] and "--port" in lines[0]


def test_port_in_use_while_starting_is_exit_2(monkeypatch, capsys):
    """The port is taken between the check and Voila's listen (a race): still exit 2, one
    line, no kernel started."""
    monkeypatch.setattr(s, "port_free", lambda ip, port: True)
    environ = dict(os.environ)  # serve() sets the kernels' variables in its own environment
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            assert s.serve(port=port, open_browser=False, root=ROOT, pool_size=0) == 2
    finally:
        os.environ.clear()
        os.environ.update(environ)
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1 port {port}" in err and "Traceback" not in err


def test_voila_gets_the_throttled_identity_provider():
    argv = s.voila_argv(ROOT / s.NOTEBOOK, s.resolve(token="auto")[0])
    assert "--Voila.identity_provider_class=evidence.serving.auth.EvidenceIdentityProvider" in argv


def test_token_throttle_slows_down_and_forgets():
    from evidence.serving.auth import TokenThrottle

    now = [1000.0]
    t = TokenThrottle(free=3, first_delay=1, max_delay=8, forget_after=100, clock=lambda: now[0])
    assert [t.failed("10.0.0.1") for _ in range(2)] == [0.0, 0.0]
    assert t.wait("10.0.0.1") == 0
    assert t.failed("10.0.0.1") == 1  # the third: wait 1 s, then 2, 4, 8, 8
    assert t.wait("10.0.0.1") == 1 and t.wait("10.0.0.2") == 0  # per client
    assert [t.failed("10.0.0.1") for _ in range(4)] == [2, 4, 8, 8]
    now[0] += 8
    assert t.wait("10.0.0.1") == 0
    t.succeeded("10.0.0.1")  # the right token: a fresh start
    assert t.failed("10.0.0.1") == 0
    now[0] += 101  # a long time without a wrong token: forgotten
    assert [t.failed("10.0.0.1") for _ in range(2)] == [0.0, 0.0]
    # one IPv6 host has a /64: its addresses are one client
    for i in range(3):
        t.failed(f"2001:db8::{i + 1}")
    assert t.wait("2001:db8::ffff") == 1
    assert t.client("::ffff:10.0.0.9") == "10.0.0.9"


def test_token_throttle_memory_is_bounded():
    from evidence.serving.auth import TokenThrottle

    t = TokenThrottle(max_clients=100)
    for i in range(5000):
        t.failed(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(t.clients) == 100
    assert "10.0.19.135" in t.clients and "10.0.0.0" not in t.clients  # oldest dropped


def test_hub_oauth_cookies_are_same_site(monkeypatch):
    pytest.importorskip("jupyterhub")
    from evidence.serving.hub import HubIdentityProvider

    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "x" * 32)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/services/evidence/")
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:1/hub/api")
    monkeypatch.delenv("JUPYTERHUB_COOKIE_OPTIONS", raising=False)
    assert HubIdentityProvider().hub_auth.cookie_options == {"samesite": "Lax"}
    monkeypatch.setenv("JUPYTERHUB_COOKIE_OPTIONS", '{"samesite": "Strict", "secure": true}')
    options = HubIdentityProvider().hub_auth.cookie_options
    assert options == {"samesite": "Strict", "secure": True}  # the hub's own choice wins


def test_dashboard_kernels_run_without_debugger_or_history():
    """A kernel started with the served dashboard's arguments (KERNEL_ARGS) and environment
    (KERNEL_ENV) is ipykernel's without debugpy (8 MB a kernel), without IPython's history (its
    SQLite thread) and at -OO (no docstrings), and runs code, widgets, the app's libraries and
    errors as any kernel does."""
    from jupyter_client.manager import KernelManager

    from evidence.serve import KERNEL_ENV
    from evidence.serving.kernels import KERNEL_ARGS

    km = KernelManager(kernel_name="python3")
    km.start_kernel(extra_arguments=list(KERNEL_ARGS), env={**os.environ, **KERNEL_ENV})
    kc = km.client()
    out: list[str] = []
    errors: list[str] = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            errors.append(msg["content"]["ename"])

    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        code = (
            "import sys, ipywidgets\n"
            "w = ipywidgets.IntSlider(3); display(w)\n"
            "k = get_ipython().kernel\n"
            "print(type(k).__name__, sys.modules.get('debugpy'), getattr(k, 'debugger', None),"
            " w.value, get_ipython().history_manager.enabled, 'sqlite3' in sys.modules,"
            " sys.flags.optimize)\n"
            "import pandas, plotly.graph_objects as go, evidence.app.dashboard\n"
            "fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]), layout={'title': 'x'})\n"
            "print(pandas.DataFrame({'a': [1]}).to_csv().count('a'), len(fig.to_dict()['data']),"
            " evidence.app.dashboard.__doc__)\n"
        )
        reply = kc.execute_interactive(code, timeout=120, output_hook=hook)
        assert reply["content"]["status"] == "ok", errors
        assert "".join(out).split() == [
            *("DashboardKernel", "None", "None", "3", "False", "False", "2"),
            *("1", "1", "None"),
        ]
        kc.execute_interactive("1/0", timeout=60, output_hook=hook)
        assert errors == ["ZeroDivisionError"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_served_scripts_carry_the_compile_hint():
    """plotly.js and every script of Voila's front end are served from the temporary data
    directory with V8's compile hint as their first line, and are otherwise unchanged."""
    from evidence.serving import compile_hints, plotlyjs

    runtime = s._bundle_dir()
    try:
        static = runtime / "voila" / "templates" / s.TEMPLATE / "static"
        plotly_js, _ = plotlyjs.choose()
        assert (static / s.BUNDLE_NAME).read_bytes() == compile_hints.HINT + plotly_js.read_bytes()
        front = compile_hints.voila_front_end()
        assert front is not None and (front / "voila.js").is_file()
        scripts = sorted(p.name for p in front.glob("*.js"))
        assert {"voila.js", "voila-style.js"} <= set(scripts)
        for name in scripts:
            assert (static / name).read_bytes() == compile_hints.HINT + (front / name).read_bytes()
        # nothing but scripts is copied: fonts and styles are served from Voila's own folder
        assert {p.name for p in static.iterdir()} == {s.BUNDLE_NAME, *scripts}
        # the extensions the page loads: whole folders, scripts hinted, where Voila had them
        from jupyterlab_server.config import get_federated_extensions
        from voila.utils import get_voila_labextensions_path

        installed = get_federated_extensions(get_voila_labextensions_path())
        copies = {
            "anywidget": runtime / "labextensions" / "anywidget",
            "@jupyter-widgets/jupyterlab-manager": runtime
            / "labextensions"
            / "@jupyter-widgets/jupyterlab-manager",
            "@voila-dashboards/widgets-manager8": runtime
            / "voila"
            / "labextensions"
            / "@voila-dashboards/widgets-manager8",
        }
        for name, copy in copies.items():
            source = Path(installed[name]["ext_path"])
            files = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
            assert files == sorted(p.relative_to(copy) for p in copy.rglob("*") if p.is_file())
            for rel in files:
                script = rel.parts[0] == "static" and rel.suffix == ".js"
                hint = compile_hints.HINT if script else b""
                assert (copy / rel).read_bytes() == hint + (source / rel).read_bytes(), rel
        for name in s.DENIED_EXTENSIONS:  # never loaded by the page: not copied
            assert not (runtime / "labextensions" / name).exists()
    finally:
        shutil.rmtree(runtime)
