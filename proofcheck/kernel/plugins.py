"""The one interface through which plug-ins (probability, ...) reach the kernel.

A plug-in supplies `lower(expr, densities) -> expr`, turning its heads into ordinary SymPy
objects (closed forms, integrals). Lowering never decides a verdict: the kernel checks the
lowered expressions like any others, so a wrong lowering cannot pass a wrong step silently
unless the closed form itself is wrong, which the plug-in's tests check against definitions."""

from __future__ import annotations

import sympy as sp

from proofcheck import linalg
from proofcheck.kernel.terms import Context
from proofcheck.probability import lower as probability

LOWERINGS = (probability.lower,)
# Symbolic-only facts (e.g. a declared density integrates to 1); never used for numeric checks.
SYMBOLIC_FACTS = (lambda e, d: linalg.lower_symbolic(e, d, probability.mvnormal_expectation),
                  probability.split_integrals, probability.density_integrals,
                  lambda e, d: linalg.canonical_scalars(e))


def instantiate(expr, matrices: dict, dims: dict):
    """Numeric plug-in heads (matrix calculus, random matrices) at explicit sizes."""
    return linalg.instantiate_heads(expr, matrices, dims, probability.entry_moment,
                                    probability.mvnormal_expectation)


def densities(context: Context) -> frozenset:
    """The declared density functions of a context."""
    return frozenset(i.obj for i in context.symbols if i.kind == "density")


def lower(expr, context: Context):
    """Every plug-in's lowering, in order."""
    d = densities(context)
    for fn in LOWERINGS:
        expr = fn(expr, d)
    return expr


def canonical_bound(expr):
    """Rename the variable of each one-variable integral, sum and limit by its nesting depth, so that
    integral(g(u), u) written twice with differently named (or bound) u compares equal."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Integral, sp.Sum, sp.Limit):
        return expr

    def walk(e, depth):
        if isinstance(e, (sp.Integral, sp.Sum)) and len(e.limits) == 1:
            var = e.limits[0][0]
            new = sp.Dummy(f"b{depth}", dummy_index=900_000 + depth, **_assumptions(var))
            body = walk(e.function.xreplace({var: new}), depth + 1)
            rest = tuple(walk(b, depth) for b in e.limits[0][1:])
            return e.func(body, (new,) + rest)
        if isinstance(e, sp.Limit):
            body, var, to, direction = e.args
            new = sp.Dummy(f"b{depth}", dummy_index=900_000 + depth, **_assumptions(var))
            return sp.Limit(walk(body.xreplace({var: new}), depth + 1), new, walk(to, depth), direction)
        if not e.args or isinstance(e, (sp.MatrixBase,)):
            return e
        return e.func(*[walk(a, depth) for a in e.args]) if isinstance(e, sp.Basic) else e

    return walk(expr, 0)


def _assumptions(var) -> dict:
    return {"integer": True} if var.is_integer else {"real": True}


def facts(expr, context: Context):
    """Symbolic rewrites that hold for the declared objects."""
    expr = symmetric_matrices(canonical_bound(expr), context)
    d = densities(context)
    start = expr
    for _ in range(3):  # nested expectations: an inner density's integral 1 leaves a sum for the outer one to split
        before = expr
        for fn in SYMBOLIC_FACTS:
            expr = fn(expr, d)
        if expr == before or not isinstance(expr, sp.Basic) or not expr.has(sp.Integral):
            break
    # an inner integral split out of an outer one keeps the name of its old depth: named again by its new one
    return canonical_bound(expr) if expr != start else expr


def symmetric_matrices(expr, context: Context):
    """A matrix of explicit size declared symmetric or spd, as the explicit matrix of its upper
    triangle (S[2, 1] is S[1, 2]): SymPy knows nothing of a MatrixSymbol's symmetry (the sampler
    draws such matrices symmetric)."""
    if not isinstance(expr, sp.Basic):
        return expr
    upper = {i.obj: sp.ImmutableMatrix(*i.obj.shape, lambda r, c, m=i.obj: m[min(r, c), max(r, c)])
             for i in context.symbols
             if i.kind == "matrix" and i.flags & {"symmetric", "spd"} and all(d.is_Integer for d in i.obj.shape)
             and expr.has(i.obj)}
    return expr.xreplace(upper) if upper else expr
