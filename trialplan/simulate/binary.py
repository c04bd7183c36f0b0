"""Simulator of the binary outcome: Binomial cell counts, or patients and a GLM.

Exact engine (the default): cell counts ``x_j ~ Binomial(n_j, p_j)`` are the
sufficient statistics; each trial's cell estimates are ``g(x_j / n_j)`` on the
design's scale with the Wald variances of the analytic method (risk
difference ``p(1-p)/n``, log risk ``(1-p)/(n p)``, log odds ``1/(n p (1-p))``,
arcsine ``1/n``).

Zero-cell rule: a cell with 0 or ``n_j`` events (where the log risk or log
odds or their variances are undefined, and a risk-difference variance is 0)
gets 0.5 added to its events and to its non-events, ``(x + 0.5) / (n + 1)``
(Haldane-Anscombe), on every scale.  The number of simulated trials with at
least one such cell is reported in ``result.extras["counts"]``.

Individual engine: 0/1 outcomes per patient, analysed by a statsmodels GLM
with the cell indicators and the scale's link (identity, log, logit; arcsine
is analysed from the patients' cell proportions); for validation, it is
slow.  Trials with a 0-or-n cell use the same zero-cell rule instead of the
fit (the GLM does not converge there) and are counted.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialplan.outcomes.binary import Binary, _transform, _unit_variance
from trialplan.simulate.protocol import BaseSimulator, CellDraws, register_simulator

__all__ = ["BinaryParams", "BinarySimulator", "ZERO_CELL_KEY"]

#: Key of the zero-cell count in ``result.extras["counts"]``.
ZERO_CELL_KEY = "trials with a 0-or-n cell (0.5 added, Haldane-Anscombe)"


@dataclass(frozen=True)
class BinaryParams:
    """Picklable planning values of a binary outcome on a cell design.

    Attributes
    ----------
    rates, n : numpy.ndarray
        Event probability and participants per cell, in the design's order.
    scale : str
        The analysis scale.
    cells : tuple
        The design's cells.
    labels : tuple of str
        Each cell in words.
    factor_names : tuple of str
        Factor names when cells are tuples of levels, else empty.
    """

    rates: np.ndarray
    n: np.ndarray
    scale: str
    cells: tuple[Any, ...]
    labels: tuple[str, ...]
    factor_names: tuple[str, ...] = ()

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.rates.size)


def wald_from_counts(
    x: np.ndarray, n: np.ndarray, scale: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell estimates and Wald variances from counts, with the zero-cell rule.

    Parameters
    ----------
    x : numpy.ndarray
        Shape ``(size, cells)``: events per cell.
    n : numpy.ndarray
        Participants per cell.
    scale : str
        One of ``trialplan.outcomes.binary.SCALES``.

    Returns
    -------
    estimates, variances : numpy.ndarray
        Shape ``(size, cells)``.
    corrected : numpy.ndarray of bool
        Shape ``(size,)``: trials where a 0-or-n cell was corrected.

    Examples
    --------
    >>> import numpy as np
    >>> est, var, fixed = wald_from_counts(np.array([[0, 5]]), np.array([10, 10]),
    ...                                    "log_odds")
    >>> round(float(est[0, 0]), 4), bool(fixed[0])
    (-3.0445, True)
    """
    x = np.asarray(x, dtype=float)
    n = np.broadcast_to(np.asarray(n, dtype=float), x.shape)
    edge = (x == 0) | (x == n)
    x_used = np.where(edge, x + 0.5, x)
    n_used = np.where(edge, n + 1.0, n)
    p = x_used / n_used
    return (_transform(p, scale), _unit_variance(p, scale) / n_used, edge.any(axis=1))


class BinarySimulator(BaseSimulator):
    """Simulated cell estimates of a :class:`~trialplan.Binary` outcome.

    Examples
    --------
    >>> import numpy as np
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"arm": ("c", "t")},
    ...                  outcome=tp.Binary(rates={("c",): 0.3, ("t",): 0.5}), n_per_cell=93)
    >>> sim = d.power(method="simulation", n_sims=4000, seed=1)
    >>> abs(sim["arm"] - d.power()["arm"]) < 4 * sim.mcse["arm"]
    True
    """

    engines = ("exact", "individual")

    def prepare(self, design: Any) -> BinaryParams:
        """Planning values as arrays in the design's cell order."""
        outcome = design.outcome
        cells = tuple(design.cells)
        label = getattr(design, "cell_label", str)
        factor_names = tuple(getattr(design, "factor_names", ()))
        return BinaryParams(
            rates=np.array([outcome.rates[c] for c in cells], dtype=float),
            n=np.asarray(design.n_array, dtype=np.int64).copy(),
            scale=outcome.scale,
            cells=cells,
            labels=tuple(label(c) for c in cells),
            factor_names=factor_names,
        )

    def bytes_per_trial(self, params: BinaryParams, engine: str) -> int:
        """Working memory of one trial."""
        j = params.n_cells
        if engine == "individual":
            return 8 * int(params.n.sum()) * (j + 4)
        return 8 * 12 * j

    def describe(self, engine: str) -> str:
        """Name the method in words."""
        if engine == "individual":
            return (
                "simulation: patient-level 0/1 data, statsmodels GLM per trial "
                "(0-or-n cells: +0.5 rule)"
            )
        return "simulation: exact Binomial cell counts, Wald z (0-or-n cells: +0.5 rule)"

    def draw(
        self, params: BinaryParams, rng: np.random.Generator, size: int, *, engine: str
    ) -> CellDraws:
        """Simulate ``size`` trials with the chosen engine."""
        if engine == "individual":
            return _individual(params, rng, size)
        x = rng.binomial(params.n, params.rates, size=(size, params.n_cells))
        est, var, fixed = wald_from_counts(x, params.n, params.scale)
        return CellDraws(
            estimates=est, variances=var, df=math.inf, counts={ZERO_CELL_KEY: int(fixed.sum())}
        )

    def patient_data(self, params: BinaryParams, rng: np.random.Generator) -> Any:
        """One trial's patients: cell (and factor) columns and ``y`` (0/1)."""
        # deferred: pandas is heavy and only this needs it
        import pandas as pd

        y = _patients(params, rng, 1)[0]
        index = np.repeat(np.arange(params.n_cells), params.n)
        frame: dict[str, Any] = {"cell": np.array(params.labels, dtype=object)[index]}
        for k, name in enumerate(params.factor_names):
            frame[name] = np.array([c[k] for c in params.cells], dtype=object)[index]
        frame["y"] = y.astype(int)
        return pd.DataFrame(frame)


def _patients(params: BinaryParams, rng: np.random.Generator, size: int) -> np.ndarray:
    p = np.repeat(params.rates, params.n)
    return rng.random((size, p.size)) < p


_LINKS = {"risk_difference": "identity", "log_risk": "log", "log_odds": "logit"}


def _individual(params: BinaryParams, rng: np.random.Generator, size: int) -> CellDraws:
    # deferred: statsmodels is heavy; only the patient-level fit needs it
    import statsmodels.api as sm

    y = _patients(params, rng, size).astype(float)
    j = params.n_cells
    dummies = np.repeat(np.eye(j), params.n, axis=0)
    index = np.repeat(np.arange(j), params.n)
    x = np.stack([np.bincount(index, weights=row, minlength=j) for row in y])
    est, var, fixed = wald_from_counts(x, params.n, params.scale)
    if params.scale in _LINKS:
        link = getattr(
            sm.families.links,
            {"identity": "Identity", "log": "Log", "logit": "Logit"}[_LINKS[params.scale]],
        )()
        family = sm.families.Binomial(link=link)
        for r in np.flatnonzero(~fixed):
            start = _transform(x[r] / params.n, params.scale)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = sm.GLM(y[r], dummies, family=family).fit(start_params=start)
            est[r] = fit.params
            var[r] = np.diag(fit.cov_params())
    return CellDraws(
        estimates=est, variances=var, df=math.inf, counts={ZERO_CELL_KEY: int(fixed.sum())}
    )


register_simulator(Binary, BinarySimulator())
