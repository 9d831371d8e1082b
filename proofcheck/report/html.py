"""The HTML report: one self-contained page for people who would rather look than read.

Every derivation with its title, claim, hypotheses and steps typeset as MathML, as their author
wrote them (printed from the parse tree, see written.py), a coloured verdict badge per step, counterexamples in a
table and a summary at the top. The page needs no network and no JavaScript: the style sheet is
inline, links are in-page anchors, and a formula that cannot be typeset is shown as its source
text in <code>.
"""

from __future__ import annotations

import re
from html import escape

from proofcheck import __version__
from proofcheck.kernel.verdict import Status
from proofcheck.report.json_report import claim_verdict
from proofcheck.report.formula import mathml, mathml_symbol
from proofcheck.report.source import FileSource, load_source
from proofcheck.verify import FileReport, PartReport, StepReport

ORDER = (Status.PROVED, Status.NUMERIC, Status.REFUTED, Status.UNKNOWN, Status.ERROR)
RELATION_TEXT = {"<=": "\u2264", ">=": "\u2265", "!=": "\u2260", "==>": "\u27f9", "<==>": "\u27fa"}

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg);
       font: 15px/1.5 -apple-system, "Segoe UI", "Liberation Sans", "DejaVu Sans", Helvetica, Arial, sans-serif; }
header, main, footer { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0; }
h3 { font-size: 16px; margin: 0; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
.meta, .path, .muted { color: var(--muted); font-size: 13px; }
code, .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 13px; }
math { font-family: "Latin Modern Math", "STIX Two Math", "Cambria Math", "DejaVu Math TeX Gyre", math;
       font-size: 17px; }
math[display="block"] { display: inline math; math-style: normal; }  /* left-aligned, full-size */
.scroll { overflow-x: auto; overflow-y: hidden; max-width: 100%; padding: 6px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 120px;
        background: var(--panel); }
.card .n { font-size: 24px; font-weight: 600; display: block; }
.card .l { color: var(--muted); font-size: 13px; }
.card.proved .n { color: #116329; } .card.numeric .n { color: #0550ae; } .card.refuted .n { color: #a40e26; }
.card.unknown .n { color: #7d4e00; } .card.error .n { color: #8250df; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: middle; padding: 6px 10px; border-bottom: 1px solid var(--line); }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600;
     white-space: nowrap; }
.files td.status { width: 1%; white-space: nowrap; }
.steps td.status { white-space: nowrap; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 999px; font-size: 12px; font-weight: 600;
         border: 1px solid transparent; white-space: nowrap; }
.badge.proved { background: #dafbe1; color: #116329; border-color: #aceebb; }
.badge.numeric { background: #ddf4ff; color: #0550ae; border-color: #b6e3ff; }
.badge.refuted { background: #ffebe9; color: #a40e26; border-color: #ffcecb; }
.badge.unknown { background: #fff8c5; color: #7d4e00; border-color: #f5e0a0; }
.badge.error { background: #fbefff; color: #8250df; border-color: #ecd8ff; }
.badge.start { background: var(--panel); color: var(--muted); border-color: var(--line); }
.derivation { border: 1px solid var(--line); border-radius: 10px; margin: 28px 0; overflow: hidden; }
.derivation > .head { background: var(--panel); padding: 14px 18px; border-bottom: 1px solid var(--line); }
.derivation > .head h2 .badge { vertical-align: middle; margin-left: 8px; }
.derivation .body { padding: 4px 18px 14px; }
.derivation details { margin-top: 6px; font-size: 14px; }
.part { margin-top: 18px; }
.part h3 .badge { vertical-align: middle; margin-left: 6px; }
.claim { display: flex; align-items: center; gap: 14px; margin: 8px 0 4px; padding: 8px 12px;
         border-left: 4px solid var(--line); background: #fbfcfd; overflow-x: auto; }
.claim.ok { border-left-color: #1f883d; }
.claim.bad { border-left-color: #cf222e; }
.claim .label, .givens .label { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase;
                                 letter-spacing: .04em; white-space: nowrap; }
.claim-status { font-size: 13px; margin: 2px 0 8px; }
.claim-status.bad { color: #a40e26; }
.givens { margin: 6px 0; display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: center; }
.given { display: inline-flex; gap: 6px; align-items: center; }
.steps td.idx, .steps td.line { color: var(--muted); font-size: 13px; text-align: right; }
table.steps { table-layout: fixed; }
.steps col.idx { width: 40px; } .steps col.line { width: 56px; } .steps col.rule { width: 190px; }
.steps col.status { width: 96px; }
.claim .scroll { min-width: 0; }
.steps td.rule { color: var(--muted); font-size: 13px; overflow-wrap: anywhere; }
.steps tr.refuted > td { background: #fff8f7; }
.steps tr.unknown > td, .steps tr.error > td { background: #fffdf0; }
.steps tr.note > td { border-top: 0; padding-top: 0; font-size: 13px; color: var(--muted);
                      overflow-wrap: anywhere; }
.steps tr.note.refuted > td, .steps tr.note.error > td { color: #82071e; }
table.cex { width: auto; margin: 6px 0 4px; border: 1px solid #ffcecb; background: #fff; color: var(--fg); }
table.cex th, table.cex td { padding: 2px 10px; border-bottom: 1px solid #ffebe9; font-size: 13px; }
table.cex td.v { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; }
table.cex math { font-size: 15px; }
.errors { margin: 10px 0; padding: 8px 12px; border-left: 4px solid #8250df; background: #fbefff; }
.errors pre { margin: 2px 0 8px; white-space: pre-wrap; }
footer { padding: 24px; color: var(--muted); font-size: 12px; }
@media print { .derivation { break-inside: avoid-page; } a { color: inherit; } }
"""


def badge(status: Status | str) -> str:
    """A coloured badge for a verdict or status."""
    value = status.value if isinstance(status, Status) else str(status)
    return f'<span class="badge {escape(value)}">{escape(value)}</span>'


def formula_markup(display, text: str, op: str = "") -> str:
    """MathML for a formula, or its source text in <code> when it cannot be typeset."""
    markup = mathml(display, op)
    if markup is not None:
        return f'<div class="scroll">{markup}</div>'
    shown = f"{RELATION_TEXT.get(op, op)} {text}" if op else text  # a step's text never holds its relation
    return f"<code>{escape(shown)}</code>"


def _counterexample(ce: dict) -> str:
    rows = []
    for k, v in ce.items():
        if k in ("lhs", "rhs"):
            continue
        name = mathml_symbol(k) or f"<code>{escape(k)}</code>"
        rows.append(f"<tr><td>{name}</td><td class=\"v\">{escape(str(v))}</td></tr>")
    for key, label in (("lhs", "left side"), ("rhs", "right side")):
        if key in ce:
            rows.append(f"<tr><th>{label}</th><td class=\"v\">{escape(str(ce[key]))}</td></tr>")
    return ('<table class="cex"><thead><tr><th>counterexample</th><th>value</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _step_rows(anchor: str, s: StepReport) -> str:
    r = s.result
    status = r.status.value
    rule = f"by {escape(s.rule)}" if s.rule else ""
    out = [f'<tr class="step {status}" id="{anchor}-s{s.index}"><td class="idx">{s.index}</td>'
           f'<td class="line">{s.line}</td><td class="formula">{formula_markup(s.display, s.text, s.relation)}</td>'
           f'<td class="rule">{rule}</td><td class="status">{badge(r.status)}</td></tr>']
    note = escape(r.message) if r.message else ""
    if r.counterexample:
        note += _counterexample(r.counterexample)
    if note:
        out.append(f'<tr class="note {status}"><td></td><td></td><td colspan="3">{note}</td></tr>')
    return "".join(out)


def _givens(givens) -> str:
    if not givens:
        return ""
    items = "".join(f'<span class="given"><span class="muted">{escape(label)}:</span>'
                    f'{mathml(display, display=False) or formula_markup(None, text)}'
                    f"</span>" for label, text, display in givens)
    return f'<div class="givens"><span class="label">Given</span>{items}</div>'


def _part(anchor: str, f: FileReport, p: PartReport, source: FileSource) -> str:
    ps = source.parts.get(p.name)
    named = len(f.parts) > 1 or p.name != "main"
    out = [f'<section class="part" id="{anchor}">']
    if named:
        out.append(f"<h3>{escape(p.name)}{badge(p.status)}</h3>")
    if ps is not None:
        out.append(_givens(ps.givens))
    established, why = claim_verdict(p)  # established only when every step holds, as in the JSON
    ok = "ok" if established else "bad"
    if p.claim:
        claim = formula_markup(ps.claim_display if ps else None, p.claim)
        out.append(f'<div class="claim {ok}"><span class="label">Claim</span>{claim}</div>')
    if established:
        out.append('<div class="claim-status">claim established</div>')
    else:
        out.append(f'<div class="claim-status bad">claim not established: {escape(why)}</div>')
    start_line = ps.start_line if ps and ps.start_line else ""
    out.append('<table class="steps"><colgroup><col class="idx"><col class="line"><col class="formula">'
               '<col class="rule"><col class="status"></colgroup><thead><tr><th>#</th><th>line</th><th>step</th>'
               '<th>rule</th><th>verdict</th></tr></thead><tbody>')
    out.append(f'<tr class="start"><td class="idx"></td><td class="line">{start_line}</td>'
               f'<td class="formula">{formula_markup(p.start_display, p.start_text)}</td><td class="rule"></td>'
               f'<td class="status">{badge("start")}</td></tr>')
    out += [_step_rows(anchor, s) for s in p.steps]
    out.append("</tbody></table></section>")
    return "".join(out)


def _derivation(anchor: str, f: FileReport, source: FileSource) -> str:
    title = escape(f.title or f.path)
    out = [f'<article class="derivation" id="{anchor}"><div class="head">'
           f"<h2>{title}{badge(f.status)}</h2>"
           f'<div class="path mono">{escape(f.path)}</div>']
    if source.source:
        out.append(f'<div class="muted">Source: {escape(source.source)}</div>')
    if source.notes:
        out.append(f"<details><summary>Notes</summary><p>{escape(source.notes)}</p></details>")
    out.append('</div><div class="body">')
    if f.errors:
        items = "".join(f'<div class="mono">{escape(e.path or f.path)}:{e.line}:{e.column}: error: {escape(e.message)}'
                        f"</div>" + (f"<pre>{escape(e.source)}</pre>" if e.source else "") for e in f.errors)
        out.append(f'<div class="errors">{items}</div>')
    out.append(_givens(source.givens))
    out += [_part(f"{anchor}-p{i}", f, p, source) for i, p in enumerate(f.parts, 1)]
    out.append("</div></article>")
    return "".join(out)


def _summary(reports: list[FileReport], seconds: float, strict: bool) -> str:
    steps = [s.result.status for f in reports for p in f.parts for s in p.steps]
    ok = {Status.PROVED} if strict else {Status.PROVED, Status.NUMERIC}
    established = sum(1 for f in reports if f.status in ok)
    errors = sum(len(f.errors) for f in reports)
    cards = [f'<div class="card"><span class="n">{established}/{len(reports)}</span>'
             f'<span class="l">derivations established</span></div>',
             f'<div class="card"><span class="n">{len(steps)}</span><span class="l">steps</span></div>']
    for st in ORDER[:4]:
        cards.append(f'<div class="card {st.value}"><span class="n">{steps.count(st)}</span>'
                     f'<span class="l">{st.value}</span></div>')
    cards.append(f'<div class="card error"><span class="n">{errors}</span><span class="l">input errors</span></div>')
    rows = []
    for i, f in enumerate(reports, 1):
        n = sum(len(p.steps) for p in f.parts)
        bad = sum(1 for p in f.parts for s in p.steps if s.result.status not in ok)
        rows.append(f'<tr><td><a href="#f{i}">{escape(f.title or f.path)}</a>'
                    f'<div class="path mono">{escape(f.path)}</div></td><td>{len(f.parts)}</td><td>{n}</td>'
                    f"<td>{bad}</td><td class=\"status\">{badge(f.status)}</td></tr>")
    table = ('<table class="files"><thead><tr><th>derivation</th><th>parts</th><th>steps</th>'
             '<th>not established</th><th>status</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    return f'<section class="summary"><div class="cards">{"".join(cards)}</div>{table}</section>'


def render(reports: list[FileReport], seconds: float = 0.0, *, options=None,
           title: str = "proofcheck report") -> str:
    """The whole page."""
    strict = bool(getattr(options, "strict", False))
    meta = [f"proofcheck {escape(__version__)}", f"{len(reports)} file(s)", f"{seconds:.1f} s"]
    if options is not None:
        meta += [f"seed {options.seed}", f"timeout {options.timeout:g} s per step",
                 "strict: numeric counts as not established" if strict else "numeric counts as established"]
    body = [_derivation(f"f{i}", f, load_source(f.path) if f.parts else FileSource())
            for i, f in enumerate(reports, 1)]
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="proofcheck {escape(__version__)}">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f'<header><h1>{escape(title)}</h1><div class="meta">{" · ".join(meta)}</div>'
            f"{_summary(reports, seconds, strict)}</header>"
            f"<main>{''.join(body)}</main>"
            f"<footer>Written by proofcheck {escape(__version__)}. Verdicts: proved (symbolic), numeric "
            "(agrees at random points to high precision), refuted (counterexample confirmed), unknown "
            "(neither, within the time budget), error (the input could not be read).</footer>"
            "</body></html>\n")


def scoped_css(scope: str) -> str:
    """The page's style sheet limited to one element, for output embedded in another page (Jupyter)."""
    css = re.sub(r"/\*.*?\*/", "", CSS.split("@media")[0], flags=re.DOTALL)
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        kept = []
        for sel in (s.strip() for s in selectors.split(",")):
            if sel == ":root":
                kept.append(scope)
            elif sel not in ("*", "body") and not sel.startswith(("header", "main", "footer", "h1")):
                kept.append(f"{scope} {sel}")
        if kept:
            rules.append(", ".join(kept) + " {" + body.strip() + "}")
    return "\n".join(rules)


def fragment(reports: list[FileReport], sources: list[FileSource] | None = None) -> str:
    """The derivations' verdict tables as a self-contained block to embed in a page (a notebook's output)."""
    sources = sources or [load_source(f.path) if f.parts else FileSource() for f in reports]
    body = "".join(_derivation(f"pc{i}", f, s) for i, (f, s) in enumerate(zip(reports, sources), 1))
    return (f'<div class="proofcheck-result"><style>{scoped_css(".proofcheck-result")}</style>'
            f"{body}</div>")
