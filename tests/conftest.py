"""Shared fixtures: a private copy of the project, built once per session."""

from __future__ import annotations

import shutil
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
