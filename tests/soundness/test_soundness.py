"""Soundness suite: false statements must not be established, true ones must be (docs/soundness.md).

One verify run (seed 0) serves every case; each case is its own test id so a failure names the
statement, what it demands, and what the kernel said. The slow test repeats the false statements under
seed 1, since a false accept that shows up for one seed only is still a false accept."""

from __future__ import annotations

import zlib
from collections import Counter

import pytest

from soundness_suite import HERE, describe, load_cases, meets, run_cases

CASES = load_cases()
TIMEOUT = 5.0
JOBS = 2


@pytest.fixture(scope="module")
def batch(request):
    """Every selected case checked once, seed 0, in one run (a `-k` selection checks only its cases)."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "module", None) is request.module and "case" in getattr(getattr(item, "callspec", None), "params", {})]
    return run_cases(selected or CASES, seed=0, timeout=TIMEOUT, jobs=JOBS)


def test_suite_shape():
    """At least 100 false statements over at least 15 classes, as many true ones, every file listed once."""
    false = [c for c in CASES if not c.truth]
    true = [c for c in CASES if c.truth]
    assert len(false) >= 100 and len(true) >= len(false)
    classes = {c.cls for c in CASES}
    assert len(classes) >= 15
    per_class = Counter((c.cls, c.truth) for c in CASES)
    for cls in classes:
        assert per_class[(cls, False)] >= 4 and per_class[(cls, True)] >= 4, cls
    listed = [c.file for c in CASES]
    assert len(listed) == len(set(listed))
    on_disk = sorted(str(p.relative_to(HERE)) for p in (HERE / "cases").rglob("*.yaml"))
    assert on_disk == sorted(listed)
    for c in CASES:
        assert c.file.startswith(f"cases/{c.cls}/"), c.file
        assert c.truth == (c.must in ("established", "not_refuted")), c.file


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case, batch):
    """The case's step gets the verdict the manifest demands."""
    outcome = batch[case]
    if case.known_gap(0):
        # A known miss stays visible (xfail, listed in docs/soundness.md); once fixed, the entry must go.
        assert not meets(case, outcome), f"{case.id} now gets what it demands: remove its `gap:` from cases.yaml"
        pytest.xfail(f"known gap: {case.gap}")
    assert meets(case, outcome), describe(case, outcome)


@pytest.mark.slow
# Seed 1 keeps the suite within CI's ten minutes (seed 3 was dropped when the suite grew past 600 cases, seed 2 past
# 650, when CI took 526 s; at 794 cases and 584 s on CI, seed 1 took every other false case, and at 836 cases
# every eighth, by a fixed hash of its file name); bench/soundness_rates.py covers seeds 0..4 and every case for the
# docs.
@pytest.mark.parametrize("seed", [1])
def test_false_statements_other_seeds(seed):
    """No false statement is established under another seed either."""
    false = [c for c in CASES if not c.truth and zlib.crc32(c.file.encode()) % 8 == 0]
    assert len(false) > 40
    outcomes = run_cases(false, seed=seed, timeout=TIMEOUT, jobs=JOBS)
    failures = [describe(c, o) for c, o in outcomes.items() if not meets(c, o) and not c.known_gap(seed)]
    assert not failures, f"seed {seed}: {len(failures)} false statement(s) not handled:\n\n" + "\n\n".join(failures)
