"""The key's `densities:` table: one letter for the model's several densities (`p_\\theta(z|x)`, `p(x, z)`, `p_\\theta(x)`),
each read as what the key says it is, and the constructs the seeds write around them (issue 15; seeds 000 q1, 001 1(a)).

Without the table those formulas were `not read` (`p_{\\theta}` is not declared); reading the letter as one density would
make `\\log p(x|z) - \\log p(z|x)` zero, so a signature the table does not list stays not read."""

from __future__ import annotations

import textwrap

import pytest

from proofcheck.errors import ProofcheckError
from proofcheck.grade import grade_text, key_from_text
from proofcheck.latex import Names, translate
from proofcheck.read import parse_derivation_text
from proofcheck.verify import Options

KEY = textwrap.dedent("""\
    proofcheck: 1
    title: the evidence at an observed x
    symbols:
      z: real
      q, post, prior: density
      p_x: positive
    define:
      - p_xz(u) := p_x post(u)
      - ELBO := E[z ~ q](log(p_xz(z) / q(z)))
    densities:
      p(z | x): post(z)
      p(x, z): p_xz(z)
      p(x): p_x
      p(z): prior(z)
      p(x | z): p_xz(z) / prior(z)
      q(z | x): q(z)
      q(z): q(z)
    claim: KL(q || post) = log(p_x) - ELBO
    steps: |
      KL(q || post)
        = E[z ~ q](log(q(z))) - E[z ~ q](log(p_xz(z))) + log(p_x)
        = log(p_x) - ELBO
    """)


def _names() -> Names:
    return Names.from_part(parse_derivation_text(KEY, "k.yaml").parts[0])


@pytest.mark.parametrize("latex,read", [
    (r"p_{\theta}(z|x)", "post(z)"),
    (r"p(x, z)", "p_xz(z)"),
    (r"p_\theta(z, x)", "p_xz(z)"),                  # the joint by its variables, in either order
    (r"\log p_{\theta}(x)", "log(p_x)"),
    (r"p_{\theta}(x \mid z) p(z)", "(p_xz(z) / prior(z)) prior(z)"),  # a quotient: bracketed
    (r"q_{\phi}(Z|X)", "q(z)"),                       # random variables in capitals: the same density
    (r"\mathbb{E}_{q}[\log p(x, z)]", "E[z ~ q](log(p_xz(z)))"),  # the table makes q a density of z
])
def test_each_signature_reads_as_the_keys_density(latex, read):
    assert translate(latex, _names()) == read


@pytest.mark.parametrize("latex", [r"p_\theta(x^{(i)} | z^{(i)})", r"p(z | y)", r"p(x, y)", r"p_\theta(z + 1)"])
def test_a_signature_the_table_does_not_list_is_not_read(latex):
    with pytest.raises(ProofcheckError, match=r"none of the densities the key writes with p: p\(z \| x\), p\(x, z\)"):
        translate(latex, _names())


def test_other_letters_are_not_the_tables():
    # `p_D`, `P`: other densities; with nothing declared under those names they are undeclared, not the model's p
    for latex in (r"p_D(x)", r"P(x)"):
        with pytest.raises(ProofcheckError, match="is not declared"):
            translate(latex, _names())


def test_a_sum_without_range_weighted_by_a_density_is_its_expectation():
    # seed 000 l.12: `\sum q(z) \log \frac{q(z)}{p_\theta(z|x)}` (no index written) and seed 001's `\sum_z q(z|x) ...`
    assert translate(r"\sum q(z) \log \frac{q(z)}{p_{\theta}(z|x)}", _names()) == "E[z ~ q](log(q(z)/post(z)))"
    assert translate(r"\sum_z q(z|x) \log p(x, z)", _names()) == "E[z ~ q](log(p_xz(z)))"
    with pytest.raises(ProofcheckError, match="has no range"):
        translate(r"\sum z^2", _names())


def test_an_integral_with_its_variable_under_the_sign_needs_no_differential():
    # seed 000 l.17: `\log \int_{z} p(x, z) \frac{q(z)}{q(z)}`
    assert translate(r"\log \int_{z} p(x, z) \frac{q(z)}{q(z)}", _names()) == "log(integral(p_xz(z) q(z)/q(z), z))"
    assert translate(r"\int_z p(x, z) + 1", _names()) == "integral(p_xz(z), z) + 1"
    with pytest.raises(ProofcheckError, match="no differential"):
        translate(r"\int_a^b p(x, z)", _names())


def _graded(sheet: str):
    return grade_text(KEY, sheet, Options(timeout=10, seed=0), path="s.md")


def test_the_sheets_derivation_reads_and_is_proved():
    sheet = (r"$$D_{KL}(q(z) \parallel p_{\theta}(z|x)) = \mathbb{E}_{z \sim q} \log q(z) - \mathbb{E}_{z \sim q} "
             r"\log p_{\theta}(z,x) + \log p_{\theta}(x)$$" "\n\n"
             r"$$= \log p_{\theta}(x) - ELBO$$" "\n")
    g = _graded(sheet)
    assert [s.result.status.value for p in g.parts for s in p.steps] == ["proved", "proved"]
    assert g.score == g.max_score


def test_log_p_of_z_for_log_p_of_x_is_refuted():
    # seed 001 l.18 (SEED_NOTES 1(a) item 1): `\log p_\theta(z) = \log \sum_z q(z|x) \frac{p_\theta(x,z)}{q(z|x)}`
    g = _graded(r"$$\log p_{\theta}(z) = \log \sum_z q(z|x) \frac{p_{\theta}(x,z)}{q(z|x)}$$" "\n")
    assert [s.result.status.value for p in g.parts for s in p.steps] == ["refuted"]


def test_the_models_laws_stated_on_the_sheet_are_conditions():
    # seed 000 l.66: `p_\theta(z) = \mathcal{N}(0, I)`, `p_\theta(x|z) = \mathcal{N}(f(z), \sigma^2 I)`: the model the
    # student works in, not steps
    from proofcheck.latex import sheet_sections
    key = key_from_text(KEY, "k.yaml", Options())[0]
    text = ("# 1\n\n$$\\begin{aligned} p_{\\theta}(z) &= \\mathcal{N}(0, I) \\\\ p_{\\theta}(x|z) &= "
            "\\mathcal{N}(f_{\\theta}(z), \\sigma^{2}I) \\end{aligned}$$\n\n$$\\log p_\\theta(x) = \\log \\int_z p(x, z)$$\n")
    _, sheet = sheet_sections(text, "s.md", key.derivation, {"main": ["1"]})
    assert [f.kind for f in sheet.formulas] == ["condition", "condition", "read"]


def test_a_statement_then_an_equality_written_on_is_two_chains():
    # seed 001 l.20: `\Rightarrow \log p(x) \geq B = C`: the bound log p(x) >= B, then B = C as an expression chain
    # (read only: checking these steps means quadratures of random densities, seconds each). The arrow speaks of the
    # first line's log p(x), so the equality before it stays a step of its own chain, checked, not an assumption.
    from proofcheck.latex import sheet_sections
    key = key_from_text(KEY, "k.yaml", Options())[0]
    text = ("Question 1\n\n" r"$$\log p_{\theta}(x) = \log \int_{z} p(x, z)$$" "\n\n"
            r"$$\Rightarrow \log p_{\theta}(x) \geq \mathbb{E}_{z \sim q} \log \frac{p(x, z)}{q(z)} = "
            r"\mathbb{E}_{z \sim q} \log p(x, z) - \mathbb{E}_{z \sim q} \log q(z) + 1$$" "\n")
    by_part, _ = sheet_sections(text, "s.md", key.derivation, {"main": ["1"]})
    assert [(c.statement, [t.text for t in c.steps]) for c in by_part["main"]] == [
        (False, ["log(p_x)", "= log(integral(p_xz(z), z))"]),
        (True, ["log(p_x) = log(integral(p_xz(z), z))", "==> log(p_x) >= E[z ~ q](log(p_xz(z)/q(z)))"]),
        (False, ["E[z ~ q](log(p_xz(z)/q(z)))", "= E[z ~ q](log(p_xz(z))) - E[z ~ q](log(q(z))) + 1"])]


def test_a_key_whose_table_does_not_read_is_an_error():
    bad = KEY.replace("p(x): p_x", "p(x): p_y")
    key, errors = key_from_text(bad, "k.yaml", Options())
    assert any("p_y" in e.message for e in errors)
    with pytest.raises(ProofcheckError, match="a letter applied to names"):
        parse_derivation_text(KEY.replace("p(x): p_x", "p(x + 1): p_x"), "k.yaml")


def test_a_set_under_the_integral_sign_is_not_its_variable():
    for latex in (r"\int_\Omega p(x, z)", r"\int_D p(x, z)"):
        with pytest.raises(ProofcheckError, match="no differential"):
            translate(latex, _names())


GAUSS = textwrap.dedent("""\
    proofcheck: 1
    title: two Gaussian posteriors
    symbols:
      mu_Q, mu_theta, z_s, t: real
      sigma, s: positive
    define:
      - sigma_Q := sigma s^2
      - q_Q := Normal(mu_Q, sigma_Q^2)
      - p_Q := Normal(mu_theta, sigma_Q^2)
    densities:
      q(z_s | z_t, x): q_Q
      p(z_s | z_t): p_Q
    claim: KL(q_Q || p_Q) = (mu_Q - mu_theta)^2 / (2 sigma_Q^2)
    steps: |
      KL(q_Q || p_Q)
        = (mu_Q - mu_theta)^2 / (2 sigma_Q^2)
    """)


def test_a_table_entry_may_name_a_distribution():
    # seed 000 l.165: `D_{KL}(q(z_s|z_t, x) || p(z_s|z_t)) = \frac{1}{2\sigma_Q^2(s,t)} \|\mu_Q - \mu_\theta\|_2^2`
    names = Names.from_part(parse_derivation_text(GAUSS, "k.yaml").parts[0])
    assert translate(r"q(z_{s}|z_{t},x)", names) == "pdf(q_Q, z_s)"
    assert translate(r"D_{KL}(q(z_{s}|z_{t},x)||p(z_{s}|z_{t}))", names) == "KL(q_Q || p_Q)"
    g = grade_text(GAUSS, r"$$D_{KL}(q(z_{s}|z_{t},x)||p(z_{s}|z_{t})) = \frac{1}{2\sigma_{Q}^{2}(s,t)} "
                          r"\|\mu_{Q} - \mu_{\theta}\|_{2}^{2}$$" "\n", Options(timeout=10, seed=0), path="s.md")
    assert [s.result.status.value for p in g.parts for s in p.steps] == ["proved"]


def test_a_powered_value_with_its_dependencies_drops_the_list():
    names = Names.from_part(parse_derivation_text(GAUSS, "k.yaml").parts[0])
    assert translate(r"\sigma_{Q}^{2}(s,t)", names) == "sigma_Q^2"
    assert translate(r"\sigma_Q^2(s; t) + 1", names) == "sigma_Q^2 + 1"
    # one name without a separator may be a product: left to the grammar
    assert translate(r"\sigma_Q^2(s)", names) == "sigma_Q^2 (s)"
