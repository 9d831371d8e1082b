r"""LaTeX input: `steps_latex` / `claim_latex` in derivation files, and Markdown/LaTeX solution sheets.

Students write LaTeX (`\frac{}{}`, `\mathbb{E}_{z \sim q}[...]`, `\|x - \hat{x}\|_2^2`, `\sigma_{t|s}`,
`a &= b \\ &= c`). This module turns that LaTeX into text of the ASCII expression language
(FORMAT.md section 2) and hands it to proofcheck.parse unchanged, so declarations, types, errors and
every construct mean exactly what they mean in a hand-typed derivation. Nothing is eval'd or
sympified.

Pipeline, for one display block (a `$$...$$` of a sheet, or a `steps_latex` block):

1. `_tokenize`: the LaTeX as raw tokens, each with its offset in the source.
2. `_normalize`: environments, `\left`/`\right` and size commands, `\text{...}`, styles
   (`\boldsymbol`, `\mathbf`), accents (`\hat{x}`), relations (`=`, `\le`, `\Rightarrow`, `\approx`).
3. `_formulas`: rows (`\\` outside matrices, `&` dropped), then formulas: runs of expressions joined
   by relations, separated by `\quad`, prose `\text{...}` and top-level commas. Rules come from
   `\text{by ...}` or a `% by ...` comment.
4. `_Translator`: per expression, `latex_names` and default names (`\sigma_t` -> `sigma_t`),
   differentials, bars (norm, absolute value, conditional `|`, KL separator), and the implicit
   arguments of `\log x`, `\sum`, `\int ... dz`, `\frac{d}{dx}` made explicit; then the lark grammar
   grammar/latex.lark and a Transformer that writes ASCII text with a position for every character.
5. `_ChainBuilder`: formulas -> chains (a line starting with a relation continues the chain before;
   `\Rightarrow` turns the last relation into the start of a statement chain).

Each resulting formula is a `LatexText`: a model.Text whose `span_at` maps every character of the
ASCII text back to the file line and column of the LaTeX that produced it, so errors found by
proofcheck.parse point into the LaTeX. A formula that cannot be translated carries its error, which
proofcheck.parse raises when the formula is parsed (so verify reports it on that step).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import Lexer

from proofcheck.errors import LimitError, ParseError, ProofcheckError, ReadError
from proofcheck.model import Declaration, Derivation, Part, Span, Text

MAX_LATEX_CHARS = 20_000  # one display block
MAX_BLOCKS = 2_000  # display blocks in one sheet
MAX_NESTING = 48  # brackets and groups inside one another (as proofcheck.parse)

__all__ = ["LatexText", "Names", "Chain", "Sheet", "translate", "latex_lines", "latex_steps", "latex_claim",
           "read_markdown",
           "is_latex_sheet", "sheet_derivation", "verify_sheets", "chains_for_part", "sheet_chains", "sheet_sections",
           "sheet_headings", "section_label", "section_matches", "FormulaNote"]


# ---------------------------------------------------------------------------------------------
# Texts that know where their characters came from


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


class _Source:
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


# ---------------------------------------------------------------------------------------------
# What the key (or the file) declares: names only, no SymPy


_DEFINED = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*(\(([^)]*)\))?\s*:=")
_DISTRIBUTION_VALUE = re.compile(r"\s*(?:Normal|Bernoulli|Uniform|Dirac)\s*\(")
_RESERVED = {
    "pi", "oo", "I", "exp", "log", "ln", "sqrt", "abs", "sin", "cos", "tan", "tanh", "sinh", "cosh", "atan",
    "asin", "acos", "erf", "sigmoid", "softplus", "re", "im", "conj", "sign", "Normal", "Bernoulli", "Uniform",
    "Dirac", "pdf", "min", "max", "diff", "integral", "limit", "sum", "prod", "subs", "argmax", "argmin",
    "maximum", "minimum", "grad", "jacobian", "hessian", "det", "tr", "inv", "eigenvals", "diag", "eye",
    "norm", "transpose", "E", "Var", "KL", "JSD",
}


@dataclass
class Names:
    """The names a translation may use: declared symbols (name -> kind), definitions (name -> number of
    parameters, None for a value) and the `latex_names` mapping (LaTeX -> ASCII)."""

    symbols: dict[str, str] = field(default_factory=dict)
    defines: dict[str, int | None] = field(default_factory=dict)
    latex_names: dict[str, str] = field(default_factory=dict)
    distributions: set[str] = field(default_factory=set)  # defined as a distribution: `q := Normal(...)`

    @classmethod
    def from_part(cls, part: Part | None, latex_names: dict[str, str] | None = None) -> "Names":
        """The names declared for a part (its symbols and defines) plus a latex_names mapping."""
        names = cls(latex_names=dict(latex_names or {}))
        if part is not None:
            names.add(part.symbols, part.define)
        return names

    def add(self, declarations: list[Declaration], defines: list[Text]) -> None:
        """Add `symbols` declarations and `define` entries."""
        for decl in declarations:
            words = decl.type_text.text.lower()
            kind = "scalar"
            for k in ("density", "function", "matrix", "vector"):
                if re.search(rf"\b{k}\b", words):
                    kind = k
                    break
            for n in decl.names:
                self.symbols[n] = kind
        for t in defines:
            m = _DEFINED.match(t.text)
            if m:
                params = m.group(3)
                self.defines[m.group(1)] = None if m.group(2) is None else len([p for p in params.split(",") if p.strip()])
                if m.group(2) is None and _DISTRIBUTION_VALUE.match(t.text, m.end()):
                    self.distributions.add(m.group(1))

    def known(self, name: str) -> bool:
        """Whether a name is declared, defined or built in."""
        return name in self.symbols or name in self.defines or name in _RESERVED

    def declared(self, name: str) -> bool:
        """Whether a name is declared or defined (not merely built in)."""
        return name in self.symbols or name in self.defines

    def is_function(self, name: str) -> bool:
        """A declared function or density, or a definition with parameters."""
        return self.symbols.get(name) in ("function", "density") or (self.defines.get(name) or 0) > 0

    def is_distribution_name(self, name: str) -> bool:
        """A name that can stand for a distribution: a declared density or a definition."""
        return self.symbols.get(name) == "density" or name in self.defines

    def is_array(self, name: str) -> bool:
        """A declared vector or matrix."""
        return self.symbols.get(name) in ("vector", "matrix")

    def resolve(self, spellings: list[str]) -> str | None:
        """The declared name a LaTeX name stands for when none of its spellings is declared, by the normal
        form of docs/latex.md ("Names"): `sigma_ts` for `\\sigma_{t|s}`, `x_hat` for `\\hat{x}_\\theta`,
        `abar_t` for `\\bar\\alpha_t`, `sigma_s` for `\\sigma_S`. Tiers from strict to loose; a tier is
        used only when it gives exactly one declared name, so two close names are never confused."""
        declared = list(self.symbols) + list(self.defines)
        for tier in range(1, len(_NORMAL_TIERS) + 1):
            want = {_normal_name(s, tier) for s in spellings}
            found = {d for d in declared if _normal_name(d, tier) in want}
            if len(found) == 1:
                return found.pop()
            if len(found) > 1:
                return None
        return None


_DECORATIONS = ("hat", "bar", "tilde", "dot", "ddot", "check", "breve", "vec", "star")
_MODEL_PARAMETERS = {"theta", "phi", "psi"}
_GREEK_INITIAL = {"alpha": "a", "beta": "b", "gamma": "g", "delta": "d", "epsilon": "e", "varepsilon": "e",
                  "eta": "h", "lambda": "l", "mu": "m", "nu": "n", "rho": "r", "sigma": "s", "tau": "t"}
# 1: separators and the place of a decoration ignored; 2: also a model-parameter subscript (theta, phi,
# psi) dropped; 3: also the case of subscripts ignored (sigma_S for sigma_s); 4: also a decorated Greek
# letter abbreviated to its Latin initial (alpha_bar_t for abar_t)
_NORMAL_TIERS = (1, 2, 3, 4)


@lru_cache(maxsize=4096)
def _normal_name(name: str, tier: int) -> tuple:
    """A name's normal form at one tier of Names.resolve."""
    words = [w for w in name.replace("|", "_").split("_") if w]
    if not words:
        return (name,)
    base, decos, subs = words[0], [], []
    for d in _DECORATIONS:  # `abar`, `xhat`: a decoration written onto the base letter
        if base.endswith(d) and len(base) > len(d) and base[:-len(d)].isalpha():
            base, decos = base[:-len(d)], [d]
            break
    for w in words[1:]:
        (decos if w in _DECORATIONS else subs).append(w)
    if tier >= 2:
        subs = [w for w in subs if w not in _MODEL_PARAMETERS]
    sub = "".join(subs)
    if tier >= 3:
        sub = sub.lower()
    if tier >= 4 and decos:
        base = _GREEK_INITIAL.get(base, base)
    return (base, tuple(sorted(decos)), sub)


# ---------------------------------------------------------------------------------------------
# 1. Raw tokens


@dataclass
class _Tok:
    kind: str
    value: object
    start: int
    end: int
    info: dict = field(default_factory=dict)

    def at(self, kind: str, value: object = None) -> bool:
        return self.kind == kind and (value is None or self.value == value)


_RAW = re.compile(r"""
  (?P<comment>%[^\n]*)
| (?P<cmd>\\[A-Za-z]+\*?)
| (?P<sym>\\[^A-Za-z\s])
| (?P<bs>\\\s)
| (?P<num>\d+(?:\.\d+)?|\.\d+)
| (?P<word>[A-Za-z]+)
| (?P<ws>\s+)
| (?P<char>.)
""", re.X | re.S)

_UNICODE = {
    "−": ("char", "-"), "·": ("cmd", "cdot"), "×": ("cmd", "times"), "≤": ("cmd", "le"), "≥": ("cmd", "ge"),
    "≠": ("cmd", "neq"), "≈": ("cmd", "approx"), "→": ("cmd", "to"), "⇒": ("cmd", "Rightarrow"),
    "⟹": ("cmd", "Longrightarrow"), "⇔": ("cmd", "Leftrightarrow"), "⟺": ("cmd", "Longleftrightarrow"),
    "∞": ("cmd", "infty"), "∑": ("cmd", "sum"), "∏": ("cmd", "prod"), "∫": ("cmd", "int"),
    "√": ("cmd", "sqrt"), "∂": ("cmd", "partial"), "∇": ("cmd", "nabla"), "‖": ("sym", "|"),
    "∼": ("cmd", "sim"), "∈": ("cmd", "in"), "⊙": ("cmd", "odot"), "±": ("cmd", "pm"), "…": ("cmd", "dots"),
    "⊤": ("cmd", "top"), "⟨": ("cmd", "langle"), "⟩": ("cmd", "rangle"),
}
_GREEK_CHARS = dict(zip("αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΥΦΨΩϵϑϕ",
                        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau "
                        "upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega "
                        "epsilon theta phi".split()))


def _tokenize(src: str, start: int = 0, end: int | None = None) -> list[_Tok]:
    """Raw tokens of src[start:end]; offsets are into src."""
    end = len(src) if end is None else end
    out: list[_Tok] = []
    pos = start
    script = False  # the previous token was ^ or _: a digit run or a letter run gives one character
    while pos < end:
        m = _RAW.match(src, pos, end)
        kind, text = m.lastgroup, m.group()
        if kind == "ws" or kind == "bs":
            if kind == "bs":
                out.append(_Tok("space", "", pos, m.end()))
            pos = m.end()
            continue
        if script and kind in ("num", "word") and len(text) > 1:
            text = text[0]
        if kind == "cmd":
            out.append(_Tok("cmd", text[1:], pos, pos + len(text)))
        elif kind == "sym":
            out.append(_Tok("sym", text[1], pos, pos + 2))
        elif kind == "char" and text in _UNICODE:
            k, v = _UNICODE[text]
            out.append(_Tok(k, v, pos, pos + 1))
        elif kind == "char" and text in _GREEK_CHARS:
            out.append(_Tok("cmd", _GREEK_CHARS[text], pos, pos + 1))
        else:
            out.append(_Tok(kind, text, pos, pos + len(text)))
        script = kind == "char" and text in "^_"
        pos += len(text)
    return out


# ---------------------------------------------------------------------------------------------
# 2. Normalized tokens

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu",
    "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda",
    "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega", "ell",
}
GREEK_VARIANTS = {"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi", "varrho": "rho",
                  "varsigma": "sigma", "varpi": "pi", "varkappa": "kappa"}
FUNCTIONS = {  # LaTeX command or word -> ASCII function
    "log": "log", "ln": "log", "exp": "exp", "sin": "sin", "cos": "cos", "tan": "tan", "sinh": "sinh",
    "cosh": "cosh", "tanh": "tanh", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "det": "det",
    "tr": "tr", "trace": "tr", "Tr": "tr", "diag": "diag", "sigmoid": "sigmoid", "softplus": "softplus",
    "erf": "erf", "sign": "sign", "sgn": "sign", "Re": "re", "Im": "im",
}
OPTIMA = {"argmax": "argmax", "argmin": "argmin", "max": "maximum", "min": "minimum"}
RELATIONS = {  # command -> ASCII relation
    "neq": "!=", "ne": "!=", "le": "<=", "leq": "<=", "leqslant": "<=", "ge": ">=", "geq": ">=",
    "geqslant": ">=", "lt": "<", "gt": ">", "equiv": "=", "eqqcolon": "=",
}
DEFINITIONS = {"coloneqq", "triangleq", "doteq", "eqdef", "defeq", "coloneq"}
IMPLICATIONS = {"Rightarrow": "==>", "implies": "==>", "Longrightarrow": "==>", "Leftrightarrow": "<==>",
                "iff": "<==>", "Longleftrightarrow": "<==>", "therefore": "==>"}
ARROWS = {"to", "rightarrow", "longrightarrow", "hookrightarrow"}
NOT_CHECKABLE = {"approx": "≈", "simeq": "≃", "propto": "∝", "cong": "≅", "ll": "≪", "gg": "≫"}
NOT_A_FORMULA = {"sim", "in", "notin", "subset", "subseteq", "mapsto", "leftarrow", "gets", "leftrightarrow",
                 "uparrow", "downarrow", "forall", "exists"}
SPACING = {"quad": "sep", "qquad": "sep", ",": None, ";": None, ":": None, "!": None, " ": None,
           "enspace": None, "thinspace": None, "medspace": None, "thickspace": None, "negthinspace": None,
           "displaystyle": None, "textstyle": None, "scriptstyle": None, "limits": None, "nolimits": None,
           "nonumber": None, "notag": None, "relax": None, "mathstrut": None, "strut": None, "nobreak": None,
           "allowbreak": None, "centering": None, "hfill": None, "newline": "rowsep", "cr": "rowsep",
           "checkmark": None, "blacksquare": None, "square": None, "Box": None, "qed": None, "surd": None,
           "lefteqn": None, "left.": None}
WITH_ARGUMENT_DROPPED = {"label", "tag", "hspace", "vspace", "phantom", "hphantom", "vphantom", "color",
                         "textcolor1", "eqref", "ref", "intertext"}
SIZES = {"left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
         "Biggl", "Biggr", "bigm", "Bigm", "biggm", "Biggm"}
STYLES = {"boldsymbol", "mathbf", "bm", "pmb", "mathbfit", "mathnormal", "mathit", "mathsfit", "vec",
          "underline", "mathring"}
ACCENTS = {"hat": "hat", "widehat": "hat", "tilde": "tilde", "widetilde": "tilde", "bar": "bar", "overline": "bar",
           "dot": "dot", "ddot": "ddot", "check": "check", "breve": "breve", "acute": "acute", "grave": "grave"}
WORD_STYLES = {"mathrm", "operatorname", "operatorname*", "text", "textrm", "textit", "textbf", "textsf", "mbox",
               "mathsf", "mathtt", "texttt", "textnormal", "mathbb", "mathcal", "mathscr", "mathfrak", "emph"}
ALIGN_ENVS = {"aligned", "align", "align*", "split", "gathered", "gather", "gather*", "equation", "equation*",
              "eqnarray", "eqnarray*", "multline", "multline*", "flalign", "flalign*", "alignat", "alignat*",
              "alignedat", "displaymath", "math"}
MATRIX_ENVS = {"pmatrix": "", "bmatrix": "", "Bmatrix": "", "matrix": "", "smallmatrix": "", "array": "",
               "vmatrix": "det", "Vmatrix": "norm"}
CONDITION_WORDS = {"if", "when", "whenever", "for", "where", "with", "since", "as", "let", "given", "assume",
                   "assuming", "suppose", "because", "unless", "iff", "provided", "and"}
TEXT_STYLES = {"text", "textrm", "textit", "textbf", "textsf", "mbox", "textnormal", "emph"}
PROSE_WORDS = CONDITION_WORDS | {"then", "thus", "so", "hence", "therefore", "note", "since", "and", "or", "also",
                                 "is", "are", "we", "get", "have", "by", "def"}
WORD_FUNCTIONS = {"Var", "var", "Cov", "KL", "JSD", "Bern", "Bernoulli", "Unif", "Uniform", "E"} | set(FUNCTIONS) \
    | set(OPTIMA)


def _err(msg: str, src: _Source, off: int) -> ParseError:
    return ParseError(msg, src.span(off))


def _group_end(toks: list[_Tok], i: int, src: _Source, what: str = "{") -> int:
    """Index of the `}` closing the `{` at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j]
        if t.kind == "char" and t.value == "{":
            depth += 1
        elif t.kind == "char" and t.value == "}":
            depth -= 1
            if depth == 0:
                return j
    raise _err(f"this `{what}` is never closed: a `}}` is missing", src, toks[i].start)


def _raw_arg(toks: list[_Tok], i: int, src: _Source) -> tuple[list[_Tok], int, int, int]:
    """The argument of a command at toks[i]: a {group} or a single token.
    Returns (inner tokens, start offset, end offset, index after)."""
    if i >= len(toks):
        raise _err("a command needs an argument here", src, toks[-1].end if toks else 0)
    t = toks[i]
    if t.kind == "char" and t.value == "{":
        j = _group_end(toks, i, src)
        return toks[i + 1:j], t.start, toks[j].end, j + 1
    return [t], t.start, t.end, i + 1


def _plain_text(src: _Source, start: int, end: int) -> str:
    return src.text[start:end]


def _normalize(toks: list[_Tok], src: _Source) -> list[_Tok]:
    """Raw tokens -> normalized tokens (see the module docstring, step 2)."""
    out: list[_Tok] = []
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        k, v = t.kind, t.value
        if k == "comment":
            out.append(_Tok("comment", str(v)[1:].strip(), t.start, t.end))
            i += 1
            continue
        if k == "space":
            i += 1
            continue
        if k == "char":
            i = _normalize_char(toks, i, src, out)
            continue
        if k == "sym":
            i = _normalize_sym(toks, i, src, out)
            continue
        if k in ("num", "word"):
            out.append(_Tok(k, v, t.start, t.end))
            i += 1
            continue
        # commands
        name = str(v)
        if name in SPACING:
            kind = SPACING[name]
            if kind:
                out.append(_Tok(kind, name, t.start, t.end))
            i += 1
            continue
        if name in WITH_ARGUMENT_DROPPED:
            _, _, _, i = _raw_arg(toks, i + 1, src)
            continue
        if name in ("underbrace", "overbrace"):  # \underbrace{X}_{\text{...}}: X
            inner, s, e, i = _raw_arg(toks, i + 1, src)
            out.extend(_normalize(inner, src))
            if i < n and toks[i].kind == "char" and toks[i].value in "_^":
                _, _, _, i = _raw_arg(toks, i + 1, src)
            continue
        if name == "textcircled":
            _, _, _, i = _raw_arg(toks, i + 1, src)
            continue
        if name == "colon":
            out.append(_Tok("char", ":", t.start, t.end))
            i += 1
            continue
        if name == "textcolor":
            _, _, _, i = _raw_arg(toks, i + 1, src)  # the colour; the text stays
            continue
        if name in SIZES:
            i = _normalize_delimiter(toks, i, src, out)
            continue
        if name in ("begin", "end"):
            i = _normalize_env(toks, i, src, out)
            continue
        if name in GREEK or name in GREEK_VARIANTS:
            out.append(_Tok("greek", GREEK_VARIANTS.get(name, name), t.start, t.end))
            i += 1
            continue
        if name in STYLES:
            inner, s, e, i = _raw_arg(toks, i + 1, src)
            out.extend(_normalize(inner, src))
            continue
        if name in ACCENTS:
            inner, s, e, i = _raw_arg(toks, i + 1, src)
            out.append(_Tok("accent", ACCENTS[name], t.start, e, {"inner": _normalize(inner, src)}))
            continue
        if name in WORD_STYLES:
            i = _normalize_styled(toks, i, src, out)
            continue
        if name in ("stackrel", "overset", "underset"):
            i = _normalize_stacked(toks, i, src, out)
            continue
        if name in ("xrightarrow", "xRightarrow", "xLongrightarrow"):
            _, _, e, i = _raw_arg(toks, i + 1, src)
            out.append(_Tok("impl", "==>", t.start, e))
            continue
        if name == "not":
            if i + 1 < n and toks[i + 1].kind == "char" and toks[i + 1].value == "=":
                out.append(_Tok("rel", "!=", t.start, toks[i + 1].end))
                i += 2
                continue
            raise _err("\\not is only understood before `=` (write \\neq)", src, t.start)
        if name == "arg" and i + 1 < n and toks[i + 1].kind == "cmd" and toks[i + 1].value in ("max", "min"):
            out.append(_Tok("word", "arg" + str(toks[i + 1].value), t.start, toks[i + 1].end, {"styled": True}))
            i += 2
            continue
        if name in RELATIONS:
            out.append(_Tok("rel", RELATIONS[name], t.start, t.end))
        elif name in DEFINITIONS:
            out.append(_Tok("rel", "=", t.start, t.end, {"rule": "definition"}))
        elif name in IMPLICATIONS:
            out.append(_Tok("impl", IMPLICATIONS[name], t.start, t.end))
        elif name in ARROWS:
            out.append(_Tok("arrow", name, t.start, t.end))
        elif name in NOT_CHECKABLE:
            out.append(_Tok("approx", NOT_CHECKABLE[name], t.start, t.end))
        elif name in NOT_A_FORMULA:
            out.append(_Tok("nocheck", name, t.start, t.end))
        elif name in ("cdot", "times", "ast", "star"):
            out.append(_Tok("op", "*", t.start, t.end, {"latex": name}))
        elif name == "div":
            out.append(_Tok("op", "/", t.start, t.end))
        elif name == "odot":
            out.append(_Tok("op", ".*", t.start, t.end))
        elif name in ("pm", "mp"):
            out.append(_Tok("pm", name, t.start, t.end))
        elif name in ("dots", "ldots", "cdots", "vdots", "ddots"):
            out.append(_Tok("dots", name, t.start, t.end))
        elif name in ("langle", "rangle"):
            out.append(_Tok(name, name, t.start, t.end))
        elif name in ("mid", "vert", "lvert", "rvert"):
            side = {"lvert": "left", "rvert": "right"}.get(name, "")
            out.append(_Tok("cond" if name == "mid" else "bar", "|", t.start, t.end, {"side": side}))
        elif name in ("Vert", "lVert", "rVert"):
            side = {"lVert": "left", "rVert": "right"}.get(name, "")
            out.append(_Tok("nbar", "||", t.start, t.end, {"side": side}))
        elif name == "parallel":
            out.append(_Tok("klsep", "||", t.start, t.end))
        elif name in ("lbrace", "rbrace"):
            out.append(_Tok("setopen" if name == "lbrace" else "setclose", name, t.start, t.end))
        elif name in ("lbrack", "rbrack"):
            out.append(_Tok("char", "[" if name == "lbrack" else "]", t.start, t.end))
        elif name in ("top", "intercal", "prime"):
            out.append(_Tok("cmd", name, t.start, t.end))
        elif name == "infty":
            out.append(_Tok("cmd", "infty", t.start, t.end))
        elif name in ("dfrac", "tfrac", "cfrac"):
            out.append(_Tok("cmd", "frac", t.start, t.end))
        elif name == "argmax" or name == "argmin":
            out.append(_Tok("word", name, t.start, t.end, {"styled": True}))
        elif name in ("imath", "jmath"):
            out.append(_Tok("raw", "I", t.start, t.end))
        else:
            out.append(_Tok("cmd", name, t.start, t.end))
        i += 1
    return out


def _normalize_char(toks, i, src, out) -> int:
    t = toks[i]
    c = t.value
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if c in "<>!:" and nxt is not None and nxt.kind == "char" and nxt.value == "=" and nxt.start == t.end:
        op = {"<": "<=", ">": ">=", "!": "!=", ":": "="}[c]
        out.append(_Tok("rel", op, t.start, nxt.end, {"rule": "definition"} if c == ":" else {}))
        return i + 2
    if c == "=" and nxt is not None and nxt.kind == "char" and nxt.value == "=" and nxt.start == t.end:
        out.append(_Tok("rel", "=", t.start, nxt.end))
        return i + 2
    if c in "=<>":
        out.append(_Tok("rel", c, t.start, t.end))
    elif c in "+-":
        out.append(_Tok("op", c, t.start, t.end))
    elif c == "*":
        out.append(_Tok("op", "*", t.start, t.end))
    elif c == "/":
        if nxt is not None and nxt.kind == "char" and nxt.value == "/":  # `//`: an end-of-proof mark
            out.append(_Tok("endmark", "//", t.start, nxt.end))
            return i + 2
        out.append(_Tok("op", "/", t.start, t.end))
    elif c == "|":
        if nxt is not None and nxt.kind == "char" and nxt.value == "|" and nxt.start == t.end:
            out.append(_Tok("nbar", "||", t.start, nxt.end, {"side": ""}))
            return i + 2
        out.append(_Tok("bar", "|", t.start, t.end, {"side": ""}))
    elif c == "'":
        j = i
        while j < len(toks) and toks[j].kind == "char" and toks[j].value == "'":
            j += 1
        out.append(_Tok("prime", j - i, t.start, toks[j - 1].end))
        return j
    elif c == "&":
        out.append(_Tok("amp", "&", t.start, t.end))
    elif c == "~":
        pass  # a non-breaking space
    elif c == ".":
        out.append(_Tok("period", ".", t.start, t.end))
    elif c in "{}()[],;^_!:":
        out.append(_Tok("char", c, t.start, t.end))
    elif c == "$":
        raise _err("proofcheck does not read a `$` inside a formula (a formula nested in \\text{...}?)",
                   src, t.start)
    else:
        out.append(_Tok("bad", f"unexpected character {c!r}", t.start, t.end))
    return i + 1


def _normalize_sym(toks, i, src, out) -> int:
    t = toks[i]
    c = t.value
    if c == "\\":
        out.append(_Tok("rowsep", "\\\\", t.start, t.end))
        # `\\[4pt]`: extra line spacing
        j = i + 1
        if j < len(toks) and toks[j].kind == "char" and toks[j].value == "[":
            k = j
            while k < len(toks) and not (toks[k].kind == "char" and toks[k].value == "]"):
                k += 1
            if k < len(toks) and k - j <= 4:
                return k + 1
        return i + 1
    if c == "{":
        out.append(_Tok("setopen", "{", t.start, t.end))
    elif c == "}":
        out.append(_Tok("setclose", "}", t.start, t.end))
    elif c == "|":
        out.append(_Tok("nbar", "||", t.start, t.end, {"side": ""}))
    elif c in (",", ";", ":", "!", " ", ">"):
        pass  # spacing
    else:
        out.append(_Tok("bad", f"unexpected \\{c} in a formula", t.start, t.end))
    return i + 1


_DELIMS = {("char", "("): "(", ("char", ")"): ")", ("char", "["): "[", ("char", "]"): "]",
           ("char", "|"): "|", ("sym", "|"): "||", ("sym", "{"): "\\{", ("sym", "}"): "\\}",
           ("cmd", "langle"): "langle", ("cmd", "rangle"): "rangle", ("cmd", "lvert"): "|", ("cmd", "rvert"): "|",
           ("cmd", "vert"): "|", ("cmd", "Vert"): "||", ("cmd", "lVert"): "||", ("cmd", "rVert"): "||",
           ("cmd", "lbrace"): "\\{", ("cmd", "rbrace"): "\\}", ("cmd", "lbrack"): "[", ("cmd", "rbrack"): "]",
           ("char", "."): ".", ("cmd", "mid"): "mid", ("char", "/"): "/", ("cmd", "|"): "||",
           ("char", "<"): "langle", ("char", ">"): "rangle"}


def _normalize_delimiter(toks, i, src, out) -> int:
    """`\\left(`, `\\Big|`, `\\right.` -> the delimiter (with its side), or nothing."""
    t = toks[i]
    size = str(t.value)
    if i + 1 >= len(toks):
        raise _err(f"\\{size} needs a delimiter after it, e.g. \\{size}(", src, t.start)
    d = toks[i + 1]
    key = (d.kind, d.value if d.kind != "sym" else d.value)
    delim = _DELIMS.get(key)
    if delim is None:
        if size in ("big", "Big", "bigg", "Bigg"):  # a size command on its own (\Big as a word?)
            return i + 1
        raise _err(f"\\{size} needs a delimiter after it, e.g. \\{size}( or \\{size}|", src, d.start)
    side = "left" if size.startswith("left") or size.endswith("l") else \
        "right" if size.startswith("right") or size.endswith("r") else "middle" if "m" in size[-1:] or size == "middle" else ""
    if size in ("big", "Big", "bigg", "Bigg"):
        side = ""
    s, e = t.start, d.end
    if delim == ".":
        return i + 2
    if delim in ("(", ")", "[", "]"):
        out.append(_Tok("char", delim, s, e, {"sized": True}))
    elif delim == "|" or delim == "mid":
        if side == "middle" or delim == "mid":
            out.append(_Tok("cond", "|", s, e))
        else:
            out.append(_Tok("bar", "|", s, e, {"side": side, "sized": size}))
    elif delim == "||":
        out.append(_Tok("nbar", "||", s, e, {"side": side if side != "middle" else ""}))
    elif delim == "\\{":
        out.append(_Tok("setopen", "{", s, e))
    elif delim == "\\}":
        out.append(_Tok("setclose", "}", s, e))
    elif delim in ("langle", "rangle"):
        out.append(_Tok(delim, delim, s, e))
    else:
        raise _err(f"the delimiter after \\{size} is not supported here", src, d.start)
    return i + 2


def _env_name(toks, i, src) -> tuple[str, int, int]:
    inner, s, e, j = _raw_arg(toks, i + 1, src)
    name = _plain_text(src, inner[0].start, inner[-1].end).replace(" ", "") if inner else ""
    return name, e, j


def _normalize_env(toks, i, src, out) -> int:
    t = toks[i]
    name, e, j = _env_name(toks, i, src)
    begin = t.value == "begin"
    if name == "array" and begin and j < len(toks) and toks[j].kind == "char" and toks[j].value == "{":
        _, _, e, j = _raw_arg(toks, j, src)  # the column specification
    if begin and j < len(toks) and toks[j].kind == "char" and toks[j].value == "{" and name.startswith("alignat"):
        _, _, e, j = _raw_arg(toks, j, src)
    if name in ALIGN_ENVS:
        out.append(_Tok("align" if begin else "endalign", name, t.start, e))
    elif name in MATRIX_ENVS:
        out.append(_Tok("matbegin" if begin else "matend", name, t.start, e))
    elif name == "cases":
        raise _err("cases (a brace of conditions) cannot be checked; write each case as its own formula",
                   src, t.start)
    else:
        raise _err(f"the environment {name!r} is not supported in formulas", src, t.start)
    return j


def _normalize_styled(toks, i, src, out) -> int:
    """`\\text{...}`, `\\mathrm{...}`, `\\operatorname{...}`, `\\mathbb{E}`, `\\mathcal{N}`."""
    t = toks[i]
    style = str(t.value)
    inner, s, e, j = _raw_arg(toks, i + 1, src)
    text = _plain_text(src, s, e)
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    word = text.strip()
    if style in ("mathbb", "mathcal", "mathscr", "mathfrak"):
        if style == "mathbb" and word not in ("E", "V"):
            if word in ("R", "N", "Z", "Q", "C"):
                out.append(_Tok("nocheck", "set", t.start, e))
            else:
                raise _err(f"\\mathbb{{{word}}} is not supported in formulas", src, t.start)
        elif style == "mathbb":
            out.append(_Tok("word", "E" if word == "E" else "Var", t.start, e, {"styled": True, "bb": True}))
        elif re.fullmatch(r"[A-Za-z]", word):
            out.append(_Tok("word", word, t.start, e, {"styled": True, "cal": True}))
        else:
            raise _err(f"\\{style}{{{word}}}: only a single letter is understood", src, t.start)
        return j
    if re.fullmatch(r"[A-Za-z]+", word) and not (style in TEXT_STYLES and word.lower() in PROSE_WORDS):
        out.append(_Tok("word", word, t.start, e, {"styled": True, "roman": style != "mathit"}))
        return j
    if re.fullmatch(r"[A-Za-z]+\s*_\s*\{?[A-Za-z0-9]+\}?", word) or re.fullmatch(r"\d+", word) or \
            (style in ("mathrm", "mathsf", "mathit", "operatorname") and not re.search(r"\s[A-Za-z]{2}", word)):
        # \mathrm{x_0}, \mathsf{T}, \mathrm{KL}: the content is a formula in roman type
        out.extend(_normalize(inner, src))
        return j
    if word in ("T", "\\top"):
        out.append(_Tok("cmd", "top", t.start, e))
        return j
    out.append(_Tok("prose", word, t.start, e))
    return j


def _normalize_stacked(toks, i, src, out) -> int:
    """`\\stackrel{X}{=}`, `\\overset{def}{=}`, `\\underset{q}{\\operatorname{argmin}}`."""
    t = toks[i]
    over, s1, e1, j = _raw_arg(toks, i + 1, src)
    base, s2, e2, j = _raw_arg(toks, j, src)
    base_n = _normalize(base, src)
    over_text = _plain_text(src, s1, e1).strip()
    if over_text.startswith("{") and over_text.endswith("}"):
        over_text = over_text[1:-1].strip()
    rels = [b for b in base_n if b.kind in ("rel", "impl", "arrow", "approx")]
    if len(base_n) == 1 and rels:
        b = base_n[0]
        info = dict(b.info)
        label = re.sub(r"\\(text|mathrm|textrm|mbox)\s*\{([^}]*)\}", r"\2", over_text).strip()
        if re.fullmatch(r"(def|definition|\\triangle|\\Delta|:)", label):
            info["rule"] = "definition"
        elif label.startswith("by "):
            info["rule"] = label[3:].strip()
        out.append(_Tok(b.kind, b.value, t.start, e2, info))
        return j
    if t.value == "underset":
        # \underset{x}{\operatorname{argmin}} -> argmin with the subscript x
        out.extend(base_n)
        out.append(_Tok("char", "_", s1, s1))
        out.append(_Tok("char", "{", s1, s1))
        out.extend(_normalize(over, src))
        out.append(_Tok("char", "}", e1, e1))
        return j
    raise _err(f"\\{t.value} is only understood over a relation, e.g. \\stackrel{{\\text{{def}}}}{{=}}",
               src, t.start)


# ---------------------------------------------------------------------------------------------
# 3. Rows and formulas


@dataclass
class _Segment:
    """One expression of a formula and the relation before it (None for the first)."""

    rel: _Tok | None
    toks: list[_Tok] = field(default_factory=list)
    rule: tuple[str, int] | None = None  # (ASCII rule text, offset)


@dataclass
class _Formula:
    segments: list[_Segment]
    dead: bool = False  # not a chain: a condition (`\text{if} x > 0`), `z \sim q`, `x \in \mathbb{R}`
    start: int = 0
    error: ProofcheckError | None = None  # e.g. a bracket never closed on this line
    inline: bool = False  # from inline math ($...$ in a sentence)


_OPENERS = {("char", "("), ("char", "["), ("char", "{"), ("setopen", None), ("langle", None), ("matbegin", None)}
_CLOSERS = {("char", ")"), ("char", "]"), ("char", "}"), ("setclose", None), ("rangle", None), ("matend", None)}


def _is(t: _Tok, pairs) -> bool:
    return (t.kind, t.value) in pairs or (t.kind, None) in pairs


def _rule_text(text: str) -> str | None:
    """`by definition`, `(by given(vp))` -> `definition`, `given(vp)`; otherwise None."""
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    m = re.match(r"by\s+(.+)$", text, re.S)
    return m.group(1).strip() if m else None


def _formulas(toks: list[_Tok], src: _Source) -> list[_Formula]:
    """Normalized tokens of a display block -> formulas (see the module docstring, step 3).
    Unbalanced brackets make an error for their own line (up to `\\\\`), not for the whole block."""
    formulas: list[_Formula] = []
    depth: list[_Tok] = []  # open brackets
    cur = _Formula([_Segment(None)], start=toks[0].start if toks else 0)
    dead_next = False

    def close():
        nonlocal cur, dead_next
        segs = [s for s in cur.segments if s.toks or s.rel is not None]
        if segs:
            cur.segments = segs
            formulas.append(cur)
        cur = _Formula([_Segment(None)], dead=dead_next)
        dead_next = False

    def last_segment() -> _Segment:
        for f in [cur] + formulas[::-1]:
            for s in reversed(f.segments):
                if s.toks:
                    return s
        return cur.segments[-1]

    def unclosed(opener: _Tok, where: str) -> None:
        if cur.error is None:
            cur.error = _err(f"this `{src.text[opener.start:opener.end].strip()}` is never closed{where}",
                             src, opener.start)
        depth.clear()

    row_break = False  # just after a top-level `\\`: the next row may continue this formula
    row_amp = False  # that row starts with `&`

    for n, t in enumerate(toks):
        if row_break:
            if t.kind in ("amp", "sep", "space"):  # alignment and indentation at the start of a row
                row_amp = row_amp or t.kind == "amp"
                continue
            row_break = False
            if not _continues(toks, n, cur, row_amp):
                close()
        if not cur.segments[0].toks and cur.segments[0].rel is None and len(cur.segments) == 1:
            cur.start = t.start
        if len(depth) > MAX_NESTING:
            raise LimitError(f"brackets nested deeper than {MAX_NESTING} levels", src.span(t.start))
        if depth:
            if t.kind == "rowsep" and not any(d.kind == "matbegin" for d in depth):
                unclosed(depth[-1], " on its line")
                close()
                continue
            if _is(t, _OPENERS):
                depth.append(t)
            elif _is(t, _CLOSERS):
                problem = _closer_problem(depth, t, src)
                if problem and cur.error is None:
                    cur.error = _err(problem, src, t.start)
                depth.pop()
            elif t.kind == "comment":
                rule = _rule_text(str(t.value))
                if rule:
                    last_segment().rule = (rule, t.start)
                continue
            cur.segments[-1].toks.append(t)
            continue
        k = t.kind
        if _is(t, _OPENERS):
            depth.append(t)
            cur.segments[-1].toks.append(t)
        elif _is(t, _CLOSERS):
            if cur.error is None:
                cur.error = _err(f"this `{src.text[t.start:t.end].strip()}` closes nothing", src, t.start)
        elif k in ("rel", "impl", "arrow", "approx"):
            cur.segments.append(_Segment(t))
        elif k == "rowsep":
            row_break, row_amp = True, False
        elif k in ("sep", "align", "endalign"):
            close()
        elif k == "amp":
            continue
        elif k == "comment":
            rule = _rule_text(str(t.value))
            if rule:
                last_segment().rule = (rule, t.start)
        elif k == "prose":
            rule = _rule_text(str(t.value))
            if rule:
                last_segment().rule = (rule, t.start)
                continue
            words = re.findall(r"[A-Za-z]+", str(t.value).lower())
            seg = cur.segments[-1]
            while seg.toks and seg.toks[-1].kind == "op" and seg.toks[-1].value == "*":
                seg.toks.pop()  # `... \cdot \text{a comment}`
            close()
            if words and words[0] in CONDITION_WORDS:
                cur.dead = True
        elif k == "char" and t.value in ",;":
            close()
        elif k == "char" and t.value == ":":
            cur.dead = True  # `f: X \to Y`
            cur.segments[-1].toks.append(t)
        elif k in ("period", "endmark"):
            continue
        elif k == "nocheck":
            if t.value in ("forall", "exists"):
                close()
            cur.dead = True
        else:
            cur.segments[-1].toks.append(t)
    if depth:
        unclosed(depth[-1], "")
    close()
    return formulas


def _continues(toks: list[_Tok], n: int, cur: _Formula, after_amp: bool) -> bool:
    """Whether the row starting at toks[n] continues the expression of the row before it: it starts
    with `+` or `-` (`&\\quad + 2xy`, `& - c`, multline's `\\ - c`) and is not an aligned equation of
    its own (`-y &= 2`: an `&` after the sign, before the row's relation)."""
    t = toks[n]
    if not (t.kind == "op" and t.value in ("+", "-")) or not cur.segments[-1].toks:
        return False
    if after_amp:
        return True
    for u in toks[n + 1:]:
        if u.kind in ("rowsep", "endalign", "rel", "impl", "arrow", "approx"):
            return True
        if u.kind == "amp":
            return False
    return True


def _closer_problem(depth: list[_Tok], t: _Tok, src: _Source) -> str:
    o = depth[-1]
    pairs = {"(": ")", "[": "]", "{": "}"}
    ok = (o.kind == "char" and t.kind == "char" and pairs.get(str(o.value)) == t.value) or \
         (o.kind == "setopen" and t.kind == "setclose") or (o.kind == "langle" and t.kind == "rangle") or \
         (o.kind == "matbegin" and t.kind == "matend" and o.value == t.value) or \
         (o.kind == "char" and o.value in "([" and t.kind == "char" and t.value in ")]"
          and (o.info.get("sized") or t.info.get("sized")))
    if ok:
        return ""
    want = {"(": ")", "[": "]", "{": "}"}.get(str(o.value), "\\}" if o.kind == "setopen" else
                                              "\\rangle" if o.kind == "langle" else f"\\end{{{o.value}}}")
    return (f"`{src.text[t.start:t.end].strip()}` does not match the `{src.text[o.start:o.end].strip()}` "
            f"opened at column {src.pos(o.start)[1]}; expected `{want}`")


# ---------------------------------------------------------------------------------------------
# 4. One expression: LaTeX tokens -> grammar tokens -> ASCII text


def _signature(toks: list[_Tok]) -> list[tuple[object, int, int]]:
    """Comparable units of a token list for matching latex_names: (signature, first index, last index + 1).
    `_{t}` and `_t` compare equal; `\\left(` and `(` too; `\\boldsymbol` was already dropped."""
    units = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.at("char", "{") and units and units[-1][0] in (("char", "_"), ("char", "^")) and i + 2 < len(toks) \
                and toks[i + 2].at("char", "}"):
            inner = toks[i + 1]
            units.append((_sig(inner), i, i + 3))
            i += 3
            continue
        units.append((_sig(t), i, i + 1))
        i += 1
    return units


def _sig(t: _Tok):
    if t.kind == "accent":
        return ("accent", t.value, tuple(u[0] for u in _signature(t.info["inner"])))
    if t.kind == "word" and t.info.get("cal"):
        return ("cal", t.value)
    if t.kind == "word" and t.info.get("bb"):
        return ("bb", t.value)
    return (t.kind, t.value)


@lru_cache(maxsize=256)
def _key_signature(key: str) -> tuple:
    src = _Source(key, "<latex_names>")
    toks = _normalize(_tokenize(key), src)
    return tuple(u[0] for u in _signature(toks))


_EXPECT_HEAD = re.compile(r"^\s*(E|Var)\s*\[.*\]\s*$", re.S)


def _substitute(toks: list[_Tok], names: Names, src: _Source) -> list[_Tok]:
    """Replace every LaTeX snippet of `latex_names` by its ASCII (longest match first)."""
    if not names.latex_names or not toks:
        return toks
    keys = []
    for k, v in names.latex_names.items():
        sig = _key_signature(k)
        if sig:
            keys.append((sig, v))
    keys.sort(key=lambda kv: -len(kv[0]))
    units = _signature(toks)
    sigs = [u[0] for u in units]
    out: list[_Tok] = []
    p = 0
    while p < len(units):
        hit = None
        prev = sigs[p - 1] if p else None
        if prev not in (("char", "_"), ("char", "^")):
            for sig, value in keys:
                n = len(sig)
                if tuple(sigs[p:p + n]) == sig:
                    nxt = sigs[p + n] if p + n < len(sigs) else None
                    if nxt in (("char", "_"),) or (nxt is not None and nxt[0] == "prime"):
                        continue  # `\sigma` does not match the start of `\sigma_t`
                    hit = (n, value)
                    break
        if hit is None:
            a, b = units[p][1], units[p][2]
            out.extend(toks[a:b])
            p += 1
            continue
        n, value = hit
        first, last = toks[units[p][1]], toks[units[p + n - 1][2] - 1]
        value = str(value).strip()
        latex = src.text[first.start:last.end]
        if not value:
            pass  # mapped to nothing: dropped
        elif _EXPECT_HEAD.match(value):
            out.append(_Tok("expect_raw", value, first.start, last.end, {"latex": latex}))
        else:
            out.append(_Tok("raw", value, first.start, last.end, {"latex": latex}))
        p += n
    return out


def _deriv_var(toks: list[_Tok]) -> tuple[list[_Tok], int] | None:
    """`d x`, `dx`, `\\partial \\theta`, `d x^2` (a group's tokens) -> (the variable's tokens, order)."""
    if not toks:
        return None
    t = toks[0]
    rest: list[_Tok]
    if t.at("cmd", "partial") or (t.kind == "word" and t.value == "d"):
        rest = toks[1:]
    elif t.kind == "word" and str(t.value).startswith("d") and len(str(t.value)) > 1 and not t.info.get("styled"):
        rest = [_Tok("word", str(t.value)[1:], t.start + 1, t.end)] + toks[1:]
    else:
        return None
    order = 1
    if len(rest) >= 3 and rest[-2].at("char", "^") and rest[-1].kind == "num":
        order = int(str(rest[-1].value))
        rest = rest[:-2]
    if len(rest) >= 2 and rest[0].at("char", "_"):  # \partial_{x}, d_x
        rest = rest[1:]
        if rest[0].at("char", "{") and rest[-1].at("char", "}"):
            rest = rest[1:-1]
    if not rest:
        return None
    return rest, order


def _numerator_d(toks: list[_Tok]) -> tuple[int, list[_Tok]] | None:
    """`d`, `\\partial`, `d^2`, `d f(x)`, `\\partial \\mathcal{L}` -> (order, the rest)."""
    if not toks:
        return None
    t = toks[0]
    if t.at("cmd", "partial") or (t.kind == "word" and t.value == "d"):
        rest = toks[1:]
    elif t.kind == "word" and str(t.value).startswith("d") and not t.info.get("styled"):
        rest = [_Tok("word", str(t.value)[1:], t.start + 1, t.end)] + toks[1:]
    else:
        return None
    order = 1
    if len(rest) >= 2 and rest[0].at("char", "^") and rest[1].kind == "num":
        order = int(str(rest[1].value))
        rest = rest[2:]
    elif len(rest) >= 4 and rest[0].at("char", "^") and rest[1].at("char", "{") and rest[2].kind == "num" \
            and rest[3].at("char", "}"):
        order = int(str(rest[2].value))
        rest = rest[4:]
    return order, rest


def _derivatives(toks: list[_Tok], src: _Source) -> list[_Tok]:
    """`\\frac{d}{dx} f`, `\\frac{\\partial f}{\\partial x}`, `\\frac{d^2}{dx^2}` -> a `deriv` token (+ {f})."""
    out: list[_Tok] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.at("cmd", "frac") and i + 1 < len(toks) and toks[i + 1].at("char", "{"):
            j1 = _group_end(toks, i + 1, src)
            if j1 + 1 < len(toks) and toks[j1 + 1].at("char", "{"):
                j2 = _group_end(toks, j1 + 1, src)
                num = _numerator_d(toks[i + 2:j1])
                den = _deriv_var(toks[j1 + 2:j2])
                if num is not None and den is not None:
                    order, rest = num
                    var, dorder = den
                    if dorder != order:
                        raise _err(f"the orders do not match: d^{order} over d(...)^{dorder}", src, t.start)
                    if any(v.at("cmd", "partial") or (v.kind == "word" and str(v.value).startswith("d")
                                                      and len(var) > 1 and v is not var[0]) for v in var):
                        raise _err("mixed derivatives: write one derivative inside another, "
                                   "\\frac{\\partial}{\\partial x}\\frac{\\partial f}{\\partial y}", src, t.start)
                    out.append(_Tok("deriv", order, t.start, toks[j2].end, {"var": var}))
                    if rest:
                        out.append(_Tok("char", "{", rest[0].start, rest[0].start, {"synthetic": True}))
                        out.extend(_derivatives(rest, src))
                        out.append(_Tok("char", "}", rest[-1].end, rest[-1].end, {"synthetic": True}))
                    i = j2 + 1
                    continue
        if t.at("cmd", "partial") and i + 1 < len(toks) and toks[i + 1].at("char", "_"):
            inner, s, e, j = _raw_arg(toks, i + 2, src)
            out.append(_Tok("deriv", 1, t.start, e, {"var": inner}))
            i = j
            continue
        out.append(t)
        i += 1
    return out


def _frac_digits(toks: list[_Tok]) -> list[_Tok]:
    """`\\frac12`: the digits after \\frac are two arguments of one digit each."""
    out: list[_Tok] = []
    for i, t in enumerate(toks):
        if t.kind == "num" and i and toks[i - 1].at("cmd", "frac") and len(str(t.value)) > 1 \
                and str(t.value).isdigit():
            v = str(t.value)
            out.append(_Tok("num", v[0], t.start, t.start + 1))
            out.append(_Tok("num", v[1], t.start + 1, t.start + 2))
            if len(v) > 2:
                out.append(_Tok("num", v[2:], t.start + 2, t.end))
            continue
        out.append(t)
    return out


@dataclass
class _G:
    """A grammar token: lark type, value, LaTeX offsets, extra info."""

    type: str
    value: object
    start: int
    end: int
    info: dict = field(default_factory=dict)


_OPERAND_END = {"NAME", "RAW", "NUMBER", "RPAR", "RBRACE", "SETCLOSE", "NORM_CLOSE", "ABS_CLOSE", "RANGLE", "MATEND",
                "IDX_CLOSE", "TRANSPOSE", "ROPT"}
_PREFIX_OPS = {"FUNC", "BIGOP", "OPT", "LIM", "NABLA", "DERIV", "INT", "EXPECT", "EXPECT_RAW"}
_OPEN_G = {"LPAR": "RPAR", "LBRACE": "RBRACE", "SETOPEN": "SETCLOSE", "NORM_OPEN": "NORM_CLOSE",
           "ABS_OPEN": "ABS_CLOSE", "LANGLE": "RANGLE", "MATBEGIN": "MATEND", "IDX_OPEN": "IDX_CLOSE",
           "LOPT": "ROPT"}


class _Translator:
    """LaTeX tokens of one expression -> grammar tokens (names resolved, implicit arguments explicit)."""

    def __init__(self, names: Names, src: _Source, where: str):
        self.names, self.src, self.where = names, src, where
        self.bound: set[str] = set()

    # -- errors and helpers
    def fail(self, msg: str, tok) -> ParseError:
        return _err(msg, self.src, tok.start if hasattr(tok, "start") else int(tok))

    def latex(self, a: int, b: int) -> str:
        return " ".join(self.src.text[a:b].split())

    # -- the passes
    def grammar_tokens(self, toks: list[_Tok]) -> list[_G]:
        toks = _substitute(toks, self.names, self.src)
        toks = _derivatives(_frac_digits(toks), self.src)
        g = self.resolve(toks)
        g = self.bars(g)
        g = self.arguments(g)
        self.collect_bound(g)
        return g

    # -- names, words, commands
    def resolve(self, toks: list[_Tok]) -> list[_G]:
        out: list[_G] = []
        skip: set[int] = set()
        integrals: list[int] = []  # bracket depth of each open \int
        depth = 0
        i = 0
        n = len(toks)
        while i < n:
            if i in skip:
                i += 1
                continue
            t = toks[i]
            k, v = t.kind, t.value
            nxt = toks[i + 1] if i + 1 < n else None
            if k == "num":
                out.append(_G("NUMBER", str(v), t.start, t.end))
            elif k == "op" and t.info.get("latex") == "cdot" and out and out[-1].type == "LPAR" and \
                    len(out) >= 2 and out[-2].type in ("NAME", "RAW") and nxt is not None and \
                    (nxt.kind in ("bar", "cond") or nxt.at("char", ",") or nxt.at("char", ")")):
                # q(\cdot | x): the density itself, as in E_{z \sim q(\cdot|x)}
                out.append(_G("NAME", "·", t.start, t.end, {"placeholder": True, "builtin": True, "latex": "\\cdot"}))
            elif k == "op":
                typ = {"+": "PLUS", "-": "MINUS", "*": "MUL", "/": "DIV", ".*": "ODOT"}[str(v)]
                out.append(_G(typ, v, t.start, t.end))
            elif k == "pm":
                out.append(_G("PM", v, t.start, t.end))
            elif k == "char":
                i = self.resolve_char(toks, i, out, skip)
                if v in "([{":
                    depth += 1
                elif v in ")]}":
                    depth -= 1
                continue
            elif k in ("bar", "nbar"):
                out.append(_G("BAR" if k == "bar" else "NBAR", v, t.start, t.end, dict(t.info)))
            elif k == "cond":
                out.append(_G("SEP", "|", t.start, t.end))
            elif k == "klsep":
                out.append(_G("KLSEP", "||", t.start, t.end))
            elif k in ("setopen", "setclose"):
                out.append(_G(k.upper(), v, t.start, t.end))
                depth += 1 if k == "setopen" else -1
            elif k in ("langle", "rangle"):
                out.append(_G(k.upper(), v, t.start, t.end))
                depth += 1 if k == "langle" else -1
            elif k == "prime":
                out.append(_G("PRIMES", "'" * int(v), t.start, t.end))
            elif k == "amp":
                out.append(_G("AMP", "&", t.start, t.end))
            elif k == "rowsep":
                out.append(_G("ROWSEP", "\\\\", t.start, t.end))
            elif k == "matbegin":
                out.append(_G("MATBEGIN", v, t.start, t.end))
                depth += 1
            elif k == "matend":
                out.append(_G("MATEND", v, t.start, t.end))
                depth -= 1
            elif k == "rel":
                out.append(_G("REL", v, t.start, t.end))
            elif k == "arrow":
                out.append(_G("ARROW", v, t.start, t.end))
            elif k == "nocheck" and v == "sim":
                out.append(_G("SIM", v, t.start, t.end))
            elif k == "nocheck" and v == "in":
                raise self.fail("sums and integrals over a set (x \\in D) cannot be checked; "
                                "write the range, e.g. \\sum_{i=1}^{N}", t)
            elif k == "raw":
                out.append(_G("RAW", v, t.start, t.end, dict(t.info)))
            elif k == "expect_raw":
                out.append(_G("EXPECT_RAW", v, t.start, t.end, dict(t.info)))
            elif k == "deriv":
                var = self.name_of(t.info["var"], "the variable of a derivative")
                out.append(_G("DERIV", (var, int(v)), t.start, t.end))
            elif k in ("word", "greek", "accent"):
                if integrals and integrals[-1] == depth and self.differential(toks, i, out, skip):
                    integrals.pop()
                    i += 1
                    continue
                i = self.resolve_name(toks, i, out, skip)
                continue
            elif k == "cmd":
                if v == "int" or v == "iint":
                    integrals.append(depth)
                i = self.resolve_cmd(toks, i, out, skip)
                continue
            elif k == "dots":
                raise self.fail("`\\dots` cannot be checked: write the terms out, or use \\sum", t)
            elif k == "approx":
                raise self.fail(f"{v} is not a relation proofcheck can check: write = for an exact step", t)
            elif k in ("impl", "nocheck"):
                raise self.fail(f"`{self.latex(t.start, t.end)}` cannot stand inside a formula", t)
            elif k == "prose":
                raise self.fail(f"text (\\text{{{v}}}) inside a formula; put it outside the brackets", t)
            elif k in ("period",):
                raise self.fail("unexpected `.`; write products with \\cdot or a space", t)
            elif k in ("comment", "endmark", "sep", "space"):
                pass
            elif k == "bad":
                raise self.fail(str(v), t)
            else:
                raise self.fail(f"unexpected `{self.latex(t.start, t.end)}`", t)
            i += 1
        if integrals:
            raise self.fail("this integral has no differential: end it with dx (or d\\theta, ...)",
                            next((t for t in toks if t.at("cmd", "int")), toks[0]))
        return out

    def resolve_char(self, toks, i, out, skip) -> int:
        t = toks[i]
        v = t.value
        if v == "(":
            out.append(_G("LPAR", "(", t.start, t.end))
        elif v == ")":
            out.append(_G("RPAR", ")", t.start, t.end))
        elif v == "[":
            out.append(_G("LPAR", "(", t.start, t.end, {"bracket": True}))
        elif v == "]":
            out.append(_G("RPAR", ")", t.start, t.end, {"bracket": True}))
        elif v == "{":
            out.append(_G("LBRACE", "{", t.start, t.end))
        elif v == "}":
            out.append(_G("RBRACE", "}", t.start, t.end))
        elif v == ",":
            out.append(_G("SEP", ",", t.start, t.end))
        elif v == ";":
            out.append(_G("SEP", ";", t.start, t.end))
        elif v == "^":
            return self.resolve_caret(toks, i, out, skip)
        elif v == "_":
            out.append(_G("UNDERSCORE", "_", t.start, t.end))
        elif v == "!":
            raise self.fail("factorials (n!) are not supported", t)
        elif v == ":":
            raise self.fail("unexpected `:`", t)
        else:
            raise self.fail(f"unexpected `{v}`", t)
        return i + 1

    def script_tokens(self, toks, i) -> tuple[list[_Tok], int]:
        """The script after a ^ or _ at toks[i-1]: (its tokens, index after)."""
        inner, s, e, j = _raw_arg(toks, i, self.src)
        return inner, j

    def script_kind(self, inner: list[_Tok]) -> str:
        """What a superscript means: transpose, prime, star (a label), label, power."""
        if len(inner) == 1:
            t = inner[0]
            if t.at("cmd", "top") or t.at("cmd", "intercal") or (t.kind == "word" and t.value == "T"
                                                                   and not self.names.known("T")):
                return "transpose"
            if t.at("cmd", "prime"):
                return "prime"
            if t.at("op", "*") or t.at("cmd", "ast") or t.at("cmd", "star"):
                return "star"
            if t.kind == "word" and t.info.get("styled") and len(str(t.value)) > 1 and \
                    str(t.value) not in WORD_FUNCTIONS:
                return "label"
        if inner and all(x.at("cmd", "prime") for x in inner):
            return "prime"
        if len(inner) == 3 and inner[0].at("char", "(") and inner[2].at("char", ")") and \
                inner[1].kind in ("word", "num", "greek"):
            return "label"  # x^{(i)}: the i-th sample
        return "power"

    def resolve_caret(self, toks, i, out, skip) -> int:
        t = toks[i]
        if i + 1 >= len(toks):
            raise self.fail("a `^` needs an exponent after it", t)
        inner, j = self.script_tokens(toks, i + 1)
        kind = self.script_kind(inner)
        if kind == "transpose":
            out.append(_G("TRANSPOSE", "T", t.start, toks[j - 1].end))
            return j
        if kind == "prime":
            out.append(_G("PRIMES", "'" * len(inner), t.start, toks[j - 1].end))
            return j
        if kind in ("star", "label"):
            raise self.fail("a superscript label (like ^* or ^{(i)}) only goes on a name", t)
        out.append(_G("CARET", "^", t.start, t.end))
        return i + 1

    def differential(self, toks, i, out, skip) -> bool:
        """`dz`, `d z`, `\\mathrm{d}z`, `d\\theta`, `d_{x}` at toks[i] inside an integral -> DIFF."""
        t = toks[i]
        if t.kind != "word" or not str(t.value).startswith("d"):
            return False
        word = str(t.value)
        if word == "d":
            j = i + 1
            if j < len(toks) and toks[j].at("char", "_"):  # d_x, d_{x_0}
                inner, j2 = self.script_tokens(toks, j + 1)
                var = self.name_of(inner, "the variable of an integral")
                out.append(_G("DIFF", var, t.start, toks[j2 - 1].end))
                skip.update(range(i + 1, j2))
                return True
            if j < len(toks) and toks[j].kind in ("word", "greek", "accent"):
                self._differential_name(toks, i, j + 1, [toks[j]], out, skip)
                return True
            return False
        if t.info.get("styled"):
            return False
        self._differential_name(toks, i, i + 1, [_Tok("word", word[1:], t.start + 1, t.end)], out, skip)
        return True

    def _differential_name(self, toks, i, k, name, out, skip) -> None:
        """The variable after `d` at toks[i]: `name` (tokens) with the subscripts from toks[k] on."""
        while k + 1 < len(toks) and toks[k].at("char", "_"):
            _, k2 = self.script_tokens(toks, k + 1)
            name += toks[k:k2]
            k = k2
        var = self.name_of(name, "the variable of an integral")
        out.append(_G("DIFF", var, toks[i].start, toks[k - 1].end))
        skip.update(range(i + 1, k))

    def resolve_cmd(self, toks, i, out, skip) -> int:
        t = toks[i]
        v = str(t.value)
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if v == "frac":
            if nxt is not None and not nxt.at("char", "{"):
                # \frac12, \frac1x: single-character arguments
                a = toks[i + 1]
                b = toks[i + 2] if i + 2 < len(toks) else None
                if b is None or b.at("char", "{"):
                    if b is None:
                        raise self.fail("\\frac needs two arguments: \\frac{a}{b}", t)
                    # \frac1{x}
                    out.append(_G("FRAC", "frac", t.start, t.end))
                    out.append(_G("LBRACE", "{", a.start, a.start))
                    sub = self.resolve([a])
                    out.extend(sub)
                    out.append(_G("RBRACE", "}", a.end, a.end))
                    return i + 2
                out.append(_G("FRAC", "frac", t.start, t.end))
                for x in (a, b):
                    out.append(_G("LBRACE", "{", x.start, x.start))
                    out.extend(self.resolve([x]))
                    out.append(_G("RBRACE", "}", x.end, x.end))
                return i + 3
            out.append(_G("FRAC", "frac", t.start, t.end))
        elif v == "sqrt":
            out.append(_G("SQRT", "sqrt", t.start, t.end))
            if nxt is not None and nxt.at("char", "["):
                k = i + 2
                depth = 0
                while k < len(toks):
                    if toks[k].at("char", "[") or toks[k].at("char", "{"):
                        depth += 1
                    elif toks[k].at("char", "]") and depth == 0:
                        break
                    elif toks[k].at("char", "]") or toks[k].at("char", "}"):
                        depth -= 1
                    k += 1
                if k >= len(toks):
                    raise self.fail("\\sqrt[: the `]` is missing", nxt)
                out.append(_G("LOPT", "[", nxt.start, nxt.end))
                out.extend(self.resolve(toks[i + 2:k]))
                out.append(_G("ROPT", "]", toks[k].start, toks[k].end))
                return k + 1
        elif v in ("sum", "prod"):
            out.append(_G("BIGOP", v, t.start, t.end))
        elif v in ("int", "iint"):
            if v == "iint":
                raise self.fail("double integrals: write one \\int inside another", t)
            out.append(_G("INT", v, t.start, t.end))
        elif v == "lim":
            out.append(_G("LIM", v, t.start, t.end))
        elif v == "nabla":
            out.append(_G("NABLA", v, t.start, t.end))
            if nxt is None or not nxt.at("char", "_"):
                raise self.fail("\\nabla needs the variable as a subscript: \\nabla_{w} f", t)
        elif v in FUNCTIONS:
            if nxt is not None and nxt.at("char", "_"):
                raise self.fail(f"\\{v} with a subscript (a base) is not supported; write \\log x / \\log b", nxt)
            out.append(_G("FUNC", FUNCTIONS[v], t.start, t.end))
        elif v in ("max", "min"):
            if nxt is not None and nxt.at("char", "_"):
                out.append(_G("OPT", OPTIMA[v], t.start, t.end))
            else:
                out.append(_G("MAXMIN", v, t.start, t.end))
        elif v == "infty":
            out.append(_G("NAME", "oo", t.start, t.end, {"latex": "\\infty", "builtin": True}))
        elif v == "partial":
            raise self.fail("∂ is understood in \\frac{\\partial f}{\\partial x} and \\partial_x f", t)
        elif v in ("top", "intercal", "prime"):
            raise self.fail(f"\\{v} belongs in a superscript: X^\\{v}", t)
        elif v in ("cdot", "times"):
            out.append(_G("MUL", "*", t.start, t.end))
        elif v in ("circ", "otimes", "oplus", "cup", "cap", "setminus"):
            raise self.fail(f"\\{v} is not supported in formulas", t)
        else:
            raise self.fail(f"unknown LaTeX command \\{v}", t)
        return i + 1

    # -- names
    def name_of(self, toks: list[_Tok], what: str) -> str:
        """The ASCII name written by a few tokens (a variable of a derivative, integral, ...)."""
        if len(toks) == 1 and toks[0].kind == "raw" and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(toks[0].value)):
            return str(toks[0].value)
        out: list[_G] = []
        used: set[int] = set()
        j = self.resolve_name(toks, 0, out, used, whole=True) if toks and toks[0].kind in ("word", "greek", "accent") \
            else -1
        if j < 0 or set(range(j, len(toks))) - used or len(out) != 1 or out[0].type != "NAME":
            raise self.fail(f"{what} must be a name", toks[0] if toks else 0)
        return str(out[0].value)

    def resolve_name(self, toks, i, out, skip, whole: bool = False) -> int:
        """A name at toks[i] with its subscripts, labels and primes; special words. Returns the next index."""
        t = toks[i]
        n = len(toks)
        base_kind = t.kind
        word = str(t.value)
        styled = t.info.get("styled", False)
        nxt = toks[i + 1] if i + 1 < n else None

        # special words and letters (unless declared as names)
        if base_kind == "word" and not self.names.declared(word) and not whole:
            special = self.special_word(toks, i, out, skip)
            if special is not None:
                return special
        if base_kind == "greek" and word == "sigma" and not self.names.declared("sigma") and nxt is not None \
                and nxt.at("char", "("):
            out.append(_G("FUNC", "sigmoid", t.start, t.end))
            return i + 1

        # a word of several letters that is not a name: a product of one-letter names (LaTeX's reading)
        if base_kind == "word" and len(word) > 1 and not styled and not self.names.declared(word) and not whole:
            letters = list(word)
            if all(self.names.known(c) or c in self.bound for c in letters[:-1]):
                last = _Tok("word", letters[-1], t.end - 1, t.end)
                trial = _Names_probe(self, toks, i, last)
                if trial:
                    for k, c in enumerate(letters[:-1]):
                        out.append(_G("NAME", c, t.start + k, t.start + k + 1, {"latex": c}))
                    toks = toks[:i] + [last] + toks[i + 1:]
                    return self.resolve_name_tail(toks, i, out, skip, whole) + 0
        return self.resolve_name_tail(toks, i, out, skip, whole)

    def resolve_name_tail(self, toks, i, out, skip, whole) -> int:
        t = toks[i]
        n = len(toks)
        base, accent = self.base_of(t)
        subs: list[list[_Tok]] = []
        labels: list[str] = []
        primes = None
        powers: list[tuple[int, int]] = []  # (index of ^, index after its script), kept for the grammar
        j = i + 1
        end = t.end
        while j < n:
            u = toks[j]
            if u.kind == "prime" and primes is None and j + 1 < n and toks[j + 1].at("char", "_"):
                primes = (j, u)  # F'_1: the prime of the name F_1
                skip.add(j)
                j += 1
                continue
            if u.at("char", "_") and j + 1 < n:
                inner, j2 = self.script_tokens(toks, j + 1)
                subs.append(inner)
                skip.update(range(j, j2))
                end = toks[j2 - 1].end
                j = j2
                continue
            if u.at("char", "^") and j + 1 < n:
                inner, j2 = self.script_tokens(toks, j + 1)
                kind = self.script_kind(inner)
                if kind == "star":
                    labels.append("star")
                elif kind == "label":
                    if len(inner) == 3:
                        labels.append(self.piece_text(inner[1]))
                    else:
                        labels.append(self.piece_text(inner[0]))
                else:
                    if powers or kind != "power" or not (j2 < n and toks[j2].at("char", "_")):
                        break  # a power (or transpose, prime) of the name: left to the grammar
                    powers.append((j, j2))  # \sigma^2_t: the subscript after the power belongs to the name
                    j = j2
                    continue
                skip.update(range(j, j2))
                end = toks[j2 - 1].end
                j = j2
                continue
            break
        if powers:  # move the power behind the name: emit the name first, then let the loop see ^ ...
            pass
        latex = self.latex(t.start, end)
        info = {"latex": latex}
        # indexing: a declared vector or matrix with a subscript
        if subs and len(subs) == 1 and not labels and not accent and self.names.is_array(base) and not whole:
            idx = self.index_tokens(subs[0])
            out.append(_G("NAME", base, t.start, t.end, {"latex": self.latex(t.start, t.end)}))
            out.append(_G("IDX_OPEN", "[", toks[i + 1].start, toks[i + 1].end))
            out.extend(idx)
            out.append(_G("IDX_CLOSE", "]", end, end))
            self.emit_powers(toks, powers, out, skip)
            return i + 1
        cands = self.candidates(base, accent, subs, labels, t)
        chosen = next((c for c in cands if self.names.known(c) or c in self.bound), None)
        if chosen is None:  # not declared as written: the key's name with the same normal form, if one
            chosen = self.names.resolve(cands) or cands[0]
        info["candidates"] = cands
        if base == "e" and not accent and not subs and not labels and not self.names.known("e") and t.kind == "word":
            info["euler"] = True
        out.append(_G("NAME", chosen, t.start, end, info))
        if primes is not None:
            out.append(_G("PRIMES", "'" * int(primes[1].value), primes[1].start, primes[1].end))
        self.emit_powers(toks, powers, out, skip)
        return i + 1

    def emit_powers(self, toks, powers, out, skip) -> None:
        for a, b in powers:
            sub = self.resolve(toks[a:b])
            out.extend(sub)
            skip.update(range(a, b))

    def base_of(self, t: _Tok) -> tuple[str, str]:
        """(base name, accent suffix) of a name token."""
        if t.kind == "greek":
            return str(t.value), ""
        if t.kind == "word":
            return str(t.value), ""
        if t.kind == "accent":
            inner = t.info["inner"]
            if len(inner) == 1 and inner[0].kind in ("word", "greek"):
                return str(inner[0].value), "_" + str(t.value)
            if len(inner) == 1 and inner[0].kind == "accent":
                b, a = self.base_of(inner[0])
                return b, a + "_" + str(t.value)
            raise self.fail(f"\\{t.value}{{...}} is understood over a single letter (a name)", t)
        raise self.fail("a name is expected here", t)

    def piece_text(self, t: _Tok) -> str:
        if t.kind in ("word", "greek", "num"):
            return str(t.value)
        if t.kind == "raw":
            return re.sub(r"\W", "", str(t.value))
        if t.kind == "accent":
            b, a = self.base_of(t)
            return b + a
        if t.kind == "cmd" and t.value == "infty":
            return "inf"
        raise self.fail(f"`{self.latex(t.start, t.end)}` cannot be part of a name", t)

    def subscript_pieces(self, inner: list[_Tok], t0: _Tok) -> list[str]:
        pieces: list[str] = []
        for k, u in enumerate(inner):
            if u.kind in ("cond", "bar") or u.at("char", ",") or u.at("char", ";"):
                pieces.append("|")
                continue
            if u.at("char", "_") or u.at("char", "{") or u.at("char", "}"):
                continue  # A_{z_s}: a subscript inside the subscript
            if u.at("char", "^") and k + 1 < len(inner) and (inner[k + 1].at("op", "*") or
                                                             inner[k + 1].at("cmd", "ast")):
                continue  # q_{\phi^*}
            if u.kind in ("word", "greek", "num", "accent", "raw") or u.at("cmd", "infty"):
                pieces.append(self.piece_text(u))
                continue
            if u.at("op", "*") or u.at("cmd", "ast"):
                pieces.append("star")
                continue
            raise self.fail(f"the subscript `{self.latex(inner[0].start, inner[-1].end)}` is not part of a name; "
                            f"map `{self.latex(t0.start, inner[-1].end + 1)}` to a name under latex_names", u)
        return pieces

    def candidates(self, base: str, accent: str, subs: list[list[_Tok]], labels: list[str], t0) -> list[str]:
        if not subs and not labels:
            return [base + accent] + ([base + accent.replace("_", "")] if accent else [])
        groups = [self.subscript_pieces(s, t0) for s in subs]
        flat = [p for g in groups for p in g]
        words = [p for p in flat if p != "|"]
        joined = "".join(words)
        under = "_".join(words)
        lab = "".join("_" + x for x in labels)
        out = []
        for c in (f"{base}{accent}_{joined}{lab}", f"{base}{accent}_{under}{lab}", f"{base}_{joined}{accent}{lab}",
                  f"{base}{joined}{accent}{lab}", f"{base}_{under}{accent}{lab}"):
            c = c.replace("__", "_").rstrip("_")
            if c.endswith("_") or c == base:
                continue
            if c not in out:
                out.append(c)
        return out or [base]

    def index_tokens(self, inner: list[_Tok]) -> list[_G]:
        """The index of `\\mu_i`, `X_{ij}`, `X_{i,j}`, `v_{k+1}` for a declared vector or matrix."""
        if len(inner) == 1 and inner[0].kind == "word" and len(str(inner[0].value)) == 2:
            a = inner[0]
            return [_G("NAME", str(a.value)[0], a.start, a.start + 1, {"latex": str(a.value)[0]}),
                    _G("SEP", ",", a.start + 1, a.start + 1),
                    _G("NAME", str(a.value)[1], a.start + 1, a.end, {"latex": str(a.value)[1]})]
        return self.resolve(inner)

    def special_word(self, toks, i, out, skip) -> int | None:
        """Words with a meaning (functions, E, KL, N(...)) that are not declared names."""
        t = toks[i]
        w = str(t.value)
        n = len(toks)
        nxt = toks[i + 1] if i + 1 < n else None
        cal, bb = t.info.get("cal"), t.info.get("bb")
        if (w == "E" and (bb or (nxt is not None and (nxt.at("char", "_") or nxt.at("char", "["))))) or \
                (w in ("Var", "var") and nxt is not None and (nxt.at("char", "_") or nxt.at("char", "[")
                                                               or nxt.at("char", "("))):
            out.append(_G("EXPECT", "E" if w == "E" else "Var", t.start, t.end))
            return i + 1
        if w in ("KL", "JSD") or (w == "D" and nxt is not None and nxt.at("char", "_")):
            if w == "D":
                inner, j = self.script_tokens(toks, i + 2)
                label = "".join(str(x.value) for x in inner if x.kind == "word")
                if label not in ("KL", "JS", "JSD"):
                    return None
                out.append(_G("DIVERGENCE", "KL" if label == "KL" else "JSD", t.start, toks[j - 1].end))
                return j
            out.append(_G("DIVERGENCE", w, t.start, t.end))
            return i + 1
        if w == "N" and nxt is not None and nxt.at("char", "("):
            out.append(_G("NAME", "Normal", t.start, t.end, {"latex": self.latex(t.start, t.end), "builtin": True}))
            return i + 1
        if w in ("Bern", "Bernoulli") or (w in ("Unif", "Uniform") or (cal and w == "U")) and nxt is not None \
                and nxt.at("char", "("):
            name = "Bernoulli" if w.startswith("Bern") else "Uniform"
            out.append(_G("NAME", name, t.start, t.end, {"latex": self.latex(t.start, t.end), "builtin": True}))
            return i + 1
        if cal:
            return None
        if w == "i" and t.info.get("roman"):  # \mathrm{i}: the imaginary unit
            out.append(_G("RAW", "I", t.start, t.end, {"latex": self.latex(t.start, t.end)}))
            return i + 1
        if w in FUNCTIONS and not t.info.get("cal"):
            self_tok = _Tok("cmd", w, t.start, t.end)
            return self.resolve_cmd(toks[:i] + [self_tok] + toks[i + 1:], i, out, skip)
        if w in ("max", "min"):
            return self.resolve_cmd(toks[:i] + [_Tok("cmd", w, t.start, t.end)] + toks[i + 1:], i, out, skip)
        if w in ("argmax", "argmin"):
            if nxt is None or not nxt.at("char", "_"):
                raise self.fail(f"{w} needs the variable as a subscript: \\arg\\max_{{x}} f", t)
            out.append(_G("OPT", w, t.start, t.end))
            return i + 1
        return None

    # -- bars: norms, absolute values, conditional bars, the KL separator
    def bars(self, g: list[_G]) -> list[_G]:
        out: list[_G] = []
        stack: list[list] = [["top", 0, 0]]  # kind, open norms, open abs
        prev: _G | None = None
        i = 0
        while i < len(g):
            t = g[i]
            typ = t.type
            after = prev is not None and prev.type in _OPERAND_END
            if typ in ("LPAR", "LBRACE", "SETOPEN", "LANGLE", "MATBEGIN", "IDX_OPEN", "LOPT"):
                kind = "kl" if prev is not None and prev.type == "DIVERGENCE" else \
                    "call" if typ == "LPAR" and prev is not None and prev.type in ("NAME", "RAW") else typ
                stack.append([kind, 0, 0])
            elif typ in ("RPAR", "RBRACE", "SETCLOSE", "RANGLE", "MATEND", "IDX_CLOSE", "ROPT") and len(stack) > 1:
                top = stack.pop()
                if top[1] or top[2]:
                    raise self.fail("a bar | or ‖ opened inside these brackets is never closed", t)
            elif typ == "BAR":
                top = stack[-1]
                side = t.info.get("side", "")
                sized = t.info.get("sized")
                if sized and not side and i + 1 < len(g) and g[i + 1].type == "BAR" and g[i + 1].info.get("sized"):
                    t = _G("NBAR", "||", t.start, g[i + 1].end, {"side": ""})  # \Big| \Big| : a norm bar
                    i += 1
                    typ = "NBAR"
                elif side == "left" or (not side and not after):
                    top[2] += 1
                    t = _G("ABS_OPEN", "|", t.start, t.end)
                elif side == "right" or (top[2] > 0 and after):
                    if top[2] == 0:
                        raise self.fail("this closing bar | has no opening bar", t)
                    top[2] -= 1
                    t = _G("ABS_CLOSE", "|", t.start, t.end)
                elif top[0] in ("call", "kl"):
                    t = _G("SEP", "|", t.start, t.end)  # q(z | x): a conditional bar
                else:
                    top[2] += 1
                    t = _G("ABS_OPEN", "|", t.start, t.end)  # p(x) |det J|
            if typ == "NBAR":
                top = stack[-1]
                side = t.info.get("side", "")
                if side == "right" or (side != "left" and top[1] > 0 and after):
                    if top[1] == 0:
                        raise self.fail("this closing ‖ has no opening ‖", t)
                    top[1] -= 1
                    t = _G("NORM_CLOSE", "||", t.start, t.end)
                    out.append(t)
                    prev = t
                    i += 1
                    i = self.norm_subscript(g, i)
                    continue
                if side != "left" and top[0] == "kl" and after:
                    t = _G("KLSEP", "||", t.start, t.end)
                else:
                    top[1] += 1
                    t = _G("NORM_OPEN", "||", t.start, t.end)
            out.append(t)
            prev = t
            i += 1
        top = stack[-1]
        if top[1] or top[2]:
            raise self.fail("a bar | or ‖ is never closed", g[-1] if g else 0)
        return out

    def norm_subscript(self, g: list[_G], i: int) -> int:
        """Skip the `_2` (or `_{2}`, `_F`) after a norm; other norms are refused."""
        if i < len(g) and g[i].type == "UNDERSCORE":
            j = i + 1
            inner = g[j:j + 1]
            if j < len(g) and g[j].type == "LBRACE":
                k = j
                while k < len(g) and g[k].type != "RBRACE":
                    k += 1
                inner = g[j + 1:k]
                j = k
            if len(inner) == 1 and ((inner[0].type == "NUMBER" and inner[0].value == "2") or
                                    (inner[0].type == "NAME" and inner[0].value == "F")):
                return j + 1
            raise self.fail("only the Euclidean norm ‖x‖ = ‖x‖_2 is supported", g[i])
        return i

    # -- implicit arguments made explicit
    def arguments(self, g: list[_G]) -> list[_G]:
        i = len(g) - 1
        while i >= 0:
            t = g[i]
            typ = t.type
            if typ in ("FUNC", "DERIV", "NABLA", "BIGOP", "OPT", "LIM", "EXPECT", "EXPECT_RAW", "INT"):
                j = self.skip_scripts(g, i + 1, typ)
                if typ == "FUNC" and j < len(g) and g[j].type == "LPAR":
                    i -= 1
                    continue
                if typ in ("EXPECT", "EXPECT_RAW") and j < len(g) and g[j].type == "LPAR" and \
                        g[j].info.get("bracket"):
                    i -= 1  # \mathbb{E}_{z \sim q}[...]: the bracket is the body
                    continue
                if typ == "INT":
                    k = self.integral_end(g, j)
                elif typ in ("FUNC", "DERIV", "NABLA"):
                    k = self.run_end(g, j)
                else:
                    k = self.product_end(g, j)
                if k == j and typ == "EXPECT_RAW":  # `\sum_z q(z)` alone (mapped to E[z ~ q]): E[1]
                    a = g[i].end
                    g = g[:j] + [_G("LPAR", "(", a, a, {"synthetic": True}), _G("NUMBER", "1", a, a),
                                 _G("RPAR", ")", a, a, {"synthetic": True})] + g[j:]
                    i -= 1
                    continue
                if k == j:
                    what = {"FUNC": f"\\{t.value}", "DERIV": "d/dx", "NABLA": "\\nabla", "BIGOP": f"\\{t.value}",
                            "OPT": str(t.value), "LIM": "\\lim", "EXPECT": "the expectation",
                            "EXPECT_RAW": "the expectation", "INT": "\\int"}[typ]
                    raise self.fail(f"{what} needs something to apply to", t)
                a = g[j].start
                b = g[k - 1].end
                g = g[:j] + [_G("LPAR", "(", a, a, {"synthetic": True})] + g[j:k] + \
                    [_G("RPAR", ")", b, b, {"synthetic": True})] + g[k:]
            i -= 1
        return g

    def group_end(self, g: list[_G], j: int) -> int:
        """Index after the bracket group opening at g[j]."""
        close = _OPEN_G[g[j].type]
        depth = 0
        for k in range(j, len(g)):
            if g[k].type == g[j].type:
                depth += 1
            elif g[k].type == close:
                depth -= 1
                if depth == 0:
                    return k + 1
        raise self.fail("this bracket is never closed", g[j])

    def skip_script(self, g: list[_G], j: int) -> int:
        if j >= len(g):
            return j
        if g[j].type == "MINUS":
            return self.skip_script(g, j + 1)
        if g[j].type == "LBRACE":
            return self.group_end(g, j)
        return j + 1

    def skip_scripts(self, g: list[_G], j: int, typ: str) -> int:
        if typ == "FUNC":
            if j < len(g) and g[j].type == "CARET":
                return self.skip_script(g, j + 1)
            return j
        while j < len(g) and g[j].type in ("UNDERSCORE", "CARET"):
            j = self.skip_script(g, j + 1)
        return j

    def unit_end(self, g: list[_G], j: int) -> int:
        """Index after one factor starting at g[j] (with its exponents), or j if none starts there."""
        if j >= len(g):
            return j
        t = g[j]
        typ = t.type
        if typ in ("NAME", "RAW"):
            k = j + 1
            if k < len(g) and g[k].type == "PRIMES":
                k += 1
            if k < len(g) and g[k].type in ("LPAR", "IDX_OPEN"):
                k = self.group_end(g, k)
        elif typ == "NUMBER":
            k = j + 1
        elif typ in _OPEN_G:
            k = self.group_end(g, j)
        elif typ == "FRAC":
            k = self.group_end(g, j + 1) if j + 1 < len(g) and g[j + 1].type == "LBRACE" else j + 1
            k = self.group_end(g, k) if k < len(g) and g[k].type == "LBRACE" else k
        elif typ == "SQRT":
            k = j + 1
            if k < len(g) and g[k].type == "LOPT":
                k = self.group_end(g, k)
            if k < len(g) and g[k].type == "LBRACE":
                k = self.group_end(g, k)
        elif typ in ("FUNC", "MAXMIN", "DIVERGENCE", "BIGOP", "OPT", "LIM", "NABLA", "DERIV", "EXPECT", "EXPECT_RAW",
                     "INT"):
            k = self.skip_scripts(g, j + 1, typ)
            if k < len(g) and g[k].type == "LPAR":
                k = self.group_end(g, k)
            if typ == "INT" and k < len(g) and g[k].type == "DIFF":
                k += 1
        else:
            return j
        while k < len(g) and g[k].type in ("CARET", "TRANSPOSE"):
            k = self.skip_script(g, k + 1) if g[k].type == "CARET" else k + 1
        return k

    def run_end(self, g: list[_G], j: int) -> int:
        """`\\log x y`: the juxtaposed factors after a function (a later function starts a new factor)."""
        k = self.unit_end(g, j)
        if k == j:
            return j
        while k < len(g) and g[k].type not in _PREFIX_OPS:
            k2 = self.unit_end(g, k)
            if k2 == k:
                break
            k = k2
        return k

    def product_end(self, g: list[_G], j: int) -> int:
        """The body of \\sum, \\max_x, \\lim, \\mathbb{E}_q: factors joined by products, up to + or -."""
        k = self.unit_end(g, j)
        if k == j:
            return j
        while k < len(g):
            if g[k].type in ("MUL", "DIV", "ODOT"):
                m = k + 1
                while m < len(g) and g[m].type in ("MINUS", "PLUS"):
                    m += 1
                m2 = self.unit_end(g, m)
                if m2 == m:
                    break
                k = m2
                continue
            k2 = self.unit_end(g, k)
            if k2 == k:
                break
            k = k2
        return k

    def integral_end(self, g: list[_G], j: int) -> int:
        """The body of \\int: everything up to its differential (inner integrals keep theirs)."""
        k = j
        while k < len(g):
            typ = g[k].type
            if typ == "DIFF":
                return k
            if typ in _OPEN_G:
                k = self.group_end(g, k)
                continue
            if typ == "INT":
                k = self.unit_end(g, k)
                continue
            k += 1
        raise self.fail("this integral has no differential: end it with dx (or d\\theta, ...)", g[j - 1])

    def collect_bound(self, g: list[_G]) -> None:
        for i, t in enumerate(g):
            nxt = g[i + 1] if i + 1 < len(g) else None
            if t.type == "DIFF":
                self.bound.add(str(t.value))
            elif t.type == "NAME" and nxt is not None and nxt.type in ("SIM", "REL", "ARROW"):
                self.bound.add(str(t.value))
            elif t.type == "NAME" and i >= 2 and g[i - 1].type == "UNDERSCORE" and g[i - 2].type in ("BIGOP", "INT"):
                self.bound.add(str(t.value))
            elif t.type == "NAME" and i >= 3 and g[i - 1].type == "LBRACE" and g[i - 2].type == "UNDERSCORE" and \
                    g[i - 3].type in ("BIGOP", "INT"):
                self.bound.add(str(t.value))  # \sum_{i}: reported as a sum without range, not as `i` undeclared
            elif t.type == "NAME" and i >= 3 and g[i - 1].type == "LPAR" and g[i - 2].type == "NAME" and \
                    g[i - 3].type == "LBRACE" and i >= 5 and g[i - 4].type == "UNDERSCORE" and g[i - 5].type == "EXPECT":
                self.bound.add(str(t.value))  # \mathbb{E}_{q(z|x)}: z


def _Names_probe(tr: _Translator, toks, i, last: _Tok) -> bool:
    """Whether the last letter of a split word (with the scripts after it) names something known."""
    probe: list[_G] = []
    tmp = toks[:i] + [last] + toks[i + 1:]
    try:
        tr.resolve_name_tail(tmp, i, probe, set(), False)
    except ProofcheckError:
        return False
    return bool(probe) and probe[0].type == "NAME" and (tr.names.known(str(probe[0].value)) or
                                                         probe[0].info.get("euler", False))


# ---------------------------------------------------------------------------------------------
# The grammar and the Transformer: grammar tokens -> ASCII text, each character with its offset


class _Feed(Lexer):
    """Lark 'lexer' that hands over the tokens made by _Translator."""

    def __init__(self, lexer_conf):  # noqa: D107 - lark hook
        pass

    def lex(self, data, parser_state=None):  # noqa: D102 - lark hook (called with the input itself)
        yield from getattr(data, "text", data)


@lru_cache(maxsize=1)
def grammar() -> Lark:
    """The LaTeX parser (grammar/latex.lark), built once per process."""
    return Lark.open("grammar/latex.lark", rel_to=__file__, parser="lalr", lexer=_Feed, start="start",
                     maybe_placeholders=False)


ATOM, POW, NEG, PROD, SUM = 4, 3, 2, 1, 0


class Piece:
    """ASCII text as chunks (text, LaTeX offset), with its precedence and what it is."""

    __slots__ = ("parts", "level", "info")

    def __init__(self, parts, level=ATOM, info=None):
        self.parts: list[tuple[str, int]] = parts
        self.level = level
        self.info = info or {}

    @property
    def text(self) -> str:
        return "".join(s for s, _ in self.parts)

    @property
    def start(self) -> int:
        return self.parts[0][1] if self.parts else 0


def _p(text: str, off: int, level=ATOM, info=None) -> Piece:
    return Piece([(text, off)], level, info)


def _cat(*items, level=ATOM, info=None) -> Piece:
    parts: list[tuple[str, int]] = []
    for it in items:
        if isinstance(it, Piece):
            parts.extend(it.parts)
        else:
            text, off = it
            parts.append((text, off))
    return Piece(parts, level, info)


def _inner(p: Piece) -> Piece:
    """The content of a parenthesized piece (for arguments that get their own parentheses)."""
    while "inner" in p.info:
        p = p.info["inner"]
    return p


def _wrap(p: Piece, off: int | None = None) -> Piece:
    o = p.start if off is None else off
    return _cat(("(", o), p, (")", p.parts[-1][1] if p.parts else o), level=ATOM)


_SIMPLE_ASCII = re.compile(r"[A-Za-z][A-Za-z0-9_]*|\d+(\.\d+)?")


@v_args(inline=True)
class _Emit(Transformer):
    """Tree of grammar/latex.lark -> Piece."""

    def __init__(self, tr: _Translator, toks: list[_G]):
        super().__init__()
        self.tr, self.toks = tr, toks

    def tok(self, t: Token) -> _G:
        return self.toks[t.start_pos]

    def fail(self, msg: str, t) -> ParseError:
        off = self.tok(t).start if isinstance(t, Token) else t.start if hasattr(t, "start") else int(t)
        return _err(msg, self.tr.src, off)

    # -- atoms
    def start(self, e):
        return e

    def number(self, t):
        return _p(str(t.value) if isinstance(t, Token) else t.text, self.tok(t).start)

    def name(self, t):
        g = self.tok(t)
        name = str(g.value)
        if g.info.get("euler"):
            return _p("exp(1)", g.start, info={"euler": True})
        if g.info.get("placeholder"):
            return _p("·", g.start, info={"placeholder": True})
        if not g.info.get("builtin") and not self.tr.names.known(name) and name not in self.tr.bound:
            raise self.undeclared(g)
        return _p(name, g.start, info={"name": name})

    def undeclared(self, g: _G) -> ParseError:
        name = str(g.value)
        latex = g.info.get("latex", name)
        read = f" (read as `{name}`)" if latex != name else ""
        return self.fail(f"`{latex}`{read} is not declared{self.tr.where}; declare `{name}` or map "
                         f"`{latex}` to a declared name under `latex_names:`", g)

    def raw(self, t):
        g = self.tok(t)
        v = str(g.value)
        if _SIMPLE_ASCII.fullmatch(v) and not v[0].isdigit():
            return _p(v, g.start, info={"name": v})
        if _SIMPLE_ASCII.fullmatch(v):
            return _p(v, g.start)
        if _balanced_call(v):
            return _p(v, g.start, info={"call": v[:v.index("(")]})
        return _wrap(_p(v, g.start))

    def group(self, lb, e, rb):
        return e

    def brace(self, e):
        return e

    def paren(self, lp, e, rp):
        if self.tok(lp).info.get("synthetic") and "inner" in e.info:
            return e
        info = dict(e.info)
        info["inner"] = e
        return _cat((("(", self.tok(lp).start)), e, (")", self.tok(rp).start), level=ATOM, info=info)

    def norm(self, a, e, b):
        return _cat(("||", self.tok(a).start), e, ("||", self.tok(b).start))

    def abs(self, a, e, b):
        return _cat(("|", self.tok(a).start), e, ("|", self.tok(b).start))

    def inner(self, a, u, sep, v, b):
        return _cat(("⟨", self.tok(a).start), u, (", ", self.tok(sep).start), v, ("⟩", self.tok(b).start))

    def set_literal(self, a, args, b):
        return _cat(("{", self.tok(a).start), self.join(args), ("}", self.tok(b).start))

    def args(self, *items):
        return list(items)

    def join(self, items, sep=", ") -> Piece:
        parts: list = []
        for x in items:
            if isinstance(x, Token):
                parts.append((sep, self.tok(x).start))
            else:
                parts.append(x)
        return _cat(*parts)

    def values(self, items) -> list[Piece]:
        return [x for x in items if isinstance(x, Piece)]

    def frac(self, f, a, b):
        a2 = _wrap(a) if a.level in (SUM,) else a
        b2 = b if b.level >= POW else _wrap(b)
        return _cat(a2, ("/", b.start), b2, level=PROD)

    def sqrt(self, s, g):
        return _cat(("sqrt(", self.tok(s).start), g, (")", g.parts[-1][1]))

    def root(self, s, lo, n, ro, g):
        base = g if g.level == ATOM else _wrap(g)
        return _cat(base, ("^(1/", self.tok(s).start), n if n.level >= POW else _wrap(n), (")", self.tok(ro).start),
                    level=POW)

    def matrix(self, mb, rows, me):
        env = str(self.tok(mb).value)
        rows = [r for r in rows.children if not isinstance(r, Token)] if hasattr(rows, "children") else rows
        cells = [[c for c in r if isinstance(c, Piece)] for r in rows]
        width = len(cells[0])
        if any(len(r) != width for r in cells):
            raise self.fail("the rows of this matrix have different lengths", mb)
        start = self.tok(mb).start
        if width == 1:
            body = self.join_plain([r[0] for r in cells], start)
            m = _cat(("[", start), body, ("]", self.tok(me).start))
        else:
            row_pieces = [_cat(("[", r[0].start), self.join_plain(r, r[0].start), ("]", r[-1].start)) for r in cells]
            m = _cat(("[", start), self.join_plain(row_pieces, start), ("]", self.tok(me).start))
        if MATRIX_ENVS.get(env) == "det":
            return _cat(("det(", start), m, (")", self.tok(me).start))
        if MATRIX_ENVS.get(env) == "norm":
            return _cat(("||", start), m, ("||", self.tok(me).start))
        return m

    def join_plain(self, pieces: list[Piece], off: int) -> Piece:
        parts: list = []
        for k, p in enumerate(pieces):
            if k:
                parts.append((", ", p.start))
            parts.append(p)
        return _cat(*parts)

    def mrows(self, *rows):
        return [r for r in rows if not isinstance(r, Token)]

    def mrow(self, *cells):
        return [c for c in cells if isinstance(c, Piece)]

    # -- calls and functions
    def call(self, name_t, lp, args, rp):
        g = self.tok(name_t)
        callee = str(g.value)
        if g.type == "NAME" and not g.info.get("builtin") and not self.tr.names.known(callee) and \
                callee not in self.tr.bound:
            raise self.undeclared(g)
        if g.type == "RAW" and not _SIMPLE_ASCII.fullmatch(callee):
            return _cat(self.raw(name_t), (" * ", self.tok(lp).start),
                        _cat(("(", self.tok(lp).start), self.join(args), (")", self.tok(rp).start)), level=PROD)
        seps = [str(self.tok(x).value) for x in args if isinstance(x, Token)]
        if g.type == "NAME" and not seps and callee in self.tr.names.distributions and len(args) == 1:
            # `q(z)` for `q := Normal(...)`: the density of q at z, never the product q z
            val = self.values(args)[0]
            return _cat(("pdf(" + callee + ", ", g.start), val, (")", self.tok(rp).start),
                        info={"call": callee, "args": [val], "cond": False})
        if g.type == "NAME" and seps and set(seps) <= {",", ";"} and callee in self.tr.names.defines and \
                self.tr.names.defines[callee] is None and callee not in self.tr.names.distributions:
            # `\mu_Q(z_t, x; s, t)`: a value the key defines, written with the names it depends on
            return _p(callee, g.start, info={"name": callee, "dependencies": True})
        vals = self.values(args)
        if callee == "Normal" and ";" in seps:
            if seps != [";", ","] or len(vals) != 3:
                raise self.fail("write a Gaussian density as \\mathcal{N}(z; \\mu, \\sigma^2)", name_t)
            dist = _cat(("Normal(", g.start), vals[1], (", ", vals[2].start), vals[2], (")", self.tok(rp).start))
            return _cat(("pdf(", g.start), dist, (", ", vals[0].start), vals[0], (")", self.tok(rp).start))
        body = self.join_plain(vals, g.start)
        return _cat((callee + "(", g.start), body, (")", self.tok(rp).start),
                    info={"call": callee, "args": vals, "cond": "|" in seps or ";" in seps})

    def prime_call(self, name_t, primes, lp, args, rp):
        g = self.tok(name_t)
        callee = str(g.value)
        if not self.tr.names.known(callee):
            raise self.undeclared(g)
        return _cat((callee + str(primes.value if isinstance(primes, Token) else primes) + "(", g.start),
                    self.join_plain(self.values(args), g.start), (")", self.tok(rp).start))

    def index(self, name_t, a, args, b):
        g = self.tok(name_t)
        if not self.tr.names.known(str(g.value)):
            raise self.undeclared(g)
        return _cat((str(g.value) + "[", g.start), self.join_plain(self.values(args), g.start), ("]", self.tok(b).start))

    def func(self, f, lp, args, rp):
        g = self.tok(f)
        vals = self.values(args)
        return _cat((str(g.value) + "(", g.start), self.join_plain(vals, g.start), (")", self.tok(rp).start))

    def func_pow(self, f, caret, script, lp, args, rp):
        g = self.tok(f)
        if script.text in ("-1", "(-1)"):
            raise self.fail(f"\\{g.value}^{{-1}}: write the inverse function by name (e.g. \\arcsin)", f)
        call = self.func(f, lp, args, rp)
        return self.pow(call, caret, script)

    def maxmin(self, m, lp, args, rp):
        g = self.tok(m)
        vals = self.values(args)
        if len(vals) < 2:
            raise self.fail(f"\\{g.value}(...) takes two or more arguments; \\{g.value}_x f is an optimum", m)
        return _cat((str(g.value) + "(", g.start), self.join_plain(vals, g.start), (")", self.tok(rp).start))

    def optimum(self, o, us, var, lp, body, rp):
        g = self.tok(o)
        name = self.bound_name(var, f"{g.value} needs a variable as its subscript")
        return _cat((str(g.value) + "(", g.start), _inner(body), (", ", var.start), name, (")", self.tok(rp).start))

    def bound_name(self, p: Piece, msg: str) -> Piece:
        if "name" not in p.info:
            raise self.fail(msg, p)
        return p

    def range(self, lb, name_t, rel, lo, rb):
        if str(self.tok(rel).value) != "=":
            raise self.fail("a range is written i=1", rel)
        return (self.name(name_t), lo)

    def bigop(self, op, us, rng, caret, hi, lp, body, rp):
        return self.big(op, rng, hi, body, rp)

    def bigop_rev(self, op, caret, hi, us, rng, lp, body, rp):
        return self.big(op, rng, hi, body, rp)

    def big(self, op, rng, hi, body, rp):
        g = self.tok(op)
        var, lo = rng
        return _cat((f"{g.value}(", g.start), _inner(body), (", ", var.start), var, (", ", lo.start), lo,
                    (", ", hi.start), hi, (")", self.tok(rp).start))

    def bigop_open(self, op, us, sub, lp, body, rp):
        raise self.fail(f"this \\{self.tok(op).value} has no range: write \\{self.tok(op).value}_{{i=1}}^{{N}}", op)

    def bigop_bare(self, op, lp, body, rp):
        raise self.fail(f"this \\{self.tok(op).value} has no range: write \\{self.tok(op).value}_{{i=1}}^{{N}}", op)

    def integral(self, i, lp, body, rp, d):
        return self.make_integral(i, body, d, None, None)

    def integral_sub(self, i, us, sub, lp, body, rp, d):
        var = str(self.tok(d).value)
        if sub.info.get("name") == var or sub.text == var:
            return self.make_integral(i, body, d, None, None)
        if sub.text == "(-oo)" or sub.text == "-oo":
            raise self.fail("this integral has a lower limit but no upper one", i)
        raise self.fail("a subscript on \\int is the variable (\\int_x f dx) or a lower limit with an "
                        "upper one (\\int_a^b f dx)", i)

    def integral_limits(self, i, us, lo, caret, hi, lp, body, rp, d):
        return self.make_integral(i, body, d, lo, hi)

    def integral_limits_rev(self, i, caret, hi, us, lo, lp, body, rp, d):
        return self.make_integral(i, body, d, lo, hi)

    def make_integral(self, i, body, d, lo, hi):
        g, dg = self.tok(i), self.tok(d)
        var = _p(str(dg.value), dg.start)
        if lo is None or (lo.text.replace(" ", "") in ("-oo", "(-oo)") and hi.text.replace(" ", "") in ("oo", "+oo")):
            return _cat(("integral(", g.start), _inner(body), (", ", dg.start), var, (")", dg.end))
        return _cat(("integral(", g.start), _inner(body), (", ", dg.start), var, (", ", lo.start), lo, (", ", hi.start), hi,
                    (")", dg.end))

    def limit(self, lim, us, lb, name_t, arrow, to, rb, lp, body, rp):
        g = self.tok(lim)
        var = self.name(name_t)
        return _cat(("limit(", g.start), _inner(body), (", ", var.start), var, (", ", to.start), to,
                    (")", self.tok(rp).start))

    def derivative(self, d, lp, body, rp):
        g = self.tok(d)
        var, order = g.value
        if not self.tr.names.known(var) and var not in self.tr.bound:
            raise self.undeclared(_G("NAME", var, g.start, g.end, {"latex": self.tr.latex(g.start, g.end)}))
        tail = f", {order})" if order > 1 else ")"
        return _cat(("diff(", g.start), _inner(body), (f", {var}", g.start), (tail, self.tok(rp).start))

    def nabla(self, n, us, var, lp, body, rp):
        g = self.tok(n)
        self.bound_name(var, "\\nabla needs a name as its subscript: \\nabla_w f")
        return _cat(("grad(", g.start), _inner(body), (", ", var.start), var, (")", self.tok(rp).start))

    # -- probability
    def distribution(self, p: Piece) -> Piece:
        """`q(z|x)` -> `q` when q stands for a distribution (a declared density or a definition)."""
        callee = p.info.get("call")
        if callee and self.tr.names.is_distribution_name(callee):
            return _p(callee, p.start, info={"name": callee})
        return p

    def binding(self, name_t, sim, dist):
        return _cat(self.name(name_t), (" ~ ", self.tok(sim).start), self.distribution(dist))

    def bindings(self, *items):
        return [x for x in items if isinstance(x, Piece)]

    def expectation(self, e, us, lb, bindings, rb, lp, body, rp):
        g = self.tok(e)
        return _cat((f"{g.value}[", g.start), self.join_plain(bindings, g.start), ("](", self.tok(rb).start),
                    _inner(body), (")", self.tok(rp).start))

    def expectation_under(self, e, us, sub, lp, body, rp):
        g = self.tok(e)
        callee, args = sub.info.get("call"), sub.info.get("args") or []
        name = sub.info.get("name")
        if name and not callee:
            # \mathbb{E}_q[... q(z) ...]: the variable is what q is applied to in the body
            found = set(re.findall(rf"(?<![A-Za-z0-9_]){re.escape(name)}\(([A-Za-z][A-Za-z0-9_]*)[,)]", body.text))
            if len(found) == 1:
                var = found.pop()
                head = _cat((f"{g.value}[{var} ~ {name}](", g.start))
                return _cat(head, _inner(body), (")", self.tok(rp).start))
        if callee and self.tr.names.is_distribution_name(callee) and args and "name" in args[0].info:
            head = _cat((f"{g.value}[", g.start), args[0], (" ~ ", sub.start), (callee, sub.start),
                        ("](", self.tok(lp).start))
            return _cat(head, _inner(body), (")", self.tok(rp).start))
        raise self.fail(f"name the random variable: \\mathbb{{{g.value}}}_{{z \\sim q}}[...] (or map "
                        f"`{self.tr.latex(g.start, sub.parts[-1][1] + 1)}` under latex_names)", e)

    def expectation_bare(self, e, lp, body, rp):
        raise self.fail("an expectation needs its distribution: \\mathbb{E}_{z \\sim q}[...]", e)

    def expectation_raw(self, e, lp, body, rp):
        g = self.tok(e)
        return _cat((str(g.value).strip(), g.start), ("(", self.tok(lp).start), _inner(body), (")", self.tok(rp).start))

    def divergence(self, d, lp, p, sep, q, rp):
        g = self.tok(d)
        return _cat((f"{g.value}(", g.start), self.distribution(p), (" || ", self.tok(sep).start), self.distribution(q),
                    (")", self.tok(rp).start))

    # -- arithmetic
    def add(self, a, op, b):
        return _cat(a, (" + ", self.tok(op).start), _wrap(b) if b.level == SUM else b, level=SUM)

    def sub(self, a, op, b):
        return _cat(a, (" - ", self.tok(op).start), _wrap(b) if b.level == SUM else b, level=SUM)

    def plus_minus(self, *args):
        raise self.fail("± stands for two values: write the two cases as separate formulas",
                        next(x for x in args if isinstance(x, Token)))

    plus_minus1 = plus_minus

    def mul(self, a, op, b):
        return _cat(_wrap(a) if a.level == SUM else a, (" * ", self.tok(op).start),
                    _wrap(b) if b.level == SUM else b, level=PROD)

    def div(self, a, op, b):
        return _cat(_wrap(a) if a.level == SUM else a, ("/", self.tok(op).start),
                    b if b.level >= POW else _wrap(b), level=PROD)

    def odot(self, a, op, b):
        return _cat(_wrap(a) if a.level == SUM else a, (" .* ", self.tok(op).start),
                    b if b.level >= POW else _wrap(b), level=PROD)

    def jux(self, a, b):
        a2 = _wrap(a) if a.level == SUM else a
        b2 = _wrap(b) if b.level in (SUM, NEG) else b
        at, bt = a2.text, b2.text
        tail = re.search(r"[A-Za-z0-9_.']+$", at)
        explicit = tail is not None and not tail.group()[0].isdigit() and tail.group()[0] != "." and bt[:1] in "(["
        return _cat(a2, (" * " if explicit else " ", b2.start), b2, level=PROD)

    def neg(self, op, a):
        return _cat(("-", self.tok(op).start), _wrap(a) if a.level == SUM else a, level=NEG)

    def pos(self, op, a):
        return a

    def pow(self, base, caret, exp):
        if base.info.get("euler"):
            return _cat(("exp(", base.start), exp, (")", exp.parts[-1][1]))
        b = base if base.level == ATOM else _wrap(base)
        simple = exp.level == ATOM or (exp.level == NEG and exp.text[1:2].isalnum() and
                                       _SIMPLE_ASCII.fullmatch(exp.text[1:]))
        e = exp if simple else _wrap(exp)
        return _cat(b, ("^", self.tok(caret).start), e, level=POW)

    def transpose(self, base, t):
        b = base if base.level == ATOM else _wrap(base)
        return _cat(b, ("^T", self.tok(t).start), level=POW)


def _balanced_call(v: str) -> bool:
    m = re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(\[.*\])?\((.*)\)", v, re.S)
    if not m:
        return False
    depth = 0
    for ch in v[v.index("("):]:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and ch == ")" and v.rstrip()[-1:] != ")":
            return False
    return depth == 0


_FRIENDLY = {
    "RPAR": "`)`", "LPAR": "`(`", "RBRACE": "`}`", "LBRACE": "`{`", "NAME": "a name", "NUMBER": "a number",
    "PLUS": "`+`", "MINUS": "`-`", "MUL": "`\\cdot`", "DIV": "`/`", "CARET": "`^`", "UNDERSCORE": "`_`",
    "SEP": "`,`", "DIFF": "a differential (dx)", "KLSEP": "`\\|` between the two distributions",
    "NORM_CLOSE": "a closing `\\|`", "ABS_CLOSE": "a closing `|`", "ARROW": "`\\to`", "REL": "`=`",
    "SIM": "`\\sim`", "MATEND": "\\end{...}", "RANGLE": "`\\rangle`", "IDX_CLOSE": "the end of the subscript",
}


def _parse(tr: _Translator, g: list[_G], end: int) -> Piece:
    """Grammar tokens -> Piece (with errors at their LaTeX position)."""
    if not g:
        raise _err("an empty formula", tr.src, end)
    tokens = [Token(t.type, t.value if isinstance(t.value, str) else str(t.value), start_pos=i, line=1, column=i + 1,
                    end_pos=i + 1)
              for i, t in enumerate(g)]
    try:
        tree = grammar().parse(tokens)
    except UnexpectedInput as exc:
        tok = getattr(exc, "token", None)
        if tok is None or tok.type == "$END":
            last = g[-1]
            if last.type == "DIVERGENCE":
                raise _err(f"{last.value} needs its two distributions: D_{{KL}}(P \\| Q)", tr.src, last.start) from None
            raise _err("the formula ends too early", tr.src, end) from None
        bad = g[tok.start_pos]
        text = tr.latex(bad.start, bad.end) or bad.type
        expected = sorted({_FRIENDLY[e] for e in (getattr(exc, "expected", None) or []) if e in _FRIENDLY})
        msg = f"unexpected `{text}`"
        if bad.type == "PRIMES":
            msg = "a prime (f') is only understood on a declared function applied to something: f'(x)"
        elif expected and len(expected) <= 4:
            msg += "; expected " + " or ".join(expected)
        raise _err(msg, tr.src, bad.start) from None
    try:
        return _Emit(tr, g).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, ProofcheckError):
            raise exc.orig_exc from None
        raise


def _translate_tokens(toks: list[_Tok], names: Names, src: _Source, where: str, end: int) -> Piece:
    tr = _Translator(names, src, where)
    g = tr.grammar_tokens(toks)
    return _parse(tr, g, end)


# ---------------------------------------------------------------------------------------------
# 5. Formulas -> chains -> Texts


@dataclass
class _TSeg:
    """A translated expression and the relation before it."""

    op: str | None
    op_off: int
    piece: Piece | None
    error: ProofcheckError | None
    start: int
    end: int
    rule: tuple[str, int] | None = None
    alt: Piece | None = None  # the other reading of an ambiguous expression (`a/2b`, `\frac{d}{dx} f + g`)


@dataclass
class _Line:
    op: str | None
    op_off: int
    body: list  # [seg] for an expression line, [lhs, rhs] (rhs.op is the relation) for a statement line
    rule: tuple[str, int] | None = None
    error: ProofcheckError | None = None


@dataclass
class Chain:
    """One chain of relations found in LaTeX: its first line and its steps, as Texts."""

    steps: list[Text]
    statement: bool
    span: Span
    part: str | None = None  # the key part named by the last `part: NAME` marker before it
    claim: Text | None = None  # the chain's own claim: its first line related to its last
    inline: bool = False  # every formula of it is inline math ($...$ in a sentence)
    section: str = ""  # the heading it is written under ("2.c"; "" before any heading)


@dataclass
class FormulaNote:
    """What became of one formula of a sheet: nothing is dropped without a record (docs/grading.md 3a)."""

    line: int
    column: int
    kind: str  # "read" (a line of a chain), "condition", "expression" (no relation), "not read"
    reason: str = ""  # for "not read": why; for "condition": what it is
    section: str = ""
    inline: bool = False
    relation: bool = False  # the formula contains a relation (=, <, \Rightarrow, ...)
    latex: str = ""


@dataclass
class Sheet:
    """A Markdown/LaTeX solution sheet as read: its chains and what could not be read."""

    path: str
    chains: list[Chain] = field(default_factory=list)
    errors: list[ProofcheckError] = field(default_factory=list)
    skipped: int = 0  # formulas that are not chains (conditions, `z \sim q`, `x \in \mathbb{R}`)
    lines: list[str] = field(default_factory=list)
    formulas: list[FormulaNote] = field(default_factory=list)  # every formula, in the order written


def _op_of(t: _Tok) -> str:
    if t.kind == "rel":
        return str(t.value)
    if t.kind == "impl":
        return str(t.value)
    if t.kind == "arrow":
        return "==>"
    return "≈"


def _translate_formula(f: _Formula, names: Names, src: _Source, where: str) -> list[_TSeg]:
    if f.error is not None:  # one segment for the whole formula, carrying the error
        first = f.segments[0]
        op = _op_of(first.rel) if first.rel is not None else None
        toks = [t for s in f.segments for t in s.toks]
        start = toks[0].start if toks else f.start
        end = max([t.end for t in toks] + [start])
        return [_TSeg(op, first.rel.start if first.rel is not None else start, None, f.error, start, end)]
    segs: list[_TSeg] = []
    for s in f.segments:
        op = _op_of(s.rel) if s.rel is not None else None
        op_off = s.rel.start if s.rel is not None else (s.toks[0].start if s.toks else f.start)
        start = s.toks[0].start if s.toks else (s.rel.end if s.rel is not None else f.start)
        end = s.toks[-1].end if s.toks else start
        rule = s.rule
        if s.rel is not None and s.rel.info.get("rule") and rule is None:
            rule = (s.rel.info["rule"], s.rel.start)
        piece, error = None, None
        try:
            if s.rel is not None and s.rel.kind == "approx":
                raise _err(f"{s.rel.value} is not a relation proofcheck can check: write = for an exact step "
                           "(or a limit, `by limit(x -> a)`)", src, s.rel.start)
            if not s.toks:
                what = src.text[s.rel.start:s.rel.end].strip() if s.rel is not None else "this"
                raise _err(f"nothing follows `{what}`", src, s.rel.end if s.rel is not None else start)
            piece = _translate_tokens(s.toks, names, src, where, end)
        except ProofcheckError as exc:
            error = exc
        alt = None
        other = _other_reading(s.toks, src) if piece is not None else None
        if other is not None:
            try:
                alt = _translate_tokens(other, names, src, where, end)
            except ProofcheckError:
                alt = None
            if alt is not None and alt.text == piece.text:
                alt = None
        segs.append(_TSeg(op, op_off, piece, error, start, end, rule, alt))
    return segs


_FACTOR_START = ("num", "word", "greek", "accent")


def _factor_end(toks: list[_Tok], j: int) -> int | None:
    """End index of one factor starting at toks[j] (a number, a name or a bracket, with its scripts), or None."""
    if j >= len(toks):
        return None
    t = toks[j]
    if t.at("char", "("):
        depth, k = 0, j
        while k < len(toks):
            if toks[k].at("char", "("):
                depth += 1
            elif toks[k].at("char", ")"):
                depth -= 1
                if depth == 0:
                    break
            k += 1
        if k >= len(toks):
            return None
        k += 1
    elif t.kind in _FACTOR_START:
        k = j + 1
    else:
        return None
    while k + 1 < len(toks) and toks[k].kind == "char" and toks[k].value in "^_":
        k += 1
        if toks[k].at("char", "{"):
            depth = 0
            while k < len(toks):
                depth += toks[k].at("char", "{") - toks[k].at("char", "}")
                if depth == 0:
                    break
                k += 1
        k += 1
    return min(k, len(toks))


def _paren(toks: list[_Tok], a: int, b: int) -> list[_Tok]:
    """toks with toks[a:b] in brackets."""
    return toks[:a] + [_Tok("char", "(", toks[a].start, toks[a].start, {"synthetic": True})] + toks[a:b] + \
        [_Tok("char", ")", toks[b - 1].end, toks[b - 1].end, {"synthetic": True})] + toks[b:]


def _other_reading(toks: list[_Tok], src: _Source) -> list[_Tok] | None:
    """The tokens of the reading people often mean where the documented precedence reads the notation
    otherwise, or None: `a/2\\sigma^2` as `a/(2\\sigma^2)` (documented: `(a/2)\\sigma^2`), and
    `\\frac{d}{dx} x^2 + x` as the derivative of the whole sum (documented: of `x^2` only)."""
    out, changed, i = list(toks), False, 0
    while i < len(out):
        t = out[i]
        if t.at("op", "/"):
            k = _factor_end(out, i + 1)
            count = 0
            end = i + 1
            while k is not None:
                count, end = count + 1, k
                k = _factor_end(out, k)
            if count >= 2:
                out, changed = _paren(out, i + 1, end), True
                i = end + 2
                continue
        elif t.at("cmd", "frac") and i + 1 < len(out) and out[i + 1].at("char", "{"):
            try:
                j1 = _group_end(out, i + 1, src)
                j2 = _group_end(out, j1 + 1, src) if j1 + 1 < len(out) and out[j1 + 1].at("char", "{") else None
            except ProofcheckError:
                return None
            num = _numerator_d(out[i + 2:j1]) if j2 is not None else None
            if num is not None and not num[1] and _deriv_var(out[j1 + 2:j2]) is not None:
                a, depth, b, signs = j2 + 1, 0, j2 + 1, False
                while b < len(out):
                    u = out[b]
                    if _is(u, _OPENERS):
                        depth += 1
                    elif _is(u, _CLOSERS):
                        if depth == 0:
                            break
                        depth -= 1
                    elif depth == 0 and u.kind == "op" and u.value in ("+", "-") and b > a:
                        signs = True
                    elif u.at("cmd", "frac") and b + 2 < len(out) and (out[b + 2].at("cmd", "partial") or
                                                                        out[b + 2].at("word", "d")):
                        signs = False  # `\\frac{d}{dx} f + \\frac{d}{dx} g`: a sum of derivatives, as written
                        break
                    b += 1
                if signs:
                    out, changed = _paren(out, a, b), True
                    i = b + 2
                    continue
        i += 1
    return out if changed else None


class _ChainBuilder:
    """Formulas -> chains: a formula starting with a relation continues the chain before it."""

    def __init__(self, src: _Source, min_lines: int = 2):
        self.src = src
        self.min_lines = min_lines  # a sheet's lone expressions are not chains; steps_latex may be one line
        self.chains: list[tuple[str, list[_Line], str | None, bool]] = []  # (kind, lines, part, inline)
        self.kind: str | None = None
        self.inline = False
        self.lines: list[_Line] = []
        self.part: str | None = None
        self.orphans: list[ProofcheckError] = []

    def flush(self) -> None:
        if self.kind is not None and len(self.lines) >= self.min_lines:
            self.chains.append((self.kind, self.lines, self.part, self.inline))
        elif self.lines and self.lines[0].error is not None:
            self.orphans.append(self.lines[0].error)  # a lone formula that could not be read
        self.kind, self.lines = None, []

    def add(self, segs: list[_TSeg], part: str | None, inline: bool = False) -> None:
        i = 0
        if segs[0].op is not None:
            self.inline = self.inline and inline
        if segs[0].op is None:
            self.flush()
            self.kind, self.part, self.inline = "expr", part, inline
            self.lines = [_Line(None, segs[0].op_off, [segs[0]], segs[0].rule, segs[0].error)]
            i = 1
        elif self.kind is None:
            s = segs[0]
            self.orphans.append(_err(f"this formula starts with `{s.op}` but there is no formula before it "
                                     "to continue", self.src, s.op_off))
            return
        while i < len(segs):
            s = segs[i]
            if s.op in ("==>", "<==>"):
                nxt = segs[i + 1] if i + 1 < len(segs) else None
                if nxt is None or nxt.op in ("==>", "<==>", "≈"):
                    err = s.error or _err(f"after `{self.src.text[s.op_off:s.op_off + 16].split()[0]}` comes a "
                                          "relation, such as a = b", self.src, s.op_off)
                    self.step(_Line(s.op, s.op_off, [s], s.rule, err))
                    i += 1
                    continue
                self.implication(s, nxt)
                i += 2
                continue
            if self.kind == "stmt":
                err = s.error or _err("after ⟹ comes one relation; start a new formula for the next step",
                                      self.src, s.op_off)
                self.step(_Line(s.op, s.op_off, [s], s.rule, err))
            else:
                self.step(_Line(s.op, s.op_off, [s], s.rule, s.error))
            i += 1

    def step(self, line: _Line) -> None:
        self.lines.append(line)

    def implication(self, lhs: _TSeg, rel: _TSeg) -> None:
        line = _Line(lhs.op, lhs.op_off, [lhs, rel], rel.rule, lhs.error or rel.error)
        if self.kind == "expr":
            if len(self.lines) < 2:
                first = self.lines[0]
                err = _err("⟹ joins two relations; the formula before it is not a relation", self.src, lhs.op_off)
                self.lines.append(_Line(lhs.op, lhs.op_off, [lhs, rel], rel.rule, first.error or err))
                self.kind = "stmt"
                return
            last = self.lines.pop()
            prev = self.lines[-1]
            start = _Line(None, prev.body[-1].start, [prev.body[-1], last.body[0]], None,
                          prev.body[-1].error or last.body[0].error)
            part = self.part
            if len(self.lines) < 2:  # only the start is left: it is now the left side of the statement
                self.lines = []
            self.flush()
            self.kind, self.part, self.lines = "stmt", part, [start]
        self.step(line)

    def finish(self) -> list[tuple[str, list[_Line], str | None, bool]]:
        self.flush()
        return self.chains


def _emit(chunks: list[tuple[str, int]], src: _Source, end: int, latex: str,
          error: ProofcheckError | None = None) -> LatexText:
    text_parts: list[str] = []
    cmap: list[tuple[int, int]] = []
    for s, off in chunks:
        p = src.pos(off)
        text_parts.append(s)
        cmap.extend([p] * len(s))
    cmap.append(src.pos(end))
    text = "".join(text_parts).replace("\n", " ")
    origin = cmap[0] if cmap else src.pos(end)
    return LatexText(text, src.path, (origin,), tuple(cmap), latex, error)


def _line_text(line: _Line, kind: str, src: _Source) -> LatexText:
    """One line of a chain as ASCII: `body`, `OP body`, `lhs REL rhs`, `==> lhs REL rhs`, with `by RULE`."""
    segs = line.body
    start = min(s.op_off for s in segs) if line.op else segs[0].start
    end = max(s.end for s in segs)
    latex = " ".join(src.text[start:end].split())
    chunks: list[tuple[str, int]] = []
    if line.op:
        chunks.append((line.op + " ", line.op_off))
    if line.error is not None or any(s.piece is None for s in segs):
        err = line.error or next(s.error for s in segs if s.error is not None)
        chunks.append((" ".join(src.text[segs[0].start:end].split()) or "?", segs[0].start))
        return _emit(chunks, src, end, latex, err)
    head = list(chunks)

    def body(alt: bool) -> list[tuple[str, int]]:
        out = list(head)
        pieces = [(sg.alt if alt and sg.alt is not None else sg.piece) for sg in segs]
        out.extend(pieces[0].parts)
        if len(segs) == 2:
            out.append((f" {segs[1].op} ", segs[1].op_off))
            out.extend(pieces[1].parts)
        if line.rule:
            rule, off = line.rule
            out.append((f" by {rule}", off))
        return out

    other = _emit(body(True), src, end, latex) if any(sg.alt is not None for sg in segs) else None
    text = _emit(body(False), src, end, latex)
    return replace(text, alternative=other) if other is not None else text


def _claim_of(kind: str, lines: list[_Line], src: _Source) -> LatexText | None:
    """A chain's own claim: first line OP last line (or first statement ==> last statement)."""
    if any(l.error is not None or any(s.piece is None for s in l.body) for l in lines):
        return None
    ops = [l.op for l in lines[1:]]
    first, last = lines[0], lines[-1]
    chunks: list[tuple[str, int]] = []
    if kind == "expr":
        from proofcheck.verify import compose
        op = compose(ops, False)
        if op is None:
            return None
        chunks.extend(first.body[0].piece.parts)
        chunks.append((f" {op} ", last.op_off))
        chunks.extend(last.body[0].piece.parts)
    else:
        op = "<==>" if all(o == "<==>" for o in ops) else "==>"
        for k, l in enumerate((first, last)):
            lhs, rhs = l.body
            if k:
                chunks.append((f" {op} ", l.op_off))
            chunks.extend(lhs.piece.parts)
            chunks.append((f" {rhs.op} ", rhs.op_off))
            chunks.extend(rhs.piece.parts)
    end = max(s.end for s in last.body)
    return _emit(chunks, src, end, "")


def _chains(formulas: list[tuple[_Formula, str | None, Names]], src: _Source, where: str,
            builder: _ChainBuilder | None = None, notes: list[FormulaNote] | None = None,
            section: str = "") -> tuple[list[Chain], list[ProofcheckError], int]:
    builder = builder or _ChainBuilder(src)
    skipped = 0
    for f, part, names in formulas:
        line, col = src.pos(f.segments[0].toks[0].start if f.segments[0].toks else f.start)
        relation = any(sg.rel is not None for sg in f.segments)
        latex = " ".join(src.text[f.start:max((t.end for sg in f.segments for t in sg.toks), default=f.start)]
                         .split())[:200]
        if f.dead:
            skipped += 1
            if notes is not None:
                notes.append(FormulaNote(line, col, "condition", "a condition or declaration, not a step", section,
                                         f.inline, relation, latex))
            continue
        segs = _translate_formula(f, names, src, where)
        orphan = segs[0].op is not None and builder.kind is None
        builder.add(segs, part, f.inline)
        if notes is not None:
            err = next((sg.error for sg in segs if sg.error is not None), None)
            if err is None and orphan:
                err = builder.orphans[-1] if builder.orphans else None
            if err is not None:
                sp = err.span
                notes.append(FormulaNote(sp.line if sp else line, sp.col if sp else col, "not read",
                                         " ".join(err.message.split()), section, f.inline, relation, latex))
            else:
                notes.append(FormulaNote(line, col, "read" if relation else "expression", "", section, f.inline,
                                         relation, latex))
    out = []
    for kind, lines, part, inline in builder.finish():
        texts = [_line_text(l, kind, src) for l in lines]
        out.append(Chain(texts, kind == "stmt", texts[0].span, part, _claim_of(kind, lines, src), inline, section))
    return out, builder.orphans, skipped


# ---------------------------------------------------------------------------------------------
# Public entry points


def translate(latex: str, names: Names | None = None, path: str = "<latex>") -> str:
    """One LaTeX expression -> ASCII expression text (raises ProofcheckError)."""
    src = _Source(latex, path)
    formulas = _block_formulas(src, 0, len(latex))
    if not formulas:
        raise _err("an empty formula", src, 0)
    f = formulas[0]
    if f.error is not None:
        raise f.error
    if len(formulas) > 1 or len(f.segments) > 1 or f.segments[0].rel is not None:
        raise _err("translate() takes one expression; use latex_lines() for relations and chains", src, 0)
    return _translate_tokens(f.segments[0].toks, names or Names(), src, "", len(latex)).text


_LABEL = re.compile(r"\s*(?:(?:\d+\s*\.(?!\d)\s*)(?:[a-h]\)\s)?|[a-h]\)\s)")


def _block_formulas(src: _Source, start: int, end: int) -> list[_Formula]:
    m = _LABEL.match(src.text, start, end)
    if m:  # `1. d)`, `f)`: a question label at the start of the block
        start = m.end()
    if end - start > MAX_LATEX_CHARS:
        raise LimitError(f"this formula is {end - start} characters long; the limit is {MAX_LATEX_CHARS}",
                         src.span(start))
    _check_nesting(src, start, end)
    return _formulas(_normalize(_tokenize(src.text, start, end), src), src)


def _check_nesting(src: _Source, start: int, end: int) -> None:
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


def _text_source(text: Text) -> _Source:
    return _Source(text.text, text.path, text.origins)


def latex_lines(text: Text, names: Names) -> list[Text]:
    """One LaTeX formula or chain (`a`, `a = b`, `a &= b \\\\ &= c`, one step per line) -> the Texts of its
    lines, exactly as `steps_latex` gives them (a single expression is one line)."""
    return latex_steps(text, names, min_lines=1)


def latex_steps(text: Text, names: Names, min_lines: int = 2) -> list[Text]:
    """`steps_latex`: a LaTeX chain (one step per line, or `a &= b \\\\ &= c`) -> the Texts of its lines.

    Raises ProofcheckError when the block is not one chain; a step whose LaTeX cannot be translated
    carries its error (reported on that step)."""
    src = _text_source(text)
    formulas = _block_formulas(src, 0, len(text.text))
    live = [(f, None, names) for f in formulas]
    chains, orphans, _ = _chains(live, src, " under `symbols:`", _ChainBuilder(src, min_lines))
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
    formulas = [f for f in _block_formulas(src, 0, len(text.text)) if not f.dead]
    if len(formulas) != 1:
        raise ParseError("claim_latex is one relation, e.g. a = b (or a = b \\Rightarrow c = d)", text.span)
    segs = _translate_formula(formulas[0], names, src, " under `symbols:`")
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
    return _emit(chunks, src, segs[-1].end, " ".join(text.text.split()))


# -- Markdown / text sheets

_MARKER = re.compile(r"^[ \t]*(?:#+[ \t]*|<!--[ \t]*|%[ \t]*)?part[ \t]*:[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?:-->)?[ \t]*$",
                     re.MULTILINE | re.IGNORECASE)
_DISPLAY_ENVS = ("equation", "equation*", "align", "align*", "gather", "gather*", "multline", "multline*",
                 "eqnarray", "eqnarray*", "displaymath")


def _blocks(text: str) -> list[tuple[int, int, bool]]:
    """Offsets (start, end, inline) of the LaTeX inside every formula: display blocks ($$...$$, \\[...\\],
    \\begin{align}...) and inline $...$ / \\(...\\) within a paragraph; fenced code and `code` are skipped."""
    out: list[tuple[int, int, bool]] = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and (text.startswith("```", i) or text.startswith("~~~", i)):
            fence = text[i:i + 3]
            j = text.find("\n" + fence, i + 3)
            i = n if j < 0 else j + 4
            line_start = False
            continue
        line_start = c == "\n"
        if c == "\\" and text.startswith("\\$", i):
            i += 2
            continue
        if text.startswith("$$", i):
            j = text.find("$$", i + 2)
            if j < 0:
                raise ReadError("a display formula opened with $$ is never closed", None)
            out.append((i + 2, j, False))
            i = j + 2
            continue
        if text.startswith("\\[", i) or text.startswith("\\(", i):
            close = "\\]" if text[i + 1] == "[" else "\\)"
            j = text.find(close, i + 2)
            if j >= 0:
                out.append((i + 2, j, close == "\\)"))
                i = j + 2
                continue
        if text.startswith("\\begin{", i):
            m = re.match(r"\\begin\{([a-z]+\*?)\}", text[i:i + 40])
            if m and m.group(1) in _DISPLAY_ENVS:
                end = text.find(f"\\end{{{m.group(1)}}}", i)
                if end >= 0:
                    out.append((i + m.end(), end, False))
                    i = end + len(m.group(1)) + 6
                    continue
        if c == "$":
            j = i + 1
            while True:  # the closing `$`, skipping `\$`
                j = text.find("$", j)
                if j < 0 or text[j - 1] != "\\":
                    break
                j += 1
            para = text.find("\n\n", i + 1)
            if j >= 0 and (para < 0 or j < para):
                if text[i + 1:j].strip():
                    out.append((i + 1, j, True))
                i = j + 1
            else:
                i += 1
            continue
        if c == "`":
            j = text.find("`", i + 1)
            i = j + 1 if j >= 0 else i + 1
            continue
        i += 1
    return out


_INLINE = re.compile(r"(?<![\\$])\$(?!\$)[^$\n]*\S[^$\n]*(?<!\\)\$|\\\(")


def is_latex_sheet(text: str) -> bool:
    """Whether a text (not a derivation file) holds LaTeX formulas: $$...$$, \\[...\\], an environment,
    or inline $...$ / \\(...\\)."""
    return "$$" in text or "\\[" in text or "\\begin{align" in text or "\\begin{equation" in text or \
        "\\begin{multline" in text or "\\begin{gather" in text or _INLINE.search(text) is not None


def _merged_part(key: Derivation) -> Part:
    """All of a key's declarations (for chains not assigned to one part), each name once."""
    seen_sym: set[str] = set()
    seen_def: set[str] = set()
    symbols: list[Declaration] = []
    define: list[Text] = []
    given = []
    labels = set()
    for p in key.parts:
        for d in p.symbols:
            new = tuple(n for n in d.names if n not in seen_sym)
            if new:
                seen_sym.update(new)
                symbols.append(Declaration(new, d.type_text, d.span) if new != d.names else d)
        for t in p.define:
            m = _DEFINED.match(t.text)
            name = m.group(1) if m else t.text
            if name not in seen_def:
                seen_def.add(name)
                define.append(t)
        for g in p.given:
            if g.label not in labels and len(key.parts) == 1:
                labels.add(g.label)
                given.append(g)
    return Part("sheet", None, [], symbols, define, given)


_PERSIAN_ORDINALS = {"اول": "1", "نخست": "1", "یکم": "1", "دوم": "2", "سوم": "3", "چهارم": "4", "پنجم": "5",
                     "ششم": "6", "هفتم": "7", "هشتم": "8", "نهم": "9", "دهم": "10"}
# item letters: Latin, and Persian in abjad order (آ ب ج د ه و ز ح), with the OCR look-alikes seen on
# scanned sheets (Ĩ for آ, ٥ for ه)
_ITEM_LETTERS = {"آ": "a", "ا": "a", "الف": "a", "Ĩ": "a", "ب": "b", "ج": "c", "د": "d", "ه": "e", "٥": "e",
                 "و": "f", "ز": "g", "ح": "h"}
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_Q_WORDS = r"(?:سوال|سؤال|پرسش|تمرین|question|problem|exercise|q)"
_HEAD_PREFIX = r"^[ \t]*(?:\$\$[ \t]*)?(?:#+[ \t]*|\*\*|__)?"
_Q_HEADING = re.compile(_HEAD_PREFIX + _Q_WORDS + r"[ \t]*(\d+|" + "|".join(_PERSIAN_ORDINALS) + r")\b",
                        re.IGNORECASE | re.MULTILINE)
_NUM_HEADING = re.compile(_HEAD_PREFIX + r"(\d{1,2})[ \t]*(?:\.[ \t]*(\d{1,2}|[a-h])\b|\.[ \t]*\)?[ \t]*([a-h])\)|"
                          r"\.\)?|\))(?![\d])", re.MULTILINE)
_CIRCLED_HEADING = re.compile(_HEAD_PREFIX + r"([\u2460-\u2473])", re.MULTILINE)  # ① ... ⑳: question 1 ... 20
_ITEM_HEADING = re.compile(_HEAD_PREFIX + r"(?:\(([a-h]|الف|[آابجدهوزحĨ٥])\)?|([a-h]|الف|[آابجدهوزحĨ٥])\))"
                           r"(?=[\s$]|$)", re.MULTILINE)


def section_label(label: str) -> str:
    """A heading label as written in a key (`2.c`, `2(c)`, `Q2.ج`, `5.1`) in its normal form `2.c` / `2.1`."""
    t = label.strip().translate(_DIGITS)
    m = re.match(r"\s*(?:" + _Q_WORDS + r")?\s*(\d+|" + "|".join(_PERSIAN_ORDINALS) + r")\s*(?:[.(\s]\s*(.+?))?\)?\s*$",
                 t, re.IGNORECASE)
    if not m:
        return t.lower()
    q = _PERSIAN_ORDINALS.get(m.group(1), m.group(1))
    item = (m.group(2) or "").strip(" .()")
    item = _ITEM_LETTERS.get(item, item.lower())
    return f"{q}.{item}" if item else q


def sheet_headings(text: str) -> list[tuple[int, str]]:
    """The question and item headings of a sheet as (offset, label): `سوال دوم` / `Problem 2` / `2.` give `2`,
    `ج)` / `(c)` under question 2 give `2.c`, `5.1` gives `5.1`, `4.e)` gives `4.e`. A bare number `N.` is an
    item when the sheet names its questions (`Problem 1` ... `3.` is item 3 of problem 1, `1.` under it
    restates the question), otherwise a question."""
    found: list[tuple[int, str, str, str]] = []  # (offset, kind, a, b)
    for m in _Q_HEADING.finditer(text):
        q = m.group(1).translate(_DIGITS)
        found.append((m.start(), "q", _PERSIAN_ORDINALS.get(q, q), ""))
    for m in _CIRCLED_HEADING.finditer(text):
        found.append((m.start(), "q", str(ord(m.group(1)) - 0x2460 + 1), ""))
    for m in _NUM_HEADING.finditer(text):
        found.append((m.start(), "num", m.group(1).translate(_DIGITS),
                      (m.group(2) or m.group(3) or "").lower().translate(_DIGITS)))
    for m in _ITEM_HEADING.finditer(text):
        found.append((m.start(), "item", _ITEM_LETTERS.get(m.group(1) or m.group(2), m.group(1) or m.group(2)), ""))
    found.sort()
    out: list[tuple[int, str]] = []
    q, named, seen = "", False, -1
    for off, kind, a, b in found:
        if off == seen:
            continue  # one heading per line start
        seen = off
        if kind == "q":
            q, named = a, True
            out.append((off, q))
        elif kind == "num" and b:
            q = a
            out.append((off, f"{a}.{b}"))
        elif kind == "num":
            if named and a != q:
                out.append((off, f"{q}.{a}"))
            elif not named:
                q = a
                out.append((off, a))
        else:
            out.append((off, f"{q}.{a}" if q else a))
    return out


def section_matches(section: str, labels: list[str]) -> bool:
    """Whether a sheet section (`2.c`) lies under one of a key part's labels (`2.c`, or `2` for all of it)."""
    for lab in labels:
        lab = section_label(lab)
        if section == lab or (section.startswith(lab + ".") and "." not in lab):
            return True
    return False


def read_markdown(text: str, path: str, key: Derivation | None = None, part: str | None = None,
                  sections: dict[str, list[str]] | None = None) -> Sheet:
    """A Markdown or text solution sheet -> its chains, translated with the key's declarations.

    Every display block (`$$...$$`, `\\[...\\]`, `\\begin{align}...`) is split into formulas; prose
    is ignored. A formula starting with a relation continues the chain before it (also across
    blocks); `\\Rightarrow` starts a statement chain from the relation before it. A line
    `part: NAME` (or `# part: NAME`, `<!-- part: NAME -->`) assigns the chains after it to that part
    of the key; otherwise `part` (if given), the key's only part, or none. With `sections` (key part ->
    heading labels, from the key's `grading`), the sheet is split at its headings (sheet_headings), a chain
    never crosses one, each chain carries its section, and formulas are read with the declarations of the
    part answered there. Translation errors are kept on the formula they belong to
    (Chain.steps[i].error); blocks that cannot be read at all are in Sheet.errors; Sheet.formulas says
    what became of every formula."""
    text = text.replace("\r\n", "\n")
    sheet = Sheet(path, lines=text.splitlines())
    src = _Source(text, path)
    key_parts = {p.name: p for p in key.parts} if key is not None else {}
    latex_names = key.latex_names if key is not None else {}
    default = part if part in key_parts else (next(iter(key_parts)) if len(key_parts) == 1 else None)
    names_cache: dict[str | None, Names] = {}

    def names_for(name: str | None) -> Names:
        if name not in names_cache:
            if key is None:
                names_cache[name] = Names(latex_names=dict(latex_names))
            else:
                p = key_parts.get(name) if name else None
                names_cache[name] = Names.from_part(p if p is not None else _merged_part(key), latex_names)
        return names_cache[name]

    markers = [(m.start(), m.group(1)) for m in _MARKER.finditer(text)]
    for off, name in markers:
        if key is not None and name not in key_parts:
            sheet.errors.append(ReadError(f"`part: {name}`: the key has no part named `{name}`; its parts are: "
                                          f"{', '.join(key_parts)}", src.span(off)))
    try:
        blocks = _blocks(text)
    except ReadError as exc:
        exc.span = Span(path, 1, 1)
        sheet.errors.append(exc)
        return sheet
    if len(blocks) > MAX_BLOCKS:
        sheet.errors.append(ReadError(f"{len(blocks)} display formulas; the limit is {MAX_BLOCKS}", Span(path, 1, 1)))
        blocks = blocks[:MAX_BLOCKS]
    builder = _ChainBuilder(src)
    formulas: list[tuple[_Formula, str | None, Names]] = []
    mk = hk = 0
    current: str | None = None  # the part named by the last marker
    headings = sheet_headings(text) if sections else []
    section = ""
    section_part: str | None = None  # the key part answered under the current heading

    def flush() -> None:
        nonlocal formulas, builder
        chains, orphans, skipped = _chains(formulas, src, " in the key", builder, sheet.formulas, section)
        sheet.chains.extend(chains)
        sheet.errors.extend(orphans)
        sheet.skipped += skipped
        formulas = []
        builder = _ChainBuilder(src)

    for start, end, inline in blocks:
        crossed = False
        while mk < len(markers) and markers[mk][0] < start:
            current = markers[mk][1] if markers[mk][1] in key_parts or key is None else current
            crossed = True
            mk += 1
        new_section = section
        while hk < len(headings) and headings[hk][0] < start:
            new_section = headings[hk][1]
            hk += 1
        if crossed or new_section != section:  # a part marker or a heading ends the chain before it
            flush()
            section = new_section
            section_part = next((n for n, labs in (sections or {}).items() if section_matches(section, labs)), None)
        try:
            found = _block_formulas(src, start, end)
        except ProofcheckError as exc:
            if not inline:
                sheet.errors.append(exc)
            sp = exc.span or src.span(start)
            body = text[start:end]
            sheet.formulas.append(FormulaNote(sp.line, sp.col, "not read", " ".join(exc.message.split()), section,
                                              inline, bool(_RELATION_TEXT.search(body)),
                                              " ".join(body.split())[:200]))
            continue
        if inline:
            kept = _inline_formulas(found, text, start)
            for f in kept:
                if f.dead and _defines_key_name(f, names_for(current or section_part or default), src):
                    f.dead = False  # `where mu_Q = ...` of a name the key defines: the student's claim, checked
            for f in found:
                if f not in kept:
                    line, col = src.pos(f.start)
                    sheet.formulas.append(FormulaNote(line, col, "expression", "", section, True, False))
            found = kept
        for f in found:
            owner = current or section_part or default
            formulas.append((f, current or section_part, names_for(owner)))
    flush()
    return sheet


def _defines_key_name(f: _Formula, names: Names, src: _Source) -> bool:
    """Whether a formula (`\\mu_Q(z_t, x) = ...`, `\\sigma_Q^2 = ...`) states the value of a name the key defines:
    then it is the student's claim about that name, not a condition of their own."""
    if f.error is not None or len(f.segments) < 2 or not f.segments[0].toks:
        return False
    try:
        head = _translate_tokens(f.segments[0].toks, names, src, "", f.segments[0].toks[-1].end).text
    except ProofcheckError:
        return False
    m = re.fullmatch(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\(.*\))?\s*(?:\^.*)?", head)
    return bool(m) and m.group(1) in names.defines


_RELATION_TEXT = re.compile(r"=|<|>|\\(?:le|ge|leq|geq|neq|ne|approx|Rightarrow|Leftrightarrow|iff|implies|to|"
                            r"rightarrow|Longrightarrow)\b")


_INLINE_CONDITION_WORDS = CONDITION_WORDS | {"at", "setting", "set", "put", "take", "taking", "choose", "choosing",
                                             "substituting", "plugging", "on", "in", "over", "whose", "such"}
_LAST_WORD = re.compile(r"([A-Za-z]+)[^A-Za-z$]*$")


def _inline_formulas(found: list[_Formula], text: str, start: int) -> list[_Formula]:
    """The formulas of one inline $...$ that take part in chains: those with a relation. A lone
    expression (`$x$`, `$\\sigma_t$`) is a name in a sentence, not a step, and leaves the chain
    around it alone; after `where`, `if`, `at`, `let`, ... the formula is a condition."""
    found = [f for f in found if any(s.rel is not None for s in f.segments)]
    for f in found:
        f.inline = True
    line_start = text.rfind("\n", 0, start - 1) + 1
    m = _LAST_WORD.search(text, line_start, start - 1)
    if m and m.group(1).lower() in _INLINE_CONDITION_WORDS:
        for f in found:
            f.dead = True
    return found


def chains_for_part(sheet: Sheet, part: str) -> list[Chain]:
    """The chains to grade against a key part: those assigned to it by a marker, else the unassigned ones."""
    named = [c for c in sheet.chains if c.part == part]
    return named or [c for c in sheet.chains if c.part is None]


def sheet_chains(text: str, path: str, key: Derivation, part: str) -> tuple[list[Chain], list[ProofcheckError]]:
    """For `proofcheck grade`: every chain of a Markdown/LaTeX sheet that belongs to key part `part`, in the
    order written, and what in the sheet could not be read.

    The chains are those after a `part: NAME` marker for that part, else those without a marker. A chain
    whose first line is the previous chain's last line (a derivation carried on in the next block) is
    joined to it. Nothing is chosen here: which lines are work and which only restate the question or its
    result is decided on the parsed formulas by the grader. Raises ReadError when the sheet holds no chain;
    a formula that could not be translated keeps its error on its step."""
    sheet = read_markdown(text, path, key, part)
    chains = chains_for_part(sheet, part)
    if not chains:
        if sheet.errors:
            raise sheet.errors[0]
        raise ReadError("no chain of relations in the formulas ($$ ... $$ or $ ... $) of this sheet",
                        Span(path, 1, 1))
    return _joined(chains), list(sheet.errors)


def sheet_sections(text: str, path: str, key: Derivation, sections: dict[str, list[str]]) -> tuple[
        dict[str, list[Chain]], Sheet]:
    """For `proofcheck grade` with a key whose parts name their sections: the sheet read once, split at its
    headings, and for each key part the chains written under its headings (joined as in sheet_chains).
    Sheet.formulas records every formula with its section, so what is not read is never silent."""
    sheet = read_markdown(text, path, key, None, sections)
    out: dict[str, list[Chain]] = {}
    for name, labels in sections.items():
        chains = [c for c in sheet.chains if section_matches(c.section, labels)]
        if chains:
            out[name] = _joined(chains)
    return out, sheet


def _as_start(t: Text) -> Text:
    """A step line (`= expr`, `<= expr`) as the first line of a chain (`expr`)."""
    m = re.match(r"\s*(<==>|==>|<=|>=|!=|=|<|>|≈)\s*", t.text)
    if not m or not isinstance(t, LatexText):
        return t
    k = m.end()
    alt = _as_start(t.alternative) if t.alternative is not None else None
    return replace(t, text=t.text[k:], origins=(t.charmap[k],) if len(t.charmap) > k else t.origins,
                   charmap=t.charmap[k:], alternative=alt)


def _readable_start(c: Chain) -> Chain | None:
    """A chain whose first lines could not be read, graded from its first readable line (the lines before it
    are listed as not read, and the part is flagged for review); None when fewer than two lines are left."""
    k = 0
    while k < len(c.steps) and getattr(c.steps[k], "error", None) is not None:
        k += 1
    if k == 0:
        return c
    if c.statement or len(c.steps) - k < 2:
        return None
    steps = [_as_start(c.steps[k])] + c.steps[k + 1:]
    return replace(c, steps=steps, span=steps[0].span, claim=None)


def _joined(chains: list[Chain]) -> list[Chain]:
    chains = [r for r in (_readable_start(c) for c in chains) if r is not None]
    joined: list[Chain] = []
    for c in chains:
        prev = joined[-1] if joined else None
        if prev is not None and not prev.statement and not c.statement and \
                _bare(prev.steps[-1]) == _bare(c.steps[0]) and getattr(c.steps[0], "error", None) is None:
            joined[-1] = Chain(prev.steps + c.steps[1:], False, prev.span, prev.part, None, prev.inline and c.inline,
                               prev.section)
            continue
        joined.append(c)
    return joined


def _bare(t: Text) -> str:
    """A line's expression without the relation in front of it, spaces removed."""
    text = t.text.replace(" ", "")
    m = re.match(r"(<==>|==>|<=|>=|!=|=|<|>)", text)
    return text[m.end():] if m else text


def sheet_derivation(sheet: Sheet, key: Derivation | None) -> Derivation:
    """A sheet as a derivation to verify: one part per chain. A chain assigned to a key part is checked
    against that part's claim, with its declarations; any other chain against its own claim (its first
    line related to its last), with all of the key's declarations."""
    key_parts = {p.name: p for p in key.parts} if key is not None else {}
    merged = _merged_part(key) if key is not None else Part("sheet", None, [])
    parts: list[Part] = []
    used: set[str] = set()
    for c in sheet.chains:
        kp = key_parts.get(c.part) if c.part else None
        if kp is None and key is not None and len(key_parts) == 1:
            base = next(iter(key_parts.values()))
            symbols, define, given = base.symbols, base.define, base.given
        else:
            base = kp or merged
            symbols, define, given = base.symbols, base.define, base.given
        name = c.part if kp is not None else f"line {c.span.line}"
        unique = name if name not in used else f"line {c.span.line}:{c.span.col}" if kp is None else name
        k = 2
        while unique in used:
            unique = f"{name} ({k})"
            k += 1
        used.add(unique)
        claim = kp.claim if kp is not None and kp.claim is not None else c.claim
        parts.append(Part(unique, claim, c.steps, list(symbols), list(define), list(given), c.span, c.span))
    title = f"LaTeX sheet {Path(sheet.path).name}"
    return Derivation(sheet.path, title, parts, latex_names=key.latex_names if key is not None else {},
                      lines=sheet.lines)


def verify_sheets(paths: list[str], key_path: str, options, progress_factory=None) -> list:
    """`proofcheck verify SHEET... --key KEY.yaml`: check every chain of Markdown/text sheets (derivation
    files among the paths are checked as usual). Returns verify.FileReport objects."""
    from proofcheck.errors import show_line
    from proofcheck.kernel.verdict import Status
    from proofcheck.read import is_derivation_text, load_text, read_derivation
    from proofcheck.verify import ErrorInfo, FileReport, Planner, _FilePlan, run_plans

    def error_report(path: str, exc: ProofcheckError, lines: list[str]) -> FileReport:
        span = exc.span or Span(path, 1, 1)
        return FileReport(path, "", Status.ERROR, [ErrorInfo(span.line, span.col, exc.message,
                                                             show_line(lines, span), span.path or path)])

    try:
        key = read_derivation(key_path)
    except ProofcheckError as exc:
        return [error_report(key_path, exc, [])]
    files: list[str] = []
    missing: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files += sorted(str(f) for f in path.rglob("*") if f.is_file() and
                            f.suffix.lower() in (".md", ".markdown", ".txt", ".tex", ".yaml", ".yml"))
        elif path.exists():
            files.append(str(path))
        else:
            missing.append(p)
    planner = Planner(options)
    plans = []
    for f in files:
        try:
            text = load_text(f)
        except ProofcheckError as exc:
            plans.append(_FilePlan(f, "", [ErrorInfo(1, 1, exc.message, "", f)]))
            continue
        if is_derivation_text(text):
            plans.append(planner.plan_path(f))
            continue
        sheet = read_markdown(text, f, key)
        # inline math in prose often names things the key does not declare; `verify` checks display math
        sheet.chains = [c for c in sheet.chains if not c.inline]
        derivation = sheet_derivation(sheet, key)
        plan = _FilePlan(f, derivation.title)
        for part in derivation.parts:  # one chain at a time: a failure stays with its chain
            one = Derivation(f, derivation.title, [part], latex_names=derivation.latex_names, lines=sheet.lines)
            try:
                got = planner.plan_derivation(one)
            except Exception as exc:  # noqa: BLE001 - an internal failure on one chain must not stop the sheet
                span = part.span or Span(f, 1, 1)
                detail = " ".join(f"{type(exc).__name__}: {exc}".split())
                plan.errors.append(ErrorInfo(span.line, span.col, f"could not check this chain (internal error: "
                                             f"{detail})", show_line(sheet.lines, span), f))
                continue
            plan.parts.extend(got.parts)
            plan.errors.extend(got.errors)
        for exc in sheet.errors:
            span = exc.span or Span(f, 1, 1)
            plan.errors.append(ErrorInfo(span.line, span.col, exc.message, show_line(sheet.lines, span), f))
        if not sheet.chains and not sheet.errors:
            plan.errors.append(ErrorInfo(1, 1, "no chain of relations in display formulas ($$ ... $$) here",
                                         "", f))
        plans.append(plan)
    progress = progress_factory(len(planner.tasks)) if progress_factory else None
    reports = run_plans(planner, plans, options, progress)
    return [FileReport(m, "", Status.ERROR, [ErrorInfo(1, 1, "no such file or directory", "", m)])
            for m in missing] + reports
