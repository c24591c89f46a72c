"""evidence.robustness: the right studies, the meta functions' numbers, honest conclusion flags."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evidence import robustness as R
from evidence.meta import METHODS, cumul, leave1out, ranktest, regtest, rma, trimfill

# metafor's dat.bcg as log risk ratios (the same numbers as tests/test_meta.py)
BCG_YI = [-0.88931133, -1.58538866, -1.34807315, -1.44155119, -0.21754732, -0.78611559,
          -1.62089822, 0.01195233, -0.46941765, -1.37134480, -0.33935883, 0.44591340,
          -0.01731395]  # fmt: skip
BCG_VI = [0.32558476, 0.19458112, 0.41536797, 0.02001003, 0.05121018, 0.00690562, 0.22301725,
          0.00396158, 0.05649658, 0.07302479, 0.01241221, 0.53250585, 0.07140466]  # fmt: skip
YEAR = [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961, 1974, 1969, 1976]


def frame_of(yi, vi, *, groups=None, years=None, citekeys=None, measure="RR", included=None):
    """A frame shaped like compare.effects() output."""
    k = len(yi)
    groups = groups or ["MSC"] * k
    years = years or list(range(2000, 2000 + k))
    citekeys = citekeys or [f"s{i}" for i in range(k)]
    return pd.DataFrame(
        {
            "citekey": citekeys,
            "label": [f"Study {c}" for c in citekeys],
            "arm": [f"arm{i}" for i in range(k)],
            "group": groups,
            "year": years,
            "n": [20.0] * k,
            "measure": [measure] * k,
            "yi": np.asarray(yi, float),
            "vi": np.asarray(vi, float),
            "sei": np.sqrt(np.asarray(vi, float)),
            "included": included if included is not None else [True] * k,
            "reason": [""] * k,
        }
    )


@pytest.fixture(scope="module")
def bcg():
    return frame_of(BCG_YI, BCG_VI, years=YEAR)


@pytest.fixture(scope="module")
def bundled():
    """Shaped like the default question's effects: one MSC arm, two HSC arms, no BM-MNC arm
    (synthetic numbers; what the bundled data holds is asserted in tests/bundled/)."""
    return frame_of([-3.1, -2.2, -4.4], [1.1, 0.8, 1.6], groups=["MSC", "HSC", "HSC"], measure="MD")


def test_conclusion_and_null():
    assert R.analysis_null("MD") == 0.0
    assert R.analysis_null("OR") == 0.0  # log(1)
    assert math.isnan(R.analysis_null("PLO"))
    assert R.conclusion(-2.0, -0.1, 0.0) == "lower"
    assert R.conclusion(0.1, 2.0, 0.0) == "higher"
    assert R.conclusion(-1.0, 1.0, 0.0) == "unclear"
    assert R.conclusion(float("nan"), 1.0, 0.0) == "unclear"
    assert R.conclusion(-2.0, -1.0, float("nan")) == "n/a"


def test_studies_scope_and_unique_labels():
    f = frame_of(
        [0.1, 0.2, 0.3, 0.4],
        [0.1] * 4,
        groups=["MSC", "MSC", "HSC", "HSC"],
        citekeys=["a", "a", "b", "c"],
        included=[True, True, True, False],
    )
    rows = R.studies(f)
    assert list(rows.index) == ["Study a (arm0)", "Study a (arm1)", "Study b"]
    assert list(R.studies(f, "HSC").index) == ["Study b"]
    assert R.scopes(f) == ["all", "MSC", "HSC"]


def test_leave_one_out_matches_meta(bcg):
    table = R.leave_one_out(bcg, method="REML", test="knha")
    rows = R.studies(bcg)
    ref = leave1out(rows["yi"], rows["vi"], method="REML", test="knha")
    assert list(table["study"]) == list(ref.index)
    np.testing.assert_allclose(table["estimate"], ref["estimate"], rtol=1e-12)
    np.testing.assert_allclose(table["ci_ub"], ref["ci_ub"], rtol=1e-12)
    assert (table["k"] == 12).all()
    # each row is the model without that study
    without = rma(np.delete(BCG_YI, 3), np.delete(BCG_VI, 3), method="REML", test="knha")
    assert table.loc[3, "estimate"] == pytest.approx(without.estimate, rel=1e-8)
    # the full BCG result (risk ratio < 1) survives every omission
    assert (table["conclusion"] == "lower").all() and not table["changes"].any()


def test_leave_one_out_needs_two_studies(bundled):
    table = R.leave_one_out(bundled, scope="MSC")
    assert table.empty and "at least 2" in table.attrs["reason"]


def test_cumulative_by_year_ends_with_the_full_model(bcg):
    table = R.cumulative(bcg)
    assert list(table["year"]) == sorted(YEAR)
    assert list(table["k"]) == list(range(1, 14))
    full = rma(BCG_YI, BCG_VI)
    assert table["estimate"].iloc[-1] == pytest.approx(full.estimate, rel=1e-10)
    ref = cumul(R.studies(bcg)["yi"], R.studies(bcg)["vi"], order=YEAR)
    np.testing.assert_allclose(table["estimate"], ref["estimate"], rtol=1e-12)
    # the first trial alone (1948, CI crossing 1) differs from the full model's conclusion
    assert table["changes"].iloc[0] and not table["changes"].iloc[-1]


def test_funnel_has_the_tests_and_no_warning_at_k13(bcg):
    f = R.funnel(bcg)
    assert f.k == 13 and not f.few_studies
    eg = regtest(BCG_YI, BCG_VI)
    assert f.egger.stat == pytest.approx(eg.stat) and f.egger.pval == pytest.approx(eg.pval)
    assert f.begg.tau == pytest.approx(ranktest(BCG_YI, BCG_VI).tau)
    assert f.trimfill.k0 == trimfill(BCG_YI, BCG_VI).k0
    assert f.estimate == pytest.approx(rma(BCG_YI, BCG_VI).estimate)
    assert len(f.points) == 13 and set(f.points.columns) >= {"study", "yi", "sei", "group"}


def test_funnel_warns_below_ten_and_explains_missing_tests(bundled):
    f = R.funnel(bundled)
    assert f.few_studies and f.k == 3
    assert "fewer than 10" in f.notes[0]
    small = R.funnel(bundled, scope="MSC")
    assert small.egger is None and small.begg is None and small.trimfill is None
    assert any("at least 3" in n for n in small.notes)
    assert any("at least 2" in n for n in small.notes)


def test_estimator_grid_covers_every_method_and_flags_changes(bundled):
    grid = R.estimator_grid(bundled, method="REML", test="z")
    assert len(grid) == len(METHODS) * 2
    assert set(grid["method"]) == set(METHODS) and set(grid["test"]) == {"z", "knha"}
    ref = grid[grid["reference"]]
    assert len(ref) == 1 and tuple(ref[["method", "test"]].iloc[0]) == ("REML", "z")
    assert not ref["changes"].iloc[0]
    # every flag agrees with the conclusions themselves
    concl = ref["conclusion"].iloc[0]
    for row in grid.itertuples():
        again = R.conclusion(row.ci_lb, row.ci_ub, 0.0)
        assert row.conclusion == again
        assert row.changes == (again != concl or row.direction_flips)
    # the numbers are rma's
    hs = rma(*(R.studies(bundled)[c] for c in ("yi", "vi")), method="HS", test="z")
    row = grid[(grid["method"] == "HS") & (grid["test"] == "z")].iloc[0]
    assert row["estimate"] == pytest.approx(hs.estimate) and row["ci_ub"] == pytest.approx(hs.ci_ub)


def test_grid_direction_flip_is_flagged():
    # Two imprecise studies up, one precise study down: the common-effect model follows the
    # precise one (below 0), DerSimonian-Laird the average (above 0, CI crossing 0).
    f = frame_of([2.0, 2.0, -0.1], [0.5, 0.5, 0.0005], measure="MD")
    grid = R.estimator_grid(f, method="DL", test="z")
    dl = grid[grid["reference"]].iloc[0]
    fe = grid[(grid["method"] == "FE") & (grid["test"] == "z")].iloc[0]
    assert dl["estimate"] > 0 and dl["conclusion"] == "unclear"
    assert fe["estimate"] < 0 and fe["conclusion"] == "lower"
    assert fe["direction_flips"] and fe["changes"]


def test_grid_reports_models_that_cannot_be_fitted():
    f = frame_of([0.1, 0.5, 0.3], [0.0, 0.1, 0.2], measure="MD")
    grid = R.estimator_grid(f, method="REML", test="z")
    dl = grid[(grid["method"] == "DL") & (grid["test"] == "z")].iloc[0]
    assert "positive sampling variances" in dl["error"] and dl["conclusion"] == "n/a"
    assert not dl["changes"]


def test_proportions_have_no_conclusion_flags():
    f = frame_of([-1.0, -0.5, -2.0], [0.2, 0.3, 0.4], measure="PLO")
    grid = R.estimator_grid(f)
    assert (grid["conclusion"] == "n/a").all() and not grid["changes"].any()


def test_empty_scope_is_explained(bundled):
    grid = R.estimator_grid(bundled, scope="BM-MNC")
    assert (grid["error"] == "no included study in scope").all()
    assert R.cumulative(bundled, scope="BM-MNC").empty
    assert R.funnel(bundled, scope="BM-MNC").k == 0
    assert R.reference(bundled, scope="BM-MNC").result is None
