"""Simulator of the continuous outcome: exact sufficient statistics or patient data.

Exact engine (the default), no baseline covariate: cell means
``ybar_j ~ N(mu_j, sigma^2 / n_j)`` and, independently, the pooled residual sum
of squares ``SS ~ sigma^2 chi^2(N - J)``; a contrast's t statistic is then
exactly the one an OLS fit of the patients' data would give.

Exact engine, ANCOVA on baseline (``baseline_corr = rho != 0``): baseline and
outcome are bivariate normal with SDs ``sigma`` and correlation ``rho``.  The
per-cell means ``(xbar_j, ybar_j) ~ N((0, mu_j), Sigma / n_j)`` and the pooled
within-cell cross-product matrix ``W ~ Wishart(N - J, Sigma)`` (Bartlett
decomposition) are independent and sufficient; the common slope is
``b = W_xy / W_xx``, the adjusted cell estimates ``ybar_j - b xbar_j``, the
residual variance ``s^2 = (W_yy - W_xy^2 / W_xx) / (N - J - 1)`` and the
estimates' covariance ``s^2 (diag(1 / n) + xbar xbar' / W_xx)``: exactly the
OLS fit of ``y ~ cell + baseline``.

Individual engine: patients' baselines and outcomes drawn in blocks of trials
and analysed by batched least squares (normal equations solved for all trials
at once), the same model as above.

References
----------
.. [1] Anderson TW. An Introduction to Multivariate Statistical Analysis, 3rd ed.
   Wiley 2003, sections 3.3 (sufficiency of means and cross-products) and 7.2
   (Bartlett decomposition of the Wishart distribution).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialplan.outcomes import Continuous
from trialplan.simulate.protocol import (
    BaseSimulator,
    CellDraws,
    PooledVariance,
    register_simulator,
)

__all__ = [
    "ContinuousParams",
    "ContinuousSimulator",
    "ancova_from_sufficient",
    "anova_from_sufficient",
]


class _CellSizes:
    """Sizes and analysis read off the planning values of a continuous outcome on cells."""

    means: np.ndarray
    n: np.ndarray
    baseline_corr: float

    @property
    def n_cells(self) -> int:
        """Number of cells J."""
        return int(self.means.size)

    @property
    def n_total(self) -> int:
        """Analysed participants in all cells N."""
        return int(self.n.sum())

    @property
    def ancova(self) -> bool:
        """True when the analysis adjusts for baseline."""
        return self.baseline_corr != 0.0


def _cell_names(design: Any, cells: tuple[Any, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Each cell in words, and the factor names when every cell is a tuple of their levels."""
    label = getattr(design, "cell_label", str)
    factor_names = tuple(getattr(design, "factor_names", ()))
    if factor_names and not all(
        isinstance(c, tuple) and len(c) == len(factor_names) for c in cells
    ):
        factor_names = ()
    return tuple(label(c) for c in cells), factor_names


def _cell_columns(params: Any, cell_index: np.ndarray) -> dict[str, Any]:
    """Patient-data columns naming each participant's cell and its factor levels."""
    columns: dict[str, Any] = {"cell": np.array(params.labels, dtype=object)[cell_index]}
    for k, name in enumerate(params.factor_names):
        columns[name] = np.array([c[k] for c in params.cells], dtype=object)[cell_index]
    return columns


@dataclass(frozen=True)
class ContinuousParams(_CellSizes):
    """Picklable planning values of a continuous outcome on a cell design.

    Attributes
    ----------
    means : numpy.ndarray
        True cell means, in the design's cell order.
    n : numpy.ndarray
        Analysed participants per cell.
    sd : float
        Outcome SD (also used for the baseline; t statistics do not depend
        on the baseline's scale).
    baseline_corr : float
        Baseline-outcome correlation; 0 means no covariate in the analysis.
    cells : tuple
        The design's cells (used to label patient-level data).
    labels : tuple of str
        Each cell in words.
    factor_names : tuple of str
        Factor names when cells are tuples of factor levels, else empty.
    """

    means: np.ndarray
    n: np.ndarray
    sd: float
    baseline_corr: float
    cells: tuple[Any, ...]
    labels: tuple[str, ...]
    factor_names: tuple[str, ...] = ()


class ContinuousSimulator(BaseSimulator):
    """Simulated cell estimates of a :class:`~trialplan.Continuous` outcome.

    See the module docstring for the two engines.

    Examples
    --------
    >>> import numpy as np
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> sim = ContinuousSimulator()
    >>> draws = sim.draw(sim.prepare(d), np.random.default_rng(1), 5, engine="exact")
    >>> draws.estimates.shape, draws.df
    ((5, 4), 76.0)
    """

    engines = ("exact", "individual")

    def prepare(self, design: Any) -> ContinuousParams:
        """Planning values as arrays in the design's cell order."""
        outcome = design.outcome
        cells = tuple(design.cells)
        labels, factor_names = _cell_names(design, cells)
        return ContinuousParams(
            means=np.array([outcome.means[c] for c in cells], dtype=float),
            n=np.asarray(design.n_array, dtype=np.int64).copy(),
            sd=float(outcome.sd),
            baseline_corr=float(outcome.baseline_corr),
            cells=cells,
            labels=labels,
            factor_names=factor_names,
        )

    def bytes_per_trial(self, params: ContinuousParams, engine: str) -> int:
        """Working memory of one trial: patient arrays (individual) or cell arrays."""
        j = params.n_cells
        if engine == "individual":
            # normal draws (2 N under ANCOVA), baselines, two temporaries of N
            return 8 * params.n_total * 6 + 8 * (j + 1) * (j + 1) * 4
        if params.ancova:  # normals 2J, adjusted means and baseline means, 8 per-trial values
            return 8 * (4 * j + 8)
        return 8 * (2 * j + 4)  # normals and means, chi-square and variance

    def max_block(self, engine: str) -> int:
        """Trials per block: 8192 for the exact engine, 2048 for patient data.

        The exact engine draws a few numbers per trial; longer blocks spread
        the fixed cost of a block (its generator, the array calls) over more
        trials and still fit in the processor's cache.
        """
        return 8192 if engine == "exact" else 2048

    def describe(self, engine: str) -> str:
        """Name the method in words."""
        if engine == "individual":
            return (
                "simulation: patient-level data, OLS by batched least squares "
                "(y ~ cell [+ baseline])"
            )
        return (
            "simulation: exact sufficient statistics (cell means, chi-square / "
            "Wishart cross-products)"
        )

    def draw(
        self, params: ContinuousParams, rng: np.random.Generator, size: int, *, engine: str
    ) -> CellDraws:
        """Simulate ``size`` trials with the chosen engine."""
        if engine == "individual":
            return _individual(params, rng, size)
        if params.ancova:
            return _exact_ancova(params, rng, size)
        return _exact_anova(params, rng, size)

    def patient_data(self, params: ContinuousParams, rng: np.random.Generator) -> Any:
        """One trial's patients: cell (and factor) columns, ``y`` and ``baseline``.

        The draws are those of the individual engine for one trial, so a user
        analysis fitting the same OLS model reproduces its decisions.
        """
        # deferred: pandas is heavy and only this needs it
        import pandas as pd

        x, y = _patients(params, rng, 1)
        frame = _cell_columns(params, np.repeat(np.arange(params.n_cells), params.n))
        if x is not None:
            frame["baseline"] = x[0]
        frame["y"] = y[0]
        return pd.DataFrame(frame)


def _exact_anova(params: ContinuousParams, rng: np.random.Generator, size: int) -> CellDraws:
    # Draw order (all normals, then the chi-squares) fixes the seeded results.
    n = params.n.astype(float)
    df = params.n_total - params.n_cells
    means = rng.standard_normal((size, params.n_cells))
    means *= params.sd / np.sqrt(n)
    means += params.means
    s2 = rng.chisquare(df, size)
    s2 *= params.sd**2 / df
    return CellDraws(
        estimates=means, pooled=PooledVariance(scale=s2, unit_variances=1.0 / n), df=float(df)
    )


def _exact_ancova(params: ContinuousParams, rng: np.random.Generator, size: int) -> CellDraws:
    n = params.n.astype(float)
    j = params.n_cells
    sd, rho = params.sd, params.baseline_corr
    r = math.sqrt(1.0 - rho**2)
    m = params.n_total - j  # within-cell df of the cross-products
    # Cell means of (baseline, outcome): bivariate normal with covariance Sigma / n_j,
    # xbar = se z0, ybar = mu + se (rho z0 + r z1), se = sd / sqrt(n).
    z = rng.standard_normal((size, 2, j))
    # Pooled within-cell SSCP ~ Wishart(m, Sigma) = L A A' L' (Bartlett): A lower
    # triangular with A11^2 ~ chi2(m), A22^2 ~ chi2(m - 1), A21 ~ N(0, 1), and
    # L = sd * [[1, 0], [rho, r]] the Cholesky factor of Sigma, so
    # W_xx = sd^2 A11^2, W_xy = sd^2 A11 u, W_yy = sd^2 (u^2 + r^2 A22^2), u = rho A11 + r A21.
    a11_sq = rng.chisquare(m, size)
    a21 = rng.standard_normal(size)
    a22_sq = rng.chisquare(m - 1, size)
    # The OLS fit of ancova_from_sufficient in closed form: slope b = W_xy / W_xx =
    # u / A11, residual variance (W_yy - W_xy^2 / W_xx) / (m - 1) = sd^2 r^2 A22^2 / (m - 1),
    # adjusted means ybar - b xbar = mu + se (r z1 + (rho - b) z0).
    a11 = np.sqrt(a11_sq)
    coef = a21 / a11
    coef *= -r  # rho - b = -r A21 / A11
    se = sd / np.sqrt(n)
    xbar = z[:, 0] * se
    adjusted = z[:, 1] * (r * se)
    adjusted += coef[:, None] * xbar
    adjusted += params.means
    s2 = a22_sq
    s2 *= (sd * r) ** 2 / (m - 1)
    a11_sq *= sd**2
    pooled = PooledVariance(
        scale=s2, unit_variances=1.0 / n, rank_one=xbar, rank_one_weight=1.0 / a11_sq
    )
    return CellDraws(estimates=adjusted, pooled=pooled, df=float(m - 1))


def anova_from_sufficient(ybar: np.ndarray, ss_within: np.ndarray, n: np.ndarray) -> CellDraws:
    """Cell-means OLS fit (``y ~ 0 + cell``) from its sufficient statistics.

    Parameters
    ----------
    ybar : numpy.ndarray
        Shape ``(size, cells)``: cell means of the outcome.
    ss_within : numpy.ndarray
        Shape ``(size,)``: pooled within-cell sum of squares.
    n : numpy.ndarray
        Participants per cell.

    Returns
    -------
    CellDraws
        Estimates ``ybar``; variances ``s^2 / n_j`` with
        ``s^2 = SS / (N - J)`` in pooled form (:class:`PooledVariance`,
        scale ``s^2``); ``df = N - J``.

    Examples
    --------
    >>> import numpy as np
    >>> d = anova_from_sufficient(np.array([[1.0, 2.0]]), np.array([8.0]), np.array([3, 3]))
    >>> d.df, d.covariance_matrix()[0].diagonal().tolist()
    (4.0, [0.6666666666666666, 0.6666666666666666])
    """
    n = np.asarray(n, dtype=float)
    df = float(n.sum() - n.size)
    s2 = np.asarray(ss_within, dtype=float) / df
    return CellDraws(estimates=ybar, pooled=PooledVariance(scale=s2, unit_variances=1.0 / n), df=df)


def ancova_from_sufficient(
    xbar: np.ndarray,
    ybar: np.ndarray,
    w_xx: np.ndarray,
    w_xy: np.ndarray,
    w_yy: np.ndarray,
    n: np.ndarray,
) -> CellDraws:
    """ANCOVA fit (``y ~ 0 + cell + baseline``) from its sufficient statistics.

    Parameters
    ----------
    xbar, ybar : numpy.ndarray
        Shape ``(size, cells)``: cell means of baseline and outcome.
    w_xx, w_xy, w_yy : numpy.ndarray
        Shape ``(size,)``: pooled within-cell sums of squares and
        cross-products.
    n : numpy.ndarray
        Participants per cell.

    Returns
    -------
    CellDraws
        Adjusted cell estimates ``ybar_j - b xbar_j`` with the common slope
        ``b = W_xy / W_xx``; covariance ``s^2 (diag(1/n) + xbar xbar' / W_xx)``
        with ``s^2 = (W_yy - W_xy^2 / W_xx) / (N - J - 1)``; ``df = N - J - 1``.
        These are the OLS estimates and covariance of the cell coefficients,
        the covariance in pooled form (:class:`PooledVariance`: scale ``s^2``,
        rank-one part ``xbar`` with weight ``1 / W_xx``).

    Examples
    --------
    >>> import numpy as np
    >>> d = ancova_from_sufficient(np.array([[0.0, 1.0]]), np.array([[1.0, 3.0]]),
    ...     np.array([2.0]), np.array([1.0]), np.array([4.0]), np.array([3, 3]))
    >>> d.estimates.tolist(), d.df
    ([[1.0, 2.5]], 3.0)
    """
    n = np.asarray(n, dtype=float)
    j = n.size
    df = float(n.sum() - j - 1)
    xbar = np.asarray(xbar, dtype=float)
    w_xx = np.asarray(w_xx, dtype=float)
    slope = np.asarray(w_xy, dtype=float) / w_xx
    s2 = (np.asarray(w_yy, dtype=float) - slope * w_xy) / df
    adjusted = ybar - slope[:, None] * xbar
    pooled = PooledVariance(
        scale=s2, unit_variances=1.0 / n, rank_one=xbar, rank_one_weight=1.0 / w_xx
    )
    return CellDraws(estimates=adjusted, pooled=pooled, df=df)


def _patients(
    params: ContinuousParams, rng: np.random.Generator, size: int
) -> tuple[np.ndarray | None, np.ndarray]:
    """Baselines (or None) and outcomes of ``size`` trials, shape (size, N).

    Each trial's normals are drawn consecutively (baseline then outcome
    noise), so one trial at a time gives the same data as a block.
    """
    mu = np.repeat(params.means, params.n)
    n_total = params.n_total
    if not params.ancova:
        y = rng.standard_normal((size, n_total))
        y *= params.sd
        y += mu
        return None, y
    z = rng.standard_normal((size, 2, n_total))
    rho = params.baseline_corr
    x = params.sd * z[:, 0]
    y = z[:, 1]
    y *= params.sd * math.sqrt(1.0 - rho**2)
    y += rho * x
    y += mu
    return x, y


def _individual(params: ContinuousParams, rng: np.random.Generator, size: int) -> CellDraws:
    """OLS of y on cell indicators (+ baseline) for every trial of the block at once.

    The design matrix is ``X = [D, x]`` (D the cell indicators, fixed; x the
    trial's baselines, if any); the normal equations ``X'X beta = X'y`` are
    formed from their blocks (``D'D = diag(n)``, ``D'x``, ``x'x``, ``D'y``,
    ``x'y``) and solved for all trials together.
    """
    x, y = _patients(params, rng, size)
    j = params.n_cells
    n = params.n.astype(float)
    dummies = np.repeat(np.eye(j), params.n, axis=0)  # D: (N, J)
    dty = y @ dummies  # D'y: (R, J)
    if x is None:
        inv = np.diag(1.0 / n)  # (D'D)^-1
        beta = dty @ inv
        y -= beta @ dummies.T  # residuals, in place
        df = params.n_total - j
        s2 = np.einsum("rn,rn->r", y, y) / df
        cov = s2[:, None, None] * inv[None]
        return CellDraws(estimates=beta, covariance=cov, df=float(df))
    p = j + 1
    xtx = np.zeros((size, p, p))
    xtx[:, np.arange(j), np.arange(j)] = n  # D'D
    dtx = x @ dummies  # D'x: (R, J)
    xtx[:, :j, j] = dtx
    xtx[:, j, :j] = dtx
    xtx[:, j, j] = np.einsum("rn,rn->r", x, x)
    xty = np.empty((size, p))
    xty[:, :j] = dty
    xty[:, j] = np.einsum("rn,rn->r", x, y)
    inv = np.linalg.inv(xtx)
    beta = np.einsum("rik,rk->ri", inv, xty)
    y -= beta[:, :j] @ dummies.T
    y -= beta[:, j:] * x
    df = params.n_total - p
    s2 = np.einsum("rn,rn->r", y, y) / df
    cov = s2[:, None, None] * inv[:, :j, :j]
    return CellDraws(estimates=beta[:, :j], covariance=cov, df=float(df))


register_simulator(Continuous, ContinuousSimulator())
