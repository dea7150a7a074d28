"""A publication's glossary: required renderings of key terms, and names never translated.

The check is deliberately forgiving about form (a substring, any case, so
plurals, articles and Arabic prefixes still match) and strict about
presence: a segment that uses a key term must use the agreed rendering.
Exported as TBX (Poedit, Weblate) and CSV for translators.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

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

    def triggered_by(self, text: str) -> bool:
        return any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.I) for word in self.source)


@dataclass(frozen=True)
class Glossary:
    path: str
    terms: tuple[Term, ...]
    do_not_translate: tuple[str, ...]

    def missing(self, source: str, target: str, tag: str) -> Iterator[str]:
        """Messages for each required rendering or fixed name absent from `target`."""
        folded = target.casefold()
        for term in self.terms:
            wanted = term.renderings.get(tag)
            if wanted and term.triggered_by(source) and not any(w.casefold() in folded for w in wanted):
                yield (f"glossary term '{term.source[0]}' should be rendered as "
                       + " or ".join(f"'{w}'" for w in wanted[:3]) + f" (see {self.path}:{term.line})")
        for name in self.do_not_translate:
            pattern = rf"(?<!\w){re.escape(name)}(?!\w)"
            if re.search(pattern, source) and not re.search(pattern, target):
                yield f"'{name}' is a name that stays as it is in every language (see {self.path})"


def load_glossary(path: Path) -> tuple[Glossary | None, list[Diagnostic]]:
    """Read glossary.yaml if the publication has one; every departure from its schema is reported."""
    if not path.exists():
        return None, []
    data, lines, problems = load_yaml(path, str(path))
    if data is None and not problems:  # an empty file: no terms yet
        return None, []
    problems = problems or validate("glossary", data, lines, path)
    if problems:
        return None, problems
    terms = []
    for index, item in enumerate(data.get("terms") or []):
        renderings = {tag: tuple(values) for tag, values in item.items() if tag not in ("id", "note", "en")}
        terms.append(Term(item["id"], item.get("note", ""), tuple(item["en"]), renderings,
                          line_of(lines, "terms", index)))
    names = tuple(data.get("do_not_translate") or [])
    return Glossary(str(path), tuple(terms), names), problems


def export_csv(glossary: Glossary, languages: list[str]) -> str:
    """One row per term: Weblate's and Poedit's CSV glossary import (source, target per language)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "en", *languages, "note"])
    for term in glossary.terms:
        writer.writerow([term.id, term.source[0], *("; ".join(term.renderings.get(t, ())) for t in languages),
                         term.note])
    for name in glossary.do_not_translate:
        writer.writerow([name, name, *([name] * len(languages)), "do not translate"])
    return buffer.getvalue()


def export_tbx(glossary: Glossary, languages: list[str]) -> str:
    """TBX-Basic (ISO 30042): one termEntry per term, preferred rendering first."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<martif type="TBX" xml:lang="en">',
           "<martifHeader><fileDesc><sourceDesc><p>Generated from "
           f"{escape(glossary.path)}</p></sourceDesc></fileDesc></martifHeader>",
           "<text><body>"]

    def lang_set(tag: str, words: tuple[str, ...], status: str | None = None) -> str:
        terms = "".join(
            f"<tig><term>{escape(word)}</term>"
            + (f'<termNote type="administrativeStatus">{status}</termNote>' if status else "")
            + "</tig>" for word in words)
        return f"<langSet xml:lang={quoteattr(tag)}>{terms}</langSet>"

    for term in glossary.terms:
        note = f"<descrip type=\"definition\">{escape(term.note)}</descrip>" if term.note else ""
        sets = lang_set("en", term.source[:1]) + "".join(
            lang_set(tag, term.renderings[tag][:1], "preferredTerm-admn-sts")
            for tag in languages if term.renderings.get(tag))
        out.append(f"<termEntry id={quoteattr(term.id)}>{note}{sets}</termEntry>")
    for name in glossary.do_not_translate:
        sets = "".join(lang_set(tag, (name,)) for tag in ["en", *languages])
        out.append(f"<termEntry id={quoteattr('dnt-' + name)}><descrip type=\"definition\">"
                   f"Do not translate</descrip>{sets}</termEntry>")
    out += ["</body></text>", "</martif>", ""]
    return "\n".join(out)
