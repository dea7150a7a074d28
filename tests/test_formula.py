"""The display formula, in every publication and language: its alt text and its fit on the page and screen.

- The alt text is a sentence of the canonical source (`::: {.formula alt="..."}`), a segment of its own in
  the catalogs, translated; it reaches the PDF (/Alt of the Formula), the MathML (`alttext`, `aria-label`),
  EPUB and DOCX (a content control's title), escaped as text whatever a translator types; a formula
  without one reads its words, never its TeX, and `check_formulas` warns about it.
- The formula fits: every glyph of every PDF page inside the type area (hanging punctuation aside); in
  Chromium at 1280 px it never scrolls, at 390 px it fits or is a focusable, labelled region.
- Right-to-left: the Arabic and Hebrew formulas read from the right in the PDF, HTML and DOCX.
- The PDF's /Lang values claim no region the tag does not declare (en, not en-CN; ar, not ar-EG).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pymupdf
import pypdf
import pytest
from lxml import etree, html

from pubpipe.cli import main
from pubpipe.render.formulas import label_mathml, mirrored_tex
from pubpipe.source.formulas import check_formulas, formula_alts, reading
from pubpipe.source.publication import load_publication
from pubpipe.source.segments import reassemble, segment_markdown
from pubpipe.verify.readback import epub_documents

from .conftest import PUBLICATIONS, ROOT, SLUG, catalog_file

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
MARGIN_PT = 2.2 / 2.54 * 72  # brief.typ.j2: margin x 2.2cm
HOSTILE = 'Fraction "quoted" & a > b, $ and \\ back'  # passes the catalog checks: must come out as text
TEX = re.compile(r"\\[A-Za-z]+|\$\$|\\frac|\{|\}")


@pytest.fixture()
def built_publication(released):
    """(publication, project root, editions {lang: {format: path}}): the shared build of conftest's `released`."""
    known, root, entry = released
    editions = {e["lang"]: {a["format"]: root / "dist" / a["path"] for a in e["artifacts"]}
                for e in entry["editions"]}
    return known, root, editions


def alts_of_source(known) -> list[str | None]:
    publication, _ = load_publication(known.source)
    return [alt for _line, alt in formula_alts(publication.document)]


# -- the source and the catalogs ----------------------------------------------------------------------------

def test_the_alt_text_is_a_segment_of_its_own_and_reassembles_as_text():
    source = ('1. Item.\n\n   ::: {.formula alt="Reads \\"so\\" \\\\ here"}\n   $$\\frac{\\text{a}}{\\text{b}}$$\n'
              "   :::\n")
    document = segment_markdown(source, "brief.md")
    kinds = [(s.kind, s.text, s.line) for s in document.segments]
    assert ("alt", 'Reads "so" \\ here', 3) in kinds and any(k[0] == "formula" for k in kinds)
    assert reassemble(document, lambda s: None) == source
    hostile = '"><script>alert(1)</script> $ \\ end\nsecond line'
    text = reassemble(document, lambda s: hostile if s.kind == "alt" else None)
    import pypandoc

    ast = json.loads(pypandoc.convert_text(text, "json", format="markdown", sandbox=True))
    div = ast["blocks"][0]["c"][1][0][1]
    assert div["t"] == "Div" and div["c"][0][2] == [["alt", hostile.replace("\n", " ")]]


def test_every_formula_of_every_publication_has_alt_text(publication):
    alts = alts_of_source(publication)
    if not alts:
        pytest.skip(f"{publication.slug} has no display formula")
    assert all(alt and alt.strip() for alt in alts)
    loaded, _ = load_publication(publication.source)
    assert check_formulas(loaded) == []


def test_a_formula_without_alt_text_is_warned_about_and_read_as_words(project):
    brief = project / "content" / SLUG / "brief.md"
    text = brief.read_text(encoding="utf-8")
    brief.write_text(re.sub(r'   ::: \{\.formula alt="[^"]*"\}\n', "   ::: {.formula}\n", text), encoding="utf-8")
    publication, _ = load_publication(project / "content" / SLUG)
    (problem,) = check_formulas(publication)
    assert problem.check == "formula-alt" and problem.severity == "warning" and problem.line == 20
    words = reading(r"\frac{\text{New emissions} + \text{Capture}}{\text{Zero}} = \text{False} \quad (\text{x})")
    assert words == "(New emissions + Capture) / Zero = False (x)"
    assert not TEX.search(reading(r"\frac{\alpha_1}{\sqrt{\beta}} \leq \mathrm{d}x"))
    err = io.StringIO()  # and `check` says so, at the formula's line, without failing
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["update"], project) == 0  # the alt segment is gone from the templates
        assert main(["check", "--sources"], project) == 0
    assert f"content/{SLUG}/brief.md:20: warning: display formula without alternative text" in err.getvalue()


def test_the_catalogs_translate_the_alt_text():
    """fr, es, ar and zh-Hans: the sentence is translated, plain text, and passes the catalog checks."""
    import polib

    english = alts_of_source(next(p for p in PUBLICATIONS if p.slug == SLUG))[0]
    for lang in ("zh_Hans", "fr", "es", "ar"):
        entry = polib.pofile(str(ROOT / "locales" / lang / "LC_MESSAGES" / f"{SLUG}.po")).find(english)
        assert entry and entry.msgstr and not entry.fuzzy and not TEX.search(entry.msgstr), lang
        assert "Alternative text of the formula" in entry.comment
    zh = polib.pofile(str(ROOT / "locales" / "zh_Hans" / "LC_MESSAGES" / f"{SLUG}.po")).find(english)
    assert "reviewed" in zh.tcomment and "错误的等价逻辑" in zh.msgstr and "两者不是同类项" in zh.msgstr


# -- every artifact of every publication ---------------------------------------------------------------------

def expected_alts(known, root: Path, lang: str) -> list[str]:
    """The alt text each edition should carry: the catalog's translation, else the English."""
    import polib

    alts = [alt for alt in alts_of_source(known) if alt]
    if lang == "en":
        return alts
    path = next(iter((root / "locales").glob(f"{lang.replace('-', '_')}*/LC_MESSAGES/{known.slug}.po")), None)
    catalog = polib.pofile(str(path)) if path else None
    found = []
    for alt in alts:
        entry = catalog.find(alt) if catalog else None
        found.append(entry.msgstr if entry and entry.msgstr and not entry.fuzzy else alt)
    return found


def formula_alts_in_pdf(path: Path) -> tuple[list[str], list[str]]:
    """(/Alt of every Formula, every /Lang) of the PDF's structure tree."""
    reader = pypdf.PdfReader(str(path))
    alts, langs = [], [str(reader.trailer["/Root"]["/Lang"])]

    def walk(node):
        node = node.get_object()
        if isinstance(node, pypdf.generic.ArrayObject):
            for child in node:
                walk(child)
        elif isinstance(node, pypdf.generic.DictionaryObject):
            if "/Lang" in node:
                langs.append(str(node["/Lang"]))
            if node.get("/S") == "/Formula":
                alts.append(str(node.get("/Alt", "")))
            if "/K" in node:
                walk(node["/K"])

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return alts, langs


def test_pdf_formulas_carry_the_edition_alt_text_and_lang_claims_no_invented_region(built_publication):
    known, root, editions = built_publication
    for lang, files in editions.items():
        alts, langs = formula_alts_in_pdf(files["pdf"])
        expected = expected_alts(known, root, lang)
        assert alts == expected, (lang, alts)
        assert all(alt and not TEX.search(alt) for alt in alts), lang
        own = langs[0]
        for value in langs:  # a region only where the tag declares it (or Chinese: zh-CN, zh-TW)
            language, _, region = value.partition("-")
            assert not region or value == own and language == "zh", (lang, value)


def test_every_glyph_of_every_pdf_lies_inside_the_type_area(built_publication):
    _known, _root, editions = built_publication
    for lang, files in editions.items():
        for page in pymupdf.open(files["pdf"]):
            width = page.rect.width
            for block in page.get_text("rawdict")["blocks"]:
                for line in block.get("lines", []):
                    for span in line["spans"]:
                        for char in span["chars"]:
                            if not char["c"].strip() or char["c"] == "\xad":
                                continue
                            x0, _y0, x1, _y1 = char["bbox"]
                            assert 0 <= x0 and x1 <= width, (lang, page.number, char["c"], x0, x1)
                            hang = 0.6 * span["size"]  # hanging punctuation (Typst's overhang)
                            assert MARGIN_PT - hang <= x0 and x1 <= width - MARGIN_PT + hang, \
                                (lang, page.number, char["c"], round(x0, 1), round(x1, 1))


def test_mathml_carries_alttext_and_aria_label_in_html_and_epub(built_publication):
    known, root, editions = built_publication
    for lang, files in editions.items():
        expected = expected_alts(known, root, lang)
        page = html.parse(str(files["html"]))
        maths = page.xpath("//*[local-name()='math'][@display='block']")
        assert [m.get("alttext") for m in maths] == expected, lang
        for math in maths:
            assert math.get("aria-label") == math.get("alttext")
            box = math.getparent()
            assert box.get("tabindex") == "0" and box.get("role") == "region" and box.get("aria-label") == \
                math.get("alttext")
        epub = [etree.fromstring(data) for _name, data in epub_documents(files["epub"])]
        found = [m for doc in epub for m in doc.iter("{http://www.w3.org/1998/Math/MathML}math")
                 if m.get("display") == "block"]
        assert [m.get("alttext") for m in found] == expected, lang
        assert all(m.getparent().get("aria-label") == m.get("alttext") for m in found)


def test_docx_formulas_sit_in_a_content_control_titled_with_the_alt_text(built_publication):
    known, root, editions = built_publication
    for lang, files in editions.items():
        with zipfile.ZipFile(files["docx"]) as docx:
            document = etree.fromstring(docx.read("word/document.xml"))
        controls = [c for c in document.iter(f"{W}sdt") if c.find(f".//{M}oMathPara") is not None]
        assert [c.find(f"{W}sdtPr/{W}alias").get(f"{W}val") for c in controls] == expected_alts(known, root, lang)
        if lang in ("ar", "he"):  # right to left: a bidi paragraph, the formula's first term on the right
            publication, _ = load_publication(known.source)
            formulas = [s.text for s in publication.document.segments if s.kind == "formula"]
            for control, formula in zip(controls, formulas, strict=True):
                assert control.find(f".//{W}p/{W}pPr/{W}bidi") is not None
                terms = [child.tag for child in control.find(f".//{M}oMath")]
                fraction_first = formula.index("\\frac") < formula.index("=")
                if terms == [f"{M}m"]:  # broken into rows before its relation: the first row holds the first term
                    first_row = [child.tag for child in control.find(f".//{M}mr/{M}e")]
                    assert (f"{M}f" in first_row) == fraction_first, (lang, first_row)
                else:
                    assert terms[-1 if fraction_first else 0] == f"{M}f", (lang, terms)


def test_rtl_formulas_read_from_the_right_in_the_pdf(built_publication):
    """Where the formula starts with its fraction, the fraction's bar lies right of the equals sign in a
    right-to-left edition (left of it where the fraction comes after it)."""
    known, _root, editions = built_publication
    publication, _ = load_publication(known.source)
    formulas = [s.text for s in publication.document.segments if s.kind == "formula"]
    for lang in ("ar", "he"):
        if lang not in editions or not formulas:
            continue
        fraction_first = formulas[0].index("\\frac") < formulas[0].index("=")
        checked = 0
        for page in pymupdf.open(editions[lang]["pdf"]):
            for sign in page.search_for("="):
                middle = (sign.y0 + sign.y1) / 2
                bars = [d["rect"] for d in page.get_drawings()
                        if d["rect"].height < 2 and d["rect"].width > 20 and abs(d["rect"].y0 - middle) < 6]
                for bar in bars:
                    assert (bar.x0 > sign.x1) == fraction_first, (lang, bar, sign)
                    checked += 1
        assert checked, lang


def test_mirrored_tex_reverses_terms_and_keeps_fractions_and_text():
    assert mirrored_tex(r"\frac{\text{a} + \text{b}}{\text{c}} = \text{d} \quad (\text{e})") == \
        r"( \text{e} ) \quad \text{d} = \frac{\text{b} + \text{a}}{\text{c}}"
    assert mirrored_tex(r"x_{i}^2 \leq y") == r"y \geq x_{i}^2"


# -- a hostile translation of the alt text --------------------------------------------------------------------

def catalog_errors(project, capsys) -> list[str]:
    """The errors `check` reports in the French catalog (other problems of the tree are not this test's)."""
    capsys.readouterr()
    main(["check"], project)
    return [line for line in capsys.readouterr().err.splitlines()
            if "fr/LC_MESSAGES/outgrowing-offsetting.po" in line and ": error:" in line]


def test_a_translated_alt_text_stays_text_in_every_format(project, capsys):
    english = alts_of_source(next(p for p in PUBLICATIONS if p.slug == SLUG))[0]
    po = catalog_file(project, "fr")
    import polib

    catalog = polib.pofile(str(po))
    catalog.find(english).msgstr = HOSTILE
    catalog.save()
    assert catalog_errors(project, capsys) == []  # plain text with quotes, ampersands, a dollar and a backslash
    assert main(["--quiet", "--lang", "fr"], project) == 0
    folder = project / "dist" / SLUG / "fr"
    page = html.parse(str(folder / "index.html"))
    (math,) = page.xpath("//*[local-name()='math'][@display='block']")
    assert math.get("alttext") == HOSTILE and math.get("aria-label") == HOSTILE
    epub = [m for _n, data in epub_documents(folder / f"{SLUG}.fr.epub")
            for m in etree.fromstring(data).iter("{http://www.w3.org/1998/Math/MathML}math")]
    assert [m.get("alttext") for m in epub] == [HOSTILE]
    assert formula_alts_in_pdf(folder / f"{SLUG}.fr.pdf")[0] == [HOSTILE]
    with zipfile.ZipFile(folder / f"{SLUG}.fr.docx") as docx:
        document = etree.fromstring(docx.read("word/document.xml"))
    assert [a.get(f"{W}val") for a in document.iter(f"{W}alias")] == [HOSTILE]


def test_markup_in_a_translated_alt_text_is_refused_by_the_checks(project, capsys):
    english = alts_of_source(next(p for p in PUBLICATIONS if p.slug == SLUG))[0]
    import polib

    catalog = polib.pofile(str(catalog_file(project, "fr")))
    catalog.find(english).msgstr = '"><script>alert(1)</script>' + catalog.find(english).msgstr
    catalog.save()
    assert any("[no-raw-markup]" in line for line in catalog_errors(project, capsys))
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 0
    (math,) = html.parse(str(project / "dist" / SLUG / "fr" / "index.html")).xpath(
        "//*[local-name()='math'][@display='block']")
    assert math.get("alttext") == english  # the refused translation is not used


def test_label_mathml_copies_escaped_values_only():
    markup = ('<span class="formula" alt="a &quot;b&quot; &lt;c&gt; &amp;" data-texts="2"><math display="block" '
              'xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math></span>')
    tree = html.fromstring(f"<div>{label_mathml(markup)}</div>")
    (math,) = tree.xpath("//math")
    assert math.get("alttext") == 'a "b" <c> &' and not tree.xpath("//c")


# -- the layout in a browser -----------------------------------------------------------------------------------

def test_html_formulas_fit_at_1280_px_and_are_focusable_and_labelled_at_390(built_publication, tmp_path):
    node, chromium = shutil.which("node"), Path("/usr/bin/chromium")
    if not node or not chromium.exists() or not (ROOT / "tools" / "referees" / "node_modules").is_dir():
        pytest.skip("node, /usr/bin/chromium and tools/referees/node_modules are needed (build.py test sets them up)")
    _known, _root, editions = built_publication
    files = [str(files["html"]) for files in editions.values()]
    jobs, result = tmp_path / "jobs.json", tmp_path / "result.json"
    jobs.write_text(json.dumps({"files": files, "widths": [390, 1280]}), encoding="utf-8")
    subprocess.run([node, str(ROOT / "tests" / "formula_layout.mjs"), str(jobs), str(result)], check=True,
                   timeout=300)
    layout = json.loads(result.read_text(encoding="utf-8"))
    for file, widths in layout.items():
        for width, formulas in widths.items():
            for formula in formulas:
                assert formula["pageScroll"] <= formula["viewport"], (file, width)
                if width == "1280" or formula["scrollWidth"] <= formula["clientWidth"]:
                    assert formula["scrollWidth"] <= formula["clientWidth"], (file, width, formula)
                else:  # may scroll on a phone, only as a focusable, labelled region
                    assert formula["tabindex"] == "0" and formula["role"] and formula["label"], (file, formula)
