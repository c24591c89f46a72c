"""The App: a one-line title, the claim panel with the link, a tab per view of the registry
(the sidebar's analysis controls beside the views that use them).

Data flow on a control change: the value is validated (:mod:`evidence.app.state`), the new
:class:`ViewState` is shown in every control (:meth:`View.sync`), and the visible view brings
itself up to date (:meth:`View.show`): it asks the one cache (:mod:`evidence.app.cache`) for
effects and pooled results, builds a figure with :mod:`evidence.figures` and draws it into the
existing plot in place (:mod:`evidence.app.widgets`) - one message, no new widget.

Nothing here computes a statistic. The views are built the first time they are shown (the
Compare view, eager, with the app), so the first page needs only the forest plot.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ipywidgets as W

from evidence.app.cache import Analysis, clinical_studies
from evidence.app.controls import Controls
from evidence.app.html import items, style
from evidence.app.state import (
    DEFAULT,
    PARAMS,
    RECORD_SEP,
    TABS,
    ViewState,
    coerce,
    param,
    parse_query,
    request_query_string,
    to_query,
    update,
    with_params,
)
from evidence.app.views import SPECS, Context, View
from evidence.app.views.claim_panel import ClaimPanel
from evidence.app.widgets import PlotView, UrlSync, classed
from evidence.dataset import Dataset

ROOT_ENV = "EVIDENCE_ROOT"
#: Fields of the state that view-only controls set (the rest change the analysis).
VIEW_FIELDS = ("tab", "scope", "section", "tool", "study", "record")
ANALYSIS_FIELDS = tuple(f for f in PARAMS if f not in VIEW_FIELDS)


def find_root(start: Path | None = None) -> Path:
    """The project folder holding ``references.bib`` and ``data/``.

    ``$EVIDENCE_ROOT`` (set by ``evidence serve``) wins; else the first folder upwards from
    ``start`` (default: the working directory, which is ``notebooks/`` under Voila).
    """
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "references.bib").is_file() and (folder / "data").is_dir():
            return folder
    raise FileNotFoundError(f"no references.bib with a data/ folder above {here}")


class App:
    """The dashboard. ``App.start()`` in a notebook cell, then ``app.apply_url()``."""

    def __init__(
        self, data: Dataset, state: ViewState = DEFAULT, views: tuple[str, ...] = TABS
    ) -> None:
        self.views = tuple(v for v in TABS if v in views) or TABS
        self.data = data
        self.analysis = Analysis(data)
        self.state = state.with_(tab=state.tab if state.tab in self.views else self.views[0])
        self.notices: list[str] = []
        self.study_keys = frozenset(clinical_studies(data)["citekey"])
        # the study arms a record may show ("citekey~arm"): every arm of a clinical study
        arms = data.arms[data.arms["citekey"].isin(self.study_keys)]
        self.record_keys = frozenset(
            f"{k}{RECORD_SEP}{a}" for k, a in zip(arms["citekey"], arms["arm"], strict=True)
        )
        self.context = Context(
            self.analysis,
            self.change,
            study_links=self.study_keys if "studies" in self.views else frozenset(),
        )
        self.controls = Controls(self.state)
        self.controls.on_change(self.change)
        self.built: dict[str, View] = {}  # views by name, built when first shown
        # A tab's pane: the sidebar (on the tabs it means something for) beside the view. The
        # tab bar spans the page above both, so it stays in place on every tab.
        self.panes = {
            v: classed(W.HBox(layout=W.Layout(width="100%")), "ev-pane") for v in self.views
        }
        self.tabs = classed(W.Tab(), "ev-tab")
        self.tabs.children = [self.panes[v] for v in self.views]
        for i, tab in enumerate(self.views):
            self.tabs.set_title(i, SPECS[tab].title)
        self.tabs.selected_index = self.views.index(self.state.tab)
        self.tabs.observe(self._tab_changed, names="selected_index")
        self.notice = classed(W.HTML(), "ev-notice")
        self.url = UrlSync()  # also the link to this view, with its copy button
        self.url.on_msg(self._url_message)
        # One line of title with the link beside it: the projector's height is for the plot.
        title = classed(
            W.HTML(
                "<h1 title='Combination (MSC+HSC) versus MSC, HSC and BM-MNC alone, checked "
                "against every study in the dataset. Hover any plot for the numbers and where "
                "they were read.'>Cell therapy for decompensated cirrhosis: what the studies "
                "show</h1>"
            ),
            "ev-title",
        )
        # The link and its copy button sit in the claim panel's right-hand column, so on a
        # short screen (the title hidden by app.css) the panel is the only row above the tabs.
        header = classed(W.HBox([title]), "ev-header")
        self.claim = ClaimPanel(self.analysis, self.open_claims, beside=(self.url,))
        self.sidebar = self.controls.box
        self.widget = classed(
            W.VBox(
                [
                    W.HTML(style("app.css")),
                    header,
                    self.claim.box,
                    self.notice,
                    self.tabs if len(self.views) > 1 else self.tabs.children[0],
                ],
                layout=W.Layout(width="100%"),
            ),
            "ev-app",
        )
        self.render(set(PARAMS))

    # --- the views -----------------------------------------------------------------------------

    def view(self, name: str) -> Any:
        """The view ``name``, built (and placed in its tab, if the app has it) on first use."""
        if name not in self.built:
            view = SPECS[name].build(self.context)
            view.sync(self.state)
            self.built[name] = view
            if name in self.panes:
                self._place(name)
        return self.built[name]

    def _place(self, name: str) -> None:
        """Fill ``name``'s pane: its view, with the sidebar beside it when the view uses the
        analysis controls and is the one shown (one sidebar, moved along with the tab)."""
        view = self.built.get(name)
        if view is None:
            return
        sidebar = SPECS[name].sidebar and name == self.state.tab
        children = (self.sidebar, view.box) if sidebar else (view.box,)
        if self.panes[name].children != children:
            self.panes[name].children = children

    def open_claims(self) -> None:
        """The claim panel's button: the Appraisal tab's claims audit."""
        if "appraisal" not in self.views:
            self.set_state(self.state, ["The Appraisal view is not part of this app."])
            return
        self.set_state(self.state.with_(tab="appraisal", section="claims"))

    @property
    def compare(self) -> Any:
        return self.view("compare")

    @property
    def robustness(self) -> Any:
        return self.view("robustness")

    @property
    def studies(self) -> Any:
        return self.view("studies")

    @property
    def appraisal(self) -> Any:
        return self.view("appraisal")

    @property
    def _appraisal(self) -> Any:  # built yet? (tests and notebooks ask without building it)
        return self.built.get("appraisal")

    @classmethod
    def start(
        cls,
        root: Path | str | None = None,
        state: ViewState = DEFAULT,
        views: tuple[str, ...] = TABS,
    ) -> App:
        """Load the dataset (``root``, ``$EVIDENCE_ROOT`` or found upwards) and build the app
        with ``views`` (a subset of "studies", "compare", "robustness", "appraisal")."""
        from evidence.dataset import load

        return cls(load(Path(root) if root is not None else find_root()), state, views)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # --- state ---------------------------------------------------------------------------------

    def apply_url(self, query: str | None = None) -> None:
        """Apply the page's query string (waiting for it in a preheated Voila kernel).

        Invalid values fall back to the defaults; ``self.notices`` (shown) says which. While a
        preheated kernel waits, it computes the states one change away (evidence.app.prefetch;
        ``$EVIDENCE_PREFETCH=0`` turns that off)."""
        if query is None:
            from evidence.app import prefetch

            idle = prefetch.Prefetcher(self, settle=True).step if prefetch.enabled() else None
            query = request_query_string(idle=idle)
        state, notices = parse_query(query, self.study_keys, self.record_keys)
        if self.controls.changed_more(state):  # a link with folded settings shows them
            self.controls.more_button.value = True
        self.set_state(state, notices)

    def figures(self) -> list[PlotView]:
        """Every plot built so far."""
        return [f for view in self.built.values() for f in view.figures.values()]

    def change(self, name: str, value: object) -> None:
        """A control changed: validate the value, then show the new state."""
        state, notice = update(self.state, name, value, self.study_keys, self.record_keys)
        if notice:
            self.set_state(self.state, [notice])
        else:
            self.set_state(state)

    def set_state(self, state: ViewState, notices: list[str] | None = None) -> None:
        if state.tab not in self.views:
            state = state.with_(tab=self.views[0])
        changed = {p for p in PARAMS if param(state, p) != param(self.state, p)}
        self.state = state
        self.notices = list(notices or [])
        self.controls.set_state(state)
        self.tabs.selected_index = self.views.index(state.tab)  # not reported: state first
        for view in self.built.values():
            view.sync(state)
        self.render(changed)

    def _tab_changed(self, change: dict) -> None:
        index = change["new"]
        views = self.views
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(views):
            if views[index] != self.state.tab:  # a viewer's click, not set_state
                self.change("tab", views[index])
        else:
            self.change("tab", index)  # rejected with a notice

    def _url_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A click on a study link (crafted messages too): validated like any other value."""
        if isinstance(content, dict) and "open_study" in content:
            self.open_study(content["open_study"])
        elif isinstance(content, dict) and "open_record" in content:
            self.open_record(content["open_record"], content.get("outcome"), content.get("effect"))

    def open_study(self, key: object) -> None:
        """Show ``key``'s record in the Studies view (a notice when it is not a study of it)."""
        if "studies" not in self.views:
            self.set_state(self.state, ["The Studies view is not part of this app."])
            return
        try:
            study = coerce("study", key, self.study_keys)
        except ValueError as exc:
            self.set_state(self.state, [f"Ignored a study link: {exc}."])
            return
        self.set_state(self.state.with_(tab="studies", study=study))

    def open_record(self, record: object, outcome: object = None, effect: object = None) -> None:
        """Show a study arm's record beside the forest plot of ``outcome`` and ``effect`` (a
        link in the Studies view); a notice when any is not valid."""
        if "compare" not in self.views:
            self.set_state(self.state, ["The Compare view is not part of this app."])
            return
        try:
            state = self.state.with_(
                tab="compare", record=coerce("record", record, records=self.record_keys)
            )
            for name, value in (("outcome", outcome), ("effect", effect)):
                if value is not None:
                    state = with_params(state, **{name: coerce(name, value)})
        except ValueError as exc:
            self.set_state(self.state, [f"Ignored a record link: {exc}."])
            return
        self.set_state(state)

    def render(self, changed: set[str]) -> None:
        """Bring the visible view up to date with ``self.state`` (hidden views wait)."""
        state = self.state
        try:
            for name in self.views:
                if name == state.tab or SPECS[name].eager:
                    self.view(name).show(state)
            # The sidebar leaves the other panes first: one copy of each control on the page.
            for name in sorted(self.panes, key=lambda n: n == state.tab):
                self._place(name)
        except Exception as exc:  # e.g. a model that cannot be fitted: say so, keep the page
            self.notices.append(f"This view cannot be computed: {str(exc)[:300]}")
        # A plot first drawn while hidden (another tab; the forest under a Bayesian link) has
        # plotly's default width: make it re-measure when it comes into view.
        if changed & {"tab", "section", "model"}:
            self.url.resize += 1
        problem = self.analysis.rob_problem  # a data problem stays on the page
        self.notice.value = items(self.notices + ([problem] if problem else []))
        self.url.query = to_query(state)
        self._label_outcomes(state)  # last: the plot, its text and the link go first

    def warm(self, state: ViewState) -> None:
        """Compute into the one cache what showing the frequentist ``state`` on the Compare tab
        computes (the forest plot and its texts, the outcome menu's counts), showing nothing:
        a preheated kernel's prefetch (evidence.app.prefetch). Keep it in step with
        :meth:`render` (tests/test_app_prefetch.py checks a warmed change computes nothing)."""
        view = self.compare
        pooled, _figure = view.results(state)
        view.texts(state, pooled)
        self.analysis.outcome_counts(state.question, state.rob)

    def _label_outcomes(self, state: ViewState) -> None:
        """The outcome menu says what each outcome holds under the other settings (counted
        by the analysis stage, once per question without its outcome, in the one cache)."""
        if not SPECS[state.tab].sidebar:  # counted when the sidebar is next shown
            return
        try:
            counts = self.analysis.outcome_counts(state.question, state.rob)
        except Exception as exc:  # the labels stay as they were; the page says why
            self.notices.append(f"The outcome menu's counts cannot be computed: {str(exc)[:300]}")
            self.notice.value = items(self.notices)
            return
        self.controls.show_counts(counts)


__all__ = ["ANALYSIS_FIELDS", "App", "find_root"]
