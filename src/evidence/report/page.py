"""The report's HTML: a :class:`Page` that collects sections (plotly.js inlined with the first
figure only), tables whose every data value is escaped, and the document around them."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from evidence import __version__
from evidence.dataset import Dataset
from evidence.escaping import html_text, with_csp


class Page:
    """Collects sections; inlines plotly.js with the first figure only."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self._plotly_included = False
        self._figures = 0

    def heading(self, level: int, text: str, anchor: str | None = None) -> None:
        if anchor:
            self.toc.append((anchor, text))
        attr = f' id="{anchor}"' if anchor else ""
        self.parts.append(f"<h{level}{attr}>{_e(text)}</h{level}>")

    def para(self, text: str, cls: str = "") -> None:
        attr = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{attr}>{_e(text)}</p>")

    def raw(self, markup: str) -> None:
        self.parts.append(markup)

    def figure(self, fig, name: str) -> None:
        from evidence.figures.style import export_config

        self._figures += 1
        self.parts.append(
            '<div class="figure">'
            + fig.to_html(
                full_html=False,
                include_plotlyjs=not self._plotly_included,
                config=export_config(name),
                div_id=f"figure-{self._figures}",
            )
            + "</div>"
        )
        self._plotly_included = True

    def table(self, frame: pd.DataFrame, cls: str = "data") -> None:
        self.parts.append(table_html(frame, cls))


_e = html_text  # every data value goes through the one escaping helper


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return '<td class="nr">not reported</td>'
    if isinstance(value, float):
        return f"<td>{value:.3g}</td>" if abs(value) < 1e4 else f"<td>{value:,.0f}</td>"
    return f"<td>{_e(value)}</td>"


def table_html(frame: pd.DataFrame, cls: str = "data") -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in frame.itertuples(index=False)
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_CSS = """
body{font-family:Arial,Helvetica,sans-serif;margin:2rem auto;max-width:1200px;color:#111;
 line-height:1.45;padding:0 1rem}
h1{font-size:1.8rem}h2{margin-top:2.5rem;border-bottom:2px solid #0072B2;padding-bottom:.2rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem;width:100%}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.nr{color:#6e6e6e;font-style:italic}
p.summary{background:#f7f9fc;border-left:4px solid #0072B2;padding:.4rem .8rem;margin:.3rem 0}
p.note{color:#6e6e6e}.figure{margin:1rem 0}details{margin:.5rem 0}
nav ul{columns:2}ol.refs li{margin:.3rem 0}.meta{color:#444;font-size:.9rem}
td,li,p{unicode-bidi:plaintext}
.verdict{display:inline-block;padding:0 .5rem;border-radius:.6rem;border:1px solid #444;
 font-weight:bold;white-space:nowrap}summary{cursor:pointer}
"""


def document(page: Page, data: Dataset, settings: str) -> str:
    """The whole HTML document: header with ``settings`` (their description), contents, sections."""
    today = dt.date.today().isoformat()
    toc = "".join(f'<li><a href="#{a}">{_e(t)}</a></li>' for a, t in page.toc)
    head = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Cell therapy for decompensated cirrhosis: evidence report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>Cell therapy for decompensated cirrhosis: evidence report</h1>"
        f'<p class="meta">Generated {today} by evidence {__version__} from '
        f"{_e(data.root.resolve().name)}. Settings: {_e(settings)}. "
        "Every number comes from the dataset with its locator and confidence; "
        "values a study does not report are shown as \u201cnot reported\u201d.</p>"
        f"<nav><ul>{toc}</ul></nav>"
    )
    return with_csp(head + "\n".join(page.parts) + "</body></html>")
