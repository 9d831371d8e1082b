r"""LaTeX input: `steps_latex` / `claim_latex` in derivation files, and Markdown/LaTeX solution sheets.

Students write LaTeX (`\frac{}{}`, `\mathbb{E}_{z \sim q}[...]`, `\|x - \hat{x}\|_2^2`, `\sigma_{t|s}`,
`a &= b \\ &= c`). This package turns that LaTeX into text of the ASCII expression language
(FORMAT.md section 2) and hands it to proofcheck.parse unchanged, so declarations, types, errors and
every construct mean exactly what they mean in a hand-typed derivation. Nothing is eval'd or
sympified. It depends on proofcheck.errors and proofcheck.model only (and lark); checking the
chains it produces is the caller's business (proofcheck.verify.verify_sheets, proofcheck.grade).

Everything outside the package imports from here. The pipeline, one module per stage, for one
display block (a `$$...$$` of a sheet, or a `steps_latex` block):

1. tokens: the LaTeX as raw tokens, each with its offset in the source.
2. normalize (with vocabulary, the commands it knows): environments, `\left`/`\right` and size
   commands, `\text{...}`, styles (`\boldsymbol`, `\mathbf`), accents (`\hat{x}`), relations
   (`=`, `\le`, `\Rightarrow`, `\approx`).
3. formulas: rows (`\\` outside matrices, `&` dropped), then formulas: runs of expressions joined
   by relations, separated by `\quad`, prose `\text{...}` and top-level commas. Rules come from
   `\text{by ...}` or a `% by ...` comment.
4. translation: per expression, `latex_names` and default names (`\sigma_t` -> `sigma_t`, names.py),
   differentials, bars (norm, absolute value, conditional `|`, KL separator), and the implicit
   arguments of `\log x`, `\sum`, `\int ... dz`, `\frac{d}{dx}` made explicit; then grammar: the lark
   grammar grammar/latex.lark and a Transformer that writes ASCII text with a position for every
   character.
5. chains: formulas -> chains (a line starting with a relation continues the chain before;
   `\Rightarrow` turns the last relation into the start of a statement chain).

blocks holds the entry points for one LaTeX block (`translate`, `latex_steps`, `latex_claim`);
sheets reads whole Markdown sheets (display and inline math, headings, parts matched to a key).

Each resulting formula is a `LatexText` (source.py): a model.Text whose `span_at` maps every
character of the ASCII text back to the file line and column of the LaTeX that produced it, so
errors found by proofcheck.parse point into the LaTeX. A formula that cannot be translated carries
its error, which proofcheck.parse raises when the formula is parsed (so verify reports it on that
step).
"""

from proofcheck.latex.blocks import latex_claim, latex_lines, latex_steps, translate
from proofcheck.latex.chains import Chain, FormulaNote, Sheet
from proofcheck.latex.names import Names
from proofcheck.latex.sheets import (chains_for_part, is_latex_sheet, lost_backslash_note, read_markdown, section_label,
                                     section_matches, sheet_chains, sheet_derivation, sheet_headings, sheet_sections)
from proofcheck.latex.source import LatexText

__all__ = ["LatexText", "Names", "Chain", "Sheet", "FormulaNote", "translate", "latex_lines", "latex_steps",
           "latex_claim", "read_markdown", "is_latex_sheet", "sheet_derivation", "chains_for_part", "sheet_chains",
           "sheet_sections", "sheet_headings", "section_label", "section_matches", "lost_backslash_note"]
