# Independent reference values for trialplan's multiplicity and assurance engines.
#
# Written from the definitions, not from trialplan: contrasts are typed out by
# hand per named cell, joint probabilities of the t statistics (which share one
# variance estimate) are mvtnorm::pmvt rectangles of the noncentral multivariate t
# (type "Kshirsagar": (Z + delta) / U, Genz & Bretz 2009 eq. 1.4),
# Holm's two-hypothesis events are written out as unions of rectangles, and the
# assurance integrals use integrate() over the prior.  Run from the repository root:
#   Rscript tests/references/multiplicity_mvtnorm.R
# Output: tests/references/multiplicity_mvtnorm.csv

suppressMessages(library(mvtnorm))
set.seed(20261125)
cells <- c("sham.control", "sham.MBI", "active.control", "active.MBI")
ctr <- list(
  rTMS = c(-0.5, -0.5, 0.5, 0.5),
  MBI = c(-0.5, 0.5, -0.5, 0.5),
  IC = c(1, -1, -1, 1),
  comb1 = c(0, -1, 0, 1),   # active+MBI minus sham+MBI
  comb2 = c(0, 0, -1, 1)    # active+MBI minus active+control
)
law <- function(mu, n, sd, names) {
  C <- do.call(rbind, ctr[names])
  V <- C %*% diag(sd^2 / n) %*% t(C)
  se <- sqrt(diag(V))
  list(delta = as.vector(C %*% mu) / se, corr = cov2cor(V), df = sum(n) - 4)
}
P <- function(L, lower, upper, idx = seq_along(L$delta)) {
  R <- L$corr[idx, idx, drop = FALSE]
  if (length(idx) == 1) {
    return(pt(upper, L$df, ncp = L$delta[idx]) - pt(lower, L$df, ncp = L$delta[idx]))
  }
  as.numeric(pmvt(lower = lower, upper = upper, delta = L$delta[idx], corr = R, df = L$df,
                  type = "Kshirsagar",
                  algorithm = GenzBretz(maxpts = 5e6, abseps = 1e-8, releps = 0)))
}
rows <- list()
add <- function(case, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, quantity = quantity, value = value)
}
mu <- c(0, -2, -3, -8)  # HAM-D change; lower is better

# 1. Bonferroni over rTMS, MBI, IC, two-sided alpha .05, n = 50 per cell.
L <- law(mu, rep(50, 4), 8, c("rTMS", "MBI", "IC"))
c3 <- qt(1 - 0.05 / 6, L$df)
add("bonferroni-n50", "any", 1 - P(L, rep(-c3, 3), rep(c3, 3)))
all <- 0
signs <- as.matrix(expand.grid(c(-1, 1), c(-1, 1), c(-1, 1)))
for (r in seq_len(nrow(signs))) {
  lo <- ifelse(signs[r, ] > 0, c3, -Inf)
  hi <- ifelse(signs[r, ] > 0, Inf, -c3)
  all <- all + P(L, lo, hi)
}
add("bonferroni-n50", "all", all)

# 2. Fixed sequence: combination (both one-sided at .025, lower is better), then IC
#    two-sided at .05.  P(combination) and P(combination and IC).
L <- law(mu, rep(50, 4), 8, c("comb1", "comb2", "IC"))
c1 <- qt(0.975, L$df)
add("fixedseq-n50", "combination", P(L, c(-Inf, -Inf), c(-c1, -c1), 1:2))
both <- P(L, c(-Inf, -Inf, c1), c(-c1, -c1, Inf)) + P(L, c(-Inf, -Inf, -Inf), c(-c1, -c1, -c1))
add("fixedseq-n50", "combination-and-IC", both)

# 3. Holm over rTMS and IC with unequal cells (correlated), two-sided alpha .05.
n <- c(30, 40, 60, 70)
L <- law(mu, n, 8, c("rTMS", "IC"))
ca <- qt(1 - 0.05 / 2, L$df)    # p <= alpha
ch <- qt(1 - 0.05 / 4, L$df)    # p <= alpha / 2
band <- list(c(ca, ch), c(-ch, -ca))         # alpha/2 < p <= alpha
tails <- function(cv) list(c(cv, Inf), c(-Inf, -cv))
p_rej <- function(i) {         # P(Holm rejects hypothesis i of 2)
  j <- 3 - i
  out <- 1 - (pt(ch, L$df, ncp = L$delta[i]) - pt(-ch, L$df, ncp = L$delta[i]))
  for (b in band) for (t in tails(ch)) {
    lo <- numeric(2); hi <- numeric(2)
    lo[i] <- b[1]; hi[i] <- b[2]; lo[j] <- t[1]; hi[j] <- t[2]
    out <- out + P(L, lo, hi)
  }
  out
}
add("holm-unequal", "rTMS", p_rej(1))
add("holm-unequal", "IC", p_rej(2))
# both rejected: P(p1 <= a/2, p2 <= a) + P(p2 <= a/2, p1 <= a) - P(p1 <= a/2, p2 <= a/2)
rect2 <- function(c_first, c_second) {
  s <- 0
  for (t1 in tails(c_first)) for (t2 in tails(c_second)) {
    s <- s + P(L, c(t1[1], t2[1]), c(t1[2], t2[2]))
  }
  s
}
add("holm-unequal", "all", rect2(ch, ca) + rect2(ca, ch) - rect2(ch, ch))
add("holm-unequal", "correlation", L$corr[1, 2])
# Hochberg, same design: H_i rejected iff p_i <= a/2 or both p <= a.
#   P = P(p_i <= a/2) + P(p_i <= a, p_j <= a) - P(p_i <= a/2, p_j <= a)
hoch <- function(i) {
  pa <- 1 - (pt(ch, L$df, ncp = L$delta[i]) - pt(-ch, L$df, ncp = L$delta[i]))
  r_a_a <- rect2(ca, ca)
  r_h_a <- if (i == 1) rect2(ch, ca) else rect2(ca, ch)
  pa + r_a_a - r_h_a
}
add("hochberg-unequal", "rTMS", hoch(1))
add("hochberg-unequal", "IC", hoch(2))

# 4. Assurance: design with n = 100 per cell, prior N(-4, 2^2) on IC, favourable
#    (lower) tail of the two-sided .05 t test, df = 396.
se <- 8 * sqrt(4 / 100); df <- 396; cv <- qt(0.975, df)
pw <- function(th) pt(cv, df, ncp = -th / se, lower.tail = FALSE)
add("assurance-n100-norm(-4,2)", "assurance",
    integrate(function(th) dnorm(th, -4, 2) * pw(th), -Inf, Inf, rel.tol = 1e-12)$value)
add("assurance-n100-norm(-4,2)", "power-at-prior-mean", pw(-4))
# a skewed prior: IC = -gamma(shape 4, scale 1)
add("assurance-n100-gamma", "assurance",
    integrate(function(g) dgamma(g, shape = 4, scale = 1) * pw(-g), 0, Inf,
              rel.tol = 1e-12)$value)

# 5. Posterior rule, sceptical prior N(0, 2^2), estimate IC_hat = -3.5 with se 1.6,
#    P(-IC > 1 | data) and the rule's success probability at IC = 0 and IC = -4
#    for gamma = 0.9 (normal likelihood).
post_var <- 1 / (1 / 4 + 1 / 1.6^2); post_mean <- post_var * (0 / 4 + -3.5 / 1.6^2)
add("posterior-sceptical", "posterior-probability", pnorm((-post_mean - 1) / sqrt(post_var)))
# success iff -post_mean >= 1 + qnorm(.9) sqrt(post_var); post_mean linear in IC_hat
k <- (1 + qnorm(0.9) * sqrt(post_var)) / (post_var / 1.6^2)   # -IC_hat >= k
add("posterior-sceptical", "critical-benefit", k)
add("posterior-sceptical", "success-at-0", pnorm((0 - k) / 1.6))
add("posterior-sceptical", "success-at-minus4", pnorm((4 - k) / 1.6))

# 6. Min test (combination better than each monotherapy by 3 and 4 HAM-D points),
#    sd 8, n 116 per cell, one-sided .025 each: P(T1 > c, T2 > c), corr 1/2, df 460.
L <- law(c(0, -5, -4, -8), rep(116, 4), 8, c("comb1", "comb2"))
c1 <- qt(0.975, L$df)
add("min-test-n116", "all", P(L, c(-Inf, -Inf), c(-c1, -c1)))

out <- do.call(rbind, rows)
con <- file("tests/references/multiplicity_mvtnorm.csv", "w")
writeLines(sprintf("# made by multiplicity_mvtnorm.R with %s, mvtnorm %s", R.version.string,
                   packageVersion("mvtnorm")), con)
write.csv(out, con, row.names = FALSE)
close(con)
