"""Labels at the end of display formulas (`\\quad (2)`, `\\quad \\text{(ب)}`, `\\tag{4}`), equalities up to an additive
constant, the standard normal of a declared vector (`\\epsilon \\sim N(0, I)`), a vector written as the column of its
entries, and a bare `E[S^T S]` after the sheet states `S \\sim N(0, I_k)` (issue 15, item 5; seeds 002 and 003)."""

from __future__ import annotations

from proofcheck.latex import Names, sheet_headings, sheet_sections, translate
from proofcheck.latex.sheets import display_tag
from proofcheck.model import Declaration, Span, Text
from testlib import latex_key as _key


TWO = """\
    proofcheck: 1
    title: t
    symbols:
      x, y: real
    parts:
      - name: first
        claim: x + y = y + x
        steps: |
          x + y
            = y + x
      - name: second
        claim: x y = y x
        steps: |
          x y
            = y x
    """

# on a right-to-left sheet the margin label of a question comes out at the end of its first display formula
SHEET = ("(a) first\n\n$$x + y = y + x$$\n\n$$x y = y x \\quad (2)$$\n\n$$x + x = 2 x \\quad \\text{(b)}$$\n\n"
         "$$x y = x y$$\n")


def test_display_tag_is_a_label_at_the_end_of_a_display_formula():
    assert display_tag(r"x = y \quad (2)") == (6, "2")
    assert display_tag(r"x = y \quad (۴)") == (6, "4")
    assert display_tag(r"J = \sum_i f_i \quad \text{(ب)}") == (15, "ب")
    assert display_tag(r"x = y \tag{3}") == (6, "3")
    # an expression after a space, or a parenthesis that is part of the formula, is no label
    assert display_tag(r"x = y \quad x") is None
    assert display_tag(r"x = f(2)") is None
    assert display_tag(r"x = y \quad (x + y)") is None


def test_a_tag_opens_a_section_only_when_the_key_answers_a_part_there():
    off = {label: SHEET.count("\n", 0, o) + 1 for o, label in sheet_headings(SHEET, lambda lab: lab == "2")}
    assert off == {"a": 1, "2": 5}  # `(b)` names no part of the key: an equation number, no heading
    assert sheet_headings(SHEET) == sheet_headings(SHEET, None)
    assert [label for _, label in sheet_headings(SHEET)] == ["a"]
    # with both tags kept, `(b)` after the question label `(2)` is item 2.b
    assert [label for _, label in sheet_headings(SHEET, lambda lab: True)] == ["a", "2", "2.b"]


def test_the_formula_with_the_tag_belongs_to_the_new_section_and_the_tag_is_no_formula():
    by_part, sheet = sheet_sections(SHEET, "s.md", _key(TWO), {"first": ["a"], "second": ["2"]})
    assert [[t.span.line for t in c.steps] for c in by_part["first"]] == [[3, 3]]
    assert [[t.span.line for t in c.steps] for c in by_part["second"]] == [[5, 5], [7, 7], [9, 9]]
    # `(2)` is not read as the number 2 starting a chain, nor recorded as a formula of its own
    assert sorted((f.line, f.kind) for f in sheet.formulas) == [(3, "read"), (5, "read"), (7, "read"), (9, "read")]


def test_an_equality_up_to_an_additive_constant_starts_no_chain():
    # seed 002 l.67: `E[...] = E[...] + \text{Constant.}` is no exact step; were its readable first half a chain, it
    # would be the part's final chain after the real answer
    text = "(a)\n\n$$x + y = y + x$$\n\n$$x y = x + y + \\text{Constant.}$$\n"
    by_part, sheet = sheet_sections(text, "s.md", _key(TWO), {"first": ["a"]})
    assert [[t.span.line for t in c.steps] for c in by_part["first"]] == [[3, 3]]
    note = next(f for f in sheet.formulas if f.line == 5)
    assert note.kind == "not read" and "up to an additive constant" in note.reason


def _names(symbols: dict[str, str]) -> Names:
    names = Names()
    names.add([Declaration(tuple(n.strip() for n in k.split(",")), Text(v, "<t>", ((1, 1),)), Span("<t>", 1, 1))
               for k, v in symbols.items()], [])
    return names


def test_the_standard_normal_of_a_declared_vector_has_the_zero_mean_and_identity_covariance_of_its_size():
    # seed 002 l.55: `\epsilon \sim N(0, I)` with epsilon a vector of length D; `I` alone would be the imaginary unit
    names = _names({"D": "positive integer", "epsilon, mu": "vector(D)"})
    assert names.dimensions == {"epsilon": "D", "mu": "D"}
    assert translate(r"E_{\epsilon \sim N(0, I)}[\epsilon^T \epsilon]", names) == \
        "E[epsilon ~ Normal((0 epsilon), eye(D))](epsilon^T epsilon)"
    # a scalar variable, or a mean and covariance written out, are left as written
    scalar = _names({"u": "real"})
    assert translate(r"E_{u \sim N(0, 1)}[u^2]", scalar) == "E[u ~ Normal(0, 1)](u^2)"
    assert translate(r"E_{\epsilon \sim N(\mu, I)}[\epsilon^T \epsilon]", names) == \
        "E[epsilon ~ Normal(mu, eye(D))](epsilon^T epsilon)"


KL = """\
    proofcheck: 1
    title: t
    symbols:
      k: positive integer
      S, mu: vector(k)
      x: real
    parts:
      - name: main
        claim: mu^T mu = mu^T mu
        steps: |
          mu^T mu
            = mu^T mu
    """


def test_a_vector_written_as_the_column_of_its_entries_is_notation():
    # seed 003 l.52: `z \\triangleq \\begin{bmatrix} z_1 \\\\ z_2 \\\\ \\vdots \\\\ z_k \\end{bmatrix}` names the entries of z
    text = ("(a)\n\n$$S \\triangleq \\begin{bmatrix} S_1 \\\\ S_2 \\\\ \\vdots \\\\ S_k \\end{bmatrix}$$\n\n"
            "$$\\mu = \\begin{bmatrix} S_1 \\\\ \\vdots \\\\ S_k \\end{bmatrix}$$\n\n$$\\mu^T \\mu = \\mu^T \\mu$$\n")
    by_part, sheet = sheet_sections(text, "s.md", _key(KL), {"main": ["a"]})
    kinds = {f.line: (f.kind, f.reason) for f in sheet.formulas}
    assert kinds[3][0] == "definition" and "its own entries" in kinds[3][1]
    assert kinds[5][0] != "definition"  # another vector's entries: a claim, not notation
    assert [c.span.line for c in by_part["main"]][-1] == 7


def test_a_bare_expectation_averages_over_the_variable_whose_law_the_sheet_states():
    # seed 003 l.66-74: `Let $S \\sim \\mathcal{N}(0, I_k)$` then `E[S^T S] = \\sum_{i=1}^k E[S_i^2]`
    text = ("(a)\n\nLet $S \\sim \\mathcal{N}(0, I_k)$\n\n$$E[S^T S] = \\sum_{i=1}^k E[S_i^2] = k$$\n\n"
            "$$\\mu^T \\mu = \\mu^T \\mu$$\n")
    by_part, _ = sheet_sections(text, "s.md", _key(KL), {"main": ["a"]})
    assert [t.text for t in by_part["main"][0].steps] == [
        "E[S ~ Normal((0 S), eye(k))](S^T S)", "= sum(E[S ~ Normal((0 S), eye(k))](S[i]^2), i, 1, k)", "= k"]
    # without the statement of its law, a bare E[...] is not read
    by_part, sheet = sheet_sections(text.replace("Let $S \\sim \\mathcal{N}(0, I_k)$", "Let S be standard normal"),
                                    "s.md", _key(KL), {"main": ["a"]})
    assert any(f.line == 5 and f.kind == "not read" and "needs its distribution" in f.reason for f in sheet.formulas)
    # an expectation whose body has two variables with stated laws is not guessed
    names = _names({"k": "positive integer", "S, U": "vector(k)"})
    names.laws = {"S": "Normal((0 S), eye(k))", "U": "Normal((0 U), eye(k))"}
    assert translate(r"E[S^T S]", names) == "E[S ~ Normal((0 S), eye(k))](S^T S)"
    try:
        translate(r"E[S^T U]", names)
    except Exception as exc:  # noqa: BLE001 - the reader's error
        assert "needs its distribution" in str(exc)
    else:
        raise AssertionError("E[S^T U] with two random vectors was read")


def test_an_array_written_at_the_questions_input_is_the_keys_array():
    # seed 003 l.46: `\sigma_i(x)`, `\mu_i(x)`: the encoder's outputs at the input x, which the key keeps fixed (as it
    # reads `q(z|x)` as its q); x itself is not declared
    names = _names({"k": "positive integer", "z, mu": "vector(k)", "sigma": "vector(k) positive"})
    assert translate(r"\frac{1}{2} \sum_{i=1}^k \sigma_i(x)^2 + \mu_i(x)^2 - 1 - \log \sigma_i(x)", names) == \
        "1/2 sum(sigma[i]^2 + mu[i]^2 - 1 - log(sigma[i]), i, 1, k)"
    assert translate(r"\mu(x)^T \mu(x)", names) == "mu^T mu"
    # two different inputs, or a declared argument, are left as written (and so not read, or a product)
    for latex in (r"\mu(x) - \mu(y)", r"\mu(k)"):
        try:
            got = translate(latex, names)
        except Exception:  # noqa: BLE001 - not read
            continue
        assert got != "mu - mu" and got != "mu", got


def test_a_formula_after_persian_if_we_assume_is_a_condition():
    # seed 002 l.75: `* اگر فرض کنیم $\sigma_\phi \rightarrow 0$ ، ...` ("if we assume sigma_phi -> 0, ...")
    text = "(a)\n\n* اگر فرض کنیم $x \\rightarrow 0$ ، داریم:\n\n$$x + y = y + x$$\n"
    _, sheet = sheet_sections(text, "s.md", _key(TWO), {"first": ["a"]})
    assert sorted((f.line, f.kind) for f in sheet.formulas) == [(3, "condition"), (5, "read")]


def test_the_law_in_an_expectations_subscript_is_the_law_of_the_dots_after_it():
    # seed 003 l.58-62: `E_{z \sim \mathcal{N}(\mu(x), \sigma^2(x))}[...]` then `= E_{z \sim \dots}[...]` on the next line;
    # sigma a vector: N(mu, sigma^2) has independent coordinates, covariance diag(sigma_i^2); `I_k` the identity
    text = ("(a)\n\n$$E_{S \\sim \\mathcal{N}(\\mu(x), \\sigma^2(x))}[S^T S] = E_{S \\sim \\dots}[S^T I_k S]$$\n\n"
            "$$E[S^T S] = \\mu^T \\mu$$\n")
    key = KL.replace("S, mu: vector(k)", "S, mu, sigma: vector(k)").replace("      x: real\n", "")
    by_part, _ = sheet_sections(text, "s.md", _key(key), {"main": ["a"]})
    law = "Normal(mu, diag(sigma sigma^T))"
    assert [[t.text for t in c.steps] for c in by_part["main"]] == [
        [f"E[S ~ {law}](S^T S)", f"= E[S ~ {law}](S^T eye(k) S)"], [f"E[S ~ {law}](S^T S)", "= mu^T mu"]]
    # two different laws stated for S in the section: `\dots` and a bare E[...] are not guessed
    text2 = text.replace("$$E[S^T S]", "$$E_{S \\sim \\mathcal{N}(0, I_k)}[S] = 0$$\n\n$$E[S^T S]")
    _, sheet = sheet_sections(text2, "s.md", _key(key), {"main": ["a"]})
    assert any(f.kind == "not read" and "needs its distribution" in f.reason for f in sheet.formulas)


def test_a_step_under_a_hypothesis_in_prose_is_not_a_step_of_the_chain_before_it():
    # seed 002 l.61-63: `حال اگر Σ قطری باشد و اعضای قطر را σ_i^2 بنامیم داریم : $$= -\sum \log \sigma_i + ...$$` ("now if
    # Sigma is diagonal with entries sigma_i^2 we have"): the chain's answer is the line before the hypothesis
    text = ("(a)\n\n$$x + y = y + x$$\n\nNow if σ_1 = 0 we have:\n\n$$= x + y + 0$$\n\n$$= y + x + 0$$\n\n"
            "$$x y = y x$$\n")
    by_part, sheet = sheet_sections(text, "s.md", _key(TWO), {"first": ["a"]})
    assert [[t.span.line for t in c.steps] for c in by_part["first"]] == [[3, 3], [11, 11]]
    kinds = {f.line: (f.kind, f.reason) for f in sheet.formulas}
    assert kinds[7][0] == kinds[9][0] == "not read" and "hypothesis written in prose" in kinds[7][1]
    # prose without a hypothesis, or a hypothesis without math in it, leaves the chain alone
    for prose in ("Now we have:", "Now if we expand we have:"):
        by_part, _ = sheet_sections(text.replace("Now if σ_1 = 0 we have:", prose), "s.md", _key(TWO),
                                    {"first": ["a"]})
        assert [[t.span.line for t in c.steps] for c in by_part["first"]] == [[3, 3, 7, 9], [11, 11]]
