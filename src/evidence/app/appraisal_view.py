"""The Appraisal tab: claims audit, risk of bias, certainty of evidence and study flow.

Imported by :attr:`evidence.app.views.App.appraisal` the first time the tab is opened, so the
appraisal modules, their figures and the GRADE draft stay out of a kernel until someone asks.
Each section is built when first shown and rebuilt only when a setting it depends on changes;
the expensive results are kept in a small cache keyed by those settings:

- Claims: ``claims.load`` (once) and ``claims.central_claim`` (by numbers used and estimator);
- Risk of bias: the traffic-light and summary plots (by tool);
- Certainty: ``grade.draft`` (by time window, numbers used and estimator), rows for the
  sidebar's outcome and cell groups (or every outcome);
- Flow: ``flow.counts`` (by numbers used, population, time window and cell groups).

Every number comes from :mod:`evidence.appraisal`; nothing here computes one. Every value from
the data is escaped (``html.escape``) before it goes into markup; links are http(s) only.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any
from urllib.parse import quote

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go

from evidence.app.controls import SECTION_TITLES, TOOL_LABELS
from evidence.app.state import ROB_TOOLS, SECTIONS, ViewState
from evidence.app.views import Analysis, _classed, _e, _missing, figure_widget, refresh
from evidence.compare import CONFIDENCE_FILTERS, OUTCOME_LABELS, POPULATION_FILTERS, WINDOWS
from evidence.figures.style import fmt, fmt_p

#: The tool names of evidence.appraisal.schema, by the URL value of the Tool control.
TOOL_NAMES = {"all": None, "rob2": "RoB 2", "robins-i": "ROBINS-I"}
TOOL_WORDS = {"none": "no tool applies (uncontrolled or animal)"}
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
CACHE_SIZE = 8  # settings kept per expensive result (a draft is ~100 kB)

CSS = """
<style>
.ev-badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600;
  white-space: nowrap; border: 1px solid #444; font-size: 14px; }
.ev-appraisal details > summary { cursor: pointer; }
.ev-appraisal details[open] > summary { margin-bottom: 6px; }
.ev-appraisal .ev-evidence { background: #F7F9FC; border-left: 4px solid #0072B2;
  padding: 6px 10px; margin: 4px 0 8px 0; }
.ev-appraisal .ev-evidence p { margin: 4px 0; }
.ev-appraisal .ev-central { border: 2px solid #0072B2; padding: 6px 14px; margin: 8px 0 14px 0; }
.ev-appraisal .ev-central ul { padding-left: 22px; }
.ev-appraisal .ev-central li { margin-bottom: 4px; }
.ev-appraisal .ev-claims-table td:nth-child(3) { min-width: 420px; max-width: 760px; }
.ev-appraisal .ev-sof-table { width: 100%; }
.ev-appraisal .ev-sof-table td:nth-child(7) { min-width: 320px; }
.ev-appraisal .ev-sof-table > tbody > tr.ev-sof-steps > td { border-bottom: 2px solid #BBB;
  padding-top: 0; }
.ev-appraisal .ev-sof-table > tbody > tr:first-child > td { border-bottom: none; }
.ev-appraisal .ev-sof-steps summary { color: #333; font-size: 14px; }
.ev-appraisal .widget-html-content { line-height: 1.4; }
.ev-appraisal .ev-counts { margin: 6px 0; line-height: 2.2; }
.ev-appraisal a { color: #0057A3; text-decoration: underline; }
.ev-appraisal .ev-evidence a, .ev-appraisal td a { overflow-wrap: anywhere; }
</style>
"""


def _badge(text: str, symbol: str, background: str, ink: str) -> str:
    return (
        f"<span class='ev-badge' style='background:{_e(background)};color:{_e(ink)}'>"
        f"{_e(symbol)} {_e(text)}</span>"
    )


def verdict_badge(verdict: str) -> str:
    """A verdict as a coloured badge with its symbol and its word (never colour alone)."""
    from evidence.appraisal.claims import VERDICT_STYLE

    style = VERDICT_STYLE.get(verdict, {"colour": "#FFFFFF", "symbol": "", "text": "#000000"})
    return _badge(verdict, style["symbol"], style["colour"], style["text"])


def certainty_badge(certainty: str) -> str:
    symbol, background, ink = CERTAINTY_STYLE.get(certainty, ("", "#FFFFFF", "#000000"))
    return _badge(certainty, symbol, background, ink)


_URL = re.compile(r"(https?://[^\s;]+)")


def linkify(text: object) -> str:
    """Escaped text whose http(s) URLs become links that open in a new tab."""
    if _missing(text):
        return ""
    parts = _URL.split(str(text))
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a URL: the split keeps the matches at odd positions
            out.append(
                f"<a href='{_e(part)}' target='_blank' rel='noopener noreferrer'>{_e(part)}</a>"
            )
        else:
            out.append(_e(part))
    return "".join(out)


def _table(head: Iterable[str], rows: Iterable[Iterable[str]], cls: str = "") -> str:
    """A table of cells that are already markup (escape before)."""
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f"<table class='ev-table {cls}'><thead><tr>{header}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


class AppraisalView:
    """Four sections in an inner tab bar; each reports its control changes to ``on_change``
    (``"section"``, ``"tool"``), which validates them like every other value."""

    def __init__(
        self,
        analysis: Analysis,
        on_change: Callable[[str, Any], None],
        study_links: frozenset[str] = frozenset(),
    ) -> None:
        self.analysis = analysis
        self.data = analysis.data
        self.study_links = study_links
        self._quiet = False
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self.built: dict[str, Hashable] = {}
        self.figures: dict[str, go.FigureWidget] = {}
        self.boxes = {
            name: _classed(W.VBox(layout=W.Layout(width="100%")), f"ev-{name}")
            for name in ("rob-traffic", "rob-summary", "flow-plot")
        }
        self.panes = {
            s: _classed(W.VBox(layout=W.Layout(width="100%")), f"ev-appraisal-{s}")
            for s in SECTIONS
        }
        self.tabs = _classed(W.Tab(), "ev-appraisal-tab")
        self.tabs.children = [self.panes[s] for s in SECTIONS]
        for i, section in enumerate(SECTIONS):
            self.tabs.set_title(i, SECTION_TITLES[section])
        self.tabs.observe(self._section_changed(on_change), names="selected_index")

        self.central = _classed(W.HTML(), "ev-central-claim")
        self.claims = _classed(W.HTML(), "ev-claims")
        self.panes["claims"].children = (self.central, self.claims)

        self.tool = _classed(
            W.ToggleButtons(
                options=[(TOOL_LABELS[t], t) for t in ROB_TOOLS],
                description="Tool:",
                style={"description_width": "initial", "button_width": "110px"},
            ),
            "ev-rob-tool",
        )
        self.tool.observe(
            lambda change: None if self._quiet else on_change("tool", change["new"]), names="value"
        )
        self.rob_text = _classed(W.HTML(), "ev-rob-text")
        self.rob_table = _classed(W.HTML(), "ev-rob-table")
        self.panes["rob"].children = (
            self.rob_text,
            self.tool,
            self.boxes["rob-traffic"],
            self.boxes["rob-summary"],
            self.rob_table,
        )

        self.all_outcomes = _classed(
            W.Checkbox(description="all outcomes (not only the sidebar's)", indent=False),
            "ev-sof-all",
        )
        self.all_outcomes.observe(lambda _change: self._rebuild("certainty"), names="value")
        self.sof = _classed(W.HTML(), "ev-sof")
        self.panes["certainty"].children = (self.all_outcomes, self.sof)

        self.flow_text = _classed(W.HTML(), "ev-flow-text")
        self.panes["flow"].children = (self.boxes["flow-plot"], self.flow_text)

        self.box = _classed(W.VBox([W.HTML(CSS), self.tabs]), "ev-appraisal")
        self._state: ViewState | None = None
        self._export = "svg"
        self._dois: dict[str, str] | None = None

    # --- state ---------------------------------------------------------------------------------

    def _section_changed(self, on_change: Callable[[str, Any], None]) -> Callable[[dict], None]:
        def handler(change: dict) -> None:
            if self._quiet:
                return
            index = change["new"]
            valid = isinstance(index, int) and not isinstance(index, bool)
            if valid and 0 <= index < len(SECTIONS):
                on_change("section", SECTIONS[index])
            else:
                on_change("section", index)  # rejected with a notice

        return handler

    def show_state(self, state: ViewState) -> None:
        """Show the section and tool of ``state`` without reporting them back."""
        self._quiet = True
        try:
            self.tabs.selected_index = SECTIONS.index(state.section)
            self.tool.value = state.tool
        finally:
            self._quiet = False

    def update(self, state: ViewState, export: str) -> None:
        """Build (or bring up to date) the section ``state`` shows."""
        self._state, self._export = state, export
        self.show_state(state)
        self._rebuild(state.section)

    def _rebuild(self, section: str) -> None:
        state = self._state
        if state is None:
            return
        key = self._key(section, state)
        if self.built.get(section) == key:
            return
        build = {
            "claims": self._claims,
            "rob": self._rob,
            "certainty": self._certainty,
            "flow": self._flow,
        }[section]
        build(state)
        self.built[section] = key

    def _key(self, section: str, s: ViewState) -> Hashable:
        if section == "claims":
            return (s.confidence, s.estimator)
        if section == "rob":
            return (s.tool,)
        if section == "certainty":
            return (s.window, s.confidence, s.estimator, s.outcome, s.groups, self._all_outcomes())
        return (s.confidence, s.population, s.window, s.groups)

    def _all_outcomes(self) -> bool:
        return self.all_outcomes.value is True  # a crafted value counts as off

    def _cached(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        value = make()
        self._cache[key] = value
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return value

    def _figure(self, name: str, fig: go.Figure, filename: str) -> None:
        """Show ``fig`` in its box: the same widget updated in place when the plot keeps its
        panels, else a new widget (plotly cannot add or remove subplot axes in place, and the
        traffic-light plot has one panel per tool shown)."""
        old = self.figures.get(name)
        if old is not None and _panels(old) == _panels(fig):
            refresh(old, fig)
            return
        self.figures[name] = figure_widget(fig, filename, self._export)
        self.boxes[name].children = (self.figures[name],)
        if old is not None:
            old.close()

    # --- links -----------------------------------------------------------------------------------

    def study_link(self, key: object, text: str = "") -> str:
        """A link to a study's record: the Studies view of this app, else its DOI, else none."""
        if _missing(key):
            return ""
        key = str(key)
        if key in self.study_links:
            # The click is handled in place (UrlSync); the href is the same view as a link.
            href = "?tab=studies&study=" + quote(key, safe="")
            return (
                f"<a href='{_e(href)}' data-ev-study='{_e(key)}' class='ev-study-link'>"
                f"{_e(text or 'open its record in the Studies view')}</a>"
            )
        doi = self._doi(key)
        if doi:
            return (
                f"<a href='https://doi.org/{_e(quote(doi, safe='/:;()._-'))}' target='_blank' "
                f"rel='noopener noreferrer'>doi:{_e(doi)}</a>"
            )
        return ""

    def _doi(self, key: str) -> str:
        if self._dois is None:
            studies = self.data.studies
            self._dois = {
                k: str(d)
                for k, d in zip(studies["citekey"], studies["doi"], strict=True)
                if not _missing(d)
            }
        return self._dois.get(key, "")

    # --- claims ----------------------------------------------------------------------------------

    def _claims(self, state: ViewState) -> None:
        from evidence.appraisal import claims as C
        from evidence.schema import DatasetError

        try:
            table = self._cached(("claims",), lambda: C.load(self.data.root, self.data))
        except DatasetError as exc:
            self.central.value = ""
            self.claims.value = _problem_note("data/claims.csv", exc)
            return
        central = self._cached(
            ("central", state.confidence, state.estimator),
            lambda: C.central_claim(
                self.data, method=state.estimator, test="knha", confidence=state.confidence
            ),
        )
        rows = table[table["topic"] == "central"]
        self.central.value = self._central_html(rows.iloc[0] if len(rows) else None, central, state)
        if table.empty:
            self.claims.value = "<p>No claims audit (data/claims.csv) in this dataset.</p>"
            return
        counts = C.verdict_counts(table)
        summary = " ".join(
            f"{verdict_badge(v)}&nbsp;<b>{int(n)}</b>&emsp;" for v, n in counts.items() if n
        )
        body = []
        ordered = pd.concat([rows, table[table["topic"] != "central"]])
        for r in ordered.itertuples(index=False):
            seed = f" [{_e(r.seed_ref)}]" if not _missing(r.seed_ref) else ""
            cited = _e(r.cited_label) + seed if not _missing(r.cited_label) else "nothing cited"
            central_note = (
                "<p><b>The central claim:</b> what the dataset can say about it is above.</p>"
                if r.topic == "central"
                else ""
            )
            body.append(
                (
                    f"<b>{_e(r.claim_id)}</b>",
                    verdict_badge(str(r.verdict)),
                    f"<details class='ev-claim' data-claim='{_e(r.claim_id)}'>"
                    f"<summary>{_e(r.claim)}</summary>{central_note}{self._evidence(r)}"
                    "</details>",
                    cited,
                    _e(r.topic),
                )
            )
        self.claims.value = (
            f"<h3>The article's claims, checked against what they cite ({len(table)})</h3>"
            f"<div class='ev-counts'>{summary}</div>"
            "<p class='ev-muted'>Click a claim for the evidence: what the cited work is and "
            "reports, why the verdict, and where it was read.</p>"
            + _table(
                ("claim", "verdict", "the article's claim (paraphrased)", "cites", "topic"),
                body,
                "ev-claims-table",
            )
        )

    def _evidence(self, r: Any) -> str:
        if _missing(r.cites):
            what = "<p><b>Cited work:</b> none (the claim cites nothing).</p>"
        else:
            facts = [
                _e(r.cited_design) if not _missing(r.cited_design) else "",
                _e(r.cited_species) if not _missing(r.cited_species) else "",
                f"cells: {_e(r.cited_cells)}" if not _missing(r.cited_cells) else "",
                f"n = {int(r.cited_n)}" if not _missing(r.cited_n) else "n not reported",
                f"descriptors {_e(r.cited_confidence)}" if not _missing(r.cited_confidence) else "",
            ]
            link = self.study_link(r.cites)
            ref = "" if _missing(r.seed_ref) else f" (the article's reference [{_e(r.seed_ref)}])"
            what = (
                f"<p><b>Cited work:</b> {_e(r.cited_label)}{ref}"
                + f": {', '.join(f for f in facts if f)}."
                + (f" {link}" if link else "")
                + "</p>"
            )
        return (
            "<div class='ev-evidence'>"
            + what
            + f"<p><b>What it reports:</b> {_e(r.reports)}</p>"
            + f"<p><b>Why this verdict:</b> {_e(r.reason)}</p>"
            + f"<p class='ev-muted'>Read in: {_e(r.basis)}. Source: {linkify(r.source)} "
            f"({_e(r.source_file)}:{_e(r.source_line)})</p></div>"
        )

    def _central_html(self, row: Any, central: Any, state: ViewState) -> str:
        groups = central.groups
        group_rows = [
            (
                f"<b>{_e(g.group)}</b>",
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
                _e(h.label) + (f" {self.study_link(h.citekey, 'record')}" if h.citekey else ""),
                _e(h.design),
                _e(h.species),
                _e(h.groups),
                "yes" if h.combination_arm else "no",
                _e(h.note) if not _missing(h.note) else "",
            )
            for h in h2h.itertuples(index=False)
        ]
        tests = central.tests
        estimable = tests[tests["p"].notna()]
        test_rows = [
            (
                _e(OUTCOME_LABELS.get(t.outcome, t.outcome)),
                "cells versus control" if t.effect == "control" else "change from baseline",
                _e(t.k),
                f"Q = {fmt(t.q_between)}, df = {fmt(t.df, 0)}, {fmt_p(t.p)}",
                "yes" if t.includes_combination else "no",
            )
            for t in estimable.itertuples(index=False)
        ]
        head = "<h3>The central claim</h3>"
        if row is not None:
            head += (
                f"<p><b>{_e(row.claim_id)}</b> {verdict_badge(str(row.verdict))} "
                f"<i>{_e(row.claim)}</i></p><p><b>Why this verdict:</b> {_e(row.reason)}</p>"
            )
        verdict_line = (
            "A subgroup test that includes MSC+HSC is estimable."
            if central.combination_testable
            else "No subgroup test can include MSC+HSC."
        )
        return (
            "<div class='ev-central'>" + head + "<p><b>What the dataset can say</b> (numbers used: "
            f"{_e(CONFIDENCE_FILTERS[state.confidence][0])}; {_e(state.estimator)} with "
            f"Knapp-Hartung intervals; <b>{_e(verdict_line)}</b>):</p><ul>"
            + "".join(f"<li>{_e(line)}</li>" for line in central.lines)
            + "</ul><details class='ev-central-numbers'><summary>The numbers behind these "
            "lines: studies and patients per group, direct comparisons, subgroup tests</summary>"
            "<h4>Studies and patients per cell group</h4>"
            + _table(
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
                _table(
                    ("study", "design", "species", "groups", "combination arm", "note"), h2h_rows
                )
                if h2h_rows
                else "<p>None.</p>"
            )
            + f"<h4>Tests for subgroup differences ({len(estimable)} of {len(tests)} outcome "
            "and effect pairs estimable; across studies, not randomised)</h4>"
            + (
                _table(
                    ("outcome", "effect", "study arms per group", "test", "includes MSC+HSC"),
                    test_rows,
                )
                if test_rows
                else "<p>None is estimable.</p>"
            )
            + "</details></div>"
        )

    # --- risk of bias ----------------------------------------------------------------------------

    def _rob(self, state: ViewState) -> None:
        from evidence.appraisal import rob as R
        from evidence.figures.rob import summary_plot, traffic_light_plot

        frame = self.analysis.rob
        if frame.empty:
            problem = self.analysis.rob_problem or "No risk-of-bias records (data/rob.csv)."
            self.rob_text.value = f"<p>{_e(problem)}</p>"
            return
        tool = TOOL_NAMES.get(state.tool)
        shown = frame if tool is None else frame[frame["tool"] == tool]
        counts = R.counts(frame)
        by_tool = counts.groupby("tool")["studies"].sum()
        self.rob_text.value = (
            "<h3>Risk of bias</h3><p>"
            + "; ".join(
                f"{_e(TOOL_WORDS.get(str(t), t))}: {int(n)} {'study' if n == 1 else 'studies'}"
                for t, n in by_tool.items()
            )
            + ". RoB 2 for randomised trials, ROBINS-I for non-randomised comparisons; "
            "uncontrolled series and animal studies have no comparison to judge (NA). Hover a "
            "cell for the rationale. The Compare view's <b>Risk of bias</b> control repeats the "
            "analysis without studies at high risk.</p>"
        )
        self._figure(
            "rob-traffic",
            traffic_light_plot(shown, tools=None if tool is None else [tool]),
            "rob-traffic-light",
        )
        weights = R.summary_weights(shown, self.data)
        self._figure("rob-summary", summary_plot(weights), "rob-summary")
        rows = [
            (
                f"<b>{_e(r.label)}</b>",
                _e(r.tool),
                _e("Overall" if r.domain == "overall" else f"{r.domain}: {r.domain_name}"),
                f"{_e(r.symbol)} {_e(r.judgement)}",
                _e(r.rationale),
                _e(r.basis),
                f"{_e(r.source_file)}:{_e(r.source_line)}",
            )
            for r in shown.itertuples(index=False)
        ]
        self.rob_table.value = (
            "<details><summary>Every judgement with its rationale "
            f"({len(rows)} rows)</summary><div class='ev-scroll'>"
            + _table(("study", "tool", "domain", "judgement", "rationale", "read in", "line"), rows)
            + "</div></details>"
        )

    # --- certainty -------------------------------------------------------------------------------

    def _certainty(self, state: ViewState) -> None:
        from evidence.appraisal import grade as G
        from evidence.appraisal.schema import GRADE_GROUPS, GRADE_OUTCOMES
        from evidence.schema import DatasetError

        try:
            sof = self._cached(
                ("sof", state.window, state.confidence, state.estimator),
                lambda: G.draft(
                    self.data,
                    self.analysis.rob,
                    window=state.window,
                    confidence=state.confidence,
                    method=state.estimator,
                    test="knha",
                ),
            )
        except DatasetError as exc:
            self.sof.value = _problem_note("data/grade.csv", exc)
            return
        note = ""
        rows = sof
        if not self._all_outcomes():
            if state.outcome in GRADE_OUTCOMES:
                rows = rows[rows["outcome"] == state.outcome]
            else:
                note = (
                    f"<p>GRADE is drafted for {len(GRADE_OUTCOMES)} outcomes, not for "
                    f"{_e(OUTCOME_LABELS[state.outcome])}: every outcome is shown.</p>"
                )
        groups = [g for g in state.groups if g in GRADE_GROUPS]
        rows = rows[rows["group"].isin(groups)]
        counts = G.certainty_counts(rows)
        summary = " ".join(
            f"{certainty_badge(c)}&nbsp;<b>{int(n)}</b>&emsp;" for c, n in counts.items() if n
        )
        body = [self._sof_row(r) for r in rows.itertuples(index=False)]
        self.sof.value = (
            "<h3>Summary of findings (a rule-based GRADE draft)</h3>"
            + note
            + f"<p class='ev-muted'>Pooled with {_e(state.estimator)} and Knapp-Hartung "
            f"intervals (GRADE always uses them: with few studies a Wald interval is too "
            f"narrow); {_e(WINDOWS[state.window][0])}; "
            f"{_e(CONFIDENCE_FILTERS[state.confidence][0])}; the sidebar's cell groups. "
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

        k = 0 if _missing(r.k) else int(r.k)
        patients = "" if _missing(r.n_patients) else str(int(r.n_patients))
        if not _missing(r.events):
            patients += f" ({int(r.events)} events)"
        steps = []
        trail = []
        if not _missing(r.start):
            steps.append(("<b>Start</b>", f"<b>{_e(r.start)}</b>", "", "rule", _t(r.start_reason)))
            trail.append(f"start {_e(r.start)}")
        data = r._asdict()
        for step in STEPS:
            rating = data.get(step)
            if _missing(rating):
                continue
            levels = data.get(f"{step}_levels")
            by = data.get(f"{step}_by")
            steps.append(
                (
                    _e(STEP_TITLES.get(step, step)),
                    _e(rating),
                    "" if _missing(levels) else str(int(levels)),
                    _t(by),
                    _t(data.get(f"{step}_reason")),
                )
            )
            if not _missing(levels) and int(levels):
                sign = "+" if step == "upgrade" else "\u2212"
                trail.append(
                    f"{_e(STEP_TITLES.get(step, step).lower())} {sign}{int(levels)}"
                    + (" (author)" if by == "author" else "")
                )
        links = " ".join(
            self.study_link(key, label)
            for key, label in zip(
                str(r.citekeys or "").split(";"), str(r.studies or "").split("; "), strict=False
            )
            if key
        )
        score = "" if _missing(r.certainty_score) else f" (score {int(r.certainty_score)} of 4)"
        extra = [
            f"Studies: {links or _t(r.studies) or 'none'}",
            f"time points: {_e(r.timepoints)}" if not _missing(r.timepoints) else "",
            f"certainty {_e(r.certainty)}" + score,
            _t(r.notes),
            f"{_e(r.method)}, {_e(r.test)}",
        ]
        if steps:
            title = "GRADE steps: " + _DOT.join(trail) + f" \u2192 {_e(r.certainty)}"
            detail = _table(("step", "rating", "levels down/up", "by", "reason"), steps)
        else:
            title = "Nothing was pooled, so nothing was rated"
            detail = ""
        cells = (
            _e(r.outcome_label),
            _e(r.comparison),
            str(k),
            patients,
            _e(r.effect_text),
            certainty_badge(str(r.certainty)),
            _e(r.statement),
        )
        key = f"{_e(r.outcome)}|{_e(r.group)}|{_e(r.effect)}"
        return (
            f"<tbody class='ev-sof-entry' data-row='{key}'><tr>"
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr><tr class='ev-sof-steps'><td colspan='7'>"
            f"<details class='ev-sof-row' data-row='{key}'><summary>{title}</summary>{detail}"
            f"<p class='ev-muted'>{_DOT.join(x for x in extra if x)}</p></details></td></tr>"
            "</tbody>"
        )

    # --- flow ------------------------------------------------------------------------------------

    def _flow(self, state: ViewState) -> None:
        from evidence.appraisal import flow as F
        from evidence.figures.flow import flow_diagram

        counts = self._cached(
            ("flow", state.confidence, state.population, state.window, state.groups),
            lambda: F.counts(
                self.data,
                groups=state.groups,
                confidence=state.confidence,
                population=state.population,
                window=state.window,
            ),
        )
        settings = (
            f"{CONFIDENCE_FILTERS[state.confidence][0]} \u00b7 "
            f"{POPULATION_FILTERS[state.population][0]} \u00b7 {WINDOWS[state.window][0]} \u00b7 "
            f"{', '.join(state.groups)}"
        )
        self._figure(
            "flow-plot",
            flow_diagram(counts.boxes, counts.per_outcome, subtitle=settings),
            "study-flow",
        )
        rows = [
            (
                f"<b>{_e(r.label)}</b> {self.study_link(r.citekey, 'record')}",
                _e(r.kind),
                _e(r.design) if not _missing(r.design) else "",
                _e(r.stage),
                _e(r.reason),
            )
            for r in counts.records.itertuples(index=False)
        ]
        self.flow_text.value = (
            "<p class='ev-muted'>Drawn from the dataset with the sidebar's numbers used, "
            "population, time window and cell groups; every registry entry is counted once, "
            "under the first reason that applies (docs/appraisal.md).</p>"
            f"<details><summary>Every entry and where it ends ({len(rows)})</summary>"
            "<div class='ev-scroll'>"
            + _table(("entry", "kind", "design", "stage", "reason"), rows)
            + "</div></details>"
        )


def _panels(fig: go.Figure) -> tuple[str, ...]:
    """The subplot axes of a figure (its panel structure)."""
    return tuple(sorted(k for k in fig.layout.to_plotly_json() if re.match(r"[xy]axis\d*$", k)))


def _t(value: object) -> str:
    """Escaped text; empty for a missing value (None, NaN, blank)."""
    return "" if _missing(value) else _e(value)


def _problem_note(file: str, exc: Exception) -> str:
    errors = [p for p in getattr(exc, "problems", []) if p.severity == "error"]
    return (
        f"<div class='ev-error-item'>{_e(file)} has {len(errors)} error(s), so this section "
        "is not shown; run <code>evidence validate</code> to see them.</div>"
    )


__all__ = ["AppraisalView", "certainty_badge", "linkify", "verdict_badge"]
