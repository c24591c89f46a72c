"""Subgroup forest plot of a :class:`~evidence.compare.Pooled` result.

One row per included study arm (square: estimate, size: weight within its group; whisker: 95%
CI), a diamond per cell group and one overall, a prediction-interval bar where k >= 3
(diamonds and bars are layout shapes, their hover text annotations, so an estimator change
never redraws the study traces), group headings, and a labelled row for every group with no
usable numbers ("no usable numbers: <reason>") so an empty group is never silently missing.

The trace structure is fixed (always the same five traces in the same order, :data:`TRACES`),
so the app can update a FigureWidget in place.

Given the risk-of-bias columns (``rob=``, the frame of
:func:`evidence.appraisal.rob.forest_columns`), a compact column at the right shows each study
row's overall judgement as a coloured circle with robvis' symbol (+, \u2212, X, !, ?, NA; never
colour alone), its domains in the hover, and a legend line under the plot, as robvis'
``rob_append_to_forest`` does. It is one more trace of the fixed structure, and an estimator
change leaves it untouched.

Modules, by concern: ``words`` (labels, reasons, hover texts), ``rob_column`` (the
risk-of-bias cells), ``rows`` (the row model), ``shapes`` (diamonds, bars, lines), ``traces``
(the fixed traces), ``layout`` (range, axes, margins, annotations) and ``plot``
(:func:`forest_plot`). The public names stay importable from here.
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
