"""The Compare tab under the Bayesian model (shown when the estimator is "Bayesian"): the
posterior forest plot, per group the posterior median and credible interval, the predictive
interval, P(benefit) and P(benefit at least the threshold), the across-study (indirect)
probabilities between groups, and a small plot of the prior and posterior of tau. The prior is
stated with its source on the view; the sidebar's prior-scale control changes it."""

from __future__ import annotations

from collections.abc import Hashable

import ipywidgets as W
import plotly.graph_objects as go

from evidence.app.html import escape
from evidence.app.state import ViewState
from evidence.app.views import Context
from evidence.app.widgets import FigurePane, classed, slug
from evidence.bayesian import BAYES_LABEL, BayesPooled, TauPrior, default_tau_prior, pool_bayes
from evidence.compare import OUTCOME_LABELS, to_display, unit_of
from evidence.figures.bayes import bayes_forest_plot, tau_prior_posterior_plot
from evidence.figures.style import fmt


def _pct(p: float | None) -> str:
    return "\u2014" if p is None else f"{100 * p:.0f}%"


class BayesPanel:
    """The Bayesian content of the Compare tab (built the first time it is asked for)."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.analysis = context.analysis
        self.panes = {
            "bayes-forest": FigurePane("bayes-forest", "bayes-forest-plot"),
            "bayes-tau": FigurePane("bayes-tau", "bayes-tau-plot"),
        }
        self.summary = classed(W.HTML(), "ev-bayes-summary")
        self.box = classed(
            W.VBox(
                [self.panes["bayes-forest"].box, self.summary, self.panes["bayes-tau"].box],
                layout=W.Layout(width="100%"),
            ),
            "ev-bayes",
        )
        self.result: BayesPooled | None = None
        self.built_for: Hashable = None

    def _fit(self, state: ViewState) -> tuple[BayesPooled | None, TauPrior, TauPrior]:
        """The fitted model of ``state`` (None when the outcome has no prior scale), the prior
        used and the outcome's default prior."""
        q = state.question
        data = self.analysis.data
        default = self.analysis.cached(("tau_prior", q), lambda: default_tau_prior(data, q))
        prior = default
        if state.prior_scale is not None:
            prior = TauPrior(state.prior_scale, default.source, user_set=True)
        if prior.scale is None:
            return None, prior, default
        frame = self.analysis.effects(q, state.rob)
        bp = self.analysis.cached(
            ("bayes", q, state.rob, prior, state.benefit_threshold),
            lambda: pool_bayes(frame, q, prior, state.benefit_threshold),
        )
        return bp, prior, default

    def figures(self, state: ViewState) -> dict[str, go.Figure]:
        """The plots of ``state`` by pane, built afresh (what :meth:`show` draws in place); a
        pane missing here shows no plot."""
        bp, _prior, _default = self._fit(state)
        if bp is None:
            return {}
        outcome = OUTCOME_LABELS[bp.question.outcome]
        out = {"bayes-forest": bayes_forest_plot(bp, f"{outcome}: {BAYES_LABEL}")}
        fitted = {n: g.result for n, g in bp.groups.items() if g is not None}
        if fitted:
            out["bayes-tau"] = tau_prior_posterior_plot(fitted)
        return out

    def show(self, state: ViewState) -> None:
        q = state.question
        key = (q, state.rob, state.prior, state.threshold)
        if key == self.built_for:
            return
        bp, prior, default = self._fit(state)
        self.result = bp
        outcome = OUTCOME_LABELS[q.outcome]
        figures = self.figures(state)
        for name, pane in self.panes.items():
            if name in figures:
                pane.draw(figures[name], stem=slug(name, outcome))
            else:  # as on a fresh page: no plot (an earlier state's plot must not stay)
                pane.hide()
        if bp is None:
            self.summary.value = f"<p class='ev-notice'>{escape(prior.text)}</p>"
        else:
            self.summary.value = self._summary(bp, default)
        self.built_for = key

    @staticmethod
    def _summary(bp: BayesPooled, default: TauPrior) -> str:
        q = bp.question
        measure = q.measure
        unit = "" if q.binary else f" {unit_of(q.outcome)}"
        rows = []
        for name, g in bp.groups.items():
            if g is None:
                rows.append(
                    f"<tr><td>{escape(name)}</td><td class='ev-num'>0</td>"
                    "<td colspan='5' class='ev-muted'>no usable numbers</td></tr>"
                )
                continue
            r = g.result
            d = [float(to_display(measure, v)) for v in (r.mu_median, r.mu_ci_lb, r.mu_ci_ub)]
            p = [float(to_display(measure, v)) for v in (r.pred_lb, r.pred_ub)]
            rows.append(
                f"<tr><td>{escape(name)}</td><td class='ev-num'>{r.k}</td>"
                f"<td class='ev-num'>{fmt(d[0])} [{fmt(d[1])}, {fmt(d[2])}]</td>"
                f"<td class='ev-num'>{fmt(p[0])} to {fmt(p[1])}</td>"
                f"<td class='ev-num'>{fmt(r.tau_median, 3)}</td>"
                f"<td class='ev-num'>{_pct(g.p_benefit)}</td>"
                f"<td class='ev-num'>{_pct(g.p_threshold)}</td></tr>"
            )
        threshold = f"{fmt(bp.threshold)}{unit}"
        if q.binary:  # a ratio or a risk difference: the event itself says more than a number
            threshold = bp.threshold_label
        lines = [
            f"<p class='ev-method'><b>Prior:</b> {escape(bp.prior.text)}"
            + (
                f" The default would be {escape(default.text)}"
                if bp.prior.user_set and default.scale is not None
                else ""
            )
            + "</p>",
            f"<p class='ev-method'><b>Benefit threshold:</b> {escape(threshold)} "
            f"({escape(bp.threshold_source)}).</p>",
        ]
        for better, worse, prob in bp.comparisons:
            lines.append(
                f"<p>P({escape(better)}'s mean effect more favourable than {escape(worse)}'s) = "
                f"{100 * prob:.0f}% <span class='ev-muted'>(across-study, indirect comparison; "
                "no study randomised between them)</span></p>"
            )
        lines += [f"<p class='ev-muted'>{escape(n)}</p>" for n in bp.notes]
        return (
            f"<h3>What this shows: {escape(OUTCOME_LABELS[q.outcome])}, {escape(BAYES_LABEL)}</h3>"
            "<table class='ev-table'><thead><tr><th>group</th><th>k</th>"
            "<th>posterior median [95% CrI]</th><th>95% predictive interval</th>"
            "<th>\u03c4 (median)</th><th>P(benefit)</th>"
            f"<th>{escape(bp.threshold_label)}</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
            + "".join(lines)
        )


__all__ = ["BayesPanel"]
