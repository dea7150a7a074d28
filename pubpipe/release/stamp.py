"""The no-op rebuild: a build whose inputs and release are unchanged is answered without building.

After a successful build, build/cache/last-build.json records a key over
everything the build read (the command line, every file of content/,
locales/ and templates/, SOURCE_DATE_EPOCH and the commit time it defaults
to, pubpipe's own code, the installed packages, the font files), the SHA-256
of every file of dist/, and what the build said (warnings, the summary). A
later run with the same key, whose dist/ still has exactly those files,
replays that instead of loading anything: no catalog is read, no engine is
imported. Anything else falls through to the real build, whose artifact
cache (release/cache.py) then decides what to rebuild.

Standard library only, and cheap to import.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pubpipe.release.cache import CACHE_DIR, code_digest, digest_bytes, digest_json, font_identity, tools_digest
from pubpipe.source.files import OutsideRepository, write_atomic
from pubpipe.source.provenance import last_commit_time

STAMP = "last-build.json"
SOURCE_FOLDERS = ("content", "locales", "templates")
QUIET = ("-q", "--quiet")  # what is printed is no input
FONT_FOLDERS = ("/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.local/share/fonts"))


def _files(folder: Path) -> dict[str, str]:
    out = {}
    for top, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(top, name)
            out[path.relative_to(folder).as_posix()] = digest_bytes(path.read_bytes())
    return out


def inputs_key(root: Path, argv: list[str], epoch: str | None = None) -> str:
    """One SHA-256 over what a build with these arguments reads (fonts apart: `fonts` in the stamp).

    `epoch`: SOURCE_DATE_EPOCH as the build was started with (the build itself sets it)."""
    epoch = (os.environ.get("SOURCE_DATE_EPOCH", "") if epoch is None else epoch).strip()
    slugs = sorted(p.name for p in (root / "content").glob("*") if (p / "publication.yaml").exists())
    return digest_json({
        "argv": [arg for arg in argv if arg not in QUIET], "root": str(root), "epoch": epoch,
        "commit_time": last_commit_time(root, slugs) if slugs and not epoch else None,
        "sources": {name: _files(root / name) for name in SOURCE_FOLDERS},
        "code": code_digest(), "tools": tools_digest(),
    })


def dist_files(dist: Path) -> dict[str, str]:
    return _files(dist) if dist.is_dir() else {}


def font_state(paths: list[str]) -> str:
    """The font files the build could use, by identity, and the font folders two levels deep (a package
    that adds fonts changes a folder's modification time)."""
    folders = {}
    for top in FONT_FOLDERS:
        for folder in [top, *sorted(str(p) for pattern in ("*", "*/*") for p in Path(top).glob(pattern))]:
            try:
                folders[folder] = os.stat(folder).st_mtime_ns
            except OSError:
                continue
    return digest_json({"files": font_identity(paths), "folders": folders})


def record(root: Path, key: str, font_paths: list[str], summary: list[dict], warnings: list[dict]) -> None:
    """Remember a successful build (written atomically; a failure only costs the next no-op its speed)."""
    path = root / CACHE_DIR / STAMP
    data = {"key": key, "font_paths": font_paths, "fonts": font_state(font_paths), "dist": dist_files(root / "dist"),
            "summary": summary, "warnings": warnings}
    try:
        write_atomic(path, json.dumps(data, ensure_ascii=False), root)
    except (OSError, OutsideRepository):
        pass


def forget(root: Path) -> None:
    try:
        (root / CACHE_DIR / STAMP).unlink()
    except OSError:
        pass


def replay(root: Path, argv: list[str]) -> dict | None:
    """The recorded build if nothing it depends on changed and dist/ is exactly what it wrote, else None."""
    try:
        data = json.loads((root / CACHE_DIR / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != inputs_key(root, argv):
        return None
    if dist_files(root / "dist") != data.get("dist") or data.get("fonts") != font_state(data.get("font_paths", [])):
        return None
    return data
