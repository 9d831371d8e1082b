"""The pytest plugin, run on sample files through pytester."""

from __future__ import annotations

import textwrap

GOOD = textwrap.dedent("""\
    proofcheck: 1
    title: good
    symbols:
      x: real
    parts:
      - name: square
        claim: (x + 1)^2 = x^2 + 2 x + 1
        steps: |
          (x + 1)^2
            = x^2 + 2 x + 1
      - name: cube
        claim: (x + 1)^3 = x^3 + 3 x^2 + 3 x + 1
        steps: |
          (x + 1)^3
            = x^3 + 3 x^2 + 3 x + 1
    """)

BAD = textwrap.dedent("""\
    proofcheck: 1
    title: bad
    symbols:
      x: real
    claim: (x + 1)^2 = x^2 + 1
    steps: |
      (x + 1)^2
        = x^2 + x + 1
        = x^2 + 1
    """)


def test_collects_parts_and_reports_the_failing_step(pytester):
    pytester.makefile(".yaml", good=GOOD, bad=BAD, other="just: yaml\n")
    result = pytester.runpytest("--proofcheck-timeout", "5",
                                "--proofcheck-no-cache")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "bad.yaml:8: step 1: = x^2 + x + 1" in out
    assert "refuted" in out and "counterexample:" in out
    assert "claim not established" not in out or "bad.yaml" in out


def test_per_step_items(pytester):
    pytester.makefile(".yaml", bad=BAD)
    result = pytester.runpytest("--proofcheck-per-step",
                                "--proofcheck-no-cache", "-v")
    # step 1 is wrong, step 2 follows from it (x^2 + x + 1 -> x^2 + 1 is also wrong), plus the claim item
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(["*bad.yaml::main?1? FAILED*", "*bad.yaml::main?claim? PASSED*"])


def test_strict_fails_numeric_parts(pytester):
    numeric = textwrap.dedent("""\
        proofcheck: 1
        title: only numeric
        symbols:
          x: positive
        claim: x^2 + 1 >= 2 x
        steps: |
          x^2 + 1
            >= 2 x
        """)
    pytester.makefile(".yaml", ineq=numeric)
    plain = pytester.runpytest("--proofcheck-no-cache")
    strict = pytester.runpytest("--proofcheck-strict", "--proofcheck-no-cache")
    assert plain.ret == 0
    # x^2 + 1 - 2x = (x - 1)^2 is shown nonnegative: proved, so strict passes too
    assert strict.ret == 0


def test_unreadable_file_fails_with_its_position(pytester):
    pytester.makefile(".yaml", broken="proofcheck: 1\ntitle: broken\nclaim: x = 1\nsteps: |\n  x\n    = 1 +\n")
    result = pytester.runpytest("--proofcheck-no-cache")
    result.assert_outcomes(failed=1)
    assert "broken.yaml:" in result.stdout.str()


def test_collects_a_library_file_one_item_per_part(pytester):
    # `pytest derivations/` is not part of the suite's run (tests/test_derivations.py checks the library's exact
    # statuses): one library file through the plugin shows its items are the file's parts, all passing
    from pathlib import Path
    import yaml
    text = (Path(__file__).resolve().parent.parent / "derivations" / "cavi.yaml").read_text(encoding="utf-8")
    names = [p["name"] for p in yaml.safe_load(text)["parts"]]
    pytester.makefile(".yaml", cavi=text)
    result = pytester.runpytest("--proofcheck-timeout", "10", "--proofcheck-no-cache", "-v")
    result.assert_outcomes(passed=len(names))
    result.stdout.fnmatch_lines_random([f"*cavi.yaml::{n} PASSED*" for n in names])
