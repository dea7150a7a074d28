"""The content-addressed artifact cache under build/cache/: what decides what to rebuild.

An artifact (publication, edition, format) is keyed by the SHA-256 of
everything that shapes its bytes: the edition's sources, catalogs, figures,
CSL style and the templates that format uses, the font files its faces
resolve to, SOURCE_DATE_EPOCH, the installed packages (pandoc, Typst,
Babel...) and pubpipe's own source files, so a code change never serves a
stale artifact. An entry holds the files a format writes and their SHA-256,
and is stored only after the artifact was verified; a reused entry is
checked against those hashes, and one that fails is dropped and rebuilt,
never published.

Standard library only: the no-op path reads it without loading any engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path

from pubpipe.source.files import OutsideRepository, write_atomic

CACHE_DIR = Path("build") / "cache"
PACKAGE = Path(__file__).resolve().parent.parent  # pubpipe/
CODE_SUFFIXES = (".py", ".json")
ENTRY = "entry.json"


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_json(value: object) -> str:
    """One SHA-256 over a JSON value, canonically serialized."""
    return digest_bytes(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())


def file_digest(path: Path) -> str:
    try:
        return digest_bytes(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return "missing"


@cache
def code_digest() -> str:
    """pubpipe's own source: every .py and .json file of the package and of schemas/, by path and content."""
    files = sorted(p for folder in (PACKAGE, PACKAGE.parent / "schemas") for p in folder.rglob("*")
                   if p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts)
    return digest_json({p.relative_to(PACKAGE.parent).as_posix(): file_digest(p) for p in files})


@cache
def tools_digest() -> str:
    """The installed Python packages (their dist-info names carry the versions of pandoc's wheel, typst,
    Babel, Jinja2, fontTools...), the interpreter's version and the pandoc binary pypandoc runs (PYPANDOC_PANDOC
    or its own; by path, size and modification time): a package upgrade invalidates every entry. A directory
    listing, no import."""
    parts: dict[str, object] = {"python": sys.version}
    pandoc = os.environ.get("PYPANDOC_PANDOC")  # pypandoc runs this one instead of its own when set
    for folder in sorted({p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)}):
        parts[folder] = sorted(n for n in os.listdir(folder) if n.endswith(".dist-info"))
        bundled = Path(folder) / "pypandoc" / "files" / "pandoc"
        if pandoc is None and bundled.exists():
            pandoc = str(bundled)
    try:
        stat = os.stat(pandoc) if pandoc else None
        parts["pandoc"] = [pandoc, stat.st_size, stat.st_mtime_ns] if stat else None
    except OSError:
        parts["pandoc"] = [pandoc]
    return digest_json(parts)


def font_identity(paths: list[str]) -> dict[str, list[int]]:
    """Font files by path, size and modification time: a package upgrade changes them, and hashing the
    CJK collections (some 100 MB) on every build would cost more than the build."""
    out = {}
    for path in sorted(set(paths)):
        try:
            stat = os.stat(path)
            out[path] = [stat.st_size, stat.st_mtime_ns]
        except OSError:
            out[path] = [-1, -1]
    return out


class Store:
    """build/cache/artifacts/<key[:2]>/<key>/: the files of one artifact and entry.json with their SHA-256."""

    def __init__(self, root: Path):
        self.folder = root / CACHE_DIR / "artifacts"
        self.dropped: list[str] = []  # keys of corrupt entries found (and removed) by `get`

    def _entry(self, key: str) -> Path:
        return self.folder / key[:2] / key

    def get(self, key: str) -> tuple[dict[str, bytes], dict] | None:
        """The files of an entry and its metadata, each file checked against its recorded SHA-256.

        None for a miss; a corrupt or incomplete entry is removed (and so rebuilt) and also gives None,
        its key noted in `dropped`."""
        folder = self._entry(key)
        try:
            meta = json.loads((folder / ENTRY).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self._drop(folder, key)
            return None
        files: dict[str, bytes] = {}
        try:
            for name, sha in meta["files"].items():
                data = (folder / name).read_bytes()
                if digest_bytes(data) != sha:
                    raise ValueError(name)
                files[name] = data
        except (OSError, ValueError, KeyError, AttributeError):
            self._drop(folder, key)
            return None
        return files, meta

    def put(self, key: str, files: dict[str, bytes], meta: dict) -> None:
        """Store an entry atomically (a temporary folder renamed into place); a failure only loses the entry."""
        target, scratch = self._entry(key), None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
            for name, data in files.items():
                (scratch / name).write_bytes(data)
            record = {**meta, "files": {name: digest_bytes(data) for name, data in files.items()}}
            (scratch / ENTRY).write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
            self._drop(target)
            os.rename(scratch, target)
        except OSError:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)

    def get_json(self, kind: str, key: str):
        """A small remembered result (build/cache/<kind>/<key>.json), or None."""
        try:
            return json.loads((self.folder.parent / kind / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put_json(self, kind: str, key: str, value) -> None:
        try:  # a failure only costs a later build the time to work it out again
            write_atomic(self.folder.parent / kind / f"{key}.json", json.dumps(value, ensure_ascii=False),
                         self.folder.parent)
        except (OSError, OutsideRepository):
            pass

    def _drop(self, folder: Path, key: str | None = None) -> None:
        if key:
            self.dropped.append(key)
        shutil.rmtree(folder, ignore_errors=True)
