"""JupyterHub configuration: the evidence dashboard for many interactive viewers.

    EVIDENCE_ROOT=/srv/evidence EVIDENCE_HUB_PASSWORD='a-room-password' \
        jupyterhub -f deploy/jupyterhub_config.py

Two ways, chosen with $EVIDENCE_HUB_MODE (see deploy/README.md):

- ``service`` (the default): JupyterHub starts ONE ``evidence serve --hub`` as a managed hub
  service at ``/services/evidence/``; every logged-in viewer gets their own kernel from its
  preheated pool, within its kernel cap; the hub logs viewers in (OAuth) and only users with
  the ``access:services!service=evidence`` scope get in. One machine: size the pool and the
  cap for the room (about 200 MB a kernel).
- ``user``: each viewer gets their OWN server, ``evidence serve --hub`` as ``Spawner.cmd``
  at ``/user/<name>/`` (a pool of 1, a cap of 3 kernels). With a spawner that places servers
  on other machines (KubeSpawner, DockerSpawner with Swarm, BatchSpawner, SSHSpawner, ...)
  this is the way past one machine; with the default LocalProcessSpawner every user needs a
  system account here.

In both, a viewer sees only the dashboard: ``evidence serve`` serves nothing else (no Jupyter
server, no file, no terminal), as in docs/serving.md.

Who may log in: by default the "shared-password" authenticator (JupyterHub >= 5.3) with the
password in $EVIDENCE_HUB_PASSWORD: fit for a journal club (anyone with the password, under
any name; two people who pick the same name share that name's kernels). For anything longer
lived, set $EVIDENCE_HUB_AUTHENTICATOR to a real one (e.g. "github" or "generic-oauth" from
oauthenticator, "pam" for system users) and configure it below.

Settings read from the environment (all optional except the password of the default
authenticator): EVIDENCE_ROOT (the project folder, default: this checkout), EVIDENCE_PYTHON
(the Python with evidence and jupyterhub installed, default: the hub's), EVIDENCE_HUB_MODE,
EVIDENCE_HUB_AUTHENTICATOR, EVIDENCE_HUB_PASSWORD, EVIDENCE_HUB_IP/EVIDENCE_HUB_PORT (where the
hub listens, default 127.0.0.1:8000: put TLS in front of it, or set
c.JupyterHub.ssl_cert/ssl_key), EVIDENCE_POOL_SIZE/EVIDENCE_MAX_KERNELS (the service's pool
and cap, default 20/24).
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

ROOT = os.environ.get("EVIDENCE_ROOT", str(Path(__file__).resolve().parents[1]))
PYTHON = os.environ.get("EVIDENCE_PYTHON", sys.executable)
MODE = os.environ.get("EVIDENCE_HUB_MODE", "service")
SERVICE_PORT = int(os.environ.get("EVIDENCE_SERVICE_PORT", "10101"))
if MODE not in ("service", "user"):
    raise ValueError(f"EVIDENCE_HUB_MODE must be 'service' or 'user', not {MODE!r}")

# --- the hub ---------------------------------------------------------------------------------
c.JupyterHub.ip = os.environ.get("EVIDENCE_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("EVIDENCE_HUB_PORT", "8000"))
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# --- who may log in --------------------------------------------------------------------------
c.JupyterHub.authenticator_class = os.environ.get("EVIDENCE_HUB_AUTHENTICATOR", "shared-password")
if c.JupyterHub.authenticator_class == "shared-password":
    c.SharedPasswordAuthenticator.user_password = os.environ.get("EVIDENCE_HUB_PASSWORD")
    c.Authenticator.allow_all = True  # any name, with the room's password
# e.g. for GitHub logins (pip install oauthenticator):
# c.GitHubOAuthenticator.client_id = ...; c.GitHubOAuthenticator.client_secret = ...
# c.GitHubOAuthenticator.oauth_callback_url = "https://hub.example.org/hub/oauth_callback"
# c.Authenticator.allowed_users = {"alice", "bob"}

# What every `evidence serve --hub` gets in its environment (the hub adds its own variables:
# its URL, prefix, API token and OAuth client).
EVIDENCE_ENV = {
    "EVIDENCE_HUB": "1",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    **{k: os.environ[k] for k in ("PYTHONPATH", "LANG", "HOME") if k in os.environ},
}
SERVE = [PYTHON, "-m", "evidence.cli", "serve", "--no-browser", "--root", ROOT]

if MODE == "service":
    # --- one dashboard server for everyone: a managed hub service ----------------------------
    c.JupyterHub.services = [
        {
            "name": "evidence",
            "url": f"http://127.0.0.1:{SERVICE_PORT}",  # the hub's proxy reaches it here
            "command": SERVE,
            "environment": {
                **EVIDENCE_ENV,
                "EVIDENCE_POOL_SIZE": os.environ.get("EVIDENCE_POOL_SIZE", "20"),
                "EVIDENCE_MAX_KERNELS": os.environ.get("EVIDENCE_MAX_KERNELS", "24"),
            },
            "oauth_no_confirm": True,  # no "authorize this service?" page for viewers
            "display": True,  # listed on the hub's home page
        }
    ]
    # Every user may use the dashboard (narrow "users" to a list or a group if needed).
    c.JupyterHub.load_roles = [
        {
            "name": "user",
            "scopes": ["self", "access:services!service=evidence"],
        }
    ]
    c.JupyterHub.default_url = "/services/evidence/"  # after login, straight to the dashboard
else:
    # --- a dashboard server per viewer: Spawner.cmd -------------------------------------------
    c.Spawner.cmd = SERVE
    c.Spawner.environment = {
        **EVIDENCE_ENV,
        "EVIDENCE_POOL_SIZE": "1",
        "EVIDENCE_MAX_KERNELS": "3",  # a few tabs; each kernel is about 200 MB
    }
    c.Spawner.default_url = "/"
    c.Spawner.http_timeout = 120  # the first page waits for the pool kernel
    c.Spawner.mem_limit = "1G"  # enforced by container spawners, not by LocalProcessSpawner
    c.JupyterHub.default_url = "/hub/spawn"
    # Past one machine: e.g. c.JupyterHub.spawner_class = "kubespawner.KubeSpawner" with an
    # image that has this project installed (pip install -e . jupyterhub) at EVIDENCE_ROOT.
    # Stop servers nobody uses (pip install jupyterhub-idle-culler):
    # c.JupyterHub.services.append({"name": "idle-culler", "command": [sys.executable, "-m",
    #     "jupyterhub_idle_culler", "--timeout=1800"]})
    # c.JupyterHub.load_roles = [{"name": "idle-culler", "services": ["idle-culler"],
    #     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]}]
