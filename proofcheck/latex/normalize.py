r"""Step 2: normalized tokens (environments, `\left`/`\right`, `\text{...}`, styles, accents, relations)."""

from __future__ import annotations

import re

from proofcheck.latex.source import Source, latex_error
from proofcheck.latex.tokens import Tok
from proofcheck.latex.vocabulary import (ACCENTS, ALIGN_ENVS, ARROWS, DEFINITIONS, GREEK, GREEK_VARIANTS, IMPLICATIONS,
                                         MATRIX_ENVS, NOT_A_FORMULA, NOT_CHECKABLE, PROSE_WORDS, RELATIONS, SIZES,
                                         SPACING, STYLES, TEXT_STYLES, WITH_ARGUMENT_DROPPED, WORD_STYLES,
                                         CONDITION_WORDS)


def group_end_index(toks: list[Tok], i: int, src: Source, what: str = "{") -> int:
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
    raise latex_error(f"this `{what}` is never closed: a `}}` is missing", src, toks[i].start)


def raw_argument(toks: list[Tok], i: int, src: Source) -> tuple[list[Tok], int, int, int]:
    """The argument of a command at toks[i]: a {group} or a single token.
    Returns (inner tokens, start offset, end offset, index after)."""
    if i >= len(toks):
        raise latex_error("a command needs an argument here", src, toks[-1].end if toks else 0)
    t = toks[i]
    if t.kind == "char" and t.value == "{":
        j = group_end_index(toks, i, src)
        return toks[i + 1:j], t.start, toks[j].end, j + 1
    return [t], t.start, t.end, i + 1


def _plain_text(src: Source, start: int, end: int) -> str:
    return src.text[start:end]


def normalize_tokens(toks: list[Tok], src: Source) -> list[Tok]:
    """Raw tokens -> normalized tokens (see the module docstring, step 2)."""
    out: list[Tok] = []
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        k, v = t.kind, t.value
        if k == "comment":
            out.append(Tok("comment", str(v)[1:].strip(), t.start, t.end))
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
        if k == "word" and _lead_word(toks, i):
            out.append(Tok("prose", v, t.start, t.end))  # `As \, \tau \to 0` (seed 000, l.171): prose in math
            i += 1
            continue
        if k in ("num", "word"):
            out.append(Tok(k, v, t.start, t.end))
            i += 1
            close = _call_subscript(toks, i) if k == "word" else None
            if close is not None:
                # `E_{q_{(x, x_0)}}`: the density q at (x, x_0), written as a subscript
                out.extend(normalize_tokens(toks[i + 2:close + 1], src))
                i = close + 2
            continue
        # commands
        name = str(v)
        if name in SPACING:
            kind = SPACING[name] or ("sep" if _tag_follows(toks, i + 1) else None)
            if kind:
                out.append(Tok(kind, name, t.start, t.end))
            i += 1
            continue
        if name in WITH_ARGUMENT_DROPPED:
            _, s, e, i = raw_argument(toks, i + 1, src)
            if name == "hspace" and _wide_space(src.text[s:e]):
                out.append(Tok("sep", name, t.start, t.end))  # `A = B \hspace{1cm} C = D`: two formulas, as \quad
            continue
        if name in ("underbrace", "overbrace"):  # \underbrace{X}_{\text{...}}: X
            inner, s, e, i = raw_argument(toks, i + 1, src)
            out.extend(normalize_tokens(inner, src))
            if i < n and toks[i].kind == "char" and toks[i].value in "_^":
                _, _, _, i = raw_argument(toks, i + 1, src)
            continue
        if name == "textcircled":
            _, _, _, i = raw_argument(toks, i + 1, src)
            continue
        if name == "colon":
            out.append(Tok("char", ":", t.start, t.end))
            i += 1
            continue
        if name == "textcolor":
            _, _, _, i = raw_argument(toks, i + 1, src)  # the colour; the text stays
            continue
        if name in SIZES:
            i = _normalize_delimiter(toks, i, src, out)
            continue
        if name in ("begin", "end"):
            i = _normalize_env(toks, i, src, out)
            continue
        if name in GREEK or name in GREEK_VARIANTS:
            out.append(Tok("greek", GREEK_VARIANTS.get(name, name), t.start, t.end))
            i += 1
            continue
        if name in STYLES:
            inner, s, e, i = raw_argument(toks, i + 1, src)
            out.extend(normalize_tokens(inner, src))
            continue
        if name in ACCENTS:
            inner, s, e, i = raw_argument(toks, i + 1, src)
            out.append(Tok("accent", ACCENTS[name], t.start, e, {"inner": normalize_tokens(inner, src)}))
            continue
        if name in WORD_STYLES:
            i = _normalize_styled(toks, i, src, out)
            continue
        if name in ("stackrel", "overset", "underset"):
            i = _normalize_stacked(toks, i, src, out)
            continue
        if name in ("xrightarrow", "xRightarrow", "xLongrightarrow"):
            _, _, e, i = raw_argument(toks, i + 1, src)
            out.append(Tok("impl", "==>", t.start, e))
            continue
        if name == "not":
            if i + 1 < n and toks[i + 1].kind == "char" and toks[i + 1].value == "=":
                out.append(Tok("rel", "!=", t.start, toks[i + 1].end))
                i += 2
                continue
            raise latex_error("\\not is only understood before `=` (write \\neq)", src, t.start)
        if name == "arg" and i + 1 < n and toks[i + 1].kind == "cmd" and toks[i + 1].value in ("max", "min"):
            out.append(Tok("word", "arg" + str(toks[i + 1].value), t.start, toks[i + 1].end, {"styled": True}))
            i += 2
            continue
        if name in RELATIONS:
            out.append(Tok("rel", RELATIONS[name], t.start, t.end))
        elif name in DEFINITIONS:
            out.append(Tok("rel", "=", t.start, t.end, {"rule": "definition"}))
        elif name in IMPLICATIONS:
            out.append(Tok("impl", IMPLICATIONS[name], t.start, t.end))
        elif name in ARROWS:
            out.append(Tok("arrow", name, t.start, t.end))
        elif name in NOT_CHECKABLE:
            out.append(Tok("approx", NOT_CHECKABLE[name], t.start, t.end))
        elif name in NOT_A_FORMULA:
            out.append(Tok("nocheck", name, t.start, t.end))
        elif name in ("cdot", "times", "ast", "star"):
            out.append(Tok("op", "*", t.start, t.end, {"latex": name}))
        elif name == "div":
            out.append(Tok("op", "/", t.start, t.end))
        elif name == "odot":
            out.append(Tok("op", ".*", t.start, t.end))
        elif name in ("pm", "mp"):
            out.append(Tok("pm", name, t.start, t.end))
        elif name in ("dots", "ldots", "cdots", "vdots", "ddots"):
            out.append(Tok("dots", name, t.start, t.end))
        elif name in ("langle", "rangle"):
            out.append(Tok(name, name, t.start, t.end))
        elif name in ("mid", "vert", "lvert", "rvert"):
            side = {"lvert": "left", "rvert": "right"}.get(name, "")
            out.append(Tok("cond" if name == "mid" else "bar", "|", t.start, t.end, {"side": side}))
        elif name in ("Vert", "lVert", "rVert"):
            side = {"lVert": "left", "rVert": "right"}.get(name, "")
            out.append(Tok("nbar", "||", t.start, t.end, {"side": side}))
        elif name == "parallel":
            out.append(Tok("klsep", "||", t.start, t.end))
        elif name in ("lbrace", "rbrace"):
            out.append(Tok("setopen" if name == "lbrace" else "setclose", name, t.start, t.end))
        elif name in ("lbrack", "rbrack"):
            out.append(Tok("char", "[" if name == "lbrack" else "]", t.start, t.end))
        elif name in ("top", "intercal", "prime"):
            out.append(Tok("cmd", name, t.start, t.end))
        elif name == "infty":
            out.append(Tok("cmd", "infty", t.start, t.end))
        elif name in ("dfrac", "tfrac", "cfrac"):
            out.append(Tok("cmd", "frac", t.start, t.end))
        elif name == "argmax" or name == "argmin":
            out.append(Tok("word", name, t.start, t.end, {"styled": True}))
        elif name in ("imath", "jmath"):
            out.append(Tok("raw", "I", t.start, t.end))
        else:
            out.append(Tok("cmd", name, t.start, t.end))
        i += 1
    return out


def _call_subscript(toks: list[Tok], i: int) -> int | None:
    """For `q_{(x, x_0)}` with toks[i] the `_`: the index of the `)` closing the bracket that is the whole subscript."""
    if not (i + 3 < len(toks) and toks[i].at("char", "_") and toks[i + 1].at("char", "{") and
            toks[i + 2].at("char", "(")):
        return None
    depth = 0
    for j in range(i + 2, len(toks)):
        if toks[j].at("char", "(") or toks[j].at("char", "{"):
            depth += 1
        elif toks[j].at("char", ")") or toks[j].at("char", "}"):
            depth -= 1
            if depth == 0:
                ok = toks[j].at("char", ")") and j + 1 < len(toks) and toks[j + 1].at("char", "}")
                return j if ok else None
    return None


def _tag_follows(toks: list[Tok], j: int) -> bool:
    r"""Whether only more spacing, then an equation number `(2)`, follows up to the row's end: `\hfill (2)`, `\; (1)`,
    `~~(2)` number the row as `\quad (2)` does, and are not a factor 2."""
    def spacing(t: Tok) -> bool:
        return t.kind == "space" or (t.kind == "char" and t.value == "~") or \
            (t.kind in ("cmd", "sym") and SPACING.get(str(t.value), "") is None) or \
            (t.kind == "sym" and t.value == ">")
    while j < len(toks) and spacing(toks[j]):
        j += 1
    if j + 3 > len(toks):
        return False
    opened, number, closed = toks[j:j + 3]
    if not (opened.kind == "char" and opened.value == "(" and number.kind == "num" and closed.kind == "char"
            and closed.value == ")"):
        return False
    rest = [t for t in toks[j + 3:] if not spacing(t)]
    return not rest or (rest[0].kind == "sym" and str(rest[0].value) == "\\") or \
        (rest[0].kind == "cmd" and SPACING.get(str(rest[0].value)) == "rowsep")


def _normalize_char(toks, i, src, out) -> int:
    t = toks[i]
    c = t.value
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if c in "<>!:" and nxt is not None and nxt.kind == "char" and nxt.value == "=" and nxt.start == t.end:
        op = {"<": "<=", ">": ">=", "!": "!=", ":": "="}[c]
        out.append(Tok("rel", op, t.start, nxt.end, {"rule": "definition"} if c == ":" else {}))
        return i + 2
    if c == "=" and nxt is not None and nxt.kind == "char" and nxt.value == "=" and nxt.start == t.end:
        out.append(Tok("rel", "=", t.start, nxt.end))
        return i + 2
    if c in "=<>":
        out.append(Tok("rel", c, t.start, t.end))
    elif c in "+-":
        out.append(Tok("op", c, t.start, t.end))
    elif c == "*":
        out.append(Tok("op", "*", t.start, t.end))
    elif c == "/":
        if nxt is not None and nxt.kind == "char" and nxt.value == "/":  # `//`: an end-of-proof mark
            out.append(Tok("endmark", "//", t.start, nxt.end))
            return i + 2
        out.append(Tok("op", "/", t.start, t.end))
    elif c == "|":
        if nxt is not None and nxt.kind == "char" and nxt.value == "|" and nxt.start == t.end:
            out.append(Tok("nbar", "||", t.start, nxt.end, {"side": ""}))
            return i + 2
        out.append(Tok("bar", "|", t.start, t.end, {"side": ""}))
    elif c == "'":
        j = i
        while j < len(toks) and toks[j].kind == "char" and toks[j].value == "'":
            j += 1
        out.append(Tok("prime", j - i, t.start, toks[j - 1].end))
        return j
    elif c == "&":
        out.append(Tok("amp", "&", t.start, t.end))
    elif c == "~":  # a non-breaking space; before an equation number at the end of a row it separates like \quad
        if _tag_follows(toks, i + 1):
            out.append(Tok("sep", "~", t.start, t.end))
    elif c == "." or c == "?":  # `KL(q(z|\mu), p(z))?` (seed 001, a question restated): dropped like a final `.`
        out.append(Tok("period", c, t.start, t.end))
    elif c in "{}()[],;^_!:":
        out.append(Tok("char", c, t.start, t.end))
    elif c == "$":
        raise latex_error("proofcheck does not read a `$` inside a formula (a formula nested in \\text{...}?)",
                          src, t.start)
    else:
        out.append(Tok("bad", f"unexpected character {c!r}", t.start, t.end))
    return i + 1


def _normalize_sym(toks, i, src, out) -> int:
    t = toks[i]
    c = t.value
    if c == "\\":
        out.append(Tok("rowsep", "\\\\", t.start, t.end))
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
        out.append(Tok("setopen", "{", t.start, t.end))
    elif c == "}":
        out.append(Tok("setclose", "}", t.start, t.end))
    elif c == "|":
        out.append(Tok("nbar", "||", t.start, t.end, {"side": ""}))
    elif c in (",", ";", ":", "!", " ", ">"):  # spacing; before a closing equation number it separates like \quad
        if _tag_follows(toks, i + 1):
            out.append(Tok("sep", c, t.start, t.end))
    else:
        out.append(Tok("bad", f"unexpected \\{c} in a formula", t.start, t.end))
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
        raise latex_error(f"\\{size} needs a delimiter after it, e.g. \\{size}(", src, t.start)
    d = toks[i + 1]
    key = (d.kind, d.value if d.kind != "sym" else d.value)
    delim = _DELIMS.get(key)
    if delim is None:
        if size in ("big", "Big", "bigg", "Bigg"):  # a size command on its own (\Big as a word?)
            return i + 1
        raise latex_error(f"\\{size} needs a delimiter after it, e.g. \\{size}( or \\{size}|", src, d.start)
    side = "left" if size.startswith("left") or size.endswith("l") else \
        "right" if size.startswith("right") or size.endswith("r") else "middle" if "m" in size[-1:] or size == "middle" else ""
    if size in ("big", "Big", "bigg", "Bigg"):
        side = ""
    s, e = t.start, d.end
    if delim == ".":
        return i + 2
    if delim in ("(", ")", "[", "]"):
        out.append(Tok("char", delim, s, e, {"sized": True}))
    elif delim == "|" or delim == "mid":
        if side == "middle" or delim == "mid":
            out.append(Tok("cond", "|", s, e))
        else:
            out.append(Tok("bar", "|", s, e, {"side": side, "sized": size}))
    elif delim == "||":
        out.append(Tok("nbar", "||", s, e, {"side": side if side != "middle" else ""}))
    elif delim == "\\{":
        out.append(Tok("setopen", "{", s, e))
    elif delim == "\\}":
        out.append(Tok("setclose", "}", s, e))
    elif delim in ("langle", "rangle"):
        out.append(Tok(delim, delim, s, e))
    else:
        raise latex_error(f"the delimiter after \\{size} is not supported here", src, d.start)
    return i + 2


def _env_name(toks, i, src) -> tuple[str, int, int]:
    inner, s, e, j = raw_argument(toks, i + 1, src)
    name = _plain_text(src, inner[0].start, inner[-1].end).replace(" ", "") if inner else ""
    return name, e, j


def _normalize_env(toks, i, src, out) -> int:
    t = toks[i]
    name, e, j = _env_name(toks, i, src)
    begin = t.value == "begin"
    if name == "array" and begin and j < len(toks) and toks[j].kind == "char" and toks[j].value == "{":
        _, _, e, j = raw_argument(toks, j, src)  # the column specification
    if begin and j < len(toks) and toks[j].kind == "char" and toks[j].value == "{" and name.startswith("alignat"):
        _, _, e, j = raw_argument(toks, j, src)
    if name in ALIGN_ENVS:
        out.append(Tok("align" if begin else "endalign", name, t.start, e))
    elif name in MATRIX_ENVS:
        out.append(Tok("matbegin" if begin else "matend", name, t.start, e))
    elif name in ("cases", "numcases", "subnumcases"):  # a brace of conditions: after `s.t.`, ...; else not read
        out.append(Tok("cases", "begin" if begin else "end", t.start, e))
    else:
        raise latex_error(f"the environment {name!r} is not supported in formulas", src, t.start)
    return j


_OPERATORS_AND_NUMBERS = re.compile(r"[-+*/=()0-9.\s]*\d[-+*/=()0-9.\s]*|[-+*/=]")


def _normalize_styled(toks, i, src, out) -> int:
    """`\\text{...}`, `\\mathrm{...}`, `\\operatorname{...}`, `\\mathbb{E}`, `\\mathcal{N}`."""
    t = toks[i]
    style = str(t.value)
    inner, s, e, j = raw_argument(toks, i + 1, src)
    text = _plain_text(src, s, e)
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    word = text.strip()
    if style in ("mathbb", "mathcal", "mathscr", "mathfrak"):
        if style == "mathbb" and word not in ("E", "V"):
            if word in ("R", "N", "Z", "Q", "C"):
                out.append(Tok("nocheck", "set", t.start, e))
            else:
                raise latex_error(f"\\mathbb{{{word}}} is not supported in formulas", src, t.start)
        elif style == "mathbb":
            out.append(Tok("word", "E" if word == "E" else "Var", t.start, e, {"styled": True, "bb": True}))
        elif re.fullmatch(r"[A-Za-z]", word):
            out.append(Tok("word", word, t.start, e, {"styled": True, "cal": True}))
        else:
            raise latex_error(f"\\{style}{{{word}}}: only a single letter is understood", src, t.start)
        return j
    if re.fullmatch(r"[A-Za-z]+", word) and not (style in TEXT_STYLES and word.lower() in PROSE_WORDS):
        out.append(Tok("word", word, t.start, e, {"styled": True, "roman": style != "mathit"}))
        return j
    if re.fullmatch(r"[A-Za-z]+\s*_\s*\{?[A-Za-z0-9]+\}?", word) or _OPERATORS_AND_NUMBERS.fullmatch(word) or \
            (style in ("mathrm", "mathsf", "mathit", "operatorname") and not re.search(r"\s[A-Za-z]{2}", word)):
        # \mathrm{x_0}, \mathsf{T}, \mathrm{KL}: the content is a formula in roman type; `\text{+} 5`,
        # `\text{ + 5}` render as `+ 5`: nothing but operators and numbers is math too
        out.extend(normalize_tokens(inner, src))
        return j
    if word in ("T", "\\top"):
        out.append(Tok("cmd", "top", t.start, e))
        return j
    out.append(Tok("prose", word, t.start, e))
    return j


def _lead_word(toks, i) -> bool:
    """A capitalised condition word written in math mode (`As`, `If`, `Where`) and followed by a space or a name,
    not by what would make it a name of its own (`(`, `_`, `^`)."""
    v = str(toks[i].value)
    if not (len(v) > 1 and v[0].isupper() and v[1:].islower() and v.lower() in CONDITION_WORDS):
        return False
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    return nxt is None or not (nxt.kind == "char" and nxt.value in "(_^'")


def _normalize_stacked(toks, i, src, out) -> int:
    """`\\stackrel{X}{=}`, `\\overset{def}{=}`, `\\underset{q}{\\operatorname{argmin}}`."""
    t = toks[i]
    over, s1, e1, j = raw_argument(toks, i + 1, src)
    base, s2, e2, j = raw_argument(toks, j, src)
    base_n = normalize_tokens(base, src)
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
        out.append(Tok(b.kind, b.value, t.start, e2, info))
        return j
    if t.value == "underset":
        # \underset{x}{\operatorname{argmin}} -> argmin with the subscript x
        out.extend(base_n)
        out.append(Tok("char", "_", s1, s1))
        out.append(Tok("char", "{", s1, s1))
        out.extend(normalize_tokens(over, src))
        out.append(Tok("char", "}", e1, e1))
        return j
    raise latex_error(f"\\{t.value} is only understood over a relation, e.g. \\stackrel{{\\text{{def}}}}{{=}}",
                      src, t.start)


def _wide_space(length: str) -> bool:
    """Whether an \\hspace length is at least a \\quad's (1em): the gap that separates two formulas, not a nudge."""
    m = re.fullmatch(r"\s*\{?\s*\*?\s*\{?\s*(\d*\.?\d+)\s*(em|ex|pt|mm|cm|in|pc|bp)\s*\}?\s*\}?\s*", length)
    if not m:
        return False
    per_em = {"em": 1, "ex": 0.45, "pt": 0.1, "bp": 0.1, "mm": 0.35, "cm": 3.5, "in": 9, "pc": 1.2}[m.group(2)]
    return float(m.group(1)) * per_em >= 1
