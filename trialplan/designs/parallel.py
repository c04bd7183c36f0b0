"""Parallel-group trials: two or more named arms, compared pairwise.

Each arm is one cell of the design.  The default hypotheses compare every arm
with the control arm (``"<arm> vs <control>"``, many-to-one); any other
pairwise comparison, e.g. concurrent against sequential MBI, is available by
name (``"<arm> vs <arm>"``) or by listing it in ``comparisons``.  A comparison
``"X vs Y"`` estimates the difference X minus Y on the outcome's analysis scale
(mean difference, risk difference, log odds ratio, log hazard ratio, ...).

Power is exact for continuous outcomes (noncentral t with ``N - arms``
residual degrees of freedom) and the outcome's named large-sample method
otherwise.  ``power(multiplicity=tp.Dunnett())`` gives the exact many-to-one
joint power (:mod:`trialplan.multiplicity.dunnett`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from trialplan.designs.hypotheses import Hypothesis
from trialplan.outcomes.base import Outcome

__all__ = ["Parallel"]

_SEPARATOR = " vs "


@dataclass(frozen=True, kw_only=True, repr=False)
class Parallel(CellDesign):
    """A parallel-group trial with named arms, e.g. timing of MBI around rTMS.

    Parameters
    ----------
    arms : sequence of str
        Arm names (at least two, distinct, without ``" vs "``), e.g.
        ``("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI")``.
    outcome : Continuous, Binary or TimeToEvent
        Planning values keyed by arm name (``means``, ``rates`` or
        ``hazards``).
    n_per_arm : int or mapping of str to int
        Participants analysed per arm; a mapping gives unequal allocation
        (e.g. ``{"rTMS alone": 80, "MBI then rTMS": 40, ...}``).
    control : str, optional
        The reference arm of the many-to-one comparisons; the first arm by
        default.
    comparisons : sequence of (str, str), optional
        Extra pairwise comparisons reported by default, as ``(arm, other)``
        pairs; ``("rTMS with concurrent MBI", "MBI then rTMS")`` adds the
        hypothesis ``"rTMS with concurrent MBI vs MBI then rTMS"``.
    alpha : float, default 0.05
        Significance level of each comparison (the two-sided total when
        ``sided=2``); see :class:`trialplan.Dunnett` for familywise control.
    sided : {1, 2}, default 2
        One-sided tests reject in the outcome's ``better`` direction.
    dropout : float or mapping of str to float, default 0.0
        Expected proportion lost per arm; ``n_per_arm`` counts analysed
        participants and ``ceil(n / (1 - dropout))`` are randomized.
    primary : str or sequence of str, optional
        The hypotheses ``sample_size()`` sizes when no ``hypothesis`` is
        named (checked against the design's hypotheses, with the closest
        name suggested); without it ``sample_size()`` asks for one.

    Raises
    ------
    ValueError
        For fewer than two arms, duplicate or unknown arm names (the closest
        arm is suggested), missing arms in the outcome, alpha outside (0, 1),
        or sizes that leave no residual degrees of freedom.
    TypeError
        For sizes that are not whole numbers or arm names that are not strings.

    Examples
    --------
    >>> import trialplan as tp
    >>> arms = tp.Parallel(
    ...     arms=("rTMS alone", "MBI then rTMS", "rTMS with concurrent MBI"),
    ...     outcome=tp.Continuous(means={"rTMS alone": -10.0, "MBI then rTMS": -12.0,
    ...                                  "rTMS with concurrent MBI": -13.0}, sd=8.0),
    ...     n_per_arm=60, control="rTMS alone")
    >>> res = arms.power()
    >>> list(res)
    ['MBI then rTMS vs rTMS alone', 'rTMS with concurrent MBI vs rTMS alone']
    >>> round(res["MBI then rTMS vs rTMS alone"], 3)
    0.275
    >>> round(arms.power("rTMS with concurrent MBI vs MBI then rTMS")[
    ...     "rTMS with concurrent MBI vs MBI then rTMS"], 3)
    0.105
    """

    arms: Sequence[str]
    outcome: Outcome
    n_per_arm: int | Mapping[str, int]
    control: str | None = None
    comparisons: Sequence[tuple[str, str]] = ()
    alpha: float = 0.05
    sided: int = 2
    dropout: float | Mapping[str, float] = 0.0
    primary: Sequence[str] | None = None

    design_kind = "parallel"

    def __post_init__(self) -> None:
        object.__setattr__(self, "arms", _check_arms(self.arms))
        control = self.arms[0] if self.control is None else self._arm(self.control, "control")
        object.__setattr__(self, "control", control)
        object.__setattr__(self, "comparisons", self._check_comparisons(self.comparisons))
        object.__setattr__(self, "alpha", check_open_unit("alpha", self.alpha))
        object.__setattr__(self, "sided", check_sided(self.sided))
        if not isinstance(self.outcome, Outcome):
            raise TypeError(
                "outcome must be an outcome type such as tp.Continuous(...); got "
                f"outcome={self.outcome!r}"
            )
        self._check_outcome_arms()
        n = check_cell_sizes(self.n_per_arm, self.arms, self._arm, name="n_per_arm")
        object.__setattr__(self, "n_per_arm", n if isinstance(n, int) else MappingProxyType(n))
        drop = check_dropout(self.dropout, self.arms, self._arm)
        object.__setattr__(
            self, "dropout", drop if isinstance(drop, float) else MappingProxyType(drop)
        )
        model = self._planned_model()
        if not model.df >= 1:
            raise ValueError(
                f"n_per_arm={_plain(self.n_per_arm)} leaves no residual degrees of freedom: "
                f"N={self.n_total} with {len(self.arms)} arms gives df={model.df:g}; use at "
                f"least {math.ceil((len(self.arms) + 2) / len(self.arms))} per arm"
            )
        object.__setattr__(
            self, "primary", check_primary(self, self.primary, lambda n: self.hypothesis(n).name)
        )

    # ----------------------------------------------------------------- cells
    @property
    def cells(self) -> tuple[str, ...]:
        """The arms, in order (each arm is one cell)."""
        return tuple(self.arms)

    @property
    def n_array(self) -> np.ndarray:
        """Analysed participants per arm, in the order of ``arms``."""
        n = self.n_per_arm
        if isinstance(n, Mapping):
            return np.array([n[a] for a in self.arms], dtype=int)
        return np.full(len(self.arms), int(n))

    @property
    def n_per_cell(self) -> int | Mapping[str, int]:
        """Alias of ``n_per_arm`` (the name the shared engines use)."""
        return self.n_per_arm

    def with_cell_sizes(self, sizes: Sequence[int]) -> Parallel:
        """Return the same design with these analysed sizes per arm (``arms`` order).

        Examples
        --------
        >>> import trialplan as tp
        >>> p = tp.Parallel(arms=("control", "MBI"), n_per_arm=50,
        ...                 outcome=tp.Continuous(means={"control": 0.0, "MBI": -3.0}, sd=8.0))
        >>> dict(p.with_cell_sizes([40, 80]).n_per_arm)
        {'control': 40, 'MBI': 80}
        """
        sizes = check_size_list(sizes, self.arms, name="n_per_arm")
        n: Any = sizes[0] if len(set(sizes)) == 1 else dict(zip(self.arms, sizes, strict=True))
        return self.replace(n_per_arm=n)  # type: ignore[return-value]

    def cell_label(self, cell: str) -> str:
        """Return an arm in words (its name).

        Examples
        --------
        >>> import trialplan as tp
        >>> p = tp.Parallel(arms=("control", "MBI"), n_per_arm=50,
        ...                 outcome=tp.Continuous(means={"control": 0.0, "MBI": -3.0}, sd=8.0))
        >>> p.cell_label("MBI")
        'MBI'
        """
        return cell

    def _arm(self, key: Any, what: str) -> str:
        """Check that ``key`` names an arm, suggesting the closest one if not."""
        if not isinstance(key, str):
            raise TypeError(
                f"{what} must name an arm (a string); got {key!r}; arms are {tuple(self.arms)}"
            )
        if key not in self.arms:
            raise ValueError(
                f"{what}: {key!r} is not an arm; arms are {tuple(self.arms)}"
                + did_you_mean(key, self.arms)
            )
        return key

    def _check_outcome_arms(self) -> None:
        keys = self.outcome.cell_keys()
        what = f"{type(self.outcome).__name__} {_cell_parameter(self.outcome)}"
        given = [self._arm(k, what) for k in keys]
        missing = [a for a in self.arms if a not in given]
        if missing:
            raise ValueError(
                f"{what} are missing {missing}; give a planning value for every "
                f"arm of {list(self.arms)}"
            )

    def _check_comparisons(self, comparisons: Any) -> tuple[tuple[str, str], ...]:
        if isinstance(comparisons, str) or not isinstance(comparisons, Sequence):
            raise TypeError(
                "comparisons must be a sequence of (arm, other arm) pairs; got "
                f"comparisons={comparisons!r}"
            )
        pairs = []
        for pair in comparisons:
            if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
                raise ValueError(
                    f"each of comparisons must be a pair (arm, other arm); got {pair!r}"
                )
            first, second = (self._arm(a, "comparisons") for a in pair)
            if first == second:
                raise ValueError(f"comparisons pair {pair!r} compares an arm with itself")
            if (first, second) in pairs:  # gave two rows named the same in every result
                raise ValueError(
                    f"comparisons lists the pair {(first, second)!r} twice; each "
                    "comparison appears once"
                )
            pairs.append((first, second))
        return tuple(pairs)

    # ------------------------------------------------------------ hypotheses
    @property
    def many_to_one_names(self) -> tuple[str, ...]:
        """``"<arm> vs <control>"`` for every arm other than the control."""
        return tuple(f"{a}{_SEPARATOR}{self.control}" for a in self.arms if a != self.control)

    @property
    def hypothesis_names(self) -> tuple[str, ...]:
        """Many-to-one comparisons, then the extra ``comparisons``."""
        names = list(self.many_to_one_names)
        names += [
            f"{a}{_SEPARATOR}{b}" for a, b in self.comparisons if f"{a}{_SEPARATOR}{b}" not in names
        ]
        return tuple(names)

    def hypothesis(self, name: str) -> Hypothesis:
        """Return the comparison ``"X vs Y"``: the difference X minus Y.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Parallel(arms=("a", "b", "c"),
        ...                 outcome=tp.Continuous(means={"a": 0, "b": 1, "c": 2}, sd=1.0),
        ...                 n_per_arm=10)
        >>> d.hypothesis("c vs b").contrasts.tolist()
        [[0.0, -1.0, 1.0]]
        """
        if not isinstance(name, str):
            raise TypeError(f"hypothesis must be a string; got {name!r}")
        first, sep, second = name.partition(_SEPARATOR)
        if not sep:
            raise ValueError(
                f"hypothesis {name!r} must look like '<arm> vs <arm>'; arms are "
                f"{tuple(self.arms)}" + did_you_mean(name, self.hypothesis_names)
            )
        first = self._arm(first.strip(), f"hypothesis {name!r}")
        second = self._arm(second.strip(), f"hypothesis {name!r}")
        if first == second:
            raise ValueError(f"hypothesis {name!r} compares an arm with itself")
        row = np.zeros(len(self.arms))
        row[self.arms.index(first)] = 1.0
        row[self.arms.index(second)] = -1.0
        scale = self.outcome.scale
        on = f" on the {scale} scale" if scale is not None else ""
        estimand = f"difference between {first} and {second} ({first} minus {second}){on}"
        return Hypothesis(
            name=f"{first}{_SEPARATOR}{second}", estimand=estimand, contrasts=row[None, :]
        )

    # --------------------------------------------------------------- display
    def describe(self) -> str:
        """One line naming the design, its sizes and its tests.

        Examples
        --------
        >>> import trialplan as tp
        >>> tp.Parallel(arms=("a", "b"), outcome=tp.Continuous(means={"a": 0, "b": 1},
        ...             sd=1.0), n_per_arm=10).describe()
        'Parallel 2 arms vs a | n_per_arm=10 (N=20) | alpha=0.05 two-sided'
        """
        sided = "two-sided" if self.sided == 2 else "one-sided"
        return (
            # the control arm's name once: "(control control)" read as a stutter
            f"Parallel {len(self.arms)} arms vs {self.control} | "
            f"n_per_arm={_plain(self.n_per_arm)} (N={self.n_total}) | "
            f"alpha={self.alpha:g} {sided}"
        )


def _plain(n: Any) -> Any:
    return dict(n) if isinstance(n, Mapping) else n


def _check_arms(arms: Any) -> tuple[str, ...]:
    arms = as_sequence(arms)
    if isinstance(arms, str) or not isinstance(arms, Sequence):
        raise TypeError(f"arms must be a sequence of arm names; got arms={arms!r}")
    arms = tuple(arms)
    if len(arms) < 2:
        raise ValueError(f"arms must name at least two arms; got arms={arms!r}")
    for arm in arms:
        if not isinstance(arm, str) or not arm.strip():
            raise TypeError(f"arm names must be non-empty strings; got {arm!r} in arms")
        if _SEPARATOR in arm or arm != arm.strip():
            raise ValueError(
                f"arm name {arm!r} must not contain {_SEPARATOR!r} or start or "
                "end with spaces (hypotheses are named '<arm> vs <arm>')"
            )
    duplicates = sorted({a for a in arms if arms.count(a) > 1})
    if duplicates:
        raise ValueError(f"arms must be distinct; {duplicates} appear more than once")
    return arms
