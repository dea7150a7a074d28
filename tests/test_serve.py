"""`build.py serve`: the translators' live preview.

In headless chromium: a saved catalog entry shows in the open page without navigating, each block links to its
catalog entry (file:line, opened read-only at that line), a check error shows in the page's banner, a broken
catalog keeps the server up, and Ctrl-C ends it cleanly. Without a browser: every segment of every publication
gets its link, the preview reads exactly like the release page, the release page carries none of it, the banner
holds what `check` reports, and the server serves nothing outside its folder and the catalogs.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from lxml import html as lxml_html

from pubpipe import pipeline
from pubpipe.cli import main
from pubpipe.serve import STRING_PLACES, Preview, PreviewServer, source_of
from pubpipe.source.project import Project
from pubpipe.source.segments import Slot
from pubpipe.translate.catalogs import parse_po, segment_msgid

from .conftest import ROOT, SLUG, copy_project, publication_project

DRIVER = ROOT / "tests" / "serve_driver.mjs"
NODE_MODULES = ROOT / "tools" / "referees" / "node_modules"
CHROMIUM = Path(os.environ.get("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium"))
PREVIEW_TRACES = ("data-src", "pp-src", "pp-banner", "pp-seg", "EventSource", "_preview", "pps-")


def browser_or_skip_reason() -> tuple[str | None, str]:
    """The node binary, and what is missing for the browser test ('' when nothing)."""
    node = shutil.which("node")
    missing = [what for what, ok in (("node", node), (str(CHROMIUM), CHROMIUM.exists()),
                                     (str(NODE_MODULES / "puppeteer-core"), (NODE_MODULES / "puppeteer-core").is_dir()))
               if not ok]
    return node, f"the browser test needs {', '.join(missing)} (build.py test installs them)" if missing else ""


def browser_or_skip() -> str:
    """The node binary; a skip naming what is missing (a failure when CI is set: CI must run this test)."""
    node, missing = browser_or_skip_reason()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return node


class Served:
    """A `build.py serve` process; its output lines are collected as they come."""

    def __init__(self, root: Path, *args: str):
        env = {**os.environ, "PUBPIPE_IN_VENV": "1"}
        self.process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--project", str(root), "serve",
                                         *args, "--port", "0"], cwd=root, env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out: list[str] = []
        self.err: list[str] = []
        self.lines: queue.Queue[str] = queue.Queue()
        for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._collect, args=(stream, into), daemon=True).start()
        self.url = self._wait_for_url()

    def _collect(self, stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)
            self.lines.put(line)

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            found = re.search(r"serving .* at (http://127\.0\.0\.1:\d+/)", line)
            if found:
                return found.group(1)
        self.process.kill()
        raise AssertionError(f"serve did not start:\n{''.join(self.out)}{''.join(self.err)}")

    def interrupt(self) -> int:
        """Ctrl-C, as a terminal sends it."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@contextmanager
def serving(root: Path, *args: str):
    served = Served(root, *args)
    try:
        yield served
    finally:
        if served.process.poll() is None:
            served.interrupt()


def entry_line(catalog: Path, msgid_text: str) -> int:
    """The line of an entry's msgid, as Babel (and so the pipeline) reads it."""
    message = parse_po(catalog.read_text(encoding="utf-8")).get(segment_msgid(msgid_text))
    return message.lineno


def msgstr_block(text: str, msgid_line: int) -> tuple[int, int]:
    """(start, end) offsets of the msgstr lines of the entry whose msgid is at `msgid_line`."""
    lines = text.split("\n")
    start = next(n for n in range(msgid_line - 1, len(lines)) if lines[n].startswith("msgstr"))
    end = start + 1
    while end < len(lines) and lines[end].startswith('"'):
        end += 1
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    return offsets[start], offsets[end] - 1


def with_msgstr(text: str, msgid_line: int, new: str) -> str:
    start, end = msgstr_block(text, msgid_line)
    return text[:start] + "msgstr " + json.dumps(new, ensure_ascii=False) + text[end:]


def test_a_saved_entry_reloads_the_page_with_its_link_and_check_errors(tmp_path):
    """Real chromium: save, see; the catalog link of a block; a check error and a broken catalog in the banner."""
    node = browser_or_skip()
    root = copy_project(tmp_path / "project")
    catalog = root / "locales" / "fr" / "LC_MESSAGES" / f"{SLUG}.po"
    relative = catalog.relative_to(root).as_posix()
    original = catalog.read_text(encoding="utf-8")
    messages = [m for m in parse_po(original) if m.id and m.string and not m.fuzzy]
    heading = next(m for m in messages if m.id.startswith("# "))
    cited = next(m for m in messages if "[@" in m.string)
    edited = with_msgstr(original, heading.lineno, heading.string + " modifié en direct")
    wrong_key = with_msgstr(edited, cited.lineno, cited.string.replace("[@", "[@nokey", 1))
    broken = wrong_key.replace(f'msgstr "{heading.string[:12]}', f'msgstr {heading.string[:12]}', 1)
    assert broken != wrong_key
    steps = [
        {"path": str(catalog), "text": edited, "expect": heading.string[2:] + " modifié en direct"},
        {"path": str(catalog), "text": wrong_key, "expect": heading.string[2:] + " modifié en direct",
         "banner": f"{relative}:{cited.lineno}: error:"},
        {"path": str(catalog), "text": broken, "expect": "", "banner": "[po-syntax]"},
        {"path": str(catalog), "text": original, "expect": heading.string[2:], "not_banner": relative},
    ]
    with serving(root, "--lang", "fr") as served:
        job, result_file = tmp_path / "job.json", tmp_path / "result.json"
        job.write_text(json.dumps({"url": served.url, "steps": steps, "open_first_link": True}), encoding="utf-8")
        run = subprocess.run([node, str(DRIVER), str(job), str(result_file)], capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stderr
        result = json.loads(result_file.read_text(encoding="utf-8"))
        assert "error" not in result, result["error"]
        code = served.interrupt()
    stderr = "".join(served.err)
    assert code == 0 and "Traceback" not in stderr, stderr
    assert "stopped" in "".join(served.out)
    print("\nsave-to-reload in chromium (ms): " + ", ".join(f"{s['ms']:.0f}" for s in result["steps"]))
    print("".join(line for line in served.out if "built" in line))

    assert result["url_after"] == served.url  # the page reloaded itself: nothing navigated
    # the block of the heading names its catalog entry, and its link opens the catalog at that line
    first = result["initial"]["blocks"][0]
    blocks = {b["text"]: b for b in result["initial"]["blocks"]}
    block = blocks[heading.string[2:]]
    assert block["src"] == block["link"] == f"{relative}:{heading.lineno}"
    assert block["href"] == f"/_preview/source/{relative}#L{heading.lineno}"
    assert result["viewer"]["target"] == f"L{first['src'].rsplit(':', 1)[1]}"
    assert re.sub(r"^\d+", "", result["viewer"]["text"]).startswith("msgid ")  # the line number, then the line
    assert relative not in result["initial"]["banner"]  # the catalog as committed has no problem
    # the save shows, the wrong citation key is an error in the banner (and on the terminal), then a broken catalog
    assert heading.string[2:] + " modifié en direct" in [b["text"] for b in result["steps"][0]["blocks"]]
    keys = result["steps"][1]["banner"]
    assert f"{relative}:{cited.lineno}: error:" in keys and "[citation-keys]" in keys
    assert f"{relative}:{cited.lineno}: error:" in stderr
    assert result["steps"][2]["blocks"], "a broken catalog still shows the page (in the source language)"
    assert "[po-syntax]" in result["steps"][2]["banner"]
    assert relative not in result["steps"][3]["banner"]


@pytest.fixture()
def preview_project(publication, tmp_path):
    root = publication_project(publication, tmp_path / publication.slug)
    assert main(["update"], root) == 0
    return publication, root


def body_text(page: str) -> str:
    """The text of <main>, without the preview's links: what a reader reads."""
    tree = lxml_html.fromstring(page)
    for link in tree.xpath("//*[contains(concat(' ', @class, ' '), ' pp-src ')]"):
        link.drop_tree()
    return " ".join(tree.xpath("//main")[0].text_content().split())


def test_every_segment_links_to_its_entry_and_the_release_has_no_preview_marks(preview_project):
    """Every publication, its source language and each translation: one link per block to the right file:line;
    the preview reads word for word like the release page; the release page carries nothing of the preview."""
    known, root = preview_project
    project = Project(root)
    loaded = pipeline.load(project, None, [known.slug])
    langs = [edition.tag for edition, _ui in loaded.editions]
    assert main(["--format", "html", "--quiet", "--publication", known.slug], root) == 0
    for (edition, _ui), lang in zip(loaded.editions, langs, strict=True):
        preview = Preview(project, known.slug, lang, tmp := root / "build" / "preview" / lang)
        build = preview.rebuild()
        assert build.ok, build.diagnostics
        page = (tmp / "index.html").read_text(encoding="utf-8")
        found = re.findall(r'data-src="([^"]+)"', page)
        slots = [p for p in edition.publication.document.pieces if isinstance(p, Slot)]
        expected = [source_of(project, edition, slot.segment) for slot in slots if slot.segment.kind != "alt"]
        strings = edition.publication.strings  # the title block and back matter: title, subtitle, byline, ...
        expected += [source_of(project, edition, strings[key]) for key in STRING_PLACES if key in strings]
        assert set(found) == {f"{s.path}:{s.line}" for s in expected}, lang  # a definition marks term and text
        for source in expected:
            if edition.is_source:
                assert source.path in (f"content/{known.slug}/brief.md", f"content/{known.slug}/publication.yaml")
            elif source.state != "missing":
                assert source.path == f"locales/{edition.language.catalog_dir}/LC_MESSAGES/{known.slug}.po"
                assert entry_line(root / source.path, next(
                    s.text for s in [slot.segment for slot in slots] + list(strings.values())
                    if source_of(project, edition, s) == source)) == source.line
        release = (root / "dist" / known.slug / lang / "index.html").read_text(encoding="utf-8")
        assert body_text(page) == body_text(release), lang
        for trace in PREVIEW_TRACES:
            assert trace not in release, (lang, trace)


def test_the_banner_holds_what_check_reports(tmp_path):
    """The page's diagnostics are those of `check --sources` for the edition, clean or not."""
    root = copy_project(tmp_path)
    project = Project(root)
    catalog = root / "locales" / "es" / "LC_MESSAGES" / f"{SLUG}.po"
    text = catalog.read_text(encoding="utf-8")
    preview = Preview(project, SLUG, "es")
    for step in range(2):
        build = preview.rebuild()
        expected = pipeline.run_checks(project, ["es"], artifacts="skip", slugs=[SLUG])
        assert build.diagnostics == expected
        page = (preview.folder / "index.html").read_text(encoding="utf-8")
        for diagnostic in expected:
            assert html.escape(str(diagnostic)) in page
        if step == 0:
            message = next(m for m in parse_po(text) if m.string and "[@" in m.string)
            catalog.write_text(with_msgstr(text, message.lineno, message.string.replace("[@", "[@x", 1)),
                               encoding="utf-8")
    assert any(d.check == "citation-keys" for d in build.diagnostics)


def test_a_broken_catalog_keeps_the_page_and_shows_the_errors(tmp_path):
    root = copy_project(tmp_path)
    preview = Preview(Project(root), SLUG, "ar")
    assert preview.rebuild().ok
    catalog = root / "locales" / "ar" / "LC_MESSAGES" / f"{SLUG}.po"
    catalog.write_text(catalog.read_text(encoding="utf-8").replace('msgstr "', 'msgstr ', 1), encoding="utf-8")
    build = preview.rebuild()
    assert any(d.check == "po-syntax" for d in build.diagnostics)
    page = (preview.folder / "index.html").read_text(encoding="utf-8")
    assert "[po-syntax]" in page and 'dir="rtl"' in page
    (root / "content" / SLUG / "publication.yaml").write_text("slug: [", encoding="utf-8")
    build = preview.rebuild()
    assert not build.ok and build.diagnostics and build.generation == 3
    page = (preview.folder / "index.html").read_text(encoding="utf-8")
    assert "data-src" in page, "the last good page stays, with the new errors"
    assert "publication.yaml" in page.split('id="pp-banner"')[1].split("</div>")[0]


@pytest.fixture()
def server(tmp_path):
    root = copy_project(tmp_path)
    (root / "locales" / "fr" / "LC_MESSAGES" / "escape.po").symlink_to("/etc/passwd")
    preview = Preview(Project(root), SLUG, "fr")
    preview.rebuild()
    server = PreviewServer(0, preview)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        preview.stop()
        server.shutdown()
        server.server_close()


def get(server: PreviewServer, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(*server.server_address, timeout=10)
    connection.request("GET", path)  # sent as written: no client-side normalization of '..'
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def test_the_server_listens_on_localhost_and_serves_nothing_outside_its_folder(server):
    assert server.server_address[0] == "127.0.0.1"
    assert get(server, "/")[0] == 200 and get(server, "/index.html")[0] == 200
    assert get(server, f"/{SLUG}.fr.bib")[0] == 200
    catalog = "/_preview/source/locales/fr/LC_MESSAGES/outgrowing-offsetting.po"
    status, body = get(server, catalog)
    assert status == 200 and b'id="L1"' in body and b"(read-only)" in body
    for path in ["/../../etc/passwd", "/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/%252e%252e/%252e%252e/etc/passwd", "/..\\..\\etc\\passwd", "/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
                 "/.index.html.tmp", "/index.html%00.png", "/../../../../../../../../etc/passwd",
                 "/_preview/source/../../etc/passwd", "/_preview/source/%2e%2e/%2e%2e/etc/passwd",
                 "/_preview/source/locales/fr/LC_MESSAGES/../../../../../etc/passwd",
                 "/_preview/source/locales/fr/LC_MESSAGES/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                 "/_preview/source//etc/passwd", "/_preview/source/locales/fr/LC_MESSAGES/escape.po",
                 "/_preview/source/content/outgrowing-offsetting/references.yaml",
                 "/_preview/source/pyproject.toml", "/_preview/source/templates/page.html.j2"]:
        status, body = get(server, path)
        assert status == 404 and b"root:" not in body, path
    assert json.loads(get(server, "/_preview/state")[1])["generation"] == 1


def test_a_port_in_use_or_several_languages_is_one_clear_line(tmp_path, capsys):
    import socket

    root = copy_project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--lang", "fr", "--port", str(port)], root) == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}: error: cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
    assert main(["serve", "--lang", "fr,es"], root) == 2
    assert "give one --lang" in capsys.readouterr().err


def test_a_save_rebuilds_and_ctrl_c_stops_cleanly_without_a_browser(tmp_path):
    """The command itself: the URL it prints serves the page, a save makes a new build (the state the page's
    script listens to), the terminal shows the check error, and Ctrl-C ends it with status 0, no traceback."""
    import urllib.request

    root = copy_project(tmp_path)
    catalog = root / "locales" / "es" / "LC_MESSAGES" / f"{SLUG}.po"
    text = catalog.read_text(encoding="utf-8")
    message = next(m for m in parse_po(text) if m.string and "[@" in m.string and not m.fuzzy)
    with serving(root, "--lang", "es") as served:
        assert served.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(served.url) as response:
            assert 'data-src="locales/es/LC_MESSAGES/' in response.read().decode("utf-8")
        catalog.write_text(with_msgstr(text, message.lineno, message.string.replace("[@", "[@nokey", 1)),
                           encoding="utf-8")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with urllib.request.urlopen(served.url + "_preview/state") as response:
                state = json.loads(response.read())
            if state["generation"] > 1:
                break
            time.sleep(0.05)
        assert state["generation"] == 2 and any("[citation-keys]" in d for d in state["diagnostics"])
        code = served.interrupt()
    assert code == 0
    stderr = "".join(served.err)
    assert f"locales/es/LC_MESSAGES/{SLUG}.po:{message.lineno}: error:" in stderr and "Traceback" not in stderr
    assert "stopped" in "".join(served.out)


def test_the_publication_is_reused_only_while_its_files_are_unchanged(tmp_path):
    """The parsed publication is kept between builds by the hash of content/<slug>/: an edit to brief.md shows
    at once, and what the preview loads is what pipeline.load loads, before and after."""
    root = copy_project(tmp_path)
    project = Project(root)
    brief = root / "content" / SLUG / "brief.md"
    text = brief.read_text(encoding="utf-8")
    heading = next(line for line in text.split("\n") if line.startswith("# "))
    preview = Preview(project, SLUG, "fr")
    for step, source in enumerate([text, text.replace(heading, heading + " and more", 1), text]):
        brief.write_text(source, encoding="utf-8")
        assert preview.rebuild().ok
        page = (preview.folder / "index.html").read_text(encoding="utf-8")
        assert (heading[2:] + " and more" in page) == (step == 1)
        mine, theirs = preview._load(), pipeline.load(project, ["fr"], [SLUG])
        assert mine.problems == theirs.problems
        assert [(e.body, e.strings, e.fallbacks) for e, _ui in mine.editions] == \
            [(e.body, e.strings, e.fallbacks) for e, _ui in theirs.editions]
