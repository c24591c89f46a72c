"""Speed of the dashboard in a real browser, against a bare Voila notebook measured in the same run.

    python benchmarks/bench_app.py               # everything, 12 runs each (about 10 minutes)
    python benchmarks/bench_app.py --runs 20     # steadier percentiles
    python benchmarks/bench_app.py --skip-large --skip-appraisal --viewers 0   # the core only
    python benchmarks/bench_app.py --app-src /tmp/old   # an export of another commit
    python benchmarks/bench_app.py --before-src /tmp/old  # before/after, taking turns

The baseline is ``benchmarks/bare.ipynb`` (one Dropdown, one plotly FigureWidget), served the
default way (``voila bare.ipynb``: a fresh kernel per page, the lab template); the app by
``evidence serve`` (preheated pool, the evidence template). Headless Debian chromium through
playwright, a fresh browser context per page load, every request to another host blocked.
In one run it measures:

* time-to-interactive: from navigation until the plot is drawn (``.main-svg`` of the forest
  plot; of the one plot for the bare notebook), waiting between page loads until the servers'
  kernels are idle (a preheated pool refilled), as a later viewer would find them;
* main-thread work of those page loads: Chrome's ``Performance.getMetrics`` (TaskDuration,
  ScriptDuration, LayoutDuration, RecalcStyleDuration) from navigation until 2 s after the plot
  was drawn, with the scripts loaded (count, kB), widget views and DOM nodes; app / bare; and
  the renderer process's CPU on all its threads (``ProcessTime``: work moved off the main
  thread, e.g. compiling, still counts there);
* per-control latency: every sidebar control that changes the forest plot
  (:data:`APP_CONTROLS`), each changed the way a person does, from the change until the plot's
  DOM changed (a MutationObserver in the page) and a frame was painted; the bare dropdown the
  same way. Each control alternates between two values, so repeats may be served from the
  app's cache: the scripted viewers below make first-time changes;
* the older title-based latency (until the plot title shows the change) of the estimator,
  outcome and risk-of-bias controls, comparable with earlier runs;
* the Appraisal tab's first opening in a fresh page (``--skip-appraisal``);
* the same latency with a synthetic 2,000-study dataset (``--skip-large``);
* 1 and ``--viewers`` (default 20) scripted viewers at once, kernel-level clients that do
  what the page does over HTTP and the kernel websocket (benchmarks/bench_load.py --mode
  protocol): each opens the page, then changes the estimator and the outcome the moment its
  plot is drawn; latency p95 for 20 against 1;
* kernel memory (resident): the bare notebook's kernel, a fresh kernel that ran the bare
  notebook plus the app's third-party imports (:data:`BARE_IMPORTS`), the app's preheated
  kernels after load, and the measured page's kernel when drawn and after every change above.

Prints median and 95th percentile of each, and the ratios app/bare. Benchmarks never assert:
timings on a shared 2-core machine vary.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

# benchmarks/chromium.py, importable because a script runs with its folder on sys.path
from chromium import CHROMIUM, CHROMIUM_ARGS, JS_CHANGE, JS_CONTROL

# the menus' labels as the app writes them, so a renamed choice does not stop the run
from evidence.app.controls import EFFECT_LABELS, TEST_CHOICES

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_MS = 120_000
PLOT = ".js-plotly-plot .main-svg"

#: The baseline: a bare one-plot Voila notebook (one Dropdown, one plotly FigureWidget).
BARE_NOTEBOOK = Path(__file__).resolve().parent / "bare.ipynb"
#: What a bare kernel imports besides the bare notebook's own imports, so that its memory is
#: the app's third-party floor: the same libraries, none of the app's code or data (and the
#: same skipped IRI grammar as evidence.app, which is not the app's own work either).
BARE_IMPORTS = (
    "import sys; sys.modules.setdefault('rfc3987_syntax', None)\n"
    "import anywidget, bibtexparser, pandas, scipy.special  # noqa"
)

# Changes the page makes, and the text the plot title then shows.
APP_ESTIMATORS = [
    ("DL (DerSimonian-Laird, RevMan 5)", "DL estimator"),
    ("PM (Paule-Mandel)", "PM estimator"),
    ("REML (restricted maximum likelihood)", "REML estimator"),
    ("SJ (Sidik-Jonkman)", "SJ estimator"),
]
APP_OUTCOMES = [("Albumin", "Albumin:"), ("MELD score", "MELD score:")]
APP_ROB = [  # the subtitle then says how many arms the filter left out
    ("without high risk of bias", "risk of bias ("),
    ("without high risk or no information", "no information ("),
]
#: Appraisal sections: the tab to click and what is drawn when the section is ready.
APPRAISAL_STEPS = [
    ("claims", ".ev-tab > .lm-TabBar .lm-TabBar-tab >> text=Appraisal", ".ev-claims table"),
    ("risk of bias", ".ev-appraisal-tab .lm-TabBar-tab >> text=Risk of bias",
     ".ev-rob-traffic .js-plotly-plot .main-svg"),
    ("certainty", ".ev-appraisal-tab .lm-TabBar-tab >> text=Certainty", ".ev-sof table"),
    ("flow", ".ev-appraisal-tab .lm-TabBar-tab >> text=Study flow",
     ".ev-flow-plot .js-plotly-plot .main-svg"),
]  # fmt: skip
BARE_VALUES = [("RCT", "design=RCT"), ("Cohort", "design=Cohort"), ("All", "design=All")]
#: Every control of the sidebar that changes the forest plot, the way a person changes it:
#: (name, CSS selector, kind, the values it alternates between). Left out: the counted
#: outcomes' measure (disabled unless a counted outcome is compared with control) and the
#: Bayesian model's prior and threshold (shown only for the Bayesian estimator).
APP_CONTROLS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("outcome", ".ev-outcome", "select", ("Albumin", "MELD score")),
    ("effect", ".ev-effect", "select",
     (EFFECT_LABELS["control"], EFFECT_LABELS["change"])),
    ("window", ".ev-window", "select", ("4 to 6 months", "latest reported")),
    ("groups (HSC)", ".ev-group-hsc", "checkbox", ("", "")),
    ("design", ".ev-design", "select", ("controlled studies", "all designs")),
    ("confidence", ".ev-confidence", "select",
     ("verified, secondary and third-party copies", "verified and secondary")),
    ("population", ".ev-population", "select", ("decompensated cirrhosis only", "all populations")),
    ("risk of bias", ".ev-rob", "select", ("without high risk of bias", "all studies")),
    ("estimator", ".ev-estimator", "select",
     ("DL (DerSimonian-Laird, RevMan 5)", "REML (restricted maximum likelihood)")),
    ("Knapp-Hartung", ".ev-test", "select", (TEST_CHOICES["knha"], TEST_CHOICES["z"])),
    ("pre-post r", ".ev-corr", "slider", ("ArrowRight", "ArrowLeft")),
]  # fmt: skip


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A Voila server in its own process group, stopped by PID (SIGTERM, then kill)."""

    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict, log: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, marker: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.25)

    def kernels(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (stat.parent / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.proc.pid and b"ipykernel" in cmdline:
                pids.append(int(stat.parent.name))
        return pids

    def cpu(self) -> float:
        total = 0.0
        for pid in [self.proc.pid, *self.kernels()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def wait_idle(self, min_kernels: int = 0, timeout: float = 120) -> None:
        """Until the server and its kernels used no CPU for a second (a refilled pool)."""
        deadline = time.monotonic() + timeout
        before = self.cpu()
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self.cpu()
            if now - before < 0.05 and len(self.kernels()) >= min_kernels:
                return
            before = now
        print(f"  ({self.name}: still busy after {timeout} s)")

    def rss_mb(self) -> list[float]:
        out = []
        for pid in self.kernels():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out.append(int(line.split()[1]) / 1024)
            except OSError:
                continue
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# --- the synthetic dataset --------------------------------------------------------------------

SYNTH_GROUPS = ("MSC", "HSC", "BM-MNC", "MSC+HSC")
SYNTH_DESIGNS = ("RCT", "non-randomised controlled", "single-arm", "case series")


def synthetic_dataset(root: Path, n_studies: int = 2000, seed: int = 7) -> Path:
    """``n_studies`` made-up studies in the project's format (docs/data-format.md): one
    treated arm each (cycling through the cell groups), a control arm for controlled designs,
    MELD and albumin at baseline and 6 months as mean and SD."""
    rng = random.Random(seed)
    (root / "data").mkdir(parents=True, exist_ok=True)
    bib, arms, outcomes = [], [], []
    for i in range(n_studies):
        key = f"synth{i:04d}_bench"
        group = SYNTH_GROUPS[i % len(SYNTH_GROUPS)]
        design = SYNTH_DESIGNS[i % len(SYNTH_DESIGNS)]
        n = rng.randint(6, 60)
        nc = rng.randint(6, 60) if design in ("RCT", "non-randomised controlled") else 0
        bib.append(
            f"@article{{{key},\n  author = {{Author{i}, A. and Other, B.}},\n"
            f"  title = {{Synthetic study {i}}},\n  journal = {{Journal of Benchmarks}},\n"
            f"  year = {{{2000 + i % 25}}},\n  doi = {{10.5555/synth.{i}}},\n"
            f"  kind = {{study}},\n  design = {{{design}}},\n  species = {{human}},\n"
            f"  population = {{decompensated cirrhosis}},\n  cell_groups = {{{group}}},\n"
            f"  n_total = {{{n + nc}}},\n  follow_up = {{6 mo}},\n  confidence = {{verified}},\n"
            f"  source = {{abstract https://example.org/{i}}}\n}}\n"
        )
        arms.append([key, group, group, n, "treated", "abstract", "verified", ""])
        if nc:
            arms.append([key, "control", "control", nc, "randomised", "abstract", "verified", ""])
        for arm, size in ((group, n), ("control", nc)):
            if not size:
                continue
            meld = rng.uniform(12, 22)
            change = rng.gauss(-1.5 if arm != "control" else -0.3, 1.2)
            albumin = rng.uniform(28, 34)
            for outcome, unit, base, after in (
                ("meld", "points", meld, meld + change),
                ("albumin", "g/L", albumin, albumin + rng.gauss(1.5, 1.0)),
            ):
                for tp, mean in (("baseline", base), ("6 mo", after)):
                    for stat, value in (("mean", mean), ("sd", rng.uniform(2.5, 5.5))):
                        outcomes.append(
                            [key, arm, outcome, "level", tp, stat, f"{value:.2f}", unit, "",
                             "Table 2", "verified", "", ""]
                        )  # fmt: skip
    (root / "references.bib").write_text("\n".join(bib), encoding="utf-8")
    with (root / "data" / "arms.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["citekey", "arm", "group", "n", "n_basis", "locator", "confidence", "note"])
        w.writerows(arms)
    with (root / "data" / "outcomes.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["citekey", "arm", "outcome", "quantity", "timepoint", "statistic", "value", "unit",
             "n", "locator", "confidence", "source_url", "note"]
        )  # fmt: skip
        w.writerows(outcomes)
    with (root / "data" / "external.csv").open("w", newline="") as f:
        csv.writer(f).writerow(
            ["citekey", "group", "outcome", "comparison", "timepoint", "measure", "estimate",
             "ci_lb", "ci_ub", "unit", "k", "locator", "confidence", "note"]
        )  # fmt: skip
    (root / "notebooks").mkdir(exist_ok=True)
    shutil.copy(ROOT / "notebooks" / "app.ipynb", root / "notebooks" / "app.ipynb")
    return root


# --- measuring --------------------------------------------------------------------------------


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def new_page(browser, blocked: list[str]):
    context = browser.new_context(viewport={"width": 1400, "height": 900})

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    return context, context.new_page()


#: Chrome's main-thread counters (``Performance.getMetrics``, seconds of the page's renderer).
MAIN_THREAD = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")
#: What the page loaded and built, read in the page once it settled.
JS_PAGE_FACTS = """() => {
  const scripts = performance.getEntriesByType('resource').filter(
    (r) => r.initiatorType === 'script' || /\\.m?js(\\?|$)/.test(r.name));
  return {
    scripts: scripts.length,
    script_kb: scripts.reduce((a, r) => a + (r.decodedBodySize || 0), 0) / 1024,
    widget_views: document.querySelectorAll('.jupyter-widgets').length,
    dom_nodes: document.getElementsByTagName('*').length,
  };
}"""


def time_to_interactive(
    browser,
    servers: Server | list[Server],
    selector: str,
    runs: int,
    min_kernels: int,
    settle_ms: int = 2000,
) -> dict[str, tuple[list[float], list[dict]]]:
    """Page loads in fresh contexts, the servers taking turns (so that a change in the
    machine's load hits them alike): seconds until ``selector`` is drawn, and each page's
    main-thread work (Chrome's counters, from navigation until the page settled ``settle_ms``
    after the plot was drawn) with what it loaded (scripts, widget views, DOM nodes); by
    server name."""
    servers = servers if isinstance(servers, list) else [servers]
    out: dict[str, tuple[list[float], list[dict]]] = {s.name: ([], []) for s in servers}
    blocked: list[str] = []
    for i in range(runs):
        for server in servers:
            times, work = out[server.name]
            server.wait_idle(min_kernels)
            context, page = new_page(browser, blocked)
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
            start = time.perf_counter()
            page.goto(server.url, wait_until="commit", timeout=TIMEOUT_MS)
            page.wait_for_selector(selector, timeout=TIMEOUT_MS)
            times.append(time.perf_counter() - start)
            page.wait_for_timeout(settle_ms)
            got = cdp.send("Performance.getMetrics")["metrics"]
            metrics = {m["name"]: m["value"] for m in got}
            facts = page.evaluate(JS_PAGE_FACTS)
            work.append(
                {k: metrics.get(k, 0.0) * 1000 for k in MAIN_THREAD}
                | {"renderer_cpu": metrics.get("ProcessTime", 0.0) * 1000}
                | facts
            )
            print(
                f"  {server.name} page {i + 1}: {times[-1]:.2f} s, main thread "
                f"{work[-1]['TaskDuration']:.0f} ms (script {work[-1]['ScriptDuration']:.0f} "
                f"ms), {facts['scripts']} scripts {facts['script_kb']:.0f} kB, "
                f"{facts['widget_views']} widget views"
            )
            context.close()
    if blocked:
        print(f"  blocked {len(set(blocked))} non-local URL(s): {set(blocked)}")
    return out


def control_latencies(
    pages: dict[str, object],
    plot: str,
    controls: list[tuple[str, str, str, tuple[str, ...]]],
    runs: int,
) -> dict[str, dict[str, list[float | None]]]:
    """Each control ``runs`` times on each page (the pages taking turns), alternating between
    its two values, 0.4 s apart: ms from the change until the plot's DOM changed and a frame
    was painted (None: no change in 15 s); by page name, then control."""
    out: dict[str, dict[str, list[float | None]]] = {name: {} for name in pages}
    for control, selector, kind, values in controls:
        for name in pages:
            out[name][control] = []
        for i in range(runs):
            for name, page in pages.items():
                page.wait_for_timeout(400)
                ms = page.evaluate(JS_CONTROL, [selector, kind, values[i % 2], plot, 15000])
                if ms == -1:  # already showing that value (the first change of a control)
                    ms = page.evaluate(
                        JS_CONTROL, [selector, kind, values[(i + 1) % 2], plot, 15000]
                    )
                out[name][control].append(ms)
        for name, page in pages.items():
            if runs % 2:  # back to the default: the next control starts from the same page
                page.wait_for_timeout(400)
                page.evaluate(JS_CONTROL, [selector, kind, values[1], plot, 15000])
            got = [x for x in out[name][control] if x is not None]
            med = f"{statistics.median(got):.0f} ms" if got else "-"
            missed = len(out[name][control]) - len(got)
            print(f"  {name} {control}: median {med}, {missed} without a plot change")
    return out


def page_kernel(page, server: Server) -> int | None:
    """The PID of the kernel serving ``page`` (its id is in the page, and in the kernel's
    connection file name on its command line)."""
    html = page.content()
    marker = '"kernelId": "'
    if marker not in html:
        return None
    kernel_id = html[html.index(marker) + len(marker) :].split('"', 1)[0]
    for pid in server.kernels():
        try:
            if kernel_id.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    return None


def rss_of(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def bare_kernel_rss(env: dict) -> float:
    """Resident MB of a fresh kernel that ran the bare notebook plus the app's third-party
    imports (:data:`BARE_IMPORTS`): what any kernel showing one plot with these libraries
    holds, before the app's own code and data."""
    import nbformat
    from jupyter_client.manager import KernelManager

    source = nbformat.read(BARE_NOTEBOOK, as_version=4).cells[0].source
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env)
    kc = km.client()
    out: list[str] = []
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        code = (
            f"{BARE_IMPORTS}\n{source}\n"
            "import os as _os\n"
            "print(int(open(f'/proc/{_os.getpid()}/statm').read().split()[1])"
            " * _os.sysconf('SC_PAGE_SIZE') / 2**20)"
        )

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("error: " + msg["content"]["evalue"])

        kc.execute_interactive(code, timeout=120, output_hook=hook)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return float("".join(out).strip().splitlines()[-1])


def latencies(page, control: str, plot: str, changes: list[tuple[str, str]], runs: int):
    """One change at a time, each after the page settled (a person does not change a control
    every frame: the kernel has then also digested plotly's after-update messages)."""
    out = []
    for i in range(runs):
        label, expect = changes[i % len(changes)]
        page.wait_for_timeout(400)
        out.append(page.evaluate(JS_CHANGE, [control, label, expect, plot, False, 30000]) / 1000.0)
    return out


def appraisal_first_open(browser, server: Server, runs: int) -> dict[str, list[float]]:
    """In a fresh page each run: click the Appraisal tab, then each section, until drawn."""
    out: dict[str, list[float]] = {name: [] for name, _, _ in APPRAISAL_STEPS}
    for _ in range(runs):
        server.wait_idle(2)
        context, page = open_page(browser, server, ".ev-forest " + PLOT)
        for name, tab, drawn in APPRAISAL_STEPS:
            start = time.perf_counter()
            page.click(tab)
            page.wait_for_selector(drawn, timeout=TIMEOUT_MS)
            out[name].append(time.perf_counter() - start)
        print("  appraisal: " + ", ".join(f"{n} {v[-1]:.2f} s" for n, v in out.items()))
        context.close()
    return out


def open_page(browser, server: Server, selector: str):
    context, page = new_page(browser, [])
    page.goto(server.url, wait_until="commit", timeout=TIMEOUT_MS)
    page.wait_for_selector(selector, timeout=TIMEOUT_MS)
    # The sidebar's folded settings join the page when opened, as a person opens them.
    if page.locator(".ev-more").count() and not page.locator(".ev-estimator").count():
        page.click(".ev-more")
        page.wait_for_selector(".ev-estimator select", timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)
    return context, page


def report(name: str, values: list[float], unit: str = "s", scale: float = 1.0) -> tuple:
    med, p95 = summary(values)
    print(f"{name:<46} median {med * scale:8.3f} {unit}   p95 {p95 * scale:8.3f} {unit}")
    return med, p95


def median_of(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def viewers_round(n: int, work: Path, root: Path, env: dict) -> dict:
    """``n`` scripted viewers (kernel-level clients, benchmarks/bench_load.py --mode protocol)
    arriving at once on a fresh ``evidence serve`` of ``root`` with a preheated pool of ``n``."""
    import asyncio

    import bench_load  # benchmarks/bench_load.py, beside this script

    saved = os.environ.get("PYTHONPATH")
    os.environ.pop("PYTHONPATH", None)
    if env.get("PYTHONPATH"):  # bench_load's server takes this process's environment
        os.environ["PYTHONPATH"] = env["PYTHONPATH"]
    try:
        return asyncio.run(bench_load.one_round(n, n, n, work, "protocol", root=root))
    finally:
        os.environ.pop("PYTHONPATH", None)
        if saved is not None:
            os.environ["PYTHONPATH"] = saved


def git_label(root: Path) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%h %cI"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return str(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12, help="runs per measure (>= 10 for a p95)")
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-appraisal", action="store_true")
    parser.add_argument(
        "--viewers", type=int, default=20, help="scripted viewers at once (0: skip; at most 20)"
    )
    parser.add_argument(
        "--app-src",
        type=Path,
        help="serve the app (code and data) from this source tree instead of this checkout, "
        "e.g. an export of an older commit, to compare it in the same conditions",
    )
    parser.add_argument(
        "--before-src",
        type=Path,
        help="also serve this source tree's app (e.g. an export of an older commit) as "
        "'before', taking turns with the app in every browser measure, for before/after ratios "
        "under the same load",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    runs = max(3, args.runs)
    if not Path(CHROMIUM).exists():
        print(f"no chromium at {CHROMIUM}")
        return 2
    if not 0 <= args.viewers <= 20:
        parser.error("--viewers must be between 0 and 20")
    from playwright.sync_api import sync_playwright

    app_root = (args.app_src or ROOT).resolve()
    label = git_label(app_root) if args.app_src is None else f"{app_root}"
    results: dict[str, object] = {"runs": runs, "app": label, "date": time.strftime(
        "%Y-%m-%d %H:%M UTC", time.gmtime())}  # fmt: skip
    print(f"app: {label}; {results['date']}")
    work = Path(tempfile.mkdtemp(prefix="bench-app-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("EVIDENCE_ROOT", None)
    if args.app_src is not None:  # the servers and their kernels import that tree's evidence
        env["PYTHONPATH"] = str(app_root / "src")
    before_root = args.before_src.resolve() if args.before_src else None
    before_env = {**env, "PYTHONPATH": str(before_root / "src")} if before_root else env
    before: dict[str, object] = {}
    servers: list[Server] = []
    appraisal: dict[str, list[float]] = {}
    try:
        (work / "bare").mkdir()
        shutil.copy(BARE_NOTEBOOK, work / "bare" / "bare.ipynb")
        results["rss_bare_kernel_same_imports_mb"] = bare_rss_imports = bare_kernel_rss(env)
        print(f"bare kernel with the app's imports: {bare_rss_imports:.0f} MB")

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

            print(f"bare Voila notebook (voila bare.ipynb, default settings), {runs} runs")
            bare = Server(
                "bare",
                [sys.executable, "-m", "voila", "bare.ipynb", "--no-browser", "--port={port}"],
                work / "bare", env, work / "bare.log",
            )  # fmt: skip
            servers.append(bare)
            bare.wait_ready("Voil")
            bare_tti, bare_work = time_to_interactive(browser, bare, PLOT, runs, 0)["bare"]
            context, page = open_page(browser, bare, PLOT)
            bare_lat = latencies(page, ".bare-design", "body", BARE_VALUES, runs)
            bare_ctl = control_latencies(
                {"bare": page},
                "body",
                [("bare dropdown", ".bare-design", "select", ("RCT", "All"))],
                runs,
            )["bare"]["bare dropdown"]
            context.close()
            bare_rss = bare.rss_mb()
            bare.stop()

            print(f"\nthe app (evidence serve, pool 2), {runs} runs")
            app = Server(
                "app",
                [sys.executable, "-m", "evidence.cli", "serve", "--no-browser", "--port",
                 "{port}", "--root", str(app_root)],
                app_root, env, work / "app.log",
            )  # fmt: skip
            servers.append(app)
            apps = [app]
            if before_root is not None:
                print(f"  and, taking turns with it, the app of {before_root} ('before')")
                old = Server(
                    "before",
                    [sys.executable, "-m", "evidence.cli", "serve", "--no-browser", "--port",
                     "{port}", "--root", str(before_root)],
                    before_root, before_env, work / "before.log",
                )  # fmt: skip
                servers.append(old)
                apps.append(old)
            for server in apps:
                server.wait_ready("is filled with")
            for server in apps:
                server.wait_idle(2)
            rss_idle = {s.name: s.rss_mb() for s in apps}  # preheated: the notebook ran
            app_rss_idle = rss_idle["app"]
            loads = time_to_interactive(browser, apps, ".ev-forest " + PLOT, runs, 2)
            app_tti, app_work = loads["app"]
            for server in apps:
                server.wait_idle(2)
            opened = {s.name: open_page(browser, s, ".ev-forest " + PLOT) for s in apps}
            kernels = {s.name: page_kernel(opened[s.name][1], s) for s in apps}
            loaded = {name: rss_of(pid) for name, pid in kernels.items()}
            ctl = control_latencies(
                {name: page for name, (_, page) in opened.items()}, ".ev-forest", APP_CONTROLS, runs
            )
            app_ctl = ctl["app"]
            context, page = opened.pop("app")
            kernel = kernels["app"]
            rss_loaded = loaded["app"]
            if before_root is not None:
                before |= {
                    "tti": loads["before"][0],
                    "main_thread": loads["before"][1],
                    "control_latency_ms": ctl["before"],
                    "rss_idle_mb": rss_idle["before"],
                    "rss_page_loaded_mb": loaded["before"],
                    "rss_page_after_changes_mb": rss_of(kernels["before"]),
                }
                opened.pop("before")[0].close()
                apps[1].stop()
            app_est = latencies(page, ".ev-estimator", ".ev-forest", APP_ESTIMATORS, runs)
            app_out = latencies(page, ".ev-outcome", ".ev-forest", APP_OUTCOMES, runs)
            app_rob = latencies(page, ".ev-rob", ".ev-forest", APP_ROB, runs)
            n_changes = runs * (len(APP_CONTROLS) + 3)
            rss_changed = rss_of(kernel)
            context.close()
            if not args.skip_appraisal:
                appraisal = appraisal_first_open(browser, app, runs)
            app.stop()

            large_est: list[float] = []
            large_out: list[float] = []
            if not args.skip_large:
                print(f"\nthe app on {args.studies} synthetic studies, {runs} changes each")
                synth = synthetic_dataset(work / "synthetic", args.studies)
                big = Server(
                    "app-2000",
                    [sys.executable, "-m", "evidence.cli", "serve", "--no-browser", "--port",
                     "{port}", "--root", str(synth)],
                    app_root, env, work / "large.log",
                )  # fmt: skip
                servers.append(big)
                big.wait_ready("is filled with")
                big.wait_idle(2)
                context, page = open_page(browser, big, ".ev-forest " + PLOT)
                rows = page.evaluate(
                    "() => document.querySelector('.ev-forest .js-plotly-plot').layout.meta.rows"
                )
                print(f"  forest plot rows: {rows}")
                large_est = latencies(page, ".ev-estimator", ".ev-forest", APP_ESTIMATORS, runs)
                large_out = latencies(page, ".ev-outcome", ".ev-forest", APP_OUTCOMES, runs)
                results["large_rss_mb"] = big.rss_mb()
                context.close()
                big.stop()
            browser.close()

        rounds = {}
        before_rounds = {}
        if args.viewers:
            for n in sorted({1, args.viewers}):
                for name, root, env_n, into in (
                    ("app", app_root, env, rounds),
                    ("before", before_root, before_env, before_rounds),
                ):
                    if root is None:
                        continue
                    print(f"\n{n} scripted viewer(s) at once on {name} (kernel-level, pool {n})")
                    into[n] = viewers_round(n, work, root, env_n)
                    lat = into[n]["latency"]
                    print(f"  {len(lat)} changes, {len(into[n]['errors'])} errors")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n== results: app {label}, {results['date']} ==")
    b_med, b_p95 = report("time-to-interactive, bare notebook", bare_tti)
    a_med, a_p95 = report("time-to-interactive, app", app_tti)
    print(f"{'  ratio app / bare':<46} median {a_med / b_med:8.2f}     p95 {a_p95 / b_p95:8.2f}")

    print("\nmain thread, navigation until 2 s after the plot is drawn (medians, ms):")
    for key in MAIN_THREAD:
        b, a = median_of(bare_work, key), median_of(app_work, key)
        print(f"  {key:<22} bare {b:7.0f}   app {a:7.0f}   ratio app / bare {a / b:5.2f}")
    for key in ("renderer_cpu", "scripts", "script_kb", "widget_views", "dom_nodes"):
        print(f"  {key:<22} bare {median_of(bare_work, key):7.0f}   app "
              f"{median_of(app_work, key):7.0f}")  # fmt: skip

    print("\ncontrol change -> plot DOM changed + a frame (ms; MutationObserver in the page):")
    bc = [x for x in bare_ctl if x is not None]
    bc_med, bc_p95 = summary(bc)
    print(f"  {'bare dropdown':<22} median {bc_med:6.0f}   p95 {bc_p95:6.0f}")
    worst = 0.0
    for name, values in app_ctl.items():
        got = [x for x in values if x is not None]
        if not got:
            print(f"  {name:<22} no plot change")
            continue
        med, p95 = summary(got)
        worst = max(worst, p95)
        missed = len(values) - len(got)
        note = f"   ({missed} without a change)" if missed else ""
        print(f"  {name:<22} median {med:6.0f}   p95 {p95:6.0f}   p95 / bare p95 "
              f"{p95 / bc_p95:5.2f}{note}")  # fmt: skip
    print(f"  worst control p95 {worst:.0f} ms (target <= 100 ms)")
    bl_med, bl_p95 = report("title-based latency, bare notebook", bare_lat, "ms", 1000)
    e_med, e_p95 = report("title-based latency, app (estimator)", app_est, "ms", 1000)
    report("title-based latency, app (outcome)", app_out, "ms", 1000)
    report("title-based latency, app (risk-of-bias filter)", app_rob, "ms", 1000)
    ratio = f"median {e_med / bl_med:8.2f}     p95 {e_p95 / bl_p95:8.2f}"
    print(f"{'  ratio app (estimator) / bare':<46} {ratio}")
    for name, values in appraisal.items():
        report(f"appraisal tab first open: {name}", values)
    results |= {
        "tti_bare": bare_tti,
        "tti_app": app_tti,
        "main_thread_bare": bare_work,
        "main_thread_app": app_work,
        "control_latency_bare_ms": bare_ctl,
        "control_latency_app_ms": app_ctl,
        "latency_bare": bare_lat,
        "latency_app_estimator": app_est,
        "latency_app_outcome": app_out,
        "latency_app_rob": app_rob,
        "appraisal_first_open": appraisal,
        "rss_app_idle_mb": app_rss_idle,
        "rss_app_page_loaded_mb": rss_loaded,
        "rss_app_page_after_changes_mb": rss_changed,
        "changes": n_changes,
        "rss_bare_mb": bare_rss,
    }
    if large_est:
        report(f"update latency, {args.studies} studies (estimator)", large_est, "ms", 1000)
        report(f"update latency, {args.studies} studies (outcome)", large_out, "ms", 1000)
        results |= {"latency_large_estimator": large_est, "latency_large_outcome": large_out}
    if rounds:
        import bench_load

        print("\nscripted viewers at once (estimator, then outcome, each as soon as drawn):")
        print(bench_load.HEADER)
        for r in rounds.values():
            print(bench_load.line(r))
        if 1 in rounds and args.viewers in rounds and rounds[1]["latency"]:
            one = bench_load.pct(rounds[1]["latency"], 0.95)
            many = rounds[args.viewers]["latency"]
            if many:
                p95 = bench_load.pct(many, 0.95)
                print(f"  p95 {args.viewers} viewers {p95 * 1000:.0f} ms, 1 viewer "
                      f"{one * 1000:.0f} ms, ratio {p95 / one:.1f} (target < 300 ms)")  # fmt: skip
        results["viewers"] = {str(n): r for n, r in rounds.items()}

    print("\nkernel memory (resident MB):")
    print(f"  bare Voila kernel (bare notebook)           {statistics.median(bare_rss):6.0f}")
    print(f"  bare kernel + the app's third-party imports {bare_rss_imports:6.0f}")
    if app_rss_idle:
        idle = statistics.median(app_rss_idle)
        print(f"  app kernel after load (preheated, median)   {idle:6.0f}"
              f"   ratio to bare+imports {idle / bare_rss_imports:.2f}")  # fmt: skip
    if rss_loaded is not None and rss_changed is not None:
        print(f"  app page kernel: page drawn {rss_loaded:.0f}, after {n_changes} changes "
              f"{rss_changed:.0f} (target <= 120)")  # fmt: skip
    print(
        "targets: control p95 <= 100 ms; main thread app / bare <= 0.5; 20 viewers p95 < 300 ms;"
        " kernel <= 120 MB"
    )
    if before:
        report_before(before, before_rounds, results, bare_work, args.viewers)
        results["before"] = before | {"root": str(before_root)}
        results["before_viewers"] = {str(n): r for n, r in before_rounds.items()}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


def report_before(
    before: dict, rounds: dict, results: dict, bare_work: list[dict], viewers: int
) -> None:
    """The app against 'before' (--before-src), measured taking turns in the same run."""
    print("\n== after (the app) against before (--before-src), taking turns in this run ==")
    for name, new, old in (("time-to-interactive s", results["tti_app"], before["tti"]),):
        (nm, np95), (om, op95) = summary(new), summary(old)
        print(f"  {name:<26} before {om:7.2f} / {op95:7.2f}   after {nm:7.2f} / {np95:7.2f}"
              f"   (median / p95)")  # fmt: skip
    for key in ("TaskDuration", "ScriptDuration", "renderer_cpu"):
        old = median_of(before["main_thread"], key)
        new = median_of(results["main_thread_app"], key)
        bare = median_of(bare_work, key)
        name = "renderer CPU, all threads" if key == "renderer_cpu" else f"main thread {key}"
        print(f"  {name:<26} before {old:6.0f} ms   after {new:6.0f} ms   "
              f"bare {bare:6.0f} ms   after / bare {new / bare:4.2f}")  # fmt: skip
    print(f"  {'control':<26} {'before median / p95':>22} {'after median / p95':>22}  p95 ratio")
    for control, values in results["control_latency_app_ms"].items():
        new = [x for x in values if x is not None]
        old = [x for x in before["control_latency_ms"][control] if x is not None]
        if not new or not old:
            print(f"  {control:<26} (no plot change)")
            continue
        (nm, np95), (om, op95) = summary(new), summary(old)
        print(f"  {control:<26} {om:10.0f} / {op95:7.0f}   {nm:10.0f} / {np95:7.0f}"
              f"   {np95 / op95:5.2f}")  # fmt: skip
    idle_old = statistics.median(before["rss_idle_mb"]) if before["rss_idle_mb"] else 0.0
    idle_new = statistics.median(results["rss_app_idle_mb"]) if results["rss_app_idle_mb"] else 0.0
    print(f"  kernel MB after load: before {idle_old:.0f}, after {idle_new:.0f}; page kernel "
          f"after the changes: before {before['rss_page_after_changes_mb']}, after "
          f"{results['rss_app_page_after_changes_mb']}")  # fmt: skip
    import bench_load

    for n, r in rounds.items():
        lat = r["latency"]
        if lat:
            print(f"  before, {n} viewer(s): latency median {statistics.median(lat) * 1000:.0f} "
                  f"ms, p95 {bench_load.pct(lat, 0.95) * 1000:.0f} ms, "
                  f"{len(r['errors'])} errors")  # fmt: skip
    after = results.get("viewers", {}).get(str(viewers))
    if after and after["latency"]:
        lat = after["latency"]
        print(f"  after,  {viewers} viewer(s): latency median {statistics.median(lat) * 1000:.0f} "
              f"ms, p95 {bench_load.pct(lat, 0.95) * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
