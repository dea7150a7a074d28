#!/usr/bin/env python3
"""Benchmark the verify stage over a built dist/: each referee alone, then all side by side.

    .venv/bin/python tools/referees/bench_verify.py [DIST]      (default: dist/)

Prints the wall time and the number of findings per validator, then for the
whole stage as the build and the tests run it. The referees start a JVM or a
browser once per run, so the figures are per release, not per artifact; the
machine's load average is printed too, since a busy machine doubles them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pubpipe.verify.referees import VALIDATORS, artifacts_of, verify_artifacts  # noqa: E402


def main() -> None:
    dist = Path(sys.argv[1] if len(sys.argv) > 1 else "dist").resolve()
    manifest = json.loads((dist / "manifest.json").read_text(encoding="utf-8"))
    judged = artifacts_of(dist, manifest)
    kinds = ", ".join(f"{sum(a.format == k for a in judged)} {k}" for k in ("html", "pdf", "epub", "docx"))
    print(f"{dist}: {kinds}; load average {os.getloadavg()[0]:.1f}")
    for name, _fmt, _run in VALIDATORS:
        started = time.perf_counter()
        found = verify_artifacts(dist, manifest, [name])
        print(f"{name:14} {time.perf_counter() - started:6.1f} s  {len(found)} finding(s)", flush=True)
    started = time.perf_counter()
    found = verify_artifacts(dist, manifest)
    print(f"{'all at once':14} {time.perf_counter() - started:6.1f} s  {len(found)} finding(s); "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
