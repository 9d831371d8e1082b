"""Text output rendered with rich: a table of steps per derivation, coloured verdicts."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text as RichText

from proofcheck.kernel.verdict import Status
from proofcheck.verify import FileReport, PartReport

STYLE = {Status.PROVED: "bold green", Status.NUMERIC: "green", Status.REFUTED: "bold red",
         Status.UNKNOWN: "yellow", Status.ERROR: "bold magenta"}


def pretty(obj, fallback: str) -> str:
    """A formula as its author wrote it (printed from its parse tree), or the source text."""
    from proofcheck.report import written
    if not written.is_written(obj):
        return fallback
    try:
        return written.text(obj)
    except Exception:  # noqa: BLE001 - printing is best effort
        return fallback


def status_text(status: Status) -> RichText:
    """A verdict word in its colour."""
    return RichText(status.value, style=STYLE[status])


def part_table(part: PartReport) -> Table:
    """The steps of one chain as a table."""
    table = Table(show_header=True, header_style="bold", expand=False, show_lines=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("line", justify="right", no_wrap=True)
    table.add_column("step", overflow="fold")
    table.add_column("rule")
    table.add_column("status", no_wrap=True)
    table.add_column("note", overflow="fold", max_width=60)
    table.add_row("", "", RichText(pretty(part.start_display, part.start_text)), "", "", "starting line")
    for s in part.steps:
        note = s.result.message
        if s.result.counterexample:
            ce = s.result.counterexample
            note = "counterexample: " + ", ".join(f"{k} = {v}" for k, v in ce.items() if k not in ("lhs", "rhs")) \
                + f"\nleft side = {ce['lhs']}\nright side = {ce['rhs']}"
        cell = f"{s.relation} {pretty(s.display, s.text)}" if s.relation else pretty(s.display, s.text)
        table.add_row(str(s.index), str(s.line), RichText(cell), RichText(s.rule), status_text(s.result.status),
                      RichText(note))
    return table


def print_errors(console: Console, errors, path: str) -> None:
    """Input errors as `file:line:col: error: message`, each with its source line."""
    for e in errors:  # never wrapped: editors and CI parse `file:line:col: error: message` lines
        console.print(RichText(f"{e.path or path}:{e.line}:{e.column}: error: {e.message}", style="magenta"),
                      soft_wrap=True)
        if e.source:
            console.print(RichText(e.source), soft_wrap=True)


def render(console: Console, reports: list[FileReport], summary: dict, strict: bool = False) -> None:
    """Print every file's tables and a summary line."""
    for f in reports:
        head = RichText()
        head.append(f.path, style="bold")
        if f.title:
            head.append(f" — {f.title}")
        head.append("  ")
        head.append_text(status_text(f.status))
        console.print(head)
        print_errors(console, f.errors, f.path)
        for p in f.parts:
            title = RichText()
            if len(f.parts) > 1 or p.name != "main":
                title.append(f"part {p.name}: ", style="bold")
            if p.claim:
                title.append(f"claim {p.claim}  ")
            title.append_text(status_text(p.status))
            if p.claim and not p.claim_established:
                title.append(f"  (claim not established: {p.claim_message})", style="yellow")
            console.print(Group(title, part_table(p)))
        console.print()
    counts = ", ".join(f"{summary[k]} {k}" for k in ("proved", "numeric", "refuted", "unknown") if summary[k])
    ok = sum(1 for f in reports if f.status == Status.PROVED or (f.status == Status.NUMERIC and not strict))
    line = RichText(f"{summary['files']} file(s), {ok} established; {summary['steps']} step{'s' if summary['steps'] != 1 else ''}"
                    f"{': ' + counts if counts else ''}; {summary['errors']} error(s); {summary['seconds']} s")
    console.print(line, style="bold")
