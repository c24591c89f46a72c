"""Kernel CPU of a first-time control change: what one viewer's change costs the kernel.

    python benchmarks/bench_kernel.py                      # every sidebar control, 7 repeats
    python benchmarks/bench_kernel.py --before-src /tmp/old  # before/after, taking turns
    python benchmarks/bench_kernel.py --repeats 15 --json kernel.json

Each repeat builds a fresh :class:`evidence.app.App` on the bundled data (nothing cached, as in
a viewer's kernel) and times, with ``time.perf_counter``, one change of one control away from
the default view (:data:`CHANGES`), or a path of two (:data:`PATHS`): ``App.change`` whole, and
its stages measured apart in another fresh App (the pooled result, the forest figure, the
texts). With ``--before-src`` each measure runs in two subprocesses, one per source tree,
taking turns, so both see the same load on a shared machine. Prints medians; with 20 kernels
sharing 2 cores, 20 viewers' changes queue behind about 10 times the per-change CPU.
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


def _label(steps: list[tuple[str, object]]) -> str:
    return " -> ".join(f"{n}={v if not isinstance(v, list) else '+'.join(v)}" for n, v in steps)


def measure_one(steps: list[tuple[str, object]]) -> dict[str, float]:
    """Times (ms) of the last step of ``steps``, in fresh apps (run in the measured tree)."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from evidence.app import App
    from evidence.app.views.compare import CompareView
    from evidence.appraisal import rob as rob_module
    from evidence.dataset import load
    from evidence.figures.forest import forest_plot

    data = load(ROOT)
    app = App(data)
    for name, value in steps[:-1]:
        app.change(name, value)
    t0 = time.perf_counter()
    app.change(*steps[-1])
    total = time.perf_counter() - t0

    # The stages apart, in another fresh app brought to the same state.
    app = App(data)
    for name, value in steps[:-1]:
        app.change(name, value)
    from evidence.app.state import update

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
    return {
        "change": total * 1000,
        "pooled": (t1 - t0) * 1000,
        "figure": (t2 - t1) * 1000,
        "texts": (t3 - t2) * 1000,
    }


def run_in(src: Path, steps: list[tuple[str, object]]) -> dict[str, float]:
    """:func:`measure_one` in a subprocess importing ``src``'s evidence package."""
    env = {**os.environ, "PYTHONPATH": str(src / "src")}
    out = subprocess.run(
        [sys.executable, __file__, "--one", json.dumps(steps)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--before-src", type=Path, help="a source tree to measure in turns")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one([tuple(s) for s in json.loads(args.one)])))
        return 0
    trees: dict[str, Path] = {"after": ROOT}
    if args.before_src is not None:
        trees = {"before": args.before_src.resolve(), "after": ROOT}
    cases = [[c] for c in CHANGES] + PATHS
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    for steps in cases:
        label = _label(steps)
        results[label] = {name: [] for name in trees}
        for _ in range(args.repeats):
            for name, src in trees.items():  # taking turns
                results[label][name].append(run_in(src, steps))
        line = f"{label:<42}"
        for name in trees:
            med: dict[str, Any] = {
                k: statistics.median(r[k] for r in results[label][name])
                for k in ("change", "pooled", "figure", "texts")
            }
            line += (
                f" | {name} {med['change']:6.1f} ms (pooled {med['pooled']:5.1f}, figure "
                f"{med['figure']:5.1f}, texts {med['texts']:4.1f})"
            )
        print(line, flush=True)
    for name in trees:
        firsts = [
            statistics.median(r["change"] for r in results[_label([c])][name]) for c in CHANGES
        ]
        print(f"{name}: median over the single changes {statistics.median(firsts):.1f} ms, "
              f"mean {statistics.mean(firsts):.1f} ms")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
