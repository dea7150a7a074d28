"""Parses started ahead (render/pandoc_ast.Prefetch, pipeline.Ahead): the same AST, never a stale guess.

A build starts an edition's pandoc parse before its catalog is checked, guessing that no entry will be
rejected. These tests hold the build to two promises over every publication: a prefetched parse is the
parse (same AST as pandoc run directly), and a guess that a check proves wrong is never used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pypandoc
import pytest

from pubpipe import pipeline
from pubpipe.cli import main
from pubpipe.release import head_start as head_start_module
from pubpipe.render import pandoc_ast
from pubpipe.render.page import edition_ast, notice_markdown
from pubpipe.source.project import Project

from .conftest import ROOT, catalog_file, publication_project


def _direct_only(monkeypatch) -> list:
    """Record every parse that runs pandoc itself (not a prefetched result)."""
    calls = []
    convert = pypandoc.convert_text

    def recording(source, to, *args, **kwargs):
        if to == "json":  # an edition's input: its Markdown and its metadata (the language among them)
            meta = next(a.split("=", 1)[1] for a in kwargs.get("extra_args", []) if a.startswith("--metadata-file="))
            calls.append((source, Path(meta).read_text(encoding="utf-8")))
        return convert(source, to, *args, **kwargs)

    monkeypatch.setattr(pypandoc, "convert_text", recording)
    return calls


def project_of(publication, tmp_path) -> Path:
    root = publication_project(publication, tmp_path)
    assert main(["update"], root) == 0  # catalogs up to date with the sources, as a build expects
    return root


def test_a_prefetched_parse_is_the_parse(publication, tmp_path, monkeypatch):
    root = project_of(publication, tmp_path)
    project = Project(root)
    loaded = pipeline.load(project)
    direct = {edition.tag: edition_ast(project, edition, ui) for edition, ui in loaded.editions}
    prefetch = pandoc_ast.Prefetch(tmp_path / "ahead", limit=len(loaded.editions))  # every one started
    (tmp_path / "ahead").mkdir()
    try:
        for edition, ui in loaded.editions:
            prefetch.start(edition, project.style(edition.publication.citation_style),
                           notice_markdown(project.templates, edition, ui))
        prefetch.finish()  # handed over running: each parse below waits for its own pandoc to exit
        assert len(pandoc_ast.READY) + len(pandoc_ast.RUNNING) == len(loaded.editions)
        calls = _direct_only(monkeypatch)
        for edition, ui in loaded.editions:
            assert edition_ast(project, edition, ui) == direct[edition.tag], edition.tag
        assert calls == [], "every parse should have come from the prefetched results"
    finally:
        prefetch.close()
    assert pandoc_ast.READY == {} and pandoc_ast.RUNNING == {}


def test_a_build_uses_its_guesses_and_leaves_nothing_behind(publication, tmp_path, monkeypatch):
    root = project_of(publication, tmp_path)
    calls = _direct_only(monkeypatch)
    monkeypatch.setenv("PUBPIPE_JOBS", "2")
    monkeypatch.setattr(pipeline.graph, "fork_is_safe", lambda: False)  # in this process: the calls are seen
    made, real = [], pipeline.tempfile.TemporaryDirectory  # this build's folders, not another process's

    class Recorded(real):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(Path(self.name))

    monkeypatch.setattr(pipeline.tempfile, "TemporaryDirectory", Recorded)
    pipeline.build(Project(root), formats=["html"])
    monkeypatch.setattr(pipeline.tempfile, "TemporaryDirectory", real)
    editions = pipeline.load(Project(root)).editions
    # guesses run while the catalogs are checked, as many at once as cores; those not started when the workers
    # start are dropped (those editions are parsed by pandoc as usual, once)
    assert len(calls) < len(editions), "no parse came from a guess"
    assert len(set(calls)) == len(calls), "an edition was parsed twice"
    assert pandoc_ast.READY == {}
    assert any(folder.name.startswith("pubpipe-ahead-") for folder in made), "the parses ahead had no folder"
    assert not [folder for folder in made if folder.exists()], "a temporary folder of the build was left"


def test_a_wrong_guess_is_parsed_again(tmp_path, monkeypatch):
    """A French entry that a check rejects (a hand-typed name, an error) falls back to English: the parse
    started before the check (with the translation) must not be the one the page is made from."""
    from .conftest import PUBLICATIONS

    known = next(p for p in PUBLICATIONS if p.slug == "outgrowing-offsetting")
    root = publication_project(known, tmp_path)
    path = catalog_file(root, "fr")
    text = path.read_text(encoding="utf-8")
    marker = "ZZ-INJECTED-RAW <b>bold</b>"
    at = text.index('msgstr "', text.index('msgid "', text.index('msgid ""') + 1))
    end = text.index("\n", at)
    path.write_text(text[:at] + f'msgstr "{marker}"' + text[end:], encoding="utf-8")
    calls = _direct_only(monkeypatch)
    monkeypatch.setenv("PUBPIPE_JOBS", "2")
    monkeypatch.setattr(pipeline.graph, "fork_is_safe", lambda: False)
    pipeline.build(Project(root), langs=["fr"], formats=["html"])
    page = (root / "dist" / known.slug / "fr" / "index.html").read_text(encoding="utf-8")
    assert "ZZ-INJECTED-RAW" not in page  # rejected [no-raw-markup]: the English text stands in
    assert len(calls) == 1, "the guessed parse (with the rejected entry) must be parsed again"


def test_a_guess_a_check_proves_wrong_is_dropped(tmp_path, monkeypatch):
    """Its parse is stopped (or never started): its result could never be taken, so it only took a core."""
    from .conftest import PUBLICATIONS

    known = next(p for p in PUBLICATIONS if p.slug == "outgrowing-offsetting")
    root = publication_project(known, tmp_path)
    path = catalog_file(root, "fr")
    text = path.read_text(encoding="utf-8")
    at = text.index('msgstr "', text.index('msgid "', text.index('msgid ""') + 1))
    path.write_text(text[:at] + 'msgstr "ZZ <b>bold</b>"' + text[text.index("\n", at):], encoding="utf-8")
    monkeypatch.setenv("PUBPIPE_JOBS", "2")
    dropped, real_drop = [], pandoc_ast.Prefetch.drop
    monkeypatch.setattr(pandoc_ast.Prefetch, "drop", lambda self, key: (dropped.append(key), real_drop(self, key)))
    with pipeline.parses_ahead(Project(root)) as ahead:
        started = {}
        real_guess = ahead.guess

        def guess(project, publication, spec, *rest):
            real_guess(project, publication, spec, *rest)
            started[spec.language.tag] = ahead.keys.get((publication.slug, spec.language.tag))

        monkeypatch.setattr(ahead, "guess", guess)
        pipeline.load(Project(root), langs=["en", "fr"], ahead=ahead)
        assert started["fr"] is not None, "the French guess should have been started"
        assert dropped == [started["fr"]], "only the French guess (an entry rejected) should be dropped"
        prefetch = ahead.prefetch
        assert started["fr"] not in prefetch.running and started["fr"] not in pandoc_ast.READY
        assert all(key != started["fr"] for key, _command, _output in prefetch.waiting)


@pytest.mark.parametrize("content", ["[]", "{\"publications\": 3}", "not json"])
def test_an_odd_previous_manifest_only_means_no_guess_is_skipped(content, tmp_path, monkeypatch):
    from .conftest import PUBLICATIONS

    known = next(p for p in PUBLICATIONS if p.slug == "outgrowing-offsetting")
    root = publication_project(known, tmp_path)
    (root / "dist").mkdir()
    (root / "dist" / "manifest.json").write_text(content, encoding="utf-8")
    monkeypatch.setenv("PUBPIPE_JOBS", "2")  # parses ahead need a second core: never None here
    with pipeline.parses_ahead(Project(root)) as ahead:
        assert ahead is not None
        assert ahead is None or ahead.previous == {}


def test_check_takes_every_parse_from_its_prefetch(publication, tmp_path, monkeypatch):
    """check --artifacts starts each edition's parse ahead, while it reads artifacts back: pandoc is never run
    for a parse directly (that would be the one-after-another path), and the artifacts still pass."""
    root = project_of(publication, tmp_path)
    assert main(["--quiet"], root) == 0
    calls = _direct_only(monkeypatch)
    problems = pipeline.run_checks(Project(root), artifacts="required")
    assert [p for p in problems if p.severity == "error"] == []
    assert calls == [], "a parse ran pandoc itself instead of taking its prefetched result"
    assert pandoc_ast.READY == {} and pandoc_ast.RUNNING == {}


HEAD_START = """
import json, sys
from pathlib import Path

from pubpipe.release import head_start

root, args = Path(sys.argv[1]).resolve(), json.loads(sys.argv[2])
head_start.begin(root, args)  # what build.py does, before it imports the pipeline
assert len(head_start._BEGUN) == 1, "no head start begun"
begun = head_start._BEGUN[0]

from pubpipe import pipeline
from pubpipe.render import pandoc_ast
from pubpipe.render.page import edition_ast, guessed_parse
from pubpipe.source.project import Project

asked = head_start.selection(args)
project = Project(root)
loaded = pipeline.load(project, asked["langs"] or None, asked["slugs"] or None)
edition, ui = loaded.editions[0]  # the first the build guesses
_markdown, _metadata, key = pandoc_ast.parse_input(edition, *guessed_parse(project, edition))
assert head_start.claim(key) is begun, (begun.key, key)
assert head_start.claim(key) is None, "taken twice"
assert begun.wait() == 0, begun.returncode
pandoc_ast.READY[key] = begun.output
taken = edition_ast(project, edition, ui)
pandoc_ast.READY.clear()
assert taken == edition_ast(project, edition, ui), "the head start's parse is not the build's"
head_start.end_all()
assert not begun.folder.exists(), "its folder was left"
print("taken", edition.publication.slug, edition.tag)
"""


def head_start(root: Path, args: list[str]) -> str:
    result = subprocess.run([sys.executable, "-c", HEAD_START, str(root), json.dumps(args)], capture_output=True,
                            text=True, cwd=ROOT, env={**os.environ, "PUBPIPE_JOBS": "2"})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_head_start_is_the_parse(publication, tmp_path):
    """The parse a first build's forked child begins before the imports (release/head_start.py) has the key
    of the build's own parse of its first edition, after every check, and is that parse: for a full build
    (the source edition), and for a CI shard of another edition (its catalog read by the child)."""
    root = project_of(publication, tmp_path)
    assert head_start(root, ["-q"]) == f"taken {publication.slug} {publication_source(root, publication)}"
    languages = declared_languages(root, publication)
    shard = ["--publication", publication.slug, "--lang", languages[-1], "--strict", "--dist", str(tmp_path / "s")]
    assert head_start(root, shard) == f"taken {publication.slug} {languages[-1]}"


def publication_source(root: Path, publication) -> str:
    import yaml

    return yaml.safe_load((root / "content" / publication.slug / "publication.yaml").read_text())["source_language"]


def declared_languages(root: Path, publication) -> list[str]:
    import yaml

    return list(yaml.safe_load((root / "content" / publication.slug / "publication.yaml").read_text())["languages"])


def test_a_stuck_head_start_is_not_waited_for(tmp_path):
    """A child that never names its parse (here it sleeps) costs the build at most WAIT seconds: it is
    stopped, its process group killed, its folder removed, and the build parses alone."""
    code = ("import sys, time; from pathlib import Path; from pubpipe.release import head_start; "
            "head_start._parse_first_edition = lambda *args: time.sleep(60); head_start.WAIT = 0.5; "
            "head_start.begin(Path(sys.argv[1]), []); begun = head_start._BEGUN[0]; started = time.monotonic(); "
            "print(head_start.claim('x'), repr(begun.key), 0.5 <= time.monotonic() - started < 5, begun.wait()); "
            "head_start.end_all(); print(begun.folder.exists())")
    from .conftest import PUBLICATIONS

    root = publication_project(PUBLICATIONS[0], tmp_path)
    result = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PUBPIPE_JOBS": "2"}, timeout=30)
    assert result.stdout.split() == ["None", "''", "True", "-9", "False"], result.stdout + result.stderr


@pytest.mark.parametrize(("argv", "asked"), [
    (["-q"], {"slugs": [], "langs": []}),
    (["build", "--lang", "fr,ar", "--format=html", "--lang=es"], {"slugs": [], "langs": ["fr", "ar", "es"]}),
    (["--publication", "a", "--lang", "sw", "--strict", "--dist", "out"], {"slugs": ["a"], "langs": ["sw"]}),
    (["check"], None), (["release"], None), (["update"], None), (["--lang"], None), (["--pub", "a"], None),
    (["-h"], None), (["build", "extra"], None),
])
def test_a_head_start_begins_for_build_commands_only(argv, asked):
    found = head_start_module.selection(argv)
    assert (found and {key: found[key] for key in ("slugs", "langs")}) == asked
    if "--dist" in argv:
        assert found["dist"] == Path("out").resolve()


def test_a_head_start_never_reads_a_style_outside_templates(tmp_path):
    """Its child reads publication.yaml before the schema check: a citation_style that leaves templates/csl/
    starts no parse; the build then refuses the style, once, with its own diagnostic."""
    from .conftest import PUBLICATIONS

    known = next(p for p in PUBLICATIONS if p.slug == "outgrowing-offsetting")
    root = publication_project(known, tmp_path / "project")
    meta = root / "content" / known.slug / "publication.yaml"
    outside = tmp_path / "outside.csl"
    outside.write_text((root / "templates" / "csl" / "iyrp-author-date.csl").read_text(encoding="utf-8"))
    meta.write_text(meta.read_text(encoding="utf-8") + "citation_style: ../../../outside\n", encoding="utf-8")
    code = ("import sys; from pathlib import Path; from pubpipe.release import head_start; "
            "head_start.begin(Path(sys.argv[1]), []); begun = head_start._BEGUN[0]; "
            "print(head_start.claim('x'), repr(begun.key), begun.wait())")
    result = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PUBPIPE_JOBS": "2"})
    assert result.stdout.split() == ["None", "''", "1"], result.stdout + result.stderr


def test_a_first_build_with_a_head_start_is_the_same_build(tmp_path):
    """build.py with nothing in dist/ (a head start) and with PUBPIPE_JOBS=1 (none): the same files, byte for
    byte; no temporary folder is left, and a broken first build prints its diagnostics only."""
    from .conftest import PUBLICATIONS

    known = next(p for p in PUBLICATIONS if p.slug == "outgrowing-offsetting")
    sums = {}
    for jobs in ("2", "1"):
        root = project_of(known, tmp_path / jobs)
        temporary = tmp_path / f"tmp{jobs}"
        temporary.mkdir()
        env = {**os.environ, "PUBPIPE_IN_VENV": "1", "PUBPIPE_JOBS": jobs, "TMPDIR": str(temporary),
               "SOURCE_DATE_EPOCH": "1772323200"}
        result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(root), "-q"],
                                capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr
        sums[jobs] = (root / "dist" / "SHA256SUMS").read_text(encoding="utf-8")
        assert list(temporary.iterdir()) == [], "a temporary folder was left"
    assert sums["2"] == sums["1"]
    root = tmp_path / "2"
    shutil.rmtree(root / "dist")
    meta = root / "content" / known.slug / "publication.yaml"
    meta.write_text(meta.read_text(encoding="utf-8") + "title: [unclosed\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(root)], capture_output=True,
                            text=True, cwd=root, env={**os.environ, "PUBPIPE_IN_VENV": "1", "PUBPIPE_JOBS": "2",
                                            "TMPDIR": str(tmp_path / "tmp2")})
    assert result.returncode == 1 and result.stdout == "", result.stdout
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1 and errors[0].startswith(f"content/{known.slug}/publication.yaml:") \
        and errors[0].endswith("[yaml-syntax]"), result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert list((tmp_path / "tmp2").iterdir()) == [], "a temporary folder was left"
