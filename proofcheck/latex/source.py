"""Positions: LaTeX offsets -> file line and column, and the ASCII texts that keep them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from proofcheck.errors import ParseError, ProofcheckError
from proofcheck.model import Span, Text


MAX_LATEX_CHARS = 20_000  # one display block
MAX_BLOCKS = 2_000  # display blocks in one sheet
MAX_NESTING = 48  # brackets and groups inside one another (as proofcheck.parse)


@dataclass(frozen=True)
class LatexText(Text):
    """ASCII formula text translated from LaTeX; `charmap[i]` is the file (line, col) of character i.

    `charmap` has one entry more than the text: the position just after the LaTeX (for "the formula
    ends too early"). `error`, when set, is raised by proofcheck.parse instead of parsing the text:
    the LaTeX could not be translated."""

    charmap: tuple[tuple[int, int], ...] = ()
    latex: str = ""
    error: ProofcheckError | None = None
    alternative: "LatexText | None" = None  # the line's other reading, where its notation has two

    def span_at(self, line: int = 1, col: int = 1) -> Span:
        """The file position of (line, col) of the ASCII text: where its LaTeX is."""
        if not self.charmap:
            return super().span_at(line, col)
        i = min(max(col - 1, 0), len(self.charmap) - 1)
        file_line, file_col = self.charmap[i]
        return Span(self.path, file_line, file_col)


class Source:
    """Offsets in a LaTeX string -> file (line, col)."""

    def __init__(self, text: str, path: str, origins: tuple[tuple[int, int], ...] = ((1, 1),),
                 base: int = 0):
        self.text, self.path = text, path
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.origins = origins
        self.base = base  # offset of text[0] in a larger text (only for messages)

    def pos(self, off: int) -> tuple[int, int]:
        off = min(max(off, 0), len(self.text))
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:  # last line start <= off
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= off:
                lo = mid
            else:
                hi = mid - 1
        line = lo
        origin = self.origins[min(line, len(self.origins) - 1)] if line < len(self.origins) else \
            (self.origins[-1][0] + line - len(self.origins) + 1, 1)
        return origin[0], origin[1] + off - self.starts[line]

    def span(self, off: int) -> Span:
        line, col = self.pos(off)
        return Span(self.path, line, col)


def latex_error(msg: str, src: Source, off: int) -> ParseError:
    """A ParseError at offset `off` of the LaTeX source."""
    return ParseError(msg, src.span(off))
