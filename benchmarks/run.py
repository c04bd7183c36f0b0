"""Benchmark the simulation engine: 10,000 simulated 2x2 trials, N = 400, interaction power.

In one run on one machine it times

(a) trialplan's default engine (exact sufficient statistics),
(b) trialplan's individual engine (patient-level data, batched least squares),
(c) a loop of statsmodels OLS fits on arrays (one ``sm.OLS(y, X).fit()`` per trial),
(d) mcpower 1.4 (``pip install mcpower``; skipped when absent),

and prints each one's wall time, its speed ratio to the statsmodels loop and to
mcpower, and its agreement with the exact power (noncentral t) in Monte Carlo
standard errors, ``(p_sim - p_exact) / sqrt(p_sim (1 - p_sim) / n_sims)``.

The trial: factors rTMS (sham/active) x MBI (control/MBI), 100 analysed per
cell, outcome SD 8, cell means 0, 0, 0, -4 (an interaction contrast of -4 =
-0.5 SD), two-sided alpha 0.05, OLS with the interaction term.  mcpower's model
``y = a + b + a:b`` with binary a, b and standardized effect a:b = -0.5 is the
same data-generating model except that it allocates each patient at random, so
its cell sizes vary around 100 (its power is a little lower, by about 0.002).

Timings are the best of ``--repeat`` runs (the statsmodels loop runs once: it
is slow, and its spread is small relative to the ratios).

Usage::

    python benchmarks/run.py                 # the full benchmark
    python benchmarks/run.py --n-sims 2000   # quicker (ratios scale linearly)
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Callable

import numpy as np

import trialplan as tp

CELLS = (("sham", "control"), ("sham", "MBI"), ("active", "control"), ("active", "MBI"))
MEANS = (0.0, 0.0, 0.0, -4.0)
SD = 8.0
N_PER_CELL = 100
ALPHA = 0.05


def design() -> tp.Factorial:
    return tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(means=dict(zip(CELLS, MEANS, strict=True)), sd=SD),
        n_per_cell=N_PER_CELL,
        alpha=ALPHA,
    )


def best_time(run: Callable[[], float], repeat: int) -> tuple[float, float]:
    """Best wall time over ``repeat`` runs, and the power of the last run."""
    best, power = math.inf, math.nan
    for _ in range(repeat):
        start = time.perf_counter()
        power = run()
        best = min(best, time.perf_counter() - start)
    return best, power


def statsmodels_loop(n_sims: int, seed: int) -> float:
    """One statsmodels OLS fit per simulated trial; the interaction's two-sided test."""
    import statsmodels.api as sm

    rng = np.random.default_rng(seed)
    a = np.repeat([0.0, 0.0, 1.0, 1.0], N_PER_CELL)
    b = np.repeat([0.0, 1.0, 0.0, 1.0], N_PER_CELL)
    x = np.column_stack([np.ones_like(a), a, b, a * b])
    mu = np.repeat(MEANS, N_PER_CELL)
    rejections = 0
    for _ in range(n_sims):
        y = mu + SD * rng.standard_normal(mu.size)
        fit = sm.OLS(y, x).fit()
        rejections += fit.pvalues[3] < ALPHA
    return rejections / n_sims


def mcpower_run(n_sims: int, seed: int) -> float:
    import mcpower

    model = mcpower.MCPower("y = a + b + a:b")
    model.set_variable_type("a=binary, b=binary")
    model.set_effects(f"a=0.0, b=0.0, a:b={(MEANS[3] - MEANS[2] - MEANS[1] + MEANS[0]) / SD}")
    result = model.find_power(
        4 * N_PER_CELL,
        target_test="a:b",
        n_sims=n_sims,
        seed=seed,
        progress_callback=False,
        verbose=False,
    )
    return float(result["power_uncorrected"][0][0])


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    import scipy
    import statsmodels

    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} logical "
        f"cores, load average {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}; Python "
        f"{platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"statsmodels {statsmodels.__version__}, trialplan {tp.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sims", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n_sims, seed = args.n_sims, args.seed

    d = design()
    exact = d.power("rTMS:MBI")["rTMS:MBI"]
    print(f"machine: {machine()}")
    print(
        f"trial: 2x2, N={d.n_total}, interaction {MEANS[3]:g} (SD {SD:g}); "
        f"{n_sims} simulated trials; exact power (noncentral t) {exact:.4f}\n"
    )

    def trialplan_engine(engine: str) -> Callable[[], float]:
        return lambda: d.power(
            "rTMS:MBI", method="simulation", n_sims=n_sims, seed=seed, engine=engine, progress=False
        )["rTMS:MBI"]

    timings: dict[str, tuple[float, float]] = {}
    d.power("rTMS:MBI", method="simulation", n_sims=10, seed=0)  # warm imports
    timings["trialplan default (exact sufficient statistics)"] = best_time(
        trialplan_engine("exact"), args.repeat
    )
    timings["trialplan individual (batched least squares)"] = best_time(
        trialplan_engine("individual"), args.repeat
    )
    timings["statsmodels OLS loop"] = best_time(lambda: statsmodels_loop(n_sims, seed), 1)
    try:
        import mcpower
    except ImportError:
        print("mcpower is not installed (pip install mcpower): skipped\n")
    else:
        mcpower_run(100, seed)  # warm up
        timings[f"mcpower {mcpower.__version__}"] = best_time(
            lambda: mcpower_run(n_sims, seed), max(1, args.repeat // 2)
        )

    loop = timings["statsmodels OLS loop"][0]
    mc = next((t for name, (t, _) in timings.items() if name.startswith("mcpower")), None)
    header = (
        f"{'engine':50s} {'seconds':>9s} {'vs OLS loop':>12s} {'vs mcpower':>11s} "
        f"{'power':>7s} {'(p-exact)/MCSE':>15s}"
    )
    print(header)
    print("-" * len(header))
    for name, (seconds, power) in timings.items():
        mcse = math.sqrt(power * (1 - power) / n_sims)
        vs_mc = f"{mc / seconds:10.1f}x" if mc else f"{'-':>11s}"
        print(
            f"{name:50s} {seconds:9.4f} {loop / seconds:11.1f}x {vs_mc} {power:7.4f} "
            f"{(power - exact) / mcse:15.2f}"
        )
    default = timings["trialplan default (exact sufficient statistics)"][0]
    individual = timings["trialplan individual (batched least squares)"][0]
    print(
        "\ntargets: default >= 1000x OLS loop: "
        f"{'met' if loop / default >= 1000 else 'NOT met'} ({loop / default:.0f}x); "
        f"individual >= 10x OLS loop: {'met' if loop / individual >= 10 else 'NOT met'} "
        f"({loop / individual:.0f}x)"
        + (
            f"; default >= 20x mcpower: {'met' if mc / default >= 20 else 'NOT met'} "
            f"({mc / default:.0f}x)"
            if mc
            else ""
        )
    )


if __name__ == "__main__":
    main()
