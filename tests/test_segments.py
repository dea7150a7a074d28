"""The segmenter: one definition of a segment for extraction and translation."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pubpipe.source.segments import reassemble, segment_markdown

from .conftest import ROOT, SLUG

BRIEF = ROOT / "content" / SLUG / "brief.md"


def identity(document):
    return reassemble(document, lambda segment: None)


def test_brief_round_trips_and_has_the_expected_blocks():
    source = BRIEF.read_text(encoding="utf-8")
    document = segment_markdown(source, str(BRIEF))
    assert identity(document) == source
    kinds = [s.kind for s in document.segments]
    assert kinds.count("heading") == 4
    assert kinds.count("list-item") == 18  # 6 + 7 + 5 points
    assert kinds.count("formula") == 1
    assert kinds.count("footnote") == 1
    assert kinds.count("paragraph") == 7  # 6 in the background, 1 before the call to action


def test_translation_replaces_exactly_the_segment_and_keeps_indentation():
    source = "1. first\n   continued\n\n   $$x$$\n\n[^n]: note\n    more\n"
    document = segment_markdown(source)
    texts = {s.text: s for s in document.segments}
    assert set(texts) == {"1. first\ncontinued", "$$x$$", "note\nmore"}
    french = {"1. first\ncontinued": "1. premier\nsuite", "note\nmore": "note\nplus"}
    out = reassemble(document, lambda s: french.get(s.text))
    assert out == "1. premier\n   suite\n\n   $$x$$\n\n[^n]: note\n    plus\n"


def test_source_lines_point_at_the_block():
    document = segment_markdown("# Title\n\nPara one\nstill one\n\n- a\n- b\n")
    assert [(s.line, s.kind) for s in document.segments] == [(1, "heading"), (3, "paragraph"), (6, "list-item"),
                                                            (7, "list-item")]


# Unusual Markdown, built from pieces: nested lists, tables, footnotes with several
# paragraphs, math, attributes, fences, non-ASCII, odd whitespace.
words = st.text(alphabet=st.sampled_from(list("abc xyzé中文العربية*_`[]{}#:.|-$\\@^")), min_size=1, max_size=30)
line = words.map(lambda w: w.strip() or "w")
blocks = st.one_of(
    line.map(lambda w: f"# {w} {{#id .class key=value}}"),
    st.lists(line, min_size=1, max_size=3).map("\n".join),
    st.lists(line, min_size=1, max_size=3).map(lambda items: "\n".join(f"- {i}" for i in items)),
    st.lists(line, min_size=1, max_size=3).map(lambda items: "\n".join(f"{n}. {i}\n   more {i}" for n, i in
                                                                       enumerate(items, 1))),
    line.map(lambda w: f"- outer {w}\n  - inner {w}\n    - deeper {w}"),
    line.map(lambda w: f"| a | b |\n|---|---|\n| {w} | 2 |"),
    line.map(lambda w: f"[^note]: {w}\n\n    second paragraph {w}\n\n    third"),
    line.map(lambda w: f"$$\\frac{{\\text{{{w}}}}}{{2}}$$"),
    line.map(lambda w: f"```python\n{w}\n\n{w}\n```"),
    line.map(lambda w: f"::: {{.note}}\n{w}\n:::"),
    line.map(lambda w: f"[{w}]{{.smallcaps}} and ![alt]({w}.png)"),
)
separators = st.sampled_from(["\n\n", "\n\n\n", "\n  \n", "\r\n\r\n", "\n\t\n"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(blocks, separators), max_size=8), st.sampled_from(["", "\n", "\n\n"]))
def test_round_trip_of_generated_markdown(parts, ending):
    source = "".join(block + sep for block, sep in parts).rstrip("\n") + ending
    assert identity(segment_markdown(source)) == source


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_round_trip_of_any_text(source):
    assert identity(segment_markdown(source)) == source
