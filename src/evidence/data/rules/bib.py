"""Rules of references.bib: fields by kind, entry types, identifiers, confidence."""

from __future__ import annotations

import re

from evidence.data.fields import (
    BIB_COMMON,
    BIB_FILE,
    BIB_META_ANALYSIS,
    BIB_REVIEW_FIELDS,
    BIB_STANDARD,
    BIB_STUDY,
)
from evidence.data.grammar import BIB_CONTROL, DIGITS, split_list
from evidence.data.problems import Problem, Reporter
from evidence.data.tables import check_fields, control_problems
from evidence.registry import BibEntry, Registry

ENTRY_TYPES = (
    "article",
    "misc",
    "inproceedings",
    "incollection",
    "book",
    "techreport",
    "online",
    "phdthesis",
    "unpublished",
)


def bib_problems(registry: Registry) -> list[Problem]:
    """Every problem of the bib on its own: parse errors, fields, identifiers."""
    report = Reporter(BIB_FILE)
    report.extend(registry.problems)
    seen = _Identifiers()
    keys: dict[str, BibEntry] = {}
    for entry in registry.entries:
        _citekey(report, entry, keys)
        kind = entry.get("kind")
        specs = dict(BIB_COMMON)
        if kind == "study":
            specs |= BIB_STUDY
        elif kind == "meta-analysis":
            specs |= BIB_META_ANALYSIS
        report.extend(check_fields(specs, entry.fields, BIB_FILE, entry.line_of, entry.key))
        report.extend(
            control_problems(BIB_FILE, entry.line_of, entry.key, entry.fields, BIB_CONTROL)
        )
        if entry.entry_type not in ENTRY_TYPES:
            report.warning(
                entry.line,
                entry.key,
                None,
                f"unusual entry type @{entry.entry_type}",
                "@" + ", @".join(ENTRY_TYPES),
            )
        allowed = specs.keys() | set(BIB_STANDARD)
        for name in entry.fields:
            if name not in allowed:
                hint = (
                    "a study field on a meta-analysis entry"
                    if name in BIB_REVIEW_FIELDS
                    else "not a field this project reads (typo?)"
                )
                report.warning(
                    entry.line_of(name),
                    entry.key,
                    name,
                    f"unknown field {name!r}: {hint}",
                    "fields listed in docs/data-format.md",
                )
        seen.check(report, entry)
        confidence = entry.get("confidence")
        if confidence in ("secondary", "third-party", "seed-only"):
            report.warning(
                entry.line_of("confidence"),
                entry.key,
                "confidence",
                f"descriptors are {confidence}, not verified in the study itself",
            )
        if kind == "study" and entry.get("design") == "animal" and entry.get("species") == "human":
            report.error(
                entry.line_of("species"),
                entry.key,
                "species",
                "an animal design with species 'human'",
                "'rat' or 'mouse'",
            )
    return report.problems


# Characters BibTeX stops a citekey at, or that break \cite{...}; and any white space.
_KEY_BREAKERS = re.compile(r"[\s,{}()=\"#%'~\\]")


def _citekey(report: Reporter, entry: BibEntry, keys: dict[str, BibEntry]) -> None:
    """A citekey BibTeX reads as we do: no space or separator, unique whatever its case."""
    bad = _KEY_BREAKERS.search(entry.key)
    if bad:
        report.error(
            entry.line,
            entry.key,
            None,
            f"citekey {entry.key!r} contains {bad.group()!r}",
            "a citekey of letters, digits and - _ : . / + (no spaces)",
        )
    first = keys.setdefault(entry.key.lower(), entry)
    if first is not entry and first.key != entry.key:
        report.error(
            entry.line,
            entry.key,
            None,
            f"citekey {entry.key!r} differs from {first.key!r} (line {first.line}) only in case",
            "citekeys that differ in more than case (BibTeX treats these as one)",
        )


_DOI = re.compile(r"^10\.\d{4,9}/\S+$")


_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|(?:dx\.)?doi\.org/|doi:\s*)")


def normalise_doi(doi: str) -> str:
    """The DOI as compared: lower case, without a resolver or ``doi:`` prefix and without
    trailing sentence punctuation (``10.1/X.`` and ``https://dx.doi.org/10.1/x`` are one DOI)."""
    doi = _DOI_PREFIX.sub("", doi.strip().lower())
    return doi.rstrip(".,;: ")


class _Identifiers:
    """DOIs, PMIDs, registrations and seed references seen so far: one entry per study."""

    def __init__(self) -> None:
        self.dois: dict[str, BibEntry] = {}
        self.pmids: dict[str, BibEntry] = {}
        self.registrations: dict[str, BibEntry] = {}
        self.seed_refs: dict[str, BibEntry] = {}

    def check(self, report: Reporter, entry: BibEntry) -> None:
        self._doi(report, entry)
        self._pmid(report, entry)
        for reg in split_list(entry.get("registration")):
            if reg in self.registrations:
                first = self.registrations[reg]
                report.warning(
                    entry.line_of("registration"),
                    entry.key,
                    "registration",
                    f"trial {reg} is also registered on {first.key}: likely the same "
                    "cohort reported twice",
                    "one entry per study (mention the other report in note)",
                )
            else:
                self.registrations[reg] = entry
        ref = entry.get("seed_ref")
        if ref:
            if ref in self.seed_refs:
                report.error(
                    entry.line_of("seed_ref"),
                    entry.key,
                    "seed_ref",
                    f"seed reference {ref} is already {self.seed_refs[ref].key}",
                    "each of the source article's references on one entry",
                )
            else:
                self.seed_refs[ref] = entry

    def _doi(self, report: Reporter, entry: BibEntry) -> None:
        doi = entry.get("doi")
        if not doi:
            report.warning(
                entry.line, entry.key, "doi", "no DOI recorded", "a DOI where the paper has one"
            )
            return
        norm = normalise_doi(doi)
        if not _DOI.match(norm):
            report.error(
                entry.line_of("doi"),
                entry.key,
                "doi",
                f"malformed DOI {doi!r}",
                "a DOI like 10.1002/hep.21477",
            )
        elif norm in self.dois:
            first = self.dois[norm]
            report.error(
                entry.line_of("doi"),
                entry.key,
                "doi",
                f"DOI {doi} is also on {first.key} (line {first.line_of('doi')})",
                "one entry per study",
            )
        else:
            self.dois[norm] = entry

    def _pmid(self, report: Reporter, entry: BibEntry) -> None:
        pmid = entry.get("pmid")
        if not pmid:
            return
        if not DIGITS.match(pmid):
            report.error(
                entry.line_of("pmid"),
                entry.key,
                "pmid",
                f"malformed PMID {pmid!r}",
                "digits only, e.g. 17187438",
            )
        elif pmid in self.pmids:
            first = self.pmids[pmid]
            report.error(
                entry.line_of("pmid"),
                entry.key,
                "pmid",
                f"PMID {pmid} is also on {first.key}",
                "one entry per study",
            )
        else:
            self.pmids[pmid] = entry
