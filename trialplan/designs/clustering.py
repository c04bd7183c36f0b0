"""Group-delivered treatment: participants nested in therapy groups in some arms.

Mindfulness-based interventions are usually taught in groups of about 6 to 12,
while rTMS and the control conditions are delivered individually.  Outcomes of
participants who share a group are correlated (intraclass correlation, ICC),
so in the cells where the treatment is given in groups the variance of the
cell estimate is inflated by the design effect ``1 + (m - 1) ICC`` (m the group
size); the other cells are unaffected.  This is the partially nested design
(Roberts & Roberts 2005).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialplan._validation import check_real, did_you_mean
from trialplan.statistic import therapy_groups

__all__ = ["Clustering"]


@dataclass(frozen=True, kw_only=True)
class Clustering:
    """Participants of one factor level are treated in groups (partially nested design).

    Parameters
    ----------
    factor : str
        The factor whose level is delivered in groups, e.g. ``"MBI"``.
    level : str, optional
        That factor's level delivered in groups; by default its active
        (second) level.
    icc : float
        Intraclass correlation of the outcome within a therapy group, in [0, 1).
    group_size : float
        Participants per group, m >= 1 (the mean size when sizes vary).
    size_cv : float, default 0.0
        Coefficient of variation of the group sizes; the design effect becomes
        ``1 + ((1 + cv^2) m - 1) ICC`` (Eldridge, Ashby & Kerry 2006).

    Raises
    ------
    ValueError
        For ``icc`` outside [0, 1), ``group_size`` < 1, a negative
        ``size_cv``, or (when the design is built) a factor or level the
        design does not have.

    Notes
    -----
    In :class:`~trialplan.Factorial` every cell at ``factor=level`` gets
    variance ``sigma^2 DE / n_j`` (``DE_j = 1`` elsewhere), so contrasts that
    involve those cells lose precision accordingly.  A
    :class:`~trialplan.Repeated` outcome is the exception: the group effect is
    an intercept on every visit, which adds ``(DE - 1) V[J, J] / n_j`` to the
    MMRM last-visit variance (not ``DE`` times it) and nothing to a GLS slope
    (:meth:`trialplan.Repeated.cell_model`).  For t-based outcomes the
    analysis is the heteroscedastic partially nested one (Roberts & Roberts
    2005): the clustered cells' variance is estimated by the between-group
    mean square (``G_c - J_c`` df, ``g_j = ceil(n_j / m)`` groups per
    clustered cell), the other cells' by the within-cell mean square
    (``N_u - J_u - covariates`` df), and each contrast's t statistic has
    Satterthwaite's df for its mix of the two (``CellModel.contrast_df``), at
    most ``(N - cells - covariates) - sum over clustered cells of
    (n_j - g_j)``.  A contrast of clustered cells only has ``G_c - J_c`` df.
    The combination (intersection-union) test's components keep their own
    dfs; its power joins their exact marginal powers by a Gaussian copula
    (an approximation, named in the result's method).  Large-sample (Wald) outcomes keep
    ``df = inf``.  The derivation assumes each therapy group is formed within
    one cell; if groups mix participants of both levels of the other factor,
    group effects cancel from within-group contrasts and only contrasts
    across ``factor`` carry the design effect (not modelled).

    References
    ----------
    .. [1] Roberts C, Roberts SA. Design and analysis of clinical trials with
       clustering effects due to treatment. Clin Trials 2005;2:152-162.
    .. [2] Candlish J, Teare MD, Dimairo M, et al. Appropriate statistical
       methods for analysing partially nested randomised controlled trials
       with continuous outcomes. BMC Med Res Methodol 2018;18:105.
    .. [3] Eldridge SM, Ashby D, Kerry S. Sample size for cluster randomized
       trials: effect of coefficient of variation of cluster size and
       analysis method. Int J Epidemiol 2006;35:1292-1300.
    .. [4] Satterthwaite FE. An approximate distribution of estimates of
       variance components. Biometrics Bulletin 1946;2:110-114.

    Examples
    --------
    >>> import trialplan as tp
    >>> groups = tp.Clustering(factor="MBI", icc=0.05, group_size=8)
    >>> groups.design_effect
    1.35
    """

    factor: str
    level: str | None = None
    icc: float
    group_size: float
    size_cv: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.factor, str) or not self.factor:
            raise TypeError(f"factor must be a factor name (a string); got factor={self.factor!r}")
        if self.level is not None and not isinstance(self.level, str):
            raise TypeError(
                f"level must be a level name (a string) or None; got level={self.level!r}"
            )
        icc = check_real("icc", self.icc)
        if not 0.0 <= icc < 1.0:
            raise ValueError(f"icc must lie in [0, 1); got icc={self.icc!r}")
        m = check_real("group_size", self.group_size)
        if m < 1.0:
            raise ValueError(
                f"group_size must be >= 1 participant; got group_size={self.group_size!r}"
            )
        cv = check_real("size_cv", self.size_cv)
        if cv < 0.0:
            raise ValueError(f"size_cv must be >= 0; got size_cv={self.size_cv!r}")
        object.__setattr__(self, "icc", icc)
        object.__setattr__(self, "group_size", m)
        object.__setattr__(self, "size_cv", cv)
        try:
            finite = math.isfinite(self.design_effect)
        except OverflowError:  # size_cv**2 beyond the float range
            finite = False
        if not finite:
            raise ValueError(
                f"group_size={self.group_size!r} and size_cv={self.size_cv!r} give a design "
                "effect 1 + ((1 + size_cv^2) group_size - 1) icc beyond the float range"
            )

    @property
    def design_effect(self) -> float:
        """Variance inflation in the clustered cells, ``1 + ((1 + cv^2) m - 1) ICC``."""
        return 1.0 + ((1.0 + self.size_cv**2) * self.group_size - 1.0) * self.icc

    def replace(self, **changes: Any) -> Clustering:
        """Return a copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------ design side
    def resolved(self, factors: Any) -> Clustering:
        """Return the clustering with ``level`` filled in, checked against ``factors``."""
        if self.factor not in factors:
            raise ValueError(
                f"clusters: factor={self.factor!r} is not a factor of the "
                f"design; factors are {tuple(factors)}" + did_you_mean(self.factor, factors)
            )
        levels = tuple(factors[self.factor])
        level = levels[1] if self.level is None else self.level
        if level not in levels:
            raise ValueError(
                f"clusters: level={level!r} is not a level of factor "
                f"{self.factor!r}, whose levels are {levels}" + did_you_mean(level, levels)
            )
        return self if level == self.level else dataclasses.replace(self, level=level)

    def clustered(self, design: Any) -> np.ndarray:
        """Boolean mask of the design's cells delivered in groups."""
        index = tuple(design.factors).index(self.factor)
        level = self.resolved(design.factors).level
        return np.array([cell[index] == level for cell in design.cells])

    def design_effects(self, design: Any) -> np.ndarray:
        """Per-cell design effect: ``DE`` in clustered cells, 1 elsewhere."""
        return np.where(self.clustered(design), self.design_effect, 1.0)

    def groups(self, design: Any) -> np.ndarray:
        """Therapy groups per cell, ``ceil(n_j / m)`` (0 in unclustered cells)."""
        return therapy_groups(design.n_array, self.clustered(design), self.group_size)

    def adjust_model(self, design: Any, model: Any) -> Any:
        """Give t outcomes the two mean squares of the partially nested analysis.

        The model's degrees-of-freedom rule records the clustered cells and
        the group size, so the statistics follow the groups at other sizes
        (:class:`trialplan.statistic.DfRule`).

        Raises
        ------
        ValueError
            For a t outcome whose clustered cells hold one therapy group each
            (the between-group variance cannot be estimated).
        """
        mask = self.clustered(design)
        level = self.resolved(design.factors).level
        note = (
            f"{self.factor}={level} delivered in groups of "
            f"{self.group_size:g} (ICC {self.icc:g}, design effect "
            f"{self.design_effect:.3f})"
        )
        if math.isinf(model.df) or not mask.any():
            return dataclasses.replace(
                model, method=f"{model.method}; {note}", notes=model.notes + (note,)
            )
        n = np.asarray(design.n_array, dtype=float)
        rule = dataclasses.replace(
            model.rule(n), clustered=tuple(bool(v) for v in mask), group_size=self.group_size
        )
        try:
            df, _, part_of_cell, part_df = rule.at(n)
        except ValueError:
            raise ValueError(
                f"clusters: the cells with {self.factor}={level} "
                f"hold {self.groups(design)[mask].tolist()} therapy group(s) of group_size="
                f"{self.group_size:g}, too few to estimate the between-group variance; "
                "allowed: at least two groups in a clustered cell (n > group_size)"
            ) from None
        return dataclasses.replace(
            model,
            df=df,
            part_of_cell=part_of_cell,
            part_df=part_df,
            df_rule=rule,
            method=(
                f"{model.method}; {note}, Satterthwaite df from the between-group and "
                "within-cell mean squares"
            ),
            notes=model.notes + (note,),
        )

    def describe(self) -> str:
        """Short words for a design summary."""
        return (
            f"{self.factor}={self.level or '(active)'} in groups of {self.group_size:g}, "
            f"ICC {self.icc:g}"
        )
