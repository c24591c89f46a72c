"""The reference list, formatted by a CSL processor (citeproc-py) rather than by hand.

Studies are turned into CSL-JSON items; the bundled style ``styles/vancouver.csl`` is the
NLM/Vancouver citation-sequence style of the CSL project (CC BY-SA 3.0).

citeproc-py's HTML formatter does not escape the data it formats (a title ``<img onerror=...>``
would come out as markup), so the data's ``& < >`` travel through it as private-use stand-ins
and the output is rebuilt: citeproc's own formatting tags kept, every other character escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import pandas as pd

from evidence.escaping import html_text

STYLES = {"vancouver": "vancouver.csl"}


# Data characters that would be markup, shielded as private-use characters while citeproc runs.
_SHIELD = {"&": "\ue000", "<": "\ue001", ">": "\ue002"}
_UNSHIELD_HTML = {v: html_text(k) for k, v in _SHIELD.items()}
_UNSHIELD_TEXT = {v: k for k, v in _SHIELD.items()}
_PRIVATE = re.compile("[\ue000-\ue002]")
# Exactly the tags citeproc.formatter.html emits (Italic, Bold, Light, Underline, Superscript,
# Subscript, SmallCaps); nothing else in its output is markup.
_CITEPROC_TAG = re.compile(
    r'(</?(?:i|b|l|u|sup|sub)>|<span style="font-variant:small-caps;">|</span>)'
)


def _shield(text: str) -> str:
    text = _PRIVATE.sub("\ufffd", text)  # the data's own private-use characters cannot pose
    return "".join(_SHIELD.get(ch, ch) for ch in text)


def _unshield(text: str, table: dict[str, str]) -> str:
    return "".join(table.get(ch, ch) for ch in text)


def safe_html(formatted: str) -> str:
    """citeproc's HTML for one reference with only its own tags left as markup."""
    parts = _CITEPROC_TAG.split(formatted)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a tag citeproc emitted (data cannot contain '<': it is shielded)
            out.append(part)
        else:  # text: citeproc may have escaped its own terms ('&'); escape all of it once
            out.append(_unshield(html_text(html.unescape(part)), _UNSHIELD_HTML))
    return "".join(out)


def csl_names(author: str) -> list[dict[str, str]]:
    """BibTeX ``Last, First and ...`` (or ``First Last``) -> CSL name objects; ``others`` ends."""
    names = []
    for part in re.split(r"\s+and\s+", author.strip()):
        part = part.strip()
        if not part:
            continue
        if part.lower() == "others":
            names.append({"literal": "et al."})
            break
        if part.startswith("{") and part.endswith("}"):
            names.append({"literal": part[1:-1]})
        elif "," in part:
            family, given = (s.strip() for s in part.split(",", 1))
            names.append({"family": family.strip("{}"), "given": given})
        else:
            *given, family = part.split()
            names.append({"family": family, "given": " ".join(given)})
    return names


def csl_item(study: pd.Series) -> dict[str, object]:
    item: dict[str, object] = {
        "id": study["citekey"],
        "type": "article-journal",
        "title": _plain(study["title"]),
        "author": csl_names(str(study["author"] or "")),
    }
    if _present(study["journal"]):
        item["container-title"] = _plain(study["journal"])
    if _present(study["year"]):
        item["issued"] = {"date-parts": [[int(study["year"])]]}
    for csl, column in (
        ("volume", "volume"),
        ("issue", "number"),
        ("page", "pages"),
        ("DOI", "doi"),
        ("PMID", "pmid"),
    ):
        if _present(study[column]):
            item[csl] = str(study[column]).replace("--", "-")
    return item


def _present(value: object) -> bool:
    return value is not None and value is not pd.NA and str(value) not in ("", "nan", "<NA>")


def _plain(text: object) -> str:
    return re.sub(r"[{}]", "", str(text))


@lru_cache(maxsize=4)
def _style(name: str):
    from citeproc import CitationStylesStyle

    if name not in STYLES:
        raise ValueError(f"unknown citation style {name!r}; expected one of {', '.join(STYLES)}")
    path = resources.files("evidence") / "styles" / STYLES[name]
    with resources.as_file(path) as file:
        return CitationStylesStyle(str(file), validate=False)


def bibliography(
    studies: pd.DataFrame, keys: Iterable[str], style: str = "vancouver", output: str = "html"
) -> list[tuple[str, str]]:
    """(citekey, formatted reference) for ``keys`` in order of first citation."""
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    keys = list(dict.fromkeys(keys))
    by_key = studies.set_index("citekey", drop=False)
    source = CiteProcJSON([_shielded(csl_item(by_key.loc[k])) for k in keys])
    fmt = {"html": formatter.html, "text": formatter.plain}[output]
    bib = CitationStylesBibliography(_style(style), source, fmt)
    for key in keys:
        bib.register(Citation([CitationItem(key)]))
    finish = safe_html if output == "html" else (lambda t: _unshield(t, _UNSHIELD_TEXT))
    # citeproc-py prefixes the citation number; we number the list ourselves.
    return [
        (key, finish(re.sub(r"^\d+\.\s*", "", str(entry))))
        for key, entry in zip(bib.keys, bib.bibliography(), strict=True)
    ]


def _shielded(item: object) -> object:
    """Every string in a CSL item (names included) with its markup characters shielded."""
    if isinstance(item, str):
        return _shield(item)
    if isinstance(item, dict):
        return {k: v if k == "id" else _shielded(v) for k, v in item.items()}
    if isinstance(item, list):
        return [_shielded(v) for v in item]
    return item
