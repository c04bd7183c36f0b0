# Independent check of trialplan's MAMS bounds (tests/test_adaptive_selection.py): the
# familywise error under the global null of a two-stage multi-arm design, by multivariate
# normal integration (mvtnorm::pmvnorm, Genz-Bretz), for the bounds trialplan solved
# (typed in below).  Run:  Rscript adaptive_mams_mvtnorm.R  -> adaptive_mams_mvtnorm.csv
#
# Arm j's cumulative z statistic at stage s compares its n_s participants with the
# control's m_s: Cov(Z_js, Z_kt) = (1{j = k} / n_max(s,t) + 1 / m_max(s,t)) /
# sqrt((1/n_s + 1/m_s)(1/n_t + 1/m_t)).  Arm j does not cause a rejection iff
# Z_j1 <= l1, or l1 < Z_j1 < u1 and Z_j2 < u2; the event "no arm rejects" is the
# disjoint union of 2^K rectangles (one of the two events per arm).
suppressPackageStartupMessages(library(mvtnorm))
fwer <- function(K, n, m, u, l) {
  idx <- expand.grid(arm = 1:K, stage = 1:2)
  d <- nrow(idx)
  sigma <- matrix(0, d, d)
  for (a in 1:d) for (b in 1:d) {
    s <- idx$stage[a]; t <- idx$stage[b]
    num <- (idx$arm[a] == idx$arm[b]) / n[max(s, t)] + 1 / m[max(s, t)]
    sigma[a, b] <- num / sqrt((1 / n[s] + 1 / m[s]) * (1 / n[t] + 1 / m[t]))
  }
  total <- 0
  for (combo in 0:(2^K - 1)) {
    lower <- rep(-Inf, d); upper <- rep(Inf, d)
    for (j in 1:K) {
      first <- which(idx$arm == j & idx$stage == 1)
      second <- which(idx$arm == j & idx$stage == 2)
      if (bitwAnd(combo, 2^(j - 1)) == 0) {
        upper[first] <- l[1]
      } else {
        lower[first] <- l[1]; upper[first] <- u[1]; upper[second] <- u[2]
      }
    }
    total <- total + pmvnorm(lower = lower, upper = upper, sigma = sigma,
                             algorithm = GenzBretz(maxpts = 2e6, abseps = 1e-8, releps = 0))
  }
  1 - total
}
set.seed(20260101)
cases <- list(
  list(name = "obf_k2", K = 2, n = c(1, 2), m = c(1, 2), alpha = 0.025,
       u = c(3.139163248770243, 2.2197236204570316), l = c(0.0, 2.2197236204570316)),
  list(name = "triangular_k3_control2", K = 3, n = c(1, 2), m = c(2, 4), alpha = 0.05,
       u = c(2.3597226571893675, 2.224767856824187), l = c(0.7865742190631224, 2.224767856824187)),
  list(name = "pocock_k3_lower", K = 3, n = c(1, 2), m = c(1, 2), alpha = 0.05,
       u = c(2.2800813542704947, 2.2800813542704947), l = c(-0.5, 2.2800813542704947))
)
out <- do.call(rbind, lapply(cases, function(cs) data.frame(
  case = cs$name, alpha = cs$alpha, fwer = fwer(cs$K, cs$n, cs$m, cs$u, cs$l))))
write.csv(out, "adaptive_mams_mvtnorm.csv", row.names = FALSE)
print(out)
