"""`build.py serve`: one edition's HTML page, rebuilt in-process on every save, for translators and reviewers.

A translator saves a `.po` file and the open page reloads with the change; every
block of the page names the catalog entry it comes from (`file:line`, opening a
read-only view of the catalog at that line), and the diagnostics of `check` for
the edition stand in a banner at the top. The annotations, the banner and the
reload script are added here, to a page rendered into build/preview/: nothing of
this reaches dist/.

Standard library only: a ThreadingHTTPServer on 127.0.0.1, a thread that polls
the sources' modification times (and hashes, to skip a save that changed
nothing), and Server-Sent Events that tell the page which build it shows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from pubpipe import pipeline
from pubpipe.diagnostics import Diagnostic, PipelineError, error
from pubpipe.render.page import edition_ast, page_context, render_html
from pubpipe.render.record import edition_record, write_citation_files
from pubpipe.source.figures import check_figures
from pubpipe.source.files import read_bytes_inside
from pubpipe.source.languages import parse_language
from pubpipe.source.project import Project
from pubpipe.source.publication import Publication, discover, load_publication
from pubpipe.source.schema import SCHEMAS
from pubpipe.source.segments import Segment, Slot, reassemble
from pubpipe.translate.catalogs import segment_msgid
from pubpipe.translate.edition import OPENING, Edition, make_edition, mark_language
from pubpipe.verify import citations, gate

MARK = "pps-"  # class of the span or div around segment N in the Markdown: pps-N
SENTINEL = "x-preview"  # mark_language's attributes for this language are replaced by the class
POLL = 0.05  # seconds between two looks at the sources' modification times
EVENTS = "/_preview/events"
STATE = "/_preview/state"
VIEWER = "/_preview/source/"


@dataclass(frozen=True)
class Source:
    """Where a block of the page comes from: a catalog entry (its msgid line) or the source line."""

    path: str  # relative to the project root, with '/'
    line: int
    state: str  # source, translated, fuzzy, untranslated, missing, rejected


# --- the page: segments marked in the Markdown, marks turned into links in the HTML ---------------------------

def relative(project: Project, path: str | Path) -> str:
    """A path as the project names it (locales/fr/LC_MESSAGES/x.po), whatever the working directory."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(project.root.resolve()).as_posix()
    except ValueError:
        return str(path)


def source_of(project: Project, edition: Edition, segment: Segment) -> Source:
    """The catalog entry of a segment (the line of its msgid), or its line in the source when there is none."""
    translations = edition.translations
    if not edition.is_source and translations.catalog is not None:
        message = translations.catalog.get(segment_msgid(segment.text))
        if message is not None:
            return Source(relative(project, translations.path), message.lineno or 1,
                          translations.state(segment.text))
    state = "source" if edition.is_source else "missing"
    return Source(relative(project, segment.path), segment.line, state)


def mark(segment: Segment, indent: str, number: int) -> str | None:
    """The segment's Markdown with a class around it, keeping the block what it was; None if it cannot be marked.

    The fallback marking (mark_language) already knows where a span or a div fits in every kind of block
    without changing the document's structure (tested on every publication); its attributes are swapped
    for the class. A display formula nested in a list gets a span (it stays one paragraph).
    """
    attrs = f"{{lang={SENTINEL} dir=ltr}}"
    opening = f"{{.{OPENING} lang={SENTINEL} dir=ltr}}"  # a span: an empty one before its text
    marked = mark_language(segment, indent, SENTINEL, "ltr")
    if opening in marked:
        return marked.replace(opening, f"{{.{OPENING} .{MARK}{number}}}")
    if attrs in marked:
        return marked.replace(attrs, f"{{.{MARK}{number}}}")
    text = segment.text
    if segment.kind == "formula" and text.strip() and "\n\n" not in text and not text.endswith("\\"):
        return f"[]{{.{OPENING} .{MARK}{number}}}{text}"
    return None


def preview_edition(project: Project, edition: Edition) -> tuple[Edition, dict[int | str, Source], list[int]]:
    """The edition with each segment of its body marked by number, where each came from, and the tables.

    The text is the edition's own, segment for segment (the translation, or the source marked as a fallback,
    as make_edition does); tables are marked afterwards, in the AST (mark_tables), as a class cannot be put
    into a table's Markdown without changing its layout.
    """
    pub = edition.publication
    slots = [piece for piece in pub.document.pieces if isinstance(piece, Slot)]
    numbered = {id(slot.segment): (number, slot) for number, slot in enumerate(slots)}
    source_language = pub.source_language
    source_direction = parse_language(source_language).direction
    sources: dict[int | str, Source] = {}
    tables: list[int] = []

    def text_of(segment: Segment) -> str | None:
        number, slot = numbered[id(segment)]
        translated = None if edition.is_source else edition.translations.lookup(segment.text)
        sources[number] = source_of(project, edition, segment)
        if getattr(slot, "quoted", None) is not None:  # an attribute value (alt text): no room for a mark
            return translated
        text = segment.text if translated is None else translated
        marked = mark(dataclasses.replace(segment, text=text), slot.indent, number)
        if marked is None:
            if segment.kind == "table":
                tables.append(number)
            marked = text
        if translated is None and not edition.is_source:
            marked = mark_language(dataclasses.replace(segment, text=marked), slot.indent, source_language,
                                   source_direction)
        return marked

    body = reassemble(pub.document, text_of)
    return dataclasses.replace(edition, body=body), sources, tables


def mark_tables(ast: dict, tables: list[int]) -> None:
    """Give the n-th table of the AST the class of the n-th table segment, when the counts agree."""
    found: list[dict] = []

    def walk(node) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            if node.get("t") == "Table":
                found.append(node)
            for value in node.values():
                walk(value)

    walk(ast["blocks"])
    if len(found) != len(tables):
        return
    for table, number in zip(found, tables, strict=True):
        table["c"][0][1] = table["c"][0][1] + [f"{MARK}{number}"]


START_TAG = re.compile(r"<(?P<tag>span|div|table)(?P<before>[^<>]*?) class=\"(?P<classes>[^\"]*)\"(?P<after>[^<>]*)>")
# where the page shows a metadata string of publication.yaml (the first match of each start tag)
STRING_PLACES = {"title": r"<h1>", "subtitle": r"<p class=\"subtitle\">", "byline": r"<p class=\"byline\">",
                 "key_references": r"<h2 id=\"key-references\"[^<>]*>",
                 "acknowledgements": r"<div id=\"acknowledgements\"[^<>]*>",
                 "citation_label": r"<div id=\"suggested-citation\"[^<>]*>"}


def annotate(page: str, sources: dict[int | str, Source]) -> str:
    """Each marked element gets data-src="path:line" and a small link to that line in the read-only viewer.

    `sources` holds the body's segments by number (their pps-N class) and the metadata strings by key.
    """
    def one(match: re.Match) -> str:
        classes = match.group("classes").split()
        number = next((int(c[len(MARK):]) for c in classes if c.startswith(MARK) and c[len(MARK):].isdigit()), None)
        if number is None or number not in sources:
            return match.group(0)
        kept = " ".join(c for c in classes if not c.startswith(MARK))
        tag = f'<{match.group("tag")}{match.group("before")} class="{kept}"{match.group("after")}>'
        return labelled(tag, sources[number], before=match.group("tag") == "table")

    page = START_TAG.sub(one, page)
    for key, place in STRING_PLACES.items():
        if key in sources:
            page = re.sub(place, lambda m, key=key: labelled(m.group(0), sources[key]), page, count=1)
    return page


def labelled(tag: str, source: Source, before: bool = False) -> str:
    """A start tag with class pp-seg, data-src and data-state, and the link inside it (before it: a table)."""
    where = f"{source.path}:{source.line}"
    extra = f' data-src="{html.escape(where)}" data-state="{source.state}"'
    if ' class="' in tag:
        tag = tag.replace(' class="', ' class="pp-seg ', 1).replace('class="pp-seg "', 'class="pp-seg"')
    else:
        extra = ' class="pp-seg"' + extra
    tag = tag[:-1] + extra + ">"
    link = (f'<a class="pp-src" dir="ltr" href="{html.escape(viewer_href(source.path, source.line))}" '
            f'target="pp-source" title="{html.escape(source.state)}: open {html.escape(where)}">'
            f"{html.escape(where)}</a>")
    return link + tag if before else tag + link


def viewer_href(path: str, line: int) -> str:
    return f"{VIEWER}{path}#L{line}"


PREVIEW_CSS = """
#pp-banner{font:14px/1.45 system-ui,sans-serif;padding:.6em 1em;margin:0;border-bottom:2px solid #b00020;
  background:#fde7ea;color:#1a1a1a;direction:ltr;text-align:left}
#pp-banner.pp-clean{border-color:#2e7d32;background:#e8f5e9}
#pp-banner pre{margin:.4em 0 0;white-space:pre-wrap;font:12px/1.5 ui-monospace,monospace}
#pp-banner a{color:inherit}
.pp-src{float:inline-end;font:11px/1.6 ui-monospace,monospace;color:#555;background:#f1f1f1;
  border-radius:3px;padding:0 .35em;margin-inline-start:.5em;text-decoration:none;font-weight:normal}
.pp-seg[data-state=fuzzy]>.pp-src,.pp-seg[data-state=untranslated]>.pp-src,.pp-seg[data-state=missing]>.pp-src,
.pp-seg[data-state=rejected]>.pp-src{background:#fff0c2;color:#6b4e00}
.pp-src:hover{color:#000;background:#dde}
"""

RELOAD_SCRIPT = """<script>
/* build.py serve: reload when the server has built a newer page (preview only, never in dist/) */
(function () {
  var shown = "%s";
  var events = new EventSource("%s");
  events.onmessage = function (event) {
    if (event.data !== shown) { events.close(); location.reload(); }
  };
})();
</script>
"""


def banner(project: Project, diagnostics: list[Diagnostic], generation: int, seconds: float) -> str:
    """The diagnostics of `check` for the edition, as the terminal shows them, each linked to its line."""
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    lines = []
    for diagnostic in diagnostics:
        text = html.escape(str(diagnostic))
        path = relative(project, diagnostic.path)
        if viewable(project, path):
            text = f'<a href="{html.escape(viewer_href(path, diagnostic.line))}" target="pp-source">{text}</a>'
        lines.append(text)
    summary = (f"check: {errors} error(s), {warnings} warning(s)" if diagnostics else "check: no problems") + \
        f" · build {generation}, {seconds:.2f} s"
    kind = "" if diagnostics else ' class="pp-clean"'
    listing = f"<pre>{chr(10).join(lines)}</pre>" if lines else ""
    return f'<div id="pp-banner"{kind} role="status" data-errors="{errors}"><strong>{summary}</strong>{listing}</div>'


def inject(page: str, top: str, generation: int) -> str:
    """The preview's style, banner and reload script, around the page as rendered."""
    page = page.replace("</head>", f"<style>{PREVIEW_CSS}</style>\n</head>", 1)
    page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + top, page, count=1)
    script = RELOAD_SCRIPT % (generation, EVENTS)
    return _before_last(page, "</body>", script)


def _before_last(text: str, marker: str, insert: str) -> str:
    at = text.rfind(marker)
    return text + insert if at < 0 else text[:at] + insert + text[at:]


# --- which files the viewer shows --------------------------------------------------------------------------

def viewable(project: Project, path: str) -> bool:
    """The project's catalogs (locales/**/*.po, *.pot) and each publication's brief.md and publication.yaml."""
    parts = PurePosixPath(path).parts
    if not parts or any(part in ("", ".", "..") or part.startswith(".") for part in parts) or "\\" in path:
        return False
    if parts[0] == "locales" and path.endswith((".po", ".pot")):
        return True
    return len(parts) == 3 and parts[0] == "content" and parts[2] in ("brief.md", "publication.yaml")


def viewer_page(project: Project, path: str) -> bytes | None:
    """A read-only page of the file with numbered lines (#L12), or None if it is not one the viewer shows."""
    if not viewable(project, path):
        return None
    try:
        text = read_bytes_inside(project.root / path, project.root).decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    rows = "".join(f'<span id="L{n}"><a href="#L{n}">{n}</a>{html.escape(line)}\n</span>'
                   for n, line in enumerate(text.split("\n"), start=1))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(path)}</title>
<style>body{{margin:0;font:13px/1.5 ui-monospace,monospace}}h1{{font-size:14px;margin:0;padding:.5em 1em;
background:#eee;position:sticky;top:0}}pre{{margin:0;white-space:pre-wrap}}
pre span{{display:block;padding-left:5em;text-indent:-5em;scroll-margin-top:4em}}
pre a{{display:inline-block;width:4em;margin-right:1em;
text-align:right;color:#999;text-decoration:none;text-indent:0}}pre span:target{{background:#fff3a8}}</style>
</head><body><h1>{html.escape(path)} <small>(read-only)</small></h1><pre>{rows}</pre></body></html>"""
    return page.encode("utf-8")


# --- one build of the preview --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Build:
    generation: int
    diagnostics: list[Diagnostic]
    seconds: float
    ok: bool  # the page was rendered (False: the previous page is kept, with the new banner)
    phases: dict[str, float] = dataclasses.field(default_factory=dict)  # seconds per step of the last render


class Preview:
    """One edition's preview folder, rebuilt on demand; generation counts the pages written."""

    def __init__(self, project: Project, slug: str, lang: str, folder: Path | None = None):
        self.project, self.slug, self.lang = project, slug, lang
        self.folder = folder or project.root / "build" / "preview" / slug / lang
        self.generation = 0
        self.last: Build | None = None
        self._page = ""  # the last page rendered, annotated, before the banner and script
        self._names_cache: dict[str, list[Diagnostic]] = {}
        self._publication: tuple[str, Publication | None, tuple[Diagnostic, ...]] | None = None
        self._changed = threading.Condition()
        self._phases: dict[str, float] = {}
        self.stopping = False

    def rebuild(self) -> Build:
        started, cpu = time.perf_counter(), _cpu()
        self._phases = {}
        try:
            page, diagnostics = self._render()
            self._page, ok = page, True
        except PipelineError as failure:
            diagnostics, ok = failure.diagnostics, False
        except Exception as exc:  # the server keeps serving the last good page, with this in its banner
            message = " ".join(str(exc).split()) or type(exc).__name__
            diagnostics, ok = [error(self.project.content / self.slug, 1, f"the preview could not be built: "
                                     f"{type(exc).__name__}: {message}", "internal")], False
        diagnostics = sorted(set(diagnostics), key=lambda d: (d.path, d.line, d.check, d.message))
        seconds = time.perf_counter() - started
        self._phases["cpu"] = _cpu() - cpu  # this process and its pandoc runs: the cost on an idle machine
        with self._changed:
            generation = self.generation + 1
            top = banner(self.project, diagnostics, generation, seconds)
            body = self._page or f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' \
                                 f"<title>{self.slug} {self.lang}</title></head><body></body></html>"
            self.folder.mkdir(parents=True, exist_ok=True)
            _write(self.folder / "index.html", inject(body, top, generation))
            self.generation = generation
            self.last = Build(generation, diagnostics, seconds, ok, dict(self._phases))
            self._changed.notify_all()
        return self.last

    def _render(self) -> tuple[str, list[Diagnostic]]:
        project, clock = self.project, time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            self._phases[name] = time.perf_counter() - clock
            clock = time.perf_counter()

        loaded = self._load()
        if not loaded.editions:
            raise PipelineError(loaded.problems or [error(project.content / self.slug, 1, f"no edition "
                                                          f"{self.lang} of {self.slug}", "serve")])
        edition, ui = loaded.editions[0]
        marked, sources, tables = preview_edition(project, edition)
        strings = edition.publication.strings
        sources = {**sources, **{key: source_of(project, edition, strings[key]) for key in STRING_PLACES
                                 if key in strings}}
        lap("load")
        checks: dict[str, object] = {}

        def run_checks() -> None:
            started = time.perf_counter()
            try:
                checks["found"] = self.check(loaded)
            except Exception as exc:  # raised again below, in the build: never a traceback from a thread
                checks["failed"] = exc
            self._phases["checks"] = time.perf_counter() - started

        worker = threading.Thread(target=run_checks, daemon=True)
        worker.start()  # the checks run while pandoc parses and writes
        ast = edition_ast(project, marked, ui)
        mark_tables(ast, tables)
        lap("parse")
        self.folder.mkdir(parents=True, exist_ok=True)
        context = page_context(marked, ast)
        record = edition_record(marked, context["plain"]["title"], context["plain"]["genre"])
        write_citation_files(marked, record, self.folder)
        page = annotate(render_html(project.templates, marked, ast, ui, self.folder, context, record), sources)
        lap("page")
        worker.join()
        lap("wait")
        if "failed" in checks:
            raise checks["failed"]
        return page, checks["found"]

    def _load(self) -> pipeline.Loaded:
        """pipeline.load(project, [lang], [slug]), reusing the publication while nothing it is read from changed.

        A publication is read (and validated) from content/<slug>/ alone, against the schemas: its key is the
        SHA-256 of those files, taken before reading and again after, so a file saved meanwhile is read anew
        next time. The catalogs are read and checked on every build.
        """
        root = self.project.content / self.slug
        key = _digest(_files(root) + _files(SCHEMAS))
        cached = self._publication if self._publication and self._publication[0] == key else None
        if cached:
            publication, problems = cached[1], list(cached[2])
        else:
            publication, problems = load_publication(root) if (root / "publication.yaml").is_file() else (None, [])
            if publication:
                problems += check_figures(publication)
            if _digest(_files(root) + _files(SCHEMAS)) == key:
                self._publication = (key, publication, tuple(problems))
        editions = []
        for spec in pipeline.editions_of(publication, [self.lang]) if publication else []:
            translations, ui, found = pipeline.read_translations(self.project, publication, spec)
            problems += found
            editions.append((make_edition(publication, spec, translations), ui))
        return pipeline.Loaded([publication] if publication else [], editions, problems)

    def check(self, loaded) -> list[Diagnostic]:
        """What `check --sources --lang L --publication S` reports, from the load the page is built from.

        The same calls as pipeline.run_checks; only check_source_names (names in brief.md, publication.yaml
        and the templates: a second, and no catalog involved) is remembered, by the hash of the files it
        reads, and only when they did not change while it ran.
        """
        project = self.project
        everyone = loaded.publications if [p.name for p in discover(project.content)] == [self.slug] else \
            pipeline.load(project, None, None, catalogs=False).publications
        problems = list(loaded.problems)
        for edition, _ui in loaded.editions:
            problems += pipeline.release_problems(edition, False)
        problems += gate.check_locale_folders(project, everyone)
        problems += gate.check_generated_files(project, loaded, everyone)
        key = self._names_key()
        names = self._names_cache.get(key)
        if names is None:
            names = gate.check_source_names(project, loaded.publications)
            if self._names_key() == key:
                self._names_cache = {key: names}
        problems += names
        problems += citations.check_sources(project.root, loaded.publications)
        return problems

    def _names_key(self) -> str:
        return _digest(source_files(self.project, self.slug, catalogs=False))

    def wait(self, shown: int | None, timeout: float) -> int:
        """The current generation, once it differs from `shown` (or after `timeout`)."""
        with self._changed:
            self._changed.wait_for(lambda: self.generation != shown or self.stopping, timeout)
            return self.generation

    def stop(self) -> None:
        with self._changed:
            self.stopping = True
            self._changed.notify_all()


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []


def _digest(paths: list[Path]) -> str:
    """One SHA-256 over the paths and contents of these files."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"\1missing")
    return digest.hexdigest()


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (pandoc)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _write(path: Path, text: str) -> None:
    """Replace the page in one rename: a request never reads half of it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


# --- watching the sources --------------------------------------------------------------------------------------

def source_files(project: Project, slug: str, catalogs: bool = True) -> list[Path]:
    """What a page is built from: content/<slug>/**, templates/** and locales/** (without the catalogs)."""
    found = [p for p in (project.content / slug).rglob("*") if p.is_file()]
    found += [p for p in project.templates.rglob("*") if p.is_file()]
    if project.locales.is_dir():
        found += [p for p in project.locales.rglob("*") if p.is_file()
                  and (catalogs or p.suffix != ".po")]
    return found


class Watcher:
    """Polls modification times and sizes; a change counts only if a file's content (SHA-256) changed."""

    def __init__(self, files: Callable[[], list[Path]]):
        self.files = files
        self.stats = self._stats()
        self.hashes = {path: _hash(path) for path in self.stats}

    def _stats(self) -> dict[Path, tuple[int, int]]:
        stats = {}
        for path in self.files():
            try:
                info = path.stat()
            except OSError:
                continue
            stats[path] = (info.st_mtime_ns, info.st_size)
        return stats

    def changed(self) -> list[Path]:
        stats = self._stats()
        if stats == self.stats:
            return []
        for _ in range(20):  # an editor may write in steps: wait until two looks agree
            time.sleep(0.02)
            again = self._stats()
            if again == stats:
                break
            stats = again
        touched = [path for path in stats.keys() | self.stats.keys() if stats.get(path) != self.stats.get(path)]
        self.stats = stats
        changed = []
        for path in touched:
            digest = _hash(path) if path in stats else None
            if digest != self.hashes.get(path):
                changed.append(path)
            if digest is None:
                self.hashes.pop(path, None)
            else:
                self.hashes[path] = digest
        return sorted(changed)


def _hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


# --- the server ----------------------------------------------------------------------------------------------

class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, preview: Preview):
        self.preview = preview
        super().__init__(("127.0.0.1", port), Handler)


class Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # noqa: A002  (the terminal shows builds, not requests)
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:  # noqa: N802
        preview = self.server.preview
        path = urlsplit(self.path).path
        if path == EVENTS:
            return self.events()
        if path == STATE:
            build = preview.last
            state = {"generation": preview.generation,
                     "diagnostics": [str(d) for d in build.diagnostics] if build else [],
                     "seconds": build.seconds if build else None, "ok": build.ok if build else None}
            return self.reply(json.dumps(state).encode("utf-8"), "application/json", head)
        if path.startswith(VIEWER):
            page = viewer_page(preview.project, unquote(path[len(VIEWER):]))
            return self.reply(page, "text/html; charset=utf-8", head) if page else self.not_found(head)
        target = static_file(preview.folder, path)
        if target is None:
            return self.not_found(head)
        self.reply(target.read_bytes(), content_type(target), head)

    def reply(self, data: bytes, kind: str, head: bool = False) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def not_found(self, head: bool = False) -> None:
        data = b"not found\n"
        self.send_response(HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def events(self) -> None:
        """Server-Sent Events: the generation now, then each new one (a comment every 10 s keeps it open)."""
        preview = self.server.preview
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.close_connection = True
        shown = None
        try:
            while not preview.stopping:
                generation = preview.wait(shown, 10)
                if preview.stopping:
                    break
                self.wfile.write(f"data: {generation}\n\n".encode() if generation != shown else b": alive\n\n")
                self.wfile.flush()
                shown = generation
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            return


def static_file(folder: Path, url_path: str) -> Path | None:
    """A file of the preview folder, or None: no '..', no hidden files, nothing that resolves outside it."""
    path = unquote(url_path)
    if "\x00" in path or "\\" in path:
        return None
    parts = [part for part in PurePosixPath(path).parts if part != "/"]
    if any(part in (".", "..") or part.startswith(".") for part in parts):
        return None
    root = folder.resolve()
    target = root.joinpath(*parts) if parts else root
    try:
        target = target.resolve()
    except (OSError, RuntimeError):
        return None
    if target.is_dir():
        target = target / "index.html"
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png",
         ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml", ".gif": "image/gif",
         ".webp": "image/webp", ".bib": "text/plain; charset=utf-8", ".ris": "text/plain; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".json": "application/json"}


def content_type(path: Path) -> str:
    return TYPES.get(path.suffix.lower(), "application/octet-stream")


def serve(project: Project, slug: str, lang: str, port: int, say: Callable[[str], None],
          show: Callable[[list[Diagnostic]], None]) -> int:
    """Build, serve on 127.0.0.1:port (0: a free port) and rebuild on every save until Ctrl-C."""
    preview = Preview(project, slug, lang)
    if preview.folder.exists():
        shutil.rmtree(preview.folder)
    watcher = Watcher(lambda: source_files(project, slug))

    def built(build: Build, why: str) -> None:
        state = "built" if build.ok else "could not build (the last page stays, with the errors)"
        phases = ", ".join(f"{name} {seconds:.2f}" for name, seconds in build.phases.items())
        say(f"{why}{slug} {lang}: {state} in {build.seconds:.2f} s (build {build.generation}; phases {phases} s)")
        show(build.diagnostics)

    built(preview.rebuild(), "")
    try:
        server = PreviewServer(port, preview)
    except OSError as exc:
        show([error("127.0.0.1", port, f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; choose another "
                                       "--port (0: any free port)", "serve")])
        return 1
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    say(f"serving {slug} {lang} at {url} (Ctrl-C to stop)")

    def watch() -> None:
        while not preview.stopping:
            time.sleep(POLL)
            try:
                changed = watcher.changed()
                if changed and not preview.stopping:
                    names = ", ".join(relative(project, p) for p in changed[:3]) + (" ..." * (len(changed) > 3))
                    build = preview.rebuild()
                    if not preview.stopping:  # Ctrl-C in a terminal also stops the pandoc of a build under way
                        built(build, f"saved {names}: ")
            except Exception as exc:  # e.g. the preview folder cannot be written: said, and the server goes on
                show([error(preview.folder, 1, f"{type(exc).__name__}: {' '.join(str(exc).split())}", "serve")])

    thread = threading.Thread(target=watch, name="pubpipe-watch", daemon=True)
    thread.start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        preview.stop()
        server.server_close()
        thread.join(timeout=5)
    say("stopped")
    return 0
