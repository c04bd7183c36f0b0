"""Benchmark the design page: how long an edit takes to reach the screen; take its screenshots.

Serves the page (``tp.app``) on this computer, drives it in headless Chromium
(the system's, through Playwright; no browser download) and times, best of
``--repeat`` runs each:

* the analytic answer of an edit, in the page's own process: the form read
  into a spec, the plan resolved, its power table computed (what the page
  does before anything is shown; the page prints it under the power table);
* the same edit in the browser: from typing a new SD to the new number
  randomized and power on screen (typing, Shiny's input debounce, the
  server's work, the message and the redraw);
* the figures of an edit (the protocol's power curve, boundaries and heat
  map, drawn on a worker thread): from the edit to the new power curve;
* a check by simulation of 10,000 trials, from the click to the table.

The machine's load is printed before and after (other work on a shared
machine slows every figure).  ``--screenshots DIR`` also saves the PNG
screenshots of docs/app.md into DIR.

Usage::

    python benchmarks/bench_app.py
    python benchmarks/bench_app.py --screenshots docs/images --repeat 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import trialplan as tp
from trialplan.app import form
from trialplan.app.server import evaluate

CHROMIUM = os.environ.get("TRIALPLAN_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def analytic_seconds(repeat: int) -> list[float]:
    """Form -> spec -> plan -> power table for SD 8.5, 9.0, ... (a new plan each time)."""
    layout = form.layout_of(tp.scenarios.state_dependent_synergy())
    values = form.initial_values(layout)
    times = []
    for k in range(repeat):
        values["sd"] = 8.5 + 0.25 * k
        start = time.perf_counter()
        state = evaluate(values, layout)
        times.append(time.perf_counter() - start)
        assert state.plan is not None
    return times


def _wait_text(page, selector: str, text: str) -> None:
    page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s);"
        " return e && e.innerText.trim() === t; }",
        arg=[selector, text],
    )


def _open_panel(page, title: str) -> None:
    button = page.locator(f".accordion-button:has-text('{title}')")
    if "collapsed" in (button.get_attribute("class") or ""):
        button.click()


def browser_seconds(url: str, repeat: int, shots: Path | None) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from trialplan.report.formatting import pct

    spec = tp.scenarios.state_dependent_synergy()
    out: dict[str, list[float]] = {"edit": [], "figures": [], "simulation": []}
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="trialplan-bench-"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1600, "height": 1050},
            device_scale_factor=1,
        )
        page = context.new_page()
        page.set_default_timeout(180_000)
        page.goto(url)
        page.wait_for_selector("#curve_figure img")
        page.wait_for_selector("#figures-updating", state="detached")
        if shots:
            page.screenshot(path=str(shots / "app-page.png"))
        for k in range(repeat):
            sd = 8.5 + 0.25 * k
            design = spec.design.replace(outcome=spec.design.outcome.replace(sd=sd))
            plan = spec.replace(design=design).evaluate()
            before = page.get_attribute("#curve_figure img", "src")
            start = time.perf_counter()
            page.fill("#sd", f"{sd:g}")
            _wait_text(page, "#box_randomized", f"{plan.allocation.n_randomized:,}")
            _wait_text(page, "#box_power", pct(plan.primary_power["rTMS:MBI"]))
            out["edit"].append(time.perf_counter() - start)
            page.wait_for_function(
                "b => { const i = document.querySelector('#curve_figure img');"
                " return i && i.src !== b; }",
                arg=before,
            )
            out["figures"].append(time.perf_counter() - start)
        page.fill("#sd", "-1")
        page.wait_for_selector(".tp-field-error")
        if shots:
            page.locator(".bslib-sidebar-layout").screenshot(path=str(shots / "app-error.png"))
        page.fill("#sd", "8")
        page.wait_for_selector(".tp-field-error", state="detached")
        _open_panel(page, "Interim analyses")
        page.select_option("#looks", "3")
        page.click("a[data-value='Interim analyses']")
        page.wait_for_selector("#looks-table")
        page.wait_for_selector("#figures-updating", state="detached")
        page.wait_for_selector("#boundary_figure img")
        if shots:
            page.locator("#tabs").scroll_into_view_if_needed()
            page.locator(".navset-card-underline, .card:has(#tabs)").first.screenshot(
                path=str(shots / "app-interim.png")
            )
        page.select_option("#looks", "1")
        page.click("a[data-value='Simulation check']")
        for _ in range(repeat):
            start = time.perf_counter()
            page.click("#run_sim")
            page.wait_for_selector("#simulation-verdict")
            out["simulation"].append(time.perf_counter() - start)
        if shots:
            page.locator(".card:has(#simulation)").first.screenshot(
                path=str(shots / "app-simulation.png")
            )
            page.check("input[name=values_from][value=model]")
            page.select_option("#syn_model", "state_dependent")
            page.wait_for_selector("#implied-cells")
            page.locator(".accordion-item:has(#values_from)").screenshot(
                path=str(shots / "app-synergy.png")
            )
        context.close()
    return out


def _summary(name: str, times: list[float]) -> str:
    best = min(times)
    return (
        f"{name:<58} best {1000 * best:8.0f} ms   median "
        f"{1000 * statistics.median(times):8.0f} ms   ({len(times)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--screenshots", type=Path, help="save the docs' screenshots here")
    args = parser.parse_args()
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    print(f"trialplan {tp.__version__}; {os.cpu_count()} CPUs; {_load()}")
    analytic = analytic_seconds(max(args.repeat, 3))
    print(_summary("analytic answer (form -> spec -> plan -> power table)", analytic))
    server = tp.app(port=0)
    try:
        timings = browser_seconds(server.url, args.repeat, args.screenshots)
    finally:
        server.stop()
    print(_summary("edit on screen (type SD -> new N and power shown)", timings["edit"]))
    print(_summary("figures on screen (type SD -> new power curve shown)", timings["figures"]))
    print(_summary("check by simulation, 10,000 trials (click -> table)", timings["simulation"]))
    print(_load())


if __name__ == "__main__":
    main()
