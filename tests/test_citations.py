"""The citation gate: one tiny publication per failure mode, each with exactly one inconsistency."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pubpipe.cli import main
from pubpipe.diagnostics import display_path
from pubpipe.pipeline import Project, run_checks
from pubpipe.translate.catalogs import parse_po, serialize
from pubpipe.verify.citations import citation_block, read_record_fields

from .conftest import ROOT, SLUG, artifact, replace_in

TINY = "tiny-brief"
PUBLICATION = """\
slug: tiny-brief
source_language: en
date: 2026-03-01
year: 2026
identifier: urn:test:tiny-brief
licence: {name: CC BY 4.0, url: https://creativecommons.org/licenses/by/4.0/}
strings:
  title: Tiny brief
  subtitle: A test publication
  genre: Policy brief
  byline: "Prepared by the {working_group}"
  key_references: Key references
  acknowledgements_label: "Acknowledgements:"
  acknowledgements: "Written by the {working_group}."
  citation_label: "Suggested citation:"
names:
  working_group:
    en: IYRP Global Alliance Working Group on Pastoralism & Carbon Markets
    fr: Groupe de travail sur le pastoralisme et les marchés du carbone
  secretariat:
    en: IYRP Global Alliance Secretariat
  contact:
    en: secretariat@example.org
corporate_author: working_group
publisher: secretariat
authors: [{given: Ada, family: Herder}]
key_references: [fao2021]
languages:
  en: {status: official}
  fr: {status: draft}
"""
BRIEF = "# Background\n\nPastoral systems are well studied [@ipcc2021].\n"
REFERENCES = """\
references:
  - id: fao2021
    type: report
    author: [{literal: FAO}]
    issued: {date-parts: [[2021]]}
    title: "Pastoralism: Making Variability Work"
    publisher: Food and Agriculture Organization of the United Nations
    publisher-place: Rome
  - id: ipcc2021
    type: book
    author: [{literal: IPCC}]
    issued: {date-parts: [[2021]]}
    title: "Climate Change 2021: The Physical Science Basis"
    publisher: Cambridge University Press
"""
FRENCH = {
    "Tiny brief": "Petite note", "A test publication": "Une publication d’essai", "Policy brief": "Note d’orientation",
    "Prepared by the {working_group}": "Préparée par le {working_group}", "Key references": "Références",
    "Acknowledgements:": "Remerciements :", "Written by the {working_group}.": "Rédigée par le {working_group}.",
    "Suggested citation:": "Citation suggérée :", "# Background": "# Contexte",
    "Pastoral systems are well studied [@ipcc2021].": "Les systèmes pastoraux sont bien étudiés [@ipcc2021].",
}


def write_tiny(root: Path) -> Path:
    shutil.copytree(ROOT / "templates", root / "templates")
    folder = root / "content" / TINY
    folder.mkdir(parents=True)
    (folder / "publication.yaml").write_text(PUBLICATION, encoding="utf-8")
    (folder / "brief.md").write_text(BRIEF, encoding="utf-8")
    (folder / "references.yaml").write_text(REFERENCES, encoding="utf-8")
    (root / "locales").mkdir()
    assert main(["update"], root) == 0
    for domain in (TINY, "ui"):
        path = root / "locales" / "fr" / "LC_MESSAGES" / f"{domain}.po"
        catalog = parse_po(path.read_text(encoding="utf-8"))
        for message in catalog:
            if message.id:
                message.string = FRENCH.get(str(message.id), str(message.id))
        path.write_text(serialize(catalog), encoding="utf-8")
    return root


@pytest.fixture()
def tiny(tmp_path) -> Path:
    return write_tiny(tmp_path)


def errors(root: Path, artifacts: bool = False) -> list:
    mode = "required" if artifacts else "skip"
    return [p for p in run_checks(Project(root), artifacts=mode) if p.severity == "error"]


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if needle in line)


def only(found: list, check: str, path: Path, line: int) -> None:
    assert [(p.check, p.path, p.line) for p in found] == [(check, display_path(path), line)], [str(p) for p in found]


def test_the_clean_tiny_publication_passes(tiny):
    assert errors(tiny) == []
    assert main(["--quiet"], tiny) == 0
    assert errors(tiny, artifacts=True) == []


def test_unknown_key(tiny):
    brief = tiny / "content" / TINY / "brief.md"
    replace_in(brief, "[@ipcc2021]", "[@ipcc2099]")
    found = errors(tiny)
    assert (found[0].check, found[0].path, found[0].line) == ("citation-key", display_path(brief), 3)
    assert "@ipcc2099" in found[0].message
    # its consequences are reported too: the entry now unused, and the template that no longer matches
    assert {p.check for p in found[1:]} <= {"citation-key", "stale-template"}


def test_an_unused_bibliography_entry(tiny):
    refs = tiny / "content" / TINY / "references.yaml"
    refs.write_text(REFERENCES + REFERENCES.split("references:\n")[1].replace("fao2021", "orphan2020")
                    .split("  - id: ipcc2021")[0], encoding="utf-8")
    only(errors(tiny), "citation-key", refs, line_of(refs, "id: orphan2020"))


def test_dropped_key_in_a_translation(tiny):
    po = tiny / "locales" / "fr" / "LC_MESSAGES" / f"{TINY}.po"
    replace_in(po, "bien étudiés [@ipcc2021].", "bien étudiés (GIEC 2021).")
    only(errors(tiny), "citation-keys", po, line_of(po, 'msgid "Pastoral systems'))


def test_hand_typed_group_name_in_the_seed_variant(tiny):
    brief = tiny / "content" / TINY / "brief.md"
    replace_in(brief, "well studied", "well studied by the IYRP Global Alliance Working Group on Pastoralism and "
                                   "Carbon Markets")
    assert main(["update"], tiny) == 0  # the templates follow the source: the name is the only inconsistency
    found = errors(tiny)
    only(found, "hand-typed-name", brief, 3)
    assert "IYRP Global Alliance Working Group on Pastoralism & Carbon Markets" in found[0].message  # canonical


def test_year_that_disagrees_with_the_date(tiny):
    meta = tiny / "content" / TINY / "publication.yaml"
    replace_in(meta, "year: 2026", "year: 2025")
    only(errors(tiny), "record-year", meta, line_of(meta, "year: 2025"))


def test_citation_cff_edited_by_hand(tiny):
    cff = tiny / "content" / TINY / "CITATION.cff"
    replace_in(cff, "  year: 2026", "  year: 2025")
    found = errors(tiny)
    only(found, "citation-cff", cff, line_of(cff, "  year: 2025"))
    assert "2025" in found[0].message and "2026" in found[0].message


def test_artifact_with_a_citation_block_altered_after_the_build(tiny):
    assert main(["--quiet"], tiny) == 0
    page = tiny / "dist" / TINY / "fr" / "index.html"
    replace_in(page, "IYRP Global Alliance Secretariat.</p>", "IYRP Global Alliance Secretariat, Rome.</p>")
    found = errors(tiny, artifacts=True)
    only(found, "suggested-citation", page, 1)
    assert "expected: «" in found[0].message and "| found: «" in found[0].message and "Rome" in found[0].message


def test_check_reads_artifacts_back_when_they_exist(tiny, capsys):
    assert main(["check"], tiny) == 0  # nothing built yet: sources and catalogs only
    assert main(["check", "--artifacts"], tiny) == 1  # ...unless the artifacts are required
    assert "no artifacts for this edition" in capsys.readouterr().err
    assert main(["--quiet"], tiny) == 0
    page = tiny / "dist" / TINY / "fr" / "index.html"
    replace_in(page, "IYRP Global Alliance Secretariat.</p>", "Someone else.</p>")
    assert main(["check", "--sources"], tiny) == 0
    assert main(["check"], tiny) == 1
    assert "[suggested-citation]" in capsys.readouterr().err


CITATIONS = {
    "en": "IYRP Global Alliance Working Group on Pastoralism & Carbon Markets 2026. Outgrowing offsetting. "
          "Policy brief. IYRP Global Alliance Secretariat.",
    "zh-Hans": "IYRP Global Alliance Working Group on Pastoralism & Carbon Markets 2026. 超越碳抵消 "
               "[Outgrowing offsetting]. 政策简报. IYRP Global Alliance Secretariat.",
    "fr": "IYRP Global Alliance Working Group on Pastoralism & Carbon Markets 2026. Dépasser la compensation "
          "carbone [Outgrowing offsetting]. Note d’orientation. IYRP Global Alliance Secretariat.",
    "es": "IYRP Global Alliance Working Group on Pastoralism & Carbon Markets 2026. Superar la compensación de "
          "emisiones [Outgrowing offsetting]. Informe de políticas. IYRP Global Alliance Secretariat.",
    "ar": "IYRP Global Alliance Working Group on Pastoralism & Carbon Markets 2026. تجاوز تعويض الكربون "
          "[Outgrowing offsetting]. موجز سياسات. IYRP Global Alliance Secretariat.",
}
LABELS = {"en": "Suggested citation:", "zh-Hans": "本简报引用格式：", "fr": "Citation suggérée :",
          "es": "Cita sugerida:", "ar": "الاقتباس المقترح:"}


@pytest.mark.parametrize("fmt", ["html", "epub", "docx", "pdf"])
@pytest.mark.parametrize("lang", list(CITATIONS))
def test_suggested_citation_of_each_edition_read_back(built, lang, fmt):
    from pubpipe.verify.readback import squash

    block = citation_block(artifact(built, lang, fmt), LABELS[lang])
    assert block is not None and squash(block) == squash(CITATIONS[lang])
    if fmt != "pdf":  # the PDF text layer loses some spaces; elsewhere the text is exact
        assert re.sub(r"\s+", " ", block).strip() == CITATIONS[lang]


@pytest.mark.parametrize("lang", list(CITATIONS))
def test_record_agrees_in_meta_tags_json_ld_bib_ris_and_document_properties(built, lang):
    folder = built / "dist" / SLUG / lang
    title = {"en": "Outgrowing offsetting", "zh-Hans": "超越碳抵消", "fr": "Dépasser la compensation carbone",
             "es": "Superar la compensación de emisiones", "ar": "تجاوز تعويض الكربون"}[lang]
    author = "IYRP Global Alliance Working Group on Pastoralism & Carbon Markets"
    for name in ("index.html", f"{SLUG}.{lang}.bib", f"{SLUG}.{lang}.ris", f"{SLUG}.{lang}.epub",
                 f"{SLUG}.{lang}.pdf", f"{SLUG}.{lang}.docx"):
        fields = read_record_fields(folder / name)
        assert fields["title"] == title and fields["author"] == author, name
        if "year" in fields:
            assert fields["year"] == "2026", name
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert f'<meta name="citation_pdf_url" content="{SLUG}.{lang}.pdf">' in page
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1))
    assert ld["@type"] == "Report" and ld["inLanguage"] == lang
    assert ("translationOfWork" in ld) == (lang != "en")
    assert f'href="{SLUG}.{lang}.bib"' in page and f'href="{SLUG}.{lang}.ris"' in page
    assert 'class="copy-citation"' in page


def test_committed_citation_cff_matches_the_record():
    import yaml

    cff = yaml.safe_load((ROOT / "content" / SLUG / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    preferred = cff["preferred-citation"]
    assert preferred["authors"] == [{"name": "IYRP Global Alliance Working Group on Pastoralism & Carbon Markets"}]
    assert preferred["year"] == 2026 and preferred["title"] == "Outgrowing offsetting"
    assert preferred["publisher"]["name"] == "IYRP Global Alliance Secretariat"
    assert len(cff["authors"]) == 20  # the corporate author and the 19 individual authors


def test_bib_is_valid_biblatex_for_a_corporate_author(built):
    bib = (built / "dist" / SLUG / "zh-Hans" / f"{SLUG}.zh-Hans.bib").read_text(encoding="utf-8")
    assert bib.startswith("@report{")
    # the corporate author kept whole by its braces, then each person (as in CITATION.cff); langid a babel name
    assert "author = {{IYRP Global Alliance Working Group on Pastoralism \\& Carbon Markets} and Krättli, Saverio " \
           "and Jalloh, Blamah and " in bib
    assert "origtitle = {Outgrowing offsetting}" in bib and "langid = {chinese-simplified}" in bib
    ris = (built / "dist" / SLUG / "zh-Hans" / f"{SLUG}.zh-Hans.ris").read_bytes().decode("utf-8")
    assert ris.startswith("TY  - RPRT\r\n") and ris.rstrip().endswith("ER  -")
    assert "OP  - Outgrowing offsetting\r\n" in ris


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(), min_size=1, max_size=4))
def test_squash_keeps_exactly_the_letters_marks_and_digits(texts):
    """squash removes what it has learnt to drop with one regular expression, rebuilt as it meets new
    characters (regex metacharacters among them): the answer is still the plain definition, text by text."""
    from pubpipe.verify.readback import squash

    for text in [*texts, "a\\b]c^d-e[f", "‏«مرحبا»، ١٢٣.", "e\u0301 (1) — “q”"]:
        plain = "".join(ch for ch in unicodedata.normalize("NFC", text) if unicodedata.category(ch)[0] in "LNM")
        assert squash(text) == plain
