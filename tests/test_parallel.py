"""tp.Parallel: two-arm textbook values, timing arms, other outcomes, bad input."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trialplan as tp

REF = Path(__file__).parent / "references"


def _pwr() -> dict[str, float]:
    with open(REF / "parallel_pwr.csv") as fh:
        rows = [r for r in csv.DictReader(line for line in fh if not line.startswith("#"))]
    return {r["case"]: float(r["value"]) for r in rows}


PWR = _pwr()


def two_arm(d: float, n: int | dict, *, sided: int = 2, alpha: float = 0.05) -> tp.Parallel:
    return tp.Parallel(
        arms=("control", "treated"),
        outcome=tp.Continuous(means={"control": 0.0, "treated": d}, sd=1.0, better="higher"),
        n_per_arm=n,
        sided=sided,
        alpha=alpha,
    )


TIMING = ("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI")


def timing(n: int | dict = 60, **kw) -> tp.Parallel:
    return tp.Parallel(
        arms=TIMING,
        outcome=tp.Continuous(
            means={"rTMS alone": -10.0, "MBI then rTMS": -12.0, "rTMS with concurrent MBI": -13.0},
            sd=8.0,
        ),
        n_per_arm=n,
        control="rTMS alone",
        **kw,
    )


# ------------------------------------------------------------------ textbook
@pytest.mark.parametrize(
    ("sided", "case", "expected"),
    [
        pytest.param(
            2,
            "t-equal-n-for-80pct-d0.5-two-sided",
            64,
            id="pwr.t.test-d0.5-80pct-two-sided-64-per-group (Cohen 1988 Table 2.4.1)",
        ),
        pytest.param(
            1,
            "t-equal-n-for-80pct-d0.5-one-sided",
            51,
            id="pwr.t.test-d0.5-80pct-one-sided-51-per-group",
        ),
    ],
)
def test_two_sample_t_sample_size_matches_pwr(sided: int, case: str, expected: int) -> None:
    ss = two_arm(0.5, 10, sided=sided).sample_size(power=0.8, hypothesis="treated vs control")
    assert ss.n_per_cell == expected == math.ceil(PWR[case])
    assert ss.n_total == 2 * expected


@pytest.mark.parametrize(
    ("n", "d", "case"),
    [
        pytest.param(64, 0.5, "t-power-n64-d0.5-two-sided", id="pwr.t.test-n64-d0.5"),
        pytest.param(15, 0.8, "t-power-n15-d0.8-two-sided", id="pwr.t.test-n15-d0.8"),
        pytest.param(
            {"control": 40, "treated": 80},
            0.5,
            "t-power-n40-80-d0.5-two-sided",
            id="pwr.t2n.test-n40-80-d0.5-unequal",
        ),
    ],
)
def test_two_sample_t_power_matches_pwr(n, d: float, case: str) -> None:
    assert two_arm(d, n).power()["treated vs control"] == pytest.approx(PWR[case], abs=1e-6)


def test_binary_arcsine_matches_pwr_2p() -> None:
    # REFERENCES.md: .30 vs .50, alpha .05 two-sided, 80% -> 93 per arm (G*Power; pwr.2p.test
    # with Cohen's h gives n = 92.70).
    design = tp.Parallel(
        arms=("control", "treated"),
        outcome=tp.Binary(rates={"control": 0.3, "treated": 0.5}, scale="arcsine"),
        n_per_arm=10,
    )
    ss = design.sample_size(power=0.8, hypothesis="treated vs control")
    assert ss.n_per_cell == math.ceil(PWR["2p-arcsine-n-for-80pct-0.5-vs-0.3"]) == 93
    assert ss.n_total == 186


def test_binary_risk_difference_wald_closed_form() -> None:
    # Unpooled Wald z: n = (z_.975 + z_.8)^2 (p1 q1 + p2 q2) / (p1 - p2)^2 = 90.3 -> 91 per arm
    z = 1.959963984540054 + 0.8416212335729143
    expected = math.ceil(z**2 * (0.21 + 0.25) / 0.2**2)
    design = tp.Parallel(
        arms=("control", "treated"),
        outcome=tp.Binary(rates={"control": 0.3, "treated": 0.5}),
        n_per_arm=10,
    )
    assert design.sample_size(power=0.8, hypothesis="treated vs control").n_per_cell == expected


def test_time_to_event_arms_give_log_hazard_ratio_comparisons() -> None:
    hazards = {"rTMS alone": 0.10, "MBI then rTMS": 0.07, "rTMS with concurrent MBI": 0.07}
    design = tp.Parallel(
        arms=TIMING,
        outcome=tp.TimeToEvent(hazards=hazards, accrual=12.0, analysis_time=24.0),
        n_per_arm=150,
        control="rTMS alone",
    )
    row = design.power().row("MBI then rTMS vs rTMS alone")
    assert row.effect == pytest.approx(math.log(0.7))

    # Var(log HR) = 1/d1 + 1/d2, d_j = n_j P_j with uniform accrual on [0, A], analysis at
    # T (Lachin & Foulkes 1986): P = 1 - [exp(-h (T - A)) - exp(-h T)] / (h A).
    def events(h: float) -> float:
        return 150 * (1 - (math.exp(-h * 12.0) - math.exp(-h * 24.0)) / (h * 12.0))

    se = math.sqrt(1 / events(0.10) + 1 / events(0.07))
    assert row.se == pytest.approx(se, rel=1e-9)
    # two-sided Wald z power from the normal law (both tails), written out here
    z, shift = NormalDist().inv_cdf(0.975), abs(math.log(0.7)) / se
    expected = NormalDist().cdf(shift - z) + NormalDist().cdf(-shift - z)
    assert math.isinf(row.df)
    assert row.power == pytest.approx(expected, abs=1e-12)


# -------------------------------------------------------------- timing arms
def test_default_hypotheses_are_many_to_one_and_pairwise_on_request() -> None:
    d = timing(comparisons=[("rTMS with concurrent MBI", "MBI then rTMS")])
    assert d.hypothesis_names == (
        "MBI then rTMS vs rTMS alone",
        "rTMS with concurrent MBI vs rTMS alone",
        "rTMS with concurrent MBI vs MBI then rTMS",
    )
    res = d.power()
    assert res.row("rTMS with concurrent MBI vs MBI then rTMS").effect == -1.0
    # se = sd sqrt(1/60 + 1/60), df = 180 - 3 (one pooled SD over three arms)
    assert res.row("MBI then rTMS vs rTMS alone").se == pytest.approx(8 * math.sqrt(2 / 60))
    assert res.row("MBI then rTMS vs rTMS alone").df == 177


def test_unequal_allocation_and_sample_size_keep_ratios() -> None:
    d = timing({"rTMS alone": 40, "MBI then rTMS": 20, "rTMS with concurrent MBI": 20})
    assert d.allocation_ratios.tolist() == [2, 1, 1]
    ss = d.sample_size(power=0.8, hypothesis="rTMS with concurrent MBI vs rTMS alone")
    sizes = ss.n_per_cell
    assert (
        sizes["rTMS alone"] == 2 * sizes["MBI then rTMS"] == 2 * sizes["rTMS with concurrent MBI"]
    )
    assert ss.power >= 0.8
    smaller = ss.design.with_cell_sizes(
        [s - r for s, r in zip(ss.design.n_array, [2, 1, 1], strict=True)]
    )
    assert smaller.power()["rTMS with concurrent MBI vs rTMS alone"] < 0.8


def test_dropout_inflates_randomized() -> None:
    d = timing(60, dropout=0.2)
    assert d.n_randomized == 3 * 75


def test_replace_revalidates() -> None:
    d = timing()
    assert d.replace(n_per_arm=30).n_total == 90
    with pytest.raises(ValueError, match="sd"):
        d.replace(sd=-1.0)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param(
            {"control": "rTMS alon"},
            ValueError,
            r"'rTMS alon'.*did you mean 'rTMS alone'",
            id="control-typo",
        ),
        pytest.param({"arms": ("only",)}, ValueError, "at least two arms", id="one-arm"),
        pytest.param({"arms": ("a", "a")}, ValueError, "distinct", id="duplicate-arms"),
        pytest.param({"arms": ("a vs b", "c")}, ValueError, "' vs '", id="separator-in-name"),
        pytest.param({"n_per_arm": 1}, ValueError, "residual degrees of freedom", id="n-too-small"),
        pytest.param({"n_per_arm": 10.5}, TypeError, "n_per_arm", id="n-not-whole"),
        pytest.param({"alpha": 1.5}, ValueError, "alpha", id="alpha-out-of-range"),
        pytest.param(
            {"comparisons": [("MBI then rTMS", "MBI then rTMS")]},
            ValueError,
            "itself",
            id="comparison-with-itself",
        ),
        pytest.param(
            {"comparisons": [("MBI then rTMS", "rTMS concurrent")]},
            ValueError,
            "not an arm",
            id="comparison-unknown-arm",
        ),
        pytest.param({"outcome": "normal"}, TypeError, "outcome", id="outcome-not-an-outcome"),
        pytest.param(
            {"comparisons": [("MBI then rTMS", "rTMS with concurrent MBI")] * 2},
            ValueError,
            r"comparisons lists the pair \('MBI then rTMS', 'rTMS with "
            r"concurrent MBI'\) twice",
            id="comparison-twice",
        ),
    ],
)
def test_bad_input_names_parameter_value_and_allowed(kwargs, error, match) -> None:
    base = dict(
        arms=TIMING,
        outcome=tp.Continuous(means=dict.fromkeys(TIMING, 0.0), sd=8.0),
        n_per_arm=20,
        control="rTMS alone",
    )
    if "arms" in kwargs:
        base["outcome"] = tp.Continuous(means=dict.fromkeys(kwargs["arms"], 0.0), sd=1.0)
        base.pop("control")
    base.update(kwargs)
    with pytest.raises(error, match=match):
        tp.Parallel(**base)


def test_outcome_missing_an_arm() -> None:
    with pytest.raises(ValueError, match=r"missing \['rTMS with concurrent MBI'\]"):
        tp.Parallel(
            arms=TIMING,
            outcome=tp.Continuous(means={"rTMS alone": 0.0, "MBI then rTMS": 1.0}, sd=8.0),
            n_per_arm=20,
        )


def test_outcome_with_unknown_arm_suggests_closest() -> None:
    with pytest.raises(ValueError, match="did you mean 'MBI then rTMS'"):
        tp.Parallel(
            arms=TIMING,
            outcome=tp.Continuous(
                means={"rTMS alone": 0.0, "MBI than rTMS": 1.0, "rTMS with concurrent MBI": 2.0},
                sd=8.0,
            ),
            n_per_arm=20,
        )


@pytest.mark.parametrize(
    ("name", "match"),
    [
        pytest.param("MBI then rTMS vs rTMS alon", "did you mean 'rTMS alone'", id="typo"),
        pytest.param("MBI then rTMS", "must look like", id="no-vs"),
        pytest.param("rTMS alone vs rTMS alone", "itself", id="self"),
    ],
)
def test_bad_hypothesis_names(name: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        timing().power(name)


# ------------------------------------------------------------------ properties
@settings(max_examples=30, deadline=None)
@given(n=st.integers(3, 200), diff=st.floats(-6.0, -0.5))
def test_power_rises_with_n(n: int, diff: float) -> None:
    d = tp.Parallel(
        arms=("c", "t"), outcome=tp.Continuous(means={"c": 0.0, "t": diff}, sd=8.0), n_per_arm=n
    )
    assert d.power()["t vs c"] <= d.replace(n_per_arm=n + 1).power()["t vs c"]


@settings(max_examples=30, deadline=None)
@given(diff=st.floats(-6.0, 6.0), sd=st.floats(1.0, 20.0))
def test_swapping_the_comparison_flips_the_effect_not_the_power(diff: float, sd: float) -> None:
    d = tp.Parallel(
        arms=("c", "t"), outcome=tp.Continuous(means={"c": 0.0, "t": diff}, sd=sd), n_per_arm=30
    )
    forward, backward = d.power(["t vs c", "c vs t"]).rows
    assert forward.effect == -backward.effect
    assert forward.power == pytest.approx(backward.power, abs=1e-12)
