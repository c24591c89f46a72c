"""The Appraisal view's Certainty section: the summary of findings (a rule-based GRADE draft),
each row expandable to its GRADE steps and their reasons."""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from evidence.app.cache import Analysis
from evidence.app.html import badge, escape, is_missing, table, text
from evidence.app.state import ViewState
from evidence.app.views.claims import problem_note
from evidence.app.views.links import StudyLinks
from evidence.app.widgets import classed
from evidence.compare import CONFIDENCE_FILTERS, OUTCOME_LABELS, WINDOWS

#: GRADE's symbols, so certainty never rests on colour alone.
CERTAINTY_STYLE = {
    "high": ("\u2295\u2295\u2295\u2295", "#0072B2", "#FFFFFF"),
    "moderate": ("\u2295\u2295\u2295\u25ef", "#56B4E9", "#000000"),
    "low": ("\u2295\u2295\u25ef\u25ef", "#F0E442", "#000000"),
    "very low": ("\u2295\u25ef\u25ef\u25ef", "#E69F00", "#000000"),
    "no evidence": ("\u2014", "#DDDDDD", "#000000"),
}
STEP_TITLES = {
    "risk_of_bias": "Risk of bias",
    "inconsistency": "Inconsistency",
    "indirectness": "Indirectness",
    "imprecision": "Imprecision",
    "publication_bias": "Publication bias",
    "upgrade": "Rating up",
}
_DOT = " \u00b7 "


def certainty_badge(certainty: str) -> str:
    symbol, background, ink = CERTAINTY_STYLE.get(certainty, ("", "#FFFFFF", "#000000"))
    return badge(certainty, symbol, background, ink)


class CertaintySection:
    """The summary-of-findings table for the sidebar's outcome and groups (or every outcome)."""

    def __init__(self, analysis: Analysis, links: StudyLinks, rebuild: Any) -> None:
        self.analysis = analysis
        self.data = analysis.data
        self.links = links
        self.all_outcomes = classed(
            W.Checkbox(description="all outcomes (not only the sidebar's)", indent=False),
            "ev-sof-all",
        )
        self.all_outcomes.observe(lambda _change: rebuild(), names="value")
        self.sof = classed(W.HTML(), "ev-sof")
        self.children = (self.all_outcomes, self.sof)

    def all_outcomes_on(self) -> bool:
        return self.all_outcomes.value is True  # a crafted value counts as off

    def build(self, state: ViewState) -> None:
        from evidence.appraisal import grade as G
        from evidence.appraisal.schema import GRADE_GROUPS, GRADE_OUTCOMES
        from evidence.schema import DatasetError

        q = state.question
        try:
            sof = self.analysis.cached(
                ("sof", q.window, q.confidence, state.estimator),
                lambda: G.draft(
                    self.data,
                    self.analysis.rob,
                    window=q.window,
                    confidence=q.confidence,
                    method=state.estimator,
                    test="knha",
                ),
            )
        except DatasetError as exc:
            self.sof.value = problem_note("data/grade.csv", exc)
            return
        note = ""
        rows = sof
        if not self.all_outcomes_on():
            if q.outcome in GRADE_OUTCOMES:
                rows = rows[rows["outcome"] == q.outcome]
            else:
                note = (
                    f"<p>GRADE is drafted for {len(GRADE_OUTCOMES)} outcomes, not for "
                    f"{escape(OUTCOME_LABELS[q.outcome])}: every outcome is shown.</p>"
                )
        groups = [g for g in q.groups if g in GRADE_GROUPS]
        rows = rows[rows["group"].isin(groups)]
        counts = G.certainty_counts(rows)
        summary = " ".join(
            f"{certainty_badge(c)}&nbsp;<b>{int(n)}</b>&emsp;" for c, n in counts.items() if n
        )
        body = [self._sof_row(r) for r in rows.itertuples(index=False)]
        self.sof.value = (
            "<h3>Summary of findings (a rule-based GRADE draft)</h3>"
            + note
            + f"<p class='ev-muted'>Pooled with {escape(state.estimator)} and Knapp-Hartung "
            f"intervals (GRADE always uses them: with few studies a Wald interval is too "
            f"narrow); {escape(WINDOWS[q.window][0])}; "
            f"{escape(CONFIDENCE_FILTERS[q.confidence][0])}; the sidebar's cell groups. "
            "Under each row, click for its GRADE steps and their reasons; the rules are in "
            "docs/appraisal.md.</p>"
            f"<div class='ev-counts'>{summary}</div>"
            + (
                "<table class='ev-table ev-sof-table'><thead><tr>"
                + "".join(
                    f"<th>{h}</th>"
                    for h in (
                        "outcome",
                        "comparison",
                        "studies",
                        "patients",
                        "effect (95% CI)",
                        "certainty",
                        "what it means",
                    )
                )
                + "</tr></thead>"
                + "".join(body)
                + "</table>"
                if body
                else "<p>No row for these settings (choose a cell group of the four compared).</p>"
            )
        )

    def _sof_row(self, r: Any) -> str:
        """One SoF entry: its row, and under it a full-width row that expands to the steps."""
        from evidence.appraisal.grade import STEPS

        k = 0 if is_missing(r.k) else int(r.k)
        patients = "" if is_missing(r.n_patients) else str(int(r.n_patients))
        if not is_missing(r.events):
            patients += f" ({int(r.events)} events)"
        steps = []
        trail = []
        if not is_missing(r.start):
            steps.append(
                ("<b>Start</b>", f"<b>{escape(r.start)}</b>", "", "rule", text(r.start_reason))
            )
            trail.append(f"start {escape(r.start)}")
        data = r._asdict()
        for step in STEPS:
            rating = data.get(step)
            if is_missing(rating):
                continue
            levels = data.get(f"{step}_levels")
            by = data.get(f"{step}_by")
            steps.append(
                (
                    escape(STEP_TITLES.get(step, step)),
                    escape(rating),
                    "" if is_missing(levels) else str(int(levels)),
                    text(by),
                    text(data.get(f"{step}_reason")),
                )
            )
            if not is_missing(levels) and int(levels):
                sign = "+" if step == "upgrade" else "\u2212"
                trail.append(
                    f"{escape(STEP_TITLES.get(step, step).lower())} {sign}{int(levels)}"
                    + (" (author)" if by == "author" else "")
                )
        links = " ".join(
            self.links.link(key, label)
            for key, label in zip(
                str(r.citekeys or "").split(";"), str(r.studies or "").split("; "), strict=False
            )
            if key
        )
        score = "" if is_missing(r.certainty_score) else f" (score {int(r.certainty_score)} of 4)"
        extra = [
            f"Studies: {links or text(r.studies) or 'none'}",
            f"time points: {escape(r.timepoints)}" if not is_missing(r.timepoints) else "",
            f"certainty {escape(r.certainty)}" + score,
            text(r.notes),
            f"{escape(r.method)}, {escape(r.test)}",
        ]
        if steps:
            title = "GRADE steps: " + _DOT.join(trail) + f" \u2192 {escape(r.certainty)}"
            detail = table(("step", "rating", "levels down/up", "by", "reason"), steps)
        else:
            title = "Nothing was pooled, so nothing was rated"
            detail = ""
        cells = (
            escape(r.outcome_label),
            escape(r.comparison),
            str(k),
            patients,
            escape(r.effect_text),
            certainty_badge(str(r.certainty)),
            escape(r.statement),
        )
        key = f"{escape(r.outcome)}|{escape(r.group)}|{escape(r.effect)}"
        return (
            f"<tbody class='ev-sof-entry' data-row='{key}'><tr>"
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr><tr class='ev-sof-steps'><td colspan='7'>"
            f"<details class='ev-sof-row' data-row='{key}'><summary>{title}</summary>{detail}"
            f"<p class='ev-muted'>{_DOT.join(x for x in extra if x)}</p></details></td></tr>"
            "</tbody>"
        )


__all__ = ["CertaintySection", "certainty_badge"]
