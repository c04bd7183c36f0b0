"""What every multiple-testing procedure shares: validation, exact and simulated power, size.

:class:`Procedure` is the base of the procedures in
:mod:`~trialplan.multiplicity.graphs` and :mod:`~trialplan.multiplicity.procedures`.
A procedure says which hypotheses it rejects for given p-values (``reject``)
and, where it can, the exact probability of an event (``_exact``); the base
class turns that into power after the procedure on a statistic family
(``evaluate``, behind ``design.power(multiplicity=...)``) and into the smallest
size at which a success definition holds (``size_search``, behind
``design.sample_size(multiplicity=...)``).  What has no exact form is simulated
from the family's exact joint law (:class:`~trialplan.multiplicity.joint.JointStatistics`),
seeded, with Monte Carlo standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from trialplan._seeds import block_seed, normalize_seed
from trialplan._validation import as_sequence, check_int, check_open_unit, check_real, did_you_mean
from trialplan.multiplicity.joint import JointStatistics
from trialplan.power import (
    SizeSearch,
    normal_guess,
    sample_size_search,
    statistic_power,
)
from trialplan.results import PowerResult, PowerRow, SampleSizeResult
from trialplan.statistic import IntersectionUnion, StatisticFamily, as_family, critical_value

__all__ = ["DEFAULT_N_SIMS", "DEFAULT_SEED", "MultipleTest", "Procedure"]

#: Default number of simulated trials for quantities without an exact form.
DEFAULT_N_SIMS = 100_000
#: Default seed, so that results are reproducible when no seed is given.
DEFAULT_SEED = 20260101
_BATCH = 25_000
_SUCCESS = ("each", "any", "all")
TOLERANCE = 1e-12


def as_trials(p_values: Any) -> tuple[np.ndarray, bool]:
    """P-values as an (R, m) array of R trials, and whether one trial's (m,) was given."""
    p = np.asarray(p_values, dtype=float)
    return np.atleast_2d(p), p.ndim == 1


def float_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float array, or a TypeError naming ``name`` (not numpy's message)."""
    if isinstance(value, str):
        raise TypeError(f"{name} must be numbers, not a string; got {name}={value!r}")
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numbers; got {name}={value!r}") from None


def check_names(name: str, hypotheses: Any) -> tuple[str, ...]:
    hypotheses = as_sequence(hypotheses)
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence):
        raise TypeError(
            f"{name} must be a list of hypothesis names, e.g. ['rTMS', 'MBI']; "
            f"got {name}={hypotheses!r}"
        )
    names = tuple(hypotheses)
    if not names:
        raise ValueError(f"{name} must name at least one hypothesis; got {name}={hypotheses!r}")
    for h in names:
        if not isinstance(h, str) or not h.strip():
            raise TypeError(f"{name} must contain hypothesis names (strings); got {h!r}")
    dup = sorted({h for h in names if names.count(h) > 1})
    if dup:
        raise ValueError(f"{name} names {dup} more than once; each hypothesis appears once")
    return names


def _check_seed(seed: Any) -> None:
    """Validate a procedure's seed without drawing from a Generator."""
    if not isinstance(seed, np.random.Generator):
        normalize_seed(seed)


def _fixed_seed(seed: Any) -> Any:
    """A value that gives the same draws every time it is used (common random numbers).

    The library's one normalizer records it: a Generator is asked once for
    entropy; a SeedSequence is kept and copied on each use, so its spawn
    counter does not advance; None is :data:`DEFAULT_SEED`.
    """
    return normalize_seed(seed, default=DEFAULT_SEED)[1]


@runtime_checkable
class MultipleTest(Protocol):
    """What ``design.power(multiplicity=...)`` and ``sample_size(multiplicity=...)`` call.

    Every :class:`Procedure` and :class:`~trialplan.multiplicity.dunnett.Dunnett`
    implements it: the hypotheses whose joint law it needs, its power on that
    family, and its sample-size search.
    """

    def family_names(self, requested: Any = None) -> tuple[str, ...] | None:
        """The hypotheses of the family (None: the design's many-to-one comparisons)."""
        ...  # pragma: no cover - protocol

    def evaluate(self, family: StatisticFamily, hypotheses: Any = None, **options: Any) -> Any:
        """Power after the procedure on ``family``."""
        ...  # pragma: no cover - protocol

    def size_search(self, family: StatisticFamily, *, power: float, hypothesis: Any) -> Any:
        """The smallest size at which the procedure reaches ``power``."""
        ...  # pragma: no cover - protocol


@dataclass(frozen=True, kw_only=True)
class Procedure:
    """Shared machinery: validation, exact and simulated power, sample size."""

    hypotheses: tuple[str, ...]
    success: str = "each"
    n_sims: int = DEFAULT_N_SIMS
    seed: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hypotheses", check_names("hypotheses", self.hypotheses))
        if self.success not in _SUCCESS:
            raise ValueError(
                f"success={self.success!r} is not allowed; choose one of "
                f"{_SUCCESS} ('each': every hypothesis in sample_size's "
                "hypothesis= reaches the power; 'any'/'all': at least one/all "
                "of them are rejected)" + did_you_mean(self.success, _SUCCESS)
            )
        object.__setattr__(self, "n_sims", check_int("n_sims", self.n_sims, minimum=100))
        _check_seed(self.seed)

    def _set_fields(self, **fields: Any) -> None:
        """Store what a hand-written ``__init__`` received, then validate it as dataclasses do."""
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    # --------------------------------------------------------- to implement
    name = "procedure"

    def reject(self, p_values: Any, *, alpha: float) -> np.ndarray:  # pragma: no cover
        """Rejections (bool, the shape of ``p_values``) at family-wise level ``alpha``."""
        raise NotImplementedError

    def initial_levels(self, alpha: float) -> np.ndarray:  # pragma: no cover
        """Local level of each hypothesis when first tested (for reporting)."""
        raise NotImplementedError

    def _exact(self, joint: JointStatistics, what: str, subset: tuple[int, ...]) -> float | None:
        """Exact probability of ``what`` ("reject", "any", "all") over ``subset``."""
        return None

    def describe(self) -> str:
        """The procedure in words."""
        return f"{self.name} over {', '.join(self.hypotheses)}"

    # --------------------------------------------------------------- public
    def test(
        self, p_values: Mapping[str, float] | Sequence[float], *, alpha: float = 0.05
    ) -> dict[str, bool]:
        """Decisions for one trial's p-values.

        Parameters
        ----------
        p_values : mapping or sequence
            ``{hypothesis: p}`` for every hypothesis of the family, or the
            p-values in the family's order.
        alpha : float, default 0.05
            Family-wise error rate.

        Returns
        -------
        dict
            ``{hypothesis: rejected}``.
        """
        if isinstance(p_values, Mapping):
            missing = [h for h in self.hypotheses if h not in p_values]
            extra = [h for h in p_values if h not in self.hypotheses]
            if missing or extra:
                raise ValueError(
                    f"p_values must give exactly the hypotheses "
                    f"{list(self.hypotheses)}; missing {missing}, unknown {extra}"
                )
            p = [p_values[h] for h in self.hypotheses]
        else:
            if isinstance(p_values, str | bytes) or not isinstance(p_values, Iterable):
                raise TypeError(
                    "p_values must be a mapping {hypothesis: p-value} or a sequence of "
                    f"p-values; got p_values={p_values!r}"
                )
            p = list(p_values)
            if len(p) != len(self.hypotheses):
                raise ValueError(
                    f"p_values has {len(p)} entries; the family has "
                    f"{len(self.hypotheses)}: {list(self.hypotheses)}"
                )
        for h, value in zip(self.hypotheses, p, strict=True):
            # a number, not text: Holm.test({"a": "0.01"}) used to be accepted
            check_real(f"p_values[{h!r}]", value)
        arr = np.array(p, dtype=float)
        if not np.all((arr >= 0) & (arr <= 1)):
            raise ValueError(f"p_values must lie in [0, 1]; got {p!r}")
        decisions = self.reject(arr, alpha=check_open_unit("alpha", alpha))
        return {h: bool(d) for h, d in zip(self.hypotheses, decisions, strict=True)}

    def family_names(self, requested: Any = None) -> tuple[str, ...]:
        """The hypotheses whose joint law the procedure needs: its family."""
        return self.hypotheses

    def evaluate(
        self,
        family: StatisticFamily,
        hypotheses: Any = None,
        *,
        method: str = "analytic",
        n_sims: int | None = None,
        seed: Any = None,
    ) -> PowerResult:
        """Power of each hypothesis after the procedure, and of rejecting any / all.

        Called by ``design.power(multiplicity=procedure)``.

        Parameters
        ----------
        family : StatisticFamily
            The procedure's hypotheses (``design.statistics(procedure.hypotheses)``;
            a design is accepted and asked for them).
        hypotheses : sequence of str, optional
            Which of the family's hypotheses to report (default: all).
        method : {"analytic", "simulation"}, default "analytic"
            ``"analytic"``: exact integration where the event is a rectangle of
            the joint law, simulation otherwise; ``"simulation"``: simulate all.
        n_sims : int, optional
            Simulated trials (default the procedure's ``n_sims``).
        seed : int, SeedSequence or Generator, optional
            Seed of the simulation (default the procedure's, else a fixed one).

        Returns
        -------
        PowerResult
            Rows per hypothesis; ``.any`` and ``.all`` over the whole family.
            ``summary`` names the procedure (a design adds its description).

        Raises
        ------
        ValueError
            For an unknown method, too few ``n_sims``, a hypothesis outside the
            family, or an exact computation above :data:`EXACT_MAX_INTEGRALS`.
        """
        allowed = ("analytic", "simulation")
        if method not in allowed:
            raise ValueError(
                f"method={method!r} is not available with multiplicity=; choose "
                f"one of {allowed}" + did_you_mean(method, allowed)
            )
        n_sims = self.n_sims if n_sims is None else check_int("n_sims", n_sims, minimum=100)
        seed = self.seed if seed is None else seed
        fixed = _fixed_seed(seed)
        report = self._report_names(hypotheses)
        joint = JointStatistics.from_family(as_family(family, self.hypotheses))
        m = len(self.hypotheses)
        full = tuple(range(m))
        wanted = [("reject", (j,)) for j in range(m)] + [("any", full), ("all", full)]
        values, how, mcse, sim_used = self._compute(
            joint, wanted, method=method, n_sims=n_sims, seed=fixed
        )
        levels = self.initial_levels(joint.alpha)
        rows = []
        mcse_rows = {}
        for j, h in enumerate(self.hypotheses):
            if h not in report:
                continue
            key = ("reject", (j,))
            rows.append(self._row(joint, j, values[key], how[key], levels[j]))
            if key in mcse:
                mcse_rows[h] = mcse[key]
        rows.sort(key=lambda r: report.index(r.hypothesis))
        any_key, all_key = ("any", full), ("all", full)
        extras = {
            "any": values[any_key],
            "all": values[all_key],
            "any_mcse": mcse.get(any_key, 0.0),
            "all_mcse": mcse.get(all_key, 0.0),
            "any_method": how[any_key],
            "all_method": how[all_key],
            "procedure": self,
            "joint": joint,
        }
        return PowerResult(
            rows=tuple(rows),
            summary=self.describe(),
            method="simulation" if sim_used else "analytic",
            mcse=mcse_rows,
            n_sims=n_sims if sim_used else None,
            seed=fixed if sim_used else None,
            extras=extras,
        )

    def size_search(
        self,
        family: StatisticFamily,
        *,
        power: float,
        hypothesis: str | Sequence[str] | None = None,
    ) -> SizeSearch:
        """Smallest multiplier (allocation kept) at which the success definition holds.

        Called by ``design.sample_size(power=, hypothesis=, multiplicity=procedure)``.
        ``success="each"``: every hypothesis in ``hypothesis`` reaches ``power``
        after the procedure; ``"all"``/``"any"``: the probability that the
        procedure rejects all / at least one of them reaches ``power``.
        Simulated quantities reuse the same draws at every size (common random
        numbers), so the search sees a smooth curve.  The search is the one of
        :func:`trialplan.power.sample_size_search`, on ``family.scaled(k)``.

        Parameters
        ----------
        family : StatisticFamily
            The procedure's family at the design's planned sizes.
        power : float
            Target power in (0, 1).
        hypothesis : str or sequence of str
            The hypotheses of the family the success definition is about.

        Returns
        -------
        SizeSearch

        Raises
        ------
        ValueError
            For no hypothesis named, one outside the family (the closest is
            suggested), or a target no size reaches.
        """
        target = check_open_unit("power", power)
        if hypothesis is None:
            raise ValueError(
                f"sample_size(multiplicity={type(self).__name__}(...)) needs hypothesis=: name "
                f"the hypotheses of the family {list(self.hypotheses)} that must reach the "
                "power (or give the design primary=...)"
            )
        names = (hypothesis,) if isinstance(hypothesis, str) else tuple(hypothesis)
        unknown = [h for h in names if h not in self.hypotheses]
        if not names or unknown:
            bad = unknown[0] if unknown else None
            raise ValueError(
                f"hypothesis={hypothesis!r} must name hypotheses of the "
                f"procedure's family {list(self.hypotheses)}"
                + (did_you_mean(bad, self.hypotheses) if bad else "")
            )
        family = as_family(family, self.hypotheses)
        idx = tuple(self.hypotheses.index(h) for h in names)
        if self.success == "each":
            wanted = [("reject", (j,)) for j in idx]
        else:
            wanted = [(self.success, idx)]
        fixed = _fixed_seed(self.seed)
        self._check_reachable(JointStatistics.from_family(family), idx, power)

        def power_of(fam: StatisticFamily) -> tuple[float, Mapping[str, float]]:
            values, *_ = self._compute(
                JointStatistics.from_family(fam),
                wanted,
                method="analytic",
                n_sims=self.n_sims,
                seed=fixed,
            )
            return min(values.values()), {}

        found = sample_size_search(
            family,
            power=target,
            power_of=power_of,
            guess=normal_guess(family, target, names),
        )
        joint = JointStatistics.from_family(found.family)
        each = [("reject", (j,)) for j in idx]
        full = tuple(range(len(self.hypotheses)))
        extra_keys = [(self.success, idx)] if self.success != "each" else []
        values, how, _, _ = self._compute(
            joint,
            each + extra_keys + [("any", full), ("all", full)],
            method="analytic",
            n_sims=self.n_sims,
            seed=fixed,
        )
        powers = {h: values[("reject", (j,))] for h, j in zip(names, idx, strict=True)}
        achieved = min(powers.values()) if self.success == "each" else values[extra_keys[0]]
        methods = sorted({how[key] for key in each + extra_keys})
        if self.success != "each":
            methods.insert(
                0,
                f"success = reject {self.success} of {', '.join(names)} "
                f"(probability {achieved:.4f})",
            )
        return SizeSearch(
            multiplier=found.multiplier,
            family=found.family,
            power=achieved,
            powers=powers,
            evaluations=found.evaluations,
            method="; ".join(methods),
            hypotheses=names,
            extras={
                "success": self.success,
                "procedure": self,
                "any": values[("any", full)],
                "all": values[("all", full)],
            },
        )

    def sample_size(
        self, design: Any, *, power: float, hypothesis: str | Sequence[str] | None = None
    ) -> SampleSizeResult:
        """``design.sample_size(power=, hypothesis=, multiplicity=self)``: a convenience.

        Parameters
        ----------
        design : Design
            The design to size (its public ``sample_size`` is called).
        power : float
            Target power in (0, 1).
        hypothesis : str or sequence of str, optional
            See :meth:`size_search`.

        Returns
        -------
        SampleSizeResult
        """
        return design.sample_size(power=power, hypothesis=hypothesis, multiplicity=self)

    # ------------------------------------------------------------ internals
    def _check_reachable(self, joint: JointStatistics, idx: tuple[int, ...], power: float) -> None:
        """Fail fast when no sample size can reach the target (zero or adverse effect)."""

        def hopeless(j: int) -> bool:
            deltas = joint.noncentrality[list(joint.members[j])]
            if joint.kind(j) == "two-sided":
                return bool(deltas[0] == 0)
            return bool(np.any(joint.favourable[list(joint.members[j])] * deltas <= 0))

        bad = [self.hypotheses[j] for j in idx if hopeless(j)]
        if (self.success == "any" and len(bad) == len(idx)) or (self.success != "any" and bad):
            effects = {h: joint.statistics[self.hypotheses.index(h)].effect for h in bad}
            raise ValueError(
                f"power={power} is out of reach at any sample size: "
                f"{bad} have a zero (or, one-sided, adverse) effect {effects}; "
                "check the planning values"
            )

    def _report_names(self, hypotheses: Any) -> tuple[str, ...]:
        if hypotheses is None:
            return self.hypotheses
        names = (hypotheses,) if isinstance(hypotheses, str) else tuple(hypotheses)
        for h in names:
            if h not in self.hypotheses:
                raise ValueError(
                    f"hypothesis {h!r} is not in the procedure's family "
                    f"{list(self.hypotheses)}; power after a multiple-testing "
                    "procedure is defined for its family only" + did_you_mean(h, self.hypotheses)
                )
        return names

    def _compute(
        self,
        joint: JointStatistics,
        wanted: Sequence[tuple[str, tuple[int, ...]]],
        *,
        method: str,
        n_sims: int,
        seed: Any,
    ) -> tuple[dict, dict, dict, bool]:
        values: dict = {}
        how: dict = {}
        note = f"; {joint.note}" if joint.note else ""
        if method == "analytic":
            for key in wanted:
                what, subset = key
                if not joint.exact_available(subset):
                    continue
                value = self._exact(joint, what, subset)
                if value is not None:
                    values[key] = value
                    how[key] = f"{self.name}: exact {joint.label} integration{note}"
        missing = [key for key in wanted if key not in values]
        mcse: dict = {}
        if missing:
            rates = self._simulate(joint, missing, n_sims=n_sims, seed=seed)
            for key in missing:
                values[key] = rates[key]
                mcse[key] = math.sqrt(max(rates[key] * (1 - rates[key]), 0.0) / n_sims)
                how[key] = (
                    f"{self.name}: simulated joint {joint.label} statistics ({n_sims} draws){note}"
                )
        return values, how, mcse, bool(missing)

    def _simulate(
        self,
        joint: JointStatistics,
        wanted: Sequence[tuple[str, tuple[int, ...]]],
        *,
        n_sims: int,
        seed: Any,
    ) -> dict:
        n_batches = -(-n_sims // _BATCH)
        root = normalize_seed(seed)[0]
        children = [block_seed(root, b) for b in range(n_batches)]
        counts = dict.fromkeys(wanted, 0)
        k = joint.noncentrality.size
        for b, child in enumerate(children):
            size = min(_BATCH, n_sims - b * _BATCH)
            rng = np.random.default_rng(child)
            normals = rng.standard_normal((size, k))
            uniforms = rng.random(size)
            p = joint.p_values(joint.statistics_from(normals, uniforms))
            rejected = self.reject(p, alpha=joint.alpha)
            for key in wanted:
                what, subset = key
                sub = rejected[:, list(subset)]
                hit = sub.any(axis=1) if what == "any" else sub.all(axis=1)
                counts[key] += int(hit.sum())
        return {key: c / n_sims for key, c in counts.items()}

    def _row(
        self, joint: JointStatistics, j: int, power: float, method: str, level: float
    ) -> PowerRow:
        stat = joint.statistics[j]
        shown = stat.weakest if isinstance(stat, IntersectionUnion) else stat
        level = level if level > 0 else joint.alpha
        if isinstance(stat, IntersectionUnion):
            crit = critical_value(level / joint.sided, joint.df)
        else:
            crit = critical_value(level / stat.sided, joint.df)
        return PowerRow(
            hypothesis=stat.hypothesis,
            estimand=stat.estimand,
            effect=shown.effect,
            se=shown.se,
            df=shown.df,
            critical_value=crit,
            power=float(power),
            method=f"{method} [{shown.method}]",
            scale=shown.scale,
        )

    def _is_full(self, subset: tuple[int, ...]) -> bool:
        return sorted(subset) == list(range(len(self.hypotheses)))

    def _marginal(self, joint: JointStatistics, j: int, level: float) -> float:
        """Exact power of hypothesis ``j`` alone at local level ``level``."""
        stat = joint.statistics[j]
        if isinstance(stat, IntersectionUnion):
            comps = tuple(replace(c, alpha=level / joint.sided) for c in stat.components)
            return statistic_power(replace(stat, components=comps))
        return statistic_power(replace(stat, alpha=level))
