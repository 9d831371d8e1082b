"""Lowering probability heads to ordinary SymPy: closed forms, Gaussian moments, integrals."""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef

from proofcheck.kernel.terms import integrable
from proofcheck.probability.heads import (JSD, KL, Bernoulli, Dirac, Distribution, Expectation, MvNormal,
                                          Normal, Uniform, pdf)

_HEADS = (Expectation, KL, JSD)
# the variables of the expectations KL and JSD are written as: Dummies, never a user's name (a declared x_kl), with
# names no declared name ties with where names are sorted
_KL_POINT = sp.Dummy("ξ kl", real=True)
_JS_POINT = sp.Dummy("ξ js", real=True)


def lower(expr, densities: frozenset = frozenset()):
    """Replace expectations and divergences by closed forms or integrals, innermost first."""
    if not isinstance(expr, sp.Basic) or not expr.has(*_HEADS):
        return expr
    if isinstance(expr, sp.MatrixBase):
        return sp.ImmutableMatrix(expr.rows, expr.cols, [lower(x, densities) for x in expr])
    return expr.replace(lambda x: isinstance(x, _HEADS), _lower_head)


def _lower_head(head):
    if isinstance(head, Expectation):
        lam, dist = head.args
        return expectation(lam, dist)
    if isinstance(head, KL):
        return kl(*head.args)
    if isinstance(head, JSD):
        return jsd(*head.args)
    return head


def normal_moment(k: int, mu, var):
    """E[z^k] for z ~ Normal(mu, var)."""
    return sum(sp.binomial(k, j) * mu ** (k - j) * var ** (j // 2) * sp.factorial2(j - 1)
               for j in range(0, k + 1, 2))


def entry_moment(dist, k: int):
    """E[x^k] for one entry x ~ dist (random vectors and matrices have i.i.d. entries)."""
    if isinstance(dist, Bernoulli):
        return dist.args[0]  # x^k = x on {0, 1}
    if isinstance(dist, Normal):
        return normal_moment(k, *dist.args)
    if isinstance(dist, Uniform):
        a, b = dist.args
        return (b ** (k + 1) - a ** (k + 1)) / ((k + 1) * (b - a))
    if isinstance(dist, Dirac):
        return dist.args[0] ** k
    raise NotImplementedError(f"moments of {type(dist).__name__}")


def isserlis(indices, mean, cov, memo: dict | None = None):
    """E[x_i1 x_i2 ... x_in] for x ~ MvNormal(mean, cov), exactly (0-based indices, repeats allowed)."""
    # Isserlis' theorem with a mean: E[x_a rest] = m_a E[rest] + sum_{b in rest} S_ab E[rest without b].
    # Memoised on the sorted multiset, so a moment of order n costs one pass per sub-multiset; no square
    # roots or integrals, so exact (rational or symbolic) entries give an exact result.
    key = tuple(sorted(indices))
    memo = {} if memo is None else memo
    if not key:
        return sp.Integer(1)
    if key not in memo:
        a, rest = key[0], key[1:]
        total = mean[a] * isserlis(rest, mean, cov, memo) if mean[a] != 0 else sp.Integer(0)
        for b in sorted(set(rest)):
            if cov[a, b] != 0:
                i = rest.index(b)
                total += rest.count(b) * cov[a, b] * isserlis(rest[:i] + rest[i + 1:], mean, cov, memo)
        memo[key] = total
    return memo[key]


def mvnormal_expectation(body, entries, mean, cov):
    """E over x ~ MvNormal(mean, cov) of a polynomial in x's entry symbols (explicit mean and cov)."""
    if isinstance(body, sp.MatrixBase):
        return body.applyfunc(lambda b: mvnormal_expectation(b, entries, mean, cov))
    entries = list(entries)
    present = [r for r in entries if body.has(r)]
    if not present:
        return body
    try:
        poly = sp.Poly(sp.expand(body), *present)
    except sp.PolynomialError:
        # Only polynomial moments are exact here; anything else must leave the step unknown.
        raise NotImplementedError("cannot evaluate the expectation of a non-polynomial under a "
                                  "multivariate Normal") from None
    position = [entries.index(r) for r in present]
    memo: dict = {}
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        indices = [i for i, k in zip(position, powers) for _ in range(k)]
        total += coeff * isserlis(indices, mean, cov, memo)
    return total


def expectation(lam: sp.Lambda, dist):
    """E[z ~ dist](lam(z))."""
    z = lam.variables[0]
    body = lam.expr
    if type(dist).__name__ == "Law":
        from proofcheck.probability.laws import gaussian_law
        resolved = gaussian_law(dist)
        if isinstance(resolved, str):
            return Expectation(lam, dist)  # unknown: stays, and the step is unknown
        dist = resolved
    if isinstance(dist, Dirac):
        return body.xreplace({z: dist.args[0]})
    if isinstance(dist, Bernoulli):
        p = dist.args[0]
        return p * body.xreplace({z: sp.Integer(1)}) + (1 - p) * body.xreplace({z: sp.Integer(0)})
    if isinstance(dist, Normal):
        mu, var = dist.args
        terms = sp.Add.make_args(sp.expand(sp.expand_log(body, force=False)))
        poly, rest = sp.Integer(0), []
        for t in terms:
            if t.is_polynomial(z):
                poly += t
            else:
                rest.append(t)
        total = sp.Integer(0)
        if poly != 0:
            p = sp.Poly(poly, z)
            total += sum(c * normal_moment(k, mu, var) for (k,), c in p.terms())
        for t in rest:
            total += sp.Integral(pdf(dist, z) * t, (z, -sp.oo, sp.oo))
        return total
    if isinstance(dist, Uniform):
        a, b = dist.args
        return sp.Integral(body / (b - a), (z, a, b))
    if isinstance(dist, sp.Lambda):
        return sp.Integral(dist(z) * body, (z, -sp.oo, sp.oo))
    return Expectation(lam, dist)  # unknown: stays, and the step is unknown


def kl(p, q):
    """KL(p || q): closed form where one is known, otherwise the definition."""
    if isinstance(p, Normal) and isinstance(q, Normal):
        (m1, v1), (m2, v2) = p.args, q.args
        return (sp.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1) / 2
    if isinstance(p, MvNormal) and isinstance(q, MvNormal):
        from proofcheck.linalg import scalar
        (m1, s1), (m2, s2) = p.args, q.args
        k = m1.shape[0]
        inv2 = s2.inverse()
        return (sp.Trace(inv2 * s1) + scalar((m2 - m1).T * inv2 * (m2 - m1)) - k
                + sp.log(sp.Determinant(s2)) - sp.log(sp.Determinant(s1))) / 2
    if isinstance(p, Bernoulli) and isinstance(q, Bernoulli):
        a, b = p.args[0], q.args[0]
        return a * sp.log(a / b) + (1 - a) * sp.log((1 - a) / (1 - b))
    if _discrete(p) != _discrete(q):
        # a mass function against a density is no likelihood ratio (the KL is infinite): left as it is, unknown
        return KL(p, q)
    x = _KL_POINT
    return expectation(sp.Lambda(x, sp.log(pdf(p, x)) - sp.log(pdf(q, x))), p)


def _discrete(d) -> bool:
    return isinstance(d, (Bernoulli, Dirac))


def jsd(p, q):
    """JSD(p || q) by its definition through the mixture M = (p + q)/2."""
    if _discrete(p) != _discrete(q):
        return JSD(p, q)  # mutually singular: the mixture has no density to divide by
    x = _JS_POINT
    m = (pdf(p, x) + pdf(q, x)) / 2
    return (expectation(sp.Lambda(x, sp.log(pdf(p, x) / m)), p)
            + expectation(sp.Lambda(x, sp.log(pdf(q, x) / m)), q)) / 2


def density_integrals(expr, densities: frozenset):
    """Symbolic facts about declared densities: each integrates to 1 over the real line (linearly)."""
    if not densities or not isinstance(expr, sp.Basic) or not expr.has(sp.Integral):
        return expr

    def rewrite(integral):
        if len(integral.limits) != 1 or len(integral.limits[0]) != 3:
            return integral
        x, lo, hi = integral.limits[0]
        if (lo, hi) != (-sp.oo, sp.oo):
            return integral
        pieces = sp.Add.make_args(sp.expand(integral.function))
        out = []
        for t in pieces:
            coeff, rest = t.as_independent(x, as_Add=False)
            if isinstance(rest, AppliedUndef) and rest.func in densities and rest.args == (x,):
                out.append(coeff)
            else:
                return integral  # a piece we cannot integrate: leave the whole integral alone
        return sp.Add(*out)

    return expr.replace(lambda e: isinstance(e, sp.Integral), rewrite)


def _expand_log(body, densities: frozenset):
    """expand_log with each declared density's value taken as positive (a declared density is
    positive everywhere), so log(2 p(x) / (p(x) + q(x))) splits into log 2 + log p(x) - log(p(x) + q(x))."""
    values = sorted({a for a in body.atoms(AppliedUndef) if a.func in densities}, key=sp.default_sort_key) \
        if densities else []
    if not values:
        return sp.expand_log(body, force=False)
    positive = {a: sp.Dummy(f"density{i}", positive=True) for i, a in enumerate(values)}
    back = {d: a for a, d in positive.items()}
    # The common numeric factor of a sum comes out first: log(p/2 + q/2) is log(p + q) - log 2.
    body = body.xreplace(positive).replace(lambda e: isinstance(e, sp.log),
                                           lambda e: sp.log(sp.factor_terms(e.args[0])))
    return sp.expand_log(body, force=False).xreplace(back)


def split_integrals(expr, densities: frozenset = frozenset()):
    """Linearity over the real line: integral(a + b) = integral(a) + integral(b), logs expanded.

    Used for symbolic proofs only; the numeric check evaluates the integrals as written."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Integral):
        return expr

    def split(integral):
        if len(integral.limits) != 1 or len(integral.limits[0]) != 3:
            return integral
        x, lo, hi = integral.limits[0]
        body = sp.expand(_expand_log(integral.function, densities))
        pieces = sp.Add.make_args(body)
        if len(pieces) == 1:
            coeff, rest = body.as_independent(x, as_Add=False)
            return coeff * sp.Integral(rest, integral.limits[0]) if coeff != 1 else integral
        if not all(integrable(t, x, lo, hi) for t in pieces):
            # the integral of 1/x - 1/(x + 1) over x > 1 is log 2; split, it is oo - oo
            return integral
        return sp.Add(*[split(sp.Integral(t, integral.limits[0])) for t in pieces])

    return expr.replace(lambda e: isinstance(e, sp.Integral), split)


__all__ = ["entry_moment", "isserlis", "mvnormal_expectation", "lower", "expectation", "kl", "jsd", "density_integrals", "split_integrals", "normal_moment", "Distribution"]
