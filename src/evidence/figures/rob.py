"""Risk-of-bias figures in the style reviewers know from robvis.

- :func:`traffic_light_plot`: one row per study, one column per domain plus the overall
  judgement, one panel per tool (RoB 2, ROBINS-I, and "not applicable" for uncontrolled series
  and animal studies).
- :func:`summary_plot`: for each domain, the share of weight (patients, or meta-analysis
  weights) at each judgement, as stacked horizontal bars.

Colour-blind safe (Okabe-Ito blue, yellow and vermillion, a dark red for critical, grey for "no
information"), and never colour alone: every cell carries robvis' symbol (+, -, X, !, ?) and
every bar a fill pattern. "Not applicable" is drawn as an open cell marked NA.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from evidence.appraisal.schema import ALL_DOMAINS, DOMAINS, NO_TOOL, TOOLS
from evidence.figures.palette import ROB_COLOURS, ROB_SYMBOLS, ROB_TEXT_COLOURS
from evidence.figures.style import SMALL_SIZE, base_layout, esc

#: Judgements from least to most severe, "no information" and "not applicable" last.
ORDER = (
    "low",
    "some concerns",
    "moderate",
    "high",
    "serious",
    "critical",
    "no information",
    "not applicable",
)
# The palette is shared with the forest plot's risk-of-bias column.
COLOURS = ROB_COLOURS
TEXT_COLOURS = ROB_TEXT_COLOURS
SYMBOLS = ROB_SYMBOLS
PATTERNS = {
    "low": "",
    "some concerns": "/",
    "moderate": "/",
    "high": "x",
    "serious": "x",
    "critical": "+",
    "no information": ".",
    "not applicable": "",
}
TOOL_TITLES = {
    "RoB 2": "RoB 2 (randomised trials)",
    "ROBINS-I": "ROBINS-I (non-randomised comparisons)",
    NO_TOOL: "Not applicable (uncontrolled series, animal studies)",
}
_ROW_PX = 30


def _label(judgement: str) -> str:
    return judgement[0].upper() + judgement[1:]


def traffic_light_plot(
    rob: pd.DataFrame,
    tools: Sequence[str] | None = None,
    title: str = "Risk of bias by study and domain",
) -> go.Figure:
    """robvis' traffic-light plot from the frame of :func:`evidence.appraisal.rob.load`.

    Needs columns label, tool, domain, judgement; rationale and basis, when present, go into
    the hover text. ``tools`` picks and orders the panels (default: every tool present).
    """
    present = [t for t in TOOLS if t in set(rob["tool"])]
    tools = [t for t in (tools or present) if t in present]
    counts = [max(rob.loc[rob["tool"] == t, "label"].nunique(), 1) for t in tools]
    fig = make_subplots(
        rows=max(len(tools), 1),
        cols=1,
        row_heights=[c + 2 for c in counts] or [1],
        vertical_spacing=0.08 if len(tools) > 1 else 0.0,
        subplot_titles=[TOOL_TITLES.get(t, t) for t in tools],
    )
    shown: set[str] = set()
    for row, tool in enumerate(tools, start=1):
        part = rob[rob["tool"] == tool]
        domains = list(DOMAINS[tool])
        studies = list(dict.fromkeys(part["label"]))
        for judgement in ORDER:
            cells = part[part["judgement"] == judgement]
            if cells.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=[_domain_tick(d) for d in cells["domain"]],
                    y=list(cells["label"]),
                    mode="markers+text",
                    marker={
                        "size": 24,
                        "color": COLOURS[judgement],
                        "symbol": "circle",
                        "line": {"color": "#444444", "width": 1},
                    },
                    text=[SYMBOLS[judgement]] * len(cells),
                    textfont={
                        "color": TEXT_COLOURS.get(judgement, "#000000"),
                        "size": SMALL_SIZE,
                    },
                    textposition="middle center",
                    name=f"{SYMBOLS[judgement]} {_label(judgement)}",
                    legendgroup=judgement,
                    showlegend=judgement not in shown,
                    hovertext=[_hover(r, tool) for r in cells.itertuples(index=False)],
                    hoverinfo="text",
                ),
                row=row,
                col=1,
            )
            shown.add(judgement)
        fig.update_xaxes(
            categoryorder="array",
            categoryarray=[_domain_tick(d) for d in domains],
            side="top",
            showgrid=False,
            zeroline=False,
            fixedrange=True,
            row=row,
            col=1,
        )
        fig.update_yaxes(
            categoryorder="array",
            categoryarray=list(reversed(studies)),
            showgrid=False,
            zeroline=False,
            fixedrange=True,
            automargin=True,
            row=row,
            col=1,
        )
    # Panel titles above the domain ticks (plotly centres them on the tick row otherwise).
    fig.for_each_annotation(
        lambda a: a.update(x=0, xanchor="left", yshift=30, font={"size": SMALL_SIZE + 2})
    )
    caption_lines = [
        esc(f"{t} {d}: {name}")
        for t in tools
        if t != NO_TOOL
        for d, name in DOMAINS[t].items()
        if d != "overall"
    ]
    caption = "<br>".join(
        "; ".join(caption_lines[i : i + 3]) for i in range(0, len(caption_lines), 3)
    )
    lines = (len(caption_lines) + 2) // 3
    height = 160 + _ROW_PX * (sum(counts) + 3 * len(tools)) + 18 * lines
    layout = base_layout(
        title,
        "Symbols as in robvis: + low, \u2212 some concerns or moderate, "
        "X high or serious, ! critical, ? no information",
        height=height,
    )
    layout["showlegend"] = True
    layout["legend"] = {"orientation": "h", "y": -0.02, "yanchor": "top", "x": 0}
    layout["margin"] = {"l": 10, "r": 10, "t": 170, "b": 70 + 18 * lines}
    fig.update_layout(**{k: v for k, v in layout.items() if k != "annotations"})
    fig.add_annotation(
        text=caption,
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        yshift=-50,
        xanchor="left",
        yanchor="top",
        showarrow=False,
        align="left",
        font={"size": SMALL_SIZE - 1},
    )
    return fig


def _domain_tick(domain: str) -> str:
    return "Overall" if domain == "overall" else domain


def _hover(row: object, tool: str) -> str:
    data = row._asdict()  # type: ignore[attr-defined]
    domain = data["domain"]
    name = DOMAINS.get(tool, {}).get(domain, domain)
    lines = [
        f"<b>{esc(data['label'])}</b> ({esc(tool)})",
        f"{esc(_domain_tick(domain))}: {esc(name)}",
        f"Judgement: <b>{esc(data['judgement'])}</b>",
    ]
    if data.get("rationale"):
        lines.append(esc(_wrap(str(data["rationale"]))))
    if data.get("basis"):
        lines.append(f"Source: {esc(data['basis'])}")
    return "<br>".join(lines)


def _wrap(text: str, width: int = 70) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) + 1 > width and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines).replace("\n", "<br>")


def summary_plot(
    weights: pd.DataFrame,
    title: str = "Risk of bias across studies",
) -> go.Figure:
    """robvis' weighted summary plot from :func:`evidence.appraisal.rob.summary_weights`.

    One bar per tool and domain (the overall last), split by judgement in percent of the
    domain's weight. ``weights.attrs['weighting']``, when set, is named in the subtitle.
    """
    frame = weights[weights["tool"] != NO_TOOL].copy()
    order = {d: i for i, d in enumerate(ALL_DOMAINS)}
    frame["bar"] = [
        f"{tool} overall" if domain == "overall" else f"{tool} {domain}: {name}"
        for tool, domain, name in zip(
            frame["tool"], frame["domain"], frame["domain_name"], strict=True
        )
    ]
    tool_order = {t: i for i, t in enumerate(TOOLS)}
    frame = frame.sort_values(
        ["tool", "domain"], key=lambda c: c.map(order if c.name == "domain" else tool_order)
    )
    bars = list(dict.fromkeys(frame["bar"]))
    fig = go.Figure()
    for judgement in ORDER:
        part = frame[frame["judgement"] == judgement]
        if part.empty or not (part["share"] > 0).any():
            continue
        fig.add_trace(
            go.Bar(
                y=list(part["bar"]),
                x=list(part["share"]),
                orientation="h",
                name=f"{SYMBOLS[judgement]} {_label(judgement)}",
                marker={
                    "color": COLOURS[judgement],
                    "line": {"color": "#444444", "width": 1},
                    "pattern": {
                        "shape": PATTERNS[judgement],
                        "fgcolor": "#333333",
                        "size": 6,
                        "solidity": 0.25,
                    },
                },
                text=[
                    f"{SYMBOLS[judgement]} {share:.0f}%" if share >= 8 else ""
                    for share in part["share"]
                ],
                textposition="inside",
                insidetextanchor="middle",
                textfont={"color": TEXT_COLOURS.get(judgement, "#000000")},
                customdata=list(zip(part["studies"], part["weight"], strict=True)),
                hovertemplate="%{y}<br>"
                + esc(_label(judgement))
                + ": %{x:.0f}% of the weight (%{customdata[0]} studies)<extra></extra>",
            )
        )
    how = weights.attrs.get("weighting", "")
    layout = base_layout(
        title,
        f"Share of weight at each judgement; weights: {how}" if how else "",
        height=140 + 34 * len(bars),
    )
    layout["showlegend"] = True
    layout["legend"] = {
        "orientation": "h",
        "y": -0.08,
        "yanchor": "top",
        "x": 0,
        "traceorder": "normal",
    }
    layout["barmode"] = "stack"
    layout["xaxis"] = {"range": [0, 100], "ticksuffix": "%", "title": "", "fixedrange": True}
    layout["yaxis"] = {
        "categoryorder": "array",
        "categoryarray": list(reversed(bars)),
        "automargin": True,
        "fixedrange": True,
    }
    layout["margin"] = {"l": 10, "r": 20, "t": 90, "b": 70}
    fig.update_layout(**layout)
    return fig
