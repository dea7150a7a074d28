"""Stage 3: one pandoc parse per edition, with citeproc, into a sanitized AST.

Every format is written from this one AST, so citations, footnotes and the
suggested citation read the same in HTML, EPUB, DOCX and PDF. Translations are
untrusted: the Markdown reader has raw HTML/TeX switched off, and the AST is
cleaned (no raw blocks, no script links, no foreign attributes) before any
writer sees it. Pandoc runs with sandbox=True throughout.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import orjson
import pypandoc
import yaml

from pubpipe.render import figures, formulas
from pubpipe.render.figures import LEAVES
from pubpipe.source.languages import parse_language
from pubpipe.translate.edition import OPENING, Edition, language_marker

# libyaml's emitter when PyYAML has it: the same bytes as PyYAML's own for an edition's metadata, in a sixth
# of the time (0.7 ms instead of 4 per edition, in the main process before its parse can start)
SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# No raw markup, and no YAML metadata blocks: a translated segment cannot carry document metadata
# (a `bibliography:` that citeproc would read, a publisher, a title). Metadata reaches pandoc only from
# the metadata file written below, which publication.yaml alone fills.
READER = "markdown-raw_html-raw_tex-raw_attribute-markdown_in_html_blocks-yaml_metadata_block"
# The languages for which pandoc has its own terms ("Table of Contents", "Title Page", "Abstract", ...): the
# data files translations/<tag>.yaml of the pinned pandoc (3.9), which looks for the whole tag, then its
# language alone. tests/test_pandoc_terms.py holds this list to the binary, language by language.
PANDOC_TERMS = frozenset("""
    af am ar as ast az be bg bn bo br bs ca cs cu cy da de dsb el en eo es et eu fa fi fil fr fur ga gd gl gu ha he
    hi hr hsb hu hy ia id is it ja ka km kn ko la lb lo lt lv mk ml mn mr ms nb nl nn no oc or pa pl pt pt-BR pt-PT
    rm ro ru se si sk sl sq sr sr-Latn sv ta te th tk tr ug uk ur vi zh-Hans zh-Hant""".split())
TERM_WARNINGS = ("Could not load translations for", "has no translation defined")


def pandoc_has_terms(tag: str) -> bool:
    return tag in PANDOC_TERMS or tag.partition("-")[0] in PANDOC_TERMS


class _WithoutTermWarnings(logging.Filter):
    """pandoc's warnings about its terms for a language reach the terminal raw, through pypandoc's own log
    handler, once per artifact; the build reports the missing terms once per edition instead, as a diagnostic
    (pipeline.check_editions, [pandoc-terms])."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(text in record.getMessage() for text in TERM_WARNINGS)


logging.getLogger("pypandoc").addFilter(_WithoutTermWarnings())
SAFE_SCHEMES = ("http://", "https://", "mailto:", "#")
SAFE_ATTRIBUTES = {"lang", "dir"}
SELF_ID = "suggested-citation-self"
WORKING_META = ("csl", "nocite", "references", "link-citations")


def edition_metadata(edition: Edition) -> dict[str, Any]:
    """The document metadata: built from publication.yaml and the translated metadata strings only."""
    pub, s = edition.publication, edition.strings
    return {
        "strings": dict(s),
        "author": [pub.name(pub.meta["corporate_author"], pub.source_language)],
        "publisher": pub.name(pub.meta["publisher"], pub.source_language),
        "date": str(pub.year),
        "identifier": f"{pub.meta['identifier']}:{edition.tag}",
        "rights": pub.meta.get("licence", {}).get("name", ""),
        "description": s["subtitle"],
        "title": edition.marked_string("title"),  # a title page says the language of a fallen-back title
        "subtitle": edition.marked_string("subtitle"),
        "lang": edition.tag,
        "dir": edition.language.direction,
        "page-progression-direction": edition.language.direction,
        "nocite": " ".join(f"@{key}" for key in pub.meta.get("key_references", []) + [SELF_ID]),
        "link-citations": False,
        "references": pub.references + [self_reference(edition)],
    }


def edition_markdown(edition: Edition, notices: str = "") -> str:
    """The edition's body as one Markdown document (no metadata block): notices, body and back matter; a
    metadata string that fell back is marked as being in the source language (Edition.marked_string)."""
    s, marked = edition.strings, edition.marked_string
    joiner = "" if edition.language.script in ("Hans", "Hant", "Jpan") else " "
    acknowledgements = f"**{marked('acknowledgements_label')}**{joiner}{marked('acknowledgements')}"
    if edition.fell_back("acknowledgements_label") and edition.fell_back("acknowledgements"):  # one span for both
        acknowledgements = f"{language_marker(*edition.fallback)}**{s['acknowledgements_label']}**{joiner}" \
                           f"{s['acknowledgements']}"
    # the citation is in the source language as a whole while its label, the title and the genre are (the names
    # are cited in it always): then it runs in the source language's direction, its full stop at its end
    whole = all(edition.fell_back(key) for key in ("citation_label", "title", "genre"))
    citation_language = " lang={} dir={}".format(*edition.fallback) if whole else ""
    back = (
        f"# {marked('key_references')} {{#key-references}}\n\n"
        "::: {#refs}\n:::\n\n"
        f"::: {{#acknowledgements .acknowledgements}}\n{acknowledgements}\n:::\n\n"
        f"::: {{#suggested-citation .suggested-citation{citation_language}}}\n**{marked('citation_label')}**\n:::\n"
    )
    notices = f"{notices}\n\n" if notices else ""
    return f"{notices}{edition.body.rstrip()}\n\n{back}"


def self_reference(edition: Edition) -> dict[str, Any]:
    """The brief's own CSL record, from publication.yaml; citeproc renders the suggested citation from it."""
    pub = edition.publication
    source_title = pub.strings["title"].text
    item: dict[str, Any] = {
        "id": SELF_ID,
        "type": "report",
        "author": [{"literal": pub.name(pub.meta["corporate_author"], pub.source_language)}],
        "issued": {"date-parts": [[pub.year]]},
        "title": edition.strings["title"],
        "genre": edition.strings["genre"],
        "publisher": pub.name(pub.meta["publisher"], pub.source_language),
        "language": edition.tag,
    }
    if edition.strings["title"] != source_title:
        item["original-title"] = source_title
    if pub.meta.get("url"):
        item["URL"] = pub.meta["url"]
    return item


def parse_arguments(csl: Path, meta_file: Path) -> list[str]:
    # every pipe table keeps the relative widths of its dashes (pandoc keeps them only for lines wider than
    # --columns)
    return ["--citeproc", f"--csl={csl}", f"--metadata-file={meta_file}", "--columns=1"]


def parse_input(edition: Edition, csl: Path, notices: str) -> tuple[str, str, str]:
    """(markdown, metadata YAML, key): what the parse reads, and one SHA-256 over all of it."""
    markdown = edition_markdown(edition, notices)
    metadata = yaml.dump(edition_metadata(edition), Dumper=SafeDumper, allow_unicode=True, sort_keys=True)
    key = hashlib.sha256(json.dumps([markdown, metadata, str(csl), READER]).encode("utf-8")).hexdigest()
    return markdown, metadata, key


def parse_command(folder: Path, key: str, markdown: str, metadata: str, csl: Path) -> tuple[list[str], Path]:
    """The pandoc command of a parse started ahead, its input written into `folder`; and where it writes."""
    source, meta_file, output = (folder / f"{key}.{suffix}" for suffix in ("md", "yaml", "json"))
    source.write_text(markdown, encoding="utf-8")
    meta_file.write_text(metadata, encoding="utf-8")
    return [pypandoc.get_pandoc_path(), f"--from={READER}", "--to=json", "--sandbox",
            *parse_arguments(csl, meta_file), f"--output={output}", str(source)], output


class Adopted(Protocol):
    """A parse begun elsewhere (release/head_start.py), as Prefetch runs it: `done` reads empty once pandoc
    has exited, `output` is where its JSON goes; poll() is None while it runs."""

    done: int
    output: Path
    returncode: int | None

    def poll(self) -> int | None: ...
    def kill(self) -> None: ...
    def wait(self) -> int: ...


class Prefetch:
    """Parses started ahead, each a pandoc process of its own, while the build's Python is still reading and
    checking catalogs: on two cores the second one is otherwise idle until the workers start.

    The build guesses an edition's parse input before its checks (no entry rejected). A parse takes a
    prefetched result only when its own input is byte for byte the one guessed (the key), so a guess a check
    proved wrong is never used: that edition is parsed again. At most `limit` run at once; `finish` drops
    those not started and hands over those still running: each keeps the read end of a pipe whose write end
    only its pandoc holds, so the parse that needs it (in a forked worker too) reads to the end of the pipe,
    which comes when pandoc exits, instead of the build waiting for it before the workers start."""

    def __init__(self, folder: Path, limit: int, adopt: Callable[[str], Adopted | None] | None = None):
        self.folder, self.limit, self.adopt = folder, limit, adopt
        self.waiting: list[tuple[str, list[str], Path]] = []
        self.running: dict[str, tuple[subprocess.Popen | Adopted, Path]] = {}

    def start(self, edition: Edition, csl: Path, notices: str) -> str:
        """Queue the parse of this input (started now if fewer than `limit` run); its key. A parse that
        `adopt` already has running for this very input (release/head_start.py) is taken over instead."""
        markdown, metadata, key = parse_input(edition, csl, notices)
        if key in READY or key in self.running or any(key == k for k, _c, _o in self.waiting):
            return key
        adopted = self.adopt(key) if self.adopt is not None else None
        if adopted is not None:
            self.running[key] = (adopted, adopted.output)
            RUNNING[key] = (adopted.done, adopted.output)
            return key
        command, output = parse_command(self.folder, key, markdown, metadata, csl)
        self.waiting.append((key, command, output))
        self.advance()
        return key

    def drop(self, key: str) -> None:
        """A guess a check proved wrong: not started, or stopped; its result would never be taken."""
        self.waiting = [entry for entry in self.waiting if entry[0] != key]
        READY.pop(key, None)
        if key in self.running:
            process, _output = self.running.pop(key)
            process.kill()
            process.wait()
            os.close(RUNNING.pop(key)[0])
        self.advance()

    def advance(self) -> None:
        """Collect the parses that finished; start waiting ones while fewer than `limit` run."""
        for key, (process, output) in list(self.running.items()):
            if process.poll() is not None:
                del self.running[key]
                os.close(RUNNING.pop(key)[0])
                if process.returncode == 0:  # a failed guess is parsed again, and reported, by the build
                    READY[key] = output
        while self.waiting and len(self.running) < self.limit:
            key, command, output = self.waiting.pop(0)
            done, end = os.pipe()  # `end` is pandoc's alone: the pipe reads empty once pandoc has exited
            try:
                process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, pass_fds=(end,))
            except BaseException:
                os.close(done)
                raise
            finally:
                os.close(end)
            self.running[key] = (process, output)
            RUNNING[key] = (done, output)

    def finish(self) -> None:
        """Before the workers start: drop the parses not started; those running are handed over (RUNNING)."""
        self.waiting.clear()
        self.advance()

    def close(self) -> None:
        """Stop what still runs (a build that failed its checks) and forget every result."""
        self.waiting.clear()
        for process, _output in self.running.values():
            process.kill()
            process.wait()
        self.running.clear()
        for done, _output in RUNNING.values():
            os.close(done)
        RUNNING.clear()
        READY.clear()


READY: dict[str, Path] = {}  # parse key -> pandoc's JSON, written by a Prefetch of this build
RUNNING: dict[str, tuple[int, Path]] = {}  # parse key -> (read end of its pipe, where pandoc writes the JSON)


def parse(edition: Edition, csl: Path, notices: str = "") -> dict:
    """Markdown -> resolved, sanitized pandoc AST (one pandoc call, or its result prefetched)."""
    markdown, metadata, key = parse_input(edition, csl, notices)
    parsed = _prefetched(key)
    if parsed is None:
        with tempfile.TemporaryDirectory(prefix="pubpipe-meta-") as scratch:
            meta_file = Path(scratch) / "metadata.yaml"
            meta_file.write_text(metadata, encoding="utf-8")
            parsed = orjson.loads(pypandoc.convert_text(markdown, "json", format=READER, sandbox=True,
                                                        verify_format=False,  # ours: asking costs 2 processes
                                                        extra_args=parse_arguments(csl, meta_file)))
    ast = sanitize(parsed, figures.allowed_images(edition.publication))
    if OPENING in markdown or OPENING in metadata:
        ast = spans_from_markers(ast)
        ast["blocks"] = passages_as_blocks(ast["blocks"], edition.language.direction)
    ast = formulas.with_alt_text(ast)
    figures.prepare(ast, edition)
    move_self_citation(ast)
    for key in WORKING_META:  # used up by citeproc; never written into a document's properties
        ast["meta"].pop(key, None)
    mark_reference_language(ast, edition)
    if edition.language.direction == "rtl":
        ast["blocks"] = isolate_latin_runs(code_left_to_right(ast["blocks"]))
    return ast


def spans_from_markers(node: Any) -> Any:
    """Each empty span of class OPENING (translate/edition.mark_language with `opening`) becomes a span, without
    that class, around what follows it in its list of inlines: the AST that `[text]{...}` parses to."""
    if isinstance(node, list):
        for index, child in enumerate(node):
            if isinstance(child, dict) and child.get("t") == "Span" and not child["c"][1] \
                    and OPENING in child["c"][0][1]:
                ident, classes, keyvals = child["c"][0]
                span = {"t": "Span", "c": [[ident, [c for c in classes if c != OPENING], keyvals],
                                           spans_from_markers(node[index + 1 :])]}
                return [spans_from_markers(n) for n in node[:index]] + [span]
        return [n if type(n) is dict and n.get("t") in LEAVES else spans_from_markers(n) for n in node]
    if isinstance(node, dict):
        return {key: spans_from_markers(value) for key, value in node.items()}
    return node


def passages_as_blocks(blocks: list, direction: str) -> list:
    """Each paragraph whose whole text is one span in the other direction than the edition's (a fallback in the
    source language: English in Arabic) becomes a div with the span's lang and dir around the paragraph, so the
    paragraph itself runs in that direction in every format: where its lines start, and that its final full
    stop ends the line on the right. A span inside the paragraph turns only its words around. Looks inside
    divs, quotations, list items, definitions and footnotes; a list wholly in that language becomes one div."""
    out = []
    for block in blocks:
        kind = block.get("t")
        if kind in ("Para", "Plain"):
            block = {"t": kind, "c": _notes_as_blocks(block["c"], direction)}
            span = _passage_span(block["c"], direction)
            if span:
                out.append({"t": "Div", "c": [["", [], span["c"][0][2]], [{"t": kind, "c": span["c"][1]}]]})
                continue
        elif kind == "Div":
            block = {"t": "Div", "c": [block["c"][0], passages_as_blocks(block["c"][1], direction)]}
        elif kind == "BlockQuote":
            block = {"t": "BlockQuote", "c": passages_as_blocks(block["c"], direction)}
        elif kind in ("BulletList", "OrderedList", "DefinitionList"):
            block = _list_as_block(block, direction)
        out.append(block)
    return out


def _list_as_block(block: dict, direction: str) -> dict:
    """A list with its items through passages_as_blocks; a list wholly in the other language (every item, every
    term) is itself the div, so that it runs in that direction as a whole: its bullets or numbers on that side,
    beside the text, instead of on the edition's side, a column away from it (a Persian edition's English
    list)."""
    kind = block["t"]
    if kind == "DefinitionList":
        pairs = [(term, [passages_as_blocks(definition, direction) for definition in definitions])
                 for term, definitions in block["c"]]
        terms = [_passage_span(term, direction) for term, _definitions in pairs]
        attr = _passages_attr([definition for _term, definitions in pairs for definition in definitions])
        if attr is None or any(span is None or span["c"][0][2] != attr for span in terms):
            return {"t": kind, "c": [[term, definitions] for term, definitions in pairs]}
        whole = {"t": kind, "c": [[span["c"][1], [_unwrapped(definition) for definition in definitions]]
                                  for span, (_term, definitions) in zip(terms, pairs, strict=True)]}
    else:
        def made(items: list) -> dict:
            return {"t": kind, "c": items if kind == "BulletList" else [block["c"][0], items]}

        listed = block["c"] if kind == "BulletList" else block["c"][1]
        items = [passages_as_blocks(item, direction) for item in listed]
        attr = _passages_attr(items)
        if attr is None:
            return made(items)
        whole = made([_unwrapped(item) for item in items])
    return {"t": "Div", "c": [["", [], attr], [whole]]}


def _passage_span(inlines: list, direction: str) -> dict | None:
    """The span in the other direction that is the whole of these inlines (a fallback paragraph or term)."""
    found = [n for n in inlines if n.get("t") not in ("Space", "SoftBreak")]
    span = found[0] if len(found) == 1 and found[0].get("t") == "Span" else None
    keys = dict(span["c"][0][2]) if span else {}
    if span and not span["c"][0][0] and not span["c"][0][1] and keys.get("lang") \
            and keys.get("dir") in ("ltr", "rtl") and keys["dir"] != direction:
        return span
    return None


def _passages_attr(groups: list[list]) -> list | None:
    """The attributes every block of these block lists shares when each is a passage div of passages_as_blocks
    (no id, no class, a lang and a dir), else None."""
    blocks = [block for group in groups for block in group]
    attrs = [block["c"][0] if block.get("t") == "Div" else None for block in blocks]
    if not blocks or any(attr is None or attr[0] or attr[1] for attr in attrs) or \
            any(attr[2] != attrs[0][2] for attr in attrs):
        return None
    return attrs[0][2]


def _unwrapped(blocks: list) -> list:
    """The blocks inside these passage divs."""
    return [inner for div in blocks for inner in div["c"][1]]


def _notes_as_blocks(node: Any, direction: str) -> Any:
    """The footnotes in a paragraph's inlines, their own paragraphs through passages_as_blocks."""
    return rewrite(node, lambda n: {"t": "Note", "c": passages_as_blocks(n["c"], direction)}
                   if n.get("t") == "Note" else None)


def _prefetched(key: str) -> dict | None:
    """The prefetched AST for this input, once its pandoc has exited; None if there is none or it failed."""
    output = READY.get(key)
    if output is None and key in RUNNING:
        done, output = RUNNING[key]
        while os.read(done, 1):  # nothing is ever written: this returns b"" when pandoc exits
            pass
    try:
        return orjson.loads(output.read_bytes()) if output is not None else None
    except (OSError, ValueError):  # its folder is gone, or pandoc failed and wrote nothing whole: parse again
        return None


def text_direction(tag: str) -> str:
    """'rtl' or 'ltr' from CLDR (he, fa, ur, ps, yi, dv, ckb... are right-to-left); ltr for a tag CLDR lacks."""
    try:
        return parse_language(tag).direction
    except ValueError:
        return "ltr"


def mark_reference_language(ast: dict, edition: Edition) -> None:
    """Reference-list entries keep the language of the work (English here), and its direction."""
    items = {item["id"]: item for item in edition.publication.references}
    found = _find_div(ast["blocks"], "refs")
    if not found:
        return
    blocks, index = found
    for entry in blocks[index]["c"][1]:
        if entry.get("t") != "Div" or not entry["c"][0][0].startswith("ref-"):
            continue
        item = items.get(entry["c"][0][0][4:], {})
        language = item.get("language", edition.publication.source_language)
        if language != edition.tag:
            direction = text_direction(language)
            entry["c"][0][2] = [kv for kv in entry["c"][0][2] if kv[0] not in ("lang", "dir")] + \
                [["lang", language], ["dir", direction]]


LATIN_WORD = re.compile(r"[A-Za-z\u00C0-\u024F0-9](?:[A-Za-z\u00C0-\u024F0-9.'’&:/@_+\-]*[A-Za-z\u00C0-\u024F0-9])?")
RTL_LETTER = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")


def _latin(node: dict) -> bool:
    """A Latin-script word (or a citation, link or code in Latin script), not a bare number."""
    text = stringify(node)
    return bool(re.search(r"[A-Za-z\u00C0-\u024F]", text)) and not RTL_LETTER.search(text)


def _split_str(node: dict) -> list[dict]:
    """'(IPCC،' -> '(' , 'IPCC', '،': Latin words become their own Str nodes."""
    text = node["c"]
    if RTL_LETTER.search(text) is None and LATIN_WORD.fullmatch(text):
        return [node]
    out, last = [], 0
    for match in LATIN_WORD.finditer(text):
        if match.start() > last:
            out.append({"t": "Str", "c": text[last:match.start()]})
        out.append({"t": "Str", "c": match.group(0)})
        last = match.end()
    if last < len(text):
        out.append({"t": "Str", "c": text[last:]})
    return out


UNSPLIT = frozenset({"Math", "Code", "RawInline", "RawBlock", "CodeBlock"}) | LEAVES  # isolate_latin_runs keeps
# these as they are: code and formulas are left-to-right already; a leaf is split by the list that holds it


def rewrite(node: Any, change: Callable[[dict], dict | None]) -> Any:
    """A copy of `node` in which each node that `change` returns a replacement for is replaced (None: look
    inside it); pandoc's text leaves (LEAVES) are shared, not visited."""
    if isinstance(node, list):
        return [n if type(n) is dict and n.get("t") in LEAVES else rewrite(n, change) for n in node]
    if isinstance(node, dict):
        changed = change(node)
        if changed is not None:
            return changed
        return {key: rewrite(value, change) for key, value in node.items()}
    return node


def code_left_to_right(node: Any) -> Any:
    """Every code block says dir=ltr, in a div that says so too: code reads left to right in every edition, and
    a right-to-left page, EPUB or DOCX set it on the right (an attribute, not CSS: EPUBCheck refuses
    `direction` in an EPUB style sheet; pandoc's DOCX writer takes a direction from a div only; inline code is
    in isolate_latin_runs' spans, and the PDF sets raw blocks left to right in brief.typ.j2)."""
    def change(block: dict) -> dict | None:
        if block.get("t") != "CodeBlock" or any(key == "dir" for key, _value in block["c"][0][2]):
            return None
        (ident, classes, keyvals), text = block["c"]
        code = {"t": "CodeBlock", "c": [[ident, classes, [*keyvals, ["dir", "ltr"]]], text]}
        return {"t": "Div", "c": [["", [], [["dir", "ltr"]]], [code]]}

    return rewrite(node, change)


def isolate_latin_runs(node: Any) -> Any:
    """In right-to-left text, wrap each run of Latin-script words in a left-to-right span.

    Names, e-mail addresses, the English original title and citations such
    as "IPCC 2021" then read correctly inside Arabic: HTML isolates elements
    with a dir attribute, DOCX writes them as left-to-right runs.
    """
    if isinstance(node, dict):
        if node.get("t") in UNSPLIT:
            return node
        if node.get("t") in ("Div", "Span") and ["dir", "ltr"] in node["c"][0][2]:
            return node  # already left-to-right as a whole
        return {key: isolate_latin_runs(value) for key, value in node.items()}
    if not isinstance(node, list) or not node or not all(isinstance(n, dict) and "t" in n for n in node):
        return [isolate_latin_runs(n) for n in node] if isinstance(node, list) else node
    if not any(n["t"] in ("Str", "Space", "SoftBreak") for n in node):
        return [isolate_latin_runs(n) for n in node]
    tokens = [piece for n in node for piece in (_split_str(n) if n["t"] == "Str" else [n])]
    out: list[dict] = []
    run: list[dict] = []

    def flush() -> None:
        trailing = []
        while run and run[-1]["t"] in ("Space", "SoftBreak"):
            trailing.insert(0, run.pop())
        if run:
            out.append({"t": "Span", "c": [["", ["ltr"], [["dir", "ltr"]]], run[:]]})
        out.extend(trailing)
        run.clear()

    for token in tokens:
        latin = token["t"] in ("Str", "Cite", "Link", "Code", "Emph", "Strong") and _latin(token)
        if latin or (run and token["t"] in ("Space", "SoftBreak")) or (run and token["t"] == "Str"
                                                                        and token["c"] in ("&", "-", "–")):
            run.append(token)
        else:
            flush()
            out.append(isolate_latin_runs(token))
    flush()
    return out


def sanitize(node: Any, images: frozenset[str] = frozenset()) -> Any:
    """Remove anything a translation could use to inject code or markup into an output.

    An image survives only when its path is one the canonical source declares (`images`), with its
    id, classes and alt text; any other image becomes its description, as text.
    """
    if isinstance(node, list):
        return [n if type(n) is dict and n.get("t") in LEAVES else sanitize(n, images)
                for n in node if not _is_raw(n)]
    if not isinstance(node, dict):
        return node
    kind = node.get("t")
    if kind == "Link":
        attr, inlines, (url, _title) = node["c"]
        if not url.strip().lower().startswith(SAFE_SCHEMES):
            return {"t": "Span", "c": [_clean_attr(attr), sanitize(inlines, images)]}
    if kind == "Image":
        attr, inlines, (target, _title) = node["c"]
        if target in images:
            alt = [[key, value] for key, value in attr[2] if key in figures.ALT_KEYS][:1]
            return {"t": "Image", "c": [[attr[0], attr[1], alt], sanitize(inlines, images), [target, ""]]}
        return {"t": "Span", "c": [_clean_attr(attr), sanitize(inlines, images)]}
    cleaned = {key: sanitize(value, images) for key, value in node.items()}
    if kind in {"Span", "Div", "Code", "CodeBlock", "Header", "Link", "Table", "Figure"}:
        cleaned["c"] = copy.copy(cleaned["c"])
        index = 1 if kind == "Header" else 0
        keep = {"alt"} if kind == "Div" and formulas.FORMULA in cleaned["c"][0][1] else set()  # its alt text
        cleaned["c"][index] = _clean_attr(cleaned["c"][index], keep)
    return cleaned


def _is_raw(node: Any) -> bool:
    return isinstance(node, dict) and node.get("t") in ("RawBlock", "RawInline")


def _clean_attr(attr: list, keep: set[str] = frozenset()) -> list:
    ident, classes, keyvals = attr
    return [ident, classes, [kv for kv in keyvals if kv[0] in SAFE_ATTRIBUTES or kv[0] in keep]]


def _find_div(blocks: list, ident: str) -> tuple[list, int] | None:
    for index, block in enumerate(blocks):
        if block.get("t") == "Div":
            if block["c"][0][0] == ident:
                return blocks, index
            found = _find_div(block["c"][1], ident)
            if found:
                return found
    return None


def move_self_citation(ast: dict) -> None:
    """citeproc rendered the brief's own record in the reference list; move it to the suggested citation."""
    found = _find_div(ast["blocks"], f"ref-{SELF_ID}")
    target = _find_div(ast["blocks"], "suggested-citation")
    if not found or not target:
        raise RuntimeError("citeproc did not render the suggested citation")
    parent, index = found
    entry = parent.pop(index)
    inlines = entry["c"][1][0]["c"]
    blocks, where = target
    para = blocks[where]["c"][1][0]
    para["c"] = para["c"] + ([{"t": "Space"}] if _needs_space(ast) else []) + inlines


def _needs_space(ast: dict) -> bool:
    lang = stringify(ast["meta"].get("lang", {}).get("c", []))
    return not lang.startswith(("zh", "ja"))


def meta_string(ast: dict, key: str) -> str:
    """A translated metadata string as plain text (pandoc parsed it as Markdown)."""
    return stringify(ast["meta"]["strings"]["c"][key]["c"]).strip()


def suggested_citation(ast: dict) -> str:
    """The suggested citation as plain text (for the manifest and the read-back checks)."""
    found = _find_div(ast["blocks"], "suggested-citation")
    blocks, index = found
    return stringify(_without_label(blocks[index]["c"][1][0]["c"])).strip()


def _without_label(inlines: list) -> list:
    """The block's inlines less the bold label that leads them, also where the label is the first thing in a
    span: in a right-to-left edition whose label and author fall back to the source language, isolate_latin_runs
    puts one left-to-right span around the label and the Latin words after it (the author's name)."""
    first = inlines[0] if inlines else None
    if isinstance(first, dict) and first.get("t") == "Strong":
        return inlines[1:]
    if isinstance(first, dict) and first.get("t") == "Span":
        return [{"t": "Span", "c": [first["c"][0], _without_label(first["c"][1])]}, *inlines[1:]]
    return inlines  # no label where it should be: kept, so the gate shows it rather than losing a word


def reference_entry(ast: dict, key: str) -> str:
    """A key reference as citeproc rendered it in the reference list, as plain text."""
    found = _find_div(ast["blocks"], f"ref-{key}")
    if not found:
        raise KeyError(f"citeproc did not render the reference '{key}'")
    blocks, index = found
    return stringify(blocks[index]["c"][1]).strip()


def stringify(node: Any) -> str:
    if isinstance(node, list):
        return "".join(stringify(n) for n in node)
    if not isinstance(node, dict):
        return ""
    kind, content = node.get("t"), node.get("c")
    if kind == "Str":
        return content
    if kind in ("Space", "SoftBreak"):
        return " "
    if kind == "LineBreak":
        return "\n"
    if kind == "Math":
        return content[1]
    if kind == "Code":
        return content[1]
    if kind == "Note":
        return ""
    if kind == "Quoted":
        quote = "“”" if content[0]["t"] == "DoubleQuote" else "‘’"
        return quote[0] + stringify(content[1]) + quote[1]
    if kind in ("Cite",):
        return stringify(content[1])
    if kind in ("Span", "Link", "Image"):
        return stringify(content[1])
    if kind in ("Emph", "Strong", "Underline", "Strikeout", "Superscript", "Subscript", "SmallCaps", "Plain", "Para"):
        return stringify(content)
    if kind == "Div":
        return stringify(content[1])
    return stringify(content) if isinstance(content, list) else ""


def ast_json(ast: dict) -> str:
    """The AST as pandoc's JSON, compact, the text json.dumps(ensure_ascii=False) gave. orjson, not json: an
    edition's AST is 130-150 kB of JSON, written once per format (json 2.4 ms, orjson 0.3) and read once per
    parse (1.6 ms, 0.9)."""
    return orjson.dumps(ast).decode("utf-8")


def write(ast: dict, to: str, extra_args: list[str] | None = None, outputfile: Path | None = None) -> str:
    """AST -> a format; binary formats go to `outputfile`. The format names are ours, so pypandoc is not
    asked to verify them (which runs pandoc twice more, to list its formats, for every conversion)."""
    text = ast_json(ast)
    return pypandoc.convert_text(text, to, format="json", extra_args=extra_args or [],
                                 outputfile=str(outputfile) if outputfile else None, sandbox=True,
                                 verify_format=False)
