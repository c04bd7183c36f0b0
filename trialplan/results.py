"""Immutable result objects that print as tables and become tidy DataFrames."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from trialplan._validation import did_you_mean

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PowerResult", "PowerRow", "SampleSizeResult"]


@dataclass(frozen=True, kw_only=True)
class PowerRow:
    """Power of one hypothesis, with the numbers behind it.

    Attributes
    ----------
    hypothesis, estimand : str
        Name and the estimand in words.
    effect, se, df : float
        Effect on the analysis scale, its standard error, degrees of freedom
        (``inf`` for large-sample tests).
    critical_value : float
        Critical value on the t (or z) scale.
    power : float
        Probability of rejecting.
    method : str
        How the power was computed, naming any approximation.
    noncentrality : float
        ``(effect / se)**2``, G*Power's ``lambda = N f**2``; NaN (not
        applicable) for simulated rows and intersection-union tests.
    cohens_f, partial_eta_sq : float
        Standardized effect ``f = sqrt(lambda / N)`` and ``f^2 / (1 + f^2)``;
        NaN (not applicable) where undefined: simulated rows, intersection-union
        tests, multiplicity procedures, group-sequential rows and non-normal
        outcomes.  ``power`` is never NaN.
    """

    hypothesis: str
    estimand: str
    effect: float
    se: float
    df: float
    critical_value: float
    power: float
    method: str
    noncentrality: float = math.nan
    cohens_f: float = math.nan
    partial_eta_sq: float = math.nan
    scale: str = ""


@dataclass(frozen=True, kw_only=True)
class PowerResult(Mapping[str, float]):
    """Power per hypothesis; ``result["rTMS:MBI"]`` is a float.

    Attributes
    ----------
    rows : tuple of PowerRow
        One row per hypothesis, in the order requested.
    summary : str
        One line describing the design and the method.
    method : str
        ``"analytic"`` or ``"simulation"``.
    mcse : mapping
        Monte Carlo standard error per hypothesis (simulation only; empty for
        analytic results).
    n_sims : int or None
        Number of simulated trials (simulation only).
    seed : object
        The seed that reproduces a simulation.
    design : object
        The design that produced the result.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> res = d.power(["A", "A:B"])
    >>> round(res["A:B"], 4), list(res)
    (0.1971, ['A', 'A:B'])
    >>> res.to_frame()[["hypothesis", "effect", "power"]].round(3)
      hypothesis  effect  power
    0          A     1.5  0.912
    1        A:B     1.0  0.197
    """

    rows: tuple[PowerRow, ...]
    summary: str
    method: str = "analytic"
    mcse: Mapping[str, float] = field(default_factory=dict)
    n_sims: int | None = None
    seed: Any = None
    design: Any = field(default=None, repr=False, compare=False)
    extras: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "mcse", MappingProxyType(dict(self.mcse)))
        object.__setattr__(self, "extras", MappingProxyType(dict(self.extras)))

    def __getitem__(self, hypothesis: str) -> float:
        for row in self.rows:
            if row.hypothesis == hypothesis:
                return float(row.power)
        names = [row.hypothesis for row in self.rows]
        raise KeyError(
            f"no hypothesis {hypothesis!r} in this result; it has {names}"
            + did_you_mean(hypothesis, names)
        )

    def __iter__(self) -> Iterator[str]:
        return (row.hypothesis for row in self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def row(self, hypothesis: str) -> PowerRow:
        """The full :class:`PowerRow` of one hypothesis.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> row = d.power().row("A:B")      # IC = 3 - 1 - 1 + 0, se = 2 sqrt(4 / 20)
        >>> row.effect, round(row.se, 4), row.df, round(row.power, 4)
        (1.0, 0.8944, 76.0, 0.1971)
        """
        self[hypothesis]  # raises a helpful KeyError
        return next(r for r in self.rows if r.hypothesis == hypothesis)

    @property
    def any(self) -> float:
        """Probability of rejecting at least one hypothesis of the family.

        Only results of a multiple-testing procedure
        (``design.power(multiplicity=...)``) carry it.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> round(d.power(multiplicity=tp.Holm(["A", "B"])).any, 4)
        0.9771
        """
        return self._family("any")

    @property
    def all(self) -> float:
        """Probability of rejecting every hypothesis of the family.

        Only results of a multiple-testing procedure
        (``design.power(multiplicity=...)``) carry it.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> round(d.power(multiplicity=tp.Holm(["A", "B"])).all, 4)
        0.8284
        """
        return self._family("all")

    @property
    def expected_n(self) -> float:
        """Expected total sample size at stopping, under the planned effects (a float).

        Every sequential (and adaptive) result names it: ``design.power(
        sequential=gsd)``, its simulation, and :class:`SequentialSampleSizeResult`.
        When several hypotheses are reported, the trial's stopping rule is
        the first listed hypothesis' test; every hypothesis' value is in
        :attr:`expected_n_by_hypothesis`.

        Raises
        ------
        AttributeError
            For a result without interim analyses (a fixed design).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 0,
        ...                      ("a0", "b1"): 0, ("a1", "b1"): -4}, sd=8.0), n_per_cell=127)
        >>> gsd = tp.GroupSequential(info_fractions=(0.5, 1.0), alpha=0.025)
        >>> round(d.power("A:B", sequential=gsd).expected_n, 1)   # of N = 508
        465.9
        """
        if "expected_n" not in self.extras:
            raise AttributeError(
                "this result has no .expected_n: the expected size at stopping belongs to "
                "trials with interim analyses, e.g. design.power(sequential=tp.GroupSequential"
                "(...))"
            )
        return float(self.extras["expected_n"])

    @property
    def expected_n_by_hypothesis(self) -> Mapping[str, float]:
        """Expected total size at stopping per hypothesis, each tested on its own.

        Raises
        ------
        AttributeError
            For a result without interim analyses.
        """
        if "expected_n_by_hypothesis" not in self.extras:
            raise AttributeError(
                "this result has no .expected_n_by_hypothesis: it belongs to sequential "
                "results (design.power(sequential=...))"
            )
        return MappingProxyType(dict(self.extras["expected_n_by_hypothesis"]))

    def _family(self, key: str) -> float:
        if key not in self.extras:
            raise AttributeError(
                f"this result has no .{key}: power to reject any/all hypotheses is computed "
                "by a multiple-testing procedure, e.g. design.power(multiplicity="
                "tp.Holm([...])) or tp.Dunnett()"
            )
        return float(self.extras[key])

    def to_frame(self) -> pd.DataFrame:
        """A tidy DataFrame, one row per hypothesis (a new copy each call).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> frame = d.power(["A", "A:B"]).to_frame()
        >>> frame[["hypothesis", "df", "power", "method"]].round(3)
          hypothesis    df  power              method
        0          A  76.0  0.912  exact noncentral t
        1        A:B  76.0  0.197  exact noncentral t
        """
        import pandas as pd  # deferred: pandas is heavy and only frames need it

        frame = pd.DataFrame([row.__dict__ for row in self.rows])
        if self.mcse:
            frame.insert(
                frame.columns.get_loc("power") + 1,
                "mcse",
                [self.mcse.get(h, math.nan) for h in frame["hypothesis"]],
            )
        return frame

    def __repr__(self) -> str:
        frame = self.to_frame()
        cols = ["hypothesis", "effect", "se", "df", "power"] + (["mcse"] if self.mcse else [])
        table = frame[cols].to_string(index=False, float_format=_format_number)
        methods = sorted(set(frame["method"]))
        family = ""
        if "any" in self.extras and "all" in self.extras:
            family = (
                f"\nreject any: {float(self.extras['any']):.3f} | "
                f"reject all: {float(self.extras['all']):.3f}"
            )
        return f"{self.summary}\n{table}{family}\nmethod: {'; '.join(methods)}"

    __str__ = __repr__


def _format_number(x: float) -> str:
    if math.isinf(x):
        return "inf"
    if float(x).is_integer() and abs(x) >= 10:
        return f"{x:.0f}"
    return f"{x:.3f}"


@dataclass(frozen=True, kw_only=True)
class SampleSizeResult:
    """The smallest sample that reaches the target power.

    Attributes
    ----------
    n_per_cell : int or dict
        Analysed participants per cell (an int when cells are balanced).
    n_total : int
        Analysed participants in all cells.
    n_randomized_per_cell : dict
        ``ceil(n / (1 - dropout))`` per cell.
    n_randomized : int
        Participants to randomize in total.
    power : float
        Achieved power: the smallest over the required hypotheses.
    powers : mapping
        Achieved power per required hypothesis.
    target : float
        The target power.
    hypotheses : tuple of str
        Hypotheses that must all reach the target.
    design : object
        The design at the solved sample size.
    method : str
        How power was computed.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> ss = d.sample_size(power=0.8, hypothesis="A:B")
    >>> ss.n_per_cell, ss.n_total, round(ss.power, 4)
    (127, 508, 0.8029)
    """

    n_per_cell: int | Mapping[Any, int]
    n_total: int
    n_randomized_per_cell: Mapping[Any, int]
    n_randomized: int
    power: float
    powers: Mapping[str, float]
    target: float
    hypotheses: tuple[str, ...]
    design: Any = field(repr=False, compare=False)
    method: str = ""
    extras: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.n_per_cell, Mapping):
            object.__setattr__(self, "n_per_cell", MappingProxyType(dict(self.n_per_cell)))
        object.__setattr__(
            self, "n_randomized_per_cell", MappingProxyType(dict(self.n_randomized_per_cell))
        )
        object.__setattr__(self, "powers", MappingProxyType(dict(self.powers)))
        object.__setattr__(self, "extras", MappingProxyType(dict(self.extras)))

    def to_frame(self) -> pd.DataFrame:
        """One row per required hypothesis with the solved sizes.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> ss = d.sample_size(power=0.8, hypothesis="A:B")
        >>> ss.to_frame()[["hypothesis", "power", "n_total", "method"]].round(4)
          hypothesis   power  n_total              method
        0        A:B  0.8029      508  exact noncentral t
        """
        import pandas as pd  # deferred: pandas is heavy and only frames need it

        return pd.DataFrame(
            {
                "hypothesis": list(self.hypotheses),
                "target_power": self.target,
                "power": [self.powers[h] for h in self.hypotheses],
                "n_total": self.n_total,
                "n_randomized": self.n_randomized,
                "method": self.method,
            }
        )

    def __repr__(self) -> str:
        n = self.n_per_cell
        per_cell = n if isinstance(n, int) else dict(n)
        hyps = ", ".join(self.hypotheses)
        lines = [
            f"Sample size for power >= {self.target:g} on {hyps}",
            f"  n_per_cell   = {per_cell}",
            f"  n_total      = {self.n_total} analysed",
            f"  n_randomized = {self.n_randomized} (after dropout)",
            "  achieved power: " + ", ".join(f"{h} {p:.4f}" for h, p in self.powers.items()),
            f"  method: {self.method}",
        ]
        return "\n".join(lines)

    __str__ = __repr__
