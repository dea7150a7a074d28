"""verify/pdf_fonts.py counts the glyphs a PDF draws as .notdef (empty boxes) from its content streams.

The count decodes every literal string only when a stream holds two zero bytes in a row somewhere; the
property below writes glyph codes in every way PDF allows (raw bytes, octal escapes of one to three digits,
values above 255, named escapes, line continuations) and compares the count with the codes written.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pubpipe.verify.pdf_fonts import notdef_count

NAMED = {10: b"\\n", 13: b"\\r", 9: b"\\t", 8: b"\\b", 12: b"\\f", 40: b"\\(", 41: b"\\)", 92: b"\\\\"}


@st.composite
def written_byte(draw, value: int) -> bytes:
    """One byte as a content stream may write it; a short octal escape is made safe by the caller."""
    forms = [f"\\{value:03o}".encode(), f"\\{value:o}".encode(), f"\\{value + 256:o}".encode()]  # 256 up: ignored
    if value in NAMED:
        forms.append(NAMED[value])
    elif value not in (13, 10):  # a raw end of line would be read as a newline
        forms.append(bytes([value]))
    return draw(st.sampled_from(forms))


@st.composite
def shown_strings(draw) -> tuple[bytes, int]:
    """A content stream showing strings of two-byte glyph codes, and how many of them are glyph 0."""
    code = st.one_of(st.just(0), st.integers(0, 0xFFFF), st.sampled_from([0x0100, 0x0001, 0x4000, 0x2800]))
    strings = draw(st.lists(st.lists(code, max_size=12), min_size=1, max_size=6))
    stream, zeros = b"BT /f0 11 Tf\n", 0
    for codes in strings:
        pieces = []
        for glyph in codes:
            zeros += glyph == 0
            for value in (glyph >> 8, glyph & 0xFF):
                pieces.append(draw(written_byte(value)))
                if draw(st.booleans()) and draw(st.booleans()):
                    pieces.append(draw(st.sampled_from([b"\\\n", b"\\\r\n", b"\\\r"])))  # a line continuation
        for index, piece in enumerate(pieces[:-1]):  # \1 before a digit would read as \1d: write it whole
            if piece[:1] == b"\\" and piece[1:].isdigit() and len(piece) < 4 and pieces[index + 1][:1] in \
                    tuple(bytes([c]) for c in b"01234567"):
                pieces[index] = f"\\{int(piece[1:], 8):03o}".encode()
        operator = draw(st.sampled_from([b"[(%s)]TJ\n", b"(%s)Tj\n", b"[(%s) -250 ()]TJ\n"]))
        stream += operator % b"".join(pieces)
    return stream + b"ET\n", zeros


@settings(max_examples=400, deadline=None)
@given(shown_strings())
def test_notdef_count_counts_every_glyph_zero_however_it_is_written(case):
    stream, zeros = case
    assert notdef_count(stream) == zeros


def test_a_typst_pdf_with_a_character_no_font_draws_shows_boxes(tmp_path):
    import pypdf
    import typst

    from pubpipe.render.fonts import font_book
    from pubpipe.verify.pdf_fonts import _content_streams

    counts = []
    for text in ("Hello world", "Hello \ue000 world \U0010fff0"):  # private use: no installed face has them
        source = f'#set text(font: "Noto Serif", fallback: false)\n{text}'.encode()
        path = tmp_path / "boxes.pdf"
        path.write_bytes(typst.compile(source, format="pdf", font_paths=font_book()))
        counts.append(sum(notdef_count(data) for page in pypdf.PdfReader(str(path)).pages
                          for data in _content_streams(page)))
    assert counts == [0, 2]
