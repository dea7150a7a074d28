"""PDF/UA structure, span languages and glyph bounds, read from the PDF itself.

veraPDF cannot be installed here, so the parts of PDF/UA-1 a reader meets
first are checked directly: the file is tagged and says it is PDF/UA-1, shows
its title, its bookmarks are its headings, every formula has alternative text
in words (a screen reader reads `\\frac` aloud), and every language tag is
valid BCP 47 without a region the edition never declared (Typst passes the
document's region to foreign spans: `en-CN` inside a Chinese edition). Last,
no glyph may stand outside the type area that the Typst template sets
(punctuation may hang into the margin by half an em, as Typst's overhang does).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pypdf

from pubpipe.diagnostics import Diagnostic
from pubpipe.source.languages import parse_language

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "brief.typ.j2"
UNITS = {"pt": 1.0, "mm": 72 / 25.4, "cm": 72 / 2.54, "in": 72.0}
TEX_COMMAND = re.compile(r"\\[A-Za-z]+")
SOFT_HYPHEN = "\u00ad"  # drawn as a hyphen where a line breaks
WELL_FORMED = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|\d{3}))?$")


def template_margins(template: Path = TEMPLATE) -> dict[str, float]:
    """The page margins in points (left, right, top, bottom), as `#set page(margin: (...))` in the template
    gives them; 0 for a side it does not name."""
    found = re.search(r"margin:\s*\(([^)]*)\)", template.read_text(encoding="utf-8"))
    sides = dict.fromkeys(("left", "right", "top", "bottom"), 0.0)
    for key, number, unit in re.findall(r"(\w+):\s*([\d.]+)(pt|mm|cm|in)", found.group(1) if found else ""):
        value = float(number) * UNITS[unit]
        for side in {"x": ("left", "right"), "y": ("top", "bottom"), "rest": tuple(sides)}.get(key, (key,)):
            sides[side] = value
    return sides


def _fail(shown: str, message: str, check: str) -> Diagnostic:
    return Diagnostic(shown, 1, "error", message, check)


def _struct_elements(root):
    """Structure elements in document order (depth first)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, pypdf.generic.IndirectObject):
            node = node.get_object()
        if not isinstance(node, dict):
            continue
        if node.get("/Type") in ("/MCR", "/OBJR"):
            continue
        if "/S" in node:
            yield node
        kids = node.get("/K")
        if kids is None:
            continue
        kids = kids if isinstance(kids, list) else [kids]
        stack.extend(reversed([kid for kid in kids if not isinstance(kid, int)]))


def _outline_titles(reader: pypdf.PdfReader) -> list[str]:
    titles = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(str(item.title))
    walk(reader.outline)
    return titles


def check_ua(reader: pypdf.PdfReader, shown: str) -> list[Diagnostic]:
    """Tagged, declares PDF/UA-1, shows its title, bookmarks equal headings, formulas described in words."""
    problems = []
    root = reader.trailer["/Root"]
    if "/StructTreeRoot" not in root:
        problems.append(_fail(shown, "PDF/UA: not tagged (no StructTreeRoot)", "pdf-ua"))
    if not (root.get("/MarkInfo") or {}).get("/Marked"):
        problems.append(_fail(shown, "PDF/UA: MarkInfo /Marked is not true", "pdf-ua"))
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8", "replace") if "/Metadata" in root else ""
    if not re.search(r"pdfuaid:part(?:>\s*|\s*=\s*[\"'])1\b", xmp):
        problems.append(_fail(shown, "PDF/UA: the XMP metadata does not declare pdfuaid:part 1", "pdf-ua"))
    title = str((reader.metadata or {}).get("/Title") or "").strip()
    if not title and "<dc:title>" not in xmp:
        problems.append(_fail(shown, "PDF/UA: no document title", "pdf-ua"))
    if not (root.get("/ViewerPreferences") or {}).get("/DisplayDocTitle"):
        problems.append(_fail(shown, "PDF/UA: ViewerPreferences /DisplayDocTitle is not true", "pdf-ua"))
    elements = list(_struct_elements(root["/StructTreeRoot"])) if "/StructTreeRoot" in root else []
    headings = [str(e.get("/T") or "") for e in elements if re.fullmatch(r"/H[1-6]?", str(e["/S"]))]
    bookmarks = _outline_titles(reader)
    if [h.strip() for h in headings] != [b.strip() for b in bookmarks]:
        problems.append(_fail(shown, f"PDF/UA: the bookmarks {bookmarks} do not follow the headings {headings}",
                              "pdf-ua"))
    for element in elements:
        if element["/S"] != "/Formula":
            continue
        alt = str(element.get("/Alt") or "")
        if not alt.strip():
            problems.append(_fail(shown, "PDF/UA: a formula has no /Alt text", "pdf-ua"))
        elif TEX_COMMAND.search(alt):
            problems.append(_fail(shown, f"PDF/UA: a formula's /Alt is TeX, not words: {alt[:120]!r}", "pdf-ua"))
    return problems


def lang_problem(tag: str, allowed: set[str]) -> str | None:
    """Why a /Lang value is wrong, or None: it must be valid BCP 47, and a region only as the edition has it."""
    if not WELL_FORMED.match(tag):
        return f"/Lang '{tag}' is not a valid BCP 47 tag"
    parts = tag.split("-")
    try:
        parse_language("-".join([parts[0].lower()] + [p for p in parts[1:] if len(p) == 4]))
    except ValueError:
        return f"/Lang '{tag}' is not a valid BCP 47 tag (unknown language)"
    region = parts[-1] if len(parts) > 1 and len(parts[-1]) != 4 else None
    if region and tag.lower() not in {a.lower() for a in allowed}:
        return f"/Lang '{tag}' claims the region {region}, which this edition does not declare"
    return None


def check_langs(reader: pypdf.PdfReader, shown: str, lang: str) -> list[Diagnostic]:
    root = reader.trailer["/Root"]
    allowed = {lang}
    if lang:
        try:
            allowed.add(parse_language(lang).pdf_lang)
        except ValueError:
            pass
    tags = [("the document", str(root.get("/Lang") or ""))]
    if "/StructTreeRoot" in root:
        tags += [(f"a {str(e['/S']).lstrip('/')}", str(e["/Lang"])) for e in _struct_elements(root["/StructTreeRoot"])
                 if "/Lang" in e]
    problems, seen = [], set()
    for where, tag in tags:
        reason = lang_problem(tag, allowed) if tag else "the document declares no /Lang"
        if reason and (where, tag) not in seen:
            seen.add((where, tag))
            count = tags.count((where, tag))
            problems.append(_fail(shown, f"PDF language: {reason} ({where}{f', {count} times' if count > 1 else ''})",
                                  "pdf-lang"))
    return problems


def _hangs(char: str) -> bool:
    return unicodedata.category(char).startswith("P") or char == SOFT_HYPHEN


def glyphs_outside(path: Path, margins: dict[str, float] | None) -> list[tuple[int, str, float]]:
    """(page, text, points) of each line that has a glyph beyond the type area's sides (or the page box
    when `margins` is None) or beyond the page's top and bottom. Whitespace is not a glyph; a line that
    starts or ends with punctuation may hang into the margin by half an em (Typst's overhang: the letter
    kerned against the hanging comma hangs a little too), any other by 0.5 pt of rounding."""
    import pymupdf

    found = []
    with pymupdf.open(path) as document:
        for number, page in enumerate(document, start=1):
            box = page.rect
            left = box.x0 + (margins or {}).get("left", 0)
            right = box.x1 - (margins or {}).get("right", 0)
            for block in page.get_text("rawdict")["blocks"]:
                for line in block.get("lines", []):
                    glyphs = [(char, span["size"]) for span in line["spans"] for char in span["chars"]
                              if not char["c"].isspace()]
                    if not glyphs:
                        continue
                    ends = (glyphs[0], glyphs[-1])
                    hang = max((size / 2 for char, size in ends if _hangs(char["c"])), default=0.5)
                    worst = max(max(left - x0 - hang, x1 - right - hang, box.y0 - y0, y1 - box.y1)
                                for (x0, y0, x1, y1) in (char["bbox"] for char, _size in glyphs))
                    if worst > 0.1:  # rounding noise of the glyph boxes
                        text = "".join(char["c"] for span in line["spans"] for char in span["chars"])
                        found.append((number, text.strip(), worst))
    return found


def check_bounds(path: Path, shown: str, margins: dict[str, float] | None) -> list[Diagnostic]:
    return [_fail(shown, f"PDF bounds: page {page}: text beyond the type area by {over:.1f} pt: {text[:80]!r}",
                  "pdf-bounds") for page, text, over in glyphs_outside(path, margins)]


def check_pdf_structure(pdfs: list[tuple[Path, str, str]], template: Path = TEMPLATE) -> list[Diagnostic]:
    """Every check above over (path, shown path, edition language) of each PDF."""
    margins = template_margins(template) if template.is_file() else None
    problems = []
    for path, shown, lang in pdfs:
        try:
            reader = pypdf.PdfReader(path)
            problems += check_ua(reader, shown) + check_langs(reader, shown, lang)
        except (pypdf.errors.PyPdfError, KeyError, ValueError, OSError) as exc:
            problems.append(_fail(shown, f"PDF/UA: cannot read the structure: {exc}", "pdf-ua"))
        problems += check_bounds(path, shown, margins)
    return problems
