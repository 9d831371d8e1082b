"""Random points inside the declarations, high-precision evaluation, confirmed counterexamples."""

from __future__ import annotations

import copy
import hashlib
import random
from dataclasses import dataclass, field
from functools import lru_cache

import mpmath
import sympy as sp
from sympy.core.function import AppliedUndef

from proofcheck.kernel import mpeval, plugins
from proofcheck.kernel.terms import At, Bag, as_basic, resolve_matrix_at, Context, deep_doit, Eigenvals, Optimum, Relation, SymbolInfo, Unsupported

DPS = 50  # working precision of a check (digits)
CONFIRM_DPS = 110  # a mismatch is re-evaluated at this precision before it is reported
AGREE_DIGITS = 40  # two values agree when they match to this many digits relative to the terms' size
SIZE_SCHEDULE = (2, 3, 1, 4, 3, 2, 4, 1)  # sizes given to dimension names, draw after draw
FUNCTION_REUSE = 4  # points that share one random concrete function (so 8 points see 2 or more)
INTEGRAL_DPS = 30  # quadrature precision at the working precision DPS (scaled up when confirming)
INTEGRAL_AGREE_DIGITS = 20
LIMIT_STEP_DIGITS = 40  # a limit x -> a is approximated at a + 10^-LIMIT_STEP_DIGITS


class Undefined(Exception):
    """The expression has no (real, finite) value at this point; draw another."""


@dataclass
class Point:
    """Concrete values for every declared name: scalars, functions, matrices."""

    values: dict = field(default_factory=dict)  # Symbol -> Rational
    functions: dict = field(default_factory=dict)  # UndefinedFunction -> Lambda
    matrices: dict = field(default_factory=dict)  # MatrixSymbol -> ImmutableMatrix

    def describe(self, used=None) -> dict:
        """Symbol name -> decimal string (functions and matrices shown as formulas), for the names used."""
        out = {}
        for s, v in sorted(self.values.items(), key=lambda kv: kv[0].name):
            if used is None or s in used:
                out[s.name] = _decimal(v)
        for f, lam in sorted(self.functions.items(), key=lambda kv: str(kv[0])):
            if used is not None and f not in used:
                continue
            out[str(f)] = f"{tuple(lam.variables) if len(lam.variables) > 1 else lam.variables[0]} -> " \
                          f"{sp.sstr(lam.expr)}"
        for m, val in sorted(self.matrices.items(), key=lambda kv: kv[0].name):
            if used is None or m in used:
                out[m.name] = "[" + ", ".join("[" + ", ".join(_decimal(x) for x in row) + "]"
                                              for row in val.tolist()) + "]"
        return out


def _decimal(v) -> str:
    if isinstance(v, sp.Rational):
        if v.q == 1:
            return str(v.p)
        q, twos, fives = v.q, 0, 0
        while q % 2 == 0:
            q, twos = q // 2, twos + 1
        while q % 5 == 0:
            q, fives = q // 5, fives + 1
        if q == 1:  # sampled values are k/10^m, so this decimal is exact
            m = max(twos, fives)
            n = abs(v.p) * 10 ** m // v.q
            digits = str(n).rjust(m + 1, "0")
            return f"{'-' if v < 0 else ''}{digits[:-m]}.{digits[-m:]}"
        return str(sp.Float(v, 20))
    if isinstance(v, sp.Basic) and v.is_number:
        return str(sp.N(v, 20))
    return str(v)


def rng_for(*parts) -> random.Random:
    """A generator seeded from the step's content, so verdicts do not depend on order or process."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


# ---------------------------------------------------------------------------------------------
# Drawing values


def _dec(rng: random.Random, lo: float, hi: float, digits: int = 3) -> sp.Rational:
    scale = 10 ** digits
    k = rng.randint(int(lo * scale), int(hi * scale))
    return sp.Rational(k, scale)


def draw_scalar(info: SymbolInfo, rng: random.Random, known: dict) -> sp.Expr:
    """A random exact value inside the symbol's declared type."""
    d = info.domain
    if d == "positive":
        return _dec(rng, 0.05, 1.0) if rng.random() < 0.5 else _dec(rng, 1.0, 4.0)
    if d == "nonnegative":
        return _dec(rng, 0.0, 3.0)
    if d == "negative":
        return -_dec(rng, 0.05, 3.0)
    if d == "nonzero":
        v = _dec(rng, 0.1, 3.0)
        return v if rng.random() < 0.5 else -v
    if d == "integer":
        return sp.Integer(rng.randint(-6, 6))
    if d == "posint":
        return sp.Integer(rng.randint(1, 4))
    if d == "complex":
        return _dec(rng, -3, 3) + sp.I * _dec(rng, -3, 3)
    if d == "interval":
        lo = as_basic(info.low).xreplace(known) if info.low is not None else sp.Integer(-3)
        hi = as_basic(info.high).xreplace(known) if info.high is not None else sp.Integer(3)
        if lo == -sp.oo:
            lo = hi - 4
        if hi == sp.oo:
            hi = lo + 4
        if not (lo.is_number and hi.is_number) or not lo < hi:
            raise Undefined(f"empty interval for {info.name}")
        u = sp.Rational(rng.randint(1, 999), 1000)
        return sp.nsimplify(lo + (hi - lo) * u) if not (lo.is_Rational and hi.is_Rational) else lo + (hi - lo) * u
    return _dec(rng, -3.0, 3.0)


def draw_function(info: SymbolInfo, rng: random.Random) -> sp.Lambda:
    """A random smooth concrete function (monotone for `increasing`, a density for `density`)."""
    xs = [sp.Symbol(f"x{i}" if info.arity > 1 else "x", real=True) for i in range(info.arity)]
    c = lambda lo=-2.0, hi=2.0: _dec(rng, lo, hi, 2)  # noqa: E731
    if info.kind == "density":
        body = sp.Integer(1)
        for x in xs:
            w = _dec(rng, 0.2, 0.8, 2)
            m1, m2 = c(), c()
            s1, s2 = _dec(rng, 0.5, 1.5, 2), _dec(rng, 0.5, 1.5, 2)
            body *= w * _gauss(x, m1, s1) + (1 - w) * _gauss(x, m2, s2)
        return sp.Lambda(tuple(xs), body)
    if "increasing" in info.flags:
        x = xs[0]
        return sp.Lambda(x, c() + _dec(rng, 0.3, 2, 2) * x + _dec(rng, 0.1, 1, 2) * sp.atan(x)
                         + _dec(rng, 0.01, 0.2, 2) * x ** 3)
    lin = sum(c() * x for x in xs)
    mix = sum(c() * x for x in xs) + c()
    body = c() + lin + c() * mix ** 2 / 2 + c() * sp.sin(sum(c(0.5, 2) * x for x in xs) + c())
    return sp.Lambda(tuple(xs) if len(xs) > 1 else xs[0], body)


def _gauss(x, m, s):
    return sp.exp(-(x - m) ** 2 / (2 * s ** 2)) / (s * sp.sqrt(2 * sp.pi))


def draw_matrix(info: SymbolInfo, rng: random.Random, known: dict) -> sp.ImmutableMatrix:
    """Random exact entries of the declared shape; symmetric and spd as declared."""
    r, c = (int(as_basic(d).xreplace(known)) for d in info.shape)
    m = sp.Matrix(r, c, lambda i, j: _dec(rng, -2, 2, 2))
    if "spd" in info.flags:
        m = m * m.T + sp.Rational(1, 2) * sp.eye(r)
    elif "symmetric" in info.flags:
        m = (m + m.T) / 2
    return sp.ImmutableMatrix(m)


@lru_cache(maxsize=64)
def _planned(context: Context, hypotheses: tuple) -> "Sampler":
    return Sampler(context, hypotheses)


def sampler_for(context: Context, hypotheses: tuple = ()) -> "Sampler":
    """A Sampler with no draws yet; its plan (the givens solved) is made once per process per context.

    The draw count and the current random functions must start afresh for every check: otherwise a
    check's points would depend on which checks the same worker ran before (--jobs, engines)."""
    return copy.copy(_planned(context, hypotheses)).restart()


class Sampler:
    """Draws points inside the declared types that satisfy the givens (and extra hypotheses)."""

    def __init__(self, context: Context, hypotheses: tuple[Relation, ...] = ()):
        self.context = context
        self.infos = list(context.symbols)
        self.equalities: list[tuple[sp.Symbol, list]] = []  # dependent symbol, its solutions
        self.checks: list[Relation] = []  # relations to test after drawing
        self.rewrites: dict = {}  # function-valued givens, e.g. theta'(t) -> ...
        relations = [g for _, g in context.givens] + list(hypotheses)
        shapes = [d for i in self.infos if i.kind == "matrix" for d in i.shape]
        self.dims = [i.obj for i in self.infos if i.kind == "scalar" and i.domain == "posint"
                     and any(isinstance(d, sp.Basic) and d.has(i.obj) for d in shapes)]
        self.restart()
        self._plan(relations)

    def restart(self) -> "Sampler":
        """Forget the draws so far (sizes start the schedule again, functions are drawn anew)."""
        self.draws = 0
        self._functions = None
        self._function_uses = 0
        return self

    def _plan(self, relations) -> None:
        scalars = {i.obj: i for i in self.infos if i.kind == "scalar"}
        dependent: set = set()
        solved: dict = {}  # earlier unique solutions, substituted into later equations
        self.parameters: list = []  # integer symbols of periodic solution families (x = 2 n pi)
        for rel in relations:
            if rel.op == "=" and _is_rewrite(rel.lhs):
                # e.g. theta'(t) = v(theta(t), psi(t)): no point can be tested against it, so it is
                # used as a rewrite of the left side into the right side wherever it appears.
                self.rewrites[rel.lhs] = rel.rhs
                continue
            if rel.op == "=" and not _has_matrix(rel.lhs) and not _has_matrix(rel.rhs):
                eq = deep_doit(rel.lhs - rel.rhs).xreplace(solved)
                if eq == 0:
                    self.checks.append(rel)
                    continue
                candidates = [s for s in _ordered_symbols(eq, scalars) if s not in dependent
                              and scalars[s].domain not in ("integer", "posint", "complex")]
                choice = None
                for s in reversed(candidates):  # the last-declared name is usually the derived one
                    sols = complete_solutions(eq, s, scalars[s], len(self.parameters))
                    if sols and (choice is None or len(sols) < len(choice[1])):
                        choice = (s, sols)
                        if len(sols) == 1:
                            break
                if choice is not None:
                    dependent.add(choice[0])
                    self.equalities.append(choice)
                    for sol in choice[1]:
                        self.parameters += sorted((n for n in sol.free_symbols if n.name.startswith("_n")
                                                   and n not in self.parameters), key=lambda n: n.name)
                    if len(choice[1]) == 1:
                        solved[choice[0]] = choice[1][0]
            self.checks.append(rel)
        self.dependent = dependent

    def draw(self, rng: random.Random) -> Point:
        """One point; raises Undefined when the draw misses the givens."""
        p = Point()
        known: dict = {}
        self.draws += 1
        for info in self.infos:
            if info.obj in self.dims:
                # Dimensions follow a schedule so every check sees several size tuples, square and not.
                j = self.dims.index(info.obj)
                v = sp.Integer(SIZE_SCHEDULE[(self.draws - 1 + 3 * j) % len(SIZE_SCHEDULE)])
                known[info.obj] = v
                p.values[info.obj] = v
            elif info.kind == "scalar" and info.obj not in self.dependent:
                v = draw_scalar(info, rng, known)
                known[info.obj] = v
                p.values[info.obj] = v
        for n in self.parameters:
            known[n] = sp.Integer(rng.randint(-3, 3) if rng.random() < 0.7 else rng.randint(-10 ** 6, 10 ** 6))
        for s, sols in self.equalities:
            sol = sols[rng.randrange(len(sols))]
            v = sol.xreplace(known)
            num = v.evalf(DPS)
            if not num.is_number or not num.is_real or num.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                raise Undefined("a given has no real solution here")
            info = next(i for i in self.infos if i.obj == s)
            if not _in_domain(num, info):
                raise Undefined("a given's solution is outside the declared type")
            known[s] = v
            p.values[s] = v
        if self._functions is None or self._function_uses >= FUNCTION_REUSE:
            # A random function is reused for a few points: instantiating derivatives is the slow part.
            self._functions = {i.obj: draw_function(i, rng) for i in self.infos if i.kind in ("function", "density")}
            self._function_uses = 0
        self._function_uses += 1
        p.functions = self._functions
        for info in self.infos:
            if info.kind == "matrix":
                p.matrices[info.obj] = draw_matrix(info, rng, known)
        for rel in self.checks:
            try:
                ok = holds(rel, p, DPS)
            except Undefined:
                ok = False
            if not ok:
                raise Undefined("the point does not satisfy the givens")
        return p


def _is_rewrite(lhs) -> bool:
    """A given about a declared function's values or derivatives (theta'(t) = ..., f(0) = 1).

    A derivative of anything else (diff(exp(y) - 2 y, y) = 0) is a condition on the points."""
    if isinstance(lhs, AppliedUndef):
        return True
    if isinstance(lhs, sp.Derivative):
        return isinstance(lhs.expr, AppliedUndef)
    if isinstance(lhs, sp.Subs):
        return _is_rewrite(lhs.expr)
    return False


def _domain_set(info: SymbolInfo):
    d = info.domain
    if d == "positive":
        return sp.Interval.open(0, sp.oo)
    if d == "nonnegative":
        return sp.Interval(0, sp.oo)
    if d == "negative":
        return sp.Interval.open(-sp.oo, 0)
    if d == "nonzero":
        return sp.Union(sp.Interval.open(-sp.oo, 0), sp.Interval.open(0, sp.oo))
    if d == "interval" and info.low is not None and info.high is not None \
            and info.low.is_number and info.high.is_number:
        return sp.Interval.open(info.low, info.high)
    return sp.S.Reals


def complete_solutions(eq, s, info: SymbolInfo, taken: int = 0) -> list | None:
    """Every solution of eq = 0 for s inside its declared type, as expressions in the other names
    (a periodic family gets an integer parameter _nK), or None when the list may be incomplete.

    SymPy's solvers return the generic solutions: solveset(x y - x z, y) is {z}, though every y
    solves it when x = 0. The list is trusted only where no such special case exists: s appears
    alone (eq = A(s) + B(other names)), or eq is polynomial in s with a leading coefficient that
    cannot vanish (or linear, a s + b, with b never 0), or eq has no other names at all."""
    others = eq.free_symbols - {s}
    if others:
        dep = eq.as_independent(s, as_Add=True)[1]
        if dep.free_symbols != {s}:
            num = sp.numer(sp.together(eq))
            if not num.is_polynomial(s):
                return None
            poly = sp.Poly(num, s)
            # a s + b with a = 0 possible: complete when b cannot vanish at the same time (x y = 1).
            if poly.LC().is_nonzero is not True and not (poly.degree() == 1 and poly.TC().is_nonzero is True):
                return None
    try:
        found = sp.solveset(eq, s, _domain_set(info))
    except (NotImplementedError, ValueError, TypeError):
        return None
    out: list = []
    for part in (found.args if isinstance(found, sp.Union) else (found,)):
        if isinstance(part, sp.Intersection):
            finite = [a for a in part.args if isinstance(a, sp.FiniteSet)]
            if len(finite) != 1:
                return None
            part = finite[0]  # the rest only restricts to the domain, which draw() checks
        if isinstance(part, sp.FiniteSet):
            out += list(part.args)
        elif isinstance(part, sp.ImageSet) and part.base_sets == (sp.S.Integers,) \
                and len(part.lamda.variables) == 1:
            n = sp.Symbol(f"_n{taken + len(out)}", integer=True)
            out.append(part.lamda.expr.xreplace({part.lamda.variables[0]: n}))
        else:
            return None  # a ConditionSet, a Complement, an interval of solutions: not a list
    if any(x.has(s) or x.has(sp.CRootOf) for x in out):
        return None
    return out


def _ordered_symbols(expr, scalars: dict) -> list:
    order = list(scalars)
    return [s for s in order if s in expr.free_symbols]


def _has_matrix(e) -> bool:
    return isinstance(e, (sp.MatrixBase, sp.MatrixExpr)) or (isinstance(e, sp.Basic) and e.has(sp.MatrixSymbol))


def _in_domain(v, info: SymbolInfo) -> bool:
    d = info.domain
    if d == "positive" or (d == "interval" and info.obj.is_positive):
        if not v > 0:
            return False
    if d == "nonnegative" and not v >= 0:
        return False
    if d == "negative" and not v < 0:
        return False
    if d == "nonzero" and v == 0:
        return False
    if d == "interval":
        lo, hi = info.low, info.high
        if lo is not None and lo.is_number and not v > lo:
            return False
        if hi is not None and hi.is_number and not v < hi:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Evaluating


def instantiate(expr, point: Point, dps: int = DPS):
    """Replace functions and matrices by the point's concrete ones and evaluate derivatives.

    Limits are approximated first (see _limits_to_points): computing them symbolically is slow."""
    e = expr
    if not isinstance(e, sp.Basic):
        return e
    if isinstance(e, sp.MatrixBase):  # entry by entry: Matrix.replace/applyfunc merge entries that compare equal
        return sp.ImmutableMatrix(e.rows, e.cols, [instantiate(x, point, dps) for x in e])
    if e.has(sp.Limit):
        e = _limits_to_points(e, dps, point)
    for f, lam in point.functions.items():
        if e.has(f):
            e = e.replace(f, lam)
    if point.functions and e.has(sp.Integral) and e.has(sp.Derivative):
        # doit() leaves integrals alone (quadrature evaluates them), so derivatives of the now
        # concrete functions inside an integrand are taken here.
        e = e.replace(lambda x: isinstance(x, sp.Derivative), lambda d: d.doit())
    dims = {s: v for s, v in point.values.items() if s.is_integer}
    if point.matrices and e.has(sp.MatrixSymbol):
        e = resolve_matrix_at(e)
        try:
            e = plugins.instantiate(e, point.matrices, dims)
        except NotImplementedError as exc:  # a plug-in that cannot evaluate this: no point will do
            raise Undefined(str(exc)) from None
        if dims:
            # Sizes first, then sums over entries (v[j] with j from 1 to k) with whole-number indices,
            # then the entries themselves: an explicit matrix cannot be indexed by a symbol.
            e = e.xreplace(dims)
            if e.has(sp.Sum, sp.Product):
                e = e.replace(lambda x: isinstance(x, (sp.Sum, sp.Product)), lambda x: x.doit())
        e = e.xreplace({m.xreplace(dims): v for m, v in point.matrices.items()})
    if e.has(sp.MatrixSymbol):
        raise Undefined("a matrix could not be instantiated")
    if dims:
        e = e.xreplace(dims)
    if e.has(At, sp.Derivative, sp.Subs, sp.Determinant, sp.Trace, sp.Inverse, sp.MatMul, sp.Transpose, sp.Sum,
             sp.Product, sp.MatAdd, sp.MatPow, sp.Identity, sp.HadamardProduct, sp.MatrixExpr):
        e = deep_doit(e)
    if isinstance(e, sp.MatrixExpr) and not isinstance(e, sp.MatrixBase):
        e = e.as_explicit()
    return e


def _limits_to_points(e, dps: int, point: "Point | None" = None):
    """Replace each Limit by its value at this point, estimated from each side it is taken from at
    several distances (magnitudes for +-oo); Undefined unless the estimates settle on one value.

    One evaluation just beside the point is fooled by terms that cancel to many digits (a difference
    quotient's terms are 10^90 times its value) and by a one-sided value of a two-sided limit."""
    if point is None:
        raise Undefined("a limit can only be approximated at a point")

    def approx(lim):
        body, var, to, direction = lim.args
        side = str(direction)
        if to in (sp.oo, -sp.oo):
            sign = 1 if to == sp.oo else -1
            places = [lambda p, s=sign: s * sp.Integer(10) ** p]
        elif not (to.is_number and to.is_real):
            raise Undefined("the limit point is not a number")
        else:
            signs = {"+": (1,), "-": (-1,)}.get(side, (1, -1))
            places = [lambda p, s=sg: to + s * sp.Rational(1, 10 ** p) for sg in signs]
        inner = instantiate(body, point, dps)
        free = inner.free_symbols - {var} - set(point.values) if isinstance(inner, sp.Basic) else set()
        if free or not isinstance(inner, sp.Expr):
            raise Undefined("a limit whose body cannot be evaluated at a point")
        ro = real_only(inner)
        powers = [dps + LIMIT_STEP_DIGITS // 4 * k for k in (1, 2, 3, 4)]
        work = dps + 2 * powers[-1] + 20  # a difference quotient loses as many digits as it is close
        digits = AGREE_DIGITS * dps // DPS + 5
        estimates = []
        for place in places:
            values = []
            for pw in powers:
                subs = dict(point.values)
                subs[var] = place(pw)
                values.append(_evalf(inner, work, subs, ro))
            with mpmath.workdps(work):
                size = max(abs(values[-1]), 1)
                steps = [abs(a - b) for a, b in zip(values, values[1:])]
                # The estimates must settle (the gaps shrink as the distance does) and the last gaps be
                # far below the digits a comparison trusts: Richardson's extrapolation from the last
                # two would differ from the last value by about the last gap.
                settled = all(g <= mpmath.mpf(10) ** (-digits) * size for g in steps[1:]) and \
                    steps[-1] <= steps[0] * mpmath.mpf(10) ** (-3) + mpmath.mpf(10) ** (-2 * digits) * size
                if not settled:
                    raise Undefined("the limit could not be estimated reliably here")
            estimates.append(values[-1])
        with mpmath.workdps(work):
            if len(estimates) == 2 and abs(estimates[0] - estimates[1]) > \
                    mpmath.mpf(10) ** (-digits) * max(abs(estimates[0]), abs(estimates[1]), 1):
                raise Undefined("the limits from the left and from the right differ here")
            v = estimates[-1]
        if isinstance(v, mpmath.mpc):
            return sp.Float(v.real, work) + sp.I * sp.Float(v.imag, work)
        return sp.Float(v, work)
    return e.replace(lambda x: isinstance(x, sp.Limit), approx)


class Value:
    """A numeric value of a side: a number, a matrix of numbers or a multiset."""

    def __init__(self, kind: str, data, scale, approximate: bool = False, digits: int = AGREE_DIGITS):
        self.kind, self.data, self.scale, self.approximate = kind, data, scale, approximate
        self.digits = digits  # how many digits of this value can be trusted to agree
        self.error = 0  # absolute error estimate from quadrature


def evaluate(expr, point: Point, dps: int, real_only: bool, memo: dict | None = None) -> Value:
    """The value of an expression at a point, at `dps` digits; raises Undefined off its domain.

    memo keeps instantiated forms between points that share their functions (and have no
    matrices or integer names, which instantiation substitutes)."""
    approx = isinstance(expr, sp.Basic) and expr.has(sp.Limit)
    reusable = memo is not None and not point.matrices and isinstance(expr, sp.Basic) and \
        not any(s.is_integer for s in expr.free_symbols) and not approx  # a limit becomes the point's value
    key = (expr, id(point.functions), dps if approx else 0)
    if reusable and key in memo:
        e = memo[key]
    else:
        e = instantiate(expr, point, dps)
        if reusable:
            memo[key] = e
    errors = mpeval.Errors()
    value = _evaluate(e, point, dps, real_only, errors, approx)
    value.error = errors.total
    return value


def _evaluate(e, point: Point, dps: int, real_only: bool, errors, approx: bool) -> Value:
    if isinstance(e, sp.MatrixBase):
        vals = [_number(x, point, dps, real_only, approx, errors) for x in e]
        return Value("matrix", (e.shape, [v for v, _ in vals]), max(s for _, s in vals), approx,
                     min(_digits(x, dps) for x in e))
    if isinstance(e, Bag):
        vals = [_number(x, point, dps, real_only, approx, errors) for x in e.args]
        return Value("bag", [v for v, _ in vals], max([s for _, s in vals] + [0]), approx,
                     min([_digits(x, dps) for x in e.args] + [AGREE_DIGITS]))
    if isinstance(e, Eigenvals):
        return _eigenvalues(e.args[0], point, dps, real_only)
    if isinstance(e, sp.Basic) and e.has(Unsupported, Optimum):
        raise Undefined("this expression has a construct that cannot be evaluated")
    v, s = _number(e, point, dps, real_only, approx, errors)
    return Value("number", v, s, approx, _digits(e, dps))


def _digits(e, dps: int) -> int:
    # Quadrature runs at a lower precision (it is the slow part), so integrals agree to fewer digits.
    if isinstance(e, sp.Basic) and e.has(sp.Integral):
        return INTEGRAL_AGREE_DIGITS * dps // DPS
    return AGREE_DIGITS * dps // DPS


def _number(e, point: Point, dps: int, real_only: bool, approx: bool, errors=None):
    """(value, scale): scale is the largest magnitude among the top-level terms."""
    if not isinstance(e, sp.Basic):
        e = as_basic(e)
    if isinstance(e, (sp.MatrixBase, Bag, Eigenvals)):
        raise Undefined("a matrix appears where a number is expected")
    subs = point.values
    work = dps + (dps + LIMIT_STEP_DIGITS if approx else 0)
    if isinstance(e, sp.Add) and len(e.args) <= 64 and e.has(sp.Integral):
        # Evaluate each term once: the value is their sum and the scale their largest size.
        terms = [_evalf(t, work, subs, real_only, errors) for t in e.args]
        with mpmath.workdps(work + 10):
            v = mpmath.fsum(terms)
            return v, max([abs(v)] + [abs(t) for t in terms])
    v = _evalf(e, work, subs, real_only, errors)
    with mpmath.workdps(work + 10):
        scale = abs(v)
        if isinstance(e, sp.Add) and len(e.args) <= 64:
            for t in e.args:
                scale = max(scale, abs(_evalf(t, work, subs, real_only, errors)))
    return v, scale


def _evalf(e, dps: int, subs: dict, real_only: bool, errors=None):
    if e.has(sp.Integral):
        try:
            return _mp_value(e, INTEGRAL_DPS * dps // DPS, subs, real_only, errors)
        except mpeval.NotSupported:
            pass  # SymPy's evalf below handles what the interpreter does not
    try:
        with mpmath.workdps(dps + 10):
            r = e.evalf(dps, subs=subs, maxn=dps * 4) if e.free_symbols else e.evalf(dps, maxn=dps * 4)
    except (ValueError, TypeError, ZeroDivisionError, OverflowError, ArithmeticError) as exc:
        raise Undefined(f"cannot evaluate: {exc}") from None
    if r.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or not r.is_number:
        raise Undefined("not finite or not a number here")
    re, im = r.as_real_imag()
    try:
        with mpmath.workdps(dps + 10):  # mpf() rounds to the context precision: keep every digit
            re_m = mpmath.mpf(sp.Float(re, dps)._mpf_)
            im_m = mpmath.mpf(sp.Float(im, dps)._mpf_)
    except (TypeError, ValueError, AttributeError):
        raise Undefined("not a number here") from None
    if real_only:
        if abs(im_m) > mpmath.mpf(10) ** (-AGREE_DIGITS) * max(abs(re_m), 1):
            raise Undefined("not real here")
        return re_m
    if im_m == 0:
        return re_m
    with mpmath.workdps(dps + 10):
        return mpmath.mpc(re_m, im_m)


def _mp_value(e, dps: int, subs: dict, real_only: bool, errors=None):
    with mpmath.workdps(dps + 10):
        env = {k: mpmath.mpf(int(v.p)) / int(v.q) if v.is_Rational else mpmath.mpmathify(complex(v))
               for k, v in subs.items()}
        try:
            v = mpeval.evaluate(e, env, errors)
        except (ZeroDivisionError, ValueError, OverflowError, ArithmeticError) as exc:
            raise Undefined(f"cannot evaluate: {exc}") from None
        if isinstance(v, mpmath.mpc):
            if real_only and abs(v.imag) > mpmath.mpf(10) ** (-AGREE_DIGITS) * max(abs(v.real), 1):
                raise Undefined("not real here")
            v = v.real if (real_only or v.imag == 0) else v
        if not mpmath.isfinite(v):
            raise Undefined("not finite here")
        return v


def _eigenvalues(m, point: Point, dps: int, real_only: bool) -> Value:
    m = instantiate(m, point)
    vals = [_number(x, point, dps, False, False)[0] for x in m]
    with mpmath.workdps(dps + 10):
        mat = mpmath.matrix(m.shape[0], m.shape[1])
        for k, v in enumerate(vals):
            mat[k // m.shape[1], k % m.shape[1]] = v
        ev = mpmath.eig(mat, left=False, right=False)
        scale = max([abs(x) for x in ev] + [0])
    return Value("bag", list(ev), scale)


def _close_digits(a, b, scale, digits: int = AGREE_DIGITS) -> bool:
    tol = mpmath.mpf(10) ** (-digits)
    return abs(a - b) <= tol * max(scale, tol)


def values_agree(left: Value, right: Value) -> bool:
    """Whether two values are equal to AGREE_DIGITS digits relative to their size."""
    with mpmath.workdps(CONFIRM_DPS + 10):  # differences of close values need the full precision
        return _agree(left, right)


def _agree(left: Value, right: Value) -> bool:
    scale = max(left.scale, right.scale)
    digits = min(left.digits, right.digits)
    err = left.error + right.error
    if err and left.kind == right.kind == "number":
        # Quadrature: equal within tolerance, different beyond 100x the error estimate, else no verdict.
        tol = mpmath.mpf(10) ** (-digits) * max(scale, mpmath.mpf(10) ** (-digits))
        diff = abs(left.data - right.data)
        if diff <= tol and err <= tol:
            return True
        if diff > 100 * err + tol:
            return False
        raise Undefined("quadrature was not precise enough at this point")
    _close = lambda a, b, s: _close_digits(a, b, s, digits)  # noqa: E731
    if left.kind == "number" and right.kind == "number":
        return _close(left.data, right.data, scale)
    if left.kind == "matrix" and right.kind == "matrix":
        (ls, lv), (rs, rv) = left.data, right.data
        return ls == rs and all(_close(a, b, scale) for a, b in zip(lv, rv))
    if left.kind == "matrix" and right.kind == "number" and left.data[0] == (1, 1):
        return _close(left.data[1][0], right.data, scale)
    if left.kind == "number" and right.kind == "matrix" and right.data[0] == (1, 1):
        return _close(left.data, right.data[1][0], scale)
    if left.kind == "bag" and right.kind == "bag":
        if len(left.data) != len(right.data):
            return False
        rest = list(right.data)
        for a in left.data:
            k = next((i for i, b in enumerate(rest) if _close(a, b, scale)), None)
            if k is None:
                return False
            rest.pop(k)
        return True
    return False


def compare(left: Value, op: str, right: Value) -> bool:
    """Whether `left op right` holds at this point (within the agreement tolerance)."""
    if op == "=":
        return values_agree(left, right)
    if op == "!=":
        return not values_agree(left, right)
    with mpmath.workdps(CONFIRM_DPS + 10):
        return _ordered(left, op, right)


def _ordered(left: Value, op: str, right: Value) -> bool:
    if left.kind != "number" or right.kind != "number":
        raise Undefined("an inequality between non-numbers")
    a, b = left.data, right.data
    if isinstance(a, mpmath.mpc) or isinstance(b, mpmath.mpc):
        raise Undefined("an inequality between complex numbers")
    slack = mpmath.mpf(10) ** (-min(left.digits, right.digits)) * max(left.scale, right.scale, 1e-30)
    if op == "<=":
        return a <= b + slack
    if op == ">=":
        return a >= b - slack
    if op == "<":
        return a < b + slack  # equality within rounding cannot refute a strict claim
    if op == ">":
        return a > b - slack
    raise ValueError(op)


def real_only(*exprs) -> bool:
    """Whether values that turn out non-real mean 'outside the domain' rather than 'wrong'."""
    for e in exprs:
        if isinstance(e, sp.Basic) and (e.has(sp.I) or e.has(Eigenvals) or
                                        any(s.is_complex and not s.is_real for s in e.free_symbols)):
            return False
    return True


def rewrite(e, rules: dict):
    """Apply function-valued givens (lhs -> rhs) after evaluating derivatives."""
    if not isinstance(e, sp.Basic):
        return e
    if isinstance(e, sp.MatrixBase):
        return sp.ImmutableMatrix(e.rows, e.cols, [rewrite(x, rules) for x in e])
    return deep_doit(e).xreplace(rules)


def holds(rel: Relation, point: Point, dps: int) -> bool:
    """Whether a relation holds at a point."""
    ro = real_only(rel.lhs, rel.rhs)
    return compare(evaluate(rel.lhs, point, dps, ro), rel.op, evaluate(rel.rhs, point, dps, ro))


@dataclass
class Search:
    """The outcome of testing `lhs op rhs` at random points."""

    valid: int = 0
    sizes: list = field(default_factory=list)  # the dimension tuples of the valid points
    counterexample: dict | None = None
    approximate_mismatch: bool = False
    reason: str = ""


def search(lhs, op: str, rhs, sampler: Sampler, rng: random.Random, want: int, max_draws: int) -> Search:
    """Test a relation at up to `want` valid points; confirm any mismatch at higher precision."""
    out = Search()
    memo: dict = {}
    if sampler.rewrites:
        lhs, rhs = rewrite(lhs, sampler.rewrites), rewrite(rhs, sampler.rewrites)
    ro = real_only(lhs, rhs)
    last_reason = ""
    for _ in range(max_draws):
        if out.valid >= want:
            break
        try:
            point = sampler.draw(rng)
            left, right = evaluate(lhs, point, DPS, ro, memo), evaluate(rhs, point, DPS, ro, memo)
            ok = compare(left, op, right)
        except Undefined as exc:
            last_reason = str(exc)
            continue
        out.valid += 1
        if sampler.dims:
            size = ", ".join(f"{d} = {point.values[d]}" for d in sampler.dims)
            if size not in out.sizes:
                out.sizes.append(size)
        if ok:
            continue
        try:
            left2, right2 = evaluate(lhs, point, CONFIRM_DPS, ro, memo), evaluate(rhs, point, CONFIRM_DPS, ro, memo)
            confirmed = not compare(left2, op, right2)
        except Undefined:
            confirmed = False
        if not confirmed:
            continue
        if left.approximate or right.approximate:
            out.approximate_mismatch = True
            continue
        ce = point.describe(_names_in(lhs, rhs, sampler))
        ce["lhs"], ce["rhs"] = _show(left2), _show(right2)
        out.counterexample = ce
        return out
    out.reason = last_reason
    return out


def _names_in(lhs, rhs, sampler: Sampler) -> set:
    """Symbols, functions and matrices the two sides (or the givens they rely on) mention."""
    used: set = set()
    exprs = [lhs, rhs] + [x for rel in sampler.checks for x in (rel.lhs, rel.rhs)]
    exprs += [sol for _, sols in sampler.equalities for sol in sols]
    for e in exprs:
        if isinstance(e, sp.Basic):
            used |= e.free_symbols | e.atoms(sp.MatrixSymbol)
            used |= {a.func for a in e.atoms(AppliedUndef)}
    used |= {s for s, _ in sampler.equalities}
    for e in (lhs, rhs):  # a random matrix an expectation averages over is not part of the point
        if isinstance(e, sp.Basic):
            used -= {h.args[1] for h in e.atoms(plugins.linalg.MatExpectation)}
    return used


def _show(v: Value) -> str:
    if v.kind == "number":
        return mpmath.nstr(v.data, 15)
    if v.kind == "matrix":
        (r, c), vals = v.data
        rows = [[mpmath.nstr(vals[i * c + j], 10) for j in range(c)] for i in range(r)]
        return "[" + ", ".join("[" + ", ".join(row) + "]" for row in rows) + "]"
    return "{" + ", ".join(mpmath.nstr(x, 10) for x in v.data) + "}"
