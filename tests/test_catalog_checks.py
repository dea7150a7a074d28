"""One broken catalog per check: each check fires at the entry's line; the real catalogs pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from pubpipe.diagnostics import display_path
from pubpipe.pipeline import Project, run_checks
from pubpipe.source.languages import tag_from_catalog_dir
from pubpipe.translate.catalogs import parse_po, serialize

from .conftest import ROOT, SLUG, catalog_file, replace_in


def mutate(project: Path, lang: str, msgid_start: str, change, domain: str = SLUG) -> tuple[str, int]:
    """Change one msgstr through Babel (as an editor would), return (path as displayed, msgid line)."""
    path = catalog_file(project, lang, domain)
    text = path.read_text(encoding="utf-8")
    catalog = parse_po(text)
    (message,) = [m for m in catalog if m.id and str(m.id).startswith(msgid_start)]
    message.string = change(message.string)
    path.write_text(serialize(catalog), encoding="utf-8")
    reread = parse_po(path.read_text(encoding="utf-8"))
    return display_path(path), next(m.lineno for m in reread if m.id == message.id)


def findings(project: Path) -> list:
    return run_checks(Project(project), artifacts="skip")


def test_the_real_catalogs_pass_every_check():
    problems = run_checks(Project(ROOT), artifacts="skip")
    assert [str(p) for p in problems if p.severity == "error"] == []


def test_msgfmt_accepts_every_catalog():
    """GNU gettext as an outside referee."""
    if not shutil.which("msgfmt"):
        pytest.skip("msgfmt (gettext) is not installed")
    for path in sorted((ROOT / "locales").glob("*/LC_MESSAGES/*.po")) + sorted((ROOT / "locales").glob("*.pot")):
        if "en_XA" in str(path):
            continue
        result = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{path}: {result.stderr}"


ENTRY_CASES = [
    # (check, language, start of msgid, change to the msgstr, severity)
    ("citation-keys", "fr", "In climate science", lambda s: s.replace("[@ipcc2021]", "(GIEC, 2021)"), "error"),
    ("citation-keys", "zh_Hans", "In climate science", lambda s: s.replace("[@ipcc2021]", "[@fao2021]"), "error"),
    ("footnotes", "es", "1. **False equivalence", lambda s: s.replace("[^biogenic]", ""), "error"),
    ("links", "fr", "Over the past decade", lambda s: s + " Voir https://example.org/", "error"),
    ("numbers", "es", "Over the past decade", lambda s: s + " (1990)", "error"),
    ("numbers", "ar", "1. **False equivalence", lambda s: s.replace("1. ", "١. ", 1), "error"),
    ("formula", "fr", "$$", lambda s: s.replace("\\frac", "\\dfrac"), "error"),
    ("placeholders", "fr", "A policy brief of the", lambda s: s.replace("{iyrp}", "{année}"), "error"),
    ("markdown", "es", "# Background", lambda s: "## " + s[2:], "error"),
    ("markdown", "fr", "3. **Shifting the responsibility", lambda s: "3) " + s[3:], "error"),
    ("markdown", "zh_Hans", "2. **Fuelling", lambda s: s.replace("**", "", 1), "error"),
    ("no-raw-markup", "fr", "Over the past decade", lambda s: s + " <script>alert(1)</script>", "error"),
    ("no-raw-markup", "es", "Over the past decade", lambda s: s + " {{ 7*7 }}", "error"),
    ("no-raw-markup", "ar", "Over the past decade", lambda s: s + " {% include 'x' %}", "error"),
    ("no-raw-markup", "fr", "Today, most pastoral", lambda s: s + " [clic](javascript:alert(1))", "error"),
    ("hand-typed-name", "fr", "A policy brief of the",
     lambda s: s.replace("{working_group}", "IYRP Global Alliance Working Group on Pastoralism and Carbon Markets"),
     "error"),
    ("untranslated-copy", "es", "Today, most pastoral", lambda s: None, "warning"),
    ("length", "fr", "Today, most pastoral", lambda s: s[:60], "warning"),
    ("whitespace", "es", "Policy brief", lambda s: s + " ", "warning"),
    ("glossary", "fr", "Climate finance in pastoral areas", lambda s: s.replace("pastoralisme", "élevage"), "warning"),
]


@pytest.mark.parametrize("check, lang, msgid_start, change, severity", ENTRY_CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(ENTRY_CASES)])
def test_each_entry_check_fires_at_the_entry(project, check, lang, msgid_start, change, severity):
    def apply(msgstr):
        result = change(msgstr)
        return result if result is not None else message_id[0]

    path = catalog_file(project, lang)
    message_id = [m.id for m in read_po(path.open("rb")) if m.id and str(m.id).startswith(msgid_start)]
    shown, line = mutate(project, lang, msgid_start, apply)
    hits = [p for p in findings(project) if p.check == check and p.path == shown and p.line == line]
    assert hits and all(p.severity == severity for p in hits), [str(p) for p in findings(project)]
    assert "(source: content/" in hits[0].message  # the source location comes with it


def test_ui_placeholders_are_checked(project):
    shown, line = mutate(project, "fr", "%(title)s", lambda s: s.replace("%(subtitle)s", "%(sous_titre)s"), "ui")
    assert any(p.check == "placeholders" and p.path == shown and p.line == line for p in findings(project))


def header_case(project: Path, lang: str, old: str, new: str) -> tuple[str, int]:
    path = catalog_file(project, lang)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = next(n for n, row in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if new in row)
    return display_path(path), line


@pytest.mark.parametrize("lang, old, new, words", [
    ("fr", '"Language: fr\\n"', '"Language: de\\n"', "header Language is 'de'"),
    ("fr", '"Language: fr\\n"', '"Language: ../../x\\n"', "header Language is '../../x', which is not a language"),
    ("es", "charset=utf-8", "charset=latin-1", "charset must be UTF-8"),
    ("ar", "nplurals=6;", "nplurals=2;", "Plural-Forms must be 'nplurals=6;"),
])
def test_header_checks(project, lang, old, new, words):
    shown, line = header_case(project, lang, old, new)
    hits = [p for p in findings(project) if p.check == "po-header" and p.path == shown and p.line == line]
    assert hits and words in hits[0].message, [str(p) for p in findings(project)]


def test_syntax_error_names_the_line(project):
    path = catalog_file(project, "es")
    lines = path.read_text(encoding="utf-8").split("\n")
    number = next(n for n, row in enumerate(lines, 1) if row.startswith('msgstr "') and len(row) > 12)
    lines[number - 1] = lines[number - 1][:-1]  # the closing quote is gone
    path.write_text("\n".join(lines), encoding="utf-8")
    hits = [p for p in findings(project) if p.check == "po-syntax"]
    assert [(p.path, p.line) for p in hits][:1] == [(display_path(path), number)]
    assert "is a quote missing?" in hits[0].message


@pytest.mark.parametrize("folder", ["xx_ZZ", "fr-FR", "x..y"])
def test_invalid_locale_folders_are_rejected_not_read(project, folder):
    target = project / "locales" / folder / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(catalog_file(project, "fr"), target / f"{SLUG}.po")
    hits = [p for p in findings(project) if p.path == display_path(project / "locales" / folder)]
    assert hits and hits[0].severity == "error" and hits[0].check == "po-header"


def test_path_like_folder_names_never_become_paths():
    for name in ("../../x", "..", "fr/../../etc", "zh_Hans\x00"):
        with pytest.raises(ValueError):
            tag_from_catalog_dir(name)


def test_a_catalog_linking_outside_the_repository_is_not_read(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "elsewhere.po"
    shutil.copy(catalog_file(project, "fr"), outside)
    catalog_file(project, "fr").unlink()
    catalog_file(project, "fr").symlink_to(outside)
    assert any("outside the repository" in p.message for p in findings(project))


def test_rejected_entries_fall_back_and_strict_refuses(project, capsys):
    from pubpipe.cli import main

    mutate(project, "fr", "Over the past decade", lambda s: s + " <script>alert(1)</script>")
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 0
    page = (project / "dist" / SLUG / "fr" / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "Over the past decade and more" in page  # English fallback
    assert "Certaines parties de cette traduction" in page  # the fallback notice, in French
    capsys.readouterr()
    assert main(["--quiet", "--strict", "--lang", "fr", "--format", "html"], project) == 1
    err = capsys.readouterr().err
    assert "[no-raw-markup]" in err and "[completeness]" not in err  # a draft's threshold is 0 unless set
    replace_in(project / "content" / SLUG / "publication.yaml", "  fr: {status: draft}",
               "  fr: {status: draft, min_completeness: 1.0}")
    assert main(["--quiet", "--strict", "--lang", "fr", "--format", "html"], project) == 1
    err = capsys.readouterr().err
    assert "[no-raw-markup]" in err and "[completeness]" in err  # at the rejected entry's line
