"""The dashboard's widgets: plots (:class:`PlotView`, in a :class:`FigurePane` with its
Download menu) and the page's address (:class:`UrlSync`).

A plot is our own small anywidget, not plotly's ``FigureWidget``: the kernel sends the figure's
JSON and the browser draws it with ``Plotly.react`` (which diffs), so an update draws what a
fresh page draws, the kernel neither diffs nor validates, and a dashboard kernel never imports
plotly's widget machinery (41 MB a kernel). plotly.js itself is served once per page by
``evidence serve`` (:mod:`evidence.serving.plotlyjs`), named in ``$EVIDENCE_PLOTLY_BUNDLE``.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
from collections.abc import Callable
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


def jsonable(value: Any) -> Any:
    """``value`` as JSON can carry it: numpy arrays (also in plotly's base64 form) and scalars
    as lists and numbers, tuples as lists, NaN and infinities as null (a gap to plotly.js)."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:  # plotly's base64 form of a numpy array
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
            shape = [int(n) for n in str(value.get("shape", "")).split(",") if n.strip()]
            array = array.reshape(shape) if shape else array
            return jsonable(array)
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iub":
            return value.tolist()
        if value.dtype.kind == "f":
            return [None if not math.isfinite(v) else v for v in value.tolist()]
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def figure_json(fig: go.Figure) -> tuple[dict[str, Any], dict[str, Any]]:
    """``fig`` as plotly.js takes it, without ``layout.template``; and the template apart.

    Read from the figure's own property dicts (``_data``, ``_layout``: what
    ``fig.to_plotly_json()`` deep-copies first, 60% of this function's time), which
    :func:`jsonable` copies anyway; ``tests/test_app_widgets.py`` checks the result equals
    the public ``to_plotly_json``'s."""
    data, layout = getattr(fig, "_data", None), getattr(fig, "_layout", None)
    if not isinstance(data, list) or not isinstance(layout, dict):
        d = fig.to_plotly_json()
        data, layout = d.get("data") or [], d.get("layout") or {}
    layout = dict(layout)
    template = layout.pop("template", None) or {}
    return {"data": jsonable(data), "layout": jsonable(layout)}, jsonable(template)


@dataclass(frozen=True)
class Click:
    """A click on a point of a plot: the trace (index and name), the point's index in it, and
    its customdata (as the kernel's figure holds it)."""

    trace: int
    name: str | None
    point: int
    customdata: Any


def _bundle_path() -> str | None:
    path = os.environ.get(BUNDLE_ENV, "")
    if re.fullmatch(r"[A-Za-z0-9_./-]{1,200}\.js", path) and ".." not in path:
        return path
    return None


class PlotView(anywidget.AnyWidget):
    """One plot: ``figure`` (data and layout as JSON, no template), ``template`` (the layout's
    template, sent only when it changes) and plotly's ``config``; the browser draws them with
    ``Plotly.react`` on every change. ``fig`` is the figure last drawn (``data`` its traces).
    A click on a point reaches the callbacks given to :meth:`on_click` as a :class:`Click`.

    Make one with :func:`plot_view` (its JavaScript loads plotly.js from the server under
    ``evidence serve``, or carries it inline elsewhere, e.g. in JupyterLab).
    """

    _esm = asset("plot_view.js").replace("__BUNDLE_PATH__", "null")
    figure = traitlets.Dict().tag(sync=True)
    template = traitlets.Dict().tag(sync=True)
    config = traitlets.Dict().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fig: go.Figure | None = None
        self._click_callbacks: list[Callable[[Click], None]] = []
        self.on_msg(self._message)

    @property
    def data(self) -> tuple:
        """The traces of the figure last drawn."""
        return tuple(self.fig.data) if self.fig is not None else ()

    def draw(self, fig: go.Figure, config: dict[str, Any] | None = None) -> None:
        """Show ``fig`` (the browser's Plotly.react finds what changed), with plotly's
        ``config`` when given."""
        figure, template = figure_json(fig)
        self.fig = fig
        # One message: the browser draws once per message, and a config sent on its own
        # would redraw the old figure first (a whole extra Plotly.react per change).
        with self.hold_sync():
            if config is not None:
                self.config = config  # equal to the last: not sent
            self.template = template  # equal to the last: not sent
            self.figure = figure

    def on_click(self, callback: Callable[[Click], None]) -> None:
        """Call ``callback(click)`` when the viewer clicks a point."""
        self._click_callbacks.append(callback)

    def click(self, content: Any) -> Click | None:
        """The :class:`Click` a browser's message ``{"click": {curve, point, customdata}}``
        stands for, checked against the figure last drawn (untrusted: None for indices out of
        range, or customdata that differs, i.e. a click on an earlier drawing)."""
        if not isinstance(content, dict) or not isinstance(content.get("click"), dict):
            return None
        msg = content["click"]
        curve, point = msg.get("curve"), msg.get("point")
        if self.fig is None or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in (curve, point)
        ):
            return None
        if not 0 <= curve < len(self.fig.data):
            return None
        trace = self.fig.data[curve]
        custom = trace.customdata if "customdata" in trace else None
        value = None
        if custom is not None:
            if not 0 <= point < len(custom):
                return None
            value = jsonable(custom[point])
        if value != msg.get("customdata"):
            return None
        return Click(curve, getattr(trace, "name", None), point, value)

    def _message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        click = self.click(content)
        if click is not None:
            for callback in self._click_callbacks:
                callback(click)


_plot_classes: dict[str, type[PlotView]] = {}


def plot_class() -> type[PlotView]:
    """:class:`PlotView` whose JavaScript loads plotly.js: under ``evidence serve`` from the
    URL in ``$EVIDENCE_PLOTLY_BUNDLE`` (served once per page, cached by the browser); elsewhere
    with plotly.js inline (the cartesian bundle if ``./dev setup`` fetched it)."""
    path = _bundle_path()
    key = path or ""
    if key not in _plot_classes:
        code = asset("plot_view.js")
        if path is not None:
            esm = code.replace("__BUNDLE_PATH__", json.dumps(path))
        else:
            from evidence.serving.plotlyjs import choose

            bundle = choose()[0].read_text(encoding="utf-8")
            esm = bundle + "\n" + code.replace("__BUNDLE_PATH__", "null")
        _plot_classes[key] = type("PlotView", (PlotView,), {"_esm": esm, "__module__": __name__})
    return _plot_classes[key]


def plot_view(fig: go.Figure, filename: str) -> PlotView:
    """A new plot showing ``fig``; its modebar's camera downloads ``filename``.svg."""
    widget = plot_class()(config=export_config(filename, "svg"))
    widget.draw(fig)
    return widget


def show_only(box: W.Box, shown: tuple[W.Widget, ...]) -> None:
    """Show ``shown`` among ``box``'s children (appending any it lacks) and hide the others.

    Children are hidden (CSS display), never taken out: a plot keeps its one browser view and
    its drawing (taken out and put back, it would be a new view drawn from scratch).
    """
    missing = tuple(w for w in shown if not any(w is c for c in box.children))
    if missing:
        box.children = (*box.children, *missing)  # appended: the views before it stay
    for child in box.children:
        child.layout.display = None if any(child is w for w in shown) else "none"


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
    """A box that shows one plot (a :class:`PlotView`, created on the first :meth:`draw` and
    redrawn in place after) and its Download menu.

    ``downloads`` is the menu's list of items (SVG, PNG, the data as CSV by default; append to
    it before the first draw, or call ``menu.refresh_items()`` after). ``table``, when set,
    gives the CSV (a frame of what the plot shows); else the figure's points are written.
    Callbacks given to :meth:`on_click` hear the viewer's clicks on points (:class:`Click`).
    """

    def __init__(self, name: str, stem: str) -> None:
        self.name = name
        self.stem = stem
        self.box = classed(W.VBox(layout=W.Layout(width="100%")), f"ev-{name}", "ev-figure-pane")
        self.widget: PlotView | None = None
        self.menu: DownloadMenu | None = None
        self.table: Callable[[], pd.DataFrame] | None = None
        self._click_callbacks: list[Callable[[Click], None]] = []
        self.downloads = [
            DownloadItem("svg", "SVG (vector: slides, papers)", "svg"),
            DownloadItem("png", "PNG (bitmap)", "png"),
            DownloadItem("csv", "Data (CSV)", "file", self._csv),
        ]

    @property
    def fig(self) -> go.Figure | None:
        """The figure on screen (None before the first draw)."""
        return self.widget.fig if self.widget is not None else None

    def on_click(self, callback: Callable[[Click], None]) -> None:
        """Call ``callback(click)`` when the viewer clicks a point of this pane's plot."""
        self._click_callbacks.append(callback)
        if self.widget is not None:
            self.widget.on_click(callback)

    def _csv(self) -> tuple[str, str, str]:
        if self.table is not None:
            text = self.table().to_csv(index=False)
        else:
            text = figure_csv(self.fig) if self.fig is not None else ""
        return text, "csv", "text/csv"

    def draw(self, fig: go.Figure, stem: str | None = None) -> None:
        """Show ``fig``; ``stem`` names its downloads (the browser adds the date)."""
        self.box.layout.display = None
        # A figure that knows its narrowest width (the forest's measured columns) never gets
        # less: a neighbour wraps below it, or the page scrolls, instead of its text clipping.
        self.box.layout.min_width = narrowest(fig)
        self.stem = stem or self.stem
        if self.menu is not None:
            self.menu.stem = self.stem
        if self.widget is not None:
            self.widget.draw(fig, export_config(self.stem, "svg"))
            return
        self.widget = plot_view(fig, self.stem)
        for callback in self._click_callbacks:
            self.widget.on_click(callback)
        self.menu = DownloadMenu(self.downloads, self.stem)
        self.box.children = (self.menu, self.widget)

    def hide(self) -> None:
        """Nothing to show (a fresh page would have no plot here): hide the box, keeping the
        plot's view for the next :meth:`draw` (see :func:`show_only`)."""
        self.box.layout.display = "none"


def narrowest(fig: go.Figure) -> str | None:
    """The CSS width a figure never gets less than (its measured columns, the forest's
    ``layout.meta["min_width"]``), or None when it has none."""
    meta = fig.layout.meta
    width = meta.get("min_width") if isinstance(meta, dict) else None
    return f"{int(width)}px" if width else None


def slug(*parts: str) -> str:
    """A file-name stem from words: "MELD score", "change from baseline" -> "meld-score_..."."""
    words = (re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts)
    return "_".join(w for w in words if w)


__all__ = [
    "BUNDLE_ENV",
    "Click",
    "DownloadItem",
    "DownloadMenu",
    "FigurePane",
    "PlotView",
    "UrlSync",
    "classed",
    "figure_csv",
    "figure_json",
    "jsonable",
    "plot_class",
    "plot_view",
    "show_only",
    "slug",
]
