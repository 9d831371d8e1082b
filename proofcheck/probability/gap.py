"""A step between integrals of declared densities whose sides differ by a nonzero constant.

The symbolic facts (linearity of the integral over the real line, logs of density values expanded, a
declared density integrating to 1) turn GAN Theorem 1's "log 2 written for log 4" twin into
`lhs - rhs = -log 2` at once, while evaluating the written form needs quadratures of random mixtures
of Gaussians (tens of seconds a point). The facts are identities wherever the split integrals
converge, as they do for Gaussian densities, which are among the declared densities: so a nonzero
constant difference makes the step false at such densities, and the obligation `c = 0` is
equivalent to the step."""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef

from proofcheck.kernel.equivalence import Clock, evaluate_heads
from proofcheck.kernel.terms import Context


def constant_gap(prev, cur, context: Context, clock: Clock, share: float = 0.2):
    """The nonzero number lhs - rhs after the density facts, or None (no declared density in an
    integral or expectation, a difference that depends on something, or out of time)."""
    from proofcheck.kernel import plugins
    densities = plugins.densities(context)
    if not densities or not all(isinstance(x, sp.Basic) and not isinstance(x, (sp.MatrixBase, sp.MatrixExpr))
                                for x in (prev, cur)):
        return None
    if not any(f.func in densities for x in (prev, cur) for f in x.atoms(AppliedUndef)) and \
            not any(isinstance(a, sp.Lambda) for x in (prev, cur) for a in x.atoms(sp.Lambda)):
        return None

    def gap():
        sides = [plugins.facts(evaluate_heads(plugins.lower(x, context), plugins.densities(context)), context) for x in (prev, cur)]
        d = sp.expand(sides[0] - sides[1])
        if d.free_symbols or d.has(sp.Integral, AppliedUndef, sp.Function) and not d.is_number:
            return None
        d = sp.nsimplify(d) if d.is_Float else sp.simplify(d)
        return d if d.is_number and d.is_zero is False and d.is_finite else None

    found = clock.attempt(gap, share=share)
    return found if isinstance(found, sp.Expr) else None
