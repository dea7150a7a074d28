#!/usr/bin/env python3
"""Compare two versions of the build, run by run, on this machine: interleaved medians.

    .venv/bin/python tools/compare.py REV_A [REV_B] [--runs 8]

A virtual machine's speed can drift by a third within an hour, so two
bench.py runs taken an hour apart compare the machine as much as the code.
This takes each revision (a git revision, or WORK for the checkout as it is)
into a temporary folder, byte-compiled, and times both in turn, scenario by
scenario and round by round, so a slow minute slows both: the cold full build,
the serial build, the cold one-language preview, then on a warm cache the
preview and the full build after a catalog edit, and `build.py check`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

import bench

SCENARIOS = ("cold full build", "cold full build, serial", "one-language HTML preview, cold",
             "one-language HTML preview, warm (catalog edited)", "full build after a catalog edit", "check")


def checkout(revision: str, target: Path) -> Path:
    if revision == "WORK":
        return bench.copy_project(target)
    archive = subprocess.run(["git", "-C", str(bench.ROOT), "archive", revision, *bench.COPIED],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    subprocess.run([str(bench.PYTHON), "-m", "compileall", "-q", str(target / "pubpipe")], check=True)
    return target


def one_round(project: Path, count: int) -> dict[str, float]:
    """Wall seconds of every scenario, once."""
    times = {}
    bench.clean(project)
    times[SCENARIOS[0]] = bench.run(project, "-q")[0]
    bench.clean(project)
    times[SCENARIOS[1]] = bench.run(project, "-q", env={"PUBPIPE_JOBS": "1"})[0]
    bench.clean(project)
    times[SCENARIOS[2]] = bench.run(project, "--lang", "fr", "--format", "html", "-q")[0]
    bench.run(project, "-q")  # warm: every artifact cached
    bench.edit_catalog(project, "fr", 1000 + count)
    times[SCENARIOS[3]] = bench.run(project, "--lang", "fr", "--format", "html", "-q")[0]
    bench.edit_catalog(project, "fr", 2000 + count)
    times[SCENARIOS[4]] = bench.run(project, "-q")[0]
    times[SCENARIOS[5]] = bench.run(project, "check")[0]
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default="WORK")
    parser.add_argument("--runs", type=int, default=8)
    options = parser.parse_args()
    samples: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="pubpipe-compare-") as folder:
        projects = {}
        for index, revision in enumerate((options.before, options.after)):
            target = Path(folder) / str(index)
            target.mkdir()
            projects[index] = checkout(revision, target)
        for count in range(options.runs):
            for index, project in projects.items():
                for scenario, seconds in one_round(project, count).items():
                    samples.setdefault((scenario, index), []).append(seconds)
        for project in projects.values():
            shutil.rmtree(project, ignore_errors=True)
    print(f"median wall seconds of {options.runs} interleaved rounds")
    print(f"| scenario | {options.before} | {options.after} | change |")
    print("|---|---:|---:|---:|")
    for scenario in SCENARIOS:
        before, after = (statistics.median(samples[(scenario, index)]) for index in (0, 1))
        print(f"| {scenario} | {before:.2f} | {after:.2f} | {100 * (after - before) / before:+.0f}% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
