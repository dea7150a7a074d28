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
                  contact=base["contact"], licence=base["licence"], url=base["url"])


def _bib_escape(text: str) -> str:
    return re.sub(r"([&%$#_{}])", r"\\\1", text).replace("~", r"\textasciitilde{}").replace("^", r"\^{}")


def bib_text(record: Record, key: str) -> str:
    """A BibLaTeX @report entry; the corporate author in double braces so it is not split into names."""
    fields = [("author", "{" + _bib_escape(record.author) + "}"), ("title", _bib_escape(record.title)),
              ("type", _bib_escape(record.genre)), ("institution", _bib_escape(record.publisher)),
              ("year", str(record.year)), ("date", record.date), ("langid", record.language),
              ("note", f"Identifier: {record.identifier}")]
    if record.is_translation:
        fields.insert(2, ("origtitle", _bib_escape(record.original_title)))
    if record.url:
        fields.append(("url", record.url))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@report{{{key},\n{body}\n}}\n"


def ris_text(record: Record) -> str:
    """An RIS record (TY RPRT); OP carries the original title of a translation."""
    lines = [("TY", "RPRT"), ("AU", record.author), ("TI", record.title)]
    if record.is_translation:
        lines.append(("OP", record.original_title))
    lines += [("PY", str(record.year)), ("DA", record.date), ("PB", record.publisher), ("M3", record.genre),
              ("LA", record.language), ("SN", record.identifier)]
    if record.url:
        lines.append(("UR", record.url))
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {value}".rstrip() + "\r\n" for tag, value in lines)


def html_meta(record: Record, pdf_href: str | None) -> list[tuple[str, str]]:
    """Google Scholar (Highwire) tags; citation_pdf_url is relative unless the record has a URL."""
    tags = [("citation_title", record.title), ("citation_author", record.author),
            ("citation_publication_date", str(record.year)), ("citation_date", record.date),
            ("citation_publisher", record.publisher), ("citation_technical_report_institution", record.publisher),
            ("citation_language", record.language), ("DC.identifier", record.identifier)]
    if pdf_href:
        base = record.url.rstrip("/") + "/" + record.language + "/" if record.url else ""
        tags.append(("citation_pdf_url", base + pdf_href))
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
    ris.write_bytes(ris_text(record).encode("utf-8"))
    return [bib, ris]
