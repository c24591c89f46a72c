"""Speed of evidence.meta.bayesmeta against the REML fit, measured in the same run.

    python benchmarks/bench_bayes.py              # ~10 s
    python benchmarks/bench_bayes.py --repeats 3  # three times the default repeats

For k = 1, 3, 30 and 300 seeded synthetic studies it times (median of interleaved
``time.perf_counter`` rounds, as bench_meta.py) the Bayesian fit with the default half-normal(0.5)
prior on tau (mu, tau and predictive medians and central intervals), the same plus every study's
shrinkage estimate and interval (computed on first access), and ``rma(method="REML",
test="knha")``, and prints the ratios Bayes/REML. Target: the k = 30 fit, shrinkage included,
under 5 ms on the 2-core machine, so the dashboard can refit on every change. No test asserts
a time.
"""

from __future__ import annotations

import argparse

import numpy as np

from evidence.meta import bayesmeta, rma

SIZES = (1, 3, 30, 300)


def synthetic(k: int, seed: int = 20240601) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + k)
    vi = rng.uniform(0.01, 0.5, k)
    yi = rng.normal(0.3, np.sqrt(0.05 + vi))
    return yi, vi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="multiply the repeats")
    args = parser.parse_args()
    import time

    print(f"{'k':>5} {'bayes ms':>9} {'+shrink ms':>10} {'REML ms':>8} {'ratio':>7} {'ratio+':>7}")
    for k in SIZES:
        yi, vi = synthetic(k)
        test = "knha" if k > 1 else "z"  # Knapp-Hartung needs k >= 2
        fns = {
            "bayes": lambda yi=yi, vi=vi: bayesmeta(yi, vi),
            "shrink": lambda yi=yi, vi=vi: bayesmeta(yi, vi).theta_median,
            "reml": lambda yi=yi, vi=vi, test=test: rma(yi, vi, method="REML", test=test),
        }
        for fn in fns.values():
            fn()
        times: dict[str, list[float]] = {name: [] for name in fns}
        for _ in range(100 * args.repeats):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
        med = {name: float(np.median(ts)) * 1e3 for name, ts in times.items()}
        print(
            f"{k:>5} {med['bayes']:9.3f} {med['shrink']:10.3f} {med['reml']:8.3f} "
            f"{med['bayes'] / med['reml']:7.1f} {med['shrink'] / med['reml']:7.1f}"
        )


if __name__ == "__main__":
    main()
