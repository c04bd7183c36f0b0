"""Group-delivered MBI: partially nested design effect and degrees of freedom."""

import math

import numpy as np
import pytest
from scipy import stats

import trialplan as tp

FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
MEANS = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}


def design(clusters: tp.Clustering | None, n: int = 48) -> tp.Factorial:
    return tp.Factorial(
        factors=FACTORS, outcome=tp.Continuous(means=MEANS, sd=8.0), n_per_cell=n, clusters=clusters
    )


GROUPS = tp.Clustering(factor="MBI", icc=0.05, group_size=8)


def test_design_effect_formula() -> None:
    # Roberts & Roberts 2005: DE = 1 + (m - 1) ICC = 1 + 7 * .05.
    assert GROUPS.design_effect == pytest.approx(1.35)
    # Eldridge, Ashby & Kerry 2006: unequal sizes, DE = 1 + ((1 + cv^2) m - 1) ICC.
    assert GROUPS.replace(size_cv=0.5).design_effect == pytest.approx(1 + (1.25 * 8 - 1) * 0.05)


def test_only_mbi_cells_are_inflated() -> None:
    d = design(GROUPS)
    mbi = np.array([cell[1] == "MBI" for cell in d.cells])
    assert np.allclose(d.design_effects(), np.where(mbi, 1.35, 1.0))
    assert np.allclose(d.cell_model().variances, 64 * np.where(mbi, 1.35, 1.0) / 48)


@pytest.mark.parametrize(
    "hypothesis", ["rTMS", "MBI", "rTMS:MBI", "rTMS | MBI=control", "rTMS | MBI=MBI"]
)
def test_power_by_hand(hypothesis: str) -> None:
    # Var = sigma^2 sum c_j^2 DE_j / n_j.  Heteroscedastic partially nested analysis
    # (Roberts & Roberts 2005): MBI cells' variance from the between-group mean square,
    # df = 2 * (6 groups - 1) = 10; control cells' from the within-cell one, df = 2 * 47
    # = 94; Satterthwaite (1946) df for the contrast's mix of the two.  (Before this
    # rule the df was 104 for every contrast; simulation of the analysis gave a type I
    # error of up to 0.071 for main effects and 0.114 for the MBI-only simple effect, see
    # tests/references/clustered_calibration.txt.)  Two-sided noncentral t power computed here.
    d = design(GROUPS)
    c = d.hypothesis(hypothesis).contrasts[0]
    mu = np.array([MEANS[cell] for cell in d.cells])
    mbi = np.array([cell[1] == "MBI" for cell in d.cells])
    v_groups = 64 * np.sum(c[mbi] ** 2 * 1.35) / 48
    v_alone = 64 * np.sum(c[~mbi] ** 2) / 48
    se = math.sqrt(v_groups + v_alone)
    parts = [(v, f) for v, f in ((v_groups, 10), (v_alone, 94)) if v > 0]
    df = (v_groups + v_alone) ** 2 / sum(v**2 / f for v, f in parts)
    delta = (c @ mu) / se
    crit = stats.t.isf(0.025, df)
    expected = stats.nct.sf(crit, df, delta) + stats.nct.cdf(-crit, df, delta)
    stat = d.statistics(hypothesis)[0]
    assert stat.df == pytest.approx(df, rel=1e-12)
    assert stat.se == pytest.approx(se)
    assert d.power(hypothesis)[hypothesis] == pytest.approx(expected, rel=1e-9)


def test_clustering_lowers_power_and_raises_sample_size() -> None:
    plain, grouped = design(None), design(GROUPS)
    assert grouped.power()["MBI"] < plain.power()["MBI"]
    # No MBI cell in this contrast: same se; only the smaller df (94 vs 188) costs power.
    name = "rTMS | MBI=control"
    assert grouped.statistics(name)[0].se == pytest.approx(plain.statistics(name)[0].se)
    se = 8.0 * math.sqrt(2 / 48)

    def t_power(df: float) -> float:  # two-sided noncentral t (scipy), effect -3
        crit = stats.t.isf(0.025, df)
        return stats.nct.sf(crit, df, -3.0 / se) + stats.nct.cdf(-crit, df, -3.0 / se)

    assert plain.power()[name] == pytest.approx(t_power(188), abs=1e-9)
    assert grouped.power()[name] == pytest.approx(t_power(94), abs=1e-9)
    assert 0 < plain.power()[name] - grouped.power()[name] < 0.005
    assert (
        grouped.sample_size(power=0.8, hypothesis="MBI").n_total
        > plain.sample_size(power=0.8, hypothesis="MBI").n_total
    )


def test_design_effect_matches_brute_force_simulation() -> None:
    # Independent check of the variance of a clustered cell mean: 6 groups of 8 with a
    # random group effect (ICC .05, total variance 1), 20000 replicates.
    rng = np.random.default_rng(2026)
    icc, m, g = 0.05, 8, 6
    group = rng.normal(0, math.sqrt(icc), size=(20_000, g, 1))
    resid = rng.normal(0, math.sqrt(1 - icc), size=(20_000, g, m))
    means = (group + resid).mean(axis=(1, 2))
    expected = tp.Clustering(factor="MBI", icc=icc, group_size=m).design_effect / (g * m)
    assert means.var() == pytest.approx(expected, rel=0.04)  # ~1% MC error on a variance


def test_binary_and_tte_get_the_design_effect() -> None:
    # Binary: Wald variances p (1 - p) / n times DE in the clustered cells.
    rates = {
        ("sham", "control"): 0.2,
        ("active", "control"): 0.3,
        ("sham", "MBI"): 0.3,
        ("active", "MBI"): 0.45,
    }
    d = tp.Factorial(
        factors=FACTORS, outcome=tp.Binary(rates=rates), n_per_cell=100, clusters=GROUPS
    )
    p = np.array([rates[c] for c in d.cells])
    de = np.array([1.35 if c[1] == "MBI" else 1.0 for c in d.cells])
    assert np.allclose(d.cell_model().variances, p * (1 - p) * de / 100)
    assert math.isinf(d.cell_model().df)
    # Time to event, which the name promised but the test did not check: uniform
    # accrual on [0, A], analysis at T, exponential hazard lambda, no dropout, so
    # P(event) = 1 - [exp(-lambda (T - A)) - exp(-lambda T)] / (lambda A) (Lachin &
    # Foulkes 1986, METHODS.md section 4), events d_j = n_j P_j, and a clustered cell's
    # log-hazard variance is DE / d_j (METHODS.md section 5), written out here.
    hazards = {
        ("sham", "control"): 0.06,
        ("active", "control"): 0.045,
        ("sham", "MBI"): 0.045,
        ("active", "MBI"): 0.03,
    }
    accrual, end = 18.0, 30.0
    tte = tp.Factorial(
        factors=FACTORS,
        outcome=tp.TimeToEvent(hazards=hazards, accrual=accrual, analysis_time=end),
        n_per_cell=100,
        clusters=GROUPS,
    )
    lam = np.array([hazards[c] for c in tte.cells])
    p_event = 1 - (np.exp(-lam * (end - accrual)) - np.exp(-lam * end)) / (lam * accrual)
    de = np.array([1.35 if c[1] == "MBI" else 1.0 for c in tte.cells])
    expected = de / (100 * p_event)
    assert np.allclose(tte.cell_model().variances, expected, rtol=1e-12)
    assert math.isinf(tte.cell_model().df)
    # and the power of the MBI main effect is the Wald z power with that variance
    c = np.array([-0.5 if lv == "control" else 0.5 for _, lv in tte.cells])
    se = math.sqrt(c**2 @ expected)
    z = abs(c @ np.log(lam)) / se
    crit = stats.norm.isf(0.025)
    assert tte.power("MBI")["MBI"] == pytest.approx(
        stats.norm.sf(crit - z) + stats.norm.sf(crit + z), rel=1e-12
    )


def test_explicit_level_and_replace_keep_validation() -> None:
    d = design(tp.Clustering(factor="MBI", level="MBI", icc=0.1, group_size=10))
    assert d.clusters.level == "MBI"
    assert "groups of 10" in d.describe()
    with pytest.raises(ValueError, match="icc must lie in"):
        d.replace(clusters=GROUPS.replace(icc=1.0))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        pytest.param(
            {"icc": -0.1}, ValueError, r"icc must lie in \[0, 1\); got icc=-0.1", id="negative-icc"
        ),
        pytest.param({"icc": 1.0}, ValueError, "icc must lie in", id="icc-1"),
        pytest.param(
            {"group_size": 0.5}, ValueError, "group_size must be >= 1", id="group-size-below-1"
        ),
        pytest.param({"size_cv": -1.0}, ValueError, "size_cv must be >= 0", id="negative-cv"),
        pytest.param({"factor": 3}, TypeError, "factor must be a factor name", id="factor-type"),
    ],
)
def test_bad_clustering(kwargs: dict, exc: type, match: str) -> None:
    base = {"factor": "MBI", "icc": 0.05, "group_size": 8}
    base.update(kwargs)
    with pytest.raises(exc, match=match):
        tp.Clustering(**base)


def test_bad_factor_or_level_in_design() -> None:
    with pytest.raises(ValueError, match="'MBl' is not a factor.*did you mean 'MBI'"):
        design(tp.Clustering(factor="MBl", icc=0.05, group_size=8))
    with pytest.raises(ValueError, match="level='mbi' is not a level of factor 'MBI'"):
        design(tp.Clustering(factor="MBI", level="mbi", icc=0.05, group_size=8))
    with pytest.raises(TypeError, match="clusters must be tp.Clustering"):
        design({"factor": "MBI"})  # type: ignore[arg-type]
