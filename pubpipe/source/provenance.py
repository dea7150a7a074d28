"""Where the sources come from: the commit they were built from, and the time a build stamps on its files.

A build is reproducible only if its timestamp comes from the sources, never
from the clock: SOURCE_DATE_EPOCH defaults to the time of the last commit that
touched a publication (its content folder and its catalogs), or, outside a git
checkout, to the publication's date. The command is asked with `git -C`, so a
project that is a sub-folder of a checkout works too; any failure of git (not
installed, not a checkout, an untrusted owner) means "not a checkout".
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

UNKNOWN = "unknown"


def _git(root: Path, *args: str) -> str | None:
    """The output of a git command run in `root`, or None if git fails or the project is not in a checkout."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _toplevel(root: Path) -> Path | None:
    top = _git(root, "rev-parse", "--show-toplevel")
    return Path(top) if top else None


def publication_paths(root: Path, slug: str) -> list[str]:
    """What a publication is made of, as git pathspecs relative to the project: its folder and its catalogs."""
    return [f"content/{slug}", f":(glob)locales/*/LC_MESSAGES/{slug}.po", ":(glob)locales/*/LC_MESSAGES/ui.po",
            f"locales/{slug}.pot"]


def last_commit_time(root: Path, slugs: list[str]) -> int | None:
    """The commit time of the last commit that touched any of these publications; None outside git."""
    if _toplevel(root) is None:
        return None
    paths = [path for slug in slugs for path in publication_paths(root, slug)]
    stamp = _git(root, "log", "-1", "--format=%ct", "--", *paths)
    return int(stamp) if stamp and stamp.isdigit() else None


def publication_date_epoch(publications: list) -> int:
    """The latest publication date (a year alone counts as its 1 January), as seconds since 1970 UTC."""
    days = []
    for publication in publications:
        date = publication.date
        days.append(dt.date(date, 1, 1) if isinstance(date, int) else date)
    day = max(days) if days else dt.date(2026, 1, 1)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def source_date_epoch(project, publications: list) -> int:
    """The default SOURCE_DATE_EPOCH (when the variable is not set): the last commit touching the publications,
    else (not a git checkout, or nothing committed yet) their publication date; never the clock."""
    stamp = last_commit_time(project.root, [p.slug for p in publications]) if publications else None
    return stamp if stamp is not None else publication_date_epoch(publications)


def source_commit(project) -> dict:
    """The commit the project was built from, and whether the working tree matched it (git status, untracked
    files included; ignored files such as dist/ are not); "unknown" for both outside a git checkout."""
    root = project.root
    if _toplevel(root) is None:
        return {"commit": UNKNOWN, "clean": UNKNOWN}
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--", ".")
    return {"commit": commit or UNKNOWN, "clean": UNKNOWN if status is None else status == ""}
