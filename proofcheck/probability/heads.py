"""Unevaluated heads for distributions, expectations and divergences."""

from __future__ import annotations

import sympy as sp

from proofcheck.kernel.terms import as_basic


class Distribution(sp.Function):
    """A named distribution; never evaluates on its own."""


class Normal(Distribution):
    """Normal(mu, variance)."""

    nargs = 2


class MvNormal(Distribution):
    """Normal(mu_vec, Sigma) for a column vector mean and a covariance matrix."""

    nargs = 2


class Bernoulli(Distribution):
    """Bernoulli(p) on {0, 1}."""

    nargs = 1


class Uniform(Distribution):
    """Uniform(a, b) on the interval (a, b)."""

    nargs = 2


class Dirac(Distribution):
    """A point mass at x0."""

    nargs = 1


class Expectation(sp.Function):
    """E[z ~ D](body): args (Lambda(z, body), D); the Lambda binds z."""

    nargs = 2


class KL(sp.Function):
    """KL(P || Q) between distributions or densities (a density is a Lambda(x, f(x)))."""

    nargs = 2


class JSD(sp.Function):
    """JSD(P || Q) = KL(P || M)/2 + KL(Q || M)/2 with M = (P + Q)/2."""

    nargs = 2


class Binder(sp.Lambda):
    """A Lambda that stays a Lambda when its body is its variable (SymPy's Lambda(z, z) becomes an
    IdentityFunction without variables, also when unpickled in a worker)."""

    def __new__(cls, signature, expr):
        sig = as_basic(tuple(signature) if isinstance(signature, (tuple, list, sp.Tuple)) else (signature,))
        cls._check_signature(sig)
        return sp.Expr.__new__(cls, sig, as_basic(expr))


def bind(z, body) -> sp.Lambda:
    """Lambda(z, body) for E[z ~ D](body)."""
    return Binder(z, body)


DISTRIBUTIONS = {"Normal": Normal, "Bernoulli": Bernoulli, "Uniform": Uniform, "Dirac": Dirac}


def is_distribution(x) -> bool:
    """A distribution head or a density (a one-argument Lambda)."""
    return isinstance(x, Distribution) or (isinstance(x, sp.Lambda) and len(x.variables) == 1)


def pdf(dist, z):
    """The density (or mass function) of a distribution at z."""
    if isinstance(dist, sp.Lambda):
        return dist(z)
    if isinstance(dist, Normal):
        mu, var = dist.args
        return sp.exp(-(z - mu) ** 2 / (2 * var)) / sp.sqrt(2 * sp.pi * var)
    if isinstance(dist, MvNormal):
        from proofcheck.linalg import scalar
        mu, cov = dist.args
        k = mu.shape[0]
        quad = scalar((z - mu).T * cov.inverse() * (z - mu))
        return sp.exp(-quad / 2) / sp.sqrt((2 * sp.pi) ** k * sp.Determinant(cov))
    if isinstance(dist, Bernoulli):
        p = dist.args[0]
        if z in (0, 1):
            return p if z == 1 else 1 - p
        # a mass function is 0 off {0, 1} (p^2 / (1 - p) at z = 2 is not a probability)
        return sp.Piecewise((p ** z * (1 - p) ** (1 - z), sp.Eq(z, 0) | sp.Eq(z, 1)), (0, True))
    if isinstance(dist, Uniform):
        a, b = dist.args
        return sp.Piecewise((1 / (b - a), (z > a) & (z < b)), (0, True))
    raise ValueError(f"{type(dist).__name__} has no density")


def support_is_real_line(dist) -> bool:
    """Whether a draw can be any real number (so a bound variable is just `real`)."""
    return isinstance(dist, (Normal, sp.Lambda))


def parameter_conditions(dist) -> list:
    """(lhs, op, rhs, what) that a distribution's parameters must satisfy for it to exist."""
    if isinstance(dist, Normal):
        return [(dist.args[1], ">", sp.Integer(0), "the variance of a Normal is positive")]
    if isinstance(dist, Bernoulli):
        p = dist.args[0]
        return [(p, ">=", sp.Integer(0), "the parameter of a Bernoulli is at least 0"),
                (p, "<=", sp.Integer(1), "the parameter of a Bernoulli is at most 1")]
    if isinstance(dist, Uniform):
        a, b = dist.args
        return [(a, "<", b, "Uniform(a, b) needs a < b")]
    return []


_SIGN = {">": "is_positive", ">=": "is_nonnegative", "<": "is_negative", "<=": "is_nonpositive"}


def condition_holds(lhs, op: str, rhs):
    """True / False when the declarations decide `lhs op rhs`, else None."""
    d = sp.expand(as_basic(lhs) - as_basic(rhs))
    got = getattr(d, _SIGN[op])
    if got is not None:
        return got
    flipped = {">": "is_nonpositive", ">=": "is_negative", "<": "is_nonnegative", "<=": "is_positive"}[op]
    return False if getattr(d, flipped) is True else None


def parameter_problem(dist) -> str:
    """Why a distribution's parameters are invalid whatever the declared names are, or ''."""
    if isinstance(dist, MvNormal):
        cov = dist.args[1]
        if isinstance(cov, sp.MatrixBase) and all(x.is_number for x in cov):
            if not cov.is_symmetric() or not cov.is_positive_definite:
                return "the covariance of a Normal must be symmetric positive definite"
        return ""
    for lhs, op, rhs, what in parameter_conditions(dist):
        if condition_holds(lhs, op, rhs) is False:
            return f"{type(dist).__name__}{tuple(dist.args)}: {what}".replace(",)", ")")
    return ""
