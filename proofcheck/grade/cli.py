"""`proofcheck grade SUBMISSION... --key KEY.yaml`: argument handling and exit codes only."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text as RichText

from proofcheck.grade.submissions import grade_paths, load_key, submission_paths
from proofcheck.verify import Options

EXIT_OK, EXIT_USAGE = 0, 2


def add_arguments(p) -> None:
    """The grade subcommand's own arguments (cli.py adds --timeout --seed --strict --jobs)."""
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help="submission files (.yaml derivations, .txt steps, or .md/.tex Markdown/LaTeX sheets) "
                        "or directories of them")
    p.add_argument("--key", required=True, metavar="KEY.yaml", help="the answer key (a derivation file)")
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    p.add_argument("--out", metavar="FILE", help="write the grades to FILE instead of standard output")
    p.add_argument("--part", metavar="NAME", help="grade every submission against this part of the key")


def run(args, options: Options) -> int:
    """Grade; 0 when grades were produced, 2 for a bad key or command line."""
    start = time.monotonic()
    err = Console(stderr=True, highlight=False)
    key, errors = load_key(args.key, options)
    if errors or key is None:
        for e in errors:
            err.print(RichText(f"{e.path or args.key}:{e.line}:{e.column}: error: {e.message}", style="magenta"))
            if e.source:
                err.print(RichText(e.source))
        err.print(f"proofcheck grade: the answer key {args.key} has errors; no grades were produced")
        return EXIT_USAGE
    if args.part and args.part not in key.parts:
        err.print(f"proofcheck grade: the key has no part named {args.part!r}; its parts are: {', '.join(key.parts)}")
        return EXIT_USAGE
    missing = [p for p in args.submissions if not Path(p).exists()]
    if missing:
        err.print("proofcheck grade: no such file or directory: " + ", ".join(missing))
        return EXIT_USAGE
    paths = submission_paths(args.submissions, args.key)
    if not paths:
        err.print("proofcheck grade: no submissions (*.yaml, *.yml, *.txt) under " + ", ".join(args.submissions))
        return EXIT_USAGE

    progress = None
    progress_factory = None
    if args.format == "text" and err.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        progress = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=err, transient=True)

        def progress_factory(total):
            task = progress.add_task("checks", total=total)
            progress.start()
            return lambda i, res: progress.advance(task)
    try:
        grades, planner = grade_paths(paths, key, options, args.part, progress_factory)
    finally:
        if progress is not None:
            progress.stop()
    run_info = {"tasks": len(planner.tasks), "requested": planner.requested,
                "seconds": round(time.monotonic() - start, 2)}

    from proofcheck.report import grade_report
    try:
        out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    except OSError as exc:
        err.print(f"proofcheck grade: cannot write {args.out}: {exc.strerror or exc}")
        return EXIT_USAGE
    try:
        if args.format == "json":
            out.write(grade_report.render_json(grades, args.key, run_info) + "\n")
        elif args.format == "csv":
            out.write(grade_report.render_csv(grades))
        else:
            console = Console(file=out, highlight=False, soft_wrap=False,
                              width=None if out is sys.stdout else 160)
            grade_report.render_text(console, grades, args.key, run_info)
    finally:
        if out is not sys.stdout:
            out.close()
    return EXIT_OK
