"""Adding a study: a BibTeX snippet (+ descriptors) -> a checked change to the dataset files.

:func:`plan_add` builds a :class:`Change` (new text for each file, nothing written yet) or raises
:class:`AddRefused` with every problem found; :func:`apply` writes a change as one: all files or
none (see :func:`evidence.storage.commit`). Hold :func:`evidence.storage.dataset_lock` from
``plan_add`` to ``apply``, so that two adds at once cannot lose a study. The bib
file gets the new entry appended, every other byte untouched; ``data/arms.csv`` and
``data/outcomes.csv`` get template rows whose blanks ``evidence validate`` then lists as the
author's to-do.
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bibtexparser
from bibtexparser import model

from evidence import schema
from evidence.data.grammar import MAX_COUNT, is_timepoint
from evidence.dataset import BIB_FILE, bib_problems, normalise_doi
from evidence.registry import Registry, append_entry, failure_reason, read_registry, render
from evidence.schema import ARMS_TABLE, OUTCOMES_TABLE, Problem, split_list
from evidence.storage import commit, read_text
from evidence.vocab import DEFAULT_OUTCOME

TITLE_SIMILARITY = 0.9  # above this two titles are taken for the same report
# The review's fields in the order an added entry lists them (after the bibliographic ones).
DESCRIPTOR_ORDER = (
    "kind",
    *(name for name in schema.BIB_STUDY if name not in ("no_numbers", "seed_ref")),
    "confidence",
    "source",
    "no_numbers",
    "note",
)


class AddRefused(Exception):
    """The snippet or its descriptors cannot be added; every reason is in ``problems``."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Arm:
    label: str
    group: str
    n: int | None = None

    @classmethod
    def parse(cls, text: str) -> Arm:
        """``LABEL=GROUP`` or ``LABEL=GROUP:N``, e.g. ``MSC=MSC:20`` or ``placebo=control``."""
        # ASCII digits only: \d would take '٣' for 3
        m = re.fullmatch(r"\s*([^=]+?)\s*=\s*([^:]+?)\s*(?::\s*([0-9]+)\s*)?", text)
        if m is None:
            raise ValueError(f"arm {text!r}: expected LABEL=GROUP or LABEL=GROUP:N")
        if m[3] and not 1 <= int(m[3]) <= MAX_COUNT:
            raise ValueError(f"arm {text!r}: N must be a whole number from 1 to {MAX_COUNT:,}")
        if m[2] not in schema.ARM_GROUPS:
            raise ValueError(
                f"arm {text!r}: group {m[2]!r} is not one of " + ", ".join(schema.ARM_GROUPS)
            )
        return cls(m[1], m[2], int(m[3]) if m[3] else None)


@dataclass(frozen=True)
class Change:
    """New contents per file (paths relative to the root) and a summary of what they add."""

    root: Path
    files: dict[str, str]
    citekey: str
    summary: list[str] = field(default_factory=list)
    before: dict[str, str] = field(default_factory=dict)  # each file's text as read

    def diff(self) -> str:
        """A unified diff of the change, for ``--dry-run``."""
        out = []
        for name, new in self.files.items():
            path = self.root / name
            old = read_text(path) if path.exists() else ""
            out.extend(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    fromfile=f"a/{name}",
                    tofile=f"b/{name}",
                )
            )
        return "".join(out)


def read_snippet(text: str, source: str) -> tuple[str, dict[str, str], str]:
    """The snippet's entry type, its fields (raw values) and key; refuse anything but one entry."""
    logger = logging.getLogger("bibtexparser")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        library = bibtexparser.parse_string(text, parse_stack=[])
    finally:
        logger.setLevel(previous)
    problems = [
        Problem(
            source,
            b.start_line + 1,
            getattr(b, "key", None),
            None,
            f"malformed BibTeX: {failure_reason(b)}",
            "one complete @type{citekey, field = {value}, ...} entry",
        )
        for b in library.failed_blocks
    ]
    if problems:
        raise AddRefused(problems)
    entries = [b for b in library.blocks if isinstance(b, model.Entry)]
    if len(entries) != 1:
        raise AddRefused(
            [
                Problem(
                    source,
                    None,
                    None,
                    None,
                    f"the snippet holds {len(entries)} entries",
                    "exactly one entry per `evidence add`",
                )
            ]
        )
    (entry,) = entries
    fields = {f.key.lower(): f.value for f in entry.fields}
    return entry.entry_type.lower(), fields, entry.key


def render_entry(entry_type: str, key: str, fields: dict[str, str]) -> str:
    """An entry in the registry's house style; raw values keep their braces or quotes."""
    lines = [f"@{entry_type}{{{key},"]
    for name, raw in fields.items():
        lines.append(f"  {name} = {raw},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _braced(value: str) -> str:
    return "{" + value + "}"


def _option_value_problems(value: str) -> list[tuple[str, str]]:
    """Why an option's text cannot go into a BibTeX field as it is (nothing changed silently)."""
    problems = []
    if "{" in value or "}" in value:
        problems.append(
            ("braces are BibTeX syntax, not text", "the value without { } (edit the entry by hand)")
        )
    if value.endswith("\\"):
        problems.append(
            ("ends with a backslash, which BibTeX joins to the closing brace", "no final \\")
        )
    return problems


def plan_add(
    root: Path,
    snippet: str,
    *,
    source: str = "snippet",
    descriptors: dict[str, str] | None = None,
    arms: Iterable[Arm] = (),
    outcomes: Sequence[str] = (DEFAULT_OUTCOME,),
    timepoint: str = "6 mo",
    force: bool = False,
) -> Change:
    """Plan adding one study. Raises :class:`AddRefused` listing every problem."""
    root = Path(root)
    registry = read_registry(root / BIB_FILE, BIB_FILE)
    entry_type, fields, key = read_snippet(snippet, source)
    option_problems = [
        Problem("--" + name.replace("_", "-"), None, key, name, why, expected)
        for name, value in (descriptors or {}).items()
        for why, expected in _option_value_problems(value)
    ]
    if option_problems:
        raise AddRefused(option_problems)
    for name, value in (descriptors or {}).items():
        fields[name] = _braced(value)
    fields.setdefault("kind", "{study}")
    ordered = {n: fields[n] for n in fields if n not in DESCRIPTOR_ORDER}
    ordered |= {n: fields[n] for n in DESCRIPTOR_ORDER if n in fields}
    entry_text = render_entry(entry_type, key, ordered)

    problems = _entry_problems(registry, key, entry_text, force)
    arms = list(arms)
    no_numbers = bool(_field(ordered, "no_numbers"))
    problems += _arm_problems(key, arms, ordered, no_numbers)
    for outcome in outcomes:
        if outcome not in schema.OUTCOMES:
            problems.append(
                Problem(
                    "--outcomes",
                    None,
                    key,
                    "outcome",
                    f"unknown outcome {outcome!r}",
                    "one of " + ", ".join(schema.OUTCOMES),
                )
            )
    if not is_timepoint(timepoint) or timepoint == "baseline":
        problems.append(
            Problem(
                "--timepoint",
                None,
                key,
                "timepoint",
                f"{timepoint!r} is not a follow-up timepoint",
                "e.g. '3 mo', '24 wk', '1 yr' or 'end'",
            )
        )
    if problems:
        raise AddRefused(problems)

    grown = append_entry(registry, entry_text)
    files = {BIB_FILE: render(grown)}
    before = {BIB_FILE: registry.text}
    summary = [f"{BIB_FILE}: + @{entry_type}{{{key}, ...}} ({len(ordered)} fields)"]
    if arms:
        rows = [
            [key, a.label, a.group, "" if a.n is None else str(a.n), "", "", "", ""] for a in arms
        ]
        before[ARMS_TABLE.path] = read_text(root / ARMS_TABLE.path)
        files[ARMS_TABLE.path] = _append_rows(before[ARMS_TABLE.path], ARMS_TABLE, rows)
        summary.append(
            f"{ARMS_TABLE.path}: + {len(rows)} arm(s) to complete (n_basis, locator, confidence)"
        )
    if arms and not no_numbers:
        rows = _outcome_template(key, arms, outcomes, timepoint)
        before[OUTCOMES_TABLE.path] = read_text(root / OUTCOMES_TABLE.path)
        files[OUTCOMES_TABLE.path] = _append_rows(before[OUTCOMES_TABLE.path], OUTCOMES_TABLE, rows)
        summary.append(
            f"{OUTCOMES_TABLE.path}: + {len(rows)} template row(s) to fill "
            "(value, locator, confidence; delete what the paper does not report)"
        )
    return Change(root, files, key, summary, before)


def _field(fields: dict[str, str], name: str) -> str:
    raw = fields.get(name, "")
    return raw[1:-1] if raw[:1] in '{"' else raw


def _entry_problems(registry: Registry, key: str, entry_text: str, force: bool) -> list[Problem]:
    if key in registry:
        existing = registry[key]
        return [
            Problem(
                BIB_FILE,
                existing.line,
                key,
                None,
                f"citekey {key!r} exists already (line {existing.line})",
                "a new citekey, or edit the existing entry",
            )
        ]
    trial = append_entry(registry, entry_text)
    if key not in trial:
        # A descriptor that breaks BibTeX (say a --note ending in a backslash, which escapes
        # the closing brace): the entry would not read back.
        known = set(registry.problems)
        why = next((p.message for p in trial.problems if p not in known), "")
        return [
            Problem(
                "snippet",
                None,
                key,
                None,
                "the entry would not read back as BibTeX" + (f" ({why})" if why else ""),
                "values without a trailing backslash",
            )
        ]
    new = trial[key]
    # The registry's own rules, for the new entry only (vocabularies, required fields, DOI...).
    problems = [p for p in bib_problems(trial) if p.citekey == key and p.severity == "error"]
    problems = [
        Problem("snippet", None, p.citekey, p.field, p.message, p.expected) for p in problems
    ]
    problems += _likely_duplicates(registry, new, force)
    return problems


def _likely_duplicates(registry: Registry, new, force: bool) -> list[Problem]:
    problems = []
    title = _plain(new.get("title"))
    regs = set(split_list(new.get("registration")))
    for entry in registry.entries:
        ratio = difflib.SequenceMatcher(None, title, _plain(entry.get("title"))).ratio()
        shared = regs & set(split_list(entry.get("registration")))
        same_doi = (
            new.get("doi")
            and entry.get("doi")
            and (normalise_doi(new.get("doi")) == normalise_doi(entry.get("doi")))
        )
        if same_doi:
            continue  # already an error from the registry's DOI rule
        if title and ratio >= TITLE_SIMILARITY and not force:
            problems.append(
                Problem(
                    "snippet",
                    None,
                    new.key,
                    "title",
                    f"title is {ratio:.0%} like {entry.key}'s (line {entry.line}): "
                    "likely the same study",
                    "a different study, or --force",
                )
            )
        if shared and not force:
            problems.append(
                Problem(
                    "snippet",
                    None,
                    new.key,
                    "registration",
                    f"trial {', '.join(sorted(shared))} is also {entry.key}'s "
                    f"(line {entry.line}): likely the same cohort",
                    "one entry per study (put the other report in note), or --force",
                )
            )
    return problems


def _plain(title: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", title.lower())


def _arm_problems(
    key: str, arms: list[Arm], fields: dict[str, str], no_numbers: bool
) -> list[Problem]:
    problems = []
    groups = set(split_list(_field(fields, "cell_groups"))) | {"G-CSF", "control"}
    labels = [a.label for a in arms]
    for arm in arms:
        if arm.group not in groups:
            problems.append(
                Problem(
                    "--arm",
                    None,
                    key,
                    "group",
                    f"arm {arm.label!r}: group {arm.group!r} is not among the entry's cell_groups",
                    "one of " + ", ".join(sorted(groups)),
                )
            )
        if labels.count(arm.label) > 1:
            problems.append(
                Problem(
                    "--arm", None, key, "arm", f"arm {arm.label!r} given twice", "each arm once"
                )
            )
    if not arms and not no_numbers and _field(fields, "species") == "human":
        problems.append(
            Problem(
                "--arm",
                None,
                key,
                "arm",
                "no arms given",
                "--arm LABEL=GROUP[:N] for each arm, or --no-numbers REASON",
            )
        )
    return problems


def _outcome_template(
    key: str, arms: list[Arm], outcomes: Sequence[str], timepoint: str
) -> list[list[str]]:
    rows = []
    for outcome in outcomes:
        unit = schema.UNITS[outcome][0]
        binary = outcome in schema.BINARY_OUTCOMES
        moments = (
            [(timepoint, ("events", "total"))]
            if binary
            else [("baseline", ("mean", "sd")), (timepoint, ("mean", "sd"))]
        )
        for arm in arms:
            for tp, statistics in moments:
                for statistic in statistics:
                    rows.append(
                        [
                            key,
                            arm.label,
                            outcome,
                            "level",
                            tp,
                            statistic,
                            "",
                            unit,
                            "",
                            "",
                            "",
                            "",
                            "",
                        ]
                    )
    return rows


def _append_rows(text: str, table: schema.TableSpec, rows: list[list[str]]) -> str:
    """The file's ``text`` with ``rows`` appended (CSV-quoted); existing bytes are kept."""
    header = next(csv.reader(io.StringIO(text.removeprefix("\ufeff"))), None)
    if header is None:
        raise AddRefused(
            [
                Problem(
                    table.path,
                    1,
                    None,
                    None,
                    "file is empty",
                    "a header row: " + ",".join(table.columns),
                )
            ]
        )
    names = [h.strip() for h in header]
    # A file may stop before trailing optional columns added later (arms.csv's comparator).
    if names != list(table.columns)[: len(names)] or any(
        len(r) > len(names) and any(r[len(names) :]) for r in rows
    ):
        raise AddRefused(
            [Problem(table.path, 1, None, None, "unexpected header", ",".join(table.columns))]
        )
    rows = [(r + [""] * len(names))[: len(names)] for r in rows]
    newline = "\r\n" if "\r\n" in text else "\n"
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(rows)
    if text and not text.endswith(("\n", "\r")):
        text += newline
    return text + out.getvalue()


def apply(change: Change) -> None:
    """Write every file of the change, or none; refuses (:class:`ChangedUnderneath`) if a file
    no longer holds what :func:`plan_add` read."""
    commit(change.root, change.files, change.before)


__all__ = ["AddRefused", "Arm", "Change", "apply", "plan_add", "read_snippet"]
