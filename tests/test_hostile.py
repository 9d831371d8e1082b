"""Hostile input through the command line: every file gives exit 1 or 2, a clear message with
file:line:col where there is a place to point at, and never a Python traceback."""

from __future__ import annotations

import os
import random
import re
import time
from pathlib import Path

import pytest

from testlib import run_cli, run_json

NAME = "d.yaml"


def run_file(tmp_path: Path, content, name: str = NAME, extra=(), timeout: float = 60):
    """Write content (str or bytes) to tmp_path/name and run `proofcheck verify name` there."""
    p = tmp_path / name
    if isinstance(content, str):
        p.write_text(content, encoding="utf-8")
    else:
        p.write_bytes(content)
    code, out, err = run_cli(["verify", name, "--timeout", "2", *extra], cwd=tmp_path, timeout=timeout)
    assert "Traceback" not in out and "Traceback" not in err, out + err
    return code, out, err


def position(out: str, name: str = NAME):
    """(line, col) of the first `name:line:col: error` in the text report."""
    m = re.search(re.escape(name) + r":(\d+):(\d+): error", out)
    assert m, f"no {name}:line:col in the report:\n{out}"
    return int(m.group(1)), int(m.group(2))


def step_file(formula: str) -> str:
    """A derivation whose one step is `= formula` (on line 8, starting at column 7)."""
    return ("proofcheck: 1\ntitle: hostile\nsymbols:\n  x, y: real\nclaim: x = x\nsteps: |\n  x\n"
            f"    = {formula}\n")


# ---------------------------------------------------------------------------------------------
# Code injection


def test_dunder_import_is_not_executed(tmp_path):
    code, out, err = run_file(tmp_path, step_file("__import__('os').system('touch PWNED_import')"))
    assert code == 2
    assert position(out) == (8, 7)
    assert not (tmp_path / "PWNED_import").exists()
    assert not (Path.cwd() / "PWNED_import").exists()


def test_eval_is_just_an_undeclared_name(tmp_path):
    code, out, err = run_file(tmp_path, step_file("eval(1)"))
    assert code == 2
    assert position(out) == (8, 7)
    assert "eval" in out and "not declared" in out


def test_injection_in_a_define_is_not_executed(tmp_path):
    text = ("proofcheck: 1\ntitle: hostile\nsymbols:\n  x: real\n"
            "define:\n  - g := __import__('os').system('touch PWNED_define')\n"
            "claim: x = x\nsteps: |\n  x\n    = x\n")
    code, out, err = run_file(tmp_path, text)
    assert code == 2
    assert position(out)[0] == 6
    assert not (tmp_path / "PWNED_define").exists()


def test_injection_as_a_symbol_name_is_refused(tmp_path):
    text = ("proofcheck: 1\ntitle: hostile\nsymbols:\n  \"__import__('os').system('touch PWNED_sym')\": real\n"
            "claim: x = x\nsteps: |\n  x\n    = x\n")
    code, out, err = run_file(tmp_path, text)
    assert code == 2
    assert position(out)[0] == 4
    assert not (tmp_path / "PWNED_sym").exists()


def test_injection_through_check_command(tmp_path):
    code, out, err = run_cli(["check", "__import__('os').system('touch PWNED_check')", "0"], cwd=tmp_path)
    assert code == 2
    assert "Traceback" not in out + err
    assert not (tmp_path / "PWNED_check").exists()


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['touch PWNED_tag']",
    "!!python/object/new:os.system ['touch PWNED_tag']",
    "!!python/name:os.system",
    "!custom 'x'",
], ids=["apply", "new", "name", "custom"])
def test_yaml_python_tags_are_refused(tmp_path, tag):
    text = f"proofcheck: 1\ntitle: {tag}\nclaim: x = x\nsteps: |\n  x\n    = x\n"
    code, out, err = run_file(tmp_path, text)
    assert code == 2
    assert position(out) == (2, 8)
    assert "tag" in out
    assert not (tmp_path / "PWNED_tag").exists()


def test_yaml_tag_deep_inside_is_refused(tmp_path):
    text = ("proofcheck: 1\ntitle: t\ngrading:\n  weights:\n    - !!python/object/apply:os.system ['touch PWNED_deep']\n"
            "claim: x = x\nsteps: |\n  x\n    = x\n")
    code, out, err = run_file(tmp_path, text)
    assert code == 2
    assert position(out) == (5, 7)
    assert not (tmp_path / "PWNED_deep").exists()


# ---------------------------------------------------------------------------------------------
# Resource exhaustion


def test_billion_laughs(tmp_path):
    lines = ["proofcheck: 1", "title: lol", "grading:", '  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    lines += ["claim: x = x", "steps: |", "  x", "    = x"]
    start = time.monotonic()
    code, out, err = run_file(tmp_path, "\n".join(lines) + "\n")
    assert time.monotonic() - start < 20
    assert code == 2
    assert position(out) == (5, 12)  # the first alias use: `*a0` on line 5
    assert "alias" in out


def test_formula_nested_5000_deep(tmp_path):
    start = time.monotonic()
    code, out, err = run_file(tmp_path, step_file("(" * 5000 + "x" + ")" * 5000))
    assert time.monotonic() - start < 20
    assert code == 2
    assert position(out)[0] == 8


def test_formula_nested_deep_but_short(tmp_path):
    # 1000 levels fit the length limit; the nesting limit must catch them, pointing into the brackets
    code, out, err = run_file(tmp_path, step_file("(" * 1000 + "x" + ")" * 1000))
    assert code == 2
    line, col = position(out)
    assert line == 8 and 7 < col < 7 + 1000
    assert "nested" in out


def test_calls_nested_deep(tmp_path):
    code, out, err = run_file(tmp_path, step_file("exp(" * 2000 + "x" + ")" * 2000))
    assert code == 2
    assert position(out)[0] == 8


def slow_step_file(formula: str) -> str:
    """One step `x = formula` whose claim repeats it verbatim (so only the step itself is expensive)."""
    return ("proofcheck: 1\ntitle: hostile\nsymbols:\n  x: real\n"
            f"claim: x = {formula}\nsteps: |\n  x\n    = {formula}\n")


def test_exp_tower_within_limits_finishes(tmp_path):
    (tmp_path / NAME).write_text(slow_step_file("exp(" * 40 + "x" + ")" * 40))
    start = time.monotonic()
    code, doc, err = run_json(["verify", NAME, "--timeout", "1"], cwd=tmp_path)
    assert time.monotonic() - start < 30  # killed by its CPU budget, not left running
    assert code == 1
    assert "Traceback" not in err
    assert doc["files"][0]["parts"][0]["steps"][0]["status"] in ("unknown", "refuted")


@pytest.mark.parametrize("body", [
    "notes: " + "[" * 5000 + "]" * 5000,
    "notes: " + "{a: " * 5000 + "1" + "}" * 5000,
], ids=["flow-sequences", "flow-mappings"])
def test_yaml_nested_5000_deep(tmp_path, body):
    text = "proofcheck: 1\ntitle: deep\n" + body + "\nclaim: x = x\nsteps: |\n  x\n    = x\n"
    start = time.monotonic()
    code, out, err = run_file(tmp_path, text)
    assert time.monotonic() - start < 20
    assert code == 2
    assert position(out)[0] == 3
    assert "nested" in out


def test_yaml_block_nesting(tmp_path):
    body = "".join("\n" + " " * (2 * i + 2) + "a:" for i in range(200))
    text = "proofcheck: 1\ntitle: deep\nnotes:" + body + " 1\nclaim: x = x\nsteps: |\n  x\n    = x\n"
    code, out, err = run_file(tmp_path, text)
    assert code == 2
    assert 3 < position(out)[0] < 210


def test_huge_power_tower(tmp_path):
    start = time.monotonic()
    code, out, err = run_file(tmp_path, step_file("2^(10^(10^10))"))
    assert time.monotonic() - start < 15
    assert code == 2
    line, col = position(out)
    assert line == 8 and 7 <= col <= 14
    assert "digits" in out or "limit" in out


@pytest.mark.parametrize("formula", ["x^(10^20)", "(10^300)^(10^300)", "diff(x, x, 1000000)", "9" * 400],
                         ids=["symbolic-exponent", "number-power", "derivative-order", "400-digits"])
def test_other_size_limits(tmp_path, formula):
    start = time.monotonic()
    code, out, err = run_file(tmp_path, step_file(formula))
    assert time.monotonic() - start < 15
    assert code == 2
    assert position(out)[0] == 8


def test_huge_product_is_stopped(tmp_path):
    (tmp_path / NAME).write_text(slow_step_file("prod(j, j, 1, 10^6)"))
    start = time.monotonic()
    code, doc, err = run_json(["verify", NAME, "--timeout", "1"], cwd=tmp_path)
    assert time.monotonic() - start < 30  # killed by its CPU budget, not left running
    assert code == 1
    assert "Traceback" not in err
    s = doc["files"][0]["parts"][0]["steps"][0]
    assert s["status"] in ("unknown", "refuted")


@pytest.mark.parametrize("formula", ["x/0", "x/(y - y)", "1/(2 - 2) + x"])
def test_division_by_zero(tmp_path, formula):
    code, out, err = run_file(tmp_path, step_file(formula))
    assert code == 2
    assert position(out) == (8, 7)
    assert "division by zero" in out


def test_too_many_steps(tmp_path):
    text = "proofcheck: 1\ntitle: many\nsymbols:\n  x: real\nclaim: x = x\nsteps: |\n  x\n" + "    = x\n" * 600
    code, out, err = run_file(tmp_path, text)
    assert code == 2
    assert position(out)[0] == 6


def test_formula_too_long(tmp_path):
    code, out, err = run_file(tmp_path, step_file(" + ".join(["x"] * 3000)))
    assert code == 2
    assert position(out)[0] == 8


# ---------------------------------------------------------------------------------------------
# Files that are not derivations


def test_binary_garbage_with_nul(tmp_path):
    rng = random.Random(1234)
    data = bytes(rng.randrange(256) for _ in range(4096)) + b"\x00\x00\xff\xfe" + bytes(range(256))
    code, out, err = run_file(tmp_path, data)
    assert code == 2
    assert position(out) == (1, 1)
    assert "binary" in out


def test_empty_file(tmp_path):
    code, out, err = run_file(tmp_path, b"")
    assert code == 2
    assert position(out) == (1, 1)
    assert "empty" in out


def test_whitespace_only_file(tmp_path):
    code, out, err = run_file(tmp_path, "   \n\n  \n")
    assert code == 2
    assert "empty" in out


def test_two_megabyte_file(tmp_path):
    text = "proofcheck: 1\ntitle: big\nnotes: \"" + "a" * 2_000_000 + "\"\nclaim: x = x\nsteps: |\n  x\n    = x\n"
    start = time.monotonic()
    code, out, err = run_file(tmp_path, text)
    assert time.monotonic() - start < 15
    assert code == 2
    assert position(out) == (1, 1)
    assert "limit" in out or "bytes" in out


def test_non_utf8_file(tmp_path):
    data = b"proofcheck: 1\ntitle: caf\xe9\nclaim: x = x\nsteps: |\n  x\n    = x\n"
    code, out, err = run_file(tmp_path, data)
    assert code == 2
    assert position(out) == (2, 1)
    assert "UTF-8" in out


def test_utf16_file(tmp_path):
    data = "proofcheck: 1\ntitle: t\nclaim: x = x\nsteps: |\n  x\n    = x\n".encode("utf-16")
    code, out, err = run_file(tmp_path, data)
    assert code == 2


def test_file_that_is_a_yaml_list(tmp_path):
    code, out, err = run_file(tmp_path, "- proofcheck: 1\n- title: x\n")
    assert code == 2
    assert position(out) == (1, 1)
    assert "mapping" in out


def test_file_that_is_a_scalar(tmp_path):
    code, out, err = run_file(tmp_path, "just some words\n")
    assert code == 2


def test_yaml_syntax_error(tmp_path):
    code, out, err = run_file(tmp_path, "proofcheck: 1\ntitle: [unclosed\nclaim: x = x\n")
    assert code == 2
    assert position(out)[0] in (2, 3, 4)


def test_wrong_version_and_missing_keys(tmp_path):
    code, out, err = run_file(tmp_path, "proofcheck: 2\ntitle: t\nclaim: x = x\nsteps: |\n  x\n    = x\n")
    assert code == 2
    assert position(out) == (1, 13)
    code, out, err = run_file(tmp_path, "proofcheck: 1\nclaim: x = x\nsteps: |\n  x\n    = x\n")
    assert code == 2
    assert "title" in out


def test_unknown_top_level_key(tmp_path):
    code, out, err = run_file(tmp_path, "proofcheck: 1\ntitle: t\nstpes: |\n  x\n")
    assert code == 2
    assert position(out) == (3, 1)
    assert "steps" in out  # suggests the right key


def test_steps_as_a_mapping(tmp_path):
    code, out, err = run_file(tmp_path, "proofcheck: 1\ntitle: t\nclaim: x = x\nsteps:\n  a: b\n")
    assert code == 2


def test_missing_file(tmp_path):
    code, out, err = run_cli(["verify", "no_such_file.yaml"], cwd=tmp_path)
    assert code == 2
    assert "Traceback" not in out + err
    assert "no_such_file.yaml" in out + err
    assert "no such file" in (out + err).lower()


def test_directory_without_derivations(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.yaml").write_text("a: 1\n")
    code, out, err = run_cli(["verify", "sub"], cwd=tmp_path)
    assert code == 2
    assert "Traceback" not in out + err


def test_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        # root reads anything; use a directory entry that cannot be read as a file instead
        p = tmp_path / "dir.yaml"
        p.mkdir()
        (p / "x").write_text("y")
        code, out, err = run_cli(["verify", "dir.yaml/x/"], cwd=tmp_path)
    else:
        p = tmp_path / NAME
        p.write_text("proofcheck: 1\ntitle: t\n")
        p.chmod(0)
        code, out, err = run_cli(["verify", NAME], cwd=tmp_path)
    assert code == 2
    assert "Traceback" not in out + err


@pytest.mark.parametrize("args", [
    ["verify", NAME, "--bogus"],
    ["verify", NAME, "--timeout", "-1"],
    ["verify", NAME, "--timeout", "abc"],
    ["verify", NAME, "--format", "xml"],
    ["verify"],
    ["frobnicate"],
    [],
])
def test_bad_command_line(tmp_path, args):
    (tmp_path / NAME).write_text(step_file("x"))
    code, out, err = run_cli(args, cwd=tmp_path)
    assert code == 2
    assert "Traceback" not in out + err
    assert "usage" in (out + err).lower()


def test_json_report_of_a_hostile_file_is_valid(tmp_path):
    (tmp_path / NAME).write_text(step_file("__import__('os')"))
    code, doc, err = run_json(["verify", NAME, "--timeout", "2"], cwd=tmp_path)
    assert code == 2
    f = doc["files"][0]
    assert f["status"] == "error"
    assert (f["errors"][0]["line"], f["errors"][0]["column"]) == (8, 7)
    assert doc["summary"]["errors"] >= 1
