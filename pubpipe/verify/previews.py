"""Review material, as PNG: what validators do not see (a formula running off the page, a mirrored row).

Written to build/previews/ (not committed) for a person to look at: page 1 and every page holding a formula
of each PDF (poppler's pdftoppm; formulas found in the PDF's structure tree), page 1 of each DOCX as
LibreOffice lays it out, the top of each HTML edition and of the landing page in headless Chromium, as a
reader's browser shows them, on a desktop and on a phone.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from pubpipe.diagnostics import PipelineError, error

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]
VIEWPORTS = {"desktop": (1280, 1000), "phone": (390, 844)}


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def render_previews(project, langs: list[str] | None, slugs: list[str] | None) -> list[Path]:
    out = project.root / "build" / "previews"
    out.mkdir(parents=True, exist_ok=True)
    browser = _chromium()
    missing = [name for name, found in (("pdftoppm (Debian package poppler-utils)", shutil.which("pdftoppm")),
                                        ("chromium (Debian package chromium)", browser)) if not found]
    if missing:
        raise PipelineError([error("build/previews", 1, f"{', '.join(missing)} not installed", "previews")])
    written = []
    if (project.dist / "index.html").exists() and not langs and not slugs:
        written += _screenshots(browser, project.dist / "index.html", out / "index")
    editions = sorted(p for p in project.dist.glob("*/*") if p.is_dir())
    documents = []
    for folder in editions:
        slug, lang = folder.parent.name, folder.name
        if (langs and lang not in langs) or (slugs and slug not in slugs):
            continue
        for pdf in folder.glob("*.pdf"):
            for number in sorted({1, *formula_pages(pdf)}):
                target = out / f"{slug}.{lang}.pdf-page{number}"
                subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(number), "-l", str(number), "-singlefile",
                                str(pdf), str(target)], check=True)
                written.append(Path(f"{target}.png"))
        documents += sorted(folder.glob("*.docx"))
        page = folder / "index.html"
        if page.exists():
            written += _screenshots(browser, page, out / f"{slug}.{lang}.html")
    return written + _docx_first_pages(documents, out)


def _screenshots(browser: str, page: Path, stem: Path) -> list[Path]:
    written = []
    for name, (width, height) in VIEWPORTS.items():
        target = Path(f"{stem}-{name}.png")
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                            f"--screenshot={target}", page.resolve().as_uri()], check=True, capture_output=True,
                           timeout=120)
        written.append(target)
    return written


def formula_pages(pdf: Path) -> set[int]:
    """1-based numbers of the pages that hold a Formula element of the PDF's structure tree."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    numbers = {page.indirect_reference.idnum: index + 1 for index, page in enumerate(reader.pages)}
    found: set[int] = set()
    root = reader.trailer["/Root"].get("/StructTreeRoot")
    stack = [root.get_object()] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack += [item.get_object() for item in node]
            continue
        if not hasattr(node, "get"):
            continue
        if node.get("/S") == "/Formula" and node.get("/Pg") is not None:
            found.add(numbers.get(node.raw_get("/Pg").idnum, 1))
        kids = node.get("/K")
        if kids is not None:
            stack.append(kids.get_object() if hasattr(kids, "get_object") else kids)
    return found


def _docx_first_pages(documents: list[Path], out: Path) -> list[Path]:
    """Page 1 of each DOCX as LibreOffice lays it out (one soffice run for all, a private profile)."""
    soffice = shutil.which("soffice")
    if not documents or not soffice:
        return []
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([soffice, f"-env:UserInstallation=file://{scratch}/profile", "--headless", "--convert-to",
                        "pdf", "--outdir", scratch, *map(str, documents)], check=True, capture_output=True, timeout=600)
        for document in documents:
            pdf = Path(scratch) / f"{document.stem}.pdf"
            slug, lang = document.parent.parent.name, document.parent.name
            target = out / f"{slug}.{lang}.docx-page1"
            subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(target)],
                           check=True)
            written.append(Path(f"{target}.png"))
    return written
