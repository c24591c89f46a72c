"""Subgroup forest plot of a :class:`~evidence.compare.Pooled` result.

One row per included study arm (square: estimate, size: weight within its group; whisker: 95%
CI), a diamond per cell group and one overall, a prediction-interval bar where k >= 3
(diamonds and bars are layout shapes, their hover text annotations, so an estimator change
never redraws the study traces), group headings, and a labelled row for every group with no
usable numbers ("no usable numbers: <reason>") so an empty group is never silently missing.

Columns, as metafor's forest() lays them out: row label | plot | estimate [95% CI] | weight |
risk of bias, each as wide as its widest cell (measured in the figure's font) plus a gap, in
pixels (see :mod:`.columns`): the plot area takes whatever width is left, so nothing overlaps
in a dashboard pane or in an export 1280 to 2400 px wide (from ``layout.meta["min_width"]``
up). Long study labels and empty-group reasons are wrapped, never cut, and their rows grow.

The trace structure is fixed (always the same five traces in the same order, :data:`TRACES`),
so the browser's ``Plotly.react`` updates the plot in place; the estimates and weights are
tick labels of two overlaying y axes, updated in place as the row labels are.
``layout.datarevision`` is a digest of every array plotly.js compares as data
(:func:`.plot.data_revision`), so ``Plotly.react`` redraws the whole plot only when one of them
changed (benchmarks/bench_redraw.py); no tick label is measured to be hidden
(``ticklabeloverflow="allow"``: the columns are measured so that none overflows).

Given the risk-of-bias columns (``rob=``, the frame of
:func:`evidence.appraisal.rob.forest_columns`), the rightmost column shows each study row's
overall judgement as a coloured circle with robvis' symbol (+, \u2212, X, !, ?, NA; never
colour alone), its domains in the hover, and a legend line under the plot, as robvis'
``rob_append_to_forest`` does (layout shapes and annotations: no trace).

Modules, by concern: ``words`` (labels, reasons, hover texts), ``rob_column`` (the
risk-of-bias cells), ``rows`` (the row model), ``columns`` (the text columns, in px),
``shapes`` (diamonds, bars, lines), ``traces`` (the fixed traces), ``layout`` (range, axes,
title, margins, annotations) and ``plot`` (:func:`forest_plot`). The public names stay
importable from here.
"""

from evidence.figures.forest.layout import label_margin
from evidence.figures.forest.plot import config, forest_plot
from evidence.figures.forest.rob_column import ROB_LEGEND
from evidence.figures.forest.rows import MAX_LABELLED_ROWS
from evidence.figures.forest.traces import TRACES
from evidence.figures.forest.words import N_ASSUMED_MARK, direction_labels

__all__ = [
    "MAX_LABELLED_ROWS",
    "N_ASSUMED_MARK",
    "ROB_LEGEND",
    "TRACES",
    "config",
    "direction_labels",
    "forest_plot",
    "label_margin",
]
