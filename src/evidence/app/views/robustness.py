"""The Robustness view: estimator grid, leave-one-out, cumulative and funnel plots for one
scope of studies, and what they mean in a few sentences."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import ipywidgets as W

from evidence.app.controls import SCOPE_LABELS
from evidence.app.html import escape
from evidence.app.state import ViewState
from evidence.app.views import BaseView, Context, model_note
from evidence.app.widgets import FigurePane, classed, slug
from evidence.appraisal import rob as rob_module
from evidence.compare import OUTCOME_LABELS

PLOTS = {
    "grid": "grid-plot",
    "loo": "loo-plot",
    "cumulative": "cumulative-plot",
    "funnel": "funnel-plot",
}


class RobustnessView(BaseView):
    """Estimator grid, leave-one-out, cumulative and funnel plots for one scope of studies."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.analysis = context.analysis
        self.scope = classed(
            W.Dropdown(
                options=[(SCOPE_LABELS[s], s) for s in SCOPE_LABELS],
                description="Studies pooled:",
                style={"description_width": "initial"},
                layout=W.Layout(width="420px"),
            ),
            "ev-scope",
        )
        self.shown_scope = self.scope.value
        self.scope.observe(self._scope_changed, names="value")
        self.summary = classed(W.HTML(), "ev-robustness-summary")
        self.model_note = classed(W.HTML(), "ev-model-note")
        self.panes = {name: FigurePane(name, filename) for name, filename in PLOTS.items()}
        self.boxes = {name: pane.box for name, pane in self.panes.items()}
        self.box = W.VBox([self.model_note, self.scope, self.summary, *self.boxes.values()])
        self.built_for: Hashable = None

    def _scope_changed(self, change: dict) -> None:
        # Only a change by the viewer is reported: sync() sets the shown value first.
        if change["new"] != self.shown_scope:
            self.context.change("scope", change["new"])

    def sync(self, state: ViewState) -> None:
        self.model_note.value = model_note(state)
        self.shown_scope = state.scope
        self.scope.value = state.scope

    def show(self, state: ViewState) -> None:
        key = (state.question, state.estimator, state.test, state.scope, state.rob)
        if key == self.built_for:
            return
        from evidence import robustness as R
        from evidence.figures.funnel import funnel_plot, tests_text
        from evidence.figures.sensitivity import (
            cumulative_plot,
            estimator_grid_plot,
            leave_one_out_plot,
        )

        q, method, test, scope, rob = key
        self.sync(state)
        frame = self.analysis.effects(q, rob)  # the Compare view's risk-of-bias filter applies
        outcome, measure = q.outcome, q.measure

        def cached(name: str, make: Callable[[], Any]) -> Any:
            return self.analysis.cached((name, q, method, test, scope, rob), make)

        ref = cached("reference", lambda: R.reference(frame, scope, method, test))
        grid = cached("grid", lambda: R.estimator_grid(frame, scope, method, test))
        loo = cached("loo", lambda: R.leave_one_out(frame, scope, method, test))
        cum = cached("cumulative", lambda: R.cumulative(frame, scope, method, test))
        fun = cached("funnel", lambda: R.funnel(frame, scope, method, test))
        label = SCOPE_LABELS.get(scope, scope)
        figs = {
            "grid": estimator_grid_plot(grid, measure, label),
            "loo": leave_one_out_plot(loo, ref, measure, outcome, label),
            "cumulative": cumulative_plot(cum, ref, measure, outcome, label),
            "funnel": funnel_plot(fun, outcome),
        }
        for name, fig in figs.items():
            self.panes[name].draw(fig, stem=slug(PLOTS[name], OUTCOME_LABELS[outcome], label))
        rob_note = ""
        if rob != "all":
            rob_note = (
                f"Risk of bias filter ({rob_module.ROB_FILTERS[rob][0]}), as in the Compare view: "
                f"{frame.attrs.get('rob_left_out', 0)} study arm(s) left out."
            )
        self.summary.value = self._summary(
            ref, grid, loo, cum, fun, tests_text(fun), label, rob_note
        )
        self.built_for = key

    @staticmethod
    def _summary(ref, grid, loo, cum, fun, tests: list[str], label: str, rob_note: str = "") -> str:
        items = [escape(rob_note)] if rob_note else []
        if ref.result is None:
            items.append(f"No model for {label}: {ref.error}.")
        else:
            k = ref.result.k
            words = {
                "lower": "the 95% CI lies below the null",
                "higher": "the 95% CI lies above the null",
                "unclear": "the 95% CI includes the null",
                "n/a": "proportions have no null value",
            }
            items.append(
                f"Reference model ({escape(ref.result.method)}, {escape(ref.result.test)}) "
                f"on {k} study "
                f"{'arm' if k == 1 else 'arms'} ({escape(label)}): {words.get(ref.conclusion, '')}."
            )
        changed = grid[grid["changes"]]
        fitted = grid[grid["error"] == ""]
        if fitted.empty:
            pass  # nothing to compare: the reference line says why
        elif len(changed):
            models = ", ".join(
                f"{m}/{t}" for m, t in zip(changed["method"], changed["test"], strict=True)
            )
            items.append(
                f"Estimator \u00d7 CI method: {len(changed)} of {len(grid)} models reach a "
                f"different conclusion ({escape(models)})."
            )
        else:
            items.append(
                f"Estimator \u00d7 CI method: all {len(fitted)} models that can be fitted agree."
            )
        if len(loo):
            flips = loo[loo["changes"]]
            who = ", ".join(str(s) for s in flips["study"])
            items.append(
                f"Leave-one-out: {len(flips)} of {len(loo)} omissions change the conclusion"
                + (f" (without {escape(who)})." if len(flips) else ".")
            )
        else:
            items.append(f"Leave-one-out: {escape(loo.attrs.get('reason', 'not available'))}.")
        if fun.few_studies and fun.k:
            items.append(
                f"<b>Small-study tests: only {fun.k} study arms (fewer than 10); Egger's and "
                "Begg's tests are underpowered and cannot rule small-study effects in or out."
                "</b>"
            )
        items += [escape(t) for t in tests]
        return "<h3>How robust is it?</h3><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


__all__ = ["RobustnessView"]
