"""The expression language of FORMAT.md section 2, and where input errors are reported.

Valid inputs are compared with SymPy objects built here; invalid inputs must give an `error` with the
exact file:line:col of the offending text."""

from __future__ import annotations

from collections import Counter

import pytest
import sympy as sp
from sympy.core.function import AppliedUndef

from testlib import derivation, parse_expr, statuses, verify

x, y, a, b, c, d, k, sigma = sp.symbols("x y a b c d k sigma", real=True)
SYMS = {"x, y, a, b, c, d, k, sigma": "real", "f": "function", "v": "vector(3)", "X": "matrix(2, 3)",
        "M": "matrix(2, 2)", "n": "positive integer"}


def P(text: str, symbols: dict | None = None, define: list | None = None):
    return parse_expr(text, SYMS if symbols is None else symbols, define)


def evaluate(e):
    """Evaluate an unevaluated parse result independently of proofcheck: substitutions (SymPy's Subs or any
    `At`-like head with args (expr, vars, values)) innermost first, then doit()."""
    if isinstance(e, sp.MatrixBase):
        return sp.ImmutableMatrix(e.rows, e.cols, [evaluate(t) for t in e])
    if not isinstance(e, sp.Basic):
        return e

    def is_point_subs(t):
        return isinstance(t, sp.Subs) or (type(t).__name__ == "At" and len(t.args) == 3)

    def do(t):
        if isinstance(t, sp.Subs):
            body, names, values = t.expr, t.variables, t.point
        else:
            body, names, values = t.args
        return evaluate(body).subs(dict(zip(names, values)), simultaneous=True)

    if e.has(sp.Subs) or any(is_point_subs(t) for t in sp.preorder_traversal(e)):
        e = e.replace(is_point_subs, do)
    return e.doit()


def same(got, expected) -> bool:
    """Mathematically equal (scalars or explicit matrices)."""
    got, expected = evaluate(got), sp.sympify(expected)
    if isinstance(expected, sp.MatrixBase) or isinstance(got, sp.MatrixBase):
        return (isinstance(got, sp.MatrixBase) and isinstance(expected, sp.MatrixBase)
                and got.shape == expected.shape and all(sp.simplify(p - q) == 0 for p, q in zip(got, expected)))
    return sp.simplify(got - expected) == 0


def with_function(e, name: str, lam):
    """Replace the abstract function `name` by a concrete Lambda."""
    return e.replace(lambda t: isinstance(t, AppliedUndef) and t.func.__name__ == name, lambda t: lam(*t.args))


# ---------------------------------------------------------------------------------------------
# Numbers, precedence, juxtaposition


def test_half_sigma_squared_is_left_to_right_juxtaposition():
    got = P("1/2 sigma^2")
    assert got == sigma ** 2 / 2
    assert got != 1 / (2 * sigma ** 2)


def test_unary_minus_binds_looser_than_power():
    assert P("-x^2") == -(x ** 2)
    assert P("(-x)^2") == x ** 2
    assert P("-2^2") == -4


def test_decimals_are_exact_rationals():
    assert P("0.25") == sp.Rational(1, 4)
    assert P("0.1 + 0.2") == sp.Rational(3, 10)  # exact: no binary floating point
    assert isinstance(P("1.5"), sp.Rational) and P("1.5") == sp.Rational(3, 2)
    assert not P("0.1 x").atoms(sp.Float)


def test_constants_pi_oo_and_imaginary_unit():
    assert P("pi") == sp.pi
    assert P("oo") == sp.oo
    assert P("I^2") == -1
    assert P("exp(1)") == sp.E


def test_e_is_not_special():
    from proofcheck.errors import ProofcheckError
    with pytest.raises(ProofcheckError, match="'e' is not declared"):
        P("e^x")


def test_juxtaposition_is_multiplication_left_to_right():
    assert P("2 sigma^2") == 2 * sigma ** 2
    assert P("2 x y") == 2 * x * y
    assert P("a x / b y") == a * x * y / b  # ((a x) / b) y
    assert P("x^2 y") == x ** 2 * y


def test_a_name_before_parentheses_is_one_factor_of_a_product():
    # `p (q + 1)^2`: the power belongs to the parenthesis, as in `p * (q + 1)^2`
    assert same(P("a (b + 1)^2"), a * (b + 1) ** 2)
    assert same(P("a [b + 1]^2"), a * (b + 1) ** 2)
    # left to right: `1/a (b + 1)` is (1/a)(b + 1) ...
    assert same(P("1/a (b + 1)"), (b + 1) / a)
    # ... but parentheses close the product: 2 / (a (b + 1)) divides by all of it
    assert same(P("2 / (a (b + 1))"), 2 / (a * (b + 1)))
    assert same(P("2 / (a (1 + b^2 / a^2))"), 2 * a / (a ** 2 + b ** 2))
    # and a product after an exponent starts after it: x^2 y is x^2 * y, so p^z (1 - p) is p^z * (1 - p)
    assert same(P("a^b (1 - a)"), a ** b * (1 - a))
    assert same(P("a^b (1 - a)^(1 - b)"), a ** b * (1 - a) ** (1 - b))


def test_double_star_is_power():
    assert P("x**3") == x ** 3
    assert P("x**2**3") == P("x^2^3")


def test_negative_exponents():
    assert P("x^-1") == 1 / x
    assert P("x^-2") == x ** -2
    assert P("2^-1") == sp.Rational(1, 2)


def test_names_with_underscores_and_digits():
    s = {"sigma_t, a_ts, mu_Q, x0, psi_1": "real"}
    got = P("sigma_t a_ts + mu_Q x0 - psi_1", s)
    st, ats, mq, x0, p1 = sp.symbols("sigma_t a_ts mu_Q x0 psi_1", real=True)
    assert got == st * ats + mq * x0 - p1


def test_comment_is_ignored():
    assert P("x^2 + 1   # the square plus one") == x ** 2 + 1


def test_paren_after_a_non_function_is_a_factor():
    assert P("x (y + 1)") == x * (y + 1)


def test_paren_after_a_function_is_a_call():
    got = P("f (x)")
    assert isinstance(got, AppliedUndef) and got.func.__name__ == "f" and got.args == (x,)


def test_bracket_after_a_scalar_is_a_factor():
    assert P("x[y + 1]") == x * (y + 1)


# ---------------------------------------------------------------------------------------------
# Calls


def test_simple_calls():
    assert P("sigmoid(x)") == 1 / (1 + sp.exp(-x))
    assert same(P("softplus(x)"), sp.log(1 + sp.exp(x)))
    assert P("log(exp(2))") == 2  # natural log
    assert P("sqrt(4)") == 2
    assert P("abs(x)") == sp.Abs(x)
    assert P("tanh(x)") == sp.tanh(x)
    assert P("min(x, y)") == sp.Min(x, y)
    assert P("max(x, y, 2)") == sp.Max(x, y, 2)


def test_function_derivative_prime():
    got = P("f'(x)")
    assert same(with_function(got, "f", sp.Lambda(sp.Symbol("u"), sp.Symbol("u") ** 3)), 3 * x ** 2)


def test_function_second_derivative_at_zero():
    got = P("f''(0)")
    u = sp.Symbol("u")
    assert same(with_function(got, "f", sp.Lambda(u, sp.exp(2 * u) + u ** 3)), 4)


def test_function_prime_at_an_expression():
    got = P("f'(2 x)")
    u = sp.Symbol("u")
    assert same(with_function(got, "f", sp.Lambda(u, sp.sin(u))), sp.cos(2 * x))


def test_defined_function_and_value():
    got = P("g(x + 1) + h", define=["g(u) := u^2 + 1", "h := 3 x"])
    assert sp.expand(got - ((x + 1) ** 2 + 1 + 3 * x)) == 0


# ---------------------------------------------------------------------------------------------
# Indexing, sums, calculus


def test_vector_indexing_is_one_based():
    v = sp.MatrixSymbol("v", 3, 1)
    assert P("v[1]") == v[0, 0]
    assert P("v[3]") == v[2, 0]


def test_matrix_indexing_is_one_based():
    X = sp.MatrixSymbol("X", 2, 3)
    assert P("X[2, 3]") == X[1, 2]
    assert P("X[1, 1]") == X[0, 0]


def test_index_zero_is_refused():
    from proofcheck.errors import ProofcheckError
    with pytest.raises(ProofcheckError, match="1-based|outside"):
        P("v[0]")
    with pytest.raises(ProofcheckError, match="1-based|outside"):
        P("v[4]")


def test_sum_and_prod():
    kk = sp.Symbol("k", positive=True, integer=True)
    got = P("sum(j^2, j, 1, k)", {"k": "positive integer"})
    assert sp.simplify(evaluate(got) - kk * (kk + 1) * (2 * kk + 1) / 6) == 0
    assert evaluate(P("sum(j, j, 1, 4)")) == 10
    assert evaluate(P("prod(j, j, 1, 5)")) == 120


def test_sum_index_needs_no_declaration_and_does_not_leak():
    got = P("sum(x^j, j, 0, 3)")
    assert same(got, 1 + x + x ** 2 + x ** 3)
    assert {s.name for s in got.free_symbols} == {"x"}


def test_d_dx_and_diff():
    assert same(P("d/dx(x^3 y)"), 3 * x ** 2 * y)
    assert same(P("diff(x^3, x)"), 3 * x ** 2)
    assert same(P("diff(x^3, x, 2)"), 6 * x)


def test_integral_and_limit():
    assert same(P("integral(exp(-x^2), x)"), sp.sqrt(sp.pi))
    assert same(P("integral(x, x, 0, 2)"), 2)
    assert same(P("limit(sin(x)/x, x, 0)"), 1)


def test_jacobian_rows_are_functions_columns_are_variables():
    got = P("jacobian([x y, x + y^2, x], [x, y])")
    assert same(got, sp.Matrix([[y, x], [1, 2 * y], [1, 0]]))


def test_grad_and_hessian():
    assert same(P("grad(x^2 y, [x, y])"), sp.Matrix([[2 * x * y], [x ** 2]]))
    assert same(P("hessian(x^2 y, [x, y])"), sp.Matrix([[2 * y, 2 * x], [2 * x, 0]]))


def test_subs_single_and_several():
    assert same(P("subs(x^2 + y, x = 3)"), 9 + y)
    assert same(P("subs(x y, x = 2, y = 5)"), 10)


def test_subs_of_a_derivative():
    assert same(P("subs(d/dx(x^3), x = 2)"), 12)


# ---------------------------------------------------------------------------------------------
# Linear algebra, sets, norms, absolute values


def test_matrix_transpose():
    X = sp.MatrixSymbol("X", 2, 3)
    got = P("X^T")
    assert got.shape == (3, 2)
    assert got == X.T


def test_transpose_of_explicit_matrix():
    assert same(P("[[a, b], [c, d]]^T"), sp.Matrix([[a, c], [b, d]]))


def test_T_is_an_ordinary_name_when_declared():
    T = sp.Symbol("T", real=True)
    assert P("x^T", {"x, T": "real"}) == x ** T
    assert P("2 T", {"T": "real"}) == 2 * T


def test_matrix_inverse_by_power_minus_one():
    assert same(P("[[1, 2], [3, 4]]^-1"), sp.Matrix([[-2, 1], [sp.Rational(3, 2), -sp.Rational(1, 2)]]))
    M = sp.MatrixSymbol("M", 2, 2)
    assert P("M^-1") == sp.Inverse(M)
    assert P("inv(M)") == sp.Inverse(M)


def test_matrix_product_by_juxtaposition_and_one_by_one_is_scalar():
    got = P("[1, 2]^T [3, 4]")
    assert not isinstance(got, sp.MatrixBase)
    assert got == 11
    assert same(P("[[1, 2], [3, 4]] [1, 1]"), sp.Matrix([3, 7]))


def test_det_tr_diag_eye_elementwise():
    assert same(P("det([[a, b], [c, d]])"), a * d - b * c)
    assert same(P("tr([[a, b], [c, d]])"), a + d)
    assert same(P("diag([a, b])"), sp.Matrix([[a, 0], [0, b]]))
    assert same(P("diag([[a, b], [c, d]])"), sp.Matrix([[a, 0], [0, d]]))
    assert same(P("eye(2)"), sp.eye(2))
    assert same(P("[1, 2] .* [3, 4]"), sp.Matrix([3, 8]))


def test_set_literal_is_a_multiset():
    got = P("{-1/2, I/2, -I/2}")
    assert Counter(got.args) == Counter([-sp.Rational(1, 2), sp.I / 2, -sp.I / 2])
    assert Counter(P("{1, 1, 2}").args) == Counter([1, 1, 2])


def test_eigenvals_of_explicit_matrix_is_a_multiset():
    doc = verify(derivation("x: real", "eigenvals([[2, 0], [0, 3]]) = {3, 2}", """
        eigenvals([[2, 0], [0, 3]])
          = {3, 2}
        """))
    assert statuses(doc) == ["proved"]
    doc = verify(derivation("x: real", "eigenvals([[2, 0], [0, 3]]) = {2, 2}", """
        eigenvals([[2, 0], [0, 3]])
          = {2, 2}
        """))
    assert statuses(doc) == ["refuted"]  # multisets: {2, 3} is not {2, 2}


def test_abs_bars():
    assert P("|x|") == sp.Abs(x)
    assert P("|x - y| + 1") == sp.Abs(x - y) + 1
    assert P("2 |x|") == 2 * sp.Abs(x)


def test_norm_bars_of_explicit_vector():
    assert same(P("||[3, 4]||"), 5)
    assert same(P("norm([a, b])"), sp.sqrt(a ** 2 + b ** 2))


def test_norm_bars_of_declared_vector():
    """FORMAT §2: `norm(v)`, `||v||` for a declared vector(3) is the Euclidean norm."""
    v = sp.MatrixSymbol("v", 3, 1)
    got = P("||v||")
    from proofcheck.kernel.terms import Unsupported
    assert not (isinstance(got, sp.Basic) and got.has(Unsupported)), f"||v|| of a vector(3) is unsupported: {got}"
    # kept as sqrt(v^T v) (a 1×1 product), which is the Euclidean norm at every value of v
    m = sp.ImmutableMatrix([[2], [-3], [6]])
    assert sp.simplify(got.xreplace({v: m}).doit() - 7) == 0


def test_inner_product_brackets():
    """FORMAT §2 lists `<u, v>`."""
    assert same(P("<[1, 2], [3, 4]>"), 11)


def test_relation_first_line():
    from proofcheck.kernel.terms import Relation
    got = P("x^2 <= y")
    assert isinstance(got, Relation) and got.op == "<=" and got.lhs == x ** 2 and got.rhs == y


# ---------------------------------------------------------------------------------------------
# Steps: comments and continuation lines (through the whole file)


def test_comments_and_continuation_lines_in_steps():
    doc = verify(derivation(
        "x: real",
        "(x + 1)^2 = x^2 + 2 x + 1   # the square",
        """
        # a whole-line comment before the chain
        (x + 1)^2          # starting line
          = (x + 1) (x +
                1)         # continues after an operator and inside a bracket
          = x^2 +
              2 x + 1      # continues after a trailing +
        """))
    assert doc["errors"] == []
    assert doc["status"] == "proved"
    steps = doc["parts"][0]["steps"]
    assert [s["index"] for s in steps] == [1, 2]
    assert [s["line"] for s in steps] == [9, 11]  # line 7 is the comment, 8 the starting line
    assert steps[0]["text"] == "(x + 1) (x + 1)"
    assert steps[1]["text"] == "x^2 + 2 x + 1"


def test_a_less_indented_line_is_a_new_step_even_after_an_operator():
    doc = verify(derivation(
        "x: real",
        "x + 1 = 1 + x",
        """
        x + 1
          = 1 + x
          = x + 1
        """))
    assert statuses(doc) == ["proved", "proved"]


# ---------------------------------------------------------------------------------------------
# Input errors and their exact positions


def only_error(doc: dict) -> dict:
    assert doc["status"] == "error", doc
    assert len(doc["errors"]) >= 1, doc
    return doc["errors"][0]


def test_undeclared_name_in_a_step_position():
    doc = verify(derivation("x: real", "x + 1 = 1 + x", """
        x + 1
          = 1 + zeta
        """))
    e = only_error(doc)
    # line 8 is "    = 1 + zeta": `zeta` starts at column 11
    assert (e["line"], e["column"]) == (8, 11)
    assert "zeta" in e["message"] and "not declared" in e["message"]
    assert statuses(doc) == ["error"]


def test_undeclared_name_in_the_starting_line_position():
    doc = verify(derivation("x: real", "x = x", """
        x + qq
          = x
        """))
    e = only_error(doc)
    # line 7 is "  x + qq": `qq` is column 7
    assert (e["line"], e["column"]) == (7, 7)
    assert "qq" in e["message"]


def test_undeclared_name_that_sympy_would_cancel_is_still_an_error():
    """`0 * qq` evaluates to 0 in SymPy, but `qq` is still an undeclared name (FORMAT §1)."""
    doc = verify(derivation("x: real", "x = x", """
        x + 0 * qq
          = x
        """))
    e = only_error(doc)
    assert (e["line"], e["column"]) == (7, 11)
    assert "qq" in e["message"]


def test_undeclared_name_in_a_quoted_claim_position():
    doc = verify(derivation("x: real", '"x + rho = x"', """
        x
          = x
        """))
    e = only_error(doc)
    # line 5 is `claim: "x + rho = x"`: the quote is column 8, `rho` column 13
    assert (e["line"], e["column"]) == (5, 13)
    assert "rho" in e["message"]


def test_undeclared_name_in_a_define_position():
    text = derivation("x: real", "x = x", """
        x
          = x
        """, extra="define:\n  - g := x + zz\n")
    doc = verify(text)
    e = only_error(doc)
    # line 6 is "  - g := x + zz": `zz` at column 14
    assert (e["line"], e["column"]) == (6, 14)
    assert "zz" in e["message"]


def test_undeclared_variable_of_d_dx():
    """A typo in the variable of d/dx must not make the derivative silently 0 (and the step `proved`)."""
    doc = verify(derivation("theta: real", "d/dtheta(theta^2) = 2 theta", """
        d/dtheta(theta^2)
          = d/dthetta(theta^2) + 2 theta
        """))
    e = only_error(doc)
    # line 8 is "    = d/dthetta(theta^2) + 2 theta": the d/dthetta starts at column 7
    assert (e["line"], e["column"]) == (8, 7)
    assert "thetta" in e["message"] and "not declared" in e["message"]


def test_undeclared_variable_of_diff():
    doc = verify(derivation("theta: real", "diff(theta^2, theta) = 2 theta", """
        diff(theta^2, theta)
          = diff(theta^2, thetta) + 2 theta
        """))
    e = only_error(doc)
    # `thetta` starts at column 21 of line 8
    assert (e["line"], e["column"]) == (8, 21)
    assert "thetta" in e["message"]


def test_syntax_error_on_the_third_line_of_steps():
    doc = verify(derivation("x: real", "x + 1 = 1 + x", """
        x + 1
          = 1 + x
          = (1 + * x)
        """))
    e = only_error(doc)
    # the steps block starts on line 7; its 3rd line is line 9: "    = (1 + * x)", the `*` is column 12
    assert (e["line"], e["column"]) == (9, 12)
    assert "*" in e["message"]
    assert statuses(doc) == ["proved", "error"]


def test_syntax_error_on_a_continuation_line_points_into_that_line():
    doc = verify(derivation("x: real", "x + 1 = 1 + x", """
        x + 1
          = 1 +
              x )
        """))
    e = only_error(doc)
    # line 9 is "        x )": the stray `)` is column 11
    assert (e["line"], e["column"]) == (9, 11)


def test_unknown_character_position():
    doc = verify(derivation("x: real", "x = x", """
        x
          = x $ 2
        """))
    e = only_error(doc)
    assert (e["line"], e["column"]) == (8, 9)
    assert "$" in e["message"]


def test_bad_type_position():
    text = "proofcheck: 1\ntitle: t\nsymbols:\n  x: real\n  y: banana\nclaim: x = x\nsteps: |\n  x\n    = x\n"
    doc = verify(text)
    e = only_error(doc)
    # line 5 is "  y: banana": the type starts at column 6
    assert (e["line"], e["column"]) == (5, 6), e
    assert "banana" in e["message"] and "type" in e["message"], e


def test_bad_type_arity_position():
    text = "proofcheck: 1\ntitle: t\nsymbols:\n  x: real\n  Y: matrix(2)\nclaim: x = x\nsteps: |\n  x\n    = x\n"
    e = only_error(verify(text))
    assert (e["line"], e["column"]) == (5, 6)
    assert "matrix" in e["message"]


def test_dimension_must_be_positive_integer():
    text = "proofcheck: 1\ntitle: t\nsymbols:\n  m: real\n  w: vector(m)\nclaim: m = m\nsteps: |\n  m\n    = m\n"
    e = only_error(verify(text))
    assert (e["line"], e["column"]) == (5, 6)
    assert "positive integer" in e["message"]


def test_declaring_a_builtin_name_is_an_error():
    text = "proofcheck: 1\ntitle: t\nsymbols:\n  exp: real\nclaim: exp(1) = exp(1)\nsteps: |\n  exp(1)\n    = exp(1)\n"
    e = only_error(verify(text))
    assert e["line"] == 4
    assert "exp" in e["message"]


def test_unknown_rule_position():
    doc = verify(derivation("x: real", "x = x", """
        x
          = x    by magic
        """))
    e = only_error(doc)
    # line 8 is "    = x    by magic": `magic` is column 15
    assert (e["line"], e["column"]) == (8, 15)
    assert "magic" in e["message"]
    assert statuses(doc) == ["error"]


def test_step_must_start_with_a_relation_position():
    doc = verify(derivation("x: real", "x = x", """
        x
          x + 0
        """))
    e = only_error(doc)
    assert (e["line"], e["column"]) == (8, 5)
    assert "relation" in e["message"]
    assert statuses(doc) == ["error"]


def test_statement_step_in_an_expression_chain_is_an_error():
    doc = verify(derivation("x: real", "x = x", """
        x
          ==> x = x
        """))
    e = only_error(doc)
    assert (e["line"], e["column"]) == (8, 5)


def test_calling_an_undeclared_function_position():
    doc = verify(derivation("x: real", "x = x", """
        x
          = x + eval(1)
        """))
    e = only_error(doc)
    assert (e["line"], e["column"]) == (8, 11)
    assert "eval" in e["message"]


def test_using_a_function_without_arguments_is_an_error():
    doc = verify(derivation("x: real\nf: function", "x = x", """
        x
          = x + f
        """))
    e = only_error(doc)
    assert (e["line"], e["column"]) == (9, 11)
    assert "f" in e["message"]


def test_shape_mismatch_is_an_error():
    doc = verify(derivation("x: real", "x = x", """
        x
          = x + [1, 2] + [1, 2, 3]
        """))
    e = only_error(doc)
    assert e["line"] == 8


def test_given_with_unknown_label_is_an_error():
    text = derivation("x: real", "x = x", """
        x
          = x    by given(nosuch)
        """, extra="given:\n  g1: x = x\n")
    e = only_error(verify(text))
    assert e["line"] == 10
    assert "nosuch" in e["message"]


@pytest.mark.parametrize("bounds, message", [("I, 2", "must be real; I is not"), ("2 + I, 3", "must be real"),
                                             ("1, 0", "interval(1, 0) is empty")])
def test_an_interval_with_a_complex_bound_or_empty_is_an_input_error(bounds, message):
    # red team 18: `interval(I, 2)` made every step about the name unknown and `im(x) = 0` proved
    doc = verify(derivation(f"x: interval({bounds})", "im(x) = 0", "im(x)\n  = 0"))
    assert doc["status"] == "error" and any(message in e["message"] for e in doc["errors"]), doc["errors"]


def test_an_interval_may_run_to_infinity():
    doc = verify(derivation("x: interval(0, oo)", "x + 1 > 0", "x + 1\n  > 0"))
    assert doc["errors"] == [] and statuses(doc) == ["proved"]
