"""The forest plot's layout shapes: pooled diamonds and prediction bars (layout, so an
estimator change only relayouts), the null line, group separators and, in a compact plot,
every whisker and square as one path each."""

from __future__ import annotations

from typing import Any

from evidence.compare import to_display
from evidence.figures.axes import diamond_path
from evidence.figures.forest.rows import ForestRows
from evidence.figures.palette import LIGHT_GREY


def pooled_shapes(rows: ForestRows, measure: str) -> list[dict[str, Any]]:
    """A diamond per pooled row and a prediction-interval bar under it where k >= 3."""
    shapes: list[dict[str, Any]] = []
    for lb, est, ub, y, colour in rows.diamonds:
        d_lb, d_est, d_ub = (float(to_display(measure, v)) for v in (lb, est, ub))
        shapes.append(
            {
                "type": "path",
                "name": "diamond",
                "path": diamond_path(d_lb, d_est, d_ub, y),
                "xref": "x",
                "yref": "y",
                "fillcolor": colour,
                "line": {"color": colour, "width": 1},
                "layer": "above",
            }
        )
    for lo, hi, y in rows.pis:
        shapes.append(
            {
                "type": "line",
                "name": "prediction",
                "xref": "x",
                "yref": "y",
                "x0": lo,
                "x1": hi,
                "y0": y + 0.42,
                "y1": y + 0.42,
                "line": {"color": "#333333", "width": 3},
                "layer": "above",
            }
        )
    return shapes


def null_line(null: float) -> dict[str, Any]:
    return {
        "type": "line",
        "name": "null",
        "xref": "x",
        "yref": "paper",
        "x0": null,
        "x1": null,
        "y0": 0,
        "y1": 1,
        "line": {"color": "#333333", "width": 1.5},
        "layer": "below",
    }


def separators(rows: ForestRows, right: float) -> list[dict[str, Any]]:
    """A thin line above every group heading but the first (headings are one row high),
    across the plot area and the ``right`` px of text columns beyond it."""
    line = {"type": "line", "line": {"color": LIGHT_GREY, "width": 1}, "layer": "below"}
    out = []
    for i, (y, kind) in enumerate(zip(rows.ys, rows.kinds, strict=True)):
        if kind != "heading" or i == 0:
            continue
        at = {"yref": "y", "y0": y - 0.5, "y1": y - 0.5}
        out.append(line | at | {"xref": "paper", "x0": 0, "x1": 1})
        # the columns are in the margin: px from the plot's right edge, whatever its width
        out.append(
            line | at | {"xref": "paper", "xsizemode": "pixel", "xanchor": 1, "x0": 0, "x1": right}
        )
    return out


def compact_shapes(rows: ForestRows, x_range: list[float], log: bool) -> list[dict[str, Any]]:
    """Every CI whisker, and every study's dash, as ONE path shape each.

    Plotly draws each marker, and each gap-separated line segment, as its own SVG element, and
    restyles all of them on every update of the plot (~100 ms at 2,000 studies); one
    path with 2,000 subpaths costs a few ms.
    """
    half = (x_range[1] - x_range[0]) * 0.006  # about 4 px either side
    whiskers, dashes = [], []
    for i, (mid, y) in enumerate(zip(rows.st_x, rows.st_y, strict=True)):
        lo, hi = rows.ci_x[3 * i], rows.ci_x[3 * i + 1]
        whiskers.append(f"M{lo:.5g},{y}L{hi:.5g},{y}")
        a, b = (mid * 10**-half, mid * 10**half) if log else (mid - half, mid + half)
        dashes.append(f"M{a:.5g},{y}L{b:.5g},{y}")
    common = {"type": "path", "xref": "x", "yref": "y", "layer": "above"}
    return [
        common
        | {"name": "ci", "path": "".join(whiskers), "line": {"color": "#333333", "width": 1.4}},
        common
        | {"name": "squares", "path": "".join(dashes), "line": {"color": "#222222", "width": 7}},
    ]
