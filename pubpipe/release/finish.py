"""The files a release adds around its editions, written last into the staging folder.

Per edition its deposit metadata (source/deposit.py); per publication a cover
thumbnail (page 1 of its PDF, through poppler's pdftoppm); then manifest.json,
the landing page, the Atom feed and the OPDS catalog, and SHA256SUMS over
everything. Only the manifest and the staged files are read, so a build and a
merge of shards (release/merge.py) write the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pubpipe.diagnostics import PipelineError, error
from pubpipe.release import publish
from pubpipe.release.cache import Store, digest_json
from pubpipe.release.checksums import NAME as SUMS
from pubpipe.release.checksums import file_sha256, sha256sums
from pubpipe.release.feeds import atom_feed, opds_catalog
from pubpipe.release.index import FEED, OPDS, render_index
from pubpipe.source.deposit import DEPOSIT_SUFFIX, deposit_text, zenodo_metadata

COVER_NAME, COVER_SIZE = "cover.png", 320  # pixels on the long side


def write_deposits(staging: Path, dist: Path, manifest: dict) -> None:
    """`<slug>.<lang>.zenodo.json` beside each edition's files, recorded as the edition's `deposit` (metadata
    for a repository, not one of its formats, so not among its `artifacts`)."""
    for publication in manifest["publications"]:
        records = [e["record"] for e in publication["editions"] if e.get("record")]
        for edition in publication["editions"]:
            if not edition.get("record"):
                continue
            relative = f"{publication['slug']}/{edition['lang']}/{publication['slug']}.{edition['lang']}" \
                       + DEPOSIT_SUFFIX
            data = zenodo_metadata(edition["record"], records, publication["source_language"],
                                   publication.get("genre_kind", "brief"), edition.get("suggested_citation", ""))
            text = deposit_text(data)
            publish.write(staging, dist, relative, text)  # a full disk names the file, as dist/ shows it
            payload = text.encode("utf-8")
            edition["deposit"] = {"format": "zenodo", "path": relative,
                                  "sha256": hashlib.sha256(payload).hexdigest(), "bytes": len(payload)}


def cover_pdf(publication: dict) -> str | None:
    """The PDF whose page 1 is the cover: the source edition's, else the first edition that has one."""
    editions = sorted(publication["editions"], key=lambda e: e["lang"] != publication["source_language"])
    return next((a["path"] for e in editions for a in e["artifacts"] if a["format"] == "pdf"), None)


def cover_png(pdf: Path, shown: Path, store: Store | None = None) -> bytes:
    """Page 1 of `pdf` as a PNG, 320 px high (pdftoppm writes no date, so it is reproducible with the same
    poppler). With `store`, remembered by the PDF's SHA-256 and the pdftoppm binary: a preview or a catalog
    edit that leaves the PDF as it was does not render it again (50 ms). `shown`: the PDF as errors name it."""
    program = shutil.which("pdftoppm")
    if program is None:
        raise PipelineError([error(shown, 1, "pdftoppm is not installed (Debian package poppler-utils); "
                                             "it renders the cover thumbnails", "cover")])
    tool = os.stat(program)
    key = digest_json({"cover": [file_sha256(pdf), COVER_SIZE], "pdftoppm": [program, tool.st_size, tool.st_mtime_ns]})
    remembered = store.get(key) if store is not None else None
    data = remembered[0].get(COVER_NAME) if remembered is not None else None
    if data is not None:
        return data
    with tempfile.TemporaryDirectory(prefix="pubpipe-cover-") as folder:
        target = Path(folder) / COVER_NAME
        done = subprocess.run(["pdftoppm", "-png", "-f", "1", "-l", "1", "-singlefile", "-scale-to",
                               str(COVER_SIZE), str(pdf), str(target.with_suffix(""))], capture_output=True, text=True)
        if done.returncode != 0 or not target.exists():
            raise PipelineError([error(shown, 1, f"cannot render page 1 as the cover: "
                                                 f"{' '.join(done.stderr.split())[:300]}", "cover")])
        data = target.read_bytes()
    if store is not None:
        store.put(key, {COVER_NAME: data}, {})
    return data


def write_covers(staging: Path, dist: Path, manifest: dict, store: Store | None = None) -> None:
    """dist/<slug>/cover.png, page 1 of the PDF (cover_png); no PDF built, no cover. A build renders the
    source edition's cover in its worker, beside the other artifacts (pipeline.verify_artifact), and it is
    taken from `store` here."""
    for publication in manifest["publications"]:
        publication.pop("cover", None)
        pdf = cover_pdf(publication)
        if pdf is None:
            continue
        relative = f"{publication['slug']}/{COVER_NAME}"
        data = cover_png(staging / pdf, dist / pdf, store)
        (staging / relative).write_bytes(data)
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")  # PNG IHDR
        source = next((e for e in publication["editions"] if any(a["path"] == pdf for a in e["artifacts"])), {})
        publication["cover"] = {"path": relative, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                                "width": width, "height": height, "lang": source.get("lang", ""),
                                "language": source.get("name", "")}


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"


def finish(templates: Path, staging: Path, dist: Path, manifest: dict, store: Store | None = None) -> dict:
    """Deposits, covers, manifest.json, index.html, feed.atom, opds.xml, then SHA256SUMS; returns the manifest.
    `store`: the build's cache, where covers are remembered."""
    write_deposits(staging, dist, manifest)
    write_covers(staging, dist, manifest, store)
    publish.write(staging, dist, "manifest.json", manifest_text(manifest))
    publish.write(staging, dist, "index.html", render_index(templates, manifest))
    publish.write(staging, dist, FEED, atom_feed(manifest))
    publish.write(staging, dist, OPDS, opds_catalog(manifest))
    publish.write(staging, dist, SUMS, sha256sums(staging))
    return manifest
