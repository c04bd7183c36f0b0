"""tp.explore: grid scenarios, seeds, cache resume, executors, errors and plots.

Expected power values come from scipy's noncentral t written out here (the
formula of METHODS.md, computed independently of trialplan); determinism and
resume tests compare runs with each other and count the factory's calls.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import importlib
import json
import math
import sqlite3
import sys
import warnings
import weakref

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import trialplan as tp
from trialplan.explore import scenario_seed
from trialplan.simulate import executors

# tp.explore is the function; the module of the same name is reached by import
explore_module = importlib.import_module("trialplan.explore")

MEANS = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}
BASE = tp.Factorial(
    factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    outcome=tp.Continuous(means=MEANS, sd=8.0, better="lower"),
    n_per_cell=50,
)
FAST_SIM = {"method": "simulation", "n_sims": 2000, "seed": 2026}


def factory(sd: float, n: int) -> tp.Factorial:
    """Module level, so picklable for process pools."""
    return BASE.replace(sd=sd, n_per_cell=n)


def factory_sd(sd: float) -> tp.Factorial:
    return BASE.replace(sd=sd)


def factory_with_dropout(sd: float, n: int = 50, dropout: float = 0.0) -> tp.Factorial:
    return BASE.replace(sd=sd, n_per_cell=n, dropout=dropout)


class CountingFactory:
    """Counts its calls; its repr (and so its cache fingerprint) stays fixed."""

    def __init__(self, fail_at: float | None = None) -> None:
        self.calls: list[tuple[float, int]] = []
        self.fail_at = fail_at

    def __call__(self, sd: float, n: int) -> tp.Factorial:
        self.calls.append((sd, n))
        if self.fail_at is not None and sd == self.fail_at:
            raise RuntimeError("simulated crash")
        return factory(sd, n)


def exact_interaction_power(sd: float, n: int, ic: float = -3.0, alpha: float = 0.05) -> float:
    """Two-sided t test of the 2x2 interaction contrast, exact noncentral t (scipy)."""
    df = 4 * (n - 1)
    se = sd * math.sqrt(4 / n)
    crit = stats.t.ppf(1 - alpha / 2, df)
    nc = ic / se
    return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))


def cache_entries(path) -> list[dict]:
    """The entries of an explore cache file, read with sqlite3 directly."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [json.loads(entry) for (entry,) in conn.execute("SELECT entry FROM scenarios")]


def by_scenario(frame: pd.DataFrame, grid_names: list[str]) -> dict:
    return {
        (tuple(row[g] for g in grid_names), row["hypothesis"]): row["power"]
        for _, row in frame.iterrows()
    }


# ------------------------------------------------------------------ rows/cols
def test_rows_columns_and_values_match_noncentral_t() -> None:
    grid = {"sd": (7.0, 8.0, 9.0), "n": (40, 60)}
    frame = tp.explore(factory, grid)
    hyps = BASE.hypothesis_names
    assert len(frame) == 6 * len(hyps)
    assert list(frame.columns[:4]) == ["scenario", "scenario_hash", "sd", "n"]
    expected_cols = list(BASE.power().to_frame().columns)
    assert list(frame.columns[4:]) == expected_cols
    # first grid parameter varies slowest, hypotheses in the design's order
    first = frame.drop_duplicates("scenario")
    assert list(zip(first["sd"], first["n"], strict=True)) == [
        (7.0, 40),
        (7.0, 60),
        (8.0, 40),
        (8.0, 60),
        (9.0, 40),
        (9.0, 60),
    ]
    assert list(first["scenario"]) == list(range(6))
    assert list(frame["hypothesis"][: len(hyps)]) == list(hyps)
    assert frame["scenario_hash"].nunique() == 6
    assert frame.groupby("scenario")["scenario_hash"].nunique().eq(1).all()
    inter = frame[frame["hypothesis"] == "rTMS:MBI"]
    for sd, n, power in zip(inter["sd"], inter["n"], inter["power"], strict=True):
        assert power == pytest.approx(exact_interaction_power(sd, n), abs=1e-9)
    assert frame.attrs["grid"] == ["sd", "n"]
    assert frame.attrs["n_computed"] == 6
    assert frame.attrs["n_cached"] == 0


def test_hypotheses_subset_and_factory_defaults() -> None:
    frame = tp.explore(
        factory_with_dropout,
        {"sd": (8.0,), "dropout": (0.0, 0.2)},
        hypotheses=["rTMS:MBI", "combination"],
    )
    assert list(frame["hypothesis"]) == ["rTMS:MBI", "combination"] * 2
    # dropout leaves the analysed n (and the power) unchanged
    assert frame["power"].iloc[0] == pytest.approx(exact_interaction_power(8.0, 50), abs=1e-9)
    assert frame["power"].iloc[0] == frame["power"].iloc[2]


def test_grid_parameter_named_like_a_result_column_keeps_its_name() -> None:
    def by_effect(effect: float) -> tp.Factorial:
        means = dict(MEANS)
        means[("active", "MBI")] = -5.0 + effect
        return BASE.replace(outcome=tp.Continuous(means=means, sd=8.0))

    frame = tp.explore(by_effect, {"effect": (-3.0, -1.0)}, hypotheses="rTMS:MBI")
    assert list(frame["effect"]) == [-3.0, -1.0]
    assert list(frame["effect_result"]) == pytest.approx([-3.0, -1.0])
    assert frame["power"].iloc[0] == pytest.approx(exact_interaction_power(8.0, 50, -3.0), abs=1e-9)


def test_numpy_grid_values_are_accepted() -> None:
    frame = tp.explore(
        factory, {"sd": np.linspace(7.0, 9.0, 3), "n": np.array([50])}, hypotheses="rTMS:MBI"
    )
    assert list(frame["power"]) == pytest.approx(
        [exact_interaction_power(sd, 50) for sd in (7.0, 8.0, 9.0)], abs=1e-9
    )


def test_any_design_type_parallel_arms() -> None:
    arms = tp.Parallel(
        arms=("rTMS alone", "MBI then rTMS"),
        outcome=tp.Continuous(means={"rTMS alone": -10.0, "MBI then rTMS": -13.0}, sd=8.0),
        n_per_arm=60,
        control="rTMS alone",
    )
    frame = tp.explore(
        lambda n_per_arm: arms.replace(n_per_arm=n_per_arm), {"n_per_arm": (60, 100)}
    )
    for n, power in zip(frame["n_per_arm"], frame["power"], strict=True):
        # two-sample t, difference -3, sd 8: noncentral t with 2(n - 1) df
        df, nc = 2 * (n - 1), -3.0 / (8.0 * math.sqrt(2 / n))
        crit = stats.t.ppf(0.975, df)
        expected = stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)
        assert power == pytest.approx(expected, abs=1e-9)


# --------------------------------------------------------------- simulation
def test_simulation_within_mcse_of_exact() -> None:
    frame = tp.explore(
        factory, {"sd": (8.0,), "n": (50, 80)}, hypotheses="rTMS:MBI", executor="serial", **FAST_SIM
    )
    assert list(frame["n_sims"]) == [2000, 2000]
    for n, power, mcse in zip(frame["n"], frame["power"], frame["mcse"], strict=True):
        assert abs(power - exact_interaction_power(8.0, n)) < 4 * mcse


def test_seed_column_reproduces_each_row() -> None:
    frame = tp.explore(
        factory,
        {"sd": (7.0, 9.0), "n": (50,)},
        hypotheses="rTMS:MBI",
        executor="serial",
        **FAST_SIM,
    )
    for _, row in frame.iterrows():
        again = factory(row["sd"], row["n"]).power(
            "rTMS:MBI", method="simulation", n_sims=2000, seed=int(row["seed"])
        )
        assert again["rTMS:MBI"] == row["power"]


def test_scenario_seeds_depend_on_values_and_base_seed_only() -> None:
    a = scenario_seed(2026, {"sd": 8.0, "n": 50})
    assert a == scenario_seed(2026, {"n": 50, "sd": 8.0})
    assert a != scenario_seed(2027, {"sd": 8.0, "n": 50})
    assert a != scenario_seed(2026, {"sd": 8.0, "n": 51})
    assert 0 <= a < 2**63
    small = tp.explore(factory, {"sd": (8.0,), "n": (50,)}, executor="serial", **FAST_SIM)
    large = tp.explore(factory, {"sd": (6.0, 8.0), "n": (70, 50)}, executor="serial", **FAST_SIM)
    assert small["seed"].iloc[0] == a
    row = large[(large["sd"] == 8.0) & (large["n"] == 50)]
    assert set(row["seed"]) == {a}
    assert large.drop_duplicates("scenario")["seed"].nunique() == 4


@pytest.mark.parametrize(
    "executor",
    [
        pytest.param("processes", id="process-pool"),
        pytest.param("threads", id="thread-pool"),
    ],
)
def test_same_results_whatever_executor_or_order(executor: str) -> None:
    grid = {"sd": (7.0, 8.0, 9.0), "n": (40, 60)}
    serial = tp.explore(factory, grid, executor="serial", **FAST_SIM)
    reordered = {"n": (60, 40), "sd": (9.0, 7.0, 8.0)}
    if executor == "threads":
        with cf.ThreadPoolExecutor(max_workers=2) as pool:
            other = tp.explore(factory, reordered, executor=pool, chunksize=1, **FAST_SIM)
    else:
        other = tp.explore(factory, reordered, executor=executor, max_workers=2, **FAST_SIM)
    assert by_scenario(other, ["sd", "n"]) == by_scenario(serial, ["sd", "n"])
    assert other.attrs["base_seed"] == serial.attrs["base_seed"] == 2026


def test_default_executor_runs_processes_for_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    made = []
    real = cf.ProcessPoolExecutor

    def spy(*args: object, **kwargs: object) -> cf.ProcessPoolExecutor:
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(executors.cf, "ProcessPoolExecutor", spy)
    monkeypatch.setattr(executors, "available_cpus", lambda: 2)
    frame = tp.explore(factory, {"sd": (7.0, 8.0), "n": (50,)}, **FAST_SIM)
    # two workers, each watching for its parent's death (see test_explore_cache.py)
    assert made == [{"max_workers": 2, "initializer": executors._watch_parent}]
    assert len(frame) == 2 * len(BASE.hypothesis_names)


def test_lambda_falls_back_to_serial_with_warning() -> None:
    with pytest.warns(UserWarning, match="serially.*module level"):
        frame = tp.explore(
            lambda sd: factory(sd, 50),
            {"sd": (7.0, 8.0)},
            hypotheses="rTMS:MBI",
            max_workers=2,
            **FAST_SIM,
        )
    serial = tp.explore(
        factory_sd, {"sd": (7.0, 8.0)}, hypotheses="rTMS:MBI", executor="serial", **FAST_SIM
    )
    assert list(frame["power"]) == list(serial["power"])  # same values, same seeds


def test_lambda_with_processes_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="picklable.*module\\s+level"):
        tp.explore(lambda sd: factory(sd, 50), {"sd": (7.0, 8.0)}, executor="processes", **FAST_SIM)


def test_partial_factory_runs_on_processes() -> None:
    part = functools.partial(factory, n=50)
    frame = tp.explore(
        part,
        {"sd": (7.0, 9.0)},
        hypotheses="rTMS:MBI",
        executor="processes",
        max_workers=2,
        **FAST_SIM,
    )
    serial = tp.explore(
        part, {"sd": (7.0, 9.0)}, hypotheses="rTMS:MBI", executor="serial", **FAST_SIM
    )
    assert list(frame["power"]) == list(serial["power"])


# ------------------------------------------------------------------- cache
def test_cache_resume_skips_finished_scenarios(tmp_path) -> None:
    cache = tmp_path / "runs.jsonl"
    first = CountingFactory()
    done = tp.explore(
        first, {"sd": (7.0, 8.0), "n": (40, 60)}, cache=cache, **FAST_SIM, executor="serial"
    )
    assert len(first.calls) == 4
    assert len(cache_entries(cache)) == 4
    again = CountingFactory()
    grown = tp.explore(
        again, {"sd": (7.0, 8.0, 9.0), "n": (40, 60)}, cache=cache, **FAST_SIM, executor="serial"
    )
    assert sorted(again.calls) == [(9.0, 40), (9.0, 60)]
    assert grown.attrs["n_cached"] == 4
    assert grown.attrs["n_computed"] == 2
    old = grown[grown["sd"] < 9.0].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, done, check_like=False)
    fresh = tp.explore(
        factory, {"sd": (7.0, 8.0, 9.0), "n": (40, 60)}, **FAST_SIM, executor="serial"
    )
    # another factory has another fingerprint (hash) but the same seeds and results
    pd.testing.assert_frame_equal(
        grown.drop(columns="scenario_hash"), fresh.drop(columns="scenario_hash")
    )
    third = CountingFactory()
    tp.explore(
        third, {"sd": (7.0, 8.0, 9.0), "n": (40, 60)}, cache=cache, **FAST_SIM, executor="serial"
    )
    assert third.calls == []


def test_cache_resumes_after_a_crash(tmp_path) -> None:
    cache = tmp_path / "runs.jsonl"
    crashing = CountingFactory(fail_at=9.0)
    with pytest.raises(RuntimeError, match=r"scenario 4 \(sd=9.0, n=40\).*simulated crash"):
        tp.explore(
            crashing,
            {"sd": (7.0, 8.0, 9.0), "n": (40, 60)},
            cache=cache,
            chunksize=1,
            executor="serial",
            hypotheses="rTMS:MBI",
        )
    assert len(cache_entries(cache)) == 4
    fixed = CountingFactory()
    frame = tp.explore(
        fixed, {"sd": (7.0, 8.0, 9.0), "n": (40, 60)}, cache=cache, hypotheses="rTMS:MBI"
    )
    assert sorted(fixed.calls) == [(9.0, 40), (9.0, 60)]
    assert list(frame["power"]) == pytest.approx(
        [exact_interaction_power(sd, n) for sd in (7.0, 8.0, 9.0) for n in (40, 60)], abs=1e-9
    )


def test_cache_keys_change_with_method_n_sims_seed_and_version(tmp_path, monkeypatch) -> None:
    cache = tmp_path / "runs.jsonl"
    grid = {"sd": (8.0,), "n": (50,)}
    runs = [
        dict(FAST_SIM),
        {**FAST_SIM, "n_sims": 1000},
        {**FAST_SIM, "seed": 7},
        {"method": "analytic"},
    ]
    for options in runs:
        counter = CountingFactory()
        tp.explore(counter, grid, cache=cache, executor="serial", **options)
        assert counter.calls == [(8.0, 50)], options
    monkeypatch.setattr(explore_module, "_version", lambda: "99.0")
    counter = CountingFactory()
    tp.explore(counter, grid, cache=cache, executor="serial", **FAST_SIM)
    assert counter.calls == [(8.0, 50)]


def test_cache_key_ignores_options_that_do_not_change_results(tmp_path) -> None:
    cache = tmp_path / "runs.jsonl"
    grid = {"sd": (8.0,), "n": (50,)}
    tp.explore(CountingFactory(), grid, cache=cache, executor="serial", **FAST_SIM)
    counter = CountingFactory()
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        tp.explore(
            counter,
            grid,
            cache=cache,
            executor="serial",
            **FAST_SIM,
            power_options={"executor": pool, "progress": False},
        )
    assert counter.calls == []
    tp.explore(
        counter,
        grid,
        cache=cache,
        executor="serial",
        **FAST_SIM,
        power_options={"engine": "individual"},
    )
    assert counter.calls == [(8.0, 50)]


def test_cache_key_sees_the_base_design_the_factory_reads(tmp_path) -> None:
    cache = tmp_path / "runs.jsonl"
    base = BASE

    def make(sd: float) -> tp.Factorial:
        return base.replace(sd=sd)

    first = tp.explore(make, {"sd": (8.0,)}, cache=cache, hypotheses="rTMS:MBI")
    base = BASE.replace(n_per_cell=80)  # the closure now reads another design
    second = tp.explore(make, {"sd": (8.0,)}, cache=cache, hypotheses="rTMS:MBI")
    assert second.attrs["n_computed"] == 1
    assert first["power"].iloc[0] == pytest.approx(exact_interaction_power(8.0, 50), abs=1e-9)
    assert second["power"].iloc[0] == pytest.approx(exact_interaction_power(8.0, 80), abs=1e-9)


def test_cache_tolerates_a_line_cut_short(tmp_path) -> None:
    # a JSON-lines cache of an older trialplan, killed mid-write: the whole lines are
    # converted to the SQLite cache, the cut one is skipped with a warning and recomputed
    sqlite_cache = tmp_path / "new.sqlite"
    tp.explore(
        CountingFactory(),
        {"sd": (7.0, 8.0), "n": (50,)},
        cache=sqlite_cache,
        hypotheses="rTMS:MBI",
    )
    legacy = [
        {k: v for k, v in e.items() if k not in ("n_rows", "columns", "digest")}
        for e in sorted(cache_entries(sqlite_cache), key=lambda e: e["params"]["sd"])
    ]
    lines = [json.dumps(e) for e in legacy]
    cache = tmp_path / "runs.jsonl"
    cache.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # killed mid-write
    counter = CountingFactory()
    with pytest.warns(UserWarning, match="1 unreadable or invalid line"):
        frame = tp.explore(
            counter, {"sd": (7.0, 8.0), "n": (50,)}, cache=cache, hypotheses="rTMS:MBI"
        )
    assert counter.calls == [(8.0, 50)]
    assert frame.attrs["n_cached"] == 1
    assert sorted(e["params"]["sd"] for e in cache_entries(cache)) == [7.0, 8.0]
    assert (tmp_path / "runs.jsonl.bak").read_text().startswith(lines[0])


RESUME_SCRIPT = """
import sys
import trialplan as tp

MEANS = {("sham", "control"): 0.0, ("active", "control"): -3.0,
         ("sham", "MBI"): -2.0, ("active", "MBI"): -8.0}
DESIGN = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
                      outcome=tp.Continuous(means=MEANS, sd=8.0), n_per_cell=50)

def factory(sd, n):
    return DESIGN.replace(sd=sd, n_per_cell=n)

if __name__ == "__main__":
    frame = tp.explore(factory, {"sd": (7.0, 8.0), "n": (40, 60)}, method="simulation",
                       n_sims=500, seed=11, executor="serial", cache=sys.argv[1])
    print(frame.attrs["n_computed"], repr(list(frame["power"])))
"""


@pytest.mark.slow
def test_cache_resumes_in_a_new_python_process(tmp_path) -> None:
    # a rerun after a crash is a new interpreter, with another hash seed
    import os
    import subprocess

    script = tmp_path / "plan.py"
    script.write_text(RESUME_SCRIPT)
    cache = tmp_path / "runs.jsonl"
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, str(script), str(cache)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        outputs.append(done.stdout.split(" ", 1))
    assert outputs[0][0] == "4"
    assert outputs[1][0] == "0"  # nothing recomputed
    assert outputs[0][1] == outputs[1][1]


# ------------------------------------------------------------------ memory
def test_designs_are_not_held_while_streaming() -> None:
    alive: list[weakref.ref] = []
    most = []

    def tracking(sd: float, n: int) -> tp.Factorial:
        most.append(sum(ref() is not None for ref in alive))
        design = factory(sd, n)
        alive.append(weakref.ref(design))
        return design

    tp.explore(tracking, {"sd": (7.0, 8.0, 9.0), "n": (40, 50, 60)}, executor="serial")
    assert max(most) == 0
    assert all(ref() is None for ref in alive)


def test_parent_memory_stays_within_the_stated_budget() -> None:
    # docs/explore.md: the parent holds at most 2 MiB + 2 kB per result row
    import tracemalloc

    grid = {"sd": tuple(np.linspace(6.0, 10.0, 5)), "n": tuple(range(30, 110, 10))}
    with cf.ProcessPoolExecutor(max_workers=1) as pool:
        pool.submit(int).result()  # fork the (only) worker before tracing starts
        tracemalloc.start()
        try:
            frame = tp.explore(factory, grid, executor=pool)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert len(frame) == 40 * len(BASE.hypothesis_names)
    assert peak < 2 * 2**20 + 2048 * len(frame)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("grid", "error", "pattern"),
    [
        pytest.param(
            {"sdd": (7.0,), "n": (50,)},
            ValueError,
            r"'sdd' is not a parameter of the factory.*\['sd', 'n'\].*did you mean 'sd'",
            id="unknown-name-did-you-mean",
        ),
        pytest.param(
            {"sd": (), "n": (50,)}, ValueError, r"grid\['sd'\] is empty", id="empty-range"
        ),
        pytest.param(
            {"sd": 8.0, "n": (50,)},
            TypeError,
            r"grid\['sd'\] must be an iterable.*got grid\['sd'\]=8.0.*\(8.0,\)",
            id="non-iterable",
        ),
        pytest.param(
            {"sd": "8", "n": (50,)},
            TypeError,
            r"grid\['sd'\] must be an iterable",
            id="string-value",
        ),
        pytest.param(
            {"sd": {"a": 1}, "n": (50,)},
            TypeError,
            r"grid\['sd'\] must be an iterable",
            id="mapping-value",
        ),
        pytest.param(
            {"sd": (8.0, 8.0), "n": (50,)},
            ValueError,
            r"grid\['sd'\] repeats the value 8.0",
            id="repeated-value",
        ),
        pytest.param(
            {"sd": (8.0,)},
            ValueError,
            r"needs parameter 'n'.*add grid\['n'\]",
            id="missing-required",
        ),
        pytest.param({}, ValueError, r"grid is empty", id="empty-grid"),
        pytest.param(
            [("sd", (8.0,))], TypeError, r"grid must be a mapping.*got grid=", id="not-a-mapping"
        ),
        pytest.param(
            {1: (8.0,)}, TypeError, r"grid keys must be parameter names.*got 1", id="non-string-key"
        ),
        pytest.param({"scenario": (1,)}, ValueError, r"'scenario' is reserved", id="reserved-name"),
    ],
)
def test_bad_grids(grid: object, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        tp.explore(factory, grid)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        pytest.param(
            {"method": "simulaton"},
            ValueError,
            r"method='simulaton' is not available.*did you mean 'simulation'",
            id="method-typo",
        ),
        pytest.param(
            {"n_sims": 100},
            ValueError,
            r"n_sims is for simulated power.*n_sims=100",
            id="n_sims-with-analytic",
        ),
        pytest.param(
            {"seed": 1}, ValueError, r"seed is for simulated power.*seed=1", id="seed-with-analytic"
        ),
        pytest.param(
            {"method": "simulation", "n_sims": 0},
            ValueError,
            r"n_sims.*>= 1.*n_sims=0",
            id="n_sims-zero",
        ),
        pytest.param(
            {"method": "simulation", "seed": "abc"},
            TypeError,
            r"seed must be a non-negative int.*seed='abc'",
            id="seed-type",
        ),
        pytest.param(
            {"method": "simulation", "seed": -1},
            TypeError,
            r"seed must be a non-negative int.*seed=-1",
            id="seed-negative",
        ),
        pytest.param(
            {"executor": "proceses"},
            ValueError,
            r"executor='proceses' is not allowed.*did you mean 'processes'",
            id="executor-typo",
        ),
        pytest.param(
            {"executor": 3}, TypeError, r"executor must be None.*executor=3", id="executor-type"
        ),
        pytest.param(
            {"cache": 3}, TypeError, r"cache must be a file path.*cache=3", id="cache-type"
        ),
        pytest.param(
            {"progress": "yes"},
            TypeError,
            r"progress must be True, False or None",
            id="progress-type",
        ),
        pytest.param(
            {"power_options": {"seed": 1}},
            ValueError,
            r"power_options must not contain \['seed'\]",
            id="options-clash",
        ),
        pytest.param(
            {"hypotheses": []},
            ValueError,
            r"hypotheses must be one or more names",
            id="hypotheses-empty",
        ),
        pytest.param(
            {"max_workers": 0}, ValueError, r"max_workers.*>= 1.*max_workers=0", id="max-workers"
        ),
    ],
)
def test_bad_options(kwargs: dict, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        tp.explore(factory, {"sd": (8.0,), "n": (50,)}, **kwargs)


def test_factory_not_callable_and_bad_return() -> None:
    with pytest.raises(TypeError, match="factory must be a callable.*factory=3"):
        tp.explore(3, {"sd": (8.0,)})
    with pytest.raises(TypeError, match=r"scenario 0 \(sd=8.0\).*power\(\) method.*int"):
        tp.explore(lambda sd: 3, {"sd": (8.0,)})


def test_factory_error_names_the_scenario() -> None:
    with pytest.raises(ValueError, match=r"scenario 1 \(sd=-1.0, n=50\).*sd must be"):
        tp.explore(factory, {"sd": (8.0, -1.0), "n": (50,)})


def test_cache_directory_is_rejected(tmp_path) -> None:
    with pytest.raises(ValueError, match="cache must be a file, not a directory"):
        tp.explore(factory, {"sd": (8.0,), "n": (50,)}, cache=tmp_path)


# ---------------------------------------------------------------- progress
def test_progress_bar_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    tp.explore(factory, {"sd": (7.0, 8.0), "n": (50,)}, progress=True)
    assert "explore" in capsys.readouterr().err


def test_progress_degrades_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails
    with pytest.warns(UserWarning, match="needs tqdm"):
        frame = tp.explore(
            factory, {"sd": (8.0,), "n": (50,)}, progress=True, hypotheses="rTMS:MBI"
        )
    assert frame["power"].iloc[0] == pytest.approx(exact_interaction_power(8.0, 50), abs=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tp.explore(factory, {"sd": (8.0,), "n": (50,)}, hypotheses="rTMS:MBI")


# -------------------------------------------------------------------- dask
def test_dask_local_cluster_matches_serial() -> None:
    distributed = pytest.importorskip("distributed")
    grid = {"sd": (7.0, 9.0), "n": (40, 60)}
    serial = tp.explore(factory, grid, executor="serial", **FAST_SIM)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        frame = tp.explore(
            lambda sd, n: factory(sd, n), grid, executor=client, chunksize=1, **FAST_SIM
        )
    assert by_scenario(frame, ["sd", "n"]) == by_scenario(serial, ["sd", "n"])


# Plots of explore frames (tp.explore_curves, tp.explore_heatmap) are tested in
# tests/test_figures.py, beside the other figures (they live in trialplan.report.figures).
