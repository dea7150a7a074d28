"""What must hold for any publication: the IYRP brief and every fixture publication, whatever their languages.

Each publication is set up alone in a temporary project, brought up to date
with `update`, checked, built in every declared language and format, and read
back: the artifacts parse, carry the edition's language, and pass the
citation gate (`check --artifacts`); the catalogs pass GNU msgfmt; a second
`update` changes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import pytest
from lxml import etree, html

from pubpipe.cli import main
from pubpipe.verify.readback import epub_documents, pdf_text


def test_every_declared_language_is_built_in_every_format(released):
    known, root, entry = released
    import yaml

    declared = list(yaml.safe_load((known.source / "publication.yaml").read_text(encoding="utf-8"))["languages"])
    assert [e["lang"] for e in entry["editions"]] == declared
    for edition in entry["editions"]:
        formats = {a["format"] for a in edition["artifacts"]}
        assert {"html", "pdf", "epub", "docx", "bib", "ris"} <= formats, edition["lang"]
        for artifact in edition["artifacts"]:
            assert (root / "dist" / artifact["path"]).stat().st_size == artifact["bytes"]


def test_every_artifact_parses_and_declares_its_language(released):
    _known, root, entry = released
    for edition in entry["editions"]:
        lang, files = edition["lang"], {a["format"]: root / "dist" / a["path"] for a in edition["artifacts"]}
        page = html.fromstring(files["html"].read_bytes())
        assert page.get("lang") == lang and page.get("dir") == edition["dir"]
        documents = epub_documents(files["epub"])
        assert documents and all(etree.fromstring(data) is not None for _name, data in documents)
        with zipfile.ZipFile(files["docx"]) as docx:
            etree.fromstring(docx.read("word/document.xml"))
            assert lang.split("-")[0] in docx.read("docProps/core.xml").decode("utf-8") or \
                lang.split("-")[0] in docx.read("word/styles.xml").decode("utf-8")
        assert pdf_text(files["pdf"]).strip()


def test_the_citation_gate_passes_on_every_artifact(released):
    _known, root, _entry = released
    assert main(["check", "--artifacts"], root) == 0


def test_catalogs_pass_msgfmt_and_update_is_idempotent(released):
    known, root, _entry = released
    if not shutil.which("msgfmt"):
        pytest.skip("GNU gettext (msgfmt) is not installed; build.py test installs it")
    catalogs = sorted((root / "locales").rglob(f"{known.slug}.po"))
    assert catalogs
    for path in catalogs:
        result = subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, (path, result.stderr)
    before = {p: p.read_bytes() for p in (root / "locales").rglob("*.po*")}
    assert main(["update"], root) == 0
    assert {p: p.read_bytes() for p in (root / "locales").rglob("*.po*")} == before



def test_an_embedded_font_subset_shapes_the_text_as_the_whole_face_does(released):
    """An EPUB that embeds its script's face carries a subset (render/epub.py, HarfBuzz): every paragraph
    must shape with it to the same glyph positions as with the installed face (a subset that lost a
    character, a ligature or a contextual form would move them), and its cmap must cover the text."""
    import uharfbuzz as hb

    from pubpipe.render.epub import embedded_face
    from pubpipe.render.fonts import face_path
    from pubpipe.source.languages import parse_language

    def positions(face: hb.Face, text: str) -> list[tuple[int, int, int, int, int]]:
        buffer = hb.Buffer()
        buffer.add_str(text)
        buffer.guess_segment_properties()
        hb.shape(hb.Font(face), buffer, {})
        return [(info.cluster, pos.x_advance, pos.y_advance, pos.x_offset, pos.y_offset)
                for info, pos in zip(buffer.glyph_infos, buffer.glyph_positions, strict=True)]

    _known, root, entry = released
    for edition in entry["editions"]:
        epub = next(root / "dist" / a["path"] for a in edition["artifacts"] if a["format"] == "epub")
        with zipfile.ZipFile(epub) as archive:
            fonts = [archive.read(n) for n in archive.namelist() if n.endswith(".ttf")]
        family = embedded_face(parse_language(edition["lang"]))
        assert len(fonts) == (1 if family else 0), edition["lang"]
        if not family:
            continue
        subset, whole = hb.Face(hb.Blob(fonts[0])), hb.Face(hb.Blob.from_file_path(face_path(family)))
        covered, drawn = set(subset.unicodes), set(whole.unicodes)
        paragraphs = [" ".join(" ".join(p.itertext()).split()) for _name, data in epub_documents(epub)
                      for p in etree.fromstring(data).iter("{http://www.w3.org/1999/xhtml}p")]
        own = [p for p in paragraphs if any(ch.isalpha() and not ch.isascii() and ord(ch) in drawn for ch in p)]
        assert own, edition["lang"]
        for paragraph in own:
            assert {ch for ch in paragraph if ord(ch) in drawn and ord(ch) not in covered} == set(), paragraph[:60]
            assert positions(subset, paragraph) == positions(whole, paragraph), (edition["lang"], paragraph[:60])
