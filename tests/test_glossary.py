"""The glossary for translators: one TBX-Basic and one CSV per language pair, and the occurrence-counting check."""

from __future__ import annotations

import csv

import yaml
from lxml import etree

from pubpipe.cli import main
from pubpipe.source.glossary import load_glossary

from .conftest import SLUG

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
PAIRS = ("zh-Hans", "fr", "es", "ar")


def _glossary(project):
    return yaml.safe_load((project / "content" / SLUG / "glossary.yaml").read_text(encoding="utf-8"))


def test_one_tbx_per_language_pair_with_every_term(project):
    assert main(["glossary"], project) == 0
    data = _glossary(project)
    folder = project / "build" / "glossary"
    for lang in PAIRS:
        path = folder / f"{SLUG}-{lang}.tbx"
        text = path.read_text(encoding="utf-8")
        assert str(project) not in text and "/work/" not in text and "/tmp/" not in text
        root = etree.parse(str(path)).getroot()
        assert root.tag == "martif" and root.get("type") == "TBX-Basic" and root.get(XML_LANG) == "en"
        entries = root.findall(".//termEntry")
        terms = [t for t in data["terms"] if t.get(lang)]
        assert len(entries) == len(terms) + len(data["do_not_translate"])
        assert len({e.get("id") for e in entries}) == len(entries)
        for entry, term in zip(entries, terms, strict=False):
            assert entry.get("id") == term["id"]
            assert [s.get(XML_LANG) for s in entry.findall("langSet")] == ["en", lang]
            target = entry.findall("langSet")[1]
            assert [t.text for t in target.iter("term")] == term[lang]  # every accepted rendering
            statuses = [n.text for n in target.iter("termNote")]
            assert statuses[0] == "preferredTerm-admn-sts" and set(statuses[1:]) <= {"admittedTerm-admn-sts"}
        names = entries[len(terms):]
        for entry, name in zip(names, data["do_not_translate"], strict=True):
            assert [t.text for t in entry.iter("term")] == [name, name]
            assert entry.find("descrip[@type='Translation needed']").text == "No"


def test_one_csv_per_language_pair_in_weblate_layout(project):
    assert main(["glossary"], project) == 0
    data = _glossary(project)
    for lang in PAIRS:
        rows = list(csv.reader((project / "build" / "glossary" / f"{SLUG}-{lang}.csv").open(encoding="utf-8")))
        assert rows[0] == ["source", "target"]
        assert rows[1:] == [[t["en"][0], t[lang][0]] for t in data["terms"] if t.get(lang)] + \
            [[name, name] for name in data["do_not_translate"]]


def test_forbidden_renderings_are_exported_as_deprecated(project):
    path = project / "content" / SLUG / "glossary.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    fr: [compensation, compenser", "    forbidden: {fr: [neutralisation]}\n"
                                 "    fr: [compensation, compenser", 1), encoding="utf-8")
    assert main(["glossary"], project) == 0
    root = etree.parse(str(project / "build" / "glossary" / f"{SLUG}-fr.tbx")).getroot()
    entry = next(e for e in root.iter("termEntry") if e.get("id") == "offsetting")
    tig = next(t for t in entry.iter("tig") if t.findtext("term") == "neutralisation")
    assert tig.findtext("termNote") == "deprecatedTerm-admn-sts"
    es = etree.parse(str(project / "build" / "glossary" / f"{SLUG}-es.tbx")).getroot()
    assert "neutralisation" not in etree.tostring(es, encoding="unicode")


SOURCE = "Offsettable credits are not offsetting: we compare them with offsetting elsewhere."


def test_each_occurrence_needs_an_accepted_rendering(project):
    glossary, problems = load_glossary(project / "content" / SLUG / "glossary.yaml")
    assert not problems
    # three occurrences of 'offsetting' (offsettable, offsetting, offsetting): one 'compensation' is not enough
    weak = ("Les crédits neutralisables ne sont pas de la neutralisation : comparons-les avec la "
            "compensation ailleurs.")
    found = [m for m in glossary.missing(SOURCE, weak, "fr") if "'offsetting'" in m]
    assert found and "3 times in the source, 1 in the translation" in found[0]
    good = ("Les crédits compensables ne sont pas de la compensation : comparons-les avec la "
            "compensation ailleurs.")
    assert [m for m in glossary.missing(SOURCE, good, "fr") if "'offsetting'" in m] == []


def test_markup_is_not_counted_as_a_term(project):
    glossary, _ = load_glossary(project / "content" / SLUG / "glossary.yaml")
    source = "Biogenic carbon cycles.[^biogenic] See [@biogenic2020]."
    target = "Le carbone biogénique circule.[^biogenic] Voir [@biogenic2020]."
    assert list(glossary.missing(source, target, "fr")) == []


def test_a_forbidden_rendering_is_flagged(project):
    path = project / "content" / SLUG / "glossary.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    fr: [compensation, compenser", "    forbidden: {fr: [neutralis]}\n"
                                 "    fr: [compensation, compenser", 1), encoding="utf-8")
    glossary, problems = load_glossary(path)
    assert not problems
    messages = list(glossary.missing("Offsetting is offsetting.", "La compensation est une neutralisation "
                                     "et une compensation.", "fr"))
    assert any("'neutralis' is not an accepted rendering of glossary term 'offsetting'" in m for m in messages)
    assert list(glossary.missing("Offsetting is offsetting.", "La compensation est une compensation.", "fr")) == []
    # unknown keys under forbidden are refused by the schema, not ignored
    path.write_text(text.replace("    fr: [compensation, compenser", "    forbidden: {fr: neutralis}\n"
                                 "    fr: [compensation, compenser", 1), encoding="utf-8")
    assert load_glossary(path)[1]


def test_check_warns_when_one_occurrence_loses_its_rendering(project):
    """'neutralisables' for 'offsettable' no longer passes because 'compensation' follows in the same entry."""
    from pubpipe.pipeline import run_checks
    from pubpipe.source.project import Project

    from .conftest import catalog_file, replace_in

    def glossary_findings():
        return [p for p in run_checks(Project(project), ["fr"], artifacts="skip", slugs=[SLUG])
                if p.check == "glossary"]

    assert glossary_findings() == []
    replace_in(catalog_file(project, "fr"), "compensables", "neutralisables")
    found = glossary_findings()
    assert len(found) == 1 and found[0].severity == "warning", [str(p) for p in found]
    assert "glossary term 'offsetting'" in found[0].message and "2 times in the source, 1 in" in found[0].message
