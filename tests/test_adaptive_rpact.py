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
    res = two_arm(60, 4.0).power(
        sequential=GSD2,
        adaptive=tp.SampleSizeReestimation(
            conditional_power=0.9, min_factor=1, max_factor=4, round_up=False
        ),
        method="simulation",
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
