"""tp.SMART: closed forms (Oetting et al. 2011; Kidwell et al. 2018), simulation, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import trialplan as tp

Z = stats.norm.ppf


def pinned() -> tp.SMART:
    """The DESIGN.md example."""
    return tp.SMART(
        stage1=("rTMS", "rTMS+MBI"),
        stage2=("continue", "augment"),
        response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
        responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        nonresponder_mean={
            ("rTMS", "continue"): -4.0,
            ("rTMS", "augment"): -6.0,
            ("rTMS+MBI", "continue"): -6.0,
            ("rTMS+MBI", "augment"): -9.0,
        },
        sd=8.0,
        n_total=200,
        alpha=0.05,
    )


def oetting(
    g1: float, g2: float, mean_a: float, mean_b: float, sd: float = 8.0, n_total: int = 100
) -> tp.SMART:
    """Equal subgroup means within each stage-1 arm: the closed form's moment condition."""
    return tp.SMART(
        stage1=("a", "b"),
        stage2=("x", "y"),
        response_rate={"a": g1, "b": g2},
        responder_mean={"a": mean_a, "b": mean_b},
        nonresponder_mean={
            ("a", "x"): mean_a,
            ("a", "y"): mean_a,
            ("b", "x"): mean_b,
            ("b", "y"): mean_b,
        },
        sd=sd,
        n_total=n_total,
    )


# ------------------------------------------------------------- closed forms
@pytest.mark.parametrize(
    ("g", "delta", "power"),
    [
        pytest.param(0.4, 0.5, 0.8, id="Oetting2011-g0.4-delta0.5-80pct"),
        pytest.param(0.2, 0.3, 0.9, id="Oetting2011-g0.2-delta0.3-90pct"),
        pytest.param(0.6, 0.4, 0.8, id="Oetting2011-g0.6-delta0.4-80pct"),
    ],
)
def test_regimes_starting_differently_match_oetting_closed_form(g, delta, power) -> None:
    # N = 4 (z_{1-a/2} + z_{1-b})^2 (2 - g) / delta^2 (METHODS.md section 8; Oetting et al.
    # 2011; Kidwell et al. 2018), p1 = p2 = 1/2, equal second moments, normal approx.
    expected = math.ceil(4 * (Z(0.975) + Z(power)) ** 2 * (2 - g) / delta**2)
    smart = oetting(g, g, mean_a=8.0 * delta, mean_b=0.0)
    ss = smart.sample_size(power=power, hypothesis=(("a", "x"), ("b", "y")))
    assert ss.n_total == expected
    assert ss.power >= power


def test_unequal_response_rates_average_two_minus_g() -> None:
    # METHODS.md: unequal g -> the factor (2 - g) becomes the average of (2 - g_i).
    g1, g2, delta = 0.2, 0.5, 0.5
    expected = math.ceil(4 * (Z(0.975) + Z(0.8)) ** 2 * ((2 - g1) + (2 - g2)) / 2 / delta**2)
    ss = oetting(g1, g2, 4.0, 0.0).sample_size(power=0.8, hypothesis=(("a", "y"), ("b", "x")))
    assert ss.n_total == expected


def test_variance_is_two_times_two_minus_g_sigma_squared_over_n() -> None:
    smart = oetting(0.3, 0.3, 1.0, 0.0, sd=2.0, n_total=250)
    cov = smart.regime_covariance()
    assert np.diag(cov) == pytest.approx(np.full(4, 2 * (2 - 0.3) * 4 / 250))


def test_regimes_sharing_stage1_match_kidwell_closed_form() -> None:
    # N = 8 (z + z)^2 / ((1 - g) delta_NR^2) (METHODS.md section 8; Kidwell et al. 2018).
    # The closed form drops the O(delta^2) dispersion of subgroup means about mu_d, which the
    # exact variance keeps; at delta_NR = 0.3 SD they differ by < 1%.
    g, delta_nr, sd = 0.3, 0.3, 8.0
    smart = tp.SMART(
        stage1=("a", "b"),
        stage2=("x", "y"),
        response_rate={"a": g, "b": g},
        responder_mean={"a": 1.2, "b": 0.0},
        nonresponder_mean={
            ("a", "x"): 0.0,
            ("a", "y"): delta_nr * sd,
            ("b", "x"): 0.0,
            ("b", "y"): 0.0,
        },
        sd=sd,
        n_total=100,
    )
    closed = 8 * (Z(0.975) + Z(0.8)) ** 2 / ((1 - g) * delta_nr**2)
    ss = smart.sample_size(power=0.8, hypothesis=(("a", "y"), ("a", "x")))
    assert ss.n_total == pytest.approx(closed, rel=0.01)


def test_shared_stage1_covariance_through_responders() -> None:
    # Cov = g [s^2 + (m_R - mu_d)(m_R - mu_d')] / (N p1); different A1: 0 (METHODS.md).
    smart = pinned()
    mu = smart.regime_means()
    cov = smart.regime_covariance(
        [("rTMS", "continue"), ("rTMS", "augment"), ("rTMS+MBI", "augment")]
    )
    expected = 0.3 * (64 + (-14 - mu[("rTMS", "continue")]) * (-14 - mu[("rTMS", "augment")]))
    assert cov[0, 1] == pytest.approx(expected / 100)
    assert cov[0, 2] == 0.0


def test_stage1_uses_arm_mixture_variance() -> None:
    # By hand: rTMS mean -7.7, variance 81.71; rTMS+MBI mean -10.5, variance 78.85.
    s = pinned().statistic_stage1()
    assert s.effect == pytest.approx(-2.8)
    assert s.se == pytest.approx(math.sqrt((81.71 + 78.85) / 100))


def test_stage1_sample_size_is_two_arm_z() -> None:
    smart = pinned()
    expected = math.ceil((Z(0.975) + Z(0.8)) ** 2 * 2 * (81.71 + 78.85) / 2.8**2)
    assert smart.sample_size(power=0.8).n_total == expected


# --------------------------------------------------------------- simulation
@pytest.mark.parametrize(
    "comparison",
    [
        pytest.param("stage1", id="stage1"),
        pytest.param((("rTMS+MBI", "augment"), ("rTMS", "continue")), id="regimes-differ"),
        pytest.param((("rTMS", "augment"), ("rTMS", "continue")), id="regimes-share-A1"),
    ],
)
def test_simulation_agrees_with_analytic_within_mcse(comparison) -> None:
    # Unequal re-randomization (1/3 continue, 2/3 augment) exercises the weights.
    smart = pinned().replace(stage2_allocation={"continue": 1 / 3, "augment": 2 / 3}, n_total=160)
    exact = smart.power([comparison])
    sim = smart.power([comparison], method="simulation", n_sims=4000, seed=2026)
    name = exact.rows[0].hypothesis
    assert abs(sim[name] - exact[name]) < 4 * sim.mcse[name]


def test_simulation_is_reproducible_and_batch_independent() -> None:
    smart = pinned()
    a = smart.power_regimes(
        ("rTMS+MBI", "augment"),
        ("rTMS", "continue"),
        method="simulation",
        n_sims=600,
        seed=5,
        batch_size=200,
    )
    b = smart.power_regimes(
        ("rTMS+MBI", "augment"),
        ("rTMS", "continue"),
        method="simulation",
        n_sims=600,
        seed=5,
        batch_size=200,
    )
    assert a == b


def test_null_simulation_holds_alpha() -> None:
    # Identical regimes' means: rejection rate ~ alpha (large-sample z, N = 400).
    smart = oetting(0.3, 0.3, 0.0, 0.0, n_total=400)
    res = smart.power([(("a", "x"), ("b", "y"))], method="simulation", n_sims=4000, seed=11)
    assert abs(res.rows[0].power - 0.05) < 4 * math.sqrt(0.05 * 0.95 / 4000)


def test_hajek_variance_formula_against_monte_carlo() -> None:
    # Brute force, independent of trialplan: draw patient-level SMARTs, compute the Hajek
    # estimate of one regime, compare its Monte Carlo variance with the formula.
    rng = np.random.default_rng(3)
    n, reps, g, p2 = 200, 4000, 0.35, 1 / 3
    a1 = rng.random((reps, n)) < 0.5  # True: stage-1 arm "a"
    resp = rng.random((reps, n)) < g
    a2 = rng.random((reps, n)) < p2  # True: option "x"
    y = np.where(resp, -12.0, np.where(a2, -3.0, -7.0)) + 6.0 * rng.standard_normal((reps, n))
    w = np.where(resp, 2.0, 2.0 / p2) * a1 * (resp | a2)
    est = (w * y).sum(axis=1) / w.sum(axis=1)
    smart = tp.SMART(
        stage1=("a", "b"),
        stage2=("x", "y"),
        response_rate={"a": g, "b": g},
        responder_mean={"a": -12.0, "b": 0.0},
        nonresponder_mean={("a", "x"): -3.0, ("a", "y"): -7.0, ("b", "x"): 0.0, ("b", "y"): 0.0},
        sd=6.0,
        n_total=n,
        stage2_allocation={"x": p2, "y": 1 - p2},
    )
    formula = smart.regime_covariance([("a", "x")])[0, 0]
    assert est.mean() == pytest.approx(smart.regime_means()[("a", "x")], abs=0.05)
    # the sampling SD of a variance estimate from 4000 draws is about 2.2%
    assert est.var() == pytest.approx(formula, rel=0.08)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        pytest.param(
            {"response_rate": {"rTMS": 1.2, "rTMS+MBI": 0.4}},
            ValueError,
            r"response_rate\['rTMS'\] must lie in \[0, 1\]; got",
            id="rate-above-1",
        ),
        pytest.param(
            {"response_rate": {"rTMS": -0.1, "rTMS+MBI": 0.4}},
            ValueError,
            "response_rate",
            id="rate-negative",
        ),
        pytest.param(
            {"response_rate": {"rTMS": 0.3}},
            ValueError,
            r"missing .*'rTMS\+MBI'",
            id="rate-missing-arm",
        ),
        pytest.param(
            {"responder_mean": {"rTMS": 1.0, "rTMS+MBl": 2.0}},
            ValueError,
            r"did you mean 'rTMS\+MBI'",
            id="arm-typo",
        ),
        pytest.param(
            {"nonresponder_mean": {("rTMS", "continue"): -4.0}},
            ValueError,
            "missing regimes",
            id="missing-regime-means",
        ),
        pytest.param(
            {
                "nonresponder_mean": {
                    ("rTMS", "continue"): -4.0,
                    ("rTMS", "augment"): -6.0,
                    ("rTMS+MBI", "continue"): -6.0,
                    ("rTMS+MBI", "augmnt"): -9.0,
                }
            },
            ValueError,
            "did you mean 'augment'",
            id="option-typo",
        ),
        pytest.param({"sd": 0.0}, ValueError, "sd", id="sd-zero"),
        pytest.param(
            {"stage1_allocation": {"rTMS": 0.5, "rTMS+MBI": 0.6}},
            ValueError,
            "sum to 1",
            id="allocation-sum",
        ),
        pytest.param(
            {"stage2_allocation": {"continue": 0.0, "augment": 1.0}},
            ValueError,
            "strictly between 0 and 1",
            id="allocation-zero",
        ),
        pytest.param({"stage1": ("rTMS",)}, ValueError, "at least two", id="one-stage1-arm"),
        pytest.param({"n_total": 1}, ValueError, "n_total", id="n-too-small"),
    ],
)
def test_bad_input(change, error, match) -> None:
    with pytest.raises(error, match=match):
        pinned().replace(**change)


def test_unknown_regime_in_comparison() -> None:
    with pytest.raises(ValueError, match="did you mean 'rTMS'"):
        pinned().power_regimes(("rTM", "augment"), ("rTMS", "continue"))
    with pytest.raises(ValueError, match="must differ"):
        pinned().power_regimes(("rTMS", "augment"), ("rTMS", "augment"))
    with pytest.raises(ValueError, match="method='simulate'"):
        pinned().power(method="simulate")


@settings(max_examples=30, deadline=None)
@given(n=st.integers(20, 2000), g=st.floats(0.0, 0.9))
def test_regime_power_rises_with_n(n: int, g: float) -> None:
    smart = pinned().replace(response_rate={"rTMS": g, "rTMS+MBI": g}, n_total=n)
    pair = (("rTMS+MBI", "augment"), ("rTMS", "continue"))
    assert smart.power_regimes(*pair) <= smart.replace(n_total=n + 1).power_regimes(*pair)


def test_sample_size_ends_for_an_astronomical_answer() -> None:
    # sd=1e6 against a 0.5-unit difference: stepping N by one from the closed
    # form (N ~ 2e14) never ended.  Oetting's closed form (METHODS.md section 8)
    # gives the answer to the precision the power has at that N (about 1e-6).
    g, delta = 0.4, 0.5
    expected = 4 * (Z(0.975) + Z(0.8)) ** 2 * (2 - g) / (delta / 1e6) ** 2
    smart = oetting(g, g, mean_a=delta, mean_b=0.0, sd=1e6)
    ss = smart.sample_size(power=0.8, hypothesis=(("a", "x"), ("b", "y")))
    assert ss.n_total == pytest.approx(expected, rel=1e-5)
