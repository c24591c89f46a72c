# Reference values for evidence.effects and evidence.meta, pinned as JSON next to this script.
#
# Regenerate (from the repository root; needs R with metafor, metadat and jsonlite):
#
#     Rscript tests/reference/metafor_reference.R
#
# Everything here is computed by metafor itself except two blocks that are clearly marked
# "OUR IMPLEMENTATION": conv.fivenum (absent from metafor 3.8.1) and conv.wald (idem), where
# the published formulas are written out in R by us and serve as an independent second
# implementation of the Python code.
#
# Two traps (see tests/reference/README.md): metafor's default convergence criteria are loose,
# so every fit uses `ctrl` below; and the Q-profile upper bound for tau^2 is capped at
# max(100, 10 * tau2) unless tau2.max is raised, so every confint() raises it.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
outdir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

write_pins <- function(x, name) {
  x$generated_by <- list(
    script = "tests/reference/metafor_reference.R",
    metafor = as.character(packageVersion("metafor")),
    R = R.version.string
  )
  path <- file.path(outdir, paste0(name, ".json"))
  writeLines(toJSON(x, digits = NA, na = "null", auto_unbox = TRUE, pretty = 1), path)
  cat("wrote", path, "\n")
}

tau2_max <- function(yi, vi) max(100, 1e4 * var(yi), 1e4 * max(vi))
ctrl_for <- function(yi, vi) {
  list(threshold = 1e-12, tol = 1e-12, maxiter = 1e4, tau2.max = tau2_max(yi, vi))
}
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)

# ---------------------------------------------------------------------------------------
# Data sets: metafor's bundled data (metadat) plus synthetic edge cases.
# ---------------------------------------------------------------------------------------

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
normand <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
                  n2i = n2i, data = dat.normand1999)
pritz <- escalc("PLO", xi = xi, ni = ni, data = dat.pritz1997)
li <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)
li <- li[!is.na(li$yi), ]

set.seed(20240601)
k2 <- data.frame(yi = c(0.12, 0.55), vi = c(0.04, 0.09))
homog <- data.frame(yi = c(0.30, 0.31, 0.29, 0.305, 0.295, 0.302),
                    vi = c(0.02, 0.03, 0.025, 0.04, 0.05, 0.035))        # Q < df: tau2 = 0
huge <- data.frame(yi = c(-2100, 850, 3200, -400, 1500, 60, -1750, 2600),
                   vi = c(1.5, 2.0, 0.8, 3.1, 1.1, 2.6, 0.9, 1.7))        # tau2 ~ 4e6
smallvar <- data.frame(yi = c(0.0123, 0.0150, 0.0098, 0.0171, 0.0110, 0.0135, 0.0160),
                       vi = c(1.1e-6, 2.3e-6, 0.9e-6, 3.0e-6, 1.6e-6, 2.2e-6, 1.2e-6))
pp <- data.frame(m1i = c(24.1, 30.5, 18.2, 22.0, 27.3, 19.9, 25.5),
                 m2i = c(20.0, 28.1, 17.5, 17.2, 22.8, 19.0, 21.4),
                 sd1i = c(6.1, 7.4, 5.0, 6.6, 8.0, 4.9, 6.3),
                 sd2i = c(5.8, 7.9, 5.2, 6.0, 7.1, 5.5, 6.8),
                 ni = c(15, 22, 12, 30, 18, 9, 25),
                 ri = c(0.5, 0.6, 0.4, 0.7, 0.5, 0.55, 0.65))
prepost <- escalc("SMCR", m1i = m1i, m2i = m2i, sd1i = sd1i, ni = ni, ri = ri, data = pp)
zerocells <- data.frame(ai = c(0, 2, 0, 5, 1, 0, 3), n1i = c(20, 25, 15, 30, 18, 12, 22),
                        ci = c(3, 6, 0, 9, 4, 2, 7), n2i = c(20, 24, 16, 31, 17, 12, 21))
zc <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = zerocells)
k1 <- data.frame(yi = 0.42, vi = 0.05)

rma_data <- list(
  bcg = bcg, normand1999 = normand, pritz1997 = pritz, hackshaw1998 = dat.hackshaw1998,
  raudenbush1985 = dat.raudenbush1985, li2007 = li, k2 = k2, homogeneous = homog,
  huge_tau2 = huge, small_variances = smallvar, prepost_smcr = prepost, zero_cells_or = zc,
  k1 = k1
)
datasets <- lapply(rma_data, function(d) list(yi = as.numeric(d$yi), vi = as.numeric(d$vi)))

# ---------------------------------------------------------------------------------------
# rma(): every method x test on every data set
# ---------------------------------------------------------------------------------------

methods <- c("FE", "DL", "REML", "ML", "PM", "EB", "HS", "SJ", "HE")
tests <- c("z", "knha", "adhoc")

fit_fields <- function(res, yi, vi) {
  pr <- predict(res)
  out <- list(
    k = res$k, estimate = c(res$beta), se = res$se, stat = res$zval, pval = res$pval,
    ci_lb = res$ci.lb, ci_ub = res$ci.ub, df = num(res$ddf), tau2 = res$tau2,
    se_tau2 = num(res$se.tau2), i2 = num(res$I2), h2 = num(res$H2), q = num(res$QE),
    q_pval = num(res$QEp), pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub), s2w = num(res$s2w),
    vt = num(res$vt), weights = as.numeric(weights(res)),
    tau2_ci_lb = NA_real_, tau2_ci_ub = NA_real_, i2_ci_lb = NA_real_, i2_ci_ub = NA_real_,
    h2_ci_lb = NA_real_, h2_ci_ub = NA_real_
  )
  if (!is.element(res$method, c("FE", "EE", "CE")) && res$k > 1 && !res$tau2.fix) {
    ci <- confint(res, control = list(tol = 1e-12, maxiter = 1e4,
                                      tau2.max = tau2_max(yi, vi)))$random
    out$tau2_ci_lb <- ci["tau^2", "ci.lb"]; out$tau2_ci_ub <- ci["tau^2", "ci.ub"]
    out$i2_ci_lb <- ci["I^2(%)", "ci.lb"]; out$i2_ci_ub <- ci["I^2(%)", "ci.ub"]
    out$h2_ci_lb <- ci["H^2", "ci.lb"]; out$h2_ci_ub <- ci["H^2", "ci.ub"]
  }
  out
}

rma_cases <- list()
for (name in names(rma_data)) {
  d <- rma_data[[name]]
  for (method in methods) for (test in tests) {
    res <- suppressWarnings(rma(d$yi, d$vi, method = method, test = test,
                                control = ctrl_for(d$yi, d$vi)))
    rma_cases[[length(rma_cases) + 1]] <- list(
      id = paste(name, method, test, sep = "/"), data = name, method = method, test = test,
      level = 0.95, expected = fit_fields(res, d$yi, d$vi))
  }
}
# Other confidence levels and a fixed tau2 (metafor's tau2= argument).
for (lev in c(90, 99)) for (method in c("REML", "DL")) for (test in c("z", "knha")) {
  res <- rma(bcg$yi, bcg$vi, method = method, test = test, level = lev,
             control = ctrl_for(bcg$yi, bcg$vi))
  rma_cases[[length(rma_cases) + 1]] <- list(
    id = paste("bcg", method, test, paste0("level", lev), sep = "/"), data = "bcg",
    method = method, test = test, level = lev / 100,
    expected = fit_fields(res, bcg$yi, bcg$vi))
}
for (test in tests) {
  res <- rma(bcg$yi, bcg$vi, method = "REML", test = test, tau2 = 0.2)
  rma_cases[[length(rma_cases) + 1]] <- list(
    id = paste("bcg/REML", test, "tau2=0.2", sep = "/"), data = "bcg", method = "REML",
    test = test, level = 0.95, tau2 = 0.2, expected = fit_fields(res, bcg$yi, bcg$vi))
}
write_pins(list(datasets = datasets, cases = rma_cases), "rma")

# ---------------------------------------------------------------------------------------
# escalc(): every measure, with metafor's defaults and the zero-cell rules
# ---------------------------------------------------------------------------------------

esc_cases <- list()
add_esc <- function(id, measure, inputs, res, options = list()) {
  esc_cases[[length(esc_cases) + 1]] <<- list(
    id = id, measure = measure, inputs = inputs, options = options,
    expected = list(yi = as.numeric(res$yi), vi = as.numeric(res$vi)))
}
cols <- function(df, names) lapply(df[names], as.numeric)

b <- dat.bcg
for (m in c("RR", "OR", "RD")) {
  add_esc(paste0("bcg/", m), m, list(ai = b$tpos, bi = b$tneg, ci = b$cpos, di = b$cneg),
          escalc(m, ai = tpos, bi = tneg, ci = cpos, di = cneg, data = b))
}
l <- dat.li2007
l <- l[!is.na(l$ai) & !is.na(l$ci), ]
for (m in c("RR", "OR", "RD")) {
  add_esc(paste0("li2007/", m), m, cols(l, c("ai", "n1i", "ci", "n2i")),
          escalc(m, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = l))
}
z <- data.frame(ai = c(0, 0, 3, 10, 0, 4, 12), bi = c(10, 12, 7, 0, 25, 6, 0),
                ci = c(0, 2, 5, 5, 0, 0, 9), di = c(10, 8, 5, 5, 30, 10, 0))
for (m in c("RR", "OR", "RD")) {
  for (to in c("only0", "all", "if0all")) {
    add_esc(paste0("zerocells/", m, "/to=", to), m, cols(z, c("ai", "bi", "ci", "di")),
            escalc(m, ai = ai, bi = bi, ci = ci, di = di, data = z, to = to),
            list(to = to))
  }
  add_esc(paste0("zerocells/", m, "/drop00"), m, cols(z, c("ai", "bi", "ci", "di")),
          escalc(m, ai = ai, bi = bi, ci = ci, di = di, data = z, drop00 = TRUE),
          list(drop00 = TRUE))
  add_esc(paste0("zerocells/", m, "/add=0.25"), m, cols(z, c("ai", "bi", "ci", "di")),
          escalc(m, ai = ai, bi = bi, ci = ci, di = di, data = z, add = 0.25),
          list(add = 0.25))
}
p <- dat.pritz1997
prop <- data.frame(xi = c(p$xi, 0, 12, 0), ni = c(p$ni, 15, 12, 40))
for (m in c("PR", "PLO")) {
  add_esc(paste0("pritz1997+edges/", m), m, cols(prop, c("xi", "ni")),
          escalc(m, xi = xi, ni = ni, data = prop))
  add_esc(paste0("pritz1997+edges/", m, "/to=all"), m, cols(prop, c("xi", "ni")),
          escalc(m, xi = xi, ni = ni, data = prop, to = "all"), list(to = "all"))
}
n9 <- dat.normand1999
small <- data.frame(m1i = c(5.2, 3.1), sd1i = c(1.1, 0.9), n1i = c(2, 3),
                    m2i = c(4.0, 3.5), sd2i = c(1.3, 1.0), n2i = c(2, 2))
means <- rbind(n9[c("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")], small)
for (m in c("MD", "SMD", "ROM")) {
  add_esc(paste0("normand1999+small/", m), m,
          cols(means, c("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")),
          escalc(m, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                 data = means))
}
for (m in c("MC", "SMCR", "SMCC")) {
  add_esc(paste0("prepost/", m, "/ri-per-study"), m,
          cols(pp, c("m1i", "m2i", "sd1i", "sd2i", "ni", "ri")),
          escalc(m, m1i = m1i, m2i = m2i, sd1i = sd1i, sd2i = sd2i, ni = ni, ri = ri, data = pp))
  add_esc(paste0("prepost/", m, "/ri-default"), m,
          cols(pp, c("m1i", "m2i", "sd1i", "sd2i", "ni")),
          escalc(m, m1i = m1i, m2i = m2i, sd1i = sd1i, sd2i = sd2i, ni = ni,
                 ri = rep(0.5, nrow(pp)), data = pp))
  add_esc(paste0("prepost/", m, "/ri=0.8"), m,
          cols(pp, c("m1i", "m2i", "sd1i", "sd2i", "ni")),
          escalc(m, m1i = m1i, m2i = m2i, sd1i = sd1i, sd2i = sd2i, ni = ni,
                 ri = rep(0.8, nrow(pp)), data = pp), list(ri = 0.8))
}
write_pins(list(cases = esc_cases), "escalc")

# ---------------------------------------------------------------------------------------
# Subgroups: separate tau2 (meta / RevMan) and common tau2 (metafor's QM)
# ---------------------------------------------------------------------------------------

sub_data <- list(
  bcg_alloc = list(yi = bcg$yi, vi = bcg$vi, groups = as.character(dat.bcg$alloc)),
  normand_two = list(yi = normand$yi, vi = normand$vi,
                     groups = rep(c("b", "a"), length.out = nrow(normand))),
  with_single = list(yi = c(bcg$yi[1:7], 0.1), vi = c(bcg$vi[1:7], 0.05),
                     groups = c("x", "x", "y", "y", "x", "y", "x", "solo"))
)
sub_cases <- list()
for (name in names(sub_data)) {
  d <- sub_data[[name]]
  levs <- sort(unique(d$groups))
  for (method in methods) for (test in tests) {
    # separate: one model per subgroup, then a common-effect Q test on their estimates
    fits <- lapply(levs, function(g) {
      s <- d$groups == g
      suppressWarnings(rma(d$yi[s], d$vi[s], method = method, test = test,
                           control = ctrl_for(d$yi[s], d$vi[s])))
    })
    est <- sapply(fits, function(f) c(f$beta)); se <- sapply(fits, function(f) f$se)
    qb <- rma(est, se^2, method = "FE")
    sep <- list(
      groups = levs,
      results = lapply(seq_along(levs), function(j) {
        s <- d$groups == levs[j]; fit_fields(fits[[j]], d$yi[s], d$vi[s]) }),
      q_between = qb$QE, q_between_df = length(levs) - 1, q_between_pval = qb$QEp)
    sub_cases[[length(sub_cases) + 1]] <- list(
      id = paste(name, method, test, "separate", sep = "/"), data = name, method = method,
      test = test, tau2 = "separate", expected = sep)
    # common: the subgroup as a factor; per-group fits with that tau2 held fixed
    mr <- tryCatch(suppressWarnings(rma(d$yi, d$vi, mods = ~ factor(d$groups), method = method,
                                        test = test, control = ctrl_for(d$yi, d$vi))),
                   error = function(e) NULL)
    if (is.null(mr)) next
    gfits <- lapply(levs, function(g) {
      s <- d$groups == g
      if (method == "FE") suppressWarnings(rma(d$yi[s], d$vi[s], method = "FE", test = test))
      else suppressWarnings(rma(d$yi[s], d$vi[s], method = method, test = test, tau2 = mr$tau2))
    })
    com <- list(
      groups = levs,
      results = lapply(seq_along(levs), function(j) {
        s <- d$groups == levs[j]; fit_fields(gfits[[j]], d$yi[s], d$vi[s]) }),
      q_between = mr$QM, q_between_df = mr$QMdf[1], q_between_df2 = num(mr$QMdf[2]),
      q_between_pval = mr$QMp, tau2_common = mr$tau2)
    sub_cases[[length(sub_cases) + 1]] <- list(
      id = paste(name, method, test, "common", sep = "/"), data = name, method = method,
      test = test, tau2 = "common", expected = com)
  }
}
write_pins(list(datasets = sub_data, cases = sub_cases), "subgroups")

# ---------------------------------------------------------------------------------------
# leave1out() and cumul()
# ---------------------------------------------------------------------------------------

sens_fields <- function(x) {
  list(estimate = as.numeric(x$estimate), se = as.numeric(x$se),
       stat = as.numeric(if (!is.null(x$zval)) x$zval else x$tval),
       pval = as.numeric(if (!is.null(x$pval)) x$pval else x$pvals),
       ci_lb = as.numeric(x$ci.lb), ci_ub = as.numeric(x$ci.ub), q = as.numeric(x$Q),
       q_pval = as.numeric(x$Qp),
       tau2 = if (is.null(x$tau2)) rep(0, length(x$estimate)) else as.numeric(x$tau2),
       i2 = as.numeric(x$I2), h2 = as.numeric(x$H2))
}
sens_cases <- list()
sens_data <- list(bcg = list(yi = bcg$yi, vi = bcg$vi, order = dat.bcg$year),
                  normand1999 = list(yi = normand$yi, vi = normand$vi,
                                     order = c(3, 1, 2, 2, 5, 4, 1, 6, 3)),
                  k2 = list(yi = k2$yi, vi = k2$vi, order = c(2, 1)))
for (name in names(sens_data)) {
  d <- sens_data[[name]]
  for (method in c("FE", "DL", "REML", "PM", "SJ")) for (test in c("z", "knha", "adhoc")) {
    res <- suppressWarnings(rma(d$yi, d$vi, method = method, test = test,
                                control = ctrl_for(d$yi, d$vi)))
    l1 <- suppressWarnings(leave1out(res))
    cu <- suppressWarnings(cumul(res, order = d$order))
    sens_cases[[length(sens_cases) + 1]] <- list(
      id = paste(name, method, test, "leave1out", sep = "/"), data = name, kind = "leave1out",
      method = method, test = test, expected = sens_fields(l1))
    sens_cases[[length(sens_cases) + 1]] <- list(
      id = paste(name, method, test, "cumul", sep = "/"), data = name, kind = "cumul",
      method = method, test = test, expected = c(sens_fields(cu), list(order = cu$ids)))
  }
}
write_pins(list(datasets = sens_data, cases = sens_cases), "sensitivity")

# ---------------------------------------------------------------------------------------
# regtest(), ranktest(), trimfill()
# ---------------------------------------------------------------------------------------

bias_data <- list(
  bcg = list(yi = bcg$yi, vi = bcg$vi),
  hackshaw1998 = list(yi = dat.hackshaw1998$yi, vi = dat.hackshaw1998$vi),
  normand1999 = list(yi = normand$yi, vi = normand$vi),
  raudenbush1985 = list(yi = dat.raudenbush1985$yi, vi = dat.raudenbush1985$vi),
  li2007 = list(yi = li$yi, vi = li$vi),
  asymmetric = list(yi = c(0.9, 0.75, 0.62, 0.55, 0.48, 0.41, 0.36, 0.32, 0.3, 0.28, 0.27),
                    vi = c(0.3, 0.22, 0.16, 0.12, 0.09, 0.07, 0.05, 0.035, 0.025, 0.018, 0.01)),
  ties = list(yi = c(0.1, 0.3, 0.3, 0.5, 0.2, 0.4, 0.6, 0.2),
              vi = c(0.04, 0.05, 0.05, 0.09, 0.04, 0.06, 0.1, 0.05)),
  k60 = local({ set.seed(11); v <- runif(60, 0.01, 0.4)
                list(yi = round(rnorm(60, 0.2, sqrt(v + 0.03)), 6), vi = round(v, 6)) })
)
reg_cases <- list(); rank_cases <- list(); tf_cases <- list()
for (name in names(bias_data)) {
  d <- bias_data[[name]]
  ctrl <- ctrl_for(d$yi, d$vi)
  for (method in c("REML", "DL", "FE", "PM")) for (test in c("z", "knha")) {
    res <- suppressWarnings(rma(d$yi, d$vi, method = method, test = test, control = ctrl))
    rt <- regtest(res)
    reg_cases[[length(reg_cases) + 1]] <- list(
      id = paste(name, "rma", method, test, sep = "/"), data = name, model = "rma",
      method = method, test = test,
      expected = list(stat = rt$zval, pval = rt$pval, df = num(rt$ddf),
                      limit_estimate = num(rt$est), limit_ci_lb = num(rt$ci.lb),
                      limit_ci_ub = num(rt$ci.ub)))
  }
  rt <- regtest(d$yi, d$vi, model = "lm")
  reg_cases[[length(reg_cases) + 1]] <- list(
    id = paste(name, "lm", sep = "/"), data = name, model = "lm", method = "FE", test = "z",
    expected = list(stat = rt$zval, pval = rt$pval, df = num(rt$ddf),
                    limit_estimate = num(rt$est), limit_ci_lb = num(rt$ci.lb),
                    limit_ci_ub = num(rt$ci.ub)))
  rk <- suppressWarnings(ranktest(d$yi, d$vi))
  rank_cases[[length(rank_cases) + 1]] <- list(
    id = name, data = name, expected = list(tau = unname(rk$tau), pval = rk$pval))
  for (method in c("REML", "FE", "DL")) for (estimator in c("L0", "R0")) {
    for (side in c("auto", "left", "right")) {
      res <- suppressWarnings(rma(d$yi, d$vi, method = method, control = ctrl))
      tf <- tryCatch(suppressWarnings(
        if (side == "auto") trimfill(res, estimator = estimator, control = ctrl)
        else trimfill(res, estimator = estimator, side = side, control = ctrl)),
        error = function(e) NULL)
      if (is.null(tf)) next
      f <- fit_fields(tf, tf$yi, tf$vi)
      f$k0 <- tf$k0; f$se_k0 <- tf$se.k0; f$side <- tf$side
      f$filled_yi <- as.numeric(tf$yi[tf$fill]); f$filled_vi <- as.numeric(tf$vi[tf$fill])
      tf_cases[[length(tf_cases) + 1]] <- list(
        id = paste(name, method, estimator, side, sep = "/"), data = name, method = method,
        estimator = estimator, side = side, expected = f)
    }
  }
}
write_pins(list(datasets = bias_data, regtest = reg_cases, ranktest = rank_cases,
                trimfill = tf_cases), "bias")

# ---------------------------------------------------------------------------------------
# OUR IMPLEMENTATION (not metafor output): conv.fivenum and conv.wald are not in
# metafor 3.8.1. The published formulas, written out independently of the Python code.
# ---------------------------------------------------------------------------------------

# Mean: Luo et al. (2018), eqs. 7, 11, 15. SD: Wan et al. (2014) eqs. 9 and 16 (cases 1, 2),
# Shi et al. (2020) eq. 10 (case 3). Skewness tests: Shi et al. (2023). n < 5: not converted.
our_fivenum <- function(mn, q1, med, q3, mx, n, test = TRUE) {
  k <- length(n)
  out <- data.frame(mean = rep(NA_real_, k), sd = rep(NA_real_, k), case = 0L,
                    tval = NA_real_, crit = NA_real_)
  for (i in seq_len(k)) {
    if (is.na(n[i]) || n[i] < 5) next
    xi <- 2 * qnorm((n[i] - 0.375) / (n[i] + 0.25))
    eta <- 2 * qnorm((0.75 * n[i] - 0.125) / (n[i] + 0.25))
    has_r <- !is.na(mn[i]) && !is.na(mx[i]); has_q <- !is.na(q1[i]) && !is.na(q3[i])
    if (has_r && !has_q) {
      out$case[i] <- 1L
      t <- abs((mn[i] + mx[i] - 2 * med[i]) / (mx[i] - mn[i]))
      crit <- 1 / log(n[i] + 9) + 2.5 / (n[i] + 1)
      w <- 4 / (4 + n[i]^0.75)
      m <- w * (mn[i] + mx[i]) / 2 + (1 - w) * med[i]
      s <- (mx[i] - mn[i]) / xi
    } else if (has_q && !has_r) {
      out$case[i] <- 2L
      t <- abs((q1[i] + q3[i] - 2 * med[i]) / (q3[i] - q1[i]))
      crit <- 2.65 / sqrt(n[i]) - 6 / n[i]^2
      w <- 0.7 + 0.39 / n[i]
      m <- w * (q1[i] + q3[i]) / 2 + (1 - w) * med[i]
      s <- (q3[i] - q1[i]) / eta
    } else if (has_q && has_r) {
      out$case[i] <- 3L
      t <- max(2.65 * log(0.6 * n[i]) / sqrt(n[i]) * abs((mn[i] + mx[i] - 2 * med[i]) / (mx[i] - mn[i])),
               abs((q1[i] + q3[i] - 2 * med[i]) / (q3[i] - q1[i])))
      crit <- 3 / sqrt(n[i]) - 40 / n[i]^3
      w1 <- 2.2 / (2.2 + n[i]^0.75); w2 <- 0.7 - 0.72 / n[i]^0.55
      m <- w1 * (mn[i] + mx[i]) / 2 + w2 * (q1[i] + q3[i]) / 2 + (1 - w1 - w2) * med[i]
      ws <- 1 / (1 + 0.07 * n[i]^0.6)
      s <- ws * (mx[i] - mn[i]) / xi + (1 - ws) * (q3[i] - q1[i]) / eta
    } else next
    out$tval[i] <- t; out$crit[i] <- crit
    if (test && isTRUE(t >= crit)) next
    out$mean[i] <- m; out$sd[i] <- s
  }
  out
}
fn <- data.frame(
  min =    c(2,  NA, 2,  2,  NA, 2,  1,   10,  NA,  3,  0.5, 2,  NA),
  q1 =     c(NA, 4,  4,  NA, 4,  4,  3,   NA,  12,  5,  1.0, 4,  4),
  median = c(6,  6,  6,  6,  6,  6,  5,   20,  15,  8,  1.8, 6,  NA),
  q3 =     c(NA, 10, 10, NA, 10, 14, 8,   NA,  19,  12, 3.0, 10, 10),
  max =    c(14, NA, 14, 14, NA, 20, 15,  35,  NA,  25, 7.5, 14, NA),
  n =      c(20, 20, 20, 4,  60, 20, 150, 45,  33,  12, 80,  5,  40)
)
fv <- our_fivenum(fn$min, fn$q1, fn$median, fn$q3, fn$max, fn$n, test = TRUE)
fv_notest <- our_fivenum(fn$min, fn$q1, fn$median, fn$q3, fn$max, fn$n, test = FALSE)

# conv.wald: vi from a Wald-type CI, (ub - lb) / (2 * crit), else from a two-sided p-value,
# |yi| / qnorm(1 - p / 2); CI preferred when both are given; t quantiles with df.
wd <- data.frame(out = c(1.5, 2.0, 0.8, 1.25, 0.6, 1.1),
                 ci.lb = c(1.1, NA, 0.5, 0.9, NA, 0.7),
                 ci.ub = c(2.0, NA, 1.3, 1.7, NA, 1.6),
                 pval = c(NA, 0.01, 0.3, NA, 0.04, NA))
wald_z <- with(wd, {
  yi <- log(out); lb <- log(ci.lb); ub <- log(ci.ub)
  sei <- ifelse(!is.na(lb) & !is.na(ub), (ub - lb) / (2 * qnorm(0.975)),
                abs(yi) / qnorm(1 - pval / 2))
  list(yi = yi, vi = sei^2)
})
dfs <- c(10, 20, 30, 15, 25, 12)
wald_t <- with(wd, {
  yi <- log(out); lb <- log(ci.lb); ub <- log(ci.ub)
  sei <- ifelse(!is.na(lb) & !is.na(ub), (ub - lb) / (2 * qt(0.975, dfs)),
                abs(yi) / qt(1 - pval / 2, dfs))
  list(yi = yi, vi = sei^2)
})
wald_90 <- with(wd, {
  yi <- log(out); lb <- log(ci.lb); ub <- log(ci.ub)
  sei <- ifelse(!is.na(lb) & !is.na(ub), (ub - lb) / (2 * qnorm(0.95)),
                abs(yi) / qnorm(1 - pval / 2))
  list(yi = yi, vi = sei^2)
})
write_pins(list(
  note = "OUR IMPLEMENTATION of published formulas (metafor 3.8.1 has neither conv.fivenum nor conv.wald)",
  fivenum = list(inputs = fn, test_true = fv, test_false = fv_notest),
  wald = list(inputs = wd, df = dfs, log_z95 = wald_z, log_t95 = wald_t, log_z90 = wald_90)
), "conversions")

# ---------------------------------------------------------------------------------------
# The test for subgroup differences under Knapp-Hartung: metafor's moderator test
# rma(yi, vi, mods = ~ factor(group), test = "knha"), F with (G - 1, k - G) df.
# Constructed data sets (evidence.meta.difference_test and evidence.compare.pool).
# ---------------------------------------------------------------------------------------

mod_data <- list(
  # the shape of the dashboard's MELD view: one single-arm study against two
  one_vs_two = list(yi = c(-7.2, -2.0, -0.250125), vi = c(4.47125, 0.874225, 0.1152858562136832),
                    groups = c("MSC", "HSC", "HSC")),
  three_by_two = list(yi = c(-1.2, -0.4, 0.3, 0.9, -2.1, -1.6),
                      vi = c(0.20, 0.35, 0.15, 0.40, 0.25, 0.30),
                      groups = c("a", "a", "b", "b", "c", "c")),
  unbalanced = list(yi = c(0.10, 0.45, -0.20, 0.80, 0.62, 0.05, 0.33, 1.10, 0.71),
                    vi = c(0.05, 0.08, 0.04, 0.10, 0.09, 0.03, 0.06, 0.12, 0.07),
                    groups = c("x", "x", "x", "x", "y", "y", "y", "y", "y")),
  homogeneous = list(yi = c(0.30, 0.31, 0.29, 0.305, 0.60, 0.62),
                     vi = c(0.02, 0.03, 0.025, 0.04, 0.05, 0.035),
                     groups = c("p", "p", "p", "p", "q", "q")),
  bcg_alloc = list(yi = bcg$yi, vi = bcg$vi, groups = as.character(dat.bcg$alloc))
)
mod_cases <- list()
for (name in names(mod_data)) {
  d <- mod_data[[name]]
  for (method in c("REML", "DL", "PM", "FE")) for (test in c("knha", "adhoc")) {
    mr <- suppressWarnings(rma(d$yi, d$vi, mods = ~ factor(d$groups), method = method,
                               test = test, control = ctrl_for(d$yi, d$vi)))
    mod_cases[[length(mod_cases) + 1]] <- list(
      id = paste(name, method, test, sep = "/"), data = name, method = method, test = test,
      expected = list(q_between = mr$QM, q_between_df = mr$QMdf[1],
                      q_between_df2 = num(mr$QMdf[2]), q_between_pval = mr$QMp,
                      tau2_common = mr$tau2))
  }
}
write_pins(list(datasets = mod_data, cases = mod_cases), "moderator")
