"""Calibration record for group-delivered time-to-event outcomes (gamma frailty).

Part 1, independent of trialplan's simulator (numpy only; the frailty variance
and conditional hazard come from trialplan.simulate.clustered_survival.gamma_frailty,
the data-model rule under study): null 2x2 (rTMS x MBI), all hazards 0.05,
accrual 12, follow-up 12, MBI cells in groups of m with a shared gamma frailty;
each cell's log(d/T) and three cluster-robust variances:

* none: the uncorrected sandwich, sum_k (d_k - T_k d/T)^2 / d^2;
* cr1:  the same times g/(g-1) per cell (n/(n-1) in individually treated cells);
* md:   Mancl & DeRouen (2001): each cluster's score divided by 1 - T_k/T_j;

and the model-based 1/d.  Two-sided Wald z at 0.05 for the rTMS and MBI main
effects and the interaction; 100,000 trials per row.  Also the simulated
variance of the MBI cells' log(d/T) over 1/E[d], the design effect the data
really have, beside the analytic 1 + (m - 1) ICC.

Part 2: analytic (trialplan, Wald z, 1/d times the design effect) vs simulated
(trialplan, exact engine) power, 200,000 trials, for the designs of
tests/test_simulate_clustered_survival.py: hazards .060/.042/.045/.030
(sham/control, active/control, sham/MBI, active/MBI), accrual 12, follow-up 12.

Run: python tests/references/clustered_survival_calibration.py > \
     tests/references/clustered_survival_calibration.txt
"""

from __future__ import annotations

import math
import platform

import numpy as np
import scipy

import trialplan as tp
from trialplan.simulate.clustered_survival import gamma_frailty

CONTRASTS = {
    "rTMS": np.array([-0.5, 0.5, -0.5, 0.5]),  # cells: sham/ctl, act/ctl,
    "MBI": np.array([-0.5, -0.5, 0.5, 0.5]),  #        sham/MBI, act/MBI
    "rTMS:MBI": np.array([1.0, -1.0, -1.0, 1.0]),
}
Z = 1.959963984540054
A, FOLLOW = 12.0, 12.0
END = A + FOLLOW


def _patients(rng, hazard, n_sims, n):
    entry = A * rng.random((n_sims, n))
    event = rng.exponential(1.0, (n_sims, n)) / hazard
    window = END - entry
    return np.minimum(event, window), (event <= window).astype(float)


def null_rates(n: int, m: int, icc: float, n_sims: int, rng) -> dict[str, object]:
    lam = 0.05
    f = gamma_frailty(icc=icc, hazard=lam, accrual=A, end=END)
    g = math.ceil(n / m)
    base, extra = divmod(n, g)
    sizes = np.array([base + 1] * extra + [base] * (g - extra))
    est = np.zeros((n_sims, 4))
    var = {k: np.zeros((n_sims, 4)) for k in ("model", "none", "cr1", "md")}
    for j in range(4):
        if j < 2:  # individually treated cells
            t, e = _patients(rng, np.full(n, lam), n_sims, n)
            d, T = e.sum(1), t.sum(1)
            rate = d / T
            score, lev = e - rate[:, None] * t, t / T[:, None]
            k = n
        else:  # MBI cells: gamma frailty per group
            z = rng.gamma(1.0 / f.theta, f.theta, (n_sims, g))
            hz = f.conditional_hazard * np.repeat(z, sizes, axis=1)
            t, e = _patients(rng, hz, n_sims, n)
            edges = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            dk, tk = np.add.reduceat(e, edges, axis=1), np.add.reduceat(t, edges, axis=1)
            d, T = dk.sum(1), tk.sum(1)
            rate = d / T
            score, lev = dk - rate[:, None] * tk, tk / T[:, None]
            k = g
        est[:, j] = np.log(rate)
        var["model"][:, j] = 1.0 / d
        var["none"][:, j] = (score**2).sum(1) / d**2
        var["cr1"][:, j] = var["none"][:, j] * k / (k - 1)
        var["md"][:, j] = ((score / (1 - lev)) ** 2).sum(1) / d**2
    out: dict[str, object] = {}
    for name, v in var.items():
        out[name] = [
            float(np.mean(np.abs(est @ c) / np.sqrt(v @ c**2) > Z)) for c in CONTRASTS.values()
        ]
    d_mbi = n * f.event_probability
    out["de_data"] = float(np.var(est[:, 2:], axis=0).mean() * d_mbi)
    out["de_planned"] = 1 + (m - 1) * icc
    out["theta"] = f.theta
    return out


def main() -> None:
    print(
        f"# python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, trialplan {tp.__version__}"
    )
    rng = np.random.default_rng(20261125)
    print("# Part 1: null type I error (rTMS, MBI, rTMS:MBI), 100,000 trials per row")
    print("n   m  icc   theta   DE_planned DE_data | model-based 1/d | none | cr1 | md")
    for n, m, icc in [
        (150, 6, 0.02),
        (150, 10, 0.05),
        (150, 6, 0.05),
        (150, 10, 0.02),
        (60, 10, 0.05),
        (150, 10, 0.1),
    ]:
        r = null_rates(n, m, icc, 100_000, rng)
        cols = " | ".join(
            " ".join(f"{x:.4f}" for x in r[k]) for k in ("model", "none", "cr1", "md")
        )
        print(
            f"{n:3d} {m:2d} {icc:.2f} {r['theta']:.4f} {r['de_planned']:.3f}      "
            f"{r['de_data']:.3f}   | {cols}"
        )
    print("# Part 2: analytic vs simulated power (exact engine, 200,000 trials)")
    hazards = {
        ("sham", "control"): 0.060,
        ("active", "control"): 0.042,
        ("sham", "MBI"): 0.045,
        ("active", "MBI"): 0.030,
    }
    main_h = ("rTMS", "MBI", "rTMS:MBI")
    print("icc  m  n   hypothesis analytic simulated mcse gap")
    for icc, m, n in [
        (0.02, 6, 150),
        (0.05, 10, 150),
        (0.05, 6, 150),
        (0.02, 10, 150),
        (0.0, 10, 150),
    ]:
        d = tp.Factorial(
            factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
            outcome=tp.TimeToEvent(hazards=hazards, accrual=A, follow_up=FOLLOW),
            n_per_cell=n,
            clusters=tp.Clustering(factor="MBI", icc=icc, group_size=m),
        )
        a = d.power(main_h)
        s = d.power(main_h, method="simulation", n_sims=200_000, seed=2026)
        for h in main_h:
            print(
                f"{icc:.2f} {m:2d} {n:3d} {h:10s} {a[h]:.4f}   {s[h]:.4f}    "
                f"{s.mcse[h]:.4f} {a[h] - s[h]:+.4f}"
            )


if __name__ == "__main__":
    main()
