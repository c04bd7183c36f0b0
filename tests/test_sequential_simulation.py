"""Look-by-look simulation of group-sequential trials against the recursion.

The reference for each simulated proportion is the exact crossing
probability of the canonical normal form; with ``statistic="z"`` the
simulation has exactly that law, so agreement within 4 MCSE is expected.
With t statistics and large df the two agree too; at small df the gap is the
named "t statistics treated as normal" approximation, checked against the
noncentral t distribution (scipy) for one look.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import trialplan as tp
from trialplan.simulate.sequential import simulate_sequential


def design(interaction: float, sd: float, n_per_cell: int) -> tp.Factorial:
    return tp.Factorial(
        factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        outcome=tp.Continuous(means={("a0", "b0"): 0.0, ("a1", "b0"): 0.0,
                                     ("a0", "b1"): 0.0, ("a1", "b1"): interaction}, sd=sd),
        n_per_cell=n_per_cell)


GSD = tp.GroupSequential(info_fractions=(0.3, 0.6, 1.0), alpha=0.025,
                         futility=tp.spending.pocock())


@pytest.mark.parametrize("interaction", [pytest.param(0.0, id="H0"),
                                         pytest.param(-4.0, id="H1")])
def test_known_variance_simulation_reproduces_stopping_probabilities(
        interaction: float) -> None:
    d = design(interaction, 8.0, 300)
    sim = simulate_sequential(d, hypothesis="A:B", sequential=GSD, n_sims=40_000, seed=11,
                              statistic="z")
    up, low = GSD.crossing_probabilities(abs(interaction) / (2 * 8.0 / math.sqrt(300)))
    tol_up = 4 * np.sqrt(up * (1 - up) / sim.n_sims) + 1e-4
    tol_low = 4 * np.sqrt(low * (1 - low) / sim.n_sims) + 1e-4
    assert np.all(np.abs(sim.stop_efficacy - up) < tol_up)
    assert np.all(np.abs(sim.stop_lower - low) < tol_low)
    expected_n = 1200 * GSD.expected_fraction_at(abs(interaction) / (16 / math.sqrt(300)))
    assert abs(sim.expected_n_total - expected_n) < 4 * sim.mcse_expected_n_total


def test_t_statistic_simulation_agrees_at_large_df() -> None:
    d = design(-4.0 / math.sqrt(10), 8.0, 3000)   # same drift, df about 12000
    res = d.power("A:B", sequential=GSD, method="simulation", n_sims=40_000, seed=5)
    exact = d.power("A:B", sequential=GSD)["A:B"]
    assert abs(res["A:B"] - exact) < 4 * res.mcse["A:B"]
    assert res.method == "simulation"


def test_t_versus_normal_gap_at_small_df_is_the_noncentral_t_gap() -> None:
    # One look only (K = 1): the simulated rejection rate of the t test is the
    # noncentral t power (scipy), below the canonical-normal value the
    # analytic engine reports.
    gsd = tp.GroupSequential(info_fractions=(1.0,), alpha=0.025)
    d = design(-4.0, 8.0, 12)
    drift = 4.0 / (16.0 / math.sqrt(12))
    df = 4 * 12 - 4
    t_power = stats.nct.sf(stats.t.isf(0.025, df), df, drift)
    sim = simulate_sequential(d, hypothesis="A:B", sequential=gsd, n_sims=40_000, seed=3)
    assert abs(sim.power - t_power) < 4 * sim.mcse
    assert gsd.power_at(drift) > t_power


def test_seed_reproduces_and_bad_input_raises() -> None:
    d = design(-4.0, 8.0, 40)
    one = simulate_sequential(d, hypothesis="A:B", sequential=GSD, n_sims=500, seed=9,
                              batch_size=200)
    two = simulate_sequential(d, hypothesis="A:B", sequential=GSD, n_sims=500,
                              seed=np.random.SeedSequence(9), batch_size=200)
    np.testing.assert_array_equal(one.stop_efficacy, two.stop_efficacy)
    with pytest.raises(ValueError, match=r"statistic='chi2' is not allowed"):
        simulate_sequential(d, hypothesis="A:B", sequential=GSD, n_sims=10, statistic="chi2")
    with pytest.raises(ValueError, match=r"'combination' is a one-sided intersection-union"):
        simulate_sequential(d, hypothesis="combination", n_sims=10,
                            sequential=GSD.replace(alpha=2 * GSD.alpha, sided=2,
                                                   futility=None))
    with pytest.raises(ValueError, match=r"baseline_corr=0.5 \(allowed: 0.0\)"):
        simulate_sequential(d.replace(baseline_corr=0.5), hypothesis="A:B",
                            sequential=GSD, n_sims=10)
    with pytest.raises(ValueError, match=r"n_per_cell=\[2, 2, 2, 2\] is too small"):
        simulate_sequential(design(-4.0, 8.0, 2), hypothesis="A:B", sequential=GSD,
                            n_sims=10)
    with pytest.raises(TypeError, match=r"seed must be an int"):
        simulate_sequential(d, hypothesis="A:B", sequential=GSD, n_sims=10, seed="x")
    with pytest.raises(ValueError, match=r"n_sims must be a whole number >= 1"):
        simulate_sequential(d, hypothesis="A:B", sequential=GSD, n_sims=0)
