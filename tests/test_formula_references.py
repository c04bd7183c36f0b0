"""Independent references for formulas a mutation audit found unguarded (issue 21, item 7).

Each test here fails when its formula is broken in the way the audit did it
(the report of the branch lists the mutations applied and the failures seen):

* group-delivered Repeated outcomes: the cell variance against exact variance
  algebra over the patients' covariance matrix (a design effect applied as its
  square root passed every test before) and, with dropout, against the exact
  expectation over the dropout patterns and a brute-force simulation
  (tests/references/clustered_repeated_variance.py);
* Dunnett's test after ANCOVA: power against a brute-force simulation of the
  ANCOVA analysis with a million trials (tests/references/
  dunnett_ancova_bruteforce.py; the ANCOVA branch of dunnett.py was never run
  by a test, so a 30-fold imbalance inflation passed);
* the ANCOVA min (combination) test: its approximation against a brute-force
  simulation with two million trials (tests/references/
  ancova_min_test_bruteforce.py), in the default (fast) run;
* the binary patient-level (GLM) engine: against the exact power of the same
  Wald test, enumerated over all binomial outcomes.

Tolerances follow from the Monte Carlo standard errors of the references (4
MCSE); none is calibrated on trialplan's own output.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import trialplan as tp

REFERENCES = Path(__file__).parent / "references"


def read_reference(name: str) -> list[dict[str, str]]:
    with (REFERENCES / name).open() as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


# ------------------------------------------------- group-delivered Repeated outcome
ARM = {"arm": ("control", "MBI")}


def grouped_repeated(*, n: int, m: int, icc: float, retention=None) -> tp.Factorial:
    extra = {} if retention is None else {"retention": retention}
    outcome = tp.Repeated(
        means={("control",): (0.0, 0.0, 0.0), ("MBI",): (0.0, -1.5, -3.0)},
        times=(0.0, 1.0, 2.0),
        sd=6.0,
        correlation="cs",
        rho=0.5,
        **extra,
    )
    return tp.Factorial(
        factors=ARM,
        outcome=outcome,
        n_per_cell=n,
        clusters=tp.Clustering(factor="arm", icc=icc, group_size=m),
    )


def exact_cell_variance(n: int, m: int, icc: float, sd: float = 6.0) -> float:
    """Var of the last-visit cell mean by brute variance algebra (complete data).

    The data model of a group-delivered cell: each patient's visits have the CS
    covariance V, and the members of a group share an intercept of variance
    icc * sd^2 (so V's diagonal is the total variance sd^2).  With complete
    data the GLS estimate of the visit means is the vector of visit averages,
    so the last-visit estimate is w'y with w = 1/n on every patient's last
    visit; its variance is w' Sigma w over the n * J stacked observations.
    """
    visits = 3
    v = sd**2 * (0.5 * np.eye(visits) + 0.5)
    tau2 = icc * sd**2
    same_group = np.kron(np.eye(n // m), np.ones((m, m)))  # patients sharing a group
    sigma = np.kron(np.eye(n), v - tau2) + np.kron(same_group, np.full((visits, visits), tau2))
    w = np.zeros(n * visits)
    w[visits - 1 :: visits] = 1.0 / n
    return float(w @ sigma @ w)


@pytest.mark.parametrize(
    ("n", "m", "icc"),
    [
        pytest.param(64, 8, 0.05, id="8-groups-of-8-icc.05"),
        pytest.param(60, 6, 0.2, id="10-groups-of-6-icc.2"),
        pytest.param(30, 2, 0.5, id="15-groups-of-2-icc.5"),
    ],
)
def test_group_delivered_repeated_variance_is_exact_algebra(n: int, m: int, icc: float) -> None:
    design = grouped_repeated(n=n, m=m, icc=icc)
    variances = design.cell_model().variances
    expected = exact_cell_variance(n, m, icc)
    assert variances[1] == pytest.approx(expected, rel=1e-12)  # the clustered cell
    assert variances[0] == pytest.approx(36.0 / n, rel=1e-12)  # the other cell
    # and the power is the Wald z power with the exact standard error
    se = math.sqrt(expected + 36.0 / n)
    crit = stats.norm.isf(0.025)
    z = 3.0 / se
    assert design.power("arm")["arm"] == pytest.approx(
        stats.norm.sf(crit - z) + stats.norm.sf(crit + z), rel=1e-12
    )


def test_group_delivered_repeated_with_dropout_is_first_order_algebra() -> None:
    # With monotone dropout, variance algebra at the expected information (GLS with
    # known V, patterns independent of groups): a shift common to all of a patient's
    # visits moves the GLS visit means by the same amount, so each patient's
    # coefficients on the last-visit mean sum to 1/n on average and the group
    # intercepts add (m - 1) tau^2 / n, whatever the dropout.  Multiplying the MMRM
    # variance phi sd^2 / n by the design effect (trialplan before this change) gave
    # 4% more variance here; the exact expectation over the dropout patterns is in
    # test_group_delivered_repeated_matches_exact_enumeration_and_brute_force.
    n, m, icc, sd = 80, 8, 0.05, 6.0
    retention = np.array([1.0, 0.9, 0.8])
    design = grouped_repeated(n=n, m=m, icc=icc, retention=tuple(retention))
    v = sd**2 * (0.5 * np.eye(3) + 0.5)
    shares = retention - np.append(retention[1:], 0.0)  # P(exactly k visits), k = 1..3
    info = np.zeros((3, 3))
    ones = np.zeros(3)
    for k, share in enumerate(shares, start=1):
        x = np.eye(3)[:k]
        info += share * x.T @ np.linalg.inv(v[:k, :k]) @ x
        ones += share * x.T @ np.linalg.inv(v[:k, :k]) @ np.ones(k)
    inv = np.linalg.inv(info)
    expected = inv[-1, -1] / n + (m - 1) * icc * sd**2 * (inv[-1] @ ones) ** 2 / n
    assert inv[-1] @ ones == pytest.approx(1.0, rel=1e-12)  # the shift argument
    analytic = design.cell_model().variances[1]
    assert analytic == pytest.approx(expected, rel=1e-12)
    old = (1 + (m - 1) * icc) * inv[-1, -1] / n
    assert old / analytic > 1.04  # the defect this replaces


def _clustered_repeated_cases() -> list:
    rows = read_reference("clustered_repeated_variance.csv")
    return [pytest.param(r, id=f"{r['id']}-{r['contrast']}") for r in rows]


@pytest.mark.parametrize("row", _clustered_repeated_cases())
def test_group_delivered_repeated_matches_exact_enumeration_and_brute_force(row: dict) -> None:
    # tests/references/clustered_repeated_variance.py: for one group-delivered cell
    # (random group intercept on every visit, random monotone dropout patterns, GLS
    # with known V) the exact expected variance of the last-visit mean or the slope,
    # by enumerating every count vector of the dropout patterns, and the variance of
    # the estimate over 400,000 simulated trials.
    times = tuple(float(t) for t in row["times"].split())
    visits = len(times)
    n, m, icc = int(row["n"]), int(row["m"]), float(row["icc"])
    outcome = tp.Repeated(
        means={("control",): (0.0,) * visits, ("MBI",): tuple(-t for t in times)},
        times=times,
        sd=float(row["sd"]),
        correlation=row["correlation"],
        rho=float(row["rho"]),
        retention=tuple(float(r) for r in row["retention"].split()),
        contrast=row["contrast"],
    )
    design = tp.Factorial(
        factors=ARM,
        outcome=outcome,
        n_per_cell=n,
        clusters=tp.Clustering(factor="arm", icc=icc, group_size=m),
    )
    analytic = float(design.cell_model().variances[1])
    exact, first = float(row["exact"]), float(row["first_order"])
    simulated, mcse = float(row["simulated"]), float(row["mcse"])
    # 1. trialplan computes the script's first-order (expected-information) variance
    assert analytic == pytest.approx(first, rel=1e-9)
    # 2. the enumeration is right: the brute-force variance agrees within 4 MCSE
    assert abs(simulated - exact) < 4 * mcse
    # 3. the first-order approximation is close to the exact expectation: its error
    #    is O(1/n) of the variance, 0.3% or less at 60-80 per cell, 1.4% at 24 per
    #    cell with 40% dropout (the approximation Lu, Luo & Chen's phi makes)
    assert abs(analytic - exact) < (0.015 if n < 40 else 0.005) * exact
    # 4. the design effect applied to the whole MMRM variance (the old formula) misses
    #    the brute force by more than the approximation error and 4 MCSE
    if row["contrast"] == "slope" or row["retention"] != "1 1 1":
        unclustered = design.replace(clusters=None).cell_model().variances[1]
        old = (1 + (m - 1) * icc) * float(unclustered)
        assert abs(old - simulated) > abs(exact - first) + 4 * mcse


# ---------------------------------------------------------- Dunnett after ANCOVA
def _dunnett_cases() -> list:
    rows = read_reference("dunnett_ancova_bruteforce.csv")
    cases: dict[str, dict] = {}
    for r in rows:
        case = cases.setdefault(r["id"], {"row": r, "values": {}})
        case["values"][r["what"]] = (float(r["power"]), float(r["mcse"]))
    return [pytest.param(c, id=f"bruteforce-1e6-{k}") for k, c in cases.items()]


@pytest.mark.parametrize("case", _dunnett_cases())
def test_dunnett_with_ancova_matches_brute_force(case: dict) -> None:
    row = case["row"]
    n = [int(v) for v in row["n"].split()]
    means = [float(v) for v in row["means"].split()]
    arms = ("control", "arm1", "arm2", "arm3")
    design = tp.Parallel(
        arms=arms,
        outcome=tp.Continuous(
            means=dict(zip(arms, means, strict=True)),
            sd=float(row["sd"]),
            baseline_corr=float(row["rho"]),
        ),
        n_per_arm=dict(zip(arms, n, strict=True)),
        control="control",
        alpha=float(row["alpha"]),
    )
    res = design.power(multiplicity=tp.Dunnett())
    assert "ANCOVA with expected imbalance inflation" in res.to_frame()["method"].iloc[0]
    # the script's critical value (scipy's randomized QMC) agrees with the exact one
    assert res.extras["critical_value"] == pytest.approx(float(row["critical_value"]), abs=5e-4)
    got = {f"arm{i}": res[f"arm{i} vs control"] for i in (1, 2, 3)}
    got |= {"any": res.extras["any"], "all": res.extras["all"]}
    for what, (reference, mcse) in case["values"].items():
        assert abs(got[what] - reference) < 4 * mcse, (what, got[what], reference)


# ------------------------------------------------------------ ANCOVA min test
@pytest.mark.parametrize(
    "row",
    [
        pytest.param(r, id=f"bruteforce-2e6-{r['id']}")
        for r in read_reference("ancova_min_test_bruteforce.csv")
    ],
)
def test_ancova_min_test_approximation_matches_brute_force(row: dict) -> None:
    factors = {"A": ("a0", "a1"), "B": ("b0", "b1")}
    cells = [("a0", "b0"), ("a1", "b0"), ("a0", "b1"), ("a1", "b1")]
    n = [int(v) for v in row["n"].split()]
    means = [float(v) for v in row["means"].split()]
    design = tp.Factorial(
        factors=factors,
        outcome=tp.Continuous(
            means=dict(zip(cells, means, strict=True)),
            sd=float(row["sd"]),
            baseline_corr=float(row["rho"]),
            better="lower",
        ),
        n_per_cell=dict(zip(cells, n, strict=True)),
        alpha=float(row["alpha"]),
    )
    res = design.power("combination")
    assert "ANCOVA imbalance inflation (approx.)" in res.row("combination").method
    assert abs(res["combination"] - float(row["power"])) < 4 * float(row["mcse"])


# ------------------------------------------------------- binary GLM engine
def exact_wald_power(n: int, p0: float, p1: float, scale: str, alpha: float = 0.05) -> float:
    """Power of the two-arm Wald test a binomial GLM gives, summed over all outcomes.

    The saturated two-cell GLM's estimates are the observed proportions on the
    link scale, with model-based (inverse Fisher information) variances
    p(1-p)/n (identity link), 1/(n p (1-p)) (logit) and (1-p)/(n p) (log).
    Outcomes with an empty or full arm (probability below 1e-18 here) count
    as not rejecting.
    """
    x = np.arange(1, n)
    prob0 = stats.binom.pmf(x, n, p0)
    prob1 = stats.binom.pmf(x, n, p1)
    q0, q1 = x[:, None] / n, x[None, :] / n
    if scale == "risk_difference":
        est, var = q1 - q0, q0 * (1 - q0) / n + q1 * (1 - q1) / n
    elif scale == "log_odds":
        est = np.log(q1 / (1 - q1)) - np.log(q0 / (1 - q0))
        var = 1 / (n * q0 * (1 - q0)) + 1 / (n * q1 * (1 - q1))
    else:
        est, var = np.log(q1) - np.log(q0), (1 - q0) / (n * q0) + (1 - q1) / (n * q1)
    reject = np.abs(est / np.sqrt(var)) > stats.norm.isf(alpha / 2)
    return float(prob0 @ reject @ prob1)


@pytest.mark.parametrize("scale", ["risk_difference", "log_odds", "log_risk"])
def test_glm_engine_matches_the_exact_power_of_its_wald_test(scale: str) -> None:
    design = tp.Factorial(
        factors={"arm": ("control", "treated")},
        outcome=tp.Binary(rates={("control",): 0.30, ("treated",): 0.45}, scale=scale),
        n_per_cell=120,
    )
    n_sims = 3000
    sim = design.power(method="simulation", n_sims=n_sims, seed=3, engine="individual")
    exact = exact_wald_power(120, 0.30, 0.45, scale)
    mcse = math.sqrt(exact * (1 - exact) / n_sims)  # the reference is exact: MCSE of sim only
    assert abs(sim["arm"] - exact) < 4 * mcse, (sim["arm"], exact)
