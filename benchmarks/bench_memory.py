"""Where a dashboard kernel's memory goes: resident MB after each import and each step.

    python benchmarks/bench_memory.py                        # this checkout, 3 kernels
    python benchmarks/bench_memory.py --before-src /tmp/old  # and an older export, in turns
    python benchmarks/bench_memory.py --repeats 5 --json memory.json

Each repeat starts a kernel the way ``evidence serve`` starts one (the tree's own kernel
arguments, ``evidence.serving.kernels.KERNEL_ARGS``, and environment, ``evidence.serve.
KERNEL_ENV``, ``$EVIDENCE_ROOT`` and ``$EVIDENCE_PLOTLY_BUNDLE``) and runs :data:`STEPS` in
it, reading the kernel's resident set size (``/proc/self/statm``) after each: the libraries
one by one in the order the app needs them, the notebook's cells (``App.start()``, the page's
widgets, ``apply_url``), the preheated kernel's prefetch (``gc.freeze`` included) and
:data:`CHANGES` control changes, each drawn. Every number is the median over the repeats; with
``--before-src`` the two trees take turns, so both see the same machine. Resident memory is
what the kernel has touched: a step's delta is what it added and kept (Python gives freed
arenas back only when they are empty).

The same kernel in a page is measured by ``bench_app.py`` (its "kernel memory" lines); this one
says which part is which. Never asserts: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (label, code) run in order in one kernel; the resident MB is read after each.
STEPS: list[tuple[str, str]] = [
    ("numpy", "import sys; sys.modules.setdefault('rfc3987_syntax', None)\nimport numpy"),
    ("pandas", "import pandas"),
    ("ipywidgets, anywidget", "import ipywidgets, anywidget"),
    ("bibtexparser", "import bibtexparser"),
    ("evidence.app (the package)", "import evidence.app"),
    ("plotly.graph_objects", "import plotly.graph_objects"),
    ("the app's modules", "from evidence.app import App, dashboard"),
    ("App.start() (data, widgets, forest)", "app = App.start()"),
    ("display(app)", "display(app)"),
    ("apply_url('')", "app.apply_url('')"),
    (
        "prefetch (preheated kernel) + gc.freeze",
        "try:\n"
        "    from evidence.app import prefetch\n"
        "    prefetch.Prefetcher(app, settle=True).run()\n"
        "except ImportError:\n"
        "    pass",
    ),
]
#: Control changes after the prefetch, as a viewer makes them (each drawn), in this order and
#: then again: a first visit and a return.
CHANGES: list[tuple[str, object]] = [
    ("estimator", "DL"),
    ("outcome", "albumin"),
    ("effect", "control"),
    ("window", "4-6"),
    ("rob", "exclude-high"),
    ("test", "knha"),
    ("design", "controlled"),
    ("outcome", "bilirubin"),
    ("estimator", "PM"),
    ("corr", 0.55),
    ("population", "decompensated"),
    ("confidence", "third-party"),
    ("tab", "robustness"),
    ("tab", "appraisal"),
    ("tab", "studies"),
    ("tab", "compare"),
]
RSS = (
    "def _rss():\n"
    "    import os\n"
    "    pages = int(open('/proc/self/statm').read().split()[1])\n"
    "    return pages * os.sysconf('SC_PAGE_SIZE') / 2**20\n"
)


def kernel_setup(src: Path) -> tuple[list[str], dict[str, str]]:
    """The tree's kernel arguments and kernel environment, as its ``evidence serve`` sets them."""
    code = (
        "import json\n"
        "from evidence.serving.kernels import KERNEL_ARGS\n"
        "from evidence.serve import KERNEL_ENV\n"
        "print(json.dumps([list(KERNEL_ARGS), KERNEL_ENV]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(src / "src")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    args, env = json.loads(out.strip().splitlines()[-1])
    return args, env


def run_kernel(src: Path, changes: int) -> dict[str, float]:
    """Resident MB after each step in one fresh kernel of tree ``src``."""
    from jupyter_client.manager import KernelManager

    args, kernel_env = kernel_setup(src)
    env = {
        **os.environ,
        **kernel_env,
        "PYTHONPATH": str(src / "src"),
        "EVIDENCE_ROOT": str(src),
        "EVIDENCE_PLOTLY_BUNDLE": "templates/evidence/static/plotly.min.js",
    }
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env, extra_arguments=args, cwd=str(src / "notebooks"))
    kc = km.client()
    out: list[str] = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append(f"ERROR {msg['content']['ename']}: {msg['content']['evalue']}\n")

    def step(code: str) -> float:
        out.clear()
        kc.execute_interactive(code + "\nprint('RSS', _rss())", timeout=600, output_hook=hook)
        text = "".join(out)
        if "ERROR" in text:
            raise RuntimeError(text)
        return float(text.split("RSS ")[-1].split()[0])

    results: dict[str, float] = {}
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        results["kernel started"] = step(RSS)
        for label, code in STEPS:
            results[label] = step(code)
        plan = (CHANGES * (changes // len(CHANGES) + 1))[:changes]
        for i, (name, value) in enumerate(plan, 1):
            rss = step(f"app.change({name!r}, {value!r})")
            if i in (len(CHANGES), changes):
                results[f"after {i} changes"] = rss
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--changes", type=int, default=2 * len(CHANGES))
    parser.add_argument("--before-src", type=Path, help="an older export, measured in turns")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    trees = {"after": ROOT}
    if args.before_src is not None:
        trees = {"before": args.before_src.resolve(), **trees}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for r in range(max(1, args.repeats)):
        for name, src in trees.items():
            runs[name].append(run_kernel(src, args.changes))
            print(f"repeat {r + 1}: {name} done", flush=True)
    medians = {
        name: {k: statistics.median(run[k] for run in rows) for k in rows[0]}
        for name, rows in runs.items()
    }
    labels = list(medians["after"])
    header = "".join(f"{name:>16}" for name in trees)
    print(f"\nresident MB (median of {args.repeats}), delta to the step before\n{'':42}{header}")
    for i, label in enumerate(labels):
        cells = ""
        for name in trees:
            value = medians[name][label]
            delta = value - medians[name][labels[i - 1]] if i else 0.0
            cells += f"{value:8.1f} {delta:+6.1f} "
        print(f"  {label:40}{cells}")
    if "before" in medians:
        for label in ("apply_url('')", labels[-1]):
            before, after = medians["before"][label], medians["after"][label]
            print(f"after/before at {label!r}: {after:.1f} / {before:.1f} = {after / before:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "medians": medians}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
