"""Simulated power of group-delivered MBI with a TimeToEvent outcome (gamma frailty).

Independent references: scipy quadrature of the frailty model's moments (the
ICC rule), the ANOVA estimator of the event indicators' ICC over simulated
groups (the data model), statsmodels GEE (Poisson, log time offset,
independence, ``cov_type="bias_reduced"``) fitted to the simulated patients
(the analysis), the unclustered survival simulator at ICC 0, and the analytic
Wald power with the design effect.  Never the simulator's own output.

Calibration record (tests/references/clustered_survival_calibration.py and
.txt): see the comments at the power and type I error tests.
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import integrate, stats

import trialplan as tp
from trialplan.simulate.clustered_survival import (
    ClusteredSurvivalSimulator,
    _patients,
    gamma_frailty,
    robust_log_hazards,
)
from trialplan.simulate.grouped import group_delivered_simulator

FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
HAZARDS = {
    ("sham", "control"): 0.060,
    ("active", "control"): 0.042,
    ("sham", "MBI"): 0.045,
    ("active", "MBI"): 0.030,
}
MAIN = ("rTMS", "MBI", "rTMS:MBI")


def grouped(
    *,
    icc=0.05,
    m=10,
    n=150,
    hazards=HAZARDS,
    dropout=0.0,
    size_cv=0.0,
    accrual=12.0,
    follow_up=12.0,
) -> tp.Factorial:
    return tp.Factorial(
        factors=FACTORS,
        outcome=tp.TimeToEvent(
            hazards=hazards, accrual=accrual, follow_up=follow_up, dropout_hazard=dropout
        ),
        n_per_cell=n,
        clusters=tp.Clustering(factor="MBI", icc=icc, group_size=m, size_cv=size_cv),
    )


# ------------------------------------------------------------ the ICC rule
def _quad_moments(theta, lam, eta, accrual, end):
    """(p, ICC, rate) by nested scipy quadrature: entry times inside, gamma law outside."""

    def given_z(z):
        h = lam * z + eta
        # Averages over entry e ~ U(0, A) of P(event) and E[time at risk], follow-up T - e.
        q = integrate.quad(lambda e: lam * z / h * -math.expm1(-h * (end - e)), 0, accrual)[0]
        t = integrate.quad(lambda e: -math.expm1(-h * (end - e)) / h, 0, accrual)[0]
        return q / accrual, t / accrual

    law = stats.gamma(1 / theta, scale=theta)

    def expect(f):
        return integrate.quad(
            lambda z: f(z) * law.pdf(z), 0, np.inf, epsabs=1e-12, epsrel=1e-10, limit=200
        )[0]

    p = expect(lambda z: given_z(z)[0])
    both = expect(lambda z: given_z(z)[0] ** 2)
    rate = expect(lambda z: lam * z * given_z(z)[1]) / expect(lambda z: given_z(z)[1])
    return p, (both - p**2) / (p * (1 - p)), rate


@pytest.mark.parametrize(
    ("icc", "hazard", "dropout"), [(0.02, 0.05, 0.0), (0.05, 0.045, 0.01), (0.1, 0.03, 0.02)]
)
def test_frailty_reproduces_the_icc_and_the_planned_rate_by_quadrature(
    icc, hazard, dropout
) -> None:
    f = gamma_frailty(icc=icc, hazard=hazard, accrual=12.0, end=24.0, dropout_hazard=dropout)
    p, rho, rate = _quad_moments(f.theta, f.conditional_hazard, dropout, 12.0, 24.0)
    assert rho == pytest.approx(icc, rel=1e-5)
    assert rate == pytest.approx(hazard, rel=1e-6)
    assert f.event_probability == pytest.approx(p, rel=1e-6)


def test_icc_zero_is_no_frailty() -> None:
    f = gamma_frailty(icc=0.0, hazard=0.05, accrual=12.0, end=24.0)
    assert (f.theta, f.conditional_hazard) == (0.0, 0.05)
    # Lachin-Foulkes event probability, by hand.
    assert f.event_probability == pytest.approx(
        1 - (math.exp(-0.6) - math.exp(-1.2)) / 0.6, rel=1e-12
    )


@pytest.mark.parametrize(("icc", "dropout"), [(0.05, 0.0), (0.1, 0.02)])
def test_simulated_groups_reproduce_the_icc_of_event_indicators(icc, dropout) -> None:
    # ANOVA estimator over 2 x 30 groups of 10 x 400 trials = 24,000 groups; its SE
    # about sqrt(2 (1 - r)^2 (1 + 9 r)^2 / (m (m - 1) G)) <= 0.0016.
    d = grouped(icc=icc, m=10, n=300, dropout=dropout, hazards=dict.fromkeys(HAZARDS, 0.05))
    params = ClusteredSurvivalSimulator().prepare(d)
    time, event = _patients(params, np.random.default_rng(7), 400)
    unit = np.repeat(np.arange(params.unit_n.size), params.unit_n)
    in_group = params.unit_clustered[unit]
    y = event[:, in_group].reshape(-1, 10).astype(float)  # one row per group
    g, m = y.shape
    ybar = y.mean(axis=1)
    msb = m * np.sum((ybar - y.mean()) ** 2) / (g - 1)
    msw = np.sum((y - ybar[:, None]) ** 2) / (g * (m - 1))
    rho = (msb - msw) / (msb + (m - 1) * msw)
    se = math.sqrt(2 * (1 - icc) ** 2 * (1 + (m - 1) * icc) ** 2 / (m * (m - 1) * g))
    assert abs(rho - icc) < 4 * se
    # The groups' population-average rate, events over time at risk, is the planned 0.05
    # (delta method: SE of the pooled rate about rate * sqrt(DE / events)).
    rate = event[:, in_group].sum() / time[:, in_group].sum()
    assert abs(rate / 0.05 - 1) < 4 * math.sqrt(2.5 / event[:, in_group].sum())
    # Individually treated participants keep independent exponential times.
    alone = event[:, ~in_group].sum() / time[:, ~in_group].sum()
    assert abs(alone / 0.05 - 1) < 4 * math.sqrt(1 / event[:, ~in_group].sum())


# ------------------------------------------------------------ the analysis
def test_wald_statistics_equal_statsmodels_poisson_gee_mancl_derouen() -> None:
    # 47 per cell in groups of 10: groups of 10, 10, 9, 9, 9 (unequal leverages);
    # individually treated participants are clusters of one.
    d = grouped(icc=0.1, n=47, dropout=0.01)
    sim = ClusteredSurvivalSimulator()
    params = sim.prepare(d)
    draws = sim.draw(params, np.random.default_rng(3), 1, engine="exact")
    frame = sim.patient_data(params, np.random.default_rng(3))  # the same patients
    cluster = np.where(frame["group"] > 0, frame["group"], 1000 + np.arange(len(frame)))
    cells = frame["cell"].to_numpy(dtype=object)
    x = np.column_stack([cells == label for label in params.labels]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GEE(
            frame["event"].to_numpy(dtype=float),
            x,
            groups=cluster,
            family=sm.families.Poisson(),
            offset=np.log(frame["time"].to_numpy()),
            cov_struct=sm.cov_struct.Independence(),
        ).fit(cov_type="bias_reduced")
    cov = fit.cov_params()
    assert np.allclose(draws.estimates[0], fit.params, rtol=0, atol=1e-10)
    assert np.allclose(draws.variances[0], np.diag(cov), rtol=1e-8, atol=0)
    for name in MAIN:
        c = np.asarray(d.hypothesis(name).contrasts, dtype=float)[0]
        estimate, se = draws.contrast(c)
        assert estimate[0, 0] / se[0, 0] == pytest.approx(
            c @ fit.params / np.sqrt(c @ cov @ c), abs=1e-8
        )
    # The individual engine fits that GEE with statsmodels: the same numbers.
    fitted = sim.draw(params, np.random.default_rng(3), 1, engine="individual")
    assert np.allclose(fitted.estimates, draws.estimates, rtol=0, atol=1e-8)
    assert np.allclose(fitted.variances, draws.variances, rtol=1e-7, atol=0)


def test_no_event_rule_by_hand() -> None:
    # A cell without events gets d = 0.5 and the model-based variance 1/d = 2, as in
    # the unclustered survival simulator; such a trial is counted.
    d = grouped(n=20, m=10)
    sim = ClusteredSurvivalSimulator()
    params = sim.prepare(d)
    time = np.ones((1, params.n_total))
    event = np.ones((1, params.n_total))
    event[0, params.unit_cell.repeat(params.unit_n) == 1] = 0
    est, var, none = robust_log_hazards(time, event, params)
    assert est[0, 1] == pytest.approx(math.log(0.5 / 20), rel=1e-12)
    assert var[0, 1] == 2.0
    assert none.tolist() == [True]


# ------------------------------------------------ analytic vs simulated power
def test_icc_zero_agrees_with_the_unclustered_survival_simulator() -> None:
    # At ICC 0 the data are those of the unclustered simulator: with its variance 1/d
    # the same power within Monte Carlo error.  The sandwich (estimated from 15 groups
    # per MBI cell) costs a little power: calibration 0.003 to 0.010 below analytic.
    plain = tp.Factorial(
        factors=FACTORS,
        n_per_cell=150,
        outcome=tp.TimeToEvent(hazards=HAZARDS, accrual=12.0, follow_up=12.0),
    )
    a = plain.power(MAIN, method="simulation", n_sims=20_000, seed=5)
    params = ClusteredSurvivalSimulator().prepare(grouped(icc=0.0))
    assert params.theta.tolist() == [0.0] * 4
    time, event = _patients(params, np.random.default_rng(6), 20_000)
    cell = params.unit_cell[np.repeat(np.arange(params.unit_n.size), params.unit_n)]
    to_cell = np.eye(4)[cell]
    d, at_risk = event @ to_cell, time @ to_cell
    z_crit = stats.norm.isf(0.025)
    for h in MAIN:
        c = np.asarray(plain.hypothesis(h).contrasts, dtype=float)[0]
        power = np.mean(np.abs(np.log(d / at_risk) @ c) / np.sqrt((1 / d) @ c**2) > z_crit)
        mcse = math.sqrt(power * (1 - power) / 20_000)
        assert abs(power - a[h]) < 4 * math.hypot(mcse, a.mcse[h]), h
    sandwich = grouped(icc=0.0).power(MAIN, method="simulation", n_sims=20_000, seed=6)
    for h in MAIN:
        assert -4 * sandwich.mcse[h] < a[h] - sandwich[h] < 0.011 + 4 * sandwich.mcse[h], h


# Calibration (200,000 trials, MCSE <= .0010; clustered_survival_calibration.txt):
# analytic minus simulated power +0.001 to +0.020 (rTMS, MBI, interaction; largest for
# MBI at ICC .05, groups of 10: 0.695 vs 0.675).  Two causes: the variances are estimated
# from 15 to 25 groups per MBI cell (Mancl-DeRouen; +0.003 to +0.010 already at ICC 0),
# and the ICC of the event indicators understates the design effect of log(d/T) (the
# data's is 1.54 at ICC .05 in groups of 10, the planned 1.45).
GAP_LOW, GAP_HIGH = 0.0, 0.021


@pytest.mark.parametrize(("icc", "m"), [(0.02, 6), (0.05, 10), (0.05, 6), (0.02, 10)])
def test_exact_engine_slightly_below_analytic_power(icc, m) -> None:
    d = grouped(icc=icc, m=m)
    analytic = d.power(MAIN)
    sim = d.power(MAIN, method="simulation", n_sims=20_000, seed=2027)
    for h in MAIN:
        gap = analytic[h] - sim[h]
        assert GAP_LOW - 4 * sim.mcse[h] < gap < GAP_HIGH + 4 * sim.mcse[h], h


def test_individual_engine_within_4_mcse_of_the_exact_engine() -> None:
    d = grouped(
        icc=0.05,
        m=10,
        n=60,
        hazards={
            ("sham", "control"): 0.09,
            ("active", "control"): 0.05,
            ("sham", "MBI"): 0.06,
            ("active", "MBI"): 0.04,
        },
    )
    exact = d.power("rTMS", method="simulation", n_sims=20_000, seed=12)
    fitted = d.power("rTMS", method="simulation", n_sims=300, seed=11, engine="individual")
    assert "statsmodels GEE" in fitted.rows[0].method
    assert abs(fitted["rTMS"] - exact["rTMS"]) < 4 * math.hypot(
        fitted.mcse["rTMS"], exact.mcse["rTMS"]
    )


@pytest.mark.parametrize(("icc", "m", "n"), [(0.05, 10, 150), (0.1, 6, 60)])
def test_type_one_error_near_nominal(icc, m, n) -> None:
    d = grouped(icc=icc, m=m, n=n, hazards=dict.fromkeys(HAZARDS, 0.05))
    sim = d.power(MAIN, method="simulation", n_sims=40_000, seed=4)
    for h in MAIN:
        assert abs(sim[h] - 0.05) < 0.004 + 4 * sim.mcse[h], h


# ------------------------------------------------------ seeds and executors
def test_same_seed_same_result_whatever_the_budget_and_executor() -> None:
    d = grouped(n=40, m=8)
    for engine, n_sims in (("exact", 3000), ("individual", 40)):
        base = d.power(MAIN, method="simulation", n_sims=n_sims, seed=9, engine=engine)
        small = d.power(
            MAIN,
            method="simulation",
            n_sims=n_sims,
            seed=9,
            engine=engine,
            memory_budget=base.extras["block_length"] * 8 * 10**4,
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            pooled = d.power(
                MAIN, method="simulation", n_sims=n_sims, seed=9, engine=engine, executor=pool
            )
        assert dict(base) == dict(small) == dict(pooled)
        assert base.extras["engine"] == engine
    assert dict(base) != dict(
        d.power(MAIN, method="simulation", n_sims=40, seed=10, engine="individual")
    )


def test_patient_data_has_groups_and_user_analysis_runs() -> None:
    d = grouped(n=20, m=10)
    sim = ClusteredSurvivalSimulator()
    frame = sim.patient_data(sim.prepare(d), np.random.default_rng(1))
    assert list(frame.columns) == ["cell", "rTMS", "MBI", "group", "time", "event"]
    assert frame.groupby("group").size().to_dict() == {0: 40, 1: 10, 2: 10, 3: 10, 4: 10}
    assert set(frame.loc[frame["group"] > 0, "MBI"]) == {"MBI"}
    assert (frame["time"] > 0).all()
    assert (frame["time"] <= 24.0).all()
    res = d.power("MBI", method="simulation", n_sims=3, seed=1, analysis=_p_mbi)
    assert res.extras["engine"] == "individual"


def _p_mbi(frame: pd.DataFrame) -> dict[str, float]:
    table = pd.crosstab(frame["MBI"], frame["event"])
    return {"MBI": float(stats.chi2_contingency(table)[1])}


def test_default_engine_and_method_text() -> None:
    res = grouped().power("MBI", method="simulation", n_sims=50, seed=1)
    assert res.extras["engine"] == "exact"
    assert "gamma frailty" in res.rows[0].method
    assert "Mancl-DeRouen" in res.rows[0].method
    assert type(group_delivered_simulator(grouped())).__name__ == "ClusteredSurvivalSimulator"


# --------------------------------------------------------------- errors
def test_unequal_group_sizes_are_an_error() -> None:
    with pytest.raises(ValueError, match=r"size_cv=0.4; allowed: size_cv=0"):
        grouped(size_cv=0.4).power(method="simulation", n_sims=10, seed=1)


def test_one_group_per_clustered_cell_is_an_error() -> None:
    with pytest.raises(
        ValueError,
        match=r"TimeToEvent outcome needs at least two therapy "
        r"groups.*got \[1, 1\] group\(s\) of group_size=10 for n=\[10, 10\]",
    ):
        grouped(n=10, m=10).power(method="simulation", n_sims=10, seed=1)


def test_unreachable_icc_is_an_error() -> None:
    # Short follow-up, rare events: the indicators cannot correlate much.
    with pytest.raises(ValueError, match=r"icc=0.9 is out of reach.*at most about"):
        gamma_frailty(icc=0.9, hazard=0.001, accrual=1.0, end=2.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"icc": 1.0}, r"icc must lie in \[0, 1\); got icc=1.0"),
        ({"icc": -0.1}, r"icc must be a finite number >= 0; got icc=-0.1"),
        ({"hazard": 0.0}, r"hazard must be a finite number > 0; got hazard=0.0"),
        ({"end": 6.0}, r"end must be >= accrual=12; got end=6.0"),
        ({"dropout_hazard": float("nan")}, r"dropout_hazard must be a finite number >= 0"),
        ({"accrual": "12"}, r"accrual must be a real number; got accrual='12'"),
    ],
)
def test_gamma_frailty_bad_input_names_the_parameter(kwargs, match) -> None:
    args = {"icc": 0.05, "hazard": 0.05, "accrual": 12.0, "end": 24.0} | kwargs
    error = TypeError if isinstance(kwargs.get("accrual"), str) else ValueError
    with pytest.raises(error, match=match):
        gamma_frailty(**args)
