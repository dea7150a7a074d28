"""gettext catalogs: extract the template, read translations, look them up.

Catalogs are untrusted input (translators are outside contributors), so
reading one never raises: every problem becomes a diagnostic with the .po
line, and a catalog that cannot be parsed is reported, not half-used.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po, unescape

from pubpipe.diagnostics import Diagnostic, error
from pubpipe.source.files import read_bytes_inside
from pubpipe.source.languages import Language
from pubpipe.source.publication import Publication
from pubpipe.source.segments import Segment
from pubpipe.source.tokens import protected
from pubpipe.translate.gnu import EXTRA_HEADERS, GettextMissing, gnu_layout, po_text
from pubpipe.translate.review import is_untranslated_copy

PO_LINE = re.compile(r'^(?:(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+)?"(?:[^"\\]|\\.)*"$')
PREVIOUS_LINE = re.compile(r'^(?:(?:msgctxt|msgid|msgid_plural)\s+)?"(?:[^"\\]|\\.)*"$')
KIND_NOTES = {
    "heading": "Heading. Keep the leading '#' marks.",
    "paragraph": "Paragraph.",
    "list-item": "List item. Keep the list marker at the start.",
    "footnote": "Footnote text.",
    "formula": "Display formula (TeX). Translate only the words inside \\text{...}; keep everything else.",
    "table": "Table. Keep the '|' column separators.",
    "figure": ("Figure. Translate the caption inside ![...] and the alt text inside fig-alt=\"...\" (or alt=\"...\"); "
               "keep the image path in (...), the #id and the .classes unchanged."),
    "table-caption": "Table caption. Keep the leading 'Table:' or ':' and any {#id} unchanged.",
    "block-quote": "Block quote. Keep the '>' at the start of every line.",
    "definition": "Definition list: the term, then its definition. Keep the ':' that starts the definition line.",
    "metadata": "Metadata string.",
    "alt": ("Alternative text of the formula below: one plain sentence read aloud in place of the formula "
            "(screen readers, PDF, EPUB, DOCX). Plain text only: no markup, no TeX."),
}
WIDTH = 79  # GNU gettext's page width; 0 means GNU's --no-wrap
KNOWN_HEADERS = {"project-id-version", "report-msgid-bugs-to", "pot-creation-date", "po-revision-date",
                 "last-translator", "language", "language-team", "plural-forms", "mime-version", "content-type",
                 "content-transfer-encoding", "generated-by"}  # the fields Babel models; others are carried along
# Where a line break means something, a segment's msgid keeps its lines: a formula, a table, a block quote,
# a line block, a definition, a setext underline or a table rule, a fence.
LINE_STRUCTURED = re.compile(r"\n[ \t]*(?:[|>+]|:[ \t]|`{3,}|~{3,}|[-=:|+ \t]*[-=]{3,}[-=:|+ \t]*$)", re.M)
PROTECTED_SPAN = re.compile(r"(`+)[\s\S]*?(?<!`)\1(?!`)|\$\$[\s\S]*?\$\$")
WHITESPACE_RUN = re.compile(r"[ \t\n]+")


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
    keep = protected(segment.text)
    if keep:
        notes.append("Keep unchanged: " + " ".join(dict.fromkeys(keep)))
    return notes


def segment_msgid(text: str) -> str:
    """A segment's identity in the catalogs: its text with line wrapping and insignificant whitespace removed.

    Runs of spaces, tabs and newlines become one space (as mdbook-i18n-helpers
    does), so re-wrapping a paragraph or a double space after a full stop
    changes no msgid. Kept as written: hard line breaks (a backslash or two
    spaces before the newline, canonically two spaces), code spans (a newline
    in one is a space, as pandoc reads it), display math `$$...$$`, and whole
    segments whose lines carry structure (formulas, tables, quotes, line
    blocks, definitions). Extraction and lookup both use it, and it is
    idempotent. Only ASCII whitespace counts: a no-break space is a character.
    """
    if text.startswith(("$$", "|", "+-")) or LINE_STRUCTURED.search(text):
        return text
    out, end = [], 0
    for span in PROTECTED_SPAN.finditer(text):
        out.append(_collapse(text[end:span.start()], text, end))
        chunk = span.group(0)
        out.append(re.sub(r"\n[ \t]*", " ", chunk) if chunk.startswith("`") else chunk)
        end = span.end()
    out.append(_collapse(text[end:], text, end))
    return "".join(out).strip(" \t\n")


def _collapse(chunk: str, text: str, offset: int) -> str:
    def one(run: re.Match) -> str:
        if "\n" not in run.group(0):
            return " "
        before = run.group(0)[: run.group(0).index("\n")]
        backslashes = len(text[: offset + run.start()]) - len(text[: offset + run.start()].rstrip("\\"))
        if backslashes % 2 and not before:
            return "\n"  # backslash hard break
        return "  \n" if before.count(" ") >= 2 and run.end() < len(chunk) else " "

    return WHITESPACE_RUN.sub(one, chunk)


def build_template(publication: Publication, root: Path) -> Catalog:
    """The .pot: one message per distinct segment (by `segment_msgid`), in reading order."""
    catalog = Catalog(project=domain(publication), version=str(publication.year),
                      creation_date=_catalog_date(publication), revision_date=_catalog_date(publication),
                      fuzzy=False, charset="utf-8",
                      msgid_bugs_address=publication.contact)
    for segment in publication.segments:
        location = (_relative(segment.path, root), segment.line)
        msgid = segment_msgid(segment.text)
        existing = catalog.get(msgid)
        if existing is not None:
            existing.locations.append(location)
            continue
        catalog.add(msgid, "", locations=[location], auto_comments=translator_notes(segment))
    return catalog


def _catalog_date(publication: Publication) -> dt.datetime:
    year = publication.year
    date = publication.date if isinstance(publication.date, dt.date) else dt.date(year, 1, 1)
    return dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def serialize(catalog: Catalog, width: int = WIDTH) -> str:
    """The catalog as .po text, exactly as GNU gettext writes it (`width` 0: as with `--no-wrap`).

    Every field is kept, obsolete entries' flags and previous msgids too
    (pubpipe.translate.gnu). Without GNU gettext installed the text is valid
    but unwrapped; `update` refuses to write catalogs then (see update.py).
    """
    text = po_text(catalog)
    try:
        laid_out = gnu_layout(text, wrap=bool(width))
    except (GettextMissing, ValueError):
        return text
    # GNU strings are C strings: msgcat silently cuts one at a NUL. Never trade a translator's text for layout.
    return laid_out if _content(parse_po(laid_out)) == _content(parse_po(text)) else text


def _content(catalog: Catalog) -> list:
    return [(m.id, m.context, m.string, sorted(m.flags), m.user_comments, m.previous_id)
            for m in [*catalog, *catalog.obsolete.values()]]


def parse_po(text: str, locale: str | None = None, abort_invalid: bool = False) -> Catalog:
    """A catalog as GNU gettext means it: Babel's reader, plus the previous msgids it drops."""
    catalog = read_po(io.StringIO(_without_obsolete_previous(text)), locale=locale, abort_invalid=abort_invalid)
    read_previous(catalog, text)
    extra = _extra_headers(text)
    if extra:
        setattr(catalog, EXTRA_HEADERS, extra)
    return catalog


def _without_obsolete_previous(text: str) -> str:
    """`#~|` lines (GNU's previous msgid of an obsolete entry), which Babel refuses, as `#|` lines.

    Babel takes those for translator comments, which `read_previous` turns
    back into the previous msgid; every line keeps its number.
    """
    if "#~|" not in text:
        return text
    return re.sub(r"(?m)^#~\|", "#|", text)


def _extra_headers(text: str) -> list[tuple[str, str]]:
    """Header fields Babel does not model (X-Generator, X-Poedit-..., ...), in their order."""
    match = re.search(r'(?m)^msgid ""\nmsgstr ((?:"(?:[^"\\]|\\.)*"\n?)+)', text)
    if not match:
        return []
    header = "".join(unescape(part) for part in re.findall(r'"(?:[^"\\]|\\.)*"', match.group(1)))
    fields = []
    for line in header.split("\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip() and name.strip().lower() not in KNOWN_HEADERS:
            fields.append((name.strip(), value.strip()))
    return fields


def read_previous(catalog: Catalog, text: str) -> None:
    """Attach the `#| msgid` of each entry in `text` to its message (Babel drops them)."""
    previous: dict[int, str] = {}
    pending: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith("#~| "):
            line = "#| " + line[4:]
        elif line.startswith("#~ "):
            line = line[3:]
        if line.startswith("#| msgid "):
            pending = [line[len("#| msgid "):].strip()]
        elif line.startswith('#| "') and pending:
            pending.append(line[3:].strip())
        elif line.startswith("#|"):
            continue  # a previous msgctxt or msgid_plural: not kept
        elif line.startswith("msgid ") and pending:
            previous[number] = "".join(unescape(part) for part in pending)
            pending = []
        elif not line.startswith(("#", "msgctxt ", '"')):
            pending = []
    for message in [*catalog, *catalog.obsolete.values()]:
        message.user_comments = [c for c in message.user_comments if not c.startswith("|")]  # Babel's misreading
        if message.lineno in previous:
            message.previous_id = [previous[message.lineno]]


@dataclass(frozen=True)
class Translations:
    """Looked-up translations of one edition.

    Fuzzy and empty entries do not count, nor do entries a check rejected:
    all of them fall back to the source text.
    """

    path: str | None
    catalog: Catalog | None
    rejected: frozenset[str] = frozenset()
    official: bool = False  # in an official edition, a prose copy of the source counts as untranslated

    @classmethod
    def unchecked(cls, path: Path | None, catalog: Catalog | None, official: bool) -> Translations:
        """What the build makes of a catalog when no check rejects an entry: the guess of a parse started before
        the checks (pipeline.Ahead, release/head_start.py). No catalog: the source edition."""
        return cls(str(path), catalog, frozenset(), official) if catalog is not None else cls(None, None)

    def state(self, msgid: str) -> str:
        """translated, missing (not in the catalog), untranslated, fuzzy or rejected (by a check).

        `msgid` may be a segment's text as written: it is looked up by `segment_msgid`, as it was extracted.
        """
        msgid = segment_msgid(msgid)
        message = self.catalog.get(msgid) if self.catalog is not None else None
        if message is None:
            return "missing"
        if not message.string or not isinstance(message.string, str):
            return "untranslated"
        if message.fuzzy:
            return "fuzzy"
        if self.official and is_untranslated_copy(message):
            return "untranslated"
        return "rejected" if msgid in self.rejected else "translated"

    def lookup(self, msgid: str) -> str | None:
        return self.catalog.get(segment_msgid(msgid)).string if self.state(msgid) == "translated" else None


MAX_ENTRIES = 50_000  # a brief has a few hundred segments; a catalog past this is refused before parsing


def read_catalog(path: Path, language: Language, root: Path) -> tuple[Catalog | None, list[Diagnostic]]:
    """Parse a .po strictly: every malformed line and header problem is reported with its number.

    A catalog that is a link leaving the repository (`root`), or absurdly large, is not read at all.
    """
    if not path.exists() and not path.is_symlink():
        return None, []
    try:
        raw = read_bytes_inside(path, root)
    except FileNotFoundError:
        return None, [error(path, 1, "the catalog is a broken symbolic link; it is not read", "po-syntax")]
    except OSError as exc:
        return None, [error(path, 1, f"cannot read the catalog: {exc.strerror or exc}", "po-syntax")]
    except ValueError as exc:  # outside the repository, or too big
        return None, [error(path, 1, str(exc), "po-syntax")]
    entries = raw.count(b"\nmsgid ")
    if entries > MAX_ENTRIES:
        return None, [error(path, 1, f"the catalog has {entries:,} entries, over the limit of {MAX_ENTRIES:,}; "
                                     "a catalog holds one publication's segments (run 'python build.py update')",
                            "po-syntax")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [error(path, line, "catalog is not valid UTF-8", "po-syntax")]
    problems = list(_syntax_problems(path, text))
    if problems:
        return None, problems
    header = re.search(r'^"Language: *([^"\\]*)', text, re.M)
    if header and not re.fullmatch(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*", header.group(1).strip()):
        # never handed to Babel (which would try to load it as a locale): reported, then read as the folder's
        line = text[: header.start()].count("\n") + 1
        problems.append(error(path, line, f"header Language is '{header.group(1).strip()}', which is not a language "
                                          f"tag; it must be '{language.catalog_dir}' like its folder", "po-header"))
        text = text[: header.start(1)] + language.catalog_dir + text[header.end(1):]
        raw = text.encode("utf-8")
    try:
        catalog = parse_po(text, abort_invalid=True)
    except PoFileError as exc:
        return None, [error(path, exc.lineno + 1, f"malformed catalog: {exc.args[0]}", "po-syntax")]
    except Exception as exc:  # Babel raises assorted errors on garbage; report, never crash
        return None, [error(path, 1, f"malformed catalog: {exc}", "po-syntax")]
    from pubpipe.translate.checks import check_header

    return catalog, problems + check_header(path, catalog, text, language)


def _syntax_problems(path: Path, text: str):
    """What Babel would silently skip or merge: malformed lines, a msgid without msgstr, duplicates.

    A small state machine over the lines, so the diagnostic names the line a
    translator has to fix (a missing quote, a lost `msgstr`).
    """
    seen: dict[tuple[str, str], int] = {}
    state, entry_line, context, msgid_parts = "start", 0, "", []
    current: list[str] | None = None

    def finish() -> Iterator[Diagnostic]:
        if state in ("msgid", "msgid_plural"):
            yield error(path, entry_line, "this msgid has no msgstr", "po-syntax")
        elif state == "msgstr" and msgid_parts is not None:
            key = (context, "".join(msgid_parts))
            if key in seen and key[1]:
                yield error(path, entry_line, f"duplicate entry; the same msgid is already at line {seen[key]}",
                            "po-syntax")
            seen.setdefault(key, entry_line)

    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped.startswith("#~") or not stripped or stripped.startswith("#"):
            if stripped.startswith("#~|"):
                if not PREVIOUS_LINE.match(stripped[3:].strip() or '""'):
                    yield error(path, number, f"malformed previous msgid {stripped[:50]!r}", "po-syntax")
            elif stripped.startswith("#~") and not PO_LINE.match(stripped[2:].strip() or '""'):
                yield error(path, number, f"malformed obsolete line {stripped[:50]!r}", "po-syntax")
            continue
        if not PO_LINE.match(stripped):
            yield error(path, number, f"malformed line {stripped[:50]!r}: expected msgid, msgstr, msgctxt "
                                      "or a quoted string (is a quote missing?)", "po-syntax")
            state, current = "broken", None  # one problem, one diagnostic: the entry is not judged further
            continue
        keyword = stripped.split(" ", 1)[0] if not stripped.startswith('"') else None
        value = stripped[stripped.index('"'):]
        if keyword == "msgctxt" or (keyword == "msgid" and state != "msgctxt"):
            yield from finish()
            entry_line, context, msgid_parts = number, "", []
        if keyword is None:
            if state == "start":
                yield error(path, number, "a string continues nothing: msgid or msgstr is missing before it",
                            "po-syntax")
            elif current is not None:
                current.append(value)
            continue
        if keyword == "msgctxt":
            state, current = "msgctxt", []
            context_parts = current
            context_parts.append(value)
        elif keyword == "msgid":
            if state == "msgctxt":
                context = "".join(current or [])
            state, current = "msgid", msgid_parts
            current.append(value)
        elif keyword == "msgid_plural":
            if state != "msgid":
                yield error(path, number, "msgid_plural must follow a msgid", "po-syntax")
            state, current = "msgid_plural", []
        elif keyword.startswith("msgstr"):
            if state not in ("msgid", "msgid_plural", "msgstr"):
                yield error(path, number, "msgstr without a msgid before it", "po-syntax")
            state, current = "msgstr", []
    yield from finish()
