"""Markdown/LaTeX sheets as students write them: no misread and no choice of chain may turn wrong or
missing work into marks (issue 18), and a line we cannot read for sure is flagged, not marked down."""

from __future__ import annotations

import textwrap
from pathlib import Path

from proofcheck.grade import grade_paths, load_key
from proofcheck.verify import Options

OPTIONS = Options(timeout=3, jobs=2)

# Two steps; final 2 + steps 2 = 4 points.
KEY = """\
proofcheck: 1
title: Square of a sum
symbols:
  x, y: real
claim: (x + y)^2 - 2 x y = x^2 + y^2
steps: |
  (x + y)^2 - 2 x y
    = x^2 + 2 x y + y^2 - 2 x y
    = x^2 + y^2
grading:
  final: 2
  steps_total: 2
"""

# final 3 + steps 2 = 5 points
KL_KEY = """\
proofcheck: 1
title: KL of two Gaussians with one variance
symbols:
  mu_p, mu_q: real
  sigma: positive
claim: ((mu_p - mu_q)/sigma)^2 / 2 = (mu_p - mu_q)^2/(2 sigma^2)
steps: |
  ((mu_p - mu_q)/sigma)^2 / 2
    = (mu_p - mu_q)^2/sigma^2 / 2
    = (mu_p - mu_q)^2/(2 sigma^2)
grading:
  final: 3
  steps_total: 2
"""

DIFF_KEY = """\
proofcheck: 1
title: A derivative
symbols:
  x: real
claim: diff(x^2 + x, x) = 2 x + 1
steps: |
  diff(x^2 + x, x)
    = diff(x^2, x) + diff(x, x)
    = 2 x + 1
grading:
  final: 2
  steps_total: 1
"""


def grade_sheets(tmp_path: Path, key_text: str, sheets: dict[str, str]) -> dict:
    """Grade Markdown sheets {name: text} against a key; returns {name: Grade}."""
    key_path = tmp_path / "key.yaml"
    key_path.write_text(key_text, encoding="utf-8")
    key, errors = load_key(str(key_path), OPTIONS)
    assert errors == [], errors
    paths = []
    for name, text in sheets.items():
        p = tmp_path / name
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        paths.append(str(p))
    grades, _ = grade_paths(paths, key, OPTIONS)
    return {Path(g.path).name: g for g in grades}


def statuses(g) -> list[str]:
    return [s.result.status.value for p in g.parts for s in p.steps]


CORRECT = r"""
    ## Problem 1

    We expand the square and cancel the cross terms.

    $$
    \begin{aligned}
    (x+y)^2 - 2xy &= x^2 + 2xy + y^2 - 2xy \\
    &= x^2 + y^2
    \end{aligned}
    $$
"""


# ---------------------------------------------------------------------------------------------
# Continuation rows


def test_a_continuation_row_is_part_of_the_same_side(tmp_path):
    grades = grade_sheets(tmp_path, KEY, {
        # both written steps are wrong: the continued row adds 2xy back
        "wrong.md": r"""
            ## Problem 1

            Expanding,
            $$
            \begin{aligned}
            (x+y)^2 - 2xy &= x^2 + 2xy + y^2 - 2xy \\
            &\quad + 2xy \\
            &= x^2 + y^2
            \end{aligned}
            $$
        """,
        # the same row structure with correct work: `& + c` and a multline `\\ - c`
        "right.md": r"""
            ## Problem 1

            \begin{align}
            (x+y)^2 - 2xy &= x^2 + 2xy + y^2 \\
            & - 2xy \\
            &= x^2 + y^2
            \end{align}
        """,
        "multline.md": r"""
            \begin{multline}
            (x+y)^2 - 2xy = x^2 + 2xy \\
            + y^2 - 2xy = x^2 + y^2
            \end{multline}
        """,
        "correct.md": CORRECT,
    })
    wrong = grades["wrong.md"]
    assert statuses(wrong) == ["refuted", "refuted"]
    assert "+ 2 x y" in wrong.parts[0].steps[0].text.replace("2xy", "2 x y")
    assert wrong.score < wrong.max_score
    for name in ("right.md", "multline.md", "correct.md"):
        g = grades[name]
        assert statuses(g) == ["proved", "proved"], name
        assert (g.score, g.max_score) == (4, 4), (name, g.feedback)


# ---------------------------------------------------------------------------------------------
# Which chain is graded; restatements


def test_a_copied_question_does_not_stand_in_for_the_work(tmp_path):
    grades = grade_sheets(tmp_path, KEY, {
        "copied.md": r"""
            ## Problem 1

            We must show $$(x+y)^2 - 2xy = x^2 + y^2.$$

            Since
            $$(x+y)^2 = x^2 + y^2,$$
            the claim follows.
        """,
        "copied_then_correct.md": r"""
            ## Problem 1

            We must show $$(x+y)^2 - 2xy = x^2 + y^2.$$
        """ + textwrap.dedent(CORRECT),
    })
    copied = grades["copied.md"]
    assert statuses(copied) == ["refuted"]  # the student's own step, not the copied question
    assert copied.score == 0
    assert "restates" in copied.feedback
    good = grades["copied_then_correct.md"]
    assert (good.score, good.max_score) == (4, 4), good.feedback


def test_a_restated_conclusion_cannot_hide_a_wrong_step(tmp_path):
    grades = grade_sheets(tmp_path, KEY, {
        "hence.md": r"""
            ## Problem 1

            $$(x+y)^2 - 2xy = x^2 + 2xy + y^2$$

            Hence $$(x+y)^2 - 2xy = x^2 + y^2.$$
        """,
        "honest.md": textwrap.dedent(CORRECT) + "\nHence $$(x+y)^2 - 2xy = x^2 + y^2.$$\n",
    })
    hence = grades["hence.md"]
    assert statuses(hence) == ["refuted"]
    assert hence.score == 0 and hence.parts[0].final_matches_claim is False
    assert "restates" in hence.feedback
    honest = grades["honest.md"]
    assert (honest.score, honest.max_score) == (4, 4), honest.feedback


def test_an_answer_alone_earns_nothing(tmp_path):
    grades = grade_sheets(tmp_path, KEY, {
        "bare.md": "$$(x+y)^2 - 2xy = x^2 + y^2$$\n",
        "def.md": r"$$(x+y)^2 - 2xy \stackrel{\text{def}}{=} x^2 + y^2$$" + "\n",
        "ways.md": r"$$(x+y)^2 - 2xy = x^2 + y^2 = y^2 + x^2$$" + "\n",
        "correct.md": CORRECT,
    })
    for name in ("bare.md", "def.md", "ways.md"):
        g = grades[name]
        assert g.score == 0, (name, g.feedback)
        assert "restates" in g.feedback, name
    assert grades["correct.md"].score == 4


def test_every_chain_of_the_question_is_graded_in_order(tmp_path):
    g = grade_sheets(tmp_path, KEY, {"two.md": r"""
        First the square:
        $$(x+y)^2 = x^2 + 2xy + y^2 + 1$$
        so
        $$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2$$
    """})["two.md"]
    # the side computation is wrong and is graded with the rest: it costs its share of the steps
    assert statuses(g) == ["refuted", "proved", "proved"]
    assert g.parts[0].first_error == 1
    assert 0 < g.score < g.max_score


# ---------------------------------------------------------------------------------------------
# Lines with two readings


def test_ambiguous_division_is_flagged_not_marked_down(tmp_path):
    grades = grade_sheets(tmp_path, KL_KEY, {
        "kl.md": r"""
            ## KL

            $$
            \begin{aligned}
            \frac{1}{2}\left(\frac{\mu_p-\mu_q}{\sigma}\right)^2
            &= \frac{(\mu_p-\mu_q)^2}{\sigma^2} \cdot \frac{1}{2} \\
            &= (\mu_p-\mu_q)^2/2\sigma^2
            \end{aligned}
            $$
        """,
        "plain.md": r"""
            $$
            \frac{1}{2}\left(\frac{\mu_p-\mu_q}{\sigma}\right)^2
            = \frac{(\mu_p-\mu_q)^2}{\sigma^2} \cdot \frac{1}{2}
            = \frac{(\mu_p-\mu_q)^2}{2\sigma^2}
            $$
        """,
    })
    kl = grades["kl.md"]
    assert kl.needs_review
    assert kl.score == kl.max_score == 5  # no silent deduction: the credit stands, flagged for review
    assert "two readings" in kl.feedback
    assert any("two readings" in s.result.message for s in kl.parts[0].steps)  # said on the line
    plain = grades["plain.md"]
    assert (plain.score, plain.needs_review) == (5, False)
    from proofcheck.report.grade_report import grade_dict
    doc = grade_dict(kl)
    assert doc["needs_review"] is True and doc["parts"][0]["needs_review"] is True
    assert "two readings" in doc["parts"][0]["review_reasons"][0]


def test_derivative_of_a_sum_is_flagged(tmp_path):
    grades = grade_sheets(tmp_path, DIFF_KEY, {
        "d.md": r"$$\frac{d}{dx} x^2 + x = \frac{d}{dx} x^2 + \frac{d}{dx} x = 2x + 1$$" + "\n",
        "wrong.md": r"$$\frac{d}{dx} (x^2 + x) = 2x$$" + "\n",
    })
    d = grades["d.md"]
    assert d.needs_review and d.score == d.max_score, d.feedback
    wrong = grades["wrong.md"]  # bracketed: one reading, and it is wrong
    assert not wrong.needs_review and statuses(wrong) == ["refuted"] and wrong.score == 0


# ---------------------------------------------------------------------------------------------
# Inline math


def test_inline_math_is_read(tmp_path):
    grades = grade_sheets(tmp_path, KEY, {
        "inline.md": "Expanding, $(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2$ as required.\n",
        "inline_wrong.md": "Expanding, $(x+y)^2 - 2xy = x^2 + 2xy + y^2$, where $x \\in \\mathbb{R}$.\n",
    })
    ok = grades["inline.md"]
    assert statuses(ok) == ["proved", "proved"] and ok.score == 4, ok.feedback
    assert "unexpected character" not in ok.feedback
    wrong = grades["inline_wrong.md"]
    assert statuses(wrong) == ["refuted"] and wrong.score == 0
    assert "unexpected character" not in wrong.feedback and "$" not in wrong.feedback


def test_show_work_false_lets_the_answer_alone_earn_its_points(tmp_path):
    key = KEY.replace("  steps_total: 2\n", "  steps_total: 2\n  show_work: false\n")
    g = grade_sheets(tmp_path, key, {"bare.md": "$$(x+y)^2 - 2xy = x^2 + y^2$$\n"})["bare.md"]
    assert g.score == g.max_score == 4


def test_a_one_step_key_accepts_the_one_step(tmp_path):
    # the key's chain is one step, so writing it is the work (unless the key says show_work: true)
    g = grade_sheets(tmp_path, DIFF_KEY.replace("    = 2 x + 1\n", "    = 2 x + 1\n", 1).replace(
        "  diff(x^2 + x, x)\n    = diff(x^2, x) + diff(x, x)\n", "  diff(x^2 + x, x)\n"),
        {"one.md": r"$$\frac{d}{dx}\left(x^2 + x\right) = 2x + 1$$" + "\n"})["one.md"]
    assert g.score == g.max_score, g.feedback


# sectioned key: the student's own names (`L(w) = ...`) are definitions for the rest of the section
DEF_KEY = """\
proofcheck: 1
title: A derivative of the student's own loss
parts:
  - name: main
    symbols:
      w, a: real
    claim: diff(w^2 - a w, w) = 2 w - a
    steps: |
      diff(w^2 - a w, w)
        = 2 w - a
grading:
  parts:
    main: {section: "1"}
"""


def test_the_students_own_definition_is_used_and_checked(tmp_path):
    # seed 004 lines 117-121: `L(w) = ...` names the student's loss (the key does not declare L); the derivative of
    # L(w) after it reads with that definition, so a wrong derivative is refuted at its line (here: a sign)
    gs = grade_sheets(tmp_path, DEF_KEY, {
        "right.md": "Question 1\n\n$$L(w) = w^2 - a w$$\n\n$$\\frac{\\partial L(w)}{\\partial w} = 2 w - a$$\n",
        "wrong.md": "Question 1\n\n$$L(w) = w^2 - a w$$\n\n$$\\frac{\\partial L(w)}{\\partial w} = 2 w + a$$\n",
        # a value (`L = 2`), `\Rightarrow L = ...` and a law (`L(w) = \mathcal{N}(...)`) are not notation
        "value.md": "Question 1\n\n$$L = 1 + 1$$\n\n$$\\Rightarrow K = w$$\n\n$$L(w) = \\mathcal{N}(w, 1)$$\n",
    })
    right, wrong, value = gs["right.md"], gs["wrong.md"], gs["value.md"]
    assert [(f.line, f.kind) for f in right.formulas] == [(3, "definition"), (5, "read")]
    assert "`L`" in right.formulas[0].reason
    assert statuses(right) == ["proved"] and right.score == right.max_score
    assert statuses(wrong) == ["refuted"] and wrong.score == 0
    assert [f.kind for f in value.formulas] == ["not read", "not read", "not read"]


# ---------------------------------------------------------------------------------------------
# Results stated under a case (seed 004, line 516)

CASE_KEY = """\
proofcheck: 1
title: Factor
symbols:
  gamma: positive
claim: gamma^2 - 1 = (gamma - 1) (gamma + 1)
steps: |
  gamma^2 - 1
    = (gamma - 1) (gamma + 1)
grading:
  final: 2
  steps_total: 1
"""


def test_a_result_under_a_prose_case_is_checked_under_it_and_is_not_the_answer(tmp_path):
    # `if $0 < \gamma < 1$, then $\sqrt{\gamma^2 - 1} = i\sqrt{1 - \gamma^2}$` holds under its case only: checked
    # without it, it was refuted at gamma = 1/2; a wrong twin is still refuted inside the case; and a remark under a
    # case after the work is not the student's final answer
    work = "$$\\gamma^2 - 1 = (\\gamma - 1)(\\gamma + 1)$$\n\n"
    grades = grade_sheets(tmp_path, CASE_KEY, {
        "case.md": work + "If $0 < \\gamma < 1$, then $\\sqrt{\\gamma^2 - 1} = i\\sqrt{1 - \\gamma^2}$, and thus "
                          "$\\gamma^2 - 1 < 0$. If $\\gamma \\geq 1$, then $\\sqrt{\\gamma^2 - 1} \\geq 0$.\n",
        "case_wrong.md": work + "If $0 < \\gamma < 1$, then $\\sqrt{\\gamma^2 - 1} = -i\\sqrt{1 - \\gamma^2}$, and "
                                "thus $\\gamma^2 - 1 > 0$. If $\\gamma \\geq 1$, then $\\sqrt{\\gamma^2 - 1} \\geq 1$.\n",
    })
    ok = grades["case.md"]
    assert statuses(ok) == ["proved", "numeric", "proved", "proved"] and ok.score == ok.max_score == 3, ok.feedback
    wrong = grades["case_wrong.md"]
    assert statuses(wrong) == ["proved", "refuted", "refuted", "refuted"], wrong.feedback
    assert wrong.parts[0].final_matches_claim and wrong.score < 3


PM_EIGEN_KEY = """\
proofcheck: 1
title: Eigenvalues of a symmetric 2 x 2 matrix
parts:
  - name: main
    symbols:
      a, b: real
    claim: eigenvals([[a, b], [b, a]]) = {a + b, a - b}
    steps: |
      eigenvals([[a, b], [b, a]])
        = {a + b, a - b}
grading:
  parts:
    main: {section: "1"}
"""


def test_plus_minus_eigenvalues_of_the_matrix_before_them(tmp_path):
    # seed 000 lines 305 and 328: `\lambda_{\frac12} = a \pm b` under "Eigenvalues of the given matrix are:" right after
    # a matrix written out is the step eigenvals(M) = {a + b, a - b}; a wrong pair is refuted at its line, and
    # without the prose naming eigenvalues the label does not say which matrix (not read)
    matrix = "Question 1\n\n$$M = \\begin{pmatrix} a & b \\\\ b & a \\end{pmatrix}$$\n\n"
    gs = grade_sheets(tmp_path, PM_EIGEN_KEY, {
        "right.md": matrix + "Eigenvalues of the given matrix are:\n\n$$\\lambda_{1,2} = a \\pm b$$\n",
        "wrong.md": matrix + "Eigenvalues of the given matrix are:\n\n$$\\lambda_{\\frac{1}{2}} = a \\pm 2 b$$\n",
        "unnamed.md": matrix + "Then:\n\n$$\\lambda_{1,2} = a \\pm b$$\n",
    })
    right, wrong, unnamed = gs["right.md"], gs["wrong.md"], gs["unnamed.md"]
    assert [(s.line, s.result.status.value) for p in right.parts for s in p.steps] == [(7, "proved")]
    assert right.score == right.max_score
    assert [(s.line, s.result.status.value) for p in wrong.parts for s in p.steps] == [(7, "refuted")]
    assert wrong.score == 0
    assert [(f.line, f.kind) for f in unnamed.formulas if f.line == 7] == [(7, "not read")]


EIGEN_KEY = """\
proofcheck: 1
title: Characteristic polynomial
symbols:
  lambda: complex
claim: det([[-lambda, -1/2], [1/2, -lambda]]) = lambda^2 + 1/4
steps: |
  det([[-lambda, -1/2], [1/2, -lambda]])
    = lambda^2 + 1/4
grading:
  final: 2
  steps_total: 1
"""


def test_an_eigenvector_list_is_checked_against_the_determinant_written_out(tmp_path):
    # seed 004, lines 444-445 and 522: `\lambda = c \rightarrow \boldsymbol{u} = (...)` checks (A - c I) u = 0 for the
    # matrix of the student's det(A - \lambda I); a mislabelled vector is refuted (an integer vector is a product,
    # not an entry of the matrix); these checks are not the part's final answer
    sheet = ("$$\\det\\begin{pmatrix} -\\lambda & -1/2 \\\\ 1/2 & -\\lambda \\end{pmatrix} = \\lambda^2 + 1/4$$\n\n"
             "$$\\lambda = i/2 \\rightarrow \\boldsymbol{u} = \\begin{pmatrix} i \\\\ 1 \\end{pmatrix} \\qquad "
             "\\lambda = -i/2 \\rightarrow \\boldsymbol{u} = \\begin{pmatrix} i \\\\ 1 \\end{pmatrix} \\qquad "
             "\\lambda = 1 \\rightarrow \\boldsymbol{u} = \\begin{pmatrix} 0 \\\\ 1 \\end{pmatrix}$$\n")
    g = grade_sheets(tmp_path, EIGEN_KEY, {"eigen.md": sheet})["eigen.md"]
    assert statuses(g) == ["proved", "proved", "refuted", "refuted"], g.feedback
    assert g.parts[0].final_matches_claim


VEC_DEF_KEY = """\
proofcheck: 1
title: Gradient of a least-squares loss
parts:
  - name: main
    symbols:
      n, d: positive integer
      X: matrix(n, d)
      w: vector(d)
      y: vector(n)
    claim: grad(||y - X w||^2, w) = -2 X^T (y - X w)
    steps: |
      grad(||y - X w||^2, w)
        = -2 X^T (y - X w)
grading:
  parts:
    main: {section: "1"}
"""


def test_a_student_definition_with_a_vector_parameter_is_not_taken(tmp_path):
    # seed 004 l.117: `L(w) = ||y - Xw||^2` with the key's vector w; the checker reads a definition's parameters as
    # scalars, so taking it would turn the lines that use L into errors: it stays not read (and flagged)
    g = grade_sheets(tmp_path, VEC_DEF_KEY, {"s.md": "Question 1\n\n$$L(\\boldsymbol{w}) = \\|\\boldsymbol{y} - "
                                                    "\\boldsymbol{X}\\boldsymbol{w}\\|^2$$\n"})["s.md"]
    assert [f.kind for f in g.formulas] == ["not read"] and "`L`" in g.formulas[0].reason
    assert not g.errors
