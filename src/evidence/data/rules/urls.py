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
    """A warning per bib field, and per citekey and address of data/outcomes.csv (at its first
    row, counting the others: one address is usually repeated on every number of a study)."""
    bib = Reporter(BIB_FILE)
    for entry in registry.entries:
        for field in ("url", "source"):
            for url in URL.findall(entry.get(field)):
                kind = url_kind(url)
                if kind:
                    bib.warning(
                        entry.line_of(field), entry.key, field, _message(url, kind), EXPECTED
                    )
    report = Reporter(outcomes.display)
    if "source_url" in outcomes.columns:
        first: dict[tuple[str, str], tuple[int, str]] = {}
        count: dict[tuple[str, str], int] = {}
        for row in outcomes.rows:
            url = row["source_url"].strip()
            kind = url_kind(url) if url else ""
            if kind:
                key = (row["citekey"], url)
                first.setdefault(key, (row.line, kind))
                count[key] = count.get(key, 0) + 1
        for (citekey, url), (line, kind) in first.items():
            more = count[(citekey, url)] - 1
            also = (
                f" (and {more} more {'row' if more == 1 else 'rows'} of {citekey})" if more else ""
            )
            report.warning(line, citekey, "source_url", _message(url, kind) + also, EXPECTED)
    return bib.problems + report.problems


def _message(url: str, kind: str) -> str:
    return f"{url} is {kind}: it does not name the record that was read"


__all__ = ["SEARCH_PARAMETERS", "URL", "link_problems", "url_kind"]
