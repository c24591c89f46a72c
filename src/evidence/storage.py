"""The dataset's files on disk: read as UTF-8 (naming the line of a bad byte), written
atomically (a temporary file and a rename: never a half-written file), and several files written
as one change under the dataset's lock, with a journal that lets :func:`recover` finish or undo
a change a crash interrupted.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path


class UnreadableFile(Exception):
    """A dataset file is missing or cannot be decoded: not a data error, a usage error."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: cannot read: {reason}")


# --- reading ----------------------------------------------------------------------------------


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


# --- writing ----------------------------------------------------------------------------------


def umask() -> int:
    """The process's umask (the mode bits a new file or folder does not get)."""
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
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask())
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


def sync_dir(path: Path) -> None:
    """Sync a folder to disk: a rename in it is durable once it is (best effort: not every OS
    allows it)."""
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
        sync_dir(folder)
    (root / JOURNAL_FILE).unlink()
    sync_dir(root)


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
        sync_dir(root)
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
