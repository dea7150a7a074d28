#!/usr/bin/env python3
"""Benchmark the build as a user runs it: whole processes, medians, on a temporary copy of the project.

    .venv/bin/python tools/bench.py [--runs 3]

Copies content/, templates/, locales/ and the code (pubpipe/, schemas/,
build.py) into a temporary folder, so edits elsewhere in the checkout cannot
invalidate the cache mid-run, and runs `build.py` there with
PUBPIPE_IN_VENV=1 as separate processes. For each scenario: the median wall
time, the CPU time (user + system, the build and its workers), CPU/wall (above
1 means more than one core worked) and the peak resident memory of the
largest process (wait4's ru_maxrss). The engine floor is the bare pandoc and
Typst work of a full build, recorded from one build and replayed alone on as
many processes as there are cores, after Typst's one font scan (the build's
main process scans once before its workers fork; so does the replay); floor
and cold build run in turn, round by round, and the ratio is also given per round (this machine's speed drifts by a
third within an hour, so a floor measured minutes before the builds skews it). PUBPIPE_GRAPH=edition runs one task per
edition (parse, then its formats in turn) instead of the default graph
(a parse task per edition, then one task per format, the page last), to
compare the two shapes in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
COPIED = ("content", "templates", "locales", "pubpipe", "schemas", "build.py", "pyproject.toml")
SLUG = "outgrowing-offsetting"


def copy_project(target: Path) -> Path:
    """The project's files, and pubpipe byte-compiled as on a user's machine after its first run."""
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    subprocess.run([str(PYTHON), "-m", "compileall", "-q", str(target / "pubpipe")], check=True)
    return target


# Python caches bytecode beside the sources unless told not to: some sandboxes and CI images set
# PYTHONDONTWRITEBYTECODE, and then every run compiles pubpipe again (about 0.08 s here). The figures are
# those of a user's machine, where Python keeps its cache.
ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def run(project: Path, *args: str, env: dict | None = None) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one `build.py` process and everything it waited for."""
    started = time.perf_counter()
    process = subprocess.Popen([str(PYTHON), str(project / "build.py"), *args], cwd=project,
                               env={**ENVIRONMENT, "PUBPIPE_IN_VENV": "1", **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"build.py {' '.join(args)} failed:\n{process.stderr.read().decode()}")
    process.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def clean(project: Path) -> None:
    for name in ("build", "dist"):
        shutil.rmtree(project / name, ignore_errors=True)


def edit_catalog(project: Path, lang: str, count: int) -> None:
    """A translator's edit: a new comment on the first entry (changes the file, not the text)."""
    path = project / "locales" / lang.replace("-", "_") / "LC_MESSAGES" / f"{SLUG}.po"
    text = path.read_text(encoding="utf-8")
    at = text.index('\nmsgid "', text.index('msgid ""') + 1)
    path.write_text(text[:at] + f"\n# bench edit {count}" + text[at:], encoding="utf-8")


RECORDER = r'''
import json, pickle, sys, subprocess
from pathlib import Path
import pypandoc, typst
calls = []
real_convert, real_compile = pypandoc.convert_text, typst.compile
def convert_text(source, to, format=None, extra_args=(), outputfile=None, sandbox=False, **kw):
    files = {}
    for arg in extra_args or ():
        if arg.startswith(("--metadata-file=", "--csl=", "--reference-doc=")):
            files[arg.split("=", 1)[1]] = Path(arg.split("=", 1)[1]).read_bytes()
    calls.append(("pandoc", source, to, format, list(extra_args or ()), bool(outputfile), sandbox, files))
    return real_convert(source, to, format=format, extra_args=extra_args, outputfile=outputfile, sandbox=sandbox, **kw)
def compile(source, **kw):
    # the build passes the font book (typst.Fonts) its main process scanned; the replay scans once too
    calls.append(("typst", source, {k: v for k, v in kw.items() if k != "font_paths"}))
    return real_compile(source, **kw)
pypandoc.convert_text, typst.compile = convert_text, compile
sys.path.insert(0, sys.argv[1])
from pubpipe.cli import main
assert main(["-q"], Path(sys.argv[1])) == 0
Path(sys.argv[2]).write_bytes(pickle.dumps(calls))
'''

REPLAYER = r'''
import multiprocessing, pickle, subprocess, sys, tempfile, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
import pypandoc, typst

FONTS = []

def replay(call):
    if call[0] == "typst":
        typst.compile(call[1], **call[2], font_paths=FONTS[0])
        return
    _kind, source, to, fmt, args, binary, sandbox, files = call
    with tempfile.TemporaryDirectory() as scratch:
        for index, (name, data) in enumerate(files.items()):
            local = Path(scratch, f"{index}-{Path(name).name}")
            local.write_bytes(data)
            args = [a.replace(name, str(local)) for a in args]
        command = [pypandoc.get_pandoc_path(), f"--from={fmt}", f"--to={to}", *args]
        command += ["--sandbox"] if sandbox else []
        if binary:
            command.append(f"--output={scratch}/out")
        subprocess.run(command, input=source.encode(), check=True, capture_output=True)

if __name__ == "__main__":
    calls = pickle.loads(Path(sys.argv[1]).read_bytes())
    typst_calls = [c for c in calls if c[0] == "typst"]
    calls.sort(key=lambda c: c[0] != "typst")  # the longest first
    started = time.perf_counter()
    # Typst's font discovery, once, then the workers fork and inherit it: what the build does (its main
    # process scans before its workers fork), and work no Typst compile can skip
    FONTS.append(typst.Fonts())
    with ProcessPoolExecutor(int(sys.argv[2]), mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(replay, calls))
    print(time.perf_counter() - started, len(calls) - len(typst_calls), len(typst_calls))
'''


class EngineFloor:
    """The recorded pandoc and Typst calls of one full build, replayed alone on as many processes as cores."""

    def __init__(self, project: Path):
        clean(project)
        self.scratch = Path(tempfile.mkdtemp(prefix="bench-calls-"))
        (self.scratch / "record.py").write_text(RECORDER, encoding="utf-8")
        (self.scratch / "replay.py").write_text(REPLAYER, encoding="utf-8")
        subprocess.run([str(PYTHON), str(self.scratch / "record.py"), str(project), str(self.scratch / "calls.pickle")],
                       check=True, env={**os.environ, "PUBPIPE_JOBS": "1"}, cwd=project)
        self.pandoc_calls = self.typst_calls = 0

    def replay(self, workers: int) -> tuple[float, float]:
        """(wall s, CPU s) of one replay: wall from the replayer's clock, CPU of the whole process tree."""
        process = subprocess.Popen([str(PYTHON), str(self.scratch / "replay.py"), str(self.scratch / "calls.pickle"),
                                    str(workers)], stdout=subprocess.PIPE)
        _pid, _status, usage = os.wait4(process.pid, 0)
        wall, pandoc, typst = process.stdout.read().split()
        process.stdout.close()
        self.pandoc_calls, self.typst_calls = int(pandoc), int(typst)
        return float(wall), usage.ru_utime + usage.ru_stime

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()
    runs = options.runs
    load_before = os.getloadavg()
    results: dict[str, list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="pubpipe-bench-") as folder:
        project = copy_project(Path(folder))
        floor = EngineFloor(project)
        try:  # floor and cold build in turn, round by round: this machine's speed drifts within minutes
            for _ in range(runs):
                results.setdefault("floor", []).append(floor.replay(cores()))
                clean(project)
                results.setdefault("cold full build (empty cache)", []).append(run(project, "-q"))
        finally:
            floor.close()
        floor_samples = results.pop("floor")
        floor_wall = statistics.median(w for w, _cpu in floor_samples)
        floor_cpu = statistics.median(cpu for _w, cpu in floor_samples)
        colds = results["cold full build (empty cache)"]
        ratios = [cold[0] / wall for (wall, _cpu), cold in zip(floor_samples, colds, strict=True)]
        for _ in range(runs):
            clean(project)
            results.setdefault("cold full build, serial (PUBPIPE_JOBS=1)", []).append(
                run(project, "-q", env={"PUBPIPE_JOBS": "1"}))
        for _ in range(runs):
            clean(project)
            results.setdefault("cold full build, one task per edition (PUBPIPE_GRAPH=edition)", []).append(
                run(project, "-q", env={"PUBPIPE_GRAPH": "edition"}))
        for _ in range(runs):
            results.setdefault("no-op rebuild", []).append(run(project, "-q"))
        for count in range(runs):
            edit_catalog(project, "fr", count)
            results.setdefault("after editing one catalog (fr)", []).append(run(project, "-q"))
        for count in range(runs):
            edit_catalog(project, "fr", 50 + count)
            results.setdefault("after editing one catalog (fr), one task per edition", []).append(
                run(project, "-q", env={"PUBPIPE_GRAPH": "edition"}))
        for _ in range(runs):
            clean(project)
            results.setdefault("one-language HTML preview, cold (--lang fr --format html)", []).append(
                run(project, "--lang", "fr", "--format", "html", "-q"))
        run(project, "-q")  # a full build: the cache is warm for everything
        for count in range(runs):
            edit_catalog(project, "fr", 100 + count)
            results.setdefault("one-language HTML preview, warm (fr catalog edited)", []).append(
                run(project, "--lang", "fr", "--format", "html", "-q"))
    rows = []
    for name, samples in results.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        rows.append({"scenario": name, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                     "cpu_per_wall": round(cpu / wall, 2), "peak_rss_mib": round(max(s[2] for s in samples)),
                     "samples_wall_s": [round(s[0], 3) for s in samples]})
    cold = rows[0]["wall_s"]
    print(f"{cores()} cores; load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; "
          f"median of {runs}")
    print(f"engine floor (the {floor.pandoc_calls} pandoc runs and {floor.typst_calls} Typst compiles of a full "
          f"build, alone, {cores()} processes): {floor_wall:.2f} s wall, {floor_cpu:.2f} s CPU; cold build / floor = "
          f"{cold / floor_wall:.2f}x (medians); per round {', '.join(f'{r:.2f}' for r in ratios)}, median "
          f"{statistics.median(ratios):.2f}x")
    print()
    print("| scenario | wall (s) | CPU (s) | CPU/wall | peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['scenario']} | {row['wall_s']:.2f} | {row['cpu_s']:.2f} | {row['cpu_per_wall']:.2f} | "
              f"{row['peak_rss_mib']} |")
    if options.json:
        options.json.write_text(json.dumps({"cores": cores(), "load": [load_before, os.getloadavg()],
                                            "floor": {"wall_s": floor_wall, "cpu_s": floor_cpu,
                                                      "samples_wall_s": [round(w, 3) for w, _c in floor_samples]},
                                            "ratios": [round(r, 3) for r in ratios], "rows": rows},
                                           indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
