"""The page's layout: the design form in a sidebar, the plan's results beside it.

Built with Shiny for Python (its bslib components: sidebar, accordion, cards,
value boxes); every asset is served from the installed packages.  Input ids
are the field ids of :mod:`trialplan.app.form`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from htmltools import Tag, TagList
from shiny import ui

from trialplan.app import form
from trialplan.app.assets import CSS, SCRIPT
from trialplan.labels import Labels

__all__ = ["FIELD_LABELS", "field_ids", "page"]

#: Words for each field, used in the banner that lists invalid values.
FIELD_LABELS: dict[str, str] = {
    "outcome_type": "Outcome type",
    "sd": "Outcome SD",
    "baseline_corr": "Baseline correlation",
    "better_continuous": "Better outcome",
    "better_binary": "Better outcome",
    "scale": "Analysis scale",
    "accrual": "Accrual",
    "follow_up": "Follow-up",
    "alpha": "Alpha",
    "sided": "Sidedness",
    "power": "Target power",
    "primary": "Primary hypotheses",
    "size": "Sample size",
    "n": "Analysed per cell",
    "block_sizes": "Block sizes",
    "looks": "Analyses",
    "info_fractions": "Information fractions",
    "efficacy": "Efficacy boundary",
    "efficacy_param": "Efficacy parameter",
    "futility": "Futility boundary",
    "futility_param": "Futility parameter",
    "binding": "Binding futility",
    "multiplicity": "Multiplicity procedure",
    "family": "Family",
    "values_from": "Cell values from",
    "syn_model": "Synergy model",
    "syn_scale": "Interaction scale",
    "sim_n": "Simulated trials",
    "sim_seed": "Seed",
    "form": "Design",
}


def field_label(field_id: str, layout: form.Layout) -> str:
    """Words for a field id (cell fields name their cell)."""
    if field_id in FIELD_LABELS:
        return FIELD_LABELS[field_id]
    parts = field_id.split("_")
    if parts[0] in ("mean", "rate", "median", "ratio", "dropout") and parts[-1].isdigit():
        cell = layout.base_labels[int(parts[-1])] if int(parts[-1]) < len(layout.cells) else ""
        word = {"mean": "Mean", "rate": "Rate", "median": "Median", "ratio": "Ratio"}
        return f"{word.get(parts[0], parts[0].capitalize())} of {cell}"
    if field_id.startswith("factor_"):
        return "Factors and levels"
    if field_id.startswith("syn_"):
        return "Synergy model"
    if field_id.startswith("arm_"):
        return "Arm names"
    return field_id


def field_ids(layout: form.Layout) -> list[str]:
    """Ids of every input of the form (the keys of :func:`form.initial_values`)."""
    return [k for k in form.initial_values(layout) if k not in ("sim_n", "sim_seed")]


# ---------------------------------------------------------------- helpers
def _row(*children: Any, cols: int = 2) -> Tag:
    return ui.div(*children, class_="tp-row", style=f"--tp-cols: {cols}")


def _numeric(id_: str, label: str, value: Any, **kwargs: Any) -> Tag:
    return ui.input_numeric(id_, label, value, **kwargs)


def _when(condition: str, *children: Any) -> Tag:
    return ui.panel_conditional(condition, *children)


def _outcome_panel(layout: form.Layout, v: Mapping[str, Any]) -> Any:
    tte_time = (
        "Analysis time (months)"
        if layout.tte_time == "analysis_time"
        else ("Minimum follow-up (months)")
    )
    return ui.accordion_panel(
        "Outcome",
        ui.input_radio_buttons(
            "outcome_type", "Outcome type", form.OUTCOMES, selected=v["outcome_type"], inline=True
        ),
        _when(
            "input.outcome_type === 'continuous'",
            _row(
                _numeric("sd", "Outcome SD", v["sd"], step=0.5),
                _numeric("baseline_corr", "Baseline correlation", v["baseline_corr"], step=0.05),
            ),
            ui.input_radio_buttons(
                "better_continuous",
                "Better outcome",
                {"lower": "lower", "higher": "higher"},
                selected=v["better_continuous"],
                inline=True,
            ),
        ),
        _when(
            "input.outcome_type === 'binary'",
            ui.input_select(
                "scale",
                "Analysis scale",
                {
                    "risk_difference": "risk difference",
                    "log_risk": "log risk ratio",
                    "log_odds": "log odds ratio",
                    "arcsine": "arcsine (Cohen's h)",
                },
                selected=v["scale"],
            ),
            ui.input_radio_buttons(
                "better_binary",
                "Better outcome",
                {"higher": "higher rate", "lower": "lower rate"},
                selected=v["better_binary"],
                inline=True,
            ),
        ),
        _when(
            "input.outcome_type === 'time_to_event'",
            _row(
                _numeric("accrual", "Accrual (months)", v["accrual"], step=1),
                _numeric("follow_up", tte_time, v["follow_up"], step=1),
            ),
            ui.p("Exponential event times; the log-rank test (Schoenfeld).", class_="tp-note"),
        ),
        value="outcome",
    )


def _factors_panel(layout: form.Layout, v: Mapping[str, Any]) -> Any:
    if layout.kind == "parallel":
        rows = [
            ui.input_text(
                f"arm_{i}_label", f"Display name of {arm}", v[f"arm_{i}_label"], placeholder=arm
            )
            for i, arm in enumerate(layout.arms)
        ]
        return ui.accordion_panel("Arm names", *rows, value="factors")
    labels = Labels()
    blocks = []
    for i, name in enumerate(layout.factors):
        defaults = [labels.level(name, level) for level in layout.levels[i]]
        blocks.append(
            ui.div(
                ui.div(f"Factor {i + 1}", class_="tp-factor-title"),
                _row(
                    ui.input_text(f"factor_{i}_name", "Name", v[f"factor_{i}_name"]),
                    ui.input_text(
                        f"factor_{i}_level_0", "Reference level", v[f"factor_{i}_level_0"]
                    ),
                    ui.input_text(f"factor_{i}_level_1", "Active level", v[f"factor_{i}_level_1"]),
                    cols=3,
                ),
                _row(
                    ui.input_text(
                        f"factor_{i}_label_0",
                        "Shown as",
                        v[f"factor_{i}_label_0"],
                        placeholder=defaults[0],
                    ),
                    ui.input_text(
                        f"factor_{i}_label_1",
                        "Shown as",
                        v[f"factor_{i}_label_1"],
                        placeholder=defaults[1],
                    ),
                ),
                class_="tp-factor",
            )
        )
    return ui.accordion_panel("Factors and levels", *blocks, value="factors")


def _cells_panel(layout: form.Layout, v: Mapping[str, Any]) -> Any:
    header = ui.tags.tr(
        ui.tags.th("Cell" if layout.kind == "factorial" else "Arm"),
        ui.tags.th(
            _when("input.outcome_type === 'continuous'", "Mean"),
            _when("input.outcome_type === 'binary'", "Rate"),
            _when("input.outcome_type === 'time_to_event'", "Median (months)"),
            class_="tp-value-col",
        ),
        ui.tags.th("Ratio"),
        ui.tags.th("Dropout"),
    )
    model = "input.values_from === 'model'" if layout.is_2x2 else "false"
    rows = []
    for i in range(len(layout.cells)):
        values = [
            _when(
                f"input.outcome_type === '{outcome}' && !({model})",
                _numeric(f"{prefix}_{i}", None, v[f"{prefix}_{i}"], step=_STEP[outcome]),
            )
            for outcome, prefix in form.VALUE_PREFIX.items()
        ]
        rows.append(
            ui.tags.tr(
                ui.tags.td(ui.output_text(f"cell_name_{i}", inline=True), class_="tp-cell-name"),
                ui.tags.td(*values, _when(model, ui.span("model", class_="tp-note"))),
                ui.tags.td(_numeric(f"ratio_{i}", None, v[f"ratio_{i}"], min=1, step=1)),
                ui.tags.td(_numeric(f"dropout_{i}", None, v[f"dropout_{i}"], step=0.01)),
            )
        )
    parts: list[Any] = []
    if layout.is_2x2:
        parts.append(
            ui.input_radio_buttons(
                "values_from",
                "Cell values from",
                {"cells": "the cells", "model": "a synergy model"},
                selected=v["values_from"],
                inline=True,
            )
        )
    parts.append(ui.tags.table(ui.tags.thead(header), ui.tags.tbody(*rows), class_="tp-cells"))
    if layout.is_2x2:
        parts.append(_when(model, *_synergy_fields(layout, v)))
        parts.append(ui.output_ui("interaction"))
    return ui.accordion_panel(
        "Cells: planning values, allocation, dropout"
        if layout.kind == "factorial"
        else "Arms: planning values, allocation, dropout",
        *parts,
        value="cells",
    )


_STEP = {"continuous": 0.1, "binary": 0.01, "time_to_event": 1}


def _synergy_fields(layout: form.Layout, v: Mapping[str, Any]) -> list[Any]:
    first, second = layout.factors
    out: list[Any] = [
        ui.input_select("syn_model", "Synergy model", form.SYNERGY_MODELS, selected=v["syn_model"])
    ]
    for outcome, prefix in form.VALUE_PREFIX.items():
        p = f"syn_{prefix}_"
        on = f"input.outcome_type === '{outcome}'"
        out.append(
            _when(
                on,
                _row(
                    _numeric(
                        p + "control", "Control cell", v.get(p + "control"), step=_STEP[outcome]
                    ),
                    _numeric(
                        p + "effect_0",
                        f"Effect of {first} alone",
                        v.get(p + "effect_0"),
                        step=_STEP[outcome],
                    ),
                    _numeric(
                        p + "effect_1",
                        f"Effect of {second} alone",
                        v.get(p + "effect_1"),
                        step=_STEP[outcome],
                    ),
                    cols=3,
                ),
                _when(
                    "input.syn_model === 'interaction'",
                    _numeric(
                        p + "ic",
                        "Interaction (on the scale below)",
                        v.get(p + "ic"),
                        step=_STEP[outcome],
                    ),
                ),
                _when(
                    "input.syn_model === 'state_dependent'",
                    _row(
                        _numeric(p + "slope", "State slope (per SD)", v.get(p + "slope"), step=0.1),
                        _numeric(p + "shift", "MBI state shift (SD)", v.get(p + "shift"), step=0.1),
                    ),
                ),
            )
        )
    out.append(
        _when(
            "input.syn_model === 'interaction'",
            ui.input_select(
                "syn_scale", "Interaction scale", form.SYNERGY_SCALES, selected=v["syn_scale"]
            ),
        )
    )
    out.append(ui.output_ui("implied_cells"))
    return out


def _testing_panel(layout: form.Layout, v: Mapping[str, Any]) -> Any:
    choices = {str(i): h for i, h in enumerate(layout.hypotheses)}
    unit = "arm" if layout.kind == "parallel" else "cell"
    return ui.accordion_panel(
        "Testing and sample size",
        _row(
            _numeric("alpha", "Alpha", v["alpha"], step=0.005),
            ui.input_radio_buttons(
                "sided", "Tests", {"2": "two-sided", "1": "one-sided"}, selected=v["sided"]
            ),
        ),
        ui.input_selectize(
            "primary",
            "Primary hypotheses (set the sample size)",
            choices,
            selected=v["primary"],
            multiple=True,
        ),
        _row(
            _numeric("power", "Target power", v["power"], step=0.05),
            ui.input_radio_buttons(
                "size",
                "Sample size",
                {"solve": "solve for power", "fixed": "fixed"},
                selected=v["size"],
            ),
        ),
        _when(
            "input.size === 'fixed'",
            _numeric("n", f"Analysed per {unit} (times its ratio)", v["n"], min=1, step=1),
        ),
        ui.input_text(
            "block_sizes", "Randomization block sizes", v["block_sizes"], placeholder="e.g. 4, 8"
        ),
        value="testing",
    )


def _looks_panel(v: Mapping[str, Any]) -> Any:
    parametric = "['hwang_shih_decani', 'power_family'].includes(input.{})"
    return ui.accordion_panel(
        "Interim analyses",
        _row(
            ui.input_select(
                "looks",
                "Analyses",
                {"1": "1 (no interim)", "2": "2", "3": "3", "4": "4", "5": "5"},
                selected=v["looks"],
            ),
            ui.input_text(
                "info_fractions",
                "Information fractions",
                v["info_fractions"],
                placeholder="equally spaced",
            ),
        ),
        _when(
            "input.looks !== '1'",
            ui.input_select("efficacy", "Efficacy boundary", form.EFFICACY, selected=v["efficacy"]),
            _when(
                parametric.format("efficacy"),
                _numeric(
                    "efficacy_param", "Parameter (gamma or rho)", v["efficacy_param"], step=0.5
                ),
            ),
            ui.input_select("futility", "Futility boundary", form.FUTILITY, selected=v["futility"]),
            _when(
                parametric.format("futility"),
                _numeric(
                    "futility_param", "Parameter (gamma or rho)", v["futility_param"], step=0.5
                ),
            ),
            _when(
                "input.futility !== 'none'",
                ui.input_checkbox("binding", "Binding futility bounds", v["binding"]),
            ),
        ),
        value="looks",
    )


def _multiplicity_panel(layout: form.Layout, v: Mapping[str, Any]) -> Any:
    choices = {str(i): h for i, h in enumerate(layout.hypotheses)}
    options = dict(form.MULTIPLICITY)
    if layout.kind == "parallel":
        options["dunnett"] = "Dunnett (each arm against the control)"
    if v["multiplicity"] == "spec":
        options["spec"] = "As in the spec (edit the file)"
    return ui.accordion_panel(
        "Multiplicity",
        ui.input_select("multiplicity", "Procedure", options, selected=v["multiplicity"]),
        _when(
            "!['none', 'spec', 'dunnett'].includes(input.multiplicity)",
            ui.input_selectize(
                "family", "Family of hypotheses", choices, selected=v["family"], multiple=True
            ),
        ),
        value="multiplicity",
    )


def _brand() -> Tag:
    from trialplan._version import __version__

    return ui.div(
        ui.span("trialplan", class_="tp-brand"),
        ui.span(f" {__version__} \u00b7 design spec", class_="tp-note"),
    )


def _sidebar(layout: form.Layout, v: Mapping[str, Any]) -> Any:
    if not layout.editable:
        return ui.sidebar(
            ui.p(
                f"This spec's design ({layout.kind or 'unknown'}) is shown as written: the form "
                "edits factorial and parallel-arm designs. Edit the spec file and reload.",
                class_="tp-note",
            ),
            title=_brand(),
            width=420,
        )
    panels = [
        _outcome_panel(layout, v),
        _factors_panel(layout, v),
        _cells_panel(layout, v),
        _testing_panel(layout, v),
        _looks_panel(v),
        _multiplicity_panel(layout, v),
    ]
    return ui.sidebar(
        ui.accordion(*panels, id="form", open=["outcome", "cells", "testing"], multiple=True),
        title=_brand(),
        width=440,
        id="sidebar",
    )


def _figure_card(title: str, output: str, *, note: str = "") -> Tag:
    return ui.card(
        ui.card_header(
            title,
            ui.output_ui("figures_status", inline=True),
            class_="d-flex justify-content-between align-items-center",
        ),
        ui.div(ui.output_ui(output), class_="tp-figure"),
        ui.p(note, class_="tp-note") if note else None,
        full_screen=True,
    )


def _downloads(spec_name: str, out_name: str) -> Tag:
    command = f"trialplan protocol {spec_name} -o {out_name}"
    return ui.div(
        ui.p(
            "Every file is written from the plan on screen, as the command line writes it: "
            "download the spec and run ",
            ui.tags.code(command, class_="tp-command"),
            " to get the same protocol.",
        ),
        ui.h6("Spec"),
        ui.download_button(
            "download_spec", f"Spec (TOML): {spec_name}", class_="btn-outline-primary"
        ),
        ui.h6("Protocol", class_="mt-3"),
        ui.download_button("download_md", "Markdown", class_="btn-outline-primary"),
        ui.download_button("download_html", "HTML (one file)", class_="btn-outline-primary"),
        ui.download_button("download_docx", "Word (DOCX)", class_="btn-outline-primary"),
        ui.download_button(
            "download_folder", f"Folder (ZIP): {out_name}/", class_="btn-outline-primary"
        ),
        ui.p(
            "The HTML file has its figures inline (",
            ui.tags.code("--self-contained"),
            "); the folder holds everything the command writes: Markdown, HTML, Word, the spec, "
            "the sensitivity table and the figures.",
            class_="tp-note",
        ),
        ui.h6("Randomization and figures", class_="mt-3"),
        ui.download_button(
            "download_randomization", "Randomization list (CSV)", class_="btn-outline-primary"
        ),
        ui.download_button(
            "download_figures", "Figures (PNG and SVG, ZIP)", class_="btn-outline-primary"
        ),
        ui.p(
            "The list is ",
            ui.tags.code(f"trialplan randomize {spec_name} -o randomization.csv"),
            ".",
            class_="tp-note",
        ),
        class_="tp-downloads",
    )


def _simulation(v: Mapping[str, Any]) -> Tag:
    return ui.div(
        ui.p(
            "Simulate the trial at the plan's size and compare each simulated power with the "
            "exact one. The difference is in Monte Carlo standard errors of the exact power; "
            "within \u00b13 is agreement.",
            class_="tp-note",
        ),
        _row(
            _numeric("sim_n", "Simulated trials", v["sim_n"], min=100, step=1000),
            _numeric("sim_seed", "Seed", v["sim_seed"], min=0, step=1),
            ui.div(
                ui.input_task_button("run_sim", "Check by simulation", label_busy="Simulating..."),
                style="padding-top: 1.45rem",
            ),
            cols=3,
        ),
        ui.output_ui("simulation"),
    )


def page(layout: form.Layout, *, title: str, spec_name: str, out_name: str) -> Tag:
    """The whole page for a spec's layout."""
    v = form.initial_values(layout)
    header = ui.div(
        ui.h1(title),
        ui.div(ui.output_text("describe", inline=True), class_="tp-describe"),
        class_="tp-header mb-2",
    )
    boxes = ui.layout_columns(
        ui.value_box(
            "Participants randomized",
            ui.output_text("box_randomized"),
            ui.p(ui.output_text("box_randomized_note"), class_="tp-box-note"),
            theme="primary",
        ),
        ui.value_box(
            ui.output_text("box_power_title"),
            ui.output_text("box_power"),
            ui.p(ui.output_text("box_power_note"), class_="tp-box-note"),
            theme="primary",
        ),
        ui.value_box(
            "Design",
            ui.output_text("box_design"),
            ui.p(ui.output_text("box_design_note"), class_="tp-box-note"),
            theme="light",
        ),
        col_widths=(4, 4, 4),
        fill=False,
    )
    results = ui.layout_columns(
        ui.card(
            ui.card_header("Power of each hypothesis"),
            ui.output_ui("power_table"),
            ui.output_ui("notices"),
        ),
        _figure_card("Power by sample size", "curve_figure"),
        col_widths={"lg": (6, 6), "md": (12, 12)},
        fill=False,
    )
    tabs = ui.navset_card_underline(
        ui.nav_panel(
            "Sample size",
            ui.layout_columns(
                ui.output_ui("sizing"), ui.output_ui("allocation"), col_widths=(5, 7)
            ),
        ),
        ui.nav_panel(
            "Interim analyses",
            ui.layout_columns(
                ui.div(ui.output_ui("boundary_figure"), class_="tp-figure"),
                ui.output_ui("looks_table"),
                col_widths={"xl": (5, 7), "md": (12, 12)},
            ),
        ),
        ui.nav_panel(
            "Sensitivity",
            ui.layout_columns(
                ui.div(ui.output_ui("sensitivity_figure"), class_="tp-figure"),
                ui.output_ui("sensitivity_note"),
                col_widths=(7, 5),
            ),
        ),
        ui.nav_panel("Simulation check", _simulation(v)),
        ui.nav_panel("Downloads", _downloads(spec_name, out_name)),
        id="tabs",
    )
    return ui.page_sidebar(
        _sidebar(layout, v),
        ui.head_content(ui.tags.style(CSS), ui.tags.meta(name="robots", content="noindex")),
        header,
        ui.output_ui("status"),
        boxes,
        results,
        tabs,
        TagList(ui.tags.script(SCRIPT)),
        title=None,
        window_title=f"trialplan: {title}",
        lang="en",
        fillable=False,
    )
