"""The design page in a real browser: Chromium driven by Playwright, no internet.

The browser is the system's Chromium (Debian's ``chromium`` package, at
/usr/bin/chromium, or ``$TRIALPLAN_CHROMIUM``), started headless with a fresh
profile; Playwright's own browser download is never used.  Every request the
page makes to a host other than the page's own is blocked and recorded, and
each test asserts that none was attempted (all assets are served locally).

Expected values come from the library (``Spec.evaluate()``, the spec's
``SpecError``), never from the page; the downloaded protocol is compared with
what ``trialplan protocol`` writes for the downloaded spec.

Without Chromium or Playwright these tests are skipped, each by name, saying
what is missing; .ci/run installs Chromium from the distribution's packages
where it can.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

import trialplan as tp
from trialplan.report.formatting import pct
from trialplan.spec import SpecError, spec_from_toml, spec_to_toml

CHROMIUM = os.environ.get("TRIALPLAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing() -> str:
    for module, extra in (("playwright", "test"), ("shiny", "app")):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install '.[{extra}]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (
            f"no Chromium at {CHROMIUM}: install the distribution's package "
            "(apt-get install chromium) or set TRIALPLAN_CHROMIUM"
        )
    return ""


pytestmark = pytest.mark.skipif(bool(_missing()), reason=_missing() or "runs")

STARTER = tp.scenarios.state_dependent_synergy
TIMEOUT = 90_000  # ms: a loaded 2-core machine draws the figures in seconds


def _with_sd(spec, sd: float):
    return spec.replace(design=spec.design.replace(outcome=spec.design.outcome.replace(sd=sd)))


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def server():
    handle = tp.app(port=0)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="trialplan-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
            viewport={"width": 1500, "height": 1000},
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser, server):
    """A fresh page (a new session) on the server; external requests blocked and recorded."""
    own = server.url.rstrip("/")
    attempted: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith(own) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            attempted.append(r.request.url)
            r.abort()

    tab = browser.new_page()
    tab.route("**/*", route)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(TIMEOUT)
    tab.goto(server.url)
    tab.wait_for_selector("#power-table")
    yield tab
    tab.close()
    assert attempted == [], f"the page tried to load external resources: {attempted}"
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _wait_text(tab, selector: str, text: str) -> None:
    tab.wait_for_function(
        "([sel, text]) => { const el = document.querySelector(sel);"
        " return el !== null && el.innerText.trim() === text; }",
        arg=[selector, text],
    )


def _shows(tab, plan) -> None:
    """The page shows this plan's primary power and number randomized."""
    _wait_text(tab, "#box_randomized", f"{plan.allocation.n_randomized:,}")
    _wait_text(tab, "#box_power", pct(plan.primary_power[plan.primary[0]]))


def _set(tab, selector: str, value: str) -> None:
    tab.fill(selector, value)
    tab.press(selector, "Tab")


# --------------------------------------------------------------------- tests
def test_the_page_opens_on_the_starter_spec_with_the_librarys_numbers(page) -> None:
    plan = STARTER().evaluate()
    _shows(page, plan)
    assert page.inner_text("h1") == STARTER().title
    row = page.locator('#power-table tr[data-hypothesis="rTMS:MBI"]')
    assert pct(plan.primary_power["rTMS:MBI"]) in row.inner_text()
    page.wait_for_selector("#curve_figure img")  # the protocol's power curve, drawn
    assert page.locator("#curve_figure img").get_attribute("src").startswith("data:image/png")


def test_changing_sd_moves_power_to_the_librarys_value(page) -> None:
    starter = STARTER()
    # the size solved for 90% power grows with the SD
    _set(page, "#sd", "9")
    _shows(page, _with_sd(starter, 9.0).evaluate())
    # at a fixed size, the power itself moves
    page.check("input[name=size][value=fixed]")
    fixed = starter.replace(size="fixed")
    _shows(page, _with_sd(fixed, 9.0).evaluate())
    _set(page, "#sd", "7")
    at_seven = _with_sd(fixed, 7.0).evaluate()
    _shows(page, at_seven)
    assert (
        at_seven.primary_power["rTMS:MBI"]
        != _with_sd(fixed, 9.0).evaluate().primary_power["rTMS:MBI"]
    )


def test_an_invalid_sd_shows_the_librarys_message_and_keeps_the_last_result(page) -> None:
    text = spec_to_toml(STARTER()).replace("sd = 8.0", "sd = -1.0")
    with pytest.raises(SpecError) as caught:  # what `trialplan check` says of that file
        spec_from_toml(text).evaluate()
    assert caught.value.path == "design.outcome.sd"
    _set(page, "#sd", "-1")
    message = page.locator('.tp-field-error[data-field="sd"]')
    message.wait_for()
    assert message.inner_text() == caught.value.reason
    assert "is-invalid" in page.get_attribute("#sd", "class")
    assert caught.value.reason in page.inner_text("#status-banner")
    assert "Traceback" not in page.content()
    _shows(page, STARTER().evaluate())  # the last valid result stays on screen
    _set(page, "#sd", "8")
    message.wait_for(state="detached")
    page.wait_for_selector("#status-banner", state="detached")


def test_switching_the_outcome_type(page) -> None:
    starter = STARTER()
    page.check("input[name=outcome_type][value=binary]")
    rates = tp.scenarios.response_factorial().design.outcome.rates
    binary = starter.replace(
        design=starter.design.replace(outcome=tp.Binary(rates=rates)),
        sensitivity=dataclasses.replace(starter.sensitivity, sd=()),
    )
    _shows(page, binary.evaluate())
    assert page.is_visible("#rate_0")
    assert not page.is_visible("#mean_0")
    assert page.input_value("#rate_0") == "0.104"
    page.check("input[name=outcome_type][value=time_to_event]")
    medians = {
        ("sham", "control"): 12.0,
        ("active", "control"): 16.0,
        ("sham", "MBI"): 16.0,
        ("active", "MBI"): 24.0,
    }
    survival = binary.replace(
        design=starter.design.replace(
            outcome=tp.TimeToEvent(medians=medians, accrual=18.0, follow_up=12.0)
        )
    )
    _shows(page, survival.evaluate())
    page.check("input[name=outcome_type][value=continuous]")
    _shows(page, starter.evaluate())  # what was typed comes back


def test_the_simulation_check_runs_with_a_progress_bar_and_agrees(page) -> None:
    page.click("a[data-value='Simulation check']")
    _set(page, "#sim_n", "50000")
    page.evaluate(
        """() => { window.sawProgress = false;
        new MutationObserver(() => {
          if (document.querySelector('#simulation-progress .progress-bar')) {
            window.sawProgress = true; }
        }).observe(document.body, {subtree: true, childList: true}); }"""
    )
    page.click("#run_sim")
    page.wait_for_selector("#simulation-verdict")
    assert page.evaluate("window.sawProgress"), "no progress bar was shown"
    reference = STARTER().replace(method="simulation", n_sims=50_000, seed=2026).evaluate()
    table = reference.power_table.set_index("hypothesis")
    for name in ("rTMS:MBI", "rTMS", "combination"):
        cells = page.locator(f'#simulation-table tr[data-hypothesis="{name}"] td')
        assert cells.nth(1).inner_text() == pct(table.loc[name, "power"])
        assert cells.nth(2).inner_text() == pct(table.loc[name, "simulated"])
    interaction = page.locator('#simulation-table tr[data-hypothesis="rTMS:MBI"]').inner_text()
    assert "agrees" in interaction


def _download(tab, button: str, folder: Path) -> Path:
    with tab.expect_download() as info:
        tab.click(button)
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def _docx_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _trialplan(args: list[str], cwd: Path) -> None:
    command = shutil.which("trialplan", path=str(Path(sys.executable).parent))
    argv = [command] if command else [sys.executable, "-m", "trialplan.cli"]
    done = subprocess.run([*argv, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def test_the_downloaded_protocol_equals_trialplan_protocol(page, tmp_path) -> None:
    _set(page, "#sd", "9")
    _shows(page, _with_sd(STARTER(), 9.0).evaluate())
    page.click("a[data-value='Downloads']")
    got = tmp_path / "page"
    got.mkdir()
    spec = _download(page, "#download_spec", got)
    assert spec.name == "trial.toml"
    assert spec_from_toml(spec.read_text()) == _with_sd(STARTER(), 9.0)
    files = {
        name: _download(page, f"#download_{name}", got)
        for name in ("md", "html", "docx", "randomization", "folder")
    }
    # the commands, on the downloaded spec
    cli = tmp_path / "cli"
    cli.mkdir()
    shutil.copy(spec, cli / "trial.toml")
    _trialplan(["protocol", "trial.toml", "-o", "protocol"], cli)
    _trialplan(["randomize", "trial.toml", "-o", "randomization.csv"], cli)
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(spec, one / "trial.toml")
    _trialplan(
        ["protocol", "trial.toml", "-o", "protocol", "--format", "html", "--self-contained"], one
    )
    written = cli / "protocol"
    assert files["md"].read_bytes() == (written / "protocol.md").read_bytes()
    assert files["html"].read_bytes() == (one / "protocol" / "protocol.html").read_bytes()
    assert _docx_parts(files["docx"].read_bytes()) == _docx_parts(
        (written / "protocol.docx").read_bytes()
    )
    assert files["randomization"].read_bytes() == (cli / "randomization.csv").read_bytes()
    with zipfile.ZipFile(files["folder"]) as archive:
        names = sorted(archive.namelist())
        expected = sorted(
            f"protocol/{p.relative_to(written).as_posix()}"
            for p in written.rglob("*")
            if p.is_file()
        )
        assert names == expected
        for name in names:
            ours, theirs = archive.read(name), (cli / name).read_bytes()
            if name.endswith(".docx"):
                assert _docx_parts(ours) == _docx_parts(theirs), name
            else:
                assert ours == theirs, name
