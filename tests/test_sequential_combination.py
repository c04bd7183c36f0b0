"""Group-sequential combination (intersection-union, min) test; several hypotheses.

References, none of them trialplan's own output:

* ``tests/references/sequential_combination.R`` (rpact 3.3.4 bounds, mvtnorm 1.1.3
  ``pmvnorm``): per-look stopping probabilities of the min test by
  inclusion-exclusion over multivariate normal orthants of dimension up to 2K;
* a brute-force simulation of the canonical joint normal (Cholesky factor of the
  2K x 2K covariance, written out here);
* the single-statistic recursion (itself checked against rpact), which the min
  test must reproduce when one comparison's effect is huge (least favourable
  null) or the comparisons are independent;
* with one look, the fixed design's exact bivariate normal power.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trialplan as tp
from trialplan.sequential.recursion import combination_crossings as _combination_crossings
from trialplan.simulate.sequential import simulate_sequential

REFERENCES = Path(__file__).parent / "references"
FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}


def continuous(combined: float = -7.0, n: int = 72, sd: float = 8.0) -> tp.Factorial:
    means = {
        ("sham", "control"): 0.0,
        ("active", "control"): -3.0,
        ("sham", "MBI"): -2.0,
        ("active", "MBI"): combined,
    }
    return tp.Factorial(
        factors=FACTORS, outcome=tp.Continuous(means=means, sd=sd), n_per_cell=n, alpha=0.05
    )


def binary(combined: float = 0.45, n: int = 150, scale: str = "risk_difference") -> tp.Factorial:
    rates = {
        ("sham", "control"): 0.20,
        ("active", "control"): 0.30,
        ("sham", "MBI"): 0.28,
        ("active", "MBI"): combined,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the scales' interactions disagree in sign
        return tp.Factorial(
            factors=FACTORS, outcome=tp.Binary(rates=rates, scale=scale), n_per_cell=n, alpha=0.05
        )


GSD3 = tp.GroupSequential(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025)
GSD3_FUT = tp.GroupSequential(
    info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025, futility=tp.spending.hwang_shih_decani(-2)
)


# ---------------------------------------------------------------- exactness
def test_stopping_probabilities_match_mvtnorm_orthants() -> None:
    # R: rpact bounds, then inclusion-exclusion over pmvnorm orthants (Genz-Bretz,
    # abseps 1e-9); error_bound sums pmvnorm's error estimates.  Nine cases:
    # 3-5 looks, OF/Pocock/HSD spending, rho in {0.5, 0.3, 0.6, -0.3}, unequal
    # looks, non-binding and binding futility, null and alternatives.
    ref = pd.read_csv(REFERENCES / "sequential_combination.csv")
    worst = 0.0
    for case, rows in ref.groupby("case", sort=False):
        up, low = _combination_crossings(
            rows["info_fraction"].to_numpy(),
            rows["futility_z"].to_numpy(),
            rows["efficacy_z"].to_numpy(),
            (rows["drift1"].iloc[0], rows["drift2"].iloc[0]),
            float(rows["rho"].iloc[0]),
            16,
        )
        tol = 1e-6 + rows["error_bound"].to_numpy()
        np.testing.assert_array_less(
            np.abs(up - rows["stop_efficacy"].to_numpy()), tol, err_msg=case
        )
        np.testing.assert_array_less(
            np.abs(low - rows["stop_futility"].to_numpy()), tol, err_msg=case
        )
        worst = max(worst, float(np.max(np.abs(up - rows["stop_efficacy"].to_numpy()))))
    assert worst < 3e-6  # observed 2.1e-6, where R's own error bound is 1.5e-5


def _brute_force(fractions, lower, upper, drifts, rho, n_sims, seed):
    """Stopping frequencies of the min test from draws of the 2K-dim normal."""
    t = np.asarray(fractions)
    k = t.size
    time_corr = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    cov = np.block([[time_corr, rho * time_corr], [rho * time_corr, time_corr]])
    mean = np.concatenate([drifts[0] * np.sqrt(t), drifts[1] * np.sqrt(t)])
    z = np.random.default_rng(seed).multivariate_normal(mean, cov, size=n_sims, method="cholesky")
    smaller = np.minimum(z[:, :k], z[:, k:])
    up, low = np.zeros(k), np.zeros(k)
    going = np.ones(n_sims, dtype=bool)
    for j in range(k):
        hit = going & (smaller[:, j] >= upper[j])
        miss = going & ~hit & (smaller[:, j] < lower[j])
        up[j], low[j] = hit.mean(), miss.mean()
        going &= ~(hit | miss)
    return up, low


@pytest.mark.parametrize(
    ("gsd", "drifts", "rho"),
    [
        pytest.param(GSD3_FUT, (2.6, 3.1), 0.5, id="HSD-futility-k3-rho0.5"),
        pytest.param(
            tp.GroupSequential(info_fractions=(0.2, 0.5, 0.7, 1.0), efficacy=tp.spending.pocock()),
            (3.0, 2.4),
            0.3,
            id="pocock-k4-rho0.3",
        ),
    ],
)
def test_stopping_probabilities_match_brute_force_simulation(gsd, drifts, rho) -> None:
    n_sims = 400_000
    up_sim, low_sim = _brute_force(
        gsd.info_fractions, gsd._lower, gsd.efficacy_z, drifts, rho, n_sims, seed=20261125
    )
    up, low = _combination_crossings(
        np.array(gsd.info_fractions), gsd._lower, gsd.efficacy_z, drifts, rho, 16
    )
    for ours, sim in ((up, up_sim), (low, low_sim)):
        mcse = np.sqrt(np.maximum(sim * (1 - sim), 1e-12) / n_sims)
        assert np.all(np.abs(ours - sim) <= 4 * mcse + 1e-9)


@pytest.mark.parametrize(
    "gsd",
    [
        pytest.param(GSD3, id="OF-k3"),
        pytest.param(GSD3_FUT, id="OF-k3-nonbinding-futility"),
        pytest.param(
            tp.GroupSequential(
                info_fractions=(0.25, 0.5, 0.75, 1.0),
                futility=tp.spending.pocock(),
                beta=0.2,
                binding=True,
            ),
            id="OF-k4-binding-futility",
        ),
    ],
)
@pytest.mark.parametrize("rho", [0.5, 1e-3, -0.4])
@pytest.mark.parametrize("drift", [0.0, 2.5])
def test_one_huge_effect_reduces_to_the_single_statistic(gsd, rho, drift) -> None:
    # The other comparison crosses every bound with probability 1 - 1e-100:
    # min(Z1, Z2) = Z1, so the per-look probabilities are the single test's.
    # At drift 0 this is the least favourable null: the size equals alpha.
    up, low = _combination_crossings(
        np.array(gsd.info_fractions), gsd._lower, gsd.efficacy_z, (drift, 40.0), rho, 16
    )
    up1, low1 = gsd.crossing_probabilities(drift)
    # bivariate grid (r = 16) against the univariate one (r = 32): ~3e-7
    np.testing.assert_allclose(up, up1, rtol=0, atol=1e-6)
    np.testing.assert_allclose(low, low1, rtol=0, atol=1e-6)
    if drift == 0.0:
        # size: binding bounds count on the futility stops; non-binding ones
        # spend alpha with the futility bounds ignored
        lower = gsd._lower if gsd.binding else np.full(gsd.n_looks, -np.inf)
        size, _ = _combination_crossings(
            np.array(gsd.info_fractions), lower, gsd.efficacy_z, (0.0, 40.0), rho, 16
        )
        assert size.sum() == pytest.approx(0.025, abs=1e-6)


@pytest.mark.parametrize("other", [0.0, 0.5, 1.5, 3.0, 6.0])
def test_type_one_error_at_most_alpha_on_the_null_boundary(other: float) -> None:
    # Any null configuration (one comparison without effect) rejects less often
    # than the least favourable one, whose size is alpha.
    for gsd in (GSD3, GSD3_FUT):
        up, _ = _combination_crossings(
            np.array(gsd.info_fractions), gsd._lower, gsd.efficacy_z, (0.0, other), 0.5, 16
        )
        assert up.sum() <= 0.025 + 1e-6


def test_one_look_equals_the_fixed_bivariate_normal_power() -> None:
    # One look: the sequential min test is the fixed one; Binary Wald statistics
    # have df = inf, so the fixed design's power is the exact bivariate normal.
    d = binary()
    one = tp.GroupSequential(info_fractions=(1.0,), alpha=0.025)
    seq = d.power("combination", sequential=one)["combination"]
    assert seq == pytest.approx(d.power("combination")["combination"], abs=1e-7)
    ss = d.sample_size(power=0.8, hypothesis="combination", sequential=one)
    assert ss.n_per_cell == d.sample_size(power=0.8, hypothesis="combination").n_per_cell


# ------------------------------------------------------------ design paths
def test_power_reports_the_stopping_table() -> None:
    d = continuous()
    res = d.power(["combination", "rTMS"], sequential=GSD3_FUT)
    table = res.extras["stopping"]["combination"]
    assert list(table.columns) == [
        "look",
        "info_fraction",
        "n_total",
        "stop_efficacy",
        "stop_futility",
        "power",
    ]
    assert table["n_total"].tolist() == [96, 192, 288]
    assert res["combination"] == pytest.approx(table["stop_efficacy"].sum(), abs=1e-12)
    # every trial stops somewhere (futility includes the final non-rejection)
    assert (table["stop_efficacy"] + table["stop_futility"]).sum() == pytest.approx(1, abs=2e-6)
    stop = (table["stop_efficacy"] + table["stop_futility"]).to_numpy()
    expected = res.extras["expected_n_total"]["combination"]
    assert expected["H1"] == pytest.approx(float(stop @ table["n_total"]), abs=1e-3)
    # below the fixed design's power (looks cost a little) and below each comparison's
    assert res["combination"] < d.power("combination")["combination"]
    row = res.to_frame().set_index("hypothesis").loc["combination"]
    assert "bivariate recursive integration" in row["method"]
    assert "normal statistics (approx.)" in row["method"]
    # global null: the min test under (0, 0) stops for futility early and often
    assert expected["H0"] < expected["H1"] < 288


def test_sample_size_of_the_combination() -> None:
    d = continuous(combined=-7.0, n=10)
    ss = d.sample_size(power=0.9, hypothesis="combination", sequential=GSD3)
    assert isinstance(ss, tp.sequential.SequentialSampleSizeResult)
    # smallest multiplier: power at n reaches 0.9, at n - 1 it does not
    assert ss.power >= 0.9
    below = d.replace(n_per_cell=ss.n_per_cell - 1).power("combination", sequential=GSD3)
    assert below["combination"] < 0.9
    fixed = d.sample_size(power=0.9, hypothesis="combination")
    # O'Brien-Fleming looks cost little: max N within 1.5 % of the fixed N (+4 rounding)
    assert fixed.n_total <= ss.n_total <= 1.015 * fixed.n_total + 4
    assert ss.n_total_fixed == pytest.approx(ss.n_total / 1.015, rel=0.02)
    assert ss.expected_n_total["H1"] < ss.n_total
    frame = ss.looks_frame()
    assert frame["power"].iloc[-1] == pytest.approx(ss.power, abs=1e-12)
    # H0 columns of the min test: the global null, as in the R fixture (same bounds)
    ref = pd.read_csv(REFERENCES / "sequential_combination.csv")
    null = ref[ref["case"] == "asOF_k3_rho05_null"]
    np.testing.assert_allclose(frame["stop_efficacy_h0"], null["stop_efficacy"], rtol=0, atol=1e-6)


def test_several_hypotheses_must_all_reach_the_target() -> None:
    d = continuous(combined=-7.0, n=10)
    names = ["combination", "rTMS:MBI"]
    both = d.sample_size(power=0.8, hypothesis=names, sequential=GSD3)
    each = [d.sample_size(power=0.8, hypothesis=h, sequential=GSD3).n_per_cell for h in names]
    assert both.n_per_cell == max(each)
    assert set(both.powers) == set(names)
    assert min(both.powers.values()) == both.power >= 0.8
    assert both.hypotheses == tuple(names)
    assert set(both.extras["expected_n_total"]) == set(names)
    assert both.looks_frame("rTMS:MBI")["power"].iloc[-1] == pytest.approx(
        both.powers["rTMS:MBI"], abs=1e-12
    )
    assert "(combination)" in repr(both)
    with pytest.raises(ValueError, match=r"hypothesis='MBI' is not one of the required"):
        both.looks_frame("MBI")


# -------------------------------------------------------------- simulation
def test_simulated_continuous_trials_agree_with_the_recursion() -> None:
    # statistic="z": the canonical form exactly (known variance); n divisible by 3
    # so the looks are at exactly 1/3 and 2/3 of the information.
    d = continuous(combined=-6.5, n=72)
    table = d.power("combination", sequential=GSD3_FUT).extras["stopping"]["combination"]
    sim = simulate_sequential(
        d, hypothesis="combination", sequential=GSD3_FUT, n_sims=200_000, seed=11, statistic="z"
    )
    assert np.all(np.abs(sim.stop_efficacy - table["stop_efficacy"]) <= 4 * sim.mcse_efficacy)
    assert np.all(np.abs(sim.stop_lower - table["stop_futility"]) <= 4 * sim.mcse_lower)
    # the t analysis a trial runs (the default) is close to it
    res = d.power("combination", sequential=GSD3_FUT, method="simulation", n_sims=20_000, seed=3)
    assert abs(res["combination"] - table["power"].iloc[-1]) < 4 * res.mcse["combination"]


@pytest.mark.parametrize("scale", ["risk_difference", "log_odds"])
def test_simulated_binary_trials_agree_with_the_recursion(scale: str) -> None:
    # Large cells, where the Wald statistics are near their canonical normal
    # law (at 150 per cell the fixed design's Wald power is itself 0.01-0.02
    # off the simulated one, and the sequential tests inherit that).
    d = binary(combined=0.36, n=1500, scale=scale)
    for name in ("combination", "rTMS"):
        table = d.power(name, sequential=GSD3_FUT).extras["stopping"][name]
        n_sims = 60_000
        sim = simulate_sequential(d, hypothesis=name, sequential=GSD3_FUT, n_sims=n_sims, seed=7)
        for got, want in (
            (sim.stop_efficacy, table["stop_efficacy"].to_numpy()),
            (sim.stop_lower, table["stop_futility"].to_numpy()),
        ):
            mcse = np.sqrt(want * (1 - want) / n_sims)  # at the analytic probability
            assert np.all(np.abs(got - want) <= 4 * mcse)
        assert "Wald z" in sim.notes["method"]


# --------------------------------------------------------------- bad input
def test_unsupported_uses_raise_clearly() -> None:
    d = continuous()
    two_sided = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.05, sided=2)
    with pytest.raises(
        ValueError,
        match=r"one-sided intersection-union test.*sided=1, "
        r"alpha=0.025.*got sided=2",
    ):
        d.power("combination", sequential=two_sided)
    three = tp.Factorial(
        factors={"A": ("a0", "a1"), "B": ("b0", "b1"), "C": ("c0", "c1")},
        outcome=tp.Continuous(
            means={
                (a, b, c): -1.0 * (a == "a1") - (b == "b1") - (c == "c1")
                for a in ("a0", "a1")
                for b in ("b0", "b1")
                for c in ("c0", "c1")
            },
            sd=2.0,
        ),
        n_per_cell=20,
    )
    with pytest.raises(ValueError, match=r"intersection-union test of 3 comparisons"):
        three.power("combination", sequential=GSD3)
    lopsided = d.replace(
        n_per_cell={
            ("sham", "control"): 500,
            ("active", "control"): 500,
            ("sham", "MBI"): 500,
            ("active", "MBI"): 2,
        }
    )
    with pytest.raises(
        ValueError,
        match=r"correlation 0.99[0-9]*; the sequential engine "
        r"takes \|correlation\| <= 0.99",
    ):
        lopsided.power("combination", sequential=GSD3)
    with pytest.raises(ValueError, match=r"intersection-union test of 3 comparisons"):
        simulate_sequential(three, hypothesis="combination", sequential=GSD3, n_sims=10)
    with pytest.raises(ValueError, match=r"out of reach for 'combination'.*effect \(-1, 0\)"):
        continuous(combined=-3.0).sample_size(power=0.9, hypothesis="combination", sequential=GSD3)
    with pytest.raises(ValueError, match=r"statistic='z' is not allowed for a Binary"):
        simulate_sequential(binary(), hypothesis="rTMS", sequential=GSD3, n_sims=10, statistic="z")
    with pytest.raises(ValueError, match=r"statistic='wald' is not allowed for a Continuous"):
        simulate_sequential(d, hypothesis="rTMS", sequential=GSD3, n_sims=10, statistic="wald")
    grouped = d.replace(clusters=tp.Clustering(factor="MBI", icc=0.05, group_size=8))
    with pytest.raises(ValueError, match=r"does not model therapy groups yet; got clusters="):
        simulate_sequential(grouped, hypothesis="combination", sequential=GSD3, n_sims=10)
    assert math.isfinite(d.power("combination", sequential=GSD3)["combination"])
