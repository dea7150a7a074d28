"""Split pandoc Markdown into translatable segments and put it back together.

One function decides what a segment is (`segment_markdown`); catalog
extraction and translation both use it, so what a translator sees is exactly
what gets replaced. Invariant (tested with Hypothesis): reassembling a
document with no translations returns the source byte for byte, because the
document is cut into contiguous pieces and nothing is thrown away.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

HEADING = re.compile(r"#{1,6}(\s|$)")
LIST_MARKER = re.compile(r"(?P<lead>[ \t]*)(?P<marker>(?:[-*+]|\d{1,9}[.)]|#[.)]|\(?[a-zA-Z][.)])[ \t]+)")
FOOTNOTE_LABEL = re.compile(r"\[\^[^\]\s]+\]:[ \t]*")
FENCE = re.compile(r"[ \t]{0,3}(`{3,}|~{3,})")
DIV_FENCE = re.compile(r"[ \t]*:{3,}")
LEAD = re.compile(r"[ \t]*")
# alt="..." on a div's fence line (the formula's alternative text), with pandoc's backslash escapes
FENCE_ALT = re.compile(r'(?P<before>[ \t]*:{3,}[ \t]*\{[^\n]*?(?<![\w-])alt=")'
                       r'(?P<value>(?:[^"\\\n]|\\.)*)(?P<after>"[^\n]*\n?)')


@dataclass(frozen=True)
class Segment:
    """One translatable block: its Markdown is the catalog's msgid."""

    text: str
    kind: str  # heading, paragraph, list-item, footnote, formula, table, metadata, alt
    path: str
    line: int  # 1-based line of the block's first character in `path`
    note: str = ""  # what the translator should know (e.g. the footnote label)


@dataclass(frozen=True)
class Slot:
    """Where a segment sits in the document: its translation replaces `segment.text`.

    `indent` is re-applied after every newline of the translation, so that
    continuation lines of list items and footnotes keep their indentation.
    """

    segment: Segment
    indent: str
    quoted: str | None = None  # an attribute value: the text as written there (escaped); translations get escaped


Piece = str | Slot


@dataclass(frozen=True)
class SegmentedDocument:
    path: str
    pieces: tuple[Piece, ...]

    @property
    def segments(self) -> list[Segment]:
        return [p.segment for p in self.pieces if isinstance(p, Slot)]


def _split_lf(text: str) -> list[str]:
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _is_blank(line: str) -> bool:
    return not line.strip(" \t\n")


def _kind_of(body: str, default: str) -> str:
    if HEADING.match(body):
        return "heading"
    if body.startswith("$$"):
        return "formula"
    if body.startswith("|") or body.startswith("+-"):
        return "table"
    if body.startswith("!["):
        return "figure"
    if body.startswith(">"):
        return "block-quote"
    if re.search(r"\n[ \t]*[:~][ \t]", body):
        return "definition"
    if body.startswith("Table:") or (body.startswith(":") and not body.startswith("::")):
        return "table-caption"
    return default


def segment_markdown(source: str, path: str = "<string>") -> SegmentedDocument:
    """Cut `source` into literal pieces and segment slots, losing nothing."""
    lines = [line for line in _split_lf(source)]
    pieces: list[Piece] = []
    i = 0
    if lines and lines[0].rstrip("\n") == "---":  # YAML front matter stays literal
        end = next((j for j in range(1, len(lines)) if lines[j].rstrip("\n") in ("---", "...")), None)
        if end is not None:
            pieces.append("".join(lines[: end + 1]))
            i = end + 1
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        alt = FENCE_ALT.fullmatch(line)
        if alt:  # the alternative text is a segment of its own; the rest of the fence line stays literal
            value = alt.group("value")
            pieces += [alt.group("before"), Slot(Segment(unescape_attribute(value), "alt", path, i + 1), "", value),
                       alt.group("after")]
            i += 1
        elif _is_blank(line) or DIV_FENCE.match(line) or line.lstrip().startswith("<!--"):
            pieces.append(line)
            i += 1
        elif fence:
            mark, count = re.escape(fence.group(1)[0]), len(fence.group(1))
            close = re.compile(r"[ \t]{0,3}" + mark + "{" + str(count) + r",}[ \t]*\n?$")
            j = i + 1
            while j < len(lines) and not close.match(lines[j]):
                j += 1
            pieces.append("".join(lines[i : j + 1]))
            i = j + 1
        else:
            j = i + 1
            while j < len(lines) and not _is_blank(lines[j]) and not _starts_new_block(lines[j], lines[i]):
                j += 1
            pieces.extend(_block_pieces(lines[i:j], path, i + 1))
            i = j
    return SegmentedDocument(path, tuple(pieces))


def _starts_new_block(line: str, first: str) -> bool:
    """A heading, a list item or a fence ends the block before it."""
    if HEADING.match(line) or FENCE.match(line) or DIV_FENCE.match(line):
        return True
    if FOOTNOTE_LABEL.match(line):
        return True
    return bool(LIST_MARKER.match(line)) and not HEADING.match(first)


def _block_pieces(block: list[str], path: str, first_line: int) -> Iterator[Piece]:
    """A run of non-blank lines becomes one segment, or one per list item."""
    if HEADING.match(block[0]):
        yield from _slot(block[:1], path, first_line, "", "heading")
        if len(block) > 1:
            yield from _block_pieces(block[1:], path, first_line + 1)
        return
    starts = [k for k, line in enumerate(block) if k == 0 or LIST_MARKER.match(line) or FOOTNOTE_LABEL.match(line)]
    if not LIST_MARKER.match(block[0]) and not FOOTNOTE_LABEL.match(block[0]):
        starts = [0]
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(block)
        item = block[start:end]
        label = FOOTNOTE_LABEL.match(item[0])
        marker = LIST_MARKER.match(item[0])
        if label:
            yield from _slot(item, path, first_line + start, label.group(0), "footnote",
                             cont_indent=_common_indent(item[1:]), note=label.group(0).rstrip(": \t"))
        elif marker:
            lead = marker.group("lead")
            yield from _slot(item, path, first_line + start, lead, "list-item",
                             cont_indent=" " * (len(marker.group(0))))
        else:
            lead = LEAD.match(item[0]).group(0)
            yield from _slot(item, path, first_line + start, lead, "paragraph")


def _common_indent(lines: list[str]) -> str:
    """The indentation every continuation line shares (footnote bodies use four spaces)."""
    if not lines:
        return ""
    return min((LEAD.match(line).group(0) for line in lines), key=len)


def _slot(lines: list[str], path: str, line_no: int, prefix: str, kind: str,
          cont_indent: str | None = None, note: str = "") -> Iterator[Piece]:
    """Literal prefix, then the slot, then the final newline as a literal."""
    first = lines[0][len(prefix):]
    rest = lines[1:]
    indent = cont_indent if cont_indent is not None else prefix
    if prefix and not first.strip():
        indent = ""
    if kind == "list-item":
        indent = LEAD.match(lines[0]).group(0) + indent
    if not all(r.startswith(indent) for r in rest):
        indent = ""
    body_lines = [first] + [r[len(indent):] for r in rest]
    body = "".join(body_lines)
    trailer = "\n" if body.endswith("\n") else ""
    body = body[: len(body) - len(trailer)]
    if prefix:
        yield prefix
    kind = _kind_of(body, kind) if kind in ("paragraph",) else kind
    yield Slot(Segment(body, kind, path, line_no, note), indent)
    if trailer:
        yield trailer


def unescape_attribute(value: str) -> str:
    """A quoted pandoc attribute value as text: `\\"` is a quote, `\\\\` a backslash."""
    return re.sub(r"\\(.)", r"\1", value)


def escape_attribute(text: str) -> str:
    """Plain text as a quoted pandoc attribute value on one line: a translation stays text, whatever it holds."""
    return " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')


def reassemble(document: SegmentedDocument, translate: Callable[[Segment], str | None]) -> str:
    """Rebuild the Markdown, replacing each segment by its translation when there is one."""
    out: list[str] = []
    for piece in document.pieces:
        if isinstance(piece, str):
            out.append(piece)
            continue
        text = translate(piece.segment)
        if piece.quoted is not None:
            out.append(piece.quoted if text is None or text == piece.segment.text else escape_attribute(text))
            continue
        if text is None:
            text = piece.segment.text
        out.append(text.replace("\n", "\n" + piece.indent) if piece.indent else text)
    return "".join(out)
