"""Scores from verdicts: points per step, for the final result and for required intermediate
results, under the key's policy; feedback a student can act on; a class summary.

Nothing is checked here: every verdict comes from the kernel (planned in proofcheck/grade/submissions.py)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from proofcheck.kernel.verdict import Status, StepResult
from proofcheck.grade.rubric import STOP, PartRubric, Required
from proofcheck.verify import ErrorInfo, StepReport

MAX_MENTIONS = 3  # wrong steps spelled out in a feedback paragraph; the table lists them all
BINS = ((0, 20), (20, 40), (40, 60), (60, 80), (80, 101))  # percent ranges of the score distribution


@dataclass
class PartOutcome:
    """What the kernel said about one submitted chain (verdicts only)."""

    name: str
    attempted: bool = True
    steps: list[StepReport] = field(default_factory=list)  # verify's step reports, in order
    errors: list[ErrorInfo] = field(default_factory=list)  # what could not be read
    final: StepResult | None = None  # the last line against the claim's right side
    start: StepResult | None = None  # the first line against the claim's left side
    relation_problem: str = ""  # why the steps' relations do not give the claim's, or ""
    required: list[list[tuple[int, StepResult]]] = field(default_factory=list)  # per result: (line, verdict)
    notes: list[str] = field(default_factory=list)
    readable: bool = True  # False: the chain (or the whole file) could not be read
    sources: dict[int, str] = field(default_factory=dict)  # line index -> the line as written (0 = start)
    from_result: bool = False  # the chain starts from the key's result itself
    restating: set[int] = field(default_factory=set)  # steps between two lines that only restate the claim
    idle: set[int] = field(default_factory=set)  # steps whose line is the one before it written again (no work)
    chain_starts: dict[int, int] = field(default_factory=dict)  # step index -> file line of its own chain's start
    chain_of: dict[int, int] = field(default_factory=dict)  # step index -> which chain of the work it belongs to
    needs_review: list[str] = field(default_factory=list)  # why a person should look (two readings disagree)
    restated_only: bool = False  # the student only restated the question or its result: no work
    answer_chain: int | None = None  # the chain (chain_of's value) holding the answer; None: the last step's
    special: bool = False  # the answer is stated only at one value (`Setting $y = 0$: ...`): no final points


@dataclass
class PartGrade:
    """One part's score and what earned it."""

    name: str
    score: float
    max_score: float
    first_error: int | None  # first refuted or unreadable step; 0 = the chain itself could not be read
    final_matches_claim: bool
    final_points: float
    steps: list[StepReport]
    step_points: list[float]
    required: list[tuple[Required, int | None, float]]  # (result, line where reached or None, points)
    feedback: str
    attempted: bool = True
    errors: list[ErrorInfo] = field(default_factory=list)
    sources: dict[int, str] = field(default_factory=dict)  # line index -> the line as written (0 = start)
    needs_review: list[str] = field(default_factory=list)  # reasons a person should decide (empty: none)

    @property
    def steps_valid(self) -> int:
        """How many steps hold (whatever they earned)."""
        return sum(1 for s in self.steps if s.result.status in (Status.PROVED, Status.NUMERIC))


@dataclass
class Grade:
    """One submission's grade."""

    id: str
    path: str
    parts: list[PartGrade]
    errors: list[ErrorInfo] = field(default_factory=list)  # what in the file could not be read
    notes: list[str] = field(default_factory=list)
    unreadable: bool = False  # nothing in the file could be read
    formulas: list = field(default_factory=list)  # a sheet's formulas (latex FormulaNote), each accounted for
    student: str = ""  # from the file's front matter (`student: ...`); "" means the file name is the id

    @property
    def not_read(self) -> list:
        """The sheet's formulas with a relation that could not be read (line, column, reason)."""
        return [f for f in self.formulas if f.kind == "not read" and f.relation]

    @property
    def score(self) -> float:
        """Points earned."""
        return round(sum(p.score for p in self.parts), 2)

    @property
    def max_score(self) -> float:
        """Points available."""
        return round(sum(p.max_score for p in self.parts), 2)

    @property
    def first_error(self) -> tuple[str, int] | None:
        """(part, step index) of the first error, parts in key order."""
        for p in self.parts:
            if p.first_error is not None:
                return p.name, p.first_error
        return None

    @property
    def final_matches_claim(self) -> bool:
        """Whether every attempted part ends at the key's result."""
        tried = [p for p in self.parts if p.attempted]
        return bool(tried) and all(p.final_matches_claim for p in tried)

    @property
    def needs_review(self) -> bool:
        """Whether a person should look at this grade: a part says why (two readings that give different verdicts,
        a line of the work not read), or something in the file was not read (a row `&\\quad \\cdot 2` after the
        answer would change the points given for the rest; a file no line of which reads scores 0 unseen)."""
        return any(p.needs_review for p in self.parts) or bool(self.errors)

    @property
    def steps_valid(self) -> int:
        """Valid steps over all parts."""
        return sum(p.steps_valid for p in self.parts)

    @property
    def steps_total(self) -> int:
        """Submitted steps over all parts."""
        return sum(len(p.steps) for p in self.parts)

    @property
    def feedback(self) -> str:
        """One paragraph for the whole submission."""
        head = " ".join(f"{_where(e)}: {e.message}." for e in self.errors)
        named = len(self.parts) > 1 or any(p.name != "main" for p in self.parts)
        body = " ".join((f"Part {p.name}: " if named else "") + p.feedback for p in self.parts if p.attempted)
        skipped = [p.name for p in self.parts if not p.attempted]
        if skipped:
            body += f" Not attempted: {', '.join(skipped)}."
        notes = " ".join(n.rstrip(".") + "." for n in self.notes)
        if self.not_read:
            where = ", ".join(f"{f.line}:{f.column}" for f in self.not_read[:12])
            more = f" and {len(self.not_read) - 12} more" if len(self.not_read) > 12 else ""
            notes += (f" {len(self.not_read)} formula{'s' if len(self.not_read) > 1 else ''} of the sheet could not "
                      f"be read (line:column {where}{more}); they are listed under `formulas` in the JSON report.")
        total = f"Score {fmt(self.score)}/{fmt(self.max_score)}."
        return " ".join(s.strip() for s in (head, body, notes, total) if s.strip())


def student_ids(grades: list[Grade]) -> list[str]:
    """The gradebook id of each grade: its front-matter id, else its file name without the extension; a
    name two files share (a/hw.md and b/hw.md) is replaced by the paths, so every row is told apart."""
    def stem(g: Grade) -> str:
        name = g.path.replace("\\", "/").rsplit("/", 1)[-1]
        return name.rsplit(".", 1)[0] if "." in name.strip(".") else name
    ids = [g.student or stem(g) for g in grades]
    clash = {i for i, n in Counter(ids).items() if n > 1}
    return [(f"{i} ({g.path})" if g.student else g.path) if i in clash else i for i, g in zip(ids, grades)]


def valid(result: StepResult | None, strict: bool = False) -> bool:
    """Whether a verdict counts as shown (`numeric` does not under --strict)."""
    if result is None:
        return False
    return result.status == Status.PROVED or (result.status == Status.NUMERIC and not strict)


def score_part(rubric: PartRubric, outcome: PartOutcome, strict: bool = False) -> PartGrade:
    """Score one chain from its verdicts under the part's rubric."""
    if not outcome.attempted or not outcome.readable or outcome.restated_only:
        reason = "was not attempted" if not outcome.attempted else "could not be read, so it earns no points"
        if outcome.attempted and outcome.restated_only:
            reason = "only restates the question or its result (or writes the answer alone): that is neither work " \
                     "nor proof, so it earns no points"
        first = None if not outcome.attempted else 0
        matches = outcome.restated_only and valid(outcome.final, strict)
        return PartGrade(outcome.name, 0.0, rubric.max_score, first, matches, 0.0, outcome.steps if matches else [],
                         [0.0] * len(outcome.steps) if matches else [], [(r, None, 0.0) for r in rubric.required],
                         _part_feedback(rubric, outcome, first, [], False, 0.0, reason),
                         outcome.attempted, outcome.errors, needs_review=list(outcome.needs_review))
    steps = outcome.steps
    wrong = [s.index for s in steps if s.result.status in (Status.REFUTED, Status.ERROR)]
    first = 0 if outcome.from_result else (wrong[0] if wrong else None)
    stopped = (rubric.policy == STOP and first is not None) or outcome.from_result  # restating earns nothing

    def counts(line: int) -> bool:  # under `stop`, nothing from the first error on earns credit
        return not stopped or line < first

    points = []
    budget = rubric.step_max
    # shared: a correct chain earns all step points however many steps it takes; per step: showing
    # work pays, up to as many steps as the key's chain has
    # restating the claim, or writing the line before again (`x + y = y + x`), is not a step of work
    idle = outcome.restating | outcome.idle
    working = [s for s in steps if s.index not in idle]
    share = rubric.per_step if rubric.per_step is not None else (rubric.step_max / len(working) if working else 0.0)
    for s in steps:
        earn = min(share, budget) if valid(s.result, strict) and counts(s.index) and s.index not in idle else 0.0
        budget -= earn
        points.append(earn)

    final_matches = valid(outcome.final, strict)
    established = final_matches and valid(outcome.start, strict) and not outcome.relation_problem
    # the key's result reached through a step that does not follow is not derived: two slips that cancel, a jump
    # back to the right answer, or a made-up line closed by a true inequality (x^2 + y^2 = 2xy + 5 >= 2xy). Error
    # carried forward credits the later steps that follow from the student's own lines, not the result.
    broken = _first_broken(steps, outcome.chain_of, outcome.answer_chain)
    final_points = rubric.final if established and not stopped and broken is None and not outcome.special else 0.0

    required = []
    for req, checks in zip(rubric.required, outcome.required):
        # reached by a step of work (not `= A` written again, not a restatement) that follows from its chain's start
        line = next((i for i, r in checks if valid(r, strict) and counts(i) and i not in idle and
                     _derived(i, steps, outcome.chain_of)), None)
        required.append((req, line, req.points if line is not None else 0.0))
    score = round(sum(points) + final_points + sum(p for _, _, p in required), 2)
    feedback = _part_feedback(rubric, outcome, first, points, final_matches, final_points, "", strict)
    return PartGrade(outcome.name, score, rubric.max_score, first, final_matches, final_points, steps, points,
                     required, feedback, True, outcome.errors, outcome.sources, list(outcome.needs_review))


def _derived(line: int, steps: list, chain_of: dict[int, int]) -> bool:
    """Whether line `line` follows from its chain's start: no step of that chain up to it is refuted (a required
    result written after a wrong step is copied, not reached)."""
    return not any(s.index <= line and s.result.status == Status.REFUTED and
                   chain_of.get(s.index) == chain_of.get(line) for s in steps)


def _first_broken(steps: list, chain_of: dict[int, int], answer: int | None = None) -> int | None:
    """The index of the first refuted (or unreadable) step of the answer's chain (the one that ends at the final line,
    not a remark under a case after it; a wrong chain of scratch work before it does not break it): no line from
    there on is shown to follow from the chain's start (`= \\foo{} = x^2 + y^2`, `\\approx`: the answer's points wait
    for a person, the grade is flagged)."""
    last = answer if answer is not None else chain_of.get(steps[-1].index) if steps else None
    return next((s.index for s in steps if s.result.status in (Status.REFUTED, Status.ERROR) and
                 chain_of.get(s.index) == last), None)


def _part_feedback(rubric: PartRubric, o: PartOutcome, first: int | None, points: list[float],
                   final_matches: bool, final_points: float, reason: str, strict: bool = False) -> str:
    step_lines = {s.line for s in o.steps}  # an unreadable step is reported with the step, not twice
    out = [f"{_where(e)}: {e.message}." for e in o.errors if e.line not in step_lines]
    if reason:
        return " ".join(out + [f"The chain {reason}."] + _review_sentences(o))
    steps = o.steps
    out.append(f"{sum(1 for s in steps if valid(s.result, strict))} of {len(steps)} step(s) hold.")
    if o.from_result:
        return " ".join(out + ["The chain starts from the key's result itself instead of the claim's left side, "
                               "so it shows nothing and earns no points."])
    wrong = [s for s in steps if s.result.status in (Status.REFUTED, Status.ERROR)]
    for s in wrong[:MAX_MENTIONS]:
        prev = "the starting line" if s.index == 1 else f"step {s.index - 1}"
        if s.index in o.chain_starts:
            prev = f"the line it starts from (line {o.chain_starts[s.index]})"
        if s.result.status == Status.REFUTED:
            out.append(f"Step {s.index} does not follow from {prev}{_because(s.result)}.")
        else:
            col = next((e.column for e in o.errors if e.line == s.line), s.column)  # where the parser stopped
            out.append(f"Step {s.index} (line {s.line}, column {col}) could not be read: "
                       f"{_clause(s.result.message)}.")
    if len(wrong) > MAX_MENTIONS:
        out.append(f"Step(s) {', '.join(str(s.index) for s in wrong[MAX_MENTIONS:])} are wrong as well.")
    unchecked = [s.index for s in steps if s.result.status == Status.UNKNOWN and s.result.method != "skipped"]
    if unchecked:
        out.append(f"Step(s) {', '.join(map(str, unchecked))} could not be checked automatically; they earn "
                   "nothing unless reviewed by hand.")
    numeric = [s.index for s in steps if s.result.status == Status.NUMERIC] if strict else []
    if numeric:
        out.append(f"Step(s) {', '.join(map(str, numeric))} hold only numerically and earn nothing under --strict.")
    if rubric.policy == STOP and first is not None and any(s.index > first for s in steps):
        out.append(f"Under the `stop` policy nothing after step {first} earns credit.")
    elif first is not None and any(p > 0 for s, p in zip(steps, points) if s.index > first):
        out.append("Later steps that follow from your own previous line still earn credit.")
    if rubric.per_step is not None and sum(1 for s in steps if valid(s.result, strict)) > rubric.key_steps:
        out.append(f"Step credit stops at {rubric.key_steps} step(s), as many as the key's chain has.")
    if final_matches and final_points:
        out.append("The final line matches the key's result.")
    elif final_matches:
        broken = _first_broken(steps, o.chain_of, o.answer_chain)
        unread = next((s for s in steps if s.index == broken), None)
        breaks = f"step {broken} could not be read, so the chain to it is not shown to hold" \
            if unread is not None and unread.result.status == Status.ERROR else \
            f"it does not follow from the line before it (step {broken})" if broken == steps[-1].index else \
            f"the chain to it breaks at step {broken}, so it is not derived"
        why = o.relation_problem or ("it is stated only at one value of a variable (a special case), not in general"
                                     if o.special else
                                     _start_problem(o.start, strict) if not valid(o.start, strict) else
                                     f"it comes after the first wrong step (policy `{STOP}`)"
                                     if rubric.policy == STOP and first is not None else breaks)
        out.append(f"The final line matches the key's result but earns nothing: {why}.")
    elif o.relation_problem:
        out.append(f"The chain does not establish the claim: {o.relation_problem}.")
    elif o.final is not None and o.final.status == Status.REFUTED:
        # a statement chain's last line is compared with the claim as statements: the counterexample's two values are
        # the sides of whichever statement fails there, not the last line and the result
        why = ": " + _clause(o.final.message).replace(
            "the previous statement holds but this one does not", "your last line holds but the key's result does not"
        ).replace("this statement holds but the previous one does not",
                  "the key's result holds but your last line does not") \
            if "statement" in o.final.message else _because(o.final, "your last line", "the key's result")
        out.append(f"The final line does not match the key's result{why}.")
    elif o.final is None:
        out.append("The last line could not be read, so it cannot match the key's result.")
    else:
        detail = f" ({_clause(o.final.message)})" if o.final.message else ""
        out.append(f"Whether the final line matches the key's result could not be decided{detail}.")
    for req, checks in zip(rubric.required, o.required):
        reached = [i for i, r in checks if valid(r, strict)]
        if not reached:
            out.append(f"The chain never reaches the required result `{req.label}`.")
        elif rubric.policy == STOP and first is not None and min(reached) >= first:
            out.append(f"The required result `{req.label}` is reached only after step {first} (policy `{STOP}`).")
    restating = sorted(o.restating)
    if restating:
        out.append(f"Step(s) {', '.join(map(str, restating))} only restate the question or its result and earn "
                   "no step credit.")
    if o.idle and "holds for no values" in o.relation_problem:
        out.append(f"Step(s) {', '.join(map(str, sorted(o.idle)))} follow from a first line that holds for no "
                   "values and earn no step credit.")
    elif o.idle:
        # idle: the line before written again, a step into a line that holds for every value from one that does not,
        # a premise that says nothing, a chain about none of the question's names (each also said in the notes)
        out.append(f"Step(s) {', '.join(map(str, sorted(o.idle)))} earn no step credit: they do no work on the "
                   "question (the line before written again, in another order or with + 0 or 1 times; a step copied "
                   "from earlier in the sheet; a line that holds whatever the values; or a chain that uses none of "
                   "the question's names).")
    return " ".join(out + _review_sentences(o))


def _review_sentences(o: PartOutcome) -> list[str]:
    """The needs-review reasons as sentences."""
    if not o.needs_review:
        return []
    return ["Needs review: " + "; ".join(r.rstrip(".") for r in o.needs_review) + "."]


def _start_problem(r: StepResult | None, strict: bool) -> str:
    """Why the first line does not count as the claim's left side."""
    if r is not None and r.status == Status.NUMERIC and strict:
        return "the first line matches the claim's left side only numerically (--strict)"
    if r is not None and r.status == Status.UNKNOWN:
        return f"whether the first line matches the claim's left side could not be decided ({_clause(r.message)})"
    return "the chain does not start from the claim's left side"


def _because(r: StepResult, left: str = "the left side", right: str = "the right side") -> str:
    """': at x = 0.5, y = 1.2 the left side is 0.81 and the right side is 1.62' from a counterexample."""
    ce = r.counterexample
    if not ce or "lhs" not in ce or "rhs" not in ce:
        return f": {_clause(r.message)}" if r.message else ""
    at = ", ".join(f"{k} = {_short(v)}" for k, v in ce.items() if k not in ("lhs", "rhs"))
    return f": {'at ' + at + ' ' if at else ''}{left} is {_short(ce['lhs'])} and {right} is {_short(ce['rhs'])}"


def _short(value) -> str:
    """A decimal string to 4 significant digits (anything else as it is)."""
    try:
        return f"{float(str(value)):.4g}"  # a decimal written by the kernel; float() never evaluates code
    except ValueError:
        return str(value)


def _clause(message: str) -> str:
    """A kernel message as a clause inside a sentence."""
    return " ".join(message.split()).rstrip(".")


def _where(e: ErrorInfo) -> str:
    return f"{e.path}:{e.line}:{e.column}" if e.path else f"line {e.line}, column {e.column}"


def fmt(x: float) -> str:
    """Points for people: 2, 2.5, 0.33."""
    return f"{round(x, 2):g}"


@dataclass
class ClassSummary:
    """Across all submissions."""

    count: int
    mean: float
    median: float
    distribution: list[tuple[str, int]]  # (percent range, submissions)
    most_wrong: tuple[str, int, int] | None  # (part, step index, submissions wrong there)
    unreadable: int


def class_summary(grades: list[Grade]) -> ClassSummary:
    """Score distribution and the step most often wrong."""
    pct = [100 * g.score / g.max_score if g.max_score else 0.0 for g in grades]
    dist = []
    for lo, hi in BINS:
        label = f"{lo}-{min(hi, 100)}%" if hi <= 100 else f"{lo}-100%"
        dist.append((label, sum(1 for p in pct if lo <= p < hi)))
    wrong = Counter((p.name, s.index) for g in grades for p in g.parts for s in p.steps
                    if s.result.status in (Status.REFUTED, Status.ERROR))
    # most common first; ties broken by part name and step so the summary is deterministic
    most = min(wrong.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1])) if wrong else None
    return ClassSummary(len(grades), round(statistics.fmean(pct), 1) if pct else 0.0,
                        round(statistics.median(pct), 1) if pct else 0.0, dist,
                        (most[0][0], most[0][1], most[1]) if most else None,
                        sum(1 for g in grades if g.unreadable))
