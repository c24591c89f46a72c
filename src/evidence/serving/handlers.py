"""Tornado handlers that replace Voila's where a viewer could reach more than the dashboard.

- :class:`AppHandler` serves the app notebook at the root URL and nothing else (any other
  path: 404), hands each page its own kernel (recorded as the viewer's), answers "the room is
  full" (HTTP 503, retried by the page itself) when the kernel cap is reached, ignores
  ``?template=``/``?theme=`` and drops ``?token=`` from the address once it has been exchanged
  for the login cookie;
- :class:`OwnedKernelWebsocketHandler`, :class:`OwnedKernelHandler` and
  :class:`OwnedShutdownHandler`: the kernel's websocket, its model and its shutdown, for the
  viewer the kernel was served to only (the signed login cookie's user), whoever else knows
  the kernel id;
- :class:`KernelQuerySocket`: the socket on which a preheated kernel waits for its viewer's
  query string accepts one connection per kernel, from this machine, not from a browser;
- :class:`TemplateStatic`: the template's static files, 404 for anything malformed;
- :class:`LoginPage`: token mode's login form, without script;
- :class:`NotFound`: everything else (Voila's ``/voila/files/``, ``/logout``, ...).

Every error page is :func:`error_page`: a short message, never a traceback (the log has it).
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qsl, quote, urlencode

import jinja2
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.services.kernels.handlers import KernelHandler
from tornado import web
from voila.request_info_handler import RequestInfoSocketHandler
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler
from voila.voila_identity_provider import VoilaLoginHandler

from .kernels import VIEWER, RoomFull, Viewer

TEMPLATES = Path(__file__).resolve().parents[1] / "jupyter" / "voila" / "templates" / "evidence"
_pages = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)

MESSAGES = {
    400: ("Bad request", "The server could not understand this request."),
    403: ("Not allowed", "This address is not part of the dashboard, or not yours to open."),
    404: ("Not found", "There is nothing here. The dashboard is at the address below."),
    405: ("Not allowed", "This address is not part of the dashboard."),
    429: ("Too many wrong tokens", "Wait a little, then open the link you were given again."),
}
#: The page's headers as Voila sets them (voila.handler.BaseVoilaHandler.get_generator).
PAGE_HEADERS = {
    "Content-Type": "text/html",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
    "Expires": "0",
}
GENERIC = (
    "Something went wrong",
    "The server could not show this page. The details are in the server's log; "
    "reloading the page usually helps.",
)


def error_page(status: int, base_url: str = "/") -> str:
    title, text = MESSAGES.get(status, GENERIC)
    return _pages.get_template("error.html.j2").render(
        status=status, title=title, text=text, home=base_url
    )


def busy_page(retry_after: int, max_kernels: int, base_url: str = "/") -> str:
    return _pages.get_template("busy.html.j2").render(
        retry_after=retry_after, max_kernels=max_kernels, home=base_url
    )


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


class FriendlyErrors:
    """Error pages without details (tornado logs the exception with its traceback)."""

    def write_error(self, status_code: int, **kwargs) -> None:  # type: ignore[override]
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(error_page(status_code, self.settings.get("base_url", "/")))


class NotFound(FriendlyErrors, web.RequestHandler):
    """404 for every method: what Voila would serve here is not the dashboard."""

    def initialize(self, **_ignored) -> None:
        pass

    def prepare(self) -> None:
        raise web.HTTPError(404)


class AppHandler(FriendlyErrors, TornadoVoilaHandler):
    """The dashboard page: one kernel per page view, owned by the viewer, within the cap."""

    @web.authenticated
    async def get(self, path: str | None = None) -> None:
        if path:
            raise web.HTTPError(404)
        if self.drop_token():
            return
        # The app reads its view from the query string; Voila's own template/theme switches
        # would only bypass the preheated pool (and show another template).
        for name in ("template", "theme"):
            self.request.arguments.pop(name, None)
            self.request.query_arguments.pop(name, None)
        km = self.kernel_manager
        user = self.current_user.username
        await km.release_previous(user)
        if km.get_pool_size(self.notebook_path) == 0 and not km.has_room():
            km.turned_away += 1
            self.busy()
            return
        _ = self.xsrf_token  # sets the _xsrf cookie: the page's unload beacon needs it
        token = VIEWER.set(Viewer(user))
        try:
            async for html in self.get_generator(path=None):
                self.write(html)
                self.flush()
        except RoomFull:
            if self._headers_written:
                raise
            self.clear()
            self.busy()
        finally:
            VIEWER.reset(token)

    @web.authenticated
    async def head(self, path: str | None = None) -> None:
        """What GET would answer (status and headers), without taking a kernel: a monitor
        that checks the page must not empty the pool."""
        if path:
            raise web.HTTPError(404)
        if self.drop_token():
            return
        km = self.kernel_manager
        if km.get_pool_size(self.notebook_path) == 0 and not km.has_room():
            self.busy()
            return
        _ = self.xsrf_token
        for name, value in PAGE_HEADERS.items():
            self.set_header(name, value)
        self.flush()  # headers now: the page is streamed, its length is not known
        self.finish()

    def compute_etag(self) -> None:
        return None  # a page is never the same twice (its kernel)

    def drop_token(self) -> bool:
        """Redirect to the address without ``?token=`` (now in the login cookie: keep it off
        the address bar, which a projector shows, and out of the app's query string)."""
        if "token" not in self.request.query_arguments:
            return False
        kept = [
            (k, v) for k, v in parse_qsl(self.request.query, keep_blank_values=True) if k != "token"
        ]
        self.redirect(self.request.path + (f"?{urlencode(kept)}" if kept else ""))
        return True

    def busy(self) -> None:
        evidence = self.settings["evidence"]
        km = self.kernel_manager
        self.log.warning(
            "The room is full (%d kernels of %d): a viewer was asked to retry in %d s",
            km.used(),
            km.max_kernels,
            evidence["retry_after"],
        )
        self.set_status(503)
        self.set_header("Retry-After", str(evidence["retry_after"]))
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(busy_page(evidence["retry_after"], km.max_kernels, self.base_url))


def _owner_check(handler: JupyterHandler, kernel_id: str) -> None:
    user = handler.current_user
    name = getattr(user, "username", None)
    if not handler.kernel_manager.is_owner(kernel_id, name):
        handler.log.warning(
            "Refused %s %s from %s: kernel %s was not served to this viewer",
            handler.request.method,
            handler.request.path,
            handler.request.remote_ip,
            kernel_id,
        )
        raise web.HTTPError(403)


V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"


def kernel_message_summary(message: bytes | str | dict, v1: bool) -> tuple[str, str, dict]:
    """(channel, msg_type, content) of a kernel message on its way to the browser; the
    content is parsed only for ``stream`` and ``error`` messages (else ``{}``)."""
    if isinstance(message, dict):
        msg = message
    elif isinstance(message, str):
        msg = json.loads(message)
    elif v1:
        count = int.from_bytes(message[:8], "little")
        offsets = [
            int.from_bytes(message[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)
        ]
        part = lambda i: message[offsets[i] : offsets[i + 1]]  # noqa: E731
        channel = part(0).decode()
        msg_type = json.loads(part(1)).get("msg_type", "")
        content = json.loads(part(4)) if msg_type in ("stream", "error") else {}
        return channel, msg_type, content
    else:  # the legacy binary framing: big-endian offsets, then the JSON message
        count = int.from_bytes(message[:4], "big")
        offsets = [int.from_bytes(message[4 * (i + 1) : 4 * (i + 2)], "big") for i in range(count)]
        msg = json.loads(message[offsets[0] : offsets[1] if count > 1 else len(message)])
    header = msg.get("header") or {}
    msg_type = header.get("msg_type") or msg.get("msg_type", "")
    content = msg.get("content", {}) if msg_type in ("stream", "error") else {}
    return msg.get("channel", ""), msg_type, content


class OwnedKernelWebsocketHandler(VoilaKernelWebsocketHandler):
    """The kernel's websocket, for the viewer the kernel was served to only.

    Kernel stderr and error messages are not forwarded to the page but logged: an exception
    in a widget callback, or in ipykernel's handling of a crafted comm message, is printed
    by the kernel with its traceback (file paths, source lines) on stderr, which ipykernel
    broadcasts on iopub to every client of the kernel. The dashboard shows no stream output.
    """

    def write_message(self, message, binary: bool = False):  # type: ignore[override]
        try:
            v1 = self.selected_subprotocol == V1_PROTOCOL
            channel, msg_type, content = kernel_message_summary(message, v1)
        except Exception:  # not a message we understand: let Voila handle it
            return super().write_message(message, binary)
        if channel == "iopub" and (
            msg_type == "error" or (msg_type == "stream" and content.get("name") == "stderr")
        ):
            text = content.get("text") or "\n".join(content.get("traceback") or [])
            self.log.warning("Kernel %s (not sent to the page): %s", self.kernel_id, text[-4000:])
            return None
        return super().write_message(message, binary)

    async def pre_get(self) -> None:
        _owner_check(self, self.kernel_id)
        await super().pre_get()

    async def open(self, kernel_id: str) -> None:  # type: ignore[override]
        self.kernel_manager.connected(kernel_id)
        self._counted = True
        await super().open(kernel_id)

    def on_close(self) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            self.kernel_manager.disconnected(self.kernel_id)
        if getattr(self, "connection", None) is not None:
            super().on_close()


class LoginPage(FriendlyErrors, VoilaLoginHandler):
    """Token mode's login form: the server's own page (no script: the content security
    policy allows none inline) instead of Jupyter's; errors are the friendly pages."""

    def _render(self, message: str | None = None) -> None:
        following = self.get_argument("next", default=self.base_url)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.write(
            _pages.get_template("login.html.j2").render(
                action=f"{self.base_url}login?next={quote(following, safe='/')}",
                xsrf=self.xsrf_token.decode(),
                message="That is not the token." if message else None,
            )
        )


class OwnedKernelHandler(KernelHandler):
    """GET (the page asks for its kernel's model), HEAD and DELETE, for the owner only."""

    async def prepare(self) -> None:
        await super().prepare()
        _owner_check(self, self.path_kwargs.get("kernel_id", ""))

    async def head(self, kernel_id: str) -> None:
        await self.get(kernel_id)  # tornado sends the headers only


class OwnedShutdownHandler(VoilaShutdownKernelHandler):
    """The page's unload beacon shuts its kernel down; nobody else's."""

    async def prepare(self) -> None:
        await super().prepare()
        _owner_check(self, self.path_args[0] if self.path_args else "")


class KernelQuerySocket(RequestInfoSocketHandler):
    """Where a preheated kernel waits for its viewer's query string (voila/query/<id>).

    Voila lets anyone connect, and a second connection replaces the kernel's own. Here: one
    connection per kernel, ever; from this machine; not from a browser (a browser always sends
    an Origin header; the kernel's client sends none); only for a running kernel."""

    seen: ClassVar[set[str]] = set()

    def check_origin(self, origin: str) -> bool:
        return False

    async def get(self, *args, **kwargs) -> None:
        kernel_id = kwargs.get("kernel_id") or (args[0] if args else "")
        km = self.settings["kernel_manager"]
        if (
            "Origin" in self.request.headers
            or not _is_loopback(self.request.remote_ip)
            or kernel_id not in km
            or kernel_id in self.seen
        ):
            self.set_status(403)
            self.finish()
            return
        self.seen.add(kernel_id)
        await super().get(*args, **kwargs)

    def on_close(self) -> None:
        waiters = RequestInfoSocketHandler._waiters
        for kernel_id, waiter in list(waiters.items()):
            if waiter is self:
                del waiters[kernel_id]

    @classmethod
    def forget(cls, kernel_id: str) -> None:
        """The kernel is gone: drop what Voila kept for it."""
        cls.seen.discard(kernel_id)
        RequestInfoSocketHandler._waiters.pop(kernel_id, None)
        RequestInfoSocketHandler._cache.pop(kernel_id, None)


class TemplateStatic(TemplateStaticFileHandler):
    """``voila/templates/<template>/static/<file>`` of the served template only; 404 else
    (Voila answers a malformed path with a 500 and a traceback in the log)."""

    templates: tuple[str, ...] = ("evidence",)

    def parse_url_path(self, path: str) -> str:
        parts = path.split("/")
        if (
            len(parts) < 3
            or parts[0] not in self.templates
            or parts[1] != "static"
            or any(p in ("", ".", "..") for p in parts[2:])
            or "\\" in path
        ):
            raise web.HTTPError(404)
        return super().parse_url_path(path)

    def write_error(self, status_code: int, **kwargs) -> None:
        FriendlyErrors.write_error(self, status_code, **kwargs)
