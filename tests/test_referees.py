"""The verify stage: every artifact of every publication passes the outside referees, and each referee is wired.

One build of everything (the IYRP brief and every fixture publication) per
session, one run of every validator over it; then, for each validator, a copy
of a real artifact with one seeded fault that the validator must report (and
the untouched original beside it, in the same batch, that it must not).

A validator that is not installed skips here with the reason (python3 build.py
test installs them all) and fails under CI (env CI set).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from pubpipe.cli import main
from pubpipe.verify.referees import VALIDATORS, missing, verify_artifacts

from .conftest import PUBLICATIONS, add_empty_editions, copy_project, install_publication

# check name in a diagnostic -> the validator (tool) that produces it
CHECKS = {"epubcheck": "epubcheck", "ace": "ace", "axe": "axe", "nu": "nu", "qpdf": "qpdf",
          "pdf-ua": "pdf-structure", "pdf-lang": "pdf-structure", "pdf-bounds": "pdf-structure",
          "docx-layout": "docx-layout"}


def require(validator: str) -> None:
    needs = missing(validator)
    if needs:
        if os.environ.get("CI"):
            pytest.fail(f"{validator} is not installed under CI: install {needs}")
        pytest.skip(f"{validator} is not installed: install {needs} (python3 build.py test sets it up)")


@pytest.fixture(scope="session")
def everything(tmp_path_factory) -> Path:
    """dist/ of one build of every publication the tests know, each brought up to date with `update`, and each
    with new draft editions that have nothing translated yet (sw, fa): what falls back to the source language
    must pass the referees too (Nu's language detection, axe's lang checks, Ace, EPUBCheck)."""
    root = copy_project(tmp_path_factory.mktemp("everything"))
    for known in PUBLICATIONS:
        if known.is_fixture:
            install_publication(known, root)
        add_empty_editions(root, known.slug)
    assert main(["update"], root) == 0
    assert main(["--quiet"], root) == 0
    return root / "dist"


@pytest.fixture(scope="session")
def findings(everything) -> list:
    """Every validator, once, over everything (the installed ones; the others are skipped per test)."""
    manifest = json.loads((everything / "manifest.json").read_text(encoding="utf-8"))
    installed = [name for name, _fmt, _run in VALIDATORS if not missing(name)]
    return verify_artifacts(everything, manifest, installed)


def test_every_check_name_belongs_to_a_validator():
    assert set(CHECKS.values()) == {name for name, _fmt, _run in VALIDATORS}


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_every_artifact_passes(findings, check):
    require(CHECKS[check])
    found = [str(d) for d in findings if d.check == check]
    assert not found, f"{len(found)} problem(s):\n" + "\n".join(found)


def test_the_stage_covers_every_edition_and_the_index(everything, findings):
    manifest = json.loads((everything / "manifest.json").read_text(encoding="utf-8"))
    editions = [e for p in manifest["publications"] for e in p["editions"]]
    declared = [yaml.safe_load((everything.parent / "content" / k.slug / "publication.yaml").read_text(
        encoding="utf-8"))["languages"] for k in PUBLICATIONS]  # the editions added included
    assert len(editions) == sum(len(languages) for languages in declared)
    assert (everything / "index.html").is_file()
    assert all(d.path.startswith("dist/") and d.line >= 1 for d in findings)


# ---- seeded faults: copies of real artifacts with one thing broken ----

def copy_edition(everything: Path, target: Path, slug: str = "field-note", lang: str = "en") -> Path:
    """The edition's folder (with its figures), copied to target/<slug>/<lang>, as dist/ has it."""
    folder = target / slug / lang
    shutil.copytree(everything / slug / lang, folder)
    return folder


def rezip(source: Path, target: Path, edit) -> Path:
    """Copy a ZIP package (EPUB, DOCX), passing each member's bytes through edit(name, data); the EPUB's
    mimetype stays first and stored."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = edit(info.filename, old.read(info))
            new.writestr(info, data, compress_type=zipfile.ZIP_STORED if info.filename == "mimetype"
                         else zipfile.ZIP_DEFLATED)
    return target


def epub_members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as epub:
        return [(name, epub.read(name)) for name in epub.namelist()]


def found(problems, check: str, path: Path, dist: Path, text: str) -> list[str]:
    shown = f"dist/{path.relative_to(dist).as_posix()}"
    return [str(d) for d in problems if d.check == check and d.path == shown and text in d.message]


def test_axe_and_nu_find_an_image_without_alt_text_and_an_html_error(everything, tmp_path):
    require("axe")
    require("nu")
    folder = copy_edition(everything, tmp_path)
    page = folder / "index.html"
    broken = folder / "broken.html"
    html = page.read_text(encoding="utf-8")
    alt = re.search(r'(<img [^>]*?) alt="[^"]*"', html)  # the first figure's image loses its alt text
    assert alt and "</main>" in html
    broken.write_text(html.replace(alt.group(0), alt.group(1), 1).replace("</main>", "</span></main>", 1),
                      encoding="utf-8")
    problems = verify_artifacts(tmp_path, [page, broken], ["axe", "nu"])
    assert found(problems, "axe", broken, tmp_path, "image-alt"), problems
    assert found(problems, "nu", broken, tmp_path, "Stray end tag “span”"), problems
    assert not found(problems, "axe", page, tmp_path, "image-alt")
    assert not found(problems, "nu", page, tmp_path, "Stray end tag")


def test_epubcheck_and_ace_find_a_broken_link_and_an_image_without_alt_text(everything, tmp_path):
    require("epubcheck")
    require("ace")
    folder = copy_edition(everything, tmp_path)
    epub = folder / "field-note.en.epub"

    chapters = {name: data for name, data in epub_members(epub) if name.endswith(".xhtml")}
    linking = next(name for name, data in chapters.items() if re.search(rb'href="ch\d+\.xhtml', data))
    picturing = next(name for name, data in chapters.items() if re.search(rb'<img [^>]*? alt="', data))

    def break_link(name, data):  # the first link to another chapter points at one that is not there
        return re.sub(rb'href="ch\d+\.xhtml', b'href="ch999.xhtml', data, count=1) if name == linking else data

    def drop_alt(name, data):
        return re.sub(rb'(<img [^>]*?) alt="[^"]*"', rb"\1", data, count=1) if name == picturing else data

    link = rezip(epub, folder / "link.epub", break_link)
    image = rezip(epub, folder / "image.epub", drop_alt)
    problems = verify_artifacts(tmp_path, [epub, link, image], ["epubcheck", "ace"])
    assert found(problems, "epubcheck", link, tmp_path, "ch999.xhtml"), problems
    assert found(problems, "ace", image, tmp_path, "image-alt"), problems
    assert not found(problems, "epubcheck", epub, tmp_path, "ch999.xhtml")
    assert not found(problems, "ace", epub, tmp_path, "image-alt")


def test_qpdf_finds_a_broken_xref(everything, tmp_path):
    require("qpdf")
    folder = copy_edition(everything, tmp_path)
    pdf = folder / "field-note.en.pdf"
    data = pdf.read_bytes()
    at = data.rindex(b"startxref")
    offset = data[at:].split()[1]
    broken = folder / "broken.pdf"
    broken.write_bytes(data[:at] + data[at:].replace(offset, str(int(offset) - 7).encode(), 1))
    problems = verify_artifacts(tmp_path, [pdf, broken], ["qpdf"])
    assert found(problems, "qpdf", broken, tmp_path, ""), problems
    assert not found(problems, "qpdf", pdf, tmp_path, "")  # qpdf finds nothing in any real PDF


def test_pdf_checks_find_an_english_span_tagged_en_cn_tex_alt_text_and_text_beyond_the_type_area(
        everything, tmp_path):
    require("pdf-structure")
    import pymupdf
    import pypdf

    folder = copy_edition(everything, tmp_path, "outgrowing-offsetting", "zh-Hans")
    pdf = folder / "outgrowing-offsetting.zh-Hans.pdf"
    writer = pypdf.PdfWriter(clone_from=pdf)
    formulas, spans = [], []
    stack = [writer.root_object["/StructTreeRoot"]]
    while stack:  # the structure elements, to tag a paragraph en-CN and give the formula TeX as /Alt
        node = stack.pop().get_object()
        if isinstance(node, dict) and "/S" in node:
            (formulas if node["/S"] == "/Formula" else spans if node["/S"] in ("/P", "/Span") else []).append(node)
        kids = node.get("/K") if isinstance(node, dict) else None
        stack += [k for k in (kids if isinstance(kids, list) else [kids]) if k is not None and not isinstance(k, int)]
    spans[0][pypdf.generic.NameObject("/Lang")] = pypdf.generic.TextStringObject("en-CN")
    formulas[0][pypdf.generic.NameObject("/Alt")] = pypdf.generic.TextStringObject(r"\frac{a}{b} = \text{c}")
    tagged = folder / "tagged.pdf"
    writer.write(tagged)
    with pymupdf.open(pdf) as document:  # a formula wider than the page: text running past the right margin
        page = document[0]
        page.insert_text((page.rect.width - 60, page.rect.height / 2), "E = mc^2 + a + b + c", fontsize=10.5)
        document.save(folder / "wide.pdf")
    wide = folder / "wide.pdf"
    problems = verify_artifacts(tmp_path, [pdf, tagged, wide], ["pdf-structure"])
    assert found(problems, "pdf-lang", tagged, tmp_path, "'en-CN' claims the region CN"), problems
    assert found(problems, "pdf-ua", tagged, tmp_path, r"TeX, not words: '\\frac{a}{b}"), problems
    assert found(problems, "pdf-bounds", wide, tmp_path, "E = mc^2"), problems
    assert not found(problems, "pdf-ua", pdf, tmp_path, r"\frac{a}{b}")
    assert not found(problems, "pdf-bounds", pdf, tmp_path, "E = mc^2")


def test_docx_layout_finds_a_docx_without_page_size(everything, tmp_path):
    require("docx-layout")
    folder = copy_edition(everything, tmp_path)
    docx = folder / "field-note.en.docx"

    def drop_page_size(name, data):
        if name == "word/document.xml":
            return re.sub(rb"<w:pgSz\b[^>]*/>", b"", data)
        return data

    def add_page_size(name, data):  # today's DOCX may lack it (the metadata work adds it): give the original one
        if name == "word/document.xml" and b"<w:pgSz" not in data:
            return data.replace(b"</w:sectPr>", b'<w:pgSz w:w="11906" w:h="16838"/></w:sectPr>', 1)
        return data

    a4 = rezip(docx, folder / "a4.docx", add_page_size)
    broken = rezip(a4, folder / "broken.docx", drop_page_size)
    problems = verify_artifacts(tmp_path, [a4, broken], ["docx-layout"])
    assert found(problems, "docx-layout", broken, tmp_path, "no page size"), problems
    assert found(problems, "docx-layout", broken, tmp_path, "not A4"), problems
    assert not found(problems, "docx-layout", a4, tmp_path, "page size")
    assert not found(problems, "docx-layout", a4, tmp_path, "not A4")


def test_a_missing_tool_is_a_warning_naming_what_to_install_and_an_error_under_ci(tmp_path, monkeypatch):
    from pubpipe.verify import referees

    monkeypatch.setattr(referees, "missing", lambda name: "qpdf (Debian: qpdf)" if name == "qpdf" else None)
    pdf = tmp_path / "note" / "en" / "note.en.pdf"  # never opened: the tool is not there
    monkeypatch.delenv("CI", raising=False)
    (skipped,) = verify_artifacts(tmp_path, [pdf], ["qpdf"])
    assert skipped.severity == "warning" and skipped.check == "qpdf"
    assert str(skipped) == ("dist/note/en/note.en.pdf:1: warning: qpdf skipped: install qpdf (Debian: qpdf) "
                            "(python3 build.py test sets it up) [qpdf]")
    monkeypatch.setenv("CI", "true")
    (refused,) = verify_artifacts(tmp_path, [pdf], ["qpdf"])
    assert refused.severity == "error"
