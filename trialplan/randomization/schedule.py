"""The permuted-block schedule: its lists, realized balance, CSV export and protocol text.

Made by :func:`trialplan.randomization.permuted_blocks`.  The default (blinded)
export leaves out block sizes and block numbers, which enrolling staff must not
see (SPIRIT 2013 item 16a).

References
----------
.. [1] Chan A-W et al. SPIRIT 2013 statement. Ann Intern Med
   2013;158(3):200-207.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from trialplan._validation import check_int
from trialplan._version import __version__
from trialplan.randomization.checks import check_covariates
from trialplan.randomization.files import header_label, levels_text, write_csv
from trialplan.randomization.units import Treatment, Units

__all__ = ["Schedule"]


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class Schedule:
    """A permuted-block randomization list, one list per stratum.

    Made by :func:`permuted_blocks`; immutable.  ``len(schedule)`` is the
    number of rows over all strata.

    Attributes
    ----------
    strata : mapping of str to tuple
        Stratification variables and their levels (for a stage-2 SMART list,
        including ``"stage1"``).
    n : int
        Minimum list length per stratum that was requested.
    block_sizes : tuple of int
        Possible block sizes; ``block_probs`` their probabilities.
    seed : numpy.random.SeedSequence
        Regenerates the schedule (its ``entropy`` is written in the header).
    stage : int or None
        The SMART stage, if any.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> sched = tp.randomization.permuted_blocks(d, n=8, block_sizes=(4,),
    ...                                          strata={"site": ("A", "B")}, seed=2026)
    >>> len(sched), sched.block_sizes
    (16, (4,))
    >>> frame = sched.to_frame()
    >>> frame.groupby("site").size().to_dict()
    {'A': 8, 'B': 8}
    >>> sorted(frame.iloc[:4][["A", "B"]].itertuples(index=False, name=None))  # one block
    [('a0', 'b0'), ('a0', 'b1'), ('a1', 'b0'), ('a1', 'b1')]
    """

    frame: pd.DataFrame
    units: Units
    strata: Mapping[str, tuple[Any, ...]]
    n: int
    block_sizes: tuple[int, ...]
    block_probs: tuple[float, ...]
    seed: np.random.SeedSequence
    stage: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "strata", MappingProxyType(dict(self.strata)))

    # ------------------------------------------------------------ accessors
    @property
    def treatment_columns(self) -> tuple[str, ...]:
        """Columns that hold the assignment (factor names, ``"arm"``, ...)."""
        return self.units.columns

    @property
    def ratios(self) -> dict[Treatment, int]:
        """Allocation ratio of each treatment (cell, arm or stage option).

        For a SMART's stage-2 lists whose ratios differ by stage-1 arm, see
        the header (``allocation_ratios``) for each arm's ratios; this gives
        equal ratios then.
        """
        return dict(zip(self.units.treatments, self.units.ratios, strict=True))

    def __len__(self) -> int:
        return len(self.frame)

    def to_frame(self, *, blocks: bool = False) -> pd.DataFrame:
        """Return the schedule as a DataFrame (a new copy each call).

        Parameters
        ----------
        blocks : bool, default False
            Add the columns ``"block"`` (block number within the stratum) and
            ``"block_size"``.  Leave False for anything enrolling staff see:
            known block sizes let them predict the last assignments of a
            block.

        Returns
        -------
        pandas.DataFrame
            Columns ``"sequence"``, the stratification variables, the
            treatment columns (and the block columns when asked).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> s = tp.randomization.permuted_blocks(d, n=8, block_sizes=4, seed=1)
        >>> list(s.to_frame(blocks=True).columns)
        ['sequence', 'A', 'B', 'block', 'block_size']
        """
        frame = self.frame.copy()
        if not blocks:
            frame = frame.drop(columns=["block", "block_size"])
        return frame

    def stratum(self, **levels: Any) -> pd.DataFrame:
        """Return the list of one stratum, e.g. ``schedule.stratum(site="A")``.

        Parameters
        ----------
        **levels
            One level for every stratification variable.

        Returns
        -------
        pandas.DataFrame
            That stratum's rows of :meth:`to_frame` (blinded).

        Raises
        ------
        ValueError
            For an unknown variable or level (the closest name is suggested)
            or a missing variable.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> s = tp.randomization.permuted_blocks(d, n=8, block_sizes=4,
        ...                                      strata={"site": ("A", "B")}, seed=1)
        >>> len(s.stratum(site="B"))
        8
        """
        check_covariates(levels, self.strata, what="stratum")
        frame = self.to_frame()
        mask = np.ones(len(frame), dtype=bool)
        for variable, level in levels.items():
            mask &= (frame[variable] == level).to_numpy()
        return frame.loc[mask].reset_index(drop=True)

    # -------------------------------------------------------------- balance
    def balance(self, *, n_enrolled: int | None = None) -> pd.DataFrame:
        """Realized allocation in each stratum and overall, against the target.

        Parameters
        ----------
        n_enrolled : int, optional
            Count only the first ``n_enrolled`` entries of each stratum's
            list (as if recruitment stopped there); by default the whole list.

        Returns
        -------
        pandas.DataFrame
            Columns ``"stratum"`` (``"variable=level, ..."`` or ``"all"``),
            ``"variable"`` (``"treatment"``, or a factor name for a
            factorial's margins), ``"level"``, ``"n"``, ``"proportion"``,
            ``"target"`` and ``"difference"`` (realized minus target count).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> s = tp.randomization.permuted_blocks(d, n=16, block_sizes=(4, 8), seed=3)
        >>> b = s.balance()
        >>> print(b[b.variable == "A"][["level", "n", "target"]].to_string(index=False))
        level  n  target
           a0 10    10.0
           a1 10    10.0
        >>> late = s.balance(n_enrolled=6)      # if recruitment stopped after 6
        >>> print(late[late.variable == "treatment"][["level", "n", "target"]]
        ...       .to_string(index=False))
        level  n  target
        a0+b0  1     1.5
        a0+b1  2     1.5
        a1+b0  1     1.5
        a1+b1  2     1.5
        """
        frame = self.frame
        if n_enrolled is not None:
            n_enrolled = check_int("n_enrolled", n_enrolled)
            frame = frame[frame["sequence"] <= n_enrolled]
        variables = list(self.strata)
        units = self.units
        k = len(units.treatments)
        # target count of each treatment in each row of the frame (its list's shares)
        if units.ratios_by_stage1:
            share_of = {a: np.array(r) / sum(r) for a, r in units.ratios_by_stage1.items()}
            row_shares = (
                np.vstack([share_of[a] for a in frame["stage1"]])
                if len(frame)
                else np.zeros((0, k))
            )
        else:
            row_shares = np.tile(np.array(units.ratios) / sum(units.ratios), (len(frame), 1))
        groups: list[tuple[str, pd.DataFrame, np.ndarray]] = [("all", frame, row_shares)]
        if variables:
            for levels, index in frame.groupby(variables, sort=False).indices.items():
                levels = levels if isinstance(levels, tuple) else (levels,)
                label = ", ".join(f"{v}={lv}" for v, lv in zip(variables, levels, strict=True))
                groups.append((label, frame.iloc[index], row_shares[index]))
        rows = []
        for label, part, part_shares in groups:
            size = len(part)
            shares = part_shares.sum(axis=0) / size if size else np.zeros(k)
            keys = [tuple(r) for r in part[list(self.units.columns)].itertuples(index=False)]
            for treatment, share in zip(self.units.treatments, shares, strict=True):
                value = self.units.values(treatment)
                count = sum(1 for key in keys if key == value)
                rows.append(
                    (label, "treatment", self.units.label(treatment), count, round(share * size, 9))
                )
            if self.units.kind == "factorial":
                for j, column in enumerate(self.units.columns):
                    for level in dict.fromkeys(t[j] for t in self.units.treatments):
                        share = sum(
                            s
                            for t, s in zip(self.units.treatments, shares, strict=True)
                            if t[j] == level
                        )
                        count = sum(1 for key in keys if key[j] == level)
                        rows.append((label, column, level, count, round(share * size, 9)))
        out = pd.DataFrame(rows, columns=["stratum", "variable", "level", "n", "target"])
        total = out.groupby(["stratum", "variable"], sort=False)["n"].transform("sum")
        out.insert(
            4, "proportion", np.where(total > 0, out["n"] / total.where(total > 0, 1), np.nan)
        )
        out["difference"] = out["n"] - out["target"]
        return out

    # --------------------------------------------------------------- export
    def header(self, *, blocks: bool = False) -> list[str]:
        """Return the provenance lines written above the CSV (without ``#``).

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> s = tp.randomization.permuted_blocks(d, n=8, seed=7)
        >>> [line for line in s.header() if line.startswith(("seed", "block"))]
        ['block_sizes: 4, 8', 'block_probs: 0.5, 0.5', 'seed: 7']
        """
        units = self.units
        ratio_text = "; ".join(
            ", ".join(
                f"{header_label(units.label(t))}={r}"
                for t, r in zip(units.treatments, ratios, strict=True)
            )
            + where
            for where, ratios in units.ratio_sets().items()
        )
        strata_text = levels_text(self.strata)
        seed_text = str(self.seed.entropy)
        if self.seed.spawn_key:
            seed_text += f" (spawn_key={tuple(self.seed.spawn_key)})"
        lines = [
            "trialplan randomization schedule: stratified permuted blocks",
            f"trialplan_version: {__version__}",
            f"design: {units.description}",
            f"randomized: {units.kind} over {len(units.treatments)} treatments",
            f"allocation_ratios: {ratio_text}",
            f"strata: {strata_text}",
            f"n_per_stratum_min: {self.n}",
            f"block_sizes: {', '.join(map(str, self.block_sizes))}",
            f"block_probs: {', '.join(f'{q:g}' for q in self.block_probs)}",
            f"seed: {seed_text}",
            "streams: numpy PCG64, one per stratum, SeedSequence(seed, "
            "spawn_key=sha256(stratum labels))",
            f"numpy_version: {np.__version__} (regenerate with the same numpy version: "
            "Generator streams may change between releases)",
            f"rows: {len(self)}",
            "blinded: "
            + (
                "no (block and block_size columns included)"
                if blocks
                else "yes (block sizes and block numbers withheld)"
            ),
        ]
        if self.stage is not None:
            lines.insert(4, f"stage: {self.stage}")
        return lines

    def to_csv(self, path: str | Path, *, blocks: bool = False) -> Path:
        """Write the schedule as CSV, after a ``#`` header recording its provenance.

        Parameters
        ----------
        path : str or pathlib.Path
            File to write (overwritten).
        blocks : bool, default False
            Include block numbers and sizes (the unblinded master copy).

        Returns
        -------
        pathlib.Path
            The path written.  Read it back, exactly, with
            :func:`read_schedule`.

        Notes
        -----
        The file is UTF-8: ``#`` header lines (labels that are not plain
        words are written as JSON strings, and line breaks are escaped, so
        the header keeps one line per item), then the table.  Every text
        field is quoted (Python's ``csv`` module, ``QUOTE_NONNUMERIC``), so
        commas, ``#``, quotes and line breaks in labels survive, and a text
        field that begins with ``=``, ``+``, ``-``, ``@``, a tab, a carriage
        return or ``'`` gets a leading ``'`` so that a spreadsheet does not
        run it as a formula.  The file is written to a temporary file and
        renamed, so a crash never leaves half a schedule.

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd, trialplan as tp
        >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
        ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
        >>> s = tp.randomization.permuted_blocks(d, n=8, seed=7)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     out = s.to_csv(pathlib.Path(tmp) / "schedule.csv")
        ...     first = out.read_text().splitlines()[0]
        ...     back = tp.randomization.read_schedule(out)
        >>> first
        '# trialplan randomization schedule: stratified permuted blocks'
        >>> back.equals(s.to_frame())
        True
        """
        frame = self.to_frame(blocks=blocks)
        return write_csv(
            path,
            self.header(blocks=blocks),
            list(frame.columns),
            frame.itertuples(index=False, name=None),
        )

    def describe(self) -> str:
        """Return a protocol sentence for the allocation sequence (SPIRIT 2013 item 16a).

        Block sizes are named only as "random" here: the protocol seen by
        enrolling staff should not reveal them.

        Examples
        --------
        >>> import trialplan as tp
        >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        ...                  outcome=tp.Continuous(means={("sham", "control"): 0,
        ...                      ("active", "control"): -3, ("sham", "MBI"): -2,
        ...                      ("active", "MBI"): -8}, sd=8.0), n_per_cell=50)
        >>> s = tp.randomization.permuted_blocks(d, n=100, strata={"site": ("A", "B")},
        ...                                      seed=2026)
        >>> import textwrap
        >>> text = s.describe()
        >>> print(textwrap.fill(text.split(' with a computer')[0], 80))
        Participants will be randomized 1:1:1:1 to the four cells of the rTMS x MBI
        factorial (sham+control, sham+MBI, active+control, active+MBI) by permuted
        blocks of random size, stratified by site,
        >>> text.endswith(f"(trialplan {tp.__version__}, seed 2026).")
        True
        """
        units = self.units
        words = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 8: "eight"}
        k = len(units.treatments)
        count = words.get(k, str(k))
        labels = ", ".join(units.label(t) for t in units.treatments)
        if units.kind == "factorial":
            what = f"the {count} cells of the {' x '.join(units.columns)} factorial ({labels})"
        elif units.kind == "SMART stage 2":
            what = f"one of {count} stage-2 options ({labels})"
        else:
            what = (
                f"one of {count} {'arms' if units.kind == 'parallel' else 'stage-1 arms'} "
                f"({labels})"
            )
        if units.ratios_by_stage1:
            ratio = "in the ratios set for each stage-1 arm"
        else:
            ratio = ":".join(map(str, units.ratios))
        who = (
            "Non-responders will be re-randomized "
            if units.kind == "SMART stage 2"
            else "Participants will be randomized "
        )
        strata = [
            ("stage-1 arm" if v == "stage1" and units.kind == "SMART stage 2" else v)
            for v in self.strata
        ]
        strata_text = f", stratified by {' and '.join(strata)}" if strata else ""
        return (
            f"{who}{ratio} to {what} by permuted blocks of random size{strata_text}, "
            f"with a computer-generated sequence (trialplan {__version__}, seed "
            f"{self.seed.entropy})."
        )

    def __repr__(self) -> str:
        units = self.units
        n_strata = math.prod(len(v) for v in self.strata.values())
        overall = self.balance()
        overall = overall[(overall.stratum == "all") & (overall.variable == "treatment")]
        table = overall[["level", "n", "proportion", "target"]].to_string(
            index=False, float_format=lambda x: f"{x:.3f}"
        )
        return (
            f"Permuted-block schedule | {units.description} | {n_strata} "
            f"strat{'um' if n_strata == 1 else 'a'} x >= {self.n} | block sizes "
            f"{self.block_sizes} | seed={self.seed.entropy}\n{table}"
        )

    __str__ = __repr__
