r"""Step 3: rows (`\\` outside matrices) and formulas (expressions joined by relations, with their rules)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from proofcheck.errors import LimitError, ProofcheckError
from proofcheck.latex.source import MAX_NESTING, Source, latex_error
from proofcheck.latex.tokens import Tok
from proofcheck.latex.vocabulary import CONDITION_WORDS


@dataclass
class _Segment:
    """One expression of a formula and the relation before it (None for the first)."""

    rel: Tok | None
    toks: list[Tok] = field(default_factory=list)
    rule: tuple[str, int] | None = None  # (ASCII rule text, offset)


@dataclass
class Formula:
    """Segments of one formula: expressions joined by relations, with its offset and any error."""

    segments: list[_Segment]
    dead: bool = False  # not a chain: a condition (`\text{if} x > 0`), `z \sim q`, `x \in \mathbb{R}`
    start: int = 0
    error: ProofcheckError | None = None  # e.g. a bracket never closed on this line
    inline: bool = False  # from inline math ($...$ in a sentence)
    case: "Formula | None" = None  # `if $0 < x < 1$, then $...$`: the case this formula is stated under
    also: list = field(default_factory=list)  # of a case: the conditions joined to it (`With $a = 2$, $b = 0$, ...`)
    defines: str | None = None  # `L(w) = ...`: the student's definition of L (its head is dropped from the chain)
    notation: str | None = None  # `C_2 = ...` in names the key does not model: a definition, nothing to check
    asserted: str = ""  # `since $A$`: the word that made this claim of the student's a condition (not checked)
    joined: str = ""  # the word or comma that separates this formula from the one before it in its display


OPENERS = {("char", "("), ("char", "["), ("char", "{"), ("setopen", None), ("langle", None), ("matbegin", None)}
CLOSERS = {("char", ")"), ("char", "]"), ("char", "}"), ("setclose", None), ("rangle", None), ("matend", None)}


def token_is(t: Tok, pairs) -> bool:
    """Whether t is one of the (kind, value) pairs; a pair with value None matches every value."""
    return (t.kind, t.value) in pairs or (t.kind, None) in pairs


def _rule_text(text: str) -> str | None:
    """`by definition`, `(by given(vp))` -> `definition`, `given(vp)`; otherwise None."""
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    m = re.match(r"by\s+(.+)$", text, re.S)
    return m.group(1).strip() if m else None


# a condition written after a result, `... \text{for } x > 0`, that the result is stated under
_CASE_WORDS = {"for", "if", "when", "whenever", "provided", "assuming"}


def split_formulas(toks: list[Tok], src: Source) -> list[Formula]:
    """Normalized tokens of a display block -> formulas (see the module docstring, step 3).
    Unbalanced brackets make an error for their own line (up to `\\\\`), not for the whole block."""
    formulas: list[Formula] = []
    depth: list[Tok] = []  # open brackets
    cur = Formula([_Segment(None)], start=toks[0].start if toks else 0)
    dead_next = False

    def close():
        nonlocal cur, dead_next
        segs = [s for s in cur.segments if s.toks or s.rel is not None]
        if segs:
            cur.segments = segs
            formulas.append(cur)
        cur = Formula([_Segment(None)], dead=dead_next)
        dead_next = False

    def last_segment() -> _Segment:
        for f in [cur] + formulas[::-1]:
            for s in reversed(f.segments):
                if s.toks:
                    return s
        return cur.segments[-1]

    def unclosed(opener: Tok, where: str) -> None:
        if cur.error is None:
            cur.error = latex_error(f"this `{src.text[opener.start:opener.end].strip()}` is never closed{where}",
                                    src, opener.start)
        depth.clear()

    row_break = False  # just after a top-level `\\`: the next row may continue this formula
    row_amp = False  # that row starts with `&`

    cases = 0  # inside a `cases` environment: its rows and `&` belong to it
    for n, t in enumerate(toks):
        if t.kind == "cases" or cases:
            if t.kind == "cases":
                cases += 1 if t.value == "begin" else -1 if cases else 0
                if t.value == "begin" and cases == 1:
                    if not cur.dead and cur.error is None:
                        cur.error = latex_error("cases (a brace of conditions) cannot be checked; write each case as "
                                                "its own formula", src, t.start)
                    cur.segments[-1].toks.append(t)  # the formula is recorded (a condition, or not read)
            continue
        if row_break:
            if t.kind in ("amp", "sep", "space"):  # alignment and indentation at the start of a row
                row_amp = row_amp or t.kind == "amp"
                continue
            row_break = False
            if not _continues(toks, n, cur, row_amp):
                close()
        if not cur.segments[0].toks and cur.segments[0].rel is None and len(cur.segments) == 1:
            cur.start = t.start
        if len(depth) > MAX_NESTING:
            raise LimitError(f"brackets nested deeper than {MAX_NESTING} levels", src.span(t.start))
        if depth:
            if t.kind == "rowsep" and not any(d.kind == "matbegin" for d in depth):
                if _expectation_left_open(depth, cur):
                    # `E_{z \sim q}[\log[1 - \sigma(h)]` at the end of its row: the expectation's bracket closes there
                    cur.segments[-1].toks.append(Tok("char", "]", t.start, t.start))
                    depth.clear()
                    row_break, row_amp = True, False
                    continue
                unclosed(depth[-1], " on its line")
                close()
                continue
            if token_is(t, OPENERS):
                depth.append(t)
            elif token_is(t, CLOSERS):
                problem = _closer_problem(depth, t, src)
                if problem and cur.error is None:
                    cur.error = latex_error(problem, src, t.start)
                depth.pop()
            elif t.kind == "comment":
                rule = _rule_text(str(t.value))
                if rule:
                    last_segment().rule = (rule, t.start)
                continue
            cur.segments[-1].toks.append(t)
            continue
        k = t.kind
        if token_is(t, OPENERS):
            depth.append(t)
            cur.segments[-1].toks.append(t)
        elif token_is(t, CLOSERS):
            if cur.error is None:
                cur.error = latex_error(f"this `{src.text[t.start:t.end].strip()}` closes nothing", src, t.start)
        elif k in ("rel", "impl", "arrow", "approx"):
            cur.segments.append(_Segment(t))
        elif k == "rowsep":
            row_break, row_amp = True, False
        elif k in ("sep", "align", "endalign"):
            if k == "sep" and cur.segments[-1].rel is not None and cur.segments[-1].rel.kind == "impl" and \
                    not cur.segments[-1].toks:
                continue  # `\Rightarrow \quad x = 1`: the space after an arrow does not end the formula
            if k == "sep" and _operator_follows(toks, n):
                continue  # `= x^2 + y^2 \quad + 1`: spacing inside a sum, not the end of the formula
            close()
        elif k == "amp":
            continue
        elif k == "comment":
            rule = _rule_text(str(t.value))
            if rule:
                last_segment().rule = (rule, t.start)
        elif k == "prose":
            rule = _rule_text(str(t.value))
            if rule:
                last_segment().rule = (rule, t.start)
                continue
            words = re.findall(r"[A-Za-z]+", str(t.value).lower())
            if words in (["so"], ["hence"], ["thus"], ["therefore"]) and not cur.dead:
                # `2x - 2 = 0 \quad \text{so} \quad x = 1`: the second relation follows from the first, as after
                # \Rightarrow (a `\quad` before the word has closed the first: it is taken up again)
                if not any(sg.toks or sg.rel is not None for sg in cur.segments) and formulas and \
                        formulas[-1].error is None and not formulas[-1].dead and not formulas[-1].case:
                    cur = formulas.pop()
                if any(sg.rel is not None for sg in cur.segments) and cur.error is None:
                    cur.segments.append(_Segment(Tok("impl", "==>", t.start, t.end)))
                    continue
            seg = cur.segments[-1]
            while seg.toks and seg.toks[-1].kind == "op" and seg.toks[-1].value == "*":
                seg.toks.pop()  # `... \cdot \text{a comment}`
            close()
            if words in (["or"], ["and"]):
                cur.joined = words[0]
            if words and (words[0] in CONDITION_WORDS or words[-1] in CONDITION_WORDS or
                          words[-2:] in (["s", "t"], ["subject", "to"])):
                # `\text{where } x > 0`, `\text{ convex when } C \geq 0`, `\max g \text{ s.t. } ...` (seed 001, l.156, 194)
                cur.dead = True
                claim = formulas[-1] if formulas else None  # (a `\quad` before the text may have closed it)
                if claim is not None and words[-1] in _CASE_WORDS and not claim.dead and claim.case is None and \
                        any(sg.rel is not None for sg in claim.segments):
                    # `\sqrt{x^2} = x \quad \text{for } x > 0`: the result holds in that case, checked under it
                    claim.case = cur
        elif k == "char" and t.value in ",;":
            if _operator_follows(toks, n, minus=False):
                continue  # `x^2 + y^2, \; + 1`: the sum goes on after the comma (`\lambda = 2, -3` is a list)
            close()
            cur.joined = t.value
        elif k == "char" and t.value == ":":
            cur.dead = True  # `f: X \to Y`
            cur.segments[-1].toks.append(t)
        elif k in ("period", "endmark"):
            continue
        elif k == "nocheck":
            if t.value in ("forall", "exists"):
                close()
            cur.dead = True
        else:
            cur.segments[-1].toks.append(t)
    if depth and _expectation_left_open(depth, cur):
        end = toks[-1].end
        cur.segments[-1].toks.append(Tok("char", "]", end, end))
        depth.clear()
    if depth:
        unclosed(depth[-1], "")
    close()
    for a, b in zip(formulas, formulas[1:]):
        # `x^2 = 4 \Rightarrow x = 2 \text{ or } x = -2` is a disjunction, `x^2 = 4 \text{ and } x > 0 \Rightarrow x = 2`
        # (or with a comma) a conjunction of premises: read apart, each piece would be a false claim of its own
        arrow = any(sg.rel is not None and sg.rel.kind == "impl" for sg in b.segments)
        if a.dead or not any(sg.rel is not None for sg in a.segments):
            continue
        why = "`or` joins two statements into one (a disjunction), which cannot be checked" if b.joined == "or" \
            else "premises joined by `and` (or a comma) before an implication are not read" \
            if b.joined and arrow and not any(sg.rel is not None and sg.rel.kind == "impl" for sg in a.segments) \
            else ""
        if why:
            for f in (a, b):
                f.error = f.error or latex_error(why, src, b.start if f is b else a.start)
    for f in formulas:
        # a case the result is stated under, unless a list goes on after it: `\text{for } i = 1, \dots, n`
        # enumerates (checking at i = 1 alone would accept a claim that fails at i = 2)
        at = next((i for i, g in enumerate(formulas) if g is f.case), None) if f.case is not None else None
        if at is None:
            continue
        listed = at + 1 < len(formulas) and formulas[at + 1].joined in (",", ";")
        if not states_a_case(f.case) or listed:
            f.case = None
    return formulas


def states_a_case(f: Formula) -> bool:
    r"""Whether a condition can be the case a result is stated under: an inequality, or one equation (`\text{when }
    \mu_p = \mu_q`, the question at one value)."""
    rels = [sg.rel.value for sg in f.segments if sg.rel is not None]
    return any(r in ("<", "<=", ">", ">=") for r in rels) or rels == ["="]


def _expectation_left_open(depth: list[Tok], cur: Formula) -> bool:
    """Whether the only bracket left open is the `[` of an expectation (`E[`, `\\mathbb{E}_{z \\sim q}[`) in the
    formula's last expression: a student who forgets its `]` means it to close at the end of the row (seed 003,
    line 28); any other bracket left open is an error, since where it closes is a guess."""
    if len(depth) != 1 or not depth[0].at("char", "["):
        return False
    toks = cur.segments[-1].toks
    k = next((i for i, u in enumerate(toks) if u is depth[0]), None)
    if k is None or k == 0 or k + 1 >= len(toks):
        return False
    j = k - 1
    if toks[j].at("char", "}"):  # E_{...}[ : back over the subscript group
        level = 0
        while j >= 0:
            level += toks[j].at("char", "}") - toks[j].at("char", "{")
            if level == 0:
                break
            j -= 1
        j -= 2
        if j < 0 or not toks[j + 1].at("char", "_"):
            return False
    elif j >= 1 and toks[j - 1].at("char", "_"):  # E_q[
        j -= 2
    return j >= 0 and toks[j].kind == "word" and toks[j].value == "E"


def _continues(toks: list[Tok], n: int, cur: Formula, after_amp: bool) -> bool:
    """Whether the row starting at toks[n] continues the expression of the row before it: it starts
    with `+` or `-` (`&\\quad + 2xy`, `& - c`, multline's `\\ - c`) and is not an aligned equation of
    its own (`-y &= 2`: an `&` after the sign, before the row's relation)."""
    t = toks[n]
    if not (t.kind == "op" and t.value in ("+", "-")) or not cur.segments[-1].toks:
        return False
    if after_amp:
        return True
    for u in toks[n + 1:]:
        if u.kind in ("rowsep", "endalign", "rel", "impl", "arrow", "approx"):
            return True
        if u.kind == "amp":
            return False
    return True


def _closer_problem(depth: list[Tok], t: Tok, src: Source) -> str:
    o = depth[-1]
    pairs = {"(": ")", "[": "]", "{": "}"}
    ok = (o.kind == "char" and t.kind == "char" and pairs.get(str(o.value)) == t.value) or \
         (o.kind == "setopen" and t.kind == "setclose") or (o.kind == "langle" and t.kind == "rangle") or \
         (o.kind == "matbegin" and t.kind == "matend" and o.value == t.value) or \
         (o.kind == "char" and o.value in "([" and t.kind == "char" and t.value in ")]"
          and (o.info.get("sized") or t.info.get("sized")))
    if ok:
        return ""
    want = {"(": ")", "[": "]", "{": "}"}.get(str(o.value), "\\}" if o.kind == "setopen" else
                                              "\\rangle" if o.kind == "langle" else f"\\end{{{o.value}}}")
    return (f"`{src.text[t.start:t.end].strip()}` does not match the `{src.text[o.start:o.end].strip()}` "
            f"opened at column {src.pos(o.start)[1]}; expected `{want}`")


def _operator_follows(toks: list, n: int, minus: bool = True) -> bool:
    r"""Whether the tokens after the separator at n go on with a binary operator and hold no relation before the next
    separator (`x^2 + y^2 \quad + 1`, `x^2 + y^2, \; + 1`): the formula goes on; `x = 1, \quad -y = 2` is another."""
    rest = [t for t in toks[n + 1:] if t.kind != "space"]
    while rest and rest[0].kind == "sep":  # `, \; + 1`: more spacing after the comma
        rest = rest[1:]
    if not rest or rest[0].kind != "op" or rest[0].value not in ("+", "*", "/", ".*") + (("-",) if minus else ()):
        return False
    for t in rest:
        if t.kind in ("rel", "impl", "arrow", "approx"):
            return False
        if t.kind in ("sep", "rowsep", "align", "endalign", "prose"):
            return True
    return True

