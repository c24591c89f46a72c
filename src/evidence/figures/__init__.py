"""Plotly figures of the review: every function takes tidy frames or frozen result objects and
returns a ``plotly.graph_objects.Figure``; none reads files or keeps state.

Names are re-exported lazily so that the dashboard's first view imports only the forest plot.
To add a figure module (e.g. ``rob.py``, ``flow.py``), add its public names to ``_EXPORTS``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "forest_plot": "evidence.figures.forest",
    "funnel_plot": "evidence.figures.funnel",
    "evidence_map_plot": "evidence.figures.evidence_map",
    "map_frame": "evidence.figures.evidence_map",
    "leave_one_out_plot": "evidence.figures.sensitivity",
    "cumulative_plot": "evidence.figures.sensitivity",
    "estimator_grid_plot": "evidence.figures.sensitivity",
    "bayes_forest_plot": "evidence.figures.bayes",
    "tau_prior_posterior_plot": "evidence.figures.bayes",
    "export_config": "evidence.figures.style",
    "GROUP_COLOURS": "evidence.figures.palette",
    "DESIGN_COLOURS": "evidence.figures.palette",
    "OKABE_ITO": "evidence.figures.palette",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evidence.figures' has no attribute {name!r}")
    return getattr(import_module(module), name)
