"""A first build's head start: its first edition's parse, begun by a forked child before the imports.

A build's main process spends its first 0.2 s on one core, importing the
pipeline and checking the sources, before it starts any parse ahead
(pipeline.parses_ahead); the other core idles, and every millisecond of that
lengthens the build. So build.py forks right after the no-op check, before
those imports: the child imports only what one parse needs, reads the first
publication the build selects (its schemas unchecked: the build checks them)
and its first selected edition's catalog, makes that edition as the build
would and starts its pandoc parse. The build takes it over
(render/pandoc_ast.Prefetch, `adopt`) only when its own parse input, after
every check, is byte for byte the child's: the key. Otherwise the child's work
is dropped, and nothing it did is ever shown.

Only a build with nothing in its dist/ yet (a first build, a CI runner or
shard, after `clean`) begins one: later builds take most editions from the
cache. The child reads the files the build reads itself (a catalog as
read_catalog does, never through a link that leaves the repository), passes
pandoc a citation style only from templates/csl/, prints nothing (its standard
streams are /dev/null), and leads its own process group, which the build kills
at exit if the parse is still running. Standard library only, until the fork.
"""

from __future__ import annotations

import atexit
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pubpipe.release.graph import fork_is_safe, worker_count

FLAGS = {"build", "-q", "--quiet", "--strict"}
WAIT = 10.0  # seconds the build waits, at most, for the child to name its parse's key
OPTIONS = {"--publication": "slugs", "--lang": "langs", "--format": "", "--project": "project", "--dist": "dist"}


@dataclass
class HeadStart:
    """The child's parse, as pandoc_ast.Prefetch runs its own (its Adopted protocol): `done` is the read end
    of a pipe that gives the parse's key, then reads empty once pandoc has exited."""

    pid: int  # the child, which leads the process group of itself and its pandoc, and exits with pandoc's code
    done: int
    folder: Path
    key: str | None = None
    claimed: bool = False
    returncode: int | None = None

    @property
    def output(self) -> Path:
        return self.folder / f"{self.key}.json"

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self) -> int:
        if self.returncode is None:
            _pid, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


_BEGUN: list[HeadStart] = []


def selection(argv: list[str]) -> dict | None:
    """What a build command asks for (publications, languages, --project, --dist); None for any other command
    or argument (abbreviated options too: argparse would take them, the head start does not guess)."""
    found: dict = {"slugs": [], "langs": [], "project": None, "dist": None}
    args = iter(argv)
    for arg in args:
        if arg in FLAGS:
            continue
        name, equals, value = arg.partition("=")
        if name not in OPTIONS:
            return None
        value = value if equals else next(args, None)
        if value is None:
            return None
        key = OPTIONS[name]
        if key in ("slugs", "langs"):
            found[key] += [item.strip() for item in value.split(",") if item.strip()]
        elif key:
            found[key] = Path(value).resolve()
    return found


def begin(root: Path, argv: list[str]) -> None:
    """Fork the head start of a first build of the project at `root` (`argv`: build.py's arguments)."""
    asked = selection(argv)
    if asked is None or _BEGUN or worker_count() < 2 or not fork_is_safe():
        return
    root = asked["project"] or root.resolve()
    if ((asked["dist"] or root / "dist") / "manifest.json").exists():
        return
    folder = Path(tempfile.mkdtemp(prefix="pubpipe-head-"))
    done, end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setpgid(0, 0)
            null = os.open(os.devnull, os.O_RDWR)
            for stream in (0, 1, 2):
                os.dup2(null, stream)
            os.close(done)
            code = _parse_first_edition(root, asked["slugs"], asked["langs"], folder, end)
        except BaseException:  # noqa: BLE001 - a guess that failed: the build finds and reports the cause
            pass
        finally:
            os._exit(code)
    try:
        os.setpgid(pid, pid)  # also here, so that a kill right after the fork reaches the group
    except OSError:  # the child got there first, or has already exited
        pass
    os.close(end)
    _BEGUN.append(HeadStart(pid, done, folder))
    atexit.register(end_all)


def _parse_first_edition(root: Path, slugs: list[str], langs: list[str], folder: Path, end: int) -> int:
    """In the child: the first edition the build will guess (pipeline.load, Ahead.guess), and its parse;
    pandoc's exit code. Writes the parse's key into the pipe, then leaves the pipe to pandoc alone."""
    from pubpipe.render.page import guessed_parse
    from pubpipe.render.pandoc_ast import parse_command, parse_input
    from pubpipe.source.project import Project
    from pubpipe.source.publication import discover, read_publication
    from pubpipe.translate.catalogs import Translations, catalog_path, read_catalog
    from pubpipe.translate.edition import make_edition

    project = Project(root)
    first = next(path for path in discover(project.content) if not slugs or path.name in slugs)
    publication, _problems = read_publication(first, schemas=False)
    spec = next(spec for spec in publication.editions if not langs or spec.language.tag in langs)
    path, catalog = None, None
    if spec.language.tag != publication.source_language:
        path = catalog_path(project.locales, publication, spec.language)
        catalog, _problems = read_catalog(path, spec.language, project.root)
        if catalog is None:
            return 1
    edition = make_edition(publication, spec, Translations.unchecked(path, catalog, spec.status == "official"))
    csl, notices = guessed_parse(project, edition)
    if not csl.resolve().is_relative_to(project.csl_dir.resolve()) or not csl.is_file():
        return 1  # an unchecked citation_style that leaves templates/csl/: the build's schema check reports it
    markdown, metadata, key = parse_input(edition, csl, notices)
    command, _output = parse_command(folder, key, markdown, metadata, csl)
    pandoc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, pass_fds=(end,))
    os.write(end, f"{key}\n".encode())
    os.close(end)
    return pandoc.wait()


def claim(key: str) -> HeadStart | None:
    """The head start, if it parses this very input and nobody has taken it yet (Prefetch's `adopt`). The
    first call waits for the child to name its key: the child has less to do before that than the build (0.15
    s here); one that has not named it after WAIT seconds is stopped, and the build parses alone."""
    if not _BEGUN or _BEGUN[0].claimed:
        return None
    begun = _BEGUN[0]
    if begun.key is None:
        line, deadline = b"", time.monotonic() + WAIT
        while not line.endswith(b"\n"):
            if not select.select([begun.done], [], [], max(0.0, deadline - time.monotonic()))[0]:
                begun.kill()  # stuck: its key, if it ever came, is not waited for
                line = b""
                break
            byte = os.read(begun.done, 1)
            if not byte:  # the child ended without starting a parse
                break
            line += byte
        begun.key = line.decode("ascii", "replace").strip()
    if begun.key != key:
        return None
    begun.claimed = True  # from here, Prefetch owns `done` (and closes it)
    return begun


def end_all() -> None:
    """At exit: stop a parse still running, reap the child, remove its folder."""
    for begun in _BEGUN:
        begun.kill()
        begun.wait()
        if not begun.claimed:
            os.close(begun.done)
        shutil.rmtree(begun.folder, ignore_errors=True)
    _BEGUN.clear()
