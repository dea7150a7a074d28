"""check --artifacts knows when dist/ no longer matches its inputs: the manifest records their SHA-256."""

from __future__ import annotations

import json

from pubpipe.cli import main

from .conftest import SLUG, catalog_file, replace_in

CATALOG = f"locales/fr/LC_MESSAGES/{SLUG}.po"


def _check(root, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["check", "--artifacts", "--lang", "fr"], root)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_manifest_records_every_input_relative(project):
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 0
    manifest = json.loads((project / "dist" / "manifest.json").read_text(encoding="utf-8"))
    edition = next(e for p in manifest["publications"] for e in p["editions"] if e["lang"] == "fr")
    inputs = edition["inputs"]
    for name in (f"content/{SLUG}/brief.md", f"content/{SLUG}/publication.yaml", f"content/{SLUG}/references.yaml",
                 f"content/{SLUG}/glossary.yaml", CATALOG, "locales/fr/LC_MESSAGES/ui.po", "templates/page.html.j2",
                 "templates/brief.typ.j2", "templates/csl/iyrp-author-date.csl"):
        assert len(inputs[name]) == 64, name
    assert not any(name.startswith("/") or ".." in name for name in inputs)
    assert str(project) not in json.dumps(manifest)


def test_edited_catalog_makes_the_artifacts_stale_until_rebuilt(project, capsys):
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 0
    code, out = _check(project, capsys)
    assert code == 0, out
    replace_in(catalog_file(project, "fr"), 'msgstr "Note d’orientation"', 'msgstr "Note d’orientation politique"')
    code, out = _check(project, capsys)
    stale = [line for line in out.splitlines() if "[stale-artifact]" in line]
    assert code == 1 and len(stale) == 1, out
    assert f"dist/{SLUG}/fr" in stale[0] and ":1: error: built from inputs that changed since: " in stale[0]
    assert CATALOG in stale[0] and "brief.md" not in stale[0]
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 0
    code, out = _check(project, capsys)
    assert code == 0, out


def test_edited_template_makes_every_edition_stale(project, capsys):
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 0
    (project / "templates" / "style.css").write_text(
        (project / "templates" / "style.css").read_text(encoding="utf-8") + "\n/* changed */\n", encoding="utf-8")
    code, out = _check(project, capsys)
    assert code == 1 and "templates/style.css [stale-artifact]" in out.replace("; build again", ""), out
