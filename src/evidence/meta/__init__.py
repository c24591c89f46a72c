"""Meta-analysis core: metafor's ``rma.uni`` and its companions, in numpy.

Public API (names fixed; the app, notebooks and outside checks rely on them):

* :func:`rma` - random-effects / common-effect model (FE, DL, REML, ML, PM, EB, HS, SJ, HE;
  tests z, knha, adhoc) returning a frozen :class:`RMAResult`.
* :func:`subgroups` - per-subgroup fits and the test for subgroup differences;
  :func:`difference_test` picks the test that matches ``test`` (RevMan's Q for z, metafor's
  moderator F test for Knapp-Hartung).
* :func:`leave1out`, :func:`cumul` - sensitivity analyses as DataFrames.
* :func:`bayesmeta` - Bayesian normal-normal hierarchical model (half-normal / half-Cauchy
  prior on tau), computed exactly, returning a frozen :class:`BayesResult`;
  :func:`prob_greater` for an indirect comparison of two such posteriors.
* :func:`regtest` (Egger), :func:`ranktest` (Begg), :func:`trimfill` (Duval and Tweedie).

See ``docs/statistics.md`` for the formulas and every deliberate difference from metafor.
"""

from evidence.meta.bayes import BayesResult, bayesmeta, prob_greater
from evidence.meta.bias import ranktest, regtest, trimfill
from evidence.meta.estimators import METHODS
from evidence.meta.model import rma
from evidence.meta.results import (
    RanktestResult,
    RegtestResult,
    RMAResult,
    SubgroupResult,
    TrimfillResult,
)
from evidence.meta.sensitivity import cumul, leave1out
from evidence.meta.subgroups import difference_test, subgroups

__all__ = [
    "METHODS",
    "BayesResult",
    "RMAResult",
    "RanktestResult",
    "RegtestResult",
    "SubgroupResult",
    "TrimfillResult",
    "bayesmeta",
    "cumul",
    "difference_test",
    "leave1out",
    "prob_greater",
    "ranktest",
    "regtest",
    "rma",
    "subgroups",
    "trimfill",
]
