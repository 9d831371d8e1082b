"""The verdict cache: warm runs agree with cold ones, and a changed file is checked again."""

from __future__ import annotations

import json

from testlib import SQUARE_KEY
from proofcheck import cache as cache_mod
from proofcheck.verify import Options, verify_paths

GOOD = SQUARE_KEY


def _run(path, tmp_path, **kw):
    options = Options(timeout=5, cache=True, cache_dir=str(tmp_path / "cache"), **kw)
    return verify_paths([str(path)], options)[0]


def _statuses(report):
    return [s.result.status.value for p in report.parts for s in p.steps]


def test_warm_run_is_served_from_the_cache_and_agrees(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text(GOOD)
    cold = _run(f, tmp_path)
    warm = _run(f, tmp_path)
    assert _statuses(cold) == _statuses(warm) == ["proved"]
    assert not cold.parts[0].steps[0].result.details.get("cached")
    assert warm.parts[0].steps[0].result.details.get("cached")
    assert warm.status == cold.status and warm.parts[0].claim_established


def test_a_changed_step_is_checked_again(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text(GOOD)
    assert _statuses(_run(f, tmp_path)) == ["proved"]
    f.write_text(GOOD.replace("= x^2 + 2 x y + y^2", "= x^2 + x y + y^2"))
    report = _run(f, tmp_path)
    assert _statuses(report) == ["refuted"]
    assert not report.parts[0].steps[0].result.details.get("cached")


def test_a_changed_declaration_or_seed_misses_the_cache(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text(GOOD)
    _run(f, tmp_path)
    f.write_text(GOOD.replace("x, y: real", "x, y: positive"))
    assert not _run(f, tmp_path).parts[0].steps[0].result.details.get("cached")
    assert not _run(f, tmp_path, seed=7).parts[0].steps[0].result.details.get("cached")


def test_new_code_never_reads_old_entries(tmp_path, monkeypatch):
    f = tmp_path / "d.yaml"
    f.write_text(GOOD)
    _run(f, tmp_path)
    cache_mod.code_fingerprint.cache_clear()
    monkeypatch.setattr(cache_mod, "code_fingerprint", lambda: "a different proofcheck")
    monkeypatch.setattr("proofcheck.verify.code_fingerprint", lambda: "a different proofcheck")
    assert not _run(f, tmp_path).parts[0].steps[0].result.details.get("cached")


def test_step_entries_serve_an_edited_file_but_not_its_changed_step(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text(GOOD.replace("  (x + y)^2\n    = x^2 + 2 x y + y^2\n",
                              "  (x + y)^2\n    = x^2 + 2 x y + y^2\n    = y^2 + 2 x y + x^2\n")
                 .replace("claim: (x + y)^2 = x^2 + 2 x y + y^2", "claim: (x + y)^2 = y^2 + 2 x y + x^2"))
    _run(f, tmp_path)
    text = f.read_text().replace("= y^2 + 2 x y + x^2\n", "= y^2 + 3 x y + x^2\n").replace(
        "claim: (x + y)^2 = y^2 + 2 x y + x^2", "claim: (x + y)^2 = y^2 + 3 x y + x^2")
    f.write_text(text)
    report = _run(f, tmp_path)
    steps = report.parts[0].steps
    assert [s.result.status.value for s in steps] == ["proved", "refuted"]
    assert steps[0].result.details.get("cached") and not steps[1].result.details.get("cached")


def test_cli_no_cache_flag_writes_nothing(tmp_path, monkeypatch):
    from proofcheck.cli import main
    f = tmp_path / "d.yaml"
    f.write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    assert main(["verify", str(f), "--format", "json", "--no-cache"]) == 0
    assert not (tmp_path / ".proofcheck_cache").exists()
    assert main(["verify", str(f), "--format", "json"]) == 0
    assert (tmp_path / ".proofcheck_cache" / "verdicts.sqlite").exists()
    json.dumps({})
