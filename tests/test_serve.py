"""``evidence serve`` settings and the kernel bookkeeping, without a server (the real-server
safety tests are tests/browser/test_serving.py)."""

from __future__ import annotations

import time

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
