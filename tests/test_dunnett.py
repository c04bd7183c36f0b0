"""tp.Dunnett: critical values (Dunnett 1955/1964, METHODS.md) and R mvtnorm joint power."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

import trialplan as tp
from trialplan.multiplicity.dunnett import dunnett_critical_value, rectangle_probabilities

REF = Path(__file__).parent / "references"


def _fixture() -> list[dict[str, str]]:
    with open(REF / "dunnett_mvtnorm.csv") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


ROWS = _fixture()


@pytest.mark.parametrize(
    ("k", "sided", "expected"),
    [
        pytest.param(2, 1, 1.916, id="Dunnett1955-k2-one-sided-1.92 (quadrature 1.916)"),
        pytest.param(2, 2, 2.212, id="Dunnett1964-k2-two-sided-2.21 (quadrature 2.212)"),
        pytest.param(3, 1, 2.062, id="Dunnett1955-k3-one-sided-2.06 (quadrature 2.062)"),
        pytest.param(3, 2, 2.349, id="Dunnett1964-k3-two-sided-2.35 (quadrature 2.349)"),
    ],
)
def test_critical_values_df_infinite_match_methods(k: int, sided: int, expected: float) -> None:
    # METHODS.md section 6: equal n, df = inf, alpha = .05.
    c = dunnett_critical_value(loadings=[math.sqrt(0.5)] * k, df=math.inf, alpha=0.05, sided=sided)
    assert c == pytest.approx(expected, abs=5e-4)  # published to 3 decimals


def test_single_comparison_reduces_to_the_t_test() -> None:
    # k = 1: the Dunnett critical value is the t quantile, t_{.975, 20} = 2.085963 (tables).
    assert dunnett_critical_value(loadings=[0.7], df=20, alpha=0.05, sided=2) == pytest.approx(
        2.085963, abs=1e-6
    )


def _design(row: dict[str, str]) -> tp.Parallel:
    n = [int(x) for x in row["n"].split(";")]
    d = [float(x) for x in row["d"].split(";")]
    arms = ["control"] + [f"arm{i + 1}" for i in range(len(n))]
    means = {"control": 0.0} | {a: di for a, di in zip(arms[1:], d, strict=True)}
    sizes = {"control": int(row["n0"])} | dict(zip(arms[1:], n, strict=True))
    return tp.Parallel(
        arms=arms,
        outcome=tp.Continuous(means=means, sd=1.0, better="higher"),
        n_per_arm=sizes,
        control="control",
        alpha=float(row["alpha"]),
        sided=int(row["sided"]),
    )


@pytest.mark.parametrize(
    "row",
    [pytest.param(r, id=f"mvtnorm-{r['case']}-sided{r['sided']}-alpha{r['alpha']}") for r in ROWS],
)
def test_matches_r_mvtnorm(row: dict[str, str]) -> None:
    # tests/references/dunnett_mvtnorm.R: root of the pmvt/pmvnorm coverage, noncentral
    # (Kshirsagar) pmvt for any/all; Genz-Bretz abseps 1e-6.
    design = _design(row)
    assert design.n_total - len(design.arms) == int(row["df"])
    res = design.power(multiplicity=tp.Dunnett())
    assert res.extras["critical_value"] == pytest.approx(float(row["critical"]), abs=3e-5)
    assert res.extras["any"] == pytest.approx(float(row["power_any"]), abs=2e-5)
    assert res.extras["all"] == pytest.approx(float(row["power_all"]), abs=2e-5)
    assert res.any == res.extras["any"]  # PowerResult properties read extras
    assert res.all == res.extras["all"]


def test_each_comparison_power_is_the_marginal_noncentral_t() -> None:
    # Per comparison, Dunnett's power is P(|T_i| > c) for the noncentral t(df, delta_i):
    # scipy.stats.nct directly, at the critical value of the R fixture.
    from scipy import stats

    row = next(
        r
        for r in ROWS
        if r["case"] == "k3-unequal-n60-30-30-45" and r["sided"] == "2" and r["alpha"] == "0.05"
    )
    res = _design(row).power(multiplicity=tp.Dunnett())
    c, df = float(row["critical"]), float(row["df"])
    for name in res:
        delta = res.row(name).effect / res.row(name).se
        expected = stats.nct.sf(c, df, delta) + stats.nct.cdf(-c, df, delta)
        assert res[name] == pytest.approx(expected, abs=1e-5)


def test_any_and_all_bracket_each() -> None:
    res = _design(ROWS[8]).power(multiplicity=tp.Dunnett())
    powers = [res[h] for h in res]
    assert res.extras["all"] <= min(powers) <= max(powers) <= res.extras["any"]


def test_brute_force_monte_carlo_null_coverage() -> None:
    # Independent check of the quadrature: simulate the null multivariate t of three arms
    # against a control (n = 12, 12, 12, 24) and count max T_i > c.
    rng = np.random.default_rng(7)
    load = np.sqrt(np.array([12, 12, 12]) / (np.array([12, 12, 12]) + 24))
    df = 60 - 4
    c = dunnett_critical_value(loadings=load, df=df, alpha=0.05, sided=1)
    reps = 400_000
    w = rng.standard_normal(reps)
    z = load * w[:, None] + np.sqrt(1 - load**2) * rng.standard_normal((reps, 3))
    u = np.sqrt(rng.chisquare(df, reps) / df)
    fwer = np.mean((z / u[:, None]).max(axis=1) > c)
    assert abs(fwer - 0.05) < 4 * math.sqrt(0.05 * 0.95 / reps)


def test_binary_arms_use_normal_and_product_form() -> None:
    design = tp.Parallel(
        arms=("control", "a", "b"),
        outcome=tp.Binary(rates={"control": 0.2, "a": 0.35, "b": 0.4}),
        n_per_arm=100,
    )
    res = design.power(multiplicity=tp.Dunnett())
    # unequal Wald variances: l_i = sqrt(v0 / (v_i + v0)); with df = inf
    v = np.array([0.2 * 0.8, 0.35 * 0.65, 0.4 * 0.6]) / 100
    load = np.sqrt(v[0] / (v[1:] + v[0]))
    assert res.extras["critical_value"] == pytest.approx(
        dunnett_critical_value(loadings=load, df=math.inf, alpha=0.05, sided=2), abs=1e-9
    )
    assert math.isinf(res.row("a vs control").df)


def test_rectangle_probabilities_independent_case() -> None:
    # Independent one-sided tests: any = 1 - prod(1 - p_i), all = prod p_i (closed form).
    from scipy import stats

    delta = np.array([1.0, 2.0, 0.5])
    out = rectangle_probabilities(
        critical=1.96, noncentrality=delta, loadings=[0, 0, 0], df=math.inf, sided=1
    )
    p = stats.norm.sf(1.96 - delta)
    assert out["all"] == pytest.approx(np.prod(p), abs=1e-10)
    assert out["any"] == pytest.approx(1 - np.prod(1 - p), abs=1e-10)


# ---------------------------------------------------------------- bad input
def test_non_many_to_one_family_is_refused() -> None:
    d = tp.Parallel(
        arms=("c", "a", "b"),
        outcome=tp.Continuous(means={"c": 0, "a": 1, "b": 2}, sd=1.0),
        n_per_arm=10,
    )
    with pytest.raises(ValueError, match="sharing one reference cell"):
        d.power(multiplicity=tp.Dunnett(hypotheses=["a vs c", "b vs a", "b vs c"]))


def test_unknown_method_and_options() -> None:
    d = tp.Parallel(
        arms=("c", "a"), outcome=tp.Continuous(means={"c": 0, "a": 1}, sd=1.0), n_per_arm=10
    )
    with pytest.raises(ValueError, match="method='simulation'.*'analytic'"):
        d.power(multiplicity=tp.Dunnett(), method="simulation")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param(
            {"hypotheses": "a vs c"},
            TypeError,
            "sequence of hypothesis names",
            id="string-not-list",
        ),
        pytest.param({"hypotheses": []}, ValueError, "at least one", id="empty"),
    ],
)
def test_bad_procedure_arguments(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        tp.Dunnett(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"alpha": 0.0}, "alpha", id="alpha-zero"),
        pytest.param({"sided": 3}, "sided", id="sided-3"),
        pytest.param({"loadings": [1.0, 0.5]}, "loadings", id="loading-one"),
    ],
)
def test_bad_critical_value_arguments(kwargs, match) -> None:
    args = {"loadings": [0.5, 0.5], "df": 10, "alpha": 0.05, "sided": 2} | kwargs
    with pytest.raises(ValueError, match=match):
        dunnett_critical_value(**args)


@pytest.mark.parametrize("target", ["each", "any", "all"])
def test_sample_size_is_smallest_reaching_target(target: str) -> None:
    # Round trip (an extra check, not a reference): the solved size reaches the target with
    # Dunnett's critical value, one allocation unit fewer does not; per-comparison power is
    # checked against scipy's noncentral t at that critical value.
    from scipy import stats

    design = tp.Parallel(
        arms=("c", "a", "b"),
        outcome=tp.Continuous(means={"c": 0.0, "a": -4.0, "b": -5.0}, sd=8.0),
        n_per_arm={"c": 20, "a": 10, "b": 10},
    )
    ss = tp.Dunnett().sample_size(design, power=0.8, target=target)
    assert ss.n_per_cell["c"] == 2 * ss.n_per_cell["a"] == 2 * ss.n_per_cell["b"]

    def achieved(d: tp.Parallel) -> float:
        res = d.power(multiplicity=tp.Dunnett())
        return min(res[h] for h in res) if target == "each" else res.extras[target]

    assert achieved(ss.design) >= 0.8
    smaller = ss.design.with_cell_sizes(ss.design.n_array - np.array([2, 1, 1]))
    assert achieved(smaller) < 0.8
    n = ss.design.n_array
    df = n.sum() - 3
    c = dunnett_critical_value(loadings=np.sqrt(n[1:] / (n[1:] + n[0])), df=df, alpha=0.05, sided=2)
    delta = 4.0 / (8.0 * math.sqrt(1 / n[0] + 1 / n[1]))
    assert ss.powers["a vs c"] == pytest.approx(
        stats.nct.sf(c, df, delta) + stats.nct.cdf(-c, df, delta), abs=1e-6
    )


def test_design_sample_size_with_dunnett_multiplicity() -> None:
    # design.sample_size(multiplicity=tp.Dunnett()) (it used to raise TypeError): the named
    # comparison's power, from scipy's noncentral t at Dunnett's critical value for the whole
    # family (itself checked against mvtnorm above), reaches 0.8 at n and not at n - 1.
    from scipy import stats

    design = tp.Parallel(
        arms=("c", "a", "b"),
        outcome=tp.Continuous(means={"c": 0.0, "a": -4.0, "b": -5.0}, sd=8.0),
        n_per_arm=10,
    )

    def power_b(n: int) -> float:
        df = 3 * n - 3
        c = dunnett_critical_value(loadings=[math.sqrt(0.5)] * 2, df=df, alpha=0.05, sided=2)
        delta = 5.0 / (8.0 * math.sqrt(2 / n))
        return stats.nct.sf(c, df, delta) + stats.nct.cdf(-c, df, delta)

    ss = design.sample_size(power=0.8, hypothesis="b vs c", multiplicity=tp.Dunnett())
    n = ss.n_per_cell
    assert power_b(n) >= 0.8 > power_b(n - 1)
    assert ss.power == pytest.approx(power_b(n), abs=1e-6)
    assert ss.hypotheses == ("a vs c", "b vs c")  # the family the critical value controls
    both = design.sample_size(power=0.8, hypothesis=["a vs c", "b vs c"], multiplicity=tp.Dunnett())
    assert both.n_per_cell == tp.Dunnett().sample_size(design, power=0.8).n_per_cell > n
    with pytest.raises(ValueError, match="must name comparisons of the Dunnett family"):
        design.sample_size(power=0.8, hypothesis="b vs a", multiplicity=tp.Dunnett())
    with pytest.raises(ValueError, match="only target='each' supports"):
        tp.Dunnett().sample_size(design, power=0.8, target="any", hypothesis="b vs c")


def test_sample_size_bad_target() -> None:
    design = tp.Parallel(
        arms=("c", "a"), outcome=tp.Continuous(means={"c": 0, "a": 1}, sd=1.0), n_per_arm=10
    )
    with pytest.raises(ValueError, match="target='every'"):
        tp.Dunnett().sample_size(design, power=0.8, target="every")
