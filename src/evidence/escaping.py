"""Data never becomes code: one place that escapes dataset text for every output we write.

- :func:`html_text` escapes a value for HTML text or a quoted attribute (the report, the diff
  page), and replaces C0/C1 control characters, which HTML forbids and PDFs paste in.
- :func:`with_csp` puts a content-security-policy meta tag in a finished HTML document: scripts
  run only if their exact text is one we wrote (a sha256 hash each), so even markup that slipped
  past escaping cannot run a script or an event handler. A second line of defence, not the first.
- :func:`spreadsheet_text` makes a text cell inert in Excel/LibreOffice (OWASP's CSV injection
  advice): text starting with ``= + - @``, a tab or a carriage return gets a leading ``'``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re

# C0 controls except tab, newline and carriage return; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def strip_controls(text: str) -> str:
    """``text`` with control characters (other than tab/newline/CR) replaced by U+FFFD."""
    return _CONTROL.sub("\ufffd", text)


def html_text(value: object) -> str:
    """``value`` as HTML text, safe in element content and in a double- or single-quoted
    attribute. ``None`` is the empty string."""
    return html.escape(strip_controls("" if value is None else str(value)), quote=True)


def csp(document: str) -> str:
    """The policy for ``document``: no network, no plugins, no forms; scripts by hash only
    (plotly's inline scripts), no event-handler attributes, no ``javascript:`` URLs."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in dict.fromkeys(_SCRIPT.findall(document))
    )
    return (
        "default-src 'none'; "
        f"script-src {hashes or chr(39) + 'none' + chr(39)}; "
        # plotly sets inline styles and draws with data:/blob: images and fonts
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
        "connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
    )


def with_csp(document: str) -> str:
    """``document`` (a full HTML page with a ``<head>``) with a CSP meta tag as the head's
    first element, before any script it governs."""
    tag = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(csp(document))}">'
    m = re.search(r"<head\b[^>]*>", document, re.IGNORECASE)
    if m is None:
        raise ValueError("not a full HTML document: no <head>")
    return document[: m.end()] + tag + document[m.end() :]


def spreadsheet_text(value: object) -> object:
    """A cell value a spreadsheet shows as the text it is: strings that a spreadsheet would read
    as a formula get a leading single quote; control characters (which also break XLSX) are
    replaced. Anything but a string is returned unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return strip_controls(value)


__all__ = ["csp", "html_text", "spreadsheet_text", "strip_controls", "with_csp"]
