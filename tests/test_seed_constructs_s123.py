"""Constructs of seed sheets 001-003 (issue 15, item 5): declarations and LaTeX the keys and sheets need."""

from __future__ import annotations

import pytest

from testlib import FAST, derivation, statuses, verify


# ------------------------------------------------------------------ `vector(k) positive`: entries are positive
POSITIVE = "k: positive integer\nsigma: vector(k) positive\ns: vector(k)"


def test_a_positive_vector_has_real_logs_of_its_entries():
    # log sigma_i^2 = 2 log sigma_i holds for standard deviations (seed 003 line 80 was refuted for lack of this)
    doc = verify(derivation(POSITIVE, "sum(log(sigma[i]^2), i, 1, k) = 2 sum(log(sigma[i]), i, 1, k)",
                            "sum(log(sigma[i]^2), i, 1, k)\n  = 2 sum(log(sigma[i]), i, 1, k)"))
    assert statuses(doc) in (["proved"], ["numeric"])


def test_the_same_step_for_a_vector_of_any_sign_is_refuted():
    doc = verify(derivation(POSITIVE, "sum(log(s[i]^2), i, 1, k) = 2 sum(log(s[i]), i, 1, k)",
                            "sum(log(s[i]^2), i, 1, k)\n  = 2 sum(log(s[i]), i, 1, k)"))
    assert statuses(doc) == ["refuted"]


def test_a_positive_vector_is_still_checked_wrong_steps_are_refuted():
    doc = verify(derivation(POSITIVE, "sum(sigma[i], i, 1, k) = -sum(abs(sigma[i]), i, 1, k)",
                            "sum(sigma[i], i, 1, k)\n  = -sum(abs(sigma[i]), i, 1, k)"))
    assert statuses(doc) == ["refuted"]
    step = doc["parts"][0]["steps"][0]
    assert all(v > 0 for v in _entries(step["counterexample"]["sigma"]))


def _entries(value) -> list[float]:
    text = str(value)
    import re
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", text)]


@pytest.mark.parametrize("decl", ["matrix(2, 3) positive", "vector(2) positive", "matrix(2, 2) spd positive"])
def test_positive_matrices_declare(decl):
    doc = verify(derivation(f"A: {decl}", "A = A", "A\n  = A"))
    assert statuses(doc) == ["proved"]


def test_a_positive_non_square_matrix_cannot_be_symmetric():
    doc = verify(derivation("A: matrix(2, 3) symmetric positive", "A = A", "A\n  = A"))
    assert doc["errors"] and "square" in doc["errors"][0]["message"]


# ------------------------------------------------------------------ E_q[...] over a distribution the key defines
from proofcheck.latex import Names, translate  # noqa: E402

GAUSS = Names(symbols={"mu": "vector", "z": "vector", "Sigma": "matrix", "D": "scalar"},
              defines={"q": None, "P": None}, distributions={"q", "P"})


def test_the_expectation_of_a_log_density_ratio_is_the_kl():
    r"""`E_q[\log \frac{q(z)}{P(z)}]` and `E_{z \sim q}[...]` of the same body are KL(q || P) by definition."""
    assert translate(r"E_q \left[\log \frac{q(z)}{P(z)} \right]", GAUSS) == "KL(q || P)"
    assert translate(r"\mathbb{E}_{z \sim q}[\log \frac{q(z)}{P(z)}]", GAUSS) == "KL(q || P)"
    # anything else in the body, the ratio the other way up or another variable: an expectation as written
    assert translate(r"E_{z \sim q}[\log \frac{q(z)}{P(z)} + 1]", GAUSS).startswith("E[z ~ q](")
    assert translate(r"E_{z \sim q}[\log \frac{P(z)}{q(z)}]", GAUSS).startswith("E[z ~ q](")
    assert translate(r"E_{z \sim q}[\log \frac{q(z)}{P(mu)}]", GAUSS).startswith("E[z ~ q](")


def test_e_q_finds_its_variable_from_the_density_in_the_body():
    assert translate(r"E_q[\log q(z) + 1]", GAUSS) == "E[z ~ q](log(pdf(q, z)) + 1)"


KL_KEY = """
proofcheck: 1
title: KL to the standard normal
symbols:
  D: positive integer
  mu, z: vector(D)
  Sigma: matrix(D, D) spd
define:
  - q := Normal(mu, Sigma)
  - P := Normal(0 mu, eye(D))
claim: KL(q || P) = -1/2 log(det(Sigma)) + 1/2 ||mu||^2 + 1/2 tr(Sigma) - D/2
steps: |
  KL(q || P)
    = -1/2 log(det(Sigma)) + 1/2 ||mu||^2 + 1/2 tr(Sigma) - D/2
"""


def _graded(sheet: str):
    import proofcheck
    return proofcheck.grade(sheet, KL_KEY, timeout=FAST).to_dict()


def test_an_e_q_without_the_density_takes_the_variable_of_the_formula_s_other_e_q():
    # seed 002 line 53 with the sign of the quadratic term wrong (refuted) and right (holds)
    wrong = ("$$E_q[\\log \\frac{q(z)}{P(z)}] = E_q[-\\frac{1}{2} \\log |\\Sigma| + \\frac{1}{2} (z - \\mu)^T "
             "\\Sigma^{-1} (z - \\mu) - \\frac{1}{2} \\|z\\|^2]$$\n")
    steps = _graded(wrong)["steps"]
    assert [s["status"] for s in steps] == ["refuted"]
    assert steps[0]["text"].startswith("E[z ~ q](")
    right = wrong.replace("+ \\frac{1}{2} (z", "- \\frac{1}{2} (z").replace("- \\frac{1}{2} \\|z", "+ \\frac{1}{2} \\|z")
    assert [s["status"] for s in _graded(right)["steps"]] in (["proved"], ["numeric"])


def test_an_e_q_alone_still_needs_its_variable():
    from proofcheck.errors import ProofcheckError
    with pytest.raises(ProofcheckError, match="name the random variable"):
        translate(r"E_q[\frac{1}{2} \|z\|^2]", GAUSS)


# ------------------------------------------------------------------ `= ... + \text{const}`: up to an additive constant
SECTION_KEY = KL_KEY.replace("steps: |", "grading:\n  parts:\n    main: {section: \"1\"}\nsteps: |")


def test_an_equality_up_to_a_written_constant_before_the_answer_is_a_remark():
    sheet = ("1.\n\n$$E_q[\\log q(z)] = E_q[\\frac{1}{2} \\|z\\|^2] + \\text{Constant.}$$\n\n"
             "$$KL(q \\| P) = -\\frac{1}{2} \\log \\det(\\Sigma) + \\frac{1}{2} \\|\\mu\\|^2 + \\frac{1}{2} \\text{tr}(\\Sigma)"
             " - \\frac{D}{2}$$\n\n$$= -\\frac{1}{2} \\log \\det(\\Sigma) + \\frac{1}{2} \\|\\mu\\|^2 + \\frac{1}{2} "
             "\\text{tr}(\\Sigma) - \\frac{D}{2}$$\n")
    notes = _graded_key(sheet, SECTION_KEY)["formulas"]
    (first,) = [n for n in notes["classified"] if n["line"] == 3]
    assert first["kind"] == "remark" and "additive constant" in first["reason"]
    # without the constant the same truncated line stays not read
    cut = sheet.replace(" + \\text{Constant.}", " +")
    assert any(n["line"] == 3 for n in _graded_key(cut, SECTION_KEY)["formulas"]["not_read"])


def _graded_key(sheet: str, key: str):
    import proofcheck
    return proofcheck.grade(sheet, key, timeout=FAST).to_dict()
