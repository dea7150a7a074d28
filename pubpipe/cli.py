"""Command line: parse arguments, validate them at the edge, call the library, print.

The library never prints or exits; this module turns its results and
diagnostics into lines on the terminal and an exit code.

    build.py [build] [--lang TAG] [--format FMT] [--publication SLUG] [--strict]
    build.py update | status [--json] | check [--artifacts|--sources|--build] [--strict] | glossary | pseudo | previews
    build.py verify [--only NAME] [--lang TAG] [--publication SLUG]
    build.py serve --lang TAG [--publication SLUG] [--port N]
    build.py release | merge DIR... | clean | shards [--json]      (any command: --dist DIR instead of dist/)
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn

from pubpipe.diagnostics import PipelineError, display_path
from pubpipe.pipeline import FORMATS, Project, build, load
from pubpipe.progress import print_diagnostics

COMMANDS = ("build", "update", "status", "check", "glossary", "pseudo", "previews", "verify", "serve", "release",
            "merge", "clean", "shards")


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _validate_choices(project: Project, langs, formats, slugs) -> list[str]:
    """Unknown languages, formats or publications: one clear line each, naming the valid choices."""
    messages = []
    for fmt in formats or []:
        if fmt not in FORMATS:
            messages.append(f"error: unknown format '{fmt}'; choose from: {', '.join(FORMATS)}")
    from pubpipe.source.publication import discover

    known_slugs = [p.name for p in discover(project.content)]
    if not known_slugs:
        messages.append(f"error: no publication found under {project.content} (a folder with a publication.yaml)")
    for slug in slugs or []:
        if slug not in known_slugs:
            messages.append(f"error: unknown publication '{slug}'; choose from: {', '.join(known_slugs)}")
    if langs:
        from pubpipe.source.languages import PSEUDO

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

    p = sub.add_parser("update", help="regenerate the .pot templates and CITATION.cff, merge into every catalog")
    selection(p)
    p = sub.add_parser("status", help="translation progress of every catalog")
    selection(p)
    p.add_argument("--json", action="store_true", help="machine-readable output for CI")
    p = sub.add_parser("check", help="catalog checks and the citation gate")
    selection(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--artifacts", action="store_true",
                       help="require the artifacts of every edition in dist/ and read them back")
    group.add_argument("--sources", action="store_true", help="sources and catalogs only, even if dist/ exists")
    group.add_argument("--build", action="store_true", help="build first, then check the artifacts too")
    p.add_argument("--strict", action="store_true",
                   help="also report what a --strict build refuses (incomplete editions), at the entries' lines")
    sub.add_parser("glossary", help="export each publication's glossary as TBX and CSV into build/glossary/")
    p = sub.add_parser("pseudo", help="generate the en-XA pseudo-locale catalogs (then build --lang en-XA)")
    p = sub.add_parser("previews", help="render PNG previews of every edition into build/previews/")
    selection(p)
    p = sub.add_parser("verify", help="run the outside validators (EPUBCheck, Ace, axe, Nu, qpdf, PDF/UA, "
                                      "LibreOffice) over every artifact in dist/")
    selection(p)
    p.add_argument("--only", action="append", metavar="NAME",
                   help="only these validators: epubcheck, ace, axe, nu, qpdf, pdf-structure, docx-layout")
    p = sub.add_parser("serve", help="serve one edition's HTML on 127.0.0.1, rebuilt and reloaded on every save")
    selection(p)
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any free port); default 8000")
    p = sub.add_parser("release", help="strict, clean, full build: checks, every edition, provenance, SHA256SUMS")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    p = sub.add_parser("merge", help="combine shards built apart (--dist DIR each) into one release")
    p.add_argument("shards", nargs="+", metavar="DIR", help="the shards' dist folders")
    sub.add_parser("clean", help="remove dist/, build/ and leftover staging folders (never sources or catalogs)")
    p = sub.add_parser("shards", help="the (publication, language) shards of a release, for a CI matrix")
    p.add_argument("--json", action="store_true", help="as JSON: {include: [...], source_date_epoch: N}")
    return parser


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--project" in argv[:-1]:  # the tests point the command at a copy of the sources
        at = argv.index("--project")
        root = Path(argv[at + 1])
        del argv[at : at + 2]
    dist = None
    if "--dist" in argv[:-1]:  # any command: write (or read) the release there instead of <project>/dist
        at = argv.index("--dist")
        dist = Path(argv[at + 1]).resolve()
        del argv[at : at + 2]
    given = list(argv)  # a build's arguments, as the no-op check sees them (pubpipe/progress.py)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")
    args = _parser().parse_args(argv)
    args.argv = None if dist is not None else given
    try:
        return _run(args, root, dist)
    except PipelineError as failure:
        print_diagnostics(failure.diagnostics)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file or folder the command needed, not covered by a stage's own diagnostics
        if os.environ.get("PUBPIPE_DEBUG"):
            raise
        where = display_path(exc.filename) if exc.filename else "."
        print(f"{where}:1: error: {exc.strerror or ' '.join(str(exc).split())} [io]", file=sys.stderr)
        return 1
    except Exception as exc:  # last resort: never a traceback; PUBPIPE_DEBUG=1 shows it
        if os.environ.get("PUBPIPE_DEBUG"):
            raise
        message = " ".join(str(exc).split())
        print(f"error: internal error: {type(exc).__name__}: {message} (please report) [internal]", file=sys.stderr)
        return 1


def leave(code: int) -> NoReturn:
    """End the process without tearing the interpreter down object by object: after a build that is 50 ms
    (about half of it a last garbage collection) of freeing ASTs, CLDR data and font tables that the operating
    system takes back at once. What Python's own exit would still do for others is done first: other threads
    are waited for, the atexit handlers run (logging, multiprocessing), the output is flushed."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (build.py | head): Python's own exit status for it
            code = code or 120
    os._exit(code)


def _run(args: argparse.Namespace, root: Path | None, dist: Path | None = None) -> int:
    project = Project((root or Path.cwd()).resolve(), dist)
    # validated once, at the edge, for every command that takes them
    args.langs, args.formats, args.slugs = (_split(getattr(args, name, None)) for name in ("lang", "format",
                                                                                        "publication"))
    if hasattr(args, "lang"):
        bad = _validate_choices(project, args.langs, args.formats, args.slugs)
        if bad:
            print("\n".join(bad), file=sys.stderr)
            return 2
    return COMMAND_HANDLERS[args.command](project, args)


def waiting(line: str) -> None:
    """Said once when another build holds the lock, even with --quiet: it explains the pause."""
    print(line, file=sys.stderr, flush=True)


def cmd_build(project: Project, args: argparse.Namespace) -> int:
    from pubpipe.progress import Display, print_warnings, summary_table
    from pubpipe.release import stamp

    langs, formats, slugs = args.langs, args.formats, args.slugs
    display = Display(quiet=args.quiet)  # live lines on a terminal, plain lines in CI; nothing with -q
    remember = getattr(args, "argv", None) is not None and project.dist == project.root / "dist"
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")  # as given: the build sets it
    key = stamp.inputs_key(project.root, args.argv, epoch) if remember else None
    started = time.perf_counter()
    try:
        manifest, warnings = build(project, langs, formats, slugs, args.strict, display.line, waiting,
                                   progress=display, referees=getattr(args, "referees", False))
    except PipelineError as failure:
        display.close()
        print_diagnostics(failure.diagnostics)
        print("build failed; dist/ was left as it was", file=sys.stderr)
        return 1
    display.close()
    print_warnings(warnings)
    if not args.quiet:
        print(summary_table(display.rows))
    count = sum(len(e["artifacts"]) for p in manifest["publications"] for e in p["editions"])
    display.line(f"done: {count} artifacts in {project.dist} in {time.perf_counter() - started:.1f} s")
    if remember and stamp.inputs_key(project.root, args.argv, epoch) == key:  # nothing changed while building
        from dataclasses import asdict

        from pubpipe.release.keys import font_paths

        fonts = font_paths() if {"pdf", "epub"} & set(formats or FORMATS) else []
        stamp.record(project.root, key, fonts, display.rows, [asdict(w) for w in warnings])
    return 0


def _publications(project: Project, slugs: list[str] | None = None):
    """The publications, sources only; None (after printing why) if one cannot be read."""
    loaded = load(project, None, slugs, catalogs=False)
    if loaded.problems:
        print_diagnostics(loaded.problems)
    if any(d.severity == "error" for d in loaded.problems):
        return None
    return loaded.publications


def cmd_update(project: Project, args: argparse.Namespace) -> int:
    from pubpipe.translate.update import update

    langs, slugs = args.langs, args.slugs
    publications = _publications(project, slugs)
    if publications is None:
        return 1
    languages = {spec.language.tag: spec.language for p in publications for spec in p.editions
                 if spec.language.tag != p.source_language and (not langs or spec.language.tag in langs)}
    changes, problems = update(project.root, project.locales, project.templates, publications,
                               list(languages.values()))
    for change in changes:
        if change.action != "unchanged":
            print(f"{change.action}: {change.path.relative_to(project.root)}")
    if problems:
        print_diagnostics(problems)
        return 1
    print("catalogs are up to date with the sources")
    return 0


def cmd_status(project: Project, args: argparse.Namespace) -> int:
    import json

    from pubpipe.translate.status import format_table, project_status

    langs = args.langs
    publications = _publications(project, args.slugs)
    if publications is None:
        return 1
    rows = project_status(project.locales, project.templates, project.root, publications,
                          lambda p: [s.language for s in p.editions if not langs or s.language.tag in langs])
    if args.json:
        print(json.dumps([row.as_json() for row in rows], ensure_ascii=False, indent=2))
    else:
        print(format_table(rows))
        for row in rows:
            print(f"{row.translated} of {row.total} messages ({row.percent:.0f}%) translated in {row.path}")
    return 0


def cmd_check(project: Project, args: argparse.Namespace) -> int:
    from pubpipe.pipeline import run_checks

    langs, slugs = args.langs, args.slugs
    if args.build:
        try:
            _manifest, _warnings = build(project, langs, None, slugs, args.strict, lambda line: None, waiting)
        except PipelineError as failure:
            print_diagnostics(failure.diagnostics)
            return 1
    started = time.perf_counter()
    mode = "required" if args.artifacts or args.build else "skip" if args.sources else "existing"
    problems = run_checks(project, langs, artifacts=mode, slugs=slugs, strict=args.strict)
    print_diagnostics(problems)
    errors = sum(d.severity == "error" for d in problems)
    print(f"check: {'failed' if errors else 'passed'} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 1 if errors else 0


def cmd_glossary(project: Project, args: argparse.Namespace) -> int:
    from pubpipe.source.files import write_atomic
    from pubpipe.source.glossary import export_csv, export_name, export_tbx

    publications = _publications(project)
    if publications is None:
        return 1
    out = project.root / "build" / "glossary"
    out.mkdir(parents=True, exist_ok=True)
    for publication in publications:
        if publication.glossary is None:
            continue
        source = publication.source_language
        tags = [s.language.tag for s in publication.editions if s.language.tag != source and not s.language.is_pseudo]
        for tag in tags:  # one file per language pair, as Weblate and Poedit import them
            for suffix, text in (("tbx", export_tbx(publication.glossary, source, tag)),
                                 ("csv", export_csv(publication.glossary, source, tag))):
                path = out / export_name(publication.slug, tag, suffix)
                write_atomic(path, text, project.root)
                print(f"wrote {path.relative_to(project.root)}")
    return 0


def cmd_pseudo(project: Project, args: argparse.Namespace) -> int:
    from pubpipe.translate.pseudo import write_pseudo_catalogs

    publications = _publications(project)
    if publications is None:
        return 1
    for path in write_pseudo_catalogs(project.root, project.locales, project.templates, publications):
        print(f"wrote {path.relative_to(project.root)}")
    print("now: python build.py --lang en-XA")
    return 0


def cmd_previews(project: Project, args: argparse.Namespace) -> int:
    from pubpipe.verify.previews import render_previews

    for path in render_previews(project, args.langs, args.slugs):
        print(f"wrote {path.relative_to(project.root)}")
    return 0


def cmd_release(project: Project, args: argparse.Namespace) -> int:
    """Refuse on any check error (strict: incomplete or unreviewed official editions too), build everything
    strictly and afresh (no build cache) into dist/, then read every artifact back (citation gate, deposits
    included)."""
    from pubpipe.pipeline import run_checks

    problems = run_checks(project, artifacts="skip", strict=True)
    if any(d.severity == "error" for d in problems):
        print_diagnostics(problems)
        print("release refused: fix the errors above (the same checks as 'build.py check --strict')",
              file=sys.stderr)
        return 1
    from pubpipe.release.cache import CACHE_DIR
    from pubpipe.release.publish import remove

    remove(project.root / CACHE_DIR)  # clean: every artifact made afresh, none taken from the build cache
    args.langs = args.formats = args.slugs = None
    args.strict = True
    args.referees = True  # every artifact passes the outside validators before dist/ changes
    args.argv = None  # never answered by the no-op check either
    code = cmd_build(project, args)
    if code:
        return code
    problems = run_checks(project, artifacts="required", strict=True)
    print_diagnostics(problems)
    if any(d.severity == "error" for d in problems):
        print("release failed the read-back of its artifacts", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"release: {project.dist} (verify: cd {project.dist} && sha256sum -c SHA256SUMS)")
    return 0


def cmd_merge(project: Project, args: argparse.Namespace) -> int:
    from pubpipe.release.merge import merge_release

    manifest = merge_release(project, [Path(folder).resolve() for folder in args.shards], waiting)
    count = sum(len(e["artifacts"]) for p in manifest["publications"] for e in p["editions"])
    print(f"merged {len(args.shards)} shard(s): {count} artifacts in {display_path(project.dist)}")
    return 0


def cmd_clean(project: Project, args: argparse.Namespace) -> int:
    from pubpipe.release.publish import clean

    removed = clean(project.root, project.dist)
    for path in removed:
        print(f"removed {display_path(path)}")
    if not removed:
        print("nothing to clean")
    return 0


def cmd_shards(project: Project, args: argparse.Namespace) -> int:
    """One shard per (publication, declared language), and the SOURCE_DATE_EPOCH every shard must use."""
    import json

    from pubpipe.pipeline import source_date_epoch

    publications = _publications(project)
    if publications is None:
        return 1
    include = [{"publication": p.slug, "lang": spec.language.tag} for p in publications for spec in p.editions]
    epoch = source_date_epoch(publications, project)
    if args.json:
        print(json.dumps({"include": include, "source_date_epoch": epoch}))
    else:
        for shard in include:
            print(f"{shard['publication']} {shard['lang']}")
        print(f"SOURCE_DATE_EPOCH={epoch}")
    return 0


def cmd_verify(project: Project, args: argparse.Namespace) -> int:
    """The outside referees over what dist/ holds: every finding is an error, the exit code says so."""
    import json

    from pubpipe.verify.referees import VALIDATORS, verify_artifacts

    manifest_file = project.dist / "manifest.json"
    if not manifest_file.is_file():
        print(f"error: no {display_path(manifest_file)}; build first (python3 build.py)", file=sys.stderr)
        return 1
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    if args.langs or args.slugs:
        manifest = {"publications": [
            dict(p, editions=[e for e in p["editions"] if not args.langs or e["lang"] in args.langs])
            for p in manifest["publications"] if not args.slugs or p["slug"] in args.slugs]}
    only = _split(args.only)
    unknown = sorted(set(only or []) - {name for name, _fmt, _run in VALIDATORS})
    if unknown:
        print(f"error: unknown validator(s) {', '.join(unknown)}; choose from: "
              f"{', '.join(name for name, _fmt, _run in VALIDATORS)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    problems = verify_artifacts(project.dist, manifest, only)
    print_diagnostics(problems)
    errors = sum(d.severity == "error" for d in problems)
    print(f"verify: {'failed' if errors else 'passed'} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 1 if errors else 0


def cmd_serve(project: Project, args: argparse.Namespace) -> int:
    from pubpipe.serve import serve

    if not args.langs or len(args.langs) != 1:
        print("error: serve shows one edition: give one --lang, e.g. --lang fr", file=sys.stderr)
        return 2
    lang = args.langs[0]
    publications = _publications(project, args.slugs)
    if publications is None:
        return 1
    having = [p.slug for p in publications if lang in {s.language.tag for s in p.editions}]
    if len(having) != 1:
        print(f"error: {'no publication has' if not having else 'several publications have'} an edition "
              f"'{lang}'{': ' + ', '.join(having) if having else ''}; choose one with --publication",
              file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be between 0 and 65535, not {args.port}", file=sys.stderr)
        return 2
    return serve(project, having[0], lang, args.port, lambda line: print(line, flush=True), print_diagnostics)


COMMAND_HANDLERS = {"build": cmd_build, "update": cmd_update, "status": cmd_status, "check": cmd_check,
                    "glossary": cmd_glossary, "pseudo": cmd_pseudo, "previews": cmd_previews, "verify": cmd_verify,
                    "serve": cmd_serve, "release": cmd_release, "merge": cmd_merge, "clean": cmd_clean,
                    "shards": cmd_shards}
