"""The forest plot's text never overlaps and never leaves the figure, at any width from the
figure's min_width up (the dashboard's panes and the Download menu's 1280 to 2400 px).

Every text's box is worked out from the figure's structured layout the way plotly places it
(margins in px, tick labels at their standoff, annotations at x + xshift by their anchor,
lines 1.3 font sizes apart) and its width measured with evidence.figures.text_width; the
browser test tests/browser/test_forest_layout.py checks the same in chromium's drawing.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import pytest

import evidence
from evidence.appraisal import rob
from evidence.compare import EFFECT_COLUMNS, Question, effects, pool
from evidence.figures.forest import MAX_LABELLED_ROWS, forest_plot
from evidence.figures.forest.columns import EDGE, INSIDE_PAD, MIN_PLOT
from evidence.figures.text_width import lines, markup_width

from .conftest import FIXTURES, ROOT
from .test_figures import synthetic_pooled

LINE = 1.3
WIDTHS = (1280, 1600, 1920, 2400)  # the Download menu's widths (download_menu.js)


@dataclass(frozen=True)
class Box:
    what: str
    left: float
    right: float
    top: float
    bottom: float

    def overlaps(self, other: Box, slack: float = 1.0) -> bool:
        return (
            min(self.right, other.right) - max(self.left, other.left) > slack
            and min(self.bottom, other.bottom) - max(self.top, other.top) > slack
        )


def _height(text: str, size: float) -> float:
    return len(lines(text)) * LINE * size


def boxes(fig: go.Figure, width: float) -> list[Box]:
    """Every text of the forest plot drawn ``width`` px wide (and the risk-of-bias circles)."""
    lay = fig.layout
    m = lay.margin
    left, right, top, bottom = m.l, width - m.r, m.t, lay.height - m.b
    y_low, y_high = lay.yaxis.range  # reversed: the first row at the top

    def py(y: float) -> float:
        return top + (y - y_high) / (y_low - y_high) * (bottom - top)

    def px(x: float, shift: float) -> float:  # xref "paper": the plot area is 0..1
        return left + x * (right - left) + shift

    def around(what: str, x0: float, x1: float, yc: float, text: str, size: float) -> Box:
        h = _height(text, size)
        return Box(what, x0, x1, yc - h / 2, yc + h / 2)

    out: list[Box] = []
    size = lay.yaxis.tickfont.size
    for y, text in zip(lay.yaxis.tickvals, lay.yaxis.ticktext, strict=True):
        w = markup_width(text, size)
        end = left - lay.yaxis.ticklabelstandoff
        out.append(around(f"label {text}", end - w, end, py(y), text, size))
    for y, text in zip(lay.yaxis2.tickvals, lay.yaxis2.ticktext, strict=True):
        start = right + lay.yaxis2.ticklabelstandoff
        out.append(
            around(f"estimate {text}", start, start + markup_width(text, size), py(y), text, size)
        )
    for y, text in zip(lay.yaxis3.tickvals or (), lay.yaxis3.ticktext or (), strict=True):
        end = right - lay.yaxis3.ticklabelstandoff - INSIDE_PAD
        out.append(around(f"weight {text}", end - markup_width(text, size), end, py(y), text, size))
    for s in lay.shapes:
        if s.name == "rob":  # its symbol is an annotation inside it
            yc = py(s.yanchor)
            out.append(Box("rob circle", right + s.x0, right + s.x1, yc + s.y0, yc + s.y1))
    for a in lay.annotations:
        if a.name in ("pooled", "rob"):  # invisible hover marks; the symbol in its circle
            continue
        size = a.font.size
        w = markup_width(a.text, size)
        x = px(a.x, a.xshift or 0)
        x0 = {"left": x, "right": x - w, "center": x - w / 2}[a.xanchor]
        h = _height(a.text, size) + 2  # borderpad 1
        # the column headers sit on the plot's top edge; the rest under the plot, by yshift
        y0 = top - (a.yshift or 0) - h if a.yanchor == "bottom" else bottom - a.yshift
        out.append(Box(f"note {a.text[:40]}", x0, x0 + w, y0, y0 + h))
    empty = next(t for t in fig.data if t.name == "empty")
    for y, text in zip(empty.y, empty.text, strict=True):
        x0 = left + 2  # "middle right" of a point at the axis' left end
        out.append(around(f"reason {text[:40]}", x0, x0 + markup_width(text, 14), py(y), text, 14))
    out.append(_title(lay, top))
    axis_title = lay.xaxis.title.text
    w = markup_width(axis_title, 16)
    centre = (left + right) / 2
    out.append(Box("axis title", centre - w / 2, centre + w / 2, bottom + 30, bottom + 30 + 21))
    return out


def _title(lay, top: float) -> Box:
    """plotly puts the title's first line by the anchor (its bottom pad.b above the plot,
    22 px under its top) and runs the others downwards."""
    parts = lines(lay.title.text)
    sizes = [float(m.group(1)) if (m := re.search(r"font-size:(\d+)px", p)) else 20 for p in parts]
    first_bottom = top - lay.title.pad.b + 4
    w = max(markup_width(p, 20) for p in parts)
    x0 = lay.title.pad.l
    return Box("title", x0, x0 + w, first_bottom - 22, first_bottom + LINE * sum(sizes[1:]))


def problems(fig: go.Figure, width: float) -> list[str]:
    found = boxes(fig, width)
    out = []
    for i, a in enumerate(found):
        if (
            a.left < -0.5
            or a.right > width + 0.5
            or a.top < -0.5
            or a.bottom > fig.layout.height + 0.5
        ):
            out.append(f"{a.what!r} leaves the {width} px figure: {a}")
        out += [f"{a.what!r} overlaps {b.what!r}" for b in found[i + 1 :] if a.overlaps(b)]
    return out


def _long_texts() -> go.Figure:
    """Long labels and an empty group with several long reasons (wrapped, never cut)."""
    pooled = synthetic_pooled(9)
    frame = pooled.effects.copy()
    frame.loc[0, "label"] = "Ramírez-Villalobos 2019 (extension of the pilot)"
    frame.loc[0, "arm"] = "autologous bone-marrow MSC, 2 doses"
    rows = [
        dict.fromkeys(EFFECT_COLUMNS)
        | {"citekey": f"pilot{i}", "label": f"Pilot {i}", "group": "MSC+HSC", "arm": "MSC+HSC",
           "design": "single-arm", "included": False, "reason": reason, "n": 5.0}
        for i, reason in enumerate(
            (
                "MELD score not reported; no baseline to compute a change from baseline",
                "only a figure without numbers (the review does not read values off plots)",
                "the visit is outside every time window of this question",
            )
        )
    ]  # fmt: skip
    frame = pd.concat([frame[frame["group"] != "MSC+HSC"], pd.DataFrame(rows)], ignore_index=True)
    return forest_plot(pool(frame, pooled.question), filter_note="a filter note " * 6)


@pytest.fixture(scope="module")
def figures() -> dict[str, go.Figure]:
    data = evidence.load(ROOT)
    columns = rob.forest_columns(rob.load(ROOT, data), data.studies["citekey"])
    q = Question()
    ratio = Question(
        outcome="deaths", effect="control", binary_measure="RR", confidence="third-party"
    )
    fixture = evidence.load(FIXTURES / "valid")
    return {
        "dashboard default, with RoB": forest_plot(pool(effects(data, q), q), rob=columns),
        "overall row, RoB, filter note": forest_plot(
            pool(effects(data, q), q, overall=True),
            rob=columns,
            filter_note="without high risk of bias (2 arms left out)",
        ),
        "ratio on a log axis": forest_plot(pool(effects(data, ratio), ratio)),
        "fixture dataset": forest_plot(pool(effects(fixture, q), q)),
        "long labels and reasons": _long_texts(),
        "60 rows": forest_plot(synthetic_pooled(56), rob=columns),
        "compact": forest_plot(synthetic_pooled(MAX_LABELLED_ROWS + 20)),
    }


@pytest.mark.parametrize(
    "name",
    [
        "dashboard default, with RoB",
        "overall row, RoB, filter note",
        "ratio on a log axis",
        "fixture dataset",
        "long labels and reasons",
        "60 rows",
        "compact",
    ],
)
def test_no_text_overlaps_or_leaves_the_figure(figures, name):
    fig = figures[name]
    go.Figure(fig.to_plotly_json())  # valid plotly
    smallest = fig.layout.meta["min_width"]
    assert smallest <= 1280, "the narrowest export must show everything"
    for width in (smallest, *WIDTHS):
        assert problems(fig, width) == [], f"{name} at {width} px"


def test_columns_are_as_wide_as_their_widest_cell(figures):
    """Each column starts a gap after the widest cell of the one before (not a fraction of
    the figure): the estimates start past the plot, the weights end past the widest
    estimate, the risk-of-bias circles start past the weights."""
    fig = figures["dashboard default, with RoB"]
    lay = fig.layout
    size = lay.yaxis.tickfont.size
    numbers_end = lay.yaxis2.ticklabelstandoff + max(
        markup_width(t, size) for t in [*lay.yaxis2.ticktext, "<b>Estimate [95% CI]</b>"]
    )
    weight_end = -lay.yaxis3.ticklabelstandoff - INSIDE_PAD
    widest_weight = max(markup_width(t, size) for t in lay.yaxis3.ticktext)
    assert weight_end - widest_weight >= numbers_end + 8
    circles = [s for s in lay.shapes if s.name == "rob"]
    assert min(s.x0 for s in circles) >= weight_end + 8
    assert max(s.x1 for s in circles) + EDGE <= lay.margin.r
    assert lay.margin.l + MIN_PLOT + lay.margin.r == lay.meta["min_width"]


def test_reasons_are_wrapped_never_cut(figures):
    fig = figures["long labels and reasons"]
    (reason,) = next(t for t in fig.data if t.name == "empty").text
    plain = html.unescape(re.sub(r"<br>|\u2002", " ", reason))
    assert "\u2026" not in plain and len(lines(reason)) >= 2
    for part in ("MELD score not reported", "no baseline to compute a change from baseline",
                 "only a figure without numbers"):  # fmt: skip
        assert part in " ".join(plain.split())
    # its row is as tall as its lines: the row below starts under the last one
    labels = dict(zip(fig.layout.yaxis.ticktext, fig.layout.yaxis.tickvals, strict=True))
    empty_y = next(y for t, y in labels.items() if "no usable numbers" in t)
    following = sorted(y for y in fig.layout.yaxis.tickvals if y > empty_y)
    assert not following or following[0] - empty_y > 1
