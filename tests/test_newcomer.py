"""What a new user hits first (issue 16): messages that say what to do, honest JSON, help and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from testlib import FAST, REPO, derivation, run_cli, run_json, verify, write_yaml


def _run_narrow(args, cwd=None):
    """The CLI piped, as in CI logs: no COLUMNS, so rich would use 80 columns."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["NO_COLOR"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run([sys.executable, "-m", "proofcheck", *map(str, args)], cwd=str(cwd or REPO),
                          capture_output=True, timeout=120, env=env)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


SEVERAL_ERRORS = """\
proofcheck: 1
title: several input errors
symbols:
  x: real
  n: sometype
define:
  - g := y + 1
claim: x + 1 = z
steps: |
  x + 1
    = x + q
    = x + 1   by definiton
    = (x + 1
"""


def test_every_input_error_of_a_file_is_reported_on_one_unwrapped_line(tmp_path):
    p = tmp_path / "errors.yaml"
    p.write_text(SEVERAL_ERRORS)
    code, out, _ = _run_narrow(["verify", p, "--no-cache", "--jobs", "1"])
    assert code == 2
    lines = [ln for ln in out.splitlines() if ": error: " in ln]
    assert [ln.split(": error: ")[0].replace(str(p), "F") for ln in lines] == \
        ["F:5:6", "F:7:10", "F:8:16", "F:11:11", "F:12:18", "F:13:13"]
    # The longest message is well over 80 columns and still one line.
    assert any(len(ln) > 120 and "unknown type 'sometype'" in ln and ln.rstrip().endswith("density")
               for ln in lines)
    assert "did you mean `definition`?" in out
    assert "no claim given" not in out and "the claim could not be read" in out


def test_rule_name_typo_gets_did_you_mean():
    doc = verify(derivation("x: real", "x + 1 = 1 + x", """
        x + 1
          = 1 + x     by algebr
        """), timeout=FAST)
    assert doc["status"] == "error"
    assert [e["message"] for e in doc["errors"]] == ["unknown rule `algebr`; did you mean `algebra`?"]


def test_a_tab_in_yaml_says_indent_with_spaces(tmp_path):
    p = tmp_path / "tab.yaml"
    p.write_text("proofcheck: 1\ntitle: t\nsymbols:\n\tx: real\nclaim: x = x\nsteps: |\n  x\n    = x\n")
    code, out, _ = run_cli(["verify", p, "--no-cache"])
    assert code == 2
    assert f"{p}:4:1: error: a tab character in the YAML structure: indent with spaces, not tabs" in out


def test_verify_of_a_sheet_without_key_points_to_grade(tmp_path):
    sheet = tmp_path / "sheet.md"
    sheet.write_text("# Question 1\n\n$$ x^2 = x x $$\n")
    code, out, err = run_cli(["verify", sheet, "--no-cache"])
    assert code == 2
    assert f"proofcheck grade {sheet} --key KEY.yaml" in err
    assert "YAML mapping" not in out + err


def test_verify_examples_skips_student_submissions(tmp_path):
    # examples/ as a newcomer has it, with one of the seed keys (verifying all five takes half a minute of CPU; that
    # each reads without an error is test_every_seed_key_loads)
    import shutil
    ex = tmp_path / "examples"
    shutil.copytree(REPO / "examples", ex, ignore=lambda d, names: [n for n in names if n.endswith(".key.yaml")
                                                                     and not n.startswith("002_")])
    code, doc, err = run_json(["verify", "examples/", "--no-cache", "--timeout", str(FAST), "--jobs", "2"],
                              cwd=tmp_path)
    assert code == 1  # kl_slip.yaml is refuted; nothing is an input error
    # Answer keys are derivations too (the instructor's solution), so they are verified.
    keys = sorted(f"examples/seeds/{p.name}" for p in (ex / "seeds").glob("*.key.yaml"))
    assert keys == ["examples/seeds/002_76b741aadb290eb6.key.yaml"]
    assert sorted(f["path"] for f in doc["files"]) == sorted(["examples/kl_equal_variance.yaml",
                                                              "examples/kl_slip.yaml", *keys])
    assert doc["summary"]["errors"] == 0
    n = len(list((REPO / "examples" / "submissions").glob("*.yaml")))
    assert f"skipped {n} student submission(s)" in err and "proofcheck grade" in err


def test_every_seed_key_loads():
    from proofcheck.grade import load_key
    from proofcheck.verify import Options
    keys = sorted((REPO / "examples" / "seeds").glob("*.key.yaml"))
    assert len(keys) == 5
    for k in keys:
        key, errors = load_key(str(k), Options(timeout=FAST))
        assert errors == [], (k.name, errors)
        assert key.parts, k.name


def test_check_json_does_not_claim_a_refuted_step_established():
    code, doc, _ = run_json(["check", "x^2", "x^2 + 1", "--no-cache", "--timeout", str(FAST)])
    assert code == 1
    part = doc["files"][0]["parts"][0]
    assert part["steps"][0]["status"] == "refuted"
    assert part["claim_established"] is False
    assert part["claim_message"] == "step 1 is refuted"


def test_part_with_an_unknown_step_is_not_established():
    doc = verify(derivation("x: positive", "log(x) <= x - 1", """
        log(x)
          <= x - 1      by jensen
        """), timeout=FAST)
    (part,) = doc["parts"]
    assert part["steps"][0]["status"] == "unknown"
    assert part["claim_established"] is False and "step 1 is unknown" in part["claim_message"]


def test_grade_of_a_missing_path_exits_2():
    code, out, err = run_cli(["grade", "nosuchdir", "--key", "examples/kl_equal_variance.yaml", "--no-cache"],
                             process=True)
    assert code == 2
    assert "no such file or directory: nosuchdir" in err
    assert out == ""


def test_cache_directory_ignores_itself(tmp_path):
    (tmp_path / "d.yaml").write_text((REPO / "examples" / "kl_equal_variance.yaml").read_text())
    code, _, _ = run_cli(["verify", "d.yaml", "--timeout", str(FAST), "--jobs", "1"], cwd=tmp_path)
    assert code == 0
    assert (tmp_path / ".proofcheck_cache" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_help_has_examples_and_exit_codes_for_every_command():
    for command in ("verify", "check", "grade", "report", "latex", "serve"):
        code, out, _ = run_cli([command, "--help"])
        assert code == 0, command
        assert "examples:" in out and f"proofcheck {command} " in out.split("examples:")[1], command
        assert "exit status" in out, command
    code, out, _ = run_cli(["grade", "--help"])
    assert ".md" in out
    code, out, _ = run_cli(["--version"])
    assert code == 0 and out.strip() == "proofcheck 0.1.0"


def test_help_examples_of_check_run():
    code, out, _ = run_cli(["check", "log(exp(a) exp(b))", "a + b", "--symbols", "a, b: real", "--no-cache"])
    assert code == 0 and "proved" in out
    code, out, _ = run_cli(["check", "sqrt(x^2)", "<= x + 1", "--symbols", "x: positive", "--no-cache"])
    assert code == 0


def test_inner_product_inside_steps_and_after_a_factor(tmp_path):
    doc = verify(derivation("u, v: vector(2)", "<u, v> = <v, u>", """
        <u, v>
          = u^T v
          = <v, u>
          = 2 <v, u> - <u, v>
        """), timeout=FAST)
    assert doc["errors"] == []
    assert [s["status"] for s in doc["parts"][0]["steps"]] == ["proved"] * 3
    # A comparison is still a comparison.
    doc = verify(derivation("x: positive", "x < x + 1", """
        x < x + 1
          <==> 0 < 1
        """), timeout=FAST)
    assert doc["errors"] == [] and doc["status"] == "proved"


def test_constant_before_a_parenthesis_multiplies():
    code, doc, _ = run_json(["check", "2 pi (v1 + v2)", "2 pi v1 + 2 pi v2", "--no-cache", "--timeout", str(FAST)])
    assert code == 0 and doc["files"][0]["status"] == "proved"
    doc = verify(derivation("x: real", "pi (x + 1) = pi x + pi", """
        pi (x + 1)
          = pi x + pi
        """), timeout=FAST)
    assert doc["status"] == "proved"
    # A wrong product stays wrong.
    code, doc, _ = run_json(["check", "pi (x + 1)", "pi x + 1", "--no-cache", "--timeout", str(FAST)])
    assert code == 1 and doc["files"][0]["parts"][0]["steps"][0]["status"] == "refuted"
