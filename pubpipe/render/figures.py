"""Figures and table captions in the AST: numbered, localized, resolved per edition, then given to each writer.

After the one parse of an edition, `prepare` numbers figures and captioned
tables in document order with the edition's label (pandoc's own term
translations: Figure, Abbildung, 図, איור, Рис.), puts each figure's alt text
where every writer reads it (the image's description), and points each image at
the file the edition shows (its language variant when there is one). Each
writer then gets the images its own way: HTML copies them beside the page,
EPUB and DOCX receive data URIs (pandoc's sandbox reads no file), Typst reads
them from the publication's folder as its root.
"""

from __future__ import annotations

import base64
import functools
import json
import marshal
import re
import shutil
import subprocess
from pathlib import Path

import pypandoc
import yaml

from pubpipe.source.figures import ALT_KEYS, declared_figures, file_problem, media_type, resolve

CJK_SCRIPTS = ("Hans", "Hant", "Jpan", "Kore")
TH_IN_HEAD = re.compile(r"<thead>.*?</thead>", re.S)


def allowed_images(publication) -> frozenset[str]:
    """The image paths the canonical source declares: the only ones sanitize lets through."""
    return frozenset(figure.path for figure in declared_figures(publication))


@functools.lru_cache(maxsize=64)
def pandoc_terms(tag: str) -> dict[str, str]:
    """pandoc's term translations (translations/<lang>.yaml) for a language tag, falling back to its language."""
    for candidate in dict.fromkeys([tag, tag.split("-")[0], "en"]):
        if not re.fullmatch(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*", candidate):
            continue
        result = subprocess.run([pypandoc.get_pandoc_path(), "--print-default-data-file",
                                 f"translations/{candidate}.yaml"], capture_output=True)
        if result.returncode == 0:
            terms = yaml.safe_load(result.stdout.decode("utf-8"))
            if isinstance(terms, dict) and terms.get("Figure"):
                return {str(k): str(v) for k, v in terms.items()}
    return {"Figure": "Figure", "Table": "Table"}


def label(edition, kind: str, number: int) -> list[dict]:
    """'Figure 1: ', 'Abbildung 1: ', '図1 ' as inlines, put before the caption."""
    term = pandoc_terms(edition.tag).get(kind, kind)
    if edition.language.script in CJK_SCRIPTS:
        return [{"t": "Str", "c": f"{term}{number}"}, {"t": "Space"}]
    return [{"t": "Str", "c": f"{term}\u00a0{number}:"}, {"t": "Space"}]


def _caption_blocks(caption: list) -> list:
    return caption[1]


def _prefix(caption: list, inlines: list[dict]) -> None:
    blocks = _caption_blocks(caption)
    if blocks and blocks[0].get("t") in ("Plain", "Para"):
        blocks[0]["c"] = inlines + blocks[0]["c"]
    else:
        blocks.insert(0, {"t": "Plain", "c": inlines[:-1]})


# pandoc's text leaves, nine nodes in ten of a brief: no children, never changed in place, so a walk that copies
# the AST shares them, and each walk passes them over without a call (a full copy walk: 21 -> 4 ms for five
# editions of the brief)
LEAVES = frozenset({"Str", "Space", "SoftBreak", "LineBreak"})


def clone(ast):
    """A deep copy of a pandoc AST (dicts, lists, strings, numbers): marshal copies it in C, about four
    times faster than copy.deepcopy, and keeps shared nodes shared as deepcopy does."""
    return marshal.loads(marshal.dumps(ast))


def _images(node) -> list[dict]:
    """Every Image node under `node`, in document order (a loop, not recursion: the AST is deep and large)."""
    found, pending = [], [node]
    while pending:
        item = pending.pop()
        if type(item) is list:
            pending.extend(reversed(item))
        elif type(item) is dict:
            kind = item.get("t")
            if kind == "Image":
                found.append(item)
            elif kind in LEAVES:
                continue
            pending.extend(reversed(item.values()))
    return found


def prepare(ast: dict, edition) -> None:
    """Number figures and captioned tables, localize their labels, resolve each image for the edition."""
    root = edition.publication.root
    counts = {"Figure": 0, "Table": 0}

    def walk(node):
        if isinstance(node, list):
            for child in node:
                if type(child) is not dict or child.get("t") not in LEAVES:
                    walk(child)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("t")
        if kind == "Figure":
            counts["Figure"] += 1
            _prefix(node["c"][1], label(edition, "Figure", counts["Figure"]))
            for image in _images(node["c"][2]):
                _resolve_image(image, root, edition.tag)
            return
        if kind == "Table" and _caption_blocks(node["c"][1]):
            counts["Table"] += 1
            _prefix(node["c"][1], label(edition, "Table", counts["Table"]))
        for value in node.values():
            walk(value)

    walk(ast["blocks"])
    for image in _images(ast["blocks"]):  # an image outside a figure (inline): resolved the same way
        if not image.pop("resolved", False):
            _resolve_image(image, root, edition.tag)
            image.pop("resolved", None)


def _resolve_image(image: dict, root: Path, lang: str) -> None:
    attr, inlines, (target, _title) = image["c"]
    alt = next((value for key, value in attr[2] if key in ALT_KEYS), "")
    path = resolve(root, target, lang)
    if path is None:  # cannot happen after the source checks; never points a writer at a bad file
        image.clear()
        image.update({"t": "Span", "c": [[attr[0], attr[1], []], inlines]})
        return
    image["c"] = [[attr[0], attr[1], []], [{"t": "Str", "c": alt}] if alt else inlines, [path, ""]]
    image["resolved"] = True


def _rewrite(ast: dict, change) -> dict:
    """A copy of the AST with `change` made to each image; the AST itself when it has none (a brief
    without figures is not copied three times per edition). Marshal writes every string in full at least
    once, so a dump without b"Image" holds no Image node; the same dump makes the copy of the blocks."""
    dump = marshal.dumps(ast["blocks"])
    if b"Image" not in dump:
        return ast
    ast = {**ast, "blocks": marshal.loads(dump)}  # only blocks change: the metadata is shared, as when none
    for image in _images(ast["blocks"]):
        change(image)
    return ast


def _checked(root: Path, path: str) -> Path:
    problem = file_problem(root, path)
    if problem:
        raise ValueError(problem)
    return root / path


def for_html(ast: dict, root: Path, folder: Path) -> dict:
    """Copy each image beside the page (same relative path) and link it from there."""
    def change(image: dict) -> None:
        path = image["c"][2][0]
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_checked(root, path), target)

    return _rewrite(ast, change)


def with_data_uris(ast: dict, root: Path) -> dict:
    """Images as data URIs: pandoc's EPUB and DOCX writers embed them without reading a file (sandbox)."""
    def change(image: dict) -> None:
        path = image["c"][2][0]
        data = base64.b64encode(_checked(root, path).read_bytes()).decode("ascii")
        image["c"][2] = [f"data:{media_type(path)};base64,{data}", ""]

    return _rewrite(ast, change)


def for_typst(ast: dict, root: Path, stringify) -> dict:
    """Each image as Typst `image()` with its alt text (PDF/UA), read from the publication's folder as root."""
    def walk(node):
        if isinstance(node, list):
            return [child if type(child) is dict and child.get("t") in LEAVES else walk(child) for child in node]
        if isinstance(node, dict):
            if node.get("t") == "Image":
                path = node["c"][2][0]
                _checked(root, path)
                alt = stringify(node["c"][1])
                return {"t": "RawInline", "c": ["typst", f"#box(image({json.dumps('/' + path)}, "
                                                         f"alt: {json.dumps(alt, ensure_ascii=False)}, "
                                                         "width: 60%))"]}
            return {key: walk(value) for key, value in node.items()}
        return node

    return {**ast, "blocks": unlink_dangling(walk(ast["blocks"]))}  # both walks build new lists and dicts


def _ids(node, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        content = node.get("c")
        if node.get("t") in ("Header",) and isinstance(content, list):
            found.add(content[1][0])
        elif node.get("t") in ("Div", "Span", "Figure", "Table", "CodeBlock", "Code", "Image", "Link") \
                and isinstance(content, list) and content and isinstance(content[0], list) and content[0]:
            found.add(content[0][0])
        for value in node.values():
            _ids(value, found)
    elif isinstance(node, list):
        for child in node:
            if type(child) is not dict or child.get("t") not in LEAVES:
                _ids(child, found)
    return found


def unlink_dangling(blocks: list) -> list:
    """A link to an id the document lacks becomes its text: Typst refuses a reference to a missing label."""
    ids = _ids(blocks, set())

    def walk(node):
        if isinstance(node, list):
            return [child if type(child) is dict and child.get("t") in LEAVES else walk(child) for child in node]
        if isinstance(node, dict):
            if node.get("t") == "Link" and node["c"][2][0].startswith("#") and node["c"][2][0][1:] not in ids:
                return {"t": "Span", "c": [node["c"][0], walk(node["c"][1])]}
            return {key: walk(value) for key, value in node.items()}
        return node

    return walk(blocks)


def header_scope(markup: str) -> str:
    """Header cells name their scope: <th scope="col"> in a table's head (HTML and EPUB)."""
    return TH_IN_HEAD.sub(lambda m: re.sub(r"<th(?=[\s>])(?![^>]*\bscope=)", '<th scope="col"', m.group(0)),
                          markup)
