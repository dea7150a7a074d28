"""Fuzz: whatever a translator writes, in either domain, stays text of its own segment.

Hypothesis puts random Unicode, control characters, markup fragments, YAML
and template syntax into a msgstr of the content catalog or of the ui
catalog, then runs `check`, `update` and a real build of that edition (all
four formats), in process. It asserts:
- none of them raises (no traceback);
- the build never refuses the edition: whatever the build could not take,
  `check` rejected at the entry, and the entry fell back;
- nothing outside the segment's own text reaches an artifact: no file read
  from outside, no script or event handler in the HTML, the documents'
  metadata identical to a clean build's.

The number of examples is small in CI (a build per example); set
PUBPIPE_FUZZ_EXAMPLES=500 to run a longer campaign.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html

from pubpipe.diagnostics import PipelineError
from pubpipe.pipeline import Project, build, load, run_checks
from pubpipe.translate.catalogs import parse_po, serialize
from pubpipe.translate.update import update

from .conftest import SLUG, artifact, catalog_file, copy_project

EXAMPLES = int(os.environ.get("PUBPIPE_FUZZ_EXAMPLES", "25"))
SECRET = "FUZZSECRET-91c2"
OUR_SCRIPTS = 2  # the JSON-LD record and the copy-citation button
FRAGMENTS = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '" onmouseover="alert(1)" x="', "{{ 7*7 }}",
    "{% include 'page.html.j2' %}", "{# c #}", "<< title >>", "<% if 1 %>", "#read(\"/etc/passwd\")",
    "#eval(\"1\")", "\n---\nbibliography: {secret}\nnocite: \"@*\"\npublisher: Evil\n---\n", "\n\n", "\n",
    "::: {#refs}\n:::", "[x]{#suggested-citation}", "[x](javascript:alert(1))", "[x](file:///etc/passwd)",
    "![x](/etc/passwd)", "`code`", "```\ncode\n```", "$\\input{/etc/passwd}$", "$$x$$", "\\", "%", "%%",
    "%(date)s", "%(nope)s", "%s", "# ", "\n# H", "> q", "- a", "1. a", "| a | b |\n|---|---|\n| 1 | 2 |",
    "[@nope]", "@*", "[^9]", "[^1]", "&amp;", "&#x3c;script&#x3e;", "<!--", "-->", "\x00", "\x01", "\x1b[31m",
    "\x7f", "\x85", "\ufeff", "\ufffe", "\u202e", "\u2066", "\u200f", "\U0001F600", "\u0301", "ﷺ", "𝕏",
    "{=html}", "`<b>x</b>`{=html}", "\\begin{document}", "$$\\text{" + "a" * 30 + "}$$", "{authors}",
    "{working_group}", "{nope}", "https://evil.example/", "mailto:x@evil.example", "!!python/object:os.system",
]


def payloads() -> st.SearchStrategy[str]:
    pieces = st.one_of(st.sampled_from(FRAGMENTS), st.text(min_size=1, max_size=12),
                       st.text(alphabet=st.characters(max_codepoint=0x9F), min_size=1, max_size=4))
    return st.lists(pieces, min_size=1, max_size=6).map("".join)


@pytest.fixture(scope="module")
def fuzz_project(tmp_path_factory):
    """A copy of the project with a clean French build, whose metadata every fuzzed build must keep."""
    root = copy_project(tmp_path_factory.mktemp("fuzz"))
    secret = root.parent / "outside.json"
    secret.write_text(f'[{{"id": "s", "type": "book", "title": "{SECRET}"}}]', encoding="utf-8")
    build(Project(root), ["fr"])
    return root, secret, document_metadata(root)


def document_metadata(root: Path) -> dict[str, str]:
    """What a document says about itself: the EPUB package and the DOCX core properties."""
    with zipfile.ZipFile(artifact(root, "fr", "epub")) as epub:
        opf = next(epub.read(n) for n in epub.namelist() if n.endswith(".opf")).decode("utf-8")
    with zipfile.ZipFile(artifact(root, "fr", "docx")) as docx:
        core = docx.read("docProps/core.xml").decode("utf-8")
    opf = re.sub(r"<dc:title[^>]*>.*?</dc:title>", "", opf, flags=re.S)  # the title is a translated segment
    core = re.sub(r"<dc:title>.*?</dc:title>", "", core, flags=re.S)
    return {"opf": re.sub(r"<meta property=\"dcterms:modified\">.*?</meta>", "", opf), "core": core}


def first_paragraph(catalog) -> str:
    return next(m.id for m in catalog if "Paragraph." in m.auto_comments and m.string and not m.fuzzy)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("PUBPIPE_FUZZ_EXAMPLES"),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(payload=payloads(), domain=st.sampled_from(["content", "ui"]))
def test_whatever_a_translator_writes_stays_in_its_segment(fuzz_project, payload, domain):
    root, secret, clean_metadata = fuzz_project
    payload = payload.replace("{secret}", str(secret))
    path = catalog_file(root, "fr", SLUG if domain == "content" else "ui")
    original = path.read_bytes()
    try:
        catalog = parse_po(original.decode("utf-8"))
        msgid = first_paragraph(catalog) if domain == "content" else "Contents"
        catalog[msgid].string = (catalog[msgid].string + " " + payload) if domain == "content" else payload
        path.write_text(serialize(catalog), encoding="utf-8")

        problems = run_checks(Project(root), ["fr"], artifacts="skip")  # never raises
        entry_line = parse_po(path.read_text(encoding="utf-8"))[msgid].lineno
        rejected = any(p.severity == "error" and p.path.endswith(path.name) and p.line == entry_line
                       for p in problems)
        try:
            build(Project(root), ["fr"])
        except PipelineError as failure:  # check must have said so first: the build may refuse nothing new
            pytest.fail("the build refused what check let through:\n" + "\n".join(map(str, failure.diagnostics)))

        page = artifact(root, "fr", "html").read_text(encoding="utf-8")
        tree = html.fromstring(page)
        assert len(tree.xpath("//script")) == OUR_SCRIPTS
        assert not tree.xpath("//iframe | //object | //embed | //img | //*[@*[starts-with(name(), 'on')]]")
        assert not tree.xpath("//a[not(starts-with(@href, 'http') or starts-with(@href, 'mailto:') or "
                              "starts-with(@href, '#') or starts-with(@href, '../') or "
                              f"starts-with(@href, '{SLUG}.fr.'))]")
        for fmt in ("html", "epub", "docx", "pdf"):
            data = artifact(root, "fr", fmt).read_bytes()
            assert SECRET.encode() not in data, fmt
        assert document_metadata(root) == clean_metadata
        if rejected:  # a rejected entry falls back to the source text
            shown = " ".join(tree.text_content().split())
            assert (" ".join(msgid.split())[:40] if domain == "content" else "Contents") in shown

        before = path.read_bytes()
        translated = parse_po(before.decode("utf-8"))[msgid].string
        publications = load(Project(root), catalogs=False).publications
        _changes, found = update(root, root / "locales", root / "templates", publications,
                                 [spec.language for spec in publications[0].editions if spec.language.tag == "fr"])
        if any(p.path.endswith(path.name) for p in found):  # not read completely: left byte-identical
            assert path.read_bytes() == before
        else:  # merged: the translator's text survives exactly
            assert parse_po(path.read_text(encoding="utf-8"))[msgid].string == translated
    finally:
        path.write_bytes(original)
        shutil.rmtree(root / "dist", ignore_errors=True)
