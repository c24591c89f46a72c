"""Servers and clients for the safety tests of ``evidence serve`` (test_serving.py).

Each server is a real ``evidence serve`` (``python -m evidence.cli serve``) in its own process
group on a free loopback port, configured through its environment variables (a small kernel
cap, a short retry), logging to tests/artifacts/serving-<name>.log and stopped by PID.
:class:`RawViewer` is a viewer without a browser: it asks for the page over HTTP keeping its
own cookies, and talks to a kernel's websocket with the Jupyter protocol - what an attacker
who read a kernel id could do.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from .conftest import ARTIFACTS, ROOT, Server, _stop, free_port

START_TIMEOUT = 120


def kernel_cpu(server: Server) -> float:
    return server.cpu_seconds()


def wait_settled(server: Server, kernels: int, timeout: float = 120.0) -> None:
    """Until at least ``kernels`` kernels exist and none used CPU for a second."""
    deadline = time.monotonic() + timeout
    before = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = server.cpu_seconds()
        if len(server.kernels()) >= kernels and now - before < 0.05:
            return
        before = now
    raise TimeoutError(f"kernels still busy after {timeout} s:\n{server.log_text()[-2000:]}")


@contextlib.contextmanager
def evidence_server(
    name: str, root: Path = ROOT, env: dict[str, str] | None = None, pool: int = 1
) -> Iterator[Server]:
    """``evidence serve`` on a free port with ``env`` on top of the defaults below."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = ARTIFACTS / f"serving-{name}.log"
    full_env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "EVIDENCE_POOL_SIZE": str(pool),
        "EVIDENCE_MAX_KERNELS": "2",
        "EVIDENCE_RETRY_AFTER": "2",
        "EVIDENCE_CONNECT_GRACE": "60",
        **(env or {}),
    }
    for key in ("EVIDENCE_ROOT", "EVIDENCE_IP", "EVIDENCE_TOKEN", "EVIDENCE_INSECURE_NO_TOKEN"):
        if key not in (env or {}):
            full_env.pop(key, None)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "evidence.cli", "serve", "--port", str(port), "--no-browser",
             "--root", str(root)],
            cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = Server(port, proc, log)
    try:
        ready = "is filled with" if pool else "is running at"
        deadline = time.monotonic() + START_TIMEOUT
        while ready not in server.log_text():
            if proc.poll() is not None:
                raise RuntimeError(f"evidence serve exited with {proc.returncode}:\n"
                                   f"{server.log_text()}")  # fmt: skip
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready in {START_TIMEOUT} s:\n{server.log_text()}")
            time.sleep(0.25)
        if pool:
            wait_settled(server, pool)
        yield server
    finally:
        _stop(proc)


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.text = body.decode("utf-8", "replace")


class RawViewer:
    """A client with its own cookies: one 'viewer' as the server sees it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.cookies: dict[str, str] = {}

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(
        self,
        path: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 90.0,
    ) -> Response:
        """One request, ``path`` sent exactly as given (no normalisation, no redirects)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if self.cookies:
                hdrs.setdefault("Cookie", self.cookie_header())
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            for value in r.headers.get_all("Set-Cookie") or []:
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                self.cookies[key.strip()] = val.strip()
            return Response(r.status, r.headers, data)
        finally:
            conn.close()

    def open_page(self, query: str = "") -> str:
        """Load the dashboard page; returns the id of the kernel it was served with."""
        r = self.request("/" + query)
        assert r.status == 200, (r.status, r.text[:500])
        return kernel_id_of(r.text)

    def kernel(self, kernel_id: str, cookies: bool = True, origin: str | None = None):
        headers = {}
        if cookies and self.cookies:
            headers["Cookie"] = self.cookie_header()
        if origin:
            headers["Origin"] = origin
        return KernelSocket(self.server.port, kernel_id, headers)


def kernel_id_of(html: str) -> str:
    marker = '"kernelId": "'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def decode(frame: str | bytes) -> tuple[dict, bytes]:
    """A kernel message from the websocket (JSON text, or jupyter_server's legacy binary
    framing: count, offsets, JSON, buffers); with the raw frame for text searches."""
    if isinstance(frame, str):
        return json.loads(frame), frame.encode()
    count = int.from_bytes(frame[:4], "big")
    offsets = [int.from_bytes(frame[4 * (i + 1) : 4 * (i + 2)], "big") for i in range(count)]
    end = offsets[1] if count > 1 else len(frame)
    return json.loads(frame[offsets[0] : end]), frame


class KernelSocket:
    """A kernel websocket speaking the Jupyter protocol (JSON messages)."""

    def __init__(self, port: int, kernel_id: str, headers: dict[str, str]) -> None:
        from websockets.sync.client import connect

        self.session = uuid.uuid4().hex
        url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={self.session}"
        self.ws = connect(url, additional_headers=headers or None, open_timeout=15,
                          max_size=64 * 2**20).__enter__()  # fmt: skip
        self.received: list[tuple[dict, bytes]] = []

    def __enter__(self) -> KernelSocket:
        return self

    def __exit__(self, *exc) -> None:
        self.ws.__exit__(None, None, None)

    def send(
        self, msg_type: str, content: dict, channel: str = "shell", metadata: dict | None = None
    ) -> str:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "username": "test",
                       "session": self.session, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": metadata or {}, "content": content,
            "channel": channel, "buffers": [],
        }))  # fmt: skip
        return msg_id

    def wait(self, match: Callable[[dict, bytes], bool], timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching kernel message")
            try:
                frame = self.ws.recv(timeout=left)
            except TimeoutError:
                continue
            msg, raw = decode(frame)
            self.received.append((msg, raw))
            if match(msg, raw):
                return msg

    def drain(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            self.wait(lambda m, r: False, seconds)

    def kernel_info(self, timeout: float = 30.0) -> dict:
        self.send("kernel_info_request", {})
        return self.wait(lambda m, r: m.get("msg_type") == "kernel_info_reply", timeout)

    def widget_states(self, timeout: float = 60.0) -> dict:
        """Every widget model of the kernel: {model_id: {"model_name", "state", ...}}."""
        comm_id = uuid.uuid4().hex
        self.send("comm_open", {"comm_id": comm_id, "target_name": "jupyter.widget.control",
                                "data": {}}, metadata={"version": "1.0.0"})  # fmt: skip
        self.send("comm_msg", {"comm_id": comm_id, "data": {"method": "request_states"}})
        msg = self.wait(
            lambda m, r: (
                m.get("msg_type") == "comm_msg"
                and m["content"].get("data", {}).get("method") == "update_states"
            ),
            timeout,
        )
        return msg["content"]["data"]["states"]

    def update(self, model_id: str, state: dict) -> None:
        """What the page sends when a control changes (any values: it is a crafted client)."""
        self.send("comm_msg", {"comm_id": model_id, "data": {"method": "update", "state": state,
                                                              "buffer_paths": []}})  # fmt: skip


# --- a real JupyterHub with the deploy configuration ------------------------------------------

HUB_PASSWORD = "room-password-for-tests"


def chp_command() -> str | None:
    """configurable-http-proxy (npm): $EVIDENCE_TEST_CHP, else on PATH."""
    import shutil

    return os.environ.get("EVIDENCE_TEST_CHP") or shutil.which("configurable-http-proxy")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out[1:]


class Hub:
    def __init__(self, port: int, proc: subprocess.Popen, log: Path) -> None:
        self.port = port
        self.proc = proc
        self.log = log
        self.url = f"http://127.0.0.1:{port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def jupyterhub(work: Path, mode: str = "service") -> Iterator[Hub]:
    """``jupyterhub -f deploy/jupyterhub_config.py`` on free loopback ports, its state in
    ``work``; the evidence service with a pool of 1 and a cap of 2; stopped by PID."""
    import signal

    ports = [free_port() for _ in range(4)]
    config = work / "test_config.py"
    config.write_text(
        f"load_subconfig({str(ROOT / 'deploy' / 'jupyterhub_config.py')!r})\n"
        "c = get_config()\n"
        f"c.JupyterHub.db_url = 'sqlite:///{work}/jupyterhub.sqlite'\n"
        f"c.JupyterHub.cookie_secret_file = '{work}/jupyterhub_cookie_secret'\n"
        f"c.JupyterHub.hub_port = {ports[1]}\n"
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{ports[2]}'\n"
        f"c.ConfigurableHTTPProxy.command = [{chp_command()!r}]\n"
        f"c.ConfigurableHTTPProxy.pid_file = '{work}/proxy.pid'\n"
    )
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "EVIDENCE_ROOT": str(ROOT),
        "EVIDENCE_PYTHON": sys.executable,
        "EVIDENCE_HUB_MODE": mode,
        "EVIDENCE_HUB_PORT": str(ports[0]),
        "EVIDENCE_SERVICE_PORT": str(ports[3]),
        "EVIDENCE_HUB_PASSWORD": HUB_PASSWORD,
        "EVIDENCE_POOL_SIZE": "1",
        "EVIDENCE_MAX_KERNELS": "2",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = ARTIFACTS / "serving-hub.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    hub = Hub(ports[0], proc, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not all(t in hub.log_text() for t in ("is now running at", "is filled with")):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterHub did not start:\n{hub.log_text()[-4000:]}")
            time.sleep(0.5)
        yield hub
    finally:
        family = _descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the hub stops its service and its proxy
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for pid in family:  # anything the hub left behind, by PID
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        time.sleep(1)
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
