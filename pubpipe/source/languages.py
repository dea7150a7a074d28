"""Language tags: validation at the edge, and everything derived from a tag.

A tag is BCP 47 (`zh-Hans`); catalogs live in Babel's directory form
(`zh_Hans`). Direction, native name and region come from Babel's CLDR data,
never from a hand-written table, so a new language needs no code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property

from babel import Locale, UnknownLocaleError
from babel.core import get_global

TAG = re.compile(r"^[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|\d{3}))?$")
FULL_WIDTH_PARENS = {"zh", "ja"}
PSEUDO = {"en-XA": "en"}  # pseudo-locales: (tag -> locale whose CLDR data they borrow)


@dataclass(frozen=True)
class Language:
    """What a tag means. Its direction and native name read the locale's own CLDR file (a few milliseconds
    each, the Chinese one 10), so they are read when first asked for: a build starts its first parse before
    it needs the other languages'."""

    tag: str  # BCP 47, as in dist/ paths and lang attributes
    locale: Locale
    region: str  # two-letter region for typesetting and PDF /Lang (zh-Hans -> CN)

    @cached_property
    def direction(self) -> str:
        """"ltr" or "rtl"."""
        return self.locale.text_direction

    @cached_property
    def native_name(self) -> str:
        """The language's name in itself, capitalised as at the start of a sentence ("Français", "中文（简体）")."""
        if self.is_pseudo:
            return f"Pseudo ({self.tag})"
        native = self.locale.get_display_name(self.locale) or self.tag
        native = native[:1].upper() + native[1:]
        if self.locale.language in FULL_WIDTH_PARENS and " (" in native:
            # CLDR's localeDisplayPattern for these is "{0}（{1}）"; Babel hard-codes " (...)"
            native = native.replace(" (", "（").replace(")", "）")
        return native

    @property
    def catalog_dir(self) -> str:
        """Directory under locales/: Babel's own spelling of the locale (zh-Hans -> zh_Hans, pt-BR -> pt_BR).

        It is also what a catalog written by Babel declares in its Language header, so the two always agree:
        a tag that Babel expands (zh-CN -> zh_Hans_CN, zh-TW -> zh_Hant_TW) gets the expanded folder.
        """
        return self.tag.replace("-", "_") if self.is_pseudo else str(self.locale)

    @property
    def declared_region(self) -> str | None:
        """The region a document may claim: the one the tag declares (pt-BR), or for Chinese the one its
        script implies (zh-Hans -> CN, zh-Hant -> TW), which Typst needs to set CJK punctuation right.
        None otherwise: `ar` does not become ar-EG, nor `fr` fr-FR (`region` keeps CLDR's likely one for
        choosing fonts)."""
        if self.locale.territory:
            return self.locale.territory
        return self.region if self.locale.language == "zh" else None

    @property
    def pdf_lang(self) -> str:
        """The document's language tag in the PDF (/Lang) and DOCX: language, and a region only if declared."""
        region = self.declared_region
        return f"{self.locale.language}-{region}" if region else self.locale.language

    @property
    def script(self) -> str:
        """ISO 15924 script the language is written in (Hans, Arab, Latn)."""
        return self.locale.script or _likely_subtags(self.locale)[1] or "Latn"

    @property
    def is_pseudo(self) -> bool:
        return self.tag in PSEUDO


def _likely_subtags(locale: Locale) -> tuple[str, str | None, str | None]:
    """(language, script, region) that CLDR considers likely for this locale."""
    likely = get_global("likely_subtags")
    for key in (str(locale), f"{locale.language}_{locale.script}" if locale.script else None, locale.language):
        if key and key in likely:
            parts = likely[key].split("_")
            return parts[0], parts[1] if len(parts) > 2 else None, parts[-1] if len(parts) > 1 else None
    return locale.language, locale.script, locale.territory


def parse_language(tag: str) -> Language:
    """Return the Language for a BCP 47 tag; raise ValueError with a readable reason."""
    if not isinstance(tag, str) or not TAG.match(tag):
        raise ValueError(f"'{tag}' is not a BCP 47 language tag of the form 'fr', 'zh-Hans' or 'pt-BR'")
    return _language(tag)


@cache
def _language(tag: str) -> Language:
    """Once per tag and process: a build asks about the same few tags 80 times (a failure, a ValueError, is
    not remembered: it is raised again)."""
    deprecated = get_global("language_aliases").get(tag.split("-")[0])
    if deprecated and tag not in PSEUDO:  # iw, in, ji, jw, mo, sh, tl: CLDR names their replacement
        modern = "-".join([deprecated.replace("_", "-")] + tag.split("-")[1:])
        raise ValueError(f"'{tag}' uses the deprecated language code '{tag.split('-')[0]}'; write '{modern}' "
                         "instead (BCP 47 and CLDR replaced it)")
    try:
        locale = Locale.parse(PSEUDO.get(tag, tag), sep="-")
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"'{tag}' is not a language known to CLDR") from None
    region = locale.territory or _likely_subtags(locale)[2] or "001"
    return Language(tag, locale, region)


def tag_from_catalog_dir(name: str) -> str:
    """`zh_Hans` -> `zh-Hans`; anything else than letters, digits and `_` is rejected."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"'{name}' is not a catalog directory name like 'fr' or 'zh_Hans'")
    return name.replace("_", "-")
