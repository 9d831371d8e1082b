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


# ---------------------------------------------------------------------------------------------
# Formulas as written (report/written.py): what the reports typeset


def shown(src: str, symbols: dict[str, str] | None = None, define: list[str] | None = None):
    """A first line as the reports show it, with declarations {names: type}."""
    from proofcheck.model import Declaration, Span, Text
    from proofcheck.parse import build_scope
    from proofcheck.report import written
    path = "<test>"
    decls = [Declaration(tuple(n.strip() for n in names.split(",")), Text(typ, path, ((1, 1),)), Span(path, 1, 1))
             for names, typ in (symbols or {"x, y, z, p": "real"}).items()]
    scope = build_scope(decls, [Text(d, path, ((1, 1),)) for d in (define or [])])
    return written.line(Text(src, path, ((1, 1),)), scope)


def test_written_formulas_keep_order_operators_and_parentheses():
    from proofcheck.report.written import text
    w = shown("p - p^2")
    assert (text(w), latex(w)) == ("p - p^2", "p - p^{2}")
    assert texts(tree(w), "mo") == ["\u2212"]
    assert latex(shown("x^-1 + x**2 + 2*3 + 2 3 + (x + y)/(2 x)")) == \
        r"x^{-1} + x^{2} + 2 \cdot 3 + 2 \cdot 3 + \frac{x + y}{2 x}"  # no parentheses a fraction bar replaces
    assert text(shown("x*y+ (x)  /y")) == "x*y + (x) / y"  # tight as written, or one space
    assert latex(shown("-(x - 1)^2 - -y")) == r"-\left(x - 1\right)^{2} - -y"


def test_written_formulas_keep_bound_variables_and_defined_names():
    w = shown("sum(j^2, j, 1, n) + E[z ~ q](log(px(z))) + KL(q || r) + c", {"n": "positive integer", "z": "real",
                                                                             "px": "density"},
              ["q := Normal(0, 1)", "r := Normal(1, 1)", "c := 2"])
    assert latex(w) == (r"\sum_{j = 1}^{n} j^{2} + \mathbb{E}_{z \sim q}\left[\log{\left(\operatorname{px}"
                        r"{\left(z\right)}\right)}\right] + \operatorname{KL}{\left(q \,\middle\|\, r\right)} + c")
    root = tree(w)
    assert "\U0001d53c" in texts(root, "mi") and "\u2211" in texts(root, "mo") and "\u2016" in texts(root, "mo")


def test_written_products_next_to_brackets_bind_as_the_checker_reads_them():
    syms = {"p, q, z": "real", "v": "vector(2)", "A": "matrix(2, 2)"}
    assert latex(shown("1/p (q + 1)", syms)) == r"\frac{1}{p} \left(q + 1\right)"  # (1/p)(q + 1)
    assert latex(shown("p^z (1 - p)", syms)) == r"p^{z} \left(1 - p\right)"  # p^z (1 - p), not p^(z (1 - p))
    assert latex(shown("p (q + 1)^2", syms)) == r"p \left(q + 1\right)^{2}"
    assert latex(shown("A[1, 2] + v[2] + p[q]", syms)) == r"A_{1, 2} + v_{2} + p \left[q\right]"


def test_written_names_typeset_without_double_scripts_and_with_latex_names():
    w = shown("x__2^2 + mu_p^2 + y", {"x__2, mu_p, y": "real"})
    assert latex(w) == r"{x^{2}}^{2} + \mu_{p}^{2} + y"
    assert latex(shown("x + 1"), {"x": r"\hat{x}"}) == r"\hat{x} + 1"
    assert latex(shown("f''(2 x) + SNR(x)", {"x": "real", "f, SNR": "function"})) == \
        r"f''\left(2 x\right) + \operatorname{SNR}{\left(x\right)}"
