"""Assurance (power averaged over a design prior) and Bayesian decision rules.

Power answers "what if the effect is exactly theta?"; assurance answers "how
likely is the trial to succeed, given what we believe about theta?" by
averaging the power curve over a *design prior* on the effect (O'Hagan,
Stevens & Campbell 2005; Spiegelhalter & Freedman 1986).  Success is a
significant result in the favourable direction, at ``alpha / sided`` (for a
two-sided test the unfavourable tail is not a success; as in the R package
bpp, Rufibach, Burger & Abt 2016).

Priors are on the hypothesis's effect on its analysis scale (for a factorial
interaction the difference of differences ``IC``):

* :class:`NormalPrior` or ``scipy.stats.norm(mean, sd)``: closed form
  ``Phi((f m - z se) / sqrt(se^2 + v))`` for a normal statistic; Gauss-Hermite
  quadrature of the exact noncentral t power for a t statistic;
* any other frozen ``scipy.stats`` distribution: ``prior.expect(power)``
  (adaptive quadrature), or Monte Carlo with ``method="simulation"``;
* an array of draws (e.g. from an earlier trial's posterior): Monte Carlo
  average of the exact power at each draw, with its Monte Carlo standard error.

:class:`PosteriorRule` is a Bayesian decision rule, "the posterior
probability that the effect is beneficial beyond a threshold is at least
gamma", under a normal-normal model; its frequentist operating
characteristics (type I error, power, assurance) follow in closed form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special, stats

from trialplan._seeds import normalize_seed
from trialplan._validation import check_int, check_open_unit, check_positive, check_real
from trialplan.power import _imbalance_quadrature, _upper_tail
from trialplan.statistic import IntersectionUnion, TestStatistic, as_family, critical_value

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AssuranceResult",
    "NormalPrior",
    "PosteriorRule",
    "assurance",
    "statistic_assurance",
]

_DEFAULT_SEED = 20260101
_HERMITE_NODES, _HERMITE_WEIGHTS = special.roots_hermitenorm(96)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / _HERMITE_WEIGHTS.sum()


@dataclass(frozen=True, kw_only=True)
class NormalPrior:
    """A normal prior on an effect, ``N(mean, sd**2)``.

    Parameters
    ----------
    mean : float
        Prior mean of the effect, on the hypothesis's scale (e.g. HAM-D points
        of interaction; negative = benefit when lower is better).
    sd : float
        Prior standard deviation (> 0).

    Raises
    ------
    ValueError
        If ``sd`` is not a finite number > 0.

    Examples
    --------
    >>> NormalPrior(mean=-4.0, sd=2.0)
    NormalPrior(mean=-4.0, sd=2.0)
    """

    mean: float
    sd: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", check_real("mean", self.mean))
        sd = check_real("sd", self.sd)
        if sd <= 0:
            raise ValueError(
                f"prior sd must be a finite number > 0; got sd={self.sd!r} "
                "(a point prior is plain power: use design.power())"
            )
        object.__setattr__(self, "sd", sd)


@dataclass(frozen=True, kw_only=True)
class AssuranceResult:
    """Assurance of one hypothesis.

    Attributes
    ----------
    hypothesis : str
        The hypothesis.
    value : float
        Assurance: probability of a significant favourable result, averaged
        over the design prior.
    mcse : float or None
        Monte Carlo standard error (None for closed form and quadrature).
    method : str
        How it was computed.
    prior : str
        The prior in words.
    effect : float
        The design's planned effect.
    se : float
        Standard error of the estimate at the planned sample size.
    df : float
        Degrees of freedom of the test (``inf``: normal).
    power_at_prior_mean : float
        Power (favourable tail) if the effect equals the prior mean (NaN if
        the prior has no mean).
    n_draws : int or None
        Prior draws averaged (Monte Carlo only).
    seed : object
        Seed of the prior draws (``method="simulation"`` only; a fixed default
        when none is given).

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 0,
    ...                      ("a0", "b1"): 0, ("a1", "b1"): -4}, sd=8.0), n_per_cell=100)
    >>> res = d.assurance(hypothesis="A:B", prior=tp.NormalPrior(mean=-4.0, sd=2.0))
    >>> round(res.value, 4), res.mcse, round(res.power_at_prior_mean, 4)
    (0.6308, None, 0.7033)
    """

    hypothesis: str
    value: float
    mcse: float | None
    method: str
    prior: str
    effect: float
    se: float
    df: float
    power_at_prior_mean: float
    n_draws: int | None = None
    seed: Any = None

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the result.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 0,
        ...                      ("a0", "b1"): 0, ("a1", "b1"): -4}, sd=8.0), n_per_cell=100)
        >>> res = d.assurance(hypothesis="A:B", prior=tp.NormalPrior(mean=-4.0, sd=2.0))
        >>> res.to_frame()[["hypothesis", "value", "se", "df"]].round(4)
          hypothesis   value   se     df
        0        A:B  0.6308  1.6  396.0
        """
        import pandas as pd  # deferred: pandas is heavy and only frames need it

        return pd.DataFrame([self.__dict__])

    def __repr__(self) -> str:
        mc = f" (MCSE {self.mcse:.4f}, {self.n_draws} prior draws)" if self.mcse is not None else ""
        return (
            f"Assurance of {self.hypothesis}: {self.value:.4f}{mc}\n"
            f"  prior: {self.prior}\n"
            f"  planned effect {self.effect:g}, se {self.se:.4g}, df {self.df:g}; "
            f"power at the prior mean {self.power_at_prior_mean:.4f}\n"
            f"  method: {self.method}"
        )

    __str__ = __repr__


def assurance(
    family: Any,
    *,
    hypothesis: str,
    prior: Any,
    method: str = "auto",
    n_sims: int = 100_000,
    seed: Any = None,
) -> AssuranceResult:
    """Assurance of a hypothesis of a design: its power averaged over a prior.

    Called by ``design.assurance(hypothesis=..., prior=...)``.

    Parameters
    ----------
    family : StatisticFamily
        The hypothesis's statistic family (``design.statistics(hypothesis)``;
        a design is accepted and asked for it).
    hypothesis : str
        A single-contrast hypothesis, e.g. ``"rTMS:MBI"``.
    prior : NormalPrior, scipy.stats frozen distribution or array_like
        Design prior on the hypothesis's effect (on its analysis scale), or
        draws from one.
    method : {"auto", "simulation"}, default "auto"
        ``"auto"``: closed form or quadrature for distributions, Monte Carlo
        for draws; ``"simulation"``: Monte Carlo over ``n_sims`` prior draws.
    n_sims : int, default 100000
        Prior draws for ``method="simulation"``.
    seed : int, SeedSequence or Generator, optional
        Seed of the prior draws (simulation only; default a fixed seed).

    Returns
    -------
    AssuranceResult

    Raises
    ------
    ValueError
        For an intersection-union hypothesis, a prior with sd <= 0, or an
        empty or non-finite sample.
    TypeError
        For a prior of another type.

    References
    ----------
    .. [1] O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial
       design. Pharm Stat 2005;4:187-201.
    .. [2] Spiegelhalter DJ, Freedman LS. A predictive approach to selecting
       the size of a clinical trial. Stat Med 1986;5:1-13.

    Examples
    --------
    >>> import scipy.stats
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.Continuous(means={("sham", "control"): 0.0, ("active", "control"): -3.0,
    ...         ("sham", "MBI"): -2.0, ("active", "MBI"): -8.0}, sd=8.0), n_per_cell=100)
    >>> res = d.assurance(hypothesis="rTMS:MBI", prior=scipy.stats.norm(-4, 2))
    >>> round(res.value, 3), round(res.power_at_prior_mean, 3)
    (0.631, 0.703)
    """
    if not isinstance(hypothesis, str):
        raise TypeError(f"hypothesis must be one hypothesis name; got hypothesis={hypothesis!r}")
    stat = as_family(family, hypothesis)[hypothesis]
    return statistic_assurance(stat, prior=prior, method=method, n_sims=n_sims, seed=seed)


def statistic_assurance(
    stat: TestStatistic,
    *,
    prior: Any,
    method: str = "auto",
    n_sims: int = 100_000,
    seed: Any = None,
) -> AssuranceResult:
    """Assurance of one canonical statistic (see :func:`assurance`).

    Parameters
    ----------
    stat : TestStatistic
        The test; its ``effect`` is replaced by values drawn from the prior.
    prior : NormalPrior, scipy.stats frozen distribution or array_like
        Design prior on the effect.
    method : {"auto", "simulation"}, default "auto"
        See :func:`assurance`.
    n_sims : int, default 100000
        Prior draws for ``method="simulation"``.
    seed : int, SeedSequence or Generator, optional
        Seed of the prior draws.

    Returns
    -------
    AssuranceResult

    Examples
    --------
    Normal prior N(2, 2^2) on a mean difference, 450 per arm, sd 8, one-sided
    0.025 z-test (O'Hagan et al. 2005 closed form):

    >>> import math
    >>> from trialplan.statistic import TestStatistic
    >>> s = TestStatistic(hypothesis="B vs A", estimand="mean difference", effect=2.0,
    ...                   se=8 * math.sqrt(2 / 450), df=math.inf, sided=1, alpha=0.025)
    >>> res = statistic_assurance(s, prior=NormalPrior(mean=2.0, sd=2.0))
    >>> round(res.value, 3), round(res.power_at_prior_mean, 3)
    (0.678, 0.963)
    """
    if isinstance(stat, IntersectionUnion):
        raise ValueError(
            f"hypothesis {stat.hypothesis!r} is an intersection-union test of "
            f"{len(stat.components)} comparisons; assurance needs one effect "
            "with one prior (use a single contrast, e.g. 'rTMS:MBI')"
        )
    if method not in ("auto", "simulation"):
        raise ValueError(f"method={method!r} is not available; choose 'auto' or 'simulation'")
    kind, spec, words = _prior(prior)
    power = _power_curve(stat)
    fav = stat.favourable
    crit = critical_value(stat.alpha / stat.sided, stat.df)
    note = "" if stat.scale == "mean difference" else "; se held at its planning value (approx.)"
    tail = "favourable tail" + (" of a two-sided test" if stat.sided == 2 else "")
    common = dict(
        hypothesis=stat.hypothesis, prior=words, effect=stat.effect, se=stat.se, df=stat.df
    )
    if kind == "sample":
        values = power(spec)
        return AssuranceResult(
            value=float(values.mean()),
            mcse=float(values.std(ddof=1) / math.sqrt(values.size)),
            method=f"Monte Carlo average of exact power over the prior sample ({tail}){note}",
            power_at_prior_mean=float(power(np.array([spec.mean()]))[0]),
            n_draws=int(values.size),
            **common,
        )
    mean = _prior_mean(kind, spec)
    at_mean = float(power(np.array([mean]))[0]) if math.isfinite(mean) else math.nan
    if method == "simulation":
        n_sims = check_int("n_sims", n_sims, minimum=2)
        seq, seed = normalize_seed(seed, default=_DEFAULT_SEED)
        rng = np.random.default_rng(seq)
        draws = (
            rng.normal(spec[0], spec[1], n_sims)
            if kind == "normal"
            else np.asarray(spec.rvs(size=n_sims, random_state=rng), dtype=float)
        )
        values = power(draws)
        return AssuranceResult(
            value=float(values.mean()),
            mcse=float(values.std(ddof=1) / math.sqrt(n_sims)),
            method=f"Monte Carlo over {n_sims} prior draws ({tail}){note}",
            power_at_prior_mean=at_mean,
            n_draws=n_sims,
            seed=seed,
            **common,
        )
    if kind == "normal":
        m, sd = spec
        if math.isinf(stat.df) and stat.covariate_df is None:
            value = special.ndtr((fav * m - crit * stat.se) / math.hypot(stat.se, sd))
            how = f"closed form, normal prior and normal statistic (O'Hagan et al. 2005; {tail})"
        else:
            # the weights sum to 1 only to rounding (1.0000000000000002 at mean=-1e300)
            value = min(1.0, float(_HERMITE_WEIGHTS @ power(m + sd * _HERMITE_NODES)))
            how = (
                f"Gauss-Hermite quadrature (96 nodes) of the exact "
                f"{'noncentral t' if not math.isinf(stat.df) else 'normal'} power "
                f"over the normal prior ({tail})"
            )
        return AssuranceResult(
            value=float(value), mcse=None, method=how + note, power_at_prior_mean=at_mean, **common
        )
    discrete = isinstance(getattr(spec, "dist", None), stats.rv_discrete)

    def power_of(theta: Any) -> Any:
        # scipy's expect passes scalars for continuous priors and arrays of support
        # points for discrete ones (a matmul shape error before)
        values = power(np.atleast_1d(np.asarray(theta, dtype=float)).ravel())
        return values.reshape(np.shape(theta)) if np.ndim(theta) else float(values[0])

    value = min(1.0, max(0.0, float(spec.expect(power_of))))  # quadrature rounding
    return AssuranceResult(
        value=float(value),
        mcse=None,
        method=(
            "sum of the exact power over the prior's support"
            if discrete
            else "adaptive quadrature of the exact power over the prior"
        )
        + f" (scipy expect; {tail}){note}",
        power_at_prior_mean=at_mean,
        **common,
    )


def _power_curve(stat: TestStatistic) -> Any:
    """Vectorized power in the favourable tail as a function of the true effect."""
    crit = critical_value(stat.alpha / stat.sided, stat.df)
    fav = stat.favourable
    se = stat.se
    if stat.covariate_df is not None:
        factors, weights = _imbalance_quadrature(float(stat.covariate_df))
    else:
        factors, weights = np.ones(1), np.ones(1)

    def power(theta: np.ndarray) -> np.ndarray:
        delta = fav * np.asarray(theta, dtype=float)[:, None] / se * factors[None, :]
        if math.isinf(stat.df):
            values = special.ndtr(delta - crit)
        else:
            values = _upper_tail(crit, stat.df, delta)  # NaN-free at huge delta
        return values @ weights

    return power


def _prior(prior: Any) -> tuple[str, Any, str]:
    """Classify a prior: ("normal", (mean, sd)), ("distribution", frozen) or ("sample", array)."""
    if isinstance(prior, NormalPrior):
        return "normal", (prior.mean, prior.sd), f"normal, mean {prior.mean:g}, sd {prior.sd:g}"
    if hasattr(prior, "dist") and hasattr(prior, "expect") and hasattr(prior, "rvs"):
        name = getattr(prior.dist, "name", type(prior.dist).__name__)
        args = ", ".join(
            [f"{a!r}" for a in prior.args] + [f"{k}={v!r}" for k, v in prior.kwds.items()]
        )
        words = f"scipy.stats.{name}({args})"
        if np.ndim(prior.mean()) != 0:
            raise ValueError(
                f"prior={words} describes {np.size(prior.mean())} effects; "
                "assurance needs one prior for one effect (freeze the "
                "distribution with scalar parameters)"
            )
        sd = float(prior.std())
        if name == "norm":
            mean = float(prior.mean())
            if not (math.isfinite(sd) and sd > 0) or not math.isfinite(mean):
                raise ValueError(
                    f"prior sd must be a finite number > 0; got prior={words} "
                    f"(sd={sd!r}); a point prior is plain power"
                )
            return "normal", (mean, sd), f"normal, mean {mean:g}, sd {sd:g}"
        if math.isnan(sd) or sd == 0 or not math.isfinite(float(prior.median())):
            raise ValueError(
                f"prior={words} is not a valid non-degenerate distribution "
                f"(sd={sd!r}); check its parameters (scale > 0)"
            )
        return "distribution", prior, words
    if isinstance(prior, int | float) or prior is None or isinstance(prior, str):
        raise TypeError(
            "prior must be a tp.assurance.NormalPrior, a frozen scipy.stats "
            "distribution (e.g. scipy.stats.norm(-4, 2)) or an array of draws; "
            f"got prior={prior!r}"
        )
    try:
        sample = np.asarray(prior, dtype=float).ravel()
    except (TypeError, ValueError):
        raise TypeError(
            "prior must be a NormalPrior, a frozen scipy.stats distribution or "
            f"an array of draws; got prior={prior!r}"
        ) from None
    if sample.size < 2 or not np.all(np.isfinite(sample)):
        raise ValueError(
            "a prior sample must hold at least 2 finite draws; got "
            f"{sample.size} draws"
            + ("" if np.all(np.isfinite(sample)) else " with non-finite values")
        )
    return (
        "sample",
        sample,
        (f"sample of {sample.size} draws (mean {sample.mean():.4g}, sd {sample.std(ddof=1):.4g})"),
    )


def _prior_mean(kind: str, spec: Any) -> float:
    if kind == "normal":
        return float(spec[0])
    return float(spec.mean())


# ------------------------------------------------------------ decision rules
@dataclass(frozen=True, kw_only=True)
class PosteriorRule:
    """Declare success when ``P(benefit > threshold | data) >= probability``.

    Normal-normal model: the estimate ``theta_hat ~ N(theta, se^2)`` and an
    analysis prior ``theta ~ N(m0, s0^2)`` (flat when ``prior`` is None) give
    the posterior ``N(m1, s1^2)`` with ``1/s1^2 = 1/s0^2 + 1/se^2`` and
    ``m1 = s1^2 (m0/s0^2 + theta_hat/se^2)``.  Benefit is ``f theta`` with
    ``f`` the favourable sign (``f = -1`` when lower is better), so for an
    interaction "synergy beyond the threshold" is ``f IC > threshold``.
    The rule is equivalent to ``f theta_hat >= k`` for a critical effect ``k``,
    so its frequentist operating characteristics are normal probabilities.

    Parameters
    ----------
    threshold : float, default 0.0
        Minimum benefit, in effect units (0: any synergy).
    probability : float, default 0.975
        Posterior probability required, in (0, 1).
    prior : NormalPrior, optional
        Analysis prior on ``theta`` (None: flat; then with threshold 0 the
        rule is the one-sided z test at ``1 - probability``).

    References
    ----------
    .. [1] Spiegelhalter DJ, Abrams KR, Myles JP. Bayesian Approaches to
       Clinical Trials and Health-Care Evaluation. Wiley, 2004.

    Examples
    --------
    Flat prior, threshold 0, probability 0.975: the one-sided 0.025 z test.

    >>> rule = PosteriorRule(threshold=0.0, probability=0.975)
    >>> round(rule.critical_effect(se=1.0, favourable=1), 3)
    1.96
    >>> rule.decide(estimate=-2.5, se=1.0, favourable=-1)
    True
    """

    threshold: float = 0.0
    probability: float = 0.975
    prior: NormalPrior | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", check_real("threshold", self.threshold))
        object.__setattr__(self, "probability", check_open_unit("probability", self.probability))
        if self.prior is not None and not isinstance(self.prior, NormalPrior):
            raise TypeError(
                "prior must be a NormalPrior (normal-normal model) or None (flat); "
                f"got prior={self.prior!r}"
            )

    def posterior(self, *, estimate: float, se: float) -> tuple[float, float]:
        """Posterior mean and sd of ``theta`` given the estimate and its se."""
        estimate = check_real("estimate", estimate)
        se = check_positive("se", se)
        if self.prior is None:
            return estimate, se
        # Weights (se/h)^2 and (sd/h)^2 with h = hypot(sd, se): the precision form
        # 1/sd^2 + 1/se^2 divided by zero once sd^2 underflowed (sd=1e-300).
        h = math.hypot(self.prior.sd, se)
        data_weight = (self.prior.sd / h) ** 2
        mean = (se / h) ** 2 * self.prior.mean + data_weight * estimate
        return mean, self.prior.sd * (se / h)

    def posterior_probability(self, *, estimate: float, se: float, favourable: int = -1) -> float:
        """``P(favourable * theta > threshold | data)``."""
        favourable = _check_favourable(favourable)
        mean, sd = self.posterior(estimate=estimate, se=se)
        return float(special.ndtr((favourable * mean - self.threshold) / sd))

    def decide(self, *, estimate: float, se: float, favourable: int = -1) -> bool:
        """True when the posterior probability reaches ``probability``."""
        return (
            self.posterior_probability(estimate=estimate, se=se, favourable=favourable)
            >= self.probability
        )

    def critical_effect(self, *, se: float, favourable: int = -1) -> float:
        """The ``k`` with success iff ``favourable * estimate >= k``."""
        favourable = _check_favourable(favourable)
        se = check_positive("se", se)
        z = float(stats.norm.ppf(self.probability))
        if self.prior is None:
            return self.threshold + z * se
        h = math.hypot(self.prior.sd, se)
        post_sd = self.prior.sd * (se / h)
        data_weight = (self.prior.sd / h) ** 2
        needed = self.threshold + z * post_sd - favourable * self.prior.mean * (se / h) ** 2
        if data_weight == 0.0:  # the prior is a point: no estimate moves the posterior
            return math.copysign(math.inf, needed)
        return needed / data_weight

    def operating_characteristics(
        self, family: Any, *, hypothesis: str, effects: Any = None, design_prior: Any = None
    ) -> pd.DataFrame:
        """Probability of declaring success, by true effect and over a design prior.

        Parameters
        ----------
        family : StatisticFamily
            Gives the estimate's se and the favourable direction
            (``design.statistics(hypothesis)``; a design is accepted and asked
            for it).
        hypothesis : str
            A single-contrast hypothesis.
        effects : sequence of float, optional
            True effects to evaluate; by default no effect (0), the threshold
            boundary (when the threshold is not 0) and the design's planned effect.
        design_prior : NormalPrior or scipy.stats.norm, optional
            Adds a row with the prior-averaged probability of success
            (Bayesian assurance; closed form).

        Returns
        -------
        pandas.DataFrame
            Columns ``scenario``, ``effect``, ``probability_of_success``,
            ``critical_effect``, ``method``.  At ``effect = 0`` the
            probability is the rule's type I error.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        ...     outcome=tp.Continuous(means={("sham", "control"): 0.0,
        ...         ("active", "control"): -3.0, ("sham", "MBI"): -2.0,
        ...         ("active", "MBI"): -8.0}, sd=8.0), n_per_cell=100)
        >>> oc = PosteriorRule(probability=0.975).operating_characteristics(
        ...     d, hypothesis="rTMS:MBI")
        >>> oc[["scenario", "effect"]].values.tolist()[0]
        ['no effect', 0.0]
        >>> round(float(oc["probability_of_success"].iloc[0]), 4)
        0.025
        """
        import pandas as pd  # deferred: pandas is heavy and only frames need it

        stat = as_family(family, hypothesis)[hypothesis]
        if isinstance(stat, IntersectionUnion):
            raise ValueError(
                f"hypothesis {hypothesis!r} is an intersection-union test; the "
                "normal-normal rule needs a single effect"
            )
        fav, se = stat.favourable, stat.se
        k = self.critical_effect(se=se, favourable=fav)
        if effects is None:
            rows = [("no effect", 0.0)]
            if self.threshold != 0:
                rows.append(("threshold boundary", fav * self.threshold))
            rows.append(("planned effect", stat.effect))
        else:
            rows = [("effect", check_real("effects[i]", e)) for e in np.atleast_1d(effects)]
            if not rows:
                raise ValueError(
                    "effects must list at least one true effect (or be None for "
                    f"the default scenarios); got effects={effects!r}"
                )
        how = "normal-normal model, se known (large-sample)"
        out = [
            {
                "scenario": name,
                "effect": float(theta),
                "probability_of_success": float(special.ndtr((fav * theta - k) / se)),
                "critical_effect": fav * k,
                "method": how,
            }
            for name, theta in rows
        ]
        if design_prior is not None:
            kind, spec, words = _prior(design_prior)
            if kind != "normal":
                raise ValueError(f"design_prior must be normal here (closed form); got {words}")
            m, sd = spec
            out.append(
                {
                    "scenario": f"assurance ({words})",
                    "effect": float("nan"),
                    "probability_of_success": float(
                        special.ndtr((fav * m - k) / math.hypot(se, sd))
                    ),
                    "critical_effect": fav * k,
                    "method": how,
                }
            )
        return pd.DataFrame(out)


def _check_favourable(favourable: Any) -> int:
    """Return the favourable direction, +1 (higher is better) or -1 (lower is better)."""
    if isinstance(favourable, bool) or favourable not in (1, -1):
        raise ValueError(
            "favourable must be +1 (higher is better) or -1 (lower is better); "
            f"got favourable={favourable!r}"
        )
    return int(favourable)
