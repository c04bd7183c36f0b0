"""The bivariate normal probabilities behind every two-statistic power (the min test).

Expected values: Sheppard's closed form for the quadrant probability,
Phi2(0, 0; rho) = 1/4 + asin(rho) / (2 pi) (Sheppard 1898), the independence case
Phi(h) Phi(k), and the slower product-form quadrature (an independent route); the
min-test powers themselves are checked against mvtnorm::pmvt in
tests/test_factorial.py (min_test_power.csv).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from trialplan.power import _bvn_lower, rectangle_probability


@pytest.mark.parametrize("rho", [-0.925, -0.6, -0.2, 0.1, 0.5, 0.74, 0.925])
def test_quadrant_probability_is_sheppards(rho: float) -> None:
    value = float(_bvn_lower(np.array(0.0), np.array(0.0), rho))
    assert value == pytest.approx(0.25 + math.asin(rho) / (2 * math.pi), abs=1e-15)


def test_independent_and_infinite_bounds() -> None:
    h = np.array([-1.3, 0.0, 2.2, np.inf, -np.inf, np.inf])
    k = np.array([0.4, -0.7, 1.1, 0.3, 0.3, np.inf])
    expected = special.ndtr(h) * special.ndtr(k)
    np.testing.assert_allclose(_bvn_lower(h, k, 0.0), expected, atol=1e-16)
    # one infinite bound leaves the other margin, whatever the correlation
    np.testing.assert_allclose(
        _bvn_lower(np.array([np.inf, -np.inf]), np.array([0.3, 0.3]), 0.7),
        [special.ndtr(0.3), 0.0],
        atol=1e-15,
    )


def test_rectangle_by_inclusion_exclusion_matches_the_orthant_and_the_product_rule() -> None:
    # a rectangle that is almost the whole plane equals one minus the complement
    rho = 0.5
    corr = np.array([[1.0, rho], [rho, 1.0]])
    inside = rectangle_probability(
        lower=[-1.0, -0.5], upper=[2.0, 1.5], noncentrality=[0.3, -0.2], correlation=corr, df=30
    )
    # the product-form rule with 400 x 160 nodes is the slower, independent route
    from trialplan.power import _product_rectangles

    load = np.array([math.sqrt(rho), math.sqrt(rho)])
    slow = _product_rectangles(
        np.array([[-1.0, -0.5]]), np.array([[2.0, 1.5]]), np.array([0.3, -0.2]), load, 30.0
    )[0]
    assert inside == pytest.approx(slow, abs=1e-12)
