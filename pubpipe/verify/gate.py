"""`build.py check`: every check on sources and catalogs, and on artifacts when asked.

Runs in seconds without building: it loads the publications and catalogs
(which runs the catalog checks), looks at the locale folders, the freshness of
generated files, hand-typed names, and the citation gate. Artifacts are read
back when dist/ has them; `--artifacts` requires them, `--build` builds first,
`--sources` leaves dist/ alone.
"""

from __future__ import annotations

from pubpipe.diagnostics import Diagnostic, error, warning
from pubpipe.source.languages import PSEUDO, parse_language, tag_from_catalog_dir
from pubpipe.source.project import Project
from pubpipe.source.publication import Publication
from pubpipe.translate.catalogs import build_template, catalog_path, serialize, template_path
from pubpipe.translate.ui import DOMAIN as UI_DOMAIN
from pubpipe.translate.ui import build_ui_template, ui_template_path


def check_locale_folders(project: Project, publications: list[Publication]) -> list[Diagnostic]:
    """Every folder under locales/ is a valid, declared language with known domains [po-header]."""
    declared = {spec.language.catalog_dir for p in publications for spec in p.editions}
    domains = {p.slug for p in publications} | {UI_DOMAIN}
    problems = []
    if not project.locales.is_dir():
        return problems
    for folder in sorted(project.locales.iterdir()):
        if not folder.is_dir():
            continue
        where = folder
        try:
            tag = tag_from_catalog_dir(folder.name)
            parse_language(tag)
        except ValueError as exc:
            problems.append(error(where, 1, f"{exc}; catalogs live in locales/<tag>/LC_MESSAGES/ with a BCP 47 "
                                            "tag such as fr or zh_Hans; this folder is never read", "po-header"))
            continue
        if folder.name not in declared and tag not in PSEUDO:
            problems.append(warning(where, 1, f"'{tag}' is not declared under 'languages' in any publication.yaml, "
                                              "so it is not built", "po-header"))
        for po in sorted((folder / "LC_MESSAGES").glob("*.po")):
            if po.stem not in domains:
                problems.append(warning(po, 1, f"unknown domain '{po.stem}': expected "
                                        f"one of {', '.join(sorted(domains))}", "po-header"))
    return problems


def check_generated_files(project: Project, loaded, everyone: list[Publication] | None = None) -> list[Diagnostic]:
    """Templates (.pot) match the sources, and catalogs know every current segment.

    `everyone`: all the project's publications, when `loaded` holds only some (check --publication); the ui
    template, shared by all, is made from them.
    """
    problems = []
    year = max((p.year for p in (loaded.publications if everyone is None else everyone)), default=2026)
    expected = [(ui_template_path(project.locales), serialize(build_ui_template(project.templates, project.root,
                                                                                 year)))]
    for publication in loaded.publications:
        expected.append((template_path(project.locales, publication),
                         serialize(build_template(publication, project.root))))
    for path, text in expected:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            problems.append(error(path, 1, "the template is out of date with the sources; "
                                  "run 'python build.py update' and commit the result", "stale-template"))
    for edition, _ui in loaded.editions:
        if edition.is_source or edition.language.is_pseudo:
            continue
        path = catalog_path(project.locales, edition.publication, edition.language)
        missing = [s for s in edition.fallbacks if edition.translations.state(s.text) == "missing"]
        if missing and path.exists():
            problems.append(warning(path, 1, f"{len(missing)} source segment(s) are not in "
                                    "this catalog yet; run 'python build.py update'", "stale-catalog"))
    return problems


def check_source_names(project: Project, publications: list[Publication]) -> list[Diagnostic]:
    """Recurring names are typed nowhere: not in brief.md, not in metadata strings, not in templates."""
    problems = []
    for publication in publications:
        rules = publication.name_rules
        for segment in publication.segments:
            for message in rules.hand_typed(segment.text):
                problems.append(error(segment.path, segment.line, message, "hand-typed-name"))
        for template in sorted(project.templates.glob("*")) + sorted(project.templates.glob("csl/*.csl")):
            if template.suffix not in (".j2", ".css", ".csl", ".typ") or not template.is_file():
                continue
            for number, line in enumerate(template.read_text(encoding="utf-8").split("\n"), start=1):
                for message in rules.hand_typed(line):
                    problems.append(error(template, number, message, "hand-typed-name"))
    return problems

