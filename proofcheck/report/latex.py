r"""The LaTeX export: a derivation file as a solution sheet.

A document with the title, the source, the hypotheses, and per part (a section each when there
are several) the claim and the chain as an `align*` environment: `start &= step \\ &= step ...`
for expression chains, one statement per line with the relation in front for statement chains.
Formulas are typeset as their author wrote them (printed from the parse tree, see written.py); a
formula that cannot be typeset appears as its source text in `\texttt`. With `marks`, every step
carries its verdict at the right margin (`\tag*`), the claim says whether it is established, and
refuted steps list their counterexample. The preamble uses only packages in a basic TeX installation (amsmath,
amssymb, geometry, color), and every text that comes from the file is escaped.
"""

from __future__ import annotations

from proofcheck import __version__
from proofcheck.kernel.verdict import Status
from proofcheck.report.formula import LATEX_OPS, latex, latex_source, latex_text
from proofcheck.report.source import FileSource, load_source
from proofcheck.verify import FileReport, PartReport

MAX_RULE = 40  # longer justifications are shortened to the rule's name
WIDE = 110  # characters of LaTeX; a chain with a wider formula (or a matrix) starts on a line of its own

MARKS = {
    Status.PROVED: ("pcproved", r"$\checkmark$\,proved"),
    Status.NUMERIC: ("pcnumeric", r"$\approx$\,numeric"),
    Status.REFUTED: ("pcrefuted", r"$\times$\,refuted"),
    Status.UNKNOWN: ("pcunknown", r"?\,unknown"),
    Status.ERROR: ("pcerror", r"!\,error"),
}

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb}
\usepackage[margin=2.2cm]{geometry}
\usepackage{color}
\definecolor{pcproved}{rgb}{0.07,0.45,0.20}
\definecolor{pcnumeric}{rgb}{0.02,0.33,0.68}
\definecolor{pcrefuted}{rgb}{0.75,0.05,0.15}
\definecolor{pcunknown}{rgb}{0.55,0.38,0.00}
\definecolor{pcerror}{rgb}{0.51,0.31,0.87}
\newcommand{\pcmark}[2]{\textcolor{#1}{\small #2}}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt}
"""


def _math(display, text: str, names: dict[str, str]) -> str:
    out = latex(display, names)
    return out if out is not None else latex_source(text)


def _rule(rule: str) -> str:
    if not rule:
        return ""
    if len(rule) > MAX_RULE:
        return r"&& \text{by " + latex_text(rule.split("(", 1)[0]) + r"(\ldots)}"
    return r"&& \text{by " + latex_text(rule) + "}"


def _mark(status: Status) -> str:
    color, text = MARKS[status]
    return rf"\tag*{{\pcmark{{{color}}}{{{text}}}}}"


def _chain(p: PartReport, names: dict[str, str], marks: bool) -> str:
    statement = any(s.relation in ("==>", "<==>") for s in p.steps)
    start = _math(p.start_display, p.start_text, names)
    bodies = [_math(s.display, s.text, names) for s in p.steps]
    wide = any(len(b) > WIDE or "matrix}" in b for b in [start, *bodies])
    own_line = statement or wide  # the first line on its own, each step below it
    lines = []
    for i, (s, body) in enumerate(zip(p.steps, bodies)):
        op = LATEX_OPS.get(s.relation, latex_text(s.relation) or "?")
        if statement:
            line = rf"{op}\quad & {body}"
        elif own_line:
            line = rf"&{op} {body}"
        elif i == 0:
            line = rf"{start} &{op} {body}"
        else:
            line = rf"&{op} {body}"
        line += f" {_rule(s.rule)}" if s.rule else ""
        if marks:
            line += " " + _mark(s.result.status)
        lines.append(line)
    if statement:
        lines.insert(0, rf"& {start}" + (r" \notag" if marks else ""))
    elif own_line and p.steps:
        lines.insert(0, rf"&\phantom{{=}} {start}" + (r" \notag" if marks else ""))
    if not p.steps:
        lines.append(start)
    return "\\begin{align*}\n  " + " \\\\\n  ".join(lines) + "\n\\end{align*}\n"


def _counterexamples(p: PartReport) -> str:
    out = []
    for s in p.steps:
        ce = s.result.counterexample
        if s.result.status != Status.REFUTED:
            continue
        out.append(rf"\textcolor{{pcrefuted}}{{Step {s.index} (line {s.line}) is refuted.}} "
                   + latex_text(s.result.message))
        if ce:
            rows = [rf"\texttt{{{latex_text(k)}}} & \texttt{{{latex_text(v)}}} \\"
                    for k, v in ce.items() if k not in ("lhs", "rhs")]
            rows += [rf"left side & \texttt{{{latex_text(ce['lhs'])}}} \\" if "lhs" in ce else "",
                     rf"right side & \texttt{{{latex_text(ce['rhs'])}}} \\" if "rhs" in ce else ""]
            out.append("\\begin{center}\\small\n\\begin{tabular}{ll}\n\\hline\n"
                       + "\n".join(r for r in rows if r) + "\n\\hline\n\\end{tabular}\n\\end{center}")
    return "\n\n".join(out) + ("\n" if out else "")


def _givens(givens, names) -> str:
    if not givens:
        return ""
    items = [rf"\item[\texttt{{{latex_text(label)}}}:] ${_math(display, text, names)}$"
             for label, text, display in givens]
    return "\\textbf{Given.}\n\\begin{itemize}\n" + "\n".join(items) + "\n\\end{itemize}\n"


def _part(f: FileReport, p: PartReport, source: FileSource, marks: bool) -> str:
    names = source.latex_names
    ps = source.parts.get(p.name)
    out = []
    if len(f.parts) > 1 or p.name != "main":
        out.append(rf"\section{{{latex_text(p.name)}}}")
    if ps is not None:
        out.append(_givens(ps.givens, names))
    if p.claim:
        claim = _math(ps.claim_display if ps else None, p.claim, names)
        out.append(rf"\textbf{{Claim.}}\[ {claim} \]")
    out.append(_chain(p, names, marks))
    if marks:
        if p.claim_established:
            out.append(r"\pcmark{pcproved}{Claim established.}")
        else:
            out.append(r"\pcmark{pcrefuted}{Claim not established: " + latex_text(p.claim_message) + ".}")
        out.append(_counterexamples(p))
    return "\n".join(x for x in out if x) + "\n"


def render(f: FileReport, *, marks: bool = False, source: FileSource | None = None) -> str:
    """The whole LaTeX document for one checked file."""
    source = source if source is not None else load_source(f.path)
    out = [f"% Solution sheet written by proofcheck {__version__} from {latex_text(f.path)}\n", PREAMBLE,
           rf"\title{{{latex_text(f.title or f.path)}}}", r"\date{}", r"\begin{document}", r"\maketitle"]
    if source.source:
        out.append(rf"\textit{{Source:}} {latex_text(source.source)}" + "\n")
    out.append(_givens(source.givens, source.latex_names))
    out += [_part(f, p, source, marks) for p in f.parts]
    if marks:
        out.append(rf"\vfill\small Checked by proofcheck {__version__}: "
                   rf"\pcmark{{{MARKS[f.status][0]}}}{{{latex_text(f.status.value)}}}. "
                   r"Verdicts: proved (symbolic), numeric (agrees at random points to high precision), "
                   r"refuted (counterexample confirmed), unknown (neither, within the time budget).")
    out.append(r"\end{document}")
    return "\n".join(x for x in out if x) + "\n"
