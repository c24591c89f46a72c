"""The dataset as a Frictionless Data package (https://specs.frictionlessdata.io/data-package/).

:func:`files` gives the package's files: the dataset's own files, byte for byte at the same
paths (so the folder is itself a dataset root that ``evidence validate --root DIR`` and
``evidence.load(DIR)`` accept), and ``datapackage.json`` describing them. Each CSV gets a Table
Schema generated from the project's field specs (:mod:`evidence.data.fields`,
:mod:`evidence.appraisal.schema`): types, required fields, vocabularies as ``enum``, ``;``-lists
and timepoints as ``pattern``, keys between arms and outcomes. Rules that span rows or files
(an arm's group among the study's cell groups, a unit that fits its outcome, ...) cannot be
said in a Table Schema; the package's description points to ``docs/data-format.md`` for them,
and ``evidence validate`` checks them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

from evidence import __version__
from evidence.data.fields import (
    ARMS_TABLE,
    BIB_FILE,
    EXTERNAL_TABLE,
    OUTCOMES_TABLE,
    FieldSpec,
    TableSpec,
)
from evidence.data.grammar import TIMEPOINT
from evidence.data.vocabulary import UNITS

DESCRIPTOR = "datapackage.json"

_DESCRIPTIONS = {
    "data/arms.csv": "One arm of one study: its cell group and how many patients it had.",
    "data/outcomes.csv": "One number reported for one arm (a mean, SD, count or p value), "
    "exactly as reported, with its locator and confidence.",
    "data/external.csv": "One pooled result of a published meta-analysis (external benchmark).",
    "data/claims.csv": "The source article's claims, checked against what they cite.",
    "data/rob.csv": "Risk-of-bias judgements (RoB 2, ROBINS-I) per study and domain.",
    "data/grade.csv": "Author overrides of the rule-based GRADE draft, with reasons.",
}
_KEYS: dict[str, dict[str, object]] = {
    "data/arms.csv": {"primaryKey": ["citekey", "arm"]},
    "data/outcomes.csv": {
        "foreignKeys": [
            {
                "fields": ["citekey", "arm"],
                "reference": {"resource": "arms", "fields": ["citekey", "arm"]},
            }
        ]
    },
    "data/claims.csv": {"primaryKey": ["claim_id"]},
}


def _tables() -> tuple[TableSpec, ...]:
    from evidence.appraisal.schema import CLAIMS_TABLE, GRADE_TABLE, ROB_TABLE

    return (ARMS_TABLE, OUTCOMES_TABLE, EXTERNAL_TABLE, CLAIMS_TABLE, ROB_TABLE, GRADE_TABLE)


def _plain_pattern(pattern: str) -> str:
    """A Python regex as a Table Schema pattern: anchors dropped (patterns match the whole
    value), named and non-capturing groups as plain groups (XML Schema has neither)."""
    pattern = pattern.removeprefix("^").removesuffix("$").removesuffix("\\Z")
    return re.sub(r"\(\?(?:P<\w+>|:)", "(", pattern)


def _list_pattern(vocabulary: tuple[str, ...]) -> str:
    item = "(" + "|".join(re.escape(v).replace("\\ ", " ") for v in vocabulary) + ")"
    return f" *{item} *(; *{item} *)*;?"


def field_schema(spec: FieldSpec) -> dict[str, object]:
    """One Table Schema field descriptor from one of the project's field specs."""
    field: dict[str, object] = {"name": spec.name}
    constraints: dict[str, object] = {}
    if spec.required:
        constraints["required"] = True
    if spec.kind == "int":
        field["type"] = "integer"
        if spec.positive:
            constraints["minimum"] = 1
    elif spec.kind == "year":
        field["type"] = "integer"
        constraints |= {"minimum": 1900, "maximum": 2100}
    elif spec.kind == "number":
        field["type"] = "number"
        if spec.positive:  # Table Schema v1 has no exclusive minimum
            field["description"] = "a positive number"
    else:
        field["type"] = "string"
        if spec.kind == "vocab":
            constraints["enum"] = list(spec.vocabulary)
        elif spec.kind == "vocab_list":
            constraints["pattern"] = _list_pattern(spec.vocabulary)
            field["description"] = "';'-separated values from: " + ", ".join(spec.vocabulary)
        elif spec.kind == "timepoint":
            constraints["pattern"] = _plain_pattern(TIMEPOINT.pattern)
            field["description"] = "'baseline', 'end' (visit not stated) or '<number> d|wk|mo|yr'"
    if spec.name == "unit":
        units = dict.fromkeys(u for us in UNITS.values() for u in us)
        constraints["enum"] = [*units, "%", "p"]  # "%" for a statistic percent
        field["description"] = "as reported; which units fit which outcome: docs/data-format.md"
    if spec.description:
        field["description"] = spec.description
    if constraints:
        field["constraints"] = constraints
    return field


def _header(text: str) -> list[str]:
    return [h.strip() for h in next(csv.reader(io.StringIO(text, newline="")), [])]


def _hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def files(root: Path | str) -> dict[str, bytes]:
    """The package for the dataset at ``root``: its files and ``datapackage.json``.

    Only the files the dataset defines are taken (references.bib and the data/*.csv tables that
    exist); they are copied byte for byte.
    """
    root = Path(root)
    out: dict[str, bytes] = {BIB_FILE: (root / BIB_FILE).read_bytes()}
    resources: list[dict[str, object]] = [
        {
            "name": "references",
            "path": BIB_FILE,
            "title": "Studies and published meta-analyses (the bibliography of record)",
            "description": "One BibTeX entry per study or meta-analysis, keyed by citekey, with "
            "the review's descriptors (design, population, cell groups, route, dose, follow-up, "
            "confidence, source) as fields; docs/data-format.md lists them. Every citekey in "
            "the tables refers to an entry here.",
            "format": "bib",
            "mediatype": "application/x-bibtex",
            "encoding": "utf-8",
            "bytes": len(out[BIB_FILE]),
            "hash": _hash(out[BIB_FILE]),
        }
    ]
    for spec in _tables():
        path = root / spec.path
        if not path.exists():
            continue
        data = path.read_bytes()
        out[spec.path] = data
        header = _header(data.decode("utf-8"))
        fields = [
            field_schema(spec.columns[name])
            if name in spec.columns
            else {"name": name, "type": "string"}
            for name in header
        ]
        resources.append(
            {
                "name": Path(spec.path).stem,
                "path": spec.path,
                "profile": "tabular-data-resource",
                "description": _DESCRIPTIONS.get(spec.path, ""),
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": len(data),
                "hash": _hash(data),
                "schema": {"fields": fields, "missingValues": [""], **_KEYS.get(spec.path, {})},
            }
        )
    descriptor = {
        "profile": "data-package",
        "name": "cell-therapy-decompensated-cirrhosis",
        "title": "Cell therapy for decompensated cirrhosis: studies, arms and reported numbers",
        "description": (
            "A curated dataset of clinical studies of mesenchymal stem cells (MSC), "
            "haematopoietic stem cells (HSC), bone-marrow mononuclear cells (BM-MNC) and their "
            "combination in cirrhosis. Every number carries a locator (where in the source it "
            "was read) and a confidence (verified: the study's own abstract or full text; "
            "secondary: a review's table; seed-only: only the article under review). Nothing "
            "is estimated: what a paper does not report is absent. The field rules are in each "
            "table's schema; rules across rows and files are in docs/data-format.md and are "
            "checked by `evidence validate --root <this folder>`."
        ),
        "version": __version__,
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "keywords": ["meta-analysis", "cirrhosis", "stem cells", "evidence synthesis"],
        "resources": resources,
    }
    out[DESCRIPTOR] = (json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return out


__all__ = ["DESCRIPTOR", "field_schema", "files"]
