"""Read artifacts back to text, the way a reader's software sees them.

Tests and the citation gate both use these: a check that the suggested
citation is in the PDF means it is in the PDF's extractable text, not in some
file we wrote on the side.
"""

from __future__ import annotations

import logging
import re
import subprocess
import threading
import unicodedata
import zipfile
from pathlib import Path, PurePosixPath

from lxml import etree, html

XHTML = "{http://www.w3.org/1999/xhtml}"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged PDF is reported as one diagnostic, not log noise


def html_text(path: Path) -> str:
    tree = html.parse(str(path))
    for node in tree.xpath("//script|//style"):
        node.drop_tree()
    body = tree.find("body")
    return body.text_content() if body is not None else ""


def epub_documents(path: Path) -> list[tuple[str, bytes]]:
    """The XHTML documents of an EPUB in spine order."""
    with zipfile.ZipFile(path) as epub:
        container = etree.fromstring(epub.read("META-INF/container.xml"))
        opf_path = container.find(".//{*}rootfile").get("full-path")
        opf = etree.fromstring(epub.read(opf_path))
        base = PurePosixPath(opf_path).parent
        items = {item.get("id"): item.get("href") for item in opf.iter("{*}item")}
        spine = [items[ref.get("idref")] for ref in opf.iter("{*}itemref")]
        return [(str(base / href), epub.read(str(base / href))) for href in spine]


def epub_text(path: Path) -> str:
    texts = []
    for _name, data in epub_documents(path):
        root = etree.fromstring(data)
        body = root.find(f"{XHTML}body")
        texts.append("".join(body.itertext()) if body is not None else "")
    return "\n".join(texts)


def docx_xml(path: Path, part: str = "word/document.xml") -> bytes:
    with zipfile.ZipFile(path) as docx:
        return docx.read(part)


def docx_paragraphs(path: Path) -> list[str]:
    """Paragraph texts of the body, then of the footnotes (equations included)."""
    parts = []
    with zipfile.ZipFile(path) as docx:
        names = ["word/document.xml"] + (["word/footnotes.xml"] if "word/footnotes.xml" in docx.namelist() else [])
        for name in names:
            root = etree.fromstring(docx.read(name))
            for para in root.iter(f"{W}p"):
                parts.append("".join(node.text or "" for node in para.iter(f"{W}t", f"{M}t")))
    return parts


def docx_text(path: Path) -> str:
    return "\n".join(docx_paragraphs(path))


TYPE_AREA = (0.07, 0.93)  # fractions of the page height between the running header and the page numbers


def pdf_text(path: Path) -> str:
    """The text of the type area, in logical order, as poppler's pdftotext gives it.

    pypdf returns Arabic from typst PDFs in visual order, with marks detached
    from their letters; poppler applies the bidi algorithm, so right-to-left
    text reads back as it was written. Running headers and page numbers sit
    in the margins and are left out, so a sentence that crosses a page break
    reads back whole.
    """
    import pypdf  # here: an HTML preview never reads a PDF

    box = pypdf.PdfReader(str(path)).pages[0].mediabox
    width, height = float(box.width), float(box.height)
    top, bottom = (round(height * f) for f in TYPE_AREA)
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", "-nopgbrk", "-r", "72", "-x", "0", "-y", str(top),
                             "-W", str(round(width)), "-H", str(bottom - top), str(path), "-"],
                            capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def read_text(path: Path) -> str:
    """Text of any artifact we build, dispatched on the extension."""
    suffix = path.suffix.lower()
    return {".html": html_text, ".epub": epub_text, ".docx": docx_text, ".pdf": pdf_text}[suffix](path)


_DROPPED: set[str] = set()  # every character squash has seen that is not a letter, mark or digit
_SEEN: set[str] = set()
_DROP = re.compile("(?!)")  # runs of _DROPPED: matches nothing until squash has seen one
_LEARNING = threading.Lock()  # a character enters _SEEN only once _DROP drops it, whichever thread asks first


def squash(text: str) -> str:
    """Compare texts across formats: NFC, no whitespace at all (PDF lines break inside CJK words).

    Bidi controls go (they are format characters, Cf), and so does punctuation: at the edge of a
    right-to-left run, a PDF's text layer may put a full stop or bracket on the other side of the run,
    although the reader sees it in the right place. Each character's category is asked once per process
    (the citation gate squashes every line of every PDF and the whole text of every artifact), and the
    characters found are removed by one regular expression, rebuilt when a new one is found: 2.4 times
    faster than str.translate, which looks each character up in a dictionary.
    """
    global _DROP
    text = unicodedata.normalize("NFC", text)
    new = set(text) - _SEEN
    if new:
        with _LEARNING:
            dropped = {ch for ch in new if unicodedata.category(ch)[0] not in "LNM"} - _DROPPED
            if dropped:
                _DROPPED.update(dropped)
                _DROP = re.compile("[" + "".join(map(re.escape, sorted(_DROPPED))) + "]+")
            _SEEN.update(new)
    return _DROP.sub("", text)


def unreadable(exc: BaseException) -> str:
    """Why an artifact could not be read back, in one line (the reader's own words)."""
    if isinstance(exc, subprocess.CalledProcessError):
        said = (exc.stderr or b"").decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        text = f"{Path(str(exc.cmd[0])).name} failed: {said or f'exit status {exc.returncode}'}"
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    elif isinstance(exc, KeyError):
        text = str(exc.args[0]) if exc.args else "a part is missing from the archive"
    else:
        text = str(exc) or type(exc).__name__
        if not isinstance(exc, zipfile.BadZipFile | ValueError):
            text = f"{type(exc).__name__}: {text}"
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."
