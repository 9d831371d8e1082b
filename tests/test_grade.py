"""`proofcheck grade`: scores from verdicts on constructed cases with known points, the policies,
required results, submissions that cannot be read, the gradebook formats, and the seeds' own steps."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from testlib import REPO, run_cli
from proofcheck.grade import grade_paths, load_key, submission_paths
from proofcheck.verify import Options

TIMEOUT = 3
OPTIONS = Options(timeout=TIMEOUT, jobs=2)

# Key steps: 3. Default grading is overridden per test through `grading`.
KEY = """\
proofcheck: 1
title: sum of two squares
symbols:
  x: real
claim: (x + 1)^2 + (x - 1)^2 = 2 x^2 + 2
steps: |
  (x + 1)^2 + (x - 1)^2
    = x^2 + 2 x + 1 + (x - 1)^2
    = x^2 + 2 x + 1 + x^2 - 2 x + 1
    = 2 x^2 + 2
"""
CARRIED = """\
(x + 1)^2 + (x - 1)^2
  = x^2 + 1 + (x - 1)^2
  = x^2 + 1 + x^2 - 2 x + 1
  = 2 x^2 - 2 x + 2
"""  # step 1 drops 2x; steps 2 and 3 follow from the student's own lines; the result is wrong
RIGHT_THROUGH_WRONG = """\
(x + 1)^2 + (x - 1)^2
  = x^2 + 2 x + 1 + (x - 1)^2
  = x^2 + 2 x + 1 + x^2 + 1
  = 2 x^2 + 2
"""  # step 2 drops -2x, step 3 drops 2x: two slips that cancel, the final answer is right
WRONG_QUESTION = """\
(x + 1)^2 - (x - 1)^2
  = x^2 + 2 x + 1 - (x - 1)^2
  = x^2 + 2 x + 1 - x^2 + 2 x - 1
  = 4 x
"""  # every step holds, but the chain starts from the wrong expression and ends at the wrong result


def write(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def grade(tmp_path: Path, key_text: str, subs: dict, part: str | None = None, options: Options = OPTIONS):
    """Grade submissions {file name: text} against a key text in-process; returns {file name: Grade}."""
    key_path = write(tmp_path, "key.yaml", key_text)
    key, errors = load_key(str(key_path), options)
    assert errors == [], errors
    paths = [str(write(tmp_path, name, text)) for name, text in subs.items()]
    grades, _ = grade_paths(paths, key, options, part)
    return {Path(g.path).name: g for g in grades}


def statuses(g, part: int = 0) -> list[str]:
    return [s.result.status.value for s in g.parts[part].steps]


def with_grading(block: str, key: str = KEY) -> str:
    return key + "grading:\n" + textwrap.indent(textwrap.dedent(block), "  ")


# ---------------------------------------------------------------------------------------------
# Policies and points


def test_error_carried_forward_credit_with_known_points(tmp_path):
    key = with_grading("final: 2\nper_step: 1\n")  # max 3 + 2
    g = grade(tmp_path, key, {"carried.txt": CARRIED})["carried.txt"]
    assert statuses(g) == ["refuted", "proved", "proved"]
    assert g.parts[0].step_points == [0, 1, 1]
    assert (g.score, g.max_score) == (2, 5)
    assert g.first_error == ("main", 1)
    assert g.final_matches_claim is False
    assert "Step 1 does not follow from the starting line: at x = " in g.feedback
    assert "still earn credit" in g.feedback


def test_stop_policy_gives_nothing_after_the_first_error(tmp_path):
    key = with_grading("policy: stop\nfinal: 2\nper_step: 1\n")
    grades = grade(tmp_path, key, {"carried.txt": CARRIED, "slips.txt": RIGHT_THROUGH_WRONG})
    carried, slips = grades["carried.txt"], grades["slips.txt"]
    assert statuses(carried) == ["refuted", "proved", "proved"]
    assert carried.parts[0].step_points == [0, 0, 0] and carried.score == 0
    assert statuses(slips) == ["proved", "refuted", "refuted"]
    assert slips.final_matches_claim is True  # the answer is right ...
    assert slips.parts[0].final_points == 0  # ... but it comes after the first error
    assert (slips.score, slips.max_score) == (1, 5)
    assert "policy `stop`" in slips.feedback


def test_correct_final_answer_through_a_wrong_step(tmp_path):
    g = grade(tmp_path, with_grading("final: 2\nper_step: 1\n"), {"slips.txt": RIGHT_THROUGH_WRONG})["slips.txt"]
    assert statuses(g) == ["proved", "refuted", "refuted"]
    assert g.final_matches_claim is True
    # the right answer is reached by a second slip that cancels the first: the final line does not follow from the
    # line before it, so it is not derived and earns no final points (error-carried-forward credits steps that
    # follow from the student's own lines, not a jump back to the key's answer)
    assert g.parts[0].final_points == 0
    assert (g.score, g.max_score) == (1, 5)
    assert g.first_error == ("main", 2)
    assert "the chain to it breaks at step 2, so it is not derived" in g.feedback


def test_correct_final_answer_after_a_made_up_line_closed_by_a_true_inequality(tmp_path):
    # x^2 + y^2 = 2xy + 5 is wrong; 2xy + 5 >= 2xy holds, but the result does not follow from the start
    key = ("proofcheck: 1\ntitle: AM-GM\nsymbols:\n  x, y: real\nclaim: x^2 + y^2 >= 2 x y\nsteps: |\n"
           "  x^2 + y^2\n    = (x - y)^2 + 2 x y\n    >= 2 x y\ngrading:\n  required:\n"
           "    - formula: (x - y)^2 + 2 x y\n      points: 2\n")
    grades = grade(tmp_path, key, {"made_up.txt": "x^2 + y^2\n  = 2 x y + 5\n  >= 2 x y\n",
                                   "copied.txt": "x^2 + y^2\n  = 5\n  = (x - y)^2 + 2 x y\n  >= 2 x y\n"})
    made_up, copied = grades["made_up.txt"], grades["copied.txt"]
    assert statuses(made_up) == ["refuted", "proved"]
    assert made_up.parts[0].final_points == 0 and made_up.final_matches_claim is True
    assert "the chain to it breaks at step 1" in made_up.feedback
    # the required result written after two wrong steps is copied, not reached
    assert statuses(copied) == ["refuted", "refuted", "proved"]
    assert copied.parts[0].required[0][2] == 0 and copied.parts[0].final_points == 0


def test_correct_final_answer_after_a_wrong_step_that_the_student_carries(tmp_path):
    # a slip in a step whose consequence the student then carries to the right answer by valid steps keeps the final
    # points under error-carried-forward (the answer follows from the student's own lines)
    sub = "(x + 1)^2 + (x - 1)^2\n  = x^2 + 2 x + 1 + (x - 1)^2 + 0 x\n  = x^2 + 2 x + 2 + (x - 1)^2 - 1\n" \
          "  = 2 x^2 + 2\n"
    g = grade(tmp_path, with_grading("final: 2\nper_step: 1\n"), {"ok.txt": sub})["ok.txt"]
    assert statuses(g)[-1] == "proved" and g.parts[0].final_points == 2


def test_correct_chain_reaching_a_wrong_final_answer(tmp_path):
    g = grade(tmp_path, with_grading("final: 2\nper_step: 1\n"), {"wrong.txt": WRONG_QUESTION})["wrong.txt"]
    assert statuses(g) == ["proved", "proved", "proved"]
    assert g.first_error is None
    assert g.final_matches_claim is False
    assert (g.score, g.max_score) == (3, 5)
    assert "The final line does not match the key's result: at x = " in g.feedback


def test_shared_step_points_do_not_depend_on_chain_length(tmp_path):
    # default: 1 point per key step (3), shared by the submitted steps, + 2 for the final result
    subs = {"short.txt": "(x + 1)^2 + (x - 1)^2\n  = 2 x^2 + 2\n",
            "long.txt": "(x + 1)^2 + (x - 1)^2\n  = x^2 + 2 x + 1 + (x - 1)^2\n  = x^2 + 2 x + 1 + x^2 - 2 x + 1\n"
                        "  = 2 x^2 + 2 x - 2 x + 2\n  = 2 x^2 + 2\n",
            "half.txt": "(x + 1)^2 + (x - 1)^2\n  = x^2 + 1 + (x - 1)^2\n  = 2 x^2 + 2\n"}
    grades = grade(tmp_path, KEY, subs)
    assert grades["short.txt"].score == grades["long.txt"].score == grades["long.txt"].max_score == 5
    assert statuses(grades["half.txt"]) == ["refuted", "refuted"]
    assert grades["half.txt"].score == 0  # no step holds, and the final line does not follow from the line before


def test_restating_the_result_earns_nothing(tmp_path):
    subs = {"restated.txt": "2 x^2 + 2\n  = 2 x^2 + 2\n", "answer.txt": "2 x^2 + 2\n"}
    grades = grade(tmp_path, KEY, subs)
    for g in grades.values():
        assert g.final_matches_claim and g.score == 0 and g.first_error == ("main", 0)
        assert "starts from the key's result itself" in g.feedback


def test_per_step_credit_is_capped_at_the_keys_length(tmp_path):
    padded = "(x + 1)^2 + (x - 1)^2\n" + "".join("  = (x + 1)^2 + (x - 1)^2\n" for _ in range(5)) + "  = 2 x^2 + 2\n"
    g = grade(tmp_path, with_grading("final: 2\nper_step: 1\n"), {"padded.txt": padded})["padded.txt"]
    assert statuses(g) == ["proved"] * 6
    assert g.parts[0].step_points == [1, 1, 1, 0, 0, 0]
    assert g.score == g.max_score == 5
    assert "Step credit stops at 3 step(s)" in g.feedback


# ---------------------------------------------------------------------------------------------
# Required intermediate results

INEQ_KEY = """\
proofcheck: 1
title: AM-GM for two numbers
symbols:
  x: positive
claim: (x + 1)^2 >= 4 x
steps: |
  (x + 1)^2
    = (x - 1)^2 + 4 x
    >= 4 x
grading:
  final: 2
  steps_total: 2
  required:
    - formula: (x - 1)^2 + 4 x
      points: 3
"""


def test_missing_required_intermediate(tmp_path):
    subs = {"shown.txt": "(x + 1)^2\n  = x^2 - 2 x + 1 + 4 x\n  >= 4 x\n",
            "skipped.txt": "(x + 1)^2\n  >= 4 x\n",
            "wrong.txt": "(x + 1)^2\n  = x^2 + 1 + 4 x\n  >= 4 x\n"}
    grades = grade(tmp_path, INEQ_KEY, subs)
    shown, skipped, wrong = grades["shown.txt"], grades["skipped.txt"], grades["wrong.txt"]
    assert shown.parts[0].required[0][1] == 1  # reached at step 1, in another but equivalent form
    assert (shown.score, shown.max_score) == (7, 7)
    assert statuses(skipped) in (["numeric"], ["proved"])
    assert skipped.final_matches_claim and skipped.parts[0].required[0][1] is None
    assert skipped.score == 4  # steps 2 + final 2, not the 3 points of the required result
    assert "never reaches the required result `(x - 1)^2 + 4 x`" in skipped.feedback
    assert statuses(wrong)[0] == "refuted" and wrong.parts[0].required[0][1] is None


# ---------------------------------------------------------------------------------------------
# Keys and submissions


def test_bad_grading_blocks_are_reported_with_line_and_column(tmp_path):
    cases = {
        "grading:\n  finale: 2\n": (12, 3, "unknown key `finale` in `grading` (did you mean `final`?)"),
        "grading:\n  policy: lenient\n": (12, 11, "`policy` is `error-carried-forward`"),
        "grading:\n  final: -1\n": (12, 10, "`final` is a number of points"),
        "grading:\n  per_step: 1\n  steps_total: 3\n": (13, 3, "either `per_step`"),
        "grading:\n  required:\n    - (x + 1\n": (13, 13, "the formula ends too early"),
        "grading:\n  parts:\n    main2: {final: 1}\n": (13, 5, "no part named `main2`"),
    }
    for block, (line, col, message) in cases.items():
        p = write(tmp_path, "key.yaml", KEY + block)
        key, errors = load_key(str(p), OPTIONS)
        assert len(errors) == 1, (block, errors)
        e = errors[0]
        assert (e.line, e.column) == (line, col) and message in e.message, (block, e)
    code, out, err = run_cli(["grade", tmp_path / "key.yaml", "--key", tmp_path / "key.yaml"], cwd=tmp_path)
    assert code == 2 and "key.yaml:13:5: error" in err


def test_submission_declarations_cannot_change_the_key(tmp_path):
    sub = """\
    proofcheck: 1
    title: mine
    symbols:
      x: positive
      k: real
    define:
      - twice(u) := 2 u
    given:
      cheat: x = 1
    claim: (x + 1)^2 + (x - 1)^2 = 4
    steps: |
      (x + 1)^2 + (x - 1)^2
        = twice(x^2) + k - k + 2
    """
    g = grade(tmp_path, KEY, {"mine.yaml": sub})["mine.yaml"]
    assert statuses(g) == ["proved"] and g.score == g.max_score
    notes = " ".join(g.notes)
    assert "`x` keeps the key's type `real`" in notes
    assert "given" in notes and "key's claim" in notes


def test_parts_are_chosen_by_comment_option_or_sheet(tmp_path):
    key = """\
    proofcheck: 1
    title: two parts
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
    """
    subs = {"first.txt": "(x + 1)^2\n  = x^2 + 2 x + 1\n",
            "named.txt": "# part: cube\n(x + 1)^3\n  = x^3 + 3 x^2 + 3 x + 1\n",
            "unknown.txt": "# part: quartic\n(x + 1)^4\n  = 1\n",
            "sheet.yaml": "proofcheck: 1\ntitle: sheet\nparts:\n  - name: cube\n    steps: |\n      (x + 1)^3\n"
                          "        = x^3 + 3 x^2 + 3 x\n  - name: squares\n    steps: |\n      x\n        = x\n"}
    grades = grade(tmp_path, key, subs)
    assert [p.name for p in grades["first.txt"].parts] == ["square"] and grades["first.txt"].score == 3
    assert "the key's first part" in grades["first.txt"].feedback
    assert [p.name for p in grades["named.txt"].parts] == ["cube"] and grades["named.txt"].score == 3
    unknown = grades["unknown.txt"]
    assert unknown.score == 0 and unknown.unreadable
    assert unknown.errors[0].line == 1 and "no part named `quartic`" in unknown.errors[0].message
    sheet = grades["sheet.yaml"]
    assert [p.name for p in sheet.parts] == ["square", "cube"] and sheet.max_score == 6
    assert not sheet.parts[0].attempted and statuses(sheet, 1) == ["refuted"]
    assert (sheet.errors[0].line, sheet.errors[0].column) == (8, 5)  # the part `squares`
    forced = grade(tmp_path, key, {"first.txt": subs["first.txt"]}, part="cube")["first.txt"]
    assert [p.name for p in forced.parts] == ["cube"] and statuses(forced) == ["proved"]  # true, but not the cube
    assert not forced.final_matches_claim and forced.score == 1


def test_unreadable_line_costs_its_step_and_points_at_it(tmp_path):
    sub = "(x + 1)^2 + (x - 1)^2\n  = x^2 + 2 x + 1 + (x - 1)^2\n  = x^2 + 2 x + * 1\n  = 2 x^2 + 2\n"
    g = grade(tmp_path, with_grading("per_step: 1\n"), {"typo.txt": sub})["typo.txt"]
    assert statuses(g) == ["proved", "error", "unknown"]
    assert g.first_error == ("main", 2)
    # step 1 only: the final result still matches, but the chain to it is not shown to hold (a person decides)
    assert g.score == 1 and g.needs_review
    assert "Step 2 (line 3, column 17) could not be read" in g.feedback


# ---------------------------------------------------------------------------------------------
# The command line: CSV, JSON, hostile files, determinism

HOSTILE = {
    "garbage.txt": "%%% ]] this is not mathematics ((( ^^\n",
    "empty.txt": "",
    "blank.yaml": "   \n\n",
    "injection.txt": "x\n  = __import__('os').system('touch PWNED')\n",
    "tag.yaml": "proofcheck: 1\ntitle: !!python/object/apply:os.system ['touch PWNED']\nsteps: |\n  x\n",
    "laughs.yaml": "proofcheck: 1\na: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\ntitle: t\nsteps: |\n  x\n",
    "deep.txt": "x\n  = " + "(" * 3000 + "x" + ")" * 3000 + "\n",
    "tower.txt": "x\n  = 9^9^9^9^9\n",
    "latin1.txt": "x\n  = caf\xe9\n",
}


def test_hostile_submissions_in_a_batch(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name, text in HOSTILE.items():
        (folder / name).write_bytes(text.encode("latin-1") if name == "latin1.txt" else text.encode())
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "huge.txt").write_bytes(b"x\n" + b"  = x\n" * 200_000)
    write(folder, "good.txt", KEY.split("steps: |\n")[1].replace("\n  ", "\n"))
    key = write(tmp_path, "key.yaml", KEY)
    out = tmp_path / "grades.json"
    code, stdout, err = run_cli(["grade", folder, "--key", key, "--format", "json", "--out", out,
                                 "--timeout", "2", "--jobs", "2"], cwd=tmp_path)
    assert code == 0, err
    assert "Traceback" not in stdout + err
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()
    doc = json.loads(out.read_text(encoding="utf-8"))
    subs = {Path(s["path"]).name: s for s in doc["submissions"]}
    assert sorted(subs) == sorted(list(HOSTILE) + ["binary.txt", "huge.txt", "good.txt"])
    assert subs["good.txt"]["score"] == subs["good.txt"]["max_score"] == 5
    for name, s in subs.items():
        if name != "good.txt":
            assert s["score"] == 0, (name, s["feedback"])
            assert s["feedback"], name
    messages = {name: " ".join(e["message"] for e in s["errors"]) + s["feedback"] for name, s in subs.items()}
    assert "limit is 1000000" in messages["huge.txt"]
    assert "binary" in messages["binary.txt"]
    assert "no steps" in messages["empty.txt"]
    assert "not UTF-8" in messages["latin1.txt"]
    assert "aliases" in messages["laughs.yaml"] and "tag" in messages["tag.yaml"]
    assert "(line 2, column" in messages["injection.txt"]
    assert doc["summary"]["submissions"] == 12


def test_csv_gradebook_opens_with_the_csv_module(tmp_path):
    key = write(tmp_path, "key.yaml", with_grading("final: 2\nper_step: 1\n"))
    (tmp_path / "subs").mkdir()
    for name, text in {"a_carried.txt": CARRIED, "b_slips.txt": RIGHT_THROUGH_WRONG, "c_empty.txt": ""}.items():
        write(tmp_path / "subs", name, text)
    out = tmp_path / "book.csv"
    code, _, err = run_cli(["grade", tmp_path / "subs", "--key", key, "--format", "csv", "--out", out,
                            "--timeout", str(TIMEOUT)], cwd=tmp_path)
    assert code == 0, err
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # the gradebook: the student, one column per key part (here the single part `main`), then the totals
    assert list(rows[0]) == ["student", "file", "main", "total", "max", "needs_review", "final_ok", "first_error",
                             "first_error_part", "steps_valid", "steps_total", "feedback"]
    by_name = {r["student"]: r for r in rows}
    assert by_name["a_carried"] == dict(by_name["a_carried"], main="2", total="2", max="5", first_error="1",
                                        final_ok="false", steps_valid="2", steps_total="3", needs_review="false")
    assert by_name["b_slips"] == dict(by_name["b_slips"], main="1", total="1", max="5", first_error="2",
                                      final_ok="true", steps_valid="1", steps_total="3")
    assert by_name["c_empty"] == dict(by_name["c_empty"], main="0", total="0", first_error="0", final_ok="false",
                                      steps_total="0")
    assert Path(by_name["a_carried"]["file"]).name == "a_carried.txt"
    assert "Step 1 does not follow from the starting line" in by_name["a_carried"]["feedback"]
    assert "\n" not in by_name["a_carried"]["feedback"]


GRADEBOOK_KEY = """\
proofcheck: 1
title: two questions
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
        = (x + 1) (x^2 + 2 x + 1)
        = x^3 + 3 x^2 + 3 x + 1
grading:
  parts:
    square: {section: "1", final: 1}
    cube: {section: "2", final: 2}
"""


def test_gradebook_one_row_per_student_with_a_column_per_question(tmp_path):
    # one key for the assignment; Markdown sheets answer both questions under their headings; the student id
    # comes from a front-matter line when there is one, otherwise from the file name
    (tmp_path / "subs").mkdir()
    write(tmp_path / "subs", "sheet_a.md", """\
        ---
        title: Homework 1
        student: 402212214
        ---
        ## Question 1
        $$(x + 1)^2 = x^2 + 2 x + 1$$
        ## Question 2
        $$(x + 1)^3 = (x + 1)(x^2 + 2 x + 1) = x^3 + 3 x^2 + 3 x + 1$$
        """)
    write(tmp_path / "subs", "b_lee.md", """\
        id: lee-7
        ## Question 1
        $$(x + 1)^2 = x^2 + x + 1$$
        """)
    write(tmp_path / "subs", "c_nobody.md", """\
        ## Question 2
        $$(x + 1)^3 = (x + 1)(x^2 + 2 x + 1) = x^3 + 3 x^2 + 3 x + 3$$
        """)
    key = write(tmp_path, "key.yaml", GRADEBOOK_KEY)
    out = tmp_path / "book.csv"
    code, _, err = run_cli(["grade", tmp_path / "subs", "--key", key, "--format", "csv", "--out", out,
                            "--timeout", str(TIMEOUT), "--no-cache"], cwd=tmp_path)
    assert code == 0, err
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:5] == ["student", "file", "square", "cube", "total"]
    book = {r["student"]: r for r in rows}
    assert set(book) == {"402212214", "lee-7", "c_nobody"}
    # square: 1 final + 1 step point; cube: 2 final + 2 step points (a point per step of the key's chain)
    assert (book["402212214"]["square"], book["402212214"]["cube"], book["402212214"]["total"]) == ("2", "4", "6")
    assert book["402212214"]["max"] == "6" and book["402212214"]["needs_review"] == "false"
    assert (book["lee-7"]["square"], book["lee-7"]["cube"], book["lee-7"]["total"]) == ("0", "0", "0")
    assert "Not attempted: cube" in book["lee-7"]["feedback"]
    assert book["c_nobody"]["square"] == "0" and 0 < float(book["c_nobody"]["cube"]) < 4
    assert book["c_nobody"]["final_ok"] == "false"
    # the same gradebook in JSON, with each question's maximum
    code, out_json, err = run_cli(["grade", tmp_path / "subs", "--key", key, "--format", "json",
                                   "--timeout", str(TIMEOUT)], cwd=tmp_path)
    assert code == 0, err
    doc = json.loads(out_json)
    gb = doc["gradebook"]
    assert gb["columns"] == list(rows[0])
    assert gb["parts"] == [{"name": "square", "column": "square", "max": 2.0},
                           {"name": "cube", "column": "cube", "max": 4.0}]
    assert {r["student"]: r["points"] for r in gb["rows"]}["402212214"] == {"square": 2.0, "cube": 4.0}
    assert [s["student"] for s in doc["submissions"]] == [r["student"] for r in gb["rows"]]


def test_student_ids_from_front_matter_and_file_names(tmp_path):
    from proofcheck.grade import Grade, front_matter, student_ids
    assert front_matter("student: 402212214\n(x + 1)^2\n  = x^2\n") == ("402212214", "\n(x + 1)^2\n  = x^2\n")
    assert front_matter("# id: ab12\nx = x\n")[0] == "ab12"
    assert front_matter("(x + 1)^2\n  = x^2\nid: late\n")[0] == "late"  # among the first lines
    assert front_matter("\n".join(["x = x"] * 12) + "\nstudent: too late\n")[0] == ""
    body = "---\ntitle: HW\nStudent: \"Sara K\"\n---\n$$x = x$$\n"
    assert front_matter(body) == ("Sara K", "\n\n\n\n$$x = x$$\n")  # lines kept, so line numbers stay
    grades = [Grade("a/hw.md", "a/hw.md", []), Grade("b/hw.md", "b/hw.md", []), Grade("c.txt", "c.txt", []),
              Grade("d.md", "d.md", [], student="42")]
    assert student_ids(grades) == ["a/hw.md", "b/hw.md", "c", "42"]  # a shared file name is told apart by path
    # a plain-text chain with a student line grades as if the line were absent, at the same line numbers
    g = grade(tmp_path, KEY, {"s.txt": "student: 7\n" + RIGHT_THROUGH_WRONG})["s.txt"]
    assert g.student == "7" and [s.line for s in g.parts[0].steps] == [3, 4, 5]


def test_json_has_verify_step_objects_and_grades_and_is_deterministic(tmp_path):
    key = write(tmp_path, "key.yaml", KEY)
    subs = [write(tmp_path, "carried.txt", CARRIED), write(tmp_path, "slips.txt", RIGHT_THROUGH_WRONG)]
    runs = []
    for run in ("first", "second"):  # separate working directories: nothing is shared between the runs
        (tmp_path / run).mkdir()
        code, out, err = run_cli(["grade", *subs, "--key", key, "--format", "json", "--timeout", str(TIMEOUT),
                                  "--jobs", "2"], cwd=tmp_path / run)
        assert code == 0, err
        runs.append(json.loads(out))
    doc = runs[0]
    s = doc["submissions"][0]
    assert {"score", "max_score", "first_error", "final_matches_claim", "feedback", "steps"} <= set(s)
    from proofcheck.report.json_report import file_dict
    from proofcheck.verify import verify_text
    verify_keys = set(file_dict(verify_text(KEY, "key.yaml", Options(timeout=TIMEOUT)))["parts"][0]["steps"][0])
    assert set(s["steps"][0]) == verify_keys | {"part", "points"}  # verify's step objects, plus the grade
    assert s["first_error"] == 1 and s["final_matches_claim"] is False
    assert set(s["steps"][0]["counterexample"]) == {"x", "lhs", "rhs"}
    assert doc["summary"]["most_often_wrong"] == {"part": "main", "step": 1, "count": 1}

    def strip(d):  # timings differ between runs; nothing else may
        if isinstance(d, dict):
            return {k: strip(v) for k, v in d.items() if k != "seconds"}
        return [strip(v) for v in d] if isinstance(d, list) else d
    assert strip(runs[0]) == strip(runs[1])


def test_text_report_and_exit_codes(tmp_path):
    key = write(tmp_path, "key.yaml", KEY)
    sub = write(tmp_path, "carried.txt", CARRIED)
    code, out, err = run_cli(["grade", sub, "--key", key, "--timeout", str(TIMEOUT)], cwd=tmp_path)
    assert code == 0, err
    assert "Feedback: 2 of 3 step(s) hold. Step 1 does not follow from the starting line: at x = " in out
    assert "Class summary" in out and "step most often wrong: step 1 (wrong in 1 of 1 submissions)" in out
    assert run_cli(["grade", sub, "--key", tmp_path / "missing.yaml"], cwd=tmp_path)[0] == 2
    assert run_cli(["grade", sub, "--key", key, "--part", "nope"], cwd=tmp_path)[0] == 2
    # A mistyped path is a usage error (exit 2 with the path named), not a 0-point row.
    code, out, err = run_cli(["grade", tmp_path / "missing.txt", "--key", key, "--format", "csv"], cwd=tmp_path)
    assert code == 2 and "no such file or directory" in err and "missing.txt" in err
    (tmp_path / "none").mkdir()
    assert run_cli(["grade", tmp_path / "none", "--key", key], cwd=tmp_path)[0] == 2
    assert submission_paths([str(tmp_path)], str(key)) == [str(sub)]  # the key itself is not a submission


# ---------------------------------------------------------------------------------------------
# The seeds' own steps (examples/submissions), graded against derivations/

EXPECTED = yaml.safe_load((Path(__file__).parent / "data" / "expected_grades.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_submissions(name):
    want = EXPECTED[name]
    options = Options(timeout=5, jobs=2)
    key, errors = load_key(str(REPO / want["key"]), options)
    assert errors == []
    path = str(REPO / "examples" / "submissions" / name)

    def run():
        (g,), _ = grade_paths([path], key, options)
        return g, {p.name: {"steps": [s.result.status.value for s in p.steps], "final": p.final_matches_claim,
                            "points": p.score} for p in g.parts if p.attempted}

    g, got = run()
    if got != want["parts"]:
        # On an oversubscribed machine a symbolic attempt can run out of its share of the 5 s budget
        # (proved -> numeric, or a timeout): that is the machine, not the student. Grade once more.
        g, got = run()
    assert g.errors == []
    assert got == want["parts"]
    assert (g.score, g.max_score) == (want["score"], want["max_score"])


def test_grading_on_a_dask_cluster_gives_the_local_grades(tmp_path):
    pytest.importorskip("dask.distributed", reason="the Dask engine tests need the dask extra: pip install '.[dask]'")
    # The smallest seed submission with a real mistake: the point is the engine, not the amount of work.
    sub = REPO / "examples" / "submissions" / "003_1c142ed7ebb391f1_saturating_gan_gradient.yaml"
    docs = []
    for engine in ("local", "dask"):
        out = tmp_path / f"{engine}.json"
        code, _, err = run_cli(["grade", sub, "--key", REPO / "derivations" / "saturating_gan_gradient.yaml",
                                "--format", "json",
                                "--out", out, "--timeout", "5", "--jobs", "2", "--engine", engine, "--no-cache"],
                               cwd=tmp_path, timeout=300)
        assert code == 0, err
        docs.append(json.loads(out.read_text(encoding="utf-8")))

    def verdicts(doc):
        return [(s["path"], s["score"], [(st["line"], st["status"]) for st in s["steps"]])
                for s in doc["submissions"]]
    assert verdicts(docs[0]) == verdicts(docs[1])
    assert any(st[1] == "refuted" for s in verdicts(docs[0]) for st in s[2])  # the sheet's real mistakes


def test_sheet_density_of_a_defined_distribution(tmp_path):
    # a sheet writes `\log q(z)` for the key's q := Normal(mu, s^2): read as log pdf(q, z), so the right line
    # holds and the line with a dropped 2 is refuted at its own line
    key = """\
    proofcheck: 1
    title: Gaussian log density
    symbols:
      z, mu: real
      s: positive
    define:
      - q := Normal(mu, s^2)
    claim: log(pdf(q, z)) = -1/2 log(2 pi s^2) - (z - mu)^2/(2 s^2)
    steps: |
      log(pdf(q, z))
        = -1/2 log(2 pi s^2) - (z - mu)^2/(2 s^2)
    """
    sheet = ("## Question 1\n\n$$\\log q(z) = -\\frac{1}{2}\\log(2\\pi s^2) - \\frac{(z-\\mu)^2}{2s^2}$$\n\n"
             "$$\\log q(z) = -\\frac{1}{2}\\log(2\\pi s^2) - \\frac{(z-\\mu)^2}{s^2}$$\n")
    g = grade(tmp_path, textwrap.dedent(key), {"q.md": sheet})["q.md"]
    assert [(s.line, s.result.status.value) for s in g.parts[0].steps] == [(3, "proved"), (5, "refuted")]


def test_by_at_after_a_step_that_holds_only_beside_the_point_earns_no_final_points(tmp_path):
    # the same check as verify's: the steps before `by at` must hold at the point itself ((x^2 - 1)/(x - 1) is 0/0
    # at x = 1), or the chain does not start from the claim's left side
    key = ("proofcheck: 1\ntitle: A value at a point\nsymbols:\n  x: real\nclaim: subs((x^2 - 1)/(x + 1), x = 1) = 0\n"
           "steps: |\n  (x^2 - 1)/(x + 1)\n    = x - 1\n    = 0        by at(x = 1)\n")
    hole = key.replace("(x + 1)", "(x - 1)").replace("x - 1\n    = 0", "x + 1\n    = 2").replace("= 0\nsteps", "= 2\nsteps")
    grades = grade(tmp_path, hole, {"hole.txt": "(x^2 - 1)/(x - 1)\n  = x + 1\n  = 2   by at(x = 1)\n"})
    assert statuses(grades["hole.txt"]) == ["proved", "proved"]
    assert grades["hole.txt"].parts[0].final_points == 0
    (tmp_path / "ok").mkdir()
    grades = grade(tmp_path / "ok", key, {"ok.txt": "(x^2 - 1)/(x + 1)\n  = x - 1\n  = 0   by at(x = 1)\n"})
    assert grades["ok.txt"].score == grades["ok.txt"].max_score
