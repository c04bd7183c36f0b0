"""Figures: the numbers they draw, and the standards every figure keeps.

Every figure has a title, axis labels, the target-power line, lines that differ
in colour, style and marker, and its legend outside the axes; the protocol's
power curve draws the plan's numbers (its planned point is the plan's power),
includes the combination test and is evaluated finely; boundary plots shade
the stopping regions and carry a participants axis.  Powers drawn are checked
against exact noncentral t computed with scipy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import trialplan as tp
from trialplan.report.figures import (
    plan_boundary_plot,
    plan_power_curve,
    sensitivity_heatmap,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

MEANS = {
    ("sham", "control"): 0.0,
    ("active", "control"): -3.0,
    ("sham", "MBI"): -2.0,
    ("active", "MBI"): -8.0,
}
BASE = tp.Factorial(
    factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    outcome=tp.Continuous(means=MEANS, sd=8.0, better="lower"),
    n_per_cell=50,
)
FAST_SIM = {"method": "simulation", "n_sims": 2000, "seed": 2026}


def factory(sd: float, n: int) -> tp.Factorial:
    return BASE.replace(sd=sd, n_per_cell=n)


def factory_with_dropout(sd: float, n: int = 50, dropout: float = 0.0) -> tp.Factorial:
    return BASE.replace(sd=sd, n_per_cell=n, dropout=dropout)


def exact_interaction_power(sd: float, n: int, ic: float = -3.0, alpha: float = 0.05) -> float:
    """Two-sided t test of the 2x2 interaction contrast, exact noncentral t (scipy)."""
    df = 4 * (n - 1)
    se = sd * math.sqrt(4 / n)
    crit = stats.t.ppf(1 - alpha / 2, df)
    nc = ic / se
    return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))


def curves(ax):
    """The data lines of an axes (not the target line)."""
    return [line for line in ax.get_lines() if not line.get_label().startswith("target power")]


def assert_standards(ax, *, legend_outside=True):
    """Title, axis labels, the target-power line and a legend outside the axes."""
    fig = ax.figure
    title = ax.get_title() or (fig._suptitle.get_text() if fig._suptitle else "")
    assert title
    assert ax.get_xlabel()
    assert ax.get_ylabel()
    assert any(line.get_label().startswith("target power") for line in ax.get_lines())
    if legend_outside:
        fig.canvas.draw()
        legend = ax.get_legend() or (fig.legends[0] if fig.legends else None)
        assert legend is not None
        box = legend.get_window_extent()
        axes_box = ax.get_window_extent()
        assert not box.overlaps(axes_box), "the legend covers the curves"


def distinct(lines):
    """No two lines share a colour, a line style (dash pattern) or a marker."""
    for key in (
        lambda line: str(line.get_color()),
        lambda line: str(line._dash_pattern),  # get_linestyle() reads "--" for any dash tuple
        lambda line: line.get_marker(),
    ):
        values = [key(line) for line in lines]
        if len(set(values)) != len(values):
            return False
    return True


# ------------------------------------------------------------- explore plots
@pytest.fixture
def plot_frame() -> pd.DataFrame:
    return tp.explore(
        factory_with_dropout,
        {"sd": (7.0, 8.0, 9.0), "n": (40, 60), "dropout": (0.1, 0.2)},
        hypotheses=["rTMS", "rTMS:MBI"],
    )


def test_power_curves_draw_the_frame(plot_frame: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    ax = tp.explore_curves(
        plot_frame, x="n", hue="sd", hypothesis="rTMS:MBI", where={"dropout": 0.1}
    )
    lines = curves(ax)
    assert len(lines) == 3
    for line, sd in zip(lines, (7.0, 8.0, 9.0), strict=True):
        assert list(line.get_xdata()) == [40, 60]
        assert list(line.get_ydata()) == pytest.approx(
            [exact_interaction_power(sd, n) for n in (40, 60)], abs=1e-9
        )
        assert line.get_label() == f"sd={sd}"
    assert distinct(lines)
    assert_standards(ax)
    target = next(line for line in ax.get_lines() if line not in lines)
    assert list(target.get_ydata()) == [0.9, 0.9]
    assert "dropout = 0.1" in ax.get_title()
    plt.close("all")


def test_power_curves_need_fixed_parameters(plot_frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"'dropout' still takes several values.*where="):
        tp.explore_curves(plot_frame, x="n", hue="sd")
    with pytest.raises(ValueError, match=r"hypothesis 'rTMS:MB' is not in the frame.*did you"):
        tp.explore_curves(
            plot_frame, x="n", hypothesis="rTMS:MB", where={"sd": 8.0, "dropout": 0.1}
        )
    with pytest.raises(ValueError, match=r"column 'nn' is not in the frame.*did you mean 'n'"):
        tp.explore_curves(plot_frame, x="nn")
    with pytest.raises(ValueError, match=r"no rows have dropout=0.5"):
        tp.explore_curves(plot_frame, x="n", where={"dropout": 0.5, "sd": 8.0})
    with pytest.raises(ValueError, match=r"target must lie strictly between 0 and 1"):
        tp.explore_curves(plot_frame, x="n", where={"sd": 8.0, "dropout": 0.1}, target=1.5)


def test_power_curves_shade_mcse_for_simulation() -> None:
    frame = tp.explore(
        factory, {"sd": (8.0,), "n": (40, 60)}, hypotheses="rTMS:MBI", executor="serial", **FAST_SIM
    )
    ax = tp.explore_curves(frame, x="n")
    assert len(ax.collections) == 1  # the +-1.96 MCSE band
    assert len(curves(ax)) == 1
    assert tp.explore_curves(frame, x="n", target=None).get_lines()[-1].get_label() != (
        "target power 90%"
    )


def test_heatmap_holds_the_power_table(plot_frame: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    ax = tp.explore_heatmap(
        plot_frame, x="n", y="sd", hypothesis="rTMS:MBI", where={"dropout": 0.2}
    )
    table = np.asarray(ax.images[0].get_array())
    expected = [[exact_interaction_power(sd, n) for n in (40, 60)] for sd in (7.0, 8.0, 9.0)]
    np.testing.assert_allclose(table, expected, atol=1e-9)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["40", "60"]
    assert ax.get_title().startswith("Power of rTMS:MBI (dropout = 0.2)")
    assert ax.get_xlabel() == "n"
    assert ax.get_ylabel() == "sd"
    texts = [t.get_text() for t in ax.texts]
    assert f"{100 * expected[0][0]:.1f}%" in texts
    with pytest.raises(ValueError, match=r"one hypothesis; choose one of \['rTMS', 'rTMS:MBI'\]"):
        tp.explore_heatmap(plot_frame, x="n", y="sd", where={"dropout": 0.2})
    with pytest.raises(ValueError, match="x and y must be different"):
        tp.explore_heatmap(plot_frame, x="n", y="n", hypothesis="rTMS")
    plt.close("all")


def test_heatmap_draws_the_target_contour() -> None:
    frame = tp.explore(
        factory,
        {"sd": (6.0, 8.0, 10.0), "n": (100, 200, 400)},
        hypotheses="rTMS:MBI",
        executor="serial",
    )
    ax = tp.explore_heatmap(frame, x="n", y="sd", target=0.8)
    assert len(ax.collections) >= 1  # the contour of 80 % power
    assert "target 80%" in ax.get_title()


def test_explore_plot_names_are_kept():
    # The plots' public names: tp.explore_curves / tp.explore_heatmap and tp.report's.
    # The module trialplan.explore no longer re-exports them: explore computes, the
    # report layer draws, and the layers contract forbids explore importing report.
    import importlib

    module = importlib.import_module("trialplan.report.figures.explore")

    assert module.explore_curves is tp.explore_curves is tp.report.explore_curves
    assert module.explore_heatmap is tp.explore_heatmap is tp.report.explore_heatmap


# ------------------------------------------------------------ protocol figures
@pytest.fixture(scope="module")
def plan():
    return tp.scenarios.state_dependent_synergy().evaluate()


def test_plan_power_curve_passes_through_the_planned_power(plan):
    fig = plan_power_curve(plan, points=21)
    ax = fig.axes[0]
    lines = curves(ax)
    data = [line for line in lines if not line.get_label().startswith(("planned", "_"))]
    labels = [line.get_label() for line in data]
    assert labels[0] == "the rTMS x MBI interaction (primary)"
    assert any(label.startswith("the combination test") for label in labels)
    primary = data[0]
    x = np.asarray(primary.get_xdata())
    y = np.asarray(primary.get_ydata())
    planned = plan.allocation.n_randomized
    assert planned in x
    assert y[list(x).index(planned)] == plan.primary_power["rTMS:MBI"]
    assert len(x) >= 21  # finely evaluated: no straight segment from 0.1 to 1.0
    assert np.max(np.diff(y)) < 0.15
    assert distinct(data)
    assert_standards(ax)
    assert ax.get_xlabel() == "Participants randomized"


def test_plan_power_curve_exact_at_another_size(plan):
    frame = plan.curve(points=11)
    point = frame[frame.hypothesis == "rTMS:MBI"].iloc[3]
    analysed = plan.allocation.at(int(point["n_randomized"]))
    ic, sd, rho = -3.0, 8.0, 0.4
    residual = sd * math.sqrt(1 - rho**2)
    # ANCOVA power: the exact conditional-t power averaged over baseline imbalance
    # (Shieh 2020) is at most the known-covariate t power; a bound checked with scipy:
    se = residual * math.sqrt(sum(1 / n for n in analysed))
    df = sum(analysed) - 5
    crit = stats.t.isf(0.025, df)
    upper = stats.nct.sf(crit, df, ic / se) + stats.nct.cdf(-crit, df, ic / se)
    assert point["power"] <= upper + 1e-12
    assert point["power"] >= upper - 0.01  # the imbalance costs little at these sizes


def test_boundary_plot_shades_regions_and_counts_participants():
    gsd = tp.GroupSequential(
        info_fractions=(1 / 3, 2 / 3, 1.0),
        alpha=0.025,
        sided=1,
        futility=tp.spending.pocock(),
        binding=False,
    )
    spec = tp.scenarios.state_dependent_synergy()
    spec = spec.replace(design=spec.design.replace(alpha=0.025, sided=1), sequential=gsd)
    seq_plan = spec.evaluate()
    fig = plan_boundary_plot(seq_plan)
    top, bottom = fig.axes[0], fig.axes[1]
    assert top.get_lines()[0].get_ydata().tolist() == pytest.approx(
        seq_plan.sequential.efficacy_z.tolist()
    )
    shaded = [c.get_label() for c in top.collections]
    assert "stop: reject H0 (efficacy)" in shaded
    assert "stop: futility" in shaded
    second = top.child_axes
    assert second
    assert second[0].get_xlabel() == "Participants analysed"
    assert_standards(bottom)
    power = next(line for line in bottom.get_lines() if line.get_label() == "cumulative power")
    assert power.get_ydata()[-1] == pytest.approx(seq_plan.primary_power["rTMS:MBI"])
    assert fig._suptitle.get_text() == "Stopping boundaries for the rTMS x MBI interaction"


def test_sensitivity_heatmap_marks_the_planned_cell(plan):
    fig = sensitivity_heatmap(plan)
    ax = fig.axes[0]
    table = np.asarray(ax.images[0].get_array())
    sens = plan.sensitivity
    planned = sens[sens.planned]["power"].item()
    assert planned in table
    assert ax.get_title()
    assert ax.get_xlabel()
    assert ax.get_ylabel()
    assert len(ax.patches) == 1  # the outline of the planned cell
    with pytest.raises(ValueError, match="not a primary hypothesis"):
        sensitivity_heatmap(plan, hypothesis="rTMS")
