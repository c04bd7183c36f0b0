"""Adaptive designs through the one resolved plan (issue 17 item 5).

Expected values are hand arithmetic from the stated sizes and rules (cited in
each test), published bounds (rpact), or independent simulation with its
Monte Carlo standard error; never the plan's own output pasted in.
"""

from __future__ import annotations

import math

import trialplan as tp

FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
MEANS = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}
GSD = tp.GroupSequential(
    info_fractions=(0.6, 1.0), alpha=0.025, sided=1, efficacy=tp.spending.obrien_fleming()
)


def factorial(n=50, **changes):
    design = tp.Factorial(
        factors=FACTORS,
        outcome=tp.Continuous(means=MEANS, sd=8.0),
        n_per_cell=n,
        alpha=0.025,
        sided=1,
    )
    return design.replace(**changes) if changes else design


# ------------------------------------------------------------ engine rounding
def test_planned_stages_add_up_to_the_planned_sizes():
    # 337 and 254 per cell at t = 0.6: 0.6 x 337 = 202.2 -> 203 at the interim, so the
    # planned second stage is 337 - 203 = 134 (rounding each stage on its own gave 135,
    # a planned total of 338 per cell that the randomization list did not hold).
    n = {
        ("sham", "control"): 337,
        ("active", "control"): 337,
        ("sham", "MBI"): 254,
        ("active", "MBI"): 254,
    }
    design = factorial(n)
    rule = tp.SampleSizeReestimation(conditional_power=0.9, min_factor=1.0, max_factor=2.0)
    res = design.power(sequential=GSD, adaptive=rule, method="simulation", n_sims=4000, seed=3)
    assert res.planned_n == 2 * 337 + 2 * 254
    # the largest trial: cumulative fraction 0.6 + 2 x 0.4 = 1.4 of each cell, rounded up
    assert res.max_n == 2 * math.ceil(1.4 * 337) + 2 * math.ceil(1.4 * 254)
    interim = 2 * math.ceil(0.6 * 337) + 2 * math.ceil(0.6 * 254)
    values = res.n_distribution["n"].to_numpy()
    assert values.min() == interim  # trials stopped at the interim
    continued = values[values > interim]
    assert continued.min() == res.planned_n  # min_factor = 1: never below the plan
    assert continued.max() <= res.max_n
