"""Direct mpmath evaluation of an instantiated SymPy tree, with quadrature for integrals.

SymPy's Integral.evalf takes seconds per integral. Here the tree is turned once into nested
Python closures over mpmath functions (an interpreter over a fixed set of node types: no code is
generated from text), and each quadrature node reports its error estimate."""

from __future__ import annotations

import mpmath
import sympy as sp

MAX_SUM_TERMS = 10_000
DIVERGED = mpmath.mpf(10) ** 10_000  # an integral's value past this has not converged


class NotSupported(Exception):
    """A node this evaluator does not know; the caller falls back to evalf."""


_UNARY = {
    sp.exp: mpmath.exp, sp.log: mpmath.log, sp.sin: mpmath.sin, sp.cos: mpmath.cos, sp.tan: mpmath.tan,
    sp.tanh: mpmath.tanh, sp.sinh: mpmath.sinh, sp.cosh: mpmath.cosh, sp.atan: mpmath.atan,
    sp.asin: mpmath.asin, sp.acos: mpmath.acos, sp.erf: mpmath.erf, sp.Abs: abs,
    sp.re: mpmath.re, sp.im: mpmath.im, sp.conjugate: mpmath.conj,
    sp.asinh: mpmath.asinh, sp.acosh: mpmath.acosh, sp.atanh: mpmath.atanh, sp.cot: mpmath.cot,
    sp.sec: mpmath.sec, sp.csc: mpmath.csc, sp.erfc: mpmath.erfc, sp.gamma: mpmath.gamma,
    sp.loggamma: mpmath.loggamma, sp.sign: mpmath.sign, sp.factorial: mpmath.factorial,
    sp.acot: mpmath.acot,
}


class Errors:
    """Collects the quadrature error estimates of one evaluation."""

    def __init__(self):
        self.total = mpmath.mpf(0)


def evaluate(e, env: dict, errors: Errors | None = None):
    """The value of e with symbols from env (Symbol -> mpf); raises NotSupported for unknown nodes."""
    return compile_expr(e, errors or Errors())(env)


def compile_expr(e, errors: Errors):
    """A function env -> value computing e."""
    if not e.free_symbols and not e.is_Number:
        # A constant subtree (sqrt(2*pi), ...) is computed once per precision, not at every point.
        if e.has(sp.Integral, sp.Sum):
            return _counted_at_every_use(e, errors)
        inner = _compile(e, errors)
        return _per_precision(lambda: inner({}))
    return _compile(e, errors)


def _counted_at_every_use(e, errors: Errors):
    """A constant with integrals in it (a normalising constant inside an integrand) computed once per precision,
    its quadrature error added at every use as if it were computed again: the same number, the same error total
    as before, without a quadrature at every node of the outer one (146,000 nested evaluations for one point)."""
    own = Errors()
    inner = _compile(e, own)

    def make():
        before = own.total
        return inner({}), own.total - before
    cached = _per_precision(make)

    def number(env):
        value, err = cached(env)
        errors.total += err
        return value
    return number


def _per_precision(make):
    """A value made once per working precision (a quadrature evaluates its integrand at thousands of nodes)."""
    cache: dict = {}

    def number(env):
        key = mpmath.mp.prec
        if key not in cache:
            cache[key] = make()
        return cache[key]
    return number


def _compile(e, errors: Errors):
    if e.is_Number:
        if e in (sp.oo, -sp.oo, sp.zoo, sp.nan):
            raise NotSupported("infinite constant")
        if e.is_Integer:
            n = int(e)
            return _per_precision(lambda: mpmath.mpf(n))
        if e.is_Rational:
            p, q = int(e.p), int(e.q)
            return _per_precision(lambda: mpmath.mpf(p) / q)
        s = str(e)
        return _per_precision(lambda: mpmath.mpf(s))
    if e.is_Symbol:
        def sym(env, e=e):
            try:
                return env[e]
            except KeyError:
                raise NotSupported(f"free symbol {e}") from None
        return sym
    if e is sp.pi:
        return lambda env: +mpmath.pi
    if e is sp.E:
        return lambda env: mpmath.e
    if e is sp.I:
        return lambda env: mpmath.mpc(0, 1)
    if isinstance(e, sp.Add):
        parts = [compile_expr(a, errors) for a in e.args]
        return lambda env: mpmath.fsum([p(env) for p in parts])
    if isinstance(e, sp.Mul):
        first, *parts = [compile_expr(a, errors) for a in e.args]

        def mul(env):
            total = first(env)
            for p in parts:
                total *= p(env)
            return total
        return mul
    if isinstance(e, sp.Pow):
        base = compile_expr(e.base, errors)
        if e.exp.is_Integer:
            k = int(e.exp)
            return lambda env: base(env) ** k
        if e.exp == sp.Rational(1, 2):
            return lambda env: mpmath.sqrt(base(env))
        exp = compile_expr(e.exp, errors)
        return lambda env: mpmath.power(base(env), exp(env))
    fn = _UNARY.get(e.func)
    if fn is not None:
        arg = compile_expr(e.args[0], errors)
        return lambda env: fn(arg(env))
    if isinstance(e, (sp.Min, sp.Max)):
        parts = [compile_expr(a, errors) for a in e.args]
        pick = min if isinstance(e, sp.Min) else max
        return lambda env: pick(p(env) for p in parts)
    if isinstance(e, sp.Piecewise):
        pieces = [(compile_expr(x, errors), _condition(c, errors)) for x, c in e.args]

        def piecewise(env):
            for value, cond in pieces:
                if cond(env):
                    return value(env)
            raise ZeroDivisionError("outside every piece")
        return piecewise
    if _is_inverse(e):
        solve = e.func.solve
        arg = compile_expr(e.args[0], errors)

        def inverse(env):
            r = solve(arg(env), mpmath.mp.prec)
            if r is None:
                raise ValueError("the inverse could not be certified here")
            return r
        return inverse
    if isinstance(e, sp.Integral):
        return _integral(e, errors)
    if isinstance(e, sp.Sum):
        return _sum(e, errors)
    raise NotSupported(type(e).__name__)


def _is_inverse(e) -> bool:
    """A numeric.ConcreteInverse node (F^-1 of a drawn F, with its `forward` F and its root `solve`): this module
    evaluates what numeric builds, so it knows the node by what it carries rather than by importing numeric."""
    return isinstance(e, sp.Function) and getattr(e.func, "forward", None) is not None and \
        callable(getattr(e.func, "solve", None))


def _condition(cond, errors: Errors):
    if cond is sp.true:
        return lambda env: True
    if cond is sp.false:
        return lambda env: False
    if isinstance(cond, (sp.And, sp.Or)):
        parts = [_condition(c, errors) for c in cond.args]
        join = all if isinstance(cond, sp.And) else any
        return lambda env: join(p(env) for p in parts)
    if isinstance(cond, sp.core.relational.Relational):
        a, b = compile_expr(cond.lhs, errors), compile_expr(cond.rhs, errors)
        op = cond.rel_op
        tests = {"<": lambda x, y: x < y, "<=": lambda x, y: x <= y, ">": lambda x, y: x > y,
                 ">=": lambda x, y: x >= y, "==": lambda x, y: x == y, "!=": lambda x, y: x != y}
        test = tests[op]
        return lambda env: test(a(env), b(env))
    raise NotSupported("condition")


def _pulled_back(e: sp.Integral) -> sp.Integral:
    """An integral over x whose body holds x only through F^-1(x) (numeric.ConcreteInverse: a density pulled back,
    p(F^-1(x)) (F^-1)'(x)) taken over t = F^-1(x): the body at t times F'(t), from F^-1 of each end. The same
    integral (F is increasing onto the real line), with the body's bumps where they are drawn (at x = F(805) =
    e^274 the quadrature missed one) and no root solved at the nodes. A body that also holds x itself is left
    alone: composing its other functions with F (p_X(F(t)), F(t) = e^t) can make the nodes' values astronomical."""
    limits = list(e.limits)
    if len(limits) != 1 or len(limits[0]) != 3:
        return e
    x, lo, hi = limits[0]
    if e.function.has(sp.Integral, sp.Sum, sp.Product, sp.Lambda):
        return e  # an inner integral may bind x again: its F^-1(x) is another x
    inverses = {a for a in e.function.atoms(sp.Function) if _is_inverse(a) and a.args == (x,)}
    if len(inverses) != 1:
        return e
    g = inverses.pop()
    t = sp.Dummy("t", real=True)
    body = e.function.xreplace({g: t})
    if x in body.free_symbols:
        return e
    forward = g.func.forward
    body = body * sp.diff(forward(t), t)
    ends = [b if b in (sp.oo, -sp.oo) else g.func(b) for b in (lo, hi)]
    return sp.Integral(body, (t, *ends))


def _integral(e: sp.Integral, errors: Errors):
    e = _pulled_back(e)
    limits = list(e.limits)
    if any(len(lim) != 3 for lim in limits):
        raise NotSupported("indefinite integral")
    body = _shared_subterms(e.function, errors)
    bounds = [(x, _bound(lo, errors), _bound(hi, errors)) for x, lo, hi in limits]
    centres = [[compile_expr(c, errors) for c in _bump_centres(e.function, x)] for x, _, _ in limits]

    def run(env, k=0):
        x, lo, hi = bounds[k]
        a, b = lo(env), hi(env)

        def f(t):
            inner = dict(env)
            inner[x] = t
            return run(inner, k + 1) if k + 1 < len(bounds) else body(inner)

        # Breakpoints where the integrand's bumps sit (densities near 0, and every Gaussian or logistic component at
        # its centre): tanh-sinh crowds its nodes at the ends of each piece, so a narrow or distant bump is
        # integrated exactly instead of being missed between nodes and read as 0 with a small error estimate.
        inside = set()
        for c in centres[k]:
            try:
                v = c(env)
            except (ValueError, ZeroDivisionError, TypeError):
                continue
            if isinstance(v, mpmath.mpf) and a < v < b:
                inside.add(v)
        if a < 0 < b:
            inside.add(mpmath.mpf(0))
        points = [a, *sorted(inside), b]
        value, err = mpmath.quad(f, points, error=True)
        if abs(value) > DIVERGED:
            # a divergent integral over an infinite range comes out as a "finite" number dominated by the farthest
            # nodes (E[exp(z^2)] under Normal(0, 1) gives about 10^(10^90), with a small error estimate)
            raise ValueError("the integral diverges here (its value is past 10^10000)")
        errors.total += abs(err)
        return value

    return run


def _shared_subterms(body, errors: Errors):
    """body compiled so that a subterm it repeats (the density p(x) in p(x) log(p(x) / q(x))) is computed once per
    quadrature node. Only for a body without inner integrals or sums, whose bound variables cse would not respect."""
    if body.has(sp.Integral, sp.Sum):
        return compile_expr(body, errors)
    names = sp.numbered_symbols("cse", cls=sp.Dummy)
    reps, (reduced,) = sp.cse(body, symbols=names, optimizations=None)
    if not reps:
        return compile_expr(body, errors)
    steps = [(name, compile_expr(sub, errors)) for name, sub in reps]
    final = compile_expr(reduced, errors)

    def run(env):
        for name, fn in steps:
            env[name] = fn(env)
        return final(env)
    return run


def _bump_centres(body, x) -> list:
    """Where the bumps of a concrete integrand sit along x: the vertex of every exp(quadratic in x) with a negative
    leading coefficient (a Gaussian component), and the zero of every exp(linear in x) (a logistic one). They may
    depend on outer variables (p(x - z) inside an integral over z); at most 12."""
    found: list = []
    # exp(z) exp(-(z - m)^2 / (2 s^2)) peaks at m + s^2, which only the combined exponent shows
    combined = sp.powsimp(body, combine="exp")
    nodes = list(sp.preorder_traversal(combined)) + (list(sp.preorder_traversal(body)) if combined != body else [])
    for node in nodes:
        if not isinstance(node, sp.exp) or x not in node.free_symbols:
            continue
        arg, forward = node.args[0], None
        inner = [a for a in arg.atoms(sp.Function) if _is_inverse(a) and a.args[0] == x]
        if len(inner) == 1:
            # a density of F^-1(x) (a pulled-back one): its bump in x sits at F of the bump in F^-1(x)
            t = sp.Dummy("t", real=True)
            arg, forward = arg.xreplace({inner[0]: t}), inner[0].func.forward
            if x in arg.free_symbols:
                continue
        try:
            poly = sp.Poly(sp.expand(arg), t if forward is not None else x)
        except (sp.PolificationFailed, sp.PolynomialError):
            continue
        coeffs = poly.all_coeffs()
        if poly.degree() == 2 and coeffs[0].is_negative:
            c = -coeffs[1] / (2 * coeffs[0])
        elif poly.degree() == 1 and coeffs[0].is_nonzero:
            c = -coeffs[1] / coeffs[0]
        else:
            continue
        if forward is not None:
            if c.free_symbols:
                continue
            c = forward(c)
        if x not in c.free_symbols and c not in found:
            found.append(c)
        if len(found) >= 12:
            break
    return found


def _bound(b, errors: Errors):
    if b == sp.oo:
        return lambda env: mpmath.inf
    if b == -sp.oo:
        return lambda env: -mpmath.inf
    return compile_expr(b, errors)


def _sum(e: sp.Sum, errors: Errors):
    (j, lo, hi), *rest = e.limits
    inner = compile_expr(sp.Sum(e.function, *rest) if rest else e.function, errors)
    lo_f, hi_f = compile_expr(lo, errors), compile_expr(hi, errors)

    def run(env):
        a, b = lo_f(env), hi_f(env)
        if a != int(a) or b != int(b) or b - a > MAX_SUM_TERMS:
            raise NotSupported("sum bounds")
        total = mpmath.mpf(0)
        for k in range(int(a), int(b) + 1):
            env2 = dict(env)
            env2[j] = mpmath.mpf(k)
            total += inner(env2)
        return total

    return run
