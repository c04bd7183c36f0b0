"""The resolved plan: whole-block allocation, one power for the primary everywhere.

Independent anchors: the allocation arithmetic written out by hand (ceil and
floor of the dropout inflation, lengths that blocks of 4 and 8 fill), the
exact noncentral-t power of the interaction recomputed with scipy at the
plan's expected analysed counts, rpact's O'Brien-Fleming bounds
(tests/references/gsd_rpact.csv), Cohen's 64 per group for d = 0.5 at 80 %, and
Oetting et al.'s SMART closed form.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import trialplan as tp
from trialplan._blocks import is_fillable, smallest_fillable
from trialplan.allocation import allocate
from trialplan.spec import RandomizationPlan, Spec, SpecError

REFERENCES = Path(__file__).parent / "references"
FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
MEANS = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}
DROPOUT = {
    ("sham", "control"): 0.07,
    ("active", "control"): 0.07,
    ("sham", "MBI"): 0.30,
    ("active", "MBI"): 0.30,
}


def two_by_two(**changes):
    d = tp.Factorial(
        factors=FACTORS, outcome=tp.Continuous(means=MEANS, sd=8.0), n_per_cell=50, dropout=DROPOUT
    )
    return d.replace(**changes) if changes else d


def interaction_power(n_cells, sd=8.0, ic=-3.0, alpha=0.05):
    """Exact two-sided t power of IC = sum(+-mu) with cell sizes n_cells (scipy only)."""
    se = sd * math.sqrt(sum(1 / n for n in n_cells))
    df = sum(n_cells) - 4
    crit = stats.t.isf(alpha / 2, df)
    return stats.nct.sf(crit, df, ic / se) + stats.nct.cdf(-crit, df, ic / se)


# --------------------------------------------------------------- allocation
def test_allocation_rounds_the_total_not_the_cells():
    # The tutorial: 307 analysed per cell, dropout 7 % / 30 %.  Per cell on its own
    # that is 331 / 439 (ceil(307/0.93), ceil(307/0.7)); a 1:1:1:1 list randomizes the same
    # number to every cell, so every cell gets ceil(307/0.7) = 439 and the total is 1756,
    # which blocks of 4 and 8 fill.
    alloc = allocate(
        cells="abcd",
        ratios=(1, 1, 1, 1),
        required=(307,) * 4,
        dropout=(0.07, 0.3, 0.07, 0.3),
        block_sizes=(4, 8),
    )
    assert alloc.randomized == (439, 439, 439, 439)
    assert alloc.n_randomized == 1756
    assert alloc.analysed == (math.floor(439 * 0.93), 307, math.floor(439 * 0.93), 307)
    assert all(a >= r for a, r in zip(alloc.analysed, alloc.required, strict=True))


def test_allocation_rounds_up_to_whole_blocks():
    # 2:1:1 ratio, unit 4; 121 needed per cycle of the smallest arm -> blocks of 8 only:
    # required (60, 30, 30) with no dropout needs 30 cycles = 120, which 8s fill (15 x 8).
    alloc = allocate(
        cells="abc",
        ratios=(2, 1, 1),
        required=(60, 30, 30),
        dropout=(0.0, 0.0, 0.0),
        block_sizes=(8,),
    )
    assert alloc.n_randomized == 120
    # 31 needed in the small arms: 31 cycles = 124, not a multiple of 8 -> 128
    alloc = allocate(
        cells="abc",
        ratios=(2, 1, 1),
        required=(62, 31, 31),
        dropout=(0.0, 0.0, 0.0),
        block_sizes=(8,),
    )
    assert alloc.n_randomized == 128
    assert alloc.randomized == (64, 32, 32)


def test_allocation_refuses_block_sizes_that_break_the_ratio():
    with pytest.raises(
        ValueError, match=r"block_sizes must be multiples of 4.*got block_sizes=\(6,\)"
    ):
        allocate(
            cells="abcd", ratios=(1,) * 4, required=(10,) * 4, dropout=(0,) * 4, block_sizes=(6,)
        )


@settings(max_examples=60, deadline=None)
@given(
    required=st.integers(1, 3000),
    dropout=st.lists(st.floats(0.0, 0.6), min_size=2, max_size=4),
    blocks=st.sampled_from([(), (4, 8), (8,), (8, 12), (12, 16, 20)]),
)
def test_allocation_invariants(required, dropout, blocks):
    k = len(dropout)
    unit = k
    blocks = tuple(b * unit // 4 for b in blocks)  # multiples of the unit
    alloc = allocate(
        cells=range(k),
        ratios=(1,) * k,
        required=(required,) * k,
        dropout=tuple(dropout),
        block_sizes=blocks,
    )
    assert len(set(alloc.randomized)) == 1  # equal allocation gives equal cells
    assert alloc.n_randomized % unit == 0
    assert is_fillable(alloc.n_randomized, alloc.block_sizes)
    assert all(a >= required for a in alloc.analysed)
    # the smallest such total: one allocation cycle fewer (in fillable steps) falls short
    smaller = alloc.n_randomized - unit
    if smaller > 0:
        short = any(math.floor(round(smaller // unit * (1 - d), 9)) < required for d in dropout)
        assert short or not is_fillable(smaller, alloc.block_sizes)


def test_fillable_lengths_by_hand():
    # sums of 8s and 12s: 8, 12, 16, 20, 24, ... but never 4
    assert [n for n in range(0, 30, 4) if is_fillable(n, (8, 12))] == [0, 8, 12, 16, 20, 24, 28]
    assert smallest_fillable(5, (8, 12)) == 8


def test_randomization_n_must_cover_the_plan():
    spec = Spec(design=two_by_two(), primary=("rTMS:MBI",), randomization=RandomizationPlan(n=200))
    with pytest.raises(SpecError, match=r"^randomization.n: n=200 randomizes fewer than"):
        spec.evaluate()
    bigger = spec.replace(randomization=RandomizationPlan(n=2000)).evaluate()
    assert bigger.allocation.n_randomized == 2000
    assert bigger.allocation.randomized == (500, 500, 500, 500)


# -------------------------------------------------------- one primary power
def test_primary_power_is_exact_at_the_expected_analysed_counts():
    plan = tp.plan(two_by_two(), power=0.9, primary="rTMS:MBI")
    analysed = plan.allocation.analysed
    expected = interaction_power(analysed)
    assert plan.primary_power["rTMS:MBI"] == pytest.approx(expected, abs=1e-10)
    # the required sizes are the search's: the smallest equal n reaching 90 %
    n = plan.allocation.required[0]
    assert interaction_power([n] * 4) >= 0.9 > interaction_power([n - 1] * 4)
    assert plan.primary_power["rTMS:MBI"] >= 0.9


def test_table_sensitivity_and_curve_show_the_primary_power():
    plan = tp.plan(
        two_by_two(),
        power=0.9,
        primary="rTMS:MBI",
        sensitivity=tp.spec.SensitivityGrid(sd=(7.0, 9.0), effect_scale=(0.8,)),
    )
    value = plan.primary_power["rTMS:MBI"]
    table = plan.power_table
    assert table.loc[table.hypothesis == "rTMS:MBI", "power"].item() == value
    sens = plan.sensitivity
    assert sens.loc[sens.planned, "power"].item() == value  # planned values added to the grid
    assert sorted(sens["sd"].unique()) == [7.0, 8.0, 9.0]
    curve = plan.curve(points=9)
    at = curve[
        (curve.n_randomized == plan.allocation.n_randomized) & (curve.hypothesis == "rTMS:MBI")
    ]
    assert at["power"].item() == value


def test_fixed_size_uses_the_design_as_written():
    plan = tp.plan(two_by_two(n_per_cell=120))
    assert plan.size == "fixed"
    assert plan.sizing is None
    assert plan.allocation.required == (120, 120, 120, 120)
    # 120 / 0.7 = 171.4 -> 172 cycles, 688 in blocks of 4 and 8
    assert plan.allocation.n_randomized == 688
    with pytest.raises(ValueError, match="size='solve' needs the target power"):
        tp.plan(two_by_two(), size="solve")


def test_unequal_allocation_keeps_its_ratios():
    design = tp.Parallel(
        arms=("control", "rTMS"),
        outcome=tp.Continuous(means={"control": 0.0, "rTMS": -4.0}, sd=8.0),
        n_per_arm={"control": 30, "rTMS": 60},
        dropout=0.1,
    )
    plan = tp.plan(design, power=0.8)
    assert plan.allocation.ratios == (1, 2)
    r = plan.allocation.randomized
    assert r[1] == 2 * r[0]
    assert plan.allocation.n_randomized % 3 == 0


def test_cohen_two_groups_through_the_plan():
    # Cohen 1988, Table 2.4.1: d = 0.5, two-sided .05, 80 %: 64 per group.
    arms = ("rTMS alone", "MBI then rTMS")
    design = tp.Parallel(
        arms=arms,
        outcome=tp.Continuous(means={arms[0]: -10.0, arms[1]: -14.0}, sd=8.0),
        n_per_arm=30,
        control=arms[0],
    )
    plan = tp.plan(design, power=0.8)
    assert plan.allocation.required == (64, 64)
    assert plan.allocation.randomized == (64, 64)  # no dropout; 128 = 32 blocks of 4


def test_sequential_plan_reports_the_sequential_power_and_rpact_bounds():
    with (REFERENCES / "gsd_rpact.csv").open() as f:
        rows = [
            r
            for r in csv.DictReader(line for line in f if not line.startswith("#"))
            if r["case"] == "asOF_k3_a025"
        ]
    rpact = [float(r["efficacy"]) for r in rows]
    gsd = tp.GroupSequential(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025)
    plan = tp.plan(two_by_two(alpha=0.025, sided=1), power=0.9, primary="rTMS:MBI", sequential=gsd)
    looks = plan.looks()
    assert looks["efficacy_z"].tolist() == pytest.approx(rpact, abs=6e-4)
    fixed = plan.design.power("rTMS:MBI")["rTMS:MBI"]
    seq = plan.primary_power["rTMS:MBI"]
    assert seq < fixed  # the same size tested group-sequentially has less power
    assert looks["power"].iloc[-1] == pytest.approx(seq, abs=1e-12)
    assert plan.power_table.set_index("hypothesis").loc["rTMS:MBI", "power"] == seq
    assert plan.power_table.set_index("hypothesis").loc["rTMS:MBI", "analysis"] == (
        "group-sequential"
    )
    n = plan.allocation.n_analysed
    assert looks["n_analysed"].tolist() == [math.ceil(n / 3), math.ceil(2 * n / 3 - 1e-9), n]


def test_multiplicity_plan_sizes_under_the_procedure():
    holm = tp.Holm(["rTMS", "MBI", "rTMS:MBI"])
    plan = tp.plan(two_by_two(), power=0.8, primary="rTMS:MBI", multiplicity=holm)
    direct = plan.design.power(["rTMS", "MBI", "rTMS:MBI"], multiplicity=holm)["rTMS:MBI"]
    assert plan.primary_power["rTMS:MBI"] == pytest.approx(direct, abs=1e-12)
    assert plan.analysis_of("rTMS:MBI") == "multiplicity"
    unadjusted = plan.design.power("rTMS:MBI")["rTMS:MBI"]
    assert plan.primary_power["rTMS:MBI"] <= unadjusted
    assert plan.familywise()["any"] >= plan.familywise()["all"]


def test_primary_outside_the_family_is_tested_alone():
    plan = tp.plan(
        two_by_two(), power=0.8, primary="rTMS:MBI", multiplicity=tp.Hochberg(["rTMS", "MBI"])
    )
    assert plan.analysis_of("rTMS:MBI") == "single"
    assert plan.analysis_of("rTMS") == "multiplicity"
    assert plan.primary_power["rTMS:MBI"] == plan.design.power("rTMS:MBI")["rTMS:MBI"]


def smart(**changes):
    design = tp.SMART(
        stage1=("rTMS", "rTMS+MBI"),
        stage2=("continue", "augment"),
        response_rate={"rTMS": 0.4, "rTMS+MBI": 0.4},
        responder_mean={"rTMS": 4.0, "rTMS+MBI": 0.0},
        nonresponder_mean={
            ("rTMS", "continue"): 4.0,
            ("rTMS", "augment"): 4.0,
            ("rTMS+MBI", "continue"): 0.0,
            ("rTMS+MBI", "augment"): 0.0,
        },
        sd=8.0,
        n_total=100,
        dropout=0.1,
    )
    return design.replace(**changes) if changes else design


def test_smart_plan_splits_whole_participants_between_arms():
    # Oetting et al. 2011: N = 4 (z.975 + z.8)^2 (2 - g) / delta^2 = 200.9 -> 201 analysed;
    # with 1:1 at stage 1 each arm needs 101 (the halves must be whole people).
    plan = tp.plan(smart(), power=0.8, primary="rTMS/continue vs rTMS+MBI/continue")
    closed = 4 * (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) ** 2 * 1.6 / 0.5**2
    assert plan.sizing.n_total == math.ceil(closed)
    assert plan.allocation.required == (101, 101)
    assert plan.allocation.randomized == (113, 113)  # ceil(101 / 0.9) = 113, 226 in 2s/4s
    assert plan.design.n_total == plan.allocation.n_analysed == sum(plan.allocation.analysed)
    schedule = plan.schedule().to_frame()
    assert schedule["stage1"].value_counts().to_dict() == {"rTMS": 113, "rTMS+MBI": 113}


# ------------------------------------------------------------------ schedule
def test_schedule_counts_equal_the_plan_in_every_stratum():
    spec = Spec(
        design=two_by_two(),
        primary=("rTMS:MBI",),
        randomization=RandomizationPlan(strata={"site": ("A", "B", "C")}, seed=3),
    )
    plan = spec.evaluate()
    frame = plan.schedule().to_frame()
    counts = frame.groupby(["site", "rTMS", "MBI"]).size()
    assert set(counts) == {plan.allocation.randomized[0]}
    assert frame.groupby("site").size().tolist() == [plan.allocation.n_randomized] * 3


def test_plan_describes_itself_without_code_identifiers():
    plan = tp.scenarios.state_dependent_synergy().evaluate()
    text = plan.describe()
    assert "n_per_cell" not in text
    assert f"{plan.allocation.n_randomized} randomized" in text
    assert "TrialPlan" in repr(plan)


def test_plan_refuses_what_is_not_a_design():
    with pytest.raises(TypeError, match="design must be a trialplan design"):
        tp.plan(object())
    with pytest.raises(ValueError, match="size='maybe' is not allowed"):
        tp.plan(two_by_two(), size="maybe")
    with pytest.raises(ValueError, match="power must lie strictly between 0 and 1"):
        tp.plan(two_by_two(), power=1.5)


def test_zero_effect_primary_names_the_key():
    zero = two_by_two(means={c: 0.0 for c in MEANS})
    with pytest.raises(SpecError, match=r"^analysis.primary: hypothesis 'rTMS:MBI' has effect 0"):
        Spec(design=zero, primary=("rTMS:MBI",)).evaluate()


def test_plan_accepts_a_spec():
    spec = tp.scenarios.state_dependent_synergy()
    assert tp.plan(spec).allocation == spec.evaluate().allocation
    assert np.isclose(tp.plan(spec, power=0.8).target, 0.8)


# -------------------------------------------------- wrong direction, header
def test_one_sided_test_against_better_warns_naming_hypothesis_sign_and_better():
    # A Continuous left at its default better="lower" with a positive planned effect
    # printed power 0.000 with no warning (issue 19).
    arms = tp.Parallel(
        arms=("control", "MBI"),
        outcome=tp.Continuous(means={"control": 0.0, "MBI": 3.0}, sd=8.0),
        n_per_arm=50,
        alpha=0.025,
        sided=1,
    )
    with pytest.warns(
        UserWarning,
        match=r"hypothesis 'MBI vs control': the planned effect 3 is "
        r"positive, but the one-sided test rejects for lower outcomes "
        r"\(better='lower'\)",
    ):
        power = arms.power()["MBI vs control"]
    assert power < 0.025
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        arms.replace(outcome=arms.outcome.replace(better="higher")).power()  # no warning
        arms.replace(sided=2, alpha=0.05).power()  # two-sided: no direction to be wrong in


def test_design_header_names_the_control_arm_once():
    arms = tp.Parallel(
        arms=("control", "MBI"),
        outcome=tp.Continuous(means={"control": 0.0, "MBI": -3.0}, sd=8.0),
        n_per_arm=50,
    )
    assert arms.describe().startswith("Parallel 2 arms vs control | ")
    assert arms.describe().count("control") == 1


def test_curve_leaves_out_hypotheses_without_an_effect():
    # No power is stated for a zero effect, in the figure either (it is the test's size).
    additive = two_by_two(
        means={
            ("sham", "control"): 0.0,
            ("active", "control"): -3.0,
            ("sham", "MBI"): -2.0,
            ("active", "MBI"): -5.0,
        }
    )
    plan = tp.plan(additive, power=0.9, primary="rTMS")
    assert plan.power_table.set_index("hypothesis").loc["rTMS:MBI", "effect"] == 0
    names = set(plan.curve(points=5)["hypothesis"])
    assert "rTMS:MBI" not in names
    assert {"rTMS", "MBI", "combination"} <= names
