"""Axis helpers shared by the figures (forest, funnel, sensitivity): what a measure's axis is
called, which measures are drawn on a log scale, readable log ticks, the pooled diamond."""

from __future__ import annotations

from evidence.compare import MEASURE_LABELS, unit_of

#: Measures shown on a log axis (their display scale is exp of the model scale).
RATIO_MEASURES = ("OR", "RR")
TEST_LABELS = {"z": "z-test (Wald)", "knha": "Knapp-Hartung", "adhoc": "Knapp-Hartung (ad hoc)"}


def measure_axis_title(measure: str, outcome: str) -> str:
    unit = unit_of(outcome)
    label = MEASURE_LABELS.get(measure, measure)
    if measure in RATIO_MEASURES:
        return f"{label} (log scale)"
    if measure == "PLO":
        return f"{label} (0 to 1)"
    if measure == "RD":
        return f"{label} (proportion)"
    return f"{label} ({unit})" if unit else label


def diamond_path(lb: float, est: float, ub: float, y: float, half: float = 0.36) -> str:
    """SVG path of a diamond in data coordinates (plotly maps them, log axes included)."""
    return f"M {lb!r},{y!r} L {est!r},{y - half!r} L {ub!r},{y!r} L {est!r},{y + half!r} Z"


def log_ticks(x_range: list[float]) -> list[float]:
    """Readable tick values for a log axis whose range is given in log10 units."""
    candidates = [0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 100, 1000]
    lo, hi = 10 ** x_range[0], 10 ** x_range[1]
    return [c for c in candidates if lo <= c <= hi]
