"""The cache key of one artifact: everything that shapes its bytes, and nothing that does not.

From the edition's input hashes (verify/inputs.py: sources, figures,
catalogs, templates, CSL style) each format keeps the templates it reads, so
editing templates/brief.typ.j2 rebuilds only PDFs, page.html.j2 only HTML
pages and epub.css only EPUBs; a template this table does not name counts for
every format. Then the font files of the font table (PDF and EPUB, which
embed faces), SOURCE_DATE_EPOCH, the installed packages and pubpipe's own
code (release/cache.py). An HTML page also shows the size of each download
beside it, so its key includes them.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path, PurePosixPath

from pubpipe.release.cache import code_digest, digest_json, file_digest, font_identity, tools_digest
from pubpipe.render.fonts import _typst_fonts, table_families
from pubpipe.verify.inputs import SOURCE_FILES

FORMAT_TEMPLATES = {"pdf": {"brief.typ.j2"}, "epub": {"epub.css", "accessibility.txt.j2"},
                    "html": {"page.html.j2", "style.css"}, "docx": set()}
INDEX_TEMPLATES = {"index.html.j2", "index.css"}  # the landing page only, written on every build
EMBEDS_FONTS = ("pdf", "epub")


def template_owner(name: str) -> set[str]:
    """The formats whose artifacts read this template; every format for one the table does not know."""
    if name in INDEX_TEMPLATES:
        return set()
    owners = {fmt for fmt, names in FORMAT_TEMPLATES.items() if name in names}
    return owners or set(FORMAT_TEMPLATES)


def inputs_for(fmt: str, inputs: dict[str, str]) -> dict[str, str]:
    """The edition's inputs that this format reads: all but the other formats' templates."""
    return {name: sha for name, sha in inputs.items()
            if not name.startswith("templates/") or "/csl/" in name or fmt in template_owner(PurePosixPath(name).name)}


@cache
def font_paths() -> list[str]:
    """Every installed face of the font table's families: what a PDF or an EPUB can embed."""
    families = set(table_families())
    return sorted({str(face.path) for face in _typst_fonts() if face.family in families and face.path})


@cache
def fonts_digest() -> str:
    return digest_json(font_identity(font_paths()))


def artifact_key(slug: str, tag: str, fmt: str, epoch: int, inputs: dict[str, str],
                 siblings: dict[str, int] | None = None) -> str:
    """SHA-256 of what the artifact is made from; `siblings` (HTML only): the sizes of the downloads it lists."""
    return digest_json({
        "artifact": [slug, tag, fmt], "epoch": epoch, "inputs": inputs_for(fmt, inputs),
        "fonts": fonts_digest() if fmt in EMBEDS_FONTS else "", "siblings": siblings or {},
        "tools": tools_digest(), "code": code_digest(),
    })


def check_key(catalog: Path, publication, spec, python_format: bool = False) -> str:
    """What the entry checks of a catalog depend on: the catalog, the publication's sources (segments,
    glossary, names), the edition's declaration, the faces installed (glyph coverage), the code, the
    working folder (diagnostics name paths relative to it), and whether entries are format strings (ui)."""
    return digest_json({
        "catalog": file_digest(catalog), "python-format": python_format,
        "sources": {name: file_digest(publication.root / name) for name in SOURCE_FILES},
        "spec": [spec.language.tag, spec.status, spec.native_digits, spec.min_completeness], "cwd": os.getcwd(),
        "fonts": fonts_digest(), "tools": tools_digest(), "code": code_digest(),
    })
