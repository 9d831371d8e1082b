"""Answer key + submissions -> kernel tasks in ONE shared Planner -> one run -> grades.

A submission (a derivation file, or a plain text file holding only the steps) is merged with the
key part it targets: the key's claim, symbols, definitions and givens apply, the student's own new
symbols and definitions are added. Each chain is planned exactly as `verify` plans a file, and a
few more tasks are queued: does the first line match the claim's left side, does the last line
match its right side, does some line reach each required intermediate result. Scores come from the
verdicts in proofcheck/grade/score.py. Nothing here raises for a bad submission: it gets a zero and a
message."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from lark import Tree as LarkTree

from proofcheck.errors import LimitError, ProofcheckError, ReadError, show_line
from proofcheck.grade.rubric import PartRubric, read_rubric
from proofcheck.grade.score import Grade, PartOutcome, score_part, valid
from proofcheck.kernel.terms import Implication, Relation, StepTask
from proofcheck.kernel.verdict import StepResult
from proofcheck.model import Declaration, Derivation, Part, Span, Text, compose, implies_relation
from proofcheck.parse import RESERVED, grammar, mark_inner_products, parse_expression_or_relation
from proofcheck.latex import (FormulaNote, is_latex_sheet, lost_backslash_note, section_matches, sheet_chains,
                              sheet_sections)
from proofcheck.read import MAX_STEPS, is_derivation_text, load_text, parse_derivation_text, split_steps
from proofcheck.verify import ErrorInfo, Options, Planner, run_plans

SUFFIXES = (".yaml", ".yml", ".txt", ".md")  # what a directory of submissions is searched for
MAX_UNKNOWN_PARTS = 10  # parts not in the key that are reported one by one
_PART_COMMENT = re.compile(r"^[ \t]*#[ \t]*part[ \t]*:[ \t]*(\S+)[ \t]*$", re.MULTILINE)
_DEFINED_NAME = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\(|:=)")
# a front-matter line naming the student: `student: 402212214`, `id: ab12`, or the same as a `#` comment
_STUDENT_LINE = re.compile(r"^[ \t]*(?:#[ \t]*)?(?:student|student_id|id)[ \t]*:[ \t]*(\S[^\n]{0,99}?)[ \t]*$",
                           re.IGNORECASE)
FRONT_LINES = 10  # a student line counts only among the first non-blank lines of the file
MAX_ID = 100  # characters of a student id


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
    try:
        text = load_text(path)
    except ProofcheckError as exc:
        return None, [_error(exc, [])]
    return key_from_text(text, path, options)


def key_from_text(text: str, path: str, options: Options) -> tuple[Key | None, list[ErrorInfo]]:
    """Validate an answer key given as YAML text; `path` is the name its messages use."""
    lines: list[str] = text.splitlines()
    try:
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
    """One submitted chain, merged with the key part it is graded against.

    A sheet's part is several chains (all the student wrote for it, in order): they share `group`, and
    one part outcome is made of them. `variant` marks the same chain with its ambiguous lines read the
    other way (see proofcheck.latex.chains)."""

    part: Part
    notes: list[str] = field(default_factory=list)
    group: int | None = None
    variant: bool = False
    inline: bool = False  # a chain of inline math ($...$ in a sentence)
    variant_line: int | None = None  # for a variant: the one line read the other way
    review: list[str] = field(default_factory=list)  # reasons a person must look (formulas not read here)
    conditional: bool = False  # a statement under a case the student wrote (`if $A$, then $B$`): not the answer


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
    formulas: list[FormulaNote] = field(default_factory=list)  # a sheet's every formula and what became of it
    student: str = ""  # the id of a front-matter `student:` / `id:` line, or "" (the file name is used)


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
    try:
        text = load_text(path)
    except ProofcheckError as exc:
        sub = Submission(path, [part] if part else list(key.parts), unreadable=True)
        sub.errors.append(_error(exc, []))
        return sub
    return read_submission_text(text, path, key, part)


def read_submission_text(text: str, path: str, key: Key, part: str | None = None) -> Submission:
    """Read a submission given as text (`path` names it; a .yaml/.yml name reads it as a derivation)."""
    parts = key.parts
    sub = Submission(path, [part] if part else list(parts))
    try:
        text = text.replace("\r\n", "\n")
        sub.student, text = front_matter(text)
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


def front_matter(text: str) -> tuple[str, str]:
    """The student id of the file's front matter and the text with that matter blanked (lines kept).

    Front matter is a `---` ... `---` block at the very top, or, without one, the first non-blank lines:
    a line `student: ID`, `student_id: ID` or `id: ID` (also as a `# ` comment) names the student. The
    lines are blanked so that a plain-text chain does not read them as a step; line numbers stay."""
    lines = text.split("\n")
    block = range(0)
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, min(len(lines), 50)) if lines[i].strip() in ("---", "...")), None)
        if end is not None:
            block = range(0, end + 1)
    student, hit = "", None
    if block:
        hit = next((i for i in block if _STUDENT_LINE.match(lines[i])), None)
    else:
        seen = 0
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            if _STUDENT_LINE.match(line):
                hit = i
                break
            seen += 1
            if seen >= FRONT_LINES:
                break
    if hit is not None:
        student = _STUDENT_LINE.match(lines[hit]).group(1).strip().strip("\"'")[:MAX_ID]
    blank = set(block) if block and hit is not None else ({hit} if hit is not None else set())
    if not blank:
        return student, text
    return student, "\n".join("" if i in blank else line for i, line in enumerate(lines))


def _read_plain(sub: Submission, text: str, key: Key, part: str | None, comment) -> None:
    sections = {n: r.sections for n, r in key.rubric.items() if r.sections}
    repaired = lost_backslash_note(text, sub.path) if is_latex_sheet(text) else ""
    if repaired:
        sub.notes.append(repaired)
    if sections and not part and not comment and is_latex_sheet(text):
        _read_sectioned(sub, text, key, sections)
        return
    target = _single_target(sub, key, part, comment)
    if is_latex_sheet(text):  # a Markdown/LaTeX sheet: every chain written for the part, declared by the key
        chains, errors = sheet_chains(text, sub.path, key.derivation, target, sub.formulas)
        if sum(len(c.steps) for c in chains) > MAX_STEPS:
            raise LimitError(f"{sum(len(c.steps) for c in chains)} lines; the limit is {MAX_STEPS}",
                             Span(sub.path, 1, 1))
        sub.errors.extend(_error(e, sub.lines) for e in errors)
        group = len(sub.attempts)
        for c in chains:
            sub.attempts.append(replace(merge_attempt(key.parts[target], None, c.steps, c.span), group=group,
                                        inline=c.inline, conditional=c.conditional))
            for i, t in enumerate(c.steps):  # one variant per ambiguous line: the other lines as written
                if getattr(t, "alternative", None) is not None:
                    other = c.steps[:i] + [t.alternative] + c.steps[i + 1:]
                    sub.attempts.append(replace(merge_attempt(key.parts[target], None, other, c.span), group=group,
                                                variant=True, inline=c.inline, variant_line=i))
        return
    origins = tuple((i + 1, 1) for i in range(text.count("\n") + 1))
    steps = split_steps(Text(text, sub.path, origins))
    if not steps:
        raise ReadError("no steps: a plain-text submission holds the chain, one step per line", Span(sub.path, 1, 1))
    if len(steps) > MAX_STEPS:
        raise LimitError(f"{len(steps)} steps; the limit is {MAX_STEPS}", Span(sub.path, 1, 1))
    sub.attempts.append(merge_attempt(key.parts[target], None, steps, Span(sub.path, 1, 1)))


def _read_sectioned(sub: Submission, text: str, key: Key, sections: dict[str, list[str]]) -> None:
    """A whole sheet against a key whose parts name their sections: each part graded on the chains written
    under its headings; every formula accounted for (read, a condition, or not read with its reason)."""
    by_part, sheet = sheet_sections(text, sub.path, key.derivation, sections)
    sub.targets = list(key.parts)
    sub.formulas = sheet.formulas
    for e in sheet.errors:
        if e.message.startswith("`part:") and e.span is not None:  # a marker naming no part of the key
            sub.errors.append(ErrorInfo(e.span.line, e.span.col, e.message, show_line(sub.lines, e.span), sub.path))
    if sum(len(c.steps) for cs in by_part.values() for c in cs) > MAX_STEPS:
        raise LimitError(f"{sum(len(c.steps) for cs in by_part.values() for c in cs)} lines; the limit is "
                         f"{MAX_STEPS}", Span(sub.path, 1, 1))
    for note in sheet.formulas:
        owners = [n for n, labs in sections.items() if section_matches(note.section, labs)]
        if note.kind in ("read", "not read") and not owners:
            why = f" (nor could it be read: {note.reason})" if note.kind == "not read" else ""
            note.kind, note.reason = "outside", "no part of the key is answered under this heading" + why
    outside = [f for f in sheet.formulas if f.kind == "outside" and f.relation]
    missing = [n for n in sections if not by_part.get(n)]
    if outside and missing:
        # a heading with a typo (`## Qestion 1`) puts all the work outside the key's parts: scored 0 unseen
        sub.errors.append(ErrorInfo(
            outside[0].line, outside[0].column,
            f"{len(outside)} formula{'s' if len(outside) > 1 else ''} under headings that name no part of the key, "
            f"while part{'s' if len(missing) > 1 else ''} {', '.join(missing)} found nothing under "
            f"{'their' if len(missing) > 1 else 'its'} heading: check the sheet's headings",
            show_line(sub.lines, Span(sub.path, outside[0].line, outside[0].column)), sub.path))
    for name, chains in by_part.items():
        unread = [f for f in sheet.formulas if f.kind == "not read" and f.relation and
                  section_matches(f.section, sections[name])]
        review = [f"line {f.line}, column {f.column} could not be read ({f.reason.rstrip('.')})" for f in unread]
        group = len(sub.attempts)
        for k, c in enumerate(chains):
            # the student's own definitions on the sheet (`L(w) = ...` of a name the key does not declare)
            own = Part(name, None, [], [], list(c.define)) if c.define else None
            sub.attempts.append(replace(merge_attempt(key.parts[name], own, c.steps, c.span), group=group,
                                        inline=c.inline, conditional=c.conditional, review=review if k == 0 else []))
            for i, t in enumerate(c.steps):
                if getattr(t, "alternative", None) is not None:
                    other = c.steps[:i] + [t.alternative] + c.steps[i + 1:]
                    sub.attempts.append(replace(merge_attempt(key.parts[name], own, other, c.span), group=group,
                                                variant=True, inline=c.inline, variant_line=i))


def _read_derivation(sub: Submission, text: str, key: Key, part: str | None, comment) -> None:
    d = parse_derivation_text(text, sub.path)
    if len(d.parts) == 1 and d.parts[0].name == "main":  # a file with `steps`: one chain
        own = d.parts[0]
        sub.attempts.append(merge_attempt(key.parts[_single_target(sub, key, part, comment)], own, own.steps, own.span))
        return
    if part:  # a sheet with parts, graded on the one part named on the command line
        chosen = [p for p in d.parts if p.name == part]
        if not chosen:
            raise ReadError(f"this submission has no part named `{part}` (--part)", Span(sub.path, 1, 1))
        sub.attempts.append(merge_attempt(key.parts[part], chosen[0], chosen[0].steps, chosen[0].span))
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
        sub.attempts.append(merge_attempt(key.parts[p.name], p, p.steps, p.span))


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


def merge_attempt(kp: Part, own: Part | None, steps: list[Text], span: Span) -> Attempt:
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
class AttemptPlan:
    """One attempt planned: verify's file plan and the extra tasks (start, final, required results)."""

    submission: Submission
    attempt: Attempt
    plan: object  # verify's file plan
    start: int | None = None
    final: int | None = None
    relation_problem: str = ""
    from_result: bool = False
    required: list[list[tuple[int, int]]] = field(default_factory=list)  # per result: (line, task)
    restates: list[bool] = field(default_factory=list)  # per line: it is the question or the result as given
    idle: list[bool] = field(default_factory=list)  # per line: it is the line before it written again
    claims_other: bool = False  # the steps' relations compose to another relation than the claim's
    backwards: bool = False  # an inequality chain from the claim's right side to its left side
    off_question: bool = False  # its first line lacks the question's derivative, KL, ...: not the question
    sides: tuple = ()  # a statement chain's last line against the claim side by side (as written, then swapped)
    shares_heads: bool = False  # its first line has an integral, derivative, ... as the question has
    premise: tuple[int, int] | None = None  # tasks: the first line of a statement chain holds everywhere; nowhere
    holds: list[int | None] = field(default_factory=list)  # per line of a statement chain: it holds everywhere
    at_checks: list[int] = field(default_factory=list)  # tasks: the steps before each `by at` hold at its point
    answer_only: bool = False  # one step from the question to a line in the result's form: no work shown
    circular: bool = False  # the last line is the first written again


_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_OPPOSITE = {"=": "!=", "!=": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def _names(text: str) -> set[str]:
    """The names a formula's text uses, functions and operators of the language left out."""
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)) - RESERVED


def plan_attempt(planner: Planner, key: Key, sub: Submission, attempt: Attempt) -> AttemptPlan:
    """Plan one attempt's chain as `verify` would, plus the tasks that grading asks about it."""
    name = attempt.part.name
    derivation = Derivation(sub.path, key.derivation.title, [attempt.part], lines=sub.lines)
    ap = AttemptPlan(sub, attempt, planner.plan_derivation(derivation))
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
    elif claim.op in _FLIPPED and last is not None and _same(first, claim.rhs) and _same(last, claim.lhs) and \
            not _same(claim.lhs, claim.rhs):
        # an inequality proved from its right side (`2xy <= (x - y)^2 + 2xy = x^2 + y^2` for `x^2 + y^2 >= 2xy`): the
        # chain read backwards, so it starts from the question and its relations flip
        flipped = _FLIPPED[claim.op]
        if composed is None or not implies_relation(composed, flipped):
            ap.relation_problem = f"the steps, read from the claim's right side, give " \
                                  f"`{composed or 'no single relation'}`, the claim needs `{flipped}`"
        ap.claims_other = composed != flipped
        ap.backwards = True
        start = StepTask(claim.rhs, "=", chain.left, None, ctx, f"{name}:claim-start")
        end = StepTask(last, "=", claim.lhs, None, ctx, f"{name}:claim-end")
    else:
        if composed is None or not implies_relation(composed, claim.op):
            ap.relation_problem = f"the steps give `{composed or 'no single relation'}`, the claim says `{claim.op}`"
        ap.claims_other = composed != claim.op
        start = StepTask(claim.lhs, "=", chain.left, None, ctx, f"{name}:claim-start")
        end = StepTask(last, "=", claim.rhs, None, ctx, f"{name}:claim-end")
    # Matching is up to equivalence, so a chain that starts from the key's result itself also "starts
    # at the claim's left side"; one that merely restates the result shows nothing.
    question, result = (claim.premise, claim.conclusion) if isinstance(claim, Implication) else \
        (claim.lhs, claim.rhs) if isinstance(claim, Relation) and not statement else (None, None)
    ap.from_result = result is not None and _same(first, result) and not _same(question, result) and not ap.backwards
    if result is not None and not statement and last is not None and _same(last, question) and \
            not _same(question, result) and not ap.relation_problem and not ap.backwards:
        # `(x+y)^2 - 2xy = (x+y)^2 - 2xy + 0`: equal to the result, but it is the question written again
        ap.relation_problem = "the last line is the question's own expression, not the key's result"
    unfinished = _unevaluated(last) - _unevaluated(result) if result is not None and not statement else set()
    if statement and isinstance(claim, Relation) and isinstance(last, Relation) and not isinstance(last.lhs, Relation):
        # `\sigma > 0 \Rightarrow KL = E[...]`: the stated answer's right side must be in the key's form too
        unfinished = _unevaluated(last.rhs) - _unevaluated(claim.rhs)
    keyed = {_defined(t) for t in key.parts[name].define}  # rewriting with the key's definitions is a step
    heads = _families(_unevaluated(question)) if question is not None and first is not None else set()
    ap.shares_heads = bool(heads & _families(_unevaluated(first, working=True)))
    missing = heads - _families(_unevaluated(first, working=True)) - {"a substitution", "a limit"} \
        if not statement and not ap.backwards else set()
    if missing and not ap.relation_problem and attempt.part.steps and \
            not _names(attempt.part.steps[0].text) & keyed:
        # `x (2 sin x + x cos x) = ... = 2 x sin x + x^2 cos x` for the derivative of x^2 sin x: equal to the
        # question's value, but no derivative is ever taken; the chain starts from its answer in disguise
        ap.off_question = True
        ap.relation_problem = f"the question has {' and '.join(sorted(missing))}, the first line does not: the " \
                              "chain does not start from the question"
    if not missing and not ap.relation_problem and "a derivative" in heads and not statement and \
            not ap.backwards and attempt.part.steps and not _names(attempt.part.steps[0].text) & keyed and \
            _dressed(question, first):
        # `x (2 sin x + x cos x) - cos x + d/dx sin x` for the derivative of x^2 sin x: a derivative is written, but
        # beside its own value taken away; the line equals the question only because cos is the derivative of sin
        ap.off_question = True
        ap.relation_problem = "the first line has a derivative, but it is not the question's: it equals the " \
                              "question only through derivatives already worked out beside it, so the chain does " \
                              "not start from the question"
    if unfinished and not ap.relation_problem:
        # Equal to the result is not enough for the final points: `E[...]` left standing is not the answer.
        ap.relation_problem = f"the last line still has {', '.join(sorted(unfinished))}, which the key's " \
                              "result does not: it is not yet in the key's form"
    shapes = _line_shapes(attempt.part, keyed)
    claim_tree = _claim_tree(attempt.part)
    ap.restates = _restates(claim_tree, shapes)
    # `KL(q || p) = \frac{(\mu_q - \mu_p)^2}{2\sigma^2}`: one step from the question as given to a line in the result's
    # form is the answer alone, written in another form than the key's (as written it is a restatement); steps after it
    # that only reorder it (`= R' = R`) add no work
    if not statement:
        ap.idle = _idle(shapes)
        # `y = x^2 + 1` written as a step where the key gives it: the given copied, not work
        givens = _given_sides(attempt.part)
        ap.idle = [idle or (i > 0 and shapes[i - 1] is not None and (shapes[i - 1], shapes[i]) in givens)
                   for i, idle in enumerate(ap.idle)]
    ap.answer_only = result is not None and not statement and len(chain.lines) >= 2 and \
        all(ap.idle[2:len(chain.lines)]) and len(ap.idle) >= len(chain.lines) and not ap.from_result and \
        not ap.backwards and not ap.relation_problem and not ap.claims_other and _starts_at_question(claim_tree, shapes)
    if not statement:
        # `A = B = A`: a chain back to its own first line does no work, whatever its steps
        ap.circular = len(shapes) > 2 and shapes[0] is not None and shapes[0] == shapes[-1]
    if start is not None:
        ap.start = planner.add(start)
    ap.at_checks = list(chain.at_checks)  # verify's: the chain's left end is only right if they hold
    if end is not None and last is not None:
        ap.final = planner.add(end)
        if statement and isinstance(claim, Relation) and isinstance(last, Relation) and \
                not isinstance(last.lhs, Relation) and not isinstance(claim.lhs, Relation):
            # the claim is true for all values, and so is `0 = 0`: equivalent as statements, but not the claim. The
            # last statement must have the claim's two sides (either way round)
            ap.sides = tuple(planner.add(StepTask(a, "=", b, None, ctx, f"{name}:claim-side{i}")) for i, (a, b) in
                             enumerate(((last.lhs, claim.lhs), (last.rhs, claim.rhs), (last.lhs, claim.rhs),
                                        (last.rhs, claim.lhs))))
    if statement and not isinstance(claim, Implication) and first.op in _OPPOSITE:
        # a premise of the student's own that holds everywhere (`x = x \Rightarrow ...`) adds nothing to its
        # conclusion, and one that holds nowhere (`x^2 < 0 \Rightarrow ...`) makes every step vacuous
        ap.premise = (planner.add(StepTask(first.lhs, first.op, first.rhs, None, ctx, f"{name}:premise-always")),
                      planner.add(StepTask(first.lhs, _OPPOSITE[first.op], first.rhs, None, ctx,
                                           f"{name}:premise-never")))
        # each later line on its own: an implication into a statement that holds everywhere holds whatever its
        # premise says (`(x+y)^2 = x^2 + 3xy + y^2 \Rightarrow` the claim), so it is no work by itself
        ap.holds = [ap.premise[0]] + [planner.add(StepTask(line.lhs, line.op, line.rhs, None, ctx,
                                                           f"{name}:line-always-{i}"))
                                      if isinstance(line, Relation) and not isinstance(line.lhs, Relation) else None
                                      for i, line in enumerate(chain.lines[1:], 1)]
    elif statement and isinstance(claim, Implication):
        # from the key's premise (`2x - 2 = 0 \Rightarrow 2x = 2 \Rightarrow x^2 \geq 0`): a step into a line that
        # holds everywhere does no work either; but not a line in the key's defined names, which holds everywhere
        # once they are expanded (`f_0/f_1 = 1/D^* - 1` rearranges the definition of D^*: that is the work)
        texts = [t.text for t in attempt.part.steps]
        ap.holds = [None] + [planner.add(StepTask(line.lhs, line.op, line.rhs, None, ctx, f"{name}:line-always-{i}"))
                             if isinstance(line, Relation) and not isinstance(line.lhs, Relation) and
                             i < len(texts) and not _names(texts[i]) & keyed else None
                             for i, line in enumerate(chain.lines[1:], 1)]
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


_UNEVALUATED = {"Integral": "an integral", "Derivative": "a derivative", "Limit": "a limit", "Subs": "a substitution",
                "Expectation": "an expectation", "Variance": "a variance", "KL": "a KL divergence",
                "JSD": "a JS divergence", "Entropy": "an entropy", "Optimum": "an optimum", "Sum": "a sum",
                "Product": "a product", "Determinant": "a determinant", "Trace": "a trace",
                "Eigenvals": "the eigenvalues of a matrix", "MatExpectation": "an expectation",
                "MatGrad": "a derivative", "MatHessian": "a derivative"}


# an expectation, a divergence, an entropy and a variance are all integrals: a question written with one may be
# answered starting from another (`JSD(P, Q)` for the integral of the GAN value, seed 001)
_INTEGRAL_LIKE = {"an integral", "an expectation", "a variance", "a KL divergence", "a JS divergence", "an entropy"}


def _families(kinds: set) -> set:
    """Kinds of unevaluated head, with the integral-like ones as one ("an integral")."""
    return {"an integral" if k in _INTEGRAL_LIKE else k for k in kinds}


def _unevaluated(e, working: bool = False) -> set:
    """The kinds of unevaluated head in e (integrals, derivatives, expectations, divergences, ...); `working`: only
    heads whose body has their variable (`diff(5, x)` added to an answer takes no derivative of anything)."""
    import sympy as sp
    if not isinstance(e, sp.Basic):
        return set()
    return {_UNEVALUATED[type(x).__name__] for x in sp.preorder_traversal(e) if type(x).__name__ in _UNEVALUATED and
            not (working and _idle_head(x))}


def _dressed(question, first) -> bool:
    """Whether first, a line with derivatives equal to the question (which has some), is not the question with
    differentiation rules applied: it keeps none of the question's derivatives as written, and it stops being equal
    to the question once every elementary function is an arbitrary one (so sin' is no longer cos). The product rule,
    the chain rule and linearity hold for arbitrary functions; `- cos x + d/dx sin x` beside the answer does not."""
    import sympy as sp
    from sympy.core.function import AppliedUndef
    from sympy.functions.elementary.hyperbolic import HyperbolicFunction, InverseHyperbolicFunction
    from sympy.functions.elementary.trigonometric import InverseTrigonometricFunction, TrigonometricFunction
    elementary = (TrigonometricFunction, InverseTrigonometricFunction, HyperbolicFunction, InverseHyperbolicFunction,
                  sp.exp, sp.log, sp.erf)
    if not isinstance(question, sp.Expr) or not isinstance(first, sp.Expr):
        return False
    wanted = question.atoms(sp.Derivative)
    if not wanted or wanted <= first.atoms(sp.Derivative):
        return False
    try:
        opaque = {}

        def arbitrary(a):
            if a.func not in opaque:
                opaque[a.func] = sp.Function(f"{a.func.__name__}_arbitrary")
            return opaque[a.func](*a.args)

        def model(e):
            return e.replace(lambda a: isinstance(a, elementary) and not isinstance(a, AppliedUndef),
                             arbitrary).doit()
        # only a line that is the question's value as it stands (not through the givens: the start task checks
        # those) and stops being it once the functions are arbitrary
        return sp.expand((first - question).doit()) == 0 and sp.expand(model(first) - model(question)) != 0
    except Exception:  # noqa: BLE001 - not worked out: the line is taken as the question, as before
        return False


def _idle_head(head) -> bool:
    """A derivative, integral, sum or product whose body does not have its variable, or a derivative of a body linear
    in it (`diff(x, x) - 1` added to an answer: a constant, no derivative of the question)."""
    import sympy as sp
    variables = getattr(head, "variables", None) if isinstance(head, (sp.Derivative, sp.Integral, sp.Sum,
                                                                        sp.Product)) else None
    body = head.args[0] if head.args else None
    if not variables or not isinstance(body, sp.Basic):
        return False
    if not set(variables) & body.free_symbols:
        return True
    try:
        return isinstance(head, sp.Derivative) and all(body.is_polynomial(v) and sp.degree(body, v) <= 1
                                                       for v in set(variables))
    except (sp.PolynomialError, ValueError, TypeError):
        return False


def _claim_tree(part: Part):
    """The key's claim as a parse tree, or None (no claim, or one that does not parse: it is checked elsewhere)."""
    if part.claim is None:
        return None
    try:
        return grammar().parse(mark_inner_products(part.claim.text), start="claim")
    except Exception:  # noqa: BLE001 - here it only matters whether it parses
        return None


def _restates(claim, shapes: list) -> list[bool]:
    """Per line of the chain (its _line_shapes): whether it is, as written, the claim's left or right side (or for a
    statement chain the claim itself, its premise or its conclusion) — the question or the result copied, not work.

    Compared on the parse trees, with sums in any order and brackets ignored: parsed SymPy objects would not
    do, since SymPy's own evaluation makes `x^2 + 2xy + y^2 - 2xy` the same object as `x^2 + y^2`."""
    if claim is None:
        return []
    relations = [claim.children[0]] if claim.data == "claim_relation" else [claim.children[0], claim.children[2]]
    sides = {_shape(r) for r in relations}
    for r in relations:
        sides.update({_shape(r.children[0]), _shape(r.children[2])})
    return [shape is not None and shape in sides for shape in shapes]


def _given_sides(part: Part) -> set:
    """The (left, right) shapes of the part's equality givens, both ways round."""
    out = set()
    for g in part.given:
        try:
            tree = grammar().parse(mark_inner_products(g.text.text), start="claim")
        except Exception:  # noqa: BLE001 - a given that does not parse is reported by the checker
            continue
        rel = tree.children[0] if tree.data == "claim_relation" and len(tree.children) == 1 else None
        if rel is None or len(rel.children) != 3 or str(rel.children[1]) != "=":
            continue
        a, b = _shape(rel.children[0]), _shape(rel.children[2])
        out |= {(a, b), (b, a)}
    return out


def _starts_at_question(claim, shapes: list) -> bool:
    """Whether the chain's first line is, as written, the left side of the key's (relation) claim: the question."""
    return claim is not None and claim.data == "claim_relation" and bool(shapes) and shapes[0] is not None and \
        shapes[0] == _shape(claim.children[0].children[0])


def _idle(shapes: list) -> list[bool]:
    r"""Per line (its _line_shapes): whether it is the line before it written again (terms or factors in another order,
    brackets, `+ 0`, `1 \cdot`): a step that does no work (`x + y = y + x` padding a sheet)."""
    return [False] + [a is not None and a == b for a, b in zip(shapes, shapes[1:])]


def _line_shapes(part: Part, keyed: set[str] = frozenset()) -> list:
    """The shape (_shape) of each line of a chain as written, None for a line that does not parse; a name the
    student defined (not one of the key's, `keyed`) stands for its value."""
    names: dict = {}  # the sheet's own definitions of a value (`J := x^2 + y^2`), as what they stand for
    for d in part.define:
        m = re.fullmatch(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*:=\s*(.+)", d.text, re.S)
        if m is not None and m.group(1) not in keyed and m.group(1) not in {n for x in part.symbols for n in x.names}:
            try:
                names[m.group(1)] = _shape(grammar().parse(mark_inner_products(m.group(2)), start="start_line")
                                           .children[0], names)
            except Exception:  # noqa: BLE001 - a definition that does not parse stands for itself
                continue
    out = []
    for i, t in enumerate(part.steps):
        try:
            tree = grammar().parse(mark_inner_products(t.text), start="start_line" if i == 0 else "step_line")
        except Exception:  # noqa: BLE001 - a line that does not parse is reported by the planner
            out.append(None)
            continue
        out.append(_shape(tree.children[0] if i == 0 else tree.children[1], names))
    return out


def _shape(tree, names: dict | None = None) -> object:
    """A parse tree as a comparable value: sums as multisets of signed terms and products as multisets of factors
    (`-2xy + (x+y)^2` is `(y + x)^2 - 2 * y x`), brackets dropped, and a name the student defined (`J := ...`) as
    its value (`= J` after `J = x^2 + y^2` restates the result)."""
    names = names or {}
    if not isinstance(tree, LarkTree):
        return str(tree)
    if tree.data == "group":
        return _shape(tree.children[0], names)
    if tree.data == "name" and str(tree.children[0]) in names:
        return names[str(tree.children[0])]
    if tree.data in ("add", "sub", "neg", "mul", "jux"):
        terms: list[tuple[bool, object]] = []

        def walk(t, sign: bool) -> None:
            if isinstance(t, LarkTree) and t.data == "group":
                t = t.children[0]
            if isinstance(t, LarkTree) and t.data in ("add", "sub"):
                walk(t.children[0], sign)
                walk(t.children[1], sign if t.data == "add" else not sign)
            elif isinstance(t, LarkTree) and t.data == "neg":
                walk(t.children[0], not sign)
            else:
                negative, shape = _product(t, names)
                if shape != ("number", ("0",)):  # `x^2 + y^2 + 0` is the result as written
                    terms.append((sign != negative, shape))
        walk(tree, True)
        if len(terms) == 1 and terms[0][0]:
            return terms[0][1]
        return ("sum", tuple(sorted(terms, key=repr)))
    return (str(tree.data), tuple(_shape(c, names) for c in tree.children if c is not None))


def _product(tree, names: dict) -> tuple[bool, object]:
    """(negative, shape) of a product: its factors as a multiset, `*` and juxtaposition alike, signs pulled out."""
    factors: list = []

    def walk(t) -> bool:
        if isinstance(t, LarkTree) and t.data == "group" and isinstance(t.children[0], LarkTree) and \
                t.children[0].data in ("mul", "jux", "neg"):
            t = t.children[0]
        if isinstance(t, LarkTree) and t.data in ("mul", "jux"):
            return walk(t.children[0]) != walk(t.children[1])
        if isinstance(t, LarkTree) and t.data == "neg":
            return not walk(t.children[0])
        shape = _shape(t, names)
        if shape != ("number", ("1",)):  # `1 \cdot (x^2 + y^2)`
            factors.append(shape)
        return False
    negative = walk(tree)
    if len(factors) == 1:
        return negative, factors[0]
    return negative, ("product", tuple(sorted(factors, key=repr)))


def _same(a, b) -> bool:
    """Whether two parsed formulas are the same formula (SymPy's structural equality, no algebra)."""
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - e.g. an ambiguous matrix comparison: not the same
        return False


def grade_paths(paths: list[str], key: Key, options: Options, part: str | None = None,
                progress_factory=None) -> tuple[list[Grade], SharedPlanner]:
    """Grade every submission file: one planner, one worker pool, one run."""
    return grade_submissions([read_submission(p, key, part) for p in paths], key, options, progress_factory)


def grade_text(key: Key | str, text: str, options: Options | None = None, part: str | None = None,
               path: str = "<submission>") -> Grade:
    """Grade one submission given as text against a key (a Key, or the key's YAML text); no files.

    A key with errors raises ValueError listing them (`key_from_text` returns them instead)."""
    options = options or Options()
    if isinstance(key, str):
        key, errors = key_from_text(key, "<key>", options)
        if errors or key is None:
            raise ValueError("the key has errors: " + "; ".join(f"{e.line}:{e.column}: {e.message}" for e in errors))
    if part is not None and part not in key.parts:
        raise ValueError(f"the key has no part named {part!r}; its parts are: {', '.join(key.parts)}")
    grades, _ = grade_submissions([read_submission_text(text, path, key, part)], key, options)
    return grades[0]


def grade_submissions(subs: list[Submission], key: Key, options: Options,
                      progress_factory=None) -> tuple[list[Grade], SharedPlanner]:
    """Grade submissions already read: one planner, one worker pool, one run."""
    planner = SharedPlanner(options)
    plans: list[AttemptPlan] = []
    outcomes: dict[int, dict[str, PartOutcome]] = {id(s): {} for s in subs}
    for sub in subs:
        for attempt in sub.attempts:
            try:
                plans.append(plan_attempt(planner, key, sub, attempt))
            except Exception as exc:  # noqa: BLE001 - one odd file must not stop the batch
                span = attempt.part.span
                error = ErrorInfo(span.line, span.col, f"could not read this chain ({type(exc).__name__}: {exc})",
                                  "", sub.path)
                outcomes[id(sub)][attempt.part.name] = PartOutcome(attempt.part.name, errors=[error], readable=False)
    progress = progress_factory(len(planner.tasks)) if progress_factory else None
    reports = run_plans(planner, [ap.plan for ap in plans], options, progress)
    groups: dict[tuple, list[tuple[AttemptPlan, object]]] = {}
    for ap, report in zip(plans, reports):
        ident = (id(ap.submission), ap.attempt.part.name, ap.attempt.group if ap.attempt.group is not None else id(ap))
        groups.setdefault(ident, []).append((ap, report))
    for members in groups.values():
        first = members[0][0].attempt
        # only sheets: a derivation or plain-text file is written for proofcheck, and its chain is the work
        show_work = first.group is not None and key.rubric[first.part.name].wants_work
        o = _outcome(members, planner.results, options.strict, show_work)
        _flag_trailing_answer(o, members[0][0].submission, key)
        _flag_unchecked_claims(o, members[0][0].submission, key)
        outcomes[id(members[0][0].submission)][o.name] = o
    grades = []
    for sub in subs:
        got = outcomes[id(sub)]
        parts = []
        for name in sub.targets:
            # a sheet for one part whose only chains could not be read was attempted: say so, not "not attempted"
            tried = sub.unreadable or (len(sub.targets) == 1 and bool(sub.errors))
            o = got.get(name) or PartOutcome(name, attempted=tried, readable=False, errors=list(sub.errors) if tried
                                             and not sub.unreadable else [])
            parts.append(score_part(key.rubric[name], o, options.strict))
        notes = sub.notes + [n for o in got.values() for n in o.notes]
        grades.append(Grade(sub.path, sub.path, parts, sub.errors, notes, sub.unreadable, formulas=sub.formulas,
                            student=sub.student))
    return grades, planner


# ---------------------------------------------------------------------------------------------
# One outcome per part: the chains a student wrote for it, restatements set aside, two readings compared


@dataclass
class _ChainResult:
    ap: AttemptPlan
    steps: list  # verify's StepReports
    errors: list[ErrorInfo]
    start: StepResult | None
    final: StepResult | None
    readable: bool


def _chain_result(ap: AttemptPlan, report, results) -> _ChainResult:
    pr = report.parts[0] if report.parts else None
    start = results[ap.start] if ap.start is not None else None
    missed = next((results[t] for t in ap.at_checks if not valid(results[t])), None)
    if start is not None and missed is not None:
        # `(x^2 - 1)/(x - 1) = x + 1 = 2 by at(x = 1)` does not start from subs((x^2 - 1)/(x - 1), x = 1)
        start = replace(missed, message="the steps before `by at` do not hold at the point itself"
                                        + (f": {missed.message}" if missed.message else ""))
    final = results[ap.final] if ap.final is not None else None
    if ap.sides and final is not None and valid(final) and not ap.relation_problem:
        same, swapped = (all(valid(results[t]) for t in ap.sides[k:k + 2]) for k in (0, 2))
        if not (same or swapped):
            ap.relation_problem = "the last statement is equivalent to the claim but is not it: its sides are not " \
                                  "the claim's two sides"
    return _ChainResult(ap, list(pr.steps) if pr else [], list(report.errors), start, final, pr is not None)


def _flag_unchecked_claims(o: PartOutcome, sub: Submission, key: Key) -> None:
    """`Since $L = x^2 + y^2 + 9xy$, done.`: a statement the student asserts after `since`, `as`, `and`, ... is read
    as a condition, not checked; under this part's headings it is left to a person, not passed over."""
    for f in _part_formulas(o, sub, key):
        if f.kind == "condition" and f.reason.startswith("a statement after"):
            o.needs_review.append(f"line {f.line}, column {f.column}: {f.reason}")


def _part_formulas(o: PartOutcome, sub: Submission, key: Key) -> list:
    """The sheet's formulas under this part's headings (all of them when the key names none)."""
    labels = key.rubric[o.name].sections if o.name in key.rubric else []
    return [f for f in sub.formulas or () if not labels or section_matches(f.section, labels)]


def _flag_trailing_answer(o: PartOutcome, sub: Submission, key: Key) -> None:
    """`= x^2 + y^2 \\quad \\text{or} \\quad x^2 + y^2 + 1`, `x = 1, 3`: a lone expression on the answer's line after
    it is a second answer (or the rest of this one) that no chain holds; the answer alone must not be scored unseen."""
    if not o.steps or not sub.formulas:
        return
    last = o.steps[-1]
    after = [f for f in sub.formulas if f.kind == "expression" and f.line == last.line and f.column > last.column]
    if after:
        o.needs_review.append(f"after the answer on line {last.line} comes an expression (column {after[0].column}) "
                              "that no step reads: a second answer, or the rest of this one")
        return
    # `Hence $x^2 + 5y^2$ is the answer.`, `Answer: $\boxed{...}$` on a later line: an answer no step reads
    later = [f for f in _part_formulas(o, sub, key) if f.kind == "expression" and
             (f.line, f.column) > (last.line, last.column) and 0 < f.line <= len(sub.lines) and
             _ANSWER_WORDS.search(f.latex + " " + sub.lines[f.line - 1])]
    if later:
        o.needs_review.append(f"line {later[0].line}, column {later[0].column} states an answer that no step reads "
                              "(an expression after the derivation): it may differ from the last line")


_ANSWER_WORDS = re.compile(r"\b(?:answer|result|final)\b|\\boxed", re.IGNORECASE)


def _outcome(members: list[tuple[AttemptPlan, object]], results, strict: bool,
             show_work: bool = True) -> PartOutcome:
    """The part's outcome from all its chains: the work in the order written, graded as one. Under
    `show_work` (the default) a chain that only restates the question or its result is set aside."""
    main = [_chain_result(ap, r, results) for ap, r in members if not ap.attempt.variant]
    variants = [_chain_result(ap, r, results) for ap, r in members if ap.attempt.variant]
    # variants follow the chain they read the other way
    other: dict[int, list[_ChainResult]] = {}
    k = -1
    for ap, r in members:
        if ap.attempt.variant:
            other.setdefault(k, []).append(variants.pop(0))
        else:
            k += 1
    name = main[0].ap.attempt.part.name
    notes = list(main[0].ap.attempt.notes)
    review: list[str] = list(main[0].ap.attempt.review)
    if review:
        notes.append("Not read on the way to this answer: " + "; ".join(review))
    for idx, c in enumerate(main):
        for alt in other.get(idx, []):
            review += _compare_readings(c, alt, strict)
    # Inline math in a sentence is often a remark in the student's notation, not a step: when we cannot
    # read it, it is set aside and a person is asked to look, instead of costing the student a step.
    unread = [c for c in main if c.ap.attempt.inline and (not c.readable or c.errors or any(
        s.result.status.value == "error" for s in c.steps))]
    for c in unread:
        t = c.ap.attempt.part.steps[0]
        why = next((e.message for e in c.errors), None) or next(
            (s.result.message for s in c.steps if s.result.status.value == "error"), "")
        msg = f"the inline formula at line {t.span.line} could not be read ({' '.join(why.split()).rstrip('.')})" \
            if why else f"the inline formula at line {t.span.line} could not be read"
        notes.append(msg[0].upper() + msg[1:] + "; it is not graded")
        review.append(msg)
    main = [c for c in main if c not in unread] or main
    # a line with the claim's sides under another relation (`L \neq R`, `L = R` or `L > R` for `L >= R`) is a claim of
    # its own, checked like any other, not a restatement set aside
    restated = [c for c in main if show_work and c.readable and c.ap.restates and all(c.ap.restates)
                and not c.ap.claims_other]
    vacuous = {id(c): _vacuous(c, results, strict) for c in main}
    # `x = x \Rightarrow L = R`: the answer under a premise that always holds is the answer alone
    restated += [c for c in main if show_work and c not in restated and vacuous[id(c)] == "trivial"
                 and len(c.steps) == 1 and c.ap.restates and c.ap.restates[-1]]
    # the claim itself as the premise (`L = R \Rightarrow R = L \Rightarrow L = R`): the answer assumed, not shown
    restated += [c for c in main if show_work and c not in restated and c.ap.premise is not None and c.ap.restates
                 and c.ap.restates[0]]
    # (a wrong answer stays a chain of its own, refuted, not set aside)
    jumps = [c for c in main if show_work and c not in restated and c.ap.answer_only and c.ap.final is not None
             and valid(results[c.ap.final], strict)]
    restated += jumps
    holds = {id(c): [t is not None and valid(results[t], strict) for t in c.ap.holds] for c in main}
    for c in main:
        if vacuous[id(c)] in ("always", "trivial") and c not in restated and all(holds[id(c)]):
            # `(x - y)^2 \geq 0 \Rightarrow x^2 + y^2 \geq 2xy` is a proof; `x^2 \geq 0 \Rightarrow` the answer is not,
            # nor `2 = 1 + 1 \Rightarrow 3 = 2 + 1 \Rightarrow` the answer: every line holds on its own
            review.append(f"line {c.ap.attempt.part.steps[0].span.line} states the result under premises that hold "
                          "for every value: whether they are the argument or padding needs a person")
    for c in main:
        if c.ap.attempt.conditional and vacuous[id(c)] == "never":
            # `With $x = 2$, $y = 5$, we get ...` where the key's givens make y = 4: a check under an impossible case
            # holds vacuously, whatever it says
            review.append(f"line {c.ap.attempt.part.steps[-1].span.line} is stated under a case that no values the "
                          "key allows satisfy, so it holds vacuously: whether its values are wrong needs a person")
    work = [c for c in main if c not in restated] or restated[-1:]
    concl = main[-1]
    if show_work and concl in restated and concl not in work and concl not in jumps and \
            not vacuous[id(concl)] and concl.ap.premise is None and len(concl.ap.restates) == 2:
        # `First $(x+y)^2 = x^2 + 2xy + y^2$. Hence $(x+y)^2 - 2xy = x^2 + y^2$`: the claim written last, after work
        # that is only lemmas of it (every step holding), concludes them: it is the answer (its own step, the claim
        # as written, earns no step credit). Without such work it stays a restatement, as does a claim written first.
        keyed = {_defined(t) for t in concl.ap.attempt.part.define} - {""}
        trial = _on_question(work + [concl], strict, keyed)
        if not any(trial[id(c)] is True for c in work) and any(
                trial[id(c)] == "lemma" and c.steps and all(valid(s.result, strict) for s in c.steps) for c in work):
            restated.remove(concl)
            work.append(concl)
    for c in restated:
        line = c.ap.attempt.part.steps[0].span.line
        notes.append(f"Line {line} only states the result under a premise that says nothing (both its sides are "
                     "the same); that is neither work nor proof, so it is not graded" if vacuous[id(c)] == "trivial"
                     else
                     f"Line {line} goes from the question to its answer in one step: the answer alone, in another "
                     "form than the key's, is neither work nor proof, so it is not graded" if c in jumps
                     else
                     f"Line {line} restates the question or its result; that is neither work nor proof, so it is "
                     "not graded")
    steps, errors, restating, idle, starts, sources, chain_of = [], [], set(), set(), {}, {}, {}
    required: list[list[tuple[int, StepResult]]] = [[] for _ in work[-1].ap.required]
    offset = 0
    # the names of the question: its claim's, and every name the key declares or defines for it
    part = work[-1].ap.attempt.part
    claim_names = (_names(part.claim.text) if part.claim is not None else set()) | \
        {n for d in part.symbols for n in d.names} | {n for t in part.define for n in _names(t.text)}
    written: set[tuple[str, str]] = set()  # (line before, line) of every step so far: a copy is no new work
    # `x + x = 2x`, `y y = y^2` in the question's names: true, but when no chain of the part starts from the question
    # or ends at its result, none is work on it
    on = _on_question(work, strict, {_defined(t) for t in part.define} - {""})
    on_question = any(on.values())
    if not on_question and show_work and any(_names(t.text) & claim_names for c in work
                                             for t in c.ap.attempt.part.steps):
        notes.append("No chain of this part starts from the question or ends at its result, so its steps earn no "
                     "credit")
    for n, c in enumerate(work):
        lines = c.ap.attempt.part.steps
        # `if $y = 0$, then $L = x^2$`: the question at one value, checked (a wrong one is wrong) but no work on it in
        # general, so no step credit; a case that is a region (`if $\gamma > 1$`) is a proof by cases and earns it
        special = c.ap.attempt.conditional and _equation_case(c)
        # `2 + 2 = 4` or a chain in none of the question's names: true, but no work on this question
        nameless = bool(claim_names) and not any(_names(t.text) & claim_names for t in lines) and \
            not any(s.result.status.value == "error" for s in c.steps)
        unrelated = nameless or not on[id(c)]
        if nameless and show_work:
            notes.append(f"The chain at line {lines[0].span.line} uses none of the question's names; it earns no "
                         "step credit")
        if n == 0:
            sources[0] = " ".join(lines[0].text.split())
        else:
            starts[offset + 1] = lines[0].span.line
        for i, t in enumerate(lines[1:], start=1):
            sources[offset + i] = " ".join(t.text.split())
        for s in c.steps:
            chain_of[s.index + offset] = n
            steps.append(replace(s, index=s.index + offset))
            pair = (" ".join(lines[s.index - 1].text.split()), " ".join(lines[s.index].text.split())) \
                if 0 < s.index < len(lines) else None
            copy = pair is not None and pair in written
            written.add(pair)
            if 0 < s.index < len(c.ap.restates) and c.ap.restates[s.index] and c.ap.restates[s.index - 1]:
                restating.add(s.index + offset)
            elif unrelated and valid(s.result, strict) or copy or special or c.ap.circular or \
                    0 < s.index < len(c.ap.idle) and c.ap.idle[s.index] or \
                    vacuous[id(c)] == "never" or vacuous[id(c)] == "trivial" and s.index == 1 or \
                    0 < s.index < len(holds[id(c)]) and holds[id(c)][s.index] and not holds[id(c)][s.index - 1]:
                idle.add(s.index + offset)
        errors += c.errors
        for j, checks in enumerate(c.ap.required[:len(required)]):
            required[j] += [(i + offset, results[t]) for i, t in checks]
        offset += len(lines) - 1
    for c in main:
        if c not in work:
            errors += c.errors
    # the answer is the last line of the work, not a remark stated under a case after it, nor a justification written
    # after it (`since $(x+y)^2 = x^2 + 2xy + y^2$`: a lemma of the derivation, every step of it holding, that does not
    # go on from the line before it)
    # (`where we used $(x+y)^2 = (x+y)(x+y)$` is no lemma, as SymPy writes both sides alike, nor work on the question)
    answers = [c for c in work if not c.ap.attempt.conditional]
    while len(answers) > 1 and on[id(answers[-1])] is not True and answers[-1].steps and \
            all(valid(s.result, strict) for s in answers[-1].steps) and \
            _line_texts(answers[-1])[:1] != _line_texts(answers[-2])[-1:]:
        answers.pop()
    last = answers[-1] if answers else work[-1]
    for c in work:  # a line of the work that could not be read (`= \dots =`): the answer may not follow from it
        for s in c.steps:
            if s.result.status.value == "error" and c.final is not None:
                why = " ".join(s.result.message.split()).rstrip(".")
                msg = f"line {s.line} could not be read ({why})" if why else f"line {s.line} could not be read"
                if not any(msg.split(" (")[0] in r for r in review):
                    review.append(msg)
        for e in c.errors if c.readable else ():
            # a row of the work that was not read (`&\quad \cdot 2` after the answer): what the student wrote there
            # may change the answer, and the chain without it must not be scored as if it were absent
            msg = f"line {e.line} could not be read ({' '.join(e.message.split()).rstrip('.')})"
            if not any(msg.split(" (")[0] in r for r in review):
                review.append(msg)
    if not last.readable and any(c.readable for c in work):
        # correct work followed by a last formula that cannot be read (`\frac{x}{0} = \infty` as a check): the answer
        # is that last formula, so the part scores nothing, but a person should see the work before it
        where = next((e for e in last.errors), None)
        review.append(f"the last formula of this part{f' (line {where.line})' if where else ''} could not be read, "
                      "so the answer could not be checked; readable work comes before it")
    problem = last.ap.relation_problem or ("the chain's first line holds for no values, so every implication from "
                                           "it is vacuous" if vacuous.get(id(last)) == "never" else "")
    return PartOutcome(name, True, steps, errors, last.final, last.start, problem, required, notes,
                       readable=last.readable, from_result=last.ap.from_result, sources=sources,
                       restating=restating if show_work else set(), idle=idle if show_work else set(),
                       chain_starts=starts, chain_of=chain_of, needs_review=review,
                       restated_only=last in restated, answer_chain=work.index(last),
                       special=last.ap.attempt.conditional and _equation_case(last))


def _on_question(work: list[_ChainResult], strict: bool, keyed: set[str]) -> dict[int, bool | str]:
    """Per chain: whether it is work on the question (`"lemma"` when only as a part of such a chain's line). It
    starts from the question, ends at the key's result, takes the question's kind of derivative, integral, ..., or
    starts from a quantity the key defines for the question
    (`C = a_t sigma_s^2 I` for the key's C); or its first or last line (of two operations or more) is a part of a
    line of such a chain, a lemma the derivation uses. Padding beside a wrong answer (`x + x = 2x` next to
    `(x+y)^2 - 2xy = 7`) is not: that one chain starts from the question does not make the others work on it."""
    on = {id(c): bool(c.start is not None and valid(c.start, strict) and not c.ap.off_question or
                      c.final is not None and valid(c.final, strict) or c.ap.shares_heads or
                      c.ap.attempt.part.steps and _names(c.ap.attempt.part.steps[0].text) & keyed) for c in work}
    lines = {id(c): _chain_lines(c) for c in work}
    texts = {id(c): _line_texts(c) for c in work}
    # the candidates: a chain's first and last line, as SymPy has it and as written; a chain of rewrites SymPy makes by
    # itself (`(x+y)(x+y) = (x+y)^2`) is no lemma
    ends = {id(c): [(_subterms(ls[k], top=True), texts[id(c)][k]) for k in (0, -1)] for c in work
            if (ls := lines[id(c)]) and len(texts[id(c)]) == len(ls) and
            not all(_same(a, b) for a, b in zip(ls, ls[1:]))}
    grown = True
    while grown:
        grown = False
        parts = {x for c in work if on[id(c)] for e in lines[id(c)] for x in _subterms(e)}
        written = [w for c in work if on[id(c)] for w in texts[id(c)]]
        for c in work:
            # a part of a line of such a chain, as SymPy has it or as written (SymPy turns the `x^3 + ... - x^3` that
            # uses a lemma's result into something else)
            if not on[id(c)] and any(top & parts or top and any(text in w for w in written)
                                     for top, text in ends.get(id(c), ())):
                on[id(c)] = "lemma"
                grown = True
    return on


def _chain_lines(c: _ChainResult) -> list:
    chain = c.ap.plan.parts[0].chain if c.ap.plan.parts else None
    return list(chain.lines) if chain is not None else []


def _line_texts(c: _ChainResult) -> list[str]:
    """A chain's lines as written (ASCII), without their relation, rule and spaces."""
    out = []
    for t in c.ap.attempt.part.steps:
        text = re.sub(r"\s+by\s+.*$", "", t.text.strip())
        out.append(re.sub(r"\s+", "", re.sub(r"^(<==>|==>|<=|>=|!=|=|<|>)", "", text)))
    return out


def _subterms(e, top: bool = False) -> set:
    """The subterms of a line (both sides of a relation) that are more than a name or a number; `top`: the line's
    own expressions only, each of at least two operations."""
    import sympy as sp
    sides = [e.lhs, e.rhs] if isinstance(e, Relation) else [e]
    out = set()
    for side in sides:
        if not isinstance(side, sp.Basic):
            continue
        for x in ([side] if top else sp.preorder_traversal(side)):
            # (a line of the chain itself must be more than `x^2` or `2 x`, which padding rederives at will)
            if not x.is_Atom and not isinstance(x, Relation) and (not top or sp.count_ops(x) >= 2):
                out.add(x)
    return out


def _equation_case(c: _ChainResult) -> bool:
    """Whether a chain stated under a case has an equation for its case (the statement chain's first line)."""
    chain = c.ap.plan.parts[0].chain if c.ap.plan.parts else None
    first = chain.lines[0] if chain is not None and chain.lines else None
    return isinstance(first, Relation) and (first.op == "=" or _one_point(first))


def _one_point(rel: Relation) -> bool:
    """Whether an inequality in one name holds at a single point only (`(x - 1)^2 <= 0`, `|x - 1| <= 0`): a case that
    is an equation in disguise, a check at one value rather than a proof by cases."""
    import sympy as sp
    if rel.op not in ("<=", ">=") or not all(isinstance(x, sp.Expr) for x in (rel.lhs, rel.rhs)):
        return False
    names = (rel.lhs - rel.rhs).free_symbols
    if len(names) != 1 or sp.count_ops(rel.lhs - rel.rhs) > 30:
        return False
    s = next(iter(names))
    try:
        x = sp.Dummy(s.name, real=True)
        d = (rel.lhs - rel.rhs).xreplace({s: x})
        found = sp.solveset(d <= 0 if rel.op == "<=" else d >= 0, x, sp.S.Reals)
    except Exception:  # noqa: BLE001 - SymPy cannot solve it: a region, as written
        return False
    return isinstance(found, sp.FiniteSet) and len(found) == 1


def _vacuous(c: _ChainResult, results, strict: bool) -> str:
    """"trivial" when the first line of the student's statement chain has the same two sides (`x = x`), "always" when
    it holds for every value, "never" when for none, else ""."""
    if c.ap.premise is None:
        return ""
    always, never = (results[t] for t in c.ap.premise)
    if valid(always, strict):
        first = c.ap.plan.parts[0].chain.lines[0]
        return "trivial" if first.op in ("=", "<=", ">=") and first.lhs == first.rhs else "always"
    return "never" if valid(never, strict) else ""


def _compare_readings(c: _ChainResult, alt: _ChainResult, strict: bool) -> list[str]:
    """Check a chain with ambiguous lines under both readings. Where they disagree the line says so, the
    verdict that holds is kept (no silent deduction) and the reasons for review are returned."""
    lines, others = c.ap.attempt.part.steps, alt.ap.attempt.part.steps
    ambiguous = {alt.ap.attempt.variant_line}
    review: list[str] = []

    def clash(a: StepResult | None, b: StepResult | None) -> bool:
        return a is not None and b is not None and valid(a, strict) != valid(b, strict)

    def words(r: StepResult) -> str:
        return "holds" if valid(r, strict) else "does not hold" if r.status.value in ("refuted", "error") \
            else "cannot be decided"

    by_index = {s.index: s for s in alt.steps}
    for k, s in enumerate(c.steps):
        b = by_index.get(s.index)
        if b is None or not ({s.index, s.index - 1} & ambiguous) or not clash(s.result, b.result):
            continue
        i = s.index if s.index in ambiguous else s.index - 1
        msg = (f"line {lines[i].span.line} has two readings: as `{' '.join(lines[i].text.split())}` this step "
               f"{words(s.result)}; as `{' '.join(others[i].text.split())}` it {words(b.result)}. "
               "It keeps its credit until a person decides")
        if "two readings" in s.result.message:  # already compared under another line's readings
            continue
        keep = s.result if valid(s.result, strict) else b.result
        c.steps[k] = replace(s, result=replace(keep, message=msg))
        review.append(f"step {s.index}: {msg}")
    for attr, i, what in (("final", len(lines) - 1, "the final line"), ("start", 0, "the first line")):
        a, b = getattr(c, attr), getattr(alt, attr)
        if i in ambiguous and clash(a, b):
            msg = (f"{what} (line {lines[i].span.line}) has two readings: as `{' '.join(lines[i].text.split())}` "
                   f"it {'matches' if valid(a, strict) else 'does not match'} the key; as "
                   f"`{' '.join(others[i].text.split())}` it {'matches' if valid(b, strict) else 'does not match'}")
            setattr(c, attr, a if valid(a, strict) else b)
            review.append(msg)
    return review
