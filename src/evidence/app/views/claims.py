"""The Appraisal view's Claims section: the source article's claims, each checked against
what it cites, and the central claim against what the dataset can say."""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as W
import pandas as pd

from evidence.app.cache import Analysis
from evidence.app.html import badge, escape, is_missing, linkify, table
from evidence.app.state import ViewState
from evidence.app.views.links import StudyLinks
from evidence.app.widgets import classed
from evidence.compare import CONFIDENCE_FILTERS, OUTCOME_LABELS, effect_title
from evidence.figures.style import fmt, fmt_p


def verdict_badge(verdict: str) -> str:
    """A verdict as a coloured badge with its symbol and its word (never colour alone)."""
    from evidence.appraisal.claims import VERDICT_STYLE

    style = VERDICT_STYLE.get(verdict, {"colour": "#FFFFFF", "symbol": "", "text": "#000000"})
    return badge(verdict, style["symbol"], style["colour"], style["text"])


def problem_note(file: str, exc: Exception) -> str:
    """Why a section is not shown: its file has errors (the validator names them)."""
    errors = [p for p in getattr(exc, "problems", []) if p.severity == "error"]
    return (
        f"<div class='ev-error-item'>{escape(file)} has {len(errors)} error(s), so this section "
        "is not shown; run <code>evidence validate</code> to see them.</div>"
    )


class ClaimsSection:
    """The central claim (what the dataset can say) above the table of every claim."""

    def __init__(self, analysis: Analysis, links: StudyLinks) -> None:
        self.analysis = analysis
        self.data = analysis.data
        self.links = links
        self.central = classed(W.HTML(), "ev-central-claim")
        self.claims = classed(W.HTML(), "ev-claims")
        self.children = (self.central, self.claims)

    def build(self, state: ViewState) -> None:
        from evidence.appraisal import claims as C
        from evidence.schema import DatasetError

        q = state.question
        try:
            audit = self.analysis.cached(
                ("claims-audit",), lambda: C.load(self.data.root, self.data)
            )
        except DatasetError as exc:
            self.central.value = ""
            self.claims.value = problem_note("data/claims.csv", exc)
            return
        central = self.analysis.cached(
            ("central", q.confidence, state.estimator),
            lambda: C.central_claim(
                self.data, method=state.estimator, test="knha", confidence=q.confidence
            ),
        )
        rows = audit[audit["topic"] == "central"]
        self.central.value = self._central_html(rows.iloc[0] if len(rows) else None, central, state)
        if audit.empty:
            self.claims.value = "<p>No claims audit (data/claims.csv) in this dataset.</p>"
            return
        counts = C.verdict_counts(audit)
        summary = " ".join(
            f"{verdict_badge(v)}&nbsp;<b>{int(n)}</b>&emsp;" for v, n in counts.items() if n
        )
        body = []
        ordered = pd.concat([rows, audit[audit["topic"] != "central"]])
        for r in ordered.itertuples(index=False):
            seed = f" [{escape(r.seed_ref)}]" if not is_missing(r.seed_ref) else ""
            cited = (
                escape(r.cited_label) + seed if not is_missing(r.cited_label) else "nothing cited"
            )
            central_note = (
                "<p><b>The central claim:</b> what the dataset can say about it is above.</p>"
                if r.topic == "central"
                else ""
            )
            body.append(
                (
                    f"<b>{escape(r.claim_id)}</b>",
                    verdict_badge(str(r.verdict)),
                    f"<details class='ev-claim' data-claim='{escape(r.claim_id)}'>"
                    f"<summary>{escape(r.claim)}</summary>{central_note}{self._evidence(r)}"
                    "</details>",
                    cited,
                    escape(r.topic),
                )
            )
        self.claims.value = (
            f"<h3>The article's claims, checked against what they cite ({len(audit)})</h3>"
            f"<div class='ev-counts'>{summary}</div>"
            "<p class='ev-muted'>Click a claim for the evidence: what the cited work is and "
            "reports, why the verdict, and where it was read.</p>"
            + table(
                ("claim", "verdict", "the article's claim (paraphrased)", "cites", "topic"),
                body,
                "ev-claims-table",
            )
        )

    def _evidence(self, r: Any) -> str:
        if is_missing(r.cites):
            what = "<p><b>Cited work:</b> none (the claim cites nothing).</p>"
        else:
            facts = [
                escape(r.cited_design) if not is_missing(r.cited_design) else "",
                escape(r.cited_species) if not is_missing(r.cited_species) else "",
                f"cells: {escape(r.cited_cells)}" if not is_missing(r.cited_cells) else "",
                f"n = {int(r.cited_n)}" if not is_missing(r.cited_n) else "n not reported",
                f"descriptors {escape(r.cited_confidence)}"
                if not is_missing(r.cited_confidence)
                else "",
            ]
            link = self.links.link(r.cites)
            ref = (
                ""
                if is_missing(r.seed_ref)
                else f" (the article's reference [{escape(r.seed_ref)}])"
            )
            what = (
                f"<p><b>Cited work:</b> {escape(r.cited_label)}{ref}"
                + f": {', '.join(f for f in facts if f)}."
                + (f" {link}" if link else "")
                + "</p>"
            )
        return (
            "<div class='ev-evidence'>"
            + what
            + f"<p><b>What it reports:</b> {escape(r.reports)}</p>"
            + f"<p><b>Why this verdict:</b> {escape(r.reason)}</p>"
            + f"<p class='ev-muted'>Read in: {escape(r.basis)}. Source: {linkify(r.source)} "
            f"({escape(r.source_file)}:{escape(r.source_line)})</p></div>"
        )

    def _central_html(self, row: Any, central: Any, state: ViewState) -> str:
        q = state.question
        groups = central.groups
        group_rows = [
            (
                f"<b>{escape(g.group)}</b>",
                str(int(g.studies)),
                str(int(g.controlled)),
                str(int(g.randomised)),
                str(int(g.patients_treated)),
                str(int(g.studies_pooled)),
                str(int(g.studies_seed_only)),
            )
            for g in groups.itertuples(index=False)
        ]
        h2h = central.head_to_head
        h2h_rows = [
            (
                escape(h.label) + (f" {self.links.link(h.citekey, 'record')}" if h.citekey else ""),
                escape(h.design),
                escape(h.species),
                escape(h.groups),
                "yes" if h.combination_arm else "no",
                escape(h.note) if not is_missing(h.note) else "",
            )
            for h in h2h.itertuples(index=False)
        ]
        tests = central.tests
        estimable = tests[tests["p"].notna()]
        test_rows = [
            (
                escape(OUTCOME_LABELS.get(t.outcome, t.outcome)),
                escape(effect_title(t.effect, t.outcome)),
                escape(t.k),
                _test_cell(t),
                "yes" if t.includes_combination else "no",
            )
            for t in estimable.itertuples(index=False)
        ]
        head = "<h3>The central claim</h3>"
        if row is not None:
            head += (
                f"<p><b>{escape(row.claim_id)}</b> {verdict_badge(str(row.verdict))} "
                f"<i>{escape(row.claim)}</i></p>"
                f"<p><b>Why this verdict:</b> {escape(row.reason)}</p>"
            )
        verdict_line = (
            "A subgroup test that includes MSC+HSC is estimable."
            if central.combination_testable
            else "No subgroup test can include MSC+HSC."
        )
        return (
            "<div class='ev-central'>" + head + "<p><b>What the dataset can say</b> (numbers used: "
            f"{escape(CONFIDENCE_FILTERS[q.confidence][0])}; {escape(state.estimator)} with "
            f"Knapp-Hartung intervals; <b>{escape(verdict_line)}</b>):</p><ul>"
            + "".join(f"<li>{escape(line)}</li>" for line in central.lines)
            + "</ul><details class='ev-central-numbers'><summary>The numbers behind these "
            "lines: studies and patients per group, direct comparisons, subgroup tests</summary>"
            "<h4>Studies and patients per cell group</h4>"
            + table(
                (
                    "cell group",
                    "clinical studies",
                    "controlled",
                    "randomised",
                    "patients treated",
                    "studies with pooled numbers",
                    "known only from the article",
                ),
                group_rows,
            )
            + "<h4>Direct comparisons between cell groups (the same study)</h4>"
            + (
                table(("study", "design", "species", "groups", "combination arm", "note"), h2h_rows)
                if h2h_rows
                else "<p>None.</p>"
            )
            + f"<h4>Tests for subgroup differences ({len(estimable)} of {len(tests)} outcome "
            "and effect pairs estimable; across studies, not randomised; a greyed test cannot "
            "be read as evidence, for the reason given)</h4>"
            + (
                table(
                    ("outcome", "effect", "study arms per group", "test", "includes MSC+HSC"),
                    test_rows,
                )
                if test_rows
                else "<p>None is estimable.</p>"
            )
            + "</details></div>"
        )


__all__ = ["ClaimsSection", "problem_note", "verdict_badge"]


def _test_cell(t: Any) -> str:
    """The test's numbers; an unreliable one greyed with its reason (issue 12)."""
    df2 = getattr(t, "df2", float("nan"))
    stat = (
        f"F({fmt(t.df, 0)}, {fmt(df2, 0)}) = {fmt(t.q_between)}"
        if isinstance(df2, float) and math.isfinite(df2)
        else f"Q = {fmt(t.q_between)}, df = {fmt(t.df, 0)}"
    )
    text = f"{stat}, {fmt_p(t.p)}"
    if getattr(t, "reliable", True):
        return text
    return f"<span class='ev-muted'>{text} (not interpretable: {escape(str(t.reason))})</span>"
