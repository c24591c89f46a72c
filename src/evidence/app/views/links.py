"""Links to a study: its own pages (DOI, PubMed, PMC; the only addresses a view links a study
to) and, from an appraisal row, its record in the Studies view, else its DOI."""

from __future__ import annotations

import re
from urllib.parse import quote

import pandas as pd

from evidence.app.html import escape, external_link, is_missing
from evidence.dataset import Dataset


def doi_url(doi: str) -> str:
    return "https://doi.org/" + quote(doi, safe="/:;()._-")


#: Where a record may link: the study's DOI, its PubMed record or its PMC full text.
RECORD_LINK = re.compile(
    r"https://(doi\.org/10\.\S+"
    r"|pubmed\.ncbi\.nlm\.nih\.gov/\d+/?"
    r"|(www\.ncbi\.nlm\.nih\.gov/pmc|pmc\.ncbi\.nlm\.nih\.gov)/articles/PMC\d+/?)"
)


def record_link(url: object) -> bool:
    """True for an address the record may link to (see :data:`RECORD_LINK`)."""
    return isinstance(url, str) and RECORD_LINK.fullmatch(url) is not None


def study_links(study: pd.Series) -> list[tuple[str, str]]:
    """(href, label) of the study's DOI, PubMed and PMC pages, from references.bib."""
    links = []
    if not is_missing(study.get("doi")):
        doi = str(study["doi"]).strip()
        links.append((doi_url(doi), f"doi:{doi}"))
    pmid = "" if is_missing(study.get("pmid")) else re.sub(r"\D", "", str(study["pmid"]))
    if pmid:
        links.append((f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/", f"PubMed {pmid}"))
    pmcid = "" if is_missing(study.get("pmcid")) else str(study["pmcid"]).strip()
    if re.fullmatch(r"PMC\d+", pmcid):
        links.append((f"https://pmc.ncbi.nlm.nih.gov/articles/{pmcid}/", pmcid))
    return [(href, label) for href, label in links if record_link(href)]


def record_targets(arms: pd.DataFrame) -> dict[str, list[str]]:
    """For each arm of one study (its rows of arms.csv), the treated arms whose record holds
    its numbers: a treated arm its own; a control arm those compared with it (its comparator,
    or every treated arm when the study has one control arm and names no comparator)."""
    groups = dict(zip(arms["arm"].astype(str), arms["group"].astype(str), strict=True))
    comparators = arms.get("comparator", pd.Series([None] * len(arms), index=arms.index))
    compared = dict(zip(arms["arm"].astype(str), comparators, strict=True))
    treated = [a for a, g in groups.items() if g != "control"]
    controls = [a for a, g in groups.items() if g == "control"]
    out: dict[str, list[str]] = {a: [a] for a in treated}
    for c in controls:
        named = [a for a in treated if compared.get(a) == c]
        if not named and len(controls) == 1:
            named = [a for a in treated if is_missing(compared.get(a))]
        out[c] = named
    return out


def record_links(key: str, arm: str, outcome: str, targets: dict[str, list[str]]) -> str:
    """Links that open the record of ``key``'s arm beside the forest plot of ``outcome``: a
    treated arm within itself (change from baseline), a control arm's numbers in the record of
    each arm compared with it (versus control). The href is the same view as a link; the
    click is handled in place (the UrlSync widget; the App validates every value)."""
    from evidence.app.state import DEFAULT, RECORD_SEP, to_query
    from evidence.compare import OUTCOME_LABELS

    if outcome not in OUTCOME_LABELS:
        return "<span class='ev-muted'>not an outcome of the plot</span>"
    links = []
    own = targets.get(arm, [])
    effect = "change" if own == [arm] else "control"
    for target in own:
        record = f"{key}{RECORD_SEP}{target}"
        state = DEFAULT.with_(
            record=record, question=DEFAULT.question.with_(outcome=outcome, effect=effect)
        )
        label = "open the record" if target == arm else f"record of arm {target}"
        links.append(
            f"<a href='?{escape(to_query(state))}' class='ev-record-link'"
            f" data-ev-record='{escape(record)}' data-ev-outcome='{escape(outcome)}'"
            f" data-ev-effect='{escape(effect)}'>{escape(label)}</a>"
        )
    return "<br>".join(links) or "<span class='ev-muted'>no arm to compare</span>"


class StudyLinks:
    """``link(key)``: a link to the Studies view of this app for the studies it holds (the
    click is handled in place by the UrlSync widget; the href is the same view as a link),
    else a link to the study's DOI, else nothing."""

    def __init__(self, data: Dataset, in_app: frozenset[str]) -> None:
        self.in_app = in_app
        studies = data.studies
        self.dois = {
            str(k): str(d)
            for k, d in zip(studies["citekey"], studies["doi"], strict=True)
            if not is_missing(d)
        }

    def link(self, key: object, label: str = "") -> str:
        if is_missing(key):
            return ""
        key = str(key)
        if key in self.in_app:
            href = "?tab=studies&study=" + quote(key, safe="")
            return (
                f"<a href='{escape(href)}' data-ev-study='{escape(key)}' class='ev-study-link'>"
                f"{escape(label or 'open its record in the Studies view')}</a>"
            )
        doi = self.dois.get(key, "")
        return external_link(doi_url(doi), f"doi:{doi}") if doi else ""


__all__ = [
    "RECORD_LINK",
    "StudyLinks",
    "doi_url",
    "record_link",
    "record_links",
    "record_targets",
    "study_links",
]
