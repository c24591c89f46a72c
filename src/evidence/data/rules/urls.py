"""Addresses a reader can follow: a URL in references.bib (``url``, ``source``) or
data/outcomes.csv (``source_url``) that is a bare IP address or a search page is a warning. An
IP address breaks when the machine moves; a search page shows whatever the search finds today;
neither names the record the number was read in."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlsplit

from evidence.data.fields import BIB_FILE
from evidence.data.problems import Problem, Reporter
from evidence.data.tables import Table
from evidence.registry import Registry

#: A URL inside free text ("abstract https://...; Table 1 https://...").
URL = re.compile(r"https?://[^\s;]+", re.IGNORECASE)
#: Query parameters that carry a search (bvsalud's ``q=au:"Hollyman, Dan"``, PubMed's ``term``).
SEARCH_PARAMETERS = frozenset({"q", "query", "term", "search", "searchterm", "lookfor", "keyword"})
_SEARCH_PATH = re.compile(r"/(search|results)(/|\.|$)", re.IGNORECASE)
EXPECTED = (
    "the study's own page: https://doi.org/<DOI>, https://pubmed.ncbi.nlm.nih.gov/<PMID>/ or "
    "https://pmc.ncbi.nlm.nih.gov/articles/<PMCID>/"
)


def url_kind(url: str) -> str:
    """'an IP address' or 'a search page' for an address that names no record, else ''."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:  # a malformed address (e.g. an unclosed IPv6 bracket)
        return ""
    try:
        ipaddress.ip_address(host)
        return "an IP address"
    except ValueError:
        pass
    names = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    if names & SEARCH_PARAMETERS or _SEARCH_PATH.search(parts.path):
        return "a search page"
    return ""


def link_problems(registry: Registry, outcomes: Table) -> list[Problem]:
    """A warning per bib field, and per citekey and address of data/outcomes.csv
    (:func:`column_problems`)."""
    bib = Reporter(BIB_FILE)
    for entry in registry.entries:
        for field in ("url", "source"):
            for url in URL.findall(entry.get(field)):
                kind = url_kind(url)
                if kind:
                    bib.warning(
                        entry.line_of(field), entry.key, field, _message(url, kind), EXPECTED
                    )
    return bib.problems + column_problems(outcomes, "source_url")


def column_problems(table: Table, column: str, key_column: str | None = "citekey") -> list[Problem]:
    """A warning per key and address in ``column`` (free text: every URL in it), at its first
    row, counting the others: one address is usually repeated on every row of a study."""
    report = Reporter(table.display)
    if column not in table.columns:
        return []
    first: dict[tuple[str, str], tuple[int, str]] = {}
    count: dict[tuple[str, str], int] = {}
    for row in table.rows:
        key = row[key_column] if key_column else ""
        for url in URL.findall(row[column]):
            kind = url_kind(url)
            if kind:
                first.setdefault((key, url), (row.line, kind))
                count[(key, url)] = count.get((key, url), 0) + 1
    for (key, url), (line, kind) in first.items():
        more = count[(key, url)] - 1
        rows = "row" if more == 1 else "rows"
        also = f" (and {more} more {rows}{' of ' + key if key else ''})" if more else ""
        report.warning(line, key or None, column, _message(url, kind) + also, EXPECTED)
    return report.problems


def _message(url: str, kind: str) -> str:
    return f"{url} is {kind}: it does not name the record that was read"


__all__ = ["SEARCH_PARAMETERS", "URL", "column_problems", "link_problems", "url_kind"]
