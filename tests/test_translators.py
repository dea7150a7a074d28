"""The translators' workflow: update, status, the pseudo-locale, and untrusted translations."""

from __future__ import annotations

import json
import re

import pytest
from babel.messages.pofile import read_po
from lxml import html

from pubpipe.cli import main
from pubpipe.translate import checks
from pubpipe.translate.catalogs import parse_po
from pubpipe.verify.readback import docx_text, epub_text, pdf_text

from .conftest import SLUG, artifact, catalog_file, replace_in

BRIEF = f"content/{SLUG}/brief.md"


def catalog(project, lang="fr", domain=SLUG):
    text = catalog_file(project, lang, domain).read_text(encoding="utf-8")
    return parse_po(text), text


def edit(project, relative, old, new):
    replace_in(project / relative, old, new)


def test_update_is_idempotent_on_the_real_catalogs(project, capsys):
    before = {p: p.read_bytes() for p in (project / "locales").rglob("*.po*")}
    assert main(["update"], project) == 0
    assert "updated:" not in capsys.readouterr().out
    assert {p: p.read_bytes() for p in (project / "locales").rglob("*.po*")} == before


def test_changed_segment_becomes_fuzzy_with_its_previous_msgid(project, capsys):
    old = "Today, most pastoral systems bear the deep imprint of decades of policy intervention."
    new = "Today, most pastoral systems bear the deep imprint of many decades of policy intervention."
    edit(project, BRIEF, old, new)
    fr_before, _ = catalog(project)
    assert main(["update"], project) == 0
    fr, text = catalog(project)
    changed = [m for m in fr if m.id and m.fuzzy]
    assert len(changed) == 1 and str(changed[0].id).startswith(new)
    assert changed[0].previous_id and changed[0].previous_id[0].startswith(old)
    assert changed[0].string == next(m.string for m in fr_before if str(m.id).startswith(old))  # work kept
    assert "#| msgid" in text
    assert not [m for m in fr if m.id and not m.fuzzy and m.id not in fr_before]
    capsys.readouterr()
    assert main(["update"], project) == 0
    assert "updated:" not in capsys.readouterr().out  # the second run changes nothing
    # the fuzzy entry falls back to English in the build, and is counted
    assert main(["--lang", "fr", "--format", "html"], project) == 0
    out = capsys.readouterr().out
    assert "39 of 40 segments translated; 1 fall back to en" in out


def test_removed_segment_becomes_obsolete_and_new_one_starts_empty(project):
    text = (project / BRIEF).read_text(encoding="utf-8")
    start = text.index("Treating fossil-fuel emissions as")
    removed = text[start:text.index("\n\n", start)]
    paragraph = "Climate finance that goes to the roots of climate change is urgently needed."
    text = text.replace(removed + "\n\n", "").replace(paragraph, "A brand-new opening sentence.\n\n" + paragraph)
    (project / BRIEF).write_text(text, encoding="utf-8")
    assert main(["update"], project) == 0
    fr, po_text = catalog(project)
    assert removed not in {m.id for m in fr}
    assert removed in {m.id for m in fr.obsolete.values()}
    assert '#~ msgid ""\n#~ "Treating fossil-fuel emissions' in po_text
    new = fr.get("A brand-new opening sentence.")
    assert new is not None and new.string == "" and not new.fuzzy


def test_a_new_string_is_never_prefilled_from_a_similar_one(project):
    """Babel guesses translations for new strings from similar ones ("Download EPUB" <- "Download PDF")."""
    original = "Governments should not reshape pastoral production to suit carbon markets"
    similar = "Governments should not reshape pastoral production to suit carbon finance"
    text = (project / BRIEF).read_text(encoding="utf-8")
    start = text.index("3. **Remove the political")
    item = text[start:text.index("\n\n", start)]
    copy = item.replace("3. **Remove", "6. **Remove").replace(original, similar)
    (project / BRIEF).write_text(text.rstrip("\n").replace("\n\n[^biogenic]", "\n\n" + copy + "\n\n[^biogenic]")
                                 + "\n", encoding="utf-8")
    assert main(["update"], project) == 0
    fr, _ = catalog(project)
    added = next(m for m in fr if str(m.id).startswith("6. **Remove"))
    assert added.string == "" and not added.fuzzy
    kept = next(m for m in fr if str(m.id).startswith("3. **Remove"))
    assert kept.string and not kept.fuzzy


def test_translator_comments_and_line_wrapping_are_kept(project):
    path = project / "locales" / "es" / "LC_MESSAGES" / f"{SLUG}.po"
    text = path.read_text(encoding="utf-8")
    text = text.replace('msgid "Policy brief"', '# Translators: revisado por la red de pastores\nmsgid "Policy brief"')
    path.write_text(text, encoding="utf-8")
    unwrapped = project / "locales" / "ar" / "LC_MESSAGES" / f"{SLUG}.po"
    parsed, raw = catalog(project, "ar")
    from pubpipe.translate.catalogs import serialize

    unwrapped.write_text(serialize(parsed, width=0), encoding="utf-8")
    before = unwrapped.read_text(encoding="utf-8")
    assert main(["update"], project) == 0
    assert "# Translators: revisado por la red de pastores" in path.read_text(encoding="utf-8")
    assert unwrapped.read_text(encoding="utf-8") == before  # a catalog kept unwrapped stays unwrapped


def test_every_entry_says_what_it_is_and_what_to_keep():
    from .conftest import ROOT

    template = read_po((ROOT / "locales" / f"{SLUG}.pot").open("rb"))
    for message in template:
        if not message.id:
            continue
        assert message.locations and message.auto_comments
        if "[@ipcc2021]" in message.id:
            assert any("Keep unchanged" in c and "@ipcc2021" in c for c in message.auto_comments)
    kinds = " ".join(c for m in template for c in m.auto_comments)
    for kind in ("Heading", "Paragraph", "List item", "Footnote", "Display formula", "Metadata string"):
        assert kind in kinds


def test_status_counts_segments_and_words(project, capsys):
    fr, text = catalog(project)
    path = project / "locales" / "fr" / "LC_MESSAGES" / f"{SLUG}.po"
    text = text.replace('msgstr "Note d’orientation"', 'msgstr ""')
    path.write_text(text, encoding="utf-8")
    assert main(["status", "--json"], project) == 0
    rows = json.loads(capsys.readouterr().out)
    fr_row = next(r for r in rows if r["lang"] == "fr" and r["domain"] == "content")
    assert (fr_row["translated"], fr_row["untranslated"], fr_row["fuzzy"], fr_row["total"]) == (39, 1, 0, 40)
    assert fr_row["words"] - fr_row["words_translated"] == 2  # "Policy brief"
    assert main(["status"], project) == 0
    table = capsys.readouterr().out
    assert re.search(r"content\s+fr\s+39/40\s+0\s+0\s+1\s+0\s+98%", table)  # translated, reviewed, fuzzy, ...


def test_pseudo_locale_lets_no_visible_string_escape(project, built):
    """Every visible text of the en-XA edition is upper-case, except what is not translatable by design."""
    assert main(["pseudo"], project) == 0
    assert main(["--quiet", "--lang", "en-XA"], project) == 0
    import yaml

    meta = yaml.safe_load((project / "content" / SLUG / "publication.yaml").read_text(encoding="utf-8"))
    names = [v for values in meta["names"].values() for v in values.values()]
    from pubpipe.source.languages import parse_language
    from pubpipe.source.publication import load_publication
    from pubpipe.translate.edition import author_names

    publication, _ = load_publication(project / "content" / SLUG)
    names.append(author_names(publication, parse_language("en-XA")))  # CLDR's list pattern: locale data
    names += [f"{meta['identifier']}:en-XA", meta["licence"]["name"], "Outgrowing offsetting"]
    page = html.parse(str(artifact(project, "en-XA", "html")))
    # the key references are English works, listed as citeproc renders them in every edition
    references = " ".join(e.text_content() for e in page.xpath("//div[contains(@class,'csl-entry')]"))
    languages = [a.text_content() for a in page.xpath("//nav[contains(@class,'languages')]//a")]
    allowed = sorted(names + languages, key=len, reverse=True)

    def escaped(text: str) -> list[str]:
        for value in allowed:
            text = text.replace(value, " ")
        text = re.sub(r"\d+(?:[.,]\d+)?\s?kB", " ", text)  # sizes, formatted by Babel
        return re.findall(r"[a-z]{2,}", text)

    leaks = []
    for node in page.xpath("//body//text()[not(ancestor::script) and not(ancestor::style) "
                           "and not(ancestor::*[local-name()='annotation'])]"):
        if node.strip() and node.strip() not in references:
            leaks += escaped(str(node))
    leaks += escaped(page.findtext(".//title"))
    assert leaks == []
    for reader, fmt in ((pdf_text, "pdf"), (epub_text, "epub"), (docx_text, "docx")):
        text = reader(artifact(project, "en-XA", fmt))
        for entry in references.split("  "):
            text = text.replace(entry, " ")
        assert "«BACKGROUND»" in text and "«POLICY BRIEF»" in text, fmt


@pytest.mark.parametrize("payload", ["<script>alert(1)</script>", "{{ 7*7 }}", "{% include 'page.html.j2' %}",
                                     "[clic](javascript:alert(1))", "<img src=x onerror=alert(1)>"])
def test_untrusted_msgstr_never_takes_effect_even_past_the_check(project, monkeypatch, payload):
    """Forced past the check, markup in a translation still cannot reach an output as markup."""
    monkeypatch.setattr(checks, "check_message", lambda message, ctx: iter(()))  # every entry check off
    for msgid_start, lang in (("Over the past decade", "fr"), ("Outgrowing offsetting", "fr")):
        path = project / "locales" / lang / "LC_MESSAGES" / f"{SLUG}.po"
        parsed, text = catalog(project, lang)
        message = next(m for m in parsed if str(m.id).startswith(msgid_start))
        from pubpipe.translate.catalogs import serialize

        message.string = f"{message.string} {payload}"
        path.write_text(serialize(parsed), encoding="utf-8")
    assert main(["--quiet", "--lang", "fr"], project) == 0
    page_text = artifact(project, "fr", "html").read_text(encoding="utf-8")
    tree = html.fromstring(page_text)
    scripts = [s.text or "" for s in tree.xpath("//script[not(@type='application/ld+json')]")]
    assert not any("alert" in s for s in scripts)
    assert not tree.xpath("//*[@onerror] | //a[starts-with(@href, 'javascript')] | //img")
    assert "49" not in tree.text_content().replace("2049", "")
    if "{{" in payload:
        assert "{{ 7*7 }}" in tree.text_content()  # shown as text, never evaluated
    ld = json.loads(tree.xpath("//script[@type='application/ld+json']")[0].text)
    shown = "clic" if "javascript" in payload else payload.split()[0]  # a link loses its target, keeps its words
    assert shown in ld["name"]  # data in JSON, not markup
    assert "</script>" not in tree.xpath("//script[@type='application/ld+json']")[0].text
