"""Review material: page 1 of every PDF and the top of every HTML edition, as PNG.

Written to build/previews/ (not committed) for a person to look at. PDFs go
through poppler's pdftoppm; HTML through headless Chromium, as a reader's
browser would show it, on a desktop and on a phone.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from pubpipe.diagnostics import PipelineError, error

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]
VIEWPORTS = {"desktop": (1280, 1000), "phone": (390, 844)}


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def render_previews(project, langs: list[str] | None, slugs: list[str] | None) -> list[Path]:
    out = project.root / "build" / "previews"
    out.mkdir(parents=True, exist_ok=True)
    browser = _chromium()
    missing = [name for name, found in (("pdftoppm (Debian package poppler-utils)", shutil.which("pdftoppm")),
                                        ("chromium (Debian package chromium)", browser)) if not found]
    if missing:
        raise PipelineError([error("build/previews", 1, f"{', '.join(missing)} not installed", "previews")])
    written = []
    editions = sorted(p for p in project.dist.glob("*/*") if p.is_dir())
    for folder in editions:
        slug, lang = folder.parent.name, folder.name
        if (langs and lang not in langs) or (slugs and slug not in slugs):
            continue
        for pdf in folder.glob("*.pdf"):
            target = out / f"{slug}.{lang}.pdf-page1"
            subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                            str(target)], check=True)
            written.append(Path(f"{target}.png"))
        page = folder / "index.html"
        if page.exists():
            for name, (width, height) in VIEWPORTS.items():
                target = out / f"{slug}.{lang}.html-{name}.png"
                with tempfile.TemporaryDirectory() as profile:
                    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                    f"--window-size={width},{height}", f"--screenshot={target}",
                                    page.resolve().as_uri()], check=True, capture_output=True, timeout=120)
                written.append(target)
    return written
