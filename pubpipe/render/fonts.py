"""Fonts per script, and the glyph-coverage facts the checks rely on.

Typst prints empty boxes for characters no font covers, without a warning,
so the pipeline knows which faces each script uses and verifies coverage
itself: before typesetting (every character of the text is in the stack)
and after (every character in the PDF is drawn by a font that has it).

The faces come from one table, `scripts.json` beside this module (script ->
Noto serif, sans and mono families, and the Debian package of each); the
set-up reads the same file to install the packages. An edition's stack is its
own script's faces, then Latin, then the faces of any other script that
appears in its text (a Hebrew name in an English edition).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pubpipe.diagnostics import Diagnostic, error
from pubpipe.render import sfnt
from pubpipe.source.languages import Language, parse_language

if TYPE_CHECKING:
    import typst

TABLE = json.loads((Path(__file__).with_name("scripts.json")).read_text(encoding="utf-8"))
MATH = "New Computer Modern Math"


@dataclass(frozen=True)
class Faces:
    """One row of the table: the Noto families of a script (a missing serif or sans uses the other)."""
    key: str  # ISO 15924 code, or code-region (Hant-HK)
    name: str
    serif: str
    sans: str
    mono: str | None
    cjk: bool
    docx_slot: str  # the w:rFonts slot Word uses for the script: ascii, eastAsia or cs

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for f in (self.serif, self.sans, self.mono) if f))


def _row(key: str, row: dict) -> Faces:
    serif, sans = row.get("serif") or row["sans"], row.get("sans") or row["serif"]
    return Faces(key, row["name"], serif, sans, row.get("mono"), bool(row.get("cjk")), row.get("docx", "ascii"))


SCRIPTS: dict[str, Faces] = {key: _row(key, row) for key, row in TABLE["scripts"].items()}
LATIN = SCRIPTS["Latn"]


def _packages() -> dict[str, str]:
    table = TABLE["packages"]
    out = {face: table["default"] for row in SCRIPTS.values() for face in row.families}
    for package, families in table.items():
        if package != "default":
            out.update(dict.fromkeys(families, package))
    return out


# Debian package that provides each family; named in the error when one is missing.
PACKAGES = _packages()


def table_families() -> tuple[str, ...]:
    """Every family of the table, in table order."""
    return tuple(dict.fromkeys(family for row in SCRIPTS.values() for family in row.families))


def faces_for(language: Language) -> Faces:
    """The table row of a language: by CLDR script, or script-region where a region has its own faces."""
    regional = f"{language.script}-{language.region}"
    return SCRIPTS.get(regional) or SCRIPTS.get(language.script) or LATIN


@dataclass(frozen=True)
class FontStack:
    body: tuple[str, ...]
    heading: tuple[str, ...]
    math: tuple[str, ...]
    latin_in_cjk: bool  # the Latin face must cover Latin inside CJK text, not the CJK face
    mono: tuple[str, ...] = ()  # inline code and code blocks

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.body + self.heading + self.math + self.mono))


def _language(language: Language | str) -> Language:
    if isinstance(language, Language):
        return language
    if len(language) == 4 and language[:1].isupper() or language in SCRIPTS:  # a script code: its usual language
        key = next((lang for lang, script in TABLE["languages"].items() if script == language), "en")
        return parse_language(key)
    return parse_language(language)


def other_scripts(text: str, families: tuple[str, ...]) -> list[Faces]:
    """Rows for the characters of `text` that `families` cannot draw: by the Unicode script of each
    character first (table order), then, for symbols and scripts outside the table, any installed
    face of the table that covers them."""
    missing = uncovered(text, families)
    if not missing:
        return []
    by_key: dict[str, set[str]] = {}
    from fontTools import unicodedata  # here, as typst below: the head start's child needs neither (10 ms)

    for ch in missing:
        script = unicodedata.script(ch)
        key = TABLE["unicode_scripts"].get(script, script)
        if key in SCRIPTS:
            by_key.setdefault(key, set()).add(ch)
    found = [SCRIPTS[key] for key in SCRIPTS if key in by_key]
    covered = families + tuple(f for row in found for f in (row.serif,))
    rest = uncovered("".join(missing), covered) - {ch for chars in by_key.values() for ch in chars}
    for row in SCRIPTS.values():
        if not rest:
            break
        if row not in found and rest & _drawn(row.serif, rest):
            found.append(row)
            rest -= _drawn(row.serif, rest)
    return found


def _drawn(family: str, chars: set[str]) -> set[str]:
    coverage = family_coverage(family)
    return {ch for ch in chars if ord(ch) in coverage}


def stack_for(language: Language | str, text: str = "") -> FontStack:
    """Explicit faces for an edition, never left to Typst's fallback (which picked a Japanese face for
    Chinese): its own script first, then Latin, then the faces of other scripts found in `text`.

    `language` is the edition's Language (or a tag; a bare ISO 15924 code stands for its usual language)."""
    own = faces_for(_language(language))
    if own.key == "Latn":
        body, heading, mono, math = (own.serif,), (own.sans,), (own.mono,), (own.serif,)
    elif own.cjk:  # the Latin face first, marked to cover only Latin (Chinese quotation marks stay CJK)
        body, heading, mono, math = (LATIN.serif, own.serif), (LATIN.sans, own.sans), (LATIN.mono, own.mono), \
            (own.serif,)
    else:
        body, heading = (own.serif, LATIN.serif), (own.sans, LATIN.sans)
        mono, math = (LATIN.mono, own.mono or own.sans), body
    for row in other_scripts(text, body) if text else []:
        body, heading, math = body + (row.serif,), heading + (row.sans,), math + (row.serif,)
        mono += (row.mono or row.sans,)
    unique = lambda families: tuple(dict.fromkeys(families))  # noqa: E731
    return FontStack(unique(body), unique(heading), unique((MATH,) + math), own.cjk, unique(mono))


@cache
def font_book() -> typst.Fonts:
    """The installed fonts as Typst finds them, scanned once per process: typst.compile without it scans
    the system's fonts again on every call (65 ms here). Scanning starts no thread, so workers can fork after."""
    import typst

    return typst.Fonts()


@lru_cache(maxsize=1)
def _typst_fonts() -> tuple:
    return tuple(font_book().fonts())


@cache
def _face(path: str, index: int) -> tuple[str, frozenset[int]]:
    """(PostScript name, code points drawn) of one face: read from its tables (sfnt.py), through fontTools
    only for a cmap format other than 4 and 12."""
    name, cmap = sfnt.read_face(path, index)
    if cmap is None:
        from fontTools.ttLib import TTFont

        font = TTFont(path, fontNumber=index, lazy=True)
        cmap = frozenset(code for code, glyph in (font.getBestCmap() or {}).items() if glyph != ".notdef")
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
    return [family for family in stack.families if family not in available]


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
    wanted = set(PACKAGES) | {MATH}
    out: dict[str, frozenset[int]] = {}
    for info in _typst_fonts():
        if info.family in wanted and info.path:
            name, cmap = _face(str(info.path), info.index)
            out[name] = out.get(name, frozenset()) | cmap
    return out


def uncovered(text: str, families: tuple[str, ...]) -> set[str]:
    """Characters of `text` that no family in the stack can draw."""
    missing = {ch for ch in set(text) if not ch.isspace() and ord(ch) >= 0x20 and not 0xFE00 <= ord(ch) <= 0xFE0F
               and ch not in "\u200b\u200c\u200d\u2060\u00ad"}
    for family in families:  # in order, reading a face only while something is left to cover
        if not missing:
            break
        coverage = family_coverage(family)
        missing = {ch for ch in missing if ord(ch) not in coverage}
    return missing


def check_families(language: Language | str) -> tuple[str, ...]:
    """Every face a translation of `language` may be drawn in: the edition's stack, then every face of the
    table (a character outside the edition's script takes its own script's face)."""
    stack = stack_for(language)
    return tuple(dict.fromkeys(stack.body + tuple(row.serif for row in SCRIPTS.values())))


UI_SELECTORS = ":is(h1, h2, h3, .site-header, .site-footer, .downloads a, .cite-tools)"
CODE_SELECTORS = ":is(code, pre, kbd, samp)"


def _css_list(families: tuple[str, ...], fallback: str) -> str:
    return ", ".join([f'"{family}"' for family in dict.fromkeys(families)] + [fallback])


def css_rules(tags: tuple[str, ...] = ()) -> str:
    """The faces of the table for the HTML and EPUB stylesheets.

    Every face of the table is a fallback, in table order, in three lists (serif body, sans headings and
    interface, mono code); each language the table names (and each of `tags`, the editions' own) puts its
    script's faces first, then the Latin face, with `:lang()` rules grouped by table row."""
    languages = dict(TABLE["languages"])
    for tag in tags:
        try:
            languages.setdefault(tag, faces_for(parse_language(tag)).key)
        except ValueError:
            continue
    rows = SCRIPTS.values()
    lines = [
        "/* Generated from pubpipe/render/scripts.json (pubpipe.render.fonts.css_rules): faces per language */",
        ":root {",
        f"  --serif-faces: {_css_list(tuple(row.serif for row in rows), 'serif')};",
        f"  --sans-faces: {_css_list(tuple(row.sans for row in rows), 'sans-serif')};",
        f"  --mono-faces: {_css_list(tuple(row.mono or row.sans for row in rows), 'monospace')};",
        "  font-family: var(--serif-faces);",
        "}",
        f"{UI_SELECTORS} {{ font-family: var(--sans-faces); }}",
        f"{CODE_SELECTORS} {{ font-family: var(--mono-faces); }}",
    ]
    for key, row in SCRIPTS.items():
        tags_of_row = [tag for tag, row_key in languages.items() if row_key == key]
        if row.families == LATIN.families or not tags_of_row:
            continue  # Latin, Cyrillic and Greek: the lists above already start with their faces
        own = ":is(" + ", ".join(f":lang({tag})" for tag in tags_of_row) + ")"
        lines += [f"{own} {{ font-family: {_css_list((row.serif, LATIN.serif), 'var(--serif-faces)')}; }}",
                  f"{own} {UI_SELECTORS} {{ font-family: {_css_list((row.sans, LATIN.sans), 'var(--sans-faces)')}; }}",
                  f"{own} {CODE_SELECTORS} {{ font-family: "
                  f"{_css_list((LATIN.mono, row.mono or row.sans), 'var(--mono-faces)')}; }}"]
    return "\n".join(lines) + "\n"
