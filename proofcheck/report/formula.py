"""Typesetting formulas for the HTML (MathML) and LaTeX reports.

The reports hand every formula over as written (`StepReport.display` is a `written.W` tree: the
author's terms, order, names and bound variables, never SymPy's simplified object); `mathml` and
`latex` typeset those with the printers of written.py. They also still typeset SymPy objects
(values the kernel computed, callers that have only those): SymPy's MathML (presentation) and
LaTeX printers with the proofcheck heads (multisets, `subs`, `argmax`, expectations, ...) added and
two habits of SymPy's fixed: undefined function names keep their case (`SNR(t)`, not `snr(t)`),
and `f'(x)` prints as `f'(x)`, not as a substitution into a derivative. Names are typeset by
SymPy's printers in both cases (Greek letters, subscripts). Printing is best effort: every function
here returns None when it cannot print, and the caller falls back to the source text.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.pretty.pretty_symbology import greek_unicode

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
ET.register_namespace("", MATHML_NS)  # serialise MathML with a default namespace, not ns0:

# Relations as they appear in chains and claims.
MATHML_OPS = {"=": "=", "!=": "\u2260", "<": "<", "<=": "\u2264", ">": ">", ">=": "\u2265",
              "==>": "\u27f9", "<==>": "\u27fa"}
LATEX_OPS = {"=": "=", "!=": r"\neq", "<": "<", "<=": r"\leq", ">": ">", ">=": r"\geq",
             "==>": r"\Longrightarrow", "<==>": r"\Longleftrightarrow"}

_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = {"lt", "gt", "amp", "quot", "apos"}
# Characters XML 1.0 does not allow (control characters other than tab, newline and return).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def body_text(relation: str, text: str) -> str:
    """A step's source text without its relation (an unreadable step's text still starts with it)."""
    t = " ".join(text.split())
    if relation and t.startswith(relation) and not t.startswith(relation + "="):
        return t[len(relation):].lstrip()
    return t


def _prime_call(subs):
    """(function, argument, order) when `subs` is f'(x) as the parser builds it, else None."""
    expr, old, new = subs.args
    if not (isinstance(expr, sp.Derivative) and len(old) == 1 and len(expr.variable_count) == 1):
        return None
    (u, k), = expr.variable_count
    inner = expr.expr
    if isinstance(inner, AppliedUndef) and inner.args == (u,) and old[0] == u and k <= 8:
        return inner.func.__name__, new[0], int(k)
    return None


def _common_at(m):
    """(matrix of bodies, vars, values) when every entry is the same `subs(..., x = a)`, else None.

    `subs(jacobian(...), a = 0)` reaches the printers entry by entry; it reads better as one
    substitution into the whole matrix."""
    from proofcheck.kernel.terms import At
    entries = list(m) if isinstance(m, sp.MatrixBase) else []
    if not entries or not all(isinstance(e, At) for e in entries):
        return None
    old, new = entries[0].args[1], entries[0].args[2]
    if any(e.args[1] != old or e.args[2] != new for e in entries):
        return None
    return sp.ImmutableMatrix(m.rows, m.cols, [e.args[0] for e in entries]), old, new


# ---------------------------------------------------------------------------------------------
# MathML


class MathMLPrinter(MathMLPresentationPrinter):
    """SymPy's presentation MathML printer with proofcheck's heads."""

    def __init__(self, settings=None):
        super().__init__(settings)

    # -- small builders
    def _el(self, tag: str, *children, text: str | None = None):
        node = self.dom.createElement(tag)
        if text is not None:
            node.appendChild(self.dom.createTextNode(text))
        for c in children:
            node.appendChild(c)
        return node

    def _mo(self, text: str):
        return self._el("mo", text=text)

    def _mi(self, text: str):
        return self._el("mi", text=text)

    def _name(self, name: str):
        """A function name, Greek letters and subscripts as for symbols, case kept."""
        return self._print_Symbol(sp.Symbol(name))

    def _row(self, *children):
        return self._el("mrow", *children)

    def _fenced(self, left: str, items, right: str, sep: str = ","):
        row = self._row(self._mo(left))
        for i, item in enumerate(items):
            if i:
                row.appendChild(self._mo(sep))
            row.appendChild(item if not isinstance(item, sp.Basic) else self._print(item))
        row.appendChild(self._mo(right))
        return row

    # -- what SymPy prints in its own way
    def mathml_tag(self, e):
        if isinstance(e, sp.Derivative):
            return "d"
        return super().mathml_tag(e)

    def _print_Derivative(self, e):
        row = super()._print_Derivative(e)
        if isinstance(e.expr, (sp.Add, sp.MatAdd)):  # d/dx (a + b), not d/dx a + b
            row.replaceChild(self._fenced("(", [e.expr], ")"), row.lastChild)
        return row

    def _print_ScalarOf(self, e):  # the 1×1 product w^T x, in parentheses
        return self._fenced("(", [e.args[0]], ")")

    def _print_ZeroMatrix(self, e):  # `v = 0` for a vector v: the zero vector, printed as 0
        return self._print(sp.Integer(0))

    def _print_Exp1(self, e):
        return self._mi("e")

    def _print_ImaginaryUnit(self, e):
        return self._mi("i")

    def _print_AppliedUndef(self, e):
        return self._row(self._name(e.func.__name__), self._paren_comma_separated(*e.args))

    def _print_Subs(self, e):
        prime = _prime_call(e)
        if prime is None:
            return self._at(e.args[0], e.args[1], e.args[2])
        name, arg, k = prime
        head = self._name(name)
        if k <= 3:
            head = self._el("msup", head, self._mo("\u2032" * k))
        else:
            head = self._el("msup", head, self._fenced("(", [sp.Integer(k)], ")"))
        return self._row(head, self._paren_comma_separated(arg))

    def _at(self, expr, old, new):
        pairs = self._row()
        for i, (o, n) in enumerate(zip(old, new)):
            if i:
                pairs.appendChild(self._mo(","))
            pairs.appendChild(self._row(self._print(o), self._mo("="), self._print(n)))
        body = self._row(self._print(expr), self._el("mo", text="|"))
        return self._el("msub", body, pairs)

    # -- proofcheck heads
    def _print_At(self, e):
        return self._at(*e.args)

    def _print_MatrixBase(self, m):
        common = _common_at(m)
        return self._at(*common) if common is not None else super()._print_MatrixBase(m)

    def _print_Bag(self, e):
        return self._fenced("{", list(e.args), "}")

    def _print_Eigenvals(self, e):
        return self._row(self._mi("eig"), self._paren_comma_separated(*e.args))

    def _print_Norm(self, e):
        return self._row(self._mo("\u2016"), self._print(e.args[0]), self._mo("\u2016"))

    def _print_Optimum(self, e):
        kind, expr, var = e.args
        word = {"argmax": "arg\u2009max", "argmin": "arg\u2009min", "maximum": "max", "minimum": "min"}.get(
            str(kind), str(kind))
        return self._row(self._el("munder", self._mi(word), self._print(var)), self._print(expr))

    def _print_Unsupported(self, e):
        return self._el("mtext", text=f"[{e.args[0]}]")

    def _print_Expectation(self, e):
        lam, dist = e.args
        (z,), body = lam.variables, lam.expr
        sub = self._row(self._print(z), self._mo("\u223c"), self._print(dist))
        return self._row(self._el("msub", self._mi("\U0001d53c"), sub),
                         self._fenced("[", [body], "]"))

    def _divergence(self, e, name):
        p, q = e.args
        return self._row(self._mi(name), self._fenced("(", [p, q], ")", sep="\u2016"))

    def _print_KL(self, e):
        return self._divergence(e, "KL")

    def _print_JSD(self, e):
        return self._divergence(e, "JSD")

    def _print_Distribution(self, e):
        name = type(e).__name__
        head = self._mi("\U0001d4a9") if name == "Normal" else self._mi(name)
        return self._row(head, self._paren_comma_separated(*e.args))

    # SymPy dispatches a Function subclass on its own name only, not on its base classes'.
    _print_Normal = _print_Bernoulli = _print_Uniform = _print_Dirac = _print_Distribution

    def _print_Lambda(self, e):
        body = e.expr
        if isinstance(body, AppliedUndef) and body.args == tuple(e.variables):
            return self._name(body.func.__name__)
        return self._row(self._fenced("(", list(e.variables), ")"), self._mo("\u21a6"), self._print(body))


def _to_chars(markup: str) -> str:
    """Named character references (SymPy writes &InvisibleTimes; and the like) as characters."""
    def sub(m):
        name = m.group(1)
        if name in _XML_ENTITIES:
            return m.group(0)
        char = html.entities.html5.get(name + ";")
        return html.escape(char) if char is not None else m.group(0)
    return _NAMED_ENTITY.sub(sub, markup)


def _mathml_body(printer: MathMLPrinter, obj) -> str:
    from proofcheck.kernel.terms import Implication, Relation
    if isinstance(obj, Implication):
        op = "<==>" if obj.both else "==>"
        return (f"<mrow>{_mathml_body(printer, obj.premise)}<mo>{html.escape(MATHML_OPS[op])}</mo>"
                f"{_mathml_body(printer, obj.conclusion)}</mrow>")
    if isinstance(obj, Relation):
        op = MATHML_OPS.get(obj.op, obj.op)
        return (f"<mrow>{printer.doprint(obj.lhs)}<mo>{html.escape(op)}</mo>"
                f"{printer.doprint(obj.rhs)}</mrow>")
    if isinstance(obj, (sp.Basic, sp.MatrixBase)):
        return printer.doprint(obj)
    raise TypeError(f"cannot typeset {type(obj).__name__}")


_OPEN_CLOSE = {"(": ")", "[": "]", "{": "}", "|": "|", "\u2016": "\u2016"}
_TALL = {f"{{{MATHML_NS}}}{t}" for t in ("mfrac", "mtable", "munder", "mover", "munderover", "msqrt", "mroot")}


def _polish(root: ET.Element) -> None:
    """Typographic fixes after printing: a real minus sign, and brackets around flat content kept
    at their natural size (a stretchy bracket takes a wide variant glyph in some math fonts)."""
    mo, mrow = f"{{{MATHML_NS}}}mo", f"{{{MATHML_NS}}}mrow"
    for el in root.iter():
        if el.tag == mo and el.text == "-":
            el.text = "\u2212"
        if el.tag == mo and el.text in ("d", "\u2202"):  # the d of d/dx is no operator with spacing
            el.set("lspace", "0")
            el.set("rspace", "0")
        if el.tag != mrow or len(el) < 2:
            continue
        first, last = el[0], el[-1]
        if first.tag == mo and last.tag == mo and _OPEN_CLOSE.get(first.text or "") == last.text:
            inner = [d for child in list(el)[1:-1] for d in child.iter()]
            if not any(d.tag in _TALL for d in inner):
                first.set("stretchy", "false")
                last.set("stretchy", "false")


def mathml(obj, op: str = "", display: bool = True) -> str | None:
    """`<math>` markup for a formula (preceded by the relation `op`, if given), or None.

    The markup is checked to be well-formed XML and holds characters, not named entities, so it
    is valid both inside HTML and in an XML document."""
    from proofcheck.report import written
    if obj is None:
        return None
    try:
        body = written.mathml_body(obj) if written.is_written(obj) else _mathml_body(MathMLPrinter(), obj)
        body = _to_chars(body)
        if op:
            body = f"<mrow><mo>{html.escape(MATHML_OPS.get(op, op))}</mo>{body}</mrow>"
        attrs = f' display="block"' if display else ""
        markup = f'<math xmlns="{MATHML_NS}"{attrs}>{body}</math>'
        if _XML_INVALID.search(markup):
            return None
        root = ET.fromstring(markup)  # well-formed, or we fall back to the source text
        _polish(root)
        markup = ET.tostring(root, encoding="unicode")
    except Exception:  # noqa: BLE001 - typesetting is best effort; the caller shows the source text
        return None
    return markup


def mathml_symbol(name: str) -> str | None:
    """Inline `<math>` for a bare name, e.g. a counterexample's variable."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        return None
    return mathml(sp.Symbol(name), display=False)


# ---------------------------------------------------------------------------------------------
# LaTeX

_LATIN_LOOKALIKE = {"Alpha": "A", "Beta": "B", "Chi": "X", "Epsilon": "E", "Eta": "H", "Iota": "I", "Kappa": "K",
                    "Mu": "M", "Nu": "N", "Omicron": "O", "Rho": "P", "Tau": "T", "Zeta": "Z", "omicron": "o"}
_GREEK_LATEX = {char: _LATIN_LOOKALIKE.get(name, "\\" + name + " ") for name, char in greek_unicode.items()
                if name not in ("lamda", "Lamda")}


class ProofcheckLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with proofcheck's heads."""

    def _print_Subs(self, e):
        prime = _prime_call(e)
        if prime is None:
            return self._at(*e.args)
        name, arg, k = prime
        head = self._print(sp.Symbol(name))
        head = head + ("'" * k if k <= 3 else f"^{{({k})}}")
        return rf"{head}\left({self._print(arg)}\right)"

    def _at(self, expr, old, new):
        pairs = ", ".join(f"{self._print(o)} = {self._print(n)}" for o, n in zip(old, new))
        return rf"\left. {self._print(expr)} \right|_{{{pairs}}}"

    def _print_At(self, e):
        return self._at(*e.args)

    def _print_MatrixBase(self, m):
        common = _common_at(m)
        return self._at(*common) if common is not None else super()._print_MatrixBase(m)

    def _print_Bag(self, e, exp=None):
        return r"\left\{" + ", ".join(self._print(a) for a in e.args) + r"\right\}"

    def _print_Eigenvals(self, e, exp=None):
        return rf"\operatorname{{eig}}\left({self._print(e.args[0])}\right)"

    def _print_Norm(self, e, exp=None):
        return rf"\left\lVert {self._print(e.args[0])} \right\rVert"

    def _print_Optimum(self, e, exp=None):
        kind, expr, var = e.args
        word = {"argmax": r"\operatorname*{arg\,max}", "argmin": r"\operatorname*{arg\,min}",
                "maximum": r"\max", "minimum": r"\min"}.get(str(kind), rf"\operatorname*{{{kind}}}")
        return rf"{word}_{{{self._print(var)}}} {self._print(expr)}"

    def _print_Unsupported(self, e, exp=None):
        return r"\text{[" + latex_text(str(e.args[0])) + "]}"

    def _print_Expectation(self, e, exp=None):
        lam, dist = e.args
        (z,), body = lam.variables, lam.expr
        return rf"\mathbb{{E}}_{{{self._print(z)} \sim {self._print(dist)}}}\left[{self._print(body)}\right]"

    def _print_KL(self, e, exp=None):
        p, q = e.args
        return rf"\operatorname{{KL}}\left({self._print(p)} \,\middle\|\, {self._print(q)}\right)"

    def _print_JSD(self, e, exp=None):
        p, q = e.args
        return rf"\operatorname{{JSD}}\left({self._print(p)} \,\middle\|\, {self._print(q)}\right)"

    def _print_Distribution(self, e, exp=None):
        name = type(e).__name__
        head = r"\mathcal{N}" if name == "Normal" else rf"\operatorname{{{name}}}"
        return head + r"\left(" + ", ".join(self._print(a) for a in e.args) + r"\right)"

    _print_Normal = _print_Bernoulli = _print_Uniform = _print_Dirac = _print_Distribution

    def _print_Lambda(self, e):
        body = e.expr
        if isinstance(body, AppliedUndef) and body.args == tuple(e.variables):
            return self._print(sp.Symbol(body.func.__name__))
        args = ", ".join(self._print(v) for v in e.variables)
        return rf"\left({args}\right) \mapsto {self._print(body)}"


def _ascii_latex(s: str) -> str | None:
    """LaTeX that pdflatex reads without Unicode set-up: Greek letters as commands, else None."""
    out = "".join(_GREEK_LATEX.get(ch, ch) for ch in s)
    return out if out.isascii() else None


def latex(obj, symbol_names: dict[str, str] | None = None) -> str | None:
    """Math-mode LaTeX for a formula (a relation or implication prints its operator), or None."""
    from proofcheck.kernel.terms import Implication, Relation
    from proofcheck.report import written
    if obj is None:
        return None
    if written.is_written(obj):
        try:
            return _ascii_latex(written.latex(obj, symbol_names))
        except Exception:  # noqa: BLE001 - typesetting is best effort; the caller shows the source text
            return None
    names = {sp.Symbol(k): v for k, v in (symbol_names or {}).items()}
    printer = ProofcheckLatexPrinter({"symbol_names": names} if names else None)

    def one(o) -> str:
        if isinstance(o, Implication):
            op = "<==>" if o.both else "==>"
            return f"{one(o.premise)} {LATEX_OPS[op]} {one(o.conclusion)}"
        if isinstance(o, Relation):
            return f"{printer.doprint(o.lhs)} {LATEX_OPS.get(o.op, o.op)} {printer.doprint(o.rhs)}"
        if isinstance(o, (sp.Basic, sp.MatrixBase)):
            return printer.doprint(o)
        raise TypeError(f"cannot typeset {type(o).__name__}")

    try:
        return _ascii_latex(one(obj))
    except Exception:  # noqa: BLE001 - typesetting is best effort; the caller shows the source text
        return None


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                  "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
                  "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def latex_text(s: str) -> str:
    """Plain text for LaTeX's text mode: specials escaped, anything non-ASCII as `?`."""
    s = " ".join(str(s).split())
    return "".join(_LATEX_SPECIAL.get(ch, ch if (ch.isascii() and ch.isprintable()) else "?") for ch in s)


def latex_source(s: str) -> str:
    r"""The source text of a formula in `\texttt`, for when it cannot be typeset."""
    return r"\texttt{" + latex_text(s) + "}"
