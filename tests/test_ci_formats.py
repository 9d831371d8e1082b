"""`verify --format junit` and `--format github`: parse what CI systems read and check it says the right thing."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

import pytest

from testlib import REPO, run_cli
from proofcheck.kernel.verdict import Status, StepResult
from proofcheck.report import github, junit
from proofcheck.verify import FileReport, Options, PartReport, StepReport, verify_paths

SMALL = "tests/data/reports/small.yaml"
BAD = "tests/data/reports/bad_input.yaml"
PLANTED = "tests/data/planted/saturating_gan_gradient_sign.yaml"

ANNOTATION = re.compile(r"^::(error|warning|notice) ((?:[a-z]+=[^,:]*)(?:,[a-z]+=[^,:]*)*)::(.*)$")


@pytest.fixture(scope="module")
def reports():
    """The small sheet and the file with an input error, checked once (paths relative to the repository)."""
    old = os.getcwd()
    os.chdir(REPO)
    try:
        return verify_paths([SMALL, BAD], Options(timeout=5))
    finally:
        os.chdir(old)


def unescape(s: str) -> str:
    """GitHub's escaping, undone."""
    return s.replace("%2C", ",").replace("%3A", ":").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def parse_annotations(text: str) -> list[dict]:
    """Every workflow command in the output, as {level, file, line, col, title, message}."""
    out = []
    for line in text.splitlines():
        if not line.startswith("::"):
            continue
        m = ANNOTATION.match(line)
        assert m, f"not a well-formed workflow command: {line!r}"
        props = dict(p.split("=", 1) for p in m.group(2).split(","))
        out.append({"level": m.group(1), **{k: unescape(v) for k, v in props.items()},
                    "message": unescape(m.group(3))})
    return out


def step(index, status, *, line=10, text="x", message="", ce=None, method="") -> StepReport:
    return StepReport(index, line, 5, "=", text, "", StepResult(status, method, message, ce, 0.25))


def file_report(steps, *, established=True, errors=(), claim_message="", path="sheets/a.yaml") -> FileReport:
    statuses = [s.result.status for s in steps]
    worst = next((st for st in (Status.ERROR, Status.REFUTED, Status.UNKNOWN, Status.NUMERIC) if st in statuses),
                 Status.PROVED)
    part = PartReport("main", "x = x", worst, established, claim_message, list(steps), "x")
    return FileReport(path, "A sheet", Status.ERROR if errors else worst, list(errors), [part])


# ---------------------------------------------------------------------------------------------
# JUnit


def test_junit_counts_match_the_testcases_and_the_steps(reports):
    root = ET.fromstring(junit.render(reports, 1.5))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [SMALL, BAD]
    small = suites[0]
    steps = sum(len(p.steps) for p in reports[0].parts)
    claims = len(reports[0].parts)
    assert int(small.get("tests")) == len(small.findall("testcase")) == steps + claims
    for el in [root, *suites]:
        cases = el.findall(".//testcase")
        assert int(el.get("tests")) == len(cases)
        assert int(el.get("failures")) == sum(len(c.findall("failure")) for c in cases)
        assert int(el.get("errors")) == sum(len(c.findall("error")) for c in cases)
        assert int(el.get("skipped")) == sum(len(c.findall("skipped")) for c in cases)
    assert float(root.get("time")) == 1.5


def test_junit_refuted_step_is_a_failure_with_the_counterexample(reports):
    root = ET.fromstring(junit.render(reports, 1.0))
    small = root.find("testsuite")
    cases = [c for c in small.findall("testcase") if c.find("failure") is not None]
    refuted = [c for c in cases if c.find("failure").get("type") == "refuted"]
    assert len(refuted) == 1
    case = refuted[0]
    assert case.get("classname") == "tests.data.reports.small.wrong_square"
    assert case.get("name").startswith("step 2: = x^2 + y^2")
    assert case.get("file") == SMALL and case.get("line") == "24"
    failure = case.find("failure")
    assert failure.get("message").startswith("step 2 refuted: ")
    body = failure.text
    assert body.startswith(f"{SMALL}:24:")
    assert "counterexample:" in body
    assert re.search(r"^  x = -?[0-9.]+$", body, re.M) and re.search(r"^  y = -?[0-9.]+$", body, re.M)
    assert "left side = " in body and "right side = " in body


def test_junit_claim_testcases(reports):
    root = ET.fromstring(junit.render(reports, 1.0))
    claims = {c.get("classname").rsplit(".", 1)[1]: c for c in root.find("testsuite").findall("testcase")
              if c.get("name").startswith("claim")}
    assert set(claims) == {"square", "wrong_square", "calculus", "solve_for_x", "derivative_prime"}
    failure = claims["calculus"].find("failure")
    assert failure is not None and failure.get("type") == "claim"
    assert "the steps give `<=`, the claim says `=`" in failure.get("message")
    assert claims["calculus"].get("line") == "27"  # the line of `claim:` in the part
    for name in ("square", "solve_for_x", "derivative_prime"):
        assert len(claims[name]) == 0, f"claim of {name} should pass"


def test_junit_input_error_has_file_line_column(reports):
    root = ET.fromstring(junit.render(reports, 1.0))
    bad = root.findall("testsuite")[1]
    errors = [c for c in bad.findall("testcase") if c.find("error") is not None]
    assert len(errors) == 1
    error = errors[0].find("error")
    assert error.get("message").startswith(f"{BAD}:9:15: 'zeta' is not declared")
    # the step after the unreadable line was not checked: skipped, not failed
    skipped = [c for c in bad.findall("testcase") if c.find("skipped") is not None]
    assert [c.get("name").split(":")[0] for c in skipped] == ["step 2", "claim"]


def test_junit_escapes_markup_and_drops_characters_xml_cannot_hold():
    nasty = 'a < b & c > "d" ]]> \x01\x1b end'
    report = file_report([step(1, Status.REFUTED, text=nasty, message=nasty, ce={"x": "1", "lhs": "<", "rhs": "&"})])
    text = junit.render([report], 0.1)
    root = ET.fromstring(text)  # well-formed despite the markup and control characters
    case = root.find(".//testcase")
    assert 'a < b & c > "d" ]]>' in case.get("name")
    failure = case.find("failure")
    assert "\x01" not in failure.text and "\ufffd" in failure.text
    assert "left side = <" in failure.text and "right side = &" in failure.text


def test_junit_unknown_skipped_numeric_and_strict():
    report = file_report([step(1, Status.UNKNOWN, message="over budget"),
                          step(2, Status.UNKNOWN, method="skipped", message="the previous line could not be read"),
                          step(3, Status.NUMERIC, message="agrees at 8 points")])
    root = ET.fromstring(junit.render([report], 0.1))
    cases = [c for c in root.iter("testcase") if c.get("name").startswith("step")]
    assert cases[0].find("failure").get("type") == "unknown"
    assert cases[1].find("skipped") is not None and cases[1].find("failure") is None
    assert cases[2].find("failure") is None and "numeric" in cases[2].find("system-out").text
    strict = ET.fromstring(junit.render([report], 0.1, strict=True))
    cases = [c for c in strict.iter("testcase") if c.get("name").startswith("step")]
    assert cases[2].find("failure").get("type") == "numeric"


def test_verify_format_junit_on_a_planted_mistake():
    code, out, err = run_cli(["verify", PLANTED, "--format", "junit", "--timeout", "5"])
    assert code == 1, err
    root = ET.fromstring(out)
    refuted = [c for c in root.iter("testcase")
               if c.find("failure") is not None and c.find("failure").get("type") == "refuted"]
    assert [(c.get("classname").rsplit(".", 1)[1], c.get("name").split(":")[0]) for c in refuted] == \
        [("saturating_gradient", "step 4")]


# ---------------------------------------------------------------------------------------------
# GitHub


def test_github_escaping_rules():
    assert github.escape_data("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext: a,b"
    assert github.escape_property("a:b,c%d\r\ne") == "a%3Ab%2Cc%25d%0D%0Ae"
    line = github.command("error", "x :: y\nz", file="d,ir/a:b.yaml", line=3, col=7, title="t: 1, 2")
    assert line == "::error file=d%2Cir/a%3Ab.yaml,line=3,col=7,title=t%3A 1%2C 2::x :: y%0Az"
    (a,) = parse_annotations(line)
    assert a == {"level": "error", "file": "d,ir/a:b.yaml", "line": "3", "col": "7", "title": "t: 1, 2",
                 "message": "x :: y\nz"}


def test_github_annotations_for_the_small_sheet(reports):
    text = github.render(reports)
    assert "\r" not in text
    annotations = parse_annotations(text)
    by_title = {a["title"]: a for a in annotations}
    refuted = by_title["proofcheck: part wrong_square: step 2 refuted"]
    assert refuted["level"] == "error" and refuted["file"] == SMALL
    assert (refuted["line"], refuted["col"]) == ("24", "9")
    lines = refuted["message"].split("\n")
    assert lines[0] == "part wrong_square: step 2: = x^2 + y^2"
    assert lines[1].startswith("refuted: ") and "counterexample:" in lines
    claim = by_title["proofcheck: part calculus: claim not established"]
    assert claim["level"] == "error" and (claim["line"], claim["col"]) == ("27", "12")
    assert "the steps give `<=`, the claim says `=`" in claim["message"]
    error = by_title["proofcheck: input error"]
    assert (error["file"], error["line"], error["col"]) == (BAD, "9", "15")
    assert error["message"].startswith("'zeta' is not declared")
    skipped = by_title["proofcheck: step 2 unknown"]
    assert skipped["level"] == "warning" and skipped["file"] == BAD
    # nothing is said about what holds, and every annotation is one line of output
    assert not any("square: step" in t and "wrong" not in t for t in by_title)
    assert len(annotations) == sum(1 for line in text.splitlines() if line.startswith("::"))
    assert text.splitlines()[-1].startswith("proofcheck: 2 file(s), 0 established; 11 step(s)")


def test_github_unknown_is_a_warning_and_strict_numeric_an_error():
    report = file_report([step(1, Status.UNKNOWN, line=4, message="over budget"),
                          step(2, Status.NUMERIC, line=5, message="agrees")])
    plain = parse_annotations(github.render([report]))
    assert [(a["level"], a["line"]) for a in plain] == [("warning", "4")]
    strict = parse_annotations(github.render([report], strict=True))
    assert [(a["level"], a["line"]) for a in strict] == [("warning", "4"), ("error", "5")]
    assert "numeric, not proved (--strict)" in strict[1]["message"]


def test_github_nothing_to_say_when_everything_holds():
    report = file_report([step(1, Status.PROVED), step(2, Status.PROVED)])
    text = github.render([report])
    assert parse_annotations(text) == []
    assert text == "proofcheck: 1 file(s), 1 established; 2 step(s): 2 proved; 0 input error(s)\n"


def test_github_absolute_paths_are_made_relative_to_the_workspace(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    sheet = tmp_path / "sheets" / "a.yaml"
    report = file_report([step(1, Status.REFUTED, line=3)], path=str(sheet))
    (a,) = parse_annotations(github.render([report]))
    assert a["file"] == "sheets/a.yaml"


def test_verify_format_github_cli():
    code, out, err = run_cli(["verify", BAD, "--format", "github"])
    assert code == 2, err
    annotations = parse_annotations(out)
    assert annotations[0]["level"] == "error" and annotations[0]["line"] == "9" and annotations[0]["col"] == "15"
