"""Simulator of group-delivered treatment: the partially nested design, continuous outcome.

In the cells where the clustered level is given (``tp.Clustering``, e.g. MBI
taught in groups) each cell's ``n_j`` participants form ``g_j = ceil(n_j / m)``
therapy groups with sizes as equal as possible (they differ by at most one).
A participant's residual is ``u_k + e_i``: a normal group effect with variance
``ICC s^2`` and an individual error with variance ``(1 - ICC) s^2``, where
``s^2`` is the residual variance the analytic method uses (``sd^2``, or
``sd^2 (1 - rho^2)`` after adjustment for baseline).  Participants of the
other cells are independent with variance ``s^2``.  Baselines (ANCOVA) are
measured before the groups form: independent ``N(0, sd^2)``, with
``y = mu_j + rho x + u_k + e_i``.

The analysis (both engines) is the heteroscedastic partially nested analysis
of Roberts & Roberts (2005) in its ANOVA (moment) form, with the variance
estimated from each simulated trial:

* clustered cells: the variance of a cell mean is estimated by the
  between-group mean square of the group means, pooled over the clustered
  cells, ``MSB = sum_k n_k (ybar_k - ybar_j)^2 / (G_c - J_c)``, divided by
  ``n_j`` (``E[MSB] = s^2 DE`` with equal group sizes, so this is the data's
  estimate of the analytic ``s^2 DE / n_j``);
* other cells: the within-cell mean square pooled over those cells,
  ``MSW / n_j``;
* a contrast's ``t = c'ybar / sqrt(sum_j c_j^2 v_j)`` is referred to t with
  Satterthwaite's df for its mix of the two mean squares, computed in each
  trial from the estimated parts (``MSB`` with ``G_c - J_c`` df, ``MSW``
  with ``N_u - J_u`` df), as a mixed-model fit with Satterthwaite df would;
  the analytic method uses the same rule at the planning values
  (``CellModel.contrast_df``).  A contrast of clustered cells only is exactly
  t with ``G_c - J_c`` df (equal group sizes), one of the other cells only
  exactly t with ``N_u - J_u`` df; mixtures are Behrens-Fisher-like, for
  which the Satterthwaite df is the named approximation.  The combination
  (intersection-union) test rejects when each one-sided component exceeds
  its own critical value.

ANCOVA: the common slope ``b`` comes from the pooled within-group (clustered
cells) and within-cell (other cells) cross-products; the adjusted group means
``ybar_k - b xbar_k`` replace the group means above, the unclustered mean
square is the residual one about the common slope (its df reduced by that
part's share of ``W_xx``), and the covariance of the adjusted cell means adds
``xbar xbar' s_w^2 / W_xx`` (``s_w^2`` the pooled within residual variance, a
third part in the Satterthwaite df).  Approximations: the slope ignores the
between-group information, the residual variances of the two parts are
pooled for the slope's variance, and with unequal group sizes (``n_j`` not a
multiple of ``m``) ``MSB / n_j`` is only nearly unbiased.

Exact engine: draws these sufficient statistics, not patients: group means
``N(mu_j [+ rho xbar_k], ICC s^2 + (1 - ICC) s^2 / n_k)``, unclustered cell
means, and the within cross-products (chi-square or, under ANCOVA, one
Wishart per part by the Bartlett decomposition).  Individual engine:
patients' baselines and outcomes with group effects, reduced to the same
statistics by batched numpy and analysed by the same function.

References
----------
.. [1] Roberts C, Roberts SA. Design and analysis of clinical trials with
   clustering effects due to treatment. Clin Trials 2005;2:152-162.
.. [2] Candlish J, Teare MD, Dimairo M, et al. Appropriate statistical methods
   for analysing partially nested randomised controlled trials with continuous
   outcomes. BMC Med Res Methodol 2018;18:105.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialplan.outcomes import Continuous
from trialplan.simulate.continuous import _cell_columns, _cell_names, _CellSizes
from trialplan.simulate.protocol import BaseSimulator, CellDraws, OutcomeSimulator

__all__ = [
    "ClusteredParams",
    "ClusteredSimulator",
    "PartiallyNestedDraws",
    "PartiallyNestedStats",
    "TherapyUnits",
    "clustered_simulator",
    "corrected_meat",
    "group_sizes",
    "partially_nested_fit",
    "sandwich_units",
    "therapy_units",
]


def group_sizes(n: int, groups: int) -> np.ndarray:
    """Sizes of ``groups`` therapy groups holding ``n`` participants, as equal as possible.

    Examples
    --------
    >>> group_sizes(50, 7).tolist()
    [8, 7, 7, 7, 7, 7, 7]
    """
    base, extra = divmod(int(n), int(groups))
    return np.array([base + 1] * extra + [base] * (groups - extra), dtype=np.int64)


class GroupedUnits:
    """Sizes shared by the planning values of the group-delivered simulators.

    A mixin for frozen dataclasses with the fields ``n`` (participants per
    cell), ``clustered`` (boolean per cell) and ``unit_cell`` (cell of every
    unit: unclustered cell or therapy group).
    """

    @property
    def n_cells(self) -> int:
        """Number of cells J."""
        return int(self.n.size)  # type: ignore[attr-defined]

    @property
    def n_total(self) -> int:
        """Participants N."""
        return int(self.n.sum())  # type: ignore[attr-defined]

    @property
    def unit_clustered(self) -> np.ndarray:
        """Boolean per unit: a therapy group (True) or an unclustered cell."""
        return self.clustered[self.unit_cell]  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ClusteredParams(_CellSizes, GroupedUnits):
    """Picklable planning values of a partially nested continuous design.

    The analysis units are the unclustered cells and the therapy groups of
    the clustered cells, listed in ``unit_cell`` order.

    Attributes
    ----------
    means : numpy.ndarray
        True cell means, in the design's cell order.
    n : numpy.ndarray
        Analysed participants per cell.
    sd : float
        Outcome SD (and baseline SD under ANCOVA).
    baseline_corr : float
        Baseline-outcome correlation; 0 means no covariate.
    icc : float
        Intraclass correlation of the (adjusted) outcome within a group.
    clustered : numpy.ndarray
        Boolean per cell: delivered in groups.
    unit_cell : numpy.ndarray
        Cell index of every unit (unclustered cell or therapy group).
    unit_n : numpy.ndarray
        Participants per unit.
    df : float
        The analytic model's df, the largest any contrast can have; each
        contrast's own is Satterthwaite's (:class:`PartiallyNestedDraws`).
    cells, labels, factor_names : tuple
        Cells, their labels and the factor names (for patient data).
    """

    means: np.ndarray
    n: np.ndarray
    sd: float
    baseline_corr: float
    icc: float
    clustered: np.ndarray
    unit_cell: np.ndarray
    unit_n: np.ndarray
    df: float
    cells: tuple[Any, ...]
    labels: tuple[str, ...]
    factor_names: tuple[str, ...] = ()

    @property
    def residual_sd(self) -> float:
        """SD of the outcome given baseline, ``sd sqrt(1 - rho^2)``."""
        return self.sd * math.sqrt(1.0 - self.baseline_corr**2)


@dataclass(frozen=True)
class PartiallyNestedStats:
    """Sufficient statistics of a batch of partially nested trials.

    Attributes
    ----------
    ybar : numpy.ndarray
        Shape ``(size, units)``: outcome mean of every unit.
    xbar : numpy.ndarray or None
        Shape ``(size, units)``: baseline mean of every unit (ANCOVA).
    w_unclustered, w_clustered : numpy.ndarray
        Shape ``(size, 3)``: pooled within-unit sums of squares and
        cross-products ``(W_xx, W_xy, W_yy)`` over the unclustered cells and
        over the therapy groups (``W_xx = W_xy = 0`` without baseline).
    """

    ybar: np.ndarray
    xbar: np.ndarray | None
    w_unclustered: np.ndarray
    w_clustered: np.ndarray


@dataclass(frozen=True)
class PartiallyNestedDraws(CellDraws):
    """:class:`CellDraws` that also know each contrast's Satterthwaite df.

    Attributes
    ----------
    msb, msw : numpy.ndarray
        Shape ``(size,)``: the between-group mean square of the clustered
        cells (df ``df_between``) and the within-cell mean square of the other
        cells (df ``df_within_cells``, per trial under ANCOVA).
    clustered, n : numpy.ndarray
        Per cell: delivered in groups; participants.
    slope_var, cell_x : numpy.ndarray or None
        ANCOVA: the slope's estimated variance ``s_w^2 / W_xx`` (df
        ``slope_df``) and the cell means of baseline.
    """

    msb: np.ndarray | None = None
    msw: np.ndarray | None = None
    df_between: float = 1.0
    df_within_cells: float | np.ndarray = 1.0
    clustered: np.ndarray | None = None
    n: np.ndarray | None = None
    slope_var: np.ndarray | None = None
    slope_df: float = 1.0
    cell_x: np.ndarray | None = None

    def contrast_df(self, weights: np.ndarray) -> np.ndarray:
        """Satterthwaite df of contrasts in every trial, shape ``(size, m)``.

        ``df = V^2 / sum_k (V_k^2 / df_k)`` for the contrast's variance
        ``V = sum_k V_k`` split into its clustered (``MSB``), unclustered
        (``MSW``) and, under ANCOVA, slope parts (Satterthwaite 1946).
        """
        weights = np.atleast_2d(np.asarray(weights, dtype=float))
        scaled = weights**2 / self.n
        in_groups = scaled[:, self.clustered].sum(axis=1)
        alone = scaled[:, ~self.clustered].sum(axis=1)
        v_c = self.msb[:, None] * in_groups
        v_u = self.msw[:, None] * alone
        df_u = np.asarray(self.df_within_cells, dtype=float)
        df_u = df_u[:, None] if df_u.ndim else df_u
        total = v_c + v_u
        denominator = v_c**2 / self.df_between + v_u**2 / df_u
        if self.slope_var is not None:
            v_s = self.slope_var[:, None] * (self.cell_x @ weights.T) ** 2
            total = total + v_s
            denominator = denominator + v_s**2 / self.slope_df
        with np.errstate(divide="ignore", invalid="ignore"):
            return total**2 / denominator


def partially_nested_fit(stats: PartiallyNestedStats, params: ClusteredParams) -> CellDraws:
    """Heteroscedastic partially nested analysis (ANOVA form) from sufficient statistics.

    Parameters
    ----------
    stats : PartiallyNestedStats
        Unit means and pooled within cross-products of a batch of trials.
    params : ClusteredParams
        The design's units, cells and degrees of freedom.

    Returns
    -------
    CellDraws
        A :class:`PartiallyNestedDraws`: (adjusted) cell means; their
        estimated variances ``MSB / n_j`` in clustered cells and ``MSW / n_j``
        elsewhere (plus, under ANCOVA, the slope's ``xbar xbar' s_w^2 /
        W_xx``); ``contrast_df`` gives each contrast's Satterthwaite df
        (``df`` holds the largest possible, the analytic model's).  See the
        module docstring.

    Examples
    --------
    Two cells, the second in two groups of 2 with group means 1 and 3:

    >>> import numpy as np
    >>> p = ClusteredParams(means=np.zeros(2), n=np.array([3, 4]), sd=1.0,
    ...     baseline_corr=0.0, icc=0.1, clustered=np.array([False, True]),
    ...     unit_cell=np.array([0, 1, 1]), unit_n=np.array([3, 2, 2]), df=3.0,
    ...     cells=("a", "b"), labels=("a", "b"))
    >>> s = PartiallyNestedStats(ybar=np.array([[0.0, 1.0, 3.0]]), xbar=None,
    ...     w_unclustered=np.array([[0.0, 0.0, 4.0]]), w_clustered=np.zeros((1, 3)))
    >>> d = partially_nested_fit(s, p)
    >>> d.estimates.tolist(), d.variances.tolist()
    ([[0.0, 2.0]], [[0.6666666666666666, 1.0]])
    """
    p = params
    uc = p.unit_clustered
    n = p.n.astype(float)
    weights = _unit_to_cell(p)  # (units, cells): n_k / n_j
    df_between = float(uc.sum() - p.clustered.sum())  # G_c - J_c
    df_unclustered = float(p.n[~p.clustered].sum() - (~p.clustered).sum())  # N_u - J_u
    w_u, w_c = stats.w_unclustered, stats.w_clustered
    if stats.xbar is None:
        cell_y = stats.ybar @ weights
        dev = stats.ybar - cell_y[:, p.unit_cell]
        msb = np.einsum("ru,ru,u->r", dev[:, uc], dev[:, uc], p.unit_n[uc].astype(float))
        msb /= df_between
        msw = w_u[:, 2] / df_unclustered
        var = np.where(p.clustered, msb[:, None], msw[:, None]) / n
        return PartiallyNestedDraws(
            estimates=cell_y,
            variances=var,
            df=p.df,
            msb=msb,
            msw=msw,
            df_between=df_between,
            df_within_cells=df_unclustered,
            clustered=p.clustered,
            n=n,
        )
    w_xx = w_u[:, 0] + w_c[:, 0]
    w_xy = w_u[:, 1] + w_c[:, 1]
    slope = w_xy / w_xx
    rss_u = w_u[:, 2] - 2.0 * slope * w_u[:, 1] + slope**2 * w_u[:, 0]
    rss_c = w_c[:, 2] - 2.0 * slope * w_c[:, 1] + slope**2 * w_c[:, 0]
    df_within = df_unclustered + float(p.n[p.clustered].sum() - uc.sum())
    s2_within = (rss_u + rss_c) / (df_within - 1.0)
    df_u = df_unclustered - w_u[:, 0] / w_xx  # the slope's share of one df
    msw = rss_u / df_u
    adjusted = stats.ybar - slope[:, None] * stats.xbar
    cell_y = adjusted @ weights
    cell_x = stats.xbar @ weights
    dev = adjusted - cell_y[:, p.unit_cell]
    msb = np.einsum("ru,ru,u->r", dev[:, uc], dev[:, uc], p.unit_n[uc].astype(float))
    msb /= df_between
    var = np.where(p.clustered, msb[:, None], msw[:, None]) / n
    slope_var = s2_within / w_xx
    cov = slope_var[:, None, None] * cell_x[:, :, None] * cell_x[:, None, :]
    idx = np.arange(p.n_cells)
    cov[:, idx, idx] += var
    return PartiallyNestedDraws(
        estimates=cell_y,
        covariance=cov,
        df=p.df,
        msb=msb,
        msw=msw,
        df_between=df_between,
        df_within_cells=df_u,
        clustered=p.clustered,
        n=n,
        slope_var=slope_var,
        slope_df=df_within - 1.0,
        cell_x=cell_x,
    )


def _unit_to_cell(p: ClusteredParams) -> np.ndarray:
    """Matrix turning unit means into participant-weighted cell means."""
    weights = np.zeros((p.unit_cell.size, p.n_cells))
    weights[np.arange(p.unit_cell.size), p.unit_cell] = p.unit_n / p.n[p.unit_cell]
    return weights


class ClusteredSimulator(BaseSimulator):
    """Simulated partially nested trials (group-delivered level), continuous outcome.

    See the module docstring for the model, the analysis and the two engines.

    Examples
    --------
    >>> import numpy as np
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    ...     outcome=tp.Continuous(means={("sham", "control"): 0, ("active", "control"): -3,
    ...         ("sham", "MBI"): -2, ("active", "MBI"): -8}, sd=8.0), n_per_cell=48,
    ...     clusters=tp.Clustering(factor="MBI", icc=0.05, group_size=8))
    >>> sim = ClusteredSimulator()
    >>> params = sim.prepare(d)
    >>> params.df, params.unit_n.size            # 2 x 47 + 2 x (6 - 1); 2 cells + 12 groups
    (104.0, 14)
    >>> sim.draw(params, np.random.default_rng(1), 5, engine="exact").estimates.shape
    (5, 4)
    """

    engines = ("exact", "individual")

    def prepare(self, design: Any) -> ClusteredParams:
        """Units (cells and therapy groups), sizes and df of the design."""
        outcome = design.outcome
        clusters = design.clusters
        if not isinstance(outcome, Continuous):
            raise ValueError(
                "the partially nested simulator takes Continuous outcomes; got a "
                f"{type(outcome).__name__} outcome with clusters={clusters!r}"
            )
        units = therapy_units(design)
        df = float(design.cell_model().df)  # raises for a single group per clustered cell
        cells, n, mask = units.cells, units.n, units.clustered
        unclustered_df = int(n[~mask].sum() - (~mask).sum())
        if unclustered_df < 1 + outcome.n_covariates:
            raise ValueError(
                "simulation of group-delivered designs needs within-cell degrees of freedom "
                f"in the individually treated cells; their sizes {n[~mask].tolist()} leave "
                f"{unclustered_df}; allowed: at least one cell with n >= 2"
                + (" (3 under ANCOVA)" if outcome.n_covariates else "")
            )
        labels, factor_names = _cell_names(design, cells)
        return ClusteredParams(
            means=np.array([outcome.means[c] for c in cells], dtype=float),
            n=n,
            sd=float(outcome.sd),
            baseline_corr=float(outcome.baseline_corr),
            icc=float(clusters.icc),
            clustered=mask,
            unit_cell=units.unit_cell,
            unit_n=units.unit_n,
            df=df,
            cells=cells,
            labels=labels,
            factor_names=factor_names,
        )

    def bytes_per_trial(self, params: ClusteredParams, engine: str) -> int:
        """Working memory of one trial: patient arrays (individual) or unit arrays."""
        j, k = params.n_cells, params.unit_n.size
        if engine == "individual":
            return 8 * params.n_total * 8 + 8 * (6 * k + 3 * j * j)
        return 8 * (8 * k + 3 * j * j + 12 * j + 16)

    def describe(self, engine: str) -> str:
        """Name the method in words."""
        analysis = (
            "heteroscedastic partially nested analysis (between-group mean square "
            "in clustered cells, within-cell elsewhere; Satterthwaite df)"
        )
        if engine == "individual":
            return f"simulation: patient-level data with group effects, {analysis}"
        return f"simulation: exact sufficient statistics (group means), {analysis}"

    def draw(
        self, params: ClusteredParams, rng: np.random.Generator, size: int, *, engine: str
    ) -> CellDraws:
        """Simulate ``size`` trials with the chosen engine and analyse them."""
        if engine == "individual":
            stats = _individual_stats(params, rng, size)
        else:
            stats = _exact_stats(params, rng, size)
        return partially_nested_fit(stats, params)

    def patient_data(self, params: ClusteredParams, rng: np.random.Generator) -> Any:
        """One trial's patients: cell, factor columns, ``group``, ``baseline``, ``y``.

        ``group`` numbers the therapy groups (0 for individually treated
        participants).  The draws are those of the individual engine.
        """
        # deferred: pandas is heavy and only this needs it
        import pandas as pd

        x, y = _patients(params, rng, 1)
        unit = np.repeat(np.arange(params.unit_n.size), params.unit_n)
        cell_index = params.unit_cell[unit]
        group_number = np.cumsum(params.unit_clustered) * params.unit_clustered
        frame = _cell_columns(params, cell_index)
        frame["group"] = group_number[unit]
        if x is not None:
            frame["baseline"] = x[0]
        frame["y"] = y[0]
        return pd.DataFrame(frame)


# ------------------------------------------------------------------ engines
def _exact_stats(p: ClusteredParams, rng: np.random.Generator, size: int) -> PartiallyNestedStats:
    """Draw the unit means and within cross-products of ``size`` trials."""
    uc = p.unit_clustered
    n_unit = p.unit_n.astype(float)
    s2 = p.residual_sd**2
    # Variance of a unit's residual mean: s^2 / n for a cell, ICC s^2 + (1 - ICC) s^2 / n_k
    # for a therapy group.
    unit_sd = np.sqrt(np.where(uc, p.icc * s2 + (1.0 - p.icc) * s2 / n_unit, s2 / n_unit))
    df_u = int(p.n[~p.clustered].sum() - (~p.clustered).sum())
    df_c = int(p.n[p.clustered].sum() - uc.sum())
    mu = p.means[p.unit_cell]
    if not p.ancova:
        ybar = mu + unit_sd * rng.standard_normal((size, uc.size))
        w_u = np.zeros((size, 3))
        w_u[:, 2] = s2 * rng.chisquare(df_u, size)
        w_c = np.zeros((size, 3))
        return PartiallyNestedStats(ybar=ybar, xbar=None, w_unclustered=w_u, w_clustered=w_c)
    z = rng.standard_normal((size, 2, uc.size))
    xbar = p.sd / np.sqrt(n_unit) * z[:, 0]
    ybar = mu + p.baseline_corr * xbar + unit_sd * z[:, 1]
    w_u = _wishart_2x2(rng, size, df_u, p.sd, p.baseline_corr, s2)
    w_c = _wishart_2x2(rng, size, df_c, p.sd, p.baseline_corr, (1.0 - p.icc) * s2)
    return PartiallyNestedStats(ybar=ybar, xbar=xbar, w_unclustered=w_u, w_clustered=w_c)


def _wishart_2x2(
    rng: np.random.Generator, size: int, df: int, sd: float, rho: float, resid_var: float
) -> np.ndarray:
    """Within cross-products (W_xx, W_xy, W_yy) of x ~ N(0, sd^2), y = rho x + e.

    Wishart(df, Sigma) by the Bartlett decomposition ``L A A' L'`` with
    ``L = [[sd, 0], [rho sd, sqrt(resid_var)]]``; zero when ``df`` is 0.
    """
    out = np.zeros((size, 3))
    if df < 1:
        return out
    a11 = np.sqrt(rng.chisquare(df, size))
    a21 = rng.standard_normal(size)
    a22 = np.sqrt(rng.chisquare(df - 1, size)) if df > 1 else np.zeros(size)
    e = math.sqrt(resid_var)
    u = rho * sd * a11 + e * a21
    out[:, 0] = (sd * a11) ** 2
    out[:, 1] = sd * a11 * u
    out[:, 2] = u**2 + (e * a22) ** 2
    return out


def _patients(
    p: ClusteredParams, rng: np.random.Generator, size: int
) -> tuple[np.ndarray | None, np.ndarray]:
    """Baselines (or None) and outcomes of ``size`` trials, shape (size, N), unit order.

    Each trial's normals are drawn consecutively (group effects, then baseline
    and outcome noise), so one trial at a time gives the same data as a block.
    """
    uc = p.unit_clustered
    s2 = p.residual_sd**2
    n_total = p.n_total
    groups = int(uc.sum())
    mu = np.repeat(p.means[p.unit_cell], p.unit_n)
    patient_clustered = np.repeat(uc, p.unit_n)
    noise_sd = np.where(patient_clustered, math.sqrt((1.0 - p.icc) * s2), math.sqrt(s2))
    n_draws = groups + (2 if p.ancova else 1) * n_total
    z = rng.standard_normal((size, n_draws))
    effects = np.zeros((size, uc.size))
    effects[:, uc] = math.sqrt(p.icc * s2) * z[:, :groups]
    y = np.repeat(effects, p.unit_n, axis=1)
    y += mu
    if not p.ancova:
        y += noise_sd * z[:, groups:]
        return None, y
    x = p.sd * z[:, groups : groups + n_total]
    y += p.baseline_corr * x
    y += noise_sd * z[:, groups + n_total :]
    return x, y


def _individual_stats(
    p: ClusteredParams, rng: np.random.Generator, size: int
) -> PartiallyNestedStats:
    """Simulate patients and reduce them to unit means and within cross-products."""
    x, y = _patients(p, rng, size)
    unit = np.repeat(np.arange(p.unit_n.size), p.unit_n)
    indicator = np.zeros((p.n_total, p.unit_n.size))
    indicator[np.arange(p.n_total), unit] = 1.0
    n_unit = p.unit_n.astype(float)
    in_group = np.repeat(p.unit_clustered, p.unit_n)
    ybar = (y @ indicator) / n_unit
    y -= ybar[:, unit]  # within-unit deviations
    w_u = np.zeros((size, 3))
    w_c = np.zeros((size, 3))
    w_u[:, 2] = np.einsum("rn,rn->r", y[:, ~in_group], y[:, ~in_group])
    w_c[:, 2] = np.einsum("rn,rn->r", y[:, in_group], y[:, in_group])
    if x is None:
        return PartiallyNestedStats(ybar=ybar, xbar=None, w_unclustered=w_u, w_clustered=w_c)
    xbar = (x @ indicator) / n_unit
    x -= xbar[:, unit]
    for w, part in ((w_u, ~in_group), (w_c, in_group)):
        w[:, 0] = np.einsum("rn,rn->r", x[:, part], x[:, part])
        w[:, 1] = np.einsum("rn,rn->r", x[:, part], y[:, part])
    return PartiallyNestedStats(ybar=ybar, xbar=xbar, w_unclustered=w_u, w_clustered=w_c)


@dataclass(frozen=True)
class TherapyUnits:
    """The analysis units of a group-delivered design, in cell order.

    Attributes
    ----------
    cells : tuple
        The design's cells.
    n, groups : numpy.ndarray
        Participants and therapy groups per cell (groups counted in
        clustered cells only).
    clustered : numpy.ndarray
        Boolean per cell: delivered in groups.
    unit_cell, unit_n : numpy.ndarray
        Cell and size of every unit: each unclustered cell is one unit, each
        therapy group another (sizes by :func:`group_sizes`).
    """

    cells: tuple[Any, ...]
    n: np.ndarray
    groups: np.ndarray
    clustered: np.ndarray
    unit_cell: np.ndarray
    unit_n: np.ndarray


def therapy_units(design: Any) -> TherapyUnits:
    """Split a group-delivered design into its units (cells and therapy groups).

    Shared by the continuous and binary simulators of group-delivered designs.

    Raises
    ------
    ValueError
        If group sizes vary (``size_cv != 0``), which the simulators do not model.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...     outcome=tp.Continuous(means={("a0", "b0"): 0, ("a1", "b0"): 0,
    ...         ("a0", "b1"): 0, ("a1", "b1"): 0}, sd=1.0), n_per_cell=20,
    ...     clusters=tp.Clustering(factor="B", icc=0.05, group_size=8))
    >>> units = therapy_units(d)
    >>> units.unit_cell.tolist(), units.unit_n.tolist()
    ([0, 1, 1, 1, 2, 3, 3, 3], [20, 7, 7, 6, 20, 7, 7, 6])
    """
    clusters = design.clusters
    if clusters.size_cv != 0.0:
        raise ValueError(
            "simulation of group-delivered designs assumes groups of (nearly) equal "
            f"size; got size_cv={clusters.size_cv!r}; allowed: size_cv=0 (or use "
            "method='analytic')"
        )
    cells = tuple(design.cells)
    n = np.asarray(design.n_array, dtype=np.int64).copy()
    mask = np.asarray(clusters.clustered(design), dtype=bool)
    groups = np.asarray(clusters.groups(design), dtype=np.int64)
    unit_cell: list[int] = []
    unit_n: list[int] = []
    for j in range(len(cells)):
        sizes = group_sizes(int(n[j]), int(groups[j])) if mask[j] else [int(n[j])]
        unit_cell.extend([j] * len(sizes))
        unit_n.extend(int(v) for v in sizes)
    return TherapyUnits(
        cells=cells,
        n=n,
        groups=groups,
        clustered=mask,
        unit_cell=np.array(unit_cell, dtype=np.int64),
        unit_n=np.array(unit_n, dtype=np.int64),
    )


#: The module-level instance (pickles by reference).
_CLUSTERED = ClusteredSimulator()


def clustered_simulator(design: Any) -> OutcomeSimulator:
    """Return the partially nested simulator of a group-delivered Continuous design.

    The runner chooses through
    :func:`trialplan.simulate.grouped.group_delivered_simulator`,
    which sends Binary outcomes to their own simulator.

    Raises
    ------
    ValueError
        If the outcome is not :class:`~trialplan.Continuous`.

    Examples
    --------
    >>> import trialplan as tp
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...     outcome=tp.Binary(rates={("a0", "b0"): .2, ("a1", "b0"): .3,
    ...         ("a0", "b1"): .3, ("a1", "b1"): .5}), n_per_cell=50,
    ...     clusters=tp.Clustering(factor="B", icc=0.05, group_size=8))
    >>> try:
    ...     clustered_simulator(d)
    ... except ValueError as error:
    ...     print(str(error)[:80])
    the partially nested simulator takes Continuous outcomes; got a Binary outcome (
    """
    if not isinstance(design.outcome, Continuous):
        raise ValueError(
            "the partially nested simulator takes Continuous outcomes; got a "
            f"{type(design.outcome).__name__} outcome (group_delivered_simulator chooses "
            "the simulator of each outcome)"
        )
    return _CLUSTERED


def corrected_meat(
    score: np.ndarray, leverage: np.ndarray, cell_of: np.ndarray, n_cells: int
) -> np.ndarray:
    """Mancl-DeRouen meat per cell: ``sum over clusters (score / (1 - leverage))^2``.

    Shared by the group-delivered binary and time-to-event simulators.

    Parameters
    ----------
    score : numpy.ndarray
        Shape (trials, clusters): each cluster's residual (score) sum.
    leverage : numpy.ndarray
        Each cluster's leverage, shape (clusters,) or (trials, clusters).
    cell_of : numpy.ndarray
        Cell of each cluster.
    n_cells : int
        Number of cells.

    Returns
    -------
    numpy.ndarray
        Shape (trials, n_cells).

    Examples
    --------
    >>> import numpy as np
    >>> corrected_meat(np.array([[1.0, -1.0, 2.0]]), np.array([0.5, 0.5, 0.0]),
    ...                np.array([0, 0, 1]), 2).tolist()
    [[8.0, 4.0]]
    """
    return ((score / (1.0 - leverage)) ** 2) @ np.eye(n_cells)[cell_of]


def sandwich_units(design: Any) -> TherapyUnits:
    """The design's units, refusing clustered cells with fewer than two therapy groups.

    A cell's cluster-robust (sandwich) variance needs at least two clusters;
    shared by the binary and time-to-event simulators of group-delivered designs.

    Examples
    --------
    >>> import trialplan as tp
    >>> rates = {("a0", "b0"): .2, ("a1", "b0"): .3, ("a0", "b1"): .3, ("a1", "b1"): .5}
    >>> d = tp.Factorial(factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
    ...     outcome=tp.Binary(rates=rates), n_per_cell=8,
    ...     clusters=tp.Clustering(factor="B", icc=0.05, group_size=8))
    >>> sandwich_units(d)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: simulation of a group-delivered Binary outcome needs at least two therapy ...
    """
    clusters = design.clusters
    units = therapy_units(design)
    groups, mask = units.groups, units.clustered
    if np.any(groups[mask] < 2):
        raise ValueError(
            f"simulation of a group-delivered {type(design.outcome).__name__} outcome needs at "
            f"least two therapy groups in every cell with {clusters.factor}={clusters.level} "
            f"(a cell's sandwich variance needs two clusters); got {groups[mask].tolist()} "
            f"group(s) of group_size={clusters.group_size:g} for n={units.n[mask].tolist()}; "
            "allowed: n > group_size in those cells"
        )
    return units
