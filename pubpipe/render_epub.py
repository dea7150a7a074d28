"""EPUB 3 through pandoc: MathML, the edition's language, a stable identifier, a title page.

Pandoc's sandbox cannot read our stylesheet while writing, so pandoc writes
the EPUB with its built-in stylesheet and we replace that file afterwards,
rewriting the archive deterministically (mimetype first and stored, fixed
timestamps), so two builds stay byte-identical.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .edition import Edition
from .pandoc_ast import write

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def render_epub(edition: Edition, ast: dict, output: Path, css: Path) -> None:
    write(ast, "epub3", ["--mathml", "--split-level=1", "--toc", "--toc-depth=1", "--epub-title-page=true"],
          outputfile=output)
    replace_members(output, {name: css.read_bytes() for name in _stylesheets(output)})


def _stylesheets(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as epub:
        return [name for name in epub.namelist() if name.endswith(".css")]


def replace_members(path: Path, replacements: dict[str, bytes], additions: dict[str, bytes] | None = None) -> None:
    """Rewrite an EPUB with some members replaced or added, keeping it valid and reproducible."""
    with zipfile.ZipFile(path) as source:
        members = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    members = [(name, replacements.get(name, data)) for name, data in members]
    members += sorted((additions or {}).items())
    with zipfile.ZipFile(path, "w") as target:
        for name, data in members:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            target.writestr(info, data)
