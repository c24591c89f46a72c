"""evidence.effects: escalc against metafor 3.8.1, the conversions against our R
implementation of the published formulas, published worked numbers, and row-level behaviour.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import special

from evidence.effects import (
    MEASURES,
    conv_fivenum,
    conv_wald,
    escalc,
    se_from_ci,
    se_from_pval,
)

REF = Path(__file__).parent / "reference"


def load(name: str) -> dict[str, Any]:
    return json.loads((REF / f"{name}.json").read_text())


def floats(values: Any) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


def assert_close(ours: Any, theirs: Any, rtol: float = 1e-9, atol: float = 1e-13) -> None:
    a = np.asarray(ours, dtype=float)
    e = floats(theirs)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)


# -- escalc pins (metafor) -----------------------------------------------------------------

ESC = load("escalc")


@pytest.mark.parametrize("case", ESC["cases"], ids=[c["id"] for c in ESC["cases"]])
def test_escalc_matches_metafor(case: dict[str, Any]) -> None:
    inputs = {k: floats(v) for k, v in case["inputs"].items()}
    out = escalc(case["measure"], **inputs, **(case["options"] or {}))
    assert_close(out["yi"], case["expected"]["yi"])
    assert_close(out["vi"], case["expected"]["vi"])
    # metafor's NA rows (drop00) are exactly our rows with a reason
    missing = np.isnan(floats(case["expected"]["yi"]))
    assert ((out["reason"] != "").to_numpy() == missing).all()


def test_every_measure_is_pinned() -> None:
    assert {c["measure"] for c in ESC["cases"]} == set(MEASURES)


# -- conversions (our R implementation of the published formulas) ----------------------------

CONV = load("conversions")


@pytest.mark.parametrize("test", [True, False])
def test_conv_fivenum_matches_reference(test: bool) -> None:
    rows = CONV["fivenum"]["inputs"]
    cols = {k: floats([r.get(k) for r in rows]) for k in ("min", "q1", "median", "q3", "max", "n")}
    out = conv_fivenum(**cols, test=test)
    exp = CONV["fivenum"]["test_true" if test else "test_false"]
    for field in ("mean", "sd", "tval", "crit"):
        assert_close(out[field], [r.get(field) for r in exp])
    assert out["case"].tolist() == [r["case"] for r in exp]


def test_conv_fivenum_reasons() -> None:
    out = conv_fivenum(
        min=[2, 2, 2, 5], median=[6, 6, 6, 4], max=[14, 14, 14, 9], n=[20, 4, np.nan, 20]
    )
    assert out["reason"].tolist() == [
        "",
        "n < 5",
        "missing n",
        "values not ordered as min <= q1 <= median <= q3 <= max",
    ]
    skewed = conv_fivenum(min=[2], q1=[4], median=[6], q3=[14], max=[20], n=[20])
    assert skewed["skewed"].iloc[0]
    assert skewed["reason"].iloc[0] == "skewness test significant (test=True)"
    assert math.isnan(skewed["mean"].iloc[0])


def test_conv_fivenum_sd_without_median() -> None:
    """The SD methods do not use the median (the mean then cannot be estimated)."""
    out = conv_fivenum(q1=[4.0], q3=[10.0], n=[40])
    eta = 2 * special.ndtri((0.75 * 40 - 0.125) / (40 + 0.25))  # Wan et al. (2014) eq. 16
    assert math.isnan(out["mean"].iloc[0])
    assert out["sd"].iloc[0] == pytest.approx(6.0 / eta, rel=1e-12)


#: Wan et al. (2014), Table 1: the exact expected range xi(n) of n standard normal draws.
#: Their formula (9), 2 Phi^-1((n - 0.375) / (n + 0.25)), which metafor and we use, is the
#: approximation to it; it agrees to within 1.5% at n = 5 and 0.5% from n = 10 on.
WAN_TABLE_1 = {
    5: 2.326,
    10: 3.078,
    15: 3.472,
    20: 3.735,
    25: 3.931,
    30: 4.086,
    40: 4.322,
    50: 4.498,
}


@pytest.mark.parametrize(("n", "xi"), sorted(WAN_TABLE_1.items()))
def test_range_divisor_against_wan_table_1(n: int, xi: float) -> None:
    out = conv_fivenum(min=[0.0], median=[xi / 2], max=[xi], n=[n], test=False)
    # sd = (max - min) / xi(n): with a range of exactly xi(n) the SD is xi / xi_approx(n)
    ratio = out["sd"].iloc[0]
    assert ratio == pytest.approx(1.0, rel=0.015 if n < 10 else 0.005)


@pytest.mark.parametrize(
    ("key", "level", "df"),
    [("log_z95", 0.95, None), ("log_t95", 0.95, "df"), ("log_z90", 90, None)],
)
def test_conv_wald_matches_reference(key: str, level: float, df: str | None) -> None:
    w = CONV["wald"]
    rows = w["inputs"]
    out = conv_wald(
        out=floats([r["out"] for r in rows]),
        ci_lb=floats([r.get("ci.lb") for r in rows]),
        ci_ub=floats([r.get("ci.ub") for r in rows]),
        pval=floats([r.get("pval") for r in rows]),
        level=level,
        df=None if df is None else w["df"],
        transf="log",
    )
    assert_close(out["yi"], w[key]["yi"])
    assert_close(out["vi"], w[key]["vi"])
    assert out["source"].tolist() == ["ci", "pval", "ci", "ci", "pval", "ci"]


def test_se_from_ci_and_pval_closed_form() -> None:
    z = 1.959963984540054
    assert se_from_ci(-z, z)[0] == pytest.approx(1.0, rel=1e-12)
    assert se_from_ci(0, 2, level=95)[0] == pytest.approx(1 / z, rel=1e-12)
    assert se_from_pval(z, 0.05)[0] == pytest.approx(1.0, rel=1e-12)
    assert se_from_pval(-z, 0.05)[0] == pytest.approx(1.0, rel=1e-12)
    t = special.stdtrit(10, 0.975)  # qt(0.975, 10)
    assert se_from_ci(-t, t, df=10)[0] == pytest.approx(1.0, rel=1e-12)
    assert se_from_pval(t, 0.05, df=10)[0] == pytest.approx(1.0, rel=1e-12)


def test_conv_wald_flags() -> None:
    out = conv_wald(
        out=[1.0, 1.0, 1.0, 2.0],
        ci_lb=[np.nan, np.nan, 0.9, 0.2],
        ci_ub=[np.nan, np.nan, 2.0, 2.4],
        pval=[1.0, np.nan, np.nan, np.nan],
    )
    assert out["reason"].tolist()[:2] == [
        "p = 1: the SE cannot be recovered",
        "needs ci_lb and ci_ub, or out and pval",
    ]
    assert out["ci_asymmetric"].tolist() == [False, False, True, True]


# -- escalc behaviour ----------------------------------------------------------------------


def test_escalc_keeps_every_row_and_says_why() -> None:
    out = escalc(
        "SMD",
        m1i=[1.0, np.nan, 1.0, 1.0],
        sd1i=[1, 1, -1, 0],
        n1i=[10, 10, 10, 10],
        m2i=[0.0, 0, 0, 0],
        sd2i=[1, 1, 1, 0],
        n2i=[10, 10, 10, 10],
    )
    assert len(out) == 4
    assert out["reason"].tolist() == [
        "",
        "missing m1i",
        "negative standard deviation",
        "pooled SD is 0",
    ]
    assert out["yi"].isna().tolist() == [False, True, True, True]


def test_escalc_reads_columns_by_name_and_keeps_the_index() -> None:
    df = pd.DataFrame(
        {"e1": [3, 0], "n1": [10, 12], "e2": [5, 0], "n2": [11, 12]},
        index=["smith2001", "jones2003"],
    )
    out = escalc("OR", df, ai="e1", n1i="n1", ci="e2", n2i="n2")
    assert list(out.index) == ["smith2001", "jones2003"]
    assert out["corrected"].tolist() == [False, True]
    assert out.loc["jones2003", "yi"] == 0.0  # double zero: kept, corrected (metafor default)
    dropped = escalc("OR", df, ai="e1", n1i="n1", ci="e2", n2i="n2", drop00=True)
    assert dropped.loc["jones2003", "reason"] == "double-zero study dropped (drop00=True)"


def test_escalc_binary_validation() -> None:
    out = escalc("RR", ai=[5, 12, 3], n1i=[10, 10, np.nan], ci=[2, 2, 2], n2i=[10, 10, 10])
    assert out["reason"].tolist() == [
        "",
        "more events than patients (or a negative count)",
        "missing n1i",
    ]


def test_escalc_prepost_correlation_default_and_per_study() -> None:
    args = dict(m1i=[12.0, 12.0], m2i=[10.0, 10.0], sd1i=[4.0, 4.0], sd2i=[4.0, 4.0], ni=[20, 20])
    default = escalc("MC", **args)
    assert default["ri"].tolist() == [0.5, 0.5]
    assert default["vi"].iloc[0] == pytest.approx((16 + 16 - 2 * 0.5 * 16) / 20)
    per_study = escalc("MC", **args, ri=[0.8, np.nan])
    assert per_study["ri"].tolist() == [0.8, 0.5]
    assert escalc("MC", **args, ri=0.3)["ri"].tolist() == [0.3, 0.3]
    assert escalc("MC", **args, ri=1.5)["reason"].iloc[0] == "ri must be within [-1, 1]"
    # yi = m1i - m2i: follow-up minus baseline is a positive change
    assert default["yi"].iloc[0] == 2.0


def test_escalc_errors() -> None:
    with pytest.raises(ValueError, match="unknown measure"):
        escalc("XYZ", ai=[1])
    with pytest.raises(ValueError, match="missing argument"):
        escalc("MD", m1i=[1.0], sd1i=[1.0], n1i=[3])
    with pytest.raises(ValueError, match="to must be"):
        escalc("OR", ai=[1], bi=[2], ci=[1], di=[2], to="sometimes")
    with pytest.raises(ValueError, match="has 1 values, expected 2"):
        escalc("OR", ai=[1, 2], bi=[2], ci=[1, 1], di=[2, 2])


def test_escalc_proportions_correction() -> None:
    out = escalc("PLO", xi=[0, 5, 10], ni=[10, 10, 10])
    assert out["corrected"].tolist() == [True, False, True]
    assert out["yi"].iloc[0] == pytest.approx(math.log(0.5 / 10.5))
    assert out["vi"].iloc[1] == pytest.approx(1 / 5 + 1 / 5)
    none = escalc("PLO", xi=[0, 5], ni=[10, 10], to="none")
    assert none["reason"].iloc[0].startswith("0 or all events and no correction")
