"""Independent checks of trialplan's adaptive formulas (numpy/scipy only; no trialplan).

Run from this directory:  python adaptive_independent.py
It writes adaptive_independent.csv (case, quantity, value, mcse).

1. Conditional power of the inverse normal test by brute force: draw the
   remaining stages' z statistics given the observed ones, apply the
   group-sequential bounds to the CHW combination, count rejections
   (20 million trials; MCSE reported).
2. Exact type I error of the inverse normal combination test: the CHW
   statistics Z*_k = sum_{i<=k} w_i z_i / sqrt(t_k) are multivariate normal with
   Cov(Z*_j, Z*_k) = sqrt(t_j / t_k); P(reject) = 1 - P(Z*_k < b_k for all k) by
   scipy's multivariate normal CDF (Genz), with bounds typed in from rpact 3.3.4.
3. Exact type I error of Fisher's product test with three stages by nested
   adaptive quadrature (scipy.integrate.tplquad over the three p-values), with
   rpact's critical values typed in.
"""

from __future__ import annotations

import csv
import math

import numpy as np
from scipy import integrate, stats

rows: list[dict[str, object]] = []


def add(case: str, quantity: str, value: float, mcse: float = float("nan")) -> None:
    rows.append({"case": case, "quantity": quantity, "value": value, "mcse": mcse})


# 1. Conditional power, 3 stages at t = (1/3, 2/3, 1), O'Brien-Fleming-type spending
#    bounds of rpact 3.3.4 (one-sided 0.025): 3.710303, 2.511427, 1.992970.
bounds = np.array([3.710303, 2.511427, 1.992970])
t = np.array([1 / 3, 2 / 3, 1.0])
w = np.sqrt(np.diff(t, prepend=0.0))
z1 = 1.2
theta = 0.5
info = np.array([30.0, 25.0])  # information of stages 2 and 3
rng = np.random.default_rng(20260101)
n = 20_000_000
rejected = 0
for _ in range(20):
    m = n // 20
    z2 = rng.normal(theta * math.sqrt(info[0]), 1.0, m)
    z3 = rng.normal(theta * math.sqrt(info[1]), 1.0, m)
    s2 = (w[0] * z1 + w[1] * z2) / math.sqrt(t[1])
    s3 = (w[0] * z1 + w[1] * z2 + w[2] * z3) / math.sqrt(t[2])
    rejected += int(np.sum((s2 >= bounds[1]) | (s3 >= bounds[2])))
p = rejected / n
add("cp_brute_force", "conditional_power", p, math.sqrt(p * (1 - p) / n))

# Next stage only: closed form Phi(theta sqrt(I) - c), c = (b2 sqrt(t2) - w1 z1) / w2.
c = (bounds[1] * math.sqrt(t[1]) - w[0] * z1) / w[1]
add("cp_next_stage", "conditional_power", float(stats.norm.cdf(theta * math.sqrt(info[0]) - c)))

# 2. Inverse normal type I error by the MVN CDF.
for case, fractions, b in (
    ("size_inverse_normal_2", (0.5, 1.0), (2.962588, 1.968596)),
    ("size_inverse_normal_3", (1 / 3, 2 / 3, 1.0), (3.710303, 2.511427, 1.992970)),
):
    tt = np.array(fractions)
    cov = np.sqrt(np.minimum.outer(tt, tt) / np.maximum.outer(tt, tt))
    mvn = stats.multivariate_normal(
        mean=np.zeros(tt.size),
        cov=cov,
        maxpts=10_000_000,
        abseps=1e-10,
        releps=1e-10,
        seed=np.random.default_rng(1),
    )
    below = mvn.cdf(np.array(b))
    add(case, "type_i_error", float(1.0 - below))

# 3. Fisher's product test, 3 equal stages (weights 1), rpact's equalAlpha critical values;
#    reject at stage k when p_1 ... p_k <= c_k.  P(no rejection) integrates over
#    p1 > c1, p1 p2 > c2, p1 p2 p3 > c3.
c1, c2, c3 = 0.0123085467187423, 0.00166359229551173, 0.000291066872410515


def no_rejection() -> float:
    def inner(p1: float) -> float:
        def over_p2(p2: float) -> float:
            if p1 * p2 <= c2:
                return 0.0
            return 1.0 - min(1.0, c3 / (p1 * p2))  # P(p3 > c3 / (p1 p2))

        breaks = [min(1.0, c2 / p1), min(1.0, c3 / p1)]
        value, _ = integrate.quad(over_p2, 0.0, 1.0, points=breaks, epsabs=1e-14, limit=200)
        return value

    total, _ = integrate.quad(inner, c1, 1.0, points=[c2, c3, c2 * 10], epsabs=1e-14, limit=400)
    return total


add("size_fisher_3", "type_i_error", 1.0 - no_rejection())

with open("adaptive_independent.csv", "w", newline="") as handle:
    writer = csv.DictWriter(handle, fieldnames=["case", "quantity", "value", "mcse"])
    writer.writeheader()
    writer.writerows(rows)
print(f"wrote {len(rows)} rows")
