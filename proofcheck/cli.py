"""Command line: argument handling and exit codes only."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from rich.console import Console

from proofcheck import __version__
from proofcheck.engines import ENGINES, EngineError
from proofcheck.errors import DeclarationError
from proofcheck.kernel.verdict import Status
from proofcheck.model import Declaration, Derivation, Part, Span, Text
from proofcheck.verify import FileReport, Options, Planner, established, expand_paths, run_plans, verify_paths

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
FORMATS = ("text", "json", "junit", "github")
SHEET_SUFFIXES = (".md", ".markdown", ".tex")


def bounded(kind: type, low, high, what: str, low_open: bool = False):
    """An argparse type: a number of `kind` in [low, high] ((low, high] with low_open)."""
    def parse(s: str):
        try:
            v = kind(s)
        except ValueError:
            noun = "whole number" if kind is int else "number"
            raise argparse.ArgumentTypeError(f"not a {noun}: {s!r}") from None
        if not ((low < v) if low_open else (low <= v)) or v > high:
            raise argparse.ArgumentTypeError(f"{what} is between {low} and {high}")
        return v
    return parse


_positive_float = bounded(float, 0, 3600, "the timeout in seconds", low_open=True)
_job_count = bounded(int, 1, 64, "--jobs")


def _jobs(s: str) -> int:
    """--jobs N, or `auto`: one worker per CPU this process may use."""
    return available_cpus() if s.strip().lower() == "auto" else _job_count(s)


def available_cpus() -> int:
    """CPUs this process may run on (at most 64)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(64, n))


VERIFY_EXIT = """exit status:
  0  every derivation established (proved or numeric; only proved with --strict)
  1  a step refuted or unknown, or a claim not established
  2  a file could not be read or parsed, or the command line is wrong"""

EPILOGS = {
    "verify": """examples:
  proofcheck verify examples/kl_equal_variance.yaml
  proofcheck verify derivations/ --format json --timeout 5 > report.json

Directories are searched for files with `proofcheck: 1`; student submissions (files without a
claim) are left to `grade`, Markdown/LaTeX sheets need --key. The language: docs/format.md.

""" + VERIFY_EXIT,
    "check": """examples:
  proofcheck check "log(exp(a) exp(b))" "a + b" --symbols "a, b: real"
  proofcheck check "sqrt(x^2)" "<= x + 1" --symbols "x: positive"

Names not in --symbols are taken as real.

""" + VERIFY_EXIT,
    "grade": """examples:
  proofcheck grade examples/submissions/000_82633c51acc6733d_vdm.yaml --key derivations/vdm.yaml
  proofcheck grade submissions/ --key key.yaml --format csv --out grades.csv

Submissions are derivation files (.yaml), plain steps (.txt) or Markdown/LaTeX sheets (.md, .tex).
How points are given: docs/grading.md.

exit status:
  0  grades were produced, whatever they are
  2  the key has errors, a submission path does not exist, or the command line is wrong""",
    "report": """examples:
  proofcheck report derivations/ --html report.html
  proofcheck report examples/kl_slip.yaml --html - --title "KL slip"

exit status: as verify (0 established, 1 not established, 2 input or command-line error)""",
    "latex": """examples:
  proofcheck latex examples/kl_equal_variance.yaml -o kl.tex
  proofcheck latex derivations/elbo.yaml --marks

exit status:
  0  the sheet was written (whatever the verdicts)
  2  the file has input errors or the command line is wrong""",
    "serve": """examples:
  proofcheck serve
  proofcheck serve --key derivations/vdm.yaml --port 8080

exit status: 0 after Ctrl-C; 2 when the server cannot start or the command line is wrong""",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="proofcheck", description="Check every step of a derivation.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""examples:
  proofcheck verify examples/kl_equal_variance.yaml
  proofcheck check "log(exp(a) exp(b))" "a + b" --symbols "a, b: real"

`proofcheck COMMAND --help` shows a command's options, examples and exit status.
The derivation language: docs/format.md; the Python API: docs/api.md.""")
    parser.add_argument("--version", action="version", version=f"proofcheck {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--timeout", type=_positive_float, default=10.0, help="seconds per step (default 10)")
        p.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
        p.add_argument("--strict", action="store_true", help="`numeric` counts as not established")
        p.add_argument("--jobs", type=_jobs, default=None,
                       help="worker processes, or `auto` (default: auto, one per CPU; serve: 1 per slot)")
        p.add_argument("--no-cache", action="store_true",
                       help="do not read or write the verdict cache (.proofcheck_cache/)")

    def engine(p):
        p.add_argument("--engine", choices=ENGINES, default="local",
                       help="where steps are checked: local worker processes (default) or a Dask cluster "
                            "(pip install 'proofcheck[dask]'); the verdicts are the same")
        p.add_argument("--scheduler", metavar="ADDRESS",
                       help="with --engine dask: the scheduler to use (default: a local cluster of --jobs workers)")

    def add(name: str, help_text: str):
        return sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                              epilog=EPILOGS.get(name), formatter_class=argparse.RawDescriptionHelpFormatter)

    v = add("verify", "check derivation files or directories")
    v.add_argument("paths", nargs="+", metavar="PATH")
    v.add_argument("--format", choices=FORMATS, default="text")
    v.add_argument("--key", metavar="KEY.yaml",
                   help="declarations for Markdown/LaTeX sheets ($$ ... $$ formulas): a derivation file")
    common(v)
    engine(v)

    c = add("check", 'check one identity: proofcheck check "LHS" "RHS"')
    c.add_argument("lhs")
    c.add_argument("rhs", help="the right side; may start with a relation, e.g. '<= x^2'")
    c.add_argument("--symbols", default="", help='declarations, e.g. "x: positive; n: positive integer"')
    c.add_argument("--format", choices=("text", "json"), default="text")
    common(c)

    # Further subcommands live in their own modules: add_arguments(subparser) and run(args) -> exit code.
    for name, module, help_text in PLUGGED_COMMANDS:
        mod = _load(module)
        if mod is not None:
            p = add(name, help_text)
            mod.add_arguments(p)
            common(p)
            if name == "grade":
                engine(p)
    return parser


PLUGGED_COMMANDS = [
    ("grade", "proofcheck.grade.cli", "grade student submissions against an answer key"),
    ("report", "proofcheck.report.html_cli", "write a self-contained HTML report"),
    ("latex", "proofcheck.report.latex_cli", "write a derivation as a LaTeX solution sheet"),
    ("serve", "proofcheck.serve", "a local page that checks steps as you type"),
]


def _load(module: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `proofcheck` command."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    # Verdicts and output order do not depend on --jobs; serve multiplies it by its slots.
    jobs = args.jobs if args.jobs is not None else (1 if args.command == "serve" else available_cpus())
    options = Options(timeout=args.timeout, seed=args.seed, strict=args.strict, jobs=jobs,
                      cache=not args.no_cache, engine=getattr(args, "engine", "local"),
                      scheduler=getattr(args, "scheduler", None))
    try:
        if args.command == "verify":
            return _verify(args, options)
        if args.command == "check":
            return _check(args, options)
        for name, module, _ in PLUGGED_COMMANDS:
            if args.command == name:
                return _load(module).run(args, options)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except EngineError as exc:
        print(f"proofcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    parser.print_usage(sys.stderr)
    return EXIT_USAGE


def _exit_code(reports: list[FileReport], strict: bool) -> int:
    if any(r.status == Status.ERROR for r in reports):
        return EXIT_USAGE
    return EXIT_OK if all(established(r, strict) for r in reports) and reports else EXIT_FAILED


def _verify(args, options: Options) -> int:
    start = time.monotonic()
    console = Console(highlight=False, soft_wrap=False)
    progress_factory = None
    progress = None
    if args.format == "text" and console.is_terminal and len(args.paths) >= 1:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        progress = Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=console, transient=True)

        def progress_factory(total):
            if total < 8:
                return None
            task = progress.add_task("steps", total=total)
            progress.start()
            return lambda i, res: progress.advance(task)
    paths = args.paths
    if not args.key:
        sheets = [p for p in paths if Path(p).suffix.lower() in SHEET_SUFFIXES and Path(p).is_file()]
        if sheets:
            for p in sheets:
                print(f"proofcheck: {p} is a Markdown/LaTeX sheet; its formulas need an answer key's declarations:\n"
                      f"  proofcheck grade {p} --key KEY.yaml     (grade it)\n"
                      f"  proofcheck verify {p} --key KEY.yaml    (check its formulas)", file=sys.stderr)
            return EXIT_USAGE
        paths, skipped = _skip_submissions(paths)
        if skipped:
            print(f"proofcheck: skipped {len(skipped)} student submission(s) (files without a claim) under "
                  + ", ".join(p for p in args.paths if Path(p).is_dir())
                  + "; grade them with `proofcheck grade SUBMISSION --key KEY.yaml`", file=sys.stderr)
    try:
        if args.key:  # Markdown/LaTeX sheets, declared by a key (proofcheck.latex)
            from proofcheck.verify import verify_sheets
            reports = verify_sheets(args.paths, args.key, options, progress_factory)
        else:
            reports = verify_paths(paths, options, progress_factory) if paths else []
    finally:
        if progress is not None:
            progress.stop()
    if not reports:
        print("proofcheck: no derivation files (files with `proofcheck: 1`) under "
              + ", ".join(args.paths), file=sys.stderr)
        return EXIT_USAGE
    _emit(args.format, console, reports, time.monotonic() - start, options.strict)
    return _exit_code(reports, options.strict)


def _skip_submissions(paths: list[str]) -> tuple[list[str], list[str]]:
    """Named files stay; in directories, student submissions (no claim) are left to `grade`."""
    from proofcheck.errors import ProofcheckError
    from proofcheck.read import is_submission, read_derivation
    keep, skipped = [], []
    for p in paths:
        if not Path(p).is_dir():
            keep.append(p)
            continue
        for f in expand_paths([p])[0]:
            try:
                submission = is_submission(read_derivation(f))
            except ProofcheckError:
                submission = False  # verify reports the error
            (skipped if submission else keep).append(f)
    return keep, skipped


def _emit(fmt: str, console: Console, reports: list[FileReport], seconds: float, strict: bool) -> None:
    from proofcheck.report import json_report
    if fmt == "json":
        sys.stdout.write(json_report.render(reports, seconds) + "\n")
    elif fmt == "junit":
        from proofcheck.report import junit
        sys.stdout.write(junit.render(reports, seconds, strict=strict) + "\n")
    elif fmt == "github":
        from proofcheck.report import github
        sys.stdout.write(github.render(reports, strict=strict))
    else:
        from proofcheck.report import console as console_report
        console_report.render(console, reports, json_report.summary(reports, seconds), strict)


def parse_symbols(spec: str) -> list[tuple[list[str], str]]:
    """`x: positive; n, d: positive integer` -> [(names, type)]."""
    out = []
    for chunk in spec.split(";"):
        if not chunk.strip():
            continue
        names, _, typ = chunk.partition(":")
        out.append(([n.strip() for n in names.split(",") if n.strip()], typ.strip() or "real"))
    return out


def check_report(lhs: str, rhs: str, symbols: str, options: Options) -> tuple[FileReport, list[str]]:
    """Check `lhs = rhs` (or another relation) with the given declarations; undeclared names are real."""
    rel = "="
    body = rhs.strip()
    for op in ("<==>", "==>", "<=", ">=", "!=", "=", "<", ">"):
        if body.startswith(op):
            rel, body = op, body[len(op):].strip()
            break
    path = "<check>"
    decls = []
    for i, (names, typ) in enumerate(parse_symbols(symbols), 1):
        decls.append(Declaration(tuple(names), Text(typ, path, ((1, 1),)), Span(path, 1, 1)))
    auto: list[str] = []
    for _ in range(60):
        all_decls = decls + [Declaration(tuple(auto), Text("real", path, ((1, 1),)), Span(path, 1, 1))] if auto \
            else decls
        part = Part("main", Text(f"{lhs} {rel} {body}", path, ((1, 1),)),
                    [Text(lhs, path, ((1, 1),)), Text(f"{rel} {body}", path, ((2, 1),))], all_decls)
        derivation = Derivation(path, f"{lhs} {rel} {body}", [part], lines=[lhs, f"{rel} {body}"])
        planner = Planner(options)
        plan = planner.plan_derivation(derivation)
        undeclared = [e.message.split("'")[1] for e in plan.errors if "is not declared; add it" in e.message]
        if undeclared and undeclared[0] not in auto:
            auto.append(undeclared[0])
            continue
        return run_plans(planner, [plan], options)[0], auto
    raise DeclarationError("too many undeclared names")


def _check(args, options: Options) -> int:
    start = time.monotonic()
    console = Console(highlight=False)
    report, auto = check_report(args.lhs, args.rhs, args.symbols, options)
    if auto and args.format == "text":
        console.print(f"(taking {', '.join(auto)} as real; declare types with --symbols)", style="dim")
    _emit(args.format, console, [report], time.monotonic() - start, options.strict)
    return _exit_code([report], options.strict)


if __name__ == "__main__":
    sys.exit(main())
