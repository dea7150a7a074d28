"""Catalog checks, in the spirit of Babel's checkers and Translate Toolkit's pofilter.

Each check is a small function comparing one msgid with its msgstr and
yielding (severity, message). `check_catalog` runs them all over a catalog
and turns the findings into diagnostics at the .po entry's line, naming the
source segment too. A translation with an error is never published: the
build shows the source text instead and counts it as a fallback.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.plurals import get_plural

from pubpipe.diagnostics import Diagnostic, error, warning
from pubpipe.source.glossary import Glossary
from pubpipe.source.languages import Language
from pubpipe.source.names import NameRules
from pubpipe.source.tokens import CODE_SPAN, FOOTNOTE_REF, LINK_TARGET, PLACEHOLDER, PYTHON_FORMAT, URL, citation_keys
from pubpipe.translate.review import is_intended_identical

Finding = tuple[str, str]  # (severity, message)
DIGITS = re.compile(r"\d+")
HEADING = re.compile(r"^(#{1,6})\s")
LIST_MARKER = re.compile(r"^(?:[-*+]|\d{1,9}[.)]|#[.)])(?=[ \t])")
MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)(.+?)(?<!\s)\$", re.S)
TEXT_IN_MATH = re.compile(r"\\text\{[^{}]*\}")
RAW_MARKUP = [
    (re.compile(r"<\s*/?\s*[A-Za-z][^>]*>|<!--|<\?"), "raw HTML"),
    (re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}"), "template syntax"),
    (re.compile(r"(?:javascript|vbscript|data|file)\s*:", re.I), "a script or local-file URL"),
    (re.compile(r"\{=[A-Za-z0-9_-]+\}"), "a raw-format attribute"),
    (re.compile(r"^\s*(?:```|~~~|:::)", re.M), "a code or div fence"),
    (re.compile(r"\\(?:begin|input|include|write|immediate)\b"), "raw TeX"),
]
# Characters a translation may never carry: C0/C1 controls (tab and newline aside), DEL, NUL, BOM and
# non-characters. They break XML (EPUB, DOCX), Typst and terminals, and hide text from reviewers.
FORBIDDEN_CHAR = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff]")
# Bidi controls: legitimate in right-to-left text (isolates, marks), dangerous when they reorder what a
# reviewer sees ("Trojan Source"); reported as warnings so a reviewer looks at them.
BIDI_CONTROL = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
# Block-level Markdown that starts a line: a translation may not start a block its source does not have.
BLOCK_STARTS = [
    (re.compile(r"^\s*(?:---|\.\.\.)\s*$"), "a YAML metadata block or horizontal rule ('---')"),
    (re.compile(r"^\s*(?:[-*_]\s*){3,}$"), "a horizontal rule"),
    (re.compile(r"^\s*=+\s*$"), "a setext heading underline"),
    (re.compile(r"^\s{0,3}#{1,6}(?:\s|$)"), "a heading"),
    (re.compile(r"^\s*(?:`{3,}|~{3,}|:{3,})"), "a code or div fence"),
    (re.compile(r"^\s*>"), "a block quote"),
    (re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)]|#[.)]|\(?[a-zA-Z][.)])[ \t]"), "a list item"),
    (re.compile(r"^\s*[|+]"), "a table or line block"),
    (re.compile(r"^\s*\[\^[^\]]+\]:"), "a footnote definition"),
    (re.compile(r"^\s*\[[^\]]+\]:"), "a link reference definition"),
    (re.compile(r"^\s*[:~][ \t]"), "a definition list"),
    (re.compile(r"^\s*<"), "an HTML block"),
    (re.compile(r"^\s*$"), "a new paragraph (a blank line)"),
]
FIRST_LINE_KINDS = {"a heading", "a list item", "a new paragraph (a blank line)"}
ATTRIBUTES = re.compile(r"\{\s*[#.][^{}]*\}|\{[^{}=]*=[^{}]*\}")
# A figure's alt text is translated inside its attributes: the value is text, the rest (#id, .class, path) is kept.
ALT_VALUE = re.compile(r"((?<![\w-])(?:fig-)?alt=)\"[^\"]*\"")
TABLE_ROW = re.compile(r"^\s*[|+]")
QUOTE_MARKS = re.compile(r"^[ \t]*((?:>[ \t]?)+)", re.M)
DEFINITION_MARK = re.compile(r"^[ \t]*[:~](?=[ \t])", re.M)
MAX_ENTRY_CHARS = 20_000  # far beyond any paragraph; past this, an entry is refused before any other check
# Expected length of a translation relative to English, by script (characters).
LENGTH_RATIO = {"Hans": (0.15, 0.9), "Hant": (0.15, 0.9), "Jpan": (0.15, 0.9), "Kore": (0.2, 1.0),
                "Arab": (0.5, 1.8), "Latn": (0.6, 2.0), "Cyrl": (0.6, 2.0), "Grek": (0.6, 2.0)}
OTHER_SCRIPTS_RATIO = (0.3, 2.5)  # no measured range yet (Hebrew, Ethiopic, Devanagari, Thai...): only gross errors
ERRORS_BLOCK_PUBLICATION = "error"


@dataclass(frozen=True)
class Context:
    """What the entry checks need to know besides the two strings."""

    language: Language
    native_digits: bool = False  # may numbers be written in the language's own digits?
    glossary: Glossary | None = None
    names: NameRules | None = None
    segment_kind: dict[str, str] = field(default_factory=dict)  # msgid -> heading, formula, ...
    python_format: bool = False  # the ui domain: every msgstr goes through `%` in the templates
    uncovered: Callable[[str], set[str]] | None = None  # characters no face of the edition's stack draws


def _diff(label: str, source: Counter | set, target: Counter | set) -> str:
    missing = sorted((Counter(source) - Counter(target)).elements()) if isinstance(source, Counter) else \
        sorted(set(source) - set(target))
    added = sorted((Counter(target) - Counter(source)).elements()) if isinstance(source, Counter) else \
        sorted(set(target) - set(source))
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if added:
        parts.append("added " + ", ".join(added))
    return f"{label} differ: " + "; ".join(parts)


def check_citation_keys(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """Same set of keys; order may change (Arabic and Chinese reorder)."""
    a, b = {f"@{k}" for k in citation_keys(source)}, {f"@{k}" for k in citation_keys(target)}
    if a != b:
        yield "error", _diff("citation keys", a, b) + " (keep every [@key] exactly as in the source)"


def check_footnotes(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    a, b = Counter(FOOTNOTE_REF.findall(source)), Counter(FOOTNOTE_REF.findall(target))
    if a != b:
        yield "error", _diff("footnote references", Counter(f"[^{k}]" for k in a.elements()),
                             Counter(f"[^{k}]" for k in b.elements()))


def _links(text: str) -> Counter:
    return Counter(URL.findall(text)) + Counter(LINK_TARGET.findall(text))


def check_links(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """URLs, e-mail addresses and link targets are copied, never translated."""
    a, b = _source_links(source), _links(target)
    if a != b:
        yield "error", _diff("links, URLs or e-mail addresses", a, b)


def _numbers(text: str, native: bool) -> Counter:
    if native:  # Arabic-Indic or other decimal digits count as the same number (looked up once per character)
        digits = {ch: str(unicodedata.digit(ch)) for ch in set(text) if ch.isdigit() and not ch.isascii()}
        text = text.translate(str.maketrans(digits)) if digits else text
    return Counter(m for m in DIGITS.findall(text) if m.isascii())


# a source text's counts are the same for every catalog that translates it: taken once (read only)
_source_links = lru_cache(maxsize=4096)(_links)
_source_numbers = lru_cache(maxsize=4096)(partial(_numbers, native=True))


def check_numbers(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """Years and figures are kept. Native digits only where the edition's rule allows them."""
    foreign = sorted({ch for ch in set(target) if ch.isdigit() and not ch.isascii()})
    if foreign and not ctx.native_digits:
        yield "error", (f"numbers written with {''.join(foreign)!r}: the {ctx.language.tag} edition writes "
                        "numbers in Latin digits 0-9 (set 'digits: native' in publication.yaml to change that)")
    a, b = _source_numbers(source), _numbers(target, ctx.native_digits)
    if a != b and not foreign:
        yield "error", _diff("numbers", a, b)


def _math_skeleton(text: str) -> list[str]:
    return [re.sub(r"\s+", "", TEXT_IN_MATH.sub(r"\\text{}", m.group(1) or m.group(2))) for m in MATH.finditer(text)]


def check_formula(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """Math keeps its structure: only the words inside \\text{...} may change."""
    a, b = _math_skeleton(source), _math_skeleton(target)
    if a != b:
        detail = f"expected {' | '.join(a) or 'no math'}, found {' | '.join(b) or 'no math'}"
        yield "error", f"formula structure changed (translate only inside \\text{{...}}): {detail}"


def check_placeholders(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    def found(text: str) -> Counter:
        return Counter([f"{{{k}}}" for k in PLACEHOLDER.findall(text)] + PYTHON_FORMAT.findall(text))

    a, b = found(source), found(target)
    if a != b:
        yield "error", _diff("placeholders", a, b)


def _unescaped(text: str, token: str) -> int:
    return len(re.findall(r"(?<!\\)" + re.escape(token), text))


def check_markdown(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """Heading level and list marker are kept; emphasis and links are balanced."""
    a, b = HEADING.match(source), HEADING.match(target)
    if (a and a.group(1)) != (b and b.group(1)):
        yield "error", (f"heading level changed: the source starts with '{a.group(1) if a else 'no heading'}', "
                        f"the translation with '{b.group(1) if b else 'no heading'}'")
    a, b = LIST_MARKER.match(source), LIST_MARKER.match(target)
    if (a and a.group(0)) != (b and b.group(0)):
        yield "error", (f"list marker changed: '{a.group(0) if a else 'none'}' in the source, "
                        f"'{b.group(0) if b else 'none'}' in the translation (keep it, followed by a space)")
    body = re.sub(r"^(?:#{1,6}\s|(?:[-*+]|\d{1,9}[.)])[ \t])", "", target)
    strong = _unescaped(body, "**")
    single = _unescaped(body.replace("**", ""), "*")
    if strong % 2 or single % 2:
        yield "error", "unbalanced emphasis: every ** or * that opens must close"
    if _unescaped(target, "[") != _unescaped(target, "]"):
        yield "error", "unbalanced brackets: a [link], [@citation] or [^note] is broken"
    a, b = [m.replace(" ", "").replace("\t", "") for m in QUOTE_MARKS.findall(source)], \
        [m.replace(" ", "").replace("\t", "") for m in QUOTE_MARKS.findall(target)]
    if a != b:
        yield "error", (f"block quote markers changed: {len(a)} quoted line(s) in the source, {len(b)} in the "
                        "translation (keep each '>' at the start of its line)")
    if len(DEFINITION_MARK.findall(source)) != len(DEFINITION_MARK.findall(target)):
        yield "error", "definition list markers changed: keep each ':' that starts a definition line"


def _cells(row: str) -> int:
    """Cells of a pipe or grid table row: its unescaped '|' (or '+' of a grid rule), less one."""
    row = re.sub(r"`[^`]*`", "``", row.strip())  # a '|' inside code is text
    mark = "+" if re.fullmatch(r"\+[-=:+]*\+", row) else "|"
    count = len(re.findall(r"(?<!\\)" + re.escape(mark), row))
    if mark == "|" and not row.startswith("|"):
        count += 1
    if mark == "|" and not row.endswith("|"):
        count += 1
    return max(count - 1, 0)


def check_table(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """A table keeps its rows and its cells: a translation may not drop, add or merge one."""
    a = [_cells(line) for line in source.split("\n") if TABLE_ROW.match(line)]
    if not a:
        return
    b = [_cells(line) for line in target.split("\n") if TABLE_ROW.match(line)]
    if len(a) != len(b):
        yield "error", f"the table has {len(a)} row lines in the source and {len(b)} in the translation"
        return
    for number, (x, y) in enumerate(zip(a, b, strict=True), start=1):
        if x != y:
            yield "error", (f"table row {number} has {x} cells in the source and {y} in the translation "
                            "(keep every '|' separator; write a literal bar as \\|)")


def check_raw_markup(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """Translations are untrusted: no HTML, script, template syntax or raw TeX."""
    for pattern, what in RAW_MARKUP:
        found = pattern.search(target)
        if found and not pattern.search(source):
            yield "error", f"{what} is not allowed in a translation: {found.group(0)!r}"


def check_characters(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """No control characters, NUL, BOM or non-characters; bidi controls only where a reviewer sees them."""
    bad = sorted({f"U+{ord(ch):04X}" for ch in FORBIDDEN_CHAR.findall(target)} -
                 {f"U+{ord(ch):04X}" for ch in FORBIDDEN_CHAR.findall(source)})
    if bad:
        yield "error", f"invisible control character(s) {', '.join(bad)}: delete them (they break EPUB, DOCX and PDF)"
    bidi = sorted({f"U+{ord(ch):04X}" for ch in BIDI_CONTROL.findall(target)} -
                  {f"U+{ord(ch):04X}" for ch in BIDI_CONTROL.findall(source)})
    if bidi:
        yield "warning", (f"bidi control character(s) {', '.join(bidi)}: check that the text reads as intended "
                          "(the build isolates Latin runs in right-to-left text by itself)")


def check_structure(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """A translation is text for its own segment: it may not open blocks, metadata or attributes its source lacks.

    pandoc would read a `---` block as document metadata, a blank line as a new paragraph, `:::` as a div;
    the build reads translations without metadata blocks, and this check rejects the attempt at its line.
    """
    def starts(text: str) -> Counter:
        found: Counter = Counter()
        for number, line in enumerate(text.split("\n")):
            for pattern, what in BLOCK_STARTS:
                own_start = number == 0 and what in FIRST_LINE_KINDS  # judged by the markdown check
                if pattern.match(line) and not own_start:
                    found[what] += 1
                    break
        return found

    added = starts(target) - starts(source)
    for what in added:
        yield "error", f"{what} is not allowed here: a translation stays inside its own segment"
    def attributes(text: str) -> Counter:
        return Counter(ALT_VALUE.sub(r'\1"…"', found) for found in ATTRIBUTES.findall(text))

    extra = attributes(target) - attributes(source)
    if extra:
        yield "error", "attributes not in the source: " + ", ".join(sorted(extra))


def check_code(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """Code is a protected token: copied as it is, never added or translated."""
    a, b = Counter(CODE_SPAN.findall(source)), Counter(CODE_SPAN.findall(target))
    if a != b:
        yield "error", _diff("code spans", Counter(m for _t, m in a.elements()),
                             Counter(m for _t, m in b.elements())) + " (copy `code` exactly as in the source)"


def check_size(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    if len(target) > max(MAX_ENTRY_CHARS, 10 * len(source)):
        yield "error", (f"the translation is {len(target):,} characters long for a source of {len(source):,}; "
                        "entries are limited to 10 times their source (or 20,000 characters)")


def check_python_format(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """ui strings are %-formatted by the templates: the translation must format with the source's names."""
    if not ctx.python_format:
        return
    names = {name: "" for name in re.findall(r"%\((\w+)\)", source)}
    try:
        target % _Names(names)
    except (ValueError, TypeError, KeyError) as exc:
        yield "error", (f"not a valid format string ({exc}); write a literal percent sign as %%, and keep "
                        "placeholders such as %(date)s exactly")
        return
    unnamed = re.findall(r"%(?!\(|%)", target.replace("%%", ""))
    if unnamed:
        yield "error", "a bare % is not allowed: write a literal percent sign as %%"


class _Names(dict):
    """A mapping that fails for names the source does not define (a translator's typo)."""

    def __missing__(self, key: str) -> str:
        raise KeyError(f"unknown placeholder %({key})s")


def check_fonts(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """A character no face of the edition's stack draws would print as an empty box: refused here, at its line."""
    if ctx.uncovered is not None:
        missing = ctx.uncovered(target) - set(source)
        if missing:
            yield "error", (f"no font of the {ctx.language.tag} edition draws {''.join(sorted(missing))!r} "
                            f"({', '.join(f'U+{ord(ch):04X}' for ch in sorted(missing))})")


def check_untranslated_copy(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    if target == source and len(source) > 40 and re.search(r"[A-Za-z]{4}", source):
        yield "warning", "the translation is a copy of the English text"


def check_length(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    if len(source) < 60 or target == source or TABLE_ROW.match(source):  # a table's length is its padding
        return
    low, high = LENGTH_RATIO.get(ctx.language.script, OTHER_SCRIPTS_RATIO)
    ratio = len(target) / len(source)
    if not low <= ratio <= high:
        yield "warning", (f"suspicious length: the translation is {ratio:.0%} of the source's length "
                          f"(expected {low:.0%} to {high:.0%} for {ctx.language.script} script); is a sentence "
                          "missing or duplicated?")


def check_whitespace(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    lead = lambda s: s[: len(s) - len(s.lstrip())]  # noqa: E731
    trail = lambda s: s[len(s.rstrip()):]  # noqa: E731
    if lead(source) != lead(target) or trail(source) != trail(target):
        yield "warning", "leading or trailing whitespace differs from the source"


def check_glossary(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    if ctx.glossary:
        for message in ctx.glossary.missing(source, target, ctx.language.tag):
            yield "warning", message


def check_names(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    if ctx.names:
        for message in ctx.names.hand_typed(target):
            yield "error", message


ENTRY_CHECKS: dict[str, Callable[[str, str, Context], Iterator[Finding]]] = {
    "size": check_size,
    "characters": check_characters,
    "structure": check_structure,
    "code": check_code,
    "format": check_python_format,
    "font-coverage": check_fonts,
    "citation-keys": check_citation_keys,
    "footnotes": check_footnotes,
    "links": check_links,
    "numbers": check_numbers,
    "formula": check_formula,
    "placeholders": check_placeholders,
    "markdown": check_markdown,
    "table": check_table,
    "no-raw-markup": check_raw_markup,
    "hand-typed-name": check_names,
    "untranslated-copy": check_untranslated_copy,
    "length": check_length,
    "whitespace": check_whitespace,
    "glossary": check_glossary,
}


def check_message(message: Message, ctx: Context) -> Iterator[tuple[str, str, str]]:
    """(check, severity, message) for one translated, non-fuzzy entry; every plural form is checked."""
    if message.fuzzy:
        return
    ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
    forms = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    for index, target in enumerate(forms):
        if not isinstance(target, str) or not target:
            continue
        source = str(ids[min(index, len(ids) - 1)])
        label = f"msgstr[{index}]: " if len(forms) > 1 else ""
        for name, check in ENTRY_CHECKS.items():
            if name == "untranslated-copy" and is_intended_identical(message):
                continue  # `# identical: intended`: the copy is the translation
            findings = list(check(source, target, ctx))
            for severity, text in findings:
                yield name, severity, label + text
            if name == "size" and findings:
                break  # an oversized entry is refused before the costlier checks read it


def check_catalog(path: Path | str, catalog: Catalog, ctx: Context) -> tuple[list[Diagnostic], set[str]]:
    """Diagnostics for every entry, and the msgids whose translation must not be used."""
    problems, rejected = [], set()
    for message in catalog:
        if not message.id:
            continue
        for name, severity, text in check_message(message, ctx):
            where = f" (source: {message.locations[0][0]}:{message.locations[0][1]})" if message.locations else ""
            make = error if severity == "error" else warning
            problems.append(make(path, message.lineno or 1, text + where, name))
            if severity == "error":
                rejected.add(message.id if isinstance(message.id, str) else tuple(message.id))
    return problems, rejected


def check_header(path: Path | str, catalog: Catalog, text: str, language: Language) -> list[Diagnostic]:
    """Language matches the folder, UTF-8, and Plural-Forms right for the language [po-header]."""
    problems = []
    headers = dict(catalog.mime_headers)

    def line(field_name: str) -> int:
        for number, row in enumerate(text.split("\n"), start=1):
            if row.startswith(f'"{field_name}:'):
                return number
        return 1

    declared = headers.get("Language", "").strip()
    if declared.replace("-", "_") != language.catalog_dir:
        problems.append(error(path, line("Language"), f"header Language is '{declared}' but the catalog is in "
                                                      f"'{language.catalog_dir}/'; they must match", "po-header"))
    content_type = headers.get("Content-Type", "")
    charset = re.search(r"charset=([\w-]+)", content_type)
    if not charset or charset.group(1).lower().replace("_", "-") != "utf-8":
        problems.append(error(path, line("Content-Type"), f"charset must be UTF-8, not "
                                                          f"'{charset.group(1) if charset else content_type}'",
                              "po-header"))
    if not language.is_pseudo:
        expected = get_plural(str(language.locale))
        plural = headers.get("Plural-Forms", "")
        found = re.search(r"nplurals\s*=\s*(\d+)", plural)
        if not found or int(found.group(1)) != expected.num_plurals:
            problems.append(error(path, line("Plural-Forms"),
                                  f"Plural-Forms must be '{expected.plural_forms}' for {language.tag}, not "
                                  f"'{plural or 'missing'}'", "po-header"))
    return problems
