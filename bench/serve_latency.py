"""Benchmark: verdict latency of `proofcheck serve` per keystroke-triggered check.

For every part of every derivation, the page's boxes are filled with the part's declarations and
claim, and the steps are "typed" one line at a time: after each new line the whole box is posted
to POST /api/check exactly as the page does once typing pauses: first with `steps_only` (the
verdict of every line; the claim only if already known), then, when the claim is still pending,
again without it. Measured on the client, HTTP on loopback included: the *verdict latency* (the
first answer, which holds the new line's verdict) and the *claim latency* (until the second answer
says whether the chain reaches the claim). The server is started fresh (nothing remembered) in this
process on an ephemeral port, with the command line's defaults.

    python bench/serve_latency.py [PATH ...] [--timeout 10] [--slots 4] [--json]

Reported: the median and the worst latency over all checks, per file, and the slowest checks.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proofcheck.read import read_derivation  # noqa: E402
from proofcheck.serve import _part_config, create_server  # noqa: E402
from proofcheck.verify import Options, expand_paths  # noqa: E402


def post(port: int, doc: dict) -> tuple[float, dict]:
    """(seconds, answer) of one check."""
    body = json.dumps(doc).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.perf_counter()
    conn.request("POST", "/api/check", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    seconds = time.perf_counter() - t0
    conn.close()
    if resp.status != 200:
        raise SystemExit(f"HTTP {resp.status}: {data[:300]!r}")
    return seconds, json.loads(data)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=[str(ROOT / "derivations")])
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    server = create_server(Options(timeout=args.timeout), port=0, slots=args.slots)
    startup = time.perf_counter() - t0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    files, _ = expand_paths(args.paths)
    rows = []  # (file, part, line, verdict seconds, claim seconds, status of the new line)
    try:
        for f in files:
            d = read_derivation(f)
            for part in d.parts:
                cfg = _part_config(part, None, d.title)
                lines = cfg["steps"].split("\n")
                boxes = {k: cfg[k] for k in ("symbols", "define", "given", "claim")}
                for n in range(1, len(lines) + 1):
                    req = dict(boxes, steps="\n".join(lines[:n]))
                    seconds, doc = post(port, dict(req, steps_only=True))
                    claim_seconds = seconds
                    if doc["pending"]:
                        more, _ = post(port, req)
                        claim_seconds += more
                    status = doc["lines"][-1]["status"] if doc["lines"] else "-"
                    rows.append((Path(f).name, part.name, n, seconds, claim_seconds, status))
    finally:
        server.shutdown()
        server.close()

    all_s, claim_s = [r[3] for r in rows], [r[4] for r in rows]
    summary = {"checks": len(rows), "median_ms": round(1000 * statistics.median(all_s), 1),
               "p90_ms": round(1000 * statistics.quantiles(all_s, n=10)[-1], 1),
               "worst_ms": round(1000 * max(all_s), 1),
               "within_300ms": sum(1 for s in all_s if s <= 0.3), "startup_s": round(startup, 2),
               "claim_median_ms": round(1000 * statistics.median(claim_s), 1),
               "claim_worst_ms": round(1000 * max(claim_s), 1)}
    if args.json:
        print(json.dumps({"summary": summary, "rows": rows}, indent=1))
        return 0
    print(f"server start (warm-up, workers forked): {startup:.2f} s")
    print(f"{'':34} {'':>6} {'verdict latency':>21} {'claim latency':>21}")
    print(f"{'file':34} {'checks':>6} {'median ms':>10} {'worst ms':>10} {'median ms':>10} {'worst ms':>10}")
    for name in sorted({r[0] for r in rows}):
        s, c = [r[3] for r in rows if r[0] == name], [r[4] for r in rows if r[0] == name]
        print(f"{name:34} {len(s):6d} {1000 * statistics.median(s):10.1f} {1000 * max(s):10.1f}"
              f" {1000 * statistics.median(c):10.1f} {1000 * max(c):10.1f}")
    print(f"{'all':34} {summary['checks']:6d} {summary['median_ms']:10.1f} {summary['worst_ms']:10.1f}"
          f" {summary['claim_median_ms']:10.1f} {summary['claim_worst_ms']:10.1f}")
    print(f"verdict latency: p90 {summary['p90_ms']} ms; {summary['within_300ms']}/{summary['checks']} "
          "checks within 300 ms")
    print("slowest verdicts:")
    for r in sorted(rows, key=lambda r: -r[3])[:8]:
        print(f"  {r[3] * 1000:8.1f} ms  {r[0]} part {r[1]} line {r[2]} ({r[5]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
