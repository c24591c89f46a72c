"""The Studies view: a sortable, filterable table of the clinical studies, the evidence map,
and one study's record (every number with its locator and confidence)."""

from __future__ import annotations

import ipywidgets as W
import pandas as pd

from evidence.app.cache import clinical_studies
from evidence.app.html import LIST_FIELDS, cell, escape, external_link, is_missing, list_cell
from evidence.app.state import ViewState
from evidence.app.views import BaseView, Context
from evidence.app.views.links import record_link, record_links, record_targets, study_links
from evidence.app.widgets import Click, FigurePane, PlotView, classed
from evidence.compare import OUTCOME_LABELS
from evidence.figures.style import fmt
from evidence.schema import CELL_GROUPS, CONFIDENCES, DESIGNS

MAX_TABLE_ROWS = 300  # rows of the table; the rest is counted, not drawn
STUDY_COLUMNS = {
    "label": "study",
    "design": "design",
    "cell_groups": "cell groups",
    "route": "route",
    "dose": "dose",
    "n": "n",
    "follow_up": "follow-up",
    "country": "country",
    "confidence": "confidence",
    "numbers": "numbers in the dataset",
}
SORT_KEYS = ("year", "label", "design", "n", "follow_up_months", "country", "numbers_count")
SORT_LABELS = {
    "year": "year",
    "label": "first author",
    "design": "design",
    "n": "patients",
    "follow_up_months": "follow-up",
    "country": "country",
    "numbers_count": "numbers in the dataset",
}
ANY = "any"


class StudiesView(BaseView):
    """Sortable, filterable study table, evidence map and a detail card for one study."""

    def __init__(self, context: Context) -> None:
        self.context = context
        data = self.data = context.analysis.data
        self.table_frame = clinical_studies(data).copy()
        counts = data.outcomes.groupby("citekey").size()
        self.table_frame["numbers_count"] = (
            self.table_frame["citekey"].map(counts).fillna(0).astype(int)
        )
        self.keys = tuple(self.table_frame["citekey"])
        drop = {"style": {"description_width": "initial"}}
        self.filters = {
            "design": W.Dropdown(
                options=[("all designs", ANY)] + [(d, d) for d in DESIGNS if d != "animal"],
                description="Design",
                **drop,
            ),
            "group": W.Dropdown(
                options=[("all cell groups", ANY)] + [(g, g) for g in CELL_GROUPS],
                description="Cell group",
                **drop,
            ),
            "confidence": W.Dropdown(
                options=[("any confidence", ANY)] + [(c, c) for c in CONFIDENCES],
                description="Descriptors",
                **drop,
            ),
            "search": W.Text(
                placeholder="author, country, route\u2026", description="Search", **drop
            ),
            "sort": W.Dropdown(
                options=[(SORT_LABELS[k], k) for k in SORT_KEYS], description="Sort by", **drop
            ),
            "order": W.ToggleButtons(
                options=[("ascending", "asc"), ("descending", "desc")], **drop
            ),
        }
        self._allowed = {
            "design": {o[1] for o in self.filters["design"].options},
            "group": {o[1] for o in self.filters["group"].options},
            "confidence": {o[1] for o in self.filters["confidence"].options},
            "sort": set(SORT_KEYS),
            "order": {"asc", "desc"},
        }
        for name, widget in self.filters.items():
            classed(widget, f"ev-filter-{name}")
            widget.observe(lambda _change: self.render_table(), names="value")
        self.count = W.HTML()
        self.table = classed(W.HTML(), "ev-studies")
        self.panes = {"map": FigurePane("map", "evidence-map")}
        self.panes["map"].on_click(self._clicked)  # a click on a study shows its detail
        self.map_box = self.panes["map"].box
        self._map_frame: pd.DataFrame | None = None
        self.shown_study = ""
        options = [("choose a study\u2026", "")] + [
            (f"{r.label} \u00b7 {r.design}", r.citekey)
            for r in self.table_frame.sort_values(["year", "label"]).itertuples()
        ]
        self.study = classed(
            W.Dropdown(
                options=options, description="Study", layout=W.Layout(width="520px"), **drop
            ),
            "ev-study",
        )
        self.study.observe(self._study_changed, names="value")
        self.detail = classed(W.HTML(), "ev-study-detail")
        self.box = W.VBox(
            [
                W.HBox(
                    [self.filters[n] for n in ("design", "group", "confidence", "search")],
                    layout=W.Layout(flex_flow="row wrap"),
                ),
                W.HBox(
                    [self.filters["sort"], self.filters["order"]],
                    layout=W.Layout(flex_flow="row wrap"),
                ),
                self.count,
                self.table,
                self.map_box,
                W.HTML("<h3>Study detail: every number with its locator and confidence</h3>"),
                self.study,
                self.detail,
            ]
        )
        self.render_table()

    # The filters are not part of the link; their values are still checked (crafted messages).
    def _filter(self, name: str) -> str:
        value = self.filters[name].value
        if name == "search":
            return value[:100] if isinstance(value, str) else ""
        return value if value in self._allowed[name] else ANY if name != "sort" else "year"

    def filtered(self) -> pd.DataFrame:
        t = self.table_frame
        design, group, conf = (self._filter(n) for n in ("design", "group", "confidence"))
        if design != ANY:
            t = t[t["design"] == design]
        if group != ANY:
            t = t[t["cell_groups"].fillna("").str.split(";").apply(lambda gs: group in gs)]
        if conf != ANY:
            t = t[t["confidence"] == conf]
        text = self._filter("search").strip().lower()
        if text:
            hay = (
                t[["label", "author", "title", "country", "route", "dose", "cell_type"]]
                .fillna("")
                .astype(str)
                .agg(" ".join, axis=1)
                .str.lower()
            )
            t = t[hay.str.contains(text, regex=False)]
        key = self._filter("sort")
        order = self.filters["order"].value
        return t.sort_values(
            [key, "label"], ascending=order != "desc", na_position="last", kind="stable"
        )

    def render_table(self) -> None:
        t = self.filtered()
        self.count.value = (
            f"<p><b>{len(t)}</b> of {len(self.table_frame)} clinical studies match the filters."
            + (f" The first {MAX_TABLE_ROWS} are shown." if len(t) > MAX_TABLE_ROWS else "")
            + "</p>"
        )
        rows = []
        for r in t.head(MAX_TABLE_ROWS).itertuples():
            numbers = (
                f"{r.numbers_count} numbers"
                if r.numbers_count
                else f"none: {escape(r.no_numbers)}"
                if not is_missing(r.no_numbers)
                else "none"
            )
            rows.append(
                f"<tr><td><b>{escape(r.label)}</b></td><td>{cell(r.design)}</td>"
                f"<td>{list_cell(r.cell_groups)}</td><td>{list_cell(r.route)}</td>"
                f"<td>{cell(r.dose)}</td>"
                f"<td class='ev-num'>{cell(r.n)}</td><td>{cell(r.follow_up)}</td>"
                f"<td>{cell(r.country)}</td><td>{cell(r.confidence)}</td><td>{numbers}</td></tr>"
            )
        head = "".join(f"<th>{escape(v)}</th>" for v in STUDY_COLUMNS.values())
        self.table.value = (
            f"<div class='ev-scroll'><table class='ev-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )
        if self.map is not None:
            self._draw_map()

    @property
    def map(self) -> PlotView | None:
        """The evidence map (None before the view is first shown)."""
        return self.panes["map"].widget

    def _study_changed(self, change: dict) -> None:
        # Only a change by the viewer is reported: sync() sets the shown value first.
        if change["new"] != self.shown_study:
            self.context.change("study", change["new"])

    def sync(self, state: ViewState) -> None:
        self.shown_study = state.study
        self.study.value = state.study

    def show(self, state: ViewState) -> None:
        """Build the map on first show; show the detail of ``state.study``."""
        self.sync(state)
        if self.map is None or self._highlight != state.study:
            self._draw_map()
        self.detail.value = self._detail(state.study)

    _highlight = ""

    def _draw_map(self) -> None:
        from evidence.figures.evidence_map import evidence_map_plot, map_frame

        if self._map_frame is None:
            self._map_frame = map_frame(self.data.clinical_studies, self.data.treated_arms)
        shown = self._map_frame[self._map_frame["citekey"].isin(self.filtered()["citekey"])]
        self._highlight = self.study.value
        fig = evidence_map_plot(shown, highlight=self._highlight or None)
        self.panes["map"].draw(fig)

    def _clicked(self, click: Click) -> None:
        """A click on a study's point: its customdata is the citekey (figures/evidence_map.py)."""
        key = click.customdata
        if isinstance(key, str):
            self.study.value = key if key in self.keys else ""

    def _detail(self, key: str) -> str:
        if not key:
            return "<p class='ev-muted'>Choose a study (or click one on the map).</p>"
        s = self.data.studies.set_index("citekey").loc[key]
        links = [external_link(href, label) for href, label in study_links(s)]
        fields = [
            ("design", "design"),
            ("population", "population"),
            ("population_detail", "inclusion"),
            ("aetiology", "aetiology"),
            ("country", "country"),
            ("cell_groups", "cell groups"),
            ("cell_type", "cells"),
            ("cell_origin", "origin"),
            ("dose", "dose"),
            ("route", "route"),
            ("follow_up", "follow-up"),
            ("n_total", "patients enrolled"),
            ("registration", "registration"),
            ("note", "note"),
        ]
        desc = "".join(
            f"<tr><th>{escape(lbl)}</th><td>{list_cell(s[f]) if f in LIST_FIELDS else cell(s[f])}"
            "</td></tr>"
            for f, lbl in fields
        )
        desc += (
            f"<tr><th>descriptors read in</th><td>{cell(s['source'])} "
            f"(confidence: <b>{escape(s['confidence'])}</b>)</td></tr>"
        )
        arms = self.data.arms[self.data.arms["citekey"] == key]
        arm_rows = "".join(
            f"<tr><td>{escape(a.arm)}</td><td>{escape(a.group)}</td>"
            f"<td class='ev-num'>{cell(a.n)}</td><td>{cell(a.n_basis)}</td>"
            f"<td>{cell(a.locator)}</td><td>{escape(a.confidence)}</td></tr>"
            for a in arms.itertuples()
        )
        numbers = self.data.outcomes[self.data.outcomes["citekey"] == key]
        targets = record_targets(arms)
        if numbers.empty:
            why = s["no_numbers"]
            body = f"<p>No outcome numbers: {cell(why, 'not reported')}.</p>"
        else:
            rows = []
            for o in numbers.itertuples():
                converted = ""
                if o.unit_reported != o.unit:
                    converted = f" (reported {fmt(o.value_reported, 3)} {escape(o.unit_reported)})"
                # the locator in the paper; linked only to the study's own DOI, PubMed or PMC
                # page (a copy elsewhere, a search page or an IP address stays text)
                src = escape(o.locator)
                if record_link(o.source_url):
                    src = external_link(str(o.source_url), str(o.locator))
                rows.append(
                    f"<tr><td>{escape(OUTCOME_LABELS.get(o.outcome, o.outcome))}</td>"
                    f"<td>{escape(o.arm)}</td><td>{escape(o.quantity)}</td><td>{escape(o.timepoint)}</td>"
                    f"<td>{escape(o.statistic)}</td><td class='ev-num'>{fmt(o.value, 3)}</td>"
                    f"<td>{escape(o.unit)}{converted}</td><td class='ev-num'>{cell(o.n)}</td>"
                    f"<td>{src}</td><td>{escape(o.confidence)}</td>"
                    f"<td>{record_links(key, o.arm, o.outcome, targets)}</td></tr>"
                )
            body = (
                "<div class='ev-scroll'><table class='ev-table'><thead><tr><th>outcome</th>"
                "<th>arm</th><th>quantity</th><th>time point</th><th>statistic</th><th>value</th>"
                "<th>unit</th><th>n</th><th>read in</th><th>confidence</th>"
                "<th>in the plot</th></tr>"
                f"</thead><tbody>{''.join(rows)}</tbody></table></div>"
            )
        link_text = (
            " \u00b7 ".join(links) if links else "<span class='ev-muted'>no DOI or PMID</span>"
        )
        return (
            f"<h3>{escape(s['label'])}: {cell(s['title'])}</h3>"
            f"<p>{cell(s['author'])}. <i>{cell(s['journal'])}</i> {cell(s['year'])}. "
            f"{link_text}</p>"
            f"<table class='ev-table'>{desc}</table>"
            "<h4>Arms</h4><table class='ev-table'><thead><tr><th>arm</th><th>group</th>"
            "<th>n</th><th>n counts</th><th>locator</th><th>confidence</th></tr></thead>"
            f"<tbody>{arm_rows}</tbody></table><h4>Numbers</h4>{body}"
        )


__all__ = ["StudiesView"]
