"""Stage 2: apply one language's catalog to a publication, giving an Edition.

The same segmenter that extracted the template reassembles the translated
Markdown; untranslated or fuzzy segments fall back to the source text and are
counted, so completeness is measured, not assumed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel.lists import format_list

from pubpipe.source.languages import Language
from pubpipe.source.publication import EditionSpec, Publication
from pubpipe.source.segments import Segment, reassemble
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
    body = reassemble(publication.document, translate)
    return Edition(publication, spec, strings, body, tuple(fallbacks), len(publication.segments), translations)
