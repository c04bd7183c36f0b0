"""Named hypotheses as contrasts of cell parameters, and their statistics.

A :class:`Hypothesis` is one linear contrast of the cells (a main effect, an
interaction, a simple effect, a pairwise comparison) or several one-sided
contrasts that must all reject (the intersection-union "combination" test).
Given a design's :class:`~trialplan.outcomes.CellModel` it yields canonical
statistics, so every engine works for every design.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from trialplan.outcomes import CellModel
from trialplan.statistic import IntersectionUnion, TestStatistic

__all__ = ["Hypothesis", "contrast_covariance"]


@dataclass(frozen=True)
class Hypothesis:
    """A named hypothesis over the cells of a design.

    Parameters
    ----------
    name : str
        The name users index results with, e.g. ``"rTMS:MBI"``.
    estimand : str
        The estimand in words.
    contrasts : numpy.ndarray
        Shape (m, cells).  One row: a single test at the design's sidedness.
        Several rows: an intersection-union test, every row one-sided in the
        favourable direction at level ``alpha / sided``.

    Examples
    --------
    >>> import numpy as np
    >>> h = Hypothesis(name="A:B", estimand="interaction", contrasts=np.array([1, -1, -1, 1]))
    >>> h.contrasts.shape, h.is_intersection_union
    ((1, 4), False)
    """

    name: str
    estimand: str
    contrasts: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        weights = np.atleast_2d(np.asarray(self.contrasts, dtype=float))
        weights.setflags(write=False)
        object.__setattr__(self, "contrasts", weights)

    @property
    def is_intersection_union(self) -> bool:
        """True when every one of several contrasts must reject."""
        return self.contrasts.shape[0] > 1

    def statistic(
        self, model: CellModel, *, alpha: float, sided: int
    ) -> TestStatistic | IntersectionUnion:
        """The canonical statistic of this hypothesis under ``model``.

        Parameters
        ----------
        model : CellModel
            Cell estimates and variances at the planned sample size.
        alpha : float
            The design's significance level (two-sided total if ``sided=2``).
        sided : {1, 2}
            The design's sidedness.

        Returns
        -------
        TestStatistic or IntersectionUnion
        """
        effects = self.contrasts @ model.estimates
        cov = contrast_covariance(self.contrasts, model.variances)
        ses = np.sqrt(np.diag(cov))
        if not self.is_intersection_union:
            return TestStatistic(
                hypothesis=self.name,
                estimand=self.estimand,
                effect=float(effects[0]),
                se=float(ses[0]),
                df=model.contrast_df(self.contrasts[0]),
                sided=sided,
                alpha=alpha,
                favourable=model.favourable,
                method=model.method,
                scale=model.scale,
                contrast=tuple(self.contrasts[0]),
                covariate_df=model.covariate_df,
            )
        level = alpha / sided
        # Each component keeps its own df (they differ only with per-contrast
        # Satterthwaite df, i.e. group-delivered cells).
        dfs = [model.contrast_df(row) for row in self.contrasts]
        method = model.method
        if model.covariate_df is not None:
            # The joint law under baseline imbalance is not a product form; use
            # the expected variance inflation E[1 + F/m] = 1 + 1/(m - 2).
            inflation = 1.0 + 1.0 / (model.covariate_df - 2.0)
            ses = ses * math.sqrt(inflation) if model.covariate_df > 2 else ses
            method = "noncentral t, ANCOVA with expected imbalance inflation (approx.)"
        components = tuple(
            TestStatistic(
                hypothesis=f"{self.name}[{i + 1}]",
                estimand=self.estimand,
                effect=float(effects[i]),
                se=float(ses[i]),
                df=dfs[i],
                sided=1,
                alpha=level,
                favourable=model.favourable,
                method=method,
                scale=model.scale,
                contrast=tuple(row),
            )
            for i, row in enumerate(self.contrasts)
        )
        corr = cov / np.outer(np.sqrt(np.diag(cov)), np.sqrt(np.diag(cov)))
        if len(set(dfs)) > 1:
            joint = (
                "Gaussian copula of the components' exact noncentral t powers "
                f"(approx.; their Satterthwaite df differ) ({method})"
            )
        elif model.covariate_df is not None:
            joint = (
                "multivariate t with the standard errors at their expected ANCOVA "
                "imbalance inflation (approx.)"
            )
        else:
            joint = f"exact multivariate {'normal' if math.isinf(dfs[0]) else 't'} ({method})"
        return IntersectionUnion(
            hypothesis=self.name,
            estimand=self.estimand,
            components=components,
            correlation=corr,
            method=f"intersection-union (min) test, {joint}",
        )


def contrast_covariance(contrasts: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """Covariance ``C diag(v) C'`` of contrasts of independent cell estimates."""
    contrasts = np.atleast_2d(contrasts)
    return (contrasts * variances) @ contrasts.T
