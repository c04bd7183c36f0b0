"""The ``trialplan`` command: one resolved plan behind power, sample size, protocol and list.

Usage::

    trialplan init -o FILE [--scenario NAME]     # a starting spec from a preset
    trialplan check SPEC                         # validate; print the canonical spec
    trialplan power SPEC                         # power of each hypothesis at the plan
    trialplan sample-size SPEC [--write]         # the size; --write records it in SPEC
    trialplan protocol SPEC -o DIR               # Markdown, HTML, Word protocol + figures
    trialplan randomize SPEC -o FILE             # the permuted-block randomization list
    trialplan serve [SPEC] [--port N]            # the design page in a web browser

Every command reads the spec, resolves it into the same plan
(``Spec.evaluate()``) and prints or writes from it, so the protocol and the
randomization list cannot disagree.  No command replaces an existing file
unless given ``--force``, and the spec being read is never replaced (only
``sample-size --write`` edits it, keeping its comments).

Exit codes: 0 success; 1 the spec or a value in it is invalid (one-line
message naming the file, line and TOML key); 2 usage errors (unknown options,
missing files, files that would be replaced).  User mistakes never print a
traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from trialplan._version import __version__

# Deferred imports: each subcommand imports the spec, plan and report layers (and
# through them numpy, scipy and pandas) inside the function that runs it, so that
# `trialplan --help` and `--version` start without them (benchmarks/bench_startup.py).

__all__ = ["main"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    """A mistake in how the command was called (exit code 2)."""


# ------------------------------------------------------------------ parser
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trialplan",
        description="Exact power, sample size, protocol text and randomization lists for "
        "factorial, sequential and SMART trials, from a TOML design spec "
        "(schema: python -c 'import trialplan.spec; help(trialplan.spec)').",
        epilog="Exit codes: 0 ok, 1 invalid spec or values, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"trialplan {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _power_parser(commands)
    _sample_size_parser(commands)
    _protocol_parser(commands)
    _randomize_parser(commands)
    _serve_parser(commands)
    sub = commands.add_parser(
        "check",
        help="validate a spec and print it in canonical form",
        description="Read a spec and run every check the other commands run (the plan is "
        "resolved: sizes, randomization settings, analysis); print the canonical TOML, its "
        "SHA-256 and the plan in one line.",
    )
    _spec_argument(sub)
    sub = commands.add_parser(
        "init",
        help="write a starting spec from a scenario preset",
        description="Write a spec for one of the literature-based presets in trialplan.scenarios.",
    )
    sub.add_argument("-o", "--output", required=True, metavar="FILE", help="spec file to write")
    sub.add_argument(
        "--scenario",
        default="state_dependent_synergy",
        metavar="NAME",
        help="preset name (default: state_dependent_synergy); see --list",
    )
    sub.add_argument("--list", action="store_true", help="list the presets and exit")
    _force_argument(sub)
    return parser


def _spec_argument(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("spec", metavar="SPEC", help="the TOML design spec")


def _force_argument(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--force", action="store_true", help="replace existing files (never the spec being read)"
    )


def _size_argument(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--size",
        choices=("solve", "fixed"),
        help="override analysis.size: 'solve' sizes for the target power, 'fixed' uses the "
        "spec's sizes",
    )


def _format_argument(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="output format (default: a readable table)",
    )


def _power_parser(commands: Any) -> None:
    sub = commands.add_parser(
        "power",
        help="power of each hypothesis at the plan's size",
        description="Power of each hypothesis at the plan's size (solved for the target power, "
        "or the spec's own with analysis.size = 'fixed'), under the plan's analysis "
        "(group-sequential test, multiplicity procedure).",
    )
    _spec_argument(sub)
    sub.add_argument(
        "--hypotheses",
        nargs="+",
        metavar="H",
        help="hypotheses to report (default: the spec's [analysis] hypotheses)",
    )
    _size_argument(sub)
    sub.add_argument(
        "--method",
        choices=("analytic", "simulation"),
        help="override analysis.method (simulation adds simulated powers)",
    )
    sub.add_argument(
        "--n-sims",
        type=_positive_int,
        metavar="N",
        help="simulated trials (with --method simulation)",
    )
    sub.add_argument("--seed", type=_nonnegative_int, help="simulation seed")
    _format_argument(sub)


def _sample_size_parser(commands: Any) -> None:
    sub = commands.add_parser(
        "sample-size",
        help="the smallest size reaching the target power; --write records it",
        description="Smallest sample size (allocation ratios kept) at which the primary "
        "hypotheses reach the target power under the spec's analysis, then the numbers "
        "randomized in whole blocks and expected to be analysed.  --write stores the size in "
        "the spec (keeping its comments) and sets analysis.size = 'fixed', so that the next "
        "protocol and randomize use it.",
    )
    _spec_argument(sub)
    sub.add_argument(
        "--power",
        type=_probability,
        metavar="P",
        help="target power (default: the spec's analysis.power)",
    )
    sub.add_argument(
        "--hypothesis",
        nargs="+",
        metavar="H",
        help="hypotheses that must all reach the target (default: the spec's analysis.primary)",
    )
    sub.add_argument(
        "--write",
        action="store_true",
        help="write the size (and --hypothesis / --power) into SPEC, keeping its comments",
    )
    _format_argument(sub)


def _protocol_parser(commands: Any) -> None:
    sub = commands.add_parser(
        "protocol",
        help="write protocol text, tables and figures",
        description="Write the sample-size section (SPIRIT item 14), CONSORT factorial items, "
        "interim analyses, the analysis plan, the randomization paragraph, a sensitivity table, "
        "figures, the spec and a reproducibility block into a folder.",
    )
    _spec_argument(sub)
    sub.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    sub.add_argument(
        "--format",
        nargs="+",
        choices=("md", "html", "docx"),
        dest="formats",
        help="documents to write (default: md, html and docx)",
    )
    _size_argument(sub)
    sub.add_argument("--no-figures", action="store_true", help="skip the figures")
    sub.add_argument(
        "--self-contained",
        action="store_true",
        help="inline the figures into the HTML page (one file to share)",
    )
    _force_argument(sub)


def _randomize_parser(commands: Any) -> None:
    sub = commands.add_parser(
        "randomize",
        help="write the plan's permuted-block randomization list",
        description="Write the stratified permuted-block randomization list (CSV) of the plan: "
        "every stratum's list holds the plan's number randomized, in its allocation ratios.",
    )
    _spec_argument(sub)
    sub.add_argument("-o", "--output", required=True, metavar="FILE", help="CSV file to write")
    sub.add_argument(
        "--n",
        type=_positive_int,
        metavar="N",
        help="participants per stratum list (at least the plan's number; default: the plan's)",
    )
    sub.add_argument("--seed", type=_nonnegative_int, help="override randomization.seed")
    sub.add_argument(
        "--block-sizes",
        type=_positive_int,
        nargs="+",
        metavar="B",
        help="override randomization.block_sizes",
    )
    sub.add_argument(
        "--stage",
        type=int,
        choices=(1, 2),
        help="SMART only: list the stage-1 (default) or stage-2 randomization",
    )
    _size_argument(sub)
    _force_argument(sub)


def _serve_parser(commands: Any) -> None:
    sub = commands.add_parser(
        "serve",
        help="the design page: edit the spec in a web browser, see power move",
        description="Serve the design page (Shiny for Python; pip install 'trialplan[app]') on "
        "this computer and print its address: a form for the spec, the power table, sample "
        "size, power curve, boundaries and sensitivity heat map as the form changes, a check "
        "by simulation, and downloads that equal what protocol and randomize write. Stop it "
        "with Ctrl+C.",
    )
    sub.add_argument(
        "spec",
        metavar="SPEC",
        nargs="?",
        help="the TOML design spec to open (default: the rTMS x MBI starter spec of init)",
    )
    sub.add_argument(
        "--port",
        type=_nonnegative_int,
        default=8000,
        metavar="N",
        help="port to listen on (default 8000; 0 picks a free one)",
    )
    sub.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only)",
    )
    sub.add_argument("--open", action="store_true", help="open the page in a web browser")


def _option_type(
    convert: Callable[[str], Any], accept: Callable[[Any], bool], allowed: str
) -> Callable[[str], Any]:
    """An argparse ``type=``: ``convert`` the text; reject it unless ``accept`` says yes."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {allowed}; got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {allowed}; got {text!r}")
        return value

    return parse


_positive_int = _option_type(int, lambda v: v >= 1, "a whole number >= 1")
_nonnegative_int = _option_type(int, lambda v: v >= 0, "a whole number >= 0")
_probability = _option_type(float, lambda v: 0 < v < 1, "a number in (0, 1)")


# ------------------------------------------------------------------ reading
class _Source:
    """The spec file: its path, text and Spec; plans resolved from it name its lines."""

    def __init__(self, path: str) -> None:
        from trialplan.spec import spec_from_toml
        from trialplan.spec.text import decode

        self.path = Path(path)
        if not self.path.is_file():
            raise _UsageError(f"spec file not found: {path}")
        self.text = decode(self.path.read_bytes(), self.path.name)
        self.spec = spec_from_toml(self.text, source=self.path.name)

    def with_options(self, option: str, **changes: Any) -> Any:
        """The spec with command-line overrides (an error names the option)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self.spec
        try:
            return self.spec.replace(**changes)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{option}: {_reason(exc)}") from None

    def evaluate(self, spec: Any) -> Any:
        """``spec.evaluate()``, an error located at its key's line in this file."""
        from trialplan.spec import SpecError, line_of

        try:
            return spec.evaluate()
        except SpecError as error:
            raise error.at(
                line=error.line or line_of(self.text, error.path), source=self.path.name
            ) from None


def _reason(exc: Exception) -> str:
    return getattr(exc, "reason", None) or str(exc)


def _emit(frame: Any, text: str, fmt: str) -> None:
    if fmt == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif fmt == "json":
        records = json.loads(frame.to_json(orient="records"))
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
    else:
        sys.stdout.write(text + "\n")


def _power_text(plan: Any, frame: Any) -> str:
    shown = frame[["hypothesis", "role", "effect", "se", "power", "analysis"]].copy()
    shown["effect"] = shown["effect"].map(lambda v: f"{v:.4g}")
    shown["se"] = shown["se"].map(lambda v: f"{v:.4g}")
    shown["power"] = [
        "no effect" if abs(e) < 1e-12 else f"{100 * p:.1f}%"
        for e, p in zip(frame["effect"], frame["power"], strict=True)
    ]
    if "simulated" in frame.columns:
        shown["simulated (mcse)"] = [
            f"{100 * s:.1f}% ({100 * m:.1f}%)"
            for s, m in zip(frame["simulated"], frame["mcse"], strict=True)
        ]
    how = (
        f"size solved for {100 * plan.target:.0f}% power of {', '.join(plan.primary)}"
        if plan.size == "solve"
        else 'size as written in the spec (analysis.size = "fixed")'
    )
    text = f"{plan.describe()}\n{how}\n{shown.to_string(index=False)}"
    return text + _adaptive_text(plan)


def _adaptive_text(plan: Any) -> str:
    """An adaptive plan's simulated operating characteristics, two lines ("" without one)."""
    if plan.adaptive is None:
        return ""
    oc = plan.operating_characteristics().set_index("scenario")
    if plan.selects_arms:
        h1, h0 = oc.loc["planned"], oc.loc["null"]
        return (
            f"\narm selection ({int(h1['n_sims'])} simulated trials, seed {plan.seed}): power to "
            f"reject at least one comparison {100 * h1['reject_any']:.1f}% (mcse "
            f"{100 * h1['reject_any_mcse']:.1f}%), familywise error with no effect "
            f"{100 * h0['reject_any']:.1f}% (mcse {100 * h0['reject_any_mcse']:.1f}%)"
            f"\n  expected analysed {h1['expected_n']:.1f} (no effect: {h0['expected_n']:.1f}); "
            f"largest {h1['max_n']:.0f} analysed; stage-1 list {plan.list_allocation.n_randomized} "
            "randomized, then the stage-2 list of the arms selected"
        )
    h1, h0 = oc.loc["planned"], oc.loc["null"]
    return (
        f"\nadaptive design ({int(h1['n_sims'])} simulated trials, seed {plan.seed}): power "
        f"{100 * h1['reject']:.1f}% (mcse {100 * h1['reject_mcse']:.1f}%), type I error "
        f"{100 * h0['reject']:.1f}% (mcse {100 * h0['reject_mcse']:.1f}%)"
        f"\n  expected analysed {h1['expected_n']:.1f} (no effect: {h0['expected_n']:.1f}); "
        f"largest {h1['max_n']:.0f} analysed, {plan.maximum.n_randomized} randomized "
        "(the randomization list's length)"
    )


# ------------------------------------------------------------------ commands
def _cmd_power(args: argparse.Namespace) -> int:
    source = _Source(args.spec)
    simulating = (args.method or source.spec.method) == "simulation"
    if not simulating and (args.n_sims is not None or args.seed is not None):
        raise _UsageError("--n-sims and --seed apply to --method simulation only")
    spec = source.with_options("--hypotheses", hypotheses=args.hypotheses)
    spec = _override(spec, "--size", size=args.size)
    spec = _override(spec, "--method", method=args.method, n_sims=args.n_sims, seed=args.seed)
    plan = source.evaluate(spec)
    frame = plan.power_table
    if args.hypotheses:
        frame = frame[frame["hypothesis"].isin(args.hypotheses)]
    _emit(frame, _power_text(plan, frame), args.format)
    return EXIT_OK


def _override(spec: Any, option: str, **changes: Any) -> Any:
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return spec
    try:
        return spec.replace(**changes)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{option}: {_reason(exc)}") from None


def _cmd_sample_size(args: argparse.Namespace) -> int:
    # deferred: pandas is heavy and only this needs it
    import pandas as pd

    source = _Source(args.spec)
    if args.write:
        from trialplan.spec.edit import require_tomlkit

        require_tomlkit()  # before any work: say what is missing first
    spec = source.with_options("--hypothesis", primary=args.hypothesis)
    spec = _override(spec, "--power", power=args.power, size="solve")
    plan = source.evaluate(spec)
    alloc = plan.allocation
    sizing = plan.sizing
    frame = pd.DataFrame(
        {
            "hypothesis": list(plan.primary),
            "target": plan.target,
            "n_total": sizing.n_total,
            "n_required": alloc.n_required,
            "n_randomized": alloc.n_randomized,
            "n_analysed": alloc.n_analysed,
            "power": [plan.primary_power[h] for h in plan.primary],
            "method": sizing.method,
        }
    )
    text = _sample_size_text(plan)
    _emit(frame, text, args.format)
    if args.write:
        from trialplan.spec import write_size
        from trialplan.spec.edit import size_key

        write_size(source.path, sizing.design, primary=plan.primary, power=plan.target)
        value = getattr(sizing.design, size_key(sizing.design))
        shown = value if isinstance(value, int) else dict(value)
        print(
            f'wrote {size_key(sizing.design)} = {shown} and analysis.size = "fixed" to '
            f"{source.path}; protocol and randomize now use this size",
            file=sys.stderr if args.format != "table" else sys.stdout,
        )
    return EXIT_OK


def _sample_size_text(plan: Any) -> str:
    alloc = plan.allocation
    lines = [
        f"Sample size for {100 * plan.target:.0f}% power of {', '.join(plan.primary)}",
        f"  analysed (required): {alloc.n_required} "
        + ("(" + ", ".join(map(str, alloc.required)) + " per cell)"),
        f"  randomized:          {alloc.n_randomized} in blocks of "
        f"{' or '.join(map(str, alloc.block_sizes))} ("
        + ", ".join(map(str, alloc.randomized))
        + " per cell)",
        f"  expected analysed:   {alloc.n_analysed} ("
        + ", ".join(map(str, alloc.analysed))
        + " per cell, after dropout)",
    ]
    for name, value in plan.primary_power.items():
        lines.append(f"  power of {name}: {100 * value:.1f}% ({plan.analysis_of(name)} test)")
    if plan.sequential is not None:
        looks = plan.looks()
        lines.append(
            "  interim analyses at "
            + ", ".join(str(n) for n in looks["n_analysed"].iloc[:-1])
            + " analysed"
        )
    lines.append(f"  method: {plan.sizing.method}")
    return "\n".join(lines) + _adaptive_text(plan)


def _cmd_protocol(args: argparse.Namespace) -> int:
    from trialplan.report import make_protocol

    source = _Source(args.spec)
    plan = source.evaluate(_override(source.spec, "--size", size=args.size))
    out = Path(args.output)
    protocol = make_protocol(
        plan, figures=not args.no_figures, spec_name=source.path.name, out_name=str(out)
    )
    written = protocol.write(
        out,
        formats=args.formats,
        spec_name=source.path.name,
        embed_figures=args.self_contained,
        overwrite=args.force,
        keep=[source.path],
    )
    alloc = plan.allocation
    print(
        f"{alloc.n_randomized} randomized, {alloc.n_analysed} analysed"
        + (
            f" (at most {plan.maximum.n_randomized} randomized with re-estimation)"
            if plan.maximum is not None
            else ""
        )
        + "; power "
        + ", ".join(f"{100 * p:.1f}% for {h}" for h, p in plan.primary_power.items())
    )
    for kind, path in written.items():
        print(f"wrote {kind:<11} {path}")
    if "toml" not in written:
        print(f"kept        {source.path} (the spec being read; it is the folder's spec)")
    return EXIT_OK


def _cmd_randomize(args: argparse.Namespace) -> int:
    source = _Source(args.spec)
    out = Path(args.output)
    _check_output(out, source.path, force=args.force)
    settings = source.spec.randomization
    changes = {
        "n": args.n,
        "seed": args.seed,
        "block_sizes": tuple(args.block_sizes) if args.block_sizes else None,
    }
    if any(v is not None for v in changes.values()):
        from trialplan.spec import RandomizationPlan

        base = settings or RandomizationPlan()
        try:
            settings = base.replace(**{k: v for k, v in changes.items() if v is not None})
        except (ValueError, TypeError) as exc:
            raise ValueError(f"--n/--seed/--block-sizes: {exc}") from None
    spec = _override(source.spec, "--n/--seed/--block-sizes", randomization=settings)
    spec = _override(spec, "--size", size=args.size)
    plan = source.evaluate(spec)
    if args.stage is not None and not plan.is_regime_design:
        raise _UsageError("--stage applies to SMART designs only")
    schedule = plan.schedule(stage=args.stage)
    extra = _stage2_paths(plan, out, force=args.force)
    path = schedule.to_csv(out)
    for (_, later), target in extra:
        later.to_csv(target)
    alloc = plan.list_allocation  # an adaptive plan's list holds its largest trial
    strata = max(1, len(schedule) // max(alloc.n_randomized, 1)) if args.stage != 2 else 0
    counts = ", ".join(
        f"{label} {n}" for label, n in zip(plan.cell_labels(), alloc.randomized, strict=True)
    )
    print(
        f"wrote {len(schedule)} assignments to {path} (seed {plan.randomization.seed}): "
        + (
            f"{strata} stratum list{'s' if strata > 1 else ''} of {alloc.n_randomized} ({counts})"
            if strata
            else "stage-2 lists"
        )
        + (
            f"; enough for the largest trial the re-estimation allows (planned: "
            f"{plan.allocation.n_randomized} randomized)"
            if plan.maximum is not None
            else ""
        )
    )
    for (name, later), target in extra:
        print(f"wrote {len(later)} assignments to {target} ({name}, used after the interim)")
    return EXIT_OK


def _stage2_paths(plan: Any, out: Path, *, force: bool) -> list[tuple[tuple[str, Any], Path]]:
    """An arm-selection plan's stage-2 lists and their files (``<stem>-stage2-<k>.csv``)."""
    if not plan.selects_arms:
        return []
    lists = [(k, v) for k, v in plan.selection_schedules().items() if k != "stage 1"]
    targets = [
        out.with_name(f"{out.stem}-stage2-{i}{out.suffix}") for i in range(1, len(lists) + 1)
    ]
    for target in targets:
        if target.exists() and not force:
            raise _UsageError(f"{target} exists; pass --force to replace it")
    return list(zip(lists, targets, strict=True))


def _cmd_serve(args: argparse.Namespace) -> int:
    from trialplan.app.run import serve

    spec = None
    if args.spec is not None:
        source = _Source(args.spec)  # a missing or invalid spec fails here, like elsewhere
        source.evaluate(source.spec)
        spec = args.spec

    def announce(line: str) -> None:
        print(line, flush=True)

    serve(spec, host=args.host, port=args.port, open_browser=args.open, announce=announce)
    return EXIT_OK


def _check_output(out: Path, spec_path: Path, *, force: bool) -> None:
    if out.exists() and out.resolve() == spec_path.resolve():
        raise _UsageError(f"{out} is the spec being read; it is never replaced")
    if out.exists() and not force:
        raise _UsageError(f"{out} exists; pass --force to replace it")


def _cmd_check(args: argparse.Namespace) -> int:
    from trialplan.spec import spec_hash, spec_to_toml

    source = _Source(args.spec)
    plan = source.evaluate(source.spec)
    plan.schedule()  # the list's own checks, on the plan's numbers
    sys.stdout.write(spec_to_toml(source.spec))
    print(f"# plan: {plan.describe()}")
    print(f"# sha256: {spec_hash(source.spec)}")
    return EXIT_OK


def _cmd_init(args: argparse.Namespace) -> int:
    from trialplan import scenarios
    from trialplan.spec import spec_to_toml

    if args.list:
        for name in scenarios.names():
            print(f"{name:<24} {scenarios.describe(name)}")
        return EXIT_OK
    out = Path(args.output)
    if out.exists() and not args.force:
        raise _UsageError(f"{out} exists; pass --force to replace it")
    spec = scenarios.spec(args.scenario)
    out.write_text(spec_to_toml(spec), encoding="utf-8")
    print(f"wrote {out} (scenario {args.scenario})")
    return EXIT_OK


_COMMANDS = {
    "power": _cmd_power,
    "sample-size": _cmd_sample_size,
    "protocol": _cmd_protocol,
    "randomize": _cmd_randomize,
    "check": _cmd_check,
    "init": _cmd_init,
    "serve": _cmd_serve,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``trialplan`` command; return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 for an invalid spec or value, 2 for a usage error.

    Examples
    --------
    A missing spec file is a usage error (the message goes to stderr):

    >>> main(["power", "no-such-file.toml"])
    2
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or usage errors (2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    from trialplan.spec import SpecError

    try:
        return _COMMANDS[args.command](args)
    except (_UsageError, FileExistsError) as exc:
        _fail(str(exc))
        return EXIT_USAGE
    except SpecError as exc:
        _fail(exc.located())
        return EXIT_INVALID
    except (ValueError, TypeError, KeyError) as exc:
        # Library checks name the parameter, its value and what is allowed.
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        _fail(str(message))
        return EXIT_INVALID
    except ImportError as exc:
        _fail(str(exc))
        return EXIT_INVALID
    except BrokenPipeError:  # e.g. `trialplan power SPEC | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return EXIT_INVALID


def _fail(message: str) -> None:
    print(f"trialplan: error: {' '.join(message.split())}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    sys.exit(main())
