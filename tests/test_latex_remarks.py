"""Which formulas of a sheet are remarks in the student's own notation (off the path to the part's answer) and which
stay `not read` because the answer may depend on them (issue 15, item 5; seed 000)."""

from __future__ import annotations

from testlib import COMMUTATIVE_KEY as COMMUTATIVE, latex_key as _key
from proofcheck.latex import sheet_sections


EIGEN = """\
    proofcheck: 1
    title: t
    symbols:
      a, b: real
    claim: eigenvals([[a, b], [b, a]]) = {a + b, a - b}
    steps: |
      eigenvals([[a, b], [b, a]])
        = {a + b, a - b}
    """


def _kinds(key_text: str, text: str) -> dict[tuple[int, int], str]:
    _, sheet = sheet_sections(text, "s.md", _key(key_text), {"main": ["1"]})
    return {(f.line, f.column): f.kind for f in sheet.formulas}


def test_one_formula_with_the_students_notation_before_the_answer_is_a_remark():
    # seed 000 l.239, 246: `c(\theta, \psi) = (0, 0)`, `v'(0, 0) = \begin{pmatrix}...`: the left side uses a name the key
    # does not declare, the right side reads. The formula is a chain of its own that is not graded; nothing on another
    # line hangs on it, so before the final chain it is a remark like any formula in the student's notation
    text = "Question 1\n\n$$P_X(x, y) = (0, 0)$$\n\n$$Q_Y(x) = \\begin{pmatrix} x \\\\ y \\end{pmatrix}$$\n\n$$x + y = y + x$$\n"
    kinds = _kinds(COMMUTATIVE, text)
    assert [kinds[k] for k in sorted(kinds)] == ["remark", "remark", "read"]


def test_an_unreadable_premise_with_readable_lines_after_it_stays_not_read():
    # the premise carries the `\Rightarrow` lines after it (on lines of their own): not a remark. (A premise that names
    # nothing the lines after it are about, seed 001's `I \rightarrow D_{xD}`, cannot restrict them: they are read as an
    # expression chain, tests/test_latex_seed001.py)
    text = ("Question 1\n\n$x \\rightarrow D_{xD}$\n\n$\\Rightarrow x + y = y + x$\n\n$\\Rightarrow x = x$\n\n"
            "$$x + y = y + x$$\n")
    kinds = _kinds(COMMUTATIVE, text)
    assert [kinds[k] for k in sorted(kinds)] == ["not read", "not read", "not read", "read"]


def test_the_matrix_the_final_eigenvalues_are_taken_from_is_on_the_path():
    # seed 000 l.324-328: `\theta = 0 \to \tilde{v}'(0) = M` then `\lambda_{1,2} = a \pm b` (the step eigenvals(M) = ...
    # is built from the matrix that formula ends on): the formula leads into the final chain and stays `not read`,
    # while the same kind of formula elsewhere before the answer is a remark
    text = ("Question 1\n\n$$\\tilde{v}(x) = \\begin{pmatrix} a \\\\ b \\end{pmatrix}$$\n\n"
            "$$\\tilde{v}'(0) = \\begin{pmatrix} a & b \\\\ b & a \\end{pmatrix}$$\n\n"
            "Eigenvalues of the given matrix are:\n\n$$\\lambda_{1,2} = a \\pm b$$\n")
    kinds = _kinds(EIGEN, text)
    assert [kinds[k] for k in sorted(kinds)] == ["remark", "not read", "read"]


def test_values_after_persian_considering_are_a_condition():
    # seed 000 l.244: `با در نظر گرفتن $(\theta,\psi) = (0,0)$ خواهیم داشت:` ("taking (theta, psi) = (0, 0) we get:") states
    # the point the next lines are at, not a claim; without the phrase a tuple that is not a point (names set to
    # numbers are one anyway) is not read
    text = "Question 1\n\nبا در نظر گرفتن $(x, y) = (0, 2 x)$ خواهیم داشت:\n\n$$x + y = y + x$$\n"
    kinds = _kinds(COMMUTATIVE, text)
    assert [kinds[k] for k in sorted(kinds)] == ["condition", "read"]
    kinds = _kinds(COMMUTATIVE, text.replace("با در نظر گرفتن", "داریم"))
    assert [kinds[k] for k in sorted(kinds)] == ["not read", "read"]
    kinds = _kinds(COMMUTATIVE, text.replace("با در نظر گرفتن", "داریم").replace("2 x", "0"))
    assert [kinds[k] for k in sorted(kinds)] == ["condition", "read"]


def test_nothing_is_a_remark_when_the_last_chain_reads_no_relation():
    # seed 000 question 1: its last chain is `z = \mu_\phi(x) + ...` (only `z` reads); the KL identity written before it
    # in the student's notation is the part's actual derivation, so it stays `not read` rather than a remark
    text = "Question 1\n\n$$P_X(x, y) = (0, 0)$$\n\n$$x = Q_Y(x) + y$$\n"
    kinds = _kinds(COMMUTATIVE, text)
    assert [kinds[k] for k in sorted(kinds)] == ["not read", "not read"]
    kinds = _kinds(COMMUTATIVE, text + "\n$$x + y = y + x$$\n")
    assert [kinds[k] for k in sorted(kinds)] == ["remark", "remark", "read"]


def test_a_name_set_to_an_argmin_is_a_definition():
    # seed 000 l.9, 32, 38: `q = \underset{q \in \mathbb{Q}}{\operatorname{argmin}} D_{KL}(...)`, `\psi_i = argmax_{\psi_i}
    # ...`: the optimum a method looks for (or an update of its algorithm) named, not a step; a value claimed for it
    # (`= 1` after the argmin) keeps the formula a chain
    text = ("Question 1\n\n$$y = \\underset{y \\in \\mathbb{Q}}{\\operatorname{argmin}} P_X(y)$$\n\n"
            "$$x_i = argmax_{x_i} Q(x_i)$$\n\n$$x + y = y + x$$\n")
    kinds = _kinds(COMMUTATIVE, text)
    assert [kinds[k] for k in sorted(kinds)] == ["definition", "definition", "read"]
    kinds = _kinds(COMMUTATIVE, "Question 1\n\n$$y = \\arg\\min_x (x - 1)^2 = 1$$\n\n$$x + y = y + x$$\n")
    assert [kinds[k] for k in sorted(kinds)] == ["read", "read"]


def test_a_name_of_the_students_own_defined_and_used_later_is_a_definition():
    # seed 000 l.213: `C_{2} = E_{q(x)}[...]` names a quantity in notation the key does not model (q, s_theta), and
    # J_2 = J_1 - C_1 + C_2 uses it later: a definition, nothing to check. The same shape never used again is the
    # student's result under a new name (seed 000's L_inf), and a second `C_2 = ...` a claim about it: neither is a
    # definition (here, off the path to the answer, they are remarks)
    text = ("Question 1\n\n$$C_{2} = \\int g(u) du$$\n\n$$C_2 = \\int h(u) du$$\n\n$$K = C_2 + u$$\n\n"
            "$$L_{\\infty} = \\int g(u) du$$\n\n$$x + y = y + x$$\n")
    kinds = _kinds(COMMUTATIVE, text)
    assert [kinds[k] for k in sorted(kinds)] == ["definition", "remark", "remark", "remark", "read"]


def test_rows_of_one_line_are_recorded_by_the_formula_each_step_was_read_from():
    # seed 000 l.221: one line holds a chain of rows, an unreadable row, then `\to` (the unreadable relation becomes the
    # premise of a statement chain that is not graded) and rows in undeclared names. The rows the graded chain checks
    # stay `read` (they were given the reasons of the unreadable rows further along the line); a name tending to a
    # value in a display (`y \to 0`, seed 000 l.171's `T \to \infty`) is a condition, as in a sentence
    text = ("Question 1\n\n$$\\begin{split} x + y &= y + x \\\\ &= x + y \\\\ &= \\mathbb{E}_{q}[x] \\\\ "
            "&\\to J_1 = x + y \\\\ J_2 &= x + y \\end{split}$$\n\n$$y \\to 0$$\n")
    kinds = _kinds(COMMUTATIVE, text)
    assert [kinds[k] for k in sorted(kinds)] == ["read", "read", "not read", "not read", "definition", "condition"]


def test_a_definition_sign_in_names_the_key_does_not_model_is_a_definition():
    # seed 004 l.452: `\bar{v}_{\theta}(\psi, \theta) \coloneqq -\nabla_{\theta} \mathcal{L}(\psi, \theta)` restates the
    # question's notation; with `=` it is a remark only off the path to the answer, and a head in the key's names is a
    # claim about them, checked as a step
    text = ("Question 1\n\n$$w(p, q) \\coloneqq p + q$$\n\n$$w(p, q) = p + q$$\n\n$$x \\coloneqq y + x$$\n\n"
            "$$x + y = y + x$$\n")
    kinds = _kinds(COMMUTATIVE, text)
    assert [kinds[k] for k in sorted(kinds)] == ["definition", "remark", "read", "read"]


def test_a_capitalised_condition_word_in_math_is_prose():
    # seed 000 l.171: `As \, \tau &\to 0` in an aligned display is the limit the lines are about, not `As` times tau
    text = "Question 1\n\n$$\\begin{aligned} As \\, x &\\to 0 \\\\ x + y &= y + x \\end{aligned}$$\n"
    kinds = _kinds(COMMUTATIVE, text)
    assert [kinds[k] for k in sorted(kinds)] == ["condition", "read"]


def test_a_reparameterisation_with_its_noise_law_is_a_declaration():
    # seed 000, lines 81-85: `z = \mu_\phi(x) + \sigma_\phi(x) \odot \epsilon, \epsilon \sim \mathcal{N}(0, I)` says how
    # z is drawn; without the noise's law beside it (or with a law for a name the right side lacks) it is a claim
    text = ("Question 1\n\n$$y = x + 2 \\epsilon, \\epsilon \\sim \\mathcal{N}(0, 1)$$\n\n"
            "$$y = x + 2 \\epsilon$$\n\n$$y = x + 2, \\epsilon \\sim \\mathcal{N}(0, 1)$$\n\n$$x + y = y + x$$\n")
    kinds = _kinds(COMMUTATIVE.replace("x, y: real", "x, y, epsilon: real"), text)
    assert [kinds[k] for k in sorted(kinds)] == ["condition", "condition", "read", "read", "condition", "read"]


def test_the_probability_of_an_event_set_to_a_formula_states_the_model():
    # seed 001, line 130: `p_w(y=1|x) = \frac{1}{1 + \exp(w^T x)}` (the logistic discriminator) was `not read` at its
    # inner `=`; it is the student's model, like `p_\theta(z) = \mathcal{N}(0, I)`
    text = "Question 1\n\n$$p_w(y=1|x) = \\frac{1}{1 + \\exp(x)}$$\n\n$$x + y = y + x$$\n"
    kinds = _kinds(COMMUTATIVE, text)
    assert [kinds[k] for k in sorted(kinds)] == ["condition", "read"]
