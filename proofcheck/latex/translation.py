"""Step 4: one expression as grammar tokens: names, differentials, bars and implicit arguments resolved."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from proofcheck.errors import ParseError, ProofcheckError
from proofcheck.latex.source import Source, latex_error
from proofcheck.latex.names import Names, written_form
from proofcheck.latex.tokens import Tok, tokenize
from proofcheck.latex.vocabulary import FUNCTIONS, OPTIMA, WORD_FUNCTIONS
from proofcheck.latex.normalize import group_end_index, normalize_tokens, raw_argument


def _signature(toks: list[Tok]) -> list[tuple[object, int, int]]:
    """Comparable units of a token list for matching latex_names: (signature, first index, last index + 1).
    `_{t}` and `_t` compare equal; `\\left(` and `(` too; `\\boldsymbol` was already dropped."""
    units = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.at("char", "{") and units and units[-1][0] in (("char", "_"), ("char", "^")) and i + 2 < len(toks) \
                and toks[i + 2].at("char", "}"):
            inner = toks[i + 1]
            units.append((_sig(inner), i, i + 3))
            i += 3
            continue
        units.append((_sig(t), i, i + 1))
        i += 1
    return units


def _sig(t: Tok):
    if t.kind == "accent":
        return ("accent", t.value, tuple(u[0] for u in _signature(t.info["inner"])))
    if t.kind == "word" and t.info.get("cal"):
        return ("cal", t.value)
    if t.kind == "word" and t.info.get("bb"):
        return ("bb", t.value)
    return (t.kind, t.value)


@lru_cache(maxsize=256)
def _key_signature(key: str) -> tuple:
    src = Source(key, "<latex_names>")
    toks = normalize_tokens(tokenize(key), src)
    return tuple(u[0] for u in _signature(toks))


_EXPECT_HEAD = re.compile(r"^\s*(E|Var)\s*\[.*\]\s*$", re.S)


def _substitute(toks: list[Tok], names: Names, src: Source) -> list[Tok]:
    """Replace every LaTeX snippet of `latex_names` by its ASCII (longest match first)."""
    if not names.latex_names or not toks:
        return toks
    keys = []
    for k, v in names.latex_names.items():
        sig = _key_signature(k)
        if sig:
            keys.append((sig, v))
    keys.sort(key=lambda kv: -len(kv[0]))
    units = _signature(toks)
    sigs = [u[0] for u in units]
    out: list[Tok] = []
    p = 0
    while p < len(units):
        hit = None
        prev = sigs[p - 1] if p else None
        if prev not in (("char", "_"), ("char", "^")):
            for sig, value in keys:
                n = len(sig)
                if tuple(sigs[p:p + n]) == sig:
                    nxt = sigs[p + n] if p + n < len(sigs) else None
                    if nxt in (("char", "_"),) or (nxt is not None and nxt[0] == "prime"):
                        continue  # `\sigma` does not match the start of `\sigma_t`
                    hit = (n, value)
                    break
        if hit is None:
            a, b = units[p][1], units[p][2]
            out.extend(toks[a:b])
            p += 1
            continue
        n, value = hit
        first, last = toks[units[p][1]], toks[units[p + n - 1][2] - 1]
        value = str(value).strip()
        latex = src.text[first.start:last.end]
        if not value:
            pass  # mapped to nothing: dropped
        elif _EXPECT_HEAD.match(value):
            out.append(Tok("expect_raw", value, first.start, last.end, {"latex": latex}))
        else:
            out.append(Tok("raw", value, first.start, last.end, {"latex": latex}))
        p += n
    return out


_OPEN = {("char", "("), ("char", "["), ("char", "{")}
_CLOSE = {("char", ")"), ("char", "]"), ("char", "}")}


def _entry_subscripts(toks: list[Tok], names: Names) -> list[Tok]:
    r"""`p^2(\boldsymbol{X}^\top \boldsymbol{X})_{ij}` in a sum of matrices: the matrix whose ij entry is that of the
    bracket, which is the bracket itself (the literal reading of seed 004's l.61, whose student meant the off-diagonal
    part only). Only for two different letters the key does not declare, the same pair in every such subscript of
    the side, and a term of the sum without one (`(A)_{ij} = (B)_{ji}` is a transpose, `(A)_{ii}` a diagonal, and
    `((AB)^T)_{ij}` alone an entry: left as they are)."""
    spots = [k for k in range(len(toks) - 4) if toks[k].at("char", ")") and toks[k + 1].at("char", "_") and
             toks[k + 2].at("char", "{") and toks[k + 3].kind == "word" and toks[k + 4].at("char", "}")]
    pairs = {str(toks[k + 3].value) for k in spots}
    if len(pairs) != 1:
        return toks
    pair = pairs.pop()
    if len(pair) != 2 or pair[0] == pair[1] or any(names.known(c) for c in pair):
        return toks
    # only beside a whole matrix in the same sum: `((AB)^T)_{ij} = (AB)_{ji}` is entrywise on both sides (each side is
    # read alone here, and dropping the subscripts would state (AB)^T = AB)
    term, depth, owner = 0, 0, {}
    for k, t in enumerate(toks):
        if (t.kind, t.value) in _OPEN:
            depth += 1
        elif (t.kind, t.value) in _CLOSE:
            depth -= 1
        elif depth == 0 and k > 0 and t.kind in ("char", "op") and t.value in "+-":
            term += 1
        owner[k] = term
    plain = set(range(term + 1)) - {owner[k] for k in spots}
    if not plain:
        return toks
    gone = {k + d for k in spots for d in range(1, 5)}
    return [t for k, t in enumerate(toks) if k not in gone]


def _index_letter(toks: list[Tok], letter: str) -> bool:
    """Whether `letter` is used as an index in these tokens: in a subscript (`x_i`, `\\sum_{i=1}`, `x_{ij}`)."""
    for k, u in enumerate(toks):
        if u.kind == "word" and letter in str(u.value) and k > 0 and \
                (toks[k - 1].at("char", "_") or toks[k - 1].at("char", "{") and k > 1 and toks[k - 2].at("char", "_")):
            return True
    return False


def _plain_index(term: list[Tok]) -> list[Tok]:
    """A term without the braces of its subscript (`S_{2}^2` as `S_2^2`), for comparing terms."""
    out = []
    k = 0
    while k < len(term):
        t = term[k]
        if t.at("char", "_") and k + 3 < len(term) and term[k + 1].at("char", "{") and term[k + 3].at("char", "}"):
            out += [t, term[k + 2]]
            k += 4
            continue
        out.append(t)
        k += 1
    return out


def _terms_before(toks: list[Tok], j: int) -> list[tuple[int, list[Tok]]]:
    """The `+`-separated terms ending at toks[j - 1] at one bracket level, each with where it begins, in order; the
    first is preceded by the start, an opening bracket or a relation (a `-` before it would belong to it alone)."""
    terms: list[tuple[int, list[Tok]]] = []
    cur: list[Tok] = []
    depth = 0
    k = j - 1
    while k >= 0:
        t = toks[k]
        if (t.kind, t.value) in _CLOSE:
            depth += 1
        elif (t.kind, t.value) in _OPEN:
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and t.at("op", "+"):
            terms.append((k + 1, cur[::-1]))
            cur = []
            k -= 1
            continue
        elif depth == 0 and t.kind in ("rel", "impl", "arrow", "approx"):
            break
        elif depth == 0 and t.kind in ("op", "dots", "pm"):
            return terms[::-1]  # `a - S_1 + S_2 + ...`: the run starts after S_1 at the earliest
        cur.append(t)
        k -= 1
    terms.append((k + 1, cur[::-1]))
    return terms[::-1]


def _dots_sums(toks: list[Tok], names: Names) -> list[Tok]:
    """`S_1^2 + S_2^2 + S_3^2 + \\dots + S_k^2` -> `\\sum_{i=1}^{k} (S_i^2)`: terms that differ only in a subscript
    1, 2, ... written out, `\\dots`, and the last term with the upper end (seed 003, lines 72 and 96). Anything else
    with `\\dots` stays an error."""
    for d, t in enumerate(toks):
        if t.kind != "dots" or d == 0 or d + 1 >= len(toks) or not toks[d - 1].at("op", "+") or \
                not toks[d + 1].at("op", "+"):
            continue
        end = d + 2
        depth = 0
        while end < len(toks):  # the last term runs to the next top-level + or -, relation or closer
            u = toks[end]
            if (u.kind, u.value) in _OPEN:
                depth += 1
            elif (u.kind, u.value) in _CLOSE:
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and (u.at("op", "+") or u.at("op", "-") or u.kind in ("rel", "impl", "arrow", "approx")):
                break
            end += 1
        last = _plain_index(toks[d + 2:end])
        before = _terms_before(toks, d - 1)
        for s0 in range(max(0, len(before) - 2) + 1):
            first, written = before[s0][0], [_plain_index(w) for _, w in before[s0:]]
            # 1, 2, ... in order from the first: the run is the suffix that starts at a term with subscript 1
            if len(written) < 2 or any(len(w) != len(last) or not w for w in written):
                continue
            diff = [k for k in range(len(last)) if len({(w[k].kind, w[k].value) for w in written + [last]}) > 1]
            if len(diff) != 1 or diff[0] == 0 or not last[diff[0] - 1].at("char", "_"):
                continue
            k = diff[0]
            if [str(w[k].value) for w in written] != [str(n) for n in range(1, len(written) + 1)] or \
                    any(w[k].kind != "num" for w in written) or last[k].kind not in ("word", "num"):
                continue
            used = {str(u.value) for u in toks if u.kind == "word"}
            index = next((c for c in "ijlmn" if c not in used and not names.known(c)), None)
            if index is None:
                break
            at = toks[first].start
            head = [Tok("cmd", "sum", at, at), Tok("char", "_", at, at), Tok("char", "{", at, at),
                    Tok("word", index, at, at), Tok("rel", "=", at, at), Tok("num", "1", at, at),
                    Tok("char", "}", at, at), Tok("char", "^", at, at), Tok("char", "{", at, at), last[k],
                    Tok("char", "}", at, at), Tok("char", "(", at, at)]
            body = [Tok("word", index, u.start, u.end) if n == k else u for n, u in enumerate(last)]
            close = Tok("char", ")", toks[end - 1].end, toks[end - 1].end)
            return _dots_sums(toks[:first] + head + body + [close] + toks[end:], names)
    return toks


def derivative_variable(toks: list[Tok]) -> tuple[list[Tok], int] | None:
    """`d x`, `dx`, `\\partial \\theta`, `d x^2` (a group's tokens) -> (the variable's tokens, order)."""
    if not toks:
        return None
    t = toks[0]
    rest: list[Tok]
    if t.at("cmd", "partial") or (t.kind == "word" and t.value == "d"):
        rest = toks[1:]
    elif t.kind == "word" and str(t.value).startswith("d") and len(str(t.value)) > 1 and not t.info.get("styled"):
        rest = [Tok("word", str(t.value)[1:], t.start + 1, t.end)] + toks[1:]
    else:
        return None
    order = 1
    if len(rest) >= 3 and rest[-2].at("char", "^") and rest[-1].kind == "num":
        order = int(str(rest[-1].value))
        rest = rest[:-2]
    if len(rest) >= 2 and rest[0].at("char", "_"):  # \partial_{x}, d_x
        rest = rest[1:]
        if rest[0].at("char", "{") and rest[-1].at("char", "}"):
            rest = rest[1:-1]
    if not rest:
        return None
    return rest, order


def numerator_d(toks: list[Tok]) -> tuple[int, list[Tok]] | None:
    """`d`, `\\partial`, `d^2`, `d f(x)`, `\\partial \\mathcal{L}` -> (order, the rest)."""
    if not toks:
        return None
    t = toks[0]
    if t.at("cmd", "partial") or (t.kind == "word" and t.value == "d"):
        rest = toks[1:]
    elif t.kind == "word" and str(t.value).startswith("d") and not t.info.get("styled"):
        rest = [Tok("word", str(t.value)[1:], t.start + 1, t.end)] + toks[1:]
    else:
        return None
    order = 1
    if len(rest) >= 2 and rest[0].at("char", "^") and rest[1].kind == "num":
        order = int(str(rest[1].value))
        rest = rest[2:]
    elif len(rest) >= 4 and rest[0].at("char", "^") and rest[1].at("char", "{") and rest[2].kind == "num" \
            and rest[3].at("char", "}"):
        order = int(str(rest[2].value))
        rest = rest[4:]
    return order, rest


def _same_tokens(a: list[Tok], b: list[Tok]) -> bool:
    return len(a) == len(b) and all(x.kind == y.kind and str(x.value) == str(y.value) for x, y in zip(a, b))


def _derivative_at(rest: list[Tok], var: list[Tok], order: int, t0: Tok, t1: Tok) -> list[Tok] | None:
    r"""`\frac{\partial F(e)}{\partial e}` with e an expression, not a name: F' at e (`F(F^{-1}(x))` over `F^{-1}(x)`,
    seed 004), and `\frac{\partial e}{\partial e}` is 1; None for anything else (a name, or another numerator)."""
    if var and var[0].at("char", "{") and var[-1].at("char", "}"):
        var = var[1:-1]
    if order != 1 or len(var) < 2 or not rest:
        return None
    if _same_tokens(rest, var):
        return [Tok("num", "1", t0.start, t1.end)]
    if len(rest) == len(var) + 3 and rest[0].kind in ("word", "greek") and rest[1].at("char", "(") and \
            rest[-1].at("char", ")") and _same_tokens(rest[2:-1], var):
        return [rest[0], Tok("prime", 1, rest[0].end, rest[0].end), *rest[1:]]
    return None


def _derivatives(toks: list[Tok], src: Source) -> list[Tok]:
    """`\\frac{d}{dx} f`, `\\frac{\\partial f}{\\partial x}`, `\\frac{d^2}{dx^2}` -> a `deriv` token (+ {f})."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.at("cmd", "frac") and i + 1 < len(toks) and toks[i + 1].at("char", "{"):
            j1 = group_end_index(toks, i + 1, src)
            if j1 + 1 < len(toks) and toks[j1 + 1].at("char", "{"):
                j2 = group_end_index(toks, j1 + 1, src)
                num = numerator_d(toks[i + 2:j1])
                den = derivative_variable(toks[j1 + 2:j2])
                if num is not None and den is not None:
                    order, rest = num
                    var, dorder = den
                    at = _derivative_at(rest, var, order, t, toks[j2])
                    if at is not None:
                        out.extend(at)
                        i = j2 + 1
                        continue
                    if dorder != order:
                        raise latex_error(f"the orders do not match: d^{order} over d(...)^{dorder}", src, t.start)
                    if any(v.at("cmd", "partial") or (v.kind == "word" and str(v.value).startswith("d")
                                                      and len(var) > 1 and v is not var[0]) for v in var):
                        raise latex_error("mixed derivatives: write one derivative inside another, "
                                          "\\frac{\\partial}{\\partial x}\\frac{\\partial f}{\\partial y}", src, t.start)
                    out.append(Tok("deriv", order, t.start, toks[j2].end, {"var": var}))
                    if rest:
                        out.append(Tok("char", "{", rest[0].start, rest[0].start,
                                       {"synthetic": True, "numerator": True}))
                        out.extend(_derivatives(rest, src))
                        out.append(Tok("char", "}", rest[-1].end, rest[-1].end, {"synthetic": True}))
                    i = j2 + 1
                    continue
        if t.at("cmd", "partial") and i + 1 < len(toks) and toks[i + 1].at("char", "_"):
            inner, s, e, j = raw_argument(toks, i + 2, src)
            out.append(Tok("deriv", 1, t.start, e, {"var": inner}))
            i = j
            continue
        out.append(t)
        i += 1
    return out


def _frac_digits(toks: list[Tok]) -> list[Tok]:
    """`\\frac12`: the digits after \\frac are two arguments of one digit each."""
    out: list[Tok] = []
    for i, t in enumerate(toks):
        if t.kind == "num" and i and toks[i - 1].at("cmd", "frac") and len(str(t.value)) > 1 \
                and str(t.value).isdigit():
            v = str(t.value)
            out.append(Tok("num", v[0], t.start, t.start + 1))
            out.append(Tok("num", v[1], t.start + 1, t.start + 2))
            if len(v) > 2:
                out.append(Tok("num", v[2:], t.start + 2, t.end))
            continue
        out.append(t)
    return out


@dataclass
class GrammarToken:
    """A grammar token: lark type, value, LaTeX offsets, extra info."""

    type: str
    value: object
    start: int
    end: int
    info: dict = field(default_factory=dict)


_OPERAND_END = {"NAME", "RAW", "NUMBER", "RPAR", "RBRACE", "SETCLOSE", "NORM_CLOSE", "ABS_CLOSE", "RANGLE", "MATEND",
                "IDX_CLOSE", "TRANSPOSE", "ROPT"}
_PREFIX_OPS = {"FUNC", "BIGOP", "OPT", "LIM", "NABLA", "DERIV", "INT", "EXPECT", "EXPECT_RAW"}
_OPEN_G = {"LPAR": "RPAR", "LBRACE": "RBRACE", "SETOPEN": "SETCLOSE", "NORM_OPEN": "NORM_CLOSE",
           "ABS_OPEN": "ABS_CLOSE", "LANGLE": "RANGLE", "MATBEGIN": "MATEND", "IDX_OPEN": "IDX_CLOSE",
           "LOPT": "ROPT"}


class Translator:
    """LaTeX tokens of one expression -> grammar tokens (names resolved, implicit arguments explicit)."""

    def __init__(self, names: Names, src: Source, where: str):
        self.names, self.src, self.where = names, src, where
        self.bound: set[str] = set()
        self.expectations: dict[str, str] = {}  # distribution -> the variable an `E_q[... q(z) ...]` averages over

    # -- errors and helpers
    def fail(self, msg: str, tok) -> ParseError:
        return latex_error(msg, self.src, tok.start if hasattr(tok, "start") else int(tok))

    def latex(self, a: int, b: int) -> str:
        return " ".join(self.src.text[a:b].split())

    # -- the passes
    def grammar_tokens(self, toks: list[Tok]) -> list[GrammarToken]:
        for a, b, c in zip(toks, toks[1:], toks[2:]):
            if a.at("char", "^") and b.kind == "num" and c.kind == "num" and c.start == b.end:
                # LaTeX shows 2^10 as 2 to the 1, then 0; nobody means that
                raise self.fail(f"`^{self.src.text[b.start:c.end]}`: LaTeX raises to {b.value} only and writes the "
                                f"rest after it; write ^{{{self.src.text[b.start:c.end]}}}", b)
        toks = _substitute(toks, self.names, self.src)
        toks = _entry_subscripts(toks, self.names)
        toks = _dots_sums(toks, self.names)
        toks = _derivatives(_frac_digits(toks), self.src)
        g = self.resolve(toks)
        g = self.vector_normals(self.fixed_inputs(g))
        sizes = set(self.names.dimensions.values())
        # `I_k` with k the length of a declared vector: the identity of that size
        g = [GrammarToken("RAW", f"eye({str(t.value)[2:]})", t.start, t.end, dict(t.info))
             if t.type == "NAME" and str(t.value)[:2] == "I_" and str(t.value)[2:] in sizes and
             not self.names.known(str(t.value)) else t for t in g]
        g = self.bars(g)
        g = self.arguments(g)
        self.collect_bound(g)
        return g

    def fixed_inputs(self, g: list[GrammarToken]) -> list[GrammarToken]:
        r"""`\mu(x)`, `\sigma_i(x)^2` with mu, sigma declared vectors (or matrices) and x not declared: the encoder's output
        at the question's input x, which the key keeps fixed (as `q(z|x)` is the key's q): mu, sigma[i]. Only when every
        such argument in the formula is the same name (`\mu(x) - \mu(y)` is left alone)."""
        drop: list[int] = []
        args: set[str] = set()
        for j in range(1, len(g) - 2):
            lp, arg, rp = g[j:j + 3]
            if lp.type != "LPAR" or arg.type != "NAME" or rp.type != "RPAR" or self.names.known(str(arg.value)) or \
                    arg.info.get("builtin"):
                continue
            k = j - 1
            if k >= 2 and g[k].type == "NUMBER" and g[k - 1].type == "CARET":  # `\sigma^2(x)`: sigma(x)^2
                k -= 2
            if g[k].type == "IDX_CLOSE":  # `\sigma_i(x)`: the entry of sigma at x
                while k > 0 and g[k].type != "IDX_OPEN":
                    k -= 1
                k -= 1
            if k >= 0 and g[k].type == "NAME" and self.names.is_array(str(g[k].value)):
                drop.append(j)
                args.add(str(arg.value))
        if len(args) != 1:
            return g
        gone = {j + d for j in drop for d in range(3)}
        return [t for i, t in enumerate(g) if i not in gone]

    def vector_normals(self, g: list[GrammarToken]) -> list[GrammarToken]:
        r"""`\epsilon \sim N(0, I)` with epsilon a declared vector(n): the standard normal of that dimension, its mean
        the zero vector (`0 epsilon`) and its covariance the identity `eye(n)` (also written `I_n`; a bare `I` is
        otherwise the imaginary unit, or 1 in a scalar setting); `z \sim N(\mu, \sigma^2)` with sigma a declared
        vector of the same length: independent coordinates, the covariance diag(sigma_i^2) (the key's
        `diag(sigma sigma^T)`)."""
        out = list(g)
        for i in range(len(g) - 4):
            var, sim, dist, lp = g[i:i + 4]
            n = self.names.dimensions.get(str(var.value)) if var.type == "NAME" else None
            if n is None or sim.type != "SIM" or dist.type != "NAME" or dist.value != "Normal" or lp.type != "LPAR":
                continue
            args: list[list[int]] = [[]]
            depth, j = 1, i + 4
            while j < len(g) and depth:
                depth += g[j].type in ("LPAR", "LBRACE", "IDX_OPEN") or -(g[j].type in ("RPAR", "RBRACE", "IDX_CLOSE"))
                if depth == 1 and g[j].type == "SEP":
                    args.append([])
                elif depth:
                    args[-1].append(j)
                j += 1
            if depth or len(args) != 2 or not args[0] or not args[1]:
                continue
            mean, cov = [g[k] for k in args[0]], [g[k] for k in args[1]]
            if len(mean) == 1 and mean[0].type == "NUMBER" and str(mean[0].value) == "0":
                out[args[0][0]] = GrammarToken("RAW", f"0 {var.value}", mean[0].start, mean[0].end, dict(mean[0].info))
            if len(cov) == 1 and (str(cov[0].value) in ("I", f"I_{n}") and cov[0].type in ("RAW", "NAME") and
                                  not self.names.declared(str(cov[0].value)) or
                                  cov[0].type == "NUMBER" and cov[0].info.get("latex") == "I"):
                out[args[1][0]] = GrammarToken("RAW", f"eye({n})", cov[0].start, cov[0].end, dict(cov[0].info))
            if len(cov) == 3 and cov[0].type == "NAME" and self.names.dimensions.get(str(cov[0].value)) == n and \
                    cov[1].type == "CARET" and cov[2].type == "NUMBER" and str(cov[2].value) == "2":
                s = str(cov[0].value)
                out[args[1][0]] = GrammarToken("RAW", f"diag({s} {s}^T)", cov[0].start, cov[2].end, dict(cov[0].info))
                out[args[1][1]] = out[args[1][2]] = None
        return [t for t in out if t is not None]

    # -- names, words, commands
    def resolve(self, toks: list[Tok]) -> list[GrammarToken]:
        out: list[GrammarToken] = []
        skip: set[int] = set()
        integrals: list[int] = []  # bracket depth of each open \int
        named = 0  # open `\int_z` (a variable under the sign): they may go without a differential
        depth = 0
        i = 0
        n = len(toks)
        while i < n:
            if i in skip:
                i += 1
                continue
            t = toks[i]
            k, v = t.kind, t.value
            nxt = toks[i + 1] if i + 1 < n else None
            if k == "num":
                out.append(GrammarToken("NUMBER", str(v), t.start, t.end))
            elif k == "op" and t.info.get("latex") == "cdot" and out and out[-1].type == "LPAR" and \
                    len(out) >= 2 and out[-2].type in ("NAME", "RAW") and nxt is not None and \
                    (nxt.kind in ("bar", "cond") or nxt.at("char", ",") or nxt.at("char", ")")):
                # q(\cdot | x): the density itself, as in E_{z \sim q(\cdot|x)}
                out.append(GrammarToken("NAME", "·", t.start, t.end, {"placeholder": True, "builtin": True, "latex": "\\cdot"}))
            elif k == "op":
                typ = {"+": "PLUS", "-": "MINUS", "*": "MUL", "/": "DIV", ".*": "ODOT"}[str(v)]
                out.append(GrammarToken(typ, v, t.start, t.end))
            elif k == "pm":
                out.append(GrammarToken("PM", v, t.start, t.end))
            elif k == "char":
                i = self.resolve_char(toks, i, out, skip)
                if v in "([{":
                    depth += 1
                elif v in ")]}":
                    depth -= 1
                continue
            elif k in ("bar", "nbar"):
                out.append(GrammarToken("BAR" if k == "bar" else "NBAR", v, t.start, t.end, dict(t.info)))
            elif k == "cond":
                out.append(GrammarToken("SEP", "|", t.start, t.end))
            elif k == "klsep":
                out.append(GrammarToken("KLSEP", "||", t.start, t.end))
            elif k in ("setopen", "setclose"):
                out.append(GrammarToken(k.upper(), v, t.start, t.end))
                depth += 1 if k == "setopen" else -1
            elif k in ("langle", "rangle"):
                out.append(GrammarToken(k.upper(), v, t.start, t.end))
                depth += 1 if k == "langle" else -1
            elif k == "prime":
                out.append(GrammarToken("PRIMES", "'" * int(v), t.start, t.end))
            elif k == "amp":
                out.append(GrammarToken("AMP", "&", t.start, t.end))
            elif k == "rowsep":
                out.append(GrammarToken("ROWSEP", "\\\\", t.start, t.end))
            elif k == "matbegin":
                out.append(GrammarToken("MATBEGIN", v, t.start, t.end))
                depth += 1
            elif k == "matend":
                out.append(GrammarToken("MATEND", v, t.start, t.end))
                depth -= 1
            elif k == "rel":
                out.append(GrammarToken("REL", v, t.start, t.end))
            elif k == "arrow":
                out.append(GrammarToken("ARROW", v, t.start, t.end))
            elif k == "nocheck" and v == "sim":
                out.append(GrammarToken("SIM", v, t.start, t.end))
            elif k == "nocheck" and v == "in":
                raise self.fail("sums and integrals over a set (x \\in D) cannot be checked; "
                                "write the range, e.g. \\sum_{i=1}^{N}", t)
            elif k == "raw":
                out.append(GrammarToken("RAW", v, t.start, t.end, dict(t.info)))
            elif k == "expect_raw":
                out.append(GrammarToken("EXPECT_RAW", v, t.start, t.end, dict(t.info)))
            elif k == "deriv":
                var = self.name_of(t.info["var"], "the variable of a derivative")
                out.append(GrammarToken("DERIV", (var, int(v)), t.start, t.end))
            elif k in ("word", "greek", "accent"):
                if integrals and integrals[-1] == depth and self.differential(toks, i, out, skip):
                    integrals.pop()
                    i += 1
                    continue
                i = self.resolve_name(toks, i, out, skip)
                continue
            elif k == "cmd":
                if v == "int" or v == "iint":
                    integrals.append(depth)
                i = self.resolve_cmd(toks, i, out, skip)
                named += v == "int" and bool(out[-1].info.get("variable"))
                continue
            elif k == "dots" and len(out) >= 2 and out[-1].type == "SIM" and out[-2].type == "NAME" and \
                    self.names.laws.get(str(out[-2].value)):
                # `E_{z \sim \dots}`: the law stated for z before (`E_{z \sim N(\mu, \sigma^2)}` on the line before)
                out.append(GrammarToken("RAW", self.names.laws[str(out[-2].value)], t.start, t.end,
                                        {"latex": self.latex(t.start, t.end)}))
            elif k == "dots":
                raise self.fail("`\\dots` cannot be checked: write the terms out, or use \\sum", t)
            elif k == "approx":
                raise self.fail(f"{v} is not a relation proofcheck can check: write = for an exact step", t)
            elif k in ("impl", "nocheck"):
                raise self.fail(f"`{self.latex(t.start, t.end)}` cannot stand inside a formula", t)
            elif k == "prose":
                raise self.fail(f"text (\\text{{{v}}}) inside a formula; put it outside the brackets", t)
            elif k in ("period",):
                raise self.fail("unexpected `.`; write products with \\cdot or a space", t)
            elif k in ("comment", "endmark", "sep", "space"):
                pass
            elif k == "bad":
                raise self.fail(str(v), t)
            else:
                raise self.fail(f"unexpected `{self.latex(t.start, t.end)}`", t)
            i += 1
        if len(integrals) > named:
            raise self.fail("this integral has no differential: end it with dx (or d\\theta, ...)",
                            next((t for t in toks if t.at("cmd", "int")), toks[0]))
        return out

    def resolve_char(self, toks, i, out, skip) -> int:
        t = toks[i]
        v = t.value
        if v == "(":
            out.append(GrammarToken("LPAR", "(", t.start, t.end))
        elif v == ")":
            out.append(GrammarToken("RPAR", ")", t.start, t.end))
        elif v == "[":
            out.append(GrammarToken("LPAR", "(", t.start, t.end, {"bracket": True}))
        elif v == "]":
            out.append(GrammarToken("RPAR", ")", t.start, t.end, {"bracket": True}))
        elif v == "{":
            # the numerator of `\frac{\partial f}{\partial x}`: the derivative applies to it alone (Translator.arguments)
            out.append(GrammarToken("LBRACE", "{", t.start, t.end,
                                    {"numerator": True} if t.info.get("numerator") else {}))
        elif v == "}":
            out.append(GrammarToken("RBRACE", "}", t.start, t.end))
        elif v == ",":
            out.append(GrammarToken("SEP", ",", t.start, t.end))
        elif v == ";":
            out.append(GrammarToken("SEP", ";", t.start, t.end))
        elif v == "^":
            return self.resolve_caret(toks, i, out, skip)
        elif v == "_":
            out.append(GrammarToken("UNDERSCORE", "_", t.start, t.end))
        elif v == "!":
            raise self.fail("factorials (n!) are not supported", t)
        elif v == ":":
            raise self.fail("unexpected `:`", t)
        else:
            raise self.fail(f"unexpected `{v}`", t)
        return i + 1

    def script_tokens(self, toks, i) -> tuple[list[Tok], int]:
        """The script after a ^ or _ at toks[i-1]: (its tokens, index after)."""
        inner, s, e, j = raw_argument(toks, i, self.src)
        return inner, j

    def script_kind(self, inner: list[Tok]) -> str:
        """What a superscript means: transpose, prime, star (a label), label, power."""
        if len(inner) == 1:
            t = inner[0]
            if t.at("cmd", "top") or t.at("cmd", "intercal") or (t.kind == "word" and t.value == "T"
                                                                   and not self.names.known("T")):
                return "transpose"
            if t.at("cmd", "prime"):
                return "prime"
            if t.at("op", "*") or t.at("cmd", "ast") or t.at("cmd", "star"):
                return "star"
            if t.kind == "word" and t.info.get("styled") and len(str(t.value)) > 1 and \
                    str(t.value) not in WORD_FUNCTIONS:
                return "label"
        if inner and all(x.at("cmd", "prime") for x in inner):
            return "prime"
        if len(inner) == 3 and inner[0].at("char", "(") and inner[2].at("char", ")") and \
                inner[1].kind in ("word", "num", "greek"):
            return "label"  # x^{(i)}: the i-th sample
        return "power"

    def resolve_caret(self, toks, i, out, skip) -> int:
        t = toks[i]
        if i + 1 >= len(toks):
            raise self.fail("a `^` needs an exponent after it", t)
        inner, j = self.script_tokens(toks, i + 1)
        kind = self.script_kind(inner)
        if kind == "transpose":
            out.append(GrammarToken("TRANSPOSE", "T", t.start, toks[j - 1].end))
            return j
        if kind == "prime":
            out.append(GrammarToken("PRIMES", "'" * len(inner), t.start, toks[j - 1].end))
            return j
        if kind in ("star", "label"):
            raise self.fail("a superscript label (like ^* or ^{(i)}) only goes on a name", t)
        out.append(GrammarToken("CARET", "^", t.start, t.end))
        return i + 1

    def differential(self, toks, i, out, skip) -> bool:
        """`dz`, `d z`, `\\mathrm{d}z`, `d\\theta`, `d_{x}` at toks[i] inside an integral -> DIFF."""
        t = toks[i]
        if t.kind != "word" or not str(t.value).startswith("d"):
            return False
        word = str(t.value)
        if word == "d":
            j = i + 1
            if j < len(toks) and toks[j].at("char", "_"):  # d_x, d_{x_0}
                inner, j2 = self.script_tokens(toks, j + 1)
                var = self.name_of(inner, "the variable of an integral")
                out.append(GrammarToken("DIFF", var, t.start, toks[j2 - 1].end))
                skip.update(range(i + 1, j2))
                return True
            if j < len(toks) and toks[j].kind in ("word", "greek", "accent"):
                self._differential_name(toks, i, j + 1, [toks[j]], out, skip)
                return True
            return False
        if t.info.get("styled"):
            return False
        self._differential_name(toks, i, i + 1, [Tok("word", word[1:], t.start + 1, t.end)], out, skip)
        return True

    def _differential_name(self, toks, i, k, name, out, skip) -> None:
        """The variable after `d` at toks[i]: `name` (tokens) with the subscripts from toks[k] on."""
        while k + 1 < len(toks) and toks[k].at("char", "_"):
            _, k2 = self.script_tokens(toks, k + 1)
            name += toks[k:k2]
            k = k2
        var = self.name_of(name, "the variable of an integral")
        out.append(GrammarToken("DIFF", var, toks[i].start, toks[k - 1].end))
        skip.update(range(i + 1, k))

    def resolve_cmd(self, toks, i, out, skip) -> int:
        t = toks[i]
        v = str(t.value)
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if v == "frac":
            if nxt is not None and not nxt.at("char", "{"):
                # \frac12, \frac1x: single-character arguments
                a = toks[i + 1]
                b = toks[i + 2] if i + 2 < len(toks) else None
                if b is None or b.at("char", "{"):
                    if b is None:
                        raise self.fail("\\frac needs two arguments: \\frac{a}{b}", t)
                    # \frac1{x}
                    out.append(GrammarToken("FRAC", "frac", t.start, t.end))
                    out.append(GrammarToken("LBRACE", "{", a.start, a.start))
                    sub = self.resolve([a])
                    out.extend(sub)
                    out.append(GrammarToken("RBRACE", "}", a.end, a.end))
                    return i + 2
                out.append(GrammarToken("FRAC", "frac", t.start, t.end))
                for x in (a, b):
                    out.append(GrammarToken("LBRACE", "{", x.start, x.start))
                    out.extend(self.resolve([x]))
                    out.append(GrammarToken("RBRACE", "}", x.end, x.end))
                return i + 3
            out.append(GrammarToken("FRAC", "frac", t.start, t.end))
        elif v == "sqrt":
            out.append(GrammarToken("SQRT", "sqrt", t.start, t.end))
            if nxt is not None and nxt.at("char", "["):
                k = i + 2
                depth = 0
                while k < len(toks):
                    if toks[k].at("char", "[") or toks[k].at("char", "{"):
                        depth += 1
                    elif toks[k].at("char", "]") and depth == 0:
                        break
                    elif toks[k].at("char", "]") or toks[k].at("char", "}"):
                        depth -= 1
                    k += 1
                if k >= len(toks):
                    raise self.fail("\\sqrt[: the `]` is missing", nxt)
                out.append(GrammarToken("LOPT", "[", nxt.start, nxt.end))
                out.extend(self.resolve(toks[i + 2:k]))
                out.append(GrammarToken("ROPT", "]", toks[k].start, toks[k].end))
                return k + 1
        elif v in ("sum", "prod"):
            out.append(GrammarToken("BIGOP", v, t.start, t.end))
        elif v in ("int", "iint"):
            if v == "iint":
                raise self.fail("double integrals: write one \\int inside another", t)
            # `\int_z` (a variable under the sign) may go without a differential: the variable travels with the token
            var = _named_integral(toks, i)
            out.append(GrammarToken("INT", v, t.start, t.end, {"variable": var} if var else {}))
        elif v == "lim":
            out.append(GrammarToken("LIM", v, t.start, t.end))
        elif v == "nabla":
            out.append(GrammarToken("NABLA", v, t.start, t.end))
            if nxt is None or not nxt.at("char", "_"):
                raise self.fail("\\nabla needs the variable as a subscript: \\nabla_{w} f", t)
        elif v in FUNCTIONS:
            if nxt is not None and nxt.at("char", "_"):
                raise self.fail(f"\\{v} with a subscript (a base) is not supported; write \\log x / \\log b", nxt)
            out.append(GrammarToken("FUNC", FUNCTIONS[v], t.start, t.end))
        elif v in ("max", "min"):
            if nxt is not None and nxt.at("char", "_"):
                out.append(GrammarToken("OPT", OPTIMA[v], t.start, t.end))
            else:
                out.append(GrammarToken("MAXMIN", v, t.start, t.end))
        elif v == "infty":
            out.append(GrammarToken("NAME", "oo", t.start, t.end, {"latex": "\\infty", "builtin": True}))
        elif v == "partial":
            raise self.fail("∂ is understood in \\frac{\\partial f}{\\partial x} and \\partial_x f", t)
        elif v in ("top", "intercal", "prime"):
            raise self.fail(f"\\{v} belongs in a superscript: X^\\{v}", t)
        elif v in ("cdot", "times"):
            out.append(GrammarToken("MUL", "*", t.start, t.end))
        elif v in ("circ", "otimes", "oplus", "cup", "cap", "setminus"):
            raise self.fail(f"\\{v} is not supported in formulas", t)
        else:
            raise self.fail(f"unknown LaTeX command \\{v}", t)
        return i + 1

    # -- names
    def name_of(self, toks: list[Tok], what: str) -> str:
        """The ASCII name written by a few tokens (a variable of a derivative, integral, ...)."""
        if len(toks) == 1 and toks[0].kind == "raw" and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(toks[0].value)):
            return str(toks[0].value)
        out: list[GrammarToken] = []
        used: set[int] = set()
        j = self.resolve_name(toks, 0, out, used, whole=True) if toks and toks[0].kind in ("word", "greek", "accent") \
            else -1
        if j < 0 or set(range(j, len(toks))) - used or len(out) != 1 or out[0].type != "NAME":
            raise self.fail(f"{what} must be a name", toks[0] if toks else 0)
        return str(out[0].value)

    def resolve_name(self, toks, i, out, skip, whole: bool = False) -> int:
        """A name at toks[i] with its subscripts, labels and primes; special words. Returns the next index."""
        t = toks[i]
        n = len(toks)
        base_kind = t.kind
        word = str(t.value)
        styled = t.info.get("styled", False)
        nxt = toks[i + 1] if i + 1 < n else None

        # special words and letters (unless declared as names)
        if base_kind == "word" and not self.names.declared(word) and not whole:
            special = self.special_word(toks, i, out, skip)
            if special is not None:
                return special
        if base_kind == "greek" and word == "sigma" and not self.names.declared("sigma") and nxt is not None \
                and nxt.at("char", "("):
            out.append(GrammarToken("FUNC", "sigmoid", t.start, t.end))
            return i + 1

        # a word of several letters that is not a name: a product of one-letter names (LaTeX's reading)
        if base_kind == "word" and len(word) > 1 and not styled and not self.names.declared(word) and not whole:
            letters = list(word)
            if all(self.names.known(c) or c in self.bound for c in letters[:-1]):
                last = Tok("word", letters[-1], t.end - 1, t.end)
                trial = _Names_probe(self, toks, i, last)
                if trial:
                    for k, c in enumerate(letters[:-1]):
                        out.append(GrammarToken("NAME", c, t.start + k, t.start + k + 1, {"latex": c}))
                    toks = toks[:i] + [last] + toks[i + 1:]
                    return self.resolve_name_tail(toks, i, out, skip, whole) + 0
        return self.resolve_name_tail(toks, i, out, skip, whole)

    def resolve_name_tail(self, toks, i, out, skip, whole) -> int:
        t = toks[i]
        n = len(toks)
        base, accent = self.base_of(t)
        subs: list[list[Tok]] = []
        labels: list[str] = []
        primes = None
        transposed: GrammarToken | None = None
        powers: list[tuple[int, int]] = []  # (index of ^, index after its script), kept for the grammar
        j = i + 1
        end = t.end
        while j < n:
            u = toks[j]
            if u.kind == "prime" and primes is None and j + 1 < n and toks[j + 1].at("char", "_"):
                primes = (j, u)  # F'_1: the prime of the name F_1
                skip.add(j)
                j += 1
                continue
            if u.at("char", "_") and j + 1 < n:
                inner, j2 = self.script_tokens(toks, j + 1)
                subs.append(inner)
                skip.update(range(j, j2))
                end = toks[j2 - 1].end
                j = j2
                continue
            if u.at("char", "^") and j + 1 < n:
                inner, j2 = self.script_tokens(toks, j + 1)
                if len(inner) == 2 and self.script_kind(inner[:1]) == "star" and \
                        self.script_kind(inner[1:]) == "transpose":
                    # `w^{*T}`: the transpose of the name w^* (seed 001, line 168)
                    labels.append("star")
                    transposed = GrammarToken("TRANSPOSE", "T", inner[1].start, inner[1].end)
                    skip.update(range(j, j2))
                    end = toks[j2 - 1].end
                    j = j2
                    break
                kind = self.script_kind(inner)
                label = _subscripted_label(inner)
                if kind == "power" and label and not subs and t.kind in ("word", "greek") and \
                        self.names.known(f"{t.value}_{label}"):
                    kind = "label"  # \lambda^{L_2} for the key's lambda_L_2: a label, not the power lambda^(L_2)
                if kind == "star":
                    labels.append("star")
                elif kind == "label" and label and len(inner) == 3 and not inner[0].at("char", "("):
                    labels.append(label)
                elif kind == "label":
                    if len(inner) == 3:
                        labels.append(self.piece_text(inner[1]))
                    else:
                        labels.append(self.piece_text(inner[0]))
                else:
                    if powers or kind != "power" or not (j2 < n and toks[j2].at("char", "_")):
                        break  # a power (or transpose, prime) of the name: left to the grammar
                    powers.append((j, j2))  # \sigma^2_t: the subscript after the power belongs to the name
                    j = j2
                    continue
                skip.update(range(j, j2))
                end = toks[j2 - 1].end
                j = j2
                continue
            break
        if powers:  # move the power behind the name: emit the name first, then let the loop see ^ ...
            pass
        latex = self.latex(t.start, end)
        info = {"latex": latex}
        # indexing: a declared vector or matrix with a subscript
        if subs and len(subs) == 1 and not labels and not accent and self.names.is_array(base) and not whole:
            idx = self.index_tokens(subs[0])
            out.append(GrammarToken("NAME", base, t.start, t.end, {"latex": self.latex(t.start, t.end)}))
            out.append(GrammarToken("IDX_OPEN", "[", toks[i + 1].start, toks[i + 1].end))
            out.extend(idx)
            out.append(GrammarToken("IDX_CLOSE", "]", end, end))
            self.emit_powers(toks, powers, out, skip)
            return i + 1
        cands = self.candidates(base, accent, subs, labels, t)
        chosen = next((c for c in cands if self.names.known(c) or c in self.bound), None)
        if chosen is None:  # not declared as written: the key's name with the same normal form, if one
            chosen = self.names.resolve(cands) or cands[0]
        seen = self.names.spellings
        # (a letter of the key's `densities:` is read by its arguments: p_\theta(x) and p(x, z) are two densities)
        if seen is not None and self.names.known(chosen) and chosen not in self.bound and \
                chosen not in self.names.densities:
            first = seen.setdefault(chosen, (written_form(cands[0]), latex))
            if first[0] != written_form(cands[0]) and not self.names.law_and_density(first[1], latex, chosen):
                raise self.fail(f"`{first[1]}` and `{latex}` would both be read as the key's `{chosen}` in one "
                                "formula; if they are two quantities, the key must declare both", t)
        info["candidates"] = cands
        if base == "e" and not accent and not subs and not labels and not self.names.known("e") and t.kind == "word":
            info["euler"] = True
        mark = self.inverse_mark(toks, j) if j < n and not powers and primes is None and transposed is None and \
            self.names.symbols.get(chosen) == "function" else 0
        if mark and j + mark < n and toks[j + mark].at("char", "("):
            # `F^{-1}(x)` for a declared function F: its inverse at x, wherever it stands (`2 F^{-1}(x)`,
            # `F^{-1}(x)^2`); parse says whether F has one
            out.append(GrammarToken("NAME", f"inverse({chosen})", t.start, toks[j + mark - 1].end,
                                    {**info, "builtin": True}))
            skip.update(range(j, j + mark))
            return i + 1
        out.append(GrammarToken("NAME", chosen, t.start, end, info))
        if primes is not None:
            out.append(GrammarToken("PRIMES", "'" * int(primes[1].value), primes[1].start, primes[1].end))
        if transposed is not None:
            out.append(transposed)
        self.emit_powers(toks, powers, out, skip)
        return i + 1

    def emit_powers(self, toks, powers, out, skip) -> None:
        for a, b in powers:
            sub = self.resolve(toks[a:b])
            out.extend(sub)
            skip.update(range(a, b))

    def base_of(self, t: Tok) -> tuple[str, str]:
        """(base name, accent suffix) of a name token."""
        if t.kind == "greek":
            return str(t.value), ""
        if t.kind == "word":
            return str(t.value), ""
        if t.kind == "accent":
            inner = t.info["inner"]
            if len(inner) == 1 and inner[0].kind in ("word", "greek"):
                return str(inner[0].value), "_" + str(t.value)
            if len(inner) == 1 and inner[0].kind == "accent":
                b, a = self.base_of(inner[0])
                return b, a + "_" + str(t.value)
            raise self.fail(f"\\{t.value}{{...}} is understood over a single letter (a name)", t)
        raise self.fail("a name is expected here", t)

    def piece_text(self, t: Tok) -> str:
        if t.kind in ("word", "greek", "num"):
            return str(t.value)
        if t.kind == "raw":
            return re.sub(r"\W", "", str(t.value))
        if t.kind == "accent":
            b, a = self.base_of(t)
            return b + a
        if t.kind == "cmd" and t.value == "infty":
            return "inf"
        raise self.fail(f"`{self.latex(t.start, t.end)}` cannot be part of a name", t)

    def subscript_pieces(self, inner: list[Tok], t0: Tok) -> list[str]:
        pieces: list[str] = []
        skip: set[int] = set()
        for k, u in enumerate(inner):
            if k in skip:
                continue
            inverse = self.inverse_mark(inner, k)
            if inverse:
                # `P_{F^{-1}(X)}`: the law of F^-1(X) is the name P_FinvX
                pieces.append("inv")
                skip.update(range(k, k + inverse))
                continue
            named = lambda part: any(x.kind in ("word", "greek") for x in part)  # noqa: E731
            if (u.at("char", "(") or u.at("char", ")")) and k > 0 and named(inner[:k]) and named(inner[k:]) or \
                    u.at("char", ")") and k > 0 and any(x.at("char", "(") for x in inner[:k]):
                continue  # `P_{F(U)}`: the law of F(U) is the name P_FU
            if u.kind in ("cond", "bar") or u.at("char", ",") or u.at("char", ";"):
                pieces.append("|")
                continue
            if u.at("char", "_") or u.at("char", "{") or u.at("char", "}"):
                continue  # A_{z_s}: a subscript inside the subscript
            if u.at("char", "^") and k + 1 < len(inner) and (inner[k + 1].at("op", "*") or
                                                             inner[k + 1].at("cmd", "ast")):
                continue  # q_{\phi^*}
            if u.kind in ("word", "greek", "num", "accent", "raw") or u.at("cmd", "infty"):
                pieces.append(self.piece_text(u))
                continue
            if u.at("op", "*") or u.at("cmd", "ast"):
                pieces.append("star")
                continue
            # `x_{t+1}`, `\theta_{k+1}`, `q_{-j}`, `x_{1:B}`: a term of a sequence, "all but j", a range of samples:
            # a name of its own per subscript written (x_tplus1, q_minusj, x_1toB), never the name x_t or q_j
            word = {"+": "plus", "-": "minus", ":": "to"}.get(str(u.value)) if u.kind in ("op", "char") else None
            if word is not None and any(x.kind in ("word", "greek", "num") for x in inner):
                pieces.append(word)
                continue
            raise self.fail(f"the subscript `{self.latex(inner[0].start, inner[-1].end)}` is not part of a name; "
                            f"map `{self.latex(t0.start, inner[-1].end + 1)}` to a name under latex_names", u)
        return pieces

    @staticmethod
    def inverse_mark(toks: list[Tok], k: int) -> int:
        """How many tokens from k spell `^{-1}` or `^-1` (0 if they do not)."""
        if not toks[k].at("char", "^"):
            return 0
        rest = [(t.kind, str(t.value)) for t in toks[k + 1:k + 5]]
        minus = lambda t: t[0] in ("char", "op") and t[1] == "-"  # noqa: E731
        if len(rest) >= 4 and rest[0] == ("char", "{") and minus(rest[1]) and rest[2] == ("num", "1") and \
                rest[3] == ("char", "}"):
            return 5
        if len(rest) >= 2 and minus(rest[0]) and rest[1] == ("num", "1"):
            return 3
        return 0

    def candidates(self, base: str, accent: str, subs: list[list[Tok]], labels: list[str], t0) -> list[str]:
        if not subs and not labels:
            return [base + accent] + ([base + accent.replace("_", "")] if accent else [])
        groups = [self.subscript_pieces(s, t0) for s in subs]
        flat = [p for g in groups for p in g]
        words = [p for p in flat if p != "|"]
        joined = "".join(words)
        under = "_".join(words)
        lab = "".join("_" + x for x in labels)
        out = []
        for c in (f"{base}{accent}_{joined}{lab}", f"{base}{accent}_{under}{lab}", f"{base}_{joined}{accent}{lab}",
                  f"{base}{joined}{accent}{lab}", f"{base}_{under}{accent}{lab}"):
            c = c.replace("__", "_").rstrip("_")
            if c.endswith("_") or c == base:
                continue
            if c not in out:
                out.append(c)
        return out or [base]

    def index_tokens(self, inner: list[Tok]) -> list[GrammarToken]:
        """The index of `\\mu_i`, `X_{ij}`, `X_{i,j}`, `v_{k+1}` for a declared vector or matrix."""
        if len(inner) == 1 and inner[0].kind == "word" and len(str(inner[0].value)) == 2:
            a = inner[0]
            return [GrammarToken("NAME", str(a.value)[0], a.start, a.start + 1, {"latex": str(a.value)[0]}),
                    GrammarToken("SEP", ",", a.start + 1, a.start + 1),
                    GrammarToken("NAME", str(a.value)[1], a.start + 1, a.end, {"latex": str(a.value)[1]})]
        return self.resolve(inner)

    def special_word(self, toks, i, out, skip) -> int | None:
        """Words with a meaning (functions, E, KL, N(...)) that are not declared names."""
        t = toks[i]
        w = str(t.value)
        n = len(toks)
        nxt = toks[i + 1] if i + 1 < n else None
        cal, bb = t.info.get("cal"), t.info.get("bb")
        if (w == "E" and (bb or (nxt is not None and (nxt.at("char", "_") or nxt.at("char", "["))))) or \
                (w in ("Var", "var") and nxt is not None and (nxt.at("char", "_") or nxt.at("char", "[")
                                                               or nxt.at("char", "("))):
            out.append(GrammarToken("EXPECT", "E" if w == "E" else "Var", t.start, t.end))
            return i + 1
        if w in ("KL", "JSD") or (w == "D" and nxt is not None and nxt.at("char", "_")):
            if w == "D":
                inner, j = self.script_tokens(toks, i + 2)
                label = "".join(str(x.value) for x in inner if x.kind == "word")
                if label not in ("KL", "JS", "JSD"):
                    return None
                out.append(GrammarToken("DIVERGENCE", "KL" if label == "KL" else "JSD", t.start, toks[j - 1].end))
                return j
            out.append(GrammarToken("DIVERGENCE", w, t.start, t.end))
            return i + 1
        if w == "N" and nxt is not None and nxt.at("char", "("):
            out.append(GrammarToken("NAME", "Normal", t.start, t.end, {"latex": self.latex(t.start, t.end), "builtin": True}))
            return i + 1
        if w in ("Bern", "Bernoulli") or (w in ("Unif", "Uniform") or (cal and w == "U")) and nxt is not None \
                and nxt.at("char", "("):
            name = "Bernoulli" if w.startswith("Bern") else "Uniform"
            out.append(GrammarToken("NAME", name, t.start, t.end, {"latex": self.latex(t.start, t.end), "builtin": True}))
            return i + 1
        if cal:
            return None
        if w == "I" and not t.info.get("roman") and (nxt is None or not nxt.at("char", "_")) and \
                self.names.identity_is_one():  # `\sigma_s^2 I` in a scalar setting: the identity is 1
            out.append(GrammarToken("NUMBER", "1", t.start, t.end, {"latex": self.latex(t.start, t.end)}))
            return i + 1
        if w == "i" and not self.names.known("i") and not _index_letter(toks, "i") and \
                (nxt is not None and nxt.at("cmd", "sqrt") or self.names.complex_symbols):
            # `i\sqrt{1 - \gamma^2}`, or any `i` where the key declares a complex symbol, with nothing named i: the
            # imaginary unit
            out.append(GrammarToken("RAW", "I", t.start, t.end, {"latex": self.latex(t.start, t.end)}))
            return i + 1
        if w == "i" and t.info.get("roman"):  # \mathrm{i}: the imaginary unit
            out.append(GrammarToken("RAW", "I", t.start, t.end, {"latex": self.latex(t.start, t.end)}))
            return i + 1
        if w in FUNCTIONS and not t.info.get("cal"):
            self_tok = Tok("cmd", w, t.start, t.end)
            return self.resolve_cmd(toks[:i] + [self_tok] + toks[i + 1:], i, out, skip)
        if w in ("max", "min"):
            return self.resolve_cmd(toks[:i] + [Tok("cmd", w, t.start, t.end)] + toks[i + 1:], i, out, skip)
        if w in ("argmax", "argmin"):
            if nxt is None or not nxt.at("char", "_"):
                raise self.fail(f"{w} needs the variable as a subscript: \\arg\\max_{{x}} f", t)
            out.append(GrammarToken("OPT", w, t.start, t.end))
            return i + 1
        return None

    # -- bars: norms, absolute values, conditional bars, the KL separator
    def bars(self, g: list[GrammarToken]) -> list[GrammarToken]:
        out: list[GrammarToken] = []
        stack: list[list] = [["top", 0, 0]]  # kind, open norms, open abs
        prev: GrammarToken | None = None
        i = 0
        while i < len(g):
            t = g[i]
            typ = t.type
            after = prev is not None and prev.type in _OPERAND_END
            if typ in ("LPAR", "LBRACE", "SETOPEN", "LANGLE", "MATBEGIN", "IDX_OPEN", "LOPT"):
                kind = "kl" if prev is not None and prev.type == "DIVERGENCE" else \
                    "call" if typ == "LPAR" and prev is not None and prev.type in ("NAME", "RAW") else typ
                stack.append([kind, 0, 0])
            elif typ in ("RPAR", "RBRACE", "SETCLOSE", "RANGLE", "MATEND", "IDX_CLOSE", "ROPT") and len(stack) > 1:
                top = stack.pop()
                if top[1] or top[2]:
                    raise self.fail("a bar | or ‖ opened inside these brackets is never closed", t)
            elif typ == "BAR":
                top = stack[-1]
                side = t.info.get("side", "")
                sized = t.info.get("sized")
                if sized and not side and i + 1 < len(g) and g[i + 1].type == "BAR" and g[i + 1].info.get("sized"):
                    t = GrammarToken("NBAR", "||", t.start, g[i + 1].end, {"side": ""})  # \Big| \Big| : a norm bar
                    i += 1
                    typ = "NBAR"
                elif side == "left" or (not side and not after):
                    top[2] += 1
                    t = GrammarToken("ABS_OPEN", "|", t.start, t.end)
                elif side == "right" or (top[2] > 0 and after):
                    if top[2] == 0:
                        raise self.fail("this closing bar | has no opening bar", t)
                    top[2] -= 1
                    t = GrammarToken("ABS_CLOSE", "|", t.start, t.end)
                elif top[0] in ("call", "kl"):
                    t = GrammarToken("SEP", "|", t.start, t.end)  # q(z | x): a conditional bar
                else:
                    top[2] += 1
                    t = GrammarToken("ABS_OPEN", "|", t.start, t.end)  # p(x) |det J|
            if typ == "NBAR":
                top = stack[-1]
                side = t.info.get("side", "")
                if side == "right" or (side != "left" and top[1] > 0 and after):
                    if top[1] == 0:
                        raise self.fail("this closing ‖ has no opening ‖", t)
                    top[1] -= 1
                    t = GrammarToken("NORM_CLOSE", "||", t.start, t.end)
                    out.append(t)
                    prev = t
                    i += 1
                    i = self.norm_subscript(g, i)
                    continue
                if side != "left" and top[0] == "kl" and after:
                    t = GrammarToken("KLSEP", "||", t.start, t.end)
                else:
                    top[1] += 1
                    t = GrammarToken("NORM_OPEN", "||", t.start, t.end)
            out.append(t)
            prev = t
            i += 1
        top = stack[-1]
        if top[1] or top[2]:
            raise self.fail("a bar | or ‖ is never closed", g[-1] if g else 0)
        return out

    def norm_subscript(self, g: list[GrammarToken], i: int) -> int:
        """Skip the `_2` (or `_{2}`, `_F`) after a norm; other norms are refused."""
        if i < len(g) and g[i].type == "UNDERSCORE":
            j = i + 1
            inner = g[j:j + 1]
            if j < len(g) and g[j].type == "LBRACE":
                k = j
                while k < len(g) and g[k].type != "RBRACE":
                    k += 1
                inner = g[j + 1:k]
                j = k
            if len(inner) == 1 and ((inner[0].type == "NUMBER" and inner[0].value == "2") or
                                    (inner[0].type == "NAME" and inner[0].value == "F")):
                return j + 1
            raise self.fail("only the Euclidean norm ‖x‖ = ‖x‖_2 is supported", g[i])
        return i

    # -- implicit arguments made explicit
    def arguments(self, g: list[GrammarToken]) -> list[GrammarToken]:
        i = len(g) - 1
        while i >= 0:
            t = g[i]
            typ = t.type
            if typ in ("FUNC", "DERIV", "NABLA", "BIGOP", "OPT", "LIM", "EXPECT", "EXPECT_RAW", "INT"):
                j = self.skip_scripts(g, i + 1, typ)
                if typ == "FUNC" and j < len(g) and g[j].type == "LPAR":
                    i -= 1
                    continue
                if typ in ("EXPECT", "EXPECT_RAW") and j < len(g) and g[j].type == "LPAR" and \
                        g[j].info.get("bracket"):
                    i -= 1  # \mathbb{E}_{z \sim q}[...]: the bracket is the body
                    continue
                if typ == "INT" and not any(u.type == "DIFF" for u in g[j:]) and t.info.get("variable"):
                    # `\int_z p(x, z)`: the variable under the sign, no differential; the body is a product
                    k = self.product_end(g, j)
                    var, b = t.info["variable"], g[k - 1].end if k > j else g[j - 1].end
                    g = g[:k] + [GrammarToken("DIFF", var, b, b, {"synthetic": True})] + g[k:]
                elif typ == "INT":
                    k = self.integral_end(g, j)
                elif typ == "DERIV" and j < len(g) and g[j].type == "LBRACE" and g[j].info.get("numerator"):
                    # `\frac{\partial f}{\partial x} g`: the derivative of f (its numerator), times g
                    k = self.group_end(g, j)
                elif typ == "FUNC":
                    k = self.run_end(g, j)
                elif typ in ("DERIV", "NABLA"):
                    # a derivative applies to the whole product after it, functions and `\cdot`, `/` included:
                    # `\frac{d}{dx} x \sin x` is the derivative of x sin(x), not sin(x) times d/dx x; a bracket
                    # right after it is its whole operand: `\frac{d}{dx}(x^2) \cdot x` is 2x times x
                    k = self.unit_end(g, j) if j < len(g) and g[j].type in _OPEN_G else self.product_end(g, j)
                elif typ == "OPT" and j + 1 < len(g) and g[j].type == "MINUS" and self.product_end(g, j + 1) > j + 1:
                    # `\max_\theta - D_{KL}(q \| p)`: the optimum of the negated term (a binary minus has nothing
                    # on its left here)
                    k = self.product_end(g, j + 1)
                else:
                    k = self.product_end(g, j)
                    if typ == "BIGOP" and k > j:
                        k = self.sum_terms_end(g, i + 1, j, k)
                if k == j and typ == "EXPECT_RAW":  # `\sum_z q(z)` alone (mapped to E[z ~ q]): E[1]
                    a = g[i].end
                    g = g[:j] + [GrammarToken("LPAR", "(", a, a, {"synthetic": True}), GrammarToken("NUMBER", "1", a, a),
                                 GrammarToken("RPAR", ")", a, a, {"synthetic": True})] + g[j:]
                    i -= 1
                    continue
                if k == j:
                    what = {"FUNC": f"\\{t.value}", "DERIV": "d/dx", "NABLA": "\\nabla", "BIGOP": f"\\{t.value}",
                            "OPT": str(t.value), "LIM": "\\lim", "EXPECT": "the expectation",
                            "EXPECT_RAW": "the expectation", "INT": "\\int"}[typ]
                    raise self.fail(f"{what} needs something to apply to", t)
                a = g[j].start
                b = g[k - 1].end
                g = g[:j] + [GrammarToken("LPAR", "(", a, a, {"synthetic": True})] + g[j:k] + \
                    [GrammarToken("RPAR", ")", b, b, {"synthetic": True})] + g[k:]
            i -= 1
        return g

    def group_end(self, g: list[GrammarToken], j: int) -> int:
        """Index after the bracket group opening at g[j]."""
        close = _OPEN_G[g[j].type]
        depth = 0
        for k in range(j, len(g)):
            if g[k].type == g[j].type:
                depth += 1
            elif g[k].type == close:
                depth -= 1
                if depth == 0:
                    return k + 1
        raise self.fail("this bracket is never closed", g[j])

    def top_level(self, g: list[GrammarToken], j: int) -> list[GrammarToken]:
        """The tokens directly inside the bracket group opening at g[j] (nested groups left out)."""
        out, k, end = [], j + 1, self.group_end(g, j) - 1
        while k < end:
            if g[k].type in _OPEN_G:
                k = self.group_end(g, k)
                continue
            out.append(g[k])
            k += 1
        return out

    def skip_script(self, g: list[GrammarToken], j: int) -> int:
        if j >= len(g):
            return j
        if g[j].type == "MINUS":
            return self.skip_script(g, j + 1)
        if g[j].type == "LBRACE":
            return self.group_end(g, j)
        return j + 1

    def skip_scripts(self, g: list[GrammarToken], j: int, typ: str) -> int:
        if typ == "FUNC":
            if j < len(g) and g[j].type == "CARET":
                return self.skip_script(g, j + 1)
            return j
        while j < len(g) and g[j].type in ("UNDERSCORE", "CARET"):
            j = self.skip_script(g, j + 1)
        return j

    def unit_end(self, g: list[GrammarToken], j: int) -> int:
        """Index after one factor starting at g[j] (with its exponents), or j if none starts there."""
        if j >= len(g):
            return j
        t = g[j]
        typ = t.type
        if typ in ("NAME", "RAW"):
            k = j + 1
            if k < len(g) and g[k].type == "PRIMES":
                k += 1
            if k < len(g) and g[k].type in ("LPAR", "IDX_OPEN"):
                k = self.group_end(g, k)
        elif typ == "NUMBER":
            k = j + 1
        elif typ in _OPEN_G:
            k = self.group_end(g, j)
        elif typ == "FRAC":
            k = self.group_end(g, j + 1) if j + 1 < len(g) and g[j + 1].type == "LBRACE" else j + 1
            k = self.group_end(g, k) if k < len(g) and g[k].type == "LBRACE" else k
        elif typ == "SQRT":
            k = j + 1
            if k < len(g) and g[k].type == "LOPT":
                k = self.group_end(g, k)
            if k < len(g) and g[k].type == "LBRACE":
                k = self.group_end(g, k)
        elif typ in ("FUNC", "MAXMIN", "DIVERGENCE", "BIGOP", "OPT", "LIM", "NABLA", "DERIV", "EXPECT", "EXPECT_RAW",
                     "INT"):
            k = self.skip_scripts(g, j + 1, typ)
            if k < len(g) and g[k].type == "LPAR":
                k = self.group_end(g, k)
            if typ == "INT" and k < len(g) and g[k].type == "DIFF":
                k += 1
        else:
            return j
        while k < len(g) and g[k].type in ("CARET", "TRANSPOSE"):
            k = self.skip_script(g, k + 1) if g[k].type == "CARET" else k + 1
        return k

    def run_end(self, g: list[GrammarToken], j: int) -> int:
        """`\\log x y`: the juxtaposed factors after a function (a later function starts a new factor)."""
        k = self.unit_end(g, j)
        if k == j:
            return j
        while k < len(g) and g[k].type not in _PREFIX_OPS:
            k2 = self.unit_end(g, k)
            if k2 == k:
                break
            k = k2
        return k

    def product_end(self, g: list[GrammarToken], j: int) -> int:
        """The body of \\sum, \\max_x, \\lim, \\mathbb{E}_q: factors joined by products, up to + or -."""
        k = self.unit_end(g, j)
        if k == j:
            return j
        while k < len(g):
            if g[k].type in ("MUL", "DIV", "ODOT"):
                m = k + 1
                while m < len(g) and g[m].type in ("MINUS", "PLUS"):
                    m += 1
                m2 = self.unit_end(g, m)
                if m2 == m:
                    break
                k = m2
                continue
            k2 = self.unit_end(g, k)
            if k2 == k:
                break
            k = k2
        return k

    def sum_terms_end(self, g: list[GrammarToken], s: int, j: int, k: int) -> int:
        """A bracket-less body written on: `\\sum_{i=1}^k a_i + b_i - 1 - c_i`, where terms after the first `+`
        or `-` still use the index, runs to the last such term (the seeds' `\\frac12 \\sum_i \\sigma_i^2 + \\mu_i^2
        - 1 - \\log \\sigma_i^2`). Only for an index the key does not declare: there the documented reading
        (the body stops at `+`) leaves the index free and the formula unreadable, so nothing readable changes."""
        index = next((str(t.value) for t in g[s:j] if t.type == "NAME"), None)
        if index is None or self.names.declared(index):
            return k
        end, pos = k, k
        while pos < len(g) and g[pos].type in ("PLUS", "MINUS"):
            m = pos + 1
            while m < len(g) and g[m].type in ("PLUS", "MINUS"):
                m += 1
            e = self.product_end(g, m)
            if e == m or any(t.type == "BIGOP" for t in g[m:e]):
                break  # a term with a sum of its own (`- \\frac12 k + \\frac12 \\sum_i ...`) binds its index anew
            if any(t.type == "NAME" and t.value == index for t in g[m:e]):
                end = e
            pos = e
        return end

    def integral_end(self, g: list[GrammarToken], j: int) -> int:
        """The body of \\int: everything up to its differential (inner integrals keep theirs)."""
        k = j
        while k < len(g):
            typ = g[k].type
            if typ == "DIFF":
                return k
            if typ in _OPEN_G:
                k = self.group_end(g, k)
                continue
            if typ == "INT":
                k = self.unit_end(g, k)
                continue
            k += 1
        raise self.fail("this integral has no differential: end it with dx (or d\\theta, ...)", g[j - 1])

    def collect_bound(self, g: list[GrammarToken]) -> None:
        for i, t in enumerate(g):
            nxt = g[i + 1] if i + 1 < len(g) else None
            if t.type == "DIFF":
                self.bound.add(str(t.value))
            elif t.type == "NAME" and nxt is not None and nxt.type in ("SIM", "REL", "ARROW"):
                self.bound.add(str(t.value))
            elif t.type == "NAME" and i >= 2 and g[i - 1].type == "UNDERSCORE" and g[i - 2].type in ("BIGOP", "INT", "OPT"):
                self.bound.add(str(t.value))  # \max_\theta, \arg\max_\theta: the variable optimised over is bound
            elif t.type == "NAME" and i >= 3 and g[i - 1].type == "LBRACE" and g[i - 2].type == "UNDERSCORE" and \
                    g[i - 3].type in ("BIGOP", "INT", "OPT"):
                self.bound.add(str(t.value))  # \sum_{i}: reported as a sum without range, not as `i` undeclared
            elif t.type == "NAME" and i >= 3 and g[i - 1].type == "LPAR" and g[i - 2].type == "NAME" and \
                    g[i - 3].type == "LBRACE" and i >= 5 and g[i - 4].type == "UNDERSCORE" and g[i - 5].type == "EXPECT":
                self.bound.add(str(t.value))  # \mathbb{E}_{q(z|x)}: z


def _named_integral(toks: list[Tok], i: int) -> str | None:
    """The variable of `\\int_z` / `\\int_{z}` at toks[i] (a single letter under the sign), else None."""
    if i + 2 < len(toks) and toks[i + 1].at("char", "_"):
        single = _variable_letter(toks[i + 2])
        braced = toks[i + 2].at("char", "{") and i + 4 < len(toks) and toks[i + 4].at("char", "}") and \
            _variable_letter(toks[i + 3])
        after = i + 3 if single else i + 5
        if (single or braced) and not (after < len(toks) and toks[after].at("char", "^")):  # not \int_a^b
            return str(toks[i + 2 if single else i + 3].value)
    return None


def _variable_letter(t: Tok) -> bool:
    """A lower-case letter, Latin or Greek (`z`, `\\theta`): a variable, where `\\Omega` or `D` under \\int is a set."""
    v = str(t.value)
    return t.kind == "word" and len(v) == 1 and v.islower() or t.kind == "greek" and v[:1].islower()


def _subscripted_label(inner: list[Tok]) -> str | None:
    """`L_2` of `\\lambda^{L_2}`: a letter with a subscript letter or number, as a label text, else None."""
    if len(inner) == 3 and inner[0].kind == "word" and inner[1].at("char", "_") and inner[2].kind in ("word", "num"):
        return f"{inner[0].value}_{inner[2].value}"
    return None


def _Names_probe(tr: Translator, toks, i, last: Tok) -> bool:
    """Whether the last letter of a split word (with the scripts after it) names something known."""
    probe: list[GrammarToken] = []
    tmp = toks[:i] + [last] + toks[i + 1:]
    try:
        tr.resolve_name_tail(tmp, i, probe, set(), False)
    except ProofcheckError:
        return False
    return bool(probe) and probe[0].type == "NAME" and (tr.names.known(str(probe[0].value)) or
                                                         probe[0].info.get("euler", False))
