# Time R reference implementations in one R session, for benchmarks/bench_speed.py.
#
# Usage: Rscript benchmarks/rpact_timing.R [repeats]
# Prints one line per case, "case|seconds|values": the best (smallest) wall time of
# one call over `repeats` timed calls after one untimed warm-up call, measured inside
# R with proc.time(), so R's start-up and package loading are not included; values
# are the boundaries (or sample size) the call returned, for an agreement check.
# Fast calls are timed in loops of `inner` calls and divided.
suppressMessages({
  library(rpact)
  library(pwr)
})
args <- commandArgs(trailingOnly = TRUE)
repeats <- if (length(args) >= 1) as.integer(args[1]) else 5L

best_time <- function(f, inner = 1L) {
  f()
  best <- Inf
  for (r in seq_len(repeats)) {
    start <- proc.time()[["elapsed"]]
    for (i in seq_len(inner)) value <- f()
    best <- min(best, (proc.time()[["elapsed"]] - start) / inner)
  }
  best
}

report <- function(case, seconds, values) {
  cat(case, "|", format(seconds, digits = 6), "|",
      paste(format(values, digits = 10), collapse = " "), "\n", sep = "")
}

gsd_obf <- function() getDesignGroupSequential(
  kMax = 5, alpha = 0.025, beta = 0.1, sided = 1, typeOfDesign = "asOF",
  typeBetaSpending = "bsOF", bindingFutility = FALSE)
gsd_hsd <- function() getDesignGroupSequential(
  kMax = 5, alpha = 0.025, beta = 0.1, sided = 1, typeOfDesign = "asHSD", gammaA = -4,
  typeBetaSpending = "bsHSD", gammaB = -2, bindingFutility = TRUE)
gsd_plain <- function() getDesignGroupSequential(
  kMax = 5, alpha = 0.025, sided = 1, typeOfDesign = "asOF")

d <- gsd_obf()
report("rpact gsd5 OBF + OBF beta-spending, non-binding", best_time(gsd_obf),
       c(d$criticalValues, d$futilityBounds))
d <- gsd_hsd()
report("rpact gsd5 HSD(-4) + HSD(-2) beta-spending, binding", best_time(gsd_hsd),
       c(d$criticalValues, d$futilityBounds))
d <- gsd_plain()
report("rpact gsd5 OBF, no futility", best_time(gsd_plain, inner = 20L), d$criticalValues)
# Main effect of a 2x2 (N/2 a side): two-sample t, d = 2/8, 90% power, two-sided 0.05.
n <- pwr.t.test(d = 0.25, power = 0.9, sig.level = 0.05)$n
report("pwr.t.test sample size", best_time(function() pwr.t.test(
  d = 0.25, power = 0.9, sig.level = 0.05), inner = 50L), n)
