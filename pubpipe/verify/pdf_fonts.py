"""Stage 5: verify what was written, from the artifacts themselves.

Typst draws empty boxes silently when no font has a glyph, so each PDF is
read back: every embedded font must be one the language's stack chose or
another face of the font table (pubpipe/render/scripts.json: a Hebrew name in
an English edition is drawn by the Hebrew face), every character it draws
must be in that font's cmap, and no text may draw glyph 0, the .notdef box.

Cheap by design: the fonts, their ToUnicode maps and the glyph codes of the
content streams are read directly (no text extraction, no layout), and only
the faces the PDF embeds have their cmaps read from the font files.
"""

from __future__ import annotations

import re
from array import array
from functools import cache
from pathlib import Path

import pypdf

from pubpipe.render.fonts import MATH, FontStack, _face, _typst_fonts, table_families

SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")
# a literal string shown by Tj or TJ: typst writes glyph ids as two-byte codes (Identity-H)
LITERAL = re.compile(rb"\((?:[^\\()]|\\.)*\)", re.S)
ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r\n|[\s\S])")
ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
# Two zero bytes in a row, as a content stream may write them: a raw NUL, or an octal escape whose value is 0
# modulo 256 (\0, \00, \000, \400), with line continuations between. Every glyph 0 shown is such a pair, so a
# stream without one shows none; the other way round it is only a candidate (the pair may straddle two codes,
# or follow an escaped backslash), which notdef_count decodes exactly.
_ZERO = rb"(?:\\[04]00|\\00(?![0-7])|\\0(?![0-7])|\x00)"
ZERO_PAIR = re.compile(_ZERO + rb"(?:\\\r\n|\\[\r\n])*" + _ZERO)


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
    problems = []
    seen: set = set()
    allowed = {family_key(family) for family in stack.families + (table_families() if table is None else table)}
    allowed |= {"newcmmath"} if MATH in stack.math else set()
    boxes = 0
    for page in reader.pages:
        for font in _fonts(page.get("/Resources"), seen):
            name = postscript_name(font)
            family = name.split("-")[0].lower()
            if family not in allowed:
                drawn = "".join(sorted(ch for ch in _unicode_chars(font) if not ch.isspace()))
                problems.append(f"font '{name}' is a fallback outside the chosen stack and the font table, "
                                f"drawing {drawn[:40]!r}: no face of pubpipe/render/scripts.json covers them")
            cmap = coverage(name)
            if cmap is None:
                continue  # typst's own embedded math font: no file to read, covered by the .notdef test
            missing = sorted(ch for ch in _unicode_chars(font) if ord(ch) not in cmap and not ch.isspace())
            if missing:
                problems.append(f"font '{name}' draws characters it lacks: {''.join(missing[:20])}")
        boxes += sum(notdef_count(data) for data in _content_streams(page))
    if boxes:
        problems.append(f"{boxes} glyph(s) have no font (empty boxes)")
    return problems


@cache
def _faces_by_family() -> dict[str, list]:
    """family_key -> installed faces, as typst finds them; math under its PostScript family (NewCMMath)."""
    out: dict[str, list] = {}
    for info in _typst_fonts():
        if info.path:
            key = "newcmmath" if info.family == MATH else family_key(info.family)
            out.setdefault(key, []).append(info)
    return out


@cache
def coverage(name: str) -> frozenset[int] | None:
    """Code points of the installed face with this PostScript name (None if no installed face has it).

    Only the faces of its family are opened, so a PDF costs the cmaps of the faces it embeds."""
    found = None
    for info in _faces_by_family().get(name.split("-")[0].lower(), []):
        face_name, cmap = _face(str(info.path), info.index)
        if face_name == name:
            found = (found or frozenset()) | cmap
    return found


def _content_streams(page) -> list[bytes]:
    """The page's content stream and those of the form XObjects it draws."""
    contents = page.get_contents()
    streams = [contents.get_data()] if contents is not None else []
    pending = [page.get("/Resources")]
    seen: set = set()
    while pending:
        resources = pending.pop()
        if not resources:
            continue
        for xobject in (resources.get_object().get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if id(xobject) in seen or xobject.get("/Subtype") != "/Form":
                continue
            seen.add(id(xobject))
            streams.append(xobject.get_data())
            pending.append(xobject.get("/Resources"))
    return streams


def notdef_count(content: bytes) -> int:
    """How many times the content stream shows glyph 0 (.notdef): two-byte codes in its literal strings.
    A code of 0 reads the same in either byte order, so the machine's 16-bit array counts it. A stream with
    no pair of zero bytes anywhere is answered by one search (Typst numbers a subset's glyphs from 1)."""
    if ZERO_PAIR.search(content) is None:
        return 0
    count = 0
    for match in LITERAL.finditer(content):
        data = _unescape(match.group()[1:-1])
        count += array("H", data[: len(data) & ~1]).count(0)
    return count


def _unescape(raw: bytes) -> bytes:
    """A PDF literal string's bytes: \\ddd octal, \\n and friends, escaped delimiters, line continuations."""
    if b"\\" not in raw:
        return raw
    return ESCAPE.sub(_escaped, raw)


def _escape_table() -> dict[bytes, bytes]:
    """Every escape sequence -> the byte it stands for (a typst page has hundreds of thousands of escapes:
    one dictionary lookup each)."""
    table = {b"\\" + bytes([byte]): bytes([ESCAPES.get(byte, byte)]) for byte in range(256)}
    table |= {b"\\" + f"{value:o}".zfill(width).encode(): bytes([value & 0xFF])
              for width in (1, 2, 3) for value in range(8 ** width)}
    table |= {b"\\\r": b"", b"\\\n": b"", b"\\\r\n": b""}  # line continuations
    return table


ESCAPE_TABLE = _escape_table()


def _escaped(match: re.Match) -> bytes:
    return ESCAPE_TABLE[match.group()]
