"""The lark grammar (grammar/latex.lark) and the Transformer: grammar tokens -> ASCII text, each character with its offset."""

from __future__ import annotations

import re
from functools import lru_cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError
from lark.lexer import Lexer

from proofcheck.errors import ParseError, ProofcheckError
from proofcheck.latex.source import Source, latex_error
from proofcheck.latex.names import Names
from proofcheck.latex.tokens import Tok
from proofcheck.latex.vocabulary import MATRIX_ENVS
from proofcheck.latex.translation import GrammarToken, Translator

# the message of an undeclared name (`\sigma_Q` (read as `sigma_Q`) is not declared ...): group 1 as written, 2 as read
UNDECLARED = re.compile(r"^`([^`]*)`(?: \(read as `([^`]*)`\))? is not declared")


class _Feed(Lexer):
    """Lark 'lexer' that hands over the tokens made by _Translator."""

    def __init__(self, lexer_conf):  # noqa: D107 - lark hook
        pass

    def lex(self, data, parser_state=None):  # noqa: D102 - lark hook (called with the input itself)
        yield from getattr(data, "text", data)


@lru_cache(maxsize=1)
def grammar() -> Lark:
    """The LaTeX parser (grammar/latex.lark), built once per process."""
    return Lark.open("../grammar/latex.lark", rel_to=__file__, parser="lalr", lexer=_Feed, start="start",
                     maybe_placeholders=False)


ATOM, POW, NEG, PROD, SUM = 4, 3, 2, 1, 0


class Piece:
    """ASCII text as chunks (text, LaTeX offset), with its precedence and what it is."""

    __slots__ = ("parts", "level", "info")

    def __init__(self, parts, level=ATOM, info=None):
        self.parts: list[tuple[str, int]] = parts
        self.level = level
        self.info = info or {}

    @property
    def text(self) -> str:
        return "".join(s for s, _ in self.parts)

    @property
    def start(self) -> int:
        return self.parts[0][1] if self.parts else 0


_KL_BODY = re.compile(r"log\(pdf\(([A-Za-z][A-Za-z0-9_]*),([A-Za-z][A-Za-z0-9_]*)\)/pdf\(([A-Za-z][A-Za-z0-9_]*),"
                      r"([A-Za-z][A-Za-z0-9_]*)\)\)")


def _p(text: str, off: int, level=ATOM, info=None) -> Piece:
    return Piece([(text, off)], level, info)


def _cat(*items, level=ATOM, info=None) -> Piece:
    parts: list[tuple[str, int]] = []
    for it in items:
        if isinstance(it, Piece):
            parts.extend(it.parts)
        else:
            text, off = it
            parts.append((text, off))
    return Piece(parts, level, info)


def _first_factor(a: Piece, b: Piece | None = None) -> dict:
    """For a product `a b`: its first factor when that is a call (`q(z|x) \\log ...`), and how many chunks it has (the
    chunk after them is the product sign), so that `\\sum_z q(z|x) [...]` can take it off; and every factor that is a
    call at the top of the product, as (piece, first chunk, chunk count), so that a weight written later in the product
    (`\\sum_z p(u|z) p(z)`) can be taken off too."""
    out: dict = {}
    if "first" in a.info:
        out = {"first": a.info["first"], "nfirst": a.info["nfirst"]}
    elif "call" in a.info and a.level == ATOM:
        out = {"first": a, "nfirst": len(a.parts)}
    if b is None:
        return out
    calls = list(a.info.get("calls", [(a, 0, len(a.parts))] if "call" in a.info and a.level == ATOM else []))
    if "call" in b.info and b.level == ATOM:
        calls.append((b, len(a.parts) + 1, len(b.parts)))  # one chunk for the product sign between
    return {**out, "calls": calls} if calls else out


def _inner(p: Piece) -> Piece:
    """The content of a parenthesized piece (for arguments that get their own parentheses)."""
    while "inner" in p.info:
        p = p.info["inner"]
    return p


def _wrap(p: Piece, off: int | None = None) -> Piece:
    o = p.start if off is None else off
    return _cat(("(", o), p, (")", p.parts[-1][1] if p.parts else o), level=ATOM)


_SIMPLE_ASCII = re.compile(r"[A-Za-z][A-Za-z0-9_]*|\d+(\.\d+)?")


@v_args(inline=True)
class _Emit(Transformer):
    """Tree of grammar/latex.lark -> Piece."""

    def __init__(self, tr: Translator, toks: list[GrammarToken]):
        super().__init__()
        self.tr, self.toks = tr, toks

    def tok(self, t: Token) -> GrammarToken:
        return self.toks[t.start_pos]

    def fail(self, msg: str, t) -> ParseError:
        off = self.tok(t).start if isinstance(t, Token) else t.start if hasattr(t, "start") else int(t)
        return latex_error(msg, self.tr.src, off)

    # -- atoms
    def start(self, e):
        return e

    def _argument(self, k: int) -> bool:
        """Whether the token at k is in the argument list of a call `f(..., ., ...)` (not a bare bracket)."""
        depth = 0
        for j in range(k - 1, -1, -1):
            u = self.toks[j]
            depth += (u.type == "RPAR") - (u.type == "LPAR")
            if depth < 0:
                return j > 0 and self.toks[j - 1].type == "NAME"
        return False

    def number(self, t):
        return _p(str(t.value) if isinstance(t, Token) else t.text, self.tok(t).start)

    def name(self, t):
        g = self.tok(t)
        name = str(g.value)
        if g.info.get("euler"):
            return _p("exp(1)", g.start, info={"euler": True})
        if g.info.get("placeholder"):
            return _p("·", g.start, info={"placeholder": True})
        if not g.info.get("builtin") and not self.tr.names.known(name) and name not in self.tr.bound:
            if g.info.get("conditioning"):  # dropped by `call` with the distribution it conditions, else an error there
                return _p(name, g.start, info={"name": name, "unknown": g})
            parts = self.tr.names.components(name)
            k = t.start_pos
            if parts and 0 < k < len(self.toks) - 1 and self.toks[k - 1].type in ("LPAR", "SEP") and \
                    self.toks[k + 1].type in ("RPAR", "SEP") and \
                    str(self.toks[k - 1].value) in "(," and str(self.toks[k + 1].value) in ")," and self._argument(k):
                # `\mathcal{R}_1(\psi)` for the key's psi_0, psi_1: as an argument, the vector of them
                return _p(", ".join(parts), g.start, info={"components": name})
            raise self.undeclared(g)
        return _p(name, g.start, info={"name": name})

    def undeclared(self, g: GrammarToken) -> ParseError:
        """The error for a name the key does not declare (UNDECLARED reads it back)."""
        name = str(g.value)
        latex = g.info.get("latex", name)
        read = f" (read as `{name}`)" if latex != name else ""
        return self.fail(f"`{latex}`{read} is not declared{self.tr.where}; declare `{name}` or map "
                         f"`{latex}` to a declared name under `latex_names:`", g)

    def raw(self, t):
        g = self.tok(t)
        v = str(g.value)
        if _SIMPLE_ASCII.fullmatch(v) and not v[0].isdigit():
            return _p(v, g.start, info={"name": v})
        if _SIMPLE_ASCII.fullmatch(v):
            return _p(v, g.start)
        if _balanced_call(v):
            return _p(v, g.start, info={"call": v[:v.index("(")]})
        return _wrap(_p(v, g.start))

    def group(self, lb, e, rb):
        return e

    def brace(self, e):
        if e.level == NEG or e.info.get("plus"):
            # `(x^2 + y^2) {+ 1}`, `x^2 {- y^2}`: a group that starts with a sign, after a term, shows a sum
            return Piece(e.parts, e.level, {**e.info, "signed_group": "-" if e.level == NEG else "+"})
        return e

    def paren(self, lp, e, rp):
        if self.tok(lp).info.get("synthetic") and "inner" in e.info:
            return e
        info = dict(e.info)
        info["inner"] = e
        return _cat((("(", self.tok(lp).start)), e, (")", self.tok(rp).start), level=ATOM, info=info)

    def norm(self, a, e, b):
        return _cat(("||", self.tok(a).start), e, ("||", self.tok(b).start))

    def abs(self, a, e, b):
        return _cat(("|", self.tok(a).start), e, ("|", self.tok(b).start))

    def inner(self, a, u, sep, v, b):
        return _cat(("⟨", self.tok(a).start), u, (", ", self.tok(sep).start), v, ("⟩", self.tok(b).start))

    def set_literal(self, a, args, b):
        return _cat(("{", self.tok(a).start), self.join(args), ("}", self.tok(b).start))

    def args(self, *items):
        return list(items)

    def join(self, items, sep=", ") -> Piece:
        parts: list = []
        for x in items:
            if isinstance(x, Token):
                parts.append((sep, self.tok(x).start))
            else:
                parts.append(x)
        return _cat(*parts)

    def values(self, items) -> list[Piece]:
        return [x for x in items if isinstance(x, Piece)]

    def frac(self, f, a, b):
        a2 = _wrap(a) if a.level in (SUM,) else a
        b2 = b if b.level >= POW else _wrap(b)
        return _cat(a2, ("/", b.start), b2, level=PROD)

    def sqrt(self, s, g):
        return _cat(("sqrt(", self.tok(s).start), g, (")", g.parts[-1][1]))

    def root(self, s, lo, n, ro, g):
        index = "".join(t for t, _ in n.parts).strip()
        if index.isdigit() and int(index) % 2 == 1:
            # `\sqrt[3]{-8}` is -2, as written on paper: the real root of an odd index, not SymPy's principal root
            at = self.tok(s).start
            return _cat(("(sign(", at), g, (") abs(", at), g, (")^(1/", at), n, ("))", self.tok(ro).start), level=ATOM)
        base = g if g.level == ATOM else _wrap(g)
        return _cat(base, ("^(1/", self.tok(s).start), n if n.level >= POW else _wrap(n), (")", self.tok(ro).start),
                    level=POW)

    def matrix(self, mb, rows, me):
        env = str(self.tok(mb).value)
        rows = [r for r in rows.children if not isinstance(r, Token)] if hasattr(rows, "children") else rows
        cells = [[c for c in r if isinstance(c, Piece)] for r in rows]
        width = len(cells[0])
        if any(len(r) != width for r in cells):
            raise self.fail("the rows of this matrix have different lengths", mb)
        start = self.tok(mb).start
        if width == 1:
            body = self.join_plain([r[0] for r in cells], start)
            m = _cat(("[", start), body, ("]", self.tok(me).start))
        else:
            row_pieces = [_cat(("[", r[0].start), self.join_plain(r, r[0].start), ("]", r[-1].start)) for r in cells]
            m = _cat(("[", start), self.join_plain(row_pieces, start), ("]", self.tok(me).start))
        if MATRIX_ENVS.get(env) == "det":
            return _cat(("det(", start), m, (")", self.tok(me).start))
        if MATRIX_ENVS.get(env) == "norm":
            return _cat(("||", start), m, ("||", self.tok(me).start))
        return m

    def join_plain(self, pieces: list[Piece], off: int) -> Piece:
        parts: list = []
        for k, p in enumerate(pieces):
            if k:
                parts.append((", ", p.start))
            parts.append(p)
        return _cat(*parts)

    def mrows(self, *rows):
        return [r for r in rows if not isinstance(r, Token)]

    def mrow(self, *cells):
        return [c for c in cells if isinstance(c, Piece)]

    # -- calls and functions
    def call(self, name_t, lp, args, rp):
        g = self.tok(name_t)
        callee = str(g.value)
        if g.type == "NAME" and not g.info.get("builtin") and not self.tr.names.known(callee) and \
                callee not in self.tr.bound:
            raise self.undeclared(g)
        if g.type == "RAW" and not _SIMPLE_ASCII.fullmatch(callee):
            return _cat(self.raw(name_t), (" * ", self.tok(lp).start),
                        _cat(("(", self.tok(lp).start), self.join(args), (")", self.tok(rp).start)), level=PROD)
        seps = [str(self.tok(x).value) for x in args if isinstance(x, Token)]
        if g.type == "NAME" and callee in self.tr.names.distributions and \
                (not seps and len(args) == 1 or seps[:1] == ["|"] and set(seps[1:]) <= {",", ";"}):
            # `q(z)` for `q := Normal(...)`: the density of q at z, never the product q z; `q(z|\mu)`, `q(z|\mu,
            # \sigma)`, the same density with what the key's q is conditioned on written after the bar (as
            # `\mathbb{E}_{q(z|x)}` is q; _mark_conditioning has checked those names)
            val = self.values(args)[0]
            return _cat(("pdf(" + callee + ", ", g.start), val, (")", self.tok(rp).start),
                        info={"call": callee, "args": [val], "cond": False})
        if g.type == "NAME" and seps and set(seps) <= {",", ";"} and callee in self.tr.names.defines and \
                self.tr.names.defines[callee] is None and callee not in self.tr.names.distributions:
            # `\mu_Q(z_t, x; s, t)`: a value the key defines, written with the names it depends on
            return _p(callee, g.start, info={"name": callee, "dependencies": True})
        vals = self.values(args)
        if g.type == "NAME" and not seps and len(vals) == 1 and "name" in vals[0].info and \
                vals[0].text == vals[0].info["name"] and callee not in self.tr.names.distributions and \
                self.tr.names.depends_on(callee, vals[0].info["name"]):
            # `L(w)` for the key's `L := ||y - X w||^2`: the value written with the name it depends on (one argument)
            return _p(callee, g.start, info={"name": callee, "dependencies": True})
        unknown = next((v.info["unknown"] for v in vals if "unknown" in v.info), None)
        if unknown is not None and not (g.type == "NAME" and self.tr.names.is_distribution_name(callee)):
            raise self.undeclared(unknown)
        if callee == "Normal" and ";" in seps:
            if seps != [";", ","] or len(vals) != 3:
                raise self.fail("write a Gaussian density as \\mathcal{N}(z; \\mu, \\sigma^2)", name_t)
            dist = _cat(("Normal(", g.start), vals[1], (", ", vals[2].start), vals[2], (")", self.tok(rp).start))
            return _cat(("pdf(", g.start), dist, (", ", vals[0].start), vals[0], (")", self.tok(rp).start))
        body = self.join_plain(vals, g.start)
        return _cat((callee + "(", g.start), body, (")", self.tok(rp).start),
                    info={"call": callee, "args": vals, "cond": "|" in seps or ";" in seps})

    def prime_call(self, name_t, primes, lp, args, rp):
        g = self.tok(name_t)
        callee = str(g.value)
        if not self.tr.names.known(callee):
            raise self.undeclared(g)
        return _cat((callee + str(primes.value if isinstance(primes, Token) else primes) + "(", g.start),
                    self.join_plain(self.values(args), g.start), (")", self.tok(rp).start))

    def index(self, name_t, a, args, b):
        g = self.tok(name_t)
        if not self.tr.names.known(str(g.value)):
            raise self.undeclared(g)
        return _cat((str(g.value) + "[", g.start), self.join_plain(self.values(args), g.start), ("]", self.tok(b).start))

    def func(self, f, lp, args, rp):
        g = self.tok(f)
        vals = self.values(args)
        return _cat((str(g.value) + "(", g.start), self.join_plain(vals, g.start), (")", self.tok(rp).start))

    def func_pow(self, f, caret, script, lp, args, rp):
        g = self.tok(f)
        if script.text in ("-1", "(-1)"):
            raise self.fail(f"\\{g.value}^{{-1}}: write the inverse function by name (e.g. \\arcsin)", f)
        call = self.func(f, lp, args, rp)
        return self.pow(call, caret, script)

    def maxmin(self, m, lp, args, rp):
        g = self.tok(m)
        vals = self.values(args)
        if len(vals) < 2:
            raise self.fail(f"\\{g.value}(...) takes two or more arguments; \\{g.value}_x f is an optimum", m)
        return _cat((str(g.value) + "(", g.start), self.join_plain(vals, g.start), (")", self.tok(rp).start))

    def optimum(self, o, us, var, lp, body, rp):
        g = self.tok(o)
        name = self.bound_name(var, f"{g.value} needs a variable as its subscript")
        return _cat((str(g.value) + "(", g.start), _inner(body), (", ", var.start), name, (")", self.tok(rp).start))

    def bound_name(self, p: Piece, msg: str) -> Piece:
        if "name" not in p.info:
            raise self.fail(msg, p)
        return p

    def range(self, lb, name_t, rel, lo, rb):
        if str(self.tok(rel).value) != "=":
            raise self.fail("a range is written i=1", rel)
        return (self.name(name_t), lo)

    def bigop(self, op, us, rng, caret, hi, lp, body, rp):
        return self.big(op, rng, hi, body, rp)

    def bigop_rev(self, op, caret, hi, us, rng, lp, body, rp):
        return self.big(op, rng, hi, body, rp)

    def big(self, op, rng, hi, body, rp):
        g = self.tok(op)
        var, lo = rng
        return _cat((f"{g.value}(", g.start), _inner(body), (", ", var.start), var, (", ", lo.start), lo,
                    (", ", hi.start), hi, (")", self.tok(rp).start))

    def bigop_open(self, op, us, sub, lp, body, rp):
        return self.weighted_sum(op, sub.info.get("name"), body, rp)

    def bigop_bare(self, op, lp, body, rp):
        return self.weighted_sum(op, None, body, rp)

    def weighted_sum(self, op, var, body, rp):
        """`\\sum_z q(z|x) [...]`, or `\\sum q(z) [...]` with no index: the sum over the values of z weighted by its own
        density q is E[z ~ q](...). Any other sum without a range is not read."""
        g = self.tok(op)
        first = body.info.get("first") or (body if "call" in body.info else None)
        args = first.info.get("args") if first is not None else None
        if g.value == "sum" and args and len(args) == 1 and "name" in args[0].info and \
                self.tr.names.is_distribution_name(first.info["call"]) and args[0].text == (var or args[0].text):
            var = args[0].text
            rest = _p("1", first.start) if first is body else Piece(body.parts[body.info["nfirst"] + 1:])
            return _cat((f"E[{var} ~ {first.info['call']}](", g.start), rest, (")", self.tok(rp).start))
        if g.value == "sum" and var is not None:
            for call, k, n in body.info.get("calls", []):
                args = call.info.get("args")
                if args and len(args) == 1 and args[0].text == var and self.tr.names.is_distribution_name(call.info["call"]):
                    # the weight later in the product: the factors before it and after it, joined by an explicit
                    # product sign (`r \, p(z) (z + 1)` must not become the call r(z + 1))
                    before, after = body.parts[:k - 1], body.parts[k + n + 1:]
                    rest = Piece(before + [(" * ", body.parts[k + n][1])] + after if after else before)
                    return _cat((f"E[{var} ~ {call.info['call']}](", g.start), rest, (")", self.tok(rp).start))
        raise self.fail(f"this \\{self.tok(op).value} has no range: write \\{self.tok(op).value}_{{i=1}}^{{N}}", op)

    def integral(self, i, lp, body, rp, d):
        return self.make_integral(i, body, d, None, None)

    def integral_sub(self, i, us, sub, lp, body, rp, d):
        var = str(self.tok(d).value)
        if sub.info.get("name") == var or sub.text == var:
            return self.make_integral(i, body, d, None, None)
        if sub.text == "(-oo)" or sub.text == "-oo":
            raise self.fail("this integral has a lower limit but no upper one", i)
        raise self.fail("a subscript on \\int is the variable (\\int_x f dx) or a lower limit with an "
                        "upper one (\\int_a^b f dx)", i)

    def integral_limits(self, i, us, lo, caret, hi, lp, body, rp, d):
        return self.make_integral(i, body, d, lo, hi)

    def integral_limits_rev(self, i, caret, hi, us, lo, lp, body, rp, d):
        return self.make_integral(i, body, d, lo, hi)

    def make_integral(self, i, body, d, lo, hi):
        g, dg = self.tok(i), self.tok(d)
        var = _p(str(dg.value), dg.start)
        body = self.density_arguments(body, str(dg.value))
        if lo is None or (lo.text.replace(" ", "") in ("-oo", "(-oo)") and hi.text.replace(" ", "") in ("oo", "+oo")):
            return _cat(("integral(", g.start), _inner(body), (", ", dg.start), var, (")", dg.end))
        return _cat(("integral(", g.start), _inner(body), (", ", dg.start), var, (", ", lo.start), lo, (", ", hi.start), hi,
                    (")", dg.end))

    def density_arguments(self, body: Piece, var: str) -> Piece:
        """`\\int P_{data} \\log \\frac{P_{data}(x)}{...} dx`: a declared density written without its argument in an
        integrand over x where it is also written applied to x is that density at x (seed 001, line 232)."""
        parts = body.parts
        names = {t for t, _ in parts if self.tr.names.symbols.get(t) == "density"}
        applied = {n for n in names if f"{n}({var})" in body.text.replace(" ", "")}
        if not applied:
            return body
        out: list[tuple[str, int]] = []
        for k, (t, off) in enumerate(parts):
            out.append((t, off))
            if t in applied and not (k + 1 < len(parts) and parts[k + 1][0].startswith("(")):
                out.append((f"({var})", off + len(t)))
        return Piece(out, body.level, body.info)

    def limit(self, lim, us, lb, name_t, arrow, to, rb, lp, body, rp):
        g = self.tok(lim)
        var = self.name(name_t)
        return _cat(("limit(", g.start), _inner(body), (", ", var.start), var, (", ", to.start), to,
                    (")", self.tok(rp).start))

    def derivative(self, d, lp, body, rp):
        g = self.tok(d)
        var, order = g.value
        if not self.tr.names.known(var) and var not in self.tr.bound:
            raise self.undeclared(GrammarToken("NAME", var, g.start, g.end, {"latex": self.tr.latex(g.start, g.end)}))
        if order == 1 and self.tr.names.symbols.get(var) == "vector" and var not in self.tr.bound:
            # `\frac{\partial L}{\partial \boldsymbol{w}}` for the key's vector w: the gradient (a column like w)
            return _cat(("grad(", g.start), _inner(body), (f", {var}", g.start), (")", self.tok(rp).start))
        tail = f", {order})" if order > 1 else ")"
        return _cat(("diff(", g.start), _inner(body), (f", {var}", g.start), (tail, self.tok(rp).start))

    def nabla(self, n, us, var, lp, body, rp):
        g = self.tok(n)
        self.bound_name(var, "\\nabla needs a name as its subscript: \\nabla_w f")
        return _cat(("grad(", g.start), _inner(body), (", ", var.start), var, (")", self.tok(rp).start))

    # -- probability
    def distribution(self, p: Piece) -> Piece:
        """`q(z|x)` -> `q` when q stands for a distribution (a declared density or a definition)."""
        callee = p.info.get("call")
        if callee and self.tr.names.is_distribution_name(callee):
            return _p(callee, p.start, info={"name": callee})
        return p

    def binding(self, name_t, sim, dist):
        return _cat(self.name(name_t), (" ~ ", self.tok(sim).start), self.distribution(dist))

    def bindings(self, *items):
        return [x for x in items if isinstance(x, Piece)]

    def as_kl(self, g, var: str, dist: str, body: Piece) -> Piece | None:
        """`E_{z \\sim q}[\\log \\frac{q(z)}{p(z)}]` is KL(q || p) by definition (read so: a multivariate density has
        no pdf the checker can integrate, its KL it knows)."""
        m = _KL_BODY.fullmatch(_inner(body).text.replace(" ", ""))
        if g.value != "E" or m is None or m.group(1) != dist or m.group(2) != var or m.group(4) != var or \
                m.group(3) == dist:
            return None
        return _p(f"KL({dist} || {m.group(3)})", g.start)

    def expectation(self, e, us, lb, bindings, rb, lp, body, rp):
        g = self.tok(e)
        one = bindings[0].text.replace(" ", "").split("~") if len(bindings) == 1 else []
        kl = self.as_kl(g, one[0], one[1], body) if len(one) == 2 else None
        if kl is not None:
            return kl
        return _cat((f"{g.value}[", g.start), self.join_plain(bindings, g.start), ("](", self.tok(rb).start),
                    _inner(body), (")", self.tok(rp).start))

    def expectation_under(self, e, us, sub, lp, body, rp):
        g = self.tok(e)
        callee, args = sub.info.get("call"), sub.info.get("args") or []
        name = sub.info.get("name")
        if name and not callee:
            # \mathbb{E}_q[... q(z) ...]: the variable is what q is applied to in the body
            found = set(re.findall(rf"(?<![A-Za-z0-9_]){re.escape(name)}\(([A-Za-z][A-Za-z0-9_]*)[,)]", body.text))
            # a defined distribution's density is written `pdf(q, z)` by then
            found |= set(re.findall(rf"\bpdf\({re.escape(name)}, ([A-Za-z][A-Za-z0-9_]*)\)", body.text))
            if not found and self.tr.names.density_variable(name):
                found = {self.tr.names.density_variable(name)}  # the key's `densities:` make q a density of z
            if not found and self.tr.names.expectation_vars.get(name):
                # `E_q[...]` without `q(z)` in its body, in a formula whose other `E_q[... q(z) ...]` names z
                found = {self.tr.names.expectation_vars[name]}
            if len(found) == 1:
                var = found.pop()
                self.tr.expectations[name] = var if self.tr.expectations.get(name, var) == var else ""
                kl = self.as_kl(g, var, name, body)
                if kl is not None:
                    return kl
                head = _cat((f"{g.value}[{var} ~ {name}](", g.start))
                return _cat(head, _inner(body), (")", self.tok(rp).start))
        if name and not callee and self.tr.names.laws.get(name):
            # \mathbb{E}_R[...] over a variable whose law the key states (`E[R ~ Bernoulli(p)](...)`)
            head = _cat((f"{g.value}[", g.start), sub, (f" ~ {self.tr.names.laws[name]}](", sub.start))
            return _cat(head, _inner(body), (")", self.tok(rp).start))
        if callee and self.tr.names.is_distribution_name(callee) and args and "name" in args[0].info:
            head = _cat((f"{g.value}[", g.start), args[0], (" ~ ", sub.start), (callee, sub.start),
                        ("](", self.tok(lp).start))
            return _cat(head, _inner(body), (")", self.tok(rp).start))
        raise self.fail(f"name the random variable: \\mathbb{{{g.value}}}_{{z \\sim q}}[...] (or map "
                        f"`{self.tr.latex(g.start, sub.parts[-1][1] + 1)}` under latex_names)", e)

    def expectation_bare(self, e, lp, body, rp):
        g = self.tok(e)
        # `E[S^T S]` where S is the only variable of the body with a law stated for it (`Let $S \sim N(0, I_k)$` on the
        # sheet, or the key's own E[S ~ ...]): the expectation over S with that law
        laws = self.tr.names.laws
        used = {n for n in re.findall(r"(?<![A-Za-z0-9_^])([A-Za-z][A-Za-z0-9_]*)(?![A-Za-z0-9_(])", body.text)
                if laws.get(n)}
        if len(used) == 1:
            var = used.pop()
            return _cat((f"{g.value}[{var} ~ {laws[var]}](", g.start), _inner(body), (")", self.tok(rp).start))
        raise self.fail("an expectation needs its distribution: \\mathbb{E}_{z \\sim q}[...]", e)

    def expectation_raw(self, e, lp, body, rp):
        g = self.tok(e)
        return _cat((str(g.value).strip(), g.start), ("(", self.tok(lp).start), _inner(body), (")", self.tok(rp).start))

    def divergence(self, d, lp, p, sep, q, rp):
        g = self.tok(d)
        return _cat((f"{g.value}(", g.start), self.distribution(p), (" || ", self.tok(sep).start), self.distribution(q),
                    (")", self.tok(rp).start))

    # -- arithmetic
    def add(self, a, op, b):
        return _cat(a, (" + ", self.tok(op).start), _wrap(b) if b.level == SUM else b, level=SUM)

    def sub(self, a, op, b):
        return _cat(a, (" - ", self.tok(op).start), _wrap(b) if b.level == SUM else b, level=SUM)

    def plus_minus(self, *args):
        raise self.fail("± stands for two values: write the two cases as separate formulas",
                        next(x for x in args if isinstance(x, Token)))

    plus_minus1 = plus_minus

    def mul(self, a, op, b):
        a2, b2 = _wrap(a) if a.level == SUM else a, _wrap(b) if b.level == SUM else b
        return _cat(a2, (" * ", self.tok(op).start), b2, level=PROD, info=_first_factor(a2, b2))

    def div(self, a, op, b):
        return _cat(_wrap(a) if a.level == SUM else a, ("/", self.tok(op).start),
                    b if b.level >= POW else _wrap(b), level=PROD)

    def odot(self, a, op, b):
        return _cat(_wrap(a) if a.level == SUM else a, (" .* ", self.tok(op).start),
                    b if b.level >= POW else _wrap(b), level=PROD)

    def jux(self, a, b):
        if b.info.get("signed_group"):
            plus = b.info["signed_group"] == "+"
            return _cat(a, (" + " if plus else " ", b.start), _wrap(b) if plus and b.level == SUM else b, level=SUM)
        a2 = _wrap(a) if a.level == SUM else a
        b2 = _wrap(b) if b.level in (SUM, NEG) else b
        at, bt = a2.text, b2.text
        tail = re.search(r"[A-Za-z0-9_.']+$", at)
        explicit = tail is not None and not tail.group()[0].isdigit() and tail.group()[0] != "." and bt[:1] in "(["
        return _cat(a2, (" * " if explicit else " ", b2.start), b2, level=PROD, info=_first_factor(a2, b2))

    def neg(self, op, a):
        return _cat(("-", self.tok(op).start), _wrap(a) if a.level == SUM else a, level=NEG)

    def pos(self, op, a):
        return Piece(a.parts, a.level, {**a.info, "plus": True})

    def pow(self, base, caret, exp):
        if base.info.get("euler"):
            return _cat(("exp(", base.start), exp, (")", exp.parts[-1][1]))
        b = base if base.level == ATOM else _wrap(base)
        simple = exp.level == ATOM or (exp.level == NEG and exp.text[1:2].isalnum() and
                                       _SIMPLE_ASCII.fullmatch(exp.text[1:]))
        e = exp if simple else _wrap(exp)
        return _cat(b, ("^", self.tok(caret).start), e, level=POW)

    def transpose(self, base, t):
        b = base if base.level == ATOM else _wrap(base)
        return _cat(b, ("^T", self.tok(t).start), level=POW)


def _balanced_call(v: str) -> bool:
    m = re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(\[.*\])?\((.*)\)", v, re.S)
    if not m:
        return False
    depth = 0
    rest = v[v.index("("):].rstrip()
    for k, ch in enumerate(rest):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and k < len(rest) - 1:
            return False  # `f(z) / g(z)`: the first call closes before the end, a quotient and not one call
    return depth == 0


_FRIENDLY = {
    "RPAR": "`)`", "LPAR": "`(`", "RBRACE": "`}`", "LBRACE": "`{`", "NAME": "a name", "NUMBER": "a number",
    "PLUS": "`+`", "MINUS": "`-`", "MUL": "`\\cdot`", "DIV": "`/`", "CARET": "`^`", "UNDERSCORE": "`_`",
    "SEP": "`,`", "DIFF": "a differential (dx)", "KLSEP": "`\\|` between the two distributions",
    "NORM_CLOSE": "a closing `\\|`", "ABS_CLOSE": "a closing `|`", "ARROW": "`\\to`", "REL": "`=`",
    "SIM": "`\\sim`", "MATEND": "\\end{...}", "RANGLE": "`\\rangle`", "IDX_CLOSE": "the end of the subscript",
}


def _bare_divergences(tr: Translator, g: list[GrammarToken]) -> list[GrammarToken]:
    """`D_{KL} &= ...` with no distributions after it, in a part whose claim is about one KL (`KL(q || post) = ...`) or
    whose key names the question's KL value (`D_KL := ...`): that divergence (seed 000, line 163). Elsewhere it stays
    an error."""
    claimed = tr.names.divergence
    if claimed is None:
        return g
    out = list(g)
    for i, t in enumerate(g):
        if t.type == "DIVERGENCE" and str(t.value) == claimed.split("(")[0].replace("D_", "") and \
                (i + 1 == len(g) or g[i + 1].type not in ("LPAR", "LBRACK", "IDX_OPEN")):
            out[i] = GrammarToken("RAW", claimed, t.start, t.end, dict(t.info))
    return out


def _parse(tr: Translator, g: list[GrammarToken], end: int) -> Piece:
    """Grammar tokens -> Piece (with errors at their LaTeX position)."""
    if not g:
        raise latex_error("an empty formula", tr.src, end)
    g = _bare_divergences(tr, g)
    tokens = [Token(t.type, t.value if isinstance(t.value, str) else str(t.value), start_pos=i, line=1, column=i + 1,
                    end_pos=i + 1)
              for i, t in enumerate(g)]
    try:
        tree = grammar().parse(tokens)
    except UnexpectedInput as exc:
        tok = getattr(exc, "token", None)
        if tok is None or tok.type == "$END":
            last = g[-1]
            if last.type == "DIVERGENCE":
                raise latex_error(f"{last.value} needs its two distributions: D_{{KL}}(P \\| Q)", tr.src, last.start) from None
            raise latex_error("the formula ends too early", tr.src, end) from None
        bad = g[tok.start_pos]
        text = tr.latex(bad.start, bad.end) or bad.type
        expected = sorted({_FRIENDLY[e] for e in (getattr(exc, "expected", None) or []) if e in _FRIENDLY})
        msg = f"unexpected `{text}`"
        if bad.type == "PRIMES":
            msg = "a prime (f') is only understood on a declared function applied to something: f'(x)"
        elif expected and len(expected) <= 4:
            msg += "; expected " + " or ".join(expected)
        raise latex_error(msg, tr.src, bad.start) from None
    try:
        return _Emit(tr, g).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, ProofcheckError):
            raise exc.orig_exc from None
        raise


def translate_tokens(toks: list[Tok], names: Names, src: Source, where: str, end: int) -> Piece:
    """One expression's LaTeX tokens -> ASCII text (a Piece), through the grammar."""
    tr = Translator(names, src, where)
    g = _powered_dependencies(tr, _model_densities(tr, tr.grammar_tokens(toks)))
    unrelated = _mark_conditioning(g, names)
    if unrelated is not None:
        dist, var, why = unrelated
        raise tr.fail(f"`{dist}(...|...)`: {why}, so this is another density under the same letter (a likelihood or a "
                      f"posterior where the key has a prior); the key would have to model it", var)
    piece = _parse(tr, g, end)
    if tr.expectations:
        piece.info = {**piece.info, "expectations": dict(tr.expectations)}
    return piece


_KEY_CALL = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\(\s*([A-Za-z][A-Za-z0-9_]*)\s*\)")


def _powered_dependencies(tr: Translator, g: list[GrammarToken]) -> list[GrammarToken]:
    r"""`\sigma_Q^2(s, t)` for the key's value `sigma_Q := ...`: the power moves behind the list, so that `call` reads
    `\sigma_Q(s, t)^2` by its rule for `\mu_Q(z_t, x; s, t)` (the list names what the value depends on). Only a list
    with a `,` or `;` in it: `\sigma^2(s)` may be a product."""
    out: list[GrammarToken] = []
    i = 0
    while i < len(g):
        t = g[i]
        # the power: `^2` or `^{2}`
        after = i + 3 if i + 2 < len(g) and g[i + 2].type == "NUMBER" else \
            i + 5 if i + 4 < len(g) and [u.type for u in g[i + 2:i + 5]] == ["LBRACE", "NUMBER", "RBRACE"] else None
        if t.type == "NAME" and tr.names.defines.get(str(t.value), 0) is None and after is not None and \
                g[i + 1].type == "CARET" and after < len(g) and g[after].type == "LPAR":
            close = tr.group_end(g, after)
            if any(u.type == "SEP" and str(u.value) in ",;" for u in tr.top_level(g, after)):
                out += [t, *g[after:close], *g[i + 1:after]]
                i = close
                continue
        out.append(t)
        i += 1
    return out


def _model_densities(tr: Translator, g: list[GrammarToken]) -> list[GrammarToken]:
    r"""`p_\theta(z|x)`, `p(x, z)`, `q_\phi(Z|X)` by the key's `densities:` table: the notation of one letter for the
    model's several densities, matched by what it is a density of and conditioned on. The key's `q(z)` (or a
    distribution's name, `q_Q`, applied to the sheet's variable) becomes the tokens of `q(z)` (so `\mathbb{E}_{q(z|x)}` and `\sum_z q(z|x)` read as they do for q), any other text one RAW
    token. A letter of the table applied to anything the table does not list is not read: reading it as another of
    the letter's densities could prove `\log p(x|z) = \log p(z|x)`."""
    table = tr.names.densities
    if not table:
        return g
    out: list[GrammarToken] = []
    i = 0
    while i < len(g):
        t = g[i]
        # not `\mathbb{E}_q[...]` (a subscript, then the bracket of the body)
        letter = tr.names.density_letter([str(t.value), *t.info.get("candidates", [])]) \
            if t.type == "NAME" and i + 1 < len(g) and g[i + 1].type == "LPAR" and \
            not g[i + 1].info.get("bracket") and not (i and g[i - 1].type == "UNDERSCORE") else None
        if letter is None:
            out.append(t)
            i += 1
            continue
        close = tr.group_end(g, i + 1) - 1
        inner = g[i + 2:close]
        of: list[str] = []
        given: list[str] = []
        ok = len(inner) % 2 == 1
        for k, u in enumerate(inner):
            if k % 2 == 0:
                ok = ok and u.type == "NAME"
                (given if given or (k and str(inner[k - 1].value) == "|") else of).append(str(u.value).lower())
            else:
                ok = ok and u.type == "SEP" and not (given and str(u.value) == "|")
        entry = next((text for a, b, text in table[letter] if ok and a == set(of) and b == set(given)), None)
        if entry is None:
            written = tr.latex(t.start, g[close].end)
            listed = ", ".join(f"{letter}({', '.join(sorted(a))}{' | ' + ', '.join(sorted(b)) if b else ''})"
                               for a, b, _ in table[letter])
            raise tr.fail(f"`{written}` is none of the densities the key writes with {letter}: {listed}", t)
        m = _KEY_CALL.fullmatch(entry)
        if m is None and len(of) == 1 and (entry in tr.names.distributions or tr.names.symbols.get(entry) == "density"):
            # `q(z_s | z_t, x): q_Q` with `q_Q := Normal(...)`: the distribution's density at the sheet's variable
            m = _KEY_CALL.fullmatch(f"{entry}({inner[0].value})")
        if m is not None:
            out += [GrammarToken("NAME", m.group(1), t.start, t.end, {"latex": t.info.get("latex", str(t.value))}),
                    g[i + 1], GrammarToken("NAME", m.group(2), inner[0].start, inner[-1].end, {"latex": m.group(2)}),
                    g[close]]
        else:
            out.append(GrammarToken("RAW", entry, t.start, g[close].end, {"latex": tr.latex(t.start, g[close].end)}))
        i = close + 1
    return out


def _mark_conditioning(g: list[GrammarToken], names: Names) -> tuple[str, GrammarToken, str] | None:
    r"""The names after the bar of `q(z|\mu)` with q a distribution the key defines: what q is conditioned on, which
    the key's q already fixes (`\mathbb{E}_{q(z|x)}` is E under q); they need not be declared themselves.

    Not when the letter is another density: `P(x|z)` for the key's prior P of z (the key applies P to z only), or, when
    the key never says what P is a law of, conditioned on a declared variable P's definition does not mention. Read as
    P, `\log P(x|z) - \log P(x)` would be zero. Such an application is returned (distribution, token, why) for an
    error."""
    for i, t in enumerate(g[:-2]):
        if t.type != "NAME" or str(t.value) not in names.distributions or g[i + 1].type != "LPAR":
            continue
        dist = str(t.value)
        bar = next((k for k, u in enumerate(g[i + 2:], i + 2) if u.type in ("SEP", "RPAR")), None)
        first = g[i + 2] if bar == i + 3 and g[i + 2].type == "NAME" else None
        if bar is not None and g[bar].type == "SEP" and str(g[bar].value) == "|" and first is not None and \
                names.variates.get(dist) and str(first.value) not in names.variates[dist] | {"·"}:
            return dist, first, (f"the key's {dist} is a law of {', '.join(sorted(names.variates[dist]))}, not of "
                                 f"{first.value}")
        depth, after = 0, False
        for u in g[i + 1:]:
            if u.type == "LPAR":
                depth += 1
            elif u.type == "RPAR":
                depth -= 1
                if depth == 0:
                    break
            elif depth == 1 and u.type == "SEP" and str(u.value) == "|":
                after = True
            elif after and u.type == "NAME":
                value = names.define_values.get(dist, "")
                if names.symbols.get(str(u.value)) and \
                        not re.search(rf"(?<![A-Za-z0-9_]){re.escape(str(u.value))}(?![A-Za-z0-9_])", value):
                    return dist, u, f"the key's {dist} does not depend on {u.value}"
                u.info["conditioning"] = True
    return None
