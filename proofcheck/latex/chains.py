"""Step 5: formulas -> chains of relations -> LatexTexts, with notes on every formula that is not a step."""

from __future__ import annotations

import re
from fractions import Fraction
from dataclasses import dataclass, field, replace

from proofcheck.errors import ProofcheckError
from proofcheck.model import Span, Text, compose
from proofcheck.latex.source import LatexText, Source, latex_error
from proofcheck.latex.names import Names
from proofcheck.latex.tokens import Tok, tokenize
from proofcheck.latex.normalize import group_end_index
from proofcheck.latex.formulas import CLOSERS, Formula, OPENERS, token_is
from proofcheck.latex.translation import derivative_variable, numerator_d
from proofcheck.latex.grammar import UNDECLARED, Piece, translate_tokens


_NAME_OR_NUMBER = re.compile(r"\s*(?:-?\s*[A-Za-z][A-Za-z0-9_]*|-?\s*\d+(?:\.\d+)?(?:\s*/\s*\d+)?)\s*")


def _values_only(segs: list["_TSeg"]) -> bool:
    """`\\theta = \\psi_0 = 0`, `\\psi_1 = 0`, `\\lambda = -1/2` in a sentence: names set equal to a number, the
    values a case or a solution is about (`therefore $\\theta = \\psi_0 = 0$ for ...`), not an identity to check: as
    a step it would be refuted at every other point of the domain although the student's algebra is right.
    Display math is left alone (a final answer `$$x = 2$$` stays a line of work)."""
    if len(segs) < 2 or segs[0].op is not None or any(sg.op != "=" for sg in segs[1:]):
        return False
    if any(sg.error is not None or sg.piece is None for sg in segs):
        return False
    texts = ["".join(t for t, _ in sg.piece.parts) for sg in segs]
    if not all(_NAME_OR_NUMBER.fullmatch(t) for t in texts):
        return False
    numbers = [t for t in texts if re.search(r"\d", t) and not re.search(r"[A-Za-z]", t)]
    return bool(numbers) and len(numbers) < len(texts)


_TUPLE_NAME = r"(?:\\[A-Za-z]+|[A-Za-z])(?:\s*(?:_\{[^{},()=]*\}|_[A-Za-z0-9]|\^\{\*\}|\^\*))*"
_TUPLE_VALUES = re.compile(rf"\(\s*({_TUPLE_NAME}(?:\s*,\s*{_TUPLE_NAME})+)\s*\)\s*=\s*"
                           r"\(\s*(-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?)+)\s*\)\s*[.,]?")


_TENDS_TO = re.compile(rf"({_TUPLE_NAME})\s*\\(?:to|rightarrow)\s*(?:[+-]?\\infty|-?\d+(?:\.\d+)?(?:\^\{{?[+-]\}}?)?)\s*[.,]?")


def _tends_to(latex: str) -> bool:
    """`as a result $\\lambda \\to \\infty$`, `$p \\to 1$` in a sentence, `T \\to \\infty` in a display: the limit
    process the text is about (a condition), not a relation to check."""
    return _TENDS_TO.fullmatch(latex.strip()) is not None


def _tuple_values(latex: str) -> bool:
    """`(\\psi_0^*, \\psi_1^*, \\theta^*) = (0, 0, 0)` in a sentence: a tuple of names set to a tuple of numbers, the
    point a solution is about (like _values_only for one name), not an identity to check."""
    m = _TUPLE_VALUES.fullmatch(latex.strip())
    return m is not None and m.group(1).count(",") == m.group(2).count(",")


def _paren_factors(text: str) -> int:
    """How many parenthesised factors make up `text` (`-(l + 1/2)(l^2 + 1/4)`, `-l (l + 1) (l + g)`), or 0 when
    anything but an optional sign, names and such factors stands at its top level."""
    s = text.strip()
    s = s[1:].lstrip() if s.startswith("-") else s
    count, depth, i = 0, 0, 0
    top: list[str] = []
    while i < len(s):
        c = s[i]
        if depth == 0 and c not in "()":
            top.append(c)
        if c == "(":
            if depth == 0:
                count += 1
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return 0
        elif depth == 0 and not (c.isalnum() or c in " _*"):
            return 0
        i += 1
    if re.search(r"(?<![\w.])0(?![\w.])", "".join(top)):
        return 0  # a factor 0 written out: the product is zero, an identity to check
    return count if depth == 0 else 0


def _equation_to_solve(segs: list["_TSeg"]) -> bool:
    """`... = -(\\lambda + 1/2)(\\lambda^2 + 1/4) = 0`: a product of at least two factors set to zero is the equation
    whose roots the student goes on to find (a characteristic polynomial), not an identity; as a step it would be
    refuted at every point that is not a root (seed 004, line 440)."""
    if len(segs) < 2 or segs[-1].op != "=" or segs[-1].piece is None or segs[-2].piece is None:
        return False
    if "".join(t for t, _ in segs[-1].piece.parts).strip() != "0":
        return False
    before = "".join(t for t, _ in segs[-2].piece.parts)
    return _paren_factors(before) >= 2 and re.search(r"[A-Za-z]", before) is not None


# `(I)`, `(iv)`, `II`: a label in the formula (a bare `I` is more often the identity: seed 001, line 97)
_LABEL = re.compile(r"\s*(?:\(\s*(?:I{1,3}|IV|VI{0,3}|IX|X|i{1,3}|iv|vi{0,3})\s*\)|II|III|IV|VI{1,3}|IX)\s*")


def _empty(sg: "_TSeg", src: Source) -> bool:
    return not src.text[sg.start:sg.end].strip()


def _arrow_forms(segs: list["_TSeg"], src: Source) -> tuple[list["_TSeg"], str]:
    """Arrows that do not join two statements, and what became of them (a note for the formula).

    `(I) \\Rightarrow A = B`, `II $\\rightarrow E$`: a label (a roman numeral) or nothing before an arrow that is
    followed by an expression only: the arrow introduces what follows (`we get E`), which starts a chain (seed 001,
    lines 222, 230-234: the log 2 for log 4 of 4(e) is a step from line 232). After a label, a relation after the
    arrow starts a new chain too. `\\theta = \\psi = 0 \\to A = B`: values before the arrow are the point the
    statement after it is made at, a condition. A trailing arrow with nothing after it (`... = 0 \\Rightarrow`
    at the end of a block) is dropped: the next block starts with its own arrow."""
    note = ""
    if len(segs) >= 2 and segs[-1].op == "==>" and _empty(segs[-1], src):
        segs = segs[:-1]
        note = "the arrow at its end leads to the next formula"
    elif len(segs) >= 3 and segs[-1].op == "==>" and segs[-2].op is not None and \
            src.text[segs[-1].end:segs[-1].end + 8].lstrip().startswith("?"):
        # `p(z) = ... \rightarrow KL(q(z|\mu), p(z))?` (seed 001, line 38): the question asked next, not a step
        segs = segs[:-1]
        note = "the question at its end (`\\rightarrow ...?`) is not a step"
    if len(segs) == 1 and segs[0].op == "==>" and segs[0].piece is not None and src.text[segs[0].op_off] == "\\":
        # `$\rightarrow E$` after a label in prose, or nothing: E is what the student gets, a chain's start
        return [replace(segs[0], op=None)], "the arrow before it introduces what follows"
    k = next((i for i, sg in enumerate(segs) if sg.op == "==>"), None)
    if k is None or k == 0:
        return segs, note
    head = segs[:k]
    if k == 1 and _LABEL.fullmatch(src.text[head[0].start:head[0].end]):
        rest = segs[k:]
        return [replace(rest[0], op=None)] + rest[1:], "the label and arrow before it introduce what follows"
    if _values_only(head) and len(segs) - k == 2 and segs[k + 1].op == "=" and segs[k + 1].rule is None:
        texts = ["".join(t for t, _ in sg.piece.parts).strip() for sg in head]
        values = {t for t in texts if not re.search(r"[A-Za-z]", t)}
        lhs, rhs = segs[k:]
        right = "".join(t for t, _ in rhs.piece.parts) if rhs.piece is not None else ""
        # `at` puts the point into the left side only: a right side in the same names (`x = 0 \Rightarrow x + y = y +
        # x^2`) stays the statement it is, x = 0 ==> ...
        if len(values) == 1 and not any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(t)}(?![A-Za-z0-9_])", right)
                                         for t in texts if t not in values):
            value = values.pop()
            at = ", ".join(f"{t} = {value}" for t in texts if t not in (value,))
            return [replace(lhs, op=None), replace(rhs, rule=(f"at({at})", rhs.op_off))], \
                "the values before the arrow are the point it is stated at (by at)"
    return segs, note


def _entries(text: str) -> int | None:
    """How many entries a vector `[a, b, c]` (or rows a matrix `[[...], [...]]`) written in ASCII has, else None."""
    if not (text.startswith("[") and text.endswith("]")):
        return None
    depth, count = 0, 1
    for c in text[1:-1]:
        depth += (c in "([") - (c in ")]")
        if depth < 0:
            return None
        count += c == "," and depth == 0
    return count if depth == 0 else None


_EIGEN_NAME = re.compile(r"\s*(?:\\(?:boldsymbol|mathbf|vec|bm)\s*\{\s*[a-z]\s*\}|[a-z])\s*")


def _det_matrix(builder: "ChainBuilder") -> str | None:
    """The matrix A - \\lambda I of the last `\\det(...)` written out with lambda in it, in this section's chains."""
    lines = [ln for _, ls, _, _ in builder.chains for ln in ls] + list(builder.lines)
    for ln in reversed(lines):
        for sg in reversed(ln.body):
            text = sg.piece.text if sg.piece is not None else ""
            m = re.search(r"det\((\[\[.*?\]\])\)", text)
            if m and "lambda" in m.group(1) and m.group(1).count("[") == m.group(1).count("]"):
                return m.group(1)
    return None


def _eigenvector_claim(segs: list["_TSeg"], builder: "ChainBuilder", src: Source) -> list["_TSeg"] | None:
    """`\\lambda = i/2 \\rightarrow \\boldsymbol{u} = \\begin{pmatrix} i \\\\ 0 \\\\ 1 \\end{pmatrix}` after the student wrote
    `\\det(A - \\lambda I)` out as a matrix in the same section: the claim that u is an eigenvector of that eigenvalue,
    checked as subs(A - lambda I, lambda = c) u = 0 u (seed 004, lines 444-445 and 522, where the labels are wrong)."""
    if len(segs) != 4 or [sg.op for sg in segs] != [None, "=", "==>", "="] or \
            any(sg.piece is None for k, sg in enumerate(segs) if k != 2):
        return None
    if segs[0].piece.text.strip() != "lambda" or not _EIGEN_NAME.fullmatch(src.text[segs[2].start:segs[2].end]):
        return None
    vec = segs[3].piece
    size = _entries(vec.text.strip())
    matrix = _det_matrix(builder)
    if matrix is None or size is None or _entries(matrix) != size:
        return None  # no determinant written out before it, or a vector of another size
    off = segs[0].start
    value = segs[1].piece
    # `*` written out: `subs(...) [0, 1, 0]` would read as an entry of the matrix
    lhs = Piece([(f"subs({matrix}, lambda = ", off)] + list(value.parts) + [(") * ", off)] + list(vec.parts))
    rhs = Piece([("0 ", segs[3].start)] + list(vec.parts))
    return [_TSeg(None, off, lhs, None, off, segs[2].end), replace(segs[3], piece=rhs, alt=None)]


def _uses_side_result(builder: "ChainBuilder", segs: list["_TSeg"], src: Source, f: Formula) -> bool:
    """`$$E[S^T S] = ... = k$$` then `$$= -\\sum \\log\\sigma_i - \\frac12 k + ...$$`: a display block starting with
    `=` whose expression uses the name the chain before it ended on is not a step from that name (k = ... k ...)
    but the main derivation resumed with the side result substituted (seed 003, line 78); it starts a new chain
    rather than being checked against the side computation (which refutes a correct line)."""
    if builder.kind != "expr" or len(builder.lines) < 2 or segs[0].op != "=" or segs[0].piece is None or \
            not builder.chains:  # without a chain before the side computation there is nothing to resume
        return False
    if not re.search(r"(\$\$|\\\[)\s*$", src.text[:f.start]):
        return False
    last = builder.lines[-1].body[-1]
    if last.piece is None:
        return False
    name = last.piece.text.strip()
    new = segs[0].piece.text.strip()
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or new == name or \
            re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_(])", new) is None:
        return False
    # and it brings in names the side computation does not have (sigma_i, mu_i of the main chain): `= b \cdot 1`
    # after `a = b + 0 = b` is a step
    side = " ".join(sg.piece.text if sg.piece is not None else src.text[sg.start:sg.end]
                    for ln in builder.lines for sg in ln.body)
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", side))
    return any(w not in words for w in re.findall(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z0-9_]*(?!\s*\()", new))


def _values_of_a_name(segs: list["_TSeg"]) -> bool:
    """`\\text{Re}(\\lambda) = \\{-\\frac12, -\\frac12\\gamma\\}`: a name (or a function of one name) equal to a set
    literal lists the values it takes (one per eigenvalue), it is not an identity between a number and a set."""
    if len(segs) != 2 or segs[0].op is not None or segs[1].op != "=" or any(sg.piece is None for sg in segs):
        return False
    lhs, rhs = segs[0].piece.text.strip(), segs[1].piece.text.strip()
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(?:\(\s*[A-Za-z][A-Za-z0-9_]*\s*\))?", lhs)) and \
        rhs.startswith("{") and rhs.endswith("}")


def _marked_definition(f: Formula, names: Names, src: Source) -> bool:
    r"""`\bar{v}_{\theta}(\psi, \theta) \coloneqq -\nabla_{\theta} \mathcal{L}(\psi, \theta)` (seed 004, l.452): one
    relation, a definition sign, and a head that names what the key does not declare: notation, not a step. A head
    in the key's names is a claim about them, checked as a step."""
    if len(f.segments) != 2 or f.segments[1].rel is None or f.segments[1].rel.info.get("rule") != "definition" or \
            not f.segments[0].toks or not f.segments[1].toks:
        return False
    head = f.segments[0].toks
    try:
        translate_tokens(head, names, src, "", head[-1].end)
    except ProofcheckError as exc:
        return UNDECLARED.match(exc.message) is not None
    return False


def _defined_as_optimum(f: Formula) -> bool:
    r"""`q = \underset{q \in Q}{\operatorname{argmin}} D_{KL}(...)`, `\theta = argmax_\theta \sum_i L(...)`, `D^* :=
    \arg\max_D ...`: a name (with sub- or superscripts) set to the optimum of an objective names that optimum (the
    solution a method looks for, or an update of an algorithm); it is not a step that could be checked."""
    if len(f.segments) != 2 or f.segments[1].rel is None or f.segments[1].rel.value not in ("=", ":=") or \
            not f.segments[1].toks or not f.segments[1].toks[0].at("word", None) or \
            f.segments[1].toks[0].value not in ("argmin", "argmax"):
        return False
    toks = f.segments[0].toks
    if not toks or toks[0].kind not in ("word", "greek") or (toks[0].kind == "word" and len(str(toks[0].value)) != 1):
        return False
    i = 1
    while i < len(toks):  # only sub- and superscripts after the name: `\psi_i`, `D^*`, `\theta_{k+1}`
        if not (toks[i].at("char", "_") or toks[i].at("char", "^")) or i + 1 >= len(toks):
            return False
        i += 1
        if toks[i].at("char", "{"):
            depth = 0
            while i < len(toks):
                depth += toks[i].at("char", "{") - toks[i].at("char", "}")
                i += 1
                if depth == 0:
                    break
            if depth:
                return False
        else:
            i += 1
    return True


_NUMBER = re.compile(r"\s*-?\s*\d+(?:\.\d+)?(?:\s*/\s*\d+)?\s*")


def _case_premise(case: Formula, names: Names, src: Source, where: str) -> tuple["_TSeg", "_TSeg"] | None:
    """The case of `if $x \\geq 1$` or `if $0 < x < 1$` as one relation (lhs, relation seg) to be a premise, or None.
    A range a < x < b between numbers is (x - a)(b - x) > 0, the same set of real x (>= for a <= x <= b). Conditions
    joined to it (`With $a = 2$, $b = 0$`) make one premise with it: equations as |a - 2| + |b - 0| = 0, inequalities
    of one kind as min(...) > 0 (or >= 0); a mix is None."""
    if case.also:
        return _joined_premise([case, *case.also], names, src, where)
    segs = translate_formula(case, names, src, where)
    if any(sg.error is not None or sg.piece is None for sg in segs):
        return None
    if len(segs) == 2 and segs[1].op in ("=", "<", "<=", ">", ">=", "!="):
        return segs[0], segs[1]
    if len(segs) != 3:
        return None
    ops = (segs[1].op, segs[2].op)
    if ops in (("<", "<"), ("<=", "<=")):
        lo, x, hi = segs
    elif ops in ((">", ">"), (">=", ">=")):
        hi, x, lo = segs
    else:
        return None
    a, b = lo.piece.text, hi.piece.text
    if not (_NUMBER.fullmatch(a) and _NUMBER.fullmatch(b)):
        return None
    try:
        if Fraction(a.replace(" ", "")) >= Fraction(b.replace(" ", "")):
            return None
    except (ValueError, ZeroDivisionError):
        return None
    o = x.start
    body = Piece([("(", o)] + x.piece.parts + [(" - (", o)] + lo.piece.parts + [(")) ((", o)] + hi.piece.parts +
                 [(") - ", o)] + x.piece.parts + [(")", o)])
    rel = _TSeg(">" if ops[0] in ("<", ">") else ">=", segs[2].op_off, Piece([("0", segs[2].op_off)]), None,
                segs[2].start, segs[2].end)
    return replace(x, op=None, piece=body, start=segs[0].start, end=segs[2].start), rel


def _joined_premise(cases: list[Formula], names: Names, src: Source,
                    where: str) -> tuple["_TSeg", "_TSeg"] | None:
    """Several conditions as one premise (see _case_premise), or None."""
    terms, ops, ends = [], set(), []
    for c in cases:
        one = _case_premise(replace(c, also=[]), names, src, where)
        if one is None:
            return None
        lhs, rel = one
        ends.append((lhs.start, rel.end))
        o = lhs.start
        if rel.op == "=":
            terms.append([("abs((", o)] + lhs.piece.parts + [(") - (", o)] + rel.piece.parts + [("))", o)])
        elif rel.op in (">", ">="):
            terms.append([("(", o)] + lhs.piece.parts + [(") - (", o)] + rel.piece.parts + [(")", o)])
        elif rel.op in ("<", "<="):
            terms.append([("(", o)] + rel.piece.parts + [(") - (", o)] + lhs.piece.parts + [(")", o)])
        else:
            return None
        ops.add({"<": ">", "<=": ">="}.get(rel.op, rel.op))
    if len(ops) != 1:
        return None
    op = ops.pop()
    o, end = ends[0]  # the premise stands where the first condition is written
    if op == "=":
        parts = [p for k, t in enumerate(terms) for p in ([(" + ", o)] if k else []) + t]
    else:
        parts = [("min(", o)] + [p for k, t in enumerate(terms) for p in ([(", ", o)] if k else []) + t] + [(")", o)]
    return _TSeg(None, o, Piece(parts), None, o, end), _TSeg(op, end, Piece([("0", end)]), None, end, end)


@dataclass
class _TSeg:
    """A translated expression and the relation before it."""

    op: str | None
    op_off: int
    piece: Piece | None
    error: ProofcheckError | None
    start: int
    end: int
    rule: tuple[str, int] | None = None
    alt: Piece | None = None  # the other reading of an ambiguous expression (`a/2b`, `\frac{d}{dx} f + g`)


@dataclass
class _Line:
    op: str | None
    op_off: int
    body: list  # [seg] for an expression line, [lhs, rhs] (rhs.op is the relation) for a statement line
    rule: tuple[str, int] | None = None
    error: ProofcheckError | None = None


@dataclass
class Chain:
    """One chain of relations found in LaTeX: its first line and its steps, as Texts."""

    steps: list[Text]
    statement: bool
    span: Span
    part: str | None = None  # the key part named by the last `part: NAME` marker before it
    claim: Text | None = None  # the chain's own claim: its first line related to its last
    inline: bool = False  # every formula of it is inline math ($...$ in a sentence)
    section: str = ""  # the heading it is written under ("2.c"; "" before any heading)
    conditional: bool = False  # `if $A$, then $B$`: B under the case A, a remark on the way, never the final answer
    define: list[Text] = field(default_factory=list)  # the student's own definitions (`L(w) := ...`) its lines use


@dataclass
class FormulaNote:
    """What became of one formula of a sheet: nothing is dropped without a record (docs/grading.md 3a)."""

    line: int
    column: int
    kind: str  # "read" (a line of a chain), "condition", "expression" (no relation), "not read"
    reason: str = ""  # for "not read": why; for "condition": what it is
    section: str = ""
    inline: bool = False
    relation: bool = False  # the formula contains a relation (=, <, \Rightarrow, ...)
    latex: str = ""


@dataclass
class Sheet:
    """A Markdown/LaTeX solution sheet as read: its chains and what could not be read."""

    path: str
    chains: list[Chain] = field(default_factory=list)
    errors: list[ProofcheckError] = field(default_factory=list)
    skipped: int = 0  # formulas that are not chains (conditions, `z \sim q`, `x \in \mathbb{R}`)
    lines: list[str] = field(default_factory=list)
    formulas: list[FormulaNote] = field(default_factory=list)  # every formula, in the order written


def _op_of(t: Tok) -> str:
    if t.kind == "rel":
        return str(t.value)
    if t.kind == "impl":
        return str(t.value)
    if t.kind == "arrow":
        return "==>"
    return "≈"


def translate_formula(f: Formula, names: Names, src: Source, where: str) -> list[_TSeg]:
    """A formula's expressions, each translated, with the relation before it."""
    if f.error is not None:  # one segment for the whole formula, carrying the error
        first = f.segments[0]
        op = _op_of(first.rel) if first.rel is not None else None
        toks = [t for s in f.segments for t in s.toks]
        start = toks[0].start if toks else f.start
        end = max([t.end for t in toks] + [start])
        return [_TSeg(op, first.rel.start if first.rel is not None else start, None, f.error, start, end)]
    segs: list[_TSeg] = []
    names = replace(names, spellings={})  # one spelling per declared name in a formula
    for s in f.segments:
        op = _op_of(s.rel) if s.rel is not None else None
        op_off = s.rel.start if s.rel is not None else (s.toks[0].start if s.toks else f.start)
        start = s.toks[0].start if s.toks else (s.rel.end if s.rel is not None else f.start)
        end = s.toks[-1].end if s.toks else start
        rule = s.rule
        if s.rel is not None and s.rel.info.get("rule") and rule is None:
            rule = (s.rel.info["rule"], s.rel.start)
        piece, error = None, None
        try:
            if s.rel is not None and s.rel.kind == "approx":
                raise latex_error(f"{s.rel.value} is not a relation proofcheck can check: write = for an exact step "
                                  "(or a limit, `by limit(x -> a)`)", src, s.rel.start)
            if not s.toks:
                what = src.text[s.rel.start:s.rel.end].strip() if s.rel is not None else "this"
                raise latex_error(f"nothing follows `{what}`", src, s.rel.end if s.rel is not None else start)
            piece = translate_tokens(s.toks, names, src, where, end)
        except ProofcheckError as exc:
            error = exc
        except RecursionError:  # a hostile sheet: 500 terms in one formula
            error = latex_error("formula too long or nested too deeply to read", src, start)
        alt = None
        other = _other_reading(s.toks, src) if piece is not None else None
        if other is not None:
            try:
                alt = translate_tokens(other, names, src, where, end)
            except (ProofcheckError, RecursionError):
                alt = None
            if alt is not None and alt.text == piece.text:
                alt = None
        segs.append(_TSeg(op, op_off, piece, error, start, end, rule, alt))
    return _expectation_variables(f, segs, names, src, where)


_BOUND_EXPECTATION = re.compile(r"\bE\[([A-Za-z][A-Za-z0-9_]*) ~ ([A-Za-z][A-Za-z0-9_]*)\]")


def _expectation_variables(f: Formula, segs: list[_TSeg], names: Names, src: Source, where: str) -> list[_TSeg]:
    """`E_q[\\log \\frac{q(z)}{P(z)}] = E_q[\\frac12 \\|z\\|^2 ...]`: an `E_q` whose body does not apply q takes the variable
    that the formula's other `E_q[... q(z) ...]` (or `E_{z \\sim q}`) names, when that is one variable."""
    if not any(s.error is not None and s.error.message.startswith("name the random variable") for s in segs):
        return segs
    seen: dict[str, set[str]] = {}
    for s in segs:
        if s.piece is not None:
            pairs = _BOUND_EXPECTATION.findall(s.piece.text) + \
                [(v, d) for d, v in s.piece.info.get("expectations", {}).items()]
            for var, dist in pairs:
                seen.setdefault(dist, set()).add(var)
    found = {d: v.pop() for d, v in seen.items() if len(v) == 1 and "" not in v and d in names.distributions}
    if not found:
        return segs
    hinted = replace(names, expectation_vars={**names.expectation_vars, **found})
    out = []
    for s, seg in zip(segs, f.segments):
        if s.error is not None and s.error.message.startswith("name the random variable") and seg.toks:
            try:
                s = replace(s, piece=translate_tokens(seg.toks, hinted, src, where, s.end), error=None)
            except ProofcheckError as exc:
                s = replace(s, error=exc)
        out.append(s)
    return out


_FACTOR_START = ("num", "word", "greek", "accent")


def _factor_end(toks: list[Tok], j: int) -> int | None:
    """End index of one factor starting at toks[j] (a number, a name or a bracket, with its scripts), or None."""
    if j >= len(toks):
        return None
    t = toks[j]
    if t.at("char", "("):
        depth, k = 0, j
        while k < len(toks):
            if toks[k].at("char", "("):
                depth += 1
            elif toks[k].at("char", ")"):
                depth -= 1
                if depth == 0:
                    break
            k += 1
        if k >= len(toks):
            return None
        k += 1
    elif t.kind in _FACTOR_START:
        k = j + 1
    else:
        return None
    while k + 1 < len(toks) and toks[k].kind == "char" and toks[k].value in "^_":
        k += 1
        if toks[k].at("char", "{"):
            depth = 0
            while k < len(toks):
                depth += toks[k].at("char", "{") - toks[k].at("char", "}")
                if depth == 0:
                    break
                k += 1
        k += 1
    return min(k, len(toks))


def _paren(toks: list[Tok], a: int, b: int) -> list[Tok]:
    """toks with toks[a:b] in brackets."""
    return toks[:a] + [Tok("char", "(", toks[a].start, toks[a].start, {"synthetic": True})] + toks[a:b] + \
        [Tok("char", ")", toks[b - 1].end, toks[b - 1].end, {"synthetic": True})] + toks[b:]


def _other_reading(toks: list[Tok], src: Source) -> list[Tok] | None:
    """The tokens of the reading people often mean where the documented precedence reads the notation
    otherwise, or None: `a/2\\sigma^2` as `a/(2\\sigma^2)` (documented: `(a/2)\\sigma^2`), and
    `\\frac{d}{dx} x^2 + x` as the derivative of the whole sum (documented: of `x^2` only), and in the product
    rule `\\frac{d}{dx} x^2 \\cdot \\sin x + x^2 \\cdot \\frac{d}{dx} \\sin x` as the derivative of the first factor."""
    out, changed, i = list(toks), False, 0
    while i < len(out):
        t = out[i]
        if t.at("op", "/"):
            k = _factor_end(out, i + 1)
            count = 0
            end = i + 1
            start = i + 1
            while k is not None:
                # `x/yz`: a run of letters is a product of names (when no name is spelt so) as much as `x/y z`
                word = out[start]
                count, end = count + (len(word.value) if word.kind == "word" else 1), k
                start, k = k, _factor_end(out, k)
            if count >= 2:
                out, changed = _paren(out, i + 1, end), True
                i = end + 2
                continue
        elif t.at("cmd", "frac") and i + 1 < len(out) and out[i + 1].at("char", "{"):
            try:
                j1 = group_end_index(out, i + 1, src)
                j2 = group_end_index(out, j1 + 1, src) if j1 + 1 < len(out) and out[j1 + 1].at("char", "{") else None
            except ProofcheckError:
                return None
            num = numerator_d(out[i + 2:j1]) if j2 is not None else None
            if num is not None and not num[1] and derivative_variable(out[j1 + 2:j2]) is not None:
                a, depth, b, signs, dot = j2 + 1, 0, j2 + 1, False, None
                while b < len(out):
                    u = out[b]
                    if token_is(u, OPENERS):
                        depth += 1
                    elif token_is(u, CLOSERS):
                        if depth == 0:
                            break
                        depth -= 1
                    elif depth == 0 and u.kind == "op" and u.value in ("+", "-") and b > a:
                        signs = True
                    elif depth == 0 and u.at("op", "*") and dot is None and not signs and b > a:
                        dot = b
                    elif u.at("cmd", "frac") and b + 2 < len(out) and (out[b + 2].at("cmd", "partial") or
                                                                        out[b + 2].at("word", "d")):
                        signs = False  # `\\frac{d}{dx} f + \\frac{d}{dx} g`: a sum of derivatives, as written
                        if dot is None:
                            break
                        # `\\frac{d}{dx} x^2 \\cdot \\sin x + x^2 \\cdot \\frac{d}{dx} \\sin x`: the product rule, each
                        # derivative of its own factor (documented: of the whole product after it)
                        out, changed = _paren(out, a, dot), True
                        break
                    b += 1
                if signs:
                    out, changed = _paren(out, a, b), True
                    i = b + 2
                    continue
        i += 1
    return out if changed else None


_STRUCTURAL = {"left", "right", "frac", "dfrac", "tfrac", "sqrt", "big", "Big", "bigg", "Bigg", "cdot", "quad", "qquad",
               "rightarrow", "Rightarrow", "to", "Longrightarrow", "implies", "mathrm", "mathbf", "boldsymbol", "text"}


def _base_names(src: Source, start: int, end: int) -> set[str]:
    """The letters and commands of src[start:end] outside sub- and superscripts (`D_{xD}` gives D, `x_i` x): what a
    formula is about, to tell whether an unreadable premise can say anything about the formula after it."""
    toks = tokenize(src.text, start, end)
    out: set[str] = set()
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "char" and t.value in "_^" and i + 1 < len(toks):
            i += 2
            if toks[i - 1].at("char", "{"):
                depth = 1
                while i < len(toks) and depth:
                    depth += toks[i].at("char", "{") - toks[i].at("char", "}")
                    i += 1
            continue
        if t.kind == "word":
            out.update(str(t.value))
        elif t.kind == "cmd" and t.value not in _STRUCTURAL:
            out.add("\\" + str(t.value))
        i += 1
    return out


class ChainBuilder:
    """Formulas -> chains: a formula starting with a relation continues the chain before it."""

    def __init__(self, src: Source, min_lines: int = 2):
        self.src = src
        self.min_lines = min_lines  # a sheet's lone expressions are not chains; steps_latex may be one line
        self.chains: list[tuple[str, list[_Line], str | None, bool]] = []  # (kind, lines, part, inline)
        self.kind: str | None = None
        self.inline = False
        self.lines: list[_Line] = []
        self.part: str | None = None
        self.orphans: list[ProofcheckError] = []
        self.conditional: list[list[_Line]] = []  # the lines of the chains stated under a case

    def flush(self) -> None:
        if self.kind is not None and len(self.lines) >= self.min_lines:
            self.chains.append((self.kind, self.lines, self.part, self.inline))
        elif self.lines and self.lines[0].error is not None:
            self.orphans.append(self.lines[0].error)  # a lone formula that could not be read
        self.kind, self.lines = None, []

    def add(self, segs: list[_TSeg], part: str | None, inline: bool = False) -> None:
        i = 0
        if segs[0].op is not None:
            self.inline = self.inline and inline
        if segs[0].op is None:
            self.flush()
            self.kind, self.part, self.inline = "expr", part, inline
            self.lines = [_Line(None, segs[0].op_off, [segs[0]], segs[0].rule, segs[0].error)]
            i = 1
        elif self.kind is None:
            s = segs[0]
            self.orphans.append(latex_error(f"this formula starts with `{s.op}` but there is no formula before it "
                                            "to continue", self.src, s.op_off))
            return
        while i < len(segs):
            s = segs[i]
            if s.op in ("==>", "<==>"):
                nxt = segs[i + 1] if i + 1 < len(segs) else None
                if nxt is None or nxt.op in ("==>", "<==>", "≈"):
                    err = s.error or latex_error(f"after `{self.src.text[s.op_off:s.op_off + 16].split()[0]}` comes a "
                                                 "relation, such as a = b", self.src, s.op_off)
                    self.step(_Line(s.op, s.op_off, [s], s.rule, err))
                    i += 1
                    continue
                self.implication(s, nxt)
                i += 2
                continue
            if self.kind == "stmt" and self.lines[-1].error is None and len(self.lines[-1].body) == 2 and \
                    self.lines[-1].body[-1].op in _BOUNDS and s.op in ("=", *_BOUNDS):
                # `\Rightarrow A \geq B = C`: the bound A >= B, then B = C written on as an expression chain (seed
                # 001 l.20). Not after `A = B`: `\Rightarrow p w = A = B` goes on with what p w equals, and a chain
                # B = C followed by `\Rightarrow` would become that statement's unchecked premise
                rhs = self.lines[-1].body[-1]
                part = self.part
                self.flush()
                self.kind, self.part = "expr", part
                self.lines = [_Line(None, rhs.start, [replace(rhs, op=None)], None, None)]
                self.step(_Line(s.op, s.op_off, [s], s.rule, s.error))
            elif self.kind == "stmt":
                # `\Rightarrow p w = A = B` (seed 004, l.102) is not read: B = A may hold only under the statements
                # before it (`x^2 - 4x + 4 = 0 \Rightarrow (x - 2)^2 = x^2 - 4x + 4 = 0`), which a step from the line
                # before alone does not have, and `(x - 2)^2 = x^2 - 4 = 0` would pass as an implication
                err = s.error or latex_error("after ⟹ comes one relation; start a new formula for the next step",
                                             self.src, s.op_off)
                self.step(_Line(s.op, s.op_off, [s], s.rule, err))
            else:
                self.step(_Line(s.op, s.op_off, [s], s.rule, s.error))
            i += 1

    def step(self, line: _Line) -> None:
        self.lines.append(line)

    def implication(self, lhs: _TSeg, rel: _TSeg) -> None:
        line = _Line(lhs.op, lhs.op_off, [lhs, rel], rel.rule, lhs.error or rel.error)
        if self.kind == "expr" and len(self.lines) >= 2 and lhs.error is None and rel.error is None and \
                (self.lines[-2].body[-1].error or self.lines[-1].body[0].error) and \
                not _base_names(self.src, self.lines[-2].body[-1].start, self.lines[-1].body[0].end) & \
                _base_names(self.src, lhs.start, rel.end):
            # `I \rightarrow D_{xD}` then `\Rightarrow A = B`, `= C`: a premise that cannot be read and names nothing
            # that A = B is about cannot restrict it: A = B = C is graded as an expression chain (seed 001, line 99)
            # the premise is dropped here: its formula is recorded `not read` with its own error
            self.kind = "expr"
            self.lines = [_Line(None, lhs.start, [replace(lhs, op=None)], None, None)]
            self.step(_Line(rel.op, rel.op_off, [rel], rel.rule, None))
            return
        if self.kind == "stmt" and self.lines and self.lines[-1].error is not None and lhs.error is None and \
                rel.error is None:
            # `\Rightarrow A = B` after a statement that could not be read (seed 001, l.56 after the derivative with
            # respect to q(z|u) on l.54): what it follows from is unknown, so A = B starts a statement chain of its own
            # (the lines before keep their error, recorded as not read) instead of continuing from nothing
            part = self.part
            self.flush()
            self.kind, self.part = "stmt", part
            self.lines = [_Line(None, lhs.start, [replace(lhs, op=None), rel], None, None)]
            return
        if self.kind == "expr":
            if len(self.lines) < 2:
                first = self.lines[0]
                err = latex_error("⟹ joins two relations; the formula before it is not a relation", self.src, lhs.op_off)
                self.lines.append(_Line(lhs.op, lhs.op_off, [lhs, rel], rel.rule, first.error or err))
                self.kind = "stmt"
                return
            first, last = self.lines[0], self.lines[-1]
            op = compose([l.op for l in self.lines[1:]], False)
            # (only with the first line on the left: `a = b \Rightarrow b = a` turns an equation round)
            if op is not None and _same_piece(first.body[0], lhs):
                # `A = B = C \Rightarrow A = C'`: the arrow restates what the chain shows about A, the "Hence" of a
                # derivation. The chain keeps its steps, each checked (its last step is a claim like the others, not
                # an assumption), and A OP C is the statement the arrow starts from.
                start = _Line(None, first.body[0].start, [first.body[0], replace(last.body[0], op=op)], None,
                              first.body[0].error or last.body[0].error)
                part = self.part
                self.flush()
            else:
                # `f = 2 a - 2 = 0 \Rightarrow a = 1`: the last relation is the equation the arrow solves, the
                # statement it starts from
                last = self.lines.pop()
                prev = self.lines[-1]
                start = _Line(None, prev.body[-1].start, [prev.body[-1], last.body[0]], None,
                              prev.body[-1].error or last.body[0].error)
                part = self.part
                if len(self.lines) < 2:  # only the start is left: it is now the left side of the statement
                    self.lines = []
                self.flush()
            self.kind, self.part, self.lines = "stmt", part, [start]
        self.step(line)

    def finish(self) -> list[tuple[str, list[_Line], str | None, bool]]:
        self.flush()
        return self.chains


_BOUNDS = ("<", "<=", ">", ">=")


def _same_piece(a: _TSeg, b: _TSeg) -> bool:
    """Whether two read expressions are written alike (their ASCII, spaces aside)."""
    if a.piece is None or b.piece is None:
        return False
    def text(seg: _TSeg) -> str:
        return "".join(t for t, _ in seg.piece.parts).replace(" ", "")
    return text(a) == text(b)


def emit_text(chunks: list[tuple[str, int]], src: Source, end: int, latex: str,
              error: ProofcheckError | None = None) -> LatexText:
    """ASCII chunks (text, LaTeX offset) -> a LatexText whose characters map to file positions."""
    text_parts: list[str] = []
    cmap: list[tuple[int, int]] = []
    for s, off in chunks:
        p = src.pos(off)
        text_parts.append(s)
        cmap.extend([p] * len(s))
    cmap.append(src.pos(end))
    text = "".join(text_parts).replace("\n", " ")
    origin = cmap[0] if cmap else src.pos(end)
    return LatexText(text, src.path, (origin,), tuple(cmap), latex, error)


def _line_text(line: _Line, kind: str, src: Source) -> LatexText:
    """One line of a chain as ASCII: `body`, `OP body`, `lhs REL rhs`, `==> lhs REL rhs`, with `by RULE`."""
    segs = line.body
    start = min(s.op_off for s in segs) if line.op else segs[0].start
    end = max(s.end for s in segs)
    latex = " ".join(src.text[start:end].split())
    chunks: list[tuple[str, int]] = []
    if line.op:
        chunks.append((line.op + " ", line.op_off))
    if line.error is not None or any(s.piece is None for s in segs):
        err = line.error or next(s.error for s in segs if s.error is not None)
        chunks.append((" ".join(src.text[segs[0].start:end].split()) or "?", segs[0].start))
        return emit_text(chunks, src, end, latex, err)
    head = list(chunks)

    def body(alt: bool) -> list[tuple[str, int]]:
        out = list(head)
        pieces = [(sg.alt if alt and sg.alt is not None else sg.piece) for sg in segs]
        out.extend(pieces[0].parts)
        if len(segs) == 2:
            out.append((f" {segs[1].op} ", segs[1].op_off))
            out.extend(pieces[1].parts)
        if line.rule:
            rule, off = line.rule
            out.append((f" by {rule}", off))
        return out

    other = emit_text(body(True), src, end, latex) if any(sg.alt is not None for sg in segs) else None
    text = emit_text(body(False), src, end, latex)
    return replace(text, alternative=other) if other is not None else text


def _claim_of(kind: str, lines: list[_Line], src: Source) -> LatexText | None:
    """A chain's own claim: first line OP last line (or first statement ==> last statement)."""
    if any(l.error is not None or any(s.piece is None for s in l.body) for l in lines):
        return None
    ops = [l.op for l in lines[1:]]
    first, last = lines[0], lines[-1]
    chunks: list[tuple[str, int]] = []
    if kind == "expr":
        op = compose(ops, False)
        if op is None:
            return None
        chunks.extend(first.body[0].piece.parts)
        chunks.append((f" {op} ", last.op_off))
        chunks.extend(last.body[0].piece.parts)
    else:
        op = "<==>" if all(o == "<==>" for o in ops) else "==>"
        for k, l in enumerate((first, last)):
            lhs, rhs = l.body
            if k:
                chunks.append((f" {op} ", l.op_off))
            chunks.extend(lhs.piece.parts)
            chunks.append((f" {rhs.op} ", rhs.op_off))
            chunks.extend(rhs.piece.parts)
    end = max(s.end for s in last.body)
    return emit_text(chunks, src, end, "")


def build_chains(formulas: list[tuple[Formula, str | None, Names]], src: Source, where: str,
                 builder: ChainBuilder | None = None, notes: list[FormulaNote] | None = None,
                 section: str = "") -> tuple[list[Chain], list[ProofcheckError], int]:
    """Formulas (with their section and names) -> chains, errors, and how many formulas were skipped."""
    builder = builder or ChainBuilder(src)
    skipped = 0
    for k, (f, part, names) in enumerate(formulas):
        line, col = src.pos(f.segments[0].toks[0].start if f.segments[0].toks else f.start)
        relation = any(sg.rel is not None for sg in f.segments)
        latex = " ".join(src.text[f.start:max((t.end for sg in f.segments for t in sg.toks), default=f.start)]
                         .split())[:200]

        def classified(kind: str, reason: str) -> int:
            """Record this formula as a condition or definition, not a step; 1, to count it as skipped."""
            if notes is not None:
                notes.append(FormulaNote(line, col, kind, reason, section, f.inline, relation, latex))
            return 1

        if f.dead:
            skipped += classified("condition", f"a statement after `{f.asserted}`, read as a condition: not checked"
                                  if f.asserted else "a condition or declaration, not a step")
            continue
        if _tends_to(latex):
            # `$p \to 1$` in a sentence, `As \tau \to 0, T \to \infty` in a display: a name tending to a value is no
            # relation between two expressions (an implication's premise is one), so no step
            skipped += classified("condition", "the limit the sentence is about, not a step")
            continue
        if f.inline and _tuple_values(latex):
            skipped += classified("condition", "the values of the variables (a solution or a case), not a step")
            continue
        if f.notation:
            skipped += classified("definition", f"the student's notation `{f.notation}`, defined in names the key "
                                                "does not model: nothing to check")
            continue
        if _marked_definition(f, names, src):
            skipped += classified("definition", "written with a definition sign (:=) in names the key does not "
                                                "model: the student's or the question's notation, nothing to check")
            continue
        if _defined_as_optimum(f):
            skipped += classified("definition", "names the optimum of an objective (argmin or argmax): what the "
                                                "method looks for or an update of its algorithm, not a step")
            continue
        segs = _eigenvalue_pair(f, builder, names, src, where) or translate_formula(f, names, src, where)
        eigen = _eigenvector_claim(segs, builder, src)
        segs, arrow_note = (eigen, "the eigenvector of that eigenvalue: (A - c I) u = 0 for the matrix A - \\lambda I "
                            "of the determinant written before it") if eigen else _arrow_forms(segs, src)
        if f.defines and len(segs) >= 2 and segs[0].error is None:  # `L(w) = A = B`: L is defined, the chain is A = B
            segs = [replace(segs[1], op=None, op_off=segs[1].start)] + segs[2:]
        if f.inline and _values_only(segs):
            skipped += classified("condition", "the value of a variable (a case or a solution), not a step")
            continue
        if _values_of_a_name(segs):
            skipped += classified("condition", "the set of values a quantity takes, not a step")
            continue
        # a display continued by `$$= ...$$` blocks is one chain with them: a case cannot hold for part of it
        continued = k + 1 < len(formulas) and not formulas[k + 1][0].inline and formulas[k + 1][0].segments and \
            formulas[k + 1][0].segments[0].rel is not None and not f.inline
        premise = _case_premise(f.case, names, src, where) \
            if f.case is not None and len(segs) >= 2 and not continued else None
        if premise is None and f.case is not None and f.case.also and not continued:
            # `With $a = 2$, $b > 0$, ...`: read without its conditions it would be refuted where they fail
            skipped += classified("not read", "stated under several conditions that do not make one premise (equations "
                                              "only, or inequalities of one kind): not checked")
            continue
        if premise is not None and segs[0].op is None and all(sg.error is None for sg in segs):
            # `if $A$, then $B$`: B is checked where A holds, as the statement step A ==> B (which can never earn
            # the credit of an unconditional claim); `B = C = D \quad \text{when } A`: each step of the chain so
            for a, b in zip(segs, segs[1:]):
                builder.flush()
                builder.kind, builder.part, builder.inline = "stmt", part, f.inline
                builder.lines = [_Line(None, premise[0].start, list(premise))]
                head = replace(a, op="==>", op_off=a.start)
                builder.step(_Line("==>", a.start, [head, b], b.rule))
                builder.conditional.append(builder.lines)
            builder.flush()
            if notes is not None:
                notes.append(FormulaNote(line, col, "read", "checked under the case written before it in the "
                                         "paragraph", section, f.inline, relation, latex))
            continue
        solved = _equation_to_solve(segs)
        if solved:
            segs = segs[:-1]
            if segs[0].op is None and len(segs) == 1:  # only `p(x) = 0` was written: the equation, a condition
                skipped += classified("condition", "an equation to solve (a product set to 0), not a step")
                continue
        restart = _uses_side_result(builder, segs, src, f)
        if restart:
            segs = [replace(segs[0], op=None)] + segs[1:]
        if _plus_continuation(f, segs, builder, part, src):
            # `$$= A + B$$` then `$$+ C + D$$`: the sum goes on in the next display (seed 004, lines 341-343)
            last = builder.lines[-1]
            prev = last.body[-1]
            plus = [(" + ", segs[0].start)]
            joined = Piece(prev.piece.parts + plus + segs[0].piece.parts)
            other = None if prev.alt is None and segs[0].alt is None else \
                Piece((prev.alt or prev.piece).parts + plus + (segs[0].alt or segs[0].piece).parts)
            last.body[-1] = replace(prev, piece=joined, end=segs[0].end, alt=other)
            if notes is not None:
                notes.append(FormulaNote(line, col, "read", "continues the sum of the line before it", section,
                                         f.inline, relation, latex))
            if len(segs) > 1:
                builder.add(segs[1:], part, f.inline)
            continue
        orphan = segs[0].op is not None and builder.kind is None
        builder.add(segs, part, f.inline)
        if eigen:  # a check on the way (like a case), never the part's final answer
            builder.conditional.append(builder.lines)
        if notes is not None:
            err = next((sg.error for sg in segs if sg.error is not None), None)
            if err is None and orphan:
                err = builder.orphans[-1] if builder.orphans else None
            if err is not None:
                sp = err.span
                notes.append(FormulaNote(sp.line if sp else line, sp.col if sp else col, "not read",
                                         " ".join(err.message.split()), section, f.inline, relation, latex))
            elif f.defines:
                notes.append(FormulaNote(line, col, "definition", f"the student's definition of `{f.defines}`, used "
                                         "for the rest of this section", section, f.inline, relation, latex))
            else:
                why = arrow_note if arrow_note else "its final `= 0` is the equation whose roots follow, not a step" \
                    if solved else \
                    ("starts a new chain: it uses the result of the computation before it instead of continuing it"
                     if restart else "")
                notes.append(FormulaNote(line, col, "read" if relation else "expression", why, section, f.inline,
                                         relation, latex))
    out = []
    for kind, lines, part, inline in builder.finish():
        texts = [_line_text(l, kind, src) for l in lines]
        out.append(Chain(texts, kind == "stmt", texts[0].span, part, _claim_of(kind, lines, src), inline, section,
                         conditional=any(lines is c for c in builder.conditional)))
    return out, builder.orphans, skipped


def _plus_continuation(f: Formula, segs: list[_TSeg], builder: "ChainBuilder", part: str | None, src: Source) -> bool:
    """A display that starts with `+` right after an expression chain's line, nothing but space between them: the
    line's sum written on (a `-` could start an expression of its own, so only `+`)."""
    first = f.segments[0].toks[0] if f.segments[0].toks else None
    if f.inline or first is None or first.value != "+" or first.kind not in ("char", "op"):
        return False
    if segs[0].op is not None or segs[0].error is not None or segs[0].piece is None or builder.kind != "expr" or \
            builder.part != part or not builder.lines:
        return False
    last = builder.lines[-1]
    prev = last.body[-1]
    if last.error is not None or prev.piece is None or prev.error is not None:
        return False
    return re.fullmatch(r"[\s$}]*", src.text[prev.end:f.start]) is not None  # `d\boldsymbol{x}}$$`: its brace


_TWO_ROOTS = ([("num", "1"), ("char", ","), ("num", "2")], [("cmd", "frac"), ("char", "{"), ("num", "1"), ("char", "}"),
                                                            ("char", "{"), ("num", "2"), ("char", "}")],
              [("num", "12")], [("num", "1"), ("op", "/"), ("num", "2")])


def _eigenvalue_pair(f: Formula, builder: "ChainBuilder", names: Names, src: Source, where: str) -> list[_TSeg] | None:
    """`\\lambda_{1,2} = a \\pm b` (also `\\lambda_{\\frac12}`) right after a chain that ends in a matrix written out, with
    the prose between them naming eigenvalues (`Eigenvalues of the given matrix are:`): the step
    `eigenvals(M) = {a + b, a - b}` from that matrix (seed 000, lines 305 and 328). Anything else with `\\pm` stays an
    error: the label alone does not say which matrix."""
    if len(f.segments) != 2 or f.error is not None or f.dead or builder.kind is None or not builder.lines:
        return None
    head, body = f.segments[0].toks, f.segments[1].toks
    rel = f.segments[1].rel
    if rel is None or rel.value != "=" or len(head) < 4 or not head[0].at("greek", "lambda") or \
            not head[1].at("char", "_") or not head[2].at("char", "{") or not head[-1].at("char", "}"):
        return None
    if [(t.kind, str(t.value)) for t in head[3:-1]] not in _TWO_ROOTS:
        return None
    if sum(t.kind == "pm" for t in body) != 1 or any(t.kind == "pm" for t in head):
        return None
    last = builder.lines[-1]
    matrix = last.body[-1].piece if last.error is None and last.body else None
    if matrix is None or not matrix.text.lstrip().startswith("[[") or not matrix.text.rstrip().endswith("]]"):
        return None
    between = src.text[last.body[-1].end:f.start].lower()
    if "eigen" not in between and "ویژه" not in between:
        return None
    pm = next(t for t in body if t.kind == "pm")
    signs = ("+", "-") if pm.value == "pm" else ("-", "+")
    try:
        roots = [translate_tokens([Tok("op", sg, t.start, t.end) if t is pm else t for t in body], names, src, where,
                                  body[-1].end) for sg in signs]
    except ProofcheckError:
        return None
    off = head[0].start
    lhs = Piece([("eigenvals(", off)] + list(matrix.parts) + [(")", off)])
    rhs = Piece([("{", body[0].start)] + list(roots[0].parts) + [(", ", pm.start)] + list(roots[1].parts) +
                [("}", body[-1].end)])
    return [_TSeg(None, off, lhs, None, off, head[-1].end), _TSeg("=", rel.start, rhs, None, body[0].start, body[-1].end)]
