"""The registry of studies: ``references.bib`` read with bibtexparser 2, byte-faithfully.

We parse with an empty parse stack (so bibtexparser keeps every value exactly as written) and
apply two small steps of our own: resolve ``@string`` macros and remove enclosing braces or
quotes. Doing it ourselves lets us report what bibtexparser's default stack would silently keep:
an undefined macro, a value that swallowed the next field because of a missing comma.

The file's text is kept as read, so writing it back is byte-identical; new entries are appended
as text (see :func:`append_entry`), never by re-serialising the library.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import bibtexparser
from bibtexparser import model

from evidence.data.problems import Problem

MONTHS = {
    m: m
    for m in (["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
}
_SWALLOWED_FIELD = re.compile(r"[}\"],?\s*\n\s*[A-Za-z_][\w-]*\s*=")


class UnreadableFile(Exception):
    """A dataset file is missing or cannot be decoded: not a data error, a usage error."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: cannot read: {reason}")


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


def read_text(path: Path) -> str:
    """Read a UTF-8 text file, naming the line of the first undecodable byte."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableFile(path, "no such file") from None
    except OSError as exc:
        raise UnreadableFile(path, exc.strerror or str(exc)) from None
    return decode_text(data, path)


def decode_text(data: bytes, path: Path | str) -> str:
    """``data`` as UTF-8; :class:`UnreadableFile` naming ``path`` and the line otherwise."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableFile(
            path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8", line
        ) from None


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


# --- writing ----------------------------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def _write_temp(path: Path, text: str) -> Path:
    """``text`` in a new temporary file beside ``path`` (synced to disk), with the mode ``path``
    has or would get; the caller renames it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600): keep an existing file's mode, and give a new
        # file the mode any other new file gets (0666 less the umask), e.g. a report to share
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: never a half-written file."""
    tmp = _write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sync_dir(path: Path) -> None:
    # a rename is durable once its folder is synced (best effort: not every OS allows it)
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- several files as one change: a lock, a check, temporary files, a journal, renames ---------

LOCK_FILE = ".evidence.lock"
JOURNAL_FILE = ".evidence-journal.json"
LOCK_TIMEOUT = 300.0  # seconds another command may hold the dataset before we give up
# The dataset files a command writes; leftovers of their temporary files are looked for here.
DATASET_FILES = ("references.bib", "data/arms.csv", "data/outcomes.csv", "data/external.csv")


class ChangedUnderneath(Exception):
    """A file changed between the moment a command read it and the moment it would write."""

    def __init__(self, names: list[str]):
        self.names = names
        super().__init__(
            f"{', '.join(names)} changed while this command ran (edited by hand or by another "
            "program); nothing was written: run the command again"
        )


@contextlib.contextmanager
def dataset_lock(root: Path | str, *, required: bool = True) -> Iterator[bool]:
    """Hold the dataset's lock (``.evidence.lock`` in ``root``) for the ``with`` block, waiting
    for another command that holds it. Yields whether the lock is held: a reader
    (``required=False``) of a folder it cannot write, or where no writer has run yet, reads
    without it."""
    from filelock import FileLock, Timeout

    root = Path(root)
    if not required and not (root / LOCK_FILE).exists():
        # A reader does not create the lock file (reading leaves the folder as it was); without
        # it no writer has run here yet, so there is nothing to wait for or to recover.
        yield False
        return
    lock = FileLock(root / LOCK_FILE, timeout=LOCK_TIMEOUT, fallback_to_soft=False)
    try:
        lock.acquire()
    except Timeout:
        raise UnreadableFile(
            root / LOCK_FILE,
            f"another evidence command has held the dataset for {LOCK_TIMEOUT:.0f} s",
        ) from None
    except OSError as exc:
        if required or (root.is_dir() and os.access(root, os.W_OK)):
            raise UnreadableFile(root / LOCK_FILE, f"cannot lock: {exc.strerror or exc}") from None
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def commit(root: Path | str, files: Mapping[str, str], before: Mapping[str, str | None]) -> None:
    """Write several files of the dataset as one change. Call with :func:`dataset_lock` held.

    ``files`` maps names (relative to ``root``) to their new text, ``before`` to the text the
    command read (``None``: absent). Refuses with :class:`ChangedUnderneath` if a file no longer
    holds what was read. Every temporary file is written and synced first, then a journal
    listing them, then the renames, then the journal is removed: a crash before the journal
    leaves the files as they were (plus temporary files :func:`recover` removes), a crash after
    it leaves a journal :func:`recover` completes.
    """
    root = Path(root)
    changed = [name for name in files if _current(root / name) != before.get(name)]
    if changed:
        raise ChangedUnderneath(changed)
    temps: dict[str, Path] = {}
    try:
        for name, text in files.items():
            try:
                temps[name] = _write_temp(root / name, text)
            except OSError as exc:  # a full disk: name the file, write nothing
                raise UnreadableFile(
                    root / name, f"could not write: {exc.strerror or exc}; nothing was written"
                ) from None
        journal = {name: str(tmp.relative_to(root)) for name, tmp in temps.items()}
        write_atomic(root / JOURNAL_FILE, json.dumps({"renames": journal}, indent=1))
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    done: list[str] = []
    try:
        for name, tmp in temps.items():
            os.replace(tmp, root / name)
            done.append(name)
    except Exception:
        # a rename failed in this process (no crash): put back what was renamed
        for name in done:
            old = before.get(name)
            if old is None:
                (root / name).unlink(missing_ok=True)
            else:
                write_atomic(root / name, old)
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        (root / JOURNAL_FILE).unlink(missing_ok=True)
        raise
    for folder in {(root / name).parent for name in files}:
        _sync_dir(folder)
    (root / JOURNAL_FILE).unlink()
    _sync_dir(root)


def _current(path: Path) -> str | None:
    try:
        return read_text(path)
    except UnreadableFile:
        return None if not path.exists() else "\0unreadable"


def recover(root: Path | str) -> list[str]:
    """Finish or undo what an interrupted command left in ``root`` (call with the lock held);
    one message per thing done, for the user to read: nothing is fixed silently."""
    root = Path(root)
    messages = []
    journal = root / JOURNAL_FILE
    if journal.exists():
        try:
            renames = json.loads(journal.read_text(encoding="utf-8"))["renames"]
        except (ValueError, KeyError, OSError) as exc:
            raise UnreadableFile(
                journal, f"an interrupted command left a journal that cannot be read ({exc})"
            ) from None
        finished = []
        for name, tmp in renames.items():
            if (root / tmp).exists():
                os.replace(root / tmp, root / name)
                finished.append(name)
        _sync_dir(root)
        journal.unlink()
        messages.append(
            "an interrupted command had written all its files but not renamed every one; "
            f"finished it ({', '.join(finished) or 'nothing left to rename'})"
        )
    for name in (*DATASET_FILES, JOURNAL_FILE):
        target = root / name
        for leftover in sorted(target.parent.glob(f".{target.name}.*.tmp")):
            leftover.unlink()
            messages.append(
                f"removed {leftover.relative_to(root)}, left by an interrupted command "
                f"({name} itself was not changed)"
            )
    return messages


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
