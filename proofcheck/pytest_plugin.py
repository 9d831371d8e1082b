"""pytest plugin: `pytest derivations/` collects derivation files as tests.

Follows pytest's documented pattern for YAML test files (pytest_collect_file -> File -> Item,
repr_failure, reportinfo), public API only."""

from __future__ import annotations

import pytest

from proofcheck.kernel.verdict import Status
from proofcheck.read import is_derivation_text
from proofcheck.verify import FileReport, Options, PartReport, verify_paths


def pytest_addoption(parser):
    """Options of the plugin."""
    group = parser.getgroup("proofcheck", "derivation files checked by proofcheck")
    group.addoption("--proofcheck-timeout", type=float, default=10.0, help="seconds per step (default 10)")
    group.addoption("--proofcheck-strict", action="store_true", help="`numeric` steps fail the test")
    group.addoption("--proofcheck-seed", type=int, default=0, help="seed of the random points")
    group.addoption("--proofcheck-per-step", action="store_true", help="one test item per step instead of per part")
    group.addoption("--proofcheck-jobs", type=int, default=1, help="worker processes per file")
    group.addoption("--proofcheck-no-cache", action="store_true", help="do not use the verdict cache")


def pytest_collect_file(parent, file_path):
    """Collect YAML files that start a derivation (`proofcheck: 1`)."""
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    try:
        head = file_path.read_bytes()[:100_000].decode("utf-8", errors="replace")
    except OSError:
        return None
    if not is_derivation_text(head):
        return None
    return DerivationFile.from_parent(parent, path=file_path)


class DerivationFailure(Exception):
    """A part (or step) that is not established."""

    def __init__(self, report: FileReport, part: PartReport | None, step_index: int | None = None):
        super().__init__(report.path)
        self.report, self.part, self.step_index = report, part, step_index


class DerivationFile(pytest.File):
    """One derivation file; it is checked once, and its items read the shared report."""

    _report: FileReport | None = None

    def report(self) -> FileReport:
        """Check the file (once)."""
        if self._report is None:
            cfg = self.config
            options = Options(timeout=cfg.getoption("proofcheck_timeout"), seed=cfg.getoption("proofcheck_seed"),
                              strict=cfg.getoption("proofcheck_strict"), jobs=cfg.getoption("proofcheck_jobs"),
                              cache=not cfg.getoption("proofcheck_no_cache"))
            self._report = verify_paths([str(self.path)], options)[0]
        return self._report

    def collect(self):
        """One item per part (or per step with --proofcheck-per-step)."""
        from proofcheck.errors import ProofcheckError
        from proofcheck.read import read_derivation
        try:
            derivation = read_derivation(self.path)
        except ProofcheckError:
            yield PartItem.from_parent(self, name="file", part_name=None, line=1)
            return
        per_step = self.config.getoption("proofcheck_per_step")
        for part in derivation.parts:
            line = part.steps[0].span.line if part.steps else 1
            if per_step:
                for i, step in enumerate(part.steps[1:], 1):
                    yield StepItem.from_parent(self, name=f"{part.name}[{i}]", part_name=part.name, index=i,
                                               line=step.span.line)
                yield PartItem.from_parent(self, name=f"{part.name}[claim]", part_name=part.name, line=line,
                                           claim_only=True)
            else:
                yield PartItem.from_parent(self, name=part.name, part_name=part.name, line=line)


class _Item(pytest.Item):
    def __init__(self, *, part_name, line, **kwargs):
        super().__init__(**kwargs)
        self.part_name, self.line = part_name, line

    def _part(self) -> tuple[FileReport, PartReport | None]:
        report = self.parent.report()
        part = next((p for p in report.parts if p.name == self.part_name), None)
        return report, part

    def _ok(self, status: Status) -> bool:
        ok = {Status.PROVED} if self.config.getoption("proofcheck_strict") else {Status.PROVED, Status.NUMERIC}
        return status in ok

    def repr_failure(self, excinfo, style=None):
        """Show the file position, the failing steps, verdicts and counterexamples."""
        if not isinstance(excinfo.value, DerivationFailure):
            return super().repr_failure(excinfo)
        return describe_failure(excinfo.value)

    def reportinfo(self):
        """Where the item is: the YAML file and line."""
        return self.path, self.line - 1, f"derivation {self.name}"


class PartItem(_Item):
    """A chain and its claim."""

    def __init__(self, *, claim_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.claim_only = claim_only

    def runtest(self):
        """Fail unless the part is established (and, without --proofcheck-per-step, every step holds)."""
        report, part = self._part()
        if part is None or report.errors:
            raise DerivationFailure(report, part)
        if self.claim_only:
            if not part.claim_established:
                raise DerivationFailure(report, part)
            return
        if not (part.claim_established and self._ok(part.status)):
            raise DerivationFailure(report, part)


class StepItem(_Item):
    """One step of a chain."""

    def __init__(self, *, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def runtest(self):
        """Fail unless the step is proved (or numeric without strict)."""
        report, part = self._part()
        if part is None:
            raise DerivationFailure(report, part)
        step = part.steps[self.index - 1]
        if not self._ok(step.result.status):
            raise DerivationFailure(report, part, self.index)


def describe_failure(failure: DerivationFailure) -> str:
    """A plain-text account of what is not established, pointing at file:line."""
    report, part = failure.report, failure.part
    lines = []
    for e in report.errors:
        lines.append(f"{e.path or report.path}:{e.line}:{e.column}: error: {e.message}")
        if e.source:
            lines.append(e.source)
    if part is None:
        return "\n".join(lines) or f"{report.path}: could not be checked"
    if part.claim and not part.claim_established:
        lines.append(f"{report.path}: part {part.name}: claim not established: {part.claim_message}")
    for s in part.steps:
        if failure.step_index is not None and s.index != failure.step_index:
            continue
        if s.result.status in (Status.PROVED, Status.NUMERIC) and failure.step_index is None:
            continue
        lines.append(f"{report.path}:{s.line}: step {s.index}: {s.relation} {s.text}"
                     + (f"   by {s.rule}" if s.rule else ""))
        lines.append(f"    {s.result.status.value}: {s.result.message}")
        ce = s.result.counterexample
        if ce:
            lines.append("    counterexample: " + ", ".join(f"{k} = {v}" for k, v in ce.items()
                                                          if k not in ("lhs", "rhs")))
            lines.append(f"    left side = {ce['lhs']}, right side = {ce['rhs']}")
    if len(lines) == 0:
        lines.append(f"{report.path}: part {part.name} is {part.status.value}")
    return "\n".join(lines)
