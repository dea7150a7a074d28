"""What a font file covers, read straight from its tables: the code points of its cmap and its PostScript name.

fontTools reads a cmap by naming every glyph first (the post table, or the
charset of a CFF font), which for a CJK face of 65,000 glyphs takes a tenth
of a second per face, and the build opens a dozen faces per process. Coverage
needs none of that: the cmap's own ranges say which code points reach a glyph
other than 0 (.notdef). Formats 4 and 12, which every face we ship uses, are
read here; anything else falls back to fontTools.
"""

from __future__ import annotations

import mmap
import struct
from array import array
from pathlib import Path

# the subtables getBestCmap prefers, in its order: full Unicode first, then the Basic Multilingual Plane
PREFERRED = ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0))


def _u16(data: bytes, offset: int, count: int) -> array:
    values = array("H", data[offset : offset + 2 * count])
    if array("H", b"\x00\x01")[0] != 1:  # little-endian machine: the font is big-endian
        values.byteswap()
    return values


def table_directory(data: bytes, index: int = 0) -> dict[bytes, tuple[int, int]]:
    """Tag -> (offset, length) of face `index` of a font or font collection (TTC)."""
    start = 0
    if data[:4] == b"ttcf":
        count = struct.unpack_from(">I", data, 8)[0]
        if index >= count:
            raise ValueError(f"the collection has {count} faces, not {index + 1}")
        start = struct.unpack_from(">I", data, 12 + 4 * index)[0]
    tables = struct.unpack_from(">H", data, start + 4)[0]
    directory = {}
    for number in range(tables):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, start + 12 + 16 * number)
        directory[tag] = (offset, length)
    return directory


def _segments(data, at: int):
    """Each segment of a format 4 subtable: (first code, last code, id delta, where its glyph ids start or 0)."""
    segments = struct.unpack_from(">H", data, at + 6)[0] // 2
    ends = _u16(data, at + 14, segments)
    starts = _u16(data, at + 16 + 2 * segments, segments)
    deltas = _u16(data, at + 16 + 4 * segments, segments)
    range_at = at + 16 + 6 * segments
    offsets = _u16(data, range_at, segments)
    for k in range(segments):
        if starts[k] != 0xFFFF:
            yield starts[k], ends[k], deltas[k], range_at + 2 * k + offsets[k] if offsets[k] else 0


def _format4(data: bytes, at: int) -> set[int]:
    covered: set[int] = set()
    for first, last, delta, glyphs_at in _segments(data, at):
        if glyphs_at == 0:  # glyph = code + delta: only the code that lands on glyph 0 is not covered
            notdef = (-delta) & 0xFFFF
            covered.update(range(first, last + 1))
            if first <= notdef <= last:
                covered.discard(notdef)
            continue
        glyphs = _u16(data, glyphs_at, last - first + 1)
        covered.update(first + n for n, glyph in enumerate(glyphs) if glyph and (glyph + delta) & 0xFFFF)
    return covered


def _format12(data: bytes, at: int) -> set[int]:
    groups = struct.unpack_from(">I", data, at + 12)[0]
    covered: set[int] = set()
    for first, last, glyph in struct.iter_unpack(">III", data[at + 16 : at + 16 + 12 * groups]):
        covered.update(range(first + (glyph == 0), last + 1))
    return covered


READERS = {4: _format4, 12: _format12}


def best_subtable(data, directory: dict) -> tuple[int, int] | None:
    """(format, offset) of the cmap subtable getBestCmap would read, or None when the face has none."""
    if b"cmap" not in directory:
        return None
    base = directory[b"cmap"][0]
    subtables = {}
    for number in range(struct.unpack_from(">H", data, base + 2)[0]):
        platform, encoding, offset = struct.unpack_from(">HHI", data, base + 4 + 8 * number)
        subtables.setdefault((platform, encoding), base + offset)
    at = next((subtables[key] for key in PREFERRED if key in subtables), None)
    return None if at is None else (struct.unpack_from(">H", data, at)[0], at)


def coverage(data: bytes, index: int = 0) -> frozenset[int] | None:
    """The code points the face maps to a real glyph, or None when its best subtable is not format 4 or 12."""
    found = best_subtable(data, table_directory(data, index))
    if found is None:
        return frozenset()
    reader = READERS.get(found[0])
    return frozenset(reader(data, found[1])) if reader else None


def postscript_name(data: bytes, index: int = 0) -> str:
    """Name ID 6, as fontTools' getDebugName(6) gives it: the Windows Unicode record first, then Macintosh."""
    directory = table_directory(data, index)
    if b"name" not in directory:
        return ""
    base = directory[b"name"][0]
    count, strings = struct.unpack_from(">HH", data, base + 2)
    found: dict[int, str] = {}
    for number in range(count):
        platform, encoding, _language, name_id, length, offset = struct.unpack_from(">6H", data, base + 6 + 12 * number)
        if name_id != 6:
            continue
        raw = data[base + strings + offset : base + strings + offset + length]
        if platform == 3 or platform == 0:
            found.setdefault(0, raw.decode("utf-16-be", errors="replace"))
        elif platform == 1 and encoding == 0:
            found.setdefault(1, raw.decode("mac-roman", errors="replace"))
    return found.get(0) or found.get(1) or ""


def read_face(path: str | Path, index: int = 0) -> tuple[str, frozenset[int] | None]:
    """(PostScript name, covered code points or None) of one face of a font file, mapped, not read whole
    (a CJK collection is tens of megabytes, of which the cmap is a few hundred kilobytes)."""
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return postscript_name(data, index), coverage(data, index)


def _glyphs4(data, at: int) -> dict[int, int]:
    """code -> glyph id of a format 4 subtable, glyph 0 included (as fontTools maps it)."""
    mapping: dict[int, int] = {}
    for first, last, delta, glyphs_at in _segments(data, at):
        codes = range(first, last + 1)
        if glyphs_at == 0:
            mapping.update(zip(codes, ((code + delta) & 0xFFFF for code in codes), strict=True))
        else:
            glyphs = _u16(data, glyphs_at, last - first + 1)
            mapping.update(zip(codes, ((glyph + delta) & 0xFFFF if glyph else 0 for glyph in glyphs), strict=True))
    return mapping


def _glyphs12(data, at: int) -> dict[int, int]:
    groups = struct.unpack_from(">I", data, at + 12)[0]
    mapping: dict[int, int] = {}
    for first, last, glyph in struct.iter_unpack(">III", data[at + 16 : at + 16 + 12 * groups]):
        mapping.update(zip(range(first, last + 1), range(glyph, glyph + last - first + 1), strict=True))
    return mapping


def advances(path: str | Path, index: int = 0) -> tuple[dict[int, int], int] | None:
    """(code point -> advance width, units per em) of one face, from its cmap, hmtx, hhea and head tables;
    None when its best cmap is not format 4 or 12."""
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        directory = table_directory(data, index)
        found = best_subtable(data, directory)
        reader = {4: _glyphs4, 12: _glyphs12}.get(found[0]) if found else None
        if reader is None:
            return None
        glyphs = reader(data, found[1])
        units = struct.unpack_from(">H", data, directory[b"head"][0] + 18)[0]
        metrics = struct.unpack_from(">H", data, directory[b"hhea"][0] + 34)[0]
        widths = _u16(data, directory[b"hmtx"][0], 2 * metrics)[0::2]
        last = len(widths) - 1
        return {code: widths[min(glyph, last)] for code, glyph in glyphs.items()}, units
