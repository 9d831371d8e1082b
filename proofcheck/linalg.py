"""Linear algebra with symbolic dimensions: heads the parser builds, and how the kernel reads them.

Symbolically, SymPy's matrix expressions (MatMul, Transpose, Inverse, matrix derivatives) are
used where they are reliable. Numerically, every check instantiates the dimensions at small sizes
(including non-square ones) and the matrices with random exact entries (instantiate_heads)."""

from __future__ import annotations

import sympy as sp

from proofcheck.kernel.terms import as_basic
from sympy.core.function import AppliedUndef, Application


class ScalarOf(sp.Function):
    """The single entry of a 1×1 matrix expression (w^T X^T y), kept whole so it can be
    transposed, differentiated and compared; indexing it would turn it into a Sum over a
    symbolic range that SymPy differentiates wrongly."""

    nargs = 1
    is_real = True

    @classmethod
    def eval(cls, m):
        if isinstance(m, sp.MatrixBase):
            return m[0, 0]
        if isinstance(m, sp.MatrixExpr) and not m.has(sp.MatrixSymbol):
            # Explicit factors with scalar coefficients: safe to multiply out. doit() multiplies
            # explicit matrices; as_explicit() alone builds and evaluates a Sum per entry (slow).
            d = m.doit()
            return (d if isinstance(d, sp.MatrixBase) else d.as_explicit())[0, 0]
        return None

    def _sympystr(self, printer, *args, **kwargs):
        return "(" + printer._print(self.args[0]) + ")"

    def _pretty(self, printer, *args, **kwargs):
        return printer._print(self.args[0]).parens()

    def _latex(self, printer, exp=None, **kwargs):
        inner = printer._print(self.args[0])
        return rf"\left({inner}\right)^{{{exp}}}" if exp else rf"\left({inner}\right)"


class DiagPart(sp.MatrixExpr):
    """diag(A): the diagonal part of a square matrix, as a matrix; diag(v) for a column vector v:
    the square matrix with v on its diagonal."""

    def __new__(cls, arg):
        return sp.Basic.__new__(cls, as_basic(arg))

    @property
    def arg(self):
        """The matrix whose diagonal is kept."""
        return self.args[0]

    @property
    def of_vector(self) -> bool:
        """Whether the argument is a column vector (not a square matrix)."""
        return self.arg.shape[1] == 1 and self.arg.shape[0] != 1

    @property
    def shape(self):
        """Square: the argument's rows."""
        return (self.arg.shape[0], self.arg.shape[0])

    def _entry(self, i, j, **kwargs):
        return sp.KroneckerDelta(i, j) * (self.arg[i, 0] if self.of_vector else self.arg[i, i])

    def _eval_transpose(self):
        return self

    def doit(self, **hints):
        """Explicit when the argument is explicit."""
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixExpr) and not isinstance(arg, sp.MatrixBase):
            try:
                arg = arg.as_explicit() if all(as_basic(s).is_Integer for s in arg.shape) else arg
            except (ValueError, TypeError, AttributeError):
                pass
        if isinstance(arg, sp.MatrixBase):
            entries = list(arg) if arg.cols == 1 else [arg[i, i] for i in range(arg.rows)]
            return sp.ImmutableMatrix(sp.diag(*entries))
        return DiagPart(arg)


class MatGrad(sp.Function):
    """grad(f, w) for a vector symbol w: args (f, w)."""

    nargs = 2


class MatHessian(sp.Function):
    """hessian(f, w) for a vector symbol w: args (f, w)."""

    nargs = 2


class MatExpectation(sp.Function):
    """E[R ~ D](f) for a matrix or vector symbol R: args (f, R, D). A scalar D gives R i.i.d. entries;
    MvNormal(mu, S) (matrix arguments) makes a vector R jointly Normal."""

    nargs = 3


def scalar(m):
    """A 1×1 matrix expression as a scalar."""
    if isinstance(m, sp.MatrixBase):
        return m[0, 0]
    return ScalarOf(m)


# ---------------------------------------------------------------------------------------------
# Symbolic: canonical forms so SymPy sees w^T X^T y = y^T X w


def canonical_scalars(expr):
    """Expand each ScalarOf linearly and orient each 1×1 product the same way as its transpose."""
    if not isinstance(expr, sp.Basic) or not expr.has(ScalarOf):
        return expr
    return expr.replace(lambda e: isinstance(e, ScalarOf), lambda e: _canonical(e.args[0]))


def _canonical(m):
    m = sp.expand(m.doit()) if not isinstance(m, sp.MatrixBase) else m
    if isinstance(m, sp.MatrixBase):
        return m[0, 0]
    if isinstance(m, sp.MatAdd):
        return sp.Add(*[_canonical(t) for t in m.args])
    if isinstance(m, sp.MatMul):
        coeff, mats = m.as_coeff_matrices()
        if coeff != 1:
            return coeff * _canonical(sp.MatMul(*mats))
    if isinstance(m, sp.ZeroMatrix):
        return sp.Integer(0)
    t = m.T.doit()
    first = min((m, t), key=sp.default_sort_key)
    return ScalarOf(first)


def grad(f, w):
    """The gradient of a scalar f with respect to a vector symbol w, as a d×1 matrix expression."""
    d = w.shape[0]
    if not f.has(w):
        return sp.ZeroMatrix(d, 1)
    if isinstance(f, ScalarOf):
        g = f.args[0].diff(w)
        if g.shape != (d, 1):
            raise NotImplementedError("matrix derivative of unexpected shape")
        return g
    if isinstance(f, sp.Add):
        return sp.MatAdd(*[grad(t, w) for t in f.args]).doit()
    if isinstance(f, sp.Mul):
        terms = []
        for i, factor in enumerate(f.args):
            if factor.has(w):
                rest = sp.Mul(*(f.args[:i] + f.args[i + 1:]))
                terms.append(rest * grad(factor, w))
        return sp.MatAdd(*terms).doit() if len(terms) > 1 else terms[0]
    if isinstance(f, sp.Pow) and not f.exp.has(w):
        return f.exp * f.base ** (f.exp - 1) * grad(f.base, w)
    if isinstance(f, sp.Function) and len(f.args) == 1 and not isinstance(f, AppliedUndef):
        u = sp.Dummy("u")
        outer = f.func(u).diff(u).subs(u, f.args[0])
        return outer * grad(f.args[0], w)
    raise NotImplementedError(f"gradient of {type(f).__name__}")


def jacobian(f, x):
    """The Jacobian (m×n) of a vector expression f (m×1) with respect to a vector symbol x (n×1), for f
    affine in x or built from x by elementwise products and powers; NotImplementedError says why not."""
    n = x.shape[0]
    if not f.has(x):
        return sp.ZeroMatrix(f.shape[0], n)
    if f == x:
        return sp.Identity(n)
    if isinstance(f, sp.MatAdd):
        return sp.MatAdd(*[jacobian(t, x) for t in f.args])
    if isinstance(f, sp.MatMul):
        coeff, mats = f.as_coeff_matrices()
        if coeff.has(x) or any(m.has(x) for m in mats[:-1]):
            raise NotImplementedError("here the vector is in a factor other than the last")
        return sp.MatMul(coeff, *mats[:-1], jacobian(mats[-1], x)) if mats[:-1] or coeff != 1 \
            else jacobian(mats[-1], x)
    if isinstance(f, sp.HadamardProduct):
        terms = []
        for i, a in enumerate(f.args):
            if a.has(x):
                others = [b for j, b in enumerate(f.args) if j != i]
                rest = others[0] if len(others) == 1 else sp.HadamardProduct(*others)
                terms.append(sp.MatMul(DiagPart(rest), jacobian(a, x)))
        return sp.MatAdd(*terms) if len(terms) > 1 else terms[0]
    if isinstance(f, sp.HadamardPower) and not f.exp.has(x):
        base, k = f.args
        inner = DiagPart(sp.HadamardPower(base, k - 1)) if k != 2 else DiagPart(base)
        return sp.MatMul(k, inner, jacobian(base, x))
    raise NotImplementedError(f"here it is in a {type(f).__name__}")


def lower_symbolic(expr, densities=frozenset(), joint=None):
    """Matrix calculus heads as SymPy matrix expressions (symbolic proofs only); with joint(body,
    entries, mean, cov), also expectations over a multivariate Normal vector of explicit size."""
    if not isinstance(expr, sp.Basic) or not expr.has(MatGrad, MatHessian, MatExpectation):
        return expr
    if joint is not None and expr.has(MatExpectation):
        expr = expr.replace(lambda e: isinstance(e, MatExpectation), lambda e: _explicit_mv_expectation(e, joint))
    if not expr.has(MatGrad, MatHessian):
        return expr

    def do(e):
        f, w = e.args
        try:
            g = grad(canonical_scalars(f), w)
            if isinstance(e, MatHessian):
                return g.diff(w) if not isinstance(g, sp.ZeroMatrix) else sp.ZeroMatrix(w.shape[0], w.shape[0])
            return g
        except (NotImplementedError, TypeError, ValueError, AttributeError):
            return e
    return expr.replace(lambda e: isinstance(e, (MatGrad, MatHessian)), do)


def multivariate(dist) -> bool:
    """Whether a distribution's arguments are matrices (MvNormal(mu, S)): its draws are jointly distributed."""
    return any(isinstance(a, (sp.MatrixBase, sp.MatrixExpr)) for a in dist.args)


def polynomial_in(e, R, heads=()) -> bool:
    """Whether e is visibly a polynomial in R's entries: R under no function, root, inverse or division
    (other than ours and `heads`, e.g. distributions whose moments are polynomial in their arguments)."""
    if not isinstance(e, sp.Basic) or not e.has(R):
        return True
    if isinstance(e, (sp.Pow, sp.MatPow)) and not (e.exp.is_Integer and e.exp >= 0):
        return False
    if isinstance(e, (Application, sp.Inverse)) and \
            not isinstance(e, (ScalarOf, MatGrad, MatHessian, MatExpectation) + tuple(heads)):
        return False
    return all(polynomial_in(a, R, heads) for a in e.args)


def _symmetric(cov) -> bool:
    # Isserlis reads S_ab for a != b: a non-symmetric "covariance" has no distribution, so no verdict.
    return all(sp.expand(cov[i, j] - cov[j, i]) == 0 for i in range(cov.rows) for j in range(i))


def _explicit_mv_expectation(h, joint):
    """E[x ~ MvNormal(mu, S)](f) at an explicit size as a polynomial in mu and S, or h unchanged."""
    f, R, dist = h.args
    if not multivariate(dist) or not all(as_basic(s).is_Integer for s in R.shape):
        return h
    X = sp.ImmutableMatrix(*R.shape, lambda i, j: sp.Dummy(f"{R.name}_{i}", real=True))

    def entries(e):  # every matrix symbol as its entries (x[0, 0], ...), so ScalarOf(...) expands
        if any(not d.is_Integer for m in e.atoms(sp.MatrixSymbol) for d in m.shape):
            raise ValueError("a symbolic-size matrix")
        return _doit(e.xreplace({m: m.as_explicit() for m in e.atoms(sp.MatrixSymbol)}))
    try:
        body, mean, cov = entries(f.xreplace({R: X})), entries(dist.args[0]), entries(dist.args[1])
        if not (isinstance(mean, sp.MatrixBase) and isinstance(cov, sp.MatrixBase)) or \
                body.has(MatGrad, MatHessian, MatExpectation) or not _symmetric(cov):
            return h
        return joint(sp.expand(body), list(X), list(mean), cov)
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        return h  # e.g. a non-polynomial body: the numeric path says what it can


# ---------------------------------------------------------------------------------------------
# Numeric: explicit sizes and entries


def instantiate_heads(e, matrices: dict, dims: dict, moments, joint=None):
    """Evaluate MatGrad, MatHessian and MatExpectation at explicit sizes, before matrices get values.

    matrices maps each MatrixSymbol to its random explicit value, dims each dimension to its size;
    moments(dist, k) is E[x^k] for one entry x ~ dist; joint(body, entries, mean, cov) is the
    expectation of a polynomial body over a vector x ~ MvNormal(mean, cov) (explicit mean and cov)."""
    if not isinstance(e, sp.Basic) or not e.has(MatGrad, MatHessian, MatExpectation):
        return e

    def explicit(x):
        x = x.xreplace(dims)
        x = _doit(x)
        return x

    def symbols_for(m, stem):
        rows, cols = (int(s.xreplace(dims)) for s in m.shape)
        syms = sp.Matrix(rows, cols, lambda i, j: sp.Dummy(f"{stem}[{i},{j}]", real=True))
        return sp.ImmutableMatrix(syms), list(syms)

    def with_values(body, free, keep):
        others = {m: v for m, v in matrices.items() if m != keep}
        return body.xreplace(others).xreplace(free)

    def do(h, bound=frozenset()):
        if isinstance(h, (MatGrad, MatHessian)):
            f, w = h.args
            W, ws = symbols_for(w, "grad")
            body = explicit(with_values(f, {w: W}, w))
            vals = dict(zip(ws, list(matrices[w].xreplace(dims)) if w in matrices else []))
            first = _first_derivatives(body, ws)
            if isinstance(h, MatGrad):
                return sp.ImmutableMatrix([[g] for g in first]).xreplace(vals)
            # Second derivatives from the first ones, each pair once: the Hessian is symmetric.
            n = len(ws)
            second: dict = {}
            for i in range(n):
                for j in range(i, n):
                    second[i, j] = second[j, i] = sp.diff(first[i], ws[j])
            return sp.ImmutableMatrix(n, n, lambda i, j: second[i, j]).xreplace(vals)
        f, R, dist = h.args
        Rm, rs = symbols_for(R, f"mask{len(bound)}")
        # Outermost first: inner expectations keep their own random matrices, and see ours as symbols.
        inner_bound = {x.args[1] for x in f.atoms(MatExpectation)}
        others = {m: v for m, v in matrices.items() if m != R and m not in inner_bound and m not in bound}
        body = f.xreplace({R: Rm}).xreplace(others)
        body = walk(body, bound | {R})
        body = sp.expand(explicit(body))
        if not multivariate(dist):
            return _expect_iid(body, rs, dist, moments)
        mean, cov = (explicit(a.xreplace(others)) for a in dist.args)
        if joint is None or not isinstance(cov, sp.MatrixBase) or not _symmetric(cov):
            raise NotImplementedError("cannot evaluate an expectation over a multivariate Normal "
                                      "whose covariance is not symmetric here")
        return joint(body, rs, list(mean), cov)

    def walk(x, bound):
        if isinstance(x, (MatGrad, MatHessian, MatExpectation)):
            return do(x, bound)
        if not isinstance(x, sp.Basic) or not x.args or not x.has(MatGrad, MatHessian, MatExpectation):
            return x
        return x.func(*[walk(a, bound) for a in x.args])

    return walk(e, frozenset())


def _first_derivatives(body, ws) -> list:
    """d body / d w for each w; a polynomial in ws (least squares, quadratic forms) is differentiated
    as a Poly, which is much faster than SymPy's diff on unexpanded matrix-product entries."""
    try:
        if body.is_polynomial(*ws):
            poly = sp.Poly(body, *ws)
            return [poly.diff(v).as_expr() for v in ws]
    except (sp.PolynomialError, sp.GeneratorsNeeded):
        pass
    return [sp.diff(body, v) for v in ws]


def _doit(x):
    if isinstance(x, sp.MatrixExpr) and not isinstance(x, sp.MatrixBase):
        x = x.doit()
        if isinstance(x, sp.MatrixExpr) and not isinstance(x, sp.MatrixBase):
            x = x.as_explicit()
        return x
    return x.doit() if isinstance(x, sp.Basic) else x


def _expect_iid(body, rs, dist, moments):
    """E over independent entries rs ~ dist of a polynomial body (exact, monomial by monomial)."""
    if isinstance(body, sp.MatrixBase):
        return body.applyfunc(lambda b: _expect_iid(sp.expand(b), rs, dist, moments))
    present = [r for r in rs if body.has(r)]
    if not present:
        return body
    try:
        poly = sp.Poly(body, *present)
    except sp.PolynomialError:
        raise NotImplementedError("cannot evaluate the expectation of a non-polynomial over random "
                                  "entries") from None
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        term = coeff
        for k in powers:
            if k:
                term *= moments(dist, k)
        total += term
    return total


# ---------------------------------------------------------------------------------------------
# Linear equations in a vector unknown


def coefficient(eq, w):
    """A in eq = A w - b (eq linear in w), or None."""
    eq = sp.expand(eq.doit())
    terms = eq.args if isinstance(eq, sp.MatAdd) else (eq,)
    parts = []
    for t in terms:
        if not t.has(w):
            continue
        coeff, mats = (t.as_coeff_matrices() if isinstance(t, sp.MatMul) else (sp.Integer(1), [t]))
        if not mats or mats[-1] != w or any(m.has(w) for m in mats[:-1]) or coeff.has(w):
            return None
        left = sp.MatMul(*mats[:-1]) if len(mats) > 1 else sp.Identity(w.shape[0])
        parts.append(coeff * left)
    return sp.MatAdd(*parts).doit() if parts else None


def positive_definite(a, spd: frozenset) -> bool:
    """Shown from structure: a sum of positive semidefinite terms with at least one definite one."""
    terms = a.args if isinstance(a, sp.MatAdd) else (a,)
    definite = False
    for t in terms:
        kind = _definiteness(t, spd)
        if kind is None:
            return False
        definite = definite or kind == "pd"
    return definite


def _definiteness(t, spd):
    coeff, mats = (t.as_coeff_matrices() if isinstance(t, sp.MatMul) else (sp.Integer(1), [t]))
    if coeff.is_positive is None and coeff.is_nonnegative is None:
        coeff = sp.factor(sp.together(coeff))  # 1 - 1/(1 + exp(-t)) is exp(-t)/(1 + exp(-t)) > 0
    if not (coeff.is_positive or coeff.is_nonnegative):
        return None
    strict = bool(coeff.is_positive)
    if len(mats) == 1:
        m = mats[0]
        if isinstance(m, sp.Identity):
            return "pd" if strict else "psd"
        if m in spd or (isinstance(m, sp.MatPow) and m.base in spd and m.exp.is_integer):
            return "pd" if strict else "psd"  # a power of a positive definite matrix is one too
        if isinstance(m, sp.MatPow) and m.exp.is_even and isinstance(m.base, (DiagPart, sp.MatPow)):
            return "psd"
        if isinstance(m, DiagPart) and _is_gram(m.arg):
            return "psd"
        return None
    if len(mats) == 2 and mats[0] == mats[1].T:
        return "psd"  # M^T M
    return None


def _is_gram(m) -> bool:
    return isinstance(m, sp.MatMul) and len(m.args) == 2 and m.args[0] == m.args[1].T


def singular(m) -> bool:
    """Whether a square matrix has determinant 0 for every value of its names: an explicit one exactly for numbers
    and, for symbolic entries, when its determinant simplifies to 0 (up to 3×3); a matrix expression when its shape
    bounds its rank below its size (A^T A for a 1×2 A has rank at most 1), or bounds it by a number while the size
    is symbolic (u u^T for a vector(n) u)."""
    if isinstance(m, sp.MatrixExpr) and not isinstance(m, sp.MatrixBase):
        bound, n = rank_bound(m), m.shape[0]
        if bound is None or not isinstance(bound, (int, sp.Integer)):
            return False
        # a size the shapes do not fix (u u^T for a vector(n) u) exceeds a whole-number bound for all but a few
        # values: inv of it is meant for every n and is wrong for most
        return not isinstance(n, (int, sp.Integer)) or bound < int(n)
    if not isinstance(m, sp.MatrixBase):
        return False
    if all(x.is_number for x in m):
        return m.rank() < m.shape[0]
    if m.shape[0] > 3:
        return False
    return sp.simplify(m.det()) == 0


def rank_bound(m) -> int | None:
    """An upper bound on the rank of a matrix expression from the shapes of its factors (rank(AB) <= min(rank A,
    rank B), rank(A + B) <= rank A + rank B), or None where no size of a factor is a number or the form is not
    known here."""
    if isinstance(m, (sp.MatrixSymbol, sp.MatrixBase, sp.Identity, sp.ZeroMatrix)):
        r, c = m.shape
        if isinstance(m, sp.ZeroMatrix):
            return 0
        if all(isinstance(d, (int, sp.Integer)) for d in (r, c)):
            return min(int(r), int(c))
        fixed = [int(d) for d in (r, c) if isinstance(d, (int, sp.Integer))]
        return fixed[0] if fixed else None  # a vector(n) has rank at most 1 whatever n is
    if isinstance(m, sp.Transpose):
        return rank_bound(m.arg)
    if isinstance(m, sp.MatMul):
        bounds = [rank_bound(a) for a in m.args if isinstance(a, sp.MatrixExpr)]
        known = [b for b in bounds if b is not None]
        return min(known) if known else None
    if isinstance(m, sp.MatAdd):
        bounds = [rank_bound(a) for a in m.args]
        return None if None in bounds else sum(bounds)
    return None
