"""Property test (Hypothesis): random sequences of an author's edits never cost a translation.

Each example starts from a copy of the project (the real brief and its fully
translated catalogs) and applies a few edits to brief.md: change a word,
delete a paragraph, restore a deleted one, move a paragraph, re-wrap one. After
every step it runs `update` and checks that
- GNU `msgfmt -c` accepts every catalog (no live/obsolete duplicate);
- nothing `msgmerge --previous` would have kept is lost: the same step run
  through real msgmerge, from the same old catalog and the new template, keeps
  no translated entry we lack, and no translation we dropped;
- a restored paragraph gets back the translation (and state) it had.

20 examples in CI; set PUBPIPE_PROPERTY_EXAMPLES=500 for a longer run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import polib
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pubpipe.cli import main
from pubpipe.source.segments import segment_markdown
from pubpipe.translate.catalogs import segment_msgid

from .conftest import ROOT, SLUG

EXAMPLES = int(os.environ.get("PUBPIPE_PROPERTY_EXAMPLES", "20"))
LANGS = ("fr", "zh_Hans", "es", "ar")
COMPARED = ("fr", "zh_Hans")  # compared with msgmerge at every step (all four pass msgfmt)
BRIEF = Path("content") / SLUG / "brief.md"

pytestmark = pytest.mark.skipif(not (shutil.which("msgmerge") and shutil.which("msgfmt")),
                                reason="GNU gettext is not installed")

step = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 10_000), st.integers(0, 10_000)),
    st.tuples(st.just("delete"), st.integers(0, 10_000)),
    st.tuples(st.just("restore"), st.integers(0, 10_000)),
    st.tuples(st.just("move"), st.integers(0, 10_000), st.integers(0, 10_000)),
    st.tuples(st.just("rewrap"), st.integers(0, 10_000), st.integers(30, 90)),
)


def editable(block: str) -> bool:
    """Paragraphs and list items the author may touch without breaking citations, footnotes or the formula."""
    return not block.startswith(("#", " ", "[^")) and not any(mark in block for mark in ("[@", "[^", "$$", "{"))


def one_segment(block: str) -> str | None:
    segments = segment_markdown(block + "\n").segments
    return segment_msgid(segments[0].text) if len(segments) == 1 else None


class Author:
    """The brief as blocks (split at blank lines), and the paragraphs deleted so far."""

    def __init__(self, text: str):
        self.blocks = text.rstrip("\n").split("\n\n")
        self.deleted: list[tuple[int, str]] = []
        self.edits = 0

    def text(self) -> str:
        return "\n\n".join(self.blocks) + "\n"

    def choices(self) -> list[int]:
        return [i for i, block in enumerate(self.blocks) if editable(block)]

    def apply(self, action) -> tuple[str, str] | None:
        """Apply one edit; returns (kind, block) for a delete or restore, None otherwise."""
        kind, *args = action
        choices = self.choices()
        if kind == "restore":
            if not self.deleted:
                return None
            where, block = self.deleted.pop(args[0] % len(self.deleted))
            self.blocks.insert(min(where, len(self.blocks)), block)
            return "restore", block
        if not choices:
            return None
        index = choices[args[0] % len(choices)]
        block = self.blocks[index]
        if kind == "edit":
            words = [m for m in re.finditer(r"(?<![\w*])[A-Za-z]{4,}(?![\w*])", block)]
            if words:
                word = words[args[1] % len(words)]
                self.edits += 1
                self.blocks[index] = block[: word.start()] + f"altered{self.edits}" + block[word.end():]
        elif kind == "delete":
            self.deleted.append((index, self.blocks.pop(index)))
            return "delete", block
        elif kind == "move":
            other = choices[args[1] % len(choices)]
            self.blocks.insert(other, self.blocks.pop(index))
        elif kind == "rewrap":
            marker = re.match(r"\d+\. ", block)
            indent = " " * len(marker.group(0)) if marker else ""
            flat = " ".join(block.split())
            wrapped = textwrap.fill(flat, width=args[1], subsequent_indent=indent, break_long_words=False,
                                    break_on_hyphens=False)
            if one_segment(wrapped) == one_segment(block):  # a line starting "1990. " would make a list item
                self.blocks[index] = wrapped
        return None


def entries(path: Path) -> tuple[dict, dict]:
    po = polib.pofile(str(path))
    live = {e.msgid: e for e in po if not e.obsolete}
    obsolete = {e.msgid: e for e in po.obsolete_entries()}
    return live, obsolete


def translations(path: Path) -> set[str]:
    live, obsolete = entries(path)
    return {e.msgstr for e in [*live.values(), *obsolete.values()] if e.msgstr}


def msgmerge(old: Path, pot: Path, out: Path) -> None:
    subprocess.run(["msgmerge", "--quiet", "--previous", "-o", str(out), str(old), str(pot)], check=True)


def run_update(root: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["update"], root)
    assert code == 0, err.getvalue()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("property-base")
    for name in ("content", "templates", "locales"):
        shutil.copytree(ROOT / name, root / name)
    return root


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=5))
def test_no_sequence_of_edits_loses_a_translation(base, steps):
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary) / "project"
        shutil.copytree(base, root)
        author = Author((root / BRIEF).read_text(encoding="utf-8"))
        remembered: dict[str, dict[str, tuple[str, bool]]] = {}  # deleted msgid -> lang -> (msgstr, fuzzy)
        pot = root / "locales" / f"{SLUG}.pot"
        for action in steps:
            done = author.apply(action)
            event(f"step: {action[0]}")
            if done and done[0] == "delete":
                msgid = segment_msgid(done[1])
                remembered[msgid] = {}
                for lang in COMPARED:
                    live, _ = entries(root / "locales" / lang / "LC_MESSAGES" / f"{SLUG}.po")
                    if msgid in live:
                        remembered[msgid][lang] = (live[msgid].msgstr, "fuzzy" in live[msgid].flags)
            (root / BRIEF).write_text(author.text(), encoding="utf-8")
            old = {lang: (root / "locales" / lang / "LC_MESSAGES" / f"{SLUG}.po").read_bytes() for lang in COMPARED}
            run_update(root)
            for lang in LANGS:
                path = root / "locales" / lang / "LC_MESSAGES" / f"{SLUG}.po"
                result = subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(path)], capture_output=True,
                                        text=True)
                assert result.returncode == 0, (action, lang, result.stderr)
            template = {e.msgid for e in polib.pofile(str(pot))}
            for lang in COMPARED:
                ours_path = root / "locales" / lang / "LC_MESSAGES" / f"{SLUG}.po"
                old_path, theirs_path = Path(temporary) / f"old.{lang}.po", Path(temporary) / f"mm.{lang}.po"
                old_path.write_bytes(old[lang])
                msgmerge(old_path, pot, theirs_path)
                ours, _ = entries(ours_path)
                theirs, _ = entries(theirs_path)
                for msgid, entry in theirs.items():
                    if not entry.msgstr:
                        continue
                    mine = ours.get(msgid)
                    if "fuzzy" not in entry.flags:  # msgmerge keeps it translated: so do we, unchanged
                        assert mine is not None and mine.msgstr == entry.msgstr and "fuzzy" not in mine.flags, \
                            (action, lang, msgid[:60])
                    elif entry.previous_msgid not in template:  # an edited paragraph: its old translation, fuzzy
                        assert mine is not None and mine.msgstr == entry.msgstr, (action, lang, msgid[:60])
                lost = translations(theirs_path) - translations(ours_path)
                assert not lost, (action, lang, [t[:60] for t in lost])
            if done and done[0] == "restore":
                msgid = segment_msgid(done[1])
                for lang, (msgstr, fuzzy) in remembered.get(msgid, {}).items():
                    live, _ = entries(root / "locales" / lang / "LC_MESSAGES" / f"{SLUG}.po")
                    assert msgid in live and live[msgid].msgstr == msgstr, (lang, msgid[:60])
                    assert ("fuzzy" in live[msgid].flags) == fuzzy, (lang, msgid[:60])
        before = {p: p.read_bytes() for p in (root / "locales").rglob("*.po*")}
        run_update(root)
        assert {p: p.read_bytes() for p in (root / "locales").rglob("*.po*")} == before  # update twice: no change
