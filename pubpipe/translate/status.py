"""`build.py status`: how far each catalog is, in segments and in words.

Counted against the template, not the catalog, so a catalog that was never
updated shows its new segments as untranslated rather than hiding them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from babel.messages.catalog import Catalog

from pubpipe.translate.review import is_reviewed

WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")


@dataclass(frozen=True)
class CatalogStatus:
    publication: str
    domain: str  # "content" or "ui"
    lang: str
    path: str
    total: int
    translated: int
    reviewed: int  # translated entries marked `# reviewed` (translate/review.py)
    fuzzy: int
    untranslated: int
    obsolete: int
    words: int
    words_translated: int

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0

    @property
    def percent_words(self) -> float:
        return 100.0 * self.words_translated / self.words if self.words else 100.0

    def as_json(self) -> dict:
        return {**asdict(self), "percent": round(self.percent, 1), "percent_words": round(self.percent_words, 1)}


def words(text: str) -> int:
    """Words of an English msgid; markup, keys and placeholders do not count."""
    text = re.sub(r"\[@[^\]]*\]|\[\^[^\]]*\]|\{[a-z_]+\}|%\(\w+\)s|\\[a-z]+", " ", text)
    return len(WORD.findall(text))


def catalog_status(publication: str, domain: str, lang: str, path: Path | str, template: Catalog,
                   catalog: Catalog | None) -> CatalogStatus:
    translated = reviewed = fuzzy = untranslated = counted_words = done_words = 0
    for entry in template:
        if not entry.id:
            continue
        size = words(str(entry.id))
        counted_words += size
        message = catalog.get(entry.id, entry.context) if catalog is not None else None
        if message is None or not message.string:
            untranslated += 1
        elif message.fuzzy:
            fuzzy += 1
        else:
            translated += 1
            reviewed += is_reviewed(message)
            done_words += size
    obsolete = len(catalog.obsolete) if catalog is not None else 0
    total = translated + fuzzy + untranslated
    return CatalogStatus(publication, domain, lang, str(path), total, translated, reviewed, fuzzy, untranslated,
                         obsolete, counted_words, done_words)


def format_table(rows: list[CatalogStatus]) -> str:
    """A terminal table, one line per catalog."""
    header = ("publication", "domain", "lang", "translated", "reviewed", "fuzzy", "untranslated", "obsolete",
              "segments", "words")
    body = [(r.publication, r.domain, r.lang, f"{r.translated}/{r.total}", str(r.reviewed), str(r.fuzzy),
             str(r.untranslated), str(r.obsolete), f"{r.percent:.0f}%", f"{r.percent_words:.0f}%") for r in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    numeric = set(range(3, len(header)))

    def line(cells) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in pairs)

    return "\n".join([line(header), line("-" * w for w in widths), *map(line, body)])


def project_status(locales: Path, templates: Path, root: Path, publications, languages) -> list[CatalogStatus]:
    """Status of the content and ui catalogs of every publication in every language."""
    from pubpipe.translate.catalogs import build_template, catalog_path, read_catalog
    from pubpipe.translate.ui import build_ui_template, ui_catalog_path

    year = max((p.year for p in publications), default=2026)
    ui_template = build_ui_template(templates, root, year)
    rows, ui_done = [], set()
    for publication in publications:
        template = build_template(publication, root)
        for language in languages(publication):
            if language.tag == publication.source_language:
                continue
            pairs = [("content", template, catalog_path(locales, publication, language))]
            if language.tag not in ui_done:  # one ui catalog per language, shared by every publication
                ui_done.add(language.tag)
                pairs.append(("ui", ui_template, ui_catalog_path(locales, language)))
            for domain, tmpl, path in pairs:
                catalog, _problems = read_catalog(path, language, root)
                shown = path.relative_to(root) if path.is_relative_to(root) else path
                rows.append(catalog_status(publication.slug, domain, language.tag, shown, tmpl, catalog))
    return rows
