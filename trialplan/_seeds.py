"""The one seed normalizer of the library.

Every seeded computation (simulation, multiplicity procedures' simulated
parts, SMART and sequential simulation, randomization lists, explore) turns
the user's ``seed`` into a :class:`numpy.random.SeedSequence` here, and
records a value that reproduces it.  Blocks of work then draw from the
SeedSequence's children (``SeedSequence(entropy, spawn_key=key + (k,))``),
so results never depend on how the blocks are grouped, batched or executed.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["block_seed", "normalize_seed"]


def normalize_seed(
    seed: Any,
    *,
    default: int | None = None,
    allow_generator: bool = True,
    generator_reason: str = "",
) -> tuple[np.random.SeedSequence, Any]:
    """Return a fresh SeedSequence for ``seed`` and the value that reproduces it.

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence, numpy.random.Generator or None
        A whole number >= 0; a SeedSequence (copied, so that spawning from
        the copy always starts again at its first child); a Generator
        (consumed once for 126 bits of entropy, recorded as an int); or
        ``None``: ``default`` if given, else fresh entropy (recorded).
    default : int, optional
        The seed used for ``None`` (procedures whose results must be
        reproducible without a seed).
    allow_generator : bool, default True
        Refuse a Generator (whose state cannot be recorded) when False.
    generator_reason : str, optional
        Why a Generator is refused, for the message.

    Returns
    -------
    (numpy.random.SeedSequence, object)
        The SeedSequence, and what to record (``result.seed``): the int,
        the given SeedSequence, or the entropy drawn.

    Raises
    ------
    TypeError
        Naming ``seed`` and what is allowed.

    Examples
    --------
    >>> seq, record = normalize_seed(7)
    >>> record, seq.entropy
    (7, 7)
    >>> normalize_seed(None, default=11)[1]
    11
    >>> normalize_seed(-1)
    Traceback (most recent call last):
    ...
    TypeError: seed must be an int >= 0, a numpy SeedSequence or Generator, or None; got seed=-1
    """
    if seed is None:
        if default is not None:
            return np.random.SeedSequence(default), default
        fresh = np.random.SeedSequence()
        return fresh, fresh.entropy
    if isinstance(seed, np.random.SeedSequence):
        copy = np.random.SeedSequence(
            seed.entropy, spawn_key=tuple(seed.spawn_key), pool_size=seed.pool_size
        )
        return copy, seed
    if isinstance(seed, np.random.Generator):
        if not allow_generator:
            raise TypeError(
                "seed must be a whole number >= 0 or a numpy SeedSequence"
                + (f", {generator_reason}" if generator_reason else "")
                + "; got a numpy Generator, whose state cannot be recorded"
            )
        high, low = (int(v) for v in seed.integers(0, 2**63, size=2))
        entropy = high * 2**63 + low  # an int, so result.seed reruns the draws
        return np.random.SeedSequence(entropy), entropy
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        allowed = "a numpy SeedSequence or Generator" if allow_generator else "a numpy SeedSequence"
        raise TypeError(f"seed must be an int >= 0, {allowed}, or None; got seed={seed!r}")
    return np.random.SeedSequence(int(seed)), int(seed)


def block_seed(root: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """The ``k``-th child ``root.spawn`` would give, built on demand (no list held).

    Examples
    --------
    >>> root = np.random.SeedSequence(3)
    >>> child = root.spawn(2)[1]
    >>> block_seed(np.random.SeedSequence(3), 1).generate_state(2).tolist() == (
    ...     child.generate_state(2).tolist())
    True
    """
    return np.random.SeedSequence(
        root.entropy, spawn_key=tuple(root.spawn_key) + (int(k),), pool_size=root.pool_size
    )
