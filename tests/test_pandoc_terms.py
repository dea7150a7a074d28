"""pandoc's own terms per language: the list the build trusts is the pinned pandoc's, and a language without
them is reported once, as a diagnostic, instead of pandoc's raw warnings on the terminal."""

from __future__ import annotations

import os
import subprocess
import sys

import pypandoc
import pytest
from babel import localedata

from pubpipe.render.pandoc_ast import PANDOC_TERMS, pandoc_has_terms

from .conftest import PUBLICATIONS, ROOT, add_empty_editions, publication_project


def test_the_list_of_languages_with_terms_is_the_pinned_pandocs():
    """Every language CLDR knows, and the tags pandoc keeps apart: those with translations/<tag>.yaml in the
    binary are exactly PANDOC_TERMS (a pandoc upgrade that adds or drops one fails here)."""
    candidates = {tag.split("_")[0] for tag in localedata.locale_identifiers()} | PANDOC_TERMS | {"zh", "pt-AO"}
    pandoc = pypandoc.get_pandoc_path()
    found = {tag for tag in candidates
             if subprocess.run([pandoc, "--print-default-data-file", f"translations/{tag}.yaml"],
                               capture_output=True).returncode == 0}
    assert found == PANDOC_TERMS


def test_a_tag_falls_back_to_its_language_as_pandoc_does():
    assert pandoc_has_terms("en-GB") and pandoc_has_terms("zh-Hans") and pandoc_has_terms("fr-CA")
    assert not pandoc_has_terms("sw") and not pandoc_has_terms("sw-KE") and not pandoc_has_terms("zh")


@pytest.mark.parametrize("known", PUBLICATIONS, ids=[p.slug for p in PUBLICATIONS])
def test_a_language_without_pandoc_terms_gets_one_diagnostic_and_no_raw_warnings(known, tmp_path):
    root = publication_project(known, tmp_path)
    added = add_empty_editions(root, known.slug, (("sw",),))
    assert added == ["sw"]
    env = {**os.environ, "PUBPIPE_IN_VENV": "1"}
    command = [sys.executable, str(ROOT / "build.py"), "--project", str(root)]
    subprocess.run(command + ["update"], check=True, env=env, capture_output=True)
    result = subprocess.run(command + ["--lang", "sw"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    reported = [line for line in lines if line.endswith("[pandoc-terms]")]
    assert len(reported) == 1 and f"content/{known.slug}/publication.yaml:" in reported[0], lines
    assert ": warning: pandoc has no terms of its own for sw" in reported[0]
    assert not [line for line in lines if "[WARNING]" in line or "translations/sw.yaml not found" in line], lines
