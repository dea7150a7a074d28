"""`build.py update`: regenerate the templates and merge them into every catalog.

Merge rules, on top of Babel's `Catalog.update`:
- a changed segment becomes fuzzy and keeps its previous msgid (`#| msgid`);
- a removed segment becomes obsolete (`#~`);
- a new segment starts empty: Babel may pre-fill it from a similar string
  that still exists (e.g. "Download EPUB" from "Download PDF"); that guess is
  dropped, because it is a different message, not an edited one;
- translator comments are kept; references and extracted comments follow the source;
- an obsolete entry whose msgid comes back (a deleted paragraph restored) is
  revived with its translation, comments and flags, as msgmerge does; a
  catalog never has the same msgid live and obsolete (msgfmt refuses that);
- an entry whose msgid was written before msgids ignored line wrapping (an
  old msgid that `segment_msgid` turns into a current one) keeps its
  translation and state: re-wrapping is not an edit.
The output is written only when it changes, laid out by GNU msgcat exactly
as msgmerge writes it (79 columns, or `--no-wrap` for a catalog kept
unwrapped), so running update twice changes nothing, and a catalog saved by
Poedit, Weblate, polib or msgcat comes back byte-identical.

A catalog is rewritten only if it was read completely: one with a syntax
error, an unreadable one or a link leaving the repository is reported at its
line and left byte-identical (Babel's lenient reader would drop the broken
entry, and writing that back would lose a translator's text). Every write is
atomic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message

from pubpipe.diagnostics import Diagnostic, error
from pubpipe.source.files import OutsideRepository, write_atomic
from pubpipe.source.languages import Language
from pubpipe.source.publication import Publication
from pubpipe.source.record import CFF_NAME, cff_text
from pubpipe.translate.catalogs import (
    WIDTH,
    build_template,
    catalog_path,
    read_catalog,
    segment_msgid,
    serialize,
    template_path,
)
from pubpipe.translate.gnu import msgcat, wrapped
from pubpipe.translate.review import unmark_fuzzy
from pubpipe.translate.ui import build_ui_template, ui_catalog_path, ui_template_path


@dataclass(frozen=True)
class Change:
    path: Path
    action: str  # created, updated, unchanged


def detect_width(text: str) -> int:
    """The layout the file already uses: GNU's 79 columns, or none (`--no-wrap`, one line per string)."""
    return WIDTH if wrapped(text) else 0


def _absorb(live: Message, other: Message) -> None:
    """Fold `other` (an obsolete or superseded entry with the same msgid) into `live`, losing no translation."""
    if not live.string and other.string:
        live.string = other.string
        live.flags |= other.flags
        live.user_comments = list(dict.fromkeys([*live.user_comments, *other.user_comments]))
        if other.previous_id and not live.previous_id:
            live.previous_id = other.previous_id
    elif other.string and other.string != live.string and isinstance(other.string, str):
        kept = other.string.replace("\\", "\\\\").replace("\n", "\\n")
        live.user_comments = list(dict.fromkeys([*live.user_comments, f"Earlier translation: {kept}"]))


def _key(message: Message):
    return (message.id, message.context) if message.context is not None else message.id


def revive(catalog: Catalog, template: Catalog) -> None:
    """Before merging: bring back what the template has again, under the msgid the template uses.

    - a live entry with an old-style msgid (before `segment_msgid`) takes the
      template's msgid, keeping translation, comments, flags and previous msgid;
    - an obsolete entry whose msgid is in the template again becomes live;
    - an obsolete entry that duplicates a live one is folded into it.
    """
    wanted = {(m.id, m.context) for m in template if m.id and isinstance(m.id, str)}

    def current(message: Message) -> str | None:
        if not isinstance(message.id, str) or not message.id:
            return None
        if (message.id, message.context) in wanted:
            return message.id
        normalized = segment_msgid(message.id)
        return normalized if (normalized, message.context) in wanted else None

    def move(message, target: str) -> None:
        existing = catalog.get(target, message.context)
        message.id = target
        if existing is None:
            catalog[target] = message
        else:
            _absorb(existing, message)

    for message in list(catalog):
        target = current(message)
        if target is not None and target != message.id:
            catalog.delete(message.id, message.context)
            move(message, target)
    for key, message in list(catalog.obsolete.items()):
        target = current(message)
        if target is not None:
            del catalog.obsolete[key]
            move(message, target)


def drop_duplicates(catalog: Catalog) -> None:
    """No msgid both live and obsolete: msgfmt rejects such a catalog ("duplicate message definition")."""
    for key, message in list(catalog.obsolete.items()):
        live = catalog.get(message.id, message.context) if isinstance(message.id, str) else None
        if live is not None:
            _absorb(live, message)
            del catalog.obsolete[key]


def merge(existing_text: str, catalog: Catalog, template: Catalog) -> str:
    """`catalog` (read strictly from `existing_text`) merged with the template, as .po text."""
    width = detect_width(existing_text)
    revive(catalog, template)
    earlier = {m.id: m.previous_id for m in catalog if m.id and m.fuzzy and m.previous_id}
    catalog.update(template, no_fuzzy_matching=False, update_header_comment=False, update_creation_date=True)
    for message in catalog:
        if message.id in earlier and message.fuzzy and not message.previous_id:
            message.previous_id = earlier[message.id]  # still waiting for the translator: keep showing the change
    for message in catalog:
        if not message.id or not message.fuzzy or not message.previous_id:
            continue
        previous = message.previous_id[0] if isinstance(message.previous_id, (list, tuple)) else message.previous_id
        if previous in template and previous != message.id and message.id not in earlier:
            # the similar string still exists: this is a new message, not an edit of that one, so nothing of
            # that one's (translation, `# reviewed`, a translator's comment) may come with it
            message.string = ""
            message.flags.discard("fuzzy")
            message.previous_id = []
            message.user_comments = []
    unmark_fuzzy(catalog)
    drop_duplicates(catalog)
    for message in catalog.obsolete.values():  # as msgmerge obsoletes: the translator's comments stay, the
        message.auto_comments, message.locations = [], []  # extracted ones and references go (polib drops them)
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
    if msgcat() is None:
        return [], [error(locales, 1, "GNU gettext is not installed (no msgcat), so catalogs cannot be written in "
                                      "the GNU format every tool reads; nothing was updated. Install it: "
                                      "apt-get install gettext", "update")]
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
