"""The registry of studies: ``references.bib`` read with bibtexparser 2, byte-faithfully.

We parse with an empty parse stack (so bibtexparser keeps every value exactly as written) and
apply two small steps of our own: resolve ``@string`` macros and remove enclosing braces or
quotes. Doing it ourselves lets us report what bibtexparser's default stack would silently keep:
an undefined macro, a value that swallowed the next field because of a missing comma.

The file's text is kept as read, so writing it back is byte-identical; new entries are appended
as text (see :func:`append_entry`), never by re-serialising the library.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bibtexparser
from bibtexparser import model

from evidence.data.problems import Problem
from evidence.storage import read_text, write_atomic

MONTHS = {
    m: m
    for m in (["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
}
_SWALLOWED_FIELD = re.compile(r"[}\"],?\s*\n\s*[A-Za-z_][\w-]*\s*=")


@dataclass(frozen=True)
class BibEntry:
    """One entry: its key, type, 1-based line and fields (values with enclosing removed).

    ``raw`` is the entry's text exactly as in the file.
    """

    key: str
    entry_type: str
    line: int
    fields: dict[str, str]
    field_lines: dict[str, int]
    raw: str = ""

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)

    def line_of(self, name: str) -> int:
        return self.field_lines.get(name, self.line)


@dataclass(frozen=True)
class Piece:
    """A stretch of the file: a block (entry, @string, comment...) or the whitespace between."""

    text: str
    key: str | None = None  # the citekey, for an entry


@dataclass(frozen=True)
class Registry:
    """The bib file as read: its pieces, parsed entries and the problems found while parsing.

    The pieces cover the file exactly, so :func:`render` gives back every byte; edits replace or
    add pieces and leave the others untouched.
    """

    path: Path
    text: str
    entries: tuple[BibEntry, ...]
    problems: tuple[Problem, ...] = field(default=())
    pieces: tuple[Piece, ...] = field(default=())

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(e.key for e in self.entries)

    def __getitem__(self, key: str) -> BibEntry:
        for entry in self.entries:
            if entry.key == key:
                return entry
        raise KeyError(key)

    def get(self, key: str) -> BibEntry | None:
        return next((e for e in self.entries if e.key == key), None)

    def __contains__(self, key: object) -> bool:
        return any(e.key == key for e in self.entries)


def read_registry(path: Path | str, display: str | None = None) -> Registry:
    """Read and parse a bib file. Raises :class:`UnreadableFile` if it cannot be read at all."""
    path = Path(path)
    text = read_text(path)
    return parse_registry(text, path, display or path.name)


def parse_registry(text: str, path: Path, display: str) -> Registry:
    library = _parse(text)
    macros, problems = _macros(library, display)
    entries: list[BibEntry] = []
    pieces = _pieces(text, library)
    for block in library.blocks:
        line = block.start_line + 1
        if isinstance(block, model.DuplicateBlockKeyBlock):
            problems.append(
                Problem(
                    display,
                    line,
                    block.key,
                    None,
                    f"duplicate citekey {block.key!r}",
                    "each citekey once",
                )
            )
        elif isinstance(block, model.DuplicateFieldKeyBlock):
            dupes = ", ".join(sorted(block.duplicate_keys))
            problems.append(
                Problem(
                    display,
                    line,
                    _guess_key(block.raw),
                    dupes,
                    f"field(s) {dupes} given twice in one entry",
                    "each field once per entry",
                )
            )
        elif isinstance(block, model.ParsingFailedBlock):
            problems.append(
                Problem(
                    display,
                    line,
                    _guess_key(block.raw),
                    None,
                    f"malformed BibTeX: {failure_reason(block)}",
                    "@type{citekey, field = {value}, ...} with balanced braces",
                )
            )
        elif isinstance(block, model.Entry):
            entry, entry_problems = _entry(block, macros, display)
            problems.extend(_key_problems(entry, entries, display))
            entries.append(entry)
            problems.extend(entry_problems)
        elif isinstance(block, model.ImplicitComment) and _looks_like_lost_bibtex(block.comment):
            problems.append(
                Problem(
                    display,
                    line,
                    None,
                    None,
                    f"text outside any entry is ignored: {_first_line(block.comment)!r}",
                    "text outside entries only in '%' comment lines",
                    severity="warning",
                )
            )
    return Registry(path, text, tuple(entries), tuple(problems), pieces)


# What BibTeX accepts in a citekey without trouble: no space, comma, brace, quote, '#', '%',
# '=' or backslash (BibTeX stops the key at a space or comma; LaTeX chokes on the others).
_CITEKEY = re.compile(r"[^\s,{}()\"'#%=\\~]+")


def _key_problems(entry: BibEntry, earlier: list[BibEntry], display: str) -> list[Problem]:
    """A citekey BibTeX would reject, or one that differs from an earlier key only by case
    (BibTeX warns and treats them as one: the second study's citations go to the first)."""
    problems = []
    if not _CITEKEY.fullmatch(entry.key):
        problems.append(
            Problem(
                display,
                entry.line,
                entry.key,
                None,
                f"citekey {entry.key!r} has characters BibTeX rejects",
                "letters, digits and - _ : . / + only, e.g. smith2020_trial",
            )
        )
    same = next(
        (e for e in earlier if e.key != entry.key and e.key.lower() == entry.key.lower()), None
    )
    if same is not None:
        problems.append(
            Problem(
                display,
                entry.line,
                entry.key,
                None,
                f"citekey {entry.key!r} differs from {same.key!r} (line {same.line}) only by case",
                "citekeys that differ in more than case (BibTeX takes them for one)",
            )
        )
    return problems


def _pieces(text: str, library: bibtexparser.Library) -> tuple[Piece, ...]:
    """Split ``text`` into the blocks' raw text and the gaps between them, in order."""
    pieces: list[Piece] = []
    pos = 0
    for block in library.blocks:
        start = text.find(block.raw, pos)
        if start < 0 or text[pos:start].strip():
            return (Piece(text),)  # cannot align: keep the file as one piece, lose nothing
        if start > pos:
            pieces.append(Piece(text[pos:start]))
        key = block.key if isinstance(block, model.Entry) else None
        pieces.append(Piece(block.raw, key))
        pos = start + len(block.raw)
    if pos < len(text):
        pieces.append(Piece(text[pos:]))
    return tuple(pieces)


def render(registry: Registry) -> str:
    """The file's text rebuilt from its pieces (byte-identical to the file for a clean read)."""
    return "".join(piece.text for piece in registry.pieces)


def _parse(text: str) -> bibtexparser.Library:
    # bibtexparser logs each failed block as a warning; we report them as Problems instead.
    logger = logging.getLogger("bibtexparser")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return bibtexparser.parse_string(text, parse_stack=[])
    finally:
        logger.setLevel(previous)


def _entry(
    block: model.Entry, macros: dict[str, str], display: str
) -> tuple[BibEntry, list[Problem]]:
    problems: list[Problem] = []
    fields: dict[str, str] = {}
    lines: dict[str, int] = {}
    spelled: dict[str, str] = {}
    for f in block.fields:
        name = f.key.lower()
        line = f.start_line + 1
        if name in spelled:
            # BibTeX field names ignore case: 'design' then 'DESIGN' is one field given twice,
            # and the last value would silently win (exact repeats are bibtexparser's to report).
            problems.append(
                Problem(
                    display,
                    line,
                    block.key,
                    name,
                    f"field {spelled[name]!r} given twice in one entry (again as {f.key!r})",
                    "each field once per entry",
                )
            )
        spelled.setdefault(name, f.key)
        lines[name] = line
        value, problem = _value(f.value, macros)
        if problem:
            problems.append(Problem(display, line, block.key, name, problem[0], problem[1]))
        if _SWALLOWED_FIELD.search(f.value):
            problems.append(
                Problem(
                    display,
                    line,
                    block.key,
                    name,
                    "value runs into the next field (missing comma?)",
                    "a comma after each field value",
                )
            )
        fields[name] = value
    entry = BibEntry(
        block.key, block.entry_type.lower(), block.start_line + 1, fields, lines, block.raw
    )
    return entry, problems


def _value(raw: str, macros: dict[str, str]) -> tuple[str, tuple[str, str] | None]:
    value, problem = _resolve(raw, macros)
    return _normalise_space(value), problem


def _macros(library: bibtexparser.Library, display: str) -> tuple[dict[str, str], list[Problem]]:
    """@string macros resolved as BibTeX does: in file order, each from the ones defined before
    it (so a chain resolves and a loop cannot), ``#`` concatenating its parts."""
    macros = dict(MONTHS)
    problems: list[Problem] = []
    for string in library.strings:
        value, problem = _resolve(string.value, macros)
        if problem:
            problems.append(
                Problem(
                    display,
                    string.start_line + 1,
                    None,
                    None,
                    f"@string{{{string.key}}}: {problem[0]}",
                    problem[1] + " (a macro is defined before it is used)",
                )
            )
        macros[string.key.lower()] = value
    return macros, problems


def _resolve(raw: str, macros: dict[str, str]) -> tuple[str, tuple[str, str] | None]:
    """A field value: ``{...}``, ``"..."``, digits or macro names, joined by ``#``."""
    values, problem = [], None
    for part in _concatenated(raw.strip()):
        if len(part) >= 2 and (part[0], part[-1]) in (("{", "}"), ('"', '"')) and _enclosed(part):
            values.append(part[1:-1])
        elif part.isascii() and part.isdigit():
            values.append(part)
        elif part.lower() in macros:
            values.append(macros[part.lower()])
        else:
            values.append(part)
            if problem is None:
                what = f"undefined @string macro {part!r}" if part else "an empty part around '#'"
                problem = (what, "a value in {braces} or a defined @string")
    return "".join(values), problem


def _concatenated(raw: str) -> list[str]:
    """``raw`` split at each ``#`` outside braces and quotes, each part stripped."""
    parts, start, depth, quoted = [], 0, 0, False
    for i, ch in enumerate(raw):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == "#" and depth == 0 and not quoted:
            parts.append(raw[start:i].strip())
            start = i + 1
    parts.append(raw[start:].strip())
    return parts


def _enclosed(raw: str) -> bool:
    """True when the outer braces or quotes wrap the whole value (not ``{a} # {b}``)."""
    if raw[0] == '"':
        return '"' not in raw[1:-1]
    depth = 0
    for i, ch in enumerate(raw):
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 0 and i < len(raw) - 1:
            return False
    return True


def _normalise_space(value: str) -> str:
    return " ".join(value.split())


def _first_line(text: str) -> str:
    return " ".join(text.split())[:160]


def failure_reason(block: model.ParsingFailedBlock) -> str:
    """Why bibtexparser gave up on a block, in one line. Its BlockAbortedException prints as
    an empty string (the reason is only logged), so read the reason from the exception."""
    error = block.error
    reason = getattr(error, "abort_reason", None) or str(error) or type(error).__name__
    return _first_line(str(reason))


def _guess_key(raw: str) -> str | None:
    m = re.match(r"\s*@\w+\s*[{(]\s*([^,\s]+)\s*,", raw)
    return m.group(1) if m else None


def _looks_like_lost_bibtex(comment: str) -> bool:
    # Free text between entries is legal BibTeX; stray braces or '=' usually mean a broken entry.
    stripped = "\n".join(line for line in comment.splitlines() if not line.lstrip().startswith("%"))
    return any(ch in stripped for ch in "{}=@")


def iter_entries(registry: Registry, kind: str | None = None) -> Iterator[BibEntry]:
    for entry in registry.entries:
        if kind is None or entry.get("kind") == kind:
            yield entry


def save(registry: Registry, path: Path | None = None) -> None:
    """Write the registry (atomically). An unchanged registry is written byte for byte as read."""
    write_atomic(path or registry.path, render(registry))


def append_entry(registry: Registry, entry_text: str) -> Registry:
    """A new registry with ``entry_text`` appended; every existing byte is kept."""
    text = render(registry)
    trailing = len(text) - len(text.rstrip("\n"))
    separator = "\n" * (2 - min(trailing, 2)) if text else ""  # one blank line before the entry
    new_text = text + separator + entry_text.strip("\n") + "\n"
    return parse_registry(new_text, registry.path, registry.path.name)


def replace_entry(registry: Registry, key: str, entry_text: str) -> Registry:
    """A new registry with entry ``key`` replaced by ``entry_text``; other pieces unchanged."""
    if not any(piece.key == key for piece in registry.pieces):
        raise KeyError(key)
    text = "".join(entry_text if piece.key == key else piece.text for piece in registry.pieces)
    return parse_registry(text, registry.path, registry.path.name)
