"""Faults of the machine and concurrent builds: one diagnostic line each, exit non-zero, no traceback,
dist/ whole; two builds at once in one checkout queue and keep both results.

Real faults where this machine can make them (a file in dist/'s place, a corrupt artifact, a pandoc that
exits 1, and, when `mount` works, a tmpfs that is full or read-only); injected ones (OSError from the
write or rename path, a missing font face) in process, through pubpipe.cli.main.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import pathlib
import select
import shutil
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pypandoc
import pytest

from pubpipe.cli import main
from pubpipe.release import publish
from pubpipe.render import fonts

from .conftest import ROOT, SLUG, artifact, copy_project
from .test_errors import assert_clean_failure, diagnostics, run, snapshot

ENV = {**os.environ, "PUBPIPE_IN_VENV": "1"}


def built_en(project: Path) -> dict[str, str]:
    """A previous release (the English HTML edition) that failed builds must leave alone."""
    assert main(["--quiet", "--lang", "en", "--format", "html"], project) == 0
    return snapshot(project / "dist")


def assert_untouched(project: Path, before: dict[str, str]) -> None:
    assert snapshot(project / "dist") == before, "a failed build changed dist/"
    leftovers = list(project.glob(".dist-staging-*")) + list(project.glob(".dist-old-*"))
    assert not leftovers, f"left behind: {leftovers}"


def only_diagnostics(stderr: str) -> None:
    """Nothing on stderr but diagnostics and the summary lines: no traceback, no library log noise."""
    for line in stderr.splitlines():
        assert diagnostics(line) or line.endswith(("warning(s)", "was left as it was")) or \
            line.startswith("check: "), f"unexpected line: {line!r}\n{stderr}"


# ---------------------------------------------------------------- dist/ and the project folder

def test_dist_is_a_file(project):
    (project / "dist").write_text("not a folder\n", encoding="utf-8")
    result = run(project, "--lang", "en", "--format", "html")
    assert_clean_failure(result, "dist", 1, "publish")
    only_diagnostics(result.stderr)
    assert (project / "dist").read_text(encoding="utf-8") == "not a folder\n"
    assert not list(project.glob(".dist-staging-*"))
    check = run(project, "check")
    assert_clean_failure(check, "dist", 1, "artifact")


@contextmanager
def tmpfs(where: Path, size: str):
    """A small tmpfs mounted at `where` (the test is skipped where mount is not allowed)."""
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount(where: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True, capture_output=True)


def test_read_only_project_folder(tmp_path):
    """Real: the checkout is on a read-only filesystem, so no staging folder can be made (even as root)."""
    with tmpfs(tmp_path / "ro", "64m") as root:
        project = copy_project(root / "project")
        before = built_en(project)
        remount(root, "ro")
        try:
            result = run(project, "--lang", "fr", "--format", "html")
        finally:
            remount(root, "rw")
        assert_clean_failure(result, ".", 1, "publish")
        assert "Read-only file system" in result.stderr
        assert_untouched(project, before)


def test_read_only_dist_mount(tmp_path, project):
    """Real: dist/ is its own read-only filesystem (a mount point); the swap cannot replace it."""
    before = built_en(project)
    saved = tmp_path / "saved"
    shutil.copytree(project / "dist", saved)
    shutil.rmtree(project / "dist")
    with tmpfs(project / "dist", "16m") as dist:
        shutil.copytree(saved, dist, dirs_exist_ok=True)
        remount(dist, "ro")
        result = run(project, "--lang", "fr", "--format", "html")
        assert_clean_failure(result, "dist", 1, "publish")
        only_diagnostics(result.stderr)
        assert_untouched(project, before)


def fake_renameat2(code: int):
    def renameat2(*_args) -> int:
        ctypes.set_errno(code)
        return -1
    return renameat2


def test_read_only_dist_injected(project, monkeypatch, capsys):
    """Injected: the system refuses to replace dist/ (EROFS from renameat2, then from rename)."""
    before = built_en(project)
    monkeypatch.chdir(project)
    capsys.readouterr()
    monkeypatch.setattr(publish, "_renameat2", fake_renameat2(errno.EROFS))
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 1
    err = capsys.readouterr().err
    assert "dist:1: error: cannot replace dist/: Read-only file system" in err and "[publish]" in err
    assert_untouched(project, before)

    def no_rename(src, dst):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(src))

    monkeypatch.setattr(publish, "_renameat2", None)  # where there is no exchange: two renames
    monkeypatch.setattr(publish.os, "rename", no_rename)
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 1
    assert "dist:1: error: cannot move the previous dist/ aside: Read-only file system" in capsys.readouterr().err
    assert_untouched(project, before)


def test_second_rename_fails_and_the_first_is_undone(project, monkeypatch, capsys):
    before = built_en(project)
    monkeypatch.chdir(project)
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name.startswith(publish.STAGING_PREFIX):
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(src))
        real_rename(src, dst)

    monkeypatch.setattr(publish, "_renameat2", None)
    monkeypatch.setattr(publish.os, "rename", rename)
    capsys.readouterr()
    assert main(["--quiet", "--lang", "fr", "--format", "html"], project) == 1
    err = capsys.readouterr().err
    assert "cannot move the new build into dist/" in err and "dist/ was left as it was" in err
    assert_untouched(project, before)


# ---------------------------------------------------------------- a full disk

@pytest.mark.parametrize("name, path, check", [
    ("manifest.json", "dist/manifest.json", "publish"),
    ("index.html", f"dist/{SLUG}/en/index.html", "render"),
])
def test_full_disk_injected(project, monkeypatch, capsys, name, path, check):
    before = built_en(project)
    shutil.rmtree(project / "build" / "cache")  # the page is written again, not copied from the artifact cache
    monkeypatch.chdir(project)
    write_text = pathlib.Path.write_text

    def full(self, *args, **kwargs):
        if self.name == name and any(p.name.startswith(publish.STAGING_PREFIX) for p in self.parents):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    capsys.readouterr()
    assert main(["--quiet", "--lang", "en", "--format", "html"], project) == 1
    found = diagnostics(capsys.readouterr().err)
    assert [(d["path"], d["check"]) for d in found] == [(path, check)], found
    assert "No space left on device" in found[0]["message"]
    assert_untouched(project, before)


def test_full_disk_tmpfs(tmp_path):
    """Real: the checkout's filesystem fills up while the build copies and writes."""
    with tmpfs(tmp_path / "full", "48m") as root:
        project = copy_project(root / "project")
        before = built_en(project)
        free = os.statvfs(root)
        with open(root / "filler", "wb") as filler:  # leave less room than the previous dist/ needs
            filler.write(b"\0" * (free.f_bavail * free.f_frsize - 16 * 1024))
        result = run(project, "--lang", "fr", "--format", "html")
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert "No space left on device" in result.stderr
        assert any(d["check"] in ("publish", "render") for d in diagnostics(result.stderr)), result.stderr
        only_diagnostics(result.stderr)
        (root / "filler").unlink()
        assert_untouched(project, before)


# ---------------------------------------------------------------- rendering faults

def test_missing_arabic_font_for_epub(project, monkeypatch, capsys, request):
    before = built_en(project)
    monkeypatch.chdir(project)
    regular_face = fonts._regular_face
    fonts.family_coverage.cache_clear()  # coverage is cached per family: computed with the font gone, it must not
    request.addfinalizer(fonts.family_coverage.cache_clear)  # outlive this test (later builds would lose Arabic)
    monkeypatch.setattr(fonts, "_regular_face", lambda family: None if family == "Noto Naskh Arabic"
                        else regular_face(family))
    capsys.readouterr()
    assert main(["--quiet", "--lang", "ar,fr", "--format", "epub"], project) == 1
    found = diagnostics(capsys.readouterr().err)
    assert [(d["path"], d["check"]) for d in found] == [(f"dist/{SLUG}/ar/{SLUG}.ar.epub", "render")], found
    assert found[0]["message"] == ("cannot build the ar edition as EPUB: font 'Noto Naskh Arabic' is not installed "
                                   "(Debian package fonts-noto-core)")
    assert_untouched(project, before)


def test_pandoc_exits_1(project, tmp_path):
    """Real: a pandoc that answers --version but fails every conversion."""
    before = built_en(project)
    fake = tmp_path / "pandoc"
    fake.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        case "$1" in --version|--list-*) exec "{pypandoc.get_pandoc_path()}" "$@";; esac
        echo "pandoc: simulated failure" >&2
        exit 1
        """), encoding="utf-8")
    fake.chmod(0o755)
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(project), "--lang", "en,fr",
                             "--format", "html"], capture_output=True, text=True, cwd=project,
                            env={**ENV, "PYPANDOC_PANDOC": str(fake)}, timeout=120)
    assert_clean_failure(result, f"dist/{SLUG}/en", 1, "render")
    assert_clean_failure(result, f"dist/{SLUG}/fr", 1, "render")  # every edition is tried and reported
    assert "pandoc: simulated failure" in result.stderr
    only_diagnostics(result.stderr)
    assert_untouched(project, before)


def test_pandoc_fails_writing_one_format(project, monkeypatch, capsys):
    before = built_en(project)
    monkeypatch.chdir(project)
    convert = pypandoc.convert_text

    def failing(source, to, *args, **kwargs):
        if to == "docx":
            raise RuntimeError('Pandoc died with exitcode "83" during conversion: simulated')
        return convert(source, to, *args, **kwargs)

    monkeypatch.setattr(pypandoc, "convert_text", failing)
    capsys.readouterr()
    assert main(["--quiet", "--lang", "en", "--format", "html,docx"], project) == 1
    found = diagnostics(capsys.readouterr().err)
    assert [(d["path"], d["check"]) for d in found] == [(f"dist/{SLUG}/en/{SLUG}.en.docx", "render")], found
    assert found[0]["message"].startswith("cannot build the en edition as DOCX: Pandoc died with exitcode")
    assert_untouched(project, before)


def test_unexpected_error_is_one_line(project, monkeypatch, capsys):
    """The last resort in cli.main: an internal error is one line asking for a report, not a traceback."""
    from pubpipe import pipeline

    def broken(*_args):
        raise TypeError("simulated bug")

    monkeypatch.setattr(pipeline, "merge_manifest", broken)
    assert main(["--quiet", "--lang", "en", "--format", "html"], project) == 1
    assert capsys.readouterr().err.strip().endswith(
        "error: internal error: TypeError: simulated bug (please report) [internal]")
    assert not (project / "dist").exists() and not list(project.glob(".dist-staging-*"))


# ---------------------------------------------------------------- corrupt artifacts read back by `check`

def test_corrupt_artifacts_in_dist(project):
    built_en(project)
    folder = project / "dist" / SLUG / "en"
    (folder / f"{SLUG}.en.epub").write_bytes(b"not a zip archive")
    (folder / f"{SLUG}.en.docx").write_bytes(b"PK\x03\x04 truncated")
    (folder / f"{SLUG}.en.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")
    ris = folder / f"{SLUG}.en.ris"  # read after the corrupt ones: still checked
    ris.write_text(ris.read_text(encoding="utf-8").replace("TI  - ", "TI  - Tampered "), encoding="utf-8")
    result = run(project, "check")
    assert result.returncode == 1
    only_diagnostics(result.stderr)
    found = {(d["path"], d["check"]): d["message"] for d in diagnostics(result.stderr)}
    for fmt in ("epub", "docx", "pdf"):
        message = found[(f"dist/{SLUG}/en/{SLUG}.en.{fmt}", "artifact")]
        assert message.startswith(f"cannot read {SLUG}.en.{fmt}: "), message
    assert (f"dist/{SLUG}/en/{SLUG}.en.ris", "record-metadata") in found, result.stderr


# ---------------------------------------------------------------- concurrent builds

def start(project: Path, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--project", str(project), "--quiet", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=project, env=ENV,
                            **kwargs)


def editions_in(project: Path) -> dict[str, list[str]]:
    manifest = json.loads((project / "dist" / "manifest.json").read_text(encoding="utf-8"))
    out = {}
    for edition in manifest["publications"][0]["editions"]:
        for item in edition["artifacts"]:
            assert (project / "dist" / item["path"]).is_file(), item["path"]
        out[edition["lang"]] = sorted(item["format"] for item in edition["artifacts"])
    return out


TRIALS = 4


def test_two_partial_builds_at_once_keep_both(project):
    lost = []
    for trial in range(TRIALS):
        shutil.rmtree(project / "dist", ignore_errors=True)
        builds = [start(project, "--lang", lang, "--format", "html") for lang in ("fr", "es")]
        outputs = [b.communicate(timeout=300) for b in builds]
        assert [b.returncode for b in builds] == [0, 0], outputs
        editions = editions_in(project)
        lost += [(trial, lang) for lang in ("fr", "es") if lang not in editions]
        assert not list(project.glob(".dist-*-*"))
        waits = sum(err.count(publish.WAITING) for _out, err in outputs)
        assert waits <= 1, outputs
    assert not lost, f"results lost (trial, edition): {lost}"


def wait_for(path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_full_build_racing_a_partial_one_leaves_a_full_dist(project, tmp_path):
    """The partial build pauses between rendering and its swap while a full build runs: deterministic."""
    reached, release = tmp_path / "reached", tmp_path / "release"
    hook = textwrap.dedent(f"""\
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from pubpipe import pipeline
        merge = pipeline.merge_manifest
        def paused(*args):
            Path({str(reached)!r}).touch()
            while not Path({str(release)!r}).exists():
                time.sleep(0.05)
            return merge(*args)
        pipeline.merge_manifest = paused
        from pubpipe.cli import main
        sys.exit(main(sys.argv[1:]))
        """)
    partial = subprocess.Popen([sys.executable, "-c", hook, "--project", str(project), "--quiet", "--lang", "fr",
                                "--format", "html"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=project, env=ENV)
    try:
        wait_for(reached)  # the partial build has read dist/ (empty) and rendered
        full = start(project)
        ready, _, _ = select.select([full.stderr], [], [], 300)  # it waits for the lock, or (old code) finishes
        first_line = full.stderr.readline() if ready else ""
    finally:
        release.touch()
    partial_out = partial.communicate(timeout=300)
    full_out = full.communicate(timeout=600)
    assert partial.returncode == 0 and full.returncode == 0, (partial_out, full_out)
    assert first_line.strip() == publish.WAITING
    every = sorted(["html", "pdf", "epub", "docx", "bib", "ris"])
    assert editions_in(project) == {lang: every for lang in ("en", "zh-Hans", "fr", "es", "ar")}


def test_a_second_build_waits_and_says_so_once(project):
    lock = os.open(project / publish.LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build = start(project, "--lang", "en", "--format", "html")
        ready, _, _ = select.select([build.stderr], [], [], 120)
        assert ready and build.stderr.readline().strip() == publish.WAITING
        assert build.poll() is None  # still waiting, not failed
    finally:
        os.close(lock)
    _out, err = build.communicate(timeout=120)
    assert build.returncode == 0 and publish.WAITING not in err, err
    assert "en" in editions_in(project)


# ---------------------------------------------------------------- permissions and leftovers

def test_dist_has_ordinary_permissions(project):
    umask = os.umask(0o077)  # the strictest common umask; mkdtemp gives 0700 anyway
    try:
        result = run(project, "--lang", "en,fr", "--format", "html")
        assert result.returncode == 0, result.stderr
        result = run(project, "--lang", "es", "--format", "html")  # a subset update keeps them ordinary
        assert result.returncode == 0, result.stderr
    finally:
        os.umask(umask)
    dist = project / "dist"
    modes = {str(p.relative_to(project)): oct(p.stat().st_mode & 0o7777)
             for p in [dist, *dist.rglob("*")]}
    wrong = {path: mode for path, mode in modes.items()
             if mode != (oct(0o755) if (project / path).is_dir() else oct(0o644))}
    assert not wrong, wrong
    assert {"en", "fr", "es"} <= set(editions_in(project))


def test_leftovers_of_a_killed_build_are_removed(project):
    built_en(project)
    staging = project / ".dist-staging-k1ll3d"
    (staging / SLUG).mkdir(parents=True)
    (staging / SLUG / "half.html").write_text("<p>half", encoding="utf-8")
    (staging / SLUG).chmod(0o500)
    old = project / ".dist-old-4242"
    old.mkdir()
    (old / "manifest.json").write_text("{}", encoding="utf-8")
    result = run(project, "--lang", "fr", "--format", "html")
    assert result.returncode == 0, result.stderr
    assert not staging.exists() and not old.exists()
    assert {"en", "fr"} <= set(editions_in(project))


def test_a_build_killed_between_its_renames_loses_nothing(project):
    """dist/ was moved aside and the process died: the next build puts it back, then updates it."""
    built_en(project)
    (project / "dist").rename(project / ".dist-old-999")
    result = run(project, "--lang", "fr", "--format", "html")
    assert result.returncode == 0, result.stderr
    assert {"en", "fr"} <= set(editions_in(project))
    assert artifact(project, "en", "html").is_file() and not list(project.glob(".dist-old-*"))


def test_gitignore_covers_build_leftovers():
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    for pattern in (".dist-staging-*/", ".dist-old-*/", publish.LOCK_NAME):
        assert pattern in lines
