"""Justification rules. Each rule turns a step into obligations for the kernel to discharge,
or says why it cannot check (then the step is `unknown`). Rules never decide a verdict."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from proofcheck.kernel.equivalence import Clock, inner_singularity, sign_shown
from proofcheck.kernel.parts import parts
from proofcheck.kernel.terms import (as_basic, at_point, Implication, Optimum, Outcome, Relation, singular_parts,
                                     StepTask, range_ends, value_set)


def plain(task: StepTask, clock: Clock) -> Outcome:
    """prev op cur
    ------------------  (no rule, definition, algebra, given)
    the step itself."""
    if isinstance(task.prev, Relation):
        return Outcome([Implication(task.prev, task.cur, both=task.op == "<==>")])
    from proofcheck.probability import laws
    if laws.is_law(task.prev) and laws.is_law(task.cur):
        return laws.step_outcome(task.prev, task.op, task.cur)
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
    # The lines before held only where the givens do: the chain may move to the point only if they hold there
    # too (given x > 1, |x - 1| = x - 1, then at x = 0 would give 1 = -1).
    point = dict(zip(syms, values))
    givens = [Relation(g.lhs.subs(point), g.op, g.rhs.subs(point))
              for _, g in task.context.givens if isinstance(g, Relation) and _mentions(g, syms)]
    open_givens = [g for g in givens if any(getattr(side, "free_symbols", None) for side in (g.lhs, g.rhs))]
    if open_givens:
        # given y > x, at x = 2 the lines before hold only where y > 2: a condition on the other names, which a point
        # where it fails does not make a counterexample to the step (red team 22: subs(x^2, x = 2) = 4 was refuted)
        return Outcome(unknown=f"the given `{sp.sstr(open_givens[0].lhs)} {open_givens[0].op} "
                               f"{sp.sstr(open_givens[0].rhs)}` at the point restricts the other names: the lines "
                               "before need not hold there for all of them")
    return Outcome([Relation(_subs(task.prev, syms, values), task.op, task.cur), *givens],
                   note=f"evaluated at {', '.join(f'{n} = {sp.sstr(v)}' for n, v in task.rule.kwargs)}"
                        + (" (the givens hold there)" if givens else ""))


def _mentions(rel: Relation, syms) -> bool:
    return any(s in getattr(side, "free_symbols", ()) for side in (rel.lhs, rel.rhs) for s in syms)


def limit(task: StepTask, clock: Clock) -> Outcome:
    """prev(x)   cur   by limit(x -> a)
    ---------------------------------------
    limit(prev, x, a) op cur."""
    if len(task.rule.arrows) != 1 or isinstance(task.prev, Relation):
        return Outcome(unknown="limit(...) takes one `x -> a` and applies to expression chains")
    name, to, side = task.rule.arrows[0]
    x = _symbol(task, name)
    bound = [n for n, g in task.context.givens if isinstance(g, Relation) and _mentions(g, [x])]
    if bound:
        # the lines before hold where the givens do; whether they hold all the way to the limit point is not checked
        return Outcome(unknown=f"the given {bound[0]} restricts {name}: the limit would leave the points where "
                               f"the lines before it were checked")
    info = next((i for i in task.context.symbols if i.obj == x), None)
    leaves = _limit_leaves_type(info, x, to, side, task.context)
    if leaves:
        # the lines before hold on x's declared type only (abs(x - 1) = 1 - x for x in (0, 1), not at 2)
        return Outcome(unknown=leaves)
    shown = {"+": " from above", "-": " from below"}.get(side, "") if to not in (sp.oo, -sp.oo) else ""
    return Outcome([Relation(sp.Limit(task.prev, x, to, side), task.op, task.cur)],
                   note=f"limit as {name} -> {sp.sstr(to)}{shown}")


def _limit_leaves_type(info, x, to, side: str, context) -> str:
    """Why `x -> to` (from `side`) would leave the points where the lines before were checked, or "": the point must
    be in the closure of x's declared type, approached from inside it, and no other name's type may depend on x
    (red team 22: `abs(x - 1) = 1 - x` for x in (0, 1), then `by limit(x -> 2)`)."""
    name = info.name if info is not None else str(x)
    if info is not None and info.kind == "scalar" and (info.domain == "complex" or (
            info.domain in ("integer", "posint") and to not in (sp.oo, -sp.oo))):
        # (a sequence's limit, T -> oo over the positive integers, is taken)
        return f"{name} is declared {info.domain}: a limit in it at a point is not taken from the lines before"
    for other in context.symbols:
        if other.obj != x and any(isinstance(b, sp.Basic) and b.has(x) for b in (other.low, other.high)):
            return f"the declared type of {other.name} depends on {name}: the limit would move it"
    allowed = value_set(info)
    if to in (sp.oo, -sp.oo):
        ok = (allowed.sup == sp.oo) if to == sp.oo else (allowed.inf == -sp.oo)
    else:
        eps = sp.Rational(1, 10 ** 9)  # some neighbourhood on the side approached from lies inside the type
        near = {"+": sp.Interval.open(to, to + eps), "-": sp.Interval.open(to - eps, to)}
        try:
            ok = all(allowed.is_superset(near[d]) is True for d in ([side] if side in near else ["+", "-"]))
        except (TypeError, ValueError):
            ok = False
    if not ok:
        where = {"+": " from above", "-": " from below"}.get(side, "")
        return f"{name} -> {sp.sstr(to)}{where} leaves the declared type of {name}, where the lines before were checked"
    return ""


def solve(task: StepTask, clock: Clock) -> Outcome:
    """P(x)  ==>  x = s   by solve(x)
    --------------------------------------------------
    P(s) holds, and every solution r of P in x's declared domain gives x = s (x = r ==> x = s)."""
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
    existence = Relation(_subs(eq, [var], [value]), "=", _zero_like(eq))
    # A claimed value that holds the variable need not solve the equation (x^3 = 8 ==> x = x^3/4 holds).
    open_value = (existence,) if var in as_basic(value).free_symbols else ()
    info = next((i for i in task.context.symbols if i.obj == var), None)
    domain = value_set(info)
    parts = list(eq) if isinstance(eq, sp.MatrixBase) else [eq]
    roots = clock.attempt(lambda: _all_roots(parts, var, domain), share=0.4)
    if isinstance(roots, str) or roots is None:
        why = roots or "finding the solutions failed or ran out of time"
        # Not a proof, but still a test: the claimed value must solve the equation, and no member of
        # an infinite solution set (x = pi for sin(x) = 0) may differ from it.
        members = clock.attempt(lambda: _some_members(parts, var, domain), share=0.2) or []
        necessary = [existence] + [Implication(Relation(var, "=", r), task.cur) for r in members
                                   if not _same(r, value, clock)]
        # Whether the equation has a solution at all is not known here: a claimed value that does not solve it
        # refutes the step only through a solution that differs from it.
        return Outcome(necessary, unknown=f"the claimed value may not be the only solution for {var}: {why}",
                       sufficient=(existence,))
    if not roots:
        # with no solution the implication holds whatever the claim: only the rule fails
        return Outcome([existence], note="the equation has no solution in the declared domain", sufficient=(existence,))
    note = ("the claimed solution satisfies the equation; it is the only solution"
            if len(roots) == 1 else
            f"the claimed solution satisfies the equation; the equation has {len(roots)} solutions "
            "in the declared domain and each must equal it")
    # A numeric root as `x = r ==> x = s` (refuted with "x = r" shown); one with parameters as r = s,
    # which the equality stages simplify (no point can be drawn to satisfy x = r for a Sum in r).
    # (a claimed value that holds the variable is compared at the root itself: x = x^3/a^2 at x = a)
    obligations = [existence] + [Relation(r, "=", value) if ((exact and not r.is_number) or _same(r, value, clock))
                                 and not open_value else Implication(Relation(var, "=", r), task.cur)
                                 for r, exact in roots]
    return Outcome(obligations, note=note, sufficient=open_value)


def _same(a, b, clock: Clock) -> bool:
    """a = b shown symbolically, with sums of positive terms known to be positive (log(1/S) = -log(S))."""
    from proofcheck.kernel.equivalence import equal
    if not (isinstance(a, sp.Basic) and isinstance(b, sp.Basic)):
        return False
    sums = sorted((a.atoms(sp.Sum) | b.atoms(sp.Sum)), key=sp.default_sort_key)
    names = {t: sp.Dummy(f"sum{k}", positive=True) for k, t in enumerate(sums) if _positive_sum(_real_entries(t))}
    a, b = (a.xreplace(names), b.xreplace(names)) if names else (a, b)
    return clock.attempt(lambda: equal(a, b, clock, strong=True), share=0.2) is True


def _all_roots(parts, x, domain):
    """Every solution of parts = 0 in the domain as a list of (root, surely in the domain), or a string
    saying why that is not known.

    solveset answers for generic parameter values: `a x = a b` gives {b}, wrong at a = 0. So with
    parameters the x-dependent terms must be free of them and one of their coefficients provably
    nonzero, which rules out an equation that vanishes for every x at special parameter values."""
    roots = None
    for e in parts:
        e = as_basic(e)
        if e == 0:
            continue
        if not e.has(x):
            return "a part of the equation does not involve " + str(x)
        if poles_may_solve(e, x):
            return "the equation divides by a function of " + str(x) + " with poles, where it may vanish as a limit " \
                   "((x - 1)/tan(x) is 0 at x = pi/2)"
        found, exact = sp.solveset(e, x, domain), True
        if found is sp.S.EmptySet:
            found = sp.FiniteSet()  # no solution at all: a complete (empty) list
        finite = [a for a in found.args if isinstance(a, sp.FiniteSet)] if isinstance(found, sp.Intersection) \
            else found.args[:1] if isinstance(found, sp.Complement) and isinstance(found.args[0], sp.FiniteSet) else []
        if finite:
            # Candidates: every solution is among them; one outside the domain gives no point to
            # x = r ==> x = s, so it is never taken for a counterexample.
            found, exact = finite[0], False
        if not isinstance(found, sp.FiniteSet):
            return f"the solutions in the declared domain are {sp.sstr(found)}, not a finite list"
        problem = _degenerate(e, x)
        if problem:
            return problem
        found = [(r, exact) for r in found]
        roots = found if roots is None else [(r, ex and exact) for r, ex in roots if any(
            sp.simplify(r - q) == 0 for q, _ in found)]
    if roots is None:
        return "the equation holds for every value"
    return roots


def poles_may_solve(e, x) -> bool:
    """Whether e divides by something of x that has poles (tan(x)): where it is infinite, e may vanish as a limit,
    a solution that the roots of e's numerator do not list (a denominator finite everywhere, 1 + exp(-x), may not)."""
    den = sp.denom(sp.together(e))
    return den.has(x) and any(p.has(x) for p in singular_parts(den))


def _some_members(parts, x, domain) -> list:
    """A few members (n = 0, 1, -1, 2) of the periodic families solveset gives for the first part."""
    for e in parts:
        e = as_basic(e)
        if e == 0 or not e.has(x):
            continue
        out = []
        for family in sp.solveset(e, x, domain).atoms(sp.ImageSet):
            lam, base = family.lamda, family.base_sets[0]
            if len(lam.variables) != 1 or base != sp.S.Integers:
                continue
            for n in (0, 1, -1, 2):
                r = lam(n)
                if r.is_number and r.is_real and domain.contains(r) is sp.true and r not in out:
                    out.append(r)
        return out[:6]
    return []


def _degenerate(e, x) -> str:
    params = e.free_symbols - {x}
    if not params:
        return ""
    poly = None
    for form in (sp.expand(e), sp.numer(sp.together(e))):
        try:
            gens = [g for g in sp.Poly(form).gens if g.has(x)]
            if gens and not any(g.free_symbols - {x} for g in gens):
                poly = sp.Poly(form, *gens)
                break
        except (sp.PolynomialError, sp.GeneratorsNeeded, TypeError, ValueError):
            continue
    if poly is None:
        return "its solutions depend on the parameters in a way that was not checked for special values"
    coeffs = [c for m, c in poly.terms() if any(m)]
    if not any(_nonzero(_real_entries(as_basic(c))) for c in coeffs):
        return "for special values of the parameters the equation may hold for every " + str(x)
    if len(gens) == 1 and gens[0] == x and not _nonzero(_real_entries(as_basic(poly.LC()))):
        return "the leading coefficient in " + str(x) + " may vanish"
    return ""


def _real_entries(c):
    """Entries of declared matrices and vectors are real numbers: say so to SymPy's assumptions."""
    entries = sorted(c.atoms(MatrixElement), key=sp.default_sort_key) if isinstance(c, sp.Basic) else []
    return c.xreplace({m: sp.Dummy(f"entry{k}", real=True) for k, m in enumerate(entries)}) if entries else c


def _nonzero(c) -> bool:
    """c != 0 from the assumptions, also for products of sums of positive terms (sum(exp(l[j]), j, 1, K))."""
    if c.is_nonzero:
        return True
    if isinstance(c, sp.Mul):
        return all(_nonzero(f) for f in c.args)
    if isinstance(c, sp.Pow):
        return _nonzero(c.base) and c.exp.is_finite is True
    return _positive_sum(c)


def _positive_sum(c) -> bool:
    if isinstance(c, sp.Sum) and len(c.limits) == 1 and len(c.limits[0]) == 3:
        _, lo, hi = c.limits[0]
        return c.function.is_positive is True and (hi - lo).is_nonnegative is True
    if isinstance(c, sp.Add):
        return all(t.is_positive or _positive_sum(t) for t in c.args)
    return False


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
    # SymPy's assumptions know no upper bounds: 1 - p > 0 for p in interval(0, 1) shows only with p
    # written as a sigmoid.
    intervals = interval_substitution(task.context)
    if coefficient is not None and (linalg.positive_definite(coefficient, spd) or (
            intervals and linalg.positive_definite(coefficient.xreplace(intervals), spd))):
        note += f"; it is the unique solution: the coefficient {sp.sstr(coefficient)} is positive definite"
    else:
        shown = f"the coefficient {sp.sstr(coefficient)}" if coefficient is not None else "the coefficient of " + str(w)
        return Outcome(unknown=f"{shown} is not shown invertible (positive definite), so the claimed value "
                               "may not be the only solution")
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
    slope = clock.attempt(lambda: sp.diff(f, x), share=0.1)
    want_max = kind in ("argmax", "maximum")
    if kind in ("argmax", "argmin"):
        point = task.cur
        obligations = []
        value = None
    else:
        sols = clock.attempt(lambda: sp.solve(slope, x), share=0.4) if slope is not None else None
        if not isinstance(sols, list) or len(sols) != 1:
            n = "no" if sols == [] else ("several" if isinstance(sols, list) else "undecided")
            return Outcome(unknown=f"stationary points of f in {x}: {n}; cannot tell where the optimum is")
        point = sols[0]
        value = Relation(_subs(f, [x], [point]), task.op, task.cur)
        obligations = [value]
    inside = _declared_range(x, point, task.context)
    if inside is None:
        return Outcome(unknown=f"{x} is declared as integers: stationary points are for a real variable")
    # the optimum must be attained inside the declared domain: argmax(-(x + 1)^2, x) = -1 for positive x is false
    obligations.extend(inside)
    first_order = Relation(_subs(d1, [x], [point]), "=", sp.Integer(0))
    obligations.append(first_order)
    second_order = Relation(_subs(d2, [x], [point]), "<" if want_max else ">", sp.Integer(0))
    # What fails without the claim being false: f'' = 0 at a maximiser (-x^4), f' != 0 at one on the edge of a
    # closed domain (-x over x >= 0) or at a kink (-|x| + x/2 at 0). A smooth f over an open domain attains its
    # optimum at a stationary point only, so there the point must lie in the domain and beat every other; else
    # those are sufficient conditions for the optimal value, which refutes the claim only where they all hold.
    jumps = _jumps(f, x, task.context)
    smooth_inside = all(r.op in (">", "<", "!=") for r in inside) and not jumps and \
        not f.has(sp.Abs, sp.sign, sp.Max, sp.Min, sp.Piecewise, sp.Heaviside, sp.floor, sp.ceiling, sp.re, sp.im)
    sufficient = (second_order,) if kind in ("argmax", "argmin") and smooth_inside else (first_order, second_order)
    # ... and the stationary point SymPy gives is the only one only when f' is a polynomial (sin x - cos x = 0 also
    # holds at 5 pi/4, beside pi/4)
    complete = smooth_inside and slope is not None and slope.is_polynomial(x)
    if value is not None and not complete:
        sufficient += tuple(inside)
    curvature = clock.attempt(lambda: sp.diff(f, x, 2), share=0.2)
    shape = "concave" if want_max else "convex"
    # f'' of a function with jumps ignores them (d/dx atan(tan(x)) is 1): concavity from f'' needs f continuous
    glob = curvature is not None and not jumps and \
        sign_shown(curvature, "<=" if want_max else ">=", clock, [{}, interval_substitution(task.context)],
                   any_branch=True)
    if glob:
        # Concave and f'(x*) = 0: x* is a global maximiser. For argmax it must be the only one: with
        # f''(x*) < 0 too, the maximisers (an interval, f being concave) cannot extend past x*.
        if kind in ("argmax", "argmin"):
            obligations.append(second_order)
        return Outcome(obligations, note=f"global optimum: f is {shape} in {x}", bound=(x,), sufficient=sufficient,
                       conditional=(value,) if value is not None else ())
    # The second-order condition is not asked for here: it is neither needed (f''(0) = 0 at the
    # maximum of (1 + x^2) exp(-x^2)) nor enough; the global comparison below decides.
    # Without concavity the point may be a local optimum only: that f there beats f everywhere in the
    # declared domain is one more obligation, proved by a sign argument or at best searched (numeric).
    best = _subs(f, [x], [point])
    beaten = Relation(f, "<=" if want_max else ">=", best)
    obligations.append(beaten)
    if value is not None and not complete:
        sufficient += (beaten,)
    note = f"f is not shown {shape} in {x}, so f <= f({sp.sstr(point)}) over the declared domain is checked too"
    if kind in ("argmax", "argmin"):
        # argmax names the maximiser: another point with the same value (x^4 - 2 x^2 at -1 and 1)
        # makes the claim false even though the value is right.
        obligations.append(Implication(Relation(f, "=", best), Relation(x, "=", point)))
        note += f", and that no other {x} attains it"
    return Outcome(obligations, note=note, bound=(x,), sufficient=sufficient,
                   conditional=(value,) if value is not None else ())


def _jumps(f, x, context) -> bool:
    """Whether f may fail to be continuous in x over x's declared type (unknown counts as yes)."""
    info = next((i for i in context.symbols if i.obj == x), None)
    values = value_set(info)
    return inner_singularity(sp.Integral(f, (x, values.inf, values.sup)))


def _declared_range(x, point, context) -> list | None:
    """The relations saying that point lies in x's declared type, or None for an integer type."""
    info = next((i for i in context.symbols if i.obj == x), None)
    if info is None:
        return []
    d = info.domain
    if d in ("integer", "posint"):
        return None
    sides = {"positive": ">", "nonnegative": ">=", "negative": "<", "nonzero": "!="}
    out = [Relation(point, sides[d], sp.Integer(0))] if d in sides else []
    if d == "interval":
        out = ([Relation(point, ">", as_basic(info.low))] if info.low is not None else []) + \
              ([Relation(point, "<", as_basic(info.high))] if info.high is not None else [])
    return out


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
    if task.op in ("<", ">"):
        return Outcome(unknown="a strict Jensen inequality needs a strictly convex (concave) function and a "
                               "variable that is not almost surely constant; that is not checked: write >= or <=")
    big, small = (task.prev, task.cur) if task.op in (">=", ">") else (task.cur, task.prev)
    backwards = None  # the Jensen shape with the inequality the wrong way round
    for side, other, is_big in ((big, small, True), (small, big, False)):
        outer = _outer(side)
        if outer and isinstance(outer[1], Expectation):
            g, expect, concave, name = outer
            if concave != is_big:
                backwards = ("concave" if concave else "convex", name)
                continue
            # E[z1 ~ D1, z2 ~ D2](X) is nested: g goes on the innermost body, under every binding.
            binders, body = _expectation_nest(expect)
            counterpart = _wrap_expectations(binders, g(body))
            return _jensen_outcome(Relation(counterpart, "=", other), concave, name, binders, body)
        if isinstance(side, Expectation):
            binders, body = _expectation_nest(side)
            outer = _outer(body)
            if outer is None:
                continue
            g, inner, concave, name = outer
            if concave == is_big:
                backwards = ("concave" if concave else "convex", name)
                continue
            counterpart = g(_wrap_expectations(binders, inner))
            return _jensen_outcome(Relation(counterpart, "=", other), concave, name, binders, inner)
    if backwards:
        # Jensen says the opposite; the step is checked as written, which refutes it unless X is constant.
        kind, name = backwards
        return Outcome([Relation(task.prev, task.op, task.cur)],
                       note=f"not Jensen's inequality: for the {kind} function {name} it goes the other way")
    return Outcome(unknown="the step does not have the shape g(E[X]) vs E[g(X)] for a log, sqrt, exp, "
                           "square or abs with the inequality in Jensen's direction")


def _jensen_outcome(same: Relation, concave: bool, name: str, binders, inner) -> Outcome:
    """The obligations of a Jensen step: the other side is the counterpart, and for log and sqrt the variable is
    nonnegative on the support (where it is negative with positive probability, E[log X] is not real; a zero on
    a null set, log(z^2) at z = 0, does not matter)."""
    kind = "concave" if concave else "convex"
    note = f"Jensen's inequality for the {kind} function {name}"
    if not concave:
        # exp and the square are convex on the reals only: (E[1 + i z])^2 = 1 > E[(1 + i z)^2] = 0
        real = {z: sp.Dummy(z.name, real=True) for z, _ in binders if isinstance(z, sp.Symbol)}
        # Each obligation is sufficient only: log(E[x]) >= E[log(x)] - 1 holds, though its right side is not
        # Jensen's counterpart.
        if as_basic(inner).xreplace(real).is_extended_real is not True:
            return Outcome([same], unknown=f"Jensen for {name} needs the function inside to be real, which is not "
                                           "shown here", sufficient=(same,))
        signs, extra = _density_signs(binders)
        return Outcome([same] + signs, note=note, extra=extra, sufficient=(same, *signs))
    support = _support(binders)
    if support is None:
        return Outcome([same], unknown=f"Jensen for {name} needs the variable to be nonnegative on the support "
                                       "of its distribution, which is not known here", sufficient=(same,))
    cases, extra = support
    obligations = [same] + [Relation(as_basic(inner).xreplace(c), ">=", sp.Integer(0)) for c in cases] + \
        _density_signs(binders)[0]
    return Outcome(obligations, note=note, extra=extra, sufficient=tuple(obligations))


def _density_signs(binders) -> tuple[list, tuple]:
    """The obligations that each density written as a function is nonnegative, with its variable's SymbolInfo.

    Jensen and the monotonicity of an expectation hold for a measure only: normalize((1 - z) exp(-z^2/2), z)
    changes sign and is no density. The normaliser, an integral of the same function over the real line,
    does not change the sign where the function is nonnegative, so it is left out of the obligation."""
    from proofcheck.kernel.terms import SymbolInfo
    signs, extra = [], []
    for z, dist in binders:
        if isinstance(dist, sp.Lambda):
            f = sp.Mul(*[a for a in sp.Mul.make_args(dist(z))
                         if not (isinstance(a, sp.Pow) and a.exp == -1 and isinstance(a.base, sp.Integral))])
            signs.append(Relation(f, ">=", sp.Integer(0)))
            extra.append(SymbolInfo(z.name, "scalar", z, "real"))
    return signs, tuple(extra)


def _support(binders) -> tuple[list[dict], tuple] | None:
    """Where the bound variables of an expectation live: (the values of the discrete ones, one dict per
    combination; SymbolInfo of the continuous ones over their support), or None for a distribution whose
    support is not known here."""
    from proofcheck.kernel.terms import SymbolInfo
    from proofcheck.probability.heads import Bernoulli, Dirac, Normal, Uniform
    cases, extra = [{}], []
    for z, dist in binders:
        if isinstance(dist, (Normal, sp.Lambda)):
            extra.append(SymbolInfo(z.name, "scalar", z, "real"))
        elif isinstance(dist, Uniform):
            extra.append(SymbolInfo(z.name, "scalar", z, "interval", low=dist.args[0], high=dist.args[1]))
        elif isinstance(dist, (Bernoulli, Dirac)):
            values = (sp.Integer(0), sp.Integer(1)) if isinstance(dist, Bernoulli) else (dist.args[0],)
            cases = [{**c, z: v} for c in cases for v in values]
        else:
            return None
    return cases, tuple(extra)


def _expectation_nest(e):
    """([(z1, D1), (z2, D2), ...], body) of E[z1 ~ D1](E[z2 ~ D2](... body))."""
    from proofcheck.probability.heads import Expectation
    binders = []
    while isinstance(e, Expectation):
        lam, dist = e.args
        binders.append((lam.variables[0], dist))
        e = lam.expr
    return binders, e


def _wrap_expectations(binders, body):
    """E[z1 ~ D1](E[z2 ~ D2](... body)) from _expectation_nest's binders."""
    from proofcheck.probability.heads import Expectation, bind
    for z, dist in reversed(binders):
        body = Expectation(bind(z, body), dist)
    return body


def integrand(task: StepTask, clock: Clock) -> Outcome:
    """integral(f, x) op integral(g, x)  (or E[x ~ D](f) op E[x ~ D](g))
    --------------------------------------------------------------------
    f(x) op g(x) for every x in the range (monotonicity of the integral)."""
    from proofcheck.kernel.terms import SymbolInfo, integrable
    from proofcheck.probability.heads import Bernoulli, Dirac, Expectation, bind, pdf
    a, b = task.prev, task.cur
    if isinstance(a, Expectation) and isinstance(b, Expectation):
        if a.args[1] != b.args[1]:
            return Outcome(unknown="the two expectations are over different distributions")
        x = a.args[0].variables[0]
        fa, fb = a.args[0].expr, b.args[0](x)
        support = _support([(x, a.args[1])])
        if support is None:
            return Outcome(unknown="the support of the distribution is not known here: the integrands cannot be "
                                   "compared on it")
        cases, extra = support  # on the support only: r^2 = r where r ~ Bernoulli(p) takes the values 0 and 1
        dist = a.args[1]
        if task.op in ("<", ">") and not isinstance(dist, (Bernoulli, Dirac)) and \
                not all(integrable(f * pdf(dist, x), x, -sp.oo, sp.oo) for f in (fa, fb)):
            # both may be infinite: E[exp(z^2)] < E[exp(z^2) + 1] under Normal(0, 1) is oo < oo (red team 22)
            return Outcome(unknown="a strict comparison of expectations needs both to be finite, which is not shown")
        signs = _density_signs([(x, a.args[1])])[0] if task.op != "=" else []
        obligations = [Relation(fa.xreplace(c), task.op, fb.xreplace(c)) for c in cases] + signs
        return Outcome(obligations, note="compared the integrands pointwise on the support", extra=extra,
                       sufficient=tuple(obligations))
    if isinstance(a, sp.Integral) and isinstance(b, sp.Integral):
        if len(a.limits) != 1 or len(b.limits) != 1 or len(a.limits[0]) != 3 or len(b.limits[0]) != 3:
            return Outcome(unknown="integrand compares two one-variable definite integrals")
        (x, lo, hi), (y, lo2, hi2) = a.limits[0], b.limits[0]
        if (lo, hi) != (lo2, hi2):
            return Outcome(unknown="the two integrals have different ranges")
        if task.op != "=" and not (as_basic(hi - lo).is_extended_nonnegative):
            return Outcome(unknown="cannot tell that the range runs upwards, so an inequality may flip")
        if task.op in ("<", ">") and (not as_basic(hi - lo).is_extended_positive or (
                sp.oo in (hi, -lo) and not (a.function.is_zero or b.function.is_zero))):
            # an empty range gives 0 < 0, an infinite one may give infinity < infinity (unless one side is 0)
            return Outcome(unknown="a strict comparison of integrals needs a range of positive length, and over an "
                                   "infinite range one of them 0 (both could be infinite)")
        fb = b.function.xreplace({y: x})
        if task.op in ("<", ">") and not all(integrable(f, x, lo, hi) for f in (a.function, fb)):
            # integral(1/x, x, 0, 1) < integral(1/x + 1, x, 0, 1) is oo < oo (red team 22)
            return Outcome(unknown="a strict comparison of integrals needs both to be finite, which is not shown")
        domain = "real" if (lo, hi) == (-sp.oo, sp.oo) else "interval"
        low, high = range_ends(lo, hi)  # integral(f, x, 1, a) at a = -1 runs over [-1, 1]
        info = SymbolInfo(x.name, "scalar", x, domain, low=None if domain == "real" else low,
                          high=None if domain == "real" else high)
        pointwise = Relation(a.function, task.op, fb)
        return Outcome([pointwise], note="compared the integrands pointwise", extra=(info,), sufficient=(pointwise,))
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
        if u in integral.function.free_symbols:
            found.append("captured")  # integral(exp(-(x - u)^2), x) with x = 2 u would capture the outer u
            return integral
        found.append("ok")
        return sp.Integral(integral.function.subs(x, image) * sp.diff(image, u), (u, -sp.oo, sp.oo))

    new = prev.replace(lambda e: isinstance(e, sp.Integral), change)
    if "captured" in found:
        return Outcome(unknown=f"the new variable {u} is already free in the integral; use another name")
    if "ok" not in found:
        why = "over the whole real line" if "range" in found else f"in {name}"
        return Outcome(unknown=f"substitute changes variables in an integral (or expectation) {why}")
    obligations = [Relation(new, task.op, task.cur)]
    if _declared_increasing(image, u, task):
        note = (f"changed variables {name} = {sp.sstr(image)}; {sp.sstr(image)} is declared an increasing bijection "
                "of the real line")
    else:
        problem = _increasing_onto(image, u, clock)
        if problem:
            return Outcome(unknown=f"substitute needs {name} = {sp.sstr(image)} to be an increasing map of the "
                                   f"real line onto itself: {problem}")
        note = (f"changed variables {name} = {sp.sstr(image)}: its derivative is positive and it runs from "
                "-oo to oo")
    from proofcheck.kernel.terms import SymbolInfo
    extra = () if any(i.obj == u for i in task.context.symbols) else (SymbolInfo(u.name, "scalar", u, "real"),)
    return Outcome(obligations, note=note, extra=extra)


def _increasing_onto(image, u, clock: Clock) -> str:
    """Why image(u) is not shown a strictly increasing map of the reals onto the reals ('' if it is)."""
    ur = sp.Dummy(u.name, real=True)
    f = image.xreplace({u: ur})
    d = clock.attempt(lambda: sp.diff(f, ur), share=0.1)
    if d is None or not sign_shown(d, ">", clock):
        return "its derivative is not shown positive"
    for to, want in ((sp.oo, sp.oo), (-sp.oo, -sp.oo)):
        got = clock.attempt(lambda: sp.limit(f, ur, to), share=0.2)
        if got != want:
            return f"its limit at {sp.sstr(to)} is not shown to be {sp.sstr(want)}"
    return ""


def _declared_increasing(image, u, task: StepTask) -> bool:
    """F(u) with F declared `increasing bijection` (an `increasing function` need not be onto: atan is one)."""
    from sympy.core.function import AppliedUndef
    if isinstance(image, AppliedUndef) and image.args == (u,):
        return any(i.obj == image.func and {"increasing", "onto"} <= i.flags for i in task.context.symbols)
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
            t = sp.Dummy(f"τ({info.name})", real=True)  # never one of the user's names (a declared t_p)
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


def _distribution_conditions(task: StepTask) -> list:
    """Relations the parameters of the distributions in the step must satisfy, where the declarations
    do not already decide them (Normal(0, v) with v real needs v > 0). A parameter with a bound name
    in it (inside a sum or expectation) has no point to test it at and is left to the parser's check."""
    from proofcheck.probability.heads import condition_holds, Distribution, parameter_conditions
    declared = {i.obj for i in task.context.symbols}
    out = []
    for side in (task.prev, task.cur):
        parts = (side.lhs, side.rhs) if isinstance(side, Relation) else (side,)
        for part in parts:
            if not isinstance(part, sp.Basic):
                continue
            for dist in sorted(part.atoms(Distribution), key=sp.default_sort_key):
                for lhs, op, rhs, _ in parameter_conditions(dist):
                    names = as_basic(lhs).free_symbols | as_basic(rhs).free_symbols
                    if names - declared or condition_holds(lhs, op, rhs) is True:
                        continue
                    rel = Relation(lhs, op, rhs)
                    if rel not in out:
                        out.append(rel)
    return out


def _checking_parameters(rule):
    """The rule with the step's distribution parameter conditions as extra obligations."""
    def checked(task: StepTask, clock: Clock) -> Outcome:
        outcome = rule(task, clock)
        if outcome.unknown:
            return outcome
        conditions = _distribution_conditions(task)
        if conditions:
            outcome.obligations = list(outcome.obligations) + conditions
            shown = ", ".join(str(c) for c in conditions)
            outcome.note = "; ".join(x for x in (outcome.note, f"distribution parameters: {shown}") if x)
        return outcome
    checked.__doc__ = rule.__doc__
    checked.__name__ = rule.__name__
    return checked


RULES = {name: _checking_parameters(rule) for name, rule in {
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
    "parts": parts,
}.items()}
