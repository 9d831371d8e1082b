"""Text output rendered with rich: a table of steps per derivation, coloured verdicts."""

from __future__ import annotations

import sympy as sp
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text as RichText

from proofcheck.kernel.verdict import Status
from proofcheck.verify import FileReport, PartReport

STYLE = {Status.PROVED: "bold green", Status.NUMERIC: "green", Status.REFUTED: "bold red",
         Status.UNKNOWN: "yellow", Status.ERROR: "bold magenta"}
MAX_PRETTY_WIDTH = 44


def pretty(obj, fallback: str) -> str:
    """A formula pretty-printed by SymPy, or the source text when that is too wide or fails."""
    if obj is None:
        return fallback
    try:
        from proofcheck.kernel.terms import Relation
        if isinstance(obj, Relation):
            out = sp.pretty(sp.Eq(obj.lhs, obj.rhs, evaluate=False), use_unicode=True) if obj.op == "=" else None
            if out is None:
                return fallback
        else:
            out = sp.pretty(obj, use_unicode=True, wrap_line=False)
    except Exception:  # noqa: BLE001 - printing is best effort
        return fallback
    if max((len(line) for line in out.splitlines()), default=0) > MAX_PRETTY_WIDTH:
        return fallback
    return out


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
        formula = pretty(s.display, s.text)
        cell = f"{s.relation} " + formula if "\n" not in formula else _prefix(s.relation, formula)
        table.add_row(str(s.index), str(s.line), RichText(cell), RichText(s.rule), status_text(s.result.status),
                      RichText(note))
    return table


def _prefix(rel: str, block: str) -> str:
    lines = block.splitlines()
    mid = len(lines) // 2
    pad = " " * (len(rel) + 1)
    return "\n".join((rel + " " if i == mid else pad) + line for i, line in enumerate(lines))


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
