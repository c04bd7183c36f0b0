"""tp.synergy: round trips, scale reversal (REFERENCES.md), state-dependent model, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import trialplan as tp
from trialplan import synergy


# --------------------------------------------------------------- round trips
@pytest.mark.parametrize(
    ("control", "effects"),
    [
        pytest.param(0.0, {"rTMS": -3.0, "MBI": -2.0}, id="HAM-D-change"),
        pytest.param(23.5, {"rTMS": -4.0, "MBI": -1.5}, id="HAM-D-endpoint"),
    ],
)
def test_additive_means_have_zero_interaction_on_their_own_scale(control, effects) -> None:
    cells = synergy.cell_means(control=control, effects=effects)
    assert synergy.interaction_contrasts(cells)["identity"] == pytest.approx(0.0, abs=1e-12)


def test_multiplicative_rates_have_zero_log_interaction_but_not_additive() -> None:
    cells = synergy.cell_means(
        control=0.104, effects={"rTMS": 0.189, "MBI": 0.05}, model="multiplicative"
    )
    ic = synergy.interaction_contrasts(cells)
    assert ic["log"] == pytest.approx(0.0, abs=1e-12)
    # RR11 = RR10 RR01 -> IC on the risk-difference scale = p00 (RR10 - 1)(RR01 - 1) > 0
    rr10, rr01 = 0.293 / 0.104, 0.154 / 0.104
    assert ic["identity"] == pytest.approx(0.104 * (rr10 - 1) * (rr01 - 1), rel=1e-9)


@pytest.mark.parametrize(
    ("scale", "value", "control", "effects"),
    [
        pytest.param("identity", -3.0, 0.0, {"rTMS": -3.0, "MBI": -2.0}, id="identity"),
        pytest.param("log", 0.3, 0.10, {"rTMS": 0.19, "MBI": 0.05}, id="log-risk"),
        pytest.param("logit", -0.4, 0.30, {"rTMS": 0.2, "MBI": 0.1}, id="logit"),
    ],
)
def test_stated_interaction_round_trips(scale, value, control, effects) -> None:
    cells = synergy.cell_means(
        control=control, effects=effects, model=synergy.Interaction(value), scale=scale
    )
    assert synergy.interaction_contrasts(cells)[scale] == pytest.approx(value, abs=1e-12)
    assert cells[("no rTMS", "no MBI")] == control
    assert cells[("rTMS", "no MBI")] == pytest.approx(control + effects["rTMS"])


def test_additive_on_logit_scale_means_constant_odds_ratio() -> None:
    cells = synergy.cell_means(
        control=0.2,
        effects={"A": 0.1, "B": 0.15},
        scale="logit",
        levels={"A": ("a0", "a1"), "B": ("b0", "b1")},
    )

    def odds(p: float) -> float:
        return p / (1 - p)

    or_a_without_b = odds(cells[("a1", "b0")]) / odds(cells[("a0", "b0")])
    or_a_with_b = odds(cells[("a1", "b1")]) / odds(cells[("a0", "b1")])
    assert or_a_with_b == pytest.approx(or_a_without_b, rel=1e-12)


def test_reference_rates_show_scale_reversal() -> None:
    # REFERENCES.md: p00 = .12, p10 = .30, p01 = .22, p11 = .50 -> IC_RD = 0.10,
    # RERI = 0.833, log-OR interaction +0.121, log-RR interaction -0.095.
    ic = synergy.interaction_contrasts(
        {("s", "c"): 0.12, ("s", "m"): 0.22, ("a", "c"): 0.30, ("a", "m"): 0.50}
    )
    assert ic["identity"] == pytest.approx(0.10, abs=1e-12)
    assert ic["RERI"] == pytest.approx(0.833, abs=5e-4)
    assert ic["logit"] == pytest.approx(0.121, abs=5e-4)
    assert ic["log"] == pytest.approx(-0.095, abs=5e-4)


def test_cell_means_feed_a_factorial() -> None:
    levels = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
    means = synergy.cell_means(
        control=0.0,
        effects={"rTMS": -3.0, "MBI": -2.0},
        model=synergy.Interaction(-3.0),
        levels=levels,
    )
    design = tp.Factorial(factors=levels, outcome=tp.Continuous(means=means, sd=8.0), n_per_cell=50)
    assert design.power().row("rTMS:MBI").effect == pytest.approx(-3.0)


# ---------------------------------------------------------- state-dependent
def test_state_dependent_interaction_is_slope_times_shift() -> None:
    model = synergy.StateDependent(
        rtms_effect=-3.0,
        state_slope=-2.0,
        mbi_state_shift=1.5,
        mbi_effect=-1.0,
        control=2.0,
        state_mean=0.4,
        state_effect=0.7,
    )
    cells = model.cell_means()
    assert model.interaction == pytest.approx(-3.0)
    assert synergy.interaction_contrasts(cells)["identity"] == pytest.approx(-3.0, abs=1e-12)
    # rTMS effect without MBI is evaluated at the mean state: b0 + b1 * s0
    assert cells[("active", "control")] - cells[("sham", "control")] == pytest.approx(
        -3.0 - 2.0 * 0.4
    )
    # the MBI cell moves by the direct effect plus the state's prognostic effect of the shift
    assert cells[("sham", "MBI")] - cells[("sham", "control")] == pytest.approx(-1.0 + 0.7 * 1.5)


def test_no_shift_or_no_slope_means_no_synergy() -> None:
    for slope, shift in ((0.0, 1.5), (-2.0, 0.0)):
        model = synergy.StateDependent(rtms_effect=-3.0, state_slope=slope, mbi_state_shift=shift)
        assert synergy.interaction_contrasts(model.cell_means())["identity"] == 0.0


@pytest.mark.parametrize(
    ("beta3", "expected"),
    [
        pytest.param(0.20, 785, id="REFERENCES-moderator-beta3-0.20-N785"),
        pytest.param(0.25, 503, id="REFERENCES-moderator-beta3-0.25-N503"),
        pytest.param(0.30, 349, id="REFERENCES-moderator-beta3-0.30-N349"),
    ],
)
def test_moderator_sample_size_matches_references(beta3: float, expected: int) -> None:
    # N = 4 (z_.975 + z_.80)^2 / beta3^2 (normal approx.); the t test adds a few.
    model = synergy.StateDependent(rtms_effect=-3.0, state_slope=-beta3 * 8.0, mbi_state_shift=1.0)
    assert model.moderator_sample_size(power=0.8, sd=8.0, method="normal") == expected
    # The t version, independently: smallest N whose two-sided noncentral t power
    # (scipy; df = N - 4, ncp = beta3 sqrt(N p (1 - p)) with p = 1/2) reaches 80 %.
    n = expected
    while True:
        df, ncp = n - 4, beta3 * math.sqrt(n / 4)
        crit = stats.t.isf(0.025, df)
        if stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp) >= 0.8:
            break
        n += 1
    assert model.moderator_sample_size(power=0.8, sd=8.0) == n
    assert expected < n <= expected + 4


def test_moderator_power_against_regression_simulation() -> None:
    # Brute force: simulate the trial (1:1 rTMS, standard-normal baseline state) and fit
    # y ~ T + S + T:S by least squares; the slope-difference t test's rejection rate.
    rng = np.random.default_rng(2026)
    n, reps, slope, sd = 200, 3000, -2.0, 8.0
    treat = np.tile(np.repeat([0.0, 1.0], n // 2), (reps, 1))
    state = rng.standard_normal((reps, n))
    y = -3.0 * treat + slope * treat * state + 0.5 * state + sd * rng.standard_normal((reps, n))
    x = np.stack([np.ones_like(state), treat, state, treat * state], axis=2)
    xtx_inv = np.linalg.inv(np.einsum("rni,rnj->rij", x, x))
    beta = np.einsum("rij,rnj,rn->ri", xtx_inv, x, y)
    resid = y - np.einsum("rni,ri->rn", x, beta)
    s2 = (resid**2).sum(axis=1) / (n - 4)
    t = beta[:, 3] / np.sqrt(s2 * xtx_inv[:, 3, 3])
    sim = np.mean(np.abs(t) > stats.t.isf(0.025, n - 4))
    model = synergy.StateDependent(rtms_effect=-3.0, state_slope=slope, mbi_state_shift=1.0)
    exact = model.moderator_power(n_total=n, sd=sd)
    assert abs(sim - exact) < 4 * math.sqrt(exact * (1 - exact) / reps)


def test_factorial_from_state_dependent_model() -> None:
    model = synergy.StateDependent(
        rtms_effect=-3.0, state_slope=-2.0, mbi_state_shift=1.5, mbi_effect=-2.0
    )
    design = model.factorial(sd=8.0, n_per_cell=50, alpha=0.05)
    row = design.power().row("rTMS:MBI")
    assert row.effect == pytest.approx(model.interaction)
    assert row.se == pytest.approx(8.0 * math.sqrt(4 / 50))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param(
            {"effects": {"rTMS": -3.0}}, ValueError, "exactly two factors", id="one-factor"
        ),
        pytest.param(
            {"effects": {"A": 1, "B": 1, "C": 1}}, ValueError, "exactly two", id="three-factors"
        ),
        pytest.param({"model": "additiv"}, ValueError, "did you mean 'additive'", id="model-typo"),
        pytest.param({"scale": "logg"}, ValueError, "scale='logg'", id="scale-typo"),
        pytest.param(
            {"model": "multiplicative", "scale": "logit"},
            ValueError,
            "no interaction on the log",
            id="multiplicative-with-logit",
        ),
        pytest.param({"scale": "logit"}, ValueError, "between 0 and 1", id="logit-needs-rates"),
        pytest.param({"scale": "log"}, ValueError, "> 0 on the log", id="log-needs-positive"),
        pytest.param({"control": math.nan}, ValueError, "control", id="control-nan"),
        pytest.param(
            {"levels": {"rTMS": ("a", "a"), "MBI": ("c", "d")}},
            ValueError,
            "two different",
            id="levels-identical",
        ),
    ],
)
def test_cell_means_bad_input(kwargs, error, match) -> None:
    args = {"control": 0.0, "effects": {"rTMS": -3.0, "MBI": -2.0}} | kwargs
    with pytest.raises(error, match=match):
        synergy.cell_means(**args)


def test_implied_rate_outside_unit_interval_is_refused() -> None:
    # an interaction so large that the combination's rate rounds to 1
    with pytest.raises(ValueError, match="implied combination"):
        synergy.cell_means(
            control=0.4,
            effects={"A": 0.55, "B": 0.55},
            scale="logit",
            model=synergy.Interaction(1e6),
        )


def test_state_dependent_bad_input() -> None:
    with pytest.raises(TypeError, match="state_slope"):
        synergy.StateDependent(rtms_effect=-3.0, state_slope="steep", mbi_state_shift=1.0)
    model = synergy.StateDependent(rtms_effect=-3.0, state_slope=0.0, mbi_state_shift=1.0)
    with pytest.raises(ValueError, match="state_slope=0"):
        model.moderator_sample_size(power=0.8, sd=8.0)
    with pytest.raises(ValueError, match="allocation"):
        model.moderator_power(n_total=100, sd=8.0, allocation=1.0)
    with pytest.raises(ValueError, match="n_total"):
        model.moderator_power(n_total=4, sd=8.0)


def test_moderator_sample_size_ends_for_a_huge_sd() -> None:
    # sd=1e12 made the one-at-a-time search loop for ever.  The z-test size is
    # 4 (z_.975 + z_.9)^2 sd^2 / slope^2 = 1.0507e25 (normal quantiles by hand);
    # with N - 4 df of that size the t answer agrees to scipy's noncentral t
    # precision there (about 1e-6).
    model = synergy.StateDependent(rtms_effect=-3.0, state_slope=-2.0, mbi_state_shift=1.5)
    z = stats.norm.isf(0.025) + stats.norm.isf(0.1)
    expected = 4 * z**2 * 1e24 / 4.0
    assert model.moderator_sample_size(power=0.9, sd=1e12) == pytest.approx(expected, rel=1e-5)
