"""How an outcome type plugs into the simulation engine: a protocol and a registry.

The runner (:mod:`trialplan.simulate.runner`) knows seeds, batches, executors
and tests; it knows nothing about outcomes.  Each outcome type has one
*simulator*, registered under the outcome's class, that turns a design into a
picklable parameter object once (``prepare``) and then draws many simulated
trials at a time (``draw``) as a :class:`CellDraws`: per trial, the estimated
cell parameters on the analysis scale and their estimated covariance.  Every
hypothesis of a cell design is a contrast of the cells, so the runner forms
each hypothesis' statistic ``c'b / sqrt(c'Vc)`` and decides rejection exactly
as the analytic engine does (two-sided, one-sided in the favourable direction,
or intersection-union).

Adding a simulator for a new outcome (e.g. ``trialplan/simulate/binary.py``)::

    from trialplan.simulate.protocol import BaseSimulator, CellDraws, register_simulator

    class BinarySimulator(BaseSimulator):
        engines = ("exact",)

        def prepare(self, design):
            return {"rates": ..., "n": design.n_array.copy()}   # picklable

        def draw(self, params, rng, size, *, engine):
            counts = rng.binomial(params["n"], params["rates"], size=(size, len(params["n"])))
            ...
            return CellDraws(estimates=log_odds, variances=var, df=math.inf)

    register_simulator(Binary, BinarySimulator())

and one import line in ``trialplan/simulate/__init__.py`` (``from trialplan.simulate
import binary as _binary``) so the registration runs on ``import trialplan``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "BaseSimulator",
    "CellDraws",
    "OutcomeSimulator",
    "PooledVariance",
    "SimulatedDesign",
    "register_simulator",
    "simulator_for",
]


@runtime_checkable
class SimulatedDesign(Protocol):
    """What the runner asks of a design (every trialplan design implements it).

    ``statistics(hypotheses)`` gives the hypotheses' family (their contrasts),
    ``simulator()`` the simulator that draws trials, and ``simulation_subject``
    names what is simulated in messages (e.g. ``"Binary outcomes"``).
    """

    simulation_subject: str

    def statistics(self, hypotheses: Any = None) -> Any:
        """The named hypotheses' statistic family."""
        ...  # pragma: no cover - protocol

    def simulator(self) -> Any:
        """The simulator that draws this design's trials."""
        ...  # pragma: no cover - protocol


@dataclass(frozen=True)
class PooledVariance:
    """Covariance of cell estimates that share one pooled variance estimate.

    In trial ``r`` the cell estimates have estimated covariance
    ``scale[r] * (diag(unit_variances) + rank_one_weight[r] * g g')`` with
    ``g = rank_one[r]``; without ``rank_one`` it is
    ``scale[r] * diag(unit_variances)``.  A cell-means OLS fit has
    ``scale = s^2`` and ``unit_variances = 1 / n``; an ANCOVA fit adds the
    slope's share, ``g`` the cell means of the baseline and weight
    ``1 / W_xx``.  A contrast's variance then needs one matrix product for
    every contrast at once, never a matrix per trial.

    Parameters
    ----------
    scale : numpy.ndarray
        Shape ``(size,)``: the pooled variance of each trial.
    unit_variances : numpy.ndarray
        Shape ``(cells,)``: each cell's variance per unit of ``scale``.
    rank_one : numpy.ndarray, optional
        Shape ``(size, cells)``: the vector ``g`` of each trial.
    rank_one_weight : numpy.ndarray, optional
        Shape ``(size,)``: its weight; required with ``rank_one``.

    Raises
    ------
    ValueError
        If the shapes disagree, or only one of ``rank_one`` and
        ``rank_one_weight`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> pooled = PooledVariance(scale=np.array([2.0]), unit_variances=np.array([0.5, 0.25]))
    >>> pooled.contrast_variance(np.array([[-1.0, 1.0]])).tolist()
    [[1.5]]
    >>> pooled.matrix().tolist()
    [[[1.0, 0.0], [0.0, 0.5]]]
    """

    scale: np.ndarray
    unit_variances: np.ndarray
    rank_one: np.ndarray | None = None
    rank_one_weight: np.ndarray | None = None

    def __post_init__(self) -> None:
        scale = np.asarray(self.scale, dtype=float)
        unit = np.asarray(self.unit_variances, dtype=float)
        if scale.ndim != 1 or unit.ndim != 1:
            raise ValueError(
                f"scale must have shape (size,) and unit_variances shape (cells,); got "
                f"shapes {scale.shape} and {unit.shape}"
            )
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "unit_variances", unit)
        if (self.rank_one is None) != (self.rank_one_weight is None):
            raise ValueError("give both rank_one and rank_one_weight, or neither")
        if self.rank_one is not None:
            g = np.asarray(self.rank_one, dtype=float)
            w = np.asarray(self.rank_one_weight, dtype=float)
            if g.shape != scale.shape + unit.shape or w.shape != scale.shape:
                raise ValueError(
                    f"rank_one must have shape {scale.shape + unit.shape} and "
                    f"rank_one_weight shape {scale.shape}; got {g.shape} and {w.shape}"
                )
            object.__setattr__(self, "rank_one", g)
            object.__setattr__(self, "rank_one_weight", w)

    def contrast_variance(self, weights: np.ndarray) -> np.ndarray:
        """Estimated variance of contrasts (rows of ``weights``) in every trial, ``(size, m)``."""
        weights = np.atleast_2d(np.asarray(weights, dtype=float))
        base = (weights**2) @ self.unit_variances
        if self.rank_one is None:
            return self.scale[:, None] * base[None, :]
        shift = self.rank_one @ weights.T
        shift *= shift
        shift *= self.rank_one_weight[:, None]
        shift += base
        shift *= self.scale[:, None]
        return shift

    def matrix(self) -> np.ndarray:
        """The full covariance matrices, shape ``(size, cells, cells)``."""
        cov = np.zeros(self.scale.shape + self.unit_variances.shape * 2)
        cells = np.arange(self.unit_variances.size)
        cov[:, cells, cells] = self.unit_variances
        if self.rank_one is not None:
            g = self.rank_one
            cov += self.rank_one_weight[:, None, None] * g[:, :, None] * g[:, None, :]
        return cov * self.scale[:, None, None]


@dataclass(frozen=True)
class CellDraws:
    """Estimated cell parameters of a batch of simulated trials.

    Exactly one of ``variances`` (independent cell estimates),
    ``covariance`` (a full matrix per trial, e.g. a regression fit) and
    ``pooled`` (a pooled-variance fit, e.g. cell means or ANCOVA-adjusted
    means: cheapest for the runner) is given.

    Parameters
    ----------
    estimates : numpy.ndarray
        Shape ``(size, cells)``: each trial's estimate of every cell's
        parameter on the analysis scale (cell means, adjusted means, log odds,
        ...), cells in the design's order.
    df : float or numpy.ndarray
        Residual degrees of freedom of the t statistics (``math.inf`` for
        Wald/normal statistics); a scalar, or shape ``(size,)`` when it varies
        between trials.
    variances : numpy.ndarray, optional
        Shape ``(size, cells)``: estimated variance of each cell's estimate,
        cells independent.
    covariance : numpy.ndarray, optional
        Shape ``(size, cells, cells)``: estimated covariance matrix of the
        cell estimates.
    counts : mapping of str to int, optional
        Events worth reporting, e.g. ``{"trials with a zero cell (+0.5 added)":
        3}``; summed over batches and shown in the result's ``extras``.
    pooled : PooledVariance, optional
        The covariance in pooled-variance form.

    Raises
    ------
    ValueError
        If the shapes disagree, or not exactly one of ``variances``,
        ``covariance`` and ``pooled`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> draws = CellDraws(estimates=np.array([[1.0, 3.0]]),
    ...                   variances=np.array([[0.5, 0.5]]), df=10.0)
    >>> est, se = draws.contrast(np.array([[-1.0, 1.0]]))
    >>> float(est[0, 0]), float(se[0, 0])
    (2.0, 1.0)
    """

    estimates: np.ndarray
    df: float | np.ndarray
    variances: np.ndarray | None = None
    covariance: np.ndarray | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    pooled: PooledVariance | None = None

    def __post_init__(self) -> None:
        est = np.asarray(self.estimates, dtype=float)
        if est.ndim != 2:
            raise ValueError(f"estimates must have shape (size, cells); got shape {est.shape}")
        object.__setattr__(self, "estimates", est)
        given = sum(x is not None for x in (self.variances, self.covariance, self.pooled))
        if given != 1:
            raise ValueError(
                "give exactly one of variances (independent cells), covariance "
                "(a matrix per trial) and pooled (a PooledVariance)"
            )
        if self.pooled is not None:
            if not isinstance(self.pooled, PooledVariance):
                raise TypeError(f"pooled must be a PooledVariance; got pooled={self.pooled!r:.80}")
            if self.pooled.scale.shape + self.pooled.unit_variances.shape != est.shape:
                raise ValueError(
                    f"pooled (size {self.pooled.scale.shape}, cells "
                    f"{self.pooled.unit_variances.shape}) must match estimates {est.shape}"
                )
        elif self.variances is not None:
            var = np.asarray(self.variances, dtype=float)
            if var.shape != est.shape:
                raise ValueError(
                    f"variances must have the shape of estimates {est.shape}; got {var.shape}"
                )
            object.__setattr__(self, "variances", var)
        else:
            cov = np.asarray(self.covariance, dtype=float)
            if cov.shape != est.shape + est.shape[1:]:
                raise ValueError(
                    "covariance must have shape (size, cells, cells) = "
                    f"{est.shape + est.shape[1:]}; got {cov.shape}"
                )
            object.__setattr__(self, "covariance", cov)
        df = self.df
        if np.ndim(df) == 0:
            df = float(df)
            if not df > 0:
                raise ValueError(
                    f"df must be > 0 (math.inf for normal statistics); got df={self.df!r}"
                )
        else:
            df = np.asarray(df, dtype=float)
            if df.shape != (est.shape[0],):
                raise ValueError(
                    f"df must be a number or have shape ({est.shape[0]},); got shape {df.shape}"
                )
        object.__setattr__(self, "df", df)
        object.__setattr__(self, "counts", MappingProxyType(dict(self.counts)))

    @property
    def size(self) -> int:
        """Number of simulated trials in the batch."""
        return int(self.estimates.shape[0])

    def contrast(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Estimates and standard errors of contrasts in every trial.

        Parameters
        ----------
        weights : numpy.ndarray
            Shape ``(m, cells)``: one contrast per row.

        Returns
        -------
        estimate, se : numpy.ndarray
            Each of shape ``(size, m)``.
        """
        weights = np.atleast_2d(np.asarray(weights, dtype=float))
        estimate = self.estimates @ weights.T
        with np.errstate(invalid="ignore"):
            se = np.sqrt(self.contrast_variance(weights))
        return estimate, se

    def contrast_variance(self, weights: np.ndarray) -> np.ndarray:
        """Estimated variances of contrasts (rows of ``weights``) in every trial, ``(size, m)``."""
        weights = np.atleast_2d(np.asarray(weights, dtype=float))
        if self.pooled is not None:
            return self.pooled.contrast_variance(weights)
        if self.variances is not None:
            return self.variances @ (weights**2).T
        return np.einsum("rjk,mj,mk->rm", self.covariance, weights, weights)

    def covariance_matrix(self) -> np.ndarray:
        """Estimated covariance of the cell estimates, shape ``(size, cells, cells)``.

        Examples
        --------
        >>> import numpy as np
        >>> CellDraws(estimates=np.zeros((1, 2)), variances=np.array([[1.0, 2.0]]),
        ...           df=5.0).covariance_matrix().tolist()
        [[[1.0, 0.0], [0.0, 2.0]]]
        """
        if self.pooled is not None:
            return self.pooled.matrix()
        if self.covariance is not None:
            return self.covariance
        cov = np.zeros(self.variances.shape + self.variances.shape[1:])
        cells = np.arange(self.variances.shape[1])
        cov[:, cells, cells] = self.variances
        return cov


@runtime_checkable
class OutcomeSimulator(Protocol):
    """What the runner needs from the simulator of one outcome type.

    Attributes
    ----------
    engines : tuple of str
        Engines this simulator offers: ``"exact"`` (sufficient statistics with
        exactly the analysis' sampling distribution) and/or ``"individual"``
        (patient-level data analysed by batched least squares or similar).

    Notes
    -----
    ``prepare(design)`` runs once in the calling process and returns a
    picklable object (plain numbers, tuples, numpy arrays) that workers
    receive.  ``draw(params, rng, size, *, engine)`` must take all randomness
    from ``rng`` and return a :class:`CellDraws` of ``size`` trials; the
    runner calls it with one fresh generator per fixed-length block of
    trials, so results do not depend on batching or workers.
    ``bytes_per_trial(params, engine)`` bounds the memory one trial needs
    while drawing and analysing; an optional ``max_block(engine)`` caps the
    trials per block (default 2048).  ``describe(engine)`` names the method in
    words.  ``patient_data(params, rng)`` returns one trial's patient-level
    :class:`pandas.DataFrame` for user analyses (``analysis=``); it may
    raise ``NotImplementedError``.

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.simulate import OutcomeSimulator, simulator_for
    >>> sim = simulator_for(tp.Binary(rates={"a": 0.3, "b": 0.5}))
    >>> isinstance(sim, OutcomeSimulator), sim.engines
    (True, ('exact', 'individual'))
    """

    engines: tuple[str, ...]

    def prepare(self, design: Any) -> Any:
        """Turn a design into picklable simulation parameters."""

    def draw(self, params: Any, rng: np.random.Generator, size: int, *, engine: str) -> CellDraws:
        """Simulate ``size`` trials and return their cell estimates."""

    def bytes_per_trial(self, params: Any, engine: str) -> int:
        """Upper bound on the working memory of one simulated trial, in bytes."""

    def describe(self, engine: str) -> str:
        """Name the simulation method in words, for the result's ``method`` column."""

    def patient_data(self, params: Any, rng: np.random.Generator) -> Any:
        """One simulated trial's patient-level data as a DataFrame."""


class BaseSimulator:
    """Defaults for :class:`OutcomeSimulator` implementations (subclass this).

    Subclasses set ``engines`` and implement ``prepare`` and ``draw``; the
    defaults here size memory from the number of cells and refuse patient-level
    data.

    Examples
    --------
    >>> from trialplan.simulate import BaseSimulator, OutcomeSimulator
    >>> class Toy(BaseSimulator):
    ...     engines = ("exact",)
    >>> Toy().describe("exact")
    'simulation (exact engine)'
    >>> Toy().bytes_per_trial(None, "exact")     # 16 cells assumed: 8 bytes * 64 * 16**2
    131072
    >>> isinstance(Toy(), OutcomeSimulator)
    True
    """

    engines: tuple[str, ...] = ("exact",)

    def prepare(self, design: Any) -> Any:  # pragma: no cover - abstract
        """Turn a design into picklable simulation parameters."""
        raise NotImplementedError

    def draw(
        self, params: Any, rng: np.random.Generator, size: int, *, engine: str
    ) -> CellDraws:  # pragma: no cover - abstract
        """Simulate ``size`` trials and return their cell estimates."""
        raise NotImplementedError

    def bytes_per_trial(self, params: Any, engine: str) -> int:
        """Bound memory generously: 64 float64 values per cell pair."""
        cells = int(getattr(params, "n_cells", 16))
        return 8 * 64 * max(cells, 1) ** 2

    def describe(self, engine: str) -> str:
        """Name the simulation method in words."""
        return f"simulation ({engine} engine)"

    def max_block(self, engine: str) -> int:
        """Most trials in one block (optional in the protocol; the runner's default, 2048).

        Seeded results depend on the block length, so a simulator changes it
        only knowingly.
        """
        return 2048

    def patient_data(self, params: Any, rng: np.random.Generator) -> Any:
        """Patient-level data are not available for this outcome."""
        raise NotImplementedError(
            f"{type(self).__name__} does not simulate patient-level "
            "data, so analysis= cannot be used with this outcome"
        )


_SIMULATORS: dict[type, OutcomeSimulator] = {}


def register_simulator(outcome_type: type, simulator: OutcomeSimulator) -> None:
    """Register the simulator of an outcome type (called at import time).

    Parameters
    ----------
    outcome_type : type
        The outcome class, e.g. ``trialplan.Continuous``.  Subclasses use
        their nearest registered base class.
    simulator : OutcomeSimulator
        The simulator instance (module-level, so that it pickles by
        reference).

    Raises
    ------
    TypeError
        If ``outcome_type`` is not a class or ``simulator`` lacks a method of
        the protocol.

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.simulate.protocol import simulator_for
    >>> simulator_for(tp.Continuous(means={"a": 0.0}, sd=1.0)).engines
    ('exact', 'individual')
    """
    if not isinstance(outcome_type, type):
        raise TypeError(f"outcome_type must be a class; got outcome_type={outcome_type!r}")
    if not isinstance(simulator, OutcomeSimulator):
        raise TypeError(
            "simulator must implement prepare, draw, bytes_per_trial, describe "
            f"and patient_data and set engines; got simulator={simulator!r}"
        )
    _SIMULATORS[outcome_type] = simulator


def simulator_for(outcome: Any) -> OutcomeSimulator:
    """Return the registered simulator of ``outcome``'s type.

    Parameters
    ----------
    outcome : object
        An outcome, e.g. ``tp.Continuous(...)``.

    Returns
    -------
    OutcomeSimulator

    Raises
    ------
    TypeError
        If no simulator is registered for the outcome's type (or a base).

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.simulate import simulator_for
    >>> type(simulator_for(tp.Continuous(means={"a": 0.0}, sd=1.0))).__name__
    'ContinuousSimulator'
    >>> simulator_for(3.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: no simulator is registered for outcome type 'float'; simulation is ...
    """
    for cls in type(outcome).__mro__:
        if cls in _SIMULATORS:
            return _SIMULATORS[cls]
    known = sorted(cls.__name__ for cls in _SIMULATORS)
    raise TypeError(
        f"no simulator is registered for outcome type "
        f"{type(outcome).__name__!r}; simulation is available for {known}"
    )
