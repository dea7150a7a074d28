"""Command line: parse arguments, validate them at the edge, call the library, print.

The library never prints or exits; this module turns its results and
diagnostics into lines on the terminal and an exit code.

    build.py [build] [--lang TAG] [--format FMT] [--publication SLUG] [--strict]
    build.py update | status [--json] | check [--artifacts|--build] | glossary | pseudo | previews
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .diagnostics import Diagnostic, PipelineError
from .pipeline import FORMATS, Project, build, load

COMMANDS = ("build", "update", "status", "check", "glossary", "pseudo", "previews")


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


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


def _validate_choices(project: Project, langs, formats, slugs) -> list[str]:
    """Unknown languages, formats or publications: one clear line each, naming the valid choices."""
    messages = []
    for fmt in formats or []:
        if fmt not in FORMATS:
            messages.append(f"error: unknown format '{fmt}'; choose from: {', '.join(FORMATS)}")
    from .publication import discover

    known_slugs = [p.name for p in discover(project.content)]
    if not known_slugs:
        messages.append(f"error: no publication found under {project.content} (a folder with a publication.yaml)")
    for slug in slugs or []:
        if slug not in known_slugs:
            messages.append(f"error: unknown publication '{slug}'; choose from: {', '.join(known_slugs)}")
    if langs:
        from .languages import PSEUDO

        loaded = load(project, None, slugs, catalogs=False)
        known = sorted({spec.language.tag for p in loaded.publications for spec in p.editions})
        for lang in langs:
            if lang not in known and lang not in PSEUDO:
                messages.append(f"error: unknown language '{lang}'; choose from: {', '.join(known)}")
    return messages


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build.py", description="Multilingual publication pipeline.")
    sub = parser.add_subparsers(dest="command")

    def selection(p: argparse.ArgumentParser) -> None:
        p.add_argument("--lang", action="append", metavar="TAG", help="language(s), e.g. zh-Hans or fr,es")
        p.add_argument("--publication", action="append", metavar="SLUG", help="publication(s) under content/")

    p = sub.add_parser("build", help="build every edition into dist/ (the default)")
    selection(p)
    p.add_argument("--format", action="append", metavar="FMT", help=f"format(s): {', '.join(FORMATS)}")
    p.add_argument("--strict", action="store_true",
                   help="release mode: refuse editions below their completeness threshold or with check errors")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    return parser


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--project" in argv[:-1]:  # the tests point the command at a copy of the sources
        at = argv.index("--project")
        root = Path(argv[at + 1])
        del argv[at : at + 2]
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")
    args = _parser().parse_args(argv)
    project = Project((root or Path.cwd()).resolve())
    try:
        return COMMAND_HANDLERS[args.command](project, args)
    except PipelineError as failure:
        print_diagnostics(failure.diagnostics)
        return 1


def cmd_build(project: Project, args: argparse.Namespace) -> int:
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
        manifest, warnings = build(project, langs, formats, slugs, args.strict, report)
    except PipelineError as failure:
        print_diagnostics(failure.diagnostics)
        print("build failed; dist/ was left as it was", file=sys.stderr)
        return 1
    if warnings:
        print_diagnostics(warnings)
    count = sum(len(e["artifacts"]) for p in manifest["publications"] for e in p["editions"])
    report(f"done: {count} artifacts in {project.dist} in {time.perf_counter() - started:.1f} s")
    return 0


COMMAND_HANDLERS = {"build": cmd_build}
