"""Factorial designs with any number of two-level factors (2^k cells).

Cells are tuples of levels, one per factor, in the order the factors are
given.  Hypotheses are contrasts of the cell parameters:

* ``"A"``: main effect of A, level 1 minus level 0, averaged over the other
  factors (effect coding +-1/2 in a 2x2);
* ``"A:B"``: the interaction contrast, the difference of differences
  ``IC = mu(a1,b1) - mu(a1,b0) - mu(a0,b1) + mu(a0,b0)``, averaged over any
  other factors; ``"A:B:C"`` is the difference of ``A:B`` between C's levels;
* ``"A | B=b0"``: the simple effect of A within level ``b0`` of B (several
  conditions may be joined by commas; the term may also be an interaction);
* ``"combination"``: the intersection-union (min) test that the cell with
  every factor at its second level beats each cell with exactly one factor at
  its first level, each comparison one-sided in the ``better`` direction at
  ``alpha / sided``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np

from trialplan._validation import as_sequence, check_open_unit, check_sided, did_you_mean
from trialplan.designs.base import (
    CellDesign,
    _cell_parameter,
    check_cell_sizes,
    check_dropout,
    check_primary,
    check_size_list,
)
from trialplan.designs.clustering import Clustering
from trialplan.designs.hypotheses import Hypothesis
from trialplan.outcomes.base import Outcome

__all__ = ["Factorial"]

Cell = tuple[str, ...]
_RESERVED = (":", "|", "=", ",")


@dataclass(frozen=True, kw_only=True, repr=False)
class Factorial(CellDesign):
    """A 2^k factorial trial: every combination of k two-level factors is a cell.

    Parameters
    ----------
    factors : mapping of str to (str, str)
        Factor name to its (reference, active) levels, e.g.
        ``{"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}``.
    outcome : Continuous (or another outcome type)
        Planning values per cell, keyed by tuples of levels in factor order.
    n_per_cell : int or mapping of cell to int
        Participants analysed per cell; a mapping gives unequal allocation.
    alpha : float, default 0.05
        Significance level (the two-sided total when ``sided=2``).
    sided : {1, 2}, default 2
        Two-sided tests by default; one-sided tests reject in the outcome's
        ``better`` direction.
    dropout : float or mapping of cell to float, default 0.0
        Expected proportion lost to follow-up; ``n_per_cell`` counts analysed
        participants and ``ceil(n / (1 - dropout))`` are randomized.
    clusters : Clustering, optional
        Group delivery of one factor level (e.g. MBI taught in groups of 8):
        cells at that level get the design effect ``1 + (m - 1) ICC`` on
        their variance, and t-based outcomes count groups in the degrees of
        freedom (see :class:`~trialplan.Clustering`).
    primary : str or sequence of str, optional
        The hypotheses ``sample_size()`` sizes when no ``hypothesis`` is
        named (checked against the design's hypotheses, with the closest
        name suggested); without it ``sample_size()`` asks for one.

    Raises
    ------
    ValueError
        For a level name that is not a level (the closest one is suggested),
        missing or extra cells, alpha outside (0, 1), or sizes that leave no
        residual degrees of freedom.
    TypeError
        For sizes that are not whole numbers, or cells that are not tuples.

    Examples
    --------
    >>> import trialplan as tp
    >>> design = tp.Factorial(
    ...     factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.Continuous(
    ...         means={("sham", "control"): 0.0, ("active", "control"): -3.0,
    ...                ("sham", "MBI"): -2.0, ("active", "MBI"): -8.0},
    ...         sd=8.0, better="lower"),
    ...     n_per_cell=50)
    >>> res = design.power()
    >>> round(res["rTMS"], 3), round(res["rTMS:MBI"], 3)
    (0.977, 0.261)
    """

    factors: Mapping[str, tuple[str, str]]
    outcome: Outcome
    n_per_cell: int | Mapping[Cell, int]
    alpha: float = 0.05
    sided: int = 2
    dropout: float | Mapping[Cell, float] = 0.0
    clusters: Clustering | None = None
    primary: Sequence[str] | None = None

    design_kind = "factorial"

    def __post_init__(self) -> None:
        object.__setattr__(self, "factors", MappingProxyType(_check_factors(self.factors)))
        object.__setattr__(self, "alpha", check_open_unit("alpha", self.alpha))
        object.__setattr__(self, "sided", check_sided(self.sided))
        if not isinstance(self.outcome, Outcome):
            raise TypeError(
                "outcome must be an outcome type such as tp.Continuous(...); got "
                f"outcome={self.outcome!r}"
            )
        self._check_outcome_cells()
        n = check_cell_sizes(self.n_per_cell, self.cells, self._cell, name="n_per_cell")
        object.__setattr__(self, "n_per_cell", n if isinstance(n, int) else MappingProxyType(n))
        drop = check_dropout(self.dropout, self.cells, self._cell)
        object.__setattr__(
            self, "dropout", drop if isinstance(drop, float) else MappingProxyType(drop)
        )
        if self.clusters is not None:
            if not isinstance(self.clusters, Clustering):
                raise TypeError(
                    "clusters must be tp.Clustering(factor=..., icc=..., "
                    f"group_size=...) or None; got clusters={self.clusters!r}"
                )
            object.__setattr__(self, "clusters", self.clusters.resolved(self.factors))
        model = self._planned_model()
        if not model.df >= 1:
            raise ValueError(
                f"n_per_cell={_plain(self.n_per_cell)} leaves no residual degrees of freedom: "
                f"N={self.n_total} with {len(self.cells)} cells"
                f"{' and a baseline covariate' if self.outcome.n_covariates else ''}"
                f" gives df={model.df:g}; use at least "
                f"{math.ceil((len(self.cells) + 2) / len(self.cells))} per cell"
            )
        object.__setattr__(
            self, "primary", check_primary(self, self.primary, lambda n: self.hypothesis(n).name)
        )

    # ---------------------------------------------------------------- cells
    @property
    def factor_names(self) -> tuple[str, ...]:
        """Factor names in order."""
        return tuple(self.factors)

    @property
    def cells(self) -> tuple[Cell, ...]:
        """All cells, as tuples of levels (first factor varies slowest)."""
        return self._layout.cells

    @property
    def _layout(self) -> _Layout:
        # What follows from the factors alone, shared by every design with the same
        # factors (kept on the instance after the first look-up; designs are frozen).
        layout = self.__dict__.get("_layout_")
        if layout is None:
            layout = _layout_of(tuple(self.factors.items()))
            self.__dict__["_layout_"] = layout
        return layout

    @property
    def n_array(self) -> np.ndarray:
        """Analysed participants per cell, in the order of ``cells``."""
        n = self.n_per_cell
        if isinstance(n, Mapping):
            return np.array([n[c] for c in self.cells], dtype=int)
        return np.full(len(self.cells), int(n))

    def with_cell_sizes(self, sizes: Sequence[int]) -> Factorial:
        """The same design with these analysed sizes per cell (in ``cells`` order).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> d.cells
        (('a0', 'b0'), ('a0', 'b1'), ('a1', 'b0'), ('a1', 'b1'))
        >>> d.with_cell_sizes([10, 10, 20, 20]).n_per_cell[("a1", "b1")]
        20
        >>> d.with_cell_sizes([30, 30, 30, 30]).n_per_cell
        30
        """
        sizes = check_size_list(sizes, self.cells, name="n_per_cell")
        n: Any = sizes[0] if len(set(sizes)) == 1 else dict(zip(self.cells, sizes, strict=True))
        return self.replace(n_per_cell=n)  # type: ignore[return-value]

    def cell_label(self, cell: Cell) -> str:
        """A cell in words, e.g. ``"active+MBI"``.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> d.cell_label(("a1", "b1"))
        'a1+b1'
        """
        return "+".join(cell)

    def _cell(self, key: Any, what: str) -> Cell:
        """Normalize a user's cell key to a tuple of levels, or raise helpfully."""
        if not isinstance(key, tuple):
            raise TypeError(
                f"{what} keys must be tuples of levels in factor order "
                f"{self.factor_names}; got {key!r}"
            )
        if len(key) != len(self.factors):
            raise ValueError(
                f"{what} key {key!r} has {len(key)} levels; cells have one level "
                f"per factor {self.factor_names}"
            )
        for level, (factor, levels) in zip(key, self.factors.items(), strict=True):
            if level not in levels:
                raise ValueError(
                    f"{what} key {key!r}: {level!r} is not a level of factor "
                    f"{factor!r}, whose levels are {levels}" + did_you_mean(level, levels)
                )
        return key

    def _check_outcome_cells(self) -> None:
        keys = self.outcome.cell_keys()
        what = f"{type(self.outcome).__name__} {_cell_parameter(self.outcome)}"
        given = [self._cell(k, what) for k in keys]
        missing = [c for c in self.cells if c not in given]
        if missing:
            raise ValueError(
                f"{what} are missing {missing}; a {self._shape()} factorial "
                f"needs every cell of {list(self.cells)}"
            )

    def _shape(self) -> str:
        return "x".join("2" for _ in self.factors)

    # ----------------------------------------------------------- hypotheses
    @property
    def hypothesis_names(self) -> tuple[str, ...]:
        """Default hypotheses: main effects, interactions, simple effects, combination."""
        return self._layout.hypothesis_names

    def hypothesis(self, name: str) -> Hypothesis:
        """Parse a hypothesis name into its contrast (see the module docstring).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> d.cells
        (('a0', 'b0'), ('a0', 'b1'), ('a1', 'b0'), ('a1', 'b1'))
        >>> d.hypothesis("A:B").contrasts.tolist()
        [[1.0, -1.0, -1.0, 1.0]]
        >>> d.hypothesis("A | B=b0").contrasts.tolist()
        [[-1.0, 0.0, 1.0, 0.0]]
        """
        if not isinstance(name, str):
            raise TypeError(f"hypothesis must be a string; got {name!r}")
        # A hypothesis is a pure function of the factors, the outcome's better
        # direction (in the combination's words) and the name: parse each once per
        # factor layout (~14 us a name; a 2x2's eight were half the cost of
        # simulating 10,000 trials of a new design object).
        better = self.outcome.better
        parsed = self._layout.parsed
        found = parsed.get((name, better))
        if found is None:
            found = self._parse_hypothesis(name)
            if len(parsed) >= _PARSED_PER_LAYOUT:
                parsed.clear()
            parsed[name, better] = found
        return found

    def _parse_hypothesis(self, name: str) -> Hypothesis:
        if name.strip() == "combination":
            return self._combination()
        term, _, condition = (part.strip() for part in name.partition("|"))
        factors = [f.strip() for f in term.split(":")]
        for f in factors:
            self._check_factor(f, name)
        if len(set(factors)) != len(factors):
            raise ValueError(f"hypothesis {name!r} names a factor twice")
        given = self._parse_condition(condition, name) if condition else {}
        if set(given) & set(factors):
            raise ValueError(f"hypothesis {name!r} conditions on a factor it tests")
        signs = self._signs()
        idx = [self.factor_names.index(f) for f in factors]
        weights = np.prod(signs[:, idx], axis=1)
        mask = np.ones(len(self.cells), dtype=bool)
        for factor, level in given.items():
            mask &= np.array(
                [cell[self.factor_names.index(factor)] == level for cell in self.cells]
            )
        free = len(self.factors) - len(factors) - len(given)
        contrast = np.where(mask, weights, 0.0) / 2.0**free
        return Hypothesis(
            name=name, estimand=self._estimand(factors, given), contrasts=contrast[None, :]
        )

    def _signs(self) -> np.ndarray:
        """(cells, factors) array: -1 at a factor's first level, +1 at its second."""
        return np.array(
            [
                [
                    1.0 if level == levels[1] else -1.0
                    for level, levels in zip(cell, self.factors.values(), strict=True)
                ]
                for cell in self.cells
            ]
        )

    def _check_factor(self, factor: str, name: str) -> None:
        if factor not in self.factors:
            hint = did_you_mean(factor, list(self.factors) + ["combination"])
            raise ValueError(
                f"hypothesis {name!r}: {factor!r} is not a factor; factors are "
                f"{self.factor_names} (hypotheses look like 'A', 'A:B', 'A | B=level', "
                f"'combination'){hint}"
            )

    def _parse_condition(self, condition: str, name: str) -> dict[str, str]:
        given: dict[str, str] = {}
        for part in condition.split(","):
            factor, eq, level = (p.strip() for p in part.partition("="))
            if not eq:
                raise ValueError(
                    f"hypothesis {name!r}: condition {part.strip()!r} must look like 'factor=level'"
                )
            self._check_factor(factor, name)
            levels = self.factors[factor]
            if level not in levels:
                owner = [f for f, lv in self.factors.items() if level in lv]
                hint = (
                    f" ({level!r} is a level of {owner[0]!r})"
                    if owner
                    else did_you_mean(level, levels)
                )
                raise ValueError(
                    f"hypothesis {name!r}: {level!r} is not a level of "
                    f"{factor!r}, whose levels are {levels}{hint}"
                )
            given[factor] = level
        return given

    def _estimand(self, factors: Sequence[str], given: Mapping[str, str]) -> str:
        def contrast_words(f: str) -> str:
            lo, hi = self.factors[f]
            return f"{f} ({hi} vs {lo})"

        if len(factors) == 1:
            text = f"effect of {contrast_words(factors[0])}"
        else:
            first, rest = factors[0], factors[1:]
            text = (
                f"interaction: difference in the effect of {contrast_words(first)} "
                f"between levels of {' and '.join(rest)} (difference of differences)"
            )
        others = [f for f in self.factor_names if f not in factors and f not in given]
        if given:
            text += " within " + ", ".join(f"{f}={lv}" for f, lv in given.items())
        if others:
            text += ", averaged over " + " and ".join(others)
        return text

    def _combination(self) -> Hypothesis:
        if len(self.factors) < 2:
            raise ValueError("'combination' needs at least two factors")
        top = tuple(levels[1] for levels in self.factors.values())
        rows, rivals = [], []
        for i, levels in enumerate(self.factors.values()):
            rival = top[:i] + (levels[0],) + top[i + 1 :]
            row = np.zeros(len(self.cells))
            row[self.cells.index(top)] = 1.0
            row[self.cells.index(rival)] = -1.0
            rows.append(row)
            rivals.append(self.cell_label(rival))
        better = self.outcome.better
        estimand = (
            f"combination {self.cell_label(top)} is {better} than each of "
            f"{', '.join(rivals)} (all one-sided, intersection-union)"
        )
        return Hypothesis(name="combination", estimand=estimand, contrasts=np.array(rows))

    # ------------------------------------------------------------- display
    def describe(self) -> str:
        """One line naming the design, its sizes and its test.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> d.describe()
        'Factorial 2x2 (A x B) | n_per_cell=20 (N=80) | alpha=0.05 two-sided'
        """
        sided = "two-sided" if self.sided == 2 else "one-sided"
        return (
            f"Factorial {self._shape()} ({' x '.join(self.factor_names)}) | "
            f"n_per_cell={_plain(self.n_per_cell)} (N={self.n_total}) | "
            f"alpha={self.alpha:g} {sided}"
            + (f" | {self.clusters.describe()}" if self.clusters is not None else "")
        )


#: Parsed hypotheses kept per factor layout (user names are unbounded; a design has ~10).
_PARSED_PER_LAYOUT = 256


class _Layout:
    """What a factorial's factors alone determine: its cells and hypotheses.

    Shared (through :func:`_layout_of`) by every design with the same factors, so
    a new design object with the same factors (another sample size, other
    planning values, a scenario grid) does not parse its hypotheses again.
    Hypotheses are frozen (read-only contrasts), so sharing them is safe.
    """

    def __init__(self, factors: Mapping[str, tuple[str, str]]) -> None:
        self.cells: tuple[Cell, ...] = tuple(itertools.product(*factors.values()))
        self.parsed: dict[tuple[str, str], Hypothesis] = {}
        names = list(factors)
        for order in range(2, len(factors) + 1):
            names += [":".join(t) for t in itertools.combinations(factors, order)]
        for factor, other in itertools.permutations(factors, 2):
            names += [f"{factor} | {other}={level}" for level in factors[other]]
        if len(factors) >= 2:
            names.append("combination")
        self.hypothesis_names: tuple[str, ...] = tuple(names)


@lru_cache(maxsize=64)
def _layout_of(factors: tuple[tuple[str, tuple[str, str]], ...]) -> _Layout:
    return _Layout(dict(factors))


def _plain(n: Any) -> Any:
    if isinstance(n, Mapping):
        return {"+".join(k) if isinstance(k, tuple) else k: v for k, v in n.items()}
    return n


def _check_factors(factors: Any) -> dict[str, tuple[str, str]]:
    if not isinstance(factors, Mapping) or not factors:
        raise TypeError(
            "factors must be a non-empty mapping {name: (reference level, "
            f"active level)}}; got factors={factors!r}"
        )
    checked: dict[str, tuple[str, str]] = {}
    for name, levels in factors.items():
        levels = as_sequence(levels)
        if not isinstance(name, str) or not name or any(ch in name for ch in _RESERVED):
            raise ValueError(
                f"factor name {name!r} must be a non-empty string without any of {_RESERVED}"
            )
        if isinstance(levels, str) or not isinstance(levels, Sequence) or len(levels) != 2:
            raise ValueError(
                f"factors[{name!r}] must be two levels (reference, active); got "
                f"{levels!r}; trialplan's factorial designs have two-level factors"
            )
        levels = tuple(levels)
        if not all(isinstance(lv, str) and lv for lv in levels) or levels[0] == levels[1]:
            raise ValueError(
                f"factors[{name!r}] must be two different non-empty strings; got {levels!r}"
            )
        if any(ch in lv for lv in levels for ch in _RESERVED):
            raise ValueError(
                f"factors[{name!r}] levels {levels!r} must not contain any of {_RESERVED}"
            )
        checked[name] = levels
    return checked
