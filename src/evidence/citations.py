"""The reference list, formatted by a CSL processor (citeproc-py) rather than by hand.

Studies are turned into CSL-JSON items; the bundled style ``styles/vancouver.csl`` is the
NLM/Vancouver citation-sequence style of the CSL project (CC BY-SA 3.0).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import pandas as pd

STYLES = {"vancouver": "vancouver.csl"}


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
    source = CiteProcJSON([csl_item(by_key.loc[k]) for k in keys])
    fmt = {"html": formatter.html, "text": formatter.plain}[output]
    bib = CitationStylesBibliography(_style(style), source, fmt)
    for key in keys:
        bib.register(Citation([CitationItem(key)]))
    # citeproc-py prefixes the citation number; we number the list ourselves.
    return [
        (key, re.sub(r"^\d+\.\s*", "", str(entry)))
        for key, entry in zip(bib.keys, bib.bibliography(), strict=True)
    ]
