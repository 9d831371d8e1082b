"""Constructs of seed 001 (VAE/ELBO, Gaussian likelihood, logistic duality, GAN) read from a sheet (issue 15, item 5)."""

from __future__ import annotations

from testlib import COMMUTATIVE_KEY as COMMUTATIVE, latex_key as _key
from proofcheck.latex import sheet_sections


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


def test_prose_ending_in_a_condition_word_makes_a_condition():
    # seed 001, line 156: `... \text{ convex when } C \geq 0`: what follows `when` (the last word of the prose, as well
    # as the first: `\text{where } ...`) is a condition, not a step; after `when` (`for`, `if`) the result before it is
    # stated under it, and checked so
    text = "Question 1\n\n$$x + y = y + x \\text{ holds when } x > 0$$\n"
    chains, kinds = _read(COMMUTATIVE, text)
    assert [[t.text.strip() for t in c.steps] for c in chains] == [["x > 0", "==> x + y = y + x"]]
    assert kinds == ["read", "condition"]
    chains, kinds = _read(COMMUTATIVE, text.replace("holds when", "holds, and"))
    assert kinds == ["read", "condition"]
    # `so` between two relations is an implication: one statement
    chains, kinds = _read(COMMUTATIVE, text.replace("holds when", "so"))
    assert kinds == ["read"]
    assert [[t.text.strip() for t in c.steps] for c in chains] == [["x + y = y + x", "==> x > 0"]]


def test_cases_after_such_that_are_conditions():
    # seed 001, line 194: `\max g(\lambda_1, \lambda_2) \text{ s.t. } \begin{cases} -1 \leq \lambda_u \leq 0 & ... \end{cases}`:
    # the constraints of a program are conditions; a `cases` anywhere else stays not read, and only that formula
    cases = r"\begin{cases} -1 \leq x \leq 0 & \forall u \\ -1 \leq y \leq 0 \end{cases}"
    _, kinds = _read(COMMUTATIVE, f"Question 1\n\n$$x \\text{{ s.t. }} {cases}$$\n\n$$x + y = y + x$$\n")
    assert kinds == ["expression", "condition", "read"]
    _, kinds = _read(COMMUTATIVE, f"Question 1\n\n$$x \\text{{ subject to }} {cases}$$\n\n$$x + y = y + x$$\n")
    assert kinds == ["expression", "condition", "read"]
    chains, kinds = _read(COMMUTATIVE, f"Question 1\n\n$$x + y = {cases} = y + x$$\n\n$$x + y = y + x$$\n")
    assert kinds == ["not read", "read"]
    assert [[t.text.strip() for t in c.steps] for c in chains] == [["x + y", "= y + x"]]


def test_an_arrow_and_a_name_in_a_sentence_is_prose():
    # seed 001, line 142: `$\Rightarrow f$ convex when $c > 0$`: "hence f is convex", a name in a sentence, not a chain
    text = "Question 1\n\n$$x + y = y + x$$\n\n$\\Rightarrow f$ convex when $x > 0$\n"
    chains, kinds = _read(COMMUTATIVE, text)
    assert kinds == ["read", "expression", "condition"]
    assert [[t.text.strip() for t in c.steps] for c in chains] == [["x + y", "= y + x"]]
    _, kinds = _read(COMMUTATIVE, text.replace("$\\Rightarrow f$", "$\\Rightarrow f = x$"))
    assert kinds[1] != "expression"


def test_values_after_such_that_are_a_condition():
    # seed 001, line 154: `so in the domain that $C \geq 0$ we have`: a hypothesis, like `such that $x > 0$`
    text = "Question 1\n\nso in the domain that $x > 0$ we have\n\n$$x + y = y + x$$\n"
    _, kinds = _read(COMMUTATIVE, text)
    assert kinds == ["condition", "read"]
    _, kinds = _read(COMMUTATIVE, text.replace("in the domain that", "for y such that"))
    assert kinds == ["condition", "read"]
    _, kinds = _read(COMMUTATIVE, text.replace("in the domain that", "we see that"))
    assert kinds == ["read", "read"]


def test_a_question_after_an_arrow_is_not_a_step():
    # seed 001, line 38: `p(z) = \frac{1}{\sqrt{2\pi\sigma^2}} ... \rightarrow KL(q(z|\mu), p(z))?`: the chain is p(z) = ...;
    # the arrow leads to the question asked next
    text = "Question 1\n\n$$x + y = y + x \\rightarrow x - y?$$\n"
    chains, kinds = _read(COMMUTATIVE, text)
    assert [[t.text.strip() for t in c.steps] for c in chains] == [["x + y", "= y + x"]]
    assert kinds == ["read"]
    chains, _ = _read(COMMUTATIVE, text.replace("?", ""))
    assert [[t.text.strip() for t in c.steps] for c in chains] == [["x + y", "= y + x", "==> x - y"]]
