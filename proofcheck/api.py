"""The Python API: `proofcheck.verify`, `proofcheck.check`, `proofcheck.grade` (docs/api.md).

Thin wrappers over the command line's own entry points (verify.verify_paths, cli.check_report,
grade.grade_submissions), returning result objects that print as text, as Markdown, and in Jupyter
as a verdict table with typeset formulas.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

HOLDS = ("proved", "numeric")


def _options(options: dict):
    """verify.Options from keyword arguments, with a helpful message for a misspelt one."""
    from proofcheck.verify import Options
    known = {f.name for f in fields(Options)}
    unknown = sorted(set(options) - known)
    if unknown:
        import difflib
        hints = [f"{u!r}" + (f" (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(u, sorted(known), 1))
                             else "") for u in unknown]
        raise TypeError(f"unknown option {', '.join(hints)}; the options are {', '.join(sorted(known))}")
    return Options(**{"jobs": 1, **options})


def _is_text(source) -> bool:
    """A derivation given as YAML text rather than a path."""
    if isinstance(source, os.PathLike):
        return False
    return "\n" in source or source.lstrip().startswith("proofcheck:")


@dataclass(frozen=True)
class Step:
    """One step's verdict."""

    part: str
    index: int
    line: int
    relation: str
    text: str
    rule: str
    status: str
    method: str
    message: str
    counterexample: dict | None
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether the step holds (`proved` or `numeric`)."""
        return self.status in HOLDS

    def to_dict(self) -> dict:
        """The step as in `--format json` (with its part's name)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _steps(part_name: str, steps) -> list[Step]:
    from proofcheck.report.json_report import step_dict
    return [Step(part=part_name, **{k: v for k, v in step_dict(s).items()}) for s in steps]


class Result:
    """The verdicts of one or more derivation files (what `proofcheck verify` prints)."""

    def __init__(self, reports, seconds: float, strict: bool, sources=None):
        self.reports = reports  # verify.FileReport objects, for callers that want everything
        self.seconds = seconds
        self.strict = strict
        self._sources = sources

    @property
    def ok(self) -> bool:
        """Whether every derivation is established (exit status 0 on the command line)."""
        from proofcheck.verify import established
        return bool(self.reports) and all(established(r, self.strict) for r in self.reports)

    @property
    def status(self) -> str:
        """The worst file status: error, refuted, unknown, numeric or proved."""
        order = ["error", "refuted", "unknown", "numeric", "proved"]
        return min((r.status.value for r in self.reports), key=order.index, default="error")

    @property
    def steps(self) -> list[Step]:
        """Every step of every part of every file, in order."""
        return [s for r in self.reports for p in r.parts for s in _steps(p.name, p.steps)]

    @property
    def errors(self) -> list[str]:
        """Input errors as `file:line:col: message`."""
        return [f"{e.path or r.path}:{e.line}:{e.column}: {e.message}" for r in self.reports for e in r.errors]

    @property
    def exit_code(self) -> int:
        """The command line's exit status for these results."""
        return 2 if self.status == "error" else 0 if self.ok else 1

    def to_dict(self) -> dict:
        """The same document as `--format json`."""
        from proofcheck import __version__
        from proofcheck.report.json_report import file_dict, summary
        return {"version": __version__, "files": [file_dict(r) for r in self.reports],
                "summary": summary(self.reports, self.seconds)}

    def to_json(self) -> str:
        """`--format json`'s text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def __str__(self) -> str:
        from rich.console import Console
        from proofcheck.report import console as console_report
        from proofcheck.report.json_report import summary
        out = io.StringIO()
        console = Console(file=out, width=100, color_system=None, highlight=False, soft_wrap=False)
        console_report.render(console, self.reports, summary(self.reports, self.seconds), self.strict)
        return out.getvalue()

    def __repr__(self) -> str:
        counts = {}
        for s in self.steps:
            counts[s.status] = counts.get(s.status, 0) + 1
        what = ", ".join(f"{n} {k}" for k, n in counts.items()) or "no steps"
        return f"<proofcheck.Result {self.status}: {len(self.reports)} file(s), {what}>"

    def _repr_markdown_(self) -> str:
        from proofcheck.report.json_report import claim_verdict
        out = []
        for r in self.reports:
            out.append(f"**{_md(r.title or r.path, False)}** — `{r.status.value}`\n")
            out += [f"* `{_md(e, False)}`" for e in self.errors if e.startswith(f"{r.path}:")]
            for p in r.parts:
                established, why = claim_verdict(p)
                head = f"part `{p.name}`: " if len(r.parts) > 1 or p.name != "main" else ""
                verdict = "established" if established else f"not established: {_md(why, False)}"
                out.append(f"\n{head}claim `{_md(p.claim, False)}` — {verdict}\n")
                out.append("| # | line | step | rule | status | note |\n|---|---|---|---|---|---|")
                out.append(f"| | | `{_md(p.start_text)}` | | | starting line |")
                for s in _steps(p.name, p.steps):
                    out.append(f"| {s.index} | {s.line} | `{_md(s.relation + ' ' + s.text)}` | {_md(s.rule)} | "
                               f"**{s.status}** | {_md(_note(s))} |")
            out.append("")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        from proofcheck.report.html import fragment
        return fragment(self.reports, self._sources)


class GradeResult:
    """One submission's grade (what `proofcheck grade` prints for it)."""

    def __init__(self, grade, key_path: str, strict: bool):
        self.grade = grade  # grade.Grade, for callers that want everything
        self.key = key_path
        self.strict = strict

    @property
    def score(self) -> float:
        """Points earned."""
        return self.grade.score

    @property
    def max_score(self) -> float:
        """Points available."""
        return self.grade.max_score

    @property
    def feedback(self) -> str:
        """The paragraph a student reads."""
        return self.grade.feedback

    @property
    def ok(self) -> bool:
        """Full marks: every point of the key earned."""
        return self.grade.max_score > 0 and self.grade.score == self.grade.max_score

    @property
    def steps(self) -> list[Step]:
        """Every submitted step with its verdict, parts in the key's order."""
        return [s for p in self.grade.parts for s in _steps(p.name, p.steps)]

    @property
    def parts(self) -> dict[str, tuple[float, float]]:
        """Points per part of the key: name -> (score, max_score)."""
        return {p.name: (p.score, p.max_score) for p in self.grade.parts}

    def to_dict(self) -> dict:
        """The submission as in `grade --format json`."""
        from proofcheck.report.grade_report import grade_dict
        return grade_dict(self.grade)

    def __str__(self) -> str:
        from rich.console import Console
        from proofcheck.report import grade_report
        from proofcheck.report.console import print_errors
        out = io.StringIO()
        console = Console(file=out, width=100, color_system=None, highlight=False, soft_wrap=False)
        g = self.grade
        console.print(f"{g.id}   {self.score:g} / {self.max_score:g}")
        print_errors(console, g.errors, g.path)
        for p in g.parts:
            if p.attempted and p.steps:
                console.print(f"part {p.name}  {p.score:g}/{p.max_score:g}")
                console.print(grade_report.part_table(p))
        console.print(f"Feedback: {g.feedback}")
        return out.getvalue()

    def __repr__(self) -> str:
        return f"<proofcheck.GradeResult {self.grade.id}: {self.score:g} / {self.max_score:g}>"

    def _repr_markdown_(self) -> str:
        out = [f"**{_md(self.grade.id)}** — {self.score:g} / {self.max_score:g}\n",
               "| part | step | line | status | points | note |", "|---|---|---|---|---|---|"]
        for p in self.grade.parts:
            if not p.attempted:
                out.append(f"| {_md(p.name)} | | | not attempted | 0 / {p.max_score:g} | |")
                continue
            for s, pts in zip(_steps(p.name, p.steps), p.step_points):
                out.append(f"| {_md(p.name)} | `{_md(s.relation + ' ' + s.text)}` | {s.line} | **{s.status}** | "
                           f"{pts:g} | {_md(_note(s))} |")
            out.append(f"| {_md(p.name)} | final result | | {'matches' if p.final_matches_claim else 'no'} | "
                       f"{p.final_points:g} | |")
        out.append(f"\n{_md(self.feedback)}")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        from html import escape
        from proofcheck.report.html import badge, formula_markup, scoped_css
        rows = []
        for p in self.grade.parts:
            if not p.attempted:
                rows.append(f'<tr><td>{escape(p.name)}</td><td colspan="3" class="muted">not attempted</td>'
                            f"<td>0 / {p.max_score:g}</td></tr>")
                continue
            for s, pts in zip(p.steps, p.step_points):
                rows.append(f'<tr class="step {s.result.status.value}"><td>{escape(p.name)}</td>'
                            f"<td>{formula_markup(s.display, s.text, s.relation)}</td><td>{badge(s.result.status)}</td>"
                            f"<td>{escape(s.result.message)}</td><td>{pts:g}</td></tr>")
            rows.append(f"<tr><td>{escape(p.name)}</td><td>final result</td>"
                        f"<td>{'matches' if p.final_matches_claim else 'does not match'}</td><td></td>"
                        f"<td>{p.final_points:g}</td></tr>")
        return (f'<div class="proofcheck-result"><style>{scoped_css(".proofcheck-result")}</style>'
                f"<h3>{escape(self.grade.id)}: {self.score:g} / {self.max_score:g}</h3>"
                '<table class="steps"><thead><tr><th>part</th><th>step</th><th>verdict</th><th>note</th>'
                f'<th>points</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
                f"<p>{escape(self.feedback)}</p></div>")


def _md(text: str, table: bool = True) -> str:
    text = str(text).replace("\n", " ")
    return text.replace("|", "\\|") if table else text  # a table cell ends at a bare |


def _note(s: Step) -> str:
    if s.counterexample:
        values = ", ".join(f"{k} = {v}" for k, v in s.counterexample.items() if k not in ("lhs", "rhs"))
        return f"counterexample: {values}; left side {s.counterexample.get('lhs')}, right side " \
               f"{s.counterexample.get('rhs')}"
    return s.message


def verify(source, **options) -> Result:
    """Check a derivation given as a path (file or directory), a list of paths, or its YAML text.

    Options as on the command line: timeout=10, seed=0, strict=False, jobs=1, cache=False."""
    from proofcheck.report.source import load_source
    from proofcheck.verify import verify_paths
    opts = _options(options)
    start = time.monotonic()
    if isinstance(source, (list, tuple)):
        reports = verify_paths([str(p) for p in source], opts)
        return Result(reports, time.monotonic() - start, opts.strict)
    if not _is_text(source):
        reports = verify_paths([str(source)], opts)
        if not reports:
            raise ValueError(f"no derivation files (files with `proofcheck: 1`) under {source}")
        return Result(reports, time.monotonic() - start, opts.strict)
    with tempfile.TemporaryDirectory(prefix="proofcheck-") as tmp:
        path = Path(tmp) / "derivation.yaml"
        path.write_text(source, encoding="utf-8")
        reports = verify_paths([str(path)], opts)
        sources = [load_source(str(path))]  # typeset claims and givens, read while the file exists
    for r in reports:
        r.path = "<text>"
        for e in r.errors:
            e.path = "<text>"
    return Result(reports, time.monotonic() - start, opts.strict, sources)


def check(lhs: str, rhs: str, symbols="", **options) -> Result:
    """Check one relation `lhs = rhs` (rhs may start with another relation: "<= x^2").

    `symbols` as on the command line ("x: positive; n: positive integer") or a mapping
    {"x": "positive", "n, d": "positive integer"}; names not declared are taken as real
    (listed in `result.assumed_real`)."""
    from proofcheck.cli import check_report
    if isinstance(symbols, dict):
        symbols = "; ".join(f"{names}: {typ}" for names, typ in symbols.items())
    opts = _options(options)
    start = time.monotonic()
    report, auto = check_report(lhs, rhs, symbols, opts)
    result = Result([report], time.monotonic() - start, opts.strict)
    result.assumed_real = auto
    return result


def grade(submission, key, part: str | None = None, **options):
    """Grade a submission (a path, or its text) against an answer key (a path, or its YAML text).

    Returns a GradeResult; a directory or a list of paths gives a list of them, one per submission.
    Text is graded in memory (as `<key>` and `<submission>`, `<submission 2>`, ... in messages)."""
    from proofcheck.grade import grade_submissions, key_from_text, load_key, read_submission, read_submission_text
    from proofcheck.grade import submission_paths
    opts = _options(options)
    if _is_text(key):
        loaded, errors = key_from_text(_within_limit(key, "the key"), "<key>", opts)
    else:
        loaded, errors = load_key(str(key), opts)
    if errors or loaded is None:
        where = "the key" if _is_text(key) else key
        raise ValueError(f"{where} has errors: " + "; ".join(f"{e.line}:{e.column}: {e.message}" for e in errors))
    if part is not None and part not in loaded.parts:
        raise ValueError(f"the key has no part named {part!r}; its parts are: {', '.join(loaded.parts)}")
    subs = submission if isinstance(submission, (list, tuple)) else [submission]
    many = isinstance(submission, (list, tuple)) or (not _is_text(submission) and Path(submission).is_dir())
    key_path = "" if _is_text(key) else str(key)  # a key inside a graded directory is not a submission
    read, seen = [], set()
    for i, sub in enumerate(subs):
        if _is_text(sub):
            name = f"<submission{f' {i + 1}' if len(subs) > 1 else ''}>"
            read.append(read_submission_text(_within_limit(sub, name), name, loaded, part))
            continue
        if not Path(sub).exists():
            raise FileNotFoundError(f"no such file or directory: {sub}")
        for p in submission_paths([str(sub)], key_path):
            if Path(p).resolve() not in seen:
                seen.add(Path(p).resolve())
                read.append(read_submission(p, loaded, part))
    grades, _ = grade_submissions(read, loaded, opts)
    key_name = "<key>" if _is_text(key) else str(key)
    results = [GradeResult(g, key_name, opts.strict) for g in grades]
    if many:
        return results
    if not results:
        raise ValueError(f"nothing to grade in {submission}")
    return results[0]


def _within_limit(text: str, name: str) -> str:
    """Text held in memory, refused over the size a file may have."""
    from proofcheck.errors import ProofcheckError
    from proofcheck.read import decode
    try:
        return decode(text.encode("utf-8"), name)
    except UnicodeEncodeError:
        raise ValueError(f"{name}: the text is not valid Unicode") from None
    except ProofcheckError as exc:
        raise ValueError(f"{name}: {exc.message}") from None
