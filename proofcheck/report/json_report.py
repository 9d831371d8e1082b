"""`--format json`, exactly as FORMAT.md section 6."""

from __future__ import annotations

import json

from proofcheck import __version__
from proofcheck.kernel.verdict import Status
from proofcheck.verify import FileReport, StepReport


def step_dict(s: StepReport) -> dict:
    """One step as in FORMAT.md section 6."""
    r = s.result
    return {
        "index": s.index, "line": s.line, "relation": s.relation, "text": s.text, "rule": s.rule,
        "status": r.status.value, "method": r.method, "message": r.message,
        "counterexample": r.counterexample, "seconds": r.seconds,
    }


def file_dict(f: FileReport) -> dict:
    """One file as in FORMAT.md section 6."""
    return {
        "path": f.path,
        "title": f.title,
        "status": f.status.value,
        "errors": [{"line": e.line, "column": e.column, "message": e.message} for e in f.errors],
        "parts": [
            {"name": p.name, "claim": p.claim, "status": p.status.value,
             "claim_established": p.claim_established, "claim_message": p.claim_message,
             "steps": [step_dict(s) for s in p.steps]}
            for p in f.parts
        ],
    }


def summary(reports: list[FileReport], seconds: float) -> dict:
    """Counts over all files."""
    steps = [s for f in reports for p in f.parts for s in p.steps]
    count = {st: sum(1 for s in steps if s.result.status == st) for st in Status}
    return {"files": len(reports), "steps": len(steps), "proved": count[Status.PROVED],
            "numeric": count[Status.NUMERIC], "refuted": count[Status.REFUTED],
            "unknown": count[Status.UNKNOWN], "errors": sum(len(f.errors) for f in reports),
            "seconds": round(seconds, 3)}


def render(reports: list[FileReport], seconds: float) -> str:
    """The whole JSON document."""
    return json.dumps({"version": __version__, "files": [file_dict(f) for f in reports],
                       "summary": summary(reports, seconds)}, indent=2, ensure_ascii=False)
