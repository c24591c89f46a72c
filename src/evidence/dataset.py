"""The dataset: ``references.bib`` + ``data/*.csv`` -> validated pandas frames.

``validate(root)`` returns every :class:`~evidence.schema.Problem` (errors and warnings);
``load(root)`` returns a :class:`Dataset` or raises :class:`~evidence.schema.DatasetError`.
Each row of every frame keeps the file and line it came from.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evidence import schema, units
from evidence.registry import BibEntry, Registry, UnreadableFile, read_registry, read_text
from evidence.schema import (
    ARMS_TABLE,
    BIB_COMMON,
    BIB_META_ANALYSIS,
    BIB_REVIEW_FIELDS,
    BIB_STANDARD,
    BIB_STUDY,
    EXTERNAL_TABLE,
    OUTCOMES_TABLE,
    DatasetError,
    FieldSpec,
    Problem,
    TableSpec,
    parse_number,
    split_list,
)

BIB_FILE = "references.bib"
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


@dataclass(frozen=True)
class Row:
    """One CSV record: its 1-based starting line and its cells (stripped strings)."""

    line: int
    cells: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.cells.get(name, "")


@dataclass(frozen=True)
class Table:
    spec: TableSpec
    display: str
    rows: tuple[Row, ...]
    columns: tuple[str, ...]
    present: bool = True


@dataclass(frozen=True)
class Dataset:
    """The validated dataset. Frames are read-only views: copy before changing them."""

    root: Path
    studies: pd.DataFrame
    arms: pd.DataFrame
    outcomes: pd.DataFrame
    external: pd.DataFrame
    problems: tuple[Problem, ...] = field(default=())

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    def study(self, citekey: str) -> pd.Series:
        return self.studies.set_index("citekey").loc[citekey]


# --- reading ----------------------------------------------------------------------------------


def read_table(root: Path, spec: TableSpec) -> tuple[Table, list[Problem]]:
    path = root / spec.path
    if not path.exists() and spec.optional:
        return Table(spec, spec.path, (), tuple(spec.columns), present=False), []
    text = read_text(path)
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return Table(spec, spec.path, (), ()), [
            Problem(
                spec.path, 1, None, None, "file is empty", "a header row: " + ",".join(spec.columns)
            )
        ]
    for name in header:
        if name not in spec.columns:
            problems.append(
                Problem(
                    spec.path,
                    1,
                    None,
                    name,
                    f"unknown column {name!r}",
                    "columns " + ", ".join(spec.columns),
                )
            )
    for name, column in spec.columns.items():
        if column.required and name not in header:
            problems.append(
                Problem(
                    spec.path,
                    1,
                    None,
                    name,
                    f"required column {name!r} is missing",
                    "columns " + ", ".join(spec.columns),
                )
            )
    for name, count in Counter(header).items():
        if count > 1:
            problems.append(
                Problem(
                    spec.path,
                    1,
                    None,
                    name,
                    f"column {name!r} appears {count} times",
                    "each column once",
                )
            )
    rows: list[Row] = []
    previous_end = reader.line_num
    try:
        for record in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            cells = {name: cell.strip() for name, cell in zip(header, record, strict=False)}
            if len(record) != len(header):
                problems.append(
                    Problem(
                        spec.path,
                        line,
                        cells.get("citekey") or None,
                        None,
                        f"row has {len(record)} fields, the header has {len(header)}",
                        "one value per column (quote values that contain commas)",
                    )
                )
                continue
            rows.append(Row(line, cells))
    except csv.Error as exc:
        problems.append(
            Problem(
                spec.path,
                reader.line_num,
                None,
                None,
                f"malformed CSV: {exc}",
                "RFC 4180 CSV with balanced quotes",
            )
        )
    return Table(spec, spec.path, tuple(rows), tuple(header)), problems


def _check_fields(
    specs: dict[str, FieldSpec],
    get: dict[str, str],
    file: str,
    line_of,
    citekey: str | None,
    skip: Iterable[str] = (),
) -> list[Problem]:
    skipped = set(skip)
    problems = []
    for name, spec in specs.items():
        if name in skipped:
            continue
        for message, expected in spec.check(get.get(name)):
            problems.append(Problem(file, line_of(name), citekey, name, message, expected))
    return problems


# --- bib rules --------------------------------------------------------------------------------


def bib_problems(registry: Registry) -> list[Problem]:
    problems = list(registry.problems)
    dois: dict[str, BibEntry] = {}
    pmids: dict[str, BibEntry] = {}
    registrations: dict[str, BibEntry] = {}
    seed_refs: dict[str, BibEntry] = {}
    for entry in registry.entries:
        kind = entry.get("kind")
        specs = dict(BIB_COMMON)
        if kind == "study":
            specs |= BIB_STUDY
        elif kind == "meta-analysis":
            specs |= BIB_META_ANALYSIS
        problems += _check_fields(specs, entry.fields, BIB_FILE, entry.line_of, entry.key)
        if entry.entry_type not in ENTRY_TYPES:
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line,
                    entry.key,
                    None,
                    f"unusual entry type @{entry.entry_type}",
                    "@" + ", @".join(ENTRY_TYPES),
                    "warning",
                )
            )
        for name in entry.fields:
            allowed = specs.keys() | set(BIB_STANDARD)
            if name not in allowed:
                hint = (
                    "a study field on a meta-analysis entry"
                    if name in BIB_REVIEW_FIELDS
                    else "not a field this project reads (typo?)"
                )
                problems.append(
                    Problem(
                        BIB_FILE,
                        entry.line_of(name),
                        entry.key,
                        name,
                        f"unknown field {name!r}: {hint}",
                        "fields listed in docs/data-format.md",
                        "warning",
                    )
                )
        problems += _identifier_problems(entry, dois, pmids, registrations, seed_refs)
        confidence = entry.get("confidence")
        if confidence in ("secondary", "seed-only"):
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line_of("confidence"),
                    entry.key,
                    "confidence",
                    f"descriptors are {confidence}, not verified in the study itself",
                    None,
                    "warning",
                )
            )
        if kind == "study" and entry.get("design") == "animal" and entry.get("species") == "human":
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line_of("species"),
                    entry.key,
                    "species",
                    "an animal design with species 'human'",
                    "'rat' or 'mouse'",
                )
            )
    return problems


_DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def normalise_doi(doi: str) -> str:
    doi = doi.strip().lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "http://dx.doi.org/", "doi:"):
        if doi.startswith(prefix):
            doi = doi[len(prefix) :]
    return doi


def _identifier_problems(entry: BibEntry, dois, pmids, registrations, seed_refs) -> list[Problem]:
    problems = []
    doi = entry.get("doi")
    if not doi:
        problems.append(
            Problem(
                BIB_FILE,
                entry.line,
                entry.key,
                "doi",
                "no DOI recorded",
                "a DOI where the paper has one",
                "warning",
            )
        )
    else:
        norm = normalise_doi(doi)
        if not _DOI.match(norm):
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line_of("doi"),
                    entry.key,
                    "doi",
                    f"malformed DOI {doi!r}",
                    "a DOI like 10.1002/hep.21477",
                )
            )
        elif norm in dois:
            first = dois[norm]
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line_of("doi"),
                    entry.key,
                    "doi",
                    f"DOI {doi} is also on {first.key} (line {first.line_of('doi')})",
                    "one entry per study",
                )
            )
        else:
            dois[norm] = entry
    pmid = entry.get("pmid")
    if pmid:
        if not pmid.isdigit():
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line_of("pmid"),
                    entry.key,
                    "pmid",
                    f"malformed PMID {pmid!r}",
                    "digits only, e.g. 17187438",
                )
            )
        elif pmid in pmids:
            first = pmids[pmid]
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line_of("pmid"),
                    entry.key,
                    "pmid",
                    f"PMID {pmid} is also on {first.key}",
                    "one entry per study",
                )
            )
        else:
            pmids[pmid] = entry
    for reg in split_list(entry.get("registration")):
        if reg in registrations:
            first = registrations[reg]
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line_of("registration"),
                    entry.key,
                    "registration",
                    f"trial {reg} is also registered on {first.key}: likely the same "
                    "cohort reported twice",
                    "one entry per study (mention the other report in note)",
                    "warning",
                )
            )
        else:
            registrations[reg] = entry
    ref = entry.get("seed_ref")
    if ref:
        if ref in seed_refs:
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line_of("seed_ref"),
                    entry.key,
                    "seed_ref",
                    f"seed reference {ref} is already {seed_refs[ref].key}",
                    "each of the source article's references on one entry",
                )
            )
        else:
            seed_refs[ref] = entry
    return problems


# --- table rules ------------------------------------------------------------------------------


def _row_problems(table: Table) -> list[Problem]:
    problems = []
    missing_columns = {name for name in table.spec.columns if name not in table.columns}
    for row in table.rows:
        problems += _check_fields(
            table.spec.columns,
            row.cells,
            table.display,
            lambda _name, line=row.line: line,
            row["citekey"] or None,
            skip=missing_columns,
        )
    return problems


def _arm_problems(arms: Table, registry: Registry) -> list[Problem]:
    problems = []
    seen: dict[tuple[str, str], int] = {}
    n_by_study: dict[str, int] = defaultdict(int)
    for row in arms.rows:
        key, arm = row["citekey"], row["arm"]
        entry = _study_entry(registry, key)
        if key and entry is None:
            problems.append(_orphan(arms.display, row, registry))
            continue
        if (key, arm) in seen:
            problems.append(
                Problem(
                    arms.display,
                    row.line,
                    key,
                    "arm",
                    f"arm {arm!r} already defined on line {seen[(key, arm)]}",
                    "each arm once per study",
                )
            )
        seen[(key, arm)] = row.line
        group = row["group"]
        allowed = {*split_list(entry.get("cell_groups")), "G-CSF", "control"} if entry else set()
        if entry and group in schema.ARM_GROUPS and group not in allowed:
            problems.append(
                Problem(
                    arms.display,
                    row.line,
                    key,
                    "group",
                    f"group {group!r} is not among the study's cell_groups "
                    f"({entry.get('cell_groups') or 'none'})",
                    "one of " + ", ".join(sorted(allowed)),
                )
            )
        n = parse_number(row["n"])
        if n is not None and not row["locator"]:
            problems.append(
                Problem(
                    arms.display,
                    row.line,
                    key,
                    "locator",
                    "n is given without a locator",
                    "where n was read",
                )
            )
        if n is not None and n > 0 and float(n).is_integer():
            n_by_study[key] += int(n)
    for key, total_arms in n_by_study.items():
        entry = _study_entry(registry, key)
        n_total = parse_number(entry.get("n_total")) if entry else None
        if n_total is not None and total_arms > n_total:
            problems.append(
                Problem(
                    arms.display,
                    _first_line(arms, key),
                    key,
                    "n",
                    f"arms add up to {total_arms} patients, more than the study's "
                    f"n_total of {int(n_total)}",
                    f"arm n summing to at most {int(n_total)}",
                )
            )
    return problems


def _outcome_problems(outcomes: Table, arms: Table, registry: Registry) -> list[Problem]:
    problems = []
    arm_rows = {(r["citekey"], r["arm"]): r for r in arms.rows}
    seen: dict[tuple[str, ...], int] = {}
    cells: dict[tuple[str, ...], dict[str, tuple[float, Row]]] = defaultdict(dict)
    file = outcomes.display
    for row in outcomes.rows:
        key, arm = row["citekey"], row["arm"]
        if key and _study_entry(registry, key) is None:
            problems.append(_orphan(file, row, registry))
            continue
        arm_row = arm_rows.get((key, arm))
        if key and arm and arm_row is None:
            known = sorted(a for (k, a) in arm_rows if k == key)
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "arm",
                    f"arm {arm!r} is not in data/arms.csv",
                    "one of " + ", ".join(map(repr, known))
                    if known
                    else "an arm defined in data/arms.csv",
                )
            )
        outcome, statistic, unit = row["outcome"], row["statistic"], row["unit"]
        value = parse_number(row["value"])
        if outcome in schema.UNITS and unit:
            allowed = ("p",) if statistic == "p" else schema.UNITS[outcome]
            if unit not in allowed:
                problems.append(
                    Problem(
                        file,
                        row.line,
                        key,
                        "unit",
                        f"unit {unit!r} does not fit {outcome} {statistic}",
                        "one of " + ", ".join(map(repr, allowed)),
                    )
                )
                value = None  # cannot range-check a number whose unit we do not know
        if outcome in schema.BINARY_OUTCOMES and statistic not in ("events", "total", "p"):
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "statistic",
                    f"{outcome} is counted, not measured: {statistic!r}",
                    "'events', 'total' or 'p'",
                )
            )
        if (
            outcome in schema.UNITS
            and outcome not in schema.BINARY_OUTCOMES
            and statistic in ("events", "total")
        ):
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "statistic",
                    f"{outcome} is measured, not counted: {statistic!r}",
                    "mean, sd, se, median, q1, q3, min, max or p",
                )
            )
        ident = (key, arm, outcome, row["quantity"], row["timepoint"], statistic)
        if ident in seen:
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "statistic",
                    f"{outcome} {statistic} at {row['timepoint']} for arm {arm!r} "
                    f"already given on line {seen[ident]}",
                    "one row per number",
                )
            )
        seen[ident] = row.line
        if value is not None:
            problems += _value_problems(file, row, value)
            cells[ident[:5]][statistic] = (value, row)
        n = parse_number(row["n"])
        arm_n = parse_number(arm_row["n"]) if arm_row else None
        if n is not None and arm_n is not None and n > arm_n:
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "n",
                    f"n {int(n)} is above the arm's n of {int(arm_n)}",
                    f"at most {int(arm_n)}",
                )
            )
        if row["confidence"] == "secondary" and not row["locator"].startswith("secondary:"):
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "locator",
                    "a secondary number should name the review it came from",
                    "'secondary: <citekey> <table>'",
                    "warning",
                )
            )
        if row["confidence"] == "seed-only":
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "confidence",
                    "number stated only by the source article",
                    None,
                    "warning",
                )
            )
    for ident, stats in cells.items():
        problems += _consistency_problems(file, ident, stats, arm_rows)
    return problems


def _value_problems(file: str, row: Row, value: float) -> list[Problem]:
    statistic, outcome, key = row["statistic"], row["outcome"], row["citekey"]
    problems = []
    if statistic in schema.SPREAD_STATISTICS and value < 0:
        problems.append(
            Problem(
                file, row.line, key, "value", f"negative {statistic} {value:g}", f"{statistic} >= 0"
            )
        )
    if statistic == "p" and not 0 <= value <= 1:
        problems.append(
            Problem(
                file, row.line, key, "value", f"p value {value:g} outside [0, 1]", "0 <= p <= 1"
            )
        )
    if statistic in ("events", "total") and (value < 0 or not float(value).is_integer()):
        problems.append(
            Problem(
                file,
                row.line,
                key,
                "value",
                f"{statistic} {value:g} is not a count",
                "a whole number >= 0",
            )
        )
    if (
        row["quantity"] == "level"
        and statistic in schema.LOCATION_STATISTICS
        and outcome in schema.PLAUSIBLE
        and row["unit"] in schema.UNITS.get(outcome, ())
    ):
        low, high = schema.PLAUSIBLE[outcome]
        canonical = value * units.factor(outcome, row["unit"])
        if not low <= canonical <= high:
            unit = units.canonical_unit(outcome)
            shown = f"{value:g} {row['unit']}" + (
                f" (= {canonical:.3g} {unit})" if row["unit"] != unit else ""
            )
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "value",
                    f"{outcome} {statistic} {shown} is implausible",
                    f"{low:g}-{high:g} {unit}",
                )
            )
    return problems


def _consistency_problems(
    file: str,
    ident: tuple[str, ...],
    stats: dict[str, tuple[float, Row]],
    arm_rows: dict[tuple[str, str], Row],
) -> list[Problem]:
    key, arm, outcome, _quantity, timepoint = ident
    problems = []

    def order(low: str, high: str) -> None:
        if low in stats and high in stats and stats[low][0] > stats[high][0]:
            row = stats[high][1]
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "value",
                    f"{high} {stats[high][0]:g} is below {low} {stats[low][0]:g} "
                    f"({outcome} at {timepoint}, arm {arm!r})",
                    f"{low} <= {high}",
                )
            )

    for low, high in (
        ("q1", "median"),
        ("median", "q3"),
        ("q1", "q3"),
        ("min", "max"),
        ("min", "q1"),
        ("q3", "max"),
        ("events", "total"),
    ):
        order(low, high)
    arm_row = arm_rows.get((key, arm))
    arm_n = parse_number(arm_row["n"]) if arm_row else None
    if "total" in stats and arm_n is not None and stats["total"][0] > arm_n:
        row = stats["total"][1]
        problems.append(
            Problem(
                file,
                row.line,
                key,
                "value",
                f"total {stats['total'][0]:g} is above the arm's n of {arm_n:g}",
                f"at most {arm_n:g}",
            )
        )
    for spread in ("sd", "se"):
        if spread in stats and "mean" not in stats:
            row = stats[spread][1]
            problems.append(
                Problem(
                    file,
                    row.line,
                    key,
                    "statistic",
                    f"{spread} without a mean ({outcome} at {timepoint})",
                    "a mean row beside it",
                    "warning",
                )
            )
    if "events" in stats and "total" not in stats and arm_n is None:
        row = stats["events"][1]
        problems.append(
            Problem(
                file,
                row.line,
                key,
                "statistic",
                f"events without a total or an arm n ({outcome} at {timepoint})",
                "a total row or the arm's n",
                "warning",
            )
        )
    return problems


def _external_problems(external: Table, registry: Registry) -> list[Problem]:
    problems = []
    for row in external.rows:
        key = row["citekey"]
        entry = registry.get(key)
        if key and entry is None:
            problems.append(_orphan(external.display, row, registry))
            continue
        if entry is not None and entry.get("kind") != "meta-analysis":
            problems.append(
                Problem(
                    external.display,
                    row.line,
                    key,
                    "citekey",
                    f"{key} is a {entry.get('kind') or 'entry'}, not a meta-analysis",
                    "a kind = {meta-analysis} entry",
                )
            )
        outcome, unit = row["outcome"], row["unit"]
        if outcome in schema.UNITS and unit and unit not in schema.UNITS[outcome]:
            problems.append(
                Problem(
                    external.display,
                    row.line,
                    key,
                    "unit",
                    f"unit {unit!r} does not fit {outcome}",
                    "one of " + ", ".join(map(repr, schema.UNITS[outcome])),
                )
            )
        est, lb, ub = (parse_number(row[c]) for c in ("estimate", "ci_lb", "ci_ub"))
        if est is not None and lb is not None and ub is not None and not lb <= est <= ub:
            problems.append(
                Problem(
                    external.display,
                    row.line,
                    key,
                    "estimate",
                    f"estimate {est:g} is outside its CI [{lb:g}, {ub:g}]",
                    "ci_lb <= estimate <= ci_ub",
                )
            )
    return problems


def _usage_problems(registry: Registry, outcomes: Table, arms: Table) -> list[Problem]:
    with_numbers = {r["citekey"] for r in outcomes.rows}
    with_arms = {r["citekey"] for r in arms.rows}
    problems = []
    for entry in registry.entries:
        if entry.get("kind") != "study":
            continue
        reason = entry.get("no_numbers")
        if entry.key in with_numbers and reason:
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line_of("no_numbers"),
                    entry.key,
                    "no_numbers",
                    "marked as having no numbers, but data/outcomes.csv has rows for it",
                    "no_numbers only on studies without outcome rows",
                )
            )
        elif entry.key not in with_numbers and not reason:
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line,
                    entry.key,
                    "no_numbers",
                    "study has no rows in data/outcomes.csv and no no_numbers reason",
                    "outcome rows, or no_numbers = {why none can be extracted}",
                )
            )
        if entry.get("species") == "human" and entry.key not in with_arms:
            problems.append(
                Problem(
                    BIB_FILE,
                    entry.line,
                    entry.key,
                    None,
                    "clinical study has no arms in data/arms.csv",
                    "its arms with their group (and n where reported)",
                    "warning",
                )
            )
    return problems


def _study_entry(registry: Registry, key: str) -> BibEntry | None:
    entry = registry.get(key)
    return entry if entry is not None and entry.get("kind") == "study" else None


def _orphan(file: str, row: Row, registry: Registry) -> Problem:
    key = row["citekey"]
    if key in registry:
        return Problem(
            file,
            row.line,
            key,
            "citekey",
            f"{key} is a {registry[key].get('kind') or 'entry without kind'}, not a study",
            "a kind = {study} entry",
        )
    close = [k for k in registry.keys if _similar(k, key)]
    hint = f"a citekey of {BIB_FILE}" + (f" (did you mean {close[0]!r}?)" if close else "")
    return Problem(file, row.line, key, "citekey", f"no entry {key!r} in {BIB_FILE}", hint)


def _similar(a: str, b: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio() > 0.8


def _first_line(table: Table, key: str) -> int | None:
    return next((r.line for r in table.rows if r["citekey"] == key), None)


# --- public entry points ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    registry: Registry
    arms: Table
    outcomes: Table
    external: Table
    problems: tuple[Problem, ...]


def _read(root: Path) -> _Raw:
    registry = read_registry(root / BIB_FILE, BIB_FILE)
    problems = bib_problems(registry)
    tables = {}
    for spec in (ARMS_TABLE, OUTCOMES_TABLE, EXTERNAL_TABLE):
        table, table_problems = read_table(root, spec)
        tables[spec.path] = table
        problems += table_problems + _row_problems(table)
    arms, outcomes, external = (
        tables[s.path] for s in (ARMS_TABLE, OUTCOMES_TABLE, EXTERNAL_TABLE)
    )
    problems += _arm_problems(arms, registry)
    problems += _outcome_problems(outcomes, arms, registry)
    problems += _external_problems(external, registry)
    problems += _usage_problems(registry, outcomes, arms)
    unique = sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.field or "", p.message))
    return _Raw(registry, arms, outcomes, external, tuple(unique))


def validate(root: Path | str = ".") -> list[Problem]:
    """Every problem in the dataset at ``root``, errors and warnings, in file order.

    Raises :class:`~evidence.registry.UnreadableFile` when a file is missing or not UTF-8.
    """
    return list(_read(Path(root)).problems)


def load(root: Path | str = ".") -> Dataset:
    """Load and validate the dataset at ``root``.

    Raises :class:`~evidence.schema.DatasetError` (listing every error) if the data has errors,
    and :class:`~evidence.registry.UnreadableFile` if a file cannot be read.
    """
    root = Path(root)
    raw = _read(root)
    if any(p.severity == "error" for p in raw.problems):
        raise DatasetError(raw.problems)
    arms = _arms_frame(raw.arms)
    return Dataset(
        root=root,
        studies=_studies_frame(raw.registry, arms),
        arms=arms,
        outcomes=_outcomes_frame(raw.outcomes, arms, raw.registry),
        external=_external_frame(raw.external),
        problems=raw.problems,
    )


__all__ = ["Dataset", "DatasetError", "UnreadableFile", "load", "validate"]


# --- frames -----------------------------------------------------------------------------------

STUDY_COLUMNS = (
    "citekey",
    "label",
    "kind",
    "entry_type",
    "author",
    "title",
    "journal",
    "year",
    "volume",
    "number",
    "pages",
    "doi",
    "pmid",
    "pmcid",
    "url",
    "design",
    "species",
    "population",
    "population_detail",
    "aetiology",
    "country",
    "cell_groups",
    "cell_type",
    "cell_origin",
    "cell_tissue",
    "dose",
    "route",
    "follow_up",
    "follow_up_months",
    "n_total",
    "n_arms",
    "n",
    "registration",
    "confidence",
    "source",
    "no_numbers",
    "seed_ref",
    "scope",
    "k_studies",
    "n_patients",
    "note",
    "source_file",
    "source_line",
)


def first_author(author: str) -> str:
    """Family name of the first author of a BibTeX author list."""
    first = author.split(" and ")[0].strip()
    if first.startswith("{") and first.endswith("}"):
        return first[1:-1]  # a corporate author, kept whole
    if "," in first:
        return first.split(",")[0].strip()
    parts = first.split()
    if len(parts) > 1 and re.fullmatch(r"[A-Z]{1,3}", parts[-1]):
        return " ".join(parts[:-1])  # Vancouver style: "Sharma M"
    return parts[-1] if parts else ""


def _labels(entries: list[BibEntry]) -> dict[str, str]:
    base = {e.key: f"{first_author(e.get('author'))} {e.get('year')}".strip() for e in entries}
    counts = Counter(base.values())
    seen: Counter[str] = Counter()
    labels = {}
    for e in entries:
        label = base[e.key]
        if counts[label] > 1:
            labels[e.key] = label + "abcdefghijklmnopqrstuvwxyz"[seen[label]]
            seen[label] += 1
        else:
            labels[e.key] = label
    return labels


def _studies_frame(registry: Registry, arms: pd.DataFrame) -> pd.DataFrame:
    entries = list(registry.entries)
    labels = _labels(entries)
    arm_n = arms.groupby("citekey")["n"].sum(min_count=1)
    arm_count = arms.groupby("citekey").size()
    records = []
    for e in entries:
        record: dict[str, object] = {c: e.get(c) or None for c in STUDY_COLUMNS}
        n_total = parse_number(e.get("n_total"))
        summed = arm_n.get(e.key)
        record |= {
            "citekey": e.key,
            "label": labels[e.key],
            "entry_type": e.entry_type,
            "year": _int_or_none(e.get("year")),
            "follow_up": e.get("follow_up") or None,
            "follow_up_months": _months(e.get("follow_up")),
            "n_total": _int_or_none(e.get("n_total")),
            "n_arms": int(arm_count.get(e.key, 0)),
            # Patients in the study: n_total where given, else the sum of the arms' n.
            "n": int(n_total)
            if n_total is not None
            else (None if summed is None or pd.isna(summed) else int(summed)),
            "k_studies": _int_or_none(e.get("k_studies")),
            "n_patients": _int_or_none(e.get("n_patients")),
            "source_file": BIB_FILE,
            "source_line": e.line,
        }
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(STUDY_COLUMNS))
    for column in ("year", "n_total", "n_arms", "n", "k_studies", "n_patients", "source_line"):
        frame[column] = frame[column].astype("Int64")
    frame["follow_up_months"] = frame["follow_up_months"].astype(float)
    return frame


def _months(text: str) -> float | None:
    return schema.timepoint_months(text) if text else None


def _int_or_none(text: str) -> int | None:
    number = parse_number(text)
    return None if number is None else int(number)


def _arms_frame(table: Table) -> pd.DataFrame:
    columns = [*table.spec.columns, "source_file", "source_line"]
    records = [
        {
            **{c: row[c] or None for c in table.spec.columns},
            "n": _int_or_none(row["n"]),
            "source_file": table.display,
            "source_line": row.line,
        }
        for row in table.rows
    ]
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["n"] = frame["n"].astype("Int64")
    frame["source_line"] = frame["source_line"].astype("Int64")
    return frame


OUTCOME_COLUMNS = (
    "citekey",
    "label",
    "year",
    "design",
    "population",
    "arm",
    "group",
    "n",
    "outcome",
    "quantity",
    "timepoint",
    "timepoint_months",
    "statistic",
    "value",
    "unit",
    "value_reported",
    "unit_reported",
    "locator",
    "confidence",
    "source_url",
    "note",
    "source_file",
    "source_line",
)


def _outcomes_frame(table: Table, arms: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    labels = _labels(list(registry.entries))
    arm_info = {(r.citekey, r.arm): (r.group, r.n) for r in arms.itertuples()}
    records = []
    for row in table.rows:
        key, arm = row["citekey"], row["arm"]
        group, arm_n = arm_info[(key, arm)]
        entry = registry[key]
        n = _int_or_none(row["n"])
        records.append(
            {
                "citekey": key,
                "label": labels[key],
                "year": _int_or_none(entry.get("year")),
                "design": entry.get("design"),
                "population": entry.get("population"),
                "arm": arm,
                "group": group,
                # The number's own n where the source gives one (e.g. completers), else the arm's n.
                "n": n if n is not None else (None if pd.isna(arm_n) else int(arm_n)),
                "outcome": row["outcome"],
                "quantity": row["quantity"],
                "timepoint": row["timepoint"],
                "timepoint_months": schema.timepoint_months(row["timepoint"]),
                "statistic": row["statistic"],
                "value": float(row["value"]),
                "unit": row["unit"],
                "locator": row["locator"],
                "confidence": row["confidence"],
                "source_url": row["source_url"] or None,
                "note": row["note"] or None,
                "source_file": table.display,
                "source_line": row.line,
            }
        )
    frame = pd.DataFrame.from_records(
        records,
        columns=[c for c in OUTCOME_COLUMNS if c not in ("value_reported", "unit_reported")],
    )
    frame = (
        units.normalise(frame) if len(frame) else frame.assign(value_reported=[], unit_reported=[])
    )
    frame = frame[list(OUTCOME_COLUMNS)]
    for column in ("year", "n", "source_line"):
        frame[column] = frame[column].astype("Int64")
    for column in ("value", "value_reported", "timepoint_months"):
        frame[column] = frame[column].astype(float)
    return frame


def _external_frame(table: Table) -> pd.DataFrame:
    columns = [*table.spec.columns, "timepoint_months", "source_file", "source_line"]
    records = []
    for row in table.rows:
        record: dict[str, object] = {c: row[c] or None for c in table.spec.columns}
        for c in ("estimate", "ci_lb", "ci_ub"):
            record[c] = parse_number(row[c])
        record["k"] = _int_or_none(row["k"])
        record["timepoint_months"] = schema.timepoint_months(row["timepoint"])
        record |= {"source_file": table.display, "source_line": row.line}
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in ("estimate", "ci_lb", "ci_ub", "timepoint_months"):
        frame[column] = frame[column].astype(float)
    frame["k"] = frame["k"].astype("Int64")
    frame["source_line"] = frame["source_line"].astype("Int64")
    return frame
