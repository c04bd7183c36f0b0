"""Independent simulation of an adaptive plan's operating characteristics (numpy/scipy only).

Run from this directory:  python plan_adaptive_independent.py
It writes plan_adaptive_independent.csv (case, quantity, value, mcse).

The trial (tests/test_plan_adaptive.py builds the same plan with trialplan):
2x2 factorial rTMS x MBI, cells sham+control, sham+MBI, active+control,
active+MBI with planning means -5.8, -9.7, -10.1, -17.0, SD 8, no baseline
covariate, analysed 269, 203, 269, 203 per cell (203 needed, 290 randomized,
dropout 7% / 30%: floor(290 x 0.93) = 269, floor(290 x 0.70) = 203).  The
interaction contrast (+1, -1, -1, +1) has planning value -3; lower is better,
so the test is one-sided in the negative direction at 2.5%.

One interim at information fraction 0.6; bounds typed in from rpact 3.3.4
(plan_adaptive_bounds.R): efficacy 2.6686301429, 1.9809650257, non-binding
futility 0.9637298517 (applied, as a trial that follows it would).

Each stage is analysed on its own participants: cell means ~ N(mu, 64 / n),
pooled within-cell sum of squares ~ 64 chi2(N_stage - 4), the contrast's t
statistic with N_stage - 4 df turned into z through its p-value.  The second
stage's size follows the written rule: the stage fraction f2 (of the planned
total) giving 90% conditional power at the drift observed at the interim,
delta = t1 / sqrt(f1) (f1 = 568 / 944 the interim's share of the planned
total), f2 = ((c + z_0.9) / delta)^2 with the conditional critical value
c = (b2 - w1 z1) / w2, w1 = sqrt(0.6), w2 = sqrt(0.4); delta <= 0 takes the
maximum; f2 clamped to [1, 2] x 0.4.  Cumulative sizes are rounded up per cell:
n2_j = ceil((0.6 + f2) A_j) - ceil(0.6 A_j).  The final test rejects when
w1 z1 + w2 z2 >= b2 (the CHW inverse normal combination).

Under the null the cell means are moved to the closest means with a zero
interaction (the contrast's component removed), as for the type I error.
"""

from __future__ import annotations

import csv
import math

import numpy as np
from scipy import special, stats

MEANS = np.array([-5.8, -9.7, -10.1, -17.0])
CONTRAST = np.array([1.0, -1.0, -1.0, 1.0])
ANALYSED = np.array([269, 203, 269, 203])
SD = 8.0
T1 = 0.6
B1, B2 = 2.6686301429, 1.9809650257
FUTILITY = 0.9637298517
CP = 0.9
MIN_FACTOR, MAX_FACTOR = 1.0, 2.0
N_SIMS = 400_000
BLOCK = 50_000


def t_to_z(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """z with the same one-sided p-value as t on df degrees of freedom."""
    return -special.ndtri(stats.t.sf(t, df))


def stage(rng: np.random.Generator, mu: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Favourable (lower-is-better) t statistic of the contrast from one stage's data."""
    trials = n.shape[0]
    means = mu + SD / np.sqrt(n) * rng.standard_normal((trials, 4))
    df = n.sum(axis=1) - 4
    s2 = SD**2 * rng.chisquare(df) / df
    est = means @ CONTRAST
    se = np.sqrt(s2 * ((CONTRAST**2) / n).sum(axis=1))
    return -est / se, df


def simulate(mu: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n1 = np.ceil(T1 * ANALYSED - 1e-9)
    planned_total = ANALYSED.sum()
    f1 = n1.sum() / planned_total
    w1, w2 = math.sqrt(T1), math.sqrt(1 - T1)
    z_cp = special.ndtri(CP)
    out = {k: [] for k in ("reject", "efficacy1", "futility1", "n_final")}
    for _ in range(N_SIMS // BLOCK):
        t1, df1 = stage(rng, mu, np.tile(n1, (BLOCK, 1)))
        z1 = t_to_z(t1, df1)
        efficacy1 = z1 >= B1
        futility1 = (~efficacy1) & (z1 < FUTILITY)
        go = ~(efficacy1 | futility1)
        drift = t1 / math.sqrt(f1)
        c = (B2 - w1 * z1) / w2
        need = np.maximum(c + z_cp, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            f2 = np.where(drift > 0, (need / np.where(drift > 0, drift, 1.0)) ** 2, np.inf)
        f2 = np.clip(f2, MIN_FACTOR * (1 - T1), MAX_FACTOR * (1 - T1))
        n2 = np.ceil((T1 + f2)[:, None] * ANALYSED - 1e-9) - n1
        t2, df2 = stage(rng, mu, n2)
        z2 = t_to_z(t2, df2)
        reject = efficacy1 | (go & (w1 * z1 + w2 * z2 >= B2))
        n_final = np.where(go, n1.sum() + n2.sum(axis=1), n1.sum())
        for key, value in (
            ("reject", reject),
            ("efficacy1", efficacy1),
            ("futility1", futility1),
            ("n_final", n_final),
        ):
            out[key].append(value)
    return {k: np.concatenate(v) for k, v in out.items()}


def main() -> None:
    rows = []

    def add(case: str, quantity: str, values: np.ndarray) -> None:
        values = values.astype(float)
        rows.append(
            {
                "case": case,
                "quantity": quantity,
                "value": float(values.mean()),
                "mcse": float(values.std(ddof=1) / math.sqrt(values.size)),
            }
        )

    null = MEANS - CONTRAST * (CONTRAST @ MEANS) / (CONTRAST @ CONTRAST)
    for case, mu, seed in (("planning", MEANS, 20260601), ("null", null, 20260602)):
        res = simulate(mu, seed)
        add(case, "reject", res["reject"])
        add(case, "stop_efficacy_interim", res["efficacy1"])
        add(case, "stop_futility_interim", res["futility1"])
        add(case, "expected_n", res["n_final"])
        add(case, "enlarged", res["n_final"] > ANALYSED.sum())
    with open("plan_adaptive_independent.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["case", "quantity", "value", "mcse"])
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        print(row)
    print(f"numpy {np.__version__}, scipy {__import__('scipy').__version__}")


if __name__ == "__main__":
    main()
