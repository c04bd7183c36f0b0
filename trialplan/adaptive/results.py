"""Results of simulated adaptive designs: power, type I error, sample size distribution."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from trialplan.results import PowerResult

__all__ = ["AdaptivePowerResult"]


@dataclass(frozen=True, kw_only=True)
class AdaptivePowerResult(PowerResult):
    """Operating characteristics of an adaptive design, by simulation.

    ``result[hypothesis]`` is the power (a float, as in every
    :class:`~trialplan.PowerResult`), ``result.mcse[hypothesis]`` its Monte
    Carlo standard error.

    Attributes
    ----------
    type_i_error : mapping of str to float
        Rejection rate of each hypothesis in trials simulated with its effect
        set to zero (the global null of all its comparisons), same rule.
    mcse_type_i_error : mapping of str to float
        Monte Carlo standard errors of ``type_i_error``.
    expected_n : float
        Expected total number of participants ANALYSED when the trial stops
        (efficacy, futility or the end), at the planning values.
        ``expected_n_randomized`` counts those randomized (dropout added).
    mcse_expected_n : float
        Its Monte Carlo standard error.
    expected_n_h0 : float
        The same under the null.
    expected_n_randomized : float
        Expected participants randomized, ``sum_j E[n_j] / (1 - dropout_j)``.
    max_n : float
        Largest total the rule allows (participants analysed).
    planned_n : float
        Total of the fixed (non-adapted) design, the planned sizes.
    n_distribution : pandas.DataFrame
        Distribution of the final total analysed (columns ``n``,
        ``probability``, ``probability_h0``).
    stages : pandas.DataFrame
        One row per stage: probability of reaching it, of stopping there for
        efficacy and for futility (planning values and H0), mean stage size
        among trials that reach it, mean conditional power the rule aimed at.
    description : str
        The adaptive rule in words.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Parallel(arms=("control", "treatment"), n_per_arm=60,
    ...                 outcome=tp.Continuous(means={"control": 0.0, "treatment": -4.0}, sd=8.0))
    >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> ssr = tp.SampleSizeReestimation(conditional_power=0.9, effect="observed",
    ...                                 min_factor=1.0, max_factor=2.0)
    >>> res = d.power(sequential=gsd, adaptive=ssr, method="simulation", n_sims=2000, seed=1)
    >>> isinstance(res["treatment vs control"], float), res.planned_n, res.max_n
    (True, 120.0, 180.0)
    >>> 60 <= res.expected_n <= res.max_n       # stage 1 has 60; stage 2 between 60 and 120
    True
    """

    type_i_error: Mapping[str, float] = field(default_factory=dict)
    mcse_type_i_error: Mapping[str, float] = field(default_factory=dict)
    expected_n: float = math.nan
    mcse_expected_n: float = math.nan
    expected_n_h0: float = math.nan
    expected_n_randomized: float = math.nan
    max_n: float = math.nan
    planned_n: float = math.nan
    n_distribution: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    stages: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    description: str = ""

    def __post_init__(self) -> None:
        # The trial's expected size is also where every sequential result keeps it.
        extras = dict(self.extras)
        extras.setdefault("expected_n", self.expected_n)
        extras.setdefault(
            "expected_n_by_hypothesis", {row.hypothesis: self.expected_n for row in self.rows}
        )
        object.__setattr__(self, "extras", extras)
        super().__post_init__()
        object.__setattr__(self, "type_i_error", MappingProxyType(dict(self.type_i_error)))
        object.__setattr__(
            self, "mcse_type_i_error", MappingProxyType(dict(self.mcse_type_i_error))
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per hypothesis: power, type I error, expected and maximum N, with MCSEs.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Parallel(arms=("control", "treatment"), n_per_arm=60,
        ...                 outcome=tp.Continuous(means={"control": 0.0, "treatment": -4.0},
        ...                                       sd=8.0))
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
        >>> ssr = tp.SampleSizeReestimation(conditional_power=0.9, effect="observed",
        ...                                 min_factor=1.0, max_factor=2.0)
        >>> res = d.power(sequential=gsd, adaptive=ssr, method="simulation", n_sims=500, seed=1)
        >>> list(res.to_frame().columns[-6:])
        ['type_i_error', 'type_i_mcse', 'expected_n', 'expected_n_mcse', 'max_n', 'planned_n']
        """
        frame = super().to_frame()
        names = frame["hypothesis"]
        frame["type_i_error"] = [self.type_i_error.get(h, math.nan) for h in names]
        frame["type_i_mcse"] = [self.mcse_type_i_error.get(h, math.nan) for h in names]
        frame["expected_n"] = self.expected_n
        frame["expected_n_mcse"] = self.mcse_expected_n
        frame["max_n"] = self.max_n
        frame["planned_n"] = self.planned_n
        return frame

    def n_quantiles(self, probs: Any = (0.05, 0.25, 0.5, 0.75, 0.95)) -> dict[float, float]:
        """Quantiles of the final total analysed, from :attr:`n_distribution`.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Parallel(arms=("control", "treatment"), n_per_arm=60,
        ...                 outcome=tp.Continuous(means={"control": 0.0, "treatment": -4.0},
        ...                                       sd=8.0))
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
        >>> ssr = tp.SampleSizeReestimation(min_factor=1.0, max_factor=2.0)
        >>> res = d.power(sequential=gsd, adaptive=ssr, method="simulation", n_sims=500, seed=1)
        >>> res.n_quantiles([0.0, 1.0])[0.0] >= 60
        True
        """
        dist = self.n_distribution
        cum = np.cumsum(dist["probability"].to_numpy())
        values = dist["n"].to_numpy()
        out = {}
        for p in probs:
            i = int(np.searchsorted(cum, float(p) - 1e-12))
            out[float(p)] = float(values[min(i, values.size - 1)])
        return out

    def __repr__(self) -> str:
        frame = self.to_frame()
        cols = ["hypothesis", "effect", "power", "mcse", "type_i_error", "type_i_mcse"]
        table = frame[cols].to_string(index=False, float_format=lambda x: f"{x:.4f}")
        q = self.n_quantiles((0.05, 0.5, 0.95))
        stages = self.stages.copy()
        stages_text = stages.to_string(index=False, float_format=lambda x: f"{x:.4f}")
        lines = [
            self.summary,
            textwrap.fill(self.description, 100),
            table,
            f"expected N analysed: {self.expected_n:.1f} (MCSE {self.mcse_expected_n:.2f}); "
            f"under H0 {self.expected_n_h0:.1f}; randomized: {self.expected_n_randomized:.1f}",
            f"planned N: {self.planned_n:g}; maximum N: {self.max_n:g}; final N 5% / 50% / 95%: "
            f"{q[0.05]:g} / {q[0.5]:g} / {q[0.95]:g}",
            stages_text,
            f"method: {'; '.join(sorted(set(frame['method'])))}",
        ]
        if "any" in self.extras and "fwer_global_null" in self.extras:
            lines.insert(
                3,
                f"reject any: {self.extras['any']:.4f} | reject all: {self.extras['all']:.4f} | "
                f"familywise error under the global null: {self.extras['fwer_global_null']:.4f}",
            )
        return "\n".join(lines)

    __str__ = __repr__
