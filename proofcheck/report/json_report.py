"""`--format json`, exactly as FORMAT.md section 6."""

from __future__ import annotations

import json

from proofcheck import __version__
from proofcheck.kernel.verdict import Status
from proofcheck.verify import FileReport, PartReport, StepReport


def step_dict(s: StepReport) -> dict:
    """One step as in FORMAT.md section 6."""
    r = s.result
    return {
        "index": s.index, "line": s.line, "relation": s.relation, "text": s.text, "rule": s.rule,
        "status": r.status.value, "method": r.method, "message": r.message,
        "counterexample": r.counterexample, "seconds": r.seconds,
    }


def claim_verdict(p: PartReport) -> tuple[bool, str]:
    """Whether a part's claim is established in FORMAT.md's sense, and why not.

    PartReport.claim_established says whether the chain reaches the claim (its ends match and the
    relations compose); the contract also asks that every step holds."""
    failing: dict[str, list[str]] = {}
    for s in p.steps:
        if s.result.status not in (Status.PROVED, Status.NUMERIC):
            failing.setdefault(s.result.status.value, []).append(str(s.index))
    why = [p.claim_message] if not p.claim_established and p.claim_message else []
    why += [f"step{'s' if len(ix) > 1 else ''} {', '.join(ix)} {'are' if len(ix) > 1 else 'is'} {status}"
            for status, ix in failing.items()]
    if not p.claim_established and p.claim_message in ("a step could not be read", "the claim could not be read"):
        why = [p.claim_message]
    return p.claim_established and not failing, "; ".join(why)


def file_dict(f: FileReport) -> dict:
    """One file as in FORMAT.md section 6."""
    return {
        "path": f.path,
        "title": f.title,
        "status": f.status.value,
        "errors": [{"line": e.line, "column": e.column, "message": e.message} for e in f.errors],
        "parts": [
            {"name": p.name, "claim": p.claim, "status": p.status.value,
             "claim_established": established, "claim_message": message,
             "steps": [step_dict(s) for s in p.steps]}
            for p, (established, message) in ((p, claim_verdict(p)) for p in f.parts)
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
