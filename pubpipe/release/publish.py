"""Publishing into dist/: one build at a time, a staging folder, an atomic swap, ordinary permissions.

A build takes the project's lock (`.dist.lock`, an flock) before it reads the
previous dist/ and keeps it until the new dist/ is in place, so two builds in
one checkout queue instead of overwriting each other's results. Under the
lock it first tidies what a killed build left behind (`.dist-staging-*`,
`.dist-old-*`). Everything is written to a staging folder next to dist/; its
permissions are made ordinary (0755 folders, 0644 files) and it replaces
dist/ in one step where the filesystem can (Linux `renameat2` with
RENAME_EXCHANGE), else by two renames, the first undone if the second fails.

Every failure of the filesystem becomes a diagnostic naming dist/ or the file
at fault; the library still never prints, it only calls `notice`.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pubpipe.diagnostics import Diagnostic, PipelineError, display_path, error

LOCK_NAME = ".dist.lock"
STAGING_PREFIX = ".dist-staging-"
OLD_PREFIX = ".dist-old-"
CHECK = "publish"
DIR_MODE, FILE_MODE = 0o755, 0o644
WAITING = "waiting for another build to finish..."


def reason(exc: BaseException, staging: Path | None = None, dist: Path | None = None) -> str:
    """One line saying why: the system's words for an OSError (with the file, shown as in dist/), else the message."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        return " ".join(str(exc.args[0][0][2]).split())  # copytree: the first file's reason
    if isinstance(exc, OSError) and exc.strerror:
        name = exc.filename
        if name and staging is not None and dist is not None and Path(name).is_relative_to(staging):
            name = dist / Path(name).relative_to(staging)
        return f"{exc.strerror}: {display_path(name)}" if name else exc.strerror
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, OSError | RuntimeError):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 400 else text[:397] + "..."


def _fail(path: Path, message: str) -> PipelineError:
    return PipelineError([error(path, 1, message, CHECK)])


@contextmanager
def lock(root: Path, notice: Callable[[str], None]) -> Iterator[None]:
    """Hold the project's build lock; wait (saying so once) while another build holds it."""
    path = root / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError:
        try:  # an flock needs no write access: a lock file that exists is enough
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise _fail(path, f"cannot create the build lock: {reason(exc)}; building into dist/ needs a "
                              "writable project folder") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            notice(WAITING)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise _fail(path, f"cannot take the build lock: {reason(exc)}") from None
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would let two builds lock two files)


@contextmanager
def staging_folder(root: Path, dist: Path, notice: Callable[[str], None]) -> Iterator[Path]:
    """Under the lock: tidy leftovers, check dist/, and give a fresh staging folder, removed afterwards."""
    with lock(root, notice):
        tidy(root, dist)
        if os.path.lexists(dist) and not dist.is_dir():
            raise _fail(dist, f"{dist.name} is not a folder; move it away or delete it, then build again")
        try:  # beside dist/, so the swap is a rename on one filesystem (dist/ may be elsewhere: --dist)
            dist.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=dist.parent))
        except OSError as exc:
            raise _fail(root, f"cannot create a staging folder in {root}: {reason(exc)}; "
                              f"{dist.name}/ was left as it was") from None
        try:
            yield staging
        finally:
            remove(staging)


def tidy(root: Path, dist: Path) -> None:
    """Remove what a killed build left; if one died between its two renames, put the previous dist/ back."""
    olds = sorted(root.glob(OLD_PREFIX + "*"), key=lambda p: p.stat().st_mtime)
    if olds and not os.path.lexists(dist):
        try:
            os.rename(olds.pop(), dist)
        except OSError:
            pass  # the staging step will say what is wrong with the folder
    for leftover in list(root.glob(STAGING_PREFIX + "*")) + olds:
        remove(leftover)


def remove(path: Path) -> None:
    """Delete a folder (or file) we made, even one made read-only; what cannot go is tidied next time."""
    def writable_then_retry(function, name, _exc_info):
        try:
            os.chmod(os.path.dirname(name), DIR_MODE)
            function(name)
        except OSError:
            pass

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, onerror=writable_then_retry)
    else:
        try:
            path.unlink()
        except OSError:
            pass


def copy_previous(dist: Path, staging: Path) -> None:
    """A subset build starts from the release it updates."""
    if not dist.is_dir():
        return
    try:
        shutil.copytree(dist, staging, dirs_exist_ok=True, symlinks=True)
    except OSError as exc:
        raise _fail(dist, f"cannot copy the previous {dist.name}/ into the staging folder: "
                          f"{reason(exc, staging, dist)}; {dist.name}/ was left as it was") from None


def write(staging: Path, dist: Path, relative: str, text: str) -> None:
    """Write one file of the staging folder; a full disk or any other failure names the file as in dist/."""
    try:
        (staging / relative).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _fail(dist / relative, f"cannot write {relative}: {reason(exc, staging, dist)}; "
                                     f"{dist.name}/ was left as it was") from None


def commit(staging: Path, dist: Path) -> None:
    """Ordinary permissions, then the finished staging folder replaces dist/."""
    try:
        normalize_permissions(staging)
    except OSError as exc:
        raise _fail(dist, f"cannot set the permissions of the new build: {reason(exc, staging, dist)}; "
                          f"{dist.name}/ was left as it was") from None
    swap(staging, dist)


def normalize_permissions(folder: Path) -> None:
    """0755 for folders and 0644 for files, whatever the umask or mkdtemp's 0700 said."""
    os.chmod(folder, DIR_MODE)
    for top, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(top, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                continue
            os.chmod(path, DIR_MODE if stat.S_ISDIR(mode) else FILE_MODE)


def swap(staging: Path, dist: Path) -> None:
    """Replace dist/ by staging as atomically as the filesystem allows; on failure dist/ is as it was.

    After an exchange, `staging` holds the previous release, which the caller removes with it.
    """
    shown = dist.name
    if not os.path.lexists(dist):
        try:
            os.rename(staging, dist)
        except OSError as exc:
            raise _fail(dist, f"cannot move the new build into {shown}/: {reason(exc)}") from None
        return
    try:
        if exchange(staging, dist):  # readers see the old dist/ or the new one, never neither
            return
    except OSError as exc:
        hint = f" ({shown}/ is a mount point? build elsewhere and copy)" if exc.errno in (errno.EBUSY, errno.EXDEV) \
            else ""
        raise _fail(dist, f"cannot replace {shown}/: {reason(exc)}{hint}; {shown}/ was left as it was") from None
    old = dist.with_name(f"{OLD_PREFIX}{os.getpid()}")
    try:
        os.rename(dist, old)
    except OSError as exc:
        raise _fail(dist, f"cannot move the previous {shown}/ aside: {reason(exc)}; "
                          f"{shown}/ was left as it was") from None
    try:
        os.rename(staging, dist)
    except OSError as exc:
        try:
            os.rename(old, dist)
        except OSError:
            raise _fail(dist, f"cannot move the new build into {shown}/: {reason(exc)}; the previous release is "
                              f"in {old.name}, which the next build puts back") from None
        raise _fail(dist, f"cannot move the new build into {shown}/: {reason(exc)}; "
                          f"{shown}/ was left as it was") from None
    remove(old)


AT_FDCWD, RENAME_EXCHANGE = -100, 2
_renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
if _renameat2 is not None:
    _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    _renameat2.restype = ctypes.c_int


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step; False where the system or filesystem cannot (then rename twice)."""
    if _renameat2 is None:
        return False
    if _renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


class FormatFailure(Exception):
    """Raised from an edition's rendering with the format it was writing; the cause is the real error."""

    def __init__(self, fmt: str):
        super().__init__(fmt)
        self.fmt = fmt


def edition_failure(exc: Exception, edition, dist: Path, staging: Path, artifact_name: Callable) -> Diagnostic:
    """A failure while building one edition: its artifact (or folder, while parsing), edition and format."""
    folder = dist / edition.publication.slug / edition.tag
    if isinstance(exc, FormatFailure) and exc.__cause__ is not None:
        path, doing, exc = folder / artifact_name(edition, exc.fmt), f"as {exc.fmt.upper()}", exc.__cause__
    else:
        path, doing = folder, "(reading it with pandoc)"
    return error(path, 1, f"cannot build the {edition.tag} edition {doing}: {reason(exc, staging, dist)}", "render")


BUILD_FOLDERS = ("build",)  # caches and review material (build/glossary, build/previews, a build cache)


def clean(root: Path, dist: Path) -> list[Path]:
    """Remove what builds write (dist/, build/, leftover staging and old folders), never sources or catalogs.

    Refuses, without waiting, while a build holds the lock: deleting dist/ under it would lose its release.
    """
    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDONLY) if path.exists() else None
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise _fail(path, "a build is running in this project (it holds the build lock); wait for it to "
                                  "finish, then clean") from None
        removed = []
        targets = [dist] + [root / name for name in BUILD_FOLDERS] + sorted(root.glob(STAGING_PREFIX + "*")) \
            + sorted(root.glob(OLD_PREFIX + "*"))
        for target in targets:
            if os.path.lexists(target):
                remove(target)
                if os.path.lexists(target):
                    raise _fail(target, f"cannot remove {display_path(target)}; check its permissions")
                removed.append(target)
        return removed
    finally:
        if fd is not None:
            os.close(fd)
