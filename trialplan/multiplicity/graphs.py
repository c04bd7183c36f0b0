"""Graphical multiple-testing procedures (Bretz et al. 2009) and the engine they share.

:class:`Bonferroni`, :class:`Holm`, :class:`FixedSequence` and
:class:`Graphical` run on one graphical engine (:func:`graphical_test`):
hypothesis ``j`` is rejected when ``p_j <= w_j alpha``; its weight then moves
along the graph's edges and the graph is updated.

Power is exact (multivariate t or normal integration) where the event is a
rectangle of the joint statistics, or a short union of them: Bonferroni per
hypothesis, any and all; Holm's "any" (the same event as Bonferroni's); Holm
with two hypotheses; every fixed-sequence quantity.  Everything else is
simulated from the exact joint law.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialplan._validation import check_open_unit
from trialplan.multiplicity.base import (
    DEFAULT_N_SIMS,
    TOLERANCE,
    Procedure,
    as_trials,
    float_array,
)
from trialplan.multiplicity.joint import JointStatistics

__all__ = ["Bonferroni", "FixedSequence", "Graphical", "Holm", "graphical_test"]


def graphical_test(
    p_values: Any, *, weights: Sequence[float], transitions: Any, alpha: float
) -> np.ndarray:
    """Sequentially rejective graphical test (Bretz et al. 2009, Algorithm 1).

    Hypothesis ``j`` is rejected when ``p_j <= w_j alpha``; then
    ``w_l += w_j g_jl`` and ``g_lk = (g_lk + g_lj g_jk) / (1 - g_lj g_jl)``
    for the hypotheses still in the graph.  The decisions do not depend on the
    order in which rejectable hypotheses are taken (Bretz et al. 2009,
    Theorem 1).  Vectorized over rows of ``p_values``.

    Parameters
    ----------
    p_values : array_like
        Shape (m,) for one trial or (R, m) for R trials.
    weights : sequence of float
        Initial weights ``w`` (>= 0, summing to at most 1).
    transitions : array_like
        (m, m) matrix ``G`` with zero diagonal, rows summing to at most 1.
    alpha : float
        Family-wise error rate.

    Returns
    -------
    numpy.ndarray of bool
        Rejections, the shape of ``p_values``.

    References
    ----------
    .. [1] Bretz F, Maurer W, Brannath W, Posch M. A graphical approach to
       sequentially rejective multiple test procedures. Stat Med
       2009;28:586-604.

    Examples
    --------
    Holm for two hypotheses is the graph with weights 1/2 and edges of 1:

    >>> graphical_test([0.01, 0.04], weights=[0.5, 0.5],
    ...                transitions=[[0, 1], [1, 0]], alpha=0.05).tolist()
    [True, True]
    """
    alpha = check_open_unit("alpha", alpha)
    p, single = as_trials(p_values)
    m = p.shape[1]
    w0, g0 = _check_graph(weights, transitions, m)
    n_rows = p.shape[0]
    w = np.tile(w0, (n_rows, 1))
    g = np.tile(g0, (n_rows, 1, 1))
    rejected = np.zeros((n_rows, m), dtype=bool)
    rows = np.arange(n_rows)
    for _ in range(m):
        candidate = ~rejected & (p <= w * alpha * (1 + TOLERANCE)) & (w > 0)
        todo = candidate.any(axis=1)
        if not todo.any():
            break
        r = rows[todo]
        j = candidate[r].argmax(axis=1)
        wj = w[r, j][:, None]
        gj = g[r, j, :]  # edges out of j
        g_in = g[r, :, j]  # edges into j
        w[r] = w[r] + wj * gj
        w[r, j] = 0.0
        old = g[r]
        num = old + g_in[:, :, None] * gj[:, None, :]
        den = 1.0 - g_in * gj  # 1 - g_lj g_jl, one per source l
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(den[:, :, None] > TOLERANCE, num / den[:, :, None], 0.0)
        new[:, np.arange(m), np.arange(m)] = 0.0
        new[np.arange(len(r)), j, :] = 0.0
        new[np.arange(len(r)), :, j] = 0.0
        g[r] = new
        rejected[r, j] = True
    return rejected[0] if single else rejected


def _check_graph(weights: Any, transitions: Any, m: int) -> tuple[np.ndarray, np.ndarray]:
    w = float_array("weights", weights)
    g = float_array("transitions", transitions)
    if w.shape != (m,):
        raise ValueError(
            f"weights must have one entry per hypothesis ({m}); got weights={weights!r}"
        )
    if g.shape != (m, m):
        raise ValueError(f"transitions must be an {m} x {m} matrix; got shape {g.shape}")
    if not (np.all(np.isfinite(w)) and np.all(w >= 0) and 0 < w.sum() <= 1 + 1e-9):
        raise ValueError(
            "weights must be >= 0, not all 0 (that rejects nothing), and sum to "
            f"at most 1; got weights={weights!r}"
        )
    if not (np.all(np.isfinite(g)) and np.all(g >= 0) and np.all(g.sum(axis=1) <= 1 + 1e-9)):
        raise ValueError(
            "transitions must be >= 0 with every row summing to at most 1; got "
            f"transitions={g.tolist()!r}"
        )
    if np.any(np.diag(g) != 0):
        raise ValueError(
            "transitions must have a zero diagonal (no edge from a hypothesis to "
            f"itself); got diagonal {np.diag(g).tolist()!r}"
        )
    return w, g


class GraphProcedure(Procedure):
    """A procedure defined by initial weights and a transition matrix."""

    def graph(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        """Initial weights and transition matrix."""
        raise NotImplementedError

    def reject(self, p_values: Any, *, alpha: float) -> np.ndarray:
        """Rejections by the graphical engine (see :func:`graphical_test`)."""
        w, g = self.graph()
        return graphical_test(p_values, weights=w, transitions=g, alpha=alpha)

    def initial_levels(self, alpha: float) -> np.ndarray:
        """Initial weight times ``alpha``."""
        return self.graph()[0] * alpha


def _equal_weights(weights: Any, m: int) -> np.ndarray:
    if weights is None:
        return np.full(m, 1.0 / m)
    w = float_array("weights", weights)
    if (
        w.shape != (m,)
        or not np.all(np.isfinite(w))
        or np.any(w < 0)
        or w.sum() > 1 + 1e-9
        or w.sum() == 0
    ):
        raise ValueError(
            f"weights must be {m} numbers >= 0, not all 0, summing to at most 1, "
            f"one per hypothesis; got weights={weights!r}"
        )
    return w


@dataclass(frozen=True, kw_only=True, init=False)
class Bonferroni(GraphProcedure):
    """(Weighted) Bonferroni: reject ``H_j`` when ``p_j <= w_j alpha``.

    Parameters
    ----------
    hypotheses : sequence of str
        The family, e.g. ``["rTMS", "MBI", "rTMS:MBI"]``.
    weights : sequence of float, optional
        Share of alpha per hypothesis (default equal, ``1/m``).
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims : int, default 100000
        Simulated trials for quantities without an exact form.
    seed : int, optional
        Seed of those simulations (default a fixed seed).

    Notes
    -----
    Per-hypothesis power, and power to reject any and all, are exact
    (multivariate t integration).

    References
    ----------
    .. [1] Bretz F, Maurer W, Brannath W, Posch M. Stat Med 2009;28:586-604.

    Examples
    --------
    >>> import trialplan as tp
    >>> tp.Bonferroni(["rTMS", "MBI"]).test({"rTMS": 0.02, "MBI": 0.03}, alpha=0.05)
    {'rTMS': True, 'MBI': False}
    """

    weights: tuple[float, ...] | None = None
    name = "Bonferroni"

    def __init__(
        self,
        hypotheses: Sequence[str],
        *,
        weights: Sequence[float] | None = None,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        self._set_fields(
            hypotheses=hypotheses,
            weights=None if weights is None else tuple(weights),
            success=success,
            n_sims=n_sims,
            seed=seed,
        )
        _equal_weights(self.weights, len(self.hypotheses))

    def graph(self) -> tuple[np.ndarray, np.ndarray]:
        """Weights ``w`` and no edges."""
        m = len(self.hypotheses)
        return _equal_weights(self.weights, m), np.zeros((m, m))

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        levels = self.initial_levels(joint.alpha)[list(subset)]
        if what == "reject":
            return self._marginal(joint, subset[0], float(levels[0]))
        if np.any(levels <= 0):
            return None
        if what == "any":
            return joint.prob_any(subset, levels)
        return joint.prob_all(subset, levels)


@dataclass(frozen=True, kw_only=True, init=False)
class Holm(GraphProcedure):
    """Holm's step-down procedure (weighted), on the graphical engine.

    Order the p-values; reject while ``p_(i) <= alpha / (m - i + 1)`` (equal
    weights).  As a graph: weights ``w`` and edges ``g_jk = w_k / (1 - w_j)``.

    Parameters
    ----------
    hypotheses : sequence of str
        The family.
    weights : sequence of float, optional
        Initial weights (default equal).
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims : int, default 100000
        Simulated trials (per-hypothesis power and "all" are simulated).
    seed : int, optional
        Seed of those simulations (default a fixed seed).

    Notes
    -----
    The power to reject any hypothesis is exact: Holm rejects at least one
    exactly when Bonferroni does.  With two hypotheses every quantity is exact
    (unions of rectangles); with more, per-hypothesis power and "all" are
    simulated.

    References
    ----------
    .. [1] Holm S. A simple sequentially rejective multiple test procedure.
       Scand J Stat 1979;6:65-70.

    Examples
    --------
    >>> import trialplan as tp
    >>> tp.Holm(["A", "B", "C"]).test([0.01, 0.04, 0.02], alpha=0.05)
    {'A': True, 'B': True, 'C': True}
    """

    weights: tuple[float, ...] | None = None
    name = "Holm"

    def __init__(
        self,
        hypotheses: Sequence[str],
        *,
        weights: Sequence[float] | None = None,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        Bonferroni.__init__(
            self,
            hypotheses,
            weights=weights,  # type: ignore[arg-type]
            success=success,
            n_sims=n_sims,
            seed=seed,
        )

    def graph(self) -> tuple[np.ndarray, np.ndarray]:
        """Weights ``w`` and edges ``g_jk = w_k / (1 - w_j)`` (equal weights: ``1/(m-1)``)."""
        m = len(self.hypotheses)
        w = _equal_weights(self.weights, m)
        g = np.zeros((m, m))
        for j in range(m):
            rest = np.delete(np.arange(m), j)
            total = w[rest].sum()
            if total > 0:
                g[j, rest] = w[rest] / total
            elif m > 1:
                g[j, rest] = 1.0 / (m - 1)
        return w, g

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        levels = self.initial_levels(joint.alpha)
        if len(self.hypotheses) == 1:
            return self._marginal(joint, 0, joint.alpha)
        if what == "any" and self._is_full(subset) and np.all(levels > 0):
            return joint.prob_any(subset, levels[list(subset)])
        if len(self.hypotheses) == 2:
            return _holm_two(joint, what, subset, levels)
        return None


@dataclass(frozen=True, kw_only=True, init=False)
class FixedSequence(GraphProcedure):
    """Fixed-sequence (hierarchical) testing: in order at the full alpha, stop at the first failure.

    Parameters
    ----------
    hypotheses : sequence of str
        The order of testing.
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims, seed
        Unused for power (every quantity is exact); kept for a uniform interface.

    Notes
    -----
    ``H_j`` is rejected exactly when ``H_1, ..., H_j`` all reject at
    ``alpha``: every quantity is an exact multivariate t integral.  Testing
    the combination's two one-sided comparisons in sequence and asking for
    "all" gives the intersection-union (min) test's power.

    References
    ----------
    .. [1] Maurer W, Hothorn LA, Lehmacher W. Multiple comparisons in drug
       clinical trials and preclinical assays: a-priori ordered hypotheses.
       In: Vollmar J (ed.), Biometrie in der chemisch-pharmazeutischen
       Industrie 6, Fischer, 1995:3-18.
    .. [2] Bretz F, Maurer W, Brannath W, Posch M. Stat Med 2009;28:586-604.

    Examples
    --------
    >>> import trialplan as tp
    >>> tp.FixedSequence(["combination", "rTMS:MBI"]).test([0.01, 0.2])
    {'combination': True, 'rTMS:MBI': False}
    """

    name = "fixed sequence"

    def __init__(
        self,
        hypotheses: Sequence[str],
        *,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        self._set_fields(hypotheses=hypotheses, success=success, n_sims=n_sims, seed=seed)

    def graph(self) -> tuple[np.ndarray, np.ndarray]:
        """Weight 1 on the first hypothesis; an edge of 1 to the next."""
        m = len(self.hypotheses)
        w = np.zeros(m)
        w[0] = 1.0
        g = np.eye(m, k=1)
        return w, g

    def initial_levels(self, alpha: float) -> np.ndarray:
        """Every hypothesis is tested at ``alpha`` once reached."""
        return np.full(len(self.hypotheses), alpha)

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        last = min(subset) if what == "any" else max(subset)
        chain = tuple(range(last + 1))
        if not joint.exact_available(chain):
            return None
        if last == 0:
            return self._marginal(joint, 0, joint.alpha)
        return joint.prob_all(chain, [joint.alpha] * len(chain))


@dataclass(frozen=True, kw_only=True, init=False)
class Graphical(GraphProcedure):
    """Any graphical procedure: initial weights and a transition matrix.

    Parameters
    ----------
    hypotheses : sequence of str
        The family.
    weights : sequence of float
        Initial weights (>= 0, summing to at most 1).
    transitions : array_like
        ``m x m`` matrix, zero diagonal, rows summing to at most 1.
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims : int, default 100000
        Simulated trials (power is simulated).
    seed : int, optional
        Seed of the simulation (default a fixed seed).

    References
    ----------
    .. [1] Bretz F, Maurer W, Brannath W, Posch M. Stat Med 2009;28:586-604.

    Examples
    --------
    Two primaries sharing alpha, each passing its weight to its secondary:

    >>> import trialplan as tp
    >>> g = tp.Graphical(["A", "B", "A2", "B2"], weights=[0.5, 0.5, 0, 0],
    ...                  transitions=[[0, 0, 1, 0], [0, 0, 0, 1],
    ...                               [0, 1, 0, 0], [1, 0, 0, 0]])
    >>> g.test([0.01, 0.3, 0.02, 0.5])
    {'A': True, 'B': False, 'A2': True, 'B2': False}
    """

    weights: tuple[float, ...] = ()
    transitions: tuple[tuple[float, ...], ...] = ()
    name = "graphical"

    def __init__(
        self,
        hypotheses: Sequence[str],
        *,
        weights: Sequence[float],
        transitions: Any,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        self._set_fields(hypotheses=hypotheses, success=success, n_sims=n_sims, seed=seed)
        w, g = _check_graph(weights, transitions, len(self.hypotheses))
        object.__setattr__(self, "weights", tuple(w.tolist()))
        object.__setattr__(self, "transitions", tuple(tuple(r) for r in g.tolist()))

    def graph(self) -> tuple[np.ndarray, np.ndarray]:
        """The weights and transition matrix given."""
        return np.array(self.weights), np.array(self.transitions)


def _holm_two(
    joint: JointStatistics, what: str, subset: tuple[int, ...], levels: np.ndarray
) -> float | None:
    """Holm with two hypotheses as unions of rectangles.

    With ``A_i = {p_i <= w_i alpha}`` and ``C_i = {p_i <= alpha}``, Holm rejects
    ``H_j`` on ``A_j or (A_o and C_j)``, and both on ``(A_j and C_o) or (A_o and C_j)``.
    """
    a = joint.alpha
    both = joint.prob_all
    if what == "reject" or (what in ("any", "all") and len(subset) == 1):
        j = subset[0]
        o = 1 - j
        return (
            both((j,), [levels[j]])
            + both((o, j), [levels[o], a])
            - both((j, o), [levels[j], levels[o]])
        )
    if what == "all":
        return (
            both((0, 1), [levels[0], a])
            + both((1, 0), [levels[1], a])
            - both((0, 1), [levels[0], levels[1]])
        )
    return None
