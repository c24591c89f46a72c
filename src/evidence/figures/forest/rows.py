"""The forest plot's row model: one row per group heading, included study arm, pooled result
and group without usable numbers, top to bottom, with everything drawn on each row."""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evidence.compare import Pooled, to_display, unit_of
from evidence.figures.forest.rob_column import ROB_STYLE, rob_cell
from evidence.figures.forest.words import (
    heading_label,
    hover_pooled,
    hover_study,
    interval_text,
    reasons,
    study_label,
)
from evidence.figures.palette import CONFIDENCE_SYMBOLS, OVERALL_COLOUR, group_colour
from evidence.figures.style import esc, fmt

#: Above this many included study arms the plot is compact: no row labels or numbers, one
#: square size (each weight is then below 1% and unreadable as an area) and a shorter hover
#: without the weight. It keeps a 2,000-study update fast; the summary and tables still have it.
MAX_LABELLED_ROWS = 300


@dataclass
class ForestRows:
    """Rows top to bottom (y = row index) and the marks of each kind, in plot coordinates."""

    compact: bool
    labels: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)  # estimate [95% CI]
    weights: list[str] = field(default_factory=list)  # a study's weight in its group
    ys: list[float] = field(default_factory=list)  # each row's centre (see place)
    # study rows: whiskers (x pairs separated by None), squares, hover
    ci_x: list[float | None] = field(default_factory=list)
    ci_y: list[float | None] = field(default_factory=list)
    st_x: list[float] = field(default_factory=list)
    st_y: list[int] = field(default_factory=list)
    st_size: list[float] = field(default_factory=list)
    st_colour: list[str] = field(default_factory=list)
    st_symbol: list[str] = field(default_factory=list)
    st_hover: list[str] = field(default_factory=list)
    st_keys: list[list[str]] = field(default_factory=list)  # [citekey, arm]: what a click names
    # risk-of-bias column: row, fill, symbol, ink, hover
    rob: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    # pooled rows: hover points, (lb, est, ub, y, colour) diamonds, (lo, hi, y) PI bars
    pool_x: list[float] = field(default_factory=list)
    pool_y: list[int] = field(default_factory=list)
    pool_hover: list[str] = field(default_factory=list)
    diamonds: list[tuple[float, float, float, int, str]] = field(default_factory=list)
    pis: list[tuple[float, float, int]] = field(default_factory=list)
    # groups without usable numbers: row, reason (plain text, wrapped by the layout), hover
    empty: list[tuple[int, str, str]] = field(default_factory=list)
    range_values: list[float] = field(default_factory=list)  # pooled results' intervals
    study_values: list[float] = field(default_factory=list)  # studies' estimates and intervals

    def add(self, label: str, kind: str, numbers: str = "", weight: str = "") -> int:
        self.labels.append(label)
        self.kinds.append(kind)
        self.numbers.append(numbers)
        self.weights.append(weight)
        self.ys.append(len(self.ys))
        return len(self.labels) - 1

    def place(self, heights: dict[int, float]) -> None:
        """Give rows their height in row units (default 1: a row whose text has more lines
        is taller) and move every mark from its row's index to the row's centre."""
        top = -0.5
        for i in range(len(self.ys)):
            h = heights.get(i, 1.0)
            centre = top + h / 2
            self.ys[i] = int(centre) if centre.is_integer() else centre
            top += h
        if not heights:
            return
        at = self.ys
        self.ci_y = [None if y is None else at[int(y)] for y in self.ci_y]
        self.st_y = [at[y] for y in self.st_y]
        self.rob = [(at[y], *rest) for y, *rest in self.rob]
        self.pool_y = [at[y] for y in self.pool_y]
        self.diamonds = [(lb, est, ub, at[y], c) for lb, est, ub, y, c in self.diamonds]
        self.pis = [(lo, hi, at[y]) for lo, hi, y in self.pis]
        self.empty = [(at[y], *rest) for y, *rest in self.empty]

    @property
    def bottom(self) -> float:
        """The lower edge of the last row, in row units."""
        return self.ys[-1] + 0.5 if self.ys else 0.5


_ROW_TYPES: dict[tuple[str, ...], Any] = {}


def _records(frame: pd.DataFrame) -> Iterator[Any]:
    """``frame.itertuples(index=False)`` read from whole columns: pandas' itertuples takes each
    of the effects frame's ~30 columns with ``.iloc`` and builds a namedtuple class, per cell
    group and control change (about a third of this plot's time)."""
    columns = tuple(str(c) for c in frame.columns)
    row = _ROW_TYPES.get(columns)
    if row is None:
        row = _ROW_TYPES[columns] = namedtuple("Row", columns, rename=True)
    return map(row._make, zip(*(frame[c].tolist() for c in frame.columns), strict=True))


def build_rows(pooled: Pooled, rob_records: dict[str, dict[str, str]]) -> ForestRows:
    """Every row of the forest plot of ``pooled`` (``rob_records``: see rob_column)."""
    q = pooled.question
    frame = pooled.effects
    rows = ForestRows(compact=int(frame["included"].sum()) > MAX_LABELLED_ROWS)
    # The frame's columns read once, the groups split by position: a boolean sub-frame per
    # group (twice) copies every column each time, most of this plot's time in a kernel.
    effects = _Effects(frame, q.measure)
    for group in q.groups:
        _add_group(rows, pooled, group, effects, rob_records)
    overall = pooled.overall
    present = [g for g, r in pooled.groups.items() if r is not None]
    if overall is not None and len(present) >= 2:
        het = f", I\u00b2 {overall.i2:.0f}%" if math.isfinite(overall.i2) else ""
        # pool(overall=True) pools cell-therapy arms only: say it averages different therapies
        label = f"<b>Average across cell therapies (k={overall.k}{'' if rows.compact else het})</b>"
        _add_pooled(rows, pooled, overall, label, "overall", "all groups", OVERALL_COLOUR, het)
    return rows


class _Effects:
    """The effects frame as rows (namedtuples) and display-scale arrays, split by group."""

    def __init__(self, frame: pd.DataFrame, measure: str) -> None:
        self.frame = frame
        self.records = list(_records(frame))
        self.est = to_display(measure, frame["yi"].to_numpy(dtype=float))
        self.lb = to_display(measure, frame["ci_lb"].to_numpy(dtype=float))
        self.ub = to_display(measure, frame["ci_ub"].to_numpy(dtype=float))
        self.by_group: dict[Any, list[int]] = {}
        for i, g in enumerate(frame["group"].tolist()):
            self.by_group.setdefault(g, []).append(i)
        self.included = frame["included"].to_numpy(dtype=bool)

    def split(self, group: str) -> tuple[list[int], list[int]]:
        """(positions of the group's rows, of its included rows), in the frame's order."""
        rows = self.by_group.get(group, [])
        return rows, [i for i in rows if self.included[i]]

    def studies(self, positions: list[int]) -> int:
        """Distinct citekeys at these positions (as pandas' nunique: missing ones not counted)."""
        keys = (self.records[i].citekey for i in positions)
        return len({k for k in keys if isinstance(k, str) or (k is not None and k == k)})


def _add_group(
    rows: ForestRows,
    pooled: Pooled,
    group: str,
    effects: _Effects,
    rob_records: dict[str, dict[str, str]],
) -> None:
    measure = pooled.question.measure
    unit = unit_of(pooled.question.outcome)
    compact = rows.compact
    in_group, used = effects.split(group)
    result = pooled.groups.get(group)
    rows.add(heading_label(group, effects.studies(used), effects.studies(in_group)), "heading")
    weights = result.weights if result is not None else np.full(len(used), np.nan)
    # Whole columns at once: the plot must stay fast at thousands of rows.
    est, lb, ub = (values[used] for values in (effects.est, effects.lb, effects.ub))
    colour = group_colour(group)
    records = [effects.records[i] for i in used]
    for r, w, e, lo, hi in zip(records, weights, est, lb, ub, strict=True):
        y = rows.add(
            "" if compact else esc(study_label(r)),
            "study",
            "" if compact else f"{fmt(e)} [{fmt(lo)}, {fmt(hi)}]",
            "" if compact else f"{fmt(w, 0)}%",
        )
        rows.ci_x += [lo, hi, None]
        rows.ci_y += [y, y, None]
        rows.st_y.append(y)
        rows.st_keys.append([str(r.citekey), str(r.arm)])
        rows.st_size.append(6.0 if compact else 9 + 22 * math.sqrt(max(w, 0.0) / 100.0))
        rows.st_colour.append(colour)
        rows.st_symbol.append(CONFIDENCE_SYMBOLS.get(r.confidence, "square"))
        cell = rob_cell(r.citekey, rob_records) if rob_records else None
        hover = hover_study(r, measure, unit, None if compact else w, e, lo, hi)
        if cell is not None:
            fill, symbol, ink = ROB_STYLE[cell[0]]
            rob_hover = f"<b>{esc(r.label)}</b> \u00b7 risk of bias<br>{cell[1]}"
            rows.rob.append((y, fill, symbol, ink, rob_hover))
            hover += f"<br>risk of bias: {esc(cell[0])}"
        rows.st_hover.append(hover)
    rows.st_x += est.tolist()
    rows.study_values += [*est.tolist(), *lb.tolist(), *ub.tolist()]
    if result is None:
        why = reasons(effects.frame.iloc[in_group])
        y = rows.add("<i>no usable numbers</i>", "empty")
        rows.empty.append((y, why, f"<b>{esc(group)}</b>: no usable numbers<br>{esc(why)}"))
        return
    het = f", I\u00b2 {result.i2:.0f}%" if result.k > 1 and math.isfinite(result.i2) else ""
    label = f"<i>{esc(group)} pooled (k={result.k}{'' if compact else het})</i>"
    _add_pooled(rows, pooled, result, label, "pooled", group, group_colour(group), het)


def _add_pooled(
    rows: ForestRows,
    pooled: Pooled,
    result: Any,
    label: str,
    kind: str,
    name: str,
    colour: str,
    het: str,
) -> None:
    """A pooled row (a group's or the overall one): diamond, PI bar, numbers and hover."""
    measure = pooled.question.measure
    numbers = interval_text(measure, result.estimate, result.ci_lb, result.ci_ub)
    y = rows.add(label, kind, f"<b>{numbers}</b>" + (het.replace(",", " ") if rows.compact else ""))
    est, hover = hover_pooled(result, measure, unit_of(pooled.question.outcome), name)
    rows.pool_x.append(est)
    rows.pool_y.append(y)
    rows.pool_hover.append(hover)
    rows.diamonds.append((result.ci_lb, result.estimate, result.ci_ub, y, colour))
    rows.range_values += [float(to_display(measure, v)) for v in (result.ci_lb, result.ci_ub)]
    if result.k >= 3 and math.isfinite(result.pi_lb):
        lo, hi = (float(to_display(measure, v)) for v in (result.pi_lb, result.pi_ub))
        rows.pis.append((lo, hi, y))
        rows.range_values += [lo, hi]
