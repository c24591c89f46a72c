"""The Appraisal view: claims audit, risk of bias, certainty of evidence and study flow.

Its module is imported the first time the tab is opened, so the appraisal modules, their
figures and the GRADE draft stay out of a kernel until someone asks. Each section is built when
first shown and rebuilt only when a setting it depends on changes; the expensive results
(claims, central claim, GRADE draft, flow counts) are kept in the app's one cache
(:class:`evidence.app.cache.Analysis`) keyed by those settings. Every number comes from
:mod:`evidence.appraisal`; nothing here computes one.
"""

from __future__ import annotations

from collections.abc import Hashable

import ipywidgets as W
import plotly.graph_objects as go

from evidence.app.controls import SECTION_TITLES, TOOL_LABELS
from evidence.app.html import escape, is_missing, style, table
from evidence.app.state import ROB_TOOLS, SECTIONS, ViewState
from evidence.app.views import BaseView, Context, model_note
from evidence.app.views.certainty import CertaintySection
from evidence.app.views.claims import ClaimsSection
from evidence.app.views.links import StudyLinks
from evidence.app.widgets import FigurePane, classed
from evidence.compare import CONFIDENCE_FILTERS, DESIGN_FILTERS, POPULATION_FILTERS, WINDOWS

#: The tool names of evidence.appraisal.schema, by the URL value of the Tool control.
TOOL_NAMES = {"all": None, "rob2": "RoB 2", "robins-i": "ROBINS-I"}
TOOL_WORDS = {"none": "no tool applies (uncontrolled or animal)"}
PLOTS = {
    "rob-traffic": "rob-traffic-light",
    "rob-summary": "rob-summary",
    "flow-plot": "study-flow",
}


class AppraisalView(BaseView):
    """Four sections in an inner tab bar; its controls (``"section"``, ``"tool"``) report to
    the App's ``change``, which validates them like every other value."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.analysis = context.analysis
        self.data = context.analysis.data
        self.links = StudyLinks(self.data, context.study_links)
        self.panes = {name: FigurePane(name, filename) for name, filename in PLOTS.items()}
        self.boxes = {name: pane.box for name, pane in self.panes.items()}
        self.built: dict[str, Hashable] = {}
        self.state: ViewState | None = None  # what the view shows (set by sync)

        self.panes_by_section = {
            s: classed(W.VBox(layout=W.Layout(width="100%")), f"ev-appraisal-{s}") for s in SECTIONS
        }
        self.tabs = classed(W.Tab(), "ev-appraisal-tab")
        self.tabs.children = [self.panes_by_section[s] for s in SECTIONS]
        for i, section in enumerate(SECTIONS):
            self.tabs.set_title(i, SECTION_TITLES[section])
        self.tabs.observe(self._section_changed, names="selected_index")

        self.claims_section = ClaimsSection(self.analysis, self.links)
        self.central, self.claims = self.claims_section.central, self.claims_section.claims
        self.panes_by_section["claims"].children = self.claims_section.children

        self.tool = classed(
            W.ToggleButtons(
                options=[(TOOL_LABELS[t], t) for t in ROB_TOOLS],
                description="Tool:",
                style={"description_width": "initial", "button_width": "110px"},
            ),
            "ev-rob-tool",
        )
        self.tool.observe(self._tool_changed, names="value")
        self.rob_text = classed(W.HTML(), "ev-rob-text")
        self.rob_table = classed(W.HTML(), "ev-rob-table")
        self.panes_by_section["rob"].children = (
            self.rob_text,
            self.tool,
            self.boxes["rob-traffic"],
            self.boxes["rob-summary"],
            self.rob_table,
        )

        self.certainty = CertaintySection(
            self.analysis, self.links, lambda: self._rebuild("certainty")
        )
        self.all_outcomes, self.sof = self.certainty.all_outcomes, self.certainty.sof
        self.panes_by_section["certainty"].children = self.certainty.children

        self.flow_text = classed(W.HTML(), "ev-flow-text")
        self.panes_by_section["flow"].children = (self.boxes["flow-plot"], self.flow_text)

        self.model_note = classed(W.HTML(), "ev-model-note")
        self.box = classed(
            W.VBox([W.HTML(style("appraisal.css")), self.model_note, self.tabs]), "ev-appraisal"
        )

    # --- state ---------------------------------------------------------------------------------

    def _section_changed(self, change: dict) -> None:
        # Only a change by the viewer is reported: sync() records the state first.
        index = change["new"]
        shown = SECTIONS.index(self.state.section) if self.state else 0
        if index == shown:
            return
        valid = isinstance(index, int) and not isinstance(index, bool)
        if valid and 0 <= index < len(SECTIONS):
            self.context.change("section", SECTIONS[index])
        else:
            self.context.change("section", index)  # rejected with a notice

    def _tool_changed(self, change: dict) -> None:
        if change["new"] != (self.state.tool if self.state else "all"):
            self.context.change("tool", change["new"])

    def sync(self, state: ViewState) -> None:
        """Show the section and tool of ``state`` without reporting them back."""
        self.state = state
        self.model_note.value = model_note(state)
        self.tabs.selected_index = SECTIONS.index(state.section)
        self.tool.value = state.tool

    def show(self, state: ViewState) -> None:
        """Build (or bring up to date) the section ``state`` shows."""
        self.sync(state)
        self._rebuild(state.section)

    def _rebuild(self, section: str) -> None:
        state = self.state
        if state is None:
            return
        key = self._key(section, state)
        if self.built.get(section) == key:
            return
        build = {
            "claims": self.claims_section.build,
            "rob": self._rob,
            "certainty": self.certainty.build,
            "flow": self._flow,
        }[section]
        build(state)
        self.built[section] = key

    def _key(self, section: str, s: ViewState) -> Hashable:
        q = s.question
        if section == "claims":
            return (q.confidence, s.estimator)
        if section == "rob":
            return (s.tool,)
        if section == "certainty":
            outcomes = self.certainty.all_outcomes_on()
            return (q.window, q.confidence, s.estimator, q.outcome, q.groups, outcomes)
        return (q.confidence, q.population, q.window, q.groups)

    def _draw(self, name: str, fig: go.Figure) -> None:
        self.panes[name].draw(fig)

    # --- risk of bias ----------------------------------------------------------------------------

    def _rob(self, state: ViewState) -> None:
        from evidence.appraisal import rob as R
        from evidence.figures.rob import summary_plot, traffic_light_plot

        frame = self.analysis.rob
        if frame.empty:
            problem = self.analysis.rob_problem or "No risk-of-bias records (data/rob.csv)."
            self.rob_text.value = f"<p>{escape(problem)}</p>"
            return
        tool = TOOL_NAMES.get(state.tool)
        shown = frame if tool is None else frame[frame["tool"] == tool]
        counts = R.counts(frame)
        by_tool = counts.groupby("tool")["studies"].sum()
        self.rob_text.value = (
            "<h3>Risk of bias</h3><p>"
            + "; ".join(
                f"{escape(TOOL_WORDS.get(str(t), t))}: {int(n)} {'study' if n == 1 else 'studies'}"
                for t, n in by_tool.items()
            )
            + ". RoB 2 for randomised trials, ROBINS-I for non-randomised comparisons; "
            "uncontrolled series and animal studies have no comparison to judge (NA). Hover a "
            "cell for the rationale. The Compare view's <b>Risk of bias</b> control repeats the "
            "analysis without studies at high risk.</p>"
        )
        self._draw("rob-traffic", traffic_light_plot(shown, tools=None if tool is None else [tool]))
        weights = R.summary_weights(shown, self.data)
        self._draw("rob-summary", summary_plot(weights))
        rows = [
            (
                f"<b>{escape(r.label)}</b>",
                escape(r.tool),
                escape("Overall" if r.domain == "overall" else f"{r.domain}: {r.domain_name}"),
                f"{escape(r.symbol)} {escape(r.judgement)}",
                escape(r.rationale),
                escape(r.basis),
                f"{escape(r.source_file)}:{escape(r.source_line)}",
            )
            for r in shown.itertuples(index=False)
        ]
        self.rob_table.value = (
            "<details><summary>Every judgement with its rationale "
            f"({len(rows)} rows)</summary><div class='ev-scroll'>"
            + table(("study", "tool", "domain", "judgement", "rationale", "read in", "line"), rows)
            + "</div></details>"
        )

    # --- flow ------------------------------------------------------------------------------------

    def _flow(self, state: ViewState) -> None:
        from evidence.appraisal import flow as F
        from evidence.figures.flow import flow_diagram

        q = state.question
        counts = self.analysis.cached(
            ("flow", q.confidence, q.design, q.population, q.window, q.groups),
            lambda: F.counts(
                self.data,
                groups=q.groups,
                confidence=q.confidence,
                design=q.design,
                population=q.population,
                window=q.window,
            ),
        )
        settings = (
            f"{CONFIDENCE_FILTERS[q.confidence][0]} \u00b7 {DESIGN_FILTERS[q.design][0]} \u00b7 "
            f"{POPULATION_FILTERS[q.population][0]} \u00b7 {WINDOWS[q.window][0]} \u00b7 "
            f"{', '.join(q.groups)}"
        )
        self._draw("flow-plot", flow_diagram(counts.boxes, counts.per_outcome, subtitle=settings))
        rows = [
            (
                f"<b>{escape(r.label)}</b> {self.links.link(r.citekey, 'record')}",
                escape(r.kind),
                escape(r.design) if not is_missing(r.design) else "",
                escape(r.stage),
                escape(r.reason),
            )
            for r in counts.records.itertuples(index=False)
        ]
        self.flow_text.value = (
            "<p class='ev-muted'>Drawn from the dataset with the sidebar's numbers used, "
            "population, time window and cell groups; every registry entry is counted once, "
            "under the first reason that applies (docs/appraisal.md).</p>"
            f"<details><summary>Every entry and where it ends ({len(rows)})</summary>"
            "<div class='ev-scroll'>"
            + table(("entry", "kind", "design", "stage", "reason"), rows)
            + "</div></details>"
        )


__all__ = ["AppraisalView"]
