"""One error type for everything a user's input can get wrong, each with a position."""

from __future__ import annotations

from proofcheck.model import Span


class ProofcheckError(Exception):
    """A problem with the user's input, reported as `file:line:col: message`."""

    kind = "error"

    def __init__(self, message: str, span: Span | None = None):
        super().__init__(message)
        self.message = message
        self.span = span

    def __str__(self) -> str:
        return f"{self.span}: {self.message}" if self.span else self.message


class ReadError(ProofcheckError):
    """The file itself (size, encoding, YAML, keys) is wrong."""

    kind = "read"


class ParseError(ProofcheckError):
    """A formula does not follow the expression grammar."""

    kind = "parse"


class DeclarationError(ProofcheckError):
    """A name is undeclared, declared twice, or used against its type."""

    kind = "declaration"


class LimitError(ProofcheckError):
    """The input exceeds a safety limit (size, nesting, number growth)."""

    kind = "limit"


def show_line(lines: list[str], span: Span | None) -> str:
    """The offending source line with a caret under the column, or '' if unknown."""
    if span is None or not (1 <= span.line <= len(lines)):
        return ""
    src = lines[span.line - 1].rstrip("\n")
    if len(src) > 200:
        src = src[:200] + "..."
    caret = " " * max(min(span.col - 1, len(src)), 0) + "^"
    return f"    {src}\n    {caret}"
