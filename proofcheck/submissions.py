"""Answer key + submissions -> kernel tasks in ONE shared Planner -> one run -> grades.

A submission (a derivation file, or a plain text file holding only the steps) is merged with the
key part it targets: the key's claim, symbols, definitions and givens apply, the student's own new
symbols and definitions are added. Each chain is planned exactly as `verify` plans a file, and a
few more tasks are queued: does the first line match the claim's left side, does the last line
match its right side, does some line reach each required intermediate result. Scores come from the
verdicts in proofcheck/grade.py. Nothing here raises for a bad submission: it gets a zero and a
message."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from proofcheck.errors import LimitError, ProofcheckError, ReadError, show_line
from proofcheck.grade import Grade, PartOutcome, score_part
from proofcheck.kernel.terms import Implication, Relation, StepTask
from proofcheck.model import Declaration, Derivation, Part, Span, Text
from proofcheck.parse import parse_expression_or_relation
from proofcheck.latex_input import is_latex_sheet, sheet_steps
from proofcheck.read import MAX_STEPS, is_derivation_text, load_text, parse_derivation_text, split_steps
from proofcheck.rubric import PartRubric, read_rubric
from proofcheck.verify import ErrorInfo, Options, Planner, compose, implies_relation, run_plans

SUFFIXES = (".yaml", ".yml", ".txt", ".md")  # what a directory of submissions is searched for
MAX_UNKNOWN_PARTS = 10  # parts not in the key that are reported one by one
_PART_COMMENT = re.compile(r"^[ \t]*#[ \t]*part[ \t]*:[ \t]*(\S+)[ \t]*$", re.MULTILINE)
_DEFINED_NAME = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\(|:=)")


@dataclass
class Key:
    """An answer key: the derivation, its rubric per part, and its parsed required results."""

    path: str
    derivation: Derivation
    rubric: dict[str, PartRubric]
    required: dict[str, list[object]] = field(default_factory=dict)  # part -> parsed required formulas

    @property
    def parts(self) -> dict[str, Part]:
        """The key's parts by name, in order."""
        return {p.name: p for p in self.derivation.parts}


def load_key(path: str, options: Options) -> tuple[Key | None, list[ErrorInfo]]:
    """Read and validate an answer key: the file, its `grading` block and every formula in it."""
    lines: list[str] = []
    try:
        text = load_text(path)
        lines = text.splitlines()
        derivation = parse_derivation_text(text, path)
        rubric = read_rubric(derivation, text)
    except ProofcheckError as exc:
        return None, [_error(exc, lines)]
    key = Key(path, derivation, rubric)
    plan = Planner(options).plan_derivation(derivation)  # parses every formula; nothing is run
    errors = list(plan.errors)
    for part in derivation.parts:
        if part.claim is None:
            errors.append(ErrorInfo(part.span.line, part.span.col, f"part `{part.name}` of the key has no claim",
                                    show_line(lines, part.span), path))
    for pp in plan.parts:
        statement = isinstance(pp.chain.lines[0], Relation) if pp.chain else False
        key.required[pp.name] = []
        for req in rubric[pp.name].required:
            try:
                value = parse_expression_or_relation(req.text, pp.chain.scope)
            except ProofcheckError as exc:
                errors.append(_error(exc, lines))
                continue
            if isinstance(value, Relation) != statement:
                want = "a relation (the chain is a statement chain)" if statement else \
                    "an expression (the chain is an expression chain)"
                errors.append(ErrorInfo(req.text.span.line, req.text.span.col, f"a required result here is {want}",
                                        show_line(lines, req.text.span), path))
            key.required[pp.name].append(value)
    return key, errors


# ---------------------------------------------------------------------------------------------
# Reading submissions


@dataclass
class Attempt:
    """One submitted chain, merged with the key part it is graded against."""

    part: Part
    notes: list[str] = field(default_factory=list)


@dataclass
class Submission:
    """A submission file as read: its chains, or why it could not be read."""

    path: str
    targets: list[str]  # the key parts it is scored over (its maximum)
    attempts: list[Attempt] = field(default_factory=list)
    errors: list[ErrorInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    unreadable: bool = False  # the whole file could not be read


def submission_paths(paths: list[str], key_path: str) -> list[str]:
    """Files to grade: files as given; directories searched for *.yaml, *.yml, *.txt (except the key)."""
    out: list[str] = []
    seen: set[str] = set()
    key = _resolved(key_path)
    for p in paths:
        path = Path(p)
        found = sorted(f for f in path.rglob("*") if f.suffix.lower() in SUFFIXES and f.is_file()
                       and _resolved(f) != key and not any(x.startswith(".") for x in f.relative_to(path).parts)) \
            if path.is_dir() else [path]
        for f in found:
            if _resolved(f) not in seen:
                seen.add(_resolved(f))
                out.append(str(f))
    return out


def _resolved(p) -> str:
    try:
        return str(Path(p).resolve())
    except OSError:
        return str(p)


def read_submission(path: str, key: Key, part: str | None = None) -> Submission:
    """Read one submission and decide which key part each of its chains is graded against."""
    parts = key.parts
    sub = Submission(path, [part] if part else list(parts))
    try:
        text = load_text(path).replace("\r\n", "\n")
        sub.lines = text.splitlines()
        comment = _PART_COMMENT.search(text)
        if not part and comment and comment.group(1) in parts:
            sub.targets = [comment.group(1)]
        if Path(path).suffix.lower() in (".yaml", ".yml") or is_derivation_text(text):
            _read_derivation(sub, text, key, part, comment)
        else:
            _read_plain(sub, text, key, part, comment)
    except ProofcheckError as exc:
        sub.attempts, sub.unreadable = [], True
        sub.errors.append(_error(exc, sub.lines))
    return sub


def _read_plain(sub: Submission, text: str, key: Key, part: str | None, comment) -> None:
    target = _single_target(sub, key, part, comment)
    if is_latex_sheet(text):  # a Markdown/LaTeX sheet: its $$ ... $$ chain, declared by the key
        steps = sheet_steps(text, sub.path, key.derivation, target)
    else:
        origins = tuple((i + 1, 1) for i in range(text.count("\n") + 1))
        steps = split_steps(Text(text, sub.path, origins))
    if not steps:
        raise ReadError("no steps: a plain-text submission holds the chain, one step per line", Span(sub.path, 1, 1))
    if len(steps) > MAX_STEPS:
        raise LimitError(f"{len(steps)} steps; the limit is {MAX_STEPS}", Span(sub.path, 1, 1))
    sub.attempts.append(_merge(key.parts[target], None, steps, Span(sub.path, 1, 1)))


def _read_derivation(sub: Submission, text: str, key: Key, part: str | None, comment) -> None:
    d = parse_derivation_text(text, sub.path)
    if len(d.parts) == 1 and d.parts[0].name == "main":  # a file with `steps`: one chain
        own = d.parts[0]
        sub.attempts.append(_merge(key.parts[_single_target(sub, key, part, comment)], own, own.steps, own.span))
        return
    if part:  # a sheet with parts, graded on the one part named on the command line
        chosen = [p for p in d.parts if p.name == part]
        if not chosen:
            raise ReadError(f"this submission has no part named `{part}` (--part)", Span(sub.path, 1, 1))
        sub.attempts.append(_merge(key.parts[part], chosen[0], chosen[0].steps, chosen[0].span))
        return
    sub.targets = list(key.parts)  # a whole sheet: scored over every part of the key
    if not any(p.name in key.parts for p in d.parts):
        raise ReadError(f"no part of this file is a part of the key; the key's parts are: {', '.join(key.parts)}",
                        Span(sub.path, 1, 1))
    unknown = [p for p in d.parts if p.name not in key.parts]
    if len(unknown) > MAX_UNKNOWN_PARTS:
        sub.errors.append(ErrorInfo(1, 1, f"{len(unknown)} parts are not parts of the key (only the first "
                                    f"{MAX_UNKNOWN_PARTS} are listed)", "", sub.path))
    for p in d.parts:
        if p.name not in key.parts:
            if unknown.index(p) >= MAX_UNKNOWN_PARTS:
                continue
            hint = difflib.get_close_matches(p.name, list(key.parts), n=1)
            sub.errors.append(ErrorInfo(p.span.line, p.span.col, f"the key has no part named `{p.name}`"
                                        + (f" (did you mean `{hint[0]}`?)" if hint else ""),
                                        show_line(sub.lines, p.span), sub.path))
            continue
        sub.attempts.append(_merge(key.parts[p.name], p, p.steps, p.span))


def _single_target(sub: Submission, key: Key, part: str | None, comment) -> str:
    """The key part a single chain is graded against: --part, `# part: NAME`, the only part, the first."""
    if part:
        return part
    if comment:
        name = comment.group(1)
        if name not in key.parts:
            raise ReadError(f"`# part: {name}`: the key has no part named `{name}`; its parts are: "
                            f"{', '.join(key.parts)}", Span(sub.path, _line_of(comment), 1))
        return name
    first = next(iter(key.parts))
    sub.targets = [first]
    if len(key.parts) > 1:
        sub.notes.append(f"Graded against part `{first}`, the key's first part (name another with a "
                         "`# part: NAME` line or --part)")
    return first


def _line_of(match) -> int:
    return match.string.count("\n", 0, match.start()) + 1


def _merge(kp: Part, own: Part | None, steps: list[Text], span: Span) -> Attempt:
    """The key part with the student's steps and the student's own new symbols and definitions."""
    notes: list[str] = []
    key_defs = {_defined(t): " ".join(t.text.split()) for t in kp.define}
    key_types = {n: " ".join(d.type_text.text.split()) for d in kp.symbols for n in d.names}
    symbols, define = list(kp.symbols), list(kp.define)
    if own is not None:
        for decl in own.symbols:
            # a student may not retype the key's names (a narrower type could make a false step true)
            for n in decl.names:
                if n in key_types and " ".join(decl.type_text.text.split()) != key_types[n]:
                    notes.append(f"`{n}` keeps the key's type `{key_types[n]}`")
            new = tuple(n for n in decl.names if n not in key_types and n not in key_defs)
            if new:
                symbols.append(Declaration(new, decl.type_text, decl.span))
        for t in own.define:
            name = _defined(t)
            if name in key_defs or name in key_types:
                if " ".join(t.text.split()) != key_defs.get(name):
                    notes.append(f"your definition of `{name}` is not used: the key defines `{name}`")
                continue
            define.append(t)
        if own.given:
            notes.append("hypotheses come from the key: your `given` entries are not used")
        if own.claim is not None and kp.claim is not None and \
                " ".join(own.claim.text.split()) != " ".join(kp.claim.text.split()):
            notes.append(f"graded against the key's claim `{' '.join(kp.claim.text.split())}`, not yours")
    merged = Part(kp.name, kp.claim, steps, symbols, define, list(kp.given), span, span)
    return Attempt(merged, notes)


def _defined(t: Text) -> str:
    m = _DEFINED_NAME.match(t.text)
    return m.group(1) if m else ""


def _error(exc: ProofcheckError, lines: list[str]) -> ErrorInfo:
    span = exc.span
    return ErrorInfo(span.line if span else 1, span.col if span else 1, exc.message, show_line(lines, span),
                     span.path if span else "")


# ---------------------------------------------------------------------------------------------
# Planning


class SharedPlanner(Planner):
    """A Planner that queues each distinct task once: in a class, many students write the same step.

    Safe because a verdict depends only on the task (its random points are seeded from the task)."""

    def __init__(self, options: Options):
        super().__init__(options)
        self._index: dict = {}
        self.requested = 0

    def add(self, task: StepTask) -> int:
        """Queue a task unless an identical one is queued; returns its index."""
        self.requested += 1
        rule = replace(task.rule, span=None) if task.rule is not None else None  # spans differ per file
        ident = (task.prev, task.op, task.cur, rule, task.context, task.key)
        try:
            found = self._index.get(ident)
        except TypeError:  # something unhashable: just queue it
            return super().add(task)
        if found is None:
            found = self._index[ident] = super().add(task)
        return found


@dataclass
class _AttemptPlan:
    submission: Submission
    attempt: Attempt
    plan: object  # verify's file plan
    start: int | None = None
    final: int | None = None
    relation_problem: str = ""
    from_result: bool = False
    required: list[list[tuple[int, int]]] = field(default_factory=list)  # per result: (line, task)


def _plan_attempt(planner: Planner, key: Key, sub: Submission, attempt: Attempt) -> _AttemptPlan:
    name = attempt.part.name
    derivation = Derivation(sub.path, key.derivation.title, [attempt.part], lines=sub.lines)
    ap = _AttemptPlan(sub, attempt, planner.plan_derivation(derivation))
    if not ap.plan.parts or ap.plan.parts[0].chain is None:
        return ap
    chain = ap.plan.parts[0].chain
    claim, first, last, ctx = chain.claim, chain.lines[0], chain.lines[-1], chain.context
    statement = isinstance(first, Relation)
    composed = compose([o for o in chain.ops if o != "?"], statement)
    # The same tasks (same text and key) as verify's claim check, so the shared planner runs them once.
    start = end = None
    if statement and isinstance(claim, Implication):
        if composed is None or (claim.both and composed != "<==>"):
            ap.relation_problem = f"the steps give `{composed or 'nothing'}`, the claim needs " \
                                  f"`{'<==>' if claim.both else '==>'}`"
        start = StepTask(claim.premise, "<==>", chain.left, None, ctx, f"{name}:claim-start")
        end = StepTask(last, "<==>", claim.conclusion, None, ctx, f"{name}:claim-end")
    elif statement:
        left = chain.left
        start = StepTask(left.lhs, left.op, left.rhs, None, ctx, f"{name}:claim-start")
        end = StepTask(last, "<==>", claim, None, ctx, f"{name}:claim-end")
    elif isinstance(claim, Implication):
        ap.relation_problem = "the claim is an implication, but the steps form an expression chain"
    else:
        if composed is None or not implies_relation(composed, claim.op):
            ap.relation_problem = f"the steps give `{composed or 'no single relation'}`, the claim says `{claim.op}`"
        start = StepTask(claim.lhs, "=", chain.left, None, ctx, f"{name}:claim-start")
        end = StepTask(last, "=", claim.rhs, None, ctx, f"{name}:claim-end")
    # Matching is up to equivalence, so a chain that starts from the key's result itself also "starts
    # at the claim's left side"; one that merely restates the result shows nothing.
    question, result = (claim.premise, claim.conclusion) if isinstance(claim, Implication) else \
        (claim.lhs, claim.rhs) if isinstance(claim, Relation) and not statement else (None, None)
    ap.from_result = result is not None and _same(first, result) and not _same(question, result)
    if start is not None:
        ap.start = planner.add(start)
    if end is not None and last is not None:
        ap.final = planner.add(end)
    for j, req in enumerate(key.required.get(name, [])):
        checks = []
        for i, line in enumerate(chain.lines):
            # the starting line is the question, not the student's work: in a chain of `=` it always
            # equals a correct intermediate, so only the lines the student derived can reach one
            if i > 0 and line is not None and isinstance(line, Relation) == isinstance(req, Relation):
                op = "<==>" if statement else "="
                checks.append((i, planner.add(StepTask(line, op, req, None, ctx, f"{name}:required{j}"))))
        ap.required.append(checks)
    return ap


def _same(a, b) -> bool:
    """Whether two parsed formulas are the same formula (SymPy's structural equality, no algebra)."""
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - e.g. an ambiguous matrix comparison: not the same
        return False


def grade_paths(paths: list[str], key: Key, options: Options, part: str | None = None,
                progress_factory=None) -> tuple[list[Grade], SharedPlanner]:
    """Grade every submission: one planner, one worker pool, one run."""
    planner = SharedPlanner(options)
    subs = [read_submission(p, key, part) for p in paths]
    plans: list[_AttemptPlan] = []
    outcomes: dict[int, dict[str, PartOutcome]] = {id(s): {} for s in subs}
    for sub in subs:
        for attempt in sub.attempts:
            try:
                plans.append(_plan_attempt(planner, key, sub, attempt))
            except Exception as exc:  # noqa: BLE001 - one odd file must not stop the batch
                span = attempt.part.span
                error = ErrorInfo(span.line, span.col, f"could not read this chain ({type(exc).__name__}: {exc})",
                                  "", sub.path)
                outcomes[id(sub)][attempt.part.name] = PartOutcome(attempt.part.name, errors=[error], readable=False)
    progress = progress_factory(len(planner.tasks)) if progress_factory else None
    reports = run_plans(planner, [ap.plan for ap in plans], options, progress)
    results = planner.results
    for ap, report in zip(plans, reports):
        pr = report.parts[0] if report.parts else None
        o = PartOutcome(ap.attempt.part.name, True, pr.steps if pr else [], list(report.errors),
                        results[ap.final] if ap.final is not None else None,
                        results[ap.start] if ap.start is not None else None, ap.relation_problem,
                        [[(i, results[t]) for i, t in checks] for checks in ap.required], ap.attempt.notes,
                        readable=pr is not None, from_result=ap.from_result,
                        sources={i: " ".join(t.text.split()) for i, t in enumerate(ap.attempt.part.steps)})
        outcomes[id(ap.submission)][o.name] = o
    grades = []
    for sub in subs:
        got = outcomes[id(sub)]
        parts = []
        for name in sub.targets:
            o = got.get(name) or PartOutcome(name, attempted=sub.unreadable, readable=False)
            parts.append(score_part(key.rubric[name], o, options.strict))
        notes = sub.notes + [n for o in got.values() for n in o.notes]
        grades.append(Grade(sub.path, sub.path, parts, sub.errors, notes, sub.unreadable))
    return grades, planner
