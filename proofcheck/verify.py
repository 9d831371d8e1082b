"""The check stage: derivation files -> parsed chains -> kernel tasks -> file reports."""

from __future__ import annotations

import difflib
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

import sympy as sp

from proofcheck.cache import VerdictCache, code_fingerprint, task_key
from proofcheck.errors import ParseError, ProofcheckError, show_line
from proofcheck import engines
from proofcheck.kernel.rules import RULES
from proofcheck.kernel.terms import at_point, Context, Implication, Relation, RuleCall, StepTask
from proofcheck.kernel.verdict import Status, StepResult
from proofcheck.latex import read_markdown, sheet_derivation
from proofcheck.model import Derivation, Part, Span, Text, compose, implies_relation
from proofcheck.parse import (build_scope, parse_claim, parse_expression_or_relation, parse_relation,
                              parse_step)
from proofcheck.read import is_derivation_text, load_text, parse_derivation_text, read_derivation
from proofcheck.report import written


@dataclass
class Options:
    """What the user asked for on the command line."""

    timeout: float = 10.0
    seed: int = 0
    strict: bool = False
    jobs: int = 1
    cache: bool = False  # the command line turns it on (`--no-cache` off)
    cache_dir: str | None = None
    engine: str = "local"  # where tasks run: "local" worker processes or a "dask" cluster (engines.py)
    scheduler: str | None = None  # a Dask scheduler's address; None starts a local cluster


@dataclass
class ErrorInfo:
    """An input error with its position and the source line."""

    line: int
    column: int
    message: str
    source: str = ""
    path: str = ""


@dataclass
class StepReport:
    """One step's verdict, with where it is and what it says."""

    index: int
    line: int
    column: int
    relation: str
    text: str
    rule: str
    result: StepResult
    display_fn: object = None  # a thunk making the formula as written (parsed only when shown)

    @property
    def display(self):
        """The formula as written (a report.written tree: the author's terms and names), or None."""
        return _force(self, "display_fn")


@dataclass
class PartReport:
    """One chain's steps, its claim and its status."""

    name: str
    claim: str
    status: Status
    claim_established: bool
    claim_message: str
    steps: list[StepReport]
    start_text: str = ""
    start_display_fn: object = None

    @property
    def start_display(self):
        """The starting line as written (a report.written tree), or None."""
        return _force(self, "start_display_fn")


class _Shown:
    """A computed display value (a SymPy Lambda is callable too, so it cannot mark 'computed')."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _force(obj, attr: str):
    v = getattr(obj, attr)
    if isinstance(v, _Shown):
        return v.value
    value = _display(v) if callable(v) else v
    setattr(obj, attr, _Shown(value))
    return value


@dataclass
class FileReport:
    """Everything said about one file."""

    path: str
    title: str
    status: Status
    errors: list[ErrorInfo] = field(default_factory=list)
    parts: list[PartReport] = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------------------------------------
# Planning: parse everything, collect kernel tasks


@dataclass
class _StepPlan:
    index: int
    line: int
    column: int
    relation: str
    text: str
    rule: str
    task: int | None = None
    preset: StepResult | None = None
    display: object = None


@dataclass
class ParsedChain:
    """A part's parsed lines, kept on its plan for callers that queue their own tasks (grading)."""

    context: Context
    scope: object  # parse.Scope: the part's declarations, to parse more formulas in them
    claim: object  # Relation, Implication or None
    lines: list = field(default_factory=list)  # the start and each step's body; None where unreadable
    ops: list[str] = field(default_factory=list)  # each step's relation; "?" where unreadable
    left: object = None  # the chain's left end after `at` / `limit` steps
    at_checks: list[int] = field(default_factory=list)  # tasks: the steps before each `by at` hold at its point


@dataclass
class _PartPlan:
    name: str
    claim: str
    steps: list[_StepPlan] = field(default_factory=list)
    claim_tasks: list[tuple[str, int]] = field(default_factory=list)
    claim_problem: str = ""
    start_text: str = ""
    start_display: object = None
    chain: ParsedChain | None = None


@dataclass
class _FilePlan:
    path: str
    title: str
    errors: list[ErrorInfo] = field(default_factory=list)
    parts: list[_PartPlan] = field(default_factory=list)


class Planner:
    """Collects kernel tasks from many files so one worker pool can run them all."""

    def __init__(self, options: Options):
        self.options = options
        self.tasks: list[StepTask] = []
        self._scopes: dict = {}
        self.results: list[StepResult] = []  # filled by run_plans, one per task, for callers' own tasks

    def add(self, task: StepTask) -> int:
        """Queue a task; returns its index."""
        self.tasks.append(task)
        return len(self.tasks) - 1

    def plan_path(self, path: str) -> _FilePlan:
        """Read and parse one file into a plan (errors are recorded, never raised)."""
        try:
            text = load_text(path)
            derivation = parse_derivation_text(text, path)
        except ProofcheckError as exc:
            lines = _safe_lines(path)
            return _FilePlan(path, "", [_error_info(exc, lines)])
        return self.plan_derivation(derivation)

    def plan_derivation(self, derivation: Derivation) -> _FilePlan:
        """Parse every part of a derivation into a plan."""
        plan = _FilePlan(derivation.path, derivation.title)
        for part in derivation.parts:
            try:
                plan.parts.append(self._plan_part(part, derivation, plan))
            except ProofcheckError as exc:
                plan.errors.append(_error_info(exc, derivation.lines))
        return plan

    def _plan_part(self, part: Part, derivation: Derivation, plan: _FilePlan) -> _PartPlan:
        key = (tuple(part.symbols), tuple(part.define), tuple(part.given))
        if key not in self._scopes:  # parts share the file's declarations: parse them once
            # Every input error parsing can find is reported, like a compiler, not only the first.
            found: list[ProofcheckError] = []
            scope = build_scope(part.symbols, part.define, found)
            givens = []
            for g in part.given:
                try:
                    givens.append((g.label, parse_relation(g.text, scope)))
                except ProofcheckError as exc:
                    found.append(exc)
            self._scopes[key] = (scope, tuple(givens))
            plan.errors.extend(_error_info(e, derivation.lines) for e in found)
        scope, givens = self._scopes[key]
        context = Context(tuple(scope.symbols.values()), givens, self.options.seed, self.options.timeout)
        pp = _PartPlan(part.name, " ".join(part.claim.text.split()) if part.claim else "")
        claim = None
        if part.claim is not None:
            try:
                claim = parse_claim(part.claim, scope)
            except ProofcheckError as exc:
                plan.errors.append(_error_info(exc, derivation.lines))
        for text in part.densities.values():  # what a sheet's density notation reads as: an expression of the part
            try:
                if isinstance(parse_expression_or_relation(text, scope), Relation):
                    raise ParseError("a `densities` entry is an expression (a density's value), not a relation",
                                     text.span)
            except ProofcheckError as exc:
                plan.errors.append(_error_info(exc, derivation.lines))

        start_text = part.steps[0]
        start = parse_expression_or_relation(start_text, scope)
        pp.start_text = " ".join(start_text.text.split())
        pp.start_display = lambda: written.line(start_text, scope)
        statement_chain = isinstance(start, Relation)
        prev, prev_ok = start, True
        left = start
        ops: list[str] = []
        pp.chain = ParsedChain(context, scope, claim, [start], ops)
        for i, step_text in enumerate(part.steps[1:], 1):
            span = step_text.span
            try:
                step = parse_step(step_text, scope)
            except ProofcheckError as exc:
                plan.errors.append(_error_info(exc, derivation.lines))
                op = _leading_op(step_text.text)  # shown once, in front of the rest of the line
                rest = " ".join(step_text.text.split())[len(op):].lstrip()
                pp.steps.append(_StepPlan(i, span.line, span.col, op, rest, "",
                                          preset=StepResult(Status.ERROR, "parse", exc.message)))
                prev_ok = False
                ops.append("?")
                pp.chain.lines.append(None)
                continue
            pp.chain.lines.append(step.body)
            rule_name = step.rule.name if step.rule else ""
            sp_plan = _StepPlan(i, span.line, span.col, step.op, step.body_text, _rule_text(step.rule),
                                display=lambda step_text=step_text: written.step(step_text, scope))
            pp.steps.append(sp_plan)
            problem = self._step_problem(step, statement_chain, givens)
            if problem:
                plan.errors.append(ErrorInfo(step.rule.span.line if step.rule and "rule" in problem else span.line,
                                             step.rule.span.col if step.rule and "rule" in problem else span.col,
                                             problem, show_line(derivation.lines,
                                                                step.rule.span if step.rule and "rule" in problem
                                                                else span), derivation.path))
                sp_plan.preset = StepResult(Status.ERROR, "parse", problem)
                prev, prev_ok = step.body, False
                ops.append("?")
                continue
            if not prev_ok:
                sp_plan.preset = StepResult(Status.UNKNOWN, "skipped", "the previous line could not be read")
            else:
                key = f"{part.name}:{i}"
                sp_plan.task = self.add(StepTask(prev, step.op, step.body, step.rule, context, key))
            ops.append(step.op)
            if rule_name == "at":
                names, values = zip(*step.rule.kwargs) if step.rule.kwargs else ((), ())
                syms = [scope.symbols[n].obj for n in names]
                before = compose(ops[:-1], statement_chain) if len(ops) > 1 and not statement_chain else None
                if syms and before:
                    # The steps before were checked where both sides are defined; the chain now speaks of the point
                    # itself, where they must hold too ((x^2 - 1)/(x - 1) = x + 1 fails at x = 1: 0/0 there).
                    pp.chain.at_checks.append(self.add(StepTask(at_point(left, syms, values), before,
                                                                at_point(prev, syms, values), None, context,
                                                                f"{part.name}:claim-at-{i}")))
                    pp.claim_tasks.append(("at", pp.chain.at_checks[-1]))
                left = at_point(left, syms, values) if syms else left
            elif rule_name == "limit" and step.rule.arrows:
                name, to, side = step.rule.arrows[0]
                left = sp.Limit(left, scope.symbols[name].obj, to, side)
                # a strict inequality does not survive a limit (t < 2 t for t > 0, both tend to 0)
                ops = [{"<": "<=", ">": ">="}.get(o, o) for o in ops]
            prev, prev_ok = step.body, True
        pp.chain.left = left

        if claim is None:
            pp.claim_problem = "the claim could not be read" if part.claim is not None else "no claim given"
            return pp
        if "?" in ops:
            pp.claim_problem = "a step could not be read"
            return pp
        right = prev
        composed = compose(ops, statement_chain)
        if statement_chain:
            if isinstance(claim, Implication):
                if composed is None or (claim.both and composed != "<==>"):
                    pp.claim_problem = f"the steps give `{composed or 'nothing'}`, the claim needs " \
                                       f"`{'<==>' if claim.both else '==>'}`"
                    return pp
                pp.claim_tasks.append(("start", self.add(StepTask(claim.premise, "<==>", left, None, context,
                                                                  f"{part.name}:claim-start"))))
                pp.claim_tasks.append(("end", self.add(StepTask(right, "<==>", claim.conclusion, None, context,
                                                                f"{part.name}:claim-end"))))
            else:
                # The chain starts from a fact (e.g. a given) and ends at the claimed relation.
                pp.claim_tasks.append(("start", self.add(StepTask(left.lhs, left.op, left.rhs, None, context,
                                                                  f"{part.name}:claim-start"))))
                pp.claim_tasks.append(("end", self.add(StepTask(right, "<==>", claim, None, context,
                                                                f"{part.name}:claim-end"))))
            return pp
        if isinstance(claim, Implication):
            pp.claim_problem = "the claim is an implication, but the steps form an expression chain"
            return pp
        if composed is None or not implies_relation(composed, claim.op):
            pp.claim_problem = f"the steps give `{composed or 'no single relation'}`, the claim says `{claim.op}`"
            return pp
        pp.claim_tasks.append(("start", self.add(StepTask(claim.lhs, "=", left, None, context,
                                                          f"{part.name}:claim-start"))))
        pp.claim_tasks.append(("end", self.add(StepTask(right, "=", claim.rhs, None, context,
                                                        f"{part.name}:claim-end"))))
        return pp

    def _step_problem(self, step, statement_chain: bool, givens) -> str:
        if statement_chain and step.op not in ("==>", "<==>"):
            return "this chain starts with a relation, so each step starts with ==> or <==>"
        if not statement_chain and step.op in ("==>", "<==>"):
            return "==> and <==> join statements; this chain starts with an expression"
        if step.rule is not None:
            if step.rule.name not in RULES or step.rule.name is None:
                known = sorted(k for k in RULES if k)
                hint = difflib.get_close_matches(step.rule.name or "", known, n=1)
                if hint:
                    return f"unknown rule `{step.rule.name}`; did you mean `{hint[0]}`?"
                return f"unknown rule `{step.rule.name}`; the rules are: {', '.join(known)}"
            if step.rule.name == "given":
                labels = {label for label, _ in givens}
                for a in step.rule.args:
                    name = str(a).lstrip("?")
                    if name not in labels:
                        return f"rule given({name}): no given is labelled {name!r}"
        return ""


def _leading_op(text: str) -> str:
    for op in ("<==>", "==>", "<=", ">=", "!=", "=", "<", ">"):
        if text.lstrip().startswith(op):
            return op
    return ""


def _rule_text(rule: RuleCall | None) -> str:
    if rule is None:
        return ""
    args = [sp.sstr(a).lstrip("?") for a in rule.args]
    args += [f"{k}={sp.sstr(v)}" for k, v in rule.kwargs]
    args += [f"{k} -> {sp.sstr(v)}{'' if d == '+-' or v in (sp.oo, -sp.oo) else d}" for k, v, d in rule.arrows]
    return rule.name + (f"({', '.join(args)})" if args else "")


def _display(make):
    try:
        return make()
    except Exception:  # noqa: BLE001 - display is best effort; the verdict does not depend on it
        return None


def _error_info(exc: ProofcheckError, lines: list[str]) -> ErrorInfo:
    span = exc.span
    return ErrorInfo(span.line if span else 1, span.col if span else 1, exc.message, show_line(lines, span),
                     span.path if span else "")


def _safe_lines(path: str) -> list[str]:
    try:
        data = Path(path).read_bytes()[:200_000]
        return data.decode("utf-8", errors="replace").splitlines()
    except OSError:
        return []


# ---------------------------------------------------------------------------------------------
# Assembling reports


def _assemble(plan: _FilePlan, results: list[StepResult], strict: bool) -> FileReport:
    report = FileReport(plan.path, plan.title, Status.ERROR, list(plan.errors))
    for pp in plan.parts:
        steps = []
        for s in pp.steps:
            res = s.preset if s.preset is not None else results[s.task]
            steps.append(StepReport(s.index, s.line, s.column, s.relation, s.text, s.rule, res, s.display))
        established, message = _claim_verdict(pp, results)
        statuses = [s.result.status for s in steps]
        if Status.ERROR in statuses:
            status = Status.ERROR
        elif Status.REFUTED in statuses:
            status = Status.REFUTED
        elif established and all(st == Status.PROVED for st in statuses) and \
                all(results[t].status == Status.PROVED for _, t in pp.claim_tasks):
            status = Status.PROVED
        elif established and all(st in (Status.PROVED, Status.NUMERIC) for st in statuses):
            status = Status.NUMERIC
        else:
            status = Status.UNKNOWN
        report.parts.append(PartReport(pp.name, pp.claim, status, established, message, steps,
                                       pp.start_text, pp.start_display))
    if report.errors:
        report.status = Status.ERROR
    else:
        order = [Status.ERROR, Status.REFUTED, Status.UNKNOWN, Status.NUMERIC, Status.PROVED]
        report.status = min((p.status for p in report.parts), key=order.index, default=Status.UNKNOWN)
    return report


def _claim_verdict(pp: _PartPlan, results: list[StepResult]) -> tuple[bool, str]:
    if pp.claim_problem:
        return False, pp.claim_problem
    bad = []
    for which, t in pp.claim_tasks:
        r = results[t]
        if r.status not in (Status.PROVED, Status.NUMERIC):
            if which == "at":
                bad.append(f"the steps before `by at` are not shown to hold at the point itself ({r.status}"
                           f"{': ' + r.message if r.message else ''})")
                continue
            where = "first line" if which == "start" else "last line"
            side = "left" if which == "start" else "right"
            detail = f": {r.message}" if r.message else ""
            bad.append(f"the {where} does not match the claim's {side} side ({r.status}{detail})")
    return (not bad), "; ".join(bad)


def established(report: FileReport, strict: bool) -> bool:
    """Whether a file counts as established for the exit code."""
    ok = {Status.PROVED} if strict else {Status.PROVED, Status.NUMERIC}
    return report.status in ok


def expand_paths(paths: list[str]) -> tuple[list[str], list[str]]:
    """Files to check (directories searched recursively for derivation files) and missing paths."""
    files, missing = [], []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for f in sorted(list(path.rglob("*.yaml")) + list(path.rglob("*.yml"))):
                try:
                    head = f.read_bytes()[:100_000].decode("utf-8", errors="replace")
                except OSError:
                    continue
                if is_derivation_text(head):
                    files.append(str(f))
        elif path.exists():
            files.append(str(path))
        else:
            missing.append(p)
    return files, missing


def run_plans(planner: Planner, plans: list[_FilePlan], options: Options, progress=None,
              run_tasks=None) -> list[FileReport]:
    """Run every queued task in time-budgeted workers and assemble the reports.

    `run_tasks(tasks, options, progress) -> results` replaces the default runner (verdict cache, then
    a fresh worker pool), e.g. for `serve`, which keeps its worker pools between requests."""
    results = (run_tasks or _run_tasks)(planner.tasks, options, progress)
    return _reports(planner, plans, results, options)


def _reports(planner: Planner, plans: list[_FilePlan], results: list[StepResult], options: Options) -> list[FileReport]:
    planner.results = results
    reports = [_assemble(p, results, options.strict) for p in plans]
    for r in reports:
        r.seconds = round(sum(s.result.seconds for p in r.parts for s in p.steps), 3)
    return reports


def plan_and_run(planner: Planner, files: list[str], options: Options, progress_factory=None) -> list[FileReport]:
    """Plan the files and check their tasks; with local workers, a file's tasks are being checked
    while the next files are planned (parsing is serial work that would otherwise leave them idle)."""
    if not files:
        return []
    if options.engine != "local":
        plans = [planner.plan_path(f) for f in files]
        progress = progress_factory(len(planner.tasks)) if progress_factory else None
        return run_plans(planner, plans, options, progress)
    progress = _LateProgress() if progress_factory else None
    cached = _CachedVerdicts(options)
    stream = engines.Stream(options.jobs, on_done=progress)
    plans = []
    try:
        for f in files:
            first = len(planner.tasks)
            plans.append(planner.plan_path(f))
            for i in range(first, len(planner.tasks)):
                if cached.lookup(i, planner.tasks[i], progress) is None:
                    stream.put(i, planner.tasks[i], options.timeout)
        if progress:
            progress.attach(progress_factory(len(planner.tasks)))
        fresh = stream.finish()
    except BaseException:  # Ctrl-C or a failure while planning: no worker may outlive it
        stream.cancel()
        raise
    return _reports(planner, plans, cached.merge(fresh, len(planner.tasks)), options)


class _CachedVerdicts:
    """The verdict cache of one run (when allowed): looked up before a task is queued, filled after."""

    def __init__(self, options: Options):
        self.cache = VerdictCache(options.cache_dir) if options.cache else None
        self.keys: dict[int, str] = {}
        self.hits: dict[int, StepResult] = {}

    def lookup(self, index: int, task: StepTask, progress=None) -> StepResult | None:
        """The cached verdict of a task, or None (then it must be checked)."""
        if self.cache is None:
            return None
        self.keys[index] = task_key(task)
        hit = self.cache.get(self.keys[index])
        if hit is not None:
            self.hits[index] = hit
            if progress:
                progress(index, hit)
        return hit

    def merge(self, fresh: dict[int, StepResult], count: int) -> list[StepResult]:
        """Store the fresh verdicts; every task's verdict in order, cached or fresh."""
        if self.cache is not None:
            for i, r in fresh.items():
                self.cache.put(self.keys[i], r)
            self.cache.close()
        return [self.hits[i] if i in self.hits else fresh[i] for i in range(count)]


class _LateProgress:
    """A progress callback that holds the calls made before the total is known (planning ends)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._target = None
        self._early: list = []

    def __call__(self, index, result) -> None:
        with self._lock:
            if self._target is None:
                self._early.append((index, result))
                return
        self._target(index, result)

    def attach(self, target) -> None:
        """Send the held calls, and every later one, to target."""
        with self._lock:
            self._target = target
            early, self._early = self._early, []
        for call in early:
            target(*call)


def _run_tasks(tasks: list[StepTask], options: Options, progress=None) -> list[StepResult]:
    """Every task's verdict: from the cache when allowed, otherwise from time-budgeted workers."""
    cached = _CachedVerdicts(options)
    todo = [i for i, t in enumerate(tasks) if cached.lookup(i, t, progress) is None]
    fresh = engines.run([tasks[i] for i in todo], options.timeout, options.jobs, options.engine, options.scheduler,
                        on_done=(lambda k, r: progress(todo[k], r)) if progress else None) if todo else []
    return cached.merge(dict(zip(todo, fresh)), len(tasks))


def verify_paths(paths: list[str], options: Options, progress_factory=None) -> list[FileReport]:
    """Check every derivation file under the given paths (unchanged files straight from the cache)."""
    files, missing = expand_paths(paths)
    reports: dict[str, FileReport] = {}
    file_keys: dict[str, str] = {}
    cache = VerdictCache(options.cache_dir) if options.cache else None
    if cache:
        for f in files:
            file_keys[f] = file_key(f, options)
            hit = cache.get_file(file_keys[f]) if file_keys[f] else None
            if hit is not None:
                reports[f] = _report_from_dict(hit, f, options)
        cache.close()
    planner = Planner(options)
    todo = [f for f in files if f not in reports]
    for f, r in zip(todo, plan_and_run(planner, todo, options, progress_factory)):
        reports[f] = r
    if cache and todo:
        cache = VerdictCache(options.cache_dir)
        for f in todo:
            if file_keys.get(f) and _cacheable(reports[f]):
                cache.put_file(file_keys[f], _report_to_dict(reports[f]))
        cache.close()
    reports_missing = [FileReport(m, "", Status.ERROR, [ErrorInfo(1, 1, "no such file or directory", "", m)])
                       for m in missing]
    return reports_missing + [reports[f] for f in files]


def verify_sheets(paths: list[str], key_path: str, options: Options, progress_factory=None) -> list[FileReport]:
    """`proofcheck verify SHEET... --key KEY.yaml`: check every chain of Markdown/text sheets read by
    proofcheck.latex (derivation files among the paths are checked as usual)."""
    def error_report(path: str, exc: ProofcheckError, lines: list[str]) -> FileReport:
        span = exc.span or Span(path, 1, 1)
        return FileReport(path, "", Status.ERROR, [ErrorInfo(span.line, span.col, exc.message,
                                                             show_line(lines, span), span.path or path)])

    try:
        key = read_derivation(key_path)
    except ProofcheckError as exc:
        return [error_report(key_path, exc, [])]
    files: list[str] = []
    missing: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files += sorted(str(f) for f in path.rglob("*") if f.is_file() and
                            f.suffix.lower() in (".md", ".markdown", ".txt", ".tex", ".yaml", ".yml"))
        elif path.exists():
            files.append(str(path))
        else:
            missing.append(p)
    planner = Planner(options)
    plans = []
    for f in files:
        try:
            text = load_text(f)
        except ProofcheckError as exc:
            plans.append(_FilePlan(f, "", [ErrorInfo(1, 1, exc.message, "", f)]))
            continue
        if is_derivation_text(text):
            plans.append(planner.plan_path(f))
            continue
        sheet = read_markdown(text, f, key)
        # inline math in prose often names things the key does not declare; `verify` checks display math
        sheet.chains = [c for c in sheet.chains if not c.inline]
        derivation = sheet_derivation(sheet, key)
        plan = _FilePlan(f, derivation.title)
        for part in derivation.parts:  # one chain at a time: a failure stays with its chain
            one = Derivation(f, derivation.title, [part], latex_names=derivation.latex_names, lines=sheet.lines)
            try:
                got = planner.plan_derivation(one)
            except Exception as exc:  # noqa: BLE001 - an internal failure on one chain must not stop the sheet
                span = part.span or Span(f, 1, 1)
                detail = " ".join(f"{type(exc).__name__}: {exc}".split())
                plan.errors.append(ErrorInfo(span.line, span.col, f"could not check this chain (internal error: "
                                             f"{detail})", show_line(sheet.lines, span), f))
                continue
            plan.parts.extend(got.parts)
            plan.errors.extend(got.errors)
        for exc in sheet.errors:
            span = exc.span or Span(f, 1, 1)
            plan.errors.append(ErrorInfo(span.line, span.col, exc.message, show_line(sheet.lines, span), f))
        if not sheet.chains and not sheet.errors:
            plan.errors.append(ErrorInfo(1, 1, "no chain of relations in display formulas ($$ ... $$) here",
                                         "", f))
        plans.append(plan)
    progress = progress_factory(len(planner.tasks)) if progress_factory else None
    reports = run_plans(planner, plans, options, progress)
    return [FileReport(m, "", Status.ERROR, [ErrorInfo(1, 1, "no such file or directory", "", m)])
            for m in missing] + reports


def _cacheable(report: FileReport) -> bool:
    return all(s.result.method not in ("timeout", "error") for p in report.parts for s in p.steps)


def _report_to_dict(r: FileReport) -> dict:
    return {
        "title": r.title, "status": r.status.value, "seconds": r.seconds,
        "errors": [vars(e) for e in r.errors],
        "parts": [{"name": p.name, "claim": p.claim, "status": p.status.value,
                   "claim_established": p.claim_established, "claim_message": p.claim_message,
                   "start_text": p.start_text,
                   "steps": [{"index": s.index, "line": s.line, "column": s.column, "relation": s.relation,
                              "text": s.text, "rule": s.rule, "status": s.result.status.value,
                              "method": s.result.method, "message": s.result.message,
                              "counterexample": s.result.counterexample, "seconds": s.result.seconds}
                             for s in p.steps]}
                  for p in r.parts],
    }


def _report_from_dict(d: dict, path: str, options: Options) -> FileReport:
    displays = _LazyDisplays(path, options)
    parts = []
    for p in d["parts"]:
        steps = [StepReport(s["index"], s["line"], s["column"], s["relation"], s["text"], s["rule"],
                            StepResult(Status(s["status"]), s["method"], s["message"], s["counterexample"],
                                       s["seconds"], {"cached": True}),
                            displays.step(p["name"], s["index"]) if s["method"] != "parse" else None)
                 for s in p["steps"]]
        parts.append(PartReport(p["name"], p["claim"], Status(p["status"]), p["claim_established"],
                                p["claim_message"], steps, p["start_text"], displays.start(p["name"])))
    return FileReport(path, d["title"], Status(d["status"]), [ErrorInfo(**e) for e in d["errors"]], parts,
                      d["seconds"])


class _LazyDisplays:
    """Formulas to pretty-print for a cached report, parsed from the file only if someone asks
    (in display mode only: the checking form of every formula is not needed again)."""

    def __init__(self, path: str, options: Options):
        self.path, self.options, self._parts_by_name = path, options, None

    def _parts(self) -> dict:
        if self._parts_by_name is None:
            self._parts_by_name = {}
            try:
                derivation = parse_derivation_text(load_text(self.path), self.path)
            except ProofcheckError:
                return self._parts_by_name
            scopes: dict = {}
            for part in derivation.parts:
                key = (tuple(part.symbols), tuple(part.define))
                try:
                    if key not in scopes:
                        scopes[key] = build_scope(part.symbols, part.define)
                except ProofcheckError:
                    continue
                self._parts_by_name[part.name] = (part, scopes[key])
        return self._parts_by_name

    def _shown(self, part: str, index: int):
        got = self._parts().get(part)
        if got is None or index >= len(got[0].steps):
            return None
        p, scope = got
        try:
            if index == 0:
                return written.line(p.steps[0], scope)
            return written.step(p.steps[index], scope)
        except ProofcheckError:
            return None

    def step(self, part: str, index: int):
        """A thunk giving the display of a step."""
        return lambda: self._shown(part, index)

    def start(self, part: str):
        """A thunk giving the display of a part's starting line."""
        return lambda: self._shown(part, 0)


def file_key(path: str, options: Options) -> str:
    """The cache key of a whole file: its bytes, the options that decide verdicts, and the code."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ""
    h = hashlib.sha256(data)
    h.update(f"|{options.timeout}|{options.seed}|{code_fingerprint()}".encode())
    return h.hexdigest()


def verify_text(text: str, path: str, options: Options) -> FileReport:
    """Check a derivation given as text (used by `check` and the tests)."""
    planner = Planner(options)
    try:
        derivation = parse_derivation_text(text, path)
        plan = planner.plan_derivation(derivation)
    except ProofcheckError as exc:
        plan = _FilePlan(path, "", [_error_info(exc, text.splitlines())])
    return run_plans(planner, [plan], options)[0]


def formula_text(t: Text) -> str:
    """A formula's text on one line."""
    return " ".join(t.text.split())
