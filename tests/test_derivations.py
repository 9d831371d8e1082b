"""The derivation library: every step has the status we expect, and planted mistakes are refuted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from proofcheck.verify import Options, verify_paths

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
EXPECTED = yaml.safe_load((DATA / "expected_status.yaml").read_text())


def _planted_rows():
    rows = []
    for line in (DATA / "planted" / "EXPECTED.md").read_text().splitlines():
        m = re.match(r"\|\s*(\S+\.yaml)\s*\|\s*(\w+)\s*\|\s*(\d+)\s*\|\s*refuted\s*\|", line)
        if m:
            rows.append((m.group(1), m.group(2), int(m.group(3))))
    return rows


@pytest.fixture(scope="module")
def library():
    reports = verify_paths([str(ROOT / "derivations")], Options(timeout=10, jobs=2))
    return {str(Path(r.path).relative_to(ROOT)): r for r in reports}


def test_every_library_file_is_listed(library):
    assert sorted(library) == sorted(EXPECTED)


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_library_statuses(library, path):
    report = library[path]
    assert report.errors == []
    got = {p.name: [s.result.status.value for s in p.steps] for p in report.parts}
    assert got == EXPECTED[path]
    for p in report.parts:
        assert p.claim_established, (p.name, p.claim_message)
    assert report.status.value in ("proved", "numeric")


PLANTED = _planted_rows()


def test_enough_planted_mistakes():
    assert len(PLANTED) >= 5
    assert len({f.split("_")[0] for f, _, _ in PLANTED}) >= 3


@pytest.fixture(scope="module")
def planted_reports(tmp_path_factory):
    # Each planted file is a whole library file with one mistake: only the parts holding a planted mistake are
    # verified, up to their last planted step and without their claims (the rest is the library, checked above).
    out = tmp_path_factory.mktemp("planted")
    for f in sorted({f for f, _, _ in PLANTED}):
        doc = yaml.safe_load((DATA / "planted" / f).read_text(encoding="utf-8"))
        if isinstance(doc.get("parts"), list):
            last = {part: max(i for g, q, i in PLANTED if g == f and q == part) for g, part, _ in PLANTED if g == f}
            doc["parts"] = [_up_to_step(p, last[p["name"]]) for p in doc["parts"] if p.get("name") in last]
        (out / f).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    reports = verify_paths(sorted(str(p) for p in out.glob("*.yaml")), Options(timeout=10, jobs=2))
    return {Path(r.path).name: r for r in reports}


_STEP_START = re.compile(r"\s*(=|<|>|!=|==>|<==>|~)")


def _up_to_step(part: dict, index: int) -> dict:
    """A part's chain cut after its step `index` (a step starts with its relation; other lines continue one)."""
    if not isinstance(part.get("steps"), str):
        return part
    kept, seen = [], 0
    for line in part["steps"].splitlines():
        if kept and _STEP_START.match(line):
            seen += 1
            if seen > index:
                break
        kept.append(line)
    part = {k: v for k, v in part.items() if k != "claim"}
    part["steps"] = "\n".join(kept) + "\n"
    return part


@pytest.mark.parametrize("name,part,index", PLANTED)
def test_planted_mistake_is_refuted(planted_reports, name, part, index):
    report = planted_reports[name]
    assert report.status.value == "refuted"
    step = next(p for p in report.parts if p.name == part).steps[index - 1]
    assert step.result.status.value == "refuted"
    ce = step.result.counterexample
    assert ce and "lhs" in ce and "rhs" in ce and ce["lhs"] != ce["rhs"]

