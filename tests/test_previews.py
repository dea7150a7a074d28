"""`build.py previews`: the review material a person looks at, since validators do not see layout.

Page 1 and every formula page of each PDF, page 1 of each DOCX as LibreOffice lays it out, each HTML
edition and the landing page on a phone and a desktop, all as PNG in build/previews/.
"""

from __future__ import annotations

import shutil

import pytest

from pubpipe.source.project import Project
from pubpipe.verify.previews import formula_pages, render_previews

from .conftest import artifact

LANGS = ["en", "zh-Hans", "fr", "es", "ar"]
PNG = b"\x89PNG\r\n\x1a\n"


def test_formula_pages_come_from_the_structure_tree(built):
    for lang in LANGS:  # the brief's one display formula sits on page 2 or 3, never on the title page
        pages = formula_pages(artifact(built, lang, "pdf"))
        assert len(pages) == 1 and min(pages) > 1, (lang, pages)


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("soffice") and shutil.which("pdftoppm")),
                    reason="previews need chromium, LibreOffice and poppler-utils (build.py previews installs them)")
def test_previews_show_every_edition_in_every_format(built):
    written = render_previews(Project(built), None, None)
    names = {path.name for path in written}
    assert {"index-phone.png", "index-desktop.png"} <= names
    for lang in LANGS:
        stem = f"outgrowing-offsetting.{lang}"
        formula = min(formula_pages(artifact(built, lang, "pdf")))
        assert {f"{stem}.pdf-page1.png", f"{stem}.pdf-page{formula}.png", f"{stem}.docx-page1.png",
                f"{stem}.html-phone.png", f"{stem}.html-desktop.png"} <= names
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, path  # an image with something drawn on it
