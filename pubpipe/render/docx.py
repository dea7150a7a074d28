"""DOCX through pandoc, with a reference document generated here from pandoc's default.

The reference document carries our styles (fonts per script slot, heading
colours, sizes) and the edition's language on the document defaults, so the
text is spell-checked and shaped in the right language. Nothing binary is
committed: the reference is rebuilt from code, deterministically.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import subprocess
import zipfile
from pathlib import Path

import pypandoc
from lxml import etree

from pubpipe.render.figures import with_data_uris
from pubpipe.render.fonts import SCRIPTS, face_path, faces_for
from pubpipe.render.formulas import docx_alt_controls, for_docx, text_measure
from pubpipe.render.pandoc_ast import write
from pubpipe.source.languages import parse_language
from pubpipe.source.record import build_moment, w3c_datetime, zip_date_time
from pubpipe.translate.edition import Edition

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ACCENT = "1F5C4A"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
DOCX_METADATA = ("title", "subtitle", "author", "date", "description", "keywords", "subject", "dir")
CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
# The PDF's page (templates/brief.typ.j2: paper "a4", margin x 2.2cm, top 2.6cm, bottom 2.3cm), in twips
# (1/1440 inch); tests/test_metadata.py checks the two agree. Pandoc copies the reference's last w:sectPr.
PAGE = {"w": 11906, "h": 16838}
MARGINS = {"top": 1474, "right": 1247, "bottom": 1304, "left": 1247, "header": 708, "footer": 708, "gutter": 0}


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _set_fonts(rpr: etree._Element, latin: str, east_asia: str, complex_script: str) -> None:
    fonts = rpr.find(_w("rFonts"))
    if fonts is None:
        fonts = etree.SubElement(rpr, _w("rFonts"))
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    fonts.set(_w("ascii"), latin)
    fonts.set(_w("hAnsi"), latin)
    fonts.set(_w("eastAsia"), east_asia)
    fonts.set(_w("cs"), complex_script)


def slots(lang: str) -> dict[str, tuple[str, str, str]]:
    """(ascii, eastAsia, cs) faces for body, heading and code text of an edition, from the font table.

    Word picks the slot by character: Latin (and Cyrillic, Greek, Ethiopic, Armenian, Georgian...) from
    ascii/hAnsi, CJK from eastAsia, complex scripts (Arabic, Hebrew, Indic, Thai...) from cs. The edition's
    own script takes its slot; the other slots keep the Latin, Simplified Chinese and Arabic faces."""
    try:
        own = faces_for(parse_language(lang))
    except ValueError:
        own = SCRIPTS["Latn"]
    chosen = {"ascii": SCRIPTS["Latn"], "eastAsia": SCRIPTS["Hans"], "cs": SCRIPTS["Arab"]}
    chosen[own.docx_slot] = own
    latin, east, complex_ = chosen["ascii"], chosen["eastAsia"], chosen["cs"]
    return {
        "body": (latin.serif, east.serif, complex_.serif),
        "heading": (latin.sans, east.sans, complex_.sans),
        "code": (SCRIPTS["Latn"].mono if latin.mono is None else latin.mono, east.mono or east.sans,
                 complex_.mono or complex_.sans),
    }


SOURCE_CODE = f"""<w:style xmlns:w="{W}" w:type="paragraph" w:customStyle="1" w:styleId="SourceCode">
  <w:name w:val="Source Code"/><w:basedOn w:val="Normal"/><w:link w:val="VerbatimChar"/>
  <w:pPr><w:wordWrap w:val="off"/></w:pPr><w:rPr><w:sz w:val="20"/></w:rPr></w:style>"""


def _styles(xml: bytes, lang: str) -> bytes:
    root = etree.fromstring(xml)
    faces = slots(lang)
    defaults = root.find(f"{_w('docDefaults')}/{_w('rPrDefault')}/{_w('rPr')}")
    _set_fonts(defaults, *faces["body"])
    for tag, value in (("sz", "21"), ("szCs", "22")):
        defaults.find(_w(tag)).set(_w("val"), value)
    language = defaults.find(_w("lang"))
    for attr in ("val", "eastAsia", "bidi"):
        language.set(_w(attr), lang)
    for style in root.findall(_w("style")):
        style_id = style.get(_w("styleId"))
        if style_id in ("Title", "Subtitle") or (style_id or "").startswith("Heading"):
            rpr = style.find(_w("rPr"))
            if rpr is None:
                rpr = etree.SubElement(style, _w("rPr"))
            _set_fonts(rpr, *faces["heading"])
            for color in rpr.findall(_w("color")):
                rpr.remove(color)
            color = etree.SubElement(rpr, _w("color"))
            color.set(_w("val"), ACCENT)
    if root.find(f"{_w('style')}[@{_w('styleId')}='SourceCode']") is None:
        root.append(etree.fromstring(SOURCE_CODE))
    for style in root.findall(_w("style")):
        if style.get(_w("styleId")) in ("VerbatimChar", "SourceCode"):  # inline code and code blocks
            rpr = style.find(_w("rPr"))
            if rpr is None:
                rpr = etree.SubElement(style, _w("rPr"))
            _set_fonts(rpr, *faces["code"])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


@functools.cache
def pandoc_reference(pandoc: str) -> bytes:
    """Pandoc's own reference.docx, asked once per process (and pandoc binary) for every language."""
    return subprocess.run([pandoc, "--print-default-data-file", "reference.docx"], check=True,
                          capture_output=True).stdout


def reference_docx(output: Path, lang: str) -> Path:
    """Pandoc's default reference.docx with our styles and `lang` (e.g. zh-CN) on the defaults."""
    default = pandoc_reference(pypandoc.get_pandoc_path())
    with zipfile.ZipFile(io.BytesIO(default)) as source, zipfile.ZipFile(output, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "word/styles.xml":
                data = _styles(data, lang)
            elif name == "word/document.xml":
                data = _page(data)
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return output


def _page(xml: bytes) -> bytes:
    """The reference's section gets the PDF's page size and margins (pandoc's default has none: US Letter)."""
    root = etree.fromstring(xml)
    section = root.find(f"{_w('body')}/{_w('sectPr')}")
    for tag in ("pgSz", "pgMar"):
        for old in section.findall(_w(tag)):
            section.remove(old)
    after = [child for child in section if child.tag in (_w("footnotePr"), _w("endnotePr"), _w("type"))]
    index = section.index(after[-1]) + 1 if after else 0
    size = etree.Element(_w("pgSz"), {_w(key): str(value) for key, value in PAGE.items()})
    margins = etree.Element(_w("pgMar"), {_w(key): str(value) for key, value in MARGINS.items()})
    section.insert(index, size)
    section.insert(index + 1, margins)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def render_docx(edition: Edition, ast: dict, output: Path, reference: Path, epoch: int | None = None) -> None:
    # core properties only (title, author, date...); the language lives in the reference document's defaults;
    # `dir: rtl` makes pandoc write right-to-left paragraphs (w:bidi) and runs (w:rtl)
    meta = {key: value for key, value in ast["meta"].items() if key in DOCX_METADATA}
    measure = text_measure(face_path(slots(edition.tag)["body"][
        {"ascii": 0, "eastAsia": 1, "cs": 2}[faces_for(edition.language).docx_slot]]))
    marked, formulas = for_docx(ast, edition.language.direction, measure)  # display formulas: bookmarked, fitted
    document = {**with_data_uris(marked, edition.publication.root), "meta": meta}
    write(document, "docx", [f"--reference-doc={reference}"], outputfile=output)
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else build_moment(edition.publication)
    changes = {"docProps/core.xml": lambda xml: _core(xml, edition.tag, moment)}
    if edition.language.direction == "rtl":
        styles = _paragraph_styles(document, reference, output.with_suffix(".ltr.docx"))
        changes["word/document.xml"] = lambda xml: _rtl_sections(_restore_styles(xml, styles["word/document.xml"]))
        changes["word/footnotes.xml"] = lambda xml: _restore_styles(xml, styles.get("word/footnotes.xml", []))
    if formulas:  # each in a content control titled with its alt text, and scaled to the column if wider
        body = changes.get("word/document.xml", bytes)
        changes["word/document.xml"] = lambda xml: docx_alt_controls(body(xml), formulas, measure, 10.5)
    rewrite_members(output, changes, zip_date_time(moment))


def _core(xml: bytes, tag: str, moment: dt.datetime) -> bytes:
    """Core properties: the language (dc:language, empty in pandoc's) and dates from SOURCE_DATE_EPOCH or
    the publication date (pandoc writes 1970-01-01 under --sandbox, which hides SOURCE_DATE_EPOCH)."""
    root = etree.fromstring(xml)
    language = root.find(f"{{{DC}}}language")
    if language is None:
        language = etree.SubElement(root, f"{{{DC}}}language")
    language.text = tag
    for name in ("created", "modified"):
        element = root.find(f"{{{DCTERMS}}}{name}")
        if element is None:
            element = etree.SubElement(root, f"{{{DCTERMS}}}{name}")
            element.set("{http://www.w3.org/2001/XMLSchema-instance}type", "dcterms:W3CDTF")
        element.text = w3c_datetime(moment)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _paragraph_styles(document: dict, reference: Path, scratch: Path) -> dict[str, list[str | None]]:
    """The paragraph style of every paragraph as pandoc writes it left to right: with `dir: rtl` pandoc
    drops the style of body paragraphs (Body Text, First Paragraph, Compact...), which then fall back to
    Normal. The same AST without `dir` gives the same paragraphs in the same order, with their styles."""
    meta = {key: value for key, value in document["meta"].items() if key != "dir"}
    write({**document, "meta": meta}, "docx", [f"--reference-doc={reference}"], outputfile=scratch)
    found = {}
    try:
        with zipfile.ZipFile(scratch) as ltr:
            for member in ("word/document.xml", "word/footnotes.xml"):
                if member in ltr.namelist():
                    root = etree.fromstring(ltr.read(member))
                    found[member] = [_style_of(p) for p in root.iter(_w("p"))]
    finally:
        scratch.unlink(missing_ok=True)
    return found


def _style_of(paragraph: etree._Element) -> str | None:
    style = paragraph.find(f"{_w('pPr')}/{_w('pStyle')}")
    return style.get(_w("val")) if style is not None else None


def _restore_styles(xml: bytes, styles: list[str | None]) -> bytes:
    root = etree.fromstring(xml)
    paragraphs = list(root.iter(_w("p")))
    if len(paragraphs) != len(styles):  # not the same paragraphs after all: leave the document as it is
        return xml
    for paragraph, style in zip(paragraphs, styles, strict=True):
        if style is None or _style_of(paragraph) is not None:
            continue
        properties = _child(paragraph, "pPr", first=True)
        element = etree.Element(_w("pStyle"))
        element.set(_w("val"), style)
        properties.insert(0, element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


RTL_TEXT = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")


def _rtl_sections(xml: bytes) -> bytes:
    """What pandoc leaves out in a right-to-left document: sections (page numbers, columns, gutter),
    and the title block's paragraphs and runs, which it writes without w:bidi and w:rtl."""
    root = etree.fromstring(xml)
    for section in root.iter(_w("sectPr")):
        if section.find(_w("bidi")) is None:
            section.append(etree.Element(_w("bidi")))
    for table in root.iter(_w("tblPr")):  # tables read from the right: first column on the right
        if table.find(_w("bidiVisual")) is None:
            style = table.find(_w("tblStyle"))
            table.insert(1 if style is not None else 0, etree.Element(_w("bidiVisual")))
    for paragraph in root.iter(_w("p")):
        if not RTL_TEXT.search("".join(paragraph.itertext())):
            continue  # a left-to-right paragraph (an English reference) stays so
        properties = _child(paragraph, "pPr", first=True)
        if properties.find(_w("bidi")) is None:
            style = properties.find(_w("pStyle"))
            properties.insert(1 if style is not None else 0, etree.Element(_w("bidi")))
        for run in paragraph.iter(_w("r")):
            if RTL_TEXT.search("".join(run.itertext())):
                run_properties = _child(run, "rPr", first=True)
                if run_properties.find(_w("rtl")) is None:
                    run_properties.append(etree.Element(_w("rtl")))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _child(parent: etree._Element, tag: str, first: bool = False) -> etree._Element:
    found = parent.find(_w(tag))
    if found is None:
        found = etree.Element(_w(tag))
        parent.insert(0, found) if first else parent.append(found)
    return found


def rewrite_member(path: Path, member: str, change, date_time: tuple = FIXED_TIME) -> None:
    """Rewrite one part of a DOCX, keeping the archive's order and fixed timestamps."""
    rewrite_members(path, {member: change}, date_time)


def rewrite_members(path: Path, changes: dict, date_time: tuple = FIXED_TIME) -> None:
    """Rewrite parts of a DOCX (`changes`: member -> function of its bytes), keeping the archive's order;
    every entry gets `date_time` (the build's date), so two builds give the same bytes."""
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for info, data in members:
            fixed = zipfile.ZipInfo(info.filename, date_time)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            change = changes.get(info.filename)
            target.writestr(fixed, change(data) if change else data)
