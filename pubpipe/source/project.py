"""Where a project keeps its sources, templates, catalogs and release: one place to ask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_STYLE = "iyrp-author-date"  # templates/csl/<name>.csl, when publication.yaml names no citation_style


@dataclass(frozen=True)
class Project:
    root: Path
    dist_dir: Path | None = None  # `--dist DIR`: the release goes there instead of <root>/dist

    content = property(lambda self: self.root / "content")
    templates = property(lambda self: self.root / "templates")
    locales = property(lambda self: self.root / "locales")
    dist = property(lambda self: self.dist_dir or self.root / "dist")
    csl_dir = property(lambda self: self.root / "templates" / "csl")
    csl = property(lambda self: self.csl_dir / f"{DEFAULT_STYLE}.csl")

    def style(self, name: str | None) -> Path:
        """The CSL file of a citation style named in publication.yaml (`citation_style`)."""
        return self.csl_dir / f"{name or DEFAULT_STYLE}.csl"
