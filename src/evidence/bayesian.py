"""The review's question answered with the Bayesian random-effects model (evidence.meta.bayesmeta).

Beside the frequentist ``compare.pool`` (REML, Knapp-Hartung, ...): per cell group the posterior
of the mean effect mu (median and central credible interval), the predictive interval of a new
study's effect, shrunken study estimates, the posterior probability of benefit and of a benefit
at least a threshold, and for every pair of groups the probability that one group's mean effect
is more favourable than the other's - an across-study, indirect comparison.

Priors: half-normal on tau with the scale of :func:`default_tau_prior` (recorded with the outcome
in ``vocab.Outcome.tau_prior_scale``), flat on mu. Every view states the prior (``TauPrior.text``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from evidence.compare import LOWER_IS_BETTER, Question, unit_of
from evidence.dataset import Dataset
from evidence.meta import BayesResult, bayesmeta, prob_greater
from evidence.vocab import OUTCOME_BY_CODE

#: Estimator name beside metafor's methods, and its label in the dashboard.
BAYES = "BAYES"
BAYES_LABEL = "Bayesian (half-normal prior on tau)"

#: Default threshold of a clinically relevant benefit per outcome (display units), with source.
BENEFIT_THRESHOLDS: dict[str, tuple[float, str]] = {
    "meld": (
        3.0,
        "a MELD fall of 3 points or more: the primary endpoint of the BM-MNC trial of Spahr 2013 "
        "(data/outcomes.csv, spahr2013_bmmct, meld_response, abstract)",
    ),
}
NO_THRESHOLD = "no sourced clinically relevant difference in this dataset: 0 is a choice; set one"

#: Risk differences have no published default for tau: this scale is a choice.
RD_TAU_SCALE = 0.1


@dataclass(frozen=True)
class TauPrior:
    """The half-normal prior on tau and where its scale comes from."""

    scale: float | None  # None: no default could be tied to the data (the user must set one)
    source: str
    user_set: bool = False

    @property
    def text(self) -> str:
        if self.scale is None:
            return f"Half-normal prior on tau: no default scale ({self.source})."
        how = "set by the reviewer" if self.user_set else self.source
        return f"Half-normal({self.scale:.3g}) prior on tau ({how}); flat prior on mu."


def default_tau_prior(data: Dataset, question: Question) -> TauPrior:
    """The defensible default scale for the question's outcome and effect measure."""
    record = OUTCOME_BY_CODE[question.outcome]
    measure = question.measure
    if record.counted:
        if measure == "RD":
            return TauPrior(RD_TAU_SCALE, "risk-difference scale: a choice, no published default")
        what = {
            "OR": "log odds ratio scale; Röver et al. 2021 recommend half-normal(0.5) for log ORs",
            "RR": "log risk ratio scale; Röver et al. 2021's half-normal(0.5) for log ratios",
            "PLO": "log odds of the arm's event rate; Röver et al. 2021's scale, here a choice",
        }[measure]
        return TauPrior(record.tau_prior_scale, what)
    out = data.outcomes
    sds = out.loc[(out["outcome"] == question.outcome) & (out["statistic"] == "sd"), "value"]
    sds = pd.to_numeric(sds, errors="coerce").dropna()
    if sds.empty:
        return TauPrior(None, f"the dataset reports no SD for {record.label}")
    med = float(np.median(sds))
    unit = unit_of(question.outcome)
    return TauPrior(
        record.tau_prior_scale * med,
        f"{record.tau_prior_scale:g} x the median of the {sds.size} SDs the dataset reports for "
        f"{record.label} ({med:.3g} {unit})",
    )


@dataclass(frozen=True)
class BayesGroup:
    group: str
    result: BayesResult
    p_benefit: float | None  # None where benefit is undefined (a single arm's event rate)
    p_threshold: float | None


@dataclass(frozen=True)
class BayesPooled:
    question: Question
    prior: TauPrior
    threshold: float
    threshold_source: str
    effects: pd.DataFrame
    groups: dict[str, BayesGroup | None]
    #: (better, worse, P(better's mean effect more favourable than worse's)), every pair once
    comparisons: tuple[tuple[str, str, float], ...]
    notes: tuple[str, ...] = ()

    @property
    def threshold_label(self) -> str:
        """What ``p_threshold`` is the probability of, read off the bound it was computed with."""
        return threshold_label(self.question, self.threshold)

    @property
    def included(self) -> pd.DataFrame:
        return self.effects[self.effects["included"]]


def _benefit_bound(question: Question, threshold: float) -> tuple[float, bool] | None:
    """(bound on mu's scale, lower_is_benefit) for 'a benefit of at least threshold'."""
    if question.effect == "change" and question.binary:
        return None  # a single arm's event rate: no comparison, no 'benefit'
    lower = question.outcome in LOWER_IS_BETTER
    if question.binary and question.measure in ("OR", "RR"):
        ratio = threshold if threshold > 0 else 1.0  # threshold given as a ratio (e.g. 0.8)
        if not lower:
            ratio = 1 / ratio
        return math.log(ratio), lower
    return (-threshold if lower else threshold), lower


def threshold_label(question: Question, threshold: float) -> str:
    """'P(benefit >= 3.00 points)', 'P(OR <= 0.80)' or, with no threshold, 'P(benefit)': the
    event whose probability is ``p_threshold``, on the scale people read (a ratio for OR/RR)."""
    bound = _benefit_bound(question, threshold)
    if bound is None:  # no benefit is defined (a single arm's event rate)
        return "P(benefit beyond the threshold)"
    value, lower = bound
    if value == 0:  # threshold 0 (or a ratio of 1): the same event as P(benefit)
        return "P(benefit), no threshold set"
    sign = "\u2264" if lower else "\u2265"
    measure = question.measure
    if measure in ("OR", "RR"):
        return f"P({measure} {sign} {_number(math.exp(value))})"
    if measure == "RD":
        return f"P(risk difference {sign} {_number(value)})"
    unit = unit_of(question.outcome)
    return f"P(benefit \u2265 {_number(threshold)}{' ' + unit if unit else ''})"


def _number(x: float) -> str:
    return f"{x:.2f}".replace("-", "\u2212")


def _prob(result: BayesResult, bound: float, lower: bool) -> float:
    below = float(result.mu_cdf(bound))
    return below if lower else 1.0 - below


def pool_bayes(
    effects_frame: pd.DataFrame,
    question: Question,
    prior: TauPrior,
    threshold: float | None = None,
    level: float = 0.95,
) -> BayesPooled:
    """Fit :func:`bayesmeta` per cell group (subtotals only, as ``compare.pool``).

    ``threshold`` is in display units (points for MELD; a ratio such as 0.8 for odds or risk
    ratios); None takes the outcome's default from :data:`BENEFIT_THRESHOLDS`.
    """
    if prior.scale is None:
        raise ValueError(prior.text)
    if threshold is None:
        threshold, source = BENEFIT_THRESHOLDS.get(question.outcome, (0.0, NO_THRESHOLD))
    else:
        source = "set by the reviewer"
    included = effects_frame[effects_frame["included"]]
    zero = _benefit_bound(question, 0.0)
    bound = _benefit_bound(question, float(threshold))
    groups: dict[str, BayesGroup | None] = {}
    for group in question.groups:
        part = included[included["group"] == group]
        if not len(part):
            groups[group] = None
            continue
        result = bayesmeta(
            pd.Series(part["yi"].to_numpy(), index=part["label"].to_numpy()),
            part["vi"].to_numpy(),
            tau_prior="halfnormal",
            tau_scale=prior.scale,
            level=level,
        )
        groups[group] = BayesGroup(
            group,
            result,
            None if zero is None else _prob(result, *zero),
            None if bound is None else _prob(result, *bound),
        )
    comparisons = []
    fitted = [g for g in groups.values() if g is not None]
    if zero is not None:
        lower = zero[1]
        for a, b in combinations(fitted, 2):
            # P(a's mean effect more favourable than b's): below for lower-is-better outcomes
            p = prob_greater(b.result, a.result) if lower else prob_greater(a.result, b.result)
            comparisons.append((a.group, b.group, p) if p >= 0.5 else (b.group, a.group, 1 - p))
    notes = []
    if question.effect == "change":
        notes.append(
            "Change from baseline within treated arms: not a comparison with control (in the "
            "Spahr 2013 trial MELD improved in both arms)."
        )
    if comparisons:
        notes.append(
            "Probabilities that one group's mean effect is more favourable than another's are "
            "across-study, indirect comparisons: no study randomised between the groups."
        )
    return BayesPooled(
        question,
        prior,
        float(threshold),
        source,
        effects_frame,
        groups,
        tuple(comparisons),
        tuple(notes),
    )


def summary_frame(bp: BayesPooled) -> pd.DataFrame:
    """One row per group: k, posterior median and credible interval of mu, predictive
    interval, tau, P(benefit), P(benefit >= threshold); on the analysis scale."""
    rows = []
    for name, g in bp.groups.items():
        if g is None:
            continue
        r = g.result
        rows.append(
            {
                "group": name,
                "k": r.k,
                "mu_median": r.mu_median,
                "mu_ci_lb": r.mu_ci_lb,
                "mu_ci_ub": r.mu_ci_ub,
                "pred_lb": r.pred_lb,
                "pred_ub": r.pred_ub,
                "tau_median": r.tau_median,
                "tau_ci_lb": r.tau_ci_lb,
                "tau_ci_ub": r.tau_ci_ub,
                "p_benefit": g.p_benefit,
                "p_threshold": g.p_threshold,
            }
        )
    return pd.DataFrame(rows)
