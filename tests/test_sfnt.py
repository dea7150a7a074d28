"""render/sfnt.py reads coverage from a font's own tables: it must agree with fontTools on every face we use."""

from __future__ import annotations

import pytest
from fontTools.ttLib import TTFont

from pubpipe.render import fonts, sfnt

FACES = sorted({(str(face.path), face.index) for face in fonts._typst_fonts()
                if face.path and face.family in set(fonts.PACKAGES) | {fonts.MATH}})


def reference(path: str, index: int) -> tuple[str, frozenset[int]]:
    font = TTFont(path, fontNumber=index, lazy=True)
    try:
        cmap = font.getBestCmap() or {}
        return font["name"].getDebugName(6) or "", frozenset(code for code, glyph in cmap.items()
                                                             if glyph != ".notdef")
    finally:
        font.close()


def test_the_font_table_is_installed():
    assert len(FACES) > 20  # the set-up installs the table's fonts; an empty list would test nothing


@pytest.mark.parametrize("path,index", FACES, ids=[f"{p.rsplit('/', 1)[-1]}#{i}" for p, i in FACES])
def test_coverage_and_name_agree_with_fonttools(path, index):
    name, covered = sfnt.read_face(path, index)
    expected_name, expected = reference(path, index)
    assert name == expected_name
    assert covered is not None, "every face of the table has a format 4 or 12 cmap"
    assert covered == expected, sorted(covered ^ expected)[:20]


def test_a_code_mapped_to_notdef_is_not_covered():
    """Format 4 with an id delta: the one code whose glyph comes out as 0 is left out, in its own segment only."""
    import struct

    segments = [(0x41, 0x43, (-0x42) & 0xFFFF), (0xFFFF, 0xFFFF, 1)]  # 'B' lands on glyph 0
    count = len(segments)
    table = struct.pack(">7H", 4, 0, 0, 2 * count, 0, 0, 0)
    table += struct.pack(f">{count}H", *(end for _, end, _ in segments)) + b"\0\0"
    table += struct.pack(f">{count}H", *(start for start, _, _ in segments))
    table += struct.pack(f">{count}H", *(delta for _, _, delta in segments))
    table += struct.pack(f">{count}H", *([0] * count))
    assert sfnt._format4(table, 0) == {0x41, 0x43}


@pytest.mark.parametrize("path,index", FACES, ids=[f"{p.rsplit('/', 1)[-1]}#{i}" for p, i in FACES])
def test_advance_widths_agree_with_fonttools(path, index):
    """The DOCX formula fitting measures text with these widths: the same numbers, so the same line breaks."""
    font = TTFont(path, fontNumber=index, lazy=True)
    try:
        widths = {name: advance for name, (advance, _) in font["hmtx"].metrics.items()}
        expected = ({code: widths[name] for code, name in font.getBestCmap().items()}, font["head"].unitsPerEm)
    finally:
        font.close()
    assert sfnt.advances(path, index) == expected
