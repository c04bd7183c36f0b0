"""Brute-force reference for the power of a Cox analysis of a 2x2 time-to-event trial.

Independent of trialplan (numpy and scipy only; the Cox fit is written out
here).  Each simulated trial: n patients per cell enter uniformly over
[0, accrual], have exponential event times (the cell's hazard) and exponential
loss to follow-up (the dropout hazard), and are analysed at calendar time
accrual + follow_up.  The analysis: Cox proportional hazards with indicators
of the three cells other than (no, no), maximised by Newton-Raphson on the
partial likelihood (continuous times, no ties), Wald z statistics for

* the main effect of A: (beta_10 + beta_11 - beta_01) / 2 (average of the
  simple effects of A on the log-hazard scale, beta_00 = 0), and
* the interaction A:B: beta_11 - beta_10 - beta_01,

with the inverse observed information; two-sided tests at 0.05.

Run:  python tests/references/cox_factorial_bruteforce.py
      -> tests/references/cox_factorial_bruteforce.csv
"""

import csv
import math
import sys
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

N_PER_CELL = 60
HAZARD = 0.06
RATIOS = (1.0, 0.75, 0.8, 0.5)  # cells (no, no), (yes, no), (no, yes), (yes, yes)
ACCRUAL, FOLLOW_UP, DROPOUT = 18.0, 12.0, 0.01
N_SIMS = 40_000
SEED = 20261203
CONTRASTS = {
    "A": np.array([0.5, -0.5, 0.5]),  # on (beta_10, beta_01, beta_11)
    "A:B": np.array([-1.0, -1.0, 1.0]),
}


def cox_fit(time, event, x):
    """Newton-Raphson for the Cox partial likelihood (no ties); returns beta, covariance."""
    order = np.argsort(-time)  # descending: the risk set of i is everyone before it, i included
    time, event, x = time[order], event[order], x[order]
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        w = np.exp(x @ beta)
        s0 = np.cumsum(w)
        s1 = np.cumsum(w[:, None] * x, axis=0)
        s2 = np.cumsum(w[:, None, None] * x[:, :, None] * x[:, None, :], axis=0)
        d = event.astype(bool)
        xbar = s1[d] / s0[d, None]
        score = (x[d] - xbar).sum(axis=0)
        info = (s2[d] / s0[d, None, None] - xbar[:, :, None] * xbar[:, None, :]).sum(axis=0)
        step = np.linalg.solve(info, score)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta, np.linalg.inv(info)


def main() -> None:
    rng = np.random.default_rng(SEED)
    lam = np.repeat(HAZARD * np.array(RATIOS), N_PER_CELL)
    cell = np.repeat(np.arange(4), N_PER_CELL)
    x = np.eye(4)[cell][:, 1:]
    crit = stats.norm.isf(0.025)
    hits = dict.fromkeys(CONTRASTS, 0)
    failed = 0
    for _ in range(N_SIMS):
        entry = ACCRUAL * rng.random(lam.size)
        event_time = rng.exponential(1.0, lam.size) / lam
        loss = rng.exponential(1.0, lam.size) / DROPOUT
        censor = np.minimum(loss, ACCRUAL + FOLLOW_UP - entry)
        time = np.minimum(event_time, censor)
        event = event_time <= censor
        try:
            beta, cov = cox_fit(time, event, x)
        except np.linalg.LinAlgError:
            failed += 1
            continue
        for name, c in CONTRASTS.items():
            hits[name] += abs(c @ beta) / math.sqrt(c @ cov @ c) > crit
    out = Path(__file__).with_suffix(".csv")
    with out.open("w", newline="") as handle:
        handle.write(
            f"# {Path(__file__).name}; numpy {np.__version__}, scipy {scipy.__version__}, "
            f"Python {sys.version.split()[0]}; seed {SEED}; {N_SIMS} trials; "
            f"{failed} failed fits counted as no rejection\n"
        )
        writer = csv.writer(handle)
        writer.writerow(["hypothesis", "power", "mcse", "n_sims"])
        for name, count in hits.items():
            p = count / N_SIMS
            writer.writerow([name, f"{p:.6f}", f"{math.sqrt(p * (1 - p) / N_SIMS):.6f}", N_SIMS])
            print(name, p)


if __name__ == "__main__":
    main()
