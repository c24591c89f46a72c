"""The page's big scripts, served with V8's compile hint so they compile off the main thread.

A browser compiles most of a script's functions lazily: on the page's main thread, the first
time each is called. For plotly.js (1.5 MB) and Voila's front end (about 3.5 MB of it loaded
by a page) that is a few hundred milliseconds of a page load's main-thread work, during which
the page cannot answer the viewer. The comment ``//# allFunctionsCalledOnLoad`` on a script's
first line (Chrome's explicit compile hints, since Chrome 136) asks V8 to compile every
function of the file eagerly instead, on the background thread that streams the script in.
The renderer's total CPU stays about the same; the main thread does less (benchmarks/bench_app.py
measures both). Browsers without it read a comment.

``evidence serve`` serves copies of these files with the hint in front, from its temporary
Jupyter data directory, which Voila searches before the installed ones: plotly.js and every
script of the installed Voila's front end (``voila.js``, its chunks, ``voila-style.js``) in
the "evidence" template's static folder; the JupyterLab extensions the page loads (the widget
managers, anywidget) in its ``labextensions`` folder, each a copy of the installed extension's
folder with its scripts hinted. The installed files are not changed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

HINT = b"//# allFunctionsCalledOnLoad\n"


def copy_hinted(src: Path, dest: Path) -> None:
    """``src`` written to ``dest`` with :data:`HINT` as its first line."""
    with open(src, "rb") as f, open(dest, "wb") as out:
        out.write(HINT)
        shutil.copyfileobj(f, out)


def voila_front_end() -> Path | None:
    """The static folder Voila serves its front end from (``/voila/static/voila.js``): the
    first ``voila/templates/base/static`` on Jupyter's data path that has ``voila.js``."""
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("voila", "templates", "base", "static"):
        if (Path(folder) / "voila.js").is_file():
            return Path(folder)
    return None


def hint_voila_front_end(dest: Path) -> int:
    """Copies of the Voila front end's scripts, hinted, into ``dest`` (a static folder that
    Voila searches first); how many were written (0 when Voila's front end is not found, and
    the page then loads Voila's own files)."""
    source = voila_front_end()
    if source is None:
        return 0
    written = 0
    for script in sorted(source.glob("*.js")):
        copy_hinted(script, dest / script.name)
        written += 1
    return written


def hint_labextensions(data_dir: Path, skip: Iterable[str] = ()) -> list[str]:
    """Copies of the installed federated JupyterLab extensions Voila would serve (except
    ``skip``, the ones the page never loads), each folder whole with its scripts hinted, into
    the Jupyter data directory ``data_dir`` (first on Jupyter's data path, so that Voila lists
    and serves these copies): under ``labextensions/`` or ``voila/labextensions/`` as the
    original, so that Voila lists them in the same order; the names copied."""
    from jupyterlab_server.config import get_federated_extensions
    from voila.utils import get_voila_labextensions_path

    skipped = set(skip)
    copied: list[str] = []
    for name, ext in get_federated_extensions(get_voila_labextensions_path()).items():
        if name in skipped:
            continue
        source = Path(ext["ext_path"])
        voila_own = source.parents[len(Path(name).parts)].name == "voila"  # voila/labextensions
        target = data_dir / ("voila" if voila_own else "") / "labextensions" / name
        shutil.copytree(source, target, copy_function=_hinting_copy(source / "static"))
        copied.append(name)
    return copied


def _hinting_copy(scripts: Path) -> Callable[[str, str], None]:
    """A copy function for :func:`shutil.copytree` that hints the scripts directly in
    ``scripts`` (an extension's ``static`` folder) and copies every other file as it is."""

    def copy(src: str, dest: str) -> None:
        source = Path(src)
        if source.suffix == ".js" and source.parent == scripts:
            copy_hinted(source, Path(dest))
        else:
            shutil.copy2(source, dest)

    return copy
