"""Formulas as their author wrote them, for display: the lark tree, printed as text, MathML and LaTeX.

The verifier checks SymPy objects, and SymPy rewrites what it builds (`p - p^2` becomes
`-p^2 + p`, defined names are expanded, bound variables become dummies). Reports show the
author's formula instead: the parse tree turned into a small tree of `W` nodes (same term order,
same names, same bound variables, the author's parentheses) and printed by the three printers
here. Display only: nothing here is ever given to the kernel.

The only reading the tree needs from the declarations is the one the checker makes: whether
`a (b)` and `a [b]` are calls (a declared function, a matrix entry) or products, since a product
written that way binds like the checker reads it (`1/p (q + 1)` is (1/p)(q + 1), `p^z (1 - p)` is
p^z (1 - p)); see parse.ExprBuilder.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import sympy as sp
from lark import Transformer, v_args

from proofcheck.model import Text

# Built-in functions written name(x) and typeset as an upright name with parentheses.
LATEX_FUNCTIONS = {"exp": r"\exp", "log": r"\log", "ln": r"\ln", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan",
                   "tanh": r"\tanh", "sinh": r"\sinh", "cosh": r"\cosh", "atan": r"\arctan", "asin": r"\arcsin",
                   "acos": r"\arccos", "min": r"\min", "max": r"\max", "det": r"\det"}
MATHML_FUNCTIONS = {"atan": "arctan", "asin": "arcsin", "acos": "arccos"}
OPTIMA = {"argmax": ("arg\u2009max", r"\operatorname*{arg\,max}"),
          "argmin": ("arg\u2009min", r"\operatorname*{arg\,min}"),
          "maximum": ("max", r"\max"), "minimum": ("min", r"\min")}
CONSTANTS = {"pi": ("\u03c0", r"\pi"), "oo": ("\u221e", r"\infty"), "I": ("i", "i")}
DISTRIBUTIONS = {"Normal": ("\U0001d4a9", r"\mathcal{N}")}
INTEGRAL, NABLA = "\u222b", "\u2207"
SUMS = {"sum": ("\u2211", r"\sum"), "prod": ("\u220f", r"\prod")}


@dataclass(frozen=True)
class W:
    """One node of a formula as written: a kind, its children (W nodes) and its own text (a name,
    a number, an operator); `tight` marks an operator written without spaces."""

    kind: str
    args: tuple = ()
    text: str = ""
    tight: bool = False
    open: bool = field(default=False, compare=False)  # `a (b)` product: a power or / takes its right factor
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)


def _closed(w: W) -> W:
    return W(w.kind, w.args, w.text, w.tight, False, w.start, w.end) if w.open else w


def _named(scope, name: str) -> str:
    """How the checker reads `name(...)`: 'call' (a function) or 'product'."""
    from proofcheck.parse import SIMPLE_FUNCTIONS, ExprBuilder
    if name in SIMPLE_FUNCTIONS or name in ("min", "max") or name in scope.functions:
        return "call"
    if hasattr(ExprBuilder, "call_" + name) and name not in scope.symbols:
        return "call"
    info = scope.symbols.get(name)
    if info is not None and info.kind in ("function", "density"):
        return "call"
    if info is not None or name in scope.values or name in CONSTANTS:
        return "product"
    return "call"  # undeclared: the checker refuses it; show it as written


@v_args(inline=True, meta=True)
class _Builder(Transformer):
    """Lark tree -> W nodes."""

    def __init__(self, scope, src: str, entries: frozenset = frozenset()):
        super().__init__()
        self.scope, self.src = scope, src
        self.entries = entries  # (start, end) of the `head[i, j]` the checker reads as matrix entries

    def _w(self, meta, kind, args=(), text="", tight=False, open_=False) -> W:
        start = getattr(meta, "start_pos", 0) if not getattr(meta, "empty", True) else 0
        end = getattr(meta, "end_pos", 0) if not getattr(meta, "empty", True) else 0
        return W(kind, tuple(args), text, tight, open_, start or 0, end or 0)

    def _tight(self, a: W, b: W) -> bool:
        gap = self.src[a.end:b.start] if a.end and b.start >= a.end else " "
        return not any(ch.isspace() for ch in gap)

    def _binary(self, meta, kind, a, b, text=""):
        a, b = _closed(a), _closed(b)
        return self._w(meta, kind, (a, b), text, self._tight(a, b))

    # -- atoms
    def number(self, meta, tok):
        return self._w(meta, "num", text=str(tok))

    def name(self, meta, tok):
        name = str(tok)
        if name in CONSTANTS and name not in self.scope.symbols:
            return self._w(meta, "const", text=name)
        info = self.scope.symbols.get(name)
        if name in self.scope.functions or (info is not None and info.kind in ("function", "density")):
            return self._w(meta, "fn", text=name)  # a density as a distribution: KL(q || p)
        return self._w(meta, "name", text=name)

    # -- arithmetic
    def add(self, meta, a, b):
        return self._binary(meta, "add", a, b)

    def sub(self, meta, a, b):
        return self._binary(meta, "sub", a, b)

    def mul(self, meta, a, b):
        return self._binary(meta, "mul", a, b)

    def jux(self, meta, a, b):
        return self._binary(meta, "jux", a, b)

    def elemwise(self, meta, a, _tok, b):
        return self._binary(meta, "elemwise", a, b)

    def div(self, meta, a, b):
        if b.open:  # 1/p (q + 1) is (1/p) (q + 1), as the checker reads it
            left, right = b.args
            quotient = W("div", (_closed(a), left), "", self._tight(a, left), False, a.start, left.end)
            return self._w(meta, "jux", (quotient, right), tight=b.tight)
        return self._binary(meta, "div", a, b)

    def neg(self, meta, a):
        return self._w(meta, "neg", (_closed(a),))

    def pow(self, meta, base, exp):
        return self._pow(base, exp, "**" if "**" in self.src[base.end:exp.start] else "^")

    def _pow(self, base: W, exp: W, op: str) -> W:
        if base.open:  # p (q + 1)^2 is p (q + 1)^2: the power belongs to the right factor
            left, right = base.args
            return W("jux", (left, self._pow(right, exp, op)), "", base.tight, True, base.start, exp.end)
        if exp.open:  # p^z (1 - p) is p^z (1 - p)
            left, right = exp.args
            return W("jux", (self._pow(base, left, op), right), "", exp.tight, True, base.start, exp.end)
        return W("pow", (base, exp), op, False, False, base.start, exp.end)

    def transpose(self, meta, base, _tok):
        if base.open:
            left, right = base.args
            return self._w(meta, "jux", (left, W("transpose", (right,), "", False, False, right.start, right.end)),
                           tight=base.tight, open_=True)
        return self._w(meta, "transpose", (base,))

    # -- brackets
    def group(self, meta, x):
        return self._w(meta, "group", (_closed(x),))

    def bracket(self, meta, args):
        return self._w(meta, "bracket", args)

    def set_literal(self, meta, args):
        return self._w(meta, "set", args)

    def norm(self, meta, _open, x, _close):
        return self._w(meta, "norm", (_closed(x),))

    def abs_bars(self, meta, _open, x, _close):
        return self._w(meta, "abs", (_closed(x),))

    def inner(self, meta, _open, u, v, _close):
        return self._w(meta, "inner", (_closed(u), _closed(v)))

    def args(self, meta, *items):
        return tuple(_closed(i) for i in items)

    def kwarg(self, meta, name, value):
        return self._w(meta, "kwarg", (_closed(value),), str(name))

    def one_side(self, meta, value, side):
        return self._w(meta, "side", (_closed(value),), str(side))

    def bindings(self, meta, *items):
        return tuple(items)

    def binding(self, meta, name, dist):
        return self._w(meta, "binding", (_closed(dist),), str(name))

    # -- calls
    def call(self, meta, name_tok, args):
        name, items = str(name_tok), args or ()
        if len(items) == 1 and _named(self.scope, name) == "product":  # `a (b)`: a product
            head = W("const" if name in CONSTANTS else "name", (), name, False, False,
                     name_tok.start_pos, name_tok.end_pos)
            paren = W("group", items, "", False, False, name_tok.end_pos, meta.end_pos)
            tight = not self.src[name_tok.end_pos:meta.end_pos][:1].isspace()
            return self._w(meta, "jux", (head, paren), tight=tight, open_=True)
        return self._w(meta, "call", items, name)

    def call_index(self, meta, name_tok, call_args, args):
        head_end = self.src.rfind(")", 0, self.src.rfind("[", 0, args[0].start)) + 1
        head = self.call(_Span(meta.start_pos, head_end), name_tok, call_args)
        return self._indexed(meta, head, args)

    def group_index(self, meta, x, args):
        head_end = self.src.rfind(")", 0, self.src.rfind("[", 0, args[0].start)) + 1
        return self._indexed(meta, W("group", (_closed(x),), "", False, False, meta.start_pos, head_end), args)

    def _indexed(self, meta, head: W, args) -> W:
        """`inv(M)[1, 1]`: an entry where the checker reads one, else the head times a bracket."""
        open_at = self.src.rfind("[", 0, args[0].start)
        tight = not any(ch.isspace() for ch in self.src[head.end:open_at])
        if (meta.start_pos, meta.end_pos) in self.entries:
            return self._w(meta, "entry", (_closed(head), *args), tight=tight)
        bracket = W("bracket", args, "", False, False, open_at, meta.end_pos)
        return self._w(meta, "jux", (_closed(head), bracket), tight=tight, open_=True)

    def prime_call(self, meta, name_tok, primes, args):
        return self._w(meta, "prime", args, str(name_tok) + str(primes))

    def index(self, meta, name_tok, args):
        name = str(name_tok)
        info = self.scope.symbols.get(name)
        if info is not None and info.kind == "matrix":
            return self._w(meta, "index", args, name)
        head = W("name", (), name, False, False, name_tok.start_pos, name_tok.end_pos)
        bracket = W("bracket", args, "", False, False, name_tok.end_pos, meta.end_pos)
        tight = not self.src[name_tok.end_pos:meta.end_pos][:1].isspace()
        return self._w(meta, "jux", (head, bracket), tight=tight, open_=True)

    def dderiv(self, meta, tok, expr):
        return self._w(meta, "dderiv", (W("name", (), str(tok)[3:]), _closed(expr)))

    def expectation(self, meta, tok, bindings, expr):
        return self._w(meta, "expect", (*bindings, _closed(expr)), str(tok))

    def divergence(self, meta, tok, p, _sep, q):
        return self._w(meta, "divergence", (_closed(p), _closed(q)), str(tok))

    def relation(self, meta, lhs, op, rhs):
        return self._w(meta, "rel", (_closed(lhs), _closed(rhs)), str(op))


@dataclass(frozen=True)
class _Span:
    """The positions of a part of a node (the call in `inv(M)[1, 1]`), as lark's meta gives them."""

    start_pos: int
    end_pos: int
    empty: bool = False


def _build(tree, scope, text: Text) -> W:
    from proofcheck.parse import mark_inner_products, reads_as_entry
    entries = frozenset((t.meta.start_pos, t.meta.end_pos) for t in tree.iter_subtrees()
                        if t.data in ("call_index", "group_index") and reads_as_entry(t, text, scope))
    return _closed(_Builder(scope, mark_inner_products(text.text), entries).transform(tree))


def _tree(text: Text, start: str):
    from proofcheck.parse import parse_tree
    return parse_tree(text, start)


def line(text: Text, scope) -> W:
    """The first line of a chain as written (an expression or a relation)."""
    return _build(_tree(text, "start_line").children[0], scope, text)


def step(text: Text, scope) -> W:
    """A step's formula as written, without its relation and rule."""
    tree = _tree(text, "step_line")
    return _build(tree.children[1], scope, text)


def claim(text: Text, scope) -> W:
    """A claim as written: a relation, or `relation ==> relation`."""
    tree = _tree(text, "claim")
    if tree.data == "claim_relation":
        return _build(tree.children[0], scope, text)
    p, op, q = tree.children
    return W("implies", (_build(p, scope, text), _build(q, scope, text)), str(op))


def given(text: Text, scope) -> W:
    """A hypothesis as written (one relation)."""
    return _build(_tree(text, "given").children[0], scope, text)


# ---------------------------------------------------------------------------------------------
# One walk for the three printers


def _starts_with_digit(w: W) -> bool:
    while w.kind in ("jux", "mul", "div", "pow", "elemwise", "transpose", "side") and w.args:
        w = w.args[0]
    return w.kind == "num"


def _strip(w: W) -> W:
    """Without the author's parentheses, where the typesetting groups anyway (a fraction, an exponent)."""
    return w.args[0] if w.kind == "group" and len(w.args) == 1 else w


def _loose(w: W) -> bool:
    """A body that needs parentheses after an operator written in front (d/dx, sum, lim, max_x)."""
    return w.kind in ("add", "sub", "neg", "rel")


def _is_builtin(name: str) -> bool:
    from proofcheck.parse import RESERVED
    return name in RESERVED


# How many arguments a built-in takes for the typesetters to write it as mathematics (sqrt(x) as a root);
# any other count is written as a plain call.
_ARITY = {"sqrt": (1,), "abs": (1,), "norm": (1,), "conj": (1,), "inv": (1,), "transpose": (1,), "eye": (1,),
          "diff": (2, 3), "integral": (2, 4), "sum": (4,), "prod": (4,), "limit": (3,), "grad": (2,),
          "hessian": (2,), "argmax": (2,), "argmin": (2,), "maximum": (2,), "minimum": (2,)}


def _typeset_call(name: str, args) -> bool:
    """Whether a call is a built-in the typesetters write as mathematics (not `f(a = 1)`, not the wrong count)."""
    if not _is_builtin(name) or any(a.kind == "kwarg" for a in args[:1]):
        return False
    return len(args) >= 2 if name == "subs" else len(args) in _ARITY.get(name, (len(args),))


class _Printer:
    """The walk over a W tree shared by the text, LaTeX and MathML printers: each node kind's shape is
    written here once, and a printer gives its marks (names, parentheses, an operator between two
    terms, a subscript, a call's head) and the constructs it writes its own way."""

    COMMA = ", "
    OPS: dict[str, str] = {}  # the operator between two terms, by node kind ("dot": a product shown with a dot)
    SET = ("{", "}")
    SIM = "~"

    def __call__(self, w: W) -> str:
        return getattr(self, "_" + w.kind)(w)

    def items(self, items, sep: str | None = None) -> str:
        return (self.COMMA if sep is None else sep).join(self(i) for i in items)

    def body(self, w: W) -> str:
        return self.paren(self(w)) if _loose(w) else self(w)

    def binary(self, w: W, kind: str) -> str:
        return self.infix(self(w.args[0]), self.OPS[kind], self(w.args[1]))

    def prefix(self, op: str, x: str) -> str:
        return op + x

    def _num(self, w):
        return w.text

    def _name(self, w):
        return self.name(w.text)

    def _fn(self, w):
        return self.fname(w.text)

    def _add(self, w):
        return self.binary(w, "add")

    def _sub(self, w):
        return self.binary(w, "sub")

    def _mul(self, w):
        return self.binary(w, "mul")

    def _elemwise(self, w):
        return self.binary(w, "elemwise")

    def _jux(self, w):
        return self.binary(w, "dot" if _starts_with_digit(w.args[1]) else "jux")

    def _neg(self, w):
        return self.prefix("-", self(w.args[0]))

    def _group(self, w):
        return self.paren(self.items(w.args))

    def _bracket(self, w):
        a = w.args
        if a and all(i.kind == "bracket" for i in a):
            return self.matrix([[self(x) for x in r.args] for r in a])
        if len(a) > 1:
            return self.matrix([[self(x)] for x in a])
        return self.paren(self.items(a), "[", "]")

    def _set(self, w):
        return self.paren(self.items(w.args), *self.SET)

    def _norm(self, w):
        return self.norm(self(w.args[0]))

    def _abs(self, w):
        return self.paren(self(w.args[0]), "|", "|")

    def _inner(self, w):
        return self.angled(self.items(w.args))

    def _index(self, w):
        return self.subscript(self.name(w.text), self.items(w.args))

    def _entry(self, w):
        head = w.args[0]
        inner = self.items(head.args) if head.kind == "group" else self(head)
        return self.subscript(self.paren(inner), self.items(w.args[1:]))

    def _kwarg(self, w):
        return self.infix(self.name(w.text), "=", self(w.args[0]))

    def _binding(self, w):
        return self.infix(self.name(w.text), self.SIM, self(w.args[0]))

    def _rel(self, w):
        return self.infix(self(w.args[0]), self.relation(w.text), self(w.args[1]))

    def _implies(self, w):
        return self._rel(w)

    def _call(self, w):
        if _typeset_call(w.text, w.args) and hasattr(self, "_call_" + w.text):
            return getattr(self, "_call_" + w.text)(w.args)
        return self.call(w.text, w.args)

    def _call_abs(self, a):
        return self.paren(self(a[0]), "|", "|")

    def _call_norm(self, a):
        return self.norm(self(a[0]))

    def _call_sum(self, a):
        return self._sum(a, "sum")

    def _call_prod(self, a):
        return self._sum(a, "prod")

    def _call_argmax(self, a):
        return self._optimum(a, "argmax")

    def _call_argmin(self, a):
        return self._optimum(a, "argmin")

    def _call_maximum(self, a):
        return self._optimum(a, "maximum")

    def _call_minimum(self, a):
        return self._optimum(a, "minimum")


# ---------------------------------------------------------------------------------------------
# Text


class _Text(_Printer):
    """The formula on one line as written: every call as a call, operators spaced as the author spaced them."""

    OPS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "elemwise": ".*", "jux": "", "dot": ""}

    def name(self, name: str) -> str:
        return name

    fname = name

    def relation(self, op: str) -> str:
        return op

    def paren(self, inner: str, left: str = "(", right: str = ")") -> str:
        return left + inner + right

    def infix(self, a: str, op: str, b: str) -> str:
        return f"{a} {op} {b}"

    def binary(self, w, kind):
        op = self.OPS[kind]
        gap = op if w.tight else f" {op} " if op else " "
        return f"{self(w.args[0])}{gap}{self(w.args[1])}"

    def norm(self, x: str) -> str:
        return f"||{x}||"

    def angled(self, inner: str) -> str:
        return f"<{inner}>"

    def subscript(self, base: str, sub: str) -> str:
        return f"{base}[{sub}]"

    def call(self, name: str, args) -> str:
        return f"{name}({self.items(args)})"

    def _call(self, w):
        return self.call(w.text, w.args)

    def _const(self, w):
        return w.text

    def _div(self, w):
        return self.binary(w, "div")

    def _pow(self, w):
        return f"{self(w.args[0])}{w.text}{self(w.args[1])}"

    def _transpose(self, w):
        return self(w.args[0]) + "^T"

    def _bracket(self, w):
        return self.paren(self.items(w.args), "[", "]")

    def _entry(self, w):
        return f"{self(w.args[0])}{'' if w.tight else ' '}[{self.items(w.args[1:])}]"

    def _side(self, w):
        return self(w.args[0]) + w.text

    def _prime(self, w):
        return self.call(w.text, w.args)

    def _dderiv(self, w):
        return f"d/d{w.args[0].text}({self(w.args[1])})"

    def _expect(self, w):
        return f"{w.text}[{self.items(w.args[:-1])}]({self(w.args[-1])})"

    def _divergence(self, w):
        return f"{w.text}({self(w.args[0])} || {self(w.args[1])})"


def text(w: W) -> str:
    """The formula on one line, as written (spacing of operators kept, whitespace normalised)."""
    return _Text()(w)


# ---------------------------------------------------------------------------------------------
# LaTeX


class _Latex(_Printer):
    OPS = {"add": "+", "sub": "-", "mul": r"\cdot", "elemwise": r"\odot", "jux": "", "dot": r"\cdot"}
    SET = (r"\{", r"\}")
    SIM = r"\sim"

    def __init__(self, symbol_names: dict[str, str] | None = None):
        from proofcheck.report.formula import ProofcheckLatexPrinter
        names = {sp.Symbol(k): v for k, v in (symbol_names or {}).items()}
        self.printer = ProofcheckLatexPrinter({"symbol_names": names} if names else None)

    def name(self, name: str) -> str:
        return self.printer._print(sp.Symbol(name))

    def fname(self, name: str) -> str:
        if sp.Symbol(name) in self.printer._settings["symbol_names"]:
            return self.name(name)
        return self.printer._hprint_Function(name)

    def relation(self, op: str) -> str:
        from proofcheck.report.formula import LATEX_OPS
        return LATEX_OPS.get(op, op)

    def paren(self, inner: str, left: str = "(", right: str = ")") -> str:
        return rf"\left{left}{inner}\right{right}"

    def infix(self, a: str, op: str, b: str) -> str:
        return f"{a} {op} {b}" if op else f"{a} {b}"

    def norm(self, x: str) -> str:
        return rf"\left\lVert {x} \right\rVert"

    def angled(self, inner: str) -> str:
        return rf"\left\langle {inner} \right\rangle"

    def subscript(self, base: str, sub: str) -> str:
        return f"{{{base}}}_{{{sub}}}" if "_" in base or "^" in base else f"{base}_{{{sub}}}"

    def matrix(self, rows) -> str:
        body = r" \\ ".join(" & ".join(r) for r in rows)
        return rf"\left[\begin{{matrix}}{body}\end{{matrix}}\right]"

    def call(self, name: str, args) -> str:
        if name in LATEX_FUNCTIONS:
            head = LATEX_FUNCTIONS[name]
        elif name in DISTRIBUTIONS:
            head = DISTRIBUTIONS[name][1]
        elif _is_builtin(name):
            head = rf"\operatorname{{{name}}}"
        else:
            head = self.fname(name)
        return self.applied(head, self.paren(self.items(args)))

    def applied(self, head: str, args: str) -> str:
        return head + (f"{{{args}}}" if head.startswith("\\") else args)  # no operator space before (

    def _const(self, w):
        return CONSTANTS[w.text][1]

    def _div(self, w):
        return rf"\frac{{{self(_strip(w.args[0]))}}}{{{self(_strip(w.args[1]))}}}"

    def _base(self, w):
        out = self(w)
        return f"{{{out}}}" if "^" in out or w.kind == "index" else out  # never a double superscript

    def _pow(self, w):
        return f"{self._base(w.args[0])}^{{{self(_strip(w.args[1]))}}}"

    def _transpose(self, w):
        return f"{self._base(w.args[0])}^{{T}}"

    def _side(self, w):
        return f"{{{self(w.args[0])}}}^{{{w.text}}}"

    def _prime(self, w):
        name = w.text.rstrip("'")
        k = len(w.text) - len(name)
        return self.applied(self.fname(name) + ("'" * k if k <= 3 else f"^{{({k})}}"), self.paren(self.items(w.args)))

    def _dderiv(self, w):
        return rf"\frac{{d}}{{d {self(w.args[0])}}}" + self.paren(self(w.args[1]))

    def _expect(self, w):
        head = r"\mathbb{E}" if w.text == "E" else rf"\operatorname{{{w.text}}}"
        return self.subscript(head, self.items(w.args[:-1])) + self.paren(self(w.args[-1]), "[", "]")

    def _divergence(self, w):
        p, q = w.args
        return rf"\operatorname{{{w.text}}}{{\left({self(p)} \,\middle\|\, {self(q)}\right)}}"

    def _call_sqrt(self, a):
        return rf"\sqrt{{{self(a[0])}}}"

    def _call_conj(self, a):
        return rf"\overline{{{self(a[0])}}}"

    def _call_diff(self, a):
        n = f"^{{{self(a[2])}}}" if len(a) == 3 else ""
        return rf"\frac{{d{n}}}{{d {self(a[1])}{n}}} {self.body(a[0])}"

    def _call_integral(self, a):
        bounds = f"_{{{self(a[2])}}}^{{{self(a[3])}}}" if len(a) == 4 else ""
        return rf"\int{bounds} {self.body(a[0])} \, d{self(a[1])}"

    def _sum(self, a, name):
        return rf"{SUMS[name][1]}_{{{self(a[1])} = {self(a[2])}}}^{{{self(a[3])}}} {self.body(a[0])}"

    def _call_limit(self, a):
        return rf"\lim_{{{self(a[1])} \to {self(a[2])}}} {self.body(a[0])}"

    def _call_subs(self, a):
        return rf"\left. {self(a[0])} \right|_{{{self.items(a[1:])}}}"

    def _optimum(self, a, name):
        return f"{OPTIMA[name][1]}_{{{self(a[1])}}} {self.body(a[0])}"

    def _call_grad(self, a):
        return rf"\nabla_{{{self(a[1])}}} {self.body(a[0])}"

    def _call_hessian(self, a):
        return rf"\nabla^{{2}}_{{{self(a[1])}}} {self.body(a[0])}"

    def _call_inv(self, a):
        return f"{self._atomic(a[0])}^{{-1}}"

    def _call_transpose(self, a):
        return f"{self._atomic(a[0])}^{{T}}"

    def _call_eye(self, a):
        return f"I_{{{self(a[0])}}}"

    def _atomic(self, w: W) -> str:
        return self.paren(self(w)) if w.kind not in ("name", "num", "const", "group", "call", "bracket") \
            else self._base(w)


def latex(w: W, symbol_names: dict[str, str] | None = None) -> str:
    """Math-mode LaTeX of a formula as written (Unicode may remain; formula.latex makes it ASCII)."""
    return _Latex(symbol_names)(w)


# ---------------------------------------------------------------------------------------------
# MathML


def _esc(s: str) -> str:
    return html.escape(s, quote=False)


def _mo(op: str) -> str:
    return f"<mo>{_esc(op)}</mo>"


def _mi(name: str) -> str:
    return f"<mi>{_esc(name)}</mi>"


def _row(*parts: str) -> str:
    return "<mrow>" + "".join(parts) + "</mrow>"


class _MathML(_Printer):
    COMMA = _mo(",")
    OPS = {"add": "+", "sub": "-", "mul": "\u22c5", "elemwise": "\u2299", "jux": "\u2062", "dot": "\u22c5"}
    SIM = "\u223c"

    def __init__(self):
        from proofcheck.report.formula import MathMLPrinter
        self.printer = MathMLPrinter()

    def name(self, name: str) -> str:
        return self.printer._print(sp.Symbol(name)).toxml()

    def fname(self, name: str) -> str:
        return self.printer._name(name).toxml()

    def relation(self, op: str) -> str:
        from proofcheck.report.formula import MATHML_OPS
        return MATHML_OPS.get(op, op)

    def paren(self, inner: str, left: str = "(", right: str = ")") -> str:
        return _row(_mo(left), inner, _mo(right))

    def infix(self, a: str, op: str, b: str) -> str:
        return _row(a, _mo(op), b)

    def prefix(self, op: str, x: str) -> str:
        return _row(_mo(op), x)

    def norm(self, x: str) -> str:
        return self.paren(x, "\u2016", "\u2016")

    def angled(self, inner: str) -> str:
        return self.paren(inner, "\u27e8", "\u27e9")

    def subscript(self, base: str, sub: str) -> str:
        return f"<msub>{_row(base)}{_row(sub)}</msub>"

    def matrix(self, rows) -> str:
        table = "".join("<mtr>" + "".join(f"<mtd>{c}</mtd>" for c in r) + "</mtr>" for r in rows)
        return self.paren(f"<mtable>{table}</mtable>", "[", "]")

    def call(self, name: str, args) -> str:
        if name in DISTRIBUTIONS:
            head = _mi(DISTRIBUTIONS[name][0])
        elif _is_builtin(name):
            head = _mi(MATHML_FUNCTIONS.get(name, name))
        else:
            head = self.fname(name)
        return _row(head, _mo("\u2061"), self.paren(self.items(args)))

    def _num(self, w):
        return f"<mn>{_esc(w.text)}</mn>"

    def _const(self, w):
        return _mi(CONSTANTS[w.text][0])

    def _div(self, w):
        return f"<mfrac>{_row(self(_strip(w.args[0])))}{_row(self(_strip(w.args[1])))}</mfrac>"

    def _pow(self, w):
        return f"<msup>{_row(self(w.args[0]))}{_row(self(_strip(w.args[1])))}</msup>"

    def _transpose(self, w):
        return f"<msup>{_row(self(w.args[0]))}{_mi('T')}</msup>"

    def _side(self, w):
        return f"<msup>{_row(self(w.args[0]))}{_mo(w.text)}</msup>"

    def _prime(self, w):
        name = w.text.rstrip("'")
        k = len(w.text) - len(name)
        mark = _mo("\u2032" * k) if k <= 3 else self.paren(f"<mn>{k}</mn>")
        return _row(f"<msup>{self.fname(name)}{mark}</msup>", self.paren(self.items(w.args)))

    def _d(self, var: W, n: str = "") -> str:
        d = '<mi mathvariant="normal">d</mi>'
        top = f"<msup>{d}{n}</msup>" if n else d
        bottom = _row(d, f"<msup>{_row(self(var))}{n}</msup>" if n else self(var))
        return f"<mfrac>{_row(top)}{bottom}</mfrac>"

    def _dderiv(self, w):
        return _row(self._d(w.args[0]), self.paren(self(w.args[1])))

    def _expect(self, w):
        head = _mi("\U0001d53c") if w.text == "E" else _mi(w.text)
        return _row(f"<msub>{head}{_row(self.items(w.args[:-1]))}</msub>", self.paren(self(w.args[-1]), "[", "]"))

    def _divergence(self, w):
        return _row(_mi(w.text), self.paren(self.items(w.args, _mo("\u2016"))))

    def _call_sqrt(self, a):
        return f"<msqrt>{self(a[0])}</msqrt>"

    def _call_conj(self, a):
        return f'<mover>{_row(self(a[0]))}<mo accent="true">\u203e</mo></mover>'

    def _call_diff(self, a):
        return _row(self._d(a[1], _row(self(a[2])) if len(a) == 3 else ""), self.body(a[0]))

    def _call_integral(self, a):
        sign = f"<msubsup>{_mo(INTEGRAL)}{_row(self(a[2]))}{_row(self(a[3]))}</msubsup>" if len(a) == 4 \
            else _mo(INTEGRAL)
        return _row(sign, self.body(a[0]), '<mi mathvariant="normal">d</mi>', self(a[1]))

    def _sum(self, a, name):
        under = _row(self(a[1]), _mo("="), self(a[2]))
        return _row(f"<munderover>{_mo(SUMS[name][0])}{under}{_row(self(a[3]))}</munderover>", self.body(a[0]))

    def _call_limit(self, a):
        under = _row(self(a[1]), _mo("\u2192"), self(a[2]))
        return _row(f"<munder>{_mi('lim')}{under}</munder>", self.body(a[0]))

    def _call_subs(self, a):
        return f"<msub>{_row(self(a[0]), _mo('|'))}{_row(self.items(a[1:]))}</msub>"

    def _optimum(self, a, name):
        return _row(f"<munder>{_mi(OPTIMA[name][0])}{_row(self(a[1]))}</munder>", self.body(a[0]))

    def _call_grad(self, a):
        return _row(f"<msub>{_mo(NABLA)}{_row(self(a[1]))}</msub>", self.body(a[0]))

    def _call_hessian(self, a):
        return _row(f"<msubsup>{_mo(NABLA)}{_row(self(a[1]))}<mn>2</mn></msubsup>", self.body(a[0]))

    def _call_inv(self, a):
        return f"<msup>{_row(self._atomic(a[0]))}{_row(_mo('-'), '<mn>1</mn>')}</msup>"

    def _call_transpose(self, a):
        return f"<msup>{_row(self._atomic(a[0]))}{_mi('T')}</msup>"

    def _call_eye(self, a):
        return f"<msub>{_mi('I')}{_row(self(a[0]))}</msub>"

    def _atomic(self, w: W) -> str:
        return self.paren(self(w)) if w.kind not in ("name", "num", "const", "group", "call", "bracket") else self(w)


def mathml_body(w: W) -> str:
    """The MathML (inside <math>) of a formula as written."""
    return _MathML()(w)


def is_written(obj) -> bool:
    """Whether a display object is a formula as written (else a SymPy object)."""
    return isinstance(obj, W)
