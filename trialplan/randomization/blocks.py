"""Stratified permuted blocks with random block sizes (Matts & Lachin 1988).

References
----------
.. [1] Matts JP, Lachin JM. Properties of permuted-block randomization in
   clinical trials. Control Clin Trials 1988;9(4):327-344.
.. [2] Rosenberger WF, Lachin JM. Randomization in Clinical Trials: Theory and
   Practice, 2nd ed. Wiley; 2016.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from trialplan._blocks import is_fillable, smallest_fillable
from trialplan._validation import check_int
from trialplan.randomization.checks import (
    MAX_ROWS,
    check_block_probs,
    check_block_sizes,
    check_seed,
    check_strata,
)
from trialplan.randomization.schedule import Schedule
from trialplan.randomization.units import units_of

__all__ = ["permuted_blocks"]


def permuted_blocks(
    design: Any,
    *,
    n: int,
    block_sizes: int | Sequence[int] | None = None,
    strata: Mapping[str, Sequence[Any]] | None = None,
    seed: int | np.random.SeedSequence | None = None,
    block_probs: Sequence[float] | Mapping[int, float] | None = None,
    ratios: Mapping[Any, int] | None = None,
    stage: int | None = None,
    exact: bool = False,
    description: str | None = None,
) -> Schedule:
    """Stratified permuted-block randomization list with random block sizes.

    Every stratum (each combination of the levels in ``strata``) gets its own
    list.  The list is a run of blocks; each block's size is drawn from
    ``block_sizes`` (with ``block_probs``) and the block holds each
    treatment ``size * ratio / sum(ratios)`` times in a uniformly random
    order.  Blocks are added until the list has at least ``n`` entries, so
    every block is complete and every list is exactly balanced at its end.

    Parameters
    ----------
    design : Factorial, Parallel or SMART
        A factorial design is randomized over its cells (one column per
        factor), a parallel design over its arms (column ``"arm"``), a SMART
        over its stage-1 arms (``stage=1``, column ``"stage1"``) or, for
        non-responders, over its stage-2 options (``stage=2``, column
        ``"stage2"``) with the stage-1 arm as an extra stratification
        variable ``"stage1"``.
    n : int
        Minimum length of each stratum's list: plan for the most participants
        any one stratum could enrol (lists end on a complete block, so they
        may be up to ``max(block_sizes) - 1`` longer).
    block_sizes : int or sequence of int, optional
        Possible block sizes; each must be a multiple of the sum of the
        allocation ratios (4 for a 1:1:1:1 2x2 factorial, 3 for 2:1 arms).
        By default one and two times that sum, e.g. (4, 8) for a 2x2.
    strata : mapping of str to sequence, optional
        Stratification variables and their levels, e.g.
        ``{"site": ("A", "B"), "severity": ("moderate", "severe")}``.
    seed : int or numpy.random.SeedSequence, optional
        Makes the schedule reproducible; recorded in its header.  Without a
        seed, fresh entropy is drawn and recorded.  Each stratum draws from
        its own stream, ``SeedSequence(seed, spawn_key=<digest of the
        stratum's labels>)``, so adding a site leaves the other sites' lists
        unchanged.
    block_probs : sequence of float or mapping of int to float, optional
        Probability of each block size (uniform by default).
    ratios : mapping of treatment to int, optional
        Allocation ratios, overriding the design's (by default the ratios of
        its planned sizes, e.g. ``n_per_arm={"A": 60, "B": 30}`` gives 2:1).
    stage : {1, 2}, optional
        For a SMART only: which randomization to list.
    exact : bool, default False
        End every stratum's list at exactly ``n`` entries: each block's size
        is drawn (with ``block_probs``) among the sizes that leave a
        remainder whole blocks can still fill.  ``n`` must be a sum of block
        sizes (e.g. a multiple of 4 for sizes (4, 8)).
    description : str, optional
        The ``design:`` line of the CSV header and of the repr (by default
        the design's ``describe()``), e.g. the planned numbers randomized.

    Returns
    -------
    Schedule
        ``.to_frame()`` has columns ``"sequence"`` (position in the stratum's
        list), one per stratification variable and one per factor (or
        ``"arm"``, ``"stage1"``, ``"stage2"``); ``.to_csv(path)`` writes it
        with a header; ``.balance()`` summarizes realized balance.

    Raises
    ------
    ValueError
        If a ratio is not a positive whole number, a block size is not a
        multiple of the ratio sum, a stratum lists a level twice or uses a
        reserved column name, or ``stage`` is missing or invalid for a SMART.
    TypeError
        If the design, ``n``, ``strata`` or ``seed`` has the wrong type.

    References
    ----------
    .. [1] Matts JP, Lachin JM. Control Clin Trials 1988;9(4):327-344.
    .. [2] Rosenberger WF, Lachin JM. Randomization in Clinical Trials, 2nd
       ed. Wiley; 2016, chapter 3.

    Examples
    --------
    >>> import trialplan as tp
    >>> design = tp.Factorial(
    ...     factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.Continuous(
    ...         means={("sham", "control"): 0.0, ("active", "control"): -3.0,
    ...                ("sham", "MBI"): -2.0, ("active", "MBI"): -8.0}, sd=8.0),
    ...     n_per_cell=50)
    >>> sched = tp.randomization.permuted_blocks(
    ...     design, n=20, block_sizes=(4, 8), strata={"site": ("A", "B")}, seed=2026)
    >>> frame = sched.to_frame()
    >>> list(frame.columns)
    ['sequence', 'site', 'rTMS', 'MBI']
    >>> frame.groupby("site").size().tolist()  # each list ends on a complete block
    [24, 24]
    >>> frame.groupby(["site", "rTMS", "MBI"]).size().unique().tolist()
    [6]
    """
    units = units_of(design, stage=stage, ratios=ratios)
    n = check_int("n", n)
    sizes = check_block_sizes(block_sizes, units)
    probs = check_block_probs(block_probs, sizes)
    strata_ = check_strata(strata, units)
    n_lists = math.prod(len(levels) for levels in strata_.values())
    if (n + max(sizes)) * n_lists > MAX_ROWS:  # n=2**62 used to exhaust the memory
        raise ValueError(
            f"n={n} per stratum over {n_lists} strata would list more than {MAX_ROWS:,} "
            "assignments; n is the most participants one stratum can enrol"
        )
    root = check_seed(seed)
    if exact and not is_fillable(n, sizes):
        raise ValueError(
            f"exact=True needs n to be a sum of block sizes {sizes}; got n={n} (the "
            f"nearest longer list holds {smallest_fillable(n, sizes)})"
        )
    if description is not None:
        units = dataclasses.replace(units, description=str(description))
    rows: list[tuple[Any, ...]] = []
    variables = tuple(strata_)
    for levels in itertools.product(*strata_.values()):
        stratum = tuple(zip(variables, levels, strict=True))
        ratios_here = units.ratios_for(dict(stratum))
        total = sum(ratios_here)
        base = np.repeat(np.arange(len(units.treatments)), ratios_here)
        rng = _stream(root, stratum, stage)
        position = 0
        block = 0
        while position < n:
            if exact:  # only sizes after which whole blocks can still fill the rest
                fits = np.array([is_fillable(n - position - b, sizes) for b in sizes])
                weights = np.where(fits, probs, 0.0)
                if not weights.sum() > 0:  # only zero-probability sizes still fit
                    weights = fits.astype(float)
                size = int(sizes[rng.choice(len(sizes), p=weights / weights.sum())])
            else:
                size = int(sizes[rng.choice(len(sizes), p=probs)])
            block += 1
            order = rng.permutation(np.tile(base, size // total))
            for t in order:
                position += 1
                rows.append((position, *levels, *units.values(units.treatments[t]), block, size))
    frame = pd.DataFrame(
        rows, columns=["sequence", *variables, *units.columns, "block", "block_size"]
    )
    return Schedule(
        frame=frame,
        units=units,
        strata=strata_,
        n=n,
        block_sizes=sizes,
        block_probs=probs,
        seed=root,
        stage=stage,
    )


def _stream(
    root: np.random.SeedSequence, stratum: Sequence[tuple[str, Any]], stage: Any
) -> np.random.Generator:
    """Return the stratum's own Generator, keyed by its labels, not its position."""
    text = json.dumps([stage, [[v, str(lv), type(lv).__name__] for v, lv in stratum]])
    digest = hashlib.sha256(text.encode()).digest()
    key = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    child = np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + key)
    return np.random.Generator(np.random.PCG64(child))
