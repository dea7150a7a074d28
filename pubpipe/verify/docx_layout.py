"""DOCX as an outside word processor lays it out: LibreOffice converts every DOCX to PDF in one call.

Word documents have no fixed layout of their own; what a reader sees is what
their word processor makes of them. LibreOffice headless is that reader here:
nothing may stand beyond the page edge, the pages are the size the PDF
edition has (A4), and the package says what it is (title and language in the
core properties) and where its outline is (heading styles with outline
levels, which navigation panes and tagged-PDF exports read).
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from lxml import etree

from pubpipe.diagnostics import Diagnostic
from pubpipe.verify.pdf_structure import glyphs_outside

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CORE = {"dc": "http://purl.org/dc/elements/1.1/",
        "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"}
A4_TWIPS = (11906, 16838)  # 210 x 297 mm
A4_POINTS = (595.3, 841.9)


def _fail(shown: str, message: str) -> Diagnostic:
    return Diagnostic(shown, 1, "error", f"DOCX: {message}", "docx-layout")


def check_package(path: Path, shown: str) -> list[Diagnostic]:
    """Page size, core properties and heading outline levels, from the DOCX XML."""
    problems = []
    with zipfile.ZipFile(path) as docx:
        document = etree.fromstring(docx.read("word/document.xml"))
        styles = etree.fromstring(docx.read("word/styles.xml"))
        core = etree.fromstring(docx.read("docProps/core.xml")) if "docProps/core.xml" in docx.namelist() else None
    sizes = document.findall(f".//{W}sectPr/{W}pgSz")
    if not sizes:
        problems.append(_fail(shown, "no page size (w:pgSz) in the section properties; readers fall back to "
                                     "their own default (Letter in the US)"))
    for size in sizes:
        found = (int(size.get(f"{W}w", 0)), int(size.get(f"{W}h", 0)))
        if any(abs(a - b) > 20 for a, b in zip(sorted(found), A4_TWIPS, strict=True)):
            problems.append(_fail(shown, f"page size {found[0]} x {found[1]} twips is not A4 "
                                         f"({A4_TWIPS[0]} x {A4_TWIPS[1]}) as in the PDF"))
    for field in ("title", "language"):
        value = core.findtext(f"dc:{field}", namespaces=CORE) if core is not None else None
        if not (value or "").strip():
            problems.append(_fail(shown, f"no {field} in the core properties (docProps/core.xml dc:{field})"))
    used = {p.get(f"{W}val") for p in document.iter(f"{W}pStyle")}
    for style in styles.iter(f"{W}style"):
        name = (style.find(f"{W}name").get(f"{W}val") if style.find(f"{W}name") is not None else "").lower()
        if name.startswith("heading") and style.get(f"{W}styleId") in used \
                and style.find(f"{W}pPr/{W}outlineLvl") is None:
            problems.append(_fail(shown, f"heading style '{name}' has no outline level (w:outlineLvl)"))
    return problems


def convert(docxs: list[Path], outdir: Path) -> subprocess.CompletedProcess:
    """One soffice call for every DOCX, with a private profile (no clash with a running LibreOffice)."""
    profile = (outdir / "profile").as_uri()
    return subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                           "--outdir", str(outdir), *map(str, docxs)], capture_output=True, text=True, timeout=1200)


def check_docx_layout(docxs: list[tuple[Path, str, str]], scratch: Path) -> list[Diagnostic]:
    """Every check over (path, shown path, edition language) of each DOCX."""
    import pymupdf

    problems = []
    for path, shown, _lang in docxs:
        try:
            problems += check_package(path, shown)
        except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as exc:
            problems.append(_fail(shown, f"cannot read the package: {exc}"))
    run = convert([path for path, _shown, _lang in docxs], scratch)
    for path, shown, _lang in docxs:
        pdf = scratch / f"{path.stem}.pdf"
        if not pdf.is_file():
            problems.append(_fail(shown, f"LibreOffice did not convert it: {run.stderr.strip()[-300:]}"))
            continue
        with pymupdf.open(pdf) as document:
            sizes = {(round(p.rect.width, 1), round(p.rect.height, 1)) for p in document}
        for width, height in sorted(sizes):
            if abs(width - A4_POINTS[0]) > 1 or abs(height - A4_POINTS[1]) > 1:
                problems.append(_fail(shown, f"LibreOffice lays it out on {width} x {height} pt pages, "
                                             f"not A4 ({A4_POINTS[0]} x {A4_POINTS[1]}) as in the PDF"))
        for page, text, over in glyphs_outside(pdf, None):
            problems.append(_fail(shown, f"LibreOffice page {page}: text beyond the page edge by {over:.1f} pt: "
                                         f"{text[:80]!r}"))
    return problems
