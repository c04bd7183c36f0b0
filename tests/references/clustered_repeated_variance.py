"""Variance of a group-delivered cell's MMRM estimate: exact algebra and brute force.

Independent of trialplan (numpy and scipy only).  The data model of a cell
delivered in therapy groups (trialplan.simulate.clustered_repeated): n
patients in g = n / m groups of m; group k has an intercept b_k ~ N(0, tau^2),
tau^2 = icc * V[J, J], added to every visit of its members; a member's own
visit vector has covariance V - tau^2 11' (so a patient's covariance is V);
each patient's dropout pattern is drawn independently of everything else:
exactly k visits observed with probability r_k - r_{k+1} (r_0 = 1,
r_{J+1} = 0; pattern 0 = no visit).  The analysis is the GLS fit of the
cell's visit means (``last``: the last-visit mean, X = I_J) or of a line in
time (``slope``: X = [1, t]) with the covariance V known, ignoring the groups:
beta_hat = I_n^{-1} sum_i X_i' V_i^{-1} y_i, I_n = sum_i X_i' V_i^{-1} X_i.

1. Exact expected variance (enumeration).  Given the patterns,
   Var(beta_hat) = I_n^{-1} + tau^2 sum over ordered pairs i != j in the same
   group of a_i a_j', a_i = I_n^{-1} u_i, u_i = X_i' V_i^{-1} 1 (a shift of
   all of a patient's visits).  I_n and the a's depend only on the counts c
   of each pattern; given c, patients' patterns are a uniformly random
   arrangement, so every ordered pair of distinct patients has
   E[a_i a_j | c] = ((sum_i a_i)^2 - sum_k c_k alpha_k^2) / (n (n - 1))
   (alpha_k the coefficient of pattern k), and the n (m - 1) ordered pairs
   within groups give
   E[Var | c] = (I_n^{-1})_pp + tau^2 (m - 1) (S^2 - sum_k c_k alpha_k^2) / (n - 1),
   where S = sum_i a_i is 1 for the last-visit mean and 0 for the slope (the
   GLS fit reproduces a common shift exactly).  The script sums this over
   every count vector c ~ Multinomial(n, pattern probabilities), leaving out
   the count vectors where the parameter is not estimable (I_n singular; their
   probability is the ``left_out`` column, at most 3e-10 here).
2. Brute force: simulate the patients' visits and patterns, fit the GLS,
   and take the variance of the estimate over the trials, with its Monte Carlo
   standard error sqrt((m4 - s^4) / R) (m4 the fourth central moment).

Columns: the two exact components (``exact_model``: E[(I_n^{-1})_pp];
``exact_group``: the group-intercept part) and their sum ``exact``; the
first-order values at the expected information I = sum_k w_k X_k' V_k^{-1} X_k
(``first_order``: (I^{-1})_pp / n + tau^2 (m - 1) S^2 / n); ``simulated`` with
``mcse`` over ``n_sims`` trials.

Run:  python tests/references/clustered_repeated_variance.py
      -> tests/references/clustered_repeated_variance.csv
"""

import csv
import math
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import scipy
from scipy import special

CASES = [
    # id, n, m, icc, times, sd, correlation ("cs"/"ar1"), rho, retention
    ("cs-n80-m8-icc.05", 80, 8, 0.05, (0.0, 1.0, 2.0), 6.0, "cs", 0.5, (1.0, 0.9, 0.8)),
    ("cs-n24-m4-icc.3", 24, 4, 0.3, (0.0, 1.0, 2.0), 6.0, "cs", 0.3, (0.95, 0.8, 0.6)),
    ("ar1-n60-m10-icc.1", 60, 10, 0.1, (0.0, 1.0, 2.0, 3.0), 5.0, "ar1", 0.6, (1.0, 0.9, 0.8, 0.7)),
    ("cs-n64-m8-icc.05-complete", 64, 8, 0.05, (0.0, 1.0, 2.0), 6.0, "cs", 0.5, (1.0, 1.0, 1.0)),
]
N_SIMS = 400_000
CHUNK = 5_000
SEED = 20261202


def covariance(times, sd, correlation, rho):
    t = np.asarray(times, dtype=float)
    if correlation == "cs":
        corr = (1.0 - rho) * np.eye(t.size) + rho
    else:
        corr = rho ** np.abs(t[:, None] - t[None, :])
    return sd**2 * corr


def design(times, contrast):
    t = np.asarray(times, dtype=float)
    return np.column_stack([np.ones_like(t), t]) if contrast == "slope" else np.eye(t.size)


def pattern_algebra(v, x):
    """Per pattern k = 0..J: X_k' V_k^{-1} padded to J columns, X_k' V_k^{-1} X_k, u_k."""
    visits, p = x.shape
    weights = np.zeros((visits + 1, p, visits))
    for k in range(1, visits + 1):
        weights[k, :, :k] = x[:k].T @ np.linalg.inv(v[:k, :k])
    info = weights @ x  # (J + 1, p, p)
    shift = weights.sum(axis=2)  # X_k' V_k^{-1} 1_k, (J + 1, p)
    return weights, info, shift


def compositions(n, parts):
    """All vectors of `parts` non-negative integers summing to n (stars and bars)."""
    rows = []
    for bars in combinations(range(n + parts - 1), parts - 1):
        edges = (-1,) + bars + (n + parts - 1,)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(parts)])
    return np.array(rows, dtype=float)


def exact_variance(n, m, tau2, probs, info, shift, target):
    """E over pattern counts of (I_n^{-1})_pp and of the group-intercept part."""
    counts = compositions(n, probs.size)
    log_pmf = (
        special.gammaln(n + 1.0)
        - special.gammaln(counts + 1.0).sum(axis=1)
        + (counts * np.log(np.where(probs > 0, probs, 1.0))).sum(axis=1)
    )
    log_pmf[np.any((probs == 0) & (counts > 0), axis=1)] = -np.inf
    pmf = np.exp(log_pmf)
    big = np.einsum("ck,kpq->cpq", counts, info)
    ok = np.linalg.cond(big) < 1e12
    inv = np.linalg.inv(np.where(ok[:, None, None], big, np.eye(big.shape[1])))
    model = inv[:, target, target]
    alpha = np.einsum("cq,kq->ck", inv[:, target, :], shift)  # coefficient of each pattern
    total = (counts * alpha).sum(axis=1)  # S, 1 or 0 up to rounding
    group = tau2 * (m - 1) * (total**2 - (counts * alpha**2).sum(axis=1)) / (n - 1)
    mass = pmf[ok].sum()
    return (
        float((pmf[ok] * model[ok]).sum() / mass),
        float((pmf[ok] * group[ok]).sum() / mass),
        float(pmf[~ok].sum()),
        float(np.abs(total[ok] - np.round(total[ok])).max()),
    )


def simulate(n, m, tau2, v, probs, weights, info, target, rng, n_sims=N_SIMS):
    visits = v.shape[0]
    own = np.linalg.cholesky(v - tau2 * np.ones_like(v))
    groups = n // m
    values = []
    done = 0
    while done < n_sims:
        size = min(CHUNK, n_sims - done)
        e = rng.standard_normal((size, n, visits)) @ own.T
        b = math.sqrt(tau2) * rng.standard_normal((size, groups))
        y = e + np.repeat(b, m, axis=1)[:, :, None]
        pattern = rng.choice(probs.size, size=(size, n), p=probs)
        score = np.einsum("snpj,snj->sp", weights[pattern], y)
        big = np.einsum("snpq->spq", info[pattern])
        ok = np.linalg.cond(big) < 1e12
        beta = np.linalg.solve(big[ok], score[ok][:, :, None])[:, :, 0]
        values.append(beta[:, target])
        done += size
    est = np.concatenate(values)
    centred = est - est.mean()
    s2 = float(np.mean(centred**2)) * est.size / (est.size - 1)
    m4 = float(np.mean(centred**4))
    return s2, math.sqrt(max(m4 - s2**2, 0.0) / est.size), int(est.size)


def main() -> None:
    rng = np.random.default_rng(SEED)
    rows = []
    for case, n, m, icc, times, sd, corr, rho, retention in CASES:
        v = covariance(times, sd, corr, rho)
        tau2 = icc * v[-1, -1]
        kept = np.concatenate([[1.0], retention, [0.0]])
        probs = kept[:-1] - kept[1:]  # P(exactly k visits), k = 0..J
        for contrast in ("last", "slope"):
            x = design(times, contrast)
            target = x.shape[1] - 1
            weights, info, shift = pattern_algebra(v, x)
            model, group, left_out, rounding = exact_variance(
                n, m, tau2, probs, info, shift, target
            )
            expected_info = np.einsum("k,kpq->pq", probs, info)
            inv = np.linalg.inv(expected_info)
            s_total = 1.0 if contrast == "last" else 0.0
            first = inv[target, target] / n + tau2 * (m - 1) * s_total**2 / n
            sim, mcse, n_sims = simulate(n, m, tau2, v, probs, weights, info, target, rng)
            print(
                f"{case} {contrast}: exact {model + group:.6g} (model {model:.6g}, group "
                f"{group:.4g}), first order {first:.6g}, simulated {sim:.6g} +- {mcse:.2g}; "
                f"left out {left_out:.2g}, |S - round(S)| <= {rounding:.1e}",
                file=sys.stderr,
            )
            rows.append(
                {
                    "id": case,
                    "contrast": contrast,
                    "n": n,
                    "m": m,
                    "icc": icc,
                    "times": " ".join(f"{t:g}" for t in times),
                    "sd": sd,
                    "correlation": corr,
                    "rho": rho,
                    "retention": " ".join(f"{r:g}" for r in retention),
                    "exact_model": f"{model:.10g}",
                    "exact_group": f"{group:.10g}",
                    "exact": f"{model + group:.10g}",
                    "first_order": f"{first:.10g}",
                    "simulated": f"{sim:.8g}",
                    "mcse": f"{mcse:.4g}",
                    "n_sims": n_sims,
                    "left_out": f"{left_out:.3g}",
                }
            )
    out = Path(__file__).with_suffix(".csv")
    with out.open("w", newline="") as handle:
        handle.write(
            f"# clustered_repeated_variance.py; numpy {np.__version__}, scipy "
            f"{scipy.__version__}, Python {sys.version.split()[0]}; seed {SEED}; "
            f"{N_SIMS} trials per case\n"
        )
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
