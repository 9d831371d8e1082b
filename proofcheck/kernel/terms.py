"""Mathematical data shared by the parser and the kernel: relations, symbols, rules, heads."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp
from sympy.core.function import AppliedUndef

def as_basic(x):
    """A SymPy object from one we built (never from text): ints and tuples are wrapped, strings refused."""
    if isinstance(x, sp.Basic):
        return x
    if isinstance(x, bool):
        raise TypeError("not a number")
    if isinstance(x, int):
        return sp.Integer(x)
    if isinstance(x, (tuple, list)):
        return sp.Tuple(*[as_basic(i) for i in x])
    raise TypeError(f"not a SymPy object: {type(x).__name__}")


class OutOfTime(Exception):
    """The soft deadline inside a worker passed (the hard kill is the parent's job)."""


# Relations are plain data: SymPy's Eq/Lt would evaluate to True/False on construction.
RELATIONS = ("=", "!=", "<", "<=", ">", ">=")
FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}


@dataclass(frozen=True)
class Relation:
    """lhs op rhs, for op in RELATIONS."""

    lhs: object
    op: str
    rhs: object

    def __str__(self) -> str:
        return f"{sp.sstr(self.lhs)} {self.op} {sp.sstr(self.rhs)}"


@dataclass(frozen=True)
class Implication:
    """premise ==> conclusion, or <==> when `both`."""

    premise: Relation
    conclusion: Relation
    both: bool = False


@dataclass(frozen=True)
class SymbolInfo:
    """A declared name: its SymPy object and what the sampler needs to draw values for it."""

    name: str
    kind: str  # scalar | matrix | function | density
    obj: object  # Symbol, MatrixSymbol or UndefinedFunction
    domain: str = "real"  # real positive nonnegative negative nonzero integer posint complex interval
    low: object = None  # interval bounds (SymPy numbers or expressions in earlier symbols)
    high: object = None
    shape: tuple = ()  # (rows, cols) for matrices and vectors
    arity: int = 1  # for functions and densities
    flags: frozenset = frozenset()  # increasing, symmetric, spd


@dataclass(frozen=True)
class RuleCall:
    """`by NAME(args)` as written."""

    name: str
    args: tuple = ()  # positional SymPy objects
    kwargs: tuple = ()  # (name, value) from `x = 0`
    arrows: tuple = ()  # (name, value) from `tau -> 0`
    span: object = None


@dataclass(frozen=True)
class Context:
    """Everything a step may rely on besides its two lines."""

    symbols: tuple[SymbolInfo, ...] = ()
    givens: tuple[tuple[str, Relation], ...] = ()
    seed: int = 0
    timeout: float = 10.0

    def given(self, label: str) -> Relation | None:
        """The hypothesis with this label."""
        return dict(self.givens).get(label)


@dataclass(frozen=True)
class StepTask:
    """One step to check: `prev op cur by rule` (expressions, or relations in statement chains)."""

    prev: object
    op: str
    cur: object
    rule: RuleCall | None
    context: Context
    key: str = ""  # a stable name used to seed the random points


# Heads the parser builds and the kernel (or a plug-in) evaluates. They never evaluate by themselves.
class Bag(sp.Function):
    """A multiset, e.g. a set literal or the eigenvalues of a matrix."""


class Eigenvals(sp.Function):
    """eigenvals(M), evaluated to a Bag by the kernel."""

    nargs = 1


class Unsupported(sp.Function):
    """A construct that parses but has no checker yet; args[0] is a Symbol naming it."""


class Optimum(sp.Function):
    """argmax/argmin/maximum/minimum(expr, x); args: (kind symbol, expr, x)."""


class Norm(sp.Function):
    """||v|| of a vector expression that is not explicit."""


class At(sp.Function):
    """subs(expr, x = a, ...): args (expr, Tuple(vars), Tuple(values)); evaluated by deep_doit.

    Used instead of SymPy's Subs, whose equality treats e.g. Subs(d/dtheta(..), (theta, psi), (0, 0))
    and Subs(d/dpsi(..), (theta, psi), (0, 0)) as equal, so matrices of them get merged entries."""


def given_substituted(e, sub: dict):
    """e with a given's substitution (m0 -> m, f(x) -> x) applied where it holds: at the point, so never inside a
    derivative, integral, sum, limit, optimum or Lambda over a name the substitution mentions (bound_names). Inside d/dm, m0 = m says nothing
    (diff(integral(m0 exp(-(t - m)^2), t), m) is 0, not sqrt(pi)); f(x) = x at the point says nothing of f'(x)."""
    if not sub or not isinstance(e, sp.Basic):
        return e
    if isinstance(e, sp.MatrixBase):
        return sp.ImmutableMatrix(e.rows, e.cols, [given_substituted(x, sub) for x in e])
    names = set()
    for k, v in sub.items():
        names |= getattr(k, "free_symbols", set()) | getattr(v, "free_symbols", set())

    def walk(node):
        if node in sub:
            return sub[node]
        if not node.args or bound_names(node) & names:
            return node
        args = [walk(a) for a in node.args]
        return node.func(*args) if any(a is not b for a, b in zip(args, node.args)) else node
    return walk(e)


def bound_names(node) -> set:
    """The names a node binds in its body: the variables of a derivative (d/dg(x) is over x too), integral, sum,
    product, limit, Lambda, Subs, `subs` (At) or optimum; empty for any other node."""
    if isinstance(node, sp.Derivative):
        return set().union(*(v.free_symbols for v, _ in node.variable_count))
    if isinstance(node, (sp.Integral, sp.Sum, sp.Product)):
        return {lim[0] for lim in node.limits}
    if isinstance(node, (sp.Lambda, sp.Subs)):
        return set(node.variables)
    if isinstance(node, At):
        return set(node.args[1])
    if isinstance(node, sp.Limit):
        return {node.args[1]}
    if isinstance(node, Optimum):
        return {node.args[2]}
    return set()


def inverse_function(f):
    """The inverse of a declared increasing bijection f, as a function symbol of its own (`F⁻¹`, a name no one can
    type). Symbolically it is an arbitrary real function, so what is proved about it holds for every function; the
    sampler gives it the inverse of the random F it draws (numeric.concrete_inverse)."""
    return sp.Function(f"{f}⁻¹", real=True)


def _is_inverse_of(outer, inner) -> bool:
    return outer.func == inverse_function(inner.func) or inner.func == inverse_function(outer.func)


def inverse_cancelled(e):
    """F(F⁻¹(u)) and F⁻¹(F(u)) as u: the two are inverse bijections of the real line. Taken exactly, since at a point
    the inverse is a root found to finite precision (F⁻¹(F(0)) would come out near 1e-150, not 0)."""
    if not isinstance(e, sp.Basic) or not any(str(a.func).endswith("⁻¹") for a in e.atoms(AppliedUndef)):
        return e

    def cancel(a):
        inner = a.args[0] if len(a.args) == 1 else None
        if isinstance(inner, AppliedUndef) and len(inner.args) == 1 and _is_inverse_of(a, inner):
            return inner.args[0]
        return a
    # not inside a derivative with respect to an expression: Derivative(F(F⁻¹(x)), F⁻¹(x)) is F' at F⁻¹(x), and its
    # body cancelled to x would leave Derivative(x, F⁻¹(x)) = 0
    held: dict = {}

    def hold(d):
        k = sp.Dummy("held")
        held[k] = d
        return k
    e = e.replace(lambda x: isinstance(x, sp.Derivative) and any(not isinstance(v, sp.Symbol) for v in x.variables),
                  hold)
    e = e.replace(lambda x: isinstance(x, AppliedUndef), cancel)
    while held and e.has(*held):
        e = e.xreplace(held)
    return e


def at_point(expr, syms, values):
    """expr evaluated at syms = values (entrywise for explicit matrices), unevaluated."""
    if isinstance(expr, sp.MatrixBase):
        return sp.ImmutableMatrix(expr.rows, expr.cols,
                                  [At(e, sp.Tuple(*syms), sp.Tuple(*values)) for e in expr])
    return At(expr, sp.Tuple(*syms), sp.Tuple(*values))


def _apply_at(body, a):
    pairs = dict(zip(a.args[1], a.args[2]))
    matrices = {k: v for k, v in pairs.items() if isinstance(k, sp.MatrixSymbol)}
    scalars = {k: v for k, v in pairs.items() if k not in matrices}
    # all at once: the scalars are renamed before a vector's value (which may hold them, v = [x, 1], x = 2) goes in
    fresh = {k: sp.Dummy(str(k)) for k in scalars}
    body = body.xreplace(fresh) if fresh else body
    if matrices:  # subs() leaves a vector inside a 1x1 product alone; xreplace does not
        body = body.xreplace(matrices)
    return _substituted(body, list(fresh.values()), list(scalars.values())) if scalars else body


def resolve_matrix_at(e):
    """Apply substitutions of matrices and vectors before the matrices themselves get values."""
    if not isinstance(e, sp.Basic) or not e.has(At):
        return e
    return e.replace(lambda x: isinstance(x, At) and any(isinstance(v, sp.MatrixSymbol) for v in x.args[1]),
                     lambda a: _apply_at(a.args[0], a))


_TOTAL_HEADS = (sp.exp, sp.sin, sp.cos, sp.atan, sp.tanh, sp.sinh, sp.cosh, sp.Abs, sp.erf, sp.erfc, sp.sign,
                sp.re, sp.im, sp.conjugate, sp.Max, sp.Min)


def singular_parts(e) -> set:
    """The smallest subterms of e that may be infinite or undefined somewhere in the declared types (1/x for x
    nonnegative, log(x), an integral or an optimum left standing); empty when e is finite everywhere."""
    if not isinstance(e, sp.Basic):
        return {e}
    if e.is_Number:
        return set() if e.is_finite else {e}
    if e.is_Symbol or e in (sp.pi, sp.E, sp.I):
        return set()
    if isinstance(e, (sp.Add, sp.Mul, AppliedUndef) + _TOTAL_HEADS):
        return set().union(*(singular_parts(a) for a in e.args))
    if isinstance(e, (sp.Pow, sp.log)):
        inner = set().union(*(singular_parts(a) for a in e.args))
        if inner:
            return inner
        if isinstance(e, sp.log):
            return set() if e.args[0].is_positive else {e}
        b, n = e.args
        total = (n.is_integer and n.is_nonnegative) or b.is_positive or (n.is_positive and b.is_nonnegative) \
            or (n.is_integer and b.is_nonzero)
        return set() if total else {e}
    return {e}


def derivative_doit(d: sp.Derivative, densities: frozenset = frozenset()) -> sp.Expr:
    """d.doit(), undefined at the kinks and jumps of the function differentiated; `densities`: the declared density
    functions (an integrand dominated by one may be differentiated under an infinite integral, see leibniz_justified).

    SymPy writes d|u|/dx as sign(u) u' and dMax(0, u)/dx as Heaviside(u) u', which are 0 and 1/2
    where u = 0: a derivative that does not exist there would come out as a number. sign(u) is
    u/|u| everywhere else, so that form is kept, and it is undefined exactly at u = 0."""
    variables = {v for v, _ in d.variable_count}
    if _ambiguous(d):  # made by a substitution: Derivative(h(g(x), g(x)), g(x)), which argument is meant is lost
        return unsupported("a derivative in one argument of a function whose arguments repeat (h(g(x), g(x)))",
                           sp.Dummy())
    if any(len(a.args) > 1 and len(set(a.args)) < len(a.args) and
           any(not isinstance(u, sp.Symbol) and u.free_symbols & variables for u in a.args)
           for a in d.expr.atoms(AppliedUndef)):
        # SymPy 1.14 differentiates h(g(x), g(x)) to twice the chain rule (2 (h_1 + h_2) g'): not taken
        return unsupported("the derivative of a function whose arguments repeat (h(g(x), g(x)))", sp.Dummy())
    if _held(d, densities):
        return d
    out = _ambiguous_partials(d.doit(integrals=False))

    def kink(u):
        return not u.free_symbols.isdisjoint(variables)

    def sign(u):
        return u / sp.Abs(u)
    return out.replace(lambda x: isinstance(x, sp.sign) and kink(x.args[0]), lambda x: sign(x.args[0])).replace(
        lambda x: isinstance(x, sp.Heaviside) and kink(x.args[0]), lambda x: (1 + sign(x.args[0])) / 2)


def _held(x, densities: frozenset) -> bool:
    """Whether x, a derivative (or a Subs of one), would differentiate under an integral over an infinite range
    without leibniz_justified: such a derivative is left standing, so nothing is proved from it (the random points
    cannot evaluate it either, except through an expectation's own head, for their smooth concrete functions).

    Leibniz's rule needs the integrand's derivative dominated by an integrable function near the point; over an
    infinite range it can fail (d/dt of the integral of t^3 exp(-t^2 x) over x > 0 is 1 at t = 0, the rule gives 0,
    and a quadrature near t = 0 is no better)."""
    d = x.expr if isinstance(x, sp.Subs) else x
    if not isinstance(d, sp.Derivative):
        return False
    counts = dict(d.variable_count)
    # (an integrand free of the variable, with it in a limit only, is the fundamental theorem: d/dt of the integral
    # of p(x) from -oo to t is p(t), no limit taken under the integral)
    return any(any(lim.has(sp.oo, -sp.oo) for lim in i.limits) and i.function.has(*counts) and
               not leibniz_justified(i, counts, densities) for i in d.expr.atoms(sp.Integral))


def leibniz_justified(integral: sp.Integral, counts: dict, densities: frozenset) -> bool:
    """A sufficient condition for differentiating under an integral over the line (dominated convergence): one
    variable x, an integrand p(x) B with p a declared density and B a function of x - t alone (t the one variable
    differentiated in) which, with its derivatives up to the order taken, is continuous and has finite limits at both
    ends of the line: each is then bounded, so p times its bound dominates it for every t.
    (The Gaussian kernel's marginal: d/dx of the integral of q0(x0) K(x, x0) over x0.)"""
    if len(integral.limits) != 1 or len(integral.limits[0]) != 3 or len(counts) != 1:
        return False
    (t, order), = counts.items()
    x, lo, hi = integral.limits[0]
    if lo.has(t) or hi.has(t) or not isinstance(order, (int, sp.Integer)) or int(order) > 3:
        return False
    factors = sp.Mul.make_args(integral.function)
    free = [f for f in factors if not f.has(t)]
    weight = [f for f in free if isinstance(f, AppliedUndef) and f.func in densities and f.args == (x,)]
    if len(weight) != 1 or any(f.has(x) for f in free if f is not weight[0]):
        return False
    shifted = sp.Mul(*[f for f in factors if f.has(t)]).xreplace({x: t + _SHIFT})
    if shifted.has(t):
        return False
    return all(_bounded_on_the_line(sp.diff(shifted, _SHIFT, k), _SHIFT) for k in range(int(order) + 1))


_SHIFT = sp.Dummy("v", real=True)  # x - t in leibniz_justified: one name, so _bounded_on_the_line's cache is hit


@lru_cache(maxsize=2048)
def integrable(piece, x, lo, hi) -> bool:
    """Whether a piece of an integrand has an integral of its own over (lo, hi): continuous on the range (declared
    functions and densities are smooth, a density positive) and, at an infinite end, at most a constant over x^2 when
    it is built from closed forms alone. A piece with a declared function or density in it is a statement about the
    functions for which its integral exists, as every integral of a declared function is (E[x ~ p](s(x)^2))."""
    from sympy.calculus.util import continuous_domain
    if gaussian_times_polynomial(piece, x):
        return True
    marginals = {i: sp.Dummy("smooth", positive=True) for i in piece.atoms(sp.Integral) if i.has(AppliedUndef)}
    smooth = piece.xreplace(marginals).replace(lambda e: isinstance(e, (AppliedUndef, sp.Derivative)),
                                               lambda e: sp.Dummy("smooth", positive=True))
    if smooth.has(sp.Integral, sp.Sum, sp.Limit):
        return False
    try:
        if x in smooth.free_symbols:
            inside = sp.Interval(lo, hi, lo.is_infinite, hi.is_infinite)
            if not inside.is_subset(continuous_domain(smooth, x, inside)):
                return False
        # f(y) / x is no integral of f; an integral of q0(x0) against a kernel in x is (a marginal q(x))
        declared = any(a.has(x) for a in piece.atoms(AppliedUndef)) or \
            any(i.has(AppliedUndef) and x in i.free_symbols for i in piece.atoms(sp.Integral))
        return all(declared or not end.is_infinite or sp.limit(x ** 2 * piece, x, end).is_finite for end in (lo, hi))
    except OutOfTime:
        raise  # the step's budget, not this piece: nothing to remember about it
    except Exception:  # noqa: BLE001 - not worked out: not shown integrable
        return False


def gaussian_times_polynomial(piece, x) -> bool:
    """Whether piece is a polynomial in x times exp of a polynomial of even degree with a negative leading coefficient
    (a Gaussian density times moments): continuous, and past any power of x at both ends. SymPy's limit takes seconds
    on these."""
    factors = sp.Mul.make_args(sp.powsimp(piece, combine="exp"))
    exps = [f for f in factors if isinstance(f, sp.exp) and f.has(x)]
    rest = sp.Mul(*[f for f in factors if not (isinstance(f, sp.exp) and f.has(x))])
    if len(exps) != 1 or not rest.is_polynomial(x) or not exps[0].args[0].is_polynomial(x):
        return False
    q = sp.Poly(exps[0].args[0], x)
    return q.degree() >= 2 and q.degree() % 2 == 0 and q.LC().is_negative is True


@lru_cache(maxsize=512)
def _bounded_on_the_line(h, v) -> bool:
    """Whether h, a function of v alone, is shown continuous on the real line with finite limits at both ends."""
    from sympy.calculus.util import continuous_domain
    if any(not (s.is_positive or s.is_negative) for s in h.free_symbols - {v}):
        return False  # a parameter that may be 0 (exp(-v^2 / sigma^2) at sigma = 0) is not bounded away from it
    if h.has(AppliedUndef, sp.Integral, sp.Derivative, sp.Sum, sp.Limit):
        return False
    try:
        if continuous_domain(h, v, sp.S.Reals) != sp.S.Reals:
            return False
        return all(sp.limit(h, v, end).is_finite for end in (sp.oo, -sp.oo))
    except OutOfTime:
        raise
    except Exception:  # noqa: BLE001 - not worked out: not shown bounded
        return False


def deep_doit(e, densities: frozenset = frozenset()):
    """doit(), applying each Subs only after its body is evaluated; `densities` as for derivative_doit.

    SymPy's own Subs.doit mishandles a Derivative inside (e.g. the Jacobian of f'(theta psi)
    evaluated at the origin comes out wrong), so substitutions are done here, innermost first."""
    if not isinstance(e, sp.Basic):
        return e
    if isinstance(e, sp.MatrixBase):  # entry by entry: applyfunc merges entries that compare equal
        return sp.ImmutableMatrix(e.rows, e.cols, [deep_doit(x, densities) for x in e])
    e = _ambiguous_partials(inverse_cancelled(e))
    if e.has(At):
        e = e.replace(lambda x: isinstance(x, At), lambda a: _apply_at(deep_doit(a.args[0], densities), a))
    if e.has(sp.Subs):
        e = e.replace(lambda x: isinstance(x, sp.Subs),
                      lambda s: _substituted(deep_doit(s.expr, densities), s.variables, s.point))
    if e.has(sp.Derivative):
        e = e.replace(lambda x: isinstance(x, sp.Derivative), lambda d: derivative_doit(d, densities))
    held = {}
    if e.has(sp.Limit):
        def hold(lim):
            body = deep_doit(lim.args[0], densities)
            value = parametric_limit(body, *lim.args[1:])
            if value is not None:
                return value
            d = sp.Dummy("limit")
            held[d] = sp.Limit(body, *lim.args[1:])
            return d
        e = e.replace(lambda x: isinstance(x, sp.Limit) and bool(x.free_symbols), hold)
    if e.has(sp.Derivative):
        def keep(x):
            d = sp.Dummy("derivative")
            held[d] = x
            return d
        # doit() would take them by Leibniz's rule after all (a Subs of one, too)
        e = e.replace(lambda x: isinstance(x, (sp.Derivative, sp.Subs)) and _held(x, densities), keep)
    # Integrals stay unevaluated: SymPy's integrate can take minutes; quadrature evaluates them numerically.
    out = _ambiguous_partials(inverse_cancelled(e.doit(integrals=False)))
    return out.xreplace(held) if held else out


def _substituted(body, variables, points):
    """body with each variable put to its point at once. Through fresh names and SymPy's own subs, which keeps a
    derivative whose variable a point would change as a Subs: subs(diff(h(x, y), x), y = x) is the partial of h in its
    first argument at (x, x), not the total derivative diff(h(x, x), x) (a simultaneous subs made it that, and a
    false step was proved)."""
    variables, points = list(variables), list(points)
    differentiated = {v for d in body.atoms(sp.Derivative) if d.expr.has(AppliedUndef) for v in d.variables}
    if len(differentiated & set(variables)) > 1:
        # SymPy's Subs names its variables after their points, so two at one point become one (the partials
        # h_xxy and h_yyx of h(x, y) at (0, 0) compared equal): left as an At, taken once the functions are concrete
        return at_point(body, variables, points)
    fresh = [sp.Dummy(str(v)) for v in variables]
    body = body.xreplace(dict(zip(variables, fresh)))
    for f, p in zip(fresh, points):
        body = body.subs(f, p)
    return body


def _ambiguous(d) -> bool:
    return isinstance(d, sp.Derivative) and any(not isinstance(v, sp.Symbol) and d.expr.count(v) > 1
                                                for v in d.variables)


def _ambiguous_partials(e):
    """SymPy's chain rule writes the partial derivative of h(g(x), g(x)) in one argument as Derivative(h(g(x), g(x)),
    g(x)), which it also reads as the derivative in both (so diff(h(g(x), g(x)), x) came out twice the right
    value, and was proved). Such a derivative is left unsupported: the step is `unknown`."""
    if not isinstance(e, sp.Basic) or not e.has(sp.Derivative) or not any(_ambiguous(d) for d in e.atoms(sp.Derivative)):
        return e
    # each one a value of its own (a Dummy): two of them must not cancel as equal
    return e.replace(_ambiguous, lambda d: unsupported("a derivative in one argument of a function whose arguments "
                                                       "repeat (h(g(x), g(x)))", sp.Dummy()))


_LIMIT_ERRORS = (ValueError, TypeError, NotImplementedError, ArithmeticError, RecursionError, sp.PolynomialError)


def _plain_limit(body, x, point, direction):
    """SymPy's limit, or None when it is left standing or fails."""
    try:
        value = sp.Limit(body, x, point, direction).doit()
    except _LIMIT_ERRORS:
        return None
    if not isinstance(value, sp.Basic) or value.has(sp.Limit, sp.nan, sp.zoo, sp.AccumBounds):
        return None
    return value


def _fraction_polys(body, x, point):
    """Numerator and denominator of a body rational in x as polynomials in x (at +-oo) or in t = x - point, with
    that variable; None for any other body."""
    if not body.is_rational_function(x):
        return None
    num, den = sp.fraction(sp.cancel(sp.together(body)))
    var = x if point in (sp.oo, -sp.oo) else sp.Dummy("t")
    try:
        return tuple(sp.Poly(side if var == x else side.xreplace({x: point + var}), var) for side in (num, den)) + (var,)
    except _LIMIT_ERRORS:
        return None


def deciding_coefficients(body, x, point) -> list | None:
    """For a body rational in x: the coefficients of numerator and denominator that decide the limit (the leading
    ones at +-oo, the lowest nonzero ones at a finite point), or None for any other body."""
    polys = _fraction_polys(body, x, point)
    if polys is None:
        return None
    out = []
    for poly in polys[:2]:
        coeffs = [c for c in poly.all_coeffs() if c != 0]
        if coeffs:
            out.append(coeffs[0] if point in (sp.oo, -sp.oo) else coeffs[-1])
    return out


def _rational_limit(body, x, point):
    """The limit of a body rational in x for every value of its parameters, when the denominator's deciding
    coefficient has a sign the declarations fix and the numerator does not outgrow it: at +-oo the numerator's
    degree is at most the denominator's d, and the limit is the ratio of their x^d coefficients (0 where the
    numerator's vanishes); at a finite point likewise with the lowest powers of x - point."""
    polys = _fraction_polys(body, x, point)
    if polys is None:
        return None
    pn, pd, var = polys
    if pd.is_zero:
        return None
    if point in (sp.oo, -sp.oo):
        k = pd.degree()
        if pn.degree() > k:
            return None
    else:
        k = min(m[0] for m in pd.monoms())
        if not pn.is_zero and min(m[0] for m in pn.monoms()) < k:
            return None
    d = pd.coeff_monomial(var ** k)
    if not (d.is_positive or d.is_negative):
        return None
    return sp.cancel(pn.coeff_monomial(var ** k) / d)


def real_roots(c, p, most: int = 4) -> list | None:
    """The real roots of c in p when SymPy finds them all and there are at most `most`, else None."""
    try:
        found = sp.solveset(c, p, sp.S.Reals)
    except _LIMIT_ERRORS:
        return None
    if not isinstance(found, sp.FiniteSet) or len(found) > most or not all(r.is_real for r in found):
        return None
    return list(found)


def parametric_limit(body, x, point, direction, budget: list | None = None):
    """SymPy's value of a limit whose body has other symbols (parameters), where it is known to hold for every
    value of them; else None. SymPy takes the limit at a generic value (limit(x/(x + a), x, 0) = 0, though it is
    1 at a = 0). Two kinds of body are taken: one whose terms in x hold no parameter (a parameter only in a term free of
    x, or as the fixed-sign factor of a term whose infinite limit has the sign of the others), and one rational
    in x, whose limit is decided by a coefficient of its numerator and denominator: each such coefficient must
    have a sign the declarations fix, or hold one parameter, and then the value must come out anew, limit taken
    again, at its real roots and between and beyond them."""
    budget = [16] if budget is None else budget
    value = _plain_limit(body, x, point, direction)
    if value is None:
        return None
    if isinstance(point, sp.Basic) and point.free_symbols:
        # at a symbolic point SymPy answers for a generic one (limit(sign(x), x, t, '+') = sign(t), though it is 1 at
        # t = 0): only a body continuous on the whole real line has its value there as the limit at every point
        return value if _continuous_everywhere(body, x) and \
            sp.simplify(value - body.xreplace({x: point})) == 0 else None
    if not body.free_symbols - {x}:
        return value
    if _sum_of_limits(body, x, point, direction, value):
        return value
    exact = _rational_limit(body, x, point)
    if exact is not None:
        return exact
    coefficients = deciding_coefficients(body, x, point)
    if coefficients is None:
        return None
    roots: dict = {}  # parameter -> the real roots of the coefficients in it: the limit's form changes only there
    for c in coefficients:
        if not c.free_symbols or (c.is_positive or c.is_negative) is True:
            continue
        if len(c.free_symbols) != 1:
            return None
        (p,) = c.free_symbols
        found = real_roots(c, p, 3)
        # a root SymPy cannot substitute back to an exact 0 (CRootOf(a^5 - a - 1, 0)) would probe the generic case
        if found is None or any(r.has(sp.CRootOf) or sp.simplify(c.xreplace({p: r})) != 0 for r in found):
            return None
        roots.setdefault(p, set()).update(found)
    for p, found in roots.items():
        # every root, and a value inside every interval between and beyond them (one per region of the same form)
        ordered = sorted(found, key=lambda r: float(r))
        probes = ordered + [ordered[0] - 1, ordered[-1] + 1] + [(a + b) / 2 for a, b in zip(ordered, ordered[1:])] \
            if ordered else [sp.Integer(0)]
        for v in probes:
            if (p.is_positive and v <= 0) or (p.is_nonnegative and v < 0) or (p.is_negative and v >= 0) or \
                    (p.is_nonpositive and v > 0):
                continue  # outside the parameter's declared range
            budget[0] -= 1
            if budget[0] < 0:
                return None
            there = parametric_limit(body.xreplace({p: v}), x, point, direction, budget)
            if there is None:
                return None
            expected = value.xreplace({p: v})
            if not (there == expected or (expected.is_finite and there.is_finite and
                                          sp.simplify(there - expected) == 0)):
                return None
    return value


def _continuous_everywhere(body, x) -> bool:
    """Whether SymPy finds body continuous in x on the whole real line, for every value of its other symbols (none)."""
    if body.free_symbols - {x} or body.has(sp.sign, sp.Abs, sp.Heaviside, sp.floor, sp.ceiling, sp.Piecewise):
        return False  # a kink or a jump may sit anywhere; continuous_domain does not see every one
    try:
        from sympy.calculus.util import continuous_domain
        return continuous_domain(body, x, sp.S.Reals) == sp.S.Reals
    except Exception:  # noqa: BLE001 - SymPy gives up on some bodies: then not known to be continuous
        return False


def _sum_of_limits(body, x, point, direction, value) -> bool:
    """Whether value is the limit of body as a sum of limits of parameter-free parts (times fixed-sign
    factors), none of them infinite with the opposite sign of another (no oo - oo)."""
    if not isinstance(body, sp.Basic):
        return False
    params = body.free_symbols - {x}
    groups: dict = {}
    constant = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(body)):
        if not term.has(x):
            constant += term
            continue
        coeff, g = term.as_independent(x, as_Add=False)
        if g.free_symbols & params:
            return False
        groups[g] = groups.get(g, sp.Integer(0)) + coeff
    total, signs = constant, set()
    for g, coeff in groups.items():
        if coeff == 0:
            continue
        if not (coeff.is_positive or coeff.is_negative):
            return False
        lim = _plain_limit(g, x, point, direction)
        if lim is None or not (lim.is_finite or lim in (sp.oo, -sp.oo)):
            return False
        if lim.is_finite:
            total += coeff * lim
        else:
            signs.add(lim if coeff.is_positive else -lim)
    if len(signs) > 1:
        return False
    expected = signs.pop() if signs else total
    return value == expected or (expected.is_finite is True and value.is_finite is True and
                                 sp.simplify(value - expected) == 0)


def unsupported(what: str, *args) -> sp.Expr:
    """An Unsupported head naming what is missing."""
    return Unsupported(sp.Symbol(what), *args)


@dataclass
class Outcome:
    """What a rule hands to the kernel: obligations to discharge, or a reason it cannot check."""

    obligations: list = field(default_factory=list)  # list of Relation (or Implication)
    unknown: str = ""  # with obligations: they are necessary only (one refuted refutes, else unknown)
    note: str = ""
    extra: tuple = ()  # SymbolInfo for variables a rule frees (e.g. the integration variable)
    bound: tuple = ()  # symbols the step binds (argmin's x): the givens about them do not hold inside
    # Obligations that are sufficient only: one failing shows that the rule does not apply, not that the step is
    # false (integrands that do not compare pointwise may still integrate in order). Those in `conditional` refute
    # the step only where every sufficient one holds (the value at the stationary point is the maximum only if the
    # point is the maximiser). Otherwise the step is checked as written. Both are held by identity.
    sufficient: tuple = ()
    conditional: tuple = ()

    def only_sufficient(self, ob) -> bool:
        """Whether ob is one of the sufficient-only obligations."""
        return any(ob is s for s in self.sufficient)

    def refutes(self, ob, established: bool) -> bool:
        """Whether ob's failure refutes the step, given whether every sufficient obligation was established."""
        if self.only_sufficient(ob):
            return False
        return established or not any(ob is c for c in self.conditional)


def range_ends(lo, hi) -> tuple:
    """The ends of the x-range of integral(f, x, lo, hi), lowest first: a range whose ends may run backwards (hi < lo
    for some values of a symbolic end) still covers the points between them, which a pointwise check must reach."""
    if (hi - lo).is_extended_nonnegative or lo in (sp.oo, -sp.oo) or hi in (sp.oo, -sp.oo):
        return lo, hi
    return sp.Min(lo, hi), sp.Max(lo, hi)


def value_set(info):
    """The set of values a declared scalar may take (the reals for an undeclared one)."""
    d = info.domain if info is not None else "real"
    if d == "positive":
        return sp.Interval.open(0, sp.oo)
    if d == "nonnegative":
        return sp.Interval(0, sp.oo)
    if d == "negative":
        return sp.Interval.open(-sp.oo, 0)
    if d == "nonzero":
        return sp.Union(sp.Interval.open(-sp.oo, 0), sp.Interval.open(0, sp.oo))
    if d == "integer":
        return sp.S.Integers
    if d == "posint":
        return sp.S.Naturals
    if d == "complex":
        return sp.S.Complexes
    if d == "interval":
        lo = info.low if info.low is not None else -sp.oo
        hi = info.high if info.high is not None else sp.oo
        return sp.Interval.open(lo, hi)
    return sp.S.Reals
