"""Adaptive designs through the one resolved plan (issue 17 item 5).

Expected values are hand arithmetic from the stated sizes and rules (cited in
each test), published bounds (rpact), or independent simulation with its
Monte Carlo standard error; never the plan's own output pasted in.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import trialplan as tp

FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
MEANS = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}
GSD = tp.GroupSequential(
    info_fractions=(0.6, 1.0), alpha=0.025, sided=1, efficacy=tp.spending.obrien_fleming()
)


def factorial(n=50, **changes):
    design = tp.Factorial(
        factors=FACTORS,
        outcome=tp.Continuous(means=MEANS, sd=8.0),
        n_per_cell=n,
        alpha=0.025,
        sided=1,
    )
    return design.replace(**changes) if changes else design


# ------------------------------------------------------------ engine rounding
def test_planned_stages_add_up_to_the_planned_sizes():
    # 337 and 254 per cell at t = 0.6: 0.6 x 337 = 202.2 -> 203 at the interim, so the
    # planned second stage is 337 - 203 = 134 (rounding each stage on its own gave 135,
    # a planned total of 338 per cell that the randomization list did not hold).
    n = {
        ("sham", "control"): 337,
        ("active", "control"): 337,
        ("sham", "MBI"): 254,
        ("active", "MBI"): 254,
    }
    design = factorial(n)
    rule = tp.SampleSizeReestimation(conditional_power=0.9, min_factor=1.0, max_factor=2.0)
    res = design.power(sequential=GSD, adaptive=rule, method="simulation", n_sims=4000, seed=3)
    assert res.planned_n == 2 * 337 + 2 * 254
    # the largest trial: cumulative fraction 0.6 + 2 x 0.4 = 1.4 of each cell, rounded up
    assert res.max_n == 2 * math.ceil(1.4 * 337) + 2 * math.ceil(1.4 * 254)
    interim = 2 * math.ceil(0.6 * 337) + 2 * math.ceil(0.6 * 254)
    values = res.n_distribution["n"].to_numpy()
    assert values.min() == interim  # trials stopped at the interim
    continued = values[values > interim]
    assert continued.min() == res.planned_n  # min_factor = 1: never below the plan
    assert continued.max() <= res.max_n


# --------------------------------------------------------------- the plan
REFERENCE = pd.read_csv(
    Path(__file__).parent / "references" / "plan_adaptive_independent.csv", keep_default_na=False
)


def preset(**options):
    return tp.scenarios.adaptive_synergy(**options)


def reference_plan(n_sims=100_000, seed=5):
    """The trial of tests/references/plan_adaptive_independent.py, through the plan."""
    spec = preset()
    design = spec.design.replace(
        outcome=spec.design.outcome.replace(baseline_corr=0.0), n_per_cell=203
    )
    return tp.plan(
        design,
        size="fixed",
        sequential=spec.sequential,
        adaptive=spec.adaptive,
        n_sims=n_sims,
        seed=seed,
        randomization=spec.randomization,
    )


def test_planned_interim_and_largest_sizes_by_hand():
    plan = reference_plan(n_sims=2000)
    # 203 analysed per cell need ceil(203 / 0.7) = 290 randomized (1160, four blocks of 4
    # or 8 fill it); floor(290 x 0.93) = 269 and floor(290 x 0.7) = 203 are analysed.
    assert plan.allocation.randomized == (290, 290, 290, 290)
    assert plan.allocation.analysed == (269, 203, 269, 203)
    stages = plan.stages()
    interim = stages[stages["look"] == 1]
    final = stages[stages["look"] == 2]
    # interim: ceil(0.6 x 269) = ceil(161.4) = 162, ceil(0.6 x 203) = ceil(121.8) = 122
    assert interim["planned"].tolist() == [162, 122, 162, 122]
    assert final["planned"].tolist() == [269, 203, 269, 203]
    # largest: 0.6 + 2 x 0.4 = 1.4 of each cell, ceil(376.6) = 377, ceil(284.2) = 285
    assert final["maximum"].tolist() == [377, 285, 377, 285]
    assert final["minimum"].tolist() == [269, 203, 269, 203]
    # randomized for the largest trial: ceil(377 / 0.93) = 406, ceil(285 / 0.7) = 408; equal
    # allocation takes the larger, 408 per cell = 1632, a length blocks of 4 and 8 fill
    assert plan.maximum.randomized == (408, 408, 408, 408)
    assert plan.randomization.n == 1632
    assert plan.adaptive_result.max_n == 2 * 377 + 2 * 285
    assert plan.adaptive_result.planned_n == plan.allocation.n_analysed == 944


def test_the_list_holds_the_largest_trial_in_every_stratum():
    plan = reference_plan(n_sims=2000)
    frame = plan.schedule().to_frame()
    counts = frame.groupby(["site", "rTMS", "MBI"]).size()
    assert set(counts) == {408}  # two sites, each a list for the whole largest trial
    largest = plan.stages().query("look == 2")["maximum"].to_numpy()
    for randomized, dropout, top in zip(
        plan.maximum.randomized, plan.maximum.dropout, largest, strict=True
    ):
        assert math.floor(round(randomized * (1 - dropout), 9)) >= top
    # one block of four fewer per stratum would not hold the largest trial of the MBI cells
    assert math.floor((408 - 1) * 0.7) < 285


@pytest.mark.parametrize(
    ("case", "quantity", "column"),
    [
        ("planning", "reject", "reject"),
        ("planning", "stop_efficacy_interim", "stop_efficacy_interim"),
        ("planning", "stop_futility_interim", "stop_futility_interim"),
        ("planning", "expected_n", "expected_n"),
        ("planning", "enlarged", "enlarged"),
        ("null", "reject", "reject"),
        ("null", "stop_efficacy_interim", "stop_efficacy_interim"),
        ("null", "stop_futility_interim", "stop_futility_interim"),
        ("null", "expected_n", "expected_n"),
        ("null", "enlarged", "enlarged"),
    ],
)
def test_operating_characteristics_match_an_independent_simulation(case, quantity, column):
    # tests/references/plan_adaptive_independent.py: 400,000 trials per scenario written
    # without trialplan (rule, CHW combination, cumulative rounding, rpact 3.3.4 bounds).
    plan = _reference_plan_100k()
    oc = plan.operating_characteristics().set_index("scenario")
    scenario = "planned" if case == "planning" else "null"
    ours = float(oc.loc[scenario, column])
    n_sims = plan.adaptive_result.n_sims
    if column == "expected_n":
        mcse = float(oc.loc[scenario, "expected_n_mcse"])
    else:
        mcse = math.sqrt(max(ours * (1 - ours), 1e-12) / n_sims)
    ref = REFERENCE[(REFERENCE["case"] == case) & (REFERENCE["quantity"] == quantity)].iloc[0]
    assert abs(ours - ref["value"]) < 4 * math.hypot(mcse, ref["mcse"]), (ours, ref["value"])


_CACHE = {}


def _reference_plan_100k():
    if "plan" not in _CACHE:
        _CACHE["plan"] = reference_plan()
    return _CACHE["plan"]


def test_type_one_error_is_kept_by_the_combination_test():
    plan = _reference_plan_100k()
    oc = plan.operating_characteristics().set_index("scenario")
    size, mcse = oc.loc["null", "reject"], oc.loc["null", "reject_mcse"]
    assert size <= 0.025 + 3 * mcse


def test_the_simulation_runs_once_and_every_table_reads_it(monkeypatch):
    from trialplan._plan_analysis import Analysis

    calls = []
    original = Analysis.adaptive_result

    def counted(self, design):
        calls.append(design)
        return original(self, design)

    monkeypatch.setattr(Analysis, "adaptive_result", counted)
    plan = preset(n_sims=2000).evaluate()
    assert len(calls) == 1
    name = plan.primary[0]
    value = plan.primary_power[name]
    table = plan.power_table.set_index("hypothesis")
    looks = plan.looks()
    oc = plan.operating_characteristics().set_index("scenario")
    plan.stages(), plan.final_n(), plan.expected_n()
    assert len(calls) == 1  # no table ran the simulation again
    assert table.loc[name, "power"] == value == plan.adaptive_result[name]
    assert table.loc[name, "analysis"] == "adaptive"
    assert looks["power"].iloc[-1] == value
    assert oc.loc["planned", "reject"] == value
    sensitivity = plan.sensitivity
    assert len(calls) == 1 + len(sensitivity) - 1  # the planned row is the plan's own
    assert sensitivity.loc[sensitivity["planned"], "power"].item() == value
    curve = plan.curve(points=5)
    at = curve[(curve.n_randomized == plan.allocation.n_randomized) & (curve.hypothesis == name)]
    assert at["power"].item() == value
    expected = plan.expected_n()
    assert expected["H1"] == math.ceil(plan.adaptive_result.expected_n - 1e-9)
    assert expected["H0"] == math.ceil(plan.adaptive_result.expected_n_h0 - 1e-9)


def test_the_plan_runs_the_engine_with_its_own_seed_and_sims():
    plan = preset(n_sims=3000).evaluate()
    direct = plan.design.power(
        ["rTMS:MBI"],
        sequential=plan.sequential,
        adaptive=plan.adaptive,
        method="simulation",
        n_sims=3000,
        seed=plan.seed,
    )
    assert direct["rTMS:MBI"] == plan.primary_power["rTMS:MBI"]
    assert direct.expected_n == plan.adaptive_result.expected_n
    assert direct.type_i_error == plan.adaptive_result.type_i_error
    other = preset(n_sims=3000).replace(seed=7).evaluate()
    assert other.primary_power["rTMS:MBI"] != plan.primary_power["rTMS:MBI"]


def test_final_n_distribution_and_quantiles():
    plan = preset(n_sims=4000).evaluate()
    dist = plan.final_n()
    assert dist["probability"].sum() == pytest.approx(1.0)
    assert dist["probability_h0"].sum() == pytest.approx(1.0)
    mean = float((dist["n_analysed"] * dist["probability"]).sum())
    assert mean == pytest.approx(plan.adaptive_result.expected_n, rel=1e-9)
    oc = plan.operating_characteristics().set_index("scenario")
    interim = int(plan.stages().query("look == 1")["planned"].sum())
    stopped = dist.loc[dist["n_analysed"] == interim, "probability"].item()
    row = oc.loc["planned"]
    assert stopped == pytest.approx(row["stop_efficacy_interim"] + row["stop_futility_interim"])
    above = dist.loc[dist["n_analysed"] > plan.allocation.n_analysed, "probability"].sum()
    assert row["enlarged"] == pytest.approx(above)
    assert row["n_p05"] <= row["n_median"] <= row["n_p95"] <= row["max_n"]


def test_smaller_minimum_and_three_looks():
    spec = preset(n_sims=2000)
    rule = tp.SampleSizeReestimation(conditional_power=0.8, min_factor=0.5, max_factor=1.5)
    plan = spec.replace(adaptive=rule).evaluate()
    final = plan.stages().query("look == 2")
    # 0.6 + 0.5 x 0.4 = 0.8 of each cell: ceil(0.8 x 269) = 216, ceil(0.8 x 203) = 163
    assert final["minimum"].tolist() == [216, 163, 216, 163]
    gsd = tp.GroupSequential(
        info_fractions=(0.4, 0.7, 1.0), alpha=0.025, efficacy=tp.spending.obrien_fleming()
    )
    three = spec.replace(sequential=gsd).evaluate()
    stages = three.stages()
    assert stages["look"].max() == 3
    # the largest: 0.4 + 2 x (t - 0.4) at each look, per cell
    analysed = three.allocation.analysed
    for look, t in ((2, 0.7), (3, 1.0)):
        top = stages.query(f"look == {look}")["maximum"].tolist()
        assert top == [math.ceil((0.4 + 2 * (t - 0.4)) * a - 1e-9) for a in analysed]
    assert int(stages.query("look == 3")["maximum"].sum()) == three.adaptive_result.max_n


def test_a_two_arm_design_through_the_plan():
    arms = tp.Parallel(
        arms=("control", "treatment"),
        outcome=tp.Continuous(means={"control": 0.0, "treatment": -4.0}, sd=8.0),
        n_per_arm=60,
        alpha=0.025,
        sided=1,
        dropout=0.1,
    )
    gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    ssr = tp.SampleSizeReestimation(conditional_power=0.9, max_factor=2.0)
    plan = tp.plan(arms, power=0.8, sequential=gsd, adaptive=ssr, n_sims=4000, seed=1)
    name = "treatment vs control"
    assert plan.analysis_of(name) == "adaptive"
    # the group-sequential size for 80%: the planned power without re-estimation
    assert plan.design.power([name], sequential=plan.sequential)[name] >= 0.8
    # re-estimation with min_factor 1 never lowers the power (beyond Monte Carlo error)
    oc = plan.operating_characteristics().set_index("scenario")
    gs = plan.design.power([name], sequential=plan.sequential)[name]
    assert oc.loc["planned", "reject"] > gs - 3 * oc.loc["planned", "reject_mcse"]
    assert plan.maximum.n_randomized >= plan.allocation.n_randomized
    from trialplan.report import make_protocol

    md = make_protocol(plan, figures=False).to_markdown()
    assert "32 per arm" in md  # the interim: 0.5 x 64 analysed per arm
    assert "Participants per arm at each stage" in md


def test_a_binary_outcome_through_the_plan():
    rates = {
        ("sham", "control"): 0.1,
        ("active", "control"): 0.2,
        ("sham", "MBI"): 0.15,
        ("active", "MBI"): 0.4,
    }
    design = tp.Factorial(
        factors=FACTORS,
        outcome=tp.Binary(rates=rates, scale="risk_difference"),
        n_per_cell=100,
        alpha=0.025,
        sided=1,
    )
    plan = tp.plan(
        design, power=0.8, sequential=GSD, adaptive=tp.SampleSizeReestimation(), n_sims=3000, seed=2
    )
    oc = plan.operating_characteristics().set_index("scenario")
    assert oc.loc["null", "reject"] <= 0.025 + 3 * oc.loc["null", "reject_mcse"]
    assert plan.adaptive_result.planned_n == plan.allocation.n_analysed


# ----------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("changes", "error", "fragment"),
    [
        pytest.param({"sequential": None}, ValueError, "needs sequential=", id="no-sequential"),
        pytest.param(
            {"multiplicity": tp.Holm(["rTMS", "rTMS:MBI"])},
            ValueError,
            "cannot be combined",
            id="with-multiplicity",
        ),
        pytest.param(
            {"primary": ["rTMS", "rTMS:MBI"]}, ValueError, "one primary", id="two-primaries"
        ),
        pytest.param(
            {"adaptive": tp.SampleSizeReestimation(hypothesis="rTMS")},
            ValueError,
            "must be the plan's primary",
            id="rule-hypothesis",
        ),
        pytest.param(  # a factorial's cell selection tests the cells against the reference
            {"adaptive": tp.adaptive.ArmSelection()},  # cell, not the interaction
            ValueError,
            "primary hypotheses are every comparison with the control",
            id="arm-selection-factorial",
        ),
        pytest.param({"adaptive": "ssr"}, TypeError, "SampleSizeReestimation", id="not-a-rule"),
        pytest.param(
            {"sequential": tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.05, sided=2)},
            ValueError,
            "one-sided",
            id="two-sided-bounds",
        ),
        pytest.param(
            {"sequential": tp.adaptive.FisherCombination(info_fractions=(0.5, 1.0))},
            TypeError,
            "inverse normal",
            id="fisher",
        ),
        pytest.param(
            {"adaptive": tp.SampleSizeReestimation(sd="blinded", effect="planned")},
            ValueError,
            "baseline",
            id="blinded-with-ancova",
        ),
    ],
)
def test_settings_the_plan_cannot_resolve_are_refused(changes, error, fragment):
    spec = preset(n_sims=1000)
    kwargs = {
        "design": spec.design,
        "primary": "rTMS:MBI",
        "power": 0.8,
        "sequential": spec.sequential,
        "adaptive": spec.adaptive,
        "n_sims": 1000,
    }
    kwargs.update(changes)
    design = kwargs.pop("design")
    with pytest.raises(error, match=fragment):
        tp.plan(design, **kwargs)


def test_a_time_to_event_outcome_is_refused_with_the_reason():
    design = tp.Parallel(
        arms=("control", "treatment"),
        outcome=tp.TimeToEvent(
            hazards={"control": 0.1, "treatment": 0.07}, accrual=12.0, analysis_time=24.0
        ),
        n_per_arm=200,
        alpha=0.025,
        sided=1,
    )
    with pytest.raises(ValueError, match="re-estimates events"):
        tp.plan(design, sequential=GSD, adaptive=tp.SampleSizeReestimation())


def test_a_list_shorter_than_the_largest_trial_is_refused():
    spec = preset(n_sims=1000)
    short = spec.randomization.replace(n=1600)
    with pytest.raises(ValueError, match="n=1600"):
        spec.replace(randomization=short).evaluate()
    longer = spec.replace(randomization=spec.randomization.replace(n=1640)).evaluate()
    assert longer.maximum.n_randomized == 1640
    assert longer.allocation.n_randomized == 1160  # the planned size does not move


def test_an_unfavourable_stated_effect_names_the_key():
    spec = preset(n_sims=1000).replace(adaptive=tp.SampleSizeReestimation(effect=3.0))
    with pytest.raises(tp.spec.SpecError) as info:
        spec.evaluate()
    assert info.value.path == "adaptive.effect"


# --------------------------------------------------------------------- spec
ADAPTIVE_TOML = """
[design]
type = "factorial"
n_per_cell = 50
alpha = 0.025
sided = 1

[design.factors]
rTMS = ["sham", "active"]
MBI = ["control", "MBI"]

[design.outcome]
type = "continuous"
sd = 8.0
better = "lower"

[design.outcome.means]
"sham+control" = 0.0
"active+control" = -3.0
"sham+MBI" = -2.0
"active+MBI" = -8.0

[analysis]
primary = ["rTMS:MBI"]
power = 0.8
n_sims = 2000

[analysis.sequential]
type = "group_sequential"
info_fractions = [0.6, 1.0]
alpha = 0.025
sided = 1

[adaptive]
conditional_power = 0.9
effect = "observed"
min_factor = 1.0
max_factor = 2.0
"""


def test_a_hand_written_adaptive_table_reads_into_the_rule():
    spec = tp.spec.spec_from_toml(ADAPTIVE_TOML)
    # no type: the one adaptation a plan resolves
    assert spec.adaptive == tp.SampleSizeReestimation(
        conditional_power=0.9, effect="observed", min_factor=1.0, max_factor=2.0
    )
    text = tp.spec.spec_to_toml(spec)
    assert '[adaptive]\ntype = "sample_size_reestimation"\n' in text
    assert tp.spec.spec_to_toml(tp.spec.spec_from_toml(text)) == text
    plan = spec.evaluate()
    assert plan.adaptive == spec.adaptive
    assert plan.analysis_of("rTMS:MBI") == "adaptive"


@pytest.mark.parametrize(
    ("edit", "path", "fragment"),
    [
        pytest.param(
            ("max_factor = 2.0", "max_factor = 0.5"),
            "adaptive.min_factor",
            "must not exceed max_factor",
            id="factors",
        ),
        pytest.param(
            ('effect = "observed"', 'effect = "observd"'),
            "adaptive.effect",
            "did you mean 'observed'",
            id="effect-typo",
        ),
        pytest.param(
            ("conditional_power = 0.9", "conditional_power = 1.5"),
            "adaptive.conditional_power",
            "1.5",
            id="target-cp",
        ),
        pytest.param(
            ("min_factor = 1.0", "min_factr = 1.0"),
            "adaptive.min_factr",
            "did you mean 'min_factor'",
            id="unknown-key",
        ),
        pytest.param(
            ("[adaptive]", '[adaptive]\nsd = "blinded"'),
            "adaptive.sd",
            "observed effect",
            id="blinded-observed",
        ),
        pytest.param(
            ("[adaptive]", '[adaptive]\nhypothesis = "rTMS"'),
            "adaptive.hypothesis",
            "primary hypothesis",
            id="rule-hypothesis",
        ),
        pytest.param(  # an arm_selection table does not take the re-estimation's keys
            ("[adaptive]", '[adaptive]\ntype = "arm_selection"'),
            "adaptive.conditional_power",
            "unknown key; allowed: ['effect_measure', 'epsilon', 'intersection', 'r', 'rule'",
            id="arm-selection-keys",
        ),
        pytest.param(
            ('primary = ["rTMS:MBI"]', 'primary = ["rTMS", "rTMS:MBI"]'),
            "analysis.primary",
            "one primary hypothesis",
            id="two-primaries",
        ),
    ],
)
def test_adaptive_errors_name_the_toml_key_and_line(edit, path, fragment):
    old, new = edit
    text = ADAPTIVE_TOML.replace(old, new)
    assert text != ADAPTIVE_TOML
    with pytest.raises(tp.spec.SpecError) as info:
        tp.spec.spec_from_toml(text, source="trial.toml")
    error = info.value
    assert error.path == path
    assert fragment in error.reason
    assert error.line == tp.spec.line_of(text, path)
    assert error.line is not None
    line = text.splitlines()[error.line - 1]
    assert line.startswith(path.split(".")[-1]) or line.startswith("[")


def test_an_adaptive_table_without_sequential_names_its_section():
    start = ADAPTIVE_TOML.index("[analysis.sequential]")
    end = ADAPTIVE_TOML.index("[adaptive]")
    text = ADAPTIVE_TOML[:start] + ADAPTIVE_TOML[end:]
    with pytest.raises(tp.spec.SpecError) as info:
        tp.spec.spec_from_toml(text, source="trial.toml")
    assert info.value.path == "adaptive"
    assert "[analysis.sequential]" in info.value.reason
    assert text.splitlines()[info.value.line - 1] == "[adaptive]"


def test_the_cli_checks_powers_randomizes_and_writes_an_adaptive_spec(tmp_path, capsys):
    from trialplan.cli import main

    spec_file = tmp_path / "trial.toml"
    assert main(["init", "-o", str(spec_file), "--scenario", "adaptive_synergy"]) == 0
    assert main(["check", str(spec_file)]) == 0
    out = capsys.readouterr().out
    assert "[adaptive]" in out
    assert "at most 1632 randomized" in out
    assert main(["power", str(spec_file)]) == 0
    out = capsys.readouterr().out
    assert "adaptive design (20000 simulated trials, seed 2026)" in out
    assert "type I error" in out
    schedule = tmp_path / "schedule.csv"
    assert main(["randomize", str(spec_file), "-o", str(schedule)]) == 0
    out = capsys.readouterr().out
    assert "2 stratum lists of 1632" in out
    frame = pd.read_csv(schedule, comment="#")
    assert len(frame) == 2 * 1632
    bad = tmp_path / "bad.toml"
    bad.write_text(spec_file.read_text().replace("max_factor = 2.0", "max_factor = 0.5"))
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "adaptive.min_factor" in err
    assert f"line {tp.spec.line_of(bad.read_text(), 'adaptive.min_factor')}" in err


def test_a_protocol_made_from_a_plan_keeps_its_adaptive_spec(tmp_path):
    from trialplan.report import make_protocol

    plan = reference_plan(n_sims=2000)
    protocol = make_protocol(plan, figures=False)
    assert protocol.spec.adaptive == plan.adaptive
    written = protocol.write(tmp_path, formats=["md"])
    again = tp.spec.read_spec(written["toml"]).evaluate()
    assert again.primary_power == plan.primary_power
    assert again.maximum == plan.maximum
