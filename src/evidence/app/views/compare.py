"""The Compare view: forest plot, plain-language summary, heterogeneity table and the study
arms that are not in the plot (each with its reason); a click on a study's square opens its
record beside the plot (views/record.py)."""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go

from evidence.analysis.words import INTERVAL_WORDS, left_out_line
from evidence.app.html import escape
from evidence.app.state import ViewState
from evidence.app.views import BaseView, Context
from evidence.app.views.record import HINT, absent_html, record_html
from evidence.app.widgets import (
    Click,
    DownloadItem,
    FigurePane,
    PlotView,
    classed,
    narrowest,
    show_only,
    slug,
)
from evidence.appraisal import rob as rob_module
from evidence.compare import (
    CONFIDENCE_FILTERS,
    DESIGN_FILTERS,
    MEASURE_LABELS,
    OUTCOME_LABELS,
    WINDOWS,
    Pooled,
    subgroup_sentence,
    summary,
    to_display,
    unit_of,
)
from evidence.figures.forest import forest_plot
from evidence.figures.style import fmt, fmt_p
from evidence.text import source_text

MAX_TABLE_ROWS = 300  # rows of an HTML table; the rest is counted, not drawn


class CompareView(BaseView):
    """Forest plot, plain-language summary, heterogeneity table and the excluded rows."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.analysis = context.analysis
        self.panes = {"forest": FigurePane("forest", "forest-plot")}
        self.panes["forest"].downloads.append(
            DownloadItem(
                "r", "Reproduce in R (zip: script, data, expected results)", "file", self._r_zip
            )
        )
        self.panes["forest"].on_click(self._clicked)  # clicks on a study row open its record
        self.forest_box = classed(self.panes["forest"].box, "ev-forest")
        self.summary = classed(W.HTML(), "ev-summary")
        self.heterogeneity = classed(W.HTML(), "ev-heterogeneity")
        # The arms not in the plot: below it at full width (the reason column needs the
        # room), one line counting them and their reasons, the list behind a toggle (kept
        # open or closed across redraws: an HTML <details> would close on every update).
        self.excluded_line = classed(W.HTML(), "ev-excluded-line")
        self.excluded_toggle = classed(
            W.ToggleButton(value=False, description="Show the list", icon="chevron-down"),
            "ev-excluded-toggle",
        )
        self.excluded_toggle.observe(self._toggle_excluded, names="value")
        self.excluded = classed(W.HTML(layout=W.Layout(display="none")), "ev-excluded-list")
        self.excluded_box = classed(
            W.VBox(
                [W.HBox([self.excluded_line, self.excluded_toggle]), self.excluded],
                layout=W.Layout(width="100%"),
            ),
            "ev-excluded",
        )
        # The record of the clicked study arm, beside the plot (below it when the row is
        # too narrow for both)
        self.record = classed(W.HTML(HINT), "ev-record-panel")
        self.side = classed(W.VBox([self.record]), "ev-forest-side")
        self.selected: tuple[str, str] | None = None  # (citekey, arm) of the record shown
        # The plot is never drawn narrower than its measured columns (the pane's min-width,
        # FigurePane.draw); in a window too narrow for that it scrolls sideways inside
        # forest_scroll, not the page (the sidebar and header stay put). The frame around it
        # holds the Download menu in its visible top right corner (app.css).
        self.forest_scroll = classed(W.Box([self.forest_box]), "ev-forest-scroll")
        self.forest_frame = classed(W.Box([self.forest_scroll]), "ev-forest-frame")
        self.plot_row = classed(
            W.HBox(
                [self.forest_frame, self.side], layout=W.Layout(flex_flow="row wrap", width="100%")
            ),
            "ev-plot-row",
        )
        self.box = W.VBox(
            [self.plot_row, self.excluded_box, self.summary, self.heterogeneity],
            layout=W.Layout(width="100%"),
        )
        self.pooled: Pooled | None = None
        self.built_for: Hashable = None
        self._frequentist = self.box.children
        self.bayes: Any = None  # the Bayesian panel, built when first asked for

    def _toggle_excluded(self, change: dict) -> None:
        shown = change["new"] is True
        self.excluded.layout.display = None if shown else "none"
        self.excluded_toggle.description = "Hide the list" if shown else "Show the list"
        self.excluded_toggle.icon = "chevron-up" if shown else "chevron-down"

    def _show_bayes(self, state: ViewState) -> None:
        if self.bayes is None:
            from evidence.app.views.bayes import BayesPanel

            self.bayes = BayesPanel(self.context)
            self.panes.update(self.bayes.panes)
        show_only(self.box, (self.bayes.box,))  # hidden, not removed: see show_only
        self.bayes.show(state)

    def _r_zip(self) -> tuple[bytes, str, str]:
        """The view on screen as an R (metafor) script with its data and the expected results
        (evidence.export.rscript): the same effects, filters included."""
        from evidence.export.rscript import zip_bytes

        assert self.pooled is not None and self.built_for is not None  # drawn before offered
        question, method, test, _rob = self.built_for
        blob = zip_bytes(
            question, method, test, data=self.analysis.data, effects_frame=self.pooled.effects
        )
        return blob, "zip", "application/zip"

    @property
    def forest(self) -> PlotView | None:
        """The forest plot (None before the view is first shown)."""
        return self.panes["forest"].widget

    def figure(self, state: ViewState) -> go.Figure:
        """The forest plot of ``state``, built afresh (what :meth:`show` draws in place)."""
        q = state.question
        pooled = self.analysis.pooled(q, state.estimator, state.test, state.rob)
        label = rob_module.ROB_FILTERS[state.rob][0]
        left_out = int(pooled.effects.attrs.get("rob_left_out", 0))
        note = ""
        if state.rob != "all":
            note = f"{label} ({left_out} {'arm' if left_out == 1 else 'arms'} left out)"
        return forest_plot(pooled, rob=self.analysis.rob_columns, filter_note=note, click_hint=True)

    def _clicked(self, click: Click) -> None:
        """A click on a study point (the plot's message): its customdata is [citekey, arm]
        (figures/forest.py). Only an adapter: :meth:`select` does the rest."""
        key = click.customdata
        if click.name != "studies" or not isinstance(key, list) or len(key) != 2:
            return
        self.select(str(key[0]), str(key[1]))

    def select(self, citekey: str, arm: str) -> None:
        """Open the record of a study arm: a change of the view state like any control's
        (validated by the App; it goes into the link), shown by :meth:`show`."""
        self.context.change("record", (citekey, arm))

    def _show_record(self, state: ViewState) -> None:
        self.selected = state.record_key
        self.record.value = self._record()

    def _record(self) -> str:
        """The selected arm's record under the view's question; when the arm has no effect
        in it (another outcome, a filter), why, and the hint."""
        if self.selected is None or self.pooled is None:
            return HINT
        e = self.pooled.effects
        key, arm = self.selected
        rows = e[(e["citekey"] == key) & (e["arm"] == arm)]
        match = rows[rows["included"]]
        if match.empty:
            return absent_html(self.analysis.data, key, arm, rows, self.pooled.question.outcome)
        unit = unit_of(self.pooled.question.outcome)
        return record_html(self.analysis.data, match.iloc[0], self.analysis.rob, unit)

    def _fit_frame(self, figure: go.Figure) -> None:
        """The frame as wide as the plot's columns when the row has the room (the record
        panel then wraps below it), else the row's width, the plot scrolling inside.

        Called before the figure is drawn: plotly.js takes its width from its container when
        it draws (and again only on a window resize), so a frame resized after the drawing
        left the plot at the previous figure's width, cut at the frame's edge."""
        width = narrowest(figure)
        self.forest_frame.layout.min_width = f"min({width}, 100%)" if width else None

    @staticmethod
    def stem(state: ViewState) -> str:
        """Download file names: what the plot shows (the browser adds the date)."""
        q = state.question
        if q.effect == "control":
            effect = "vs-control_" + (q.measure if q.binary else "")
        else:
            effect = "with-the-event" if q.binary else "change-from-baseline"
        return slug("forest", OUTCOME_LABELS[q.outcome], effect)

    def show(self, state: ViewState) -> None:
        if state.model == "bayes":  # the Bayesian model: its own panel (views/bayes.py)
            self._show_bayes(state)
            return
        show_only(self.box, self._frequentist)
        q = state.question
        key = (q, state.estimator, state.test, state.rob)
        if key == self.built_for:
            self._show_record(state)
            return
        pooled, figure = self.results(state)
        self.pooled = pooled
        self.panes["forest"].table = lambda: forest_table(pooled)
        # What the view shows is a function of the key: back at a setting (estimator A, B,
        # A...) it is drawn from the cache, not rebuilt. The plot goes first, the text after.
        self._fit_frame(figure)  # first: the plot is drawn at its frame's width
        self.panes["forest"].draw(figure, stem=self.stem(state))
        self._show_record(state)
        texts, excluded = self.texts(state, pooled)
        self.summary.value, self.heterogeneity.value = texts
        self.excluded_line.value, self.excluded.value = excluded
        self.built_for = key

    def results(self, state: ViewState) -> tuple[Pooled, Any]:
        """The pooled result and the forest figure :meth:`show` draws for the frequentist
        ``state``, from the app's one cache (computed there on first use). With
        :meth:`texts`, what a preheated kernel computes for the states one change away before
        its viewer arrives (evidence.app.prefetch): the same keys, so a first change hits."""
        q = state.question
        key = (q, state.estimator, state.test, state.rob)
        pooled = self.analysis.pooled(q, state.estimator, state.test, state.rob)
        figure = self.analysis.figure(("forest", key), lambda: self.figure(state))
        return pooled, figure

    def texts(self, state: ViewState, pooled: Pooled) -> tuple[tuple[str, str], tuple[str, str]]:
        """The summary and heterogeneity texts, and the not-in-the-plot line and list."""
        q = state.question
        key = (q, state.estimator, state.test, state.rob)
        label = rob_module.ROB_FILTERS[state.rob][0]
        rob_lines = self.analysis.cached(  # per question and filter, not per estimator
            ("rob_lines", q, state.rob), lambda: rob_module.filter_lines(pooled.effects)
        )
        texts = self.analysis.cached(
            ("compare_text", key),
            lambda: (self._summary(pooled, label, rob_lines), self._heterogeneity(pooled)),
        )
        excluded = self.analysis.cached(  # per question and filter too
            ("excluded", q, state.rob),
            lambda: (
                f"<b>{escape(left_out_line(pooled.effects))}</b>",
                self._excluded(pooled.effects),
            ),
        )
        return texts, excluded

    @staticmethod
    def _summary(pooled: Pooled, rob_label: str = "", rob_lines: list[str] | None = None) -> str:
        q = pooled.question
        # The subgroup test is said once, under the heterogeneity table beside its numbers
        # (greyed when unreliable), not again in this list.
        test_line = subgroup_sentence(pooled)
        lines = [s for s in summary(pooled) if not test_line or s != test_line]
        lines[-1:-1] = rob_lines or []  # what the risk-of-bias filter did, before the caveat
        sentences = "".join(f"<li>{escape(s)}</li>" for s in lines)
        test = INTERVAL_WORDS[pooled.test]
        method = (
            f"Computed with the {escape(pooled.method)} estimator of \u03c4\u00b2 and {test}; "
            f"95% prediction intervals where a group has at least 3 study arms. Effect: "
            f"{escape(MEASURE_LABELS[q.measure])}, {escape(WINDOWS[q.window][0])}, "
            f"{escape(DESIGN_FILTERS[q.design][0])}, {escape(CONFIDENCE_FILTERS[q.confidence][0])}"
            + (f", risk of bias: {escape(rob_label)}" if rob_label else "")
            + (
                f", pre-post correlation r = {q.ri:g} where changes come from levels"
                if q.effect == "change" and not q.binary
                else ""
            )
            + "."
        )
        return (
            f"<h3>What this shows: {escape(OUTCOME_LABELS[q.outcome])}</h3>"
            f"<ul>{sentences}</ul><p class='ev-method'>{method}</p>"
        )

    @staticmethod
    def _heterogeneity(pooled: Pooled) -> str:
        measure = pooled.question.measure
        rows = []
        results = [(g, r) for g, r in pooled.groups.items()]
        if pooled.overall is not None and sum(r is not None for _, r in results) >= 2:
            results.append(("Average across cell therapies", pooled.overall))
        for group, r in results:
            if r is None:
                rows.append(
                    f"<tr><td>{escape(group)}</td><td class='ev-num'>0</td>"
                    "<td colspan='5' class='ev-muted'>no usable numbers</td></tr>"
                )
                continue
            est, lb, ub = (float(to_display(measure, v)) for v in (r.estimate, r.ci_lb, r.ci_ub))
            pi = "needs k \u2265 3"
            if r.k >= 3 and math.isfinite(r.pi_lb):
                plo, phi = (float(to_display(measure, v)) for v in (r.pi_lb, r.pi_ub))
                pi = f"{fmt(plo)} to {fmt(phi)}"
            het = "\u2014"
            if r.k > 1:
                het = f"{fmt(r.q)} (df {fmt(r.q_df, 0)}, {fmt_p(r.q_pval)})"
            rows.append(
                f"<tr><td>{escape(group)}</td><td class='ev-num'>{r.k}</td>"
                f"<td class='ev-num'>{fmt(est)} [{fmt(lb)}, {fmt(ub)}]</td>"
                f"<td class='ev-num'>{pi}</td>"
                f"<td class='ev-num'>{fmt(r.tau2, 3) if r.k > 1 else chr(0x2014)}</td>"
                f"<td class='ev-num'>{fmt(r.i2, 0) + '%' if r.k > 1 else chr(0x2014)}</td>"
                f"<td class='ev-num'>{het}</td></tr>"
            )
        sub = pooled.subgroups
        test = "Test for subgroup differences: needs two groups with numbers."
        muted = ""
        if sub is not None:  # an unreliable test is greyed, with its reason (issue 12)
            test = subgroup_sentence(pooled)
            muted = "" if sub.reliable else " class='ev-muted ev-unreliable'"
        return (
            "<h3>Heterogeneity</h3><table class='ev-table'><thead><tr><th>group</th><th>k</th>"
            "<th>estimate [95% CI]</th><th>95% prediction interval</th><th>\u03c4\u00b2</th>"
            "<th>I\u00b2</th><th>Q (df, p)</th></tr></thead><tbody>"
            + "".join(rows)
            + f"</tbody></table><p{muted}>{escape(test)}</p>"
        )

    @staticmethod
    def _excluded(frame: pd.DataFrame) -> str:
        left = ~frame["included"].to_numpy(dtype=bool)  # a mask, not a sub-frame: cheaper
        count = int(left.sum())
        head = (
            f"<h3>Not in the plot ({count} of {len(frame)} study arms)</h3>"
            "<p class='ev-muted'>Every arm of the chosen groups is listed; the reason says why "
            "it has no effect here.</p>"
        )
        if not count:
            return head + "<p>None: every arm has usable numbers.</p>"
        columns = ("label", "group", "arm", "design", "reason")
        shown = (frame[c].to_numpy()[left][:MAX_TABLE_ROWS].tolist() for c in columns)
        rows = "".join(
            f"<tr><td>{escape(label)}</td><td>{escape(group)}</td><td>{escape(arm)}</td>"
            f"<td>{escape(design)}</td><td>{escape(reason)}</td></tr>"
            for label, group, arm, design, reason in zip(*shown, strict=True)
        )
        more = count - MAX_TABLE_ROWS
        tail = f"<p class='ev-muted'>and {more} more arms not shown.</p>" if more > 0 else ""
        return (
            head + "<table class='ev-table ev-excluded-table'><thead><tr><th>study</th>"
            "<th>group</th><th>arm</th><th>design</th><th>reason</th></tr></thead><tbody>"
            + rows
            + "</tbody></table>"
            + tail
        )


def forest_table(pooled: Pooled) -> pd.DataFrame:
    """What the forest plot shows, as a table (its CSV download): every study arm of the
    chosen groups (in the plot or not, with the reason) and every pooled row, on the plot's
    scale, with where each number was read."""
    measure = pooled.question.measure
    e = pooled.effects

    def shown(values: object) -> list[float]:
        return [float(to_display(measure, v)) for v in pd.to_numeric(values, errors="coerce")]

    arms = pd.DataFrame(
        {
            "row": "study arm",
            "group": e["group"],
            "study": e["label"],
            "citekey": e["citekey"],
            "arm": e["arm"],
            "design": e["design"],
            "timepoint": e["timepoint"],
            "n": e["n"],
            "measure": measure,
            "estimate": shown(e["yi"]),
            "ci_lb": shown(e["ci_lb"]),
            "ci_ub": shown(e["ci_ub"]),
            "confidence": e["confidence"],
            "in_plot": e["included"],
            "reason": e["reason"],
            "sources": [
                source_text(f, x) for f, x in zip(e["source_file"], e["source_lines"], strict=True)
            ],
            "read_in": e.get("locators", ""),
        }
    )
    results = list(pooled.groups.items())
    if pooled.overall is not None:
        results.append(("all groups (across studies)", pooled.overall))
    rows = []
    for group, r in results:
        row = {"row": "pooled", "group": group, "measure": measure, "in_plot": r is not None}
        if r is None:
            row["reason"] = "no usable numbers"
        else:
            est, lb, ub = shown([r.estimate, r.ci_lb, r.ci_ub])
            row |= {"estimate": est, "ci_lb": lb, "ci_ub": ub, "k": r.k, "method": r.method}
            row |= {"test": r.test, "tau2": r.tau2, "i2": r.i2}
        rows.append(row)
    return pd.concat([arms, pd.DataFrame(rows)], ignore_index=True)


__all__ = ["CompareView", "forest_table"]
