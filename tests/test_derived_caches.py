"""What a design derives once and shares (issue 16's first-simulation speed).

A factorial's cells and parsed hypotheses depend only on its factors (and, for
the combination's words, the outcome's better direction), so designs with the
same factors share them; a family builds its statistics without re-running
TestStatistic's per-field checks when the family's levels are plain; the
simulation runner shares the stacked contrasts between designs with the same
hypotheses.  These tests check that the sharing never leaks between designs
that differ, and that a bad statistic still raises the constructor's error.
"""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pytest

import trialplan as tp
from trialplan.simulate import runner
from trialplan.statistic import StatisticFamily, TestStatistic

F2 = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
F3 = {"A": ("a0", "a1"), "B": ("b0", "b1"), "C": ("c0", "c1")}


def factorial(factors=F2, better="lower", n=50, means=(0.0, -3.0, -2.0, -8.0), **kw):
    cells = list(tp.Factorial(factors=factors, outcome=_any(factors), n_per_cell=10).cells)
    values = dict(zip(cells, np.resize(means, len(cells)).tolist(), strict=True))
    return tp.Factorial(
        factors=factors,
        outcome=tp.Continuous(means=values, sd=8.0, better=better),
        n_per_cell=n,
        **kw,
    )


def _any(factors):
    import itertools

    return tp.Continuous(means={c: 0.0 for c in itertools.product(*factors.values())}, sd=1.0)


def test_combination_words_follow_each_designs_better_direction():
    lower, higher = factorial(better="lower"), factorial(better="higher")
    assert lower._layout is higher._layout  # same factors: shared cells and names
    assert "active+MBI is lower than each of" in lower.hypothesis("combination").estimand
    assert "active+MBI is higher than each of" in higher.hypothesis("combination").estimand


def test_shared_hypotheses_have_the_published_contrasts_and_are_read_only():
    # 2x2x2: the A:B interaction within C=c1, the difference of differences
    # mu(a1,b1,c1) - mu(a1,b0,c1) - mu(a0,b1,c1) + mu(a0,b0,c1), written out by hand
    # in the cell order (a0,b0,c0), (a0,b0,c1), (a0,b1,c0), ... (first factor slowest).
    d = factorial(F3, means=(0.0,))
    expected = [0, 1, 0, -1, 0, -1, 0, 1]
    for design in (d, factorial(F3, means=(1.0, 2.0), n=30)):  # second: from the cache
        h = design.hypothesis("A:B | C=c1")
        assert h.contrasts.tolist() == [expected]
        with pytest.raises(ValueError, match="read-only"):
            h.contrasts[0, 0] = 5.0
    # the main effect of A in a 2x2x2 averages over four cells each side: +-1/4
    assert d.hypothesis("A").contrasts.tolist() == [[-0.25] * 4 + [0.25] * 4]


def test_a_misspelt_hypothesis_still_raises_after_a_good_one_is_cached():
    d = factorial()
    d.hypothesis("rTMS")
    with pytest.raises(ValueError, match="'rTMs' is not a factor"):
        d.hypothesis("rTMs")
    with pytest.raises(TypeError, match="hypothesis must be a string"):
        d.hypothesis(["rTMS"])


def test_designs_pickle_their_fields_not_what_they_derived():
    d = factorial()
    d.power(method="simulation", n_sims=200, seed=1)  # derives the layout and the model
    assert "_layout_" in d.__dict__
    assert "_model_" in d.__dict__
    state = d.__getstate__()
    assert not any(key.endswith("_") for key in state)
    copy = pickle.loads(pickle.dumps(d))
    assert copy == d
    assert copy.power()["rTMS:MBI"] == d.power()["rTMS:MBI"]


def test_family_statistics_equal_those_the_constructor_checks():
    family = factorial(F3, means=(0.0, 1.0, -2.0, 0.5, 3.0, -1.0, 2.0, -4.0)).statistics()
    singles = [s for s in family if isinstance(s, TestStatistic)]
    combination = family["combination"]
    for stat in singles + list(combination.components):
        fields = {f.name: getattr(stat, f.name) for f in dataclasses.fields(TestStatistic)}
        rebuilt = TestStatistic(**fields)  # the checked constructor accepts it ...
        assert rebuilt == stat  # ... and gives the same statistic
        assert repr(rebuilt) == repr(stat)
    # the interaction's se by hand: 8 * sqrt(8 / 50) (the 2x2x2 A:B:C has 8 cells of +-1)
    assert math.isclose(family["A:B:C"].se, 8.0 * math.sqrt(8 / 50), rel_tol=1e-15)


def _family(**change):
    base = dict(
        hypotheses=("d",),
        estimands=("difference",),
        contrasts=(np.array([[-1.0, 1.0]]),),
        estimates=np.array([0.0, 3.0]),
        covariance=np.diag([1.0, 1.0]),
        cell_of=np.arange(2),
        ratios=np.array([1.0, 1.0]),
        multiplier=20,
        df_rule=tp.Parallel(
            arms=("c", "t"), n_per_arm=20, outcome=tp.Continuous(means={"c": 0, "t": 1}, sd=1.0)
        )
        .statistics()
        .df_rule,
        alpha=0.05,
        sided=2,
        favourable=1,
        method="exact noncentral t",
        scale="mean difference",
    )
    base.update(change)
    return StatisticFamily(**base)


def test_a_zero_standard_error_still_raises_the_constructors_error():
    family = _family(covariance=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"se must be a finite number > 0; got se=0.0"):
        _ = family.statistics


def test_a_non_finite_effect_still_raises_the_constructors_error():
    family = _family(estimates=np.array([0.0, np.inf]))
    with pytest.raises(ValueError, match="effect must be finite"):
        _ = family.statistics


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"alpha": 1.5}, ValueError, "alpha must lie strictly between 0 and 1"),
        ({"sided": 3}, ValueError, "sided"),
        ({"favourable": 0}, ValueError, "favourable must be"),
        ({"favourable": True}, ValueError, "favourable must be"),
    ],
)
def test_bad_family_levels_are_refused_as_before(change, error, match):
    with pytest.raises(error, match=match):
        _ = _family(**change).statistics


def test_numpy_levels_take_the_checked_path_and_give_the_same_statistic():
    plain = _family()["d"]
    numpy_levels = _family(alpha=np.float64(0.05), sided=np.int64(2))["d"]
    assert numpy_levels == plain


def test_designs_with_the_same_hypotheses_share_one_stack_of_contrasts():
    first, second = factorial(n=50), factorial(n=80, means=(1.0, 0.0, 0.0, -5.0))
    plans = []
    for d in (first, second):
        sim = d.simulator()
        plans.append(runner._make_plan(d, d.statistics(), sim, sim.prepare(d), "exact", None))
    assert plans[0].tests is plans[1].tests
    # another direction orients the one-sided rows the other way: not shared
    other = factorial(better="higher", sided=1)
    sim = other.simulator()
    plan = runner._make_plan(other, other.statistics(), sim, sim.prepare(other), "exact", None)
    assert plan.tests is not plans[0].tests


def test_a_new_design_object_simulates_exactly_as_a_reused_one():
    reused = factorial()
    reused.power(method="simulation", n_sims=3000, seed=7)
    again = reused.power(method="simulation", n_sims=3000, seed=11)
    fresh = factorial().power(method="simulation", n_sims=3000, seed=11)
    assert again.extras["rejections"] == fresh.extras["rejections"]
    assert again.to_frame().equals(fresh.to_frame())


def test_the_design_check_remembers_only_classes_that_define_the_protocol():
    class Loose:  # the protocol's members set on one instance, not on the class
        pass

    one = Loose()
    one.statistics = lambda hypotheses=None: None
    one.simulator = lambda: None
    one.simulation_subject = "loose objects"
    assert runner._is_simulated_design(one)
    assert not runner._is_simulated_design(Loose())  # another instance lacks them
    assert runner._is_simulated_design(factorial())
    assert tp.Factorial in runner._SIMULATED_TYPES
    with pytest.raises(TypeError, match="design must be a trialplan design"):
        runner.simulate_power(Loose(), n_sims=10)
