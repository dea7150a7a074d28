"""The record of one edition, rendered for reference managers and search engines.

BibLaTeX and RIS downloads, Highwire `citation_*` meta tags and schema.org
JSON-LD, all from the same record (source/record.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pubpipe.render.artifacts import artifact_name
from pubpipe.source.record import Record, publication_record
from pubpipe.translate.edition import Edition


def edition_record(edition: Edition, plain_title: str, plain_genre: str) -> Record:
    base = publication_record(edition.publication)
    return Record(title=plain_title, original_title=base["original_title"], author=base["author"],
                  year=base["year"], date=base["date"], publisher=base["publisher"],
                  identifier=f"{base['identifier']}:{edition.tag}", language=edition.tag, genre=plain_genre,
                  contact=base["contact"], licence=base["licence"], url=base["url"], persons=base["persons"])


# biblatex's langid takes a babel (or polyglossia) language name, never a BCP 47 tag: it picks the
# localization strings and the hyphenation of the entry
BABEL_NAMES = {
    "en": "english", "en-US": "american", "en-GB": "british", "fr": "french", "es": "spanish", "ar": "arabic",
    "de": "ngerman", "de-AT": "naustrian", "de-CH": "nswissgerman", "ja": "japanese", "he": "hebrew",
    "ru": "russian", "ko": "korean", "zh-Hans": "chinese-simplified", "zh-Hant": "chinese-traditional",
    "zh": "chinese", "el": "greek", "hi": "hindi", "am": "amharic", "fa": "persian", "th": "thai",
    "pt": "portuguese", "pt-BR": "brazilian", "it": "italian", "nl": "dutch", "sw": "swahili", "tr": "turkish",
    "ur": "urdu", "bn": "bengali", "ta": "tamil", "uk": "ukrainian", "pl": "polish", "vi": "vietnamese",
    "id": "indonesian", "mn": "mongolian", "hy": "armenian", "ka": "georgian", "bo": "tibetan",
}


def babel_name(tag: str) -> str:
    """The babel/polyglossia name of a language tag: the most specific entry of BABEL_NAMES, else the
    language's English name in lower case (CLDR), which is what babel calls most languages."""
    parts = tag.split("-")
    for length in range(len(parts), 0, -1):
        name = BABEL_NAMES.get("-".join(parts[:length]))
        if name:
            return name
    try:
        from babel import Locale

        return Locale.parse(parts[0]).english_name.lower().replace(" ", "")
    except (ValueError, LookupError):
        return "english"


def _bib_escape(text: str) -> str:
    return re.sub(r"([&%$#_{}])", r"\\\1", text).replace("~", r"\textasciitilde{}").replace("^", r"\^{}")


def bib_text(record: Record, key: str) -> str:
    """A BibLaTeX @report entry (biblatex manual, 2.1.1): author, title, type, institution, date (ISO 8601,
    no separate `year`: biber would overwrite it), number (the report number: the edition's URN),
    langid (a babel name); the corporate author in double braces so it is not split into names, each
    person as `Family, Given`. `urldate` is never written: no access date is known."""
    authors = " and ".join(["{" + _bib_escape(record.author) + "}"]
                           + [_bib_escape(f"{family}, {given}") for family, given in record.persons])
    fields = [("author", authors), ("title", _bib_escape(record.title))]
    if record.is_translation:
        fields.append(("origtitle", _bib_escape(record.original_title)))  # (origlanguage: not in @report's model)
    fields += [("type", _bib_escape(record.genre)), ("institution", _bib_escape(record.publisher)),
               ("date", record.date), ("number", _bib_escape(record.number)), ("langid", babel_name(record.language))]
    if record.url:
        fields.append(("url", record.url))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@report{{{key},\n{body}\n}}\n"


def ris_text(record: Record, key: str = "") -> str:
    """An RIS record (TY RPRT) to the RIS specification: one AU per author (the corporate author, then each
    person as 'Family, Given'), PY the year, DA YYYY/MM/DD/ (YYYY/// for a year alone), TI, PB the
    institution, M3 the type of work, M1 the report number (the URN; SN would be read as an ISBN or ISSN),
    LA, ID the same key as the .bib; OP carries the original title of a translation."""
    lines = [("TY", "RPRT")] + ([("ID", key)] if key else []) + [("AU", name) for name in record.authors]
    lines.append(("TI", record.title))
    if record.is_translation:
        lines.append(("OP", record.original_title))
    lines += [("PY", str(record.year)), ("DA", record.slashed_date(trailing=True)), ("PB", record.publisher),
              ("M3", record.genre), ("M1", record.number), ("LA", record.language)]
    if record.url:
        lines.append(("UR", record.url))  # the address the suggested citation gives
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {value}".rstrip() + "\r\n" for tag, value in lines)


def edition_url(record: Record, href: str = "") -> str:
    """The absolute address of the edition's page (or of `href` beside it); empty without a `url:`."""
    return f"{record.url.rstrip('/')}/{record.language}/{href}" if record.url else ""


def html_meta(record: Record, pdf_href: str | None) -> list[tuple[str, str]]:
    """Google Scholar (Highwire) tags for a technical report (Scholar's inclusion guidelines): one
    citation_author per author, citation_publication_date YYYY/MM/DD (or the year alone), institution and
    report number. citation_pdf_url is absolute when publication.yaml declares a `url:`, relative
    otherwise; citation_fulltext_html_url (this page) is written only when it can be absolute."""
    tags = [("citation_title", record.title)] + [("citation_author", name) for name in record.authors]
    tags += [("citation_publication_date", record.slashed_date()), ("citation_publisher", record.publisher),
             ("citation_technical_report_institution", record.publisher),
             ("citation_technical_report_number", record.number), ("citation_language", record.language),
             ("DC.identifier", record.identifier)]
    if pdf_href:
        tags.append(("citation_pdf_url", edition_url(record, pdf_href) or pdf_href))
    if record.url:
        tags.append(("citation_fulltext_html_url", edition_url(record, "index.html")))
    return tags


def json_ld(record: Record, downloads: list[dict]) -> str:
    """schema.org Report as JSON-LD, safe to put inside <script> (no '<' survives)."""
    data = {
        "@context": "https://schema.org", "@type": "Report", "name": record.title, "inLanguage": record.language,
        "author": {"@type": "Organization", "name": record.author},
        "publisher": {"@type": "Organization", "name": record.publisher, "email": record.contact},
        "datePublished": record.date, "identifier": record.identifier, "genre": record.genre,
        "license": record.licence,
        "encoding": [{"@type": "MediaObject", "contentUrl": d["href"], "encodingFormat": d["mime"]}
                     for d in downloads],
    }
    if record.is_translation:
        data["translationOfWork"] = {"@type": "Report", "name": record.original_title}
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def write_citation_files(edition: Edition, record: Record, folder: Path) -> list[Path]:
    """The "Cite this brief" downloads: BibLaTeX and RIS, from the record."""
    bib, ris = folder / artifact_name(edition, "bib"), folder / artifact_name(edition, "ris")
    key = f"{edition.publication.slug.replace('-', '')}{record.year}{edition.tag.replace('-', '')}"
    bib.write_text(bib_text(record, key), encoding="utf-8")
    ris.write_bytes(ris_text(record, key).encode("utf-8"))
    return [bib, ris]
