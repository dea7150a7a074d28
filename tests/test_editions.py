"""French, Spanish and Arabic editions: complete, checked, and right-to-left done properly."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import zipfile

import pytest
from babel.messages.pofile import read_po
from lxml import etree, html

from pubpipe.render.fonts import family_coverage, uncovered
from pubpipe.source.segments import segment_markdown
from pubpipe.verify.readback import docx_xml, epub_documents, read_text, squash

from .conftest import ROOT, SLUG, artifact

NEW = ("fr", "es", "ar")
FORMATS = ("html", "epub", "docx", "pdf")
TITLES = {"fr": "Dépasser la compensation carbone", "es": "Superar la compensación de emisiones",
          "ar": "تجاوز تعويض الكربون"}
DRAFT = {"fr": "Traduction provisoire", "es": "Traducción provisional", "ar": "ترجمة أولية"}
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ARABIC = re.compile(r"[\u0600-\u06FF]")


def english_passages() -> list[str]:
    """The opening words of every English paragraph and list item of the body."""
    source = (ROOT / "content" / SLUG / "brief.md").read_text(encoding="utf-8")
    passages = []
    for segment in segment_markdown(source).segments:
        if segment.kind in ("paragraph", "list-item", "footnote"):
            plain = re.sub(r"^\d+\.\s+|\*\*|\[\^\w+\]|\[@\w+\]", "", segment.text)
            passages.append(plain[:80])
    return passages


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", NEW)
def test_new_edition_is_translated_in_every_format(built, lang, fmt):
    text = squash(read_text(artifact(built, lang, fmt)))
    assert squash(TITLES[lang]) in text
    assert squash(DRAFT[lang]) in text  # the draft notice, in the edition's language
    leftovers = [p for p in english_passages() if squash(p) in text]
    assert leftovers == [], f"English left in the {lang} {fmt}: {leftovers[:2]}"


def test_new_catalogs_are_complete_and_not_fuzzy():
    for lang in NEW:
        for domain in (SLUG, "ui"):
            catalog = read_po((ROOT / "locales" / lang / "LC_MESSAGES" / f"{domain}.po").open("rb"))
            missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
            assert missing == [], (lang, domain, missing[:3])


@pytest.mark.parametrize("lang", NEW + ("zh-Hans",))
def test_html_epub_and_docx_text_is_covered_by_their_declared_fonts(built, lang):
    css = (ROOT / "templates" / "style.css").read_text(encoding="utf-8")
    declared = set(re.findall(r'"([^"]+)"', " ".join(re.findall(r"font-family:([^;]+);", css))))
    page = html.parse(str(artifact(built, lang, "html")))
    text = " ".join(page.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]"))
    text = re.sub(r"[\u2190-\u21FF\uFE00-\uFE0F]", "", text)  # the footnote back-link arrow is drawn by any emoji face
    assert uncovered(text, declared & {f for f in declared if family_coverage(f)}) == set()
    with zipfile.ZipFile(artifact(built, lang, "epub")) as epub:
        epub_css = "".join(epub.read(n).decode("utf-8") for n in epub.namelist() if n.endswith(".css"))
    epub_fonts = set(re.findall(r'"([^"]+)"', " ".join(re.findall(r"font-family:([^;]+);", epub_css))))
    epub_text = re.sub(r"[\u2190-\u21FF\uFE00-\uFE0F]", "", read_text(artifact(built, lang, "epub")))
    assert uncovered(epub_text, epub_fonts) == set()
    styles = etree.fromstring(docx_xml(artifact(built, lang, "docx"), "word/styles.xml"))
    fonts = {value for element in styles.iter(f"{W}rFonts") for value in element.attrib.values()}
    assert uncovered(read_text(artifact(built, lang, "docx")), fonts) == set()


def test_arabic_epub_embeds_a_font_covering_its_text(built):
    path = artifact(built, "ar", "epub")
    with zipfile.ZipFile(path) as epub:
        font_name = next(n for n in epub.namelist() if n.endswith(".ttf"))
        from fontTools.ttLib import TTFont

        cmap = set(TTFont(io.BytesIO(epub.read(font_name))).getBestCmap())
        opf = epub.read("EPUB/content.opf").decode("utf-8")
        css = next(epub.read(n).decode("utf-8") for n in epub.namelist() if n.endswith(".css"))
    assert 'media-type="font/ttf"' in opf and "@font-face" in css
    arabic = {ch for ch in read_text(path) if ARABIC.match(ch)}
    assert arabic and {ch for ch in arabic if ord(ch) not in cmap} == set()


def test_arabic_right_to_left_markers_in_every_format(built):
    page = html.parse(str(artifact(built, "ar", "html"))).getroot()
    assert page.get("dir") == "rtl"
    assert page.xpath("//*[local-name()='math' and @dir='rtl']")  # the formula reads from the right too
    with zipfile.ZipFile(artifact(built, "ar", "epub")) as epub:
        assert 'page-progression-direction="rtl"' in epub.read("EPUB/content.opf").decode("utf-8")
    for _name, data in epub_documents(artifact(built, "ar", "epub")):
        assert etree.fromstring(data).get("dir") == "rtl"
    document = etree.fromstring(docx_xml(artifact(built, "ar", "docx")))
    paragraphs = [p for p in document.iter(f"{W}p") if ARABIC.search("".join(p.itertext()))]
    assert paragraphs and all(p.find(f"{W}pPr/{W}bidi") is not None for p in paragraphs)
    arabic_runs = [r for r in document.iter(f"{W}r") if ARABIC.search("".join(r.itertext()))]
    assert all(r.find(f"{W}rPr/{W}rtl") is not None for r in arabic_runs)
    assert all(s.find(f"{W}bidi") is not None for s in document.iter(f"{W}sectPr"))
    styles = etree.fromstring(docx_xml(artifact(built, "ar", "docx"), "word/styles.xml"))
    defaults = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}rFonts")
    assert defaults.get(f"{W}cs") == "Noto Naskh Arabic"
    # the English reference list stays left-to-right
    latin = [r for r in document.iter(f"{W}r") if "Pastoralism: Making Variability Work" in "".join(r.itertext())]
    assert latin and all(r.find(f"{W}rPr/{W}rtl") is None for r in latin)


def test_arabic_pdf_paragraphs_are_right_aligned(built):
    """x-positions of every Arabic line on every page: each hugs the right edge, short ones included."""
    result = subprocess.run(["pdftotext", "-bbox-layout", str(artifact(built, "ar", "pdf")), "-"],
                            capture_output=True, check=True)
    root = etree.fromstring(result.stdout)
    rows: list[tuple[int, float, list]] = []  # one visual line may come back as several pieces
    for page_number, page in enumerate(root.iter("{*}page")):
        for line in page.iter("{*}line"):
            words = "".join(w.text or "" for w in line.iter("{*}word"))
            if not ARABIC.search(words) or float(line.get("xMax")) - float(line.get("xMin")) < 1:
                continue  # zero-width pieces are diacritics that pdftotext reports on their own
            piece = (float(line.get("xMin")), float(line.get("xMax")), words)
            bottom = float(line.get("yMax"))  # marks above or below letters move the box, within a few points
            row = next((r for r in rows if r[0] == page_number and abs(r[1] - bottom) < 4), None)
            if row:
                row[2].append(piece)
            else:
                rows.append((page_number, bottom, [piece]))
    # the display formula is centred, as it should be: leave out the rows of the equation
    formula = [(page, bottom) for page, bottom, pieces in rows if any("=" in p[2] for p in pieces)]
    lines = [(min(p[0] for p in pieces), max(p[1] for p in pieces), "".join(p[2] for p in pieces))
             for page, bottom, pieces in rows
             if not any(page == f_page and abs(bottom - f_bottom) < 30 for f_page, f_bottom in formula)]
    right = max(x_max for _x, x_max, _w in lines)
    page_width = float(root.find(".//{*}page").get("width"))
    short = [entry for entry in lines if entry[1] - entry[0] < page_width / 3]
    assert short, "no one-line paragraph to test"
    for _x_min, x_max, words in lines:
        assert x_max > right - 30, f"not right-aligned: {words[:40]!r} ends at {x_max:.0f}, the edge is {right:.0f}"
    for x_min, _x_max, words in short:
        assert x_min > page_width / 2, f"short line on the left: {words[:40]!r} starts at {x_min:.0f}"


def test_latin_runs_are_isolated_in_arabic_html(built):
    page = html.parse(str(artifact(built, "ar", "html")))
    isolated = [s.text_content() for s in page.xpath("//*[@dir='ltr']")]
    for run in ("IPCC", "IYRP Global Alliance Working Group on Pastoralism & Carbon Markets", "Outgrowing offsetting",
                "iypr2026@gmail.com", "Saverio Krättli"):
        assert any(run in text for text in isolated), run
    entries = page.xpath("//div[contains(@class,'csl-entry')]")
    assert entries and all(e.get("dir") == "ltr" and e.get("lang") == "en" for e in entries)


def test_arabic_uses_latin_digits_everywhere(built):
    for fmt in FORMATS:
        text = read_text(artifact(built, "ar", fmt))
        assert not re.search(r"[\u0660-\u0669\u06F0-\u06F9]", text), fmt
        assert "2026" in text and "2021" in text


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "fr", "es", "ar"])
def test_language_navigation_uses_native_names_and_hreflang(built, lang):
    page = html.parse(str(artifact(built, lang, "html")))
    names = [e.text_content() for e in page.xpath("//nav[contains(@class,'languages')]//li/*")]
    assert names == ["English", "中文（简体）", "Français", "Español", "العربية"]
    alternates = {link.get("hreflang") for link in page.xpath("//link[@rel='alternate']")}
    assert alternates == {"en", "zh-Hans", "fr", "es", "ar"}


def test_index_shows_status_and_completeness(built):
    page = html.parse(str(built / "dist" / "index.html"))
    # one row per edition; the language is declared on the cell text, never on the row (the columns keep
    # one order in every row)
    rows = {row.xpath(".//*[@lang]")[0].get("lang"): row.text_content().lower()
            for row in page.xpath("//tr[td]")}
    assert set(rows) == {"en", "zh-Hans", "fr", "es", "ar"}
    assert "draft" in rows["ar"] and "official" in rows["zh-Hans"] and "100%" in rows["fr"]


def test_glossary_export_for_poedit_and_weblate(project):
    from pubpipe.cli import main

    assert main(["glossary"], project) == 0
    folder = project / "build" / "glossary"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{SLUG}-{lang}.{suffix}" for lang in ("zh-Hans", "fr", "es", "ar") for suffix in ("tbx", "csv"))
    for lang, rendering in (("zh-Hans", "抵消"), ("ar", "تعويض"), ("fr", "compensation")):
        tbx = etree.parse(str(folder / f"{SLUG}-{lang}.tbx"))
        term = next(e for e in tbx.findall(".//termEntry") if e.get("id") == "offsetting")
        languages = {s.get("{http://www.w3.org/XML/1998/namespace}lang"): s.findtext(".//term")
                     for s in term.findall("langSet")}
        assert languages == {"en": "offsetting", lang: rendering}
    rows = list(csv.reader((folder / f"{SLUG}-zh-Hans.csv").open(encoding="utf-8")))
    assert rows[0] == ["source", "target"] and ["additionality", "额外性"] in rows
