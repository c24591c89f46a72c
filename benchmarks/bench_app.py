"""Speed of the dashboard in a real browser, against a bare Voila notebook measured in the same run.

    python benchmarks/bench_app.py               # 12 runs of each measure (about 6 minutes)
    python benchmarks/bench_app.py --runs 20     # steadier percentiles
    python benchmarks/bench_app.py --skip-large  # without the 2,000-study dataset

Measures (headless Debian chromium through playwright, a fresh browser context per page load,
every request to another host blocked):

* time-to-interactive: from navigation until the plot is drawn (``.main-svg`` of the forest
  plot; of the one plot for the bare notebook). The bare notebook - one Dropdown and one plotly
  FigureWidget - is served the default way (``voila bare.ipynb``: a fresh kernel per page, the
  lab template); the app by ``evidence serve`` (preheated pool, the evidence template). Between
  page loads the script waits until the servers' kernels are idle (a preheated pool refilled),
  as a second viewer arriving a little later would find them;
* interaction latency: from a control change in the page until the plot shows the change
  (the plot title updated and a frame painted), measured inside the page with
  ``performance.now()``; the app's estimator and outcome controls, the bare notebook's dropdown;
* the same latency for the risk-of-bias filter (its two levels that leave studies out);
* the Appraisal tab's first opening in a fresh page: from the click on the tab until the
  claims table is drawn, then each section (risk of bias, certainty, flow) until it is drawn;
* the same latency with a synthetic 2,000-study dataset (generated into a temporary folder
  following docs/data-format.md; the forest plot then has about 2,000 rows);
* the resident memory of the kernels after they rendered the page.

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
from chromium import CHROMIUM, CHROMIUM_ARGS, JS_CHANGE

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_MS = 120_000
PLOT = ".js-plotly-plot .main-svg"

BARE_SOURCE = """\
import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

x = np.arange(20.0)
fig = go.FigureWidget(
    go.Scatter(x=x, y=np.sqrt(x), mode="markers"), layout={"title": {"text": "design=All"}}
)
design = W.Dropdown(options=["All", "RCT", "Cohort", "Case-control"], value="All")
design.add_class("bare-design")


def changed(change):
    power = {"All": 0.5, "RCT": 0.6, "Cohort": 0.7, "Case-control": 0.8}[change["new"]]
    with fig.batch_update():
        fig.data[0].y = x**power
        fig.layout.title.text = f"design={change['new']}"


design.observe(changed, names="value")
W.VBox([design, fig])
"""

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


def time_to_interactive(
    browser, server: Server, selector: str, runs: int, min_kernels: int
) -> list[float]:
    times = []
    blocked: list[str] = []
    for i in range(runs):
        server.wait_idle(min_kernels)
        context, page = new_page(browser, blocked)
        start = time.perf_counter()
        page.goto(server.url, wait_until="commit", timeout=TIMEOUT_MS)
        page.wait_for_selector(selector, timeout=TIMEOUT_MS)
        times.append(time.perf_counter() - start)
        print(f"  {server.name} page {i + 1}: {times[-1]:.2f} s")
        context.close()
    if blocked:
        print(f"  {server.name}: blocked {len(set(blocked))} non-local URL(s): {set(blocked)}")
    return times


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
    page.wait_for_timeout(500)
    return context, page


def report(name: str, values: list[float], unit: str = "s", scale: float = 1.0) -> tuple:
    med, p95 = summary(values)
    print(f"{name:<46} median {med * scale:8.3f} {unit}   p95 {p95 * scale:8.3f} {unit}")
    return med, p95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12, help="runs per measure (at least 10)")
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    runs = max(10, args.runs)
    if not Path(CHROMIUM).exists():
        print(f"no chromium at {CHROMIUM}")
        return 2
    from playwright.sync_api import sync_playwright

    results: dict[str, object] = {"runs": runs}
    work = Path(tempfile.mkdtemp(prefix="bench-app-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("EVIDENCE_ROOT", None)
    servers: list[Server] = []
    try:
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(BARE_SOURCE)]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        (work / "bare").mkdir()
        nbformat.write(nb, work / "bare" / "bare.ipynb")

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
            bare_tti = time_to_interactive(browser, bare, PLOT, runs, 0)
            context, page = open_page(browser, bare, PLOT)
            bare_lat = latencies(page, ".bare-design", "body", BARE_VALUES, runs)
            context.close()
            bare_rss = bare.rss_mb()
            bare.stop()

            print(f"\nthe app (evidence serve, pool 2), {runs} runs")
            app = Server(
                "app",
                [sys.executable, "-m", "evidence.cli", "serve", "--no-browser", "--port",
                 "{port}", "--root", str(ROOT)],
                ROOT, env, work / "app.log",
            )  # fmt: skip
            servers.append(app)
            app.wait_ready("is filled with")
            app_tti = time_to_interactive(browser, app, ".ev-forest " + PLOT, runs, 2)
            app.wait_idle(2)
            context, page = open_page(browser, app, ".ev-forest " + PLOT)
            app_est = latencies(page, ".ev-estimator", ".ev-forest", APP_ESTIMATORS, runs)
            app_out = latencies(page, ".ev-outcome", ".ev-forest", APP_OUTCOMES, runs)
            app_rob = latencies(page, ".ev-rob", ".ev-forest", APP_ROB, runs)
            app_rss = app.rss_mb()
            context.close()
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
                    ROOT, env, work / "large.log",
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
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print("\n== results (seconds) ==")
    b_med, b_p95 = report("time-to-interactive, bare notebook", bare_tti)
    a_med, a_p95 = report("time-to-interactive, app", app_tti)
    print(f"{'  ratio app / bare':<46} median {a_med / b_med:8.2f}     p95 {a_p95 / b_p95:8.2f}")
    bl_med, bl_p95 = report("interaction latency, bare notebook", bare_lat, "ms", 1000)
    e_med, e_p95 = report("interaction latency, app (estimator)", app_est, "ms", 1000)
    report("interaction latency, app (outcome)", app_out, "ms", 1000)
    report("interaction latency, app (risk-of-bias filter)", app_rob, "ms", 1000)
    for name, values in appraisal.items():
        report(f"appraisal tab first open: {name}", values)
    ratio = f"median {e_med / bl_med:8.2f}     p95 {e_p95 / bl_p95:8.2f}"
    print(f"{'  ratio app (estimator) / bare':<46} {ratio}")
    results |= {
        "tti_bare": bare_tti,
        "tti_app": app_tti,
        "latency_bare": bare_lat,
        "latency_app_estimator": app_est,
        "latency_app_outcome": app_out,
        "latency_app_rob": app_rob,
        "appraisal_first_open": appraisal,
        "rss_app_mb": app_rss,
        "rss_bare_mb": bare_rss,
    }
    if large_est:
        report(f"update latency, {args.studies} studies (estimator)", large_est, "ms", 1000)
        report(f"update latency, {args.studies} studies (outcome)", large_out, "ms", 1000)
        results |= {"latency_large_estimator": large_est, "latency_large_outcome": large_out}
    if app_rss:
        print(
            f"kernel RSS after render: app {statistics.median(app_rss):.0f} MB median "
            f"(max {max(app_rss):.0f}, {len(app_rss)} kernels); bare "
            f"{statistics.median(bare_rss):.0f} MB median"
        )
    print("targets: TTI ratio <= 0.5; app latency p95 < 150 ms; 2,000-study p95 < 300 ms")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
