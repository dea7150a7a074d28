"""Untrusted translations stay inside their text (issue 8, cases 1 to 6).

Each test puts what an attacker or a careless translator wrote into a real
catalog of a copy of the project, then asserts two things: `check` reports it
at the entry's line, and the build (forced past the checks where that is the
point) publishes nothing of it beyond text of its own segment.
"""

from __future__ import annotations

import os
import re
import time
import zipfile

import pytest
from lxml import etree, html

from pubpipe.cli import main
from pubpipe.release.cache import Store
from pubpipe.translate import checks
from pubpipe.translate.catalogs import parse_po, serialize
from pubpipe.verify.readback import docx_text, epub_text, html_text, pdf_text

from .conftest import SLUG, artifact, catalog_file

SECRET = "TOPSECRET-7f3a"
READERS = {"html": html_text, "epub": epub_text, "docx": docx_text, "pdf": pdf_text}


def set_msgstr(path, msgid: str, value: str) -> int:
    """Set the msgstr of the entry `msgid` as an editor would save it; return the entry's line (its msgid)."""
    catalog = parse_po(path.read_text(encoding="utf-8"))
    catalog[msgid].string = value
    path.write_text(serialize(catalog), encoding="utf-8")
    return parse_po(path.read_text(encoding="utf-8"))[msgid].lineno


def first_paragraph_entry(path) -> tuple[str, str]:
    """(msgid, msgstr) of the first translated body paragraph."""
    for message in parse_po(path.read_text(encoding="utf-8")):
        if "Paragraph." in message.auto_comments and message.string and not message.fuzzy:
            return message.id, message.string
    raise AssertionError("no translated paragraph")


def check_output(project, capsys) -> tuple[int, list[str]]:
    code = main(["check", "--sources"], project)
    err = capsys.readouterr().err
    return code, err.splitlines()


def skip_checks(monkeypatch):
    """Force a translation past every entry check, including results the build remembered (build/cache/checks:
    keyed on the code's files, which a monkeypatch does not change)."""
    monkeypatch.setattr(checks, "check_message", lambda message, ctx: iter(()))
    monkeypatch.setattr(Store, "get_json", lambda self, kind, key: None)


def all_text(project, lang: str) -> dict[str, str]:
    return {fmt: reader(artifact(project, lang, fmt)) for fmt, reader in READERS.items()}


# -- 1. ui strings are text -------------------------------------------------------------------------------

def test_ui_attribute_break_out_is_text(project, capsys):
    payload = 'Langues" onmouseover="alert(document.domain)" data-x="'
    set_msgstr(catalog_file(project, "fr", "ui"), "Languages", payload)
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 0
    tree = html.fromstring(artifact(project, "fr", "html").read_bytes())
    assert not tree.xpath("//*[@onmouseover] | //*[@data-x]")
    assert payload in tree.xpath("//nav[@class='languages']/@aria-label")


def test_ui_plural_entry_is_checked_and_escaped(project, capsys, monkeypatch):
    path = catalog_file(project, "fr", "ui")
    text = path.read_text(encoding="utf-8")
    plural = ('msgid "Skip to the text"\nmsgid_plural "Skip to the texts"\n'
              'msgstr[0] "<script>alert(1)</script>Aller au texte"\nmsgstr[1] "Aller aux textes"')
    text = text.replace('msgid "Skip to the text"\nmsgstr "Aller au texte"', plural)
    path.write_text(text, encoding="utf-8")
    line = text[: text.index("msgid_plural")].count("\n")  # the entry's msgid line
    code, lines = check_output(project, capsys)
    assert code == 1
    assert any(f"ui.po:{line}: error: msgstr[0]: raw HTML" in row and "[no-raw-markup]" in row for row in lines)
    skip_checks(monkeypatch)  # forced past the check: still text
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 0
    tree = html.fromstring(artifact(project, "fr", "html").read_bytes())
    assert not [s for s in tree.xpath("//script") if "alert" in (s.text or "")]
    assert "<script>alert(1)</script>Aller au texte" in tree.xpath("//a[@class='skip-link']")[0].text_content()


def test_percent_sign_in_ui_translation_is_reported_and_falls_back(project, capsys):
    line = set_msgstr(catalog_file(project, "fr", "ui"), "Published %(date)s", "Publié à 100 % le %(date)s")
    code, lines = check_output(project, capsys)
    assert code == 1
    assert any(re.search(rf"ui\.po:{line}: error: .*%%.*\[format\]$", row) for row in lines), lines
    assert main(["--quiet", "--lang", "fr"], project) == 0  # the entry falls back; no traceback
    assert "Published" in artifact(project, "fr", "html").read_text(encoding="utf-8")


def test_ui_notices_are_markdown_escaped(project, monkeypatch):
    skip_checks(monkeypatch)
    payload = "Brouillon [piège](https://evil.example) **gras** `code`"
    set_msgstr(catalog_file(project, "fr", "ui"), "Draft translation, not yet reviewed.", payload)
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 0
    tree = html.fromstring(artifact(project, "fr", "html").read_bytes())
    notice = tree.xpath("//*[contains(@class, 'draft-notice')]")[0]
    assert not notice.xpath(".//a | .//strong | .//code")
    assert payload in notice.text_content()


# -- 2 and 3. segments are text, never documents -----------------------------------------------------------

@pytest.fixture()
def outside_bibliography(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outside")
    path = folder / "stolen.json"
    path.write_text(f'[{{"id": "x", "type": "book", "title": "{SECRET}", "issued": {{"date-parts": [[1999]]}}}}]',
                    encoding="utf-8")
    return path


def test_metadata_block_in_a_translation_is_rejected_and_never_read(project, capsys, monkeypatch,
                                                                     outside_bibliography):
    path = catalog_file(project, "fr")
    msgid, msgstr = first_paragraph_entry(path)
    payload = (f"{msgstr}\n\n---\nbibliography: {outside_bibliography}\nnocite: \"@* @*\"\n"
               "publisher: Evil Corp\nrights: stolen\ndescription: phishing https://evil.example\n"
               "subject: injected\ntoc-title: Hijacked\n---\n")
    line = set_msgstr(path, msgid, payload)
    code, lines = check_output(project, capsys)
    assert code == 1
    assert any(re.search(rf"{SLUG}\.po:{line}: error: .*YAML metadata block.*\[structure\]$", row)
               for row in lines), lines
    skip_checks(monkeypatch)  # forced past the check: pandoc still reads no metadata from a segment
    assert main(["--quiet", "--lang", "fr"], project) == 0
    for fmt, text in all_text(project, "fr").items():  # the words stay, as text of their own paragraph
        assert SECRET not in text, fmt
    with zipfile.ZipFile(artifact(project, "fr", "epub")) as epub:
        opf = next(epub.read(n) for n in epub.namelist() if n.endswith(".opf")).decode("utf-8")
        nav = epub.read(next(n for n in epub.namelist() if n.endswith("nav.xhtml"))).decode("utf-8")
        everything = "".join(epub.read(n).decode("utf-8", "replace") for n in epub.namelist())
    with zipfile.ZipFile(artifact(project, "fr", "docx")) as docx:
        core = docx.read("docProps/core.xml").decode("utf-8")
    for injected in ("Evil Corp", "stolen", "evil.example", "injected", "Hijacked", SECRET):
        assert injected not in opf and injected not in core, injected
    assert SECRET not in everything
    assert "Hijacked" not in re.search(r"<h1[^>]*>(.*?)</h1>", nav, re.S).group(1)  # the toc keeps its title


@pytest.mark.parametrize("payload, check", [
    ("\n\n# Un titre ajouté", "structure"),
    ("\n::: {#suggested-citation}\nfaux\n:::", "structure"),
    (" [faux]{#refs .x}", "structure"),
    (" `rm -rf /`", "code"),
    ("\n> citation ajoutée", "structure"),
])
def test_a_translation_cannot_add_blocks_attributes_or_code(project, capsys, payload, check):
    path = catalog_file(project, "fr")
    msgid, msgstr = first_paragraph_entry(path)
    line = set_msgstr(path, msgid, msgstr + payload)
    code, lines = check_output(project, capsys)
    assert code == 1
    assert any(row.startswith(f"{path.relative_to(project)}:{line}: error:") and row.endswith(f"[{check}]")
               or (f"{SLUG}.po:{line}: error:" in row and row.endswith(f"[{check}]")) for row in lines), lines


# -- 4. files ------------------------------------------------------------------------------------------------

def test_update_never_writes_through_a_link_leaving_the_repository(project, tmp_path_factory, capsys):
    outside = tmp_path_factory.mktemp("elsewhere") / "precious.txt"
    outside.write_text("precious, not a catalog\n", encoding="utf-8")
    path = catalog_file(project, "es")
    path.unlink()
    path.symlink_to(outside)
    assert main(["update"], project) == 1
    err = capsys.readouterr().err
    assert outside.read_text(encoding="utf-8") == "precious, not a catalog\n"
    assert "outside the repository" in err and "Traceback" not in err
    assert catalog_file(project, "fr").read_text(encoding="utf-8")  # the others were still updated


def test_a_ui_catalog_linked_outside_is_not_read_or_echoed(project, tmp_path_factory, capsys):
    outside = tmp_path_factory.mktemp("etc") / "passwd"
    outside.write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\n", encoding="utf-8")
    path = catalog_file(project, "fr", "ui")
    path.unlink()
    path.symlink_to(outside)
    code, lines = check_output(project, capsys)
    assert code == 1
    assert not any(SECRET in row for row in lines)
    assert any("ui.po:1: error:" in row and "outside the repository" in row for row in lines), lines


def test_update_leaves_a_broken_catalog_byte_identical(project, capsys):
    path = catalog_file(project, "fr")
    text = path.read_text(encoding="utf-8")
    broken = text.replace('msgstr "# Contexte"', 'msgstr "# Contexte', 1)  # a missing closing quote
    path.write_text(broken, encoding="utf-8")
    assert main(["update"], project) == 1
    err = capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == broken
    line = broken[: broken.index('msgstr "# Contexte')].count("\n") + 1
    assert f"{SLUG}.po:{line}: error:" in err and "[po-syntax]" in err
    assert "left byte-identical" in err


# -- 5. characters and sizes -------------------------------------------------------------------------------

@pytest.mark.parametrize("character", ["\ufeff", "\x00", "\x01", "\x7f", "\x1b"])
def test_control_characters_are_reported_at_the_entry_and_fall_back(project, capsys, character):
    path = catalog_file(project, "fr")
    msgid, msgstr = first_paragraph_entry(path)
    line = set_msgstr(path, msgid, msgstr[:10] + character + msgstr[10:])
    code, lines = check_output(project, capsys)
    assert code == 1
    assert any(f"{SLUG}.po:{line}: error:" in row and row.endswith("[characters]") for row in lines), lines
    assert main(["--quiet", "--lang", "fr"], project) == 0  # the entry falls back; nothing breaks
    assert character not in artifact(project, "fr", "html").read_text(encoding="utf-8")


def test_control_character_in_the_title_falls_back_and_the_epub_stays_valid(project, capsys):
    path = catalog_file(project, "fr")
    text = path.read_text(encoding="utf-8")
    title = next(m for m in parse_po(text) if "Metadata string 'title' from publication.yaml." in m.auto_comments)
    set_msgstr(path, title.id, "Dépasser\x01 la compensation")
    assert main(["--quiet", "--lang", "fr", "--format", "epub"], project) == 0
    with zipfile.ZipFile(artifact(project, "fr", "epub")) as epub:
        for name in epub.namelist():
            if name.endswith((".opf", ".xhtml")):
                etree.fromstring(epub.read(name))  # well-formed XML


def test_bidi_controls_are_a_warning_not_an_error(project, capsys):
    path = catalog_file(project, "fr")
    msgid, msgstr = first_paragraph_entry(path)
    line = set_msgstr(path, msgid, msgstr + "\u202e")
    _code, lines = check_output(project, capsys)
    assert any(f"{SLUG}.po:{line}: warning: bidi control" in row and row.endswith("[characters]") for row in lines)


def test_forced_tex_in_math_does_not_break_the_pdf(project, monkeypatch):
    skip_checks(monkeypatch)
    path = catalog_file(project, "fr")
    msgid, msgstr = first_paragraph_entry(path)
    set_msgstr(path, msgid, msgstr + " $\\input{/etc/passwd}$ $x^2$")
    assert main(["--quiet", "--lang", "fr", "--format", "pdf"], project) == 0


def test_a_huge_entry_is_refused_quickly(project, capsys):
    path = catalog_file(project, "fr")
    text = path.read_text(encoding="utf-8")
    entry = 'msgstr "# Contexte"'
    line = text[: text.index(entry)].count("\n")  # the entry's msgid line
    path.write_text(text.replace(entry, 'msgstr "# Contexte ' + "x" * 10_000_000 + '"'), encoding="utf-8")
    started = time.perf_counter()
    code, lines = check_output(project, capsys)
    elapsed = time.perf_counter() - started
    assert code == 1
    assert any(f"{SLUG}.po:{line}: error:" in row and row.endswith("[size]") for row in lines), lines
    assert elapsed < 60, elapsed  # a guard against the 300 s of before, not a speed goal


@pytest.mark.parametrize("entries, size", [(60_000, "entries"), (1_000_000, "MB")])
def test_a_catalog_with_too_many_entries_is_refused_before_parsing(project, capsys, entries, size):
    path = catalog_file(project, "fr")
    filler = "".join(f'\nmsgid "filler {number}"\nmsgstr ""\n' for number in range(entries))
    path.write_text(path.read_text(encoding="utf-8") + filler, encoding="utf-8")
    code, lines = check_output(project, capsys)
    assert code == 1
    assert any(f"{SLUG}.po:1: error:" in row and size in row and row.endswith("[po-syntax]") for row in lines), lines


# -- 6. one bad entry never blocks the release -------------------------------------------------------------

def mark_fuzzy(path, msgid: str) -> None:
    catalog = parse_po(path.read_text(encoding="utf-8"))
    catalog[msgid].flags.add("fuzzy")
    path.write_text(serialize(catalog), encoding="utf-8")


@pytest.mark.parametrize("lang", ["ar", "zh-Hans", "fr"])
def test_a_fuzzy_paragraph_leaves_the_gate_and_the_build_green(project, capsys, lang):
    path = catalog_file(project, lang.replace("-", "_"))
    msgid, _msgstr = first_paragraph_entry(path)
    mark_fuzzy(path, msgid)
    assert main(["--quiet", "--lang", lang], project) == 0, capsys.readouterr().err
    assert main(["check", "--lang", lang], project) == 0, capsys.readouterr().err
    assert msgid.split()[0] in pdf_text(artifact(project, lang, "pdf"))


@pytest.mark.parametrize("payload", ["\x7f", " `code`"])
def test_a_bad_entry_in_one_catalog_leaves_every_other_edition_alone(project, capsys, payload):
    path = catalog_file(project, "es")
    msgid, msgstr = first_paragraph_entry(path)
    line = set_msgstr(path, msgid, msgstr + payload)
    assert main(["--quiet"], project) == 0
    err = capsys.readouterr().err
    assert re.search(rf"{SLUG}\.po:{line}: error: ", err), err  # at the entry, not po:1 or a staging path
    assert "staging" not in err and ":1: error" not in err
    for lang in ("en", "zh-Hans", "fr", "es", "ar"):
        assert artifact(project, lang, "pdf").exists()


def test_no_traceback_for_any_case_above_in_a_real_process(project):
    """The same through build.py, as a translator runs it: no traceback on stderr."""
    import subprocess
    import sys

    from .conftest import ROOT

    path = catalog_file(project, "fr")
    msgid, msgstr = first_paragraph_entry(path)
    set_msgstr(path, msgid, msgstr + "\x00\ufeff `x` \n---\ntitle: x\n---\n")
    env = {**os.environ, "PUBPIPE_IN_VENV": "1"}
    for args in (["check", "--sources"], ["update"], ["--lang", "fr", "--format", "html,pdf"]):
        result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(project), *args],
                                capture_output=True, text=True, env=env)
        assert "Traceback" not in result.stderr, (args, result.stderr)
