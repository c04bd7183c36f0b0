"""Brute-force check of Fisher's final confidence interval and median-unbiased estimate.

Run from this directory:  python fisher_final_ci_bruteforce.py
It writes fisher_final_ci_bruteforce.csv (case, quantity, theta, target, fraction,
mcse, n_sims).

For each case (a Fisher combination design and the stage-wise estimates of a
trial that stopped), trialplan supplies only the numbers under test -- the
final confidence limits, the median-unbiased estimate and the final p-value
(``tp.adaptive.final_analysis``) -- and the design's critical values and
weights (checked against rpact 3.3.4 in test_adaptive_rpact.py).  Everything
else is simulated here with numpy (normal CDF from scipy.special):

* under an effect ``theta`` the stage-wise z statistics are independent
  ``N(theta / se_i, 1)``, the p-values ``p_i = Phi(-z_i)``;
* a simulated trial stops for efficacy at the first stage with
  ``sum_{i<=k} v_i log p_i <= log c_k`` and, when the design's futility is
  binding, for futility at the first interim with ``p_k >= alpha0_k``;
* stage-wise ordering: the simulated outcome is at least as extreme as the
  observed one (stopped at stage s) when it stopped for efficacy at a stage
  before s, or reached stage s with ``sum_{i<=s} v_i log p_i`` at most the
  observed value.

The fraction of such trials must be ``alpha`` at the lower limit, ``1 - alpha``
at the upper one, 1/2 at the median-unbiased estimate and the final p-value at
``theta = 0``; the test (tests/test_adaptive_fisher_final.py) allows 4 Monte
Carlo standard errors and checks that trialplan still gives these limits.
10,000,000 trials per row, one SeedSequence child per row and block.
"""

from __future__ import annotations

import csv
import math

import numpy as np
from scipy import special

import trialplan as tp
from trialplan.adaptive import FisherCombination, final_analysis

N_SIMS = 10_000_000
BLOCK = 1_000_000

CASES = {
    # 2 stages, equal local levels, stopped for efficacy at stage 2 after a size increase
    "two_stage_efficacy": (
        FisherCombination(info_fractions=(0.5, 1.0), alpha=0.025),
        [0.35, 0.45],
        [0.2, 0.14],
    ),
    # 2 stages, binding futility alpha0 = 0.5, unequal weights, not rejected at the end
    "two_stage_binding_end": (
        FisherCombination(info_fractions=(0.3, 1.0), alpha=0.025, alpha0=0.5, binding=True),
        [0.2, 0.1],
        [0.3, 0.15],
    ),
    # 3 stages, equal local levels, not rejected at the end
    "three_stage_end": (
        FisherCombination(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025),
        [0.3, 0.1, 0.4],
        [0.2, 0.2, 0.2],
    ),
    # 3 stages, binding futility 0.5, rejected at stage 3
    "three_stage_binding_efficacy": (
        FisherCombination(info_fractions=(0.3, 0.6, 1.0), alpha=0.025, alpha0=0.5, binding=True),
        [0.1, 0.2, 0.5],
        [0.2, 0.2, 0.2],
    ),
    # 3 stages, O'Brien-Fleming-type spending, binding futility 0.4, rejected at stage 2
    "three_stage_obf_stage2": (
        FisherCombination(
            info_fractions=(0.3, 0.6, 1.0),
            alpha=0.025,
            alpha0=0.4,
            binding=True,
            method=tp.spending.obrien_fleming(),
        ),
        [0.4, 0.7],
        [0.25, 0.2],
    ),
    # docs/adaptive.md: the rTMS x MBI interaction (lower is better there; oriented here),
    # 90 then 100 per cell, sd 8, planned information fractions 0.6 and 1
    "docs_rtms_mbi": (
        FisherCombination(info_fractions=(0.6, 1.0), alpha=0.025),
        [2.2, 3.4],
        [8.0 * (4 / 90) ** 0.5, 8.0 * (4 / 100) ** 0.5],
    ),
    # 3 stages, binding futility 0.5: futility stop at stage 2
    "three_stage_binding_futility": (
        FisherCombination(info_fractions=(0.3, 0.6, 1.0), alpha=0.025, alpha0=0.5, binding=True),
        [0.1, -0.1],
        [0.2, 0.2],
    ),
}


def more_extreme_fraction(
    design: FisherCombination,
    se: np.ndarray,
    stage: int,
    observed_log: float,
    theta: float,
    seed: np.random.SeedSequence,
) -> tuple[float, float]:
    """Fraction of simulated trials at least as extreme as the observed one, and its MCSE."""
    v = design.weights[:stage]
    log_c = np.log(design.critical_values[:stage])
    alpha0 = np.array(design.alpha0) if design.binding else np.ones(design.n_looks - 1)
    delta = theta / se[:stage]
    count = 0
    for child in seed.spawn(N_SIMS // BLOCK):
        rng = np.random.default_rng(child)
        z = rng.standard_normal((BLOCK, stage)) + delta
        log_p = special.log_ndtr(-z)
        cum = np.cumsum(v * log_p, axis=1)
        alive = np.ones(BLOCK, dtype=bool)
        extreme = np.zeros(BLOCK, dtype=bool)
        for k in range(stage - 1):
            win = alive & (cum[:, k] <= log_c[k])
            extreme |= win
            alive &= ~win
            alive &= log_p[:, k] < math.log(alpha0[k])  # binding futility stop
        extreme |= alive & (cum[:, stage - 1] <= observed_log)
        count += int(extreme.sum())
    frac = count / N_SIMS
    return frac, math.sqrt(frac * (1.0 - frac) / N_SIMS)


def main() -> None:
    rows = []
    root = np.random.SeedSequence(20261201)
    children = iter(root.spawn(4 * len(CASES)))
    for case, (design, estimates, ses) in CASES.items():
        res = final_analysis(design, estimates=estimates, standard_errors=ses)
        stage = res.stage
        observed_log = float(np.log(res.combination[stage - 1]))
        se = np.asarray(ses, dtype=float)
        alpha = design.alpha
        for quantity, theta, target in (
            ("final_ci_lower", res.final_ci[0], alpha),
            ("final_ci_upper", res.final_ci[1], 1.0 - alpha),
            ("median_unbiased", res.median_unbiased, 0.5),
            ("final_p_value_at_0", 0.0, res.final_p_value),
        ):
            frac, mcse = more_extreme_fraction(
                design, se, stage, observed_log, theta, next(children)
            )
            rows.append(
                {
                    "case": case,
                    "quantity": quantity,
                    "theta": repr(float(theta)),
                    "target": repr(float(target)),
                    "fraction": repr(frac),
                    "mcse": repr(mcse),
                    "n_sims": N_SIMS,
                }
            )
            print(case, quantity, theta, target, frac, mcse, (frac - target) / mcse)
    with open("fisher_final_ci_bruteforce.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
