"""Deposit metadata for a DOI repository (Zenodo's `.zenodo.json` form), from the edition's bibliographic record.

One deposit per edition, so each edition can get its own DOI, written next to
its files as `<slug>.<lang>.zenodo.json` (a dot file would be left out of CI
artifacts). The editions are linked with DataCite relation types, which
Zenodo accepts: schema 4.5 has no translation relation (IsTranslationOf
came with 4.6, which Zenodo does not take yet), so a translation
`isVariantFormOf` its original, and the original `isOriginalFormOf` each
translation. The edition's own URN is an `isAlternateIdentifier`. No `scheme`: Zenodo
detects it (urn, url, doi) and its deposit form has no such field.

Zenodo wants the language as ISO 639-3; CLDR's alias table (in Babel) maps
each three-letter code to its two-letter one, which we invert.
"""

from __future__ import annotations

import json
import re

from babel.core import get_global

DEPOSIT_SUFFIX = ".zenodo.json"
# ISO 639-2/B codes: CLDR lists them as aliases too, but ISO 639-3 uses the terminology (T) codes
BIBLIOGRAPHIC = {"alb", "arm", "baq", "bur", "chi", "cze", "dut", "fre", "geo", "ger", "gre", "ice", "mac", "mao",
                 "may", "per", "rum", "slo", "tib", "wel"}
PUBLICATION_TYPES = {"paper": "workingpaper"}  # genre_kind -> Zenodo publication_type; the rest are reports


def iso639_3(tag: str) -> str:
    """The ISO 639-3 code of a BCP 47 tag's language (zh-Hans -> zho, ar -> ara, en -> eng)."""
    language = tag.split("-")[0]
    if len(language) == 3:
        return language
    candidates = sorted(code for code, target in get_global("language_aliases").items()
                        if target == language and len(code) == 3 and code.isalpha() and code not in BIBLIOGRAPHIC)
    own = [code for code in candidates if code.startswith(language)]  # the macrolanguage (ara) before arb
    return (own or candidates or [language])[0]


def licence_id(name: str) -> str:
    """Zenodo's licence id: the SPDX identifier, lower-case ("CC BY 4.0" -> cc-by-4.0)."""
    return re.sub(r"\s+", "-", name.strip()).lower() if name else "cc-by-4.0"


def zenodo_metadata(record: dict, editions: list[dict], source_language: str, genre_kind: str = "brief",
                    description: str = "") -> dict:
    """The deposit of one edition; `record` is the edition's record (source/record.Record as a dict) and
    `editions` the records of every edition of the publication (for the translation links)."""
    identifier = record["identifier"]
    related = [{"identifier": identifier, "relation": "isAlternateIdentifier"}]
    kind = "publication-" + PUBLICATION_TYPES.get(genre_kind, "report")
    original = next((e for e in editions if e["language"] == source_language), None)
    if record["language"] == source_language:
        related += [{"identifier": e["identifier"], "relation": "isOriginalFormOf", "resource_type": kind}
                    for e in editions if e["language"] != source_language]
    elif original is not None:
        related.append({"identifier": original["identifier"], "relation": "isVariantFormOf", "resource_type": kind})
    creators = [{"name": record["author"]}] + [{"name": f"{family}, {given}"}
                                               for family, given in record.get("persons") or ()]
    data = {
        "upload_type": "publication",
        "publication_type": PUBLICATION_TYPES.get(genre_kind, "report"),
        "title": record["title"],
        "creators": creators,
        "description": description or record["title"],
        "language": iso639_3(record["language"]),
        "publication_date": record["date"],  # EDTF: a year alone stays a year (never an invented day)
        "access_right": "open",
        "license": licence_id(record.get("licence", "")),
        "keywords": [record["genre"]],
        "notes": f"Publisher: {record['publisher']}. Identifier: {identifier}.",
        "related_identifiers": related,
    }
    if record["title"] != record["original_title"]:
        data["notes"] += f" Translation of: {record['original_title']}."
    return data


def deposit_text(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def read_deposit_fields(text: str) -> dict[str, str]:
    """The record as the deposit stores it, for the citation gate: title, author, year, language, identifier."""
    data = json.loads(text)
    own = next((r["identifier"] for r in data.get("related_identifiers", [])
                if r.get("relation") == "isAlternateIdentifier"), "")
    return {"title": data.get("title", ""), "author": (data.get("creators") or [{}])[0].get("name", ""),
            "year": str(data.get("publication_date", ""))[:4], "date": str(data.get("publication_date", "")),
            "language": data.get("language", ""),
            "identifier": own}
