"""Provenance of a release, recorded in manifest.json: what it was built from and with.

The source commit and whether the tree was clean (source/provenance.py), the
SOURCE_DATE_EPOCH it was stamped with, the versions of the tools that shape
the bytes (pandoc, typst, babel, python, pubpipe) and the SHA-256 of every
font file the PDFs could draw from. Per edition, the catalog's revision date
(PO-Revision-Date); per artifact, one SHA-256 over its inputs by content (`inputs`: its
sources, catalogs and templates, SOURCE_DATE_EPOCH, the tool versions and, for PDF and EPUB, the font
files), so the manifest is the same wherever the release is built. Shards of a
release merge only if these agree (release/merge.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from pubpipe.release.cache import Store, digest_json, font_identity
from pubpipe.release.checksums import file_sha256, known_sha256
from pubpipe.render.fonts import _typst_fonts, stack_for
from pubpipe.source.languages import parse_language
from pubpipe.source.provenance import source_commit

REVISION = re.compile(r'^"PO-Revision-Date: *([^\\"]*)', re.M)


def tool_versions() -> dict[str, str]:
    import platform  # here: asked by one worker per build (release_facts), not at start-up
    from importlib import metadata

    import babel
    import pypandoc

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "unknown"

    return {"pandoc": pypandoc.get_pandoc_version(), "typst": version("typst"), "babel": babel.__version__,
            "python": platform.python_version(), "pubpipe": version("pubpipe")}


def font_file_paths(tags: list[str]) -> list[str]:
    """Every installed font file of the families in these languages' stacks."""
    families = {family for tag in tags for family in stack_for(parse_language(tag)).families}
    return sorted({str(face.path) for face in _typst_fonts() if face.family in families and face.path})


def font_files(tags: list[str]) -> dict[str, str]:
    """path -> SHA-256 of every installed font file of the families in these languages' stacks."""
    return {path: file_sha256(Path(path)) for path in font_file_paths(tags)}


def remember_font_hashes(root: Path, paths: list[str], compute: bool = True) -> bool:
    """Take the fonts' SHA-256 from build/cache/fonts/ while the files keep their size and time (as git's
    index does: the CJK collections are 100 MB, 0.12 s to hash, on every build); with `compute`, hash
    and remember what is not there. True when every path is known."""
    store = Store(root)
    key = digest_json(font_identity(paths))
    remembered = store.get_json("fonts", key)
    if isinstance(remembered, dict):
        for path in paths:
            if isinstance(remembered.get(path), str):
                known_sha256(Path(path), remembered[path])
    if all(known_sha256(Path(path)) for path in paths):
        return True
    if compute:
        store.put_json("fonts", key, {path: file_sha256(Path(path)) for path in paths})
    return compute


def catalog_revision(root: Path, inputs: dict[str, str], slug: str) -> str | None:
    """The PO-Revision-Date of the edition's content catalog (None for the source edition)."""
    catalog = next((name for name in sorted(inputs) if name.endswith(f"/LC_MESSAGES/{slug}.po")), None)
    if catalog is None:
        return None
    try:
        found = REVISION.search((root / catalog).read_text(encoding="utf-8"))
    except OSError:
        return None
    return found.group(1).strip() if found else None


def inputs_digest(inputs: dict[str, str]) -> str:
    """One SHA-256 over a map of input path -> SHA-256 (canonical JSON)."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def artifact_inputs(slug: str, tag: str, fmt: str, epoch: int, inputs: dict[str, str], tools: dict) -> str:
    """One SHA-256 over what shaped an artifact, by content only: the build cache's key (release/keys.py) also
    holds the virtual environment's path and files' modification times, which differ from one checkout or
    machine to the next, so it cannot go into a manifest that must be byte-identical wherever it is built.
    pubpipe's own code is named by `source_commit` in the provenance, not hashed here."""
    from pubpipe.release.keys import EMBEDS_FONTS, inputs_for

    return inputs_digest({"artifact": [slug, tag, fmt], "epoch": epoch, "inputs": inputs_for(fmt, inputs),
                          "tools": tools, "fonts": font_files([tag]) if fmt in EMBEDS_FONTS else {}})


def release_facts(project) -> dict:
    """What the provenance asks of other programs (`pandoc --version`, git): a build asks it in a worker,
    beside the artifacts, rather than on one core after them."""
    return {"tools": tool_versions(), "commit": source_commit(project)}


def annotate(manifest: dict, project, epoch: int, facts: dict | None = None) -> dict:
    """Add the release provenance to a manifest: top level, per edition and per artifact. `facts`: what
    release_facts gave, when a build's worker has asked already."""
    facts = facts or release_facts(project)
    pdf_tags = sorted({e["lang"] for p in manifest["publications"] for e in p["editions"]
                       if any(a["format"] == "pdf" for a in e["artifacts"])})
    remember_font_hashes(project.root, font_file_paths([e["lang"] for p in manifest["publications"]
                                                        for e in p["editions"]]))
    tools = facts["tools"]
    for publication in manifest["publications"]:
        for edition in publication["editions"]:
            edition["catalog_revision"] = catalog_revision(project.root, edition.get("inputs", {}),
                                                           publication["slug"])
            for artifact in edition["artifacts"]:
                artifact["inputs"] = artifact_inputs(publication["slug"], edition["lang"], artifact["format"],
                                                     epoch, edition.get("inputs", {}), tools)
    commit = facts["commit"]
    manifest["provenance"] = {"source_commit": commit["commit"], "tree_clean": commit["clean"],
                              "source_date_epoch": epoch, "tools": tools, "fonts": font_files(pdf_tags)}
    return manifest
