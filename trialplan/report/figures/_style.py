"""Shared style of every figure: colours, line styles, markers, target line, legends, files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["COLORS", "LINESTYLES", "MARKERS", "freeze_layout", "save_figure", "style"]

COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LINESTYLES = ("-", "--", "-.", (0, (1, 1.5)), (0, (5, 1.5, 1, 1.5, 1, 1.5)), (0, (8, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
TARGET_STYLE = {"color": "0.35", "linestyle": (0, (4, 2)), "linewidth": 1.2, "zorder": 1}
NEEDS = "figures need matplotlib: pip install 'trialplan[full]'"


def _figure(width: float = 7.0, height: float = 4.6) -> Any:
    try:
        # deferred: matplotlib is heavy; only figures need it
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(NEEDS) from exc
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _pyplot() -> Any:
    try:
        # deferred: matplotlib is heavy; only figures need it
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is optional
        raise ImportError(NEEDS) from exc
    return plt


def style(k: int, points: int = 0) -> dict[str, Any]:
    """Keyword arguments of ``ax.plot`` for the k-th line (colour, style, marker).

    With ``points``, markers are spaced out and offset per line so that
    markers of different lines do not sit on top of each other.
    """
    kwargs: dict[str, Any] = {
        "color": COLORS[k % len(COLORS)],
        "linestyle": LINESTYLES[k % len(LINESTYLES)],
        "marker": MARKERS[k % len(MARKERS)],
        "linewidth": 1.8,
        "markersize": 5,
    }
    if points > 12:
        step = max(points // 8, 1)
        kwargs["markevery"] = ((k * step) // 3 % step, step)
    return kwargs


def _percent_axis(ax: Any, axis: str = "y") -> None:
    # deferred: matplotlib is heavy; only figures need it
    from matplotlib.ticker import PercentFormatter

    getattr(ax, f"{axis}axis").set_major_formatter(PercentFormatter(1.0, decimals=0))


def _target_line(ax: Any, target: float | None) -> None:
    if target is not None:
        ax.axhline(target, label=f"target power {100 * target:.0f}%", **TARGET_STYLE)


def _legend_outside(ax: Any, *, title: str | None = None) -> None:
    """Legend to the right of the axes (the figure's layout makes room for it)."""
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
        title=title,
        fontsize="small",
    )


def _legend_below(fig: Any, ax: Any) -> None:
    """Legend under the axes, labels wrapped so that two columns fit the figure."""
    handles, labels = ax.get_legend_handles_labels()
    wrapped = [_wrap(text, 44) for text in labels]
    fig.legend(
        handles, wrapped, loc="outside lower center", ncols=2, frameon=False, fontsize="small"
    )


def _wrap(text: str, width: int = 48) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def _tick(value: Any) -> str:
    return value if isinstance(value, str) else f"{float(value):g}"


def _annotate(ax: Any, table: np.ndarray) -> None:
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            if np.isfinite(table[i, j]):
                ax.text(
                    j,
                    i,
                    f"{100 * table[i, j]:.1f}%",
                    ha="center",
                    va="center",
                    color="white" if table[i, j] < 0.6 else "black",
                    fontsize=8,
                )


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
    >>> from trialplan.report.figures import boundary_plot
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
    # deferred: matplotlib is heavy; only figures need it
    import matplotlib

    freeze_layout(fig)
    paths = []
    # Fixed metadata and SVG ids: the same design gives byte-identical files.
    with matplotlib.rc_context({"svg.hashsalt": "trialplan"}):
        for suffix in (".png", ".svg"):
            path = stem.with_suffix(suffix)
            metadata = {"Software": None} if suffix == ".png" else {"Date": None}
            fig.savefig(path, dpi=150, metadata=metadata)
            paths.append(path)
    return paths


def freeze_layout(fig: Any) -> None:
    """Lay the figure out once and keep that layout, so every later save gives the same bytes.

    Constrained layout runs again at every draw and moves outside legends and
    second axes by a few hundredths of a point each time; after one draw the
    positions are fixed and the layout engine is switched off.
    """
    engine = fig.get_layout_engine()
    if engine is not None and type(engine).__name__ == "ConstrainedLayoutEngine":
        fig.canvas.draw()
        fig.set_layout_engine("none")
