"""`steps_latex` / `claim_latex` of derivation files: one LaTeX block -> formula texts."""

from __future__ import annotations

import re

from proofcheck.errors import LimitError, ParseError
from proofcheck.model import Text
from proofcheck.latex.source import MAX_LATEX_CHARS, MAX_NESTING, Source, latex_error
from proofcheck.latex.names import Names
from proofcheck.latex.tokens import tokenize
from proofcheck.latex.normalize import normalize_tokens
from proofcheck.latex.formulas import Formula, split_formulas
from proofcheck.latex.grammar import translate_tokens
from proofcheck.latex.chains import ChainBuilder, build_chains, emit_text, translate_formula


def translate(latex: str, names: Names | None = None, path: str = "<latex>") -> str:
    """One LaTeX expression -> ASCII expression text (raises ProofcheckError)."""
    src = Source(latex, path)
    formulas = block_formulas(src, 0, len(latex))
    if not formulas:
        raise latex_error("an empty formula", src, 0)
    f = formulas[0]
    if f.error is not None:
        raise f.error
    if len(formulas) > 1 or len(f.segments) > 1 or f.segments[0].rel is not None:
        raise latex_error("translate() takes one expression; use latex_lines() for relations and chains", src, 0)
    return translate_tokens(f.segments[0].toks, names or Names(), src, "", len(latex)).text


_LABEL = re.compile(r"\s*(?:(?:\d+\s*\.(?!\d)\s*)(?:[a-h]\)\s)?|[a-h]\)\s)")


def block_formulas(src: Source, start: int, end: int) -> list[Formula]:
    """The formulas of one display block src.text[start:end], after any question label."""
    m = _LABEL.match(src.text, start, end)
    if m:  # `1. d)`, `f)`: a question label at the start of the block
        start = m.end()
    if end - start > MAX_LATEX_CHARS:
        raise LimitError(f"this formula is {end - start} characters long; the limit is {MAX_LATEX_CHARS}",
                         src.span(start))
    _check_nesting(src, start, end)
    return split_formulas(normalize_tokens(tokenize(src.text, start, end), src), src)


def _check_nesting(src: Source, start: int, end: int) -> None:
    """Refuse groups nested too deeply before any recursive step sees them."""
    depth = 0
    for i in range(start, end):
        c = src.text[i]
        if c in "{([" and (i == 0 or src.text[i - 1] != "\\" or c == "("):
            depth += 1
            if depth > MAX_NESTING:
                raise LimitError(f"brackets nested deeper than {MAX_NESTING} levels", src.span(i))
        elif c in "})]":
            depth = max(depth - 1, 0)


def _text_source(text: Text) -> Source:
    return Source(text.text, text.path, text.origins)


def latex_lines(text: Text, names: Names) -> list[Text]:
    """One LaTeX formula or chain (`a`, `a = b`, `a &= b \\\\ &= c`, one step per line) -> the Texts of its
    lines, exactly as `steps_latex` gives them (a single expression is one line)."""
    return latex_steps(text, names, min_lines=1)


def latex_steps(text: Text, names: Names, min_lines: int = 2) -> list[Text]:
    """`steps_latex`: a LaTeX chain (one step per line, or `a &= b \\\\ &= c`) -> the Texts of its lines.

    Raises ProofcheckError when the block is not one chain; a step whose LaTeX cannot be translated
    carries its error (reported on that step)."""
    src = _text_source(text)
    formulas = block_formulas(src, 0, len(text.text))
    live = [(f, None, names) for f in formulas]
    chains, orphans, _ = build_chains(live, src, " under `symbols:`", ChainBuilder(src, min_lines))
    if orphans:
        raise orphans[0]
    if not chains:
        raise ParseError("steps_latex holds no chain: write the starting expression, then one step per line "
                         "starting with a relation (= , \\le, ...)", text.span)
    if len(chains) > 1:
        raise ParseError("steps_latex holds one chain, but a second one starts here: begin this line with a "
                         "relation (=, \\le, \\Rightarrow) to continue the chain", chains[1].span)
    return chains[0].steps


def latex_claim(text: Text, names: Names) -> Text:
    """`claim_latex`: one relation, or `relation \\Rightarrow relation` -> its ASCII Text."""
    src = _text_source(text)
    formulas = [f for f in block_formulas(src, 0, len(text.text)) if not f.dead]
    if len(formulas) != 1:
        raise ParseError("claim_latex is one relation, e.g. a = b (or a = b \\Rightarrow c = d)", text.span)
    segs = translate_formula(formulas[0], names, src, " under `symbols:`")
    for s in segs:
        if s.error is not None:
            raise s.error
    ops = [s.op for s in segs[1:]]
    chunks: list[tuple[str, int]] = []
    if len(segs) == 2 and ops[0] not in ("==>", "<==>"):
        chunks = segs[0].piece.parts + [(f" {ops[0]} ", segs[1].op_off)] + segs[1].piece.parts
    elif len(segs) == 4 and ops[1] in ("==>", "<==>") and ops[0] not in ("==>", "<==>") and \
            ops[2] not in ("==>", "<==>"):
        chunks = segs[0].piece.parts + [(f" {ops[0]} ", segs[1].op_off)] + segs[1].piece.parts + \
            [(f" {ops[1]} ", segs[2].op_off)] + segs[2].piece.parts + [(f" {ops[2]} ", segs[3].op_off)] + \
            segs[3].piece.parts
    else:
        raise ParseError("claim_latex is one relation, e.g. a = b (or a = b \\Rightarrow c = d)", text.span)
    return emit_text(chunks, src, segs[-1].end, " ".join(text.text.split()))


# -- Markdown / text sheets
