"""Justification rules. Each rule turns a step into obligations for the kernel to discharge,
or says why it cannot check (then the step is `unknown`). Rules never decide a verdict."""

from __future__ import annotations

import sympy as sp

from proofcheck.kernel.equivalence import Clock, sign_shown
from proofcheck.kernel.terms import at_point, Implication, Optimum, Outcome, Relation, StepTask


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
    glob = curvature is not None and sign_shown(curvature, "<=" if want_max else ">=", clock)
    note = (f"global optimum: f is {shape} in {x}" if glob
            else f"local optimum only: the second-order condition holds at the point, {shape}ity not shown")
    return Outcome(obligations, note=note)


def not_yet(name: str):
    """A rule that exists in the format but has no checker yet: the step is `unknown`."""
    def rule(task: StepTask, clock: Clock) -> Outcome:
        return Outcome(unknown=f"rule `{name}` is not supported yet")
    rule.__doc__ = f"`by {name}`: not supported yet."
    return rule


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
    "jensen": not_yet("jensen"),
    "integrand": not_yet("integrand"),
    "substitute": not_yet("substitute"),
}
