"""Validated pandas frames: :func:`validate` runs every rule, :func:`load` builds the
:class:`Dataset`. Each row of every frame keeps the file and line it came from."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evidence.data import units
from evidence.data.fields import ARMS_TABLE, BIB_FILE, EXTERNAL_TABLE, OUTCOMES_TABLE
from evidence.data.grammar import parse_number, timepoint_months
from evidence.data.problems import DatasetError, Problem, file_order
from evidence.data.rules import bib_problems, cross_file_problems
from evidence.data.tables import Table, read_table, row_problems
from evidence.registry import BibEntry, Registry, read_registry
from evidence.vocab import CELL_GROUPS, CLINICAL_KIND, CLINICAL_SPECIES, PLANNED


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

    # -- the selections every stage shares (write them here, never again by hand) ---------------

    @property
    def clinical_studies(self) -> pd.DataFrame:
        """Studies in patients: ``kind`` study and ``species`` human (no meta-analysis, no
        animal study)."""
        s = self.studies
        return s[(s["kind"] == CLINICAL_KIND) & (s["species"] == CLINICAL_SPECIES)]

    @property
    def clinical_arms(self) -> pd.DataFrame:
        """Arms of the clinical studies with their real n: a ``planned`` size is a target, not
        patients, so its ``n`` is NaN here (the arm keeps its row; ``n_basis`` still says
        planned). A copy: callers may add columns."""
        arms = self.arms[self.arms["citekey"].isin(self.clinical_studies["citekey"])].copy()
        arms["n"] = arms["n"].mask(arms["n_basis"] == PLANNED)
        return arms

    @property
    def planned_arms(self) -> frozenset[tuple[str, str]]:
        """``(citekey, arm)`` of the arms whose size is only ``planned``: a target, never a count
        of patients, so it never stands in for an n (nor becomes a variance)."""
        planned = self.arms[self.arms["n_basis"] == PLANNED]
        return frozenset(zip(planned["citekey"], planned["arm"], strict=True))

    @property
    def treated_arms(self) -> pd.DataFrame:
        """Clinical arms that received cells (a cell group, not G-CSF alone or control), with
        their real n as in :attr:`clinical_arms`."""
        arms = self.clinical_arms
        return arms[arms["group"].isin(CELL_GROUPS)]


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
        problems += table_problems + row_problems(table)
    arms, outcomes, external = (
        tables[s.path] for s in (ARMS_TABLE, OUTCOMES_TABLE, EXTERNAL_TABLE)
    )
    problems += cross_file_problems(registry, arms, outcomes, external)
    unique = sorted(set(problems), key=file_order)
    return _Raw(registry, arms, outcomes, external, tuple(unique))


def validate(root: Path | str = ".") -> list[Problem]:
    """Every problem in the dataset at ``root``, errors and warnings, in file order.

    Raises :class:`~evidence.storage.UnreadableFile` when a file is missing or not UTF-8.
    """
    return list(_read(Path(root)).problems)


def load(root: Path | str = ".") -> Dataset:
    """Load and validate the dataset at ``root``.

    Raises :class:`~evidence.data.problems.DatasetError` (listing every error) if the data has
    errors, and :class:`~evidence.storage.UnreadableFile` if a file cannot be read.
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
    return timepoint_months(text) if text else None


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
    "n_reported",
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
                # False: the arm's n stands in for the visit's (compare marks it n_assumed).
                "n_reported": n is not None,
                "outcome": row["outcome"],
                "quantity": row["quantity"],
                "timepoint": row["timepoint"],
                "timepoint_months": timepoint_months(row["timepoint"]),
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
        record["timepoint_months"] = timepoint_months(row["timepoint"])
        record |= {"source_file": table.display, "source_line": row.line}
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in ("estimate", "ci_lb", "ci_ub", "timepoint_months"):
        frame[column] = frame[column].astype(float)
    frame["k"] = frame["k"].astype("Int64")
    frame["source_line"] = frame["source_line"].astype("Int64")
    return frame
