"""The `ui` domain: strings of the templates, extracted with Babel's Jinja2 support.

Templates are shared by every publication, so there is one `ui` catalog per
language, next to the content catalogs.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.support import NullTranslations, Translations

from pubpipe.diagnostics import Diagnostic
from pubpipe.source.languages import Language
from pubpipe.source.tokens import protected
from pubpipe.translate.catalogs import read_catalog

DOMAIN = "ui"
TYPST_DELIMITERS = {
    "variable_start_string": "<<", "variable_end_string": ">>", "block_start_string": "<%",
    "block_end_string": "%>", "comment_start_string": "<#", "comment_end_string": "#>",
}
METHODS = [("**.typ.j2", "jinja2.ext:babel_extract"), ("**.j2", "jinja2.ext:babel_extract")]
OPTIONS = {"**.typ.j2": {"extensions": "jinja2.ext.i18n", **TYPST_DELIMITERS},
           "**.j2": {"extensions": "jinja2.ext.i18n"}}


def ui_template_path(locales: Path) -> Path:
    return locales / f"{DOMAIN}.pot"


def ui_catalog_path(locales: Path, language: Language) -> Path:
    return locales / language.catalog_dir / "LC_MESSAGES" / f"{DOMAIN}.po"


def build_ui_template(templates: Path, root: Path, project_year: int) -> Catalog:
    import datetime as dt

    date = dt.datetime(project_year, 1, 1, tzinfo=dt.UTC)
    catalog = Catalog(project="ui", version=str(project_year), creation_date=date, revision_date=date,
                      fuzzy=False, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(templates), METHODS, OPTIONS, comment_tags=("Translators:",), strip_comment_tags=True
    ):
        full = templates / filename
        path = str(full.relative_to(root)) if full.is_relative_to(root) else filename
        notes = ["Interface text of the templates."] + list(comments)
        keep = protected(str(message))
        if keep:
            notes.append("Keep unchanged: " + " ".join(dict.fromkeys(keep)))
        existing = catalog.get(message, context)
        if existing is not None:
            existing.locations.append((path, lineno))
        else:
            catalog.add(message, None, [(path, lineno)], auto_comments=notes, context=context)
    return catalog


def load_ui(locales: Path, language: Language, source_language: str,
            context=None, check=None) -> tuple[NullTranslations, list[Diagnostic]]:
    """gettext translations for the templates; fuzzy entries and entries a check rejects are never used.
    `check` (default: checks.check_catalog) may remember its results (the build's check cache)."""
    if language.tag == source_language:
        return NullTranslations(), []
    path = ui_catalog_path(locales, language)
    catalog, problems = read_catalog(path, language, locales.parent)
    if catalog is None:
        return NullTranslations(), problems
    if context is not None:
        from dataclasses import replace

        from pubpipe.translate.checks import check_catalog

        found, rejected = (check or check_catalog)(path, catalog, replace(context, python_format=True))
        problems += found
        for msgid in rejected:
            catalog.delete(msgid)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN), problems


def untranslated(translations: NullTranslations, message: str, context: str | None = None) -> bool:
    """True when the ui catalog gives no translation of `message` to show: the page shows the source text, in
    the source language, and must say so (load_ui's catalog holds only translated entries that no check
    rejected, fuzzy ones left out). A translation equal to its source (a format name) is a translation."""
    catalog = getattr(translations, "_catalog", None)
    if catalog is None:  # NullTranslations: no catalog at all
        return True
    key = message if context is None else f"{context}\x04{message}"
    return key not in catalog and (key, 0) not in catalog
