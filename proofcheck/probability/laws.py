"""Equality of distributions as a step: `Law[...](expr)`, `normalize(f, z)` and the obligations
that decide `P = Q` between two distributions.

Two Normals are equal exactly when their means and variances are (likewise for the other families,
whose parameters identify them); a density and a distribution are equal when their densities agree
at every point. A composition of Gaussian transitions, `Law[x1 ~ Normal(a x0, v1), x2 ~ Normal(b x1,
v2)](x2)`, is Normal when the expression is affine in the Gaussian noises: mean and variance come out
exactly. Anything else is `unknown` with the reason, never guessed."""

from __future__ import annotations

import sympy as sp

from proofcheck.kernel.terms import Relation
from proofcheck.probability.heads import (Bernoulli, Binder, Dirac, Distribution, MvNormal, Normal, Uniform,
                                          pdf)

# the fresh point at which two densities are compared: a Dummy, never a user's name (a declared x_law)
LAW_POINT = sp.Dummy("point x", real=True)  # named so in a counterexample, apart from any user name


class Law(Distribution):
    """Law[z1 ~ D1, ..., zk ~ Dk](body): the distribution of body; args (Lambda((z1..zk), body), Tuple(D1..Dk)).
    A later Di may depend on earlier zj (a chain of transitions)."""

    nargs = 2


def law(variables, dists, body) -> Law:
    """The distribution of body when each variable is drawn from its distribution, in order."""
    return Law(Binder(tuple(variables), body), sp.Tuple(*dists))


def normalized(f, z) -> sp.Lambda:
    """The density proportional to f in z: f / integral(f, z) over the real line. Only where that is a density: f shown
    nonnegative, and a polynomial times a Gaussian (a finite, positive integral); otherwise an unsupported density,
    so no step with it is established (normalize(1, z) divides by an infinite integral, normalize(z exp(-z^2), z) by 0:
    both made 1 = 0 provable, red team 22)."""
    from proofcheck.kernel.terms import gaussian_times_polynomial, unsupported
    x = sp.Dummy("x", real=True)
    if not (gaussian_times_polynomial(f, z) and f.is_nonnegative is True):
        return sp.Lambda(x, unsupported("normalize of a function not shown nonnegative with a finite integral (a "
                                        "polynomial times a Gaussian)", f.xreplace({z: x})))
    total = sp.Integral(f, (z, -sp.oo, sp.oo))
    return sp.Lambda(x, f.xreplace({z: x}) / total)


def gaussian_law(head: Law):
    """Normal(mean, variance) (or Dirac(mean)) for a Law that is affine in independent Gaussian noises,
    else a string saying why not."""
    lam, dists = head.args
    body = lam.expr
    noise = []
    values: dict = {}
    for i, (z, d) in enumerate(zip(lam.variables, dists.args)):
        d = d.xreplace(values)
        if isinstance(d, Dirac):
            values[z] = d.args[0]
        elif isinstance(d, Normal):
            eps = sp.Dummy(f"eps{i}", real=True)
            noise.append(eps)
            values[z] = d.args[0] + sp.sqrt(d.args[1]) * eps
        else:
            return (f"the distribution of an expression is worked out for Normal and Dirac draws only, "
                    f"not {type(d).__name__}")
    if not isinstance(body, sp.Expr) or isinstance(body, sp.MatrixBase):
        return "the distribution of a matrix expression is not supported"
    x = sp.expand(body.xreplace(values))
    if not noise:
        return Dirac(x)
    try:
        poly = sp.Poly(x, *noise)
    except sp.PolynomialError:
        return "the expression is not a polynomial in the Gaussian noises"
    if poly.total_degree() > 1:
        return "the expression is not affine in the Gaussian draws, so its distribution need not be Normal"
    mean = poly.coeff_monomial(1)
    var = sum((poly.coeff_monomial(e) ** 2 for e in noise), sp.Integer(0))
    if any(c.has(*noise) for c in (mean, var)):
        return "the variance of a draw depends on another draw, so the distribution need not be Normal"
    return Normal(mean, var)


def _resolved(d):
    if isinstance(d, Law):
        return gaussian_law(d)
    return d


def is_law(x) -> bool:
    """Whether x is a distribution a step may compare (a head, Law, or a density)."""
    return isinstance(x, Distribution) or (isinstance(x, sp.Lambda) and not isinstance(x, Binder)
                                           and len(x.variables) == 1)


def equality_obligations(p, q):
    """The relations that together say P = Q as distributions, or a string saying why it cannot be decided."""
    p, q = _resolved(p), _resolved(q)
    for d in (p, q):
        if isinstance(d, str):
            return d
    if type(p) is type(q) and isinstance(p, (Normal, Uniform, Bernoulli, Dirac, MvNormal)):
        # These families are identified by their parameters (mean and variance, ends, p, point).
        return [Relation(a, "=", b) for a, b in zip(p.args, q.args)]
    continuous = (Normal, MvNormal, Uniform, sp.Lambda)
    if isinstance(p, continuous) and isinstance(q, continuous) and not isinstance(p, MvNormal) \
            and not isinstance(q, MvNormal):
        # A density is determined by its values: compare them at a free point (a fresh real symbol).
        x = LAW_POINT
        return [Relation(pdf(p, x), "=", pdf(q, x))]
    return (f"cannot compare a {type(p).__name__} with a {type(q).__name__} as distributions")


def step_outcome(p, op: str, q):
    """The kernel's obligations for a step `P = Q` between two distributions."""
    from proofcheck.kernel.terms import Outcome, SymbolInfo
    if op != "=":
        return Outcome(unknown="distributions are compared with `=` only")
    got = equality_obligations(p, q)
    if isinstance(got, str):
        return Outcome(unknown=got)
    extra = tuple(SymbolInfo(s.name, "scalar", s, "real") for s in
                  sorted({s for r in got for s in (r.lhs.free_symbols | r.rhs.free_symbols)
                          if s == LAW_POINT}, key=str))
    note = "equal distributions: " + ("equal densities at every point" if extra else "equal parameters")
    return Outcome(got, note=note, extra=extra)
