"""Simulator of group-delivered treatment with a binary outcome (partially nested design).

Data model.  In the cells where the clustered level is given (``tp.Clustering``,
e.g. MBI taught in groups) each cell's ``n_j`` participants form
``g_j = ceil(n_j / m)`` therapy groups with sizes as equal as possible (they
differ by at most one; :func:`trialplan.simulate.clustered.group_sizes`).
Group ``k`` of cell ``j`` has its own event probability
``pi_k ~ Beta(a_j, b_j)`` with mean ``p_j`` and ``a_j + b_j = 1 / ICC - 1``,
so its event count is beta-binomial with
``Var(x_k) = n_k p_j (1 - p_j) (1 + (n_k - 1) ICC)``: the design effect of the
analytic method, ``1 + (m - 1) ICC``, when ``n_k = m``.  With ``ICC = 0`` every
``pi_k = p_j`` and the counts are Binomial.  Participants of the other cells
are independent: ``x_j ~ Binomial(n_j, p_j)``.

Analysis (both engines), pre-specifiable as: a GEE (equivalently a GLM) with
one indicator per cell, the scale's link (identity for ``risk_difference``,
log for ``log_risk``, logit for ``log_odds``), independence working
correlation and a cluster-robust (sandwich) covariance with the therapy
groups as clusters and every individually treated participant as a cluster
of one, with the small-sample bias correction of Mancl & DeRouen (2001)
(statsmodels ``GEE(...).fit(cov_type="bias_reduced")``).  For this saturated
model the fit reduces to the cell proportions ``p_j = x_j / n_j``; the
estimate of cell ``j`` is ``g(p_j)`` on the design's scale and its variance
is the unpooled Wald variance of the unclustered Binary simulator times the
data's estimate of the design effect,

    ``DE_j = sum_k [(x_k - n_k p_j) / (1 - n_k / n_j)]^2 / (n_j p_j (1 - p_j))``,

the sum over the clusters of cell ``j`` (``n_k / n_j`` is the cluster's
leverage; for a cell of individuals ``DE_j = (n_j / (n_j - 1))^2``).  The
``arcsine`` scale (no GLM link) uses the same variance of ``p_j`` by the delta
method.  Hypotheses are Wald z tests, ``c'b / sqrt(sum_j c_j^2 v_j)``, as for the
unclustered Binary outcome and in the analytic method.

Why Mancl-DeRouen: with 10 to 34 groups per clustered cell (n 100 to 200 per
cell, groups of 6 or 10, ICC .02 to .1, all rates .3 or .15, risk difference
and log odds) the simulated two-sided type I error of the main effects and
the interaction was 0.051 to 0.066 with the uncorrected sandwich, 0.049 to
0.058 with the ``g/(g-1)`` (CR1) factor per cell, and 0.047 to 0.051 with
this correction; with 4 or 6 groups per cell 0.069 to 0.087, 0.056 to 0.067
and 0.044 to 0.049 (100,000 trials each;
``tests/references/clustered_binary_calibration.py`` and ``.txt``).

Power: the analytic method treats the variances as known, while this
analysis estimates them from the groups (and the correction inflates them by
about ``g/(g-1)`` on average), so the simulated power is a little lower: by
0 to 1.4 points at 10 to 34 groups per cell (0.4 at 100 groups; 200,000
trials, same references).

Zero-cell rule: a cell with 0 or ``n_j`` events (where the sandwich is 0 and a
log scale undefined) gets the rule of the unclustered Binary simulator,
``(x + 0.5) / (n + 1)`` with its model-based Wald variance (no design
effect: none can be estimated from such a cell); the number of trials with
such a cell is reported in ``result.extras["counts"]``.

Exact engine (default): draws the sufficient statistics, one count per
therapy group and per unclustered cell.  Individual engine: draws each
group's probability and then every participant's 0/1 outcome, sums them per
group and analyses them in the same way.

References
----------
.. [1] Mancl LA, DeRouen TA. A covariance estimator for GEE with improved
   small-sample properties. Biometrics 2001;57:126-134.
.. [2] Liang KY, Zeger SL. Longitudinal data analysis using generalized
   linear models. Biometrika 1986;73:13-22.
.. [3] Roberts C, Roberts SA. Design and analysis of clinical trials with
   clustering effects due to treatment. Clin Trials 2005;2:152-162.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialplan.outcomes.binary import Binary, _unit_variance
from trialplan.simulate.binary import ZERO_CELL_KEY, wald_from_counts
from trialplan.simulate.clustered import (
    GroupedUnits,
    corrected_meat,
    sandwich_units,
)
from trialplan.simulate.continuous import _cell_columns, _cell_names
from trialplan.simulate.protocol import BaseSimulator, CellDraws

__all__ = [
    "ClusteredBinaryParams",
    "ClusteredBinarySimulator",
    "corrected_meat",
    "robust_cell_estimates",
    "sandwich_units",
]


@dataclass(frozen=True)
class ClusteredBinaryParams(GroupedUnits):
    """Picklable planning values of a partially nested design with a binary outcome.

    The units are the unclustered cells and the therapy groups of the
    clustered cells, in ``unit_cell`` order.

    Attributes
    ----------
    rates : numpy.ndarray
        Planned event probability per cell, in the design's cell order.
    n : numpy.ndarray
        Participants per cell.
    scale : str
        The analysis scale (``trialplan.outcomes.binary.SCALES``).
    icc : float
        Intraclass correlation of the outcome within a therapy group.
    clustered : numpy.ndarray
        Boolean per cell: delivered in groups.
    unit_cell : numpy.ndarray
        Cell index of every unit (unclustered cell or therapy group).
    unit_n : numpy.ndarray
        Participants per unit.
    cells, labels, factor_names : tuple
        Cells, their labels and the factor names (for patient data).
    """

    rates: np.ndarray
    n: np.ndarray
    scale: str
    icc: float
    clustered: np.ndarray
    unit_cell: np.ndarray
    unit_n: np.ndarray
    cells: tuple[Any, ...]
    labels: tuple[str, ...]
    factor_names: tuple[str, ...] = ()


def robust_cell_estimates(
    counts: np.ndarray, params: ClusteredBinaryParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell estimates and bias-corrected sandwich variances from unit event counts.

    Parameters
    ----------
    counts : numpy.ndarray
        Shape ``(size, units)``: events in every unit (unclustered cell or
        therapy group), units as in ``params.unit_cell``.
    params : ClusteredBinaryParams
        The design's units and scale.

    Returns
    -------
    estimates, variances : numpy.ndarray
        Shape ``(size, cells)``: ``g(p_j)`` on the design's scale and the
        variance of the GEE fit with independence working correlation and
        the Mancl-DeRouen sandwich (therapy groups and individually treated
        participants as clusters); see the module docstring.
    corrected : numpy.ndarray of bool
        Shape ``(size,)``: trials where a 0-or-n cell got the zero-cell rule.

    Examples
    --------
    One cell of 4 individuals (1 event) and one cell in two groups of 2 with
    1 and 2 events: the groups' leverage is 1/2, so the second cell's
    corrected meat is ``(1 - 1.5)^2 / (1/2)^2 + (2 - 1.5)^2 / (1/2)^2 = 2``
    and its design effect ``2 / (4 * 0.75 * 0.25) = 8/3``.

    >>> import numpy as np
    >>> p = ClusteredBinaryParams(rates=np.array([.3, .3]), n=np.array([4, 4]),
    ...     scale="risk_difference", icc=0.1, clustered=np.array([False, True]),
    ...     unit_cell=np.array([0, 1, 1]), unit_n=np.array([4, 2, 2]),
    ...     cells=("a", "b"), labels=("a", "b"))
    >>> est, var, fixed = robust_cell_estimates(np.array([[1, 1, 2]]), p)
    >>> est.tolist(), np.round(var, 6).tolist(), fixed.tolist()
    ([[0.25, 0.75]], [[0.083333, 0.125]], [False])
    """
    p = params
    counts = np.asarray(counts, dtype=float)
    n = p.n.astype(float)
    to_cell = np.eye(p.n_cells)[p.unit_cell]  # unit -> cell indicators
    x = counts @ to_cell
    est, var, corrected = wald_from_counts(x, p.n, p.scale)
    edge = (x == 0) | (x == n)
    rate = x / n
    within = rate * (1.0 - rate)  # p_j (1 - p_j)
    leverage = p.unit_n / n[p.unit_cell]
    uc = p.unit_clustered
    meat = corrected_meat(
        counts[:, uc] - p.unit_n[uc] * rate[:, p.unit_cell[uc]],
        leverage[uc],
        p.unit_cell[uc],
        p.n_cells,
    )
    meat[:, ~p.clustered] = (n * within / (1.0 - 1.0 / n) ** 2)[:, ~p.clustered]
    with np.errstate(divide="ignore", invalid="ignore"):
        # Var(g(p)) = g'(p)^2 Var(p) = unit_variance(p) / (p (1 - p)) * meat / n^2.
        robust = _unit_variance(rate, p.scale) / within * meat / n**2
    var = np.where(edge, var, robust)
    return est, var, corrected


class ClusteredBinarySimulator(BaseSimulator):
    """Simulated partially nested trials (group-delivered level), binary outcome.

    See the module docstring for the beta-binomial data model, the analysis
    (GEE, independence, Mancl-DeRouen sandwich, Wald z) and the two engines.

    Examples
    --------
    >>> import trialplan as tp
    >>> rates = {("sham", "control"): .20, ("active", "control"): .35,
    ...          ("sham", "MBI"): .30, ("active", "MBI"): .50}
    >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.Binary(rates=rates), n_per_cell=150,
    ...     clusters=tp.Clustering(factor="MBI", icc=0.05, group_size=10))
    >>> sim = d.power("MBI", method="simulation", n_sims=4000, seed=1)
    >>> abs(sim["MBI"] - d.power("MBI")["MBI"]) < 4 * sim.mcse["MBI"]
    True
    >>> params = ClusteredBinarySimulator().prepare(d)
    >>> params.clustered.tolist(), params.unit_n.size    # 2 cells + 2 x 15 groups of 10
    ([False, True, False, True], 32)
    """

    engines = ("exact", "individual")

    def prepare(self, design: Any) -> ClusteredBinaryParams:
        """Units (cells and therapy groups) and planning values of the design."""
        outcome = design.outcome
        clusters = design.clusters
        if not isinstance(outcome, Binary):
            raise ValueError(
                f"ClusteredBinarySimulator simulates Binary outcomes; got a "
                f"{type(outcome).__name__} outcome"
            )
        units = sandwich_units(design)
        cells, n, mask = units.cells, units.n, units.clustered
        labels, factor_names = _cell_names(design, cells)
        return ClusteredBinaryParams(
            rates=np.array([outcome.rates[c] for c in cells], dtype=float),
            n=n,
            scale=outcome.scale,
            icc=float(clusters.icc),
            clustered=mask,
            unit_cell=units.unit_cell,
            unit_n=units.unit_n,
            cells=cells,
            labels=labels,
            factor_names=factor_names,
        )

    def bytes_per_trial(self, params: ClusteredBinaryParams, engine: str) -> int:
        """Working memory of one trial: patient arrays (individual) or unit arrays."""
        j, k = params.n_cells, params.unit_n.size
        if engine == "individual":
            return 8 * 4 * params.n_total + 8 * (8 * k + 12 * j)
        return 8 * (8 * k + k * j + 12 * j)

    def describe(self, engine: str) -> str:
        """Name the method in words."""
        analysis = (
            "GEE (independence) with Mancl-DeRouen bias-corrected sandwich, therapy "
            "groups as clusters, Wald z (0-or-n cells: +0.5 rule)"
        )
        if engine == "individual":
            return f"simulation: patient-level 0/1 data in therapy groups, {analysis}"
        return f"simulation: exact beta-binomial group counts, {analysis}"

    def draw(
        self, params: ClusteredBinaryParams, rng: np.random.Generator, size: int, *, engine: str
    ) -> CellDraws:
        """Simulate ``size`` trials with the chosen engine and analyse them."""
        if engine == "individual":
            counts = _individual_counts(params, rng, size)
        else:
            counts = _exact_counts(params, rng, size)
        est, var, fixed = robust_cell_estimates(counts, params)
        return CellDraws(
            estimates=est, variances=var, df=math.inf, counts={ZERO_CELL_KEY: int(fixed.sum())}
        )

    def patient_data(self, params: ClusteredBinaryParams, rng: np.random.Generator) -> Any:
        """One trial's patients: cell, factor columns, ``group`` and ``y`` (0/1).

        ``group`` numbers the therapy groups from 1 (0 for individually
        treated participants).  The draws are those of the individual engine.
        """
        # deferred: pandas is heavy and only this needs it
        import pandas as pd

        y = _patients(params, rng, 1)[0]
        unit = np.repeat(np.arange(params.unit_n.size), params.unit_n)
        cell_index = params.unit_cell[unit]
        uc = params.unit_clustered
        group_number = np.cumsum(uc) * uc
        frame = _cell_columns(params, cell_index)
        frame["group"] = group_number[unit]
        frame["y"] = y.astype(int)
        return pd.DataFrame(frame)


def _unit_probabilities(
    p: ClusteredBinaryParams, rng: np.random.Generator, size: int
) -> np.ndarray:
    """Event probability of every unit, shape ``(size, units)``: Beta draws for groups."""
    prob = np.tile(p.rates[p.unit_cell], (size, 1))
    uc = p.unit_clustered
    if p.icc > 0.0 and uc.any():
        mean = p.rates[p.unit_cell[uc]]
        total = 1.0 / p.icc - 1.0  # a + b
        prob[:, uc] = rng.beta(mean * total, (1.0 - mean) * total, size=(size, int(uc.sum())))
    return prob


def _exact_counts(p: ClusteredBinaryParams, rng: np.random.Generator, size: int) -> np.ndarray:
    """Events per unit of ``size`` trials: beta-binomial per group, binomial per cell."""
    return rng.binomial(p.unit_n, _unit_probabilities(p, rng, size))


def _individual_counts(p: ClusteredBinaryParams, rng: np.random.Generator, size: int) -> np.ndarray:
    """Simulate every participant's 0/1 outcome and sum them per unit."""
    y = _patients(p, rng, size)
    starts = np.concatenate([[0], np.cumsum(p.unit_n)[:-1]])
    return np.add.reduceat(y.astype(np.int64), starts, axis=1)


def _patients(p: ClusteredBinaryParams, rng: np.random.Generator, size: int) -> np.ndarray:
    """0/1 outcomes of ``size`` trials, shape ``(size, N)``, participants in unit order.

    Each call draws the groups' probabilities, then one uniform per
    participant, so one trial alone gives the data of the first trial of a block.
    """
    prob = np.repeat(_unit_probabilities(p, rng, size), p.unit_n, axis=1)
    return rng.random((size, p.n_total)) < prob


#: The module-level instance (pickles by reference).
_CLUSTERED_BINARY = ClusteredBinarySimulator()
