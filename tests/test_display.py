"""Reports show the author's formula, not SymPy's (issue 16, item 3): the text table, the HTML report
and the LaTeX sheet print every formula from its parse tree, with the author's term order, names and
bound variables, and typeset expectations and divergences of defined distributions."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

from rich.console import Console

from testlib import FAST, write_yaml
from proofcheck.report import console, html, latex
from proofcheck.report.formula import latex as latex_of, mathml
from proofcheck.verify import Options, verify_paths

NS = "{http://www.w3.org/1998/Math/MathML}"

POLY = """\
proofcheck: 1
title: as written
symbols:
  p: interval(0, 1)
claim: p - p^2 = p (1 - p)
steps: |
  p - p^2
    = p (1 - p)
    = p - p p
"""

EXPECT = """\
proofcheck: 1
title: expectations of declared and defined distributions
symbols:
  x, z, mu_q, mu_p: real
  sigma: positive
  px: density
  qd: density
define:
  - q := Normal(mu_q, sigma^2)
  - p := Normal(mu_p, sigma^2)
claim: KL(q || p) = (mu_p - mu_q)^2 / (2 sigma^2)
steps: |
  KL(q || p)
    = E[z ~ q](log(pdf(q, z) / pdf(p, z)))        by definition
    = E[z ~ q](((z - mu_p)^2 - (z - mu_q)^2) / (2 sigma^2))
    = (mu_p - mu_q)^2 / (2 sigma^2)
---
"""

DENSITY = """\
proofcheck: 1
title: a declared density
symbols:
  x, z: real
  px: density
  q: density
steps: |
  E[z ~ q](log(px(z)))
    = E[z ~ q](log(px(z)))
    = E[y ~ q](log(px(y)))
"""

UNREADABLE = """\
proofcheck: 1
title: a line that does not parse
symbols:
  x: real
steps: |
  (x + 1)^2
    = x^2 + 2 x + 1
    = (x + 1
"""


def reports(tmp_path, text, name="d.yaml"):
    path = write_yaml(tmp_path, text.split("---")[0], name)
    return verify_paths([str(path)], Options(timeout=FAST, jobs=1, cache=False))


def table(reps) -> str:
    out = io.StringIO()
    console.render(Console(file=out, width=200, color_system=None, highlight=False), reps,
                   {"files": 1, "steps": 0, "proved": 0, "numeric": 0, "refuted": 0, "unknown": 0, "errors": 0,
                    "seconds": 0})
    return out.getvalue()


def rows(text: str) -> list[str]:
    """The `step` cells of a text table, one string per row."""
    return [cells[3].strip() for cells in (line.split("│") for line in text.splitlines()) if len(cells) > 4]


def test_text_table_keeps_the_authors_term_order(tmp_path):
    reps = reports(tmp_path, POLY)
    assert [s.result.status.value for s in reps[0].parts[0].steps] == ["proved", "proved"]
    shown = rows(table(reps))
    assert shown == ["p - p^2", "= p (1 - p)", "= p - p p"]
    assert "+ p" not in table(reps)  # SymPy's `-p^2 + p` never appears


def test_expectation_of_a_declared_density_shows_as_written(tmp_path):
    out = table(reports(tmp_path, DENSITY))
    assert rows(out) == ["E[z ~ q](log(px(z)))", "= E[z ~ q](log(px(z)))", "= E[y ~ q](log(px(y)))"]
    assert "\u21a6" not in out and "x \u21a6" not in out  # no Lambda, no bound variable renamed to x


def test_expectation_of_a_defined_distribution_shows_as_written(tmp_path):
    reps = reports(tmp_path, EXPECT)
    assert [s.result.status.value for s in reps[0].parts[0].steps] == ["proved"] * 3
    assert rows(table(reps)) == ["KL(q || p)", "= E[z ~ q](log(pdf(q, z) / pdf(p, z)))",
                                 "= E[z ~ q](((z - mu_p)^2 - (z - mu_q)^2) / (2 sigma^2))",
                                 "= (mu_p - mu_q)^2 / (2 sigma^2)"]


def test_a_line_that_does_not_parse_shows_its_relation_once(tmp_path):
    reps = reports(tmp_path, UNREADABLE)
    step = reps[0].parts[0].steps[1]
    assert (step.relation, step.text, step.result.status.value) == ("=", "(x + 1", "error")
    shown = rows(table(reps))
    assert shown[-1] == "= (x + 1"
    html_page = html.render(reps)
    assert "= = (x" not in html_page and "= (x + 1</code>" in html_page
    assert r"&= \texttt{(x + 1}" in latex.render(reps[0])


def test_html_typesets_divergences_and_expectations_of_defined_distributions(tmp_path):
    page = html.render(reports(tmp_path, EXPECT))
    assert "<code>" not in page  # every formula typeset, none left as source text
    maths = [ET.fromstring(m) for m in re.findall(r"<math .*?</math>", page)]
    idents = [el.text for m in maths for el in m.iter(NS + "mi")]
    assert "KL" in idents and "\U0001d53c" in idents  # KL(q ‖ p) and 𝔼_{z∼q}[...]
    ops = [el.text for m in maths for el in m.iter(NS + "mo")]
    assert "\u2016" in ops and "\u223c" in ops


def test_latex_typesets_divergences_and_expectations_of_defined_distributions(tmp_path):
    tex = latex.render(reports(tmp_path, EXPECT)[0])
    assert r"\texttt" not in tex.split(r"\begin{document}")[1]
    assert r"\textbf{Claim.}\[ \operatorname{KL}{\left(q \,\middle\|\, p\right)} = " \
           r"\frac{\left(\mu_{p} - \mu_{q}\right)^{2}}{2 \sigma^{2}} \]" in tex
    assert r"&= \mathbb{E}_{z \sim q}\left[\log{\left(\frac{\operatorname{pdf}{\left(q, z\right)}}" \
           r"{\operatorname{pdf}{\left(p, z\right)}}\right)}\right]" in tex


def test_typeset_formulas_keep_order_names_and_bound_variables(tmp_path):
    doc = POLY.replace("= p - p p", "= sum(j^2, j, 1, 1) p - p p")
    reps = reports(tmp_path, doc)
    first, _, last = [reps[0].parts[0].start_display, *(s.display for s in reps[0].parts[0].steps)]
    assert latex_of(first) == "p - p^{2}"
    assert latex_of(last) == r"\sum_{j = 1}^{1} j^{2} p - p p"
    root = ET.fromstring(mathml(first))
    assert [el.text for el in root.iter() if el.tag in (NS + "mi", NS + "mo", NS + "mn")] == \
        ["p", "\u2212", "p", "2"]


def test_products_written_next_to_a_bracket_show_as_the_checker_reads_them(tmp_path):
    doc = """\
    proofcheck: 1
    title: juxtaposition
    symbols:
      p, q: positive
      z: real
    steps: |
      1/p (q + 1) + p^z (1 - p)
        = (q + 1)/p + p^z - p^(z + 1)
    """
    reps = reports(tmp_path, doc)
    assert reps[0].parts[0].steps[0].result.status.value in ("proved", "numeric")
    start = reps[0].parts[0].start_display
    # (1/p)(q + 1) and p^z (1 - p), as the checker reads them: not 1/(p (q + 1)), not p^(z (1 - p))
    assert latex_of(start) == r"\frac{1}{p} \left(q + 1\right) + p^{z} \left(1 - p\right)"
    assert rows(table(reps))[0] == "1/p (q + 1) + p^z (1 - p)"


def documented_reports(tmp_path):
    """Every derivation quoted in docs/format.md and README.md as a report with its display trees, without
    running the kernel (the planner parses every line; every step is marked proved)."""
    from test_docs_links import _documented_derivations
    from proofcheck.kernel.verdict import Status, StepResult
    from proofcheck.verify import FileReport, PartReport, Planner, StepReport
    out = []
    for name, block in _documented_derivations():
        path = tmp_path / name
        path.write_text(block, encoding="utf-8")
        plan = Planner(Options(timeout=1)).plan_path(str(path))
        assert not plan.errors, (name, plan.errors)
        parts = [PartReport(pp.name, pp.claim, Status.PROVED, True, "",
                            [StepReport(s.index, s.line, s.column, s.relation, s.text, s.rule,
                                        StepResult(Status.PROVED, "symbolic"), s.display) for s in pp.steps],
                            pp.start_text, pp.start_display)
                 for pp in plan.parts]
        out.append(FileReport(str(path), plan.title, Status.PROVED, [], parts))
    return out


def test_every_documented_construct_prints_as_written_and_typesets(tmp_path):
    from proofcheck.report import written
    reps = documented_reports(tmp_path)
    assert len(reps) >= 20
    bodies = []
    for rep in reps:
        for p in rep.parts:
            for shown, source in [(p.start_display, p.start_text), *((s.display, s.text) for s in p.steps)]:
                assert written.is_written(shown), source
                assert written.text(shown) == source.split("#")[0].strip()  # as written, without comments
                assert latex_of(shown) is not None, source
                ET.fromstring(mathml(shown))
        tex = latex.render(rep, marks=True)
        body = tex.split(r"\maketitle")[1].split(r"\end{document}")[0]
        assert not re.findall(r"(?<!\\item\[)\\texttt", body), rep.path  # every formula typeset
        bodies.append(body)
    page = html.render(reps)
    assert "<code>" not in page
    from test_latex import compile_tex
    compile_tex(latex.PREAMBLE + "\\begin{document}\n" + "\n\\newpage\n".join(bodies) + "\\end{document}\n",
                tmp_path / "all")


def _value(w, names):
    """The written tree read back as arithmetic (tests only): what the display says the formula is."""
    import sympy as sp
    k, a = w.kind, w.args
    if k == "num":
        return sp.Rational(w.text)
    if k in ("name", "const"):
        return {"pi": sp.pi}.get(w.text) or names[w.text]
    if k == "group":
        return _value(a[0], names)
    if k == "neg":
        return -_value(a[0], names)
    if k == "call":
        return {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt}[w.text](_value(a[0], names))
    x, y = (_value(i, names) for i in a)
    return {"add": x + y, "sub": x - y, "mul": x * y, "jux": x * y, "div": x / y, "pow": x ** y}[k]


def test_the_display_says_what_the_checker_reads():
    """Read back as arithmetic, every display is the formula the kernel checks (products written next to a
    bracket, powers and quotients around them, unary minus in exponents)."""
    import sympy as sp
    from proofcheck.model import Declaration, Span, Text
    from proofcheck.parse import build_scope, parse_expression_or_relation
    from proofcheck.report import written
    path = "<t>"
    decls = [Declaration(("p", "q", "z"), Text("positive", path, ((1, 1),)), Span(path, 1, 1))]
    scope = build_scope(decls, [])
    names = {n: scope.symbols[n].obj for n in ("p", "q", "z")}
    for src in ["1/p (q + 1)", "p^z (1 - p)", "p (q + 1)^2", "p (q)^z (1 - p)", "p^-z (1 - p)", "z / p (q + 1)^2",
                "2 pi (p + q)", "1/2 p^2 q", "-p^2 - -q", "p/q/z", "p/q z", "p^q^z", "-p^-q", "exp(p) (q - 1)/z",
                "sqrt(p) q (z)", "p (q) (z)^2", "log(p)^2 (q + 1)", "(p + q)/(2 z) (p - q)", "p - q - z",
                "p - (q - z)", "2 3 p", "p^2 (q)", "1/p (q) (z)"]:
        text = Text(src, path, ((1, 1),))
        checked = parse_expression_or_relation(text, scope)
        shown = _value(written.line(text, scope), names)
        assert sp.simplify(shown - checked) == 0, (src, shown, checked)


def test_an_entry_after_a_call_or_a_bracket_shows_as_the_checker_reads_it():
    """`inv(X)[1, 2]` and `(X^-1)[2, 1]` are entries (typeset with a subscript); `det(X) [[a, b], [c, d]]^-1` is a
    product whose power belongs to the bracket; Law[...] is named as written (not as Var)."""
    from proofcheck.model import Declaration, Span, Text
    from proofcheck.parse import build_scope
    from proofcheck.report import written
    path = "<t>"
    scope = build_scope([Declaration(("a", "b", "c", "d"), Text("real", path, ((1, 1),)), Span(path, 1, 1))], [])

    def shown(src):
        w = written.line(Text(src, path, ((1, 1),)), scope)
        assert written.text(w) == src
        return w, latex_of(w)

    w, tex = shown("inv([[a, b], [c, d]])[1, 2]")
    assert w.kind == "entry" and tex.endswith(r"\right)}_{1, 2}")
    w, tex = shown("([[a, b], [c, d]]^-1) [2, 1]")
    assert w.kind == "entry" and tex.endswith(r"^{-1}\right)}_{2, 1}")
    w, tex = shown("det([[a, b], [c, d]]) [[a, b], [c, d]]^-1")
    assert w.kind == "jux" and w.args[1].kind == "pow" and w.args[1].args[0].kind == "bracket"
    w, tex = shown("(a + b)[1, 2]")  # a scalar times a column
    assert w.kind == "jux" and w.args[1].kind == "bracket"
    w, tex = shown("Law[a ~ Normal(0, 1)](2 a)")
    assert tex.startswith(r"\operatorname{Law}_")
    ET.fromstring(mathml(w))
