"""A verdict cache keyed by everything that decides a verdict.

The key hashes the step (both lines, relation, rule), the declarations, the givens, the seed, the
budget, the versions of SymPy and mpmath, and the source of proofcheck itself, so an entry can
only be found again by a check that would compute the same verdict. Timeouts and internal
errors are never stored: they depend on the machine, not on the mathematics."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from functools import lru_cache
from pathlib import Path

import mpmath
import sympy as sp
from sympy.core.function import FunctionClass

from proofcheck.kernel.terms import StepTask
from proofcheck.kernel.verdict import Status, StepResult

DEFAULT_DIR = ".proofcheck_cache"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of proofcheck's own source and grammar, and of the SymPy and mpmath versions."""
    h = hashlib.sha256(f"sympy {sp.__version__} mpmath {mpmath.__version__}".encode())
    root = Path(__file__).resolve().parent
    for f in sorted(list(root.rglob("*.py")) + list(root.rglob("*.lark"))):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _srepr(x) -> str:
    if isinstance(x, sp.Basic):
        return sp.srepr(x)
    if isinstance(x, (list, tuple)):
        return "(" + ",".join(_srepr(i) for i in x) + ")"
    if hasattr(x, "__dataclass_fields__"):
        return type(x).__name__ + "(" + ",".join(f"{k}={_srepr(getattr(x, k))}" for k in x.__dataclass_fields__) + ")"
    if isinstance(x, frozenset):
        return "{" + ",".join(sorted(_srepr(i) for i in x)) + "}"
    if isinstance(x, FunctionClass):
        return f"Function({x.__name__!r}, {sorted(getattr(x, '_kwargs', {}).items())!r})"
    return repr(x)


def task_key(task: StepTask) -> str:
    """The cache key of a task."""
    parts = [code_fingerprint(), _srepr(task.prev), task.op, _srepr(task.cur), _srepr(task.rule),
             _srepr(task.context), task.key]
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()


class VerdictCache:
    """An SQLite file of verdicts; a missing or broken cache only means re-checking."""

    def __init__(self, directory: str | os.PathLike | None = None):
        self.path = Path(directory or os.environ.get("PROOFCHECK_CACHE_DIR") or DEFAULT_DIR) / "verdicts.sqlite"
        self.db = None
        try:
            ours = not self.path.parent.exists() or self.path.parent.name == DEFAULT_DIR
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.path.parent / ".gitignore"
            if ours and not ignore.exists():  # like pytest's cache: never committed by `git add .`
                ignore.write_text("# created by proofcheck\n*\n")
            self.db = sqlite3.connect(self.path)
            self.db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, result TEXT)")
            self.db.execute("CREATE TABLE IF NOT EXISTS files (key TEXT PRIMARY KEY, report TEXT)")
        except (OSError, sqlite3.Error):
            self.db = None

    def _fetch(self, query: str, key: str):
        if self.db is None:
            return None
        try:
            row = self.db.execute(query, (key,)).fetchone()
        except sqlite3.Error:
            return None
        return json.loads(row[0]) if row else None

    def get(self, key: str) -> StepResult | None:
        """A stored verdict, or None."""
        d = self._fetch("SELECT result FROM verdicts WHERE key = ?", key)
        if d is None:
            return None
        return StepResult(Status(d["status"]), d["method"], d["message"], d["counterexample"], d["seconds"],
                          {"cached": True})

    def put(self, key: str, result: StepResult) -> None:
        """Store a verdict unless it depends on the machine (timeouts, internal errors)."""
        if self.db is None or result.method in ("timeout", "error"):
            return
        d = {"status": result.status.value, "method": result.method, "message": result.message,
             "counterexample": result.counterexample, "seconds": result.seconds}
        try:
            self.db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?)", (key, json.dumps(d)))
        except sqlite3.Error:
            pass

    def get_file(self, key: str) -> dict | None:
        """A stored report of a whole unchanged file, or None."""
        return self._fetch("SELECT report FROM files WHERE key = ?", key)

    def put_file(self, key: str, report: dict) -> None:
        """Store the report of a whole file."""
        if self.db is None:
            return
        try:
            self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?)", (key, json.dumps(report)))
        except sqlite3.Error:
            pass

    def close(self) -> None:
        """Write and close."""
        if self.db is not None:
            try:
                self.db.commit()
                self.db.close()
            except sqlite3.Error:
                pass
            self.db = None
