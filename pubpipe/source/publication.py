"""Stage 1: load a publication (metadata, canonical Markdown, bibliography) and validate it.

Everything is read and checked before anything is rendered, so a broken
input is reported in full and never produces a half-built release.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pubpipe.diagnostics import Diagnostic, error
from pubpipe.source.glossary import Glossary, load_glossary
from pubpipe.source.languages import Language, parse_language
from pubpipe.source.names import NameRules
from pubpipe.source.schema import validate
from pubpipe.source.segments import Segment, SegmentedDocument, segment_markdown
from pubpipe.source.tokens import PLACEHOLDER, citation_keys
from pubpipe.source.yamlfile import KeyPath, line_of, load_yaml

REQUIRED = ("slug", "date", "strings", "names", "languages", "source_language", "identifier", "corporate_author",
            "publisher")
REQUIRED_STRINGS = ("title", "subtitle", "genre", "key_references", "acknowledgements_label",
                    "acknowledgements", "citation_label")


@dataclass(frozen=True)
class EditionSpec:
    """An edition as declared in publication.yaml: a language and its status."""

    language: Language
    status: str  # official or draft
    min_completeness: float
    native_digits: bool = False  # numbers in the language's own digits (languages.<tag>.digits: native)


@dataclass(frozen=True)
class Publication:
    slug: str
    root: Path  # content/<slug>, relative to the project
    meta: dict[str, Any]
    meta_lines: dict[KeyPath, int] = field(repr=False)
    document: SegmentedDocument = field(repr=False)
    strings: dict[str, Segment] = field(repr=False)  # translatable metadata strings
    references: list[dict[str, Any]] = field(repr=False)
    editions: tuple[EditionSpec, ...] = ()
    glossary: Glossary | None = field(default=None, repr=False)
    reference_lines: dict[KeyPath, int] = field(default_factory=dict, repr=False)

    @property
    def name_rules(self) -> NameRules:
        return NameRules.from_names(self.meta["names"])

    @property
    def contact(self) -> str:
        return self.name("contact", self.source_language) if "contact" in self.meta["names"] else ""

    @property
    def metadata_path(self) -> str:
        return str(self.root / "publication.yaml")

    @property
    def references_path(self) -> str:
        return str(self.root / "references.yaml")

    @property
    def citation_style(self) -> str:
        """The CSL style (templates/csl/<name>.csl) of citations, references and the suggested citation."""
        return self.meta.get("citation_style", "iyrp-author-date")

    @property
    def genre_kind(self) -> str:
        """brief, note, report, paper...: picks the interface sentences ("Cite this note")."""
        return self.meta.get("genre_kind", "brief")

    @property
    def source_language(self) -> str:
        return self.meta["source_language"]

    @property
    def date(self) -> dt.date | int:
        return self.meta["date"]

    @property
    def year(self) -> int:
        """The year cited: `year` if given (checked against `date`), else the year of `date`."""
        date = self.meta["date"]
        return self.meta.get("year") or (date if isinstance(date, int) else date.year)

    def name(self, key: str, tag: str) -> str:
        """A recurring name in a language, falling back to the source language."""
        names = self.meta["names"][key]
        return names.get(tag) or names[self.source_language]

    @property
    def segments(self) -> list[Segment]:
        """Every translatable segment: metadata strings first, then the body."""
        return list(self.strings.values()) + self.document.segments

    @property
    def reference_ids(self) -> list[str]:
        return [item["id"] for item in self.references]


def discover(content_dir: Path) -> list[Path]:
    """Every folder under content/ with a publication.yaml is a publication."""
    return sorted(p.parent for p in content_dir.glob("*/publication.yaml"))


_LOADED: dict[tuple, tuple[Publication | None, list[Diagnostic]]] = {}


def load_publication(root: Path) -> tuple[Publication | None, list[Diagnostic]]:
    """`read_publication`, once per process for the same files: a build asks twice (the command line's
    choices, then the build), `serve` once per save. Keyed on the bytes of the sources beside
    publication.yaml and the size and time of everything under the folder (figures)."""
    try:
        files = sorted(path for path in Path(root).rglob("*") if path.is_file())
        key = (str(root), tuple((str(path), path.stat().st_size, path.stat().st_mtime_ns,
                                 hashlib.sha256(path.read_bytes()).hexdigest() if path.parent == Path(root) else "")
                                for path in files))
    except OSError:
        return read_publication(root)
    if key not in _LOADED:
        _LOADED.clear()  # one generation at a time: a long-running serve keeps no old copies
        _LOADED[key] = read_publication(root)
    publication, problems = _LOADED[key]
    return publication, list(problems)


def read_publication(root: Path, schemas: bool = True) -> tuple[Publication | None, list[Diagnostic]]:
    """Read and validate one publication; return it with every problem found.

    Each YAML source is checked against its schema (schemas/) first; the checks
    that read values (slug, year, names, language tags) run only on metadata of
    the right shapes, so malformed input is reported, never a crash. Without
    `schemas` (a guess that the build checks later: release/head_start.py), a
    source of the wrong shape may raise instead.
    """
    def check(name: str, data: Any, lines: dict[KeyPath, int], path: Path) -> list[Diagnostic]:
        return validate(name, data, lines, path) if schemas else []

    problems: list[Diagnostic] = []
    meta_path, refs_path, brief_path = root / "publication.yaml", root / "references.yaml", root / "brief.md"
    meta, lines, found = load_yaml(meta_path, str(meta_path))
    problems += found or check("publication", meta, lines, meta_path)
    meta_ok = not problems
    refs, ref_lines, found = load_yaml(refs_path, str(refs_path))
    problems += found or check("references", refs, ref_lines, refs_path)
    try:
        brief = brief_path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        problems.append(error(brief_path, 1, f"cannot read the canonical source: {exc}", "missing-file"))
        brief = None
    if meta_ok:
        problems += _check_metadata(meta, lines, str(meta_path), root.name)
    blocked = any(d.severity == "error" for d in problems)
    glossary, found = load_glossary(root / "glossary.yaml", schemas)  # its problems are reported; they block no edition
    problems += found
    if blocked:
        return None, problems
    references = refs["references"]
    document = segment_markdown(brief, str(brief_path))
    strings = {
        key: Segment(str(value), "metadata", str(meta_path), line_of(lines, "strings", key), note=key)
        for key, value in meta["strings"].items()
    }
    editions = []
    for tag, spec in meta["languages"].items():
        spec = spec or {}
        status = spec.get("status", "draft")
        default = 1.0 if status == "official" else 0.0  # a draft is built at any completeness, --strict too
        editions.append(EditionSpec(parse_language(tag), status,
                                    float(spec.get("min_completeness", meta.get("min_completeness", default))),
                                    spec.get("digits", "latn") == "native"))
    publication = Publication(root.name, root, meta, lines, document, strings, references, tuple(editions), glossary,
                              ref_lines)
    problems += check_citation_keys(publication)
    problems += check_placeholders(publication)
    return publication, problems


def _check_metadata(meta: dict, lines: dict[KeyPath, int], path: str, folder: str) -> list[Diagnostic]:
    problems = []
    for key in REQUIRED:
        if key not in meta:
            problems.append(error(path, 1, f"missing required field '{key}'", "metadata"))
    if problems:
        return problems
    if meta["slug"] != folder:
        problems.append(error(path, line_of(lines, "slug"),
                              f"slug '{meta['slug']}' must match its folder name '{folder}'", "metadata"))
    date = meta["date"]
    if not isinstance(date, (dt.date, int)) or isinstance(date, dt.datetime):
        quoted = " (quoted, so YAML reads it as text: remove the quotes)" if isinstance(date, str) else ""
        problems.append(error(path, line_of(lines, "date"),
                              f"date must be YYYY-MM-DD or a year, not {date!r}{quoted}", "metadata"))
    elif "year" in meta:
        date_year = date if isinstance(date, int) else date.year
        if meta["year"] != date_year:
            problems.append(error(path, line_of(lines, "year"),
                                  f"year {meta['year']!r} disagrees with the date {date!s} (year {date_year}); "
                                  "the cited year must be the year of publication", "record-year"))
    names = meta["names"]
    if not isinstance(names, dict) or not all(isinstance(v, dict) and v.get(meta["source_language"])
                                              for v in names.values()):
        problems.append(error(path, line_of(lines, "names"), "every entry under 'names' must map language tags "
                                                             f"to a form, including '{meta['source_language']}'",
                              "metadata"))
        return problems
    strings = meta["strings"]
    if not isinstance(strings, dict):
        problems.append(error(path, line_of(lines, "strings"), "'strings' must be a mapping", "metadata"))
    else:
        for key in REQUIRED_STRINGS:
            if not isinstance(strings.get(key), str) or not strings.get(key).strip():
                problems.append(error(path, line_of(lines, "strings"),
                                      f"missing translatable string 'strings.{key}'", "metadata"))
    languages = meta["languages"]
    if not isinstance(languages, dict) or not languages:
        problems.append(error(path, line_of(lines, "languages"),
                              "'languages' must map language tags to their status", "metadata"))
        return problems
    if meta["source_language"] not in languages:
        problems.append(error(path, line_of(lines, "source_language"),
                              f"source language '{meta['source_language']}' is not among 'languages'", "metadata"))
    for tag, spec in languages.items():
        try:
            parse_language(tag)
        except ValueError as exc:
            problems.append(error(path, line_of(lines, "languages", tag), str(exc), "language-tag"))
        status = (spec or {}).get("status", "draft")
        if status not in ("official", "draft"):
            problems.append(error(path, line_of(lines, "languages", tag, "status"),
                                  f"status must be 'official' or 'draft', not '{status}'", "metadata"))
        digits = (spec or {}).get("digits", "latn")
        if digits not in ("latn", "native"):
            problems.append(error(path, line_of(lines, "languages", tag, "digits"),
                                  f"digits must be 'latn' or 'native', not '{digits}'", "metadata"))
    for key in ("corporate_author", "publisher", "series"):
        if meta.get(key) and meta[key] not in meta["names"]:
            problems.append(error(path, line_of(lines, key),
                                  f"'{key}' names '{meta[key]}', which is not defined under 'names'", "metadata"))
    return problems


def check_citation_keys(publication: Publication) -> list[Diagnostic]:
    """Every key cited in the source, and every declared key reference, is in the bibliography."""
    known = set(publication.reference_ids)
    problems = []
    for segment in publication.segments:
        for key in citation_keys(segment.text):
            if key not in known:
                problems.append(error(segment.path, segment.line,
                                      f"unknown citation key '@{key}'; the bibliography has: "
                                      + ", ".join(sorted(known)), "citation-key"))
    for index, key in enumerate(publication.meta.get("key_references", [])):
        if key not in known:
            problems.append(error(publication.metadata_path, line_of(publication.meta_lines, "key_references", index),
                                  f"key reference '{key}' is not in {publication.references_path}", "citation-key"))
    return problems


def placeholder_values(publication: Publication) -> set[str]:
    return set(publication.meta["names"]) | {"authors"}


def check_placeholders(publication: Publication) -> list[Diagnostic]:
    known = placeholder_values(publication)
    problems = []
    for segment in publication.segments:
        for name in PLACEHOLDER.findall(segment.text):
            if name not in known:
                problems.append(error(segment.path, segment.line,
                                      f"unknown placeholder '{{{name}}}'; known: " + ", ".join(sorted(known)),
                                      "placeholder"))
    return problems
