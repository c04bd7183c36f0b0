# Reference values for trialplan's differential validation (python -m trialplan.validate).
#
# Written from the definitions and R packages, not from trialplan: trialplan.validate
# draws random designs, writes them as CSV files into a folder, runs
#   Rscript reference.R FOLDER
# and compares what this script writes (FOLDER/r_values.csv: kind, case, quantity,
# value) with its own results.
#
#   factorial.csv    2x2 contrasts: noncentral t power with R's pt (AS 243); the
#                    smallest balanced n per cell reaching a target power (search
#                    over n with pt)
#   mintest.csv      combination (min) test: bivariate noncentral t, mvtnorm::pmvt
#   dunnett.csv      many-to-one: critical value (root of the pmvt coverage), power
#                    to reject any / all (noncentral pmvt)
#   gsd.csv          group-sequential bounds and characteristics: rpact
#                    getDesignGroupSequential + getDesignCharacteristics
#   proportions.csv  two proportions on the arcsine scale: pwr::pwr.2p.test (Cohen's h)
#   events.csv       Schoenfeld's events: rpact::getSampleSizeSurvival
suppressPackageStartupMessages({
  library(rpact)
  library(mvtnorm)
  library(pwr)
})

args <- commandArgs(trailingOnly = TRUE)
folder <- if (length(args)) args[1] else "."
read <- function(name) {
  path <- file.path(folder, name)
  if (file.exists(path)) read.csv(path, stringsAsFactors = FALSE) else NULL
}
nums <- function(text) as.numeric(strsplit(as.character(text), ";")[[1]])
out <- list()
add <- function(kind, case, quantity, value) {
  out[[length(out) + 1]] <<- data.frame(kind = kind, case = case, quantity = quantity,
                                        value = sprintf("%.12g", value))
}

# -- factorial: cells in the order (a0b0, a1b0, a0b1, a1b1), contrasts typed out by hand
t_power <- function(theta, se, df, alpha, sided) {
  ncp <- theta / se
  if (sided == 2) {
    crit <- qt(1 - alpha / 2, df)
    pt(crit, df, ncp = ncp, lower.tail = FALSE) + pt(-crit, df, ncp = ncp)
  } else {
    crit <- qt(1 - alpha, df)
    pt(crit, df, ncp = ncp, lower.tail = FALSE)
  }
}
contrasts <- list(
  A = c(-0.5, 0.5, -0.5, 0.5), B = c(-0.5, -0.5, 0.5, 0.5), AB = c(1, -1, -1, 1),
  A_b0 = c(-1, 1, 0, 0), A_b1 = c(0, 0, -1, 1), B_a0 = c(-1, 0, 1, 0), B_a1 = c(0, -1, 0, 1)
)
factorial <- read("factorial.csv")
if (!is.null(factorial)) for (i in seq_len(nrow(factorial))) {
  cs <- factorial[i, ]
  mu <- nums(cs$mu); n <- nums(cs$n)
  df <- sum(n) - 4
  for (h in names(contrasts)) {
    cc <- contrasts[[h]]
    theta <- sum(cc * mu)
    # one-sided tests: lower is better, so the statistic is oriented to -theta
    th <- if (cs$sided == 1) -theta else theta
    add("factorial", cs$case, paste0("power_", h),
        t_power(th, cs$sd * sqrt(sum(cc^2 / n)), df, cs$alpha, cs$sided))
  }
  if (!is.na(cs$target) && nzchar(cs$ss_hypothesis)) {
    cc <- contrasts[[cs$ss_hypothesis]]
    theta <- sum(cc * mu)
    th <- if (cs$sided == 1) -theta else theta
    m <- 2:200000
    pw <- t_power(th, cs$sd * sqrt(sum(cc^2)) / sqrt(m), 4 * m - 4, cs$alpha, cs$sided)
    add("factorial", cs$case, paste0("n_", cs$ss_hypothesis), m[which(pw >= cs$target)[1]])
  }
}

# -- combination (min) test: a1b1 better (lower) than a1b0 and a0b1, each one-sided
mintest <- read("mintest.csv")
if (!is.null(mintest)) for (i in seq_len(nrow(mintest))) {
  cs <- mintest[i, ]
  mu <- nums(cs$mu); n <- nums(cs$n)
  df <- sum(n) - 4
  c1 <- c(0, -1, 0, 1); c2 <- c(0, 0, -1, 1)
  v <- cs$sd^2 / n
  se1 <- sqrt(sum(c1^2 * v)); se2 <- sqrt(sum(c2^2 * v))
  rho <- sum(c1 * c2 * v) / (se1 * se2)
  delta <- -c(sum(c1 * mu) / se1, sum(c2 * mu) / se2)
  crit <- qt(1 - cs$alpha, df)
  set.seed(1)
  p <- pmvt(lower = c(crit, crit), upper = c(Inf, Inf), delta = delta, df = df,
            corr = matrix(c(1, rho, rho, 1), 2), type = "Kshirsagar",
            algorithm = GenzBretz(maxpts = 5e6, abseps = 1e-7, releps = 0))
  add("mintest", cs$case, "power_combination", as.numeric(p))
}

# -- Dunnett: k arms against one control, pooled-variance t statistics
dunnett <- read("dunnett.csv")
if (!is.null(dunnett)) for (i in seq_len(nrow(dunnett))) {
  cs <- dunnett[i, ]
  n <- nums(cs$n); d <- nums(cs$d); k <- length(n)
  l <- sqrt(n / (n + cs$n0))
  corr <- outer(l, l); diag(corr) <- 1
  df <- sum(n) + cs$n0 - (k + 1)
  delta <- d / sqrt(1 / n + 1 / cs$n0)
  alg <- GenzBretz(maxpts = 5e5, abseps = 1e-6, releps = 0)
  box <- function(lower, upper, centre) {
    set.seed(1)
    as.numeric(pmvt(lower = lower, upper = upper, df = df, corr = corr, delta = centre,
                    type = "Kshirsagar", algorithm = alg))
  }
  coverage <- function(c) {
    low <- if (cs$sided == 1) rep(-Inf, k) else rep(-c, k)
    box(low, rep(c, k), rep(0, k)) - (1 - cs$alpha)
  }
  crit <- uniroot(coverage, c(1, 6), tol = 1e-9)$root
  lo <- if (cs$sided == 1) rep(-Inf, k) else rep(-crit, k)
  any <- 1 - box(lo, rep(crit, k), delta)
  signs <- if (cs$sided == 1) matrix(1, 1, k) else
    as.matrix(expand.grid(rep(list(c(1, -1)), k)))
  all <- 0
  for (r in seq_len(nrow(signs))) {
    s <- signs[r, ]
    all <- all + box(ifelse(s > 0, crit, -Inf), ifelse(s > 0, Inf, -crit), delta)
  }
  add("dunnett", cs$case, "critical", crit)
  add("dunnett", cs$case, "power_any", any)
  add("dunnett", cs$case, "power_all", all)
}

# -- group-sequential designs (rpact)
gsd <- read("gsd.csv")
if (!is.null(gsd)) for (i in seq_len(nrow(gsd))) {
  cs <- gsd[i, ]
  rates <- nums(cs$info_rates)
  args <- list(kMax = length(rates), alpha = cs$alpha, sided = cs$sided, beta = cs$beta,
               typeOfDesign = cs$efficacy, informationRates = rates)
  if (!is.na(cs$gamma_a)) args$gammaA <- cs$gamma_a
  if (cs$futility != "none") {
    args$typeBetaSpending <- cs$futility
    args$bindingFutility <- as.logical(cs$binding)
    if (!is.na(cs$gamma_b)) args$gammaB <- cs$gamma_b
  }
  design <- do.call(getDesignGroupSequential, args)
  chars <- getDesignCharacteristics(design)
  for (j in seq_along(rates)) add("gsd", cs$case, paste0("efficacy_", j), design$criticalValues[j])
  if (cs$futility != "none") {
    for (j in seq_len(length(rates) - 1)) {
      add("gsd", cs$case, paste0("futility_", j), design$futilityBounds[j])
    }
  }
  add("gsd", cs$case, "inflation_factor", chars$inflationFactor)
  add("gsd", cs$case, "expected_information_H0", chars$averageSampleNumber0)
  add("gsd", cs$case, "expected_information_H1", chars$averageSampleNumber1)
}

# -- two proportions, arcsine scale (Cohen's h), two-sided
proportions <- read("proportions.csv")
if (!is.null(proportions)) for (i in seq_len(nrow(proportions))) {
  cs <- proportions[i, ]
  h <- ES.h(cs$p2, cs$p1)
  add("proportions", cs$case, "power",
      pwr.2p.test(h = h, n = cs$n, sig.level = cs$alpha)$power)
  add("proportions", cs$case, "n_per_arm",
      ceiling(pwr.2p.test(h = h, power = cs$target, sig.level = cs$alpha)$n))
}

# -- Schoenfeld's required events (rpact); allocation = share in the first group
events <- read("events.csv")
if (!is.null(events)) for (i in seq_len(nrow(events))) {
  cs <- events[i, ]
  add("events", cs$case, "events",
      getSampleSizeSurvival(hazardRatio = cs$hazard_ratio, alpha = cs$alpha,
                            beta = 1 - cs$power, sided = cs$sided,
                            allocationRatioPlanned = cs$allocation / (1 - cs$allocation),
                            lambda2 = 0.1, accrualTime = c(0, 12), followUpTime = 12,
                            typeOfComputation = "Schoenfeld")$maxNumberOfEvents)
}

values <- do.call(rbind, out)
con <- file(file.path(folder, "r_values.csv"), "w")
writeLines(sprintf("# %s; rpact %s, mvtnorm %s, pwr %s", R.version.string,
                   packageVersion("rpact"), packageVersion("mvtnorm"), packageVersion("pwr")),
           con)
write.csv(values, con, row.names = FALSE, quote = FALSE)
close(con)
