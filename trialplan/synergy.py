"""Synergy models: 2x2 cell values from monotherapy effects and an assumption.

Two ways to plan the combination cell of a 2x2 (rTMS x MBI) trial:

* :func:`cell_means` takes the control value and each monotherapy's effect and
  combines them under a stated assumption: ``"additive"`` (no interaction on
  the difference scale), ``"multiplicative"`` (no interaction on the ratio,
  i.e. log, scale) or :class:`Interaction` (a stated interaction contrast
  ``IC = g(mu11) - g(mu10) - g(mu01) + g(mu00)`` on the chosen scale ``g``).
  :func:`interaction_contrasts` reads the implied interaction back on every
  scale where it is defined, since "no interaction" on one scale is an
  interaction on another.
* :class:`StateDependent` encodes the state-dependent synergy hypothesis:
  the effect of rTMS depends linearly on the brain state at stimulation,
  ``b0 + b1 * state``; MBI shifts the state by ``delta`` (in SD units of the
  state measure), so adding MBI to rTMS gains ``b1 * delta`` beyond the sum of
  the monotherapies.  It gives the implied 2x2 cell means, the interaction,
  and the power of the moderator analysis (treatment x baseline state) that
  tests the slope ``b1`` directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialplan._validation import (
    as_sequence,
    check_choice,
    check_int,
    check_open_unit,
    check_positive,
    check_real,
    check_sided,
)
from trialplan.designs import Factorial
from trialplan.outcomes import Continuous
from trialplan.power import sample_size_search, statistic_power
from trialplan.statistic import DfRule, StatisticFamily, TestStatistic

__all__ = ["Interaction", "StateDependent", "cell_means", "interaction_contrasts"]

_SCALES = ("identity", "log", "logit")
_RTMS_MBI_LEVELS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}


@dataclass(frozen=True)
class Interaction:
    """A stated interaction contrast on the scale of :func:`cell_means`.

    Parameters
    ----------
    value : float
        ``IC = g(mu11) - g(mu10) - g(mu01) + g(mu00)`` on the chosen scale
        ``g``: a difference of differences on ``"identity"``, a log ratio of
        ratios on ``"log"``, a log ratio of odds ratios on ``"logit"``.
        Negative values strengthen a benefit when lower outcomes are better.

    Examples
    --------
    >>> Interaction(-3.0).value
    -3.0
    """

    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", check_real("Interaction value", self.value))


def _link(scale: str) -> tuple[Callable[[float], float], Callable[[float], float]]:
    if scale == "identity":
        return (lambda x: x), (lambda x: x)
    if scale == "log":
        return math.log, math.exp
    return (lambda p: math.log(p / (1.0 - p))), (lambda x: 1.0 / (1.0 + math.exp(-x)))


def _check_on_scale(name: str, value: float, scale: str) -> float:
    if scale == "log" and not value > 0:
        raise ValueError(
            f"{name}={value:g} must be > 0 on the log (ratio) scale; use "
            "scale='identity' for values that can be zero or negative"
        )
    if scale == "logit" and not 0 < value < 1:
        raise ValueError(
            f"{name}={value:g} must lie strictly between 0 and 1 on the logit scale (a rate)"
        )
    return value


def cell_means(
    *,
    control: float,
    effects: Mapping[str, float],
    model: str | Interaction = "additive",
    scale: str | None = None,
    levels: Mapping[str, tuple[str, str]] | None = None,
) -> dict[tuple[str, str], float]:
    """Cell means (or rates) of a 2x2 from monotherapy effects and a synergy assumption.

    Parameters
    ----------
    control : float
        Mean (or rate) in the cell with neither treatment.
    effects : mapping of str to float
        Exactly two factors, each with its monotherapy effect as a difference
        from ``control`` on the natural scale (e.g. HAM-D points, or a risk
        difference): ``{"rTMS": -3.0, "MBI": -2.0}``.
    model : {"additive", "multiplicative"} or Interaction, default "additive"
        ``"additive"``: no interaction on ``scale`` (default ``"identity"``).
        ``"multiplicative"``: no interaction on the log (ratio) scale.
        ``Interaction(x)``: interaction contrast ``x`` on ``scale``.
    scale : {"identity", "log", "logit"}, optional
        The scale on which the assumption holds; ``"identity"`` by default
        (``"log"`` for ``"multiplicative"``, which allows no other).
    levels : mapping of str to (str, str), optional
        Reference and active level names per factor, as in
        :class:`trialplan.Factorial`; by default ``("no <factor>", "<factor>")``.

    Returns
    -------
    dict
        ``{(level of factor 1, level of factor 2): value}`` in
        :class:`~trialplan.Factorial` cell order (first factor slowest), ready
        for ``tp.Continuous(means=...)`` or ``tp.Binary(rates=...)``.

    Raises
    ------
    ValueError
        If ``effects`` does not name two factors, a value is outside the
        scale's domain (e.g. a rate outside (0, 1) on the logit scale, or the
        implied combination rate), or ``model``/``scale`` are unknown or clash.

    Examples
    --------
    >>> from trialplan import synergy
    >>> synergy.cell_means(control=0.0, effects={"rTMS": -3.0, "MBI": -2.0})
    {('no rTMS', 'no MBI'): 0.0, ('no rTMS', 'MBI'): -2.0, ('rTMS', 'no MBI'): -3.0, \
('rTMS', 'MBI'): -5.0}
    >>> synergy.cell_means(control=0.0, effects={"rTMS": -3.0, "MBI": -2.0},
    ...                    model=synergy.Interaction(-3.0))[("rTMS", "MBI")]
    -8.0
    >>> r = synergy.cell_means(control=0.10, effects={"rTMS": 0.20, "MBI": 0.05},
    ...                        model="multiplicative")
    >>> round(r[("rTMS", "MBI")], 3)      # 0.10 x 3 x 1.5
    0.45
    """
    control = check_real("control", control)
    if not isinstance(effects, Mapping) or len(effects) != 2:
        raise ValueError(
            "effects must map exactly two factors to their monotherapy effects, "
            f"e.g. {{'rTMS': -3.0, 'MBI': -2.0}}; got effects={effects!r}"
        )
    names = list(effects)
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(f"effects keys must be factor names (strings); got {name!r}")
    eff = [check_real(f"effects[{n!r}]", effects[n]) for n in names]
    if isinstance(model, Interaction):
        ic = model.value
        scale = "identity" if scale is None else scale
    else:
        check_choice("model", model, ("additive", "multiplicative"))
        ic = 0.0
        if model == "multiplicative":
            if scale not in (None, "log"):
                raise ValueError(
                    f"model='multiplicative' means no interaction on the log "
                    f"scale; got scale={scale!r} (use model='additive' with "
                    "that scale instead)"
                )
            scale = "log"
        scale = "identity" if scale is None else scale
    check_choice("scale", scale, _SCALES)
    lv = _levels(names, levels)
    g, g_inv = _link(scale)
    mono = [control + e for e in eff]
    for value, what in (
        (control, "control"),
        (mono[0], f"control + effects[{names[0]!r}]"),
        (mono[1], f"control + effects[{names[1]!r}]"),
    ):
        _check_on_scale(what, value, scale)
    top = g_inv(g(mono[0]) + g(mono[1]) - g(control) + ic)
    if not math.isfinite(top) or (scale == "logit" and not 0 < top < 1):
        raise ValueError(f"the implied combination value {top!r} is not a valid {scale} value")
    (a0, a1), (b0, b1) = lv[names[0]], lv[names[1]]
    return {(a0, b0): control, (a0, b1): mono[1], (a1, b0): mono[0], (a1, b1): top}


def _levels(names: Sequence[str], levels: Any) -> dict[str, tuple[str, str]]:
    if levels is None:
        return {n: (f"no {n}", n) for n in names}
    if not isinstance(levels, Mapping) or set(levels) != set(names):
        raise ValueError(
            f"levels must map each factor {list(names)} to (reference, active) "
            f"level names; got levels={levels!r}"
        )
    out = {}
    for n in names:
        pair = as_sequence(levels[n])
        if (
            isinstance(pair, str)
            or not isinstance(pair, Sequence)
            or len(pair) != 2
            or pair[0] == pair[1]
            or not all(isinstance(x, str) for x in pair)
        ):
            raise ValueError(f"levels[{n!r}] must be two different level names; got {pair!r}")
        out[n] = (pair[0], pair[1])
    return out


def interaction_contrasts(cells: Mapping[tuple[str, str], float]) -> dict[str, float]:
    """Interaction contrast of a 2x2 on every scale where it is defined.

    Parameters
    ----------
    cells : mapping of (str, str) to float
        Four cells keyed by (level of factor 1, level of factor 2); each
        factor's reference level is the one that appears first in the
        mapping (as :func:`cell_means` and ``Factorial.cells`` order them).

    Returns
    -------
    dict
        ``"identity"``: difference of differences; ``"log"``: log ratio of
        ratios (positive values only); ``"logit"``: log ratio of odds ratios
        (values in (0, 1) only); ``"RERI"``: relative excess risk due to
        interaction ``RR11 - RR10 - RR01 + 1`` (positive values only).

    Raises
    ------
    ValueError
        If ``cells`` is not a 2x2 of four finite values.

    Examples
    --------
    The rates of REFERENCES.md (0.12, 0.30, 0.22, 0.50) show scale reversal:

    >>> from trialplan import synergy
    >>> ic = synergy.interaction_contrasts({("a0", "b0"): 0.12, ("a0", "b1"): 0.22,
    ...                                     ("a1", "b0"): 0.30, ("a1", "b1"): 0.50})
    >>> {k: round(v, 3) for k, v in ic.items()}
    {'identity': 0.1, 'log': -0.095, 'logit': 0.121, 'RERI': 0.833}
    """
    if not isinstance(cells, Mapping) or len(cells) != 4:
        raise ValueError(f"cells must map the four cells of a 2x2 to values; got {cells!r}")
    keys = list(cells)
    if not all(isinstance(k, tuple) and len(k) == 2 for k in keys):
        raise ValueError(f"cells keys must be (level, level) pairs; got {keys}")
    first = list(dict.fromkeys(k[0] for k in keys))
    second = list(dict.fromkeys(k[1] for k in keys))
    if len(first) != 2 or len(second) != 2:
        raise ValueError(f"cells must be a 2x2 (two levels per factor); got keys {keys}")
    vals = {k: check_real(f"cells[{k!r}]", v) for k, v in cells.items()}
    for k, v in vals.items():
        if 0.0 < abs(v) < 1e-300:  # subnormal: ratios to it overflow (RERI was -inf)
            raise ValueError(f"cells[{k!r}] must be 0 or of magnitude at least 1e-300; got {v!r}")
    v00, v01 = vals[(first[0], second[0])], vals[(first[0], second[1])]
    v10, v11 = vals[(first[1], second[0])], vals[(first[1], second[1])]
    out = {"identity": v11 - v10 - v01 + v00}
    four = (v00, v01, v10, v11)
    if all(v > 0 for v in four):
        out["log"] = math.log(v11) - math.log(v10) - math.log(v01) + math.log(v00)
    if all(0 < v < 1 for v in four):
        g, _ = _link("logit")
        out["logit"] = g(v11) - g(v10) - g(v01) + g(v00)
    if all(v > 0 for v in four):
        out["RERI"] = (v11 - v10 - v01 + v00) / v00
    return out


@dataclass(frozen=True, kw_only=True)
class StateDependent:
    """State-dependent synergy: MBI shifts the brain state that moderates rTMS.

    The effect of rTMS on the outcome at brain state ``s`` (in SD units of the
    state measure) is ``rtms_effect + state_slope * s``.  MBI shifts the state
    by ``mbi_state_shift`` and may also act directly (``mbi_effect``), so the
    four cells at the mean baseline state ``s0`` are

    * control: ``control + state_effect * s0``
    * rTMS: ``control + state_effect * s0 + rtms_effect + state_slope * s0``
    * MBI: ``control + mbi_effect + state_effect * (s0 + shift)``
    * rTMS + MBI: the MBI cell ``+ rtms_effect + state_slope * (s0 + shift)``

    and the interaction (difference of differences) is
    ``state_slope * mbi_state_shift``.

    Parameters
    ----------
    rtms_effect : float
        Effect of rTMS (active minus sham) at state 0, in outcome units
        (HAM-D points; negative = improvement).
    state_slope : float
        Change in the rTMS effect per 1 SD of brain state (outcome units).
    mbi_state_shift : float
        Shift of the state produced by MBI, in state SD units.
    mbi_effect : float, default 0.0
        Direct effect of MBI on the outcome at a fixed state.
    control : float, default 0.0
        Mean outcome with sham rTMS and no MBI at state 0.
    state_mean : float, default 0.0
        Mean baseline state (SD units) of the population enrolled.
    state_effect : float, default 0.0
        Prognostic effect of the state on the outcome without rTMS, per SD.

    Raises
    ------
    TypeError
        If a value is not a real number.

    References
    ----------
    .. [1] Silvanto J, Muggleton N, Walsh V. State-dependency in brain
       stimulation studies of perception and cognition. Trends Cogn Sci
       2008;12:447-454.

    Examples
    --------
    rTMS lowers HAM-D by 3 points at the mean state, 2 points more per SD of
    state; MBI shifts the state by 1.5 SD: the combination gains 3 points.

    >>> import trialplan as tp
    >>> model = tp.synergy.StateDependent(rtms_effect=-3.0, state_slope=-2.0,
    ...                                   mbi_state_shift=1.5, mbi_effect=-2.0)
    >>> model.cell_means()
    {('sham', 'control'): 0.0, ('sham', 'MBI'): -2.0, ('active', 'control'): -3.0, \
('active', 'MBI'): -8.0}
    >>> model.interaction
    -3.0
    >>> round(model.moderator_power(n_total=200, sd=8.0), 3)
    0.421
    """

    rtms_effect: float
    state_slope: float
    mbi_state_shift: float
    mbi_effect: float = 0.0
    control: float = 0.0
    state_mean: float = 0.0
    state_effect: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "rtms_effect",
            "state_slope",
            "mbi_state_shift",
            "mbi_effect",
            "control",
            "state_mean",
            "state_effect",
        ):
            object.__setattr__(self, name, check_real(name, getattr(self, name)))

    def rtms_effect_at(self, state: float) -> float:
        """Effect of rTMS at brain state ``state`` (SD units).

        Examples
        --------
        >>> StateDependent(rtms_effect=-3.0, state_slope=-2.0,
        ...                mbi_state_shift=1.5).rtms_effect_at(1.0)
        -5.0
        """
        return self.rtms_effect + self.state_slope * check_real("state", state)

    @property
    def interaction(self) -> float:
        """Interaction contrast (difference of differences): ``state_slope * shift``."""
        return self.state_slope * self.mbi_state_shift

    def cell_means(
        self, levels: Mapping[str, tuple[str, str]] | None = None
    ) -> dict[tuple[str, str], float]:
        """Implied 2x2 cell means at the mean baseline state.

        Parameters
        ----------
        levels : mapping, optional
            ``{"rTMS": (reference, active), "MBI": (reference, active)}``; by
            default ``{"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}``.

        Returns
        -------
        dict
            ``{(rTMS level, MBI level): mean}`` in Factorial cell order.
        """
        lv = _levels(["rTMS", "MBI"], _RTMS_MBI_LEVELS if levels is None else levels)
        s0, shift = self.state_mean, self.mbi_state_shift
        base = self.control + self.state_effect * s0
        mbi = self.control + self.mbi_effect + self.state_effect * (s0 + shift)
        (r0, r1), (m0, m1) = lv["rTMS"], lv["MBI"]
        return {
            (r0, m0): base,
            (r0, m1): mbi,
            (r1, m0): base + self.rtms_effect_at(s0),
            (r1, m1): mbi + self.rtms_effect_at(s0 + shift),
        }

    def factorial(self, *, sd: float, n_per_cell: Any, levels: Any = None, **options: Any) -> Any:
        """A :class:`trialplan.Factorial` with the implied cell means.

        Parameters
        ----------
        sd : float
            Outcome SD (> 0).
        n_per_cell : int or mapping
            Participants analysed per cell.
        levels : mapping, optional
            Factor levels as in :meth:`cell_means`.
        **options
            Other ``Factorial`` parameters (``alpha``, ``dropout``, ...) and
            ``baseline_corr``/``better`` of the outcome.

        Returns
        -------
        Factorial

        Examples
        --------
        >>> model = StateDependent(rtms_effect=-3.0, state_slope=-2.0,
        ...                        mbi_state_shift=1.5, mbi_effect=-2.0)
        >>> round(model.factorial(sd=8.0, n_per_cell=50).power()["rTMS:MBI"], 3)
        0.261
        """
        lv = _levels(["rTMS", "MBI"], _RTMS_MBI_LEVELS if levels is None else levels)
        outcome_keys = {k: options.pop(k) for k in ("baseline_corr", "better") if k in options}
        outcome = Continuous(means=self.cell_means(lv), sd=sd, **outcome_keys)
        return Factorial(factors=lv, outcome=outcome, n_per_cell=n_per_cell, **options)

    def moderator_statistic(
        self,
        *,
        n_total: int,
        sd: float,
        alpha: float = 0.05,
        allocation: float = 0.5,
        sided: int = 2,
        method: str = "t",
    ) -> TestStatistic:
        """Canonical statistic of the rTMS x baseline-state moderator test.

        The analysis regresses the outcome on rTMS (active vs sham, a fraction
        ``allocation`` active), the standardized baseline state and their
        product; the product's coefficient is ``state_slope`` with variance
        ``sd^2 / (N p (1 - p))`` at unit state variance.

        Parameters
        ----------
        n_total : int
            Participants in the analysis (N > 4).
        sd : float
            Residual SD of the outcome given treatment and state (> 0).
        alpha : float, default 0.05
            Significance level (two-sided total if ``sided=2``).
        allocation : float, default 0.5
            Proportion allocated to active rTMS.
        sided : {1, 2}, default 2
            One- or two-sided test.
        method : {"t", "normal"}, default "t"
            ``"t"``: noncentral t with ``N - 4`` df at the expected
            information; ``"normal"``: the z test.

        Returns
        -------
        TestStatistic
        """
        n_total = check_int("n_total", n_total, minimum=5)
        return self._moderator_family(
            sd=sd, alpha=alpha, allocation=allocation, sided=sided, method=method
        ).scaled(n_total)[0]

    def _moderator_family(
        self, *, sd: float, alpha: float, allocation: float, sided: int, method: str
    ) -> StatisticFamily:
        """The moderator test as a one-cell statistic family at N = 5 (variance ~ 1/N)."""
        sd = check_positive("sd", sd)
        p = check_open_unit("allocation", allocation)
        check_choice("method", method, ("t", "normal"))
        note = (
            "z test (normal approx.)"
            if method == "normal"
            else "noncentral t at the expected information, state variance 1 (approx.)"
        )
        return StatisticFamily(
            hypotheses=("rTMS x state",),
            estimands=("difference in the outcome-on-state slope between active and sham rTMS",),
            contrasts=(np.ones((1, 1)),),
            estimates=np.array([self.state_slope]),
            covariance=np.array([[sd**2 / (5 * p * (1.0 - p))]]),
            cell_of=np.zeros(1, dtype=int),
            ratios=np.ones(1),
            multiplier=5.0,
            df_rule=DfRule() if method == "normal" else DfRule(subtract=4.0),
            alpha=check_open_unit("alpha", alpha),
            sided=check_sided(sided),
            favourable=-1 if self.state_slope <= 0 else 1,
            method=f"moderator analysis, {note}",
            scale="mean difference",
            min_multiplier=5,
            unit="n_total",
        )

    def moderator_power(
        self,
        *,
        n_total: int,
        sd: float,
        alpha: float = 0.05,
        allocation: float = 0.5,
        sided: int = 2,
        method: str = "t",
    ) -> float:
        """Power of the rTMS x baseline-state moderator test.

        Parameters are those of :meth:`moderator_statistic`.

        Returns
        -------
        float
            Power to detect ``state_slope`` (standardized: ``state_slope / sd``).
        """
        return statistic_power(
            self.moderator_statistic(
                n_total=n_total,
                sd=sd,
                alpha=alpha,
                allocation=allocation,
                sided=sided,
                method=method,
            )
        )

    def moderator_sample_size(
        self,
        *,
        power: float,
        sd: float,
        alpha: float = 0.05,
        allocation: float = 0.5,
        sided: int = 2,
        method: str = "t",
    ) -> int:
        """Smallest N whose moderator test reaches ``power``.

        Returns
        -------
        int
            Total participants analysed.

        Raises
        ------
        ValueError
            If ``power`` is outside (0, 1) or ``state_slope`` is zero.

        Examples
        --------
        A slope difference of 0.25 outcome SDs, alpha 0.05 two-sided, 80%:
        ``4 (z_.975 + z_.8)^2 / 0.25^2`` = 502.3, so 503 with the z test.

        >>> m = StateDependent(rtms_effect=-3.0, state_slope=-2.0, mbi_state_shift=1.5)
        >>> m.moderator_sample_size(power=0.8, sd=8.0, method="normal")
        503
        """
        target = check_open_unit("power", power)
        if self.state_slope == 0:
            raise ValueError("power is out of reach: state_slope=0 gives no moderation to detect")
        family = self._moderator_family(
            sd=sd, alpha=alpha, allocation=allocation, sided=sided, method=method
        )
        # The one integer search: bracket from the normal approximation, bisect.  This
        # helper returns a bare number (no design is built at that size), so its sizes
        # may pass the designs' cap of 1e15 participants a cell.
        return sample_size_search(family, power=target, cap=10**30).multiplier
