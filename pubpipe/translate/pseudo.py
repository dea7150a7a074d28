"""The en-XA pseudo-locale: every translatable string upper-cased and bracketed.

Built like any edition, it shows at a glance (and to a test) any visible text
that did not pass through a catalog: that text stays lower-case. Citation
keys, footnote labels, placeholders, URLs and TeX commands are left intact,
so the pseudo-translations pass every catalog check.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog

from pubpipe.source.files import write_atomic
from pubpipe.source.languages import parse_language
from pubpipe.source.publication import Publication
from pubpipe.source.tokens import CITATION, FOOTNOTE_REF, LINK_TARGET, PLACEHOLDER, PYTHON_FORMAT, TEX_COMMAND, URL
from pubpipe.translate.catalogs import build_template, catalog_path, serialize
from pubpipe.translate.ui import build_ui_template, ui_catalog_path

TAG = "en-XA"
INLINE_CODE = re.compile(r"`+[^`]+`+")
ATTRIBUTE = re.compile(r"\{[^{}]*\}")  # {#id .class key="value"}: kept, except an alt text, which is text
LINE_MARKER = re.compile(r"(?<![^\n])[ \t]*(?:>[ \t]?|[:~][ \t]+)")  # a quote's '>', a definition's ':'
ALT_VALUE = re.compile(r"((?<![\w-])(?:fig-)?alt=\")([^\"]*)(\")")
PROTECTED = re.compile("|".join(p.pattern for p in (CITATION, FOOTNOTE_REF, PLACEHOLDER, PYTHON_FORMAT, LINK_TARGET,
                                                     URL, TEX_COMMAND, INLINE_CODE, ATTRIBUTE, LINE_MARKER)))
BLOCK_PREFIX = re.compile(r"^(?:#{1,6}\s+|(?:[-*+]|\d{1,9}[.)])\s+|Table:[ \t]*|:[ \t]+|>[ \t]*)?")
FIGURE = re.compile(r"^!\[(.*)\](\([^)]*\))(\{[^{}]*\})?$", re.S)
TEX_TEXT = re.compile(r"(\\text\{)([^{}]*)(\})")


def pseudo_translate(text: str) -> str:
    """Upper-case what a translator would translate; bracket the segment so truncation shows too."""
    if text.lstrip().startswith("$$"):  # a formula: only the words inside \text{...} are translatable
        return TEX_TEXT.sub(lambda m: m.group(1) + m.group(2).upper() + m.group(3), text)
    figure = FIGURE.match(text)
    if figure:  # the brackets go inside the caption: the image stays alone in its paragraph (a figure)
        return f"![«{_upper(figure.group(1))}»]{figure.group(2)}{_upper(figure.group(3) or '')}"
    if text.lstrip().startswith(("|", "+")):  # a table: every row keeps its first and last separator
        return _upper(text)
    prefix = BLOCK_PREFIX.match(text).group(0)
    return f"{prefix}«{_upper(text[len(prefix):])}»"


def _upper(body: str) -> str:
    """Upper-case the text of `body`, keeping every protected token (an attribute's alt text is text)."""
    pieces, last = [], 0
    for match in PROTECTED.finditer(body):
        pieces.append(body[last:match.start()].upper())
        token = match.group(0)
        if ATTRIBUTE.fullmatch(token):
            token = ALT_VALUE.sub(lambda m: m.group(1) + m.group(2).upper() + m.group(3), token)
        pieces.append(token)
        last = match.end()
    pieces.append(body[last:].upper())
    return "".join(pieces)


def pseudo_catalog(template: Catalog) -> Catalog:
    catalog = Catalog(locale=None, domain=template.domain, project=template.project, version=template.version,
                      creation_date=template.creation_date, revision_date=template.creation_date, fuzzy=False,
                      language_team="pseudo-locale (generated; do not edit)",
                      last_translator="python build.py pseudo")
    for message in template:
        if message.id:
            catalog.add(message.id, pseudo_translate(str(message.id)), locations=message.locations,
                        auto_comments=message.auto_comments, flags=message.flags)
    return catalog


def write_pseudo_catalogs(root: Path, locales: Path, templates: Path, publications: list[Publication]) -> list[Path]:
    """Generate the en-XA catalogs (content of every publication, and ui) from the current sources."""
    language = parse_language(TAG)
    year = max((p.year for p in publications), default=2026)
    targets = [(ui_catalog_path(locales, language), build_ui_template(templates, root, year))]
    targets += [(catalog_path(locales, p, language), build_template(p, root)) for p in publications]
    written = []
    for path, template in targets:
        text = serialize(pseudo_catalog(template))
        language_line = f'"Language: {language.catalog_dir}\\n"\n'  # Babel writes none for a locale it lacks
        text = text.replace('"MIME-Version: 1.0\\n"', language_line + '"MIME-Version: 1.0\\n"', 1)
        write_atomic(path, text, root)
        written.append(path)
    return written
