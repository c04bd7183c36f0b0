"""Outcome types: what is measured and the planning assumptions about it.

An outcome turns the cells (or arms) of a design and their sample sizes into a
:class:`CellModel`: one estimate per cell on the analysis scale, the variance
of each estimate, the degrees of freedom and the method.  Every hypothesis of
every design is a contrast of those cell estimates, so an outcome that can do
this works with every engine.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from trialplan._validation import (
    check_cell_mapping,
    check_choice,
    check_magnitude,
    check_real,
)
from trialplan.statistic import DfRule

__all__ = ["CellModel", "Continuous"]

Cell = Hashable


@dataclass(frozen=True)
class CellModel:
    """Per-cell estimates and their variances at the planned sample size.

    Attributes
    ----------
    estimates : numpy.ndarray
        True cell parameters on the analysis scale (means, log odds, ...).
    variances : numpy.ndarray
        Variance of each cell's estimate (cells are independent).
    df : float
        Residual degrees of freedom of the analysis; ``math.inf`` for
        large-sample (Wald) statistics.
    method : str
        How power is computed, naming any approximation.
    scale : str
        The analysis scale in words, e.g. ``"mean difference"``.
    favourable : int
        +1 when larger values are better, -1 when lower values are better.
    covariate_df : float or None
        For an ANCOVA on a normally distributed baseline: the within-cell
        degrees of freedom of the baseline (N - cells).  Chance imbalance of
        the baseline then attenuates the noncentrality by the random factor
        ``1 / sqrt(1 + F(1, m) / m)``, which exact power averages over
        (Shieh 2020).  ``None`` for no covariate.
    notes : tuple of str
        Remarks carried into results (e.g. zero-cell rules).
    part_of_cell : numpy.ndarray or None
        When the cell variances are estimated by several pooled mean squares
        (group-delivered cells: a between-group mean square in the clustered
        cells, the within-cell one elsewhere), the index of each cell's mean
        square; ``None`` when one pooled residual variance serves all cells.
    part_df : tuple of float
        Degrees of freedom of each of those mean squares.
    df_rule : DfRule or None
        How ``df`` (and ``covariate_df``) follow the cell sizes; ``None``
        means a fixed number of parameters, ``df = N - (N_planned - df)``
        (see :meth:`rule`).
    """

    estimates: np.ndarray
    variances: np.ndarray
    df: float
    method: str
    scale: str
    favourable: int
    covariate_df: float | None = None
    notes: tuple[str, ...] = field(default=())
    part_of_cell: np.ndarray | None = None
    part_df: tuple[float, ...] = ()
    df_rule: DfRule | None = None

    def rule(self, sizes: Any) -> DfRule:
        """The degrees-of-freedom rule, derived from ``df`` at ``sizes`` when not given.

        Examples
        --------
        >>> import numpy as np
        >>> m = CellModel(estimates=np.zeros(2), variances=np.ones(2), df=18.0,
        ...               method="t", scale="mean difference", favourable=1)
        >>> m.rule([10, 10])
        DfRule(subtract=2.0, covariate_subtract=None, clustered=(), group_size=1.0)
        """
        if self.df_rule is not None:
            return self.df_rule
        if math.isinf(self.df):
            return DfRule()
        total = float(np.sum(sizes))
        return DfRule(
            subtract=total - self.df,
            covariate_subtract=None if self.covariate_df is None else total - self.covariate_df,
        )

    def contrast_df(self, weights: Any) -> float:
        """Degrees of freedom of the t statistic of the contrast ``weights``.

        ``df`` with one pooled residual variance.  With several mean squares
        (``part_of_cell``) the contrast's variance ``V = sum_k V_k`` mixes
        them, and its df is Satterthwaite's (1946)
        ``V^2 / sum_k (V_k^2 / df_k)`` over the parts the contrast uses, at
        the planning values.

        Raises
        ------
        ValueError
            If the contrast uses a mean square with fewer than 1 df.

        Examples
        --------
        >>> import numpy as np
        >>> m = CellModel(estimates=np.zeros(2), variances=np.array([1.0, 1.0]), df=30.0,
        ...               method="t", scale="mean difference", favourable=1,
        ...               part_of_cell=np.array([0, 1]), part_df=(10.0, 20.0))
        >>> round(m.contrast_df([1.0, -1.0]), 4)      # 2^2 / (1/10 + 1/20)
        26.6667
        """
        if self.part_of_cell is None or math.isinf(self.df):
            return self.df
        parts = np.bincount(
            np.asarray(self.part_of_cell),
            weights=np.asarray(weights, dtype=float) ** 2 * self.variances,
            minlength=len(self.part_df),
        )
        dfs = np.asarray(self.part_df, dtype=float)
        used = parts > 0
        if not used.any():
            return self.df
        if np.any(dfs[used] < 1):
            raise ValueError(
                f"a contrast uses a variance estimate with {dfs[used].min():g} "
                "degrees of freedom; allowed: >= 1 (with group delivery: at "
                "least two therapy groups in a clustered cell)"
            )
        return float(parts.sum() ** 2 / np.sum(parts[used] ** 2 / dfs[used]))


@dataclass(frozen=True, kw_only=True)
class Continuous:
    """A continuous outcome with normal errors and a common SD.

    Parameters
    ----------
    means : mapping
        Expected outcome per cell (factorial: a tuple of levels, one per factor,
        e.g. ``("active", "MBI")``) or per arm name (parallel designs).
    sd : float
        Common residual standard deviation of the outcome (> 0), in the
        outcome's units (e.g. HAM-D points).
    baseline_corr : float, default 0.0
        Correlation rho between the baseline measure and the outcome.  When
        non-zero the analysis is an ANCOVA on baseline: residual variance
        ``sd**2 * (1 - rho**2)`` and one residual degree of freedom fewer
        (Borm, Fransen & Lemmens 2007).
    better : {"lower", "higher"}, default "lower"
        Which direction is a benefit (HAM-D: lower).  Used by one-sided tests
        and the combination (min) test.

    Raises
    ------
    ValueError
        If ``sd`` is not a finite number > 0, a mean is not finite,
        ``baseline_corr`` is outside (-1, 1) or ``better`` is unknown.

    Examples
    --------
    >>> import trialplan as tp
    >>> y = tp.Continuous(means={"a": 0.0, "b": -3.0}, sd=8.0, baseline_corr=0.5)
    >>> round(y.residual_sd, 4)
    6.9282
    """

    means: Mapping[Cell, float]
    sd: float
    baseline_corr: float = 0.0
    better: str = "lower"

    def __post_init__(self) -> None:
        means = {
            key: check_magnitude(f"means[{key!r}]", value)
            for key, value in check_cell_mapping("means", self.means, holding="mean").items()
        }
        object.__setattr__(self, "means", MappingProxyType(means))
        object.__setattr__(self, "sd", check_magnitude("sd", self.sd, scale=True))
        rho = check_real("baseline_corr", self.baseline_corr)
        if not -1.0 < rho < 1.0:
            raise ValueError(
                "baseline_corr must lie strictly between -1 and 1; got "
                f"baseline_corr={self.baseline_corr!r}"
            )
        object.__setattr__(self, "baseline_corr", rho)
        check_choice("better", self.better, ("lower", "higher"))

    @property
    def residual_sd(self) -> float:
        """SD of the outcome after adjustment for baseline, ``sd * sqrt(1 - rho**2)``."""
        return self.sd * math.sqrt(1.0 - self.baseline_corr**2)

    @property
    def n_covariates(self) -> int:
        """Number of covariates in the planned analysis (1 for ANCOVA, else 0)."""
        return int(self.baseline_corr != 0.0)

    @property
    def favourable(self) -> int:
        """+1 when higher values are better, -1 when lower values are."""
        return 1 if self.better == "higher" else -1

    def replace(self, **changes: Any) -> Continuous:
        """Return a copy with some parameters changed (validated again)."""
        from dataclasses import replace

        return replace(self, **changes)

    def cell_model(
        self, cells: Sequence[Cell], n: np.ndarray, design_effect: np.ndarray | None = None
    ) -> CellModel:
        """Cell means and variances ``sigma_adj^2 * DE_j / n_j`` for the given cells.

        Parameters
        ----------
        cells : sequence
            Cells in the design's order; each must be a key of ``means``.
        n : numpy.ndarray
            Analysed participants per cell.
        design_effect : numpy.ndarray, optional
            Variance inflation per cell (clustered delivery); 1 by default.

        Returns
        -------
        CellModel
            Exact for normal errors: the contrasts' t statistics are
            noncentral t with ``df = N - cells - covariates``; with a baseline
            covariate, conditionally on the baseline's chance imbalance.
        """
        estimates = np.array([self.means[c] for c in cells], dtype=float)
        de = np.ones(len(cells)) if design_effect is None else np.asarray(design_effect, float)
        variances = self.residual_sd**2 * de / np.asarray(n, dtype=float)
        n_total = float(np.sum(n))
        df = n_total - len(cells) - self.n_covariates
        if self.n_covariates == 0:
            method, covariate_df = "exact noncentral t", None
        else:
            method = "exact noncentral t, ANCOVA on a normal baseline (Shieh 2020)"
            covariate_df = n_total - len(cells)
        return CellModel(
            estimates=estimates,
            variances=variances,
            df=df,
            method=method,
            scale="mean difference",
            favourable=self.favourable,
            covariate_df=covariate_df,
            df_rule=DfRule(
                subtract=float(len(cells) + self.n_covariates),
                covariate_subtract=float(len(cells)) if self.n_covariates else None,
            ),
        )
