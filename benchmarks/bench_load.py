"""A room of viewers: N headless-chromium viewers open the served dashboard at the same moment.

    python benchmarks/bench_load.py                     # N = 1, 5, 10, 20 (about 10 minutes)
    python benchmarks/bench_load.py --viewers 20        # one round
    python benchmarks/bench_load.py --pool 5 --max-kernels 20 --viewers 20
    python benchmarks/bench_load.py --json load.json

For each N: a fresh ``evidence serve`` (loopback only, a free port) with a preheated pool of N
kernels and a cap of N kernels (override with ``--pool``/``--max-kernels``), started and left
to fill its pool and settle; then one chromium (Debian's, through playwright's async API) with
N browser contexts - N separate viewers with their own cookies and cache, every request to
another host blocked - that all navigate at once. Each viewer:

1. opens the dashboard and waits for the forest plot (time-to-interactive, TTI: navigation
   until ``.ev-forest .js-plotly-plot .main-svg`` exists);
2. changes the estimator to DL, then the outcome to Albumin, each timed inside the page from
   the change until the plot title shows it and a frame is painted (interaction latency).

A viewer that hits a timeout, an HTTP error (e.g. the "room is full" page), a page error or a
request leaving the machine counts as an error. Reported per N: TTI median/p95/max, errors,
interaction latency median/p95/max, the server's memory (the Voila process and every kernel,
resident set size, after the viewers drew their pages) and the CPU seconds used by the server
with its kernels and by chromium during the round: both run on this machine's two cores, while
in a real room each viewer's browser runs on their own laptop.

Bounded: at most 20 viewers, every wait has a timeout, the round has a deadline, the server is
stopped by PID (SIGTERM, then SIGKILL). Never asserts a time: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from chromium import (
    BACKGROUND_ARGS,
    CHROMIUM,
    CHROMIUM_ARGS,
    JS_CHANGE,
)  # benchmarks/chromium.py (run as a script)

ROOT = Path(__file__).resolve().parents[1]
MAX_VIEWERS = 20
FOREST = ".ev-forest .js-plotly-plot .main-svg"
START_TIMEOUT = 300  # s: a pool of 20 kernels on 2 cores takes about a minute
VIEWER_TIMEOUT = 120_000  # ms, each wait of a viewer
ROUND_DEADLINE = 420  # s, the whole round
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# (control, predicate on the option text, text the forest plot title then shows)
CHANGES = [
    (".ev-estimator", "DL", "DL estimator"),
    (".ev-outcome", "Albumin", "Albumin"),
]


# --- processes --------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = _stat(pid)
        if fields:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20
    except OSError:
        return 0.0


def is_kernel(pid: int) -> bool:
    try:
        return b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``evidence serve`` in its own process group, on a free loopback port."""

    def __init__(self, pool: int, cap: int, log: Path, root: Path = ROOT) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "EVIDENCE_POOL_SIZE": str(pool),
            "EVIDENCE_MAX_KERNELS": str(cap),
        }
        env.pop("EVIDENCE_ROOT", None)
        self.pool = pool
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "evidence.cli", "serve", "--no-browser", "--port",
                 str(self.port), "--root", str(root)],
                cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def kernels(self) -> list[int]:
        return [p for p in descendants(self.proc.pid) if p != self.proc.pid and is_kernel(p)]

    def wait_ready(self) -> float:
        """Until the pool is full and its kernels are idle; returns the seconds it took."""
        start = time.monotonic()
        deadline = start + START_TIMEOUT
        while "is filled with" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server not ready:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.5)
        before = cpu_seconds(self.kernels())
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = cpu_seconds(self.kernels())
            if len(self.kernels()) >= self.pool and now - before < 0.05:
                return time.monotonic() - start
            before = now
        raise RuntimeError("the pool kernels did not settle")

    def memory(self) -> dict:
        kernels = [rss_mb(p) for p in self.kernels()]
        return {
            "server_mb": rss_mb(self.proc.pid),
            "kernels": len(kernels),
            "kernel_mb_median": statistics.median(kernels) if kernels else 0.0,
            "kernel_mb_max": max(kernels, default=0.0),
            "total_mb": rss_mb(self.proc.pid) + sum(kernels),
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


# --- viewers ----------------------------------------------------------------------------------


async def viewer(browser, url: str, index: int, start: asyncio.Event, spread: float) -> dict:
    result: dict = {"viewer": index, "tti": None, "latencies": [], "error": None}
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    outside: list[str] = []
    errors: list[str] = []

    async def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await context.route("**/*", guard)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await start.wait()
        t0 = time.perf_counter()
        response = await page.goto(url, wait_until="commit", timeout=VIEWER_TIMEOUT)
        if response is None or response.status != 200:
            raise RuntimeError(f"HTTP {response.status if response else '?'}")
        await page.wait_for_selector(FOREST, timeout=VIEWER_TIMEOUT)
        result["tti"] = time.perf_counter() - t0
        await page.wait_for_function(
            "() => { const gd = document.querySelector('.ev-forest .js-plotly-plot');"
            " return gd && gd.layout && gd.layout.title && gd.layout.title.text; }",
            timeout=VIEWER_TIMEOUT,
        )
        rng = random.Random(index)
        for control, prefix, expect in CHANGES:
            await asyncio.sleep(rng.uniform(0, spread))
            ms = await page.evaluate(
                JS_CHANGE, [control, prefix, expect, ".ev-forest", True, 60000]
            )
            result["latencies"].append(ms / 1000.0)
        if errors:
            raise RuntimeError(f"page errors: {errors[:2]}")
        if outside:
            raise RuntimeError(f"requests left the machine: {outside[:2]}")
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    result["page"] = page
    result["context"] = context
    return result


# --- viewers without a browser (--mode protocol) ---------------------------------------------


def _http_page(port: int, path: str = "/") -> tuple[int, str, dict[str, str]]:
    """GET the page (streamed until the kernel ran the notebook) with a fresh cookie jar."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=VIEWER_TIMEOUT / 1000)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read().decode("utf-8", "replace")
        cookies = {}
        for value in r.headers.get_all("Set-Cookie") or []:
            key, _, val = value.split(";", 1)[0].partition("=")
            cookies[key.strip()] = val.strip()
        return r.status, body, cookies
    finally:
        conn.close()


def _frame_json(frame) -> tuple[dict, bytes]:
    if isinstance(frame, str):
        return json.loads(frame), frame.encode()
    count = int.from_bytes(frame[:4], "big")
    offsets = [int.from_bytes(frame[4 * (i + 1) : 4 * (i + 2)], "big") for i in range(count)]
    return json.loads(frame[offsets[0] : offsets[1] if count > 1 else len(frame)]), frame


async def protocol_viewer(
    url: str, port: int, index: int, start: asyncio.Event, spread: float
) -> dict:
    """What a page does, minus the browser: GET the page, open the kernel's websocket with the
    page's cookies, fetch every widget's state (the widget manager's first request), then the
    two control changes, each timed until the plot's update arrives. TTI here is the server's
    share of a viewer's time-to-interactive: the browser's own work is not included."""
    import uuid

    from websockets.asyncio.client import connect

    result: dict = {"viewer": index, "tti": None, "latencies": [], "error": None}
    session = uuid.uuid4().hex

    def message(msg_type: str, content: dict, metadata: dict | None = None) -> str:
        return json.dumps({
            "header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "bench",
                       "session": session, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": metadata or {}, "content": content,
            "channel": "shell",
            "buffers": [],
        })  # fmt: skip

    try:
        await start.wait()
        t0 = time.perf_counter()
        status, html, cookies = await asyncio.to_thread(_http_page, port)
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
        marker = '"kernelId": "'
        kernel_id = html[html.index(marker) + len(marker) :].split('"', 1)[0]
        ws_url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={session}"
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        async with connect(ws_url, additional_headers={"Cookie": cookie}, open_timeout=60,
                           max_size=64 * 2**20) as ws:  # fmt: skip

            async def until(predicate, timeout=VIEWER_TIMEOUT / 1000):
                async with asyncio.timeout(timeout):
                    while True:
                        msg, raw = _frame_json(await ws.recv())
                        if predicate(msg, raw):
                            return msg

            control = uuid.uuid4().hex
            await ws.send(
                message(
                    "comm_open",
                    {"comm_id": control, "data": {}, "target_name": "jupyter.widget.control"},
                    {"version": "1.0.0"},
                )
            )
            await ws.send(
                message("comm_msg", {"comm_id": control, "data": {"method": "request_states"}})
            )
            states = (await until(
                lambda m, r: m.get("msg_type") == "comm_msg"
                and m["content"].get("data", {}).get("method") == "update_states"
            ))["content"]["data"]["states"]  # fmt: skip
            result["tti"] = time.perf_counter() - t0
            rng = random.Random(index)
            for selector, prefix, expect in CHANGES:
                await asyncio.sleep(rng.uniform(0, spread))
                name = selector.lstrip(".")
                model_id, state = next(
                    (m, s["state"]) for m, s in states.items()
                    if name in s["state"].get("_dom_classes", ())
                )  # fmt: skip
                labels = [label.replace("\u00a0", " ") for label in state["_options_labels"]]
                choice = next(i for i, label in enumerate(labels) if label.startswith(prefix))
                t1 = time.perf_counter()
                await ws.send(
                    message(
                        "comm_msg",
                        {
                            "comm_id": model_id,
                            "data": {
                                "method": "update",
                                "state": {"index": choice},
                                "buffer_paths": [],
                            },
                        },
                    )
                )
                wanted = expect.encode()
                await until(lambda m, r, wanted=wanted: wanted in r)
                result["latencies"].append(time.perf_counter() - t1)
        result["leave"] = (kernel_id, cookie, cookies.get("_xsrf", ""))
    except Exception as exc:
        result["error"] = (
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        )
    return result


def _leave(port: int, kernel_id: str, cookie: str, xsrf: str) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            f"/voila/api/shutdown/{kernel_id}",
            body=f"_xsrf={xsrf}",
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        conn.getresponse().read()
    finally:
        conn.close()


async def _gather(tasks: list[asyncio.Task], start: asyncio.Event) -> tuple[list[dict], float]:
    t0 = time.perf_counter()
    start.set()
    done, pending = await asyncio.wait(tasks, timeout=ROUND_DEADLINE)
    wall = time.perf_counter() - t0
    for task in pending:
        task.cancel()
    results = [t.result() for t in done]
    results += [{"viewer": -1, "tti": None, "latencies": [], "error": "deadline"}] * len(pending)
    return results, wall


async def protocol_round(
    server: Server, n: int, spread: float
) -> tuple[list[dict], float, float, float]:
    start = asyncio.Event()
    tasks = [
        asyncio.create_task(protocol_viewer(server.url, server.port, i, start, spread))
        for i in range(n)
    ]
    await asyncio.sleep(0.5)
    cpu0 = cpu_seconds(descendants(server.proc.pid))
    results, wall = await _gather(tasks, start)
    cpu = cpu_seconds(descendants(server.proc.pid)) - cpu0
    for r in results:  # leave like a page: its unload beacon shuts the kernel down
        if "leave" in r:
            await asyncio.to_thread(_leave, server.port, *r.pop("leave"))
    return results, wall, cpu, 0.0


async def browser_round(
    server: Server, n: int, spread: float
) -> tuple[list[dict], float, float, float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS + BACKGROUND_ARGS, timeout=60_000
        )

        def chromium_pids() -> list[int]:
            server_pids = set(descendants(server.proc.pid))
            return [q for q in descendants(os.getpid()) if q not in server_pids]

        start = asyncio.Event()
        tasks = [
            asyncio.create_task(viewer(browser, server.url, i, start, spread)) for i in range(n)
        ]
        await asyncio.sleep(2.0)  # every context and page exists: now they navigate at once
        cpu0_server = cpu_seconds(descendants(server.proc.pid))
        cpu0_browser = cpu_seconds(chromium_pids())
        results, wall = await _gather(tasks, start)
        cpu_server = cpu_seconds(descendants(server.proc.pid)) - cpu0_server
        cpu_browser = cpu_seconds(chromium_pids()) - cpu0_browser
        for r in results:  # leave like a viewer: the unload beacon frees the kernel
            page, context = r.pop("page", None), r.pop("context", None)
            try:
                if page is not None:
                    await page.close(run_before_unload=True)
                if context is not None:
                    await context.close()
            except Exception:
                pass
        await browser.close()
    return results, wall, cpu_server, cpu_browser


async def one_round(
    n: int,
    pool: int,
    cap: int,
    work: Path,
    mode: str = "browser",
    spread: float = 0.0,
    root: Path = ROOT,
) -> dict:
    """One round of ``n`` viewers on a fresh server of the project at ``root`` (its code too,
    when the environment's PYTHONPATH names ``root/src``)."""
    server = Server(pool, cap, work / f"server-{mode}-{n}-{os.getpid()}-{time.time_ns()}.log", root)
    try:
        ready = server.wait_ready()
        idle = server.memory()
        print(f"N={n} ({mode}): pool of {pool} ready in {ready:.0f} s; {idle['kernels']} "
              f"kernels, {idle['kernel_mb_median']:.0f} MB each (median)", flush=True)  # fmt: skip
        run = protocol_round if mode == "protocol" else browser_round
        memory_box: dict = {}

        async def sample_memory() -> None:  # the peak, while the viewers are on their pages
            while True:
                m = server.memory()
                if m["total_mb"] > memory_box.get("total_mb", 0):
                    memory_box.update(m)
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample_memory())
        try:
            results, wall, cpu_server, cpu_browser = await run(server, n, spread)
        finally:
            sampler.cancel()
        memory = memory_box or server.memory()
    finally:
        server.stop()
    ttis = [r["tti"] for r in results if r["tti"] is not None and not r["error"]]
    lats = [x for r in results if not r["error"] for x in r["latencies"]]
    errors = [r["error"] for r in results if r["error"]]
    return {
        "viewers": n,
        "mode": mode,
        "spread_s": spread,
        "pool": pool,
        "max_kernels": cap,
        "pool_ready_s": ready,
        "wall_s": wall,
        "tti": ttis,
        "latency": lats,
        "errors": errors,
        "memory": memory,
        "cpu_server_s": cpu_server,
        "cpu_chromium_s": cpu_browser,
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def line(r: dict) -> str:
    t, lat, m = r["tti"], r["latency"], r["memory"]
    tti = (
        f"{statistics.median(t):6.2f} {pct(t, 0.95):6.2f} {max(t):6.2f}"
        if t
        else "     -      -      -"
    )
    la = (
        f"{statistics.median(lat) * 1000:6.0f} {pct(lat, 0.95) * 1000:6.0f} {max(lat) * 1000:6.0f}"
        if lat
        else "     -      -      -"
    )
    return (
        f"{r['mode'][:4]} {r['viewers']:>3} {r['pool']:>4} {r['max_kernels']:>4} | {tti} | "
        f"{len(r['errors']):>3} | "
        f"{la} | {m['server_mb']:6.0f} {m['kernel_mb_median']:6.0f} {m['total_mb']:7.0f} | "
        f"{r['cpu_server_s']:6.1f} {r['cpu_chromium_s']:6.1f}"
    )


HEADER = (
    "mode   N pool  cap |  TTI s: median    p95    max | err | latency ms: median  p95  max | "
    "MB: server kernel  total | CPU s: server chromium"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--pool", type=int, help="preheated kernels (default: N)")
    parser.add_argument("--max-kernels", type=int, help="kernel cap (default: max(N, pool))")
    parser.add_argument(
        "--mode",
        choices=["browser", "protocol"],
        default="browser",
        help="browser: N chromium viewers (default); protocol: N scripted viewers that do "
        "what the page does over HTTP and the kernel websocket, without a browser (the "
        "server's share of the time)",
    )
    parser.add_argument(
        "--spread",
        type=float,
        default=0.0,
        help="each viewer waits a random 0..SPREAD s before each control change (default 0: "
        "everyone changes the controls the moment their plot is drawn)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"no chromium at {CHROMIUM}")
        return 2
    if any(not 1 <= n <= MAX_VIEWERS for n in args.viewers):
        parser.error(f"viewers must be between 1 and {MAX_VIEWERS}")
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    rounds = []
    for n in args.viewers:
        pool = n if args.pool is None else args.pool
        cap = max(n, pool) if args.max_kernels is None else args.max_kernels
        r = asyncio.run(one_round(n, pool, cap, work, args.mode, args.spread))
        rounds.append(r)
        print(HEADER)
        print(line(r), flush=True)
        for error in sorted(set(r["errors"])):
            print(f"    error x{r['errors'].count(error)}: {error}")
    print(f"\n== results (server logs in {work}) ==")
    print(HEADER)
    for r in rounds:
        print(line(r))
    print("targets on the 2-core machine: N=20, 0 errors, every TTI < 15 s, latency p95 < 500 ms")
    if args.json:
        args.json.write_text(json.dumps(rounds, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
