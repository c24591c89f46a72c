"""HTML building blocks of the dashboard (and of anything else that writes markup).

Every value from the data goes through :func:`escape` before it becomes markup; links are
http(s) only. The stylesheets and scripts are package files under ``assets/``, read once.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

import pandas as pd

from evidence.schema import BIB_STUDY, split_list

#: Descriptors that hold several values ("portal vein;hepatic artery"), from the schema.
LIST_FIELDS = frozenset(name for name, spec in BIB_STUDY.items() if spec.kind == "vocab_list")
_URL = re.compile(r"(https?://[^\s;]+)")


@cache
def asset(name: str) -> str:
    """The text of ``evidence/app/assets/<name>`` (a stylesheet or a script)."""
    return resources.files("evidence.app").joinpath("assets", name).read_text(encoding="utf-8")


def style(name: str) -> str:
    """A ``<style>`` element holding the stylesheet ``assets/<name>``."""
    return f"<style>\n{asset(name)}</style>"


def escape(text: object) -> str:
    """``text`` as markup-safe text; None and pd.NA become ''."""
    return html.escape("" if text is None or text is pd.NA else str(text))


def is_missing(value: object) -> bool:
    """None, NA, NaN or a blank string."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def text(value: object) -> str:
    """Escaped text; empty for a missing value."""
    return "" if is_missing(value) else escape(value)


def cell(value: object, missing: str = "not reported") -> str:
    """Escaped text, or ``missing`` in grey for a missing value."""
    return f"<span class='ev-muted'>{missing}</span>" if is_missing(value) else escape(value)


def list_cell(value: object) -> str:
    """A multi-valued field ("peripheral vein;portal vein") as the reader writes it."""
    if is_missing(value):
        return cell(value)
    return escape(", ".join(split_list(str(value))))


def items(lines: Iterable[str], cls: str = "ev-notice-item") -> str:
    """Each line (plain text) as one notice box."""
    return "".join(f"<div class='{cls}'>{escape(line)}</div>" for line in lines)


def table(head: Iterable[str], rows: Iterable[Iterable[str]], cls: str = "") -> str:
    """A table of cells that are already markup (escape before); ``head`` is plain text."""
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f"<table class='ev-table {cls}'><thead><tr>{header}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def badge(label: str, symbol: str, background: str, ink: str) -> str:
    """A coloured badge with its symbol and its word (never colour alone)."""
    return (
        f"<span class='ev-badge' style='background:{escape(background)};color:{escape(ink)}'>"
        f"{escape(symbol)} {escape(label)}</span>"
    )


def external_link(href: str, label: str) -> str:
    """A link that opens in a new tab (``href`` must already be an http(s) URL)."""
    return f"<a href='{escape(href)}' target='_blank' rel='noopener noreferrer'>{escape(label)}</a>"


def linkify(value: object) -> str:
    """Escaped text whose http(s) URLs become links that open in a new tab."""
    if is_missing(value):
        return ""
    parts = _URL.split(str(value))
    # the split keeps the matched URLs at odd positions
    return "".join(external_link(p, p) if i % 2 else escape(p) for i, p in enumerate(parts))


__all__ = [
    "LIST_FIELDS",
    "asset",
    "badge",
    "cell",
    "escape",
    "external_link",
    "is_missing",
    "items",
    "linkify",
    "list_cell",
    "style",
    "table",
    "text",
]
