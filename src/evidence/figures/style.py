"""Shared look of every figure: projector-sized fonts, export buttons, number formatting."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from evidence.figures import validators

# Before any figure module builds a figure (they all import this module): plotly's own
# validator table is 8 MB of Python objects in every process that draws.
validators.install()

FONT_FAMILY = "Arial, Helvetica, sans-serif"  # present everywhere; no web font to fetch
FONT_SIZE = 16  # body text readable from the back of a seminar room
TICK_SIZE = 15
TITLE_SIZE = 20
SMALL_SIZE = 13

#: Plotly's default template pulls colours we do not use; a plain white one keeps contrast high.
#: Ours is plotly's "plotly_white" as far as our figures use it: its whole layout and the
#: defaults of the trace types they draw (TRACE_TYPES). The full template holds defaults for
#: 24 trace types: building it imports every trace class (about 100 modules and 6 MB in each
#: dashboard kernel), and every new plot carries it to the browser.
TEMPLATE = "evidence_white"
SOURCE_TEMPLATE = "plotly_white"
TRACE_TYPES = ("scatter", "bar", "heatmap")


def template_name() -> str:
    """The name of our template, registered with plotly on first use."""
    import plotly.io as pio

    if TEMPLATE not in pio.templates:
        pio.templates[TEMPLATE] = _template()
    return TEMPLATE


def _template() -> Any:
    import json
    import pkgutil

    import plotly.graph_objects as go
    import plotly.io as pio

    try:  # plotly's own file, read without building the whole template
        raw = pkgutil.get_data("plotly", f"package_data/templates/{SOURCE_TEMPLATE}.json")
        spec = json.loads(raw or b"{}")
    except (OSError, ValueError):
        spec = {}
    if not spec.get("layout"):  # another plotly layout of files: the whole template
        spec = pio.templates[SOURCE_TEMPLATE].to_plotly_json()
    spec["data"] = {k: v for k, v in spec.get("data", {}).items() if k in TRACE_TYPES}
    return go.layout.Template(spec)


def export_config(filename: str, fmt: str = "svg") -> dict[str, Any]:
    """Plotly config: modebar download as SVG (vector, for slides and papers) or PNG at 2x.

    The modebar's camera button exports in ``fmt``; both formats stay one click away because
    ``toImage`` is also offered by the plotly.js context of every figure. No button sends the
    figure or its data anywhere (an offline journal-club tool must never offer it).
    """
    return {
        "displaylogo": False,
        "responsive": True,
        # plotly.js 3 dropped the Chart Studio link buttons (plotly.py warns on their keys);
        # the send-to-cloud switch is the one left to turn off.
        "showSendToCloud": False,
        "toImageButtonOptions": {"format": fmt, "filename": filename, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }


def base_layout(title: str, subtitle: str | list[str] = "", height: int = 500) -> dict[str, Any]:
    """Layout keys every figure sets (and resets on update, so in-place updates never leak).
    A subtitle given as lines is written one line under the other (plotly never wraps)."""
    text = f"<b>{esc(title)}</b>"
    lines = [subtitle] if isinstance(subtitle, str) else subtitle
    for line in filter(None, lines):
        text += f"<br><span style='font-size:{SMALL_SIZE + 1}px'>{esc(line)}</span>"
    return {
        "template": template_name(),
        "title": {"text": text, "x": 0.0, "xanchor": "left", "font": {"size": TITLE_SIZE}},
        "font": {"family": FONT_FAMILY, "size": FONT_SIZE, "color": "#111111"},
        "height": height,
        "autosize": True,
        "hoverlabel": {"font": {"size": SMALL_SIZE + 1, "family": FONT_FAMILY}, "align": "left"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "showlegend": False,
        "annotations": [],
        "shapes": [],
    }


def esc(text: object) -> str:
    """Escape data for plotly's HTML-like text (labels, hover): data never becomes markup."""
    return html.escape(str(text), quote=False)


def fmt(x: float, digits: int = 2) -> str:
    """A number for people: fixed digits, a real minus sign, 'NA' for missing."""
    if x is None or not math.isfinite(float(x)):
        return "NA"
    if abs(x) >= 1000:
        return f"{x:,.0f}".replace("-", "\u2212")
    return f"{x:.{digits}f}".replace("-", "\u2212")


def fmt_p(p: float) -> str:
    """A p-value as a phrase: "p = 0.045", "p < 0.001" (never "p = < 0.001"), "p = NA"."""
    if p is None or not math.isfinite(float(p)):
        return "p = NA"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_n(n: float) -> str:
    return "n not reported" if n is None or not np.isfinite(n) else f"n={int(n)}"


def vline(x: float, colour: str, dash: str, layer: str | None = None) -> dict[str, Any]:
    """A vertical line across the plot area at ``x`` (an effect, the null), as a layout shape."""
    shape: dict[str, Any] = {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"color": colour, "width": 1.5, "dash": dash},
    }
    if layer is not None:
        shape["layer"] = layer
    return shape


def trace(kind: str, **props: Any) -> dict[str, Any]:
    """A trace as a plain dict (validated once, by the figure or the widget that shows it)."""
    return {"type": kind, **props}


def figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> Any:
    """A plotly Figure built without per-element validation.

    Validating a few thousand colours, symbols and hover strings one by one costs plotly about
    half a second; our figures are built from validated frames, the dashboard sends them to
    plotly.js as they are (evidence.app.widgets.PlotView), and the tests re-validate every
    figure (``go.Figure(fig.to_plotly_json())``).
    """
    import plotly.graph_objects as go
    import plotly.io as pio

    template = layout.pop("template", None) or template_name()
    fig = go.Figure(data=data, layout=layout, _validate=False)
    fig.layout.template = pio.templates[template]  # an object, as a validated figure has
    return fig
