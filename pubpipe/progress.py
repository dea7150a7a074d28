"""What a build shows while it runs, and the table it ends with; the no-op answer. Standard library only.

On a terminal, one line per running artifact, redrawn in place as artifacts
start and finish; in CI (`CI` set) or when stdout is not a terminal, one
plain line per finished artifact. Then a summary: publication, edition,
status, format, size, time, and whether it was built or taken from the cache.
`-q` prints only problems.

`noop` answers a build whose inputs and dist/ are unchanged from the
recorded one (release/stamp.py) before anything heavy is imported.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from pubpipe.diagnostics import Diagnostic
from pubpipe.release import stamp

FORMAT_ORDER = ("html", "pdf", "epub", "docx")


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    """One line per problem, compiler style; GitHub annotations too when running in Actions."""
    annotate = bool(os.environ.get("GITHUB_ACTIONS"))
    for diagnostic in diagnostics:
        print(diagnostic, file=sys.stderr)
        if annotate:
            print(diagnostic.github_annotation(), file=sys.stderr)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    if errors or warnings:
        print(f"{errors} error(s), {warnings} warning(s)", file=sys.stderr)


def print_warnings(warnings: list[Diagnostic]) -> None:
    """What a successful build still has to say: warnings, and the translation errors it did not publish."""
    if not warnings:
        return
    print_diagnostics(warnings)
    demoted = sum(d.severity == "error" for d in warnings)
    if demoted:
        print(f"the {demoted} translation error(s) above were not published: those entries are shown in the "
              "source language (--strict refuses them)", file=sys.stderr)


def size_label(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:.0f} KB" if size < 1024 * 1024 else \
        f"{size / 1024 / 1024:.1f} MB"


class Display:
    """Hears the build's progress events (pipeline.build's `progress`) and keeps the rows of the summary."""

    def __init__(self, quiet: bool = False, stream=None, live: bool | None = None):
        self.stream = stream or sys.stdout
        self.quiet = quiet
        tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.live = (tty and not os.environ.get("CI")) if live is None else live
        self.running: dict[tuple, tuple[str, float]] = {}
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self._drawn = 0

    def __call__(self, event: dict) -> None:
        key = (event["publication"], event["edition"], event["format"])
        label = f"{event['publication']} {event['edition']} {event['format']}"
        if event["kind"] == "start":
            self.running[key] = (label, time.monotonic())
        elif event["kind"] == "done":
            self.running.pop(key, None)
            self.rows.append({name: event[name] for name in ("publication", "edition", "status", "format", "path",
                                                              "bytes", "seconds", "cached")})
            if not self.live:
                self.line(f"[{event['publication']} {event['edition']}] {event['format']:<4} -> dist/{event['path']} "
                          f"({size_label(event['bytes'])}, {event['seconds']:.2f} s, "
                          f"{'cached' if event['cached'] else 'built'})")
        elif event["kind"] == "note":
            self.notes.append(f"{label}: {event['note']}")
            self.line(f"[{event['publication']} {event['edition']}] {event['format']}: {event['note']}")
        self._redraw()

    def line(self, text: str) -> None:
        """A line that stays (above the running ones, on a terminal)."""
        if self.quiet:
            return
        self._clear()
        print(text, file=self.stream, flush=True)
        self._redraw()

    def _clear(self) -> None:
        if self.live and self._drawn:
            self.stream.write(f"\x1b[{self._drawn}A\x1b[J")
            self._drawn = 0

    def _redraw(self) -> None:
        if not self.live or self.quiet:
            return
        self._clear()
        now = time.monotonic()
        lines = [f"  building {label}  {now - started:4.1f} s" for label, started in self.running.values()]
        if lines:
            self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn = len(lines)

    def close(self) -> None:
        self._clear()
        self.running.clear()


def summary_table(rows: list[dict]) -> str:
    """The artifacts of the build, one row each: publication, edition, status, format, size, time, built/cached."""
    editions: dict[tuple[str, str], int] = {}
    for row in rows:
        editions.setdefault((row["publication"], row["edition"]), len(editions))
    ordered = sorted(rows, key=lambda r: (r["publication"], editions[(r["publication"], r["edition"])],
                                          FORMAT_ORDER.index(r["format"]) if r["format"] in FORMAT_ORDER else 9))
    table = [("publication", "edition", "status", "format", "size", "time", "")]
    table += [(r["publication"], r["edition"], r["status"], r["format"], size_label(r["bytes"]),
               f"{r['seconds']:.2f} s", "cached" if r["cached"] else "built") for r in ordered]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    right = {4, 5}
    lines = ["  ".join(cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths,
                                                                                                         strict=True)))
             .rstrip() for row in table]
    built = sum(not r["cached"] for r in rows)
    lines.append(f"{built} built, {len(rows) - built} from the cache")
    return "\n".join(lines)


def build_arguments(argv: list[str]) -> tuple[list[str], Path | None] | None:
    """The arguments of a build command (without --project) and the project, or None for anything else
    (another command, or --dist: the record covers <project>/dist only)."""
    argv = list(argv)
    root = None
    if "--project" in argv[:-1]:
        at = argv.index("--project")
        root = Path(argv[at + 1]).resolve()
        del argv[at:at + 2]
    if "--dist" in argv or (argv and argv[0] != "build" and not argv[0].startswith("-")) \
            or any(arg in ("-h", "--help") for arg in argv):
        return None
    return argv, root


def noop(argv: list[str], default_root: Path) -> int | None:
    """Answer an unchanged build from its record (exit code 0), or None to build for real."""
    parsed = build_arguments(argv)
    if parsed is None or os.environ.get("PUBPIPE_NO_STAMP"):
        return None
    args, root = parsed
    root = root or default_root.resolve()
    started = time.perf_counter()
    data = stamp.replay(root, args)
    if data is None:
        return None
    quiet = "-q" in args or "--quiet" in args
    print_warnings([Diagnostic(**w) for w in data["warnings"]])
    if not quiet:
        rows = [{**row, "cached": True, "seconds": 0.0} for row in data["summary"]]
        print(summary_table(rows))
        print(f"done: nothing changed since the last build; {root / 'dist'} checked in "
              f"{time.perf_counter() - started:.2f} s")
    return 0
