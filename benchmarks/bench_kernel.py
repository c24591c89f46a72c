"""Kernel CPU of a first-time control change: what one viewer's change costs the kernel.

    python benchmarks/bench_kernel.py                      # every sidebar control, 7 repeats
    python benchmarks/bench_kernel.py --before-src /tmp/old  # before/after, taking turns
    python benchmarks/bench_kernel.py --repeats 15 --json kernel.json

Each repeat builds a fresh :class:`evidence.app.App` on the bundled data (nothing cached, as in
a viewer's kernel) and times one change of one control away from the default view
(:data:`CHANGES`), or the second of a path of two (:data:`PATHS`): ``App.change`` whole
(``time.perf_counter``, and the process's CPU time, steadier on a busy machine), its stages
apart in another fresh App (the pooled result, the forest figure, the texts), and, in a tree
that has it, the change's CPU after the preheated kernel's prefetch (evidence.app.prefetch).
One subprocess per repeat and tree runs every case; with ``--before-src`` the two trees take
turns, so both see the same load on a shared machine. Prints medians; with 20 kernels sharing
2 cores, 20 viewers' changes queue behind about 10 times the per-change CPU.
Never asserts a time: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: One control changed from the default view (name, value as the control reports it).
CHANGES: list[tuple[str, object]] = [
    ("estimator", "DL"),
    ("estimator", "PM"),
    ("test", "knha"),
    ("outcome", "albumin"),
    ("outcome", "bilirubin"),
    ("effect", "control"),
    ("window", "4-6"),
    ("groups", ["MSC+HSC", "MSC", "BM-MNC"]),
    ("design", "controlled"),
    ("confidence", "third-party"),
    ("population", "decompensated"),
    ("rob", "exclude-high"),
    ("corr", 0.55),
]
#: Two changes in a row (the second timed): the scripted viewers' path first.
PATHS: list[list[tuple[str, object]]] = [
    [("estimator", "DL"), ("outcome", "albumin")],
    [("outcome", "albumin"), ("estimator", "DL")],
    [("effect", "control"), ("outcome", "albumin")],
    [("test", "knha"), ("estimator", "PM")],
]


CASES = [[c] for c in CHANGES] + PATHS


def _label(steps: list[tuple[str, object]]) -> str:
    return " -> ".join(f"{n}={v if not isinstance(v, list) else '+'.join(v)}" for n, v in steps)


def measure_one(steps: list[tuple[str, object]], data: Any) -> dict[str, float]:
    """Times (ms) of the last step of ``steps``, in fresh apps (run in the measured tree)."""
    from evidence.app import App
    from evidence.app.state import update
    from evidence.app.views.compare import CompareView
    from evidence.appraisal import rob as rob_module
    from evidence.figures.forest import forest_plot

    app = App(data)
    for name, value in steps[:-1]:
        app.change(name, value)
    t0, c0 = time.perf_counter(), time.process_time()
    app.change(*steps[-1])
    total, cpu = time.perf_counter() - t0, time.process_time() - c0

    # The stages apart, in another fresh app brought to the same state.
    app = App(data)
    for name, value in steps[:-1]:
        app.change(name, value)
    state, _ = update(app.state, *steps[-1], app.study_keys)
    q, analysis = state.question, app.analysis
    t0 = time.perf_counter()
    pooled = analysis.pooled(q, state.estimator, state.test, state.rob)
    t1 = time.perf_counter()
    forest_plot(pooled, rob=analysis.rob_columns, filter_note="", click_hint=True)
    t2 = time.perf_counter()
    label = rob_module.ROB_FILTERS[state.rob][0]
    CompareView._summary(pooled, label, rob_module.filter_lines(pooled.effects))
    CompareView._heterogeneity(pooled)
    CompareView._excluded(pooled.effects)
    t3 = time.perf_counter()
    out = {
        "change": total * 1000,
        "cpu": cpu * 1000,
        "pooled": (t1 - t0) * 1000,
        "figure": (t2 - t1) * 1000,
        "texts": (t3 - t2) * 1000,
    }
    try:  # a tree with the preheated kernel's prefetch: the change after it
        from evidence.app.prefetch import Prefetcher
    except ImportError:
        return out
    app = App(data)
    Prefetcher(app, budget=60.0).run()
    for name, value in steps[:-1]:
        app.change(name, value)
    c0 = time.process_time()
    app.change(*steps[-1])
    out["cpu_prefetched"] = (time.process_time() - c0) * 1000
    return out


def measure_all() -> dict[str, dict[str, float]]:
    """Every case once, each in fresh apps, in this process (the measured tree's code)."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from evidence.dataset import load

    data = load(ROOT)
    return {_label(steps): measure_one(steps, data) for steps in CASES}


def run_in(src: Path) -> dict[str, dict[str, float]]:
    """:func:`measure_all` in a subprocess importing ``src``'s evidence package."""
    env = {**os.environ, "PYTHONPATH": str(src / "src")}
    out = subprocess.run(
        [sys.executable, __file__, "--one"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--before-src", type=Path, help="a source tree to measure in turns")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_all()))
        return 0
    trees: dict[str, Path] = {"after": ROOT}
    if args.before_src is not None:
        trees = {"before": args.before_src.resolve(), "after": ROOT}
    runs: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in trees}
    for i in range(args.repeats):
        for name, src in trees.items():  # taking turns
            runs[name].append(run_in(src))
        print(f"repeat {i + 1} of {args.repeats} done", flush=True)
    keys = ("change", "cpu", "pooled", "figure", "texts", "cpu_prefetched")
    results: dict[str, dict[str, dict[str, float]]] = {}
    print("medians, ms: change (wall) and its CPU; stages (wall); CPU of the change after the "
          "prefetch")  # fmt: skip
    for steps in CASES:
        label = _label(steps)
        line = f"{label:<34}"
        results[label] = {}
        for name in trees:
            med = {
                k: statistics.median(r[label][k] for r in runs[name])
                for k in keys
                if k in runs[name][0][label]
            }
            results[label][name] = med
            line += (
                f" | {name} {med['change']:5.1f} cpu {med['cpu']:5.1f} (pooled {med['pooled']:4.1f}"
                f" figure {med['figure']:4.1f} texts {med['texts']:4.1f})"
            )
            if "cpu_prefetched" in med:
                line += f" prefetched cpu {med['cpu_prefetched']:4.1f}"
        print(line, flush=True)
    for name in trees:
        singles = [results[_label([c])][name]["cpu"] for c in CHANGES]
        mid, mean = statistics.median(singles), statistics.mean(singles)
        print(f"{name}: CPU of a first-time single change, median over the controls "
              f"{mid:.1f} ms, mean {mean:.1f} ms")  # fmt: skip
        if "cpu_prefetched" in results[_label(CHANGES[:1])][name]:
            pre = [results[_label([c])][name]["cpu_prefetched"] for c in CHANGES]
            print(f"{name}, after the prefetch: median {statistics.median(pre):.1f} ms, mean "
                  f"{statistics.mean(pre):.1f} ms")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "medians": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
