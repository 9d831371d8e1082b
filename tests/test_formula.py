"""The MathML and LaTeX printers of the reports: proofcheck's heads, names and relations."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import sympy as sp

from proofcheck.kernel.terms import At, Bag, Eigenvals, Implication, Norm, Optimum, Relation, Unsupported
from proofcheck.probability.heads import KL, Expectation, Normal
from proofcheck.report.formula import body_text, latex, latex_text, mathml

NS = "{http://www.w3.org/1998/Math/MathML}"
x, y, t, u = sp.symbols("x y t u", real=True)
f = sp.Function("f")


def tree(obj, op=""):
    markup = mathml(obj, op)
    assert markup is not None
    return ET.fromstring(markup)


def texts(root, tag):
    return [el.text for el in root.iter(NS + tag)]


def test_relations_and_implications():
    root = tree(Implication(Relation(x, "<=", y), Relation(y, ">=", x), both=True))
    assert texts(root, "mo") == ["\u2264", "\u27fa", "\u2265"]
    assert latex(Implication(Relation(x, "<=", y), Relation(x, "=", y))) == r"x \leq y \Longrightarrow x = y"
    step = tree(x + 1, "!=")
    assert texts(step, "mo")[0] == "\u2260"
    assert root.get("display") == "block" and ET.fromstring(mathml(x, display=False)).get("display") is None


def test_function_names_keep_their_case_and_greek_letters():
    root = tree(sp.Function("SNR")(t) + sp.Function("psi")(t) + sp.Function("C")(x))
    names = texts(root, "mi")
    assert "SNR" in names and "\u03c8" in names and "C" in names
    assert "snr" not in names and "c" not in names
    assert r"\operatorname{SNR}" in latex(sp.Function("SNR")(t))


def test_prime_notation_for_derivatives_at_a_point():
    deriv = sp.Subs(sp.Derivative(f(u), (u, 2)), u, 2 * x)
    root = tree(deriv)
    assert "\u2032\u2032" in texts(root, "mo")
    assert latex(deriv) == r"f''\left(2 x\right)"
    assert latex(sp.Subs(sp.Derivative(f(u), (u, 5)), u, x + 1)) == r"f^{(5)}\left(x + 1\right)"


def test_proofcheck_heads():
    assert latex(Bag(sp.Rational(-1, 2), sp.I / 2)) == r"\left\{- \frac{1}{2}, \frac{i}{2}\right\}"
    assert [m for m in texts(tree(Bag(1, 2)), "mo") if m in "{}"] == ["{", "}"]
    m = sp.ImmutableMatrix([[1, x]])
    assert latex(Eigenvals(m)).startswith(r"\operatorname{eig}\left(")
    assert latex(Norm(sp.MatrixSymbol("v", 3, 1))) == r"\left\lVert v \right\rVert"
    assert latex(Optimum(sp.Symbol("argmax"), -x**2, x)) == r"\operatorname*{arg\,max}_{x} - x^{2}"
    assert latex(Expectation(sp.Lambda(u, u**2), Normal(0, 1))) == \
        r"\mathbb{E}_{u \sim \mathcal{N}\left(0, 1\right)}\left[u^{2}\right]"
    assert latex(KL(Normal(x, 1), sp.Lambda(u, f(u)))) == \
        r"\operatorname{KL}\left(\mathcal{N}\left(x, 1\right) \,\middle\|\, f\right)"
    assert "\U0001d53c" in texts(tree(Expectation(sp.Lambda(u, u), Normal(0, 1))), "mi")
    assert latex(Unsupported(sp.Symbol("probability & more"))) == r"\text{[probability \& more]}"


def test_substitution_into_a_whole_matrix_prints_once():
    body = [sp.Derivative(f(x * y), x), sp.Derivative(f(x * y), y)]
    matrix = sp.ImmutableMatrix(1, 2, [At(b, sp.Tuple(x, y), sp.Tuple(0, 0)) for b in body])
    out = latex(matrix)
    assert out.startswith(r"\left. \left[") and out.endswith(r"\right|_{x = 0, y = 0}")
    assert out.count(r"\right|") == 1
    root = tree(matrix)
    assert len(list(root.iter(NS + "msub"))) == 1  # one bar with one subscript
    mixed = sp.ImmutableMatrix(1, 2, [At(body[0], sp.Tuple(x), sp.Tuple(0)), x])
    assert latex(mixed).count(r"\right|") == 1 and r"\left[\begin{matrix}" in latex(mixed)


def test_mathml_is_well_formed_with_characters_not_entities():
    markup = mathml(sp.exp(x) * sp.I + sp.Derivative(f(x), x) + x * y)
    assert "&" not in markup  # no named entities: valid in HTML and in XML
    root = ET.fromstring(markup)
    mi = texts(root, "mi")
    assert "e" in mi and "i" in mi
    minus = tree(x - y)
    assert "\u2212" in texts(minus, "mo") and "-" not in texts(minus, "mo")


def test_flat_brackets_do_not_stretch_but_tall_ones_do():
    root = tree(f(x) * (x + 1 / (y + 1)))
    opens = [el for el in root.iter(NS + "mo") if el.text == "("]
    stretch = {el.get("stretchy") for el in opens}
    assert stretch == {"false", None}  # f(x) is flat; the bracket around a fraction keeps stretching


def test_derivative_of_a_sum_is_bracketed():
    root = tree(sp.Derivative(x**2 + f(x), x))
    row = root[0]
    assert row[-1][0].text == "(" and row[-1][-1].text == ")"


def test_latex_is_ascii_with_greek_commands():
    xi, lam = sp.Symbol("\u03be"), sp.Symbol("lambda")
    assert latex(xi + lam) in (r"\lambda + \xi ", r"\xi  + \lambda")
    assert latex(sp.Symbol("x"), {"x": r"\hat{x}"}) == r"\hat{x}"
    assert latex(sp.Symbol("\u263a")) is None  # not typesettable: the caller shows the source


def test_unprintable_gives_none():
    assert mathml(None) is None and latex(None) is None
    assert mathml(object()) is None and latex(object()) is None
    assert mathml(Unsupported(sp.Symbol("a < b"))) is None  # never markup that is not well-formed


def test_text_helpers():
    assert latex_text("50% of $x_1$ & #2 {a} ~ ^ \\ <>|") == \
        r"50\% of \$x\_1\$ \& \#2 \{a\} \textasciitilde{} \textasciicircum{} \textbackslash{} " \
        r"\textless{}\textgreater{}\textbar{}"
    assert latex_text("caf\u00e9\nnext") == "caf? next"
    assert body_text("=", "=  1 + x") == "1 + x"
    assert body_text("<=", "x <= 1") == "x <= 1"
    assert body_text("=", "== x") == "== x"
