"""Cell selection of a factorial through the one resolved plan (issue 17 items 4-5).

A factorial whose cells compete against the reference cell (every factor at
its first level) is a multi-arm trial with the reference cell as control; the
plan resolves it as that Parallel design.  Checked here:

- equality, number for number, with the plan of the hand-built equivalent
  ``tp.Parallel`` (written out below, not made by the code under test), the
  same seed;
- agreement of the simulated per-comparison power (and the power to reject at
  least one, the familywise error under the global null, the expected N)
  with the independent design-level engine,
  ``factorial.power(sequential=gsd, adaptive=ArmSelection(...),
  method="simulation")``, a different seed, within 4 combined Monte Carlo
  standard errors sqrt(mcse_a^2 + mcse_b^2), and with the independent
  trial-by-trial simulation tests/references/arm_selection_factorial_bruteforce.py
  (numpy only) -> .csv: about 35 comparisons, so a correct implementation
  fails one with probability about 0.2%;
- the spec (round trip byte for byte, ``trialplan check / power / protocol /
  randomize``) and the protocol, whose numbers are parsed back by the
  consistency check of tests/test_examples.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from test_examples import check_consistency

import trialplan as tp
from trialplan.adaptive import ArmSelection
from trialplan.cli import main as cli
from trialplan.spec import Spec, SpecError, spec_from_toml, spec_to_toml

GSD = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
# planning means (HAMD change, lower is better): synergy in the active+MBI cell
MEANS = {
    ("sham", "control"): 0.0,
    ("sham", "MBI"): -2.0,
    ("active", "control"): -3.0,
    ("active", "MBI"): -5.0,
}
NAMES = [
    "sham+MBI vs sham+control",
    "active+control vs sham+control",
    "active+MBI vs sham+control",
]
WORDS = {
    "sham+control": "sham rTMS + no MBI",
    "sham+MBI": "sham rTMS + MBI",
    "active+control": "active rTMS + no MBI",
    "active+MBI": "active rTMS + MBI",
}


def factorial(n=60, dropout=0.1, means=MEANS) -> tp.Factorial:
    return tp.Factorial(
        factors=FACTORS,
        outcome=tp.Continuous(means=means, sd=8.0),
        n_per_cell=n,
        dropout=dropout,
        alpha=0.025,
        sided=1,
    )


def close(a: float, se_a: float, b: float, se_b: float, k: float = 4.0) -> bool:
    return abs(a - b) <= k * math.sqrt(se_a**2 + se_b**2) + 1e-12


# ------------------------------------------------ equal to the hand-built Parallel plan
def test_plan_equals_the_hand_built_parallel_plan() -> None:
    rule = ArmSelection(rule="epsilon", epsilon=1.0, intersection="simes")
    n = {("sham", "control"): 70, ("sham", "MBI"): 35, ("active", "control"): 35}
    n[("active", "MBI")] = 35
    design = factorial(n=n, dropout=0.1)
    plan = tp.plan(design, sequential=GSD, adaptive=rule, n_sims=3000, seed=11)
    # written out by hand: the cells in the factorial's order, the reference cell as control
    arms = tp.Parallel(
        arms=("sham+control", "sham+MBI", "active+control", "active+MBI"),
        outcome=tp.Continuous(
            means={
                "sham+control": 0.0,
                "sham+MBI": -2.0,
                "active+control": -3.0,
                "active+MBI": -5.0,
            },
            sd=8.0,
        ),
        n_per_arm={"sham+control": 70, "sham+MBI": 35, "active+control": 35, "active+MBI": 35},
        control="sham+control",
        dropout=0.1,
        alpha=0.025,
        sided=1,
    )
    hand = tp.plan(
        arms, sequential=GSD, adaptive=rule, n_sims=3000, seed=11, labels=tp.Labels(arms=WORDS)
    )
    assert plan.selects_arms
    assert plan.primary == tuple(NAMES) == hand.primary
    assert plan.hypotheses == hand.hypotheses
    assert plan.design == hand.design
    assert plan.allocation == hand.allocation
    assert dict(plan.primary_power) == dict(hand.primary_power)
    assert plan.cell_labels() == hand.cell_labels() == list(WORDS.values())
    pd.testing.assert_frame_equal(plan.power_table, hand.power_table)
    pd.testing.assert_frame_equal(plan.selection_table(), hand.selection_table())
    pd.testing.assert_frame_equal(
        plan.operating_characteristics(), hand.operating_characteristics()
    )
    pd.testing.assert_frame_equal(plan.looks(), hand.looks())
    pd.testing.assert_frame_equal(plan.stages(), hand.stages())
    pd.testing.assert_frame_equal(plan.stage_lists(), hand.stage_lists())
    mine, theirs = plan.selection_schedules(), hand.selection_schedules()
    assert list(mine) == list(theirs)
    assert len(mine) == 1 + 7  # stage 1, and with epsilon any of the 7 non-empty sets of 3 cells
    for name in mine:
        pd.testing.assert_frame_equal(mine[name].to_frame(), theirs[name].to_frame())
    assert plan.familywise() == hand.familywise()
    # the factorial is kept for the wording: the stated design and the cells as analysed
    assert plan.stated is design
    assert plan.factorial == design.with_cell_sizes(list(plan.allocation.analysed))
    assert plan.describe().startswith("Factorial 2x2 (rTMS x MBI), its 4 cells as arms vs")


def test_sizing_is_the_hand_built_parallel_sizing_written_as_the_factorial() -> None:
    design = factorial(n=10, dropout=0.0)
    plan = tp.plan(design, power=0.8, sequential=GSD, adaptive=ArmSelection(), n_sims=2000)
    arms = tp.Parallel(
        arms=tuple(WORDS),
        outcome=tp.Continuous(
            means={
                "sham+control": 0.0,
                "sham+MBI": -2.0,
                "active+control": -3.0,
                "active+MBI": -5.0,
            },
            sd=8.0,
        ),
        n_per_arm=10,
        alpha=0.025,
        sided=1,
    )
    hand = tp.plan(arms, power=0.8, sequential=GSD, adaptive=ArmSelection(), n_sims=2000)
    assert plan.sizing.power == hand.sizing.power >= 0.8
    assert isinstance(plan.sizing.design, tp.Factorial)
    assert list(plan.sizing.design.n_array) == list(hand.sizing.design.n_array)
    assert plan.allocation == hand.allocation


# ------------------------------------------- agreement with the design-level engine
@pytest.mark.parametrize(
    ("rule", "means"),
    [
        (ArmSelection(), MEANS),
        (
            ArmSelection(rule="r_best", r=2, intersection="bonferroni"),
            {**MEANS, ("sham", "MBI"): 0.0},  # a partial null: MBI alone does nothing
        ),
    ],
)
def test_plan_agrees_with_the_design_level_engine(rule: ArmSelection, means) -> None:
    n_sims = 20_000
    design = factorial(n=60, dropout=0.0, means=means)
    plan = tp.plan(design, sequential=GSD, adaptive=rule, n_sims=n_sims, seed=5)
    engine = design.power(sequential=GSD, adaptive=rule, method="simulation", n_sims=n_sims, seed=6)
    assert list(engine) == NAMES  # the engine names the comparisons as the plan does
    result = plan.adaptive_result
    table = plan.selection_table().set_index("hypothesis")
    for name in NAMES:
        assert close(table.loc[name, "power"], table.loc[name, "mcse"], engine[name],
                     engine.mcse[name]), name  # fmt: skip
        assert close(result.type_i_error[name], result.mcse_type_i_error[name],
                     engine.type_i_error[name], engine.mcse_type_i_error[name]), name  # fmt: skip
    extras, other = result.extras, engine.extras
    assert close(extras["any"], extras["mcse_any"], other["any"], other["mcse_any"])
    assert close(
        extras["fwer_global_null"],
        extras["mcse_fwer_global_null"],
        other["fwer_global_null"],
        other["mcse_fwer_global_null"],
    )
    assert close(result.expected_n, result.mcse_expected_n, engine.expected_n,
                 engine.mcse_expected_n)  # fmt: skip
    if "fwer" in other:
        assert close(extras["fwer"], extras["mcse_fwer"], other["fwer"], other["mcse_fwer"])
    # familywise error with no effect: within 3 MCSE of alpha or below
    assert extras["fwer_global_null"] <= 0.025 + 3 * extras["mcse_fwer_global_null"]


BRUTE = Path(__file__).parent / "references" / "arm_selection_factorial_bruteforce.csv"


@pytest.mark.parametrize("scenario", ["planned", "global_null"])
def test_plan_agrees_with_the_bruteforce_simulation(scenario: str) -> None:
    # tests/references/arm_selection_factorial_bruteforce.py: trial by trial, numpy only
    ref = pd.read_csv(BRUTE)
    ref = ref[ref["scenario"] == scenario]
    assert len(ref) == 8
    means = MEANS if scenario == "planned" else dict.fromkeys(MEANS, 0.0)
    n_sims = 20_000
    plan = tp.plan(
        factorial(n=80, dropout=0.0, means=means),
        sequential=GSD,
        adaptive=ArmSelection(),
        n_sims=n_sims,
        seed=5,
    )
    table = plan.selection_table().set_index("hypothesis")
    result = plan.adaptive_result
    for _, row in ref.iterrows():
        value, mcse = float(row["value"]), float(row["mcse"])
        name = f"{row['arm']} vs sham+control"
        if row["quantity"] == "reject_arm":
            mine, se = table.loc[name, "power"], table.loc[name, "mcse"]
        elif row["quantity"] == "selected_stage_2":
            mine = table.loc[name, "selected"]
            se = math.sqrt(mine * (1 - mine) / n_sims)
        elif row["quantity"] == "reject_any":
            mine, se = result.extras["any"], result.extras["mcse_any"]
        else:
            assert row["quantity"] == "expected_n"
            mine, se = result.expected_n, result.mcse_expected_n
        assert close(mine, se, value, mcse), (row["quantity"], row["arm"], mine, value)


def test_binary_factorial_agrees_with_the_design_level_engine() -> None:
    rates = {
        ("sham", "control"): 0.2,
        ("sham", "MBI"): 0.25,
        ("active", "control"): 0.3,
        ("active", "MBI"): 0.45,
    }
    design = tp.Factorial(
        factors=FACTORS,
        outcome=tp.Binary(rates=rates),
        n_per_cell=80,
        alpha=0.025,
        sided=1,
    )
    plan = tp.plan(design, sequential=GSD, adaptive=ArmSelection(), n_sims=10_000, seed=3)
    engine = design.power(
        sequential=GSD, adaptive=ArmSelection(), method="simulation", n_sims=10_000, seed=4
    )
    table = plan.selection_table().set_index("hypothesis")
    for name in NAMES:
        assert close(table.loc[name, "power"], table.loc[name, "mcse"], engine[name],
                     engine.mcse[name]), name  # fmt: skip
    assert dict(plan.design.outcome.rates)["active+MBI"] == 0.45


# ------------------------------------------------------------------- refusals
def test_plan_refuses_what_the_conversion_cannot_carry() -> None:
    clustered = factorial().replace(clusters=tp.Clustering(factor="MBI", icc=0.05, group_size=8))
    with pytest.raises(ValueError, match="clusters="):
        tp.plan(clustered, sequential=GSD, adaptive=ArmSelection())
    with pytest.raises(ValueError, match="its main effects and interactions are not tested"):
        tp.plan(factorial(), sequential=GSD, adaptive=ArmSelection(), hypotheses=["rTMS:MBI"])
    with pytest.raises(ValueError, match="every comparison with the control"):
        tp.plan(factorial(), sequential=GSD, adaptive=ArmSelection(), primary="rTMS:MBI")
    covariate = factorial().replace(outcome=tp.Continuous(means=MEANS, sd=8.0, baseline_corr=0.5))
    with pytest.raises(ValueError, match="baseline_corr=0"):
        tp.plan(covariate, sequential=GSD, adaptive=ArmSelection())
    # a further pairwise comparison of cells may be reported beside the family
    plan = tp.plan(
        factorial(),
        sequential=GSD,
        adaptive=ArmSelection(),
        hypotheses=["active+MBI vs sham+MBI"],
        n_sims=500,
    )
    assert plan.hypotheses == (*NAMES, "active+MBI vs sham+MBI")
    assert plan.analysis_of("active+MBI vs sham+MBI") == "single"


# ----------------------------------------------------------------------- spec
def spec() -> Spec:
    return Spec(design=factorial(), sequential=GSD, adaptive=ArmSelection(), size="fixed")


def test_spec_round_trip_and_evaluation() -> None:
    text = spec_to_toml(spec())
    assert 'type = "factorial"' in text
    assert '[adaptive]\ntype = "arm_selection"' in text
    back = spec_from_toml(text)
    assert back == spec()
    assert spec_to_toml(back) == text
    assert back.primary == tuple(NAMES)  # the family of the cells, under [analysis]
    plan = back.replace(n_sims=500).evaluate()
    assert plan.selects_arms
    assert plan.factorial is not None
    with pytest.raises(ValueError, match="main effects and interactions are not tested"):
        spec().replace(hypotheses=("rTMS:MBI",))
    with pytest.raises(SpecError, match=r"^analysis\.hypotheses:.*are not tested"):
        spec_from_toml(text.replace("[analysis]\n", '[analysis]\nhypotheses = ["rTMS:MBI"]\n'))


def test_cli_check_power_protocol_randomize(tmp_path: Path, capsys) -> None:
    path = tmp_path / "trial.toml"
    path.write_text(spec_to_toml(spec().replace(n_sims=1000)), encoding="utf-8")
    assert cli(["check", str(path)]) == 0
    assert cli(["power", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "Factorial 2x2 (rTMS x MBI), its 4 cells as arms vs sham+control" in shown
    assert "arm selection (1000 simulated trials" in shown
    out = tmp_path / "out"
    assert cli(["protocol", str(path), "-o", str(out), "--format", "md", "--no-figures"]) == 0
    assert cli(["randomize", str(path), "-o", str(out / "schedule.csv")]) == 0
    md = (out / "protocol.md").read_text(encoding="utf-8")
    # the protocol says plainly what is tested under selection
    assert "The trial is a 2x2 factorial trial randomizing participants to the four cells" in md
    assert (
        "are compared at the interim as the arms of a multi-arm trial: each other cell is "
        "compared with the reference cell, sham rTMS + no MBI (every factor at its first level)"
        in " ".join(md.split())
    )
    assert "main-effect and interaction analyses are not part of the tested family" in md
    # every number of the protocol parsed back against the plan and the lists
    check_consistency(out)
    # the spec copy written beside the protocol reads back to the same spec
    copy = spec_from_toml((out / "trial.toml").read_text(encoding="utf-8"))
    assert copy == spec().replace(n_sims=1000)


def test_protocol_of_a_plan_made_from_the_design() -> None:
    from trialplan.report.protocol import make_protocol

    plan = tp.plan(factorial(), sequential=GSD, adaptive=ArmSelection(), n_sims=500, seed=2)
    protocol = make_protocol(plan, figures=False)
    # its spec copy is the factorial's, with the family of the cells as primary
    assert protocol.spec.design == factorial()
    assert protocol.spec.primary == tuple(NAMES)
    assert "the cells of the 2x2 factorial as arms" in protocol.to_markdown()
