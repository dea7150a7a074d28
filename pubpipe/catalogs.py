"""gettext catalogs: extract the template, read translations, look them up.

Catalogs are untrusted input (translators are outside contributors), so
reading one never raises: every problem becomes a diagnostic with the .po
line, and a catalog that cannot be parsed is reported, not half-used.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import PoFileError, read_po, write_po

from .diagnostics import Diagnostic, error
from .languages import Language
from .publication import PLACEHOLDER, Publication, citation_keys
from .segments import Segment

PO_LINE = re.compile(r'^(?:(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+)?"(?:[^"\\]|\\.)*"$')
URL = re.compile(r"(?:https?|mailto|ftp):[^\s)\]>\"]+|[\w.+-]+@[\w-]+\.[\w.-]+")
FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]+\]")
KIND_NOTES = {
    "heading": "Heading. Keep the leading '#' marks.",
    "paragraph": "Paragraph.",
    "list-item": "List item. Keep the list marker at the start.",
    "footnote": "Footnote text.",
    "formula": "Display formula (TeX). Translate only the words inside \\text{...}; keep everything else.",
    "table": "Table. Keep the '|' column separators.",
    "metadata": "Metadata string.",
}
WIDTH = 76


def domain(publication: Publication) -> str:
    return publication.slug


def template_path(locales: Path, publication: Publication) -> Path:
    return locales / f"{domain(publication)}.pot"


def catalog_path(locales: Path, publication: Publication, language: Language) -> Path:
    return locales / language.catalog_dir / "LC_MESSAGES" / f"{domain(publication)}.po"


def translator_notes(segment: Segment) -> list[str]:
    """The extracted comment: what the segment is and what must stay unchanged in it."""
    kind = KIND_NOTES.get(segment.kind, segment.kind)
    if segment.kind == "metadata":
        kind = f"Metadata string '{segment.note}' from publication.yaml."
    elif segment.kind == "footnote":
        kind = f"Footnote {segment.note}."
    notes = [kind]
    keep = [f"@{k}" for k in citation_keys(segment.text)]
    keep += FOOTNOTE_REF.findall(segment.text)
    keep += [f"{{{p}}}" for p in PLACEHOLDER.findall(segment.text)]
    keep += URL.findall(segment.text)
    if keep:
        notes.append("Keep unchanged: " + " ".join(dict.fromkeys(keep)))
    return notes


def build_template(publication: Publication, root: Path) -> Catalog:
    """The .pot: one message per distinct segment, in reading order."""
    catalog = Catalog(project=domain(publication), version=str(publication.year),
                      creation_date=_catalog_date(publication), revision_date=_catalog_date(publication),
                      fuzzy=False, charset="utf-8",
                      msgid_bugs_address=publication.meta.get("contact", ""))
    for segment in publication.segments:
        location = (_relative(segment.path, root), segment.line)
        existing = catalog.get(segment.text)
        if existing is not None:
            existing.locations.append(location)
            continue
        catalog.add(segment.text, "", locations=[location], auto_comments=translator_notes(segment))
    return catalog


def _catalog_date(publication: Publication) -> dt.datetime:
    year = publication.year
    date = publication.date if isinstance(publication.date, dt.date) else dt.date(year, 1, 1)
    return dt.datetime(date.year, date.month, date.day, tzinfo=dt.timezone.utc)


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def serialize(catalog: Catalog) -> str:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=WIDTH, sort_output=False, include_previous=True)
    return buffer.getvalue().decode("utf-8")


@dataclass(frozen=True)
class Translations:
    """Looked-up translations of one edition; fuzzy and empty entries do not count."""

    path: str | None
    catalog: Catalog | None

    def lookup(self, msgid: str) -> str | None:
        if self.catalog is None:
            return None
        message = self.catalog.get(msgid)
        if message is None or not message.string or message.fuzzy:
            return None
        return message.string if isinstance(message.string, str) else None

    def message(self, msgid: str) -> Message | None:
        return None if self.catalog is None else self.catalog.get(msgid)


def read_catalog(path: Path, language: Language) -> tuple[Catalog | None, list[Diagnostic]]:
    """Parse a .po strictly: every malformed line is reported with its number."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [error(path, line, "catalog is not valid UTF-8", "po-syntax")]
    problems = list(_syntax_problems(path, text))
    if problems:
        return None, problems
    try:
        catalog = read_po(io.BytesIO(raw), locale=None, abort_invalid=True)
    except PoFileError as exc:
        return None, [error(path, exc.lineno + 1, f"malformed catalog: {exc.args[0]}", "po-syntax")]
    except Exception as exc:  # Babel raises assorted errors on garbage; report, never crash
        return None, [error(path, 1, f"malformed catalog: {exc}", "po-syntax")]
    header_language = (catalog.mime_headers and dict(catalog.mime_headers).get("Language", "")) or ""
    if header_language.replace("-", "_") != language.catalog_dir:
        problems.append(error(path, _header_line(text, "Language"),
                              f"header Language is '{header_language}' but the catalog is in "
                              f"'{language.catalog_dir}/'; they must match", "po-header"))
    return catalog, problems


def _syntax_problems(path: Path, text: str):
    """Lines that are neither comments nor keyword/string lines: what Babel would silently skip."""
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped.startswith("#~"):
            stripped = stripped[2:].strip()
        elif stripped.startswith("#"):
            continue
        if stripped and not PO_LINE.match(stripped):
            yield error(path, number, f"malformed line {stripped[:50]!r}: expected msgid, msgstr, msgctxt "
                                      "or a quoted string (is a quote missing?)", "po-syntax")


def _header_line(text: str, field: str) -> int:
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith(f'"{field}:'):
            return number
    return 1


def message_line(text: str, msgid: str) -> int:
    """Line of the `msgid` of an entry, for diagnostics about that entry."""
    first = msgid.split("\n", 1)[0]
    needle = first.replace("\\", "\\\\").replace('"', '\\"')[:40]
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith("msgid ") and needle[:20] in line:
            return number
    for number, line in enumerate(text.split("\n"), start=1):
        if needle[:20] and needle[:20] in line:
            return number
    return 1
