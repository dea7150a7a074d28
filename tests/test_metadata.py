"""Dates, DOCX layout and properties, EPUB structure and accessibility metadata, and the citation records,
read back from the artifacts of every publication (the IYRP brief and each fixture).

Each publication is built in a temporary project with a known SOURCE_DATE_EPOCH; the EPUB and DOCX are
built a second time, into another project, to show that they come out byte for byte the same.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pypdf
import pytest
import rispy
import yaml
from lxml import etree, html

from pubpipe.cli import main
from pubpipe.render.docx import MARGINS, PAGE
from pubpipe.source.record import zip_date_time

from .conftest import PUBLICATIONS, ROOT, publication_project

EPOCH = int(dt.datetime(2026, 2, 3, 4, 5, 6, tzinfo=dt.UTC).timestamp())  # not a publication date
STAMP = "2026-02-03T04:05:06Z"
OPF = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CORE = {"dc": "http://purl.org/dc/elements/1.1/", "dcterms": "http://purl.org/dc/terms/"}
XHTML = "{http://www.w3.org/1999/xhtml}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _build(root: Path, *args: str) -> None:
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(EPOCH)
    try:
        assert main(["--quiet", *args], root) == 0
    finally:  # the pipeline writes SOURCE_DATE_EPOCH into the environment: put back what was there
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


@pytest.fixture(scope="module", params=PUBLICATIONS, ids=[p.slug for p in PUBLICATIONS])
def released(request, tmp_path_factory):
    """(publication metadata, {lang: {format: path}}, project root) after update and a full build."""
    known = request.param
    root = publication_project(known, tmp_path_factory.mktemp(known.slug))
    assert main(["update"], root) == 0
    _build(root)
    meta = yaml.safe_load((root / "content" / known.slug / "publication.yaml").read_text(encoding="utf-8"))
    manifest = json.loads((root / "dist" / "manifest.json").read_text(encoding="utf-8"))
    entry = next(p for p in manifest["publications"] if p["slug"] == known.slug)
    files = {e["lang"]: {a["format"]: root / "dist" / a["path"] for a in e["artifacts"]} for e in entry["editions"]}
    return meta, files, root


def _opf(epub: Path) -> etree._Element:
    with zipfile.ZipFile(epub) as archive:
        container = etree.fromstring(archive.read("META-INF/container.xml"))
        return etree.fromstring(archive.read(container.find(".//{*}rootfile").get("full-path")))


def _slashed(date) -> str:
    return str(date) if isinstance(date, int) else date.strftime("%Y/%m/%d")


# ---------------------------------------------------------------- dates

def test_every_date_comes_from_source_date_epoch_or_the_publication_date(released):
    meta, files, _root = released
    for lang, fmt in files.items():
        opf = _opf(fmt["epub"])
        assert opf.findtext(".//dc:date", namespaces=OPF) == str(meta["date"]), lang
        modified = opf.xpath("//opf:meta[@property='dcterms:modified']/text()", namespaces=OPF)
        assert modified == [STAMP], lang
        with zipfile.ZipFile(fmt["docx"]) as docx:
            core = etree.fromstring(docx.read("docProps/core.xml"))
        for name in ("created", "modified"):
            assert core.findtext(f"dcterms:{name}", namespaces=CORE) == STAMP, (lang, name)
        for archive in (fmt["epub"], fmt["docx"]):
            with zipfile.ZipFile(archive) as opened:
                stamps = {info.date_time for info in opened.infolist()}
            assert stamps == {zip_date_time(dt.datetime.fromtimestamp(EPOCH, dt.UTC))}, archive.name
        created = pypdf.PdfReader(fmt["pdf"]).metadata.creation_date
        assert created.astimezone(dt.UTC) == dt.datetime.fromtimestamp(EPOCH, dt.UTC), lang
        page = html.fromstring(fmt["html"].read_bytes())
        assert page.xpath("//meta[@name='citation_publication_date']/@content") == [_slashed(meta["date"])]
        for path in (fmt["epub"], fmt["docx"]):
            with zipfile.ZipFile(path) as opened:
                for name in opened.namelist():
                    if name.endswith((".xml", ".opf", ".xhtml", ".ncx")):
                        assert b"1970-01-01" not in opened.read(name), (path.name, name)


def test_epub_and_docx_are_byte_reproducible(released, tmp_path):
    meta, files, root = released
    again = tmp_path / "again"
    for name in ("content", "locales", "templates"):
        shutil.copytree(root / name, again / name)
    _build(again, "--format", "epub,docx")
    for lang, fmt in files.items():
        for kind in ("epub", "docx"):
            twin = again / fmt[kind].relative_to(root)
            assert twin.read_bytes() == fmt[kind].read_bytes(), (lang, kind)


# ---------------------------------------------------------------- DOCX

def test_docx_page_is_the_pdf_page():
    """One geometry: the DOCX section equals the Typst template's paper and margins."""
    typst = (ROOT / "templates" / "brief.typ.j2").read_text(encoding="utf-8")
    assert re.search(r'paper:\s*"a4"', typst)
    margin = re.search(r"margin:\s*\(x:\s*([\d.]+)cm,\s*top:\s*([\d.]+)cm,\s*bottom:\s*([\d.]+)cm\)", typst)
    x, top, bottom = (round(float(value) / 2.54 * 1440) for value in margin.groups())
    assert PAGE == {"w": 11906, "h": 16838}  # A4 in twips
    assert (MARGINS["left"], MARGINS["right"], MARGINS["top"], MARGINS["bottom"]) == (x, x, top, bottom)


def test_docx_layout_styles_and_core_properties(released):
    meta, files, _root = released
    for lang, fmt in files.items():
        with zipfile.ZipFile(fmt["docx"]) as docx:
            document = etree.fromstring(docx.read("word/document.xml"))
            styles = etree.fromstring(docx.read("word/styles.xml"))
            core = etree.fromstring(docx.read("docProps/core.xml"))
        section = document.find(f"{W}body/{W}sectPr")
        size, margins = section.find(f"{W}pgSz"), section.find(f"{W}pgMar")
        assert (size.get(f"{W}w"), size.get(f"{W}h")) == (str(PAGE["w"]), str(PAGE["h"])), lang
        assert {key: int(margins.get(f"{W}{key}")) for key in MARGINS} == MARGINS, lang
        used = [s.get(f"{W}val") for p in document.iter(f"{W}p") for s in p.findall(f"{W}pPr/{W}pStyle")]
        assert "BodyText" in used and "FirstParagraph" in used, (lang, sorted(set(used)))
        body = [p for p in document.find(f"{W}body").findall(f"{W}p") if p.find(f"{W}pPr/{W}numPr") is None
                and "".join(p.itertext()).strip()]
        unstyled = [("".join(p.itertext()))[:40] for p in body if p.find(f"{W}pPr/{W}pStyle") is None]
        assert not unstyled, (lang, unstyled)  # body text never falls back to Normal (the Arabic edition did)
        assert core.findtext("dc:language", namespaces=CORE) == lang
        assert core.findtext("dc:title", namespaces=CORE)
        for level in (1, 2, 3):
            outline = styles.xpath(f"//w:style[@w:styleId='Heading{level}']/w:pPr/w:outlineLvl/@w:val",
                                   namespaces={"w": W[1:-1]})
            assert outline == [str(level - 1)], (lang, level)


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_every_docx_with_a4_pages(released, tmp_path):
    _meta, files, _root = released
    docs = [str(fmt["docx"]) for fmt in files.values()]
    result = subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                             "--convert-to", "pdf", "--outdir", str(tmp_path), *docs],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for doc in docs:
        pdf = pypdf.PdfReader(tmp_path / (Path(doc).stem + ".pdf"))
        box = pdf.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842), doc


# ---------------------------------------------------------------- EPUB

def _chapters(epub: Path) -> list[tuple[str, etree._Element]]:
    opf = _opf(epub)
    with zipfile.ZipFile(epub) as archive:
        folder = next(n for n in archive.namelist() if n.endswith(".opf")).rpartition("/")[0]
        items = {item.get("id"): item.get("href") for item in opf.iterfind(".//opf:item", namespaces=OPF)}
        spine = [items[ref.get("idref")] for ref in opf.iterfind(".//opf:itemref", namespaces=OPF)]
        return [(href, etree.fromstring(archive.read(f"{folder}/{href}"))) for href in spine]


def test_notices_sit_inside_the_first_chapter(released):
    meta, files, _root = released
    source = meta["source_language"]
    source_toc = None
    for lang, fmt in [(source, files[source])] + [(k, v) for k, v in files.items() if k != source]:
        chapters = [(href, doc) for href, doc in _chapters(fmt["epub"]) if href.startswith("text/ch")]
        first = chapters[0][1]
        assert first.find(f".//{XHTML}h1") is not None, (lang, "the first chapter opens with a heading")
        notices = [doc for _href, doc in chapters if doc.xpath("//*[contains(@class, 'notice')]")]
        assert all(doc is first for doc in notices), lang
        if meta["languages"][lang]["status"] == "draft":
            assert first.xpath("//*[contains(@class, 'draft-notice')]"), lang
        with zipfile.ZipFile(fmt["epub"]) as archive:
            nav = etree.fromstring(archive.read(next(n for n in archive.namelist() if n.endswith("nav.xhtml"))))
        entries = len(nav.xpath("//*[@epub:type='toc']//*[local-name()='li']",
                                namespaces={"epub": "http://www.idpf.org/2007/ops"}))
        source_toc = entries if source_toc is None else source_toc
        assert entries == source_toc, (lang, "the notice added a table-of-contents entry")


def _ui_translation(root: Path, lang: str, msgid: str) -> str:
    import polib

    path = root / "locales" / lang.replace("-", "_") / "LC_MESSAGES" / "ui.po"
    if not path.exists():
        return msgid
    entry = polib.pofile(str(path)).find(msgid)
    return entry.msgstr if entry and entry.msgstr and "fuzzy" not in entry.flags else msgid


def test_accessibility_metadata_is_true_of_each_edition(released):
    meta, files, root = released
    for lang, fmt in files.items():
        opf = _opf(fmt["epub"])

        def values(name: str, opf=opf) -> list[str]:
            return opf.xpath(f"//opf:meta[@property='schema:{name}']/text()", namespaces=OPF)

        with zipfile.ZipFile(fmt["epub"]) as archive:
            text = "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xhtml"))
        images, math = "<img" in text, "<math" in text
        features = set(values("accessibilityFeature"))
        assert {"readingOrder", "structuralNavigation", "tableOfContents"} <= features, lang
        assert ("alternativeText" in features) == images, lang
        assert ("MathML" in features) == math, lang
        assert not features & {"printPageNumbers", "pageBreakMarkers", "pageNavigation"}, lang  # no page list
        assert set(values("accessMode")) == ({"textual", "visual"} if images else {"textual"}), lang
        assert values("accessibilityHazard") == ["none"]
        assert not opf.xpath("//opf:meta[@property='dcterms:conformsTo']", namespaces=OPF)  # never claimed
        [summary] = values("accessibilitySummary")
        opening = "The text has headings, a table of contents and a logical reading order, and it reflows to " \
                  "fit the screen."
        assert summary.startswith(_ui_translation(root, lang, opening)), (lang, summary)
        assert ("MathML" in summary) == math and (_ui_translation(root, lang, "Every image has a text "
                                                                  "alternative.") in summary) == images


def test_epub_languages_carry_no_invented_region(released):
    meta, files, root = released
    references = yaml.safe_load((root / "content" / meta["slug"] / "references.yaml").read_text(encoding="utf-8"))
    known = {meta["source_language"]} | {item.get("language") for item in references["references"]} - {None}
    for lang, fmt in files.items():
        opf = _opf(fmt["epub"])
        assert opf.findtext(".//dc:language", namespaces=OPF) == lang
        found = set(opf.xpath("//@xml:lang"))
        for _href, doc in _chapters(fmt["epub"]):
            found |= set(doc.xpath("//@xml:lang")) | set(doc.xpath("//@lang"))
        assert found <= known | {lang}, (lang, found - known - {lang})


@pytest.mark.skipif(not shutil.which("node") or not Path("/usr/bin/chromium").exists(),
                    reason="DAISY Ace needs node and chromium")
def test_ace_finds_no_metadata_issue(released, tmp_path):
    _meta, files, _root = released
    ace = ROOT / "tools" / "referees" / "node_modules" / ".bin" / "ace-puppeteer"
    if not ace.exists():
        pytest.skip("tools/referees is not installed (npm ci)")
    lang = list(files)[-1]  # a translated draft edition, with its notice
    result = subprocess.run([str(ace), "-s", "-f", "-o", str(tmp_path), str(files[lang]["epub"])],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PUPPETEER_EXECUTABLE_PATH": "/usr/bin/chromium"})
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    failed = [a["earl:test"]["dct:title"] for group in report["assertions"] for a in group.get("assertions", [])
              if a["earl:result"]["earl:outcome"] == "fail"]
    assert not [name for name in failed if name.startswith("metadata-")], (failed, result.stderr[-500:])


# ---------------------------------------------------------------- citation records

def _authors(meta: dict) -> list[str]:
    corporate = meta["names"][meta["corporate_author"]][meta["source_language"]]
    return [corporate] + [f"{p['family']}, {p['given']}" for p in meta.get("authors", [])]


def test_ris_reads_back_as_a_report(released):
    meta, files, _root = released
    for lang, fmt in files.items():
        raw = fmt["ris"].read_bytes().decode("utf-8")  # CRLF kept
        [entry] = rispy.loads(raw)
        assert entry["type_of_reference"] == "RPRT"
        assert entry["authors"] == _authors(meta), lang
        assert entry["year"] == str(meta.get("year") or str(meta["date"])[:4])
        date = meta["date"]
        assert entry["date"] == (f"{date}///" if isinstance(date, int) else date.strftime("%Y/%m/%d/")), lang
        assert entry["language"] == lang
        assert "SN  - " not in raw  # an ISBN/ISSN field; the URN is the report number (M1)
        assert re.search(rf"^M1  - {re.escape(meta['identifier'])}:{re.escape(lang)}\r$", raw, re.M)


@pytest.mark.skipif(not shutil.which("biber"), reason="biber is not installed")
def test_biblatex_passes_biber_datamodel_validation(released, tmp_path):
    meta, files, _root = released
    for lang, fmt in files.items():
        bib = tmp_path / f"{lang}.bib"
        shutil.copy(fmt["bib"], bib)
        out = tmp_path / f"{lang}.out.bib"
        result = subprocess.run(["biber", "--tool", "--validate-datamodel", "--output-format=bibtex",
                                 f"--output-file={out}", str(bib)], capture_output=True, text=True, cwd=tmp_path)
        log = result.stdout + result.stderr
        assert result.returncode == 0 and "WARN" not in log and "ERROR" not in log, (lang, log)
        fields = dict(re.findall(r"^\s*(\w+) = \{(.*)\},?$", out.read_text(encoding="utf-8"), re.M))
        assert fields["DATE"] == str(meta["date"]) and "YEAR" not in fields, lang
        assert re.fullmatch(r"[a-z-]+", fields["LANGID"]) and fields["LANGID"] != lang.lower(), lang
        assert fields["NUMBER"] == f"{meta['identifier']}:{lang}" and "URLDATE" not in fields, lang
        assert fields["AUTHOR"].count(" and ") == len(meta.get("authors", [])), lang


def test_highwire_tags_for_a_technical_report(released):
    meta, files, _root = released
    for lang, fmt in files.items():
        page = html.fromstring(fmt["html"].read_bytes())

        def tag(name: str, page=page) -> list[str]:
            return page.xpath(f"//meta[@name='{name}']/@content")

        assert tag("citation_author") == _authors(meta), lang
        assert tag("citation_technical_report_number") == [f"{meta['identifier']}:{lang}"]
        assert tag("citation_technical_report_institution") and tag("citation_language") == [lang]
        assert re.fullmatch(r"\d{4}(/\d{2}/\d{2})?", tag("citation_publication_date")[0])
        if meta.get("url"):
            assert tag("citation_pdf_url")[0].startswith(meta["url"].rstrip("/") + f"/{lang}/")
            assert tag("citation_fulltext_html_url") == [meta["url"].rstrip("/") + f"/{lang}/index.html"]
        else:  # relative; Scholar's full-text HTML address must be absolute, so it is left out
            assert tag("citation_pdf_url") == [fmt["pdf"].name] and not tag("citation_fulltext_html_url")


def test_a_declared_url_makes_scholar_addresses_absolute(tmp_path):
    known = PUBLICATIONS[0]
    root = publication_project(known, tmp_path)
    meta_path = root / "content" / known.slug / "publication.yaml"
    meta_path.write_text(meta_path.read_text(encoding="utf-8").replace(
        "\nlicence:", "\nurl: https://example.org/briefs/outgrowing/\nlicence:", 1), encoding="utf-8")
    assert main(["update"], root) == 0
    lang = yaml.safe_load(meta_path.read_text(encoding="utf-8"))["source_language"]
    _build(root, "--lang", lang, "--format", "pdf,html")
    page = html.fromstring((root / "dist" / known.slug / lang / "index.html").read_bytes())
    base = f"https://example.org/briefs/outgrowing/{lang}/"
    assert page.xpath("//meta[@name='citation_pdf_url']/@content") == [f"{base}{known.slug}.{lang}.pdf"]
    assert page.xpath("//meta[@name='citation_fulltext_html_url']/@content") == [f"{base}index.html"]
    ris = (root / "dist" / known.slug / lang / f"{known.slug}.{lang}.ris").read_bytes().decode("utf-8")
    assert "UR  - https://example.org/briefs/outgrowing/\r\n" in ris
