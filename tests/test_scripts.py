"""Any language, any script: the scripts-sampler fixture (ten languages in ten scripts) built once.

Each PDF is read back: which faces drew the text (embedded font names via pypdf), that nothing fell
back (no .notdef, no face outside the font table), that Japanese is set in the JP face, not SC, and
that the Hebrew name in every edition took the Hebrew face without failing the build.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lxml import html

from pubpipe import bootstrap
from pubpipe.cli import main
from pubpipe.render.fonts import SCRIPTS, TABLE, stack_for, table_families
from pubpipe.render.pandoc_ast import text_direction
from pubpipe.source.languages import parse_language
from pubpipe.verify.pdf_fonts import family_key, pdf_font_problems, pdf_fonts

from .conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "scripts-sampler"
SLUG = "scripts-sampler"
# language -> the face family (PostScript prefix) that must draw its body text
OWN_FACE = {
    "he": "NotoSerifHebrew", "ja": "NotoSerifCJKjp", "ko": "NotoSerifCJKkr", "zh-Hant": "NotoSerifCJKtc",
    "ru": "NotoSerif", "el": "NotoSerif", "hi": "NotoSerifDevanagari", "am": "NotoSerifEthiopic",
    "fa": "NotoNaskhArabic", "th": "NotoSerifThai", "en": "NotoSerif",
}
# a word of each edition's own text that must be drawn by its own face
SAMPLE = {"he": "גשם", "ja": "放牧", "ko": "방목지", "zh-Hant": "草原", "ru": "дождём", "el": "βροχή",
          "hi": "बारिश", "am": "ዝናብ", "fa": "باران", "th": "ทุ่งหญ้า", "en": "rain"}
LANGS = tuple(OWN_FACE)


@pytest.fixture(scope="module")
def sampler(tmp_path_factory) -> Path:
    """A project holding only the sampler (content, its catalogs, the templates), built once: PDF and HTML."""
    root = tmp_path_factory.mktemp("sampler")
    shutil.copytree(FIXTURE, root / "content" / SLUG, ignore=shutil.ignore_patterns("locales"))
    shutil.copytree(FIXTURE / "locales", root / "locales")
    shutil.copytree(ROOT / "templates", root / "templates")
    assert main(["--quiet", "--format", "pdf,html"], root) == 0
    return root


def pdf_path(root: Path, lang: str) -> Path:
    return root / "dist" / SLUG / lang / f"{SLUG}.{lang}.pdf"


def faces_drawing(path: Path, text: str) -> set[str]:
    """Family parts of the PostScript names of the fonts whose ToUnicode maps carry every character of `text`."""
    found = set()
    for fonts in pdf_fonts(path).values():
        for name, chars in fonts.items():
            if set(text) <= chars:
                found.add(name.split("-")[0])
    return found


@pytest.mark.parametrize("lang", LANGS)
def test_every_glyph_is_drawn_by_a_face_of_the_table(sampler, lang):
    path = pdf_path(sampler, lang)
    assert pdf_font_problems(path, stack_for(parse_language(lang))) == []
    allowed = {family_key(f) for f in table_families()} | {"newcmmath"}
    used = {name.split("-")[0].lower() for fonts in pdf_fonts(path).values() for name in fonts}
    assert used <= allowed, f"faces outside the table: {used - allowed}"


@pytest.mark.parametrize("lang", LANGS)
def test_own_text_is_drawn_by_the_languages_own_face(sampler, lang):
    assert OWN_FACE[lang] in faces_drawing(pdf_path(sampler, lang), SAMPLE[lang])


@pytest.mark.parametrize("lang", LANGS)
def test_a_hebrew_name_outside_the_editions_script_takes_the_hebrew_face(sampler, lang):
    assert faces_drawing(pdf_path(sampler, lang), "רועה") & {"NotoSerifHebrew", "NotoSansHebrew"}


def test_japanese_is_set_in_the_japanese_face_never_the_chinese_one(sampler):
    used = {name for fonts in pdf_fonts(pdf_path(sampler, "ja")).values() for name in fonts}
    assert any("CJKjp" in name for name in used), used
    assert not any("CJKsc" in name or "CJKtc" in name for name in used), used
    traditional = {name for fonts in pdf_fonts(pdf_path(sampler, "zh-Hant")).values() for name in fonts}
    assert any("CJKtc" in name for name in traditional) and not any("CJKsc" in name for name in traditional)


@pytest.mark.parametrize("lang", LANGS)
def test_code_is_set_in_the_mono_face(sampler, lang):
    assert "NotoSansMono" in faces_drawing(pdf_path(sampler, lang), 'move(herd,"north")')


@pytest.mark.parametrize("lang", LANGS)
def test_html_has_the_cldr_direction_and_the_tables_faces(sampler, lang):
    page = html.parse(str(sampler / "dist" / SLUG / lang / "index.html")).getroot()
    assert page.get("dir") == ("rtl" if lang in ("he", "fa") else "ltr")
    css = "".join(page.xpath("//style/text()"))
    own = stack_for(parse_language(lang))
    if lang not in ("en", "ru", "el"):
        assert f":lang({lang})" in css and f'"{own.body[0] if not own.latin_in_cjk else own.body[1]}"' in css
    assert '"Noto Sans Mono"' in css


def test_direction_comes_from_cldr():
    assert [text_direction(tag) for tag in ("he", "fa", "ur", "ps", "yi", "dv", "ckb", "ar")] == ["rtl"] * 8
    assert [text_direction(tag) for tag in ("en", "ja", "am", "hi", "zh-Hant")] == ["ltr"] * 5


def test_the_tables_language_map_agrees_with_cldr():
    """The set-up maps languages to scripts without Babel; the pipeline asks CLDR: they must agree."""
    for tag, key in TABLE["languages"].items():
        language = parse_language(tag)
        regional = f"{language.script}-{language.region}"
        assert (regional if regional in SCRIPTS else language.script) == key, tag


def test_every_family_of_the_table_is_installed_with_its_package():
    """What the set-up installs (fonts-noto-core, -cjk, -mono) covers every face the table names."""
    from pubpipe.render.fonts import families_available

    assert set(table_families()) - {"New Computer Modern Math"} <= families_available()


def test_setup_installs_the_packages_the_declared_languages_need(tmp_path):
    for slug, languages in (("a", "en: {status: official}\n  fr: {status: draft}\n"),
                            ("b", "en: {status: official}\n  ja: {status: draft}\n  he: {status: draft}\n")):
        (tmp_path / slug).mkdir()
        (tmp_path / slug / "publication.yaml").write_text(f"slug: {slug}\nlanguages:\n  {languages}authors: []\n",
                                                         encoding="utf-8")
    assert bootstrap.declared_languages(tmp_path) == ["en", "fr", "ja", "he"]
    assert bootstrap.font_packages(["en", "fr"]) == ["fonts-noto-core", "fonts-noto-mono"]
    assert bootstrap.font_packages(["en", "ja"]) == ["fonts-noto-cjk", "fonts-noto-core", "fonts-noto-mono"]
    fixture = bootstrap.declared_languages(ROOT / "tests" / "fixtures")
    assert set(LANGS) <= set(fixture)


def test_an_uncovered_script_is_an_error_naming_the_characters(tmp_path):
    """Characters no face of the table draws stop the build, named; nothing falls back silently."""
    root = tmp_path
    shutil.copytree(FIXTURE, root / "content" / SLUG, ignore=shutil.ignore_patterns("locales"))
    shutil.copytree(ROOT / "templates", root / "templates")
    (root / "locales").mkdir()
    brief = root / "content" / SLUG / "brief.md"
    brief.write_text(brief.read_text(encoding="utf-8").replace("is called רועה", "is called רועה 𓀀𓀁"),
                     encoding="utf-8")
    from pubpipe.diagnostics import PipelineError
    from pubpipe.pipeline import Project, build

    with pytest.raises(PipelineError) as raised:
        build(Project(root), langs=["en"], formats=["pdf"])
    message = json.dumps([str(d) for d in raised.value.diagnostics], ensure_ascii=False)
    assert "𓀀" in message and "font" in message
