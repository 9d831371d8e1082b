"""Justification rules. Each rule turns a step into obligations for the kernel to discharge,
or says why it cannot check (then the step is `unknown`). Rules never decide a verdict."""

from __future__ import annotations

import sympy as sp

from proofcheck.kernel.equivalence import Clock, sign_shown
from proofcheck.kernel.terms import as_basic, at_point, Implication, Optimum, Outcome, Relation, StepTask


def plain(task: StepTask, clock: Clock) -> Outcome:
    """prev op cur
    ------------------  (no rule, definition, algebra, given)
    the step itself."""
    if isinstance(task.prev, Relation):
        return Outcome([Implication(task.prev, task.cur, both=task.op == "<==>")])
    return Outcome([Relation(task.prev, task.op, task.cur)])


def at(task: StepTask, clock: Clock) -> Outcome:
    """prev(x)   cur   by at(x = a)
    --------------------------------
    subs(prev, x = a) op cur."""
    if not task.rule.kwargs:
        return Outcome(unknown="at(...) needs the point, e.g. by at(x = 0)")
    if isinstance(task.prev, Relation):
        return Outcome(unknown="at(...) applies to expression chains")
    names, values = zip(*task.rule.kwargs)
    syms = [_symbol(task, n) for n in names]
    return Outcome([Relation(_subs(task.prev, syms, values), task.op, task.cur)],
                   note=f"evaluated at {', '.join(f'{n} = {sp.sstr(v)}' for n, v in task.rule.kwargs)}")


def limit(task: StepTask, clock: Clock) -> Outcome:
    """prev(x)   cur   by limit(x -> a)
    ---------------------------------------
    limit(prev, x, a) op cur."""
    if len(task.rule.arrows) != 1 or isinstance(task.prev, Relation):
        return Outcome(unknown="limit(...) takes one `x -> a` and applies to expression chains")
    name, to = task.rule.arrows[0]
    x = _symbol(task, name)
    return Outcome([Relation(sp.Limit(task.prev, x, to), task.op, task.cur)], note=f"limit as {name} -> {sp.sstr(to)}")


def solve(task: StepTask, clock: Clock) -> Outcome:
    """P(x)  ==>  x = s   by solve(x)
    --------------------------------------------------
    P(s) holds; uniqueness reported when it can be decided."""
    if not (isinstance(task.prev, Relation) and isinstance(task.cur, Relation)):
        return Outcome(unknown="solve(x) is a statement-chain rule: `equation` then `==> x = ... by solve(x)`")
    if task.prev.op != "=" or task.cur.op != "=":
        return Outcome(unknown="solve(x) works on equations")
    var = task.rule.args[0] if task.rule.args else task.cur.lhs
    if isinstance(var, sp.MatrixSymbol) and task.cur.lhs == var:
        return _solve_vector(task, var, clock)
    if not isinstance(var, sp.Symbol) or task.cur.lhs != var:
        return Outcome(unknown="solve(x) expects the new line to read `x = ...`")
    value = task.cur.rhs
    eq = task.prev.lhs - task.prev.rhs
    obligations = [Relation(_subs(eq, [var], [value]), "=", _zero_like(eq))]
    note = "the claimed solution satisfies the equation"

    def count():
        return sp.solve(eq, var, dict=False)

    sols = clock.attempt(count, share=0.3) if not isinstance(eq, sp.MatrixBase) else \
        clock.attempt(lambda: sp.solve(list(eq), var, dict=True), share=0.3)
    if isinstance(sols, list):
        if len(sols) == 1:
            note += "; it is the unique solution"
        elif len(sols) > 1:
            note += f"; the equation has {len(sols)} solutions, this is one of them"
    else:
        note += "; uniqueness not decided"
    return Outcome(obligations, note=note)


def _solve_vector(task: StepTask, w, clock: Clock) -> Outcome:
    """A w = b  ==>  w = A^-1 b: substitute the claim back; invertibility of A from its structure."""
    from proofcheck import linalg
    lhs, rhs = task.prev.lhs, task.prev.rhs
    if rhs == 0:
        rhs = sp.ZeroMatrix(*lhs.shape)
    if lhs == 0:
        lhs = sp.ZeroMatrix(*rhs.shape)
    eq = clock.attempt(lambda: linalg.lower_symbolic(lhs - rhs), share=0.3)
    if eq is None or eq.has(linalg.MatGrad, linalg.MatHessian):
        return Outcome(unknown="could not write the equation as a matrix expression in " + str(w))
    value = task.cur.rhs
    substituted = eq.xreplace({w: value})
    note = "the claimed solution satisfies the equation"
    coefficient = clock.attempt(lambda: linalg.coefficient(eq, w), share=0.2)
    spd = frozenset(i.obj for i in task.context.symbols if "spd" in i.flags)
    if coefficient is not None and linalg.positive_definite(coefficient, spd):
        note += f"; it is the unique solution: the coefficient {sp.sstr(coefficient)} is positive definite"
    else:
        note += "; whether the coefficient matrix is invertible was not decided"
    return Outcome([Relation(substituted, "=", sp.ZeroMatrix(*eq.shape))], note=note)


def stationary(task: StepTask, clock: Clock) -> Outcome:
    """argmax/argmin/maximum/minimum(f, x)   cur   by stationary(x)
    -----------------------------------------------------------------
    f'(x*) = 0 and the second-order condition at x* (x* = cur, or the stationary point)."""
    opt = task.prev
    if not isinstance(opt, Optimum):
        return Outcome(unknown="stationary(x) needs the previous line to be argmax/argmin/maximum/minimum(f, x)")
    kind, f, x = str(opt.args[0]), opt.args[1], opt.args[2]
    if task.rule.args and task.rule.args[0] != x:
        return Outcome(unknown=f"the optimisation is over {x}, not {task.rule.args[0]}")
    d1, d2 = sp.Derivative(f, x), sp.Derivative(f, (x, 2))
    want_max = kind in ("argmax", "maximum")
    if kind in ("argmax", "argmin"):
        point = task.cur
        obligations = []
    else:
        sols = clock.attempt(lambda: sp.solve(sp.diff(f, x), x), share=0.4)
        if not isinstance(sols, list) or len(sols) != 1:
            n = "no" if sols == [] else ("several" if isinstance(sols, list) else "undecided")
            return Outcome(unknown=f"stationary points of f in {x}: {n}; cannot tell where the optimum is")
        point = sols[0]
        obligations = [Relation(_subs(f, [x], [point]), task.op, task.cur)]
    obligations += [Relation(_subs(d1, [x], [point]), "=", sp.Integer(0)),
                    Relation(_subs(d2, [x], [point]), "<" if want_max else ">", sp.Integer(0))]
    curvature = clock.attempt(lambda: sp.diff(f, x, 2), share=0.2)
    shape = "concave" if want_max else "convex"
    glob = curvature is not None and sign_shown(curvature, "<=" if want_max else ">=", clock,
                                                [{}, interval_substitution(task.context)], any_branch=True)
    note = (f"global optimum: f is {shape} in {x}" if glob
            else f"local optimum only: the second-order condition holds at the point; f is not shown {shape}")
    return Outcome(obligations, note=note)


_CONCAVE = {sp.log: "log", sp.sqrt: "sqrt"}


def _outer(e):
    """(g, inner, concave?) when e = g(inner) for a function g of known curvature, else None."""
    if isinstance(e, sp.log):
        return (sp.log, e.args[0], True, "log")
    if isinstance(e, sp.exp):
        return (sp.exp, e.args[0], False, "exp")
    if isinstance(e, sp.Pow) and e.exp == sp.Rational(1, 2):
        return (sp.sqrt, e.base, True, "sqrt")
    if isinstance(e, sp.Pow) and e.exp == 2:
        return ((lambda x: x ** 2), e.base, False, "the square")
    if isinstance(e, sp.Abs):
        return (sp.Abs, e.args[0], False, "abs")
    return None


def jensen(task: StepTask, clock: Clock) -> Outcome:
    """g(E[X]) >= E[g(X)] for concave g (log, sqrt);  g(E[X]) <= E[g(X)] for convex g (exp, square, abs)
    -------------------------------------------------------------------------------------------------------
    the other side of the step equals the Jensen counterpart (checked as an obligation)."""
    from proofcheck.probability.heads import Expectation, bind
    if task.op not in ("<=", ">=", "<", ">") or isinstance(task.prev, Relation):
        return Outcome(unknown="jensen justifies an inequality step between expressions")
    big, small = (task.prev, task.cur) if task.op in (">=", ">") else (task.cur, task.prev)
    backwards = None  # the Jensen shape with the inequality the wrong way round
    for side, other, is_big in ((big, small, True), (small, big, False)):
        outer = _outer(side)
        if outer and isinstance(outer[1], Expectation):
            g, expect, concave, name = outer
            if concave != is_big:
                backwards = ("concave" if concave else "convex", name)
                continue
            lam, dist = expect.args
            z = lam.variables[0]
            counterpart = Expectation(bind(z, g(lam.expr)), dist)
            kind = "concave" if concave else "convex"
            return Outcome([Relation(counterpart, "=", other)],
                           note=f"Jensen's inequality for the {kind} function {name}")
        if isinstance(side, Expectation):
            lam, dist = side.args
            outer = _outer(lam.expr)
            if outer is None:
                continue
            g, inner, concave, name = outer
            if concave == is_big:
                backwards = ("concave" if concave else "convex", name)
                continue
            counterpart = g(Expectation(bind(lam.variables[0], inner), dist))
            kind = "concave" if concave else "convex"
            return Outcome([Relation(counterpart, "=", other)],
                           note=f"Jensen's inequality for the {kind} function {name}")
    if backwards:
        # Jensen says the opposite; the step is checked as written, which refutes it unless X is constant.
        kind, name = backwards
        return Outcome([Relation(task.prev, task.op, task.cur)],
                       note=f"not Jensen's inequality: for the {kind} function {name} it goes the other way")
    return Outcome(unknown="the step does not have the shape g(E[X]) vs E[g(X)] for a log, sqrt, exp, "
                           "square or abs with the inequality in Jensen's direction")


def integrand(task: StepTask, clock: Clock) -> Outcome:
    """integral(f, x) op integral(g, x)  (or E[x ~ D](f) op E[x ~ D](g))
    --------------------------------------------------------------------
    f(x) op g(x) for every x in the range (monotonicity of the integral)."""
    from proofcheck.kernel.terms import SymbolInfo
    from proofcheck.probability.heads import Expectation, bind
    a, b = task.prev, task.cur
    if isinstance(a, Expectation) and isinstance(b, Expectation):
        if a.args[1] != b.args[1]:
            return Outcome(unknown="the two expectations are over different distributions")
        x = a.args[0].variables[0]
        fa, fb = a.args[0].expr, b.args[0](x)
        info = SymbolInfo(x.name, "scalar", x, "real")
        return Outcome([Relation(fa, task.op, fb)], note="compared the integrands pointwise", extra=(info,))
    if isinstance(a, sp.Integral) and isinstance(b, sp.Integral):
        if len(a.limits) != 1 or len(b.limits) != 1 or len(a.limits[0]) != 3 or len(b.limits[0]) != 3:
            return Outcome(unknown="integrand compares two one-variable definite integrals")
        (x, lo, hi), (y, lo2, hi2) = a.limits[0], b.limits[0]
        if (lo, hi) != (lo2, hi2):
            return Outcome(unknown="the two integrals have different ranges")
        if task.op != "=" and not (as_basic(hi - lo).is_extended_nonnegative):
            return Outcome(unknown="cannot tell that the range runs upwards, so an inequality may flip")
        fb = b.function.xreplace({y: x})
        domain = "real" if (lo, hi) == (-sp.oo, sp.oo) else "interval"
        info = SymbolInfo(x.name, "scalar", x, domain, low=None if domain == "real" else lo,
                          high=None if domain == "real" else hi)
        return Outcome([Relation(a.function, task.op, fb)], note="compared the integrands pointwise",
                       extra=(info,))
    return Outcome(unknown="integrand needs an integral (or expectation) on both sides")


def substitute(task: StepTask, clock: Clock) -> Outcome:
    """integral(g(x), x)   cur   by substitute(x = F(u))
    -----------------------------------------------------
    integral(g(F(u)) F'(u), u) op cur, with F increasing (declared, or F' > 0 shown as an obligation).
    Expectations over densities are integrals here; the range must be the whole real line and F onto it."""
    from proofcheck.kernel import plugins
    if len(task.rule.kwargs) != 1 or isinstance(task.prev, Relation):
        return Outcome(unknown="substitute takes one `x = F(u)` and applies to expression chains")
    name, image = task.rule.kwargs[0]
    free = [s for s in image.free_symbols if s.name != name]
    if len(free) != 1:
        return Outcome(unknown=f"substitute needs x = F(u) with exactly one new variable; got {sp.sstr(image)}")
    u = free[0]
    prev = plugins.lower(task.prev, task.context)
    found = []

    def change(integral):
        if len(integral.limits) != 1 or len(integral.limits[0]) != 3 or integral.limits[0][0].name != name:
            return integral
        x, lo, hi = integral.limits[0]
        if (lo, hi) != (-sp.oo, sp.oo):
            found.append("range")
            return integral
        found.append("ok")
        return sp.Integral(integral.function.subs(x, image) * sp.diff(image, u), (u, -sp.oo, sp.oo))

    new = prev.replace(lambda e: isinstance(e, sp.Integral), change)
    if "ok" not in found:
        why = "over the whole real line" if "range" in found else f"in {name}"
        return Outcome(unknown=f"substitute changes variables in an integral (or expectation) {why}")
    increasing = _declared_increasing(image, u, task)
    obligations = [Relation(new, task.op, task.cur)]
    if increasing:
        note = f"changed variables {name} = {sp.sstr(image)}; {sp.sstr(image)} is declared increasing"
    else:
        obligations.append(Relation(sp.diff(image, u), ">", sp.Integer(0)))
        note = f"changed variables {name} = {sp.sstr(image)}, which is checked to be increasing"
    from proofcheck.kernel.terms import SymbolInfo
    extra = () if any(i.obj == u for i in task.context.symbols) else (SymbolInfo(u.name, "scalar", u, "real"),)
    return Outcome(obligations, note=note + " (it must also map the real line onto itself)", extra=extra)


def _declared_increasing(image, u, task: StepTask) -> bool:
    """F(u) with F declared `increasing function`."""
    from sympy.core.function import AppliedUndef
    if isinstance(image, AppliedUndef) and image.args == (u,):
        return any(i.obj == image.func and "increasing" in i.flags for i in task.context.symbols)
    return False


def not_yet(name: str):
    """A rule that exists in the format but has no checker yet: the step is `unknown`."""
    def rule(task: StepTask, clock: Clock) -> Outcome:
        return Outcome(unknown=f"rule `{name}` is not supported yet")
    rule.__doc__ = f"`by {name}`: not supported yet."
    return rule


def interval_substitution(context) -> dict:
    """x = a + (b - a) sigmoid(t) for each x declared interval(a, b): t ranges over the reals exactly
    when x ranges over (a, b), and SymPy's sign reasoning knows about sigmoids but not upper bounds."""
    out = {}
    for info in context.symbols:
        if info.domain == "interval" and info.low is not None and info.high is not None \
                and info.low.is_number and info.high.is_number:
            t = sp.Symbol(f"t_{info.name}", real=True)
            out[info.obj] = info.low + (info.high - info.low) / (1 + sp.exp(-t))
    return out


def _symbol(task: StepTask, name: str) -> sp.Symbol:
    for info in task.context.symbols:
        if info.name == name:
            return info.obj
    return sp.Symbol(name)


def _subs(expr, syms, values):
    return at_point(expr, syms, values)


def _zero_like(e):
    return sp.zeros(*e.shape).as_immutable() if isinstance(e, sp.MatrixBase) else sp.Integer(0)


RULES = {
    None: plain,
    "definition": plain,
    "algebra": plain,
    "given": plain,
    "at": at,
    "limit": limit,
    "solve": solve,
    "stationary": stationary,
    "jensen": jensen,
    "integrand": integrand,
    "substitute": substitute,
}
