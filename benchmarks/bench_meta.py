"""Speed of evidence.meta against statsmodels and PyMARE, measured in the same run.

    python benchmarks/bench_meta.py              # default: well under a minute
    python benchmarks/bench_meta.py --repeats 5  # five times the default repeats

For k = 10, 1,000 and 100,000 synthetic studies (seeded) it times, as the median of many
``time.perf_counter`` repeats after a warm-up:

* ours: ``rma(method="REML", test="knha")`` - estimate, SE, t test and CI, prediction
  interval, Q, I^2, H^2, SE of tau2 - and the same plus the Q-profile CI for tau2 (a lazily
  computed field, timed separately); ``rma(method="DL")`` and ``rma(method="PM")``;
* statsmodels ``combine_effects`` with ``method_re="dl"`` and ``"pm"`` (it also computes the
  common-effect model and the HKSJ variance);
* PyMARE ``DerSimonianLaird`` and ``VarianceBasedLikelihoodEstimator(method="REML")`` with
  ``summary()``.

Ratios are peer time / our time for the same estimator (REML for PyMARE's likelihood
estimator; DL and PM for statsmodels). It also checks that the estimates agree and reports
where a peer differs and why (statsmodels' DL does not truncate tau2 at 0; its Paule-Mandel
loop stops at tau2 = 0 when the first step overshoots, and its tolerance is 1e-5 on Q).
Finally it times the whole dashboard recompute for one k = 30 outcome.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from evidence.meta import leave1out, regtest, rma, subgroups

SIZES = (10, 1_000, 100_000)
BASE_REPEATS = {10: 300, 1_000: 100, 100_000: 15}


def synthetic(k: int, seed: int = 20240601) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + k)
    vi = rng.uniform(0.01, 0.5, k)
    yi = rng.normal(0.3, np.sqrt(0.05 + vi))
    return yi, vi


def median_times(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median wall time (seconds) of each function, after two warm-up calls each.

    The candidates are timed in interleaved rounds (one call of each per round), so that a
    change in machine speed during the run (this is a shared 2-core machine) affects all of
    them alike and the ratios stay meaningful.
    """
    for fn in fns.values():
        fn()
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(ts)) for name, ts in times.items()}


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.3f}"


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def bench_size(k: int, repeats: int) -> list[str]:
    from pymare import Dataset
    from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator
    from statsmodels.stats.meta_analysis import combine_effects

    yi, vi = synthetic(k)
    lines: list[str] = []

    def ours(method: str, test: str = "z", ci: bool = False) -> Callable[[], Any]:
        def run() -> Any:
            res = rma(yi, vi, method=method, test=test)
            if ci:
                res.tau2_ci_ub  # noqa: B018 - computing the lazy Q-profile interval is the point
            return res

        return run

    def sm(method: str) -> Callable[[], Any]:
        return lambda: combine_effects(yi, vi, method_re=method)

    def pymare_dl() -> Any:
        return DerSimonianLaird().fit_dataset(Dataset(y=yi, v=vi)).summary()

    def pymare_reml() -> Any:
        return (
            VarianceBasedLikelihoodEstimator(method="REML")
            .fit_dataset(Dataset(y=yi, v=vi))
            .summary()
        )

    t = median_times(
        {
            "ours REML+KH+PI": ours("REML", "knha"),
            "ours REML+KH+PI+QP-CI": ours("REML", "knha", ci=True),
            "ours DL": ours("DL"),
            "ours PM": ours("PM"),
            "statsmodels DL": sm("dl"),
            "statsmodels PM": sm("pm"),
            "PyMARE DL": pymare_dl,
            "PyMARE REML": pymare_reml,
        },
        repeats,
    )
    lines.append(f"k = {k:,}  (median of {repeats} repeats; times in ms)")
    lines.append(f"  {'':24s} {'ours':>9s} {'peer':>9s} {'peer/ours':>10s}")
    pairs = [
        ("DL vs statsmodels", "ours DL", "statsmodels DL"),
        ("PM vs statsmodels", "ours PM", "statsmodels PM"),
        ("DL vs PyMARE", "ours DL", "PyMARE DL"),
        ("REML vs PyMARE", "ours REML+KH+PI", "PyMARE REML"),
    ]
    for label, a, b in pairs:
        lines.append(f"  {label:24s} {fmt_ms(t[a])} {fmt_ms(t[b])} {t[b] / t[a]:9.1f}x")
    lines.append(f"  {'REML+KH+PI (target <10 ms at 100k)':38s}{fmt_ms(t['ours REML+KH+PI'])}")
    lines.append(f"  {'REML+KH+PI + Q-profile tau2 CI':38s}{fmt_ms(t['ours REML+KH+PI+QP-CI'])}")

    # -- agreement ----------------------------------------------------------------------
    dl, pm, reml = rma(yi, vi, method="DL"), rma(yi, vi, method="PM"), rma(yi, vi)
    sm_dl, sm_pm = combine_effects(yi, vi, method_re="dl"), combine_effects(yi, vi, method_re="pm")
    p_dl = DerSimonianLaird().fit_dataset(Dataset(y=yi, v=vi))
    p_reml = VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(Dataset(y=yi, v=vi))
    checks = [
        ("statsmodels DL", dl, float(sm_dl.tau2), float(sm_dl.mean_effect_re)),
        ("statsmodels PM", pm, float(sm_pm.tau2), float(sm_pm.mean_effect_re)),
        (
            "PyMARE DL",
            dl,
            float(p_dl.params_["tau2"].ravel()[0]),
            float(p_dl.params_["fe_params"].ravel()[0]),
        ),
        (
            "PyMARE REML",
            reml,
            float(p_reml.params_["tau2"].ravel()[0]),
            float(p_reml.params_["fe_params"].ravel()[0]),
        ),
    ]
    for name, res, tau2, est in checks:
        d_est = rel_diff(res.estimate, est)
        d_tau = abs(res.tau2 - tau2) / max(res.tau2, 1e-12 * float(np.mean(vi)))
        tol = 1e-6 if name.startswith("statsmodels DL") or name == "PyMARE DL" else 1e-4
        if d_est <= tol and (d_tau <= tol or abs(res.tau2 - tau2) < 1e-9):
            verdict = "agree"
        else:
            verdict = "DIFFER: " + explain(name, res.tau2, tau2)
        lines.append(
            f"  agreement {name:15s} estimate rel.diff {d_est:8.1e}  tau2 ours {res.tau2:.6g}"
            f" theirs {tau2:.6g}  {verdict}"
        )
    return lines


def explain(name: str, ours: float, theirs: float) -> str:
    if name == "statsmodels DL" and theirs < 0:
        return "statsmodels' DL does not truncate tau2 at 0 (metafor and we do)"
    if name == "statsmodels PM" and theirs == 0 and ours > 0:
        return "statsmodels' PM loop stopped at tau2 = 0 after an overshooting step"
    if name == "statsmodels PM":
        return "statsmodels' PM stops at |Q - (k-1)| < 1e-5 (we solve to machine precision)"
    if name.startswith("PyMARE REML"):
        return "PyMARE maximises the likelihood with scipy.optimize's default tolerance"
    return "see docs/statistics.md"


def bench_recompute(repeats: int) -> list[str]:
    """Everything the dashboard recomputes for one outcome with k = 30."""
    yi, vi = synthetic(30)
    groups = np.array(["MSC", "HSC", "BM-MNC"] * 10)
    methods = ("FE", "DL", "REML", "ML", "PM", "EB", "HS", "SJ", "HE")

    def recompute() -> None:
        for method in methods:
            rma(yi, vi, method=method, test="knha")
        subgroups(yi, vi, groups, method="REML", test="knha")
        leave1out(yi, vi, method="REML", test="knha")
        regtest(yi, vi)

    def recompute_all() -> None:
        for method in methods:
            res = rma(yi, vi, method=method, test="knha")
            res.i2_ci_ub  # noqa: B018 - force the lazy Q-profile interval
        subgroups(yi, vi, groups, method="REML", test="knha")
        subgroups(yi, vi, groups, method="REML", test="knha", tau2="common")
        leave1out(yi, vi, method="REML", test="knha")
        regtest(yi, vi)

    t = median_times({"recompute": recompute, "all": recompute_all}, repeats)
    t1, t2 = t["recompute"], t["all"]
    return [
        "k = 30 dashboard recompute (target < 5 ms)",
        f"  9 estimators (knha) + subgroups + leave-one-out + Egger     {fmt_ms(t1)} ms",
        f"  ... + Q-profile CIs of all 9 + common-tau2 subgroup test    {fmt_ms(t2)} ms",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--repeats",
        type=float,
        default=1.0,
        help="multiply the default number of repeats (default 1)",
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # statsmodels warns on its negative DL tau2
    started = time.perf_counter()
    for k in args.sizes:
        repeats = max(3, math.ceil(BASE_REPEATS.get(k, 20) * args.repeats))
        print("\n".join(bench_size(k, repeats)), end="\n\n", flush=True)
    print("\n".join(bench_recompute(max(20, math.ceil(200 * args.repeats)))))
    print(f"\n(total benchmark time {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
