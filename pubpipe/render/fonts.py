"""Fonts per script, and the glyph-coverage facts the checks rely on.

Typst prints empty boxes for characters no font covers, without a warning,
so the pipeline knows which faces each script uses and verifies coverage
itself: before typesetting (every character of the text is in the stack)
and after (every character in the PDF is drawn by a font that has it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import typst
from fontTools.ttLib import TTFont

from pubpipe.diagnostics import Diagnostic, error

# Debian package that provides each family; named in the error when one is missing.
PACKAGES = {
    "Noto Serif": "fonts-noto-core",
    "Noto Sans": "fonts-noto-core",
    "Noto Naskh Arabic": "fonts-noto-core",
    "Noto Sans Arabic": "fonts-noto-core",
    "Noto Serif CJK SC": "fonts-noto-cjk",
    "Noto Sans CJK SC": "fonts-noto-cjk",
    "New Computer Modern Math": "(embedded in typst)",
}


@dataclass(frozen=True)
class FontStack:
    body: tuple[str, ...]
    heading: tuple[str, ...]
    math: tuple[str, ...]
    latin_in_cjk: bool  # the Latin face must cover Latin inside CJK text, not the CJK face


def stack_for(script: str) -> FontStack:
    """Explicit faces per script: never leave the choice to a fallback (which picked a Japanese face)."""
    cjk = ("Noto Serif CJK SC",)
    arabic = ("Noto Naskh Arabic",)
    if script == "Arab":
        return FontStack(arabic + ("Noto Serif",) + cjk, ("Noto Sans Arabic", "Noto Sans") + cjk,
                         ("New Computer Modern Math", "Noto Naskh Arabic", "Noto Serif") + cjk, False)
    if script in ("Hans", "Hant"):
        return FontStack(("Noto Serif",) + cjk + arabic, ("Noto Sans", "Noto Sans CJK SC") + arabic,
                         ("New Computer Modern Math",) + cjk, True)
    return FontStack(("Noto Serif",) + cjk + arabic, ("Noto Sans", "Noto Sans CJK SC") + arabic,
                     ("New Computer Modern Math", "Noto Serif") + cjk, False)


@lru_cache(maxsize=1)
def _typst_fonts() -> tuple:
    return tuple(typst.Fonts().fonts())


@cache
def _face(path: str, index: int) -> tuple[str, frozenset[int]]:
    font = TTFont(path, fontNumber=index, lazy=True)
    name = font["name"].getDebugName(6) or ""
    cmap = frozenset(font.getBestCmap() or {})
    font.close()
    return name, cmap


def _regular_face(family: str):
    """The regular face of an installed family, as typst finds it (None if not installed)."""
    faces = [f for f in _typst_fonts() if f.family == family and f.path]
    faces.sort(key=lambda f: (f.style != "normal", abs(f.weight - 400)))
    return faces[0] if faces else None


def face_path(family: str) -> str:
    face = _regular_face(family)
    if face is None:
        raise FileNotFoundError(f"font '{family}' is not installed (Debian package {PACKAGES.get(family, '?')})")
    return str(face.path)


def families_available() -> set[str]:
    return {f.family for f in _typst_fonts()}


def missing_families(stack: FontStack) -> list[str]:
    available = families_available()
    return [family for family in dict.fromkeys(stack.body + stack.heading + stack.math) if family not in available]


def font_problems(stack: FontStack, where: str) -> list[Diagnostic]:
    return [
        error(where, 1, f"font '{family}' is not installed; install the Debian package "
                        f"{PACKAGES.get(family, 'that provides it')} (the set-up commands do this)", "missing-font")
        for family in missing_families(stack)
    ]


@cache
def family_coverage(family: str) -> frozenset[int]:
    """Code points covered by a family's regular face (as typst finds it)."""
    face = _regular_face(family)
    return _face(str(face.path), face.index)[1] if face else frozenset()


@cache
def coverage_by_postscript_name() -> dict[str, frozenset[int]]:
    """PostScript name -> covered code points, for every face of the families we use."""
    wanted = set(PACKAGES)
    out: dict[str, frozenset[int]] = {}
    for info in _typst_fonts():
        if info.family in wanted and info.path:
            name, cmap = _face(str(info.path), info.index)
            out[name] = out.get(name, frozenset()) | cmap
    return out


def uncovered(text: str, families: tuple[str, ...]) -> set[str]:
    """Characters of `text` that no family in the stack can draw."""
    covered: set[int] = set()
    for family in families:
        covered |= family_coverage(family)
    return {ch for ch in set(text) if not ch.isspace() and ord(ch) not in covered and ord(ch) >= 0x20
            and not 0xFE00 <= ord(ch) <= 0xFE0F and ch not in "\u200b\u200c\u200d\u2060\u00ad"}
