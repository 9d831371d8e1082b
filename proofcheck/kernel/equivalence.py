"""Symbolic attempts, cheapest first. The only place where `proved` comes from SymPy."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager

import sympy as sp
from sympy.functions.elementary.hyperbolic import HyperbolicFunction, InverseHyperbolicFunction
from sympy.functions.elementary.trigonometric import InverseTrigonometricFunction, TrigonometricFunction

from proofcheck.kernel.terms import Bag, Eigenvals, Optimum, OutOfTime, Unsupported, deep_doit, given_substituted, integrable


STRONG_MAX_OPS = 100  # larger differences get only the cheap test (expand, cancel), not simplify


@contextmanager
def soft_deadline(seconds: float):
    """Interrupt pure-Python work (SymPy) after `seconds` of this process's CPU time by raising OutOfTime.

    CPU time, not wall time: on a busy machine a worker gets fewer seconds of the processor per
    second of the clock, and a verdict must not depend on how busy the machine is."""
    if seconds <= 0:
        raise OutOfTime()
    if threading.current_thread() is not threading.main_thread():
        yield  # no signals off the main thread: only the parent's hard kill applies
        return

    def _raise(signum, frame):
        raise OutOfTime()

    old = signal.signal(signal.SIGPROF, _raise)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


class Clock:
    """The step's time budget in CPU seconds of this process, shared by all symbolic attempts."""

    def __init__(self, budget: float):
        self.start = time.process_time()
        self.budget = budget

    def left(self) -> float:
        """CPU seconds remaining."""
        return self.budget - (time.process_time() - self.start)

    def limited(self, seconds: float) -> "Clock":
        """A clock for one stage: at most `seconds`, and never past this clock's end."""
        return Clock(max(0.0, min(self.left(), seconds)))

    def attempt(self, fn, *args, share: float = 1.0):
        """Run fn under a soft deadline of `share` of the remaining time; None if it runs out or fails."""
        try:
            with soft_deadline(self.left() * share):
                return fn(*args)
        except OutOfTime:
            return None
        except (RecursionError, MemoryError):
            return None
        except Exception:  # noqa: BLE001 - a SymPy failure is "not proved", never a verdict
            return None


def unsupported_reason(*exprs) -> str:
    """Why these expressions cannot be checked yet, or ''."""
    for e in exprs:
        if isinstance(e, sp.Basic):
            for u in e.atoms(Unsupported):
                return f"{u.args[0]} is not supported yet"
    return ""


def evaluate_heads(e, densities: frozenset = frozenset()):
    """Evaluate derivatives, substitutions, matrix operations and eigenvalues (may be slow); `densities`: the declared
    density functions (terms.derivative_doit)."""
    if not isinstance(e, sp.Basic):
        return e
    if isinstance(e, Eigenvals):
        m = deep_doit(e.args[0], densities)
        if not isinstance(m, sp.MatrixBase):
            return e
        vals = sp.Matrix(m).eigenvals()
        return Bag(*[v for v, k in vals.items() for _ in range(k)])
    if e.has(Eigenvals):
        e = e.replace(lambda x: isinstance(x, Eigenvals), lambda x: evaluate_heads(x, densities))
    if e.has(Optimum):
        return e
    out = deep_doit(e, densities)
    if isinstance(out, sp.MatrixExpr) and not isinstance(out, sp.MatrixBase):
        try:
            out = out.as_explicit()
        except (ValueError, TypeError, AttributeError):
            pass
    return out


def held_limits(e) -> dict:
    """A placeholder for each limit with a parameter (see terms.deep_doit): simplify would take it for a generic
    value of the parameter (limit(x/(x + a), x, 0) = 0, but 1 at a = 0)."""
    found = sorted((x for x in e.atoms(sp.Limit) if x.free_symbols), key=sp.default_sort_key) \
        if isinstance(e, sp.Basic) else []
    return {x: sp.Dummy(f"limit{k}") for k, x in enumerate(found)}


def _zero_cheap(d) -> bool:
    if d == 0:
        return True
    if d.is_zero is True:
        return True
    e = sp.expand(d)
    if e == 0:
        return True
    if e.has(sp.Sum):
        # Linearity of finite sums is all most sum steps use; simplify finds it too, at 10-100x the cost.
        from proofcheck.kernel.plugins import canonical_bound  # a factor taken out of a sum is renamed
        e = sp.expand(canonical_bound(linear_sums(e)))  # by its new depth, so equal sums meet again
        if e == 0:
            return True
    if e.has(sp.Integral) and _integrands_cancel(e):
        return True
    return sp.cancel(sp.together(e)) == 0


def _integrands_cancel(e) -> bool:
    """Whether e is a sum of integrals whose integrands, added over each range, are 0: the integrals of E[f] = E[g]
    with f and g equal written differently (SymPy compares integrals by their integrands as written). Each integral
    must have an integral of its own (terms.integrable): 1/x - 1/(x + 1) over x > 1 adds to an integrand that is
    no 0 of the split 1/x and 1/(x + 1), which diverge."""
    groups: dict = {}
    parts = []
    for term in sp.Add.make_args(e):
        c, i = term.as_independent(sp.Integral, as_Add=False)
        if not isinstance(i, sp.Integral) or len(i.limits) != 1 or len(i.limits[0]) != 3 or c.has(i.limits[0][0]):
            return False
        groups[i.limits] = groups.get(i.limits, 0) + c * i.function
        parts.append(i)
    # the integrands first (cheap, and mostly they do not cancel), then whether each integral exists
    return all(_zero_cheap(total) for total in groups.values()) and \
        all(integrable(i.function, *i.limits[0]) for i in parts)


def linear_sums(e):
    """Each one-index Sum with integer bounds split over the terms of its expanded body, with the
    factors free of the index taken out (a term free of it summed as term * (hi - lo + 1)). These hold
    for every integer range under SymPy's convention for sums (an empty or reversed range included);
    series (an infinite bound) are left alone: splitting them may produce oo - oo."""
    if not isinstance(e, sp.Basic) or not e.has(sp.Sum):
        return e
    if isinstance(e, sp.Sum) and len(e.limits) == 1 and len(e.limits[0]) == 3 \
            and e.limits[0][1].is_integer and e.limits[0][2].is_integer:  # finite: no series split
        var, lo, hi = e.limits[0]
        body = sp.expand(linear_sums(e.function))
        out = []
        for term in sp.Add.make_args(body):
            free, bound = [], []
            for f in sp.Mul.make_args(term):
                (bound if f.has(var) else free).append(f)
            rest = sp.Mul(*bound)
            out.append(sp.Mul(*free) * (hi - lo + 1 if not bound else sp.Sum(rest, (var, lo, hi))))
        return sp.Add(*out)
    if not e.args or isinstance(e, sp.MatrixBase):
        return e
    return e.func(*[linear_sums(a) for a in e.args])


def _zero_strong(d) -> bool:
    if sp.count_ops(d) > STRONG_MAX_OPS:
        # The cost of these attempts grows fast with size: every difference they proved in
        # derivations/ has at most 43 operations; the larger ones ran into the time cap unproved.
        return False
    if _zero_cheap(d):
        return True
    if _symbolic_matrix_products(d):
        # simplify knows nothing about products of symbolic-size matrices beyond what the cheap
        # test's expand does; on derivations/ it proved none of them and spent about 1 s on each.
        return False
    # simplify once; the other rewrites are followed by the cheap test only (simplify is the costly part).
    # An integral whose integrand is not continuous inside its range stays opaque to it: simplify evaluates
    # integrals without asking whether they converge, and takes the principal value of one with a pole inside
    # (E[z ~ Normal(0, 1)](1/z) = 0)
    found = sorted(d.atoms(sp.Integral), key=sp.default_sort_key)
    integrals = {i: sp.Dummy(f"integral{k}") for k, i in enumerate(found) if inner_singularity(i)}
    integrals.update(held_limits(d))
    r = sp.simplify(d.xreplace(integrals)).xreplace({v: k for k, v in integrals.items()}) if integrals \
        else sp.simplify(d)
    if r == 0 or (isinstance(r, sp.Basic) and r.is_zero is True):
        return True
    for applies, transform in _REWRITES:
        if not applies(d):
            continue  # each try costs two cheap tests: skip rewrites with nothing to act on
        for base in (d, r):
            if _zero_cheap(transform(base)):
                return True
    return False


def inner_singularity(i: sp.Integral) -> bool:
    """Whether an integral's integrand may fail to be continuous inside its range (unknown counts as yes); a
    singularity at an end (1/sqrt(x) on [0, 1]) is the improper integral SymPy decides."""
    from sympy.calculus.util import continuous_domain
    from sympy.core.function import AppliedUndef
    if len(i.limits) != 1 or len(i.limits[0]) != 3:
        return True
    x, a, b = i.limits[0]
    # a declared function (and its derivatives) is smooth: only what is written around it can break continuity
    body = i.function.replace(lambda e: isinstance(e, (AppliedUndef, sp.Derivative)), lambda e: sp.Dummy("smooth"))
    if x not in body.free_symbols:
        return False
    try:
        if continuous_domain(body, x, sp.S.Reals) == sp.S.Reals:
            return False  # continuous everywhere (also for symbolic ends)
        return sp.Interval.open(a, b).is_subset(continuous_domain(body, x, sp.Interval(a, b))) is not True
    except Exception:  # noqa: BLE001 - not worked out: treated as singular
        return True


_MATRIX_ALGEBRA = (sp.MatMul, sp.MatAdd, sp.HadamardProduct, sp.Transpose, sp.Inverse, sp.MatPow, sp.Trace,
                   sp.Determinant)


def _symbolic_matrix_products(x) -> bool:
    """Whether x does algebra on matrices of symbolic size (entries m[j] inside sums do not count)."""
    return any(not all(n.is_Integer for n in m.shape)
               for node in x.atoms(*_MATRIX_ALGEBRA) for m in node.atoms(sp.MatrixSymbol))


def _has_root(x) -> bool:
    return any(p.exp.is_Rational and not p.exp.is_Integer for p in x.atoms(sp.Pow))


def _has_general_power(x) -> bool:
    return any(not p.exp.is_Integer for p in x.atoms(sp.Pow))


_REWRITES = (
    (lambda x: x.has(sp.log, sp.exp) or _has_general_power(x),
     lambda x: sp.expand_log(sp.powsimp(sp.expand_power_base(x)), force=False)),
    (lambda x: x.has(sp.log), sp.logcombine),
    (_has_root, lambda x: sp.radsimp(sp.sqrtdenest(x))),
    (lambda x: x.has(TrigonometricFunction, InverseTrigonometricFunction, HyperbolicFunction,
                     InverseHyperbolicFunction, sp.exp),
     lambda x: x.rewrite(sp.exp)),
)


def scalar_zero(d, clock: Clock, strong: bool) -> bool:
    """Whether d is shown to be 0 (cheap transforms, or also simplify when strong)."""
    fn = _zero_strong if strong else _zero_cheap
    return clock.attempt(fn, d, share=0.9 if strong else 0.5) is True


def equal(lhs, rhs, clock: Clock, strong: bool, substitutions: list[dict] | None = None) -> bool:
    """Whether lhs = rhs is shown symbolically (for every substitution branch, if given)."""
    if lhs == rhs:
        return True
    branches = substitutions or [{}]
    for sub in branches:
        try:
            l, r = (given_substituted(x, sub) for x in (lhs, rhs))
        except (ValueError, TypeError):  # e.g. a derivative with respect to a substituted symbol
            return False
        if not _equal_once(l, r, clock, strong):
            return False
    return True


def _equal_once(l, r, clock: Clock, strong: bool) -> bool:
    if isinstance(l, Bag) or isinstance(r, Bag):
        if not (isinstance(l, Bag) and isinstance(r, Bag)) or len(l.args) != len(r.args):
            return False
        rest = list(r.args)
        for a in l.args:
            k = next((i for i, b in enumerate(rest) if scalar_zero(a - b, clock, strong)), None)
            if k is None:
                return False
            rest.pop(k)
        return True
    lm, rm = isinstance(l, sp.MatrixBase), isinstance(r, sp.MatrixBase)
    if lm or rm:
        if lm and rm:
            return l.shape == r.shape and all(scalar_zero(a - b, clock, strong) for a, b in zip(l, r))
        m, s = (l, r) if lm else (r, l)
        if s == 0:  # `v = 0`: the zero of v's shape
            return all(scalar_zero(a, clock, strong) for a in m)
        return m.shape == (1, 1) and scalar_zero(m[0, 0] - s, clock, strong)
    if isinstance(l, sp.MatrixExpr) or isinstance(r, sp.MatrixExpr):
        def matrix_zero():
            d = sp.expand((l if r == 0 else r if l == 0 else l - r).doit())
            return d == 0 or isinstance(d, sp.ZeroMatrix)
        try:
            return clock.attempt(matrix_zero, share=0.5) is True
        except (TypeError, ValueError, sp.ShapeError):
            return False
    try:
        d = l - r
    except (TypeError, ValueError):
        return False
    return scalar_zero(d, clock, strong)


def sign_shown(d, op: str, clock: Clock, substitutions: list[dict] | None = None,
               any_branch: bool = False) -> bool:
    """Whether `d op 0` is shown from the assumptions (op one of > >= < <=), for every substitution
    branch (alternatives that each cover all cases, with any_branch=True: for one of them)."""
    branches = substitutions or [{}]

    def test(x):
        prop = {">": "is_positive", ">=": "is_nonnegative", "<": "is_negative", "<=": "is_nonpositive"}[op]
        # Cheapest forms first, and simplify (the costly one) once: its result is factored too.
        for v in (x, sp.expand(x), sp.factor(x)):
            if getattr(v, prop) is True:
                return True
        s = sp.simplify(x, doit=False)
        return getattr(s, prop) is True or getattr(sp.factor(s), prop) is True

    for sub in branches:
        try:
            x = given_substituted(d, sub)
        except (ValueError, TypeError):
            x = None
        ok = x is not None and clock.attempt(test, x, share=0.6) is True
        if any_branch and ok:
            return True
        if not any_branch and not ok:
            return False
    return not any_branch
