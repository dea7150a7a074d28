"""Command line: parse arguments, validate them at the edge, call the library, print.

The library never prints or exits; this module turns its results and
diagnostics into lines on the terminal and an exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .diagnostics import Diagnostic, PipelineError
from .pipeline import FORMATS, Project, build, load


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    annotate = bool(os.environ.get("GITHUB_ACTIONS"))
    for diagnostic in diagnostics:
        print(diagnostic, file=sys.stderr)
        if annotate:
            print(diagnostic.github_annotation(), file=sys.stderr)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    if errors or warnings:
        print(f"{errors} error(s), {warnings} warning(s)", file=sys.stderr)


def _validate_choices(project: Project, langs, formats, slugs) -> list[str]:
    """Unknown languages, formats or publications: one clear line each, naming the valid choices."""
    messages = []
    for fmt in formats or []:
        if fmt not in FORMATS:
            messages.append(f"error: unknown format '{fmt}'; choose from: {', '.join(FORMATS)}")
    from .publication import discover

    known_slugs = [p.name for p in discover(project.content)]
    for slug in slugs or []:
        if slug not in known_slugs:
            messages.append(f"error: unknown publication '{slug}'; choose from: {', '.join(known_slugs)}")
    if langs:
        loaded = load(project, None, slugs)
        known = sorted({spec.language.tag for p in loaded.publications for spec in p.editions})
        for lang in langs:
            if lang not in known:
                messages.append(f"error: unknown language '{lang}'; choose from: {', '.join(known)}")
    return messages


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description="Build every edition of every publication.")
    parser.add_argument("--lang", action="append", metavar="TAG", help="language(s) to build, e.g. zh-Hans or en,fr")
    parser.add_argument("--format", action="append", metavar="FMT", help=f"format(s): {', '.join(FORMATS)}")
    parser.add_argument("--publication", action="append", metavar="SLUG", help="publication(s) under content/")
    parser.add_argument("--strict", action="store_true",
                        help="refuse editions below their completeness threshold (release mode)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    args = parser.parse_args(argv)
    project = Project(root or Path.cwd())
    langs, formats, slugs = _split(args.lang), _split(args.format), _split(args.publication)
    bad = _validate_choices(project, langs, formats, slugs)
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 2

    def report(line: str) -> None:
        if not args.quiet:
            print(line, flush=True)

    started = time.perf_counter()
    try:
        manifest = build(project, langs, formats, slugs, args.strict, report)
    except PipelineError as failure:
        print_diagnostics(failure.diagnostics)
        print("build failed; dist/ was left as it was", file=sys.stderr)
        return 1
    count = sum(len(e["artifacts"]) for p in manifest["publications"] for e in p["editions"])
    report(f"done: {count} artifacts in dist/ in {time.perf_counter() - started:.1f} s")
    return 0
