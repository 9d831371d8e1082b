"""`proofcheck latex FILE [-o OUT] [--marks]`: write a derivation as a LaTeX solution sheet.

The file is checked while it is written (the typeset formulas come from the checker's reading of
it). Exit status: 0 the sheet was written; 2 the file could not be read, has input errors (the
sheet is still written, with the unreadable lines as source text) or the command line was wrong.
Steps that are not established do not change the status (use `verify` for that); they are named
on standard error, and `--marks` prints every verdict on the sheet.
"""

from __future__ import annotations

import sys
from pathlib import Path

from proofcheck.kernel.verdict import Status
from proofcheck.verify import Options, established, verify_paths

EXIT_OK, EXIT_USAGE = 0, 2


def add_arguments(p) -> None:
    """The subcommand's own arguments (cli.py adds --timeout --seed --strict --jobs)."""
    p.add_argument("file", metavar="FILE", help="one derivation file")
    p.add_argument("-o", "--output", default="-", metavar="OUT", help="where to write (default: standard output)")
    p.add_argument("--marks", action="store_true", help="print each step's verdict at the right margin")


def run(args, options: Options) -> int:
    """Check the file, write the sheet; returns the exit status."""
    from proofcheck.report import latex
    from proofcheck.report.html_cli import write_output
    if Path(args.file).is_dir():
        print(f"proofcheck latex: {args.file} is a directory; give one derivation file", file=sys.stderr)
        return EXIT_USAGE
    reports = verify_paths([args.file], options)
    if not reports:
        print(f"proofcheck latex: {args.file} is not a derivation file (no `proofcheck: 1`)", file=sys.stderr)
        return EXIT_USAGE
    report = reports[0]
    for e in report.errors:
        print(f"{e.path or report.path}:{e.line}:{e.column}: error: {e.message}", file=sys.stderr)
    if not report.parts:
        return EXIT_USAGE
    if not write_output(args.output, latex.render(report, marks=args.marks)):
        return EXIT_USAGE
    if report.errors:
        return EXIT_USAGE
    if not established(report, options.strict):
        bad = [f"{report.path}:{s.line}: step {s.index} ({p.name}) is {s.result.status.value}"
               for p in report.parts for s in p.steps
               if s.result.status not in (Status.PROVED, Status.NUMERIC)]
        bad += [f"{report.path}: part {p.name}: claim not established" for p in report.parts if not p.claim_established]
        print(f"proofcheck latex: note: the derivation is {report.status.value}"
              + ("".join("\n  " + b for b in bad) if bad else ""), file=sys.stderr)
    return EXIT_OK
