"""Schema verdicts remembered by content (source/schema.verdicts_remembered_in): a run whose sources did not change
neither imports jsonschema nor builds a validator, and gives the same diagnostics, errors included."""

from __future__ import annotations

import subprocess
import sys

from pubpipe.source import publication, schema

from .conftest import ROOT, publication_project, replace_in


def load_in_a_new_process(root) -> tuple[list[str], bool]:
    """The problems `load` finds, and whether jsonschema was imported, in a fresh interpreter."""
    code = ("import sys; from pathlib import Path; from pubpipe import pipeline; from pubpipe.source.project import "
            "Project; loaded = pipeline.load(Project(Path(sys.argv[1])), catalogs=False); "
            "print('\\n'.join(str(p) for p in loaded.problems)); print('jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(root)], cwd=root, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}).stdout.splitlines()
    return out[:-1], out[-1] == "True"


def test_an_unchanged_source_is_not_validated_again(publication, tmp_path):
    root = publication_project(publication, tmp_path)
    first, imported = load_in_a_new_process(root)
    assert imported  # nothing remembered yet
    again, imported = load_in_a_new_process(root)
    assert again == first and not imported


def test_a_remembered_verdict_keeps_its_errors_and_an_edit_is_validated(tmp_path):
    from .conftest import PUBLICATIONS

    known = next(p for p in PUBLICATIONS if p.slug == "outgrowing-offsetting")
    root = publication_project(known, tmp_path)
    meta = root / "content" / known.slug / "publication.yaml"
    replace_in(meta, "source_language: en", "source_language: en\nbogus_key: 1")
    first, _ = load_in_a_new_process(root)
    assert any("bogus_key" in line and "[schema]" in line for line in first)
    again, imported = load_in_a_new_process(root)
    assert again == first and not imported
    replace_in(meta, "bogus_key: 1", "bogus_key: 2\nother_bogus: 3")
    edited, imported = load_in_a_new_process(root)
    assert imported and any("other_bogus" in line for line in edited)


def test_without_a_store_nothing_is_remembered(tmp_path, monkeypatch):
    """Outside a build (a library call, `update`), every load validates and writes nothing."""
    monkeypatch.setattr(schema, "_VERDICTS", [])
    monkeypatch.setattr(publication, "_LOADED", {})
    calls = []
    original = schema._validate
    monkeypatch.setattr(schema, "_validate", lambda *args: calls.append(args[0]) or original(*args))
    from .conftest import PUBLICATIONS

    root = publication_project(PUBLICATIONS[0], tmp_path)
    publication.load_publication(root / "content" / PUBLICATIONS[0].slug)
    assert "publication" in calls
    assert not (root / "build").exists()
