"""Expectations over a multivariate Normal with full covariance (issue 3): Isserlis' theorem against
independent computations, exact statuses through the public API at symbolic and explicit sizes,
refutations whose counterexamples are recomputed here, and input errors with positions.

The symbolic (explicit size) and numeric (random sizes) paths share proofcheck.probability.lower.isserlis,
so the moment function is checked here against the moment generating function and against the
univariate moments, which it does not use."""

from __future__ import annotations

import ast
import itertools
from fractions import Fraction

import pytest
import sympy as sp

from proofcheck.cli import check_report
from proofcheck.probability.lower import isserlis, mvnormal_expectation, normal_moment
from proofcheck.verify import Options
from testlib import derivation, verify

TIMEOUT = 10
SYMBOLIC = "k: positive integer; x, m: vector(k); S: matrix(k, k) spd; A: matrix(k, k)"
EXPLICIT = "x: vector(2); m1, m2, b: real; a, c: positive"
N2 = "Normal([m1, m2], [[a, b], [b, c]])"
N2_CENTRED = "Normal([0, 0], [[a, b], [b, c]])"


def _step(lhs: str, rhs: str, symbols: str):
    report, auto = check_report(lhs, rhs, symbols, Options(timeout=TIMEOUT))
    assert report.errors == [] and auto == [], (report.errors, auto)
    (part,) = report.parts
    (step,) = part.steps
    return step.result


# --------------------------------------------------------------------------------------------- the moment function

a, b, c, m1, m2 = sp.symbols("a b c m1 m2", real=True)
COV = sp.Matrix([[a, b], [b, c]])


def _mgf_moment(powers, mean, cov):
    """E[prod x_i^p_i] as a derivative of the moment generating function exp(t.m + t.S.t/2) at t = 0."""
    t = sp.symbols(f"t0:{len(mean)}")
    tv = sp.Matrix(t)
    mgf = sp.exp((tv.T * sp.Matrix(mean))[0] + (tv.T * cov * tv)[0] / 2)
    d = mgf.diff(*[v for v, p in zip(t, powers) for _ in range(p)]) if any(powers) else mgf
    return sp.expand(d.subs({v: 0 for v in t}))


@pytest.mark.parametrize("powers", [p for p in itertools.product(range(5), repeat=2) if 0 < sum(p) <= 5])
def test_isserlis_equals_the_moment_generating_function(powers):
    indices = [i for i, p in enumerate(powers) for _ in range(p)]
    got = sp.expand(isserlis(indices, [m1, m2], COV))
    assert got == _mgf_moment(powers, [m1, m2], COV)


def test_isserlis_zero_mean_fourth_moments():
    z = [0, 0]
    assert sp.expand(isserlis([0, 0, 1, 1], z, COV)) == a * c + 2 * b ** 2
    assert sp.expand(isserlis([0, 1, 0, 1], z, COV)) == a * c + 2 * b ** 2  # order does not matter
    assert sp.expand(isserlis([0, 0, 0, 1], z, COV)) == 3 * a * b
    assert isserlis([0, 0, 1], z, COV) == 0  # odd moments of a centred Normal vanish


def test_isserlis_with_identity_covariance_is_the_iid_case():
    mean = sp.symbols("n0:3", real=True)
    for powers in itertools.product(range(4), repeat=3):
        indices = [i for i, p in enumerate(powers) for _ in range(p)]
        want = sp.Mul(*[normal_moment(p, mean[i], 1) for i, p in enumerate(powers)])
        assert sp.expand(isserlis(indices, mean, sp.eye(3)) - want) == 0, powers


def test_isserlis_is_exact_on_rationals():
    cov = sp.Matrix([[sp.Rational(3, 2), sp.Rational(-1, 3)], [sp.Rational(-1, 3), sp.Rational(5, 7)]])
    mean = [sp.Rational(1, 10), sp.Rational(-2, 3)]
    got = isserlis([0, 0, 1, 1, 1], mean, cov)
    assert got.is_Rational and got == _mgf_moment((2, 3), mean, cov)


def test_non_polynomial_body_is_refused_not_approximated():
    x0, x1 = sp.symbols("x0 x1", real=True)
    assert mvnormal_expectation(x0 * x1 + 3, [x0, x1], [m1, m2], COV) == m1 * m2 + b + 3
    with pytest.raises(NotImplementedError):
        mvnormal_expectation(sp.exp(x0), [x0, x1], [m1, m2], COV)


# --------------------------------------------------------------------------------------------- symbolic size k


def test_quadratic_form_identity_is_numeric_at_symbolic_size():
    r = _step("E[x ~ Normal(m, S)](x^T A x)", "tr(A S) + m^T A m", SYMBOLIC)
    assert r.status.value == "numeric"
    assert "k = 1" in r.message and "k = 4" in r.message  # checked at several sizes


def test_squared_norm_is_numeric():
    assert _step("E[x ~ Normal(m, S)](x^T x)", "tr(S) + m^T m", SYMBOLIC).status.value == "numeric"


def _entries(text: str):
    """A counterexample matrix '[[0.65, -0.1], [0.26, -0.75]]' as a SymPy matrix of exact rationals."""
    rows = ast.literal_eval(text)
    return sp.Matrix([[sp.Rational(str(Fraction(str(v)))) for v in row] for row in rows])


@pytest.mark.parametrize("rhs", ["tr(A S) + 2 m^T A m", "tr(S) + m^T A m"])
def test_wrong_quadratic_forms_are_refuted_with_a_true_counterexample(rhs):
    r = _step("E[x ~ Normal(m, S)](x^T A x)", rhs, SYMBOLIC)
    assert r.status.value == "refuted"
    ce = r.counterexample
    assert {"A", "S", "m", "lhs", "rhs"} <= set(ce) and "x" not in ce  # x is averaged over, not a point
    A, S, m = _entries(ce["A"]), _entries(ce["S"]), _entries(ce["m"])
    assert S == S.T
    truth = (A * S).trace() + (m.T * A * m)[0]  # computed here, not by the engine
    assert abs(float(truth) - float(ce["lhs"])) < 1e-6 * max(1, abs(float(truth)))
    assert abs(float(ce["lhs"]) - float(ce["rhs"])) > 1e-3


# --------------------------------------------------------------------------------------------- explicit size 2


@pytest.mark.parametrize("lhs,rhs", [
    (f"E[x ~ {N2}](x[1] x[2])", "m1 m2 + b"),
    (f"E[x ~ {N2_CENTRED}](x[1]^2 x[2]^2)", "a c + 2 b^2"),
    (f"E[x ~ {N2}](x[1]^2 x[2]^2)", "(a + m1^2)(c + m2^2) + 2 b^2 + 4 b m1 m2"),
    (f"E[x ~ {N2_CENTRED}](x[1]^3 x[2])", "3 a b"),
    (f"Var[x ~ {N2}](x[1] + x[2])", "a + 2 b + c"),
])
def test_isserlis_identities_are_proved_at_explicit_size(lhs, rhs):
    assert _step(lhs, rhs, EXPLICIT).status.value == "proved"


def test_wrong_fourth_moment_is_refuted():
    r = _step(f"E[x ~ {N2_CENTRED}](x[1]^2 x[2]^2)", "a c + b^2", EXPLICIT)  # the 2 b^2 pairing term dropped
    assert r.status.value == "refuted"
    ce = r.counterexample
    got = Fraction(ce["lhs"]) - Fraction(ce["rhs"])
    assert abs(float(got) - float(Fraction(ce["b"]) ** 2)) < 1e-6  # the difference is the missing b^2


def test_non_polynomial_body_is_unknown_with_a_reason():
    r = _step(f"E[x ~ {N2}](exp(x[1]))", "exp(m1 + a/2)", EXPLICIT)
    assert r.status.value == "unknown"
    assert "non-polynomial" in r.message


def test_non_symmetric_covariance_is_not_decided():
    r = _step("E[x ~ Normal([m1, m2], [[a, b], [c, c]])](x[1] x[2])", "m1 m2 + b", EXPLICIT)
    assert r.status.value == "unknown"
    assert "internal error" not in r.message and "symmetric" in r.message, r.message


def test_non_polynomial_bodies_are_unknown_with_the_reason():
    for first in ("E[x ~ Normal(m, S)](exp(x^T x))", "E[x ~ Normal(0, 1)](exp(x^T x))"):
        r = _step(first, "1", SYMBOLIC)
        assert r.status.value == "unknown", (first, r.message)
        assert "non-polynomial" in r.message and "internal error" not in r.message, r.message


# --------------------------------------------------------------------------------------------- input errors


def _doc(symbols: str, first: str) -> str:
    return derivation(symbols, f"\"{first} = 0\"", f"{first}\n  = 0")


def test_distribution_of_the_wrong_size_is_an_error_with_its_position():
    got = verify(_doc("n: positive integer\nx: vector(2)\nm: vector(n)\nS: matrix(n, n) spd",
                      "E[x ~ Normal(m, S)](x[1])"), timeout=TIMEOUT)
    assert got["status"] == "error"
    err = got["errors"][0]
    assert (err["line"], err["column"]) == (8, 11)  # the binding `x ~` in the (quoted) claim, read first
    assert "2×1 mean" in err["message"] and "n×1" in err["message"]


def test_mean_and_covariance_of_different_sizes_is_an_error():
    got = verify(_doc("n: positive integer\nx, m: vector(n)\nS: matrix(2, 2) spd",
                      "E[x ~ Normal(m, S)](x[1])"), timeout=TIMEOUT)
    assert got["status"] == "error" and got["errors"][0]["line"] == 7
    assert "k×1 mean and a k×k covariance" in got["errors"][0]["message"]


def test_covariance_must_be_declared_symmetric():
    got = verify(_doc("x, m: vector(2)\nS: matrix(2, 2)", "E[x ~ Normal(m, S)](x[1])"), timeout=TIMEOUT)
    assert got["status"] == "error"
    assert "spd" in got["errors"][0]["message"] and got["errors"][0]["line"] == 6  # the claim


def test_a_scalar_or_a_matrix_drawn_from_a_multivariate_normal_is_unsupported():
    r = _step("E[z ~ Normal(m, S)](z)", "0", "z: real; m: vector(2); S: matrix(2, 2) spd")
    assert r.status.value == "unknown" and "vector(k)" in r.message
    r = _step("E[X ~ Normal(m, S)](X[1, 1])", "0", "X: matrix(2, 2); m: vector(2); S: matrix(2, 2) spd")
    assert r.status.value == "unknown"


def test_declared_covariance_at_explicit_size_is_proved_through_its_symmetry():
    symbols = "x, m: vector(2); S: matrix(2, 2) spd"
    for rhs in ("m[1] m[2] + S[1, 2]", "m[1] m[2] + S[2, 1]"):
        r = _step("E[x ~ Normal(m, S)](x[1] x[2])", rhs, symbols)
        assert r.status.value == "proved", (rhs, r.message)
    wrong = _step("E[x ~ Normal(m, S)](x[1] x[2])", "m[1] m[2] + S[1, 1]", symbols)
    assert wrong.status.value == "refuted"


def test_symmetry_is_used_only_for_matrices_declared_symmetric():
    assert _step("S[1, 2]", "S[2, 1]", "S: matrix(2, 2) symmetric").status.value == "proved"
    assert _step("S[1, 2]", "S[2, 1]", "S: matrix(2, 2)").status.value == "refuted"
