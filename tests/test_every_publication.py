"""What must hold for any publication: the IYRP brief and every fixture publication, whatever their languages.

Each publication is set up alone in a temporary project, brought up to date
with `update`, checked, built in every declared language and format, and read
back: the artifacts parse, carry the edition's language, and pass the
citation gate (`check --artifacts`); the catalogs pass GNU msgfmt; a second
`update` changes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import pytest
from lxml import etree, html

from pubpipe.cli import main
from pubpipe.verify.readback import epub_documents, pdf_text


def test_every_declared_language_is_built_in_every_format(released):
    known, root, entry = released
    import yaml

    declared = list(yaml.safe_load((known.source / "publication.yaml").read_text(encoding="utf-8"))["languages"])
    assert [e["lang"] for e in entry["editions"]] == declared
    for edition in entry["editions"]:
        formats = {a["format"] for a in edition["artifacts"]}
        assert {"html", "pdf", "epub", "docx", "bib", "ris"} <= formats, edition["lang"]
        for artifact in edition["artifacts"]:
            assert (root / "dist" / artifact["path"]).stat().st_size == artifact["bytes"]


def test_every_artifact_parses_and_declares_its_language(released):
    _known, root, entry = released
    for edition in entry["editions"]:
        lang, files = edition["lang"], {a["format"]: root / "dist" / a["path"] for a in edition["artifacts"]}
        page = html.fromstring(files["html"].read_bytes())
        assert page.get("lang") == lang and page.get("dir") == edition["dir"]
        documents = epub_documents(files["epub"])
        assert documents and all(etree.fromstring(data) is not None for _name, data in documents)
        with zipfile.ZipFile(files["docx"]) as docx:
            etree.fromstring(docx.read("word/document.xml"))
            assert lang.split("-")[0] in docx.read("docProps/core.xml").decode("utf-8") or \
                lang.split("-")[0] in docx.read("word/styles.xml").decode("utf-8")
        assert pdf_text(files["pdf"]).strip()


def test_the_citation_gate_passes_on_every_artifact(released):
    _known, root, _entry = released
    assert main(["check", "--artifacts"], root) == 0


def test_catalogs_pass_msgfmt_and_update_is_idempotent(released):
    known, root, _entry = released
    if not shutil.which("msgfmt"):
        pytest.skip("GNU gettext (msgfmt) is not installed; build.py test installs it")
    catalogs = sorted((root / "locales").rglob(f"{known.slug}.po"))
    assert catalogs
    for path in catalogs:
        result = subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, (path, result.stderr)
    before = {p: p.read_bytes() for p in (root / "locales").rglob("*.po*")}
    assert main(["update"], root) == 0
    assert {p: p.read_bytes() for p in (root / "locales").rglob("*.po*")} == before
