"""The dashboard's controls: ipywidgets whose options come from the compare layer.

Each control carries the CSS class ``ev-<name>`` (a stable hook for tests and styling). A
control never acts on its own: :class:`Controls` reports ``(name, value)`` to one callback,
which validates the value (see :mod:`evidence.app.state`) before anything uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W

from evidence.analysis.words import OUTCOME_COUNT_MEANING, outcome_choice
from evidence.app.state import (
    ALLOWED,
    CORR_MAX,
    CORR_MIN,
    CORR_STEP,
    DEFAULT,
    ViewState,
    param,
)
from evidence.appraisal.rob import ROB_FILTERS
from evidence.bayesian import BAYES, BAYES_LABEL
from evidence.compare import (
    COMPARED_GROUPS,
    CONFIDENCE_FILTERS,
    DESIGN_FILTERS,
    OUTCOME_LABELS,
    POPULATION_FILTERS,
    WINDOWS,
)
from evidence.vocab import OUTCOME_MENU_NAMES

ESTIMATOR_LABELS = {
    "REML": "REML (restricted maximum likelihood)",
    "DL": "DL (DerSimonian-Laird, RevMan 5)",
    "PM": "PM (Paule-Mandel)",
    "SJ": "SJ (Sidik-Jonkman)",
    "HS": "HS (Hunter-Schmidt)",
    "EB": "EB (empirical Bayes)",
    "ML": "ML (maximum likelihood)",
    "HE": "HE (Hedges)",
    "FE": "FE (common effect, no \u03c4\u00b2)",
}
EFFECT_LABELS = {
    # for counted outcomes a within-arm effect is the share of patients with the event (the
    # plot's title says which); short, so the sidebar shows it whole
    "change": "within each arm",
    "control": "cells versus control",
}
TEST_CHOICES = {
    "z": "z (Wald)",
    "knha": "Knapp-Hartung (t, k\u22121 df)",
    "adhoc": "Knapp-Hartung ad hoc (\u2265 z's width)",  # short: the sidebar shows it whole
}
MEASURE_CHOICES = {"OR": "odds ratio", "RR": "risk ratio", "RD": "risk difference"}
#: The cell groups' checkbox labels (short: two columns in the sidebar) and their tooltips.
GROUP_LABELS = {
    "MSC+HSC": "MSC+HSC",
    "MSC": "MSC",
    "HSC": "HSC",
    "BM-MNC": "BM-MNC",
    "BM": "BM",
    "G-CSF": "G-CSF alone",
    "control": "control arms",
}
GROUP_TIPS = {
    "MSC+HSC": "the combination: mesenchymal then haematopoietic stem cells",
    "MSC": "mesenchymal stem (stromal) cells",
    "HSC": "haematopoietic stem cells, selected (CD34+/CD133+) or mobilised",
    "BM-MNC": "bone-marrow mononuclear cells",
    "BM": "whole bone marrow",
    "G-CSF": "G-CSF without cells",
    "control": "the control arms of controlled studies",
}
SCOPE_LABELS = {"all": "all included studies", **{g: f"{g} only" for g in COMPARED_GROUPS}}
SECTION_TITLES = {
    "claims": "Claims",
    "rob": "Risk of bias",
    "certainty": "Certainty",
    "flow": "Study flow",
}
TOOL_LABELS = {"all": "all tools", "rob2": "RoB 2", "robins-i": "ROBINS-I"}
#: The sidebar's controls always in view (with the cell groups), and those under "More".
MAIN = ("outcome", "effect", "window")
MORE = (
    "design",
    "confidence",
    "population",
    "rob",
    "estimator",
    "prior",
    "threshold",
    "test",
    "corr",
    "measure",
)

_WIDE = W.Layout(width="100%")
_STYLE = {"description_width": "initial"}


def _options(name: str, labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(labels.get(value, value), value) for value in ALLOWED[name]]


def _classed(widget: W.Widget, name: str) -> W.Widget:
    widget.add_class(f"ev-{name}")
    return widget


def _label(text: str) -> W.HTML:
    return W.HTML(f"<span class='ev-label'>{text}</span>")


class Controls:
    """The analysis controls of the sidebar (shared by the Compare and Robustness views)."""

    def __init__(self, state: ViewState) -> None:
        self._callback: Callable[[str, Any], None] | None = None
        self._quiet = False
        drop = {"layout": _WIDE, "style": _STYLE}
        self.widgets: dict[str, W.Widget] = {
            # Each choice says what it holds (show_counts); the values never change.
            "outcome": W.Dropdown(
                options=_options("outcome", OUTCOME_LABELS),
                description="Outcome",
                tooltip=OUTCOME_COUNT_MEANING,
                **drop,
            ),
            "effect": W.Dropdown(
                options=_options("effect", EFFECT_LABELS), description="Effect", **drop
            ),
            "window": W.Dropdown(
                options=_options("window", {k: v[0] for k, v in WINDOWS.items()}),
                description="Time window",
                **drop,
            ),
            "estimator": W.Dropdown(
                options=[*_options("estimator", ESTIMATOR_LABELS), (BAYES_LABEL, BAYES)],
                description="Estimator of \u03c4\u00b2",
                **drop,
            ),
            # The Bayesian model's prior scale and benefit threshold: text, validated by
            # evidence.app.state ('' = the outcome's default, stated in the view).
            "prior": W.Text(
                description="Prior scale of \u03c4 (half-normal)",
                placeholder="default",
                continuous_update=False,
                layout=W.Layout(width="100%"),  # own layout: it is hidden unless Bayesian
                style=_STYLE,
            ),
            "threshold": W.Text(
                description="Benefit threshold",
                placeholder="default",
                continuous_update=False,
                layout=W.Layout(width="100%"),
                style=_STYLE,
            ),
            "test": W.Dropdown(
                options=_options("test", TEST_CHOICES), description="Confidence interval", **drop
            ),
            "design": W.Dropdown(
                options=_options("design", {k: v[0] for k, v in DESIGN_FILTERS.items()}),
                description="Designs",
                **drop,
            ),
            "confidence": W.Dropdown(
                options=_options("confidence", {k: v[0] for k, v in CONFIDENCE_FILTERS.items()}),
                description="Numbers used",
                **drop,
            ),
            "population": W.Dropdown(
                options=_options("population", {k: v[0] for k, v in POPULATION_FILTERS.items()}),
                description="Population",
                **drop,
            ),
            "corr": W.FloatSlider(
                description="Pre-post r",
                description_allow_html=False,
                style=_STYLE,
                min=CORR_MIN,
                max=CORR_MAX,
                step=CORR_STEP,
                readout_format=".2f",
                continuous_update=False,
                layout=_WIDE,
            ),
            "measure": W.Dropdown(
                options=_options("measure", MEASURE_CHOICES),
                description="Counted outcomes vs control",
                **drop,
            ),
            "rob": W.Dropdown(
                options=_options("rob", {k: v[0] for k, v in ROB_FILTERS.items()}),
                description="Risk of bias",
                **drop,
            ),
        }
        self.group_boxes = {
            g: W.Checkbox(
                description=GROUP_LABELS.get(g, g),
                tooltip=GROUP_TIPS.get(g, ""),
                indent=False,
                layout=W.Layout(width="auto"),
            )
            for g in COMPARED_GROUPS
        }
        for g, box in self.group_boxes.items():
            box.add_class(f"ev-group-{g.lower().replace('+', '-')}")
        self.groups = _classed(W.VBox(list(self.group_boxes.values())), "groups")
        for name, widget in self.widgets.items():
            _classed(widget, name)
            widget.observe(self._changed(name), names="value")
        for box in self.group_boxes.values():
            box.observe(self._groups_changed, names="value")
        self.set_state(state)
        # What a presenter changes while talking stays in view; the rest folds away under
        # "More settings", whose button counts the settings that differ from the defaults.
        self.more_button = _classed(
            W.ToggleButton(value=False, description="More settings", icon="chevron-down"),
            "more",
        )
        self.more_button.observe(self._more_toggled, names="value")
        # Filled when first opened: a control out of the page has a model but no view, and a
        # page that never opens them (most) draws 11 widgets fewer.
        self.more = _classed(W.VBox([], layout=W.Layout(display="none")), "more-settings")
        self.box = _classed(
            W.VBox(
                [
                    *(self.widgets[name] for name in MAIN),
                    _label("Cell groups"),
                    self.groups,
                    self.more_button,
                    self.more,
                ]
            ),
            "sidebar",
        )
        self._count_changed(state)

    def _more_toggled(self, change: dict) -> None:
        shown = change["new"] is True
        if shown and not self.more.children:
            self.more.children = tuple(self.widgets[name] for name in MORE)
        self.more.layout.display = None if shown else "none"
        self.more_button.icon = "chevron-up" if shown else "chevron-down"

    @staticmethod
    def changed_more(state: ViewState) -> int:
        """How many of the folded settings differ from the defaults."""
        return sum(param(state, name) != param(DEFAULT, name) for name in (*MORE, "model"))

    def _count_changed(self, state: ViewState) -> None:
        """The button says how many folded settings differ from the defaults."""
        n = self.changed_more(state)
        self.more_button.description = f"More settings ({n} changed)" if n else "More settings"

    def on_change(self, callback: Callable[[str, Any], None]) -> None:
        """``callback(name, value)`` on every user change; values are NOT validated yet."""
        self._callback = callback

    def _changed(self, name: str) -> Callable[[dict], None]:
        def handler(change: dict) -> None:
            if self._quiet or self._callback is None:
                return
            self._callback(name, change["new"])

        return handler

    def _groups_changed(self, change: dict) -> None:
        if self._quiet or self._callback is None:
            return
        chosen = []
        for group, box in self.group_boxes.items():
            if box.value is True:
                chosen.append(group)
            elif box.value is not False:  # a crafted value: let validation reject it
                chosen.append(box.value)
        self._callback("groups", tuple(chosen))

    def show_counts(self, studies: Mapping[str, int]) -> None:
        """Label each outcome with what it holds ("MELD score: 3 studies", "Child-Pugh score:
        none usable"; ``studies`` from the cache's ``outcome_counts``). Only the labels change:
        the values and the choice stay, nothing is reported back, and the new labels go to the
        page in one message."""
        widget = self.widgets["outcome"]
        options = tuple(
            (outcome_choice(OUTCOME_MENU_NAMES[code], studies.get(code, 0)), code)
            for code in ALLOWED["outcome"]
        )
        if options == tuple(widget.options):
            return
        index = widget.index
        self._quiet = True
        try:
            with widget.hold_sync():  # new options reset the choice to the first: put it back
                widget.options = options
                widget.index = index
        finally:
            self._quiet = False

    def set_state(self, state: ViewState) -> None:
        """Show ``state`` without reporting the changes back (no callback loops)."""
        self._quiet = True
        try:
            for name, widget in self.widgets.items():
                value = param(state, name)
                if name == "estimator" and state.model == "bayes":
                    value = BAYES
                if widget.value != value:
                    widget.value = value
            for group, box in self.group_boxes.items():
                box.value = group in state.question.groups
            q = state.question
            self.widgets["corr"].disabled = q.effect != "change" or q.binary
            self.widgets["measure"].disabled = not (q.binary and q.effect == "control")
            bayes = state.model == "bayes"
            for name in ("prior", "threshold"):
                self.widgets[name].layout.display = None if bayes else "none"
            self.widgets["test"].disabled = bayes
            if hasattr(self, "more_button"):
                self._count_changed(state)
        finally:
            self._quiet = False
