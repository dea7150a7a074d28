"""Bad input fails cleanly: one `path:line: error: message [check]` per problem, exit non-zero,
no traceback, and dist/ left exactly as it was."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pubpipe.cli import main
from pubpipe.render import fonts

from .conftest import ROOT, SLUG

DIAGNOSTIC = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+): (?P<severity>error|warning): (?P<message>.+) "
                        r"\[(?P<check>[a-z-]+)\]$")


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PUBPIPE_IN_VENV": "1"}
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(project), *args],
                          capture_output=True, text=True, env=env, cwd=project)


def diagnostics(stderr: str) -> list[dict]:
    return [m.groupdict() for line in stderr.splitlines() if (m := DIAGNOSTIC.match(line))]


def snapshot(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory) -> Path:
    """A project copy with a successful HTML build in dist/, which failed builds must not touch."""
    from .conftest import copy_project

    project = copy_project(tmp_path_factory.mktemp("release"))
    assert main(["--quiet", "--format", "html"], project) == 0
    return project


def break_and_build(project: Path, relative: str, old: str, new: str) -> tuple[subprocess.CompletedProcess, dict]:
    path = project / relative
    original = path.read_text(encoding="utf-8")
    assert old in original, f"fixture text not found in {relative}"
    before = snapshot(project / "dist")
    path.write_text(original.replace(old, new, 1), encoding="utf-8")
    try:
        result = run(project, "--format", "html")
    finally:
        path.write_text(original, encoding="utf-8")
    assert snapshot(project / "dist") == before, "a failed build changed dist/"
    assert not list(project.glob(".dist-staging-*")), "a staging folder was left behind"
    return result, before


def assert_clean_failure(result: subprocess.CompletedProcess, path: str, line: int, check: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    found = diagnostics(result.stderr)
    assert {"path": path, "line": str(line), "check": check} in [
        {k: d[k] for k in ("path", "line", "check")} for d in found], result.stderr


def test_malformed_yaml(previous_release):
    relative = f"content/{SLUG}/publication.yaml"
    lines = (previous_release / relative).read_text(encoding="utf-8").split("\n")
    genre = next(n for n, line in enumerate(lines, 1) if line.strip().startswith("genre:"))
    result, _ = break_and_build(previous_release, relative, "genre: Policy brief", "genre: [Policy brief")
    # the unclosed '[' is detected where the next key starts
    assert_clean_failure(result, relative, genre + 1, "yaml-syntax")


def test_unknown_citation_key(previous_release):
    result, _ = break_and_build(previous_release, f"content/{SLUG}/brief.md", "[@ipcc2021]", "[@ipcc2099]")
    assert_clean_failure(result, f"content/{SLUG}/brief.md", 63, "citation-key")
    assert "@ipcc2099" in result.stderr and "ipcc2021" in result.stderr  # names the valid keys


def test_malformed_po_points_at_the_line(previous_release):
    relative = f"locales/zh_Hans/LC_MESSAGES/{SLUG}.po"
    lines = (previous_release / relative).read_text(encoding="utf-8").split("\n")
    number = next(n for n, line in enumerate(lines, 1) if line == 'msgstr "政策简报"')
    result, _ = break_and_build(previous_release, relative, 'msgstr "政策简报"', 'msgstr "政策简报')
    assert_clean_failure(result, relative, number, "po-syntax")


def test_bad_language_tag(previous_release):
    result, _ = break_and_build(previous_release, f"content/{SLUG}/publication.yaml",
                                "  fr: {status: draft}", "  fr_FR: {status: draft}")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert any(d["check"] == "language-tag" and "fr_FR" in d["message"] for d in diagnostics(result.stderr))


def test_all_problems_are_collected_before_exiting(previous_release):
    path = previous_release / f"content/{SLUG}/brief.md"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("[@ipcc2021]", "[@nobody2001] [@nobody2002]"), encoding="utf-8")
    try:
        result = run(previous_release, "--format", "html")
    finally:
        path.write_text(original, encoding="utf-8")
    keys = {d["message"].split("'")[1] for d in diagnostics(result.stderr) if d["check"] == "citation-key"}
    assert keys == {"@nobody2001", "@nobody2002"}
    assert "2 error(s)" in result.stderr


@pytest.mark.parametrize("args, expected", [
    (["--lang", "klingon"], "unknown language 'klingon'; choose from: ar, en, es, fr, zh-Hans"),
    (["--format", "odt"], "unknown format 'odt'; choose from: html, pdf, epub, docx"),
    (["--publication", "nope"], f"unknown publication 'nope'; choose from: {SLUG}"),
])
def test_unknown_choices_name_the_valid_ones(previous_release, args, expected):
    result = run(previous_release, *args)
    assert result.returncode == 2 and result.stderr.strip() == f"error: {expected}"


def test_missing_font_names_the_debian_package(project, monkeypatch, capsys):
    available = fonts.families_available()
    monkeypatch.setattr(fonts, "families_available", lambda: available - {"Noto Serif CJK SC"})
    assert main(["--lang", "zh-Hans", "--format", "pdf"], project) == 1
    err = capsys.readouterr().err
    assert "font 'Noto Serif CJK SC' is not installed; install the Debian package fonts-noto-cjk" in err
    assert not (project / "dist").exists()


def test_github_annotations(previous_release):
    path = previous_release / f"content/{SLUG}/brief.md"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("[@ipcc2021]", "[@nobody2001]"), encoding="utf-8")
    try:
        env = {**os.environ, "PUBPIPE_IN_VENV": "1", "GITHUB_ACTIONS": "true"}
        result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(previous_release),
                                 "check"], capture_output=True, text=True, env=env, cwd=previous_release)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode == 1
    assert f"::error file=content/{SLUG}/brief.md,line=63,title=citation-key::" in result.stderr


def test_the_command_line_leaves_with_its_output_whole_and_its_status(tmp_path):
    """build.py ends with os._exit after the atexit handlers (cli.leave): what it printed into a pipe (block
    buffered) must all arrive, an atexit handler must still run, and the exit status must be the command's."""
    listing = subprocess.run([sys.executable, str(ROOT / "build.py"), "shards", "--json"], cwd=ROOT,
                             capture_output=True, text=True,
                             env={**os.environ, "PYTHONUNBUFFERED": "", "PUBPIPE_IN_VENV": "1"})
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout)["include"], "the JSON printed into the pipe arrived whole"
    marker = tmp_path / "atexit-ran"
    script = (f"import atexit, sys, pathlib; sys.path.insert(0, {str(ROOT)!r}); "
              f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes'); "
              "from pubpipe.cli import leave, main; print('x' * 100000); leave(main(['--lang', 'klingon']))")
    failed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "", "PUBPIPE_IN_VENV": "1"})
    assert failed.returncode == 2 and "unknown language 'klingon'" in failed.stderr
    assert failed.stdout == "x" * 100000 + "\n" and marker.read_text() == "yes"
