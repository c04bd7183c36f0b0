"""Two-stage sequential multiple-assignment randomized trials (SMART).

Participants are randomized to a stage-1 treatment ``A1`` (probabilities
``p1``).  Responders continue it; non-responders are re-randomized among the
stage-2 options ``A2`` (probabilities ``p2``).  An embedded regime
``d = (a1, a2)`` reads "start with a1; if no response, switch to a2".  Its
mean outcome is ``mu_d = g m_R + (1 - g) m_NR(a2)`` for the response rate ``g``
of ``a1``, the responders' mean ``m_R`` and the non-responders' mean under
``a2``.

Regime means are estimated by the inverse-probability-weighted (Hajek)
estimator ``sum W I_d Y / sum W I_d`` with ``W = 1/p1`` for responders and
``1/(p1 p2)`` for non-responders (Murphy 2005; the weighted-and-replicated
regression of Nahum-Shani et al. 2012 gives the same estimates).  Its exact
asymptotic variance, from the estimating equation ``sum W I_d (Y - mu_d) = 0``,
is

``Var(mu_hat_d) = [g (s^2 + (m_R - mu_d)^2) + (1 - g)(s^2 + (m_NR - mu_d)^2)/p2] / (N p1)``

where ``s`` is the within-subgroup SD; two regimes that start with the same
``a1`` covary through the responders they share,
``g [s^2 + (m_R - mu_d)(m_R - mu_d')] / (N p1)``, and regimes that start
differently are independent.  Comparisons use the large-sample z test; the
simulation path draws patient-level data and analyses them with the same
Hajek estimates and sandwich (empirical) variances.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from trialplan._validation import (
    MAX_CELL_SIZE,
    as_sequence,
    check_alpha,
    check_choice,
    check_int,
    check_magnitude,
    check_open_unit,
    check_sided,
    check_unit_interval,
    did_you_mean,
)
from trialplan.designs.base import Design, check_primary
from trialplan.designs.dispatch import document
from trialplan.power import statistic_power
from trialplan.results import PowerResult, PowerRow, SampleSizeResult
from trialplan.sequential import GroupSequential
from trialplan.simulate.protocol import OutcomeSimulator
from trialplan.simulate.smart import SMARTSimulator
from trialplan.statistic import DfRule, StatisticFamily, TestStatistic

__all__ = ["SMART"]

Regime = tuple[str, str]

_ANALYTIC = "Hajek (IPW) estimator, exact asymptotic variance, large-sample z test (normal approx.)"
_STAGE1 = "two-sample z test with each arm's mixture variance (normal approx.)"
_SIMULATION = (
    "simulation: patient-level data, Hajek (IPW) estimates with sandwich variances, z test"
)


@dataclass(frozen=True, kw_only=True, repr=False)
class SMART(Design):
    """A two-stage SMART that re-randomizes non-responders.

    Parameters
    ----------
    stage1 : sequence of str
        Stage-1 treatments (at least two), e.g. ``("rTMS", "rTMS+MBI")``.
    stage2 : sequence of str
        Stage-2 options for non-responders (at least two), e.g.
        ``("continue", "augment")``.
    response_rate : mapping of str to float
        Probability of response to each stage-1 treatment, in [0, 1].
    responder_mean : mapping of str to float
        Mean end-of-study outcome of responders to each stage-1 treatment.
    nonresponder_mean : mapping of (str, str) to float
        Mean outcome of non-responders for every (stage-1, stage-2) pair.
    sd : float
        Within-subgroup SD of the outcome (> 0), the same in every subgroup.
    n_total : int
        Participants analysed (N).
    alpha : float, default 0.05
        Significance level of each comparison (two-sided total if ``sided=2``).
    sided : {1, 2}, default 2
        One-sided tests reject in the ``better`` direction.
    stage1_allocation : mapping of str to float, optional
        Randomization probabilities of the stage-1 treatments (equal by
        default); they must sum to 1.
    stage2_allocation : mapping, optional
        Re-randomization probabilities of the stage-2 options, ``{a2: p}`` for
        every stage-1 treatment alike or ``{(a1, a2): p}`` per stage-1
        treatment; equal by default.
    dropout : float, default 0.0
        Expected proportion lost; ``ceil(N / (1 - dropout))`` are randomized.
    better : {"lower", "higher"}, default "lower"
        Direction of benefit (HAM-D: lower), for one-sided tests.
    primary : sequence of str, optional
        The comparisons ``sample_size()`` sizes when no hypothesis is named,
        by the names its results print (``"rTMS+MBI vs rTMS"``,
        ``"rTMS+MBI/augment vs rTMS/continue"``); by default the stage-1
        comparison.

    Raises
    ------
    ValueError
        For a response rate outside [0, 1], a missing or unknown treatment or
        regime (with the closest name), allocation probabilities that are not
        in (0, 1) or do not sum to 1, ``sd <= 0`` or ``alpha`` outside (0, 1).
    TypeError
        For values of the wrong type.

    Notes
    -----
    A SMART shares the design protocol of the cell designs
    (:class:`trialplan.designs.base.Design`): ``statistics()`` returns the
    comparisons' :class:`~trialplan.statistic.StatisticFamily` (estimates:
    the stage-1 arms' means, then the embedded regimes' Hajek means, with
    their exact asymptotic covariance, scaling as ``1 / N``), so
    ``power(sequential=...)``, ``power(multiplicity=...)``,
    ``sample_size(hypothesis=...)`` and ``method="simulation"`` (with every
    simulation keyword) work as they do for a factorial.

    References
    ----------
    .. [1] Murphy SA. An experimental design for the development of adaptive
       treatment strategies. Stat Med 2005;24:1455-1481.
    .. [2] Oetting AI, Levy JA, Weiss RD, Murphy SA. Statistical methodology
       for a SMART design in the development of adaptive treatment strategies.
       In: Causality and Psychopathology. Oxford University Press 2011:179-205.
    .. [3] Kidwell KM, Seewald NJ, Tran Q, Kasari C, Almirall D. Design and
       analysis considerations for comparing dynamic treatment regimens with
       binary outcomes from sequential multiple assignment randomized trials.
       J Appl Stat 2018;45:1628-1651.

    Examples
    --------
    >>> import trialplan as tp
    >>> smart = tp.SMART(
    ...     stage1=("rTMS", "rTMS+MBI"), stage2=("continue", "augment"),
    ...     response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
    ...     responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
    ...     nonresponder_mean={("rTMS", "continue"): -4.0, ("rTMS", "augment"): -6.0,
    ...                        ("rTMS+MBI", "continue"): -6.0, ("rTMS+MBI", "augment"): -9.0},
    ...     sd=8.0, n_total=200, alpha=0.05)
    >>> round(smart.power_stage1(), 3)
    0.599
    >>> round(smart.power_regimes(("rTMS+MBI", "augment"), ("rTMS", "continue")), 3)
    0.794
    """

    stage1: Sequence[str]
    stage2: Sequence[str]
    response_rate: Mapping[str, float]
    responder_mean: Mapping[str, float]
    nonresponder_mean: Mapping[Regime, float]
    sd: float
    n_total: int
    alpha: float = 0.05
    sided: int = 2
    stage1_allocation: Mapping[str, float] | None = None
    stage2_allocation: Mapping[Any, float] | None = None
    dropout: float = 0.0
    better: str = "lower"
    primary: Sequence[str] | None = None

    design_kind = "smart"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "stage1", _check_labels("stage1", self.stage1))
        set_(self, "stage2", _check_labels("stage2", self.stage2))
        set_(
            self,
            "response_rate",
            MappingProxyType(
                {
                    a: check_unit_interval(f"response_rate[{a!r}]", v, upper_open=False)
                    for a, v in self._per_arm("response_rate", self.response_rate).items()
                }
            ),
        )
        set_(
            self,
            "responder_mean",
            MappingProxyType(
                {
                    a: check_magnitude(f"responder_mean[{a!r}]", v)
                    for a, v in self._per_arm("responder_mean", self.responder_mean).items()
                }
            ),
        )
        set_(
            self,
            "nonresponder_mean",
            MappingProxyType(self._per_regime("nonresponder_mean", self.nonresponder_mean)),
        )
        set_(self, "sd", check_magnitude("sd", self.sd, scale=True))
        set_(self, "n_total", check_int("n_total", self.n_total, minimum=2))
        if self.n_total > MAX_CELL_SIZE:
            raise ValueError(
                f"n_total must be at most {MAX_CELL_SIZE:.0e}; got n_total={self.n_total!r}"
            )
        set_(self, "alpha", check_alpha("alpha", self.alpha))
        set_(self, "sided", check_sided(self.sided))
        set_(self, "dropout", check_unit_interval("dropout", self.dropout))
        check_choice("better", self.better, ("lower", "higher"))
        set_(self, "stage1_allocation", MappingProxyType(self._stage1_probs()))
        set_(self, "stage2_allocation", MappingProxyType(self._stage2_probs()))
        set_(self, "primary", check_primary(self, self.primary, lambda n: self._parse(n)[0]))

    # ------------------------------------------------------------ validation
    def _arm(self, key: Any, what: str) -> str:
        if not isinstance(key, str):
            raise TypeError(
                f"{what} keys must be stage-1 treatments (strings) from {self.stage1}; got {key!r}"
            )
        if key not in self.stage1:
            raise ValueError(
                f"{what}: {key!r} is not a stage-1 treatment; stage1 is "
                f"{self.stage1}" + did_you_mean(key, self.stage1)
            )
        return key

    def _option(self, key: Any, what: str) -> str:
        if not isinstance(key, str) or key not in self.stage2:
            raise ValueError(
                f"{what}: {key!r} is not a stage-2 option; stage2 is "
                f"{self.stage2}" + did_you_mean(key, self.stage2)
            )
        return key

    def regime(self, key: Any, what: str = "regime") -> Regime:
        """Check an embedded regime ``(stage-1 treatment, stage-2 option)``.

        Raises
        ------
        ValueError
            If ``key`` is not a pair of a stage-1 treatment and a stage-2
            option (the closest names are suggested).

        Examples
        --------
        >>> import trialplan as tp
        >>> smart = tp.SMART(
        ...     stage1=("rTMS", "rTMS+MBI"), stage2=("continue", "augment"),
        ...     response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
        ...     responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        ...     nonresponder_mean={("rTMS", "continue"): -4.0, ("rTMS", "augment"): -6.0,
        ...                        ("rTMS+MBI", "continue"): -6.0, ("rTMS+MBI", "augment"): -9.0},
        ...     sd=8.0, n_total=200, alpha=0.05)
        >>> smart.regime(["rTMS", "augment"])
        ('rTMS', 'augment')
        >>> smart.regime(("rTMS", "augmnt"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: regime: 'augmnt' is not a stage-2 option; ... (did you mean 'augment'?)
        """
        if isinstance(key, str) or not isinstance(key, Sequence) or len(key) != 2:
            raise ValueError(
                f"{what} must be a pair (stage-1 treatment, stage-2 option), "
                f"e.g. {self.regimes[0]!r}; got {key!r}"
            )
        return (self._arm(key[0], what), self._option(key[1], what))

    def _per_arm(self, name: str, values: Any) -> dict[str, Any]:
        if not isinstance(values, Mapping):
            raise TypeError(
                f"{name} must be a mapping {{stage-1 treatment: value}}; got {name}={values!r}"
            )
        checked = {self._arm(k, name): v for k, v in values.items()}
        missing = [a for a in self.stage1 if a not in checked]
        if missing:
            raise ValueError(
                f"{name} is missing stage-1 treatments {missing}; give a value "
                f"for each of {self.stage1}"
            )
        return {a: checked[a] for a in self.stage1}

    def _per_regime(self, name: str, values: Any) -> dict[Regime, float]:
        if not isinstance(values, Mapping):
            raise TypeError(
                f"{name} must be a mapping {{(stage-1, stage-2): value}}; got {name}={values!r}"
            )
        checked = {
            self.regime(k, name): check_magnitude(f"{name}[{k!r}]", v) for k, v in values.items()
        }
        missing = [d for d in self.regimes if d not in checked]
        if missing:
            raise ValueError(
                f"{name} is missing regimes {missing}; give a mean for every "
                f"(stage-1, stage-2) pair of {list(self.regimes)}"
            )
        return {d: checked[d] for d in self.regimes}

    def _stage1_probs(self) -> dict[str, float]:
        if self.stage1_allocation is None:
            return {a: 1.0 / len(self.stage1) for a in self.stage1}
        probs = {
            a: check_open_unit(f"stage1_allocation[{a!r}]", v)
            for a, v in self._per_arm("stage1_allocation", self.stage1_allocation).items()
        }
        _check_sum("stage1_allocation", probs.values())
        return probs

    def _stage2_probs(self) -> dict[Regime, float]:
        alloc = self.stage2_allocation
        if alloc is None:
            return {d: 1.0 / len(self.stage2) for d in self.regimes}
        if not isinstance(alloc, Mapping) or not alloc:
            raise TypeError(
                "stage2_allocation must be a mapping {stage-2 option: p} or "
                f"{{(stage-1, stage-2): p}}; got stage2_allocation={alloc!r}"
            )
        if all(isinstance(k, str) for k in alloc):
            shared = {self._option(k, "stage2_allocation"): v for k, v in alloc.items()}
            alloc = {(a1, a2): shared.get(a2) for a1 in self.stage1 for a2 in self.stage2}
            missing = [a2 for a2 in self.stage2 if a2 not in shared]
            if missing:
                raise ValueError(
                    f"stage2_allocation is missing options {missing}; give a "
                    f"probability for each of {self.stage2}"
                )
        probs = {
            d: check_open_unit(f"stage2_allocation[{d!r}]", v)
            for d, v in self._per_regime("stage2_allocation", alloc).items()
        }
        for a1 in self.stage1:
            _check_sum(f"stage2_allocation for {a1!r}", [probs[(a1, a2)] for a2 in self.stage2])
        return probs

    # ------------------------------------------------------------ quantities
    @property
    def regimes(self) -> tuple[Regime, ...]:
        """Embedded regimes ``(a1, a2)``: start with a1, if no response switch to a2."""
        return tuple(itertools.product(self.stage1, self.stage2))

    @property
    def n_randomized(self) -> int:
        """Participants to randomize, ``ceil(n_total / (1 - dropout))``."""
        return int(math.ceil(round(self.n_total / (1.0 - self.dropout), 9)))

    @property
    def n_per_cell(self) -> dict[str, int]:
        """Expected participants analysed per stage-1 arm, as whole numbers adding to ``n_total``.

        ``n_total * p1`` rounded by largest remainders (Hamilton's method), so
        the arms always add up to ``n_total``.

        Examples
        --------
        >>> import trialplan as tp
        >>> s = tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={"a": 0.3, "b": 0.3}, responder_mean={"a": 0, "b": 0},
        ...     nonresponder_mean={("a", "x"): 0, ("a", "y"): 0, ("b", "x"): -3,
        ...                        ("b", "y"): -4}, sd=8.0, n_total=333)
        >>> s.n_per_cell
        {'a': 167, 'b': 166}
        """
        return _apportion(self.n_total, self.stage1_allocation)

    @property
    def n_randomized_per_cell(self) -> dict[str, int]:
        """Participants to randomize per stage-1 arm, adding to ``n_randomized``."""
        return _apportion(self.n_randomized, self.stage1_allocation)

    @property
    def favourable(self) -> int:
        """+1 when higher outcomes are better, -1 when lower ones are."""
        return 1 if self.better == "higher" else -1

    def regime_means(self) -> dict[Regime, float]:
        """Mean outcome of each embedded regime, ``g m_R + (1 - g) m_NR``.

        Examples
        --------
        >>> import trialplan as tp
        >>> s = tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={"a": 0.5, "b": 0.5}, responder_mean={"a": 0, "b": 0},
        ...     nonresponder_mean={("a", "x"): 2, ("a", "y"): 4, ("b", "x"): 2,
        ...                        ("b", "y"): 6}, sd=1.0, n_total=100)
        >>> s.regime_means()[("b", "y")]
        3.0
        """
        g, m_r, m_nr = self.response_rate, self.responder_mean, self.nonresponder_mean
        return {d: g[d[0]] * m_r[d[0]] + (1.0 - g[d[0]]) * m_nr[d] for d in self.regimes}

    def regime_covariance(self, regimes: Sequence[Regime] | None = None) -> np.ndarray:
        """Exact asymptotic covariance of the Hajek regime-mean estimates at ``n_total``.

        Parameters
        ----------
        regimes : sequence of (str, str), optional
            Regimes in the order wanted (all by default).

        Returns
        -------
        numpy.ndarray
            Covariance matrix (regimes x regimes).

        Examples
        --------
        Under Oetting et al.'s conditions (p1 = p2 = 1/2, equal subgroup means)
        the variance is ``2 (2 - g) sd^2 / N``:

        >>> import trialplan as tp
        >>> s = tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={"a": 0.4, "b": 0.4}, responder_mean={"a": 1, "b": 0},
        ...     nonresponder_mean={("a", "x"): 1, ("a", "y"): 1, ("b", "x"): 0,
        ...                        ("b", "y"): 0}, sd=2.0, n_total=100)
        >>> float(round(s.regime_covariance()[0, 0], 6)), 2 * (2 - 0.4) * 4 / 100
        (0.128, 0.128)
        """
        chosen = self.regimes if regimes is None else tuple(self.regime(d) for d in regimes)
        mu = self.regime_means()
        s2 = self.sd**2
        g, m_r, m_nr = self.response_rate, self.responder_mean, self.nonresponder_mean
        p1, p2 = self.stage1_allocation, self.stage2_allocation
        cov = np.zeros((len(chosen), len(chosen)))
        for i, d in enumerate(chosen):
            for j, e in enumerate(chosen):
                if d[0] != e[0]:
                    continue
                a1 = d[0]
                shared = g[a1] * (s2 + (m_r[a1] - mu[d]) * (m_r[a1] - mu[e]))
                if d == e:
                    shared += (1.0 - g[a1]) * (s2 + (m_nr[d] - mu[d]) ** 2) / p2[d]
                cov[i, j] = shared / (self.n_total * p1[a1])
        return cov

    def stage1_moments(self) -> dict[str, tuple[float, float]]:
        """Mean and variance of the outcome in each stage-1 arm (a mixture).

        The arm mixes responders and non-responders under each stage-2
        option in proportion to ``g`` and ``(1 - g) p2``.

        Examples
        --------
        >>> import trialplan as tp
        >>> smart = tp.SMART(
        ...     stage1=("rTMS", "rTMS+MBI"), stage2=("continue", "augment"),
        ...     response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
        ...     responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        ...     nonresponder_mean={("rTMS", "continue"): -4.0, ("rTMS", "augment"): -6.0,
        ...                        ("rTMS+MBI", "continue"): -6.0, ("rTMS+MBI", "augment"): -9.0},
        ...     sd=8.0, n_total=200, alpha=0.05)
        >>> mean, var = smart.stage1_moments()["rTMS"]
        >>> round(mean, 2), round(var, 2)     # .3(-14) + .35(-4) + .35(-6); 64 + spread
        (-7.7, 81.71)
        """
        out = {}
        for a1 in self.stage1:
            g = self.response_rate[a1]
            parts = [(g, self.responder_mean[a1])] + [
                ((1.0 - g) * self.stage2_allocation[(a1, a2)], self.nonresponder_mean[(a1, a2)])
                for a2 in self.stage2
            ]
            mean = sum(w * m for w, m in parts)
            var = self.sd**2 + sum(w * (m - mean) ** 2 for w, m in parts)
            out[a1] = (mean, var)
        return out

    # ------------------------------------------------------------ statistics
    def statistic_stage1(
        self, arm: str | None = None, reference: str | None = None
    ) -> TestStatistic:
        """Canonical statistic of the stage-1 comparison ``arm`` minus ``reference``.

        By default the second stage-1 treatment against the first, averaging
        over stage-2 options (the main effect of the first-stage treatment).

        Examples
        --------
        >>> import trialplan as tp
        >>> smart = tp.SMART(
        ...     stage1=("rTMS", "rTMS+MBI"), stage2=("continue", "augment"),
        ...     response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
        ...     responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        ...     nonresponder_mean={("rTMS", "continue"): -4.0, ("rTMS", "augment"): -6.0,
        ...                        ("rTMS+MBI", "continue"): -6.0, ("rTMS+MBI", "augment"): -9.0},
        ...     sd=8.0, n_total=200, alpha=0.05)
        >>> stat = smart.statistic_stage1()   # se = sqrt((81.71 + 78.85) / 100)
        >>> stat.hypothesis, round(stat.effect, 2), round(stat.se, 4), stat.df
        ('rTMS+MBI vs rTMS', -2.8, 1.2671, inf)
        """
        arm = self.stage1[1] if arm is None else self._arm(arm, "arm")
        reference = self.stage1[0] if reference is None else self._arm(reference, "reference")
        if arm == reference:
            raise ValueError(f"arm and reference must differ; both are {arm!r}")
        return self.statistics(f"{arm} vs {reference}")[0]  # type: ignore[return-value]

    def statistic_regimes(self, regime_a: Regime, regime_b: Regime) -> TestStatistic:
        """Canonical statistic of the regime comparison ``regime_a`` minus ``regime_b``.

        Examples
        --------
        >>> import trialplan as tp
        >>> smart = tp.SMART(
        ...     stage1=("rTMS", "rTMS+MBI"), stage2=("continue", "augment"),
        ...     response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
        ...     responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        ...     nonresponder_mean={("rTMS", "continue"): -4.0, ("rTMS", "augment"): -6.0,
        ...                        ("rTMS+MBI", "continue"): -6.0, ("rTMS+MBI", "augment"): -9.0},
        ...     sd=8.0, n_total=200, alpha=0.05)
        >>> stat = smart.statistic_regimes(("rTMS+MBI", "augment"), ("rTMS", "continue"))
        >>> round(stat.effect, 2), round(stat.se, 4), stat.df
        (-4.4, 1.583, inf)
        """
        a = self.regime(regime_a, "regime_a")
        b = self.regime(regime_b, "regime_b")
        if a == b:
            raise ValueError(f"regime_a and regime_b must differ; both are {a!r}")
        return self.statistics(f"{_label(a)} vs {_label(b)}")[0]  # type: ignore[return-value]

    @property
    def hypothesis_names(self) -> tuple[str, ...]:
        """The stage-1 comparison, then every pair of embedded regimes, as results print them."""
        return tuple(self._name(item) for item in self._comparisons(None))

    @property
    def _stage1_name(self) -> str:
        return f"{self.stage1[1]} vs {self.stage1[0]}"

    def _primary_names(self) -> tuple[str, ...]:
        """The primary comparisons: ``primary``, else the stage-1 comparison."""
        return tuple(self.primary) if self.primary else (self._stage1_name,)

    def _name(self, item: Any) -> str:
        if item == "stage1":
            return self._stage1_name
        return f"{_label(item[0])} vs {_label(item[1])}"

    def _names(self, hypotheses: Any) -> tuple[str, ...]:
        """Printed names of the comparisons asked for (names, "stage1" or regime pairs)."""
        if hypotheses is None:
            return self.hypothesis_names
        if isinstance(hypotheses, str):
            return (self._parse(hypotheses)[0],)
        if isinstance(hypotheses, Sequence) and not hypotheses:
            raise ValueError("hypotheses must name at least one comparison; got an empty list")
        if (
            isinstance(hypotheses, Sequence)
            and len(hypotheses) == 2
            and all(isinstance(c, Sequence) and not isinstance(c, str) for c in hypotheses)
        ):
            hypotheses = [hypotheses]
        if not isinstance(hypotheses, Sequence):
            raise TypeError(
                "hypotheses must be a comparison name, 'stage1', a pair of regimes, or a "
                f"list of these, e.g. {list(self.hypothesis_names[:2])}; got {hypotheses!r}"
            )
        names = []
        for item in hypotheses:
            if isinstance(item, str):
                names.append(self._parse(item)[0])
            elif isinstance(item, Sequence) and len(item) == 2:
                a = self.regime(item[0], "comparison")
                b = self.regime(item[1], "comparison")
                if a == b:
                    raise ValueError(f"regime_a and regime_b must differ; both are {a!r}")
                names.append(self._name((a, b)))
            else:
                raise ValueError(
                    f"each comparison must be a name, 'stage1' or a pair of regimes; got {item!r}"
                )
        return tuple(dict.fromkeys(names))

    def _parse(self, name: str) -> tuple[str, str, Any, Any]:
        """(printed name, kind, first, second) of a comparison name."""
        if name == "stage1":
            return self._stage1_name, "stage1", self.stage1[1], self.stage1[0]
        first, sep, second = name.partition(" vs ")
        first, second = first.strip(), second.strip()
        if sep and "/" not in first and "/" not in second:
            arm = self._arm(first, f"comparison {name!r}")
            ref = self._arm(second, f"comparison {name!r}")
            if arm == ref:
                raise ValueError(f"arm and reference must differ; both are {arm!r}")
            return f"{arm} vs {ref}", "stage1", arm, ref
        if sep and "/" in first and "/" in second:
            a = self.regime(tuple(first.split("/", 1)), f"comparison {name!r}")
            b = self.regime(tuple(second.split("/", 1)), f"comparison {name!r}")
            if a == b:
                raise ValueError(f"regime_a and regime_b must differ; both are {a!r}")
            return self._name((a, b)), "regimes", a, b
        raise ValueError(
            f"comparison {name!r} is not one of this SMART's: name a stage-1 comparison "
            f"'<arm> vs <arm>' or a regime comparison '<a1>/<a2> vs <b1>/<b2>', e.g. "
            f"{list(self.hypothesis_names[:3])}" + did_you_mean(name, self.hypothesis_names)
        )

    def statistics(self, hypotheses: Any = None) -> StatisticFamily:
        """The comparisons (all by default) as a :class:`~trialplan.statistic.StatisticFamily`.

        Estimates are the stage-1 arms' means, then the regimes' Hajek means,
        with their exact asymptotic covariance at ``n_total`` (every entry is
        a per-participant covariance over the arm's expected size
        ``n_total * p1``, so the family scales as ``1 / N``).  Comparisons are
        named as results print them, and also accepted as ``"stage1"`` or a
        pair of regimes.

        Examples
        --------
        >>> import trialplan as tp
        >>> s = tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={"a": 0.4, "b": 0.4}, responder_mean={"a": 4, "b": 0},
        ...     nonresponder_mean={("a", "x"): 4, ("a", "y"): 4, ("b", "x"): 0,
        ...                        ("b", "y"): 0}, sd=8.0, n_total=100)
        >>> fam = s.statistics(["b vs a", "a/x vs b/y"])
        >>> fam.hypotheses, [round(st.se, 4) for st in fam]
        (('b vs a', 'a/x vs b/y'), [1.6, 2.0239])
        >>> round(fam.scaled(400)[1].se, 4)        # 4 times N: half the se
        1.0119
        """
        names = self._names(hypotheses)
        k1 = len(self.stage1)
        moments = self.stage1_moments()
        mu = self.regime_means()
        regimes = self.regimes
        m = k1 + len(regimes)
        estimates = np.array(
            [moments[a][0] for a in self.stage1] + [mu[d] for d in regimes], dtype=float
        )
        cell_of = np.array(list(range(k1)) + [self.stage1.index(d[0]) for d in regimes])
        unit = np.zeros((m, m))  # per-participant covariance within each stage-1 arm
        s2 = self.sd**2
        g, m_r, m_nr = self.response_rate, self.responder_mean, self.nonresponder_mean
        for i, a in enumerate(self.stage1):
            unit[i, i] = moments[a][1]
        for j, d in enumerate(regimes):
            a = d[0]
            i = self.stage1.index(a)
            mean_a = moments[a][0]
            # Cov(arm mean, regime mean): responders and the regime's non-responders
            cross = g[a] * (s2 + (m_r[a] - mean_a) * (m_r[a] - mu[d])) + (1.0 - g[a]) * (
                s2 + (m_nr[d] - mean_a) * (m_nr[d] - mu[d])
            )
            unit[i, k1 + j] = unit[k1 + j, i] = cross
        regime_cov = self.regime_covariance()  # already over N p1
        p1 = np.array([self.stage1_allocation[a] for a in self.stage1])
        size = self.n_total * p1[cell_of]
        covariance = unit / np.sqrt(np.outer(size, size))
        covariance[k1:, k1:] = regime_cov
        rows, estimands, methods = [], [], []
        for name in names:
            _, kind, first, second = self._parse(name)
            row = np.zeros(m)
            if kind == "stage1":
                row[self.stage1.index(first)] = 1.0
                row[self.stage1.index(second)] = -1.0
                estimands.append(
                    f"stage 1: mean outcome of {first} minus {second}, averaged over "
                    "stage-2 options"
                )
                methods.append(_STAGE1)
            else:
                row[k1 + regimes.index(first)] = 1.0
                row[k1 + regimes.index(second)] = -1.0
                var = float(row @ covariance @ row)
                if not var > 0:
                    raise ValueError(
                        f"regimes {first!r} and {second!r} coincide (every participant "
                        "consistent with one is consistent with the other: response rate 1)"
                    )
                shared = (
                    "sharing the stage-1 treatment"
                    if first[0] == second[0]
                    else "starting differently"
                )
                estimands.append(
                    f"mean outcome of regime {_words(first)} minus regime {_words(second)} "
                    f"({shared})"
                )
                methods.append(_ANALYTIC)
            rows.append(row[None, :])
        return StatisticFamily(
            hypotheses=names,
            estimands=tuple(estimands),
            contrasts=tuple(rows),
            estimates=estimates,
            covariance=covariance,
            cell_of=cell_of,
            ratios=p1,
            multiplier=float(self.n_total),
            df_rule=DfRule(),
            alpha=self.alpha,
            sided=self.sided,
            favourable=self.favourable,
            method=_ANALYTIC,
            scale="mean difference",
            methods=tuple(methods),
            cells=tuple(self.stage1),
            min_multiplier=2,
            unit="n_total",
        )

    def _comparisons(self, comparisons: Any) -> list[Any]:
        """Comparisons as ``"stage1"`` or pairs of regimes (all by default)."""
        if comparisons is None:
            return ["stage1", *itertools.combinations(self.regimes, 2)]
        out = []
        for name in self._names(comparisons):
            _, kind, first, second = self._parse(name)
            if kind == "stage1" and (first, second) == (self.stage1[1], self.stage1[0]):
                out.append("stage1")
            elif kind == "stage1":
                out.append(name)
            else:
                out.append((first, second))
        return out

    def at_multiplier(self, multiplier: int) -> SMART:
        """The design with ``n_total = multiplier`` (the sample-size search's unit).

        Examples
        --------
        >>> import trialplan as tp
        >>> s = tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={"a": 0.3, "b": 0.3}, responder_mean={"a": 0, "b": 0},
        ...     nonresponder_mean={("a", "x"): 0, ("a", "y"): 0, ("b", "x"): -3,
        ...                        ("b", "y"): -4}, sd=8.0, n_total=300)
        >>> s.at_multiplier(451).n_per_cell
        {'a': 226, 'b': 225}
        """
        return self.replace(n_total=int(multiplier))

    def simulator(self) -> OutcomeSimulator:
        """The patient-level SMART simulator (:mod:`trialplan.simulate.smart`).

        Examples
        --------
        >>> import trialplan as tp
        >>> s = tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={"a": 0.3, "b": 0.3}, responder_mean={"a": 0, "b": 0},
        ...     nonresponder_mean={("a", "x"): 0, ("a", "y"): 0, ("b", "x"): -3,
        ...                        ("b", "y"): -4}, sd=8.0, n_total=300)
        >>> type(s.simulator()).__name__
        'SMARTSimulator'
        """
        return _SIMULATOR

    def _analytic_power(self, family: StatisticFamily) -> PowerResult:
        rows = tuple(_row(s, statistic_power(s), s.method) for s in family)
        return PowerResult(rows=rows, summary=self.describe(), method="analytic", design=self)

    # ----------------------------------------------------------------- power
    @document(
        """Power of the stage-1 comparison and of regime comparisons.

        Parameters
        ----------
        hypotheses : str, pair of regimes, or a sequence of these, optional
            Comparisons by the names results print (``"rTMS+MBI vs rTMS"``,
            ``"rTMS+MBI/augment vs rTMS/continue"``), ``"stage1"``, or pairs of
            regimes ``((a1, a2), (b1, b2))``; by default the stage-1 comparison
            and every pair of regimes.
{power_parameters}
        batch_size : int, optional
            Deprecated (a DeprecationWarning): results never depend on how
            trials are batched; ``memory_budget`` bounds memory.

        Returns
        -------
        PowerResult
            ``result[name]`` is a float; simulation results carry ``mcse``.

{power_raises}
        Examples
        --------
        >>> import trialplan as tp
        >>> s = tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={{"a": 0.3, "b": 0.3}}, responder_mean={{"a": 0, "b": 0}},
        ...     nonresponder_mean={{("a", "x"): 0, ("a", "y"): 0, ("b", "x"): -3,
        ...                        ("b", "y"): -4}}, sd=8.0, n_total=300)
        >>> res = s.power([("b", "y"), ("a", "x")])
        >>> list(res), round(res["b/y vs a/x"], 3)
        (['b/y vs a/x'], 0.634)
        >>> round(s.power("b/y vs a/x")["b/y vs a/x"], 3)   # the printed name works too
        0.634
        """
    )
    def power(  # noqa: D102  (docstring filled in by document)
        self,
        hypotheses: Any = None,
        *,
        method: str = "analytic",
        sequential: GroupSequential | None = None,
        adaptive: Any = None,
        multiplicity: Any = None,
        n_sims: int | None = None,
        seed: Any = None,
        engine: str | None = None,
        executor: Executor | None = None,
        progress: bool | None = None,
        memory_budget: int | None = None,
        analysis: Callable[[Any], Mapping[str, float]] | None = None,
        statistic: str | None = None,
        timing: str | None = None,
        batch_size: int | None = None,
    ) -> PowerResult:
        if batch_size is not None:
            check_int("batch_size", batch_size)
            warnings.warn(
                "SMART.power(batch_size=...) is deprecated and ignored: simulated results "
                "never depend on batching; bound memory with memory_budget=",
                DeprecationWarning,
                stacklevel=2,
            )
        return super().power(
            hypotheses,
            method=method,
            sequential=sequential,
            adaptive=adaptive,
            multiplicity=multiplicity,
            n_sims=n_sims,
            seed=seed,
            engine=engine,
            executor=executor,
            progress=progress,
            memory_budget=memory_budget,
            analysis=analysis,
            statistic=statistic,
            timing=timing,
        )

    def power_stage1(self, **options: Any) -> float:
        """Power of the stage-1 comparison (second treatment vs first).

        Keywords are passed to :meth:`power` (e.g. ``method="simulation"``).

        Examples
        --------
        >>> import trialplan as tp
        >>> smart = tp.SMART(
        ...     stage1=("rTMS", "rTMS+MBI"), stage2=("continue", "augment"),
        ...     response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
        ...     responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        ...     nonresponder_mean={("rTMS", "continue"): -4.0, ("rTMS", "augment"): -6.0,
        ...                        ("rTMS+MBI", "continue"): -6.0, ("rTMS+MBI", "augment"): -9.0},
        ...     sd=8.0, n_total=200, alpha=0.05)
        >>> round(smart.power_stage1(), 4)   # Phi(2.8 / 1.2671 - 1.96) + far tail
        0.5986
        """
        return float(self.power("stage1", **options).rows[0].power)

    def power_regimes(self, regime_a: Regime, regime_b: Regime, **options: Any) -> float:
        """Power of comparing two embedded regimes (``regime_a`` minus ``regime_b``).

        Keywords are passed to :meth:`power` (e.g. ``method="simulation"``).

        Examples
        --------
        >>> import trialplan as tp
        >>> smart = tp.SMART(
        ...     stage1=("rTMS", "rTMS+MBI"), stage2=("continue", "augment"),
        ...     response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
        ...     responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        ...     nonresponder_mean={("rTMS", "continue"): -4.0, ("rTMS", "augment"): -6.0,
        ...                        ("rTMS+MBI", "continue"): -6.0, ("rTMS+MBI", "augment"): -9.0},
        ...     sd=8.0, n_total=200, alpha=0.05)
        >>> round(smart.power_regimes(("rTMS+MBI", "augment"), ("rTMS", "continue")), 4)
        0.7938
        """
        a = self.regime(regime_a, "regime_a")
        b = self.regime(regime_b, "regime_b")
        if a == b:
            raise ValueError(f"regime_a and regime_b must differ; both are {a!r}")
        return float(self.power([(a, b)], **options).rows[0].power)

    @document(
        """Smallest ``n_total`` at which the comparisons reach ``power``.

        The one integer search of every design
        (:func:`trialplan.power.sample_size_search`) over ``n_total``,
        bracketing from the normal approximation; the per-arm sizes of the
        result are whole numbers that add up to ``n_total``.

        Parameters
        ----------
{sample_size_parameters}
        comparison : "stage1" or (regime, regime), optional
            Deprecated alias of ``hypothesis`` (a DeprecationWarning).

        Returns
        -------
        SampleSizeResult
            ``n_total`` analysed, ``n_randomized`` after dropout and
            ``n_per_cell`` the expected numbers per stage-1 treatment (whole
            numbers adding up to ``n_total``).

        Raises
        ------
        ValueError
            If ``power`` is outside (0, 1), the effect is zero, or both
            ``hypothesis`` and ``comparison`` are given.

        Examples
        --------
        Regimes starting differently, p1 = p2 = 1/2, g = 0.4, delta = 0.5 SD:
        Oetting et al.'s ``4 (z_.975 + z_.8)^2 (2 - g) / delta^2`` gives 201.

        >>> import trialplan as tp
        >>> s = tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={{"a": 0.4, "b": 0.4}}, responder_mean={{"a": 4, "b": 0}},
        ...     nonresponder_mean={{("a", "x"): 4, ("a", "y"): 4, ("b", "x"): 0,
        ...                        ("b", "y"): 0}}, sd=8.0, n_total=100)
        >>> ss = s.sample_size(power=0.8, hypothesis="a/x vs b/x")
        >>> ss.n_total, dict(ss.n_per_cell)
        (201, {{'a': 101, 'b': 100}})
        """
    )
    def sample_size(  # noqa: D102  (docstring filled in by document)
        self,
        *,
        power: float,
        hypothesis: Any = None,
        sequential: GroupSequential | None = None,
        multiplicity: Any = None,
        comparison: Any = None,
    ) -> SampleSizeResult:
        if comparison is not None:
            if hypothesis is not None:
                raise ValueError(
                    "give hypothesis= (comparison= is its deprecated alias), not both; got "
                    f"hypothesis={hypothesis!r} and comparison={comparison!r}"
                )
            warnings.warn(
                "SMART.sample_size(comparison=...) is deprecated; use hypothesis= (a "
                "comparison name as results print it, 'stage1' or a pair of regimes)",
                DeprecationWarning,
                stacklevel=2,
            )
            hypothesis = comparison
        if hypothesis is not None:
            hypothesis = self._names(hypothesis)
        return super().sample_size(
            power=power, hypothesis=hypothesis, sequential=sequential, multiplicity=multiplicity
        )

    def replace(self, **changes: Any) -> SMART:
        """Return a copy with some parameters changed, validated again.

        Examples
        --------
        >>> import trialplan as tp
        >>> smart = tp.SMART(
        ...     stage1=("rTMS", "rTMS+MBI"), stage2=("continue", "augment"),
        ...     response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
        ...     responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        ...     nonresponder_mean={("rTMS", "continue"): -4.0, ("rTMS", "augment"): -6.0,
        ...                        ("rTMS+MBI", "continue"): -6.0, ("rTMS+MBI", "augment"): -9.0},
        ...     sd=8.0, n_total=200, alpha=0.05)
        >>> smart.replace(n_total=300).n_total
        300
        >>> smart.replace(sd=0.0)
        Traceback (most recent call last):
        ...
        ValueError: sd must be a finite number > 0; got sd=0.0
        """
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """One line naming the design, its size and its tests.

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={"a": 0.3, "b": 0.3}, responder_mean={"a": 0, "b": 0},
        ...     nonresponder_mean={("a", "x"): 0, ("a", "y"): 0, ("b", "x"): -3,
        ...                        ("b", "y"): -4}, sd=8.0, n_total=300).describe()
        'SMART 2 x 2 (stage 1: a, b; non-responders: x, y) | N=300 | alpha=0.05 two-sided'
        """
        sided = "two-sided" if self.sided == 2 else "one-sided"
        return (
            f"SMART {len(self.stage1)} x {len(self.stage2)} (stage 1: "
            f"{', '.join(self.stage1)}; non-responders: {', '.join(self.stage2)}) | "
            f"N={self.n_total} | alpha={self.alpha:g} {sided}"
        )

    def summary_items(self) -> list[tuple[str, str]]:
        """The lines of ``repr(smart)``: arms and sizes, alpha and sidedness, outcome model.

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={"a": 0.3, "b": 0.4}, responder_mean={"a": -14, "b": -15},
        ...     nonresponder_mean={("a", "x"): -4, ("a", "y"): -6, ("b", "x"): -6,
        ...                        ("b", "y"): -9}, sd=8.0, n_total=300)
        SMART 2 x 2 (stage 1: a, b; non-responders: x, y)
          stage 1          a, b; non-responders re-randomized to x, y
          sizes            a 150, b 150; N = 300 analysed
          alpha            0.05 two-sided
          outcome          continuous: sd 8; lower is better
          response rate    a 0.3, b 0.4
          responder means  a -14, b -15
          non-responders   a/x -4, a/y -6, b/x -6, b/y -9
        """
        sizes = ", ".join(f"{arm} {n}" for arm, n in self.n_per_cell.items())
        randomized = (
            f", {self.n_randomized} randomized" if self.n_randomized != self.n_total else ""
        )
        sided = "two-sided" if self.sided == 2 else "one-sided"
        items = [
            (
                "stage 1",
                f"{', '.join(self.stage1)}; non-responders re-randomized to "
                f"{', '.join(self.stage2)}",
            ),
            ("sizes", f"{sizes}; N = {self.n_total} analysed{randomized}"),
            ("alpha", f"{self.alpha:g} {sided}"),
            ("outcome", f"continuous: sd {self.sd:g}; {self.better} is better"),
            ("response rate", ", ".join(f"{a} {r:g}" for a, r in self.response_rate.items())),
            ("responder means", ", ".join(f"{a} {m:g}" for a, m in self.responder_mean.items())),
            (
                "non-responders",
                ", ".join(f"{a1}/{a2} {m:g}" for (a1, a2), m in self.nonresponder_mean.items()),
            ),
        ]
        if self.primary:
            items.append(("primary", ", ".join(self.primary)))
        return items


_SIMULATOR = SMARTSimulator()


def _row(stat: TestStatistic, power: float, method: str) -> PowerRow:
    return PowerRow(
        hypothesis=stat.hypothesis,
        estimand=stat.estimand,
        effect=stat.effect,
        se=stat.se,
        df=stat.df,
        critical_value=stat.critical_value,
        power=float(power),
        method=method,
        noncentrality=stat.noncentrality**2,
        scale=stat.scale,
    )


def _label(regime: Regime) -> str:
    return f"{regime[0]}/{regime[1]}"


def _words(regime: Regime) -> str:
    return f"({regime[0]}; if no response, {regime[1]})"


def _check_labels(name: str, labels: Any) -> tuple[str, ...]:
    labels = as_sequence(labels)
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise TypeError(f"{name} must be a sequence of names; got {name}={labels!r}")
    labels = tuple(labels)
    if len(labels) < 2:
        raise ValueError(f"{name} must name at least two treatments; got {name}={labels!r}")
    if not all(isinstance(x, str) and x.strip() for x in labels):
        raise TypeError(f"{name} must hold non-empty strings; got {name}={labels!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{name} must hold distinct names; got {name}={labels!r}")
    if any("/" in x or " vs " in x for x in labels):
        raise ValueError(
            f"{name} names must not contain '/' or ' vs ' (comparisons are "
            f"named 'a1/a2 vs b1/b2'); got {name}={labels!r}"
        )
    return labels


def _check_sum(name: str, probs: Any) -> None:
    total = float(sum(probs))
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise ValueError(f"{name} probabilities must sum to 1; they sum to {total:g}")


def _apportion(total: int, probabilities: Mapping[str, float]) -> dict[str, int]:
    """Whole numbers proportional to ``probabilities`` adding up to ``total`` (largest remainder).

    Examples
    --------
    >>> _apportion(333, {"a": 0.5, "b": 0.5})
    {'a': 167, 'b': 166}
    >>> _apportion(10, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    {'a': 4, 'b': 3, 'c': 3}
    """
    keys = list(probabilities)
    exact = np.array([total * probabilities[k] for k in keys])
    # round() first: 0.3 * 10 is 3.0000000000000004, whose floor must stay 3
    base = np.floor(np.round(exact, 9)).astype(int)
    remainder = exact - base
    order = sorted(range(len(keys)), key=lambda i: (-round(remainder[i], 9), i))
    for i in order[: total - int(base.sum())]:
        base[i] += 1
    return {k: int(v) for k, v in zip(keys, base, strict=True)}
