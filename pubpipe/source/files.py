"""Reading and writing the files people contribute, without ever leaving the repository or half-writing one.

Catalogs come from outside contributors, so a catalog may be a symbolic link
to somewhere else (`/etc/passwd`, a file of another project). Nothing is read
or written through a link that resolves outside the project root, and every
write goes to a temporary file in the same folder that then replaces the
target in one rename: an interrupted or failed write leaves the old file
byte-identical.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

MAX_CATALOG_BYTES = 16 * 1024 * 1024  # a catalog of a long brief is ~100 KB; a thousand briefs would still fit


class OutsideRepository(ValueError):
    """The path resolves to a place outside the project root (through a symbolic link, say)."""


def inside(path: Path, root: Path) -> Path:
    """The resolved path, if it stays within `root`; OutsideRepository otherwise."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise OutsideRepository(f"{path} resolves to {resolved}, outside the repository (a symbolic link?); "
                                "it is neither read nor written")
    return resolved


def read_bytes_inside(path: Path, root: Path, limit: int = MAX_CATALOG_BYTES) -> bytes:
    """The file's bytes; OutsideRepository or ValueError (too big) instead of reading what it must not."""
    resolved = inside(path, root)
    size = resolved.stat().st_size
    if size > limit:
        raise ValueError(f"the file is {size / 1048576:.1f} MB, over the limit of {limit // 1048576} MB; "
                         "is it really a catalog?")
    return resolved.read_bytes()


def write_atomic(path: Path, data: str | bytes, root: Path) -> None:
    """Replace `path` with `data` in one rename, after a complete write; never through a link leaving `root`."""
    target = inside(path, root) if path.exists() or path.is_symlink() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
