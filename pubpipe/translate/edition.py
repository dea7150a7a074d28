"""Stage 2: apply one language's catalog to a publication, giving an Edition.

The same segmenter that extracted the template reassembles the translated
Markdown; untranslated or fuzzy segments fall back to the source text and are
counted, so completeness is measured, not assumed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel.lists import format_list

from pubpipe.source.languages import Language, parse_language
from pubpipe.source.publication import EditionSpec, Publication
from pubpipe.source.segments import HEADING, LIST_MARKER, Segment, Slot, reassemble
from pubpipe.translate.catalogs import Translations

MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#$@|~^&:!+.=-])")
WIDE_PARENS_SCRIPTS = {"Hans", "Hant", "Jpan", "Kore"}


@dataclass(frozen=True)
class Edition:
    """One language of one publication, translated and ready to render."""

    publication: Publication
    spec: EditionSpec
    strings: dict[str, str]  # metadata strings, translated, placeholders filled (Markdown)
    body: str  # the translated body (Markdown)
    fallbacks: tuple[Segment, ...]  # segments shown in the source language
    segment_count: int
    translations: Translations

    @property
    def catalog_path(self) -> str | None:
        return self.translations.path

    @property
    def language(self) -> Language:
        return self.spec.language

    @property
    def tag(self) -> str:
        return self.spec.language.tag

    @property
    def completeness(self) -> float:
        if not self.segment_count:
            return 1.0
        return round(1 - len(self.fallbacks) / self.segment_count, 4)

    @property
    def is_source(self) -> bool:
        return self.tag == self.publication.source_language

    @property
    def fallback(self) -> tuple[str, str] | None:
        """(lang, dir) of what falls back here, the source language; None in the source edition itself."""
        if self.is_source:
            return None
        return self.publication.source_language, parse_language(self.publication.source_language).direction

    def fell_back(self, key: str) -> bool:
        """Whether the metadata string `key` shows in the source language (untranslated, fuzzy or rejected)."""
        segment = self.publication.strings.get(key)
        return not self.is_source and any(segment is fallen for fallen in self.fallbacks)

    def marked_string(self, key: str) -> str:
        """The metadata string as Markdown, opening a span in the source language if it fell back: the span
        runs to the end of the inline list it opens (a heading, a label in bold, a paragraph)."""
        text = self.strings[key]
        return language_marker(*self.fallback) + text if self.fell_back(key) and text.strip() else text


class ForeignText(str):
    """Plain text in a language other than the edition's (a metadata or ui string that fell back to the
    source language), with that language and its direction, for the formats to mark where they write it."""

    lang, direction = "", ""

    @classmethod
    def of(cls, text: str, lang: str, direction: str) -> ForeignText:
        made = cls(text)
        made.lang, made.direction = lang, direction
        return made


def escape_markdown(text: str) -> str:
    """Make a plain-text value (a name, a ui translation) safe to splice into Markdown: text, never markup."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split("\n")))


def author_names(publication: Publication, language: Language) -> str:
    """Authors in the seed's order, with native-script names, joined the CLDR way."""
    wide = language.script in WIDE_PARENS_SCRIPTS
    names = []
    for author in publication.meta.get("authors", []):
        name = f"{author['given']} {author['family']}"
        if author.get("native"):
            name += f"（{author['native']}）" if wide else f" ({author['native']})"
        names.append(name)
    return format_list(names, locale=language.locale) if names else ""


def placeholder_map(publication: Publication, language: Language) -> dict[str, str]:
    values = {key: publication.name(key, language.tag) for key in publication.meta["names"]}
    values["authors"] = author_names(publication, language)
    return {key: escape_markdown(value) for key, value in values.items()}


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\{([a-z_]+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


HEADING_PARTS = re.compile(r"(?P<marks>#{1,6}[ \t]+)(?P<text>.*?)(?P<attr>[ \t]+\{[^{}]*\})?[ \t]*$", re.S)
TRAILING_ATTRIBUTES = re.compile(r"[ \t]+\{[^{}]*\}[ \t]*$")
INLINE_KINDS = {"paragraph", "heading", "list-item", "footnote", "table-caption"}
# not a table (its caption is a segment apart) nor a definition (a div would split the list): see mark_language
BLOCK_KINDS = {"formula", "figure", "block-quote"}
DEFINITION_LINE = re.compile(r"(?P<marker>[:~][ \t]+)(?P<text>.*)")


# The class of an empty span that stands for a span around the rest of its inline list (mark_language writes
# it, render/pandoc_ast.spans_from_markers makes it one after the parse): pandoc reads `[text]{...}` in a time
# that grows faster than the text (a paragraph of 160 words, 10 ms instead of 1), `[]{...}text` in the time of
# the text.
OPENING = "pubpipe-span"


def language_marker(lang: str, direction: str) -> str:
    """An empty span of class OPENING: the span it stands for holds the rest of its list of inlines."""
    return f"[]{{.{OPENING} lang={lang} dir={direction}}}"


def mark_language(segment: Segment, indent: str, lang: str, direction: str, bracketed: bool = False) -> str:
    """The source text of a fallback segment, marked as being in the source language.

    Inline content is wrapped in a bracketed span (after a heading's `#`, a list marker or a table
    caption's prefix, before a heading's or a caption's attributes; a definition's term and each
    definition), so the block stays what it was; a formula, a figure or a quotation at the top
    level goes into a div. What cannot be wrapped
    without changing its structure is left as it was: a block nested in a list or a footnote, a
    paragraph of several blocks, and a table (a div between it and its caption, a segment of its
    own, would part them). A span is written as an empty one of class OPENING before its text
    (`[]{.pubpipe-span lang=en dir=ltr}text`), which render/pandoc_ast.spans_from_markers closes after the
    parse; `bracketed` writes the plain form pandoc reads slowly (`[text]{lang=en dir=ltr}`), the reference
    tests/test_fallback.py holds this one to.
    """
    text = segment.text
    attrs = f"{{lang={lang} dir={direction}}}"
    opening = language_marker(lang, direction)
    span = (lambda inner: f"[{inner}]{attrs}") if bracketed else (lambda inner: opening + inner)
    if not text.strip():
        return text
    if segment.kind in BLOCK_KINDS or (segment.kind == "paragraph" and text.lstrip().startswith("![")):
        return text if indent else f"\n::: {attrs}\n{text}\n:::\n"
    if segment.kind == "definition" and not indent:
        return _mark_definition(text, span)
    if segment.kind not in INLINE_KINDS or "\n\n" in text:
        return text
    prefix, inner, suffix = "", text, ""
    if segment.kind == "heading" or HEADING.match(text):
        parts = HEADING_PARTS.fullmatch(text)
        if not parts:
            return text
        prefix, inner, suffix = parts.group("marks"), parts.group("text"), parts.group("attr") or ""
    elif segment.kind == "list-item":
        marker = LIST_MARKER.match(text)
        if not marker:
            return text
        prefix, inner = marker.group(0), text[marker.end():]
        task = re.match(r"\[[ xX]\][ \t]+", inner)
        if task:
            prefix, inner = prefix + task.group(0), inner[task.end():]
    elif segment.kind == "table-caption":
        caption = re.match(r"(Table:|:)[ \t]*", text)
        if caption:
            prefix, inner = caption.group(0), text[caption.end():]
            attributes = TRAILING_ATTRIBUTES.search(inner)  # {#tbl-id} stays the table's
            if attributes:
                inner, suffix = inner[:attributes.start()], attributes.group(0)
    if not inner.strip() or inner.endswith("\\"):
        return text
    return f"{prefix}{span(inner)}{suffix}"


def _mark_definition(text: str, span) -> str:
    """`Term` and each one-line `:   definition` get a span; a definition with continuation lines stays as it was."""
    lines = text.split("\n")
    found = [DEFINITION_LINE.fullmatch(line) for line in lines[1:]]
    if not lines[0].strip() or not all(found) or not all(m.group("text").strip() for m in found):
        return text
    return "\n".join([span(lines[0])] + [f"{m.group('marker')}{span(m.group('text'))}" for m in found])


def make_edition(publication: Publication, spec: EditionSpec, translations: Translations) -> Edition:
    fallbacks: list[Segment] = []
    source = spec.language.tag == publication.source_language

    def translate(segment: Segment) -> str | None:
        if source:
            return None
        text = translations.lookup(segment.text)
        if text is None:
            fallbacks.append(segment)
        return text

    values = placeholder_map(publication, spec.language)
    strings = {key: fill_placeholders(translate(seg) or seg.text, values) for key, seg in publication.strings.items()}
    source_direction = parse_language(publication.source_language).direction
    indents = {id(p.segment): p.indent for p in publication.document.pieces if isinstance(p, Slot)}

    def translate_or_mark(segment: Segment) -> str | None:
        text = translate(segment)
        if text is not None or source:
            return text
        return mark_language(segment, indents.get(id(segment), ""), publication.source_language, source_direction)

    body = reassemble(publication.document, translate_or_mark)
    return Edition(publication, spec, strings, body, tuple(fallbacks), len(publication.segments), translations)
