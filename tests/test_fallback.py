"""A fallback passage (English shown in another edition) is marked as English in every format."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from lxml import etree, html
from pypdf import PdfReader

from pubpipe.cli import main
from pubpipe.pipeline import edition_ast, load
from pubpipe.render import pandoc_ast
from pubpipe.render.page import page_context
from pubpipe.render.pdf import typst_source
from pubpipe.source.project import Project
from pubpipe.verify.readback import epub_documents, squash

from .conftest import PUBLICATIONS, SLUG, add_empty_editions, artifact, catalog_file, copy_project, publication_project

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
    if lang == "ar":  # the paragraph itself runs left to right: a block with its direction and language
        assert re.search(r'#block\(width: 100%\)\[#set text\(dir: ltr, lang: "en", region: none\)\s*In this brief',
                         source)
        assert '#text(lang: "en"' not in source  # no span left inside it
    else:  # same direction: a span in the paragraph
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


@pytest.fixture(scope="module", params=PUBLICATIONS, ids=[p.slug for p in PUBLICATIONS])
def newly_added(request, tmp_path_factory):
    """(publication, project, tags): each publication with new draft editions that have nothing translated."""
    known = request.param
    root = publication_project(known, tmp_path_factory.mktemp(f"new-{known.slug}"))
    added = add_empty_editions(root, known.slug)
    assert added and main(["update"], root) == 0
    assert main(["--quiet", "--lang", ",".join(added)], root) == 0
    return known, root, added


def _language_of(node) -> tuple[str | None, str | None]:
    """(lang, dir) in effect at an element: the nearest ancestor-or-self that sets each."""
    lang = direction = None
    while node is not None and (lang is None or direction is None):
        lang = lang or node.get("lang") or node.get("{http://www.w3.org/XML/1998/namespace}lang")
        direction = direction or node.get("dir")
        node = node.getparent()
    return lang, direction


def _text_nodes(page, fragment: str) -> list:
    """The elements in whose scope each text node of the body containing `fragment` sits."""
    found = []
    for text in page.xpath("//body//text()[not(ancestor::script)]"):
        if fragment in " ".join(str(text).split()):
            element = text.getparent()
            found.append(element.getparent() if text.is_tail else element)
    return found


def test_a_new_edition_says_which_strings_are_in_the_source_language(newly_added):
    """Before anything is translated, the page's own interface text, the metadata strings (title, subtitle,
    back matter labels) and the notices fall back to English: each is marked English where it is written
    (WCAG 3.1.2), like the body's fallback passages; and in a right-to-left edition every paragraph that is
    English runs left to right (its lines start on the left, its full stop ends it on the right)."""
    from babel.messages.pofile import read_po

    known, root, added = newly_added
    with (root / "locales" / "ui.pot").open("rb") as handle:
        ui = [m.id for m in read_po(handle) if m.id and any("page.html.j2" in path for path, _line in m.locations)]
    fragments = {part.strip(" :") for msgid in ui for part in re.split(r"%\(\w+\)s", msgid)
                 if re.search(r"\w{3}", part)}
    for tag in added:
        page = html.fromstring((root / "dist" / known.slug / tag / "index.html").read_bytes())
        assert page.get("lang") == tag
        shown = [f for f in fragments if _text_nodes(page, f)]
        assert "Contents" in shown and "Skip to the text" in shown, shown
        for fragment in shown:
            scopes = {_language_of(element)[0] for element in _text_nodes(page, fragment)}
            assert scopes == {"en"}, (tag, fragment, scopes)
        for where in ("//h1", "//p[@class='subtitle']", "//*[@id='key-references']",
                      "//*[@id='acknowledgements']//p", "//*[@id='suggested-citation']//strong",
                      "//*[contains(@class, 'notice')]//p", "//nav[@class='toc']//li"):
            elements = page.xpath(where)
            assert elements, where
            for element in elements:
                texts = [t for t in element.xpath(".//text()") if t.strip()]
                assert texts and all(_language_of(t.getparent())[0] == "en" for t in texts), (tag, where)
        if pandoc_ast.text_direction(tag) == "rtl":
            english = [p for p in page.xpath("//div[@class='body']//p") if _language_of(p)[0] == "en"
                       or all(_language_of(t.getparent())[0] == "en" for t in p.xpath(".//text()") if t.strip())]
            assert any(p.xpath("ancestor::*[@id='footnotes']") for p in english) or \
                not page.xpath("//*[@id='footnotes']")  # footnotes too, where the publication has any
            assert english and all(_language_of(p)[1] == "ltr" for p in english), \
                [p.text_content()[:40] for p in english if _language_of(p)[1] != "ltr"]


def test_the_landing_page_and_the_feed_give_an_untranslated_title_its_language(newly_added):
    """The landing page's edition row and the Atom entry show the title the edition has: untranslated, it is
    English, and says so (it was marked as Swahili, or as right-to-left Persian)."""
    known, root, added = newly_added
    page = html.fromstring((root / "dist" / "index.html").read_bytes())
    for tag in added:
        (cell,) = page.xpath(f"//th[.//a[@hreflang='{tag}']]")
        (title,) = cell.xpath(".//*[contains(@class, 'edition-title')]")
        assert (title.get("lang"), title.get("dir")) == ("en", "ltr"), tag
    feed = etree.parse(str(root / "dist" / "feed.atom")).getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = {entry.find("a:link[@rel='alternate']", ns).get("hreflang"):  # the entry's own page comes first
              entry.find("a:title", ns).get("{http://www.w3.org/XML/1998/namespace}lang")
              for entry in feed.iterfind("a:entry", ns)}
    assert {tag: titles.get(tag) for tag in added} == {tag: "en" for tag in added}, titles


def test_a_new_right_to_left_edition_sets_english_notices_left_to_right_in_the_pdf(newly_added):
    """The draft notice, one short line of English in its box, starts on the left of the column, as English does
    (set right to left, it sat on the right and read '.Draft translation, not yet reviewed'); and on no page
    does an English sentence's full stop stand at the start of its line: body, list items, footnotes,
    definitions and the suggested citation all run left to right ('.developing sustainably',
    '.IYRP Global Alliance Secretariat' and five more before)."""
    import subprocess

    known, root, added = newly_added
    assert any(pandoc_ast.text_direction(tag) == "rtl" for tag in added)
    for tag in [t for t in added if pandoc_ast.text_direction(t) == "rtl"]:
        pdf = root / "dist" / known.slug / tag / f"{known.slug}.{tag}.pdf"
        layout = subprocess.run(["pdftotext", "-bbox-layout", "-f", "1", "-l", "1", str(pdf), "-"],
                                capture_output=True, check=True).stdout
        lines = [(float(line.get("xMin")), float(line.get("xMax")),
                  " ".join(w.text for w in line.iterfind("{*}word")))
                 for line in etree.fromstring(layout).iter("{*}line")]
        left, right = min(line[0] for line in lines), max(line[1] for line in lines)  # the column
        (start, end, text), = [line for line in lines if line[2].startswith("Draft translation")]
        assert text.endswith("reviewed.") and end - start < (right - left) / 2, text  # short: the test can tell
        assert start - left < right - end, (left, right, start, end)
        every = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout
        displaced = [line.strip() for line in every.decode("utf-8").splitlines()
                     if re.match(r"[.,;:]\s?[A-Za-z]", line.strip())]
        assert not displaced, displaced  # no English sentence ends on the left of its line


def test_the_notice_says_whether_parts_are_untranslated_or_out_of_date_and_in_which_language(fallback_build,
                                                                                           newly_added):
    """A fuzzy entry is out of date; an edition with entries never translated says so instead. Either way the
    notice names the source language in the sentence's own language (never a fixed "English")."""
    def notice(page) -> str:
        return " ".join(page.xpath("//*[contains(@class, 'fallback-notice')]")[0].text_content().split())

    french = notice(html.fromstring(artifact(fallback_build, "fr", "html").read_bytes()))
    assert french == ("Certaines parties de cette traduction ne sont pas à jour par rapport à l’original ; elles "
                      "sont affichées dans la langue originale (anglais).")
    known, root, added = newly_added
    for tag in added:
        page = html.fromstring((root / "dist" / known.slug / tag / "index.html").read_bytes())
        assert notice(page) == ("Parts of this edition are not translated yet; they are shown in the original "
                                "language (English).")


@pytest.mark.parametrize("attributes", [[], [["lang", "en"], ["dir", "ltr"]]], ids=["div", "div-in-english"])
def test_a_justified_paragraph_in_a_div_is_as_wide_as_the_column(tmp_path, attributes):
    """pandoc writes a div as a Typst block, and a block of auto width took the width of its longest line: a
    justified paragraph in a div (a reference, the suggested citation, a fallback) ended short of the column,
    this one by 16 pt. with_block_directions makes each div as wide as its column."""
    import subprocess

    import pypandoc

    from pubpipe.render.pandoc_ast import write
    from pubpipe.render.pdf import compile_pdf, with_block_directions

    text = ("Over the past decade and more, rangelands have become a major hotspot of carbon-market development. "
            "As voluntary carbon markets rapidly extend into pastoral areas, expectations of carbon revenue from "
            "rangelands are profoundly shaping land-use policy, fiscal planning, national climate strategies and "
            "the framing of development.")
    para = json.loads(pypandoc.convert_text(text, "json", format="markdown"))["blocks"][0]
    ast = {"pandoc-api-version": [1, 23, 1], "meta": {},
           "blocks": [para, {"t": "Div", "c": [["", [], attributes], [para]]}]}
    body = write(with_block_directions(ast, "ltr"), "typst", ["--wrap=none"])
    source = ('#set document(title: "t")\n#set page(paper: "a4", margin: (x: 2.2cm))\n'
              '#set text(font: "Noto Serif", size: 10.5pt, lang: "fr")\n#set par(justify: true)\n' + body)
    pdf = tmp_path / "div.pdf"
    compile_pdf(source, pdf, 0, tmp_path)
    layout = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, check=True).stdout
    ends = [round(float(line.get("xMax")), 1) for line in etree.fromstring(layout).iter("{*}line")]
    assert len(ends) == 8, ends  # the paragraph twice, four lines each
    plain, in_div = ends[:3], ends[4:7]  # all but the last line of each: justified
    assert max(plain) - min(plain) < 3 and max(in_div) - min(in_div) < 3, ends
    assert abs(min(in_div) - min(plain)) < 0.5, ends  # the div's paragraph reaches the same edge


def test_a_fallback_paragraph_in_a_list_item_or_a_quotation_runs_in_its_own_direction_in_typst():
    """passages_as_blocks makes an English list item's paragraph a div; pandoc's typst writer drops a div's
    direction, so with_block_directions sets it in list items and quotations too, not only at the top level
    (a Persian edition's English recommendations ended '.developing sustainably')."""
    from pubpipe.render.pdf import with_block_directions

    def passage(word: str) -> dict:
        return {"t": "Div", "c": [["", [], [["lang", "en"], ["dir", "ltr"]]],
                                  [{"t": "Para", "c": [{"t": "Str", "c": word}]}]]}

    ast = {"meta": {}, "blocks": [
        {"t": "OrderedList", "c": [[1, {"t": "Decimal"}, {"t": "Period"}], [[passage("one")], [passage("two")]]]},
        {"t": "BulletList", "c": [[passage("three")]]},
        {"t": "BlockQuote", "c": [passage("four")]}]}
    out = with_block_directions(ast, "rtl")["blocks"]
    items = out[0]["c"][1] + out[1]["c"] + [out[2]["c"]]
    for item in items:
        opening = item[0]
        assert opening["t"] == "RawBlock" and '#set text(dir: ltr, lang: "en"' in opening["c"][1], item


def test_a_footnote_in_another_language_runs_in_its_direction_beside_its_number_in_typst():
    """A footnote's English paragraph becomes a div (passages_as_blocks looks into footnotes); in Typst a block
    would put the paragraph on a line below its number, so its words go in text(dir:, lang:) instead, the full
    stop inside. A div with an id keeps it as the label of the block that replaces it."""
    from pubpipe.render.pandoc_ast import passages_as_blocks
    from pubpipe.render.pdf import with_block_directions

    span = {"t": "Span", "c": [["", [], [["lang", "en"], ["dir", "ltr"]]], [{"t": "Str", "c": "Note."}]]}
    note = {"t": "Note", "c": [{"t": "Para", "c": [span]}]}
    blocks = passages_as_blocks([{"t": "Para", "c": [{"t": "Str", "c": "متن"}, note]},
                                 {"t": "Div", "c": [["box", [], []], [{"t": "Para", "c": [{"t": "Str", "c": "x"}]}]]}],
                                "rtl")
    (lifted,) = blocks[0]["c"][1]["c"]
    assert lifted["t"] == "Div" and dict(lifted["c"][0][2]) == {"lang": "en", "dir": "ltr"}
    out = with_block_directions({"meta": {}, "blocks": blocks}, "rtl")["blocks"]
    (paragraph,) = out[0]["c"][1]["c"]
    assert paragraph["t"] == "Para" and paragraph["c"][0]["c"][1].startswith('#text(dir: ltr, lang: "en"')
    assert paragraph["c"][-1] == {"t": "RawInline", "c": ["typst", "]"]}
    assert out[1]["c"][1].startswith("#block(width: 100%)[") and out[-1]["c"][1] == "] <box>"


def test_a_sentence_in_the_source_language_writes_its_values_in_that_language(newly_added):
    """'Published %(date)s' falls back to English in a new edition: its date is then written as English writes
    it, not in the edition's form ('Published 1 مارس 2026', which a right-to-left page showed reversed)."""
    import yaml

    from pubpipe.render.page import publication_date
    from pubpipe.source.languages import parse_language

    known, root, added = newly_added
    meta = yaml.safe_load((root / "content" / known.slug / "publication.yaml").read_text(encoding="utf-8"))
    english = publication_date(meta["date"], parse_language(meta["source_language"]))  # "March 1, 2026"
    for tag in added:
        page = html.fromstring((root / "dist" / known.slug / tag / "index.html").read_bytes())
        (published,) = [t for t in page.xpath("//p[@class='byline']//text()") if t.startswith("Published ")]
        assert _language_of(published.getparent())[0] == "en"
        assert published == f"Published {english}", published


def test_a_code_block_starts_on_the_left_in_a_right_to_left_pdf(newly_added):
    """Code reads left to right in every edition: in a right-to-left PDF and DOCX a code block took the edition's
    direction and sat on the right. Each fenced code block's first line, wherever a publication has one."""
    import subprocess

    known, root, added = newly_added
    source = (root / "content" / known.slug / "brief.md").read_text(encoding="utf-8")
    firsts = [block.strip().splitlines()[0] for block in re.findall(r"^```[^\n]*\n(.*?)^```", source, re.M | re.S)]
    if not firsts:
        pytest.skip(f"{known.slug} has no fenced code block")
    for tag in [t for t in added if pandoc_ast.text_direction(t) == "rtl"]:
        pdf = root / "dist" / known.slug / tag / f"{known.slug}.{tag}.pdf"
        layout = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, check=True).stdout
        lines = [(float(line.get("xMin")), float(line.get("xMax")), " ".join(w.text for w in line.iterfind("{*}word")))
                 for line in etree.fromstring(layout).iter("{*}line")]
        left, right = min(line[0] for line in lines), max(line[1] for line in lines)
        for first in firsts:
            (start, end, _text), = [line for line in lines if line[2] == " ".join(first.split())]
            assert start - left < right - end, (first, start, end, left, right)
        # and in the DOCX: a code paragraph is not a right-to-left one (<w:bidi/>), as it was
        with zipfile.ZipFile(pdf.with_suffix(".docx")) as docx:
            document = docx.read("word/document.xml").decode("utf-8")
        code = re.findall(r"<w:p>(?:(?!</w:p>).)*?SourceCode(?:(?!</w:p>).)*?</w:p>", document, re.S)
        assert len(code) >= len(firsts) and not [p for p in code if "<w:bidi/>" in p], code[:1]


def test_a_list_wholly_in_the_source_language_runs_in_its_direction_as_a_whole():
    """In a right-to-left edition, a list (or definition list) whose every item is an English fallback becomes
    one English div around the list: its bullets and numbers stand beside the text, on the left, not a column
    away on the edition's side. A list with one translated item keeps a div per English paragraph."""
    def english(word: str) -> dict:
        return {"t": "Plain", "c": [{"t": "Span", "c": [["", [], [["lang", "en"], ["dir", "ltr"]]],
                                                        [{"t": "Str", "c": word}]]}]}

    nested = {"t": "BulletList", "c": [[english("inner")]]}
    bullets = {"t": "BulletList", "c": [[english("one"), nested], [english("two")]]}
    numbered = {"t": "OrderedList", "c": [[1, {"t": "Decimal"}, {"t": "Period"}], [[english("a")], [english("b")]]]}
    terms = {"t": "DefinitionList", "c": [[english("Term")["c"], [[english("meaning")]]]]}
    mixed = {"t": "BulletList", "c": [[english("one")], [{"t": "Plain", "c": [{"t": "Str", "c": "دو"}]}]]}
    out = pandoc_ast.passages_as_blocks([bullets, numbered, terms, mixed], "rtl")
    for block, kind in zip(out[:3], ("BulletList", "OrderedList", "DefinitionList"), strict=True):
        assert block["t"] == "Div" and dict(block["c"][0][2]) == {"lang": "en", "dir": "ltr"}, block
        (inner,) = block["c"][1]
        assert inner["t"] == kind and "'Div'" not in repr(inner), inner  # no div left inside the list
    plain_inner = [[{"t": "Plain", "c": [{"t": "Str", "c": "inner"}]}]]
    assert out[0]["c"][1][0]["c"][0][1] == {"t": "BulletList", "c": plain_inner}
    assert out[2]["c"][1][0]["c"][0][0] == [{"t": "Str", "c": "Term"}]  # the term's span is gone with the rest
    assert out[3]["t"] == "BulletList" and out[3]["c"][0][0]["t"] == "Div" and out[3]["c"][1][0]["t"] == "Plain"
    assert pandoc_ast.passages_as_blocks([bullets], "ltr") == [bullets]  # same direction: nothing to lift


def test_a_new_right_to_left_edition_sets_its_english_lists_left_to_right(newly_added):
    """Every list of a new right-to-left edition's page that is wholly English (nothing translated yet) runs
    left to right as a whole, wherever the publication has lists."""
    known, root, added = newly_added
    checked = 0
    for tag in [t for t in added if pandoc_ast.text_direction(t) == "rtl"]:
        page = html.fromstring((root / "dist" / known.slug / tag / "index.html").read_bytes())
        for listed in page.xpath("//div[@class='body']//*[self::ul or self::ol or self::dl]"
                                 "[not(ancestor::*[@id='footnotes'])]"):
            texts = [t for t in listed.xpath(".//text()") if t.strip()]
            if texts and all(_language_of(t.getparent())[0] == "en" for t in texts):
                assert _language_of(listed) == ("en", "ltr"), (tag, listed.text_content()[:60])
                checked += 1
    if not checked:
        pytest.skip(f"{known.slug} has no list")
