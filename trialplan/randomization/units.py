"""What a randomization chooses between: treatments, their columns and ratios.

A factorial is randomized over its cells, a parallel design over its arms, a
SMART over its stage-1 arms or, for non-responders, its stage-2 options within
each stage-1 arm; the allocation ratios are the design's (reduced) or the
user's.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import reduce
from typing import Any

import numpy as np

from trialplan._validation import did_you_mean
from trialplan.randomization.files import header_label

Treatment = Hashable

__all__ = ["Treatment", "Units", "units_of"]


@dataclass(frozen=True)
class Units:
    """The treatments one randomization chooses between."""

    kind: str  # "factorial", "parallel", "SMART stage 1", ...
    treatments: tuple[Treatment, ...]
    columns: tuple[str, ...]  # one output column per factor (or "arm")
    ratios: tuple[int, ...]  # reduced integer allocation ratios
    description: str
    implied_strata: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    #: ratios that differ by stage-1 arm (SMART stage 2), keyed by that arm
    ratios_by_stage1: Mapping[Any, tuple[int, ...]] = field(default_factory=dict)

    def ratios_for(self, stratum: Mapping[str, Any]) -> tuple[int, ...]:
        """Return the allocation ratios of the list of this stratum."""
        if self.ratios_by_stage1:
            return self.ratios_by_stage1[stratum["stage1"]]
        return self.ratios

    def ratio_sets(self) -> dict[str, tuple[int, ...]]:
        """Return every distinct list's ratios, labelled (``""`` when all lists share one)."""
        if self.ratios_by_stage1:
            return {f" (stage1={header_label(a)})": r for a, r in self.ratios_by_stage1.items()}
        return {"": self.ratios}

    def values(self, treatment: Treatment) -> tuple[Any, ...]:
        """Return the treatment's value in each output column."""
        return tuple(treatment) if self.kind == "factorial" else (treatment,)

    def label(self, treatment: Treatment) -> str:
        """Return the treatment in words, e.g. ``"active+MBI"``."""
        return "+".join(map(str, treatment)) if self.kind == "factorial" else str(treatment)

    def index(self, treatment: Any, what: str) -> int:
        """Position of a user's treatment key, or a helpful error."""
        if treatment in self.treatments:
            return self.treatments.index(treatment)
        allowed = list(self.treatments)
        hint = did_you_mean(treatment, allowed) if isinstance(treatment, str) else ""
        if self.kind == "factorial" and isinstance(treatment, tuple):
            labels = [self.label(t) for t in allowed]
            hint = did_you_mean(self.label(treatment), labels)
            if hint:
                hint = hint.replace("'", "").replace("did you mean ", "did you mean the cell ")
        raise ValueError(
            f"{what}: {treatment!r} is not one of the {self.kind} treatments {allowed}{hint}"
        )


def units_of(design: Any, *, stage: Any, ratios: Any) -> Units:
    """Read the treatments and allocation ratios off a trialplan design."""
    # The design protocol names its kind; objects without it are read by their fields.
    kind = getattr(design, "design_kind", None) or _kind_of_fields(design)
    if kind == "smart":
        units = _smart_units(design, stage)
    else:
        if stage is not None:
            raise ValueError(
                f"stage={stage!r} applies to SMART designs only; "
                f"{type(design).__name__} has a single randomization, so leave "
                "stage=None"
            )
        if kind == "factorial":
            units = _factorial_units(design)
        elif kind == "parallel":
            units = _parallel_units(design)
        else:
            raise TypeError(
                "design must be a trialplan design (tp.Factorial, tp.Parallel or "
                f"tp.SMART); got design={design!r}"
            )
    if ratios is not None:
        units = Units(
            kind=units.kind,
            treatments=units.treatments,
            columns=units.columns,
            ratios=_user_ratios(ratios, units),
            description=units.description,
            implied_strata=units.implied_strata,
        )
    return units


def _kind_of_fields(design: Any) -> str | None:
    if hasattr(design, "stage1") and hasattr(design, "stage2"):
        return "smart"
    if hasattr(design, "factors") and hasattr(design, "cells"):
        return "factorial"
    return "parallel" if hasattr(design, "arms") else None


def _factorial_units(design: Any) -> Units:
    cells = tuple(tuple(c) for c in design.cells)
    sizes = [int(v) for v in np.asarray(design.n_array)]
    return Units(
        kind="factorial",
        treatments=cells,
        columns=tuple(design.factors),
        ratios=_reduce(sizes),
        description=_describe(design),
    )


def _parallel_units(design: Any) -> Units:
    arms = tuple(design.arms)
    n = getattr(design, "n_per_arm", None)
    if isinstance(n, Mapping):
        sizes = [int(n[a]) for a in arms]
    elif hasattr(design, "n_array"):
        sizes = [int(v) for v in np.asarray(design.n_array)]
    else:
        sizes = [1] * len(arms)
    return Units(
        kind="parallel",
        treatments=arms,
        columns=("arm",),
        ratios=_reduce(sizes),
        description=_describe(design),
    )


def _smart_units(design: Any, stage: Any) -> Units:
    if stage is None:
        raise ValueError(
            "stage=None: a SMART randomizes twice; pass stage=1 for the stage-1 "
            "list or stage=2 for the lists of non-responders (one per stage-1 arm)"
        )
    if isinstance(stage, bool) or stage not in (1, 2):
        raise ValueError(
            f"stage must be 1 (stage-1 arms) or 2 (stage-2 options for "
            f"non-responders); got stage={stage!r}"
        )
    stage1 = tuple(design.stage1)
    stage2 = tuple(design.stage2)
    alloc1 = getattr(design, "stage1_allocation", None)
    if stage == 1:
        ratios = (
            _integer_ratios([alloc1[a] for a in stage1], "stage1_allocation")
            if alloc1
            else (1,) * len(stage1)
        )
        return Units(
            kind="SMART stage 1",
            treatments=stage1,
            columns=("stage1",),
            ratios=ratios,
            description=f"{_describe(design)} | stage 1",
        )
    alloc2 = getattr(design, "stage2_allocation", None) or {}
    by_arm = {}
    for a1 in stage1:
        probs = [alloc2.get((a1, a2), alloc2.get(a2)) for a2 in stage2] if alloc2 else []
        by_arm[a1] = (
            _integer_ratios(probs, f"stage2_allocation for {a1!r}")
            if probs and None not in probs
            else (1,) * len(stage2)
        )
    shared = set(by_arm.values())
    return Units(
        kind="SMART stage 2",
        treatments=stage2,
        columns=("stage2",),
        ratios=next(iter(shared)) if len(shared) == 1 else (1,) * len(stage2),
        description=f"{_describe(design)} | stage 2 (non-responders)",
        implied_strata={"stage1": stage1},
        ratios_by_stage1={} if len(shared) == 1 else by_arm,
    )


def _integer_ratios(probabilities: Sequence[Any], name: str) -> tuple[int, ...]:
    """Smallest whole-number ratios equal to these probabilities (e.g. 2/3, 1/3 -> 2:1)."""
    fractions = [Fraction(float(q)).limit_denominator(1000) for q in probabilities]
    if any(
        f <= 0 or abs(float(f) - float(q)) > 1e-9
        for f, q in zip(fractions, probabilities, strict=True)
    ):
        raise ValueError(
            f"{name}={tuple(probabilities)} is not a ratio of whole numbers "
            "with denominators up to 1000; pass ratios= to permuted_blocks "
            "explicitly"
        )
    common = reduce(math.lcm, (f.denominator for f in fractions))
    return _reduce([int(f * common) for f in fractions])


def _describe(design: Any) -> str:
    describe = getattr(design, "describe", None)
    if callable(describe):
        try:
            return str(describe())
        except Exception:  # noqa: BLE001 - a description is cosmetic
            pass
    return type(design).__name__


def _reduce(sizes: Sequence[int]) -> tuple[int, ...]:
    divisor = reduce(math.gcd, sizes)
    return tuple(s // divisor for s in sizes)


def _user_ratios(ratios: Any, units: Units) -> tuple[int, ...]:
    if not isinstance(ratios, Mapping):
        raise TypeError(
            f"ratios must be a mapping {{treatment: positive whole number}} over "
            f"{list(units.treatments)}; got ratios={ratios!r}"
        )
    given: dict[int, int] = {}
    for key, value in ratios.items():
        i = units.index(key, "ratios")
        if isinstance(value, bool) or not (
            isinstance(value, numbers.Integral | np.integer)
            or (isinstance(value, float) and value.is_integer())
        ):
            raise ValueError(
                f"ratios must be positive whole numbers; got ratios[{key!r}]={value!r}"
            )
        if int(value) < 1:
            raise ValueError(
                f"ratios must be positive whole numbers (>= 1); got ratios[{key!r}]={value!r}"
            )
        given[i] = int(value)
    missing = [units.treatments[i] for i in range(len(units.treatments)) if i not in given]
    if missing:
        raise ValueError(
            f"ratios is missing {missing}; give a whole number for every one of "
            f"{list(units.treatments)}"
        )
    return _reduce([given[i] for i in range(len(units.treatments))])
