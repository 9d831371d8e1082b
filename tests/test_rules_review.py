"""Rule fixes found while reviewing: nested expectations in jensen, `at` values inside interval types."""

from __future__ import annotations

from testlib import statuses, verify

JENSEN_TWO = """
proofcheck: 1
title: jensen over two bindings
symbols:
  a, b: positive
  r: interval(0, 1)
define:
  - w(h) := h a / r + (1 - h) b / (1 - r)
claim: E[h1 ~ Bernoulli(r), h2 ~ Bernoulli(r)](log((w(h1) + w(h2)) / 2)) <= log(E[h1 ~ Bernoulli(r), h2 ~ Bernoulli(r)]((w(h1) + w(h2)) / 2))
steps: |
  E[h1 ~ Bernoulli(r), h2 ~ Bernoulli(r)](log((w(h1) + w(h2)) / 2))
    <= log(E[h1 ~ Bernoulli(r), h2 ~ Bernoulli(r)]((w(h1) + w(h2)) / 2))       by jensen
"""


def test_jensen_over_two_bindings_applies_g_under_both():
    # The counterpart used to apply log under the first binding only, a false obligation (refuted).
    assert statuses(verify(JENSEN_TWO, timeout=10)) == ["proved"]


def test_jensen_over_two_bindings_the_wrong_way_is_not_established():
    text = JENSEN_TWO.replace("<= log(E", ">= log(E").replace("claim: E[h1 ~ Bernoulli(r), h2 ~ Bernoulli(r)](log((w(h1) + w(h2)) / 2)) <=",
                                                            "claim: E[h1 ~ Bernoulli(r), h2 ~ Bernoulli(r)](log((w(h1) + w(h2)) / 2)) >=")
    assert statuses(verify(text, timeout=10))[0] not in ("proved", "numeric")


AT = """
proofcheck: 1
title: at
symbols:
  alpha: interval(0, {high})
  s: positive
claim: subs(sqrt(s^2) + 1, s = {value}) = {value} + 1
steps: |
  sqrt(s^2) + 1
    = {value} + 1     by at(s = {value})
"""


def test_at_a_value_positive_by_its_interval_is_accepted():
    doc = verify(AT.format(high=1, value="sqrt(1 - alpha)"))
    assert doc["errors"] == [] and statuses(doc) == ["proved"]


def test_at_a_value_that_may_leave_the_type_is_an_error():
    doc = verify(AT.format(high=2, value="(1 - alpha)"))
    assert doc["errors"] and "is not known to be positive" in doc["errors"][0]["message"]


STATIONARY = """
proofcheck: 1
title: argmin
symbols:
  x: real
claim: argmin({f}, x) = 1
steps: |
  argmin({f}, x)
    = 1            by stationary(x)
"""


def test_argmin_with_two_minimisers_is_refuted():
    # f(x) >= f(1) holds everywhere, but -1 is a minimiser too: argmin = 1 is false.
    assert statuses(verify(STATIONARY.format(f="x^4 - 2 x^2"), timeout=10)) == ["refuted"]


def test_argmin_with_one_minimiser_is_proved():
    assert statuses(verify(STATIONARY.format(f="(x^2 - 1)^2 + (x - 1)^2"), timeout=10)) == ["proved"]


VECTOR_ZERO = """
proofcheck: 1
title: a vector equal to 0
symbols:
  n, d: positive integer
  p: interval(0, 1)
  X: matrix(n, d)
  y: vector(n)
claim: {lhs} = 0
steps: |
  {lhs}
    = 0
"""


def test_a_vector_equal_to_the_number_0_means_the_zero_vector():
    # `= 0` after a vector was compared as a matrix against a number: a true step came out refuted.
    assert statuses(verify(VECTOR_ZERO.format(lhs="-2 p X^T y + 2 p X^T y"))) == ["proved"]
    assert statuses(verify(VECTOR_ZERO.format(lhs="p X^T y"))) == ["refuted"]


SOLVE_SPD = """
proofcheck: 1
title: solve with a positive definite coefficient
symbols:
  n, d: positive integer
  p: interval(0, 1)
  X: matrix(n, d)
  G: matrix(d, d) spd
  w: vector(d)
  y: vector(n)
claim: (p X^T X + (1 - p) G^2) w = X^T y ==> w = (p X^T X + (1 - p) G^2)^-1 X^T y
steps: |
  (p X^T X + (1 - p) G^2) w = X^T y
    ==> w = (p X^T X + (1 - p) G^2)^-1 X^T y        by solve(w)
"""


def test_solve_sees_a_coefficient_positive_definite_through_an_interval_weight():
    assert statuses(verify(SOLVE_SPD, timeout=10)) == ["proved"]
    # Without G positive definite the coefficient may be singular: uniqueness is not shown.
    assert statuses(verify(SOLVE_SPD.replace("G: matrix(d, d) spd", "G: matrix(d, d)"), timeout=10)) == ["unknown"]


def test_a_failing_converse_is_reported_the_right_way_round():
    doc = verify("""
    proofcheck: 1
    title: converse
    symbols:
      x: real
    claim: x = 2 <==> x^2 = 4
    steps: |
      x = 2
        <==> x^2 = 4
    """)
    step = doc["parts"][0]["steps"][0]
    assert step["status"] == "refuted"
    assert step["message"].startswith("this statement holds but the previous one does not at x = -2")
