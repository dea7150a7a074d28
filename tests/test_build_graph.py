"""The build graph: what a rebuild converts, and that caching and parallelism never change a byte.

What was built and what came from the cache is observed through the build's
progress events (the summary table's rows), never through timing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pubpipe.pipeline import Project, build

from .conftest import PUBLICATIONS, ROOT, SLUG, catalog_file, copy_project, publication_project

FORMATS = {"html", "pdf", "epub", "docx"}


def built(root: Path, **options) -> tuple[set[tuple[str, str]], set[tuple[str, str]], list[dict]]:
    """Build in this process; the (edition, format) pairs built and those taken from the cache, and the events."""
    events: list[dict] = []
    build(Project(root), progress=events.append, **options)
    done = [e for e in events if e["kind"] == "done"]
    return ({(e["edition"], e["format"]) for e in done if not e["cached"]},
            {(e["edition"], e["format"]) for e in done if e["cached"]}, events)


def dist_bytes(root: Path) -> dict[str, bytes]:
    dist = root / "dist"
    return {p.relative_to(dist).as_posix(): p.read_bytes() for p in sorted(dist.rglob("*")) if p.is_file()}


def assert_same_files(a: Path, b: Path) -> None:
    first, second = dist_bytes(a), dist_bytes(b)
    assert sorted(first) == sorted(second)
    differ = [name for name in first if first[name] != second[name]]
    assert not differ, f"files that differ: {differ}"


def edit_catalog(root: Path, lang: str, note: str) -> None:
    path = catalog_file(root, lang.replace("-", "_") if lang == "zh-Hans" else lang)
    text = path.read_text(encoding="utf-8")
    at = text.index('\nmsgid "', text.index('msgid ""') + 1)
    path.write_text(text[:at] + f"\n# {note}" + text[at:], encoding="utf-8")


@pytest.fixture(scope="module")
def warm(tmp_path_factory) -> Path:
    """The IYRP project built once: its cache is warm."""
    root = copy_project(tmp_path_factory.mktemp("warm"))
    made, cached, _ = built(root)
    assert len(made) == 20 and not cached
    return root


def test_each_row_of_the_summary_names_its_artifact_and_its_size(tmp_path):
    """The page is written after the citation files it links: its row gave the .bib's path and size (781 B for
    a 57 KB page). Each event, built or from the cache, names the artifact itself, with its size in dist/."""
    root = copy_project(tmp_path)
    for _ in ("built", "cached"):
        *_made, events = built(root, langs=["fr"])
        done = [e for e in events if e["kind"] == "done"]
        assert {e["format"] for e in done} == FORMATS
        for event in done:
            path = root / "dist" / event["path"]
            assert path.name == ("index.html" if event["format"] == "html" else f"{SLUG}.fr.{event['format']}")
            assert event["bytes"] == path.stat().st_size


def test_a_no_op_rebuild_converts_nothing(warm):
    before = dist_bytes(warm)
    made, cached, _ = built(warm)
    assert made == set()
    assert {fmt for _lang, fmt in cached} == FORMATS and len(cached) == 20
    assert dist_bytes(warm) == before


def test_the_no_op_command_answers_from_its_record(warm):
    """build.py, run twice as a user runs it: the second run loads nothing and says so."""
    env = {**os.environ, "PUBPIPE_IN_VENV": "1"}
    command = [sys.executable, str(ROOT / "build.py"), "--project", str(warm)]
    subprocess.run(command + ["-q"], check=True, env=env, capture_output=True)
    before = dist_bytes(warm)
    second = subprocess.run(command, check=True, env=env, capture_output=True, text=True)
    assert "nothing changed since the last build" in second.stdout
    assert "0 built, 20 from the cache" in second.stdout
    assert dist_bytes(warm) == before
    (warm / "dist" / SLUG / "fr" / "index.html").write_text("tampered", encoding="utf-8")  # dist/ no longer matches
    third = subprocess.run(command, check=True, env=env, capture_output=True, text=True)
    assert "nothing changed" not in third.stdout
    assert dist_bytes(warm) == before  # the page came back from the cache


def test_editing_one_catalog_rebuilds_exactly_that_edition(warm):
    edit_catalog(warm, "fr", "a translator's note")
    made, cached, _ = built(warm)
    assert made == {("fr", fmt) for fmt in FORMATS}
    assert len(cached) == 16 and all(lang != "fr" for lang, _fmt in cached)


def test_editing_the_typst_template_rebuilds_only_pdfs(warm):
    template = warm / "templates" / "brief.typ.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\n// a comment of the typesetter\n",
                        encoding="utf-8")
    made, _cached, _ = built(warm)
    assert made and {fmt for _lang, fmt in made} == {"pdf"}
    assert {lang for lang, _fmt in made} == {"en", "zh-Hans", "fr", "es", "ar"}


def test_editing_the_page_template_rebuilds_only_pages(warm):
    template = warm / "templates" / "page.html.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\n{# a comment of the designer #}\n",
                        encoding="utf-8")
    made, _cached, _ = built(warm)
    assert made == {(lang, "html") for lang in ("en", "zh-Hans", "fr", "es", "ar")}


def test_a_corrupt_cache_entry_is_rebuilt_never_published(warm):
    made, _cached, _ = built(warm)
    assert not made
    good = dist_bytes(warm)
    # the artifact's current cache entry, the newest (the manifest's 'inputs' is a content digest, not the key)
    pdf = max((warm / "build" / "cache" / "artifacts").glob(f"*/*/{SLUG}.es.pdf"), key=lambda p: p.stat().st_mtime_ns)
    pdf.write_bytes(pdf.read_bytes()[:-100] + b"x" * 100)  # same size, other bytes
    made, _cached, events = built(warm)
    assert made == {("es", "pdf")}
    assert any(e["kind"] == "note" and e["edition"] == "es" and "corrupt" in e["note"] for e in events)
    assert dist_bytes(warm) == good


def test_the_cache_survives_a_partial_build(warm):
    built(warm)
    edit_catalog(warm, "es", "a partial build follows")
    made, cached, _ = built(warm, langs=["es"])
    assert made == {("es", fmt) for fmt in FORMATS} and not cached
    made, cached, _ = built(warm)  # the full build after it: every edition from the cache
    assert not made and len(cached) == 20
    manifest = json.loads((warm / "dist" / "manifest.json").read_text(encoding="utf-8"))
    assert [e["lang"] for e in manifest["publications"][0]["editions"]] == ["en", "zh-Hans", "fr", "es", "ar"]


def test_a_cached_build_gives_the_bytes_of_a_cold_one(warm, tmp_path):
    """The warm project, after the edits above, against a copy of its sources built from nothing."""
    built(warm)
    cold = tmp_path / "cold"
    for name in ("content", "templates", "locales"):
        shutil.copytree(warm / name, cold / name)
    made, cached, _ = built(cold)
    assert len(made) == 20 and not cached
    assert_same_files(warm, cold)


SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from pubpipe.pipeline import Project, build
events = []
build(Project(Path({project!r})), progress=events.append)
print(json.dumps(sorted({{e["worker"] for e in events if e["kind"] == "done"}})))
"""


def build_in_process_of_its_own(project: Path, jobs: int) -> list[int]:
    """A fresh process (so forking is safe), with PUBPIPE_JOBS; the process ids that built the artifacts."""
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(root=str(ROOT), project=str(project))],
                          env={**os.environ, "PUBPIPE_JOBS": str(jobs)}, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("known", [p for p in PUBLICATIONS if p.slug in (SLUG, "field-note")],
                         ids=lambda p: p.slug)
def test_parallel_and_serial_builds_are_byte_identical(known, tmp_path):
    serial, parallel = (publication_project(known, tmp_path / name) for name in ("serial", "parallel"))
    assert len(build_in_process_of_its_own(serial, 1)) == 1
    assert len(build_in_process_of_its_own(parallel, 2)) == 2  # two workers did the work
    assert_same_files(serial, parallel)


def test_the_page_waits_for_the_pdf_file_not_for_its_verification():
    """The PDF's read-back runs beside the page that lists it: the page needs the file (its size), and a PDF
    that fails its verification still refuses the build (gather collects every problem)."""
    from types import SimpleNamespace

    from pubpipe import pipeline

    job = SimpleNamespace(todo=["pdf", "epub", "docx", "html"],
                          edition=SimpleNamespace(language=SimpleNamespace(direction="ltr")))
    tasks, plan = pipeline.build_tasks(Project(ROOT), [job], ROOT, ROOT, 0, None)
    names = [task.work.func.__name__ for task in tasks]
    index = {name: names.index(name) for name in names}
    page = tasks[index["build_formats"]]
    verify = index["verify_artifact"]
    assert verify not in page.after and index["render_artifact"] in page.after
    assert tasks[verify].after == (index["parse_edition"], index["render_artifact"])
    assert verify in plan[id(job)]  # its problems reach the build's verdict
    assert sorted(names) == sorted(["parse_edition", "render_artifact", "verify_artifact", "build_format",
                                    "build_format", "build_formats"])


RANKED = """
import json, sys, time
sys.path.insert(0, {root!r})
from pubpipe.release import graph

def work(name, seconds, emit, *_inputs):
    emit({{"name": name, "at": time.perf_counter()}})
    time.sleep(seconds)
    return name

events = []
tasks = [graph.Task(lambda emit: work("first", 0.3, emit), rank=0),
         *[graph.Task(lambda emit, n=n: work(f"short{{n}}", 0.1, emit), rank=5) for n in range(6)],
         graph.Task(lambda emit, *inputs: work("long", 0.05, emit), after=(0,), rank=1)]
assert graph.run(tasks, 2, events.append)[-1] == "long"
print(json.dumps([e["name"] for e in sorted(events, key=lambda e: e["at"])]))
"""


def test_a_free_worker_takes_the_ready_task_of_lowest_rank():
    """A long task that comes ready late goes before the short ones that were ready from the start: tasks are
    handed out as workers come free, by rank, not queued as they come ready (then it ran last, alone); it
    waits behind at most the one task queued ahead."""
    done = subprocess.run([sys.executable, "-c", RANKED.format(root=str(ROOT))], check=True, capture_output=True,
                          text=True, env={**os.environ, "PUBPIPE_JOBS": "2"})
    order = json.loads(done.stdout.strip().splitlines()[-1])
    assert order[:2] == ["first", "short0"]
    long = order.index("long")  # as soon as "first" let it, behind the one short task queued ahead
    assert long < order.index("short5") and long <= order.index("short3") + 1, order


def test_a_parse_crosses_between_processes_as_one_file(tmp_path):
    """A parse's result goes to each format task of its edition through the main process: the AST (150 kB
    per edition) is written once to the scratch folder, the pipes carry its path, and a worker reads it once
    however many of its tasks use it."""
    import pickle

    from pubpipe import pipeline

    ast = {"blocks": [{"t": "Para", "c": [{"t": "Str", "c": f"word{i}"} for i in range(3000)]}], "meta": {}}
    spill = tmp_path / "parsed-x-fr.pickle"
    parsed = pipeline.Parsed(ast, "expected", {"title": "T"}, {"citation": "C"}, str(spill))
    sent = pickle.dumps(parsed)
    assert spill.is_file() and len(sent) < 1000 < spill.stat().st_size
    written = spill.stat().st_mtime_ns, spill.stat().st_ino
    assert pickle.dumps(parsed) == sent and (spill.stat().st_mtime_ns, spill.stat().st_ino) == written
    received = [pickle.loads(pickle.dumps(pickle.loads(sent))) for _ in range(3)]  # main passes it on
    assert all(r.meta == {"citation": "C"} for r in received)
    pipeline._read_spill.cache_clear()
    assert [(r.ast, r.expected, r.context) for r in received] == [(ast, "expected", {"title": "T"})] * 3
    assert pipeline._read_spill.cache_info().misses == 1  # one reading of the file for the three tasks
    assert received[0].ast is received[2].ast
    plain = pipeline.Parsed(ast, "expected", {}, {})  # no spill (a serial build never pickles): as it is
    assert pickle.loads(pickle.dumps(plain)) == plain
