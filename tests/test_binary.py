"""Binary outcomes: scales, RERI, synergy index, sample size and bad input."""

import csv
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import trialplan as tp
from trialplan.outcomes.binary import ScaleDisagreementWarning

REF = Path(__file__).parent / "references" / "binary_interaction.csv"
FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
# REFERENCES.md "binary scale reversal": p00 = .12, p10 = .30, p01 = .22, p11 = .50.
REVERSAL = {
    ("sham", "control"): 0.12,
    ("active", "control"): 0.30,
    ("sham", "MBI"): 0.22,
    ("active", "MBI"): 0.50,
}


def reference() -> dict[str, float]:
    with REF.open() as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["quantity"]: float(row["value"]) for row in rows}


def two_arm(p0: float, p1: float, scale: str, n: int = 50) -> tp.Factorial:
    return tp.Factorial(
        factors={"arm": ("control", "treated")},
        outcome=tp.Binary(rates={("control",): p0, ("treated",): p1}, scale=scale),
        n_per_cell=n,
    )


def reversal(n: int = 579, scale: str = "risk_difference") -> tp.Factorial:
    return tp.Factorial(
        factors=FACTORS, outcome=tp.Binary(rates=REVERSAL, scale=scale), n_per_cell=n
    )


def test_two_proportions_186_total_arcsine() -> None:
    # REFERENCES.md: .30 vs .50, alpha .05 two-sided, 80% -> N = 186 (93 per arm),
    # G*Power / R pwr.2p.test (Cohen's h; n = 92.70 in binary_interaction.csv).
    ss = two_arm(0.30, 0.50, "arcsine").sample_size(power=0.8, hypothesis="arm")
    assert ss.n_per_cell == math.ceil(reference()["n_per_arm_arcsine"]) == 93
    assert ss.n_total == 186


def test_two_proportions_unpooled_wald() -> None:
    # The unpooled Wald test on the risk difference needs fewer: 90.26 -> 91 per arm
    # ((z_.975 + z_.8)^2 (p1 q1 + p2 q2) / d^2, computed in binary_interaction.R). The
    # 186 of G*Power comes from a variance-stabilized / pooled-variance test.
    ss = two_arm(0.30, 0.50, "risk_difference").sample_size(power=0.8, hypothesis="arm")
    assert ss.n_per_cell == math.ceil(reference()["n_per_arm_wald_unpooled"]) == 91


def test_reversal_sample_size_579_per_cell() -> None:
    # REFERENCES.md: RD-scale interaction .10, Wald with p(1-p)/n variances: ~579 per cell.
    ss = reversal(n=20).sample_size(power=0.8, hypothesis="rTMS:MBI")
    assert ss.n_per_cell == 579
    assert ss.power == pytest.approx(reference()["power_rd_interaction_n579"], abs=1e-9)


@pytest.mark.parametrize(
    ("measure", "est_key", "se_key"),
    [
        pytest.param(
            "risk_difference", "ic_risk_difference", "se_risk_difference", id="RD-IC-0.10-Rothman"
        ),
        pytest.param("log_risk", "ic_log_risk", "se_log_risk", id="logRR-IC-minus0.095"),
        pytest.param("log_odds", "ic_log_odds", "se_log_odds", id="logOR-IC-plus0.121"),
        pytest.param("RERI", "reri", "se_reri", id="RERI-0.833-VanderWeele-Knol-2014"),
        pytest.param(
            "log_synergy_index",
            "log_synergy_index",
            "se_log_synergy_index",
            id="logSI-delta-method",
        ),
    ],
)
def test_interaction_scales_match_r(measure: str, est_key: str, se_key: str) -> None:
    # Estimates from the definitions; SEs by finite-difference delta method in R.
    ref = reference()
    design = reversal()
    with pytest.warns(ScaleDisagreementWarning):
        table = design.outcome.interaction_scales(design)
    row = table.set_index("measure").loc[measure]
    assert row["estimate"] == pytest.approx(ref[est_key], rel=1e-9)
    assert row["se"] == pytest.approx(ref[se_key], rel=1e-6)


def test_published_rounded_values() -> None:
    # REFERENCES.md: IC(RD) = 0.10; RERI = 0.833; log-OR IC ~ +0.121; log-RR IC ~ -0.095.
    design = reversal()
    with pytest.warns(ScaleDisagreementWarning, match="log_risk"):
        est = design.outcome.interaction_scales(design).set_index("measure")["estimate"]
    assert round(est["risk_difference"], 3) == 0.100
    assert round(est["RERI"], 3) == 0.833
    assert round(est["log_odds"], 3) == 0.121
    assert round(est["log_risk"], 3) == -0.095


def test_power_result_shows_every_scale_and_warns() -> None:
    with pytest.warns(ScaleDisagreementWarning):
        res = reversal().power()
    for name in (
        "rTMS:MBI (log_risk)",
        "rTMS:MBI (log_odds)",
        "rTMS:MBI (RERI)",
        "rTMS:MBI (log_synergy_index)",
    ):
        assert name in res
    assert "rTMS:MBI (risk_difference)" not in res  # the tested scale is the main row
    assert res["rTMS:MBI"] == pytest.approx(reference()["power_rd_interaction_n579"])


def test_no_warning_when_scales_agree() -> None:
    rates = {
        ("sham", "control"): 0.10,
        ("active", "control"): 0.20,
        ("sham", "MBI"): 0.20,
        ("active", "MBI"): 0.60,
    }  # super-multiplicative
    design = tp.Factorial(factors=FACTORS, outcome=tp.Binary(rates=rates), n_per_cell=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        design.power()


def test_log_odds_scale_statistic() -> None:
    # theta = logit(.5) - logit(.3) - logit(.22) + logit(.12); se from 1/(n p q) sums.
    stat = reversal(scale="log_odds").statistics("rTMS:MBI")[0]
    assert stat.effect == pytest.approx(reference()["ic_log_odds"])
    assert stat.se == pytest.approx(reference()["se_log_odds"])
    assert math.isinf(stat.df)


def test_main_effect_rd_by_hand() -> None:
    # Main effect of rTMS = mean of simple RDs (.18 + .28)/2; var = sum p q / (4 n).
    stat = reversal(n=100).statistics("rTMS")[0]
    p = np.array(list(REVERSAL.values()))
    assert stat.effect == pytest.approx(0.23)
    assert stat.se == pytest.approx(math.sqrt(np.sum(p * (1 - p)) / 4 / 100))


def test_lower_is_better_one_sided() -> None:
    design = tp.Factorial(
        factors={"arm": ("control", "treated")},
        outcome=tp.Binary(rates={("control",): 0.4, ("treated",): 0.3}, better="lower"),
        n_per_cell=200,
        sided=1,
        alpha=0.025,
    )
    z = 0.1 / math.sqrt((0.24 + 0.21) / 200)
    from scipy.stats import norm

    assert design.power()["arm"] == pytest.approx(norm.cdf(z - norm.isf(0.025)))


@pytest.mark.parametrize("rate", [0.0, 1.0, -0.1, 1.5])
def test_rates_outside_unit_interval(rate: float) -> None:
    with pytest.raises(ValueError, match=r"rates\[.*\] must lie strictly between 0 and 1"):
        tp.Binary(rates={"a": 0.3, "b": rate})


def test_bad_scale_and_types() -> None:
    with pytest.raises(ValueError, match="scale='log_ratio' is not allowed.*log_risk"):
        tp.Binary(rates={"a": 0.3}, scale="log_ratio")
    with pytest.raises(TypeError, match="rates must be a mapping"):
        tp.Binary(rates=[0.3, 0.4])
    with pytest.raises(TypeError, match="must be a real number"):
        tp.Binary(rates={"a": "0.3"})


def test_interaction_scales_needs_two_factors() -> None:
    design = two_arm(0.3, 0.5, "risk_difference")
    with pytest.raises(ValueError, match="exactly two factors"):
        design.outcome.interaction_scales(design)
    design = reversal()
    with pytest.raises(ValueError, match="not the design's interaction"):
        design.outcome.interaction_scales(design, "MBI:rTMS")
    # a non-string hypothesis failed with "'int' object has no attribute 'replace'"
    with pytest.raises(
        TypeError,
        match=r"hypothesis must be the interaction's name, e\.g\. "
        r"'.+:.+'; got hypothesis=5",
    ):
        design.outcome.interaction_scales(design, 5)


# ------------------------------------------------------------------ simulation
@pytest.mark.parametrize("scale", ["risk_difference", "log_odds", "log_risk", "arcsine"])
def test_exact_simulation_agrees_with_wald(scale: str) -> None:
    # Binomial counts analysed by the same Wald statistics: at 400 per cell the Wald
    # normal approximation holds, so simulated and analytic power agree within MC error.
    rates = {
        ("sham", "control"): 0.20,
        ("active", "control"): 0.32,
        ("sham", "MBI"): 0.28,
        ("active", "MBI"): 0.45,
    }
    design = tp.Factorial(
        factors=FACTORS, outcome=tp.Binary(rates=rates, scale=scale), n_per_cell=400
    )
    names = ["rTMS", "rTMS:MBI", "combination"]
    sim = design.power(names, method="simulation", n_sims=6000, seed=11)
    exact = design.power(names)
    for name in names:
        assert abs(sim[name] - exact[name]) < 4 * max(sim.mcse[name], 0.002), name


def test_zero_cell_rule_is_counted() -> None:
    # P(a trial has a cell with 0 or n events) = 1 - prod_j (1 - q_j^n - p_j^n),
    # computed here from the binomial law; the simulator counts those trials.
    from trialplan.simulate.binary import ZERO_CELL_KEY

    rates = {("control",): 0.04, ("treated",): 0.10}
    design = tp.Factorial(
        factors={"arm": ("control", "treated")},
        outcome=tp.Binary(rates=rates, scale="log_odds"),
        n_per_cell=25,
    )
    n_sims = 8000
    sim = design.power(method="simulation", n_sims=n_sims, seed=5)
    p = np.array([0.04, 0.10])
    expected = 1 - np.prod(1 - (1 - p) ** 25 - p**25)
    observed = sim.extras["counts"][ZERO_CELL_KEY] / n_sims
    assert observed == pytest.approx(
        expected, abs=4 * math.sqrt(expected * (1 - expected) / n_sims)
    )
    assert sim.extras["nonfinite"]["arm"] == 0  # the rule leaves no undefined statistic


# The GLM (individual) engine is checked against the exact power of its Wald test,
# enumerated over all binomial outcomes, in tests/test_formula_references.py (3000
# trials, 4 MCSE, no slack); it was 300 trials + 0.01 against the normal approximation.
