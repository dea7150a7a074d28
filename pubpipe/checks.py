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
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.plurals import get_plural

from .diagnostics import Diagnostic, error, warning
from .glossary import Glossary
from .languages import Language
from .names import NameRules
from .tokens import FOOTNOTE_REF, LINK_TARGET, PLACEHOLDER, PYTHON_FORMAT, URL, citation_keys

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
# Expected length of a translation relative to English, by script (characters).
LENGTH_RATIO = {"Hans": (0.15, 0.9), "Hant": (0.15, 0.9), "Arab": (0.5, 1.8), "Latn": (0.6, 2.0)}
ERRORS_BLOCK_PUBLICATION = "error"


@dataclass(frozen=True)
class Context:
    """What the entry checks need to know besides the two strings."""

    language: Language
    native_digits: bool = False  # may numbers be written in the language's own digits?
    glossary: Glossary | None = None
    names: NameRules | None = None
    segment_kind: dict[str, str] = field(default_factory=dict)  # msgid -> heading, formula, ...


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


def check_links(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """URLs, e-mail addresses and link targets are copied, never translated."""
    a = Counter(URL.findall(source)) + Counter(LINK_TARGET.findall(source))
    b = Counter(URL.findall(target)) + Counter(LINK_TARGET.findall(target))
    if a != b:
        yield "error", _diff("links, URLs or e-mail addresses", a, b)


def _numbers(text: str, native: bool) -> Counter:
    if native:  # Arabic-Indic or other decimal digits count as the same number
        text = "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in text)
    return Counter(m for m in DIGITS.findall(text) if m.isascii())


def check_numbers(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """Years and figures are kept. Native digits only where the edition's rule allows them."""
    foreign = sorted({ch for ch in target if ch.isdigit() and not ch.isascii()})
    if foreign and not ctx.native_digits:
        yield "error", (f"numbers written with {''.join(foreign)!r}: the {ctx.language.tag} edition writes "
                        "numbers in Latin digits 0-9 (set 'digits: native' in publication.yaml to change that)")
    a, b = _numbers(source, True), _numbers(target, ctx.native_digits)
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


def check_raw_markup(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    """Translations are untrusted: no HTML, script, template syntax or raw TeX."""
    for pattern, what in RAW_MARKUP:
        found = pattern.search(target)
        if found and not pattern.search(source):
            yield "error", f"{what} is not allowed in a translation: {found.group(0)!r}"


def check_untranslated_copy(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    if target == source and len(source) > 40 and re.search(r"[A-Za-z]{4}", source):
        yield "warning", "the translation is a copy of the English text"


def check_length(source: str, target: str, ctx: Context) -> Iterator[Finding]:
    if len(source) < 60 or target == source:
        return
    low, high = LENGTH_RATIO.get(ctx.language.script, LENGTH_RATIO["Latn"])
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
    "citation-keys": check_citation_keys,
    "footnotes": check_footnotes,
    "links": check_links,
    "numbers": check_numbers,
    "formula": check_formula,
    "placeholders": check_placeholders,
    "markdown": check_markdown,
    "no-raw-markup": check_raw_markup,
    "hand-typed-name": check_names,
    "untranslated-copy": check_untranslated_copy,
    "length": check_length,
    "whitespace": check_whitespace,
    "glossary": check_glossary,
}


def check_message(message: Message, ctx: Context) -> Iterator[tuple[str, str, str]]:
    """(check, severity, message) for one translated, non-fuzzy entry."""
    source, target = str(message.id), message.string
    if not isinstance(target, str) or not target or message.fuzzy:
        return
    for name, check in ENTRY_CHECKS.items():
        for severity, text in check(source, target, ctx):
            yield name, severity, text


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
                rejected.add(str(message.id))
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
