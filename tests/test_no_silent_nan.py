"""No NaN or inf reaches a user silently: inputs that would produce one are refused.

Each case below returned NaN, clipped silently or failed with an unrelated
message before the validation it tests was added (see the audit in the
CHANGELOG); each error must name the parameter, the value and what is allowed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import trialplan as tp


# ------------------------------------------------------------- spending functions
@pytest.mark.parametrize("spending", [
    pytest.param(tp.spending.obrien_fleming(), id="obrien_fleming"),
    pytest.param(tp.spending.pocock(), id="pocock"),
    pytest.param(tp.spending.hwang_shih_decani(-4), id="hwang_shih_decani"),
    pytest.param(tp.spending.power_family(2), id="power_family"),
])
@pytest.mark.parametrize(("fractions", "match"), [
    pytest.param(math.nan, r"fractions must be finite information fractions in \[0, 1\]; "
                 r"got fractions=nan", id="nan"),
    pytest.param([0.5, math.nan], r"got fractions=\[0.5, nan\]", id="nan-in-list"),
    pytest.param(2.0, r"in \[0, 1\]; got fractions=2.0", id="above-one"),
    pytest.param(-0.5, r"in \[0, 1\]; got fractions=-0.5", id="negative"),
    pytest.param(math.inf, r"got fractions=inf", id="inf"),
])
def test_spent_refuses_fractions_outside_the_unit_interval(spending, fractions, match):
    with pytest.raises(ValueError, match=match):
        spending.spent(fractions, 0.025)


@pytest.mark.parametrize(("level", "error", "match"), [
    pytest.param(math.nan, ValueError, r"level must be finite; got level=nan", id="nan"),
    pytest.param(0.0, ValueError, r"level must lie strictly between 0 and 1; got level=0.0",
                 id="zero"),
    pytest.param(1.5, ValueError, r"got level=1.5", id="above-one"),
    pytest.param("0.025", TypeError, r"level must be a real number", id="string"),
])
def test_spent_refuses_a_level_outside_zero_one(level, error, match):
    with pytest.raises(error, match=match):
        tp.spending.pocock().spent([0.5, 1.0], level)


def test_spent_still_accepts_the_closed_interval():
    # Boundary values are legal: nothing is spent at t = 0, everything at t = 1
    # (Lan & DeMets 1983: alpha(0) = 0, alpha(1) = alpha).
    values = tp.spending.obrien_fleming().spent([0.0, 1.0], 0.025)
    assert values.tolist() == [0.0, 0.025]


# ------------------------------------------------------------ Bayesian decision rule
@pytest.mark.parametrize("favourable", [0, 2, -0.5, True, math.nan])
def test_posterior_rule_needs_a_direction(favourable):
    # favourable = 0 made every posterior probability 0.5 whatever the data.
    rule = tp.PosteriorRule(probability=0.975)
    with pytest.raises(ValueError, match=r"favourable must be \+1 .* or -1 .*; got "
                                         r"favourable="):
        rule.posterior_probability(estimate=-3.0, se=1.6, favourable=favourable)
    with pytest.raises(ValueError, match=r"favourable must be"):
        rule.critical_effect(se=1.6, favourable=favourable)
    with pytest.raises(ValueError, match=r"favourable must be"):
        rule.decide(estimate=-3.0, se=1.6, favourable=favourable)


def test_posterior_rule_directions_still_work():
    # Flat prior: P(theta < 0 | estimate -3.2, se 1.6) = Phi(2) (normal cdf, by hand).
    rule = tp.PosteriorRule(probability=0.975)
    expected = 0.5 * math.erfc(-2.0 / math.sqrt(2))
    assert rule.posterior_probability(estimate=-3.2, se=1.6, favourable=-1) == \
        pytest.approx(expected, abs=1e-12)
    assert rule.posterior_probability(estimate=3.2, se=1.6, favourable=1) == \
        pytest.approx(expected, abs=1e-12)


def test_operating_characteristics_refuse_an_empty_list_of_effects():
    cells = [("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI")]
    design = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
                          outcome=tp.Continuous(means=dict(zip(cells, (0, -3, -2, -8),
                                                               strict=True)), sd=8.0),
                          n_per_cell=50)
    with pytest.raises(ValueError, match=r"effects must list at least one true effect.*"
                                         r"got effects=\[\]"):
        tp.PosteriorRule().operating_characteristics(design, hypothesis="rTMS:MBI", effects=[])
    # a list with one effect still gives one row
    frame = tp.PosteriorRule().operating_characteristics(design, hypothesis="rTMS:MBI",
                                                         effects=np.array([0.0]))
    assert len(frame) == 1
