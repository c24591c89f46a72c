"""What every response of ``evidence serve`` carries, and what no request may carry.

- :data:`CONTENT_SECURITY_POLICY`: scripts only from this server (``'self'``) and from
  ``blob:`` URLs the page makes itself (anywidget turns a widget's ES module source into a
  ``blob:`` URL and imports it); no inline script, no ``eval``, no plugin, no ``<base>``, no
  form sent elsewhere, no framing by other sites. The "evidence" template has no inline script
  (it loads ``static/evidence-page.js`` instead of Voila's inline snippets). Styles stay
  ``'unsafe-inline'``: the widgets and plotly set styles inline, and a style cannot run code;
- :class:`SecurityHeaders` (a tornado output transform, so it covers every handler, Voila's
  and jupyter_server's included): the policy, ``nosniff``, no ``Referer`` to other sites,
  no ``Server`` header (tornado names itself and its version), and ``Retry-After`` on a 429;
- :data:`CONTROL_PATH`: a route for any path with a control character (C0, DEL or C1, raw or
  percent-encoded): 404 before any handler sees it (tornado's static file handler answers a NUL
  with a 500 and a traceback in the log);
- cookie attributes for the login and ``_xsrf`` cookies (``SameSite=Lax``; the login cookie is
  also ``HttpOnly``, set by jupyter_server). ``_xsrf`` cannot be ``HttpOnly``: Jupyter's
  pages read it to send it back in a header (double-submit), and it identifies nobody.
"""

from __future__ import annotations

from tornado import httputil
from tornado.web import OutputTransform

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
#: Any path holding a control character: raw, or percent-encoded (%00-%1F, %7F, and the
#: UTF-8 encoding of C1, %C2%80-%C2%9F). Tornado matches routes on the still-encoded path.
CONTROL_PATH = r"(?i).*(?:%[01][0-9a-f]|%7f|%c2%[89][0-9a-f]|[\x00-\x1f\x7f]).*"
COOKIE_OPTIONS = {"samesite": "Lax"}
#: Where a handler leaves the seconds a refused client should wait (read by SecurityHeaders:
#: tornado clears a handler's headers before it writes an error page).
RETRY_AFTER_ATTR = "_evidence_retry_after"


class SecurityHeaders(OutputTransform):
    """The headers of every response (see the module docstring)."""

    def __init__(self, request: httputil.HTTPServerRequest) -> None:
        self.request = request

    def transform_first_chunk(
        self, status_code: int, headers: httputil.HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, httputil.HTTPHeaders, bytes]:
        headers.pop("Server", None)
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"  # the address may hold a view; not for DOIs
        retry = getattr(self.request, RETRY_AFTER_ATTR, None)
        if status_code == 429 and retry is not None:
            headers["Retry-After"] = str(retry)
        return status_code, headers, chunk
