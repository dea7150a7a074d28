"""Benchmark of `build.py serve`: save-to-reload time in headless chromium, median over several saves.

    .venv/bin/python tests/bench_serve.py [--saves 9] [--lang fr] [--baseline]

Starts `serve` on a temporary copy of the project, opens the page with tests/serve_driver.mjs, saves an edit to
one catalog entry `--saves` times, and prints, per save, the time from the write to the reloaded page showing
the edit, and the server's own rebuild time (from its terminal line). `--baseline` also times one
`build.py --lang L --format html` process, the one-shot preview it replaces. The machine's load average is
printed too: the figures mean little on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import ROOT, SLUG, copy_project  # noqa: E402
from tests.test_serve import DRIVER, Served, browser_or_skip_reason, with_msgstr  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=9)
    parser.add_argument("--lang", default="fr")
    parser.add_argument("--baseline", action="store_true", help="also time one build.py --format html process")
    args = parser.parse_args()
    node, missing = browser_or_skip_reason()
    if missing:
        print(f"cannot run: {missing}", file=sys.stderr)
        return 2
    from pubpipe.source.languages import parse_language
    from pubpipe.translate.catalogs import parse_po

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch:
        root = copy_project(Path(scratch) / "project")
        catalog = root / "locales" / parse_language(args.lang).catalog_dir / "LC_MESSAGES" / f"{SLUG}.po"
        original = catalog.read_text(encoding="utf-8")
        heading = next(m for m in parse_po(original) if m.id.startswith("# ") and m.string and not m.fuzzy)
        steps = [{"path": str(catalog), "text": with_msgstr(original, heading.lineno, f"{heading.string} {word}"),
                  "expect": f"{heading.string[2:]} {word}", "pause_ms": 300}
                 for word in (f"v{chr(97 + n % 26)}" for n in range(args.saves))]  # no digit: a number is checked
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        served = Served(root, "--lang", args.lang)
        try:
            job, result_file = Path(scratch) / "job.json", Path(scratch) / "result.json"
            job.write_text(json.dumps({"url": served.url, "steps": steps}), encoding="utf-8")
            run = subprocess.run([node, str(DRIVER), str(job), str(result_file)], capture_output=True, text=True)
            result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() else {}
        finally:
            served.interrupt()
        if run.returncode or "error" in result:
            print(run.stderr or result.get("error"), "".join(served.out), "".join(served.err), file=sys.stderr)
            return 1
        reload_ms = [step["ms"] for step in result["steps"]]
        rebuilds = [float(m.group(1)) * 1000 for line in served.out[1:]
                    if (m := re.search(r"saved .* built in ([\d.]+) s", line))]
        first = re.search(r"built in ([\d.]+) s", served.out[0])
        print(f"first build (cold process): {first.group(1) if first else '?'} s")
        print(f"save-to-reload in chromium, ms: {' '.join(f'{x:.0f}' for x in reload_ms)}")
        print(f"  median {statistics.median(reload_ms):.0f} ms, min {min(reload_ms):.0f}, max {max(reload_ms):.0f}")
        if rebuilds:
            print(f"server rebuild, ms: {' '.join(f'{x:.0f}' for x in rebuilds)}; "
                  f"median {statistics.median(rebuilds):.0f} ms")
        phases: dict[str, list[float]] = {}
        for line in served.out[1:]:
            found = re.search(r"saved .*phases (.*) s\)", line)
            for name, seconds in re.findall(r"(\w+) ([\d.]+)", found.group(1) if found else ""):
                phases.setdefault(name, []).append(float(seconds) * 1000)
        if phases:
            print("  median per phase, ms: " + ", ".join(f"{name} {statistics.median(values):.0f}"
                                                        for name, values in phases.items()))
        if args.baseline:
            env = {**os.environ, "PUBPIPE_IN_VENV": "1"}
            started = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(root), "--lang", args.lang,
                            "--format", "html", "--quiet"], env=env, check=False, capture_output=True)
            print(f"baseline: one build.py --lang {args.lang} --format html process: "
                  f"{time.perf_counter() - started:.2f} s")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
