"""What every command shares: exit codes, the dataset lock, and the check that an output can be
written before the work starts."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2

Command = Callable[[argparse.Namespace], int]


def unwritable(path: Path, directory: bool = False) -> str | None:
    """Why ``path`` (a file to write, or a folder to create) cannot be written, checked before
    the work starts: a report that takes seconds to build should not fail at its last step."""
    import os

    path = Path(path)
    if directory and path.is_dir():
        return None if os.access(path, os.W_OK) else f"cannot write into {path}: permission denied"
    if path.is_dir():
        return f"cannot write {path}: it is a folder"
    parent = path.parent
    while not parent.exists() and directory and parent != parent.parent:
        parent = parent.parent  # a folder to create: its nearest existing ancestor decides
    if not parent.is_dir():
        return f"cannot write {path}: no folder {path.parent}"
    if not os.access(parent, os.W_OK):
        return f"cannot write {path}: permission denied in {parent}"
    return None


@contextlib.contextmanager
def locked(root: Path, command: str, *, write: bool = False) -> Iterator[None]:
    """Hold the dataset's lock (a writer from its first read to its last rename; a reader while
    it reads, so it never sees half of another command's change), after finishing or undoing
    what an interrupted command left, and saying so."""
    from evidence.storage import dataset_lock, recover

    with dataset_lock(root, required=write) as held:
        if held:
            for message in recover(root):
                print(f"evidence {command}: {message}", file=sys.stderr)
        yield
