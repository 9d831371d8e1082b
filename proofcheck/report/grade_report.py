"""`proofcheck grade` output: rich tables per student, JSON (FORMAT.md section 6), a CSV gradebook."""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text as RichText

from proofcheck import __version__
from proofcheck.grade import ClassSummary, Grade, PartGrade, class_summary, fmt, student_ids
from proofcheck.report.console import print_errors, status_text
from proofcheck.report.json_report import step_dict

# the gradebook (docs/grading.md): the student, one column per key part (its points), then these
CSV_LEAD = ["student", "file"]
CSV_TAIL = ["total", "max", "needs_review", "final_ok", "first_error", "first_error_part", "steps_valid",
            "steps_total", "feedback"]


# ---------------------------------------------------------------------------------------------
# Text


def render_text(console: Console, grades: list[Grade], key_path: str, run: dict) -> None:
    """Per student: a table of steps with verdicts and points, and a feedback paragraph; then the class."""
    for g in grades:
        head = RichText()
        head.append(g.id, style="bold")
        if g.student:
            head.append(f"  (student {g.student})")
        head.append(f"   {fmt(g.score)} / {fmt(g.max_score)}", style="bold")
        if g.max_score:
            head.append(f"  ({round(100 * g.score / g.max_score)}%)")
        console.print(head)
        print_errors(console, g.errors, g.path)
        for p in g.parts:
            if p.attempted and (p.steps or not g.errors):
                console.print(_part_title(p, len(g.parts) > 1 or p.name != "main"))
                if p.steps:
                    console.print(part_table(p))
        console.print(RichText("Feedback: ", style="bold") + RichText(g.feedback))
        console.print()
    render_summary(console, class_summary(grades), grades, key_path, run)


def _part_title(p: PartGrade, named: bool) -> RichText:
    t = RichText()
    if named:
        t.append(f"part {p.name}  ", style="bold")
    t.append(f"{fmt(p.score)}/{fmt(p.max_score)}  ")
    if not p.attempted:
        t.append("not attempted", style="yellow")
        return t
    t.append("final line matches the claim" if p.final_matches_claim else "final line does not match the claim",
             style="green" if p.final_matches_claim else "red")
    for req, line, _ in p.required:
        t.append(f"; required `{req.label}` " + ("reached" if line is not None else "missing"),
                 style="green" if line is not None else "red")
    return t


def part_table(p: PartGrade) -> Table:
    """The steps of one submitted chain with verdicts and points."""
    table = Table(show_header=True, header_style="bold", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("line", justify="right")
    table.add_column("step", overflow="fold", max_width=60)
    table.add_column("status")
    table.add_column("points", justify="right")
    table.add_column("note", overflow="fold", max_width=60)
    if 0 in p.sources:
        table.add_row("", "", escape(p.sources[0]), "", "", "starting line")
    for s, pts in zip(p.steps, p.step_points):
        rule = f"   by {s.rule}" if s.rule else ""
        text = p.sources.get(s.index) or f"{s.relation} {s.text}{rule}"  # the line as the student wrote it
        table.add_row(str(s.index), str(s.line), escape(text),
                      status_text(s.result.status), fmt(pts), escape(s.result.message))
    if p.final_points:
        table.add_row("", "", "final result", "", fmt(p.final_points), "")
    for req, line, pts in p.required:
        if pts:
            table.add_row("", "", escape(f"required {req.label}"), "", fmt(pts), f"reached at step {line}")
    return table


def render_summary(console: Console, s: ClassSummary, grades: list[Grade], key_path: str, run: dict) -> None:
    """Score distribution and the step most often wrong."""
    console.print(RichText(f"Class summary — {s.count} submission(s) graded against {key_path}", style="bold"))
    table = Table(show_header=True, header_style="bold")
    table.add_column("score")
    table.add_column("submissions", justify="right")
    table.add_column("")
    for label, n in s.distribution:
        table.add_row(label, str(n), "█" * (round(40 * n / s.count) if s.count else 0))
    console.print(table)
    console.print(f"mean {s.mean}%, median {s.median}%; {s.unreadable} submission(s) could not be read")
    if s.most_wrong:
        part, index, n = s.most_wrong
        where = f"step {index}" + (f" of part {part}" if part != "main" else "")
        console.print(f"step most often wrong: {where} (wrong in {n} of {s.count} submissions)")
    else:
        console.print("no step was wrong")
    console.print(RichText(f"{run['tasks']} distinct kernel task(s) for {run['requested']} check(s); "
                           f"{run['seconds']} s", style="dim"))


# ---------------------------------------------------------------------------------------------
# JSON and CSV


def grade_dict(g: Grade, student: str | None = None) -> dict:
    """One submission as in FORMAT.md section 6 (verify's step objects plus the grade)."""
    first = g.first_error
    return {
        "id": g.id, "path": g.path, "student": student if student is not None else student_ids([g])[0], "score": g.score, "max_score": g.max_score,
        "needs_review": g.needs_review,
        "first_error": first[1] if first else None, "first_error_part": first[0] if first else None,
        "final_matches_claim": g.final_matches_claim, "feedback": g.feedback,
        "steps": [dict(step_dict(s), part=p.name, points=round(pts, 4))
                  for p in g.parts for s, pts in zip(p.steps, p.step_points)],
        "errors": [{"path": e.path, "line": e.line, "column": e.column, "message": e.message} for e in g.errors],
        "notes": g.notes,
        "parts": [_part_dict(p) for p in g.parts],
        **({"formulas": _formulas_dict(g)} if g.formulas else {}),
    }


def _formulas_dict(g: Grade) -> dict:
    """What became of every formula of a sheet: counts by kind and the ones not read, with line and column."""
    counts: dict[str, int] = {}
    for f in g.formulas:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    return {"total": len(g.formulas), "counts": counts,
            "not_read": [{"line": f.line, "column": f.column, "reason": f.reason, "section": f.section,
                          "inline": f.inline, "latex": f.latex} for f in g.formulas if f.kind == "not read"],
            "outside_key": [{"line": f.line, "column": f.column, "section": f.section}
                            for f in g.formulas if f.kind == "outside"],
            # conditions, the student's own definitions and remarks in their notation: each with why
            "classified": [{"line": f.line, "column": f.column, "kind": f.kind, "reason": f.reason, "section": f.section}
                           for f in g.formulas if f.kind in ("condition", "definition", "remark")]}


def _part_dict(p: PartGrade) -> dict:
    return {
        "name": p.name, "attempted": p.attempted, "score": p.score, "max_score": p.max_score,
        "first_error": p.first_error, "final_matches_claim": p.final_matches_claim, "final_points": p.final_points,
        "required": [{"formula": r.label, "points": pts, "reached_at_step": line} for r, line, pts in p.required],
        "steps_valid": p.steps_valid, "steps_total": len(p.steps),
        "errors": [{"path": e.path, "line": e.line, "column": e.column, "message": e.message} for e in p.errors],
        "feedback": p.feedback, "needs_review": bool(p.needs_review), "review_reasons": list(p.needs_review),
    }


def render_json(grades: list[Grade], key_path: str, run: dict) -> str:
    """The whole JSON document."""
    s = class_summary(grades)
    summary = {"submissions": s.count, "mean_percent": s.mean, "median_percent": s.median,
               "distribution": dict(s.distribution), "unreadable": s.unreadable,
               "most_often_wrong": {"part": s.most_wrong[0], "step": s.most_wrong[1], "count": s.most_wrong[2]}
               if s.most_wrong else None, **run}
    ids = student_ids(grades)
    return json.dumps({"version": __version__, "key": key_path,
                       "submissions": [grade_dict(g, i) for g, i in zip(grades, ids)],
                       "gradebook": gradebook(grades), "summary": summary}, indent=2, ensure_ascii=False)


def part_columns(grades: list[Grade]) -> list[str]:
    """The key's parts in order (every grade is scored over them; --part leaves one)."""
    names: list[str] = []
    for g in grades:
        names += [p.name for p in g.parts if p.name not in names]
    return names


def _column(name: str) -> str:
    # a part named like a fixed column (`total`, `student`) gets a prefix, so no two columns share a header
    return f"part {name}" if name in CSV_LEAD or name in CSV_TAIL else name


def gradebook(grades: list[Grade]) -> dict:
    """The rows an instructor uploads: per student the points of each question, total, review flag, feedback."""
    parts = part_columns(grades)
    maxima = {}
    for g in grades:
        for p in g.parts:
            maxima.setdefault(p.name, p.max_score)
    rows = []
    for g, sid in zip(grades, student_ids(grades)):
        got = {p.name: p for p in g.parts}
        first = g.first_error
        rows.append({"student": sid, "file": g.path,
                     "points": {n: (got[n].score if n in got else None) for n in parts},
                     "total": g.score, "max": g.max_score, "needs_review": g.needs_review,
                     "final_ok": g.final_matches_claim, "first_error": first[1] if first else None,
                     "first_error_part": first[0] if first else None, "steps_valid": g.steps_valid,
                     "steps_total": g.steps_total, "feedback": g.feedback})
    return {"columns": CSV_LEAD + [_column(n) for n in parts] + CSV_TAIL,
            "parts": [{"name": n, "column": _column(n), "max": maxima[n]} for n in parts], "rows": rows}


def render_csv(grades: list[Grade]) -> str:
    """One row per submission: the gradebook (docs/grading.md) a spreadsheet or a course site opens."""
    book = gradebook(grades)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([_cell(c) for c in book["columns"]])
    for r in book["rows"]:
        w.writerow([_cell(r["student"]), _cell(r["file"]),
                    *("" if v is None else fmt(v) for v in r["points"].values()),
                    fmt(r["total"]), fmt(r["max"]), _bool(r["needs_review"]), _bool(r["final_ok"]),
                    "" if r["first_error"] is None else r["first_error"], _cell(r["first_error_part"] or ""),
                    r["steps_valid"], r["steps_total"], _cell(" ".join(r["feedback"].split()))])
    return out.getvalue()


def _bool(b: bool) -> str:
    return "true" if b else "false"


def _cell(text: str) -> str:
    # a file name starting with = + - @ would run as a formula in a spreadsheet
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
