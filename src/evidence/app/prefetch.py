"""A preheated kernel's idle time: the states one control change away, computed in advance.

A kernel of Voila's pool has drawn the default view and waits for its viewer (the wait in
:meth:`evidence.app.App.apply_url`). While it waits, :class:`Prefetcher` fills the app's one
cache (:mod:`evidence.app.cache`) with what the Compare view shows for each state one sidebar
control away from the drawn one (:func:`neighbours`): pooled results, forest figure, texts,
the outcome menu's counts (:meth:`evidence.app.App.warm`).
The viewer's first change is then a cache hit; only drawing it remains.

It costs the viewer nothing it would notice, and is bounded:

- it runs only while the kernel waits in the pool: between two states it checks whether the
  request has come (it stops at once then), so a viewer waits at most for the one state being
  computed (a few ms); a kernel started for one viewer (no pool) never prefetches;
- at most :data:`BUDGET_S` seconds of the kernel's CPU, and at most one state per neighbour
  (about 45 for the bundled data); the cache grows by what they hold (a figure is ~0.1 MB) and
  keeps that size, least recently used first out;
- when it is done it collects the garbage and freezes the objects left (``gc.freeze``), so the
  collector's full passes during the viewer's changes walk only the objects made since;
- ``EVIDENCE_PREFETCH=0`` (in the server's environment: kernels inherit it) turns it off.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Collection, Iterator
from typing import Any

from evidence.app.cache import CACHE_SIZE, FIGURES_KEPT
from evidence.app.controls import MAIN, MORE
from evidence.app.state import ALLOWED, CORR_MAX, CORR_MIN, CORR_STEP, ViewState, update
from evidence.compare import COMPARED_GROUPS

PREFETCH_ENV = "EVIDENCE_PREFETCH"
#: CPU seconds (of this kernel) a prefetch may take in all.
BUDGET_S = 3.0
#: Cache entries one Compare state adds at most: effects, filtered effects, pooled, risk-of-bias
#: lines, texts, the not-in-the-plot list, the outcome menu's counts (and a figure, kept apart).
ENTRIES_PER_STATE = 7
#: Controls of the sidebar that change the Compare view, in the sidebar's order; the Bayesian
#: model's prior and threshold are left out (their model is not the one drawn).
CONTROLS = (*MAIN, "groups", *(c for c in MORE if c not in ("prior", "threshold")))


def enabled() -> bool:
    """False when ``$EVIDENCE_PREFETCH`` says no (0, off, false, no)."""
    return os.environ.get(PREFETCH_ENV, "1").strip().lower() not in ("0", "off", "false", "no")


def _values(name: str, state: ViewState) -> list[object]:
    """The values a viewer can set ``name`` to from ``state`` in one change."""
    if name == "groups":
        chosen = set(state.question.groups)
        return [[g for g in COMPARED_GROUPS if (g in chosen) != (g == toggled)]
                for toggled in COMPARED_GROUPS]  # fmt: skip
    if name == "corr":  # the slider's neighbours
        r = state.question.ri
        return [v for v in (r - CORR_STEP, r + CORR_STEP) if CORR_MIN <= round(v, 2) <= CORR_MAX]
    return list(ALLOWED.get(name, ()))


def neighbours(state: ViewState, studies: Collection[str] = ()) -> list[ViewState]:
    """The frequentist states one sidebar control away from ``state``, in the sidebar's order
    (each valid value once; a value that leaves the state as it is, or is refused, is left out)."""
    seen = {state}
    out = []
    for name in CONTROLS:
        for value in _values(name, state):
            new, notice = update(state, name, value, studies)
            if notice or new in seen or new.model != "frequentist":
                continue
            seen.add(new)
            out.append(new)
    return out


class Prefetcher:
    """Warms the app's cache one neighbouring state per :meth:`step` (see the module);
    ``settle=True`` (a kernel: it freezes the whole process's objects) ends with
    :meth:`_settle`."""

    def __init__(self, app: Any, budget: float = BUDGET_S, settle: bool = False) -> None:
        self.app = app
        self.budget = budget
        self.settle = settle  # end with gc.freeze (a kernel's whole process: see _settle)
        self.states: list[ViewState] | None = None  # listed at the first step
        self._todo: Iterator[ViewState] = iter(())
        self.deadline = 0.0
        self.warmed = 0
        self.frozen = False

    def _start(self) -> None:
        app = self.app
        # Only the Compare view's states (an app without it has nothing to prefetch).
        shown = "compare" in app.views and app.state.model == "frequentist"
        self.states = neighbours(app.state, app.study_keys) if shown else []
        self._todo = iter(self.states)
        self.deadline = time.process_time() + self.budget
        cache = app.analysis  # room for what is prefetched beside what the viewer asks for
        cache.cache.size = max(cache.cache.size, CACHE_SIZE + ENTRIES_PER_STATE * len(self.states))
        cache.figures.size = max(cache.figures.size, FIGURES_KEPT + len(self.states))

    def step(self) -> bool:
        """Compute one state's results; False when none is left or the budget is spent (the
        last step then collects the garbage and freezes what is left: see :meth:`_settle`)."""
        if self.states is None:
            self._start()
        state = next(self._todo, None) if time.process_time() < self.deadline else None
        if state is None:
            self._settle()
            return False
        try:
            self.app.warm(state)
        except Exception:  # a state that cannot be computed says so when it is asked for
            return True
        self.warmed += 1
        return True

    def _settle(self) -> None:
        """Collect the garbage once, then move every object left (the libraries, the app, the
        prefetched results) out of the collector's sight (``gc.freeze``): a full collection
        walks every live object, ~85 ms of a viewer's change here once in about ten changes;
        after the freeze it walks only what the viewer's changes made. Frozen objects are
        never collected: a prefetched result evicted later stays in memory (at most what was
        prefetched, a few MB)."""
        if self.frozen or not self.settle:
            return
        self.frozen = True
        if self.states:
            gc.collect()
            gc.freeze()

    def run(self) -> int:
        """Every step at once (outside a pool: tests, benchmarks); the states warmed."""
        while self.step():
            pass
        return self.warmed


__all__ = ["BUDGET_S", "PREFETCH_ENV", "Prefetcher", "enabled", "neighbours"]
