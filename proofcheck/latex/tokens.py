"""Step 1: LaTeX as raw tokens, each with its offset in the source."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Tok:
    """A raw LaTeX token: kind, value, and its offsets in the source."""

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


# A sheet exported through a JSON string loses the backslash of `\b`, `\f`, `\t`, `\r` (read as escapes):
# `\boldsymbol{X}` arrives as `oldsymbol{X}`, `\rangle` as a line break and `angle`. Words that are nothing
# but such a remnant, where it stands, are read as the command (the grade notes each one).
_LOST = {"oldsymbol": "boldsymbol", "egin": "begin", "rac": "frac", "ext": "text", "heta": "theta",
         "imes": "times", "angle": "rangle", "op": "top", "o": "to"}
_LIM_SUBSCRIPT = re.compile(r"\\lim_\{\s*\\?[A-Za-z]+\s$")
_LOST_BEFORE_BRACE = {"oldsymbol", "egin", "rac", "ext"}


def _lost_backslash(src: str, pos: int, end: int, text: str, script: bool) -> str | None:
    """The command whose backslash was lost, if the word `text` at `pos` is such a remnant."""
    cmd = _LOST.get(text)
    if cmd is None or (pos > 0 and (src[pos - 1].isalpha() or src[pos - 1] == "\\")):
        return None
    if text in _LOST_BEFORE_BRACE:
        return cmd if end < len(src) and src[end] == "{" else None
    if text == "angle":
        return cmd if pos > 0 and src[pos - 1] == "\n" else None
    if text == "op":
        return cmd if script else None
    if text == "o":  # `\lim_{p o 1}`
        return cmd if _LIM_SUBSCRIPT.search(src, max(0, pos - 40), pos) and src[end:end + 1].isspace() else None
    return cmd


def tokenize(src: str, start: int = 0, end: int | None = None) -> list[Tok]:
    """Raw tokens of src[start:end]; offsets are into src."""
    end = len(src) if end is None else end
    out: list[Tok] = []
    pos = start
    script = False  # the previous token was ^ or _: a digit run or a letter run gives one character
    while pos < end:
        m = _RAW.match(src, pos, end)
        kind, text = m.lastgroup, m.group()
        if kind == "ws" or kind == "bs":
            if kind == "bs":
                out.append(Tok("space", "", pos, m.end()))
            pos = m.end()
            continue
        lost = _lost_backslash(src, pos, m.end(), text, script) if kind == "word" else None
        if lost is not None:
            out.append(Tok("cmd", lost, pos, pos + len(text), {"lost": text}))
            script = False
            pos += len(text)
            continue
        if script and kind in ("num", "word") and len(text) > 1:
            text = text[0]
        if kind == "cmd":
            out.append(Tok("cmd", text[1:], pos, pos + len(text)))
        elif kind == "sym":
            out.append(Tok("sym", text[1], pos, pos + 2))
        elif kind == "char" and text in _UNICODE:
            k, v = _UNICODE[text]
            out.append(Tok(k, v, pos, pos + 1))
        elif kind == "char" and text in _GREEK_CHARS:
            out.append(Tok("cmd", _GREEK_CHARS[text], pos, pos + 1))
        else:
            out.append(Tok(kind, text, pos, pos + len(text)))
        script = kind == "char" and text in "^_"
        pos += len(text)
    return out


def lost_backslashes(src: str, start: int, end: int) -> list[tuple[int, str, str]]:
    """(offset, remnant, command) of every word in src[start:end] read as a command whose backslash was lost."""
    return [(t.start, t.info["lost"], str(t.value)) for t in tokenize(src, start, end) if "lost" in t.info]
