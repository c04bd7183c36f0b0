"""Speed of trialplan against its limits and baselines, in one run (issue 16).

Run from the repository root (about 1-2 minutes; R adds about a minute)::

    python -m pytest benchmarks/bench_speed.py -p no:cacheprovider
    python -m pytest benchmarks/bench_speed.py -p no:cacheprovider --quick   # ~20 s

pytest-benchmark times every case (best of several rounds, shown in its own
table); at the end a table prints each case as a ratio to what it is compared
with, all measured in the same run on the same machine, with the load average
before and after (see benchmarks/conftest.py).  This is a benchmark, not a
test: nothing fails when a target is missed, the table says "NOT met".

The trial: rTMS (sham/active) x MBI (control/MBI), 100 analysed per cell
(N = 400), SD 8, cell means 0, 0, 0, -4; with and without ANCOVA on a
baseline correlated 0.5 with the outcome.

References:

* **the limit**: the bare cost of drawing every trial's sufficient
  statistics with numpy's Generator, nothing else: 4 normal cell means and one
  chi-square a trial (ANCOVA: 8 normal cell means of baseline and outcome and
  the Bartlett factors of the 2 x 2 Wishart, two chi-squares and a normal).
  Drawn by one Generator, both in one call and in chunks of 8,192 trials; the
  faster of the two is the limit.
* **statsmodels OLS loop**: one ``sm.OLS(y, X).fit()`` of 400 patients per
  trial (``--ols-trials``, default 2,000, scaled to 10,000 trials).
* **mcpower** (``pip install mcpower``; skipped when absent): its compiled
  engine on the same model, the interaction's test, 10,000 trials.
* **rpact / pwr** (R, when ``Rscript`` with rpact and pwr is installed):
  benchmarks/rpact_timing.R times the same group-sequential designs and a
  two-sample sample size inside one R session with ``proc.time()``, best of 3
  after a warm-up call, so R's start-up and package loading are excluded.
* **targets** of issue 16: whole-table simulation <= 2x the limit; the 2x2
  power table < 5 ms; ``sample_size`` < 10 ms for a single hypothesis and
  < 50 ms for the combination; a 5-look design with beta-spending futility
  < 20 ms.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import trialplan as tp

CELLS = (("sham", "control"), ("sham", "MBI"), ("active", "control"), ("active", "MBI"))
MEANS = (0.0, 0.0, 0.0, -4.0)
SD = 8.0
N_PER_CELL = 100
CHUNK = 8192
SINGLE = ("rTMS", "rTMS:MBI", "rTMS | MBI=MBI")


def design(baseline_corr: float = 0.0) -> tp.Factorial:
    return tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(
            means=dict(zip(CELLS, MEANS, strict=True)), sd=SD, baseline_corr=baseline_corr
        ),
        n_per_cell=N_PER_CELL,
    )


def best(benchmark, fn, rounds: int) -> float:
    """Time ``fn`` with pytest-benchmark; return its best seconds per call.

    With ``--benchmark-disable`` pytest-benchmark runs ``fn`` once untimed;
    then the best of ``rounds`` calls is timed here.
    """
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        return float(benchmark.stats.stats.min)
    fastest = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def trial_counts(config) -> tuple[int, ...]:
    return (10_000, 100_000) if config.getoption("--quick") else (10_000, 1_000_000)


def rounds_for(n_sims: int, config) -> int:
    quick = config.getoption("--quick")
    if n_sims <= 10_000:
        return 10 if quick else 40
    return 3 if quick else 7


def bare_draws(rng: np.random.Generator, size: int, ancova: bool) -> None:
    j, df = len(CELLS), 4 * N_PER_CELL - len(CELLS)
    if ancova:
        rng.standard_normal((size, 2, j))
        rng.chisquare(df, size)
        rng.standard_normal(size)
        rng.chisquare(df - 1, size)
    else:
        rng.standard_normal((size, j))
        rng.chisquare(df, size)


COVARIATES = (pytest.param(0.0, id="no-covariate"), pytest.param(0.5, id="baseline"))


def label(n_sims: int, rho: float) -> str:
    return f"{n_sims:,} trials, {'ANCOVA' if rho else 'no covariate'}"


# ------------------------------------------------------------------ simulation
@pytest.mark.parametrize("rho", COVARIATES)
@pytest.mark.parametrize("scale", ["small", "large"])
def test_limit_one_call(benchmark, registry, request, rho: float, scale: str) -> None:
    n_sims = trial_counts(request.config)[scale == "large"]
    benchmark.group = f"simulation {label(n_sims, rho)}"
    rng = np.random.default_rng(1)
    seconds = best(
        benchmark, lambda: bare_draws(rng, n_sims, rho != 0), rounds_for(n_sims, request.config)
    )
    registry.record(f"limit {label(n_sims, rho)} (one call)", seconds)


@pytest.mark.parametrize("rho", COVARIATES)
@pytest.mark.parametrize("scale", ["small", "large"])
def test_limit_chunked(benchmark, registry, request, rho: float, scale: str) -> None:
    n_sims = trial_counts(request.config)[scale == "large"]
    benchmark.group = f"simulation {label(n_sims, rho)}"
    rng = np.random.default_rng(1)

    def draws() -> None:
        for start in range(0, n_sims, CHUNK):
            bare_draws(rng, min(CHUNK, n_sims - start), rho != 0)

    seconds = best(benchmark, draws, rounds_for(n_sims, request.config))
    one = registry.figures[f"limit {label(n_sims, rho)} (one call)"].seconds
    registry.record(f"limit {label(n_sims, rho)} (chunks of {CHUNK})", seconds)
    registry.record(f"LIMIT {label(n_sims, rho)}", min(one, seconds), note="the faster of the two")


@pytest.mark.parametrize("rho", COVARIATES)
@pytest.mark.parametrize("scale", ["small", "large"])
@pytest.mark.parametrize("what", ["whole table", "rTMS:MBI"])
def test_simulated_power(benchmark, registry, request, rho, scale, what) -> None:
    n_sims = trial_counts(request.config)[scale == "large"]
    benchmark.group = f"simulation {label(n_sims, rho)}"
    d = design(rho)
    hypotheses = None if what == "whole table" else what
    result = {}

    def run() -> None:
        result["power"] = d.power(hypotheses, method="simulation", n_sims=n_sims, seed=2026)

    seconds = best(benchmark, run, rounds_for(n_sims, request.config))
    sim, exact = result["power"], d.power(hypotheses)
    worst = max(abs(sim[h] - exact[h]) / sim.mcse[h] for h in exact if sim.mcse[h] > 0)
    name = f"trialplan {what}, {label(n_sims, rho)}"
    registry.record(
        name,
        seconds,
        references=(f"LIMIT {label(n_sims, rho)}",)
        + (
            ("statsmodels OLS loop, 10,000 trials", "mcpower 10,000 trials, a:b")
            if n_sims == 10_000 and rho == 0
            else ()
        ),
        target=2.0 if what == "whole table" else None,
        note=f"{len(exact)} hypotheses, largest |simulated - exact| = {worst:.2f} MCSE",
    )


@pytest.mark.parametrize("rho", COVARIATES)
def test_simulated_power_fresh_design(benchmark, registry, request, rho) -> None:
    # Every round simulates a design object it has never seen, so nothing derived
    # from the design (its statistic family, the plan) is reused: the cold path.
    n_sims = 10_000
    benchmark.group = f"simulation {label(n_sims, rho)}"
    rounds = rounds_for(n_sims, request.config)
    designs = [design(rho) for _ in range(2 * rounds + 2)]

    def run() -> None:
        designs.pop().power(method="simulation", n_sims=n_sims, seed=2026)

    seconds = best(benchmark, run, rounds)
    registry.record(
        f"trialplan whole table, {label(n_sims, rho)}, a new design each call",
        seconds,
        references=(f"LIMIT {label(n_sims, rho)}",),
        target=2.0,
        note="first simulation of a design object: its family and plan are derived",
    )


OTHER_RATES = (0.30, 0.35, 0.40, 0.60)
OTHER_HAZARDS = (0.10, 0.09, 0.08, 0.05)


def other_design(kind: str) -> tp.Factorial:
    if kind == "binary":
        outcome = tp.Binary(rates=dict(zip(CELLS, OTHER_RATES, strict=True)))
    else:
        outcome = tp.TimeToEvent(
            hazards=dict(zip(CELLS, OTHER_HAZARDS, strict=True)), accrual=12.0, analysis_time=24.0
        )
    return tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=outcome,
        n_per_cell=N_PER_CELL,
    )


@pytest.mark.parametrize("kind", ["binary", "time to event"])
def test_other_outcomes(benchmark, registry, request, kind) -> None:
    # Their limits: Binomial cell counts (binary); every patient's entry and event
    # time (time to event: the exponential MLE needs each patient's time at risk).
    n_sims = 10_000
    benchmark.group = f"simulation {n_sims:,} trials, {kind}"
    rng = np.random.default_rng(1)
    n = np.full(len(CELLS), N_PER_CELL)

    def limit() -> None:
        if kind == "binary":
            rng.binomial(n, OTHER_RATES, size=(n_sims, len(CELLS)))
            return
        for start in range(0, n_sims, 2048):
            size = min(2048, n_sims - start)
            rng.random((size, int(n.sum())))
            rng.exponential(1.0, (size, int(n.sum())))

    rounds = 5 if kind == "binary" else 3
    registry.record(f"LIMIT {n_sims:,} trials, {kind}", best(benchmark, limit, rounds))
    d = other_design(kind)
    seconds = min(
        timed(lambda: d.power(method="simulation", n_sims=n_sims, seed=2026)) for _ in range(rounds)
    )
    registry.record(
        f"trialplan whole table, {n_sims:,} trials, {kind}",
        seconds,
        references=(f"LIMIT {n_sims:,} trials, {kind}",),
        target=2.0,
    )


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_statsmodels_ols_loop(benchmark, registry, request) -> None:
    import statsmodels.api as sm

    n_loop = request.config.getoption("--ols-trials")
    benchmark.group = "baselines, one hypothesis"
    rng = np.random.default_rng(2026)
    a = np.repeat([0.0, 0.0, 1.0, 1.0], N_PER_CELL)
    b = np.repeat([0.0, 1.0, 0.0, 1.0], N_PER_CELL)
    x = np.column_stack([np.ones_like(a), a, b, a * b])
    mu = np.repeat(MEANS, N_PER_CELL)

    def loop() -> None:
        for _ in range(n_loop):
            y = mu + SD * rng.standard_normal(mu.size)
            sm.OLS(y, x).fit().pvalues[3]

    seconds = best(benchmark, loop, 1)
    registry.record(
        "statsmodels OLS loop, 10,000 trials",
        seconds * 10_000 / n_loop,
        note=f"{n_loop:,} fits timed, scaled to 10,000",
    )


def test_mcpower(benchmark, registry, request) -> None:
    if request.config.getoption("--quick"):
        pytest.skip("--quick")
    mcpower = pytest.importorskip("mcpower")
    benchmark.group = "baselines, one hypothesis"

    def run() -> float:
        model = mcpower.MCPower("y = a + b + a:b")
        model.set_variable_type("a=binary, b=binary")
        model.set_effects(f"a=0.0, b=0.0, a:b={(MEANS[3] - MEANS[2] - MEANS[1] + MEANS[0]) / SD}")
        out = model.find_power(
            4 * N_PER_CELL,
            target_test="a:b",
            n_sims=10_000,
            seed=2026,
            progress_callback=False,
            verbose=False,
        )
        return float(out["power_uncorrected"][0][0])

    seconds = best(benchmark, run, 3)
    registry.record(
        "mcpower 10,000 trials, a:b",
        seconds,
        note=f"mcpower {mcpower.__version__}, compiled engine; random allocation",
    )


# -------------------------------------------------------------------- analytic
TARGETS = {
    "5 ms target": 0.005,
    "10 ms target": 0.010,
    "20 ms target": 0.020,
    "50 ms target": 0.050,
}


@pytest.fixture(scope="module")
def targets(registry) -> None:
    for name, seconds in TARGETS.items():
        registry.record(name, seconds)


@pytest.mark.parametrize("rho", COVARIATES)
def test_analytic_table(benchmark, registry, targets, rho) -> None:
    benchmark.group = "analytic"
    d = design(rho)
    seconds = best(benchmark, d.power, 50)
    registry.record(
        f"analytic 2x2 power table, {'ANCOVA' if rho else 'no covariate'}",
        seconds,
        references=("5 ms target",),
        target=1.0,
    )


@pytest.mark.parametrize("rho", COVARIATES)
@pytest.mark.parametrize("hypothesis", [*SINGLE, "combination"])
def test_sample_size(benchmark, registry, targets, r_reference, rho, hypothesis) -> None:
    benchmark.group = "analytic"
    d = design(rho)
    seconds = best(benchmark, lambda: d.sample_size(power=0.9, hypothesis=hypothesis), 20)
    refs = ("50 ms target",) if hypothesis == "combination" else ("10 ms target",)
    note = ""
    if hypothesis == "rTMS" and rho == 0:
        refs += ("pwr.t.test sample size",)
        if "pwr.t.test sample size" in r_reference:
            # pwr's n per group (d = 2/8) against half the 2x2's N (t on N - 4 df)
            ours = d.sample_size(power=0.9, hypothesis=hypothesis).n_total / 2
            note = f"N/2 = {ours:g}; pwr.t.test n = {r_reference['pwr.t.test sample size'][0]:.2f}"
    registry.record(
        f"sample_size {hypothesis}, {'ANCOVA' if rho else 'no covariate'}",
        seconds,
        references=refs,
        target=1.0,
        note=note,
    )


GSD = {
    "gsd5 OBF + OBF beta-spending, non-binding": lambda: tp.GroupSequential(
        info_fractions=(0.2, 0.4, 0.6, 0.8, 1.0), futility=tp.spending.obrien_fleming()
    ),
    "gsd5 HSD(-4) + HSD(-2) beta-spending, binding": lambda: tp.GroupSequential(
        info_fractions=(0.2, 0.4, 0.6, 0.8, 1.0),
        efficacy=tp.spending.hwang_shih_decani(-4),
        futility=tp.spending.hwang_shih_decani(-2),
        binding=True,
    ),
    "gsd5 OBF, no futility": lambda: tp.GroupSequential(info_fractions=(0.2, 0.4, 0.6, 0.8, 1.0)),
}


@pytest.fixture(scope="session")
def r_reference(registry, request) -> dict[str, np.ndarray]:
    """Time rpact and pwr in one R session (benchmarks/rpact_timing.R); {} without R."""
    if request.config.getoption("--quick"):
        return {}
    rscript = shutil.which("Rscript")
    if rscript is None:
        registry.notes.append("Rscript not found: rpact and pwr were not timed")
        return {}
    script = Path(__file__).with_name("rpact_timing.R")
    try:
        out = subprocess.run(
            [rscript, str(script), "3"], capture_output=True, text=True, timeout=600, check=True
        ).stdout
    except (subprocess.SubprocessError, OSError) as exc:
        registry.notes.append(f"R timing failed ({exc!s:.200}): rpact and pwr were not timed")
        return {}
    values = {}
    for line in out.splitlines():
        if line.count("|") != 2:
            continue
        case, seconds, numbers = line.split("|")
        registry.record(case, float(seconds), note="timed inside R, start-up excluded")
        values[case] = np.array([float(v) for v in numbers.split()])
    return values


@pytest.mark.parametrize("case", list(GSD))
def test_group_sequential(benchmark, registry, targets, r_reference, case) -> None:
    benchmark.group = "group-sequential"
    build = GSD[case]
    seconds = best(benchmark, build, 20)
    gsd = build()
    rpact = f"rpact {case}"
    note = ""
    if rpact in r_reference:
        ours = np.concatenate(
            [gsd.efficacy_z, [] if gsd.futility_z is None else gsd.futility_z[:-1]]
        )
        note = f"largest |boundary - rpact| = {np.max(np.abs(ours - r_reference[rpact])):.1e}"
    registry.record(
        f"tp.GroupSequential {case.removeprefix('gsd5 ')}, 5 looks",
        seconds,
        references=(("20 ms target",) if "beta" in case else ()) + (rpact,),
        target=1.0 if "beta" in case else None,
        note=note,
    )
