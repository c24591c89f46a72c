"""Before/after forest plot of the pooled estimates that moved between two dataset revisions,
and the self-contained page ``evidence diff --html`` writes (plot + changed studies and numbers;
every data value escaped, a content-security-policy meta tag)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from evidence.escaping import html_text, with_csp
from evidence.figures.palette import GREY, group_colour
from evidence.figures.style import base_layout, esc, fmt

EFFECT_LABELS = {"change": "change from baseline", "control": "versus control"}


def shift_plot(
    pooled: pd.DataFrame, revision: str = "before", *, only_moved: bool = True
) -> go.Figure:
    """One row per pooled estimate: the earlier result (grey, hollow) and the current one.

    Takes :attr:`evidence.changes.ChangeLog.pooled`. Rows are labelled outcome / effect / group;
    an estimate that did not exist on one side is simply absent there.
    """
    rows = pooled[pooled["moved"]] if only_moved else pooled
    rows = rows.reset_index(drop=True)
    labels = [
        f"{r.outcome_label}, {EFFECT_LABELS.get(r.effect, r.effect)}: {r.group}"
        for r in rows.itertuples()
    ]
    fig = go.Figure()
    for side, symbol, dy, colour in (
        ("before", "circle-open", -0.15, None),
        ("after", "square", 0.15, None),
    ):
        est = rows[f"estimate_{side}"].to_numpy(dtype=float)
        lb = rows[f"ci_lb_{side}"].to_numpy(dtype=float)
        ub = rows[f"ci_ub_{side}"].to_numpy(dtype=float)
        ks = rows[f"k_{side}"].to_numpy()
        colours = [GREY if side == "before" else group_colour(g) for g in rows["group"]]
        fig.add_trace(
            go.Scatter(
                x=est,
                y=[i + dy for i in range(len(rows))],
                mode="markers",
                name=esc(revision) if side == "before" else "now",
                marker={
                    "symbol": symbol,
                    "size": 11,
                    "color": colour or colours,
                    "line": {"width": 2, "color": colours},
                },
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": ub - est,
                    "arrayminus": est - lb,
                    "color": GREY if side == "before" else "#333333",
                    "thickness": 1.5,
                    "width": 4,
                },
                hovertext=[
                    f"{esc(label)}<br>{side}: {fmt(e)} (95% CI {fmt(a)} to {fmt(b)}), k={k}"
                    if k and not math.isnan(e)
                    else f"{esc(label)}<br>{side}: no pooled estimate"
                    for label, e, a, b, k in zip(labels, est, lb, ub, ks, strict=True)
                ],
                hoverinfo="text",
            )
        )
    layout = base_layout(
        f"Pooled estimates that moved since {revision}",
        "hollow grey: before; filled: now (REML, 95% CI; ratios on their natural scale)",
        height=max(320, 110 + 46 * len(rows)),
    )
    layout |= {
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.12},
        "yaxis": {
            "tickvals": list(range(len(rows))),
            "ticktext": [esc(t) for t in labels],
            "autorange": "reversed",
            "automargin": True,
        },
        "xaxis": {"title": {"text": "pooled estimate"}, "zeroline": True},
    }
    if rows.empty:
        layout["annotations"] = [
            {
                "text": "No pooled estimate moved.",
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
            }
        ]
    fig.update_layout(layout)
    return fig


def _table(frame: pd.DataFrame, columns: list[str]) -> str:
    if frame.empty:
        return "<p>None.</p>"
    head = "".join(f"<th>{html_text(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html_text(getattr(r, c))}</td>" for c in columns) + "</tr>"
        for r in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = (
    "body{font-family:Arial,Helvetica,sans-serif;margin:2rem auto;max-width:1200px;"
    "padding:0 1rem;color:#111}table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}"
    "th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;"
    "unicode-bidi:plaintext}th{background:#f2f2f2}"
)


def change_page(
    studies: pd.DataFrame, numbers: pd.DataFrame, pooled: pd.DataFrame, revision: str
) -> str:
    """The change log as one HTML page that opens without a server or network: the shift plot,
    then the studies and numbers that changed (the frames of
    :class:`evidence.changes.ChangeLog`)."""
    title = f"Changes since {revision}"
    figure = shift_plot(pooled, revision).to_html(include_plotlyjs=True, full_html=False)
    document = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html_text(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html_text(title)}</h1>{figure}"
        f"<h2>Studies ({len(studies)})</h2>"
        + _table(studies, ["citekey", "change", "detail"])
        + f"<h2>Numbers ({len(numbers)})</h2>"
        + _table(
            numbers,
            [
                "citekey",
                "arm",
                "outcome",
                "quantity",
                "timepoint",
                "statistic",
                "change",
                "before",
                "after",
                "locator",
                "confidence",
            ],
        )
        + "</body></html>"
    )
    return with_csp(document)
