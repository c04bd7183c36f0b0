"""How many to randomize per cell: whole allocation blocks, dropout allowed for.

A sample-size search gives the participants each cell must *analyse*.  The
trial randomizes in the ratios of those sizes (1:1:1:1 for equal cells), in
permuted blocks; so the number *randomized* is a whole number of allocation
cycles, rounded up to a length whole blocks fill, and every cell's share
follows from the total:

1. ``m = max_j ceil(n_j / ((1 - d_j) r_j))`` allocation cycles, the fewest
   for which every cell's expected analysed count ``m r_j (1 - d_j)`` reaches
   its required ``n_j`` (dropout ``d_j``, ratio ``r_j``);
2. ``N = m * sum(r)``, rounded up to the smallest length the block sizes fill;
3. ``R_j = N r_j / sum(r)`` randomized and ``floor(R_j (1 - d_j))`` expected
   analysed in cell ``j``.

The per-cell counts are never rounded one by one, so they always come from
the stated allocation (331 and 439 cannot come from a 1:1:1:1 list).

Examples
--------
>>> alloc = allocate(cells=("a", "b"), ratios=(1, 1), required=(308, 308),
...                  dropout=(0.07, 0.30), block_sizes=(4, 8))
>>> alloc.n_randomized, alloc.randomized, alloc.analysed
(880, (440, 440), (409, 308))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from trialplan._blocks import is_fillable, smallest_fillable

__all__ = ["Allocation", "RandomizationPlan", "allocate"]


@dataclass(frozen=True, kw_only=True)
class RandomizationPlan:
    """Settings of the randomization list (``trialplan randomize``).

    Parameters
    ----------
    n : int, optional
        Participants to randomize.  By default the plan's number: the
        required analysed sizes allowing for dropout, rounded up to whole
        blocks.  A larger number may be given (it must be a length whole
        blocks fill); a smaller one is refused when the plan is made.
    block_sizes : tuple of int, default ()
        Permuted block sizes (multiples of the sum of the allocation ratios);
        empty means one and two times that sum (4 and 8 for a 2x2).
    strata : mapping of str to tuple of str, default {}
        Stratification variables and their levels.  Each stratum gets a list
        of ``n`` entries, enough should the whole trial enrol in it.
    seed : int, default 2026
        Seed of the list (numpy ``Generator``).

    Examples
    --------
    >>> RandomizationPlan(n=200, block_sizes=(4, 8), seed=1).block_sizes
    (4, 8)
    """

    n: int | None = None
    block_sizes: tuple[int, ...] = ()
    strata: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    seed: int = 2026

    def __post_init__(self) -> None:
        if self.n is not None and (
            isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1
        ):
            raise ValueError(f"n must be a whole number >= 1; got n={self.n!r}")
        sizes = self.block_sizes
        if isinstance(sizes, int) and not isinstance(sizes, bool):
            sizes = (sizes,)  # block_sizes = 4 said "'int' object is not iterable"
        if isinstance(sizes, str) or not isinstance(sizes, Sequence):
            raise TypeError(
                "block_sizes must be a whole number or a list of them, e.g. [4, 8]; got "
                f"block_sizes={self.block_sizes!r}"
            )
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(
                    f"block_sizes must be whole numbers >= 1; got block_sizes={self.block_sizes!r}"
                )
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"block_sizes lists a size twice: {tuple(sizes)!r}")
        object.__setattr__(self, "block_sizes", tuple(sizes))
        if not isinstance(self.strata, Mapping):
            raise TypeError(
                f"strata must be a table {{variable: [levels]}}; got strata={self.strata!r}"
            )
        strata = {}
        for name, levels in self.strata.items():
            if (
                isinstance(levels, str)
                or not isinstance(levels, Sequence)
                or not all(isinstance(v, str) for v in levels)
                or len(levels) < 1
            ):
                raise ValueError(
                    f"strata must map each variable to a list of level names; "
                    f"got strata[{name!r}]={levels!r}"
                )
            if len(set(levels)) != len(levels):
                raise ValueError(f"strata[{name!r}] lists a level twice: {tuple(levels)!r}")
            strata[name] = tuple(levels)
        object.__setattr__(self, "strata", MappingProxyType(strata))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0; got seed={self.seed!r}")

    def replace(self, **changes: Any) -> RandomizationPlan:
        """Return a copy with some settings changed (validated again)."""
        from dataclasses import replace

        return replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class Allocation:
    """Participants per cell: required, randomized and expected analysed.

    Attributes
    ----------
    cells : tuple
        The randomized units (factorial cells, arms, SMART stage-1 arms).
    ratios : tuple of int
        Allocation ratios of the list.
    required : tuple of int
        Analysed participants each cell needs (the sample-size result, or the
        stated size).
    dropout : tuple of float
        Expected proportion lost per cell.
    block_sizes : tuple of int
        Block sizes of the list; the randomized total is a length they fill.
    randomized : tuple of int
        Participants randomized per cell: ``n_randomized * r_j / sum(r)``.
    analysed : tuple of int
        Expected analysed per cell, ``floor(randomized * (1 - dropout))``
        (never below ``required``).

    Examples
    --------
    >>> alloc = allocate(cells=("a", "b", "c"), ratios=(2, 1, 1), required=(60, 30, 30),
    ...                  dropout=(0.1, 0.1, 0.1), block_sizes=(4, 8))
    >>> alloc.n_randomized, alloc.randomized, alloc.analysed, alloc.n_analysed
    (136, (68, 34, 34), (61, 30, 30), 121)
    """

    cells: tuple[Any, ...]
    ratios: tuple[int, ...]
    required: tuple[int, ...]
    dropout: tuple[float, ...]
    block_sizes: tuple[int, ...]
    randomized: tuple[int, ...]
    analysed: tuple[int, ...]

    @property
    def unit(self) -> int:
        """Participants in one allocation cycle, ``sum(ratios)``."""
        return int(sum(self.ratios))

    @property
    def n_randomized(self) -> int:
        """Participants randomized in all cells."""
        return int(sum(self.randomized))

    @property
    def n_analysed(self) -> int:
        """Participants expected to be analysed in all cells."""
        return int(sum(self.analysed))

    @property
    def n_required(self) -> int:
        """Analysed participants the sample size needs in all cells."""
        return int(sum(self.required))

    @property
    def equal(self) -> bool:
        """True when every cell has the same allocation ratio."""
        return len(set(self.ratios)) == 1

    def randomized_per_cell(self) -> dict[Any, int]:
        """``{cell: randomized}``."""
        return dict(zip(self.cells, self.randomized, strict=True))

    def analysed_per_cell(self) -> dict[Any, int]:
        """``{cell: expected analysed}``."""
        return dict(zip(self.cells, self.analysed, strict=True))

    def at(self, n_randomized: int) -> tuple[int, ...]:
        """Expected analysed per cell when ``n_randomized`` (a multiple of ``unit``) are randomized.

        Examples
        --------
        >>> alloc = allocate(cells=("a", "b"), ratios=(1, 1), required=(10, 10),
        ...                  dropout=(0.0, 0.5), block_sizes=(2,))
        >>> alloc.at(40)
        (20, 10)
        """
        if n_randomized % self.unit:
            raise ValueError(
                f"n_randomized must be a multiple of {self.unit}, the sum of the allocation "
                f"ratios; got n_randomized={n_randomized}"
            )
        cycles = n_randomized // self.unit
        return tuple(
            _analysed(cycles * r, d) for r, d in zip(self.ratios, self.dropout, strict=True)
        )

    def to_frame(self, labels: Sequence[str] | None = None) -> Any:
        """One row per cell: ratio, required, randomized, expected analysed, dropout."""
        # deferred: pandas is heavy and only this needs it
        import pandas as pd

        return pd.DataFrame(
            {
                "cell": list(labels) if labels is not None else [str(c) for c in self.cells],
                "ratio": list(self.ratios),
                "dropout": list(self.dropout),
                "required": list(self.required),
                "randomized": list(self.randomized),
                "analysed": list(self.analysed),
            }
        )


def _analysed(randomized: int, dropout: float) -> int:
    # round() first: 100 * (1 - 0.1) = 90.00000000000001 must stay 90
    return int(math.floor(round(randomized * (1.0 - dropout), 9)))


def ratios_of(sizes: Sequence[int]) -> tuple[int, ...]:
    """Smallest whole-number ratios of ``sizes`` (e.g. 60, 30, 30 -> 2, 1, 1)."""
    divisor = math.gcd(*[int(s) for s in sizes])
    return tuple(int(s) // divisor for s in sizes)


def default_block_sizes(ratios: Sequence[int]) -> tuple[int, int]:
    """One and two allocation cycles, e.g. (4, 8) for 1:1:1:1."""
    unit = int(sum(ratios))
    return (unit, 2 * unit)


def allocate(
    *,
    cells: Sequence[Any],
    ratios: Sequence[int],
    required: Sequence[int],
    dropout: Sequence[float],
    block_sizes: Sequence[int] = (),
    n_randomized: int | None = None,
) -> Allocation:
    """Randomized and expected analysed counts per cell for the required analysed sizes.

    Parameters
    ----------
    cells : sequence
        The randomized units.
    ratios : sequence of int
        Allocation ratios (whole numbers >= 1).
    required : sequence of int
        Analysed participants each cell needs.
    dropout : sequence of float
        Expected proportion lost per cell, in [0, 1).
    block_sizes : sequence of int, optional
        Block sizes of the list, multiples of ``sum(ratios)``; by default one
        and two allocation cycles.
    n_randomized : int, optional
        A total to use instead of the smallest one (at least that, and a
        length the blocks fill).

    Returns
    -------
    Allocation

    Raises
    ------
    ValueError
        If a block size is not a multiple of ``sum(ratios)``, or
        ``n_randomized`` is too small or not a length the blocks fill.

    Examples
    --------
    Twenty participants are needed; blocks of eight fill 24:

    >>> allocate(cells="ab", ratios=(1, 1), required=(10, 10), dropout=(0.0, 0.0),
    ...          block_sizes=(8,)).randomized
    (12, 12)
    """
    ratios = tuple(int(r) for r in ratios)
    unit = sum(ratios)
    sizes = tuple(int(b) for b in block_sizes) or default_block_sizes(ratios)
    bad = [b for b in sizes if b % unit]
    if bad:
        raise ValueError(
            f"block_sizes must be multiples of {unit}, the sum of the allocation ratios "
            f"{':'.join(map(str, ratios))}; got block_sizes={sizes} (e.g. use "
            f"{default_block_sizes(ratios)})"
        )
    cycles = max(
        math.ceil(round(n / ((1.0 - d) * r), 9))
        for n, d, r in zip(required, dropout, ratios, strict=True)
    )
    while any(
        _analysed(cycles * r, d) < n for n, d, r in zip(required, dropout, ratios, strict=True)
    ):
        cycles += 1  # guards the floor against the rounding above
    total = smallest_fillable(cycles * unit, sizes)
    if n_randomized is not None:
        if n_randomized < total:
            raise ValueError(
                f"n={n_randomized} randomizes fewer than the {total} participants the plan "
                "needs (the required analysed sizes, allowing for dropout, in whole blocks); "
                f"give at least {total} or leave n out"
            )
        if n_randomized % unit or not is_fillable(n_randomized, sizes):
            raise ValueError(
                f"n={n_randomized} is not a length whole blocks of {sizes} fill; the next "
                f"one is {smallest_fillable(n_randomized, sizes)}"
            )
        total = int(n_randomized)
    randomized = tuple(total * r // unit for r in ratios)
    return Allocation(
        cells=tuple(cells),
        ratios=ratios,
        required=tuple(int(n) for n in required),
        dropout=tuple(float(d) for d in dropout),
        block_sizes=sizes,
        randomized=randomized,
        analysed=tuple(_analysed(n, d) for n, d in zip(randomized, dropout, strict=True)),
    )
