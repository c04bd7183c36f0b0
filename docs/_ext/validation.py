"""Sphinx extension: build the validation report's tables at documentation build time.

``docs/validation.md`` holds markers; this extension replaces each (when the page
is read, ``source-read``) with a Markdown table
that sets a reference value (published, or produced by the committed R
scripts in ``tests/references/``) beside the value trialplan computes now, so
the page can never drift from the code.

* ``<!-- validation:published -->``: the published values of REFERENCES.md;
* ``<!-- validation:rpact -->``: every group-sequential bound and inflation
  factor of ``tests/references/gsd_rpact.csv`` (rpact 3.3.4);
* ``<!-- validation:pwr -->``: ``tests/references/parallel_pwr.csv`` (R pwr);
* ``<!-- validation:factorial -->``: ``factorial_power.csv`` and ``min_test_power.csv``
  (R ``pt`` and mvtnorm);
* ``<!-- validation:fixtures -->``: every fixture file with its provenance line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = ROOT / "tests" / "references"


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if value.is_integer() and abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.4g}" if abs(value) >= 1e-3 else f"{value:.3g}"


def _agree(reference: float, ours: float, tolerance: float) -> str:
    return "yes" if abs(reference - ours) <= tolerance else f"**no** (tolerance {tolerance:g})"


#: gsDesign's published printed output (testthat snapshots of gsBoundSummary).
_GSDESIGN = "gsDesign 3.11 printed output (testthat snapshot)"


def _published() -> list[tuple[str, str, Callable[[], float], float, float, str]]:
    import trialplan as tp

    def factorial(means: dict, sd: float, n: int, **kw: Any) -> Any:
        return tp.Factorial(
            factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
            outcome=tp.Continuous(means=means, sd=sd, **kw),
            n_per_cell=n,
        )

    def cells(a0b0: float, a0b1: float, a1b0: float, a1b1: float) -> dict:
        return {("a0", "b0"): a0b0, ("a0", "b1"): a0b1, ("a1", "b0"): a1b0, ("a1", "b1"): a1b1}

    superpower = factorial(cells(20, 20, 20, 25), 20.0, 150, better="higher")
    gpower = factorial(cells(0, 0, 0.5, 0.5), 1.0, 10)
    # cells with A = 3 (averaged), B = 2 (averaged), IC = 2: mu00 = 0, mu01 = 1, mu10 = 2, mu11 = 5
    marginal = factorial(cells(0.0, 1.0, 2.0, 5.0), 8.0, 100, better="higher")
    rates = cells(0.12, 0.22, 0.30, 0.50)
    binary = tp.Factorial(
        factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        outcome=tp.Binary(rates=rates),
        n_per_cell=100,
    )

    def scale(measure: str) -> float:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = binary.outcome.interaction_scales(binary)
        return float(table.set_index("measure").loc[measure, "estimate"])

    def gsd(kind: str, k: int, beta: float) -> Any:
        boundary = tp.boundaries.obrien_fleming() if kind == "OF" else tp.boundaries.pocock()
        return tp.GroupSequential(
            info_fractions=tuple((i + 1) / k for i in range(k)),
            alpha=0.05,
            sided=2,
            efficacy=boundary,
            beta=beta,
        )

    def hsd(k: int, futility: bool) -> Any:
        # gsDesign's defaults: sfHSD(-4) alpha-spending, sfHSD(-2) non-binding beta-spending
        return tp.GroupSequential(
            info_fractions=tuple((i + 1) / k for i in range(k)),
            alpha=0.025,
            beta=0.1,
            efficacy=tp.spending.hwang_shih_decani(-4),
            futility=tp.spending.hwang_shih_decani(-2) if futility else None,
        )

    def min_test_n(power: float) -> float:
        means = cells(0.0, -4.0, -3.0, -7.0)  # combination beats monos by 3 and 4
        d = tp.Factorial(
            factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
            outcome=tp.Continuous(means=means, sd=8.0),
            n_per_cell=50,
            alpha=0.05,
        )
        return d.sample_size(power=power, hypothesis="combination").n_per_cell

    two_props = tp.Parallel(
        arms=("p30", "p50"),
        outcome=tp.Binary(rates={"p30": 0.30, "p50": 0.50}, scale="arcsine"),
        n_per_arm=50,
        control="p30",
    )

    return [
        (
            "ANOVA special (df1 = 1), f = 0.25, 4 groups: total N",
            "G*Power 3.1",
            lambda: gpower.sample_size(power=0.8, hypothesis="A").n_total,
            128,
            0,
            "exact noncentral t = F(1, N - 4)",
        ),
        (
            "same: power at N = 128",
            "G*Power 3.1",
            lambda: tp.anova_power(cohens_f=0.25, n_total=128, n_groups=4),
            0.8013621,
            1e-6,
            "",
        ),
        (
            "ANCOVA special, f = 0.2309401, 1 covariate, 4 groups: power at N = 150 (>= .80)",
            "G*Power 3.1",
            lambda: tp.anova_power(cohens_f=0.2309401, n_total=150, n_groups=4, n_covariates=1),
            0.80,
            0.01,
            "G*Power reports N = 150 for 80 %",
        ),
        (
            "2x2, n = 150/cell, mu = (20, 20, 20, 25), sd 20: power of A",
            "Superpower vignette",
            lambda: superpower.power()["A"],
            0.333,
            1e-3,
            "",
        ),
        (
            "same: power of A x B",
            "Superpower vignette",
            lambda: superpower.power()["A:B"],
            0.333,
            1e-3,
            "",
        ),
        (
            "2x2 crossover interaction (1, 0, 0, 1), sd 2, n = 40: power of A x B",
            "Superpower vignette",
            lambda: factorial(cells(1, 0, 0, 1), 2.0, 40).power()["A:B"],
            0.882,
            1e-3,
            "",
        ),
        (
            "2x2, n = 100, sd 8, A = 3, B = 2, IC = 2: power of A",
            "normal approximation",
            lambda: marginal.power()["A"],
            0.963,
            3e-3,
            "trialplan: exact t (df 396)",
        ),
        (
            "same: power of B",
            "normal approximation",
            lambda: marginal.power()["B"],
            0.705,
            3e-3,
            "trialplan: exact t",
        ),
        (
            "same: power of A x B",
            "normal approximation",
            lambda: marginal.power()["A:B"],
            0.239,
            3e-3,
            "trialplan: exact t",
        ),
        (
            "min test, sd 8, combination better by 3 and 4, 80 %: n per arm",
            "Laska & Meisner 1989 (normal approx.)",
            lambda: min_test_n(0.8),
            116,
            1,
            "trialplan: exact bivariate t",
        ),
        (
            "same, 90 %: n per arm",
            "Laska & Meisner 1989 (normal approx.)",
            lambda: min_test_n(0.9),
            152,
            1,
            "trialplan: exact bivariate t",
        ),
        (
            "two proportions .30 vs .50, 80 %: n per arm",
            "Cohen's h (R pwr: 92.7)",
            lambda: two_props.sample_size(power=0.8, hypothesis="p50 vs p30").n_per_cell,
            93,
            0,
            "arcsine scale",
        ),
        (
            "rates .12/.22/.30/.50: interaction on the risk-difference scale",
            "arithmetic",
            lambda: scale("risk_difference"),
            0.10,
            1e-9,
            "",
        ),
        ("same: RERI", "VanderWeele & Knol 2014", lambda: scale("RERI"), 0.833, 5e-4, ""),
        (
            "same: log odds-ratio interaction",
            "arithmetic",
            lambda: scale("log_odds"),
            0.121,
            5e-4,
            "",
        ),
        (
            "same: log risk-ratio interaction",
            "arithmetic",
            lambda: scale("log_risk"),
            -0.095,
            5e-4,
            "sign reversal",
        ),
        (
            "same, risk-difference scale, 80 %: n per cell",
            "Wald, unpooled",
            lambda: binary.sample_size(power=0.8, hypothesis="A:B").n_per_cell,
            579,
            1,
            "",
        ),
        (
            "O'Brien-Fleming K = 5, alpha .05 two-sided: C",
            "Jennison & Turnbull 2000, Table 2.3",
            lambda: gsd("OF", 5, 0.2).efficacy_z[-1],
            2.040,
            5e-4,
            "C = final bound",
        ),
        (
            "same: inflation factor at 80 %",
            "Jennison & Turnbull 2000",
            lambda: gsd("OF", 5, 0.2).inflation_factor,
            1.028,
            5e-4,
            "",
        ),
        (
            "same: inflation factor at 90 %",
            "Jennison & Turnbull 2000",
            lambda: gsd("OF", 5, 0.1).inflation_factor,
            1.026,
            5e-4,
            "",
        ),
        (
            "Pocock K = 4, alpha .05 two-sided: C",
            "Jennison & Turnbull 2000, Table 2.1",
            lambda: gsd("P", 4, 0.2).efficacy_z[0],
            2.361,
            5e-4,
            "",
        ),
        (
            "same: inflation factor at 80 %",
            "Jennison & Turnbull 2000",
            lambda: gsd("P", 4, 0.2).inflation_factor,
            1.202,
            5e-4,
            "",
        ),
        (
            "Pocock K = 5: C",
            "Jennison & Turnbull 2000, Table 2.1",
            lambda: gsd("P", 5, 0.2).efficacy_z[0],
            2.413,
            5e-4,
            "",
        ),
        (
            "same: inflation factor at 90 %",
            "Jennison & Turnbull 2000",
            lambda: gsd("P", 5, 0.1).inflation_factor,
            1.207,
            5e-4,
            "",
        ),
        (
            "gsDesign(k = 5, test.type = 1): efficacy bound at look 1",
            _GSDESIGN,
            lambda: hsd(5, False).efficacy_z[0],
            3.2527,
            6e-5,
            "HSD(-4) spending",
        ),
        (
            "same: final efficacy bound",
            _GSDESIGN,
            lambda: hsd(5, False).efficacy_z[-1],
            2.0253,
            6e-5,
            "",
        ),
        (
            "same: cumulative power at look 3",
            _GSDESIGN,
            lambda: hsd(5, False).to_frame()["power"].iloc[2],
            0.4530,
            6e-5,
            "",
        ),
        (
            "gsDesign(k = 5, test.type = 4): futility bound at look 1",
            _GSDESIGN,
            lambda: hsd(5, True).futility_z[0],
            -0.9016,
            6e-5,
            "HSD(-2) beta spending",
        ),
        (
            "same: futility bound at look 4",
            _GSDESIGN,
            lambda: hsd(5, True).futility_z[3],
            1.3603,
            6e-5,
            "",
        ),
        (
            "same: cumulative power at look 2",
            _GSDESIGN,
            lambda: hsd(5, True).to_frame()["power"].iloc[1],
            0.2096,
            6e-5,
            "",
        ),
        (
            "gsDesign(k = 3, test.type = 4): efficacy bound at look 1",
            _GSDESIGN,
            lambda: hsd(3, True).efficacy_z[0],
            3.0107,
            6e-5,
            "",
        ),
        (
            "same: futility bound at look 2",
            _GSDESIGN,
            lambda: hsd(3, True).futility_z[1],
            0.9411,
            6e-5,
            "",
        ),
        (
            "same: maximum information / fixed design",
            _GSDESIGN,
            lambda: hsd(3, True).inflation_factor,
            124.91 / 116.76,
            1e-4,
            "gsDesign prints information 124.91 at delta .3 (fixed 116.76)",
        ),
        (
            "MMRM, CS rho .25, 4 visits, retention (1, .9, .8, .7), delta 0.5 SD: n per group",
            "Lu, Luo & Chen 2008",
            lambda: (
                tp.Factorial(
                    factors={"arm": ("control", "treated")},
                    outcome=tp.Repeated(
                        means={("control",): [0, 0, 0, 0], ("treated",): [0, 0, 0, 5]},
                        times=[1, 2, 3, 4],
                        sd=10.0,
                        correlation="cs",
                        rho=0.25,
                        retention=[1.0, 0.9, 0.8, 0.7],
                    ),
                    n_per_cell=50,
                )
                .sample_size(power=0.8, hypothesis="arm")
                .n_per_cell
            ),
            87,
            0,
            "",
        ),
    ]


def published_table() -> str:
    """Markdown table of the published reference values beside trialplan's."""
    lines = [
        "| case | source | reference | trialplan | agrees | note |",
        "|---|---|---:|---:|---|---|",
    ]
    for case, source, compute, reference, tolerance, note in _published():
        try:
            ours = float(compute())
            agrees = _agree(reference, ours, tolerance)
            shown = _fmt(ours)
        except Exception as exc:  # noqa: BLE001 - shown in the report, not hidden
            shown, agrees = "not computed", f"error: {type(exc).__name__}: {exc}"
        lines.append(f"| {case} | {source} | {_fmt(reference)} | {shown} | {agrees} | {note} |")
    return "\n".join(lines)


def _spending(code: str, gamma: float) -> Any:
    import trialplan as tp

    if code == "OF":
        return tp.boundaries.obrien_fleming()
    if code == "P":
        return tp.boundaries.pocock()
    kind = code[2:]
    return {
        "OF": tp.spending.obrien_fleming,
        "P": tp.spending.pocock,
        "KD": lambda: tp.spending.power_family(gamma),
        "HSD": lambda: tp.spending.hwang_shih_decani(gamma),
    }[kind]()


def rpact_table() -> str:
    """Every rpact bound of gsd_rpact.csv beside trialplan's."""
    import pandas as pd

    import trialplan as tp

    frame = pd.read_csv(REFERENCES / "gsd_rpact.csv", comment="#")
    lines = [
        "| case | look | rpact efficacy | trialplan | rpact futility | trialplan | "
        "rpact inflation | trialplan |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    worst = 0.0
    for case in dict.fromkeys(frame["case"]):
        rows = frame[frame["case"] == case]
        first = rows.iloc[0]
        futility = (
            None if first.beta_spending == "none" else _spending(first.beta_spending, first.gamma_b)
        )
        gsd = tp.GroupSequential(
            info_fractions=tuple(rows["info_rate"]),
            alpha=float(first.alpha),
            sided=int(first.sided),
            efficacy=_spending(first.design, first.gamma_a),
            futility=futility,
            beta=float(first.beta),
            binding=bool(first.binding) if futility is not None else False,
        )
        for k, (_, row) in enumerate(rows.iterrows()):
            eff = float(gsd.efficacy_z[k])
            worst = max(worst, abs(eff - row.efficacy))
            fut = "" if gsd.futility_z is None else f"{gsd.futility_z[k]:.6f}"
            ref_fut = "" if pd.isna(row.futility) else f"{row.futility:.6f}"
            infl = f"{gsd.inflation_factor:.6f}" if k == 0 else ""
            ref_infl = f"{row.inflation_factor:.6f}" if k == 0 else ""
            lines.append(
                f"| {case if k == 0 else ''} | {int(row.look)} | {row.efficacy:.6f} | "
                f"{eff:.6f} | {ref_fut} | {fut} | {ref_infl} | {infl} |"
            )
    lines.append("")
    lines.append(f"Largest difference in an efficacy bound: {worst:.2g}.")
    return "\n".join(lines)


def pwr_table() -> str:
    """R pwr values of parallel_pwr.csv beside trialplan's."""
    import trialplan as tp

    def two_arm(d: float, n: Any, sided: int = 2) -> Any:
        n_per_arm = n if isinstance(n, int) else {"a": n[0], "b": n[1]}
        return tp.Parallel(
            arms=("a", "b"),
            outcome=tp.Continuous(means={"a": 0.0, "b": d}, sd=1.0, better="higher"),
            n_per_arm=n_per_arm,
            control="a",
            sided=sided,
            alpha=0.05,
        )

    computed = {
        "t-equal-n-for-80pct-d0.5-two-sided": lambda: (
            two_arm(0.5, 10).sample_size(power=0.8, hypothesis="b vs a").n_per_cell
        ),
        "t-equal-n-for-80pct-d0.5-one-sided": lambda: (
            two_arm(0.5, 10, 1).sample_size(power=0.8, hypothesis="b vs a").n_per_cell
        ),
        "t-power-n64-d0.5-two-sided": lambda: two_arm(0.5, 64).power()["b vs a"],
        "t-power-n40-80-d0.5-two-sided": lambda: two_arm(0.5, (40, 80)).power()["b vs a"],
        "t-power-n15-d0.8-two-sided": lambda: two_arm(0.8, 15).power()["b vs a"],
    }
    lines = ["| case | R pwr 1.3.0 | trialplan | note |", "|---|---:|---:|---|"]
    with (REFERENCES / "parallel_pwr.csv").open() as f:
        rows = [
            line.strip().split(",")
            for line in f
            if line.strip() and not line.startswith(("#", "case"))
        ]
    for case, value in rows:
        if case not in computed:
            continue
        try:
            ours = computed[case]()
            note = "smallest whole n at or above R's" if "equal-n" in case else ""
            lines.append(f"| {case} | {float(value):.7g} | {_fmt(ours)} | {note} |")
        except Exception as exc:  # noqa: BLE001
            lines.append(f"| {case} | {float(value):.7g} | error: {exc} | |")
    return "\n".join(lines)


_FACTORIAL_CASES = {  # factorial_power.R: cells (a0b0, a1b0, a0b1, a1b1)
    "balanced-n50": ((0, -3, -2, -8), (50, 50, 50, 50), 8, 0.0, 0.05, 2),
    "unequal-n": ((0, -3, -2, -8), (40, 60, 30, 70), 8, 0.0, 0.05, 2),
    "one-sided-small": ((10, 12, 11, 16), (6, 6, 6, 6), 3, 0.0, 0.025, 1),
    "ancova-rho0.5": ((0, -3, -2, -8), (50, 50, 50, 50), 8, 0.5, 0.05, 2),
    "ancova-small-unequal": ((0, 2, 1, 5), (8, 10, 9, 12), 2, 0.6, 0.05, 2),
}
_MIN_CASES = {  # factorial_power.R, min_cases: (mu, n, sd, alpha_one)
    "refs-116": ((0, -5, -4, -8), (116,) * 4, 8, 0.025),
    "refs-152": ((0, -5, -4, -8), (152,) * 4, 8, 0.025),
    "small-unequal": ((0, -2, -3, -6), (10, 12, 9, 15), 3, 0.025),
    "tiny": ((0, -2, -3, -6), (4, 4, 4, 4), 3, 0.05),
}
_NAMES = {
    "A": "A",
    "B": "B",
    "AB": "A:B",
    "A_given_b0": "A | B=b0",
    "A_given_b1": "A | B=b1",
    "B_given_a0": "B | A=a0",
    "B_given_a1": "B | A=a1",
}


def _factorial(mu: Any, n: Any, sd: float, rho: float, alpha: float, sided: int) -> Any:
    import trialplan as tp

    order = [("a0", "b0"), ("a1", "b0"), ("a0", "b1"), ("a1", "b1")]
    return tp.Factorial(
        factors={"A": ("a0", "a1"), "B": ("b0", "b1")},
        outcome=tp.Continuous(
            means=dict(zip(order, map(float, mu), strict=True)),
            sd=float(sd),
            baseline_corr=rho,
            better="lower",
        ),
        n_per_cell=dict(zip(order, n, strict=True)),
        alpha=alpha,
        sided=sided,
    )


def factorial_table() -> str:
    """R (pt, mvtnorm) factorial and min-test powers beside trialplan's."""
    import pandas as pd

    frame = pd.read_csv(REFERENCES / "factorial_power.csv", comment="#")
    lines = ["| case | hypothesis | R power | trialplan | difference |", "|---|---|---:|---:|---:|"]
    worst = 0.0
    for case, rows in frame.groupby("case", sort=False):
        power = _factorial(*_FACTORIAL_CASES[case]).power([_NAMES[h] for h in rows.hypothesis])
        for _, row in rows.iterrows():
            ours = power[_NAMES[row.hypothesis]]
            worst = max(worst, abs(ours - row.power))
            label = _NAMES[row.hypothesis].replace("|", "&#124;")
            lines.append(
                f"| {case} | {label} | {row.power:.6f} | {ours:.6f} | {ours - row.power:.1e} |"
            )
    mins = pd.read_csv(REFERENCES / "min_test_power.csv", comment="#")
    for _, row in mins.iterrows():
        mu, n, sd, alpha_one = _MIN_CASES[row.case]
        sided = 2 if alpha_one == 0.025 else 1
        ours = _factorial(mu, n, sd, 0.0, alpha_one * sided, sided).power("combination")[
            "combination"
        ]
        worst = max(worst, abs(ours - row.power_t))
        lines.append(
            f"| min test {row.case} | combination | {row.power_t:.6f} | "
            f"{ours:.6f} | {ours - row.power_t:.1e} |"
        )
    lines += ["", f"Largest absolute difference: {worst:.1e}."]
    return "\n".join(lines)


def fixtures_list() -> str:
    """Every fixture in tests/references with its provenance line."""
    lines = ["| file | provenance |", "|---|---|"]
    for path in sorted(REFERENCES.glob("*")):
        if path.suffix == ".csv":
            first = path.read_text().splitlines()[0].lstrip("# ").strip()
            lines.append(f"| `{path.name}` | {first} |")
        elif path.suffix == ".R":
            lines.append(f"| `{path.name}` | R script that writes the fixture |")
    return "\n".join(lines)


_MARKERS = {
    "<!-- validation:published -->": published_table,
    "<!-- validation:rpact -->": rpact_table,
    "<!-- validation:pwr -->": pwr_table,
    "<!-- validation:factorial -->": factorial_table,
    "<!-- validation:fixtures -->": fixtures_list,
}


def fill(markdown: str) -> str:
    """Replace the validation markers of a page with freshly computed tables."""
    import warnings

    from trialplan.designs.base import DirectionWarning

    with warnings.catch_warnings():
        # Reference cases test one-sided effects against 'better' on purpose, and
        # power() of a whole table covers hypotheses (the combination test) whose
        # direction a two-sided reference case does not set.
        warnings.simplefilter("ignore", DirectionWarning)
        for marker, build in _MARKERS.items():
            if marker in markdown:
                markdown = markdown.replace(marker, build())
    return markdown


def _source_read(app: Any, docname: str, source: list[str]) -> None:
    source[0] = fill(source[0])


def setup(app: Any) -> dict[str, Any]:
    """Fill the validation tables of any page that has their markers."""
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # print the tables: python docs/_ext/validation.py
    for build in _MARKERS.values():
        print(build(), end="\n\n")
