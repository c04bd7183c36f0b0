"""Sample-size re-estimation at the interims of a combination-test design.

The rule (:class:`SampleSizeReestimation`) is rpact's: at each interim the
next stage gets the size at which the conditional power (rejecting at that
stage, see :mod:`trialplan.adaptive.conditional`) reaches a target, at the
planning effect with the planning SD, or at the effect observed so far,
clamped to ``[min_factor, max_factor]`` times the planned stage size.  The
observed effect is the stages' test statistics pooled (``sum sqrt(f_k) T_k /
sum f_k``), so it is standardized by the standard error each stage's test
uses: with the default t test of a continuous outcome, by the SD estimated
from that stage's data, not by the planning SD (with ``statistic="z"``, by
the planning SD).  rpact's ``getSimulationMeans`` does the same: its effect
estimate is built from the stage-wise test statistics (t statistics when
``normalApproximation = FALSE``), multiplied by ``stDev`` and divided by
``stDevH1``, which defaults to ``stDev``.  An
observed effect at or below zero takes the maximum (the conditional power
cannot be reached), unless a futility bound stops the trial first; a target
already reached takes the minimum.  Options: Mehta & Pocock's (2011)
promising zone (change the size only where the conditional power at the
planned size lies in a stated interval) and blinded re-estimation of the
outcome SD (Kieser & Friede 2003), which rescales the planned later stages
by the ratio of the blinded (lumped) variance to the planning one and uses
no unblinded data.

The design is analysed by the combination test of ``sequential`` (inverse
normal with the planned CHW weights on a group-sequential design's bounds,
or Fisher's product test), so the type I error stays at alpha whatever the
rule does (Lehmacher & Wassmer 1999; Cui, Hung & Wang 1999).  The
simulation (:func:`simulate_reestimation`) draws each stage's statistics
with a size per trial (:mod:`trialplan.adaptive.sampling`), in fixed-length
blocks seeded ``SeedSequence(seed)``-child by child, so a seed gives the
same result whatever the executor.

References
----------
.. [1] Cui L, Hung HMJ, Wang SJ. Modification of sample size in group
   sequential clinical trials. Biometrics 1999;55:853-857.
.. [2] Lehmacher W, Wassmer G. Adaptive sample size calculations in group
   sequential trials. Biometrics 1999;55:1286-1290.
.. [3] Mehta CR, Pocock SJ. Adaptive increase in sample size when interim
   results are promising: a practical guide with examples. Stat Med
   2011;30:3267-3284.
.. [4] Kieser M, Friede T. Simple procedures for blinded sample size
   adjustment that do not affect the type I error rate. Stat Med
   2003;22:3571-3581.
.. [5] Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive
   Designs in Clinical Trials. Springer 2016, chapter 7.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from trialplan._seeds import normalize_seed
from trialplan._validation import check_choice, check_int, check_open_unit, did_you_mean
from trialplan.adaptive.combination import FisherCombination, StageTest, stage_test
from trialplan.adaptive.conditional import information_for_power
from trialplan.adaptive.results import AdaptivePowerResult
from trialplan.results import PowerRow
from trialplan.statistic import IntersectionUnion, TestStatistic

__all__ = ["SampleSizeReestimation", "adaptive_power", "simulate_reestimation"]

_SD_OPTIONS = ("planned", "blinded", "blinded_adjusted")
#: The stage-wise tests of :func:`trialplan.adaptive.sampling.sampler_for`.
_STATISTICS = ("t", "z", "wald", "pooled", "exponential")
#: How an observed effect is standardized, by stage-wise test.  The observed drift
#: is the stages' test statistics pooled, sum sqrt(f_k) T_k / sum f_k, so each
#: stage's effect is in units of the standard error that stage's test uses (as
#: rpact's getSimulationMeans: its effect estimate is built from the stage-wise
#: test statistics and then divided by stDevH1 = stDev after multiplying by stDev).
_OBSERVED_SCALE = {
    None: (
        "standardized by the standard error each stage's test uses (for a continuous "
        "outcome: the SD estimated from that stage's data under the default t test, the "
        "planning SD under statistic='z')"
    ),
    "t": (
        "standardized by the SD estimated from each stage's data (the stages' t statistics "
        "pooled with weights sqrt(n_k), as rpact does with normalApproximation = FALSE)"
    ),
    "z": "standardized by the planning SD (z tests with the SD known)",
    "wald": (
        "standardized by the standard error estimated from each stage's observed rates "
        "(the stages' Wald z statistics pooled)"
    ),
    "pooled": (
        "standardized by the pooled-variance standard error of each stage's observed rates "
        "(the stages' z statistics pooled)"
    ),
    "exponential": (
        "standardized by the standard error of each stage's observed events (the stages' "
        "z statistics pooled)"
    ),
}
#: The standard error a stated or planning effect is divided by, by stage-wise test.
_PLANNED_SCALE = {
    None: "with the planning SD (or, for rates and hazards, the planned standard error)",
    "t": "with the planning SD",
    "z": "with the planning SD",
    "wald": "with the standard error of the planning rates",
    "pooled": "with the standard error of the planning rates",
    "exponential": "with the standard error of the planned events",
}
#: Trials per block for cell outcomes; time to event is bounded by memory instead.
_BLOCK = 4096
#: Working memory of one time-to-event block (bytes)
_BLOCK_BYTES = 8 * 2**20


@dataclass(frozen=True, kw_only=True)
class SampleSizeReestimation:
    """Re-estimate the next stage's size at each interim (rpact's rule by default).

    Parameters
    ----------
    conditional_power : float, default 0.9
        Target conditional power of rejecting at the next stage.
    effect : "observed", "planned" or float, default "observed"
        Effect at which the conditional power is computed: the estimate from
        all stages so far (rpact's default; standardized by the SD each
        stage's test estimates, i.e. by the estimated SD under the default t
        test and by the planning SD under ``statistic="z"``), the design's
        planning effect, or a value on the hypothesis' analysis scale (e.g.
        ``-3.0`` for a 3-point reduction when lower is better), both with the
        planning SD.
    min_factor, max_factor : float, default 1.0 and 2.0
        The next stage has between ``min_factor`` and ``max_factor`` times
        its planned size (``0 < min_factor <= max_factor``).
    promising_zone : (float, float), optional
        Mehta & Pocock (2011): change the size only when the conditional power
        at the planned size (same effect) lies in ``[low, high)``; elsewhere
        keep the planned size.  ``None`` (default): always apply the rule.
    sd : {"planned", "blinded", "blinded_adjusted"}, default "planned"
        ``"planned"``: the planning SD.  ``"blinded"``: re-estimate the SD of
        a Continuous outcome from all data so far pooled over the cells
        (the one-sample variance; no unblinding) and rescale the planned
        later stages by ``(sd_hat / sd)^2`` (and by ``(planned / effect)^2``
        for a stated effect), clamped (Kieser & Friede 2003; conditional
        power is not used).  ``"blinded_adjusted"``: the same with the
        between-cell variance of the planning means subtracted.
    round_up : bool, default True
        Round each stage up to whole participants per cell (events for time
        to event).  rpact keeps sizes real-valued; ``False`` does the same
        (continuous outcomes), for comparisons with rpact.
    hypothesis : str, optional
        The hypothesis whose test drives the rule.  By default the one
        requested, the design's only default hypothesis, or its highest-order
        interaction.

    Raises
    ------
    ValueError, TypeError
        For a target outside (0, 1), factors not ``0 < min <= max``, an
        effect that is neither "observed", "planned" nor a number, a
        promising zone that is not an increasing pair in [0, 1], or an
        unknown ``sd``.

    Examples
    --------
    >>> import trialplan as tp
    >>> ssr = tp.SampleSizeReestimation(conditional_power=0.9, effect="observed",
    ...                                 min_factor=1.0, max_factor=2.0)
    >>> print(ssr.describe("t"))  # doctest: +NORMALIZE_WHITESPACE
    At each interim the next stage's size is re-estimated to give 90% conditional
    power at the effect observed so far, standardized by the SD estimated from each
    stage's data (the stages' t statistics pooled with weights sqrt(n_k), as rpact
    does with normalApproximation = FALSE), between 1 and 2 times its planned size
    (rounded up to whole participants per cell); an observed effect at or below zero
    takes the maximum unless a futility bound stops the trial.
    """

    conditional_power: float = 0.9
    effect: Any = "observed"
    min_factor: float = 1.0
    max_factor: float = 2.0
    promising_zone: tuple[float, float] | None = None
    sd: str = "planned"
    round_up: bool = True
    hypothesis: str | None = None

    def __post_init__(self) -> None:
        check_open_unit("conditional_power", self.conditional_power)
        object.__setattr__(self, "conditional_power", float(self.conditional_power))
        effect = self.effect
        if isinstance(effect, str):
            if effect not in ("observed", "planned"):
                raise ValueError(
                    "effect must be 'observed', 'planned' or a number on the hypothesis' "
                    f"analysis scale; got effect={effect!r}"
                    + did_you_mean(effect, ("observed", "planned"))
                )
        elif isinstance(effect, bool) or not isinstance(effect, numbers.Real):
            raise TypeError(
                f"effect must be 'observed', 'planned' or a number; got effect={effect!r}"
            )
        elif not math.isfinite(effect) or effect == 0:
            raise ValueError(f"a stated effect must be finite and nonzero; got effect={effect!r}")
        else:
            object.__setattr__(self, "effect", float(effect))
        for name in ("min_factor", "max_factor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name} must be a number; got {name}={value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0; got {name}={value!r}")
            object.__setattr__(self, name, float(value))
        if self.min_factor > self.max_factor:
            raise ValueError(
                f"min_factor must not exceed max_factor; got min_factor={self.min_factor:g}, "
                f"max_factor={self.max_factor:g}"
            )
        zone = self.promising_zone
        if zone is not None:
            try:
                low, high = (float(v) for v in zone)
            except (TypeError, ValueError):
                raise TypeError(
                    "promising_zone must be a pair (low, high) of conditional powers or None; "
                    f"got promising_zone={zone!r}"
                ) from None
            if not 0.0 <= low < high <= 1.0:
                raise ValueError(
                    f"promising_zone must satisfy 0 <= low < high <= 1; got promising_zone={zone!r}"
                )
            object.__setattr__(self, "promising_zone", (low, high))
        if self.sd not in _SD_OPTIONS:
            raise ValueError(
                f"sd must be one of {_SD_OPTIONS}; got sd={self.sd!r}"
                + did_you_mean(str(self.sd), _SD_OPTIONS)
            )
        if self.sd != "planned" and self.effect == "observed":
            raise ValueError(
                f"sd={self.sd!r} re-estimates the SD without unblinding, so it cannot use the "
                "observed effect; give effect='planned' or a value"
            )
        if self.sd != "planned" and self.promising_zone is not None:
            raise ValueError(
                "promising_zone needs the unblinded conditional power; it cannot be combined "
                f"with sd={self.sd!r}"
            )
        if not isinstance(self.round_up, bool | np.bool_):
            raise TypeError(f"round_up must be True or False; got round_up={self.round_up!r}")
        object.__setattr__(self, "round_up", bool(self.round_up))
        if self.hypothesis is not None and not isinstance(self.hypothesis, str):
            raise TypeError(
                f"hypothesis must be a name or None; got hypothesis={self.hypothesis!r}"
            )

    # ------------------------------------------------------------------ rule
    def stage_fraction(
        self,
        *,
        critical_value: Any,
        drift: Any,
        planned: float,
        sd_ratio: Any = None,
        planned_drift: float | None = None,
    ) -> np.ndarray:
        """Size of the next stage, in fractions of the planned total.

        Parameters
        ----------
        critical_value : array_like
            Conditional critical value of the next stage (z scale), per trial.
        drift : array_like
            Assumed effect over the standard error at the planned total
            (``theta / se``), per trial.
        planned : float
            The next stage's planned size, ``t_{k+1} - t_k``.
        sd_ratio : array_like, optional
            Blinded SD over the planning SD (``sd="blinded..."``).
        planned_drift : float, optional
            The design's planning drift (``sd="blinded..."`` with a stated
            effect rescales by ``(planned_drift / drift)^2``).

        Returns
        -------
        numpy.ndarray

        Examples
        --------
        >>> import trialplan as tp
        >>> rule = tp.SampleSizeReestimation(conditional_power=0.9, min_factor=1, max_factor=2)
        >>> # ((1.784 + 1.2816) / 4)^2 = 0.5874; a negative drift takes the maximum 2 x 0.5;
        >>> # a drift that needs less than planned takes the minimum 1 x 0.5
        >>> rule.stage_fraction(critical_value=[1.784, 1.784, 1.784], drift=[4.0, -1.0, 9.0],
        ...                     planned=0.5).round(4).tolist()
        [0.5874, 1.0, 0.5]
        """
        c = np.asarray(critical_value, dtype=float)
        delta = np.broadcast_to(np.asarray(drift, dtype=float), c.shape)
        lo, hi = self.min_factor * planned, self.max_factor * planned
        if self.sd != "planned":
            ratio = np.broadcast_to(np.asarray(sd_ratio, dtype=float), c.shape)
            scale = 1.0 if planned_drift is None else (planned_drift / delta) ** 2
            return np.clip(planned * ratio**2 * scale, lo, hi)
        wanted = information_for_power(c, delta, self.conditional_power)
        size = np.clip(wanted, lo, hi)
        if self.promising_zone is not None:
            low, high = self.promising_zone
            cp = special.ndtr(delta * math.sqrt(planned) - c)
            inside = (cp >= low) & (cp < high)
            size = np.where(inside, size, np.clip(planned, lo, hi))
        return size

    def describe(self, statistic: str | None = None) -> str:
        """The rule in words, for a protocol.

        Parameters
        ----------
        statistic : str, optional
            The stage-wise test the simulation used (``"t"``, ``"z"``,
            ``"wald"``, ``"pooled"`` or ``"exponential"``; see
            :func:`trialplan.adaptive.sampling.sampler_for`).  It decides how
            an observed effect is standardized, which the text then states;
            ``None`` names both continuous cases.

        Returns
        -------
        str
            One or two sentences.

        Raises
        ------
        ValueError
            For an unknown ``statistic``.

        Examples
        --------
        >>> import trialplan as tp
        >>> rule = tp.SampleSizeReestimation(conditional_power=0.8, effect="planned",
        ...                                  promising_zone=(0.36, 0.8), max_factor=1.5)
        >>> "promising zone" in rule.describe()
        True
        >>> "estimated from each stage" in tp.SampleSizeReestimation().describe("t")
        True
        """
        if statistic is not None:
            check_choice("statistic", statistic, _STATISTICS)
        pct = f"{100 * self.conditional_power:.1f}".rstrip("0").rstrip(".")
        bounds = f"between {self.min_factor:g} and {self.max_factor:g} times its planned size"
        rounding = (
            "rounded up to whole participants per cell"
            if self.round_up
            else "kept real-valued, as rpact does"
        )
        if self.sd != "planned":
            adjusted = (
                " minus the spread of the planning means" if self.sd.endswith("adjusted") else ""
            )
            what = (
                "the planning effect"
                if self.effect == "planned"
                else f"an assumed effect of {self.effect:g}"
            )
            return (
                "At each interim the outcome SD is re-estimated without unblinding, as the "
                f"one-sample SD of all data so far{adjusted} (Kieser & Friede 2003), and the "
                f"next stage's size is its planned size rescaled by (re-estimated / planning "
                f"SD)^2 for {what}, {bounds} ({rounding})."
            )
        if self.effect == "observed":
            at = f"the effect observed so far, {_OBSERVED_SCALE[statistic]}"
        elif self.effect == "planned":
            at = f"the planning effect, {_PLANNED_SCALE[statistic]}"
        else:
            at = f"an assumed effect of {self.effect:g}, {_PLANNED_SCALE[statistic]}"
        text = (
            f"At each interim the next stage's size is re-estimated to give {pct}% "
            f"conditional power at {at}, {bounds} ({rounding})"
        )
        if self.promising_zone is not None:
            low, high = self.promising_zone
            text += (
                f"; the size changes only in the promising zone, where the conditional power at "
                f"the planned size is at least {100 * low:.1f}% and below {100 * high:.1f}% "
                "(Mehta & Pocock 2011), and stays as planned elsewhere"
            )
        elif self.effect == "observed":
            text += (
                "; an observed effect at or below zero takes the maximum unless a futility "
                "bound stops the trial"
            )
        return text + "."


# --------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """Everything a block needs (picklable)."""

    sampler: Any
    null_sampler: Any
    test: StageTest
    rule: SampleSizeReestimation
    favourable: np.ndarray  # (m,)
    planned_drift: np.ndarray  # (m,)
    rule_drift: np.ndarray | None  # (m,) stated/planned effect drift, None when observed
    planned: np.ndarray  # (K,) planned stage fractions
    sd_plan: float
    dropout: np.ndarray | None  # per cell (cell samplers)
    entropy: Any
    spawn_key: tuple[int, ...]
    pool_size: int
    block: int
    n_sims: int

    def seed(self, branch: int, k: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(
            self.entropy, spawn_key=self.spawn_key + (branch, k), pool_size=self.pool_size
        )

    def size(self, k: int) -> int:
        return min(self.block, self.n_sims - k * self.block)


@dataclass
class _Tally:
    """Counts summed over blocks."""

    k_max: int
    reject: np.ndarray = field(init=False)
    futility: np.ndarray = field(init=False)
    reached: np.ndarray = field(init=False)
    stage_units: np.ndarray = field(init=False)
    cp_sum: np.ndarray = field(init=False)
    n_sum: float = 0.0
    n_sq: float = 0.0
    n_rand: float = 0.0
    units_sum: float = 0.0
    units_sq: float = 0.0
    corrected: int = 0
    values: dict[float, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = self.k_max
        self.reject, self.futility, self.reached = np.zeros(k), np.zeros(k), np.zeros(k)
        self.stage_units, self.cp_sum = np.zeros(k), np.zeros(k)

    def add(self, other: _Tally) -> None:
        for name in ("reject", "futility", "reached", "stage_units", "cp_sum"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.n_sum += other.n_sum
        self.n_sq += other.n_sq
        self.n_rand += other.n_rand
        self.units_sum += other.units_sum
        self.units_sq += other.units_sq
        self.corrected += other.corrected
        for key, count in other.values.items():
            self.values[key] = self.values.get(key, 0) + count


def _sub(state: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {key: value[idx] for key, value in state.items()}


def _put(state: dict[str, np.ndarray], idx: np.ndarray, sub: dict[str, np.ndarray]) -> None:
    for key, value in sub.items():
        state[key][idx] = value


def _run_block(plan: _Plan, branch: int, k_block: int) -> _Tally:
    """Simulate one block of trials (branch 0: planning values, 1: null)."""
    size = plan.size(k_block)
    rng = np.random.default_rng(plan.seed(branch, k_block))
    sampler = plan.null_sampler if branch else plan.sampler
    test, rule = plan.test, plan.rule
    m = plan.favourable.size
    k_max = test.n_looks
    tally = _Tally(k_max)
    state = sampler.begin(rng, size)
    tests = [test.start(size) for _ in range(m)]
    active = np.arange(size)
    fraction = np.full(size, plan.planned[0])
    n_total = np.zeros(size)
    n_rand = np.zeros(size)
    units = np.zeros(size)
    evidence = np.zeros((size, m))  # sum_i sqrt(f_i) z_i
    info = np.zeros(size)  # sum_i f_i
    for k in range(k_max):
        tally.reached[k] += active.size
        draw = sampler.stage(state, active, k, fraction[active])
        tally.corrected += draw.corrected
        tally.stage_units[k] += draw.units.sum()
        z = draw.z * plan.favourable
        n_total[active] += draw.added
        units[active] += draw.units
        if plan.dropout is not None:
            cells = draw.cells if draw.cells is not None else sampler.sizes(fraction[active])
            n_rand[active] += (cells / (1.0 - plan.dropout)).sum(axis=1)
        else:
            n_rand[active] += draw.added
        evidence[active] += np.sqrt(draw.fraction)[:, None] * draw.evidence * plan.favourable
        info[active] += draw.fraction
        reject = np.ones(active.size, dtype=bool)
        futile = np.zeros(active.size, dtype=bool)
        subs = []
        for c in range(m):
            sub = _sub(tests[c], active)
            rej, fut = test.update(sub, k, z[:, c], draw.fraction)
            subs.append(sub)
            _put(tests[c], active, sub)
            reject &= rej
            futile |= fut
        futile &= ~reject
        if k == k_max - 1:
            stopped = np.ones(active.size, dtype=bool)
        else:
            stopped = reject | futile
        tally.reject[k] += reject.sum()
        tally.futility[k] += futile.sum()
        done = active[stopped]
        final = n_total[done]
        tally.n_sum += final.sum()
        tally.n_sq += (final**2).sum()
        tally.n_rand += n_rand[done].sum()
        tally.units_sum += units[done].sum()
        tally.units_sq += (units[done] ** 2).sum()
        keys, counts = np.unique(np.round(final, 1), return_counts=True)
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            tally.values[key] = tally.values.get(key, 0) + count
        if k == k_max - 1:
            break
        go = ~stopped
        active = active[go]
        if active.size == 0:
            break
        crit = np.stack(
            [test.next_critical_value(_sub(subs[c], np.flatnonzero(go)), k) for c in range(m)],
            axis=1,
        )
        planned_next = float(plan.planned[k + 1])
        if rule.sd != "planned":
            ratio = np.sqrt(sampler.blinded_variance(state, active, rule.sd.endswith("adjusted")))
            ratio = ratio / plan.sd_plan
            drift = plan.rule_drift
            sizes = np.stack(
                [
                    rule.stage_fraction(
                        critical_value=crit[:, c],
                        drift=drift[c],
                        planned=planned_next,
                        sd_ratio=ratio,
                        planned_drift=plan.planned_drift[c],
                    )
                    for c in range(m)
                ],
                axis=1,
            )
            used_drift = np.broadcast_to(drift, crit.shape) / ratio[:, None]
        else:
            if plan.rule_drift is None:
                used_drift = evidence[active] / info[active][:, None]
            else:
                used_drift = np.broadcast_to(plan.rule_drift, crit.shape)
            sizes = np.stack(
                [
                    rule.stage_fraction(
                        critical_value=crit[:, c], drift=used_drift[:, c], planned=planned_next
                    )
                    for c in range(m)
                ],
                axis=1,
            )
        nxt = sizes.max(axis=1)
        fraction[active] = nxt
        cp = special.ndtr(used_drift * np.sqrt(nxt)[:, None] - crit).min(axis=1)
        tally.cp_sum[k + 1] += cp.sum()
    return tally


def _run_range(plan: _Plan, branch: int, first: int, stop: int) -> _Tally:
    tally = _Tally(plan.test.n_looks)
    for k in range(first, stop):
        tally.add(_run_block(plan, branch, k))
    return tally


def _statistic_of(sampler: Any) -> str:
    """The stage-wise test a sampler draws (time to event: the exponential z)."""
    return str(getattr(sampler, "statistic", "exponential"))


def _components(statistic: Any) -> tuple[TestStatistic, ...]:
    if isinstance(statistic, IntersectionUnion):
        return tuple(statistic.components)
    if isinstance(statistic, TestStatistic):
        return (statistic,)
    raise TypeError(
        "statistic must be a TestStatistic or IntersectionUnion (design.statistics(...)); got "
        f"statistic={statistic!r}"
    )


def simulate_reestimation(
    statistic: TestStatistic | IntersectionUnion,
    *,
    sampler: Any,
    null_sampler: Any,
    sequential: Any,
    rule: SampleSizeReestimation,
    n_sims: int = 10_000,
    seed: Any = None,
    executor: Executor | None = None,
    analysis: str = "combination",
    sd: float = math.nan,
    dropout: Any = None,
    summary: str = "",
) -> AdaptivePowerResult:
    """Simulate an adaptive design with sample-size re-estimation, under H1 and H0.

    Parameters
    ----------
    statistic : TestStatistic or IntersectionUnion
        The driving hypothesis at the planned total (``design.statistics(name)[0]``):
        its effect and standard error set the planning drift, its favourable
        direction the one-sided test.  An intersection-union test rejects when
        all its comparisons' combination tests reject at the same stage; the
        rule then sizes for the comparison that needs most.
    sampler, null_sampler
        Stage samplers (:func:`trialplan.adaptive.sampling.sampler_for`) at the
        planning values and under H0.
    sequential : GroupSequential or FisherCombination
        The combination test and its bounds (one-sided).
    rule : SampleSizeReestimation
        The re-estimation rule.
    n_sims : int, default 10000
        Simulated trials per branch (planning values, and H0).
    seed : int, SeedSequence, Generator or None
        Reproduces the run exactly, whatever ``executor``.
    executor : concurrent.futures.Executor, optional
        Runs groups of blocks in parallel.
    analysis : {"combination", "pooled"}, default "combination"
        ``"pooled"`` replaces the combination test by the naive group-sequential
        test of the cumulative data (it inflates the type I error after
        re-estimation; shown in the docs and tests).
    sd : float
        The planning SD (needed by ``rule.sd="blinded..."``).
    dropout : array_like, optional
        Per-cell dropout proportions (for the randomized totals).
    summary : str
        First line of the result's printout.

    Returns
    -------
    AdaptivePowerResult

    Raises
    ------
    ValueError, TypeError
        For bad parameters, a stage too small to analyse, or a planning effect
        in the unfavourable direction when the rule needs it.

    Examples
    --------
    >>> import numpy as np, trialplan as tp
    >>> from trialplan.adaptive.sampling import sampler_for
    >>> d = tp.Parallel(arms=("control", "treatment"), n_per_arm=60, alpha=0.025, sided=1,
    ...                 outcome=tp.Continuous(means={"control": 0.0, "treatment": 4.0}, sd=8.0))
    >>> c = d.hypothesis("treatment vs control").contrasts
    >>> res = simulate_reestimation(
    ...     d.statistics("treatment vs control")[0],
    ...     sampler=sampler_for(d, c, round_up=True),
    ...     null_sampler=sampler_for(d, c, round_up=True, null=True),
    ...     sequential=tp.GroupSequential(info_fractions=(0.5, 1.0)),
    ...     rule=tp.SampleSizeReestimation(), n_sims=2000, seed=3)
    >>> abs(res.type_i_error["treatment vs control"] - 0.025) < 4 * 0.0035
    True
    """
    comps = _components(statistic)
    if not isinstance(rule, SampleSizeReestimation):
        raise TypeError(f"rule must be a tp.SampleSizeReestimation(...); got adaptive={rule!r}")
    test = stage_test(sequential, analysis=analysis)
    n_sims = check_int("n_sims", n_sims)
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            f"executor must be a concurrent.futures.Executor or None; got executor={executor!r}"
        )
    if isinstance(statistic, IntersectionUnion) and not isinstance(rule.effect, str):
        raise ValueError(
            f"hypothesis {statistic.hypothesis!r} is an intersection-union test of "
            f"{len(comps)} comparisons; a single stated effect is ambiguous, use "
            "effect='observed' or 'planned'"
        )
    fav = np.array([float(s.favourable) for s in comps])
    planned_drift = np.array([s.favourable * s.effect / s.se for s in comps])
    if rule.effect == "observed":
        rule_drift = None
    elif rule.effect == "planned":
        rule_drift = planned_drift
    else:
        rule_drift = np.array([s.favourable * rule.effect / s.se for s in comps])
    needs_positive = rule.effect != "observed" or rule.sd != "planned"
    if needs_positive and np.any(rule_drift <= 0):  # type: ignore[operator]
        raise ValueError(
            f"the rule's effect ({rule.effect!r}) is zero or in the unfavourable direction for "
            f"{statistic.hypothesis!r}; conditional power cannot be reached there"
        )
    if rule.sd != "planned" and np.any(planned_drift <= 0):
        raise ValueError(
            f"sd={rule.sd!r} rescales the planned size; the planning effect of "
            f"{statistic.hypothesis!r} is zero or unfavourable"
        )
    if rule.sd != "planned" and not (math.isfinite(sd) and sd > 0):
        raise ValueError(f"sd={rule.sd!r} needs the planning SD; got sd={sd!r}")
    t = test.info_fractions
    planned = np.diff(t, prepend=0.0)
    _check_stage_sizes(sampler, planned, rule)
    seed_seq, record = normalize_seed(seed)
    if sampler.kind == "events":
        per_trial = 8 * 8 * sampler.n_total
        block = max(1, min(2048, _BLOCK_BYTES // per_trial))
    else:
        block = _BLOCK
    plan = _Plan(
        sampler=sampler,
        null_sampler=null_sampler,
        test=test,
        rule=rule,
        favourable=fav,
        planned_drift=planned_drift,
        rule_drift=rule_drift,
        planned=planned,
        sd_plan=float(sd),
        dropout=None if dropout is None or sampler.kind == "events" else np.asarray(dropout),
        entropy=seed_seq.entropy,
        spawn_key=tuple(seed_seq.spawn_key),
        pool_size=seed_seq.pool_size,
        block=block,
        n_sims=n_sims,
    )
    n_blocks = -(-n_sims // block)
    tallies = [_Tally(test.n_looks), _Tally(test.n_looks)]
    per_task = max(1, -(-n_blocks // 32)) if executor is not None else n_blocks
    tasks = [
        (branch, first, min(first + per_task, n_blocks))
        for branch in (0, 1)
        for first in range(0, n_blocks, per_task)
    ]
    if executor is None:
        for branch, first, stop in tasks:
            tallies[branch].add(_run_range(plan, branch, first, stop))
    else:
        futures = {executor.submit(_run_range, plan, b, f, s): b for b, f, s in tasks}
        for future in as_completed(futures):
            tallies[futures[future]].add(future.result())
    return _result(statistic, plan, tallies, n_sims, record, summary, sequential, analysis)


def _check_stage_sizes(sampler: Any, planned: np.ndarray, rule: SampleSizeReestimation) -> None:
    """Every stage the rule allows must leave something to analyse."""
    smallest = np.concatenate([planned[:1], rule.min_factor * planned[1:]])
    sizes = sampler.cumulative_sizes(smallest)
    total = sizes.sum(axis=-1) if sizes.ndim > 1 else sizes
    if np.any(total < sampler.min_units):
        k = int(np.argmax(total < sampler.min_units))
        raise ValueError(
            f"stage {k + 1} would have only {float(np.ravel(total)[k]):g} "
            f"{sampler.unit_name} (planned fraction {smallest[k]:.3g} of "
            f"{sampler.planned_total:g}); allowed: at least {sampler.min_units} to analyse "
            "the stage on its own (raise the sample size, min_factor or the first look)"
        )


def _result(
    statistic: Any,
    plan: _Plan,
    tallies: list[_Tally],
    n_sims: int,
    record: Any,
    summary: str,
    sequential: Any,
    analysis: str,
) -> AdaptivePowerResult:
    alt, null = tallies
    power = float(alt.reject.sum() / n_sims)
    size = float(null.reject.sum() / n_sims)
    name = statistic.hypothesis
    ref = statistic.weakest if isinstance(statistic, IntersectionUnion) else statistic
    test_words = {
        "inverse_normal": "inverse normal combination test (CHW weights)",
        "pooled": "NAIVE pooled group-sequential test (not valid after re-estimation)",
        "fisher": "Fisher's weighted product test",
    }[plan.test.kind]
    method = (
        f"simulation of an adaptive design: {test_words}, stage-wise {plan.sampler.unit_name} "
        "re-estimated per trial; "
        + (
            "exact stage-wise sufficient statistics"
            if plan.sampler.kind == "cells"
            else "patient event times, exponential-model Wald z increments"
        )
    )
    row = PowerRow(
        hypothesis=name,
        estimand=statistic.estimand,
        effect=ref.effect,
        se=ref.se,
        df=ref.df,
        critical_value=float(_final_bound(sequential)),
        power=power,
        method=method,
        scale=ref.scale,
    )
    mean_n = alt.n_sum / n_sims
    var_n = max(alt.n_sq / n_sims - mean_n**2, 0.0)
    keys = sorted(set(alt.values) | set(null.values))
    n_dist = pd.DataFrame(
        {
            "n": keys,
            "probability": [alt.values.get(k, 0) / n_sims for k in keys],
            "probability_h0": [null.values.get(k, 0) / n_sims for k in keys],
        }
    )
    k_max = plan.test.n_looks
    with np.errstate(invalid="ignore", divide="ignore"):
        stages = pd.DataFrame(
            {
                "stage": np.arange(1, k_max + 1),
                "info_fraction": plan.test.info_fractions,
                "reached": alt.reached / n_sims,
                "stop_efficacy": alt.reject / n_sims,
                "stop_futility": alt.futility / n_sims,
                "mean_stage_size": alt.stage_units / alt.reached,
                "mean_conditional_power": np.where(
                    np.arange(k_max) > 0, alt.cp_sum / alt.reached, np.nan
                ),
                "reached_h0": null.reached / n_sims,
                "stop_efficacy_h0": null.reject / n_sims,
                "stop_futility_h0": null.futility / n_sims,
            }
        )
    sampler = plan.sampler
    largest = np.concatenate([plan.planned[:1], plan.rule.max_factor * plan.planned[1:]])
    if sampler.kind == "events":
        max_n = float(sampler.n_total)
        planned_n = float(sampler.n_total)
        unit_note = (
            f"; stages in events: planned total {sampler.planned_total:.1f}, expected "
            f"{alt.units_sum / n_sims:.1f}, at most "
            f"{float(sampler.cumulative_sizes(largest).sum()):g}"
        )
    else:
        max_n = float(sampler.cumulative_sizes(largest).sum())
        planned_n = float(sampler.cumulative_sizes(plan.planned).sum())
        unit_note = ""
    corrected = alt.corrected + null.corrected
    statistic = _statistic_of(sampler)
    description = (
        plan.rule.describe(statistic)
        + unit_note
        + (
            f" {corrected} stage analyses had a 0-or-n cell or a cell without events (0.5 used)."
            if corrected
            else ""
        )
    )
    extras = {
        "sequential": sequential,
        "adaptive": plan.rule,
        "statistic": statistic,
        "analysis": analysis,
        "unit": sampler.unit_name,
        "expected_units": float(alt.units_sum / n_sims),
        "mcse_expected_units": float(
            math.sqrt(max(alt.units_sq / n_sims - (alt.units_sum / n_sims) ** 2, 0.0) / n_sims)
        ),
        "expected_units_h0": float(null.units_sum / n_sims),
        "expected_n_randomized_h0": float(null.n_rand / n_sims),
        "corrected": corrected,
        "block_length": plan.block,
    }
    return AdaptivePowerResult(
        rows=(row,),
        summary=summary,
        method="simulation",
        mcse={name: math.sqrt(power * (1 - power) / n_sims)},
        n_sims=n_sims,
        seed=record,
        extras=extras,
        type_i_error={name: size},
        mcse_type_i_error={name: math.sqrt(size * (1 - size) / n_sims)},
        expected_n=float(mean_n),
        mcse_expected_n=float(math.sqrt(var_n / n_sims)),
        expected_n_h0=float(null.n_sum / n_sims),
        expected_n_randomized=float(alt.n_rand / n_sims),
        max_n=max_n,
        planned_n=planned_n,
        n_distribution=n_dist,
        stages=stages,
        description=description,
    )


def _final_bound(sequential: Any) -> float:
    if isinstance(sequential, FisherCombination):
        return float(-special.ndtri(sequential.critical_values[-1]))
    return float(sequential.efficacy_z[-1])


# --------------------------------------------------------------------------
# The design-level entry point: design.power(sequential=, adaptive=, ...)
# --------------------------------------------------------------------------
def _driving_hypothesis(design: Any, hypotheses: Any, rule: SampleSizeReestimation) -> str:
    if rule.hypothesis is not None:
        names = [rule.hypothesis]
    elif hypotheses is None:
        primary = design.primary
        if primary:
            names = [primary[0]] if isinstance(primary, Sequence) else [primary]
        else:
            defaults = [
                n for n in design.hypothesis_names if not design.hypothesis(n).is_intersection_union
            ]
            if len(defaults) == 1:
                names = defaults
            else:
                terms = [n for n in defaults if "|" not in n]
                order = max((n.count(":") for n in terms), default=0)
                top = [n for n in terms if n.count(":") == order and order > 0]
                if len(top) != 1:
                    raise ValueError(
                        "adaptive designs re-estimate the size for one hypothesis; name it "
                        f"(hypotheses='...' or SampleSizeReestimation(hypothesis=...)) among "
                        f"{list(design.hypothesis_names)}"
                    )
                names = top
    else:
        names = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses)
        if len(names) != 1:
            raise ValueError(
                "adaptive designs re-estimate the size for one hypothesis; got hypotheses="
                f"{names!r}: pass one name"
            )
    if rule.hypothesis is not None and hypotheses is not None:
        asked = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses)
        if asked != [rule.hypothesis]:
            raise ValueError(
                f"hypotheses={hypotheses!r} disagrees with the rule's hypothesis="
                f"{rule.hypothesis!r}; give one of them"
            )
    return names[0]


def adaptive_power(
    design: Any,
    hypotheses: Any = None,
    *,
    sequential: Any,
    adaptive: Any,
    method: str = "simulation",
    n_sims: int = 10_000,
    seed: Any = None,
    executor: Executor | None = None,
    analysis: str = "combination",
    statistic: str | None = None,
) -> AdaptivePowerResult:
    """``design.power(sequential=..., adaptive=..., method="simulation")``.

    Builds the driving hypothesis' statistic and the stage samplers from the
    design and runs :func:`simulate_reestimation` (sample-size
    re-estimation) or, for an :class:`~trialplan.adaptive.ArmSelection`,
    :func:`trialplan.adaptive.simulate_selection`.

    Parameters
    ----------
    design : Factorial or Parallel
        The planned design; its sizes are the planned (non-adapted) total.
    hypotheses : str, optional
        The hypothesis that drives the rule (see :class:`SampleSizeReestimation`).
    sequential : GroupSequential or FisherCombination
        Looks and bounds of the combination test; its one-sided level must
        be the design's per-tail level.
    adaptive : SampleSizeReestimation or ArmSelection
        The adaptation.
    method : {"simulation"}
        Adaptive designs are evaluated by simulation.
    n_sims, seed, executor, analysis
        See :func:`simulate_reestimation`.
    statistic : str, optional
        The stage-wise test: Continuous ``"t"`` (default) or ``"z"`` (SD
        known, rpact's ``normalApproximation = TRUE``); Binary ``"wald"``
        (default) or ``"pooled"`` (pooled-variance z of a risk difference,
        as rpact); time to event ``"exponential"``.

    Returns
    -------
    AdaptivePowerResult

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Parallel(arms=("control", "treatment"), n_per_arm=60,
    ...                 outcome=tp.Continuous(means={"control": 0.0, "treatment": 4.0}, sd=8.0))
    >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
    >>> res = adaptive_power(d, sequential=gsd, adaptive=tp.SampleSizeReestimation(),
    ...                      n_sims=1000, seed=1)
    >>> list(res)
    ['treatment vs control']
    """
    from trialplan.adaptive.sampling import sampler_for

    if method != "simulation":
        raise ValueError(
            f"adaptive designs are evaluated by simulation; give method='simulation' "
            f"(got method={method!r})"
        )
    if design.design_kind not in ("factorial", "parallel"):
        raise TypeError(
            "adaptive designs are simulated for designs of randomized cells (tp.Factorial, "
            f"tp.Parallel); got a {type(design).__name__}"
        )
    selection = _selection_type()
    if selection is not None and isinstance(adaptive, selection):
        from trialplan.adaptive.selection import selection_power

        if hypotheses is not None or statistic is not None or analysis != "combination":
            raise ValueError(
                "arm selection tests every arm against the control (closed testing); it takes "
                "no hypotheses=, statistic= or analysis="
            )
        res = selection_power(
            design,
            sequential=sequential,
            adaptive=adaptive,
            n_sims=n_sims,
            seed=seed,
            executor=executor,
        )
        return dataclasses.replace(res, design=design)
    if not isinstance(adaptive, SampleSizeReestimation):
        raise TypeError(
            "adaptive must be tp.SampleSizeReestimation(...) or "
            f"tp.adaptive.ArmSelection(...); got adaptive={adaptive!r}"
        )
    level = design.alpha / design.sided
    seq_level = sequential.alpha / getattr(sequential, "sided", 1)
    if not math.isclose(level, seq_level, rel_tol=1e-9):
        raise ValueError(
            f"sequential has one-sided alpha={seq_level:g} but the design's per-tail level is "
            f"{level:g} (alpha={design.alpha:g}, sided={design.sided}); give both the same level"
        )
    name = _driving_hypothesis(design, hypotheses, adaptive)
    driving = design.statistics(name)[0]
    contrasts = design.hypothesis(name).contrasts
    sampler = sampler_for(design, contrasts, round_up=adaptive.round_up, statistic=statistic)
    null_sampler = sampler_for(
        design, contrasts, round_up=adaptive.round_up, null=True, statistic=statistic
    )
    summary = (
        f"{design.describe()} | adaptive: {type(adaptive).__name__} on {name!r}, "
        f"{len(sequential.info_fractions)} stages | simulation, n_sims={n_sims}, seed={seed!r}"
    )
    res = simulate_reestimation(
        driving,
        sampler=sampler,
        null_sampler=null_sampler,
        sequential=sequential,
        rule=adaptive,
        n_sims=n_sims,
        seed=seed,
        executor=executor,
        analysis=analysis,
        sd=math.nan if design.outcome.common_sd is None else design.outcome.common_sd,
        dropout=design.dropout_array,
        summary=summary,
    )
    return dataclasses.replace(res, design=design)


def _selection_type() -> type | None:
    try:
        from trialplan.adaptive.selection import ArmSelection
    except ImportError:  # pragma: no cover - during development
        return None
    return ArmSelection
