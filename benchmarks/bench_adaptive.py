"""Time the adaptive-design engines (targets: the pinned call with 100,000 trials < 2 s).

Run:  python benchmarks/bench_adaptive.py
Prints the median wall time of each case (3 repeats); not a test.
"""

from __future__ import annotations

import statistics
import time

import trialplan as tp
from trialplan.adaptive import MAMS, ArmSelection, FisherCombination

DESIGN = tp.Factorial(
    factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    outcome=tp.Continuous(
        means={
            ("sham", "control"): 0.0,
            ("active", "control"): -3.0,
            ("sham", "MBI"): -2.0,
            ("active", "MBI"): -8.0,
        },
        sd=8.0,
    ),
    n_per_cell=150,
)
GSD = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
SSR = tp.SampleSizeReestimation(conditional_power=0.9, min_factor=1.0, max_factor=2.0)
SURVIVAL = tp.Parallel(
    arms=("control", "treatment"),
    n_per_arm=300,
    outcome=tp.TimeToEvent(
        hazards={"control": 0.1, "treatment": 0.08}, accrual=12.0, follow_up=12.0
    ),
)
ARMS = tp.Parallel(
    arms=("control", "A", "B", "C"),
    n_per_arm=40,
    outcome=tp.Continuous(
        means={"control": 0, "A": 0.2, "B": 0.4, "C": 0.6}, sd=1.0, better="higher"
    ),
)


def median_s(run, repeats: int = 3) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


CASES = {
    "pinned call, rTMS:MBI, 100,000 trials (+ 100,000 under H0)": (
        lambda: DESIGN.power(
            sequential=GSD, adaptive=SSR, method="simulation", n_sims=100_000, seed=1
        ),
        2.0,
    ),
    "time to event, 600 patients, 10,000 trials (+ H0)": (
        lambda: SURVIVAL.power(
            sequential=GSD, adaptive=SSR, method="simulation", n_sims=10_000, seed=1
        ),
        10.0,
    ),
    "arm selection, 3 arms, Dunnett closed testing, 20,000 trials (+ H0)": (
        lambda: ARMS.power(
            sequential=GSD, adaptive=ArmSelection(), method="simulation", n_sims=20_000, seed=1
        ),
        5.0,
    ),
    "Fisher combination design, 3 stages (critical values)": (
        lambda: FisherCombination(info_fractions=(1 / 3, 2 / 3, 1.0)),
        0.5,
    ),
    "MAMS bounds, 3 arms x 3 stages": (lambda: MAMS(arms=3, arm_ratios=(1, 2, 3)), 2.0),
}

if __name__ == "__main__":
    print(f"{'case':70s} {'median s':>9s}")
    for label, (run, target) in CASES.items():
        seconds = median_s(run)
        flag = "" if seconds < target else f"  (above the {target:g} s target)"
        print(f"{label:70s} {seconds:9.2f}{flag}")
