"""Declarative field specs: every rule the validator applies to a single field.

The specs are the single source of truth for ``docs/data-format.md``; rules that span rows or
files live in :mod:`evidence.data.rules`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from evidence.data.grammar import (
    MAX_COUNT,
    MAX_MONTHS,
    MAX_NUMBER,
    TIMEPOINT,
    WHOLE,
    parse_number,
    split_list,
    timepoint_months,
)
from evidence.data.vocabulary import (
    ARM_GROUPS,
    CELL_GROUPS,
    CELL_ORIGINS,
    CELL_TISSUES,
    COMPARISONS,
    CONFIDENCES,
    DESIGNS,
    EXTERNAL_GROUPS,
    KINDS,
    MEASURES,
    N_BASES,
    OUTCOMES,
    POPULATIONS,
    QUANTITIES,
    ROUTES,
    SPECIES,
    STATISTICS,
)

BIB_FILE = "references.bib"

Kind = Literal["text", "int", "number", "vocab", "vocab_list", "timepoint", "year"]


@dataclass(frozen=True)
class FieldSpec:
    """How one field (a BibTeX field or a CSV column) must look."""

    name: str
    kind: Kind = "text"
    required: bool = False
    vocabulary: tuple[str, ...] = ()
    positive: bool = False
    description: str = ""

    def check(self, raw: str | None) -> Iterator[tuple[str, str]]:
        """Yield (message, expected) for each way ``raw`` breaks this spec."""
        value = (raw or "").strip()
        if not value:
            if self.required:
                yield "is missing", self.expectation()
            return
        if self.kind in ("int", "number", "year"):
            yield from self._check_number(value)
        elif self.kind == "vocab" and value not in self.vocabulary:
            yield f"unknown value {value!r}", self.expectation()
        elif self.kind == "vocab_list":
            for item in split_list(value):
                if item not in self.vocabulary:
                    yield f"unknown value {item!r}", self.expectation()
        elif self.kind == "timepoint":
            if not TIMEPOINT.match(value):
                yield f"{value!r} is not a timepoint", self.expectation()
            elif timepoint_months(value) > MAX_MONTHS:
                yield f"{value!r} is longer than any follow-up", "at most 100 yr"

    def _check_number(self, value: str) -> Iterator[tuple[str, str]]:
        number = parse_number(value)
        if number is None:
            yield f"{value!r} is not a number", self.expectation()
        elif self.kind in ("int", "year") and not WHOLE.match(value):
            yield f"{value!r} is not a whole number", self.expectation()
        elif self.kind == "year" and not 1900 <= number <= 2100:
            yield f"{value!r} is not a plausible year", self.expectation()
        elif self.positive and number <= 0:
            yield f"{value!r} is not positive", self.expectation()
        elif self.kind == "int" and number > MAX_COUNT:
            yield f"{value!r} is more than any study has", f"at most {MAX_COUNT}"
        elif abs(number) > MAX_NUMBER:
            yield f"{value!r} is out of range", f"between -{MAX_NUMBER} and {MAX_NUMBER}"

    def expectation(self) -> str:
        if self.kind == "vocab":
            return "one of " + ", ".join(repr(v) for v in self.vocabulary)
        if self.kind == "vocab_list":
            return "';'-separated values from " + ", ".join(repr(v) for v in self.vocabulary)
        if self.kind == "int":
            return "a positive whole number" if self.positive else "a whole number"
        if self.kind == "year":
            return "a four-digit year"
        if self.kind == "number":
            return "a positive number" if self.positive else "a number"
        if self.kind == "timepoint":
            return "'baseline', 'end' or '<number> d|wk|mo|yr' (e.g. '3 mo', '24 wk')"
        return "a value"


def _spec(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {s.name: s for s in specs}


# Standard BibTeX fields we read; any other non-review field draws a warning (likely a typo).
BIB_STANDARD = (
    "author",
    "title",
    "journal",
    "booktitle",
    "year",
    "month",
    "volume",
    "number",
    "pages",
    "doi",
    "pmid",
    "pmcid",
    "url",
    "publisher",
    "issn",
    "eprint",
    "keywords",
    "abstract",
    "howpublished",
    "organization",
    "editor",
    "address",
    "urldate",
    "language",
)

BIB_COMMON = _spec(
    FieldSpec("kind", "vocab", True, KINDS, description="study or published meta-analysis"),
    FieldSpec("title", required=True),
    FieldSpec("author", required=True),
    FieldSpec("year", "year", True),
    FieldSpec("confidence", "vocab", True, CONFIDENCES),
    FieldSpec("source", required=True, description="where the descriptors were read"),
    FieldSpec("note"),
)

BIB_STUDY = _spec(
    FieldSpec("design", "vocab", True, DESIGNS),
    FieldSpec("species", "vocab", True, SPECIES),
    FieldSpec("population", "vocab", True, POPULATIONS),
    FieldSpec("population_detail"),
    FieldSpec("aetiology"),
    FieldSpec("country"),
    FieldSpec("cell_groups", "vocab_list", True, CELL_GROUPS),
    FieldSpec("cell_type"),
    FieldSpec("cell_origin", "vocab_list", False, CELL_ORIGINS),
    FieldSpec("cell_tissue", "vocab_list", False, CELL_TISSUES),
    FieldSpec("dose"),
    FieldSpec("route", "vocab_list", False, ROUTES),
    FieldSpec("follow_up", "timepoint", description="length of follow-up, e.g. 6 mo, 24 wk"),
    FieldSpec("n_total", "int", positive=True),
    FieldSpec("registration"),
    FieldSpec("no_numbers"),
    FieldSpec("seed_ref", "vocab", False, ("1", "2", "3", "4", "5", "6")),
)

BIB_META_ANALYSIS = _spec(
    FieldSpec("scope", required=True),
    FieldSpec("k_studies", "int", positive=True),
    FieldSpec("n_patients", "int", positive=True),
    FieldSpec("seed_ref", "vocab", False, ("1", "2", "3", "4", "5", "6")),
)

ARMS = _spec(
    FieldSpec("citekey", required=True),
    FieldSpec("arm", required=True),
    FieldSpec("group", "vocab", True, ARM_GROUPS),
    FieldSpec("n", "int", positive=True),
    FieldSpec("n_basis", "vocab", False, N_BASES),
    FieldSpec("locator"),
    FieldSpec("confidence", "vocab", True, CONFIDENCES),
    FieldSpec("note"),
    FieldSpec(
        "comparator", description="for a treated arm: the arm of the same study it is compared with"
    ),
)

OUTCOMES_SPEC = _spec(
    FieldSpec("citekey", required=True),
    FieldSpec("arm", required=True),
    FieldSpec("outcome", "vocab", True, OUTCOMES),
    FieldSpec("quantity", "vocab", True, QUANTITIES),
    FieldSpec("timepoint", "timepoint", True),
    FieldSpec("statistic", "vocab", True, STATISTICS),
    FieldSpec("value", "number", True),
    FieldSpec("unit", required=True),
    FieldSpec("n", "int", positive=True),
    FieldSpec("locator", required=True),
    FieldSpec("confidence", "vocab", True, CONFIDENCES),
    FieldSpec("source_url"),
    FieldSpec("note"),
)

EXTERNAL = _spec(
    FieldSpec("citekey", required=True),
    FieldSpec("group", "vocab", True, EXTERNAL_GROUPS),
    FieldSpec("outcome", "vocab", True, OUTCOMES),
    FieldSpec("comparison", "vocab", True, COMPARISONS),
    FieldSpec("timepoint", "timepoint", True),
    FieldSpec("measure", "vocab", True, MEASURES),
    FieldSpec("estimate", "number", True),
    FieldSpec("ci_lb", "number"),
    FieldSpec("ci_ub", "number"),
    FieldSpec("unit", required=True),
    FieldSpec("k", "int", positive=True),
    FieldSpec("locator", required=True),
    FieldSpec("confidence", "vocab", True, CONFIDENCES),
    FieldSpec("note"),
)

# Every review field a bib entry may carry, whatever its kind.
BIB_REVIEW_FIELDS = frozenset(BIB_COMMON) | frozenset(BIB_STUDY) | frozenset(BIB_META_ANALYSIS)


@dataclass(frozen=True)
class TableSpec:
    """A CSV file of the dataset: its path relative to the root and its columns."""

    path: str
    columns: dict[str, FieldSpec] = field(default_factory=dict)
    optional: bool = False


ARMS_TABLE = TableSpec("data/arms.csv", ARMS)
OUTCOMES_TABLE = TableSpec("data/outcomes.csv", OUTCOMES_SPEC)
EXTERNAL_TABLE = TableSpec("data/external.csv", EXTERNAL, optional=True)
