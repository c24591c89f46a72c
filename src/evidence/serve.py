"""``evidence serve``: the dashboard (notebooks/app.ipynb) served by Voila on 127.0.0.1.

Everything Voila needs is set here, in :func:`voila_argv` (command-line options win over any
``voila.json`` a user may have), plus the template in ``evidence/jupyter/voila/templates``:

- only ``notebooks/app.ipynb`` is served (single-notebook mode: no file browser, no other
  notebook can be executed); sources stripped; tracebacks never shown to viewers;
- a pool of preheated kernels that have already run the notebook, so a page is served at once
  (``$EVIDENCE_POOL_SIZE``, default 2);
- idle kernels culled: Voila keeps a kernel for every page ever opened, so a kernel with no
  open page for ``$EVIDENCE_CULL_IDLE`` seconds (default 600) is shut down (checked every
  ``$EVIDENCE_CULL_INTERVAL`` seconds, default 60). Pooled kernels are never culled;
- no request leaves the machine: the "evidence" template drops the lab template's Font Awesome
  and mermaid.js CDN links (the dashboard uses neither);
- plotly's widget bundle (5 MB of JavaScript) is served once as a static file of the template
  (a copy of the installed plotly's own file in a temporary Jupyter data directory) instead of
  travelling over the websocket inside every FigureWidget: the browser loads and compiles it
  once per page (and caches it), not once per plot. Kernels learn its path from
  ``$EVIDENCE_PLOTLY_BUNDLE`` (see :func:`evidence.app.views.figure_widget`).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

NOTEBOOK = Path("notebooks") / "app.ipynb"
TEMPLATE = "evidence"
#: A Jupyter data directory inside the package: voila/templates/evidence lives there.
JUPYTER_DATA = Path(__file__).resolve().parent / "jupyter"
ROOT_ENV = "EVIDENCE_ROOT"  # read by evidence.app.views.find_root in the kernels
BUNDLE_ENV = "EVIDENCE_PLOTLY_BUNDLE"  # read by evidence.app.views.figure_widget
BUNDLE_NAME = "plotly-widgetbundle.js"

POOL_ENV, POOL_DEFAULT = "EVIDENCE_POOL_SIZE", 2
CULL_ENV, CULL_DEFAULT = "EVIDENCE_CULL_IDLE", 600
CULL_INTERVAL_ENV, CULL_INTERVAL_DEFAULT = "EVIDENCE_CULL_INTERVAL", 60


def _env_int(name: str, default: int, minimum: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SystemExit(f"evidence serve: {name} must be an integer, got {text!r}") from None
    if value < minimum:
        raise SystemExit(f"evidence serve: {name} must be at least {minimum}, got {value}")
    return value


def voila_argv(
    notebook: Path,
    port: int,
    open_browser: bool,
    pool_size: int,
    cull_idle_timeout: int,
    cull_interval: int,
) -> list[str]:
    """Voila's command line for the dashboard (see the module docstring for each choice)."""
    argv = [
        str(notebook),
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",  # the port asked for, or a clear error
        f"--template={TEMPLATE}",
        "--theme=light",
        "--strip_sources=True",
        "--show_tracebacks=False",
        f"--preheat_kernel={pool_size > 0}",
        f"--pool_size={pool_size}",
        # Preheated kernels wait for their request; refill the pool soon after one is used.
        "--VoilaKernelManager.fill_delay=0.5",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle_timeout}",
        f"--MappingKernelManager.cull_interval={cull_interval}",
        "--MappingKernelManager.cull_connected=False",  # an open page keeps its kernel
        "--VoilaConfiguration.http_keep_alive_timeout=10",
        # Frontend extensions the page does not need: plotly's mime renderer (4.8 MB of
        # JavaScript; every plot is a FigureWidget) and code highlighting (no code is shown).
        "--VoilaConfiguration.extension_denylist=jupyterlab-plotly",
        "--VoilaConfiguration.extension_denylist=jupyterlab_pygments",
    ]
    if not open_browser:
        argv.append("--no-browser")
    return argv


def _bundle_dir() -> Path:
    """A temporary Jupyter data directory whose "evidence" template serves plotly's bundle."""
    import plotly

    bundle = Path(plotly.__file__).resolve().parent / "package_data" / "widgetbundle.js"
    runtime = Path(tempfile.mkdtemp(prefix="evidence-voila-"))
    static = runtime / "voila" / "templates" / TEMPLATE / "static"
    static.mkdir(parents=True)
    # A copy, not a symlink: tornado (>= 6.5) refuses symlinks that leave the static root.
    shutil.copyfile(bundle, static / BUNDLE_NAME)
    return runtime


def serve(
    port: int = 8866,
    open_browser: bool = True,
    root: Path = Path("."),
    *,
    pool_size: int | None = None,
    cull_idle_timeout: int | None = None,
    cull_interval: int | None = None,
) -> int:
    """Serve the dashboard until interrupted (Ctrl-C or SIGTERM shut every kernel down).

    Returns 0 after a clean stop, 2 when the project folder has no ``notebooks/app.ipynb``.
    """
    root = Path(root).resolve()
    notebook = root / NOTEBOOK
    if not notebook.is_file():
        print(f"evidence serve: no {NOTEBOOK} under {root} (use --root)", file=sys.stderr)
        return 2
    if not 0 < port < 65536:
        print(f"evidence serve: invalid port {port}", file=sys.stderr)
        return 2
    pool = _env_int(POOL_ENV, POOL_DEFAULT, 0) if pool_size is None else pool_size
    cull = _env_int(CULL_ENV, CULL_DEFAULT, 1) if cull_idle_timeout is None else cull_idle_timeout
    interval = (
        _env_int(CULL_INTERVAL_ENV, CULL_INTERVAL_DEFAULT, 1)
        if cull_interval is None
        else cull_interval
    )
    # Kernels inherit this environment: the dataset root, and our template directory first on
    # Jupyter's data path.
    runtime = _bundle_dir()
    os.environ[ROOT_ENV] = str(root)
    os.environ[BUNDLE_ENV] = f"templates/{TEMPLATE}/static/{BUNDLE_NAME}"
    extra = os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
    paths = [str(JUPYTER_DATA), str(runtime), *filter(None, extra)]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))

    from voila.app import Voila

    argv = voila_argv(notebook, port, open_browser, pool, cull, interval)
    print(
        f"evidence: serving the dashboard at http://127.0.0.1:{port}/ "
        f"(pool {pool}, idle kernels culled after {cull} s; Ctrl-C stops)",
        file=sys.stderr,
    )
    try:
        Voila.launch_instance(argv=argv)
    finally:
        Voila.clear_instance()
        shutil.rmtree(runtime, ignore_errors=True)
    return 0


def main() -> int:  # python -m evidence.serve [port]
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8866
    return serve(port=port, open_browser=False)


if __name__ == "__main__":
    raise SystemExit(main())
