"""Markdown/LaTeX solution sheets: display and inline math, headings and parts, chains matched to a key."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from proofcheck.errors import ProofcheckError, ReadError
from proofcheck.model import Declaration, Derivation, Part, Span, Text
from proofcheck.latex.source import LatexText, MAX_BLOCKS, Source
from proofcheck.latex.names import DEFINED_NAME, Names
from proofcheck.latex.vocabulary import CONDITION_WORDS
from proofcheck.latex.formulas import Formula, states_a_case
from proofcheck.latex.grammar import UNDECLARED, translate_tokens
from proofcheck.latex.chains import Chain, ChainBuilder, FormulaNote, Sheet, build_chains, emit_text
from proofcheck.latex.blocks import block_formulas, translate
from proofcheck.latex.tokens import lost_backslashes


_MARKER = re.compile(r"^[ \t]*(?:#+[ \t]*|<!--[ \t]*|%[ \t]*)?part[ \t]*:[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?:-->)?[ \t]*$",
                     re.MULTILINE | re.IGNORECASE)
_DISPLAY_ENVS = ("equation", "equation*", "align", "align*", "gather", "gather*", "multline", "multline*",
                 "eqnarray", "eqnarray*", "displaymath", "flalign", "flalign*", "alignat", "alignat*", "xalignat",
                 "xalignat*", "math", "dmath", "dmath*", "darray", "darray*", "IEEEeqnarray", "IEEEeqnarray*",
                 "empheq", "numcases", "subnumcases")
# the argument after \begin{alignat}{2}, \begin{IEEEeqnarray}{rCl}, \begin{empheq}[box=...]{align}, ...; the environments
# without one may start with a brace group of the formula itself
_ENV_ARGUMENTS = re.compile(r"(?:\s*\[[^\]\n]*\])?(?:\s*\{[^{}\n]*\})?")
_PLAIN_ENVS = {"equation", "equation*", "align", "align*", "gather", "gather*", "multline", "multline*", "flalign",
               "flalign*", "eqnarray", "eqnarray*", "displaymath", "math"}
_OPTIONS_ONLY = {"dmath", "dmath*", "darray", "darray*"}  # `\begin{dmath}[label=...]`: an optional argument only
_OPTIONS = re.compile(r"\s*\[[^\]\n]*\]")


def _blocks(text: str) -> list[tuple[int, int, bool]]:
    """Offsets (start, end, inline) of the LaTeX inside every formula: display blocks ($$...$$, \\[...\\],
    \\begin{align}...) and inline $...$ / \\(...\\) within a paragraph; fenced code, `code` and HTML comments
    (not shown in the rendered sheet; a `<!-- part: NAME -->` marker is read elsewhere) are skipped."""
    out: list[tuple[int, int, bool]] = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and (text.startswith("```", i) or text.startswith("~~~", i)):
            fence = text[i:i + 3]
            j = text.find("\n" + fence, i + 3)
            head = text.find("\n", i)
            if fence == "```" and text[i + 3:head].strip() == "math" and j >= 0:
                out.append((head + 1, j, False))  # a ```math fence is display math where GitHub renders Markdown
            i = n if j < 0 else j + 4
            line_start = False
            continue
        line_start = c == "\n"
        if text.startswith("<!--", i):
            # an HTML comment is not shown in the rendered sheet: math inside it is nothing the student hands in
            j = text.find("-->", i + 4)
            i = n if j < 0 else j + 3
            continue
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
            m = re.match(r"\\begin\{([A-Za-z]+\*?)\}", text[i:i + 40])
            if m and m.group(1) in _DISPLAY_ENVS:
                end = text.find(f"\\end{{{m.group(1)}}}", i)
                if end >= 0 and m.group(1) in ("numcases", "subnumcases"):
                    # a brace of cases with its left side as the argument: read whole, like `cases`
                    close = end + len(m.group(1)) + 6
                    out.append((i, close, False))
                    i = close
                    continue
                if end >= 0:
                    body = i + m.end()
                    if m.group(1) in _OPTIONS_ONLY:
                        options = _OPTIONS.match(text, body)
                        body = options.end() if options else body
                    elif m.group(1) not in _PLAIN_ENVS:
                        body = _ENV_ARGUMENTS.match(text, body).end()
                    out.append((body, end, m.group(1) == "math"))
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


_TEX_COMMENT = re.compile(r"(?<!\\)%[^\n]*")
_TEX_CONDITIONAL = re.compile(r"\\(?:if(?!f(?![A-Za-z]))[A-Za-z]*|fi|else)(?![A-Za-z])")  # not `\iff` (⟺)
_TEX_SWITCH = re.compile(r"\\if(false|true)(?![A-Za-z])")


def tex_comments_blanked(text: str) -> str:
    """A .tex sheet with its comments (`% ...`, `\\iffalse ... \\fi`, the `\\else` of `\\iftrue`; nested `\\if...\\fi`
    counted) blanked out, positions kept: the compiled sheet does not show them, so nothing in them is handed in. A
    `% part: NAME` marker stays readable."""
    def blank(a: int, b: int) -> None:
        chars[a:b] = [c if c == "\n" else " " for c in chars[a:b]]
    chars = list(text)
    for m in _TEX_COMMENT.finditer(text):
        if not _MARKER.fullmatch(m.group(0)):
            blank(m.start(), m.end())
    text = "".join(chars)
    at = 0
    while (found := _TEX_SWITCH.search(text, at)) is not None:
        # `\iffalse A \else B \fi` shows B, `\iftrue A \else B \fi` shows A (no `\else`: nothing, or all of A)
        start, shown = found.start(), found.group(1) == "true"
        depth, end, other, closing = 0, len(text), None, len(text)
        for m in _TEX_CONDITIONAL.finditer(text, start):
            if m.group(0) == "\\else":
                other = m if depth == 1 and other is None else other
                continue
            depth += -1 if m.group(0) == "\\fi" else 1
            if depth == 0:
                end, closing = m.end(), m.start()
                break
        if shown:
            blank(start, found.end())
            blank(other.start() if other is not None else closing, end)
        else:
            blank(start, other.end() if other is not None else end)
            blank(closing, end)
        # what is shown may hold switches of its own
        text, at = "".join(chars), found.end() if shown else other.end() if other is not None else end
    return text


_INLINE = re.compile(r"(?<![\\$])\$(?!\$)[^$\n]*\S[^$\n]*(?<!\\)\$|\\\(")


def lost_backslash_note(text: str, path: str) -> str:
    """A note listing the commands of a sheet's formulas read although their backslash was lost (tokens.py), or ""."""
    src = Source(text.replace("\r\n", "\n"), path)
    try:
        found = [(src.pos(off), lost) for a, b, _ in _blocks(src.text)
                 for off, lost, _ in lost_backslashes(src.text, a, b)]
    except ReadError:
        return ""
    if not found:
        return ""
    where = ", ".join(f"line {ln}:{col} `{lost}`" for (ln, col), lost in found[:6])
    more = f" and {len(found) - 6} more" if len(found) > 6 else ""
    return (f"{len(found)} command{'s' if len(found) > 1 else ''} of the file had lost their backslash and were read as "
            f"the command ({where}{more}: `oldsymbol` as \\boldsymbol, `rac` as \\frac, ...); check the file's export")


def is_latex_sheet(text: str) -> bool:
    """Whether a text (not a derivation file) holds LaTeX formulas: $$...$$, \\[...\\], an environment,
    or inline $...$ / \\(...\\)."""
    return "$$" in text or "\\[" in text or "```math" in text or _INLINE.search(text) is not None or \
        any(f"\\begin{{{env}}}" in text for env in _DISPLAY_ENVS)


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
            m = DEFINED_NAME.match(t.text)
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
# `## 2`, `# 3.`: a Markdown heading that is a number names the question (a list item `1.` under it is 2.1)
_HASH_HEADING = re.compile(r"^[ \t]*#+[ \t]*(\d{1,2})[ \t]*[.)]?(?=[ \t]|$)", re.MULTILINE)
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


# `$$J = \sum_i ELBO(...) \quad \text{(ب)}$$`, `$$... \quad (2)$$` (or `\hfill`, `\;`, `~~`), `\tag{4}`: the label
# of a question written in the margin of a right-to-left sheet comes out at the END of the question's first display
# formula
_TAG = re.compile(r"(?:(?:\\q?quad|\\hfill|\\[;,: ]|~)\s*)*(?:\\q?quad|\\hfill|\\[;]|~|\\tag)\s*(?:\{\s*)?(?:\\text\s*\{\s*\(\s*([^(){}$\\]{1,3}?)\s*\)\s*\}|"
                  r"\(\s*([^(){}$\\]{1,3}?)\s*\)|([^(){}$\\\s]{1,3}))\s*\}?\s*$")
_TAG_LABEL = re.compile(r"\d{1,2}|[a-h]|الف|[آابجدهوزحĨ٥]")


def display_tag(body: str) -> tuple[int, str] | None:
    r"""The label a display formula ends with, `\quad (2)`, `\quad \text{(ب)}`, `\tag{4}`, as (its offset in body,
    the label with Latin digits): a label of the text (an equation number or a question's margin label), not an
    expression."""
    m = _TAG.search(body)
    if m is None:
        return None
    label = (m.group(1) or m.group(2) or m.group(3)).strip().translate(_DIGITS)
    if m.group(3) is not None and not body[m.start():].startswith("\\tag"):
        return None  # `\quad x`: a bare word after a space is an expression
    return (m.start(), label) if _TAG_LABEL.fullmatch(label) else None


def sheet_headings(text: str, tagged=None) -> list[tuple[int, str]]:
    r"""The question and item headings of a sheet as (offset, label): `سوال دوم` / `Problem 2` / `2.` give `2`,
    `ج)` / `(c)` under question 2 give `2.c`, `5.1` gives `5.1`, `4.e)` gives `4.e`. A bare number `N.` is an
    item when the sheet names its questions (`Problem 1` ... `3.` is item 3 of problem 1, `1.` under it
    restates the question), otherwise a question. With `tagged` (a test on labels), a display formula ending in
    a label (display_tag) opens that section too when `tagged(label)` holds for the label it gets here: the
    margin label of a right-to-left sheet (seed 002: `\quad (2)`, `\quad (۴)`); other tags stay equation numbers, and
    so do all of them on a sheet with two question headings or more."""
    tags = _display_tags(text) if tagged is not None else []
    if tags and sum(1 for m in _Q_HEADING.finditer(text)) + sum(1 for m in _CIRCLED_HEADING.finditer(text)) >= 2:
        tags = []  # a sheet that names its questions (`Question 1`, `Question 2`) numbers its equations with tags
    heads = _headings(text, tags)
    drop = {off for off, lab, tag in heads if tag and not tagged(lab)}
    while drop:  # a tag dropped changes what the labels after it are under: read them again without it
        tags = [t for t in tags if t[0] not in drop]
        heads = _headings(text, tags)
        drop = {off for off, lab, tag in heads if tag and not tagged(lab)}
    return [(off, lab) for off, lab, _ in heads]


def _display_tags(text: str) -> list[tuple[int, str, str, str]]:
    """The tags of the display formulas of a text as headings (offset of the formula, kind, a, b)."""
    try:
        blocks = _blocks(text)
    except ReadError:
        return []
    out = []
    for start, end, inline in blocks:
        t = None if inline else display_tag(text[start:end])
        if t is not None:
            kind = "num" if t[1].isdigit() else "item"
            # at the `$$` that opens the formula: the formula itself is under the label
            out.append((start - 1, kind, t[1] if kind == "num" else _ITEM_LETTERS.get(t[1], t[1]), ""))
    return out


def _headings(text: str, tags: list[tuple[int, str, str, str]]) -> list[tuple[int, str, bool]]:
    """sheet_headings with the tags of display formulas among the headings, each heading marked whether a tag."""
    found: list[tuple[int, str, str, str]] = []  # (offset, kind, a, b)
    for m in _Q_HEADING.finditer(text):
        q = m.group(1).translate(_DIGITS)
        found.append((m.start(), "q", _PERSIAN_ORDINALS.get(q, q), ""))
    for m in _CIRCLED_HEADING.finditer(text):
        found.append((m.start(), "q", str(ord(m.group(1)) - 0x2460 + 1), ""))
    for m in _HASH_HEADING.finditer(text):
        found.append((m.start(), "q", m.group(1).translate(_DIGITS), ""))
    for m in _NUM_HEADING.finditer(text):
        found.append((m.start(), "num", m.group(1).translate(_DIGITS),
                      (m.group(2) or m.group(3) or "").lower().translate(_DIGITS)))
    for m in _ITEM_HEADING.finditer(text):
        found.append((m.start(), "item", _ITEM_LETTERS.get(m.group(1) or m.group(2), m.group(1) or m.group(2)), ""))
    tag_offsets = {t[0] for t in tags}
    found += tags
    found.sort(key=lambda f: (f[0], f[1] != "q"))  # at one line start a question heading wins (`## 1.`)
    out: list[tuple[int, str, bool]] = []
    q, named, seen = "", False, -1
    for off, kind, a, b in found:
        if off == seen:
            continue  # one heading per line start
        seen = off
        tag = off in tag_offsets
        if kind == "q":
            q, named = a, True
            out.append((off, q, tag))
        elif kind == "num" and b:
            q = a
            out.append((off, f"{a}.{b}", tag))
        elif kind == "num":
            if named and a != q:
                out.append((off, f"{q}.{a}", tag))
            elif not named:
                q = a
                out.append((off, a, tag))
        else:
            out.append((off, f"{q}.{a}" if q else a, tag))
    return out


def section_matches(section: str, labels: list[str]) -> bool:
    """Whether a sheet section (`2.c`) lies under one of a key part's labels (`2.c`, or `2` for all of it; `2.` for
    question 2's own lines before its first item, so that a key can have a part for them apart from its items)."""
    for lab in labels:
        own = lab.strip()
        if own.endswith(".") and "." not in section_label(own[:-1]):
            if section == section_label(own[:-1]):
                return True
            continue
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
    if path.endswith(".tex"):
        text = tex_comments_blanked(text)
    sheet = Sheet(path, lines=text.splitlines())
    src = Source(text, path)
    key_parts = {p.name: p for p in key.parts} if key is not None else {}
    latex_names = key.latex_names if key is not None else {}
    default = part if part in key_parts else (next(iter(key_parts)) if len(key_parts) == 1 else None)
    names_cache: dict[str | None, Names] = {}
    local: dict[str, dict[str, tuple]] = {}  # section -> the student's own definitions made there (name -> ...)
    notations: dict[str, set[str]] = {}  # section -> the names the student defined in notation the key lacks
    laws: dict[str, dict[str, str]] = {}  # section -> the laws the student states there (`S \sim N(0, I_k)`)
    prose_case, prev_end = False, 0  # the `= ...` blocks after a hypothesis in prose; where the last block ended

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
    builder = ChainBuilder(src)
    formulas: list[tuple[Formula, str | None, Names]] = []
    mk = hk = 0
    current: str | None = None  # the part named by the last marker
    headings = sheet_headings(text, lambda lab: any(section_matches(lab, labs) for labs in sections.values())) \
        if sections else []
    section = ""
    section_part: str | None = None  # the key part answered under the current heading
    case: Formula | None = None  # the case of the sentence being read (`if $0 < x < 1$, then ...`)
    last_inline: tuple[Formula, int] | None = None  # the last inline formula read, and where its `$` closes
    last_display: tuple[Formula, int] | None = None  # the last display block's formula (if one), and where it ends
    joint, pending = -1, None  # where the case's last condition closes; a `, $b = 0$` that may be another one
    case_end = -1

    def flush() -> None:
        nonlocal formulas, builder
        for f, _, _ in formulas:
            if f.notation and not _used_later(f, src):
                f.notation = None  # named and never used: the student's result under a new name, not notation
        chains, orphans, skipped = build_chains(formulas, src, " in the key", builder, sheet.formulas, section)
        for c in chains:  # the student's definitions the chain's lines may use, for checking them
            c.define = [d[2] for d in local.get(section, {}).values()]
        sheet.chains.extend(chains)
        sheet.errors.extend(orphans)
        sheet.skipped += skipped
        formulas = []
        builder = ChainBuilder(src)

    for start, end, inline in blocks:
        crossed = False
        marked = -1  # where the last marker crossed here is
        while mk < len(markers) and markers[mk][0] < start:
            current = markers[mk][1] if markers[mk][1] in key_parts or key is None else current
            crossed, marked = True, markers[mk][0]
            mk += 1
        new_section = section
        while hk < len(headings) and headings[hk][0] < start:
            new_section = headings[hk][1]
            if sections and headings[hk][0] > marked:
                current = None  # a heading after a `part:` marker starts a section of its own
            hk += 1
        if crossed or new_section != section:  # a part marker or a heading ends the chain before it
            flush()
            prose_case = False
            section = new_section
            section_part = next((n for n, labs in (sections or {}).items() if section_matches(section, labs)), None)
        tag = None if inline else display_tag(text[start:end])
        try:
            found = block_formulas(src, start, end)
            if tag is not None:  # the label (`\quad (2)`) is not a formula
                found = [f for f in found if f.start < start + tag[0]]
        except ProofcheckError as exc:
            if not inline:
                sheet.errors.append(exc)
            sp = exc.span or src.span(start)
            body = text[start:end]
            sheet.formulas.append(FormulaNote(sp.line, sp.col, "not read", " ".join(exc.message.split()), section,
                                              inline, bool(_RELATION_TEXT.search(body)),
                                              " ".join(body.split())[:200]))
            continue
        for f in found if sections and key is not None else []:
            # `Let $S \sim N(0, I_k)$`, `E_{z \sim N(\mu, \sigma^2)}[...]`: a bare E[...] of S, or `E_{z \sim \dots}`, later in
            # the section averages over S (z) with that law; a variable given two laws in a section gets none
            names = _with_local(names_for(current or section_part or default), local.get(section, {}),
                                laws.get(section, {}))
            for var, law in _sheet_laws(f, text, names):
                known = laws.setdefault(section, {})
                known[var] = law if known.get(var, law) == law else ""
        last = found[-1] if found and not inline else None
        if last is not None and not last.dead and len(last.segments) >= 2 and last.segments[0].rel is None and \
                last.segments[0].toks and _PLUS_CONSTANT.search(text[start:end + 2]) and \
                _reads(last.segments[0].toks, names_for(current or section_part or default), src):
            # `A = B + \text{Constant.}`: equal up to a constant the student does not write out, so not an exact step;
            # it starts no chain (its first side reads: the chain would be graded as if it were one)
            line, col = src.pos(last.segments[0].toks[0].start)
            body = " ".join(text[last.start:end].split())[:200]
            sheet.formulas.append(FormulaNote(line, col, "not read", UP_TO_CONSTANT, section, False, True, body))
            found = found[:-1]
        for f in [f for f in found if _entries_vector(f, text)]:
            # `z \triangleq \begin{bmatrix} z_1 \\ \vdots \\ z_k \end{bmatrix}`: notation for the entries of z
            line, col = src.pos(f.segments[0].toks[0].start)
            body = " ".join(text[f.start:max(t.end for sg in f.segments for t in sg.toks)].split())[:200]
            sheet.formulas.append(FormulaNote(line, col, "definition", "the vector written as the column of its own "
                                              "entries: notation for its entries, not a step", section, inline, True,
                                              body))
            found = [g for g in found if g is not f]
        if not inline and found and found[0].segments[0].rel is not None:
            if prose_case or _PROSE_CASE.search(text, prev_end, start) and _PROSE_MATH.search(text, prev_end, start):
                # `if Σ is diagonal with entries σ_i^2, we have: $$= ...$$`: a step under a hypothesis written in prose
                # (math outside $...$) is not a step of the chain before it, nor are the `= ...` blocks after it
                prose_case = True
                for f in found:
                    line, col = src.pos(f.segments[0].toks[0].start if f.segments[0].toks else f.start)
                    body = " ".join(text[f.start:max((t.end for sg in f.segments for t in sg.toks),
                                                     default=f.start)].split())[:200]
                    sheet.formulas.append(FormulaNote(line, col, "not read", UNDER_PROSE_CASE, section, False,
                                                      True, body))
                found = []
        elif found:
            prose_case = False
        if not inline:
            _leading_case(found, text, start, last_inline)
            last_display = (found[0], end - 1) if len(found) == 1 else None  # (end - 1: as an inline `$`)
        prev_end = end
        if inline:
            kept = _inline_formulas(found, text, start)
            if last_inline is not None and last_inline[0].dead and \
                    re.fullmatch(r"\s*,?\s*or\s*", text[last_inline[1] + 1:start - 1]):
                for f in kept:  # `when $y = 0$ or $x > 0$`: the other half of the condition
                    f.dead = True
            _trailing_case(kept, text, start, last_inline)
            _case_after_display(kept, text, start, last_display)
            last_inline = (kept[-1], end) if kept else None
            opened = case
            case, case_end = _case_of(kept, text, start, end, case, case_end)
            if case is not opened:
                joint, pending = (end if case is not None else -1), None
            elif case is not None and len(kept) == 1:
                joint, pending = _join_condition(kept[0], case, joint, pending, text, start, end)
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
            base = names_for(owner)
            here = local.setdefault(section, {})
            names = _with_local(base, here, laws.get(section, {}))
            if _states_model_law(f, text, names) or _reparameterisation(f, found, text) or _event_model(f, text):
                f.dead = True
            # only where the grader checks chains with the student's definitions (a key with sections)
            d = _local_definition(f, names, src) if sections and key is not None else None
            if d is not None:
                here[d[0]] = d
                f.defines = d[0]
                names = _with_local(base, here, laws.get(section, {}))
            elif sections and key is not None:
                seen = notations.setdefault(section, set())
                f.notation = _notation(f, names, src, seen)
                if f.notation:
                    seen.add(f.notation)
            formulas.append((f, current or section_part, names))
    flush()
    return sheet


_ENTRY = r"\s*{v}\s*_\s*(?:\{{\s*{i}\s*\}}|{i})\s*"
_DOTS = r"\s*\\(?:vdots|dots|cdots|ldots)\s*"


def _entries_vector(f: Formula, text: str) -> bool:
    r"""`z \triangleq \begin{bmatrix} z_1 \\ z_2 \\ \vdots \\ z_k \end{bmatrix}` (or `:=`, `=`, a row, `pmatrix`): a
    vector written as the column (or row) of its own entries z_1, ..., z_k, which only names the entries."""
    if f.error is not None or f.dead or len(f.segments) != 2 or len(f.segments[0].toks) != 1 or \
            f.segments[1].rel is None or f.segments[1].rel.value not in ("=", ":=", "\\triangleq", "\\coloneqq", "≜"):
        return False
    head, body = f.segments[0].toks[0], f.segments[1].toks
    if not body or head.kind not in ("word", "greek") or not body[0].at("matbegin", None):
        return False
    v = re.escape(text[head.start:head.end])
    inner = text[body[0].end:body[-1].start]
    sep = r"(?:\\\\|&)"
    pattern = (_ENTRY.format(v=v, i="1") + sep + rf"(?:{_ENTRY.format(v=v, i='2')}{sep})?" + _DOTS + sep +
               _ENTRY.format(v=v, i=r"[A-Za-z0-9]+"))
    return body[-1].at("matend", None) and re.fullmatch(pattern, inner) is not None


_DEFINITION_HEAD = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\(\s*([A-Za-z][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z][A-Za-z0-9_]*)*)"
                              r"\s*\))?\s*")


def _with_local(base: Names, local: dict[str, tuple], laws: dict[str, str] | None = None) -> Names:
    """A part's names with the student's own definitions and stated laws of one section added."""
    if not local and not laws:
        return base
    return replace(base, defines={**base.defines, **{n: d[1] for n, d in local.items()}},
                   laws={**base.laws, **(laws or {})})


def _reads(toks, names: Names, src: Source) -> bool:
    """Whether an expression's tokens translate with these names."""
    try:
        translate_tokens(toks, names, src, "", toks[-1].end)
    except ProofcheckError:
        return False
    return True


_SIM_STATEMENT = re.compile(r"\s*([A-Za-z]|\\[A-Za-z]+)\s*&?\s*\\sim\s*(.+?)\s*$", re.S)


# `p_\theta(x|z) = \mathcal{N}(f(z), \sigma^2 I)`: a density of the key's `densities:` given its family
_MODEL_LAW = re.compile(r"\s*(\\?[A-Za-z]+(?:_\s*(?:\{[^{}]*\}|\\?[A-Za-z0-9]+))?)\s*(?:\\left)?\s*\([^()]*\)\s*&?\s*"
                        r"(?:=|\\sim)\s*&?\s*(?:\\mathcal\s*\{\s*N\s*\}|N|\\text\s*\{\s*(?:Bern|Cat|Unif)[a-z]*\s*\}|"
                        r"\\operatorname\s*\{\s*(?:Bern|Cat|Unif)[a-z]*\s*\})\s*(?:\\left)?\s*\(.*", re.S)


def _states_model_law(f: Formula, text: str, names: Names) -> bool:
    r"""`p_\theta(z) = \mathcal{N}(0, I)` for a letter of the key's `densities:`: the student states the model (what
    family the density is), a declaration like `z \sim \mathcal{N}(0, I)`, not a step to check."""
    if not names.densities or f.error is not None or f.dead or len(f.segments) != 2 or not f.segments[-1].toks:
        return False
    m = _MODEL_LAW.fullmatch(text[f.start:f.segments[-1].toks[-1].end])
    if m is None:
        return False
    head = re.sub(r"[{}\\\s]", "", m.group(1))
    return names.density_letter([head]) is not None


def _reparameterisation(f: Formula, found: list[Formula], text: str) -> bool:
    r"""`z = \mu_\phi(x) + \sigma_\phi(x) \odot \epsilon, \epsilon \sim \mathcal{N}(0, I)` (seed 000, lines 81-85): a
    name set to an expression in a noise variable whose Gaussian law the next formula of the block states is how
    that name is drawn (the reparameterisation trick), a declaration like `z \sim \mathcal{N}(\mu, \sigma^2)`, not
    a step."""
    k = next((i for i, g in enumerate(found) if g is f), None)
    if k is None or k + 1 >= len(found) or f.error is not None or f.dead or len(f.segments) != 2 or \
            not f.segments[0].toks or not f.segments[1].toks or f.segments[1].rel is None or \
            f.segments[1].rel.value != "=":
        return False
    nxt = found[k + 1]
    if not nxt.segments or not nxt.segments[-1].toks:
        return False
    law = _SIM_STATEMENT.fullmatch(text[nxt.start:nxt.segments[-1].toks[-1].end])
    if law is None or not re.match(r"\s*(?:\\mathcal\s*\{\s*N\s*\}|N)\s*(?:\\left)?\s*\(", law.group(2)):
        return False
    noise = rf"{re.escape(law.group(1))}(?![A-Za-z])"
    head = text[f.segments[0].toks[0].start:f.segments[0].toks[-1].end]
    body = text[f.segments[1].toks[0].start:f.segments[1].toks[-1].end]
    return _NAME_HEAD.fullmatch(head) is not None and re.search(noise, body) is not None


# `p_w(y=1|x) = \frac{1}{1 + \exp(w^T x)}`: the probability of an event under the student's model
_EVENT_MODEL = re.compile(r"\s*(?:[a-z]\)\s*)?[A-Za-z](?:_\s*(?:\{[^{}]*\}|\\?[A-Za-z0-9]+))?\s*(?:\\left)?\(\s*[A-Za-z]\s*=\s*"
                          r"[0-9A-Za-z.-]+\s*(?:\||\\mid)[^()=]*\)\s*=[^=]*", re.S)


def _event_model(f: Formula, text: str) -> bool:
    r"""`p_w(y=1|x) = \frac{1}{1 + \exp(w^T x)}` (seed 001, line 130): one variable's value conditioned on others,
    set to a formula: the student states the model (a logistic discriminator), not a step."""
    if f.error is not None or f.dead or not f.segments or not f.segments[-1].toks:
        return False
    return _EVENT_MODEL.fullmatch(text[f.start:f.segments[-1].toks[-1].end]) is not None


# a name, with a subscript and a sample index (`z^{(i)}`)
_NAME_HEAD = re.compile(r"\s*\\?[A-Za-z]+(?:_\s*(?:\{[^{}]*\}|\\?[A-Za-z0-9]+))?(?:\^\{\([a-z]\)\})?\s*")


_E_SUBSCRIPT = re.compile(r"(?:\\mathbb\s*\{\s*E\s*\}|(?<![A-Za-z\\])E)\s*_\s*\{")


def _sheet_laws(f: Formula, text: str, names: Names) -> list[tuple[str, str]]:
    r"""The laws the student states for declared variables (not densities) in a formula, as (name, law) in the key's
    language: the whole formula `S \sim \mathcal{N}(0, I_k)` (after `Let`, a condition), or the subscript of an
    expectation `E_{z \sim \mathcal{N}(\mu, \sigma^2)}[...]`; those whose law reads."""
    if f.error is not None or not f.segments or not f.segments[-1].toks:
        return []
    body = text[f.start:f.segments[-1].toks[-1].end]
    stated: list[tuple[str, str]] = []
    m = _SIM_STATEMENT.fullmatch(body) if f.dead and len(f.segments) == 1 else None
    if m is not None:
        stated.append((m.group(1), m.group(2)))
    for e in _E_SUBSCRIPT.finditer(body):
        depth, k = 1, e.end()
        while k < len(body) and depth:
            depth += {"{": 1, "}": -1}.get(body[k], 0) if body[k - 1] != "\\" else 0
            k += 1
        m = None if depth else _SIM_STATEMENT.fullmatch(body[e.end():k - 1])
        if m is not None and not re.search(r"\\[cvl]?dots", m.group(2)):
            stated.append((m.group(1), m.group(2)))
    out = []
    for var, dist in stated:
        try:
            read = translate(f"\\mathbb{{E}}_{{{var} \\sim {dist}}}[{var}]", names)
        except ProofcheckError:
            continue
        got = re.fullmatch(r"E\[([A-Za-z][A-Za-z0-9_]*) ~ (.+)\]\(\1\)", read)
        if got is not None and names.symbols.get(got.group(1)) not in (None, "density", "function"):
            out.append((got.group(1), got.group(2)))
    return out


def _new_head(f: Formula, names: Names, src: Source) -> tuple[str, int | None] | None:
    """(name, number of parameters or None) of `NAME = ...` or `NAME(a, b) = ...` whose head is a name the key does
    not declare (the student's own notation), else None."""
    if f.error is not None or f.dead or len(f.segments) < 2 or not f.segments[0].toks or \
            f.segments[0].rel is not None:
        return None  # `\Rightarrow H = ...` states a result
    rel = f.segments[1].rel
    if rel is None or rel.kind != "rel" or rel.value != "=" or not f.segments[1].toks:
        return None
    head = f.segments[0].toks
    try:
        translate_tokens(head, names, src, "", head[-1].end)
        return None  # the head reads: a claim about the key's names
    except ProofcheckError as exc:
        m = UNDECLARED.match(exc.message)
        if m is None or exc.span is None or (exc.span.line, exc.span.col) != src.pos(head[0].start):
            return None
        name = m.group(2) or m.group(1)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or names.known(name):
        return None
    params = None
    if any(t.at("char", "(") for t in head):
        depth, commas = 0, 0
        for t in head:
            depth += t.at("char", "(") - t.at("char", ")")
            commas += depth == 1 and t.at("char", ",")
        params = commas + 1
    return name, params


def _notation(f: Formula, names: Names, src: Source, seen: set[str]) -> str | None:
    r"""`C_2 = E_{q(x)}[...]`, `\hat{x}^{(i)} = f_	heta(z^{(i)})`, `\mathcal{R}_1(\psi) = \mathbb{E}_{p_D} ...`: the
    student names a quantity of their own in notation the key does not model (the right side does not read with
    the key's names either), so there is nothing to check: a definition, not a step. Only a single `=` (a chain
    after it states results), a name not seen before in the section (written again it is a claim about it), a right
    side that does not name it, and not a matrix or vector written out or a bare value (results the student
    computed)."""
    if len(f.segments) != 2:
        return None
    found = _new_head(f, names, src)
    if found is None or found[0] in seen:
        return None
    name, params = found
    if params is None and f.inline:
        return None  # `$\lambda = 1 + h$` in a sentence is a value the student found
    body = f.segments[1].toks
    trial = replace(names, defines={**names.defines, name: params})
    try:
        translate_tokens(body, trial, src, "", body[-1].end)
        return None  # it reads: _local_definition's business (or a result it declined)
    except ProofcheckError as exc:
        if UNDECLARED.match(exc.message) is None:
            return None  # a formula that does not parse is not read (it may be a wrong answer under a new name)
    rhs = src.text[body[0].start:body[-1].end]
    lhs = src.text[f.segments[0].toks[0].start:f.segments[0].toks[-1].end]
    if body[0].at("matbegin", None) or not re.search(r"[A-Za-z]", rhs) or lhs.strip() in rhs:
        return None
    return name


def _squeezed(latex: str) -> str:
    return re.sub(r"[\s{}]|\\left|\\right", "", latex)


def _used_later(f: Formula, src: Source) -> bool:
    """Whether the name f defines (its head before any `(`) is written again in a later formula of the sheet (also
    under a later heading: the ELBO defined in one question is used in the next), as a whole name (`S` is not in
    `SNR`, nor in the prose word `So`)."""
    head = f.segments[0].toks
    stop = next((t.start for t in head if t.at("char", "(")), head[-1].end)
    name = _squeezed(src.text[head[0].start:stop])
    end = max((t.end for sg in f.segments for t in sg.toks), default=f.start)
    if not name:
        return False
    whole = re.compile(rf"(?<![A-Za-z0-9\\]){re.escape(name)}(?![A-Za-z0-9])")
    try:
        blocks = _blocks(src.text)
    except ReadError:
        return False
    return any(whole.search(_squeezed(src.text[max(a, end):b])) for a, b, _ in blocks if b > end)


def _local_definition(f: Formula, names: Names, src: Source) -> tuple[str, int | None, Text] | None:
    r"""`L(\boldsymbol{w}) = \|y - Xw\|^2`, `f(a) := ...`, `J = ...` whose head is a name the key does not declare:
    the student's definition of their own notation, (name, parameters, `L(w) := ...` as ASCII), used for the rest
    of the section so that `\frac{\partial L(w)}{\partial w}` reads. The parameters must be names and everything
    on the right must read with the key's names; a matrix written out (`J = \begin{pmatrix}...`) is a result the
    student computed, not notation, and is left to be read (or not) as a step."""
    found = _new_head(f, names, src)
    if found is None:
        return None
    name, params = found
    head, rel = f.segments[0].toks, f.segments[1].rel
    trial = replace(names, defines={**names.defines, name: params})
    try:
        lhs = translate_tokens(head, trial, src, "", head[-1].end)
        rhs = translate_tokens(f.segments[1].toks, trial, src, "", f.segments[1].toks[-1].end)
    except ProofcheckError:
        return None
    lhs_text = "".join(t for t, _ in lhs.parts)
    rhs_text = "".join(t for t, _ in rhs.parts)
    m = _DEFINITION_HEAD.fullmatch(lhs_text)
    if m is None or m.group(1) != name or (params is None) != (m.group(2) is None) or "[[" in rhs_text or \
            re.search(rf"\b{re.escape(name)}\b", rhs_text):
        return None
    # a value (`\lambda = 1 + 1`) is a result the student computed; `q(z|x) = \mathcal{N}(...)` states a model
    # (a density written as its law), which the key models or not
    if not re.search(r"[A-Za-z]", rhs_text) or re.match(r"\s*(?:Normal|Bernoulli|Uniform|Dirac)\s*\(", rhs_text):
        return None
    # a vector or matrix written out (`F_1(\theta, \psi) = \begin{pmatrix}...`) is left alone: its Jacobian `F_1'`
    # would not mean what the sheet means. A name without parameters is notation when it reads as such, a Latin
    # name in display math (`J = ...`, `H = ...`); `\lambda = 1 + h` in a sentence is a value the student found
    if rhs_text.lstrip().startswith("["):
        return None
    if params is None and (f.inline or head[0].kind != "word"):
        return None
    # the checker reads a definition's parameters as scalars: `L(w) := ||y - X w||^2` with the key's vector w would
    # not parse there (its lines would be errors), so only scalar parameters make a definition
    if m.group(2) is not None and any(trial.symbols.get(p.strip()) != "scalar" for p in m.group(2).split(",")):
        return None
    end = f.segments[1].toks[-1].end
    text = emit_text(list(lhs.parts) + [(" := ", rel.start)] + list(rhs.parts), src, end,
                     " ".join(src.text[head[0].start:end].split()))
    return name, params, text


# `for all $x > 0$, $|x| = x$`; `setting $\mu_p = \mu_q$ gives $KL = 0$`
_CASE_WORDS = {"if", "when", "whenever", "all", "every", "each", "setting", "taking", "with"}
_JOINED_CONDITION = re.compile(r"\s*(,|,?\s*and)\s*")
_SIMPLE = r"(?:-?\s*\d+(?:\.\d+)?|-?\s*\\frac\s*\{\s*\d+\s*\}\s*\{\s*\d+\s*\}|\\?[A-Za-z]+(?:\s*_\s*(?:\{[^{}=]*\}|\\?[A-Za-z0-9]+))?)"
_VALUE_ASSIGNMENT = re.compile(rf"\s*{_SIMPLE}\s*(?:=|<|>|\\leq?|\\geq?)\s*{_SIMPLE}\s*")


def _join_condition(f: Formula, case: Formula, joint: int, pending: tuple[Formula, int] | None, text: str,
                    start: int, end: int) -> tuple[int, tuple[Formula, int] | None]:
    r"""`With $\mu_p = 2$, $\mu_q = 0$, we get $KL = ...$`, `If $a = 1$ and $b = 2$, then ...`: conditions joined to
    the case by a comma or `and` are part of it (Formula.also). A condition after `and` is one at once; after a comma
    only a value or bound (`$b = 0$`, `$b > 0$`) with a result after it in the same sentence (in `If $x = 1$, $y =
    2$.` the value is the result). Returns where the case's last condition closes and the value that may be one."""
    if pending is not None:
        value, value_end = pending
        if not f.dead and any(sg.rel is not None for sg in f.segments) and \
                not re.search(r"\.\s|\n\s*\n", text[value_end + 1:start - 1]):
            value.dead, value.case = True, None
            case.also.append(value)
            f.case = case
        pending = None
    if joint < 0 or _JOINED_CONDITION.fullmatch(text, joint + 1, start - 1) is None or f.error is not None:
        return joint, pending
    if f.dead and states_a_case(f):
        case.also.append(f)
        return end, None
    if not f.dead and "and" not in text[joint + 1:start - 1] and \
            _VALUE_ASSIGNMENT.fullmatch(text[f.start:max((t.end for sg in f.segments for t in sg.toks),
                                                         default=f.start)]):
        return end, (f, end)
    return joint, pending


_TRAILING_CASE = re.compile(r"\s*(?:for|if|when|whenever|provided|assuming)\s*", re.IGNORECASE)


# `$$KL = ... = 0$$ when $\mu_p = \mu_q$.`: the sentence goes on after the display (lower case: `For $x > 0$, ...`
# after a display opens a sentence about what follows)
_AFTER_DISPLAY_CASE = re.compile(r"\s*(?:\$\$|\\\]|\\end\{[a-z]+\*?\})?[ \t]*(?:\n[ \t]*)?,?\s*"
                                 r"(?:for|if|when|whenever)\s*")


def _trailing_case(kept: list[Formula], text: str, start: int, last: tuple[Formula, int] | None,
                   joined: re.Pattern = _TRAILING_CASE) -> None:
    r"""`$|x| = x$ for $x > 0$`: a condition right after a result, joined by one word, is the case the result is
    stated under (checked so, like `if $x > 0$, then $|x| = x$`): an inequality or one equation, in one formula
    (`for $i = 1, \dots, n$` enumerates)."""
    if last is None or len(kept) != 1 or not kept[0].dead or kept[0].error is not None:
        return
    result, end = last
    if result.dead or result.error is not None or result.case is not None or \
            not any(sg.rel is not None for sg in result.segments) or \
            joined.fullmatch(text, end + 1, start - 1) is None:  # (end, start: inside the `$`s)
        return
    if states_a_case(kept[0]):
        result.case = kept[0]


def _case_after_display(kept: list[Formula], text: str, start: int, last: tuple[Formula, int] | None) -> None:
    r"""`$$KL = ... = 0$$ when $\mu_p = \mu_q$.`: a trailing case (as _trailing_case) for a display the sentence goes on
    after, when the condition sets one value and the display ends on its value there; one that ends on a formula in
    the case's names (`= \frac{(\mu_p - \mu_q)^2}{2\sigma^2}$$ when $\mu_p = \mu_q$ this vanishes`) is the general
    result, which the sentence remarks on."""
    if last is None or len(kept) != 1 or not last[0].segments or not last[0].segments[-1].toks or \
            not _one_value(kept[0], text):
        return
    toks = last[0].segments[-1].toks
    sides = [text[sg.toks[0].start:sg.toks[-1].end] for sg in kept[0].segments if sg.toks]
    ends_on = _squeezed(text[toks[0].start:toks[-1].end])
    if not any(re.fullmatch(r"\s*\\?[A-Za-z].*", side) and _squeezed(side) in ends_on for side in sides):
        _trailing_case(kept, text, start, last, _AFTER_DISPLAY_CASE)


def _one_value(case: Formula, text: str) -> bool:
    """Whether a condition written beside a display sets one variable to one value (`$\\mu_q = 0$`, not followed by
    `or`): the question at that value. A region (`for $x > 0$`) there often states the domain of the whole derivation,
    and an identity (`with $(x+y)^2 = ...$`) is a fact the student uses: neither makes the display a special case."""
    end = max((t.end for sg in case.segments for t in sg.toks), default=case.start)
    body = text[case.start:end]
    close = text.find("$", end)
    return "=" in body and _VALUE_ASSIGNMENT.fullmatch(body) is not None and \
        not re.match(r"\$?\s*or\b", text[close:close + 8] if close >= 0 else "")


# `Setting $\mu_q = 0$:` (or `,`) and then the display: the display is the result in that case
# `Let $y = 0$. Then $$...$$` too
_BEFORE_DISPLAY = re.compile(r"\s*(?:\([^()$]*\))?\s*(?:[:,]|[.;,]?\s*(?:[Tt]hen|[Ss]o|[Ww]e\s+(?:get|have)),?:?)\s*"
                             r"(?:\$\$|\\\[|\\begin\{[a-z]+\*?\})?\s*")
_LEADING_CASE_WORDS = {"if", "when", "setting", "taking", "for", "let", "assume", "assuming", "suppose", "generality",
                       "wlog"}


def _leading_case(found: list[Formula], text: str, start: int, last: tuple[Formula, int] | None) -> None:
    r"""`Setting $\mu_q = 0$: $$KL = \frac{\mu_p^2}{2\sigma^2}$$`: a condition opened by a case word that ends its
    sentence with a colon (or comma) right before a display of one formula is the case that formula is stated
    under, checked so like `if $\mu_q = 0$, then $...$`. A display that continues a chain (`= ...`) is not."""
    if last is None or len(found) != 1:
        return
    case, end = last
    f = found[0]
    if not case.dead or case.error is not None or f.dead or f.error is not None or f.case is not None or \
            not f.segments or f.segments[0].rel is not None or not any(sg.rel is not None for sg in f.segments) or \
            _BEFORE_DISPLAY.fullmatch(text, end + 1, start) is None:
        return
    line_start = text.rfind("\n", 0, case.start) + 1
    opened = _open_dollar(text, case.start)
    m = _LAST_WORD.search(text, line_start, opened)
    if (m and m.group(1).lower() in _LEADING_CASE_WORDS or _PERSIAN_CONDITION.search(text, line_start, opened)) and \
            _one_value(case, text):
        f.case = case


def _open_dollar(text: str, at: int) -> int:
    """Where the `$` (or `\\(`) that opens the inline formula starting at `at` is."""
    k = text.rfind("$", 0, at)
    j = text.rfind("\\(", 0, at)
    return max(k, j, 0)


def _case_of(kept: list[Formula], text: str, start: int, end: int, case: Formula | None,
             case_end: int) -> tuple[Formula | None, int]:
    """`If $\\gamma \\geq 1$, then $\\sqrt{\\gamma^2 - 1} \\geq 0$, and thus $... < 0$. For the second eigenvalue,
    ... $\\gamma > \\sqrt{\\gamma^2 - 1}$`: a case opened by `if`/`when` holds for the formulas after it up to the end
    of its paragraph, or until another case opens (seed 004, line 516: the argument for the case goes on over several
    sentences); they are checked under it (chains.build_chains), and such a step never earns the credit of an
    unconditional claim. Returns the case and where its paragraph ends, for the next inline formula."""
    if case is not None and start < case_end:
        for f in kept:
            if not f.dead:
                f.case = case
    line_start = text.rfind("\n", 0, start - 1) + 1
    m = _LAST_WORD.search(text, line_start, start - 1)
    persian = _PERSIAN_CONDITION.search(text, line_start, start - 1)  # `اگر $x = 1$ آنگاه $...$`
    if (m and m.group(1).lower() in _CASE_WORDS or persian) and len(kept) == 1 and kept[0].error is None:
        stop = text.find("\n", end)
        return kept[0], (stop if stop >= 0 else len(text))
    if case is not None and start >= case_end:
        return None, -1
    return case, case_end


def _defines_key_name(f: Formula, names: Names, src: Source) -> bool:
    """Whether a formula (`\\mu_Q(z_t, x) = ...`, `\\sigma_Q^2 = ...`) states the value of a name the key defines:
    then it is the student's claim about that name, not a condition of their own."""
    if f.error is not None or len(f.segments) < 2 or not f.segments[0].toks:
        return False
    try:
        head = translate_tokens(f.segments[0].toks, names, src, "", f.segments[0].toks[-1].end).text
    except ProofcheckError:
        return False
    m = re.fullmatch(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\(.*\))?\s*(?:\^.*)?", head)
    return bool(m) and m.group(1) in names.defines


_RELATION_TEXT = re.compile(r"=|<|>|\\(?:le|ge|leq|geq|neq|ne|approx|Rightarrow|Leftrightarrow|iff|implies|to|"
                            r"rightarrow|Longrightarrow)\b")


_INLINE_CONDITION_WORDS = CONDITION_WORDS | {"all", "every", "each", "at", "setting", "set", "put", "take", "taking",
                                             "choose", "choosing", "substituting", "plugging", "on", "in", "over",
                                             "whose", "such", "generality", "wlog", "need", "needs", "require",
                                             "requires"}  # `we need $f(x) = 0$`
_LAST_WORD = re.compile(r"([A-Za-z]+)[^A-Za-z$]*$")


def _arrow_and_name(f: Formula) -> bool:
    """`$\\Rightarrow f$ convex when ...` (seed 001, lines 142, 152): an arrow and one name in a sentence is the prose
    "hence f", a name in a sentence like `$f$`; the arrow joins no two statements."""
    if len(f.segments) != 1 or f.segments[0].rel is None or f.segments[0].rel.kind not in ("impl", "arrow"):
        return False
    toks = f.segments[0].toks
    return len(toks) == 1 and toks[0].kind in ("word", "greek")


def _inline_formulas(found: list[Formula], text: str, start: int) -> list[Formula]:
    """The formulas of one inline $...$ that take part in chains: those with a relation. A lone
    expression (`$x$`, `$\\sigma_t$`) is a name in a sentence, not a step, and leaves the chain
    around it alone; after `where`, `if`, `at`, `let`, ... the formula is a condition."""
    found = [f for f in found if any(s.rel is not None for s in f.segments) and not _arrow_and_name(f)]
    for f in found:
        f.inline = True
    line_start = text.rfind("\n", 0, start - 1) + 1
    m = _LAST_WORD.search(text, line_start, start - 1)
    if m and m.group(1).lower() in _INLINE_CONDITION_WORDS or _PERSIAN_CONDITION.search(text, line_start, start - 1) \
            or _SUCH_THAT.search(text, line_start, start - 1):
        for f in found:
            f.dead = True
            if m and m.group(1).lower() in _ASSERTING:
                f.asserted = m.group(1).lower()
    return found


# `since $A$`, `as $A$`, `and $A$`: A is the student's claim, read as a condition (it may be a hypothesis of theirs),
# so it is not checked; the part is flagged for a person (a wrong one after a right derivation kept full marks unseen)
_ASSERTING = {"since", "because", "as", "and"}


# `such that $x > 0$`, `in the domain that $C \geq 0$ we have` (seed 001, line 154)
_SUCH_THAT = re.compile(r"\b(?:such|domain|region)\s+that\s*$", re.IGNORECASE)


# `اگر $0 \leq hf'(0)$ ...` (seed 000, line 307): if, when, whenever, suppose, for (each) in Persian
# and `با در نظر گرفتن $(\theta,\psi) = (0,0)$` (taking, considering: seed 000, line 244)
# and `اگر فرض کنیم $\sigma_\phi \rightarrow 0$` ("if we assume", seed 002, line 75)
_PERSIAN_CONDITION = re.compile(r"(?:اگر|وقتی(?:\s*که)?|هرگاه|فرض\s*کن[یي](?:د|م)|به\s*ازای|(?:با\s*)?در\s*نظر\s*گرفتن)\s*$")


def chains_for_part(sheet: Sheet, part: str) -> list[Chain]:
    """The chains to grade against a key part: those assigned to it by a marker, else the unassigned ones."""
    named = [c for c in sheet.chains if c.part == part]
    return named or [c for c in sheet.chains if c.part is None]


def sheet_chains(text: str, path: str, key: Derivation, part: str,
                 formulas: list | None = None) -> tuple[list[Chain], list[ProofcheckError]]:
    """For `proofcheck grade`: every chain of a Markdown/LaTeX sheet that belongs to key part `part`, in the
    order written, and what in the sheet could not be read.

    The chains are those after a `part: NAME` marker for that part, else those without a marker. A chain
    whose first line is the previous chain's last line (a derivation carried on in the next block) is
    joined to it. Nothing is chosen here: which lines are work and which only restate the question or its
    result is decided on the parsed formulas by the grader. Raises ReadError when the sheet holds no chain;
    a formula that could not be translated keeps its error on its step."""
    sheet = read_markdown(text, path, key, part)
    if formulas is not None:  # what became of every formula, for the grade's record
        formulas.extend(sheet.formulas)
    chains = chains_for_part(sheet, part)
    # the lines a chain loses because they could not be read (its whole self when too little is left) are errors
    # of the sheet: nothing is dropped without a word
    dropped = []
    for c in chains:
        kept = _readable_start(c)
        lost = len(c.steps) if kept is None else len(c.steps) - len(kept.steps)
        dropped += [t.error for t in c.steps[:lost] if getattr(t, "error", None) is not None]
    errors = list(sheet.errors) + [e for e in dropped if e not in sheet.errors]
    if not chains:
        if sheet.errors:
            raise sheet.errors[0]
        raise ReadError("no chain of relations in the formulas ($$ ... $$ or $ ... $) of this sheet",
                        Span(path, 1, 1))
    return _joined(chains), errors


def sheet_sections(text: str, path: str, key: Derivation, sections: dict[str, list[str]]) -> tuple[
        dict[str, list[Chain]], Sheet]:
    """For `proofcheck grade` with a key whose parts name their sections: the sheet read once, split at its
    headings, and for each key part the chains written under its headings (joined as in sheet_chains).
    Sheet.formulas records every formula with its section, so what is not read is never silent."""
    sheet = read_markdown(text, path, key, None, sections)
    _note_dropped_chains(sheet)
    out: dict[str, list[Chain]] = {}
    def marked(c: Chain) -> str | None:
        # a `part: NAME` marker names the part itself, whatever heading the chain is under (without one, a chain's
        # part is the first whose section it is under, and it belongs to every part whose section matches)
        first = next((n for n, labs in sections.items() if section_matches(c.section, labs)), None)
        return c.part if c.part in sections and c.part != first else None

    for name, labels in sections.items():
        chains = [c for c in sheet.chains if marked(c) == name or marked(c) is None and
                  section_matches(c.section, labels)]
        if chains:
            out[name] = _joined(chains)
        _note_remarks(sheet, labels, chains, out.get(name, []))
    return out, sheet


_APPROXIMATE = re.compile(r"^[≈∝≃≪] is not a relation proofcheck can check")
# `... = E[...] + \text{Constant.}`: an equality up to an additive constant the student does not write out
_PLUS_CONSTANT = re.compile(r"\+\s*\\(?:text|mathrm|textrm|operatorname)\s*\{\s*(?:const|constant)\.?\s*\}\s*\.?\s*"
                            r"(?:\$\$|\\\]|\$)", re.IGNORECASE)
UNDER_PROSE_CASE = ("stated under a hypothesis written in prose before it (`if Σ is diagonal ...`), which cannot be "
                    "read: not a step of the chain before it")
# a case opened in prose, and math written outside $...$ in it (Greek letters, sub- and superscripts)
_PROSE_CASE = re.compile(r"(?i:\b(?:if|when|whenever|suppose|assume|assuming)\b)|اگر|فرض")
_PROSE_MATH = re.compile(r"[\u0391-\u03a9\u03b1-\u03c9]|[A-Za-z0-9]\s*[_^]")
UP_TO_CONSTANT = ("an equality up to an additive constant (`+ const`) the student does not write out: not an exact "
                  "step, so it starts no chain")
_OTHER_DENSITY = re.compile(r"^`([^`(]*\(\.\.\.\|\.\.\.\))`: .* another density under the same letter")


def _note_remarks(sheet: Sheet, labels: list[str], raw: list[Chain], chains: list[Chain]) -> None:
    r"""A formula of one key part that is not read only because it uses the student's own notation (a name the key
    does not declare: `p_\theta(x|z)`, `P_X`, `\psi_i`) and that lies before the chain holding the part's final
    answer is a remark in the student's notation, not a reader failure: the answer does not depend on it through
    any chain. From the start of the final chain on, such a formula may be on the path to the answer: it stays
    `not read` (and the part is flagged for review). The chain that bounds the remarks is the last one that reads at
    least one relation: a chain with none (`z = \mu_\phi(x) + ...` with only `z` read) says nothing about where the
    answer is, and a part with no such chain keeps all of them `not read` (seed 000, question 1: the KL identity of
    lines 12-14, written before such a chain, is the part's derivation)."""
    final = next((c for c in reversed(chains) if c.span is not None and _reads_a_relation(c)), None)
    if final is None:
        return
    # the final chain as graded may start after its unreadable first lines: it starts where the chain it was read
    # from starts
    start = (final.span.line, final.span.col)
    start = max(((c.span.line, c.span.col) for c in raw if c.span is not None and (c.span.line, c.span.col) <= start),
                default=start)
    # a chain that ends on the line where a later chain on the path starts leads into it (`... = A` then
    # `A = 0 \Rightarrow ...` is read as two chains): it is on the path too (seed 004, lines 121-127)
    # so does a chain whose last line the final chain starts from (`\lambda_{1,2} = a \pm b` after the matrix: the
    # step `eigenvals(M) = ...` is built from the matrix that chain ends on, seed 000 lines 324-328)
    ordered = sorted((c for c in raw if c.span is not None), key=lambda c: (c.span.line, c.span.col))
    first = _bare(final.steps[0]) if final.steps else ""
    for c in reversed(ordered):
        if (c.span.line, c.span.col) >= start:
            continue
        last = next((t.span.line for t in reversed(c.steps) if t.span is not None), None)
        end = _bare(replace(c.steps[-1], text=re.sub(r"\s+by\s.*$", "", c.steps[-1].text))) \
            if c.steps and getattr(c.steps[-1], "error", None) is None else ""
        if last is not None and last == start[0] or len(end) > 8 and end in first and end != first:
            start = (c.span.line, c.span.col)
    # the premise of a chain that is not graded (`I \rightarrow D_{xD}` before `\Rightarrow` lines) carries the
    # readable lines after it, on lines of their own: those are flagged, and their premise stays with them. A chain
    # read from one formula (`c(\theta, \psi) = (0, 0)` with `c` undeclared) has no other line to carry
    held = {(t.span.line, t.span.col) for c in raw if _readable_start(c) is None and
            any(getattr(t, "error", None) is None and t.span is not None and
                t.span.line != c.steps[0].span.line for t in c.steps if c.steps[0].span is not None)
            for t in c.steps if t.span is not None}
    for f in sheet.formulas:
        if f.kind != "not read" or not section_matches(f.section, labels) or (f.line, f.column) >= start or \
                any(line == f.line for line, _ in held):
            continue
        m = UNDECLARED.match(f.reason) or _OTHER_DENSITY.match(f.reason)
        if m:
            f.kind = "remark"
            f.reason = (f"uses `{m.group(1)}`, which the key does not model: a statement in the student's own "
                        f"notation, not on the path to the answer (not checked)")
        elif f.reason == UP_TO_CONSTANT or f.reason == "the formula ends too early" and \
                f.latex.rstrip().endswith("+") and 0 < f.line <= len(sheet.lines) and \
                _PLUS_CONSTANT.search(sheet.lines[f.line - 1]):
            f.kind = "remark"
            f.reason = ("an equality up to an additive constant (`+ const`), not on the path to the answer "
                        "(not checked)")
        elif _APPROXIMATE.match(f.reason):
            f.kind = "remark"
            f.reason = (f"an approximate or proportional statement ({f.reason[0]}), not on the path to the answer "
                        f"(not checked)")


def _reads_a_relation(c: Chain) -> bool:
    """Whether some relation of a chain has both of its sides read (a step that can be checked)."""
    return any(getattr(a, "error", None) is None and getattr(b, "error", None) is None
               for a, b in zip(c.steps, c.steps[1:]))


def _note_dropped_chains(sheet: Sheet) -> None:
    """A chain that _readable_start cannot grade (its first lines, or the premise of a `\\Rightarrow` chain, could
    not be read) is not graded at all: its readable formulas become `not read` with that reason instead of staying
    `read`, so nothing is dropped silently (seed 001, lines 97-101)."""
    graded, failed = set(), []
    for c in sheet.chains:
        kept = _readable_start(c)
        if kept is not None:
            graded |= {id(f) for t in kept.steps if getattr(t, "error", None) is None
                       for f in [_formula_at(sheet, t)] if f is not None}
            failed += [t for t in kept.steps if getattr(t, "error", None) is not None]
    for t in failed:
        # a step of a graded chain that fails as a whole (`T \to \infty`: after `\to` comes a relation) though its
        # formula translated: that formula is not read either
        note = _formula_at(sheet, t)
        if note is not None and note.kind == "read":
            note.kind, note.reason = "not read", " ".join(t.error.message.split())
    for c in sheet.chains:
        if _readable_start(c) is not None:
            continue
        bad = next((t for t in c.steps if getattr(t, "error", None) is not None), None)
        where = f"line {bad.span.line}, column {bad.span.col}" if bad is not None and bad.span else "its first line"
        reason = (f"not graded: the chain it belongs to starts from a formula that could not be read ({where})"
                  + (", the premise of its \\Rightarrow steps" if c.statement else ", and too little is left"))
        for t in c.steps:
            note = _formula_at(sheet, t)
            # only the formula the step was read from, and not one that a graded chain holds as a step (the last
            # line of a chain is also the premise of the `\to` after it: seed 000, line 221)
            if note is None or note.kind != "read" or id(note) in graded:
                continue
            err = getattr(t, "error", None)
            note.kind = "not read"
            note.reason = " ".join(err.message.split()) if err is not None else reason


def _formula_at(sheet: Sheet, t: Text):
    r"""The formula record a step was read from: on its line, the last one starting at or before where the step's
    expression starts (after its relation: `&= \int ...`, `\Rightarrow x = 1`), else the nearest one, else None."""
    if t.span is None:
        return None
    line, col = t.span.line, t.span.col
    m = re.match(r"\s*(?:<==>|==>|<=|>=|!=|=|<|>|≈)?\s*", t.text)
    charmap = getattr(t, "charmap", ())
    if m and m.end() < len(charmap) and charmap[m.end()][0] == line:
        col = charmap[m.end()][1]
    here = [f for f in sheet.formulas if f.line == line]
    before = [f for f in here if f.column <= col + 1]
    if before:
        return max(before, key=lambda f: f.column)
    return min(here, key=lambda f: abs(f.column - col)) if here else None


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
                               prev.section, prev.define + [d for d in c.define if d not in prev.define])
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
