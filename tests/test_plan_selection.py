"""Arm selection at an interim through the one resolved plan (issue 17 items 4-5).

References:
- tests/references/arm_selection_bruteforce.py -> .csv: an independent
  trial-by-trial simulation (numpy and the standard library only) of the timing
  arms with "best" selection, Dunnett or Simes intersection tests, closed testing
  and the inverse normal combination;
- rpact 3.3.4 getSimulationMultiArmMeans (tests/references/adaptive_rpact_multiarm.R
  -> .csv, committed by the adaptive engineer), reached here through ``tp.plan``.

Simulated quantities are compared within 4 combined Monte Carlo standard errors,
sqrt(mcse_a^2 + mcse_b^2): about 30 comparisons per reference file, so a
correct implementation fails one with probability about 0.2%.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import trialplan as tp
from trialplan.adaptive import ArmSelection
from trialplan.cli import main as cli
from trialplan.spec import Spec, SpecError, spec_from_toml, spec_to_toml

REFS = Path(__file__).parent / "references"
ARMS = ("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI")
NAMES = [f"{arm} vs rTMS alone" for arm in ARMS[1:]]
GSD = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)


def timing(means=(-10.0, -12.0, -14.0), n=80, dropout=0.0) -> tp.Parallel:
    return tp.Parallel(
        arms=ARMS,
        outcome=tp.Continuous(means=dict(zip(ARMS, means, strict=True)), sd=8.0),
        n_per_arm=n,
        dropout=dropout,
        alpha=0.025,
        sided=1,
    )


def close(a: float, se_a: float, b: float, se_b: float, k: float = 4.0) -> bool:
    return abs(a - b) <= k * math.sqrt(se_a**2 + se_b**2) + 1e-12


def binomial(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 0.0) / n)


@pytest.fixture(scope="module")
def planned() -> tp.TrialPlan:
    return tp.plan(timing(dropout=0.1), sequential=GSD, adaptive=ArmSelection(), n_sims=10_000)


# ----------------------------------------------------- independent references
BRUTE = REFS / "arm_selection_bruteforce.csv"
SCENARIOS = {
    "planned": (-10.0, -12.0, -14.0),
    "global_null": (-10.0, -10.0, -10.0),
    "partial_null": (-10.0, -10.0, -14.0),
}
RULES = {"dunnett_best": ArmSelection(), "simes_best": ArmSelection(intersection="simes")}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("case", list(RULES))
def test_plan_agrees_with_the_bruteforce_simulation(case: str, scenario: str) -> None:
    ref = pd.read_csv(BRUTE)
    ref = ref[(ref["case"] == case) & (ref["scenario"] == scenario)]
    assert len(ref) >= 6
    n_sims = 20_000
    plan = tp.plan(
        timing(SCENARIOS[scenario]), sequential=GSD, adaptive=RULES[case], n_sims=n_sims, seed=5
    )
    result = plan.adaptive_result
    table = plan.selection_table().set_index("hypothesis")
    checked = 0
    for _, row in ref.iterrows():
        value, mcse = float(row["value"]), float(row["mcse"])
        if row["quantity"] in ("reject_arm", "selected_stage_2"):
            name = f"{row['arm']} vs rTMS alone"
            if row["quantity"] == "reject_arm":
                mine, se = table.loc[name, "power"], table.loc[name, "mcse"]
                assert plan.primary_power[name] == mine
            else:
                mine = table.loc[name, "selected"]
                se = binomial(mine, n_sims)
        elif row["quantity"] == "reject_any":
            mine, se = plan.familywise()["any"], result.extras["mcse_any"]
        elif row["quantity"] == "fwer" and scenario == "global_null":
            # every arm null at the planning values: any rejection is a false one
            mine, se = result.extras["any"], result.extras["mcse_any"]
        elif row["quantity"] == "fwer":
            mine, se = result.extras["fwer"], result.extras["mcse_fwer"]
        elif row["quantity"] == "expected_n":
            mine, se = result.expected_n, result.mcse_expected_n
        else:  # pragma: no cover - a quantity the reference adds later
            continue
        checked += 1
        assert close(mine, se, value, mcse), (row["quantity"], row["arm"], mine, value)
    assert checked == len(ref)


RPACT = REFS / "adaptive_rpact_multiarm.csv"
RPACT_RULES = {
    "dunnett_best": ArmSelection(),
    "simes_epsilon": ArmSelection(rule="epsilon", epsilon=0.1, intersection="simes"),
    "bonferroni_rbest": ArmSelection(rule="r_best", r=2, intersection="bonferroni"),
}
RPACT_EFFECTS = {1: (0.0, 0.0, 0.0), 2: (0.2, 0.4, 0.6), 3: (0.0, 0.0, 0.5)}


@pytest.mark.parametrize("scenario", [2, 3])
@pytest.mark.parametrize("case", list(RPACT_RULES))
def test_plan_agrees_with_rpact_multiarm(case: str, scenario: int) -> None:
    # rpact: plannedSubjects = c(20, 40) per group, stDev = 1, asOF bounds, one-sided 2.5%
    arms = ("control", "A", "B", "C")
    means = dict(zip(arms, (0.0, *RPACT_EFFECTS[scenario]), strict=True))
    design = tp.Parallel(
        arms=arms,
        outcome=tp.Continuous(means=means, sd=1.0, better="higher"),
        n_per_arm=40,
        alpha=0.025,
        sided=1,
    )
    plan = tp.plan(design, sequential=GSD, adaptive=RPACT_RULES[case], n_sims=20_000, seed=9)
    assert plan.allocation.analysed == (40, 40, 40, 40)
    ref = pd.read_csv(RPACT)
    ref = ref[(ref["case"] == case) & (ref["scenario"] == scenario)]
    table = plan.selection_table().set_index("hypothesis")
    result = plan.adaptive_result
    checked = 0
    for _, row in ref.iterrows():
        value, mcse = float(row["value"]), float(row["mcse"])
        if row["quantity"] == "reject_arm":
            name = f"{arms[int(row['arm'])]} vs control"
            mine, se = table.loc[name, "power"], table.loc[name, "mcse"]
        elif row["quantity"] == "selected_stage_2":
            name = f"{arms[int(row['arm'])]} vs control"
            mine = table.loc[name, "selected"]
            se = binomial(mine, 20_000)
        elif row["quantity"] == "reject_any":
            mine, se = result.extras["any"], result.extras["mcse_any"]
        elif row["quantity"] == "expected_n":
            mine, se = result.expected_n, result.mcse_expected_n
        else:
            continue
        checked += 1
        assert close(mine, se, value, mcse), (case, row["quantity"], row["arm"], mine, value)
    assert checked >= 8


# ----------------------------------------------------- one plan, one number
def test_every_table_states_the_same_power(planned: tp.TrialPlan) -> None:
    assert planned.selects_arms
    assert planned.primary == tuple(NAMES)
    assert [planned.analysis_of(h) for h in NAMES] == ["arm selection"] * 2
    table = planned.power_table.set_index("hypothesis")
    selection = planned.selection_table().set_index("hypothesis")
    sensitivity = planned.sensitivity
    row = sensitivity[sensitivity["planned"]]
    assert len(row) == 1
    curve = planned.curve(points=5)
    at_plan = curve[curve["n_randomized"] == planned.allocation.n_randomized]
    for name in NAMES:
        value = planned.primary_power[name]
        assert value == float(planned.adaptive_result[name])
        assert table.loc[name, "power"] == value
        assert selection.loc[name, "power"] == value
        assert float(row[f"power: {name}"].iloc[0]) == value
        assert float(at_plan[at_plan["hypothesis"] == name]["power"].iloc[0]) == value
    oc = planned.operating_characteristics().set_index("scenario")
    assert oc.loc["planned", "reject_any"] == planned.familywise()["any"]
    assert oc.loc["null", "reject_any"] == planned.adaptive_result.extras["fwer_global_null"]
    # the best arm's power and the selection probabilities are the simulation's
    assert oc.loc["planned", "best"] == NAMES[1]
    assert oc.loc["planned", "reject_best"] == planned.primary_power[NAMES[1]]
    assert selection["selected"].sum() <= 1.0 + 1e-12  # "best": one arm continues
    # familywise error with no effect: within 3 MCSE of alpha or below
    null = oc.loc["null"]
    assert null["reject_any"] <= 0.025 + 3 * null["reject_any_mcse"]


def test_stages_largest_trial_and_lists(planned: tp.TrialPlan) -> None:
    alloc = planned.allocation
    assert alloc.analysed == (80, 80, 80)
    assert alloc.randomized == (89, 89, 89)
    stages = planned.stages()
    assert stages[stages["look"] == 2]["planned"].tolist() == list(alloc.analysed)
    assert stages[stages["look"] == 1]["planned"].tolist() == [40, 40, 40]
    looks = planned.looks()
    # every arm to the interim, then the control and one arm
    assert looks["n_largest"].tolist() == [120, 200]
    assert looks["n_analysed"].tolist() == [120, 240]
    assert planned.adaptive_result.max_n == 200
    assert looks["efficacy_z"].round(3).tolist() == [2.963, 1.969]  # rpact 3.3.4 asOF
    lists = planned.stage_lists()
    first = lists[lists["stage"] == 1]
    assert first["randomized"].tolist() == [45, 45, 45]  # 40 analysed at 10% dropout
    assert planned.list_allocation.randomized == (45, 45, 45)
    second = lists[lists["stage"] == 2]
    assert second["list"].nunique() == 2  # one per arm "best" can keep
    assert set(second["randomized"]) == {44}  # 89 - 45 for the control and the arm kept
    schedules = planned.selection_schedules()
    assert list(schedules) == [
        "stage 1",
        "stage 2: rTMS alone + MBI then rTMS",
        "stage 2: rTMS alone + rTMS with concurrent MBI",
    ]
    assert schedules["stage 1"].to_frame().groupby("arm").size().tolist() == [45, 45, 45]
    later = schedules["stage 2: rTMS alone + MBI then rTMS"].to_frame()
    assert later.groupby("arm").size().to_dict() == {"MBI then rTMS": 44, "rTMS alone": 44}
    assert planned.schedule().to_frame().equals(schedules["stage 1"].to_frame())


def test_lists_per_stratum_and_for_rules_that_keep_several_arms() -> None:
    plan = tp.plan(
        timing(n=60),
        sequential=GSD,
        adaptive=ArmSelection(rule="all", threshold=0.0),
        randomization=tp.spec.RandomizationPlan(strata={"site": ("A", "B")}),
        n_sims=2000,
    )
    lists = plan.stage_lists()
    # "all" with a threshold: any non-empty set of arms may continue
    assert lists[lists["stage"] == 2]["list"].nunique() == 3
    for name, schedule in plan.selection_schedules().items():
        frame = schedule.to_frame()
        want = lists[lists["list"] == name].set_index("cell")["randomized"].to_dict()
        for _, stratum in frame.groupby("site"):
            assert stratum.groupby("arm").size().to_dict() == want, name


def test_selection_at_a_chosen_interim_of_three_looks() -> None:
    three = tp.GroupSequential(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025)
    plan = tp.plan(
        timing(n=90), sequential=three, adaptive=ArmSelection(selection_look=2), n_sims=2000
    )
    looks = plan.looks()
    # every arm through interim 2 (30 and 60 per arm), then the control and one arm
    assert looks["n_analysed"].tolist() == [90, 180, 270]
    assert looks["n_largest"].tolist() == [90, 180, 240]
    assert plan.adaptive_result.max_n == 240
    lists = plan.stage_lists()
    assert lists[lists["stage"] == 1]["randomized"].tolist() == [60, 60, 60]
    assert set(lists[lists["stage"] == 2]["randomized"]) == {30}
    selected = plan.selection_table()["selected"]
    reached = plan.adaptive_result.stages.set_index("stage")["reached"]
    assert float(selected.sum()) == pytest.approx(reached[3], abs=1e-12)


def test_size_is_the_smallest_that_rejects_at_least_one_comparison() -> None:
    design = timing(n=10)
    plan = tp.plan(design, power=0.8, sequential=GSD, adaptive=ArmSelection(), n_sims=4000)
    n = plan.sizing.design.n_array
    assert plan.familywise()["any"] >= 0.8
    assert plan.sizing.power >= 0.8
    smaller = design.with_cell_sizes([int(v) - 1 for v in n])
    fewer = smaller.power(
        sequential=GSD, adaptive=ArmSelection(), method="simulation", n_sims=4000, seed=2026
    )
    assert fewer.extras["any"] < 0.8
    assert "at least one comparison" in repr(plan)


# ------------------------------------------------------------------ refusals
def test_plan_refuses_what_it_cannot_resolve() -> None:
    design = timing()
    with pytest.raises(ValueError, match="needs sequential="):
        tp.plan(design, adaptive=ArmSelection())
    with pytest.raises(ValueError, match="one-sided"):
        tp.plan(
            design.replace(alpha=0.05, sided=2),
            sequential=tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.05, sided=2),
            adaptive=ArmSelection(),
        )
    with pytest.raises(ValueError, match="multiplicity"):
        tp.plan(design, sequential=GSD, adaptive=ArmSelection(), multiplicity=tp.Holm(NAMES))
    with pytest.raises(ValueError, match="every comparison with the control"):
        tp.plan(design, sequential=GSD, adaptive=ArmSelection(), primary=NAMES[0])
    with pytest.raises(ValueError, match="selection_look=2 must be an interim"):
        tp.plan(design, sequential=GSD, adaptive=ArmSelection(selection_look=2))
    three = tp.GroupSequential(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025)
    with pytest.raises(ValueError, match="give selection_look"):
        tp.plan(design, sequential=three, adaptive=ArmSelection())
    # a factorial's cells are resolved as arms (tests/test_plan_selection_factorial.py);
    # a SMART has no arms to select
    smart = tp.SMART(
        stage1=("rTMS", "rTMS+MBI"),
        stage2=("continue", "augment"),
        response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
        responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        nonresponder_mean={
            ("rTMS", "continue"): -4.0,
            ("rTMS", "augment"): -6.0,
            ("rTMS+MBI", "continue"): -6.0,
            ("rTMS+MBI", "augment"): -9.0,
        },
        sd=8.0,
        n_total=200,
        alpha=0.025,
        sided=1,
    )
    with pytest.raises(TypeError, match="tp.Parallel design with a control"):
        tp.plan(smart, sequential=GSD, adaptive=ArmSelection())
    two = tp.Parallel(
        arms=("a", "b"), outcome=tp.Continuous(means={"a": 0.0, "b": 1.0}, sd=1.0), n_per_arm=20
    )
    with pytest.raises(ValueError, match="at least two arms besides the control"):
        tp.plan(two.replace(alpha=0.025, sided=1), sequential=GSD, adaptive=ArmSelection())


# ---------------------------------------------------------------------- spec
def spec() -> Spec:
    return Spec(design=timing(), sequential=GSD, adaptive=ArmSelection(), size="fixed")


def test_spec_writes_reads_and_evaluates_arm_selection() -> None:
    text = spec_to_toml(spec())
    assert '[adaptive]\ntype = "arm_selection"\nrule = "best"' in text
    back = spec_from_toml(text)
    assert back == spec()
    assert spec_to_toml(back) == text
    assert back.primary == tuple(NAMES)  # the family, written under [analysis]
    plan = back.evaluate()
    assert plan.selects_arms
    assert plan.primary == tuple(NAMES)


@pytest.mark.parametrize(
    ("insert", "key", "message"),
    [
        ('rule = "bestest"', "adaptive.rule", "must be one of"),
        ('rule = "best"\nr = 2', "adaptive.r", "applies to rule='r_best' only"),
        ('rule = "best"\nselection_look = 2', "adaptive.selection_look", "must be an interim"),
        ('rule = "best"\nintersection = "holm"', "adaptive.intersection", "must be one of"),
        ('rule = "epsilon"', "adaptive.epsilon", "needs a number epsilon"),
    ],
)
def test_spec_errors_name_the_key_and_line(insert: str, key: str, message: str) -> None:
    text = spec_to_toml(spec()).replace('rule = "best"', insert)
    text = text.replace('intersection = "dunnett"\n', "", 1) if "holm" in insert else text
    with pytest.raises(SpecError) as info:
        spec_from_toml(text, source="trial.toml")
    shown = str(info.value)
    assert shown.startswith(f"{key}:"), shown
    assert message in shown
    assert "(trial.toml, line " in shown


def test_cli_randomize_writes_the_stage_lists(tmp_path: Path) -> None:
    path = tmp_path / "trial.toml"
    path.write_text(spec_to_toml(spec().replace(n_sims=1000)), encoding="utf-8")
    out = tmp_path / "schedule.csv"
    assert cli(["randomize", str(path), "-o", str(out)]) == 0
    plan = spec().replace(n_sims=1000).evaluate()
    first = pd.read_csv(out, comment="#")
    assert len(first) == plan.list_allocation.n_randomized == 120
    for i, name in enumerate(["MBI then rTMS", "rTMS with concurrent MBI"], start=1):
        later = pd.read_csv(tmp_path / f"schedule-stage2-{i}.csv", comment="#")
        assert later.groupby("arm").size().to_dict() == {name: 40, "rTMS alone": 40}
    # a second run replaces nothing without --force
    (tmp_path / "schedule.csv").unlink()
    assert cli(["randomize", str(path), "-o", str(out)]) != 0
    assert not out.exists()
    assert cli(["randomize", str(path), "-o", str(out), "--force"]) == 0


def test_cli_power_and_sample_size_word_the_selection_design(tmp_path: Path, capsys) -> None:
    path = tmp_path / "trial.toml"
    path.write_text(spec_to_toml(spec().replace(n_sims=1000)), encoding="utf-8")
    assert cli(["power", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "arm selection (1000 simulated trials" in shown
    assert "stage-1 list 120 randomized" in shown
    assert cli(["sample-size", str(path), "--power", "0.8", "--write"]) == 0
    shown = capsys.readouterr().out
    assert "power to reject at least one comparison reaches the target" in shown
    written = spec_from_toml(path.read_text(encoding="utf-8"))
    assert written.size == "fixed"
    plan = written.evaluate()
    assert plan.familywise()["any"] >= 0.8
    assert plan.allocation.analysed == tuple(int(n) for n in written.design.n_array)
