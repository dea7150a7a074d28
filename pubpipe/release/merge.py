"""Merge the shards of a release (built apart, e.g. one CI job per publication and language) into one dist/.

Each shard is a dist/ folder written by `build.py --publication S --lang L
--dist DIR`. Their editions' files are copied as they are; their manifests
are combined (editions in the order publication.yaml declares them,
publications by slug), and the landing page, feeds, deposits, cover and
SHA256SUMS are written from the combined manifest (release/finish.py), so
the result equals a full build byte for byte. Shards that disagree on their
provenance (another commit, another SOURCE_DATE_EPOCH, other tools or fonts)
cannot make one release: the merge refuses them, naming what differs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pubpipe.diagnostics import Diagnostic, PipelineError, error, raise_if_errors
from pubpipe.release.checksums import NAME as SUMS
from pubpipe.release.finish import COVER_NAME

TOP_LEVEL = {"manifest.json", "index.html", "feed.atom", "opds.xml", SUMS}  # written again from the merged manifest
SAME = ("source_commit", "tree_clean", "source_date_epoch", "tools")  # what every shard's provenance must share
CHECK = "merge"


def read_shard(folder: Path) -> tuple[dict | None, list[Diagnostic]]:
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [error(path, 1, f"{folder} is not a shard: it has no manifest.json (build it with "
                                     "'build.py --publication S --lang L --dist DIR')", CHECK)]
    except (OSError, ValueError) as exc:
        return None, [error(path, 1, f"cannot read the shard's manifest: {exc}", CHECK)]
    if not isinstance(manifest, dict) or not isinstance(manifest.get("publications"), list) \
            or not isinstance(manifest.get("provenance"), dict):
        return None, [error(path, 1, "not a release manifest (no publications or no provenance); build the shard "
                                     "again with this version of pubpipe", CHECK)]
    return manifest, []


def merged_provenance(shards: list[tuple[Path, dict]]) -> tuple[dict, list[Diagnostic]]:
    """The provenance every shard shares; fonts are the union (each shard draws from its languages' faces)."""
    (first_path, first), problems = shards[0], []
    base = first["provenance"]
    fonts = dict(base.get("fonts", {}))
    for path, manifest in shards[1:]:
        other = manifest["provenance"]
        for key in SAME:
            if other.get(key) != base.get(key):
                what = {"source_commit": "built from different commits",
                        "tree_clean": "built from trees in different states (clean and modified)",
                        "source_date_epoch": "stamped with different SOURCE_DATE_EPOCH values",
                        "tools": "built with different tool versions"}[key]
                problems.append(error(path / "manifest.json", 1, f"shards {what}: {other.get(key)!r} here, "
                                      f"{base.get(key)!r} in {first_path}; build every shard from one checkout "
                                      "with one SOURCE_DATE_EPOCH", CHECK))
        for font, digest in other.get("fonts", {}).items():
            if fonts.setdefault(font, digest) != digest:
                problems.append(error(path / "manifest.json", 1, f"shards built with different font files: "
                                      f"{font} differs from the one in {first_path}", CHECK))
    return {**base, "fonts": dict(sorted(fonts.items()))}, problems


def merge_manifests(shards: list[tuple[Path, dict]]) -> tuple[dict, list[Diagnostic]]:
    provenance, problems = merged_provenance(shards)
    publications: dict[str, dict] = {}
    editions: dict[str, dict[str, tuple[Path, dict]]] = {}
    for path, manifest in shards:
        for publication in manifest["publications"]:
            slug = publication["slug"]
            head = {k: v for k, v in publication.items() if k not in ("editions", "cover")}
            if publications.setdefault(slug, head) != head:
                problems.append(error(path / "manifest.json", 1, f"the shards describe '{slug}' differently "
                                                                 "(title, languages or date)", CHECK))
            for edition in publication["editions"]:
                seen = editions.setdefault(slug, {}).setdefault(edition["lang"], (path, edition))
                if seen[1] != edition:
                    problems.append(error(path / "manifest.json", 1, f"edition {slug}/{edition['lang']} is also in "
                                          f"{seen[0]}, built differently", CHECK))
    out = []
    for slug in sorted(publications):
        head = publications[slug]
        order = head.get("languages") or sorted(editions[slug])
        kept = [editions[slug][tag][1] for tag in order if tag in editions[slug]]
        out.append({**head, "editions": kept})
    return {"publications": out, "provenance": provenance}, problems


def copy_shard(folder: Path, staging: Path, origin: dict[str, Path]) -> list[Diagnostic]:
    """Copy a shard's edition files; the same path from two shards must hold the same bytes."""
    problems = []
    for source in sorted(folder.rglob("*")):
        relative = source.relative_to(folder)
        if not source.is_file() or str(relative) in TOP_LEVEL or relative.name == COVER_NAME \
                and len(relative.parts) == 2:
            continue
        target = staging / relative
        if target.exists():
            if target.read_bytes() != source.read_bytes() and not relative.name.endswith(".zenodo.json"):
                problems.append(error(source, 1, f"{relative} differs from the same file in "
                                                 f"{origin[str(relative)]}", CHECK))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        origin[str(relative)] = folder
    return problems


def merge_shards(folders: list[Path], staging: Path) -> dict:
    """Copy every shard into `staging` and return the combined manifest; raise PipelineError on a conflict."""
    shards, problems = [], []
    for folder in folders:
        manifest, found = read_shard(folder)
        problems += found
        if manifest is not None:
            shards.append((folder, manifest))
    raise_if_errors(problems)
    if not shards:
        raise PipelineError([error(".", 1, "merge needs at least one shard folder", CHECK)])
    manifest, problems = merge_manifests(shards)
    origin: dict[str, Path] = {}
    for folder, _manifest in shards:
        problems += copy_shard(folder, staging, origin)
    raise_if_errors(problems)
    return manifest


def merge_release(project, folders: list[Path], notice) -> dict:
    """`build.py merge DIR...`: the shards become the project's dist/ (or --dist), in one swap."""
    from pubpipe.release import publish
    from pubpipe.release.finish import finish

    missing = [error(folder, 1, "no such shard folder", CHECK) for folder in folders if not folder.is_dir()]
    raise_if_errors(missing)
    with publish.staging_folder(project.root, project.dist, notice) as staging:
        manifest = merge_shards(folders, staging)
        finish(project.templates, staging, project.dist, manifest)
        publish.commit(staging, project.dist)
    return manifest
