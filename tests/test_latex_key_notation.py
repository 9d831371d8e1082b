"""The question's own notation read through the key: `\\mathbb{E}_R[...]` over a variable whose law the key's
expectations state, and `L(w)` for a value the key defines in terms of w (seed 004, question 1)."""

from __future__ import annotations

import json
import textwrap

import pytest

from proofcheck.errors import ProofcheckError
from proofcheck.latex import Names, translate
from proofcheck.latex.chains import _tends_to, _tuple_values
from proofcheck.read import parse_derivation_text

from testlib import run_cli

KEY = textwrap.dedent("""\
    proofcheck: 1
    title: dropout
    parts:
      - name: expected_loss
        symbols:
          n, d: positive integer
          p: interval(0, 1)
          X, R, S: matrix(n, d)
          w, v: vector(d)
          y: vector(n)
        define:
          - L := ||y - (X .* R) w||^2
        claim: "E[R ~ Bernoulli(p)](||y - (X .* R) w||^2) = ||y - p X w||^2 + p (1 - p) ||diag(X^T X)^(1/2) w||^2"
        steps: |
          E[R ~ Bernoulli(p)](||y - (X .* R) w||^2)
            = ||y - p X w||^2 + p (1 - p) ||diag(X^T X)^(1/2) w||^2
    """)


def _names() -> Names:
    return Names.from_part(parse_derivation_text(KEY, "key.yaml").parts[0])


def test_expectation_over_a_variable_takes_the_law_the_key_states():
    names = _names()
    assert names.laws == {"R": "Bernoulli(p)"}
    assert translate(r"\mathbb{E}_{\boldsymbol{R}}[\boldsymbol{y}^{\top}(\boldsymbol{X}\odot\boldsymbol{R})\boldsymbol{w}]",
                     names) == "E[R ~ Bernoulli(p)](y^T * (X .* R) w)"
    # a variable whose law the key never states still needs it written out
    with pytest.raises(ProofcheckError, match="name the random variable"):
        translate(r"\mathbb{E}_{S}[S]", names)


def test_two_laws_for_one_variable_give_none():
    names = _names()
    names.add_laws("E[R ~ Bernoulli(1/2)](R)")
    assert not names.laws["R"]
    with pytest.raises(ProofcheckError, match="name the random variable"):
        translate(r"\mathbb{E}_R[R]", names)


def test_defined_value_written_with_the_one_name_it_depends_on():
    names = _names()
    assert translate(r"\mathbb{E}_{\boldsymbol{R}}[L(\boldsymbol{w})]", names) == "E[R ~ Bernoulli(p)](L)"
    # another vector is not what L is written in: L at v is not L (left as written, a product the checker types)
    assert translate(r"L(\boldsymbol{v})", names) == "L(v)"
    assert translate(r"L(\boldsymbol{w} + \boldsymbol{v})", names) == "L(w + v)"


SHEET = textwrap.dedent(r"""
    1.1 Show the expected loss.

    $$\mathbb{E}_{\boldsymbol{R}}[L(\boldsymbol{w})] = \mathbb{E}_{\boldsymbol{R}}[\|\boldsymbol{y} - (\boldsymbol{X} \odot \boldsymbol{R})\boldsymbol{w}\|^2]$$
    """)


def test_sheet_expected_loss_is_checked_and_a_missing_term_refuted(tmp_path):
    key = tmp_path / "key.yaml"
    key.write_text(KEY + "grading:\n  parts:\n    expected_loss: {section: \"1.1\"}\n", encoding="utf-8")

    def statuses(text: str) -> list[str]:
        sheet = tmp_path / "s.md"
        sheet.write_text(text, encoding="utf-8")
        code, out, err = run_cli(["grade", sheet, "--key", key, "--format", "json", "--timeout", "5", "--no-cache"],
                                 cwd=tmp_path)
        assert code == 0, err
        return [s["status"] for s in json.loads(out)["submissions"][0]["steps"]]

    assert statuses(SHEET) == ["proved"]
    # the expectation of the square is not the square of the mean: the variance term is missing
    wrong = SHEET.replace(r"\mathbb{E}_{\boldsymbol{R}}[\|\boldsymbol{y} - (\boldsymbol{X} \odot \boldsymbol{R})\boldsymbol{w}\|^2]",
                          r"\|\boldsymbol{y} - p\boldsymbol{X}\boldsymbol{w}\|^2")
    assert wrong != SHEET
    assert statuses(wrong) == ["refuted"]


def test_derivative_with_respect_to_a_vector_is_the_gradient():
    names = _names()
    # seed 004, line 121: the gradient of the ridge loss
    assert translate(r"\frac{\partial L(\boldsymbol{w})}{\partial \boldsymbol{w}}", names) == "grad(L, w)"
    assert translate(r"\frac{\partial}{\partial \boldsymbol{w}} \|\boldsymbol{y} - p\boldsymbol{X}\boldsymbol{w}\|^2",
                     names) == "grad(||y - p X w||^2, w)"
    # a second derivative stays diff (the checker says what it can do with it)
    assert translate(r"\frac{\partial^2 L}{\partial \boldsymbol{w}^2}", names) == "diff(L, w, 2)"


def test_derivative_in_the_numerator_applies_to_the_numerator_only():
    names = Names(symbols={"p": "scalar", "x": "scalar"})
    # (dp/dp)(p + 1), not d(p (p + 1))/dp
    assert translate(r"\frac{\partial p}{\partial p} (p+1)", names) == "diff(p, p) (p + 1)"
    assert translate(r"\frac{d x^2}{dx} x", names) == "diff(x^2, x) x"
    # the operator form still takes what follows it
    assert translate(r"\frac{\partial}{\partial p} p (p+1)", names) == "diff(p(p + 1), p)"
    # seed 004, line 123: the Jacobian of a transposed vector times a vector (the checker reports the row vector)
    assert translate(r"2 \frac{\partial (\boldsymbol{y} - p\boldsymbol{X}\boldsymbol{w})^{\top}}{\partial \boldsymbol{w}} "
                     r"(\boldsymbol{y} - p\boldsymbol{X}\boldsymbol{w})", _names()) == "2 grad((y - p X w)^T, w) (y - p X w)"


TUPLE_KEY = textwrap.dedent("""\
    proofcheck: 1
    title: stationary point
    parts:
      - name: stationary
        symbols:
          a, b: real
        claim: a^2 + b^2 = (a + b)^2 - 2 a b
        steps: |
          a^2 + b^2
            = (a + b)^2 - 2 a b
    grading:
      parts:
        stationary: {section: "1"}
    """)


def test_inline_tuple_of_names_set_to_numbers_is_a_condition(tmp_path):
    # seed 004, lines 413 and 492: `... a single stationary point $(\psi_0^*, \psi_1^*, \theta^*) = (0, 0, 0)$`
    key = tmp_path / "key.yaml"
    key.write_text(TUPLE_KEY, encoding="utf-8")
    sheet = tmp_path / "s.md"
    sheet.write_text("1. Find it.\n\n$$a^2 + b^2 = (a + b)^2 - 2ab$$\n\nThe only stationary point is "
                     "$(\\psi_0^*, \\psi_1^*, \\theta^*) = (0, 0, 0)$.\n", encoding="utf-8")
    code, out, err = run_cli(["grade", sheet, "--key", key, "--format", "json", "--timeout", "5", "--no-cache"],
                             cwd=tmp_path)
    assert code == 0, err
    sub = json.loads(out)["submissions"][0]
    assert [s["status"] for s in sub["steps"]] == ["proved"]
    assert [(c["line"], c["kind"]) for c in sub["formulas"]["classified"]] == [(5, "condition")]
    assert not sub["formulas"]["not_read"]


def test_only_a_tuple_of_names_set_to_as_many_numbers_is_a_point():
    assert _tuple_values(r"(\theta,\psi) = (0,0)")
    assert not _tuple_values(r"(a, b) = (0, 0, 1)")      # three numbers for two names
    assert not _tuple_values(r"(x+1, y) = (0, 0)")        # an expression, not a name
    assert not _tuple_values(r"(0, 0) = (0, 0)")


def test_a_name_tending_to_a_limit_in_a_sentence_is_a_condition():
    # seed 004, line 111: `as $p \to 0$, and as a result $\lambda \to \infty$, ...`
    assert _tends_to(r"\lambda \to \infty")
    assert _tends_to(r"\eta \to 0^{+}")
    assert not _tends_to(r"x \to y")        # a map or a rewrite, not a limit
    assert not _tends_to(r"f(x) \to 0")


def test_a_name_whose_numbered_components_the_key_declares_passes_them_as_arguments():
    # seed 004, line 486: `\frac{\partial \mathcal{R}_1(\psi)}{\partial \psi_0}` with the key's psi_0, psi_1 (psi itself
    # undeclared); anywhere but in a call's arguments, and with a component missing, `\psi` stays undeclared
    names = Names(symbols={"psi_0": "scalar", "psi_1": "scalar", "theta": "scalar"}, defines={"R_1": 2})
    assert translate(r"\frac{\partial \mathcal{R}_1(\psi)}{\partial \psi_0}", names) == "diff(R_1(psi_0, psi_1), psi_0)"
    assert translate(r"\mathcal{R}_1(\psi, \theta)", names) == "R_1(psi_0, psi_1, theta)"
    for latex in (r"\psi + 1", r"(\psi)", r"\theta \psi"):
        with pytest.raises(ProofcheckError, match="not declared"):
            translate(latex, names)
    gap = Names(symbols={"psi_0": "scalar", "psi_2": "scalar"}, defines={"R_1": 2})
    with pytest.raises(ProofcheckError, match="not declared"):
        translate(r"\mathcal{R}_1(\psi)", gap)


def test_a_bare_divergence_is_the_one_the_part_asks_for():
    # seed 000, line 163: `D_{KL} &= ...` without its distributions, in a part whose key names the question's KL value
    # (`D_KL := KL(q_Q || p_Q)`) or whose claim is about one KL; with neither it stays an error
    from proofcheck.latex.names import claimed_divergence
    assert claimed_divergence("KL(q || post) = log(p_x) - ELBO") == "KL(q || post)"
    assert claimed_divergence("1/(2 s^2) (m - n)^2 = KL(q || p)") is None
    named = Names(symbols={"m": "scalar"}, defines={"D_KL": None}, divergence="D_KL")
    assert translate(r"D_{KL} - m", named) == "D_KL - m"
    claimed = Names(symbols={"q": "density", "post": "density"}, divergence="KL(q || post)")
    assert translate(r"2 D_{KL}", claimed) == "2 KL(q || post)"
    with pytest.raises(ProofcheckError, match="needs its two distributions"):
        translate(r"D_{KL}", Names(defines={"D_KL": None}))
