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

import itertools
import math
from collections.abc import Mapping, Sequence
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
from trialplan.power import smallest_multiplier, statistic_power
from trialplan.results import PowerResult, PowerRow, SampleSizeResult
from trialplan.statistic import TestStatistic, critical_value

__all__ = ["SMART"]

Regime = tuple[str, str]

_ANALYTIC = "Hajek (IPW) estimator, exact asymptotic variance, large-sample z test (normal approx.)"
_STAGE1 = "two-sample z test with each arm's mixture variance (normal approx.)"
_SIMULATION = (
    "simulation: patient-level data, Hajek (IPW) estimates with sandwich variances, z test"
)


@dataclass(frozen=True, kw_only=True)
class SMART:
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

    Raises
    ------
    ValueError
        For a response rate outside [0, 1], a missing or unknown treatment or
        regime (with the closest name), allocation probabilities that are not
        in (0, 1) or do not sum to 1, ``sd <= 0`` or ``alpha`` outside (0, 1).
    TypeError
        For values of the wrong type.

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
        moments = self.stage1_moments()
        p1 = self.stage1_allocation
        effect = moments[arm][0] - moments[reference][0]
        se = math.sqrt(
            moments[arm][1] / (self.n_total * p1[arm])
            + moments[reference][1] / (self.n_total * p1[reference])
        )
        return TestStatistic(
            hypothesis=f"{arm} vs {reference}",
            estimand=(
                f"stage 1: mean outcome of {arm} minus {reference}, averaged over stage-2 options"
            ),
            effect=effect,
            se=se,
            df=math.inf,
            sided=self.sided,
            alpha=self.alpha,
            favourable=self.favourable,
            method=_STAGE1,
        )

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
        mu = self.regime_means()
        cov = self.regime_covariance((a, b))
        var = cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1]
        if not var > 0:
            raise ValueError(
                f"regimes {a!r} and {b!r} coincide (every participant consistent "
                "with one is consistent with the other: response rate 1)"
            )
        shared = "sharing the stage-1 treatment" if a[0] == b[0] else "starting differently"
        return TestStatistic(
            hypothesis=f"{_label(a)} vs {_label(b)}",
            estimand=(f"mean outcome of regime {_words(a)} minus regime {_words(b)} ({shared})"),
            effect=mu[a] - mu[b],
            se=math.sqrt(var),
            df=math.inf,
            sided=self.sided,
            alpha=self.alpha,
            favourable=self.favourable,
            method=_ANALYTIC,
        )

    def _comparisons(self, comparisons: Any) -> list[Any]:
        if comparisons is None:
            return ["stage1", *itertools.combinations(self.regimes, 2)]
        if isinstance(comparisons, str) or (
            isinstance(comparisons, Sequence)
            and len(comparisons) == 2
            and all(isinstance(c, Sequence) and not isinstance(c, str) for c in comparisons)
        ):
            comparisons = [comparisons]
        out = []
        for item in comparisons:
            if isinstance(item, str):
                check_choice("comparison", item, ("stage1",))
                out.append("stage1")
            elif isinstance(item, Sequence) and len(item) == 2:
                out.append((self.regime(item[0], "comparison"), self.regime(item[1], "comparison")))
            else:
                raise ValueError(
                    f"each comparison must be 'stage1' or a pair of regimes; got {item!r}"
                )
        return out

    def _statistic(self, comparison: Any) -> TestStatistic:
        if comparison == "stage1":
            return self.statistic_stage1()
        return self.statistic_regimes(*comparison)

    # ----------------------------------------------------------------- power
    def power(
        self,
        comparisons: Any = None,
        *,
        method: str = "analytic",
        n_sims: int = 10_000,
        seed: Any = None,
        batch_size: int | None = None,
    ) -> PowerResult:
        """Power of the stage-1 comparison and of regime comparisons.

        Parameters
        ----------
        comparisons : "stage1", a pair of regimes, or a sequence of these
            By default the stage-1 comparison and every pair of regimes.
        method : {"analytic", "simulation"}, default "analytic"
            ``"analytic"``: the exact asymptotic variance and the z test.
            ``"simulation"``: patient-level data analysed with Hajek
            estimates and sandwich variances.
        n_sims : int, default 10000
            Simulated trials (simulation only).
        seed : int, SeedSequence or Generator, optional
            Seed that reproduces a simulation.
        batch_size : int, optional
            Trials simulated at once (bounds memory); by default so that a
            batch holds about two million participants.

        Returns
        -------
        PowerResult
            ``result[name]`` is a float; simulation results carry ``mcse``.

        Examples
        --------
        >>> import trialplan as tp
        >>> s = tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={"a": 0.3, "b": 0.3}, responder_mean={"a": 0, "b": 0},
        ...     nonresponder_mean={("a", "x"): 0, ("a", "y"): 0, ("b", "x"): -3,
        ...                        ("b", "y"): -4}, sd=8.0, n_total=300)
        >>> res = s.power([("b", "y"), ("a", "x")])
        >>> list(res), round(res["b/y vs a/x"], 3)
        (['b/y vs a/x'], 0.634)
        """
        chosen = self._comparisons(comparisons)
        stats_ = [self._statistic(c) for c in chosen]
        if method == "analytic":
            rows = tuple(_row(s, statistic_power(s), s.method) for s in stats_)
            return PowerResult(rows=rows, summary=self.describe(), method="analytic", design=self)
        if method != "simulation":
            raise ValueError(
                f"method={method!r} is not available; choose one of "
                "('analytic', 'simulation')" + did_you_mean(method, ("analytic", "simulation"))
            )
        n_sims = check_int("n_sims", n_sims)
        rejections = self._simulate(chosen, n_sims=n_sims, seed=seed, batch_size=batch_size)
        powers = rejections / n_sims
        rows = tuple(_row(s, p, _SIMULATION) for s, p in zip(stats_, powers, strict=True))
        mcse = {
            s.hypothesis: math.sqrt(p * (1 - p) / n_sims)
            for s, p in zip(stats_, powers, strict=True)
        }
        return PowerResult(
            rows=rows,
            summary=self.describe(),
            method="simulation",
            mcse=mcse,
            n_sims=n_sims,
            seed=seed,
            design=self,
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
        return float(self.power([(regime_a, regime_b)], **options).rows[0].power)

    def sample_size(self, *, power: float, comparison: Any = "stage1") -> SampleSizeResult:
        """Smallest ``n_total`` at which the comparison reaches ``power``.

        Parameters
        ----------
        power : float
            Target power in (0, 1).
        comparison : "stage1" or (regime, regime), default "stage1"
            The stage-1 comparison or a pair of embedded regimes.

        Returns
        -------
        SampleSizeResult
            ``n_total`` analysed, ``n_randomized`` after dropout and
            ``n_per_cell`` the expected numbers per stage-1 treatment.

        Raises
        ------
        ValueError
            If ``power`` is outside (0, 1) or the effect is zero.

        Examples
        --------
        Regimes starting differently, p1 = p2 = 1/2, g = 0.4, delta = 0.5 SD:
        Oetting et al.'s ``4 (z_.975 + z_.8)^2 (2 - g) / delta^2`` gives 201.

        >>> import trialplan as tp
        >>> s = tp.SMART(stage1=("a", "b"), stage2=("x", "y"),
        ...     response_rate={"a": 0.4, "b": 0.4}, responder_mean={"a": 4, "b": 0},
        ...     nonresponder_mean={("a", "x"): 4, ("a", "y"): 4, ("b", "x"): 0,
        ...                        ("b", "y"): 0}, sd=8.0, n_total=100)
        >>> s.sample_size(power=0.8, comparison=(("a", "x"), ("b", "x"))).n_total
        201
        """
        target = check_open_unit("power", power)
        chosen = self._comparisons([comparison] if isinstance(comparison, str) else [comparison])[0]
        stat = self._statistic(chosen)
        if stat.effect == 0:
            raise ValueError(
                f"power={target} is out of reach: the effect of "
                f"{stat.hypothesis!r} is zero at these planning values"
            )
        # Normal approximation with variance proportional to 1/N: the
        # two-sided power also counts the (tiny) wrong-direction tail, so
        # search from the closed form until the target is met.  Bracket and
        # bisect: stepping n by one never ended when the closed form was
        # astronomically large (sd=1e6 gives N ~ 1e12).
        unit_var = stat.se**2 * self.n_total
        z = critical_value(self.alpha / self.sided, math.inf) + critical_value(1 - target, math.inf)
        n = max(2, math.ceil(z**2 * unit_var / stat.effect**2 - 1e-9))

        def power_at(m: int) -> float:
            return statistic_power(self.replace(n_total=m)._statistic(chosen))

        n = smallest_multiplier(power_at, target, lo=2, start=n, what="n_total")
        design = self.replace(n_total=n)
        achieved = statistic_power(design._statistic(chosen))
        per_arm = {a: int(round(n * p)) for a, p in self.stage1_allocation.items()}
        randomized = {
            a: int(math.ceil(round(v / (1 - self.dropout), 9))) for a, v in per_arm.items()
        }
        return SampleSizeResult(
            n_per_cell=per_arm,
            n_total=n,
            n_randomized_per_cell=randomized,
            n_randomized=design.n_randomized,
            power=achieved,
            powers={stat.hypothesis: achieved},
            target=target,
            hypotheses=(stat.hypothesis,),
            design=design,
            method=stat.method,
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
        from dataclasses import replace

        return replace(self, **changes)

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

    # ------------------------------------------------------------ simulation
    def _simulate(
        self, comparisons: Sequence[Any], *, n_sims: int, seed: Any, batch_size: int | None
    ) -> np.ndarray:
        """Count rejections per comparison over ``n_sims`` simulated trials."""
        n = self.n_total
        if batch_size is None:
            batch_size = max(1, min(n_sims, 2_000_000 // n))
        batch_size = check_int("batch_size", batch_size)
        n_batches = math.ceil(n_sims / batch_size)
        root = (
            seed
            if isinstance(seed, np.random.SeedSequence)
            else (
                np.random.SeedSequence(seed)
                if not isinstance(seed, np.random.Generator)
                else np.random.SeedSequence(seed.integers(2**63))
            )
        )
        counts = np.zeros(len(comparisons))
        for b, child in enumerate(root.spawn(n_batches)):
            size = min(batch_size, n_sims - b * batch_size)
            counts += self._simulate_batch(np.random.default_rng(child), comparisons, size)
        return counts

    def _simulate_batch(
        self, rng: np.random.Generator, comparisons: Sequence[Any], size: int
    ) -> np.ndarray:
        n = self.n_total
        k1, k2 = len(self.stage1), len(self.stage2)
        p1 = np.array([self.stage1_allocation[a] for a in self.stage1])
        p2 = np.array(
            [[self.stage2_allocation[(a1, a2)] for a2 in self.stage2] for a1 in self.stage1]
        )
        g = np.array([self.response_rate[a] for a in self.stage1])
        m_r = np.array([self.responder_mean[a] for a in self.stage1])
        m_nr = np.array(
            [[self.nonresponder_mean[(a1, a2)] for a2 in self.stage2] for a1 in self.stage1]
        )
        a1 = np.minimum(np.searchsorted(np.cumsum(p1), rng.random((size, n)), side="right"), k1 - 1)
        responder = rng.random((size, n)) < g[a1]
        cum2 = np.cumsum(p2, axis=1)[a1]  # (size, n, k2)
        a2 = np.minimum((rng.random((size, n))[..., None] >= cum2).sum(axis=2), k2 - 1)
        mean = np.where(responder, m_r[a1], m_nr[a1, a2])
        y = mean + self.sd * rng.standard_normal((size, n))
        weight = np.where(responder, 1.0 / p1[a1], 1.0 / (p1[a1] * p2[a1, a2]))
        z_crit = critical_value(self.alpha / self.sided, math.inf)
        out = np.zeros(len(comparisons))
        with np.errstate(invalid="ignore", divide="ignore"):
            cache: dict[Regime, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

            def hajek(d: Regime) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                if d not in cache:
                    i, j = self.stage1.index(d[0]), self.stage2.index(d[1])
                    w = weight * ((a1 == i) & (responder | (a2 == j)))
                    total = w.sum(axis=1)
                    est = (w * y).sum(axis=1) / total
                    score = w * (y - est[:, None])  # influence terms
                    cache[d] = (est, score, total)
                return cache[d]

            for c, comp in enumerate(comparisons):
                if comp == "stage1":
                    first, second = (a1 == 0), (a1 == 1)
                    n0, n1 = first.sum(axis=1), second.sum(axis=1)
                    m0 = (y * first).sum(axis=1) / n0
                    m1 = (y * second).sum(axis=1) / n1
                    v0 = (((y - m0[:, None]) ** 2) * first).sum(axis=1) / (n0 - 1)
                    v1 = (((y - m1[:, None]) ** 2) * second).sum(axis=1) / (n1 - 1)
                    z = (m1 - m0) / np.sqrt(v1 / n1 + v0 / n0)
                else:
                    (est_a, sc_a, t_a), (est_b, sc_b, t_b) = hajek(comp[0]), hajek(comp[1])
                    var = (
                        (sc_a**2).sum(axis=1) / t_a**2
                        + (sc_b**2).sum(axis=1) / t_b**2
                        - 2.0 * (sc_a * sc_b).sum(axis=1) / (t_a * t_b)
                    )
                    z = (est_a - est_b) / np.sqrt(var)
                z = np.nan_to_num(z, nan=0.0)
                if self.sided == 2:
                    out[c] = np.count_nonzero(np.abs(z) > z_crit)
                else:
                    out[c] = np.count_nonzero(self.favourable * z > z_crit)
        return out


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
