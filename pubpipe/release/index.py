"""dist/index.html: every publication and edition of the release, with its downloads."""

from __future__ import annotations

from pathlib import Path

from babel.numbers import format_percent
from babel.support import NullTranslations

from pubpipe.render.html import environment, render_page, stylesheet


def render_index(templates: Path, manifest: dict) -> str:
    env = environment(templates, NullTranslations())
    publications = []
    for pub in manifest["publications"]:
        editions = []
        for e in pub["editions"]:
            editions.append({
                "lang": e["lang"], "dir": e["dir"], "name": e["name"],
                "href": f"{pub['slug']}/{e['lang']}/index.html",
                "status_label": e["status"],
                "completeness_label": format_percent(e["completeness"], locale="en") + " translated",
                "downloads": [{"format": a["format"], "href": a["path"]} for a in e["artifacts"]
                              if a["format"] != "html"],
            })
        publications.append({**pub, "editions": editions})
    return render_page(env, "index.html.j2", publications=publications, css=stylesheet(templates))
