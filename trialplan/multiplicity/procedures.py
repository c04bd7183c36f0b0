"""Procedures that are not graphs: serial gatekeeping and Hochberg's step-up test.

* :class:`Gatekeeping` (serial): the families are tested in order, each by
  Holm at the full ``alpha`` on the graphical engine, and a family is tested
  only when every hypothesis of the families before it is rejected
  (Dmitrienko, Offen & Westfall 2003; Dmitrienko & Tamhane 2007).
* :class:`Hochberg`, step-up (:func:`hochberg_test`); exact for "all" and
  with two hypotheses, simulated otherwise.
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
    check_names,
)
from trialplan.multiplicity.graphs import FixedSequence, Holm
from trialplan.multiplicity.joint import JointStatistics

__all__ = ["Gatekeeping", "Hochberg", "hochberg_test"]


def hochberg_test(p_values: Any, *, alpha: float) -> np.ndarray:
    """Hochberg's step-up test on p-values.

    Reject ``H_(1), ..., H_(i)`` for the largest ``i`` with
    ``p_(i) <= alpha / (m - i + 1)``.

    Valid under independence and positive dependence of the test statistics
    (Sarkar 1998); two-sided tests of correlated contrasts may fall outside
    that, where Holm is the safe choice.  Vectorized over rows.

    Parameters
    ----------
    p_values : array_like
        Shape (m,) or (R, m).
    alpha : float
        Family-wise error rate.

    Returns
    -------
    numpy.ndarray of bool
        Rejections, the shape of ``p_values``.

    References
    ----------
    .. [1] Hochberg Y. A sharper Bonferroni procedure for multiple tests of
       significance. Biometrika 1988;75:800-802.

    Examples
    --------
    Holm rejects nothing here (0.04 > 0.05/2); Hochberg rejects both:

    >>> hochberg_test([0.04, 0.045], alpha=0.05).tolist()
    [True, True]
    """
    alpha = check_open_unit("alpha", alpha)
    p, single = as_trials(p_values)
    m = p.shape[1]
    ordered = np.sort(p, axis=1)  # p_(1) <= ... <= p_(m)
    bounds = alpha / (m - np.arange(m))  # alpha / (m - i + 1), i = 1..m
    ok = ordered <= bounds * (1 + TOLERANCE)
    # largest i with p_(i) <= bound; reject every p <= p_(i)
    any_ok = ok.any(axis=1)
    last = m - 1 - np.argmax(ok[:, ::-1], axis=1)
    cutoff = np.where(any_ok, ordered[np.arange(p.shape[0]), last], -np.inf)
    rejected = p <= cutoff[:, None]
    return rejected[0] if single else rejected


@dataclass(frozen=True, kw_only=True, init=False)
class Gatekeeping(Procedure):
    """Serial gatekeeping: families in order, each by Holm at the full alpha.

    A family is tested only when every hypothesis of the families before it
    has been rejected; within a family Holm's procedure runs on the graphical
    engine.  This is the limit of the graphical serial gatekeeper with
    epsilon-edges (Bretz et al. 2009) and controls the family-wise
    error rate strongly (Westfall & Krishen 2001; Dmitrienko & Tamhane 2007;
    parallel gatekeepers, which open the next family when *any* hypothesis is
    rejected, are Dmitrienko, Offen & Westfall 2003 and can be written with
    :class:`Graphical`).

    Parameters
    ----------
    families : sequence of sequence of str
        E.g. ``[["combination"], ["rTMS:MBI"]]``: the combination first, the
        interaction only if the combination is shown.
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims : int, default 100000
        Simulated trials (exact when every family has one hypothesis, which
        is a fixed sequence).
    seed : int, optional
        Seed of the simulation (default a fixed seed).

    Raises
    ------
    ValueError
        For empty families or a hypothesis named twice; at evaluation, for a
        name that is not a hypothesis of the design (the closest is named).

    References
    ----------
    .. [0] Westfall PH, Krishen A. Optimally weighted, fixed sequence and
       gatekeeper multiple testing procedures. J Stat Plan Inference
       2001;99:25-40.
    .. [1] Dmitrienko A, Offen WW, Westfall PH. Gatekeeping strategies for
       clinical trials that do not require all primary effects to be
       significant. Stat Med 2003;22:2387-2400.
    .. [2] Dmitrienko A, Tamhane AC. Gatekeeping procedures with clinical
       trial applications. Pharm Stat 2007;6:171-180.

    Examples
    --------
    >>> import trialplan as tp
    >>> gk = tp.Gatekeeping([["rTMS", "MBI"], ["rTMS:MBI"]])
    >>> gk.test({"rTMS": 0.001, "MBI": 0.03, "rTMS:MBI": 0.04})
    {'rTMS': True, 'MBI': True, 'rTMS:MBI': True}
    >>> gk.test({"rTMS": 0.001, "MBI": 0.06, "rTMS:MBI": 0.001})
    {'rTMS': True, 'MBI': False, 'rTMS:MBI': False}
    """

    families: tuple[tuple[str, ...], ...] = ()
    name = "serial gatekeeping"

    def __init__(
        self,
        families: Sequence[Sequence[str]],
        *,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        if isinstance(families, str) or not isinstance(families, Sequence) or not families:
            raise TypeError(
                "families must be a non-empty list of lists of hypothesis names, "
                f"e.g. [['combination'], ['rTMS:MBI']]; got families={families!r}"
            )
        fams = []
        for i, fam in enumerate(families):
            if isinstance(fam, str):
                raise TypeError(
                    f"families[{i}] must be a list of names; got {fam!r} (write "
                    f"[{fam!r}] for a family of one)"
                )
            fams.append(check_names(f"families[{i}]", fam))
        self._set_fields(
            families=tuple(fams),
            hypotheses=tuple(h for fam in fams for h in fam),
            success=success,
            n_sims=n_sims,
            seed=seed,
        )

    def describe(self) -> str:
        """The families in order."""
        return self.name + " " + " -> ".join("[" + ", ".join(f) + "]" for f in self.families)

    def reject(self, p_values: Any, *, alpha: float) -> np.ndarray:
        """Holm within each family; a family only after all earlier ones are rejected."""
        p, single = as_trials(p_values)
        out = np.zeros(p.shape, dtype=bool)
        gate = np.ones(p.shape[0], dtype=bool)
        start = 0
        for fam in self.families:
            cols = slice(start, start + len(fam))
            inner = Holm(list(fam)).reject(p[:, cols], alpha=alpha)
            out[:, cols] = inner & gate[:, None]
            gate &= out[:, cols].all(axis=1)
            start += len(fam)
        return out[0] if single else out

    def initial_levels(self, alpha: float) -> np.ndarray:
        """``alpha / |family|`` (Holm's first step in each family)."""
        return np.array([alpha / len(f) for f in self.families for _ in f])

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        if all(len(f) == 1 for f in self.families):
            return FixedSequence(list(self.hypotheses))._exact(joint, what, subset)
        if len(self.hypotheses) == 1:
            return self._marginal(joint, 0, joint.alpha)
        return None


@dataclass(frozen=True, kw_only=True, init=False)
class Hochberg(Procedure):
    """Hochberg's step-up procedure (not graphical; see :func:`hochberg_test`).

    Parameters
    ----------
    hypotheses : sequence of str
        The family.
    success : {"each", "any", "all"}, default "each"
        What ``design.sample_size(..., multiplicity=...)`` must reach.
    n_sims : int, default 100000
        Simulated trials (per-hypothesis power and "any" are simulated).
    seed : int, optional
        Seed of the simulation (default a fixed seed).

    Notes
    -----
    Controls the family-wise error rate under independence or positive
    dependence (Sarkar 1998); with two-sided tests of correlated contrasts,
    prefer :class:`Holm`.  The power to reject all is exact: Hochberg rejects
    every hypothesis exactly when every p-value is at most ``alpha``.  With two
    hypotheses every quantity is exact (unions of rectangles).

    References
    ----------
    .. [1] Hochberg Y. Biometrika 1988;75:800-802.
    .. [2] Sarkar SK. Ann Stat 1998;26:494-504.

    Examples
    --------
    >>> import trialplan as tp
    >>> tp.Hochberg(["A", "B"]).test([0.04, 0.045])
    {'A': True, 'B': True}
    """

    name = "Hochberg"

    def __init__(
        self,
        hypotheses: Sequence[str],
        *,
        success: str = "each",
        n_sims: int = DEFAULT_N_SIMS,
        seed: Any = None,
    ) -> None:
        self._set_fields(hypotheses=hypotheses, success=success, n_sims=n_sims, seed=seed)

    def reject(self, p_values: Any, *, alpha: float) -> np.ndarray:
        """Step-up rejections."""
        return hochberg_test(p_values, alpha=alpha)

    def initial_levels(self, alpha: float) -> np.ndarray:
        """``alpha / m`` (the smallest p-value's bound)."""
        return np.full(len(self.hypotheses), alpha / len(self.hypotheses))

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        m = len(self.hypotheses)
        if m == 1:
            return self._marginal(joint, 0, joint.alpha)
        if what == "all" and self._is_full(subset):
            return joint.prob_all(subset, [joint.alpha] * m)
        if m == 2:
            return _hochberg_two(joint, what, subset)
        return None


def _hochberg_two(joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
    """Hochberg with two hypotheses as unions of rectangles.

    With ``A_i = {p_i <= alpha/2}`` and ``C_i = {p_i <= alpha}``, Hochberg rejects
    ``H_j`` on ``A_j or (C_j and C_o)``, and at least one on
    ``A_1 or A_2 or (C_1 and C_2)``.
    """
    a = joint.alpha
    h = a / 2
    both = joint.prob_all
    if what == "reject" or (what in ("any", "all") and len(subset) == 1):
        j = subset[0]
        o = 1 - j
        return both((j, o), [a, a]) + both((j,), [h]) - both((j, o), [h, a])
    if what == "any":
        return (
            both((0,), [h])
            + both((1,), [h])
            + both((0, 1), [a, a])
            - both((0, 1), [h, a])
            - both((1, 0), [h, a])
        )
    return None
