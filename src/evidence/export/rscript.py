"""Every pooled result, reproducible in R with metafor: a script, its data and the expected values.

For one view (a :class:`~evidence.compare.Question`, an estimator and a test) :func:`analysis`
collects

* ``NAME.data.csv``: every number the analysis uses, one per row as in ``data/outcomes.csv``
  (citekey, arm, statistic, value in the canonical unit, the value and unit as reported, n,
  locator, confidence, source line), with the study arm (``effect``) and its ``role`` (the
  treated arm or its control) it belongs to;
* ``NAME.expected.csv``: the product's own per-group results (``group, k, estimate, ci_lb,
  ci_ub, tau2, pi_lb, pi_ub``; NA where a group has no study or a quantity is undefined);
* ``NAME.R``: a readable script that starts from those numbers, converts them as the product
  does (SE to SD; median with quartiles or range to mean and SD by Luo/Wan/Shi; the assumed
  pre-post correlation), computes the effect sizes with metafor's ``escalc``, fits each group
  with ``rma`` (same estimator and test), writes ``NAME.metafor.csv`` with the same columns,
  prints a summary with the largest difference from the product, and draws ``forest()`` to
  ``NAME.pdf``.

:func:`files` gives a folder's files for several analyses (with ``run_all.R``, which runs them
all in one R session, and a README); :func:`zip_bytes` gives one view as a zip for a download.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from dataclasses import dataclass

import pandas as pd

from evidence import __version__
from evidence.compare import (
    CONFIDENCE_FILTERS,
    DESIGN_FILTERS,
    MEASURE_LABELS,
    OUTCOME_LABELS,
    POPULATION_FILTERS,
    WINDOWS,
    Question,
    effects,
    pool,
    unit_of,
)
from evidence.data import Dataset

#: Estimators metafor's ``rma`` has under the same name. Anything else (a Bayesian model, say)
#: has no metafor equivalent and is refused by :func:`unsupported`.
METAFOR_METHODS = ("FE", "DL", "REML", "ML", "PM", "EB", "HS", "SJ", "HE")
METAFOR_TESTS = ("z", "knha", "adhoc")  # metafor 3.8.1's rma has all three

RESULT_COLUMNS = ("group", "k", "estimate", "ci_lb", "ci_ub", "tau2", "pi_lb", "pi_ub")
DATA_COLUMNS = (
    "effect",
    "citekey",
    "study",
    "group",
    "arm",
    "role",
    "quantity",
    "timepoint",
    "statistic",
    "value",
    "unit",
    "n",
    "n_reported",
    "used",
    "value_reported",
    "unit_reported",
    "locator",
    "confidence",
    "source",
)
EFFECT_TITLES = {"change": "change from baseline within arms", "control": "cells versus control"}


def unsupported(method: str, test: str) -> str | None:
    """Why ``method``/``test`` cannot be reproduced with metafor, or None when it can."""
    if method not in METAFOR_METHODS:
        return (
            f"the {method} estimator has no metafor equivalent (rma has "
            f"{', '.join(METAFOR_METHODS)}), so there is nothing for R to reproduce"
        )
    if test not in METAFOR_TESTS:
        return f"the {test!r} test has no metafor equivalent"
    return None


def slug(question: Question) -> str:
    """The analysis' file name stem, as the report names its tables: ``meld_change``."""
    return re.sub(r"[^a-z0-9]+", "_", f"{question.outcome}_{question.effect}".lower()).strip("_")


@dataclass(frozen=True)
class Analysis:
    """One analysis ready to export: its numbers, the product's results and the R script."""

    name: str
    question: Question
    method: str
    test: str
    numbers: pd.DataFrame
    expected: pd.DataFrame
    excluded: int

    @property
    def title(self) -> str:
        return f"{OUTCOME_LABELS[self.question.outcome]}: {EFFECT_TITLES[self.question.effect]}"

    @property
    def k(self) -> int:
        return int(self.expected["k"].sum())

    def script(self) -> str:
        return _script(self)

    def files(self) -> dict[str, str]:
        return {
            f"{self.name}.R": self.script(),
            f"{self.name}.data.csv": _csv(self.numbers),
            f"{self.name}.expected.csv": _csv(self.expected),
        }


def _csv(frame: pd.DataFrame) -> str:
    # NA is what read.csv reads as missing in any column; floats keep every digit (repr).
    return frame.to_csv(index=False, na_rep="NA", lineterminator="\n")


def analysis(
    data: Dataset,
    question: Question,
    method: str = "REML",
    test: str = "z",
    name: str = "",
    effects_frame: pd.DataFrame | None = None,
) -> Analysis:
    """The numbers, the product's pooled results and the script of one view.

    ``effects_frame`` is the view's table of effects when it is not plain
    ``compare.effects(data, question)`` (a dashboard filter that leaves arms out). Raises
    ValueError when the estimator or test has no metafor equivalent.
    """
    why = unsupported(method, test)
    if why:
        raise ValueError(why)
    frame = effects(data, question) if effects_frame is None else effects_frame
    pooled = pool(frame, question, method=method, test=test)
    rows = []
    for group in question.groups:
        result = pooled.groups.get(group)
        if result is None:
            rows.append({"group": group, "k": 0})
        else:
            rows.append({c: getattr(result, c) for c in RESULT_COLUMNS if c != "group"})
            rows[-1] = {"group": group} | rows[-1]
    expected = pd.DataFrame.from_records(rows, columns=list(RESULT_COLUMNS))
    expected["k"] = expected["k"].astype(int)
    included = frame[frame["included"]]
    return Analysis(
        name=name or slug(question),
        question=question,
        method=method,
        test=test,
        numbers=_numbers(data, question, included),
        expected=expected,
        excluded=int((~frame["included"]).sum()),
    )


def _numbers(data: Dataset, question: Question, included: pd.DataFrame) -> pd.DataFrame:
    """Every number of the cells each included study arm rests on, one per row.

    A cell is what one arm reports for one quantity at one timepoint; the effect's ``source_lines``
    name the numbers it uses (``used``), and the cell's other numbers come along because the
    product reads the cell's n from all of them.
    """
    outcomes = data.outcomes[data.outcomes["outcome"] == question.outcome]
    if "n_reported" not in outcomes:  # a frame from before the loader said so
        outcomes = outcomes.assign(n_reported=False)
    planned = data.arms.loc[data.arms["n_basis"] == "planned", ["citekey", "arm"]]
    planned_arms = set(zip(planned["citekey"], planned["arm"], strict=True))
    by_line = outcomes.set_index("source_line", drop=False)
    cell_of = ["citekey", "arm", "quantity", "timepoint"]
    records = []
    for effect, row in enumerate(included.itertuples(index=False), start=1):
        used = set(row.source_lines)
        cells = {tuple(by_line.loc[line, cell_of]) for line in used}
        rows = outcomes[[tuple(r) in cells for r in outcomes[cell_of].itertuples(index=False)]]
        for o in rows.itertuples(index=False):
            if o.arm == row.arm:
                role = "treated"
            elif o.arm == row.comparator:
                role = "control"
            else:  # the product's own bookkeeping is broken: say so rather than export it
                raise ValueError(
                    f"{row.citekey}: outcomes line {o.source_line} is neither arm {row.arm!r} "
                    f"nor its comparator {row.comparator!r}"
                )
            reported = bool(o.n_reported)
            # A planned arm size never stands in for an n (the product ignores it too).
            stand_in_ok = (o.citekey, o.arm) not in planned_arms
            records.append(
                {
                    "effect": effect,
                    "citekey": o.citekey,
                    "study": row.label,
                    "group": row.group,
                    "arm": o.arm,
                    "role": role,
                    "quantity": o.quantity,
                    "timepoint": o.timepoint,
                    "statistic": o.statistic,
                    "value": float(o.value),
                    "unit": o.unit,
                    "n": o.n if reported or stand_in_ok else pd.NA,
                    "n_reported": "TRUE" if reported else "FALSE",
                    "used": "TRUE" if int(o.source_line) in used else "FALSE",
                    "value_reported": float(o.value_reported),
                    "unit_reported": o.unit_reported,
                    "locator": o.locator,
                    "confidence": o.confidence,
                    "source": f"{o.source_file}:{o.source_line}",
                }
            )
    frame = pd.DataFrame.from_records(records, columns=list(DATA_COLUMNS))
    frame["n"] = frame["n"].astype("Int64")
    return frame


# --- the R script -----------------------------------------------------------------------------

_TEST_WORDS = {
    "z": "Wald-type z test and 95% confidence interval",
    "knha": "Knapp-Hartung t test and 95% confidence interval (df = k - 1)",
    "adhoc": 'Knapp-Hartung t test with its scale factor at least 1 (metafor\'s "adhoc"), 95% CI',
}
_METHOD_WORDS = {
    "FE": "common-effect (FE) model",
    "DL": "random effects, DerSimonian-Laird estimator of tau^2",
    "REML": "random effects, REML estimator of tau^2",
    "ML": "random effects, maximum-likelihood estimator of tau^2",
    "PM": "random effects, Paule-Mandel estimator of tau^2",
    "EB": "random effects, empirical Bayes estimator of tau^2",
    "HS": "random effects, Hunter-Schmidt estimator of tau^2",
    "SJ": "random effects, Sidik-Jonkman estimator of tau^2",
    "HE": "random effects, Hedges estimator of tau^2",
}


_ANALYSIS_SCALE = {"OR": "log odds ratio", "RR": "log risk ratio", "PLO": "logit"}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _r_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid R string literal


def _r_number(x: float) -> str:
    return repr(float(x))


def _script(a: Analysis) -> str:
    q = a.question
    unit = unit_of(q.outcome)
    stats = set(a.numbers.loc[a.numbers["used"] == "TRUE", "statistic"])
    if a.k == 0:
        effect_sizes = [_EMPTY]
    else:
        effect_sizes = [
            _CELLS_BINARY if q.binary else _CELLS,
            "" if q.binary or "se" not in stats else _SE,
            "" if q.binary or "median" not in stats else _FIVENUM,
            {
                ("change", False): _EFFECTS_MC,
                ("control", False): _EFFECTS_MD,
                ("change", True): _EFFECTS_PLO,
                ("control", True): _EFFECTS_2X2,
            }[(q.effect, q.binary)],
        ]
    parts = [
        _HEADER,
        *effect_sizes,
        _FIT,
        _FE_PI if a.method == "FE" else "",
        _FIT_END,
        _SUMMARY,
        _FOREST,
    ]
    display = {
        "OR": ("exp", "odds ratio"),
        "RR": ("exp", "risk ratio"),
        "PLO": ("plogis", "proportion"),
    }.get(q.measure)
    replacements = {
        "@TITLE@": a.title,
        "@VERSION@": __version__,
        "@DATE@": dt.date.today().isoformat(),
        "@NAME@": a.name,
        "@NAME_Q@": _r_string(a.name),
        "@OUTCOME@": OUTCOME_LABELS[q.outcome] + (f" ({unit})" if unit else ""),
        "@WINDOW@": "the latest reported timepoint of each arm"
        if q.window == "latest"
        else f"the latest timepoint {WINDOWS[q.window][0]} after the infusion",
        "@MEASURE@": f'{MEASURE_LABELS[q.measure]}; metafor measure "{q.measure}"',
        "@MEASURE_Q@": _r_string(q.measure),
        "@FILTERS@": f"{DESIGN_FILTERS[q.design][0]}, {POPULATION_FILTERS[q.population][0]}; "
        f"numbers: {CONFIDENCE_FILTERS[q.confidence][0]}",
        "@GROUPS@": ", ".join(q.groups),
        "@GROUPS_R@": "c(" + ", ".join(_r_string(g) for g in q.groups) + ")",
        "@MODEL@": _METHOD_WORDS[a.method],
        "@TESTS@": _TEST_WORDS[a.test],
        "@METHOD_Q@": _r_string(a.method),
        "@TEST_Q@": _r_string(a.test),
        "@RI@": _r_number(q.ri),
        "@RI_TEXT@": f"{q.ri:g}",
        "@K@": _count(a.k, "study arm"),
        "@EXCLUDED@": f"{_count(a.excluded, 'other arm')} of these groups "
        f"{'was' if a.excluded == 1 else 'were'}",
        "@TRANSF@": display[0] if display else "identity",
        "@XLAB_Q@": _r_string(
            MEASURE_LABELS[q.measure][0].upper()
            + MEASURE_LABELS[q.measure][1:]
            + (f" ({unit})" if unit else "")
        ),
        "@FOREST_TRANSF@": {"exp": ", atransf = exp", "plogis": ", transf = plogis"}.get(
            display[0] if display else "", ""
        ),
        "@SCALE_NOTE@": "#\n# Estimates are on metafor's analysis scale "
        f"({_ANALYSIS_SCALE[q.measure]}); the summary and\n# the forest plot show them as "
        f"{_article(display[1])}.\n"
        if display
        else "",
        "@SCALE_LINE@": f'cat("shown as {_article(display[1])}, back-transformed from the '
        f'{_ANALYSIS_SCALE[q.measure]}\\n")\n'
        if display
        else "",
    }
    text = "".join(p for p in parts if p)
    text = text.replace("@ASSUMED@", _ASSUMED_R if q.measure == "MC" else "")
    text = text.replace("@CELL_N@", _CELL_N).replace("@SHARED@", _SHARED)
    ratio = q.measure in ("OR", "RR")
    text = text.replace("@TICKS@", _RATIO_TICKS if ratio else "")
    text = text.replace("@AT@", ", at = log(ticks)" if ratio else "")
    text = text.replace("@SPLIT@", "events and patients are" if q.binary else "n is")
    text = text.replace(
        "@R_LINE@", "r <- @RI@  # assumed pre-post correlation\n" if q.measure == "MC" else ""
    )
    for key, value in replacements.items():
        text = text.replace(key, value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    assert not leftover, leftover
    return text


_ASSUMED_R = (
    "#   assumed     pre-post correlation r = @RI_TEXT@ where a change is computed from "
    "baseline\n#               and follow-up levels (no study reports it)\n"
)

_HEADER = """\
# @TITLE@, reproduced with metafor
#
# Written by `evidence export-r` (evidence @VERSION@, @DATE@). Run it inside this folder:
#     Rscript @NAME@.R
# It needs base R and the metafor package (written for metafor 3.8.1).
#   reads   @NAME@.data.csv: every number the analysis uses, one per row, each with
#           its study, arm, locator (where in the paper) and confidence
#           @NAME@.expected.csv: the evidence product's own pooled results
#   writes  @NAME@.metafor.csv: metafor's pooled results, with the same columns
#           @NAME@.pdf: metafor's forest plot
#
# The analysis, as the product ran it:
#   outcome     @OUTCOME@; @WINDOW@
#   effect      @MEASURE@
#   studies     @FILTERS@
#   groups      @GROUPS@, each pooled on its own
#   model       @MODEL@
#   tests       @TESTS@
@ASSUMED@#   arms        @K@ with usable numbers; @EXCLUDED@
#               left out (not reported, filtered out or not convertible; the product's report
#               lists each with its reason)
@SCALE_NOTE@
suppressPackageStartupMessages(library(metafor))

name <- @NAME_Q@
groups <- @GROUPS_R@
method <- @METHOD_Q@
test <- @TEST_Q@
@R_LINE@"""

_EMPTY = """
# ---- 1. The numbers ---------------------------------------------------------------------------
numbers <- read.csv(paste0(name, ".data.csv"), stringsAsFactors = FALSE)
# No study arm of these groups has usable numbers for this analysis (the data file has none),
# so there is no effect size to compute and every group below has k = 0.
es <- data.frame(group = character(0), yi = numeric(0), vi = numeric(0))
"""

_CELLS = """
# ---- 1. The numbers ---------------------------------------------------------------------------
numbers <- read.csv(paste0(name, ".data.csv"), stringsAsFactors = FALSE)

# A "cell" is what one arm reports for one quantity (level or change) at one timepoint. Give
# each statistic its own column; a statistic the cell does not report stays NA.
numbers$cell <- paste(numbers$effect, numbers$role, numbers$quantity, numbers$timepoint)
cells <- numbers[!duplicated(numbers$cell),
                 c("cell", "effect", "role", "arm", "quantity", "timepoint")]
for (s in c("mean", "sd", "se", "median", "q1", "q3", "min", "max")) {
  rows <- numbers[numbers$statistic == s, ]
  cells[[s]] <- rows$value[match(cells$cell, rows$cell)]
}
@CELL_N@"""

_CELLS_BINARY = """\

# ---- 1. The numbers ---------------------------------------------------------------------------
numbers <- read.csv(paste0(name, ".data.csv"), stringsAsFactors = FALSE)

# A "cell" is what one arm reports at one timepoint: events and, where given, the total.
numbers$cell <- paste(numbers$effect, numbers$role, numbers$timepoint)
cells <- numbers[!duplicated(numbers$cell), c("cell", "effect", "role", "arm", "timepoint")]
for (s in c("events", "total")) {
  rows <- numbers[numbers$statistic == s, ]
  cells[[s]] <- rows$value[match(cells$cell, rows$cell)]
}
@CELL_N@# Where the paper gives no denominator, the cell's n is used (the product does the same and
# says so in its table of effects).
cells$total <- ifelse(is.na(cells$total), cells$n, cells$total)
"""

_CELL_N = """\
# The patients behind a cell: the n the paper gives for these numbers (the smallest, if it
# gives several, e.g. completers), else the arm's size standing in for it (n_reported FALSE).
cells$n <- sapply(cells$cell, function(id) {
  rows <- numbers[numbers$cell == id & !is.na(numbers$n), ]
  own <- rows$n[rows$n_reported]
  if (length(own)) min(own) else if (nrow(rows)) min(rows$n) else NA
})
"""

_SE = """
# Mean and SD of each cell, in the product's order of preference: a reported mean and SD, else
# a mean and its SE (SD = SE * sqrt(n)), else a median with quartiles and/or range (below).
from_se <- is.na(cells$sd) & !is.na(cells$mean) & !is.na(cells$se)
cells$sd[from_se] <- cells$se[from_se] * sqrt(cells$n[from_se])
"""

_FIVENUM = """
# A median with quartiles and/or range becomes a mean and SD, assuming normal data: the mean by
# Luo et al. (2018), the SD by Wan et al. (2014) or, with all five numbers, Shi et al. (2020).
# This is the default "luo/wan/shi" method of metafor's conv.fivenum(), which metafor 3.8.1
# does not have yet, so the published formulas are written out here exactly as the product
# applies them (with metafor >= 4.0, conv.fivenum() gives the same values). As in
# conv.fivenum(), a cell with n < 5 or failing Shi et al.'s (2023) skewness test is not
# converted (the product then leaves the arm out, so no such cell is in the data file). A cell
# with a reported mean and SD (or SE) keeps those.
fivenum_mean_sd <- function(min, q1, median, q3, max, n) {
  if (is.na(n) || n < 5) return(c(NA, NA))
  xi <- 2 * qnorm((n - 0.375) / (n + 0.25))        # expected range of n normal values, in SDs
  eta <- 2 * qnorm((0.75 * n - 0.125) / (n + 0.25)) # expected IQR, in SDs
  range <- !is.na(min) && !is.na(max)
  iqr <- !is.na(q1) && !is.na(q3)
  if (range && !iqr) {          # min, median, max
    skew <- abs((min + max - 2 * median) / (max - min))
    crit <- 1 / log(n + 9) + 2.5 / (n + 1)
    w <- 4 / (4 + n^0.75)
    mean <- w * (min + max) / 2 + (1 - w) * median
    sd <- (max - min) / xi
  } else if (iqr && !range) {   # q1, median, q3
    skew <- abs((q1 + q3 - 2 * median) / (q3 - q1))
    crit <- 2.65 / sqrt(n) - 6 / n^2
    w <- 0.7 + 0.39 / n
    mean <- w * (q1 + q3) / 2 + (1 - w) * median
    sd <- (q3 - q1) / eta
  } else if (iqr && range) {    # all five
    skew <- max(2.65 * log(0.6 * n) / sqrt(n) * abs((min + max - 2 * median) / (max - min)),
                abs((q1 + q3 - 2 * median) / (q3 - q1)))
    crit <- 3 / sqrt(n) - 40 / n^3
    w1 <- 2.2 / (2.2 + n^0.75)
    w2 <- 0.7 - 0.72 / n^0.55
    mean <- w1 * (min + max) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * median
    ws <- 1 / (1 + 0.07 * n^0.6)
    sd <- ws * (max - min) / xi + (1 - ws) * (q3 - q1) / eta
  } else {
    return(c(NA, NA))
  }
  if (isTRUE(skew >= crit)) return(c(NA, NA))  # too skewed for the normal-data formulas
  c(mean, sd)
}
for (i in which((is.na(cells$mean) | is.na(cells$sd)) & !is.na(cells$median))) {
  converted <- with(cells[i, ], fivenum_mean_sd(min, q1, median, q3, max, n))
  cells$mean[i] <- converted[1]
  cells$sd[i] <- converted[2]
}
"""

_ARMS = """
# ---- 2. Effect sizes --------------------------------------------------------------------------
# One row per study arm, in the product's order; its cells on the treated and control side.
first <- numbers$role == "treated" & !duplicated(paste(numbers$effect, numbers$role))
arms <- numbers[first, c("effect", "citekey", "study", "group", "arm")]
"""

_SHARED = """
# A control arm compared with several cell arms of this analysis (a multi-arm trial) is split
# evenly between the comparisons (Cochrane Handbook 23.3.4), so that its patients are not
# counted twice: its @SPLIT@ divided by the number of comparisons it serves.
shared <- ave(arms$effect, arms$citekey, control$arm, FUN = length)
"""

_EFFECTS_MC = (
    _ARMS
    + """\
treated <- cells[cells$role == "treated" & cells$timepoint != "baseline", ]
treated <- treated[match(arms$effect, treated$effect), ]
baseline <- cells[cells$role == "treated" & cells$timepoint == "baseline", ]
baseline <- baseline[match(arms$effect, baseline$effect), ]  # NA where the change was reported
arms$timepoint <- treated$timepoint

# A change the paper reports enters as it is: yi = mean change, vi = SD^2 / n ("MC" with a zero
# baseline and r = 0 gives exactly that). A change computed from baseline and follow-up levels
# is metafor's "MC" (follow-up minus baseline) with the assumed correlation r.
reported <- treated$quantity == "change"
es <- escalc("MC", data = arms,
             m1i = treated$mean, sd1i = treated$sd,
             m2i = ifelse(reported, 0, baseline$mean), sd2i = ifelse(reported, 0, baseline$sd),
             ni = ifelse(is.na(treated$n), baseline$n, treated$n),
             ri = ifelse(reported, 0, r))
"""
)

_EFFECTS_MD = (
    _ARMS
    + """\
treated <- cells[cells$role == "treated", ]
treated <- treated[match(arms$effect, treated$effect), ]
control <- cells[cells$role == "control", ]
control <- control[match(arms$effect, control$effect), ]
arms$timepoint <- treated$timepoint
@SHARED@control$n <- control$n / shared

# Cells minus control at the same timepoint, both arms on the same basis (changes from baseline
# where both report them, else follow-up levels, as the product chose): metafor's "MD".
es <- escalc("MD", data = arms,
             m1i = treated$mean, sd1i = treated$sd, n1i = treated$n,
             m2i = control$mean, sd2i = control$sd, n2i = control$n)
"""
)

_EFFECTS_PLO = (
    _ARMS
    + """\
treated <- cells[cells$role == "treated", ]
treated <- treated[match(arms$effect, treated$effect), ]
arms$timepoint <- treated$timepoint

# The proportion of the arm's patients with the event, on the logit scale ("PLO"); an arm with
# no events (or only events) gets 1/2 added to both counts, metafor's default.
es <- escalc("PLO", data = arms, xi = treated$events, ni = treated$total)
"""
)

_EFFECTS_2X2 = (
    _ARMS
    + """\
treated <- cells[cells$role == "treated", ]
treated <- treated[match(arms$effect, treated$effect), ]
control <- cells[cells$role == "control", ]
control <- control[match(arms$effect, control$effect), ]
arms$timepoint <- treated$timepoint
@SHARED@control$events <- control$events / shared
control$total <- control$total / shared

# Events in the cell arm versus its control arm; a table with a zero cell gets 1/2 added to
# every cell (metafor's default, which the product follows).
es <- escalc(@MEASURE_Q@, data = arms,
             ai = treated$events, n1i = treated$total, ci = control$events, n2i = control$total)
"""
)

_FIT = """
# ---- 3. One model per cell group --------------------------------------------------------------
# metafor's default convergence criteria stop once tau^2 moves by less than 1e-5; the product
# iterates to machine precision, so the criteria are tightened to compare to 1e-6.
converge <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
fits <- list()
results <- NULL
for (g in groups) {
  d <- es[es$group == g, ]
  row <- data.frame(group = g, k = nrow(d), estimate = NA, ci_lb = NA, ci_ub = NA, tau2 = NA,
                    pi_lb = NA, pi_ub = NA)
  if (nrow(d) > 0) {
    # A single study is its own estimate with a z test (metafor switches to z itself, with a
    # warning; saying so here keeps the output quiet).
    fit <- rma(yi, vi, data = d, method = method, test = if (nrow(d) == 1) "z" else test,
               control = converge)
    pred <- predict(fit)
    row$estimate <- as.numeric(fit$b)
    row$ci_lb <- fit$ci.lb
    row$ci_ub <- fit$ci.ub
"""

_FE_PI = """\
    # A common-effect model has no between-study variance: its prediction interval is its
    # confidence interval (the product reports it so; metafor's predict() leaves it out).
    if (is.null(pred$pi.lb)) pred$pi.lb <- fit$ci.lb
    if (is.null(pred$pi.ub)) pred$pi.ub <- fit$ci.ub
"""

_FIT_END = """\
    # With one study, heterogeneity is undefined: the product reports tau^2 and the prediction
    # interval as missing, where metafor reports tau^2 = 0 and a PI equal to the CI.
    if (fit$k > 1) {
      row$tau2 <- fit$tau2
      row$pi_lb <- pred$pi.lb
      row$pi_ub <- pred$pi.ub
    }
    fits[[g]] <- fit
  }
  results <- rbind(results, row)
}
write.csv(results, paste0(name, ".metafor.csv"), row.names = FALSE)
"""

_SUMMARY = """
# ---- 4. Summary, and the comparison with the product ------------------------------------------
show <- @TRANSF@  # from the analysis scale to the scale people read
cat("@TITLE@\\n", method, " estimator, ", test, " test\\n", sep = "")
@SCALE_LINE@for (i in seq_len(nrow(results))) {
  x <- results[i, ]
  if (x$k == 0) {
    cat(sprintf("  %-8s no study arm with usable numbers\\n", x$group))
    next
  }
  cat(sprintf("  %-8s k = %d  %.2f (95%% CI %.2f to %.2f)%s\\n", x$group, x$k, show(x$estimate),
              show(x$ci_lb), show(x$ci_ub),
              if (is.na(x$tau2)) "" else sprintf("  tau^2 = %.3g", x$tau2)))
}
expected <- read.csv(paste0(name, ".expected.csv"))
columns <- c("k", "estimate", "ci_lb", "ci_ub", "tau2", "pi_lb", "pi_ub")
a <- as.matrix(results[columns])
b <- as.matrix(expected[columns])
if (!identical(is.na(a), is.na(b))) {
  cat("The product and metafor disagree on which results exist.\\n")
} else {
  difference <- if (any(!is.na(a))) max(abs(a - b), na.rm = TRUE) else 0
  cat(sprintf("Largest difference from the product's results (%s.expected.csv): %.1e\\n",
              name, difference))
}
"""

_RATIO_TICKS = """\
  # Ratios on a log axis with ticks at round values (not at powers of e), 1 always among them.
  reach <- exp(range(es$yi - 1.96 * sqrt(es$vi), es$yi + 1.96 * sqrt(es$vi)))
  ticks <- c(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
  ticks <- ticks[ticks >= min(reach[1], 0.5) / 2.5 & ticks <= max(reach[2], 2) * 2.5]
"""

_FOREST = """
# ---- 5. Forest plot ---------------------------------------------------------------------------
# Study arms grouped by cell group, each group under a heading and closed by its pooled
# estimate (a diamond); the x axis on the scale people read.
pdf(paste0(name, ".pdf"), width = 9, height = 2.5 + 0.25 * (nrow(es) + 3 * length(fits)))
if (length(fits) == 0) {
  plot.new()
  text(0.5, 0.5, "No study arm has usable numbers for this analysis.")
} else {
  top <- nrow(es) + 3 * length(fits)
  rows <- numeric(nrow(es))
  heading <- diamond <- numeric(0)
  y <- top
  for (g in names(fits)) {
    arm_rows <- which(es$group == g)
    heading[g] <- y
    rows[arm_rows] <- y - seq_along(arm_rows)
    diamond[g] <- y - length(arm_rows) - 1
    y <- y - length(arm_rows) - 3
  }
@TICKS@  labels <- paste0(es$study, ", ", es$arm, " (", es$timepoint, ")")
  plot <- forest(es$yi, es$vi, slab = labels, rows = rows,
                 ylim = c(min(diamond) - 2, top + 3)@FOREST_TRANSF@@AT@,
                 header = c("Study, arm (timepoint)", "Estimate [95% CI]"),
                 xlab = @XLAB_Q@)
  for (g in names(fits)) {
    addpoly(fits[[g]], row = diamond[g],
            mlab = sprintf("%s (k = %d)", g, fits[[g]]$k)@FOREST_TRANSF@)
  }
  text(plot$xlim[1], heading, names(fits), pos = 4, font = 2)
}
invisible(dev.off())
"""


# --- folders and zips -------------------------------------------------------------------------


def files(analyses: list[Analysis]) -> dict[str, str]:
    """Every file of an export folder: the analyses, ``run_all.R``, README.md, export.json."""
    out: dict[str, str] = {}
    for a in analyses:
        out |= a.files()
    out["run_all.R"] = _run_all(analyses)
    out["README.md"] = _readme(analyses)
    out["export.json"] = (
        json.dumps(
            {
                "written_by": f"evidence {__version__} export-r",
                "analyses": [
                    {
                        "name": a.name,
                        "title": a.title,
                        "method": a.method,
                        "test": a.test,
                        "k": a.k,
                        "question": {
                            k: (list(v) if isinstance(v, tuple) else v)
                            for k, v in a.question.__dict__.items()
                        },
                    }
                    for a in analyses
                ],
            },
            indent=2,
        )
        + "\n"
    )
    return out


def _run_all(analyses: list[Analysis]) -> str:
    scripts = ",\n  ".join(_r_string(f"{a.name}.R") for a in analyses)
    return f"""\
# Run every analysis of this folder in one R session (R and metafor load once), each script in
# an environment of its own so that no analysis sees another's objects.
#     Rscript run_all.R
scripts <- c(
  {scripts}
)
for (script in scripts) {{
  cat("\\n==", script, "==\\n")
  sys.source(script, envir = new.env())
}}
"""


def _readme(analyses: list[Analysis]) -> str:
    lines = [
        "# The product's pooled results, reproducible with R and metafor",
        "",
        f"Written by `evidence export-r` (evidence {__version__}). Each analysis has three "
        "files: `NAME.R` (the script), `NAME.data.csv` (every number it uses, with citekey, arm, "
        "locator and confidence) and `NAME.expected.csv` (the product's own results). "
        "`Rscript NAME.R`, run in this folder, writes `NAME.metafor.csv` (metafor's results, same "
        "columns), prints a summary with the largest difference from the product, and draws "
        "`NAME.pdf` (metafor's forest plot). `Rscript run_all.R` runs them all. Needs base R and "
        "metafor (written for 3.8.1).",
        "",
        "| analysis | file | study arms | estimator | test |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {a.title} | `{a.name}.R` | {a.k} | {a.method} | {a.test} |" for a in analyses]
    lines += [
        "",
        "Columns of the results: `group, k, estimate, ci_lb, ci_ub, tau2, pi_lb, pi_ub`, on the "
        "analysis scale of the measure (log odds ratios, logits). NA where a group has no study "
        "arm with usable numbers, and for tau2 and the prediction interval of a single study "
        "(heterogeneity is undefined; metafor would say tau2 = 0).",
        "",
        "Not here: the report's Bayesian results (evidence.bayesian). metafor has no Bayesian "
        "model, so there is nothing for it to reproduce; R's bayesmeta package fits the same "
        "normal-normal model.",
        "",
    ]
    return "\n".join(lines)


def zip_bytes(
    question: Question,
    method: str = "REML",
    test: str = "z",
    data: Dataset | None = None,
    effects_frame: pd.DataFrame | None = None,
) -> bytes:
    """The R script, its data and the expected results of one view, as a zip (for a download).

    ``data`` defaults to the dataset of the project folder (``evidence.load``);
    ``effects_frame`` as in :func:`analysis`. Raises ValueError when the estimator or test has
    no metafor equivalent.
    """
    if data is None:
        from evidence.data import load

        data = load(".")
    a = analysis(data, question, method=method, test=test, effects_frame=effects_frame)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative, content in files([a]).items():
            if relative == "export.json":
                continue
            archive.writestr(f"{a.name}/{relative}", content)
    return buffer.getvalue()
