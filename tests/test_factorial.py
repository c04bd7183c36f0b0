"""Factorial designs with a continuous outcome: published values and R fixtures.

Independent-developer tests: every expected number comes from a publication or
from tests/references/factorial_power.R (R's pt(ncp=) and mvtnorm), never from
trialplan itself.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

import trialplan as tp
from trialplan.power import joint_power

REFS = Path(__file__).parent / "references"
CELLS = (("a0", "b0"), ("a1", "b0"), ("a0", "b1"), ("a1", "b1"))  # the R script's order


def two_by_two(mu, n, sd, *, baseline_corr=0.0, better="lower", **design):
    """A 2x2 design from means and sizes listed in the order (a0b0, a1b0, a0b1, a1b1)."""
    sizes = n if isinstance(n, int) else dict(zip(CELLS, n, strict=True))
    return tp.Factorial(
        factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        outcome=tp.Continuous(
            means=dict(zip(CELLS, mu, strict=True)),
            sd=sd,
            baseline_corr=baseline_corr,
            better=better,
        ),
        n_per_cell=sizes,
        **design,
    )


def read_fixture(name):
    with open(REFS / name, newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


# ----------------------------------------------------------------- published values
def test_gpower_special_anova_f025_four_groups():
    # G*Power 3.1 manual / Faul et al. 2007: ANOVA fixed effects, special, df1 = 1,
    # f = 0.25, alpha = .05, 4 groups: total N = 128, power 0.8013621, lambda = 8.
    design = two_by_two((0, 0.5, 0, 0.5), 32, 1.0)  # main effect A = 0.5 sd -> f = 0.25
    row = design.power().row("A")
    assert row.power == pytest.approx(0.8013621, abs=5e-8)
    assert row.cohens_f == pytest.approx(0.25, abs=1e-12)
    assert row.noncentrality == pytest.approx(8.0, abs=1e-12)
    assert row.partial_eta_sq == pytest.approx(0.0625 / 1.0625, abs=1e-12)
    assert tp.anova_power(cohens_f=0.25, n_total=128, n_groups=4) == pytest.approx(
        0.8013621, abs=5e-8
    )
    assert design.sample_size(power=0.8, hypothesis="A").n_total == 128


def smallest_total(power_of_n, target=0.8, start=20):
    n = start
    while power_of_n(n) < target:
        n += 1
    return n


@pytest.mark.parametrize(
    ("groups", "covariates", "f", "expected"),
    [
        pytest.param(4, 0, 0.25, 128, id="GPower-ANOVA-special-4-groups-N128"),
        pytest.param(12, 0, 0.25, 128, id="GPower-ANOVA-special-2x2x3-N128"),
        pytest.param(4, 1, 0.2309401, 150, id="GPower-ANCOVA-special-1-covariate-N150"),
    ],
)
def test_gpower_total_n(groups, covariates, f, expected):
    # G*Power 3.1 (Faul et al. 2007): smallest total N reaching 80 % at alpha = .05.
    def power_of_n(n):
        return tp.anova_power(cohens_f=f, n_total=n, n_groups=groups, n_covariates=covariates)

    assert smallest_total(power_of_n) == expected


def test_gpower_ancova_f_from_baseline_correlation():
    # f = 0.2309401 is a main effect of 0.4 sd after ANCOVA with rho = 0.5
    # (residual sd sqrt(0.75)); G*Power's convention lambda = N f^2.
    design = two_by_two((0, 0.4, 0, 0.4), 38, 1.0, baseline_corr=0.5)
    assert design.power().row("A").cohens_f == pytest.approx(0.2309401, abs=1e-7)


@pytest.mark.parametrize(
    "hypothesis",
    [pytest.param(h, id=f"Superpower-vignette-2x2-n150-{h}") for h in ("A", "B", "A:B")],
)
def test_superpower_2x2_each_effect_one_third(hypothesis):
    # Lakens & Caldwell 2021 (Superpower vignette): 2b x 2b, n = 150 per cell,
    # mu = (20, 20, 20, 25), sd = 20: power 33.3 % for A, B and A x B.  F(1, 596)
    # equals the two-sided t test used here.
    design = two_by_two((20, 20, 20, 25), 150, 20.0)
    assert design.power()[hypothesis] == pytest.approx(0.333, abs=5e-4)


def test_superpower_crossover_interaction():
    # Superpower vignette: crossover pattern mu = (1, 0, 0, 1), sd = 2, n = 40 per
    # cell: interaction power 88.2 %.
    assert two_by_two((1, 0, 0, 1), 40, 2.0).power()["A:B"] == pytest.approx(0.882, abs=5e-4)


def test_marginal_powers_example():
    # REFERENCES.md: n = 100/cell, sigma = 8, A = 3, B = 2, IC = 2 (normal approx.):
    # 0.963, 0.705, 0.239.  Exact t with df = 396 differs from the normal by < 0.002.
    res = two_by_two((0, 2, 1, 5), 100, 8.0).power()
    assert res.row("A").se == pytest.approx(0.8)
    assert res.row("A:B").se == pytest.approx(1.6)
    assert res["A"] == pytest.approx(0.963, abs=2e-3)
    assert res["B"] == pytest.approx(0.705, abs=2e-3)
    assert res["A:B"] == pytest.approx(0.239, abs=2e-3)


def test_min_test_published_sample_sizes():
    # Laska & Meisner 1989; Hung 1993 (REFERENCES.md): sigma = 8, combination
    # better than each monotherapy by 3 and 4, one-sided .025 each: 116 per arm
    # for 80 % (power 0.802, normal approx.), 152 for 90 %.
    design = two_by_two((0, -5, -4, -8), 10, 8.0, better="lower")
    assert design.sample_size(power=0.8, hypothesis="combination").n_per_cell == 116
    at_116 = design.replace(n_per_cell=116).power()["combination"]
    # published 0.802 is the normal approximation; the exact t (df = 460) is lower
    # by about 0.0017 (mvtnorm: 0.80019, checked to 5e-7 below).
    assert at_116 == pytest.approx(0.802, abs=2.5e-3)
    assert at_116 < 0.802
    # The exact t power at 152 is 0.89993 (mvtnorm, tests/references), just short
    # of 0.9, so the exact answer is one more than the normal approximation's 152.
    assert design.sample_size(power=0.9, hypothesis="combination").n_per_cell == 153
    normal = joint_power(
        [3.26917420765551, 4.35889894354067],
        [1.959963984540054] * 2,
        np.array([[1, 0.5], [0.5, 1]]),
        math.inf,
    )
    assert normal == pytest.approx(0.900862921127706, abs=1e-9)  # R Miwa, >= .9 at 152


# -------------------------------------------------------------------- R fixtures
FIXTURE_NAMES = {
    "A": "A",
    "B": "B",
    "AB": "A:B",
    "A_given_b0": "A | B=b0",
    "A_given_b1": "A | B=b1",
    "B_given_a0": "B | A=a0",
    "B_given_a1": "B | A=a1",
}
FIXTURE_CASES = {
    "balanced-n50": dict(mu=(0, -3, -2, -8), n=50, sd=8.0),
    "unequal-n": dict(mu=(0, -3, -2, -8), n=(40, 60, 30, 70), sd=8.0),
    "one-sided-small": dict(mu=(10, 12, 11, 16), n=6, sd=3.0, alpha=0.025, sided=1),
    "ancova-rho0.5": dict(mu=(0, -3, -2, -8), n=50, sd=8.0, baseline_corr=0.5),
    "ancova-small-unequal": dict(mu=(0, 2, 1, 5), n=(8, 10, 9, 12), sd=2.0, baseline_corr=0.6),
}


@pytest.mark.parametrize(
    "row", read_fixture("factorial_power.csv"), ids=lambda r: f"R-pt-{r['case']}-{r['hypothesis']}"
)
def test_power_matches_r_noncentral_t(row):
    # tests/references/factorial_power.R: contrasts typed by hand, R's pt(ncp=);
    # ANCOVA rows integrate over the baseline imbalance with integrate().
    case = dict(FIXTURE_CASES[row["case"]])
    design = two_by_two(case.pop("mu"), case.pop("n"), case.pop("sd"), **case)
    result = design.power().row(FIXTURE_NAMES[row["hypothesis"]])
    assert result.effect == pytest.approx(float(row["effect"]), abs=1e-12)
    assert result.se == pytest.approx(float(row["se"]), rel=1e-12)
    assert result.df == float(row["df"])
    assert result.power == pytest.approx(float(row["power"]), abs=1e-8)


MIN_CASES = {
    "refs-116": dict(mu=(0, -5, -4, -8), n=116, sd=8.0),
    "refs-152": dict(mu=(0, -5, -4, -8), n=152, sd=8.0),
    "small-unequal": dict(mu=(0, -2, -3, -6), n=(10, 12, 9, 15), sd=3.0),
    "tiny": dict(mu=(0, -2, -3, -6), n=4, sd=3.0, alpha=0.1),
}


@pytest.mark.parametrize(
    "row", read_fixture("min_test_power.csv"), ids=lambda r: f"R-mvtnorm-min-test-{r['case']}"
)
def test_combination_matches_mvtnorm(row):
    # mvtnorm::pmvt(type = "Kshirsagar"), error estimate < 1e-7; df = N - 4.
    case = dict(MIN_CASES[row["case"]])
    design = two_by_two(case.pop("mu"), case.pop("n"), case.pop("sd"), better="lower", **case)
    assert design.power()["combination"] == pytest.approx(float(row["power_t"]), abs=5e-7)
    stat = design.statistics("combination")[0]
    assert stat.correlation[0, 1] == pytest.approx(float(row["rho"]), abs=1e-12)
    normal = joint_power(
        [float(row["delta1"]), float(row["delta2"])],
        [stats_norm_isf(float(stat.components[0].alpha))] * 2,
        stat.correlation,
        math.inf,
    )
    assert normal == pytest.approx(float(row["power_normal"]), abs=1e-9)


def stats_norm_isf(p):
    from scipy import stats

    return float(stats.norm.isf(p))


# ------------------------------------------------------------------ three factors
def test_three_factor_contrasts_by_definition():
    # 2x2x2 (rTMS x MBI x timing): contrasts written out from their definitions.
    factors = {
        "rTMS": ("sham", "active"),
        "MBI": ("control", "MBI"),
        "timing": ("concurrent", "sequential"),
    }
    rng = np.random.default_rng(7)
    cells = [(a, b, c) for a in factors["rTMS"] for b in factors["MBI"] for c in factors["timing"]]
    mu = dict(zip(cells, rng.normal(size=8).round(2), strict=True))
    design = tp.Factorial(factors=factors, outcome=tp.Continuous(means=mu, sd=2.0), n_per_cell=20)
    s = {
        h: design.statistics(h)[0]
        for h in ("rTMS", "rTMS:MBI", "rTMS:MBI:timing", "rTMS | MBI=control, timing=sequential")
    }

    def ic(c):
        return (
            mu[("active", "MBI", c)]
            - mu[("active", "control", c)]
            - mu[("sham", "MBI", c)]
            + mu[("sham", "control", c)]
        )

    main = np.mean(
        [
            mu[("active", b, c)] - mu[("sham", b, c)]
            for b in factors["MBI"]
            for c in factors["timing"]
        ]
    )
    assert s["rTMS"].effect == pytest.approx(main)
    assert s["rTMS"].se == pytest.approx(2.0 * math.sqrt(8 * (1 / 4) ** 2 / 20))
    assert s["rTMS:MBI"].effect == pytest.approx((ic("concurrent") + ic("sequential")) / 2)
    assert s["rTMS:MBI"].se == pytest.approx(2.0 * math.sqrt(8 * (1 / 2) ** 2 / 20))
    assert s["rTMS:MBI:timing"].effect == pytest.approx(ic("sequential") - ic("concurrent"))
    simple = mu[("active", "control", "sequential")] - mu[("sham", "control", "sequential")]
    assert s["rTMS | MBI=control, timing=sequential"].effect == pytest.approx(simple)
    assert s["rTMS"].df == 160 - 8
    combo = design.statistics("combination")[0]
    assert len(combo.components) == 3
    assert "combination" in design.hypothesis_names


def test_dropout_and_randomized_counts():
    design = two_by_two((0, -3, -2, -8), 90, 8.0, dropout=0.1)
    assert design.n_randomized_per_cell[("a0", "b0")] == 100  # ceil(90 / 0.9)
    assert design.n_randomized == 400
    uneven = two_by_two(
        (0, -3, -2, -8),
        50,
        8.0,
        dropout={c: d for c, d in zip(CELLS, (0.05, 0.05, 0.3, 0.3), strict=True)},
    )
    assert uneven.n_randomized_per_cell[("a1", "b1")] == math.ceil(50 / 0.7)
    ss = uneven.sample_size(power=0.8, hypothesis="A")
    assert ss.n_randomized == sum(
        math.ceil(ss.n_per_cell / (1 - d)) for d in (0.05, 0.05, 0.3, 0.3)
    )


def test_unequal_allocation_ratios_kept():
    design = two_by_two((0, -3, -2, -8), (20, 40, 20, 40), 8.0)
    ss = design.sample_size(power=0.9, hypothesis="A")
    sizes = [ss.n_per_cell[c] for c in CELLS]
    assert sizes[1] == 2 * sizes[0]
    assert sizes[3] == 2 * sizes[2]
    assert sizes[0] == sizes[2]
    # smallest multiplier: one step down misses the target
    k = sizes[0]
    below = design.with_cell_sizes([(k - 1) * r for r in design.allocation_ratios])
    assert below.power()["A"] < 0.9 <= ss.powers["A"]


def test_result_objects_are_immutable_and_tidy():
    res = two_by_two((0, -3, -2, -8), 50, 8.0).power()
    frame = res.to_frame()
    assert list(frame.columns[:8]) == [
        "hypothesis",
        "estimand",
        "effect",
        "se",
        "df",
        "critical_value",
        "power",
        "method",
    ]
    frame.loc[0, "power"] = -1.0
    assert res["A"] > 0  # to_frame returned a copy
    with pytest.raises(AttributeError):
        res.rows = ()
    assert isinstance(res["A:B"], float)
    assert "Factorial 2x2" in repr(res)
    assert "A:B" in repr(res)
    with pytest.raises(KeyError, match="did you mean 'A:B'"):
        res["A:b"]
