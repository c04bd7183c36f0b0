"""Simulated power of group-delivered MBI (partially nested design) and the default engine.

Expected values come from theory (exact t laws of the between-group and
within-cell mean squares, Satterthwaite 1946), from independent computations
of the estimator on the simulated patients (pandas group-bys, statsmodels OLS
with group fixed effects, statsmodels MixedLM/REML), and from the analytic
noncentral-t power, whose partially nested df rule is checked by hand in
tests/test_clustering.py.  Never from the simulator's own output.

Calibration record (exact engine, 100,000 trials, n = 60 per cell, effects
0/-3/-2/-8, sd 8; ICC .02/.05/.1 x m 6/10 x rho 0/.5 x one/two-sided):
with the earlier analytic rule (one df, N - J - covariates - sum(n_j - g_j),
for every contrast) the simulated analysis had a two-sided type I error of
0.052-0.060 for main effects and the interaction (up to 0.071 at n = 30;
0.064-0.114 for the simple effect within the MBI cells at n 60-30), so that
rule was replaced by Satterthwaite's df per contrast.  Script and output:
tests/references/clustered_calibration.py and .txt.  With it every single-contrast hypothesis
is within 3.5 MCSE of the analytic power (null and alternative).  The
combination test's analytic power uses the smallest component df and is
conservative: e.g. 0.864 analytic vs 0.883 simulated (ICC .02, m 6) and
0.808 vs 0.844 (ICC .02, m 10).
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import trialplan as tp
from trialplan.simulate.clustered import ClusteredSimulator, group_sizes

FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
MEANS = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}
NULL = dict.fromkeys(MEANS, 0.0)
SINGLE = ("rTMS", "MBI", "rTMS:MBI", "rTMS | MBI=MBI", "rTMS | MBI=control")


def grouped(
    *, icc=0.05, m=8, n=48, rho=0.0, sided=2, means=MEANS, size_cv=0.0, outcome=None
) -> tp.Factorial:
    return tp.Factorial(
        factors=FACTORS,
        outcome=outcome or tp.Continuous(means=means, sd=8.0, baseline_corr=rho),
        n_per_cell=n,
        sided=sided,
        alpha=0.05 if sided == 2 else 0.025,
        clusters=tp.Clustering(factor="MBI", icc=icc, group_size=m, size_cv=size_cv),
    )


# ------------------------------------------------------------ the estimator
def _one_trial(design: tp.Factorial, seed: int):
    """The individual engine's draws of one trial and the same patients as a frame."""
    sim = ClusteredSimulator()
    params = sim.prepare(design)
    draws = sim.draw(params, np.random.default_rng(seed), 1, engine="individual")
    frame = sim.patient_data(params, np.random.default_rng(seed))
    return params, draws, frame


@pytest.mark.parametrize("n", [48, 50], ids=["equal-groups", "groups-of-8-and-7"])
def test_partially_nested_fit_equals_group_by_computation(n: int) -> None:
    # Independent: pandas group-bys of the patients give the cell means, the pooled
    # between-group mean square (MBI cells) and the pooled within-cell one (others).
    d = grouped(n=n)
    _, draws, frame = _one_trial(d, seed=11)
    frame["unit"] = np.where(
        frame["group"] > 0, "g" + frame["group"].astype(str), "c" + frame["cell"]
    )
    in_groups = frame["group"] > 0
    cell_mean = frame.groupby("cell")["y"].mean()
    alone = frame[~in_groups]
    msw = ((alone["y"] - alone.groupby("cell")["y"].transform("mean")) ** 2).sum() / (
        len(alone) - alone["cell"].nunique()
    )
    g = frame[in_groups].groupby(["cell", "group"])["y"].agg(["mean", "size"]).reset_index()
    g["dev"] = g["mean"] - g["cell"].map(cell_mean)
    msb = (g["size"] * g["dev"] ** 2).sum() / (len(g) - g["cell"].nunique())
    n_cell = frame.groupby("cell").size()
    for j, cell in enumerate(d.cells):
        label = d.cell_label(cell)
        assert draws.estimates[0, j] == pytest.approx(cell_mean[label], abs=1e-10)
        expected = (msb if cell[1] == "MBI" else msw) / n_cell[label]
        assert draws.variances[0, j] == pytest.approx(expected, rel=1e-10)


def test_partially_nested_ancova_slope_equals_ols_with_group_fixed_effects() -> None:
    # The common slope is the within-group / within-cell estimator: the baseline
    # coefficient of an OLS fit with one intercept per therapy group or cell
    # (statsmodels).  The adjusted MBI cell means follow as ybar_j - b xbar_j.
    d = grouped(rho=0.5, n=48)
    _, draws, frame = _one_trial(d, seed=5)
    frame["unit"] = np.where(
        frame["group"] > 0, "g" + frame["group"].astype(str), "c" + frame["cell"]
    )
    fit = smf.ols("y ~ 0 + C(unit) + baseline", data=frame).fit()
    b = fit.params["baseline"]
    means = frame.groupby("cell")[["y", "baseline"]].mean()
    for j, cell in enumerate(d.cells):
        row = means.loc[d.cell_label(cell)]
        assert draws.estimates[0, j] == pytest.approx(row["y"] - b * row["baseline"], abs=1e-9)


def test_between_group_variance_equals_mixedlm_reml() -> None:
    # For equal groups the between-group mean square gives the REML variance of a
    # clustered cell mean, (tau^2 + sigma_w^2 / m) / g, whenever the REML tau^2 > 0
    # (Searle, Casella & McCulloch 1992, ch. 3): statsmodels MixedLM on the MBI cells.
    d = grouped(icc=0.2, n=48)
    checked = 0
    for seed in range(6):
        _, draws, frame = _one_trial(d, seed=seed)
        sub = frame[frame["group"] > 0].copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optimizer retries; checked below
            fit = smf.mixedlm("y ~ 0 + C(cell)", sub, groups=sub["group"]).fit(
                reml=True, method="powell"
            )
        tau2 = float(fit.cov_re.iloc[0, 0])
        if not fit.converged or tau2 <= 1e-6:
            continue
        mbi = [j for j, c in enumerate(d.cells) if c[1] == "MBI"]
        assert draws.variances[0, mbi] == pytest.approx(
            np.diag(fit.cov_params())[:2], rel=2e-3
        )  # optimizer tolerance
        checked += 1
    assert checked >= 4


def test_group_sizes_are_as_equal_as_possible() -> None:
    assert group_sizes(50, 7).tolist() == [8, 7, 7, 7, 7, 7, 7]
    assert group_sizes(48, 6).tolist() == [8] * 6


# --------------------------------------------------------- exact t laws (H0)
@pytest.mark.parametrize("rho", [0.0, 0.5], ids=["anova", "ancova"])
def test_null_t_laws_of_the_pure_contrasts(rho: float) -> None:
    # Equal groups: a contrast of MBI cells only is t with G_c - J_c = 2 (6 - 1) = 10
    # df, one of control cells only t with N_u - J_u = 94 df (ANCOVA: about 93).
    d = grouped(means=NULL, n=48, rho=rho, icc=0.1)
    sim = ClusteredSimulator()
    params = sim.prepare(d)
    draws = sim.draw(params, np.random.default_rng(2026), 20_000, engine="exact")
    for name, df in (("rTMS | MBI=MBI", 10), ("rTMS | MBI=control", 94 - (rho != 0))):
        est, se = draws.contrast(d.hypothesis(name).contrasts)
        t = (est / se)[:, 0]
        # ANCOVA adds the slope's tiny imbalance term: still t to within KS power.
        assert stats.kstest(t, stats.t(df).cdf).pvalue > 1e-3, name


def test_simulated_type_one_error_with_few_groups() -> None:
    # 3 groups of 10 per MBI cell: the MBI-only contrast is exactly t(4); the old single
    # df (62) rejected 11.4 % of null trials, its own df keeps 5 %.  Mixed contrasts
    # (rTMS) with Satterthwaite df estimated per trial are slightly liberal with so few
    # groups: 0.0544-0.0548 in 200,000 trials (Satterthwaite's known small-sample bias).
    d = grouped(means=NULL, n=30, m=10, icc=0.1)
    sim = d.power(["rTMS | MBI=MBI", "rTMS"], method="simulation", n_sims=40_000, seed=4)
    mcse = math.sqrt(0.05 * 0.95 / 40_000)
    assert abs(sim["rTMS | MBI=MBI"] - 0.05) < 4 * mcse
    assert 0.05 - 2 * mcse < sim["rTMS"] < 0.06
    assert d.statistics("rTMS | MBI=MBI")[0].df == 4


# ------------------------------------------------- agreement with analytic
GRID = [
    pytest.param(icc, m, rho, sided, id=f"icc{icc}-m{m}-rho{rho}-{sided}sided")
    for icc in (0.02, 0.05, 0.1)
    for m in (6, 10)
    for rho in (0.0, 0.5)
    for sided in (1, 2)
]


@pytest.mark.parametrize(("icc", "m", "rho", "sided"), GRID)
def test_exact_engine_within_4_mcse_of_analytic_power(icc, m, rho, sided) -> None:
    d = grouped(icc=icc, m=m, n=60, rho=rho, sided=sided)
    analytic = d.power(list(SINGLE))
    sim = d.power(list(SINGLE), method="simulation", n_sims=20_000, seed=2026)
    for name in SINGLE:
        assert abs(sim[name] - analytic[name]) < 4 * max(sim.mcse[name], 1e-3), name


@pytest.mark.parametrize(("rho", "m"), [(0.0, 6), (0.5, 10)])
def test_individual_engine_within_4_mcse_of_analytic_power(rho: float, m: int) -> None:
    d = grouped(icc=0.05, m=m, n=60, rho=rho)
    analytic = d.power(list(SINGLE))
    sim = d.power(list(SINGLE), method="simulation", n_sims=4000, seed=7, engine="individual")
    assert sim.extras["engine"] == "individual"
    for name in SINGLE:
        assert abs(sim[name] - analytic[name]) < 4 * max(sim.mcse[name], 1e-3), name


@pytest.mark.parametrize(
    ("icc", "m", "rho", "sided"),
    [(0.02, 6, 0.0, 2), (0.02, 10, 0.0, 2), (0.05, 6, 0.5, 2), (0.1, 10, 0.0, 1)],
)
def test_combination_within_4_mcse_of_analytic_power(icc, m, rho, sided) -> None:
    # The min test's components have different Satterthwaite df (combination vs rTMS alone
    # mixes grouped and individual cells; combination vs MBI alone is all grouped), so the
    # analytic power joins their exact marginal powers by a Gaussian copula. Giving both the
    # smaller df instead was 2-3.5 points low (0.864 / 0.808 vs 0.883 / 0.85 simulated at
    # ICC .02, groups of 6 / 10).
    d = grouped(icc=icc, m=m, n=60, rho=rho, sided=sided)
    analytic = d.power("combination")
    assert "Gaussian copula" in analytic.rows[0].method
    sim = d.power("combination", method="simulation", n_sims=20_000, seed=3)
    assert abs(sim["combination"] - analytic["combination"]) < 4 * sim.mcse["combination"]


def test_combination_without_clustering_stays_exact_multivariate_t() -> None:
    d = grouped(icc=0.0)
    d = tp.Factorial(factors=FACTORS, outcome=d.outcome, n_per_cell=60)
    assert "exact multivariate t" in d.power("combination").rows[0].method


# ------------------------------------------------------ seeds and executors
def test_same_seed_same_result_whatever_the_budget_and_executor() -> None:
    d = grouped(rho=0.5)
    for engine in ("exact", "individual"):
        base = d.power(method="simulation", n_sims=3000, seed=9, engine=engine)
        small = d.power(
            method="simulation",
            n_sims=3000,
            seed=9,
            engine=engine,
            memory_budget=base.extras["block_length"] * 8 * 10**5,
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            pooled = d.power(method="simulation", n_sims=3000, seed=9, engine=engine, executor=pool)
        assert dict(base) == dict(small) == dict(pooled)
        assert dict(base) != dict(d.power(method="simulation", n_sims=3000, seed=10, engine=engine))


def test_patient_data_has_groups_and_user_analysis_runs() -> None:
    d = grouped(n=16, m=8, rho=0.5)
    frame = ClusteredSimulator().patient_data(
        ClusteredSimulator().prepare(d), np.random.default_rng(1)
    )
    assert list(frame.columns) == ["cell", "rTMS", "MBI", "group", "baseline", "y"]
    assert frame.groupby("group").size().to_dict() == {0: 32, 1: 8, 2: 8, 3: 8, 4: 8}
    assert set(frame.loc[frame["group"] > 0, "MBI"]) == {"MBI"}
    res = d.power("rTMS", method="simulation", n_sims=3, seed=1, analysis=_p_rtms)
    assert res.extras["engine"] == "individual"


def _p_rtms(frame: pd.DataFrame) -> dict[str, float]:
    return {"rTMS": float(smf.ols("y ~ rTMS * MBI + baseline", frame).fit().f_pvalue)}


# --------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"size_cv": 0.4}, r"size_cv=0.4; allowed: size_cv=0", id="unequal-groups"),
    ],
)
def test_unsupported_clustered_simulation_is_named(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        grouped(**kwargs).power(method="simulation", n_sims=10, seed=1)


def test_one_group_per_clustered_cell_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"\[1, 1\] therapy group.*at least two groups"):
        grouped(n=8, m=8)
    # The sample-size search steps past such sizes instead of failing.
    assert grouped(n=16, m=8).sample_size(power=0.8, hypothesis="MBI").n_per_cell >= 9


# ------------------------------------------------------- default engine
def _repeated_design() -> tp.Factorial:
    means = {c: (0.0, v / 2, v) for c, v in MEANS.items()}
    return tp.Factorial(
        factors=FACTORS,
        n_per_cell=20,
        outcome=tp.Repeated(means=means, sd=8.0, times=(0, 1, 2), rho=0.5),
    )


def test_default_engine_is_the_outcomes_preferred_engine() -> None:
    res = _repeated_design().power("rTMS", method="simulation", n_sims=20, seed=1)
    assert res.extras["engine"] == "individual"
    assert (
        grouped().power("rTMS", method="simulation", n_sims=20, seed=1).extras["engine"] == "exact"
    )


def test_engine_not_offered_names_the_available_engines() -> None:
    with pytest.raises(
        ValueError,
        match=r"engine='exact' is not offered for Repeated "
        r"outcomes; choose one of \('individual',\)",
    ):
        _repeated_design().power("rTMS", method="simulation", n_sims=20, seed=1, engine="exact")
    with pytest.raises(ValueError, match=r"engine='exakt' is not allowed.*did you mean 'exact'"):
        grouped().power(method="simulation", n_sims=20, seed=1, engine="exakt")
