"""Everything the product computes, in forms that travel beyond it.

* :mod:`evidence.export.rscript` - per analysis an R script, the arm-level numbers it starts from
  and the product's own pooled results, so that anyone can rerun them with metafor;
* :mod:`evidence.export.datapackage` - the dataset as a Frictionless Data package.

Both write a whole folder at once (:func:`write_folder`): never a half-written export.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from evidence.storage import umask

#: The file that marks a folder as written by an export, so a rerun may replace it.
MANIFEST = "export.json"


class ExportError(Exception):
    """An export that cannot be written where asked (the CLI's usage error, exit 2)."""


def check_target(out: Path, marker: str = MANIFEST) -> None:
    """Refuse a target the export would clobber: a file, or a folder of someone else's files.

    An empty folder or one written by an earlier export (it holds ``marker``) is replaced.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / marker).is_file():
        raise ExportError(f"{out} is a folder with other files in it; choose a new or empty folder")
    parent = out.resolve().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # folders to create: their nearest existing ancestor decides
    if not parent.is_dir():
        raise ExportError(f"cannot write {out}: {parent} is not a folder")
    if not os.access(parent, os.W_OK):
        raise ExportError(f"cannot write {out}: permission denied in {parent}")


def write_folder(files: Mapping[str, bytes | str], out: Path, marker: str = MANIFEST) -> None:
    """Write ``files`` (relative path -> content) as the folder ``out``, all or nothing.

    Everything goes into a temporary sibling folder first, which is renamed into place; an
    earlier export at ``out`` (a folder holding ``marker``) is replaced only after the new one
    is complete.
    """
    out = Path(out)
    check_target(out, marker)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    old: Path | None = None
    try:
        for relative, content in files.items():
            path = tmp / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else content
            path.write_bytes(data)
        # mkdtemp makes the folder private (0700); an export is meant to be shared.
        mode = 0o777 & ~umask()
        for folder in [tmp, *(p for p in tmp.rglob("*") if p.is_dir())]:
            folder.chmod(mode)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=parent))
            old.rmdir()
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists() and not out.exists():
            old.rename(out)  # put the earlier export back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


__all__ = ["MANIFEST", "ExportError", "check_target", "write_folder"]
