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
        outcome=tp.Continuous(
            means={
                ("a0", "b0"): 0.0,
                ("a1", "b0"): 0.0,
                ("a0", "b1"): 0.0,
                ("a1", "b1"): interaction,
            },
            sd=sd,
        ),
        n_per_cell=n_per_cell,
    )


GSD = tp.GroupSequential(info_fractions=(0.3, 0.6, 1.0), alpha=0.025, futility=tp.spending.pocock())


@pytest.mark.parametrize("interaction", [pytest.param(0.0, id="H0"), pytest.param(-4.0, id="H1")])
def test_known_variance_simulation_reproduces_stopping_probabilities(interaction: float) -> None:
    d = design(interaction, 8.0, 300)
    sim = simulate_sequential(
        d, hypothesis="A:B", sequential=GSD, n_sims=40_000, seed=11, statistic="z"
    )
    up, low = GSD.crossing_probabilities(abs(interaction) / (2 * 8.0 / math.sqrt(300)))
    tol_up = 4 * np.sqrt(up * (1 - up) / sim.n_sims) + 1e-4
    tol_low = 4 * np.sqrt(low * (1 - low) / sim.n_sims) + 1e-4
    assert np.all(np.abs(sim.stop_efficacy - up) < tol_up)
    assert np.all(np.abs(sim.stop_lower - low) < tol_low)
    expected_n = 1200 * GSD.expected_fraction_at(abs(interaction) / (16 / math.sqrt(300)))
    assert abs(sim.expected_n_total - expected_n) < 4 * sim.mcse_expected_n_total


def test_t_statistic_simulation_agrees_at_large_df() -> None:
    d = design(-4.0 / math.sqrt(10), 8.0, 3000)  # same drift, df about 12000
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
    one = simulate_sequential(
        d, hypothesis="A:B", sequential=GSD, n_sims=500, seed=9, batch_size=200
    )
    two = simulate_sequential(
        d,
        hypothesis="A:B",
        sequential=GSD,
        n_sims=500,
        seed=np.random.SeedSequence(9),
        batch_size=200,
    )
    np.testing.assert_array_equal(one.stop_efficacy, two.stop_efficacy)
    with pytest.raises(ValueError, match=r"statistic='chi2' is not allowed"):
        simulate_sequential(d, hypothesis="A:B", sequential=GSD, n_sims=10, statistic="chi2")
    with pytest.raises(ValueError, match=r"'combination' is a one-sided intersection-union"):
        simulate_sequential(
            d,
            hypothesis="combination",
            n_sims=10,
            sequential=GSD.replace(alpha=2 * GSD.alpha, sided=2, futility=None),
        )
    with pytest.raises(
        ValueError,
        match=r"'z' is not allowed for an ANCOVA outcome "
        r"\(baseline_corr=0.5\)",
    ):
        simulate_sequential(
            d.replace(baseline_corr=0.5), hypothesis="A:B", sequential=GSD, n_sims=10, statistic="z"
        )
    with pytest.raises(ValueError, match=r"n_per_cell=\[2, 2, 2, 2\] is too small"):
        simulate_sequential(design(-4.0, 8.0, 2), hypothesis="A:B", sequential=GSD, n_sims=10)
    with pytest.raises(TypeError, match=r"seed must be an int"):
        simulate_sequential(d, hypothesis="A:B", sequential=GSD, n_sims=10, seed="x")
    with pytest.raises(ValueError, match=r"n_sims must be a whole number >= 1"):
        simulate_sequential(d, hypothesis="A:B", sequential=GSD, n_sims=0)


# ------------------------------------------------------------------ ANCOVA
# References: statsmodels OLS on the accumulating patient data (exactness of
# the pooling of sufficient statistics), a brute-force patient-level
# simulation written out below (the law of the simulated statistics at small
# df), and the analytic recursion at large df or under the null.


def ancova_design(interaction: float, n_per_cell: int, rho: float = 0.5) -> tp.Factorial:
    return tp.Factorial(
        factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        outcome=tp.Continuous(
            means={
                ("a0", "b0"): 0.0,
                ("a1", "b0"): 0.0,
                ("a0", "b1"): 0.0,
                ("a1", "b1"): interaction,
            },
            sd=8.0,
            baseline_corr=rho,
        ),
        n_per_cell=n_per_cell,
    )


def test_ancova_look_statistics_equal_statsmodels_ols() -> None:
    import statsmodels.api as sm

    from trialplan.simulate.sequential import _AncovaLooks

    d = ancova_design(-4.0, 20)
    contrasts = np.vstack(
        [d.hypothesis("A:B").contrasts, d.hypothesis("combination").contrasts]
    ).T  # (cells, 3)
    cumulative = np.array([[5, 6, 4, 7], [11, 10, 9, 12], [20, 18, 19, 21]])
    mu = np.array([1.0, -2.0, 0.5, 3.0])
    rng = np.random.default_rng(20261125)
    path = _AncovaLooks(1, 4)
    cells, xs, ys = [], [], []
    prev = np.zeros(4, dtype=int)
    for now in cumulative:
        inc = now - prev
        xbar, ybar, w = np.zeros(4), np.zeros(4), np.zeros(3)
        for j in range(4):
            x = rng.normal(10.0, 8.0, inc[j])
            y = mu[j] + 0.6 * x + rng.normal(0.0, 5.0, inc[j])
            cells.append(np.full(inc[j], j))
            xs.append(x)
            ys.append(y)
            xbar[j], ybar[j] = x.mean(), y.mean()
            dx, dy = x - x.mean(), y - y.mean()
            w += (dx @ dx, dx @ dy, dy @ dy)
        path.add(inc, xbar[None], ybar[None], *w[:, None])
        t = path.t(contrasts)[0]
        exog = np.column_stack([np.eye(4)[np.concatenate(cells)], np.concatenate(xs)])
        fit = sm.OLS(np.concatenate(ys), exog).fit()
        ols = [float(fit.t_test(np.r_[c, 0.0]).tvalue.item()) for c in contrasts.T]
        assert path.df == fit.df_resid
        np.testing.assert_allclose(t, ols, rtol=0, atol=1e-8)
        prev = now


def _patient_level_sequential(
    d: tp.Factorial, hypothesis: str, gsd: tp.GroupSequential, n_sims: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stopping frequencies from patients' data, OLS ANCOVA by normal equations."""
    y_out = d.outcome
    mu = np.array([y_out.means[c] for c in d.cells])
    c = d.hypothesis(hypothesis).contrasts.T
    rho, sd = y_out.baseline_corr, y_out.sd
    n = np.asarray(d.n_array)
    sizes = np.array([np.rint(t * n) for t in gsd.info_fractions], dtype=int)
    rng = np.random.default_rng(seed)
    # every patient of every look, in look-then-cell blocks
    blocks = [
        (k, j, sizes[k, j] - (sizes[k - 1, j] if k else 0))
        for k in range(len(sizes))
        for j in range(4)
    ]
    look = np.concatenate([np.full(m, k) for k, _, m in blocks])
    cell = np.concatenate([np.full(m, j) for _, j, m in blocks])
    x = sd * rng.standard_normal((n_sims, look.size))
    y = mu[cell] + rho * x + sd * math.sqrt(1 - rho**2) * rng.standard_normal(x.shape)
    lower = gsd.futility_z if gsd.futility is not None else np.full(gsd.n_looks, -np.inf)
    up, low = np.zeros(gsd.n_looks), np.zeros(gsd.n_looks)
    active = np.ones(n_sims, dtype=bool)
    for k in range(gsd.n_looks):
        keep = look <= k
        design_x = np.concatenate(
            [np.broadcast_to(np.eye(4)[cell[keep]], (n_sims, keep.sum(), 4)), x[:, keep, None]],
            axis=2,
        )
        xtx = np.einsum("rni,rnj->rij", design_x, design_x)
        beta = np.linalg.solve(xtx, np.einsum("rni,rn->ri", design_x, y[:, keep])[..., None])
        beta = beta[..., 0]
        resid = y[:, keep] - np.einsum("rni,ri->rn", design_x, beta)
        df = keep.sum() - 5
        s2 = (resid**2).sum(axis=1) / df
        inv = np.linalg.inv(xtx)[:, :4, :4]
        se = np.sqrt(s2[:, None] * np.einsum("ic,rij,jc->rc", c, inv, c))
        t = -(beta[:, :4] @ c) / se  # lower is better
        z = stats.norm.ppf(stats.t.cdf(t, df)).min(axis=1)
        hit_up = active & (z >= gsd.efficacy_z[k])
        hit_low = active & ~hit_up & (z <= lower[k])
        up[k], low[k] = hit_up.mean(), hit_low.mean()
        active &= ~(hit_up | hit_low)
    return up, low


@pytest.mark.parametrize("hypothesis", ["A:B", "combination"])
def test_ancova_matches_patient_level_simulation_at_small_df(hypothesis: str) -> None:
    # 8 then 16 per cell: 27 residual df at the first look, where the analytic
    # canonical normal approximation is off by about 0.02 in power.
    gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025, futility=tp.spending.pocock())
    d = ancova_design(-9.0 if hypothesis == "A:B" else -7.0, 16)
    n_sims = 20_000
    up_ref, low_ref = _patient_level_sequential(d, hypothesis, gsd, n_sims, seed=4)
    sim = simulate_sequential(d, hypothesis=hypothesis, sequential=gsd, n_sims=n_sims, seed=8)
    for got, ref in ((sim.stop_efficacy, up_ref), (sim.stop_lower[:-1], low_ref[:-1])):
        mcse = np.sqrt((got * (1 - got) + ref * (1 - ref)) / n_sims)
        assert np.all(np.abs(got - ref) < 4 * mcse + 1e-4), (got, ref)
    assert "ANCOVA on baseline" in sim.notes["method"]


@pytest.mark.parametrize("hypothesis", ["A:B", "combination"])
def test_ancova_agrees_with_analytic_at_large_df(hypothesis: str) -> None:
    # 900 per cell at the first look: the t versus normal and baseline
    # imbalance approximations of the analytic path are below 0.001 here.
    se = (
        8.0 * math.sqrt(0.75) * (2.0 if hypothesis == "A:B" else math.sqrt(2.0)) / math.sqrt(3000)
    )  # of the interaction, of each comparison
    d = ancova_design(-2.8 * se, 3000)
    sim = simulate_sequential(d, hypothesis=hypothesis, sequential=GSD, n_sims=40_000, seed=21)
    exact = d.power(hypothesis, sequential=GSD)
    table = exact.extras["stopping"][hypothesis]
    up, low = table["stop_efficacy"].to_numpy(), table["stop_futility"].to_numpy()
    assert np.all(np.abs(sim.stop_efficacy - up) < 4 * np.sqrt(up * (1 - up) / sim.n_sims) + 1e-4)
    assert np.all(np.abs(sim.stop_lower - low) < 4 * np.sqrt(low * (1 - low) / sim.n_sims) + 1e-4)
    assert abs(sim.power - exact[hypothesis]) < 4 * sim.mcse
    assert 0.3 < sim.power < 0.95  # an informative operating point


def test_ancova_type_one_error_is_alpha_under_the_null() -> None:
    # 30 per cell at the first look (114 residual df); no futility bound, so
    # the analytic size is exactly alpha = 0.025, spent 0.0005/0.0071/0.0174.
    gsd = tp.GroupSequential(info_fractions=(0.3, 0.6, 1.0), alpha=0.025)
    d = ancova_design(0.0, 100, rho=0.7)
    res = d.power("A:B", sequential=gsd, method="simulation", n_sims=60_000, seed=13)
    sim = res.extras["simulations"]["A:B"]
    spent = np.diff(np.r_[0.0, gsd.alpha_spent])
    assert np.all(np.abs(sim.stop_efficacy - spent) < 4 * np.sqrt(spent * (1 - spent) / sim.n_sims))
    assert abs(res["A:B"] - 0.025) < 4 * res.mcse["A:B"]


def test_ancova_needs_residual_df_at_the_first_look() -> None:
    gsd = tp.GroupSequential(info_fractions=(0.1, 1.0), alpha=0.025)
    with pytest.raises(
        ValueError,
        match=r"look 1 has no residual degrees of freedom for "
        r"the ANCOVA \(n=\[1, 1, 1, 1\]\)",
    ):
        simulate_sequential(ancova_design(-4.0, 10), hypothesis="A:B", sequential=gsd, n_sims=10)


# ----------------------------------------------------------- time to event
# References: scipy quadrature of the event probability over entry times, a
# Poisson GLM with log-exposure offset (statsmodels; its MLE is the
# exponential model's), and the analytic recursion, whose information
# fractions are those of the tested statistic, 1 / sum_j c_j^2 / d_j.

FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}


def tte_design(combined: float, n_per_cell: int, others: float = 0.08) -> tp.Factorial:
    hazards = {
        ("sham", "control"): 0.10,
        ("active", "control"): others,
        ("sham", "MBI"): others,
        ("active", "MBI"): combined,
    }
    return tp.Factorial(
        factors=FACTORS,
        n_per_cell=n_per_cell,
        outcome=tp.TimeToEvent(hazards=hazards, accrual=12.0, follow_up=12.0, dropout_hazard=0.01),
    )


@pytest.mark.parametrize("accrual", [0.0, 12.0])
def test_expected_events_by_calendar_time_match_quadrature(accrual: float) -> None:
    from scipy import integrate

    from trialplan.simulate.sequential import _expected_events_by
    from trialplan.simulate.survival import SurvivalSimulator

    d = tte_design(0.05, 100)
    d = d.replace(outcome=d.outcome.replace(accrual=accrual))
    params = SurvivalSimulator().prepare(d)
    for tau in (5.0, 12.0, 20.0, 24.0):
        got = _expected_events_by(params, tau)
        for j, (lam, eta) in enumerate(zip(params.hazards, params.dropout, strict=True)):

            def observed(s: float, lam: float = lam, eta: float = eta) -> float:
                return integrate.quad(lambda u: lam * math.exp(-(lam + eta) * u), 0, s)[0]

            if accrual == 0.0:
                ref = 100 * observed(tau)
            else:
                ref = (
                    100
                    / accrual
                    * integrate.quad(lambda e, tau=tau: observed(tau - e), 0, min(tau, accrual))[0]
                )
            assert got[j] == pytest.approx(ref, rel=1e-9)
    # at the analysis time: the expected events of the analytic path
    np.testing.assert_allclose(
        _expected_events_by(params, params.end), list(d.expected_events().values()), rtol=1e-12
    )


def test_exponential_look_statistics_equal_poisson_glm() -> None:
    import statsmodels.api as sm

    from trialplan.simulate.sequential import _exponential_looks

    n = np.array([30, 25, 35, 30])
    rng = np.random.default_rng(77)
    lam = np.repeat([0.10, 0.08, 0.08, 0.05], n)
    entry = 12.0 * rng.random((1, n.sum()))
    event = rng.exponential(1.0, entry.shape) / lam
    loss = rng.exponential(1.0, entry.shape) / 0.02
    contrasts = np.array([[1.0, -1.0, -1.0, 1.0], [0, -1.0, 0, 1.0], [0, 0, -1.0, 1.0]]).T
    looks = _exponential_looks(entry, event, loss, n, 24.0, contrasts, targets=[15, 30])
    cell = np.repeat(np.arange(4), n)
    for k, tau in enumerate(looks["times"][0]):
        keep = entry[0] < tau
        exposure = np.minimum(np.minimum(event[0], loss[0]), tau - entry[0])[keep]
        died = ((event[0] <= loss[0]) & (entry[0] + event[0] <= tau))[keep]
        if k < 2:
            assert died.sum() == (15, 30)[k]  # the look is held at its target event
        fit = sm.GLM(
            died.astype(float),
            np.eye(4)[cell[keep]],
            family=sm.families.Poisson(),
            offset=np.log(exposure),
        ).fit(tol=1e-14)
        ref = [float(fit.t_test(c).tvalue.item()) for c in contrasts.T]
        np.testing.assert_allclose(looks["z"][0, k], ref, rtol=0, atol=1e-8)
        assert looks["entered"][0, k] == keep.sum()


def test_survival_agrees_with_analytic_information_fractions() -> None:
    # interaction of a 2x2 with about 1100 expected events (power 0.50)
    d = tte_design(0.05, 400)
    gsd = tp.GroupSequential(
        info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025, futility=tp.spending.hwang_shih_decani(-2)
    )
    res = d.power(
        "rTMS:MBI", sequential=gsd, method="simulation", n_sims=20_000, seed=5, timing="information"
    )
    sim = res.extras["simulations"]["rTMS:MBI"]
    table = d.power("rTMS:MBI", sequential=gsd).extras["stopping"]["rTMS:MBI"]
    up, low = table["stop_efficacy"].to_numpy(), table["stop_futility"].to_numpy()
    assert np.all(np.abs(sim.stop_efficacy - up) < 4 * np.sqrt(up * (1 - up) / sim.n_sims) + 1e-4)
    assert np.all(np.abs(sim.stop_lower - low) < 4 * np.sqrt(low * (1 - low) / sim.n_sims) + 1e-4)
    assert abs(res["rTMS:MBI"] - table["power"].iloc[-1]) < 4 * res.mcse["rTMS:MBI"]
    assert "expected information" in sim.notes["method"]
    assert sim.look_times[-1] == 24.0
    assert sim.look_times[0] < sim.look_times[1] < 24.0


def test_survival_event_driven_looks_keep_alpha() -> None:
    from scipy import optimize

    from trialplan.simulate.sequential import _expected_events_by
    from trialplan.simulate.survival import SurvivalSimulator

    gsd = tp.GroupSequential(info_fractions=(0.4, 0.7, 1.0), alpha=0.025)
    d = tte_design(0.08, 200, others=0.08)
    d = d.replace(outcome=d.outcome.replace(hazards=dict.fromkeys(d.cells, 0.08)))
    sim = simulate_sequential(
        d, hypothesis="rTMS", sequential=gsd, n_sims=20_000, seed=3, timing="events"
    )
    spent = np.diff(np.r_[0.0, gsd.alpha_spent])
    assert np.all(np.abs(sim.stop_efficacy - spent) < 4 * np.sqrt(spent * (1 - spent) / sim.n_sims))
    # the looks fall near the times when the expected events reach t_k D
    params = SurvivalSimulator().prepare(d)
    total = sum(d.expected_events().values())
    for t, when in zip(gsd.info_fractions[:-1], sim.look_times, strict=False):
        ref = optimize.brentq(
            lambda tau, t=t: _expected_events_by(params, tau).sum() - round(t * total), 0.1, 24.0
        )
        assert abs(when - ref) < 0.05
    assert "round(t_k D)-th event" in sim.notes["method"]


def test_survival_and_unsupported_inputs_raise() -> None:
    d = tte_design(0.05, 50)
    # the default timing is the analytic path's (information fractions), not event-driven
    default = simulate_sequential(d, hypothesis="rTMS", sequential=GSD, n_sims=200, seed=4)
    assert np.array_equal(
        default.look_times,
        simulate_sequential(
            d, hypothesis="rTMS", sequential=GSD, n_sims=200, seed=4, timing="information"
        ).look_times,
    )
    assert not np.array_equal(
        default.look_times,
        simulate_sequential(
            d, hypothesis="rTMS", sequential=GSD, n_sims=200, seed=4, timing="events"
        ).look_times,
    )
    with pytest.raises(
        ValueError,
        match=r"timing='calendar' is not allowed; choose "
        r"'information'",
    ):
        simulate_sequential(d, hypothesis="rTMS", sequential=GSD, n_sims=10, timing="calendar")
    with pytest.raises(
        ValueError,
        match=r"statistic='t' is not allowed for a TimeToEvent "
        r"outcome; choose 'exponential'",
    ):
        simulate_sequential(
            d, hypothesis="rTMS", sequential=GSD, n_sims=10, statistic="t", timing="events"
        )
    with pytest.raises(
        ValueError,
        match=r"timing='events' applies to TimeToEvent outcomes "
        r"only",
    ):
        simulate_sequential(
            design(-4.0, 8.0, 40), hypothesis="A:B", sequential=GSD, n_sims=10, timing="events"
        )
    repeated = tp.Factorial(
        factors={"arm": ("control", "treated")},
        n_per_cell=50,
        outcome=tp.Repeated(
            means={("control",): [0, 0], ("treated",): [0, 5]},
            times=[1, 2],
            sd=10.0,
            correlation="cs",
            rho=0.25,
        ),
    )
    with pytest.raises(
        TypeError,
        match=r"supports Continuous \(with or without a baseline "
        r"covariate\), Binary and TimeToEvent outcomes; got "
        r"outcome of type Repeated",
    ):
        simulate_sequential(repeated, hypothesis="arm", sequential=GSD, n_sims=10)
