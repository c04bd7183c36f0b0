"""Differential validation: random designs computed by trialplan and by R.

``python -m trialplan.validate`` draws random designs with a fixed seed (2x2
factorial power and sample size, group-sequential bounds and characteristics,
the combination (min) test, Dunnett's many-to-one procedure, two proportions on
the arcsine scale, Schoenfeld's events), computes each quantity with trialplan
and -- where ``Rscript`` with the packages rpact, mvtnorm and pwr is installed --
with R, through the committed script ``reference.R`` beside this module, which
works from the definitions and those packages, not from trialplan. It prints,
per check, the largest absolute difference against a stated tolerance and exits
with status 1 when any difference exceeds its tolerance.

Without R it says so and checks trialplan against the R values recorded with
the package (``recorded/``: the designs and R's values of the last recorded run,
and that run's printed report, ``recorded/last_run.txt``). ``--record`` (needs
R) rewrites them.

The tolerances are those of the methods, not of convenience: R's ``pt`` and
scipy's noncentral t agree to about 1e-9; mvtnorm's quasi-Monte Carlo
integration carries an absolute error of about 1e-6 (``abseps``), Dunnett's
critical value inherits it; rpact solves its bounds to about 1e-8; sample sizes
and the closed forms (pwr, Schoenfeld) must agree exactly or to rounding.
"""

from __future__ import annotations

import argparse
import io
import math
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CHECKS",
    "DEFAULT_SEED",
    "Check",
    "compare",
    "compute",
    "draw_cases",
    "find_r",
    "main",
    "read_cases",
    "run_r",
]

HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "reference.R"
RECORDED = HERE / "recorded"
#: Seed of the recorded designs (``recorded/``).
DEFAULT_SEED = 20261201
#: Designs drawn per kind by default.
DEFAULT_CASES = {
    "factorial": 12,
    "mintest": 8,
    "dunnett": 6,
    "gsd": 16,
    "proportions": 10,
    "events": 8,
}
KINDS = tuple(DEFAULT_CASES)
CELLS = (("a0", "b0"), ("a1", "b0"), ("a0", "b1"), ("a1", "b1"))  # the order R uses
HYPOTHESES = {
    "A": "A",
    "B": "B",
    "AB": "A:B",
    "A_b0": "A | B=b0",
    "A_b1": "A | B=b1",
    "B_a0": "B | A=a0",
    "B_a1": "B | A=a1",
}
R_PACKAGES = ("rpact", "mvtnorm", "pwr")


@dataclass(frozen=True)
class Check:
    """One line of the report: the quantities it covers and their tolerance."""

    name: str
    kind: str
    prefix: str  # quantities whose name starts with this
    tolerance: float
    reference: str  # what R computes it with


#: The checks, in report order. Every quantity R writes belongs to exactly one.
CHECKS = (
    Check("factorial power", "factorial", "power_", 1e-8, "R pt (noncentral t)"),
    Check("factorial sample size (n per cell)", "factorial", "n_", 0.0, "R pt, search over n"),
    Check("min test power", "mintest", "power_", 5e-5, "mvtnorm pmvt"),
    Check("Dunnett critical value", "dunnett", "critical", 1e-4, "mvtnorm pmvt + uniroot"),
    Check("Dunnett power (any, all)", "dunnett", "power_", 5e-5, "mvtnorm pmvt"),
    Check("group-sequential bounds (z)", "gsd", "efficacy_", 1e-5, "rpact"),
    Check("group-sequential futility bounds (z)", "gsd", "futility_", 1e-5, "rpact"),
    Check("inflation factor", "gsd", "inflation", 1e-5, "rpact"),
    Check("expected information (H0, H1)", "gsd", "expected_", 1e-5, "rpact"),
    Check("two proportions power", "proportions", "power", 1e-9, "pwr.2p.test"),
    Check("two proportions n per arm", "proportions", "n_", 0.0, "pwr.2p.test"),
    Check("Schoenfeld events", "events", "events", 1e-7, "rpact getSampleSizeSurvival"),
)


# -- drawing the designs ---------------------------------------------------------------


def _join(values: Sequence[float]) -> str:
    """Numbers as ``;``-separated text that reads back exactly (shortest round trip)."""
    return ";".join(str(int(v)) if float(v).is_integer() else repr(float(v)) for v in values)


def _split(text: str) -> list[float]:
    return [float(v) for v in str(text).split(";")]


def _cell_sizes(rng: np.random.Generator, lo: int, hi: int, k: int) -> list[int]:
    if rng.random() < 0.5:
        return [int(rng.integers(lo, hi))] * k
    return [int(v) for v in rng.integers(lo, hi, size=k)]


def _draw_factorial(rng: np.random.Generator, count: int) -> pd.DataFrame:
    rows = []
    contrasts = {"A": (-0.5, 0.5, -0.5, 0.5), "B": (-0.5, -0.5, 0.5, 0.5), "AB": (1, -1, -1, 1)}
    while len(rows) < count:
        sd = float(np.round(rng.uniform(2.0, 12.0) * 2) / 2)
        mu = [0.0] + [float(np.round(rng.uniform(-1.2, 0.4) * sd, 1)) for _ in range(3)]
        sided = int(rng.choice([1, 2]))
        alpha = float(rng.choice([0.025, 0.05])) if sided == 1 else float(rng.choice([0.01, 0.05]))
        sample_size = len(rows) % 2 == 0  # every other design also asks for a sample size
        hypothesis, target = "", float("nan")
        if sample_size:
            hypothesis = str(rng.choice(list(contrasts)))
            theta = float(np.dot(contrasts[hypothesis], mu))
            size = abs(theta) / (sd * math.sqrt(sum(c * c for c in contrasts[hypothesis])))
            if size < 0.08 or (sided == 1 and theta >= 0):
                continue  # unreachable or huge: draw again
            target = float(rng.choice([0.8, 0.9]))
            n = [int(rng.integers(4, 150))] * 4
        else:
            n = _cell_sizes(rng, 3, 150, 4)
        rows.append(
            {
                "mu": _join(mu),
                "n": _join(n),
                "sd": sd,
                "alpha": alpha,
                "sided": sided,
                "target": target,
                "ss_hypothesis": hypothesis,
            }
        )
    return pd.DataFrame(rows)


def _draw_mintest(rng: np.random.Generator, count: int) -> pd.DataFrame:
    rows = []
    for _ in range(count):
        sd = float(np.round(rng.uniform(2.0, 10.0) * 2) / 2)
        a, b = (float(np.round(rng.uniform(-0.8, 0.0) * sd, 1)) for _ in range(2))
        both = float(np.round(min(a, b) - rng.uniform(0.1, 0.9) * sd, 1))
        rows.append(
            {
                "mu": _join([0.0, a, b, both]),
                "n": _join(_cell_sizes(rng, 4, 150, 4)),
                "sd": sd,
                "alpha": float(rng.choice([0.025, 0.05])),
            }
        )
    return pd.DataFrame(rows)


def _draw_dunnett(rng: np.random.Generator, count: int) -> pd.DataFrame:
    rows = []
    for _ in range(count):
        k = int(rng.integers(2, 5))
        sided = int(rng.choice([1, 2]))
        if sided == 2:
            k = min(k, 3)  # 2^k sign orthants for the power to reject all
        rows.append(
            {
                "n0": int(rng.integers(8, 80)),
                "n": _join(_cell_sizes(rng, 8, 80, k)),
                "d": _join(np.round(rng.uniform(0.2, 1.0, size=k), 2)),
                "alpha": float(rng.choice([0.025, 0.05])),
                "sided": sided,
            }
        )
    return pd.DataFrame(rows)


def _draw_gsd(rng: np.random.Generator, count: int) -> pd.DataFrame:
    rows = []
    for _ in range(count):
        k = int(rng.integers(2, 6))
        if rng.random() < 0.4:
            rates = [(j + 1) / k for j in range(k)]
        else:
            while True:
                inner = np.sort(np.round(rng.uniform(0.15, 0.9, size=k - 1), 2))
                points = [*inner.tolist(), 1.0]
                if np.all(np.diff([0.0, *points]) >= 0.1):
                    rates = points
                    break
        sided = int(rng.choice([1, 1, 2]))
        efficacy = str(rng.choice(["asOF", "asP", "asKD", "asHSD", "asOF", "asHSD", "OF", "P"]))
        gamma_a = {
            "asKD": float(rng.choice([1.0, 2.0, 3.0])),
            "asHSD": float(rng.choice([-4.0, -2.0, 1.0])),
        }
        futility, gamma_b, binding = "none", float("nan"), False
        if sided == 1 and efficacy.startswith("as") and rng.random() < 0.8:
            futility = str(rng.choice(["bsOF", "bsP", "bsKD", "bsHSD"]))
            gamma_b = {
                "bsKD": float(rng.choice([1.0, 2.0, 3.0])),
                "bsHSD": float(rng.choice([-4.0, -2.0, 1.0])),
            }.get(futility, float("nan"))
            binding = bool(rng.random() < 0.5)
        rows.append(
            {
                "info_rates": _join(rates),
                "alpha": float(rng.choice([0.025, 0.05])) if sided == 1 else 0.05,
                "sided": sided,
                "beta": float(rng.choice([0.1, 0.2])),
                "efficacy": efficacy,
                "gamma_a": gamma_a.get(efficacy, float("nan")),
                "futility": futility,
                "gamma_b": gamma_b,
                "binding": binding,
            }
        )
    return pd.DataFrame(rows)


def _draw_proportions(rng: np.random.Generator, count: int) -> pd.DataFrame:
    rows = []
    for _ in range(count):
        p1 = float(np.round(rng.uniform(0.05, 0.6), 2))
        p2 = float(np.round(min(p1 + rng.uniform(0.08, 0.3), 0.95), 2))
        if rng.random() < 0.5:
            p1, p2 = p2, p1
        rows.append(
            {
                "p1": p1,
                "p2": p2,
                "n": int(rng.integers(20, 300)),
                "alpha": float(rng.choice([0.01, 0.05])),
                "target": float(rng.choice([0.8, 0.9])),
            }
        )
    return pd.DataFrame(rows)


def _draw_events(rng: np.random.Generator, count: int) -> pd.DataFrame:
    rows = []
    for _ in range(count):
        hr = float(np.round(rng.uniform(0.5, 0.85), 3))
        sided = int(rng.choice([1, 2]))
        rows.append(
            {
                "hazard_ratio": hr if rng.random() < 0.7 else float(np.round(1 / hr, 3)),
                "power": float(rng.choice([0.8, 0.9])),
                "alpha": float(rng.choice([0.025, 0.05])),
                "sided": sided,
                "allocation": float(rng.choice([0.5, 1 / 3, 2 / 3])),
            }
        )
    return pd.DataFrame(rows)


_DRAW: dict[str, Callable[[np.random.Generator, int], pd.DataFrame]] = {
    "factorial": _draw_factorial,
    "mintest": _draw_mintest,
    "dunnett": _draw_dunnett,
    "gsd": _draw_gsd,
    "proportions": _draw_proportions,
    "events": _draw_events,
}


def draw_cases(
    *, seed: int = DEFAULT_SEED, counts: dict[str, int] | None = None
) -> dict[str, pd.DataFrame]:
    """Draw random designs of every kind.

    Parameters
    ----------
    seed : int, default DEFAULT_SEED
        Seed of the ``numpy.random.Generator``; each kind draws from its own
        child stream (``SeedSequence.spawn``), so changing one kind's count
        leaves the others' designs unchanged.
    counts : dict of str to int, optional
        Designs per kind (``"factorial"``, ``"mintest"``, ``"dunnett"``, ``"gsd"``,
        ``"proportions"``, ``"events"``); missing kinds get their default
        number, 0 leaves a kind out.

    Returns
    -------
    dict of str to pandas.DataFrame
        One table per kind, one row per design, with a ``case`` column
        (``"<kind>-<number>"``); vectors (cell means, sizes, information rates)
        are ``;``-separated.

    Raises
    ------
    ValueError
        For an unknown kind or a negative count.

    Examples
    --------
    >>> from trialplan.validate import draw_cases
    >>> cases = draw_cases(seed=1, counts={"events": 2})
    >>> cases["events"]["case"].tolist()
    ['events-01', 'events-02']
    >>> len(cases["gsd"]) == 16
    True
    """
    counts = {**DEFAULT_CASES, **(counts or {})}
    unknown = set(counts) - set(KINDS)
    if unknown:
        raise ValueError(f"counts: unknown kind(s) {sorted(unknown)}; kinds are {list(KINDS)}")
    children = np.random.SeedSequence(seed).spawn(len(KINDS))
    cases = {}
    for kind, child in zip(KINDS, children, strict=True):
        count = counts[kind]
        if not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"counts[{kind!r}] must be a whole number >= 0; got {count!r}")
        if count == 0:
            continue
        frame = _DRAW[kind](np.random.default_rng(child), int(count))
        frame.insert(0, "case", [f"{kind}-{i + 1:02d}" for i in range(len(frame))])
        cases[kind] = frame
    return cases


def write_cases(cases: dict[str, pd.DataFrame], folder: Path) -> None:
    """Write the designs as the CSV files ``reference.R`` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, frame in cases.items():
        frame.to_csv(folder / f"{kind}.csv", index=False, float_format="%.17g")


def read_cases(folder: Path) -> dict[str, pd.DataFrame]:
    """Read designs written by :func:`write_cases` (the recorded ones, by default).

    Parameters
    ----------
    folder : pathlib.Path
        Folder with ``<kind>.csv`` files.

    Returns
    -------
    dict of str to pandas.DataFrame
        The designs, by kind.

    Examples
    --------
    >>> from trialplan.validate import RECORDED, read_cases
    >>> sorted(read_cases(RECORDED))
    ['dunnett', 'events', 'factorial', 'gsd', 'mintest', 'proportions']
    """
    cases = {}
    for kind in KINDS:
        path = Path(folder) / f"{kind}.csv"
        if path.exists():
            frame = pd.read_csv(path)
            text = frame.select_dtypes(exclude=["number", "bool"]).columns
            frame[text] = frame[text].fillna("")  # an empty field is an empty string
            cases[kind] = frame
    return cases


# -- trialplan's values ----------------------------------------------------------------


def _public() -> Any:
    """The public objects validate uses, imported from their homes.

    A module of trialplan never imports the top-level package (the import
    contract in pyproject.toml), so ``tp.X`` here is this namespace.
    """
    from types import SimpleNamespace

    from trialplan.designs.factorial import Factorial
    from trialplan.designs.parallel import Parallel
    from trialplan.multiplicity.dunnett import Dunnett
    from trialplan.outcomes.binary import Binary
    from trialplan.outcomes.continuous import Continuous
    from trialplan.outcomes.survival import schoenfeld_events
    from trialplan.sequential import boundaries, spending
    from trialplan.sequential.design import GroupSequential

    return SimpleNamespace(
        Factorial=Factorial,
        Parallel=Parallel,
        Dunnett=Dunnett,
        Binary=Binary,
        Continuous=Continuous,
        schoenfeld_events=schoenfeld_events,
        boundaries=boundaries,
        spending=spending,
        GroupSequential=GroupSequential,
    )


def _two_by_two(mu: list[float], n: Any, sd: float, alpha: float, sided: int) -> Any:
    tp = _public()

    sizes = n if isinstance(n, int) else dict(zip(CELLS, n, strict=True))
    return tp.Factorial(
        factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        outcome=tp.Continuous(
            means=dict(zip(CELLS, mu, strict=True)), sd=float(sd), better="lower"
        ),
        n_per_cell=sizes,
        alpha=float(alpha),
        sided=int(sided),
    )


def _factorial(row: pd.Series) -> dict[str, float]:
    n = [int(v) for v in _split(row.n)]
    design = _two_by_two(_split(row.mu), n, row.sd, row.alpha, row.sided)
    power = design.power(list(HYPOTHESES.values()))
    out = {f"power_{key}": power[name] for key, name in HYPOTHESES.items()}
    if isinstance(row.ss_hypothesis, str) and row.ss_hypothesis:
        balanced = design.replace(n_per_cell=n[0])
        ss = balanced.sample_size(power=float(row.target), hypothesis=HYPOTHESES[row.ss_hypothesis])
        out[f"n_{row.ss_hypothesis}"] = ss.n_per_cell
    return out


def _mintest(row: pd.Series) -> dict[str, float]:
    n = [int(v) for v in _split(row.n)]
    design = _two_by_two(_split(row.mu), n, row.sd, row.alpha, 1)
    return {"power_combination": design.power("combination")["combination"]}


def _dunnett(row: pd.Series) -> dict[str, float]:
    tp = _public()

    n = [int(v) for v in _split(row.n)]
    d = _split(row.d)
    arms = ["control"] + [f"arm{i + 1}" for i in range(len(n))]
    design = tp.Parallel(
        arms=arms,
        outcome=tp.Continuous(
            means={"control": 0.0} | dict(zip(arms[1:], d, strict=True)), sd=1.0, better="higher"
        ),
        n_per_arm={"control": int(row.n0)} | dict(zip(arms[1:], n, strict=True)),
        control="control",
        alpha=float(row.alpha),
        sided=int(row.sided),
    )
    res = design.power(multiplicity=tp.Dunnett())
    return {
        "critical": res.extras["critical_value"],
        "power_any": res.any,
        "power_all": res.all,
    }


def _spending(code: str, gamma: float) -> Any:
    tp = _public()

    kind = code[2:]
    return {
        "OF": tp.spending.obrien_fleming,
        "P": tp.spending.pocock,
        "KD": lambda: tp.spending.power_family(gamma),
        "HSD": lambda: tp.spending.hwang_shih_decani(gamma),
    }[kind]()


def _gsd(row: pd.Series) -> dict[str, float]:
    tp = _public()

    if row.efficacy in ("OF", "P"):
        efficacy = {"OF": tp.boundaries.obrien_fleming, "P": tp.boundaries.pocock}[row.efficacy]()
    else:
        efficacy = _spending(row.efficacy, row.gamma_a)
    futility = None if row.futility == "none" else _spending(row.futility, row.gamma_b)
    gsd = tp.GroupSequential(
        info_fractions=tuple(_split(row.info_rates)),
        alpha=float(row.alpha),
        sided=int(row.sided),
        efficacy=efficacy,
        futility=futility,
        beta=float(row.beta),
        binding=bool(row.binding) if futility is not None else False,
    )
    out = {f"efficacy_{j + 1}": float(z) for j, z in enumerate(gsd.efficacy_z)}
    if futility is not None:
        out |= {f"futility_{j + 1}": float(z) for j, z in enumerate(gsd.futility_z[:-1])}
    out["inflation_factor"] = gsd.inflation_factor
    out["expected_information_H0"] = gsd.expected_information["H0"]
    out["expected_information_H1"] = gsd.expected_information["H1"]
    return out


def _proportions(row: pd.Series) -> dict[str, float]:
    tp = _public()

    design = tp.Parallel(
        arms=("p1", "p2"),
        outcome=tp.Binary(rates={"p1": float(row.p1), "p2": float(row.p2)}, scale="arcsine"),
        n_per_arm=int(row.n),
        control="p1",
        alpha=float(row.alpha),
    )
    ss = design.sample_size(power=float(row.target), hypothesis="p2 vs p1")
    return {"power": design.power()["p2 vs p1"], "n_per_arm": ss.n_per_cell}


def _events(row: pd.Series) -> dict[str, float]:
    tp = _public()

    return {
        "events": tp.schoenfeld_events(
            hazard_ratio=float(row.hazard_ratio),
            power=float(row.power),
            alpha=float(row.alpha),
            allocation=float(row.allocation),
            sided=int(row.sided),
        )
    }


_COMPUTE: dict[str, Callable[[pd.Series], dict[str, float]]] = {
    "factorial": _factorial,
    "mintest": _mintest,
    "dunnett": _dunnett,
    "gsd": _gsd,
    "proportions": _proportions,
    "events": _events,
}


def compute(cases: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The value trialplan computes for every quantity of every design.

    Parameters
    ----------
    cases : dict of str to pandas.DataFrame
        Designs by kind, as :func:`draw_cases` returns them.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind``, ``case``, ``quantity``, ``value``.

    Examples
    --------
    >>> from trialplan.validate import compute, draw_cases
    >>> frame = compute(draw_cases(seed=1, counts=dict.fromkeys(
    ...     ["factorial", "mintest", "dunnett", "gsd", "proportions"], 0) | {"events": 1}))
    >>> frame[["kind", "case", "quantity"]].values.tolist()
    [['events', 'events-01', 'events']]
    """
    from trialplan.designs.base import DirectionWarning

    rows = []
    with warnings.catch_warnings():
        # Random one-sided designs may plan an effect against the tested direction on
        # purpose (power below alpha, which R computes too): no warning for those.
        warnings.simplefilter("ignore", DirectionWarning)
        for kind, frame in cases.items():
            for _, row in frame.iterrows():
                for quantity, value in _COMPUTE[kind](row).items():
                    rows.append((kind, row.case, quantity, float(value)))
    return pd.DataFrame(rows, columns=["kind", "case", "quantity", "value"])


# -- R's values ------------------------------------------------------------------------


def find_r(rscript: str | None = None) -> tuple[str | None, str]:
    """Locate ``Rscript`` with rpact, mvtnorm and pwr.

    Parameters
    ----------
    rscript : str, optional
        Path of ``Rscript``; by default the one on ``PATH``.

    Returns
    -------
    tuple
        ``(path, versions)`` when R and the three packages load, else
        ``(None, reason)``.
    """
    path = rscript or shutil.which("Rscript")
    if path is None:
        return None, "Rscript was not found on PATH"
    probe = (
        "v <- sapply(c('rpact', 'mvtnorm', 'pwr'), function(p) "
        "if (requireNamespace(p, quietly = TRUE)) as.character(packageVersion(p)) else NA); "
        "cat(R.version$major, '.', R.version$minor, ' ', sep = ''); "
        "cat(paste(names(v), v), sep = ', ')"
    )
    try:
        proc = subprocess.run(
            [path, "-e", probe], capture_output=True, text=True, timeout=120, check=False
        )
    except OSError as exc:
        return None, f"{path} could not be run ({exc})"
    if proc.returncode != 0:
        return None, f"{path} failed: {proc.stderr.strip()[-300:]}"
    text = proc.stdout.strip()
    missing = [p for p in R_PACKAGES if f"{p} NA" in text]
    if missing:
        return None, f"R lacks the package(s) {', '.join(missing)}"
    version, _, packages = text.partition(" ")
    return path, f"R {version}; {packages}"


def run_r(cases: dict[str, pd.DataFrame], rscript: str, folder: Path | None = None) -> pd.DataFrame:
    """R's value of every quantity of every design, from ``reference.R``.

    Parameters
    ----------
    cases : dict of str to pandas.DataFrame
        Designs by kind.
    rscript : str
        Path of ``Rscript`` (see :func:`find_r`).
    folder : pathlib.Path, optional
        Where the designs and R's values are written (a temporary folder by
        default, removed afterwards).

    Returns
    -------
    pandas.DataFrame
        Columns ``kind``, ``case``, ``quantity``, ``value``; ``attrs["provenance"]``
        holds the R and package versions.

    Raises
    ------
    RuntimeError
        When the R script fails.
    """
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(folder) if folder is not None else Path(tmp)
        write_cases(cases, where)
        proc = subprocess.run(
            [rscript, str(R_SCRIPT), str(where)],
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"reference.R failed:\n{proc.stderr[-3000:]}")
        return read_values(where / "r_values.csv")


def read_values(path: Path) -> pd.DataFrame:
    """Read an ``r_values.csv`` (its first line, a comment, is the provenance)."""
    text = Path(path).read_text(encoding="utf-8")
    frame = pd.read_csv(io.StringIO(text), comment="#")
    frame.attrs["provenance"] = text.splitlines()[0].lstrip("# ").strip()
    return frame


# -- comparison ------------------------------------------------------------------------


def compare(ours: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Largest difference per check, against its tolerance.

    Parameters
    ----------
    ours, reference : pandas.DataFrame
        Values (``kind``, ``case``, ``quantity``, ``value``) from :func:`compute`
        and from R.

    Returns
    -------
    pandas.DataFrame
        One row per check of :data:`CHECKS` that has values: ``check``,
        ``reference`` (the R function), ``designs``, ``values``, ``largest``
        (absolute difference), ``worst`` (case and quantity), ``tolerance``,
        ``ok``.

    Raises
    ------
    ValueError
        When a quantity is missing on one side or belongs to no check, so that
        nothing is silently left out.

    Examples
    --------
    >>> import pandas as pd
    >>> from trialplan.validate import compare
    >>> ours = pd.DataFrame({"kind": ["events"], "case": ["events-01"],
    ...                      "quantity": ["events"], "value": [246.93]})
    >>> r = ours.assign(value=[246.93 + 1e-9])
    >>> compare(ours, r)[["check", "values", "ok"]].values.tolist()
    [['Schoenfeld events', 1, True]]
    """
    keys = ["kind", "case", "quantity"]
    merged = ours.merge(reference, on=keys, how="outer", suffixes=("_ours", "_r"), indicator="side")
    lonely = merged[merged["side"] != "both"]
    if len(lonely):
        sides = {"left_only": "only trialplan", "right_only": "only R"}
        listed = [f"{r.case} {r.quantity} ({sides[r.side]})" for r in lonely.itertuples()]
        raise ValueError(f"values computed on one side only: {listed[:10]}")
    merged["diff"] = (merged["value_ours"] - merged["value_r"]).abs()
    if merged["diff"].isna().any():
        bad = merged[merged["diff"].isna()][keys].values.tolist()
        raise ValueError(f"missing (NaN) values for {bad[:10]}")
    rows, covered = [], np.zeros(len(merged), dtype=bool)
    for check in CHECKS:
        mask = (merged["kind"] == check.kind) & merged["quantity"].str.startswith(check.prefix)
        mask &= ~covered
        covered |= mask.to_numpy()
        part = merged[mask]
        if part.empty:
            continue
        worst = part.loc[part["diff"].idxmax()]
        rows.append(
            {
                "check": check.name,
                "reference": check.reference,
                "designs": part["case"].nunique(),
                "values": len(part),
                "largest": float(worst["diff"]),
                "worst": f"{worst.case} {worst.quantity}",
                "tolerance": check.tolerance,
                "ok": bool(part["diff"].max() <= check.tolerance),
            }
        )
    if not covered.all():
        left = merged[~covered][keys].values.tolist()
        raise ValueError(f"quantities that no check covers: {left[:10]}")
    return pd.DataFrame(rows)


def report(table: pd.DataFrame, header: Sequence[str]) -> str:
    """The printed report: header lines, the table, and the verdict."""
    shown = table.assign(
        largest=table["largest"].map(lambda v: f"{v:.2g}"),
        tolerance=table["tolerance"].map(lambda v: f"{v:g}"),
        ok=table["ok"].map({True: "ok", False: "EXCEEDS"}),
    ).rename(columns={"largest": "largest |diff|", "ok": "status"})
    failed = int((~table["ok"]).sum())
    verdict = (
        f"all {len(table)} checks within tolerance"
        if not failed
        else f"{failed} of {len(table)} checks exceed their tolerance"
    )
    return "\n".join([*header, "", shown.to_string(index=False), "", verdict]) + "\n"


# -- command line ----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trialplan.validate",
        description="Differential validation: random designs computed by trialplan and by R "
        "(rpact, mvtnorm, pwr). Without R, checks the recorded R values.",
    )
    parser.add_argument("--seed", type=int, default=None, help=f"seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "--cases",
        type=int,
        default=None,
        metavar="N",
        help="designs per kind (default: "
        + ", ".join(f"{k} {v}" for k, v in DEFAULT_CASES.items())
        + ")",
    )
    parser.add_argument("--without-r", action="store_true", help="check the recorded R values only")
    parser.add_argument("--rscript", default=None, help="path of Rscript (default: from PATH)")
    parser.add_argument(
        "--record",
        action="store_true",
        help="store the designs, R's values and this report as the recorded run (needs R)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the validation; print the report; return 0 when every check passes, else 1.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``); see
        ``python -m trialplan.validate --help``.

    Returns
    -------
    int
        Exit status: 0 all checks within tolerance, 1 a check exceeds its
        tolerance, 2 a usage error (``--record`` without R).
    """
    from trialplan._version import __version__

    args = _parser().parse_args(argv)
    rscript, r_info = (None, "--without-r was given") if args.without_r else find_r(args.rscript)
    if args.record and rscript is None:
        print(f"--record needs R with {', '.join(R_PACKAGES)}: {r_info}", file=sys.stderr)
        return 2
    header = [f"trialplan {__version__}: differential validation against R"]
    if rscript is not None:
        seed = DEFAULT_SEED if args.seed is None else args.seed
        counts = None if args.cases is None else dict.fromkeys(KINDS, args.cases)
        cases = draw_cases(seed=seed, counts=counts)
        header.append(
            f"{sum(map(len, cases.values()))} random designs (seed {seed}); R values computed "
            f"now by trialplan/validate/reference.R ({r_info})"
        )
        folder = RECORDED if args.record else None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        reference = run_r(cases, rscript, folder)
    else:
        if args.seed not in (None, DEFAULT_SEED) or args.cases is not None:
            print(
                "note: without R only the recorded designs can be checked; "
                "--seed and --cases are ignored",
                file=sys.stderr,
            )
        cases = read_cases(RECORDED)
        reference = read_values(RECORDED / "r_values.csv")
        header.append(
            f"R with {', '.join(R_PACKAGES)} is not available ({r_info}): checking the "
            f"{sum(map(len, cases.values()))} recorded designs (seed {DEFAULT_SEED}) against the "
            f"R values recorded with {reference.attrs['provenance']}"
        )
    table = compare(compute(cases), reference)
    text = report(table, header)
    print(text, end="")
    if args.record:
        (RECORDED / "last_run.txt").write_text(
            "$ python -m trialplan.validate\n" + text, encoding="utf-8"
        )
    return 0 if table["ok"].all() else 1
