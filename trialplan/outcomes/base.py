"""What every outcome type provides: the :class:`Outcome` base and the :class:`CellModel`.

An outcome turns the cells (or arms) of a design and their sample sizes into a
:class:`CellModel`: one estimate per cell on the analysis scale, the variance
of each estimate, the degrees of freedom and the method.  Every hypothesis of
every design is a contrast of those cell estimates, so an outcome that can do
this works with every engine.

Designs, simulators and reports rely on the :class:`Outcome` interface only
(``kind``, ``better``, ``favourable``, ``scale``, ``cell_keys``,
``planning_values``, ``cell_model``, ``extra_rows``, ``replace``), never on
probing an outcome for attributes.  A new outcome type subclasses
:class:`Outcome` (as a frozen dataclass), implements
``planning_values`` and ``cell_model``, and registers a simulator in
:mod:`trialplan.simulate` if it is to be simulated.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from trialplan.statistic import DfRule

__all__ = ["OUTCOME_KINDS", "CellModel", "Outcome"]

Cell = Hashable

#: The kinds of outcome trialplan knows, as ``Outcome.kind`` names them.
OUTCOME_KINDS = ("continuous", "binary", "time_to_event", "repeated")

_Self = TypeVar("_Self", bound="Outcome")


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

    def __repr__(self) -> str:
        """One line: scale, estimates and variances per cell, df, method.

        Examples
        --------
        >>> import numpy as np
        >>> CellModel(estimates=np.array([0.0, -3.0]), variances=np.array([1.28, 1.28]),
        ...           df=98.0, method="exact noncentral t", scale="mean difference",
        ...           favourable=-1)
        CellModel(mean difference: estimates 0, -3; variances 1.28, 1.28; df 98; exact noncentral t)
        """
        estimates = ", ".join(f"{v:.4g}" for v in self.estimates)
        variances = ", ".join(f"{v:.4g}" for v in self.variances)
        return (
            f"CellModel({self.scale}: estimates {estimates}; variances {variances}; "
            f"df {self.df:.4g}; {self.method})"
        )

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


class Outcome(ABC):
    """Base of the outcome types: what a design, a simulator or a report may ask of one.

    Subclasses are frozen dataclasses (``tp.Continuous``, ``tp.Binary``,
    ``tp.TimeToEvent``, ``tp.Repeated``).  They set the class attribute
    :attr:`kind` and implement :meth:`planning_values` and :meth:`cell_model`;
    the rest has defaults.

    Attributes
    ----------
    kind : str
        What is measured, one of :data:`OUTCOME_KINDS` (reports choose their
        wording by it).
    better : str
        ``"lower"`` or ``"higher"``: which direction of the cell parameter is
        a benefit (time to event: lower hazards).
    scale : str or None
        The analysis scale when the outcome offers several (binary:
        ``"risk_difference"``, ``"log_odds"``, ...); None otherwise.

    Examples
    --------
    >>> import trialplan as tp
    >>> from trialplan.outcomes import Outcome
    >>> y = tp.Continuous(means={"a": 0.0, "b": -3.0}, sd=8.0)
    >>> isinstance(y, Outcome), y.kind, y.favourable, y.cell_keys()
    (True, 'continuous', -1, ('a', 'b'))
    """

    kind: ClassVar[str]
    better: str
    #: the analysis scale, when an outcome type offers several (binary); None otherwise
    scale: str | None = None

    @property
    def favourable(self) -> int:
        """+1 when higher values are better, -1 when lower values are."""
        return 1 if self.better == "higher" else -1

    @property
    def n_covariates(self) -> int:
        """Covariates in the planned analysis (1 for an ANCOVA on baseline); 0 by default."""
        return 0

    @property
    def common_sd(self) -> float | None:
        """The outcome's one standard deviation, when it has one (continuous); None otherwise.

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.Continuous(means={"a": 0.0, "b": 1.0}, sd=8.0).common_sd
        8.0
        >>> tp.Binary(rates={"a": 0.3, "b": 0.5}).common_sd is None
        True
        """
        return None

    def cell_keys(self) -> tuple[Cell, ...]:
        """The cells (or arms) the outcome gives planning values for, in its order."""
        return tuple(self.planning_values())

    @abstractmethod
    def planning_values(self) -> Mapping[Cell, Any]:
        """The planning value of each cell: a mean, a rate, a hazard or a vector of means."""

    @abstractmethod
    def cell_model(
        self, cells: Sequence[Cell], n: np.ndarray, design_effect: np.ndarray | None = None
    ) -> CellModel:
        """Cell estimates and their variances for the design's ``cells`` at sizes ``n``."""

    def describe(self, label: Callable[[Cell], str] = str) -> str:
        """The outcome and its planning values in one line (cells named by ``label``).

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.Binary(rates={"a": 0.3, "b": 0.45}).describe()     # Binary's own wording
        'binary: rates a 0.3, b 0.45; tested on the risk_difference scale; higher is better'
        """
        values = ", ".join(
            f"{label(cell)} {_number(value)}" for cell, value in self.planning_values().items()
        )
        scale = f"; {self.scale} scale" if self.scale is not None else ""
        what = self.kind.replace("_", " ")
        return f"{what}: planning values {values}{scale}; {self.better} is better"

    def __repr__(self) -> str:
        # The dataclass fields, with frozen mappings shown as the dicts they were given as.
        shown = ", ".join(
            f"{f.name}={_plain(getattr(self, f.name))!r}"
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.repr
        )
        return f"{type(self).__name__}({shown})"

    def extra_rows(self, design: Any, hypotheses: Sequence[str]) -> list[dict[str, Any]]:
        """Further rows for a power table (binary: the interaction on other scales); none."""
        return []

    def replace(self: _Self, **changes: Any) -> _Self:
        """Return a copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def _number(value: Any) -> str:
    """A planning value in short form: ``-3``, ``0.45``, ``(0, -2, -4)``."""
    if isinstance(value, tuple | list | np.ndarray):
        return "(" + ", ".join(_number(v) for v in value) + ")"
    return f"{value:g}" if isinstance(value, float | int | np.number) else str(value)
