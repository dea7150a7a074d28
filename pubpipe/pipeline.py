"""The release, as a short list of stages.

load publications -> read catalogs -> make editions -> check -> parse once per
edition -> render each format -> verify the artifacts -> write the manifest and
index -> move the staging folder into dist/. Nothing is written to dist/
unless every stage before it succeeded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from babel.dates import format_date, format_skeleton
from babel.numbers import format_percent
from babel.units import format_unit
from markupsafe import Markup

from pubpipe.diagnostics import Diagnostic, PipelineError, error, raise_if_errors
from pubpipe.release import publish
from pubpipe.render import pandoc_ast
from pubpipe.render.docx import reference_docx, render_docx
from pubpipe.render.epub import render_epub
from pubpipe.render.fonts import font_problems, missing_families, stack_for, uncovered
from pubpipe.render.html import body_html, environment, markdown_environment, render_page, stylesheet, table_of_contents
from pubpipe.render.pdf import compile_pdf, typst_source
from pubpipe.source.languages import PSEUDO, parse_language
from pubpipe.source.publication import EditionSpec, Publication, discover, load_publication
from pubpipe.translate.catalogs import Translations, catalog_path, read_catalog
from pubpipe.translate.checks import ENTRY_CHECKS, Context, check_catalog
from pubpipe.translate.edition import Edition, make_edition
from pubpipe.translate.ui import load_ui
from pubpipe.verify import citations
from pubpipe.verify.pdf_fonts import pdf_font_problems

FORMATS = ("html", "pdf", "epub", "docx")
CITATION_FORMATS = ("bib", "ris")  # written with the HTML edition, which links them
DEMOTING_CHECKS = set(ENTRY_CHECKS)  # an entry error shows the source text instead, except with --strict
Report = Callable[[str], None]


@dataclass(frozen=True)
class Project:
    root: Path

    content = property(lambda self: self.root / "content")
    templates = property(lambda self: self.root / "templates")
    locales = property(lambda self: self.root / "locales")
    dist = property(lambda self: self.root / "dist")
    csl = property(lambda self: self.root / "templates" / "iyrp-author-date.csl")


@dataclass(frozen=True)
class Artifact:
    format: str
    path: str  # relative to dist/
    sha256: str
    bytes: int


@dataclass(frozen=True)
class EditionResult:
    lang: str
    name: str
    dir: str
    status: str
    completeness: float
    fallbacks: int
    suggested_citation: str
    artifacts: list[Artifact] = field(default_factory=list)


@dataclass(frozen=True)
class Loaded:
    """Everything read and validated before anything is rendered."""

    publications: list[Publication]
    editions: list[tuple[Edition, object]]  # (edition, ui translations)
    problems: list[Diagnostic]


def artifact_name(edition: Edition, fmt: str) -> str:
    return "index.html" if fmt == "html" else f"{edition.publication.slug}.{edition.tag}.{fmt}"


def load(project: Project, langs: list[str] | None = None, slugs: list[str] | None = None,
         catalogs: bool = True) -> Loaded:
    """Stages 1-3: publications, catalogs (read and checked) and editions, with every problem collected."""
    publications, problems = [], []
    for root in discover(project.content):
        if slugs and root.name not in slugs:
            continue
        publication, found = load_publication(root)  # absolute: diagnostics show it relative to the cwd
        problems += found
        if publication:
            publications.append(publication)
    editions = []
    for publication in publications:
        for spec in editions_of(publication, langs):
            translations, ui, found = read_translations(project, publication, spec) if catalogs else \
                (Translations(None, None), None, [])
            problems += found
            editions.append((make_edition(publication, spec, translations), ui))
    return Loaded(publications, editions, problems)


def editions_of(publication: Publication, langs: list[str] | None) -> list[EditionSpec]:
    """The declared editions, filtered; a pseudo-locale is added when asked for by name."""
    specs = [spec for spec in publication.editions if not langs or spec.language.tag in langs]
    for tag in langs or []:
        if tag in PSEUDO and all(spec.language.tag != tag for spec in specs):
            specs.append(EditionSpec(parse_language(tag), "draft", 0.0))
    return specs


def read_translations(project: Project, publication: Publication, spec: EditionSpec):
    """The edition's content and ui catalogs, checked; entries with errors are rejected (fall back)."""
    problems: list[Diagnostic] = []
    translations = Translations(None, None)
    if spec.language.tag != publication.source_language:
        path = catalog_path(project.locales, publication, spec.language)
        catalog, found = read_catalog(path, spec.language, project.root)
        problems += found
        if catalog is None and not found:
            problems.append(error(path, 1, f"no catalog for {spec.language.tag}; run "
                                           "'python build.py update' to create it", "missing-catalog"))
        rejected: set[str] = set()
        if catalog is not None:
            found, rejected = check_catalog(path, catalog, check_context(publication, spec))
            problems += found
        translations = Translations(str(path), catalog, frozenset(rejected))
    ui, found = load_ui(project.locales, spec.language, publication.source_language,
                        check_context(publication, spec))
    return translations, ui, problems + found


def check_context(publication: Publication, spec: EditionSpec) -> Context:
    stack = stack_for(spec.language.script)
    return Context(spec.language, spec.native_digits, publication.glossary, publication.name_rules,
                   font_families=stack.body if not missing_families(stack) else ())


def check_editions(loaded: Loaded, formats: list[str], strict: bool) -> list[Diagnostic]:
    """Stage 4: problems that would spoil an artifact, found before rendering.

    Entry-level catalog errors only demote the entry to a fallback, unless the
    build is strict (a release), where any error refuses the edition.
    """
    problems = []
    for edition, _ui in loaded.editions:
        where = edition.catalog_path or edition.publication.metadata_path
        if "pdf" in formats:
            stack = stack_for(edition.language.script)
            missing_fonts = font_problems(stack, where)
            problems += missing_fonts
            text = edition.body + "".join(edition.strings.values())
            missing = uncovered(text, stack.body)
            if missing and not missing_fonts:
                problems.append(error(where, 1, f"no font of the {edition.tag} stack covers "
                                                f"{''.join(sorted(missing))!r}", "font-coverage"))
        if strict and edition.completeness < edition.spec.min_completeness:
            problems.append(error(where, 1, f"{edition.tag} is {edition.completeness:.0%} translated, below its "
                                            f"threshold of {edition.spec.min_completeness:.0%} (--strict)",
                                  "completeness"))
    return problems


def source_date_epoch(publications: list[Publication]) -> int:
    """SOURCE_DATE_EPOCH if set, else the first publication's date: never the clock."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if value:  # ASCII digits only: str.isdigit() also accepts '²', which int() refuses; at most 9999-12-31
        if not (value.isascii() and value.isdigit()) or len(value) > 12 or int(value) > 253402300799:
            raise PipelineError([error("SOURCE_DATE_EPOCH", 1, "SOURCE_DATE_EPOCH must be a whole number of seconds "
                                       f"since 1970-01-01 UTC, up to the year 9999, not {value!r}", "environment")])
        return int(value)
    year = publications[0].year if publications else 2026
    return int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp())


def build(project: Project, langs: list[str] | None = None, formats: list[str] | None = None,
          slugs: list[str] | None = None, strict: bool = False, report: Report = lambda _: None,
          notice: Report | None = None) -> dict:
    """Build the selected editions and formats into dist/; return the manifest.

    One build at a time per checkout (publish.py): the lock is held from reading the previous dist/ to the
    swap, and `notice` (default: `report`) hears once if this build waits for another one.
    """
    formats = [f for f in FORMATS if f in (formats or FORMATS)]
    loaded = load(project, langs, slugs)
    problems = loaded.problems + check_editions(loaded, formats, strict)
    blocking = problems if strict else [p for p in problems if p.check not in DEMOTING_CHECKS]
    raise_if_errors(blocking)
    warnings = [p for p in problems if p not in blocking or p.severity != "error"]
    epoch = source_date_epoch(loaded.publications)
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    partial = bool(langs or slugs) or formats != list(FORMATS)
    with publish.staging_folder(project.root, project.dist, notice or report) as staging:
        if partial:  # a subset updates the release; a full build replaces it
            publish.copy_previous(project.dist, staging)
        previous = _read_manifest(staging)
        results: dict[str, list[EditionResult]] = {}
        failures: list[Diagnostic] = []
        with tempfile.TemporaryDirectory(prefix="pubpipe-") as scratch:
            for edition, ui in loaded.editions:
                try:
                    result, found = build_edition(project, edition, ui, formats, staging, Path(scratch), epoch,
                                                  report)
                except Exception as exc:  # any failure of one edition is reported, with the rest
                    failures.append(publish.edition_failure(exc, edition, project.dist, staging, build_edition,
                                                            artifact_name))
                    continue
                results.setdefault(edition.publication.slug, []).append(result)
                failures += found
        raise_if_errors(failures)
        manifest = merge_manifest(previous, loaded.publications, results, staging)
        publish.write(staging, project.dist, "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2)
                      + "\n")
        publish.write(staging, project.dist, "index.html", render_index(project, manifest))
        _swap_into_place(staging, project.dist)
    report(f"manifest: {project.dist / 'manifest.json'}")
    return manifest, warnings


def edition_ast(project: Project, edition: Edition, ui) -> dict:
    """The one pandoc parse of an edition (notices, body, back matter), with citeproc."""
    return pandoc_ast.parse(edition, project.csl, notice_markdown(project, edition, ui))


def expectations_for(edition: Edition, ast: dict) -> citations.Expected:
    """What each artifact of the edition must carry, from the sources: the citation gate's reference."""
    plain = {key: pandoc_ast.meta_string(ast, key) for key in ("title", "genre", "citation_label")}
    keys = edition.publication.meta.get("key_references", [])
    return citations.Expected(pandoc_ast.suggested_citation(ast), plain["citation_label"],
                              {key: pandoc_ast.reference_entry(ast, key) for key in keys},
                              citations.edition_record(edition, plain["title"], plain["genre"]))


def build_edition(project: Project, edition: Edition, ui, formats: list[str], staging: Path, scratch: Path,
                  epoch: int, report: Report) -> tuple[EditionResult, list[Diagnostic]]:
    """Stages 5-7 for one edition: parse once, render each format, verify each artifact."""
    pub = edition.publication
    folder = staging / pub.slug / edition.tag
    folder.mkdir(parents=True, exist_ok=True)
    ast = edition_ast(project, edition, ui)
    expected = expectations_for(edition, ast)
    if not edition.is_source:
        report(f"[{pub.slug} {edition.tag}] {edition.segment_count - len(edition.fallbacks)} of "
               f"{edition.segment_count} segments translated; {len(edition.fallbacks)} fall back to "
               f"{pub.source_language} (untranslated, fuzzy or rejected by a check)")
    context = page_context(edition, ast)
    problems: list[Diagnostic] = []
    for fmt in [f for f in ("pdf", "epub", "docx", "html") if f in formats]:
        started = time.perf_counter()
        target = folder / artifact_name(edition, fmt)
        written = [target]
        if fmt == "pdf":
            compile_pdf(typst_source(edition, ast, project.templates, context["typst"], ui), target, epoch)
            for sentence in pdf_font_problems(target, stack_for(edition.language.script)):
                problems.append(error(target.relative_to(staging), 1, sentence, "font-coverage"))
        elif fmt == "epub":
            render_epub(edition, ast, target, project.templates / "epub.css")
        elif fmt == "docx":
            reference = scratch / f"reference.{edition.language.pdf_lang}.docx"
            if not reference.exists():
                reference_docx(reference, edition.language.pdf_lang)
            render_docx(edition, ast, target, reference)
        else:
            written = write_citation_files(edition, expected.record, folder) + [target]
            target.write_text(render_html(project, edition, ast, ui, folder, context, expected.record),
                              encoding="utf-8")
        for path in written:
            problems += citations.verify_artifact(path, f"dist/{path.relative_to(staging)}", expected,
                                                  edition.language.pdf_lang)
        size = target.stat().st_size
        report(f"[{pub.slug} {edition.tag}] {fmt:<4} -> dist/{target.relative_to(staging)} "
               f"({size / 1024:.0f} KB, {time.perf_counter() - started:.2f} s)")
    artifacts = [_artifact(staging, folder / artifact_name(edition, f), f) for f in FORMATS + CITATION_FORMATS
                 if (folder / artifact_name(edition, f)).exists()]
    return EditionResult(edition.tag, edition.language.native_name, edition.language.direction, edition.spec.status,
                         edition.completeness, len(edition.fallbacks), expected.citation, artifacts), problems


def write_citation_files(edition: Edition, record: citations.Record, folder: Path) -> list[Path]:
    """The "Cite this brief" downloads: BibLaTeX and RIS, from the record."""
    bib, ris = folder / artifact_name(edition, "bib"), folder / artifact_name(edition, "ris")
    key = f"{edition.publication.slug.replace('-', '')}{record.year}{edition.tag.replace('-', '')}"
    bib.write_text(citations.bib_text(record, key), encoding="utf-8")
    ris.write_bytes(citations.ris_text(record).encode("utf-8"))
    return [bib, ris]


def notice_markdown(project: Project, edition: Edition, ui) -> str:
    """The notices as Markdown; a ui translation is spliced in as text (Markdown-escaped), never as markup."""
    env = markdown_environment(project.templates, ui)
    return env.get_template("notices.md.j2").render(draft=edition.spec.status == "draft",
                                                    fallbacks=bool(edition.fallbacks)).strip()


def page_context(edition: Edition, ast: dict) -> dict:
    pub = edition.publication
    plain = {key: pandoc_ast.meta_string(ast, key) for key in edition.strings}
    series_name = pub.name(pub.meta["series"], edition.tag) if pub.meta.get("series") else ""
    series = f"{plain['genre']} · {series_name} {pub.year}" if series_name else plain["genre"]
    group = pub.name(pub.meta["corporate_author"], edition.tag)
    original = pub.name(pub.meta["corporate_author"], pub.source_language)
    shared = {"series": series, "published": publication_date(pub.meta["date"], edition.language),
              "original_group": original if original != group else ""}  # the title block, in HTML and PDF
    return {
        "plain": plain,
        **shared,
        "typst": {
            **shared,
            "title": plain["title"], "subtitle": plain["subtitle"], "byline": plain["byline"],
            "running_title": plain["title"], "authors": original,
            "keywords": ", ".join(filter(None, [plain["genre"], series_name])),
            "publisher": pub.name(pub.meta["publisher"], edition.tag), "contact": pub.contact,
        },
    }


def publication_date(date: dt.date | int, language) -> str:
    """The date as the edition's locale writes it (Babel/CLDR): 2026年, 15 janvier 2026, ..."""
    if isinstance(date, int):
        return format_skeleton("y", dt.date(date, 1, 1), locale=language.locale)
    return format_date(date, "long", locale=language.locale)


MIME = {"pdf": "application/pdf", "epub": "application/epub+zip", "bib": "application/x-bibtex",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "ris": "application/x-research-info-systems"}


def render_html(project: Project, edition: Edition, ast: dict, ui, folder: Path, context: dict,
                record: citations.Record) -> str:
    pub = edition.publication
    env = environment(project.templates, ui)
    locale = edition.language.locale
    downloads, cite_files = [], []
    for fmt in ("pdf", "epub", "docx", "bib", "ris"):
        path = folder / artifact_name(edition, fmt)
        if path.exists():
            size = format_unit(max(1, round(path.stat().st_size / 1024)), "digital-kilobyte", length="short",
                               locale=locale)
            entry = {"format": fmt, "label": fmt.upper(), "href": path.name, "size": size, "mime": MIME[fmt]}
            (cite_files if fmt in CITATION_FORMATS else downloads).append(entry)
    others = [{"lang": spec.language.tag, "dir": spec.language.direction, "name": spec.language.native_name,
               "href": f"../{spec.language.tag}/index.html", "current": spec.language.tag == edition.tag}
              for spec in pub.editions]
    plain = context["plain"]
    pdf = next((d["href"] for d in downloads if d["format"] == "pdf"), None)
    return render_page(
        env, "page.html.j2", lang=edition.tag, dir=edition.language.direction, title=plain["title"],
        subtitle=plain["subtitle"], byline=plain["byline"], genre=plain["genre"],
        series=context["series"], original_group=context["original_group"],
        published=context["published"],
        source_lang=pub.source_language, editions=others, downloads=downloads, cite_files=cite_files,
        toc=table_of_contents(ast), body=body_html(ast, edition.language.direction),
        publisher=pub.name(pub.meta["publisher"], edition.tag), contact=pub.contact,
        licence=pub.meta.get("licence", {}).get("name", ""), licence_url=pub.meta.get("licence", {}).get("url", ""),
        identifier=record.identifier, css=stylesheet(project.templates),
        meta_tags=citations.html_meta(record, pdf), json_ld=Markup(citations.json_ld(record, downloads)),
    )


def _artifact(dist: Path, path: Path, fmt: str) -> Artifact:
    data = path.read_bytes()
    return Artifact(fmt, str(path.relative_to(dist)), hashlib.sha256(data).hexdigest(), len(data))


def _read_manifest(dist: Path) -> dict:
    try:
        return json.loads((dist / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {"publications": []}


def merge_manifest(previous: dict, publications: list[Publication], results: dict[str, list[EditionResult]],
                   dist: Path) -> dict:
    """New results replace old ones; editions not rebuilt this time keep their entries if their files exist."""
    old = {p["slug"]: {e["lang"]: e for e in p.get("editions", [])} for p in previous.get("publications", [])}
    out = []
    for publication in publications:
        editions = old.get(publication.slug, {})
        for result in results.get(publication.slug, []):
            editions[result.lang] = asdict(result)
        order = [spec.language.tag for spec in publication.editions]
        kept = [editions[tag] for tag in order if tag in editions
                and all((dist / a["path"]).exists() for a in editions[tag]["artifacts"])]
        out.append({"slug": publication.slug, "title": publication.strings["title"].text,
                    "subtitle": publication.strings["subtitle"].text, "year": publication.year,
                    "source_language": publication.source_language, "editions": kept})
    return {"publications": out}


def render_index(project: Project, manifest: dict) -> str:
    from babel.support import NullTranslations

    env = environment(project.templates, NullTranslations())
    publications = []
    for pub in manifest["publications"]:
        editions = []
        for e in pub["editions"]:
            editions.append({
                "lang": e["lang"], "dir": e["dir"], "name": e["name"],
                "href": f"{pub['slug']}/{e['lang']}/index.html",
                "status_label": e["status"],
                "completeness_label": format_percent(e["completeness"], locale="en") + " translated",
                "downloads": [{"format": a["format"], "href": a["path"]} for a in e["artifacts"]
                              if a["format"] != "html"],
            })
        publications.append({**pub, "editions": editions})
    return render_page(env, "index.html.j2", publications=publications, css=stylesheet(project.templates))


def _swap_into_place(staging: Path, dist: Path) -> None:
    """Replace dist/ by the finished staging folder (0755/0644), never leaving a half-written dist/."""
    publish.commit(staging, dist)


__all__ = ["FORMATS", "Project", "build", "load", "PipelineError"]
