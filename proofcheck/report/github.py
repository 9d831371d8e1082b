"""`--format github`: GitHub Actions workflow commands that annotate the derivation files.

    ::error file=sheets/kl.yaml,line=14,col=5,title=proofcheck%3A step 2 refuted::step 2 ...

`::error` for a refuted step, a claim not established and an input error; `::warning` for an
unknown step (and for a step not checked because an earlier line could not be read). With
`strict`, a `numeric` step is an `::error` too. Property values and messages are escaped as the
runner expects (`%`, CR and LF everywhere; `:` and `,` in properties too), so a message keeps its
line breaks and a formula cannot end the command early.
"""

from __future__ import annotations

import os
from pathlib import Path

from proofcheck.kernel.verdict import Status
from proofcheck.report.junit import counterexample_lines
from proofcheck.verify import FileReport

MAX_MESSAGE = 4000


def escape_data(s: str) -> str:
    """The message part of a workflow command."""
    return str(s).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    """A property value (file, title, ...) of a workflow command."""
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, *, file: str, line: int | None = None, col: int | None = None,
            title: str | None = None) -> str:
    """One `::level file=...,line=...,col=...,title=...::message` line."""
    props = [f"file={escape_property(file)}"]
    if line:
        props.append(f"line={int(line)}")
    if col:
        props.append(f"col={int(col)}")
    if title:
        props.append(f"title={escape_property(title)}")
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "\u2026"
    return f"::{level} {','.join(props)}::{escape_data(message)}"


def workspace_path(path: str) -> str:
    """The path as GitHub wants it: relative to the repository checkout, with forward slashes."""
    p = Path(path)
    if p.is_absolute():
        base = Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd())
        try:
            p = p.resolve().relative_to(base.resolve())
        except ValueError:
            pass
    return p.as_posix()


def annotations(f: FileReport, strict: bool = False) -> list[str]:
    """The workflow commands for one file."""
    from proofcheck.report.source import load_source
    out = []
    for e in f.errors:
        where = workspace_path(e.path or f.path)
        message = e.message + (f"\n{e.source}" if e.source else "")
        out.append(command("error", message, file=where, line=e.line, col=e.column, title="proofcheck: input error"))
    path = workspace_path(f.path)
    source = load_source(f.path, displays=False) if f.parts else None
    for p in f.parts:
        part = f"part {p.name}: " if len(f.parts) > 1 or p.name != "main" else ""
        for s in p.steps:
            r = s.result
            if r.status == Status.ERROR:
                continue  # an input error, annotated above
            if r.status == Status.NUMERIC and not strict or r.status == Status.PROVED:
                continue
            level, verdict = "error", r.status.value
            if r.status == Status.UNKNOWN:
                level = "warning"
            elif r.status == Status.NUMERIC:
                verdict = "numeric, not proved (--strict)"
            lines = [f"{part}step {s.index}: {s.relation} {s.text}" + (f"   by {s.rule}" if s.rule else ""),
                     f"{verdict}: {r.message}".rstrip(": ")]
            lines += counterexample_lines(r.counterexample)
            out.append(command(level, "\n".join(lines), file=path, line=s.line, col=s.column,
                               title=f"proofcheck: {part}step {s.index} {r.status.value}"))
        if not p.claim_established:
            ps = source.parts.get(p.name) if source else None
            line = (ps.claim_line or ps.start_line) if ps else (p.steps[0].line if p.steps else 1)
            col = ps.claim_column if ps and ps.claim_line else None
            message = f"{part}claim not established: {p.claim_message}"
            if p.claim:
                message = f"{part}claim {p.claim}\nnot established: {p.claim_message}"
            out.append(command("error", message, file=path, line=line, col=col,
                               title=f"proofcheck: {part}claim not established"))
    return out


def render(reports: list[FileReport], strict: bool = False) -> str:
    """Every annotation, one per line, then a plain summary line for the log."""
    lines = [a for f in reports for a in annotations(f, strict)]
    steps = [s.result.status for f in reports for p in f.parts for s in p.steps]
    ok = {Status.PROVED} if strict else {Status.PROVED, Status.NUMERIC}
    counts = ", ".join(f"{steps.count(st)} {st.value}" for st in Status if st != Status.ERROR and steps.count(st))
    lines.append(f"proofcheck: {len(reports)} file(s), {sum(f.status in ok for f in reports)} established; "
                 f"{len(steps)} step(s){': ' + counts if counts else ''}; "
                 f"{sum(len(f.errors) for f in reports)} input error(s)")
    return "".join(line + "\n" for line in lines)
