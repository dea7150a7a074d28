"""DOCX through pandoc, with a reference document generated here from pandoc's default.

The reference document carries our styles (fonts per script slot, heading
colours, sizes) and the edition's language on the document defaults, so the
text is spell-checked and shaped in the right language. Nothing binary is
committed: the reference is rebuilt from code, deterministically.
"""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path

import pypandoc
from lxml import etree

from pubpipe.render.figures import with_data_uris
from pubpipe.render.fonts import SCRIPTS, faces_for
from pubpipe.render.pandoc_ast import write
from pubpipe.source.languages import parse_language
from pubpipe.translate.edition import Edition

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ACCENT = "1F5C4A"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
DOCX_METADATA = ("title", "subtitle", "author", "date", "description", "keywords", "subject", "dir")


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


def reference_docx(output: Path, lang: str) -> Path:
    """Pandoc's default reference.docx with our styles and `lang` (e.g. zh-CN) on the defaults."""
    default = subprocess.run([pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
                             check=True, capture_output=True).stdout
    with zipfile.ZipFile(io.BytesIO(default)) as source, zipfile.ZipFile(output, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "word/styles.xml":
                data = _styles(data, lang)
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return output


def render_docx(edition: Edition, ast: dict, output: Path, reference: Path) -> None:
    # core properties only (title, author, date...); the language lives in the reference document's defaults;
    # `dir: rtl` makes pandoc write right-to-left paragraphs (w:bidi) and runs (w:rtl)
    meta = {key: value for key, value in ast["meta"].items() if key in DOCX_METADATA}
    write({**with_data_uris(ast, edition.publication.root), "meta": meta}, "docx", [f"--reference-doc={reference}"],
          outputfile=output)
    if edition.language.direction == "rtl":
        rewrite_member(output, "word/document.xml", _rtl_sections)


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


def rewrite_member(path: Path, member: str, change) -> None:
    """Rewrite one part of a DOCX, keeping the archive's order and fixed timestamps."""
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for info, data in members:
            fixed = zipfile.ZipInfo(info.filename, FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, change(data) if info.filename == member else data)
