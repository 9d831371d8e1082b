"""`proofcheck report PATH... --html out.html`: check derivations and write the HTML page.

The exit status is verify's: 0 every derivation established, 1 some step refuted or unknown or a
claim not established, 2 an input error or a bad command line (the page is written in every case
where there was something to check)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from proofcheck.kernel.verdict import Status
from proofcheck.verify import FileReport, Options, established, verify_paths

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(p) -> None:
    """The subcommand's own arguments (cli.py adds --timeout --seed --strict --jobs)."""
    p.add_argument("paths", nargs="+", metavar="PATH", help="derivation files or directories")
    p.add_argument("--html", required=True, metavar="FILE", help="where to write the page (- for standard output)")
    p.add_argument("--title", default="proofcheck report", help="the page's heading")


def exit_code(reports: list[FileReport], strict: bool) -> int:
    """verify's exit status for these reports."""
    if any(r.status == Status.ERROR for r in reports):
        return EXIT_USAGE
    return EXIT_OK if reports and all(established(r, strict) for r in reports) else EXIT_FAILED


def write_output(target: str, text: str) -> bool:
    """Write to a file (or standard output for `-`); False with a message when that fails."""
    if target == "-":
        sys.stdout.write(text)
        return True
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"proofcheck: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return False
    return True


def run(args, options: Options) -> int:
    """Check, render, write; returns the exit status."""
    from proofcheck.report import html
    from proofcheck.report.json_report import summary
    start = time.monotonic()
    reports = verify_paths(args.paths, options)
    if not reports:
        print("proofcheck: no derivation files (files with `proofcheck: 1`) under " + ", ".join(args.paths),
              file=sys.stderr)
        return EXIT_USAGE
    seconds = time.monotonic() - start
    if not write_output(args.html, html.render(reports, seconds, options=options, title=args.title)):
        return EXIT_USAGE
    s = summary(reports, seconds)
    counts = ", ".join(f"{s[k]} {k}" for k in ("proved", "numeric", "refuted", "unknown") if s[k])
    where = "standard output" if args.html == "-" else args.html
    print(f"proofcheck: wrote {where}: {s['files']} file(s), {s['steps']} step(s)"
          f"{': ' + counts if counts else ''}; {s['errors']} input error(s)", file=sys.stderr)
    return exit_code(reports, options.strict)
