"""Links from an appraisal row to a study: its record in the Studies view, else its DOI."""

from __future__ import annotations

from urllib.parse import quote

from evidence.app.html import escape, external_link, is_missing
from evidence.dataset import Dataset


def doi_url(doi: str) -> str:
    return "https://doi.org/" + quote(doi, safe="/:;()._-")


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


__all__ = ["StudyLinks", "doi_url"]
