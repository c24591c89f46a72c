"""The dashboard: Studies, Compare, Robustness and Appraisal views in one tabbed layout.

Data flow on a control change: the value is validated (:mod:`evidence.app.state`), the new
:class:`ViewState` asks the compare layer for effects (only when the question changed) and a
pooled result (when the estimator or question changed), a figure function builds a plotly
figure, and :func:`refresh` copies it into the existing ``FigureWidget`` inside one
``batch_update`` - a single message, no new widget, no page re-render.

Nothing here computes a statistic: every number shown comes from :mod:`evidence.compare`,
:mod:`evidence.meta` (through the pooled results), :mod:`evidence.robustness` or
:mod:`evidence.appraisal` (the risk-of-bias filter and column of the Compare view; the
Appraisal tab in :mod:`evidence.app.appraisal_view`). The Robustness and Appraisal views and
the evidence map are built the first time they are shown, so the first page needs only the
forest plot.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable
from copy import deepcopy
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anywidget
import ipywidgets as W
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import traitlets

from evidence.app.controls import SCOPE_LABELS, TAB_TITLES, Controls
from evidence.app.state import (
    DEFAULT,
    FIELDS,
    TABS,
    ViewState,
    coerce,
    parse_query,
    request_query_string,
    to_query,
    update,
)
from evidence.appraisal import rob as rob_module
from evidence.compare import (
    CONFIDENCE_FILTERS,
    DESIGN_FILTERS,
    MEASURE_LABELS,
    OUTCOME_LABELS,
    WINDOWS,
    Pooled,
    Question,
    effects,
    pool,
    summary,
    to_display,
)
from evidence.dataset import Dataset
from evidence.figures.forest import forest_plot
from evidence.figures.style import export_config, fmt, fmt_p
from evidence.schema import (
    BIB_STUDY,
    CELL_GROUPS,
    CONFIDENCES,
    DESIGNS,
    DatasetError,
    split_list,
)

ROOT_ENV = "EVIDENCE_ROOT"
#: Fields of the state that view-only controls set (the rest change the analysis).
VIEW_FIELDS = ("tab", "scope", "section", "tool", "study")
ANALYSIS_FIELDS = tuple(f for f in FIELDS if f not in VIEW_FIELDS)
MAX_TABLE_ROWS = 300  # rows of an HTML table; the rest is counted, not drawn

STYLE = """
<style>
.ev-app { --jp-widgets-font-size: 15px; --jp-widgets-inline-height: 32px;
  --jp-widgets-inline-label-width: 0px; font-size: 16px; color: #111; max-width: 1800px; }
.ev-app h1 { font-size: 26px; margin: 4px 0 2px 0; }
.ev-app .ev-lead { font-size: 16px; color: #333; margin: 0 0 6px 0; }
.ev-sidebar { width: 310px; min-width: 260px; padding: 4px 14px 4px 4px;
  border-right: 1px solid #ddd; }
.ev-label { display: block; font-weight: 600; margin-top: 10px; font-size: 15px; }
/* Sidebar controls: the description above the control (one widget per control, no label
   widgets: fewer widget models for the first page). */
.ev-sidebar .widget-dropdown { flex-direction: column; align-items: stretch; height: auto; }
.ev-sidebar .widget-dropdown > .widget-label { font-weight: 600; margin: 10px 0 2px 0;
  width: auto !important; text-align: left; font-size: 15px; }
.ev-sidebar .widget-dropdown > select { width: 100%; flex: 0 0 auto;
  height: var(--jp-widgets-inline-height); }
.ev-sidebar .widget-slider > .widget-label { font-weight: 600; font-size: 15px; }
.ev-notice-item { background: #FFF3CD; border-left: 5px solid #D55E00; padding: 6px 10px;
  margin: 4px 0; font-size: 15px; }
.ev-error-item { background: #F8D7DA; border-left: 5px solid #D55E00; padding: 6px 10px;
  margin: 4px 0; font-size: 15px; }
.ev-summary ul { margin: 4px 0; padding-left: 22px; }
.ev-summary li { margin-bottom: 6px; line-height: 1.4; }
.ev-summary .ev-method { color: #333; font-size: 15px; }
.ev-table { border-collapse: collapse; font-size: 15px; line-height: 1.35; }
.ev-table th { position: sticky; top: 0; background: #F5F5F5; }
.ev-table th, .ev-table td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left;
  vertical-align: top; }
.ev-table td.ev-num { text-align: right; font-variant-numeric: tabular-nums; }
.ev-scroll { max-height: 560px; overflow: auto; }
.ev-forest { flex: 3 1 880px; min-width: 0; }
.ev-excluded { flex: 1 1 360px; min-width: 320px; padding-left: 8px; }
.ev-figure { width: 100%; }
.ev-link a { font-family: monospace; font-size: 14px; word-break: break-all; }
.ev-muted { color: #555; }
</style>
"""

_URL_SYNC_ESM = """
function render({ model, el }) {
  const apply = () => {
    // Only on a Voila page: never rewrite the address of JupyterLab or another host page.
    if (!document.body || document.body.dataset.voila !== "voila") return;
    const query = model.get("query");
    const url = new URL(window.location.href);
    url.search = query ? "?" + query : "";
    if (url.href !== window.location.href) window.history.replaceState(null, "", url.href);
  };
  model.on("change:query", apply);
  apply();
  // A plot drawn while its tab was still being laid out gets plotly's default width; a window
  // resize event makes every responsive plot re-measure its container.
  const nudge = () => {
    for (const ms of [40, 300]) setTimeout(() => window.dispatchEvent(new Event("resize")), ms);
  };
  model.on("change:resize", nudge);
  setTimeout(nudge, 200);  // and once the first plots are on the page
  // A link to a study's record in this app (data-ev-study, written by the kernel) opens the
  // Studies view in place; the kernel validates the citekey. Other clicks, and a click with a
  // modifier key (new tab: the href is a link to the same view), are left to the browser.
  const open = (event) => {
    const link = event.target.closest ? event.target.closest("a[data-ev-study]") : null;
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const app = el.closest(".ev-app");
    if (!app || !app.contains(link)) return;  // another app on the same page
    event.preventDefault();
    model.send({ open_study: link.dataset.evStudy });
  };
  document.addEventListener("click", open);
  return () => document.removeEventListener("click", open);
}
export default { render };
"""


class UrlSync(anywidget.AnyWidget):
    """Writes the view state into the page's address (history.replaceState), so the address
    bar always holds a link to the current view, and asks plots to re-measure their container
    after a tab change. Invisible; touches the address only on a Voila page. Also reports a
    click on a study link of the app (``{"open_study": citekey}``; validated by the App)."""

    _esm = _URL_SYNC_ESM
    query = traitlets.Unicode("").tag(sync=True)
    resize = traitlets.Int(0).tag(sync=True)


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


# --- figures in place -----------------------------------------------------------------------


BUNDLE_ENV = "EVIDENCE_PLOTLY_BUNDLE"
_BUNDLE_LOADER = """
// plotly's widget code, loaded once per page from the dashboard's server (evidence serve)
const base = (document.body && document.body.dataset.baseUrl) || "/voila/";
const bundle = await import(new URL(base + %s, window.location.href).href);
export default bundle.default;
"""
_figure_classes: dict[str, type[go.FigureWidget]] = {}


def _figure_class() -> type[go.FigureWidget]:
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
        loader = _BUNDLE_LOADER % json.dumps(path)
        _figure_classes[path] = type("ServedFigureWidget", (go.FigureWidget,), {"_esm": loader})
    return _figure_classes[path]


def figure_widget(fig: go.Figure, filename: str, fmt_: str = "svg") -> go.FigureWidget:
    widget = _figure_class()(fig)
    widget._config = export_config(filename, fmt_)
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


def _classed(widget: W.Widget, *names: str) -> W.Widget:
    for name in names:
        widget.add_class(name)
    return widget


def _e(text: object) -> str:
    return html.escape("" if text is None or text is pd.NA else str(text))


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _cell(value: object, missing: str = "not reported") -> str:
    return f"<span class='ev-muted'>{missing}</span>" if _missing(value) else _e(value)


#: Descriptors that hold several values ("portal vein;hepatic artery"), from the schema.
LIST_FIELDS = frozenset(name for name, spec in BIB_STUDY.items() if spec.kind == "vocab_list")


def _list_cell(value: object) -> str:
    """A multi-valued field ("peripheral vein;portal vein") as the reader writes it."""
    if _missing(value):
        return _cell(value)
    return _e(", ".join(split_list(str(value))))


def _items(lines: list[str], cls: str = "ev-notice-item") -> str:
    return "".join(f"<div class='{cls}'>{_e(line)}</div>" for line in lines)


# --- the analysis, cached -------------------------------------------------------------------


def load_rob(data: Dataset) -> tuple[pd.DataFrame, str]:
    """``data/rob.csv`` as a frame, and a notice when it cannot be used (then empty).

    A dataset without the file is valid (no risk-of-bias column, the filter keeps everything);
    a file with errors must not take the dashboard down: the notice says to run the validator.
    """
    empty = pd.DataFrame(columns=list(rob_module.COLUMNS))
    try:
        return rob_module.load(data.root, data), ""
    except DatasetError as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        return empty, (
            f"data/rob.csv has {len(errors)} error(s), so risk of bias is not shown; "
            "run `evidence validate` to see them."
        )


class Analysis:
    """Effects and pooled results, computed once per question, risk-of-bias filter and
    estimator (small LRU); the risk-of-bias records, loaded once."""

    def __init__(self, data: Dataset, size: int = 24) -> None:
        self.data = data
        self.size = size
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        lines = data.outcomes["source_line"].astype(int).tolist()
        self._locator = dict(zip(lines, data.outcomes["locator"], strict=True))
        self.rob, self.rob_problem = load_rob(data)
        self._rob_columns: pd.DataFrame | None = None

    @property
    def rob_columns(self) -> pd.DataFrame:
        """Risk-of-bias columns of every study (tool, domains, overall) for the forest plot."""
        if self._rob_columns is None:
            self._rob_columns = rob_module.forest_columns(self.rob, self.data.studies["citekey"])
        return self._rob_columns

    def _get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        value = make()
        self._cache[key] = value
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return value

    def effects(self, q: Question, rob: str = "all") -> pd.DataFrame:
        """The question's effects; studies the risk-of-bias filter ``rob`` leaves out are
        marked (not included, with the reason), never dropped."""
        return self._get(
            ("effects", q, rob),
            lambda: rob_module.filter_effects(
                self._get(("effects", q), lambda: self._with_locators(effects(self.data, q))),
                self.rob,
                rob,
            ),
        )

    def pooled(self, q: Question, method: str, test: str, rob: str = "all") -> Pooled:
        return self._get(
            ("pool", q, method, test, rob), lambda: pool(self.effects(q, rob), q, method, test)
        )

    def cached(self, key: Hashable, make: Callable[[], Any]) -> Any:
        return self._get(key, make)

    def _with_locators(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add where each effect's numbers were read ("Table 2; abstract") for hover text."""
        found = []
        for sources in frame["sources"]:
            lines = re.findall(r"\d+", str(sources).partition(":")[2])
            locs = dict.fromkeys(self._locator.get(int(x), "") for x in lines)
            found.append("; ".join(loc for loc in locs if loc))
        return frame.assign(locators=found)


# --- Compare ----------------------------------------------------------------------------------


class CompareView:
    """Forest plot, plain-language summary, heterogeneity table and the excluded rows."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.forest: go.FigureWidget | None = None
        self.forest_box = _classed(W.VBox(), "ev-forest")
        self.summary = _classed(W.HTML(), "ev-summary")
        self.heterogeneity = _classed(W.HTML(), "ev-heterogeneity")
        self.excluded = _classed(W.HTML(), "ev-excluded")
        self.box = W.VBox(
            [
                W.HBox(
                    [self.forest_box, self.excluded],
                    layout=W.Layout(flex_flow="row wrap", width="100%"),
                ),
                self.summary,
                self.heterogeneity,
            ],
            layout=W.Layout(width="100%"),
        )
        self.pooled: Pooled | None = None

    def update(self, state: ViewState, export: str) -> None:
        q = state.question()
        pooled = self.analysis.pooled(q, state.estimator, state.test, state.rob)
        self.pooled = pooled
        label = rob_module.ROB_FILTERS[state.rob][0]
        left_out = int(pooled.effects.attrs.get("rob_left_out", 0))
        note = ""
        if state.rob != "all":
            note = f"{label} ({left_out} {'arm' if left_out == 1 else 'arms'} left out)"
        fig = forest_plot(pooled, rob=self.analysis.rob_columns, filter_note=note)
        if self.forest is None:
            self.forest = figure_widget(fig, "forest-plot", export)
            self.forest_box.children = (self.forest,)
        else:
            refresh(self.forest, fig)
        rob_lines = self.analysis.cached(  # per question and filter, not per estimator
            ("rob_lines", q, state.rob), lambda: rob_module.filter_lines(pooled.effects)
        )
        self.summary.value = self._summary(pooled, label, rob_lines)
        self.heterogeneity.value = self._heterogeneity(pooled)
        self.excluded.value = self._excluded(pooled.effects)

    @staticmethod
    def _summary(pooled: Pooled, rob_label: str = "", rob_lines: list[str] | None = None) -> str:
        q = pooled.question
        lines = summary(pooled)
        lines[-1:-1] = rob_lines or []  # what the risk-of-bias filter did, before the caveat
        sentences = "".join(f"<li>{_e(s)}</li>" for s in lines)
        test = "Knapp-Hartung (t) intervals" if pooled.test == "knha" else "z (Wald) intervals"
        method = (
            f"Computed with the {_e(pooled.method)} estimator of \u03c4\u00b2 and {test}; "
            f"95% prediction intervals where a group has at least 3 study arms. Effect: "
            f"{_e(MEASURE_LABELS[q.measure])}, {_e(WINDOWS[q.window][0])}, "
            f"{_e(DESIGN_FILTERS[q.design][0])}, {_e(CONFIDENCE_FILTERS[q.confidence][0])}"
            + (f", risk of bias: {_e(rob_label)}" if rob_label else "")
            + (
                f", pre-post correlation r = {q.ri:g} where changes come from levels"
                if q.effect == "change" and not q.binary
                else ""
            )
            + "."
        )
        return (
            f"<h3>What this shows: {_e(OUTCOME_LABELS[q.outcome])}</h3>"
            f"<ul>{sentences}</ul><p class='ev-method'>{method}</p>"
        )

    @staticmethod
    def _heterogeneity(pooled: Pooled) -> str:
        measure = pooled.question.measure
        rows = []
        results = [(g, r) for g, r in pooled.groups.items()]
        if pooled.overall is not None and sum(r is not None for _, r in results) >= 2:
            results.append(("All groups (across studies)", pooled.overall))
        for group, r in results:
            if r is None:
                rows.append(
                    f"<tr><td>{_e(group)}</td><td class='ev-num'>0</td>"
                    "<td colspan='5' class='ev-muted'>no usable numbers</td></tr>"
                )
                continue
            est, lb, ub = (float(to_display(measure, v)) for v in (r.estimate, r.ci_lb, r.ci_ub))
            pi = "needs k \u2265 3"
            if r.k >= 3 and math.isfinite(r.pi_lb):
                plo, phi = (float(to_display(measure, v)) for v in (r.pi_lb, r.pi_ub))
                pi = f"{fmt(plo)} to {fmt(phi)}"
            het = "\u2014"
            if r.k > 1:
                het = f"{fmt(r.q)} (df {fmt(r.q_df, 0)}, {fmt_p(r.q_pval)})"
            rows.append(
                f"<tr><td>{_e(group)}</td><td class='ev-num'>{r.k}</td>"
                f"<td class='ev-num'>{fmt(est)} [{fmt(lb)}, {fmt(ub)}]</td>"
                f"<td class='ev-num'>{pi}</td>"
                f"<td class='ev-num'>{fmt(r.tau2, 3) if r.k > 1 else chr(0x2014)}</td>"
                f"<td class='ev-num'>{fmt(r.i2, 0) + '%' if r.k > 1 else chr(0x2014)}</td>"
                f"<td class='ev-num'>{het}</td></tr>"
            )
        sub = pooled.subgroups
        test = "Test for subgroup differences: needs two groups with numbers."
        if sub is not None and math.isfinite(sub.q_between):
            test = (
                f"Test for subgroup differences (across studies, not randomised): Q = "
                f"{fmt(sub.q_between)}, df = {fmt(sub.q_between_df, 0)}, "
                f"{fmt_p(sub.q_between_pval)}."
            )
        return (
            "<h3>Heterogeneity</h3><table class='ev-table'><thead><tr><th>group</th><th>k</th>"
            "<th>estimate [95% CI]</th><th>95% prediction interval</th><th>\u03c4\u00b2</th>"
            "<th>I\u00b2</th><th>Q (df, p)</th></tr></thead><tbody>"
            + "".join(rows)
            + f"</tbody></table><p>{_e(test)}</p>"
        )

    @staticmethod
    def _excluded(frame: pd.DataFrame) -> str:
        out = frame[~frame["included"]]
        head = (
            f"<h3>Not in the plot ({len(out)} of {len(frame)} study arms)</h3>"
            "<p class='ev-muted'>Every arm of the chosen groups is listed; the reason says why "
            "it has no effect here.</p>"
        )
        if out.empty:
            return head + "<p>None: every arm has usable numbers.</p>"
        rows = "".join(
            f"<tr><td>{_e(r.label)}</td><td>{_e(r.group)}</td><td>{_e(r.arm)}</td>"
            f"<td>{_e(r.design)}</td><td>{_e(r.reason)}</td></tr>"
            for r in out.head(MAX_TABLE_ROWS).itertuples()
        )
        more = len(out) - MAX_TABLE_ROWS
        tail = f"<p class='ev-muted'>and {more} more arms not shown.</p>" if more > 0 else ""
        return (
            head + "<div class='ev-scroll'><table class='ev-table'><thead><tr><th>study</th>"
            "<th>group</th><th>arm</th><th>design</th><th>reason</th></tr></thead><tbody>"
            + rows
            + "</tbody></table></div>"
            + tail
        )


# --- Robustness -------------------------------------------------------------------------------


class RobustnessView:
    """Estimator grid, leave-one-out, cumulative and funnel plots for one scope of studies."""

    def __init__(self, analysis: Analysis, on_scope: Callable[[Any], None]) -> None:
        self.analysis = analysis
        self.scope = _classed(
            W.Dropdown(
                options=[(SCOPE_LABELS[s], s) for s in SCOPE_LABELS],
                description="Studies pooled:",
                style={"description_width": "initial"},
                layout=W.Layout(width="420px"),
            ),
            "ev-scope",
        )
        self._quiet = False
        self.scope.observe(
            lambda change: None if self._quiet else on_scope(change["new"]), names="value"
        )
        self.summary = _classed(W.HTML(), "ev-robustness-summary")
        self.boxes = {
            name: _classed(W.VBox(layout=W.Layout(width="100%")), f"ev-{name}")
            for name in ("grid", "loo", "cumulative", "funnel")
        }
        self.figures: dict[str, go.FigureWidget] = {}
        self.box = W.VBox([self.scope, self.summary, *self.boxes.values()])
        self.built_for: tuple | None = None

    def update(self, state: ViewState, export: str) -> None:
        key = (state.question(), state.estimator, state.test, state.scope, state.rob)
        if key == self.built_for:
            return
        from evidence import robustness as R
        from evidence.figures.funnel import funnel_plot, tests_text
        from evidence.figures.sensitivity import (
            cumulative_plot,
            estimator_grid_plot,
            leave_one_out_plot,
        )

        q, method, test, scope, rob = key
        self._quiet = True
        self.scope.value = scope
        self._quiet = False
        frame = self.analysis.effects(q, rob)  # the Compare view's risk-of-bias filter applies
        outcome, measure = q.outcome, q.measure

        def cached(name: str, make: Callable[[], Any]) -> Any:
            return self.analysis.cached((name, q, method, test, scope, rob), make)

        ref = cached("reference", lambda: R.reference(frame, scope, method, test))
        grid = cached("grid", lambda: R.estimator_grid(frame, scope, method, test))
        loo = cached("loo", lambda: R.leave_one_out(frame, scope, method, test))
        cum = cached("cumulative", lambda: R.cumulative(frame, scope, method, test))
        fun = cached("funnel", lambda: R.funnel(frame, scope, method, test))
        label = SCOPE_LABELS.get(scope, scope)
        figs = {
            "grid": estimator_grid_plot(grid, measure, label),
            "loo": leave_one_out_plot(loo, ref, measure, outcome, label),
            "cumulative": cumulative_plot(cum, ref, measure, outcome, label),
            "funnel": funnel_plot(fun, outcome),
        }
        for name, fig in figs.items():
            if name in self.figures:
                refresh(self.figures[name], fig)
            else:
                self.figures[name] = figure_widget(fig, f"{name}-plot", export)
                self.boxes[name].children = (self.figures[name],)
        rob_note = ""
        if rob != "all":
            rob_note = (
                f"Risk of bias filter ({rob_module.ROB_FILTERS[rob][0]}), as in the Compare view: "
                f"{frame.attrs.get('rob_left_out', 0)} study arm(s) left out."
            )
        self.summary.value = self._summary(
            ref, grid, loo, cum, fun, tests_text(fun), label, rob_note
        )
        self.built_for = key

    @staticmethod
    def _summary(ref, grid, loo, cum, fun, tests: list[str], label: str, rob_note: str = "") -> str:
        items = [_e(rob_note)] if rob_note else []
        if ref.result is None:
            items.append(f"No model for {label}: {ref.error}.")
        else:
            k = ref.result.k
            words = {
                "lower": "the 95% CI lies below the null",
                "higher": "the 95% CI lies above the null",
                "unclear": "the 95% CI includes the null",
                "n/a": "proportions have no null value",
            }
            items.append(
                f"Reference model ({_e(ref.result.method)}, {_e(ref.result.test)}) on {k} study "
                f"{'arm' if k == 1 else 'arms'} ({_e(label)}): {words.get(ref.conclusion, '')}."
            )
        changed = grid[grid["changes"]]
        fitted = grid[grid["error"] == ""]
        if fitted.empty:
            pass  # nothing to compare: the reference line says why
        elif len(changed):
            models = ", ".join(
                f"{m}/{t}" for m, t in zip(changed["method"], changed["test"], strict=True)
            )
            items.append(
                f"Estimator \u00d7 CI method: {len(changed)} of {len(grid)} models reach a "
                f"different conclusion ({_e(models)})."
            )
        else:
            items.append(
                f"Estimator \u00d7 CI method: all {len(fitted)} models that can be fitted agree."
            )
        if len(loo):
            flips = loo[loo["changes"]]
            who = ", ".join(str(s) for s in flips["study"])
            items.append(
                f"Leave-one-out: {len(flips)} of {len(loo)} omissions change the conclusion"
                + (f" (without {_e(who)})." if len(flips) else ".")
            )
        else:
            items.append(f"Leave-one-out: {_e(loo.attrs.get('reason', 'not available'))}.")
        if fun.few_studies and fun.k:
            items.append(
                f"<b>Small-study tests: only {fun.k} study arms (fewer than 10); Egger's and "
                "Begg's tests are underpowered and cannot rule small-study effects in or out."
                "</b>"
            )
        items += [_e(t) for t in tests]
        return "<h3>How robust is it?</h3><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


# --- Studies ----------------------------------------------------------------------------------


def clinical_studies(data: Dataset) -> pd.DataFrame:
    """The registry's clinical studies (not meta-analyses, not animal studies)."""
    studies = data.studies
    return studies[(studies["kind"] == "study") & (studies["species"] == "human")]


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


class StudiesView:
    """Sortable, filterable study table, evidence map and a detail card for one study."""

    def __init__(self, data: Dataset, on_study: Callable[[Any], None]) -> None:
        self.data = data
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
            _classed(widget, f"ev-filter-{name}")
            widget.observe(lambda _change: self.render_table(), names="value")
        self.count = W.HTML()
        self.table = _classed(W.HTML(), "ev-studies")
        self.map_box = _classed(W.VBox(layout=W.Layout(width="100%")), "ev-map")
        self.map: go.FigureWidget | None = None
        self._map_frame: pd.DataFrame | None = None
        self._quiet = False
        options = [("choose a study\u2026", "")] + [
            (f"{r.label} \u00b7 {r.design}", r.citekey)
            for r in self.table_frame.sort_values(["year", "label"]).itertuples()
        ]
        self.study = _classed(
            W.Dropdown(
                options=options, description="Study", layout=W.Layout(width="520px"), **drop
            ),
            "ev-study",
        )
        self.study.observe(
            lambda change: None if self._quiet else on_study(change["new"]), names="value"
        )
        self.detail = _classed(W.HTML(), "ev-study-detail")
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
                else f"none: {_e(r.no_numbers)}"
                if not _missing(r.no_numbers)
                else "none"
            )
            rows.append(
                f"<tr><td><b>{_e(r.label)}</b></td><td>{_cell(r.design)}</td>"
                f"<td>{_list_cell(r.cell_groups)}</td><td>{_list_cell(r.route)}</td>"
                f"<td>{_cell(r.dose)}</td>"
                f"<td class='ev-num'>{_cell(r.n)}</td><td>{_cell(r.follow_up)}</td>"
                f"<td>{_cell(r.country)}</td><td>{_cell(r.confidence)}</td><td>{numbers}</td></tr>"
            )
        head = "".join(f"<th>{_e(v)}</th>" for v in STUDY_COLUMNS.values())
        self.table.value = (
            f"<div class='ev-scroll'><table class='ev-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )
        if self.map is not None:
            self._draw_map()

    def show(self, state: ViewState, export: str) -> None:
        """Build the map on first show; show the detail of ``state.study``."""
        if self.map is None:
            self._draw_map(export)
        self._quiet = True
        self.study.value = state.study
        self._quiet = False
        self.detail.value = self._detail(state.study)
        if self.map is not None and self._highlight != state.study:
            self._draw_map()

    _highlight = ""

    def _draw_map(self, export: str = "svg") -> None:
        from evidence.figures.evidence_map import evidence_map_plot, map_frame

        if self._map_frame is None:
            self._map_frame = map_frame(self.data.studies, self.data.arms)
        shown = self._map_frame[self._map_frame["citekey"].isin(self.filtered()["citekey"])]
        self._highlight = self.study.value
        fig = evidence_map_plot(shown, highlight=self._highlight or None)
        if self.map is None:
            self.map = figure_widget(fig, "evidence-map", export)
            self.map_box.children = (self.map,)
            for trace in self.map.data:
                trace.on_click(self._clicked)
        else:
            refresh(self.map, fig)

    def _clicked(self, trace: Any, points: Any, _state: Any) -> None:
        indices = list(getattr(points, "point_inds", []) or [])
        if not indices:
            return
        keys = list(trace.customdata or [])
        if 0 <= indices[0] < len(keys):
            self.study.value = keys[indices[0]] if keys[indices[0]] in self.keys else ""

    def _detail(self, key: str) -> str:
        if not key:
            return "<p class='ev-muted'>Choose a study (or click one on the map).</p>"
        s = self.data.studies.set_index("citekey").loc[key]
        links = []
        if not _missing(s["doi"]):
            links.append(
                f"<a href='https://doi.org/{_e(quote(str(s['doi']), safe='/:;()._-'))}' "
                f"target='_blank' rel='noopener noreferrer'>doi:{_e(s['doi'])}</a>"
            )
        if not _missing(s["pmid"]):
            pmid = re.sub(r"\D", "", str(s["pmid"]))
            links.append(
                f"<a href='https://pubmed.ncbi.nlm.nih.gov/{pmid}/' target='_blank' "
                f"rel='noopener noreferrer'>PMID {pmid}</a>"
            )
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
            f"<tr><th>{_e(lbl)}</th><td>{_list_cell(s[f]) if f in LIST_FIELDS else _cell(s[f])}"
            "</td></tr>"
            for f, lbl in fields
        )
        desc += (
            f"<tr><th>descriptors read in</th><td>{_cell(s['source'])} "
            f"(confidence: <b>{_e(s['confidence'])}</b>)</td></tr>"
        )
        arms = self.data.arms[self.data.arms["citekey"] == key]
        arm_rows = "".join(
            f"<tr><td>{_e(a.arm)}</td><td>{_e(a.group)}</td><td class='ev-num'>{_cell(a.n)}</td>"
            f"<td>{_cell(a.n_basis)}</td><td>{_cell(a.locator)}</td><td>{_e(a.confidence)}</td></tr>"
            for a in arms.itertuples()
        )
        numbers = self.data.outcomes[self.data.outcomes["citekey"] == key]
        if numbers.empty:
            why = s["no_numbers"]
            body = f"<p>No outcome numbers: {_e(why) if not _missing(why) else 'not reported'}.</p>"
        else:
            rows = []
            for o in numbers.itertuples():
                converted = ""
                if o.unit_reported != o.unit:
                    converted = f" (reported {fmt(o.value_reported, 3)} {_e(o.unit_reported)})"
                src = _e(o.locator)
                url = str(o.source_url or "")
                if url.startswith(("https://", "http://")):
                    src = f"<a href='{_e(url)}' target='_blank' rel='noopener noreferrer'>{src}</a>"
                rows.append(
                    f"<tr><td>{_e(OUTCOME_LABELS.get(o.outcome, o.outcome))}</td>"
                    f"<td>{_e(o.arm)}</td><td>{_e(o.quantity)}</td><td>{_e(o.timepoint)}</td>"
                    f"<td>{_e(o.statistic)}</td><td class='ev-num'>{fmt(o.value, 3)}</td>"
                    f"<td>{_e(o.unit)}{converted}</td><td class='ev-num'>{_cell(o.n)}</td>"
                    f"<td>{src}</td><td>{_e(o.confidence)}</td>"
                    f"<td>data/outcomes.csv:{int(o.source_line)}</td></tr>"
                )
            body = (
                "<div class='ev-scroll'><table class='ev-table'><thead><tr><th>outcome</th>"
                "<th>arm</th><th>quantity</th><th>time point</th><th>statistic</th><th>value</th>"
                "<th>unit</th><th>n</th><th>locator</th><th>confidence</th><th>line</th></tr>"
                f"</thead><tbody>{''.join(rows)}</tbody></table></div>"
            )
        link_text = (
            " \u00b7 ".join(links) if links else "<span class='ev-muted'>no DOI or PMID</span>"
        )
        return (
            f"<h3>{_e(s['label'])}: {_cell(s['title'])}</h3>"
            f"<p>{_cell(s['author'])}. <i>{_cell(s['journal'])}</i> {_cell(s['year'])}. "
            f"{link_text}</p>"
            f"<table class='ev-table'>{desc}</table>"
            "<h4>Arms</h4><table class='ev-table'><thead><tr><th>arm</th><th>group</th>"
            "<th>n</th><th>n counts</th><th>locator</th><th>confidence</th></tr></thead>"
            f"<tbody>{arm_rows}</tbody></table><h4>Numbers</h4>{body}"
        )


# --- the App ----------------------------------------------------------------------------------


class App:
    """The dashboard. ``App.start()`` in a notebook cell, then ``app.apply_url()``."""

    def __init__(
        self, data: Dataset, state: ViewState = DEFAULT, views: tuple[str, ...] = TABS
    ) -> None:
        self.views = tuple(v for v in TABS if v in views) or TABS
        self.data = data
        self.analysis = Analysis(data)
        self.state = state.with_(tab=state.tab if state.tab in self.views else self.views[0])
        self._quiet = False
        self.export = "svg"
        self.notices: list[str] = []
        self.controls = Controls(self.state)
        self.controls.on_change(self.change)
        self.compare = CompareView(self.analysis)
        # The other views are built when first shown: fewer widgets for the first page.
        self._robustness: RobustnessView | None = None
        self._studies: StudiesView | None = None
        self._appraisal: Any = None  # an AppraisalView (its module is imported on first use)
        self.study_keys = frozenset(clinical_studies(data)["citekey"])
        self.panes = {v: W.VBox(layout=W.Layout(width="100%")) for v in self.views}
        if "compare" in self.panes:
            self.panes["compare"].children = (self.compare.box,)
        self.tabs = _classed(W.Tab(), "ev-tab")
        self.tabs.children = [self.panes[v] for v in self.views]
        for i, tab in enumerate(self.views):
            self.tabs.set_title(i, TAB_TITLES[tab])
        self.tabs.selected_index = self.views.index(self.state.tab)
        self.tabs.observe(self._tab_changed, names="selected_index")
        self.notice = _classed(W.HTML(), "ev-notice")
        self.link = _classed(W.HTML(), "ev-link")
        self.export_choice = _classed(
            W.ToggleButtons(
                options=[("SVG", "svg"), ("PNG", "png")],
                description="Plot download:",
                style={"description_width": "initial", "button_width": "60px"},
                tooltips=["vector, for slides and papers", "bitmap at twice the screen size"],
            ),
            "ev-export",
        )
        self.export_choice.observe(self._export_changed, names="value")
        self.url = UrlSync(layout=W.Layout(height="0px", width="0px"))
        self.url.on_msg(self._url_message)
        header = W.HTML(
            "<h1>Cell therapy for decompensated cirrhosis: what the studies show</h1>"
            "<p class='ev-lead'>Combination (MSC+HSC) versus MSC, HSC and BM-MNC alone, "
            "checked against every study in the dataset. Hover any plot for the numbers and "
            "where they were read.</p>"
        )
        self.sidebar = self.controls.box
        self.widget = _classed(
            W.VBox(
                [
                    W.HTML(STYLE),
                    header,
                    self.notice,
                    W.HBox(
                        [self.link, self.export_choice],
                        layout=W.Layout(
                            flex_flow="row wrap",
                            justify_content="space-between",
                            align_items="center",
                        ),
                    ),
                    W.HBox(
                        [self.sidebar, self.tabs if len(self.views) > 1 else self.tabs.children[0]],
                        layout=W.Layout(width="100%"),
                    ),
                    self.url,
                ],
                layout=W.Layout(width="100%"),
            ),
            "ev-app",
        )
        self.render(set(FIELDS))

    @property
    def robustness(self) -> RobustnessView:
        if self._robustness is None:
            self._robustness = RobustnessView(self.analysis, lambda v: self.change("scope", v))
            if "robustness" in self.panes:
                self.panes["robustness"].children = (self._robustness.box,)
        return self._robustness

    @property
    def studies(self) -> StudiesView:
        if self._studies is None:
            self._studies = StudiesView(self.data, lambda v: self.change("study", v))
            if "studies" in self.panes:
                self.panes["studies"].children = (self._studies.box,)
        return self._studies

    @property
    def appraisal(self) -> Any:
        """The Appraisal view (claims, risk of bias, certainty, flow), built on first use."""
        if self._appraisal is None:
            # Imported here: the appraisal modules and their figures stay out of a kernel
            # until someone opens the tab.
            from evidence.app.appraisal_view import AppraisalView

            self._appraisal = AppraisalView(
                self.analysis,
                self.change,
                study_links=self.study_keys if "studies" in self.views else frozenset(),
            )
            if "appraisal" in self.panes:
                self.panes["appraisal"].children = (self._appraisal.box,)
        return self._appraisal

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

        Invalid values fall back to the defaults; ``self.notices`` (shown) says which."""
        if query is None:
            query = request_query_string()
        state, notices = parse_query(query, self.study_keys)
        self.set_state(state, notices)
        for widget in self.figures():  # the page is drawn from the model state: bring it along
            sync_model(widget)

    def figures(self) -> list[go.FigureWidget]:
        """Every plot built so far."""
        rob, stu, app = self._robustness, self._studies, self._appraisal
        out = [self.compare.forest, stu.map if stu else None]
        out += list(rob.figures.values()) if rob else []
        out += list(app.figures.values()) if app else []
        return [f for f in out if f is not None]

    def change(self, name: str, value: object) -> None:
        """A control changed: validate the value, then show the new state."""
        state, notice = update(self.state, name, value, self.study_keys)
        if notice:
            self.set_state(self.state, [notice])
        else:
            self.set_state(state)

    def set_state(self, state: ViewState, notices: list[str] | None = None) -> None:
        if state.tab not in self.views:
            state = state.with_(tab=self.views[0])
        changed = {f for f in FIELDS if getattr(state, f) != getattr(self.state, f)}
        self.state = state
        self.notices = list(notices or [])
        self._sync_widgets()
        self.render(changed)

    def _sync_widgets(self) -> None:
        """Show the state in every control without reporting the changes back."""
        self.controls.set_state(self.state)
        self._quiet = True
        try:
            self.tabs.selected_index = self.views.index(self.state.tab)
        finally:
            self._quiet = False
        if self._robustness is not None:
            self._robustness._quiet = True
            self._robustness.scope.value = self.state.scope
            self._robustness._quiet = False
        if self._studies is not None:
            self._studies._quiet = True
            self._studies.study.value = self.state.study
            self._studies._quiet = False
        if self._appraisal is not None:
            self._appraisal.show_state(self.state)

    def _tab_changed(self, change: dict) -> None:
        if self._quiet:
            return
        index = change["new"]
        views = self.views
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(views):
            self.change("tab", views[index])
        else:
            self.change("tab", index)  # rejected with a notice

    def _url_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A click on a study link (crafted messages too): validated like any other value."""
        if isinstance(content, dict) and "open_study" in content:
            self.open_study(content["open_study"])

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

    def _export_changed(self, change: dict) -> None:
        value = change["new"]
        if value not in ("svg", "png"):
            self.export_choice.value = self.export
            return
        self.export = value
        rob, stu, app = self._robustness, self._studies, self._appraisal
        for fw in self.figures():
            fw._config = export_config(fw._config["toImageButtonOptions"]["filename"], value)
            sync_model(fw)  # the new views below are drawn from the model state
        # A fresh view reads the new config: re-attach each widget to its box.
        boxes = [
            self.compare.forest_box,
            *([stu.map_box] if stu else []),
            *(rob.boxes.values() if rob else ()),
            *(app.boxes.values() if app else ()),
        ]
        for box in boxes:
            children = box.children
            box.children = ()
            box.children = children

    def render(self, changed: set[str]) -> None:
        """Bring the visible view up to date with ``self.state`` (hidden views wait)."""
        state = self.state
        try:
            analysis_changed = changed & set(ANALYSIS_FIELDS) or self.compare.forest is None
            if "compare" in self.views and analysis_changed:
                self.compare.update(state, self.export)
            if state.tab == "robustness":
                self.robustness.update(state, self.export)
            if state.tab == "studies":
                self.studies.show(state, self.export)
            if state.tab == "appraisal":
                self.appraisal.update(state, self.export)
            # The analysis controls mean nothing on the Studies tab: give the table the room.
            self.sidebar.layout.display = "none" if state.tab == "studies" else None
        except Exception as exc:  # e.g. a model that cannot be fitted: say so, keep the page
            self.notices.append(f"This view cannot be computed: {str(exc)[:300]}")
        if changed & {"tab", "section"}:
            self.url.resize += 1
        problem = self.analysis.rob_problem  # a data problem stays on the page
        self.notice.value = _items(self.notices + ([problem] if problem else []))
        query = to_query(state)
        self.url.query = query
        self.link.value = (
            "<span class='ev-muted'>Link to this view: </span>"
            f"<a href='?{_e(query)}'>?{_e(query) if query else ' (all defaults)'}</a>"
        )


__all__ = ["ANALYSIS_FIELDS", "App", "find_root", "load_rob", "refresh", "sync_model"]
