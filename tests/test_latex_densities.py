"""One letter, two densities: the bar of `P(x|z)` is read away only where the key's P is that density (issue 15).

Reading `P_\\theta(x|z)` (a likelihood) as the key's prior P made `\\log P(x|z) - \\log P(x)` zero: a wrong step would be
proved. Such an application is now not read, with the reason, while `q(z|\\mu)` (conditioned on q's own parameters)
and `q(\\cdot|x)` / `q(z|x)` with x not modelled by the key still read as the key's q."""

from __future__ import annotations

import textwrap

import pytest

from proofcheck.errors import ProofcheckError
from proofcheck.latex import Names, translate
from proofcheck.read import parse_derivation_text


def _names(claim: str, symbols: str = "x, z, mu: real") -> Names:
    key = parse_derivation_text(textwrap.dedent(f"""\
        proofcheck: 1
        title: t
        symbols:
          {symbols}
          sigma: positive
        define:
          - P := Normal(0, 1)
          - q := Normal(mu, sigma^2)
        claim: {claim}
        steps: |
          x
            = x
        """), "k.yaml")
    return Names.from_part(key.parts[0])


# the key says P and q are laws of z
OF_Z = "E[z ~ q](log(pdf(q, z)/pdf(P, z))) = KL(q || P)"


@pytest.mark.parametrize("latex", [r"\log P_\theta(x|z) - \log P_\theta(x)", r"P(x|z)"])
def test_a_likelihood_under_the_priors_letter_is_not_read(latex):
    with pytest.raises(ProofcheckError, match=r"P is a law of z, not of x.*another density under the same letter"):
        translate(latex, _names(OF_Z))


def test_several_names_after_the_bar_are_checked_one_by_one():
    # `q(z|\mu, \sigma)` is q's density; with a declared x its definition does not mention, another density
    with pytest.raises(ProofcheckError, match=r"the key's q does not depend on x"):
        translate(r"q(z|x, \sigma)", _names(OF_Z))


def test_conditioned_on_a_variable_the_law_does_not_mention_is_another_density():
    # the key never says what P is a law of: P(z|x) for the prior P of the key would be the posterior
    with pytest.raises(ProofcheckError, match=r"the key's P does not depend on x"):
        translate(r"P(z|x)", _names("x = x"))
    with pytest.raises(ProofcheckError, match=r"the key's P does not depend on x"):
        translate(r"P(z|x)", _names(OF_Z))


@pytest.mark.parametrize("latex,read", [(r"q(z|\mu)", "pdf(q, z)"), (r"P(x)", "pdf(P, x)"), (r"q(z|w)", "pdf(q, z)"),
                                        (r"q(z|\mu, \sigma)", "pdf(q, z)")])
def test_the_keys_own_density_still_reads(latex, read):
    # conditioned on its own parameters, or on a name the key does not model (w): the key's q; evaluated at any point
    assert translate(latex, _names(OF_Z)) == read


def test_an_unmodelled_input_keeps_the_keys_encoder():
    # x not declared: q(z|x) is the key's q, the encoder at the question's fixed input
    assert translate(r"q(z|x)", _names(OF_Z, symbols="z, mu: real")) == "pdf(q, z)"
