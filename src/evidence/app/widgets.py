"""The dashboard's widgets: plots updated in place, and the page's address.

This is the only module that touches plotly's ``FigureWidget`` internals (its model state
``_widget_data``/``_widget_layout``, its ``_config`` and its JavaScript module ``_esm``); they
are checked against the pinned plotly version by ``tests/test_app_widgets.py``. Everything
else shows a plot through a :class:`FigurePane`.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

import anywidget
import ipywidgets as W
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import traitlets

from evidence.app.html import asset
from evidence.figures.style import export_config

BUNDLE_ENV = "EVIDENCE_PLOTLY_BUNDLE"
_figure_classes: dict[str, type[go.FigureWidget]] = {}


def classed(widget: W.Widget, *names: str) -> W.Widget:
    """``widget`` with the CSS classes ``names`` (stable hooks for tests and styling)."""
    for name in names:
        widget.add_class(name)
    return widget


class UrlSync(anywidget.AnyWidget):
    """Writes the view state into the page's address (history.replaceState), so the address
    bar always holds a link to the current view, and shows that link in full with a copy
    button; asks plots to re-measure their container after a tab change. Touches the address
    only on a Voila page. Also reports a click on a study link of the app
    (``{"open_study": citekey}``) or on a record link (``{"open_record": "citekey~arm",
    "outcome": ..., "effect": ...}``); the App validates every value."""

    _esm = asset("url_sync.js")
    query = traitlets.Unicode("").tag(sync=True)
    resize = traitlets.Int(0).tag(sync=True)


def figure_class() -> type[go.FigureWidget]:
    """plotly's FigureWidget; under ``evidence serve`` one whose JavaScript is a URL.

    A stock FigureWidget carries plotly's 5 MB widget bundle in its state: every plot sends it
    over the websocket and the browser compiles it again. The server started by
    :func:`evidence.serve.serve` serves that same file (of the installed plotly) as a static
    file and names it in ``$EVIDENCE_PLOTLY_BUNDLE``; the widget's module is then a two-line
    loader that imports it, so the page compiles it once and the browser caches it.
    """
    path = os.environ.get(BUNDLE_ENV, "")
    if not re.fullmatch(r"[A-Za-z0-9_./-]{1,200}\.js", path) or ".." in path:
        return go.FigureWidget
    if path not in _figure_classes:
        loader = asset("bundle_loader.js").replace("__BUNDLE_PATH__", json.dumps(path))
        _figure_classes[path] = type("ServedFigureWidget", (go.FigureWidget,), {"_esm": loader})
    return _figure_classes[path]


def figure_widget(fig: go.Figure, filename: str) -> go.FigureWidget:
    """A new plot showing ``fig``; its modebar's camera downloads ``filename``.svg."""
    widget = figure_class()(fig)
    widget._config = export_config(filename, "svg")
    widget._ev_last = _snapshot(fig)  # refresh() then sends only what changes
    return widget


#: Layout and trace keys whose values are sent whole, never merged key by key.
_ATOMIC = frozenset({"meta", "annotations", "shapes", "template", "customdata"})


def _leaves(props: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple, Any]:
    """``{"marker": {"size": [..]}}`` -> ``{("marker", "size"): [..]}``."""
    out: dict[tuple, Any] = {}
    for key, value in props.items():
        if isinstance(value, dict) and value and key not in _ATOMIC:
            out.update(_leaves(value, (*prefix, key)))
        else:
            out[(*prefix, key)] = value
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            return bool(np.array_equal(np.asarray(a), np.asarray(b)))
        except (TypeError, ValueError):
            return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _changes(old: dict[tuple, Any], new: dict[tuple, Any]) -> dict[tuple, Any]:
    """Leaves to set: new or changed values, and None for leaves that disappeared."""
    out = {
        path: value for path, value in new.items() if path not in old or not _same(old[path], value)
    }
    for path in old.keys() - new.keys():
        if not any(path[: len(p)] == p for p in new if len(p) < len(path)):
            out[path] = None
    return out


def _trace_leaves(trace: Any) -> dict[tuple, Any]:
    props = trace.to_plotly_json()
    props.pop("type", None)  # read-only; fixed per position
    props.pop("uid", None)
    return _leaves(props)


def _snapshot(fig: go.Figure) -> dict[str, Any]:
    """What a widget showing ``fig`` was given, as leaves (compared on the next refresh)."""
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)  # set once at creation; resending it costs ~20 kB a change
    return {"traces": [_trace_leaves(t) for t in fig.data], "layout": _leaves(layout)}


def sync_model(widget: go.FigureWidget) -> None:
    """Copy the figure into the widget's model state, for browser views created from now on.

    plotly sends updates to the views that exist (``refresh``) and writes the model state only
    when the widget is displayed; a page that connects later (a preheated kernel applying the
    link before its page is shown, a re-attached plot) would otherwise draw the first figure.
    """
    widget._widget_layout = deepcopy(widget._layout_obj._props)
    widget._widget_data = deepcopy(widget._data)


def refresh(widget: go.FigureWidget, fig: go.Figure) -> None:
    """Make ``widget`` show ``fig`` by updating it in place (one batched plotly.update).

    Only the values that differ from what the widget was last given are sent (an estimator
    change at 2,000 studies resizes the squares but does not resend their positions), so the
    message and plotly's validation stay small. The figure functions keep a fixed trace
    structure; if it ever differs, the traces are replaced (still without a new widget).
    """
    new = fig.data
    last: dict[str, Any] | None = getattr(widget, "_ev_last", None)
    if len(widget.data) != len(new) or any(
        a.type != b.type for a, b in zip(widget.data, new, strict=True)
    ):
        widget.data = ()
        widget.add_traces(list(new))
        last = None
    snapshot = _snapshot(fig)
    traces, layout_leaves = snapshot["traces"], snapshot["layout"]
    with widget.batch_update():
        for i, (old, leaves) in enumerate(zip(widget.data, traces, strict=True)):
            before = last["traces"][i] if last is not None else _trace_leaves(old)
            for path, value in _changes(before, leaves).items():
                old[path] = value
        before = last["layout"] if last is not None else {}
        for path, value in _changes(before, layout_leaves).items():
            widget.layout[path] = value
    widget._ev_last = snapshot


def show_only(box: W.Box, shown: tuple[W.Widget, ...]) -> None:
    """Show ``shown`` among ``box``'s children (appending any it lacks) and hide the others.

    Children are hidden (CSS display), never taken out: a plot must keep its one browser view.
    plotly's view does not unsubscribe from its model when it is removed (``FigureView.remove``
    in plotly 7.1.0's widgetbundle.js only purges the div), so a plot taken out of the page and
    put back has two views; on the next update the dead one runs first, throws in
    ``Plotly.update`` on its purged div, and the live one is never called: the plot stops
    redrawing for good while everything else changes (issue 14).
    """
    missing = tuple(w for w in shown if not any(w is c for c in box.children))
    if missing:
        box.children = (*box.children, *missing)  # appended: the views before it stay
    for child in box.children:
        child.layout.display = None if any(child is w for w in shown) else "none"


def panels(fig: go.Figure) -> tuple[str, ...]:
    """The subplot axes of a figure (its panel structure)."""
    return tuple(sorted(k for k in fig.layout.to_plotly_json() if re.match(r"[xy]axis\d*$", k)))


@dataclass(frozen=True)
class DownloadItem:
    """One entry of a plot's Download menu.

    ``kind`` "svg" or "png": the browser draws the plot off-screen at the chosen size;
    "file": the kernel makes the file, ``make()`` returning ``(content, extension, MIME type)``;
    content is text, or bytes (sent base64-encoded, e.g. a zip).
    Views and other modules add their own (``FigurePane.downloads.append(...)``), for example
    a script that reproduces the plot in R.
    """

    key: str
    label: str
    kind: str = "file"
    make: Callable[[], tuple[str | bytes, str, str]] | None = None


class DownloadMenu(anywidget.AnyWidget):
    """The Download menu beside a plot: its items (labels and kinds) and the file name stem
    (the browser adds the date and the extension). A "file" item is asked for by a message
    ``{"download": key}``; anything else is ignored."""

    _esm = asset("download_menu.js")
    items = traitlets.List(traitlets.Dict()).tag(sync=True)
    stem = traitlets.Unicode("figure").tag(sync=True)

    def __init__(self, entries: list[DownloadItem], stem: str) -> None:
        super().__init__(stem=stem)
        self.entries = entries
        self.refresh_items()
        self.on_msg(self._message)

    def refresh_items(self) -> None:
        self.items = [{"key": e.key, "label": e.label, "kind": e.kind} for e in self.entries]

    def file(self, key: object) -> dict[str, str] | None:
        """The answer to a request for ``key`` (None for a key that is not a file item)."""
        for entry in self.entries:
            if entry.key == key and entry.kind == "file" and entry.make is not None:
                content, ext, mime = entry.make()
                if isinstance(content, bytes):  # binary (a zip): base64 over the comm
                    encoded = base64.b64encode(content).decode("ascii")
                    return {
                        "key": entry.key,
                        "content": encoded,
                        "ext": ext,
                        "mime": mime,
                        "encoding": "base64",
                    }
                return {"key": entry.key, "content": content, "ext": ext, "mime": mime}
        return None

    def _message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("download"), str):
            answer = self.file(content["download"])
            if answer is not None:
                self.send(answer)


def figure_csv(fig: go.Figure) -> str:
    """A figure's data as CSV: one row per point of each trace (name, x, y, text, hover)."""
    rows = []
    for trace in fig.data:
        xs, ys = list(trace.x or ()), list(trace.y or ())
        count = max(len(xs), len(ys))
        texts = trace.text if isinstance(trace.text, (list, tuple)) else [trace.text] * count
        hovers = trace.hovertext if isinstance(trace.hovertext, (list, tuple)) else [None] * count
        for i in range(count):
            rows.append(
                {
                    "trace": trace.name,
                    "x": xs[i] if i < len(xs) else None,
                    "y": ys[i] if i < len(ys) else None,
                    "text": texts[i] if i < len(texts) else None,
                    "hover": hovers[i] if i < len(hovers) else None,
                }
            )
    return pd.DataFrame(rows, columns=["trace", "x", "y", "text", "hover"]).to_csv(index=False)


class FigurePane:
    """A box that shows one plot and its Download menu: the plot is created on the first
    :meth:`draw`, then updated in place (or replaced in the same place when the panel
    structure changes, which plotly cannot update in place).

    ``downloads`` is the menu's list of items (SVG, PNG, the data as CSV by default; append to
    it before the first draw, or call ``menu.refresh_items()`` after). ``table``, when set,
    gives the CSV (a frame of what the plot shows); else the figure's points are written.
    """

    def __init__(self, name: str, stem: str) -> None:
        self.name = name
        self.stem = stem
        self.box = classed(W.VBox(layout=W.Layout(width="100%")), f"ev-{name}", "ev-figure-pane")
        self.widget: go.FigureWidget | None = None
        self.menu: DownloadMenu | None = None
        self.table: Callable[[], pd.DataFrame] | None = None
        self.downloads = [
            DownloadItem("svg", "SVG (vector: slides, papers)", "svg"),
            DownloadItem("png", "PNG (bitmap)", "png"),
            DownloadItem("csv", "Data (CSV)", "file", self._csv),
        ]

    def _csv(self) -> tuple[str, str, str]:
        if self.table is not None:
            text = self.table().to_csv(index=False)
        else:
            text = figure_csv(self.widget) if self.widget is not None else ""
        return text, "csv", "text/csv"

    def draw(self, fig: go.Figure, stem: str | None = None) -> None:
        """Show ``fig``; ``stem`` names its downloads (the browser adds the date)."""
        self.box.layout.display = None
        # A figure that knows its narrowest width (the forest's measured columns) never gets
        # less: a neighbour wraps below it, or the page scrolls, instead of its text clipping.
        meta = fig.layout.meta
        narrowest = meta.get("min_width") if isinstance(meta, dict) else None
        self.box.layout.min_width = f"{int(narrowest)}px" if narrowest else None
        self.stem = stem or self.stem
        if self.menu is not None:
            self.menu.stem = self.stem
        old = self.widget
        if old is not None and panels(old) == panels(fig):
            refresh(old, fig)
            return
        self.widget = figure_widget(fig, self.stem)
        if self.menu is None:
            self.menu = DownloadMenu(self.downloads, self.stem)
        self.box.children = (self.menu, self.widget)
        if old is not None:
            old.close()

    def hide(self) -> None:
        """Nothing to show (a fresh page would have no plot here): hide the box, keeping the
        plot's view for the next :meth:`draw` (see :func:`show_only`)."""
        self.box.layout.display = "none"

    def sync_model(self) -> None:
        if self.widget is not None:
            sync_model(self.widget)


def slug(*parts: str) -> str:
    """A file-name stem from words: "MELD score", "change from baseline" -> "meld-score_..."."""
    words = (re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts)
    return "_".join(w for w in words if w)


__all__ = [
    "BUNDLE_ENV",
    "DownloadItem",
    "DownloadMenu",
    "FigurePane",
    "UrlSync",
    "classed",
    "figure_class",
    "figure_csv",
    "figure_widget",
    "panels",
    "refresh",
    "show_only",
    "slug",
    "sync_model",
]
