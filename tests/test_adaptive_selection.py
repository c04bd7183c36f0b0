"""Arm selection, MAMS boundaries and the adaptive protocol paragraph.

References: rpact 3.3.4 getSimulationMultiArmMeans (tests/references/
adaptive_rpact_multiarm.R -> .csv); the MAMS package's published bounds (Jaki,
Pallmann & Magirr 2019, J Stat Softw 88(4), reproduced by MAMS 3.0's tests and
vignettes); an mvtnorm integration of the MAMS familywise error
(tests/references/adaptive_mams_mvtnorm.R -> .csv).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trialplan as tp
from trialplan.adaptive import MAMS, ArmSelection, FisherCombination, protocol_paragraph

REFS = Path(__file__).parent / "references"
GSD = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)


def three_arms(effects: tuple[float, float, float], n: int = 40) -> tp.Parallel:
    means = {"control": 0.0, "A": effects[0], "B": effects[1], "C": effects[2]}
    return tp.Parallel(
        arms=("control", "A", "B", "C"),
        n_per_arm=n,
        outcome=tp.Continuous(means=means, sd=1.0, better="higher"),
    )


# --------------------------------------------------------------------- MAMS
@pytest.mark.parametrize(
    ("kwargs", "upper", "lower"),
    [
        pytest.param({"arms": 3, "arm_ratios": (1,)}, [2.062], [2.062], id="JSS-m1-Dunnett-K3-J1"),
        pytest.param(
            {"arms": 3, "arm_ratios": (1, 2, 3)},
            [3.613, 2.555, 2.086],
            [0.0, 0.0, 2.086],
            id="MAMS-vignette-K3-J3-obf",
        ),
        pytest.param(
            {
                "arms": 3,
                "arm_ratios": (1, 2),
                "control_ratios": (2, 4),
                "upper": "triangular",
                "lower": "triangular",
            },
            [2.359, 2.225],
            [0.786, 2.225],
            id="JSS-m2-triangular-K3-J2",
        ),
        pytest.param(
            {"arms": 3, "arm_ratios": (1, 2, 3), "upper": lambda j: list(range(j, 0, -1))},
            [6.125, 4.084, 2.042],
            [0.0, 0.0, 2.042],
            id="JSS-m3-user-shape-K3-J3",
        ),
    ],
)
def test_mams_bounds_match_published(kwargs: dict, upper: list, lower: list) -> None:
    # MAMS solves its constant by uniroot(tol = 0.001) on a 20-point midpoint rule, so
    # the published bounds carry about 3e-3 of error; ours are exact to ~1e-9.
    m = MAMS(alpha=0.05, **kwargs)
    np.testing.assert_allclose(m.upper_bounds, upper, atol=3e-3)
    np.testing.assert_allclose(m.lower_bounds, lower, atol=3e-3)


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        pytest.param("obf_k2", {"arms": 2, "arm_ratios": (1, 2), "alpha": 0.025}, id="obf-k2"),
        pytest.param(
            "triangular_k3_control2",
            {
                "arms": 3,
                "arm_ratios": (1, 2),
                "control_ratios": (2, 4),
                "upper": "triangular",
                "lower": "triangular",
                "alpha": 0.05,
            },
            id="triangular-control-2",
        ),
        pytest.param(
            "pocock_k3_lower",
            {
                "arms": 3,
                "arm_ratios": (1, 2),
                "upper": "pocock",
                "lower": "fixed",
                "lower_fixed": -0.5,
                "alpha": 0.05,
            },
            id="pocock-lower--0.5",
        ),
    ],
)
def test_mams_familywise_error_by_mvtnorm(case: str, kwargs: dict) -> None:
    ref = pd.read_csv(REFS / "adaptive_mams_mvtnorm.csv").set_index("case").loc[case]
    m = MAMS(**kwargs)
    # mvtnorm integrates the 2K-dimensional normal over 2^K rectangles (abseps 1e-8 each)
    assert ref["fwer"] == pytest.approx(m.alpha, abs=1e-6)
    assert m.familywise_error() == pytest.approx(ref["fwer"], abs=1e-6)


def test_mams_simulation_under_global_and_partial_nulls() -> None:
    m = MAMS(arms=3, arm_ratios=(1, 2, 3), alpha=0.05)
    null = m.simulate([0.0, 0.0, 0.0, 0.0], sd=1.0, n=29, n_sims=100_000, seed=4)
    assert abs(null["fwer"] - 0.05) < 3 * null["mcse_fwer"]
    partial = m.simulate([0.0, 0.545, 0.0, 0.0], sd=1.0, n=29, n_sims=100_000, seed=5)
    assert partial["fwer"] <= 0.05 + 3 * partial["mcse_fwer"]
    assert partial["reject"][0] > 0.9


def test_mams_power_matches_published_simulation() -> None:
    # MAMS vignette (reproducibility.html): K=3, J=3, n=29 per arm per stage, delta = 0.545
    # and delta0 = 0.178 (p = 0.65, p0 = 0.55): 50,000 simulations give P(reject >= 1) =
    # 0.929 and P(reject H1) = 0.919.
    m = MAMS(arms=3, arm_ratios=(1, 2, 3), alpha=0.05)
    delta, delta0 = math.sqrt(2) * 0.385320466, math.sqrt(2) * 0.125661347
    sim = m.simulate([0.0, delta, delta0, delta0], sd=1.0, n=29, n_sims=100_000, seed=6)
    published_mcse = math.sqrt(0.93 * 0.07 / 50_000)
    tol = 4 * math.hypot(published_mcse, sim["mcse_any"]) + 0.0005  # 3-decimal rounding
    assert abs(sim["any"] - 0.929) < tol
    assert abs(sim["reject"][0] - 0.919) < tol


def test_mams_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="upper must be one of"):
        MAMS(arms=2, arm_ratios=(1, 2), upper="wedge")
    with pytest.raises(ValueError, match="increasing"):
        MAMS(arms=2, arm_ratios=(2, 1))
    with pytest.raises(ValueError, match="upper_fixed"):
        MAMS(arms=2, arm_ratios=(1, 2), upper="fixed")
    with pytest.raises(ValueError, match="means needs 3"):
        MAMS(arms=2, arm_ratios=(1, 2)).simulate([0, 0], sd=1.0, n=10)


# ------------------------------------------------------------ arm selection
MULTIARM = REFS / "adaptive_rpact_multiarm.csv"
CASES = [
    pytest.param("dunnett_best", GSD, ArmSelection(), id="rpact-Dunnett-best"),
    pytest.param(
        "simes_epsilon",
        GSD,
        ArmSelection(rule="epsilon", epsilon=0.1, intersection="simes"),
        id="rpact-Simes-epsilon",
    ),
    pytest.param(
        "bonferroni_rbest",
        GSD,
        ArmSelection(rule="r_best", r=2, intersection="bonferroni"),
        id="rpact-Bonferroni-rBest",
    ),
    pytest.param(
        "fisher_best",
        FisherCombination(info_fractions=(0.5, 1.0), alpha=0.025),
        ArmSelection(),
        id="rpact-Fisher-best",
    ),
    pytest.param(
        "sidak_threshold",
        GSD,
        ArmSelection(rule="all", threshold=0.0, intersection="sidak", success="any"),
        id="rpact-Sidak-threshold",
    ),
]
SCENARIOS = {1: (0.0, 0.0, 0.0), 2: (0.2, 0.4, 0.6), 3: (0.0, 0.0, 0.5)}


@pytest.mark.parametrize(("case", "sequential", "rule"), CASES)
@pytest.mark.parametrize("scenario", [1, 2, 3])
def test_selection_matches_rpact_multiarm(
    case: str, sequential: object, rule: ArmSelection, scenario: int
) -> None:
    ref = pd.read_csv(MULTIARM)
    ref = ref[(ref["case"] == case) & (ref["scenario"] == scenario)]
    res = three_arms(SCENARIOS[scenario]).power(
        sequential=sequential, adaptive=rule, method="simulation", n_sims=40_000, seed=scenario
    )

    def check(ours: float, row: pd.Series) -> None:
        mcse = math.sqrt(max(ours * (1 - ours), 1e-12) / 40_000)
        assert abs(ours - row["value"]) <= 4 * math.hypot(mcse, row["mcse"]) + 1e-12, row

    check(res.any, ref[ref["quantity"] == "reject_any"].iloc[0])
    for arm, name in enumerate(res, start=1):
        row = ref[(ref["quantity"] == "reject_arm") & (ref["arm"] == arm)].iloc[0]
        check(res[name], row)
        row = ref[(ref["quantity"] == "selected_stage_2") & (ref["arm"] == arm)].iloc[0]
        check(float(res.extras["selection"][name].iloc[1]), row)
    expected = ref[ref["quantity"] == "expected_n"].iloc[0]
    assert abs(res.expected_n - expected["value"]) <= 4 * math.hypot(
        res.mcse_expected_n, expected["mcse"]
    )


@pytest.mark.parametrize(
    "rule",
    [
        ArmSelection(),
        ArmSelection(rule="epsilon", epsilon=0.2, intersection="simes"),
        ArmSelection(rule="all", threshold=0.1, intersection="bonferroni"),
    ],
)
def test_selection_controls_the_familywise_error(rule: ArmSelection) -> None:
    res = three_arms((0.0, 0.0, 0.0)).power(
        sequential=GSD, adaptive=rule, method="simulation", n_sims=40_000, seed=9
    )
    fwer = res.extras["fwer_global_null"]
    assert fwer <= 0.025 + 3 * math.sqrt(0.025 * 0.975 / 40_000)
    assert res.any == pytest.approx(fwer, abs=0.01)  # the design is itself the global null
    partial = three_arms((0.0, 0.0, 0.6)).power(
        sequential=GSD, adaptive=rule, method="simulation", n_sims=40_000, seed=10
    )
    # partial null: A and B have no effect; rejecting either is a familywise error
    false = max(partial["A vs control"], partial["B vs control"])
    assert false <= 0.025 + 3 * math.sqrt(0.025 * 0.975 / 40_000)


def test_factorial_cells_compete_with_the_reference_cell() -> None:
    design = tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(
            means={
                ("sham", "control"): 0.0,
                ("active", "control"): -3.0,
                ("sham", "MBI"): -2.0,
                ("active", "MBI"): -8.0,
            },
            sd=8.0,
        ),
        n_per_cell=60,
    )
    res = design.power(
        sequential=GSD, adaptive=ArmSelection(), method="simulation", n_sims=10_000, seed=3
    )
    assert list(res) == [
        "sham+MBI vs sham+control",
        "active+control vs sham+control",
        "active+MBI vs sham+control",
    ]
    selected = res.extras["selection"].iloc[1]
    assert selected["active+MBI vs sham+control"] > 0.9  # the combination is the best cell
    assert res["active+MBI vs sham+control"] > 0.9


def test_selection_rule_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="did you mean 'best'"):
        ArmSelection(rule="bst")
    with pytest.raises(ValueError, match="needs r"):
        ArmSelection(rule="r_best")
    with pytest.raises(TypeError, match="epsilon"):
        ArmSelection(rule="epsilon")
    with pytest.raises(ValueError, match="intersection"):
        ArmSelection(intersection="holm")
    with pytest.raises(ValueError, match="no hypotheses"):
        three_arms((0, 0, 0)).power(
            "A vs control", sequential=GSD, adaptive=ArmSelection(), method="simulation"
        )


# ------------------------------------------------------------ protocol text
def test_protocol_paragraph_states_rule_timing_and_error_control() -> None:
    design = tp.Parallel(
        arms=("control", "treatment"),
        n_per_arm=60,
        outcome=tp.Continuous(means={"control": 0.0, "treatment": -4.0}, sd=8.0),
    )
    gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    res = design.power(
        sequential=gsd,
        adaptive=tp.SampleSizeReestimation(conditional_power=0.9, max_factor=2.0),
        method="simulation",
        n_sims=5_000,
        seed=7,
    )
    text = protocol_paragraph(res, labels={"treatment vs control": "the treatment effect"})
    assert "one interim analysis, when 50% of the planned information" in text
    assert "90% conditional power" in text
    assert f"{gsd.efficacy_z[0]:.3f}, {gsd.efficacy_z[1]:.3f}" in text
    assert f"{100 * res['treatment vs control']:.1f}%" in text
    assert "the treatment effect" in text
    assert "type I error stays at 0.025" in text
    assert "median-unbiased" in text
    assert "seed 7" in text


def test_protocol_paragraph_for_arm_selection() -> None:
    res = three_arms((0.2, 0.4, 0.6)).power(
        sequential=GSD, adaptive=ArmSelection(), method="simulation", n_sims=4_000, seed=1
    )
    text = protocol_paragraph(res, software=None)
    assert "familywise error rate" in text
    assert "best arm continues" in text
    assert "trialplan" not in text
    with pytest.raises(TypeError, match="design.power"):
        protocol_paragraph(three_arms((0, 0, 0)).power())  # type: ignore[arg-type]


def test_selection_final_n_distribution_counts_every_trial() -> None:
    # Trials whose arms are all dropped stop after the interim: their N counts too.
    res = three_arms((0.0, 0.0, 0.0)).power(
        sequential=GSD,
        adaptive=ArmSelection(rule="all", threshold=0.0),
        method="simulation",
        n_sims=10_000,
        seed=8,
    )
    dist = res.n_distribution
    assert dist["probability"].sum() == pytest.approx(1.0)
    assert dist["probability_h0"].sum() == pytest.approx(1.0)
    assert float((dist["n"] * dist["probability"]).sum()) == pytest.approx(res.expected_n)
    assert dist["n"].min() == 80  # stage 1: 20 on control and on each of three arms


# ------------------------------------------- exposures for the resolved plan
def test_stage_sizes_are_cumulative_and_add_up_to_the_planned_sizes() -> None:
    # 45 per group at t = 0.5: ceil(22.5) = 23 by the interim and 45 - 23 = 22 after it
    # (rounding each stage on its own gave 23 + 23 = 46 per group, more than planned).
    res = three_arms((0.8, 0.8, 0.8), n=45).power(
        sequential=GSD, adaptive=ArmSelection(rule="all"), method="simulation", n_sims=2000, seed=1
    )
    assert res.planned_n == 4 * 45
    assert res.max_n == 4 * 45  # every arm may continue
    assert res.n_distribution["n"].min() == 4 * 23  # trials stopped at the interim


@pytest.mark.parametrize(
    ("rule", "largest"),
    [
        # 20 per group in each stage, 3 arms: 80 by the interim, then the control and the
        # arms the rule can keep (rpact's expectedNumberOfSubjects is 120 for "best")
        (ArmSelection(), 80 + 40),
        (ArmSelection(rule="r_best", r=2), 80 + 60),
        (ArmSelection(rule="epsilon", epsilon=0.1), 80 + 80),
        (ArmSelection(rule="all", threshold=0.0), 80 + 80),
    ],
)
def test_largest_total_follows_the_rule(rule: ArmSelection, largest: int) -> None:
    res = three_arms((0.2, 0.4, 0.6)).power(
        sequential=GSD, adaptive=rule, method="simulation", n_sims=1000, seed=2
    )
    assert res.max_n == largest
    assert res.n_distribution["n"].max() <= largest


def test_familywise_error_under_a_partial_null_counts_the_null_arms() -> None:
    res = three_arms((0.0, 0.0, 0.6)).power(
        sequential=GSD, adaptive=ArmSelection(), method="simulation", n_sims=20_000, seed=11
    )
    extras = res.extras
    assert extras["fwer_true_nulls"] == ["A vs control", "B vs control"]
    false = [res["A vs control"], res["B vs control"]]
    # the union of two rejection events: at least the larger, at most the sum
    assert max(false) <= extras["fwer"] <= sum(false) + 1e-12
    assert extras["fwer"] <= 0.025 + 3 * extras["mcse_fwer"]
    # the global null is reported as fwer_global_null
    null = three_arms((0.0, 0.0, 0.0)).power(
        sequential=GSD, adaptive=ArmSelection(), method="simulation", n_sims=500, seed=1
    )
    assert "fwer" not in null.extras
    assert "fwer_global_null" in null.extras


def test_end_states_agree_with_the_selection_tally() -> None:
    res = three_arms((0.2, 0.4, 0.6)).power(
        sequential=GSD, adaptive=ArmSelection(), method="simulation", n_sims=10_000, seed=12
    )
    ends = res.extras["end_states"]
    assert ends["probability"].sum() == pytest.approx(1.0)
    assert ends["probability_h0"].sum() == pytest.approx(1.0)
    second = ends[ends["stage"] == 2]
    assert all(len(arms) == 1 for arms in second["arms"])  # "best": one arm continues
    selected = res.extras["selection"].loc[2]
    for name in res:
        kept = second[[name in arms for arms in second["arms"]]]["probability"].sum()
        assert kept == pytest.approx(selected[name], abs=1e-12)
    first = ends[ends["stage"] == 1]
    stages = res.stages.set_index("stage")
    stopped = stages.loc[1, "stop_efficacy"] + stages.loc[1, "stop_futility"]
    assert first["probability"].sum() == pytest.approx(stopped, abs=1e-12)


def test_selection_at_one_chosen_look() -> None:
    gsd = tp.GroupSequential(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025)
    rule = ArmSelection(selection_look=2)
    res = three_arms((0.2, 0.4, 0.6), n=60).power(
        sequential=gsd, adaptive=rule, method="simulation", n_sims=5000, seed=3
    )
    selection = res.extras["selection"]
    reached = res.stages.set_index("stage")["reached"]
    # nothing is dropped at the first interim: every arm is in stage 2 of every trial there
    for name in res:
        assert selection.loc[2, name] == pytest.approx(reached[2], abs=1e-12)
    # "best" at the second interim: one arm in stage 3
    assert selection.loc[3].sum() == pytest.approx(reached[3], abs=1e-12)
    # the largest trial: all four groups for two stages (20 each), then two groups
    assert res.max_n == 4 * 40 + 2 * 20
    assert "At interim analysis 2 the best arm" in rule.describe()


def test_threshold_and_rule_options_are_checked() -> None:
    assert ArmSelection(threshold=-math.inf) == ArmSelection()
    assert ArmSelection().threshold is None
    with pytest.raises(ValueError, match="r applies to rule='r_best' only"):
        ArmSelection(rule="best", r=2)
    with pytest.raises(ValueError, match="epsilon applies"):
        ArmSelection(epsilon=1.0)
    with pytest.raises(ValueError, match="threshold must be a finite"):
        ArmSelection(rule="all", threshold=math.nan)
    with pytest.raises(ValueError, match="selection_look"):
        ArmSelection(selection_look=0)
