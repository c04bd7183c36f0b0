"""Pocock-Simon minimization: an online allocator with a biased coin and an audit log.

References
----------
.. [1] Pocock SJ, Simon R. Sequential treatment assignment with balancing for
   prognostic factors in the controlled clinical trial. Biometrics
   1975;31(1):103-115.
.. [2] Taves DR. Minimization: a new method of assigning patients to
   treatment and control groups. Clin Pharmacol Ther 1974;15(5):443-453.
.. [3] Kahan BC, Morris TP. Improper analysis of trials randomised using
   stratified blocks or minimisation. Stat Med 2012;31(4):328-340.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from trialplan._validation import check_choice, check_real, did_you_mean
from trialplan._version import __version__
from trialplan.randomization.checks import check_covariates, check_seed, check_strata
from trialplan.randomization.files import header_label, levels_text, write_csv
from trialplan.randomization.units import Treatment, units_of

#: Columns of the minimization audit log besides the factors and treatment columns.
_LOG_COLUMNS = ("participant", "preferred", "u", "rule", "assigned")

__all__ = ["Minimization"]


def _plain_id(participant: Any) -> Any:
    return int(participant) if isinstance(participant, numbers.Integral) else participant


def _check_participant(participant: Any) -> None:
    if participant is not None and (
        isinstance(participant, bool) or not isinstance(participant, str | numbers.Integral)
    ):
        raise TypeError(
            "participant must be a text or whole-number identifier (or None for "
            f"the running number); got participant={participant!r}"
        )


class Minimization:
    """Pocock-Simon minimization: an online allocator with a biased coin.

    For each new participant, every treatment ``k`` is tried hypothetically:
    for each minimization factor, the counts of participants already
    assigned at the participant's own level of that factor are taken, one is
    added to treatment ``k``, and the imbalance of those counts is measured
    (the range, max minus min, by default).  ``G_k`` is the weighted sum of
    these imbalances over the factors.  The treatments with the smallest
    ``G_k`` are preferred: with probability ``p`` the participant gets one of
    them (chosen at random if several tie), otherwise one of the other
    treatments at random.  When every treatment ties, the choice is uniform.

    The allocator keeps its state (counts and an audit log) between calls;
    it is the one mutable object in trialplan.  The analysis should adjust
    for the minimization factors (Kahan & Morris 2012).

    Parameters
    ----------
    design : Factorial, Parallel or SMART
        What is assigned: a factorial's cells, a parallel design's arms, a
        SMART's stage-1 arms (``stage=1``) or stage-2 options (``stage=2``,
        with the stage-1 arm added as a factor ``"stage1"``).  Minimization
        here is for equal allocation; a design with unequal ratios raises.
    factors : mapping of str to sequence
        Minimization factors and their levels, e.g. ``{"site": ("A", "B"),
        "severity": ("moderate", "severe")}``.
    p : float, default 0.8
        Probability of assigning a preferred (least-imbalance) treatment,
        in (1/K, 1] for K treatments (1 is deterministic minimization).
    weights : mapping of str to float, optional
        Weight of each factor in ``G_k`` (all 1 by default).
    imbalance : {"range", "variance"}, default "range"
        How the imbalance of one factor level's counts is measured.
    seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
        Seeds the random choices; the same seed and the same participants
        give the same assignments.
    stage : {1, 2}, optional
        For a SMART only.

    Attributes
    ----------
    treatments : tuple
        What can be assigned (cells as tuples of levels, or arm labels).
    n_assigned : int
        Participants assigned so far.

    Raises
    ------
    ValueError
        For ``p`` outside (1/K, 1], a negative weight, unknown factors in
        ``weights``, a factor with no or repeated levels, or unequal
        allocation ratios.

    References
    ----------
    .. [1] Pocock SJ, Simon R. Biometrics 1975;31(1):103-115.
    .. [2] Taves DR. Clin Pharmacol Ther 1974;15(5):443-453.
    .. [3] Kahan BC, Morris TP. Stat Med 2012;31(4):328-340.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...                  outcome=tp.Continuous(means={("sham", "control"): 0,
    ...                      ("active", "control"): -3, ("sham", "MBI"): -2,
    ...                      ("active", "MBI"): -8}, sd=8.0), n_per_cell=50)
    >>> alloc = tp.randomization.Minimization(d, factors={"site": ("A", "B")}, p=1.0, seed=1)
    >>> first = alloc.assign({"site": "A"})
    >>> second = alloc.assign({"site": "A"})   # p=1: never the cell site A already has
    >>> first != second, alloc.n_assigned
    (True, 2)
    """

    def __init__(
        self,
        design: Any,
        *,
        factors: Mapping[str, Sequence[Any]],
        p: float = 0.8,
        weights: Mapping[str, float] | None = None,
        imbalance: str = "range",
        seed: int | np.random.SeedSequence | np.random.Generator | None = None,
        stage: int | None = None,
    ) -> None:
        units = units_of(design, stage=stage, ratios=None)
        unequal = [r for r in units.ratio_sets().values() if len(set(r)) != 1]
        if unequal:
            ratio_text = ":".join(map(str, unequal[0]))
            raise ValueError(
                f"Minimization supports equal allocation only; the design's "
                f"allocation ratios are {ratio_text} (with unequal ratios the "
                "biased coin does not preserve them; use permuted_blocks)"
            )
        self._units = units
        self.factors: Mapping[str, tuple[Any, ...]] = MappingProxyType(
            check_strata(factors, units, name="factors")
        )
        # the audit log has one column per factor and per treatment column besides
        # its own; a clash would overwrite one with the other
        for name in (*self.factors, *units.columns):
            if name in _LOG_COLUMNS or name.startswith("G["):
                raise ValueError(
                    f"{name!r} names a minimization factor or treatment column, but the "
                    f"audit log uses the names {list(_LOG_COLUMNS)} and 'G[...]' for its "
                    "own columns; rename it"
                )
        if not self.factors:
            raise ValueError(
                "factors must name at least one minimization factor, e.g. "
                "{'site': ('A', 'B')}; got factors={}"
            )
        k = len(units.treatments)
        self.p = check_real("p", p)
        if not 1.0 / k < self.p <= 1.0:
            raise ValueError(
                f"p must lie in (1/{k}, 1] for {k} treatments (the preferred "
                f"treatment must be favoured); got p={p!r}"
            )
        weights = {} if weights is None else weights
        if not isinstance(weights, Mapping):
            raise TypeError(
                f"weights must be a mapping {{factor: weight}}; got weights={weights!r}"
            )
        for name in weights:
            if name not in self.factors:
                raise ValueError(
                    f"weights names {name!r}, which is not one of the factors "
                    f"{list(self.factors)}" + did_you_mean(name, self.factors)
                )
        self.weights: Mapping[str, float] = MappingProxyType(
            {f: check_real(f"weights[{f!r}]", weights.get(f, 1.0)) for f in self.factors}
        )
        bad = {f: w for f, w in self.weights.items() if w < 0}
        if bad or not any(w > 0 for w in self.weights.values()):
            raise ValueError(
                f"weights must be >= 0 with at least one > 0; got weights={dict(self.weights)!r}"
            )
        self.imbalance = check_choice("imbalance", imbalance, ("range", "variance"))
        if isinstance(seed, np.random.Generator):
            self._rng = seed
            self.seed: Any = seed
        else:
            root = check_seed(seed)
            self.seed = root
            self._rng = np.random.Generator(np.random.PCG64(root))
        self._counts = {
            f: np.zeros((len(levels), k), dtype=int) for f, levels in self.factors.items()
        }
        self._log: list[dict[str, Any]] = []

    @property
    def treatments(self) -> tuple[Treatment, ...]:
        """What can be assigned, in order."""
        return self._units.treatments

    @property
    def n_assigned(self) -> int:
        """Participants assigned so far."""
        return len(self._log)

    def imbalance_scores(self, covariates: Mapping[str, Any]) -> dict[Treatment, float]:
        """``G_k`` for each treatment if the next participant had these covariates.

        Does not change the state.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> m = tp.randomization.Minimization(d, factors={"sex": ("F", "M")}, seed=0)
        >>> sorted(set(m.imbalance_scores({"sex": "F"}).values()))
        [1.0]
        """
        check_covariates(covariates, self.factors, what="covariates")
        scores = self._scores(covariates)
        return dict(zip(self.treatments, scores.tolist(), strict=True))

    def _scores(self, covariates: Mapping[str, Any]) -> np.ndarray:
        k = len(self.treatments)
        scores = np.zeros(k)
        for factor, levels in self.factors.items():
            row = self._counts[factor][levels.index(covariates[factor])]
            trial = row[None, :] + np.eye(k, dtype=int)  # row i: add to treatment i
            if self.imbalance == "range":
                spread = trial.max(axis=1) - trial.min(axis=1)
            else:
                spread = trial.var(axis=1, ddof=1) if k > 1 else np.zeros(k)
            scores += self.weights[factor] * spread
        return scores

    def assign(self, covariates: Mapping[str, Any], *, participant: Any = None) -> Treatment:
        """Assign the next participant and record it.

        Parameters
        ----------
        covariates : mapping of str to level
            The participant's level of every minimization factor.
        participant : str or int, optional
            An identifier written to the audit log (default: the running
            number).

        Returns
        -------
        tuple or str
            The assigned cell (tuple of levels) or arm.

        Raises
        ------
        ValueError
            For an unknown factor or level (the closest name is suggested)
            or a missing factor.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> m = tp.randomization.Minimization(d, factors={"site": ("A", "B")}, p=1.0, seed=5)
        >>> cells = [m.assign({"site": "A"}) for _ in range(4)]
        >>> sorted(cells) == sorted(m.treatments)   # p=1 fills every cell once per 4
        True
        """
        check_covariates(covariates, self.factors, what="covariates")
        _check_participant(participant)
        scores = self._scores(covariates)
        k = len(self.treatments)
        best = np.flatnonzero(np.isclose(scores, scores.min(), rtol=0.0, atol=1e-9))
        others = np.setdiff1d(np.arange(k), best)
        u = float(self._rng.random())
        if others.size == 0:
            rule = "all tied: uniform"
            pool = best
        elif u < self.p:
            rule = "preferred" + (" (tie broken at random)" if best.size > 1 else "")
            pool = best
        else:
            rule = "biased coin: non-preferred"
            pool = others
        chosen = int(pool[self._rng.integers(pool.size)])
        return self._add(
            covariates,
            chosen,
            participant=participant,
            scores=scores,
            preferred=", ".join(self._units.label(self.treatments[i]) for i in best),
            u=u,
            rule=rule,
        )

    def record(
        self, covariates: Mapping[str, Any], treatment: Any, *, participant: Any = None
    ) -> Treatment:
        """Count an assignment made outside the allocator (e.g. before it started).

        The participant enters the counts and the audit log (rule
        ``"recorded"``) without a random draw, so later assignments balance
        against everyone randomized so far.

        Parameters
        ----------
        covariates : mapping of str to level
            The participant's level of every minimization factor.
        treatment : tuple or str
            The cell or arm the participant received.
        participant : str or int, optional
            An identifier for the audit log.

        Returns
        -------
        tuple or str
            ``treatment``.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Parallel(arms=("A", "B"), outcome=tp.Continuous(means={"A": 0, "B": 1},
        ...                 sd=1.0), n_per_arm=20)
        >>> m = tp.randomization.Minimization(d, factors={"sex": ("F", "M")}, p=1.0, seed=0)
        >>> m.record({"sex": "F"}, "A")
        'A'
        >>> m.assign({"sex": "F"})          # B is the only way to rebalance sex=F
        'B'
        """
        check_covariates(covariates, self.factors, what="covariates")
        _check_participant(participant)
        chosen = self._units.index(treatment, "treatment")
        return self._add(
            covariates,
            chosen,
            participant=participant,
            scores=np.full(len(self.treatments), np.nan),
            preferred="",
            u=math.nan,
            rule="recorded",
        )

    def _add(
        self,
        covariates: Mapping[str, Any],
        chosen: int,
        *,
        participant: Any,
        scores: np.ndarray,
        preferred: str,
        u: float,
        rule: str,
    ) -> Treatment:
        for factor, levels in self.factors.items():
            self._counts[factor][levels.index(covariates[factor]), chosen] += 1
        treatment = self.treatments[chosen]
        entry: dict[str, Any] = {
            "participant": self.n_assigned + 1 if participant is None else _plain_id(participant),
            **{f: covariates[f] for f in self.factors},
            **{
                f"G[{self._units.label(t)}]": float(g)
                for t, g in zip(self.treatments, scores, strict=True)
            },
            "preferred": preferred,
            "u": u,
            "rule": rule,
            "assigned": self._units.label(treatment),
        }
        entry.update(dict(zip(self._units.columns, self._units.values(treatment), strict=True)))
        self._log.append(entry)
        return treatment

    def log(self) -> pd.DataFrame:
        """Return the audit log: one row per assignment, with every ``G_k`` and the draw.

        Columns: ``participant``, the factors, ``G[<treatment>]`` for each
        treatment, ``preferred`` (the least-imbalance treatments),
        ``u`` (the uniform draw compared with ``p``), ``rule``,
        ``assigned`` and the treatment columns.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> m = tp.randomization.Minimization(d, factors={"site": ("A", "B")}, seed=5)
        >>> _ = m.assign({"site": "B"}, participant="P-001")
        >>> m.log().loc[0, ["participant", "site", "rule"]].tolist()
        ['P-001', 'B', 'all tied: uniform']
        """
        return pd.DataFrame(self._log)

    def counts(self) -> pd.DataFrame:
        """Count assignments so far by factor level (rows) and treatment (columns).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> m = tp.randomization.Minimization(d, factors={"site": ("A", "B")}, seed=5)
        >>> _ = m.assign({"site": "B"})
        >>> int(m.counts().loc[("site", "B")].sum())
        1
        """
        labels = [self._units.label(t) for t in self.treatments]
        blocks = []
        for factor, levels in self.factors.items():
            index = pd.MultiIndex.from_tuples(
                [(factor, lv) for lv in levels], names=["factor", "level"]
            )
            blocks.append(pd.DataFrame(self._counts[factor], index=index, columns=labels))
        return pd.concat(blocks)

    def to_csv(self, path: str | Path) -> Path:
        """Write the audit log as CSV after a ``#`` header with the settings.

        Quoted and escaped as :meth:`Schedule.to_csv` is; read it back,
        exactly, with :func:`read_minimization_log`.

        Parameters
        ----------
        path : str or pathlib.Path
            File to write (overwritten).

        Returns
        -------
        pathlib.Path
            The path written.
        """
        seed = (
            self.seed.entropy
            if isinstance(self.seed, np.random.SeedSequence)
            else "a caller-supplied numpy Generator (not recorded)"
        )
        lines = [
            "trialplan minimization audit log (Pocock-Simon)",
            f"trialplan_version: {__version__}",
            f"design: {self._units.description}",
            f"factors: {levels_text(self.factors)}",
            f"weights: {', '.join(f'{header_label(f)}={w:g}' for f, w in self.weights.items())}",
            f"imbalance: {self.imbalance}",
            f"p: {self.p:g}",
            f"seed: {seed}",
            f"numpy_version: {np.__version__}",
            f"assigned: {self.n_assigned}",
        ]
        log = self.log()
        return write_csv(path, lines, list(log.columns), log.itertuples(index=False, name=None))

    def __repr__(self) -> str:
        return (
            f"Minimization(Pocock-Simon, {self.imbalance} imbalance, p={self.p:g}) | "
            f"{self._units.description} | factors {list(self.factors)} | "
            f"{self.n_assigned} assigned"
        )
