"""A fallback passage (English shown in another edition) is marked as English in every format."""

from __future__ import annotations

import re
import zipfile

import pytest
from lxml import etree, html
from pypdf import PdfReader

from pubpipe.cli import main
from pubpipe.pipeline import edition_ast, load
from pubpipe.render.page import page_context
from pubpipe.render.pdf import typst_source
from pubpipe.source.project import Project
from pubpipe.verify.readback import epub_documents, squash

from .conftest import PUBLICATIONS, SLUG, artifact, catalog_file, copy_project, publication_project

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
PARAGRAPH = "In this brief, “pastoralism” means systems of livestock herding"
HEADING_LINE = 73  # the first heading's entry in the catalogs


def make_fuzzy(path, starts: str) -> None:
    """Flag the entry whose msgid starts with `starts` (first line of the msgid) as fuzzy."""
    text = path.read_text(encoding="utf-8")
    index = text.index(starts[:40])
    entry = text.rfind("\n\n", 0, index) + 2
    msgid = text.index("msgid", entry)
    path.write_text(text[:msgid] + "#, fuzzy\n" + text[msgid:], encoding="utf-8")


@pytest.fixture(scope="module")
def fallback_build(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("fallback"))
    for lang in ("fr", "ar"):
        make_fuzzy(catalog_file(root, lang), PARAGRAPH[:40])
    assert main(["--quiet", "--lang", "fr,ar"], root) == 0
    return root


def _marked(elements) -> list:
    return [e for e in elements if PARAGRAPH[:30] in " ".join(e.text_content().split())]


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_html_and_epub_mark_the_fallback_as_english(fallback_build, lang):
    page = html.fromstring(artifact(fallback_build, lang, "html").read_bytes())
    spans = _marked(page.xpath("//*[@lang='en']"))
    assert spans and all(s.get("dir") == "ltr" for s in spans)
    assert page.getroottree().getroot().get("lang") == lang
    found = []
    for _name, data in epub_documents(artifact(fallback_build, lang, "epub")):
        doc = etree.fromstring(data)
        found += [e for e in doc.iter() if isinstance(e.tag, str)
                  and e.get("lang") == "en" and PARAGRAPH[:30] in " ".join("".join(e.itertext()).split())]
    assert found and all(e.get("dir") == "ltr" for e in found)


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_docx_runs_of_the_fallback_are_english(fallback_build, lang):
    with zipfile.ZipFile(artifact(fallback_build, lang, "docx")) as docx:
        doc = etree.fromstring(docx.read("word/document.xml"))
    for paragraph in doc.iter(f"{W}p"):
        text = "".join(paragraph.itertext())
        if PARAGRAPH[:30] in text:
            runs = [r for r in paragraph.iter(f"{W}r") if "".join(r.itertext()).strip()]
            langs = {(r.find(f"{W}rPr/{W}lang").get(f"{W}val") if r.find(f"{W}rPr/{W}lang") is not None
                      else None) for r in runs}
            assert langs and all(v and v.startswith("en") for v in langs), langs
            break
    else:
        pytest.fail("fallback paragraph not found in the DOCX")


def _struct_langs(node, out: list, depth: int = 0) -> None:
    node = node.get_object() if hasattr(node, "get_object") else node
    if depth > 200:
        return
    if isinstance(node, dict):
        if "/Lang" in node:
            out.append(str(node["/Lang"]))
        kids = node.get("/K")
        if kids is not None:
            for kid in kids if isinstance(kids, list) else [kids]:
                _struct_langs(kid, out, depth + 1)
    elif isinstance(node, list):
        for kid in node:
            _struct_langs(kid, out, depth + 1)


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_pdf_marks_the_fallback_span_english(fallback_build, lang):
    reader = PdfReader(artifact(fallback_build, lang, "pdf"))
    root = reader.trailer["/Root"]
    assert str(root["/Lang"]).startswith(lang)
    langs: list[str] = []
    _struct_langs(root["/StructTreeRoot"], langs)
    assert "en" in langs, sorted(set(langs))  # the span's language, not en-FR: no region of its own
    project = Project(fallback_build)
    edition, ui = load(project, [lang], [SLUG]).editions[0]
    ast = edition_ast(project, edition, ui)
    source = typst_source(edition, ast, project.templates, page_context(edition, ast)["typst"], ui)
    assert re.search(r'#text\(lang: "en", region: none\)\[In this brief', source)
    assert source.count('#text(lang: "en"') == 1  # only the fallback paragraph


def _without_marks(node):
    """The AST with every source-language span and div replaced by its content."""
    if isinstance(node, list):
        out = []
        for child in node:
            if isinstance(child, dict) and child.get("t") in ("Span", "Div") and ["lang", "en"] in child["c"][0][2]:
                out += _without_marks(child["c"][1])
            else:
                out.append(_without_marks(child))
        return out
    if isinstance(node, dict):
        return {key: _without_marks(value) for key, value in node.items()}
    return node


@pytest.mark.parametrize("root", ["content/outgrowing-offsetting", "tests/fixtures/field-note",
                                  "tests/fixtures/tech-note", "tests/fixtures/scripts-sampler"])
def test_marking_every_segment_keeps_the_document_structure(root):
    """With no translation at all, every block stays what it was (headings, list items, footnotes, tables with
    their captions, figures, quotations, definitions): the marks only add spans and divs."""
    import json
    from pathlib import Path

    import pypandoc

    from pubpipe.source.publication import load_publication
    from pubpipe.translate.catalogs import Translations
    from pubpipe.translate.edition import make_edition

    folder = Path(__file__).resolve().parent.parent / root
    candidates = [folder] if (folder / "publication.yaml").exists() else sorted(folder.glob("content/*"))
    publication, problems = load_publication(candidates[0])
    assert publication, problems
    spec = next(s for s in publication.editions if s.language.tag != publication.source_language)
    edition = make_edition(publication, spec, Translations(None, None))
    assert edition.body.count("lang=en dir=ltr}") > 0

    def blocks(markdown: str) -> list:
        return json.loads(pypandoc.convert_text(markdown, "json", format="markdown"))["blocks"]

    source = (candidates[0] / "brief.md").read_text(encoding="utf-8")
    assert _without_marks(blocks(edition.body)) == blocks(source)


@pytest.mark.parametrize("known", PUBLICATIONS, ids=[p.slug for p in PUBLICATIONS])
def test_an_opening_span_parses_to_the_bracketed_span(known, monkeypatch):
    """mark_language's opening form (`[]{.pubpipe-span lang=en dir=ltr}text`, closed after the parse by
    spans_from_markers) gives the AST of the bracketed form (`[text]{lang=en dir=ltr}`) for every segment of
    every publication marked at once; pandoc reads it several times faster (a paragraph of 160 words: 1 ms
    against 10)."""
    import json

    import pypandoc

    from pubpipe.render.pandoc_ast import READER, spans_from_markers
    from pubpipe.source.publication import load_publication
    from pubpipe.translate import edition as editions
    from pubpipe.translate.catalogs import Translations

    publication, problems = load_publication(known.source)
    assert publication, problems
    spec = next(s for s in publication.editions if s.language.tag != publication.source_language)
    opening = editions.make_edition(publication, spec, Translations(None, None)).body  # as the build marks
    real = editions.mark_language
    monkeypatch.setattr(editions, "mark_language", lambda *args: real(*args, bracketed=True))
    bracketed = editions.make_edition(publication, spec, Translations(None, None)).body
    assert editions.OPENING in opening and editions.OPENING not in bracketed

    def blocks(markdown: str) -> list:
        return json.loads(pypandoc.convert_text(markdown, "json", format=READER, verify_format=False))["blocks"]

    assert spans_from_markers(blocks(opening)) == blocks(bracketed)


@pytest.mark.parametrize("known", PUBLICATIONS, ids=[p.slug for p in PUBLICATIONS])
def test_a_new_right_to_left_edition_with_nothing_translated_builds_whole(known, tmp_path):
    """The day a right-to-left language is added and its catalog is still empty, everything falls back: the
    label and the author's name are one run of Latin words, isolated in one left-to-right span. The suggested
    citation the gate expects (and the manifest records) keeps the author's name: only the label goes."""
    import json

    root = publication_project(known, tmp_path)
    metadata = root / "content" / known.slug / "publication.yaml"
    text = metadata.read_text(encoding="utf-8")
    if not re.search(r"^  fa:", text, re.M):
        text = re.sub(r"^languages:\n", "languages:\n  fa: {status: draft}\n", text, count=1, flags=re.M)
        metadata.write_text(text, encoding="utf-8")
    catalog_file(root, "fa", known.slug).unlink(missing_ok=True)
    assert main(["update"], root) == 0
    assert main(["--quiet", "--lang", "fa"], root) == 0  # the gate read every artifact back against it
    manifest = json.loads((root / "dist" / "manifest.json").read_text(encoding="utf-8"))
    edition = next(e for p in manifest["publications"] if p["slug"] == known.slug for e in p["editions"]
                   if e["lang"] == "fa")
    assert edition["fallbacks"] > 0 and edition["dir"] == "rtl"
    cited, record = squash(edition["suggested_citation"]), edition["record"]
    assert squash(record["author"] or record["persons"][0][0]) in cited
    assert squash(record["publisher"]) in cited
