"""Constructs of seed 001 (VAE/ELBO, Gaussian likelihood, logistic duality, GAN) read from a sheet (issue 15, item 5)."""

from __future__ import annotations

import textwrap

from proofcheck.read import parse_derivation_text
from proofcheck.latex import sheet_sections


def _key(text: str):
    return parse_derivation_text(textwrap.dedent(text), "k.yaml")


COMMUTATIVE = """\
    proofcheck: 1
    title: t
    symbols:
      x, y: real
    claim: x + y = y + x
    steps: |
      x + y
        = y + x
    """


def _read(key_text: str, text: str):
    out, sheet = sheet_sections(text, "s.md", _key(key_text), {"main": ["1"]})
    kinds = {(f.line, f.column): f.kind for f in sheet.formulas}
    return out.get("main", []), [kinds[k] for k in sorted(kinds)]


def test_an_unreadable_premise_about_other_names_leaves_the_chain_after_it():
    # seed 001 l.97-101: `I \rightarrow D_{xD}` (prose: I is D x D) names nothing the `\Rightarrow A = B` and `= C`
    # rows are about, so it cannot restrict them: A = B = C is an expression chain (the premise stays not read)
    text = "Question 1\n\n$I \\rightarrow D_{xD}$\n\n$\\Rightarrow x + y = y + x$\n\n$= x + y + 0$\n"
    chains, kinds = _read(COMMUTATIVE, text)
    assert [[t.text.strip() for t in c.steps] for c in chains] == [["x + y", "= y + x", "= x + y + 0"]]
    assert not chains[0].statement
    assert kinds == ["remark", "read", "read"]


def test_an_unreadable_premise_about_the_same_names_keeps_its_statement_chain_ungraded():
    # `x \rightarrow D_{xD}` may say something about x: `\Rightarrow` after it stays the premise's statement, not graded
    text = "Question 1\n\n$x \\rightarrow D_{xD}$\n\n$\\Rightarrow x + y = y + x$\n\n$$x + y = y + x$$\n"
    chains, kinds = _read(COMMUTATIVE, text)
    assert [[t.text.strip() for t in c.steps] for c in chains] == [["x + y", "= y + x"]]
    assert kinds[:2] == ["not read", "not read"]


def test_a_starred_name_transposed():
    # seed 001, line 168: `w^{*T} b` is (w^*)^T b, the transpose of the name w^*, not a power of w
    from proofcheck.latex.blocks import translate
    from proofcheck.latex.names import Names
    names = Names(symbols={"w": "vector", "b": "vector", "c": "scalar"}, defines={"w_star": None})
    assert translate(r"\frac{c}{2} \|w^*\|_2^2 - w^{*T} b", names) == "c/2 ||w_star||^2 - w_star^T b"
    assert translate(r"w^{* \top} b + w^T b", names) == "w_star^T b + w^T b"
