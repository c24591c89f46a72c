"""``EvidenceVoila``: Voila with the kernel cap, kernel ownership and locked-down routes.

It is Voila's own application class with three changes, all made where Voila builds its
tornado application:

- the kernel manager: :class:`~evidence.serving.kernels.EvidenceKernelManager` underneath
  (``VoilaConfiguration.multi_kernel_manager_class``), Voila's preheating pool on top of it,
  wrapped by :func:`~evidence.serving.kernels.pooled` (Voila builds that class inside
  ``init_settings``; the factory it calls is swapped for the duration of that call);
- the routes: each Voila handler a viewer could misuse is replaced by the one in
  :mod:`evidence.serving.handlers`; the routes that only serve the app's assets stay;
- tornado settings: the Host header must name this machine when the server listens on the
  loopback interface only (DNS rebinding), websocket messages are capped at 4 MiB, a periodic
  task shuts down kernels whose page is gone and tops the pool up, every response gets the
  headers of :mod:`evidence.serving.security` (content security policy, no ``Server``
  header), cookies are ``SameSite=Lax``, and a path with a control character is a 404 before
  any handler sees it;
- listening: a port in use raises :class:`PortInUse` (Voila logs and exits 1, the code for
  data errors; ``evidence serve`` says so in one line and exits 2).
"""

from __future__ import annotations

import errno
import ipaddress
from typing import Any

from jupyter_server.auth.logout import LogoutHandler
from jupyter_server.services.kernels.handlers import KernelHandler
from jupyter_server.utils import url_path_join
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Bool, Integer
from voila import app as voila_app
from voila.app import Voila
from voila.request_info_handler import RequestInfoSocketHandler
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.static_file_handler import AllowListFileHandler, TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler
from voila.voila_identity_provider import VoilaLoginHandler

from . import handlers as h
from .kernels import pooled
from .security import CONTROL_PATH, COOKIE_OPTIONS, SecurityHeaders

REPLACED: dict[type, type] = {
    TornadoVoilaHandler: h.AppHandler,
    VoilaKernelWebsocketHandler: h.OwnedKernelWebsocketHandler,
    KernelHandler: h.OwnedKernelHandler,
    VoilaShutdownKernelHandler: h.OwnedShutdownHandler,
    RequestInfoSocketHandler: h.KernelQuerySocket,
    TemplateStaticFileHandler: h.TemplateStatic,
    AllowListFileHandler: h.NotFound,  # /voila/files/...: the app serves no file of its folder
    LogoutHandler: h.NotFound,
    VoilaLoginHandler: h.LoginPage,
}
MAX_WS_MESSAGE = 4 * 1024 * 1024


class PortInUse(OSError):
    """The address and port to listen on are taken (another server?)."""


def is_loopback(ip: str) -> bool:
    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


class EvidenceVoila(Voila):
    """Voila for one app notebook, served to many viewers who must not reach more."""

    retry_after = Integer(
        10, config=True, help="Seconds after which the 'room is full' page retries."
    ).tag(config=True)
    behind_proxy = Bool(
        False, help="Requests come through a proxy (JupyterHub's): do not check the Host."
    ).tag(config=True)
    reap_interval = Integer(
        10, config=True, help="Seconds between checks for kernels whose page is gone."
    ).tag(config=True)

    def init_settings(self) -> dict[str, Any]:
        original = voila_app.voila_kernel_manager_factory

        def factory(base_class, preheat_kernel, default_pool_size, page_config_hook=None):
            cls = original(
                base_class, preheat_kernel, default_pool_size, page_config_hook=page_config_hook
            )
            return pooled(cls) if preheat_kernel else cls

        voila_app.voila_kernel_manager_factory = factory
        try:
            settings = super().init_settings()
        finally:
            voila_app.voila_kernel_manager_factory = original
        settings["evidence"] = {"retry_after": self.retry_after}
        settings["websocket_max_message_size"] = MAX_WS_MESSAGE
        # Voila sets allow_remote_access=True, which turns jupyter_server's Host check off.
        # Behind JupyterHub's proxy the Host is the hub's public name (the hub authenticates).
        settings["allow_remote_access"] = self.behind_proxy or not is_loopback(self.ip)
        settings["local_hostnames"] = ["localhost"]
        # Voila passes these settings to tornado.web.Application(**settings): "transforms"
        # is its argument for output transforms (tornado's default is none without gzip).
        settings["transforms"] = [SecurityHeaders]
        settings["xsrf_cookie_kwargs"] = dict(COOKIE_OPTIONS)
        self.kernel_manager.on_release.append(h.KernelQuerySocket.forget)
        return settings

    def init_handlers(self) -> list:
        out: list = []
        provider = self.identity_provider
        provider_routes = {route[0] for route in provider.get_handlers()}
        for route in super().init_handlers():
            pattern, cls, *rest = route
            if pattern in provider_routes or cls is provider.login_handler_class:
                continue  # Voila adds these without the base URL: see below
            new = REPLACED.get(cls, cls)
            if new is h.NotFound:
                out.append((pattern, new))
            else:
                out.append((pattern, new, *rest))
        if provider.login_available:
            login = REPLACED.get(provider.login_handler_class, provider.login_handler_class)
            out.insert(0, (url_path_join(self.server_url, r"/login"), login))
        for pattern, cls, *rest in getattr(provider, "oauth_routes", list)():
            out.insert(0, (url_path_join(self.server_url, pattern), cls, *rest))
        # First: tornado tries routes in order, and matches them on the encoded path.
        return [(CONTROL_PATH, h.NotFound), *out]

    def start(self) -> None:
        async def tick() -> None:
            await self.kernel_manager.reap()
            self.kernel_manager.refill()

        PeriodicCallback(tick, self.reap_interval * 1000).start()
        super().start()

    def listen(self) -> None:
        """Voila's ``listen`` for one port (``port_retries=0``): a port in use raises
        :class:`PortInUse` instead of logging and exiting 1."""
        try:
            self.app.listen(self.port, self.ip)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                raise PortInUse(exc.errno, exc.strerror) from None
            raise
        self.log.info("Voilà is running at:\n%s", self.display_url)  # tests wait for it
        if self.open_browser:
            self.launch_browser()
        self.ioloop = IOLoop.current()
        try:
            self.ioloop.start()
        except KeyboardInterrupt:
            self.log.info("Stopping...")
        finally:
            self.stop()
