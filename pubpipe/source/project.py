"""Where a project keeps its sources, templates, catalogs and release: one place to ask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    root: Path

    content = property(lambda self: self.root / "content")
    templates = property(lambda self: self.root / "templates")
    locales = property(lambda self: self.root / "locales")
    dist = property(lambda self: self.root / "dist")
    csl = property(lambda self: self.root / "templates" / "iyrp-author-date.csl")
