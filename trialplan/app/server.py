"""The page's reactive logic: form -> spec -> plan -> tables, figures, downloads.

One rule runs through it: every output is drawn from the last *valid* plan.
When a value is refused, the library's message goes next to its field (and into
the banner) and the results stay as they were.  The analytic plan is computed
at once; the figures (whose power curve evaluates the plan's analysis at
dozens of sizes) and the simulation check run on worker threads, so the power
table never waits for them.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from htmltools import TagList, tags
from shiny import Inputs, Outputs, Session, reactive, render, ui

from trialplan.app import form, views
from trialplan.app.downloads import Folder, spec_bytes
from trialplan.app.page import field_ids, field_label
from trialplan.app.simulation import Progress, simulate_check
from trialplan.report.formatting import pct, share
from trialplan.spec import SpecError

__all__ = ["State", "evaluate", "make_server"]

#: The download renderer (``render.download_button`` since Shiny 1.8; ``render.download``
#: before, with the same arguments).
_download = getattr(render, "download_button", None) or render.download


@dataclass
class State:
    """What the form describes now: the spec and its plan, or the errors by field."""

    spec: Any = None
    plan: Any = None
    errors: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    cells: list[float] = field(default_factory=list)
    seconds: float = 0.0
    needed: Any = None  # the plan solved for the target when the size is fixed


def evaluate(values: dict[str, Any], layout: form.Layout) -> State:
    """Build the spec of the form and resolve its plan (power table included).

    Warnings the library gives (e.g. an interaction whose sign differs
    between scales) become notices; errors are the library's messages by
    field.
    """
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = form.build(values, layout)
        state = State(spec=built.spec, errors=dict(built.errors), cells=list(built.cells))
        if built.spec is not None:
            try:
                plan = built.spec.evaluate()
                plan.power_table  # noqa: B018  (computed now: its errors belong here)
                if plan.size == "fixed":
                    state.needed = _solved(built.spec)
                state.plan = plan
            except SpecError as error:
                labels = form.layout_names(values, layout)
                key = form.field_of(
                    error, layout, _labels(values, layout), _outcome(values, layout), labels
                )
                state.errors[key] = error.reason
            except (ValueError, TypeError) as error:
                state.errors["form"] = str(error)
    if state.errors and values.get("values_from") == "model" and layout.is_2x2:
        state.errors = _to_model_fields(state.errors, layout, _outcome(values, layout))
    seen: list[str] = []
    for item in caught:
        text = " ".join(str(item.message).split())
        if text not in seen:
            seen.append(text)
    state.notices = seen
    state.seconds = time.perf_counter() - start
    return state


def _solved(spec: Any) -> Any:
    try:
        return spec.replace(size="solve").evaluate()
    except (ValueError, TypeError):
        return None


def _outcome(values: dict[str, Any], layout: form.Layout) -> str:
    return values.get("outcome_type") or layout.outcome


def _labels(values: dict[str, Any], layout: form.Layout) -> list[str]:
    if layout.kind != "factorial":
        return list(layout.base_labels)
    names = form.layout_names(values, layout)
    return ["+".join(names["levels"][i][p] for i, p in enumerate(pos)) for pos in layout.positions]


def _to_model_fields(errors: dict[str, str], layout: form.Layout, outcome: str) -> dict[str, str]:
    """Errors of cells the synergy model filled, moved to the model's fields."""
    prefix = form.VALUE_PREFIX[outcome]
    source = {(0, 0): "control", (1, 0): "effect_0", (0, 1): "effect_1", (1, 1): "ic"}
    out = {}
    for key, message in errors.items():
        head, _, index = key.rpartition("_")
        if head == prefix and index.isdigit():
            name = source[layout.positions[int(index)]]
            key = f"syn_{prefix}_{name}"
        out[key] = message
    return out


def _image(path: Path, alt: str) -> Any:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return tags.img(src=f"data:image/png;base64,{data}", alt=alt, class_="img-fluid")


@dataclass
class Drawn:
    """The figures of one plan (PNG files of its protocol folder), or why they failed."""

    key: Any
    paths: dict[str, Path] = field(default_factory=dict)
    error: str = ""


@dataclass
class Simulated:
    """A finished simulation check."""

    spec: Any
    n_sims: int
    seed: int
    frame: Any = None
    error: str = ""
    seconds: float = 0.0


def make_server(layout: form.Layout, *, spec_name: str, out_name: str) -> Any:
    """The Shiny server function of a page opened on ``layout.spec``."""
    first = evaluate(form.initial_values(layout), layout) if layout.editable else None
    if first is None or first.plan is None:
        start = time.perf_counter()
        plan = layout.spec.evaluate()
        plan.power_table  # noqa: B018  (timed with the plan, as for an edit)
        first = State(spec=layout.spec, plan=plan, seconds=time.perf_counter() - start)
    ids = field_ids(layout) if layout.editable else []

    def server(input: Inputs, output: Outputs, session: Session) -> None:  # noqa: A002
        root = Path(tempfile.mkdtemp(prefix="trialplan-app-"))
        folder = Folder(root, spec_name=spec_name, out_name=out_name)
        draw_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trialplan-figures")
        sim_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trialplan-check")

        def ended() -> None:
            draw_pool.shutdown(wait=False, cancel_futures=True)
            sim_pool.shutdown(wait=False, cancel_futures=True)
            shutil.rmtree(root, ignore_errors=True)

        session.on_ended(ended)
        good: reactive.Value[State] = reactive.value(first)
        progress: dict[str, Progress] = {}

        @reactive.calc
        def values() -> dict[str, Any]:
            return {name: input[name]() for name in ids}

        @reactive.calc
        def current() -> State:
            if not layout.editable:
                return first
            return evaluate(values(), layout)

        @reactive.effect
        async def _publish() -> None:
            state = current()
            if state.plan is not None:
                good.set(state)
            await session.send_custom_message("tp-field-errors", state.errors)

        # ------------------------------------------------------------ form upkeep
        shown_choices: dict[str, Any] = {}

        @reactive.effect
        def _hypothesis_choices() -> None:
            if not layout.editable:
                return
            vals = values()
            names = form.hypothesis_names(vals, layout)
            state = good()
            design = state.plan.design if state.plan is not None else None
            labels = state.plan.labels if state.plan is not None else None
            choices = {}
            for i, name in enumerate(names):
                try:
                    text = labels.hypothesis(design, name) if labels is not None else name
                except (ValueError, TypeError, KeyError):
                    text = name
                choices[str(i)] = f"{text} ({name})" if text != name else name
            if shown_choices.get("choices") == choices:
                return
            shown_choices["choices"] = choices
            with reactive.isolate():
                ui.update_selectize("primary", choices=choices, selected=list(input.primary()))
                if "family" in ids:
                    ui.update_selectize("family", choices=choices, selected=list(input.family()))

        @reactive.effect
        @reactive.event(input.looks, ignore_init=True)
        def _even_looks() -> None:
            # a new number of analyses starts equally spaced (an empty field; exact fractions)
            ui.update_text("info_fractions", value="")

        if layout.is_2x2:

            @reactive.effect
            @reactive.event(input.values_from, ignore_init=True)
            def _model_from_cells() -> None:
                if input.values_from() != "model":
                    return
                with reactive.isolate():
                    vals = values()
                for prefix in form.VALUE_PREFIX.values():
                    cells = [vals.get(f"{prefix}_{i}") for i in range(4)]
                    for name, value in form.invert_cells(layout, cells).items():
                        ui.update_numeric(f"syn_{prefix}_{name}", value=value)

        # ------------------------------------------------------------ cell names
        def cell_name(i: int) -> str:
            state = good()
            if layout.kind != "factorial" or not layout.editable:
                plan = state.plan
                return plan.cell_labels()[i] if plan is not None else layout.base_labels[i]
            return cell_label_text(i)

        def cell_name_of(i: int) -> Any:
            def text() -> str:
                return cell_name(i)

            return text

        for index in range(len(layout.cells)):
            output(id=f"cell_name_{index}")(render.text(cell_name_of(index)))

        @render.ui
        def interaction() -> Any:
            state = current()
            outcome = _outcome(values(), layout)
            cells = state.cells
            if len(cells) != 4 or any(not isinstance(c, int | float) for c in cells):
                return None
            from trialplan import synergy

            by_pos = dict(zip(layout.positions, cells, strict=True))
            keyed = {(p[0], p[1]): by_pos[p] for p in ((0, 0), (0, 1), (1, 0), (1, 1))}
            of = {"continuous": "means", "binary": "rates", "time_to_event": "hazards"}[outcome]
            if outcome == "time_to_event":
                import math

                keyed = {
                    k: (math.log(2) / v if v and v > 0 else float("nan")) for k, v in keyed.items()
                }
            try:
                contrasts = synergy.interaction_contrasts(keyed)
            except (ValueError, TypeError):
                return None
            return views.interaction_table(contrasts, of=of)

        @render.ui
        def implied_cells() -> Any:
            state = current()
            if values().get("values_from") != "model" or not state.cells:
                return None
            return views.implied_cells_table(
                [cell_label_text(i) for i in range(len(layout.cells))], state.cells
            )

        def cell_label_text(i: int) -> str:
            vals = values()
            names = form.layout_names(vals, layout)
            return " + ".join(
                str(vals.get(f"factor_{f}_label_{p}") or "").strip() or names["levels"][f][p]
                for f, p in enumerate(layout.positions[i])
            )

        # ------------------------------------------------------------ banner
        @render.ui
        def status() -> Any:
            state = current()
            if not state.errors:
                return None
            items = [
                tags.li(tags.strong(field_label(k, layout) + ": "), message)
                for k, message in state.errors.items()
            ]
            return ui.div(
                tags.strong("Not updated: "),
                "a value is not valid (marked in the form). The results below are for the last "
                "valid design.",
                tags.ul(*items, class_="mb-0"),
                class_="alert alert-warning py-2",
                role="alert",
                id="status-banner",
            )

        # ------------------------------------------------------------ summary
        @render.text
        def describe() -> str:
            return good().plan.describe()

        @render.text
        def box_randomized() -> str:
            return f"{good().plan.allocation.n_randomized:,}"

        @render.text
        def box_randomized_note() -> str:
            alloc = good().plan.allocation
            return f"{alloc.n_analysed:,} expected analysed after dropout"

        def _first_primary() -> tuple[str, float]:
            plan = good().plan
            name = plan.primary[0]
            return name, plan.primary_power[name]

        @render.text
        def box_power_title() -> str:
            plan = good().plan
            return "Power: " + plan.label(plan.primary[0])

        @render.text
        def box_power() -> str:
            return pct(_first_primary()[1])

        @render.text
        def box_power_note() -> str:
            plan = good().plan
            if plan.size == "solve":
                return f"target {share(plan.target)}; {plan.analysis_of(plan.primary[0])} test"
            return f"at the stated size; {plan.analysis_of(plan.primary[0])} test"

        @render.text
        def box_design() -> str:
            design = good().plan.design
            kind = design.design_kind
            if kind == "parallel":
                return f"{len(design.arms)} parallel arms"
            if kind == "factorial":
                return "Factorial " + "x".join("2" for _ in design.factors)
            return design.describe().split(" | ")[0].split(" (")[0]

        @render.text
        def box_design_note() -> str:
            plan = good().plan
            sided = "two-sided" if plan.design.sided == 2 else "one-sided"
            looks = (
                f", {len(plan.sequential.info_fractions)} analyses"
                if plan.sequential is not None
                else ""
            )
            return f"alpha {plan.design.alpha:g} {sided}{looks}"

        @render.ui
        def power_table() -> Any:
            return views.power_table(good().plan)

        @render.ui
        def notices() -> Any:
            state = good()
            parts = [tags.p(text, class_="tp-note mb-1") for text in state.notices]
            parts.append(
                tags.p(
                    f"Computed in {1000 * state.seconds:.0f} ms (spec, plan and power table).",
                    class_="tp-note mb-0",
                    id="compute-time",
                )
            )
            return TagList(*parts)

        @render.ui
        def sizing() -> Any:
            state = good()
            return views.sizing_summary(state.plan, needed=state.needed)

        @render.ui
        def allocation() -> Any:
            return views.allocation_table(good().plan)

        @render.ui
        def looks_table() -> Any:
            return views.looks_table(good().plan)

        # ------------------------------------------------------------ figures
        def draw(state: State) -> Drawn:
            key = id(state)
            try:
                return Drawn(key=key, paths=folder.figures(state.plan))
            except Exception as error:  # noqa: BLE001 - shown on the page, never a traceback
                return Drawn(key=key, error=f"{type(error).__name__}: {error}")

        @reactive.extended_task
        async def figures_task(state: State) -> Drawn:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(draw_pool, draw, state)

        drawn: reactive.Value[Drawn | None] = reactive.value(None)

        @reactive.effect
        def _draw() -> None:
            state = good()
            figures_task.cancel()
            figures_task.invoke(state)

        @reactive.effect
        def _drawn() -> None:
            if figures_task.status() == "success":
                drawn.set(figures_task.result())

        @render.ui
        def figures_status() -> Any:
            if figures_task.status() != "running":
                return None
            return ui.span(
                "updating", class_="badge text-bg-light tp-updating", id="figures-updating"
            )

        def figure(name: str, alt: str, missing: str) -> Any:
            latest = drawn()
            if latest is None:
                return tags.p("Drawing...", class_="text-muted")
            if latest.error:
                return ui.div(
                    f"The figure could not be drawn: {latest.error}", class_="alert alert-danger"
                )
            if name not in latest.paths:
                return tags.p(missing, class_="text-muted")
            return _image(latest.paths[name], alt)

        @render.ui
        def curve_figure() -> Any:
            return figure("power_curve", "Power against participants randomized", "")

        @render.ui
        def boundary_figure() -> Any:
            return figure(
                "boundaries",
                "Group-sequential boundaries",
                "No interim analyses: the boundary plot appears with two or more analyses.",
            )

        @render.ui
        def sensitivity_figure() -> Any:
            return figure(
                "sensitivity",
                "Power over the sensitivity grid",
                "The spec's sensitivity grid has one scenario: nothing to map.",
            )

        @render.ui
        def sensitivity_note() -> Any:
            plan = good().plan
            grid = plan.sensitivity_grid
            parts = [
                tags.p(
                    "Power of the primary hypotheses at the plan's number randomized, when the "
                    "planning values are off: the effect scaled, the SD and the dropout changed "
                    "(the spec's [sensitivity] grid; the planned values are included).",
                    class_="tp-note",
                )
            ]
            rows = [
                ("Effect scale", getattr(grid, "effect_scale", ())),
                ("SD", getattr(grid, "sd", ())),
                ("Dropout", getattr(grid, "dropout", ())),
            ]
            items = [
                tags.li(f"{name}: " + ", ".join(f"{x:g}" for x in vals))
                for name, vals in rows
                if vals
            ]
            if items:
                parts.append(tags.ul(*items, class_="tp-note"))
            return TagList(*parts)

        # ------------------------------------------------------------ simulation
        def run_check(spec: Any, n_sims: int, seed: int, tracker: Progress) -> Simulated:
            start = time.perf_counter()
            try:
                frame = simulate_check(spec, n_sims=n_sims, seed=seed, progress=tracker)
            except (ValueError, TypeError) as error:
                return Simulated(spec=spec, n_sims=n_sims, seed=seed, error=str(error))
            return Simulated(
                spec=spec,
                n_sims=n_sims,
                seed=seed,
                frame=frame,
                seconds=time.perf_counter() - start,
            )

        @ui.bind_task_button(button_id="run_sim")
        @reactive.extended_task
        async def check_task(spec: Any, n_sims: int, seed: int, tracker: Progress) -> Simulated:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(sim_pool, run_check, spec, n_sims, seed, tracker)

        sim_errors: reactive.Value[dict[str, str]] = reactive.value({})

        @reactive.effect
        @reactive.event(input.run_sim)
        async def _start_check() -> None:
            spec = good().spec
            n_sims, seed = input.sim_n(), input.sim_seed()
            try:  # the library's checks of n_sims and seed, before anything runs
                spec.replace(n_sims=n_sims, seed=seed)
            except (ValueError, TypeError) as error:
                field_id = "sim_seed" if "seed" in str(error).split(" ")[0] else "sim_n"
                errors = dict(current().errors)
                errors[field_id] = getattr(error, "reason", None) or str(error)
                sim_errors.set({field_id: errors[field_id]})
                await session.send_custom_message("tp-field-errors", errors)
                return
            sim_errors.set({})
            await session.send_custom_message("tp-field-errors", current().errors)
            tracker = Progress()
            progress["current"] = tracker
            check_task.invoke(spec, int(n_sims), int(seed), tracker)

        @render.ui
        def simulation() -> Any:
            if sim_errors():
                return tags.p(
                    "Not run: " + "; ".join(sim_errors().values()), class_="text-danger small"
                )
            status = check_task.status()
            if status == "initial":
                return tags.p(
                    "The exact answers above need no simulation; this checks them.",
                    class_="text-muted small",
                )
            if status == "running":
                reactive.invalidate_later(0.25)
                tracker = progress.get("current")
                share_done = tracker.fraction if tracker else 0.0
                return ui.div(
                    ui.div(
                        ui.div(
                            f"{100 * share_done:.0f}%",
                            class_="progress-bar progress-bar-striped progress-bar-animated",
                            role="progressbar",
                            style=f"width: {max(share_done, 0.04) * 100:.0f}%",
                            aria_valuenow=f"{100 * share_done:.0f}",
                            aria_valuemin="0",
                            aria_valuemax="100",
                        ),
                        class_="progress tp-progress",
                    ),
                    tags.p("Simulating...", class_="tp-note mt-1"),
                    id="simulation-progress",
                )
            if status != "success":
                return tags.p("The simulation was cancelled.", class_="text-muted")
            result = check_task.result()
            if result.error:
                return ui.div(result.error, class_="alert alert-danger", id="simulation-error")
            frame = result.frame
            stale = good().spec != result.spec
            worst = float(frame["difference_mcse"].abs().max()) if len(frame) else 0.0
            verdict = (
                "Every simulated power agrees with the exact one."
                if bool(frame["agrees"].all())
                else "Some simulated powers differ from the exact ones by 3 MCSE or more."
            )
            command = (
                f"trialplan power {spec_name} --method simulation --n-sims {result.n_sims} "
                f"--seed {result.seed}"
            )
            return TagList(
                ui.div(
                    "The form has changed since: this check is for an earlier design."
                    if stale
                    else None,
                    class_="alert alert-info py-1" if stale else "",
                ),
                tags.p(
                    tags.strong(verdict),
                    f" {result.n_sims:,} simulated trials (seed {result.seed}) in "
                    f"{result.seconds:.1f} s; the largest difference is {worst:.2f} MCSE.",
                    id="simulation-verdict",
                ),
                views.simulation_table(frame),
                tags.p("The same simulation: ", tags.code(command), class_="tp-note"),
            )

        # ------------------------------------------------------------ downloads
        @_download(filename=spec_name, media_type="application/toml")
        def download_spec() -> Any:
            yield spec_bytes(good().spec)

        @_download(filename="protocol.md", media_type="text/markdown")
        async def download_md() -> Any:
            plan = good().plan  # written on a worker thread: the page stays live
            yield await asyncio.to_thread(folder.read, plan, "protocol.md")

        @_download(filename="protocol.html", media_type="text/html")
        async def download_html() -> Any:
            plan = good().plan  # written on a worker thread: the page stays live
            yield await asyncio.to_thread(folder.html_one_file, plan)

        @_download(
            filename="protocol.docx",
            media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
        async def download_docx() -> Any:
            plan = good().plan  # written on a worker thread: the page stays live
            yield await asyncio.to_thread(folder.read, plan, "protocol.docx")

        @_download(filename=f"{out_name}.zip", media_type="application/zip")
        async def download_folder() -> Any:
            plan = good().plan  # written on a worker thread: the page stays live
            yield await asyncio.to_thread(folder.folder_zip, plan)

        @_download(filename="randomization.csv", media_type="text/csv")
        async def download_randomization() -> Any:
            plan = good().plan  # written on a worker thread: the page stays live
            yield await asyncio.to_thread(folder.randomization, plan)

        @_download(filename="figures.zip", media_type="application/zip")
        async def download_figures() -> Any:
            plan = good().plan  # written on a worker thread: the page stays live
            yield await asyncio.to_thread(folder.figures_zip, plan)

    return server
