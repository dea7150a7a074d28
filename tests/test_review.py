"""Review and release states that agree (issue 9).

The review mark is the translator comment `# reviewed`; an intended copy of
the source is `# identical: intended` (pubpipe/translate/review.py,
TRANSLATING.md "How to review"). `check --strict` and `build --strict` ask the
same function (pipeline.release_problems) and report at the entries' lines.
"""

from __future__ import annotations

import json
import re
import subprocess

import polib
import pytest

from pubpipe.cli import main
from pubpipe.translate.catalogs import parse_po, serialize
from pubpipe.translate.review import is_reviewed

from .conftest import SLUG, catalog_file, replace_in

TODAY = "Today, most pastoral systems bear the deep imprint of decades of policy"
YAML = f"content/{SLUG}/publication.yaml"


def rewrite(path, change) -> None:
    """Parse a catalog, let `change(message)` edit the entries, write it back in GNU layout."""
    catalog = parse_po(path.read_text(encoding="utf-8"))
    for message in catalog:
        if message.id:
            change(message)
    path.write_text(serialize(catalog), encoding="utf-8")


def entry(path, start: str):
    return next(m for m in parse_po(path.read_text(encoding="utf-8")) if str(m.id).startswith(start))


def errors(capsys) -> set[str]:
    return {line for line in capsys.readouterr().err.splitlines() if ": error: " in line}


def test_status_counts_reviewed_translated_fuzzy_untranslated(project, capsys):
    fr = catalog_file(project, "fr")
    marked = iter(range(3))

    def change(message):
        if str(message.id).startswith(TODAY):
            message.user_comments.append("reviewed")
            message.flags.add("fuzzy")  # fuzzy: not reviewed, whatever its comments say
        elif message.string and next(marked, None) is not None:
            message.user_comments.append("reviewed")

    rewrite(fr, change)
    assert main(["status", "--json"], project) == 0
    rows = {(r["lang"], r["domain"]): r for r in json.loads(capsys.readouterr().out)}
    row = rows[("fr", "content")]
    assert (row["translated"], row["reviewed"], row["fuzzy"], row["untranslated"], row["total"]) == (39, 3, 1, 0, 40)
    assert rows[("zh-Hans", "content")]["reviewed"] == 40  # the official edition, reviewed against the seed
    assert main(["status"], project) == 0
    table = capsys.readouterr().out
    assert re.search(r"reviewed\s+fuzzy\s+untranslated", table)
    assert re.search(r"content\s+fr\s+39/40\s+3\s+1\s+0\s", table)


def test_official_edition_with_an_unreviewed_entry_fails_check_at_its_line(project, capsys):
    zh = catalog_file(project, "zh_Hans")
    assert main(["check", "--sources"], project) == 0  # the repository's official editions pass
    capsys.readouterr()
    rewrite(zh, lambda m: str(m.id).startswith(TODAY) and m.user_comments.remove("reviewed"))
    line = entry(zh, TODAY).lineno
    assert main(["check", "--sources"], project) == 1
    found = errors(capsys)
    assert len(found) == 1
    (only,) = found
    assert only.startswith(f"locales/zh_Hans/LC_MESSAGES/{SLUG}.po:{line}: error: ") or \
        f"{SLUG}.po:{line}: error: " in only
    assert only.endswith("[review]") and "reviewed" in only
    # a preview still builds; a release refuses the edition
    assert main(["--lang", "zh-Hans", "--format", "html", "--quiet"], project) == 0
    assert main(["--strict", "--lang", "zh-Hans", "--format", "html", "--quiet"], project) == 1
    assert f"{SLUG}.po:{line}: error: " in capsys.readouterr().err


def test_a_new_draft_language_does_not_make_strict_fail(project, capsys):
    # TRANSLATING.md, "Starting a new language": a draft entry under languages, then update
    replace_in(project / YAML, "  ar: {status: draft}\n", "  ar: {status: draft}\n  pt-BR: {status: draft}\n")
    assert main(["update"], project) == 0
    assert catalog_file(project, "pt_BR").exists()
    capsys.readouterr()
    assert main(["check", "--sources", "--strict"], project) == 0, capsys.readouterr().err
    assert main(["--strict", "--lang", "pt-BR", "--format", "html", "--quiet"], project) == 0, \
        capsys.readouterr().err
    # an explicit threshold still holds for a draft
    replace_in(project / YAML, "  pt-BR: {status: draft}\n", "  pt-BR: {status: draft, min_completeness: 0.5}\n")
    assert main(["check", "--sources", "--strict", "--lang", "pt-BR"], project) == 1
    assert "[completeness]" in capsys.readouterr().err


def test_check_strict_and_build_strict_agree_at_the_entries_lines(project, capsys):
    replace_in(project / YAML, "  fr: {status: draft}\n", "  fr: {status: draft, min_completeness: 1.0}\n")
    fr = catalog_file(project, "fr")
    emptied = "Offsetting"

    def change(message):
        if str(message.id).startswith(TODAY):
            message.flags.add("fuzzy")
        elif str(message.id).startswith(emptied) and not str(message.id).startswith(TODAY):
            message.string = ""

    rewrite(fr, change)
    catalog = parse_po(fr.read_text(encoding="utf-8"))
    lines = sorted(m.lineno for m in catalog if m.id and (m.fuzzy or not m.string))
    assert len(lines) >= 2
    assert main(["check", "--sources"], project) == 0  # a draft below its threshold: only --strict refuses
    capsys.readouterr()
    assert main(["check", "--sources", "--strict", "--lang", "fr"], project) == 1
    checked = errors(capsys)
    assert main(["--strict", "--lang", "fr", "--format", "html", "--quiet"], project) == 1
    built = errors(capsys)
    assert checked == built
    where = sorted(int(re.search(rf"{SLUG}\.po:(\d+): error: ", d).group(1)) for d in checked)
    assert where == lines  # at the fuzzy and the untranslated entries, never at po:1
    assert all(d.endswith("[completeness]") for d in checked)
    assert any("fuzzy" in d for d in checked) and any("untranslated" in d for d in checked)


def test_an_identical_copy_in_an_official_edition_is_untranslated_unless_marked(project, capsys):
    zh = catalog_file(project, "zh_Hans")

    def copy(message):
        if str(message.id).startswith(TODAY):
            message.string = message.id

    rewrite(zh, copy)
    line = entry(zh, TODAY).lineno
    assert main(["check", "--sources", "--strict", "--lang", "zh-Hans"], project) == 1
    found = errors(capsys)
    assert any(f"{SLUG}.po:{line}: error: " in d and "[completeness]" in d for d in found)
    # the same copy in a draft edition is a translation (with a warning)
    fr = catalog_file(project, "fr")
    rewrite(fr, copy)
    assert main(["check", "--sources", "--strict", "--lang", "fr"], project) == 0
    assert "[untranslated-copy]" in capsys.readouterr().err
    # marked as intended, it counts as translated, and the warning goes
    rewrite(zh, lambda m: str(m.id).startswith(TODAY) and m.user_comments.append("identical: intended"))
    assert main(["check", "--sources", "--strict", "--lang", "zh-Hans"], project) == 0
    assert "[untranslated-copy]" not in capsys.readouterr().err


def save_with_msgcat(path):
    subprocess.run(["msgcat", "-o", str(path), str(path)], check=True)


def save_with_msgmerge(path):
    pot = path.parents[2] / f"{SLUG}.pot"  # locales/<slug>.pot
    subprocess.run(["msgmerge", "--quiet", "--previous", "-o", str(path), str(path), str(pot)], check=True)


def save_with_polib(path):
    polib.pofile(str(path)).save()


def save_with_translate_toolkit(path):
    from translate.storage import po

    store = po.pofile.parsefile(str(path))
    path.write_bytes(bytes(store))


@pytest.mark.parametrize("save", [save_with_msgcat, save_with_msgmerge, save_with_polib, save_with_translate_toolkit],
                         ids=["msgcat", "msgmerge", "polib", "translate-toolkit"])
def test_the_review_mark_survives_round_trips_and_update(project, capsys, save):
    fr = catalog_file(project, "fr")
    rewrite(fr, lambda m: str(m.id).startswith(TODAY) and m.user_comments.append("reviewed"))
    save(fr)
    assert is_reviewed(entry(fr, TODAY))
    assert main(["update"], project) == 0
    assert is_reviewed(entry(fr, TODAY))
    assert polib.pofile(str(fr)).find(entry(fr, TODAY).id).tcomment == "reviewed"
    # the source changes: the entry goes fuzzy and is no longer reviewed
    replace_in(project / f"content/{SLUG}/brief.md", "deep imprint of decades", "deep imprint of many decades")
    assert main(["update"], project) == 0
    changed = entry(fr, TODAY.replace("of decades", "of many decades"))
    assert changed.fuzzy and "reviewed" not in changed.user_comments and not is_reviewed(changed)
    capsys.readouterr()
    assert main(["update"], project) == 0
    assert "updated:" not in capsys.readouterr().out
