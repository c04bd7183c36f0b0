"""Simulator of repeated measures: patients' visit vectors, monotone dropout, GLS fits.

Each patient's outcomes are multivariate normal with the cell's visit means
and covariance ``V``; the patient's last observed visit follows the
retention profile (pattern k with probability ``r_k - r_{k+1}``, missing
completely at random).

Engine ``"individual"`` (the only one): each simulated trial is analysed as
the mixed model for repeated measures would be, by maximum likelihood under
missing at random with an unstructured covariance common to all cells:

1. ``V`` is estimated by the monotone factorization (Anderson 1957): visit 1
   from everyone's residuals about the cell means; visit k by regressing it,
   among those still observed, on the earlier visits with cell-specific
   intercepts (common slopes, residual variance by ML);
2. each cell's parameters (visit means, or intercept and slope) are the GLS
   estimates with ``V_hat`` over the observed visits, with variance
   ``(sum_i X_i' V_hat_i^{-1} X_i)^{-1}``; for visit means this is the ML
   (MMRM) estimate.

Tests are Wald z, as in the analytic method.  One small linear-algebra pass
per trial: modest ``n_sims``.

References
----------
.. [1] Anderson TW. Maximum likelihood estimates for a multivariate normal
   distribution when some observations are missing. JASA 1957;52:200-203.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialplan._linalg import psd_cholesky
from trialplan.outcomes.repeated import Repeated
from trialplan.simulate.protocol import BaseSimulator, CellDraws, register_simulator

__all__ = ["RepeatedParams", "RepeatedSimulator", "fit_monotone", "monotone_covariance"]


@dataclass(frozen=True)
class RepeatedParams:
    """Picklable planning values of a repeated-measures outcome on a cell design.

    Attributes
    ----------
    means : numpy.ndarray
        Shape (cells, visits): true visit means.
    covariance : numpy.ndarray
        Visit covariance ``V``.
    retention : numpy.ndarray
        Proportion observed at each visit.
    times : numpy.ndarray
        Visit times.
    n : numpy.ndarray
        Participants per cell.
    slope : bool
        True for the slope analysis, False for last-visit means.
    cells, labels, factor_names : tuple
        Cells, their labels and the factor names (for patient data).
    """

    means: np.ndarray
    covariance: np.ndarray
    retention: np.ndarray
    times: np.ndarray
    n: np.ndarray
    slope: bool
    cells: tuple[Any, ...]
    labels: tuple[str, ...]
    factor_names: tuple[str, ...] = ()

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.means.shape[0])


def _patients(
    params: RepeatedParams, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One trial: outcomes (N, J), number of observed visits (N,), cell index (N,)."""
    index = np.repeat(np.arange(params.n_cells), params.n)
    chol = psd_cholesky(params.covariance)  # unique factor: same trials on every machine
    y = params.means[index] + rng.standard_normal((index.size, params.times.size)) @ chol.T
    r = np.append(params.retention, 0.0)
    weights = np.append(1.0 - r[0], r[:-1] - r[1:])  # 0, 1, ..., J visits
    observed = rng.choice(params.times.size + 1, size=index.size, p=weights)
    return y, observed, index


def monotone_covariance(
    y: np.ndarray, observed: np.ndarray, index: np.ndarray, n_cells: int
) -> np.ndarray:
    """ML visit covariance ``V_hat`` under monotone dropout (Anderson 1957).

    Visit ``k`` is regressed, among those still observed, on cell indicators
    and visits ``1..k-1``; with slopes ``beta_k`` and ML residual variance
    ``s_k``, ``V[k, :k] = V[:k, :k] beta_k`` and
    ``V[k, k] = s_k + beta_k' V[:k, :k] beta_k``.  Used by
    :func:`fit_monotone` and by the group-delivered simulator's sandwich.

    Parameters
    ----------
    y, observed, index : numpy.ndarray
        Outcomes (N, J), observed visits and cell of every participant.
    n_cells : int
        Number of cells.

    Returns
    -------
    numpy.ndarray
        The J x J covariance estimate.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1., 2.], [3., 1.], [5., 6.], [7., 3.]])
    >>> v = monotone_covariance(y, np.full(4, 2), np.array([0, 0, 1, 1]), 2)
    >>> bool(np.allclose(v, [[1., -1.], [-1., 1.25]]))    # ML, cell means removed
    True
    """
    n_visits = y.shape[1]
    cov = np.zeros((n_visits, n_visits))
    cells = np.eye(n_cells)[index]
    for k in range(n_visits):
        rows = observed >= k + 1
        x = np.column_stack([cells[rows], y[rows, :k]])
        coef, *_ = np.linalg.lstsq(x, y[rows, k], rcond=None)
        resid = y[rows, k] - x @ coef
        beta = coef[n_cells:]
        cross = cov[:k, :k] @ beta
        cov[k, :k] = cov[:k, k] = cross
        cov[k, k] = float(resid @ resid) / rows.sum() + beta @ cross
    return cov


def fit_monotone(
    y: np.ndarray, observed: np.ndarray, index: np.ndarray, n_cells: int, design: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ML covariance by the monotone factorization, then GLS per cell.

    Parameters
    ----------
    y : numpy.ndarray
        Shape (N, J) outcomes (values after a patient's last visit are ignored).
    observed : numpy.ndarray
        Number of observed visits per patient (monotone pattern).
    index : numpy.ndarray
        Cell of each patient.
    n_cells : int
        Number of cells.
    design : numpy.ndarray
        Shape (J, p) within-cell design over visits (identity for visit means,
        ``[1, t]`` for a linear trend).

    Returns
    -------
    estimates, variances : numpy.ndarray
        Shape (cells,): the last parameter of each cell (last-visit mean or
        slope) and its GLS variance.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((40, 2))
    >>> est, var = fit_monotone(y, np.full(40, 2), np.repeat([0, 1], 20), 2, np.eye(2))
    >>> bool(np.allclose(est, [y[:20, 1].mean(), y[20:, 1].mean()]))
    True
    """
    n_visits = y.shape[1]
    cov = monotone_covariance(y, observed, index, n_cells)
    estimates = np.empty(n_cells)
    variances = np.empty(n_cells)
    p = design.shape[1]
    for j in range(n_cells):
        info = np.zeros((p, p))
        score = np.zeros(p)
        for k in range(1, n_visits + 1):
            rows = (index == j) & (observed == k)
            if not rows.any():
                continue
            xk = design[:k]
            solved = np.linalg.solve(cov[:k, :k], xk)  # V_k^{-1} X_k
            info += rows.sum() * xk.T @ solved
            score += solved.T @ y[rows, :k].sum(axis=0)
        inv = np.linalg.inv(info)
        estimates[j] = (inv @ score)[-1]
        variances[j] = inv[-1, -1]
    return estimates, variances


class RepeatedSimulator(BaseSimulator):
    """Simulated cell estimates of a :class:`~trialplan.Repeated` outcome.

    Examples
    --------
    >>> import trialplan as tp
    >>> y = tp.Repeated(means={("c",): [0, 0, 0], ("t",): [0, -1, -3]}, times=[0, 1, 2],
    ...                 sd=6.0, correlation="cs", rho=0.5, retention=[1, 0.9, 0.8])
    >>> d = tp.Factorial(factors={"arm": ("c", "t")}, outcome=y, n_per_cell=80)
    >>> sim = d.power(method="simulation", n_sims=300, seed=2, engine="individual")
    >>> abs(sim["arm"] - d.power()["arm"]) < 4 * sim.mcse["arm"]
    True
    """

    engines = ("individual",)

    def prepare(self, design: Any) -> RepeatedParams:
        """Planning values as arrays in the design's cell order."""
        y = design.outcome
        cells = tuple(design.cells)
        label = getattr(design, "cell_label", str)
        return RepeatedParams(
            means=np.array([y.means[c] for c in cells], dtype=float),
            covariance=y.covariance,
            retention=np.asarray(y.retention, dtype=float),
            times=np.asarray(y.times, dtype=float),
            n=np.asarray(design.n_array, dtype=np.int64).copy(),
            slope=y.contrast == "slope",
            cells=cells,
            labels=tuple(label(c) for c in cells),
            factor_names=tuple(getattr(design, "factor_names", ())),
        )

    def bytes_per_trial(self, params: RepeatedParams, engine: str) -> int:
        """Working memory of one trial (patients x visits arrays)."""
        return 8 * int(params.n.sum()) * (3 * params.times.size + params.n_cells + 4)

    def describe(self, engine: str) -> str:
        """Name the method in words."""
        return (
            "simulation: patient visit data with monotone MCAR dropout, MMRM visit means "
            "or GLS slopes with the ML unstructured covariance (monotone factorization)"
        )

    def draw(
        self, params: RepeatedParams, rng: np.random.Generator, size: int, *, engine: str
    ) -> CellDraws:
        """Simulate ``size`` trials (one fit each)."""
        t = params.times
        design = np.column_stack([np.ones_like(t), t]) if params.slope else np.eye(t.size)
        est = np.empty((size, params.n_cells))
        var = np.empty_like(est)
        for r in range(size):
            y, observed, index = _patients(params, rng)
            est[r], var[r] = fit_monotone(y, observed, index, params.n_cells, design)
        return CellDraws(estimates=est, variances=var, df=math.inf)

    def patient_data(self, params: RepeatedParams, rng: np.random.Generator) -> Any:
        """One trial in long format: patient, cell (and factors), time, y (observed only)."""
        # deferred: pandas is heavy and only this needs it
        import pandas as pd

        y, observed, index = _patients(params, rng)
        keep = np.arange(params.times.size)[None, :] < observed[:, None]
        patient, visit = np.nonzero(keep)
        frame: dict[str, Any] = {
            "patient": patient,
            "cell": np.array(params.labels, dtype=object)[index[patient]],
        }
        for k, name in enumerate(params.factor_names):
            frame[name] = np.array([c[k] for c in params.cells], dtype=object)[index[patient]]
        frame["time"] = params.times[visit]
        frame["y"] = y[patient, visit]
        return pd.DataFrame(frame)


register_simulator(Repeated, RepeatedSimulator())
