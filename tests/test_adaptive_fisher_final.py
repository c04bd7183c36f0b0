"""Final confidence interval and median-unbiased estimate of Fisher's combination test.

References: tests/references/fisher_final_ci_bruteforce.py (brute-force simulation of
the stage-wise ordering at the computed limits, 10 million trials per row, MCSE in the
CSV); scipy.integrate.quad of the two-stage p-value function (independent adaptive
quadrature); the exact null law of the final p-value (``_fisher_exits``, checked against
rpact 3.3.4 in test_adaptive_rpact.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

import trialplan as tp
from trialplan.adaptive import FisherCombination, final_analysis
from trialplan.adaptive import inference as inf
from trialplan.adaptive.combination import stage_test

REF = Path(__file__).parent / "references"


def _load_cases() -> dict:
    # the script's designs and data, without running its simulation
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "fisher_final_ci_bruteforce", REF / "fisher_final_ci_bruteforce.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.CASES


CASES = _load_cases()
BRUTE = pd.read_csv(REF / "fisher_final_ci_bruteforce.csv")


def test_brute_force_fixture_covers_every_case_and_quantity() -> None:
    assert set(BRUTE["case"]) == set(CASES)
    assert len(BRUTE) == 4 * len(CASES)
    assert (BRUTE["n_sims"] == 10_000_000).all()


@pytest.mark.parametrize("case", sorted(CASES))
def test_limits_and_estimate_have_their_coverage_by_brute_force(case: str) -> None:
    design, estimates, ses = CASES[case]
    res = final_analysis(design, estimates=estimates, standard_errors=ses)
    assert res.notes == ()
    rows = BRUTE[BRUTE["case"] == case].set_index("quantity")
    # the fixture was simulated at the limits trialplan gives now
    assert res.final_ci[0] == pytest.approx(rows.loc["final_ci_lower", "theta"], abs=1e-8)
    assert res.final_ci[1] == pytest.approx(rows.loc["final_ci_upper", "theta"], abs=1e-8)
    assert res.median_unbiased == pytest.approx(rows.loc["median_unbiased", "theta"], abs=1e-8)
    assert res.final_p_value == pytest.approx(rows.loc["final_p_value_at_0", "target"], rel=1e-10)
    assert res.final_ci[0] < res.median_unbiased < res.final_ci[1]
    # P_theta(outcome at least as extreme as observed): alpha, 1 - alpha, 1/2, final p
    expected = {
        "final_ci_lower": design.alpha,
        "final_ci_upper": 1.0 - design.alpha,
        "median_unbiased": 0.5,
        "final_p_value_at_0": res.final_p_value,
    }
    for quantity, target in expected.items():
        frac, mcse = rows.loc[quantity, "fraction"], rows.loc[quantity, "mcse"]
        assert abs(frac - target) <= 4.0 * mcse, (quantity, frac, target, mcse)


def _p_null_and_quadrature(design: FisherCombination, estimates: list, ses: list):
    """Stopping stage, exact null final p-value and the quadrature's p(0) (no repeated p)."""
    test = stage_test(design)
    data = inf._Stages(estimates, ses, None, 1)
    z = data.z()
    comb = inf._combine(test, z)
    stage, outcome = design.n_looks, "end"
    for k in range(design.n_looks):
        if inf._rejects(test, comb[k], k):
            stage, outcome = k + 1, "efficacy"
            break
        if design.binding and k < design.n_looks - 1 and inf._futile(test, z[k], comb[k], k):
            stage, outcome = k + 1, "futility"
            break
    p_exact = inf._final_p(test, data, comb, stage, design.binding)
    p_quad = inf._fisher_tail(test, data, comb, stage, design.binding, 0.0)
    return stage, outcome, p_exact, p_quad


DESIGNS = [
    FisherCombination(info_fractions=(0.5, 1.0), alpha=0.025),
    FisherCombination(info_fractions=(0.4, 1.0), alpha=0.025, alpha0=0.5, binding=True),
    FisherCombination(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025),
    FisherCombination(info_fractions=(0.3, 0.6, 1.0), alpha=0.05, alpha0=0.4, binding=True),
    FisherCombination(
        info_fractions=(0.3, 0.6, 1.0), alpha=0.025, method=tp.spending.obrien_fleming()
    ),
    FisherCombination(
        info_fractions=(0.3, 0.6, 1.0),
        alpha=0.025,
        alpha0=(0.5, 0.3),
        binding=True,
        method=(0.005, 0.015, 0.025),
    ),
    FisherCombination(info_fractions=(0.25, 1.0), alpha=0.025, alpha0=0.5, binding=True),
    FisherCombination(info_fractions=(0.2, 0.5, 1.0), alpha=0.05, alpha0=0.4, binding=True),
    FisherCombination(
        info_fractions=(0.3, 0.6, 1.0),
        alpha=0.025,
        alpha0=(0.5, 0.3),
        binding=True,
        method="no_interaction",
    ),
]
Z_PATHS = [
    (3.6, 0.0, 0.0),
    (0.8, 0.9, 2.5),
    (0.8, 0.9, 0.2),
    (0.3, 0.2, 0.1),
    (1.2, 2.4, 0.5),
    (1.0, 0.1, 2.6),
    (-0.8, 1.0, 1.0),
    (0.4, -0.9, 2.0),
]


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: f"K{d.n_looks}-{d.binding}")
def test_quadrature_at_zero_equals_the_exact_null_final_p_value(design: FisherCombination) -> None:
    # p(0) of the nested quadrature against the exact null law (_fisher_exits): 1e-8
    seen = set()
    for path in Z_PATHS:
        k = design.n_looks
        stage, outcome, p_exact, p_quad = _p_null_and_quadrature(
            design, [0.2 * z for z in path[:k]], [0.2] * k
        )
        seen.add(stage)
        assert abs(p_quad - p_exact) < 1e-8, (path, stage, outcome, p_quad, p_exact)
    assert len(seen) >= 2  # several stopping stages exercised


@pytest.mark.parametrize("favourable", [1, -1])
def test_stage_one_stop_gives_the_naive_z_interval(favourable: int) -> None:
    # Stopped at stage 1: p(theta) = Phi((theta - est) / se), so the interval is
    # est -+ z_{1 - alpha} se at stage 1's data alone and the estimate est itself.
    design = FisherCombination(info_fractions=(0.4, 0.7, 1.0), alpha=0.025)
    est, se = 2.5 * favourable, 0.9
    res = final_analysis(design, estimates=[est], standard_errors=[se], favourable=favourable)
    assert (res.stage, res.outcome) == (1, "efficacy")
    q = stats.norm.ppf(0.975)
    assert res.final_ci[0] == pytest.approx(est - q * se, abs=1e-9)
    assert res.final_ci[1] == pytest.approx(est + q * se, abs=1e-9)
    assert res.median_unbiased == pytest.approx(est, abs=1e-9)


def test_two_stage_limits_against_adaptive_quadrature() -> None:
    # Independent: P_theta = P(p1 <= c1) + int_{z1 < z(c1)} phi(z1 - d1) P(p2 <= obs / p1) dz1
    # by scipy's adaptive quad, evaluated at the computed limits.
    design = FisherCombination(info_fractions=(0.3, 1.0), alpha=0.025, alpha0=0.6, binding=True)
    ses = np.array([0.3, 0.12])
    res = final_analysis(design, estimates=[0.4, 0.3], standard_errors=ses)
    assert (res.stage, res.outcome) == (2, "efficacy")
    c1 = design.critical_values[0]
    v2 = design.weights[1]
    log_obs = math.log(res.combination[1])
    z_hi, z_lo = -special.ndtri(c1), -special.ndtri(0.6)  # reject above, futility below

    def p_of(theta: float) -> float:
        d1, d2 = theta / ses

        def inner(z1: float) -> float:
            log_b = min(0.0, (log_obs - special.log_ndtr(-z1)) / v2)
            return stats.norm.pdf(z1 - d1) * special.ndtr(d2 + special.ndtri(math.exp(log_b)))

        val, _ = integrate.quad(inner, z_lo, z_hi, epsabs=1e-13, epsrel=1e-12, limit=400)
        return float(special.ndtr(d1 - z_hi) + val)

    assert p_of(res.final_ci[0]) == pytest.approx(0.025, abs=1e-9)
    assert p_of(res.final_ci[1]) == pytest.approx(0.975, abs=1e-9)
    assert p_of(res.median_unbiased) == pytest.approx(0.5, abs=1e-9)
    assert p_of(0.0) == pytest.approx(res.final_p_value, abs=1e-10)


def test_lower_is_better_mirrors_the_interval() -> None:
    design = FisherCombination(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025)
    up = final_analysis(design, estimates=[0.3, 0.1, 0.4], standard_errors=[0.2, 0.2, 0.2])
    down = final_analysis(
        design, estimates=[-0.3, -0.1, -0.4], standard_errors=[0.2, 0.2, 0.2], favourable=-1
    )
    assert down.final_ci[0] == pytest.approx(-up.final_ci[1], abs=1e-10)
    assert down.final_ci[1] == pytest.approx(-up.final_ci[0], abs=1e-10)
    assert down.median_unbiased == pytest.approx(-up.median_unbiased, abs=1e-10)


def test_four_stage_stop_is_refused_with_a_note() -> None:
    design = FisherCombination(info_fractions=(0.25, 0.5, 0.75, 1.0), alpha=0.025)
    res = final_analysis(design, estimates=[0.1, 0.1, 0.1, 0.1], standard_errors=[0.2] * 4)
    assert (res.stage, res.outcome) == (4, "end")
    assert math.isfinite(res.final_p_value)
    assert math.isnan(res.median_unbiased)
    assert all(math.isnan(b) for b in res.final_ci)
    assert any("stopped by stage 3" in note and "stage 4" in note for note in res.notes)
    # the same design stopped at stage 2 gets its interval
    early = final_analysis(design, estimates=[0.3, 0.8], standard_errors=[0.2, 0.2])
    assert early.stage == 2
    assert early.notes == ()
    assert early.final_ci[0] < early.median_unbiased < early.final_ci[1]
    with pytest.raises(ValueError, match="stopped by stage 3; got stage 4"):
        inf._fisher_p_function(np.ones(4), np.full(4, -5.0), np.full(4, -np.inf), np.zeros(4))


@pytest.mark.parametrize(
    "design",
    [
        # the no-interaction method is defined by binding futility bounds; the repeated
        # p-value rebuilt the design without them and always raised
        dict(info_fractions=(0.3, 0.6, 1.0), method="no_interaction", alpha0=0.5, binding=True),
        # a later weight above 1: the critical value at a tiny level lay below the old
        # bracket (level * 1e-12), so the repeated p-value's rebuild raised
        dict(info_fractions=(0.25, 1.0), alpha0=0.5, binding=True),
        dict(info_fractions=(0.2, 0.5, 1.0), alpha0=0.5, binding=True),
    ],
)
@pytest.mark.parametrize("estimate", [0.3, 1.0, 2.5])
def test_repeated_p_value_rejects_exactly_where_the_design_does(design, estimate) -> None:
    # Definition (Wassmer & Brannath 2016, sec. 6.3): the repeated p-value at stage k is at
    # most alpha exactly when the stage-k product crosses the design's own critical value.
    fisher = FisherCombination(alpha=0.025, **design)
    k = fisher.n_looks
    result = final_analysis(fisher, estimates=[estimate] * k, standard_errors=[1.0, 0.8, 0.6][:k])
    for stage in range(k):
        product, crit = result.combination[stage], fisher.critical_values[stage]
        if abs(math.log(product) - math.log(crit)) < 1e-6:
            continue  # a tie up to the root finder's tolerance decides nothing
        assert (result.repeated_p_values[stage] <= 0.025) == (product <= crit), (stage, product)


def test_critical_values_at_a_tiny_level_with_a_later_weight_above_one() -> None:
    # Equal local levels: P0(p1^v1 p2^v2 <= c2) equals the stage-1 level c1 (rpact's
    # "equalAlpha"). With v1 = 1 and a = v1 / v2 < 1 the probability has a closed form,
    # c2 + c2^a (1 - c2^(1 - a)) / (1 - a) (integrate P(p2 <= (c2 / p1)^(1 / v2)) over
    # p1), independent of the solver, which raised here before (its bracket stopped at
    # level * 1e-12).
    fisher = FisherCombination(info_fractions=(0.25, 1.0), alpha=1e-8, method="equal_alpha")
    v1, v2 = fisher.weights
    assert v1 == 1.0
    assert v2 > 1.0
    c2, a = fisher.critical_values[1], v1 / v2
    closed_form = c2 + c2**a * (1.0 - c2 ** (1.0 - a)) / (1.0 - a)
    assert closed_form == pytest.approx(fisher.critical_values[0], rel=1e-9)
    assert 4e-9 < fisher.critical_values[0] < 1e-8
