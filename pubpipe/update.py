"""`build.py update`: regenerate the templates and merge them into every catalog.

Merge rules, on top of Babel's `Catalog.update`:
- a changed segment becomes fuzzy and keeps its previous msgid (`#| msgid`);
- a removed segment becomes obsolete (`#~`);
- a new segment starts empty: Babel may pre-fill it from a similar string
  that still exists (e.g. "Download EPUB" from "Download PDF"); that guess is
  dropped, because it is a different message, not an edited one;
- translator comments are kept; references and extracted comments follow the source.
The output is written only when it changes, with the catalog's own line
wrapping, so running update twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog

from .catalogs import WIDTH, build_template, catalog_path, parse_po, serialize, template_path
from .citations import CFF_NAME, cff_text
from .languages import Language
from .publication import Publication
from .ui import build_ui_template, ui_catalog_path, ui_template_path


@dataclass(frozen=True)
class Change:
    path: Path
    action: str  # created, updated, unchanged


def detect_width(text: str, catalog: Catalog) -> int:
    """The wrapping the file already uses: Babel's 76 columns, or none (one line per string)."""
    lines = set(text.split("\n"))

    def score(width: int) -> int:
        return len(lines & set(serialize(catalog, width).split("\n")))

    return 0 if score(0) > score(WIDTH) else WIDTH


def merge(existing_text: str, template: Catalog, language: Language) -> str:
    catalog = parse_po(existing_text, locale=str(language.locale))
    earlier = {m.id: m.previous_id for m in catalog if m.id and m.fuzzy and m.previous_id}
    width = detect_width(existing_text, catalog)
    catalog.update(template, no_fuzzy_matching=False, update_header_comment=False, update_creation_date=True)
    for message in catalog:
        if message.id in earlier and message.fuzzy and not message.previous_id:
            message.previous_id = earlier[message.id]  # still waiting for the translator: keep showing the change
    for message in catalog:
        if not message.id or not message.fuzzy or not message.previous_id:
            continue
        previous = message.previous_id[0] if isinstance(message.previous_id, (list, tuple)) else message.previous_id
        if previous in template and previous != message.id:
            # the similar string still exists: this is a new message, not an edit of that one
            message.string = ""
            message.flags.discard("fuzzy")
            message.previous_id = []
    return serialize(catalog, width)


def new_catalog(template: Catalog, language: Language) -> str:
    catalog = Catalog(locale=str(language.locale), domain=template.domain,
                      project=template.project, version=template.version, creation_date=template.creation_date,
                      revision_date=template.creation_date, fuzzy=False, msgid_bugs_address=template.msgid_bugs_address,
                      last_translator="", language_team=f"{language.native_name}")
    catalog.update(template, no_fuzzy_matching=True)
    return serialize(catalog, WIDTH)


def _write(path: Path, text: str, changes: list[Change]) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old == text:
        changes.append(Change(path, "unchanged"))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    changes.append(Change(path, "created" if old is None else "updated"))


def update(root: Path, locales: Path, templates: Path, publications: list[Publication],
           languages: list[Language]) -> list[Change]:
    """Write the .pot files and CITATION.cff, and merge the templates into the catalogs of `languages`."""
    changes: list[Change] = []
    year = max((p.year for p in publications), default=2026)
    ui_template = build_ui_template(templates, root, year)
    _write(ui_template_path(locales), serialize(ui_template), changes)
    for language in languages:
        _merge_into(ui_catalog_path(locales, language), ui_template, language, changes)
    for publication in publications:
        _write(root / publication.root / CFF_NAME, cff_text(publication), changes)
        template = build_template(publication, root)
        _write(template_path(locales, publication), serialize(template), changes)
        own = {spec.language.tag for spec in publication.editions}
        for language in languages:
            if language.tag in own:
                _merge_into(catalog_path(locales, publication, language), template, language, changes)
    return changes


def _merge_into(path: Path, template: Catalog, language: Language, changes: list[Change]) -> None:
    if path.exists():
        _write(path, merge(path.read_text(encoding="utf-8"), template, language), changes)
    else:
        _write(path, new_catalog(template, language), changes)
