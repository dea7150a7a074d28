"""Stage 5: verify what was written, from the artifacts themselves.

Typst draws empty boxes silently when no font has a glyph, so each PDF is
read back: every embedded font must be one the language's stack chose or
another face of the font table (pubpipe/render/scripts.json: a Hebrew name in
an English edition is drawn by the Hebrew face), every character it draws
must be in that font's cmap, and no glyph may lack a Unicode mapping (the
sign of a .notdef box).
"""

from __future__ import annotations

import re
from pathlib import Path

import pypdf

from pubpipe.render.fonts import MATH, FontStack, coverage_by_postscript_name, table_families

SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")


def _fonts(resources, seen: set) -> list:
    found = []
    if not resources:
        return found
    resources = resources.get_object()
    for font in (resources.get("/Font") or {}).values():
        font = font.get_object()
        if id(font) not in seen:
            seen.add(id(font))
            found.append(font)
    for xobject in (resources.get("/XObject") or {}).values():
        xobject = xobject.get_object()
        if xobject.get("/Resources"):
            found += _fonts(xobject["/Resources"], seen)
    return found


def _unicode_chars(font) -> set[str]:
    to_unicode = font.get("/ToUnicode")
    if not to_unicode:
        return set()
    cmap = to_unicode.get_object().get_data().decode("latin-1")
    chars: set[str] = set()
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for hexa in re.findall(r"<[0-9A-Fa-f]+>\s*<([0-9A-Fa-f]+)>", block):
            chars |= set(bytes.fromhex(hexa).decode("utf-16-be", errors="replace"))
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            start = int(dst, 16)
            chars |= {chr(start + k) for k in range(int(hi, 16) - int(lo, 16) + 1)}
    return chars


def postscript_name(font) -> str:
    name = str(font.get("/BaseFont", "")).lstrip("/")
    name = SUBSET_PREFIX.sub("", name)
    return name.removesuffix("-Identity-H")


def family_key(family: str) -> str:
    """'Noto Serif CJK JP' -> 'notoserifcjkjp', the family part of its PostScript name, lowercased."""
    return family.replace(" ", "").lower()


def pdf_fonts(path: Path) -> dict[int, dict[str, set[str]]]:
    """Page number (from 1) -> PostScript name of each font first used on that page -> characters it draws."""
    reader = pypdf.PdfReader(str(path))
    seen: set = set()
    return {number: {postscript_name(font): _unicode_chars(font) for font in _fonts(page.get("/Resources"), seen)}
            for number, page in enumerate(reader.pages, 1)}


def pdf_font_problems(path: Path, stack: FontStack, table: tuple[str, ...] | None = None) -> list[str]:
    """Problems with the fonts of a PDF, as sentences; empty when every glyph is covered.

    A font is accepted if the edition's stack has it or it is one of `table` (by default every face of
    the font table), and only for the characters its cmap has."""
    reader = pypdf.PdfReader(str(path))
    coverage = coverage_by_postscript_name()
    problems = []
    seen: set = set()
    allowed = {family_key(family) for family in stack.families + (table_families() if table is None else table)}
    allowed |= {"newcmmath"} if MATH in stack.math else set()
    for page in reader.pages:
        for font in _fonts(page.get("/Resources"), seen):
            name = postscript_name(font)
            family = name.split("-")[0].lower()
            if family not in allowed:
                drawn = "".join(sorted(ch for ch in _unicode_chars(font) if not ch.isspace()))
                problems.append(f"font '{name}' is a fallback outside the chosen stack and the font table, "
                                f"drawing {drawn[:40]!r}: no face of pubpipe/render/scripts.json covers them")
            cmap = coverage.get(name)
            if cmap is None:
                continue  # typst's own embedded math font: no file to read, covered by the .notdef test
            missing = sorted(ch for ch in _unicode_chars(font) if ord(ch) not in cmap and not ch.isspace())
            if missing:
                problems.append(f"font '{name}' draws characters it lacks: {''.join(missing[:20])}")
    text = "".join(page.extract_text() or "" for page in reader.pages)
    if "\x00" in text or "\ufffd" in text:
        problems.append(f"{text.count(chr(0)) + text.count(chr(0xFFFD))} glyph(s) have no font (empty boxes)")
    return problems
