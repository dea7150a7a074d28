"""Figures declared by the canonical source: found, validated and resolved per edition.

A figure is a Markdown image on a paragraph of its own in brief.md,
`![caption](figures/name.png){#fig-id fig-alt="alt text"}`, with the file
inside the publication's folder. Only these source-declared paths ever reach a
writer: a translation cannot add an image or point one elsewhere (the catalog
checks refuse it, and pandoc_ast.sanitize turns any other image into text).
An edition uses `figures/<lang>/name.png` instead when that file exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pubpipe.diagnostics import Diagnostic, error

IMAGE = re.compile(r"!\[(?P<caption>(?:[^\[\]\\]|\\.|\[[^\[\]]*\])*)\]\((?P<path>[^)\s]*)(?:\s+\"[^\"]*\")?\)"
                   r"(?P<attr>\{[^{}]*\})?")
ALT_ATTRIBUTE = re.compile(r"(?<![\w-])(?:fig-)?alt=\"(?P<alt>[^\"]*)\"")
ALT_KEYS = ("fig-alt", "alt")
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class FigureSource:
    path: str  # as written in brief.md, relative to the publication's folder (POSIX)
    line: int
    caption: str
    alt: str


def declared_figures(publication) -> list[FigureSource]:
    """Every image of the canonical source, in order, with its line in brief.md."""
    found = []
    for segment in publication.document.segments:
        for match in IMAGE.finditer(segment.text):
            line = segment.line + segment.text.count("\n", 0, match.start())
            alt = ALT_ATTRIBUTE.search(match.group("attr") or "")
            found.append(FigureSource(match.group("path"), line, match.group("caption"),
                                      alt.group("alt") if alt else ""))
    return found


def _looks_like(data: bytes, suffix: str) -> bool:
    if suffix == ".png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if suffix in (".jpg", ".jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<svg", b"<?xml", b"<!--", b"<!doctype svg")) and b"<svg" in data[:65536].lower()


def file_problem(root: Path, path: str) -> str | None:
    """Why `path` (relative to the publication folder `root`) cannot be a figure, or None."""
    pure = PurePosixPath(path)
    if not path or "://" in path or ":" in pure.parts[0] or pure.is_absolute() or "\\" in path:
        return f"'{path}' is not a path inside the publication's folder (write e.g. figures/name.png)"
    if ".." in pure.parts:
        return f"'{path}' points outside the publication's folder ('..' is not allowed)"
    suffix = pure.suffix.lower()
    if suffix not in MEDIA_TYPES:
        return f"'{path}' has an unsupported type '{pure.suffix or 'none'}' (use PNG, JPEG or SVG)"
    file = root / pure
    try:
        inside = file.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        return f"'{path}' leads outside the publication's folder (a symbolic link?)"
    if not file.is_file():
        return f"'{path}' does not exist (expected {file})"
    if file.stat().st_size > MAX_BYTES:
        return f"'{path}' is larger than {MAX_BYTES // (1024 * 1024)} MB"
    with open(file, "rb") as handle:
        data = handle.read(65536)
    if not _looks_like(data, suffix):
        return f"'{path}' is not a {MEDIA_TYPES[suffix]} file, although its name says so"
    return None


def variant_path(path: str, lang: str) -> str:
    """figures/name.png -> figures/<lang>/name.png (the edition's own image, if the file exists)."""
    parts = PurePosixPath(path).parts
    return str(PurePosixPath(parts[0], lang, *parts[1:])) if len(parts) > 1 else str(PurePosixPath(lang, path))


def check_figures(publication) -> list[Diagnostic]:
    """path:line: error: ... [figure] for every figure that no edition could show."""
    problems = []
    source = publication.root / "brief.md"
    langs = [spec.language.tag for spec in publication.editions]
    for figure in declared_figures(publication):
        why = file_problem(publication.root, figure.path)
        if why:
            problems.append(error(source, figure.line, why, "figure"))
        if not figure.alt.strip():
            problems.append(error(source, figure.line, f"figure '{figure.path}' has no alt text: describe the image "
                                                       'in {fig-alt="..."} after it', "figure"))
        for lang in langs:
            variant = variant_path(figure.path, lang)
            present = (publication.root / variant).exists() or (publication.root / variant).is_symlink()
            if why is None and present:
                bad = file_problem(publication.root, variant)
                if bad:
                    problems.append(error(source, figure.line, f"the {lang} variant: {bad}", "figure"))
    return problems


def resolve(root: Path, path: str, lang: str) -> str | None:
    """The file an edition shows for a declared figure: its language variant when valid, else the image."""
    variant = variant_path(path, lang)
    if (root / variant).exists() and file_problem(root, variant) is None:
        return variant
    return path if file_problem(root, path) is None else None


def media_type(path: str) -> str:
    return MEDIA_TYPES[PurePosixPath(path).suffix.lower()]
