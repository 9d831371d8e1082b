"""Inverse functions of a declared bijection (`inverse(F)(x)`, LaTeX `F^{-1}(x)`), the law of a density (`P_X` for
`p_X`, `P_{F(U)}`), and derivatives with respect to an expression: seed 004's normalising flow, question 3.1."""

from __future__ import annotations

import pytest

from test_sheet_honesty import grade_sheets, statuses
from testlib import derivation, verify
from proofcheck.latex import Names, translate

FLOW = Names(symbols={"F": "function", "g": "function", "x": "scalar", "u": "scalar", "p_X": "density",
                      "p_U": "density"}, defines={"p_FU": 1, "p_FinvX": 1})


@pytest.mark.parametrize("latex,ascii_", [
    (r"F^{-1}(x)", "inverse(F)(x)"),
    # wherever it stands: after a factor, under a power, twice in a product
    (r"2 F^{-1}(x)", "2 inverse(F)(x)"),
    (r"F^{-1}(x)^2", "inverse(F)(x)^2"),
    (r"F^{-1}(x) F^{-1}(x)", "inverse(F)(x) inverse(F)(x)"),
    (r"p_U(F^{-1}(x)) |\det \frac{\partial F^{-1}(x)}{\partial x}|",
     "p_U(inverse(F)(x)) |det(diff(inverse(F)(x), x))|"),
    # the derivative of F at an expression, and of an expression with respect to itself
    (r"\log |\det \frac{\partial F(F^{-1}(x))}{\partial F^{-1}(x)}|", "log(|det(F'(inverse(F)(x)))|)"),
    (r"\frac{\partial F^{-1}(x)}{\partial F^{-1}(x)}", "1"),
    # a subscript that applies a function names the law of the image; a capital letter the law of a density
    (r"p_{F(U)}(x)", "p_FU(x)"),
    (r"p_{F^{-1}(X)}(u)", "p_FinvX(u)"),
    (r"D_{KL}[P_X||P_{F(U)}]", "KL(p_X || p_FU)"),
    (r"\mathbb{E}_{u \sim P_{F^{-1}(X)}}[\log p_X(F(u))]", "E[u ~ p_FinvX](log(p_X(F(u))))"),
    (r"\mathbb{E}_{x \sim P_X}[\log p_X(x)]", "E[x ~ p_X](log(p_X(x)))"),
])
def test_flow_notation_is_read(latex, ascii_):
    assert translate(latex, FLOW) == ascii_


def test_what_is_not_read_stays_an_error():
    with pytest.raises(Exception, match="must be a name"):
        translate(r"\frac{\partial F(x + 1)^2}{\partial (x + 1)}", FLOW)  # neither F at e nor e itself
    with pytest.raises(Exception, match="not declared"):
        translate(r"\mathbb{E}_{y \sim P_Y}[y]", FLOW)  # no density p_Y: P_Y is not a law the key knows


def test_inverse_of_a_bijection_is_checked_at_random_monotone_functions():
    right = verify(derivation("x: real\nF: increasing bijection", "diff(inverse(F)(x), x) = 1 / F'(inverse(F)(x))",
                              "diff(inverse(F)(x), x)\n  = 1 / F'(inverse(F)(x))"))
    assert right["parts"][0]["steps"][0]["status"] == "numeric"
    wrong = verify(derivation("x: real\nF: increasing bijection", "diff(inverse(F)(x), x) = 1 / F'(x)",
                              "diff(inverse(F)(x), x)\n  = 1 / F'(x)"))
    step = wrong["parts"][0]["steps"][0]
    assert step["status"] == "refuted"
    # the counterexample shows the function that was inverted
    assert set(step["counterexample"]) >= {"x", "F", "lhs", "rhs"}


def test_only_a_declared_bijection_has_an_inverse():
    doc = verify(derivation("x: real\nf: increasing function", "f(inverse(f)(x)) = x",
                            "f(inverse(f)(x))\n  = x"))
    assert doc["errors"] and "needs 'f' declared an `increasing bijection`" in doc["errors"][0]["message"]


KEY = """\
proofcheck: 1
title: Flows
symbols:
  x, u: real
  p_X, p_U: density
  F: increasing bijection
claim: diff(inverse(F)(x), x) = 1 / F'(inverse(F)(x))
steps: |
  diff(inverse(F)(x), x)
    = 1 / F'(inverse(F)(x))
"""


def test_a_sheet_with_the_jacobian_at_the_wrong_point_is_refuted(tmp_path):
    right = r"""
    $$\frac{\partial F^{-1}(x)}{\partial x} = \frac{1}{\frac{\partial F(F^{-1}(x))}{\partial F^{-1}(x)}}$$
    """
    wrong = r"""
    $$|\det \frac{\partial F^{-1}(x)}{\partial x}| = \frac{1}{|\det \frac{\partial F(x)}{\partial x}|}$$
    """
    grades = grade_sheets(tmp_path, KEY, {"right.md": right, "wrong.md": wrong})
    assert statuses(grades["right.md"]) == ["numeric"]
    assert statuses(grades["wrong.md"]) == ["refuted"]
