"""Checks of a randomization's settings, shared by permuted blocks and minimization.

Strata and minimization factors, block sizes and their probabilities, a
participant's covariates, and the seed (through the library's one seed
normalizer).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from functools import reduce
from typing import Any

import numpy as np

from trialplan._seeds import normalize_seed
from trialplan._validation import as_sequence, check_int, check_real, did_you_mean
from trialplan.randomization.units import Units

__all__ = [
    "MAX_ROWS",
    "RESERVED_COLUMNS",
    "check_block_probs",
    "check_block_sizes",
    "check_covariates",
    "check_seed",
    "check_strata",
]

#: Column names a schedule uses for itself (no stratum may take them).
RESERVED_COLUMNS = ("sequence", "block", "block_size")
#: Most rows a schedule may hold (a list is built in memory, about 100 bytes a row).
MAX_ROWS = 10**7


def check_strata(strata: Any, units: Units, *, name: str = "strata") -> dict[str, tuple[Any, ...]]:
    """Stratification variables (or minimization factors) and their levels, checked.

    Returns the user's variables followed by those the randomization implies (a
    SMART's stage-2 lists are stratified by the stage-1 arm).

    Raises
    ------
    TypeError
        If ``strata`` is not a mapping or a level is neither text nor a whole number.
    ValueError
        For an empty or reserved variable name, an empty or repeated level, or a
        label that cannot be written as UTF-8.
    """
    if strata is None:
        strata = {}
    if not isinstance(strata, Mapping):
        raise TypeError(
            f"{name} must be a mapping {{variable: (level, ...)}}, e.g. "
            f"{{'site': ('A', 'B')}}; got {name}={strata!r}"
        )
    checked: dict[str, tuple[Any, ...]] = {}
    for variable, levels in strata.items():
        if not isinstance(variable, str) or not variable:
            raise ValueError(f"{name} variable names must be non-empty strings; got {variable!r}")
        taken = set(RESERVED_COLUMNS) | set(units.columns) | set(units.implied_strata)
        if variable in taken:
            raise ValueError(
                f"{name} variable {variable!r} clashes with a column of the "
                f"schedule; the names {sorted(taken)} are taken"
            )
        levels = as_sequence(levels)
        if isinstance(levels, str) or not isinstance(levels, Sequence) or len(levels) == 0:
            raise ValueError(
                f"{name}[{variable!r}] must be a non-empty sequence of levels, "
                f"e.g. ('A', 'B'); got {levels!r}"
            )
        levels = tuple(levels)
        for level in levels:
            if isinstance(level, bool) or not isinstance(level, str | numbers.Integral):
                raise TypeError(
                    f"{name}[{variable!r}] levels must be strings or whole numbers; got {level!r}"
                )
        for text in (variable, *(lv for lv in levels if isinstance(lv, str))):
            if not _encodable(text):
                raise ValueError(
                    f"{name}[{variable!r}] has the label {text!r}, which contains a lone "
                    "surrogate (not a character) and cannot be written to a UTF-8 file"
                )
        if len(set(levels)) != len(levels):
            raise ValueError(f"{name}[{variable!r}] lists a level twice: {levels!r}")
        checked[variable] = levels
    return {**checked, **dict(units.implied_strata)}


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_block_sizes(block_sizes: Any, units: Units) -> tuple[int, ...]:
    """Block sizes, each a multiple of the ratio sum (default: one and two times it).

    Raises
    ------
    TypeError
        If ``block_sizes`` is not a whole number or a sequence of them.
    ValueError
        For a size listed twice, above ``MAX_ROWS``, or not a multiple of the sum of
        the allocation ratios.
    """
    unit = reduce(math.lcm, (sum(r) for r in units.ratio_sets().values()))
    if block_sizes is None:
        return (unit, 2 * unit)
    if isinstance(block_sizes, numbers.Integral) and not isinstance(block_sizes, bool):
        block_sizes = (block_sizes,)
    block_sizes = as_sequence(block_sizes)
    if (
        isinstance(block_sizes, str)
        or not isinstance(block_sizes, Sequence)
        or len(block_sizes) == 0
    ):
        raise TypeError(
            f"block_sizes must be a whole number or a non-empty sequence of them, "
            f"e.g. (4, 8); got block_sizes={block_sizes!r}"
        )
    sizes = tuple(check_int("block_sizes", b) for b in block_sizes)
    if max(sizes) > MAX_ROWS:
        raise ValueError(f"block_sizes must be at most {MAX_ROWS:,}; got block_sizes={sizes!r}")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"block_sizes lists a size twice: {sizes!r}")
    for where, ratios in units.ratio_sets().items():
        total = sum(ratios)
        if any(b % total for b in sizes):
            ratio_text = ":".join(map(str, ratios))
            raise ValueError(
                f"block_sizes must be multiples of {total}, the sum of the "
                f"allocation ratios {ratio_text}{where} over "
                f"{len(units.treatments)} treatments; got block_sizes={sizes!r} "
                f"(e.g. use {(unit, 2 * unit)})"
            )
    return sizes


def check_block_probs(block_probs: Any, sizes: tuple[int, ...]) -> tuple[float, ...]:
    """Probability of each block size (uniform by default), checked to sum to 1.

    Raises
    ------
    ValueError
        For a probability per unknown size, the wrong number of them, a negative
        one, or a sum other than 1.
    """
    if block_probs is None:
        return tuple(1.0 / len(sizes) for _ in sizes)
    if isinstance(block_probs, Mapping):
        unknown = [b for b in block_probs if b not in sizes]
        if unknown:
            raise ValueError(
                f"block_probs has block size {unknown[0]!r}, which is not one of "
                f"block_sizes={sizes!r}"
            )
        block_probs = [block_probs.get(b, 0.0) for b in sizes]
    block_probs = as_sequence(block_probs)
    if (
        isinstance(block_probs, str)
        or not isinstance(block_probs, Sequence)
        or len(block_probs) != len(sizes)
    ):
        raise ValueError(
            f"block_probs must give one probability per block size {sizes!r}; "
            f"got block_probs={block_probs!r}"
        )
    probs = tuple(check_real("block_probs", q) for q in block_probs)
    if (
        any(q < 0 for q in probs)
        or not math.isclose(sum(probs), 1.0, abs_tol=1e-9)
        or not any(q > 0 for q in probs)
    ):
        raise ValueError(f"block_probs must be >= 0 and sum to 1; got block_probs={probs!r}")
    return probs


def check_seed(seed: Any) -> np.random.SeedSequence:
    """The schedule's root SeedSequence (a Generator is refused: it cannot be recorded)."""
    return normalize_seed(  # the library's one seed normalizer
        seed,
        allow_generator=False,
        generator_reason="so that the schedule can be regenerated from the seed written in "
        "its header",
    )[0]


def check_covariates(
    given: Mapping[str, Any], factors: Mapping[str, tuple[Any, ...]], *, what: str
) -> None:
    """Check that ``given`` names one known level of every variable in ``factors``.

    Raises
    ------
    TypeError
        If ``given`` is not a mapping.
    ValueError
        For an unknown variable or level (the closest is suggested) or a missing
        variable; ``what`` names the argument in the message.
    """
    if not isinstance(given, Mapping):
        raise TypeError(
            f"{what} must be a mapping {{variable: level}} over {list(factors)}; got {given!r}"
        )
    for variable, level in given.items():
        if variable not in factors:
            raise ValueError(
                f"{what}: {variable!r} is not a stratification variable; they are "
                f"{list(factors)}" + did_you_mean(variable, factors)
            )
        levels = factors[variable]
        if level not in levels:
            raise ValueError(
                f"{what}: {level!r} is not a level of {variable!r}, whose levels "
                f"are {levels}" + did_you_mean(level, levels)
            )
    missing = [v for v in factors if v not in given]
    if missing:
        raise ValueError(
            f"{what} is missing {missing}; give a level for every one of {list(factors)}"
        )
