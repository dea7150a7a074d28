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

A catalog is rewritten only if it was read completely: one with a syntax
error, an unreadable one or a link leaving the repository is reported at its
line and left byte-identical (Babel's lenient reader would drop the broken
entry, and writing that back would lose a translator's text). Every write is
atomic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog

from pubpipe.diagnostics import Diagnostic, error
from pubpipe.source.files import OutsideRepository, write_atomic
from pubpipe.source.languages import Language
from pubpipe.source.publication import Publication
from pubpipe.source.record import CFF_NAME, cff_text
from pubpipe.translate.catalogs import WIDTH, build_template, catalog_path, read_catalog, serialize, template_path
from pubpipe.translate.ui import build_ui_template, ui_catalog_path, ui_template_path


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


def merge(existing_text: str, catalog: Catalog, template: Catalog) -> str:
    """`catalog` (read strictly from `existing_text`) merged with the template, as .po text."""
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


class Updater:
    """Writes what changed, atomically, inside the repository; collects the changes and the problems."""

    def __init__(self, root: Path):
        self.root = root
        self.changes: list[Change] = []
        self.problems: list[Diagnostic] = []

    def write(self, path: Path, text: str) -> None:
        try:
            old = path.read_text(encoding="utf-8") if path.exists() else None
            if old == text:
                self.changes.append(Change(path, "unchanged"))
                return
            write_atomic(path, text, self.root)
        except OutsideRepository as exc:
            self.problems.append(error(path, 1, str(exc), "update"))
            return
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(error(path, 1, f"cannot write: {getattr(exc, 'strerror', None) or exc}; "
                                                "the file was left as it was", "update"))
            return
        self.changes.append(Change(path, "created" if old is None else "updated"))

    def merge_into(self, path: Path, template: Catalog, language: Language) -> None:
        if not path.exists() and not path.is_symlink():
            self.write(path, new_catalog(template, language))
            return
        catalog, found = read_catalog(path, language, self.root)
        if catalog is None:  # not read completely: never rewritten
            self.problems += found
            self.problems.append(error(path, 1, "not updated, and left byte-identical, because it could not be read "
                                                "completely; fix the line(s) above, then run update again",
                                       "update"))
            return
        text = path.read_text(encoding="utf-8")
        self.write(path, merge(text, catalog, template))


def update(root: Path, locales: Path, templates: Path, publications: list[Publication],
           languages: list[Language]) -> tuple[list[Change], list[Diagnostic]]:
    """Write the .pot files and CITATION.cff, and merge the templates into the catalogs of `languages`."""
    updater = Updater(root)
    year = max((p.year for p in publications), default=2026)
    ui_template = build_ui_template(templates, root, year)
    updater.write(ui_template_path(locales), serialize(ui_template))
    for language in languages:
        updater.merge_into(ui_catalog_path(locales, language), ui_template, language)
    for publication in publications:
        updater.write(root / publication.root / CFF_NAME, cff_text(publication))
        template = build_template(publication, root)
        updater.write(template_path(locales, publication), serialize(template))
        own = {spec.language.tag for spec in publication.editions}
        for language in languages:
            if language.tag in own:
                updater.merge_into(catalog_path(locales, publication, language), template, language)
    return updater.changes, updater.problems
