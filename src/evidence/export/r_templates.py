"""The R text of an ``evidence export-r`` script, one block per step, filled in by
:mod:`evidence.export.rcode`.

``@NAME@`` placeholders are replaced there; a block is R code and its comments, nothing else.
The blocks follow the script's order: header, the numbers (cells; SE and five-number
conversions), effect sizes per measure, one model per cell group, the summary, the forest plot.
"""

from __future__ import annotations

ASSUMED_R = (
    "#   assumed     pre-post correlation r = @RI_TEXT@ where a change is computed from "
    "baseline\n#               and follow-up levels (no study reports it)\n"
)

HEADER = """\
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

EMPTY = """
# ---- 1. The numbers ---------------------------------------------------------------------------
numbers <- read.csv(paste0(name, ".data.csv"), stringsAsFactors = FALSE)
# No study arm of these groups has usable numbers for this analysis (the data file has none),
# so there is no effect size to compute and every group below has k = 0.
es <- data.frame(group = character(0), yi = numeric(0), vi = numeric(0))
"""

CELLS = """
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

CELLS_BINARY = """\

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

CELL_N = """\
# The patients behind a cell: the n the paper gives for these numbers (the smallest, if it
# gives several, e.g. completers), else the arm's size standing in for it (n_reported FALSE).
cells$n <- sapply(cells$cell, function(id) {
  rows <- numbers[numbers$cell == id & !is.na(numbers$n), ]
  own <- rows$n[rows$n_reported]
  if (length(own)) min(own) else if (nrow(rows)) min(rows$n) else NA
})
"""

SE = """
# Mean and SD of each cell, in the product's order of preference: a reported mean and SD, else
# a mean and its SE (SD = SE * sqrt(n)), else a median with quartiles and/or range (below).
from_se <- is.na(cells$sd) & !is.na(cells$mean) & !is.na(cells$se)
cells$sd[from_se] <- cells$se[from_se] * sqrt(cells$n[from_se])
"""

FIVENUM = """
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

ARMS = """
# ---- 2. Effect sizes --------------------------------------------------------------------------
# One row per study arm, in the product's order; its cells on the treated and control side.
first <- numbers$role == "treated" & !duplicated(paste(numbers$effect, numbers$role))
arms <- numbers[first, c("effect", "citekey", "study", "group", "arm")]
"""

SHARED = """
# A control arm compared with several cell arms of this analysis (a multi-arm trial) is split
# evenly between the comparisons (Cochrane Handbook 23.3.4), so that its patients are not
# counted twice: its @SPLIT@ divided by the number of comparisons it serves.
shared <- ave(arms$effect, arms$citekey, control$arm, FUN = length)
"""

EFFECTS_MC = (
    ARMS
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

EFFECTS_MD = (
    ARMS
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

EFFECTS_PLO = (
    ARMS
    + """\
treated <- cells[cells$role == "treated", ]
treated <- treated[match(arms$effect, treated$effect), ]
arms$timepoint <- treated$timepoint

# The proportion of the arm's patients with the event, on the logit scale ("PLO"); an arm with
# no events (or only events) gets 1/2 added to both counts, metafor's default.
es <- escalc("PLO", data = arms, xi = treated$events, ni = treated$total)
"""
)

EFFECTS_2X2 = (
    ARMS
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

FIT = """
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

FE_PI = """\
    # A common-effect model has no between-study variance: its prediction interval is its
    # confidence interval (the product reports it so; metafor's predict() leaves it out).
    if (is.null(pred$pi.lb)) pred$pi.lb <- fit$ci.lb
    if (is.null(pred$pi.ub)) pred$pi.ub <- fit$ci.ub
"""

FIT_END = """\
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

SUMMARY = """
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

RATIO_TICKS = """\
  # Ratios on a log axis with ticks at round values (not at powers of e), 1 always among them.
  reach <- exp(range(es$yi - 1.96 * sqrt(es$vi), es$yi + 1.96 * sqrt(es$vi)))
  ticks <- c(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
  ticks <- ticks[ticks >= min(reach[1], 0.5) / 2.5 & ticks <= max(reach[2], 2) * 2.5]
"""

FOREST = """
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
