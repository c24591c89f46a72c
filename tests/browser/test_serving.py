"""Safety of the served dashboard, against real ``evidence serve`` servers (docs/serving.md).

Each property of the issue "Serving a room full of viewers, safely", and the test that checks it:

- listens on 127.0.0.1 only: test_listens_on_loopback_only
- only the app is served (no tree, no files, traversal and encoded traversal 403/404, no
  traceback in any error page): test_only_the_app_is_served
- a kernel belongs to the viewer it was served to (websocket, model, shutdown, query socket),
  whoever knows its id; from a script and from another viewer's page:
  test_kernel_belongs_to_its_viewer, test_room_full_then_retry_and_isolation
- crafted widget (comm) messages: no traceback back, nothing evaluated or echoed as HTML, the
  app keeps working: test_crafted_widget_messages
- the cap: the next viewer gets the 503 "room is full" page, which retries by itself and gets
  in when a viewer leaves; the others are served meanwhile; a closed page frees its kernel:
  test_room_full_then_retry_and_isolation
- tracebacks never reach a viewer, the log keeps them: test_failing_notebook_shows_a_message,
  test_server_error_page_has_no_details
- token mode: test_token_mode (and tests/test_serve.py: no binding beyond loopback without one);
  wrong tokens slow a client down: test_wrong_tokens_slow_a_client_down
- hostile paths and methods: a control character in any path is a 404 without a traceback in
  the log (test_control_characters_in_paths_are_not_found); HEAD is answered like GET and
  takes no kernel (test_head_is_answered_like_get); every response has the content security
  policy and no Server header, cookies are SameSite=Lax and the login cookie HttpOnly
  (test_security_headers_and_cookies); the real page in chromium reports no CSP violation and
  an injected inline script is refused (test_room_full_then_retry_and_isolation)
- the static report, for any number of read-only viewers, with no network:
  test_static_report_renders_offline

The URL query string's validation is tested by
test_dashboard.py::test_bad_query_value_shows_a_notice.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from websockets.exceptions import InvalidStatus

from .conftest import LOCAL_HOSTS, ROOT, Server
from .conftest_serving import RawViewer, evidence_server, kernel_id_of, wait_settled
from .test_dashboard import select_outcome, show_more

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

FOREST = ".ev-forest .js-plotly-plot .main-svg"
TOKEN = "test-token-0123456789abcdef"
ASSETS = ("script", "stylesheet", "font", "image")
TRACE_WORDS = ("Traceback", 'File "', "Error:", "/work/", "site-packages")
#: Seconds (kernel messages) and milliseconds (chromium) to wait for what a loaded machine may
#: take long to do: deadlines, never timings (8 busy processes on 2 cores took 60+ s).
LOADED = 240.0
LOADED_MS = 240_000


@pytest.fixture(scope="module")
def capped():
    """The dashboard with a preheated pool of 1 and a cap of 2 kernels."""
    with evidence_server("capped", pool=1, env={"EVIDENCE_MAX_KERNELS": "2"}) as server:
        yield server


@pytest.fixture(scope="module")
def tokened():
    with evidence_server("token", pool=1, env={"EVIDENCE_TOKEN": TOKEN}) as server:
        yield server


BROKEN_CELLS = [
    "print('first cell ran')",
    "def secret_helper_7f3a():\n    raise ValueError('marker-7f3a secret detail')\n\n"
    "secret_helper_7f3a()",
]


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """A project whose app notebook raises, served with cold kernels (no pool)."""
    root = tmp_path_factory.mktemp("broken")
    (root / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in BROKEN_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nbformat.write(nb, root / "notebooks" / "app.ipynb")
    with evidence_server("broken", root=root, pool=0) as server:
        yield server, root


def leave(viewer: RawViewer, kernel_id: str) -> None:
    """What the page's unload beacon does: shut its own kernel down."""
    xsrf = viewer.cookies.get("_xsrf", "")
    r = viewer.request(
        f"/voila/api/shutdown/{kernel_id}",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=f"_xsrf={xsrf}".encode(),
    )
    assert r.status == 204, (r.status, r.text[:300])


def shut_down(server: Server, kernel_id: str, timeout: float = 180.0) -> None:
    """Until the server has shut ``kernel_id`` down (its log says so): a deadline for a
    loaded machine, not a timing."""
    deadline = time.monotonic() + timeout
    while f"Kernel shutdown: {kernel_id}" not in server.log_text():
        if time.monotonic() > deadline:
            raise TimeoutError(f"kernel {kernel_id} still running after {timeout} s")
        time.sleep(0.25)


#: Every content-security-policy violation of a page, reported to the test (across reloads).
CSP_LISTENER = """document.addEventListener('securitypolicyviolation', (e) =>
    window.evidenceCspViolation(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}`));"""


def new_page(chromium, outside: list[str], errors: list[str], csp: list[str] | None = None):
    """A page in a fresh context: requests beyond this machine blocked (and listed in
    ``outside``), page errors and failed assets in ``errors``, CSP violations in ``csp``
    (else in ``errors``)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(60_000)
    violations = errors if csp is None else csp
    context.expose_binding("evidenceCspViolation", lambda _source, text: violations.append(text))
    context.add_init_script(CSP_LISTENER)

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def asset(response):  # every script, style sheet, font and image of the page is served
        if response.status >= 400 and response.request.resource_type in ASSETS:
            errors.append(f"{response.status} {response.url}")

    page.on("response", asset)
    return context, page


def page_kernel(page) -> str:
    return page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
    )


# --- the network and the routes --------------------------------------------------------------


def _listening(port: int) -> list[str]:
    """Local addresses of the sockets listening on ``port`` (from /proc/net/tcp{,6})."""
    found = []
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            fields = row.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # LISTEN
                found.append(address)
    return found


def test_listens_on_loopback_only(capped: Server):
    addresses = _listening(capped.port)
    assert addresses, "no listening socket found"
    # 0100007F is 127.0.0.1 (little-endian hex); anything else would be another interface.
    assert set(addresses) == {"0100007F"}, addresses


def _kernel_connection_files(server_pid: int) -> list[Path]:
    """The connection files of the kernels the server process started (from /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # gone meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server_pid and "ipykernel_launcher" in argv[:3] and "-f" in argv:
            found.append(Path(argv[argv.index("-f") + 1]))
    return found


def test_kernels_listen_on_no_port(capped: Server):
    """The kernels' sockets are Unix sockets in a directory only the server's user can
    enter, not TCP ports on loopback that any local user could connect to."""
    files = _kernel_connection_files(capped.proc.pid)
    assert files, "no kernel found"
    for path in files:
        info = json.loads(path.read_text())
        assert info["transport"] == "ipc", info["transport"]
        assert path.parent.stat().st_mode & 0o077 == 0, oct(path.parent.stat().st_mode)
    assert "running over TCP" not in capped.log_text()


FORBIDDEN = [
    "/api/kernels",
    "/api/sessions",
    "/api/contents",
    "/api/kernelspecs",
    "/api/terminals",
    "/tree",
    "/lab",
    "/voila/tree",
    "/voila/render/app.ipynb",
    "/voila/api/contents/",
    "/voila/files/app.ipynb",
    "/voila/files/../README.md",
    "/voila/files/%2e%2e/README.md",
    "/voila/files/..%2fREADME.md",
    "/notebooks/app.ipynb",
    "/app.ipynb",
    "/README.md",
    "/references.bib",
    "/data/outcomes.csv",
    "/../README.md",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2fetc/passwd",
    "//etc/passwd",
    "/voila/static/../../../../etc/passwd",
    "/voila/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/voila/templates/evidence/conf.json",
    "/voila/templates/evidence/index.html.j2",
    "/voila/templates/evidence/static/../conf.json",
    "/voila/templates/evidence/static/%2e%2e/conf.json",
    "/voila/templates/lab/static/../../../../../../etc/passwd",
    "/voila/templates/..%2f..%2fetc/static/passwd",
    "/voila/labextensions/../../../../etc/passwd",
    "/voila/api/themes/../../../../etc/passwd",
    "/logout",
    "/login",
]


def test_only_the_app_is_served(capped: Server):
    stranger = RawViewer(capped)
    before = len(capped.kernels())
    for path in FORBIDDEN:
        r = stranger.request(path)
        assert r.status in (403, 404), (path, r.status, r.text[:200])
        assert "root:" not in r.text, path
        for word in TRACE_WORDS:
            assert word not in r.text, (path, word)
    assert len(capped.kernels()) == before  # none of these started a kernel
    # the app's own assets are served
    # plotly.js: the cartesian bundle ./dev setup fetched (else plotly's full one), its version
    from evidence.serving import plotlyjs

    bundle = stranger.request("/voila/templates/evidence/static/plotly.min.js")
    assert bundle.status == 200 and len(bundle.body) > 1_000_000
    assert f"v{plotlyjs.VERSION}\n".encode() in bundle.body[:200]
    # plotly.js and Voila's front end carry V8's compile hint, and are otherwise the files
    from evidence.serving import compile_hints

    assert bundle.body.startswith(compile_hints.HINT)
    front = compile_hints.voila_front_end()
    assert front is not None
    voila_js = stranger.request("/voila/static/voila.js")
    assert voila_js.status == 200
    assert voila_js.body == compile_hints.HINT + (front / "voila.js").read_bytes()
    from jupyterlab_server.config import get_federated_extensions
    from voila.utils import get_voila_labextensions_path

    installed = get_federated_extensions(get_voila_labextensions_path())
    for name in ("anywidget", "@jupyter-widgets/jupyterlab-manager",
                 "@voila-dashboards/widgets-manager8"):  # fmt: skip
        load = installed[name]["jupyterlab"]["_build"]["load"]  # its remoteEntry script
        entry = stranger.request(f"/voila/labextensions/{name}/{load}")
        assert entry.status == 200 and entry.body.startswith(compile_hints.HINT), name
    # an error page is the friendly one
    page = stranger.request("/README.md")
    assert page.status == 404 and "Open the dashboard" in page.text
    # DNS rebinding: another host name pointing at this machine is refused
    rebound = stranger.request("/", headers={"Host": f"evil.example:{capped.port}"})
    assert rebound.status == 403


#: Where a control character can sit: every route family of the server.
CONTROL_PREFIXES = [
    "/",
    "/x",
    "/voila/templates/evidence/static/",
    "/voila/templates/evidence/static/plotly.min.js",
    "/voila/templates/",
    "/voila/static/",
    "/voila/labextensions/",
    "/voila/files/",
    "/voila/api/shutdown/",
    "/voila/query/",
    "/api/kernels/",
    "/api/kernels/00000000-0000-0000-0000-000000000000/channels",
    "/login",
]
CONTROLS = ["%00", "%01", "%09", "%0a", "%0D", "%1b", "%1F", "%7f", "%7F", "%c2%80", "%C2%9F"]


def _raw_request(server: Server, target: bytes, method: bytes = b"GET") -> bytes:
    """One request with ``target`` sent byte for byte (http.client refuses control bytes)."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:"
                     + str(server.port).encode() + b"\r\nConnection: close\r\n\r\n")  # fmt: skip
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_control_characters_in_paths_are_not_found(capped: Server):
    """A NUL (or any control character) anywhere in a path: 404, the friendly page, and no
    traceback in the log (before: 500 and a traceback on every request)."""
    viewer = RawViewer(capped)
    log_before = len(capped.log_text())
    kernels = len(capped.kernels())
    tried = 0
    for prefix in CONTROL_PREFIXES:
        for control in CONTROLS:
            for path in (prefix + control, prefix + "a" + control + "b/c.js"):
                for method in ("GET", "HEAD", "POST"):
                    r = viewer.request(path, method=method, body=b"" if method == "POST" else None)
                    assert r.status == 404, (method, path, r.status)
                    if method == "GET":
                        assert "Open the dashboard" in r.text, path
                    tried += 1
    # raw control bytes (not percent-encoded) in the request line: refused, never a 500
    for byte in (b"\x01", b"\x1b", b"\x7f"):
        for prefix in (b"/", b"/voila/templates/evidence/static/"):
            answer = _raw_request(capped, prefix + b"a" + byte + b"b")
            status = int(answer.split(b" ", 2)[1])
            assert status in (400, 404), (prefix, byte, answer[:200])
            tried += 1
    log = capped.log_text()[log_before:]
    assert "Traceback" not in log and "Uncaught exception" not in log, log[-3000:]
    assert " 500 " not in log
    assert len(capped.kernels()) == kernels  # none of these started a kernel
    assert tried > 800


HEAD_PATHS = [
    "/voila/templates/evidence/static/plotly.min.js",
    "/voila/templates/evidence/static/evidence-page.js",
    "/voila/static/voila.js",
    "/README.md",
    "/voila/files/app.ipynb",
    "/voila/templates/evidence/static/%00",
    "/api/kernels/00000000-0000-0000-0000-000000000000",
    "/logout",
    "/?outcome=albumin&token=x",
]


def test_head_is_answered_like_get(capped: Server):
    """HEAD gets GET's status and headers, no body; HEAD of the page takes no kernel (a
    monitor that checks the page must not empty the pool). Before: 405."""
    wait_settled(capped, 1)
    viewer = RawViewer(capped)
    viewer.request("/README.md")  # a login cookie, as a browser has
    started = capped.log_text().count("Kernel started")
    for _ in range(5):
        head = viewer.request("/", method="HEAD")
        assert head.status == 200 and head.body == b"", (head.status, head.body[:200])
        assert head.headers["Content-Type"] == "text/html"
        assert "no-store" in head.headers["Cache-Control"]
        assert "Content-Security-Policy" in head.headers and "Server" not in head.headers
    assert capped.log_text().count("Kernel started") == started  # no kernel taken
    for path in HEAD_PATHS + FORBIDDEN:
        get = viewer.request(path)
        head = viewer.request(path, method="HEAD")
        assert head.status == get.status, (path, get.status, head.status)
        assert head.body == b"", path
        assert head.headers.get("Content-Type") == get.headers.get("Content-Type"), path
    assert capped.log_text().count("Kernel started") == started


def test_security_headers_and_cookies(capped: Server):
    """Every response: a content security policy that allows scripts from this server only,
    no Server header (tornado's name and version); cookies SameSite=Lax, the login cookie
    HttpOnly. The page's CSP is checked in chromium in test_room_full_then_retry_and_isolation."""
    viewer = RawViewer(capped)
    responses = {
        path: viewer.request(path)
        for path in (
            "/README.md",
            "/voila/templates/evidence/static/evidence-page.js",
            "/voila/static/voila.js",
            "/api/kernels/00000000-0000-0000-0000-000000000000",
            "/%00",
        )
    }
    responses["HEAD /"] = viewer.request("/", method="HEAD")
    responses["POST /"] = viewer.request("/", method="POST", body=b"")
    cookies: list[str] = []
    for name, r in responses.items():
        assert "Server" not in r.headers, (name, r.headers.get("Server"))
        assert "Tornado" not in str(r.headers), name
        policy = r.headers.get("Content-Security-Policy", "")
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
        assert directives.get("script-src") == "'self' blob:", (name, policy)
        assert directives.get("object-src") == "'none'" and "frame-ancestors" in directives
        assert "unsafe-inline" not in directives["script-src"]
        assert "unsafe-eval" not in policy
        cookies += r.headers.get_all("Set-Cookie") or []
    names = {c.split("=", 1)[0] for c in cookies}
    assert "_xsrf" in names and any(n.startswith("username-") for n in names), names
    for cookie in cookies:
        attributes = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")[1:]}
        assert attributes.get("samesite", "").strip().lower() == "samesite=lax", cookie
        if cookie.startswith("username-"):
            assert "httponly" in attributes, cookie
    # the websocket handshake too
    from websockets.sync.client import connect

    kernel_id = viewer.open_page()
    with connect(f"ws://127.0.0.1:{capped.port}/api/kernels/{kernel_id}/channels",
                 additional_headers={"Cookie": viewer.cookie_header()},
                 open_timeout=LOADED) as ws:  # fmt: skip
        assert "Server" not in ws.response.headers, dict(ws.response.headers)
    leave(viewer, kernel_id)


# --- kernels belong to their viewer ---------------------------------------------------------


def test_kernel_belongs_to_its_viewer(capped: Server):
    wait_settled(capped, 1)
    owner, stranger = RawViewer(capped), RawViewer(capped)
    page = owner.request("/?template=lab&theme=dark")  # Voila's switches: ignored
    assert page.status == 200 and "voila/templates/evidence/static/" in page.text
    assert "cdn.jsdelivr" not in page.text and "theme-dark" not in page.text
    kernel_id = kernel_id_of(page.text)
    stranger.request("/README.md")  # the stranger has its own (anonymous) login cookie
    assert stranger.cookies and stranger.cookies != owner.cookies
    for who, cookies in ((stranger, True), (stranger, False), (owner, False)):
        with pytest.raises(InvalidStatus) as refused:
            who.kernel(kernel_id, cookies=cookies)
        assert refused.value.response.status_code == 403
    assert stranger.request(f"/api/kernels/{kernel_id}").status == 403
    assert stranger.request(f"/api/kernels/{kernel_id}", method="DELETE").status == 403
    # XSRF does not protect a kernel: a stranger can make a matching cookie and form field
    forged = "2|00000000|0123456789abcdef0123456789abcdef|1700000000"
    r = stranger.request(
        f"/voila/api/shutdown/{kernel_id}",
        method="POST",
        headers={"Cookie": f"_xsrf={forged}; {stranger.cookie_header()}",
                 "Content-Type": "application/x-www-form-urlencoded"},
        body=f"_xsrf={forged}".encode(),
    )  # fmt: skip
    assert r.status == 403
    # the socket a preheated kernel reads its viewer's query string from: not for clients
    for origin in (f"http://127.0.0.1:{capped.port}", None):
        from websockets.sync.client import connect

        headers = {"Origin": origin} if origin else None
        with pytest.raises(InvalidStatus):
            connect(f"ws://127.0.0.1:{capped.port}/voila/query/{kernel_id}",
                    additional_headers=headers, open_timeout=10)  # fmt: skip
    # the owner: model, websocket, kernel alive after all that
    model = owner.request(f"/api/kernels/{kernel_id}")
    assert model.status == 200 and json.loads(model.text)["id"] == kernel_id
    with owner.kernel(kernel_id) as k:
        assert k.kernel_info()["content"]["status"] == "ok"
    assert "Refused" in capped.log_text()
    leave(owner, kernel_id)
    shut_down(capped, kernel_id)
    assert owner.request(f"/api/kernels/{kernel_id}").status == 403  # gone


# --- crafted widget messages ----------------------------------------------------------------

CONTROL_MODELS = {
    "DropdownModel",
    "CheckboxModel",
    "SelectMultipleModel",
    "SelectModel",
    "FloatSliderModel",
    "IntSliderModel",
    "ToggleButtonsModel",
    "RadioButtonsModel",
    "TabModel",
    "TextModel",
}
BAD_VALUES = [
    999_999,
    -1,
    1.5,
    True,
    None,
    "x",
    [0, 999],
    {"__class__": "os"},
    "<img src=x onerror=alert(1)>",
    "../../../../etc/passwd",
    "__import__('os').system('touch /tmp/evidence-pwned')",
    1e308,
    "A" * 20_000,
]


def test_crafted_widget_messages(capped: Server):
    """A client may send any value for any control: nothing breaks, leaks or runs."""
    marker = Path("/tmp/evidence-pwned")
    marker.unlink(missing_ok=True)
    viewer = RawViewer(capped)
    kernel_id = viewer.open_page()
    with viewer.kernel(kernel_id) as k:
        states = k.widget_states(timeout=LOADED)
        controls = {
            model_id: s for model_id, s in states.items() if s["model_name"] in CONTROL_MODELS
        }
        assert len(controls) >= 8, sorted({s["model_name"] for s in states.values()})
        sent = 0
        for model_id, s in controls.items():
            for key in ("index", "value", "selected_index"):
                if key not in s["state"]:
                    continue
                for bad in BAD_VALUES:
                    k.update(model_id, {key: bad})
                    sent += 1
        # The kernel handles shell messages in order: its reply to this comes after every
        # update above was handled.
        assert k.kernel_info(timeout=LOADED)["content"]["status"] == "ok"
        # valid changes still work: the estimator, through its index, redraws the plot. Two
        # changes, so that one is a change whatever value the crafted ones left (True is
        # index 1, DL).
        estimator = next(
            (m, s) for m, s in controls.items() if "ev-estimator" in s["state"]["_dom_classes"]
        )
        labels = estimator[1]["state"]["_options_labels"]
        for name in ("PM", "DL"):
            index = next(i for i, label in enumerate(labels) if label.startswith(name))
            k.update(estimator[0], {"index": index})
            title = f"{name} estimator".encode()
            k.wait(lambda m, raw, title=title: title in raw, timeout=LOADED)
        assert k.kernel_info(timeout=LOADED)["content"]["status"] == "ok"
        html = {m for m, s in states.items() if s["model_name"] in ("HTMLModel", "HTMLMathModel")}
        for msg, raw in k.received:
            assert msg.get("msg_type") != "error", msg
            assert b"Traceback" not in raw
            assert str(ROOT).encode() not in raw and b"site-packages" not in raw
            content = msg.get("content", {})
            if msg.get("msg_type") == "comm_msg" and content.get("comm_id") in html:
                value = str(content["data"].get("state", {}).get("value", ""))
                assert "<img src=x" not in value  # a notice shows a rejected value as text
    assert sent > 100
    assert not marker.exists()
    leave(viewer, kernel_id)


# --- the cap, the retry, and isolation between two browser viewers ---------------------------


def test_room_full_then_retry_and_isolation(capped: Server, chromium):
    wait_settled(capped, 1)
    outside: list[str] = []
    errors: list[str] = []
    csp: list[str] = []
    ctx_a, a = new_page(chromium, outside, errors, csp)
    ctx_b, b = new_page(chromium, outside, errors, csp)
    ctx_c, c = new_page(chromium, outside, errors, csp)
    try:
        a.goto(capped.url, wait_until="commit", timeout=LOADED_MS)
        b.goto(capped.url + "?outcome=albumin", wait_until="commit", timeout=LOADED_MS)
        a.wait_for_selector(FOREST, timeout=LOADED_MS)
        b.wait_for_selector(FOREST, timeout=LOADED_MS)
        kernel_a, kernel_b = page_kernel(a), page_kernel(b)
        assert kernel_a != kernel_b
        # the third viewer: the room is full (cap 2), said plainly, with a retry
        response = c.goto(capped.url + "?estimator=PM", timeout=LOADED_MS)
        assert response is not None and response.status == 503
        assert response.headers.get("retry-after") == "2"
        assert "The room is full" in c.inner_text("h1")
        assert "tries again by itself" in c.inner_text("body")
        # ... while the others are served: A changes a control and sees it
        show_more(a)
        a.select_option(".ev-estimator select", label="DL (DerSimonian-Laird, RevMan 5)")
        a.wait_for_function(
            "() => document.querySelector('.ev-forest .js-plotly-plot').layout.title.text"
            ".includes('DL estimator')",
            timeout=LOADED_MS,
        )
        # B's page cannot reach A's kernel, though it can read A's id from anywhere
        probe = b.evaluate(
            """async (kid) => {
                const api = await fetch(`/api/kernels/${kid}`);
                const ws = await new Promise((resolve) => {
                    const s = new WebSocket(`ws://${location.host}/api/kernels/${kid}/channels`);
                    s.onopen = () => { s.close(); resolve('open'); };
                    s.onerror = () => resolve('refused');
                    setTimeout(() => resolve('timeout'), 10000);
                });
                const cookie = document.cookie.match(/_xsrf=([^;]*)/);
                const form = new FormData();
                form.append('_xsrf', cookie ? cookie[1] : '');
                const shut = await fetch(
                    `/voila/api/shutdown/${kid}`, {method: 'POST', body: form});
                return {api: api.status, ws, shutdown: shut.status};
            }""",
            kernel_a,
        )
        assert probe == {"api": 403, "ws": "refused", "shutdown": 403}, probe
        # The dashboard drew everything under the content security policy without a single
        # violation; an inline script (what an injection would add) is refused and reported.
        assert csp == [], csp
        ran = b.evaluate(
            """() => { const s = document.createElement('script');
                      s.textContent = 'window.evidenceInjected = 1;';
                      document.body.appendChild(s); return window.evidenceInjected === 1; }"""
        )
        assert not ran
        deadline = time.monotonic() + LOADED
        while not csp and time.monotonic() < deadline:
            b.wait_for_timeout(100)
        assert len(csp) == 1 and csp[0].startswith("script-src") and " inline " in csp[0], csp
        csp.clear()
        assert "<i>" not in b.inner_text(".ev-notice")  # B unaffected, and A still works:
        a.select_option(".ev-estimator select", label="PM (Paule-Mandel)")
        a.wait_for_function(
            "() => document.querySelector('.ev-forest .js-plotly-plot').layout.title.text"
            ".includes('PM estimator')",
            timeout=LOADED_MS,
        )
        # A leaves: its page's unload beacon shuts its kernel down, the pool refills, and
        # C's "room is full" page gets in by itself (it reloads every 2 s)
        a.close(run_before_unload=True)
        c.wait_for_selector(FOREST, timeout=LOADED_MS)
        assert "estimator=PM" in c.url  # the retry kept the link's settings
        assert kernel_a in capped.log_text().split("Kernel shutdown: ", 1)[1]
        assert page_kernel(c) not in (kernel_a, kernel_b)
    finally:
        for ctx in (ctx_a, ctx_b, ctx_c):
            ctx.close()
    assert not outside, outside
    assert not errors, errors
    assert not csp, csp  # C's page, the busy page and A's changes: no violation either


# --- errors: a message for the viewer, the detail for the log --------------------------------


def test_failing_notebook_shows_a_message(broken):
    server, _root = broken
    r = RawViewer(server).request("/")
    assert r.status == 200
    assert "could not be shown" in r.text
    assert "first cell ran" in r.text  # the cells before the failure are shown
    for word in ("marker-7f3a", "secret_helper_7f3a", "ValueError", "Traceback", "--debug",
                 "show_tracebacks"):  # fmt: skip
        assert word not in r.text, word
    log = server.log_text()
    assert "marker-7f3a secret detail" in log and "secret_helper_7f3a" in log


def test_server_error_page_has_no_details(broken):
    """A server-side failure (here: the notebook file became unreadable) gives a friendly
    page; the log has the exception."""
    server, root = broken
    notebook = root / "notebooks" / "app.ipynb"
    good = notebook.read_text()
    try:
        notebook.write_text('{"cells": [ this is not json')
        r = RawViewer(server).request("/")
        assert r.status >= 400
        assert "Open the dashboard" in r.text
        for word in (*TRACE_WORDS, "json", "app.ipynb", str(root)):
            assert word not in r.text, word
        assert "Unreadable Notebook" in server.log_text() or "Traceback" in server.log_text()
    finally:
        notebook.write_text(good)


# --- token mode -------------------------------------------------------------------------------


def test_token_mode(tokened: Server, chromium):
    anonymous = RawViewer(tokened)
    before = len(tokened.kernels())
    for path in ("/", "/?token=wrong-token-0123456789", "/?outcome=albumin"):
        r = anonymous.request(path)
        assert r.status in (302, 403), (path, r.status)
        assert "kernelId" not in r.text
    assert len(tokened.kernels()) == before  # refused before any kernel was started
    viewer = RawViewer(tokened)
    r = viewer.request(f"/?token={TOKEN}&outcome=albumin")
    assert r.status == 302 and r.headers["Location"] == "/?outcome=albumin"  # token dropped
    kernel_id = viewer.open_page("?outcome=albumin")  # the login cookie is enough now
    with pytest.raises(InvalidStatus):
        anonymous.kernel(kernel_id)
    with viewer.kernel(kernel_id) as k:
        assert k.kernel_info()["content"]["status"] == "ok"
    leave(viewer, kernel_id)
    wait_settled(tokened, 1)
    # the login page (where a viewer without the token lands): a form, no script
    login = anonymous.request("/login?next=%2F%3Foutcome%3Dalbumin")
    assert login.status == 200 and 'name="password"' in login.text and "<script" not in login.text
    # in a browser: the login page works under the CSP (a wrong token is said so); the link
    # with the token opens the dashboard, and the address loses the token
    outside: list[str] = []
    errors: list[str] = []
    context, page = new_page(chromium, outside, errors)
    try:
        page.goto(tokened.url + "?outcome=albumin", timeout=LOADED_MS)
        assert "/login" in page.url
        page.fill("input[name=password]", "not-the-token-0123456789")
        page.click("button[type=submit]")
        page.wait_for_selector(".ev-login-error", timeout=LOADED_MS)
        page.goto(f"{tokened.url}?token={TOKEN}&estimator=DL", wait_until="commit")
        page.wait_for_selector(FOREST, timeout=LOADED_MS)
        assert "token" not in page.url
        page.wait_for_function(
            "() => document.querySelector('.ev-forest .js-plotly-plot').layout.title.text"
            ".includes('DL estimator')",
            timeout=LOADED_MS,
        )
    finally:
        context.close()
    assert not outside and not errors, (outside, errors)


def test_wrong_tokens_slow_a_client_down(tokened: Server):
    """After a few wrong tokens (in the address, an Authorization header or the login form) a
    client gets 429 with Retry-After (5 s), even for the right token, until it has waited; a
    viewer who already logged in (the cookie) is not slowed down. Before: no limit at all."""
    from evidence.serving.auth import FREE_FAILURES

    viewer = RawViewer(tokened)
    assert viewer.request(f"/?token={TOKEN}").status == 302  # logged in: the cookie
    guesser = RawViewer(tokened)
    guesser.request("/login")  # the login form's _xsrf cookie
    xsrf = guesser.cookies.get("_xsrf", "")
    attempts = [
        lambda i: guesser.request(f"/?token=wrong-token-{i:016d}"),
        lambda i: guesser.request("/", headers={"Authorization": f"token wrong-{i:016d}"}),
        lambda i: guesser.request(
            "/login",
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=f"_xsrf={xsrf}&password=wrong-{i:016d}".encode(),
        ),
    ]
    statuses = []
    for i in range(FREE_FAILURES + 3):  # bounded: the limit must come within these
        r = attempts[i % len(attempts)](i)
        statuses.append(r.status)
        assert "kernelId" not in r.text
        if r.status == 429:
            break
    assert statuses[-1] == 429 and len(statuses) <= FREE_FAILURES, statuses
    assert int(r.headers["Retry-After"]) >= 1
    assert "Too many wrong tokens" in r.text
    # while it waits, the right token does not help it ...
    refused = guesser.request(f"/?token={TOKEN}")
    assert refused.status == 429
    assert not any(c.startswith("username-") for c in refused.headers.get_all("Set-Cookie") or [])
    # ... and the viewer who logged in before is not slowed down
    assert viewer.request("/", method="HEAD").status == 200
    # once it has waited (Retry-After: 5 s, then 10, 20, ...), the right token works again
    deadline = time.monotonic() + LOADED
    while (r := guesser.request(f"/?token={TOKEN}")).status == 429:
        assert time.monotonic() < deadline, "still refused"
        time.sleep(float(r.headers["Retry-After"]))
    assert r.status == 302 and r.headers["Location"] == "/"
    assert guesser.request("/", method="HEAD").status == 200
    assert "Wrong token from 127.0.0.1" in tokened.log_text()


# --- the static report: any number of read-only viewers -------------------------------------


def test_static_report_renders_offline(chromium, tmp_path):
    from evidence.cli import main

    out = tmp_path / "report.html"
    assert main(["report", "--root", str(ROOT), "--out", str(out)]) == 0
    plots = out.read_text(encoding="utf-8").count("Plotly.newPlot")
    assert plots >= 5
    context = chromium.new_context(offline=True)
    requested: list[str] = []
    errors: list[str] = []

    def guard(route):
        if route.request.url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            requested.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(out.as_uri(), timeout=60_000)
        page.wait_for_function(
            "(n) => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
            arg=plots,
            timeout=60_000,
        )
        assert page.locator(".js-plotly-plot .scatterlayer .point").count() > 0
    finally:
        context.close()
    assert not errors, errors
    assert not requested, requested


# --- JupyterHub: deploy/jupyterhub_config.py, the hub service mode ---------------------------


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    import importlib.util

    from .conftest_serving import chp_command, jupyterhub

    if importlib.util.find_spec("jupyterhub") is None or not chp_command():
        pytest.skip(
            "needs jupyterhub (pip) and configurable-http-proxy (npm, or $EVIDENCE_TEST_CHP)"
        )
    with jupyterhub(tmp_path_factory.mktemp("hub")) as running:
        yield running


def _hub_login(hub, name: str, password: str, path: str = "/services/evidence/"):
    import re

    import requests

    session = requests.Session()
    page = session.get(hub.url + path, timeout=60)
    assert "/hub/login" in page.url and "kernelId" not in page.text  # sent to log in first
    form = {"username": name, "password": password}
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    if xsrf:
        form["_xsrf"] = xsrf.group(1)
    return session, session.post(page.url, data=form, timeout=120)


def test_behind_jupyterhub_as_a_service(hub, chromium):
    from websockets.sync.client import connect

    from .conftest_serving import HUB_PASSWORD, kernel_id_of

    # a wrong password: the hub refuses, no dashboard
    _session, refused = _hub_login(hub, "mallory", "not-the-password")
    assert refused.status_code == 403 and "kernelId" not in refused.text
    # bob logs in (OAuth through the hub) and gets his own kernel
    bob, page = _hub_login(hub, "bob", HUB_PASSWORD, "/services/evidence/?outcome=albumin")
    assert page.status_code == 200 and page.url.endswith("/services/evidence/?outcome=albumin")
    bob_kernel = kernel_id_of(page.text)
    # alice, in a browser: log in, see the dashboard, change a control
    outside: list[str] = []
    errors: list[str] = []
    context, tab = new_page(chromium, outside, errors)
    try:
        tab.goto(hub.url + "/services/evidence/?estimator=DL", timeout=60_000)
        tab.fill("input[name=username]", "alice")
        tab.fill("input[name=password]", HUB_PASSWORD)
        tab.click("input[type=submit], button[type=submit]")
        tab.wait_for_selector(FOREST, timeout=LOADED_MS)
        assert urlparse(tab.url).path == "/services/evidence/"
        tab.wait_for_function(
            "() => document.querySelector('.ev-forest .js-plotly-plot').layout.title.text"
            ".includes('DL estimator')",
            timeout=LOADED_MS,
        )
        alice_kernel = page_kernel(tab)
        assert alice_kernel != bob_kernel
        # bob, logged in to the hub, still cannot reach alice's kernel through the proxy
        cookie = "; ".join(f"{c.name}={c.value}" for c in bob.cookies)
        url = f"ws://127.0.0.1:{hub.port}/services/evidence/api/kernels/{alice_kernel}/channels"
        with pytest.raises(InvalidStatus) as denied:
            connect(url, additional_headers={"Cookie": cookie}, open_timeout=15)
        assert denied.value.response.status_code == 403
        # nor its model
        assert (
            bob.get(hub.url + f"/services/evidence/api/kernels/{alice_kernel}").status_code == 403
        )
        select_outcome(tab, "albumin")
        tab.wait_for_function(
            "() => document.querySelector('.ev-forest .js-plotly-plot').layout.title.text"
            ".includes('Albumin')",
            timeout=LOADED_MS,
        )
    finally:
        context.close()
    assert not outside, outside
    assert not errors, errors
