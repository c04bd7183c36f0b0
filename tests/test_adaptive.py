"""Adaptive designs: combination tests, conditional power, sample-size re-estimation.

References: tests/references/adaptive_independent.py (brute-force conditional power,
MVN and quadrature type I errors; numpy/scipy only) and closed forms cited inline.
rpact comparisons live in tests/test_adaptive_rpact.py.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import trialplan as tp
from trialplan.adaptive import (
    FisherCombination,
    conditional_critical_value,
    conditional_power,
    inverse_normal,
    inverse_normal_weights,
)
from trialplan.adaptive.combination import fisher_size

INDEPENDENT = pd.read_csv(Path(__file__).parent / "references" / "adaptive_independent.csv")


def independent(case: str) -> pd.Series:
    return INDEPENDENT[INDEPENDENT["case"] == case].iloc[0]


def two_arm(n: int = 60, difference: float = -4.0, **outcome: object) -> tp.Parallel:
    return tp.Parallel(
        arms=("control", "treatment"),
        n_per_arm=n,
        outcome=tp.Continuous(means={"control": 0.0, "treatment": difference}, sd=8.0, **outcome),
    )


def rtms_mbi(n: int = 150, interaction: float = -3.0) -> tp.Factorial:
    return tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(
            means={
                ("sham", "control"): 0.0,
                ("active", "control"): -3.0,
                ("sham", "MBI"): -2.0,
                ("active", "MBI"): -5.0 + interaction,
            },
            sd=8.0,
        ),
        n_per_cell=n,
    )


GSD = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
OBSERVED = tp.SampleSizeReestimation(conditional_power=0.9, min_factor=1.0, max_factor=2.0)


# ------------------------------------------------------------- combination
def test_chw_weights_and_statistic() -> None:
    w = inverse_normal_weights([0.6, 1.0])
    assert w**2 == pytest.approx([0.6, 0.4])
    z = inverse_normal([1.5, 2.0], [0.6, 1.0])
    assert z[1] == pytest.approx(math.sqrt(0.6) * 1.5 + math.sqrt(0.4) * 2.0)


@pytest.mark.parametrize(
    ("case", "fractions"),
    [
        pytest.param("size_inverse_normal_2", (0.5, 1.0), id="MVN-cdf-2-stages"),
        pytest.param("size_inverse_normal_3", (1 / 3, 2 / 3, 1.0), id="MVN-cdf-3-stages"),
    ],
)
def test_inverse_normal_exact_type_i_error(case: str, fractions: tuple) -> None:
    # The null law of the CHW statistics is the group-sequential one, whose exact crossing
    # probability the recursion gives; the independent script integrates the MVN directly.
    gsd = tp.GroupSequential(info_fractions=fractions, alpha=0.025)
    up, _ = gsd.crossing_probabilities(0.0)
    assert float(up.sum()) == pytest.approx(independent(case)["value"], abs=1e-5)


def test_fisher_exact_type_i_error_by_quadrature() -> None:
    # Nested adaptive quadrature over (p1, p2, p3) in adaptive_independent.py.
    design = FisherCombination(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025)
    size = fisher_size(design.critical_values, design.info_fractions)
    assert size == pytest.approx(independent("size_fisher_3")["value"], abs=1e-9)


def test_fisher_two_stage_closed_form_with_futility() -> None:
    # Bauer & Koehne (1994): alpha = c1 + c2 (log alpha0 - log c1) with equal weights.
    c1, c2, a0 = 0.0102, 0.0038, 0.5
    assert fisher_size([c1, c2], [0.5, 1.0], alpha0=a0) == pytest.approx(
        c1 + c2 * (math.log(a0) - math.log(c1)), rel=1e-12
    )


def test_fisher_binding_futility_spends_exactly_alpha() -> None:
    design = FisherCombination(info_fractions=(0.5, 1.0), alpha0=0.5, binding=True)
    assert design.size() == pytest.approx(0.025, abs=1e-12)
    # non-binding: the bounds ignore futility, so following it only lowers the error
    loose = FisherCombination(info_fractions=(0.5, 1.0), alpha0=0.5)
    assert loose.size() < 0.025
    assert loose.critical_values[1] < design.critical_values[1]


def test_fisher_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="alpha0"):
        FisherCombination(info_fractions=(0.5, 1.0), alpha0=0.01)
    with pytest.raises(ValueError, match="method"):
        FisherCombination(info_fractions=(0.5, 1.0), method="full")
    with pytest.raises(ValueError, match="no_interaction"):
        FisherCombination(info_fractions=(0.5, 1.0), method="no_interaction")
    with pytest.raises(ValueError, match="cumulative alpha"):
        FisherCombination(info_fractions=(0.5, 1.0), method=(0.01, 0.02))
    with pytest.raises(ValueError, match="info_fractions"):
        FisherCombination(info_fractions=(0.5, 0.9))


# -------------------------------------------------------- conditional power
def test_conditional_power_matches_brute_force() -> None:
    gsd = tp.GroupSequential(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025)
    cp = conditional_power(gsd, z=[1.2], effect=0.5, information=[30.0, 25.0])
    ref = independent("cp_brute_force")
    assert abs(cp[-1] - ref["value"]) < 4 * ref["mcse"]
    # the script types the bounds to 6 decimals: agreement to about 1e-6
    assert cp[0] == pytest.approx(independent("cp_next_stage")["value"], abs=1e-6)


def test_conditional_critical_value_inverse_normal_and_fisher() -> None:
    c = conditional_critical_value(GSD, [1.0])
    b2 = GSD.efficacy_z[1]
    assert c == pytest.approx((b2 - math.sqrt(0.5) * 1.0) / math.sqrt(0.5))
    fisher = FisherCombination(info_fractions=(0.5, 1.0))
    p1 = stats.norm.sf(1.0)
    c2 = fisher.critical_values[1]
    assert conditional_critical_value(fisher, [1.0]) == pytest.approx(stats.norm.isf(c2 / p1))


def test_conditional_power_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="information needs 1"):
        conditional_power(GSD, z=[1.0], effect=1.0, information=[1.0, 2.0])
    with pytest.raises(ValueError, match="at least one stage to come"):
        conditional_power(GSD, z=[1.0, 2.0], effect=1.0, information=[])
    with pytest.raises(ValueError, match="positive"):
        conditional_power(GSD, z=[1.0], effect=1.0, information=[0.0])
    with pytest.raises(ValueError, match="one-sided"):
        conditional_power(
            tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.05, sided=2),
            z=[1.0],
            effect=1.0,
            information=[1.0],
        )


# ---------------------------------------------------------------- the rule
def test_rule_clamps_and_takes_the_maximum_for_unfavourable_effects() -> None:
    rule = tp.SampleSizeReestimation(conditional_power=0.9, min_factor=0.5, max_factor=3.0)
    sizes = rule.stage_fraction(
        critical_value=[2.0, 2.0, -5.0], drift=[-0.3, 0.0, 1.0], planned=0.4
    )
    assert sizes.tolist() == pytest.approx([1.2, 1.2, 0.2])


def test_rule_size_reaches_the_target_conditional_power() -> None:
    rule = tp.SampleSizeReestimation(conditional_power=0.85, min_factor=0.1, max_factor=10.0)
    c, drift = 1.7, 3.1
    f = float(rule.stage_fraction(critical_value=[c], drift=[drift], planned=0.5)[0])
    assert stats.norm.cdf(drift * math.sqrt(f) - c) == pytest.approx(0.85, abs=1e-12)


def test_promising_zone_changes_the_size_only_inside() -> None:
    rule = tp.SampleSizeReestimation(
        conditional_power=0.9, promising_zone=(0.36, 0.8), min_factor=1.0, max_factor=2.0
    )
    c = 1.784
    # conditional power at the planned size 0.5: Phi(drift sqrt(0.5) - c)
    drifts = np.array([1.0, 2.5, 4.0])
    cp = stats.norm.cdf(drifts * math.sqrt(0.5) - c)
    assert cp[0] < 0.36 <= cp[1] < 0.8 <= cp[2]
    sizes = rule.stage_fraction(critical_value=[c] * 3, drift=drifts, planned=0.5)
    assert sizes[0] == pytest.approx(0.5)
    assert sizes[2] == pytest.approx(0.5)
    assert 0.5 < sizes[1] <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"conditional_power": 1.0}, ValueError, "conditional_power"),
        ({"effect": "observd"}, ValueError, "did you mean 'observed'"),
        ({"effect": True}, TypeError, "effect"),
        ({"effect": 0.0}, ValueError, "nonzero"),
        ({"min_factor": 2.0, "max_factor": 1.5}, ValueError, "min_factor must not exceed"),
        ({"min_factor": 0.0}, ValueError, "min_factor"),
        ({"promising_zone": (0.8, 0.3)}, ValueError, "promising_zone"),
        ({"promising_zone": "high"}, TypeError, "promising_zone"),
        ({"sd": "blind"}, ValueError, "sd must be one of"),
        ({"sd": "blinded"}, ValueError, "cannot use the observed effect"),
        ({"round_up": "yes"}, TypeError, "round_up"),
    ],
)
def test_rule_rejects_bad_parameters(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        tp.SampleSizeReestimation(**kwargs)


# -------------------------------------------------------------- simulation
def run(design: object, rule: object = OBSERVED, sequential: object = GSD, **kw: object) -> object:
    kw.setdefault("n_sims", 40_000)
    kw.setdefault("seed", 2026)
    kw.setdefault("method", "simulation")
    return design.power(sequential=sequential, adaptive=rule, **kw)


def assert_type_i_controlled(res: object, alpha: float = 0.025) -> None:
    (name,) = list(res)
    size, mcse = res.type_i_error[name], res.mcse_type_i_error[name]
    assert size <= alpha + 3 * mcse, f"type I error {size:.4f} (MCSE {mcse:.4f})"


NULL_CASES = [
    pytest.param(two_arm(), OBSERVED, GSD, {}, id="observed-effect"),
    pytest.param(
        two_arm(),
        tp.SampleSizeReestimation(conditional_power=0.8, effect="planned", max_factor=3.0),
        GSD,
        {},
        id="planned-effect",
    ),
    pytest.param(
        two_arm(),
        tp.SampleSizeReestimation(effect=-2.0, min_factor=0.5, max_factor=4.0),
        GSD,
        {},
        id="stated-effect",
    ),
    pytest.param(
        two_arm(),
        tp.SampleSizeReestimation(promising_zone=(0.3, 0.9), max_factor=3.0),
        GSD,
        {},
        id="promising-zone",
    ),
    pytest.param(
        two_arm(),
        tp.SampleSizeReestimation(effect="planned", sd="blinded", min_factor=0.5, max_factor=3.0),
        GSD,
        {},
        id="blinded-sd",
    ),
    pytest.param(
        rtms_mbi(80),
        tp.SampleSizeReestimation(
            effect="planned", sd="blinded_adjusted", min_factor=0.5, max_factor=3.0
        ),
        GSD,
        {},
        id="blinded-adjusted-sd-interaction",
    ),
    pytest.param(rtms_mbi(80), OBSERVED, GSD, {}, id="interaction"),
    pytest.param(two_arm(baseline_corr=0.5), OBSERVED, GSD, {}, id="ancova"),
    pytest.param(
        two_arm(90),
        OBSERVED,
        tp.GroupSequential(
            info_fractions=(1 / 3, 2 / 3, 1.0),
            alpha=0.025,
            futility=tp.spending.obrien_fleming(),
            beta=0.2,
        ),
        {},
        id="three-stages-futility",
    ),
    pytest.param(
        two_arm(),
        OBSERVED,
        FisherCombination(info_fractions=(0.5, 1.0), alpha0=0.5),
        {},
        id="fisher",
    ),
    pytest.param(
        rtms_mbi(80),
        tp.SampleSizeReestimation(conditional_power=0.8, max_factor=2.0),
        GSD,
        {"hypotheses": "combination"},
        id="combination-min-test",
    ),
    pytest.param(
        tp.Parallel(
            arms=("control", "treatment"),
            n_per_arm=150,
            outcome=tp.Binary(rates={"control": 0.3, "treatment": 0.45}, better="higher"),
        ),
        OBSERVED,
        GSD,
        {},
        id="binary",
    ),
    pytest.param(
        tp.Parallel(
            arms=("control", "treatment"),
            n_per_arm=150,
            outcome=tp.TimeToEvent(
                hazards={"control": 0.1, "treatment": 0.07}, accrual=12.0, follow_up=12.0
            ),
        ),
        OBSERVED,
        GSD,
        {"n_sims": 10_000},
        id="time-to-event",
    ),
]


@pytest.mark.parametrize(("design", "rule", "sequential", "kw"), NULL_CASES)
def test_every_rule_keeps_the_type_i_error(
    design: object, rule: object, sequential: object, kw: dict
) -> None:
    res = run(design, rule, sequential, **kw)
    assert_type_i_controlled(res)
    (name,) = list(res)
    assert 0.0 <= res[name] <= 1.0
    assert res.stages["stop_efficacy_h0"].sum() == pytest.approx(res.type_i_error[name])


def test_naive_analysis_inflates_the_type_i_error_and_chw_does_not() -> None:
    # An aggressive observed-effect rule (up to 4x the planned stage 2): pooling the stages
    # with their observed sizes is not a level-alpha test, the CHW combination is.
    rule = tp.SampleSizeReestimation(conditional_power=0.9, min_factor=1.0, max_factor=4.0)
    naive = tp.adaptive.adaptive_power(
        two_arm(),
        sequential=GSD,
        adaptive=rule,
        n_sims=100_000,
        seed=2026,
        statistic="z",
        analysis="pooled",
    )
    chw = run(two_arm(), rule, n_sims=100_000, statistic="z")
    name = "treatment vs control"
    assert naive.type_i_error[name] > 0.025 + 4 * naive.mcse_type_i_error[name]
    assert abs(chw.type_i_error[name] - 0.025) < 3 * chw.mcse_type_i_error[name]


def test_pinned_call_two_arm_and_interaction() -> None:
    gsd = tp.GroupSequential(
        info_fractions=(0.5, 1.0), alpha=0.025, efficacy=tp.spending.obrien_fleming()
    )
    ssr = tp.SampleSizeReestimation(
        conditional_power=0.9, effect="observed", min_factor=1.0, max_factor=2.0
    )
    two = two_arm().power(sequential=gsd, adaptive=ssr, method="simulation", n_sims=20_000, seed=1)
    assert isinstance(two["treatment vs control"], float)
    assert isinstance(two.expected_n, float)
    fact = rtms_mbi().power(
        sequential=gsd, adaptive=ssr, method="simulation", n_sims=20_000, seed=1
    )
    assert list(fact) == ["rTMS:MBI"]
    assert isinstance(fact["rTMS:MBI"], float)
    assert fact.planned_n == 600
    assert fact.max_n == 900
    assert 300 <= fact.expected_n <= 900


def test_without_adaptation_matches_the_group_sequential_analysis() -> None:
    # min_factor = max_factor = 1: the fixed group-sequential trial, whose power and
    # expected N the analytic recursion gives (z statistics: exactly its model).
    rule = tp.SampleSizeReestimation(min_factor=1.0, max_factor=1.0)
    design = rtms_mbi(120)
    res = run(design, rule, n_sims=100_000, statistic="z")
    analytic = design.power("rTMS:MBI", sequential=GSD)
    assert abs(res["rTMS:MBI"] - analytic["rTMS:MBI"]) < 4 * res.mcse["rTMS:MBI"]
    expected = analytic.expected_n
    assert abs(res.expected_n - expected) < 4 * res.mcse_expected_n
    assert res.max_n == res.planned_n == 480


def test_interaction_power_rises_with_the_adaptation() -> None:
    fixed = run(rtms_mbi(), tp.SampleSizeReestimation(min_factor=1.0, max_factor=1.0))
    adapted = run(rtms_mbi(), OBSERVED)
    assert adapted["rTMS:MBI"] > fixed["rTMS:MBI"] + 4 * adapted.mcse["rTMS:MBI"]
    assert adapted.expected_n > fixed.expected_n


def test_same_seed_same_result_whatever_the_executor() -> None:
    a = run(rtms_mbi(), n_sims=9_000, seed=42)
    b = run(rtms_mbi(), n_sims=9_000, seed=42)
    with ThreadPoolExecutor(max_workers=2) as pool:
        c = run(rtms_mbi(), n_sims=9_000, seed=42, executor=pool)
    assert a["rTMS:MBI"] == b["rTMS:MBI"] == c["rTMS:MBI"]
    assert a.expected_n == c.expected_n
    assert a.type_i_error == c.type_i_error
    d = run(rtms_mbi(), n_sims=9_000, seed=43)
    assert d.expected_n != a.expected_n


def test_round_up_gives_whole_participants_per_cell() -> None:
    res = run(rtms_mbi(51), n_sims=5_000)
    n = res.n_distribution["n"].to_numpy()
    assert np.all(n % 4 == 0)  # four cells, each a whole number
    real = run(rtms_mbi(51), tp.SampleSizeReestimation(round_up=False), n_sims=5_000)
    assert real.max_n == pytest.approx(51 * 4 / 2 + 2 * 51 * 4 / 2)


def test_distribution_of_the_final_n_sums_to_one() -> None:
    res = run(two_arm())
    assert res.n_distribution["probability"].sum() == pytest.approx(1.0)
    assert res.n_distribution["probability_h0"].sum() == pytest.approx(1.0)
    mean = float((res.n_distribution["n"] * res.n_distribution["probability"]).sum())
    assert mean == pytest.approx(res.expected_n, rel=1e-9)
    q = res.n_quantiles((0.0, 1.0))
    assert q[0.0] >= 60
    assert q[1.0] <= res.max_n


def test_result_prints_and_frames() -> None:
    res = run(two_arm(), n_sims=2_000)
    text = repr(res)
    assert "expected N analysed" in text
    assert "maximum N: 180" in text
    frame = res.to_frame()
    assert frame.loc[0, "max_n"] == 180
    assert frame.loc[0, "expected_n"] == res.expected_n
    assert "type_i_error" in frame


def test_time_to_event_stages_are_events() -> None:
    design = tp.Parallel(
        arms=("control", "treatment"),
        n_per_arm=150,
        outcome=tp.TimeToEvent(
            hazards={"control": 0.1, "treatment": 0.06}, accrual=12.0, follow_up=12.0
        ),
    )
    res = run(design, n_sims=4_000)
    planned = sum(design.expected_events().values())
    assert res.max_n == 300  # everyone randomized is entered
    assert res.extras["expected_units"] >= 0.5 * planned
    assert res["treatment vs control"] > 0.5


def test_blinded_reestimation_follows_the_true_sd() -> None:
    # Planned with sd 8; the true sd is 10: the blinded rule enlarges stage 2 by about
    # (10 / 8)^2 (plus the between-arm spread it cannot remove when unadjusted).
    planned = two_arm(100, -3.0)
    truth = planned.replace(sd=10.0)
    rule = tp.SampleSizeReestimation(effect=-3.0, sd="blinded_adjusted", max_factor=3.0)
    from trialplan.adaptive.reestimation import adaptive_power
    from trialplan.adaptive.sampling import sampler_for

    contrasts = planned.hypothesis("treatment vs control").contrasts
    stat = planned.statistics("treatment vs control")[0]
    from trialplan.adaptive import simulate_reestimation

    res = simulate_reestimation(
        stat,
        sampler=sampler_for(truth, contrasts, round_up=True),
        null_sampler=sampler_for(truth, contrasts, round_up=True, null=True),
        sequential=GSD,
        rule=rule,
        n_sims=4_000,
        seed=3,
        sd=8.0,
    )
    stage2 = res.stages["mean_stage_size"].iloc[1]
    assert stage2 == pytest.approx(100 * (10 / 8) ** 2, rel=0.05)
    assert callable(adaptive_power)


def test_adaptive_errors_name_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="one hypothesis"):
        run(rtms_mbi(), hypotheses=["rTMS", "MBI"])
    with pytest.raises(ValueError, match="per-tail level"):
        run(two_arm(), sequential=tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.01))
    with pytest.raises(ValueError, match="simulation"):
        run(two_arm(), method="analytic")
    with pytest.raises(TypeError, match="SampleSizeReestimation"):
        run(two_arm(), rule="observed")
    with pytest.raises(ValueError, match="only"):
        run(two_arm(4), tp.SampleSizeReestimation(min_factor=0.1))
    binary = tp.Parallel(
        arms=("c", "t"), n_per_arm=100, outcome=tp.Binary(rates={"c": 0.3, "t": 0.5})
    )
    with pytest.raises(ValueError, match="Continuous outcomes only"):
        run(binary, tp.SampleSizeReestimation(round_up=False))
    with pytest.raises(ValueError, match="ambiguous"):
        run(rtms_mbi(), tp.SampleSizeReestimation(effect=-3.0), hypotheses="combination")
    with pytest.raises(ValueError, match="unfavourable"):
        run(two_arm(), tp.SampleSizeReestimation(effect=3.0))


def test_public_adaptive_names_have_runnable_examples() -> None:
    # Every public name of tp.adaptive carries a numpydoc docstring with a doctest (they
    # run under --doctest-modules); the pinned tp.SampleSizeReestimation is exported.
    import inspect

    assert tp.SampleSizeReestimation is tp.adaptive.SampleSizeReestimation
    for name in tp.adaptive.__all__:
        obj = getattr(tp.adaptive, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            assert "Examples\n--------" in doc, name
            assert ">>>" in doc, name


def test_randomized_total_adds_the_dropout() -> None:
    design = rtms_mbi(80).replace(dropout=0.2)
    res = run(design, n_sims=5_000)
    # sizes count analysed participants; 1 / (1 - 0.2) as many are randomized, per cell
    assert res.expected_n_randomized == pytest.approx(res.expected_n / 0.8, rel=1e-9)


def test_adaptive_keyword_checks_its_companions() -> None:
    ssr = tp.SampleSizeReestimation()
    with pytest.raises(ValueError, match="adaptive= needs sequential="):
        two_arm().power(adaptive=ssr, method="simulation")
    with pytest.raises(ValueError, match="cannot be combined"):
        two_arm().power(
            sequential=GSD, adaptive=ssr, multiplicity=tp.Dunnett(), method="simulation"
        )
    with pytest.raises(ValueError, match="engine='individual' does not apply with adaptive="):
        two_arm().power(sequential=GSD, adaptive=ssr, method="simulation", engine="individual")
    smart = tp.SMART(
        stage1=("a", "b"),
        stage2=("x", "y"),
        response_rate={"a": 0.3, "b": 0.3},
        responder_mean={"a": 0, "b": 0},
        nonresponder_mean={("a", "x"): 0, ("a", "y"): 0, ("b", "x"): -3, ("b", "y"): -4},
        sd=8.0,
        n_total=300,
    )
    with pytest.raises(TypeError, match="randomized cells"):
        smart.power(sequential=GSD, adaptive=ssr, method="simulation")


# --------------------------------------- how the rule standardizes the observed effect
def _brute_force_expected_n(*, standardize: str, n_arm: int, sd: float, delta: float) -> tuple:
    """rpact's rule written out for two arms, 2 stages at 50%, inverse normal (OBF spending).

    Stage 1 draws the mean difference and the pooled SD; its t statistic becomes z
    through its p-value.  The observed drift is t / sqrt(f_1) (``"estimated"``: the SD
    estimated from stage 1, as rpact's getSimulationMeans with normalApproximation =
    FALSE) or (difference / (sd sqrt(2 / n_1))) / sqrt(f_1) (``"planning"``: the
    planning SD).  The second stage gets ((c + z_0.9)_+ / drift)^2 of the planned total,
    c = (b_2 - w z_1) / w, clamped to [1, 4] times its planned half.
    """
    gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    b1, b2 = gsd.efficacy_z
    rng = np.random.default_rng(20261201)
    trials = 400_000
    n1 = n_arm / 2
    df = 2 * n1 - 2
    diff = delta + sd * math.sqrt(2 / n1) * rng.standard_normal(trials)
    s = sd * np.sqrt(rng.chisquare(df, trials) / df)
    t1 = diff / (s * math.sqrt(2 / n1))
    z1 = stats.norm.isf(stats.t.sf(t1, df))
    w = math.sqrt(0.5)
    c = (b2 - w * z1) / w
    if standardize == "estimated":
        drift = t1 / math.sqrt(0.5)
    else:
        drift = diff / (sd * math.sqrt(2 / n1)) / math.sqrt(0.5)
    need = np.maximum(c + stats.norm.ppf(0.9), 0.0) / np.where(drift > 0, drift, 1.0)
    f2 = np.clip(np.where(drift > 0, need**2, np.inf), 0.5, 2.0)
    n = 2 * n1 + np.where(z1 >= b1, 0.0, f2 * 2 * n_arm)
    return float(n.mean()), float(n.std() / math.sqrt(trials))


def test_observed_effect_is_standardized_by_the_estimated_sd_under_t_tests() -> None:
    # With 4 per arm at the interim (6 df) the two standardizations differ by about 0.6
    # participants in expected N (MCSE 0.02-0.03): trialplan must match the estimated-SD
    # rule that its text (and rpact) states, and not the planning-SD one.
    n_arm, sd, delta = 8, 8.0, 6.0
    design = tp.Parallel(
        arms=("control", "treatment"),
        n_per_arm=n_arm,
        control="control",
        outcome=tp.Continuous(means={"control": 0.0, "treatment": delta}, sd=sd, better="higher"),
    )
    rule = tp.SampleSizeReestimation(
        conditional_power=0.9, min_factor=1, max_factor=4, round_up=False
    )
    res = design.power(
        sequential=tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025),
        adaptive=rule,
        method="simulation",
        n_sims=200_000,
        seed=3,
        statistic="t",
    )
    estimated = _brute_force_expected_n(standardize="estimated", n_arm=n_arm, sd=sd, delta=delta)
    planning = _brute_force_expected_n(standardize="planning", n_arm=n_arm, sd=sd, delta=delta)
    assert abs(res.expected_n - estimated[0]) < 4 * math.hypot(res.mcse_expected_n, estimated[1])
    assert abs(res.expected_n - planning[0]) > 4 * math.hypot(res.mcse_expected_n, planning[1])
    assert res.extras["statistic"] == "t"
    assert "standardized by the SD estimated from each stage's data" in res.description


@pytest.mark.parametrize(
    ("statistic", "words"),
    [
        ("t", "standardized by the SD estimated from each stage's data"),
        ("z", "standardized by the planning SD"),
        ("wald", "standard error estimated from each stage's observed rates"),
        ("pooled", "pooled-variance standard error"),
        ("exponential", "standard error of each stage's observed events"),
        (None, "the SD estimated from that stage's data under the default t test"),
    ],
)
def test_rule_text_names_how_the_observed_effect_is_standardized(statistic, words) -> None:
    text = tp.SampleSizeReestimation().describe(statistic)
    assert words in text
    assert "with the planning SD" not in text
    planned = tp.SampleSizeReestimation(effect="planned").describe(statistic)
    assert "planning effect, with the" in planned


def test_rule_text_refuses_an_unknown_statistic() -> None:
    with pytest.raises(ValueError, match="statistic"):
        tp.SampleSizeReestimation().describe("welch")
