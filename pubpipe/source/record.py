"""The publication's bibliographic record, from publication.yaml: the one source of every citation.

The suggested citation, CITATION.cff, the .bib and .ris downloads, the HTML
meta tags and JSON-LD, and the document properties all derive from this
record; the citation gate (verify/citations.py) checks that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from pubpipe.source.publication import Publication

CFF_NAME = "CITATION.cff"


@dataclass(frozen=True)
class Record:
    """The bibliographic record of one edition (the brief's own, localized title)."""

    title: str  # the edition's title (plain text)
    original_title: str  # the source-language title
    author: str  # corporate author, in its original form
    year: int
    date: str
    publisher: str
    identifier: str  # per edition
    language: str
    genre: str
    contact: str
    licence: str
    url: str = ""

    @property
    def is_translation(self) -> bool:
        return self.title != self.original_title


def publication_record(publication: Publication) -> dict:
    """The record's fields that are the same in every edition."""
    meta = publication.meta
    return {
        "author": publication.name(meta["corporate_author"], publication.source_language),
        "publisher": publication.name(meta["publisher"], publication.source_language),
        "year": publication.year,
        "date": str(meta["date"]),
        "identifier": meta["identifier"],
        "original_title": publication.strings["title"].text,
        "contact": publication.contact,
        "licence": meta.get("licence", {}).get("name", ""),
        "url": meta.get("url", ""),
    }


def cff_text(publication: Publication) -> str:
    """CITATION.cff (Citation File Format 1.2.0) for the publication, from the record."""
    base = publication_record(publication)
    authors = [{"name": base["author"]}]
    for person in publication.meta.get("authors", []):
        authors.append({"family-names": person["family"], "given-names": person["given"]})
    languages = list(dict.fromkeys(spec.language.locale.language for spec in publication.editions))  # ISO 639
    data = {
        "cff-version": "1.2.0",
        "message": "Please cite this publication as below (generated from publication.yaml; "
                   "do not edit by hand, run 'python build.py update').",
        "type": "dataset",
        "title": base["original_title"],
        "authors": authors,
        "identifiers": [{"type": "other", "value": base["identifier"],
                         "description": "Identifier of the publication; each edition appends ':<language>'"}],
        "license": _spdx(base["licence"]),
        "contact": [{"name": base["publisher"], "email": base["contact"]}],
        "preferred-citation": {
            "type": "report",
            "title": base["original_title"],
            "authors": [{"name": base["author"]}],
            "year": base["year"],
            "publisher": {"name": base["publisher"], "email": base["contact"]},
            "languages": languages,
            "notes": publication.strings["genre"].text,
        },
    }
    if not isinstance(publication.meta["date"], int):  # CFF wants a full date; never invent a day
        data["date-released"] = publication.meta["date"].isoformat()
    if base["url"]:
        data["url"] = base["url"]
        data["preferred-citation"]["url"] = base["url"]
    header = f"# Generated from content/{publication.slug}/publication.yaml by 'python build.py update'.\n"
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def _spdx(licence: str) -> str:
    return licence.replace(" ", "-") if licence else "CC-BY-4.0"
