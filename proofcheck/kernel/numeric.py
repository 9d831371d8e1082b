"""Random points inside the declarations, high-precision evaluation, confirmed counterexamples."""

from __future__ import annotations

import copy
import hashlib
import math
import random
from dataclasses import dataclass, field, replace
from functools import lru_cache

import mpmath
import sympy as sp
from sympy.core.evalf import PrecisionExhausted
from sympy.core.function import AppliedUndef

from proofcheck.kernel import mpeval, plugins
from proofcheck.kernel.terms import value_set, At, Bag, as_basic, resolve_matrix_at, Context, deciding_coefficients, deep_doit, given_substituted, real_roots, derivative_doit, inverse_cancelled, inverse_function, singular_parts, Eigenvals, Optimum, Relation, SymbolInfo, Unsupported, unsupported

DPS = 50  # working precision of a check (digits)
CONFIRM_DPS = 110  # a mismatch is re-evaluated at this precision before it is reported
AGREE_DIGITS = 40  # two values agree when they match to this many digits relative to the terms' size
SIZE_SCHEDULE = (2, 3, 1, 4, 3, 2, 5, 1, 4, 2, 7, 3, 1, 6, 2, 8)  # sizes given to dimension names, draw after draw
FUNCTION_REUSE = 4  # points that share one random concrete function (so 8 points see 2 or more)
DIVERGES = "a sum or an integral diverges here"
LIMIT_UNSETTLED = "the limit could not be estimated reliably here"
UNSUPPORTED_HERE = "this expression has a construct that cannot be evaluated (not supported)"
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
    branches: dict = field(default_factory=dict)  # dependent Symbol -> index of the given's solution used
    parameters: dict = field(default_factory=dict)  # integer parameters of periodic solution families

    def describe(self, used=None) -> dict:
        """Symbol name -> decimal string (functions and matrices shown as formulas), for the names used."""
        out = {}
        for s, v in sorted(self.values.items(), key=lambda kv: kv[0].name):
            if used is None or s in used:
                out[s.name] = _decimal(v)
        for f, lam in sorted(self.functions.items(), key=lambda kv: str(kv[0])):
            if isinstance(lam.expr, ConcreteInverse) or used is not None and f not in used and \
                    inverse_function(f) not in used:
                continue  # an inverse is shown as the function it inverts
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
        return f"{v.p}/{v.q}"  # exact (a root of lhs - rhs, a point inside an interval with such ends)
    if isinstance(v, sp.Basic) and v.is_number:
        # a closed form (a tie found at pi/2) reads better than its digits
        return sp.sstr(v) if sp.count_ops(v) <= 6 else str(sp.N(v, 20))
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


def _sig(rng: random.Random, exponent: float) -> sp.Rational:
    """A positive exact value near 10^exponent with six significant digits (prints exactly)."""
    shift = math.floor(exponent) - 5
    m = rng.randint(100000, 999999)
    return sp.Integer(m * 10 ** shift) if shift >= 0 else sp.Rational(m, 10 ** -shift)


# How far draws reach, by what the expressions can stand: `wide` spans 10^-12..10^12; `moderate`
# (sums, integrals, limits, nested exponentials, whose evaluation at 10^12 can take hours) 10^-6..10^2.
# `quadrature` (integrals evaluated numerically) 10^-1..10^1: quadrature misses a density's spike of
# width 10^-4 and reads 0 with a small error estimate, a false counterexample.
WIDE, MODERATE, QUADRATURE = "wide", "moderate", "quadrature"


def _magnitude(rng: random.Random, reach: str = WIDE) -> sp.Rational:
    """A positive value: often in the small box the library's examples live in, else log-uniform."""
    r = rng.random()
    if r < 0.4:
        return _dec(rng, 0.05, 4.0)
    if reach == QUADRATURE:
        return _sig(rng, rng.uniform(-1, 1))
    if r < 0.7 or reach != WIDE:
        return _sig(rng, rng.uniform(-6, 2) if reach != WIDE else rng.uniform(-3, 3))
    if r < 0.9:
        return _sig(rng, rng.uniform(-12, 12))
    return _sig(rng, rng.choice((-1, 1)) * rng.uniform(12, 30))  # log(t) < 40 + sin(t) holds up to t = 10^17


def _signed(rng: random.Random, reach: str = WIDE) -> sp.Rational:
    v = _magnitude(rng, reach)
    return v if rng.random() < 0.5 else -v


def _whole(rng: random.Random, lo: int, reach: str) -> sp.Integer:
    r = rng.random()
    if r < 0.75:
        return sp.Integer(rng.randint(lo, 8))
    if r < 0.88:
        return sp.Integer(rng.randint(lo if lo > 0 else -60, 60))
    # Past 60 too, even in sums (sum(1/j, j, 1, n) < 5 fails from n = 83 on); 20000 when wide (log(n) < 7 holds
    # up to n = 1096)
    v = rng.randint(61, 300) if reach != WIDE else rng.randint(61, 1000) if rng.random() < 0.5 else \
        int(10 ** rng.uniform(3, 4.3))
    return sp.Integer(v if lo > 0 or rng.random() < 0.5 else -v)


def draw_scalar(info: SymbolInfo, rng: random.Random, known: dict, reach: str = WIDE) -> sp.Expr:
    """A random exact value inside the symbol's declared type, across scales and near its ends."""
    d = info.domain
    if d in ("positive", "nonnegative"):
        return _magnitude(rng, reach)
    if d == "negative":
        return -_magnitude(rng, reach)
    if d in ("nonzero", "real"):
        return _signed(rng, reach)
    if d == "integer":
        return _whole(rng, -8, reach)
    if d == "posint":
        return _whole(rng, 1, reach)
    if d == "complex":
        parts = []
        for _ in range(2):
            r = rng.random()
            parts.append(_dec(rng, -3, 3) if r < 0.3 else _dec(rng, -12, 12) if r < 0.7 else _signed(rng, MODERATE))
        # on the real and the imaginary axis some of the time: the branch cuts of sqrt and log lie along them
        # (conj(sqrt(z + 3)) = sqrt(conj(z) + 3) fails at z = -4 only)
        axis = rng.random()
        if axis < 1 / 3:
            parts[1] = sp.Integer(0)
        elif axis < 1 / 2:
            parts[0] = sp.Integer(0)
        return parts[0] + sp.I * parts[1]
    if d == "interval":
        lo = as_basic(info.low).xreplace(known) if info.low is not None else -sp.oo
        hi = as_basic(info.high).xreplace(known) if info.high is not None else sp.oo
        if not (lo.is_number and hi.is_number) or not lo < hi:
            raise Undefined(f"empty interval for {info.name}")
        if lo == -sp.oo and hi == sp.oo:
            return _signed(rng, reach)
        if lo == -sp.oo:
            return hi - _magnitude(rng, reach)
        if hi == sp.oo:
            return lo + _magnitude(rng, reach)
        r = rng.random()
        if r < 0.5:
            u = sp.Rational(rng.randint(1, 10 ** 6 - 1), 10 ** 6)
        else:  # at a distance 10^-k (relative to the width) from one end
            far = reach == WIDE and rng.random() < 0.3  # log(u) + u > -40 holds down to u = 4e-18
            u = _sig(rng, -rng.uniform(1, 30 if far else {WIDE: 12, MODERATE: 6}.get(reach, 2)))
            u = u if r < 0.75 else 1 - u
        return lo + (hi - lo) * u
    return _signed(rng, reach)


def draw_function(info: SymbolInfo, rng: random.Random, reach: str = WIDE, extreme: bool = False) -> sp.Lambda:
    """A random smooth concrete function (strictly increasing for `increasing`, a density for
    `density`), from families broad enough that a property they all share is one of the class;
    `extreme` ones are steep or large (g(x) -> A g(k x)), extreme densities sharply peaked."""
    xs = list(_arguments(info))
    if info.kind == "density":
        # Under quadrature a spike is at most 10^4 times the unit's height: the quadrature breaks its range at every
        # bump's centre (mpeval), where its nodes crowd, so the spike is integrated exactly, also when a shift in the
        # integrand moves it. Without any spike, E_q[log p] <= 0 held for every pair drawn (log p(x) >=
        # E_q[log(p(x) p(z))] came out numeric).
        return sp.Lambda(tuple(xs), _density(xs, rng, extreme, 4 if reach == QUADRATURE else 6))
    extreme = extreme and reach != QUADRATURE  # quadrature would miss a spike and read 0
    lam = _smooth_function(info, xs, rng)
    if not extreme:
        return lam
    # A bound that holds for every function of modest size and slope is not a property of the class.
    amplitude = _sig(rng, rng.uniform(-2, 3))
    steep = [_sig(rng, rng.uniform(-1, 2)) for _ in xs]
    if "increasing" not in info.flags and rng.random() < 0.5:
        amplitude = -amplitude
    body = lam.expr.xreplace({x: k * x for x, k in zip(xs, steep)})
    return sp.Lambda(lam.variables, amplitude * body)


def _arguments(info: SymbolInfo) -> tuple:
    """The argument symbols of a drawn function: x, or x0, x1, ... for several."""
    return tuple(sp.Symbol(f"x{i}" if info.arity > 1 else "x", real=True) for i in range(info.arity))


def _degenerate_functions(infos, rng: random.Random, reach: str, constant: int) -> dict:
    """Every fourth set of functions is a degenerate member of each class: names declared alike share one function
    (g = f, two densities equal), and an unconstrained function is 0 (or, every other such set, a constant), so that
    `abs(f(x) - g(x)) > 0` or `f(x)^2 + f'(x)^2 > 0` is not a property of the random family."""
    out, shared = {}, {}
    for i in infos:
        if i.kind not in ("function", "density"):
            continue
        group = (i.kind, i.arity, i.flags)
        if group not in shared:
            if i.kind == "function" and not i.flags:
                shared[group] = sp.Lambda(_arguments(i), _dec(rng, -2.0, 2.0, 2) if constant else sp.Integer(0))
            else:
                shared[group] = draw_function(i, rng, reach)
        out[i.obj] = shared[group]
    return out


class ConcreteInverse(sp.Function):
    """The inverse of one concrete increasing function onto the real line (made per drawn function by
    concrete_inverse). Its value is found by bisection and certified by monotonicity: F(r - e) < y < F(r + e) puts the
    true inverse within e of r, so the digits it reports are right (a value it cannot certify is not given)."""

    forward: sp.Lambda = None  # set on each subclass
    _mp = None
    _values: dict = {}  # replaced on each subclass: exact argument -> (precision in bits, mpf tuple)
    _last = None  # (y, precision, root) of the last solve
    _float = None

    def _eval_is_extended_real(self):
        return True

    def fdiff(self, argindex=1):
        """(F^-1)'(y) = 1 / F'(F^-1(y))."""
        v = self.forward.variables[0]
        return 1 / sp.diff(self.forward.expr, v).xreplace({v: self})

    @classmethod
    def solve(cls, y, prec: int):
        """F^-1(y) as an mpf correct to about `prec` bits (y an mpf), or None."""
        if cls._mp is None:
            v = cls.forward.variables[0]
            # our own drawn formula in our own symbol: no user text is turned into code here
            cls._mp = (sp.lambdify(v, cls.forward.expr, "mpmath"),
                       sp.lambdify(v, sp.diff(cls.forward.expr, v), "mpmath"))
        f, df = cls._mp
        last = cls._last
        if last is not None and last[0] == y and last[1] >= prec:
            return last[2]  # the same node asked again (p_U(F^-1(x)) / F'(F^-1(x)))
        r = cls._polished(y, prec, cls._float_root(y, last[2] if last is not None else 0.0))
        if r is not None:
            cls._last = (y, prec, r)
            return r
        # at least y's own bits: the root solved for is that of the y given, not of a rounded one
        bits = y._mpf_[3] if isinstance(y, mpmath.mpf) else prec
        with mpmath.workprec(max(prec + 20, bits + 10)):
            y = mpmath.mpf(y)
            # a bracket around the last root (a quadrature asks at nodes close to each other), widened until F
            # crosses y inside it
            centre = last[2] if last is not None else mpmath.mpf(0)
            width = (1 + abs(centre)) * mpmath.mpf(2) ** -10
            lo, hi = centre - width, centre + width
            for _ in range(4000):
                if f(lo) < y:
                    break
                lo, width = lo - width, 2 * width
            else:
                return None
            for _ in range(4000):
                if f(hi) > y:
                    break
                hi, width = hi + width, 2 * width
            else:
                return None
            # Newton's method kept inside the bracket [lo, hi] (a bisection where a Newton step would leave it), the
            # bracket shrinking on every evaluation
            r = centre if lo < centre < hi else (lo + hi) / 2
            for _ in range(prec + 4000):
                e = _relative(r, prec)
                if hi - lo <= 2 * e:
                    break
                fr = f(r) - y
                if fr < 0:
                    lo = r
                elif fr > 0:
                    hi = r
                else:
                    break
                d = df(r)
                step = r - fr / d if d > 0 else None
                r = step if step is not None and lo < step < hi else (lo + hi) / 2
                if abs(r - lo) < e or abs(hi - r) < e:
                    # certify: the root lies in [r - e, r + e] when F changes sign across it
                    if f(r - e) <= y <= f(r + e):
                        break
            else:
                r = (lo + hi) / 2
                e = _relative(r, prec)
                if not f(r - e) <= y <= f(r + e):
                    return None
            r = +r
        cls._last = (y, prec, r)
        return r

    @classmethod
    def _float_root(cls, y, start) -> float | None:
        """The root in machine floats (Newton's method inside a bracket), or None where floats overflow."""
        if cls._float is None:
            v = cls.forward.variables[0]
            cls._float = (sp.lambdify(v, cls.forward.expr, "math"), sp.lambdify(v, sp.diff(cls.forward.expr, v), "math"))
        f, df = cls._float
        try:
            y, r = float(y), float(start)
            if not math.isfinite(y):
                return None
            lo, hi, width = r, r, 1.0 + abs(r)
            while f(lo) >= y:
                lo, width = lo - width, 2 * width
            width = 1.0 + abs(r)
            while f(hi) <= y:
                hi, width = hi + width, 2 * width
            for _ in range(200):
                fr = f(r) - y
                if fr < 0:
                    lo = max(lo, r)
                elif fr > 0:
                    hi = min(hi, r)
                else:
                    return r
                d = df(r)
                step = r - fr / d if d > 0 else None
                nxt = step if step is not None and lo < step < hi else (lo + hi) / 2
                if abs(nxt - r) <= 1e-15 * (1 + abs(r)):
                    return nxt
                r = nxt
        except (OverflowError, ValueError, ZeroDivisionError):
            return None
        return None

    @classmethod
    def _polished(cls, y, prec: int, r0):
        """The float root r0 refined by Newton's method at `prec` bits and certified (F(r - e) <= y <= F(r + e)), or
        None (the caller then brackets from scratch)."""
        if r0 is None:
            return None
        f, df = cls._mp
        bits = y._mpf_[3] if isinstance(y, mpmath.mpf) else prec
        with mpmath.workprec(max(prec + 20, bits + 10)):
            y, r = mpmath.mpf(y), mpmath.mpf(r0)
            for _ in range(12):
                d = df(r)
                if not d > 0:
                    return None
                step = (f(r) - y) / d
                r -= step
                e = _relative(r, prec)
                if abs(step) < e:
                    break
            if f(r - e) <= y <= f(r + e):
                return +r
        return None

    def _eval_evalf(self, prec):
        # SymPy's evalf asks again at rising precision where terms cancel: the value at an exact argument (3/10,
        # F(3/10)) is kept at the highest precision found so far, and given with 64 bits to spare
        arg = self.args[0]
        cache = type(self)._values
        exact = not arg.free_symbols and not arg.has(sp.Float)
        if exact and arg in cache and cache[arg][0] >= prec:
            return sp.Float._new(cache[arg][1], cache[arg][0])
        work = prec + 64
        # F^-1 is steep where F is flat (a cube root at F' = 0): the argument's own rounding moves the root by more
        # than its last bits there. The root must come out the same from the argument at twice the digits.
        roots = []
        for bits in (work + 40, 2 * work + 80):
            y = arg.evalf(mpmath.libmp.prec_to_dps(bits) + 5)
            if not (y.is_Number and y.is_real):
                return None
            roots.append(self.solve(y._to_mpmath(bits), work))
            if roots[-1] is None:
                return None
        r, again = roots
        with mpmath.workprec(work + 20):
            if abs(r - again) > mpmath.mpf(2) ** -work * abs(again):
                return None  # relative digits: a root near 0 must be known to its own size
        if exact and len(cache) < 1000:
            cache[arg] = (work, r._mpf_)
        return sp.Float._new(r._mpf_, work)


def _relative(r, prec: int):
    """The certified distance around a root r: `prec` bits relative to r (an absolute 2^-prec would leave a root
    near 1e-150 without one right digit), never below 2^-2prec (a root at exactly 0)."""
    two = mpmath.mpf(2)
    return max(two ** -(prec + 4) * abs(r), two ** -(2 * prec + 8))


def concrete_inverse(lam: sp.Lambda) -> sp.Lambda:
    """The inverse of a drawn increasing bijection, as a function the sampler can put for `F⁻¹`."""
    y = sp.Symbol("y", real=True)
    return sp.Lambda(y, type("inverse", (ConcreteInverse,), {"forward": lam, "_values": {}, "_last": None,
                                                             "_mp": None, "_float": None})(y))


def _smooth_function(info: SymbolInfo, xs: list, rng: random.Random) -> sp.Lambda:
    c = lambda lo=-2.0, hi=2.0: _dec(rng, lo, hi, 2)  # noqa: E731
    if "increasing" in info.flags:
        x = xs[0]
        kinds = rng.sample(["linear", "exp", "concave", "atan", "softplus", "cube"], rng.randint(1, 3))
        if "onto" in info.flags and not {"linear", "cube"} & set(kinds) and not {"exp", "concave"} <= set(kinds):
            kinds.append(rng.choice(["linear", "cube"]))  # a bijection: unbounded both ways
        body = c()
        for kind in kinds:
            a, m = c(0.1, 3), c()
            if kind == "linear":
                body += a * x
            elif kind == "exp":  # convex, unbounded above, bounded below
                body += a * sp.exp(c(0.2, 2) * (x - m))
            elif kind == "concave":  # bounded above
                body -= a * sp.exp(-c(0.2, 2) * (x - m))
            elif kind == "atan":  # bounded
                body += a * sp.atan(c(0.3, 4) * (x - m))
            elif kind == "softplus":
                body += a * sp.log(1 + sp.exp(c(0.3, 3) * (x - m)))
            else:
                body += a * (x - m) ** 3
        return sp.Lambda(x, body)
    lin = sum(c() * x for x in xs)
    mix = sum(c() * x for x in xs) + c()
    body = c() + lin + c() * mix ** 2 / 2 + c() * sp.sin(sum(c(0.2, 5) * x for x in xs) + c())
    if len(xs) > 1:
        body += c() * xs[0] * xs[1]
    if rng.random() < 0.5:
        body += c(-1, 1) * sp.exp(sum(c(-0.5, 0.5) * x for x in xs))
    if rng.random() < 0.3:
        body += c(-0.3, 0.3) * xs[0] ** 3
    return sp.Lambda(tuple(xs) if len(xs) > 1 else xs[0], body)


def _density(xs: list, rng: random.Random, peaked: bool = False, decades: float = 6):
    """A mixture of Gaussians with full covariance (and, in one variable, sometimes a logistic
    component), normalised exactly; `peaked`: one component a spike at the origin (where special
    points look), of width down to 10^-decades."""
    k = len(xs)
    parts = rng.randint(1, 3 if k == 1 else 2)
    weights = [sp.Integer(rng.randint(1, 9)) for _ in range(parts)]
    total = sum(weights)
    body = sp.Integer(0)
    x = sp.Matrix(xs)
    if peaked:
        width = _sig(rng, -rng.uniform(0, decades))
        w = weights.pop()
        if weights and rng.random() < 0.5:
            # most of the mass in the spike: only then is a density above 1 where another one has its mass, and
            # E_q[log p] > 0 (a bound that assumes densities below 1 is false)
            w = 3 * sum(weights)
            total = w + sum(weights)
        body += w / total * sp.exp(-sum(v ** 2 for v in xs) / (2 * width ** 2)) / (sp.sqrt(2 * sp.pi) * width) ** k
    for n, w in enumerate(weights):
        if k == 1 and rng.random() < 0.25:
            m, s = _dec(rng, -2, 2, 2), _dec(rng, 0.3, 1.5, 2)
            z = (xs[0] - m) / s
            body += w / total * sp.exp(-z) / (s * (1 + sp.exp(-z)) ** 2)
            continue
        # in a peaked set, one component far out (3 to 1000 from the origin): a density's mean and spread are not
        # bounded by those of the library's examples (E_q[z]^2 <= 9 held for every density drawn)
        far = peaked and n == 0
        mean = sp.Matrix([(_sig(rng, rng.uniform(0.5, 3)) * rng.choice([-1, 1])) if far else _dec(rng, -2, 2, 2)
                          for _ in xs])
        root = sp.Matrix(k, k, lambda i, j: _dec(rng, -1, 1, 2) if i != j else _dec(rng, 0.3, 1.5, 2))
        cov = root * root.T + sp.Rational(1, 20) * sp.eye(k)
        dx = x - mean
        q = sp.expand((dx.T * cov.inv() * dx)[0, 0])
        body += w / total * sp.exp(-q / 2) / sp.sqrt((2 * sp.pi) ** k * cov.det())
    return body


def _gauss(x, m, s):
    return sp.exp(-(x - m) ** 2 / (2 * s ** 2)) / (s * sp.sqrt(2 * sp.pi))


def draw_matrix(info: SymbolInfo, rng: random.Random, known: dict, style: str | None = None) -> sp.ImmutableMatrix:
    """Random exact entries of the declared shape; symmetric and spd as declared. Sometimes scaled,
    and spd ones sometimes nearly singular (eigenvalues down to 10^-6) or large."""
    r, c = (int(as_basic(d).xreplace(known)) for d in info.shape)
    scale = sp.Integer(1) if rng.random() < 0.6 else _sig(rng, rng.uniform(-3, 3))
    positive = "positive" in info.flags  # every entry positive: not the identity's zeros
    if style == "identity" and r == c and (r == 1 or not positive):
        return sp.ImmutableMatrix(sp.eye(r) * scale)
    if style == "ones" and "spd" not in info.flags:
        return sp.ImmutableMatrix(sp.ones(r, c) * scale * (1 if "symmetric" in info.flags or positive or
                                                           rng.random() < 0.5 else -1))
    if "spd" in info.flags:
        # often nearly rank 1 (u u^T + eps I): products of such matrices at different angles are where
        # inequalities about spd matrices fail (tr(A B C) < 0 for 2 x 2 ones)
        u = rng.random()
        inner = 1 if u < 0.3 else rng.randint(1, r) if u < 0.65 else r
        m = sp.Matrix(r, inner, lambda i, j: _dec(rng, -2, 2, 2))
        eps = sp.Rational(1, 2) if rng.random() < 0.3 else _sig(rng, -rng.uniform(0, 6))
        return sp.ImmutableMatrix((m * m.T + eps * sp.eye(r)) * scale)
    m = sp.Matrix(r, c, lambda i, j: _dec(rng, 0.01, 2, 2) if positive else _dec(rng, -2, 2, 2))
    if "symmetric" in info.flags:
        m = (m + m.T) / 2
    return sp.ImmutableMatrix(m * scale)


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
        self.reach = WIDE  # how far values reach; search() narrows it for expressions that cannot stand 10^12
        self._functions = None
        self._function_uses = 0
        self._function_sets = 0
        return self

    def _plan(self, relations) -> None:
        scalars = {i.obj: i for i in self.infos if i.kind == "scalar"}
        dependent: set = set()
        solved: dict = {}  # earlier unique solutions, substituted into later equations
        self.parameters: list = []  # integer symbols of periodic solution families (x = 2 n pi)
        self.for_rules: list[Relation] = []  # givens no point can be tested against (limits): rules use them
        for rel in relations:
            if any(isinstance(x, sp.Basic) and x.has(sp.Limit) for x in (rel.lhs, rel.rhs)):
                # limit(p(x) f(x), x, oo) = 0: no point can be drawn to satisfy it, so it is checked
                # only at a counterexample (_limit_givens_hold); `by parts` reads it.
                self.for_rules.append(rel)
                continue
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
                v = draw_scalar(info, rng, known, self.reach)
                known[info.obj] = v
                p.values[info.obj] = v
        for n in self.parameters:
            # which member of a periodic family (x = n for sin(pi x) = 0): as an integer name is drawn, both signs,
            # mostly small, up to 60 and past it (a claim may fail at x = 11 only)
            k = rng.randint(-3, 3) if rng.random() < 0.4 else _whole(rng, 0, self.reach) * rng.choice((-1, 1))
            known[n] = sp.Integer(k)
        p.parameters = {n: known[n] for n in self.parameters}
        later = []  # solutions in the random functions (lambda = log q(z) + 1 for log q(z) = lambda - 1): once drawn
        for s, sols in self.equalities:
            p.branches[s] = rng.randrange(len(sols))
            sol = sols[p.branches[s]]
            if sol.atoms(AppliedUndef):
                later.append((s, sol))
                continue
            self._solved(s, sol.xreplace(known), known, p)
        # Under quadrature nothing is differentiated, and what an expectation says is about the functions more
        # than the point: every point gets a fresh set (E_q[log p] <= 0 held for the two sets 8 points drew)
        reuse = 1 if self.reach == QUADRATURE else FUNCTION_REUSE
        if self._functions is None or self._function_uses >= reuse:
            # A random function is reused for a few points: instantiating derivatives is the slow part.
            # Every other set is extreme, so each check sees both kinds whatever the seed.
            extreme = self._function_sets % 2 == 1
            if self._function_sets % 4 == 2:
                self._functions = _degenerate_functions(self.infos, rng, self.reach, self._function_sets // 4 % 2)
            else:
                self._functions = {i.obj: draw_function(i, rng, self.reach, extreme) for i in self.infos
                                   if i.kind in ("function", "density")}
            for i in self.infos:
                if "onto" in i.flags:
                    self._functions[inverse_function(i.obj)] = concrete_inverse(self._functions[i.obj])
            self._function_uses = 0
            self._function_sets += 1
        self._function_uses += 1
        p.functions = self._functions
        for s, sol in later:
            self._solved(s, instantiate(sol.xreplace(known), p), known, p)
        drawn: dict = {}  # matrices drawn so far -> their declarations
        for info in self.infos:
            if info.kind != "matrix":
                continue
            twins = [m for m, i in drawn.items() if i.shape == info.shape and i.flags == info.flags]
            if twins and rng.random() < 0.2:
                # u = v and u = -v: where vector bounds are tight or fail (Cauchy-Schwarz)
                sign = 1 if info.flags & {"spd", "positive"} or rng.random() < 0.5 else -1
                p.matrices[info.obj] = sp.ImmutableMatrix(p.matrices[rng.choice(twins)] * sign)
            else:
                # Every fourth draw a structured matrix (ones, identity, in turn): bounds are often
                # tight or fail there (tr(A)^2 = n tr(A^T A) at the identity), and the schedule
                # puts both at several sizes.
                i = self.draws - 1
                style = ("ones", "identity")[(i // 4) % 2] if i % 4 == 2 else None
                p.matrices[info.obj] = draw_matrix(info, rng, known, style)
            drawn[info.obj] = info
        self.check_givens(p)
        return p


    def _solved(self, s, v, known: dict, p: Point) -> None:
        """Give s the value v of a given's solution, or raise Undefined where it is not real or not of s's type."""
        num = v.evalf(DPS)
        if not num.is_number or not num.is_real or num.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise Undefined("a given has no real solution here")
        info = next(i for i in self.infos if i.obj == s)
        if not _in_domain(num, info):
            raise Undefined("a given's solution is outside the declared type")
        known[s] = v
        p.values[s] = v

    def check_givens(self, p: Point) -> None:
        """Raise Undefined unless p satisfies every given that is tested rather than solved."""
        for rel in self.checks:
            if rel.op == "=" and _given_exactly(rel, p):
                continue  # x = 6 pi solves sin(x) = 0 exactly; numerically it is 1e-50, not 0
            try:
                if rel.op == "=" and _rational_point(p):
                    ok = False  # a point of rational values solves an equality given exactly, or not at all
                else:
                    ok = holds(rel, p, DPS) and (rel.op != "=" or _equality_confirmed(rel, p))
            except Undefined:
                ok = False
            if not ok:
                raise Undefined("the point does not satisfy the givens")

    def vary(self, base: Point, changes: dict) -> Point:
        """`base` with some independent names set to other values (dependent names recomputed on
        the same branch of their given); raises Undefined when that leaves a declared type or
        misses the givens."""
        p = Point(dict(base.values), base.functions, base.matrices, dict(base.branches), dict(base.parameters))
        infos = {i.obj: i for i in self.infos}
        known = {**p.values, **p.parameters}
        for s, v in changes.items():
            info = infos.get(s)
            if info is None or info.kind != "scalar" or s in self.dependent or s in self.dims:
                raise Undefined("not a free name")
            if not _inside(v, info, known):
                raise Undefined("outside the declared type")
            p.values[s] = known[s] = v
        for s, sols in self.equalities:
            v = sols[p.branches.get(s, 0)].xreplace(known)
            num = v.evalf(DPS)
            if not num.is_number or not num.is_real or num.has(sp.zoo, sp.nan, sp.oo, -sp.oo) \
                    or not _in_domain(num, infos[s]):
                raise Undefined("a given has no solution in the declared type here")
            p.values[s] = known[s] = v
        self.check_givens(p)
        return p

def _rational_point(p: Point) -> bool:
    """Whether every value of a point is a rational number (no function, matrix or irrational value). Such a point that
    solves an equality given does so exactly, and SymPy sees it (`_given_exactly`); one that only nearly solves it
    (x = 10^-15 in exp(x) = 1 + x + x^2/2 + x^4, off by 10^-46; a tangency of order 11 leaves 10^-100) is no point
    of the given, and a counterexample there would be none."""
    return not p.functions and not p.matrices and all(isinstance(v, sp.Rational) for v in (*p.values.values(),
                                                                                           *p.parameters.values()))


def _equality_confirmed(rel: Relation, p: Point) -> bool:
    """Whether an equality given that agrees to AGREE_DIGITS at a drawn point with irrational values, or a random
    function, agrees to CONFIRM_DPS - 20 digits of its terms' size too (where SymPy cannot tell the exact values)."""
    ro = real_only(rel.lhs, rel.rhs)
    left, right = evaluate(rel.lhs, p, CONFIRM_DPS, ro), evaluate(rel.rhs, p, CONFIRM_DPS, ro)
    if left.kind != "number" or right.kind != "number" or left.approximate or right.approximate or \
            left.error or right.error:
        return True  # a quadrature's or a limit's value is known to fewer digits: the working check stands
    with mpmath.workdps(CONFIRM_DPS):
        scale = max(left.scale, right.scale)
        return abs(left.data - right.data) <= mpmath.mpf(10) ** (20 - CONFIRM_DPS) * scale


def _given_exactly(rel: Relation, p: Point) -> bool:
    """Whether both sides of a scalar given are the same number once the point's exact values
    (which may be multiples of pi from a periodic solution) are put in."""
    if p.matrices or p.functions or not all(isinstance(x, sp.Expr) for x in (rel.lhs, rel.rhs)):
        return False
    values = {**p.values, **p.parameters}
    try:
        sides = [x.xreplace(values) for x in (rel.lhs, rel.rhs)]
        d = sides[0] - sides[1]
    except (TypeError, ValueError):
        return False
    if any(x.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for x in sides):
        return False  # a side undefined there (1/(x - 1) + x = 1/(x - 1) + 1 at x = 1): the difference cancelled it
    return d == 0 or (d.is_number and d.is_zero is True)


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
        found = sp.solveset(eq, s, value_set(info))
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


def _inside(v, info: SymbolInfo, known: dict) -> bool:
    """Whether an exact value belongs to the declared type (interval ends may name other symbols)."""
    if info.domain in ("integer", "posint"):
        return v.is_Integer and (info.domain == "integer" or v >= 1)
    if info.domain == "complex":
        return v.is_number
    if not v.is_real:
        return False
    if info.domain == "interval":
        lo = as_basic(info.low).xreplace(known) if info.low is not None else -sp.oo
        hi = as_basic(info.high).xreplace(known) if info.high is not None else sp.oo
        if not (lo.is_number and hi.is_number):
            return False
        return bool(lo < v) and bool(v < hi)
    return _in_domain(v, info)


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
    e = inverse_cancelled(e)
    if e.has(sp.Limit):
        e = _limits_to_points(e, dps, point)
    if point.functions and e.has(sp.Derivative):
        e = _derivatives_at_points(e)
    for f, lam in point.functions.items():
        if e.has(f):
            e = e.replace(f, lam)
    if point.functions and e.has(sp.Integral) and e.has(sp.Derivative):
        # doit() leaves integrals alone (quadrature evaluates them), so derivatives of the now
        # concrete functions inside an integrand are taken here.
        e = e.replace(lambda x: isinstance(x, sp.Derivative), derivative_doit)
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
                e = e.replace(lambda x: isinstance(x, (sp.Sum, sp.Product)), _terms_written_out)
        e = e.xreplace({m.xreplace(dims): v for m, v in point.matrices.items()})
    if e.has(sp.MatrixSymbol):
        raise Undefined("a matrix could not be instantiated")
    if dims:
        e = e.xreplace(dims)
    if e.has(At, sp.Derivative, sp.Subs, sp.Determinant, sp.Trace, sp.Inverse, sp.MatMul, sp.Transpose, sp.Sum,
             sp.Product, sp.MatAdd, sp.MatPow, sp.Identity, sp.HadamardProduct, sp.MatrixExpr):
        e = deep_doit(e)
        if e.has(sp.Derivative) and any(isinstance(d.expr, sp.Integral) or d.expr.has(sp.Integral)
                                         for d in e.atoms(sp.Derivative)):
            # held by deep_doit (Leibniz's rule unjustified); a difference quotient of quadratures is no better where
            # the rule fails (near t = 0 the integrand of t^3 exp(-t^2 x) spreads past any quadrature's reach)
            raise Undefined(LEIBNIZ)
    if isinstance(e, sp.MatrixExpr) and not isinstance(e, sp.MatrixBase):
        e = e.as_explicit()
    return e


def _derivatives_at_points(e):
    """Each derivative with respect to an expression (SymPy writes f'(g(x)) as Derivative(f(g(x)), g(x))) as the
    derivative in a variable of its own, taken at that expression: once f and g are concrete functions, SymPy
    cannot differentiate with respect to g(x)."""
    def at(d):
        pairs = [(v, k) for v, k in d.variable_count]
        if all(isinstance(v, sp.Symbol) for v, _ in pairs):
            return d
        body, names, points, counts = d.expr, [], [], []
        for v, k in pairs:
            if isinstance(v, sp.Symbol):
                counts.append((v, k))
                continue
            if body.count(v) != 1:  # h(g(x), g(x)): which argument is meant cannot be told
                return unsupported("a derivative in one argument of a function whose arguments repeat", sp.Dummy())
            u = sp.Dummy("u", real=True)
            body = body.xreplace({v: u})
            if v.free_symbols & body.free_symbols:
                return d  # the expression also appears otherwise: no variable of its own
            names.append(u)
            points.append(v)
            counts.append((u, k))
        return sp.Subs(sp.Derivative(body, *counts), names, points)
    return e.replace(lambda x: isinstance(x, sp.Derivative), at)


LEIBNIZ = "a derivative under an integral over an infinite range is not taken: Leibniz's rule needs the " \
          "integrand's derivative bounded by an integrable function (a declared density times a bounded function of " \
          "x - t), which was not shown"


# A sum over entries with more terms than this is left to SymPy's doit.
MAX_TERMS = 400


def _terms_written_out(x):
    """A Sum or Product with whole-number bounds as its terms added (multiplied) out.

    Its value is doit()'s, without doit's search for a closed form first (partial fractions of a summand that
    holds a random function took a second a sum: seed 001's nested sums of vector entries). Anything else, an
    empty or reversed range (SymPy's Karr convention) or too many terms, goes to doit()."""
    var, lo, hi = x.limits[-1]
    body = x.func(x.function, *x.limits[:-1]) if len(x.limits) > 1 else x.function
    if not (lo.is_Integer and hi.is_Integer and lo <= hi and hi - lo < MAX_TERMS) or \
            any(isinstance(a, (sp.Sum, sp.Product)) and var in a.variables for a in sp.preorder_traversal(body)):
        return x.doit()
    terms = [body.xreplace({var: sp.Integer(k)}) for k in range(int(lo), int(hi) + 1)]
    terms = [_terms_written_out(t) if isinstance(t, (sp.Sum, sp.Product)) else t for t in terms]
    return sp.Add(*terms) if isinstance(x, sp.Sum) else sp.Mul(*terms)


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
        # off the decimal grid: at x = 10^p (or 1/x = 10^p) sin(pi x) is exactly 0 for every p, and a limit that
        # does not exist (limit(a + sin(pi x), x, oo)) would settle on a
        # and the factor changes with the distance, so no one period lines up with all of them
        def off(p):
            k = p // 10 % 4
            return 1 + sp.sqrt((2, 3, 5, 7)[k]) / (7, 11, 13, 17)[k]
        if to in (sp.oo, -sp.oo):
            sign = 1 if to == sp.oo else -1
            places = [lambda p, s=sign: s * sp.Integer(10) ** p * off(p)]
        elif not (to.is_number and to.is_real):
            raise Undefined("the limit point is not a number")
        else:
            signs = {"+": (1,), "-": (-1,)}.get(side, (1, -1))
            places = [lambda p, s=sg: to + s / (sp.Integer(10) ** p * off(p)) for sg in signs]
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
                    raise Undefined(LIMIT_UNSETTLED)
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
        self.exact = None  # the value as a SymPy Rational, when it was computed exactly
        self.expr = None  # the instantiated expression, for an exact look at a tie


def evaluate(expr, point: Point, dps: int, real_only: bool, memo: dict | None = None) -> Value:
    """The value of an expression at a point, at `dps` digits; raises Undefined off its domain.

    A number that is not real is returned as it is (an mpc): whether that makes a counterexample is
    for judge() to say. memo keeps instantiated forms between points that share their functions
    (and have no matrices or integer names, which instantiation substitutes)."""
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
    # A side that is a constant with integrals (E[exp(z^2/4)] under Normal(0, 1)) is the same quadrature at every
    # point: computed once per precision for this search, not at each of its forty points.
    constant = ("constant", e, dps, real_only) if memo is not None and not approx and isinstance(e, sp.Basic) \
        and not e.free_symbols and e.has(sp.Integral, sp.Sum) else None
    if constant is not None and constant in memo:
        return copy.copy(memo[constant])
    errors = mpeval.Errors()
    value = _evaluate(e, point, dps, real_only, errors, approx)
    value.error = errors.total
    if value.kind == "number":
        value.expr = e
        if _rational_form(e):
            value.exact = _exact_value(e, point)
    if constant is not None:
        memo[constant] = copy.copy(value)
    return value


@lru_cache(maxsize=512)
def _rational_form(e) -> bool:
    """Whether e is a rational function of its symbols with small integer powers (so substituting
    rational values gives its exact value cheaply)."""
    if not isinstance(e, sp.Expr) or sp.count_ops(e) > 400:
        return False
    for node in sp.preorder_traversal(e):
        if isinstance(node, (sp.Symbol, sp.Rational, sp.Add, sp.Mul)):
            continue
        if isinstance(node, sp.Pow) and node.exp.is_Integer and abs(int(node.exp)) <= 64:
            continue
        if isinstance(node, (sp.Abs, sp.Max, sp.Min)):
            continue
        return False
    return True


def _exact_value(e, point: Point):
    values = {s: v for s, v in point.values.items() if s in e.free_symbols}
    if not all(isinstance(v, sp.Rational) for v in values.values()):
        return None
    v = e.xreplace(values)
    if v.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise Undefined("division by zero here")
    return v if isinstance(v, sp.Rational) else None


def _evaluate(e, point: Point, dps: int, real_only: bool, errors, approx: bool) -> Value:
    if isinstance(e, sp.MatrixBase):
        vals = [_number(x, point, dps, real_only, approx, errors) for x in e]
        if real_only and any(_is_nonreal(v, s, dps) for v, s in vals):
            raise Undefined("a matrix entry is not real here")
        return Value("matrix", (e.shape, [v for v, _ in vals]), max(s for _, s in vals), approx,
                     min(_digits(x, dps) for x in e))
    if isinstance(e, Bag):
        vals = [_number(x, point, dps, real_only, approx, errors) for x in e.args]
        if real_only and any(_is_nonreal(v, s, dps) for v, s in vals):
            raise Undefined("an element is not real here")
        return Value("bag", [v for v, _ in vals], max([s for _, s in vals] + [0]), approx,
                     min([_digits(x, dps) for x in e.args] + [AGREE_DIGITS]))
    if isinstance(e, Eigenvals):
        return _eigenvalues(e.args[0], point, dps, real_only)
    if isinstance(e, sp.Basic) and e.has(Unsupported):
        raise Undefined(UNSUPPORTED_HERE)
    if isinstance(e, sp.Basic) and e.has(Optimum):
        raise Undefined("this expression has a construct that cannot be evaluated")
    v, s = _number(e, point, dps, real_only, approx, errors)
    return Value("number", v, s, approx, _digits(e, dps))


def _is_nonreal(v, scale, dps: int) -> bool:
    return isinstance(v, mpmath.mpc) and abs(v.imag) > mpmath.mpf(10) ** (-AGREE_DIGITS * dps // DPS) * scale


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
    """The value of e at `dps` digits: an mpf, or an mpc when its imaginary part is not zero."""
    try:
        return _evalf_once(e, dps, subs, real_only, errors, strict=True)
    except PrecisionExhausted:
        pass
    # A sum inside cancels to SymPy's 1-bit "zero" (exp(x) - 1 at x = 0, near 2^-700), which a square or a
    # reciprocal turns into an ordinary-looking 1e-448 or 1e447. The value must come out the same at twice the
    # digits; otherwise it is that cancellation: 0 where SymPy sees it at an exact point, else a pole or no value.
    v = _evalf_once(e, dps, subs, real_only, errors)
    w = _evalf_once(e, 2 * dps, subs, real_only, errors)
    with mpmath.workdps(dps + 10):
        size = abs(v)
        if abs(w - v) <= size * mpmath.mpf(10) ** (-dps // 2):
            return v
    if size >= 1:
        raise Undefined("not finite here")  # a division by a sum that cancels to 0
    if subs and all(isinstance(x, sp.Basic) and x.is_number and not x.has(sp.Float) for x in subs.values()):
        exact = e.xreplace(subs)
        # at an exact point SymPy may see the cancellation itself (exp(0) - 1 is 0), or it is a polynomial's root
        if exact == 0 or _zero_at_root(exact):
            return mpmath.mpf(0)
    raise Undefined("the value cancels below the working precision here")


def _infinite_sums_checked(e, dps: int, subs: dict):
    """e with each infinite sum (one index, from a whole number to oo) replaced by its value at this point, summed
    term by term with mpmath's nsum at two precisions that must agree. SymPy 1.14's evalf of such a sum at a point
    is wrong (the sum of 0.73^j comes out 1; of exp(a j) at a = -3/2, 4/3)."""
    def value(x):
        var, lo, hi = x.limits[0]
        body = x.function.xreplace(subs)
        if len(x.limits) > 1 or hi != sp.oo or not lo.xreplace(subs).is_Integer or body.free_symbols - {var}:
            raise Undefined("an infinite sum that cannot be evaluated here")
        try:
            fast = mpeval.compile_expr(body, mpeval.Errors())
        except mpeval.NotSupported:
            fast = None
        with mpmath.workdps(dps + 10):
            def term(k):
                if fast is not None:
                    try:
                        return fast({var: mpmath.mpf(int(k))})
                    except mpeval.NotSupported:
                        pass
                    except (ValueError, ZeroDivisionError):
                        raise Undefined("not finite here") from None  # a term with a pole: the sum has one
                t = body.xreplace({var: sp.Integer(int(k))}).evalf(dps + 10)
                if not t.is_number or t.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                    raise Undefined("not finite here")
                return _mp_number(t, dps)
            start = int(lo.xreplace(subs))
            try:
                # nsum extrapolates: it sums 2^j to -1 and 1/j to a number. Terms must fall off geometrically or
                # faster than 1/j^1.5 far out, and two precisions must agree.
                far = [abs(term(start + k)) for k in (1000, 1001, 10000)]
                if not (far[1] <= far[0] * mpmath.mpf("0.999") or far[2] <= far[0] * mpmath.mpf(10) ** -1.5):
                    raise Undefined(f"{DIVERGES}: its terms do not fall off fast enough to sum")
                total = mpmath.nsum(term, [start, mpmath.inf])
                with mpmath.workdps(dps + 30):
                    again = mpmath.nsum(term, [start, mpmath.inf])
            except (ValueError, ZeroDivisionError, OverflowError, ArithmeticError) as exc:
                raise Undefined(f"{DIVERGES}: {exc}") from None
            if not mpmath.isfinite(total) or abs(total - again) > mpmath.mpf(10) ** (-dps) * max(abs(total), 1):
                raise Undefined(f"{DIVERGES}: the terms do not settle on a sum")
        if isinstance(total, mpmath.mpc):
            return sp.Float(total.real, dps) + sp.I * sp.Float(total.imag, dps)
        return sp.Float(total, dps)
    return e.replace(lambda x: isinstance(x, sp.Sum) and x.limits[-1][2] in (sp.oo, -sp.oo), value)


def _evalf_once(e, dps: int, subs: dict, real_only: bool, errors=None, strict: bool = False):
    if e.has(sp.Integral):
        try:
            return _mp_value(e, INTEGRAL_DPS * dps // DPS, subs, real_only, errors)
        except mpeval.NotSupported:
            pass  # SymPy's evalf below handles what the interpreter does not
    if e.has(sp.Sum) and any(x.limits[-1][2] in (sp.oo, -sp.oo) for x in e.atoms(sp.Sum)):
        e = _infinite_sums_checked(e, dps, subs)
    if subs and e.has(ConcreteInverse):  # evalf hands `subs` to SymPy's own nodes only
        e = e.replace(lambda n: isinstance(n, ConcreteInverse), lambda n: n.func(n.args[0].xreplace(subs)))
    try:
        with mpmath.workdps(dps + 10):
            r = e.evalf(dps, subs=subs, maxn=dps * 4, strict=strict) if e.free_symbols else \
                e.evalf(dps, maxn=dps * 4, strict=strict)
    except PrecisionExhausted:
        raise
    except (ValueError, TypeError, ZeroDivisionError, OverflowError, ArithmeticError) as exc:
        if "diverges" in str(exc):  # SymPy's "Sum diverges like (2)^n": like a quadrature that does not settle
            raise Undefined(f"{DIVERGES}: {exc}") from None
        raise Undefined(f"cannot evaluate: {exc}") from None
    except MemoryError:
        # mpmath shifts a mantissa by the exponent for sinh(10^30): too large to hold, no value at this point
        raise Undefined("too large to evaluate here") from None
    if r.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or not r.is_number:
        raise Undefined("not finite or not a number here")
    re, im = r.as_real_imag()
    try:
        with mpmath.workdps(dps + 10):  # mpf() rounds to the context precision: keep every digit
            re_m = mpmath.mpf(sp.Float(re, dps)._mpf_)
            im_m = mpmath.mpf(sp.Float(im, dps)._mpf_)
    except (TypeError, ValueError, AttributeError):
        raise Undefined("not a number here") from None
    if im_m == 0:
        return re_m
    with mpmath.workdps(dps + 10):
        return mpmath.mpc(re_m, im_m)


def _mp_number(v, dps: int):
    """An exact SymPy number as an mpf/mpc at the current precision (never through a float)."""
    if v.is_Rational:
        return mpmath.mpf(int(v.p)) / int(v.q)
    re, im = v.as_real_imag()
    # an exact irrational (`sqrt(582221)/1000`, a given's solution) is evaluated first: Float() takes only numbers
    re_m = mpmath.mpf(sp.Float(sp.N(re, dps + 10), dps + 10)._mpf_)
    im_m = mpmath.mpf(sp.Float(sp.N(im, dps + 10), dps + 10)._mpf_)
    return re_m if im_m == 0 else mpmath.mpc(re_m, im_m)


def _mp_value(e, dps: int, subs: dict, real_only: bool, errors=None):
    with mpmath.workdps(dps + 10):
        env = {k: _mp_number(v, dps) for k, v in subs.items()}
        try:
            v = mpeval.evaluate(e, env, errors)
        except (ZeroDivisionError, ValueError, OverflowError, ArithmeticError) as exc:
            if "diverges" in str(exc):
                raise Undefined(f"{DIVERGES}: {exc}") from None
            raise Undefined(f"cannot evaluate: {exc}") from None
        if isinstance(v, mpmath.mpc) and v.imag == 0:
            v = v.real
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


@dataclass
class Judgement:
    """Whether `lhs op rhs` holds at one point at one precision, and why not.

    Tolerances are relative to the size of the terms, with no absolute floor: two tiny values are
    as different as two large ones. A failure is only believed when it survives precision
    escalation (stable()); an exact comparison needs no such check."""

    holds: bool
    gaps: tuple = ()  # the differences (or the imaginary part of a non-real side), for stable()
    tol: object = 0  # what counts as rounding at this precision
    exact: bool = False  # decided in exact rational arithmetic
    tied: bool = False  # a strict relation whose sides agree within rounding
    nonreal: str = ""  # "left" or "right": that side of a real relation is not real
    margin: float = math.inf  # how far inside the relation the point is, relative to the terms


def judge(left: Value, op: str, right: Value, real: bool = True) -> Judgement:
    """Judge `left op right` at the values' precision; raises Undefined when no verdict is possible
    here (both sides not real, quadrature too coarse, values of different kinds for an order)."""
    with mpmath.workdps(CONFIRM_DPS + 10):  # differences of close values need the full precision
        if left.kind == right.kind == "number":
            return _judge_numbers(left, op, right, real)
        if op in ("=", "!="):
            j = _judge_structures(left, right)
            return j if op == "=" else replace(j, holds=not j.holds, gaps=())
        raise Undefined("an inequality between non-numbers")


_EXACT = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
          "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _judge_numbers(left: Value, op: str, right: Value, real: bool) -> Judgement:
    if left.exact is not None and right.exact is not None:
        a, b = left.exact, right.exact
        ok = bool(_EXACT[op](a, b))
        d = mpmath.mpf(int((a - b).p)) / int((a - b).q)
        return Judgement(ok, (d,), 0, exact=True, margin=_margin(a - b, op, max(abs(a), abs(b))))
    a, b = left.data, right.data
    scale = max(left.scale, right.scale)
    tol = mpmath.mpf(10) ** (-min(left.digits, right.digits)) * scale
    err = left.error + right.error
    if real:
        side_a = isinstance(a, mpmath.mpc) and abs(a.imag) > tol
        side_b = isinstance(b, mpmath.mpc) and abs(b.imag) > tol
        if side_a and side_b:
            if op not in ("=", "!="):
                raise Undefined("neither side is real here")
            # Two non-real values are still equal or not (sqrt(x/y) = sqrt(x)/sqrt(y) at x > 0 > y).
            same = abs(a - b) <= tol
            return Judgement(same == (op == "="), (a - b,), tol)
        if side_a or side_b:
            return Judgement(False, ((a if side_a else b).imag,), tol, nonreal="left" if side_a else "right",
                             margin=-math.inf)
        a, b = mpmath.re(a), mpmath.re(b)
    elif op not in ("=", "!=") and (isinstance(a, mpmath.mpc) or isinstance(b, mpmath.mpc)):
        raise Undefined("an inequality between complex numbers")
    d = a - b
    if op in ("=", "!="):
        if err:
            # Quadrature: equal within tolerance, different beyond 100x the error estimate, else no verdict.
            if abs(d) <= tol and err <= tol:
                same = True
            elif abs(d) > 100 * err + tol:
                same = False
            else:
                raise Undefined("quadrature was not precise enough at this point")
        else:
            same = abs(d) <= tol
        return Judgement(same == (op == "="), (d,), tol)
    if op in (">", ">="):
        d = -d  # now the relation says d <= 0 (or d < 0)
    slack = tol + 100 * err
    if op in ("<=", ">="):
        if d <= tol:
            return Judgement(True, (d,), tol, margin=_margin(-d, op, scale))
        if d <= slack:
            raise Undefined("quadrature was not precise enough at this point")
        return Judgement(False, (d,), tol, margin=_margin(-d, op, scale))
    if d < -slack:
        return Judgement(True, (d,), tol, margin=_margin(-d, op, scale))
    if d > slack:
        return Judgement(False, (d,), tol, margin=_margin(-d, op, scale))
    if err and abs(d) > tol:
        raise Undefined("quadrature was not precise enough at this point")
    # Equality within rounding does not satisfy a strict relation.
    return Judgement(False, (d,), tol, tied=True, margin=0.0)


def _margin(room, op: str, scale) -> float:
    """room (>= 0 inside the relation) relative to the terms' size, as a float for ordering."""
    try:
        return float(room / scale) if scale else float(room)
    except (OverflowError, ZeroDivisionError, TypeError):
        return math.inf if room > 0 else -math.inf


def _judge_structures(left: Value, right: Value) -> Judgement:
    scale = max(left.scale, right.scale)
    digits = min(left.digits, right.digits)
    tol = mpmath.mpf(10) ** (-digits) * scale
    if left.error or right.error:
        raise Undefined("quadrature inside a matrix or a set")

    def entries(a, b):
        gaps = tuple(x - y for x, y in zip(a, b))
        return Judgement(all(abs(g) <= tol for g in gaps), gaps, tol)

    if left.kind == "matrix" and right.kind == "matrix":
        (ls, lv), (rs, rv) = left.data, right.data
        return entries(lv, rv) if ls == rs else Judgement(False, exact=True)
    if left.kind == "matrix" and right.kind == "number" and left.data[0] == (1, 1):
        return entries(left.data[1], [right.data])
    if left.kind == "number" and right.kind == "matrix" and right.data[0] == (1, 1):
        return entries([left.data], right.data[1])
    # `v = 0` for a vector or matrix v: the 0 is the zero of v's shape.
    if left.kind == "matrix" and right.kind == "number" and right.data == 0:
        return entries(left.data[1], [right.data] * len(left.data[1]))
    if left.kind == "number" and right.kind == "matrix" and left.data == 0:
        return entries([left.data] * len(right.data[1]), right.data[1])
    if left.kind == "bag" and right.kind == "bag":
        if len(left.data) != len(right.data):
            return Judgement(False, exact=True)
        rest = list(right.data)
        for a in left.data:
            k = next((i for i, b in enumerate(rest) if abs(a - b) <= tol), None)
            if k is None:
                return Judgement(False, tol=tol)
            rest.pop(k)
        return Judgement(True, tol=tol)
    return Judgement(False, exact=True)


SETTLE_DPS = 67  # a side computed by quadrature is computed again at this precision (quadrature at 40 digits)


def _moved(a: Value, b: Value) -> bool:
    """Whether a value computed by quadrature (a) came out different at a higher precision (b) by more than a
    thousandth of its size. A divergent integral cut off where the nodes' weights underflow grows with the precision
    (the integral of 1/x over [1, oo) is 79 at 30 digits, 105 at 40; of 1/(x log x) over [2, oo) several percent);
    a convergent one computed roughly (a kink inside the range) moves by far less."""
    if not (a.error or b.error) or a.kind != "number" or b.kind != "number":
        return False
    with mpmath.workdps(CONFIRM_DPS):
        size = max(abs(a.data), abs(b.data), a.scale, b.scale)
        return abs(a.data - b.data) > size / 1000


def _quadrature_settles(lhs, rhs, ro: bool, memo: dict, out: "Search") -> bool:
    """Whether the sides computed by quadrature at the first such point keep their values at SETTLE_DPS: every
    point may agree (185 < 1000) with an integral that diverges, whose "value" only creeps up with the precision."""
    point, left, right = out.quadrature
    try:
        left2, right2 = evaluate(lhs, point, SETTLE_DPS, ro, memo), evaluate(rhs, point, SETTLE_DPS, ro, memo)
    except Undefined as exc:
        out.reason = f"a quadrature has no value at a higher precision ({exc})"
        return False
    if _moved(left, left2) or _moved(right, right2):
        out.reason = "a quadrature gives different values at different precisions (the integral may diverge)"
        return False
    return True


def stable(first: Judgement, second: Judgement) -> bool:
    """Whether a failure seen at the working precision (first) and at CONFIRM_DPS (second) is the
    same difference to a few digits: a real difference does not move when precision rises, a
    rounding artefact shrinks with it."""
    if second.exact:
        return True
    if len(first.gaps) != len(second.gaps):
        return not second.gaps  # a set's elements: nothing to compare, the failure stands
    with mpmath.workdps(CONFIRM_DPS + 10):
        for g1, g2 in zip(first.gaps, second.gaps):
            if abs(g2) <= second.tol:
                continue
            if abs(g1 - g2) > abs(g2) / 1000:
                return False
    return True


def values_agree(left: Value, right: Value) -> bool:
    """Whether two values are equal to AGREE_DIGITS digits relative to their size."""
    return judge(left, "=", right, real=False).holds


def compare(left: Value, op: str, right: Value) -> bool:
    """Whether `left op right` holds at this point, at this precision."""
    return judge(left, op, right, real=False).holds


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
    return given_substituted(deep_doit(e), rules)


def holds(rel: Relation, point: Point, dps: int) -> bool:
    """Whether a relation holds at a point (a side that is not real does not satisfy it)."""
    ro = real_only(rel.lhs, rel.rhs)
    return judge(evaluate(rel.lhs, point, dps, ro), rel.op, evaluate(rel.rhs, point, dps, ro), ro).holds


def decided(rel: Relation, point: Point) -> bool | None:
    """Whether rel holds at a point given from outside (a solver's model), judged the way search()
    judges its own points: False only for a failure confirmed at CONFIRM_DPS, None when the point
    gives no verdict (undefined, or equal within rounding)."""
    out = Search()
    got = _try(rel.lhs, rel.op, rel.rhs, point, real_only(rel.lhs, rel.rhs), {}, None, out)
    if out.counterexample:
        return False
    return True if got is not None and got.holds else None


@dataclass
class Search:
    """The outcome of testing `lhs op rhs` at random points, special points and local searches."""

    valid: int = 0  # random points where both sides could be evaluated
    sizes: list = field(default_factory=list)  # the dimension tuples of the valid points
    counterexample: dict | None = None
    approximate_mismatch: bool = False
    reason: str = ""
    special: int = 0  # special points tested (0, +-1, ends of intervals, roots of lhs - rhs, ...)
    local: int = 0  # local searches for a counterexample (minimising the slack of an inequality)
    undecided: int = 0  # points where a strict relation's sides agreed to every digit computed
    undefined_at: str = ""  # "the left side is not defined at x = 0": a special point of the domain
    tie: dict | None = None  # the first such point, described as a counterexample would be
    imprecise: int = 0  # points where a quadrature did not settle the relation (it may diverge there)
    quadrature: tuple | None = None  # (point, left, right) of the first point a side's value came from quadrature

    def describe(self) -> str:
        """What was searched, for a verdict message."""
        parts = [f"{self.valid} random points across scales"]
        if self.special:
            parts.append(f"{self.special} special points")
        if self.local:
            parts.append(f"{self.local} local searches")
        return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


SPECIAL_POINTS = 16  # at most this many special points per search
EQUALITY_SPECIAL_POINTS = 4
LOCAL_EVALS = 90  # objective evaluations per local search (at LOCAL_DPS)
LOCAL_DPS = 20
BARREN_DRAWS = 60  # points that could not be evaluated before a search with no usable point stops


def search(lhs, op: str, rhs, sampler: Sampler, rng: random.Random, want: int, max_draws: int,
           special: bool = True, local: int = 0, deep: bool = False) -> Search:
    """Test a relation at up to `want` valid random points, then (special) at special points and
    (local > 0) from that many starts of a local minimisation of the slack of an inequality; any
    failure is confirmed at CONFIRM_DPS before it is reported; `deep`: a relation between closed
    numbers that quadrature compared is judged again at DEEP_DPS."""
    out = Search()
    memo: dict = {}
    if sampler.rewrites:
        lhs, rhs = rewrite(lhs, sampler.rewrites), rewrite(rhs, sampler.rewrites)
        kept = [k for k in sampler.rewrites if any(isinstance(x, sp.Basic) and x.has(k) for x in (lhs, rhs))]
        if kept:
            # a given about f at the point (f(x) = x) left inside a derivative over x: the drawn f does not satisfy
            # it there, so a point would test another statement (f'(x) = 1 would be "refuted" by an f with f(x) != x)
            out.reason = f"the given about {sp.sstr(kept[0])} applies at the point, not inside a derivative or " \
                         f"integral over its variable"
            return out
    ro = real_only(lhs, rhs)
    closed = all(isinstance(x, sp.Basic) for x in (lhs, rhs)) and not _names_in(lhs, rhs, None)
    sampler.reach = _reach([lhs, rhs] + [x for rel in sampler.checks for x in (rel.lhs, rel.rhs)])
    tested: list = []  # (margin, point) of the valid random points
    last_reason = ""
    failed = 0
    for _ in range(max_draws):
        if out.valid >= want:
            break
        try:
            point = sampler.draw(rng)
        except Undefined as exc:
            last_reason = str(exc)
            continue
        j = _try(lhs, op, rhs, point, ro, memo, sampler, out)
        if out.counterexample or out.approximate_mismatch:
            # after a mismatch at an approximated limit no verdict but `unknown` can come of more points like it
            return out
        if j is None:
            last_reason = out.reason or last_reason
            if out.reason == UNSUPPORTED_HERE or closed:
                break  # what failed is in the expression (or the same numbers at every point), not at this point
            failed += 1
            if failed >= BARREN_DRAWS and not out.valid:
                break  # a relation that evaluates nowhere in this many draws gets `unknown` without the rest
            continue
        out.valid += 1
        tested.append((j.margin, point))
        if sampler.dims:
            size = ", ".join(f"{d} = {point.values[d]}" for d in sampler.dims)
            if size not in out.sizes:
                out.sizes.append(size)
    if tested and _constant_difference(lhs, op, rhs, tested[0][1], sampler, out):
        return out
    if out.quadrature is not None and not _quadrature_settles(lhs, rhs, ro, memo, out):
        out.imprecise += 1
    if deep and tested and not _deep_constant(lhs, op, rhs, tested[0][1], sampler, out):
        return out
    if special and tested:
        # (from the tested point whose values are nearest 1 in scale: at 10^30 a relative move leaves no digits
        # below the point)
        near_one = min(tested, key=lambda t: max([abs(math.log10(abs(v.p)) - math.log10(v.q))
                                                  for v in t[1].values.values()
                                                  if isinstance(v, sp.Rational) and v != 0] or [0.0]))[1]
        off = _off_grid(near_one, sampler, lhs, rhs)
        j = _try(lhs, op, rhs, off, ro, memo, sampler, out) if off is not None else None
        if out.counterexample:
            return out
        if j is not None:
            tested.append((j.margin, off))
    if special and tested:
        # Equalities fail at single points rarely (an identity false somewhere is false on an open
        # set): a few special points there; inequalities and statements get the full list.
        limit = SPECIAL_POINTS if op != "=" else EQUALITY_SPECIAL_POINTS
        for point in _special_points(lhs, rhs, sampler, tested[0][1], rng, limit):
            j = _try(lhs, op, rhs, point, ro, memo, sampler, out)
            if out.counterexample:
                return out
            if j is not None:
                out.special += 1
                tested.append((j.margin, point))
            elif op != "=" and not out.undefined_at:
                out.undefined_at = _one_side_undefined(lhs, op, rhs, point, ro, sampler)
    if local and op in ("<", "<=", ">", ">=") and tested:
        _local_searches(lhs, op, rhs, sampler, tested, ro, memo, local, out)
    out.reason = last_reason
    return out


def _try(lhs, op, rhs, point: Point, ro: bool, memo: dict, sampler: Sampler | None, out: Search):
    """Judge one point; a failure is re-evaluated at CONFIRM_DPS and recorded in `out` when it is
    real. Returns the working-precision judgement, or None when the point gives no verdict."""
    try:
        left, right = evaluate(lhs, point, DPS, ro, memo), evaluate(rhs, point, DPS, ro, memo)
        first = judge(left, op, right, ro)
    except Undefined as exc:
        out.reason = str(exc)
        # a limit that does not settle may diverge there (limit(x exp(a x), x, oo) for a >= 0): like a quadrature
        out.imprecise += str(exc).startswith(("quadrature was not precise enough", DIVERGES, LIMIT_UNSETTLED))
        return None
    if out.quadrature is None and (left.error or right.error):
        out.quadrature = (point, left, right)
    # At a closed-form point ((x - pi)^2 > 0 at pi) rounding leaves a tiny "difference" of either
    # sign; the exact values tie, and a strict relation fails there.
    tied_exactly = first.holds and op in ("<", ">", "!=") and \
        any(not isinstance(v, sp.Rational) for v in point.values.values()) and _exactly_equal(left, right, point)
    confirm = CONFIRM_DPS
    if first.holds and not tied_exactly:
        lost = _cancelled_digits(left, right)
        if not lost:
            return first
        # The sides agree only to the size of their terms, far above their own values ((x + e)^2 - x^2 - 2 x e is
        # 7.39 at x = 10^30 against terms of 10^60, and 10^15 would agree with it): judged again with the digits the
        # cancellation took computed, until the tolerance is AGREE_DIGITS below the value of a side computed without
        # cancellation (cosh(x)^2 - sinh(x)^2 against 1 + exp(x - 200) at x = 200), or, with no such side, until the
        # values shrink with the precision (a zero's rounding does)
        dps, size = DPS, _size(left, right)
        while True:
            dps = min(dps + 2 * lost + 20, CANCEL_DPS)
            judged = _judged_at(lhs, op, rhs, point, dps, ro, memo, out)
            if judged is None:
                return None
            left, right, first = judged
            if not first.holds:
                confirm = dps + CONFIRM_DPS - DPS
                break
            before, size = size, _size(left, right)
            lost = _cancelled_digits(left, right)
            ref = _resolved(left, right)
            if not lost or ref and first.tol <= ref * mpmath.mpf(10) ** -AGREE_DIGITS or \
                    not ref and size < before * mpmath.mpf(10) ** -10:
                return first  # resolved to a side's own value, or both sides zero to the rounding
            if dps >= CANCEL_DPS:
                out.reason = f"the sides cancel past {CANCEL_DPS} digits here"
                return None
            if ref:
                with mpmath.workdps(30):  # the precision whose tolerance is AGREE_DIGITS below that value
                    need = (mpmath.log10(first.tol / ref) + AGREE_DIGITS) * DPS / AGREE_DIGITS
                lost = max(lost, int(mpmath.ceil(need)) // 2)
    judged = _judged_at(lhs, op, rhs, point, confirm, ro, memo, out)
    if judged is None:
        return None
    left2, right2, second = judged
    if tied_exactly:
        second = replace(second, holds=False, tied=True)
    elif second.holds:
        return second
    if second.tied:
        # The sides agree to every digit computed: a counterexample to a strict relation only if
        # they are exactly equal (x^2 > 0 at x = 0), otherwise no verdict at this point.
        if not tied_exactly and not _exactly_equal(left2, right2, point):
            out.undecided += 1
            if out.tie is None:
                out.tie = {**point.describe(_names_in(lhs, rhs, sampler)), "lhs": _show(left2), "rhs": _show(right2)}
            return None
    elif not stable(first, second) or _moved(left, left2) or _moved(right, right2):
        if left.error or right.error or left2.error or right2.error:
            # a quadrature whose value moves with the precision has not converged (exp(t x) over [0, oo) for t > 0
            # gives 10^(10^43) at one precision and another such number at the next): no verdict, never "holds"
            out.reason = "a quadrature gives different values at different precisions (the integral may diverge)"
            out.imprecise += 1
            return None
        return replace(second, holds=True)  # rounding: the difference shrank as precision rose
    if left.approximate or right.approximate:
        out.approximate_mismatch = True
        return None
    if sampler is not None and sampler.for_rules and not _limit_givens_hold(sampler, point):
        out.reason = "a counterexample candidate does not satisfy the limit givens"
        return None
    if sampler is not None and sampler.rewrites and _rewrite_bypassed(sampler, point, lhs, rhs):
        out.reason = "a counterexample candidate applies a function where a given fixes its value"
        return None
    if not _exact_point_agrees(lhs, rhs, point, left2, right2, ro):
        out.reason = "SymPy's value at an exact point differs from its value at the point's decimals"
        return None
    ce = point.describe(_names_in(lhs, rhs, sampler))
    ce["lhs"], ce["rhs"] = _show(left2), _show(right2)
    if second.tied:  # an exact tie: show the exact values, not 1e-1147 against 0.0
        ce["lhs"], ce["rhs"] = _exact_shown(left2, point, ce["lhs"]), _exact_shown(right2, point, ce["rhs"])
    elif ce["lhs"] == ce["rhs"] and left2.kind == right2.kind == "number":
        with mpmath.workdps(confirm):  # equal to the digits shown (e^2 + 3 10^-24 against e^2)
            gap = left2.data - right2.data
            if gap:
                ce["rhs"] += f" (they differ by {mpmath.nstr(gap, 5)})"
    if second.nonreal:
        ce[second.nonreal[0] + "hs"] = "not real (" + ce[second.nonreal[0] + "hs"] + ")"
    out.counterexample = ce
    return second


EXACT_CHECK_DPS = 110  # the decimals an exact point is checked at


def _exact_point_agrees(lhs, rhs, point: Point, left: Value, right: Value, ro: bool) -> bool:
    """At a point with exact irrational values (`log(3)`, `7 + acosh(10000000001/10000000000)`), whether each side's
    value agrees with its value just below or just above the point's decimals (10^-100 away). SymPy simplifies on
    substitution, and not always rightly (1.14 makes `cosh(acosh(10000000001/10000000000))` exactly 1), so a failure
    seen only at the exact point is no counterexample: `cosh(x - 7) >= 1 + 10^-10` holds with equality there. One
    side of the point is enough where a side jumps there (a branch cut of log or sqrt: `im(log(-1 + I (x - pi)))`
    at pi); a side with sign, Heaviside, floor, ceiling or a piecewise part jumps to another value on both sides, so
    the arguments of those are compared instead (one holding a bound name, like a sum's index, is not checked)."""
    exact = {k for k, v in point.values.items() if not _gaussian_rational(v)}
    if not exact:
        return True
    names = set(point.values)
    parts = []
    for side, value in ((lhs, left), (rhs, right)):
        jumps = side.atoms(*_JUMPS) if isinstance(side, sp.Basic) else set()
        if not jumps:
            parts.append((side, value))
            continue
        parts += [(a, None) for j in jumps for a in j.args
                  if isinstance(a, sp.Expr) and a.free_symbols <= names and a.free_symbols & exact]
    if not parts:
        return True
    try:
        near = []
        for sign in (-1, 1):
            values = {}
            for k, v in point.values.items():
                if k in exact:
                    d = sp.N(v, EXACT_CHECK_DPS + 10)
                    values[k] = d + sign * sp.Float(10, EXACT_CHECK_DPS + 10) ** -100 * max(1, abs(d))
                else:
                    values[k] = v
            near.append(replace(point, values=values))
        pairs = [(value if value is not None else evaluate(e, point, EXACT_CHECK_DPS, ro, {}),
                  [evaluate(e, p, EXACT_CHECK_DPS, ro, {}) for p in near]) for e, value in parts]
    except (Undefined, TypeError, ValueError):
        return True  # no value near the point to compare with: SymPy's exact value stands
    with mpmath.workdps(EXACT_CHECK_DPS):
        for there, around in pairs:
            if not any(_close(there, v) for v in around):
                return False
    return True


def _close(a: Value, b: Value) -> bool:
    """Whether two values agree to 50 digits of their size (numbers), or are of the same kind (anything else)."""
    if a.kind != "number" or b.kind != "number":
        return a.kind == b.kind
    size = max(1, abs(a.data), abs(b.data), abs(a.scale or 0), abs(b.scale or 0))
    return abs(a.data - b.data) <= mpmath.mpf(10) ** -50 * size


_JUMPS = (sp.sign, sp.Heaviside, sp.floor, sp.ceiling, sp.Piecewise, sp.frac)


def _gaussian_rational(v) -> bool:
    """A rational, or a complex number with rational parts (`20 I`, `-7/2`): a value drawn, not an exact solution."""
    if isinstance(v, sp.Rational):
        return True
    if not isinstance(v, sp.Expr) or not v.is_number:
        return True  # not a scalar value: nothing to compare
    re_part, im_part = v.as_real_imag()
    return isinstance(re_part, sp.Rational) and isinstance(im_part, sp.Rational)


def _judged_at(lhs, op: str, rhs, point: Point, dps: int, ro: bool, memo: dict, out: Search):
    """(left, right, judgement) at `dps` digits, or None (the reason in `out`) where a side has no value."""
    try:
        left, right = evaluate(lhs, point, dps, ro, memo), evaluate(rhs, point, dps, ro, memo)
        return left, right, judge(left, op, right, ro)
    except Undefined as exc:
        out.reason = str(exc)
        return None


DEEP_DPS = 120  # a closed equation evaluated by quadrature is re-judged at this precision
CANCEL_DIGITS = 20  # sides this many digits below their terms' size are judged again at a higher precision
CANCEL_DPS = 400  # up to this precision


def _size(left: Value, right: Value):
    """The larger magnitude of the two sides' values."""
    with mpmath.workdps(CONFIRM_DPS):
        return max(abs(left.data), abs(right.data))


def _resolved(left: Value, right: Value):
    """The largest value of a side that lost no more than half its digits to cancellation (0 if none)."""
    with mpmath.workdps(CONFIRM_DPS):
        out = mpmath.mpf(0)
        for v in (left, right):
            size = abs(v.data)
            if size and size >= v.scale * mpmath.mpf(10) ** -(v.digits // 2):
                out = max(out, size)
        return out


def _cancelled_digits(left: Value, right: Value) -> int:
    """How many digits the sides' values lie below the size of their terms, when more than CANCEL_DIGITS (else 0):
    plain numbers only (a quadrature's or a limit's value has its own error)."""
    if not (left.kind == right.kind == "number") or left.error or right.error or left.approximate or \
            right.approximate or left.exact is not None and right.exact is not None:
        return 0
    scale = max(left.scale, right.scale)
    size = _size(left, right)
    if not scale or not size or size > scale * mpmath.mpf(10) ** -CANCEL_DIGITS:
        return 0
    with mpmath.workdps(30):
        return int(mpmath.ceil(mpmath.log10(scale / size)))


def _deep_constant(lhs, op, rhs, point: Point, sampler: Sampler, out: Search) -> bool:
    """A relation between closed numbers (no names, no functions) that quadrature could only
    compare to INTEGRAL_AGREE_DIGITS: every "random point" is the same point, so it is judged again
    at DEEP_DPS and then at 1.5 DEEP_DPS. False (and out.counterexample or out.reason set) when that
    refutes it or cannot confirm it."""
    exprs = [x for x in (lhs, rhs) if isinstance(x, sp.Basic)]
    if len(exprs) < 2 or any(x.free_symbols or x.atoms(AppliedUndef) for x in exprs) \
            or not any(x.has(sp.Integral) or _lowers_to_integral(x) for x in exprs):
        return True
    judged = []
    for dps in (DEEP_DPS, DEEP_DPS * 3 // 2):
        try:
            left, right = evaluate(lhs, point, dps, True), evaluate(rhs, point, dps, True)
            judged.append((judge(left, op, right, True), left, right))
        except Undefined:
            break
    if len(judged) < 2:
        out.valid, out.reason = 0, "a relation between constants that quadrature cannot settle"
        return False
    (first, _, _), (second, left, right) = judged
    if first.holds and second.holds:
        return True
    if not first.holds and not second.holds and stable(first, second) and not second.tied:
        with mpmath.workdps(DEEP_DPS):
            gap = mpmath.nstr(left.data - right.data, 5) if left.kind == right.kind == "number" else ""
        out.counterexample = {"lhs": _show(left), "rhs": _show(right) + (f" (they differ by {gap})" if gap else "")}
        return False
    out.valid, out.reason = 0, "a relation between constants that quadrature cannot settle"
    return False


_POLES = ("division by zero here", "not finite or not a number here", "not finite here")


def _one_side_undefined(lhs, op: str, rhs, point: Point, ro: bool, sampler: Sampler) -> str:
    """"the left side is not defined at x = 0" when one side has a pole (or is not a number) at a
    point of the declared domain where the other side is a finite number, else "". An inequality
    that says nothing at such a point is not established by the points around it (1/x > 0 for
    nonnegative x). Likewise a strict one where both sides are removable holes whose limits agree
    ((x^3 + x)/x > 1 at 0: read as limits, 1 > 1 fails)."""
    failed, values = [], []
    for side in (lhs, rhs):
        try:
            v = evaluate(side, point, DPS, ro)
        except Undefined as exc:
            if str(exc) not in _POLES:
                return ""
            failed.append(True)
            values.append(_removable(side, point, ro))
            continue
        if v.kind != "number":
            return ""
        failed.append(False)
        values.append(v.data)
    shown = ", ".join(f"{k} = {v}" for k, v in point.describe(_names_in(lhs, rhs, sampler)).items())
    if op in ("<", ">") and None not in values and _agree(*values, digits=20):
        which = "both sides are removable holes" if all(failed) else \
            f"the {'left' if failed[0] else 'right'} side is a removable hole"
        return f"{which} at {shown} where the sides' limits agree, so the strict inequality fails or is undecided there"
    if op in ("<", ">") and all(failed):
        # poles on both sides (1/x < 1/x + 1 at 0): read as limits, oo < oo fails
        return f"both sides have a pole at {shown}, a point of the declared domain, so the strict inequality fails " \
               "or is undecided there"
    if failed.count(True) != 1 or values[failed.index(True)] is not None:
        return ""
    return f"the {'left' if failed[0] else 'right'} side is not defined at {shown}, a point of the declared domain"


def _agree(a, b, digits: int) -> bool:
    with mpmath.workdps(DPS):
        return abs(a - b) <= mpmath.mpf(10) ** -digits * max(1, abs(a), abs(b))


def _removable(side, point: Point, ro: bool):
    """The side's value just beside the point, where the values at two tiny shifts agree (sin(x)/x at 0, which is
    read as its limit there); None at a pole (1/x at 0)."""
    near = []
    for shift in (sp.Rational(1, 10 ** 40), sp.Rational(2, 10 ** 40)):
        moved = Point({s: v + shift * (1 + abs(v)) if isinstance(v, sp.Rational) else v for s, v in point.values.items()},
                      point.functions, point.matrices, point.branches, point.parameters)
        try:
            v = evaluate(side, moved, DPS, ro)
        except Undefined:
            return None
        if v.kind != "number":
            return None
        near.append(v.data)
    return near[0] if _agree(*near, digits=6) else None


def _rewrite_bypassed(sampler: Sampler, point: Point, lhs, rhs) -> bool:
    """Whether a side applies a function at arguments that equal, at this point, those of a given about its value
    (f(y) with the givens f(x) = x and y = x): the random f does not satisfy the given there, so the point is no
    counterexample (red team 21)."""
    keys = [k for k in sampler.rewrites if isinstance(k, AppliedUndef)]
    calls = {a for e in (lhs, rhs) if isinstance(e, sp.Basic) for a in e.atoms(AppliedUndef)}
    for key in keys:
        for call in calls:
            if call.func != key.func or call == key:
                continue
            try:
                same = all(_agree(evaluate(a, point, DPS, False).data, evaluate(b, point, DPS, False).data, 20)
                           for a, b in zip(call.args, key.args))
            except (Undefined, TypeError, ValueError):
                return True  # not known to differ
            if same:
                return True
    return False


def _limit_givens_hold(sampler: Sampler, point: Point) -> bool:
    """Whether SymPy shows every limit given (set aside when drawing) exactly at this point, so a
    failure there is a counterexample under the givens."""
    for rel in sampler.for_rules:
        try:
            d = rel.lhs - rel.rhs
            if not isinstance(d, sp.Expr) or point.matrices:
                return False
            for f, lam in point.functions.items():
                d = d.replace(f, lam) if d.has(f) else d
            # The limit taken by SymPy, not estimated: it must be shown, not likely.
            d = sp.simplify(d.xreplace(point.values).doit())
        except Exception:  # noqa: BLE001 - SymPy's limit code raises many kinds; unshown means no
            return False
        if d != 0:
            return False
    return True


def _exact_shown(v: Value, point: Point, fallback: str) -> str:
    """The exact value of a side at a point with closed-form values, when it is short."""
    if v.exact is not None or not isinstance(v.expr, sp.Expr):
        return fallback
    try:
        x = v.expr.xreplace(point.values)
    except (TypeError, ValueError, ZeroDivisionError):
        return fallback
    return sp.sstr(x) if x.is_number and sp.count_ops(x) <= 8 else fallback


def _exactly_equal(left: Value, right: Value, point: Point) -> bool:
    if left.exact is not None and right.exact is not None:
        return left.exact == right.exact or isinstance(left.exact, sp.Expr) and isinstance(right.exact, sp.Expr) \
            and _zero_at_root(left.exact - right.exact)
    if not (isinstance(left.expr, sp.Expr) and isinstance(right.expr, sp.Expr)):
        return False
    try:
        d = (left.expr - right.expr).xreplace(point.values)
    except (TypeError, ValueError, ZeroDivisionError):
        return False
    return d == 0 or _zero_at_root(d)


def _zero_at_root(d) -> bool:
    """Whether d, a rational function with rational coefficients of one real root r of a polynomial P (a CRootOf,
    the special point a tie of degree three or more sits at), is exactly 0: its numerator vanishes modulo P and its
    denominator does not. SymPy leaves (r^3 + r - 3)^2 unevaluated at the root of x^3 + x - 3."""
    roots = d.atoms(sp.CRootOf) if isinstance(d, sp.Expr) else set()
    if len(roots) != 1:
        return False
    r = roots.pop()
    t = sp.Dummy("t")
    try:
        e = sp.together(d.xreplace({r: t}))
        num, den = (sp.Poly(x, t, domain="QQ") for x in sp.fraction(e))
        minimal = sp.Poly(r.poly.as_expr().xreplace({r.poly.gen: t}), t, domain="QQ")
    except (sp.PolynomialError, sp.polys.polyerrors.CoercionFailed, ValueError, TypeError):
        return False
    return num.rem(minimal).is_zero and not den.rem(minimal).is_zero


def _constant_difference(lhs, op, rhs, point: Point, sampler: Sampler, out: Search) -> bool:
    """When lhs - rhs is a constant once SymPy cancels what it cancels by itself (x + exp(-300) - x),
    its sign decides the relation everywhere, however small it is next to the sides."""
    if not (isinstance(lhs, sp.Expr) and isinstance(rhs, sp.Expr)) or _has_matrix(lhs) or _has_matrix(rhs):
        return False
    d = lhs - rhs
    if not d.is_number or d.has(sp.Integral, sp.Sum, sp.Limit, Unsupported, Optimum) or d == 0:
        return False
    if singular_parts(lhs) & singular_parts(rhs):
        return False  # what cancelled may be infinite (E[exp(z^2)] + 1 <= E[exp(z^2)] is oo <= oo): no verdict here
    try:
        v1, v2 = _evalf(d, DPS, {}, True), _evalf(d, CONFIRM_DPS, {}, True)
    except Undefined:
        v1 = v2 = mpmath.mpf(0)
    if v2 == 0:
        # cos(10^-200) - 1, tanh(500) - 1: a difference below the 10^-110 CONFIRM_DPS resolves; every "random point"
        # is the same here, so agreement to 40 digits is no evidence. Resolved to DEEP_DIGITS, or left to it.
        v1, v2 = _deep_difference(d)
        if v2 is None:
            return False
    if isinstance(v2, mpmath.mpc) or v2 == 0:
        return False
    with mpmath.workdps(CONFIRM_DPS + 10):
        if abs(v1 - v2) > abs(v2) / 1000:
            return False
        fails = {"=": True, "!=": False, "<": v2 >= 0, "<=": v2 > 0, ">": v2 <= 0, ">=": v2 < 0}[op]
    if not fails:
        return False
    ce = point.describe(_names_in(lhs, rhs, sampler))
    ce["lhs"] = f"the right side plus {mpmath.nstr(v2, 15)} (the sides differ by that constant everywhere)"
    ce["rhs"] = "the right side"
    out.counterexample = ce
    return True


DEEP_DIGITS = 3000  # a constant difference SymPy cannot resolve at CONFIRM_DPS is sought down to 10^-DEEP_DIGITS


def _deep_difference(d) -> tuple:
    """A closed number's value at 30 significant digits found with up to DEEP_DIGITS of working precision, twice
    (at two precisions, which must agree), or (None, None) where it stays 0 or has no value (an exact zero)."""
    values = []
    for digits in (30, 40):
        try:
            v = d.evalf(digits, maxn=DEEP_DIGITS + 10 * digits, strict=True)
        except (PrecisionExhausted, ValueError, TypeError, ArithmeticError):
            return None, None
        if not v.is_Float:
            return None, None
        values.append(mpmath.mpf(v._mpf_))
    return values[0], values[1]


# ---------------------------------------------------------------------------------------------
# Where to draw, and special points


_GROWTH = (sp.exp, sp.sinh, sp.cosh, sp.gamma, sp.factorial, sp.loggamma)


def _lowers_to_integral(e) -> bool:
    """Whether e has a plug-in head (an expectation, a divergence) that may become an integral."""
    return any(type(a).__name__ in ("Expectation", "KL", "JSD", "Variance") for a in sp.preorder_traversal(e))


def _reach(exprs) -> str:
    """WIDE unless an expression has sums, products, integrals, limits, factorials or nested
    exponentials, whose evaluation at 10^12 can take hours (exp(exp(10^12)))."""
    for e in exprs:
        if not isinstance(e, sp.Basic):
            continue
        if e.has(sp.Integral) or _lowers_to_integral(e):
            return QUADRATURE
        if e.has(sp.Sum, sp.Product, sp.Limit, sp.factorial, sp.binomial, sp.gamma, Unsupported):
            return MODERATE
        if _growth_depth(e) >= 2:
            return MODERATE
    return WIDE


def _growth_depth(e) -> int:
    if not isinstance(e, sp.Basic) or not e.args:
        return 0
    inner = max(_growth_depth(a) for a in e.args)
    grows = isinstance(e, _GROWTH) or isinstance(e, AppliedUndef) or \
        (isinstance(e, sp.Pow) and not e.exp.is_number)
    return inner + 1 if grows else inner


def _special_points(lhs, rhs, sampler: Sampler, base: Point, rng: random.Random,
                    limit: int = SPECIAL_POINTS) -> list:
    """Points where relations tend to fail: 0, +-1 and +-2, just inside the ends of intervals, all
    names 0 or 1 at once, and the real roots and critical points of lhs - rhs (and of the givens)
    in one name with the others as in `base`; each inside the declared types and the givens."""
    infos = {i.obj: i for i in sampler.infos}
    free = [s for s, v in base.values.items() if s in infos and s not in sampler.dependent
            and s not in sampler.dims and infos[s].kind == "scalar"]
    mentioned = set()
    for e in [lhs, rhs] + [x for rel in sampler.checks for x in (rel.lhs, rel.rhs)]:
        if isinstance(e, sp.Basic):
            mentioned |= e.free_symbols
    free = [s for s in free if s in mentioned]
    changes: list[dict] = []
    for s in free:
        if infos[s].domain == "complex":
            # far out on the negative real axis and on the imaginary one: where the branch cuts of sqrt(z + a) and
            # log(z + a) lie for the shifts a a formula is likely to have
            changes += [{s: sp.Integer(-20)}, {s: 20 * sp.I}, {s: sp.Rational(-7, 2)}]
    for value in (0, 1, -1):
        changes.append({s: sp.Integer(value) for s in free})
    points = []
    # the zero vector or matrix (x^T x > 0 fails there only), for arrays whose type allows it (not spd)
    for m, v in base.matrices.items():
        if m in infos and m in mentioned and "spd" not in infos[m].flags and len(points) < 2:
            matrices = {**base.matrices, m: sp.ImmutableMatrix(sp.zeros(*v.shape))}
            zero = Point(dict(base.values), base.functions, matrices, dict(base.branches), dict(base.parameters))
            try:
                sampler.check_givens(zero)
            except Undefined:
                continue
            points.append(zero)
    for s in free:
        info = infos[s]
        for value in (0, 1, -1, 2, -2):
            changes.append({s: sp.Integer(value)})
        if info.domain == "interval":
            known = {**base.values, **base.parameters}
            lo = as_basic(info.low).xreplace(known) if info.low is not None else -sp.oo
            hi = as_basic(info.high).xreplace(known) if info.high is not None else sp.oo
            for k in (9, 3):
                if lo.is_finite and hi.is_finite:
                    gap = (hi - lo) / 10 ** k
                else:
                    gap = sp.Rational(1, 10 ** k)
                if lo.is_finite:
                    changes.append({s: lo + gap})
                if hi.is_finite:
                    changes.append({s: hi - gap})
    roots: list[dict] = []
    targets = [(lhs, rhs)] + [(rel.lhs, rel.rhs) for rel in sampler.checks]
    for a, b in targets:
        for s in free:
            if infos[s].domain == "complex":
                continue
            for v in _roots_in(a, b, s, base):
                roots.append({s: v})
    # where a limit's form changes with a parameter (limit(x^2/(2 a x - x + x^2), x, 0) is 1 at a = 1/2)
    for side in (lhs, rhs):
        for lim in (side.atoms(sp.Limit) if isinstance(side, sp.Basic) else ()):
            for c in deciding_coefficients(*lim.args[:3]) or []:
                for s in free:
                    if c.free_symbols == {s}:
                        roots += [{s: v} for v in real_roots(c, s) or []]
    rng.shuffle(roots)
    seen: set = set()
    for change in changes[:6] + roots[:8] + changes[6:]:
        key = tuple(sorted((str(k), str(v)) for k, v in change.items()))
        if key in seen or not change:
            continue
        seen.add(key)
        try:
            points.append(sampler.vary(base, change))
        except Undefined:
            continue
        if len(points) >= limit:
            break
    return points


OFF_GRID_PRIME = 10 ** 31 + 33  # sympy.nextprime(10^31)


def _off_grid(base: Point, sampler: Sampler, lhs, rhs) -> Point | None:
    """`base` with each free real name moved by a relative 10^-7 with 25 random digits: the drawn values have six
    significant digits, so `cos(2 pi 10^20 x)` is 1 at every one of them (round 18); None where the move leaves
    the declared types or the givens (an equality given is met only by recomputed names)."""
    infos = {i.obj: i for i in sampler.infos}
    rng = rng_for("off-grid", lhs, rhs)
    changes = {}
    for s, v in base.values.items():
        info = infos.get(s)
        if info is None or info.kind != "scalar" or s in sampler.dependent or s in sampler.dims or \
                info.domain in ("integer", "posint", "complex") or s.is_integer or not isinstance(v, sp.Rational) \
                or v == 0:
            continue
        # over a prime just past 10^31, not 10^31 (powers of 10 kept `sin(pi 10^40 x)` 0 at the moved point, red team
        # 20) nor a power of a small prime (3^65 kept `sin(pi 30^70 x)` 0, red team 21)
        changes[s] = v * (1 + sp.Rational(rng.randint(10 ** 24, 2 * 10 ** 24), OFF_GRID_PRIME))
    if not changes:
        return None
    try:
        return sampler.vary(base, changes)
    except Undefined:
        return None


def _roots_in(a, b, s, base: Point) -> list:
    """Real roots and critical points of a - b as a function of s (others as in base), when it is a
    rational function of s of degree at most 12: exact when rational, else within 10^-25."""
    if not (isinstance(a, sp.Expr) and isinstance(b, sp.Expr)) or _has_matrix(a) or _has_matrix(b):
        return []
    d = a - b
    others = {k: v for k, v in base.values.items() if k != s and isinstance(v, sp.Rational)}
    # an integral or sum that does not hold s is some constant here: 1 stands for it, which keeps the points where
    # a factor in s vanishes (`integral(sign(t), t, 0, 1) (exp(x) - 3)^2 > 0` ties at log 3); a wrong guess for a
    # constant in a sum only moves a candidate point, which is checked as written
    if d.has(sp.Integral, sp.Sum, sp.Product):
        d = d.xreplace(others).replace(lambda e: isinstance(e, (sp.Integral, sp.Sum, sp.Product)) and
                                       s not in e.free_symbols, lambda e: sp.Integer(1))
    if d.has(sp.Integral, sp.Sum, sp.Product, sp.Limit, sp.Derivative, sp.Subs, At, AppliedUndef, Unsupported,
             Optimum):
        return []  # heads that are not functions of s for diff (At holds its point in a Tuple)
    d = d.xreplace(others)
    if d.free_symbols != {s} or sp.count_ops(d) > 80:
        return []
    out = []
    try:
        num = sp.numer(sp.together(d))
        crit = sp.numer(sp.together(sp.diff(d, s)))
        for poly_expr in (num, crit):
            if not poly_expr.is_polynomial(s):
                continue
            poly = sp.Poly(poly_expr, s)
            if not 1 <= poly.degree() <= 12 or not all(c.is_Rational for c in poly.all_coeffs()):
                continue
            for r in poly.real_roots()[:6]:
                # an irrational root exactly (a CRootOf, or a radical): a tie there is decided exactly
                # (_zero_at_root), while a 30-digit decimal near it never ties
                out.append(r)
    except (sp.PolynomialError, NotImplementedError, ValueError, TypeError, AttributeError):
        return out  # special points are extra draws: a form SymPy cannot differentiate gives none
    return out + _inverted_roots(d, s, base.values.get(s))


def _inverted_roots(d, s, near=None) -> list:
    """Exact real points where a one-name expression d may tie or jump: the zeros of d itself and
    of the arguments of its sign, abs, Heaviside, max and min, and of its denominator, where such a part holds s once
    (`exp(s) - 3` at log 3, `sin(s) - 1/3` at asin(1/3) and pi - asin(1/3), `s - pi` at pi). A decimal point never
    lands on them, and `(exp(x) - 3)^2 > 0` fails only there."""
    from sympy.solvers.solveset import invert_real
    parts = [d]
    for f in d.atoms(sp.Abs, sp.sign, sp.Heaviside):
        parts.append(f.args[0])
    for f in d.atoms(sp.Max, sp.Min):
        parts += [a - b for a, b in zip(f.args, f.args[1:])]
    try:
        parts.append(sp.denom(sp.together(d)))
    except (sp.PolynomialError, TypeError, ValueError):
        pass
    out: list = []
    for c in parts:
        if not isinstance(c, sp.Expr) or c.free_symbols != {s} or \
                sp.count_ops(c) > 20 or sum(1 for a in sp.preorder_traversal(c) if a == s) != 1:
            continue
        try:
            x0, found = invert_real(c, sp.Integer(0), s)
        except Exception:  # noqa: BLE001 - SymPy cannot invert it: no special point from this part
            continue
        if x0 != s:
            continue
        for v in _set_values(found, near=near):
            if v.is_real and v.is_finite and not v.has(sp.Dummy) and len(out) < 8:
                out.append(v)
    return out


def _set_values(found, depth: int = 0, near=None) -> list:
    """A few values of a solution set from invert_real: a finite set's, an image set's at n = 0, 1 and -1 and, with
    `near` (a drawn value of the name), the members on either side of it: a given `x > 100` or a declared
    `interval(1000, 2000)` keeps the members near 0 out (`sin(x) < 1` fails at 9 pi/2 under `x > 10`)."""
    if depth > 3:
        return []
    if isinstance(found, sp.FiniteSet):
        return list(found)[:4]
    if isinstance(found, sp.Union):
        return [v for a in found.args for v in _set_values(a, depth + 1, near)]
    if isinstance(found, sp.ImageSet) and len(found.lamda.variables) == 1:
        return _members_near(found.lamda, near) + [found.lamda(n) for n in (0, 1, -1)]
    if isinstance(found, sp.Intersection):
        return [v for a in found.args if isinstance(a, (sp.FiniteSet, sp.ImageSet, sp.Union))
                for v in _set_values(a, depth + 1, near)]
    return []


def _members_near(lamda, near) -> list:
    """The members of a family a n + b (n an integer) just below and above `near`, or none."""
    if near is None or not isinstance(near, sp.Expr) or not near.is_number:
        return []
    n = lamda.variables[0]
    body = lamda.expr
    if not body.is_polynomial(n) or sp.degree(body, n) != 1:
        return []
    a, b = sp.diff(body, n), body.subs(n, 0)
    if not (a.is_number and b.is_number) or a == 0:
        return []
    try:
        k = int(sp.floor(((near - b) / a).evalf(30)))
    except (TypeError, ValueError):
        return []
    return [lamda(m) for m in (k, k + 1)]


def _exact_near(v, digits: int = 15) -> sp.Rational:
    """A decimal Rational within 10^-digits (relatively) of the mpf v."""
    if v == 0:
        return sp.Integer(0)
    with mpmath.workdps(digits + 20):
        k = int(mpmath.floor(mpmath.log10(abs(v))))
        shift = digits - 1 - k
        n = int(mpmath.nint(v * mpmath.mpf(10) ** shift))
    return sp.Rational(n, 10 ** shift) if shift >= 0 else sp.Integer(n * 10 ** -shift)


# ---------------------------------------------------------------------------------------------
# Local searches for a counterexample to an inequality


def _local_searches(lhs, op, rhs, sampler: Sampler, tested: list, ro: bool, memo: dict, count: int,
                    out: Search) -> None:
    """Minimise the slack of `lhs op rhs` (rhs - lhs for <, <=) by Nelder-Mead from `count` starts:
    the tightest points seen and others spread over the rest (so over the sizes too). The search
    runs at LOCAL_DPS on the safe interpreter, inside the declared types (through a change of
    variables) and the givens; its best point, if the slack is negative there, is confirmed like
    any other point."""
    order = sorted(range(len(tested)), key=lambda i: tested[i][0])
    head = order[:(count + 1) // 2]
    rest = [i for i in order if i not in head]
    step = max(1, len(rest) // max(1, count - len(head)))
    starts = head + rest[::step][:count - len(head)]
    for i in starts:
        base = tested[i][1]
        problem = _Problem.build(lhs, op, rhs, sampler, base, ro)
        if problem is None:
            continue
        out.local += 1
        best = problem.minimise(LOCAL_EVALS)
        # A strict relation whose slack nearly vanishes at an interior minimum may tie exactly at a
        # closed-form point (sin(x) < 1 at pi/2) that no decimal point can hit: that point is tried too.
        for change in (best, problem.tie_candidate()):
            if not change:
                continue
            try:
                _try(lhs, op, rhs, sampler.vary(base, change), ro, memo, sampler, out)
            except Undefined:
                continue
            if out.counterexample:
                return


class _Problem:
    """The slack of an inequality as a function of the continuous names, for a local search."""

    def __init__(self, slack, names, maps, checks, strict, size=None):
        self.slack, self.names, self.maps, self.checks, self.strict = slack, names, maps, checks, strict
        self.size = size  # |lhs| + |rhs|, what "nearly vanishes" is measured against
        self.closest = None  # (slack, parameters) at the end of minimise()

    @classmethod
    def build(cls, lhs, op, rhs, sampler: Sampler, base: Point, ro: bool):
        """None when the names cannot move (integers only) or a side cannot be compiled by the safe interpreter. A
        name an equality given solves for follows the others on the point's branch of its solution (given x + y = 1,
        the search moves x and y = 1 - x goes with it), so a tie inside the given's curve is found too."""
        if any(rel.op == "!=" for rel in sampler.checks) or \
                any(rel.op == "=" for rel in sampler.checks) and not sampler.equalities:
            return None
        infos = {i.obj: i for i in sampler.infos}
        solved = {s: sols[base.branches.get(s, 0)] for s, sols in sampler.equalities}

        def follow(e):
            for _ in range(len(solved) + 1):  # a solution may be in names solved before it
                if not e.free_symbols & set(solved):
                    return e
                e = e.xreplace(solved)
            raise Undefined("the givens' solutions depend on each other")

        try:
            l_e, r_e = instantiate(lhs, base), instantiate(rhs, base)
            if not (isinstance(l_e, sp.Expr) and isinstance(r_e, sp.Expr)):
                return None
            l_e, r_e = follow(l_e), follow(r_e)
            slack_e = r_e - l_e if op in ("<", "<=") else l_e - r_e
            checks_e = []
            for rel in sampler.checks:
                if rel.op == "=":
                    continue  # an equality given: it holds by the solution followed (vary checks the point found)
                a, b = instantiate(rel.lhs, base), instantiate(rel.rhs, base)
                if not (isinstance(a, sp.Expr) and isinstance(b, sp.Expr)):
                    return None
                a, b = follow(a), follow(b)
                checks_e.append((b - a if rel.op in ("<", "<=") else a - b, rel.op in ("<", ">")))
            exprs = [slack_e] + [c for c, _ in checks_e]
            if any(x.has(sp.Integral, sp.Sum, sp.Product, sp.Limit, sp.Derivative) for x in exprs):
                return None
            names = sorted({s for x in exprs for s in x.free_symbols if s in infos and s in base.values
                            and infos[s].domain not in ("integer", "posint", "complex") and s not in solved},
                           key=lambda s: s.name)
            maps = [_VariableMap.of(infos[s], base.values[s], sampler.reach == WIDE) for s in names]
            keep = [k for k, m in enumerate(maps) if m is not None]
            fixed = {s: base.values[s] for k, s in enumerate(names) if maps[k] is None}
            names, maps = [names[k] for k in keep], [maps[k] for k in keep]
            if not names:
                return None
            known = {s: v for s, v in base.values.items() if s not in names}
            known.update(fixed)
            errors = mpeval.Errors()
            slack = mpeval.compile_expr(slack_e.xreplace(known), errors)
            size = mpeval.compile_expr((abs(l_e) + abs(r_e)).xreplace(known), errors)
            checks = [(mpeval.compile_expr(c.xreplace(known), errors), strict) for c, strict in checks_e]
        except (mpeval.NotSupported, Undefined, TypeError, ValueError):
            return None
        return cls(slack, names, maps, checks, op in ("<", ">"), size)

    def value(self, u) -> float:
        """The slack at parameters u (math.inf outside the givens or where undefined)."""
        try:
            env = {s: m.forward(x) for s, m, x in zip(self.names, self.maps, u)}
            for check, strict in self.checks:
                c = check(env)
                if isinstance(c, mpmath.mpc) or c < 0 or (strict and c == 0):
                    return math.inf
            v = self.slack(env)
            if isinstance(v, mpmath.mpc):
                return -math.inf if abs(v.imag) > abs(v) * 1e-10 else float(v.real)
            return float(v)
        except (ZeroDivisionError, ValueError, OverflowError, ArithmeticError, TypeError):
            return math.inf

    def minimise(self, budget: int):
        """Nelder-Mead on the parameters; the best point as exact values if the slack is negative
        there (or zero for a strict relation), else None."""
        with mpmath.workdps(LOCAL_DPS):
            n = len(self.names)
            x0 = [m.start for m in self.maps]
            simplex = [list(x0)] + [[x + (0.5 if j == k else 0) for j, x in enumerate(x0)] for k in range(n)]
            vals = [self.value(x) for x in simplex]
            evals = len(simplex)
            while evals < budget:
                order = sorted(range(n + 1), key=lambda k: vals[k])
                simplex, vals = [simplex[k] for k in order], [vals[k] for k in order]
                if vals[0] < 0 or (self.strict and vals[0] == 0):
                    break
                centre = [sum(p[j] for p in simplex[:-1]) / n for j in range(n)]
                worst = simplex[-1]
                trial = [c + (c - w) for c, w in zip(centre, worst)]
                ft = self.value(trial)
                evals += 1
                if ft < vals[0]:
                    grow = [c + 2 * (c - w) for c, w in zip(centre, worst)]
                    fg = self.value(grow)
                    evals += 1
                    simplex[-1], vals[-1] = (grow, fg) if fg < ft else (trial, ft)
                elif ft < vals[-2]:
                    simplex[-1], vals[-1] = trial, ft
                else:
                    inner = [c + 0.5 * (w - c) for c, w in zip(centre, worst)]
                    fi = self.value(inner)
                    evals += 1
                    if fi < vals[-1]:
                        simplex[-1], vals[-1] = inner, fi
                    else:  # shrink towards the best point
                        for k in range(1, n + 1):
                            simplex[k] = [b + 0.5 * (x - b) for b, x in zip(simplex[0], simplex[k])]
                            vals[k] = self.value(simplex[k])
                        evals += n
            k = min(range(n + 1), key=lambda k: vals[k])
            self.closest = (vals[k], simplex[k])
            if not (vals[k] < 0 or (self.strict and vals[k] == 0)):
                return None
            return {s: m.exact(x) for s, m, x in zip(self.names, self.maps, simplex[k])}


    def tie_candidate(self) -> dict | None:
        """For a strict relation whose slack at the end of minimise() is within 10^-9 of the terms'
        size (or of 1): the parameters there recognised as closed forms (rationals, multiples of pi, e,
        square roots, log 2), or None. Only a candidate: _try refutes only an exact tie."""
        if not self.strict or self.closest is None or self.size is None:
            return None
        value, u = self.closest
        if not (0 <= value < math.inf):
            return None
        with mpmath.workdps(LOCAL_DPS):
            try:
                env = {s: m.forward(x) for s, m, x in zip(self.names, self.maps, u)}
                size = self.size(env)
                # Relative to the terms, but never below 10^-9 absolutely: for (x - pi)^2 > 0 the
                # slack is the whole side.
                if isinstance(size, mpmath.mpc) or value > 1e-9 * max(float(size), 1.0):
                    return None
            except (ZeroDivisionError, ValueError, OverflowError, ArithmeticError, TypeError):
                return None
        out = {}
        for s, v in env.items():
            x = _closed_form(v)
            if x is None:
                return None
            out[s] = x
        return out


_CONSTANTS = [sp.pi, sp.E, sp.sqrt(2), sp.sqrt(3), sp.log(2)]


def _closed_form(v):
    """A short closed form within 10^-8 (relatively) of the mpf v, or None."""
    if abs(v) > 1e6:
        return None
    try:
        x = sp.nsimplify(sp.Float(mpmath.nstr(v, 18), 18), _CONSTANTS, tolerance=1e-8 * max(1.0, abs(float(v))))
    except (ValueError, TypeError, RecursionError):
        return None
    if isinstance(x, sp.Float) or sp.count_ops(x) > 12 or not x.is_real:
        return None
    return x


class _VariableMap:
    """A change of variables from the whole real line onto a declared type (so the search cannot
    leave it), with steps that are relative for positive quantities."""

    def __init__(self, forward, start, info):
        self.forward, self.start, self.info = forward, start, info

    @classmethod
    def of(cls, info: SymbolInfo, v0, wide: bool = False):
        if not isinstance(v0, sp.Rational):
            return None
        x0 = mpmath.mpf(int(v0.p)) / int(v0.q)
        d = info.domain
        # e^69 = 10^30 when the sides stand it (log(t) < 40 fails from t = 10^17 on), else 10^13
        edge = 69.0 if wide else 30.0
        clamp = lambda u: max(-edge, min(edge, u))  # noqa: E731
        if d in ("positive", "nonnegative") or (d == "nonzero" and x0 > 0):
            return cls(lambda u: mpmath.exp(clamp(u)), float(mpmath.log(x0)) if x0 > 0 else -20.0, info)
        if d == "negative" or (d == "nonzero" and x0 < 0):
            return cls(lambda u: -mpmath.exp(clamp(u)), float(mpmath.log(-x0)), info)
        if d == "real":
            return cls(lambda u: mpmath.sinh(clamp(u)), float(mpmath.asinh(x0)), info)
        if d == "interval":
            lo, hi = info.low, info.high
            lo = -sp.oo if lo is None else lo
            hi = sp.oo if hi is None else hi
            if not (lo.is_number and hi.is_number) or not (lo.is_Rational or lo.is_infinite) \
                    or not (hi.is_Rational or hi.is_infinite):
                return None
            if lo.is_infinite and hi.is_infinite:
                return cls(lambda u: mpmath.sinh(clamp(u)), float(mpmath.asinh(x0)), info)
            # the start in exact arithmetic: a draw 10^-30 from an end is that end in floating point
            rlog = lambda r: float(mpmath.log(mpmath.mpf(int(r.p)) / int(r.q)))  # noqa: E731
            if hi.is_infinite:
                a = mpmath.mpf(int(lo.p)) / int(lo.q)
                return cls(lambda u: a + mpmath.exp(clamp(u)), rlog(v0 - lo), info)
            b = mpmath.mpf(int(hi.p)) / int(hi.q)
            if lo.is_infinite:
                return cls(lambda u: b - mpmath.exp(clamp(u)), rlog(hi - v0), info)
            a = mpmath.mpf(int(lo.p)) / int(lo.q)
            return cls(lambda u: a + (b - a) / (1 + mpmath.exp(-clamp(u))), rlog((v0 - lo) / (hi - v0)), info)
        return None

    def exact(self, u) -> sp.Rational:
        """The value at u as a decimal Rational (15 significant digits, more near an interval end)."""
        v = self.forward(u)
        for digits in (15, 30, 60):
            x = _exact_near(v, digits)
            if _in_domain(x, self.info):
                return x
        return x


def _names_in(lhs, rhs, sampler: Sampler | None) -> set:
    """Symbols, functions and matrices the two sides (or the givens they rely on) mention."""
    used: set = set()
    exprs = [lhs, rhs]
    if sampler is not None:
        exprs += [x for rel in sampler.checks for x in (rel.lhs, rel.rhs)]
        exprs += [sol for _, sols in sampler.equalities for sol in sols]
    for e in exprs:
        if isinstance(e, sp.Basic):
            used |= e.free_symbols | e.atoms(sp.MatrixSymbol)
            used |= {a.func for a in e.atoms(AppliedUndef)}
    if sampler is not None:
        used |= {s for s, _ in sampler.equalities}
    for e in (lhs, rhs):  # a random matrix an expectation averages over is not part of the point
        if isinstance(e, sp.Basic):
            used -= {h.args[1] for h in e.atoms(plugins.linalg.MatExpectation)}
    return used


def _show(v: Value) -> str:
    try:
        return _shown(v)
    except ValueError:  # a number with more exponent digits than Python prints
        return "(too large to print)"


def _shown(v: Value) -> str:
    if v.kind == "number":
        if v.exact is not None:
            return _decimal(v.exact)
        return mpmath.nstr(v.data, 15)
    if v.kind == "matrix":
        (r, c), vals = v.data
        rows = [[mpmath.nstr(vals[i * c + j], 10) for j in range(c)] for i in range(r)]
        return "[" + ", ".join("[" + ", ".join(row) + "]" for row in rows) + "]"
    return "{" + ", ".join(mpmath.nstr(x, 10) for x in v.data) + "}"
