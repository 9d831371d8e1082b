"""What the documents (HTML, LaTeX) and CI annotations show beyond the verdicts.

A FileReport says what was checked; a page or a solution sheet also shows the file's `source`,
its hypotheses, the claim typeset and where the claim is written. These are read again from the
file here, with the same reader and parser the verifier uses; nothing here decides a verdict, and
a file that cannot be read simply has no extras (its report already carries the error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from proofcheck.model import Text


@dataclass
class PartSource:
    """One part as written: where its claim and first line are, the claim and hypotheses typeset."""

    claim_line: int = 0
    claim_column: int = 0
    start_line: int = 0
    claim_display: object = None
    givens: list[tuple[str, str, object]] = field(default_factory=list)  # (label, text, display), own only


@dataclass
class FileSource:
    """A file's metadata and per-part extras (by part name)."""

    source: str = ""
    notes: str = ""
    latex_names: dict[str, str] = field(default_factory=dict)  # symbol name -> LaTeX
    givens: list[tuple[str, str, object]] = field(default_factory=list)  # top-level hypotheses
    parts: dict[str, PartSource] = field(default_factory=dict)


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _display_relation(text: Text, scope):
    """A relation or `relation ==> relation` as written, to typeset."""
    from proofcheck.report import written
    return written.claim(text, scope)


def _try(make):
    try:
        return make()
    except Exception:  # noqa: BLE001 - extras are best effort; the report stands without them
        return None


def load_source(path: str, displays: bool = True) -> FileSource:
    """The extras of one derivation file (empty when it cannot be read); `displays=False` skips typesetting
    the claims and hypotheses (the CI formats need only where things are)."""
    from proofcheck.errors import ProofcheckError
    from proofcheck.parse import build_scope
    from proofcheck.read import read_derivation
    try:
        derivation = read_derivation(path)
    except (ProofcheckError, OSError):
        return FileSource()
    out = FileSource(derivation.source, derivation.notes)
    for latex_name, symbol in derivation.latex_names.items():
        if _NAME.fullmatch(latex_name.strip()) and not _NAME.fullmatch(symbol.strip()):
            latex_name, symbol = symbol, latex_name  # written the other way round: name -> LaTeX
        out.latex_names.setdefault(symbol.strip(), latex_name.strip())
    # Top-level givens come first in every part's list; show them once for the file.
    shared = min((len(p.given) for p in derivation.parts), default=0)
    while shared and len({tuple(g.label for g in p.given[:shared]) for p in derivation.parts}) > 1:
        shared -= 1
    for i, part in enumerate(derivation.parts):
        ps = PartSource(start_line=part.steps[0].span.line if part.steps else 0)
        if part.claim is not None:
            ps.claim_line, ps.claim_column = part.claim.span.line, part.claim.span.col
        scope = _try(lambda: build_scope(part.symbols, part.define)) if displays else None
        if scope is not None:
            if part.claim is not None:
                ps.claim_display = _try(lambda: _display_relation(part.claim, scope))
        givens = [(g.label, " ".join(g.text.text.split()),
                   _try(lambda: _display_relation(g.text, scope)) if scope is not None else None)
                  for g in part.given]
        if i == 0:
            out.givens = givens[:shared]
        ps.givens = givens[shared:]
        out.parts[part.name] = ps
    return out
