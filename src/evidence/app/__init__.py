"""The dashboard (ipywidgets; plotly figures drawn by our PlotView) served by Voila from
notebooks/app.ipynb.

``from evidence.app import App; app = App.start(); app`` builds and shows it;
``app.apply_url()`` applies the page's query string. Submodules: :mod:`~evidence.app.state`
(view state, URL and validation), :mod:`~evidence.app.controls` (the sidebar),
:mod:`~evidence.app.views` (one module per view, the protocol and the registry),
:mod:`~evidence.app.dashboard` (the App), :mod:`~evidence.app.widgets` (plots in place),
:mod:`~evidence.app.html` (markup helpers), :mod:`~evidence.app.cache` (the one cache).
"""

from __future__ import annotations

import os
import sys
from typing import Any

# nbformat (which plotly's renderers import) imports jsonschema, whose rfc3987_syntax builds
# an IRI grammar at import time: 0.9 s of CPU and 20 MB in every dashboard kernel, and the
# kernel pool refills on the same 2 cores the viewers use. Nothing in a dashboard kernel
# validates IRIs, and jsonschema skips that optional format checker when the import fails.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

# plotly imports nbformat (and with it jsonschema) only to render figures as notebook outputs
# (fig.show()): 5 MB in every kernel of `evidence serve` (which names plotly's bundle in the
# environment), whose plots are all widgets. There plotly is told nbformat is missing; the
# module stays importable for everyone else. Elsewhere (a notebook) nothing changes.
if (
    os.environ.get("EVIDENCE_PLOTLY_BUNDLE")
    and "ipykernel" in sys.modules  # a kernel, not the server
    and "nbformat" not in sys.modules
    and "plotly.io._renderers" not in sys.modules
):
    sys.modules["nbformat"] = None  # type: ignore[assignment]
    try:
        import plotly.io._renderers  # noqa: F401  (records nbformat as not importable)
    finally:
        if sys.modules.get("nbformat", 0) is None:
            del sys.modules["nbformat"]

__all__ = ["App", "ViewState", "find_root", "parse_query", "to_query"]


def __getattr__(name: str) -> Any:
    # Lazy: `evidence.app.state` (URL parsing) must not import plotly or ipywidgets.
    if name in ("App", "find_root"):
        from evidence.app import dashboard

        return getattr(dashboard, name)
    if name in ("ViewState", "parse_query", "to_query"):
        from evidence.app import state

        return getattr(state, name)
    raise AttributeError(f"module 'evidence.app' has no attribute {name!r}")
