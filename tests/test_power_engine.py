"""The exact power engine: properties, independent integrals and brute-force simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

import trialplan as tp
from trialplan.power import joint_power, product_loadings, statistic_power
from trialplan.statistic import TestStatistic

CELLS = (("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI"))


def two_by_two(*, interaction=-3.0, rtms=-3.0, mbi=-2.0, sd=8.0, n_per_cell=50, **kw):
    means = (0.0, rtms, mbi, rtms + mbi + interaction)
    return tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(
            means=dict(zip(CELLS, means, strict=True)),
            sd=sd,
            baseline_corr=kw.pop("baseline_corr", 0.0),
        ),
        n_per_cell=n_per_cell,
        **kw,
    )


# --------------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 300), ic=st.floats(-6.0, -0.5))
def test_power_rises_with_n(n, ic):
    d = two_by_two(interaction=ic, n_per_cell=n)
    for h in ("rTMS:MBI", "combination"):
        assert d.power(h)[h] <= d.replace(n_per_cell=n + 1).power(h)[h] + 1e-12


@settings(max_examples=40, deadline=None)
@given(ic=st.floats(0.1, 8.0), step=st.floats(0.01, 2.0), n=st.integers(3, 200))
def test_power_rises_with_effect_size(ic, step, n):
    small = two_by_two(interaction=-ic, n_per_cell=n).power("rTMS:MBI")["rTMS:MBI"]
    large = two_by_two(interaction=-ic - step, n_per_cell=n).power("rTMS:MBI")["rTMS:MBI"]
    assert small <= large + 1e-12


@settings(max_examples=40, deadline=None)
@given(alpha=st.floats(0.001, 0.2), factor=st.floats(1.01, 3.0), sided=st.sampled_from([1, 2]))
def test_power_rises_with_alpha(alpha, factor, sided):
    d = two_by_two(n_per_cell=30, sided=sided, alpha=alpha)
    bigger = d.replace(alpha=min(0.99, alpha * factor))
    for h in ("rTMS", "rTMS:MBI", "combination"):
        assert d.power(h)[h] <= bigger.power(h)[h] + 1e-12


@settings(max_examples=25, deadline=None)
@given(
    target=st.floats(0.5, 0.95),
    ic=st.floats(-8.0, -1.0),
    hyp=st.sampled_from(["rTMS:MBI", "rTMS", "combination", "MBI | rTMS=active"]),
)
def test_sample_size_is_smallest(target, ic, hyp):
    d = two_by_two(interaction=ic)
    n = d.sample_size(power=target, hypothesis=hyp).n_per_cell
    assert d.replace(n_per_cell=n).power(hyp)[hyp] >= target
    if n > 2:
        assert d.replace(n_per_cell=n - 1).power(hyp)[hyp] < target


def test_sample_size_for_several_hypotheses_is_the_largest():
    d = two_by_two(interaction=-3.0)
    joint = d.sample_size(power=0.9, hypothesis=["rTMS", "combination"])
    each = [d.sample_size(power=0.9, hypothesis=h).n_per_cell for h in ("rTMS", "combination")]
    assert joint.n_per_cell == max(each)
    assert joint.power == min(joint.powers.values()) >= 0.9


# ------------------------------------------------------------- independent checks
def test_two_sided_power_matches_textbook_two_sample_t():
    # Cohen 1988, Table 2.4.1 / pwr::pwr.t.test(d = 0.5, power = 0.8): 64 per group.
    stat = TestStatistic(
        hypothesis="d", estimand="d", effect=0.5, se=math.sqrt(2 / 64), df=126, sided=2, alpha=0.05
    )
    assert statistic_power(stat) == pytest.approx(0.8014596, abs=1e-6)


@pytest.mark.parametrize("df", [5.0, 40.0, math.inf])
@pytest.mark.parametrize("rho", [-0.6, 0.0, 0.5, 0.9])
def test_bivariate_joint_power_matches_quadrature(df, rho):
    # Independent: scipy's bivariate normal cdf inside scipy.integrate.quad over U.
    delta, crit = np.array([1.3, 2.1]), np.array([1.7, 1.9])
    corr = np.array([[1.0, rho], [rho, 1.0]])
    mvn = stats.multivariate_normal(cov=corr)
    if math.isinf(df):
        expected = mvn.cdf(delta - crit)
    else:
        u = stats.chi(df, scale=1 / math.sqrt(df))
        expected = integrate.quad(
            lambda x: mvn.cdf(delta - crit * x) * u.pdf(x), 0, u.isf(1e-14), epsabs=1e-12, limit=200
        )[0]
    assert joint_power(delta, crit, corr, df) == pytest.approx(expected, abs=1e-7)


def test_trivariate_product_form_matches_scipy_mvn():
    loadings = np.array([0.6, -0.5, 0.7])
    corr = np.outer(loadings, loadings)
    np.fill_diagonal(corr, 1.0)
    assert product_loadings(corr) == pytest.approx(loadings)
    upper = np.array([0.4, 1.1, -0.2])
    expected = stats.multivariate_normal(cov=corr, abseps=1e-9, releps=0, maxpts=10**7, seed=5).cdf(
        upper
    )
    got = joint_power(upper, np.zeros(3), corr, math.inf)
    assert got == pytest.approx(expected, abs=2e-6)


def test_general_correlation_falls_back_to_genz():
    corr = np.array([[1.0, 0.3, 0.0], [0.3, 1.0, 0.5], [0.0, 0.5, 1.0]])
    assert product_loadings(corr) is None
    upper = np.array([0.5, 0.2, 1.0])
    expected = stats.multivariate_normal(cov=corr, abseps=1e-9, releps=0, maxpts=10**7, seed=5).cdf(
        upper
    )
    assert joint_power(upper, np.zeros(3), corr, math.inf) == pytest.approx(expected, abs=1e-5)


def test_joint_power_rejects_bad_correlation():
    with pytest.raises(ValueError, match="unit diagonal"):
        joint_power([1, 1], [1, 1], np.array([[2.0, 0], [0, 1]]), math.inf)
    with pytest.raises(ValueError, match="same number of statistics"):
        joint_power([1, 1], [1], np.eye(2), math.inf)


# ------------------------------------------------------ brute-force simulation (slow)
def simulate_ols_power(design, hypotheses, *, n_sims, seed, baseline_corr=0.0):
    """Reject rates of statsmodels OLS fits of individual data (independent check)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(seed)
    n = design.n_array
    cells = design.cells
    means = np.array([design.outcome.means[c] for c in cells])
    sd = design.outcome.sd
    group = np.repeat(np.arange(len(cells)), n)
    dummies = np.eye(len(cells))[group]
    contrasts = {h: design.hypothesis(h).contrasts[0] for h in hypotheses}
    crit = stats.t.isf(design.alpha / 2, design.cell_model().df)
    hits = dict.fromkeys(hypotheses, 0)
    for _ in range(n_sims):
        baseline = rng.normal(size=group.size)
        noise = rng.normal(size=group.size)
        y = means[group] + sd * (baseline_corr * baseline + math.sqrt(1 - baseline_corr**2) * noise)
        x = np.column_stack([dummies, baseline]) if baseline_corr else dummies
        fit = sm.OLS(y, x).fit()
        for h, c in contrasts.items():
            weights = np.append(c, 0.0) if baseline_corr else c
            t_value = fit.t_test(weights).tvalue.item()
            hits[h] += abs(t_value) > crit
    return {h: hits[h] / n_sims for h in hypotheses}


@pytest.mark.slow
@pytest.mark.parametrize("baseline_corr", [0.0, 0.6])
def test_exact_power_agrees_with_statsmodels_simulation(baseline_corr):
    # Independent check of the noncentral t (and of the exact ANCOVA power under a
    # normal baseline): rejection rates of OLS fits of simulated patients.
    d = two_by_two(interaction=-3.0, n_per_cell=12, sd=4.0, baseline_corr=baseline_corr)
    hyps = ("rTMS", "rTMS:MBI", "MBI | rTMS=sham")
    n_sims = 4000
    sim = simulate_ols_power(d, hyps, n_sims=n_sims, seed=2026, baseline_corr=baseline_corr)
    exact = d.power(list(hyps))
    for h in hyps:
        mcse = math.sqrt(exact[h] * (1 - exact[h]) / n_sims)
        assert abs(sim[h] - exact[h]) < 4 * mcse, (h, sim[h], exact[h])


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        pytest.param(
            {"alpha": math.nan}, ValueError, r"alpha must be finite; got alpha=nan", id="alpha-nan"
        ),
        pytest.param(
            {"alpha": 1.5},
            ValueError,
            r"alpha must lie strictly between 0 and 1; "
            r"got alpha=1.5",
            id="alpha-above-one",
        ),
        pytest.param({"alpha": "0.05"}, TypeError, r"alpha must be a real number", id="alpha-str"),
        pytest.param(
            {"sided": 3}, ValueError, r"sided must be 1 .* or 2 .*; got sided=3", id="sided-three"
        ),
        pytest.param(
            {"favourable": 0},
            ValueError,
            r"favourable must be \+1 .* or -1 .*; got "
            r"favourable=0",
            id="favourable-zero",
        ),
        pytest.param({"df": "x"}, TypeError, r"df must be a real number; got df='x'", id="df-str"),
        pytest.param(
            {"se": None}, TypeError, r"se must be a real number; got se=None", id="se-none"
        ),
    ],
)
def test_test_statistic_validates_its_fields(change, error, match):
    # alpha=nan, favourable=0 and sided=3 were accepted (power then NaN or
    # wrong); a string df failed with "'>' not supported between 'str' and 'int'".
    kwargs = {"hypothesis": "A", "estimand": "A", "effect": 0.5, "se": 0.2, **change}
    with pytest.raises(error, match=match):
        TestStatistic(**kwargs)
