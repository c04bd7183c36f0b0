"""Brute-force check of cell selection in the rTMS x MBI factorial, one trial at a time.

The factorial's cells compete against the reference cell (sham rTMS + no MBI)
as the arms of a multi-arm trial; ``tp.plan(factorial, sequential=gsd,
adaptive=ArmSelection())`` resolves exactly that.  This script reuses the
independent trial-by-trial simulation of ``arm_selection_bruteforce.py``
(numpy and the standard library only; none of trialplan's code) for four
groups instead of three: the cells in the factorial's order (sham+control,
sham+MBI, active+control, active+MBI), a continuous outcome (lower is better),
SD 8, planning means 0, -2, -3, -5, 80 analysed per cell, an interim after
half of them (40 per cell), "best" selection, Dunnett intersection tests,
closed testing, the inverse normal combination with weights sqrt(0.5) and
O'Brien-Fleming-type alpha spending at one-sided 2.5%.

Writes arm_selection_factorial_bruteforce.csv (case, scenario, quantity, arm,
value, mcse, n_sims).  Run from this directory:
python arm_selection_factorial_bruteforce.py  (about a minute).
"""

from __future__ import annotations

import csv
import math

import numpy as np
from arm_selection_bruteforce import bounds, one_trial

N_SIMS = 20_000
SEED = 20261202
CELLS = ("sham+MBI", "active+control", "active+MBI")  # the arms; control sham+control
SCENARIOS = {
    "planned": (0.0, -2.0, -3.0, -5.0),
    "global_null": (0.0, 0.0, 0.0, 0.0),
}


def main() -> None:
    c = bounds()
    print(f"bounds: {c[0]:.6f} {c[1]:.6f}")
    rows = []
    streams = iter(np.random.SeedSequence(SEED).spawn(len(SCENARIOS)))
    for scenario, means in SCENARIOS.items():
        rng = np.random.default_rng(next(streams))
        g = len(means) - 1
        rej, sel = np.zeros(g), np.zeros(g)
        any_ = 0
        ns = []
        for _ in range(N_SIMS):
            out = one_trial(rng, means, "dunnett", "best", c)
            for a in out["rejected"]:
                rej[a] += 1
            for a in out["selected"]:
                sel[a] += 1
            any_ += bool(out["rejected"])
            ns.append(out["n"])

        def add(
            quantity: str, value: float, arm: str = "", mcse: float | None = None, sc=scenario
        ) -> None:
            if mcse is None:
                mcse = math.sqrt(value * (1 - value) / N_SIMS)
            rows.append(["dunnett_best", sc, quantity, arm, f"{value:.6f}", f"{mcse:.6f}", N_SIMS])

        for a in range(g):
            add("reject_arm", rej[a] / N_SIMS, CELLS[a])
            add("selected_stage_2", sel[a] / N_SIMS, CELLS[a])
        add("reject_any", any_ / N_SIMS)
        arr = np.asarray(ns, dtype=float)
        add("expected_n", float(arr.mean()), mcse=float(arr.std(ddof=1) / math.sqrt(N_SIMS)))
        print(scenario, rej / N_SIMS, sel / N_SIMS, any_ / N_SIMS, arr.mean())
    with open("arm_selection_factorial_bruteforce.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["case", "scenario", "quantity", "arm", "value", "mcse", "n_sims"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
