"""`update` never loses a translator's work: restored paragraphs, other editors' saves, re-wrapped paragraphs.

Catalogs are written exactly as GNU gettext writes them, so saving one in
msgcat, polib (Poedit-like scripts) or Translate Toolkit (Weblate) and running
`update` gives the same bytes back.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import textwrap

import polib
import pytest

from pubpipe.cli import main
from pubpipe.translate.catalogs import parse_po, segment_msgid

from .conftest import SLUG, catalog_file, replace_in

BRIEF = f"content/{SLUG}/brief.md"
CATALOGS = [f"locales/{lang}/LC_MESSAGES/{domain}.po" for lang in ("fr", "zh_Hans", "es", "ar")
            for domain in (SLUG, "ui")] + [f"locales/{SLUG}.pot", "locales/ui.pot"]
PARAGRAPH = "Today, most pastoral systems bear the deep imprint of decades of policy intervention."

needs_gettext = pytest.mark.skipif(not shutil.which("msgcat"), reason="GNU gettext is not installed")
pytestmark = needs_gettext


def update(project) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["update"], project) == 0
    return out.getvalue()


def msgfmt_ok(path) -> str:
    result = subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(path)], capture_output=True, text=True)
    return "" if result.returncode == 0 else result.stderr


def paragraph(project, start: str) -> str:
    text = (project / BRIEF).read_text(encoding="utf-8")
    begin = text.index(start)
    return text[begin:text.index("\n\n", begin)]


def entry(project, msgid: str, lang: str = "fr"):
    catalog = parse_po(catalog_file(project, lang).read_text(encoding="utf-8"))
    return catalog.get(msgid), catalog


# -- 1. a restored paragraph --------------------------------------------------------------------------------

def test_a_deleted_then_restored_paragraph_gets_its_translation_back(project):
    removed = paragraph(project, PARAGRAPH)
    before, _ = entry(project, removed)
    assert before.string and not before.fuzzy
    replace_in(project / BRIEF, removed + "\n\n", "")
    update(project)
    gone, catalog = entry(project, removed)
    assert gone is None and catalog.obsolete[removed].string == before.string
    replace_in(project / BRIEF, "Climate finance in pastoral areas", removed + "\n\nClimate finance in pastoral areas")
    update(project)
    back, catalog = entry(project, removed)
    assert back.string == before.string and not back.fuzzy and removed not in catalog.obsolete
    for lang in ("fr", "zh_Hans", "es", "ar"):
        assert msgfmt_ok(catalog_file(project, lang)) == ""
    assert "updated:" not in update(project)


def test_a_fuzzy_entry_deleted_and_restored_comes_back_fuzzy_with_its_comments(project):
    removed = paragraph(project, PARAGRAPH)
    path = catalog_file(project, "fr")
    po = polib.pofile(str(path), wrapwidth=79)
    target = po.find(removed)
    target.flags.append("fuzzy")
    target.previous_msgid = removed.replace("decades", "many decades")
    target.tcomment = "relire avec le réseau"
    po.save()
    replace_in(project / BRIEF, removed + "\n\n", "")
    update(project)
    assert "#~| msgid" in path.read_text(encoding="utf-8")  # GNU's previous msgid of an obsolete entry
    replace_in(project / BRIEF, "Climate finance in pastoral areas", removed + "\n\nClimate finance in pastoral areas")
    update(project)
    back = polib.pofile(str(path)).find(removed)
    assert back.msgstr == target.msgstr and "fuzzy" in back.flags  # never published as reviewed
    assert back.tcomment == "relire avec le réseau" and back.previous_msgid == target.previous_msgid
    assert msgfmt_ok(path) == ""


def test_a_new_paragraph_like_a_reviewed_one_arrives_untranslated_and_unreviewed(project):
    """Babel's fuzzy match copies a similar entry's comments into a new one; `update` takes them back with
    the translation, so a new entry never arrives marked `# reviewed` (seen when the formula's alt text came)."""
    original = paragraph(project, PARAGRAPH)
    twin = original.replace("decades", "many decades")
    replace_in(project / BRIEF, original, original + "\n\n" + twin)
    path = catalog_file(project, "zh_Hans")
    update(project)
    new, catalog = entry(project, twin, "zh_Hans")
    old = catalog.get(original)
    assert old.string and "reviewed" in old.user_comments
    assert new is not None and not new.string and not new.fuzzy
    assert new.user_comments == []
    assert msgfmt_ok(path) == ""


def test_a_catalog_with_a_live_and_an_obsolete_copy_is_repaired(project):
    """What update used to write after delete + restore: the entry empty, its translation in a `#~` copy."""
    path = catalog_file(project, "fr")
    removed = paragraph(project, PARAGRAPH)
    po = polib.pofile(str(path), wrapwidth=79)
    live = po.find(removed)
    obsolete = polib.POEntry(msgid=live.msgid, msgstr=live.msgstr, obsolete=True)
    live.msgstr = ""
    po.append(obsolete)
    po.save()
    assert "duplicate message definition" in msgfmt_ok(path)
    update(project)
    back, catalog = entry(project, removed)
    assert back.string == obsolete.msgstr and not back.fuzzy and not catalog.obsolete
    assert msgfmt_ok(path) == ""


# -- 2. GNU formatting: another editor's save comes back byte-identical ----------------------------------------

def save_with_msgcat(path):
    subprocess.run(["msgcat", "-o", str(path), str(path)], check=True)


def save_with_polib(path):
    polib.pofile(str(path)).save()


def save_with_translate_toolkit(path):
    from translate.storage import po

    store = po.pofile.parsefile(str(path))
    path.write_bytes(bytes(store))


@pytest.mark.parametrize("save", [save_with_msgcat, save_with_polib, save_with_translate_toolkit],
                         ids=["msgcat", "polib", "translate-toolkit"])
def test_saving_in_another_tool_then_update_changes_nothing(project, save):
    before = {name: (project / name).read_bytes() for name in CATALOGS}
    for name in CATALOGS:
        save(project / name)
    update(project)
    after = {name: (project / name).read_bytes() for name in CATALOGS}
    assert [name for name in CATALOGS if after[name] != before[name]] == []
    assert "updated:" not in update(project)


def test_the_catalogs_are_in_gnu_layout_and_pass_msgfmt():
    from .conftest import ROOT

    for name in CATALOGS:
        path = ROOT / name
        gnu = subprocess.run(["msgcat", "-o", "-", str(path)], capture_output=True, check=True).stdout
        assert gnu == path.read_bytes(), name
        if name.endswith(".po"):
            assert msgfmt_ok(path) == ""


def test_header_fields_and_obsolete_previous_msgids_of_other_tools_are_kept(project):
    path = catalog_file(project, "fr")
    text = path.read_text(encoding="utf-8")
    generated = '"Generated-By: Babel 2.18.0\\n"'
    text = text.replace(generated, generated + '\n"X-Generator: Poedit 3.4\\n"')
    text += '\n#, fuzzy\n#~| msgid "An older sentence"\n#~ msgid "A sentence"\n#~ msgstr "Une phrase"\n'
    path.write_text(text, encoding="utf-8")
    update(project)
    po = polib.pofile(str(path))
    assert po.metadata["X-Generator"] == "Poedit 3.4"
    (old,) = po.obsolete_entries()
    assert old.msgstr == "Une phrase" and "fuzzy" in old.flags
    assert '#~| msgid "An older sentence"\n#~ msgid "A sentence"' in path.read_text(encoding="utf-8")  # polib skips it
    assert msgfmt_ok(path) == ""


# -- 3. re-wrapping is not an edit ------------------------------------------------------------------------------

def rewrapped(text: str, width: int = 60) -> str:
    return textwrap.fill(text, width=width, break_long_words=False, break_on_hyphens=False)


def test_rewrapping_a_paragraph_changes_no_msgid_and_keeps_the_translation(project, capsys):
    original = paragraph(project, PARAGRAPH)
    replace_in(project / BRIEF, original, rewrapped(original))
    update(project)
    fr, catalog = entry(project, original)
    assert fr is not None and fr.string and not fr.fuzzy
    assert not [m for m in catalog if m.id and (m.fuzzy or not m.string)] and not catalog.obsolete
    capsys.readouterr()
    assert main(["--lang", "zh-Hans", "--format", "html"], project) == 0
    assert "40 of 40 segments translated" in capsys.readouterr().out  # the Chinese edition shows no English


def test_old_msgids_written_with_line_breaks_migrate_without_going_fuzzy(project):
    """Before msgids ignored wrapping, a wrapped paragraph's msgid held its newlines; update keeps its translation."""
    original = paragraph(project, PARAGRAPH)
    wrapped = rewrapped(original)
    replace_in(project / BRIEF, original, wrapped)
    for lang in ("fr", "zh_Hans"):
        path = catalog_file(project, lang)
        po = polib.pofile(str(path), wrapwidth=79)
        po.find(original).msgid = wrapped  # what the old extraction wrote
        po.save()
    for lang in ("fr", "zh_Hans"):
        fr, catalog = entry(project, original, lang)
        assert fr is None
    update(project)
    for lang in ("fr", "zh_Hans"):
        fr, catalog = entry(project, original, lang)
        assert fr.string and not fr.fuzzy and not catalog.obsolete, lang
        assert wrapped not in {m.id for m in catalog}


@pytest.mark.parametrize(("source", "msgid"), [
    ("A paragraph\nwrapped  over\n   three lines.", "A paragraph wrapped over three lines."),
    ("End.  Next sentence.", "End. Next sentence."),
    ("A hard break  \nstays; so does\\\nthis one.", "A hard break  \nstays; so does\\\nthis one."),
    ("Code `keeps  its\nspaces` here", "Code `keeps  its spaces` here"),
    ("Math $$a\n% comment\nb$$ stays", "Math $$a\n% comment\nb$$ stays"),
    ("| a | b |\n|---|---|\n| 1 | 2 |", "| a | b |\n|---|---|\n| 1 | 2 |"),
    ("Term\n:   definition", "Term\n:   definition"),
    ("A quote\n> inside", "A quote\n> inside"),
    ("Title\n=====", "Title\n====="),
    ("no\u00a0break  space\u3000kept", "no\u00a0break space\u3000kept"),
    ("trailing spaces   ", "trailing spaces"),
])
def test_segment_msgid_ignores_wrapping_but_not_meaningful_line_breaks(source, msgid):
    assert segment_msgid(source) == msgid
    assert segment_msgid(msgid) == msgid  # idempotent: catalogs' msgids are fixed points


def test_the_real_brief_has_no_msgid_that_depends_on_wrapping():
    from pubpipe.source.publication import load_publication

    from .conftest import ROOT

    publication, _ = load_publication(ROOT / "content" / SLUG)
    pot = polib.pofile(str(ROOT / "locales" / f"{SLUG}.pot"))
    assert {e.msgid for e in pot} == {segment_msgid(s.text) for s in publication.segments}
