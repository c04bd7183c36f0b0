# Independent reference values for trialplan's exact factorial power.
#
# Written from the definitions, not from trialplan: each contrast is typed out by
# hand from the cell means, the noncentral t power uses R's pt(ncp=) (AS 243),
# the combination (min) test uses mvtnorm::pmvt for the shifted bivariate t, and
# the exact ANCOVA power integrates over the F(1, m) baseline imbalance with
# integrate().  Run from the repository root:
#   Rscript tests/references/factorial_power.R
# Output: tests/references/factorial_power.csv and tests/references/min_test_power.csv

suppressMessages(library(mvtnorm))
set.seed(20261125)

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

ancova_power <- function(theta, se, df, m, alpha, sided) {
  f <- function(x) sapply(x, function(F) t_power(theta / sqrt(1 + F / m), se, df, alpha, sided)) *
    df(x, 1, m)
  integrate(f, 0, Inf, rel.tol = 1e-12, subdivisions = 2000L)$value
}

# Cells in the order (a0b0, a1b0, a0b1, a1b1); contrasts typed out by hand.
contrasts <- list(
  A = c(-0.5, 0.5, -0.5, 0.5),
  B = c(-0.5, -0.5, 0.5, 0.5),
  AB = c(1, -1, -1, 1),
  A_given_b0 = c(-1, 1, 0, 0),
  A_given_b1 = c(0, 0, -1, 1),
  B_given_a0 = c(-1, 0, 1, 0),
  B_given_a1 = c(0, -1, 0, 1)
)

cases <- list(
  list(id = "balanced-n50", mu = c(0, -3, -2, -8), n = c(50, 50, 50, 50), sd = 8, rho = 0,
       alpha = 0.05, sided = 2),
  list(id = "unequal-n", mu = c(0, -3, -2, -8), n = c(40, 60, 30, 70), sd = 8, rho = 0,
       alpha = 0.05, sided = 2),
  list(id = "one-sided-small", mu = c(10, 12, 11, 16), n = c(6, 6, 6, 6), sd = 3, rho = 0,
       alpha = 0.025, sided = 1),
  list(id = "ancova-rho0.5", mu = c(0, -3, -2, -8), n = c(50, 50, 50, 50), sd = 8, rho = 0.5,
       alpha = 0.05, sided = 2),
  list(id = "ancova-small-unequal", mu = c(0, 2, 1, 5), n = c(8, 10, 9, 12), sd = 2,
       rho = 0.6, alpha = 0.05, sided = 2)
)

rows <- list()
for (cs in cases) {
  N <- sum(cs$n)
  q <- if (cs$rho != 0) 1 else 0
  df <- N - 4 - q
  s_adj <- cs$sd * sqrt(1 - cs$rho^2)
  for (h in names(contrasts)) {
    cc <- contrasts[[h]]
    theta <- sum(cc * cs$mu)
    se <- s_adj * sqrt(sum(cc^2 / cs$n))
    # one-sided tests are oriented so that lower is better (negative theta)
    th <- if (cs$sided == 1) -theta else theta
    pw <- if (q == 0) t_power(th, se, df, cs$alpha, cs$sided) else
      ancova_power(th, se, df, N - 4, cs$alpha, cs$sided)
    rows[[length(rows) + 1]] <- data.frame(case = cs$id, hypothesis = h, effect = theta,
                                           se = se, df = df, power = pw)
  }
}
out <- do.call(rbind, rows)
con <- file("tests/references/factorial_power.csv", "w")
writeLines(sprintf("# made by factorial_power.R with %s, mvtnorm %s", R.version.string,
                   packageVersion("mvtnorm")), con)
write.csv(out, con, row.names = FALSE)
close(con)

# Combination (min) test: combined cell a1b1 better (lower) than a1b0 and a0b1,
# each one-sided at level alpha_one; T_i = (Z_i + delta_i)/U: the noncentral multivariate t
# of Kshirsagar (mvtnorm type "Kshirsagar", Genz & Bretz 2009 eq. 1.4).
min_cases <- list(
  list(id = "refs-116", mu = c(0, -5, -4, -8), n = c(116, 116, 116, 116), sd = 8, alpha_one = 0.025),
  list(id = "refs-152", mu = c(0, -5, -4, -8), n = c(152, 152, 152, 152), sd = 8, alpha_one = 0.025),
  list(id = "small-unequal", mu = c(0, -2, -3, -6), n = c(10, 12, 9, 15), sd = 3, alpha_one = 0.025),
  list(id = "tiny", mu = c(0, -2, -3, -6), n = c(4, 4, 4, 4), sd = 3, alpha_one = 0.05)
)
mrows <- list()
for (cs in min_cases) {
  df <- sum(cs$n) - 4
  c1 <- c(0, -1, 0, 1)  # a1b1 - a1b0
  c2 <- c(0, 0, -1, 1)  # a1b1 - a0b1
  v <- cs$sd^2 / cs$n
  se1 <- sqrt(sum(c1^2 * v)); se2 <- sqrt(sum(c2^2 * v))
  rho <- sum(c1 * c2 * v) / (se1 * se2)
  delta <- -c(sum(c1 * cs$mu) / se1, sum(c2 * cs$mu) / se2)  # oriented: lower is better
  crit <- qt(1 - cs$alpha_one, df)
  R <- matrix(c(1, rho, rho, 1), 2)
  p <- pmvt(lower = c(crit, crit), upper = c(Inf, Inf), delta = delta, df = df, corr = R,
            type = "Kshirsagar", algorithm = GenzBretz(maxpts = 5e6, abseps = 1e-7, releps = 0))
  pn <- pmvnorm(lower = c(qnorm(1 - cs$alpha_one), qnorm(1 - cs$alpha_one)), upper = c(Inf, Inf),
                mean = delta, corr = R, algorithm = Miwa(steps = 4096))
  mrows[[length(mrows) + 1]] <- data.frame(case = cs$id, df = df, rho = rho, delta1 = delta[1],
                                           delta2 = delta[2], crit = crit,
                                           power_t = as.numeric(p), error_t = attr(p, "error"),
                                           power_normal = as.numeric(pn))
}
mout <- do.call(rbind, mrows)
con <- file("tests/references/min_test_power.csv", "w")
writeLines(sprintf("# made by factorial_power.R with %s, mvtnorm %s", R.version.string,
                   packageVersion("mvtnorm")), con)
write.csv(mout, con, row.names = FALSE)
close(con)
