"""The release, as a short list of stages.

load publications -> read catalogs -> make editions -> check -> take what the
artifact cache has -> parse once per edition -> render each format -> verify
the artifacts (the last three in worker processes, one per core) -> cache what
passed -> write the manifest and index -> move the staging folder into dist/.
Nothing is written to dist/ unless every stage before it succeeded.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache, partial
from pathlib import Path

from pubpipe.diagnostics import Diagnostic, PipelineError, error, raise_if_errors, warning
from pubpipe.release import graph, head_start, publish
from pubpipe.release.cache import Store, code_digest, digest_json, tools_digest
from pubpipe.release.keys import artifact_key, check_key
from pubpipe.release.manifest import EditionResult, artifact_entry, merge_manifest, read_manifest
from pubpipe.release.provenance import font_file_paths, release_facts, remember_font_hashes
from pubpipe.render import pandoc_ast
from pubpipe.render.artifacts import CITATION_FORMATS, FORMATS, artifact_name
from pubpipe.render.fonts import check_families, font_problems, missing_families, stack_for, uncovered
from pubpipe.render.page import edition_ast, guessed_parse, page_context, write_html_edition
from pubpipe.source import provenance
from pubpipe.source.figures import check_figures
from pubpipe.source.formulas import check_formulas
from pubpipe.source.languages import PSEUDO, parse_language
from pubpipe.source.project import Project
from pubpipe.source.publication import EditionSpec, Publication, discover, load_publication
from pubpipe.source.schema import verdicts_remembered_in
from pubpipe.source.yamlfile import line_of
from pubpipe.translate.catalogs import Translations, catalog_path, read_catalog, segment_msgid
from pubpipe.translate.checks import ENTRY_CHECKS, Context, check_catalog
from pubpipe.translate.edition import Edition, make_edition
from pubpipe.translate.review import is_reviewed
from pubpipe.translate.ui import load_ui
from pubpipe.verify import citations, gate
from pubpipe.verify.citations import expectations_for
from pubpipe.verify.inputs import edition_inputs

# an entry error shows the source text instead, except with --strict; so does an unreviewed entry of an official
# edition (a preview still builds; a release refuses it)
DEMOTING_CHECKS = set(ENTRY_CHECKS) | {"review"}
Report = Callable[[str], None]
Progress = Callable[[dict], None]


@dataclass(frozen=True)
class Loaded:
    """Everything read and validated before anything is rendered."""

    publications: list[Publication]
    editions: list[tuple[Edition, object]]  # (edition, ui translations)
    problems: list[Diagnostic]


def load(project: Project, langs: list[str] | None = None, slugs: list[str] | None = None,
         catalogs: bool = True, ahead: Ahead | None = None) -> Loaded:
    """Stages 1-3: publications, catalogs (read and checked) and editions, with every problem collected.
    With `ahead` (a build), the parse of an edition whose inputs changed starts before its checks."""
    publications, problems = [], []
    with verdicts_remembered_in(Store(project.root), digest_json([code_digest(), tools_digest()])):
        for root in discover(project.content):
            if slugs and root.name not in slugs:
                continue
            publication, found = load_publication(root)  # absolute: diagnostics show it relative to the cwd
            problems += found
            if publication:
                problems += check_figures(publication) + check_formulas(publication)
                publications.append(publication)
    editions = []
    for publication in publications:
        for spec in editions_of(publication, langs):
            translations, ui, found = read_translations(project, publication, spec, ahead) if catalogs else \
                (Translations(None, None), None, [])
            problems += found
            guessed = ahead.guessed.pop((publication.slug, spec.language.tag), None) if ahead is not None else None
            edition = guessed if guessed is not None and guessed.translations == translations else \
                make_edition(publication, spec, translations)  # the guess, when no check rejected an entry
            if guessed is not None and edition is not guessed:
                ahead.drop(publication.slug, spec.language.tag)
            editions.append((edition, ui))
            if ahead is not None:
                ahead.prefetch.advance()  # the next guessed parse starts as one finishes
    return Loaded(publications, editions, problems)


def editions_of(publication: Publication, langs: list[str] | None) -> list[EditionSpec]:
    """The declared editions, filtered; a pseudo-locale is added when asked for by name."""
    specs = [spec for spec in publication.editions if not langs or spec.language.tag in langs]
    for tag in langs or []:
        if tag in PSEUDO and all(spec.language.tag != tag for spec in specs):
            specs.append(EditionSpec(parse_language(tag), "draft", 0.0))
    return specs


def read_translations(project: Project, publication: Publication, spec: EditionSpec, ahead: Ahead | None = None):
    """The edition's content and ui catalogs, checked; entries with errors are rejected (fall back)."""
    problems: list[Diagnostic] = []
    translations = Translations(None, None)
    check = remembered_check(project, publication, spec)
    path, catalog = None, None
    if spec.language.tag != publication.source_language:
        path = catalog_path(project.locales, publication, spec.language)
        catalog, found = read_catalog(path, spec.language, project.root)
        problems += found
    if ahead is not None and (catalog is not None or spec.language.tag == publication.source_language):
        ahead.guess(project, publication, spec, path, catalog)
    if spec.language.tag != publication.source_language:
        if catalog is None and not found:
            problems.append(error(path, 1, f"no catalog for {spec.language.tag}; run "
                                           "'python build.py update' to create it", "missing-catalog"))
        rejected: set[str] = set()
        if catalog is not None:
            found, rejected = check(path, catalog, check_context(publication, spec))
            problems += found
        translations = Translations(str(path), catalog, frozenset(rejected), spec.status == "official")
    ui, found = load_ui(project.locales, spec.language, publication.source_language,
                        check_context(publication, spec), check=check)
    return translations, ui, problems + found


@dataclass
class Ahead:
    """The build's prefetched parses (render/pandoc_ast.Prefetch), started for editions whose inputs differ
    from those the previous manifest recorded (all of them on a first build; the edited one after a catalog
    edit), guessing that no entry will be rejected."""

    prefetch: pandoc_ast.Prefetch
    previous: dict[tuple[str, str], dict]  # (slug, tag) -> inputs recorded by the previous build
    guessed: dict[tuple[str, str], Edition] = field(default_factory=dict)  # load() takes them if they hold
    keys: dict[tuple[str, str], str] = field(default_factory=dict)  # the parse key of each guess started

    def guess(self, project: Project, publication: Publication, spec: EditionSpec, path, catalog) -> None:
        translations = Translations.unchecked(path, catalog, spec.status == "official")
        edition = self.guessed[(publication.slug, spec.language.tag)] = make_edition(publication, spec, translations)
        if edition_inputs(project, edition) == self.previous.get((publication.slug, spec.language.tag)):
            return  # unchanged: its artifacts are most likely in the cache
        key = self.prefetch.start(edition, *guessed_parse(project, edition))  # its ui catalog unchecked: a guess
        self.keys[(publication.slug, spec.language.tag)] = key

    def drop(self, slug: str, tag: str) -> None:
        """A check rejected an entry: the parse of the guess is not needed (that edition is parsed again)."""
        key = self.keys.pop((slug, tag), None)
        if key is not None:
            self.prefetch.drop(key)


def remembered_check(project: Project, publication: Publication, spec: EditionSpec) -> Callable:
    """check_catalog, remembered by content (release/keys.check_key): an unchanged catalog of unchanged
    sources is not checked again; its diagnostics and rejected entries come from build/cache/checks/."""
    store = Store(project.root)

    def check(path: Path, catalog, context: Context) -> tuple[list[Diagnostic], set]:
        key = check_key(path, publication, spec, context.python_format)
        remembered = store.get_json("checks", key)
        if remembered is not None:
            return [Diagnostic(**d) for d in remembered["problems"]], \
                {tuple(r) if isinstance(r, list) else r for r in remembered["rejected"]}
        found, rejected = check_catalog(path, catalog, context)
        store.put_json("checks", key, {"problems": [asdict(d) for d in found],
                                       "rejected": sorted(rejected, key=str)})
        return found, rejected
    return check


def check_context(publication: Publication, spec: EditionSpec) -> Context:
    stack, families = stack_for(spec.language), check_families(spec.language)
    return Context(spec.language, spec.native_digits, publication.glossary, publication.name_rules,
                   uncovered=None if missing_families(stack) else lambda text: uncovered(text, families))


def check_editions(loaded: Loaded, formats: list[str], strict: bool) -> list[Diagnostic]:
    """Stage 4: problems that would spoil an artifact, found before rendering.

    Entry-level catalog errors only demote the entry to a fallback, unless the
    build is strict (a release), where any error refuses the edition.
    """
    problems = []
    for edition, _ui in loaded.editions:
        where = edition.catalog_path or edition.publication.metadata_path
        if "pdf" in formats:
            text = edition.body + "".join(edition.strings.values())
            stack = stack_for(edition.language, text)
            missing_fonts = font_problems(stack, where)
            problems += missing_fonts
            missing = uncovered(text, stack.body)
            if missing and not missing_fonts:
                problems.append(error(where, 1, f"no font of the {edition.tag} stack covers "
                                                f"{''.join(sorted(missing))!r}", "font-coverage"))
        if {"epub", "docx"} & set(formats) and not pandoc_ast.pandoc_has_terms(edition.tag):
            publication = edition.publication
            problems.append(warning(publication.metadata_path, line_of(publication.meta_lines, "languages",
                                                                       edition.tag),
                                    f"pandoc has no terms of its own for {edition.tag} (translations/{edition.tag}"
                                    ".yaml): the titles it writes in the EPUB's navigation (Table of Contents, "
                                    "Title Page) stay in English", "pandoc-terms"))
        problems += release_problems(edition, strict)
    return problems


def release_problems(edition: Edition, strict: bool) -> list[Diagnostic]:
    """What keeps an edition from release, at the catalog lines concerned: `check` and `build` both ask this.

    An official edition's translated entries must all be marked `# reviewed` [review] (reported always;
    only a strict build refuses it). With `strict`, an edition below its `min_completeness` (official 1.0,
    draft 0 unless publication.yaml says otherwise) is refused at each entry that falls back to the source
    language: fuzzy, untranslated, an untranslated copy, rejected by a check, or missing [completeness].
    """
    translations = edition.translations
    if edition.is_source or translations is None or translations.catalog is None:
        return []
    catalog, path = translations.catalog, translations.path
    problems: list[Diagnostic] = []
    below = strict and edition.completeness < edition.spec.min_completeness
    seen: set[str] = set()
    for segment in edition.publication.segments:
        msgid = segment_msgid(segment.text)
        if msgid in seen:
            continue
        seen.add(msgid)
        message = catalog.get(msgid)
        state = translations.state(msgid)
        where = (path, message.lineno or 1) if message is not None else (segment.path, segment.line)
        if state == "translated" and edition.spec.status == "official" and not is_reviewed(message):
            problems.append(error(*where, f"{edition.tag} is an official edition, but this entry is not marked "
                                          "'# reviewed' (see TRANSLATING.md, How to review)", "review"))
        elif below and state != "translated":
            reason = {"missing": "not in the catalog (run 'python build.py update')", "fuzzy": "fuzzy",
                      "untranslated": "untranslated" + (" (a copy of the source)" if message is not None
                                                        and message.string else ""),
                      "rejected": "rejected by a check"}[state]
            problems.append(error(*where, f"this entry is {reason}; {edition.tag} is {edition.completeness:.0%} "
                                          f"translated, below its threshold of {edition.spec.min_completeness:.0%} "
                                          "(--strict)", "completeness"))
    return problems


def source_date_epoch(publications: list[Publication], project: Project | None = None) -> int:
    """SOURCE_DATE_EPOCH if set, else the last commit touching the publications (or their date): never the clock."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if value:  # ASCII digits only: str.isdigit() also accepts '²', which int() refuses; at most 9999-12-31
        if not (value.isascii() and value.isdigit()) or len(value) > 12 or int(value) > 253402300799:
            raise PipelineError([error("SOURCE_DATE_EPOCH", 1, "SOURCE_DATE_EPOCH must be a whole number of seconds "
                                       f"since 1970-01-01 UTC, up to the year 9999, not {value!r}", "environment")])
        return int(value)
    # [release helper] the default lives in source/provenance.py: last commit of content/<slug>/ and its catalogs
    return provenance.source_date_epoch(project or Project(Path.cwd()), publications)


@contextlib.contextmanager
def epoch_in_environment(epoch: int):
    """SOURCE_DATE_EPOCH for the renderers and the workers they fork, for this build only: a later build in
    the same process (serve, the tests) must work out its own default again, not inherit this one."""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


@contextlib.contextmanager
def parses_ahead(project: Project):
    """An Ahead for the build, its parse processes stopped and their files removed when it ends; None on one
    core (a parse ahead would only compete with the checks)."""
    jobs = graph.worker_count()
    if jobs < 2:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="pubpipe-ahead-") as folder:
        # as many parses at once as cores: the main process looks for a finished one only between editions,
        # and with one fewer a core would idle from a parse's end to that look; the checks and the parses then
        # share the cores, and the parses end before the workers start (measured: 2.78 -> 2.70 s cold)
        prefetch = pandoc_ast.Prefetch(Path(folder), jobs, adopt=head_start.claim)  # a first build's first parse
        # may have begun before the imports (release/head_start.py)
        try:  # a dist/ that cannot be read is the build's to report, later
            manifest = read_manifest(project.dist)
        except OSError:
            manifest = {}
        recorded = manifest.get("publications") if isinstance(manifest, dict) else None
        previous = {(p.get("slug"), e.get("lang")): e.get("inputs")
                    for p in (recorded if isinstance(recorded, list) else []) if isinstance(p, dict)
                    for e in (p.get("editions") if isinstance(p.get("editions"), list) else []) if isinstance(e, dict)}
        try:
            yield Ahead(prefetch, previous)
        finally:
            prefetch.close()


def build(project: Project, langs: list[str] | None = None, formats: list[str] | None = None,
          slugs: list[str] | None = None, strict: bool = False, report: Report = lambda _: None,
          notice: Report | None = None, progress: Progress | None = None, referees: bool = False) -> dict:
    """Build the selected editions and formats into dist/; return the manifest.

    One build at a time per checkout (publish.py): the lock is held from reading the previous dist/ to the
    swap, and `notice` (default: `report`) hears once if this build waits for another one. `progress` hears
    an event as each artifact starts and is done (built or taken from the cache); without it, `report`
    gets one line per artifact. With `referees` (the release command), every artifact must also pass the
    outside validators (verify/referees.py) before dist/ changes.
    """
    with parses_ahead(project) as ahead:
        return _build(project, langs, formats, slugs, strict, report, notice, progress, referees, ahead)


def _build(project: Project, langs, formats, slugs, strict, report, notice, progress, referees,
           ahead: Ahead | None) -> dict:
    formats = [f for f in FORMATS if f in (formats or FORMATS)]
    loaded = load(project, langs, slugs, ahead=ahead)
    from pubpipe.release.finish import finish  # the landing page's code (index, feeds): imported while the
    # parses started ahead run, not before they can start
    problems = loaded.problems + check_editions(loaded, formats, strict)
    blocking = problems if strict else [p for p in problems if p.check not in DEMOTING_CHECKS]
    raise_if_errors(blocking)
    warnings = [p for p in problems if p not in blocking or p.severity != "error"]
    epoch = source_date_epoch(loaded.publications, project)
    subset = bool(langs or slugs) or formats != list(FORMATS)
    progress = progress or report_lines(report)
    with epoch_in_environment(epoch), publish.staging_folder(project.root, project.dist, notice or report) as staging:
        if subset:  # a subset updates the release; a full build replaces it
            publish.copy_previous(project.dist, staging)
        previous = read_manifest(staging)
        store = Store(project.root)
        jobs = [plan_edition(project, store, edition, ui, formats, staging, epoch, previous)
                for edition, ui in loaded.editions]
        for job in jobs:
            report_translated(job.edition, report)
            for event in job.events:
                progress(event)
        todo = [job for job in jobs if job.todo]
        with tempfile.TemporaryDirectory(prefix="pubpipe-") as scratch:  # parse, render, verify: in parallel
            tasks, plan = build_tasks(project, todo, staging, Path(scratch), epoch, store)
            fonts = font_file_paths(sorted({edition.tag for edition, _ui in loaded.editions}))
            if todo and not remember_font_hashes(project.root, fonts, compute=False):
                # the provenance hashes 100 MB of fonts on a first build: in a worker, beside the parses
                tasks.append(graph.Task(partial(hash_fonts, project.root, fonts), rank=RANKS["provenance"]))
            facts_task = len(tasks)  # the tool versions and the source commit (subprocesses): in a worker too
            tasks.append(graph.Task(partial(provenance_facts, project), rank=RANKS["provenance"]))
            for name in {module for job in todo for f in job.todo for module in RENDERERS.get(f, ())}:
                module = importlib.import_module(name)  # once, here, before the workers fork
                if hasattr(module, "compile_templates"):  # so are its templates
                    module.compile_templates(project.templates)
            if ahead is not None:
                ahead.prefetch.finish()  # those not started are dropped; running ones go on beside the workers
            outcomes = graph.run(tasks, graph.worker_count() if width(todo) > 1 else 1, progress)
        results, failures = gather(project, jobs, plan, outcomes, staging)
        raise_if_errors(failures)
        manifest = merge_manifest(previous, loaded.publications, results, staging, project, epoch, outcomes[facts_task])
        # [release helper] deposits, covers, manifest.json, index.html, feeds and SHA256SUMS (release/finish.py)
        finish(project.templates, staging, project.dist, manifest, store)
        if referees:  # stage 8: EPUBCheck, Ace, axe, Nu, qpdf, PDF/UA structure, LibreOffice, over the staging
            from pubpipe.verify.referees import verify_artifacts

            report("verify: the outside referees over every artifact (about a minute)")
            found = verify_artifacts(staging, manifest)
            raise_if_errors(found)
            warnings += found  # a validator missing off CI is a warning naming what to install
        _swap_into_place(staging, project.dist)
    report(f"manifest: {project.dist / 'manifest.json'}")
    return manifest, warnings


def report_translated(edition: Edition, report: Report) -> None:
    if not edition.is_source:
        report(f"[{edition.publication.slug} {edition.tag}] {edition.segment_count - len(edition.fallbacks)} of "
               f"{edition.segment_count} segments translated; {len(edition.fallbacks)} fall back to "
               f"{edition.publication.source_language} (untranslated, fuzzy or rejected by a check)")


def report_lines(report: Report) -> Progress:
    """Progress as one line per finished artifact, for callers that pass only `report`."""
    def hear(event: dict) -> None:
        if event["kind"] == "done":
            report(f"[{event['publication']} {event['edition']}] {event['format']:<4} -> dist/{event['path']} "
                   f"({event['bytes'] / 1024:.0f} KB, {event['seconds']:.2f} s{', cached' * event['cached']})")
    return hear


# ---------------------------------------------------------------- stages 5-7, per edition

ORDER = ("pdf", "epub", "docx", "html")  # the page lists the other downloads with their sizes: it comes last
RENDERERS = {"pdf": ("pubpipe.render.pdf", "pubpipe.verify.pdf_fonts"), "epub": ("pubpipe.render.epub",),
             "docx": ("pubpipe.render.docx",), "html": ("pubpipe.render.page",)}  # what each format's task imports


@dataclass
class EditionJob:
    """One edition's artifacts: which the cache gave (already in the staging folder) and which to build."""

    edition: Edition
    ui: object
    inputs: dict[str, str]  # verify.inputs: path -> SHA-256
    keys: dict[str, str]  # format -> cache key (the page's is known once its downloads are)
    todo: list[str]
    events: list[dict]
    meta: dict  # from a cache entry: the suggested citation and the record
    previous_keys: dict[str, str]  # artifact path -> cache key, from the previous manifest (a partial build)


def artifact_event(kind: str, edition: Edition, fmt: str, path: str = "", size: int = 0, seconds: float = 0.0,
                   cached: bool = False, note: str = "") -> dict:
    return {"kind": kind, "publication": edition.publication.slug, "edition": edition.tag,
            "status": edition.spec.status, "format": fmt, "path": path, "bytes": size, "seconds": seconds,
            "cached": cached, "note": note, "worker": os.getpid()}


def from_cache(store: Store, key: str, edition: Edition, fmt: str, folder: Path, staging: Path) -> dict | None:
    """Copy a verified cache entry into the edition's folder; its metadata, or None on a miss."""
    started = time.perf_counter()
    found = store.get(key)
    if found is None:
        return None
    files, meta = found
    for name, data in files.items():
        (folder / name).write_bytes(data)
    target = folder / artifact_name(edition, fmt)
    meta["event"] = artifact_event("done", edition, fmt, str(target.relative_to(staging)), target.stat().st_size,
                                   time.perf_counter() - started, cached=True)
    return meta


def siblings_of(edition: Edition, folder: Path) -> dict[str, int]:
    """The downloads the page lists beside it, with their sizes: part of the page's key."""
    return {fmt: (folder / artifact_name(edition, fmt)).stat().st_size for fmt in ("pdf", "epub", "docx")
            if (folder / artifact_name(edition, fmt)).exists()}


def plan_edition(project: Project, store: Store, edition: Edition, ui, formats: list[str], staging: Path,
                 epoch: int, previous: dict) -> EditionJob:
    """Take what the cache has, in order; the rest is left to build (the page, once any download is)."""
    folder = staging / edition.publication.slug / edition.tag
    folder.mkdir(parents=True, exist_ok=True)
    inputs = edition_inputs(project, edition)
    job = EditionJob(edition, ui, inputs, {}, [], [], {}, {
        a["path"]: a.get("inputs", "") for p in previous.get("publications", []) for e in p.get("editions", [])
        for a in e.get("artifacts", [])})
    for fmt in [f for f in ORDER if f in formats]:
        if fmt == "html" and job.todo:
            job.todo.append(fmt)
            continue
        siblings = siblings_of(edition, folder) if fmt == "html" else None
        job.keys[fmt] = artifact_key(edition.publication.slug, edition.tag, fmt, epoch, inputs, siblings)
        dropped = len(store.dropped)
        meta = from_cache(store, job.keys[fmt], edition, fmt, folder, staging)
        if meta is None:
            job.todo.append(fmt)
            if len(store.dropped) > dropped:
                job.events.append(artifact_event("note", edition, fmt, note="corrupt cache entry: rebuilt"))
        else:
            job.meta = meta
            job.events.append(meta["event"])
    return job


@dataclass(frozen=True)
class Parsed:
    """An edition's one parse and what follows from it: each format task receives it."""

    ast: dict
    expected: citations.Expected
    context: dict
    meta: dict  # stored with each cache entry: the suggested citation and the record
    spill: str = ""  # a file in the build's scratch folder: how it reaches other processes (see __reduce__)

    def __reduce__(self):
        """Pickled (a worker's result, a task's input): the AST and what goes with it (150 kB) are written once,
        to `spill`, and each process reads them at most once (SpilledParse); the main process, which only
        passes them on to the format tasks, reads nothing but `meta`. Through the pipes it was one pickling in
        the worker and, per format task, one in the main process and one reading."""
        if not self.spill:
            return Parsed, (self.ast, self.expected, self.context, self.meta)
        path = Path(self.spill)
        if not path.exists():
            staged = path.with_name(f".{path.name}.{os.getpid()}")
            staged.write_bytes(pickle.dumps((self.ast, self.expected, self.context), pickle.HIGHEST_PROTOCOL))
            staged.replace(path)
        return SpilledParse, (self.spill, self.meta)


class SpilledParse:
    """A Parsed that another process wrote (Parsed.__reduce__), with the same fields: read from its file when
    first used."""

    def __init__(self, spill: str, meta: dict):
        self.spill, self.meta = spill, meta  # all it pickles: the main process passes it on as it is

    ast = property(lambda self: _read_spill(self.spill)[0])
    expected = property(lambda self: _read_spill(self.spill)[1])
    context = property(lambda self: _read_spill(self.spill)[2])


@lru_cache(maxsize=4)  # the tasks come edition by edition: a worker holds a few ASTs, not the series
def _read_spill(spill: str) -> tuple:
    """Once per process and edition: the tasks never change what they receive (a serial build hands every
    task the same object), so they can share it."""
    return pickle.loads(Path(spill).read_bytes())


def build_tasks(project: Project, todo: list[EditionJob], staging: Path, scratch: Path, epoch: int,
                store: Store) -> tuple[list[graph.Task], dict[int, list[int]]]:
    """Per edition: its parse, then each format to build, the page last (it lists the other downloads with
    their sizes); ranked (RANKS) so that workers take every PDF before the shorter work. The PDF is written by
    one task and verified by another, which runs beside the page. With PUBPIPE_GRAPH=edition, one task per
    edition instead."""
    tasks: list[graph.Task] = []
    plan: dict[int, list[int]] = {}
    per_edition = os.environ.get("PUBPIPE_GRAPH") == "edition"
    for job in todo:
        parse = len(tasks)
        tasks.append(graph.Task(partial(parse_edition, project, job, staging, scratch), rank=RANKS["parse"]))
        plan[id(job)] = [parse]
        written = []  # the tasks after which each download exists: the page waits for these
        for fmt in ([] if per_edition else [f for f in job.todo if f != "html"]):
            if fmt in VERIFIED_BESIDE_THE_PAGE:
                render = len(tasks)
                tasks.append(graph.Task(partial(render_artifact, project, job, fmt, staging, scratch, epoch, store),
                                        (parse,), RANKS[fmt]))
                plan[id(job)].append(len(tasks))
                tasks.append(graph.Task(partial(verify_artifact, project, job, staging, store), (parse, render),
                                        RANKS["verify"]))
                written.append(render)
                continue
            plan[id(job)].append(len(tasks))
            written.append(len(tasks))
            tasks.append(graph.Task(partial(build_format, project, job, fmt, staging, scratch, epoch, store),
                                    (parse,), rank(fmt, job.edition)))
        rest = job.todo if per_edition else [f for f in job.todo if f == "html"]
        if rest:
            tasks.append(graph.Task(partial(build_formats, project, job, rest, staging, scratch, epoch, store),
                                    (parse, *written), RANKS["pdf" if per_edition else "html"]))
            plan[id(job)].append(len(tasks) - 1)
    return tasks, plan


# Which ready task a free worker takes first (graph.Task.rank): the longest kinds first, so that the short ones
# fill the end. Here: a PDF 0.3-0.6 s, its read-back 0.1-0.3 s, a right-to-left DOCX 0.2 s (pandoc writes it
# twice: docx._paragraph_styles), an EPUB or another DOCX about 0.1 s, the provenance (font hashes, tool
# versions) 0.05-0.08 s, a page 0.07 s; an edition's parse comes before all of its formats.
RANKS = {"parse": 0, "pdf": 1, "verify": 2, "docx-rtl": 3, "epub": 4, "docx": 4, "provenance": 5, "html": 6}


def rank(fmt: str, edition: Edition) -> int:
    return RANKS["docx-rtl" if fmt == "docx" and edition.language.direction == "rtl" else fmt]


VERIFIED_BESIDE_THE_PAGE = {"pdf"}  # its read-back (fonts, text, metadata) takes a quarter of its time


def width(todo: list[EditionJob]) -> int:
    """How many tasks could run at once: an edition's formats run side by side, its page after them."""
    return sum(max(1, len([f for f in job.todo if f != "html"])) for job in todo)


def hash_fonts(root: Path, paths: list[str], emit) -> None:
    remember_font_hashes(root, paths)  # into build/cache/fonts/, where the manifest's provenance finds them


def provenance_facts(project: Project, emit) -> dict:
    return release_facts(project)


def parse_edition(project: Project, job: EditionJob, staging: Path, scratch: Path, emit) -> Parsed | graph.Failed:
    """Stage 5: the edition's one pandoc parse, and what its artifacts must carry."""
    edition = job.edition
    try:
        ast = edition_ast(project, edition, job.ui)
        expected = expectations_for(edition, ast)
        return Parsed(ast, expected, page_context(edition, ast),
                      {"citation": expected.citation, "record": asdict(expected.record)},
                      str(scratch / f"parsed-{edition.publication.slug}-{edition.tag}.pickle"))
    except Exception as exc:  # any failure of one edition is reported, with the rest
        return graph.Failed(publish.edition_failure(exc, edition, project.dist, staging, artifact_name))


def build_formats(project: Project, job: EditionJob, formats: list[str], staging: Path, scratch: Path, epoch: int,
                  store: Store, emit, parsed: Parsed, *_before) -> list[tuple] | graph.Failed:
    """Formats in one task, in order (the page last): [(format, cache key, problems)]."""
    done = []
    for fmt in formats:
        result = build_format(project, job, fmt, staging, scratch, epoch, store, emit, parsed)
        if isinstance(result, graph.Failed):
            return result
        job.keys[fmt] = result[1]
        done.append(result)
    return done


def build_format(project: Project, job: EditionJob, fmt: str, staging: Path, scratch: Path, epoch: int,
                 store: Store, emit, parsed: Parsed, *_before) -> tuple[str, str, list[Diagnostic]] | graph.Failed:
    """Stages 6-7 for one artifact: render, verify, and cache it if it passed; (format, cache key, problems)."""
    rendered = render_artifact(project, job, fmt, staging, scratch, epoch, store, emit, parsed)
    if not isinstance(rendered, Rendered):
        return rendered  # failed, or the page taken from the cache
    return verify_artifact(project, job, staging, store, emit, parsed, rendered)


@dataclass(frozen=True)
class Rendered:
    """An artifact written but not yet verified (the PDF's verification runs beside the page that lists it)."""

    fmt: str
    key: str
    written: tuple[str, ...]
    started: float  # time.perf_counter() (CLOCK_MONOTONIC: the same clock in every worker)


def render_artifact(project: Project, job: EditionJob, fmt: str, staging: Path, scratch: Path, epoch: int,
                    store: Store, emit, parsed: Parsed, *_before) -> Rendered | tuple | graph.Failed:
    """Stage 6 for one artifact: the page first looks in the cache, its key known once its downloads exist."""
    edition = job.edition
    folder = staging / edition.publication.slug / edition.tag
    target = folder / artifact_name(edition, fmt)
    started = time.perf_counter()
    emit(artifact_event("start", edition, fmt, str(target.relative_to(staging))))
    key = job.keys.get(fmt)
    try:
        if fmt == "html":  # its key is known now that its downloads are there
            key = artifact_key(edition.publication.slug, edition.tag, fmt, epoch, job.inputs,
                               siblings_of(edition, folder))
            hit = from_cache(store, key, edition, fmt, folder, staging)
            if hit is not None:
                emit(hit["event"])
                return fmt, key, []
        written = render_format(fmt, project, edition, job.ui, parsed.ast, parsed.context, parsed.expected, target,
                                scratch, epoch)
    except Exception as exc:  # reported with its format; the other editions go on
        return format_failure(project, edition, fmt, staging, exc)
    return Rendered(fmt, key, tuple(str(path) for path in written), started)


def verify_artifact(project: Project, job: EditionJob, staging: Path, store: Store, emit, parsed: Parsed,
                    rendered: Rendered, *_before) -> tuple[str, str, list[Diagnostic]] | graph.Failed:
    """Stage 7 for one artifact: verify what was written, and cache it if it passed."""
    edition, fmt = job.edition, rendered.fmt
    written = [Path(path) for path in rendered.written]
    try:
        problems = verify_written(fmt, edition, written, staging, parsed.expected)
    except Exception as exc:  # reported with its format; the other editions go on
        return format_failure(project, edition, fmt, staging, exc)
    if not problems:  # only a verified artifact is cached
        store.put(rendered.key, {path.name: path.read_bytes() for path in written}, parsed.meta)
        if fmt == "pdf" and edition.tag == edition.publication.source_language:  # finish.cover_pdf's first
            prepare_cover(written[0], store)  # choice; for another edition's PDF, finish renders the cover
    made = next(path for path in written if path.name == artifact_name(edition, fmt))  # the page: after its .bib
    emit(artifact_event("done", edition, fmt, str(made.relative_to(staging)), made.stat().st_size,
                        time.perf_counter() - rendered.started))
    return fmt, rendered.key, problems


def prepare_cover(pdf: Path, store: Store) -> None:
    """The publication's cover (page 1 of the source edition's PDF) rendered here, in a worker beside the
    other artifacts, into the cache where finish() takes it instead of rendering it on one core at the end
    (20 ms). A failure is finish()'s to report, with the build's other problems."""
    from pubpipe.release.finish import cover_png

    with contextlib.suppress(PipelineError):
        cover_png(pdf, pdf, store)


def format_failure(project: Project, edition: Edition, fmt: str, staging: Path, exc: Exception) -> graph.Failed:
    failure = publish.FormatFailure(fmt)
    failure.__cause__ = exc
    return graph.Failed(publish.edition_failure(failure, edition, project.dist, staging, artifact_name))


def gather(project: Project, jobs: list[EditionJob], plan: dict[int, list[int]], outcomes: list,
           staging: Path) -> tuple[dict[str, list[EditionResult]], list[Diagnostic]]:
    """The manifest entries of the editions, and every failure and problem of the tasks."""
    results: dict[str, list[EditionResult]] = {}
    failures: list[Diagnostic] = []
    for job in jobs:
        if job.todo:  # its parse, then its formats
            parsed, *made = [outcomes[index] for index in plan[id(job)]]
            failed = next((r for r in [parsed, *made] if isinstance(r, graph.Failed)), None)
            if failed:
                failures.append(failed.diagnostic)
                continue
            job.meta = parsed.meta
            for fmt, key, problems in [one for result in made for one in
                                       (result if isinstance(result, list) else [result])]:
                job.keys[fmt] = key
                failures += problems
        results.setdefault(job.edition.publication.slug, []).append(edition_result(project, job, staging,
                                                                                    job.meta))
    return results, failures


def edition_result(project: Project, job: EditionJob, staging: Path, meta: dict) -> EditionResult:
    edition = job.edition
    folder = staging / edition.publication.slug / edition.tag
    keys = {**job.keys, **{fmt: job.keys["html"] for fmt in CITATION_FORMATS if "html" in job.keys}}
    artifacts = []
    for fmt in FORMATS + CITATION_FORMATS:
        path = folder / artifact_name(edition, fmt)
        if path.exists():
            key = keys.get(fmt) or job.previous_keys.get(str(path.relative_to(staging)), "")
            artifacts.append(artifact_entry(staging, path, fmt, key))
    return EditionResult(edition.tag, edition.language.native_name, edition.language.direction, edition.spec.status,
                         edition.completeness, len(edition.fallbacks), meta["citation"], artifacts, job.inputs,
                         meta["record"])  # [release helper] the record


def verify_written(fmt: str, edition: Edition, written: list[Path], staging: Path,
                   expected: citations.Expected) -> list[Diagnostic]:
    """Stage 7: the fonts of a PDF, and the citation gate on every file written."""
    problems = []
    if fmt == "pdf":
        from pubpipe.verify.pdf_fonts import pdf_font_problems

        problems += [error(written[0].relative_to(staging), 1, sentence, "font-coverage")
                     for sentence in pdf_font_problems(written[0], stack_for(edition.language))]
    for path in written:
        problems += citations.verify_artifact(path, f"dist/{path.relative_to(staging)}", expected,
                                              edition.language.pdf_lang)
    return problems


def render_format(fmt: str, project: Project, edition: Edition, ui, ast: dict, context: dict,
                  expected: citations.Expected, target: Path, scratch: Path, epoch: int) -> list[Path]:
    """Write one format of an edition; return the files written (the HTML brings the citation files).

    Each renderer is imported when its format is asked for: an HTML preview never loads Typst's template
    code, the EPUB font subsetter or the DOCX reference builder."""
    if fmt == "pdf":
        from pubpipe.render.pdf import compile_pdf, typst_source

        compile_pdf(typst_source(edition, ast, project.templates, context["typst"], ui), target, epoch,
                    edition.publication.root)
    elif fmt == "epub":
        from pubpipe.render.epub import render_epub

        render_epub(edition, ast, target, project.templates / "epub.css", ui=ui, epoch=epoch)
    elif fmt == "docx":
        from pubpipe.render.docx import reference_docx, render_docx

        reference = scratch / str(os.getpid()) / f"reference.{edition.language.pdf_lang}.docx"  # one per worker
        if not reference.exists():
            reference.parent.mkdir(exist_ok=True)
            reference_docx(reference, edition.language.pdf_lang)
        render_docx(edition, ast, target, reference, epoch=epoch)
    else:
        return write_html_edition(project.templates, edition, ast, ui, target, context, expected.record)
    return [target]


def _swap_into_place(staging: Path, dist: Path) -> None:
    """Replace dist/ by the finished staging folder (0755/0644), never leaving a half-written dist/."""
    publish.commit(staging, dist)


def run_checks(project: Project, langs: list[str] | None = None, artifacts: str = "existing",
               slugs: list[str] | None = None, strict: bool = False) -> list[Diagnostic]:
    """Every check; artifacts are read back when they exist ("existing"), always ("required") or never ("skip").

    With `strict`, also what a `--strict` build refuses (`release_problems`, the same function the build asks).

    With `slugs`, only those publications are checked (their sources, catalogs and artifacts); the locale
    folders and the shared ui template are judged against every publication of the project.
    """
    loaded = load(project, langs, slugs)
    everyone = load(project, None, None, catalogs=False).publications if slugs else loaded.publications
    problems = list(loaded.problems)
    for edition, _ui in loaded.editions:
        problems += release_problems(edition, strict)
    problems += gate.check_locale_folders(project, everyone)
    problems += gate.check_generated_files(project, loaded, everyone)
    problems += gate.check_source_names(project, loaded.publications)
    problems += citations.check_sources(project.root, loaded.publications)
    if artifacts != "skip" and project.dist.exists() and not project.dist.is_dir():
        problems.append(error(project.dist, 1, f"{project.dist.name} is not a folder, so no artifact can be read "
                                               "back; move it away and build again", "artifact"))
    elif artifacts != "skip":
        problems += citations.check_artifacts(project, project.dist, loaded.editions, required=artifacts == "required",
                                              parses=graph.worker_count())
    return sorted(set(problems), key=lambda d: (d.path, d.line, d.check, d.message))


__all__ = ["FORMATS", "Project", "build", "edition_ast", "expectations_for", "load", "render_format", "run_checks",
           "PipelineError"]
