"""Misreadings and credit without work found by a red-team pass over the LaTeX grading path: each of these sheets
was once graded wrongly (a false line proved, a true one refuted, or points for work that is not there)."""

from __future__ import annotations

from test_sheet_honesty import DIFF_KEY, KEY, grade_sheets, statuses

PRODUCT_KEY = """\
proofcheck: 1
title: A derivative of a product
symbols:
  x: real
claim: diff(x sin(x), x) = sin(x) + x cos(x)
steps: |
  diff(x sin(x), x)
    = sin(x) + x cos(x)
"""

MEANS_KEY = """\
proofcheck: 1
title: Two means
symbols:
  mu, x, sigma_s: real
claim: x + mu = mu + x
steps: |
  x + mu
    = mu + x
"""


def _said(g) -> str:
    """Everything a grade tells about its lines: errors, step messages, formula notes."""
    return " ".join([e.message for e in g.errors] + [e.message for p in g.parts for e in p.errors] +
                    [s.result.message for p in g.parts for s in p.steps] + [f.reason for f in g.formulas])


def test_a_derivative_applies_to_the_whole_product_after_it(tmp_path):
    # `\frac{d}{dx} x \sin x` was read as (d/dx x) sin x: the product rule's answer was refuted, `= \sin x` proved
    grades = grade_sheets(tmp_path, PRODUCT_KEY, {
        "wrong.md": "Differentiate\n\n$$\\frac{d}{dx} x \\sin x = \\sin x$$\n",
        "right.md": "By the product rule\n\n$$\\frac{d}{dx} x \\sin x = \\sin x + x \\cos x$$\n",
        "dot.md": "By the product rule\n\n$$\\frac{d}{dx} x \\cdot \\sin x = \\sin x + x \\cos x$$\n"})
    assert statuses(grades["wrong.md"]) == ["refuted"]
    assert statuses(grades["right.md"]) == ["proved"] and grades["right.md"].score == grades["right.md"].max_score
    assert statuses(grades["dot.md"]) == ["proved"]


def test_two_spellings_are_not_merged_into_one_declared_name(tmp_path):
    # the decoder's mu_theta and the encoder's mu_phi both normalise to the key's mu; sigma_S and sigma_s in one formula
    grades = grade_sheets(tmp_path, MEANS_KEY, {
        "params.md": "Means\n\n$$\\mu_\\theta - \\mu_\\phi = 0$$\n",
        "case.md": "Scales\n\n$$\\sigma_S - \\sigma_s = 0$$\n",
        "one.md": "Means\n\n$$x + \\mu_\\theta = \\mu_\\theta + x$$\n"})
    assert "proved" not in statuses(grades["params.md"])
    assert "proved" not in statuses(grades["case.md"])
    assert "would both be read as the key's `sigma_s`" in _said(grades["case.md"])
    assert statuses(grades["one.md"]) == ["proved"]


def test_a_power_of_several_digits_without_braces_is_an_error(tmp_path):
    # LaTeX shows 2^10 as 2^1 followed by 0: it was read so, and `2^10 = 0` was proved
    grades = grade_sheets(tmp_path, KEY, {"s.md": "## Problem 1\n\n$$x^10 = 0$$\n"})
    assert "proved" not in statuses(grades["s.md"])
    assert "write ^{10}" in _said(grades["s.md"])
    # the only chain could not be read: the part says so (it was "not attempted", with the error elsewhere)
    assert "could not be read" in grades["s.md"].parts[0].feedback and grades["s.md"].parts[0].attempted


def test_restating_the_claim_in_another_order_earns_nothing(tmp_path):
    # the restatement check compared parse trees literally: a leading -2xy, `\cdot`, or y x for x y escaped it
    grades = grade_sheets(tmp_path, KEY, {
        "a.md": "## Problem 1\n\n$$-2xy + (x+y)^2 = x^2 + y^2$$\n",
        "b.md": "## Problem 1\n\n$$(x+y)^2 - 2\\cdot xy = x^2+y^2$$\n",
        "c.md": "## Problem 1\n\n$$(y+x)^2 - 2yx = y^2 + x^2 + 0$$\n"})
    assert [grades[n].score for n in ("a.md", "b.md", "c.md")] == [0, 0, 0]


def test_the_question_written_again_is_not_the_answer(tmp_path):
    # `= (x+y)^2 - 2xy + 0` equals the result, but it is the question: no final points
    grades = grade_sheets(tmp_path, KEY, {"s.md": "## Problem 1\n\n$$(x+y)^2 - 2xy = (x+y)(x+y) - 2xy$$\n"})
    part = grades["s.md"].parts[0]
    assert part.final_points == 0
    assert "question's own expression" in part.feedback


def test_a_definition_that_is_the_result_does_not_stand_in_for_the_work(tmp_path):
    grades = grade_sheets(tmp_path, KEY, {"s.md": "## Problem 1\n\nLet $$J = x^2 + y^2$$\n\nThen $$(x+y)^2 - 2xy = J$$\n"})
    assert grades["s.md"].score == 0


def test_an_unreadable_line_on_the_way_to_the_answer_asks_for_review(tmp_path):
    grades = grade_sheets(tmp_path, KEY, {"s.md": "## Problem 1\n\n$$(x+y)^2 - 2xy = \\dots = x^2 + y^2$$\n"})
    assert grades["s.md"].needs_review


def test_a_result_stated_for_a_case_after_it_is_checked_in_that_case(tmp_path):
    # `\sqrt{x^2} = x \quad \text{for } x > 0` was refuted at x = -1: the condition was recorded but not used
    grades = grade_sheets(tmp_path, MEANS_KEY, {
        "right.md": "Roots\n\n$$\\sqrt{x^2} = x \\quad \\text{for } x > 0$$\n",
        "wrong.md": "Roots\n\n$$\\sqrt{x^2} = -x \\quad \\text{for } x > 0$$\n"})
    assert statuses(grades["right.md"]) == ["proved"]
    assert statuses(grades["wrong.md"]) == ["refuted"]


def test_values_before_an_arrow_put_into_a_right_side_in_the_same_names_stay_a_statement(tmp_path):
    # `x = 0 \Rightarrow x + y = y + x^2` became `x + y = y + x^2 by at(x = 0)`, which puts 0 into the left side only
    key = MEANS_KEY.replace("mu, x, sigma_s: real", "mu, x, y, sigma_s: real")
    grades = grade_sheets(tmp_path, key, {
        "same.md": "Point\n\n$$x = 0 \\Rightarrow x + y = y + x^2$$\n",
        "at.md": "Point\n\n$$x = 0 \\Rightarrow x + y = y$$\n"})
    assert [(s.rule, s.result.status.value) for p in grades["same.md"].parts for s in p.steps] == [("", "proved")]
    assert [(s.rule, s.result.status.value) for p in grades["at.md"].parts for s in p.steps] == [("at(x=0)", "proved")]


def test_equation_numbers_on_a_sheet_with_question_headings_open_no_section(tmp_path):
    # `$$... \quad (2)$$` under `Question 1` moved the line into question 2 (tags are margin labels only on a sheet
    # without question headings, seed 002)
    key = """\
proofcheck: 1
title: two questions
symbols:
  x, y: real
parts:
  - name: plus
    claim: (x + y)^2 - 2 x y = x^2 + y^2
    steps: |
      (x + y)^2 - 2 x y
        = x^2 + y^2
  - name: minus
    claim: (x - y)^2 + 2 x y = x^2 + y^2
    steps: |
      (x - y)^2 + 2 x y
        = x^2 + y^2
grading:
  parts:
    plus: {section: "1"}
    minus: {section: "2"}
"""
    grades = grade_sheets(tmp_path, key, {"s.md": (
        "Question 1\n\n$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy \\quad (1)$$\n\n"
        "$$x^2 + 2xy + y^2 - 2xy = x^2 + y^2 \\quad (2)$$\n\nQuestion 2\n\n$$(x-y)^2 + 2xy = x^2 + y^2 + 1$$\n")})
    parts = {p.name: p for p in grades["s.md"].parts}
    assert [s.line for s in parts["plus"].steps] == [3, 5]
    assert [s.line for s in parts["minus"].steps] == [9]


def test_an_odd_root_of_a_negative_number_is_real(tmp_path):
    # `\sqrt[3]{-8} = -2` was refuted: the principal (complex) root was taken
    key = MEANS_KEY
    grades = grade_sheets(tmp_path, key, {"a.md": "Roots\n\n$$\\sqrt[3]{-8} = -2$$\n",
                                          "b.md": "Roots\n\n$$\\sqrt[3]{x^3} = x$$\n",
                                          "c.md": "Roots\n\n$$\\sqrt[3]{x^3} = |x|$$\n"})
    assert [statuses(grades[n]) for n in ("a.md", "b.md", "c.md")] == [["proved"], ["proved"], ["refuted"]]


def test_true_lines_that_do_no_work_earn_no_step_credit(tmp_path):
    # padding a sheet with `x + y = y + x`, `xy = yx`, `x + 0 = x` earned step points and watered down a wrong step
    grades = grade_sheets(tmp_path, KEY, {"pad.md": (
        "## Problem 1\n\n$$x + y = y + x$$\n\n$$xy = yx$$\n\n$$x + 0 = x$$\n\n"
        "$$(x+y)^2 - 2xy = x^2 + y^2 + 2xy$$\n")})
    g = grades["pad.md"]
    assert g.score == 0
    assert "the line before written again" in g.parts[0].feedback


def test_a_disjunction_or_joined_premises_are_not_read_apart(tmp_path):
    # `x^2 = 4 \Rightarrow x = 2 \text{ or } x = -2` was read as x^2 = 4 ==> x = 2 plus a claim x = -2: both refuted,
    # and `x^2 = 4 \text{ and } x > 0 \Rightarrow x = 2` as the claim x^2 = 4 and x > 0 ==> x = 2
    key = MEANS_KEY.replace("mu, x, sigma_s: real", "mu, x, y, sigma_s: real")
    grades = grade_sheets(tmp_path, key, {
        "or.md": "Roots\n\n$$x^2 = 4 \\Rightarrow x = 2 \\text{ or } x = -2$$\n",
        "and.md": "Roots\n\n$$x^2 = 4 \\text{ and } x > 0 \\Rightarrow x = 2$$\n",
        "comma.md": "Roots\n\n$$x^2 = 4, \\; x > 0 \\Rightarrow x = 2$$\n",
        "two.md": "Sums\n\n$$x + y = y + x, \\quad y + x = x + y$$\n"})
    for name in ("or.md", "and.md", "comma.md"):
        assert "refuted" not in statuses(grades[name]) and grades[name].errors, name
    assert statuses(grades["two.md"]) == ["proved", "proved"]


def test_an_inline_result_with_its_condition_after_it_is_checked_in_that_case(tmp_path):
    # `$|x| = x$ for $x > 0$` and `for all $x > 0$, $|x| = x$` were refuted at x = -1 (and `x > 0` read as a claim)
    grades = grade_sheets(tmp_path, MEANS_KEY, {
        "after.md": "Abs\n\nNote that $|x| = x$ for $x > 0$.\n",
        "wrong.md": "Abs\n\nNote that $|x| = -x$ for $x > 0$.\n",
        "before.md": "Abs\n\nSo for all $x > 0$, $|x| = x$.\n"})
    assert statuses(grades["after.md"]) == ["proved"]
    assert statuses(grades["wrong.md"]) == ["refuted"]
    assert statuses(grades["before.md"]) == ["proved"]


CUBE_KEY = """\
proofcheck: 1
title: A derivative of a cube
symbols:
  x: real
claim: diff(x^3, x) = 3 x^2
steps: |
  diff(x^3, x)
    = diff(x x^2, x)
    = 3 x^2
grading:
  final: 2
  steps_total: 2
"""

SUM_KEY = """\
proofcheck: 1
title: A sum of even numbers
symbols:
  n: positive integer
claim: sum(2 i, i, 1, n) = n (n + 1)
steps: |
  sum(2 i, i, 1, n)
    = 2 sum(i, i, 1, n)
    = n (n + 1)
grading:
  final: 2
  steps_total: 2
"""


def test_a_bracket_after_a_derivative_is_its_whole_operand(tmp_path):
    # `\frac{d}{dx}(x^2) \cdot x` was read as d/dx (x^2 x): pulling x out of the derivative was proved
    grades = grade_sheets(tmp_path, CUBE_KEY, {
        "out.md": "## Problem 1\n\n$$\\frac{d}{dx} x^3 = \\frac{d}{dx}\\left(x^2\\right) \\cdot x = 3x^2$$\n",
        "own.md": "## Problem 1\n\n$$\\frac{d}{dx} x^3 = \\frac{d}{dx}\\left(x^2\\right)\\cdot x = 2x\\cdot x = 2x^2$$\n"})
    assert statuses(grades["out.md"]) == ["refuted", "refuted"]
    assert grades["out.md"].score == 0  # the key's answer after a step that does not follow earns nothing
    assert statuses(grades["own.md"]) == ["refuted", "proved", "proved"]


def test_the_final_line_must_follow_from_the_line_before_it(tmp_path):
    grades = grade_sheets(tmp_path, KEY, {
        "jump.md": "## Problem 1\n\n$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy + 7 = x^2 + y^2$$\n"})
    g = grades["jump.md"]
    assert statuses(g) == ["refuted", "refuted"] and g.score == 0
    assert "the chain to it breaks at step 1, so it is not derived" in g.feedback


def test_a_sum_left_standing_is_not_the_answer(tmp_path):
    grades = grade_sheets(tmp_path, SUM_KEY, {
        "halfway.md": "## Problem 1\n\n$$\\sum_{i=1}^{n} 2i = 2\\sum_{i=1}^{n} i = \\sum_{i=1}^{n} i + \\sum_{i=1}^{n} i$$\n",
        "done.md": "## Problem 1\n\n$$\\sum_{i=1}^{n} 2i = 2\\sum_{i=1}^{n} i = n(n+1)$$\n"})
    assert statuses(grades["halfway.md"]) == ["proved", "proved"]
    assert grades["halfway.md"].score < grades["halfway.md"].max_score and "a sum" in grades["halfway.md"].feedback
    assert grades["done.md"].score == grades["done.md"].max_score


def test_equation_numbers_after_other_spacing_are_tags(tmp_path):
    # `\hfill (2)`, `\; (1)`, `~~(2)` were read as a factor 2 (or 1), and the right last line refuted
    grades = grade_sheets(tmp_path, KEY, {
        "hfill.md": "## Problem 1\n\n$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2 \\hfill (2)$$\n",
        "thin.md": "## Problem 1\n\n$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy \\; (1)$$\n\n$$= x^2 + y^2 ~~(2)$$\n"})
    for name in ("hfill.md", "thin.md"):
        assert statuses(grades[name]) == ["proved", "proved"], name
        assert grades[name].score == grades[name].max_score, name


def test_a_premise_that_says_nothing_is_no_work(tmp_path):
    # `x = x \Rightarrow` the answer scored full marks; `x^2 < 0 \Rightarrow` a false equation earned step points
    grades = grade_sheets(tmp_path, KEY, {
        "same.md": "## Problem 1\n\n$$x = x \\Rightarrow (x+y)^2 - 2xy = x^2 + y^2$$\n",
        "never.md": "## Problem 1\n\n$$x^2 < 0 \\Rightarrow (x+y)^2 - 2xy = x^2 + y^2 + 5$$\n",
        "always.md": "## Problem 1\n\n$$x^2 \\geq 0 \\Rightarrow (x+y)^2 - 2xy = x^2 + y^2$$\n"})
    assert grades["same.md"].score == 0
    assert grades["never.md"].score == 0 and "holds for no values" in grades["never.md"].feedback
    # a premise true everywhere may be the argument ((x - y)^2 >= 0 => ...) or padding: a person decides
    assert grades["always.md"].needs_review


def test_a_formula_too_long_to_read_does_not_stop_the_batch(tmp_path):
    long = "## Problem 1\n\n$$" + " + ".join(["x"] * 500) + " = 500 x$$\n"
    grades = grade_sheets(tmp_path, KEY, {"long.md": long, "ok.md": "## Problem 1\n\n$$(x+y)^2 - 2xy = x^2 + y^2$$\n"})
    assert set(grades) == {"long.md", "ok.md"}
    assert grades["long.md"].score == 0 and "too long" in _said(grades["long.md"])


SOLVE_KEY = """\
proofcheck: 1
title: Solve a linear equation
symbols:
  x: real
claim: 2 x - 2 = 0 ==> x = 1
steps: |
  2 x - 2 = 0
    ==> x = 1
"""


def test_so_between_two_relations_is_an_implication(tmp_path):
    # `2x - 2 = 0 \quad \text{so} \quad x = 1` was read as two identities, both refuted
    grades = grade_sheets(tmp_path, SOLVE_KEY, {
        "so.md": "## Problem 1\n\n$$2x - 2 = 0 \\quad \\text{so} \\quad x = 1$$\n",
        "hence.md": "## Problem 1\n\n$$2x - 2 = 0 \\quad \\text{hence} \\quad x = 2$$\n"})
    assert statuses(grades["so.md"]) == ["proved"] and grades["so.md"].score == grades["so.md"].max_score
    assert statuses(grades["hence.md"]) == ["refuted"]


def test_an_unreadable_last_formula_after_correct_work_is_flagged(tmp_path):
    # a correct chain, then `\frac{x}{0} = \infty` as a check: the answer is the last formula, which cannot be read;
    # the part earns nothing but was scored 0 without a word to the grader
    sheet = "## Problem 1\n\n$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2$$\n\nSanity check: " \
            "$$\\frac{x}{0} = \\infty$$\n"
    g = grade_sheets(tmp_path, KEY, {"check.md": sheet})["check.md"]
    assert g.score == 0 and g.needs_review
    assert "the last formula of this part (line 5) could not be read" in g.feedback


WORK = "$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = "
# the square key's grading with the claim x^2 + y^2 >= 2xy
AM_GM_KEY = KEY.replace("claim: (x + y)^2 - 2 x y = x^2 + y^2", "claim: x^2 + y^2 >= 2 x y").replace(
    "  (x + y)^2 - 2 x y\n    = x^2 + 2 x y + y^2 - 2 x y\n    = x^2 + y^2", "  x^2 + y^2\n    = (x - y)^2 + 2 x y\n    >= 2 x y")


def test_a_term_after_spacing_or_in_a_signed_group_is_part_of_the_sum(tmp_path):
    # `\quad + 1`, `, \; + 1` and `{+ 1}` were dropped or read as a product, so the visible `+ 1` earned full marks
    grades = grade_sheets(tmp_path, KEY, {
        "quad.md": WORK + "x^2 + y^2 \\quad + 1$$\n",
        "comma.md": WORK + "x^2 + y^2, \\; + 1$$\n",
        "group.md": WORK + "(x^2 + y^2) {+ 1}$$\n",
        "right.md": WORK + "x^2 {+ y^2}$$\n",
        "list.md": "Eigenvalues $$\\lambda = 2, -3$$\n\n" + WORK + "x^2 + y^2$$\n"})
    for name in ("quad.md", "comma.md", "group.md"):
        assert statuses(grades[name]) == ["proved", "refuted"], name
        assert grades[name].score == 1, name
    assert statuses(grades["right.md"]) == ["proved", "proved"] and grades["right.md"].score == 4
    assert grades["list.md"].score == 4  # a comma before a minus still separates a list


def test_a_row_that_cannot_be_read_after_the_answer_is_flagged(tmp_path):
    # `&\quad \cdot 2` after the answer row was an error in the report, but the grade kept its points unflagged
    grades = grade_sheets(tmp_path, KEY, {
        "times.md": "$$\n\\begin{aligned}\n(x+y)^2 - 2xy &= x^2 + 2xy + y^2 - 2xy \\\\\n&= x^2 + y^2 \\\\\n"
                    "&\\quad \\cdot 2\n\\end{aligned}\n$$\n",
        "clean.md": "$$\n\\begin{aligned}\n(x+y)^2 - 2xy &= x^2 + 2xy + y^2 - 2xy \\\\\n&= x^2 + y^2\n"
                    "\\end{aligned}\n$$\n"})
    assert grades["times.md"].needs_review and grades["times.md"].errors
    assert not grades["clean.md"].needs_review and grades["clean.md"].score == 4


def test_a_conclusion_under_another_relation_is_checked_not_set_aside(tmp_path):
    # `Hence L \neq R` (or `L = R` for a claim `L >= R`) after correct work was set aside as a restatement: 4/4
    grades = grade_sheets(tmp_path, AM_GM_KEY, {
        "equal.md": "$$x^2 + y^2 = (x-y)^2 + 2xy \\geq 2xy$$\nHence $$x^2 + y^2 = 2xy.$$\n",
        "same.md": "$$x^2 + y^2 = (x-y)^2 + 2xy \\geq 2xy$$\nHence $$x^2 + y^2 \\geq 2xy.$$\n"})
    assert statuses(grades["equal.md"])[-1] == "refuted" and grades["equal.md"].parts[0].final_points == 0
    assert grades["same.md"].score == 4


def test_premise_chains_earn_nothing_by_themselves(tmp_path):
    # an implication into the claim holds whatever its premise says, since the claim holds everywhere: a wrong premise
    # earned the step, a chain of true premises of any length full marks unflagged, the claim as its own premise too
    grades = grade_sheets(tmp_path, KEY, {
        "wrong.md": "$$(x+y)^2 = x^2 + 3xy + y^2 \\Rightarrow (x+y)^2 - 2xy = x^2 + y^2$$\n",
        "padding.md": "$$2 = 1 + 1 \\Rightarrow 3 = 2 + 1 \\Rightarrow (x+y)^2 - 2xy = x^2 + y^2$$\n",
        "chain.md": "$$x^2 \\geq 0 \\Rightarrow x^2 + 1 \\geq 1 \\Rightarrow (x+y)^2 - 2xy = x^2 + y^2$$\n",
        "itself.md": "$$(x+y)^2 - 2xy = x^2+y^2 \\Rightarrow x^2 + y^2 = (x+y)^2 - 2xy \\Rightarrow "
                     "(x+y)^2 - 2xy = x^2 + y^2$$\n",
        "proof.md": "$$(x+y)^2 = x^2 + 2xy + y^2 \\Rightarrow (x+y)^2 - 2xy = x^2 + y^2$$\n"})
    assert grades["wrong.md"].score == 0
    for name in ("padding.md", "chain.md"):
        assert grades[name].needs_review, name
    assert grades["itself.md"].score == 0
    assert grades["proof.md"].needs_review  # the argument or padding: a person decides


def test_an_inequality_proved_from_its_right_side(tmp_path):
    # `2xy <= (x - y)^2 + 2xy = x^2 + y^2` proves x^2 + y^2 >= 2xy read backwards: it scored 0 ("starts from the
    # key's result"); a wrong step in it still costs, and the wrong direction is refuted
    grades = grade_sheets(tmp_path, AM_GM_KEY, {
        "back.md": "$$2xy \\le (x-y)^2 + 2xy = x^2 + y^2$$\n",
        "wrong.md": "$$2xy \\le 2xy + 5 = x^2 + y^2$$\n",
        "flipped.md": "$$2xy \\ge (x-y)^2 + 2xy = x^2 + y^2$$\n"})
    assert statuses(grades["back.md"]) == ["proved", "proved"] and grades["back.md"].score == 4
    assert statuses(grades["wrong.md"]) == ["proved", "refuted"] and grades["wrong.md"].parts[0].final_points == 0
    assert statuses(grades["flipped.md"])[0] == "refuted" and grades["flipped.md"].parts[0].final_points == 0


def test_the_product_rule_written_with_cdot_has_its_second_reading(tmp_path):
    # `\frac{d}{dx} x^2 \cdot \sin x + x^2 \cdot \frac{d}{dx} \sin x` read the first derivative as of the whole product
    # and refuted the product rule with no flag; the `+ g` case already had its second reading
    grades = grade_sheets(tmp_path, PRODUCT_KEY.replace("x sin(x)", "x^2 sin(x)").replace(
        "sin(x) + x cos(x)", "2 x sin(x) + x^2 cos(x)"), {
        "rule.md": "$$\\frac{d}{dx} (x^2 \\sin x) = \\frac{d}{dx} x^2 \\cdot \\sin x + x^2 \\cdot \\frac{d}{dx}\\sin x "
                   "= 2x \\sin x + x^2 \\cos x$$\n"})
    g = grades["rule.md"]
    assert g.needs_review and "two readings" in " ".join(p for part in g.parts for p in part.needs_review)
    assert g.score == g.max_score


def test_math_inside_an_html_comment_is_not_graded(tmp_path):
    # a rendered sheet does not show `<!-- ... -->`: the work hidden there earned full marks
    grades = grade_sheets(tmp_path, KEY, {
        "hidden.md": "## Problem 1\n\n<!--\n" + WORK + "x^2 + y^2$$\n-->\nI do not know.\n",
        "shown.md": "## Problem 1\n\n<!-- my answer -->\n" + WORK + "x^2 + y^2$$\n"})
    assert grades["hidden.md"].score == 0
    assert grades["shown.md"].score == 4


TWO_KEY = KEY.replace("claim: (x + y)^2 - 2 x y = x^2 + y^2\nsteps: |\n  (x + y)^2 - 2 x y\n    = x^2 + 2 x y + y^2 - 2 x y\n"
                      "    = x^2 + y^2\n", "parts:\n  - name: square\n    claim: (x + y)^2 - 2 x y = x^2 + y^2\n    steps: |\n"
                      "      (x + y)^2 - 2 x y\n        = x^2 + y^2\n  - name: cube\n"
                      "    claim: (x + y)^3 - 3 x y (x + y) = x^3 + y^3\n    steps: |\n      (x + y)^3 - 3 x y (x + y)\n"
                      "        = x^3 + y^3\n").replace("grading:\n  final: 2\n  steps_total: 2\n",
                                                 "grading:\n  final: 2\n  steps_total: 2\n  parts:\n"
                                                 "    square: {section: \"1\"}\n    cube: {section: \"2\"}\n")


def test_a_part_marker_under_a_section_heading_names_the_part(tmp_path):
    # with a key whose parts name their sections, `part: cube` under `## Question 1` was ignored: the cube chain was
    # graded as the square's answer and cube was "not attempted"
    assert "section: \"2\"" in TWO_KEY
    grades = grade_sheets(tmp_path, TWO_KEY, {
        "marked.md": "## Question 1\n" + WORK + "x^2 + y^2$$\npart: cube\n"
                     "$$(x+y)^3 - 3xy(x+y) = x^3 + 3x^2y + 3xy^2 + y^3 - 3x^2y - 3xy^2 = x^3 + y^3$$\n"
                     "## Question 2\nNothing more.\n"})
    g = grades["marked.md"]
    assert [(p.name, p.score) for p in g.parts] == [("square", 4), ("cube", 4)]


def test_a_false_conclusion_after_a_premise_sympy_evaluates_to_itself_is_graded(tmp_path):
    # `... = x^2 + y^2 \Rightarrow x = y`: the premise `x^2 + 2xy + y^2 - 2xy = x^2 + y^2` has the same sides once
    # SymPy evaluates them, so the statement chain was set aside as a restatement, false conclusion and all: 4/4
    grades = grade_sheets(tmp_path, KEY, {
        "so.md": WORK + "x^2 + y^2 \\Rightarrow x = y$$\n",
        "right.md": WORK + "x^2 + y^2$$\n"})
    assert "refuted" in statuses(grades["so.md"])
    assert grades["so.md"].parts[0].final_points == 0 and grades["so.md"].score <= 2
    assert grades["right.md"].score == 4


def test_final_points_need_the_last_chain_unbroken_whatever_chains_come_before(tmp_path):
    # the break was looked up by the start line of a chain's first step only: with any chain before it, a made-up
    # line closed by a true inequality earned the final points, and a wrong scratch line before a correct chain
    # took them away
    grades = grade_sheets(tmp_path, AM_GM_KEY, {
        "made_up.md": "Note $$1 + 1 = 2$$\n\n$$x^2 + y^2 = 2xy + 5 \\geq 2xy$$\n"})
    assert grades["made_up.md"].parts[0].final_points == 0
    grades = grade_sheets(tmp_path, KEY, {
        "scratch.md": "First the square: $$(x+y)^2 = x^2 + 2xy + y^2 + 1$$\n\nso " + WORK + "x^2 + y^2$$\n"})
    assert statuses(grades["scratch.md"])[0] == "refuted"
    assert grades["scratch.md"].parts[0].final_points == 2


def test_a_chain_about_none_of_the_questions_names_earns_no_step_credit(tmp_path):
    # `2 + 2 = 4` alone took the full step points: true, but no work on the question
    grades = grade_sheets(tmp_path, KEY, {"arith.md": "Answer\n\n$$2 + 2 = 4$$\n"})
    g = grades["arith.md"]
    assert statuses(g) == ["proved"] and g.score == 0
    assert any("uses none of the question's names" in n for n in g.notes)


def test_copies_of_a_correct_step_do_not_water_down_a_wrong_one(tmp_path):
    # nine copies of the first step as separate displays raised a 1/4 sheet to 1.82/4: each took a share of the
    # step points
    wrong = WORK + "x^2 + y^2 + 1$$\n"
    copy = "$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy$$\n\n"
    grades = grade_sheets(tmp_path, KEY, {"once.md": wrong, "padded.md": copy * 9 + wrong})
    assert grades["once.md"].score == 1
    assert grades["padded.md"].score == 1


def test_work_under_a_heading_that_names_no_part_flags_the_grade(tmp_path):
    # `## Qeustion 1`: all the work was `outside`, the part "not attempted", 0 points and no flag
    grades = grade_sheets(tmp_path, TWO_KEY, {
        "typo.md": "## Qeustion 1\n\n" + WORK + "x^2 + y^2$$\n",
        "right.md": "## Question 1\n\n" + WORK + "x^2 + y^2$$\n\n## Question 2\n\n"
                    "$$(x+y)^3 - 3xy(x+y) = x^3 + y^3$$\n"})
    typo = grades["typo.md"]
    assert typo.score == 0 and typo.needs_review
    assert any("name no part of the key" in e.message for e in typo.errors)
    assert not grades["right.md"].errors


def test_boxed_answers_and_operators_in_text_are_read(tmp_path):
    # `\boxed{...}` was an unknown command (correct work scored 1/4); `\text{+} 5` after the answer was prose and
    # the visible `+ 5` dropped (4/4)
    grades = grade_sheets(tmp_path, KEY, {
        "boxed.md": WORK + "\\boxed{x^2 + y^2}$$\n",
        "text_plus.md": WORK + "x^2 + y^2 \\text{+} 5$$\n",
        "text_plus_spaced.md": WORK + "x^2 + y^2 \\text{ + 5}$$\n"})
    assert grades["boxed.md"].score == 4
    for name in ("text_plus.md", "text_plus_spaced.md"):
        assert statuses(grades[name])[-1] == "refuted", name
        assert grades[name].parts[0].final_points == 0


def test_an_unreadable_step_on_the_way_to_the_answer_withholds_the_final_points(tmp_path):
    # `= \foo{bar} =` and `\approx` in the middle: the steps got nothing but the answer kept its points
    grades = grade_sheets(tmp_path, KEY, {"foo.md": "$$(x+y)^2 - 2xy = \\foo{bar} = x^2 + y^2$$\n"})
    g = grades["foo.md"]
    assert g.parts[0].final_points == 0 and g.needs_review
    assert "could not be read, so the chain to it is not shown to hold" in g.parts[0].feedback


def test_a_second_answer_after_the_answer_flags_the_grade(tmp_path):
    # `\quad \text{or} \quad x^2 + y^2 + 1` after the answer was dropped silently: 4/4 unflagged
    grades = grade_sheets(tmp_path, KEY, {
        "or.md": WORK + "x^2 + y^2 \\quad \\text{or} \\quad x^2 + y^2 + 1$$\n",
        "right.md": WORK + "x^2 + y^2$$\n"})
    assert grades["or.md"].needs_review
    assert any("a second answer" in r for p in grades["or.md"].parts for r in p.needs_review)
    assert not grades["right.md"].needs_review


# the square key's grading (final 2, steps 2) for an implication with a two-step key chain
SOLVE2_KEY = KEY.replace("claim: (x + y)^2 - 2 x y = x^2 + y^2\nsteps: |\n  (x + y)^2 - 2 x y\n    = x^2 + 2 x y + y^2 - "
                         "2 x y\n    = x^2 + y^2\n", "claim: 2 x - 2 = 0 ==> x = 1\nsteps: |\n  2 x - 2 = 0\n"
                         "    ==> 2 x = 2\n    ==> x = 1\n")


def test_a_step_into_a_line_that_always_holds_earns_nothing_from_the_keys_premise(tmp_path):
    # `2x - 2 = 0 \Rightarrow 2x = 2 \Rightarrow x^2 \geq 0`: the step into the tautology earned a step's share
    assert "==> 2 x = 2" in SOLVE2_KEY
    grades = grade_sheets(tmp_path, SOLVE2_KEY, {
        "taut.md": "## Problem 1\n\n$$2x - 2 = 0 \\Rightarrow 2x = 2 \\Rightarrow x^2 \\geq 0$$\n",
        "right.md": "## Problem 1\n\n$$2x - 2 = 0 \\Rightarrow 2x = 2 \\Rightarrow x = 1$$\n"})
    taut = grades["taut.md"]
    assert statuses(taut) == ["proved", "proved"] and taut.parts[0].step_points[1] == 0
    assert grades["right.md"].score == 4


def test_an_equation_that_holds_nowhere_is_a_vacuous_premise(tmp_path):
    # red team 12: `0 = 1 \Rightarrow` and `If $x^2 + 1 = 0$, then` a false equation earned every step point, since the
    # "holds nowhere" test is a `!=` step and those were never decided (now: by the decision procedure)
    grades = grade_sheets(tmp_path, KEY, {
        "zero.md": "## Problem 1\n\n$$0 = 1 \\Rightarrow (x+y)^2 - 2xy = 5$$\n",
        "square.md": "## Problem 1\n\n$$x^2 + 1 = 0 \\Rightarrow (x+y)^2 - 2xy = 5$$\n",
        "prose.md": "## Problem 1\n\nIf $x^2 + 1 = 0$, then $(x+y)^2 - 2xy = 5$.\n"})
    for name, g in grades.items():
        assert g.score == 0 and "holds for no values" in g.feedback, (name, g.score, g.feedback)


def test_markdown_headings_that_are_numbers_open_their_questions(tmp_path):
    # red team 12: `## 1` / `## 2` (docs/grading.md lists `## 2`) were no headings: both parts "not attempted", 0/8;
    # a list item `1.` under `## 2` is an item of question 2, not question 1
    cube = "$$(x+y)^3 - 3xy(x+y) = x^3 + 3x^2y + 3xy^2 + y^3 - 3x^2y - 3xy^2 = x^3 + y^3$$\n"
    grades = grade_sheets(tmp_path, TWO_KEY, {
        "hashes.md": "## 1\n" + WORK + "x^2 + y^2$$\n\n# 2.\n" + cube,
        "items.md": "## 1\n" + WORK + "x^2 + y^2$$\n\n## 2\n1. The cube:\n" + cube})
    for name, g in grades.items():
        assert [(p.name, p.score) for p in g.parts] == [("square", 4), ("cube", 4)], name


def test_the_answer_alone_in_another_form_is_no_work(tmp_path):
    # red team 12: one step from the question to the answer, reordered (`x \cdot x + y \cdot y`), scored 4/4 on a key
    # that wants work, while the answer exactly as the key writes it scored 0; a wrong one-step answer is refuted
    grades = grade_sheets(tmp_path, KEY, {
        "other_form.md": "## Problem 1\n\n$$(x+y)^2 - 2xy = x \\cdot x + y \\cdot y$$\n",
        "wrong.md": "## Problem 1\n\n$$(x+y)^2 - 2xy = x^2 + y^2 + 1$$\n",
        "work.md": "## Problem 1\n\n" + WORK + "x \\cdot x + y \\cdot y$$\n",
        # red team 13: a step after it that only reorders it (or adds 0) lifted it to full marks
        "reordered.md": "## Problem 1\n\n$$(x+y)^2 - 2xy = x \\cdot x + y \\cdot y = y \\cdot y + x \\cdot x + 0$$\n"})
    assert grades["other_form.md"].score == 0 and "answer alone" in grades["other_form.md"].feedback
    assert grades["reordered.md"].score == 0 and "answer alone" in grades["reordered.md"].feedback
    assert statuses(grades["wrong.md"]) == ["refuted"] and grades["wrong.md"].score == 0
    assert grades["work.md"].score == grades["work.md"].max_score


def test_a_result_at_one_value_is_checked_there_and_earns_nothing(tmp_path):
    # red team 12: `Setting $y = 0$ gives ...`, `... when $y = 0$`, `\text{for } y = 0` after the answer were checked for
    # every y and refuted (the remark became a wrong last line); and `If $y = 0$, then ...` alone earned every step
    # point. A result at one value is checked under it, earns no step credit and is not the final answer
    remark = {"setting.md": "Setting $y = 0$ gives $(x+y)^2 - 2xy = x^2$.\n",
              "when.md": "In particular $(x+y)^2 - 2xy = x^2$ when $y = 0$.\n",
              "display.md": "$$(x+y)^2 - 2xy = x^2 \\quad \\text{for } y = 0$$\n"}
    grades = grade_sheets(tmp_path, KEY, {n: "## Problem 1\n\n" + WORK + "x^2 + y^2$$\n\n" + r for n, r in remark.items()})
    for name, g in grades.items():
        assert "refuted" not in statuses(g) and g.score == g.max_score, (name, statuses(g), g.feedback)
    grades = grade_sheets(tmp_path, KEY, {
        "only_case.md": "## Problem 1\n\nIf $y = 0$, then $(x+y)^2 - 2xy = x^2$.\n",
        "wrong_case.md": "## Problem 1\n\n" + WORK + "x^2 + y^2$$\n\nSetting $y = 0$ gives $(x+y)^2 - 2xy = x^2 + 1$.\n"})
    assert statuses(grades["only_case.md"]) == ["proved"] and grades["only_case.md"].score == 0
    assert statuses(grades["wrong_case.md"])[-1] == "refuted"
    # a list after the equation enumerates: not a case
    grades = grade_sheets(tmp_path, KEY, {
        "list.md": "## Problem 1\n\n$$(x+y)^2 - 2xy = x^2 + 1 \\quad \\text{for } y = 0, 1$$\n"})
    assert statuses(grades["list.md"]) == ["refuted"]


REQ_KEY = KEY.replace("grading:\n", "grading:\n  required:\n    - x^2 + 2 x y + y^2 - 2 x y\n")


def test_a_required_result_is_not_reached_by_a_step_that_does_no_work(tmp_path):
    # red team 12: a wrong answer plus `A + 0 = A` (A the required intermediate) scored the required points; a circular
    # side chain `A = B = A` scored them and its steps' points
    wrong = "## Problem 1\n\n$$(x+y)^2 - 2xy = x^2 + y^2 + 1$$\n\n"
    grades = grade_sheets(tmp_path, REQ_KEY, {
        "padded.md": wrong + "$$x^2 + 2xy + y^2 - 2xy + 0 = x^2 + 2xy + y^2 - 2xy$$\n",
        "circular.md": wrong + "$$x^2 + 2xy + y^2 - 2xy = (x + y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy$$\n",
        "work.md": "## Problem 1\n\n" + WORK + "x^2 + y^2$$\n"})
    for name in ("padded.md", "circular.md"):
        g = grades[name]
        assert g.parts[0].required[0][1] is None and g.score == 0, (name, g.score, g.feedback)
    assert grades["work.md"].parts[0].required[0][1] == 1 and grades["work.md"].score == grades["work.md"].max_score


def test_an_answer_stated_after_a_premise_must_be_in_the_key_form(tmp_path):
    # red team 12: `\sigma > 0 \Rightarrow KL = E[...]` earned the final points with the expectation left standing
    grades = grade_sheets(tmp_path, DIFF_KEY, {
        "stated.md": "## Problem 1\n\n$$x > 0 \\Rightarrow \\frac{d}{dx}(x^2 + x) = \\frac{d}{dx}(x^2) + 1$$\n"})
    g = grades["stated.md"]
    assert g.parts[0].final_points == 0 and "still has a derivative" in g.feedback, g.feedback


def test_a_condition_after_a_chain_holds_for_each_of_its_steps(tmp_path):
    # red team 13: `A = B = C \quad \text{when } y = 0` checked its steps for every y (the case was kept for one step
    # only), and the correct chain was refuted; a wrong step under the case is still refuted
    grades = grade_sheets(tmp_path, KEY, {
        "chain.md": "## Problem 1\n\n" + WORK + "x^2 + y^2$$\n\n$$(x+y)^2 - 2xy = x^2 + y^2 = x^2 \\quad \\text{when } y = 0$$\n",
        "wrong.md": "## Problem 1\n\n" + WORK + "x^2 + y^2$$\n\n$$(x+y)^2 - 2xy = x^2 + y^2 = x^2 + 1 \\quad \\text{when } y = 0$$\n"})
    assert "refuted" not in statuses(grades["chain.md"]) and grades["chain.md"].score == grades["chain.md"].max_score
    assert statuses(grades["wrong.md"])[-1] == "refuted"


def test_a_condition_in_the_sentence_around_a_display_is_its_case(tmp_path):
    # red team 13: `$$... = x^2$$ when $y = 0$.` and `Setting $y = 0$: $$... = x^2$$` checked the display for every y,
    # and its correct step was refuted; under the case a wrong step is still refuted, and a capitalised `For` after a
    # display opens a sentence about what follows
    after = "## Problem 1\n\n" + WORK + "x^2 + y^2$$\n\n$$(x+y)^2 - 2xy = x^2{}$$\nwhen $y = 0$.\n"
    before = "## Problem 1\n\n" + WORK + "x^2 + y^2$$\n\nSetting $y = 0$:\n$$(x+y)^2 - 2xy = x^2{}$$\n"
    grades = grade_sheets(tmp_path, KEY, {
        "after.md": after.format(""), "before.md": before.format(""),
        "after_wrong.md": after.format(" + 1"), "before_wrong.md": before.format(" + 1"),
        "sentence.md": "## Problem 1\n\n" + WORK + "x^2 + y^2$$\n\n$$(x+y)^2 - 2xy = x^2$$\nFor $y = 0$, it is less.\n"})
    for name in ("after.md", "before.md"):
        assert "refuted" not in statuses(grades[name]), (name, statuses(grades[name]))
    for name in ("after_wrong.md", "before_wrong.md", "sentence.md"):
        assert statuses(grades[name])[-1] == "refuted", (name, statuses(grades[name]))


def test_several_conditions_in_one_sentence_are_one_case(tmp_path):
    # red team 12: in `With $x = 1$, $y = 0$, we get ...` the second condition was read as a claim (refuted) and the
    # result checked under x = 1 only (refuted); joined by `and` the second was dropped. Both make one case now; a
    # wrong result under them is refuted, and `If $x = 1$, $y = 2$.` (a value, then the end of the sentence) is a result
    head = "## Problem 1\n\n" + WORK + "x^2 + y^2$$\n\n"
    grades = grade_sheets(tmp_path, KEY, {
        "comma.md": head + "With $x = 1$, $y = 0$, we get $(x+y)^2 - 2xy = 1$.\n",
        "and.md": head + "If $x = 1$ and $y = 0$, then $(x+y)^2 - 2xy = 1$.\n",
        "comma_wrong.md": head + "With $x = 1$, $y = 0$, we get $(x+y)^2 - 2xy = 2$.\n",
        "and_wrong.md": head + "If $x = 1$ and $y = 0$, then $(x+y)^2 - 2xy = 2$.\n",
        "value.md": head + "If $x = 0$, $(x+y)^2 - 2xy = y^2 + 1$.\n"})
    for name in ("comma.md", "and.md"):
        assert "refuted" not in statuses(grades[name]), (name, statuses(grades[name]))
        assert grades[name].score == grades[name].max_score, (name, grades[name].feedback)
    for name in ("comma_wrong.md", "and_wrong.md", "value.md"):
        assert statuses(grades[name])[-1] == "refuted", (name, statuses(grades[name]))


def test_a_condition_beside_a_display_makes_it_a_special_case_only_when_it_sets_one_value(tmp_path):
    # red team 14, against the first version of the rule above: a region after a correct derivation (`for $x > 0$.`)
    # or an identity before it (`with $(x+y)^2 = ...$:`) made it a special case (0 points); a case before a display
    # continued by `$$= ...$$` cut the chain; a wrong derivation followed by a correct check at one value took the final
    # points; a region holding nowhere but on a line credited wrong steps; a condition three blank lines down attached
    right = WORK + "x^2 + y^2$$\n"
    wrong = "$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy + xy = x^2 + y^2$$\n"
    grades = grade_sheets(tmp_path, KEY, {
        "region.md": "## Problem 1\n\n" + right + "for $x > 0$.\n",
        "identity.md": "## Problem 1\n\nExpanding the square, with $(x+y)^2 = x^2 + 2xy + y^2$:\n" + right,
        "continued.md": "## Problem 1\n\nExpanding, setting $x = 1$:\n$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy$$\n$$= x^2 + y^2$$\n",
        "check.md": "## Problem 1\n\n" + wrong + "\nSetting $y = 0$:\n$$(x+y)^2 - 2xy = x^2$$\n",
        "line.md": "## Problem 1\n\n" + wrong + "when $(xy)^2 \\le 0$.\n",
        "far.md": "## Problem 1\n\n" + right + "\n$$(x+y)^2 - 2xy = x^2 + 1$$\n\n\n\nwhen $y = 0$ we are done.\n"})
    for name in ("region.md", "identity.md", "continued.md"):
        assert grades[name].score == grades[name].max_score, (name, grades[name].feedback)
    for name in ("check.md", "line.md"):
        assert grades[name].score == 0 and "refuted" in statuses(grades[name]), (name, grades[name].feedback)
    assert statuses(grades["far.md"])[-1] == "refuted"


def test_the_answer_at_one_value_alone_earns_no_final_points(tmp_path):
    # `Setting $y = 0$: $$(x+y)^2 - 2xy = x^2$$` with no general answer: the special case is checked (it holds), but it
    # is not the question's answer
    grades = grade_sheets(tmp_path, KEY, {"only.md": "## Problem 1\n\nSetting $y = 0$:\n$$(x+y)^2 - 2xy = x^2$$\n"})
    g = grades["only.md"]
    assert "refuted" not in statuses(g) and g.parts[0].final_points == 0, g.feedback


def test_a_statement_answer_that_does_not_match_names_what_fails(tmp_path):
    # red team 14: for an answer stated under a premise, the final mismatch said "your last line is 1/2 and the key's
    # result is 1", the two sides of whichever statement failed, swapped or not
    grades = grade_sheets(tmp_path, KEY, {
        "stated.md": "## Problem 1\n\nIf $x > 0$, then $(x+y)^2 - 2xy = x^2 + y^2 + 1$.\n"})
    g = grades["stated.md"]
    assert "the key's result holds but your last line does not" in g.feedback, g.feedback
