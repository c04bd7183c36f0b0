"""The ``trialplan`` command: power, sample size, protocol text and schedules from a spec.

Usage::

    trialplan power SPEC                 # power of every hypothesis at the spec's size
    trialplan sample-size SPEC           # smallest size reaching the target power
    trialplan protocol SPEC -o DIR       # Markdown + HTML (+ DOCX) protocol, figures
    trialplan randomize SPEC -o FILE     # permuted-block randomization list (CSV)
    trialplan check SPEC                 # validate a spec and print it in canonical form
    trialplan init -o FILE [--scenario NAME]   # write a starting spec from a preset

Exit codes: 0 success; 1 the spec or a value in it is invalid (one-line
message naming the TOML key); 2 usage errors (unknown options, missing
files).  User mistakes never print a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    """A mistake in how the command was called (exit code 2)."""


def _parser() -> argparse.ArgumentParser:
    from trialplan import __version__

    parser = argparse.ArgumentParser(
        prog="trialplan",
        description="Exact power, sample size, protocol text and randomization lists for "
        "factorial, sequential and SMART trials, from a TOML design spec "
        "(schema: python -c 'import trialplan.spec; help(trialplan.spec)').",
        epilog="Exit codes: 0 ok, 1 invalid spec or values, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"trialplan {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def spec_argument(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("spec", metavar="SPEC", help="the TOML design spec")

    sub = commands.add_parser(
        "power",
        help="power of each hypothesis at the spec's size",
        description="Power of each hypothesis at the sample size in the "
        "spec (analytic unless the spec or --method says "
        "simulation).",
    )
    spec_argument(sub)
    sub.add_argument(
        "--hypotheses",
        nargs="+",
        metavar="H",
        help="hypotheses to report (default: the spec's [analysis] hypotheses)",
    )
    sub.add_argument(
        "--method", choices=("analytic", "simulation"), help="override the spec's analysis.method"
    )
    sub.add_argument(
        "--n-sims",
        type=_positive_int,
        metavar="N",
        help="simulated trials (with --method simulation)",
    )
    sub.add_argument("--seed", type=_nonnegative_int, help="simulation seed")
    _format_argument(sub)

    sub = commands.add_parser(
        "sample-size",
        help="smallest size reaching the target power",
        description="Smallest sample size (allocation ratios kept) at "
        "which the primary hypotheses reach the target "
        "power; uses the spec's sequential or multiplicity "
        "settings.",
    )
    spec_argument(sub)
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
    _format_argument(sub)

    sub = commands.add_parser(
        "protocol",
        help="write protocol text, tables and figures",
        description="Write the sample-size section (SPIRIT item 14), "
        "CONSORT factorial items, the analysis plan, a "
        "sensitivity table, figures and a reproducibility "
        "block into a folder.",
    )
    spec_argument(sub)
    sub.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    sub.add_argument(
        "--format",
        nargs="+",
        choices=("md", "html", "docx"),
        dest="formats",
        help="documents to write (default: md and html, plus docx when python-docx is installed)",
    )
    sub.add_argument("--no-figures", action="store_true", help="skip the figures")
    sub.add_argument(
        "--self-contained",
        action="store_true",
        help="inline the figures into the HTML page (one file to share)",
    )

    sub = commands.add_parser(
        "randomize",
        help="write a permuted-block randomization list",
        description="Write a stratified permuted-block randomization "
        "list (CSV) using the spec's [randomization] "
        "settings.",
    )
    spec_argument(sub)
    sub.add_argument("-o", "--output", required=True, metavar="FILE", help="CSV file to write")
    sub.add_argument(
        "--n",
        type=_positive_int,
        metavar="N",
        help="minimum list length per stratum (default: randomization.n, else "
        "the design's number randomized)",
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

    sub = commands.add_parser(
        "check",
        help="validate a spec and print it in canonical form",
        description="Read and validate a spec; print the canonical TOML and its SHA-256.",
    )
    spec_argument(sub)

    sub = commands.add_parser(
        "init",
        help="write a starting spec from a scenario preset",
        description="Write a spec for one of the literature-based presets in trialplan.scenarios.",
    )
    sub.add_argument("-o", "--output", required=True, metavar="FILE", help="spec file to write")
    sub.add_argument(
        "--scenario",
        default="hamd_factorial",
        metavar="NAME",
        help="preset name (default: hamd_factorial); see --list",
    )
    sub.add_argument("--list", action="store_true", help="list the presets and exit")
    sub.add_argument("--force", action="store_true", help="overwrite an existing file")
    return parser


def _format_argument(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="output format (default: a readable table)",
    )


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


# ------------------------------------------------------------------ commands
def _read(path: str) -> Any:
    from trialplan.spec import read_spec

    file = Path(path)
    if not file.is_file():
        raise _UsageError(f"spec file not found: {path}")
    return read_spec(file)


def _emit(frame: Any, text: str, fmt: str) -> None:
    if fmt == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif fmt == "json":
        records = json.loads(frame.to_json(orient="records"))
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
    else:
        sys.stdout.write(text + "\n")


def _cmd_power(args: argparse.Namespace) -> int:
    from trialplan.report.protocol import _analysis_options, _family

    spec = _read(args.spec)
    design = spec.design
    names = list(args.hypotheses) if args.hypotheses else list(spec.hypothesis_names) or None
    method = args.method or spec.method
    options: dict[str, Any] = {}
    if method == "simulation":
        options.update(
            n_sims=args.n_sims or spec.n_sims, seed=spec.seed if args.seed is None else args.seed
        )
    elif args.n_sims is not None or args.seed is not None:
        raise _UsageError("--n-sims and --seed apply to --method simulation only")
    options.update(_analysis_options(spec))
    if "multiplicity" in options and not args.hypotheses:
        names = _family(spec.multiplicity)
    if _is_smart(design):
        comparisons = _smart_items(design, names)
        result = design.power(comparisons, method=method, **options)
    else:
        result = design.power(names, method=method, **options)
    _emit(result.to_frame(), repr(result), args.format)
    return EXIT_OK


def _is_smart(design: Any) -> bool:
    return hasattr(design, "stage1") and hasattr(design, "power_regimes")


def _smart_items(design: Any, names: Sequence[str] | None) -> list[Any]:
    """SMART comparisons ("stage1" or regime pairs) for comparison names."""
    from trialplan.report.protocol import _smart_comparisons

    comparisons = _smart_comparisons(design)
    if not names:
        return list(comparisons.values())
    from trialplan._validation import did_you_mean

    items = []
    for name in names:
        if name not in comparisons:
            raise ValueError(
                f"{name!r} is not a comparison of this SMART; choose from "
                f"{list(comparisons)}" + did_you_mean(name, comparisons)
            )
        items.append(comparisons[name])
    return items


def _cmd_sample_size(args: argparse.Namespace) -> int:
    from trialplan.report.protocol import _sample_size

    spec = _read(args.spec)
    target = spec.power if args.power is None else args.power
    names = list(args.hypothesis) if args.hypothesis else list(spec.primary or ())
    if _is_smart(spec.design):
        if len(names) != 1:
            raise _UsageError("a SMART is sized for one comparison; give one --hypothesis")
        result = spec.design.sample_size(
            power=target, hypothesis=_smart_items(spec.design, names)[0]
        )
        _emit(result.to_frame(), repr(result), args.format)
        return EXIT_OK
    result = _sample_size(spec, power=target, hypotheses=names)
    _emit(result.to_frame(), repr(result), args.format)
    return EXIT_OK


def _cmd_protocol(args: argparse.Namespace) -> int:
    from trialplan.report.protocol import make_protocol

    spec = _read(args.spec)
    out = Path(args.output)
    protocol = make_protocol(
        spec, figures=not args.no_figures, spec_name=Path(args.spec).name, out_name=str(out)
    )
    written = protocol.write(
        out, formats=args.formats, spec_name=Path(args.spec).name, embed_figures=args.self_contained
    )
    ss = protocol.results["sample_size"]
    print(
        f"{ss.n_total} analysed, {ss.n_randomized} randomized "
        f"(power {ss.power:.3f} for {', '.join(ss.hypotheses)})"
    )
    for kind, path in written.items():
        print(f"wrote {kind:<11} {path}")
    return EXIT_OK


def _cmd_randomize(args: argparse.Namespace) -> int:
    from trialplan.randomization import permuted_blocks
    from trialplan.spec import RandomizationPlan

    spec = _read(args.spec)
    plan = spec.randomization or RandomizationPlan()
    design = spec.design
    n = args.n or plan.n or getattr(design, "n_randomized", None)
    if n is None:
        raise _UsageError("give --n (the design has no n_randomized)")
    kwargs: dict[str, Any] = {"n": n, "seed": plan.seed if args.seed is None else args.seed}
    sizes = args.block_sizes or plan.block_sizes
    if sizes:
        kwargs["block_sizes"] = tuple(sizes)
    if plan.strata:
        kwargs["strata"] = {k: tuple(v) for k, v in plan.strata.items()}
    if _is_smart(design):
        kwargs["stage"] = args.stage or 1
    elif args.stage is not None:
        raise _UsageError("--stage applies to SMART designs only")
    schedule = permuted_blocks(design, **kwargs)
    path = schedule.to_csv(args.output)
    print(f"wrote {len(schedule)} assignments to {path} (seed {kwargs['seed']})")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from trialplan.spec import spec_hash, spec_to_toml

    spec = _read(args.spec)
    sys.stdout.write(spec_to_toml(spec))
    print(f"# sha256: {spec_hash(spec)}")
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
        raise _UsageError(f"{out} exists; pass --force to overwrite it")
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
    try:
        return _COMMANDS[args.command](args)
    except _UsageError as exc:
        _fail(str(exc))
        return EXIT_USAGE
    except (ValueError, TypeError, KeyError) as exc:
        # SpecError is a ValueError naming the TOML key; library checks name the
        # parameter, its value and what is allowed.
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        _fail(str(message))
        return EXIT_INVALID
    except ImportError as exc:
        _fail(f"{exc} (optional dependency missing)")
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
