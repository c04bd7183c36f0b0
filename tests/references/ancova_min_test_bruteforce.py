"""Brute-force reference for the ANCOVA min (combination) test of a 2x2 factorial.

Independent of trialplan (numpy and scipy only).  Each simulated trial draws
the sufficient statistics of an ANCOVA trial exactly:

* per cell j, the means of (baseline x, outcome y) ~ N((0, mu_j), Sigma / n_j),
  Sigma = sd^2 [[1, rho], [rho, 1]];
* the pooled within-cell cross-product matrix W ~ Wishart(N - J, Sigma)
  (scipy.stats.wishart);

and analyses them as the OLS fit ``y ~ cell + x`` does: common slope
b = W_xy / W_xx, adjusted cell means ybar_j - b xbar_j, residual variance
s^2 = (W_yy - W_xy^2 / W_xx) / (N - J - 1), and for a contrast c the standard
error s sqrt(sum c_j^2 / n_j + (c' xbar)^2 / W_xx).  The combination (min)
test rejects when both one-sided comparisons of the combined cell with each
monotherapy cell reach t_{1 - alpha/2, N - J - 1} in the favourable (lower)
direction (intersection-union test, each at alpha/2 for a two-sided alpha).

Run:  python tests/references/ancova_min_test_bruteforce.py
      -> tests/references/ancova_min_test_bruteforce.csv
"""

import csv
import math
import sys
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

CASES = [
    # id, n per cell (00, 10, 01, 11), means (00, 10, 01, 11), sd, rho, alpha (two-sided)
    ("n15-rho0.6", (15, 15, 15, 15), (0.0, -3.0, -2.0, -9.0), 8.0, 0.6, 0.05),
    ("n12-20-rho-0.5", (12, 20, 16, 20), (0.0, -4.0, -3.0, -10.0), 8.0, -0.5, 0.05),
]
N_SIMS = 2_000_000
CHUNK = 200_000
SEED = 20261201


def simulate(n, mu, sd, rho, alpha, rng):
    n = np.asarray(n, dtype=float)
    mu = np.asarray(mu, dtype=float)
    cells = n.size
    df_w = int(n.sum()) - cells
    df_res = df_w - 1
    sigma = sd**2 * np.array([[1.0, rho], [rho, 1.0]])
    chol = np.linalg.cholesky(sigma)
    crit = stats.t.isf(alpha / 2, df_res)
    # combined cell (11) minus each monotherapy cell (10, 01): lower is better
    contrasts = np.array([[0.0, -1.0, 0.0, 1.0], [0.0, 0.0, -1.0, 1.0]])
    rejections = 0
    done = 0
    while done < N_SIMS:
        size = min(CHUNK, N_SIMS - done)
        z = rng.standard_normal((size, cells, 2))
        means = z @ chol.T / np.sqrt(n)[None, :, None]  # (size, cells, 2): x, y
        xbar = means[..., 0]
        ybar = means[..., 1] + mu
        w = stats.wishart(df=df_w, scale=sigma).rvs(size=size, random_state=rng)
        wxx, wxy, wyy = w[:, 0, 0], w[:, 0, 1], w[:, 1, 1]
        slope = wxy / wxx
        s2 = (wyy - wxy**2 / wxx) / df_res
        adjusted = ybar - slope[:, None] * xbar
        both = np.ones(size, dtype=bool)
        for c in contrasts:
            est = adjusted @ c
            se = np.sqrt(s2 * (np.sum(c**2 / n) + (xbar @ c) ** 2 / wxx))
            both &= est / se < -crit
        rejections += int(both.sum())
        done += size
    return rejections / N_SIMS


def main() -> None:
    rng = np.random.default_rng(SEED)
    out = Path(__file__).with_suffix(".csv")
    with out.open("w", newline="") as handle:
        handle.write(
            f"# {Path(__file__).name}; numpy {np.__version__}, scipy {scipy.__version__}, "
            f"Python {sys.version.split()[0]}; seed {SEED}; {N_SIMS} trials per case\n"
        )
        writer = csv.writer(handle)
        writer.writerow(["id", "n", "means", "sd", "rho", "alpha", "power", "mcse", "n_sims"])
        for case_id, n, mu, sd, rho, alpha in CASES:
            power = simulate(n, mu, sd, rho, alpha, rng)
            mcse = math.sqrt(power * (1 - power) / N_SIMS)
            writer.writerow(
                [
                    case_id,
                    " ".join(map(str, n)),
                    " ".join(map(str, mu)),
                    sd,
                    rho,
                    alpha,
                    f"{power:.6f}",
                    f"{mcse:.6f}",
                    N_SIMS,
                ]
            )
            print(case_id, power, mcse)


if __name__ == "__main__":
    main()
