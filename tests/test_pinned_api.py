"""The pinned public API of ../shared/DESIGN.md, line by line, as users call it.

Examples, docs and acceptance checks use these names, so every call of the
pinned block runs here with the pinned arguments. Values are checked against
independent calculations (scipy's noncentral t, closed-form expected events,
published constants) or against relations that must hold (power of "all" <=
each <= "any"); the modules' own test files check the numbers in depth.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from scipy import integrate, stats

import trialplan as tp

MEANS = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}


@pytest.fixture(scope="module")
def design() -> tp.Factorial:
    return tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(means=MEANS, sd=8.0, baseline_corr=0.0, better="lower"),
        n_per_cell=50,
        alpha=0.05,
        dropout=0.0,
    )


def _t_power(effect: float, se: float, df: float) -> float:
    """Two-sided 5% power of a t test, from scipy's noncentral t."""
    crit = stats.t.isf(0.025, df)
    return float(stats.nct.sf(crit, df, effect / se) + stats.nct.cdf(-crit, df, effect / se))


def _z_power(effect: float, se: float) -> float:
    """Two-sided 5% power of a z test."""
    crit = stats.norm.isf(0.025)
    z = abs(effect) / se
    return float(stats.norm.sf(crit - z) + stats.norm.sf(crit + z))


def _min_test_power(gains: tuple[float, float], se: float, df: float) -> float:
    """P(T1 > c, T2 > c), c = t_{.975, df}: both one-sided comparisons of the combined
    cell with a monotherapy cell reject (Laska & Meisner 1989).  The two t statistics
    share the residual scale u = S / sigma ~ sqrt(chi2_df / df) and their normal parts
    are correlated 1/2 (a shared cell, equal n); integrate over u with scipy's
    bivariate normal cdf (METHODS.md section 6)."""
    crit = stats.t.isf(0.025, df)
    delta = np.array(gains) / se
    corr = np.array([[1.0, 0.5], [0.5, 1.0]])

    def integrand(u: float) -> float:
        # P(Z_i + delta_i > crit u) = P(-Z_i < delta_i - crit u)
        upper = delta - crit * u
        density = 2 * u * df * stats.chi2.pdf(df * u * u, df)  # density of u
        return stats.multivariate_normal(mean=[0, 0], cov=corr).cdf(upper) * density

    value, _ = integrate.quad(integrand, 0.5, 1.6, epsabs=1e-10, limit=200)
    return value


def test_factorial_power_keys_and_frame(design: tp.Factorial) -> None:
    res = design.power()
    df = 200 - 4
    se_main, se_cell = 8.0 * math.sqrt(4 / 200), 8.0 * math.sqrt(2 / 50)
    assert res["rTMS"] == pytest.approx(_t_power(-4.5, se_main, df), abs=1e-9)
    assert res["MBI"] == pytest.approx(_t_power(-3.5, se_main, df), abs=1e-9)
    assert res["rTMS:MBI"] == pytest.approx(_t_power(-3.0, 2 * se_main, df), abs=1e-9)
    assert res["rTMS | MBI=control"] == pytest.approx(_t_power(-3.0, se_cell, df), abs=1e-9)
    assert res["combination"] == pytest.approx(_min_test_power((5.0, 6.0), se_cell, df), abs=1e-7)
    frame = res.to_frame()
    assert {"hypothesis", "estimand", "effect", "se", "df", "power"} <= set(frame.columns)
    assert all(isinstance(res[h], float) for h in ("rTMS", "MBI", "rTMS:MBI", "combination"))


def test_simulation_agrees_and_carries_mcse(design: tp.Factorial) -> None:
    sim = design.power(method="simulation", n_sims=10_000, seed=1)
    exact = design.power()["rTMS:MBI"]
    assert sim.mcse["rTMS:MBI"] > 0
    assert abs(sim["rTMS:MBI"] - exact) < 4 * sim.mcse["rTMS:MBI"]


def test_sample_size_fields(design: tp.Factorial) -> None:
    ss = design.sample_size(power=0.9, hypothesis="rTMS:MBI")
    n = ss.n_per_cell
    assert _t_power(-3.0, 2 * 8.0 * math.sqrt(4 / (4 * n)), 4 * n - 4) >= 0.9
    assert _t_power(-3.0, 2 * 8.0 * math.sqrt(4 / (4 * n - 4)), 4 * n - 8) < 0.9
    assert (ss.n_total, ss.n_randomized, ss.design.n_per_cell) == (4 * n, 4 * n, n)
    assert ss.power >= 0.9


def test_binary_time_to_event_and_schoenfeld(design: tp.Factorial) -> None:
    for scale in ("risk_difference", "log_odds", "log_risk"):
        rates = {
            ("sham", "control"): 0.2,
            ("active", "control"): 0.3,
            ("sham", "MBI"): 0.3,
            ("active", "MBI"): 0.5,
        }
        # Wald z on the scale with unpooled cell variances (METHODS.md section 3):
        # p(1-p)/n, 1/(n p (1-p)), (1-p)/(n p); the main effect averages over MBI
        g, var = {
            "risk_difference": (lambda q: q, lambda q: q * (1 - q)),
            "log_odds": (lambda q: math.log(q / (1 - q)), lambda q: 1 / (q * (1 - q))),
            "log_risk": (math.log, lambda q: (1 - q) / q),
        }[scale]
        cells = list(rates)
        c = {cell: (0.5 if cell[0] == "active" else -0.5) for cell in cells}
        effect = sum(c[x] * g(rates[x]) for x in cells)
        se = math.sqrt(sum(c[x] ** 2 * var(rates[x]) / 50 for x in cells))
        binary = design.replace(outcome=tp.Binary(rates=rates, scale=scale))
        assert binary.power()["rTMS"] == pytest.approx(_z_power(effect, se), abs=1e-12)
    hazards = {
        ("sham", "control"): 0.10,
        ("active", "control"): 0.08,
        ("sham", "MBI"): 0.08,
        ("active", "MBI"): 0.05,
    }
    tte = design.replace(outcome=tp.TimeToEvent(hazards=hazards, accrual=12.0, analysis_time=24.0))
    events = tte.expected_events()
    for cell, lam in hazards.items():
        # uniform entry over 12 months, follow-up 12 to 24 months, no loss
        p_event = 1 - (math.exp(-12 * lam) - math.exp(-24 * lam)) / (12 * lam)
        assert events[cell] == pytest.approx(50 * p_event, rel=1e-9)
    # REFERENCES.md: Schoenfeld, HR 0.7, 80 %, alpha .05 two-sided -> 246.79 events
    assert tp.schoenfeld_events(hazard_ratio=0.7, power=0.8, alpha=0.05) == pytest.approx(
        246.79, abs=0.01
    )


def test_group_sequential_pinned_fields(design: tp.Factorial) -> None:
    gsd = tp.GroupSequential(
        info_fractions=(1 / 3, 2 / 3, 1.0),
        alpha=0.025,
        efficacy=tp.spending.obrien_fleming(),
        futility=None,
        beta=0.1,
        binding=False,
    )
    for efficacy in (
        tp.spending.pocock(),
        tp.spending.hwang_shih_decani(-4),
        tp.spending.power_family(2.0),
        tp.boundaries.obrien_fleming(),
        tp.boundaries.pocock(),
    ):
        other = tp.GroupSequential(
            info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025, efficacy=efficacy
        )
        assert other.alpha_spent[-1] == pytest.approx(0.025, abs=1e-7)
    assert len(gsd.efficacy_z) == 3
    assert gsd.futility_z is None
    assert np.all(np.diff(gsd.alpha_spent) > 0)
    assert gsd.alpha_spent[-1] == pytest.approx(0.025)
    # rpact 3.3.4 getDesignGroupSequential(typeOfDesign = "asOF", kMax = 3, alpha = 0.025,
    # beta = 0.1) (tests/references/gsd_rpact.csv, case asOF_k3_a025)
    assert gsd.inflation_factor == pytest.approx(1.01185276325518, abs=2e-5)
    assert gsd.efficacy_z == pytest.approx(
        [3.7103028732625, 2.51142748445272, 1.9930474832654], abs=1e-4
    )
    assert set(gsd.expected_information) == {"H0", "H1"}
    one_sided = design.replace(sided=1, alpha=0.025)
    seq = one_sided.sample_size(power=0.9, hypothesis="rTMS:MBI", sequential=gsd)
    fixed = one_sided.sample_size(power=0.9, hypothesis="rTMS:MBI")
    assert fixed.n_total <= seq.n_total <= math.ceil(fixed.n_total * gsd.inflation_factor) + 4


def test_smart_and_parallel_pinned_calls() -> None:
    smart = tp.SMART(
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

    # METHODS.md section 8, written out: stage 1 compares the two arms' mixtures
    # (responders, and non-responders split evenly over continue/augment), 100 per arm
    def mixture(parts: list[tuple[float, float]]) -> tuple[float, float]:
        mean = sum(w * m for w, m in parts)
        return mean, 64.0 + sum(w * (m - mean) ** 2 for w, m in parts)

    mean_a, var_a = mixture([(0.3, -14.0), (0.35, -4.0), (0.35, -6.0)])
    mean_b, var_b = mixture([(0.4, -15.0), (0.3, -6.0), (0.3, -9.0)])
    assert smart.power_stage1() == pytest.approx(
        _z_power(mean_b - mean_a, math.sqrt(var_a / 100 + var_b / 100)), abs=1e-12
    )

    # regimes starting differently: Hajek estimators with the exact asymptotic variance
    # [g (s^2 + (m_R - mu)^2) + (1 - g)(s^2 + (m_NR - mu)^2) / p2] / (N p1), independent
    def regime(g: float, m_r: float, m_nr: float) -> tuple[float, float]:
        mu = g * m_r + (1 - g) * m_nr
        return mu, (g * (64 + (m_r - mu) ** 2) + (1 - g) * (64 + (m_nr - mu) ** 2) / 0.5) / 100

    mu_1, v_1 = regime(0.4, -15.0, -9.0)  # rTMS+MBI, augment
    mu_2, v_2 = regime(0.3, -14.0, -4.0)  # rTMS, continue
    assert smart.power_regimes(("rTMS+MBI", "augment"), ("rTMS", "continue")) == pytest.approx(
        _z_power(mu_1 - mu_2, math.sqrt(v_1 + v_2)), abs=1e-12
    )
    arms = tp.Parallel(
        arms=("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI"),
        outcome=tp.Continuous(
            means={"rTMS alone": -10.0, "MBI then rTMS": -12.0, "rTMS with concurrent MBI": -13.0},
            sd=8.0,
        ),
        n_per_arm=60,
        control="rTMS alone",
        alpha=0.05,
    )
    se = 8.0 * math.sqrt(2 / 60)
    assert arms.power()["MBI then rTMS vs rTMS alone"] == pytest.approx(
        _t_power(-2.0, se, 177), abs=1e-9
    )
    dunnett = arms.power(multiplicity=tp.Dunnett())
    each = [dunnett[h] for h in dunnett]
    assert dunnett.all <= min(each) <= max(each) <= dunnett.any


def test_multiplicity_and_assurance_pinned_calls(design: tp.Factorial) -> None:
    for procedure in (
        tp.Holm(["rTMS", "MBI", "rTMS:MBI"]),
        tp.Bonferroni(["rTMS", "MBI"]),
        tp.Hochberg(["rTMS", "MBI"]),
        tp.FixedSequence(["rTMS", "MBI"]),
        tp.Gatekeeping([["combination"], ["rTMS:MBI"]]),
    ):
        res = design.power(multiplicity=procedure)
        each = [res[h] for h in res]
        assert res.all <= min(each) + 1e-12
        assert max(each) <= res.any + 1e-12
    res = design.assurance(hypothesis="rTMS:MBI", prior=scipy.stats.norm(-4, 2))
    # success = significant in the favourable (lower) tail of the two-sided test, averaged
    # over the prior: quadrature of scipy's noncentral t over the prior's central +-6 sd
    # (mass outside 2e-9; scipy's nct.cdf is NaN past ncp 8)
    se, crit = 2 * 8.0 * math.sqrt(4 / 200), stats.t.isf(0.025, 196)
    expected, _ = integrate.quad(
        lambda theta: stats.nct.cdf(-crit, 196, theta / se) * stats.norm.pdf(theta, -4, 2), -16, 8
    )
    assert res.value == pytest.approx(expected, abs=2e-3 if getattr(res, "mcse", None) else 1e-6)


def test_synergy_randomization_explore_and_spec(design: tp.Factorial, tmp_path) -> None:
    effects = {"rTMS": -3.0, "MBI": -2.0}
    additive = tp.synergy.cell_means(control=0.0, effects=effects, model="additive")
    assert additive[("rTMS", "MBI")] == -5.0
    assert (
        tp.synergy.cell_means(control=0.0, effects=effects, model=tp.synergy.Interaction(-3.0))[
            ("rTMS", "MBI")
        ]
        == -8.0
    )
    assert (
        tp.synergy.StateDependent(
            rtms_effect=-3.0, state_slope=-2.0, mbi_state_shift=1.5
        ).mbi_state_shift
        == 1.5
    )
    sched = tp.randomization.permuted_blocks(
        design,
        n=200,
        block_sizes=(4, 8),
        strata={"site": ("A", "B"), "severity": ("moderate", "severe")},
        seed=2026,
    )
    frame = sched.to_frame()
    assert list(frame.columns[:5]) == ["sequence", "site", "severity", "rTMS", "MBI"]
    sched.to_csv(tmp_path / "schedule.csv")
    assert (tmp_path / "schedule.csv").read_text().count("\n") > 200
    alloc = tp.randomization.Minimization(design, factors={"site": ("A", "B")}, p=0.8, seed=1)
    assert alloc.assign({"site": "A"}) in design.cells
    grid = tp.explore(
        lambda sd, dropout: design.replace(outcome=design.outcome.replace(sd=sd), dropout=dropout),
        grid={"sd": (7, 8, 9), "dropout": (0.1, 0.2)},
        method="analytic",
        executor=None,
        cache=None,
    )
    assert len(grid) == 6 * len(design.hypothesis_names)
    path = tmp_path / "trial.toml"
    tp.dump_spec(design, path)
    assert tp.load_spec(path) == design
