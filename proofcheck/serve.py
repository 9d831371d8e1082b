"""`proofcheck serve`: a local page that checks steps as you type.

The page (serve_page.html, no build step, no network) posts its boxes to POST /api/check after each
pause in typing; the answer has one verdict per step line, the formulas as MathML, the claim and,
with `--key`, the score and feedback `proofcheck grade` would give.

Safety, for a server left running on a shared machine:

* it binds to 127.0.0.1 unless `--host` says otherwise, and refuses requests whose Host or Origin is
  not the server itself (DNS rebinding, cross-site posts);
* a request body is at most MAX_BODY bytes and holds at most MAX_STEPS steps;
* nothing from a request is parsed or checked in the server process: each request takes one of
  `--slots` worker pools (time-budgeted processes from kernel/budget.py); one worker reads the
  boxes and plans the kernel tasks under PLAN_BUDGET seconds, then the tasks run under the per-step
  budget (`--timeout`) and the request's total budget (`--request-budget`). A runaway step is
  killed with its worker; other requests are served by the other slots meanwhile;
* the derivation is built in memory from the boxes; no request reads or writes a file (the verdict
  cache is on disk only when `--cache-dir` names a directory);
* bad input gets a JSON error: {"error": {"code": ..., "message": ...}}.

Verdicts are remembered in memory (keyed like the verdict cache: the task, the declarations, the
seed, the budget and proofcheck's own source), so a keystroke re-checks only the lines it changed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import pickle
import queue
import re
import select
import signal
import socket
import sys
import threading
import time
from collections import OrderedDict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import SimpleNamespace
from urllib.parse import urlsplit

from proofcheck.errors import ProofcheckError, ReadError
from proofcheck.kernel.budget import WorkerPool
from proofcheck.kernel.verdict import Status, StepResult
from proofcheck.kernel.warm import warm_up
from proofcheck.model import Declaration, Derivation, Given, Part, Span, Text
from proofcheck.read import split_steps
from proofcheck.verify import ErrorInfo, FileReport, Options, run_plans

EXIT_OK, EXIT_USAGE = 0, 2
MAX_BODY = 64 * 1024  # bytes of one request
MAX_STEPS = 60  # steps (the starting line included) of one request
MAX_BOX_LINES = 200  # lines of each declarations box
PLAN_BUDGET = 5.0  # seconds for a worker to read the boxes and plan the tasks
QUEUE_WAIT = 15.0  # seconds a request waits for a free slot before `busy`
MEMO_SIZE = 20_000  # verdicts remembered in memory
MIN_BUDGET = 0.25  # seconds: less than this left of a request's budget and the rest is not started
MAX_MATHML = 30_000  # characters of one typeset formula; a longer one is shown as its source text
MAX_TASK_BYTES = 8 * 1024 * 1024  # the kernel tasks of one request, pickled
BODY_SECONDS = 10.0  # to send a request body
BOXES = ("symbols", "define", "given", "claim", "steps")
FIELDS = set(BOXES) | {"part", "steps_only", "syntax"}
SYNTAXES = ("ascii", "latex")  # of the steps and the claim; declarations are always ASCII
PAGE = "<page>"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LABEL = re.compile(r"\s*(?:-\s+)?([A-Za-z][A-Za-z0-9_]*)\s*:(?!=)\s*")

EXAMPLE = {  # FORMAT.md section 1; prefilled when neither --key nor --example is given
    "name": "main",
    "title": "KL divergence of two Gaussians with equal variance",
    "symbols": "mu_q, mu_p, z: real\nsigma: positive",
    "define": "q := Normal(mu_q, sigma^2)\np := Normal(mu_p, sigma^2)",
    "given": "",
    "claim": "KL(q || p) = (mu_p - mu_q)^2 / (2 sigma^2)",
    "steps": "KL(q || p)\n"
             "  = E[z ~ q](log(pdf(q, z) / pdf(p, z)))   by definition\n"
             "  = E[z ~ q](((z - mu_p)^2 - (z - mu_q)^2) / (2 sigma^2))\n"
             "  = (mu_p - mu_q)^2 / (2 sigma^2)",
}


class RequestError(Exception):
    """Bad input: answered with this HTTP status and a JSON error."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ServeError(Exception):
    """The server cannot start (a bad key, a port in use, ...)."""


# ---------------------------------------------------------------------------------------------
# The page's boxes -> the model (runs in a worker; string handling only in the server process)


def _box_text(box: str, text: str) -> Text:
    """A box as one Text whose lines start at (box line, column 1)."""
    return Text(text, box, tuple((i + 1, 1) for i in range(text.count("\n") + 1)))


def _shift(t: Text, cut: int) -> Text:
    """The Text without its first `cut` characters (all on its first line)."""
    (line, col), *rest = t.origins
    return Text(t.text[cut:], t.path, ((line, col + cut), *rest))


def step_ranges(steps: str) -> list[tuple[int, int]]:
    """(first line, last line) in the steps box of each step, the starting line first (ASCII steps)."""
    return [_range(t) for t in split_steps(_box_text("steps", steps))]


def _range(t: Text) -> tuple[int, int]:
    """The box lines a step spans (a step translated from LaTeX knows where each character came from)."""
    if getattr(t, "charmap", None):
        return t.span.line, t.span_at(1, max(len(t.text), 1)).line
    return t.origins[0][0], t.origins[-1][0]


def _latex_steps_count(steps: str) -> int:
    """An upper bound of the steps in a LaTeX box: its non-blank lines and row breaks."""
    lines = [ln for ln in steps.split("\n") if ln.strip() and not ln.lstrip().startswith("%")]
    return len(lines) + steps.count("\\\\")


def is_empty(req: dict) -> bool:
    """Whether the steps box holds no step at all."""
    if req.get("syntax") == "latex":
        return _latex_steps_count(req.get("steps", "")) == 0
    return not step_ranges(req.get("steps", ""))


def read_symbols(text: str) -> list[Declaration]:
    """`names: type` per line (or separated by `;`), as in a derivation file's `symbols`."""
    out: list[Declaration] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(text.split("\n"), 1):
        code = raw.split("#", 1)[0]
        start = 0
        for chunk in code.split(";"):
            offset, start = start, start + len(chunk) + 1
            if not chunk.strip():
                continue
            first = offset + len(chunk) - len(chunk.lstrip()) + 1
            names_text, sep, type_text = chunk.partition(":")
            if not sep:
                raise ReadError("write `names: type`, e.g. `x, y: real`", Span("symbols", i, first))
            col = offset + 1
            names = []
            for piece in names_text.split(","):
                name = piece.strip()
                here = col + len(piece) - len(piece.lstrip())
                col += len(piece) + 1
                if not _NAME.fullmatch(name):
                    raise ReadError(f"{name!r} is not a valid name (letters, digits and _, starting with a letter)",
                                    Span("symbols", i, here))
                if name in seen:
                    raise ReadError(f"`{name}` is declared twice (line {seen[name]} and line {i})",
                                    Span("symbols", i, here))
                seen[name] = i
                names.append(name)
            type_col = offset + len(names_text) + 2 + len(type_text) - len(type_text.lstrip())
            typ = type_text.strip() or "real"
            out.append(Declaration(tuple(names), Text(typ, "symbols", ((i, type_col),)), Span("symbols", i, first)))
    return out


def read_defines(text: str) -> list[Text]:
    """One `name := expr` per line (a line may continue on deeper-indented lines)."""
    out = []
    for t in split_steps(_box_text("define", text)):
        if t.text.startswith("- "):  # pasted from a YAML list
            t = _shift(t, 2)
        out.append(t)
    return out


def read_givens(text: str) -> list[Given]:
    """`label: relation` per line; a relation without a label is g1, g2, ..."""
    out: list[Given] = []
    labels: set[str] = set()
    for i, t in enumerate(split_steps(_box_text("given", text)), 1):
        m = _LABEL.match(t.text)
        label, t = (m.group(1), _shift(t, m.end())) if m else (f"g{i}", _shift(t, 2) if t.text.startswith("- ") else t)
        if label in labels:
            raise ReadError(f"two givens are labelled {label!r}", t.span)
        labels.add(label)
        out.append(Given(label, t))
    return out


def build_part(req: dict, key_part: Part | None = None) -> Part:
    """The page's boxes as one chain (the `main` part of an in-memory derivation). LaTeX steps and claim
    are translated to the ASCII language (proofcheck.latex), keeping where each character was."""
    symbols, define = read_symbols(req.get("symbols", "")), read_defines(req.get("define", ""))
    claim_text = req.get("claim", "")
    claim = _box_text("claim", claim_text) if claim_text.strip() and key_part is None else None
    if req.get("syntax") == "latex":
        from proofcheck.latex import Names, latex_claim, latex_steps
        names = Names.from_part(key_part)
        names.add(symbols, define)
        steps = latex_steps(_box_text("steps", req.get("steps", "")), names, min_lines=1)
        claim = latex_claim(claim, names) if claim is not None else None
    else:
        steps = split_steps(_box_text("steps", req.get("steps", "")))
    return Part("main", claim, steps, symbols, define, read_givens(req.get("given", "")), Span("steps", 1, 1),
                Span("steps", 1, 1))


def _display_relation(text: Text, scope):
    """A claim with defined names kept as names: a relation or `relation ==> relation`."""
    from proofcheck.parse import parse_claim
    return parse_claim(text, scope, display=True)


def _either(display, parsed: list, i: int):
    """The formula with defined names kept as names or, where that reading fails (e.g. KL(q || p) of
    defined distributions), as checked: definitions expanded."""
    def make():
        try:
            return display()
        except Exception:  # noqa: BLE001 - fall back to the formula the kernel checked
            if i < len(parsed) and parsed[i] is not None:
                return parsed[i]
            raise
    return make


def _mathml(make, op: str = "") -> str | None:
    from proofcheck.report.formula import mathml
    try:
        obj = make()
    except Exception:  # noqa: BLE001 - typesetting is best effort; the page shows the source text
        return None
    markup = mathml(obj, op)
    return markup if markup is None or len(markup) <= MAX_MATHML else None


class _Typeset:
    """MathML per (declarations, formula), remembered inside one worker process."""

    def __init__(self, size: int = 2000):
        self.size, self.memo = size, OrderedDict()

    def get(self, key: tuple, make, op: str = "") -> str | None:
        """The markup for `key`, made by `make()` the first time."""
        if key in self.memo:
            self.memo.move_to_end(key)
            return self.memo[key]
        value = self.memo[key] = _mathml(make, op)
        if len(self.memo) > self.size:
            self.memo.popitem(last=False)
        return value


def _error_info(exc: ProofcheckError) -> ErrorInfo:
    span = exc.span
    return ErrorInfo(span.line if span else 1, span.col if span else 1, exc.message, "", span.path if span else "")


def plan_request(req: dict, key, options: Options, typeset: _Typeset) -> dict:
    """In a worker: read the boxes, plan the kernel tasks, typeset the lines (no sympy leaves)."""
    from proofcheck.cache import task_key
    from proofcheck.verify import Planner

    planner = Planner(options)
    attempt = None
    part_name = req.get("part") or "main"
    try:
        own = build_part(req, key.parts[part_name] if key is not None else None)
        if key is None:
            part = own
            plan = planner.plan_derivation(Derivation(PAGE, "page", [part], lines=req.get("steps", "").split("\n")))
        else:
            from proofcheck.grade import Submission, merge_attempt, plan_attempt
            merged = merge_attempt(key.parts[part_name], Part(part_name, None, own.steps, own.symbols, own.define,
                                                              own.given, own.span, own.steps_span), own.steps, own.span)
            part = merged.part
            sub = Submission(PAGE, [part_name], lines=req.get("steps", "").split("\n"))
            ap = plan_attempt(planner, key, sub, merged)
            plan = ap.plan
            attempt = {"start": ap.start, "final": ap.final, "relation_problem": ap.relation_problem,
                       "required": ap.required, "notes": list(merged.notes),
                       "sources": {i: " ".join(t.text.split()) for i, t in enumerate(merged.part.steps)}}
    except ProofcheckError as exc:
        return {"plan": None, "errors": [_error_info(exc)], "keys": [], "tasks": [], "attempt": None,
                "start_mathml": None, "step_mathml": {}, "claim_mathml": None, "ranges": None}

    decls = (req.get("symbols", ""), req.get("define", ""), part_name if key is not None else "", req.get("syntax"))
    start_mathml, step_mathml, claim_mathml = None, {}, None
    if plan.parts:
        pp, steps = plan.parts[0], part.steps
        parsed = pp.chain.lines if pp.chain is not None else []
        if callable(pp.start_display):
            start_mathml = typeset.get((decls, "start", steps[0].text), _either(pp.start_display, parsed, 0))
        for s in pp.steps:
            if callable(s.display):
                step_mathml[s.index] = typeset.get((decls, "step", steps[s.index].text),
                                                   _either(s.display, parsed, s.index), s.relation)
        if part.claim is not None and pp.chain is not None:
            claim, scope = part.claim, pp.chain.scope
            claim_mathml = typeset.get((decls, "claim", claim.text),
                                       _either(lambda: _display_relation(claim, scope), [pp.chain.claim], 0))
        for p in plan.parts:  # what goes back to the server process is plain data
            p.chain, p.start_display = None, None
            for s in p.steps:
                s.display = None
    blobs = [pickle.dumps(t, protocol=pickle.HIGHEST_PROTOCOL) for t in planner.tasks]
    if sum(map(len, blobs)) > MAX_TASK_BYTES:
        return {"plan": None, "errors": [ErrorInfo(1, 1, "the formulas are too large to check here (are the "
                                                         "definitions very large?)", "", "steps")],
                "keys": [], "tasks": [], "attempt": None, "start_mathml": None, "step_mathml": {},
                "claim_mathml": None, "ranges": None}
    return {"plan": plan, "errors": [], "keys": [task_key(t) for t in planner.tasks], "tasks": blobs,
            "attempt": attempt, "start_mathml": start_mathml, "step_mathml": step_mathml,
            "claim_mathml": claim_mathml, "ranges": [_range(t) for t in part.steps]}


# ---------------------------------------------------------------------------------------------
# Checking: slots of worker pools, verdicts remembered in memory


class _Pending:
    """A verdict some request is computing; others that need it wait instead of computing it again."""

    def __init__(self):
        self.event = threading.Event()
        self.result: StepResult | None = None

    def set(self, result: StepResult | None) -> None:
        self.result = result
        self.event.set()


def _remembered(r: StepResult) -> bool:
    return r.method not in ("timeout", "error", "skipped")


class Checker:
    """`slots` worker pools of `jobs` processes each; a request takes one pool for its duration."""

    def __init__(self, options: Options, key=None, slots: int = 4, request_budget: float = 30.0,
                 cache_dir: str | None = None):
        self.options, self.key, self.request_budget, self.cache_dir = options, key, request_budget, cache_dir
        self.plan_budget = PLAN_BUDGET
        self.typeset = _Typeset()
        self.memo: OrderedDict[str, StepResult] = OrderedDict()
        self.pending: dict[str, _Pending] = {}
        self.lock = threading.Lock()
        self.closed = False
        self.pools: queue.LifoQueue[WorkerPool] = queue.LifoQueue()  # the warmest pool is reused first
        self._warm_up()
        for _ in range(slots):
            self.pools.put(self._new_pool())

    # -- processes
    def _work(self, item):
        """What a worker process does with one item."""
        kind, payload = item
        if kind == "check":
            from proofcheck.kernel.check import check_step
            return check_step(pickle.loads(payload))
        if kind == "plan":
            return plan_request(payload, self.key, self.options, self.typeset)
        return None  # "warm": the process has started

    def _new_pool(self) -> WorkerPool:
        pool = WorkerPool(self._work, self.options.jobs, warm=warm_up)
        pool.map([("warm", None)] * pool.jobs, [PLAN_BUDGET] * pool.jobs)  # start the processes now
        return pool

    def _warm_up(self) -> None:
        """Parse, check and typeset the example once here, so forked workers start warm."""
        from proofcheck.cache import code_fingerprint
        from proofcheck.kernel.check import check_step
        code_fingerprint()  # reads proofcheck's own source once, before any request
        try:
            req = {k: EXAMPLE[k] for k in BOXES}
            if self.key is not None:
                req = {"part": next(iter(self.key.parts)), "steps": _key_start(next(iter(self.key.parts.values())))}
            out = plan_request(req, self.key, self.options, self.typeset)
            for blob in out["tasks"][:8]:
                check_step(pickle.loads(blob))
        except Exception:  # noqa: BLE001 - warming up is an optimisation only
            pass

    def close(self) -> None:
        """Stop every worker process."""
        self.closed = True
        while True:
            try:
                self.pools.get_nowait().close()
            except queue.Empty:
                break

    def _release(self, pool: WorkerPool, broken: bool) -> None:
        if broken:
            pool.close()
            pool = self._new_pool() if not self.closed else None
        if pool is None:
            return
        if self.closed:
            pool.close()
        else:
            self.pools.put(pool)

    # -- one request
    def check(self, req: dict, gone=lambda: False) -> dict:
        """Everything the page shows for one request."""
        started = time.monotonic()
        deadline = started + self.request_budget
        if is_empty(req):
            return {"status": "empty", "lines": [], "errors": [], "claim": None, "grade": None, "pending": False,
                    "seconds": 0.0}
        try:
            pool = self.pools.get(timeout=QUEUE_WAIT)
        except queue.Empty:
            raise RequestError(503, "busy", "every checking slot is busy; try again in a moment") from None
        if not all(w.proc.is_alive() for w in pool.workers):  # e.g. killed from outside
            pool.close()
            pool = self._new_pool()
        broken = False
        later: list[int] = []
        try:
            planned = pool.map([("plan", req)], [self.plan_budget])[0]
            if isinstance(planned, StepResult):  # the worker timed out or failed
                results, planned = None, planned
            else:
                keys, blobs = planned["keys"], planned["tasks"]
                now = range(len(keys))
                if req.get("steps_only") and planned["plan"] is not None:  # claim and grade: only when known
                    steps = {s.task for p in planned["plan"].parts for s in p.steps if s.task is not None}
                    now = sorted(steps)
                results = [None] * len(keys)
                for i, r in zip(now, self._run(pool, [keys[i] for i in now], [blobs[i] for i in now], deadline,
                                               gone)):
                    results[i] = r
                with self.lock:
                    for i, k in enumerate(keys):
                        if results[i] is None:
                            results[i] = self.memo.get(k)
                            if results[i] is None:
                                later.append(i)
                                results[i] = StepResult(Status.UNKNOWN, "pending", "being checked")
        except Exception:
            broken = True
            raise
        finally:
            self._release(pool, broken)
        if results is None:
            return self._unreadable(req, planned, started)
        return self._response(req, planned, results, started, pending=bool(later))

    def _run(self, pool: WorkerPool, keys: list[str], blobs: list[bytes], deadline: float, gone) -> list[StepResult]:
        """Verdicts for the tasks: remembered, computed by another request, or computed here."""
        results: list[StepResult | None] = [None] * len(keys)
        mine: dict[str, list[int]] = {}
        waits: dict[str, tuple[_Pending, list[int]]] = {}
        with self.lock:
            for i, k in enumerate(keys):
                if k in self.memo:
                    self.memo.move_to_end(k)
                    results[i] = self.memo[k]
                elif k in mine:
                    mine[k].append(i)
                elif k in waits:
                    waits[k][1].append(i)
                elif k in self.pending:
                    waits[k] = (self.pending[k], [i])
                else:
                    self.pending[k] = _Pending()
                    mine[k] = [i]
        todo = list(mine)
        try:
            if todo and self.cache_dir and self.options.cache:
                todo = self._from_disk(todo, mine, results)
            todo = self._compute(pool, todo, mine, blobs, results, deadline, gone)
        finally:
            for k in todo:  # not started (budget used up, or the page went away)
                self._settle(k, None)
        for k, (pending, indices) in waits.items():
            pending.event.wait(timeout=max(0.0, deadline - time.monotonic()) + 1.0)
            r = pending.result
            if r is None and not gone() and deadline - time.monotonic() > MIN_BUDGET:
                got = self._compute(pool, [k], {k: indices}, blobs, results, deadline, gone, register=True)
                r = None if got else results[indices[0]]
            for i in indices:
                results[i] = r
        skipped = StepResult(Status.UNKNOWN, "skipped", f"not checked: this request used up its "
                                                        f"{self.request_budget:g} s; it is checked on the next edit")
        return [r if r is not None else skipped for r in results]

    def _compute(self, pool, todo, mine, blobs, results, deadline, gone, register: bool = False) -> list[str]:
        """Run `todo` in batches of the pool's size; returns the keys left unstarted."""
        if register:
            with self.lock:
                for k in todo:
                    self.pending.setdefault(k, _Pending())
        left = list(todo)
        while left:
            budget = min(self.options.timeout, deadline - time.monotonic())
            if budget < MIN_BUDGET or gone():
                break
            batch, left = left[:pool.jobs], left[pool.jobs:]
            out = pool.map([("check", blobs[mine[k][0]]) for k in batch], [budget] * len(batch))
            for k, r in zip(batch, out):
                for i in mine[k]:
                    results[i] = r
                self._settle(k, r)
        if register:
            for k in left:
                self._settle(k, None)
        return left

    def _settle(self, k: str, r: StepResult | None) -> None:
        with self.lock:
            if r is not None and _remembered(r):
                self.memo[k] = r
                self.memo.move_to_end(k)
                while len(self.memo) > MEMO_SIZE:
                    self.memo.popitem(last=False)
            pending = self.pending.pop(k, None)
        if pending is not None:
            pending.set(r)
        if r is not None and _remembered(r) and self.cache_dir and self.options.cache:
            from proofcheck.cache import VerdictCache
            cache = VerdictCache(self.cache_dir)
            cache.put(k, r)
            cache.close()

    def _from_disk(self, todo, mine, results) -> list[str]:
        from proofcheck.cache import VerdictCache
        cache = VerdictCache(self.cache_dir)
        left = []
        for k in todo:
            hit = cache.get(k)
            if hit is None:
                left.append(k)
                continue
            for i in mine[k]:
                results[i] = hit
            with self.lock:
                self.memo[k] = hit
                pending = self.pending.pop(k, None)
            if pending is not None:
                pending.set(hit)
        cache.close()
        return left

    # -- answers
    def _unreadable(self, req: dict, failure: StepResult, started: float) -> dict:
        why = (f"reading the formulas took more than {self.plan_budget:g} s (is a definition very large?)"
               if failure.method == "timeout" else failure.message)
        lines = [_line_entry(first, last, n, "unknown", method="skipped", message=f"not checked: {why}")
                 for n, (first, last) in enumerate(step_ranges(req.get("steps", "")))]
        return {"status": "error", "lines": lines, "errors": [{"box": None, "line": None, "column": None,
                                                              "message": why}],
                "claim": None, "grade": None, "pending": False, "seconds": round(time.monotonic() - started, 3)}

    def _response(self, req: dict, planned: dict, results: list[StepResult], started: float,
                  pending: bool = False) -> dict:
        plan = planned["plan"]
        if plan is None:  # the boxes could not be read
            report = FileReport(PAGE, "", Status.ERROR, planned["errors"])
        else:
            report = run_plans(SimpleNamespace(tasks=planned["keys"], results=[]), [plan], self.options,
                               run_tasks=lambda tasks, options, progress: results)[0]
        ranges = planned["ranges"] if planned.get("ranges") is not None else step_ranges(req.get("steps", ""))
        errors = [{"box": _box(e.path), "line": e.line, "column": e.column, "message": e.message}
                  for e in report.errors]
        part = report.parts[0] if report.parts else None
        lines = []
        for n, (first, last) in enumerate(ranges):
            if n == 0:
                entry = _line_entry(first, last, 0, "start", mathml=planned["start_mathml"],
                                    text=part.start_text if part else "")
            elif part is not None and n <= len(part.steps):
                s = part.steps[n - 1]
                r = s.result
                entry = _line_entry(first, last, n, r.status.value, relation=s.relation, text=s.text, rule=s.rule,
                                    method=r.method, message=r.message, counterexample=r.counterexample,
                                    mathml=planned["step_mathml"].get(n), seconds=r.seconds)
            else:
                why = "fix the declarations first" if any(e["box"] != "steps" for e in errors) else \
                    "fix the starting line first"
                entry = _line_entry(first, last, n, "unknown", method="skipped", message=f"not checked: {why}")
            for e in errors:
                if e["box"] == "steps" and first <= e["line"] <= last:
                    entry.update(status="error", message=e["message"], column=e["column"], error_line=e["line"])
                    break
            if entry["counterexample"]:
                entry["names_mathml"] = _names_mathml(entry["counterexample"])
            lines.append(entry)
        claim = None
        claim_text = self._claim_text(req)
        if claim_text:
            claim = {"text": claim_text, "mathml": planned["claim_mathml"],
                     "established": bool(part and part.claim_established),
                     "message": part.claim_message if part else "the chain could not be read"}
        status = report.status.value if ranges else "empty"
        if claim is not None:
            claim["pending"] = pending
            if pending:
                claim.update(established=None, message="checking whether the chain reaches the claim")
                status = status if status in ("refuted", "error") else "pending"
        out = {"status": status, "lines": lines, "errors": errors, "claim": claim, "grade": None,
               "pending": pending}
        if self.key is not None:
            out["grade"] = {"pending": True} if pending else self._grade(req, planned, report, results)
        out["seconds"] = round(time.monotonic() - started, 3)
        return out

    def _claim_text(self, req: dict) -> str:
        if self.key is not None:
            claim = self.key.parts[req.get("part") or next(iter(self.key.parts))].claim
            return " ".join(claim.text.split()) if claim is not None else ""
        return " ".join(req.get("claim", "").split())

    def _grade(self, req: dict, planned: dict, report, results: list[StepResult]) -> dict:
        """The score and feedback `proofcheck grade` gives for these steps (proofcheck/grade/score.py)."""
        from proofcheck.grade import Grade, PartOutcome, fmt, score_part
        name = req.get("part") or next(iter(self.key.parts))
        a = planned["attempt"]
        part = report.parts[0] if report.parts else None
        if a is None or part is None:
            outcome = PartOutcome(name, True, [], list(report.errors), readable=False)
            notes = []
        else:
            outcome = PartOutcome(name, True, part.steps, list(report.errors),
                                  results[a["final"]] if a["final"] is not None else None,
                                  results[a["start"]] if a["start"] is not None else None, a["relation_problem"],
                                  [[(i, results[t]) for i, t in checks] for checks in a["required"]], a["notes"],
                                  readable=True, sources=a["sources"])
            notes = a["notes"]
        pg = score_part(self.key.rubric[name], outcome, self.options.strict)
        grade = Grade(PAGE, PAGE, [pg], [], notes)
        return {"part": name, "score": grade.score, "max_score": grade.max_score,
                "score_text": f"{fmt(grade.score)}/{fmt(grade.max_score)}",
                "final_matches_claim": pg.final_matches_claim, "first_error": pg.first_error,
                "steps_valid": pg.steps_valid, "feedback": grade.feedback}


def _box(path: str) -> str:
    """The page box an error is in (the in-memory derivation's own path: a problem with a step)."""
    return path if path in BOXES else "steps" if path == PAGE else "key"


def _line_entry(first: int, last: int, index: int, status: str, **kw) -> dict:
    entry = {"line": first, "last_line": last, "index": index, "status": status, "relation": "", "text": "",
             "rule": "", "method": "", "message": "", "counterexample": None, "column": None, "mathml": None,
             "seconds": 0.0}
    entry.update(kw)
    return entry


def _names_mathml(ce: dict) -> dict:
    from proofcheck.report.formula import mathml_symbol
    return {k: mathml_symbol(k) for k in ce if k not in ("lhs", "rhs")}


def _key_start(part: Part) -> str:
    return " ".join(part.steps[0].text.split()) if part.steps else ""


# ---------------------------------------------------------------------------------------------
# Requests


def validate(body: bytes, key) -> dict:
    """The request's JSON object, or a RequestError that says what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(400, "bad_json", "the request body is not UTF-8 text") from None
    try:
        req = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise RequestError(400, "bad_json", f"the request body is not JSON: {exc}") from None
    if not isinstance(req, dict):
        raise RequestError(400, "bad_json", "the request body is a JSON object such as "
                                            '{"symbols": "x: real", "steps": "x + x\\n= 2 x"}')
    unknown = sorted(set(req) - FIELDS)
    if unknown:
        raise RequestError(400, "unknown_field", f"unknown field(s): {', '.join(unknown)}; "
                                                 f"the fields are: {', '.join(sorted(FIELDS))}")
    if not isinstance(req.get("steps_only", False), bool):
        raise RequestError(400, "bad_field", "`steps_only` is true or false")
    steps_only = req.pop("steps_only", False)
    for k, v in req.items():
        if v is None:
            continue
        if not isinstance(v, str):
            raise RequestError(400, "bad_field", f"`{k}` must be a string, not {type(v).__name__}")
        if "\x00" in v:
            raise RequestError(400, "bad_field", f"`{k}` holds a NUL character")
    req = {k: v.replace("\r\n", "\n").replace("\r", "\n") for k, v in req.items() if v is not None}
    if steps_only:
        req["steps_only"] = True
    if "steps" not in req:
        raise RequestError(400, "missing_field", "`steps` is required: one step per line")
    if req.get("syntax", "ascii") not in SYNTAXES:
        raise RequestError(400, "bad_field", f"`syntax` is one of: {', '.join(SYNTAXES)}")
    if key is None and req.get("part"):
        raise RequestError(400, "bad_field", "`part` needs an answer key (proofcheck serve --key KEY.yaml)")
    if key is not None:
        part = req.get("part") or next(iter(key.parts))
        if part not in key.parts:
            raise RequestError(400, "bad_field", f"the key has no part named {part!r}; its parts are: "
                                                 f"{', '.join(key.parts)}")
        req["part"] = part
    for box in ("symbols", "define", "given"):
        n = req.get(box, "").count("\n") + 1
        if n > MAX_BOX_LINES:
            raise RequestError(422, "too_many_lines", f"`{box}` has {n} lines; the limit is {MAX_BOX_LINES}")
    n = _latex_steps_count(req["steps"]) if req.get("syntax") == "latex" else len(step_ranges(req["steps"]))
    if n > MAX_STEPS:
        raise RequestError(422, "too_many_steps", f"{n} steps (the starting line included); a request may hold "
                                                  f"at most {MAX_STEPS}")
    return req


def _client_gone(sock) -> bool:
    """Whether the browser closed the connection (e.g. it aborted this check for a newer one)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class Handler(BaseHTTPRequestHandler):
    """GET / (the page) and POST /api/check (JSON); every other request gets a JSON error."""

    server_version = "proofcheck-serve"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a connection may sit idle

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    # -- responses
    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json(self, status: int, doc: dict) -> None:
        self._send(status, json.dumps(doc, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _fail(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error": {"code": code, "message": message}})

    def send_error(self, code, message=None, explain=None):  # noqa: D102 - the base class's errors, as JSON
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self._fail(code, phrase.lower().replace(" ", "_"), message or phrase)

    # -- guards
    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        allowed = self.server.allowed_hosts
        if host and allowed is not None and host not in allowed:
            self._fail(403, "bad_host", f"this server answers to {sorted(allowed)[0]}, not {host}")
            return False
        origin = self.headers.get("Origin")
        if origin is not None and origin != "null" and urlsplit(origin).netloc.lower() != host:
            self._fail(403, "cross_origin", "requests from other sites are refused")
            return False
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            self._fail(403, "cross_origin", "requests from other sites are refused")
            return False
        return True

    # -- methods
    def do_GET(self):  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        if not self._host_ok():
            return
        if path in ("/", "/index.html"):
            self._send(200, self.server.page, "text/html; charset=utf-8", {"Content-Security-Policy": self.server.csp,
                                                                         "X-Frame-Options": "DENY"})
        elif path == "/api/config":
            self._json(200, self.server.config)
        elif path == "/api/check":
            self._fail(405, "method_not_allowed", "POST a JSON object to /api/check")
        else:
            self._fail(404, "not_found", f"no such page: {path[:200]}")

    do_HEAD = do_GET

    def do_POST(self):  # noqa: N802
        path = urlsplit(self.path).path
        if path != "/api/check":
            if path in ("/", "/index.html", "/api/config"):
                self._fail(405, "method_not_allowed", f"{path} is read with GET")
            else:
                self._fail(404, "not_found", f"no such endpoint: {path[:200]}")
            return
        if not self._host_ok():
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self.close_connection = True
            self._fail(415, "unsupported_media_type", "send the request as Content-Type: application/json")
            return
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._fail(411, "length_required", "send a Content-Length (chunked bodies are not accepted)")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._fail(411, "length_required", "send a Content-Length header")
            return
        if length < 0 or length > MAX_BODY:
            self.close_connection = True  # the body is not read
            self._fail(413, "too_large", f"the request is {length} bytes; the limit is {MAX_BODY}")
            return
        body = self._read_body(length)
        if body is None:
            self.close_connection = True
            self._fail(408, "timeout", f"the request body did not arrive within {BODY_SECONDS:g} s")
            return
        if len(body) < length:
            self.close_connection = True
            self._fail(400, "short_body", "the request body is shorter than its Content-Length")
            return
        try:
            req = validate(body, self.server.checker.key)
            doc = self.server.checker.check(req, gone=lambda: _client_gone(self.connection))
        except RequestError as exc:
            self._fail(exc.status, exc.code, exc.message)
            return
        except Exception as exc:  # noqa: BLE001 - a bug must answer, not drop the connection
            self._fail(500, "internal_error", f"internal error: {type(exc).__name__}: {exc}")
            return
        self._json(200, doc)

    def _read_body(self, length: int) -> bytes | None:
        """The body, or None when the client takes longer than BODY_SECONDS to send it."""
        deadline = time.monotonic() + BODY_SECONDS
        chunks, got = [], 0
        try:
            while got < length:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.connection.settimeout(left)
                chunk = self.rfile.read1(length - got)
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        except (OSError, socket.timeout):
            return None
        finally:
            try:
                self.connection.settimeout(self.timeout)
            except OSError:
                pass
        return b"".join(chunks)

    def _not_allowed(self):
        self.close_connection = True
        self._fail(405, "method_not_allowed", "only GET / and POST /api/check")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed


# ---------------------------------------------------------------------------------------------
# The server


class PageServer(ThreadingHTTPServer):
    """A threading HTTP server holding the checker, the page and who may call it."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, checker: Checker, config: dict, allowed_hosts, verbose: bool = False):
        host = address[0]
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.checker, self.config, self.verbose = checker, config, verbose
        self.page, self.csp = render_page(config)
        super().__init__(address, Handler)
        port = self.server_address[1]
        self.allowed_hosts = None if allowed_hosts is None else {f"{h}:{port}" for h in allowed_hosts}
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/"

    def close(self) -> None:
        """Stop listening and stop the worker processes."""
        self.server_close()
        self.checker.close()


def render_page(config: dict) -> tuple[bytes, str]:
    """The page with its configuration inlined, and a Content-Security-Policy that allows only its
    own inline script and style (by hash) and requests to this server."""
    template = resources.files("proofcheck").joinpath("serve_page.html").read_text(encoding="utf-8")
    data = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")
    page = template.replace("/*CONFIG*/{}", data)
    hashes = {}
    for tag in ("script", "style"):
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        hashes[tag] = " ".join("'sha256-" + _b64(hashlib.sha256(b.encode()).digest()) + "'" for b in blocks)
    csp = (f"default-src 'none'; script-src {hashes['script']}; style-src {hashes['style']}; "
           "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return page.encode("utf-8"), csp


def _b64(data: bytes) -> str:
    import base64
    return base64.b64encode(data).decode()


def _part_config(part: Part, mathml_claim: str | None, title: str, steps: str | None = None) -> dict:
    return {
        "name": part.name, "title": title,
        "symbols": "\n".join(f"{', '.join(d.names)}: {' '.join(d.type_text.text.split())}" for d in part.symbols),
        "define": "\n".join(" ".join(t.text.split()) for t in part.define),
        "given": "\n".join(f"{g.label}: {' '.join(g.text.text.split())}" for g in part.given),
        "claim": " ".join(part.claim.text.split()) if part.claim is not None else "",
        "claim_mathml": mathml_claim,
        "steps": steps if steps is not None else "\n".join(
            ("" if i == 0 else "  ") + " ".join(t.text.split()) for i, t in enumerate(part.steps)),
    }


def _claim_mathml(part: Part) -> str | None:
    from proofcheck.parse import build_scope, parse_claim
    if part.claim is None:
        return None
    try:
        scope = build_scope(part.symbols, part.define)
    except ProofcheckError:
        return None
    return _mathml(_either(lambda: _display_relation(part.claim, scope), [None], 0)) or \
        _mathml(lambda: parse_claim(part.claim, scope))


def page_config(options: Options, key=None, key_path: str = "", example=None, part: str | None = None) -> dict:
    """What the page is prefilled with. With a key: its parts' declarations, claims and starting lines,
    never its steps."""
    if key is not None:
        title = key.derivation.title
        parts = [_part_config(p, _claim_mathml(p), title, steps=_key_start(p) + "\n") for p in key.parts.values()]
        mode = "key"
    elif example is not None:
        parts = [_part_config(p, None, example.title) for p in example.parts]
        mode = "free"
    else:
        parts = [dict(EXAMPLE, claim_mathml=None)]
        mode = "free"
    names = [p["name"] for p in parts]
    initial = names.index(part) if part in names else 0
    return {"mode": mode, "key": key_path, "parts": parts, "initial": initial, "debounce_ms": 300,
            "timeout": options.timeout, "limits": {"bytes": MAX_BODY, "steps": MAX_STEPS}}


def _allowed_hosts(host: str):
    """Host headers the server answers to (None: any, when it listens beyond the loopback)."""
    if host == "localhost":
        return {"localhost", "127.0.0.1"}
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.is_loopback:
        return {"localhost", f"[{host}]" if ip.version == 6 else host}
    return None


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_server(options: Options, host: str = "127.0.0.1", port: int = 8000, key_path: str | None = None,
                  example_path: str | None = None, part: str | None = None, slots: int = 4,
                  request_budget: float = 30.0, cache_dir: str | None = None, verbose: bool = False) -> PageServer:
    """A ready server (workers started, socket bound); call serve_forever(), then close()."""
    options = Options(timeout=options.timeout, seed=options.seed, strict=options.strict, jobs=options.jobs,
                      cache=bool(cache_dir) and options.cache, cache_dir=cache_dir)
    key = example = None
    if key_path:
        from proofcheck.grade import load_key
        key, errors = load_key(key_path, options)
        if errors or key is None:
            lines = [f"{e.path or key_path}:{e.line}:{e.column}: error: {e.message}" for e in errors]
            raise ServeError("\n".join(lines + [f"the answer key {key_path} has errors"]))
        if part and part not in key.parts:
            raise ServeError(f"the key has no part named {part!r}; its parts are: {', '.join(key.parts)}")
    elif example_path:
        from proofcheck.read import read_derivation
        try:
            example = read_derivation(example_path)
        except ProofcheckError as exc:
            raise ServeError(f"{exc.span or example_path}: error: {exc.message}") from None
    config = page_config(options, key, key_path or "", example, part)
    checker = Checker(options, key, slots, request_budget, cache_dir)
    try:
        return PageServer((host, port), checker, config, _allowed_hosts(host), verbose)
    except OSError as exc:
        checker.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------------------------
# Command line

from proofcheck.cli import bounded  # noqa: E402 - the command line's shared argument types


_port = bounded(int, 0, 65535, "a port (0: any free port)")
_count = bounded(int, 1, 32, "--slots")
_seconds = bounded(float, 1, 3600, "the request budget in seconds")


def add_arguments(p) -> None:
    """`serve`'s own arguments (cli.py adds --timeout --seed --strict --jobs --no-cache)."""
    p.add_argument("--key", metavar="KEY.yaml", help="an answer key: the page shows its claim, score and feedback")
    p.add_argument("--example", metavar="FILE.yaml", help="prefill the page from this derivation")
    p.add_argument("--part", metavar="NAME", help="the part of the key or example shown first")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--slots", type=_count, default=4,
                   help="requests checked at the same time, each in its own worker processes (default 4)")
    p.add_argument("--request-budget", type=_seconds, default=30.0, metavar="SECONDS",
                   help="checking time one request may use in total (default 30)")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="keep verdicts in DIR between runs (default: in memory only; nothing is written)")
    p.add_argument("--verbose", action="store_true", help="log every request to standard error")


def run(args, options: Options) -> int:
    """Serve until Ctrl-C; 2 when the server cannot start."""
    if args.key and args.example:
        print("proofcheck serve: give --key or --example, not both", file=sys.stderr)
        return EXIT_USAGE
    try:
        server = create_server(options, args.host, args.port, args.key, args.example, args.part, args.slots,
                               args.request_budget, args.cache_dir, args.verbose)
    except ServeError as exc:
        print(f"proofcheck serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not is_loopback(args.host):
        print(f"proofcheck serve: warning: listening on {args.host}: anyone who can reach this machine can use "
              "the page", file=sys.stderr)
    print(f"proofcheck serve: {server.url}  (Ctrl-C to stop)", flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        print("proofcheck serve: stopped", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
    return EXIT_OK
