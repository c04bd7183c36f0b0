"""Calibration of the partially nested (group-delivered MBI) analysis, as quoted in
docs/outcomes.md and tests/test_simulate_clustered.py.

Run: python tests/references/clustered_calibration.py [n_sims]   (default 100000)

For each grid point it prints, per hypothesis, the analytic power, the simulated
power of the heteroscedastic partially nested analysis (exact engine, per-trial
Satterthwaite df) and their difference in Monte Carlo SEs; and, under the null,
the type I error the earlier single-df rule (N - J - covariates - sum(n_j - g_j))
would give to the same simulated statistics.
"""

import itertools
import sys

import numpy as np
from scipy import stats

import trialplan as tp
from trialplan.simulate.clustered import ClusteredSimulator

FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
ALT = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}
NULL = dict.fromkeys(ALT, 0.0)
NAMES = ("rTMS", "MBI", "rTMS:MBI", "rTMS | MBI=MBI", "combination")


def design(means, icc, m, rho, sided, n=60):
    return tp.Factorial(
        factors=FACTORS,
        n_per_cell=n,
        sided=sided,
        alpha=0.05 if sided == 2 else 0.025,
        outcome=tp.Continuous(means=means, sd=8.0, baseline_corr=rho),
        clusters=tp.Clustering(factor="MBI", icc=icc, group_size=m),
    )


def old_rule_size(d, n_sims, seed=1):
    """Two-sided rejection rate of the simulated null statistics with the single df."""
    sim = ClusteredSimulator()
    params = sim.prepare(d)
    draws = sim.draw(params, np.random.default_rng(seed), n_sims, engine="exact")
    crit = stats.t.isf(0.025, params.df)
    out = {}
    for name in NAMES[:4]:
        est, se = draws.contrast(d.hypothesis(name).contrasts)
        out[name] = float(np.mean(np.abs(est / se)[:, 0] > crit))
    return out


def main(n_sims):
    print(f"trialplan {tp.__version__}, numpy {np.__version__}, n_sims={n_sims}")
    for label, means in (("alternative", ALT), ("null", NULL)):
        for icc, m, rho, sided in itertools.product((0.02, 0.05, 0.1), (6, 10), (0.0, 0.5), (2, 1)):
            d = design(means, icc, m, rho, sided)
            analytic = d.power(list(NAMES))
            sim = d.power(list(NAMES), method="simulation", n_sims=n_sims, seed=1)
            cells = [
                f"{h}: {analytic[h]:.4f}/{sim[h]:.4f} "
                f"({(sim[h] - analytic[h]) / max(sim.mcse[h], 1e-9):+.1f})"
                for h in NAMES
            ]
            print(label, f"icc={icc} m={m} rho={rho} sided={sided}", " | ".join(cells))
            if label == "null" and sided == 2:
                print("   single-df rule, simulated type I error:", old_rule_size(d, n_sims))
    for n in (30, 60):
        for icc, m in itertools.product((0.02, 0.1), (6, 10)):
            d = design(NULL, icc, m, 0.0, 2, n=n)
            print(f"null n={n} icc={icc} m={m}: single-df rule", old_rule_size(d, n_sims))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
