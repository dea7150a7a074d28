"""What an edition is built from, hashed: the manifest records it, `check --artifacts` compares it.

Every input is named by its path relative to the project (POSIX, never absolute): the publication's
brief.md, publication.yaml, references.yaml and glossary.yaml, its figures (and the edition's own
variants), the edition's content and ui catalogs, the templates and the CSL style it cites with.
A file that is missing is recorded as "missing", so its appearing later also makes the edition stale.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pubpipe.source.figures import declared_figures, variant_path
from pubpipe.source.project import Project
from pubpipe.translate.catalogs import catalog_path
from pubpipe.translate.ui import ui_catalog_path

SOURCE_FILES = ("brief.md", "publication.yaml", "references.yaml", "glossary.yaml")
TEMPLATE_SUFFIXES = (".j2", ".css")
MISSING = "missing"


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return MISSING


def input_paths(project: Project, edition) -> list[Path]:
    """Every file the edition's artifacts depend on, in a stable order."""
    publication, language = edition.publication, edition.language
    paths = [publication.root / name for name in SOURCE_FILES]
    for figure in declared_figures(publication):
        paths += [publication.root / figure.path, publication.root / variant_path(figure.path, edition.tag)]
    if not edition.is_source:
        paths += [catalog_path(project.locales, publication, language), ui_catalog_path(project.locales, language)]
    if project.templates.is_dir():
        paths += sorted(p for p in project.templates.iterdir() if p.is_file() and p.suffix in TEMPLATE_SUFFIXES)
    paths.append(project.style(publication.citation_style))
    return list(dict.fromkeys(paths))


def _name(project: Project, path: Path) -> str:
    try:
        return path.resolve().relative_to(project.root.resolve()).as_posix()
    except ValueError:
        return path.name  # never an absolute path in the manifest


def edition_inputs(project: Project, edition) -> dict[str, str]:
    """{path relative to the project: SHA-256} for every input of the edition ("missing" if absent)."""
    return {_name(project, path): _digest(path) for path in input_paths(project, edition)}


def changed_inputs(project: Project, edition, recorded: dict[str, str]) -> list[str]:
    """The inputs whose content differs from what the manifest recorded (added, removed or edited)."""
    current = edition_inputs(project, edition)
    return sorted(name for name in set(current) | set(recorded) if current.get(name, MISSING) !=
                  recorded.get(name, MISSING))
