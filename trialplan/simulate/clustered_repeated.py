"""Simulator of group-delivered treatment with a repeated-measures outcome.

Data model.  In the cells where the clustered level is given (``tp.Clustering``,
e.g. MBI taught in groups) each cell's ``n_j`` participants form
``g_j = ceil(n_j / m)`` therapy groups of sizes as equal as possible
(:func:`trialplan.simulate.clustered.group_sizes`).  Group ``k`` has a random
intercept ``b_k ~ N(0, tau^2)``, ``tau^2 = ICC * V[J, J]`` (``ICC * sd^2``
for a common ``sd``; the ICC is that of the last visit), added to every visit
of its members; each member's own visit vector has covariance
``W = V - tau^2 * 1 1'``, so a participant's marginal covariance stays ``V``.
``W`` is a covariance only for ``tau^2 <= 1 / (1' V^{-1} 1)``, which bounds
the ICC (``rho + (1 - rho) / J`` under compound symmetry); a larger ICC is
refused.  Participants of the other cells are independent with covariance
``V``.  Dropout is that of the unclustered simulator (monotone, completely at
random, following the retention profile).

Analysis.  As in :mod:`trialplan.simulate.repeated`: the ML unstructured
covariance ``V_hat`` by the monotone factorization, then per cell the GLS
(MMRM) estimate of the last-visit mean or the slope
(:func:`trialplan.simulate.repeated.fit_monotone`).  Unclustered cells keep
the model-based variance ``A^{-1}``, ``A = sum_i X_i' V_hat_i^{-1} X_i``.
Clustered cells get the cluster-robust (sandwich) variance
``A^{-1} (sum_g U_g U_g') A^{-1}`` with therapy groups as clusters and
``U_g = X_g' V_hat_g^{-1} (I - H_g)^{-1} r_g`` (the group's stacked design,
block-diagonal ``V_hat``, residuals ``r_g`` and leverage
``H_g = X_g A^{-1} X_g' V_hat_g^{-1}``): the small-sample bias correction of
Mancl & DeRouen (2001), as in the binary simulator of group-delivered
designs; ``V_hat`` is treated as known in the sandwich.  It is computed as
``U_g = (I - B_g A^{-1})^{-1} X_g' V_hat_g^{-1} r_g`` with
``B_g = X_g' V_hat_g^{-1} X_g`` (p x p; the push-through identity).  Tests
are Wald z.

Slopes: a group intercept shifts all visits of its members alike and so
leaves a GLS slope unchanged; the analytic method gives slopes no design
effect and last-visit means ``(DE - 1) V[J, J] / n`` on top of the MMRM
variance (:meth:`trialplan.Repeated.cell_model`), the same data model.

References
----------
.. [1] Mancl LA, DeRouen TA. A covariance estimator for GEE with improved
   small-sample properties. Biometrics 2001;57:126-134.
.. [2] Anderson TW. Maximum likelihood estimates for a multivariate normal
   distribution when some observations are missing. JASA 1957;52:200-203.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialplan._linalg import psd_cholesky
from trialplan.outcomes.repeated import Repeated
from trialplan.simulate.clustered import sandwich_units
from trialplan.simulate.continuous import _cell_columns
from trialplan.simulate.protocol import BaseSimulator, CellDraws
from trialplan.simulate.repeated import (
    RepeatedParams,
    RepeatedSimulator,
    fit_monotone,
    monotone_covariance,
)

__all__ = ["ClusteredRepeatedParams", "ClusteredRepeatedSimulator", "max_icc", "robust_gls"]


def max_icc(covariance: np.ndarray) -> float:
    """Largest ICC for which ``V - ICC * V[J, J] * 1 1'`` is a covariance.

    Parameters
    ----------
    covariance : numpy.ndarray
        The visit covariance ``V`` (positive definite).

    Returns
    -------
    float
        ``1 / (V[J, J] * 1' V^{-1} 1)``.

    Examples
    --------
    Compound symmetry, three visits, rho = 0.5: ``rho + (1 - rho) / 3``.

    >>> import numpy as np
    >>> round(max_icc(36.0 * (0.5 * np.eye(3) + 0.5)), 6)
    0.666667
    """
    v = np.asarray(covariance, dtype=float)
    ones = np.ones(v.shape[0])
    return float(1.0 / (v[-1, -1] * (ones @ np.linalg.solve(v, ones))))


@dataclass(frozen=True)
class ClusteredRepeatedParams:
    """Picklable planning values of a group-delivered repeated-measures design.

    Attributes
    ----------
    repeated : RepeatedParams
        The outcome's planning values (means, ``V``, retention, cells).
    icc : float
        Intraclass correlation at the last visit within a therapy group.
    clustered : numpy.ndarray
        Boolean per cell: delivered in groups.
    unit_cell, unit_n : numpy.ndarray
        Cell and size of every unit (unclustered cell or therapy group), in
        cell order.
    """

    repeated: RepeatedParams
    icc: float
    clustered: np.ndarray
    unit_cell: np.ndarray
    unit_n: np.ndarray

    @property
    def unit_clustered(self) -> np.ndarray:
        """Boolean per unit: a therapy group (True) or an unclustered cell."""
        return self.clustered[self.unit_cell]

    @property
    def within_covariance(self) -> np.ndarray:
        """A group member's own covariance ``V - tau^2 1 1'``."""
        v = self.repeated.covariance
        return v - self.icc * v[-1, -1] * np.ones_like(v)


def _patients(
    p: ClusteredRepeatedParams, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One trial: outcomes (N, J), observed visits (N,), cell (N,), group number (N,).

    Group numbers count therapy groups from 1; 0 marks individually treated
    participants.
    """
    r = p.repeated
    unit = np.repeat(np.arange(p.unit_n.size), p.unit_n)
    index = p.unit_cell[unit]
    in_group = p.unit_clustered[unit]
    n_visits = r.times.size
    noise = rng.standard_normal((index.size, n_visits))
    y = r.means[index] + np.where(
        in_group[:, None],
        noise @ psd_cholesky(p.within_covariance).T,
        noise @ psd_cholesky(r.covariance).T,
    )
    uc = p.unit_clustered
    tau = math.sqrt(p.icc * r.covariance[-1, -1])
    intercept = np.zeros(p.unit_n.size)
    intercept[uc] = tau * rng.standard_normal(int(uc.sum()))
    y += intercept[unit][:, None]
    kept = np.append(r.retention, 0.0)
    weights = np.append(1.0 - kept[0], kept[:-1] - kept[1:])  # 0, 1, ..., J visits
    observed = rng.choice(n_visits + 1, size=index.size, p=weights)
    group = (np.cumsum(uc) * uc)[unit]
    return y, observed, index, group


def robust_gls(
    y: np.ndarray,
    observed: np.ndarray,
    cluster: np.ndarray,
    covariance: np.ndarray,
    design: np.ndarray,
) -> tuple[float, float]:
    """GLS estimate of one cell and its Mancl-DeRouen cluster-robust variance.

    Parameters
    ----------
    y : numpy.ndarray
        Shape (n, J): the cell's outcomes (values after a participant's last
        visit are ignored).
    observed : numpy.ndarray
        Observed visits per participant (monotone pattern).
    cluster : numpy.ndarray
        Cluster label of every participant (at least two clusters).
    covariance : numpy.ndarray
        The working visit covariance ``V_hat`` (treated as known).
    design : numpy.ndarray
        Shape (J, p): within-cell design over visits.

    Returns
    -------
    estimate, variance : float
        The last GLS parameter and its bias-corrected sandwich variance
        ``[A^{-1} sum_g U_g U_g' A^{-1}]`` (see the module docstring).

    Examples
    --------
    Complete data, identity covariance and design: the estimate is the
    last-visit mean and, with clusters of one, the variance is
    ``sum r_i^2 / (1 - 1/n)^2 / n^2``.

    >>> import numpy as np
    >>> y = np.array([[0., 1.], [0., 3.], [0., 2.]])
    >>> est, var = robust_gls(y, np.full(3, 2), np.arange(3), np.eye(2), np.eye(2))
    >>> float(est), round(float(var), 6)
    (2.0, 0.5)
    """
    n_visits, p = design.shape
    observed = np.asarray(observed, dtype=np.int64)
    y = np.where(np.arange(n_visits)[None, :] < observed[:, None], y, 0.0)
    # Per dropout pattern k (visits 1..k observed): X' P_k with P_k = V_k^{-1}
    # padded with zeros, and X' P_k X; pattern 0 contributes nothing.
    weights = np.zeros((n_visits + 1, p, n_visits))
    for k in range(1, n_visits + 1):
        weights[k, :, :k] = np.linalg.solve(covariance[:k, :k], design[:k]).T
    info_k = weights @ design  # (J + 1, p, p)
    w = weights[observed]  # (n, p, J)
    info = info_k[observed].sum(axis=0)
    bread = np.linalg.inv(info)
    beta = bread @ np.einsum("ipj,ij->p", w, y)
    score_i = np.einsum("ipj,ij->ip", w, y - design @ beta)  # X_i' V_i^-1 r_i
    labels, group = np.unique(cluster, return_inverse=True)
    member = np.zeros((labels.size, y.shape[0]))
    member[group, np.arange(y.shape[0])] = 1.0
    score_g = member @ score_i  # X_g' V_g^-1 r_g
    info_g = np.einsum("gi,ipq->gpq", member, info_k[observed])  # B_g = X_g' V_g^-1 X_g
    # X_g' V_g^-1 (I - H_g)^-1 = (I - B_g A^-1)^-1 X_g' V_g^-1 (push-through identity).
    u = np.linalg.solve(np.eye(p) - info_g @ bread, score_g[:, :, None])[:, :, 0]
    cov = bread @ (u.T @ u) @ bread
    return float(beta[-1]), float(cov[-1, -1])


class ClusteredRepeatedSimulator(BaseSimulator):
    """Simulated group-delivered trials with a :class:`~trialplan.Repeated` outcome.

    See the module docstring for the data model (a random intercept per
    therapy group), the analysis (MMRM/GLS per cell, Mancl-DeRouen sandwich
    for clustered cells, Wald z) and the limits on the ICC.

    Examples
    --------
    >>> import trialplan as tp
    >>> means = {("sham", "control"): [0, 0, 0], ("active", "control"): [0, -1, -3],
    ...          ("sham", "MBI"): [0, -1, -3], ("active", "MBI"): [0, -2, -6]}
    >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.Repeated(means=means, times=[0, 1, 2], sd=6.0, rho=0.5),
    ...     n_per_cell=64, clusters=tp.Clustering(factor="MBI", icc=0.05, group_size=8))
    >>> sim = d.power("MBI", method="simulation", n_sims=200, seed=3)
    >>> abs(sim["MBI"] - d.power("MBI")["MBI"]) < 4 * sim.mcse["MBI"]
    True
    >>> params = ClusteredRepeatedSimulator().prepare(d)
    >>> params.clustered.tolist(), params.unit_n.size    # 2 cells + 2 x 8 groups of 8
    ([False, True, False, True], 18)
    """

    engines = ("individual",)

    def prepare(self, design: Any) -> ClusteredRepeatedParams:
        """Units (cells and therapy groups) and planning values; checks the ICC."""
        outcome = design.outcome
        if not isinstance(outcome, Repeated):
            raise ValueError(
                f"ClusteredRepeatedSimulator simulates Repeated outcomes; got a "
                f"{type(outcome).__name__} outcome"
            )
        units = sandwich_units(design)
        repeated = _REPEATED.prepare(design)
        icc = float(design.clusters.icc)
        bound = max_icc(repeated.covariance)
        if icc > bound * (1.0 + 1e-12):
            raise ValueError(
                f"simulation of a group-delivered Repeated outcome needs icc <= {bound:.4g} "
                "for this covariance (a group intercept of variance icc * V[J, J] on every "
                "visit leaves each member's own covariance V - icc * V[J, J] * 1 1', which "
                f"must be positive semi-definite; bound = 1 / (V[J, J] 1' V^-1 1)); got "
                f"icc={icc!r}; allowed: 0 <= icc <= {bound:.4g} (or method='analytic')"
            )
        return ClusteredRepeatedParams(
            repeated=repeated,
            icc=icc,
            clustered=units.clustered,
            unit_cell=units.unit_cell,
            unit_n=units.unit_n,
        )

    def bytes_per_trial(self, params: ClusteredRepeatedParams, engine: str) -> int:
        """Working memory of one trial (patients x visits arrays)."""
        return _REPEATED.bytes_per_trial(params.repeated, engine) + 8 * 4 * params.unit_n.size

    def describe(self, engine: str) -> str:
        """Name the method in words."""
        return (
            "simulation: patient visit data with a random intercept per therapy group and "
            "monotone MCAR dropout, MMRM visit means or GLS slopes with the ML unstructured "
            "covariance (monotone factorization); clustered cells: Mancl-DeRouen "
            "bias-corrected sandwich, therapy groups as clusters; Wald z"
        )

    def draw(
        self, params: ClusteredRepeatedParams, rng: np.random.Generator, size: int, *, engine: str
    ) -> CellDraws:
        """Simulate ``size`` trials (one fit each)."""
        r = params.repeated
        t = r.times
        design = np.column_stack([np.ones_like(t), t]) if r.slope else np.eye(t.size)
        clustered_cells = np.flatnonzero(params.clustered)
        est = np.empty((size, r.n_cells))
        var = np.empty_like(est)
        for s in range(size):
            y, observed, index, group = _patients(params, rng)
            est[s], var[s] = fit_monotone(y, observed, index, r.n_cells, design)
            v_hat = monotone_covariance(y, observed, index, r.n_cells)
            for j in clustered_cells:
                rows = index == j
                est[s, j], var[s, j] = robust_gls(
                    y[rows], observed[rows], group[rows], v_hat, design
                )
        return CellDraws(estimates=est, variances=var, df=math.inf)

    def patient_data(self, params: ClusteredRepeatedParams, rng: np.random.Generator) -> Any:
        """One trial in long format: patient, cell (and factors), group, time, y.

        ``group`` numbers the therapy groups from 1 (0 for individually
        treated participants); only observed visits are listed.
        """
        # deferred: pandas is heavy and only this needs it
        import pandas as pd

        y, observed, index, group = _patients(params, rng)
        r = params.repeated
        patient, visit = np.nonzero(np.arange(r.times.size)[None, :] < observed[:, None])
        frame: dict[str, Any] = {"patient": patient}
        frame.update(_cell_columns(r, index[patient]))
        frame["group"] = group[patient]
        frame["time"] = r.times[visit]
        frame["y"] = y[patient, visit]
        return pd.DataFrame(frame)


#: The module-level instances (pickle by reference).
_REPEATED = RepeatedSimulator()
_CLUSTERED_REPEATED = ClusteredRepeatedSimulator()
