"""EPUB 3 through pandoc: MathML, the edition's language and direction, a stable identifier, a title page.

Pandoc's sandbox cannot read our stylesheet or fonts while writing, so pandoc
writes the EPUB with its built-in stylesheet and we rewrite the archive
afterwards (our CSS; `dir` on every XHTML document of a right-to-left
edition; a subset of the Arabic face, since many e-readers lack one),
deterministically: mimetype first and stored, fixed timestamps.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path, PurePosixPath

from fontTools import subset
from fontTools.ttLib import TTFont

from pubpipe.render.figures import header_scope, with_data_uris
from pubpipe.render.fonts import SCRIPTS, css_rules, face_path, faces_for
from pubpipe.render.html import math_direction
from pubpipe.render.pandoc_ast import write
from pubpipe.translate.edition import Edition

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def embedded_face(edition: Edition) -> str | None:
    """The edition's own face, subset into the EPUB, for scripts many readers lack a font for: every
    script of the font table except Latin, Cyrillic, Greek and CJK (whose faces are too large to embed)."""
    own = faces_for(edition.language)
    return None if own.cjk or own.families == SCRIPTS["Latn"].families else own.serif


def render_epub(edition: Edition, ast: dict, output: Path, css: Path) -> None:
    write(with_data_uris(ast, edition.publication.root), "epub3",
          ["--mathml", "--split-level=1", "--toc", "--toc-depth=1", "--epub-title-page=true"], outputfile=output)
    with zipfile.ZipFile(output) as epub:
        names = epub.namelist()
        opf_name = next(n for n in names if n.endswith(".opf"))
        opf = epub.read(opf_name).decode("utf-8")
        documents = {n: epub.read(n).decode("utf-8") for n in names if n.endswith(".xhtml")}
    stylesheet = css.read_text(encoding="utf-8") + css_rules((edition.tag,))
    replacements: dict[str, bytes] = {}
    additions: dict[str, bytes] = {}
    for name, doc in list(documents.items()):  # header cells name their scope, as in the HTML edition
        scoped = header_scope(doc)
        if scoped != doc:
            documents[name] = scoped
            replacements[name] = scoped.encode("utf-8")
    family = embedded_face(edition)
    if family:
        text = "".join(re.sub(r"<[^>]+>", "", doc) for doc in documents.values())
        font_name = f"fonts/{family.replace(' ', '')}-subset.ttf"
        additions[str(PurePosixPath(opf_name).parent / font_name)] = subset_font(family, text)
        opf = opf.replace("</manifest>", f'  <item id="embedded-font" href="{font_name}" media-type="font/ttf" />\n'
                                         "  </manifest>")
        stylesheet = (f'@font-face {{ font-family: "{family}"; src: url("../{font_name}"); }}\n' + stylesheet
                      + f'body {{ font-family: "{family}", var(--serif-faces); }}\n')  # last, so it wins
    if edition.language.direction == "rtl":
        for name, doc in documents.items():
            doc = math_direction(doc, edition.language.direction)
            replacements[name] = re.sub(r"<html\b", f'<html dir="{edition.language.direction}"', doc,
                                        count=1).encode("utf-8")
    replacements[opf_name] = opf.encode("utf-8")
    for name in names:
        if name.endswith(".css"):
            replacements[name] = stylesheet.encode("utf-8")
    replace_members(output, replacements, additions)


def subset_font(family: str, text: str) -> bytes:
    """The regular face of `family`, cut down to the characters of `text` (reproducible: no new timestamp)."""
    font = TTFont(face_path(family), fontNumber=0, recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = ["*"]  # keep Arabic shaping (init, medi, fina, liga, mark...)
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text + " 0123456789.,:;()[]«»،؛؟")
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


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
