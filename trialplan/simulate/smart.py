"""Simulator of a two-stage SMART: patient-level data, Hajek estimates, sandwich variances.

Each simulated trial randomizes ``N`` participants to a stage-1 treatment
(probabilities ``p1``), draws their response (rate ``g`` of that treatment)
and re-randomizes non-responders among the stage-2 options (``p2``); the
outcome is normal around the subgroup's mean with the within-subgroup SD.
Every trial is analysed as planned:

* each stage-1 arm's mean, with variance ``s_a^2 / n_a`` (the arm's sample
  variance; the two-sample z test of the stage-1 comparison);
* each embedded regime's inverse-probability-weighted (Hajek) mean
  ``sum W I_d Y / sum W I_d`` with ``W = 1/p1`` for responders and
  ``1/(p1 p2)`` for non-responders, and the sandwich (empirical) covariance
  ``sum_i s_d,i s_e,i / (T_d T_e)`` of the influence terms
  ``s_d = W I_d (Y - mu_hat_d)`` (``T_d = sum W I_d``; Murphy 2005).

The estimates (arm means, then regime means) are the SMART's statistic
family's estimates, so the runner forms each comparison's z statistic as a
contrast of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialplan.simulate.protocol import BaseSimulator, CellDraws

__all__ = ["SMARTParams", "SMARTSimulator"]


@dataclass(frozen=True)
class SMARTParams:
    """Planning values of a SMART as arrays (picklable)."""

    n: int
    p1: np.ndarray  # (k1,)
    p2: np.ndarray  # (k1, k2)
    response: np.ndarray  # (k1,)
    responder_mean: np.ndarray  # (k1,)
    nonresponder_mean: np.ndarray  # (k1, k2)
    sd: float
    regimes: tuple[tuple[int, int], ...]  # (stage-1 index, stage-2 index), family order

    @property
    def n_estimates(self) -> int:
        """Arm means, then regime means."""
        return self.p1.size + len(self.regimes)


class SMARTSimulator(BaseSimulator):
    """Patient-level simulation of a two-stage SMART (see the module docstring).

    Examples
    --------
    >>> import trialplan as tp
    >>> s = tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
    ...     response_rate={"a": 0.3, "b": 0.3}, responder_mean={"a": 0, "b": 0},
    ...     nonresponder_mean={("a", "x"): 0, ("a", "y"): 0, ("b", "x"): -3,
    ...                        ("b", "y"): -4}, sd=8.0, n_total=300)
    >>> sim = s.simulator()
    >>> draws = sim.draw(sim.prepare(s), np.random.default_rng(1), 3, engine="individual")
    >>> draws.estimates.shape, draws.covariance.shape
    ((3, 6), (3, 6, 6))
    """

    engines = ("individual",)

    def prepare(self, design: Any) -> SMARTParams:
        """Planning values in the order of the design's statistic family."""
        stage1, stage2 = tuple(design.stage1), tuple(design.stage2)
        return SMARTParams(
            n=int(design.n_total),
            p1=np.array([design.stage1_allocation[a] for a in stage1], dtype=float),
            p2=np.array(
                [[design.stage2_allocation[(a1, a2)] for a2 in stage2] for a1 in stage1],
                dtype=float,
            ),
            response=np.array([design.response_rate[a] for a in stage1], dtype=float),
            responder_mean=np.array([design.responder_mean[a] for a in stage1], dtype=float),
            nonresponder_mean=np.array(
                [[design.nonresponder_mean[(a1, a2)] for a2 in stage2] for a1 in stage1],
                dtype=float,
            ),
            sd=float(design.sd),
            regimes=tuple((stage1.index(d[0]), stage2.index(d[1])) for d in design.regimes),
        )

    def bytes_per_trial(self, params: SMARTParams, engine: str) -> int:
        """Patient arrays (about a dozen of N) and the influence terms (N x estimates)."""
        return 8 * params.n * (14 + 2 * params.n_estimates)

    def describe(self, engine: str) -> str:
        """Name the method in words."""
        return (
            "simulation: patient-level data, Hajek (IPW) estimates with sandwich variances, z test"
        )

    def draw(
        self, params: SMARTParams, rng: np.random.Generator, size: int, *, engine: str
    ) -> CellDraws:
        """Simulate ``size`` trials: arm and regime estimates with their covariance."""
        n, k1, k2 = params.n, params.p1.size, params.p2.shape[1]
        a1 = np.minimum(
            np.searchsorted(np.cumsum(params.p1), rng.random((size, n)), side="right"), k1 - 1
        )
        responder = rng.random((size, n)) < params.response[a1]
        cum2 = np.cumsum(params.p2, axis=1)[a1]  # (size, n, k2)
        a2 = np.minimum((rng.random((size, n))[..., None] >= cum2).sum(axis=2), k2 - 1)
        mean = np.where(responder, params.responder_mean[a1], params.nonresponder_mean[a1, a2])
        y = mean + params.sd * rng.standard_normal((size, n))
        weight = np.where(responder, 1.0 / params.p1[a1], 1.0 / (params.p1[a1] * params.p2[a1, a2]))
        m = params.n_estimates
        estimates = np.empty((size, m))
        scores = np.zeros((size, n, m))  # influence terms scaled so that S'S is the covariance
        with np.errstate(invalid="ignore", divide="ignore"):
            for i in range(k1):
                inside = a1 == i
                count = inside.sum(axis=1)
                est = (y * inside).sum(axis=1) / count
                estimates[:, i] = est
                # the arm's sample variance over n_a: the two-sample z test's variance
                scale = np.sqrt(count * (count - 1.0))
                scores[:, :, i] = (y - est[:, None]) * inside / scale[:, None]
            for j, (i, o) in enumerate(params.regimes):
                w = weight * ((a1 == i) & (responder | (a2 == o)))
                total = w.sum(axis=1)
                est = (w * y).sum(axis=1) / total
                estimates[:, k1 + j] = est
                scores[:, :, k1 + j] = w * (y - est[:, None]) / total[:, None]
        covariance = np.einsum("tni,tnj->tij", scores, scores)
        return CellDraws(estimates=estimates, covariance=covariance, df=math.inf)
