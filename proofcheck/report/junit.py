"""`--format junit`: JUnit XML, the test-report format CI systems read.

One <testsuite> per file, one <testcase> per step and one per claim (`<part>: claim`); an input
error that belongs to no step gets a testcase of its own. A refuted or unknown step is a
<failure> (type `refuted` / `unknown`) whose text holds the step, the message and the
counterexample; an input error is an <error> whose message starts with `file:line:col:`; a step
not checked because an earlier line could not be read is <skipped>. `numeric` passes unless
`strict`. Built with ElementTree, so text and attributes are escaped correctly.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import PurePath

from proofcheck.kernel.verdict import Status
from proofcheck.verify import ErrorInfo, FileReport, PartReport, StepReport

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_NAME = 120


def _clean(s) -> str:
    """Text XML 1.0 can hold: characters it forbids become U+FFFD."""
    return _XML_INVALID.sub("\ufffd", str(s))


def _short(s: str, n: int = MAX_NAME) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "\u2026"


def _classname(path: str, part: str | None = None) -> str:
    """`derivations/vdm.yaml`, part `kl` -> `derivations.vdm.kl` (how CI systems group tests)."""
    p = PurePath(path)
    stem = ".".join([*p.parent.parts, p.stem]).replace(" ", "_").lstrip("./") or "derivation"
    return f"{stem}.{part}" if part is not None else stem


def counterexample_lines(ce: dict | None) -> list[str]:
    """A counterexample as `name = value` lines, the two sides last."""
    if not ce:
        return []
    lines = ["counterexample:"]
    lines += [f"  {k} = {v}" for k, v in ce.items() if k not in ("lhs", "rhs")]
    if "lhs" in ce:
        lines.append(f"  left side = {ce['lhs']}")
    if "rhs" in ce:
        lines.append(f"  right side = {ce['rhs']}")
    return lines


def _where(path: str, line: int, column: int) -> str:
    return f"{path}:{line}:{column}"


def _step_text(f: FileReport, s: StepReport) -> str:
    r = s.result
    head = f"{_where(f.path, s.line, s.column)}: step {s.index}: {s.relation} {s.text}".rstrip()
    if s.rule:
        head += f"   by {s.rule}"
    lines = [head, f"{r.status.value}: {r.message}".rstrip(": ")]
    lines += counterexample_lines(r.counterexample)
    return "\n".join(lines)


def _error_text(f: FileReport, e: ErrorInfo) -> str:
    text = f"{_where(e.path or f.path, e.line, e.column)}: {e.message}"
    return text + (f"\n{e.source}" if e.source else "")


class _Suite:
    """Builds one <testsuite> and counts what is in it."""

    def __init__(self, parent: ET.Element, f: FileReport):
        self.f = f
        self.el = ET.SubElement(parent, "testsuite", name=_clean(f.path))
        props = ET.SubElement(self.el, "properties")
        ET.SubElement(props, "property", name="title", value=_clean(f.title))
        ET.SubElement(props, "property", name="status", value=f.status.value)
        self.tests = self.failures = self.errors = self.skipped = 0
        self.time = 0.0

    def case(self, classname: str, name: str, line: int, seconds: float = 0.0) -> ET.Element:
        self.tests += 1
        self.time += seconds
        return ET.SubElement(self.el, "testcase", classname=_clean(classname), name=_clean(name),
                             file=_clean(self.f.path), line=str(line), time=f"{seconds:.3f}")

    def outcome(self, case: ET.Element, kind: str, type_: str, message: str, text: str = "") -> None:
        if kind == "failure":
            self.failures += 1
        elif kind == "error":
            self.errors += 1
        else:
            self.skipped += 1
        el = ET.SubElement(case, kind, message=_clean(_short(message, 500)))
        if kind != "skipped":
            el.set("type", type_)
        if text:
            el.text = _clean(text)

    def finish(self) -> None:
        for key, value in (("tests", self.tests), ("failures", self.failures), ("errors", self.errors),
                           ("skipped", self.skipped)):
            self.el.set(key, str(value))
        self.el.set("time", f"{self.time:.3f}")


def _steps(suite: _Suite, p: PartReport, strict: bool) -> None:
    f = suite.f
    errors = {e.line: e for e in f.errors if (e.path or f.path) == f.path}
    cls = _classname(f.path, p.name)
    for s in p.steps:
        r = s.result
        name = _short(f"step {s.index}: {s.relation} {s.text}")
        case = suite.case(cls, name, s.line, r.seconds)
        detail = _step_text(f, s)
        if r.status == Status.REFUTED:
            suite.outcome(case, "failure", "refuted", f"step {s.index} refuted: {r.message}", detail)
        elif r.status == Status.ERROR:
            e = errors.get(s.line)
            where = _where(f.path, e.line, e.column) if e else _where(f.path, s.line, s.column)
            suite.outcome(case, "error", "input error", f"{where}: {e.message if e else r.message}",
                          _error_text(f, e) if e else detail)
        elif r.status == Status.UNKNOWN and r.method == "skipped":
            suite.outcome(case, "skipped", "", f"step {s.index} not checked: {r.message}")
        elif r.status == Status.UNKNOWN:
            suite.outcome(case, "failure", "unknown", f"step {s.index} unknown: {r.message}", detail)
        elif r.status == Status.NUMERIC and strict:
            suite.outcome(case, "failure", "numeric",
                          f"step {s.index} is numeric, not proved (--strict): {r.message}", detail)
        elif r.status == Status.NUMERIC:
            ET.SubElement(case, "system-out").text = _clean(f"numeric: {r.message}")


def _claim(suite: _Suite, p: PartReport, line: int) -> None:
    f = suite.f
    case = suite.case(_classname(f.path, p.name), _short(f"claim: {p.claim}" if p.claim else "claim"), line)
    if p.claim_established:
        return
    message = f"part {p.name}: claim not established: {p.claim_message}"
    if any(s.result.status == Status.ERROR for s in p.steps):
        suite.outcome(case, "skipped", "", message)
    else:
        suite.outcome(case, "failure", "claim", message, f"{f.path}:{line}: {message}")


def render(reports: list[FileReport], seconds: float, strict: bool = False) -> str:
    """The JUnit XML document (a <testsuites> root)."""
    from proofcheck.report.source import load_source
    root = ET.Element("testsuites", name="proofcheck")
    totals = dict(tests=0, failures=0, errors=0, skipped=0)
    for f in reports:
        suite = _Suite(root, f)
        step_lines = {s.line for p in f.parts for s in p.steps if s.result.status == Status.ERROR}
        for e in f.errors:
            if e.line in step_lines and (e.path or f.path) == f.path:
                continue  # reported on the step's own testcase
            case = suite.case(_classname(f.path), f"input error (line {e.line})", e.line)
            suite.outcome(case, "error", "input error", f"{_where(e.path or f.path, e.line, e.column)}: {e.message}",
                          _error_text(f, e))
        source = load_source(f.path, displays=False) if f.parts else None
        for p in f.parts:
            _steps(suite, p, strict)
            ps = source.parts.get(p.name) if source else None
            _claim(suite, p, (ps.claim_line or ps.start_line) if ps else (p.steps[0].line if p.steps else 1))
        if not f.parts and not f.errors:  # nothing checked and no error: say so rather than pass silently
            case = suite.case(_classname(f.path), "derivation", 1)
            suite.outcome(case, "failure", f.status.value, f"{f.path}: {f.status.value}")
        suite.finish()
        for k in totals:
            totals[k] += getattr(suite, k)
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
