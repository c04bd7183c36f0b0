"""Which list lengths permuted blocks of given sizes can fill exactly.

A permuted-block list made of blocks of sizes ``S`` ends on a complete block,
so its length is a sum of elements of ``S`` (with repetition).  With ``g`` the
greatest common divisor of ``S``, a length ``n`` is such a sum only if ``g``
divides ``n``; every multiple of ``g`` from ``(max(S) / g) ** 2 * g`` on is one
(the Frobenius number of ``S / g`` is below ``(max(S) / g) ** 2``), and below
that bound a small table decides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce

__all__ = ["is_fillable", "smallest_fillable"]


def is_fillable(n: int, sizes: Sequence[int]) -> bool:
    """True when a list of ``n`` entries can be made of whole blocks of ``sizes``.

    Examples
    --------
    >>> is_fillable(12, (4, 8)), is_fillable(6, (4, 8)), is_fillable(4, (8, 12))
    (True, False, False)
    >>> is_fillable(20, (8, 12)), is_fillable(0, (4,))
    (True, True)
    """
    if n < 0:
        return False
    g = reduce(math.gcd, sizes)
    if n % g:
        return False
    target = n // g
    units = sorted({s // g for s in sizes})
    if target >= units[-1] ** 2:
        return True
    reachable = [True] + [False] * target
    for total in range(1, target + 1):
        reachable[total] = any(u <= total and reachable[total - u] for u in units)
    return reachable[target]


def smallest_fillable(n: int, sizes: Sequence[int]) -> int:
    """Smallest length ``>= n`` that whole blocks of ``sizes`` fill exactly.

    Examples
    --------
    >>> smallest_fillable(1230, (4, 8)), smallest_fillable(5, (8, 12)), smallest_fillable(0, (4,))
    (1232, 8, 0)
    """
    g = reduce(math.gcd, sizes)
    length = -(-max(n, 0) // g) * g
    while not is_fillable(length, sizes):
        length += g
    return length
