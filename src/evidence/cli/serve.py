"""``evidence serve``: the dashboard with Voila (the work is in :mod:`evidence.serve`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _serve(args: argparse.Namespace) -> int:
    from evidence.serve import serve

    # None, not False, for options not given: the environment variables then apply.
    return serve(
        port=args.port,
        open_browser=not args.no_browser,
        root=args.root,
        pool_size=args.pool_size,
        max_kernels=args.max_kernels,
        ip=args.ip,
        token=args.token,
        insecure_no_token=args.insecure_no_token or None,
        base_url=args.base_url,
        hub=args.hub or None,
    )


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the dashboard with Voila on 127.0.0.1",
        description=(
            "Serve the dashboard (notebooks/app.ipynb) with Voila: only the app, sources "
            "stripped, no tracebacks for viewers, a preheated kernel pool, idle kernels culled, "
            "a cap on kernels with a 'room is full' page. See docs/serving.md."
        ),
        epilog="example: evidence serve --port 8866 --no-browser --pool-size 20 --max-kernels 24",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument("--root", type=Path, default=Path("."), help="project folder (default: .)")
    p.add_argument(
        "--ip", help="address to listen on (default 127.0.0.1; beyond loopback needs --token)"
    )
    p.add_argument(
        "--token",
        help="'auto' or a secret of 16+ characters (prefer auto or "
        "$EVIDENCE_TOKEN: the command line shows in ps)",
    )
    p.add_argument(
        "--insecure-no-token",
        action="store_true",
        help="listen beyond loopback without a token (only behind a proxy that "
        "authenticates viewers)",
    )
    p.add_argument(
        "--pool-size", type=int, help="preheated kernels (default $EVIDENCE_POOL_SIZE or 2)"
    )
    p.add_argument(
        "--max-kernels",
        type=int,
        help="most kernels at once, pool included (default $EVIDENCE_MAX_KERNELS or 20; 0: no cap)",
    )
    p.add_argument("--base-url", help="serve under this URL prefix (behind a reverse proxy)")
    p.add_argument(
        "--hub",
        action="store_true",
        help="viewers log in with JupyterHub (run by the hub; see deploy/)",
    )
    p.set_defaults(run=_serve)


def register(sub: argparse._SubParsersAction) -> None:
    _add_serve(sub)
