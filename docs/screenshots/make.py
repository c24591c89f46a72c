"""Screenshots of the dashboard for the README, and the layout's measured boxes.

    .venv/bin/python docs/screenshots/make.py            # serve, shoot both sizes, print boxes
    .venv/bin/python docs/screenshots/make.py --url http://127.0.0.1:8866/ --measure-only

Starts ``evidence serve`` on a free port (or uses ``--url``), opens the landing view in Debian's
chromium at a projector size (1280x720) and a desk size (1600x1000), writes
``docs/screenshots/dashboard-<W>x<H>.png`` and prints, per size, the boxes the layout tests
check (tests/browser/test_layout.py): the plot, each presenter control, the tab bar on every
tab, the rightmost edge on the page. Tests never write here; this script does, on request.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SIZES = ((1280, 720), (1600, 1000))
TIMEOUT = 120_000  # ms: a busy machine

#: The boxes of the page, measured in the browser (viewport coordinates).
JS_BOXES = """() => {
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
    return {x: Math.round(r.x), y: Math.round(r.y), w: Math.round(r.width),
            h: Math.round(r.height), right: Math.round(r.right), bottom: Math.round(r.bottom)}; };
  const one = (sel) => box(document.querySelector(sel));
  const controls = {};
  for (const name of ["outcome", "effect", "window", "groups", "more", "download", "copy-link"]) {
    const sel = name === "download" ? ".ev-forest .ev-download summary"
      : name === "copy-link" ? ".ev-copy-link" : ".ev-" + name;
    controls[name] = one(sel);
  }
  let right = 0, widest = "";
  for (const el of document.querySelectorAll(".ev-app *")) {
    // inside a plot only its svg counts: plotly's own texts are the figure's business
    if (el.parentElement && el.parentElement.closest("svg")) continue;
    if (el.closest(".lm-mod-hidden")) continue;  // hidden tabs
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && r.right > right) { right = r.right; widest = el.className; }
  }
  return {
    viewport: {w: window.innerWidth, h: window.innerHeight},
    plot: one(".ev-forest .js-plotly-plot"),
    controls,
    tabbar: one(".ev-tab > .lm-TabBar, .ev-tab > .p-TabBar, .ev-tab .widget-tab-bar"),
    excluded: one(".ev-excluded"),
    claim: one(".ev-claim-panel"),
    header: one(".ev-header"),
    rightmost: {right: Math.round(right), element: String(widest).slice(0, 80)},
    scroll: {w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight},
  };
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "evidence.cli", "serve", "--port", str(port), "--no-browser"]
    with log.open("w") as out:
        return subprocess.Popen(
            [*cmd, "--root", str(ROOT)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(page, url: str) -> None:
    page.goto(url, wait_until="commit", timeout=TIMEOUT)
    page.wait_for_selector(".ev-forest .js-plotly-plot .main-svg", timeout=TIMEOUT)
    page.wait_for_function(
        "() => document.querySelector('.ev-summary') &&"
        " document.querySelector('.ev-summary').innerText.includes('What this shows')",
        timeout=TIMEOUT,
    )
    page.wait_for_timeout(1500)  # the plot re-measures its container after a resize nudge


def tab_bar_ys(page) -> dict[str, int]:
    """The tab bar's top on every tab (clicking each title, then back to the first)."""
    out = {}
    titles = page.locator(".ev-tab .lm-TabBar-tab")
    for i in range(titles.count()):
        titles.nth(i).click()
        page.wait_for_timeout(1500)
        name = titles.nth(i).inner_text()
        boxes = page.evaluate(JS_BOXES)
        bar = boxes["tabbar"]
        out[name] = {
            "tabbar": [bar["x"], bar["y"]] if bar else None,
            "rightmost": boxes["rightmost"],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running dashboard (default: serve one)")
    parser.add_argument("--measure-only", action="store_true", help="write no screenshot")
    parser.add_argument("--suffix", default="", help="added to the file names (e.g. -before)")
    parser.add_argument("--tabs", action="store_true", help="also the tab bar on every tab")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    proc = None
    url = args.url
    if url is None:
        port = free_port()
        proc = serve(port, Path(tempfile.gettempdir()) / f"evidence-screenshots-{port}.log")
        url = f"http://127.0.0.1:{port}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            deadline = time.monotonic() + 180
            results = {}
            for width, height in SIZES:
                page = browser.new_page(viewport={"width": width, "height": height})
                while True:
                    try:
                        wait_ready(page, url)
                        break
                    except Exception:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(2)
                boxes = page.evaluate(JS_BOXES)
                if not args.measure_only:
                    path = HERE / f"dashboard-{width}x{height}{args.suffix}.png"
                    page.screenshot(path=str(path), full_page=False)
                    boxes["screenshot"] = str(path.relative_to(ROOT))
                if args.tabs:
                    boxes["tabbar_y_by_tab"] = tab_bar_ys(page)
                results[f"{width}x{height}"] = boxes
                page.close()
            browser.close()
        print(json.dumps(results, indent=1))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
