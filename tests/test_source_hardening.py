"""Hostile or malformed sources never hang, crash or pass silently (issue 8).

Each case breaks one YAML source (or SOURCE_DATE_EPOCH) in a copy of the
project and runs the real command line: it must exit non-zero with the
exact `path:line: error: message [check]` line, no traceback, and leave
dist/ as it was.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from pubpipe.diagnostics import PipelineError
from pubpipe.pipeline import source_date_epoch
from pubpipe.source.publication import discover, load_publication
from pubpipe.source.schema import validate, validator
from pubpipe.source.yamlfile import load_yaml

from .conftest import ROOT, SLUG
from .test_errors import DIAGNOSTIC, snapshot

META = f"content/{SLUG}/publication.yaml"
REFS = f"content/{SLUG}/references.yaml"
GLOSSARY = f"content/{SLUG}/glossary.yaml"

LAUGHS = "\n".join([
    'lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    *(f"lol{n}: &lol{n} [" + ", ".join([f"*lol{n - 1}"] * 9) + "]" for n in range(1, 10)),
]) + "\n"  # 9 levels of 9 aliases: 81 aliases, 9**10 values once expanded


def line_number(project: Path, relative: str, needle: str) -> int:
    """The first line that starts with `needle` (so comments that mention a key are skipped)."""
    text = (project / relative).read_text(encoding="utf-8")
    return next(n for n, line in enumerate(text.split("\n"), 1) if line.startswith(needle))


def edit(project: Path, relative: str, old: str, new: str) -> None:
    path = project / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not found in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def run(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """build.py in a subprocess, as a person runs it; a hang fails the test instead of the suite."""
    environment = {**os.environ, "PUBPIPE_IN_VENV": "1", **(env or {})}
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(project), *args],
                          capture_output=True, text=True, env=environment, cwd=project, timeout=120)


def fails_cleanly(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the CLI on a broken project that already has a release in dist/; dist/ must not change."""
    dist = project / "dist"
    dist.mkdir(exist_ok=True)
    (dist / "manifest.json").write_text('{"previous": "release"}\n', encoding="utf-8")
    before = snapshot(dist)
    result = run(project, *(args or ("--format", "html")), env=env)
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert snapshot(dist) == before, "a failed run changed dist/"
    assert not list(project.glob(".dist-staging-*")), "a staging folder was left behind"
    return result


def assert_line(result: subprocess.CompletedProcess, expected: str) -> None:
    """`expected` is one whole diagnostic line of stderr, in the compiler format."""
    assert DIAGNOSTIC.match(expected), f"test bug: {expected!r} is not a diagnostic line"
    assert expected in result.stderr.splitlines(), result.stderr


def errors_in(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if ": error: " in line]


# ---------------------------------------------------------------- bounded YAML


def test_billion_laughs_is_refused_in_well_under_a_second(project):
    (project / META).write_text((project / META).read_text(encoding="utf-8") + LAUGHS, encoding="utf-8")
    line = line_number(project, META, "lol5: &lol5")  # about 9**6 values: the first level over 100,000
    started = time.perf_counter()
    data, _lines, found = load_yaml(project / META, META)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.2, f"took {elapsed:.3f} s"
    assert data is None and [(d.line, d.check) for d in found] == [(line, "yaml-limit")]
    expected = (f"{META}:{line}: error: aliases here expand to more than 100,000 values; refusing to expand them "
                '(a "billion laughs" document?) [yaml-limit]')
    for args in (("check", "--sources"), ("--format", "html")):
        started = time.perf_counter()
        result = fails_cleanly(project, *args)
        assert time.perf_counter() - started < 30
        assert_line(result, expected)


def test_too_many_aliases(project):
    edit(project, META, "\nlanguages:\n", "\nanchor: &x value\nmany: [" + ", ".join(["*x"] * 101) + "]\nlanguages:\n")
    line = line_number(project, META, "many: [")
    result = fails_cleanly(project)
    assert_line(result, f"{META}:{line}: error: more than 100 aliases (*name); refusing to expand them [yaml-limit]")


def test_recursive_alias(project):
    edit(project, META, "\nlanguages:\n", "\nloop: &loop [*loop]\nlanguages:\n")
    line = line_number(project, META, "loop: &loop")
    result = fails_cleanly(project)
    assert_line(result, f"{META}:{line}: error: an alias refers to the node that contains it (a recursive alias) "
                        "[yaml-limit]")


def test_deep_nesting(project):
    edit(project, META, "\nlanguages:\n", "\ndeep: " + "[" * 50_000 + "]" * 50_000 + "\nlanguages:\n")
    line = line_number(project, META, "deep: [[[")
    result = fails_cleanly(project, "check", "--sources")
    assert_line(result, f"{META}:{line}: error: nested more than 64 levels deep [yaml-limit]")
    assert "RecursionError" not in result.stderr


def test_deep_nesting_through_aliases(project):
    """Aliases nest what they name: 30 levels inside 30 levels is 60, and 3 such is too deep."""
    a, b, c = "[" * 30 + "]" * 30, "[" * 29 + "*a" + "]" * 29, "[" * 29 + "*b" + "]" * 29
    edit(project, META, "\nlanguages:\n", f"\na: &a {a}\nb: &b {b}\nc: {c}\nlanguages:\n")
    line = line_number(project, META, "c: [[[")
    result = fails_cleanly(project, "check", "--sources")
    assert_line(result, f"{META}:{line}: error: aliases here expand to more than 64 levels of nesting [yaml-limit]")


def test_huge_file(project):
    path = project / REFS
    path.write_text(path.read_text(encoding="utf-8") + ("# padding\n" * 500_000), encoding="utf-8")
    result = fails_cleanly(project, "check", "--sources")
    size = path.stat().st_size
    assert_line(result, f"{REFS}:1: error: file is {size:,} bytes; the limit is 4 MB [yaml-limit]")


def test_a_value_yaml_cannot_construct(project):
    edit(project, META, "year: 2026 ", "year: !!int twenty ")
    line = line_number(project, META, "year: !!int")
    result = fails_cleanly(project)
    assert_line(result, f"{META}:{line}: error: invalid YAML: cannot read this value (invalid literal for int() "
                        "with base 10: 'twenty') [yaml-syntax]")


# ---------------------------------------------------------------- wrong types and shapes (schema)

WRONG = [
    ("corporate-author-list", META, "corporate_author: working_group", "corporate_author: [x]", "corporate_author:",
     "corporate_author must name an entry under 'names' (a key such as working_group), not a list"),
    ("publisher-number", META, "publisher: secretariat", "publisher: 42", "publisher: 42",
     "publisher must name an entry under 'names' (a key such as working_group), not 42"),
    ("language-not-a-mapping", META, "  fr: {status: draft}", "  fr: draft", "  fr: draft",
     "languages.fr must be a mapping such as {status: draft}, not 'draft'"),
    ("min-completeness-text", META, "  es: {status: draft}", '  es: {status: draft, min_completeness: "abc"}',
     "  es: {status", "languages.es.min_completeness must be a number from 0 to 1, not 'abc'"),
    ("min-completeness-top-level", META, "\nlanguages:\n", '\nmin_completeness: "abc"\nlanguages:\n',
     "min_completeness:", "min_completeness must be a number from 0 to 1, not 'abc'"),
    ("invalid-date", META, "date: 2026 ", "date: 2026-13-45 ", "date: 2026-13-45",
     "date must be YYYY-MM-DD or a year, not '2026-13-45'"),
    ("name-as-number", META, "  iyrp_short:\n    en: IYRP", "  iyrp_short:\n    en: 42", "    en: 42",
     "names.iyrp_short.en must be text, not 42"),
    ("name-not-a-mapping", META, "  iyrp_short:\n    en: IYRP", "  iyrp_short: 42", "  iyrp_short: 42",
     "names.iyrp_short must map language tags to the name's forms, e.g. {en: ..., fr: ...}, not 42"),
    ("unknown-key", META, "licence:", "license:", "license:", "unknown key 'license'; did you mean 'licence'?"),
    ("unknown-nested-key", META, "  name: CC BY 4.0", "  nmae: CC BY 4.0", "  nmae:",
     "unknown key 'nmae' in 'licence'; did you mean 'name'?"),
    ("strings-a-list", META, "\nstrings:\n  title: Outgrowing offsetting\n",
     "\nstrings: [Outgrowing offsetting]\nold:\n  title: Outgrowing offsetting\n", "strings: [",
     "strings must be a mapping, not a list"),
    ("string-a-list", META, "  title: Outgrowing offsetting", "  title: [Outgrowing offsetting]", "  title: [",
     "strings.title must be text, not a list"),
    ("string-missing", META, "  genre: Policy brief\n", "", "strings:", "missing required field 'genre' in 'strings'"),
    ("key-references-not-a-list", META, "key_references: [fao2021, ipcc2021, lohmann2006, saifuddin2024, sayre2017]",
     "key_references: fao2021", "key_references:", "key_references must be a list, not 'fao2021'"),
    ("references-a-mapping", REFS, "references:\n", "references: {fao2021: {}}\nold:\n", "references:",
     "references must be a list of CSL items (each '- id: ...'), not a mapping"),
    ("reference-a-string", REFS, "  - id: sayre2017", "  - sayre2017\n  - id: sayre2017", "  - sayre2017",
     "references[4] must be a CSL item, a mapping with an 'id' and a 'type', not 'sayre2017'"),
    ("reference-without-type", REFS, "    type: book\n    author:\n      - {family: Sayre", "    author:\n"
     "      - {family: Sayre", "  - id: sayre2017", "missing required field 'type' in 'references[4]'"),
    ("reference-unknown-field", REFS, "    title: Soil carbon", "    titel: Soil carbon", "    titel:",
     "unknown key 'titel' in 'references[3]'; did you mean 'title'?"),
    ("reference-bad-type", REFS, "    type: report", "    type: reprot", "    type: reprot",
     "references[0].type must be one of 45 allowed values, not 'reprot'; did you mean 'report'?"),
    ("glossary-terms-a-mapping", GLOSSARY, "terms:\n", "terms: {pastoralism: {}}\nold:\n", "terms:",
     "terms must be a list, not a mapping"),
    ("glossary-words-a-string", GLOSSARY, "    en: [pastoralism]", "    en: pastoralism", "    en: pastoralism",
     "terms[0].en must be a list of words, e.g. [pastoralism], not 'pastoralism'"),
]


@pytest.mark.parametrize("relative, old, new, where, message", [case[1:] for case in WRONG],
                         ids=[case[0] for case in WRONG])
def test_wrong_type_or_shape(project, relative, old, new, where, message):
    edit(project, relative, old, new)
    line = line_number(project, relative, where)
    result = fails_cleanly(project)
    assert_line(result, f"{relative}:{line}: error: {message} [schema]")
    assert all(DIAGNOSTIC.match(e) for e in errors_in(result)), result.stderr


def test_every_schema_error_is_reported_in_one_run(project):
    edit(project, META, "licence:", "license:")
    edit(project, META, "date: 2026 ", "date: 2026-13-45 ")
    edit(project, REFS, "    title: Soil carbon", "    titel: Soil carbon")
    result = fails_cleanly(project)
    assert [e.split(": error: ")[0] for e in errors_in(result)] == [
        f"{META}:{line_number(project, META, 'date: 2026-13-45')}",
        f"{META}:{line_number(project, META, 'license:')}",
        f"{REFS}:{line_number(project, REFS, '    titel:')}",
    ], result.stderr


def test_semantic_checks_still_run_on_well_formed_metadata(project):
    edit(project, META, "slug: outgrowing-offsetting", "slug: elsewhere")
    result = fails_cleanly(project)
    assert_line(result, f"{META}:{line_number(project, META, 'slug:')}: error: slug 'elsewhere' must match its "
                        "folder name 'outgrowing-offsetting' [metadata]")


def test_an_empty_publication_yaml_does_not_pass_silently(project):
    (project / META).write_text("# nothing yet\n", encoding="utf-8")
    result = fails_cleanly(project)
    assert_line(result, f"{META}:1: error: publication.yaml must be a mapping, not empty [schema]")


# ---------------------------------------------------------------- SOURCE_DATE_EPOCH


@pytest.mark.parametrize("value", ["abc", "²", "-5", "1e9", "99999999999999999999", "253402300800"],
                         ids=["letters", "unicode-digit", "negative", "exponent", "absurdly-large", "after-9999"])
def test_bad_source_date_epoch(project, value):
    result = fails_cleanly(project, "--format", "html", "--lang", "en", env={"SOURCE_DATE_EPOCH": value})
    assert errors_in(result) == [f"SOURCE_DATE_EPOCH:1: error: SOURCE_DATE_EPOCH must be a whole number of seconds "
                                 f"since 1970-01-01 UTC, up to the year 9999, not {value!r} [environment]"]


def test_good_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", " 1767225600 ")
    assert source_date_epoch([]) == 1767225600
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "")  # set but empty: the publication's date
    assert source_date_epoch([]) == 1767225600  # 2026-01-01, the default year
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "٣")  # Arabic-Indic three: isdigit() but not ASCII
    with pytest.raises(PipelineError):
        source_date_epoch([])


# ---------------------------------------------------------------- the real sources


@pytest.mark.parametrize("name", ["publication", "references", "glossary"])
def test_schemas_are_valid_draft_2020_12(name):
    """The build trusts the shipped schemas (it does not check them against the metaschema on every run)."""
    schema = validator(name).schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)  # raises SchemaError on a malformed schema


def test_every_real_publication_validates():
    roots = discover(ROOT / "content")
    assert roots
    for root in roots:
        for name in ("publication", "references", "glossary"):
            path = root / f"{name}.yaml"
            if name == "glossary" and not path.exists():
                continue
            data, lines, found = load_yaml(path, str(path))
            assert found == [] and validate(name, data, lines, path) == [], path
        publication, problems = load_publication(root)
        assert publication is not None and [p for p in problems if p.severity == "error"] == []


def test_pure_python_parser_reads_the_same(tmp_path):
    """Without libyaml (a PyYAML built from source without it), load_yaml falls back to PyYAML's own parser:
    every YAML source of every publication reads the same, values and line numbers, and the limits hold."""
    code = """
import importlib, json, sys
from pathlib import Path
from pubpipe.source import yamlfile
first = {}
for path in sorted(Path(sys.argv[1]).glob('*/*.yaml')):
    data, lines, problems = yamlfile.load_yaml(path, str(path))
    first[str(path)] = repr((data, sorted(lines.items()), problems))
sys.modules['yaml._yaml'] = None  # libyaml hidden
yamlfile = importlib.reload(yamlfile)
assert yamlfile.Parser.__module__ == yamlfile.__name__, yamlfile.Parser
for path in sorted(Path(sys.argv[1]).glob('*/*.yaml')):
    data, lines, problems = yamlfile.load_yaml(path, str(path))
    assert first.pop(str(path)) == repr((data, sorted(lines.items()), problems)), path
deep = Path(sys.argv[2]) / 'deep.yaml'
deep.write_text('a: ' + '[' * 2000 + ']' * 2000 + chr(10))
print(json.dumps([d.message for d in yamlfile.load_yaml(deep, 'deep.yaml')[2]]))
"""
    for content in (ROOT / "content", ROOT / "tests" / "fixtures"):
        result = subprocess.run([sys.executable, "-c", code, str(content), str(tmp_path)], cwd=ROOT,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "nested more than 64 levels deep" in result.stdout
