"""Calibration of the small-sample correction for group-delivered binary outcomes.

Independent of trialplan's simulator: draws beta-binomial group counts with
numpy and computes three cluster-robust (sandwich) variances of the cell
proportions of a 2x2 (rTMS x MBI), MBI cells in groups of m, each trial's Wald
z for the rTMS and MBI main effects and the interaction, two-sided at 0.05:

* none: the uncorrected sandwich (statsmodels GEE cov_type="robust");
* cr1:  the uncorrected sandwich times g/(g-1) per cell (g clusters in the
        cell; n/(n-1) in the individually treated cells);
* md:   Mancl & DeRouen (2001): each cluster's residual sum divided by
        1 - n_k/n_j, its leverage (statsmodels GEE cov_type="bias_reduced").

Null: all four rates equal.  100,000 trials per row; trials with a 0-or-n
cell (rare here) are left out.  Second part: analytic (trialplan, Wald z with
the design effect) vs simulated (trialplan, exact engine, Mancl-DeRouen,
200,000 trials) power for the designs of tests/test_simulate_clustered_binary.py,
rates .20/.30/.30/.55 (sham/control, active/control, sham/MBI, active/MBI), and
.20/.25/.25/.40 for the many-groups rows; also ICC 0.

Run: python tests/references/clustered_binary_calibration.py > \
     tests/references/clustered_binary_calibration.txt
"""

from __future__ import annotations

import itertools
import math
import platform
import warnings

import numpy as np
import scipy

CONTRASTS = {
    "rTMS": np.array([-0.5, 0.5, -0.5, 0.5]),  # cells: sham/ctl, act/ctl,
    "MBI": np.array([-0.5, -0.5, 0.5, 0.5]),  #        sham/MBI, act/MBI
    "rTMS:MBI": np.array([1.0, -1.0, -1.0, 1.0]),
}
Z = 1.959963984540054


def type_one_error(
    p: float, n: int, m: int, icc: float, scale: str, n_sims: int, rng: np.random.Generator
) -> dict[str, list[float]]:
    g = math.ceil(n / m)
    base, extra = divmod(n, g)
    sizes = np.array([base + 1] * extra + [base] * (g - extra))
    total = 1.0 / icc - 1.0
    x_alone = rng.binomial(n, p, size=(n_sims, 2))
    x_groups = rng.binomial(sizes, rng.beta(p * total, (1 - p) * total, size=(n_sims, 2, g)))
    x = np.concatenate([x_alone, x_groups.sum(axis=2)], axis=1).astype(float)
    rate = x / n
    ok = ((x > 0) & (x < n)).all(axis=1)  # drop the (rare) 0-or-n trials
    if scale == "risk_difference":
        est, slope2 = rate, np.ones_like(rate)
    else:
        with np.errstate(divide="ignore"):
            est, slope2 = np.log(rate / (1 - rate)), 1.0 / (rate * (1 - rate)) ** 2
    dev = x_groups - sizes * rate[:, 2:, None]
    alone = n * rate[:, :2] * (1 - rate[:, :2])  # sum of squared individual residuals
    meats = {
        "none": (alone, (dev**2).sum(axis=2)),
        "cr1": (alone * n / (n - 1), (dev**2).sum(axis=2) * g / (g - 1)),
        "md": (alone / (1 - 1 / n) ** 2, ((dev / (1 - sizes / n)) ** 2).sum(axis=2)),
    }
    out = {}
    for name, (m_alone, m_groups) in meats.items():
        with np.errstate(invalid="ignore"):
            var = np.concatenate([m_alone, m_groups], axis=1) / n**2 * slope2
        out[name] = []
        for c in CONTRASTS.values():
            with np.errstate(invalid="ignore", divide="ignore"):
                z = est @ c / np.sqrt(var @ c**2)
            out[name].append(float(np.mean(np.abs(z[ok]) > Z)))
    return out


def main() -> None:
    import statsmodels

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, statsmodels {statsmodels.__version__}"
    )
    print(
        "\n# Type I error, two-sided 0.05, rates all p; columns rTMS, MBI, rTMS:MBI "
        "(100,000 trials, MCSE 0.0007)"
    )
    rng = np.random.default_rng(20261125)
    grid = itertools.product(
        ("risk_difference", "log_odds"), (0.3,), (100, 200), (6, 10), (0.02, 0.05, 0.1)
    )
    extra = [
        (s, p, n, m, icc)
        for s in ("risk_difference", "log_odds")
        for p, n, m, icc in ((0.15, 100, 10, 0.05), (0.3, 60, 10, 0.05), (0.3, 40, 10, 0.05))
    ]
    for scale, p, n, m, icc in list(grid) + extra:
        res = type_one_error(p, n, m, icc, scale, 100_000, rng)
        print(
            f"{scale:15s} p={p:.2f} n={n:3d} m={m:2d} icc={icc:.2f} "
            + " ".join(f"{k}: " + " ".join(f"{v:.4f}" for v in vals) for k, vals in res.items())
        )

    import trialplan as tp
    from trialplan.outcomes.binary import ScaleDisagreementWarning

    print("\n# Analytic vs simulated power (trialplan exact engine, 200,000 trials)")
    factors = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
    rates = {
        ("sham", "control"): 0.20,
        ("active", "control"): 0.30,
        ("sham", "MBI"): 0.30,
        ("active", "MBI"): 0.55,
    }
    many = {
        ("sham", "control"): 0.20,
        ("active", "control"): 0.25,
        ("sham", "MBI"): 0.25,
        ("active", "MBI"): 0.40,
    }
    rows = [
        ("risk_difference", 0.02, 6, 100, rates),
        ("risk_difference", 0.05, 10, 150, rates),
        ("risk_difference", 0.1, 10, 200, rates),
        ("log_odds", 0.02, 10, 100, rates),
        ("log_odds", 0.05, 6, 150, rates),
        ("log_odds", 0.1, 6, 200, rates),
        ("risk_difference", 0.0, 6, 100, rates),
        ("risk_difference", 0.1, 4, 400, many),
        ("log_odds", 0.1, 4, 400, many),
    ]
    for scale, icc, m, n, cell_rates in rows:
        d = tp.Factorial(
            factors=factors,
            outcome=tp.Binary(rates=cell_rates, scale=scale),
            n_per_cell=n,
            clusters=tp.Clustering(factor="MBI", icc=icc, group_size=m),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScaleDisagreementWarning)
            an = d.power(("rTMS", "MBI", "rTMS:MBI"))
            sim = d.power(("rTMS", "MBI", "rTMS:MBI"), method="simulation", n_sims=200_000, seed=7)
        tag = "many-groups rates" if cell_rates is many else "rates"
        print(
            f"{scale:15s} icc={icc:.2f} m={m:2d} n={n:3d} {tag}: "
            + " ".join(
                f"{h}: {an[h]:.4f}/{sim[h]:.4f} ({(sim[h] - an[h]) / sim.mcse[h]:+.1f} MCSE)"
                for h in ("rTMS", "MBI", "rTMS:MBI")
            )
        )


if __name__ == "__main__":
    main()
