"""PDF through Typst, in process: pandoc writes the body, our template owns the page.

Tagged PDF declaring PDF/UA-1, with explicit fonts per script, the edition's
/Lang (zh-CN, not zh-US) and a fixed timestamp so builds are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jinja2
import typst
from babel.support import NullTranslations

from pubpipe.render.figures import LEAVES, clone, for_typst
from pubpipe.render.fonts import FontStack, font_book, stack_for
from pubpipe.render.formulas import broken_tex, formula_span, mirrored_tex
from pubpipe.render.html import CompiledTemplates, install_escaped_translations
from pubpipe.render.pandoc_ast import ast_json, rewrite, stringify, write
from pubpipe.source.formulas import reading
from pubpipe.translate.edition import Edition, ForeignText


def typst_string(value: object) -> str:
    """A typst string literal: the only way a value reaches the template."""
    return json.dumps(str(value), ensure_ascii=False)


def typst_fonts(families: tuple[str, ...], latin_in_cjk: bool) -> str:
    items = []
    for index, family in enumerate(families):
        if index == 0 and latin_in_cjk:
            items.append(f'(name: {typst_string(family)}, covers: "latin-in-cjk")')
        else:
            items.append(typst_string(family))
    return "(" + ", ".join(items) + ",)"


TYPST_TEMPLATES = CompiledTemplates()
TEMPLATE = "brief.typ.j2"


def compile_templates(templates: Path) -> None:
    """Compiled here, once, before the workers fork: they inherit the compiled code (the process's
    CompiledTemplates), where each would compile it again (10 ms)."""
    _environment(templates, NullTranslations()).get_template(TEMPLATE)


def _environment(templates: Path, ui, fallback: tuple[str, str] | None = None) -> jinja2.Environment:
    """Jinja with typst-friendly delimiters; values reach typst only as string literals (`str` filter)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates), autoescape=False, undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        variable_start_string="<<", variable_end_string=">>", block_start_string="<%", block_end_string="%>",
        comment_start_string="<#", comment_end_string="#>", keep_trailing_newline=True,
        bytecode_cache=TYPST_TEMPLATES,
    )
    env.filters["str"] = typst_string
    env.filters["content"] = typst_content
    install_escaped_translations(env, ui, str, (lambda text: ForeignText.of(text, *fallback)) if fallback else None)
    return env


def typst_content(value: object) -> str:
    """A value where the template places content: its string literal, in text() with its own lang and region if
    it is in another language than the edition (ForeignText, a string that fell back). Not its `dir`: its
    letters carry their direction, and an inline change of direction beside other text in a paragraph makes
    Typst draw the closing bidi control (U+202C) with the edition's font, which lacks it."""
    lang = getattr(value, "lang", "")
    if not lang:
        return typst_string(value)
    return f"text({typst_language(lang)}, {typst_string(value)})"


def typst_wrapper(node: object) -> tuple[str, str] | None:
    """The Typst call (opening, closing) that must enclose an inline node which pandoc's typst writer cannot
    express, or None.

    - every formula, display or inline, goes in math.equation(alt: ...) with the alt text of its span
      (`render.formulas`): PDF/UA-1 requires alt text, and it is the edition's sentence, never the TeX; a
      content block, not an argument, since what pandoc cannot convert comes out as escaped text (valid markup
      only). A display formula also goes in `fit-formula` (brief.typ.j2) with, as a second choice, the same
      formula broken before its relation (`broken_tex`): the first that fits the column is set, else the
      broken one scaled down to it, as a typesetter would, instead of letting it run off the page;
    - a Span's `lang` (a fallback passage in the source language), which the writer drops, goes in
      text(lang: ...), so hyphenation and the tagged PDF's /Lang follow it (never the edition's region).
    """
    if not isinstance(node, dict):
        return None
    found = formula_span(node)
    if found or node.get("t") == "Math":
        alt, math = found or (reading(node["c"][1]), node)
        if math["c"][0]["t"] == "DisplayMath":
            return f"#fit-formula(math.equation(block: true, alt: {typst_string(alt)})[", "])"
        return f"#math.equation(block: false, alt: {typst_string(alt)})[", "]"
    lang = dict(node["c"][0][2]).get("lang") if node.get("t") == "Span" else None
    if lang:
        return f"#text({typst_language(lang)})[", "]"
    return None


def typst_language(tag: str) -> str:
    """Typst's text settings for a passage in the language `tag`: its language and its own region (none unless
    the tag names one), so that a passage never takes the edition's region."""
    return f"lang: {typst_string(tag.partition('-')[0])}, region: {typst_region(tag)}"


def typst_region(tag: str) -> str:
    """The region of a language tag as a Typst value: the tag's own (en-GB -> "GB"), else none, so that a
    passage never inherits the edition's region (English inside a Chinese PDF is en, not en-CN)."""
    region = next((part for part in tag.split("-")[1:] if len(part) == 2 and part.isupper()), None)
    return typst_string(region) if region else "none"


def with_typst_wrappers(ast: dict, direction: str = "ltr") -> dict:
    """A copy of the AST with each node `typst_wrapper` names enclosed in its Typst call (one walk, one copy);
    in a right-to-left edition the formula is mirrored first (`mirrored_tex`): Typst lays math out left to right."""
    def walk(node):
        if isinstance(node, list):
            out = []
            for child in node:
                if type(child) is dict and child.get("t") in LEAVES:
                    out.append(child)
                    continue
                wrapper = typst_wrapper(child)
                if not wrapper:
                    out.append(walk(child))
                    continue
                math = formula_span(child)[1] if formula_span(child) else child if child.get("t") == "Math" else None
                if math is None:  # a span with a language: its content is walked
                    inner = [walk(child)]
                else:  # a formula: the Math node alone, mirrored in a right-to-left edition
                    tex = mirrored_tex(math["c"][1]) if direction == "rtl" else math["c"][1]
                    inner = [{"t": "Math", "c": [clone(math["c"][0]), tex]}]
                    broken = broken_tex(math["c"][1], direction == "rtl")
                    if broken and math["c"][0]["t"] == "DisplayMath":  # fit-formula's second choice
                        inner += [{"t": "RawInline", "c": ["typst", "], " + wrapper[0].split("(", 1)[1]]},
                                  {"t": "Math", "c": [clone(math["c"][0]), broken]}]
                out += [{"t": "RawInline", "c": ["typst", wrapper[0]]}, *inner,
                        {"t": "RawInline", "c": ["typst", wrapper[1]]}]
            return out
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        return node  # a string or number: nothing to copy

    return {**ast, "blocks": walk(ast["blocks"])}


NOTICE_BOX = 'fill: rgb("#fff6db"), inset: (x: 9pt, y: 7pt), width: 100%, stroke: ({side}: 3pt + rgb("#c99a06"))'


LABEL = re.compile(r"[A-Za-z0-9_.:-]+")  # an id Typst can take as a label, <id>


def with_block_directions(ast: dict, direction: str) -> dict:
    """What pandoc's typst writer ignores: a Div's `dir`, the notice boxes (on the start side), and that a div
    is as wide as its column; in divs, quotations and list items, where passages_as_blocks puts them, and in
    footnotes and definitions, where a block would part the paragraph from its number or its term
    (_inline_passage).

    Each div becomes our own full-width block around its content, its id the block's label: pandoc writes a
    div as #block[...], whose auto width Typst took from its longest line, so a justified paragraph in a div
    (a reference, the suggested citation, a fallback) ended up to 16 pt short of the column. (A rule setting
    the width of every block inside also reached the equations of fit-formula, which then always fitted.)"""
    ast = clone(ast)
    start = "right" if direction == "rtl" else "left"

    def wrap(block: dict, opening: str) -> list:
        ident = block["c"][0][0]
        if ident and not LABEL.fullmatch(ident):  # pandoc's div keeps an id no label can carry
            return [{"t": "RawBlock", "c": ["typst", opening]}, block, {"t": "RawBlock", "c": ["typst", "]"]}]
        return [{"t": "RawBlock", "c": ["typst", opening]}, *block["c"][1],
                {"t": "RawBlock", "c": ["typst", f"] <{ident}>" if ident else "]"]}]

    def walk(blocks: list) -> list:
        out = []
        for block in blocks:
            kind = block.get("t")
            if kind == "BlockQuote":
                block["c"] = walk(block["c"])
            elif kind in ("BulletList", "OrderedList"):  # a list item's fallback paragraph is a div too
                items = block["c"] if kind == "BulletList" else block["c"][1]
                items[:] = [walk(item) for item in items]
            elif kind in ("Para", "Plain"):  # a footnote's paragraph: in text(), a block would part it from its number
                block["c"] = rewrite(block["c"], lambda node: {"t": "Note", "c": list(map(_inline_passage, node["c"]))}
                                     if node.get("t") == "Note" else None)
            elif kind == "DefinitionList":  # so would a definition's from its term
                for _term, definitions in block["c"]:
                    definitions[:] = [[_inline_passage(child) for child in definition] for definition in definitions]
            if kind != "Div":
                out.append(block)
                continue
            block["c"][1] = walk(block["c"][1])
            attr = block["c"][0]
            keys = dict(attr[2])
            if keys.get("dir") in ("ltr", "rtl") or keys.get("lang"):
                # a passage in another language (a reference, a fallback): its own lang, and no region
                # inherited from the edition (en, not en-CN)
                settings = [f"dir: {keys['dir']}"] if keys.get("dir") in ("ltr", "rtl") else []
                if keys.get("lang"):
                    settings.append(typst_language(keys["lang"]))
                out += wrap(block, f"#block(width: 100%)[#set text({', '.join(settings)})")
            elif "notice" in attr[1]:
                out += wrap(block, f"#block({NOTICE_BOX.format(side=start)})[")
            else:
                out += wrap(block, "#block(width: 100%)[")
        return out

    ast["blocks"] = walk(ast["blocks"])
    return ast


def _inline_passage(block: dict) -> dict:
    """A div of one paragraph in another language and direction (passages_as_blocks), as that paragraph with
    its words in text(dir:, lang:, region:): the paragraph stays one, the period stays at the end of its run."""
    keys = dict(block["c"][0][2]) if block.get("t") == "Div" else {}
    inner = block["c"][1] if keys.get("lang") and keys.get("dir") in ("ltr", "rtl") else []
    if len(inner) != 1 or inner[0].get("t") not in ("Para", "Plain"):
        return block
    opening = f"#text(dir: {keys['dir']}, {typst_language(keys['lang'])})["
    return {"t": inner[0]["t"], "c": [{"t": "RawInline", "c": ["typst", opening]}, *inner[0]["c"],
                                      {"t": "RawInline", "c": ["typst", "]"]}]}


def typst_source(edition: Edition, ast: dict, templates: Path, context: dict, ui) -> str:
    pictured = for_typst(ast, edition.publication.root, stringify)
    marked = with_typst_wrappers(pictured, edition.language.direction)
    body = write(with_block_directions(marked, edition.language.direction), "typst-citations", ["--wrap=none"])
    # the stack from everything the PDF prints (body, notices, references, metadata): the AST's strings
    stack: FontStack = stack_for(edition.language, ast_json(ast))
    return _environment(templates, ui, edition.fallback).get_template(TEMPLATE).render(
        body=body,
        body_fonts=typst_fonts(stack.body, stack.latin_in_cjk),
        heading_fonts=typst_fonts(stack.heading, stack.latin_in_cjk),
        math_fonts=typst_fonts(stack.math, False),
        mono_fonts=typst_fonts(stack.mono, stack.latin_in_cjk),
        lang=edition.language.locale.language,
        region=typst_region(edition.language.pdf_lang),
        dir=edition.language.direction,
        **context,
    )


def compile_pdf(source: str, output: Path, epoch: int, root: Path | None = None) -> None:
    """Compile in process; `root` (the publication's folder) is the only place Typst reads files from: figures."""
    timestamp = dt.datetime.fromtimestamp(epoch, dt.UTC)
    pdf = typst.compile(source.encode("utf-8"), format="pdf", pdf_standards=["ua-1"],
                        timestamp=int(timestamp.timestamp()), root=str(Path(root or ".").resolve()),
                        font_paths=font_book())
    output.write_bytes(pdf)

