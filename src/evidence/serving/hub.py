"""Viewers authenticated by JupyterHub: ``evidence serve --hub`` (deploy/jupyterhub_config.py).

The same server runs either as a **hub service** (one dashboard server for every hub user,
``/services/evidence/``) or as **each user's server** (``Spawner.cmd``, ``/user/<name>/``):
JupyterHub gives it, in its environment, its URL and prefix (``$JUPYTERHUB_SERVICE_URL``,
``$JUPYTERHUB_SERVICE_PREFIX``), an API token and an OAuth client. A viewer without a hub
login is sent to the hub's login page and back (OAuth); a logged-in user without the access
scope (``access:services!service=evidence``, or access to that user's server) gets 403.

The identity is jupyterhub's own ``JupyterHubIdentityProvider`` (the one
``jupyterhub-singleuser`` uses), so the hub user's name is the kernel owner of
:mod:`evidence.serving.kernels`. jupyterhub must be installed next to evidence
(``pip install jupyterhub``); it is imported only in this mode.
"""

from __future__ import annotations

from traitlets import default

from .security import COOKIE_OPTIONS

try:
    from jupyterhub.services.auth import HubOAuth
    from jupyterhub.singleuser.extension import JupyterHubIdentityProvider
except ImportError as exc:  # pragma: no cover - depends on the deployment
    raise ImportError(
        "evidence serve --hub needs jupyterhub installed in the same environment "
        "(pip install jupyterhub)"
    ) from exc


class HubIdentityProvider(JupyterHubIdentityProvider):
    """jupyterhub-singleuser's identity provider, for Voila's standalone application."""

    def __init__(self, **kwargs) -> None:
        kwargs.pop("token", None)  # Voila passes one; the hub's API token is used instead
        super().__init__(**kwargs)

    @default("hub_auth")
    def _default_hub_auth(self) -> HubOAuth:
        auth = HubOAuth(parent=self)
        # The OAuth cookies SameSite=Lax like the server's own (the hub's own options win).
        auth.cookie_options = {**COOKIE_OPTIONS, **auth.cookie_options}
        return auth

    @property
    def login_available(self) -> bool:
        return False  # the hub logs viewers in; this server has no login page of its own

    def oauth_routes(self) -> list[tuple]:
        """The OAuth callback route (Voila would add it without the base URL)."""
        return [r for r in self.get_handlers() if r[0] == "/oauth_callback"]
