"""``evidence serve``: the dashboard (notebooks/app.ipynb) served by Voila, to a room of viewers.

Everything Voila needs is set here, in :func:`voila_argv` (command-line options win over any
``voila.json`` a user may have), in :mod:`evidence.serving` (the application class, kernel
manager and handlers) and in the template ``evidence/jupyter/voila/templates/evidence``:

- only ``notebooks/app.ipynb`` is served, at the root URL (no file browser, no other notebook,
  no file of the project: every other path is 404); sources stripped; tracebacks never shown
  to viewers (a short message is; the log keeps the detail); ``?template=``/``?theme=`` ignored;
- listens on 127.0.0.1 unless told otherwise (``--ip``/``$EVIDENCE_IP``); beyond loopback
  only with a token (``--token auto|VALUE``/``$EVIDENCE_TOKEN``) unless
  ``--insecure-no-token`` (e.g. behind a proxy that authenticates viewers itself);
- behind JupyterHub (``--hub``/``$EVIDENCE_HUB=1``, as a hub service or as each user's
  server): viewers log in with the hub (OAuth); address and prefix come from JupyterHub
  (see evidence.serving.hub and deploy/);
- a pool of preheated kernels that have already run the notebook, so a page is served at once
  (``$EVIDENCE_POOL_SIZE``, default 2; for a room of N viewers, N);
- while a pool kernel waits for its viewer, it computes the states one control change away
  (:mod:`evidence.app.prefetch`; ``$EVIDENCE_PREFETCH=0`` turns it off);
- a cap on kernels (``$EVIDENCE_MAX_KERNELS``, default 20), **pool included**, so that it
  bounds memory too (about 200 MB a kernel): the next viewer gets HTTP 503, a "room is full"
  page that retries by itself every ``$EVIDENCE_RETRY_AFTER`` seconds (default 10);
- each kernel belongs to the viewer its page was served to (the signed login cookie): its
  websocket, model and shutdown are refused to anyone else, whoever knows its id;
- kernels whose page is gone are shut down: a page's unload beacon shuts its kernel down, a
  kernel without an open page for ``$EVIDENCE_CONNECT_GRACE`` seconds (default 60) is shut
  down, a viewer's earlier kernels when they reload; idle kernels culled after
  ``$EVIDENCE_CULL_IDLE`` seconds (default 600, checked every ``$EVIDENCE_CULL_INTERVAL``,
  default 60) as the backstop. Pooled kernels are never culled;
- kernels run single-threaded BLAS and at most 2 malloc arenas (less memory, no thread
  oversubscription when twenty kernels share two cores); set the variables to override;
- no request leaves the machine: the "evidence" template drops the lab template's Font Awesome
  and mermaid.js CDN links (the dashboard uses neither);
- plotly.js is served once as a static file of the template (a copy, in a temporary Jupyter
  data directory, of the cartesian bundle that ``./dev setup`` fetched, 1.5 MB, else of the
  installed plotly's full plotly.min.js, 4.6 MB: :mod:`evidence.serving.plotlyjs`) instead of
  travelling over the websocket inside every plot: the browser loads and compiles it once per
  page (and caches it). Kernels learn its path from ``$EVIDENCE_PLOTLY_BUNDLE`` (see
  :func:`evidence.app.widgets.plot_class`);
- plotly.js, Voila's front end and the JupyterLab extensions the page loads (widget
  managers, anywidget) are served with V8's compile hint on their first line, so
  that the browser compiles them on a background thread, not on the page's main thread
  (:mod:`evidence.serving.compile_hints`).

See docs/serving.md.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

NOTEBOOK = Path("notebooks") / "app.ipynb"
TEMPLATE = "evidence"
#: A Jupyter data directory inside the package: voila/templates/evidence lives there.
JUPYTER_DATA = Path(__file__).resolve().parent / "jupyter"
ROOT_ENV = "EVIDENCE_ROOT"  # read by evidence.app.dashboard.find_root in the kernels
BUNDLE_ENV = "EVIDENCE_PLOTLY_BUNDLE"  # read by evidence.app.widgets.plot_class
BUNDLE_NAME = "plotly.min.js"  # evidence.serving.plotlyjs.choose()

POOL_ENV, POOL_DEFAULT = "EVIDENCE_POOL_SIZE", 2
CULL_ENV, CULL_DEFAULT = "EVIDENCE_CULL_IDLE", 600
CULL_INTERVAL_ENV, CULL_INTERVAL_DEFAULT = "EVIDENCE_CULL_INTERVAL", 60
MAX_KERNELS_ENV, MAX_KERNELS_DEFAULT = "EVIDENCE_MAX_KERNELS", 20
RETRY_ENV, RETRY_DEFAULT = "EVIDENCE_RETRY_AFTER", 10
GRACE_ENV, GRACE_DEFAULT = "EVIDENCE_CONNECT_GRACE", 60
IP_ENV, IP_DEFAULT = "EVIDENCE_IP", "127.0.0.1"
TOKEN_ENV = "EVIDENCE_TOKEN"
INSECURE_ENV = "EVIDENCE_INSECURE_NO_TOKEN"
BASE_URL_ENV = "EVIDENCE_BASE_URL"
HUB_ENV = "EVIDENCE_HUB"

#: Frontend extensions the page does not need: plotly's mime renderer (4.8 MB of JavaScript;
#: every plot is our PlotView) and code highlighting (no code is shown).
DENIED_EXTENSIONS = ("jupyterlab-plotly", "jupyterlab_pygments")

#: Set in the server's environment (kernels inherit it) unless already set. One BLAS/OpenMP
#: thread and two malloc arenas: twenty kernels share two cores. ``PYTHONOPTIMIZE=2`` (-OO):
#: kernels keep no docstrings (numpy's, pandas', plotly's and ours: 13 MB a kernel, measured
#: with benchmarks/bench_memory.py) and skip ``assert`` statements (ours state invariants only);
#: ``./dev`` compiles the libraries' -OO bytecode once, at install.
KERNEL_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
    "PYTHONOPTIMIZE": "2",
}
FRIENDLY_CELL_ERROR = (
    "The dashboard could not be shown; the details are in the server's log. Reloading the page "
    "usually helps."
)


class UsageError(ValueError):
    """A setting that cannot be used (the message says which and why)."""


def _env_int(name: str, default: int, minimum: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{name} must be an integer, got {text!r}") from None
    if value < minimum:
        raise UsageError(f"{name} must be at least {minimum}, got {value}")
    return value


def is_loopback(ip: str) -> bool:
    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """How the dashboard is served (see the module docstring)."""

    port: int = 8866
    open_browser: bool = True
    pool_size: int = POOL_DEFAULT
    cull_idle_timeout: int = CULL_DEFAULT
    cull_interval: int = CULL_INTERVAL_DEFAULT
    max_kernels: int = MAX_KERNELS_DEFAULT
    ip: str = IP_DEFAULT
    token: str | None = None
    retry_after: int = RETRY_DEFAULT
    connect_grace: int = GRACE_DEFAULT
    base_url: str = "/"
    hub: bool = False  # viewers log in with JupyterHub (evidence.serving.hub)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.ip in ("0.0.0.0", "::", "") else self.ip
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}{self.base_url}"


def resolve(
    port: int = 8866,
    open_browser: bool = True,
    *,
    pool_size: int | None = None,
    cull_idle_timeout: int | None = None,
    cull_interval: int | None = None,
    max_kernels: int | None = None,
    ip: str | None = None,
    token: str | None = None,
    insecure_no_token: bool | None = None,
    retry_after: int | None = None,
    connect_grace: int | None = None,
    base_url: str | None = None,
    hub: bool | None = None,
) -> tuple[Settings, list[str]]:
    """The settings from the arguments, else the environment, else the defaults; and the
    warnings to print. Raises :class:`UsageError` for settings that cannot be used."""

    def pick(value, env, default, minimum):
        return _env_int(env, default, minimum) if value is None else value

    warnings: list[str] = []
    if not 0 < port < 65536:
        raise UsageError(f"invalid port {port}")
    pool = pick(pool_size, POOL_ENV, POOL_DEFAULT, 0)
    cap = pick(max_kernels, MAX_KERNELS_ENV, MAX_KERNELS_DEFAULT, 0)
    if pool < 0 or cap < 0:
        raise UsageError("the pool size and the kernel cap cannot be negative")
    if cap and pool > cap:
        warnings.append(f"pool size {pool} is above the kernel cap {cap}: the pool holds {cap}")
        pool = cap
    if hub is None:
        hub = os.environ.get(HUB_ENV, "") not in ("", "0", "false", "no")
    if hub:
        # JupyterHub says where to listen and under which prefix (service or user server).
        service_url = os.environ.get("JUPYTERHUB_SERVICE_URL", "")
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "")
        if not service_url or not prefix or not os.environ.get("JUPYTERHUB_API_TOKEN"):
            raise UsageError(
                "--hub: run me from JupyterHub (as a service or Spawner.cmd): "
                "$JUPYTERHUB_SERVICE_URL, $JUPYTERHUB_SERVICE_PREFIX and "
                "$JUPYTERHUB_API_TOKEN are not all set"
            )
        parsed = urlparse(service_url)
        ip = parsed.hostname or IP_DEFAULT
        port = parsed.port or port
        base_url = prefix
        open_browser = False
        if token:
            raise UsageError("--hub and --token do not go together: the hub logs viewers in")
    ip = (ip if ip is not None else os.environ.get(IP_ENV, "")).strip() or IP_DEFAULT
    if ip != "localhost":
        try:
            ipaddress.ip_address(ip.strip("[]"))
        except ValueError:
            raise UsageError(f"--ip must be an IP address or localhost, got {ip!r}") from None
        ip = ip.strip("[]")
    token = token if token is not None else (os.environ.get(TOKEN_ENV) or None)
    if token is not None:
        # Spaces around a token (a file's newline) go; a token of only spaces is a mistake,
        # not "no token" (which would serve without one).
        token = token.strip()
        if not token:
            raise UsageError(
                "the token is empty or only spaces: give one of 16+ characters, or --token auto"
            )
        if any(c.isspace() or not c.isprintable() for c in token):
            raise UsageError("a token cannot contain spaces or control characters")
    if token == "auto":
        token = secrets.token_urlsafe(24)
    elif token is not None and len(token) < 16:
        raise UsageError("a token must have at least 16 characters (or use --token auto)")
    if insecure_no_token is None:
        insecure_no_token = os.environ.get(INSECURE_ENV, "") not in ("", "0", "false", "no")
    if not is_loopback(ip) and token is None and not hub:
        if not insecure_no_token:
            raise UsageError(
                f"refusing to serve on {ip} (beyond this machine) without a token: add "
                "--token auto (or set EVIDENCE_TOKEN), or --insecure-no-token if a proxy in "
                "front of the server authenticates every viewer"
            )
        warnings.append(f"serving on {ip} WITHOUT a token: anyone who can reach it can view")
    base = (base_url if base_url is not None else os.environ.get(BASE_URL_ENV, "")) or "/"
    base = "/" + base.strip("/") + "/" if base.strip("/") else "/"
    if any(c in base for c in "?#\\ ") or "/../" in base or "/./" in base:
        raise UsageError(f"invalid base URL {base!r}")
    settings = Settings(
        port=port,
        open_browser=open_browser,
        pool_size=pool,
        cull_idle_timeout=pick(cull_idle_timeout, CULL_ENV, CULL_DEFAULT, 1),
        cull_interval=pick(cull_interval, CULL_INTERVAL_ENV, CULL_INTERVAL_DEFAULT, 1),
        max_kernels=cap,
        ip=ip,
        token=token,
        retry_after=pick(retry_after, RETRY_ENV, RETRY_DEFAULT, 1),
        connect_grace=pick(connect_grace, GRACE_ENV, GRACE_DEFAULT, 1),
        base_url=base,
        hub=hub,
    )
    return settings, warnings


def voila_argv(notebook: Path, settings: Settings) -> list[str]:
    """Voila's command line for the dashboard (see the module docstring for each choice)."""
    s = settings
    argv = [
        str(notebook),
        f"--port={s.port}",
        f"--Voila.ip={s.ip}",
        "--Voila.port_retries=0",  # the port asked for, or a clear error
        f"--Voila.base_url={s.base_url}",
        f"--template={TEMPLATE}",
        "--theme=light",
        "--strip_sources=True",
        "--show_tracebacks=False",
        f"--VoilaExecutor.cell_error_instruction={FRIENDLY_CELL_ERROR}",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        f"--preheat_kernel={s.pool_size > 0}",
        f"--pool_size={s.pool_size}",
        # Preheated kernels wait for their request; refill the pool soon after one is used.
        "--VoilaKernelManager.fill_delay=0.5",
        "--VoilaConfiguration.multi_kernel_manager_class="
        "evidence.serving.kernels.EvidenceKernelManager",
        f"--EvidenceKernelManager.max_kernels={s.max_kernels}",
        f"--EvidenceKernelManager.connect_grace={s.connect_grace}",
        f"--EvidenceVoila.retry_after={s.retry_after}",
        f"--MappingKernelManager.cull_idle_timeout={s.cull_idle_timeout}",
        f"--MappingKernelManager.cull_interval={s.cull_interval}",
        "--MappingKernelManager.cull_connected=False",  # an open page keeps its kernel
        "--VoilaConfiguration.http_keep_alive_timeout=10",
        # Kernels talk to the server over Unix sockets beside their connection files (Voila's
        # owner-only directory), not TCP ports on loopback that any local user can reach.
        "--KernelManager.transport=ipc",
        *(f"--VoilaConfiguration.extension_denylist={name}" for name in DENIED_EXTENSIONS),
    ]
    if s.token is not None:
        argv.append(f"--Voila.token={s.token}")
    if not s.hub:
        argv.append(
            "--Voila.identity_provider_class=evidence.serving.auth.EvidenceIdentityProvider"
        )
    if s.hub:
        argv += [
            "--Voila.identity_provider_class=evidence.serving.hub.HubIdentityProvider",
            "--EvidenceVoila.behind_proxy=True",
        ]
    if not s.open_browser:
        argv.append("--no-browser")
    return argv


def port_free(ip: str, port: int) -> bool:
    """Whether the server can listen on ``ip:port`` (bound the way tornado binds)."""
    from tornado.netutil import bind_sockets

    try:
        sockets = bind_sockets(port, None if ip in ("0.0.0.0", "") else ip)
    except OSError:
        return False
    for sock in sockets:
        sock.close()
    return True


def _port_message(settings: Settings) -> str:
    return (
        f"evidence serve: cannot listen on {settings.ip} port {settings.port} (in use by "
        "another server?): choose another with --port"
    )


def _bundle_dir() -> Path:
    """A temporary Jupyter data directory whose "evidence" template serves plotly.js
    (:func:`evidence.serving.plotlyjs.choose`: the cartesian bundle that ``./dev setup``
    fetched, else the installed plotly's full plotly.min.js, said in one line), Voila's front
    end and the JupyterLab extensions the page loads, all with V8's compile hint
    (:mod:`evidence.serving.compile_hints`)."""
    from evidence.serving.compile_hints import (
        copy_hinted,
        hint_labextensions,
        hint_voila_front_end,
    )
    from evidence.serving.plotlyjs import choose

    plotly_js, note = choose()
    if note:
        print(f"evidence serve: {note}", file=sys.stderr)
    runtime = Path(tempfile.mkdtemp(prefix="evidence-voila-"))
    static = runtime / "voila" / "templates" / TEMPLATE / "static"
    static.mkdir(parents=True)
    # Copies, not symlinks: tornado (>= 6.5) refuses symlinks that leave the static root.
    copy_hinted(plotly_js, static / BUNDLE_NAME)
    # Voila serves /voila/static/* and the template's voila-style.js from the first template
    # static folder that has the file: this one comes before Voila's own.
    hint_voila_front_end(static)
    # Voila lists and serves the first copy of an extension on Jupyter's data path: this one.
    hint_labextensions(runtime, skip=DENIED_EXTENSIONS)
    return runtime


def serve(
    port: int = 8866,
    open_browser: bool = True,
    root: Path = Path("."),
    *,
    pool_size: int | None = None,
    cull_idle_timeout: int | None = None,
    cull_interval: int | None = None,
    max_kernels: int | None = None,
    ip: str | None = None,
    token: str | None = None,
    insecure_no_token: bool | None = None,
    retry_after: int | None = None,
    connect_grace: int | None = None,
    base_url: str | None = None,
    hub: bool | None = None,
) -> int:
    """Serve the dashboard until interrupted (Ctrl-C or SIGTERM shut every kernel down).

    Arguments left as None come from the environment (module docstring), else the defaults.
    Returns 0 after a clean stop, 2 for a settings problem, a port in use or a project folder
    without ``notebooks/app.ipynb``.
    """
    root = Path(root).resolve()
    notebook = root / NOTEBOOK
    if not notebook.is_file():
        print(f"evidence serve: no {NOTEBOOK} under {root} (use --root)", file=sys.stderr)
        return 2
    try:
        settings, warnings = resolve(
            port,
            open_browser,
            pool_size=pool_size,
            cull_idle_timeout=cull_idle_timeout,
            cull_interval=cull_interval,
            max_kernels=max_kernels,
            ip=ip,
            token=token,
            insecure_no_token=insecure_no_token,
            retry_after=retry_after,
            connect_grace=connect_grace,
            base_url=base_url,
            hub=hub,
        )
    except UsageError as exc:
        print(f"evidence serve: {exc}", file=sys.stderr)
        return 2
    for warning in warnings:
        print(f"evidence serve: warning: {warning}", file=sys.stderr)
    if not port_free(settings.ip, settings.port):  # before any kernel starts
        print(_port_message(settings), file=sys.stderr)
        return 2
    # Kernels inherit this environment: the dataset root, and our template directory first on
    # Jupyter's data path.
    runtime = _bundle_dir()
    os.environ[ROOT_ENV] = str(root)
    os.environ[BUNDLE_ENV] = f"templates/{TEMPLATE}/static/{BUNDLE_NAME}"
    # A preheated kernel fetches its viewer's query string from this server (see
    # evidence.app.state): on a specific address, not on 127.0.0.1, when bound to one.
    if settings.ip not in ("0.0.0.0", "::") and not is_loopback(settings.ip):
        os.environ["VOILA_APP_IP"] = settings.ip
    for key, value in KERNEL_ENV.items():
        os.environ.setdefault(key, value)
    extra = os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
    paths = [str(JUPYTER_DATA), str(runtime), *filter(None, extra)]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))

    from evidence.serving.app import EvidenceVoila, PortInUse

    argv = voila_argv(notebook, settings)
    cap = f"at most {settings.max_kernels} kernels" if settings.max_kernels else "no kernel cap"
    link = settings.url + (f"?token={settings.token}" if settings.token else "")
    print(
        f"evidence: serving the dashboard at {link} (pool {settings.pool_size}, {cap}, "
        f"idle kernels culled after {settings.cull_idle_timeout} s; Ctrl-C stops)",
        file=sys.stderr,
    )
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C stops the server (and its kernels) even when SIGINT was ignored by whoever
        # started us (a shell's background job, a process manager).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        EvidenceVoila.launch_instance(argv=argv)
    except PortInUse:  # taken between the check above and now
        print(_port_message(settings), file=sys.stderr)
        return 2
    finally:
        EvidenceVoila.clear_instance()
        shutil.rmtree(runtime, ignore_errors=True)
    return 0


def main() -> int:  # python -m evidence.serve [port]
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8866
    return serve(port=port, open_browser=False)


if __name__ == "__main__":
    raise SystemExit(main())
