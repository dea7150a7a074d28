"""HTML edition pages and the release index, from Jinja2 templates with autoescaping.

The article body is pandoc's HTML of the sanitized AST (the only markup
marked safe); every other value, translated or not, is escaped by Jinja.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
from babel.support import NullTranslations
from markupsafe import Markup, escape

from pubpipe.render.figures import header_scope
from pubpipe.render.fonts import css_rules
from pubpipe.render.formulas import label_mathml
from pubpipe.render.pandoc_ast import stringify, write
from pubpipe.translate.edition import ForeignText, escape_markdown, language_marker
from pubpipe.translate.ui import untranslated


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the process, so that an environment made for each edition (its
    own translations) does not compile the same template again. Jinja checks each entry against the
    template's source, so an edited template (the preview server) is compiled anew. One instance per kind of
    environment: autoescaping and delimiters change the compiled code."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


HTML_TEMPLATES, MARKDOWN_TEMPLATES = CompiledTemplates(), CompiledTemplates()


def marked(value: object) -> Markup:
    """Jinja filter for element content: text in another language than the page's (ForeignText: a ui or
    metadata string that fell back to the source language) in a span that says its language and direction
    (WCAG 3.1.2, language of parts: a screen reader speaks it in its own language, and the Nu checker's
    language detection skips it); anything else as text. In an attribute a ForeignText is escaped text."""
    if not getattr(value, "lang", ""):
        return escape(value)
    return Markup('<span lang="{}" dir="{}">{}</span>').format(value.lang, value.direction, value)


@dataclass(frozen=True)
class Bilingual:
    """A value of a ui sentence with a form in the edition's language and one in the source language (the name
    of a language): a sentence shown in the source language, its translation missing, takes the source form."""

    edition: str
    source: str


Fallback = tuple[str, str] | None  # (lang, dir) of the source language in another language's edition


def environment(templates: Path, translations: NullTranslations, fallback: Fallback = None) -> jinja2.Environment:
    """HTML templates; with `fallback`, a ui string the catalog lacks comes back as ForeignText (escaped by
    Jinja wherever it is written, put in a span by `marked`)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), autoescape=True,
                             undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"],
                             trim_blocks=True, lstrip_blocks=True, bytecode_cache=HTML_TEMPLATES)
    env.filters["marked"] = marked
    install_escaped_translations(env, translations, escape,
                                 (lambda text: ForeignText.of(text.unescape(), *fallback)) if fallback else None)
    return env


def markdown_environment(templates: Path, translations: NullTranslations,
                         fallback: Fallback = None) -> jinja2.Environment:
    """For templates that write Markdown (the notices): translations are Markdown-escaped text, and one the
    catalog lacks (with `fallback`) opens a span in the source language that runs to the end of its block."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), autoescape=False,
                             undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"],
                             trim_blocks=True, lstrip_blocks=True, bytecode_cache=MARKDOWN_TEMPLATES)
    install_escaped_translations(env, translations, escape_markdown,
                                 (lambda text: language_marker(*fallback) + text) if fallback else None)
    return env


def install_escaped_translations(env: jinja2.Environment, translations: NullTranslations,
                                 escape: Callable[[str], str] = escape,
                                 mark: Callable[[str], str] | None = None) -> None:
    """gettext for templates that treats every translation as text, plural forms included.

    Jinja's i18n extension marks translations as safe HTML when autoescaping is on, so a `ui.po`
    entry could carry markup or an attribute break-out into every page. Escaping here makes a translation
    text; markup belongs in the templates. These are Jinja's "newstyle" callables (the message is always a
    format string, its variables escaped with it), written out so that `mark` can flag a message the
    catalog lacks (shown in the source language) after the formatting.
    """
    def done(text: str, variables: dict, missing: bool):
        missing = missing and mark is not None  # without `mark`, the source edition: its own language
        values = {key: (value.source if missing else value.edition) if isinstance(value, Bilingual) else value
                  for key, value in variables.items()}
        text = escape(text) % values
        return mark(text) if missing else text

    def gettext(message: str, **variables):
        return done(translations.gettext(message), variables, untranslated(translations, message))

    def ngettext(singular: str, plural: str, n: int, **variables):
        variables.setdefault("num", n)
        return done(translations.ngettext(singular, plural, n), variables, untranslated(translations, singular))

    def pgettext(context: str, message: str, **variables):
        return done(translations.pgettext(context, message), variables,
                    untranslated(translations, message, context))

    def npgettext(context: str, singular: str, plural: str, n: int, **variables):
        variables.setdefault("num", n)
        return done(translations.npgettext(context, singular, plural, n), variables,
                    untranslated(translations, singular, context))

    env.newstyle_gettext = True  # what `{% trans %}` blocks call these with: keyword variables
    env.globals.update(gettext=gettext, _=gettext, ngettext=ngettext, pgettext=pgettext, npgettext=npgettext)


def table_of_contents(ast: dict) -> list[dict[str, str]]:
    """The top-level headings; one whose text is all in a span with a language (a fallback) keeps it."""
    entries = []
    for block in ast["blocks"]:
        if block.get("t") == "Header" and block["c"][0] == 1:
            inlines = block["c"][2]
            keys = dict(inlines[0]["c"][0][2]) if len(inlines) == 1 and inlines[0].get("t") == "Span" else {}
            text = stringify(inlines)
            if keys.get("lang"):
                text = ForeignText.of(text, keys["lang"], keys.get("dir", "auto"))
            entries.append({"id": block["c"][1][0], "text": text})
    return entries


def body_html(ast: dict, direction: str) -> Markup:
    html = write(ast, "html5", ["--mathml", "--wrap=none", "--shift-heading-level-by=1"])
    # pandoc output of a sanitized AST: no raw blocks, no unsafe links
    return Markup(header_scope(label_mathml(math_direction(html, direction))))


def math_direction(markup: str, direction: str) -> str:
    """MathML is laid out left-to-right unless told otherwise, whatever the page's direction; a formula
    in words of a right-to-left language reads from the right (MathML Core `dir`)."""
    return markup.replace("<math ", f'<math dir="{direction}" ') if direction == "rtl" else markup


def stylesheet(templates: Path, tags: tuple[str, ...] = ()) -> Markup:
    """Our own CSS file and the faces per language from the font table, inlined so a page works offline;
    trusted, so not HTML-escaped."""
    return Markup((templates / "style.css").read_text(encoding="utf-8") + css_rules(tags))


def render_page(env: jinja2.Environment, template: str, **context) -> str:
    return env.get_template(template).render(**context)
