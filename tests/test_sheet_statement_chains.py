"""Statement chains of real sheets: what comes after an arrow and how it is checked."""

from __future__ import annotations

import pytest

from proofcheck.errors import ProofcheckError
from test_latex_input import declarations
from test_sheet_honesty import grade_sheets, statuses

SOLVE_KEY = """\
proofcheck: 1
title: A double root
symbols:
  x: real
claim: x^2 - 4 x + 4 = 0 ==> x = 2
steps: |
  x^2 - 4 x + 4 = 0
    ==> (x - 2)^2 = 0
    ==> x = 2
grading:
  final: 2
  per_step: 1
"""


def test_an_equation_written_on_after_an_arrow_is_not_read(tmp_path):
    # red team 19: read as the implication (x-2)^2 = x^2 - 4x + 4 ==> (x-2)^2 = 0 from the line before alone, a
    # correct `= 0` (true under the premise two lines up) was refuted and a false `= x^2 - 4` passed; not read, as
    # before this session, with the sheet flagged for review
    g = grade_sheets(tmp_path, SOLVE_KEY, {
        "right.md": "$$x^2 - 4x + 4 = 0$$\n\n$$\\Rightarrow (x-2)^2 = x^2 - 4x + 4 = 0$$\n\n$$\\Rightarrow x = 2$$\n",
        "wrong.md": "$$x^2 - 4x + 4 = 0$$\n\n$$\\Rightarrow (x-2)^2 = x^2 - 4 = 0$$\n\n$$\\Rightarrow x = 2$$\n"})
    for name, sheet in g.items():
        assert "refuted" not in statuses(sheet) and "error" in statuses(sheet), (name, statuses(sheet))
        assert sheet.needs_review and sheet.score < sheet.max_score, (name, sheet.feedback)


def test_an_entry_subscript_on_a_bracket_is_read_literally():
    # `p^2(X^T X)_{ij}` among matrices (seed 004, l.61, SEED_NOTES 1.1 item 5) is the matrix p^2 X^T X; a transpose
    # (`_{ji}` beside `_{ij}`), a diagonal (`_{ii}`) or a declared index is not dropped
    from proofcheck.latex import Names, translate
    names = Names()
    names.add(declarations({"n, d": "positive integer", "X": "matrix(n, d)", "p": "interval(0, 1)"}), [])
    assert translate(r"\operatorname{diag}(X^\top X) + p^2(\boldsymbol{X}^{\top}\boldsymbol{X})_{ij}", names) == \
        "diag(X^T X) + p^2 (X^T X)"
    # red team 19: `((AB)^T)_{ij} = (AB)_{ji}`, each side an entry alone, read as (AB)^T = AB was refuted
    for kept in (r"(X^\top X)_{ij} + (X^\top X)_{ji}", r"(X^\top X)_{ii}", r"p^2 (X^\top X)_{ij}"):
        with pytest.raises(ProofcheckError):
            translate(kept, names)
    declared = Names()
    declared.add(declarations({"n, d": "positive integer", "X": "matrix(n, d)", "i, j": "integer"}), [])
    with pytest.raises(ProofcheckError):
        translate(r"(X^\top X)_{ij}", declared)


def test_a_dummy_derivative_does_not_dress_the_answer_as_the_question(tmp_path):
    # round 17: `+ \frac{d}{dx} 5` takes no derivative of anything; the chain still starts from its answer
    from test_sheet_red_team_16 import DERIVATIVE_KEY
    g = grade_sheets(tmp_path, DERIVATIVE_KEY, {
        "dummy.md": "$$x(2\\sin x + x\\cos x) + \\frac{d}{dx} 5 = 2x\\sin x + x^2\\cos x$$\n",
        # red team 19: a derivative of a linear body is a constant too
        "linear.md": "$$x(2\\sin x + x\\cos x) - 1 + \\frac{d}{dx}(x) = 2x\\sin x + x^2\\cos x$$\n",
        # red team 19: a nonlinear body, its derivative's value taken away beside it (3/4 before); a polynomial too
        "sine.md": "$$x(2\\sin x + x\\cos x) - \\cos x + \\frac{d}{dx}\\sin x = 2x\\sin x + x^2\\cos x$$\n",
        "square.md": "$$x(2\\sin x + x\\cos x) - 2x + \\frac{d}{dx}x^2 = 2x\\sin x + x^2\\cos x$$\n",
        "real.md": "$$\\frac{d}{dx}(x^2 \\sin x) = 2x\\sin x + x^2 \\frac{d}{dx} \\sin x = 2x\\sin x + x^2\\cos x$$\n",
        # the product rule applied on the first line, no derivative worked out yet: the question, rewritten
        "product.md": "$$\\frac{d}{dx}(x^2) \\sin x + x^2 \\frac{d}{dx}\\sin x = 2x\\sin x + x^2\\cos x$$\n"})
    for name in ("dummy.md", "linear.md"):
        assert g[name].parts[0].final_points == 0, g[name].feedback
        assert "the question has a derivative, the first line does not" in g[name].feedback
    for name in ("sine.md", "square.md"):
        assert g[name].parts[0].final_points == 0, g[name].feedback
        assert "equals the question only through derivatives already worked out" in g[name].feedback
    assert g["real.md"].parts[0].final_points == 2, g["real.md"].feedback
    assert g["product.md"].parts[0].final_points == 2, g["product.md"].feedback


def test_numcases_is_a_brace_of_cases_not_steps(tmp_path):
    # round 17: its condition column (`x \geq 0`) was read as steps; it is listed as not read, with why
    from test_sheet_honesty import KEY
    sheet = ("$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2$$\n\n"
             "\\begin{numcases}{|x| =}\nx, & x \\geq 0 \\\\\n-x, & x < 0\n\\end{numcases}\n")
    g = grade_sheets(tmp_path, KEY, {"s.md": sheet})["s.md"]
    assert statuses(g) == ["proved", "proved"] and g.score == g.max_score
    unread = [n for n in g.formulas if n.kind == "not read"]
    assert [(n.line, n.reason.split(" (")[0]) for n in unread] == [(3, "cases")]


def test_the_branch_a_tex_switch_hides_is_not_graded(tmp_path):
    # round 17: `\iftrue A \else B \fi` compiles to A; B (a wrong step here) was graded
    from test_sheet_red_team_16 import PER_STEP_KEY
    start = "\\[ (x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy \\]\n"
    sheets = {"iftrue.tex": start + "\\iftrue\n\\[ = x^2 + y^2 \\]\n\\else\n\\[ = x^2 + y^2 + 9 \\]\n\\fi\n",
              "iffalse.tex": start + "\\iffalse\n\\[ = x^2 + y^2 + 9 \\]\n\\else\n\\[ = x^2 + y^2 \\]\n\\fi\n"}
    for name, g in grade_sheets(tmp_path, PER_STEP_KEY, sheets).items():
        assert (g.score, g.max_score, statuses(g)) == (4, 4, ["proved", "proved"]), (name, g.feedback)


def test_padding_beside_a_wrong_answer_earns_nothing(tmp_path):
    # round 17: one chain from the question (here a wrong one) made every trivial chain of the part "work on it"
    from test_sheet_red_team_16 import DERIVATIVE_KEY, PER_STEP_KEY
    pad = "$$x \\cdot x = x^2$$\n\n$$x + x = 2x$$\n\n$$y \\cdot y = y^2$$\n"
    g = grade_sheets(tmp_path, PER_STEP_KEY, {"wrong.md": pad + "\n$$(x+y)^2 - 2xy = 7$$\n",
                                              "right.md": pad + "\n$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = "
                                                                "x^2 + y^2$$\n"})
    assert g["wrong.md"].score == 0, g["wrong.md"].feedback
    assert g["right.md"].score == 4, g["right.md"].feedback  # the real derivation keeps every point
    d = grade_sheets(tmp_path, DERIVATIVE_KEY, {
        "c7.md": "$$\\frac{d}{dx}\\left(x^2 \\sin x\\right) = 7$$\n\n$$x \\cdot x = x^2$$\n\n$$x + x = 2x$$\n"})
    assert d["c7.md"].score == 0, d["c7.md"].feedback


def test_a_lemma_the_derivation_uses_keeps_its_credit(tmp_path):
    # `(x+y)^2 = (x+y)(x+y) = x^2 + 2xy + y^2` works out a part of the main chain's first line: work on the question
    from test_sheet_red_team_16 import PER_STEP_KEY
    sheet = ("$$(x+y)^2 = (x+y)(x+y) = x^2 + 2xy + y^2$$\n\n"
             "$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2$$\n")
    part = grade_sheets(tmp_path, PER_STEP_KEY, {"lemma.md": sheet})["lemma.md"].parts[0]
    lemma = [pts for s, pts in zip(part.steps, part.step_points) if s.line == 1]
    assert len(lemma) == 2 and all(pts > 0 for pts in lemma), part.feedback


CUBE_KEY = """\
proofcheck: 1
title: Cube of a sum
symbols:
  x, y: real
claim: (x + y)^3 - x^3 - y^3 = 3 x y (x + y)
steps: |
  (x + y)^3 - x^3 - y^3
    = (x + y)(x + y)^2 - x^3 - y^3
    = (x + y)(x^2 + 2 x y + y^2) - x^3 - y^3
    = x^3 + 3 x^2 y + 3 x y^2 + y^3 - x^3 - y^3
    = 3 x y (x + y)
grading:
  final: 2
  per_step: 1
"""


def test_a_derivation_over_three_displays_keeps_its_credit(tmp_path):
    # red team 19: the middle display (the expansion) is a lemma as written, though SymPy rewrites the lines using it
    sheet = ("We write the cube as a product:\n$$(x+y)^3 - x^3 - y^3 = (x+y)(x+y)^2 - x^3 - y^3$$\n"
             "The product expands as\n$$(x+y)(x^2 + 2xy + y^2) = x^3 + 2x^2y + xy^2 + x^2y + 2xy^2 + y^3 = "
             "x^3 + 3x^2y + 3xy^2 + y^3$$\nso that\n$$x^3 + 3x^2y + 3xy^2 + y^3 - x^3 - y^3 = 3x^2y + 3xy^2 = "
             "3xy(x+y)$$\n")
    g = grade_sheets(tmp_path, CUBE_KEY, {"m3.md": sheet})["m3.md"]
    assert (g.score, g.max_score) == (6, 6), g.feedback


def test_sympy_s_own_rewrites_are_no_lemma_beside_a_wrong_answer(tmp_path):
    # red team 19: `(x+y)(x+y) = (x+y)^2` beside a wrong answer earned step points as a "lemma"
    from test_sheet_red_team_16 import PER_STEP_KEY
    sheet = ("$$(x+y)^2 - 2xy = 7$$\n\n$$(x+y)(x+y) = (x+y)^2$$\n\n$$(x+y)^{2} = (x+y)^1 (x+y)^1$$\n")
    g = grade_sheets(tmp_path, PER_STEP_KEY, {"p5.md": sheet})["p5.md"]
    assert g.score == 0, g.feedback


def test_iff_is_no_tex_conditional(tmp_path):
    # red team 19: `\iff` inside an `\iffalse` draft was counted as an `\if...`, so the draft ran to the end of the file
    from test_sheet_red_team_16 import PER_STEP_KEY
    sheet = ("\\iffalse\ndraft: $x = y \\iff (x-y)^2 = 0$\n\\fi\n"
             "\\[ (x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2 \\]\n")
    g = grade_sheets(tmp_path, PER_STEP_KEY, {"t1.tex": sheet})["t1.tex"]
    assert (g.score, g.max_score) == (4, 4), g.feedback


def test_subnumcases_is_listed_too(tmp_path):
    # red team 19: a `subnumcases` block got no formula record at all
    from test_sheet_honesty import KEY
    sheet = ("$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2$$\n\n"
             "\\begin{subnumcases}{(x+y)^2 - 2xy =}\nx^2 + y^2, & always \\\\\nx^2 + y^2 + 1, & never\n"
             "\\end{subnumcases}\n")
    g = grade_sheets(tmp_path, KEY, {"s.md": sheet})["s.md"]
    assert g.score == g.max_score
    assert [(n.line, n.reason.split(" (")[0]) for n in g.formulas if n.kind == "not read"] == [(3, "cases")]


def test_a_justification_after_the_answer_is_not_the_answer(tmp_path):
    # red team 19: `since $(x+y)^2 = x^2 + 2xy + y^2$` after a correct derivation was taken as the answer (2/4)
    from test_sheet_red_team_16 import PER_STEP_KEY
    chain = "$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2$$\n"
    g = grade_sheets(tmp_path, PER_STEP_KEY, {
        "since.md": chain + "\nsince $$(x+y)^2 = x^2 + 2xy + y^2.$$\n",
        "inline.md": chain + "\nThis uses $(x+y)^2 = x^2 + 2xy + y^2$.\n",
        "where.md": chain + "\nwhere we used $(x+y)^2 = (x+y)(x+y)$.\n",
        # a false justification is no remark to pass over: the answer is still the last line written
        "false.md": chain + "\nsince $$(x+y)^2 = x^2 + y^2.$$\n",
        # nor is a line that goes on from the answer
        "on.md": chain + "\n$$x^2 + y^2 = y^2 + x^2 + 1$$\n"})
    for name in ("since.md", "inline.md", "where.md"):
        assert (g[name].score, g[name].max_score) == (4, 4), (name, g[name].feedback)
    for name in ("false.md", "on.md"):
        assert g[name].parts[0].final_points == 0, (name, g[name].feedback)


def test_the_claim_written_after_its_lemmas_is_the_answer(tmp_path):
    # red team 19: "First ... Hence (question) = (result)" scored 0: the conclusion was set aside as a restatement
    from test_sheet_red_team_16 import PER_STEP_KEY
    claim = "Hence $$(x+y)^2 - 2xy = x^2 + y^2.$$\n"
    g = grade_sheets(tmp_path, PER_STEP_KEY, {
        "first.md": "First, $$(x+y)^2 = x^2 + 2xy + y^2.$$\n" + claim,
        # no lemma of the claim before it, or the claim first: a restatement, as before
        "padding.md": "First, $$x + x = 2x.$$\n" + claim,
        "alone.md": claim,
        "before.md": "We show $$(x+y)^2 - 2xy = x^2 + y^2.$$\nFirst, $$(x+y)^2 = x^2 + 2xy + y^2.$$\n"})
    first = g["first.md"]
    assert (first.score, first.max_score, first.parts[0].final_points) == (3, 4, 2), first.feedback
    for name in ("padding.md", "alone.md", "before.md"):
        assert g[name].parts[0].final_points == 0, (name, g[name].feedback)
