"""The design page without a browser: its form, its errors, its simulation check, its files.

The form is checked against the library's own paths: an unchanged form must be
the spec it opened on (same TOML bytes); an invalid value must carry the
message ``trialplan check`` prints for the same value written in the spec file;
a synergy model must give the cells ``tp.synergy`` gives; the simulation check
must print the simulated powers of ``trialplan power --method simulation``;
every download must equal what ``trialplan protocol`` / ``randomize`` write for
the downloaded spec.  tests/test_app_browser.py drives the same page in Chromium.
"""

from __future__ import annotations

import builtins
import dataclasses
import io
import re
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

import trialplan as tp
from trialplan.cli import main
from trialplan.spec import SpecError, spec_from_toml, spec_to_toml

pytest.importorskip("shiny", reason="the design page needs the app extra: pip install '.[app]'")

from trialplan.app import form  # noqa: E402
from trialplan.app.downloads import Folder, spec_bytes  # noqa: E402
from trialplan.app.simulation import Progress, agreement, simulate_check  # noqa: E402

STARTER = tp.scenarios.state_dependent_synergy


@pytest.fixture(scope="module")
def layout() -> form.Layout:
    return form.layout_of(STARTER())


def _values(layout: form.Layout, **changes) -> dict:
    values = form.initial_values(layout)
    values.update(changes)
    return values


# ------------------------------------------------------------------- the form
@pytest.mark.parametrize("name", tp.scenarios.names())
def test_an_unchanged_form_is_the_spec_it_opened_on(name: str) -> None:
    spec = tp.scenarios.spec(name)
    layout = form.layout_of(spec)
    built = form.build(form.initial_values(layout), layout)
    assert built.errors == {}
    assert spec_to_toml(built.spec) == spec_to_toml(spec)


def _cli_reason(toml_text: str) -> str:
    """What `trialplan check` says about a spec file (the SpecError's reason)."""
    try:
        spec_from_toml(toml_text).evaluate()
    except SpecError as error:
        return error.reason
    raise AssertionError("the spec file was accepted")


def _edited_toml(old: str, new: str) -> str:
    text = spec_to_toml(STARTER())
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("field", "value", "old", "new"),
    [
        pytest.param("sd", -1.0, "sd = 8.0", "sd = -1.0", id="sd"),
        pytest.param("sd", None, "sd = 8.0", "", id="sd-empty"),
        pytest.param(
            "baseline_corr", 1.0, "baseline_corr = 0.4", "baseline_corr = 1.0", id="baseline_corr"
        ),
        pytest.param("alpha", 1.5, "alpha = 0.05", "alpha = 1.5", id="alpha"),
        pytest.param("power", 1.0, "power = 0.9", "power = 1.0", id="power"),
        pytest.param("dropout_3", 1.0, '"active+MBI" = 0.3', '"active+MBI" = 1.0', id="dropout"),
        pytest.param(
            "block_sizes", "6", "block_sizes = [4, 8]", "block_sizes = [6]", id="block_sizes"
        ),
    ],
)
def test_an_invalid_value_gets_the_message_trialplan_check_prints(
    layout, field, value, old, new
) -> None:
    built = form.build(_values(layout, **{field: value}), layout)
    assert built.spec is None
    if value is None:  # an empty field: the spec without the key (sd is required)
        assert list(built.errors) == [field]
        assert "sd" in built.errors[field]
        assert "None" in built.errors[field]
        return
    assert built.errors == {field: _cli_reason(_edited_toml(old, new))}


def test_futility_bounds_on_a_two_sided_design_get_the_librarys_message(layout) -> None:
    built = form.build(_values(layout, looks="2", futility="pocock"), layout)
    with pytest.raises(ValueError, match="one-sided") as caught:
        tp.GroupSequential(
            info_fractions=(0.5, 1.0), alpha=0.05, sided=2, futility=tp.spending.pocock()
        )
    assert list(built.errors) == ["futility"]
    assert built.errors["futility"] in str(caught.value)


def test_a_factor_name_the_library_refuses_is_marked_at_that_factor(layout) -> None:
    built = form.build(_values(layout, factor_1_name="M:BI"), layout)
    with pytest.raises(ValueError, match="factor name") as caught:
        tp.Factorial(
            factors={"rTMS": ("sham", "active"), "M:BI": ("control", "MBI")},
            outcome=STARTER().design.outcome,
            n_per_cell=10,
        )
    assert list(built.errors) == ["factor_1_name"]
    assert built.errors["factor_1_name"] in str(caught.value)


def test_renaming_a_factor_renames_its_hypotheses_and_keeps_the_choices(layout) -> None:
    built = form.build(
        _values(layout, factor_1_name="MBCT", factor_1_label_1="MBCT", factor_1_label_0="no MBCT"),
        layout,
    )
    spec = built.spec
    assert spec.primary == ("rTMS:MBCT",)
    assert tuple(spec.design.factors) == ("rTMS", "MBCT")
    # the same trial: renaming changes no number
    assert (
        spec.evaluate().primary_power["rTMS:MBCT"] == STARTER().evaluate().primary_power["rTMS:MBI"]
    )


def test_switching_the_outcome_gives_the_presets_planning_values(layout) -> None:
    built = form.build(_values(layout, outcome_type="binary"), layout)
    starter = STARTER()
    rates = tp.scenarios.response_factorial().design.outcome.rates
    expected = starter.replace(
        design=starter.design.replace(outcome=tp.Binary(rates=rates)),
        sensitivity=dataclasses.replace(starter.sensitivity, sd=()),
    )
    assert spec_to_toml(built.spec) == spec_to_toml(expected)
    back = form.build(_values(layout, outcome_type="continuous"), layout)
    assert spec_to_toml(back.spec) == spec_to_toml(starter)


def test_time_to_event_uses_median_months(layout) -> None:
    built = form.build(_values(layout, outcome_type="time_to_event", median_3=30.0), layout)
    outcome = built.spec.design.outcome
    assert isinstance(outcome, tp.TimeToEvent)
    assert outcome.medians[("active", "MBI")] == 30.0
    assert outcome.accrual == 18.0
    assert outcome.follow_up == 12.0


def test_fixed_size_and_unequal_allocation(layout) -> None:
    built = form.build(_values(layout, size="fixed", n=40, ratio_3=2, block_sizes="5, 10"), layout)
    design = built.spec.design
    assert built.spec.size == "fixed"
    assert dict(design.n_per_cell)[("active", "MBI")] == 80
    assert dict(design.n_per_cell)[("sham", "control")] == 40
    assert built.spec.randomization.block_sizes == (5, 10)


def _sequential_specs() -> list:
    starter = STARTER()
    one_sided = starter.design.replace(alpha=0.025, sided=1)
    return [
        pytest.param(
            starter.replace(
                sequential=tp.GroupSequential(
                    info_fractions=(1 / 3, 2 / 3, 1.0), alpha=0.05, sided=2
                )
            ),
            id="three-equal-looks",
        ),
        pytest.param(
            starter.replace(
                design=one_sided,
                sequential=tp.GroupSequential(
                    info_fractions=(0.4, 1.0),
                    alpha=0.025,
                    efficacy=tp.spending.hwang_shih_decani(-2.0),
                    futility=tp.spending.power_family(2.0),
                    binding=True,
                ),
            ),
            id="hsd-and-futility",
        ),
        pytest.param(
            starter.replace(
                design=one_sided,
                sequential=tp.GroupSequential(
                    info_fractions=(0.5, 1.0), alpha=0.025, efficacy=tp.boundaries.pocock()
                ),
            ),
            id="classical-pocock",
        ),
        pytest.param(starter.replace(multiplicity=tp.Holm(["rTMS:MBI", "rTMS", "MBI"])), id="holm"),
    ]


def test_dunnett_for_parallel_arms() -> None:
    spec = tp.scenarios.timing_parallel()
    layout = form.layout_of(spec)
    built = form.build({**form.initial_values(layout), "multiplicity": "dunnett"}, layout)
    assert spec_to_toml(built.spec) == spec_to_toml(spec.replace(multiplicity=tp.Dunnett()))
    again = form.layout_of(built.spec)
    assert spec_to_toml(form.build(form.initial_values(again), again).spec) == spec_to_toml(
        built.spec
    )


@pytest.mark.parametrize("spec", _sequential_specs())
def test_interim_looks_and_multiplicity_survive_an_unchanged_form(spec) -> None:
    layout = form.layout_of(spec)
    built = form.build(form.initial_values(layout), layout)
    assert built.errors == {}
    assert spec_to_toml(built.spec) == spec_to_toml(spec)


def test_interim_looks_from_the_form(layout) -> None:
    built = form.build(
        _values(layout, looks="3", efficacy="power_family", efficacy_param=3.0), layout
    )
    gsd = built.spec.sequential
    assert gsd.info_fractions == pytest.approx((1 / 3, 2 / 3, 1.0), abs=0)
    assert gsd.efficacy == tp.spending.power_family(3.0)
    assert (gsd.alpha, gsd.sided) == (0.05, 2)
    looks = built.spec.evaluate().looks()
    assert len(looks) == 3


# ---------------------------------------------------------------- synergy
def _model_cells(layout, outcome, **params) -> dict:
    prefix = f"syn_{form.VALUE_PREFIX[outcome]}_"
    values = _values(layout, values_from="model", outcome_type=outcome)
    values.update({prefix + k: v for k, v in params.items() if k not in ("syn_model", "syn_scale")})
    values.update({k: v for k, v in params.items() if k in ("syn_model", "syn_scale")})
    cells = form.implied_cells(layout, values, outcome)
    return dict(zip(layout.cells, cells, strict=True))


def test_the_state_dependent_model_gives_the_starter_means(layout) -> None:
    cells = _model_cells(
        layout,
        "continuous",
        syn_model="state_dependent",
        control=-5.8,
        effect_0=-4.3,
        effect_1=-3.9,
        slope=-2.0,
        shift=1.5,
    )
    assert cells == dict(STARTER().design.outcome.means)
    built = form.build(_values(layout, values_from="model", syn_model="state_dependent"), layout)
    assert spec_to_toml(built.spec) == spec_to_toml(STARTER())


def test_switching_to_a_synergy_model_keeps_the_cells(layout) -> None:
    # the form's first model is the stated interaction of the cells typed
    built = form.build(_values(layout, values_from="model"), layout)
    assert spec_to_toml(built.spec) == spec_to_toml(STARTER())


@pytest.mark.parametrize(
    ("model", "scale", "expected_model"),
    [
        pytest.param("additive", "identity", "additive", id="additive"),
        pytest.param("multiplicative", "identity", "multiplicative", id="multiplicative"),
        pytest.param("interaction", "logit", tp.synergy.Interaction(0.5), id="interaction-logit"),
    ],
)
def test_synergy_models_give_the_cells_of_tp_synergy(layout, model, scale, expected_model):
    cells = _model_cells(
        layout,
        "binary",
        syn_model=model,
        syn_scale=scale,
        control=0.1,
        effect_0=0.2,
        effect_1=0.1,
        ic=0.5,
    )
    expected = tp.synergy.cell_means(
        control=0.1,
        effects={"rTMS": 0.2, "MBI": 0.1},
        model=expected_model,
        scale=scale if model == "interaction" else None,
        levels={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
    )
    assert cells == pytest.approx(expected, abs=1e-10)
    if model == "multiplicative":
        ic = tp.synergy.interaction_contrasts(cells)
        assert ic["log"] == pytest.approx(0.0, abs=1e-9)


def test_a_synergy_model_error_is_at_the_models_field(layout) -> None:
    built = form.build(
        _values(layout, values_from="model", syn_model="multiplicative"), layout
    )  # HAM-D changes are negative: no ratio scale
    with pytest.raises(ValueError, match="log") as caught:
        tp.synergy.cell_means(
            control=-5.8, effects={"rTMS": -4.3, "MBI": -3.9}, model="multiplicative"
        )
    assert built.errors == {"syn_mean_control": str(caught.value)}


def test_invert_cells_recovers_the_model(layout) -> None:
    values = form.invert_cells(layout, [0.0, -2.0, -3.0, -8.0])  # design order
    assert values == {
        "control": 0.0,
        "effect_0": -3.0,
        "effect_1": -2.0,
        "ic": -3.0,
        "shift": 1.5,
        "slope": -2.0,
    }


# ------------------------------------------------------------- simulation
def test_the_simulation_check_prints_the_plans_simulated_powers() -> None:
    spec = STARTER()
    progress = Progress()
    check = simulate_check(spec, n_sims=20_000, seed=11, progress=progress).set_index("hypothesis")
    reference = spec.replace(method="simulation", n_sims=20_000, seed=11).evaluate().power_table
    reference = reference.set_index("hypothesis")
    assert check["simulated"].to_dict() == reference["simulated"].to_dict()
    assert check["analytic"].to_dict() == reference["power"].to_dict()
    assert progress.total >= 1
    assert progress.done == progress.total
    # exact and simulated agree within 4 Monte Carlo standard errors (20,000 trials)
    row = check.loc["rTMS:MBI"]
    assert abs(row["simulated"] - row["analytic"]) < 4 * (0.93 * 0.07 / 20_000) ** 0.5
    assert bool(row["agrees"])


def test_agreement_is_the_difference_in_mcse_of_the_exact_power() -> None:
    assert agreement(0.5, 0.51, 10_000) == pytest.approx(0.01 / 0.005)
    assert agreement(0.8, 0.8, 100) == 0.0
    assert agreement(1.0, 0.99, 100) == -float("inf")


# -------------------------------------------------------------- downloads
def _docx_parts(data: bytes) -> dict[str, bytes]:
    """A DOCX (a ZIP file) as its entries' contents (entry times differ by when written)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture(scope="module")
def changed_spec() -> tp.Spec:
    values = _values(form.layout_of(STARTER()), sd=9.0)
    return form.build(values, form.layout_of(STARTER())).spec


def _cli(argv: list[str], cwd: Path, monkeypatch) -> None:
    monkeypatch.chdir(cwd)
    assert main(argv) == 0


def test_downloads_equal_what_the_commands_write(changed_spec, tmp_path, monkeypatch) -> None:
    plan = changed_spec.evaluate()
    folder = Folder(tmp_path / "page", spec_name="trial.toml", out_name="protocol")
    cli = tmp_path / "cli"
    cli.mkdir()
    (cli / "trial.toml").write_bytes(spec_bytes(changed_spec))
    _cli(["protocol", "trial.toml", "-o", "protocol"], cli, monkeypatch)
    written = cli / "protocol"
    assert folder.read(plan, "protocol.md") == (written / "protocol.md").read_bytes()
    assert _docx_parts(folder.read(plan, "protocol.docx")) == _docx_parts(
        (written / "protocol.docx").read_bytes()
    )
    with zipfile.ZipFile(io.BytesIO(folder.folder_zip(plan))) as archive:
        names = sorted(archive.namelist())
        expected = sorted(
            f"protocol/{p.relative_to(written).as_posix()}"
            for p in written.rglob("*")
            if p.is_file()
        )
        assert names == expected
        for name in names:
            ours = archive.read(name)
            theirs = (cli / name).read_bytes()
            if name.endswith(".docx"):
                assert _docx_parts(ours) == _docx_parts(theirs), name
            else:
                assert ours == theirs, name
    one_file = tmp_path / "one"
    one_file.mkdir()
    (one_file / "trial.toml").write_bytes(spec_bytes(changed_spec))
    _cli(
        ["protocol", "trial.toml", "-o", "protocol", "--format", "html", "--self-contained"],
        one_file,
        monkeypatch,
    )
    assert folder.html_one_file(plan) == (one_file / "protocol" / "protocol.html").read_bytes()
    _cli(["randomize", "trial.toml", "-o", "list.csv"], cli, monkeypatch)
    assert folder.randomization(plan) == (cli / "list.csv").read_bytes()
    with zipfile.ZipFile(io.BytesIO(folder.figures_zip(plan))) as archive:
        for name in archive.namelist():
            assert archive.read(name) == (written / name).read_bytes(), name


# ----------------------------------------------------------------- serving
def test_tp_app_serves_the_page_on_localhost_with_local_assets_only() -> None:
    server = tp.app(port=0)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url, timeout=30) as response:
            page = response.read().decode("utf-8")
        assert STARTER().title.split(":")[0] in page
        # every script and style sheet is served by the page itself
        sources = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert sources
        assert not [s for s in sources if re.match(r"(https?:)?//", s)]
        assert "<script" in page
        assert "shiny" in page
    finally:
        server.stop()
    assert not server.running


def test_tp_app_opens_a_design_a_plan_or_a_file(tmp_path) -> None:
    from trialplan.app import resolve_spec

    spec = STARTER()
    assert resolve_spec(spec.design)[0].design == spec.design
    assert resolve_spec(spec.evaluate())[0] == spec
    path = tmp_path / "mine.toml"
    path.write_text(spec_to_toml(spec))
    assert resolve_spec(path) == (spec_from_toml(path.read_text()), "mine.toml")
    with pytest.raises(TypeError, match="spec_or_design must be"):
        resolve_spec(42)


@pytest.mark.parametrize("name", ["timing_parallel", "smart"])
def test_other_designs_get_a_page(name: str) -> None:
    from trialplan.app import create_app

    if name == "smart":
        design = tp.SMART(
            stage1=("rTMS", "rTMS+MBI"),
            stage2=("continue", "augment"),
            response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
            responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
            nonresponder_mean={
                ("rTMS", "continue"): -4.0,
                ("rTMS", "augment"): -6.0,
                ("rTMS+MBI", "continue"): -6.0,
                ("rTMS+MBI", "augment"): -9.0,
            },
            sd=8.0,
            n_total=200,
        )
        from trialplan.spec import Spec

        spec = Spec(design=design, power=0.8)
        assert not form.layout_of(spec).editable
    else:
        spec = tp.scenarios.spec(name)
        assert form.layout_of(spec).editable
    assert create_app(spec) is not None


def test_trialplan_serve_prints_the_address_and_serves(tmp_path) -> None:
    spec = tmp_path / "trial.toml"
    assert main(["init", "-o", str(spec)]) == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "trialplan.cli", "serve", str(spec), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, line + proc.stderr.read()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(match.group(1), timeout=30) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_without_shiny_names_the_extra(monkeypatch, capsys) -> None:
    real_import = builtins.__import__

    def no_shiny(name, *args, **kwargs):
        if name == "shiny" or name.startswith("shiny."):
            raise ImportError("No module named 'shiny'", name="shiny")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_shiny)
    assert main(["serve", "--port", "0"]) == 1
    assert "pip install 'trialplan[app]'" in capsys.readouterr().err


def test_serve_refuses_a_bad_spec_like_every_command(tmp_path, capsys) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text(_edited_toml("sd = 8.0", "sd = -1.0"))
    assert main(["serve", str(spec), "--port", "0"]) == 1
    assert "design.outcome.sd" in capsys.readouterr().err
