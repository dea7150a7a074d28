"""A series: a second publication (tests/fixtures/tech-note, APA, a note) built beside the IYRP brief."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from pubpipe.cli import main
from pubpipe.pipeline import Project, run_checks
from pubpipe.translate.catalogs import parse_po, serialize

from .conftest import SLUG, copy_project

NOTE = "tech-note"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / NOTE


def add_note(root: Path) -> Path:
    """Copy the fixture into a project, run the real update, fill the catalogs from translations.yaml."""
    folder = root / "content" / NOTE
    shutil.copytree(FIXTURE, folder, ignore=shutil.ignore_patterns("translations.yaml"))
    assert main(["update"], root) == 0
    table = yaml.safe_load((FIXTURE / "translations.yaml").read_text(encoding="utf-8"))
    for lang, strings in table.items():
        for domain in (NOTE, "ui"):
            path = root / "locales" / lang / "LC_MESSAGES" / f"{domain}.po"
            catalog = parse_po(path.read_text(encoding="utf-8"))
            for message in catalog:
                if message.id and str(message.id) in strings:
                    message.string = strings[str(message.id)]
                    message.flags.discard("fuzzy")
            path.write_text(serialize(catalog), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def series(tmp_path_factory) -> Path:
    root = add_note(copy_project(tmp_path_factory.mktemp("series")))
    assert main(["--quiet", "--format", "html"], root) == 0
    return root


def page_text(root: Path, slug: str, lang: str) -> str:
    html = (root / "dist" / slug / lang / "index.html").read_text(encoding="utf-8")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_apa_parenthetical_and_narrative_forms(series):
    text = page_text(series, NOTE, "en")
    assert "(Harlow &amp; Okafor, 2016, Chapter 3)" in text
    assert "Harlow &amp; Okafor (2016) compare" in text
    assert "(Ivanova, 2019; Tanaka, 2020)" in text or "(Иванова, 2019; 田中, 2020)" in text


def test_locator_is_localized_in_spanish(series):
    text = page_text(series, NOTE, "es")
    assert "2016, Capítulo 3)" in text


def test_doi_printed_and_foreign_titles_kept(series):
    text = page_text(series, NOTE, "en")
    assert "https://doi.org/10.1071/RJ16001" in text
    assert "Пастбищное скотоводство в степи" in text and "遊牧と家畜の数え方" in text


def test_cite_this_note_label(series):
    html = (series / "dist" / NOTE / "en" / "index.html").read_text(encoding="utf-8")
    assert "Cite this note:" in html and "Cite this brief" not in html
    assert "Citar esta nota:" in (series / "dist" / NOTE / "es" / "index.html").read_text(encoding="utf-8")
    assert "Cite this brief:" in (series / "dist" / SLUG / "en" / "index.html").read_text(encoding="utf-8")


def test_one_publication_build_keeps_the_others(series):
    assert main(["--quiet", "--publication", NOTE, "--format", "html", "--lang", "en"], series) == 0
    manifest = json.loads((series / "dist" / "manifest.json").read_text(encoding="utf-8"))
    slugs = [p["slug"] for p in manifest["publications"]]
    assert slugs == sorted([SLUG, NOTE])
    brief = next(p for p in manifest["publications"] if p["slug"] == SLUG)
    assert {e["lang"] for e in brief["editions"]} == {"en", "zh-Hans", "fr", "es", "ar"}
    index = (series / "dist" / "index.html").read_text(encoding="utf-8")
    assert f"{SLUG}/en/index.html" in index and f"{NOTE}/en/index.html" in index


def test_check_publication_scope(series):
    brief_po = series / "locales" / "fr" / "LC_MESSAGES" / f"{SLUG}.po"
    saved = brief_po.read_text(encoding="utf-8")
    try:
        brief_po.write_text(saved.replace('msgid "', 'msgid "', 1) + 'msgid "broken\n', encoding="utf-8")
        assert [p for p in run_checks(Project(series), artifacts="skip", slugs=[NOTE]) if p.severity == "error"] == []
        assert any(p.severity == "error" for p in run_checks(Project(series), artifacts="skip", slugs=[SLUG]))
        assert main(["check", "--sources", "--publication", NOTE], series) == 0
    finally:
        brief_po.write_text(saved, encoding="utf-8")


def test_chicago_localizes_and(tmp_path):
    root = add_note(copy_project(tmp_path))
    meta = root / "content" / NOTE / "publication.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("citation_style: apa", "citation_style: "
                                                             "chicago-author-date"), encoding="utf-8")
    assert main(["--quiet", "--publication", NOTE, "--format", "html", "--lang", "es"], root) == 0
    assert "Harlow y Okafor (2016) comparan" in page_text(root, NOTE, "es")


@pytest.mark.parametrize("tag, folder", [("pt-BR", "pt_BR"), ("zh-Hant", "zh_Hant"), ("zh-CN", "zh_Hans_CN")])
def test_update_writes_only_catalogs_check_accepts(tmp_path, tag, folder):
    root = tmp_path
    shutil.copytree(Path(__file__).resolve().parent.parent / "templates", root / "templates")
    shutil.copytree(FIXTURE, root / "content" / NOTE, ignore=shutil.ignore_patterns("translations.yaml"))
    (root / "locales").mkdir()
    meta = root / "content" / NOTE / "publication.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("zh-Hant: {status: draft}", f"{tag}: {{status: draft}}")
                    if tag != "zh-Hant" else meta.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["update"], root) == 0
    assert (root / "locales" / folder / "LC_MESSAGES" / f"{NOTE}.po").exists()
    assert [str(p) for p in run_checks(Project(root), artifacts="skip") if p.severity == "error"] == []


def test_a_deprecated_code_is_refused_with_its_replacement(tmp_path, capsys):
    root = tmp_path
    shutil.copytree(Path(__file__).resolve().parent.parent / "templates", root / "templates")
    shutil.copytree(FIXTURE, root / "content" / NOTE, ignore=shutil.ignore_patterns("translations.yaml"))
    (root / "locales").mkdir()
    meta = root / "content" / NOTE / "publication.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("ko: {status: draft}", "iw: {status: draft}"),
                    encoding="utf-8")
    assert main(["update"], root) == 1
    assert "write 'he' instead" in capsys.readouterr().err
    assert not (root / "locales" / "iw").exists()
