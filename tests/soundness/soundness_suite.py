"""The soundness suite's cases and how an outcome is judged; shared by test_soundness.py and
bench/soundness_rates.py.

cases.yaml lists one entry per derivation file under cases/<class>/: the step to look at (0: the chain
as a whole, whose status counts the claim), whether the statement is true, and what the kernel must
say (`must`):

* `refuted`          - a false statement with a concrete counterexample in the domain: only `refuted` passes;
* `not_established`  - a false statement: anything but `proved`/`numeric` passes; `error` only where the
                       entry says `error_ok` (an input the checker should reject, such as Normal(0, -1));
* `established`      - a true statement: `proved` or `numeric`;
* `not_refuted`      - a true statement the kernel cannot be asked to establish (a rule that does not apply to
                       it): anything but `refuted` passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ESTABLISHED = ("proved", "numeric")
MUSTS = ("refuted", "not_established", "established", "not_refuted")


@dataclass(frozen=True)
class Case:
    """One entry of cases.yaml."""

    file: str  # relative to tests/soundness
    step: int  # 1-based step of the (only) part; 0: the whole chain and its claim (the part's status)
    cls: str
    truth: bool
    must: str
    error_ok: bool = False
    gap: str = ""  # a known miss, published in docs/soundness.md: the test expects it to fail still
    gap_seeds: tuple = ()  # the seeds the miss shows under (empty: every seed)

    def known_gap(self, seed: int) -> bool:
        """Whether this case is a published miss under this seed."""
        return bool(self.gap) and (not self.gap_seeds or seed in self.gap_seeds)

    @property
    def path(self) -> Path:
        """The derivation file."""
        return HERE / self.file

    @property
    def id(self) -> str:
        """A short test id: class/file stem."""
        return f"{self.cls}/{Path(self.file).stem}"


@dataclass(frozen=True)
class Outcome:
    """What the kernel said about a case's step."""

    status: str
    method: str = ""
    message: str = ""
    counterexample: dict | None = None
    claim_established: bool = False


def load_cases(manifest: Path = HERE / "cases.yaml") -> list[Case]:
    """The cases of the manifest, in its order."""
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    cases = []
    for e in data["cases"]:
        if e["must"] not in MUSTS:
            raise ValueError(f"{e['file']}: unknown expectation {e['must']!r}")
        cases.append(Case(e["file"], int(e["step"]), e["class"], bool(e["truth"]), e["must"],
                          bool(e.get("error_ok", False)), str(e.get("gap", "")),
                          tuple(int(x) for x in e.get("gap_seeds", ()))))
    return cases


def run_cases(cases: list[Case], seed: int = 0, timeout: float = 5.0, jobs: int = 2) -> dict[Case, Outcome]:
    """Verify every case's file in one batch (one worker pool for all) and pick out the step of each."""
    from proofcheck.verify import Options, verify_paths
    reports = verify_paths([str(c.path) for c in cases], Options(timeout=timeout, seed=seed, jobs=jobs))
    by_path = {Path(r.path).resolve(): r for r in reports}
    out = {}
    for c in cases:
        r = by_path.get(c.path.resolve())
        if r is None:
            out[c] = Outcome("error", message="no report for this file")
        elif r.errors:
            out[c] = Outcome("error", message="; ".join(f"line {e.line}:{e.column}: {e.message}" for e in r.errors))
        elif not r.parts or len(r.parts[0].steps) < c.step:
            out[c] = Outcome("error", message=f"the file has no step {c.step}")
        elif c.step == 0:
            part = r.parts[0]
            said = "; ".join(f"step {s.index}: {s.result.status.value}" for s in part.steps)
            out[c] = Outcome(part.status.value, "chain", f"{said}; claim: {part.claim_message or 'established'}"
                             if not part.claim_established else f"{said}; claim established",
                             None, part.claim_established)
        else:
            part = r.parts[0]
            s = part.steps[c.step - 1]
            out[c] = Outcome(s.result.status.value, s.result.method, s.result.message, s.result.counterexample,
                             part.claim_established)
    return out


def meets(case: Case, outcome: Outcome) -> bool:
    """Whether the kernel's outcome is what the case demands."""
    st = outcome.status
    if case.must == "established":
        return st in ESTABLISHED
    if case.must == "refuted":
        return st == "refuted"
    if case.must == "not_refuted":
        return st != "refuted"
    # an input error must be the checker's judgement of the formula, not a case file that is not valid YAML
    return st not in ESTABLISHED and (st != "error" or case.error_ok and "YAML:" not in outcome.message)


def kind(case: Case, outcome: Outcome) -> str:
    """The rate bucket: false_accept, false_reject, unknown, error, or ok."""
    st = outcome.status
    if not case.truth and st in ESTABLISHED:
        return "false_accept"
    if case.truth and st == "refuted":
        return "false_reject"
    if st == "unknown":
        return "unknown"
    if st == "error":
        return "ok" if case.error_ok else "error"
    return "ok"


def describe(case: Case, outcome: Outcome) -> str:
    """A failure message: the case, what it demands, and what the kernel said."""
    truth = "TRUE" if case.truth else "FALSE"
    text = case.path.read_text(encoding="utf-8") if case.path.exists() else "(missing file)"
    where = f"step {case.step}" if case.step else "the chain and its claim"
    lines = [f"{case.file} ({where}): a {truth} statement that must be {case.must.replace('_', ' ')}",
             f"  kernel said: {outcome.status}" + (f" [{outcome.method}]" if outcome.method else ""),
             f"  message: {outcome.message or '(none)'}"]
    if outcome.counterexample:
        lines.append(f"  counterexample: {outcome.counterexample}")
    lines.append("  file:\n" + "\n".join("    " + ln for ln in text.rstrip().splitlines()))
    return "\n".join(lines)
