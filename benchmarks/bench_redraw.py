"""What plotly.js costs to redraw the forest plot: ``Plotly.react`` from one dashboard state's
figure to another's, timed in the page (no kernel, no widgets).

The figures are the dashboard's own (:meth:`evidence.app.views.compare.CompareView.figure`
of :class:`evidence.app.cache.Analysis`): the default state and each single change the sidebar
offers. Each source tree (this checkout's, and ``--before-src`` trees) builds them in its own
Python process; a static page in headless Debian chromium (never ``playwright install``) loads
plotly.js and, for each state B, draws the default A with ``Plotly.newPlot`` and then times
``Plotly.react`` A -> B and B -> A in turns, the trees taking turns too. See README.md.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

from chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
SIZES = ((1280, 720), (1600, 1000))
#: px the dashboard's sidebar and padding take beside the plot (the plot's div gets the rest)
SIDEBAR = 340
#: The default state and one change of each sidebar control that changes the forest plot:
#: (name, ViewState field, value); "question." names a Question field.
CHANGES: list[tuple[str, str, Any]] = [
    ("outcome", "question.outcome", "albumin"),
    ("effect", "question.effect", "control"),
    ("window", "question.window", "4-6"),
    ("estimator", "estimator", "DL"),
    ("test", "test", "knha"),
    ("groups", "question.groups", ("MSC+HSC", "MSC", "BM-MNC")),
    ("design", "question.design", "controlled"),
    ("confidence", "question.confidence", "seed-only"),
    ("population", "question.population", "decompensated"),
    ("risk of bias", "rob", "exclude-high"),
    ("pre-post r", "question.ri", 0.55),
]

#: Run in a source tree's own Python process: print every state's figure as JSON.
BUILD = """
import json, sys, types
from pathlib import Path
import evidence
from evidence.app.cache import Analysis
from evidence.app.state import DEFAULT
from evidence.app.views.compare import CompareView
from evidence.figures.forest import config

root, changes, repeats = Path(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
analysis = Analysis(evidence.load(root))
view = types.SimpleNamespace(analysis=analysis)
states = [("default", DEFAULT)]
for name, field, value in changes:
    if field.startswith("question."):
        value = tuple(value) if isinstance(value, list) else value
        q = DEFAULT.question.with_(**{field.split(".", 1)[1]: value})
        states.append((name, DEFAULT.with_(question=q)))
    else:
        states.append((name, DEFAULT.with_(**{field: value})))
import time
out, times = {}, []
for name, state in states:
    analysis.pooled(state.question, state.estimator, state.test, state.rob)  # not timed
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fig = CompareView.figure(view, state)
        best = min(best, time.perf_counter() - t0)
    times.append(best * 1e3)
    out[name] = {**fig.to_plotly_json(), "config": config()}
json.dump({"figures": out, "build_ms": times, "module": evidence.__file__}, sys.stdout)
"""

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>body{margin:0;font-family:Arial}#side{position:absolute;left:0;top:0;width:%dpx}
#gd{position:absolute;left:%dpx;top:0;width:calc(100vw - %dpx)}</style></head>
<body><div id="side"></div><div id="gd"></div></body></html>"""

#: In the page: ``bench(A, B, rounds)``: newPlot A, then react A -> B and B -> A ``rounds``
#: times; each a copy made before the clock starts (plotly writes into what it is given).
#: "react" is until Plotly.react's promise resolves; "frame" until the next frame was drawn
#: (a requestAnimationFrame, then a task queued from it: after the frame's style, layout
#: and paint).
JS = """
window.frame = () => new Promise((resolve) => requestAnimationFrame(() => {
  const ch = new MessageChannel(); ch.port1.onmessage = () => resolve(); ch.port2.postMessage(0);
}));
window.draw = async (fig) => {
  const gd = document.getElementById('gd');
  Plotly.purge(gd);
  const f = structuredClone(fig);
  await frame();
  const t0 = performance.now();
  await Plotly.newPlot(gd, f.data, f.layout, f.config);
  const t1 = performance.now();
  await frame();
  return [t1 - t0, performance.now() - t0];
};
window.react = async (fig) => {
  const gd = document.getElementById('gd');
  const f = structuredClone(fig);
  // --keep: as a widget that hands plotly.js the previous layout.template and layout.meta
  // objects when they are unchanged (plotly.js compares those two by identity)
  if (window.keep && gd.layout) {
    for (const key of ['template', 'meta']) {
      const old = gd.layout[key];
      if (old !== undefined && JSON.stringify(old) === JSON.stringify(f.layout[key])) {
        f.layout[key] = old;
      }
    }
  }
  await frame();
  const t0 = performance.now();
  await Plotly.react(gd, f.data, f.layout, f.config);
  const t1 = performance.now();
  await frame();
  return [t1 - t0, performance.now() - t0];
};
window.shown = () => {
  // what the viewer sees: every text (content, box) and every drawn mark (kind, fill,
  // stroke, box), in page px, in document order within each kind
  const gd = document.getElementById('gd');
  const r = (b) => [b.left, b.top, b.width, b.height].map((v) => Math.round(v * 10) / 10);
  const texts = [...gd.querySelectorAll('svg text')]
    .filter((t) => t.textContent.trim() && getComputedStyle(t).opacity !== '0'
      && !t.closest('.hoverlayer') && getComputedStyle(t).fill !== 'rgba(0, 0, 0, 0)')
    .map((t) => [t.textContent, r(t.getBoundingClientRect()), getComputedStyle(t).fill,
                 getComputedStyle(t).fontSize, getComputedStyle(t).fontWeight]);
  const marks = [...gd.querySelectorAll('svg path, svg circle, svg rect')]
    .filter((p) => !p.closest('.modebar, .hoverlayer, .bglayer, .draglayer, .legend'))
    .map((p) => [getComputedStyle(p).fill, getComputedStyle(p).stroke,
                 getComputedStyle(p).strokeWidth, r(p.getBoundingClientRect())])
    .filter((m) => m[3][2] > 0 || m[3][3] > 0)
    .filter((m) => !(m[0] === 'none' || m[0] === 'rgba(0, 0, 0, 0)') || m[1] !== 'none');
  return { texts, marks };
};
"""


#: In the dashboard's page: its CSS and DOM, scripts removed, the forest plot's div emptied
#: and renamed #gd (so the plot is drawn among the same styles, DOM and width).
JS_SNAPSHOT = """() => {
  const css = [...document.styleSheets].map((s) => {
    try { return [...s.cssRules].map((r) => r.cssText).join('\\n'); } catch (e) { return ''; }
  }).join('\\n');
  const plot = document.querySelector('.ev-forest .js-plotly-plot');
  const width = plot.getBoundingClientRect().width;
  const holder = plot.parentElement;
  plot.remove();
  const gd = document.createElement('div');
  gd.id = 'gd';
  holder.appendChild(gd);
  document.querySelectorAll('script').forEach((s) => s.remove());
  return { css, body: document.body.outerHTML, cls: document.documentElement.className, width };
}"""


def snapshot(browser: Any, sizes: tuple[tuple[int, int], ...]) -> dict[str, str]:
    """The dashboard's page at each size (``evidence serve`` of this checkout, stopped by PID
    afterwards) as static HTML whose #gd is where the forest plot was."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evidence.cli",
            "serve",
            "--no-browser",
            "--port",
            str(port),
            "--pool-size",
            "1",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pages = {}
    try:
        for width, height in sizes:
            page = browser.new_page(viewport={"width": width, "height": height})
            for _ in range(60):  # until the server answers
                try:
                    page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
                    break
                except Exception:
                    time.sleep(1)
            page.wait_for_selector(".ev-forest .js-plotly-plot .main-svg", timeout=120_000)
            page.wait_for_timeout(1000)
            snap = page.evaluate(JS_SNAPSHOT)
            pages[f"{width}x{height}"] = (
                f'<!doctype html><html class="{snap["cls"]}"><head><meta charset="utf-8">'
                f"<style>{snap['css']}</style></head>{snap['body']}</html>"
            )
            print(f"dashboard page {width}x{height}: the plot {snap['width']:.0f} px wide")
            page.close()
    finally:
        server.terminate()
        server.wait(30)
    return pages


def build(src: Path, repeats: int) -> dict[str, Any]:
    """Every state's figure (and its build time), built by the tree ``src``'s own code."""
    out = subprocess.run(
        [sys.executable, "-c", BUILD, str(src.parent), json.dumps(CHANGES), str(repeats)],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def plotly_js(given: str | None) -> Path:
    """plotly.js: ``--plotlyjs``, the cartesian bundle ./dev setup fetches, or plotly's own."""
    if given:
        return Path(given)
    cartesian = Path(sys.prefix) / "share" / "evidence" / "plotly-cartesian-4.1.1.min.js"
    if cartesian.is_file():
        return cartesian
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def png_pixels(png: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGBA rows) of an 8-bit RGBA, non-interlaced PNG (chromium's)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(png):
        n = int.from_bytes(png[pos : pos + 4], "big")
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            depth, colour = body[8], body[9]
            assert depth == 8 and colour in (2, 6), (depth, colour)
            bpp = 4 if colour == 6 else 3
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    out, prev = bytearray(), bytearray(stride)
    for y in range(height):
        f, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line
        prev = line
    return width, height, bytes(out)


def differing_pixels(a: bytes, b: bytes) -> int:
    wa, ha, pa = png_pixels(a)
    wb, hb, pb = png_pixels(b)
    if (wa, ha) != (wb, hb):
        return -1
    bpp = len(pa) // (wa * ha)
    return sum(pa[i : i + bpp] != pb[i : i + bpp] for i in range(0, len(pa), bpp))


def profile(page: Any, a: dict, b: dict, rounds: int) -> list[tuple[str, float, float]]:
    """(function, self ms, total ms) of Chrome's sampling profiler over ``rounds`` react A->B->A,
    the 25 largest by total time."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 100})
    cdp.send("Profiler.start")
    for _ in range(rounds):
        page.evaluate("(f) => react(f)", b)
        page.evaluate("(f) => react(f)", a)
    prof = cdp.send("Profiler.stop")["profile"]
    nodes = {n["id"]: n for n in prof["nodes"]}
    parent = {c: n["id"] for n in prof["nodes"] for c in n.get("children", [])}
    dt = dict.fromkeys(nodes, 0.0)
    for sample, delta in zip(prof["samples"], [*prof["timeDeltas"][1:], 0], strict=True):
        dt[sample] += delta / 1e3
    name = {}
    for i, n in nodes.items():
        f = n["callFrame"]
        url = f["url"].rsplit("/", 1)[-1]
        name[i] = f"{f['functionName'] or '(anon)'} {url}:{f['lineNumber']}:{f['columnNumber']}"
    self_ms: dict[str, float] = {}
    total: dict[str, float] = {}
    for i, ms in dt.items():
        self_ms[name[i]] = self_ms.get(name[i], 0) + ms
        seen, j = set(), i
        while j is not None:
            if name[j] not in seen:
                total[name[j]] = total.get(name[j], 0) + ms
                seen.add(name[j])
            j = parent.get(j)
    top = sorted(total, key=total.get, reverse=True)[:40]
    return [(k, self_ms.get(k, 0) / rounds, total[k] / rounds) for k in top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=20, help="react A->B->A rounds per state")
    ap.add_argument(
        "--before-src",
        type=Path,
        action="append",
        default=[],
        help="another tree's src/ (git archive <commit> | tar -x -C DIR)",
    )
    ap.add_argument("--plotlyjs", help="plotly.js bundle (default: the cartesian one, if fetched)")
    ap.add_argument("--profile", action="store_true", help="Chrome's profiler over the rounds")
    ap.add_argument(
        "--shown",
        action="store_true",
        help="compare what is drawn (texts, marks, screenshots) across the trees",
    )
    ap.add_argument("--states", nargs="*", help="only these states (default: all)")
    ap.add_argument(
        "--bare-only",
        action="store_true",
        help="only the bare page (no snapshot of the dashboard's page)",
    )
    ap.add_argument(
        "--keep",
        action="store_true",
        help="react as a widget that keeps unchanged layout.template and layout.meta objects",
    )
    ap.add_argument("--json", type=Path, help="write the numbers here")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    trees = {"after": ROOT / "src"} | {
        f"before{i or ''}": p.resolve() for i, p in enumerate(args.before_src)
    }
    trees = dict(reversed(list(trees.items())))  # before first in every table
    built: dict[str, Any] = {}
    for _ in range(3):  # the trees take turns: the kernel times are the best of 3 x 5
        for name, src in trees.items():
            one = build(src, 5)
            if name in built:
                old = built[name]["build_ms"]
                one["build_ms"] = [min(a, b) for a, b in zip(old, one["build_ms"], strict=True)]
            built[name] = one
    names = list(built[next(iter(built))]["figures"])
    states = [s for s in names if s != "default" and (not args.states or s in args.states)]
    bundle = plotly_js(args.plotlyjs)
    print(
        f"plotly.js: {bundle.name}; {args.rounds} rounds per state; trees: "
        + ", ".join(f"{k}={v}" for k, v in trees.items())
    )
    print("\nkernel: CompareView.figure (forest_plot), best of 3 x 5 in turns, ms")
    print("state".ljust(14) + "".join(k.rjust(10) for k in built))
    for i, s in enumerate(names):
        print(s.ljust(14) + "".join(f"{built[k]['build_ms'][i]:10.1f}" for k in built))
    for k in built:
        j = built[k]["figures"]["default"]
        print(
            f"{k}: default figure: {len(j['data'])} traces, "
            f"{len(j['layout'].get('annotations', []))} annotations, "
            f"{len(j['layout'].get('shapes', []))} shapes, {len(json.dumps(j))} bytes"
        )

    results: dict[str, Any] = {}
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = {"bare": {f"{w}x{h}": PAGE % (SIDEBAR, SIDEBAR, SIDEBAR) for w, h in SIZES}}
        if not args.bare_only:
            pages["dashboard"] = snapshot(browser, SIZES)
        for kind, html in pages.items():
            for width, height in SIZES:
                size = f"{width}x{height}"
                page = browser.new_page(viewport={"width": width, "height": height})
                path = Path(tmp) / f"{kind}-{size}.html"
                path.write_text(html[size])
                page.goto(path.as_uri())
                page.add_script_tag(path=str(bundle))
                page.add_script_tag(content=JS)
                page.evaluate(f"() => {{ window.keep = {str(args.keep).lower()}; }}")
                plot_px = page.evaluate("() => document.getElementById('gd').clientWidth")
                results[f"{kind} {size}"] = t = measure(page, built, states, args.rounds)
                print(
                    f"\n{kind} page, {size} (the plot {plot_px} px wide): ms, median / p95"
                    " (react: until Plotly.react resolves; frame: until the next frame is"
                    " drawn)"
                )
                report(t, built, states)
                if args.profile:
                    for k in built:
                        figs = built[k]["figures"]
                        page.evaluate("(f) => draw(f)", figs["default"])
                        s = states[0]
                        print(
                            f"\nprofile {k}, {kind} {size}: react default <-> {s}, per round"
                            " (ms): self / total"
                        )
                        for fn, self_ms, total in profile(page, figs["default"], figs[s], 20):
                            print(f"  {self_ms:7.2f} {total:7.2f}  {fn}")
                if args.shown and len(built) > 1 and kind == "bare":
                    compare_shown(page, built, names)
                page.close()
        browser.close()
    if args.json:
        args.json.write_text(json.dumps(results))


def measure(page: Any, built: dict[str, Any], states: list[str], rounds: int) -> dict:
    """Per tree: newPlot of the default ("first"), and react default -> state -> default for
    every state, ``rounds`` times, the trees taking turns."""
    t: dict[str, dict[str, list[float]]] = {}
    for k in built:
        t[k] = {"first": [], "first frame": [], "react": [], "frame": []}
        t[k] |= {f"{s} react": [] for s in states} | {f"{s} frame": [] for s in states}
    for s in states:
        for k in built:  # warm up: plotly's first use of each code path
            figs = built[k]["figures"]
            page.evaluate("(f) => draw(f)", figs["default"])
            page.evaluate("(f) => react(f)", figs[s])
        for i in range(rounds):
            # the trees take turns, round by round, first one then the other first
            for k in built if i % 2 == 0 else reversed(built):
                figs = built[k]["figures"]
                first = page.evaluate("(f) => draw(f)", figs["default"])
                t[k]["first"].append(first[0])
                t[k]["first frame"].append(first[1])
                for fig in (figs[s], figs["default"]):
                    ms = page.evaluate("(f) => react(f)", fig)
                    for m, v in zip(("react", "frame"), ms, strict=True):
                        t[k][f"{s} {m}"].append(v)
                        t[k][m].append(v)
    return t


def report(t: dict, built: dict[str, Any], states: list[str]) -> None:
    print(
        "what".ljust(24)
        + "".join(k.rjust(20) for k in built)
        + ("   after/before (median, p95)" if len(built) > 1 else "")
    )
    rows = ["first", "first frame", "react", "frame"]
    rows += [f"{s} {m}" for s in states for m in ("react", "frame")]
    for row in rows:
        cells = [t[k][row] for k in built]
        line = row.ljust(24) + "".join(
            f"{statistics.median(c):9.1f} / {pct(c, 0.95):7.1f}".rjust(20) for c in cells
        )
        if len(built) > 1:
            line += (
                f"   {statistics.median(cells[-1]) / statistics.median(cells[0]):.2f},"
                f" {pct(cells[-1], 0.95) / pct(cells[0], 0.95):.2f}"
            )
        print(line)


def compare_shown(page: Any, built: dict[str, Any], names: list[str]) -> None:
    """For every state: what a fresh draw and a react from the default show, per tree, and
    whether the trees show the same (texts and their boxes within 1 px, marks, pixels)."""
    keys = list(built)
    for s in names:
        seen = {}
        for k in keys:
            figs = built[k]["figures"]
            page.evaluate("(f) => draw(f)", figs[s])
            fresh = page.evaluate("() => shown()")
            shot = page.locator("#gd").screenshot()
            page.evaluate("(f) => draw(f)", figs["default"])
            page.evaluate("(f) => react(f)", figs[s])
            reacted = page.evaluate("() => shown()")
            shot2 = page.locator("#gd").screenshot()
            seen[k] = (fresh, reacted, shot, shot2)
        a, b = seen[keys[0]], seen[keys[-1]]
        print(
            f"  {s}: "
            + "; ".join(
                [
                    f"texts {same_texts(a[0]['texts'], b[0]['texts'])}",
                    f"marks {same_marks(a[0]['marks'], b[0]['marks'])}",
                    f"pixels differing {differing_pixels(a[2], b[2])}",
                    f"after react: texts {same_texts(b[0]['texts'], b[1]['texts'])},"
                    f" pixels differing from fresh {differing_pixels(b[2], b[3])}",
                ]
            )
        )


def same_texts(a: list, b: list) -> str:
    """'same' when both show the same texts (as a multiset) with boxes within 1 px."""
    key = lambda t: (t[0], t[2], t[3], t[4])  # noqa: E731
    left, right = sorted(a, key=lambda t: (key(t), t[1])), sorted(b, key=lambda t: (key(t), t[1]))
    if [key(t) for t in left] != [key(t) for t in right]:
        only_a = {key(t) for t in left} - {key(t) for t in right}
        only_b = {key(t) for t in right} - {key(t) for t in left}
        return (
            f"DIFFER ({len(a)} vs {len(b)}; only before {sorted(only_a)[:3]},"
            f" only after {sorted(only_b)[:3]})"
        )
    off = max(
        (
            max(abs(p - q) for p, q in zip(x[1][:2], y[1][:2], strict=True))
            for x, y in zip(left, right, strict=True)
        ),
        default=0.0,
    )
    return (
        f"same ({len(a)}, max offset {off:.1f} px)" if off <= 1 else f"MOVED (up to {off:.1f} px)"
    )


def same_marks(a: list, b: list) -> str:
    key = lambda m: (m[0], m[1], m[2], tuple(round(v) for v in m[3]))  # noqa: E731
    ka, kb = sorted(map(key, a)), sorted(map(key, b))
    return f"same ({len(a)})" if ka == kb else f"differ ({len(a)} vs {len(b)})"


if __name__ == "__main__":
    main()
