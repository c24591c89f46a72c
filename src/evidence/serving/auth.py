"""Token login for ``evidence serve --token``: constant-time check, a slowdown after wrong tokens.

:class:`EvidenceIdentityProvider` is Voila's identity provider (a token in ``?token=``, an
``Authorization: token`` header or the login form; then a signed login cookie) with:

- the token compared in constant time (jupyter_server compares with ``==``);
- :class:`TokenThrottle`: the ``FREE_FAILURES``-th wrong token from one client (an IPv4
  address, an IPv6 /64) is answered with HTTP 429, and every token from it for 5 s, then 10,
  20, ... up to 5 min after each further wrong token; the right token is refused too while
  the client waits, so waiting is the only way on. A viewer already logged in (the cookie, no
  token) is never slowed down. The table holds at most ``MAX_CLIENTS`` clients (the least
  recently seen is dropped first), so a flood of addresses cannot grow the server's memory;
- login and ``_xsrf`` cookies with ``SameSite=Lax`` (evidence.serving.security).

Behind a reverse proxy every viewer has the proxy's address: wrong tokens from one viewer slow
down token logins for all (viewers with the cookie are not affected).
"""

from __future__ import annotations

import hmac
import inspect
import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from tornado import web
from traitlets import default
from voila.voila_identity_provider import VoilaIdentityProvider

from .security import COOKIE_OPTIONS, RETRY_AFTER_ATTR

FREE_FAILURES = 5
FIRST_DELAY = 5.0  # seconds
MAX_DELAY = 300.0
FORGET_AFTER = 900.0  # seconds without a wrong token: the client starts afresh
MAX_CLIENTS = 4096


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0  # the client waits until then (time.monotonic())


class TokenThrottle:
    """Wrong tokens per client and how long each must wait (see the module docstring)."""

    def __init__(
        self,
        free: int = FREE_FAILURES,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        forget_after: float = FORGET_AFTER,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.max_clients = max_clients
        self.clock = clock
        self.clients: OrderedDict[str, _Record] = OrderedDict()

    @staticmethod
    def client(address: str | None) -> str:
        """The key of a client: its IPv4 address, or its IPv6 /64 (one host holds a /64)."""
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return address or ""
        if ip.version == 6 and ip.ipv4_mapped is None:
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)

    def wait(self, address: str | None) -> float:
        """Seconds the client must still wait before it may try a token (0: it may)."""
        record = self.clients.get(self.client(address))
        return max(0.0, record.until - self.clock()) if record else 0.0

    def failed(self, address: str | None) -> float:
        """Count a wrong token; returns the seconds the client must now wait."""
        key, now = self.client(address), self.clock()
        record = self.clients.pop(key, None) or _Record()
        if now - record.last > self.forget_after:
            record = _Record()
        record.failures += 1
        record.last = now
        if record.failures >= self.free:
            delay = min(self.max_delay, self.first_delay * 2 ** (record.failures - self.free))
            record.until = now + delay
        self.clients[key] = record  # most recently seen last
        while len(self.clients) > self.max_clients:
            self.clients.popitem(last=False)
        return max(0.0, record.until - now)

    def succeeded(self, address: str | None) -> None:
        self.clients.pop(self.client(address), None)


class TooManyTokens(web.HTTPError):
    def __init__(self, seconds: float) -> None:
        super().__init__(429, "too many wrong tokens: wait %d s", max(1, round(seconds)))


class EvidenceIdentityProvider(VoilaIdentityProvider):
    """Voila's token login, throttled and compared in constant time; SameSite cookies."""

    throttle = TokenThrottle()

    @default("cookie_options")
    def _cookie_options_default(self) -> dict:
        return dict(COOKIE_OPTIONS)

    def _refuse_if_waiting(self, handler: web.RequestHandler) -> None:
        seconds = self.throttle.wait(handler.request.remote_ip)
        if seconds > 0:
            setattr(handler.request, RETRY_AFTER_ATTR, max(1, round(seconds + 0.5)))
            raise TooManyTokens(seconds)

    def _check(self, handler: web.RequestHandler, given: str) -> bool:
        """Whether ``given`` is the token; counts a wrong one (429 while the client waits)."""
        self._refuse_if_waiting(handler)
        expected = self.token or ""
        if expected and hmac.compare_digest(given.encode(), expected.encode()):
            self.throttle.succeeded(handler.request.remote_ip)
            return True
        seconds = self.throttle.failed(handler.request.remote_ip)
        self.log.warning(
            "Wrong token from %s%s",
            handler.request.remote_ip,
            f": token logins refused for {seconds:.0f} s" if seconds else "",
        )
        self._refuse_if_waiting(handler)  # the wrong token that starts a wait gets the 429
        return False

    async def get_user_token(self, handler: web.RequestHandler):  # type: ignore[override]
        given = self.get_token(handler) if self.token else ""
        if not given or not self._check(handler, given):
            return None
        user = self.get_user_cookie(handler)  # the token says "in", the cookie says who
        if inspect.isawaitable(user):
            user = await user
        return user or self.generate_anonymous_user(handler)

    def process_login_form(self, handler: web.RequestHandler):  # type: ignore[override]
        if not self.auth_enabled:
            return super().process_login_form(handler)
        given = handler.get_argument("password", default="")
        if given and self._check(handler, given):
            return self.generate_anonymous_user(handler)
        return None
