"""The command-line contract of FORMAT.md section 6: exit codes, `--format json`, `check`, `--strict`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import sympy as sp

import proofcheck
from testlib import derivation, run_cli, run_json, write_yaml

PROVED = derivation("x, y: real", "(x + y)^2 = x^2 + 2 x y + y^2", """
    (x + y)^2
      = (x + y) (x + y)
      = x^2 + 2 x y + y^2
    """, title="proved one")
NUMERIC = derivation("x: positive", "atan(x) + atan(1/x) = pi/2", """
    atan(x) + atan(1/x)
      = pi/2
    """, title="numeric one")
REFUTED = derivation("x, y: real", "(x + y)^2 = x^2 + y^2", """
    (x + y)^2
      = x^2 + y^2
    """, title="refuted one")
UNKNOWN = derivation("x: positive", "log(x) <= x - 1", """
    log(x)
      <= x - 1      by jensen
    """, title="unknown one")
NOT_ESTABLISHED = derivation("x: real", "x^2 + 1 = x^2 + 1", """
    x^2 + 2
      = x^2 + 2
    """, title="claim not established")
ERROR = derivation("x: real", "x = x", """
    x
      = x + undeclared_name
    """, title="error one")
PARTS = """
proofcheck: 1
title: with parts
symbols:
  x, y: real
parts:
  - name: first
    claim: (x + 1)^2 = x^2 + 2 x + 1
    steps: |
      (x + 1)^2
        = x^2 + 2 x + 1
  - name: second
    symbols:
      z: positive
    claim: sqrt(z^2) + x = z + x
    steps: |
      sqrt(z^2) + x
        = |z| + x
        = z + x
"""

FILE_KEYS = {"path", "title", "status", "errors", "parts"}
PART_KEYS = {"name", "claim", "status", "claim_established", "steps"}
PART_EXTENSIONS = {"claim_message"}  # an extension beyond FORMAT §6 (allowed: "extensions are welcome")
STEP_KEYS = {"index", "line", "relation", "text", "rule", "status", "method", "message", "counterexample", "seconds"}
SUMMARY_KEYS = {"files", "steps", "proved", "numeric", "refuted", "unknown", "errors", "seconds"}
ERROR_KEYS = {"line", "column", "message"}
STATUSES = {"proved", "numeric", "refuted", "unknown", "error"}


def verify_file(tmp_path, text, *extra, name="d.yaml"):
    p = write_yaml(tmp_path, text, name)
    return run_cli(["verify", p, "--timeout", "3", *extra])


# ---------------------------------------------------------------------------------------------
# Exit codes


@pytest.mark.parametrize("text, code", [
    (PROVED, 0), (NUMERIC, 0), (PARTS, 0),
    (REFUTED, 1), (UNKNOWN, 1), (NOT_ESTABLISHED, 1),
    (ERROR, 2),
], ids=["proved", "numeric", "parts", "refuted", "unknown", "not-established", "error"])
def test_exit_codes(tmp_path, text, code):
    # the real entry point, `python -m proofcheck` in a process of its own: its exit status is the contract
    got, out, err = run_cli(["verify", write_yaml(tmp_path, text), "--timeout", "3"], process=True)
    assert got == code, out + err
    assert "Traceback" not in out + err


def test_strict_turns_numeric_into_exit_1(tmp_path):
    # without --strict the same file exits 0 (test_exit_codes[numeric])
    assert verify_file(tmp_path, NUMERIC, "--strict")[0] == 1
    assert verify_file(tmp_path, PROVED, "--strict")[0] == 0


def test_directory_is_searched_recursively_and_ignores_other_yaml(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    write_yaml(tmp_path / "a", PROVED, "one.yaml")
    write_yaml(tmp_path / "a" / "b", NUMERIC, "two.yml")
    (tmp_path / "a" / "b" / "config.yaml").write_text("name: not a derivation\nvalues: [1, 2]\n")
    code, doc, err = run_json(["verify", tmp_path / "a", "--timeout", "3"])
    assert code == 0, err
    names = sorted(f["path"].replace("\\", "/").rsplit("/", 1)[-1] for f in doc["files"])
    assert names == ["one.yaml", "two.yml"]
    assert doc["summary"]["files"] == 2


def test_one_refuted_file_among_good_ones_gives_1(tmp_path):
    write_yaml(tmp_path, PROVED, "a.yaml")
    write_yaml(tmp_path, REFUTED, "b.yaml")
    code, out, err = run_cli(["verify", tmp_path, "--timeout", "3"])
    assert code == 1


def test_an_unreadable_file_among_others_gives_2(tmp_path):
    write_yaml(tmp_path, PROVED, "a.yaml")
    write_yaml(tmp_path, REFUTED, "b.yaml")
    write_yaml(tmp_path, ERROR, "c.yaml")
    code, out, err = run_cli(["verify", tmp_path, "--timeout", "3"])
    assert code == 2


def test_several_paths(tmp_path):
    a = write_yaml(tmp_path, PROVED, "a.yaml")
    b = write_yaml(tmp_path, NUMERIC, "b.yaml")
    code, doc, err = run_json(["verify", a, b, "--timeout", "3"])
    assert code == 0
    assert [f["status"] for f in doc["files"]] == ["proved", "numeric"]


def test_text_report_names_file_line_and_column(tmp_path):
    code, out, err = run_cli(["verify", "d.yaml"], cwd=write_yaml(tmp_path, ERROR).parent)
    assert code == 2
    assert "d.yaml:8:11:" in out + err
    assert "undeclared_name" in out + err


def test_version_flag():
    code, out, err = run_cli(["--version"])
    assert code == 0
    assert proofcheck.__version__ in out + err


# ---------------------------------------------------------------------------------------------
# --format json


def test_json_structure_exactly(tmp_path):
    p = write_yaml(tmp_path, PROVED)
    code, doc, err = run_json(["verify", p, "--timeout", "3"])
    assert code == 0
    assert set(doc) == {"version", "files", "summary"}
    assert doc["version"] == proofcheck.__version__
    assert len(doc["files"]) == 1
    f = doc["files"][0]
    assert set(f) == FILE_KEYS
    assert f["path"] == str(p)
    assert f["title"] == "proved one"
    assert f["status"] == "proved"
    assert f["errors"] == []
    assert len(f["parts"]) == 1
    part = f["parts"][0]
    assert PART_KEYS <= set(part) and set(part) - PART_KEYS <= PART_EXTENSIONS, set(part)
    assert part["name"] == "main"  # a file without parts reports one part named main
    assert part["claim"] == "(x + y)^2 = x^2 + 2 x y + y^2"
    assert part["status"] == "proved"
    assert part["claim_established"] is True
    steps = part["steps"]
    assert [s["index"] for s in steps] == [1, 2]  # the starting line is not a step
    for s in steps:
        assert set(s) == STEP_KEYS
        assert s["status"] == "proved"
        assert s["relation"] == "="
        assert s["rule"] == ""
        assert s["counterexample"] is None
        assert isinstance(s["seconds"], (int, float)) and s["seconds"] >= 0
        assert isinstance(s["message"], str) and isinstance(s["method"], str)
    assert [s["line"] for s in steps] == [8, 9]
    assert [s["text"] for s in steps] == ["(x + y) (x + y)", "x^2 + 2 x y + y^2"]
    summary = doc["summary"]
    assert set(summary) == SUMMARY_KEYS
    assert {k: summary[k] for k in SUMMARY_KEYS - {"seconds"}} == {
        "files": 1, "steps": 2, "proved": 2, "numeric": 0, "refuted": 0, "unknown": 0, "errors": 0}
    assert isinstance(summary["seconds"], (int, float))


def test_json_parts_numbered_within_each_part(tmp_path):
    p = write_yaml(tmp_path, PARTS)
    code, doc, err = run_json(["verify", p, "--timeout", "3"])
    assert code == 0, err
    f = doc["files"][0]
    assert [pt["name"] for pt in f["parts"]] == ["first", "second"]
    assert [[s["index"] for s in pt["steps"]] for pt in f["parts"]] == [[1], [1, 2]]
    assert all(pt["claim_established"] for pt in f["parts"])
    assert doc["summary"]["steps"] == 3
    for pt in f["parts"]:
        assert PART_KEYS <= set(pt) and set(pt) - PART_KEYS <= PART_EXTENSIONS
        for s in pt["steps"]:
            assert set(s) == STEP_KEYS


def test_json_counterexample(tmp_path):
    p = write_yaml(tmp_path, REFUTED)
    code, doc, err = run_json(["verify", p, "--timeout", "3"])
    assert code == 1
    f = doc["files"][0]
    assert f["status"] == "refuted"
    s = f["parts"][0]["steps"][0]
    assert s["status"] == "refuted"
    ce = s["counterexample"]
    assert set(ce) == {"x", "y", "lhs", "rhs"}
    assert all(isinstance(v, str) for v in ce.values())
    vx, vy = sp.Rational(ce["x"]), sp.Rational(ce["y"])  # decimal strings
    assert (vx + vy) ** 2 != vx ** 2 + vy ** 2
    assert float(ce["lhs"]) == pytest.approx(float((vx + vy) ** 2), rel=1e-9, abs=1e-12)
    assert float(ce["rhs"]) == pytest.approx(float(vx ** 2 + vy ** 2), rel=1e-9, abs=1e-12)
    assert doc["summary"]["refuted"] == 1


def test_json_errors(tmp_path):
    p = write_yaml(tmp_path, ERROR)
    code, doc, err = run_json(["verify", p, "--timeout", "3"])
    assert code == 2
    f = doc["files"][0]
    assert set(f) == FILE_KEYS
    assert f["status"] == "error"
    assert len(f["errors"]) == 1
    e = f["errors"][0]
    assert set(e) == ERROR_KEYS
    assert (e["line"], e["column"]) == (8, 11)
    assert "undeclared_name" in e["message"]
    assert doc["summary"]["errors"] == 1


def test_json_unreadable_file_is_reported_as_a_file(tmp_path):
    code, doc, err = run_json(["verify", tmp_path / "missing.yaml"])
    assert code == 2
    f = doc["files"][0]
    assert set(f) == FILE_KEYS
    assert f["status"] == "error"
    assert f["errors"] and set(f["errors"][0]) == ERROR_KEYS


def test_json_summary_counts_every_status(tmp_path):
    text = """
    proofcheck: 1
    title: all statuses
    symbols:
      x, y: real
      q: positive
      n: positive integer
      v, w: vector(n)
    parts:
      - name: p
        claim: (x + y)^2 = x^2 + 2 x y + y^2
        steps: |
          (x + y)^2
            = x^2 + 2 x y + y^2
      - name: n
        claim: atan(q) + atan(1/q) = pi/2
        steps: |
          atan(q) + atan(1/q)
            = pi/2
      - name: r
        claim: (x + y)^2 = x^2 + y^2
        steps: |
          (x + y)^2
            = x^2 + y^2
      - name: u
        claim: jacobian((w^T v) v, v) = v w^T + (w^T v) eye(n)
        steps: |
          jacobian((w^T v) v, v)
            = v w^T + (w^T v) eye(n)
    """
    p = write_yaml(tmp_path, text)
    code, doc, err = run_json(["verify", p, "--timeout", "3"])
    assert code == 1
    assert [pt["status"] for pt in doc["files"][0]["parts"]] == ["proved", "numeric", "refuted", "unknown"]
    assert doc["files"][0]["status"] == "refuted"
    s = doc["summary"]
    assert (s["steps"], s["proved"], s["numeric"], s["refuted"], s["unknown"], s["errors"]) == (4, 1, 1, 1, 1, 0)


def test_json_statement_chain_and_rule_text(tmp_path):
    p = write_yaml(tmp_path, derivation("w: real", "2 w - 6 = 0 ==> w = 3", """
        2 w - 6 = 0
          ==> w = 3     by solve(w)
        """))
    code, doc, err = run_json(["verify", p, "--timeout", "3"])
    assert code == 0
    s = doc["files"][0]["parts"][0]["steps"][0]
    assert (s["relation"], s["rule"], s["status"]) == ("==>", "solve(w)", "proved")
    assert s["text"] == "w = 3"


def test_json_goes_to_stdout_only(tmp_path):
    p = write_yaml(tmp_path, PROVED)
    code, out, err = run_cli(["verify", p, "--timeout", "3", "--format", "json"])
    json.loads(out)  # exactly one JSON document
    assert "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# Other formats named in FORMAT §6


def test_junit_format(tmp_path):
    p = write_yaml(tmp_path, REFUTED)
    code, out, err = run_cli(["verify", p, "--timeout", "3", "--format", "junit"])
    assert "Traceback" not in out + err
    assert code == 1
    root = ET.fromstring(out)
    assert "testsuite" in root.tag
    failures = list(root.iter("failure"))
    assert len(failures) == 1  # the refuted step, and only it
    case = next(c for c in root.iter("testcase") if c.find("failure") is not None)
    assert case.get("line") == "8"


def test_github_format(tmp_path):
    p = write_yaml(tmp_path, REFUTED)
    code, out, err = run_cli(["verify", p, "--timeout", "3", "--format", "github"])
    assert "Traceback" not in out + err
    assert code == 1
    assert "::error" in out
    assert "line=8" in out


# ---------------------------------------------------------------------------------------------
# proofcheck check


def test_check_with_symbols_positive():
    code, out, err = run_cli(["check", "sqrt(x^2)", "x", "--symbols", "x: positive", "--timeout", "3"])
    assert code == 0, out + err
    assert "proved" in out


def test_check_undeclared_names_are_real_so_counterexample():
    code, doc, err = run_json(["check", "sqrt(x^2)", "x", "--timeout", "3"])
    assert code == 1
    s = doc["files"][0]["parts"][0]["steps"][0]
    assert s["status"] == "refuted"
    vx = sp.Rational(s["counterexample"]["x"])
    assert vx < 0 and sp.sqrt(vx ** 2) != vx


def test_check_json_structure():
    code, doc, err = run_json(["check", "sum(j, j, 1, n)", "n (n + 1)/2", "--symbols", "n: positive integer",
                               "--timeout", "3"])
    assert code == 0, err
    assert set(doc) == {"version", "files", "summary"}
    f = doc["files"][0]
    assert set(f) == FILE_KEYS
    assert f["status"] == "proved"
    assert [set(s) for s in f["parts"][0]["steps"]] == [STEP_KEYS]
    assert set(doc["summary"]) == SUMMARY_KEYS


def test_check_relation_in_rhs():
    code, doc, err = run_json(["check", "log(x)", "<= x - 1", "--symbols", "x: positive", "--timeout", "3"])
    assert code == 0
    s = doc["files"][0]["parts"][0]["steps"][0]
    assert s["relation"] == "<=" and s["status"] in ("proved", "numeric")
    code, doc, err = run_json(["check", "x - 1", "<= log(x)", "--symbols", "x: positive", "--timeout", "3"])
    assert code == 1
    s = doc["files"][0]["parts"][0]["steps"][0]
    assert s["status"] == "refuted"
    vx = sp.Rational(s["counterexample"]["x"])
    assert not (vx - 1 <= sp.log(vx))


def test_check_several_symbol_declarations():
    code, out, err = run_cli(["check", "sqrt(a^2) + n", "a + n", "--symbols", "a: positive; n: positive integer",
                              "--timeout", "3"])
    assert code == 0, out + err


def test_check_strict_numeric_is_1():
    args = ["check", "atan(x) + atan(1/x)", "pi/2", "--symbols", "x: positive", "--timeout", "3"]
    assert run_cli(args)[0] == 0
    assert run_cli([*args, "--strict"])[0] == 1


def test_check_syntax_error_is_2():
    code, out, err = run_cli(["check", "x +", "1", "--timeout", "3"])
    assert code == 2
    assert "Traceback" not in out + err


def test_check_bad_symbol_type_is_2():
    code, out, err = run_cli(["check", "x", "x", "--symbols", "x: banana", "--timeout", "3"])
    assert code == 2
    assert "Traceback" not in out + err


# ---------------------------------------------------------------------------------------------
# grade (FORMAT §5, §6): exits 0 when it produced grades, whatever they are


def test_grade_exits_0_with_grades(tmp_path):
    key = write_yaml(tmp_path, derivation("x: real", "(x + 1)^2 = x^2 + 2 x + 1", """
        (x + 1)^2
          = x^2 + 2 x + 1
        """), "key.yaml")
    bad = tmp_path / "bad.txt"
    bad.write_text("(x + 1)^2\n  = x^2 + 1\n")
    good = tmp_path / "good.txt"
    good.write_text("(x + 1)^2\n  = (x + 1) (x + 1)\n  = x^2 + 2 x + 1\n")
    code, doc, err = run_json(["grade", bad, good, "--key", key])
    assert code == 0, err  # grades were produced, whatever they are
    subs = doc["submissions"]
    assert len(subs) == 2
    for sub in subs:
        for k in ("score", "max_score", "first_error", "final_matches_claim", "feedback", "steps"):
            assert k in sub
    b, g = subs
    assert b["first_error"] == 1
    assert b["final_matches_claim"] is False
    assert b["score"] < b["max_score"]
    assert [s["status"] for s in b["steps"]] == ["refuted"]
    assert g["first_error"] is None
    assert g["final_matches_claim"] is True
    assert g["score"] == g["max_score"] > 0
    assert [s["status"] for s in g["steps"]] == ["proved", "proved"]


def test_jobs_defaults_to_one_worker_per_cpu_and_accepts_auto():
    from proofcheck.cli import available_cpus, build_parser
    import os
    assert available_cpus() == len(os.sched_getaffinity(0))
    parser = build_parser()
    assert parser.parse_args(["verify", "x.yaml"]).jobs is None  # resolved to available_cpus() in main
    assert parser.parse_args(["verify", "x.yaml", "--jobs", "auto"]).jobs == available_cpus()
    assert parser.parse_args(["verify", "x.yaml", "--jobs", "3"]).jobs == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["verify", "x.yaml", "--jobs", "0"])

