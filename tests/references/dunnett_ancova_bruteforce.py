"""Brute-force reference for Dunnett's many-to-one test after ANCOVA on a baseline.

Independent of trialplan (numpy and scipy only).  k arms and a control; each
simulated trial draws the ANCOVA sufficient statistics exactly (per arm the
means of baseline x and outcome y ~ N((0, mu_j), Sigma / n_j), Sigma =
sd^2 [[1, rho], [rho, 1]]; the pooled within-arm cross products W ~
Wishart(N - k - 1, Sigma), scipy.stats.wishart) and analyses them as the OLS
fit ``y ~ arm + x``: common slope b = W_xy / W_xx, adjusted means
ybar_j - b xbar_j, s^2 = (W_yy - W_xy^2 / W_xx) / (N - k - 2), and for
arm i against the control the t statistic with standard error
s sqrt(1/n_i + 1/n_0 + (xbar_i - xbar_0)^2 / W_xx).

The planned test is single-step Dunnett, two-sided: reject comparison i when
|T_i| > c, with c the root of P(max |T_i| <= c) = 1 - alpha for the
multivariate t with df = N - k - 2 and the design correlation
sqrt(n_i n_l / ((n_i + n_0)(n_l + n_0))) (Dunnett 1955), computed here with
scipy.stats.multivariate_t (randomized QMC, fixed seed).  Output: the
proportion of trials rejecting each comparison, any and all, with MCSE.

Run:  python tests/references/dunnett_ancova_bruteforce.py
      -> tests/references/dunnett_ancova_bruteforce.csv
"""

import csv
import math
import sys
from pathlib import Path

import numpy as np
import scipy
from scipy import optimize, stats

CASES = [
    # id, n (control first), means (control first), sd, rho, alpha (two-sided)
    ("k3-n20-rho0.6", (20, 20, 20, 20), (0.0, -5.0, -6.0, -7.0), 8.0, 0.6, 0.05),
    ("k3-n30-15-20-25-rho-0.4", (30, 15, 20, 25), (0.0, -6.0, -5.0, -7.0), 8.0, -0.4, 0.05),
]
N_SIMS = 1_000_000
CHUNK = 200_000
SEED = 20261202


def dunnett_c(n, df, alpha):
    n = np.asarray(n, dtype=float)
    load = np.sqrt(n[1:] / (n[1:] + n[0]))
    corr = np.outer(load, load)
    np.fill_diagonal(corr, 1.0)
    k = load.size

    def coverage(c):
        dist = stats.multivariate_t(loc=np.zeros(k), shape=corr, df=df)
        return dist.cdf(np.full(k, c), lower_limit=np.full(k, -c), random_state=12345)

    return optimize.brentq(lambda c: coverage(c) - (1 - alpha), 1.5, 4.0, xtol=1e-8)


def simulate(n, mu, sd, rho, alpha, rng):
    n = np.asarray(n, dtype=float)
    mu = np.asarray(mu, dtype=float)
    arms = n.size
    df_w = int(n.sum()) - arms
    df_res = df_w - 1
    c = dunnett_c(n, df_res, alpha)
    sigma = sd**2 * np.array([[1.0, rho], [rho, 1.0]])
    chol = np.linalg.cholesky(sigma)
    hits = np.zeros(arms - 1, dtype=np.int64)
    any_, all_ = 0, 0
    done = 0
    while done < N_SIMS:
        size = min(CHUNK, N_SIMS - done)
        z = rng.standard_normal((size, arms, 2))
        means = z @ chol.T / np.sqrt(n)[None, :, None]
        xbar, ybar = means[..., 0], means[..., 1] + mu
        w = stats.wishart(df=df_w, scale=sigma).rvs(size=size, random_state=rng)
        wxx, wxy, wyy = w[:, 0, 0], w[:, 0, 1], w[:, 1, 1]
        slope = wxy / wxx
        s2 = (wyy - wxy**2 / wxx) / df_res
        adjusted = ybar - slope[:, None] * xbar
        est = adjusted[:, 1:] - adjusted[:, :1]
        dx = xbar[:, 1:] - xbar[:, :1]
        se = np.sqrt(s2[:, None] * (1 / n[1:] + 1 / n[0] + dx**2 / wxx[:, None]))
        reject = np.abs(est / se) > c
        hits += reject.sum(axis=0)
        any_ += int(reject.any(axis=1).sum())
        all_ += int(reject.all(axis=1).sum())
        done += size
    return c, hits / N_SIMS, any_ / N_SIMS, all_ / N_SIMS


def main() -> None:
    rng = np.random.default_rng(SEED)
    out = Path(__file__).with_suffix(".csv")
    with out.open("w", newline="") as handle:
        handle.write(
            f"# {Path(__file__).name}; numpy {np.__version__}, scipy {scipy.__version__}, "
            f"Python {sys.version.split()[0]}; seed {SEED}; {N_SIMS} trials per case\n"
        )
        writer = csv.writer(handle)
        writer.writerow(
            ["id", "n", "means", "sd", "rho", "alpha", "critical_value", "what", "power", "mcse"]
        )
        for case_id, n, mu, sd, rho, alpha in CASES:
            c, each, any_, all_ = simulate(n, mu, sd, rho, alpha, rng)
            values = [(f"arm{i + 1}", p) for i, p in enumerate(each)] + [
                ("any", any_),
                ("all", all_),
            ]
            for what, p in values:
                writer.writerow(
                    [
                        case_id,
                        " ".join(map(str, n)),
                        " ".join(map(str, mu)),
                        sd,
                        rho,
                        alpha,
                        f"{c:.8f}",
                        what,
                        f"{p:.6f}",
                        f"{math.sqrt(p * (1 - p) / N_SIMS):.6f}",
                    ]
                )
            print(case_id, c, each, any_, all_)


if __name__ == "__main__":
    main()
