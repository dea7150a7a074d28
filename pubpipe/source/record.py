"""The publication's bibliographic record, from publication.yaml: the one source of every citation.

The suggested citation, CITATION.cff, the .bib and .ris downloads, the HTML
meta tags and JSON-LD, and the document properties all derive from this
record; the citation gate (verify/citations.py) checks that they agree.
"""

from __future__ import annotations

import datetime as dt
import os
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
    persons: tuple[tuple[str, str], ...] = ()  # (family, given) of each named author, in order

    @property
    def is_translation(self) -> bool:
        return self.title != self.original_title

    @property
    def authors(self) -> tuple[str, ...]:
        """Every author as reference managers write names: the corporate author (the one the suggested
        citation names), then each person as 'Family, Given', as in CITATION.cff."""
        return (self.author,) + tuple(f"{family}, {given}" for family, given in self.persons)

    @property
    def number(self) -> str:
        """The report number: the edition's identifier (a URN), the one number the publication has."""
        return self.identifier

    @property
    def date_parts(self) -> tuple[int, int | None, int | None]:
        """(year, month, day) of the publication date; month and day are None when only the year is known."""
        parts = [int(part) for part in self.date.split("-")]
        return parts[0], parts[1] if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None

    def slashed_date(self, trailing: bool = False) -> str:
        """YYYY/MM/DD (Highwire), or with `trailing` the RIS form YYYY/MM/DD/ (YYYY/// for a year alone)."""
        year, month, day = self.date_parts
        if month is None:
            return f"{year:04d}///" if trailing else f"{year:04d}"
        text = f"{year:04d}/{month:02d}/{day:02d}" if day else f"{year:04d}/{month:02d}"
        return text + ("/" if trailing else "")


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
        "persons": tuple((person["family"], person["given"]) for person in meta.get("authors", [])),
    }


def build_moment(publication: Publication | None = None) -> dt.datetime:
    """The one date stamped into every artifact (document properties, zip entries, PDF metadata):
    SOURCE_DATE_EPOCH when set (the pipeline always sets it), else the publication date at 00:00 UTC;
    never the clock, never 1970 unless SOURCE_DATE_EPOCH says so."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if value.isascii() and value.isdigit():
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    date = publication.meta["date"] if publication is not None else 2026
    day = dt.date(date, 1, 1) if isinstance(date, int) else date
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def w3c_datetime(moment: dt.datetime) -> str:
    """2026-01-01T00:00:00Z: the form of EPUB dcterms:modified and DOCX dcterms:created/modified."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zip_date_time(moment: dt.datetime) -> tuple[int, int, int, int, int, int]:
    """A zip entry's timestamp (local DOS time, 1980 to 2107, even seconds) for `moment` in UTC."""
    moment = moment.astimezone(dt.UTC)
    if moment.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    if moment.year > 2107:
        return (2107, 12, 31, 23, 59, 58)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second - moment.second % 2)


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
