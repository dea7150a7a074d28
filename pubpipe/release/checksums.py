"""dist/SHA256SUMS: every file of the release with its SHA-256, in the form `sha256sum -c` reads.

Listed in byte order of their paths relative to dist/, so the file is the
same wherever the release was built or merged; SHA256SUMS leaves itself out.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

NAME = "SHA256SUMS"


_KNOWN: dict[tuple, str] = {}  # (path, inode, size, mtime) -> SHA-256: the manifest and SHA256SUMS read each file


def _identity(path: Path, stat: os.stat_result) -> tuple:
    return str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns


def file_sha256(path: Path) -> str:
    with path.open("rb") as stream:
        identity = _identity(path, os.fstat(stream.fileno()))
        if identity not in _KNOWN:
            digest = hashlib.sha256()
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
            _KNOWN[identity] = digest.hexdigest()
    return _KNOWN[identity]


def known_sha256(path: Path, sha: str | None = None) -> str | None:
    """The SHA-256 this process knows for the file as it is now (None if none); with `sha`, first record it
    (a hash remembered from an earlier build while the file kept its size and time)."""
    try:
        identity = _identity(path, path.stat())
    except OSError:
        return None
    if sha is not None:
        _KNOWN[identity] = sha
    return _KNOWN.get(identity)


def release_files(folder: Path) -> list[str]:
    """Every regular file under `folder` but SHA256SUMS, as POSIX paths relative to it, in byte order."""
    names = [path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()
             and not path.is_symlink()]
    return sorted((name for name in names if name != NAME), key=lambda name: name.encode("utf-8"))


def sha256sums(folder: Path) -> str:
    """`<sha256>  <path>` per line (two spaces: text mode, as sha256sum writes it)."""
    return "".join(f"{file_sha256(folder / name)}  {name}\n" for name in release_files(folder))
