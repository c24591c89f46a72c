"""A real Voila server (started the way users start it: ``evidence serve``) and a real chromium.

- One server per session on a free port, with a short idle-kernel cull so a test can watch
  culling happen; stopped by PID (SIGTERM: Voila shuts its kernels down; then kill).
- Debian's chromium through PyPI playwright (``executable_path``; never ``playwright install``),
  headless, a fresh profile per test.
- Every request to a host other than this machine is blocked AND fails the test.
- A screenshot per test under tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
POOL_SIZE = 2
CULL_IDLE, CULL_INTERVAL = 12, 3  # seconds: short, so a test can see a kernel culled
START_TIMEOUT = 120
NAV_TIMEOUT = 90_000  # ms: Voila streams the page; wait for selectors, not for "load"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int, proc: subprocess.Popen, log: Path) -> None:
        self.port = port
        self.proc = proc
        self.log = log
        self.url = f"http://127.0.0.1:{port}/"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server's kernels."""
        total = 0.0
        for pid in self.kernels():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Until the pool is full and its kernels have run the notebook (no CPU for 1 s)."""
        deadline = time.monotonic() + timeout
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self.cpu_seconds()
            if len(self.kernels()) >= POOL_SIZE and now - before < 0.05:
                return
            before = now
        raise TimeoutError(f"kernels still busy after {timeout} s")

    def kernels(self) -> list[int]:
        """PIDs of the server's kernel processes (children running ipykernel)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmdline = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid and b"ipykernel" in cmdline:
                pids.append(int(stat.parent.name))
        return pids


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # Voila then shuts every kernel down
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (./dev test installs it with apt)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = ARTIFACTS / "voila.log"
    env = {
        **os.environ,
        "EVIDENCE_POOL_SIZE": str(POOL_SIZE),
        "EVIDENCE_CULL_IDLE": str(CULL_IDLE),
        "EVIDENCE_CULL_INTERVAL": str(CULL_INTERVAL),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("EVIDENCE_ROOT", None)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evidence.cli",
                "serve",
                "--port",
                str(port),
                "--no-browser",
                "--root",
                str(ROOT),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    srv = Server(port, proc, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "is filled with" not in srv.log_text():  # the pool is warm: pages are served
            if proc.poll() is not None:
                pytest.fail(f"evidence serve exited with {proc.returncode}:\n{srv.log_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the kernel pool did not fill in {START_TIMEOUT} s:\n{srv.log_text()}")
            time.sleep(0.25)
        srv.wait_idle()
        yield srv
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def chromium():
    """The session's one headless chromium (playwright's sync API allows one per thread, so
    every browser test module shares it; test_serving.py uses it with its own servers)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (./dev test installs it with apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        yield b
        b.close()


@pytest.fixture(scope="session")
def browser(server: Server, chromium):
    return chromium


@pytest.fixture
def page(browser, request):
    """A page in a fresh context; non-local requests are blocked and fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    outside: list[str] = []
    errors: list[str] = []

    def guard(route):
        url = route.request.url
        host = urlparse(url).hostname
        if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    with contextlib.suppress(Exception):  # a screenshot is a convenience, never the failure
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), timeout=15_000)
    context.close()
    assert not outside, f"requests left the machine: {outside}"
    assert not errors, f"page errors: {errors}"
