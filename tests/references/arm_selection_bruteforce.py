"""Brute-force check of arm selection at an interim, one simulated trial at a time.

An independent implementation (numpy and the standard library only; none of
trialplan's code) of the design that ``tp.plan(design, sequential=gsd,
adaptive=ArmSelection(...))`` resolves for the timing arms of DESIGN.md:
"rTMS alone" (control), "MBI then rTMS" and "rTMS with concurrent MBI", a
continuous outcome (lower is better), SD 8, planning means -10, -12, -14,
80 analysed per arm, an interim after half of them (40 per arm).

Per trial, written out as a statistician would by hand:

1. Stage 1: 40 outcomes per group; z statistic of each arm against the
   control from the stage's means (SD known).
2. Closed testing: every non-empty set S of arms is an intersection
   hypothesis; its stage-wise p-value is Dunnett's (the maximum z of the arms
   in S, the arms' z correlated through the shared control; the normal
   probability integrated over the shared control by Gauss-Hermite
   quadrature) or Simes'.  H_S is rejected at stage 1 if its z = Phi^-1(1 - p)
   reaches c_1; an arm's hypothesis is rejected when every H_S containing it
   is.  If every arm is rejected the trial stops for efficacy.
3. Selection: the arm(s) with the best cumulative mean difference continue
   with the control ("best": one; "r_best": two).
4. Stage 2: 40 more outcomes per group still in; each H_S not yet rejected
   is tested with the inverse normal combination of its stage-wise p-values,
   weights sqrt(0.5) and sqrt(0.5), stage-2 p-value from the arms of S still
   in (none in: H_S is not rejected at stage 2), against c_2.
5. Bounds c_1, c_2: Lan-DeMets O'Brien-Fleming alpha spending at one-sided
   alpha 0.025 and information 0.5, 1, computed here from the spending
   function by numerical integration and bisection.

Writes arm_selection_bruteforce.csv: case, scenario, quantity, arm, value,
mcse, n_sims.  Run from this directory:  python arm_selection_bruteforce.py
(about a minute).
"""

from __future__ import annotations

import csv
import itertools
import math

import numpy as np

N_SIMS = 20_000
SEED = 20261201
SD = 8.0
N_STAGE = 40  # per group and stage
ARMS = ("MBI then rTMS", "rTMS with concurrent MBI")
SCENARIOS = {
    "planned": (-10.0, -12.0, -14.0),
    "global_null": (-10.0, -10.0, -10.0),
    "partial_null": (-10.0, -10.0, -14.0),
}
CASES = {
    "dunnett_best": ("dunnett", "best"),
    "simes_best": ("simes", "best"),
}

SQRT2 = math.sqrt(2.0)
_erf = np.frompyfunc(math.erf, 1, 1)


def phi_cdf(x: np.ndarray | float) -> np.ndarray:
    return 0.5 * (1.0 + np.asarray(_erf(np.asarray(x, dtype=float) / SQRT2), dtype=float))


def phi_inv(p: float) -> float:
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if phi_cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def bounds(alpha: float = 0.025, t1: float = 0.5) -> tuple[float, float]:
    """O'Brien-Fleming-type spending: alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t))."""
    za = phi_inv(1.0 - alpha / 2.0)
    alpha1 = 2.0 - 2.0 * float(phi_cdf(za / math.sqrt(t1)))
    c1 = phi_inv(1.0 - alpha1)
    x = np.linspace(-12.0, c1, 200_001)
    dens = np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)

    def crossing(c2: float) -> float:  # P(Z1 < c1, Z2 >= c2), Z2 = sqrt(t1) Z1 + sqrt(1-t1) E
        tail = 1.0 - phi_cdf((c2 - math.sqrt(t1) * x) / math.sqrt(1.0 - t1))
        f = dens * tail
        return float(np.sum((f[1:] + f[:-1]) * np.diff(x)) / 2.0)

    lo, hi = 0.0, 10.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if crossing(mid) > alpha - alpha1:
            lo = mid
        else:
            hi = mid
    return c1, 0.5 * (lo + hi)


GH_X, GH_W = np.polynomial.hermite_e.hermegauss(64)
GH_W = GH_W / math.sqrt(2.0 * math.pi)


def dunnett_p(zs: list[float], loads: list[float]) -> float:
    """1 - P(max Z_j <= max(zs)), Z_j = l_j U + sqrt(1 - l_j^2) E_j."""
    m = max(zs)
    prod = np.ones_like(GH_X)
    for load in loads:
        prod = prod * phi_cdf((m - load * GH_X) / math.sqrt(1.0 - load**2))
    return float(min(max(1.0 - float(np.dot(GH_W, prod)), 0.0), 1.0))


def simes_p(ps: list[float]) -> float:
    ordered = sorted(ps)
    k = len(ordered)
    return min(min(k * p / (i + 1) for i, p in enumerate(ordered)), 1.0)


def stage_p(test: str, arms: list[int], z: dict[int, float]) -> float | None:
    if not arms:
        return None
    if test == "dunnett":
        load = math.sqrt(0.5)  # equal groups: corr 1/2 through the shared control
        return dunnett_p([z[a] for a in arms], [load] * len(arms))
    return simes_p([1.0 - float(phi_cdf(z[a])) for a in arms])


def one_trial(
    rng: np.random.Generator, means: tuple[float, ...], test: str, rule: str, c: tuple
) -> dict:
    g = len(means) - 1
    subsets = [s for k in range(1, g + 1) for s in itertools.combinations(range(g), k)]
    # stage 1
    y1 = [rng.normal(mu, SD, N_STAGE).mean() for mu in means]
    se = SD * math.sqrt(2.0 / N_STAGE)
    z1 = {a: -(y1[a + 1] - y1[0]) / se for a in range(g)}  # lower is better
    p1 = {s: stage_p(test, list(s), z1) for s in subsets}
    rejected_sets = {s for s in subsets if phi_inv(1.0 - p1[s]) >= c[0]}
    rejected = {a for a in range(g) if all(s in rejected_sets for s in subsets if a in s)}
    n = N_STAGE * (g + 1)
    if len(rejected) == g:
        return {"rejected": rejected, "selected": set(), "n": n, "stage": 1}
    # selection on the cumulative (= stage-1) mean differences
    diff = {a: -(y1[a + 1] - y1[0]) for a in range(g)}
    order = sorted(range(g), key=lambda a: -diff[a])
    keep = set(order[:1] if rule == "best" else order[:2])
    # stage 2: control and the kept arms
    y2 = {0: rng.normal(means[0], SD, N_STAGE).mean()}
    for a in sorted(keep):
        y2[a + 1] = rng.normal(means[a + 1], SD, N_STAGE).mean()
    z2 = {a: -(y2[a + 1] - y2[0]) / se for a in keep}
    n += N_STAGE * (1 + len(keep))
    w = math.sqrt(0.5)
    for s in subsets:
        if s in rejected_sets:
            continue
        p2 = stage_p(test, [a for a in s if a in keep], z2)
        if p2 is None:
            continue
        zc = w * phi_inv(1.0 - p1[s]) + w * phi_inv(1.0 - p2)
        if zc >= c[1]:
            rejected_sets.add(s)
    rejected = {a for a in range(g) if all(s in rejected_sets for s in subsets if a in s)}
    return {"rejected": rejected, "selected": keep, "n": n, "stage": 2}


def main() -> None:
    c = bounds()
    print(f"bounds: {c[0]:.6f} {c[1]:.6f}")
    rows = []
    root = np.random.SeedSequence(SEED)
    streams = iter(root.spawn(len(CASES) * len(SCENARIOS)))
    for case, (test, rule) in CASES.items():
        for scenario, means in SCENARIOS.items():
            rng = np.random.default_rng(next(streams))
            g = len(means) - 1
            rej = np.zeros(g)
            sel = np.zeros(g)
            any_ = false_any = 0
            ns = []
            null_arms = [a for a in range(g) if means[a + 1] == means[0]]
            for _ in range(N_SIMS):
                out = one_trial(rng, means, test, rule, c)
                for a in out["rejected"]:
                    rej[a] += 1
                for a in out["selected"]:
                    sel[a] += 1
                any_ += bool(out["rejected"])
                false_any += any(a in out["rejected"] for a in null_arms)
                ns.append(out["n"])

            def add(
                quantity: str,
                value: float,
                arm: str = "",
                mcse: float | None = None,
                case: str = case,
                scenario: str = scenario,
            ) -> None:
                if mcse is None:
                    mcse = math.sqrt(value * (1 - value) / N_SIMS)
                rows.append([case, scenario, quantity, arm, f"{value:.6f}", f"{mcse:.6f}", N_SIMS])

            for a in range(g):
                add("reject_arm", rej[a] / N_SIMS, ARMS[a])
                add("selected_stage_2", sel[a] / N_SIMS, ARMS[a])
            add("reject_any", any_ / N_SIMS)
            if null_arms:
                add("fwer", false_any / N_SIMS)
            arr = np.asarray(ns, dtype=float)
            add("expected_n", float(arr.mean()), mcse=float(arr.std(ddof=1) / math.sqrt(N_SIMS)))
            print(case, scenario, rej / N_SIMS, sel / N_SIMS, any_ / N_SIMS, arr.mean())
    with open("arm_selection_bruteforce.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["case", "scenario", "quantity", "arm", "value", "mcse", "n_sims"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
