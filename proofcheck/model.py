"""Plain data passed between the stages: read -> parse -> check -> report. No SymPy here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A place in a source file; line and column are 1-based."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Text:
    """A piece of mathematical text and where each of its lines starts in the file."""

    text: str
    path: str
    origins: tuple[tuple[int, int], ...]  # per text line: (file line, file column) of its first char

    def span_at(self, line: int = 1, col: int = 1) -> Span:
        """The file position of (line, col) inside this text, both 1-based."""
        line = min(max(line, 1), len(self.origins))
        file_line, file_col = self.origins[line - 1]
        return Span(self.path, file_line, file_col + col - 1)

    @property
    def span(self) -> Span:
        """Where the text starts."""
        return self.span_at(1, 1)


@dataclass(frozen=True)
class Declaration:
    """`names: type` from the `symbols` mapping."""

    names: tuple[str, ...]
    type_text: Text
    span: Span


@dataclass(frozen=True)
class Given:
    """A labelled hypothesis."""

    label: str
    text: Text


# `p(z | x)`, `p(x, z)`, `q(z)`: a letter applied to names, with a bar before what it is conditioned on
DENSITY_NOTATION = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*\(\s*([A-Za-z][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z][A-Za-z0-9_]*)*)"
                              r"\s*(?:\|\s*([A-Za-z][A-Za-z0-9_]*(?:\s*[,;]\s*[A-Za-z][A-Za-z0-9_]*)*))?\s*\)\s*")


@dataclass
class Part:
    """One chain: a claim and the steps that establish it, with the declarations in scope."""

    name: str
    claim: Text | None
    steps: list[Text]
    symbols: list[Declaration] = field(default_factory=list)
    define: list[Text] = field(default_factory=list)
    given: list[Given] = field(default_factory=list)
    span: Span | None = None
    steps_span: Span | None = None
    # a sheet's density notation -> the key's expression: `p(z | x)` -> `post(z)` (`densities:`, docs/latex.md)
    densities: dict[str, Text] = field(default_factory=dict)


@dataclass
class Derivation:
    """A derivation file as read, before any mathematics is parsed."""

    path: str
    title: str
    parts: list[Part]
    source: str = ""
    notes: str = ""
    grading: dict | None = None
    latex_names: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # the file's lines, to show next to errors


# Relations between the lines of a chain (op strings of FORMAT.md section 2), shared by verify, grade and LaTeX


def compose(ops: list[str], statement_chain: bool) -> str | None:
    """The relation a chain of steps establishes, or None (e.g. <= then >=)."""
    if statement_chain:
        return "<==>" if all(o == "<==>" for o in ops) else "==>"
    kinds = set(ops)
    if kinds <= {"="}:
        return "="
    if kinds <= {"=", "<", "<="}:
        return "<" if "<" in kinds else "<="
    if kinds <= {"=", ">", ">="}:
        return ">" if ">" in kinds else ">="
    if kinds <= {"=", "!="} and ops.count("!=") == 1:
        return "!="  # a = b != c = d; two `!=` say nothing about the ends (1 != 2 != 1)
    return None


def implies_relation(have: str, want: str) -> bool:
    """Whether `a have b` implies `a want b`."""
    return want == have or (have == "=" and want in ("<=", ">=")) or \
        (have, want) in (("<", "<="), (">", ">="), ("<", "!="), (">", "!="))
