"""A continuous outcome with normal errors (HAM-D change, say), analysed by t tests or ANCOVA."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

import numpy as np

from trialplan._validation import (
    check_cell_mapping,
    check_choice,
    check_magnitude,
    check_real,
)
from trialplan.outcomes.base import CellModel, Outcome
from trialplan.statistic import DfRule

__all__ = ["Continuous"]

Cell = Hashable


@dataclass(frozen=True, kw_only=True, repr=False)
class Continuous(Outcome):
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

    kind: ClassVar[str] = "continuous"

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
    def common_sd(self) -> float:
        """The SD of the outcome (before any baseline adjustment)."""
        return self.sd

    def planning_values(self) -> Mapping[Cell, float]:
        """The planned mean of each cell."""
        return self.means

    def describe(self, label: Callable[[Cell], str] = str) -> str:
        """The means, SD, baseline adjustment and direction in one line.

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.Continuous(means={"a": 0.0, "b": -3.0}, sd=8.0, baseline_corr=0.5).describe()
        'continuous: means a 0, b -3; sd 8, ANCOVA on baseline (correlation 0.5); lower is better'
        """
        means = ", ".join(f"{label(c)} {m:g}" for c, m in self.means.items())
        ancova = (
            f", ANCOVA on baseline (correlation {self.baseline_corr:g})"
            if self.baseline_corr
            else ""
        )
        return f"continuous: means {means}; sd {self.sd:g}{ancova}; {self.better} is better"

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
