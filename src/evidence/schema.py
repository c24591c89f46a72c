"""Vocabularies and declarative field specs of the dataset, and the Problem record.

The specs here are the single source of truth for ``docs/data-format.md``: every rule the
validator applies to a single field is declared in a :class:`FieldSpec`; rules that span rows or
files live in :mod:`evidence.dataset`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]

# --- vocabularies -----------------------------------------------------------------------------

KINDS = ("study", "meta-analysis")
DESIGNS = ("RCT", "non-randomised controlled", "single-arm", "case series", "animal")
CONTROLLED_DESIGNS = ("RCT", "non-randomised controlled")
SPECIES = ("human", "rat", "mouse")
POPULATIONS = (
    "decompensated cirrhosis",
    "compensated cirrhosis",
    "cirrhosis (stage mixed or not stated)",
    "end-stage liver disease",
    "liver failure",
    "ACLF",
    "animal model",
)
CELL_GROUPS = ("MSC+HSC", "MSC", "HSC", "BM-MNC", "BM")
ARM_GROUPS = (*CELL_GROUPS, "G-CSF", "control")
CELL_ORIGINS = ("autologous", "allogeneic")
CELL_TISSUES = ("bone marrow", "peripheral blood", "umbilical cord", "adipose")
ROUTES = (
    "hepatic artery",
    "portal vein",
    "peripheral vein",
    "intrasplenic",
    "intrahepatic",
    "subcutaneous",
)
CONFIDENCES = ("verified", "secondary", "seed-only")
N_BASES = ("randomised", "enrolled", "treated", "analysed", "completed", "planned")
OUTCOMES = (
    "meld",
    "meld_na",
    "child_pugh",
    "albumin",
    "bilirubin",
    "inr",
    "creatinine",
    "deaths",
    "sae",
    "ascites",
    "he",
    "meld_response",
)
BINARY_OUTCOMES = ("deaths", "sae", "ascites", "he", "meld_response")
QUANTITIES = ("level", "change")
STATISTICS = ("mean", "sd", "se", "median", "q1", "q3", "min", "max", "events", "total", "p")
COMPARISONS = ("before-after", "versus control")
EXTERNAL_GROUPS = (*CELL_GROUPS, "any")
MEASURES = ("MD",)

# Units as reported, canonical first (the loader converts to the canonical unit).
UNITS: dict[str, tuple[str, ...]] = {
    "meld": ("points",),
    "meld_na": ("points",),
    "child_pugh": ("points",),
    "albumin": ("g/L", "g/dL"),
    "bilirubin": ("mg/dL", "umol/L"),
    "creatinine": ("mg/dL", "umol/L"),
    "inr": ("ratio",),
    **{o: ("patients",) for o in BINARY_OUTCOMES},
}

# Plausible ranges of a level (mean, median, quartiles, extremes) in the canonical unit.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "meld": (6, 40),
    "meld_na": (6, 40),
    "child_pugh": (5, 15),
    "albumin": (10, 60),
    "bilirubin": (0.1, 50),
    "inr": (0.8, 10),
    "creatinine": (0.1, 15),
}
LOCATION_STATISTICS = ("mean", "median", "q1", "q3", "min", "max")
SPREAD_STATISTICS = ("sd", "se")

TIMEPOINT = re.compile(r"^(?:baseline|end|(?P<num>\d+(?:\.\d+)?) (?P<unit>d|wk|mo|yr))$")
_MONTHS_PER = {"d": 12 / 365.25, "wk": 12 / 52.1775, "mo": 1.0, "yr": 12.0}


def timepoint_months(text: str) -> float:
    """Months after the first cell infusion: 0 at baseline, NaN for an unstated end of follow-up."""
    m = TIMEPOINT.match(text)
    if m is None:
        raise ValueError(f"not a timepoint: {text!r}")
    if text == "baseline":
        return 0.0
    if text == "end":
        return math.nan
    return float(m["num"]) * _MONTHS_PER[m["unit"]]


# --- problems ---------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the data, located as precisely as the input allows."""

    file: str
    line: int | None
    citekey: str | None
    field: str | None
    message: str
    expected: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        who = f" {self.citekey}" if self.citekey else ""
        what = f" [{self.field}]" if self.field else ""
        hint = f"; expected {self.expected}" if self.expected else ""
        return f"{where}: {self.severity}:{who}{what} {self.message}{hint}"

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "citekey": self.citekey,
            "field": self.field,
            "message": self.message,
            "expected": self.expected,
        }


class DatasetError(Exception):
    """Raised by :func:`evidence.load` when the data has errors; carries every problem."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=_problem_order)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = "\n".join(str(p) for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s) in the dataset:\n{lines}{more}")


def _problem_order(p: Problem) -> tuple[int, str, int, str]:
    return (0 if p.severity == "error" else 1, p.file, p.line or 0, p.field or "")


# --- declarative field specs ------------------------------------------------------------------

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
            number = _parse_number(value)
            if number is None:
                yield f"{value!r} is not a number", self.expectation()
            elif self.kind in ("int", "year") and not float(number).is_integer():
                yield f"{value!r} is not a whole number", self.expectation()
            elif self.kind == "year" and not 1900 <= number <= 2100:
                yield f"{value!r} is not a plausible year", self.expectation()
            elif self.positive and number <= 0:
                yield f"{value!r} is not positive", self.expectation()
        elif self.kind == "vocab" and value not in self.vocabulary:
            yield f"unknown value {value!r}", self.expectation()
        elif self.kind == "vocab_list":
            for item in split_list(value):
                if item not in self.vocabulary:
                    yield f"unknown value {item!r}", self.expectation()
        elif self.kind == "timepoint" and not TIMEPOINT.match(value):
            yield f"{value!r} is not a timepoint", self.expectation()

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


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(";") if item.strip()]


def _parse_number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_number(value: str | None) -> float | None:
    return _parse_number(value.strip()) if value else None


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
