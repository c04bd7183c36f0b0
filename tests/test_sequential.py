"""Group-sequential designs against rpact, Jennison & Turnbull and closed forms.

Expected values come from tests/references/gsd_rpact.csv (written by
tests/references/gsd_rpact.R with rpact 3.3.4), from published tables
(Jennison & Turnbull 2000, Tables 2.1-2.3, as listed in REFERENCES.md), from
the multivariate normal distribution function (scipy) for the recursion, and
from closed forms of the spending functions.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

import trialplan as tp
from trialplan.sequential.recursion import crossings as _crossings

REFERENCES = Path(__file__).parent / "references"
RPACT = pd.read_csv(REFERENCES / "gsd_rpact.csv", comment="#")


def _spending(code: str, gamma: float):
    kind = code[2:] if code[:2] in ("as", "bs") else code
    if code == "OF":
        return tp.boundaries.obrien_fleming()
    if code == "P":
        return tp.boundaries.pocock()
    return {
        "OF": lambda: tp.spending.obrien_fleming(),
        "P": lambda: tp.spending.pocock(),
        "KD": lambda: tp.spending.power_family(gamma),
        "HSD": lambda: tp.spending.hwang_shih_decani(gamma),
    }[kind]()


def _rpact_design(case: str) -> tuple[tp.GroupSequential, pd.DataFrame]:
    rows = RPACT[RPACT["case"] == case]
    first = rows.iloc[0]
    futility = (
        None if first.beta_spending == "none" else _spending(first.beta_spending, first.gamma_b)
    )
    gsd = tp.GroupSequential(
        info_fractions=tuple(rows["info_rate"]),
        alpha=float(first.alpha),
        sided=int(first.sided),
        efficacy=_spending(first.design, first.gamma_a),
        futility=futility,
        beta=float(first.beta),
        binding=bool(first.binding) if futility is not None else False,
    )
    return gsd, rows


CASES = list(dict.fromkeys(RPACT["case"]))


@pytest.mark.parametrize("case", [pytest.param(c, id=f"rpact-3.3.4-{c}") for c in CASES])
def test_bounds_match_rpact(case: str) -> None:
    gsd, rows = _rpact_design(case)
    np.testing.assert_allclose(gsd.efficacy_z, rows["efficacy"], rtol=0, atol=1e-6)
    if gsd.futility is not None:
        np.testing.assert_allclose(gsd.futility_z, rows["futility"], rtol=0, atol=1e-6)
    else:
        assert gsd.futility_z is None
    np.testing.assert_allclose(gsd.alpha_spent, rows["alpha_spent"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("case", [pytest.param(c, id=f"rpact-3.3.4-{c}") for c in CASES])
def test_characteristics_match_rpact(case: str) -> None:
    # rpact getDesignCharacteristics: inflationFactor, averageSampleNumber0/1
    # (expected information relative to the fixed design), rejection and
    # futility probabilities per look under H1 (power in the upper tail only).
    gsd, rows = _rpact_design(case)
    first = rows.iloc[0]
    assert gsd.inflation_factor == pytest.approx(first.inflation_factor, abs=1e-5)
    assert gsd.drift == pytest.approx(first["shift"] ** 0.5, abs=1e-5)
    assert gsd.expected_information["H0"] == pytest.approx(first.asn_h0, abs=1e-5)
    assert gsd.expected_information["H1"] == pytest.approx(first.asn_h1, abs=1e-5)
    frame = gsd.to_frame()
    np.testing.assert_allclose(frame["stop_efficacy_h1"], rows["reject_h1"], atol=1e-5)
    np.testing.assert_allclose(frame["power"], rows["power_cum"], atol=1e-5)
    if gsd.futility is not None:
        np.testing.assert_allclose(
            frame["stop_futility_h1"][:-1], rows["futility_h1"][:-1], atol=1e-5
        )


# Jennison & Turnbull 2000, Tables 2.1-2.3 (two-sided alpha = 0.05, equal
# spacing); the constants and max-information ratios are listed in REFERENCES.md.
JT = [
    pytest.param("pocock", 4, 2.361, 1.202, 1.183, id="JT-Table2.1-2.2-Pocock-K4"),
    pytest.param("pocock", 5, 2.413, 1.229, 1.207, id="JT-Table2.1-2.2-Pocock-K5"),
    pytest.param("obrien_fleming", 5, 2.040, 1.028, 1.026, id="JT-Table2.3-OBF-K5"),
]


@pytest.mark.parametrize(("shape", "looks", "constant", "r80", "r90"), JT)
def test_jennison_turnbull_constants(
    shape: str, looks: int, constant: float, r80: float, r90: float
) -> None:
    boundary = getattr(tp.boundaries, shape)()
    fractions = tuple(k / looks for k in range(1, looks + 1))
    gsd80 = tp.GroupSequential(
        info_fractions=fractions, alpha=0.05, sided=2, efficacy=boundary, beta=0.2
    )
    gsd90 = gsd80.replace(beta=0.1)
    scale = np.sqrt(np.array(fractions)) if shape == "obrien_fleming" else 1.0
    np.testing.assert_allclose(gsd80.efficacy_z * scale, constant, atol=5e-4)
    assert gsd80.inflation_factor == pytest.approx(r80, abs=5e-4)
    assert gsd90.inflation_factor == pytest.approx(r90, abs=5e-4)


@pytest.mark.parametrize("drift", [0.0, 1.5, 3.2])
def test_recursion_matches_multivariate_normal(drift: float) -> None:
    # Independent check of the integration: P(stop at look k) from the MVN cdf
    # of (Z_1, Z_2, Z_3) with Cov = sqrt(t_j / t_k), mean drift * sqrt(t_k).
    t = np.array([0.25, 0.55, 1.0])
    lower = np.array([-0.3, 0.8, 1.9])
    upper = np.array([2.9, 2.4, 1.9])
    up, low = _crossings(t, lower, upper, drift, 32)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    mean = drift * np.sqrt(t)
    mvn1 = stats.norm(mean[0])
    mvn2 = stats.multivariate_normal(mean[:2], cov[:2, :2], abseps=1e-10, releps=1e-10)
    mvn3 = stats.multivariate_normal(mean, cov, abseps=1e-8, releps=1e-8, seed=1)
    first = (lower[0], upper[0])

    def box2(a2: float, b2: float) -> float:  # P(a1<Z1<b1, a2<Z2<b2)
        return float(mvn2.cdf(np.array([first[1], b2]), lower_limit=np.array([first[0], a2])))

    def box3(a3: float, b3: float) -> float:
        return float(
            mvn3.cdf(
                np.array([first[1], upper[1], b3]), lower_limit=np.array([first[0], lower[1], a3])
            )
        )

    assert up[0] == pytest.approx(mvn1.sf(upper[0]), abs=1e-9)
    assert low[0] == pytest.approx(mvn1.cdf(lower[0]), abs=1e-9)
    assert up[1] == pytest.approx(box2(upper[1], 40.0), abs=1e-6)
    assert low[1] == pytest.approx(box2(-40.0, lower[1]), abs=1e-6)
    assert up[2] == pytest.approx(box3(upper[2], 40.0), abs=1e-6)
    assert low[2] == pytest.approx(box3(-40.0, lower[2]), abs=1e-6)


@pytest.mark.parametrize("t", [0.1, 0.37, 0.5, 0.8, 1.0])
def test_spending_functions_closed_forms(t: float) -> None:
    # Lan & DeMets 1983; Hwang, Shih & DeCani 1990; Kim & DeMets 1987.
    a = 0.025
    of = 2 * (1 - stats.norm.cdf(stats.norm.ppf(1 - a / 2) / math.sqrt(t)))
    assert float(tp.spending.obrien_fleming().spent(t, a)) == pytest.approx(of, rel=1e-12)
    assert float(tp.spending.pocock().spent(t, a)) == pytest.approx(
        a * math.log(1 + (math.e - 1) * t), rel=1e-12
    )
    assert float(tp.spending.hwang_shih_decani(-4).spent(t, a)) == pytest.approx(
        a * (1 - math.exp(4 * t)) / (1 - math.exp(4)), rel=1e-12
    )
    assert float(tp.spending.hwang_shih_decani(0).spent(t, a)) == pytest.approx(a * t)
    assert float(tp.spending.power_family(3).spent(t, a)) == pytest.approx(a * t**3)


def test_two_sided_spending_uses_half_alpha_per_side() -> None:
    # rpact 3.3.4, asOF, K = 5, two-sided alpha 0.05: alpha spent at t = 0.2 is
    # 2 * [2 - 2 Phi(z_{1-0.0125} / sqrt(0.2))] (alpha/2 in the OBF formula).
    gsd, rows = _rpact_design("asOF_k5_two_sided_a05")
    expected = 2 * 2 * stats.norm.sf(stats.norm.isf(0.0125) / math.sqrt(0.2))
    assert gsd.alpha_spent[0] == pytest.approx(expected, rel=1e-9)
    assert gsd.alpha_spent[0] == pytest.approx(rows["alpha_spent"].iloc[0], abs=1e-8)


def test_non_binding_futility_keeps_efficacy_bounds_and_type_one_error() -> None:
    without = tp.GroupSequential(info_fractions=(0.3, 0.6, 1.0), alpha=0.025)
    non_binding = without.replace(futility=tp.spending.pocock())
    binding = non_binding.replace(binding=True)
    np.testing.assert_allclose(non_binding.efficacy_z, without.efficacy_z, atol=1e-12)
    # binding bounds use the futility region: lower final bound, alpha exactly spent
    assert binding.efficacy_z[-1] < non_binding.efficacy_z[-1]
    up_nb, _ = non_binding.crossing_probabilities(0.0)
    up_b, _ = binding.crossing_probabilities(0.0)
    assert up_nb.sum() < 0.025
    assert up_b.sum() == pytest.approx(0.025, abs=1e-8)


@settings(max_examples=20, deadline=None)
@given(
    fractions=st.lists(st.floats(0.05, 0.95), min_size=1, max_size=4, unique=True),
    rho=st.floats(0.5, 4.0),
)
def test_power_family_spends_exact_alpha(fractions: list[float], rho: float) -> None:
    fracs = tuple(sorted(fractions)) + (1.0,)
    assume(min(np.diff((0.0,) + fracs)) >= 0.02)
    gsd = tp.GroupSequential(info_fractions=fracs, efficacy=tp.spending.power_family(rho))
    up, low = gsd.crossing_probabilities(0.0)
    np.testing.assert_allclose(np.cumsum(up), 0.025 * np.array(fracs) ** rho, atol=1e-9)
    assert gsd.power_at(gsd.drift) == pytest.approx(0.9, abs=1e-9)
    assert gsd.power_at(gsd.drift * 0.9) < gsd.power_at(gsd.drift)


# ----------------------------------------------------------- use with designs
def two_by_two(interaction: float, sd: float, n_per_cell: int, **kw) -> tp.Factorial:
    return tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(
            means={
                ("sham", "control"): 0.0,
                ("active", "control"): -3.0,
                ("sham", "MBI"): -2.0,
                ("active", "MBI"): -5.0 + interaction,
            },
            sd=sd,
        ),
        n_per_cell=n_per_cell,
        **kw,
    )


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("asOF_k3_a025", id="rpact-asOF-K3"),
        pytest.param("asOF_bsOF_nonbinding_k3", id="rpact-asOF-bsOF-nonbinding"),
        pytest.param("asP_bsP_nonbinding_k5", id="rpact-asP-bsP-K5-beta0.2"),
    ],
)
def test_interaction_sample_size_is_inflated_fixed_size(case: str) -> None:
    # METHODS.md 7: n per cell = R 4 sd^2 (z_{1-a} + z_{1-b})^2 / IC^2 (canonical
    # normal), rounded up; R from rpact.  Expected N under H0 = N_max * ASN0 / R.
    gsd, rows = _rpact_design(case)
    first = rows.iloc[0]
    power = 1 - float(first.beta)
    sd, ic = 8.0, -3.0
    design = two_by_two(ic, sd, 50)
    z = stats.norm.isf(0.025) + stats.norm.isf(1 - power)
    n_cell = math.ceil(first.inflation_factor * 4 * sd**2 * z**2 / ic**2)
    ss = design.sample_size(power=power, hypothesis="rTMS:MBI", sequential=gsd)
    assert ss.n_per_cell == n_cell
    assert ss.n_total == 4 * n_cell
    assert ss.power >= power
    smaller = design.replace(n_per_cell=n_cell - 1).power("rTMS:MBI", sequential=ss.sequential)
    assert smaller["rTMS:MBI"] < power  # round trip: one fewer per cell falls short
    assert ss.expected_n_total["H0"] == pytest.approx(
        4 * n_cell * first.asn_h0 / first.inflation_factor, rel=1e-5
    )
    assert ss.n_total_per_look == tuple(math.ceil(t * 4 * n_cell - 1e-9) for t in rows["info_rate"])
    assert "t statistics treated as canonical normal" in ss.method
    assert "Group-sequential sample size" in repr(ss)


def test_sequential_power_reproduces_rpact_at_the_design_drift() -> None:
    # Choose sd so that IC / se equals rpact's drift sqrt(shift): power 0.9 and
    # rpact's per-look rejection probabilities.
    gsd, rows = _rpact_design("asOF_bsOF_binding_k3")
    drift = math.sqrt(rows.iloc[0]["shift"])
    n, ic = 100, -3.0
    sd = abs(ic) * math.sqrt(n) / (2 * drift)
    res = two_by_two(ic, sd, n).power(sequential=gsd)
    assert res["rTMS:MBI"] == pytest.approx(0.9, abs=1e-6)
    stopping = res.extras["stopping"]["rTMS:MBI"]
    np.testing.assert_allclose(stopping["stop_efficacy"], rows["reject_h1"], atol=1e-5)
    np.testing.assert_allclose(stopping["stop_futility"][:-1], rows["futility_h1"][:-1], atol=1e-5)
    assert "combination" not in res  # intersection-union tests are left out by default


def test_parallel_and_binary_designs_use_the_same_inflation() -> None:
    # Any design: two arms, n per arm = ceil(R 2 sd^2 (z+z)^2 / delta^2); a binary
    # risk difference with unpooled Wald variance, ceil(R (z+z)^2 (p1q1+p0q0) / d^2).
    gsd, rows = _rpact_design("asKD3_bsKD2_nonbinding_k3")
    first = rows.iloc[0]
    z2 = (stats.norm.isf(0.025) + stats.norm.isf(0.1)) ** 2
    arms = tp.Parallel(
        arms=("rTMS alone", "rTMS+MBI"),
        outcome=tp.Continuous(means={"rTMS alone": -10.0, "rTMS+MBI": -13.0}, sd=8.0),
        n_per_arm=60,
        control="rTMS alone",
        alpha=0.05,
    )
    ss = arms.sample_size(power=0.9, hypothesis="rTMS+MBI vs rTMS alone", sequential=gsd)
    assert ss.n_per_cell == math.ceil(first.inflation_factor * 2 * 64 * z2 / 9)
    binary = tp.Parallel(
        arms=("rTMS alone", "rTMS+MBI"),
        outcome=tp.Binary(
            rates={"rTMS alone": 0.3, "rTMS+MBI": 0.45}, scale="risk_difference", better="higher"
        ),
        n_per_arm=60,
        control="rTMS alone",
        alpha=0.05,
    )
    ss = binary.sample_size(power=0.9, hypothesis="rTMS+MBI vs rTMS alone", sequential=gsd)
    var = 0.3 * 0.7 + 0.45 * 0.55
    assert ss.n_per_cell == math.ceil(first.inflation_factor * z2 * var / 0.15**2)


def test_two_sided_sequential_design_agrees_with_one_sided_level() -> None:
    design = two_by_two(-3.0, 8.0, 50)  # alpha 0.05 two-sided
    gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.05, sided=2)
    res = design.power("rTMS:MBI", sequential=gsd)
    up, _ = gsd.crossing_probabilities(3.0 / (2 * 8.0 / math.sqrt(50)))
    assert res["rTMS:MBI"] == pytest.approx(float(up.sum()), abs=1e-12)


# ------------------------------------------------------------------ display
def test_repr_opens_with_a_quotable_sentence_and_a_look_table() -> None:
    gsd = tp.GroupSequential(
        info_fractions=(1 / 3, 2 / 3, 1.0), futility=tp.spending.obrien_fleming()
    )
    text = repr(gsd)
    assert text.startswith("Group-sequential design with 3 analyses")
    assert "non-binding futility" in text
    for label in ("Efficacy bound (z)", "Futility bound (z)", "Cumulative alpha spent", "Look 3"):
        assert label in text
    frame = gsd.to_frame()
    assert list(frame["look"]) == [1, 2, 3]
    assert frame["alpha_spent"].iloc[-1] == pytest.approx(0.025)


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"info_fractions": (0.5, 0.5, 1.0)}, ValueError, r"info_fractions.*strictly increasing"),
        ({"info_fractions": (0.3, 0.6, 0.9)}, ValueError, r"info_fractions.*ending at 1"),
        ({"info_fractions": (0.0, 1.0)}, ValueError, r"info_fractions=\(0.0, 1.0\)"),
        ({"info_fractions": (0.5, 1.2)}, ValueError, r"info_fractions"),
        ({"info_fractions": ()}, ValueError, r"info_fractions must list at least one look"),
        ({"info_fractions": ("half", 1.0)}, TypeError, r"info_fractions"),
        ({"alpha": 0.0}, ValueError, r"alpha must lie strictly between 0 and 1; got alpha=0.0"),
        ({"alpha": 0.6}, ValueError, r"alpha must be below 0.5.*alpha=0.6"),
        ({"beta": 1.0}, ValueError, r"beta must lie strictly between 0 and 1; got beta=1.0"),
        ({"beta": 0.98}, ValueError, r"beta must be below 1 - alpha/sided = 0.975.*beta=0.98"),
        ({"sided": 3}, ValueError, r"sided must be 1.*sided=3"),
        ({"efficacy": "obrien-flemming"}, ValueError, r"efficacy='obrien-flemming'.*did you mean"),
        ({"efficacy": "lan_demets"}, ValueError, r"unknown spending function 'lan_demets'"),
        ({"efficacy": 0.5}, TypeError, r"efficacy must be a spending function.*efficacy=0.5"),
        ({"efficacy": tp.spending.pocock}, TypeError, r"call the factory"),
        ({"futility": tp.boundaries.pocock()}, ValueError, r"futility takes a beta-spending"),
        (
            {"futility": "pocock", "sided": 2, "alpha": 0.05},
            ValueError,
            r"futility bounds are supported for one-sided tests only",
        ),
        ({"binding": True}, ValueError, r"binding=True needs futility bounds"),
        ({"binding": "yes", "futility": "pocock"}, TypeError, r"binding must be True or False"),
        (
            {"binding": True, "futility": "pocock", "efficacy": tp.boundaries.pocock()},
            ValueError,
            r"binding futility is supported with alpha-spending",
        ),
        ({"grid_points": 2}, ValueError, r"grid_points must be a whole number >= 4"),
        (
            {"info_fractions": (0.5, 0.5 + 1e-12, 1.0)},
            ValueError,
            r"looks 1 and 2 only 1e-12 of the information apart; allowed: at least 0.001",
        ),
    ],
)
def test_bad_design_input(kwargs: dict, error: type, match: str) -> None:
    args = {"info_fractions": (0.5, 1.0)} | kwargs
    with pytest.raises(error, match=match):
        tp.GroupSequential(**args)


@pytest.mark.parametrize(
    ("factory", "value", "match"),
    [
        (tp.spending.power_family, 0.0, r"rho must be a finite number > 0; got rho=0.0"),
        (tp.spending.power_family, math.inf, r"rho must be finite"),
        (tp.spending.hwang_shih_decani, 50.0, r"gamma must lie in \[-40, 40\].*got gamma=50.0"),
        (tp.spending.hwang_shih_decani, "one", r"gamma must be a real number"),
        (tp.boundaries.wang_tsiatis, 2.0, r"delta must lie in \[-1, 1\]; got delta=2.0"),
    ],
)
def test_bad_spending_parameters(factory, value, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        factory(value)


def test_unknown_spending_name_suggests_the_closest() -> None:
    with pytest.raises(ValueError, match=r"unknown spending function 'pocok'.*'pocock'"):
        tp.spending.from_name("pocok")


def test_design_options_that_do_not_fit_raise() -> None:
    design = two_by_two(-3.0, 8.0, 50)
    gsd = tp.GroupSequential(info_fractions=(0.5, 1.0))
    # the combination (min) test is one-sided: a two-sided sequential design is refused
    with pytest.raises(ValueError, match=r"'combination' is a one-sided intersection-union"):
        design.sample_size(
            power=0.9, hypothesis="combination", sequential=gsd.replace(alpha=0.05, sided=2)
        )
    with pytest.raises(
        ValueError,
        match=r"alpha=0.05 \(0.05 per tail\) disagrees.*"
        r"alpha=0.05 \(0.025 per tail\)",
    ):
        design.power(sequential=gsd.replace(alpha=0.05))
    with pytest.raises(TypeError, match=r"sequential must be a tp.GroupSequential"):
        design.sample_size(power=0.9, hypothesis="rTMS", sequential="obrien_fleming")
    with pytest.raises(ValueError, match=r"power=1.2"):
        design.sample_size(power=1.2, hypothesis="rTMS", sequential=gsd)
    with pytest.raises(ValueError, match=r"method='bootstrap' is not available"):
        design.power(sequential=gsd, method="bootstrap")
    with pytest.raises(ValueError, match=r"out of reach.*unfavourable direction"):
        two_by_two(3.0, 8.0, 50).replace(
            means={
                ("sham", "control"): 0.0,
                ("active", "control"): 0.0,
                ("sham", "MBI"): 0.0,
                ("active", "MBI"): 2.0,
            }
        ).sample_size(power=0.9, hypothesis="rTMS:MBI", sequential=gsd)


def test_closest_allowed_looks_keep_exact_alpha() -> None:
    # Looks 0.001 of the information apart are the closest allowed: the bounds still
    # spend exactly alpha, checked by scipy's multivariate normal CDF of the canonical
    # joint law Cov(Z_j, Z_k) = sqrt(t_j / t_k) (rpact 3.3.4 gives 0.0254 already at a
    # spacing of 0.01, tested by hand when the limit was set).
    from scipy.stats import multivariate_normal

    t = np.array([0.5, 0.501, 1.0])
    gsd = tp.GroupSequential(info_fractions=tuple(t), alpha=0.025)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    crossed = 1 - multivariate_normal(
        mean=np.zeros(3), cov=cov, abseps=1e-9, releps=0, maxpts=10**7, seed=1
    ).cdf(gsd.efficacy_z)
    assert crossed == pytest.approx(0.025, abs=1e-5)


def test_numpy_bool_binding_and_float_noise_effects() -> None:
    gsd = tp.GroupSequential(
        info_fractions=(0.5, 1.0), alpha=0.025, binding=np.False_, futility="pocock"
    )
    assert gsd.binding is False
    design = tp.Factorial(
        factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        outcome=tp.Continuous(
            means={("a0", "b0"): 0.0, ("a1", "b0"): 1e-12, ("a0", "b1"): 0.0, ("a1", "b1"): 1e-12},
            sd=1.0,
            better="higher",
        ),
        n_per_cell=10,
        sided=1,
        alpha=0.025,
    )
    # a float-noise effect needs more than the search limit: named, not an int64 overflow
    with pytest.raises(ValueError, match=r"power=0.9 is out of reach"):
        design.sample_size(
            power=0.9, hypothesis="A", sequential=tp.GroupSequential(info_fractions=(0.5, 1.0))
        )


@pytest.mark.parametrize(
    ("mean", "lower", "upper"),
    [(0.0, -math.inf, math.inf), (1.3, -0.4, 2.2), (2.0, 1.9, 1.95), (-1.0, 0.5, math.inf)],
)
def test_recursion_grid_is_jennison_turnbulls(mean, lower, upper) -> None:
    # Jennison & Turnbull (2000), p. 349: x_i = mean + {-3 - 4 log(r/i), i < r;
    # -3 + 3 (i - r) / (2r), r <= i <= 5r; 3 + 4 log(r / (6r - i)), i > 5r}, i = 1..6r-1,
    # cut at the bounds (which join the grid), then midpoints and Simpson weights.
    from trialplan.sequential.recursion import _grid

    r = 8
    x = []
    for i in range(1, 6 * r):
        if i < r:
            x.append(mean - 3 - 4 * math.log(r / i))
        elif i <= 5 * r:
            x.append(mean - 3 + 3 * (i - r) / (2 * r))
        else:
            x.append(mean + 3 + 4 * math.log(r / (6 * r - i)))
    ends = [v for v in x if lower < v < upper]
    if lower > x[0]:
        ends.insert(0, lower)
    if upper < x[-1]:
        ends.append(upper)
    if len(ends) < 2:
        ends = [max(lower, x[0]), min(upper, x[-1])]
    points, weights = _grid(mean, lower, upper, r)
    np.testing.assert_allclose(points[0::2], ends, rtol=0, atol=1e-13)
    np.testing.assert_allclose(points[1::2], np.add(ends[:-1], ends[1:]) / 2, rtol=0, atol=1e-13)
    assert weights.sum() == pytest.approx(ends[-1] - ends[0], rel=1e-13)
