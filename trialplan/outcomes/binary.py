"""Binary outcomes (response, remission): cell rates analysed on a chosen scale.

Every hypothesis of a design is a contrast of the cells' parameters on the
analysis ``scale``: risks (risk difference), log risks (log risk ratio) or log
odds (log odds ratio), each cell's estimate with its unpooled Wald variance.
A synergy claim depends on the scale (an interaction can be positive on the
additive scale and negative on the multiplicative one), so
:meth:`Binary.interaction_scales` reports the interaction on every scale
together with the relative excess risk due to interaction (RERI) and the
synergy index, and warns when the scales disagree in sign.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy import stats

from trialplan._validation import check_cell_mapping, check_choice, check_open_unit
from trialplan.outcomes.base import CellModel, Outcome

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SCALES", "Binary", "ScaleDisagreementWarning"]

Cell = Hashable

#: Analysis scales: name -> (transform, per-participant variance, words).
SCALES = ("risk_difference", "log_risk", "log_odds", "arcsine")
#: Smallest rate accepted, so that risk ratios p / p00 (up to 1e100), their squares
#: and the delta-method variances of RERI stay finite (a rate of 1e-310 gave a NaN
#: RERI power; 1e-300 still overflowed RR^2 v).
MIN_RATE = 1e-100
_WORDS = {
    "risk_difference": "risk difference",
    "log_risk": "log risk ratio",
    "log_odds": "log odds ratio",
    "arcsine": "arcsine difference (Cohen's h)",
}


class ScaleDisagreementWarning(UserWarning):
    """The interaction has different signs on different scales (pre-specify one)."""


def _transform(p: np.ndarray, scale: str) -> np.ndarray:
    if scale == "risk_difference":
        return p
    if scale == "log_risk":
        return np.log(p)
    if scale == "log_odds":
        return np.log(p / (1.0 - p))
    return 2.0 * np.arcsin(np.sqrt(p))


def _unit_variance(p: np.ndarray, scale: str) -> np.ndarray:
    """Delta-method variance of one participant's contribution, n * Var(g(p_hat))."""
    if scale == "risk_difference":
        return p * (1.0 - p)
    if scale == "log_risk":
        return (1.0 - p) / p
    if scale == "log_odds":
        return 1.0 / (p * (1.0 - p))
    return np.ones_like(p)


@dataclass(frozen=True, kw_only=True, repr=False)
class Binary(Outcome):
    """A binary outcome (e.g. response or remission) with a planned rate per cell.

    Parameters
    ----------
    rates : mapping
        Probability of the event per cell (factorial: a tuple of levels), each
        strictly between 0 and 1.
    scale : {"risk_difference", "log_odds", "log_risk", "arcsine"}
        Scale on which every contrast is estimated and tested (pre-specify
        it: interactions are scale dependent).  ``"risk_difference"``: cell
        risks, variance ``p(1-p)/n``; ``"log_risk"``: log risks, variance
        ``(1-p)/(n p)``; ``"log_odds"``: log odds, variance ``1/(n p (1-p))``;
        ``"arcsine"``: ``2 asin(sqrt(p))``, variance ``1/n`` (Cohen's h, as
        in R ``pwr.2p.test``).  All are Wald tests with unpooled variances.
    better : {"higher", "lower"}, default "higher"
        Which direction is a benefit (response, remission: higher).

    Raises
    ------
    ValueError
        If a rate is not strictly between 0 and 1, or ``scale``/``better`` is
        unknown.
    TypeError
        If ``rates`` is not a mapping.

    Notes
    -----
    The test is a Wald z test (``df = inf``); power is the normal
    approximation.  Under ``design.clusters`` each clustered cell's variance
    is multiplied by its design effect.

    References
    ----------
    .. [1] VanderWeele TJ, Knol MJ. A tutorial on interaction. Epidemiol
       Methods 2014;3:33-72.
    .. [2] Hosmer DW, Lemeshow S. Confidence interval estimation of
       interaction. Epidemiology 1992;3:452-456.

    Examples
    --------
    >>> import trialplan as tp
    >>> rates = {("sham", "control"): 0.12, ("active", "control"): 0.30,
    ...          ("sham", "MBI"): 0.22, ("active", "MBI"): 0.50}
    >>> design = tp.Factorial(
    ...     factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.Binary(rates=rates, scale="risk_difference"), n_per_cell=579)
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:  # the scales disagree
    ...     warnings.simplefilter("always")
    ...     res = design.power()
    >>> round(res["rTMS:MBI"], 3), round(res["rTMS:MBI (RERI)"], 3), len(caught)
    (0.8, 0.856, 1)
    """

    kind: ClassVar[str] = "binary"

    rates: Mapping[Cell, float]
    scale: str = "risk_difference"
    better: str = "higher"

    def __post_init__(self) -> None:
        rates = check_cell_mapping("rates", self.rates, holding="probability")
        object.__setattr__(
            self,
            "rates",
            MappingProxyType(
                {key: check_open_unit(f"rates[{key!r}]", value) for key, value in rates.items()}
            ),
        )
        for key, value in self.rates.items():
            if value < MIN_RATE:
                raise ValueError(
                    f"rates[{key!r}] must be at least {MIN_RATE:g}: below it risk ratios "
                    f"and their variances overflow; got rates[{key!r}]={value!r}"
                )
        check_choice("scale", self.scale, SCALES)
        check_choice("better", self.better, ("higher", "lower"))

    def planning_values(self) -> Mapping[Cell, float]:
        """The planned event rate of each cell."""
        return self.rates

    def describe(self, label: Callable[[Cell], str] = str) -> str:
        """The rates, the analysis scale and the direction in one line.

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.Binary(rates={"a": 0.3, "b": 0.45}, scale="log_odds").describe()
        'binary: rates a 0.3, b 0.45; tested on the log_odds scale; higher is better'
        """
        rates = ", ".join(f"{label(c)} {r:g}" for c, r in self.rates.items())
        return f"binary: rates {rates}; tested on the {self.scale} scale; {self.better} is better"

    def cell_model(
        self, cells: Sequence[Cell], n: np.ndarray, design_effect: np.ndarray | None = None
    ) -> CellModel:
        """Cell parameters on ``scale`` and their Wald variances.

        Parameters
        ----------
        cells : sequence
            Cells in the design's order; each must be a key of ``rates``.
        n : numpy.ndarray
            Analysed participants per cell.
        design_effect : numpy.ndarray, optional
            Variance inflation per cell (group-delivered treatment); 1 by default.

        Returns
        -------
        CellModel
            ``df = inf``: large-sample Wald z statistics.

        Examples
        --------
        >>> import numpy as np
        >>> y = Binary(rates={"a": 0.3, "b": 0.5})
        >>> m = y.cell_model(["a", "b"], np.array([100, 100]))
        >>> m.variances.round(4).tolist()
        [0.0021, 0.0025]
        """
        p = np.array([self.rates[c] for c in cells], dtype=float)
        de = np.ones(len(cells)) if design_effect is None else np.asarray(design_effect, float)
        variances = _unit_variance(p, self.scale) * de / np.asarray(n, dtype=float)
        return CellModel(
            estimates=_transform(p, self.scale),
            variances=variances,
            df=math.inf,
            method=f"Wald z on the {_WORDS[self.scale]} scale, unpooled variances (normal approx.)",
            scale=_WORDS[self.scale],
            favourable=self.favourable,
        )

    # ------------------------------------------------------------------ scales
    def interaction_scales(
        self, design: Any, hypothesis: str | None = None, *, warn: bool = True, _stacklevel: int = 2
    ) -> pd.DataFrame:
        """The interaction of a 2x2 factorial on every scale, with RERI and the synergy index.

        Parameters
        ----------
        design : Factorial
            A factorial design with exactly two factors and this outcome.
        hypothesis : str, optional
            The interaction, e.g. ``"rTMS:MBI"``; by default the design's only
            two-factor interaction.
        warn : bool, default True
            Issue a :class:`ScaleDisagreementWarning` when the interaction
            on the risk-difference, log-risk and log-odds scales (RERI has the
            risk difference's sign) does not have one sign.

        Returns
        -------
        pandas.DataFrame
            One row per measure: ``measure`` (risk_difference, log_risk,
            log_odds, RERI, log_synergy_index), ``estimate``, ``se`` (unpooled
            Wald / delta method at the design's cell sizes and design
            effects), ``z``, ``power`` (Wald test at the design's alpha and
            sidedness), ``scale_value`` (``exp(estimate)`` on multiplicative
            scales: ratio of risk ratios, ratio of odds ratios, synergy index)
            and ``note``.  The synergy index
            ``(RR11 - 1) / (RR10 - 1 + RR01 - 1)`` is undefined (NaN, with a
            note) unless ``RR11 > 1`` and ``RR10 + RR01 > 2``.

        Raises
        ------
        ValueError
            If the design does not have exactly two factors or ``hypothesis``
            is not their interaction.

        Notes
        -----
        RERI = RR11 - RR10 - RR01 + 1 with RR = p / p00; its delta-method
        variance on the log risks is
        ``RR11^2 v11 + RR10^2 v10 + RR01^2 v01 + (RERI - 1)^2 v00``
        (Hosmer & Lemeshow 1992; VanderWeele & Knol 2014).

        Examples
        --------
        >>> import warnings
        >>> import trialplan as tp
        >>> rates = {("a0", "b0"): 0.12, ("a1", "b0"): 0.30,
        ...          ("a0", "b1"): 0.22, ("a1", "b1"): 0.50}
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Binary(rates=rates), n_per_cell=579)
        >>> with warnings.catch_warnings(record=True):
        ...     table = d.outcome.interaction_scales(d)
        >>> for measure, est in zip(table["measure"], table["estimate"]):
        ...     print(f"{measure:18} {est:6.3f}")
        risk_difference     0.100
        log_risk           -0.095
        log_odds            0.121
        RERI                0.833
        log_synergy_index   0.305
        """
        import pandas as pd  # deferred: pandas is heavy and only frames need it

        cells, n, de = _two_by_two(design, hypothesis)
        p = np.array([self.rates[c] for c in cells])  # order 00, 10, 01, 11
        weights = np.array([1.0, -1.0, -1.0, 1.0])
        level = design.alpha / design.sided
        crit = stats.norm.isf(level)
        rows = []
        signs = {}
        for scale in ("risk_difference", "log_risk", "log_odds"):
            var = _unit_variance(p, scale) * de / n
            est = float(weights @ _transform(p, scale))
            signs[scale] = np.sign(round(est, 12))
            rows.append(
                _scale_row(
                    scale,
                    est,
                    float(np.sqrt(weights**2 @ var)),
                    crit,
                    design.sided,
                    self.favourable,
                    math.exp(est) if scale != "risk_difference" else math.nan,
                    "",
                )
            )
        v_log = _unit_variance(p, "log_risk") * de / n
        rr10, rr01, rr11 = p[1] / p[0], p[2] / p[0], p[3] / p[0]
        reri = rr11 - rr10 - rr01 + 1.0
        grad = np.array([-(reri - 1.0), -rr10, -rr01, rr11])  # d RERI / d log p
        rows.append(
            _scale_row(
                "RERI",
                reri,
                float(np.sqrt(grad**2 @ v_log)),
                crit,
                design.sided,
                self.favourable,
                math.nan,
                "relative excess risk due to interaction (additive)",
            )
        )
        denom = rr10 + rr01 - 2.0
        if rr11 > 1.0 and denom > 0.0:
            log_si = math.log((rr11 - 1.0) / denom)
            g11 = rr11 / (rr11 - 1.0)
            grad = np.array([-g11 + (rr10 + rr01) / denom, -rr10 / denom, -rr01 / denom, g11])
            rows.append(
                _scale_row(
                    "log_synergy_index",
                    log_si,
                    float(np.sqrt(grad**2 @ v_log)),
                    crit,
                    design.sided,
                    self.favourable,
                    math.exp(log_si),
                    "log of (RR11-1)/(RR10-1+RR01-1); 0 = additive",
                )
            )
        else:
            rows.append(
                {
                    "measure": "log_synergy_index",
                    "estimate": math.nan,
                    "se": math.nan,
                    "z": math.nan,
                    "power": math.nan,
                    "scale_value": math.nan,
                    "note": "undefined: needs RR11 > 1 and RR10 + RR01 > 2",
                }
            )
        nonzero = {s: v for s, v in signs.items() if v != 0}
        if warn and len(set(nonzero.values())) > 1:
            pos = [s for s, v in nonzero.items() if v > 0]
            neg = [s for s, v in nonzero.items() if v < 0]
            warnings.warn(
                f"the interaction is positive on the {', '.join(pos)} scale(s) and negative "
                f"on the {', '.join(neg)} scale(s): synergy is scale dependent, so "
                f"pre-specify the scale (this design tests it on {self.scale!r})",
                ScaleDisagreementWarning,
                stacklevel=_stacklevel,
            )
        return pd.DataFrame(rows)

    def extra_rows(self, design: Any, hypotheses: Sequence[str]) -> list[dict[str, Any]]:
        """Rows ``"A:B (scale)"`` added to analytic power results (see the docs)."""
        if design.design_kind != "factorial" or len(design.factors) != 2:
            return []
        inter = ":".join(design.factors)
        if inter not in hypotheses:
            return []
        # stacklevel 6: interaction_scales < extra_rows < _analytic_power < dispatch_power
        # < power < user
        table = self.interaction_scales(design, inter, _stacklevel=6)
        out = []
        for row in table.to_dict("records"):
            if row["measure"] == self.scale or not math.isfinite(row["estimate"]):
                continue
            out.append(dict(row, hypothesis=f"{inter} ({row['measure']})"))
        return out


def _scale_row(
    measure: str,
    est: float,
    se: float,
    crit: float,
    sided: int,
    favourable: int,
    scale_value: float,
    note: str,
) -> dict[str, Any]:
    z = est / se
    if sided == 2:
        power = stats.norm.sf(crit - z) + stats.norm.sf(crit + z)
    else:
        power = stats.norm.sf(crit - favourable * z)
    return {
        "measure": measure,
        "estimate": est,
        "se": se,
        "z": z,
        "power": float(power),
        "scale_value": scale_value,
        "note": note,
    }


def _two_by_two(design: Any, hypothesis: str | None) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Cells (00, 10, 01, 11), sizes and design effects of a two-factor design."""
    factors = design.factors if design.design_kind == "factorial" else None
    if factors is None or len(factors) != 2:
        raise ValueError(
            "interaction_scales needs a factorial design with exactly two "
            f"factors; got {type(design).__name__} with factors="
            f"{None if factors is None else tuple(factors)}"
        )
    names = tuple(factors)
    expected = ":".join(names)
    if hypothesis is not None and not isinstance(hypothesis, str):
        raise TypeError(
            f"hypothesis must be the interaction's name, e.g. {expected!r}; got "
            f"hypothesis={hypothesis!r}"
        )
    if hypothesis is not None and hypothesis.replace(" ", "") != expected:
        raise ValueError(
            f"hypothesis={hypothesis!r} is not the design's interaction; use {expected!r}"
        )
    (a0, a1), (b0, b1) = factors.values()
    cells = [(a0, b0), (a1, b0), (a0, b1), (a1, b1)]
    index = [design.cells.index(c) for c in cells]
    n = np.asarray(design.n_array, dtype=float)[index]
    de = np.asarray(design.design_effects(), dtype=float)[index]
    return cells, n, de
