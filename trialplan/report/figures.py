"""Protocol figures: power curves and group-sequential boundary plots.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas,
without pyplot, so they never open a window, need no display and leave the
user's matplotlib backend alone.  :func:`save_figure` writes PNG and SVG.
matplotlib is part of the optional ``report`` extra.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trialplan._validation import check_int, check_open_unit

__all__ = ["boundary_plot", "power_curve", "power_curve_data", "save_figure"]


def _figure(width: float = 6.4, height: float = 4.0) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("figures need matplotlib: pip install 'trialplan[report]'") from exc
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def power_curve_data(
    design: Any, hypotheses: Sequence[str], *, multipliers: Sequence[int] | None = None
) -> dict[str, Any]:
    """Exact power of each hypothesis as the trial grows, allocation kept.

    Parameters
    ----------
    design : cell design (``tp.Factorial``, ``tp.Parallel``)
        The planned design; its allocation ratios are kept.
    hypotheses : sequence of str
        Hypotheses to trace.
    multipliers : sequence of int, optional
        Multiples ``k`` of the allocation ratios (cell sizes ``k * ratios``);
        by default 15 values from the smallest feasible size to twice the
        planned size.

    Returns
    -------
    dict
        ``{"n_total": array, "power": {hypothesis: array}}``.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> data = power_curve_data(d, ["A:B"], multipliers=[20])
    >>> data["n_total"].tolist(), round(float(data["power"]["A:B"][0]), 3) \
== round(d.power()["A:B"], 3)
    ([80], True)
    """
    hypotheses = _hypothesis_list(hypotheses)
    ratios = np.asarray(design.allocation_ratios, dtype=int)
    if multipliers is not None:
        if (
            isinstance(multipliers, str)
            or not isinstance(multipliers, Iterable)
            or not list(multipliers)
        ):
            raise ValueError(
                "multipliers must be a non-empty list of whole numbers >= 1; "
                f"got multipliers={multipliers!r}"
            )
        multipliers = [check_int(f"multipliers[{i}]", k) for i, k in enumerate(multipliers)]
    if multipliers is None:
        planned = int(design.n_array[0] // ratios[0])
        lo = 2
        while True:
            try:
                design.with_cell_sizes(lo * ratios).power(hypotheses)
                break
            except ValueError:
                lo += 1
                if lo > planned * 2 + 2:
                    raise
        hi = max(2 * planned, lo + 2)
        multipliers = sorted({int(round(k)) for k in np.linspace(lo, hi, 15)})
    n_total, curves = [], {h: [] for h in hypotheses}
    for k in multipliers:
        result = design.with_cell_sizes(int(k) * ratios).power(list(hypotheses))
        n_total.append(int(k) * int(ratios.sum()))
        for h in hypotheses:
            curves[h].append(result[h])
    return {"n_total": np.array(n_total), "power": {h: np.array(v) for h, v in curves.items()}}


def power_curve(
    design: Any,
    hypotheses: Sequence[str],
    *,
    target: float | None = None,
    planned_n_total: int | None = None,
    multipliers: Sequence[int] | None = None,
    title: str = "",
) -> Any:
    """Figure of power against total analysed sample size.

    Parameters
    ----------
    design : cell design
        The planned design (allocation ratios kept).
    hypotheses : sequence of str
        One line per hypothesis.
    target : float, optional
        Target power, drawn as a horizontal line.
    planned_n_total : int, optional
        The planned total, drawn as a vertical line.
    multipliers : sequence of int, optional
        See :func:`power_curve_data`.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...                  outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 1,
    ...                      ("a0", "b1"): 1, ("a1", "b1"): 3}, sd=2.0), n_per_cell=20)
    >>> fig = power_curve(d, ["A", "A:B"], target=0.9, planned_n_total=80)
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:2]
    ['A', 'A:B']
    """
    hypotheses = _hypothesis_list(hypotheses)
    if target is not None:
        target = check_open_unit("target", target)
    if planned_n_total is not None:
        planned_n_total = check_int("planned_n_total", planned_n_total)
    data = power_curve_data(design, hypotheses, multipliers=multipliers)
    fig = _figure()
    ax = fig.add_subplot()
    for h in hypotheses:
        ax.plot(data["n_total"], data["power"][h], marker=".", label=h)
    if target is not None:
        ax.axhline(target, color="0.4", linestyle="--", linewidth=1, label="_target")
    if planned_n_total is not None:
        ax.axvline(planned_n_total, color="0.4", linestyle=":", linewidth=1, label="_planned")
    ax.set_xlabel("participants analysed (all cells)")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.legend(title="hypothesis", loc="lower right")
    ax.set_title(title or "Power by sample size (allocation ratios kept)")
    return fig


def boundary_plot(sequential: Any, *, title: str = "") -> Any:
    """Figure of a group-sequential design's efficacy (and futility) bounds.

    Parameters
    ----------
    sequential : tp.GroupSequential
        The design; its ``info_fractions``, ``efficacy_z`` and ``futility_z``
        are drawn on the z scale.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    Any object with ``info_fractions``, ``efficacy_z`` and ``futility_z``
    works; the bounds below are rpact's O'Brien-Fleming type bounds for two
    looks at one-sided alpha 0.025:

    >>> from types import SimpleNamespace
    >>> gsd = SimpleNamespace(info_fractions=(0.5, 1.0), efficacy_z=(2.963, 1.969),
    ...                       futility_z=None, sided=1)
    >>> fig = boundary_plot(gsd)
    >>> fig.axes[0].get_lines()[0].get_ydata().tolist()
    [2.963, 1.969]
    """
    if not all(hasattr(sequential, a) for a in ("info_fractions", "efficacy_z", "futility_z")):
        raise TypeError(
            "sequential must be a tp.GroupSequential (or have info_fractions, "
            f"efficacy_z and futility_z); got sequential={sequential!r}"
        )
    fractions = np.asarray(sequential.info_fractions, dtype=float)
    fig = _figure()
    ax = fig.add_subplot()
    upper = np.asarray(sequential.efficacy_z, dtype=float)
    ax.plot(fractions, upper, marker="o", color="tab:green", label="efficacy bound")
    if getattr(sequential, "sided", 1) == 2:
        ax.plot(fractions, -upper, marker="o", color="tab:green", label="_lower efficacy")
    futility = getattr(sequential, "futility_z", None)
    if futility is not None:
        ax.plot(
            fractions,
            np.asarray(futility, dtype=float),
            marker="s",
            color="tab:red",
            label="futility bound",
        )
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.set_xlabel("information fraction")
    ax.set_ylabel("z statistic")
    ax.set_xlim(0, 1.05)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    ax.set_title(title or "Group-sequential stopping boundaries")
    return fig


def save_figure(fig: Any, stem: str | Path) -> list[Path]:
    """Write ``fig`` as ``<stem>.png`` and ``<stem>.svg``; return both paths.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to save.
    stem : str or pathlib.Path
        Path without suffix; its folder is created if needed.

    Returns
    -------
    list of pathlib.Path
        The PNG and SVG paths.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from types import SimpleNamespace
    >>> gsd = SimpleNamespace(info_fractions=(0.5, 1.0), efficacy_z=(2.963, 1.969),
    ...                       futility_z=None)
    >>> paths = save_figure(boundary_plot(gsd), pathlib.Path(tempfile.mkdtemp()) / "bounds")
    >>> [p.suffix for p in paths]
    ['.png', '.svg']
    """
    if not hasattr(fig, "savefig"):
        raise TypeError(
            "fig must be a matplotlib Figure (e.g. from power_curve or "
            f"boundary_plot); got fig={fig!r}"
        )
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    import matplotlib

    paths = []
    # Fixed metadata and SVG ids: the same design gives byte-identical files.
    with matplotlib.rc_context({"svg.hashsalt": "trialplan"}):
        for suffix in (".png", ".svg"):
            path = stem.with_suffix(suffix)
            metadata = {"Software": None} if suffix == ".png" else {"Date": None}
            fig.savefig(path, dpi=150, metadata=metadata)
            paths.append(path)
    return paths


def _hypothesis_list(hypotheses: Any) -> tuple[str, ...]:
    """One name or a list of names as a tuple (a bare string is one hypothesis)."""
    if isinstance(hypotheses, str):
        return (hypotheses,)  # was iterated letter by letter: hypothesis 'r'
    if not isinstance(hypotheses, Iterable):
        raise TypeError(
            "hypotheses must be a hypothesis name or a list of names; got "
            f"hypotheses={hypotheses!r}"
        )
    names = tuple(hypotheses)
    if not names or not all(isinstance(h, str) for h in names):
        raise ValueError(
            "hypotheses must name at least one hypothesis, as strings; got "
            f"hypotheses={hypotheses!r}"
        )
    return names
