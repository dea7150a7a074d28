"""Shared fixtures: a private copy of the project, built once per session."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from pubpipe.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "content" / "outgrowing-offsetting" / "seed.zh-Hans.txt"  # the Chinese PDF extraction, as received
SLUG = "outgrowing-offsetting"


def copy_project(target: Path) -> Path:
    for name in ("content", "templates", "locales"):
        shutil.copytree(ROOT / name, target / name)
    return target


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The whole release, built from a copy of the repository's sources."""
    root = copy_project(tmp_path_factory.mktemp("project"))
    assert main(["--quiet"], root) == 0
    return root


@pytest.fixture()
def project(tmp_path) -> Path:
    """A fresh copy of the sources that a test may break."""
    return copy_project(tmp_path)


def artifact(root: Path, lang: str, fmt: str) -> Path:
    name = "index.html" if fmt == "html" else f"{SLUG}.{lang}.{fmt}"
    return root / "dist" / SLUG / lang / name


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def replace_in(path: Path, old: str, new: str) -> None:
    """Edit a fixture file in place; the text to replace must be there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not found in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def catalog_file(project: Path, lang: str, domain: str = SLUG) -> Path:
    return project / "locales" / lang / "LC_MESSAGES" / f"{domain}.po"


# New languages, one of each kind, the first of each that a publication does not declare: one left to right
# for which pandoc has no terms (Swahili, else Hausa), one right to left (Persian, else Pashto).
NEW_LANGUAGES = (("sw", "ha"), ("fa", "ps"))


def add_empty_editions(project: Path, slug: str, kinds: tuple[tuple[str, ...], ...] = NEW_LANGUAGES) -> list[str]:
    """The day a language is added: for each kind, the first tag the publication does not declare becomes a draft
    edition with nothing translated (no catalog, content or ui, until `update` makes them empty). The tags added."""
    metadata = project / "content" / slug / "publication.yaml"
    text = metadata.read_text(encoding="utf-8")
    added = [next(tag for tag in tags if not re.search(rf"^  {re.escape(tag)}:", text, re.M)) for tags in kinds]
    declared = "".join(f"  {tag}: {{status: draft}}\n" for tag in added)
    text, count = re.subn(r"^languages:\n", lambda m: m.group(0) + declared, text, count=1, flags=re.M)
    assert count == 1, f"no languages: block in {metadata}"
    metadata.write_text(text, encoding="utf-8")
    for tag in added:
        for domain in (slug, "ui"):
            catalog_file(project, tag, domain).unlink(missing_ok=True)
    return added


# Every publication the tests know: those of content/, and the fixture publications under tests/fixtures/
# (each a content folder with its catalogs in locales/ beside it). Tests that should hold for any
# publication take `publication` (parametrized below) or iterate over PUBLICATIONS.
FIXTURES = ROOT / "tests" / "fixtures"


@dataclass(frozen=True)
class KnownPublication:
    slug: str
    source: Path  # the content folder (publication.yaml, brief.md, ...)
    locales: Path  # the folder holding <lang>/LC_MESSAGES/<slug>.po

    @property
    def is_fixture(self) -> bool:
        return self.source.parent == FIXTURES


def known_publications() -> list[KnownPublication]:
    found = [KnownPublication(p.parent.name, p.parent, ROOT / "locales")
             for p in sorted((ROOT / "content").glob("*/publication.yaml"))]
    found += [KnownPublication(p.parent.name, p.parent, p.parent / "locales")
              for p in sorted(FIXTURES.glob("*/publication.yaml"))]
    return found


PUBLICATIONS = known_publications()


def install_publication(known: KnownPublication, project_root: Path) -> Path:
    """Copy a fixture publication (content and catalogs) into a project made by copy_project or by hand."""
    shutil.copytree(known.source, project_root / "content" / known.slug, ignore=shutil.ignore_patterns("locales"),
                    dirs_exist_ok=True)
    if known.is_fixture and known.locales.is_dir():
        shutil.copytree(known.locales, project_root / "locales", dirs_exist_ok=True)
    if not (project_root / "templates").exists():
        shutil.copytree(ROOT / "templates", project_root / "templates")
    return project_root / "content" / known.slug


def publication_project(known: KnownPublication, target: Path) -> Path:
    """A project holding just this one publication (its sources, its catalogs and the templates)."""
    (target / "content").mkdir(parents=True, exist_ok=True)
    (target / "locales").mkdir(parents=True, exist_ok=True)
    if not known.is_fixture:  # content/ catalogs live in the shared locales/ tree
        shutil.copytree(ROOT / "locales", target / "locales", dirs_exist_ok=True)
    install_publication(known, target)
    return target


@pytest.fixture(params=PUBLICATIONS, ids=[p.slug for p in PUBLICATIONS])
def publication(request) -> KnownPublication:
    """Parametrizes a test over every publication of content/ and every fixture publication."""
    return request.param


@pytest.fixture(scope="session", params=PUBLICATIONS, ids=[p.slug for p in PUBLICATIONS])
def released(request, tmp_path_factory):
    """(publication, project root, manifest entry) after update and a full build of that publication: built
    once per session for every test that reads a publication's artifacts (never modify it)."""
    import json

    known = request.param
    root = publication_project(known, tmp_path_factory.mktemp(known.slug))
    assert main(["update"], root) == 0
    assert main(["--quiet"], root) == 0
    manifest = json.loads((root / "dist" / "manifest.json").read_text(encoding="utf-8"))
    entry = next(p for p in manifest["publications"] if p["slug"] == known.slug)
    return known, root, entry
