"""No NaN or inf reaches a user silently: inputs that would produce one are refused.

Each case below returned NaN, clipped silently or failed with an unrelated
message before the validation it tests was added (see the audit in the
CHANGELOG); each error must name the parameter, the value and what is allowed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import trialplan as tp


# ------------------------------------------------------------- spending functions
@pytest.mark.parametrize(
    "spending",
    [
        pytest.param(tp.spending.obrien_fleming(), id="obrien_fleming"),
        pytest.param(tp.spending.pocock(), id="pocock"),
        pytest.param(tp.spending.hwang_shih_decani(-4), id="hwang_shih_decani"),
        pytest.param(tp.spending.power_family(2), id="power_family"),
    ],
)
@pytest.mark.parametrize(
    ("fractions", "match"),
    [
        pytest.param(
            math.nan,
            r"fractions must be finite information fractions in \[0, 1\]; "
            r"got fractions=nan",
            id="nan",
        ),
        pytest.param([0.5, math.nan], r"got fractions=\[0.5, nan\]", id="nan-in-list"),
        pytest.param(2.0, r"in \[0, 1\]; got fractions=2.0", id="above-one"),
        pytest.param(-0.5, r"in \[0, 1\]; got fractions=-0.5", id="negative"),
        pytest.param(math.inf, r"got fractions=inf", id="inf"),
    ],
)
def test_spent_refuses_fractions_outside_the_unit_interval(spending, fractions, match):
    with pytest.raises(ValueError, match=match):
        spending.spent(fractions, 0.025)


@pytest.mark.parametrize(
    ("level", "error", "match"),
    [
        pytest.param(math.nan, ValueError, r"level must be finite; got level=nan", id="nan"),
        pytest.param(
            0.0, ValueError, r"level must lie strictly between 0 and 1; got level=0.0", id="zero"
        ),
        pytest.param(1.5, ValueError, r"got level=1.5", id="above-one"),
        pytest.param("0.025", TypeError, r"level must be a real number", id="string"),
    ],
)
def test_spent_refuses_a_level_outside_zero_one(level, error, match):
    with pytest.raises(error, match=match):
        tp.spending.pocock().spent([0.5, 1.0], level)


def test_spent_still_accepts_the_closed_interval():
    # Boundary values are legal: nothing is spent at t = 0, everything at t = 1
    # (Lan & DeMets 1983: alpha(0) = 0, alpha(1) = alpha).
    values = tp.spending.obrien_fleming().spent([0.0, 1.0], 0.025)
    assert values.tolist() == [0.0, 0.025]


# ------------------------------------------------------------ Bayesian decision rule
@pytest.mark.parametrize("favourable", [0, 2, -0.5, True, math.nan])
def test_posterior_rule_needs_a_direction(favourable):
    # favourable = 0 made every posterior probability 0.5 whatever the data.
    rule = tp.PosteriorRule(probability=0.975)
    with pytest.raises(
        ValueError,
        match=r"favourable must be \+1 .* or -1 .*; got "
        r"favourable=",
    ):
        rule.posterior_probability(estimate=-3.0, se=1.6, favourable=favourable)
    with pytest.raises(ValueError, match=r"favourable must be"):
        rule.critical_effect(se=1.6, favourable=favourable)
    with pytest.raises(ValueError, match=r"favourable must be"):
        rule.decide(estimate=-3.0, se=1.6, favourable=favourable)


def test_posterior_rule_directions_still_work():
    # Flat prior: P(theta < 0 | estimate -3.2, se 1.6) = Phi(2) (normal cdf, by hand).
    rule = tp.PosteriorRule(probability=0.975)
    expected = 0.5 * math.erfc(-2.0 / math.sqrt(2))
    assert rule.posterior_probability(estimate=-3.2, se=1.6, favourable=-1) == pytest.approx(
        expected, abs=1e-12
    )
    assert rule.posterior_probability(estimate=3.2, se=1.6, favourable=1) == pytest.approx(
        expected, abs=1e-12
    )


def test_operating_characteristics_refuse_an_empty_list_of_effects():
    cells = [("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI")]
    design = tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(means=dict(zip(cells, (0, -3, -2, -8), strict=True)), sd=8.0),
        n_per_cell=50,
    )
    with pytest.raises(
        ValueError,
        match=r"effects must list at least one true effect.*"
        r"got effects=\[\]",
    ):
        tp.PosteriorRule().operating_characteristics(design, hypothesis="rTMS:MBI", effects=[])
    # a list with one effect still gives one row
    frame = tp.PosteriorRule().operating_characteristics(
        design, hypothesis="rTMS:MBI", effects=np.array([0.0])
    )
    assert len(frame) == 1


# ------------------------------------------------- huge noncentrality (tiny sd, huge f)
_CELLS = [("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI")]


def _huge_effect_design(**changes):
    # The interaction is 1e12 with sd 1e-3: noncentrality ~ 1e16, where
    # scipy.stats.nct.sf returns NaN (it did so from |delta| ~ 1e10).
    means = dict(zip(_CELLS, (0.0, 0.0, 0.0, 1e12), strict=True))
    kwargs = dict(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(means=means, sd=1e-3),
        n_per_cell=50,
    )
    kwargs.update(changes)
    return tp.Factorial(**kwargs)


def test_power_at_a_huge_noncentrality_is_one_not_nan():
    # Limit by hand: P(|T| > c) -> 1 as |delta| -> inf. Every non-null
    # hypothesis here has |effect / se| >= 1e13; "A | B=b0" has effect 0 (power = alpha).
    frame = _huge_effect_design().power().to_frame().set_index("hypothesis")
    assert not frame["power"].isna().any()
    for name in ("rTMS", "MBI", "rTMS:MBI", "rTMS | MBI=MBI", "MBI | rTMS=active"):
        assert frame.loc[name, "power"] == pytest.approx(1.0, abs=1e-12)
    assert frame.loc["rTMS | MBI=control", "power"] == pytest.approx(0.05, abs=1e-12)


def test_one_sided_power_at_a_huge_wrong_way_effect_is_zero_not_nan():
    # better="lower" but the effect is +1e12: a one-sided test never rejects.
    design = _huge_effect_design(sided=1)
    assert design.power("rTMS:MBI")["rTMS:MBI"] == pytest.approx(0.0, abs=1e-12)
    ancova = _huge_effect_design(outcome=design.outcome.replace(baseline_corr=0.3))
    assert ancova.power("rTMS:MBI")["rTMS:MBI"] == pytest.approx(1.0, abs=1e-9)


def test_far_tail_matches_the_noncentral_t_where_scipy_still_works():
    # The fallback P(delta / U > c) against scipy's exact noncentral t at
    # |delta| = 1e4..1e6, where nct.sf is still finite (relative error ~ 1/delta).
    from scipy import stats

    from trialplan.power import _far_tail

    for df, crit, delta in [(1, 3000.0, 1e4), (5, 50.0, 1e4), (2, -50.0, -1e4), (30, 2.0, 1e6)]:
        exact = stats.nct.sf(crit, df, delta)
        assert float(_far_tail(crit, df, np.array([delta]))[0]) == pytest.approx(
            exact, rel=1e-5, abs=1e-15
        )


def test_anova_power_at_a_huge_cohens_f_is_one_not_nan():
    # scipy.stats.ncf.sf is NaN from lambda ~ 1e19; power tends to 1 as f grows.
    assert tp.anova_power(cohens_f=1e12, n_total=100, n_groups=4) == 1.0
    assert tp.anova_power(cohens_f=1e300, n_total=100, n_groups=4) == 1.0  # f**2 overflows
    # G*Power 3.1, F tests, f = 0.25, N = 128, 4 groups, alpha 0.05: 0.8013621
    assert tp.anova_power(cohens_f=0.25, n_total=128, n_groups=4) == pytest.approx(
        0.8013621, abs=1e-7
    )


@pytest.mark.parametrize(
    ("prior", "expected"),
    [
        pytest.param(tp.NormalPrior(mean=-1e12, sd=1.0), 1.0, id="normal-far-favourable"),
        pytest.param(tp.NormalPrior(mean=1e12, sd=1.0), 0.0, id="normal-far-unfavourable"),
        pytest.param(np.array([-1e12, -2e12]), 1.0, id="sample-far-favourable"),
    ],
)
def test_assurance_with_a_prior_far_from_zero_is_not_nan(prior, expected):
    # An effect of -1e12 (better="lower") is certain to be detected, +1e12 never
    # in the favourable tail; the Gauss-Hermite nodes hit nct.sf's NaN region.
    design = _huge_effect_design(
        outcome=tp.Continuous(means=dict(zip(_CELLS, (0.0, -3.0, -2.0, -8.0), strict=True)), sd=8.0)
    )
    value = design.assurance(hypothesis="rTMS:MBI", prior=prior).value
    assert value == pytest.approx(expected, abs=1e-12)


def test_assurance_refuses_a_prior_for_several_effects():
    from scipy import stats

    design = _huge_effect_design()
    with pytest.raises(
        ValueError,
        match=r"prior=scipy.stats.norm\(\[-4, -3\], 2\) describes "
        r"2 effects",
    ):
        design.assurance(hypothesis="rTMS:MBI", prior=stats.norm([-4, -3], 2))


def test_combination_power_with_an_almost_singular_correlation():
    # Rates of 1e-12 and 1 - 1e-12 make the shared combination cell dominate
    # both comparisons on the log-odds scale: correlation 1 - 5e-12, which
    # scipy's multivariate normal refused with LinAlgError.  Both components
    # then have noncentrality ~2e-4, so the min test rejects with probability
    # P(Z > z_0.975) = 0.025 (one-sided level alpha / 2), to O(1e-4).
    rates = dict(zip(_CELLS, (1e-12, 0.30, 0.22, 1 - 1e-12), strict=True))
    design = _huge_effect_design(outcome=tp.Binary(rates=rates, scale="log_odds"))
    assert design.power("combination")["combination"] == pytest.approx(0.025, abs=1e-3)


def test_joint_power_refuses_a_correlation_that_is_not_positive_semidefinite():
    from trialplan.power import joint_power

    corr = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    with pytest.raises(
        ValueError,
        match=r"correlation must be positive semi-definite; its "
        r"smallest eigenvalue is -0.8",
    ):
        joint_power([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], corr, math.inf)


@pytest.mark.parametrize("n", [50, 200])
@pytest.mark.parametrize("rho", [0.3, 0.8])
def test_ancova_power_stays_a_probability_at_overwhelming_effects(rho: float, n: int) -> None:
    # The imbalance quadrature's weights sum to 1 only to rounding: an effect of 3 SDs
    # gave 1.0000000000000002 in these four designs before the power was clipped.
    design = tp.Factorial(
        factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        outcome=tp.Continuous(
            means={("a0", "b0"): 0.0, ("a1", "b0"): 3.0, ("a0", "b1"): 0.0, ("a1", "b1"): 3.0},
            sd=1.0,
            baseline_corr=rho,
        ),
        n_per_cell=n,
    )
    assert 0.999 < design.power("A")["A"] <= 1.0
