"""A publication's glossary: required renderings of key terms, and names never translated.

The check is deliberately forgiving about form (a substring, any case, so
plurals, articles and Arabic prefixes still match) and strict about
presence, occurrence by occurrence: a segment that uses a key term three times
must use an accepted rendering three times (one "compensation" no longer
covers an "offsettable" rendered as "neutralisables"), and a rendering the
glossary forbids for that language is flagged. Footnote labels, citation
keys, link targets and attributes are not counted.
Exported per language pair as TBX-Basic and CSV (Poedit, Weblate).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pubpipe.diagnostics import Diagnostic
from pubpipe.source.schema import validate
from pubpipe.source.yamlfile import line_of, load_yaml


@dataclass(frozen=True)
class Term:
    id: str
    note: str
    source: tuple[str, ...]  # English trigger words
    renderings: dict[str, tuple[str, ...]]  # language tag -> accepted renderings
    line: int
    forbidden: dict[str, tuple[str, ...]] = field(default_factory=dict)  # language tag -> renderings refused

    def triggered_by(self, text: str) -> bool:
        return self.occurrences(text) > 0

    def occurrences(self, text: str) -> int:
        """How many times the source uses the term: whole words, any case, the longest trigger first."""
        return len(self._pattern.findall(plain_text(text)))

    @cached_property
    def _pattern(self) -> re.Pattern:
        words = "|".join(re.escape(word) for word in sorted(self.source, key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.I)


# what a segment carries that is not prose: footnote labels, citation keys, link targets, attributes
NOT_PROSE = re.compile(r"\[\^[^\]\s]+\]|@[\w:.#$%&+?<>~/-]+|\]\([^)]*\)|\{[#.][^{}]*\}|<https?://[^>]*>")


def plain_text(text: str) -> str:
    return NOT_PROSE.sub(" ", text)


def renderings_in(words: tuple[str, ...], text: str) -> int:
    """How many times `text` uses one of `words` (any case, as a substring, without overlaps)."""
    pattern = "|".join(re.escape(w.casefold()) for w in sorted(words, key=len, reverse=True))
    return len(re.findall(pattern, plain_text(text).casefold())) if pattern else 0


@dataclass(frozen=True)
class Glossary:
    path: str
    terms: tuple[Term, ...]
    do_not_translate: tuple[str, ...]

    def missing(self, source: str, target: str, tag: str) -> Iterator[str]:
        """Messages for each required rendering missing from `target` (counted per occurrence in `source`),
        each forbidden rendering used for a term of the source, and each fixed name absent from `target`."""
        folded = plain_text(target).casefold()
        for term, needed in zip(self.terms, self._occurrences(source), strict=True):
            if not needed:
                continue
            wanted = term.renderings.get(tag)
            found = renderings_in(wanted, target) if wanted else 0
            if wanted and found < needed:
                times = "" if needed == 1 else f" ({needed} times in the source, {found} in the translation)"
                yield (f"glossary term '{term.source[0]}' should be rendered as "
                       + " or ".join(f"'{w}'" for w in wanted[:3]) + f"{times} (see {self.path}:{term.line})")
            for word in term.forbidden.get(tag, ()):
                if word.casefold() in folded:
                    yield (f"'{word}' is not an accepted rendering of glossary term '{term.source[0]}' "
                           f"(see {self.path}:{term.line})")
        for name in self.do_not_translate:
            pattern = rf"(?<!\w){re.escape(name)}(?!\w)"
            if re.search(pattern, source) and not re.search(pattern, target):
                yield f"'{name}' is a name that stays as it is in every language (see {self.path})"

    def _occurrences(self, source: str) -> tuple[int, ...]:
        """Each term's count in `source`, once per source text: every catalog of the publication asks again."""
        counts = self._counted.get(source)
        if counts is None:
            plain = plain_text(source)
            counts = self._counted[source] = tuple(len(term._pattern.findall(plain)) for term in self.terms)
        return counts

    @cached_property
    def _counted(self) -> dict[str, tuple[int, ...]]:
        return {}


def load_glossary(path: Path, schema: bool = True) -> tuple[Glossary | None, list[Diagnostic]]:
    """Read glossary.yaml if the publication has one; every departure from its schema is reported (unless
    not `schema`: see publication.read_publication)."""
    if not path.exists():
        return None, []
    data, lines, problems = load_yaml(path, str(path))
    if data is None and not problems:  # an empty file: no terms yet
        return None, []
    problems = problems or (validate("glossary", data, lines, path) if schema else [])
    if problems:
        return None, problems
    terms = []
    for index, item in enumerate(data.get("terms") or []):
        renderings = {tag: tuple(values) for tag, values in item.items()
                      if tag not in ("id", "note", "en", "forbidden")}
        forbidden = {tag: tuple(values) for tag, values in (item.get("forbidden") or {}).items()}
        terms.append(Term(item["id"], item.get("note", ""), tuple(item["en"]), renderings,
                          line_of(lines, "terms", index), forbidden))
    names = tuple(data.get("do_not_translate") or [])
    return Glossary(str(path), tuple(terms), names), problems


def export_csv(glossary: Glossary, source_tag: str, target_tag: str) -> str:
    """One language pair in Weblate's bilingual CSV glossary layout: a `source,target` header, then one row per
    term (its first source word, its preferred rendering) and one per name that is never translated."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["source", "target"])
    for term in glossary.terms:
        if term.renderings.get(target_tag):
            writer.writerow([term.source[0], term.renderings[target_tag][0]])
    for name in glossary.do_not_translate:
        writer.writerow([name, name])
    return buffer.getvalue()


PREFERRED, ADMITTED, DEPRECATED = "preferredTerm-admn-sts", "admittedTerm-admn-sts", "deprecatedTerm-admn-sts"


def _entry_id(text: str) -> str:
    """An XML ID: a letter first, then letters, digits, '-', '_' and '.'."""
    if re.fullmatch(r"[A-Za-z_][\w.-]*", text, flags=re.ASCII):
        return text
    return "t-" + re.sub(r"[^\w.-]", "-", text, flags=re.ASCII)


def export_tbx(glossary: Glossary, source_tag: str, target_tag: str) -> str:
    """One language pair as TBX-Basic (ISO 30042), the bilingual file Weblate and Poedit import.

    One termEntry per term that has a rendering in `target_tag`: the source words (the first preferred),
    the accepted renderings (the first preferred, the others admitted) and the refused ones (deprecated,
    which Weblate shows as forbidden translations); then one per name never translated, marked
    `Translation needed: No` (Weblate's read-only terms). Only the glossary's file name is recorded, never a path.
    """
    from xml.sax.saxutils import escape, quoteattr  # here: it imports urllib.request, 15 ms a build never needs
    header = (f"<martifHeader><fileDesc><sourceDesc><p>Generated from {escape(Path(glossary.path).name)}"
              f" ({escape(source_tag)} to {escape(target_tag)})</p></sourceDesc></fileDesc>"
              '<encodingDesc><p type="XCSURI">TBXBasicXCSV02.xcs</p></encodingDesc></martifHeader>')
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<!DOCTYPE martif SYSTEM "TBXBasiccoreStructV02.dtd">',
           f'<martif type="TBX-Basic" xml:lang={quoteattr(source_tag)}>', header, "<text><body>"]

    def lang_set(tag: str, words: list[tuple[str, str]]) -> str:
        tigs = "".join(f"<tig><term>{escape(word)}</term><termNote type=\"administrativeStatus\">{status}</termNote>"
                       "</tig>" for word, status in words)
        return f"<langSet xml:lang={quoteattr(tag)}>{tigs}</langSet>"

    def ranked(words: tuple[str, ...]) -> list[tuple[str, str]]:
        return [(word, PREFERRED if index == 0 else ADMITTED) for index, word in enumerate(words)]

    for term in glossary.terms:
        accepted = term.renderings.get(target_tag)
        if not accepted:
            continue
        note = f'<descrip type="definition">{escape(term.note)}</descrip>' if term.note else ""
        target = ranked(accepted) + [(word, DEPRECATED) for word in term.forbidden.get(target_tag, ())]
        out.append(f"<termEntry id={quoteattr(_entry_id(term.id))}>{note}"
                   f"{lang_set(source_tag, ranked(term.source))}{lang_set(target_tag, target)}</termEntry>")
    for name in glossary.do_not_translate:
        out.append(f"<termEntry id={quoteattr(_entry_id('dnt-' + name))}>"
                   '<descrip type="definition">A name: never translated</descrip>'
                   '<descrip type="Translation needed">No</descrip>'
                   f"{lang_set(source_tag, [(name, PREFERRED)])}{lang_set(target_tag, [(name, PREFERRED)])}"
                   "</termEntry>")
    out += ["</body></text>", "</martif>", ""]
    return "\n".join(out)


def export_name(slug: str, target_tag: str, suffix: str) -> str:
    """`<slug>-<lang>.<suffix>`: a Weblate glossary component with the file mask `<slug>-*.tbx` (or `*.csv`) reads
    the target language from the part the `*` matches; the source language gets no file of its own."""
    return f"{slug}-{target_tag}.{suffix}"
