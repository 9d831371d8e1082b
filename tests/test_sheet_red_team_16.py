"""Red-team round 16 on grading: sheets that earned points for work that is not there, lost points for work that
is, or were read without a word about what they hold."""

from __future__ import annotations

import textwrap

from test_sheet_honesty import KEY, grade_sheets, statuses

PER_STEP_KEY = KEY.replace("  steps_total: 2\n", "  per_step: 1\n")

DERIVATIVE_KEY = """\
proofcheck: 1
title: Product rule
symbols:
  x: real
claim: diff(x^2 sin(x), x) = 2 x sin(x) + x^2 cos(x)
steps: |
  diff(x^2 sin(x), x)
    = diff(x^2, x) sin(x) + x^2 diff(sin(x), x)
    = 2 x sin(x) + x^2 cos(x)
grading:
  final: 2
  per_step: 1
"""

GIVEN_KEY = """\
proofcheck: 1
title: Given relation
symbols:
  x, y: real
given:
  link: y = x^2 + 1
claim: (y - x^2)^2 + y = x^2 + 2
steps: |
  (y - x^2)^2 + y
    = (x^2 + 1 - x^2)^2 + x^2 + 1   by given(link)
    = x^2 + 2
grading:
  final: 2
  per_step: 1
"""

CHAIN = "$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2$$\n"


def test_a_wrong_line_before_an_arrow_is_a_checked_step_not_an_assumption(tmp_path):
    g = grade_sheets(tmp_path, PER_STEP_KEY, {"s.md": """
        $$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy + xy$$
        $$\\Rightarrow (x+y)^2 - 2xy = x^2 + y^2 + xy$$
        """})["s.md"]
    assert statuses(g)[0] == "refuted"
    assert g.parts[0].steps[0].line == 1 and g.parts[0].first_error == 1


def test_a_derivation_closed_by_an_arrow_restating_it_keeps_its_marks(tmp_path):
    sheets = {"hence.md": CHAIN + "\n$$\\Rightarrow (x+y)^2 - 2xy = x^2 + y^2$$\n",
              "therefore.md": CHAIN + "\n$$\\therefore (x+y)^2 - 2xy = x^2 + y^2$$\n",
              "one_display.md": "$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2 \\implies (x+y)^2 - 2xy = "
                                "x^2 + y^2$$\n"}
    for name, g in grade_sheets(tmp_path, PER_STEP_KEY, sheets).items():
        assert (g.score, g.max_score) == (4, 4), (name, g.feedback)
        assert statuses(g)[:2] == ["proved", "proved"], name


def test_an_arrow_that_solves_the_equation_before_it_starts_from_that_equation(tmp_path):
    # `... = 0 \Rightarrow x = ...`: the last relation is the equation solved, not a claimed identity
    from proofcheck.latex import read_markdown
    from proofcheck.grade import load_key
    from test_sheet_honesty import OPTIONS
    (tmp_path / "k.yaml").write_text(KEY.replace("x, y: real", "x, y, a: real"), encoding="utf-8")
    key, _ = load_key(str(tmp_path / "k.yaml"), OPTIONS)
    sheet = read_markdown("$$f = 2a - 2 = 0 \\Rightarrow a = 1$$\n", "s.md", key.derivation)
    assert [[t.text for t in c.steps] for c in sheet.chains] == [["f", "= 2 a - 2"], ["2 a - 2 = 0", "==> a = 1"]]


def test_the_answer_in_disguise_is_not_the_question(tmp_path):
    # equal to the derivative's value, but no derivative is ever taken: no final points
    g = grade_sheets(tmp_path, DERIVATIVE_KEY, {"s.md": """
        $$x\\left(2\\sin x + x\\cos x\\right) = x \\cdot 2\\sin x + x \\cdot x\\cos x = 2x\\sin x + x^2\\cos x$$
        """})["s.md"]
    assert g.parts[0].final_points == 0 and g.score <= 2, g.feedback
    assert "the question has a derivative, the first line does not" in g.feedback


def test_a_region_that_pins_one_value_is_a_check_at_that_value(tmp_path):
    sheets = {f"{i}.md": f"If ${case}$, then $(x+y)^2 - 2xy = x + y^2 = x^2 + y^2$.\n"
              for i, case in enumerate(["(x-1)^2 \\le 0", "|x - 1| \\le 0", "x^2 - 2x + 1 \\le 0"])}
    for name, g in grade_sheets(tmp_path, PER_STEP_KEY, sheets).items():
        assert g.score == 0, (name, g.feedback)


def test_copying_a_given_is_not_a_step_of_work(tmp_path):
    g = grade_sheets(tmp_path, GIVEN_KEY, {"s.md": "$$y = x^2 + 1$$\n"})["s.md"]
    assert g.score == 0, g.feedback


def test_persian_and_let_cases_are_applied(tmp_path):
    sheets = {"fa_if.md": CHAIN + "\nاگر $x = 1$ آنگاه $(x+y)^2 - 2xy = 1 + y^2$.\n",
              "fa_for.md": CHAIN + "\nبه ازای $x = 1$ داریم $(x+y)^2 - 2xy = 1 + y^2$.\n"}
    for name, g in grade_sheets(tmp_path, PER_STEP_KEY, sheets).items():
        assert (g.score, g.max_score) == (4, 4), (name, g.feedback)
        assert "refuted" not in statuses(g), name
    sheets = {"let.md": "Let $y = 0$. Then\n$$(x+y)^2 - 2xy = x^2 = x^2 + y^2$$\n",
              "assume.md": "Assume $y = 0$ (w.l.o.g.). Then\n$$(x+y)^2 - 2xy = x^2 = x^2 + y^2$$\n",
              "wlog.md": "Without loss of generality $y = 0$, so\n$$(x+y)^2 - 2xy = x^2 = x^2 + y^2$$\n"}
    for name, g in grade_sheets(tmp_path, PER_STEP_KEY, sheets).items():
        # right under the student's case, so not refuted; a check at one value earns nothing
        assert "refuted" not in statuses(g) and g.score == 0, (name, statuses(g), g.feedback)


def test_more_display_environments_and_math_fences_are_read(tmp_path):
    wrong = "(x+y)^2 - 2xy = x^2 + y^2 + 9xy"
    sheets = {"flalign.md": CHAIN + f"so\n\\begin{{flalign}}\n{wrong}\n\\end{{flalign}}\n",
              "alignat.md": CHAIN + f"so\n\\begin{{alignat}}{{1}}\n{wrong}\n\\end{{alignat}}\n",
              "dmath.md": CHAIN + f"so\n\\begin{{dmath}}\n{wrong}\n\\end{{dmath}}\n",
              "fence.md": CHAIN + f"\n```math\n{wrong}\n```\n"}
    for name, g in grade_sheets(tmp_path, PER_STEP_KEY, sheets).items():
        assert statuses(g)[-1] == "refuted" and g.parts[0].final_points == 0, (name, g.feedback)


def test_tex_comments_are_not_graded(tmp_path):
    g = grade_sheets(tmp_path, PER_STEP_KEY, {"s.tex": """
        \\[ (x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2 \\]
        % \\[ = x^2 + y^2 + 9 \\]
        \\iffalse
        \\[ (x+y)^2 - 2xy = 7 \\]
        \\fi
        """})["s.tex"]
    assert (g.score, g.max_score) == (4, 4), g.feedback


def test_a_wide_hspace_separates_two_formulas_like_a_quad(tmp_path):
    sheets = {"hspace.md": "$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2 \\hspace{1cm} (x+y)^2 = x^2 + 2xy + "
                           "y^2$$\n",
              "quad.md": "$$(x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2 \\quad (x+y)^2 = x^2 + 2xy + y^2$$\n"}
    got = grade_sheets(tmp_path, PER_STEP_KEY, sheets)
    assert statuses(got["hspace.md"]) == statuses(got["quad.md"]) == ["proved"] * 3


# KEY with its one part under heading 1 of the sheet
_BODY = KEY[KEY.index("claim:"):KEY.index("grading:")]
SECTIONS_KEY = KEY[:KEY.index("claim:")] + "parts:\n  - name: square\n" + textwrap.indent(_BODY, "    ") + \
    "grading:\n  final: 2\n  per_step: 1\n  parts:\n    square: {section: \"1\"}\n"


def test_a_part_marker_naming_no_part_of_the_key_is_reported(tmp_path):
    g = grade_sheets(tmp_path, SECTIONS_KEY, {"s.md": "## Question 1\npart: nosuch\n" + CHAIN})["s.md"]
    assert any("no part named `nosuch`" in e.message and e.line == 2 for e in g.errors), g.errors


def test_true_identities_off_the_question_earn_no_step_points(tmp_path):
    sheets = {"pad.md": "$$x + x = 2x$$\n\n$$y \\cdot y = y^2$$\n",
              "expand.md": "$$(x+1)^2 = x^2 + 2x + 1$$\n\n$$(y-1)^2 = y^2 - 2y + 1$$\n"}
    for key in (KEY, PER_STEP_KEY):
        for name, g in grade_sheets(tmp_path, key, sheets).items():
            assert g.score == 0, (name, g.feedback)
            assert "No chain of this part starts from the question" in g.feedback, name


def test_a_true_statement_that_is_not_the_claim_is_not_the_answer(tmp_path):
    # the claim moved to one side and reduced to `0 = 0`: equivalent to the claim as statements (both hold
    # everywhere), but `0 = 0` is not the claim, and the arrows run from the claim to a truism
    g = grade_sheets(tmp_path, PER_STEP_KEY, {"s.md": """
        $$(x+y)^2 - 2xy - x^2 - y^2 = 0 \\Rightarrow x^2 + 2xy + y^2 - 2xy - x^2 - y^2 = 0 \\Rightarrow 0 = 0$$
        """})["s.md"]
    assert g.parts[0].final_points == 0 and g.score <= 2, g.feedback
    assert "its sides are not the claim's two sides" in g.feedback
    honest = grade_sheets(tmp_path, PER_STEP_KEY, {"h.md": """
        $$x^2 + y^2 = x^2 + y^2 \\Rightarrow (x+y)^2 - 2xy = x^2 + y^2$$
        """})["h.md"]
    assert "its sides are not the claim's two sides" not in honest.feedback


def test_a_claim_after_since_or_and_is_left_to_a_person(tmp_path):
    # read as a condition (it may be a hypothesis of the student's), so not checked: the part says so
    sheets = {"since.md": CHAIN + "\nSince $(x+y)^2 - 2xy = x^2 + y^2 + 9xy$, done.\n",
              "and.md": CHAIN + "\nAnd $(x+y)^2 - 2xy = x^2 + y^2 + 9xy$.\n"}
    for name, g in grade_sheets(tmp_path, PER_STEP_KEY, sheets).items():
        assert g.needs_review, name
        assert any("read as a condition: not checked" in r and r.startswith("line 3") for r in g.parts[0].needs_review)
    plain = grade_sheets(tmp_path, PER_STEP_KEY, {"plain.md": CHAIN})["plain.md"]
    assert not plain.needs_review


def test_round_17_an_answer_stated_after_the_derivation_is_left_to_a_person(tmp_path):
    sheets = {"hence.md": CHAIN + "\nHence $x^2 + 5 y^2$ is the answer.\n",
              "boxed.md": CHAIN + "\nSo $\\boxed{x^2 + 5y^2}$.\n"}
    for name, g in grade_sheets(tmp_path, PER_STEP_KEY, sheets).items():
        assert g.needs_review and any("states an answer that no step reads" in r for r in g.parts[0].needs_review), name


def test_round_17_dmath_options_and_nested_tex_conditionals(tmp_path):
    sheets = {"dmath.md": "\\begin{dmath}[label={eq:1}]\n(x + y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy = x^2 + y^2\n"
                          "\\end{dmath}\n",
              "nested.tex": "\\[ (x+y)^2 - 2xy = x^2 + 2xy + y^2 - 2xy \\]\n\\iffalse\n\\ifx\\a\\b x \\fi\n"
                            "\\[ = x^2 + y^2 + 9 \\]\n\\fi\n\\[ = x^2 + y^2 \\]\n"}
    for name, g in grade_sheets(tmp_path, PER_STEP_KEY, sheets).items():
        assert (g.score, g.max_score) == (4, 4), (name, g.feedback)
