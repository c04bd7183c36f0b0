# Reference stopping probabilities of the group-sequential min (intersection-union)
# test of two correlated comparisons, by inclusion-exclusion over multivariate
# normal orthants (mvtnorm::pmvnorm, Genz-Bretz), with bounds from rpact.
#
# Run from the repository root:  Rscript tests/references/sequential_combination.R
# Writes tests/references/sequential_combination.csv: one row per case and look.
#
# Model (canonical joint distribution): Z_ik ~ N(drift_i sqrt(t_k), 1),
# Cov(Z_ik, Z_jl) = rho_ij sqrt(t_min / t_max), rho_11 = rho_22 = 1, rho_12 = rho.
# The trial stops for efficacy at look k when min(Z_1k, Z_2k) >= b_k and for
# futility when min(Z_1k, Z_2k) < a_k (a_K = b_K when there are futility bounds).
# With B_j = {both >= b_j} inside A_j = {both >= a_j}, continuing past look j is
# 1[A_j] - 1[B_j], so
#   P(efficacy at k) = sum over S in {1..k-1} of (-1)^|S| P(B_j for j in S,
#                      A_j for j not in S, B_k),
#   P(futility at k) = sum_S (-1)^|S| [P(B_S, A_rest) - P(B_S, A_rest, A_k)],
# each term an orthant probability of a normal vector of dimension <= 2k.
# trialplan computes the same quantities by bivariate recursive integration;
# R is never needed at test time.
suppressPackageStartupMessages({library(rpact); library(mvtnorm)})
set.seed(20261125)

cases <- list(
  list(id = "asOF_k3_rho05_null", design = list(typeOfDesign = "asOF", kMax = 3),
       rho = 0.5, drift = c(0, 0)),
  list(id = "asOF_k3_rho05_alt", design = list(typeOfDesign = "asOF", kMax = 3),
       rho = 0.5, drift = c(2.8, 3.3)),
  list(id = "asP_k3_rho05_alt", design = list(typeOfDesign = "asP", kMax = 3),
       rho = 0.5, drift = c(3.2, 3.2)),
  list(id = "asOF_k5_rho05_alt", design = list(typeOfDesign = "asOF", kMax = 5),
       rho = 0.5, drift = c(3.0, 3.5)),
  list(id = "asHSDm4_k4_rhom03_alt", design = list(typeOfDesign = "asHSD", gammaA = -4,
       kMax = 4), rho = -0.3, drift = c(3.0, 2.7)),
  list(id = "asOF_unequal_rho03_alt", design = list(typeOfDesign = "asOF", kMax = 3,
       informationRates = c(0.25, 0.6, 1)), rho = 0.3, drift = c(2.5, 3.6)),
  list(id = "asOF_bsOF_nonbinding_k3_null", design = list(typeOfDesign = "asOF", kMax = 3,
       typeBetaSpending = "bsOF", bindingFutility = FALSE, beta = 0.1),
       rho = 0.5, drift = c(0, 0)),
  list(id = "asOF_bsOF_nonbinding_k3_alt", design = list(typeOfDesign = "asOF", kMax = 3,
       typeBetaSpending = "bsOF", bindingFutility = FALSE, beta = 0.1),
       rho = 0.5, drift = c(3.0, 3.4)),
  list(id = "asP_bsP_binding_k4_alt", design = list(typeOfDesign = "asP", kMax = 4,
       typeBetaSpending = "bsP", bindingFutility = TRUE, beta = 0.2),
       rho = 0.6, drift = c(2.9, 3.1))
)

orthant <- function(lower_bounds, mean, sigma) {
  keep <- is.finite(lower_bounds)
  if (!any(keep)) return(c(1, 0))
  p <- pmvnorm(lower = lower_bounds[keep], upper = rep(Inf, sum(keep)),
               mean = mean[keep], sigma = sigma[keep, keep, drop = FALSE],
               algorithm = GenzBretz(maxpts = 5e6, abseps = 1e-9, releps = 0))
  c(as.numeric(p), attr(p, "error"))
}

rows <- list()
for (case in cases) {
  design <- do.call(getDesignGroupSequential, c(case$design, list(alpha = 0.025, sided = 1)))
  t <- design$informationRates
  K <- length(t)
  b <- design$criticalValues
  has_fut <- !is.null(case$design$typeBetaSpending)
  a <- if (has_fut) c(design$futilityBounds, b[K]) else rep(-Inf, K)
  a[a <= -6] <- -Inf  # rpact's "no futility bound at this look"
  # order of the 2K statistics: (Z_11..Z_1K, Z_21..Z_2K)
  mean <- c(case$drift[1] * sqrt(t), case$drift[2] * sqrt(t))
  time_corr <- outer(t, t, function(x, y) sqrt(pmin(x, y) / pmax(x, y)))
  sigma <- rbind(cbind(time_corr, case$rho * time_corr),
                 cbind(case$rho * time_corr, time_corr))
  at <- function(looks_b, looks_a) {
    # lower bounds of the orthant {both >= b_j, j in looks_b; both >= a_j, j in looks_a}
    lb <- rep(-Inf, K)
    lb[looks_a] <- a[looks_a]
    lb[looks_b] <- b[looks_b]
    orthant(c(lb, lb), mean, sigma)
  }
  for (k in seq_len(K)) {
    eff <- 0; fut <- 0; err <- 0; cont <- 0
    prev <- seq_len(k - 1)
    subsets <- if (k == 1) list(integer(0)) else
      unlist(lapply(0:(k - 1), function(m) combn(prev, m, simplify = FALSE)),
             recursive = FALSE)
    if (k > 1 && length(prev) == 1) subsets <- list(integer(0), prev)
    for (S in subsets) {
      sign <- (-1)^length(S)
      rest <- setdiff(prev, S)
      e <- at(c(S, k), rest)
      eff <- eff + sign * e[1]; err <- err + e[2]
      if (has_fut) {
        base <- at(S, rest)
        cont <- cont + sign * base[1]; err <- err + base[2]
        if (k < K) {
          withk <- at(S, c(rest, k))
          fut <- fut + sign * (base[1] - withk[1]); err <- err + withk[2]
        }
      }
    }
    if (has_fut && k == K) fut <- cont - eff
    rows[[length(rows) + 1]] <- data.frame(
      case = case$id, look = k, info_fraction = t[k], rho = case$rho,
      drift1 = case$drift[1], drift2 = case$drift[2], efficacy_z = b[k],
      futility_z = a[k], stop_efficacy = eff, stop_futility = fut,
      error_bound = err)
  }
}
out <- do.call(rbind, rows)
write.csv(out, "tests/references/sequential_combination.csv", row.names = FALSE)
cat("# R", R.version.string, "| rpact", as.character(packageVersion("rpact")),
    "| mvtnorm", as.character(packageVersion("mvtnorm")), "\n")
print(out, digits = 10)
