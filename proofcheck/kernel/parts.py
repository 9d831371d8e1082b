"""`by parts`: integration by parts, with the boundary term at an infinite end taken from a stated
limit given (the sampler cannot test such givens with random functions; this rule is their use)."""

from __future__ import annotations

from itertools import combinations

import sympy as sp

from proofcheck.kernel.equivalence import Clock, inner_singularity
from proofcheck.kernel.terms import Outcome, Relation, StepTask, SymbolInfo, at_point, range_ends

MAX_FACTORS = 6  # a boundary given's factors tried as u v splits (2^6 splits at most)


def parts(task: StepTask, clock: Clock) -> Outcome:
    """integral(u v', x, a, b)   cur   by parts(u = U, v = V)   (or dv = V'; or bare: u v from a limit given)
    ---------------------------------------------------------------------------------------------------
    [u v]_a^b - integral(v u', x, a, b) op cur, where [u v] at an infinite end is the value of a given
    `limit(u v, x, oo) = c` (the same expression as u v); without one the step is unknown."""
    from proofcheck.kernel import plugins
    if isinstance(task.prev, Relation):
        return Outcome(unknown="parts applies to expression chains")
    kw = dict(task.rule.kwargs)
    unknown_keys = sorted(set(kw) - {"u", "v", "dv"})
    if unknown_keys or task.rule.args or task.rule.arrows:
        return Outcome(unknown="parts takes `u = ...` with `v = ...` or `dv = ...` (or nothing: u v is "
                               "then read from a boundary given)")
    if ("v" in kw) == ("dv" in kw) and kw:
        return Outcome(unknown="parts needs exactly one of `v = ...` and `dv = ...` with `u = ...`")
    if kw and "u" not in kw:
        return Outcome(unknown="parts needs `u = ...`")
    prev = plugins.lower(task.prev, task.context)
    integrals = sorted((i for i in _atoms(prev, sp.Integral)
                        if len(i.limits) == 1 and len(i.limits[0]) == 3), key=sp.default_sort_key)
    if not integrals:
        return Outcome(unknown="parts needs a one-variable definite integral (or expectation) in the previous line")
    limits = _limit_givens(task)
    choice = None
    for integral in integrals:
        x, lo, hi = integral.limits[0]
        if kw:
            found = _from_arguments(kw, x, clock)
            if isinstance(found, str):
                return Outcome(unknown=found)
            u, v = found
            if _same(integral.function, u * sp.diff(v, x)) or len(integrals) == 1:
                choice = (integral, u, v)
                break
        else:
            for u, v in _from_givens(limits, x):
                if _same(integral.function, u * sp.diff(v, x)):
                    choice = (integral, u, v)
                    break
            if choice:
                break
    if choice is None:
        if kw:
            return Outcome(unknown="no integral in the previous line has the integrand u v' for the stated u and v")
        return Outcome(unknown="parts without arguments reads u v from a given `limit(u v, x, oo) = 0`; no such "
                               "given splits as u v with u v' the integrand (write by parts(u = ..., v = ...))")
    integral, u, v = choice
    x, lo, hi = integral.limits[0]
    for f in (u * v, v * sp.diff(u, x)):
        if inner_singularity(sp.Integral(f, (x, lo, hi))):
            # [u v] from a to b is the integral of (u v)' only where u v is continuous: atan(1/x) jumps by pi at 0
            return Outcome(unknown=f"{_shown(f, x)} is not shown continuous inside the range: the boundary term "
                                   "[u v] may not be what the integral of (u v)' gives")
    boundary = []
    for end, sign in ((hi, 1), (lo, -1)):
        if end in (sp.oo, -sp.oo):
            value = _boundary_value(limits, u * v, x, end)
            if value is None:
                uv = _shown(u * v, x)
                return Outcome(unknown=f"the boundary term {uv} at {sp.sstr(end)} is not among the givens "
                                       f"(state it: limit({uv}, {x.name}, {sp.sstr(end)}) = 0)")
            boundary.append(sign * value)
        else:
            boundary.append(sign * at_point(u * v, [x], [end]))
    rest = sp.Integral(v * sp.diff(u, x), (x, lo, hi))
    replaced = prev.xreplace({integral: sp.Add(*boundary) - rest})
    obligations = [Relation(replaced, task.op, task.cur)]
    extra, sufficient = (), ()
    if not _same(integral.function, u * sp.diff(v, x)):
        # The integrand only equals u v' after algebra: checked pointwise in x, over the range. Where it does not,
        # the rule does not apply and the parts computed say nothing about the step.
        sufficient = (Relation(integral.function, "=", u * sp.diff(v, x)),)
        obligations.insert(0, sufficient[0])
        if not any(i.obj == x for i in task.context.symbols):
            finite = [e if e not in (sp.oo, -sp.oo) else None for e in range_ends(lo, hi)]
            extra = (SymbolInfo(x.name, "scalar", x, "interval", low=finite[0], high=finite[1])
                     if any(e is not None for e in finite) else SymbolInfo(x.name, "scalar", x, "real"),)
    ends = ", ".join(f"{sp.sstr(e)} (given)" if e in (sp.oo, -sp.oo) else sp.sstr(e) for e in (lo, hi))
    return Outcome(obligations, extra=extra, sufficient=sufficient, conditional=obligations[-1:],
                   note=f"integrated by parts with u = {_shown(u, x)}, v = {_shown(v, x)}; boundary term at {ends}")


def _shown(e, x) -> str:
    """e as text with the integration variable under its written name (not a bound dummy's)."""
    return sp.sstr(e.xreplace({x: sp.Symbol(x.name)}) if isinstance(x, sp.Dummy) else e)


def _atoms(e, cls):
    return e.atoms(cls) if isinstance(e, sp.Basic) else set()


def _by_name(e, x):
    """e with any symbol named like x (a declared x, or the bound variable of an expectation) as x."""
    if not isinstance(e, sp.Basic):
        return e
    return e.xreplace({s: x for s in e.free_symbols if s.name == x.name and s != x})


def _from_arguments(kw: dict, x, clock: Clock):
    u = _by_name(kw["u"], x)
    if "v" in kw:
        return u, _by_name(kw["v"], x)
    dv = _by_name(kw["dv"], x)
    v = clock.attempt(lambda: sp.integrate(dv, x), share=0.2)
    if v is None or v.has(sp.Integral):
        return f"could not integrate dv = {sp.sstr(dv)} in {x}; write v = ... instead"
    return u, v


def _limit_givens(task: StepTask) -> list:
    """(expression, variable, point, value) of each given `limit(E, x, a) = c` (either way round)."""
    out = []
    for _, g in task.context.givens:
        if g.op != "=":
            continue
        for lim, value in ((g.lhs, g.rhs), (g.rhs, g.lhs)):
            if isinstance(lim, sp.Limit) and isinstance(value, sp.Basic) and not value.has(sp.Limit):
                expr, var, point, _ = lim.args
                out.append((expr, var, point, value))
    return out


def _boundary_value(limits: list, uv, x, end):
    for expr, var, point, value in limits:
        if point == end and _same(_by_name(expr.xreplace({var: x}), x), uv):
            return value
    return None


def _from_givens(limits: list, x):
    """(u, v) splits of each boundary given's expression into two factors."""
    for expr, var, point, _ in limits:
        e = _by_name(expr.xreplace({var: x}), x)
        factors = sp.Mul.make_args(e)
        if len(factors) > MAX_FACTORS:
            continue
        for k in range(len(factors) + 1):
            for picked in combinations(range(len(factors)), k):
                u = sp.Mul(*[f for i, f in enumerate(factors) if i in picked])
                v = sp.Mul(*[f for i, f in enumerate(factors) if i not in picked])
                yield u, v


def _same(a, b) -> bool:
    """a and b the same expression up to expansion and cancellation (no simplification)."""
    if a == b:
        return True
    try:
        d = sp.expand(a - b)
        return d == 0 or sp.cancel(sp.together(d)) == 0
    except (TypeError, ValueError, sp.PolynomialError):
        return False
