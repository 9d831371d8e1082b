"""Formulas -> SymPy objects: the lark grammar in grammar/expr.lark plus a Transformer that
knows the declarations. Nothing is ever eval'd or sympified from text."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp
from sympy.core.function import AppliedUndef
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from proofcheck import linalg
from proofcheck.errors import DeclarationError, LimitError, ParseError, ProofcheckError
from proofcheck.probability.laws import law, normalized
from proofcheck.kernel.terms import (at_point, bound_names, inverse_function, At, Bag, Eigenvals, Implication, Norm, Optimum, Relation, RuleCall,
                                     SymbolInfo, unsupported, value_set)
from proofcheck.model import Span, Text
from proofcheck.probability.heads import parameter_problem
from proofcheck.probability.heads import (JSD, KL, Bernoulli, Dirac, Expectation, MvNormal, Normal, Uniform,
                                          bind, is_distribution, pdf)

# The bound variable of a density built here (a mixture, a scaled density, a density named on its own). A plain x, as
# before red team 20: a Dummy there changed the order in which names are drawn and sorted, and with it which points
# a check meets first (the planted CAVI mistake went from refuted in 1.5 s to over its budget). A parameter named x in
# a mixture (`(Normal(x, 1) + p)/2`) is therefore still captured; such mixtures are not evaluated at points yet
_DENSITY_POINT = sp.Symbol("x", real=True)

MAX_FORMULA_CHARS = 4000
MAX_NESTING = 48
MAX_NUMBER_DIGITS = 300
MAX_RESULT_DIGITS = 2000  # an exact number with more digits than this is never built
MAX_SYMBOLIC_EXPONENT = 10_000
MAX_MATRIX_SIDE = 12
MAX_DERIVATIVE_ORDER = 12
MAX_TREE_SIZE = 50_000  # nodes of a formula once definitions are expanded
BOUND_INDEX = 7_000_001  # fixed dummy index of bound variables: deterministic across processes

STARTS = ["start_line", "step_line", "claim", "define", "given", "typedecl"]
CONSTANTS = {"pi": sp.pi, "oo": sp.oo, "I": sp.I}
SIMPLE_FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt, "abs": sp.Abs, "sin": sp.sin,
    "cos": sp.cos, "tan": sp.tan, "tanh": sp.tanh, "sinh": sp.sinh, "cosh": sp.cosh,
    "atan": sp.atan, "asin": sp.asin, "acos": sp.acos, "erf": sp.erf,
    "sigmoid": lambda x: 1 / (1 + sp.exp(-x)),
    "softplus": lambda x: sp.log(1 + sp.exp(x)),
    "re": sp.re, "im": sp.im, "conj": sp.conjugate, "sign": sp.sign,
}
PROBABILITY_HEADS = {"Normal", "Bernoulli", "Uniform", "Dirac", "pdf"}
RESERVED = set(CONSTANTS) | set(SIMPLE_FUNCTIONS) | PROBABILITY_HEADS | {
    "min", "max", "diff", "integral", "limit", "sum", "prod", "subs", "argmax", "argmin", "maximum",
    "minimum", "grad", "jacobian", "hessian", "det", "tr", "inv", "eigenvals", "diag", "eye", "norm",
    "transpose", "E", "Var", "KL", "JSD", "by", "Law", "normalize",
}
_TOKEN_NAMES = {
    "REL": "a relation (=, <, <=, ...)", "IMPLIES": "==> or <==>", "NAME": "a name", "NUMBER": "a number",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "LBRACE": "'{'", "RBRACE": "'}'",
    "COMMA": "','", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "CIRCUMFLEX": "'^'",
    "BY": "'by'", "$END": "the end of the line", "NORM_CLOSE": "a closing '||'", "ABS_CLOSE": "a closing '|'",
    "KLSEP": "'||'", "TILDE": "'~'", "EQUAL": "'='", "__ANON_0": "':='",
}


class BarLexer:
    """Retypes `||` and `|` tokens: KL separator, norm bars or absolute-value bars, by context."""

    always_accept = ("BARS",)

    def process(self, stream):
        """Yield tokens with bars given their meaning."""
        stack: list[list] = [["top", 0, 0]]  # [bracket kind, open norms, open abs]
        prev = None
        for tok in stream:
            if tok.type in ("LPAR", "LSQB", "LBRACE"):
                kind = "kl" if prev is not None and prev.type == "DIVERGENCE" else tok.type
                stack.append([kind, 0, 0])
            elif tok.type in ("RPAR", "RSQB", "RBRACE") and len(stack) > 1:
                stack.pop()
            elif tok.type == "BARS":
                top = stack[-1]
                after_operand = _after_operand(prev)
                if tok.value == "||":
                    if top[1] > 0 and after_operand:
                        top[1] -= 1
                        tok = Token.new_borrow_pos("NORM_CLOSE", tok.value, tok)
                    elif top[0] == "kl" and after_operand:
                        tok = Token.new_borrow_pos("KLSEP", tok.value, tok)
                    else:
                        top[1] += 1
                        tok = Token.new_borrow_pos("NORM_OPEN", tok.value, tok)
                else:
                    if top[2] > 0 and after_operand:
                        top[2] -= 1
                        tok = Token.new_borrow_pos("ABS_CLOSE", tok.value, tok)
                    else:
                        top[2] += 1
                        tok = Token.new_borrow_pos("ABS_OPEN", tok.value, tok)
            prev = tok
            yield tok


def mark_inner_products(src: str) -> str:
    """Rewrite the `<` and `>` of each inner product `<u, v>` as ⟨ and ⟩ (same positions).

    Done on the text because the contextual lexer cannot look ahead: a `<` opens an inner product
    when it stands where an operand starts and a comma, then a `>`, follow at its bracket depth."""
    if "<" not in src:
        return src
    chars = list(src)
    for i, ch in enumerate(src):
        if ch != "<" or src[i + 1:i + 2] == "=":
            continue
        # After an operand too (`2 <u, v>` is a product): a comma between `<` and `>` at one
        # bracket depth is never a comparison, since relations do not appear inside argument lists.
        depth, comma = 0, False
        for j in range(i + 1, len(src)):
            c = src[j]
            if c in "([{⟨":
                depth += 1
            elif c in ")]}⟩":
                depth -= 1
                if depth < 0:
                    break
            elif depth == 0 and c == ",":
                comma = True
            elif depth == 0 and c in "<>=!":
                if c == ">" and comma and src[j + 1:j + 2] != "=":
                    chars[i], chars[j] = "⟨", "⟩"
                break
    return "".join(chars)


def tree_size(e) -> int:
    """Nodes of the expression written out as a tree, counted on the shared graph (linear time)."""
    sizes: dict = {}
    stack = [(e, False)]
    while stack:
        node, done = stack.pop()
        if node in sizes:
            continue
        args = node.args if isinstance(node, sp.Basic) else ()
        if done or not args:
            sizes[node] = 1 + sum(sizes.get(a, 1) for a in args)
            continue
        stack.append((node, True))
        stack.extend((a, False) for a in args if a not in sizes)
    return sizes.get(e, 1)


def _after_operand(prev) -> bool:
    return prev is not None and prev.type in ("NAME", "NUMBER", "RPAR", "RSQB", "RBRACE", "PRIMES", "TRANSPOSE",
                                              "NORM_CLOSE", "ABS_CLOSE", "ANGLE_CLOSE")


@lru_cache(maxsize=1)
def grammar() -> Lark:
    """The expression parser, built once per process."""
    return Lark.open("grammar/expr.lark", rel_to=__file__, parser="lalr", start=STARTS,
                     propagate_positions=True, maybe_placeholders=True, postlex=BarLexer())


# ---------------------------------------------------------------------------------------------
# Declarations


@dataclass
class Scope:
    """The names a formula may use: declared symbols and definitions, in order."""

    symbols: dict[str, SymbolInfo] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)  # name := expr
    functions: dict[str, sp.Lambda] = field(default_factory=dict)  # name(args) := expr


def build_scope(declarations, defines, errors: list | None = None) -> Scope:
    """Turn `symbols` and `define` into a Scope, checking every name and type.

    With an `errors` list, every bad declaration or definition is appended to it instead of raised
    (the name stays usable as a plain real, so one mistake does not cascade into many)."""
    scope = Scope()
    for decl in declarations:
        for name in decl.names:
            try:
                if name in RESERVED:
                    raise DeclarationError(f"{name!r} is a built-in name and cannot be declared", decl.span)
                scope.symbols[name] = _declare(name, decl.type_text, scope)
            except ProofcheckError as exc:
                if errors is None:
                    raise
                errors.append(exc)
                if name not in RESERVED:
                    scope.symbols[name] = SymbolInfo(name, "scalar", sp.Symbol(name, real=True), "real")
    for text in defines:
        try:
            name, value, params = parse_define(text, scope)
            if name in scope.symbols or name in scope.values or name in scope.functions:
                raise DeclarationError(f"{name!r} is already declared or defined", text.span)
            if name in RESERVED:
                raise DeclarationError(f"{name!r} is a built-in name and cannot be defined", text.span)
        except ProofcheckError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        if params is None:
            problem = mixture_problem(value) if _is_density(value) else ""
            if problem:
                exc = DeclarationError(f"{name}: {problem}", text.span)
                if errors is None:
                    raise exc
                errors.append(exc)
                continue
            scope.values[name] = value
        else:
            scope.functions[name] = sp.Lambda(tuple(params), value)
    return scope


def _applied(lam: sp.Lambda, args: list):
    """A definition applied to arguments without capture: `D(u) := diff(t^2 u, t)` at `u = t` is 2 t^2 (the derivative
    in t of t^2 u, then u = t), not diff(t^3, t); likewise a `subs` or an optimum over a name the arguments hold
    (red team 21)."""
    clash = set().union(*(a.free_symbols for a in args if isinstance(a, sp.Basic)))
    body = lam.expr
    if clash and isinstance(body, sp.Basic) and body.has(sp.Derivative, sp.Subs, At, Optimum):
        body = _binders_renamed(body, clash)
    return body.xreplace(dict(zip(lam.variables, args)))


def _binders_renamed(e, clash: set):
    """e with each derivative, substitution and optimum over a name in `clash` taken over a fresh name instead (a
    derivative in t becomes one in a fresh s, then evaluated at s = t)."""
    if not isinstance(e, sp.Basic) or not e.args:
        return e
    args = [_binders_renamed(a, clash) for a in e.args]
    node = e.func(*args) if any(a is not b for a, b in zip(args, e.args)) else e
    hit = {v for v in bound_names(node) & clash if isinstance(v, sp.Symbol)}
    if isinstance(node, sp.Derivative):  # (a derivative in g(x) is left alone, as SymPy writes f'(g(x)))
        hit &= {v for v, _ in node.variable_count}
    if not hit or not isinstance(node, (sp.Derivative, sp.Subs, At, Optimum)):
        return node  # (integrals, sums and limits bind Dummies of their own)
    new = {v: sp.Dummy(v.name + "·", **v.assumptions0) for v in hit}
    if isinstance(node, sp.Derivative):
        inner = sp.Derivative(node.expr.xreplace(new), *[(new.get(v, v), n) for v, n in node.variable_count])
        return sp.Subs(inner, tuple(new.values()), tuple(new.keys()))
    if isinstance(node, sp.Subs):  # (the point is outside the binding: it keeps the names)
        return sp.Subs(node.expr.xreplace(new), tuple(new.get(v, v) for v in node.variables), node.point)
    if isinstance(node, At):
        return At(node.args[0].xreplace(new), sp.Tuple(*[new.get(v, v) for v in node.args[1]]), node.args[2])
    kind, f, x = node.args
    return Optimum(kind, f.xreplace(new), new[x])


_DOMAIN_WORDS = {
    ("real",): "real", ("positive",): "positive", ("nonnegative",): "nonnegative", ("negative",): "negative",
    ("nonzero",): "nonzero", ("integer",): "integer", ("positive", "integer"): "posint",
    ("complex",): "complex",
}
_ASSUMPTIONS = {
    "real": dict(real=True), "positive": dict(positive=True), "nonnegative": dict(nonnegative=True),
    "negative": dict(negative=True), "nonzero": dict(real=True, nonzero=True), "integer": dict(integer=True),
    "posint": dict(integer=True, positive=True), "complex": dict(complex=True),
}


def _declare(name: str, text: Text, scope: Scope) -> SymbolInfo:
    try:
        tree = _parse_tree(text, "typedecl")
    except ParseError:
        raise DeclarationError(f"unknown type {text.text.strip()!r}; the types are real, positive, nonnegative, "
                               "negative, nonzero, integer, positive integer, complex, interval(a, b), "
                               "matrix(r, c), vector(n), function, increasing function, increasing bijection, density",
                               text.span) from None
    words = [str(t) for t in tree.children if isinstance(t, Token) and t.type == "TYPEWORD"]
    if tree.data == "type_words":
        key = tuple(words)
        if key in _DOMAIN_WORDS:
            domain = _DOMAIN_WORDS[key]
            return SymbolInfo(name, "scalar", sp.Symbol(name, **_ASSUMPTIONS[domain]), domain)
        if key in (("function",), ("increasing", "function"), ("increasing", "bijection")):
            # an increasing bijection (a flow) is also onto the real line: what a change of variables needs
            flags = frozenset({"increasing", "onto"}) if "bijection" in key else \
                frozenset({"increasing"}) if "increasing" in key else frozenset()
            return SymbolInfo(name, "function", sp.Function(name, real=True), "real", arity=1, flags=flags)
        if key == ("density",):
            return SymbolInfo(name, "density", sp.Function(name, positive=True), "positive", arity=1)
        raise DeclarationError(f"unknown type {text.text.strip()!r}; see FORMAT.md section 1 for the types",
                               text.span)
    call_name = next(c for c in tree.children if isinstance(c, Token) and c.type == "NAME")
    arg_tree = next((c for c in tree.children if not isinstance(c, Token) and c is not None), None)
    sub = ExprBuilder(scope, text)
    args = _transform(sub, arg_tree).children if arg_tree is not None else []
    if call_name == "interval" and not words:
        if len(args) != 2:
            raise DeclarationError("interval takes two bounds: interval(a, b)", text.span)
        low, high = (sub.finish(a) for a in args)
        # a bound must be real (`interval(I, 2)` made every step about the name unknown, and `im(x) = 0` proved), and
        # the interval must not be empty where both bounds are numbers (`interval(1, 0)`)
        for bound in (low, high):
            if not isinstance(bound, sp.Expr) or bound.is_extended_real is False or bound.has(sp.I, sp.zoo, sp.nan):
                raise DeclarationError(f"the bounds of an interval must be real; {sp.sstr(bound)} is not", text.span)
        if low.is_number and high.is_number and (high - low).is_nonpositive:
            raise DeclarationError(f"interval({sp.sstr(low)}, {sp.sstr(high)}) is empty: the first bound must be the "
                                   "smaller", text.span)
        assume = dict(positive=True) if low.is_nonnegative else dict(real=True)
        return SymbolInfo(name, "scalar", sp.Symbol(name, **assume), "interval", low=low, high=high)
    if call_name == "function" and len(args) == 1 and words in ([], ["increasing"]):
        k = sub.finish(args[0])
        if not (k.is_Integer and 1 <= int(k) <= 8):
            raise DeclarationError("function(k) takes a whole number of arguments from 1 to 8", text.span)
        return SymbolInfo(name, "function", sp.Function(name, real=True), "real", arity=int(k))
    if call_name == "density" and len(args) == 1 and not words:
        k = sub.finish(args[0])
        if not (k.is_Integer and 1 <= int(k) <= 4):
            raise DeclarationError("density(k) takes a whole number of arguments from 1 to 4", text.span)
        return SymbolInfo(name, "density", sp.Function(name, positive=True), "positive", arity=int(k))
    if call_name in ("matrix", "vector"):
        want = 2 if call_name == "matrix" else 1
        if len(args) != want:
            raise DeclarationError(f"{call_name} takes {want} dimension(s)", text.span)
        dims = [sub.finish(a) for a in args]
        for d in dims:
            ok = (d.is_Integer and d > 0) or (d.is_Symbol and d.is_integer and d.is_positive)
            if not ok:
                raise DeclarationError(f"dimension {d} must be a whole number or a name declared "
                                       "`positive integer`", text.span)
        if call_name == "vector":
            dims.append(sp.Integer(1))
        # `positive`: every entry is positive (a vector of standard deviations), drawn so by the sampler
        flags = frozenset(w for w in words if w in ("symmetric", "spd", "positive"))
        if set(words) - flags:
            raise DeclarationError(f"unknown matrix property in {text.text.strip()!r}", text.span)
        if flags & {"symmetric", "spd"} and dims[0] != dims[1]:
            raise DeclarationError("only a square matrix can be symmetric or spd", text.span)
        return SymbolInfo(name, "matrix", sp.MatrixSymbol(name, dims[0], dims[1]), "real",
                          shape=(dims[0], dims[1]), flags=flags)
    raise DeclarationError(f"unknown type {text.text.strip()!r}; see FORMAT.md section 1 for the types", text.span)


# ---------------------------------------------------------------------------------------------
# Text -> tree


def _precheck(text: Text) -> None:
    src = text.text
    if len(src) > MAX_FORMULA_CHARS:
        raise LimitError(f"formula is {len(src)} characters long; the limit is {MAX_FORMULA_CHARS}", text.span)
    depth = 0
    line, col = 1, 0
    for ch in src:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise LimitError(f"brackets nested deeper than {MAX_NESTING} levels", text.span_at(line, col))
        elif ch in ")]}":
            depth -= 1
    run = 0
    for i, ch in enumerate(src):
        run = run + 1 if ch.isdigit() else 0
        if run > MAX_NUMBER_DIGITS:
            before = src[:i]
            raise LimitError(f"a number with more than {MAX_NUMBER_DIGITS} digits",
                             text.span_at(before.count("\n") + 1, i - before.rfind("\n")))


def _parse_tree(text: Text, start: str):
    if getattr(text, "error", None) is not None:  # LaTeX that could not be translated (latex_input.LatexText)
        raise text.error
    _precheck(text)
    try:
        return grammar().parse(mark_inner_products(text.text), start=start)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, start) from None
    except RecursionError:
        raise LimitError("formula nested too deeply", text.span) from None


def parse_tree(text: Text, start: str):
    """The lark tree of a formula from grammar rule `start`, with the parser's errors (report.written)."""
    return _parse_tree(text, start)


def reads_as_entry(tree, text: Text, scope: Scope) -> bool:
    """Whether the checker reads a `call_index` or `group_index` tree (inv(M)[1, 1], (M^-1)[1, 2]) as an entry
    of a matrix rather than a product with a bracket (det(X) [[a, b], [c, d]]^-1), for report.written."""
    try:
        return not isinstance(ExprBuilder(scope, text).transform(tree), _Jux)
    except VisitError:
        return True  # an input error the checker reports at this entry


def _syntax_error(exc: UnexpectedInput, text: Text, start: str) -> ParseError:
    line, col = getattr(exc, "line", 1) or 1, getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedCharacters):
        ch = text.text.splitlines()[line - 1][col - 1] if line - 1 < len(text.text.splitlines()) else "?"
        msg = f"unexpected character {ch!r}"
    elif isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        msg = "the formula ends too early"
        lines = text.text.splitlines() or [""]
        line, col = len(lines), len(lines[-1]) + 1
    else:
        tok = exc.token
        msg = f"unexpected {tok.value!r}"
    expected = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])
    names = sorted({_TOKEN_NAMES.get(e, None) for e in expected} - {None})
    if names and len(names) <= 6:
        msg += "; expected " + ", ".join(names)
    if start == "step_line" and isinstance(exc, UnexpectedToken) and exc.token.type not in ("REL", "IMPLIES") \
            and exc.token.start_pos == 0:
        msg = "a step starts with a relation (=, <=, <, >=, >) or with ==> / <==>"
    return ParseError(msg, text.span_at(line, col))


# ---------------------------------------------------------------------------------------------
# Tree -> SymPy


class _Binding:
    def __init__(self, name: str, dist, span):
        self.name, self.dist, self.span = name, dist, span


class _KwArg:
    def __init__(self, name: str, value, arrow: bool = False):
        self.name, self.value, self.arrow = name, value, arrow


class _OneSided:
    """`a+` / `a-`: the point of a limit with the side it is approached from."""

    def __init__(self, value, side: str, span):
        self.value, self.side, self.span = value, side, span


class _Args:
    def __init__(self, items):
        self.children = items


class _BlockRow:
    """`[A, 0]` with a matrix of symbolic size (or several columns) among the items: one row of a block
    matrix, made a BlockMatrix by the enclosing bracket (or alone, as a one-row block matrix)."""

    def __init__(self, items, meta):
        self.items, self.meta = items, meta


class _Jux:
    """`a (b)` or `a [b]` with `a` not a function: a product whose right factor alone takes a
    following power or transpose, and which divides left to right (`1/p (q + 1)` is (q + 1)/p)."""

    def __init__(self, left, right):
        self.left, self.right = left, right


def _placeholder(name: str) -> sp.Symbol:
    # '?' cannot appear in a user's name, so these never clash with declared symbols.
    return sp.Symbol("?" + name)


def _is_matrix(x) -> bool:
    return isinstance(x, (sp.MatrixBase, sp.MatrixExpr))


def _identity(n):
    """The n x n identity: explicit for a small whole n, SymPy's Identity for a symbolic size."""
    return sp.ImmutableMatrix(sp.eye(int(n))) if n.is_Integer and 1 <= n <= MAX_MATRIX_SIDE else sp.Identity(n)


def _identity_multiple(s):
    """c when s is c I with c real and free of I (`lambda I`, `I`), else None."""
    if not isinstance(s, sp.Expr) or not s.has(sp.I):
        return None
    c, rest = s.as_independent(sp.I, as_Add=False)
    return c if rest == sp.I and not c.has(sp.I) and c.is_extended_real is not False else None


def _is_density(x) -> bool:
    # A density named on its own (a declared density, a one-argument definition, a mixture of them).
    return isinstance(x, sp.Lambda) and len(x.variables) == 1


def mixture_problem(lam) -> str:
    """Why a density defined as a combination of densities is not a mixture (weights summing to 1), or ''."""
    x = lam.variables[0]
    apps = sorted({a for a in lam.expr.atoms(AppliedUndef) if a.args == (x,)}, key=sp.default_sort_key)
    if not apps:
        return ""
    weights = [sp.Dummy(f"w{i}") for i in range(len(apps))]
    linear = sp.expand(lam.expr.xreplace(dict(zip(apps, weights))))
    if linear.has(x) or any(sp.diff(linear, w, 2) != 0 for w in weights) or linear.xreplace(
            {w: 0 for w in weights}) != 0:
        return "a density defined from densities must be a weighted sum of them, such as (p + q)/2"
    mass = sp.simplify(linear.xreplace({w: 1 for w in weights}) - 1)
    if mass != 0:
        return f"the weights of a mixture must sum to 1; these sum to {sp.sstr(mass + 1)}"
    return ""


@v_args(inline=True, meta=True)
class ExprBuilder(Transformer):
    """Builds SymPy objects bottom-up; undeclared names become placeholders checked in finish()."""

    def __init__(self, scope: Scope, text: Text, bound: dict[str, sp.Symbol] | None = None,
                 display: bool = False):
        super().__init__()
        self.scope, self.text = scope, text
        self.display = display  # keep defined names as names, for printing
        self.bound = dict(bound or {})
        self.unresolved: dict[str, Span] = {}
        self.bound_names: set[str] = set()  # names some binder (sum, integral, E[z ~ ...]) bound

    # -- helpers
    def span(self, meta_or_token) -> Span:
        """The file position of a tree node or token."""
        line = getattr(meta_or_token, "line", None)
        col = getattr(meta_or_token, "column", None)
        if line is None:
            return self.text.span
        return self.text.span_at(line, col)

    def fail(self, where, message: str, cls=DeclarationError):
        """Raise an input error at a node's position."""
        raise cls(message, self.span(where))

    def finish(self, value):
        """Refuse names used but never declared or bound, even ones SymPy cancelled (0*q, d/dq of x),
        and formulas that definitions blow up (d2 := d1 + sin(d1), d3 := d2 + sin(d2), ...)."""
        for part in ([value.lhs, value.rhs] if isinstance(value, Relation) else [value]):
            if isinstance(part, sp.Basic) and tree_size(part) > MAX_TREE_SIZE:
                raise LimitError(f"with its definitions expanded this formula has more than {MAX_TREE_SIZE} "
                                 "terms and functions; define fewer nested names", self.text.span)
        for name, span in self.unresolved.items():
            if name not in self.bound_names:
                raise DeclarationError(f"{name!r} is not declared; add it under `symbols:` "
                                       f"(e.g. `{name}: real`)", span)
        objs = value if isinstance(value, (list, tuple)) else [value]
        for obj in objs:
            if isinstance(obj, (Relation,)):
                self.finish(obj.lhs)
                self.finish(obj.rhs)
                continue
            if not isinstance(obj, sp.Basic):
                continue
            for s in obj.free_symbols:
                if s.name.startswith("?"):
                    name = s.name[1:]
                    raise DeclarationError(f"{name!r} is not declared; add it under `symbols:` "
                                           f"(e.g. `{name}: real`)", self.unresolved.get(name, self.text.span))
        return value

    def _bind(self, expr, var, kind_assumptions):
        """Replace a bound variable's placeholder (or declared symbol) by a fresh bound symbol."""
        name = var.name.lstrip("?")
        self.bound_names.add(name)
        # A Dummy, so a bound j never equals a declared j (which the sampler gives a value).
        new = sp.Dummy(name, dummy_index=BOUND_INDEX, **kind_assumptions)
        return expr.xreplace({_placeholder(name): new, var: new}) if isinstance(expr, sp.Basic) else expr, new

    def _scalar(self, meta, x, what: str):
        if _is_matrix(x):
            if x.shape == (1, 1):
                return x[0, 0]
            self.fail(meta, f"{what} needs a scalar, but this is a {x.shape[0]}×{x.shape[1]} matrix")
        if isinstance(x, (_KwArg, _Binding, Relation)):
            self.fail(meta, f"{what} needs an expression here")
        return x

    # -- atoms
    def number(self, meta, tok):
        return sp.Rational(str(tok)) if "." in tok else sp.Integer(str(tok))

    def name(self, meta, tok):
        name = str(tok)
        if name in self.bound:
            return self.bound[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in self.scope.values:
            return sp.Symbol(name) if self.display else self.scope.values[name]
        info = self.scope.symbols.get(name)
        if info is not None:
            if info.kind == "density" and info.arity == 1:
                # A density named on its own is the distribution it defines (KL(f0 || f1), z ~ f).
                x = _DENSITY_POINT
                return sp.Lambda(x, info.obj(x))
            if info.kind in ("function", "density"):
                self.fail(tok, f"{name!r} is a function; call it, e.g. {name}(x)")
            return info.obj
        if name in self.scope.functions:
            lam = self.scope.functions[name]
            if len(lam.variables) == 1 and not self.display:
                return lam  # a one-argument definition named on its own: a density, e.g. KL(q || post)
            self.fail(tok, f"{name!r} is a defined function; call it, e.g. {name}(x)")
        self.unresolved.setdefault(name, self.span(tok))
        return _placeholder(name)

    # -- arithmetic
    def add(self, meta, a, b):
        return self._combine(meta, a, b, "+")

    def sub(self, meta, a, b):
        return self._combine(meta, a, b, "-")

    def _combine(self, meta, a, b, op):
        a, b = self._unwrap(a), self._unwrap(b)
        if _is_density(a) or _is_density(b):
            if not (_is_density(a) and _is_density(b)):
                self.fail(meta, f"`{op}` combines two densities (a mixture such as (p + q)/2), "
                                "not a density and a number")
            x = _DENSITY_POINT
            return sp.Lambda(x, a(x) + b(x) if op == "+" else a(x) - b(x))
        if _is_matrix(a) != _is_matrix(b):
            m = a if _is_matrix(a) else b
            c = _identity_multiple(b if m is a else a)
            if m.shape == (1, 1):
                a, b = (a[0, 0] if _is_matrix(a) else a), (b[0, 0] if _is_matrix(b) else b)
            elif m.shape[0] == m.shape[1] and c is not None:
                # `X^T X + lambda I`: I added to a square matrix is the identity of its size (a scalar there would
                # be an error), as sheets write it; elsewhere I is the imaginary unit
                eye = c * _identity(m.shape[0])
                a, b = (a, eye) if m is a else (eye, b)
            else:
                self.fail(meta, f"cannot add a scalar and a {m.shape[0]}×{m.shape[1]} matrix")
        if _is_matrix(a) and _is_matrix(b) and a.shape != b.shape:
            self.fail(meta, f"shapes do not match: {a.shape[0]}×{a.shape[1]} {op} {b.shape[0]}×{b.shape[1]}")
        try:
            return a + b if op == "+" else a - b
        except sp.ShapeError:
            self.fail(meta, f"shapes do not match: {a.shape[0]}×{a.shape[1]} {op} {b.shape[0]}×{b.shape[1]}")

    def mul(self, meta, a, b):
        return self._product(meta, a, b)

    def jux(self, meta, a, b):
        return self._product(meta, a, b)

    def _product(self, meta, a, b):
        a, b = self._unwrap(a), self._unwrap(b)
        if _is_density(a) or _is_density(b):
            return self._scaled_density(meta, a, b, "*")
        if _is_matrix(a) and _is_matrix(b):
            if a.shape[1] != b.shape[0]:
                if a.shape == (1, 1) or b.shape == (1, 1):
                    return self._one_by_one(a * b[0, 0] if b.shape == (1, 1) else a[0, 0] * b)
                self.fail(meta, f"shapes do not match for a product: {a.shape[0]}×{a.shape[1]} "
                                f"times {b.shape[0]}×{b.shape[1]}")
            return self._one_by_one(a * b)
        return a * b

    def _one_by_one(self, m):
        if _is_matrix(m) and m.shape == (1, 1):
            return linalg.scalar(m)
        return m

    def div(self, meta, a, b):
        if isinstance(b, _Jux):  # 1/p (q + 1) is (1/p) (q + 1): left to right
            return self._product(meta, self.div(meta, a, b.left), self._unwrap(b.right))
        a, b = self._unwrap(a), self._unwrap(b)
        if _is_density(a) or _is_density(b):
            return self._scaled_density(meta, a, b, "/")
        if _is_matrix(b):
            if b.shape != (1, 1):
                self.fail(meta, "cannot divide by a matrix; use inv(...)")
            b = b[0, 0]
        if b == 0:
            self.fail(meta, "division by zero", ParseError)
        return a / b

    def _scaled_density(self, meta, a, b, op):
        """A density times (or over) a scalar weight, as one density function: the `1/2` of (p + q)/2."""
        dens, weight = (a, b) if _is_density(a) else (b, a)
        if _is_density(weight) or _is_matrix(weight) or not isinstance(weight, sp.Expr) \
                or (op == "/" and dens is b):
            self.fail(meta, "a density is scaled by a number or a scalar weight only, as in (p + q)/2")
        if op == "/" and weight == 0:
            self.fail(meta, "division by zero", ParseError)
        x = _DENSITY_POINT
        return sp.Lambda(x, dens(x) / weight if op == "/" else weight * dens(x))

    def elemwise(self, meta, a, op, b):
        a, b = self._unwrap(a), self._unwrap(b)
        if isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase):
            if a.shape != b.shape:
                self.fail(meta, f"shapes do not match for .*: {a.shape} and {b.shape}")
            return a.multiply_elementwise(b)
        if _is_matrix(a) and _is_matrix(b):
            return sp.hadamard_product(a, b)
        return a * b

    def neg(self, meta, a):
        a = self._unwrap(a)
        if _is_density(a):
            self.fail(meta, "a density cannot be negated")
        return -a

    def pow(self, meta, base, exp):
        if isinstance(base, _Jux):  # p (q + 1)^2 is p * (q + 1)^2
            return _Jux(base.left, self.pow(meta, base.right, exp))
        if isinstance(exp, _Jux):  # p^z (1 - p) is p^z * (1 - p), as x^2 y is x^2 * y
            return _Jux(self.pow(meta, base, exp.left), exp.right)
        base, exp = self._unwrap(base), self._scalar(meta, self._unwrap(exp), "an exponent")
        if _is_matrix(base):
            if exp == -1:
                return self._inverse(meta, base)
            if exp.is_Integer and base.shape[0] == base.shape[1]:
                if int(exp) < 0:
                    return self._inverse(meta, base) ** (-int(exp))
                if abs(int(exp)) > 64:
                    self.fail(meta, "matrix powers are limited to exponents up to 64", LimitError)
                return base ** int(exp)
            if exp.is_integer and base.shape[0] == base.shape[1]:
                return sp.MatPow(base, exp)  # a symbolic power, evaluated by the kernel
            if exp == sp.Rational(1, 2) and base.shape[0] == base.shape[1]:
                return sp.MatPow(base, exp) if isinstance(base, sp.MatrixExpr) else base ** exp
            if base.shape == (1, 1):
                base = base[0, 0]
            else:
                self.fail(meta, "a matrix power needs a square matrix and a whole exponent (or ^T, ^-1)")
        _guard_power(base, exp, self, meta)
        return sp.Pow(base, exp)

    def transpose(self, meta, base, tok):
        if isinstance(base, _Jux):
            return _Jux(base.left, self.transpose(meta, base.right, tok))
        base = self._unwrap(base)
        if not _is_matrix(base) and "T" in self.scope.symbols:
            return self.pow(meta, base, self.scope.symbols["T"].obj)
        return base.T if _is_matrix(base) else base

    def _unwrap(self, x):
        if isinstance(x, _BlockRow):
            return self._block_matrix(x.meta, [x])
        if isinstance(x, _Jux):
            return self._product(None, self._unwrap(x.left), self._unwrap(x.right))
        if isinstance(x, (_KwArg, _Binding)):
            raise DeclarationError("a keyword argument or binding is not an expression here", self.text.span)
        if isinstance(x, Relation):
            raise ParseError("a relation cannot be used inside an expression", self.text.span)
        if isinstance(x, _OneSided):
            raise ParseError("`a+` / `a-` is only for the point of a limit: limit(f, x, a+)", x.span)
        return x

    # -- brackets
    def group(self, meta, x):
        return self._unwrap(x)  # (a (b)) is a closed product: 2 / (a (b)) divides by all of it

    def bracket(self, meta, args):
        if any(isinstance(i, _BlockRow) for i in args.children):
            return self._block_matrix(meta, args.children)
        items = [self._unwrap(i) for i in args.children]
        if len(items) == 1 and not _is_matrix(items[0]):
            return items[0]
        if any(_is_matrix(i) and not (isinstance(i, sp.MatrixBase) and i.shape[1] == 1) for i in items):
            return _BlockRow(items, meta)
        if all(isinstance(i, sp.MatrixBase) and i.shape[1] == 1 for i in items):
            n = items[0].shape[0]
            if any(i.shape[0] != n for i in items):
                self.fail(meta, "the rows of a matrix must have the same length")
            rows = [list(i) for i in items]
            if len(rows) > MAX_MATRIX_SIDE or n > MAX_MATRIX_SIDE:
                self.fail(meta, f"explicit matrices are limited to {MAX_MATRIX_SIDE}×{MAX_MATRIX_SIDE}", LimitError)
            return sp.ImmutableMatrix(rows)
        if any(_is_matrix(i) for i in items):
            self.fail(meta, "mixing numbers and lists in [...]; write [[a, b], [c, d]] for a matrix")
        if len(items) > MAX_MATRIX_SIDE:
            self.fail(meta, f"explicit vectors are limited to {MAX_MATRIX_SIDE} entries", LimitError)
        return sp.ImmutableMatrix([[i] for i in items])

    def _block_matrix(self, meta, rows):
        """[[A, 0], [0, B]]: matrices (or 0, sized by its row and column) as blocks, a sp.BlockMatrix."""
        if not all(isinstance(r, _BlockRow) for r in rows):
            self.fail(meta, "a block matrix [[A, 0], [0, B]] has matrices (or 0) as the entries of every row")
        grid = [r.items for r in rows]
        if len({len(r) for r in grid}) != 1:
            self.fail(meta, "the rows of a block matrix must have the same number of blocks")
        if len(grid) > MAX_MATRIX_SIDE or len(grid[0]) > MAX_MATRIX_SIDE:
            self.fail(meta, f"block matrices are limited to {MAX_MATRIX_SIDE}×{MAX_MATRIX_SIDE} blocks", LimitError)
        for row in grid:
            for x in row:
                if not _is_matrix(x) and x != 0:
                    self.fail(meta, f"the blocks of a block matrix are matrices or 0; {sp.sstr(x)} is a scalar")
        heights = [next((x.shape[0] for x in row if _is_matrix(x)), None) for row in grid]
        widths = [next((row[j].shape[1] for row in grid if _is_matrix(row[j])), None) for j in range(len(grid[0]))]
        if None in heights or None in widths:
            self.fail(meta, "a row or column of a block matrix is all 0, so its size is unknown; write ZeroMatrix "
                            "as a named matrix or give one block of that size")
        blocks = []
        for i, row in enumerate(grid):
            out = []
            for j, x in enumerate(row):
                if not _is_matrix(x):
                    x = sp.ZeroMatrix(heights[i], widths[j])
                if x.shape[0] != heights[i] or x.shape[1] != widths[j]:
                    self.fail(meta, f"block ({i + 1}, {j + 1}) of the block matrix is {x.shape[0]}×{x.shape[1]}, "
                                    f"but its row is {heights[i]} high and its column {widths[j]} wide")
                out.append(x)
            blocks.append(out)
        n = len(blocks)
        if n > 1 and n == len(blocks[0]) and all(isinstance(blocks[i][j], sp.ZeroMatrix)
                                                 for i in range(n) for j in range(n) if i != j):
            return sp.BlockDiagMatrix(*[blocks[i][i] for i in range(n)])
        return sp.BlockMatrix(blocks)

    def set_literal(self, meta, args):
        return Bag(*[self._scalar(meta, self._unwrap(i), "a set element") for i in args.children])

    def norm(self, meta, _open, x, _close):
        x = self._unwrap(x)
        if isinstance(x, sp.MatrixBase):
            return sp.sqrt(sum((e * sp.conjugate(e) if e.is_real is not True else e ** 2) for e in x))
        if _is_matrix(x):
            if x.shape[1] != 1:
                self.fail(meta, f"||...|| is the norm of a column vector; this is {x.shape[0]}×{x.shape[1]}")
            return sp.sqrt(linalg.scalar(x.T * x))
        return sp.Abs(x)

    def inner(self, meta, _open, u, v, _close):
        u, v = self._unwrap(u), self._unwrap(v)
        if not (_is_matrix(u) and _is_matrix(v)):
            return u * v
        if u.shape != v.shape or u.shape[1] != 1:
            self.fail(meta, f"<u, v> needs two column vectors of the same size; these are "
                            f"{u.shape[0]}×{u.shape[1]} and {v.shape[0]}×{v.shape[1]}")
        return self._one_by_one(u.T * v)

    def abs_bars(self, meta, _open, x, _close):
        x = self._unwrap(x)
        if _is_matrix(x):
            if x.shape[0] == x.shape[1]:
                return sp.Determinant(x) if isinstance(x, sp.MatrixExpr) else x.det()
            self.fail(meta, "|...| of a non-square matrix")
        return sp.Abs(x)

    def args(self, meta, *items):
        return _Args(list(items))

    def kwarg(self, meta, name, value):
        return _KwArg(str(name), value)

    def arrow_arg(self, meta, name, arrow, value):
        return _KwArg(str(name), value, arrow=True)

    def arrow_side_arg(self, meta, name, arrow, value, side):
        return _KwArg(str(name), _OneSided(value, str(side), self.span(meta)), arrow=True)

    def one_side(self, meta, value, side):
        return _OneSided(value, str(side), self.span(meta))

    def bindings(self, meta, *items):
        return list(items)

    def binding(self, meta, name, dist):
        return _Binding(str(name), dist, self.span(meta))

    # -- calls
    def call(self, meta, name_tok, args):
        name = str(name_tok)
        items = args.children if args is not None else []
        if name in SIMPLE_FUNCTIONS:
            self._arity(meta, name, items, 1)
            return SIMPLE_FUNCTIONS[name](self._scalar(meta, self._unwrap(items[0]), name))
        if name in ("min", "max"):
            if len(items) < 2:
                self.fail(meta, f"{name} takes two or more arguments")
            vals = [self._scalar(meta, self._unwrap(i), name) for i in items]
            return sp.Min(*vals) if name == "min" else sp.Max(*vals)
        handler = getattr(self, "call_" + name, None)
        if handler is not None and name not in self.scope.symbols:
            return handler(meta, items)
        if name in self.scope.functions:
            lam = self.scope.functions[name]
            self._arity(meta, name, items, len(lam.variables))
            if self.display:
                return sp.Function(name)(*[self._unwrap(i) for i in items])
            return _applied(lam, [self._scalar(meta, self._unwrap(i), name) for i in items])
        info = self.scope.symbols.get(name)
        if info is not None and info.kind in ("function", "density"):
            self._arity(meta, name, items, info.arity)
            return info.obj(*[self._scalar(meta, self._unwrap(i), name) for i in items])
        if _is_density(self.scope.values.get(name)) and not self.display:
            self._arity(meta, name, items, 1)
            return self.scope.values[name](self._scalar(meta, self._unwrap(items[0]), name))
        if name in self.scope.values or info is not None or name in self.bound or name in CONSTANTS:
            # `a (b)` with `a` not a function: juxtaposition, i.e. multiplication.
            if len(items) != 1:
                self.fail(meta, f"{name!r} is not a function, so '{name}(...)' can only multiply one factor")
            return _Jux(self.name(meta, name_tok), self._unwrap(items[0]))
        self.unresolved.setdefault(name, self.span(meta))
        self.fail(meta, f"{name!r} is not declared; declare it under `symbols:` (e.g. `{name}: function`)")

    def _arity(self, meta, name, items, n):
        if len(items) != n:
            self.fail(meta, f"{name} takes {n} argument{'s' if n != 1 else ''}, got {len(items)}")
        for i in items:
            if isinstance(i, (_KwArg, _Binding)):
                self.fail(meta, f"{name} does not take keyword arguments")

    def prime_call(self, meta, name_tok, primes, args):
        name, k = str(name_tok), len(primes)
        info = self.scope.symbols.get(name)
        if info is None or info.kind != "function":
            self.fail(meta, f"{name}{primes} needs {name!r} declared as a `function`")
        if info.arity != 1:
            self.fail(meta, f"{name}{primes} is for one-argument functions; use diff(...) instead")
        self._arity(meta, name, args.children, 1)
        arg = self._scalar(meta, self._unwrap(args.children[0]), name)
        u = sp.Symbol("ξ", real=True)  # not typeable, so never a user name
        deriv = sp.Derivative(info.obj(u), (u, k))
        if isinstance(arg, sp.Symbol):
            return deriv.subs(u, arg)
        # f'(g(x)) is f' evaluated at g(x): as Derivative(f(g(x)), g(x)) it would break once g is a
        # concrete function (and SymPy's own chain rule writes it as this Subs).
        return sp.Subs(deriv, u, arg)

    def inverse_call(self, meta, tok, name_tok, args):
        """inverse(F)(x): the inverse of a declared increasing bijection at x."""
        name = str(name_tok)
        info = self.scope.symbols.get(name)
        if info is None or info.kind != "function" or "onto" not in info.flags or info.arity != 1:
            self.fail(meta, f"inverse({name}) needs {name!r} declared an `increasing bijection` (a function of one "
                            "argument onto the real line, so that its inverse exists everywhere)")
        self._arity(meta, "inverse(" + name + ")", args.children, 1)
        return inverse_function(info.obj)(self._scalar(meta, self._unwrap(args.children[0]), "inverse(" + name + ")"))

    def index(self, meta, name_tok, args):
        name = str(name_tok)
        info = self.scope.symbols.get(name)
        items = [self._unwrap(i) for i in args.children]
        if info is not None and info.kind == "matrix":
            rows, cols = info.shape
            if len(items) == 1 and cols == 1:
                items = [items[0], sp.Integer(1)]
            if len(items) != 2:
                self.fail(meta, f"{name} is {rows}×{cols}; index it as {name}[i, j]")
            for it, size in zip(items, (rows, cols)):
                if it.is_Integer and not (1 <= it and (not size.is_Integer or it <= size)) or \
                        (it - 1).is_negative or (size - it).is_negative:
                    self.fail(meta, f"index {sp.sstr(it)} is outside 1..{sp.sstr(size)} (indices are 1-based)")
            try:
                return info.obj[items[0] - 1, items[1] - 1]
            except (IndexError, ValueError, TypeError):
                self.fail(meta, f"{name}[{', '.join(sp.sstr(i) for i in items)}] is not an entry of {name} "
                                f"({sp.sstr(rows)}×{sp.sstr(cols)}; indices are 1-based)")
        # Not a vector or matrix: the bracket is a factor.
        return _Jux(self.name(meta, name_tok), self.bracket(meta, args))

    def call_index(self, meta, name_tok, call_args, args):
        """inv(M)[1, 1]: an entry of a matrix-valued call; a scalar call times a bracket otherwise."""
        return self._index_value(meta, self.call(meta, name_tok, call_args), args)

    def group_index(self, meta, x, args):
        """(A^-1)[1, 2]: an entry of a bracketed matrix; a scalar times a bracket otherwise."""
        return self._index_value(meta, self._unwrap(x), args)

    def _index_value(self, meta, value, args):
        value = self._unwrap(value)
        if _is_matrix(value) and not isinstance(value, sp.MatrixBase) and not value.atoms(sp.MatrixSymbol) \
                and all(isinstance(d, int) or getattr(d, 'is_Integer', False) for d in value.shape):
            value = value.doit()  # inv([[a, b], [c, d]]) as its explicit inverse
        if not isinstance(value, sp.MatrixBase):
            if _is_matrix(value):
                if all(isinstance(d, int) or getattr(d, 'is_Integer', False) for d in value.shape):
                    return unsupported("indexing into a matrix expression of declared matrices")
                self.fail(meta, "only a matrix of explicit size can be indexed after a call or bracket")
            return _Jux(value, self.bracket(meta, args))
        items = [self._unwrap(i) for i in args.children]
        rows, cols = value.shape
        if not all(isinstance(i, sp.Integer) for i in items):
            # inv(Sigma) [xa - mua, xb - mub]: a matrix times a column, as the library writes it
            return _Jux(value, self.bracket(meta, args))
        if len(items) == 1 and cols == 1:
            items = [items[0], sp.Integer(1)]
        if len(items) != 2:
            self.fail(meta, f"this is a {rows}×{cols} matrix; index it with numbers as [i, j]")
        i, j = (int(x) for x in items)
        if not (1 <= i <= rows and 1 <= j <= cols):
            self.fail(meta, f"index [{i}, {j}] is outside the {rows}×{cols} matrix (indices are 1-based)")
        return value[i - 1, j - 1]

    def dderiv(self, meta, tok, expr):
        var_name = str(tok)[3:]
        var = self.name(meta, Token.new_borrow_pos("NAME", var_name, tok))
        return self._derivative(meta, self._unwrap(expr), var, 1)

    def _derivative(self, meta, expr, var, order):
        if not isinstance(var, sp.Symbol):
            self.fail(meta, "differentiate with respect to a name")
        if var.is_integer:
            # the body was built with the integer assumption (sin(pi n) is 0): its derivative would be read as 0
            self.fail(meta, f"`{var.name}` is declared an integer, and a derivative needs a real variable; declare it "
                            "real")
        if _is_matrix(expr):
            if isinstance(expr, sp.MatrixBase):
                return sp.ImmutableMatrix(expr.rows, expr.cols, [sp.Derivative(e, (var, order)) for e in expr])
            return unsupported("derivative of a symbolic-size matrix", expr)
        return sp.Derivative(expr, (var, order))

    def expectation(self, meta, tok, bindings, expr):
        body = self._unwrap(expr)
        if _is_matrix(body):
            if body.shape != (1, 1):
                return unsupported("the expectation of a matrix", body)
            body = body[0, 0]
        if str(tok) == "Law":
            return self._law(meta, bindings, body)
        if str(tok) == "Var" and len(bindings) > 1:
            # Var over the joint (independent) draws: E[f^2] - E[f]^2, both over every binding.
            return (self._expectations(meta, "E", bindings, body ** 2)
                    - self._expectations(meta, "E", bindings, body) ** 2)
        return self._expectations(meta, tok, bindings, body)

    def _law(self, meta, bindings, body):
        """Law[z1 ~ D1, ...](body): the distribution of a scalar body, each draw binding its name."""
        variables, dists, swap = [], [], {}
        for b in bindings:
            # A draw may depend on the draws before it (a chain of transitions): those are swapped in first.
            dist = self._unwrap(b.dist).xreplace(swap)
            if not isinstance(dist, (Normal, Bernoulli, Uniform, Dirac)):
                self.fail(meta, f"Law draws scalars from Normal, Bernoulli, Uniform or Dirac; `{b.name} ~` "
                                "has something else")
            info = self.scope.symbols.get(b.name)
            if info is not None and info.kind != "scalar":
                self.fail(meta, f"Law draws scalars; {b.name} is declared as a {info.kind}")
            var = self.bound.get(b.name) or (info.obj if info is not None else _placeholder(b.name))
            name = var.name.lstrip("?")
            self.bound_names.add(name)
            new = sp.Dummy(name, dummy_index=BOUND_INDEX + len(variables) + 1, real=True)
            swap.update({_placeholder(name): new, var: new})
            variables.append(new)
            dists.append(dist)
        body = body.xreplace(swap)
        return law(variables, dists, body)

    def _expectations(self, meta, tok, bindings, body):
        """The nested expectations of a scalar body over the bindings, innermost last."""
        for b in reversed(bindings):
            dist = self._unwrap(b.dist)
            if not is_distribution(dist):
                raise DeclarationError(f"after `{b.name} ~` comes a distribution (Normal(mu, var), Bernoulli(p), "
                                       "a declared density, ...)", b.span)
            info = self.scope.symbols.get(b.name)
            if isinstance(dist, MvNormal):
                if info is None or info.kind != "matrix" or info.shape[1] != 1:
                    return unsupported("a draw from a multivariate Normal that is not a declared `vector(k)`")
                self._check_mvnormal(b, info, dist)
                # Isserlis gives exact moments of polynomials only (distributions: moments polynomial in their arguments)
                if not linalg.polynomial_in(body, info.obj, (MvNormal, Normal, Bernoulli, Dirac)):
                    return unsupported("the expectation of a non-polynomial function of a multivariate Normal vector")
            if info is not None and info.kind == "matrix":
                if not isinstance(dist, (Normal, Bernoulli, Uniform, Dirac, MvNormal)):
                    return unsupported("a random matrix drawn from a density")
                if str(tok) == "Var" and len(bindings) == 1:
                    return (linalg.MatExpectation(body ** 2, info.obj, dist)
                            - linalg.MatExpectation(body, info.obj, dist) ** 2)
                body = linalg.MatExpectation(body, info.obj, dist)  # i.i.d. entries, or jointly Normal
                continue
            var = self.bound.get(b.name) or (info.obj if info is not None else _placeholder(b.name))
            if info is not None and b.name not in self.bound:
                values = {Bernoulli: lambda: sp.FiniteSet(0, 1), Dirac: lambda: sp.FiniteSet(dist.args[0])}.get(type(dist))
                inside = values().is_subset(value_set(info)) is True if values else \
                    _inside_declared(info, *(dist.args if isinstance(dist, Uniform) else (-sp.oo, sp.oo)),
                                     continuous=True)
                if not inside:
                    raise DeclarationError(f"`{b.name}` is declared {info.domain}, but `{b.name} ~` draws it outside "
                                           "that type: the body would be simplified with the wrong assumptions; use "
                                           "another name for the drawn variable, or declare it real", b.span)
            body, z = self._bind(body, var, dict(real=True))
            if str(tok) == "Var" and b is bindings[0] and len(bindings) == 1:
                return Expectation(bind(z, body ** 2), dist) - Expectation(bind(z, body), dist) ** 2
            body = Expectation(bind(z, body), dist)
        return body

    def _check_mvnormal(self, b, info, dist):
        """x ~ Normal(mu, S) for a declared vector x: mu has x's shape, S is its square covariance."""
        mu, cov = dist.args
        k = info.shape[0]
        if mu.shape != info.shape or cov.shape != (k, k):
            raise DeclarationError(f"{b.name} is a {k}×1 vector, so Normal(mu, S) needs a {k}×1 mean and a "
                                   f"{k}×{k} covariance, not {mu.shape[0]}×{mu.shape[1]} and "
                                   f"{cov.shape[0]}×{cov.shape[1]}", b.span)
        if mu.has(info.obj) or cov.has(info.obj):
            raise DeclarationError(f"the distribution of {b.name} cannot depend on {b.name}", b.span)
        cov_info = next((i for i in self.scope.symbols.values() if i.obj == cov), None)
        if cov_info is not None and not cov_info.flags & {"symmetric", "spd"}:
            raise DeclarationError(f"the covariance {cov_info.name} of {b.name} must be declared "
                                   f"`matrix({k}, {k}) spd` (or `symmetric`)", b.span)

    def divergence(self, meta, tok, p, sep, q):
        p, q = self._unwrap(p), self._unwrap(q)
        for d in (p, q):
            if not is_distribution(d):
                self.fail(meta, f"{tok} compares two distributions or declared densities")
        return KL(p, q) if str(tok) == "KL" else JSD(p, q)

    def _distribution(self, meta, items, cls, n):
        self._arity(meta, cls.__name__, items, n)
        args = [self._unwrap(i) for i in items]
        if cls is Normal and any(_is_matrix(a) for a in args):
            mu, cov = args
            if not (_is_matrix(mu) and _is_matrix(cov) and mu.shape[1] == 1 and cov.shape == (mu.shape[0],) * 2):
                self.fail(meta, "a multivariate Normal takes a k×1 mean and a k×k covariance")
            problem = parameter_problem(MvNormal(mu, cov))
            if problem:
                self.fail(meta, problem)
            return MvNormal(mu, cov)
        dist = cls(*[self._scalar(meta, a, cls.__name__) for a in args])
        problem = parameter_problem(dist)
        if problem:
            self.fail(meta, problem)
        return dist

    def call_Normal(self, meta, items):
        return self._distribution(meta, items, Normal, 2)

    def call_Bernoulli(self, meta, items):
        return self._distribution(meta, items, Bernoulli, 1)

    def call_Uniform(self, meta, items):
        return self._distribution(meta, items, Uniform, 2)

    def call_Dirac(self, meta, items):
        return self._distribution(meta, items, Dirac, 1)

    def call_pdf(self, meta, items):
        self._arity(meta, "pdf", items, 2)
        dist, z = self._unwrap(items[0]), self._scalar(meta, self._unwrap(items[1]), "pdf")
        if not is_distribution(dist):
            self.fail(meta, "pdf takes a distribution (or a declared density) and a point: pdf(D, z)")
        if isinstance(dist, Dirac):
            self.fail(meta, "a Dirac distribution has no density")
        return pdf(dist, z)

    # Built-in calls with structure. Each takes the raw argument list.
    def call_diff(self, meta, items):
        if len(items) not in (2, 3):
            self.fail(meta, "diff takes (expr, x) or (expr, x, n)")
        order = 1
        if len(items) == 3:
            order = self._unwrap(items[2])
            if not (order.is_Integer and 1 <= order <= MAX_DERIVATIVE_ORDER):
                self.fail(meta, f"the order of a derivative is a whole number from 1 to {MAX_DERIVATIVE_ORDER}")
        return self._derivative(meta, self._unwrap(items[0]), self._unwrap(items[1]), int(order))

    def _bound_call(self, meta, items, fname, assumptions):
        var = self._unwrap(items[1])
        if not isinstance(var, sp.Symbol):
            self.fail(meta, f"the second argument of {fname} is the name of the variable")
        return self._bind(self._unwrap(items[0]), var, assumptions)

    def call_integral(self, meta, items):
        if len(items) not in (2, 4):
            self.fail(meta, "integral takes (expr, x) or (expr, x, a, b)")
        body, var = self._bound_call(meta, items, "integral", dict(real=True))
        if len(items) == 2:
            self._bound_in_type(meta, items[1], -sp.oo, sp.oo, continuous=True)
            return sp.Integral(body, (var, -sp.oo, sp.oo))
        a, b = (self._scalar(meta, self._unwrap(i), "a bound") for i in items[2:])
        self._bound_in_type(meta, items[1], a, b, continuous=True)
        return sp.Integral(body, (var, a, b))

    def _bound_in_type(self, meta, declared, lo, hi, continuous: bool = False) -> None:
        """A bound variable that shares its name with a declared symbol must run inside that symbol's type."""
        declared = self._unwrap(declared)
        info = self.scope.symbols.get(str(declared.name).lstrip("?")) if isinstance(declared, sp.Symbol) else None
        if not _inside_declared(info, lo, hi, continuous):
            self.fail(meta, f"`{info.name}` is declared {info.domain}, but here it is bound over a range outside "
                            f"that type ({sp.sstr(lo)} to {sp.sstr(hi)}): the formula would be simplified with the "
                            "wrong assumptions; use another name for the bound variable, or declare it real")

    def call_normalize(self, meta, items):
        """normalize(f, z): the density proportional to f (f divided by its integral over the real line)."""
        self._arity(meta, "normalize", items, 2)
        body, var = self._bound_call(meta, items, "normalize", dict(real=True))
        body = self._scalar(meta, body, "normalize")
        return normalized(body, var)

    def call_limit(self, meta, items):
        if len(items) != 3:
            self.fail(meta, "limit takes (expr, x, a), or (expr, x, a+) / (expr, x, a-) for one side")
        declared = self._unwrap(items[1])
        body, var = self._bound_call(meta, items, "limit", dict(real=True))
        point, side = items[2], ""
        if isinstance(point, _OneSided):
            point, side = point.value, point.side
        to = self._unwrap(point)
        info = self.scope.symbols.get(declared.name) if isinstance(declared, sp.Symbol) else None
        # a limit goes to a point of the closure of the declared type (0 for positive or nonzero x); a symbolic point
        # must be known to lie there (x positive, a real: limit(sqrt(x^2), x, a) would be read as a)
        if info is not None and to not in (sp.oo, -sp.oo) and info.domain in ("integer", "posint"):
            self.fail(meta, f"`{info.name}` is declared an integer: it can tend to oo or -oo only (a sequence's "
                            "limit); declare it real for a limit at a point")
        if info is not None and to not in (sp.oo, -sp.oo) and value_set(info).closure.contains(to) is not sp.true:
            self.fail(meta, f"`{info.name}` is declared {info.domain}, so it can only tend to a point of that type or "
                            f"an end of it; {sp.sstr(to)} is not known to be one (declare it so, or declare "
                            f"`{info.name}` real)")
        inside = limit_direction(info, to)
        if side and inside in ("+", "-") and side != inside:
            # y -> 0- for a positive y leaves its type, and SymPy, knowing y > 0, would read abs(y)/y there as 1
            self.fail(meta, f"`{info.name}` is declared {info.domain}: it reaches {sp.sstr(to)} from "
                            f"{'above' if inside == '+' else 'below'} only ({sp.sstr(to)}{inside})")
        return sp.Limit(body, var, to, limit_direction(info, to, side))

    def _sum_or_prod(self, meta, items, cls, fname):
        if len(items) != 4:
            self.fail(meta, f"{fname} takes (expr, j, from, to)")
        body, var = self._bound_call(meta, items, fname, dict(integer=True))
        lo, hi = (self._scalar(meta, self._unwrap(i), "a bound") for i in items[2:])
        for end in (lo, hi):
            # sum(j, j, 1, x) for a real x is SymPy's formal value x (x + 1)/2, not a sum of terms; so is
            # sum(1, j, 1, n/2) = n/2 for an odd n
            if end not in (sp.oo, -sp.oo) and end.is_integer is not True:
                self.fail(meta, f"the bounds of {fname} must be integers; `{sp.sstr(end)}` is not known to be one "
                                "(declare its names integers)")
        self._bound_in_type(meta, items[1], lo, hi)
        problem = _index_outside(body, var, lo, hi)
        if problem:
            self.fail(meta, problem)
        if isinstance(body, sp.Basic) and any(var in d.variables for d in body.atoms(sp.Derivative)):
            # the index is an integer: sin(pi j) is already 0, and so would be its derivative
            self.fail(meta, f"a derivative in {fname}'s own index `{var.name}`, which is an integer")
        return cls(body, (var, lo, hi))

    def call_sum(self, meta, items):
        return self._sum_or_prod(meta, items, sp.Sum, "sum")

    def call_prod(self, meta, items):
        return self._sum_or_prod(meta, items, sp.Product, "prod")

    def call_subs(self, meta, items):
        if len(items) < 2 or any(not isinstance(i, _KwArg) or i.arrow for i in items[1:]):
            self.fail(meta, "subs takes (expr, x = value, ...)")
        expr = self._unwrap(items[0])
        pairs = [(self.name(meta, Token("NAME", i.name)), self._unwrap(i.value)) for i in items[1:]]
        for i, (_, value) in zip(items[1:], pairs):
            problem = outside_declared(self.scope.symbols.get(i.name), value, self.scope.symbols)
            if problem:
                self.fail(meta, problem)
        syms, values = zip(*pairs)
        return at_point(expr, syms, values)

    def _optimum(self, meta, items, kind):
        if len(items) != 2:
            self.fail(meta, f"{kind} takes (expr, x)")
        var = self._unwrap(items[1])
        if not isinstance(var, sp.Symbol):
            self.fail(meta, f"{kind} optimises over a declared name")
        return Optimum(sp.Symbol(kind), self._scalar(meta, self._unwrap(items[0]), kind), var)

    def call_argmax(self, meta, items):
        return self._optimum(meta, items, "argmax")

    def call_argmin(self, meta, items):
        return self._optimum(meta, items, "argmin")

    def call_maximum(self, meta, items):
        return self._optimum(meta, items, "maximum")

    def call_minimum(self, meta, items):
        return self._optimum(meta, items, "minimum")

    def _variables(self, meta, x, fname):
        x = self._unwrap(x)
        if isinstance(x, sp.MatrixBase):
            vs = list(x)
        else:
            vs = [x]
        if not all(isinstance(v, sp.Symbol) for v in vs):
            if _is_matrix(x):
                return None
            self.fail(meta, f"{fname} differentiates with respect to names, e.g. [a, b]")
        integer = next((v for v in vs if v.is_integer), None)
        if integer is not None:  # as for diff: its formulas are built knowing it is an integer (sin(pi n) is 0)
            self.fail(meta, f"`{integer.name}` is declared an integer, and {fname} needs real variables; declare it "
                            "real")
        return vs

    def call_grad(self, meta, items):
        self._arity(meta, "grad", items, 2)
        f = self._scalar(meta, self._unwrap(items[0]), "grad")
        vs = self._variables(meta, items[1], "grad")
        if vs is None:
            return self._matrix_calculus(meta, linalg.MatGrad, f, self._unwrap(items[1]), "grad")
        return sp.ImmutableMatrix([[sp.Derivative(f, v)] for v in vs])

    def _matrix_calculus(self, meta, head, f, w, fname):
        if not (isinstance(w, sp.MatrixSymbol) and w.shape[1] == 1):
            self.fail(meta, f"{fname} differentiates with respect to a declared vector or a list of names")
        return head(f, w)

    def call_jacobian(self, meta, items):
        self._arity(meta, "jacobian", items, 2)
        fs = self._unwrap(items[0])
        fs = list(fs) if isinstance(fs, sp.MatrixBase) else [fs]
        vs = self._variables(meta, items[1], "jacobian")
        if vs is None:
            return self._vector_jacobian(meta, self._unwrap(items[0]), self._unwrap(items[1]))
        return sp.ImmutableMatrix([[sp.Derivative(f, v) for v in vs] for f in fs])

    def _vector_jacobian(self, meta, f, x):
        """jacobian(f, x) for a declared vector x of symbolic size: a matrix expression, or unsupported."""
        if not (isinstance(x, sp.MatrixSymbol) and x.shape[1] == 1):
            self.fail(meta, "jacobian differentiates with respect to a declared vector or a list of names")
        if not (_is_matrix(f) and f.shape[1] == 1):
            self.fail(meta, "jacobian of a vector of symbolic size needs a column vector expression")
        try:
            return linalg.jacobian(f, x).doit()
        except NotImplementedError as exc:
            return unsupported(f"jacobian with respect to a symbolic-size vector of a function that is not affine "
                               f"or an elementwise product ({exc})")

    def call_hessian(self, meta, items):
        self._arity(meta, "hessian", items, 2)
        f = self._scalar(meta, self._unwrap(items[0]), "hessian")
        vs = self._variables(meta, items[1], "hessian")
        if vs is None:
            return self._matrix_calculus(meta, linalg.MatHessian, f, self._unwrap(items[1]), "hessian")
        return sp.ImmutableMatrix([[sp.Derivative(f, a, b) for b in vs] for a in vs])

    def _square(self, meta, items, fname):
        self._arity(meta, fname, items, 1)
        m = self._unwrap(items[0])
        if not _is_matrix(m):
            return None
        if m.shape[0] != m.shape[1]:
            self.fail(meta, f"{fname} needs a square matrix; this one is {m.shape[0]}×{m.shape[1]}")
        return m

    def call_det(self, meta, items):
        m = self._square(meta, items, "det")
        return self._unwrap(items[0]) if m is None else sp.Determinant(m)

    def call_tr(self, meta, items):
        m = self._square(meta, items, "tr")
        return self._unwrap(items[0]) if m is None else sp.Trace(m)

    def call_inv(self, meta, items):
        m = self._square(meta, items, "inv")
        return 1 / self._unwrap(items[0]) if m is None else self._inverse(meta, m)

    def _inverse(self, meta, m):
        if m.shape[0] != m.shape[1]:
            self.fail(meta, f"only a square matrix has an inverse; this one is {m.shape[0]}×{m.shape[1]}")
        if linalg.singular(m):
            self.fail(meta, "this matrix is singular for every value of its names (its determinant is 0, or its "
                            "factors' shapes bound its rank below its size, for every size but the smallest when "
                            "the size is a name), so it has no inverse")
        return sp.Inverse(m)

    def call_transpose(self, meta, items):
        self._arity(meta, "transpose", items, 1)
        m = self._unwrap(items[0])
        return m.T if _is_matrix(m) else m

    def call_eigenvals(self, meta, items):
        m = self._square(meta, items, "eigenvals")
        if m is None:
            self.fail(meta, "eigenvals needs a square matrix")
        if not isinstance(m, sp.MatrixBase):
            return unsupported("eigenvalues of a symbolic-size matrix", m)
        return Eigenvals(m)

    def call_eye(self, meta, items):
        self._arity(meta, "eye", items, 1)
        n = self._unwrap(items[0])
        if not (n.is_Integer and 1 <= n <= MAX_MATRIX_SIDE) and \
                not (getattr(n, "is_integer", None) and getattr(n, "is_positive", None)):
            # tr(eye(x)) = x for a real x would be proved of a size that is no size
            self.fail(meta, f"the size of eye(...) is a positive integer; `{sp.sstr(n)}` is not known to be one "
                            "(declare it `positive integer`)")
        return _identity(n)

    def call_diag(self, meta, items):
        self._arity(meta, "diag", items, 1)
        m = self._unwrap(items[0])
        if isinstance(m, sp.MatrixBase):
            if m.shape[1] == 1:
                return sp.ImmutableMatrix(sp.diag(*list(m)))
            if m.shape[0] == m.shape[1]:
                return sp.ImmutableMatrix(sp.diag(*[m[i, i] for i in range(m.shape[0])]))
        if _is_matrix(m) and m.shape[0] == m.shape[1]:
            return linalg.DiagPart(m)
        if _is_matrix(m) and m.shape[1] == 1:
            return linalg.DiagPart(m)  # diag(v): v on the diagonal
        self.fail(meta, "diag takes a vector or a square matrix")

    def call_norm(self, meta, items):
        self._arity(meta, "norm", items, 1)
        return self.norm(meta, None, items[0], None)


def _guard_power(base, exp, builder, meta) -> None:
    """Refuse powers whose exact value would be astronomically large (e.g. 2^(10^(10^10)))."""
    if base.is_Number and exp.is_Number and base not in (0, 1, -1):
        b = abs(base)
        if exp.is_Rational and not exp.is_Integer:
            digits = float(abs(exp)) * max(math.log10(float(b.p)), math.log10(float(b.q)) if b.q > 1 else 0)
        else:
            size = max(abs(int(b.p)), abs(int(b.q))) if b.is_Rational else float(b)
            digits = float(abs(exp)) * math.log10(float(size)) if size > 1 else 0
        if digits > MAX_RESULT_DIGITS:
            builder.fail(meta, f"this power would have about {digits:.3g} digits; the limit is "
                               f"{MAX_RESULT_DIGITS}", LimitError)
    elif exp.is_Number and abs(exp) > MAX_SYMBOLIC_EXPONENT:
        builder.fail(meta, f"exponents are limited to ±{MAX_SYMBOLIC_EXPONENT}", LimitError)


# ---------------------------------------------------------------------------------------------
# Entry points


@dataclass(frozen=True)
class ParsedStep:
    """One parsed step line."""

    op: str  # = <= < >= > ==> <==>
    body: object  # SymPy expression (expression chain) or Relation (statement chain)
    rule: RuleCall | None
    text: Text
    body_text: str = ""  # the formula after the relation, without the rule


def _transform(builder: ExprBuilder, tree):
    try:
        out = builder.transform(tree)
        return builder._unwrap(out) if isinstance(out, (_Jux, _BlockRow)) else out
    except VisitError as exc:
        orig = exc.orig_exc
        if isinstance(orig, ProofcheckError):
            raise orig from None
        if isinstance(orig, RecursionError):
            raise LimitError("formula nested too deeply", builder.text.span) from None
        if isinstance(orig, (ValueError, TypeError, ZeroDivisionError, sp.ShapeError, AttributeError,
                             NotImplementedError)):
            line = getattr(exc.obj, "meta", None)
            span = builder.span(line) if line is not None and not getattr(line, "empty", True) else builder.text.span
            raise ParseError(f"cannot build this formula: {orig}", span) from None
        raise


def _relation(builder: ExprBuilder, tree) -> Relation:
    lhs, op, rhs = tree.children
    lhs, rhs = _transform(builder, lhs), _transform(builder, rhs)
    # `v = 0` for a vector or matrix v means the zero matrix of its shape.
    if _is_matrix(lhs) and not _is_matrix(rhs) and rhs == 0:
        rhs = sp.ZeroMatrix(*lhs.shape) if not isinstance(lhs, sp.MatrixBase) else sp.zeros(*lhs.shape).as_immutable()
    if _is_matrix(rhs) and not _is_matrix(lhs) and lhs == 0:
        lhs = sp.ZeroMatrix(*rhs.shape) if not isinstance(rhs, sp.MatrixBase) else sp.zeros(*rhs.shape).as_immutable()
    for side in (lhs, rhs):
        if isinstance(side, (_KwArg, _Binding, _Args)):
            raise ParseError("a relation compares two expressions", builder.text.span)
    return Relation(lhs, str(op), rhs)


def parse_expression_or_relation(text: Text, scope: Scope, display: bool = False):
    """The first line of a chain: an expression or a relation."""
    tree = _parse_tree(text, "start_line")
    b = ExprBuilder(scope, text, display=display)
    inner = tree.children[0]
    value = _relation(b, inner) if tree.data == "line_relation" else _transform(b, inner)
    return b.finish(value)


def parse_step(text: Text, scope: Scope, display: bool = False) -> ParsedStep:
    """A step line: `REL expr [by rule]` or `==> relation [by rule]`."""
    tree = _parse_tree(text, "step_line")
    b = ExprBuilder(scope, text, display=display)
    op_tok, body, rule_tree = tree.children
    if tree.data == "step_bad_chain":
        raise ParseError("a step line holds one relation; start a statement chain step with ==> or <==>",
                         b.span(op_tok))
    value = _relation(b, body) if tree.data == "step_stmt" else _transform(b, body)
    b.finish(value)
    rule = _rule(rule_tree, text, scope) if rule_tree is not None else None
    while getattr(body, "data", None) == "group":  # a step wholly in parentheses: show what is inside
        body = body.children[0]
    meta = body.meta
    body_text = text.text[meta.start_pos:meta.end_pos] if not meta.empty else ""
    return ParsedStep(str(op_tok), value, rule, text, " ".join(body_text.split()))


def _rule(tree, text: Text, scope: Scope) -> RuleCall:
    name_tok = tree.children[1]
    b = ExprBuilder(scope, text)
    args, kwargs, arrows = [], [], []
    if tree.data == "rule_call":
        for arg in tree.children[2].children:
            v = _transform(b, arg)
            if isinstance(v, _KwArg) and v.arrow:
                side = v.value.side if isinstance(v.value, _OneSided) else ""
                value = b.finish(b._unwrap(v.value.value if side else v.value))
                arrows.append((v.name, value, limit_direction(scope.symbols.get(v.name), value, side)))
            elif isinstance(v, _KwArg):
                value = b.finish(b._unwrap(v.value))
                problem = outside_declared(scope.symbols.get(v.name), value, scope.symbols) if str(name_tok) == "at" else ""
                if problem:
                    raise DeclarationError(problem, b.span(name_tok))
                kwargs.append((v.name, value))
            else:
                args.append(v)
    # Names inside rule arguments (e.g. `x` in at(x = 0)) must still be declared.
    for name, *_ in kwargs + arrows:
        if name not in scope.symbols and not (str(name_tok) == "parts" and name in ("u", "v", "dv")):
            raise DeclarationError(f"{name!r} is not declared", b.span(name_tok))
    return RuleCall(str(name_tok), tuple(args), tuple(kwargs), tuple(arrows), b.span(name_tok))


def outside_declared(info, value, symbols: dict | None = None) -> str:
    """Why `name = value` (in subs/at) may leave the name's declared type, or ''.

    Formulas are simplified with the declarations (sqrt(x^2) is x for x positive), so evaluating
    them at a value the type does not allow would prove false statements. What SymPy's assumptions
    cannot see (1 - a > 0 for a in interval(0, 1)) is tried again with each interval-declared
    name written as low + (high - low) sigmoid(t), which the assumptions do understand."""
    if info is None or info.kind != "scalar" or not isinstance(value, sp.Basic):
        return ""
    d = info.domain
    want = {"positive": ("is_positive", "positive"), "nonnegative": ("is_nonnegative", "nonnegative"),
            "negative": ("is_negative", "negative"), "nonzero": ("is_nonzero", "nonzero"),
            "integer": ("is_integer", "an integer"), "real": ("is_real", "real"),
            "interval": ("is_real", "real")}
    checks = [want["positive"], want["integer"]] if d == "posint" else ([want[d]] if d in want else [])
    for prop, what in checks:
        got = _shown(value, prop, symbols)
        if got is False or (got is None and d != "real"):
            shown = "is not" if got is False else "is not known to be"
            kind = "positive integer" if d == "posint" else ("interval" if d == "interval" else d)
            return f"{info.name} is declared {kind}, but {sp.sstr(value)} {shown} {what}"
    if d == "interval":
        for bound, op, sign in ((info.low, ">", 1), (info.high, "<", -1)):
            if bound is None:
                continue
            ok = _shown(sign * (value - bound), "is_positive", symbols)
            if ok is not True:
                shown = "is not" if ok is False else "is not known to be"
                return f"{info.name} is declared in interval({sp.sstr(info.low)}, {sp.sstr(info.high)}), but " \
                       f"{sp.sstr(value)} {shown} {op} {sp.sstr(bound)}"
    return ""


def _shown(value, prop: str, symbols: dict | None):
    """value.prop, asking again with interval-declared names re-parametrised when SymPy cannot tell."""
    got = getattr(value, prop)
    if got is not None or not symbols:
        return got
    sub = {}
    for info in symbols.values():
        if info.kind == "scalar" and info.domain == "interval" and info.obj in value.free_symbols \
                and info.low is not None and info.high is not None and info.low.is_number and info.high.is_number:
            t = sp.Dummy(f"t_{info.name}", real=True)
            sub[info.obj] = info.low + (info.high - info.low) / (1 + sp.exp(-t))
    if not sub:
        return None
    v = value.xreplace(sub)
    for form in (v, sp.together(v), sp.factor(sp.together(v))):
        got = getattr(form, prop)
        if got is not None:
            return got
    return None


def _index_outside(body, var, lo, hi) -> str:
    """Why an entry u[j] under a sum over j from lo to hi may fall outside u, where it is shown to for an end
    (u[0] at j = 0: a concrete matrix would wrap it round to the last entry); '' otherwise."""
    if not isinstance(body, sp.Basic) or sp.oo in (lo, hi, -lo, -hi):
        return ""
    for e in body.atoms(sp.matrices.expressions.matexpr.MatrixElement):
        for idx, size in zip(e.args[1:], e.args[0].shape):
            if var not in getattr(idx, "free_symbols", ()):
                continue
            if lo.is_Integer and hi.is_Integer and hi - lo < 1000 and idx.free_symbols == {var}:
                ends = [idx.subs(var, j) for j in range(int(lo), int(hi) + 1)]  # every index a short sum takes
            elif idx.is_polynomial(var) and sp.degree(idx, var) == 1:
                ends = [idx.subs(var, lo), idx.subs(var, hi)]
            else:
                continue
            if any(x.is_negative for x in ends) or any((size - 1 - x).is_negative for x in ends):
                return (f"the sum runs {var.name} from {sp.sstr(lo)} to {sp.sstr(hi)}, which takes the index of "
                        f"{e.args[0]} outside 1..{sp.sstr(size)} (indices are 1-based)")
    return ""


def _inside_declared(info, lo, hi, continuous: bool = False) -> bool:
    """Whether every value strictly between lo and hi (integers from lo on for a sum) lies in the declared type of
    the symbol of that name: only then may its body have been built with the symbol's assumptions (Abs(z) -> z for
    a positive z). An end may be the type's own end (an integral from 0 for a positive x). A continuous range (an
    integral, a uniform draw) never lies in an integer type: sin(pi n) would be 0 under the integral."""
    if info is None or info.domain in ("real", "complex"):
        return True
    if continuous and info.domain in ("integer", "posint"):
        return False

    def shown(e) -> bool:
        return bool(isinstance(e, sp.Basic) and e.is_nonnegative)
    low = {"positive": 0, "nonnegative": 0, "posint": 1}.get(info.domain)
    if low is not None:
        return shown(lo - low)
    if info.domain == "negative":
        return shown(-hi)
    if info.domain == "interval":
        a = info.low if info.low is not None else -sp.oo
        b = info.high if info.high is not None else sp.oo
        return (a == -sp.oo or shown(lo - a)) and (b == sp.oo or shown(b - hi))
    return info.domain == "integer" and lo.is_integer is True


def limit_direction(info, to, side: str = "") -> str:
    """SymPy's dir for a limit at `to`: the written side, else from inside the variable's declared
    domain when `to` is its end (s -> 0 for s positive is from the right), else two-sided ("+-")."""
    if side:
        return side
    if to in (sp.oo, -sp.oo):
        return "-" if to == sp.oo else "+"
    if info is not None:
        d = info.domain
        if to == 0 and d in ("positive", "nonnegative"):
            return "+"
        if to == 0 and d == "negative":
            return "-"
        if d == "interval" and info.low is not None and to == info.low:
            return "+"
        if d == "interval" and info.high is not None and to == info.high:
            return "-"
    return "+-"


def parse_claim(text: Text, scope: Scope, display: bool = False):
    """A claim: a relation, or `relation ==> relation` (display: defined names kept as names)."""
    tree = _parse_tree(text, "claim")
    b = ExprBuilder(scope, text, display=display)
    if tree.data == "claim_relation":
        return b.finish(_relation(b, tree.children[0]))
    p, op, q = tree.children
    return Implication(b.finish(_relation(b, p)), b.finish(_relation(b, q)), both=str(op) == "<==>")


def parse_relation(text: Text, scope: Scope) -> Relation:
    """A given: one relation."""
    tree = _parse_tree(text, "given")
    b = ExprBuilder(scope, text)
    return b.finish(_relation(b, tree.children[0]))


def parse_define(text: Text, scope: Scope):
    """`name := expr` or `name(params) := expr` -> (name, value, params or None)."""
    tree = _parse_tree(text, "define")
    if tree.data == "define_value":
        name_tok, body = tree.children
        b = ExprBuilder(scope, text)
        return str(name_tok), b.finish(_transform(b, body)), None
    name_tok, params_tree, body = tree.children
    params = [str(t) for t in params_tree.children]
    if len(set(params)) != len(params):
        raise DeclarationError("a parameter name appears twice", text.span)
    # Dummies: a parameter named like a declared symbol (`g(u) := u c` with `c := u + 1`) must not capture that
    # symbol where the body holds it through another definition; Symbol(p, real=True) would be the same object
    bound = {p: sp.Dummy(p, real=True) for p in params}
    b = ExprBuilder(scope, text, bound)
    return str(name_tok), b.finish(_transform(b, body)), [bound[p] for p in params]
