"""HTML edition pages and the release index, from Jinja2 templates with autoescaping.

The article body is pandoc's HTML of the sanitized AST (the only markup
marked safe); every other value, translated or not, is escaped by Jinja.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from babel.support import NullTranslations
from markupsafe import Markup, escape

from pubpipe.render.figures import header_scope
from pubpipe.render.fonts import css_rules
from pubpipe.render.formulas import label_mathml
from pubpipe.render.pandoc_ast import stringify, write
from pubpipe.translate.edition import escape_markdown


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


def environment(templates: Path, translations: NullTranslations) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), autoescape=True,
                             undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"],
                             trim_blocks=True, lstrip_blocks=True, bytecode_cache=HTML_TEMPLATES)
    install_escaped_translations(env, translations)
    return env


def markdown_environment(templates: Path, translations: NullTranslations) -> jinja2.Environment:
    """For templates that write Markdown (the notices): translations are Markdown-escaped text."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), autoescape=False,
                             undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"],
                             trim_blocks=True, lstrip_blocks=True, bytecode_cache=MARKDOWN_TEMPLATES)
    install_escaped_translations(env, translations, escape_markdown)
    return env


def install_escaped_translations(env: jinja2.Environment, translations: NullTranslations,
                                 escape=escape) -> None:
    """gettext for templates that treats every translation as text, plural forms included.

    Jinja's i18n extension marks translations as safe HTML when autoescaping is on, so a `ui.po`
    entry could carry markup or an attribute break-out into every page. Escaping here, before Jinja
    wraps the result in Markup, makes a translation text; markup belongs in the templates.
    """
    def gettext(message: str) -> Markup:
        return escape(translations.gettext(message))

    def ngettext(singular: str, plural: str, n: int) -> Markup:
        return escape(translations.ngettext(singular, plural, n))

    def pgettext(context: str, message: str) -> Markup:
        return escape(translations.pgettext(context, message))

    def npgettext(context: str, singular: str, plural: str, n: int) -> Markup:
        return escape(translations.npgettext(context, singular, plural, n))

    env.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext)


def table_of_contents(ast: dict) -> list[dict[str, str]]:
    return [{"id": block["c"][1][0], "text": stringify(block["c"][2])}
            for block in ast["blocks"] if block.get("t") == "Header" and block["c"][0] == 1]


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
