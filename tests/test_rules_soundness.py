"""`by ...` rules check their side conditions (issue 14, classes 7-9 and 11): each false statement
gets an exact status that is not proved/numeric, and its true counterpart is established."""

from __future__ import annotations

import pytest

from testlib import derivation, statuses, verify


def _run(symbols: str, claim: str, steps: str) -> dict:
    return verify(derivation(symbols, claim, steps))


def _status(symbols: str, claim: str, steps: str) -> str:
    doc = _run(symbols, claim, steps)
    got = statuses(doc)
    assert len(got) == 1, doc
    return got[0]


def _messages(doc: dict) -> list[str]:
    found = [e["message"] for e in doc.get("errors") or []]
    for part in doc.get("parts") or []:
        found += [s.get("message", "") for s in part.get("steps") or []]
        found += [str(part.get("error") or "")]
    return found


# -- 7. solve: both directions, all solutions in the declared domain


def test_solve_with_a_second_root_is_refuted():
    doc = _run("x: real", "x^2 = 4 ==> x = 2", "x^2 = 4\n==> x = 2   by solve(x)")
    assert statuses(doc) == ["refuted"]
    assert "x = -2" in _messages(doc)[0]


def test_solve_with_the_only_root_in_the_domain_is_proved():
    assert _status("x: positive", "x^2 = 4 <==> x = 2", "x^2 = 4\n<==> x = 2   by solve(x)") == "proved"
    assert _status("x: real", "x^3 = 8 <==> x = 2", "x^3 = 8\n<==> x = 2   by solve(x)") == "proved"


def test_solve_cancelling_a_parameter_that_may_vanish_is_unknown():
    steps = "a x = a b\n==> x = b   by solve(x)"
    assert _status("x, a, b: real", "a x = a b ==> x = b", steps) == "unknown"
    assert _status("x, b: real\na: positive", "a x = a b ==> x = b", steps) == "proved"


def test_solve_with_infinitely_many_solutions_is_refuted_by_a_member():
    doc = _run("x: real", "tan(x) = 0 ==> x = 0", "tan(x) = 0\n==> x = 0   by solve(x)")
    # Not provable from a finite list, but a member of the family refutes it.
    assert statuses(doc) == ["refuted"]
    assert "x = pi" in _messages(doc)[0]
    doc = _run("x: real", "tan(x) = 0 ==> sin(x) = 0", "tan(x) = 0\n==> sin(x) = 0")
    assert statuses(doc) in (["proved"], ["numeric"])
    assert _status("x: real", "exp(x) = 2 ==> x = log(2)", "exp(x) = 2\n==> x = log(2)   by solve(x)") == "proved"


def test_solve_for_a_vector_needs_an_invertible_coefficient():
    symbols = "n: positive integer\nA: matrix(n, n)\nS: matrix(n, n) spd\nw, b: vector(n)"
    assert _status(symbols, "A w = b ==> w = A^-1 b", "A w = b\n==> w = A^-1 b   by solve(w)") == "unknown"
    assert _status(symbols, "S w = b ==> w = S^-1 b", "S w = b\n==> w = S^-1 b   by solve(w)") in ("proved", "numeric")


# -- 8. limits are two-sided unless the side is written; the numeric stand-in is not fooled


@pytest.mark.parametrize("claim", ["limit(abs(x)/x, x, 0) = 1", "limit(1/x, x, 0) = oo"])
def test_a_two_sided_limit_that_does_not_exist_is_not_established(claim):
    lhs, rhs = claim.split(" = ")
    assert _status("x: real", claim, f"{lhs}\n= {rhs}") == "unknown"


def test_the_limit_rule_is_two_sided_unless_the_side_is_written():
    assert _status("x: real", "limit(abs(x)/x, x, 0) = 1", "abs(x)/x\n= 1   by limit(x -> 0)") == "unknown"
    assert _status("x: real", "limit(1/x, x, 0) = oo", "1/x\n= oo   by limit(x -> 0)") == "unknown"
    assert _status("x: real", "limit(abs(x)/x, x, 0+) = 1", "abs(x)/x\n= 1   by limit(x -> 0+)") == "proved"
    assert _status("x: real", "limit(abs(x)/x, x, 0-) = -1", "abs(x)/x\n= -1   by limit(x -> 0-)") == "proved"
    assert _status("x: real", "limit(1/x, x, 0+) = oo", "1/x\n= oo   by limit(x -> 0+)") == "proved"


def test_one_sided_limit_expressions():
    assert _status("x: real", "limit(abs(x)/x, x, 0+) = 1", "limit(abs(x)/x, x, 0+)\n= 1") == "proved"
    assert _status("x: real", "limit(abs(x)/x, x, 0-) = -1", "limit(abs(x)/x, x, 0-)\n= -1") == "proved"
    assert _status("x: real", "limit(sin(x)/x, x, 0) = 1", "limit(sin(x)/x, x, 0)\n= 1") == "proved"


def test_a_limit_at_the_end_of_the_declared_domain_is_taken_inside_it():
    assert _status("x: positive", "limit(x log(x), x, 0) = 0", "x log(x)\n= 0   by limit(x -> 0)") == "proved"


def test_a_side_outside_a_limit_is_an_error():
    doc = _run("x: real", "max(x, 1) = 1", "max(x, 1+)\n= 1")
    assert doc["status"] == "error"
    assert any("only for the point of a limit" in m for m in _messages(doc))


def test_the_numeric_limit_stand_in_is_not_fooled_by_cancellation():
    symbols = "t, tau: real\ng: function"
    wrong = "limit((g(t + 2 tau) - g(t))/tau, tau, 0) = g'(t)"
    right = "limit((g(t + 2 tau) - g(t))/tau, tau, 0) = 2 g'(t)"
    assert _status(symbols, wrong, wrong.replace(" = ", "\n= ")) == "unknown"
    assert _status(symbols, right, right.replace(" = ", "\n= ")) == "numeric"


def test_the_numeric_limit_stand_in_sees_both_sides_and_several_distances():
    import sympy as sp

    from proofcheck.kernel import numeric
    x, a = sp.Symbol("x", real=True), sp.Symbol("a", real=True)
    point = numeric.Point(values={a: sp.Rational(1, 3)})
    with pytest.raises(numeric.Undefined):
        numeric.instantiate(sp.Limit(sp.Abs(x) / x, x, 0, "+-"), point)
    with pytest.raises(numeric.Undefined):
        numeric.instantiate(sp.Limit(sp.sin(1 / x), x, 0, "+"), point)
    with pytest.raises(numeric.Undefined):
        numeric.instantiate(sp.Limit(sp.sin(x), x, sp.oo, "-"), point)
    with pytest.raises(numeric.Undefined):
        numeric.instantiate(sp.Limit(1 / sp.log(x), x, 0, "+"), point)  # converges too slowly to trust
    v = numeric.instantiate(sp.Limit((sp.exp(a * x) - 1) / x, x, 0, "+-"), point)
    assert abs(float(v) - 1 / 3) < 1e-12
    v = numeric.instantiate(sp.Limit((1 + a / x) ** x, x, sp.oo, "-"), point)
    assert abs(float(v) - float(sp.exp(sp.Rational(1, 3)))) < 1e-12


# -- 9. jensen, stationary, substitute, subs/at, distribution parameters


JENSEN = """\
z: real
"""


def test_strict_jensen_is_unknown_and_the_weak_one_proved():
    strict = "log(E[z ~ Normal(0, 1)](exp(z))) > E[z ~ Normal(0, 1)](z)"
    weak = strict.replace(" > ", " >= ")
    doc = _run(JENSEN, strict, "log(E[z ~ Normal(0, 1)](exp(z)))\n> log(exp(E[z ~ Normal(0, 1)](z)))   by jensen\n"
                               "= E[z ~ Normal(0, 1)](z)")
    assert statuses(doc)[0] == "unknown" and "strict" in _messages(doc)[0]
    doc = _run(JENSEN, weak, "log(E[z ~ Normal(0, 1)](exp(z)))\n>= log(exp(E[z ~ Normal(0, 1)](z)))   by jensen\n"
                             "= E[z ~ Normal(0, 1)](z)")
    assert statuses(doc)[0] == "proved"


def test_stationary_at_a_local_maximum_of_an_unbounded_function_is_refuted():
    # x^3 - 3x has a local maximum at -1 (value 2) but grows without bound.
    assert _status("x: real", "argmax(x^3 - 3 x, x) = -1", "argmax(x^3 - 3 x, x)\n= -1   by stationary(x)") \
        == "refuted"
    assert _status("x: real", "maximum(x^3 - 3 x, x) = 2", "maximum(x^3 - 3 x, x)\n= 2   by stationary(x)") \
        in ("refuted", "unknown")


def test_stationary_with_concavity_is_proved():
    assert _status("x: real", "argmax(-x^2 + 2 x, x) = 1", "argmax(-x^2 + 2 x, x)\n= 1   by stationary(x)") \
        == "proved"


def test_stationary_without_concavity_is_at_most_numeric():
    # -x^4 + 2 x^2: maxima at +-1 (not concave), so argmax = 1 is one of two global maximisers.
    got = _status("x: real", "maximum(exp(-x^2) (1 + x^2), x) = 1",
                  "maximum(exp(-x^2) (1 + x^2), x)\n= 1   by stationary(x)")
    assert got in ("numeric", "unknown")


SUB = """\
x, u: real
f: density
"""


def test_substitute_with_a_map_that_is_not_onto_is_unknown():
    doc = _run(SUB, "integral(f(x), x) = integral(f(atan(u)) / (1 + u^2), u)",
               "integral(f(x), x)\n= integral(f(atan(u)) / (1 + u^2), u)   by substitute(x = atan(u))")
    assert statuses(doc) == ["unknown"] and "limit at" in _messages(doc)[0]


def test_substitute_with_a_map_not_shown_increasing_is_unknown():
    doc = _run(SUB, "integral(f(x), x) = integral(f(u^3 - u) (3 u^2 - 1), u)",
               "integral(f(x), x)\n= integral(f(u^3 - u) (3 u^2 - 1), u)   by substitute(x = u^3 - u)")
    assert statuses(doc) == ["unknown"] and "derivative" in _messages(doc)[0]


def test_substitute_with_an_increasing_bijection_is_established():
    got = _status(SUB, "integral(f(x), x) = integral(f(u^3 + u) (3 u^2 + 1), u)",
                  "integral(f(x), x)\n= integral(f(u^3 + u) (3 u^2 + 1), u)   by substitute(x = u^3 + u)")
    assert got in ("proved", "numeric")


@pytest.mark.parametrize("symbols, steps, words", [
    ("x: positive", "sqrt(x^2)\n= -1   by at(x = -1)", "-1 is not positive"),
    ("n: positive integer", "(-1)^(2 n)\n= 1   by at(n = 1/2)", "1/2 is not an integer"),
    ("x: interval(0, 1)", "x\n= 2   by at(x = 2)", "2 is not < 1"),
])
def test_at_outside_the_declared_type_is_an_error(symbols, steps, words):
    doc = _run(symbols, steps.split("\n")[0] + " = 0", steps)
    assert doc["status"] == "error"
    assert any(words in m for m in _messages(doc))


def test_subs_outside_the_declared_type_is_an_error_and_inside_it_proved():
    doc = _run("x: positive", "subs(sqrt(x^2), x = -1) = -1", "subs(sqrt(x^2), x = -1)\n= -1")
    assert doc["status"] == "error" and any("-1 is not positive" in m for m in _messages(doc))
    doc = _run("x: positive\ny: real", "subs(sqrt(x^2), x = y) = y", "subs(sqrt(x^2), x = y)\n= y")
    assert doc["status"] == "error" and any("y is not known to be positive" in m for m in _messages(doc))
    assert _status("x: positive", "subs(sqrt(x^2), x = 3) = 3", "sqrt(x^2)\n= 3   by at(x = 3)") == "proved"


@pytest.mark.parametrize("dist, words", [
    ("Normal(0, -1)", "variance"), ("Uniform(1, 0)", "a < b"), ("Bernoulli(2)", "at most 1")])
def test_invalid_distribution_parameters_are_an_error(dist, words):
    doc = _run("z: real", f"E[z ~ {dist}](z) = 0", f"E[z ~ {dist}](z)\n= 0")
    assert doc["status"] == "error"
    assert any(words in m for m in _messages(doc))


def test_symbolic_distribution_parameters_are_side_obligations():
    assert _status("z, v: real", "E[z ~ Normal(0, v)](z^2) = v", "E[z ~ Normal(0, v)](z^2)\n= v") == "refuted"
    assert _status("z, p: real", "E[z ~ Bernoulli(p)](z) = p", "E[z ~ Bernoulli(p)](z)\n= p") == "refuted"
    assert _status("z: real\nv: positive", "E[z ~ Normal(0, v)](z^2) = v", "E[z ~ Normal(0, v)](z^2)\n= v") \
        == "proved"
    assert _status("z: real\np: interval(0, 1)", "E[z ~ Bernoulli(p)](z) = p", "E[z ~ Bernoulli(p)](z)\n= p") \
        == "proved"


# -- 11. the inverse of a singular explicit matrix


def test_the_inverse_of_a_singular_matrix_is_an_error_on_the_line():
    doc = _run("", "inv([[1, 2], [2, 4]]) = [[0, 0], [0, 0]]", "inv([[1, 2], [2, 4]])\n= [[0, 0], [0, 0]]")
    assert doc["status"] == "error"
    assert any("singular" in m for m in _messages(doc))
    assert _status("", "inv([[2, 0], [0, 4]]) = [[1/2, 0], [0, 1/4]]",
                   "inv([[2, 0], [0, 4]])\n= [[1/2, 0], [0, 1/4]]") == "proved"
