"""Simulation engine: exactness of the sufficient statistics, agreement with exact
power, reproducibility across batching and executors, and input errors.

Expected values come from statsmodels OLS fits of patient-level data (the
analysis the simulation claims to reproduce) and from the exact noncentral-t /
multivariate-t power, which itself is checked against G*Power, Superpower and R
elsewhere (tests/test_factorial*.py).
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import trialplan as tp
from trialplan.simulate.continuous import (
    ContinuousSimulator,
    ancova_from_sufficient,
    anova_from_sufficient,
)
from trialplan.simulate.protocol import CellDraws, register_simulator, simulator_for

CELLS = (("a0", "b0"), ("a0", "b1"), ("a1", "b0"), ("a1", "b1"))


def two_by_two(
    *, means=(0.0, -2.0, -3.0, -8.0), sd=8.0, n_per_cell=50, rho=0.0, sided=2, alpha=0.05
):
    return tp.Factorial(
        factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        outcome=tp.Continuous(
            means=dict(zip(CELLS, means, strict=True)), sd=sd, baseline_corr=rho, better="lower"
        ),
        n_per_cell=n_per_cell,
        alpha=alpha,
        sided=sided,
    )


def patient_frames(seed: int, n: np.ndarray, rho: float, k: int):
    """Independent patient data (numpy only), one DataFrame per trial."""
    rng = np.random.default_rng(seed)
    cell = np.repeat(np.arange(4), n)
    for _ in range(k):
        x = rng.normal(10.0, 3.0, cell.size)
        y = 2.0 * cell + rho * x + rng.normal(0.0, 4.0, cell.size)
        yield pd.DataFrame({"cell": cell, "baseline": x, "y": y})


CONTRASTS = {
    "A": np.array([-0.5, -0.5, 0.5, 0.5]),
    "A:B": np.array([1.0, -1.0, -1.0, 1.0]),
    "A | B=b0": np.array([-1.0, 0.0, 1.0, 0.0]),
}


def ols_t(frame: pd.DataFrame, formula: str, weights: np.ndarray) -> float:
    fit = smf.ols(formula, data=frame).fit()
    full = np.zeros(len(fit.params))
    full[:4] = weights  # the cell coefficients come first
    return float(fit.t_test(full).tvalue.item())


# --------------------------------------------- sufficient statistics == OLS fits
@pytest.mark.parametrize(
    "n",
    [
        pytest.param(np.array([7, 7, 7, 7]), id="equal-n"),
        pytest.param(np.array([5, 9, 6, 12]), id="unequal-n"),
    ],
)
def test_anova_from_sufficient_statistics_equals_statsmodels_ols(n: np.ndarray) -> None:
    for frame in patient_frames(11, n, 0.0, 3):
        g = frame.groupby("cell")["y"]
        ybar = g.mean().to_numpy()[None]
        ss = float(((frame["y"] - g.transform("mean")) ** 2).sum())
        draws = anova_from_sufficient(ybar, np.array([ss]), n)
        for weights in CONTRASTS.values():
            est, se = draws.contrast(weights[None])
            expected = ols_t(frame, "y ~ 0 + C(cell)", weights)
            assert est[0, 0] / se[0, 0] == pytest.approx(expected, abs=1e-10)
        assert draws.df == smf.ols("y ~ 0 + C(cell)", data=frame).fit().df_resid


@pytest.mark.parametrize(
    "n",
    [
        pytest.param(np.array([8, 8, 8, 8]), id="equal-n"),
        pytest.param(np.array([5, 9, 6, 12]), id="unequal-n"),
    ],
)
def test_ancova_from_sufficient_statistics_equals_statsmodels_ols(n: np.ndarray) -> None:
    for frame in patient_frames(12, n, 0.6, 3):
        g = frame.groupby("cell")
        xbar = g["baseline"].mean().to_numpy()
        ybar = g["y"].mean().to_numpy()
        dx = frame["baseline"] - g["baseline"].transform("mean")
        dy = frame["y"] - g["y"].transform("mean")
        draws = ancova_from_sufficient(
            xbar[None], ybar[None], np.array([dx @ dx]), np.array([dx @ dy]), np.array([dy @ dy]), n
        )
        fit = smf.ols("y ~ 0 + C(cell) + baseline", data=frame).fit()
        np.testing.assert_allclose(
            draws.estimates[0], fit.params.to_numpy()[:4], rtol=0, atol=1e-10
        )
        np.testing.assert_allclose(
            draws.covariance_matrix()[0], fit.cov_params().to_numpy()[:4, :4], rtol=0, atol=1e-10
        )
        for weights in CONTRASTS.values():
            est, se = draws.contrast(weights[None])
            expected = ols_t(frame, "y ~ 0 + C(cell) + baseline", weights)
            assert est[0, 0] / se[0, 0] == pytest.approx(expected, abs=1e-10)
        assert draws.df == fit.df_resid


@pytest.mark.parametrize("rho", [pytest.param(0.0, id="anova"), pytest.param(0.5, id="ancova")])
def test_individual_engine_equals_statsmodels_fit_of_its_own_patients(rho: float) -> None:
    # patient_data draws one trial exactly as the batched engine draws a block, so
    # a per-trial statsmodels fit must give the batched least-squares statistics.
    design = two_by_two(n_per_cell={CELLS[0]: 6, CELLS[1]: 9, CELLS[2]: 7, CELLS[3]: 11}, rho=rho)
    sim = ContinuousSimulator()
    params = sim.prepare(design)
    draws = sim.draw(params, np.random.default_rng(5), 4, engine="individual")
    rng = np.random.default_rng(5)
    formula = "y ~ 0 + C(cell)" + (" + baseline" if rho else "")
    for r in range(4):
        frame = sim.patient_data(params, rng)
        frame["cell"] = pd.Categorical(frame["cell"], categories=params.labels)
        for weights in CONTRASTS.values():
            est, se = draws.contrast(weights[None])
            assert est[r, 0] / se[r, 0] == pytest.approx(ols_t(frame, formula, weights), abs=1e-10)


@pytest.mark.parametrize("rho", [pytest.param(0.0, id="anova"), pytest.param(0.7, id="ancova")])
def test_exact_engine_null_t_statistics_are_t_distributed(rho: float) -> None:
    # Under H0 an OLS (ANCOVA) contrast's t statistic is exactly t(N - J - q),
    # whatever the baseline imbalance; Kolmogorov-Smirnov on 100,000 draws.
    design = two_by_two(
        means=(1.0, 1.0, 1.0, 1.0),
        n_per_cell={CELLS[0]: 4, CELLS[1]: 6, CELLS[2]: 5, CELLS[3]: 3},
        rho=rho,
    )
    sim = ContinuousSimulator()
    draws = sim.draw(sim.prepare(design), np.random.default_rng(3), 100_000, engine="exact")
    est, se = draws.contrast(np.array([CONTRASTS["A:B"], CONTRASTS["A"]]))
    df = 18 - 4 - (rho != 0)
    assert draws.df == df
    for k in range(2):
        assert stats.kstest(est[:, k] / se[:, k], stats.t(df).cdf).pvalue > 0.001
    np.testing.assert_allclose(draws.estimates.mean(axis=0), 1.0, atol=0.03)


# --------------------------------------------------- agreement with exact power
GRID = [
    pytest.param(dict(), id="equal-n-two-sided"),
    pytest.param(dict(sided=1, alpha=0.025), id="equal-n-one-sided"),
    pytest.param(
        dict(n_per_cell={CELLS[0]: 30, CELLS[1]: 45, CELLS[2]: 60, CELLS[3]: 40}),
        id="unequal-n-two-sided",
    ),
    pytest.param(dict(rho=0.5, n_per_cell=30), id="ancova-equal-n"),
    pytest.param(
        dict(
            rho=-0.4,
            sided=1,
            alpha=0.025,
            n_per_cell={CELLS[0]: 20, CELLS[1]: 35, CELLS[2]: 25, CELLS[3]: 30},
        ),
        id="ancova-unequal-n-one-sided",
    ),
    pytest.param(dict(n_per_cell=4, sd=3.0), id="small-df"),
]


@pytest.mark.parametrize("kwargs", GRID)
def test_exact_engine_within_4_mcse_of_exact_power(kwargs: dict) -> None:
    design = two_by_two(**kwargs)
    exact = design.power()
    sim = design.power(method="simulation", n_sims=6000, seed=2026)
    assert sim.method == "simulation"
    assert sim.n_sims == 6000
    assert sim.seed == 2026
    assert list(sim) == list(exact)
    for name in exact:
        if exact.row(name).method.endswith("(approx.))"):
            continue  # only compare with exact values
        tol = 4 * max(sim.mcse[name], math.sqrt(0.25 / 6000) / 10)
        assert abs(sim[name] - exact[name]) < tol, (name, sim[name], exact[name])


@pytest.mark.parametrize("kwargs", [GRID[2], GRID[4]])
def test_individual_engine_within_4_mcse_of_exact_power(kwargs: dict) -> None:
    design = two_by_two(**kwargs)
    names = ["A", "A:B", "combination"]
    exact = design.power(names)
    sim = design.power(names, method="simulation", n_sims=2000, seed=7, engine="individual")
    for name in names:
        if exact.row(name).method.endswith("(approx.))"):
            continue
        assert abs(sim[name] - exact[name]) < 4 * sim.mcse[name], name


@pytest.mark.slow
@pytest.mark.parametrize("kwargs", GRID)
def test_exact_engine_large_run_within_4_mcse(kwargs: dict) -> None:
    design = two_by_two(**kwargs)
    exact = design.power()
    sim = design.power(method="simulation", n_sims=1_000_000, seed=99)  # ~1 s each
    for name in exact:
        if exact.row(name).method.endswith("(approx.))"):
            continue
        assert abs(sim[name] - exact[name]) < 4 * max(sim.mcse[name], 1e-5), name


def test_type_one_error_under_the_null() -> None:
    # All means equal: every two-sided test rejects with probability alpha exactly.
    design = two_by_two(means=(1.0, 1.0, 1.0, 1.0), rho=0.3)
    sim = design.power(["A", "A:B"], method="simulation", n_sims=8000, seed=4)
    for name in ("A", "A:B"):
        assert abs(sim[name] - 0.05) < 4 * math.sqrt(0.05 * 0.95 / 8000)


def test_mcse_formula() -> None:
    sim = two_by_two().power("A:B", method="simulation", n_sims=1000, seed=1)
    p = sim["A:B"]
    assert sim.mcse["A:B"] == pytest.approx(math.sqrt(p * (1 - p) / 1000))
    assert sim.extras["rejections"]["A:B"] == round(p * 1000)
    assert "mcse" in sim.to_frame().columns


# --------------------------------------------------------------- reproducibility
def counts(result) -> dict:
    return dict(result.extras["rejections"])


def test_same_seed_same_result_whatever_the_memory_budget() -> None:
    design = two_by_two(rho=0.4)
    runs = [
        design.power(method="simulation", n_sims=9000, seed=8, memory_budget=budget)
        for budget in (10**9, 2**22, 2**21)
    ]
    assert runs[0].extras["block_length"] == runs[1].extras["block_length"]
    assert counts(runs[0]) == counts(runs[1]) == counts(runs[2])


def test_individual_engine_same_result_whatever_the_memory_budget() -> None:
    design = two_by_two(n_per_cell=20)
    a = design.power("A:B", method="simulation", n_sims=3000, seed=8, engine="individual")
    b = design.power(
        "A:B",
        method="simulation",
        n_sims=3000,
        seed=8,
        engine="individual",
        memory_budget=20 * 2**20,
    )
    assert counts(a) == counts(b)


def test_seed_forms_reproduce() -> None:
    design = two_by_two()
    base = design.power("A", method="simulation", n_sims=500, seed=3)
    again = design.power("A", method="simulation", n_sims=500, seed=np.random.SeedSequence(3))
    assert counts(base) == counts(again)
    g1 = design.power("A", method="simulation", n_sims=500, seed=np.random.default_rng(9))
    g2 = design.power("A", method="simulation", n_sims=500, seed=g1.seed)
    assert counts(g1) == counts(g2)
    fresh = design.power("A", method="simulation", n_sims=500, seed=None)
    assert counts(
        design.power("A", method="simulation", n_sims=500, seed=np.random.SeedSequence(fresh.seed))
    ) == counts(fresh)


def test_same_result_with_thread_and_process_executors() -> None:
    design = two_by_two(rho=0.3)
    serial = design.power(method="simulation", n_sims=5000, seed=21)
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = design.power(method="simulation", n_sims=5000, seed=21, executor=pool)
    with ProcessPoolExecutor(max_workers=2) as pool:
        processes = design.power(method="simulation", n_sims=5000, seed=21, executor=pool)
    assert counts(serial) == counts(threaded) == counts(processes)


@pytest.mark.slow
def test_same_result_with_a_dask_local_cluster() -> None:
    distributed = pytest.importorskip("distributed")
    design = two_by_two()
    serial = design.power(method="simulation", n_sims=5000, seed=5)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        parallel = design.power(
            method="simulation", n_sims=5000, seed=5, executor=client.get_executor()
        )
    assert counts(serial) == counts(parallel)


# ------------------------------------------------------------------ analysis=
def ols_p_values(frame: pd.DataFrame) -> dict:
    """A user analysis: statsmodels formula fit, p-values per hypothesis."""
    fit = smf.ols("y ~ 0 + C(cell) + baseline", data=frame).fit()
    names = [f"C(cell)[{c}]" for c in ("a0+b0", "a0+b1", "a1+b0", "a1+b1")]
    out = {}
    for name, w in (("A", CONTRASTS["A"]), ("A:B", CONTRASTS["A:B"])):
        out[name] = float(
            fit.t_test(
                pd.Series(w, index=names).reindex(fit.params.index, fill_value=0.0).to_numpy()
            ).pvalue
        )
    # combination: a1+b1 lower than a0+b1 and than a1+b0 (one-sided), IUT p = max
    ps = []
    for w in ([0, -1, 0, 1], [0, 0, -1, 1]):
        res = fit.t_test(
            pd.Series(w, index=names, dtype=float)
            .reindex(fit.params.index, fill_value=0.0)
            .to_numpy()
        )
        ps.append(float(stats.t.cdf(res.tvalue.item(), fit.df_resid)))
    out["combination"] = max(ps)
    return out


def test_user_analysis_reproduces_individual_engine_decisions() -> None:
    design = two_by_two(n_per_cell=12, rho=0.5)
    names = ["A", "A:B", "combination"]
    user = design.power(names, method="simulation", n_sims=40, seed=13, analysis=ols_p_values)
    batched = design.power(names, method="simulation", n_sims=40, seed=13, engine="individual")
    assert counts(user) == counts(batched)
    assert "ols_p_values" in user.row("A").method


def test_analysis_errors_name_the_problem() -> None:
    design = two_by_two(n_per_cell=5)
    with pytest.raises(ValueError, match="no p-value for hypothesis 'A:B'"):
        design.power(
            ["A", "A:B"], method="simulation", n_sims=2, seed=1, analysis=lambda frame: {"A": 0.5}
        )
    with pytest.raises(ValueError, match=r"p-value 1\.5 for hypothesis 'A'.*\[0, 1\]"):
        design.power("A", method="simulation", n_sims=2, seed=1, analysis=lambda frame: {"A": 1.5})
    with pytest.raises(TypeError, match="mapping"):
        design.power("A", method="simulation", n_sims=2, seed=1, analysis=lambda frame: 0.1)
    with pytest.raises(ValueError, match="engine='individual'"):
        design.power(
            "A",
            method="simulation",
            n_sims=2,
            seed=1,
            engine="exact",
            analysis=lambda frame: {"A": 0.1},
        )


def test_patient_data_columns() -> None:
    design = two_by_two(n_per_cell=3, rho=0.2)
    sim = simulator_for(design.outcome)
    frame = sim.patient_data(sim.prepare(design), np.random.default_rng(0))
    assert list(frame.columns) == ["cell", "A", "B", "baseline", "y"]
    assert len(frame) == 12
    assert set(frame["A"]) == {"a0", "a1"}


# ------------------------------------------------------------------ progress
def test_progress_bar_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    # several blocks (the bar starts after the first one)
    two_by_two().power("A", method="simulation", n_sims=20_000, seed=1, progress=True)
    assert "simulating" in capsys.readouterr().err


def test_no_progress_bar_when_not_interactive(capsys: pytest.CaptureFixture[str]) -> None:
    two_by_two().power("A", method="simulation", n_sims=20_000, seed=1)
    assert "simulating" not in capsys.readouterr().err


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        pytest.param(
            dict(n_sims=0),
            ValueError,
            r"n_sims must be a whole number >= 1; got n_sims=0",
            id="n_sims-zero",
        ),
        pytest.param(dict(n_sims=-5), ValueError, r"n_sims=-5", id="n_sims-negative"),
        pytest.param(
            dict(n_sims=100.5),
            TypeError,
            r"n_sims must be a whole number; got "
            r"n_sims=100\.5",
            id="n_sims-fraction",
        ),
        pytest.param(dict(n_sims="100"), TypeError, r"n_sims='100'", id="n_sims-string"),
        pytest.param(
            dict(n_sims=100, memory_budget=1000),
            ValueError,
            r"memory_budget=1000 bytes cannot hold one block .*allowed: memory_budget >=",
            id="memory-budget-impossible",
        ),
        pytest.param(
            dict(n_sims=100, memory_budget=0),
            ValueError,
            r"memory_budget=0",
            id="memory-budget-zero",
        ),
        pytest.param(
            dict(n_sims=100, memory_budget=2.5e8),
            TypeError,
            r"memory_budget must be a whole number of bytes",
            id="memory-budget-float",
        ),
        pytest.param(
            dict(n_sims=100, engine="exacct"),
            ValueError,
            r"engine='exacct' is not allowed; choose one of \('exact', 'individual'\)",
            id="engine-typo",
        ),
        pytest.param(
            dict(n_sims=100, executor=4),
            TypeError,
            r"executor must be a "
            r"concurrent\.futures\.Executor.*executor=4",
            id="executor-not-executor",
        ),
        pytest.param(
            dict(n_sims=100, analysis="ols"),
            TypeError,
            r"analysis must be a callable",
            id="analysis-not-callable",
        ),
        pytest.param(
            dict(n_sims=100, seed=-1), TypeError, r"seed must be .*seed=-1", id="seed-negative"
        ),
        pytest.param(dict(n_sims=100, seed=1.5), TypeError, r"seed=1\.5", id="seed-float"),
        pytest.param(
            dict(n_sims=100, progress="yes"), TypeError, r"progress='yes'", id="progress-string"
        ),
        pytest.param(dict(n_sims=100, nsims=3), TypeError, r"nsims", id="unknown-option"),
    ],
)
def test_bad_input(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        two_by_two().power(method="simulation", **options)


def test_default_n_sims_is_10000() -> None:
    assert two_by_two().power("A", method="simulation", seed=1).n_sims == 10_000


# ------------------------------------------------------------------ protocol
class Toy:
    """An outcome type without a simulator."""

    def cell_model(self, cells, n, design_effect=None):  # pragma: no cover
        raise NotImplementedError


def test_unregistered_outcome_type_is_named() -> None:
    with pytest.raises(TypeError, match="no simulator is registered for outcome type 'Toy'"):
        simulator_for(Toy())


def test_register_simulator_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="outcome_type must be a class"):
        register_simulator("Toy", ContinuousSimulator())
    with pytest.raises(TypeError, match="simulator must implement"):
        register_simulator(Toy, object())


def test_celldraws_validates_shapes() -> None:
    est = np.zeros((3, 4))
    with pytest.raises(ValueError, match="exactly one of variances"):
        CellDraws(estimates=est, df=5.0)
    with pytest.raises(ValueError, match=r"variances must have the shape"):
        CellDraws(estimates=est, variances=np.ones((3, 3)), df=5.0)
    with pytest.raises(ValueError, match=r"covariance must have shape"):
        CellDraws(estimates=est, covariance=np.ones((3, 4)), df=5.0)
    with pytest.raises(ValueError, match=r"df must be > 0"):
        CellDraws(estimates=est, variances=np.ones((3, 4)), df=0.0)
    with pytest.raises(ValueError, match=r"df must be a number or have shape \(3,\)"):
        CellDraws(estimates=est, variances=np.ones((3, 4)), df=np.ones(2))


def test_per_trial_df_and_zero_se_are_handled() -> None:
    # df varying by trial uses each trial's t quantile; a zero SE never rejects.
    from trialplan.simulate.runner import _make_plan, decide

    design = two_by_two()
    stats_ = design.statistics(["A:B"])
    sim = simulator_for(design.outcome)
    plan = _make_plan(design, stats_, sim, sim.prepare(design), "exact", None)
    est = np.array([[0.0, 0.0, 0.0, 2.1], [0.0, 0.0, 0.0, 2.1], [0.0, 0.0, 0.0, 2.1]])
    var = np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    df = np.array([10.0, math.inf, 10.0])  # t_{.975,10} = 2.228 > 2.1 > 1.96
    reject, nonfinite = decide(plan, CellDraws(estimates=est, variances=var, df=df))
    assert reject[:, 0].tolist() == [False, True, False]
    assert nonfinite[:, 0].tolist() == [False, False, True]


def test_parallel_arms_simulated_within_4_mcse_of_exact_power() -> None:
    # Any cell design works: three arms compared with a control, ANCOVA, unequal n.
    arms = tp.Parallel(
        arms=("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI"),
        outcome=tp.Continuous(
            means={"rTMS alone": -10.0, "MBI then rTMS": -12.0, "rTMS with concurrent MBI": -13.0},
            sd=8.0,
            baseline_corr=0.3,
        ),
        n_per_arm={"rTMS alone": 40, "MBI then rTMS": 60, "rTMS with concurrent MBI": 50},
        control="rTMS alone",
        alpha=0.05,
    )
    exact = arms.power()
    sim = arms.power(method="simulation", n_sims=8000, seed=3)
    assert list(sim) == list(exact)
    for name in exact:
        assert abs(sim[name] - exact[name]) < 4 * sim.mcse[name], name


@pytest.mark.parametrize(
    ("engine", "n_sims"),
    [pytest.param("exact", 200_000, id="exact"), pytest.param("individual", 4000, id="individual")],
)
def test_memory_stays_bounded_whatever_n_sims(engine: str, n_sims: int) -> None:
    # Blocks hold at most 4 MiB of working memory: the peak of traced allocations
    # (numpy reports its buffers to tracemalloc) stays far below n_sims' worth.
    import tracemalloc

    design = two_by_two(n_per_cell=100, rho=0.5)
    design.power("A", method="simulation", n_sims=10, seed=0, engine=engine)  # warm up
    tracemalloc.start()
    try:
        design.power(method="simulation", n_sims=n_sims, seed=0, engine=engine)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_progress_bar_by_default_for_long_interactive_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tqdm")
    from trialplan.simulate import executors, runner

    monkeypatch.setattr(executors, "interactive", lambda: True)
    monkeypatch.setattr(runner, "_PROGRESS_AFTER", 0.0)  # every run counts as long
    two_by_two().power("A", method="simulation", n_sims=20_000, seed=1)  # several blocks
    assert "simulating" in capsys.readouterr().err


def test_common_random_numbers_make_rescaled_designs_identical() -> None:
    # t statistics are scale-free: doubling every mean and the SD must give the
    # same decisions in every simulated trial when the draws are shared.
    a = two_by_two(sd=8.0, rho=0.3).power(method="simulation", n_sims=3000, seed=3)
    b = two_by_two(sd=16.0, means=(0.0, -4.0, -6.0, -16.0), rho=0.3).power(
        method="simulation", n_sims=3000, seed=3
    )
    assert counts(a) == counts(b)


def test_a_run_of_whole_blocks_starts_every_longer_run() -> None:
    design = two_by_two(n_per_cell=10)
    short = design.power(method="simulation", n_sims=10, seed=6)
    length = short.extras["block_length"]
    one = design.power(method="simulation", n_sims=length, seed=6)
    two = design.power(method="simulation", n_sims=2 * length, seed=6)
    # the second block alone, drawn from the second spawned child of the seed
    from trialplan.simulate.runner import _Blocks, _make_plan, _run_blocks

    sim = simulator_for(design.outcome)
    plan = _make_plan(design, design.statistics(), sim, sim.prepare(design), "exact", None)
    seq = np.random.SeedSequence(6)
    blocks = _Blocks(
        entropy=seq.entropy, spawn_key=(), pool_size=seq.pool_size, length=length, n_sims=2 * length
    )
    second = dict(zip(plan.names, _run_blocks(plan, blocks, 1, 2)[0].tolist(), strict=True))
    assert {h: counts(one)[h] + second[h] for h in second} == counts(two)


def test_simulate_power_names_a_design_that_is_not_one() -> None:
    # simulate_power(None) failed with "'NoneType' object has no attribute 'outcome'".
    with pytest.raises(
        TypeError,
        match=r"design must be a trialplan design such as "
        r"tp.Factorial\(...\).*got design=None",
    ):
        tp.simulate.simulate_power(None, n_sims=100, seed=1)


@pytest.mark.parametrize(
    ("rho", "sided", "n_per_cell"),
    [
        pytest.param(0.0, 2, 30, id="anova-two-sided"),
        pytest.param(0.0, 1, 30, id="anova-one-sided"),
        pytest.param(0.5, 2, 12, id="ancova-two-sided"),
        pytest.param(-0.4, 1, 12, id="ancova-one-sided"),
        pytest.param(
            0.5, 2, {CELLS[0]: 5, CELLS[1]: 9, CELLS[2]: 7, CELLS[3]: 4}, id="ancova-unequal"
        ),
    ],
)
def test_one_product_decisions_equal_hypothesis_by_hypothesis_t_tests(rho, sided, n_per_cell):
    # The runner decides all hypotheses from one product of the cell estimates with
    # every contrast, comparing squares with the critical value; it must reject in
    # exactly the trials where the plain t statistic of each hypothesis rejects.
    from trialplan.simulate.runner import _decide_each, _make_plan, count_rejections, decide

    design = two_by_two(rho=rho, sided=sided, n_per_cell=n_per_cell, means=(0.0, -1.0, -2.0, -4.0))
    sim = simulator_for(design.outcome)
    params = sim.prepare(design)
    plan = _make_plan(design, design.statistics(), sim, params, "exact", None)
    draws = sim.draw(params, np.random.default_rng(11), 4000, engine="exact")
    fast, fast_bad = decide(plan, draws)
    slow, slow_bad = _decide_each(plan, draws)
    assert 0 < slow.sum() < slow.size  # some trials reject, some do not
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast_bad, slow_bad)
    counted, bad = count_rejections(plan, draws)
    assert counted.tolist() == slow.sum(axis=0).tolist()
    assert bad.tolist() == [0] * len(bad)
    # the same decisions from the full covariance matrices (no pooled form)
    full = CellDraws(estimates=draws.estimates, covariance=draws.covariance_matrix(), df=draws.df)
    np.testing.assert_array_equal(decide(plan, full)[0], slow)


def test_pooled_variance_equals_its_matrix() -> None:
    from trialplan.simulate.protocol import PooledVariance

    rng = np.random.default_rng(3)
    pooled = PooledVariance(
        scale=rng.uniform(1, 2, 5),
        unit_variances=rng.uniform(0.1, 0.5, 4),
        rank_one=rng.normal(size=(5, 4)),
        rank_one_weight=rng.uniform(0.1, 1, 5),
    )
    weights = rng.normal(size=(3, 4))
    expected = np.einsum("rjk,mj,mk->rm", pooled.matrix(), weights, weights)
    np.testing.assert_allclose(pooled.contrast_variance(weights), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="give both rank_one and rank_one_weight"):
        PooledVariance(scale=np.ones(5), unit_variances=np.ones(4), rank_one=np.ones((5, 4)))
    with pytest.raises(ValueError, match="must match estimates"):
        CellDraws(estimates=np.zeros((5, 3)), pooled=pooled, df=5.0)


def test_exact_ancova_draws_are_the_ols_fit_of_their_sufficient_statistics() -> None:
    # The exact ANCOVA engine computes the fit in closed form from the Bartlett
    # factors; rebuilding the cross-products from the same draws and fitting them with
    # ancova_from_sufficient (checked against statsmodels above) must agree.
    design = two_by_two(rho=0.6, n_per_cell={CELLS[0]: 6, CELLS[1]: 9, CELLS[2]: 7, CELLS[3]: 11})
    sim = ContinuousSimulator()
    params = sim.prepare(design)
    draws = sim.draw(params, np.random.default_rng(8), 50, engine="exact")
    rng = np.random.default_rng(8)
    n, sd, rho = params.n.astype(float), params.sd, params.baseline_corr
    r, m = math.sqrt(1 - rho**2), int(params.n.sum()) - 4
    z = rng.standard_normal((50, 2, 4))
    a11 = np.sqrt(rng.chisquare(m, 50))
    a21 = rng.standard_normal(50)
    a22 = np.sqrt(rng.chisquare(m - 1, 50))
    xbar = sd / np.sqrt(n) * z[:, 0]
    ybar = params.means + sd / np.sqrt(n) * (rho * z[:, 0] + r * z[:, 1])
    u = sd * (rho * a11 + r * a21)
    fit = ancova_from_sufficient(
        xbar, ybar, (sd * a11) ** 2, sd * a11 * u, u**2 + (sd * r * a22) ** 2, params.n
    )
    np.testing.assert_allclose(draws.estimates, fit.estimates, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        draws.covariance_matrix(), fit.covariance_matrix(), rtol=1e-10, atol=1e-14
    )
    assert draws.df == fit.df


def test_a_design_simulated_again_reuses_its_family_and_gives_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    design = two_by_two(n_per_cell=20)
    first = design.power(method="simulation", n_sims=3000, seed=4)
    calls = []
    original = type(design).statistics
    monkeypatch.setattr(
        type(design), "statistics", lambda self, h=None: calls.append(h) or original(self, h)
    )
    again = design.power(method="simulation", n_sims=3000, seed=4)
    assert calls == []  # the cached family was used
    assert counts(again) == counts(first)
    other = two_by_two(n_per_cell=20)  # equal but another object: derived afresh
    assert counts(other.power(method="simulation", n_sims=3000, seed=4)) == counts(first)
    assert calls == [None]


def test_products_cut_below_blas_threading_equal_one_product() -> None:
    from trialplan.simulate.runner import _SINGLE_THREAD_PRODUCT, _product

    rng = np.random.default_rng(2)
    weights = rng.normal(size=(10, 4))
    values = rng.normal(size=(3 * _SINGLE_THREAD_PRODUCT // 40 + 17, 4))  # several slices
    np.testing.assert_allclose(_product(weights, values), weights @ values.T, rtol=1e-13)
