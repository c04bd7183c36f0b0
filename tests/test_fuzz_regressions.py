"""One regression test per edge defect of issue 21 (item 6) and of tests/test_fuzz.py.

Each test states the old behaviour.  Expected values are independent
calculations written out here (scipy's central F and noncentral t, the
definition of a spending function) or the defining property of the quantity
(a probability lies in [0, 1], a group-sequential design never needs less
information than the fixed one -- Neyman-Pearson).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as sst

import trialplan as tp

FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
CELLS = [("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI")]
MEANS = dict(zip(CELLS, (0.0, -3.0, -2.0, -8.0), strict=True))


def factorial(**kwargs) -> tp.Factorial:
    options = {"outcome": tp.Continuous(means=MEANS, sd=8.0), "n_per_cell": 50} | kwargs
    return tp.Factorial(factors=FACTORS, **options)


def gsd(**kwargs) -> tp.GroupSequential:
    return tp.GroupSequential(
        **({"info_fractions": (0.5, 1.0), "alpha": 0.025, "beta": 0.1} | kwargs)
    )


# ---------------------------------------------------------------- sequential
@pytest.mark.parametrize("beta", [1e-7, 1e-8, 1e-12, 1e-200])
def test_tiny_beta_is_refused_by_name(beta: float) -> None:
    # was: drift levelled off near 7.53 and the inflation factor fell below 1
    # (0.996 at 1e-7, 0.71 at 1e-12); a solver error "function value is NaN" at 1e-200
    with pytest.raises(ValueError, match=rf"beta must be at least 0.0001.*beta={beta!r}"):
        gsd(beta=beta)


@pytest.mark.parametrize("fractions", [(0.5, 1.0), (1 / 3, 2 / 3, 1.0), (0.2, 0.4, 0.6, 0.8, 1.0)])
def test_inflation_at_the_smallest_beta_is_at_least_one(fractions: tuple) -> None:
    # Neyman-Pearson: no group-sequential test reaches the power of the fixed design
    # with less information, so I_max / I_fixed >= 1.
    design = gsd(info_fractions=fractions, beta=1e-4)
    assert design.inflation_factor >= 1.0
    assert design.power_at(design.drift) == pytest.approx(1 - 1e-4, abs=1e-8)


@pytest.mark.parametrize("alpha", [1e-12, 1e-200, 1e-310])
def test_tiny_alpha_is_refused_by_name(alpha: float) -> None:
    # was: inflation 0.99999927 < 1 at 1e-12, scipy's "function value is NaN" below
    with pytest.raises(ValueError, match=rf"alpha must be at least 1e-10.*alpha={alpha!r}"):
        gsd(alpha=alpha)


def test_sequential_sample_size_at_extreme_power() -> None:
    # was: power=1-1e-10 reported power 1.0000000012 and a maximum N below the fixed one
    design = factorial()
    with pytest.raises(ValueError, match=r"power must be at most 0.9999.*power=0.9999999999"):
        design.sample_size(power=1 - 1e-10, hypothesis="rTMS", sequential=gsd())
    seq = design.sample_size(power=0.9999, hypothesis="rTMS", sequential=gsd())
    fixed = design.replace(alpha=0.05).sample_size(power=0.9999, hypothesis="rTMS")
    assert 0.9999 <= seq.power <= 1.0
    assert seq.n_total >= fixed.n_total


def test_drift_for_power_refuses_power_beyond_the_recursion() -> None:
    with pytest.raises(ValueError, match=r"power must be at most 0.9999"):
        gsd().drift_for_power(1 - 1e-9)


def test_hwang_shih_decani_near_zero_gamma_is_linear_spending() -> None:
    # was: gamma=5e-324 spent nothing before the last look (0/denormal), an infinite bound
    spent = tp.spending.hwang_shih_decani(5e-324).spent([0.25, 0.5, 1.0], 0.025)
    assert spent.tolist() == pytest.approx([0.025 * 0.25, 0.025 * 0.5, 0.025], rel=1e-12)


# ----------------------------------------------------------------- sizes
@pytest.mark.parametrize("n", [10**18, 2**62 + 2, 10**15 + 1])
def test_cell_sizes_beyond_1e15_are_refused(n: int) -> None:
    # was: 2**62+2 per cell overflowed n_total to 8; 1e18 gave a NaN combination power
    with pytest.raises(ValueError, match=rf"n_per_cell must be at most 1e\+15.*{n}"):
        factorial(n_per_cell=n)
    with pytest.raises(ValueError, match=r"n_per_arm\['B'\] must be at most 1e\+15"):
        tp.Parallel(
            arms=("A", "B"),
            outcome=tp.Continuous(means={"A": 0.0, "B": 1.0}, sd=1.0),
            n_per_arm={"A": 10, "B": n},
        )


def test_largest_cell_size_still_gives_probabilities() -> None:
    design = factorial(n_per_cell=10**15)
    assert design.n_total == 4 * 10**15
    powers = design.power().to_frame()["power"]
    assert powers.between(0.0, 1.0).all()
    assert powers.tolist() == [1.0] * len(powers)  # every effect is certain at this size


def test_smart_n_total_beyond_1e15_is_refused() -> None:
    with pytest.raises(ValueError, match=r"n_total must be at most 1e\+15"):
        tp.SMART(
            stage1=("a", "b"),
            stage2=("x", "y"),
            response_rate={"a": 0.3, "b": 0.4},
            responder_mean={"a": -14.0, "b": -15.0},
            nonresponder_mean={("a", "x"): -4, ("a", "y"): -6, ("b", "x"): -6, ("b", "y"): -9},
            sd=8.0,
            n_total=2**62 + 2,
        )


def test_schedule_length_is_bounded() -> None:
    # was: n=2**62 built the list until the memory ran out
    with pytest.raises(ValueError, match=r"n=4611686018427387904 per stratum.*10,000,000"):
        tp.randomization.permuted_blocks(factorial(), n=2**62, seed=1)
    with pytest.raises(ValueError, match=r"block_sizes must be at most 10,000,000"):
        tp.randomization.permuted_blocks(factorial(), n=8, block_sizes=(4, 2**63), seed=1)


# ------------------------------------------------------------- anova_power
@pytest.mark.parametrize("cohens_f", [1e-200, 1e-160, 5e-324])
def test_anova_power_at_a_vanishing_effect_is_alpha(cohens_f: float) -> None:
    # was: -0.95 (scipy's ncf.sf is wrong at a zero noncentrality); the power of an F test
    # with no effect is its size: the central F tail at its own critical value
    expected = sst.f.sf(sst.f.isf(0.05, 1, 96), 1, 96)
    assert tp.anova_power(cohens_f=cohens_f, n_total=100, n_groups=4) == pytest.approx(
        expected, rel=1e-12
    )


def test_anova_power_refuses_astronomical_counts() -> None:
    # was: df_num=1e300 reached scipy, which raised "ufunc 'fdtri' not supported"
    with pytest.raises(ValueError, match=r"df_num must be at most 1e\+15"):
        tp.anova_power(cohens_f=0.25, n_total=128, n_groups=4, df_num=1e300)


# -------------------------------------------------------- rates and scales
def test_rates_below_1e_300_are_refused_by_name() -> None:
    # was: RERI power NaN for a rate <= 1e-310 (risk ratios overflowed)
    rates = {**dict(zip(CELLS, (0.2, 0.3, 0.3, 0.5), strict=True)), CELLS[0]: 1e-310}
    with pytest.raises(ValueError, match=r"rates\[\('sham', 'control'\)\] must be at least 1e-100"):
        tp.Binary(rates=rates)


def test_smallest_rate_gives_finite_interaction_powers() -> None:
    rates = {**dict(zip(CELLS, (0.2, 0.3, 0.3, 0.5), strict=True)), CELLS[0]: 1e-100}
    design = factorial(outcome=tp.Binary(rates=rates))
    table = design.outcome.interaction_scales(design, warn=False)
    defined = table[~table["note"].fillna("").str.startswith("undefined")]
    assert defined["power"].between(0.0, 1.0).all()
    assert np.isfinite(defined["estimate"]).all()
    assert design.power().to_frame()["power"].between(0.0, 1.0).all()


def test_interaction_contrasts_refuse_subnormal_cells() -> None:
    # was: RERI -inf for a reference cell of 1e-310
    cells = dict(zip(CELLS, (1e-310, 0.3, 0.3, 0.5), strict=True))
    with pytest.raises(ValueError, match=r"cells\[\('sham', 'control'\)\] must be 0 or"):
        tp.synergy.interaction_contrasts(cells)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        pytest.param(
            lambda: tp.Continuous(means=MEANS, sd=1e300),
            r"sd must lie between 1e-150 and 1e\+150.*sd=1e\+300",
            id="sd-1e300-was-OverflowError",
        ),
        pytest.param(
            lambda: tp.Continuous(means=MEANS, sd=1e-200),
            r"sd must lie between 1e-150 and 1e\+150.*sd=1e-200",
            id="sd-1e-200-was-zero-se",
        ),
        pytest.param(
            lambda: tp.Continuous(means={**MEANS, CELLS[0]: 1e300}, sd=8.0),
            r"means\[\('sham', 'control'\)\] must lie between",
            id="mean-1e300-was-OverflowError",
        ),
        pytest.param(
            lambda: tp.Continuous(means={**MEANS, CELLS[0]: 10**400}, sd=8.0),
            r"means\[\('sham', 'control'\)\] must be finite",
            id="huge-int-was-OverflowError",
        ),
        pytest.param(
            lambda: tp.Repeated(
                means={c: (0.0, v) for c, v in MEANS.items()}, times=(0.0, 1.0), sd=1e-200, rho=0.5
            ),
            r"sd must lie between 1e-150",
            id="repeated-sd-1e-200-was-LinAlgError",
        ),
        pytest.param(
            lambda: tp.Repeated(
                means={c: (0.0, v) for c, v in MEANS.items()}, times=("a", 1.0), sd=1.0, rho=0.5
            ),
            r"times must be a sequence of visit times.*'a'",
            id="repeated-text-time-was-unnamed",
        ),
        pytest.param(
            lambda: tp.Repeated(
                means={c: (0.0, 0.0, v) for c, v in MEANS.items()},
                times=(0.0, 1.0, 2.0),
                sd=1.0,
                rho=1 - 1e-16,
            ),
            r"rho must lie in .* at least 1e-10 inside",
            id="repeated-rho-1-was-a-slope-message",
        ),
        pytest.param(
            lambda: tp.Clustering(factor="MBI", icc=0.05, group_size=8, size_cv=1e300),
            r"group_size=8.0 and size_cv=1e\+300 give a design effect",
            id="size-cv-1e300-was-OverflowError",
        ),
    ],
)
def test_extreme_outcome_values_get_named_errors(make, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# ------------------------------------------------------- other entry points
def test_smart_alpha_below_1e_300_is_refused() -> None:
    # was: OverflowError "cannot convert float infinity to integer" in sample_size
    with pytest.raises(ValueError, match=r"alpha must be at least 1e-300.*alpha=5e-324"):
        tp.SMART(
            stage1=("a", "b"),
            stage2=("x", "y"),
            response_rate={"a": 0.3, "b": 0.4},
            responder_mean={"a": -14.0, "b": -15.0},
            nonresponder_mean={("a", "x"): -4, ("a", "y"): -6, ("b", "x"): -6, ("b", "y"): -9},
            sd=8.0,
            n_total=200,
            alpha=5e-324,
        )


def test_dunnett_alpha_near_one_is_refused_by_name() -> None:
    # was: scipy's "f(a) and f(b) must have different signs"
    arms = tp.Parallel(
        arms=("A", "B", "C"),
        outcome=tp.Continuous(means={"A": 0.0, "B": 2.0, "C": 3.0}, sd=8.0),
        n_per_arm=60,
        control="A",
        alpha=1 - 1e-16,
    )
    with pytest.raises(ValueError, match=r"alpha=0.9999999999999999 is too large for a Dunnett"):
        arms.power(multiplicity=tp.Dunnett())


def test_required_events_power_at_or_below_alpha_is_refused() -> None:
    # was: scipy's "f(a) and f(b) must have different signs"
    design = factorial(
        outcome=tp.TimeToEvent(
            hazards=dict(zip(CELLS, (0.1, 0.08, 0.08, 0.05), strict=True)),
            accrual=12.0,
            follow_up=12.0,
        )
    )
    with pytest.raises(ValueError, match=r"power must exceed the test's type I error.*1e-07"):
        tp.required_events(design, power=1e-7, hypothesis="rTMS")


def test_schoenfeld_events_overflow_is_a_named_error() -> None:
    # was: inf events returned
    with pytest.raises(ValueError, match=r"overflow the float range.*allocation=1e-310"):
        tp.schoenfeld_events(hazard_ratio=0.7, power=0.8, allocation=1e-310)


@pytest.mark.parametrize(
    "p_values", [{"a": "0.01", "b": 0.2}, ["0.01", 0.2], {"a": True, "b": 0.2}, "01"]
)
def test_p_values_must_be_numbers(p_values) -> None:
    # was: Holm.test("0.01") accepted (numpy turned the text into a number)
    with pytest.raises(TypeError, match=r"p_values"):
        tp.Holm(["a", "b"]).test(p_values)
    with pytest.raises(TypeError, match=r"p_values"):
        tp.Hochberg(["a", "b"]).test(p_values)


def test_discrete_prior_assurance_is_the_average_power() -> None:
    # was: a matmul shape error; assurance over randint(-6, -1) (effects -6..-2 equally
    # likely) is the mean of the favourable-tail power of the two-sided t test, written
    # out with scipy's noncentral t (df = 196, se = 8 sqrt(4 / 50), lower is better)
    design = factorial(outcome=tp.Continuous(means=MEANS, sd=8.0, better="lower"))
    res = design.assurance(hypothesis="rTMS:MBI", prior=sst.randint(-6, -1))
    se, df = 8.0 * math.sqrt(4 / 50), 196
    crit = sst.t.isf(0.025, df)
    expected = np.mean([sst.nct.sf(crit, df, -theta / se) for theta in range(-6, -1)])
    assert res.value == pytest.approx(expected, rel=1e-9)
    assert "support" in res.method


def test_normal_prior_far_beyond_the_effect_stays_a_probability() -> None:
    # was: assurance 1.0000000000000002 (quadrature weights summing to 1 + 2e-16)
    res = factorial().assurance(hypothesis="rTMS:MBI", prior=tp.NormalPrior(mean=-1e300, sd=2.0))
    assert 0.0 <= res.value <= 1.0


def test_cell_mapping_errors_name_the_parameter() -> None:
    # was: "Continuous cells are missing ..." (no parameter named)
    with pytest.raises(ValueError, match=r"Continuous means are missing \[\('sham', 'control'\)\]"):
        factorial(outcome=tp.Continuous(means=dict(list(MEANS.items())[1:]), sd=8.0))
    with pytest.raises(ValueError, match=r"Binary rates key \('x', 'y'\)"):
        factorial(outcome=tp.Binary(rates={**dict.fromkeys(CELLS, 0.3), ("x", "y"): 0.3}))
