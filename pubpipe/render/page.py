"""The page around an edition: title block values, notices, and the HTML page with its downloads.

Values computed once here serve the HTML page and the PDF title block alike.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from babel.dates import format_date, format_skeleton
from babel.support import NullTranslations
from babel.units import format_unit
from markupsafe import Markup

from pubpipe.render import figures, pandoc_ast
from pubpipe.render.artifacts import CITATION_FORMATS, MIME, artifact_name
from pubpipe.render.html import (
    Bilingual,
    body_html,
    environment,
    markdown_environment,
    render_page,
    stylesheet,
    table_of_contents,
)
from pubpipe.render.record import html_meta, json_ld, write_citation_files
from pubpipe.source.languages import parse_language
from pubpipe.source.project import Project
from pubpipe.source.record import Record
from pubpipe.translate.edition import Edition, ForeignText, escape_markdown
from pubpipe.translate.ui import load_ui


def notice_markdown(templates: Path, edition: Edition, ui) -> str:
    """The notices as Markdown; a ui translation is spliced in as text (Markdown-escaped), never as markup.
    What falls back is either not translated yet (untranslated, or not in the catalog: a new edition) or not up
    to date (fuzzy, or refused by a check); the notice names the source language, not "English"."""
    env = markdown_environment(templates, ui, edition.fallback)
    states = {edition.translations.state(segment.text) for segment in edition.fallbacks} \
        if edition.translations.catalog is not None else {"missing"}
    source = edition.publication.source_language
    language = Bilingual(escape_markdown(language_name(source, edition.language.locale)),
                         escape_markdown(language_name(source, parse_language(source).locale)))
    return env.get_template("notices.md.j2").render(
        draft=edition.spec.status == "draft", fallbacks=bool(edition.fallbacks),
        untranslated=bool(edition.fallbacks) and bool(states & {"missing", "untranslated"}),
        language=language).strip()


PAGE = "page.html.j2"


def compile_templates(templates: Path) -> None:
    """Compiled here, once, before the workers fork: they inherit the compiled code (the process's
    CompiledTemplates), where each would compile it again (16 ms)."""
    environment(templates, NullTranslations()).get_template(PAGE)


def guessed_parse(project: Project, edition: Edition) -> tuple[Path, str]:
    """The citation style and the notices of an edition's parse, its ui catalog read without checks: what a
    parse started before the checks reads (pipeline.Ahead, release/head_start.py)."""
    publication = edition.publication
    ui, _problems = load_ui(project.locales, edition.language, publication.source_language)
    return project.style(publication.citation_style), notice_markdown(project.templates, edition, ui)


def language_name(tag: str, locale) -> str:
    """The name of a language in a locale, as CLDR writes it there ("anglais", "英语", "Kiingereza")."""
    return locale.languages.get(parse_language(tag).locale.language) or tag


def edition_ast(project: Project, edition: Edition, ui) -> dict:
    """The one pandoc parse of an edition (notices, body, back matter), with citeproc."""
    return pandoc_ast.parse(edition, project.style(edition.publication.citation_style),
                            notice_markdown(project.templates, edition, ui))


def page_context(edition: Edition, ast: dict) -> dict:
    pub = edition.publication
    def in_its_language(key: str, text: str) -> str:  # a string that fell back says so where it is written
        return ForeignText.of(text, *edition.fallback) if edition.fell_back(key) else text

    plain = {key: in_its_language(key, pandoc_ast.meta_string(ast, key)) for key in edition.strings}
    series_name = pub.name(pub.meta["series"], edition.tag) if pub.meta.get("series") else ""
    series = in_its_language("genre", f"{plain['genre']} · {series_name} {pub.year}" if series_name else plain["genre"])
    group = pub.name(pub.meta["corporate_author"], edition.tag)
    original = pub.name(pub.meta["corporate_author"], pub.source_language)
    # the date as the sentence around it writes it: the edition's form, or the source language's where that
    # sentence ("Published %(date)s") falls back to it (an English sentence around "1 مارس 2026" read backwards)
    published = Bilingual(publication_date(pub.meta["date"], edition.language),
                          publication_date(pub.meta["date"], parse_language(pub.source_language)))
    shared = {"series": series, "published": published,
              "original_group": original if original != group else ""}  # the title block, in HTML and PDF
    return {
        "plain": plain,
        **shared,
        "typst": {
            **shared,
            "title": plain["title"], "subtitle": plain["subtitle"], "byline": plain.get("byline", ""),
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


def render_html(templates: Path, edition: Edition, ast: dict, ui, folder: Path, context: dict,
                record: Record) -> str:
    pub = edition.publication
    env = environment(templates, ui, edition.fallback)
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
        env, PAGE, lang=edition.tag, dir=edition.language.direction, title=plain["title"],
        subtitle=plain["subtitle"], byline=plain.get("byline", ""), genre=plain["genre"], genre_kind=pub.genre_kind,
        series=context["series"], original_group=context["original_group"],
        published=context["published"],
        source_lang=pub.source_language, editions=others, downloads=downloads, cite_files=cite_files,
        toc=table_of_contents(ast),
        body=body_html(figures.for_html(ast, pub.root, folder), edition.language.direction),
        publisher=pub.name(pub.meta["publisher"], edition.tag), contact=pub.contact,
        licence=pub.meta.get("licence", {}).get("name", ""), licence_url=pub.meta.get("licence", {}).get("url", ""),
        identifier=record.identifier, css=stylesheet(templates),
        meta_tags=html_meta(record, pdf), json_ld=Markup(json_ld(record, downloads)),
    )


def write_html_edition(templates: Path, edition: Edition, ast: dict, ui, target: Path, context: dict,
                       record: Record) -> list[Path]:
    """The citation files first (the page links them, with their sizes), then the page; the files written."""
    cite_files = write_citation_files(edition, record, target.parent)
    target.write_text(render_html(templates, edition, ast, ui, target.parent, context, record), encoding="utf-8")
    return cite_files + [target]
