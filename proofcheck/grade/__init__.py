"""Grading: an answer key (a derivation file with a `grading` block) + submissions -> scores and feedback.

Everything outside the package imports from here. The modules:

- rubric.py: the key's `grading` block read into a PartRubric per part (points, policy, required results);
- submissions.py: the key and the submissions read, each chain planned as `verify` plans a file (in one
  shared planner), plus the tasks grading asks (does the chain start at the question, end at the answer,
  reach each required result), all run at once;
- score.py: scores and feedback from those verdicts, and the class summary (nothing is checked there);
- cli.py: `proofcheck grade` (arguments and exit codes; loaded by proofcheck.cli, not from here).

`grade_text(key, text)` grades one submission held in memory (key as a Key or YAML text);
`grade_paths` grades files. `proofcheck.grade(...)` (the module is callable) is the Python API of
docs/api.md, which wraps these.
"""

from proofcheck.grade.rubric import PartRubric, Required, read_rubric
from proofcheck.grade.score import (ClassSummary, Grade, PartGrade, PartOutcome, class_summary, fmt, score_part,
                                    student_ids, valid)
from proofcheck.grade.submissions import (Attempt, AttemptPlan, Key, Submission, front_matter, grade_paths,
                                          grade_submissions, grade_text, key_from_text, load_key, merge_attempt,
                                          plan_attempt, read_submission, read_submission_text, submission_paths)

__all__ = ["PartRubric", "Required", "read_rubric", "ClassSummary", "Grade", "PartGrade", "PartOutcome",
           "class_summary", "fmt", "score_part", "student_ids", "valid", "Attempt", "AttemptPlan", "Key",
           "Submission", "front_matter", "grade_paths", "grade_submissions", "grade_text", "key_from_text",
           "load_key", "merge_attempt", "plan_attempt", "read_submission", "read_submission_text",
           "submission_paths"]
