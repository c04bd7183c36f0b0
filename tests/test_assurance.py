"""Assurance and Bayesian decision rules.

Expected values: REFERENCES.md (O'Hagan, Stevens & Campbell 2005 closed form,
0.678 / 0.963) and tests/references/multiplicity_mvtnorm.R (R integrate() of
pt(ncp=) over the prior; conjugate normal posterior typed out by hand).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

import trialplan as tp
from trialplan.assurance import statistic_assurance
from trialplan.statistic import TestStatistic

REFS = Path(__file__).parent / "references"
CELLS = [("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI")]


def fixture():
    with open(REFS / "multiplicity_mvtnorm.csv", newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    return {(r["case"], r["quantity"]): float(r["value"]) for r in rows}


REF = fixture()


def design(n=100, better="lower", sign=1.0):
    mu = [sign * m for m in (0.0, -3.0, -2.0, -8.0)]
    return tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(means=dict(zip(CELLS, mu, strict=True)), sd=8.0, better=better),
        n_per_cell=n,
    )


def two_arm_z():
    # REFERENCES.md: two arms of 450, sd 8, one-sided .025 z test
    return TestStatistic(
        hypothesis="new vs control",
        estimand="mean difference",
        effect=2.0,
        se=8 * math.sqrt(2 / 450),
        df=math.inf,
        sided=1,
        alpha=0.025,
        favourable=1,
    )


@pytest.mark.parametrize(
    "prior",
    [
        pytest.param(tp.NormalPrior(mean=2.0, sd=2.0), id="NormalPrior"),
        pytest.param(scipy.stats.norm(2, 2), id="scipy-norm"),
    ],
)
def test_ohagan_closed_form_reference(prior):
    # REFERENCES.md, assurance: N(2, 2^2) prior, 450/arm, sd 8 -> 0.678; power at 2: 0.963
    res = statistic_assurance(two_arm_z(), prior=prior)
    assert res.value == pytest.approx(0.678, abs=5e-4)
    assert res.power_at_prior_mean == pytest.approx(0.963, abs=5e-4)
    assert res.mcse is None
    assert "closed form" in res.method


def test_t_statistic_prior_quadrature_matches_r_integrate():
    # multiplicity_mvtnorm.R case 4: integrate(dnorm(th, -4, 2) * power_t(th)), df 396
    res = design().assurance(hypothesis="rTMS:MBI", prior=scipy.stats.norm(-4, 2))
    assert res.value == pytest.approx(REF[("assurance-n100-norm(-4,2)", "assurance")], abs=1e-8)
    assert res.power_at_prior_mean == pytest.approx(
        REF[("assurance-n100-norm(-4,2)", "power-at-prior-mean")], abs=1e-10
    )
    assert "Gauss-Hermite" in res.method


def test_non_normal_prior_matches_r_integrate():
    # multiplicity_mvtnorm.R: IC benefit ~ Gamma(4, 1).  Mirror the design (higher is
    # better, means negated) so the interaction itself is the gamma variable.
    d = design(better="higher", sign=-1.0)
    res = d.assurance(hypothesis="rTMS:MBI", prior=scipy.stats.gamma(4, scale=1.0))
    assert res.value == pytest.approx(REF[("assurance-n100-gamma", "assurance")], abs=1e-6)


def test_prior_sample_monte_carlo_within_mcse():
    rng = np.random.default_rng(7)
    draws = rng.normal(-4.0, 2.0, 20_000)
    res = design().assurance(hypothesis="rTMS:MBI", prior=draws)
    exact = REF[("assurance-n100-norm(-4,2)", "assurance")]
    assert res.n_draws == 20_000
    assert abs(res.value - exact) < 4 * res.mcse


def test_simulation_method_within_mcse():
    res = design().assurance(
        hypothesis="rTMS:MBI",
        prior=scipy.stats.norm(-4, 2),
        method="simulation",
        n_sims=20_000,
        seed=5,
    )
    exact = REF[("assurance-n100-norm(-4,2)", "assurance")]
    assert abs(res.value - exact) < 4 * res.mcse


def test_narrow_prior_tends_to_power():
    # a prior of sd 1e-6 is (almost) a point mass: assurance -> favourable-tail power,
    # P(T < -t_.975,396) for the noncentral t with ncp IC / se = -3 / 1.6 (scipy).
    # (The two-sided power adds the far tail, 6.4e-5, which assurance leaves out.)
    d = design()
    res = d.assurance(hypothesis="rTMS:MBI", prior=tp.NormalPrior(mean=-3.0, sd=1e-6))
    crit = scipy.stats.t.isf(0.025, 396)
    expected = scipy.stats.nct.cdf(-crit, 396, -3.0 / 1.6)
    assert res.value == pytest.approx(expected, abs=1e-8)


# ---------------------------------------------------------------- decision rules
def test_flat_prior_rule_is_the_one_sided_z_test():
    # P(theta > 0 | data) >= .975 under a flat prior <=> z >= 1.96: type I error .025
    oc = tp.PosteriorRule(probability=0.975).operating_characteristics(
        design(), hypothesis="rTMS:MBI"
    )
    null = oc.set_index("scenario").loc["no effect", "probability_of_success"]
    assert null == pytest.approx(0.025, abs=1e-12)
    # at the planned IC = -3, se = 1.6: Phi(3/1.6 - 1.959964)
    planned = oc.set_index("scenario").loc["planned effect", "probability_of_success"]
    assert planned == pytest.approx(scipy.stats.norm.cdf(3 / 1.6 - 1.959963985), abs=1e-8)


def test_sceptical_prior_rule_matches_r():
    # multiplicity_mvtnorm.R case 5: prior N(0, 2^2), threshold 1 point, gamma = 0.9
    rule = tp.PosteriorRule(threshold=1.0, probability=0.9, prior=tp.NormalPrior(mean=0.0, sd=2.0))
    prob = rule.posterior_probability(estimate=-3.5, se=1.6, favourable=-1)
    assert prob == pytest.approx(REF[("posterior-sceptical", "posterior-probability")], abs=1e-12)
    assert rule.critical_effect(se=1.6, favourable=-1) == pytest.approx(
        REF[("posterior-sceptical", "critical-benefit")], abs=1e-10
    )
    oc = rule.operating_characteristics(design(), hypothesis="rTMS:MBI", effects=[0.0, -4.0])
    assert oc["probability_of_success"].tolist() == pytest.approx(
        [
            REF[("posterior-sceptical", "success-at-0")],
            REF[("posterior-sceptical", "success-at-minus4")],
        ],
        abs=1e-10,
    )


def test_rule_assurance_row_is_closed_form():
    # flat prior, threshold 0, .975: same as the z-test assurance Phi((3 - 1.96*1.6)/sqrt(...))
    oc = tp.PosteriorRule().operating_characteristics(
        design(), hypothesis="rTMS:MBI", design_prior=tp.NormalPrior(mean=-3.0, sd=2.0)
    )
    row = oc.iloc[-1]
    expected = scipy.stats.norm.cdf((3 - 1.959963985 * 1.6) / math.sqrt(1.6**2 + 4))
    assert row["probability_of_success"] == pytest.approx(expected, abs=1e-8)


# ------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        pytest.param(
            lambda: tp.NormalPrior(mean=-4.0, sd=0.0),
            ValueError,
            r"sd must be.*sd=0\.0",
            id="NormalPrior-sd-zero",
        ),
        pytest.param(
            lambda: tp.NormalPrior(mean=-4.0, sd=-1.0),
            ValueError,
            "sd=-1.0",
            id="NormalPrior-sd-negative",
        ),
        pytest.param(
            lambda: design().assurance(hypothesis="rTMS:MBI", prior=scipy.stats.norm(-4, 0)),
            ValueError,
            "prior sd must be",
            id="scipy-norm-scale-zero",
        ),
        pytest.param(
            lambda: design().assurance(hypothesis="rTMS:MBI", prior=scipy.stats.norm(-4, -2)),
            ValueError,
            "prior sd must be",
            id="scipy-norm-scale-negative",
        ),
        pytest.param(
            lambda: design().assurance(hypothesis="combination", prior=scipy.stats.norm(-4, 2)),
            ValueError,
            "intersection-union",
            id="combination",
        ),
        pytest.param(
            lambda: design().assurance(hypothesis="rTMS:MBI", prior=-4.0),
            TypeError,
            "prior must be",
            id="number-prior",
        ),
        pytest.param(
            lambda: design().assurance(hypothesis="rTMS:MBI", prior=[1.0, np.nan]),
            ValueError,
            "finite",
            id="sample-nan",
        ),
        pytest.param(
            lambda: design().assurance(
                hypothesis="rTMS:MBI", prior=scipy.stats.norm(-4, 2), method="quad"
            ),
            ValueError,
            "method='quad'",
            id="method",
        ),
        pytest.param(
            lambda: tp.PosteriorRule(probability=1.0),
            ValueError,
            "probability=1.0",
            id="rule-probability",
        ),
        pytest.param(
            lambda: tp.PosteriorRule(prior=scipy.stats.norm(0, 1)),
            TypeError,
            "NormalPrior",
            id="rule-prior-type",
        ),
    ],
)
def test_bad_input(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_posterior_rule_with_a_near_point_prior() -> None:
    # sd=1e-300 squared underflowed to 0 and the precision form divided by it
    # (ZeroDivisionError).  A point prior at -1 (lower is better) makes the
    # posterior that point: success is certain whatever the estimate.
    rule = tp.PosteriorRule(prior=tp.NormalPrior(mean=-1.0, sd=1e-300))
    assert rule.posterior(estimate=-3.0, se=1.6) == (-1.0, 1e-300)
    assert rule.posterior_probability(estimate=5.0, se=1.6) == 1.0
    assert rule.critical_effect(se=1.6, favourable=-1) == -math.inf
    # Conjugate normal by hand: mean (m se^2 + e sd^2) / (sd^2 + se^2), sd sd*se/h.
    rule = tp.PosteriorRule(prior=tp.NormalPrior(mean=-1.0, sd=2.0))
    mean, sd = rule.posterior(estimate=-3.0, se=1.6)
    assert mean == pytest.approx((-1.0 * 2.56 - 3.0 * 4.0) / 6.56, rel=1e-14)
    assert sd == pytest.approx(2.0 * 1.6 / math.sqrt(6.56), rel=1e-14)
