"""dist/index.html: the landing page of the series, what readers and partners open first.

Each publication with its cover (page 1 of its PDF), title, subtitle, genre
and date; each edition in one table row with the same column order whatever
its language: the language named in itself, official or draft and how
complete, every file with its format, size and SHA-256, and the "Cite"
downloads. Only the text inside a cell takes its language's `lang` and `dir`,
so an Arabic row keeps its links where every other row has them.
"""

from __future__ import annotations

from pathlib import Path

from babel.numbers import format_percent
from babel.support import NullTranslations
from markupsafe import Markup

from pubpipe.release.manifest import title_language
from pubpipe.render.fonts import css_rules
from pubpipe.render.html import environment, render_page

FORMAT_LABELS = {"html": "HTML", "pdf": "PDF", "epub": "EPUB", "docx": "DOCX", "bib": "BibLaTeX (.bib)",
                 "ris": "RIS (.ris)", "zenodo": "Zenodo deposit (.json)"}
CITE_FORMATS = ("bib", "ris", "zenodo")
FEED, OPDS = "feed.atom", "opds.xml"
OPDS_TYPE = "application/atom+xml;profile=opds-catalog;kind=acquisition"


def file_size(size: int) -> str:
    """Sizes as a reader expects them: 940 B, 12 KB, 1.4 MB (powers of 1000)."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:.1f} MB"


def _file(artifact: dict) -> dict:
    return {"label": FORMAT_LABELS.get(artifact["format"], artifact["format"].upper()), "href": artifact["path"],
            "size": file_size(artifact["bytes"]), "sha256": artifact["sha256"], "format": artifact["format"]}


def render_index(templates: Path, manifest: dict) -> str:
    env = environment(templates, NullTranslations())
    publications = []
    for pub in manifest["publications"]:
        editions = []
        for e in pub["editions"]:
            record = e.get("record") or {}
            title_lang, title_dir = title_language(pub, e)
            editions.append({
                "lang": e["lang"], "dir": e["dir"], "name": e["name"], "title": record.get("title", ""),
                "title_lang": title_lang, "title_dir": title_dir,
                "href": f"{pub['slug']}/{e['lang']}/index.html",
                "status": "Official" if e["status"] == "official" else "Draft",
                "completeness": format_percent(e["completeness"], locale="en") + " translated",
                "files": [_file(a) for a in e["artifacts"] if a["format"] not in CITE_FORMATS],
                "cite": [_file(a) for a in e["artifacts"] + ([e["deposit"]] if e.get("deposit") else [])
                         if a["format"] in CITE_FORMATS],
            })
        source = next((e.get("record") or {} for e in pub["editions"] if e["lang"] == pub["source_language"]), {})
        publications.append({**pub, "editions": editions, "genre": source.get("genre", ""),
                             "date": source.get("date", str(pub.get("year", ""))), "cover": pub.get("cover")})
    tags = tuple(sorted({e["lang"] for p in manifest["publications"] for e in p["editions"]}))
    css = Markup((templates / "index.css").read_text(encoding="utf-8") + css_rules(tags))  # trusted, ours
    return render_page(env, "index.html.j2", publications=publications, css=css,
                       feed=FEED, opds=OPDS, opds_type=OPDS_TYPE)
