"""manifest.json: the contract for CI and the download pages.

Per publication and edition: language, status, completeness, the suggested
citation, every artifact with its path, SHA-256 and size, and the SHA-256 of
every input the edition was built from (`check --artifacts` reports an
edition whose inputs changed since as stale). A partial build
merges its results into the previous manifest.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pubpipe.release.checksums import file_sha256
from pubpipe.source.languages import parse_language
from pubpipe.source.publication import Publication


@dataclass(frozen=True)
class Artifact:
    format: str
    path: str  # relative to dist/
    sha256: str
    bytes: int
    inputs: str = ""  # SHA-256 of what shaped its bytes, by content (release/provenance.artifact_inputs)


@dataclass(frozen=True)
class EditionResult:
    lang: str
    name: str
    dir: str
    status: str
    completeness: float
    fallbacks: int
    suggested_citation: str
    artifacts: list[Artifact] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)  # what it was built from: path -> SHA-256 (verify.inputs)
    record: dict = field(default_factory=dict)  # the edition's bibliographic record (source/record.Record): feeds,
    # the landing page and the deposit metadata are written from it


def artifact_entry(dist: Path, path: Path, fmt: str, inputs: str = "") -> Artifact:
    return Artifact(fmt, str(path.relative_to(dist)), file_sha256(path), path.stat().st_size, inputs)


def title_language(publication: dict, edition: dict) -> tuple[str, str]:
    """(lang, dir) of an edition's title as the manifest records it: the source language's while the title is
    untranslated (the record's title is then its original title), else the edition's."""
    record = edition.get("record") or {}
    if edition["lang"] != publication["source_language"] and record.get("title") == record.get("original_title"):
        source = publication["source_language"]
        return source, next((e["dir"] for e in publication["editions"] if e["lang"] == source), None) \
            or parse_language(source).direction
    return edition["lang"], edition["dir"]


def read_manifest(dist: Path) -> dict:
    try:
        return json.loads((dist / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {"publications": []}


def merge_manifest(previous: dict, publications: list[Publication], results: dict[str, list[EditionResult]],
                   dist: Path, project=None, epoch: int | None = None, facts: dict | None = None) -> dict:
    """New results replace old ones; editions not rebuilt this time keep their entries if their files exist.

    Publications not loaded this time (a build of `--publication X`) keep their previous entries, in the
    previous order, with the editions whose files are still there. With `project` and `epoch`, the release
    provenance is added (release/provenance.py), with `facts` if a worker has gathered them already.
    """
    old = {p["slug"]: {e["lang"]: e for e in p.get("editions", [])} for p in previous.get("publications", [])}
    loaded = {publication.slug for publication in publications}
    out = [{**p, "editions": [e for e in p.get("editions", []) if all((dist / a["path"]).exists()
                                                                      for a in e.get("artifacts", []))]}
           for p in previous.get("publications", []) if p.get("slug") not in loaded]
    for publication in publications:
        editions = old.get(publication.slug, {})
        for result in results.get(publication.slug, []):
            editions[result.lang] = asdict(result)
        order = [spec.language.tag for spec in publication.editions]
        kept = [editions[tag] for tag in order if tag in editions
                and all((dist / a["path"]).exists() for a in editions[tag]["artifacts"])]
        out.append({"slug": publication.slug, "title": publication.strings["title"].text,
                    "subtitle": publication.strings["subtitle"].text, "year": publication.year,
                    "source_language": publication.source_language, "series": publication.meta.get("series", ""),
                    "genre_kind": publication.genre_kind, "languages": order, "editions": kept})
    manifest = {"publications": sorted(out, key=lambda p: p["slug"])}
    if project is not None and epoch is not None:
        from pubpipe.release.provenance import annotate

        manifest = annotate(manifest, project, epoch, facts)
    return manifest
