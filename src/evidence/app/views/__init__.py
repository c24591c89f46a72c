"""The dashboard's views: one module per view, one protocol, one registry.

Adding a view is one module holding a class that follows :class:`View` and one
:class:`ViewSpec` in :data:`REGISTRY` (plus its name in ``evidence.app.state.TABS``, which the
link validation reads). The App builds a view the first time it is shown (the module is
imported then too, so a kernel loads only the views someone opens), calls :meth:`View.show`
while it is visible and :meth:`View.sync` whenever the state changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import ipywidgets as W

from evidence.app.cache import Analysis
from evidence.app.html import escape
from evidence.app.state import ViewState
from evidence.app.widgets import FigurePane, PlotView


@dataclass
class Context:
    """What every view is given: the cached analysis, the one callback that validates and
    applies a control change (``change(name, value)``), and the studies a link may open."""

    analysis: Analysis
    change: Callable[[str, Any], None]
    study_links: frozenset[str] = frozenset()


class View(Protocol):
    """What the App needs of a view."""

    box: W.Widget  #: the view's content, shown in its tab
    panes: dict[str, FigurePane]  #: its plots (built or not yet)

    def show(self, state: ViewState) -> None:
        """Bring the view up to date with ``state`` (called while the view is visible;
        cheap when nothing it shows has changed)."""

    def sync(self, state: ViewState) -> None:
        """Show ``state`` in the view's own controls without reporting it back."""


def model_note(state: ViewState) -> str:
    """For a tab that keeps the frequentist estimator: says so while the Bayesian model is
    chosen (else empty)."""
    if state.model != "bayes":
        return ""
    from evidence.analysis.words import frequentist_note

    return f"<p class='ev-notice-item'>{escape(frequentist_note(state.estimator))}</p>"


class BaseView:
    """Shared parts: the plots by name, and a ``sync`` for views without own controls."""

    panes: dict[str, FigurePane]

    @property
    def figures(self) -> dict[str, PlotView]:
        """The plots built so far, by name."""
        return {n: p.widget for n, p in self.panes.items() if p.widget is not None}

    def sync(self, state: ViewState) -> None:
        """Nothing to show: the view has no controls of its own."""


@dataclass(frozen=True)
class ViewSpec:
    """A registry entry: the tab name (the URL value), its title, where the class lives, and
    whether the sidebar's analysis controls mean anything on it. An ``eager`` view is built
    with the app and kept up to date while hidden (the forest plot: switching back to it is
    instant, and a link to another tab has it ready); the others wait until shown."""

    name: str
    title: str
    module: str
    cls: str
    sidebar: bool = True
    eager: bool = False

    def build(self, context: Context) -> View:
        module = importlib.import_module(f"evidence.app.views.{self.module}")
        view: View = getattr(module, self.cls)(context)
        return view


REGISTRY: tuple[ViewSpec, ...] = (
    ViewSpec("studies", "Studies", "studies", "StudiesView", sidebar=False),
    ViewSpec("compare", "Compare", "compare", "CompareView", eager=True),
    ViewSpec("robustness", "Robustness", "robustness", "RobustnessView"),
    ViewSpec("appraisal", "Appraisal", "appraisal", "AppraisalView"),
)
SPECS = {spec.name: spec for spec in REGISTRY}

__all__ = ["REGISTRY", "SPECS", "BaseView", "Context", "View", "ViewSpec"]
