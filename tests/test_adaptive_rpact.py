"""Adaptive designs against rpact 3.3.4 (tests/references/adaptive_rpact.R -> .csv).

Deterministic quantities (critical values, alpha spent, conditional power) to
tight tolerances; simulated ones (power, type I error, expected N) within four
combined Monte Carlo standard errors of the two runs, sqrt(mcse_ours^2 +
mcse_rpact^2).  rpact keeps stage sizes real-valued, so these runs use
``round_up=False``; its default is z tests with the SD known
(``normalApproximation = TRUE``), our ``statistic="z"``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trialplan as tp
from trialplan.adaptive import FisherCombination, conditional_power

REF = pd.read_csv(Path(__file__).parent / "references" / "adaptive_rpact.csv")


def ref(case: str, quantity: str) -> pd.DataFrame:
    rows = REF[(REF["case"] == case) & (REF["quantity"] == quantity)]
    assert not rows.empty, f"no reference {case}/{quantity}"
    return rows.sort_values("stage")


def values(case: str, quantity: str) -> np.ndarray:
    return ref(case, quantity)["value"].to_numpy()


# ------------------------------------------------------------------ designs
@pytest.mark.parametrize(
    ("case", "gsd"),
    [
        pytest.param(
            "inverse_normal_of_2",
            tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025),
            id="rpact-getDesignInverseNormal-asOF-k2",
        ),
        pytest.param(
            "inverse_normal_pocock_3",
            tp.GroupSequential(
                info_fractions=(0.3, 0.6, 1.0), alpha=0.025, efficacy=tp.spending.pocock()
            ),
            id="rpact-getDesignInverseNormal-asP-k3",
        ),
        pytest.param(
            "inverse_normal_of_60",
            tp.GroupSequential(info_fractions=(0.6, 1.0), alpha=0.025),
            id="rpact-getDesignInverseNormal-asOF-60pct",
        ),
    ],
)
def test_inverse_normal_critical_values_are_the_group_sequential_bounds(
    case: str, gsd: tp.GroupSequential
) -> None:
    # The CHW inverse normal statistic has the group-sequential null law, so rpact's
    # inverse normal design has the group-sequential critical values.
    np.testing.assert_allclose(gsd.efficacy_z, values(case, "critical_value"), atol=2e-6)


FISHER = [
    pytest.param("fisher_equal_2", {"info_fractions": (0.5, 1.0)}, id="equalAlpha-k2"),
    pytest.param("fisher_equal_2_unequal", {"info_fractions": (0.25, 1.0)}, id="equalAlpha-k2-w"),
    pytest.param("fisher_equal_3", {"info_fractions": (1 / 3, 2 / 3, 1.0)}, id="equalAlpha-k3"),
    pytest.param(
        "fisher_equal_3_binding",
        {"info_fractions": (0.2, 0.5, 1.0), "alpha0": (0.5, 0.4), "binding": True},
        id="equalAlpha-k3-binding-futility",
    ),
    pytest.param(
        "fisher_no_interaction_3",
        {
            "info_fractions": (0.2, 0.5, 1.0),
            "alpha0": (0.5, 0.4),
            "binding": True,
            "method": "no_interaction",
        },
        id="noInteraction-k3",
    ),
    pytest.param(
        "fisher_user_3",
        {"info_fractions": (0.3, 0.6, 1.0), "method": (0.005, 0.015, 0.025)},
        id="userDefinedAlpha-k3",
    ),
    pytest.param("fisher_equal_4", {"info_fractions": (0.25, 0.5, 0.75, 1.0)}, id="equalAlpha-k4"),
]


@pytest.mark.parametrize(("case", "kwargs"), FISHER)
def test_fisher_critical_values_match_rpact(case: str, kwargs: dict) -> None:
    design = FisherCombination(alpha=0.025, **kwargs)
    np.testing.assert_allclose(design.critical_values, values(case, "critical_value"), rtol=1e-7)
    np.testing.assert_allclose(design.alpha_spent, values(case, "alpha_spent"), atol=1e-9)


# -------------------------------------------------------- conditional power
def test_conditional_power_inverse_normal_one_stage_seen() -> None:
    # rpact getConditionalPower(stageResults, nPlanned = c(40, 60), thetaH1 = 0.6,
    # assumedStDev = 1.05): a two-arm stage with n in all has information n / (4 sd^2).
    gsd = tp.GroupSequential(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025)
    cp = conditional_power(
        gsd,
        z=values("cp_inverse_normal_3", "stage_z"),
        effect=0.6,
        information=np.array([40.0, 60.0]) / (4 * 1.05**2),
    )
    expected = values("cp_inverse_normal_3", "conditional_power")[1:]
    np.testing.assert_allclose(cp, expected, atol=1e-7)


def test_conditional_power_inverse_normal_two_stages_seen() -> None:
    gsd = tp.GroupSequential(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025)
    cp = conditional_power(
        gsd, z=values("cp_inverse_normal_3b", "stage_z"), effect=0.4, information=[50 / 4]
    )
    assert cp[-1] == pytest.approx(
        values("cp_inverse_normal_3b", "conditional_power")[-1], abs=1e-7
    )


def test_conditional_power_fisher_last_stage() -> None:
    design = FisherCombination(info_fractions=(0.5, 1.0), alpha=0.025)
    cp = conditional_power(
        design, z=values("cp_fisher_2", "stage_z"), effect=0.5, information=[60 / 4]
    )
    assert cp[-1] == pytest.approx(values("cp_fisher_2", "conditional_power")[-1], abs=1e-7)


# ------------------------------------------------ simulated re-estimation
def two_arm(n_per_arm: int, difference: float) -> tp.Parallel:
    return tp.Parallel(
        arms=("control", "treatment"),
        n_per_arm=n_per_arm,
        outcome=tp.Continuous(
            means={"control": 0.0, "treatment": difference}, sd=8.0, better="higher"
        ),
    )


GSD2 = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
SSR_CASES = [
    pytest.param(
        "ssr_means_observed",
        two_arm(60, 4.0),
        GSD2,
        tp.SampleSizeReestimation(
            conditional_power=0.9, min_factor=1, max_factor=2, round_up=False
        ),
        "z",
        id="rpact-getSimulationMeans-observed-effect",
    ),
    pytest.param(
        "ssr_means_t",
        two_arm(60, 4.0),
        GSD2,
        tp.SampleSizeReestimation(
            conditional_power=0.9, min_factor=1, max_factor=2, round_up=False
        ),
        "t",
        id="rpact-getSimulationMeans-t-tests",
    ),
    pytest.param(
        "ssr_means_planned",
        two_arm(60, 3.0),
        GSD2,
        tp.SampleSizeReestimation(
            conditional_power=0.8, effect=4.0, min_factor=0.5, max_factor=3, round_up=False
        ),
        "z",
        id="rpact-getSimulationMeans-thetaH1",
    ),
    pytest.param(
        "ssr_means_3",
        two_arm(90, 3.0),
        tp.GroupSequential(
            info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025, efficacy=tp.spending.pocock()
        ),
        tp.SampleSizeReestimation(
            conditional_power=0.9, min_factor=1, max_factor=2.5, round_up=False
        ),
        "z",
        id="rpact-getSimulationMeans-3-stages",
    ),
    pytest.param(
        "ssr_means_fisher",
        two_arm(60, 4.0),
        FisherCombination(info_fractions=(0.5, 1.0), alpha=0.025),
        tp.SampleSizeReestimation(
            conditional_power=0.9, min_factor=1, max_factor=2, round_up=False
        ),
        "z",
        id="rpact-getSimulationMeans-Fisher",
    ),
]


def close(ours: float, ours_mcse: float, row: pd.Series) -> bool:
    return abs(ours - row["value"]) <= 4 * math.hypot(ours_mcse, row["mcse"])


@pytest.mark.parametrize(("case", "design", "sequential", "rule", "statistic"), SSR_CASES)
def test_reestimation_matches_rpact_simulation(
    case: str, design: tp.Parallel, sequential: object, rule: object, statistic: str
) -> None:
    res = design.power(
        sequential=sequential,
        adaptive=rule,
        method="simulation",
        n_sims=200_000,
        seed=20260101,
        statistic=statistic,
    )
    name = "treatment vs control"
    null_power = ref(f"{case}_alt1", "power").iloc[0]
    assert close(res.type_i_error[name], res.mcse_type_i_error[name], null_power)
    null_n = ref(f"{case}_alt1", "expected_n").iloc[0]
    # The H0 expected N's MCSE is not on the result; bound it by the H1 one's scale.
    assert abs(res.expected_n_h0 - null_n["value"]) <= 4 * math.hypot(null_n["mcse"], 0.3)
    power = ref(f"{case}_alt2", "power").iloc[0]
    assert close(res[name], res.mcse[name], power)
    expected_n = ref(f"{case}_alt2", "expected_n").iloc[0]
    assert close(res.expected_n, res.mcse_expected_n, expected_n)
    per_stage = ref(f"{case}_alt2", "reject_per_stage")
    for k, row in enumerate(per_stage.itertuples()):
        p = float(res.stages["stop_efficacy"].iloc[k])
        assert abs(p - row.value) <= 4 * math.hypot(math.sqrt(p * (1 - p) / 200_000), row.mcse)


def test_naive_analysis_matches_rpact_group_sequential_simulation() -> None:
    # rpact simulates a GROUP-SEQUENTIAL design with re-estimation by pooling the stages
    # with their observed sizes; its type I error is above alpha (0.0307 at 200,000 trials).
    res = tp.adaptive.adaptive_power(
        two_arm(60, 4.0),
        sequential=GSD2,
        adaptive=tp.SampleSizeReestimation(
            conditional_power=0.9, min_factor=1, max_factor=4, round_up=False
        ),
        n_sims=200_000,
        seed=5,
        statistic="z",
        analysis="pooled",
    )
    name = "treatment vs control"
    row = ref("ssr_means_naive_alt1", "power").iloc[0]
    assert close(res.type_i_error[name], res.mcse_type_i_error[name], row)
    assert row["value"] - 4 * row["mcse"] > 0.025  # rpact's own run shows the inflation


def test_rtms_mbi_interaction_matches_rpact_two_sample_equivalent() -> None:
    # The interaction IC = -3 (sd 8) with n per cell has Var = 4 sd^2 / n, as a two-sample
    # comparison with n / 2 per arm: rpact's plannedSubjects = N / 4 = (90, 150).
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
        n_per_cell=150,
    )
    gsd = tp.GroupSequential(info_fractions=(0.6, 1.0), alpha=0.025)
    rule = tp.SampleSizeReestimation(
        conditional_power=0.9, min_factor=1.0, max_factor=3.0, round_up=False
    )
    res = design.power(
        sequential=gsd, adaptive=rule, method="simulation", n_sims=200_000, seed=11, statistic="z"
    )
    assert close(res["rTMS:MBI"], res.mcse["rTMS:MBI"], ref("ssr_rtms_mbi_alt2", "power").iloc[0])
    assert close(
        res.type_i_error["rTMS:MBI"],
        res.mcse_type_i_error["rTMS:MBI"],
        ref("ssr_rtms_mbi_alt1", "power").iloc[0],
    )
    row = ref("ssr_rtms_mbi_alt2", "expected_n").iloc[0]
    assert abs(res.expected_n / 4 - row["value"]) <= 4 * math.hypot(
        res.mcse_expected_n / 4, row["mcse"]
    )


# --------------------------------------------------------------- inference
def stage_inputs(n1, n2, m1, m2, s1, s2):  # noqa: ANN001, ANN201 - test helper
    n1, n2 = np.asarray(n1, float), np.asarray(n2, float)
    pooled = np.sqrt(((n1 - 1) * np.square(s1) + (n2 - 1) * np.square(s2)) / (n1 + n2 - 2))
    se = pooled * np.sqrt(1 / n1 + 1 / n2)
    return np.asarray(m1) - np.asarray(m2), se, n1 + n2 - 2, np.sqrt(1 / n1 + 1 / n2)


DATA3 = stage_inputs(
    [22, 24, 21], [21, 23, 22], [1.3, 1.1, 0.9], [0.4, 0.5, 0.3], [1.1, 1.2, 1.0], [1.0, 0.9, 1.1]
)
DATA2 = stage_inputs([30, 45], [30, 44], [0.5, 0.6], [0.2, 0.25], [1.0, 1.1], [1.05, 0.95])
DATA1 = stage_inputs([40], [40], [1.5], [0.2], [1.0], [1.1])
GSD3 = tp.GroupSequential(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025)


@pytest.mark.parametrize(
    ("case", "sequential", "data", "normal"),
    [
        pytest.param("inference_z", GSD3, DATA3, True, id="rpact-getAnalysisResults-z-3"),
        pytest.param("inference_t", GSD3, DATA3, False, id="rpact-getAnalysisResults-t-3"),
        pytest.param("inference_2stage", GSD2, DATA2, True, id="rpact-getAnalysisResults-2"),
        pytest.param("inference_stop1", GSD2, DATA1, True, id="rpact-getAnalysisResults-stop1"),
        pytest.param(
            "inference_fisher",
            FisherCombination(info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.025),
            DATA3,
            True,
            id="rpact-getAnalysisResults-Fisher-3",
        ),
    ],
)
def test_repeated_inference_and_final_p_value_match_rpact(
    case: str, sequential: object, data: tuple, normal: bool
) -> None:
    est, se, df, _ = data
    res = tp.adaptive.final_analysis(
        sequential, estimates=est, standard_errors=se, df=None if normal else df
    )
    k = res.stage_z.size
    np.testing.assert_allclose(res.stage_z, values(case, "stage_z_rpact")[:k], atol=1e-9)
    np.testing.assert_allclose(res.repeated_ci[:, 0], values(case, "repeated_ci_lower"), atol=1e-6)
    np.testing.assert_allclose(res.repeated_ci[:, 1], values(case, "repeated_ci_upper"), atol=1e-6)
    # rpact finds repeated p-values by bisection to C_ANALYSIS_TOLERANCE_DEFAULT = 1e-6
    np.testing.assert_allclose(res.repeated_p_values, values(case, "repeated_p_value"), atol=1e-6)
    assert res.stage == int(values(case, "final_stage")[0])
    assert res.final_p_value == pytest.approx(values(case, "final_p_value")[0], rel=1e-6)


@pytest.mark.parametrize(
    ("case", "sequential", "data"),
    [
        pytest.param("inference_z", GSD3, DATA3, id="rpact-final-CI-3-stages"),
        pytest.param("inference_2stage", GSD2, DATA2, id="rpact-final-CI-2-stages"),
        pytest.param("inference_stop1", GSD2, DATA1, id="rpact-final-CI-stage-1"),
    ],
)
def test_final_ci_and_median_unbiased_estimate_match_rpact(
    case: str, sequential: object, data: tuple
) -> None:
    # rpact shifts the combination statistic with the overall SD of the final stage,
    # se_k = sd_overall sqrt(1/n1k + 1/n2k), keeping each stage's own z statistic.
    est, se, _, scale = data
    stage = int(values(case, "final_stage")[0])
    sd = values(case, "overall_sd")[0] if stage > 1 else None
    shift_se = se if sd is None else sd * scale
    z = est / se
    res = tp.adaptive.final_analysis(sequential, estimates=z * shift_se, standard_errors=shift_se)
    assert res.final_ci[0] == pytest.approx(values(case, "final_ci_lower")[0], abs=1e-6)
    assert res.final_ci[1] == pytest.approx(values(case, "final_ci_upper")[0], abs=1e-6)
    assert res.median_unbiased == pytest.approx(values(case, "median_unbiased")[0], abs=1e-6)


def test_binary_reestimation_matches_rpact_rates() -> None:
    # rpact getSimulationRates with a calcSubjectsFunction applying trialplan's canonical
    # rule, its pooled-variance z test = our statistic="pooled"; 100,000 trials each.
    design = tp.Parallel(
        arms=("control", "treatment"),
        n_per_arm=150,
        outcome=tp.Binary(rates={"control": 0.3, "treatment": 0.45}, better="higher"),
    )
    res = design.power(
        sequential=GSD2,
        adaptive=tp.SampleSizeReestimation(min_factor=1.0, max_factor=2.0),
        method="simulation",
        n_sims=100_000,
        seed=17,
        statistic="pooled",
    )
    name = "treatment vs control"
    assert close(res[name], res.mcse[name], ref("ssr_rates_alt2", "power").iloc[0])
    assert close(
        res.type_i_error[name], res.mcse_type_i_error[name], ref("ssr_rates_alt1", "power").iloc[0]
    )
    assert close(res.expected_n, res.mcse_expected_n, ref("ssr_rates_alt2", "expected_n").iloc[0])


@pytest.mark.slow
def test_time_to_event_reestimation_matches_rpact_survival() -> None:
    # rpact getSimulationSurvival (log-rank) against trialplan's exponential-model Wald z,
    # both by stage-wise increments, rpact's events rule; 20,000 trials each.
    design = tp.Parallel(
        arms=("control", "treatment"),
        n_per_arm=300,
        outcome=tp.TimeToEvent(
            hazards={"control": 0.1, "treatment": 0.08}, accrual=12.0, follow_up=12.0
        ),
    )
    res = design.power(
        sequential=GSD2,
        adaptive=tp.SampleSizeReestimation(min_factor=1.0, max_factor=1.5),
        method="simulation",
        n_sims=20_000,
        seed=17,
    )
    name = "treatment vs control"
    assert close(res[name], res.mcse[name], ref("ssr_survival_alt2", "power").iloc[0])
    assert close(
        res.type_i_error[name],
        res.mcse_type_i_error[name],
        ref("ssr_survival_alt1", "power").iloc[0],
    )
    events = ref("ssr_survival_alt2", "expected_events").iloc[0]
    assert close(res.extras["expected_units"], res.extras["mcse_expected_units"], events)
