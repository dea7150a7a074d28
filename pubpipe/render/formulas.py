"""Formulas in the AST: each Math node gets its alternative text, in the edition's language.

Pandoc's Math node has no attributes, so `with_alt_text` encloses every Math node in a span
`[math]{.formula alt="..."}`: the alt text the source declares on the div around a display formula
(translated like any segment), or else a reading made from the TeX (`source.formulas.reading`), never the
TeX itself. Each writer then puts the sentence where its format expects it: Typst's math.equation(alt:)
(the PDF's /Alt), MathML `alttext` and `aria-label` (HTML, EPUB), a content control's title (DOCX).
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any

from pubpipe.render.figures import LEAVES
from pubpipe.source.formulas import reading

FORMULA = "formula"


def alt_of(attr: list) -> str | None:
    return next((value for key, value in attr[2] if key == "alt"), None)


def with_alt_text(node: Any, alt: str | None = None) -> Any:
    """A copy of the (sanitized) AST in which every Math node is a span.formula carrying its alt text."""
    if isinstance(node, list):
        return [child if type(child) is dict and child.get("t") in LEAVES else with_alt_text(child, alt)
                for child in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("t")
    if kind == "Math":
        text = " ".join((alt or "").split()) or reading(node["c"][1])
        keyvals = [["alt", text]]
        if node["c"][0]["t"] == "DisplayMath":
            keyvals.append(["texts", str(texts_in_a_row(node["c"][1]))])
        return {"t": "Span", "c": [["", [FORMULA], keyvals], [node]]}
    if kind == "Div" and FORMULA in node["c"][0][1]:
        ident, classes, keyvals = node["c"][0]
        inner = alt_of(node["c"][0])
        return {"t": "Div", "c": [[ident, classes, [kv for kv in keyvals if kv[0] != "alt"]],
                                  with_alt_text(node["c"][1], inner)]}
    if kind == "Span" and FORMULA in node["c"][0][1] and alt_of(node["c"][0]) is not None:
        return node  # already done
    return {key: with_alt_text(value, alt) for key, value in node.items()}


def formula_span(node: Any) -> tuple[str, dict] | None:
    """(alt text, Math node) when `node` is a span made by `with_alt_text`."""
    if isinstance(node, dict) and node.get("t") == "Span" and FORMULA in node["c"][0][1]:
        maths = [child for child in node["c"][1] if child.get("t") == "Math"]
        alt = alt_of(node["c"][0])
        if len(maths) == 1 and alt is not None:
            return alt, maths[0]
    return None


# pandoc writes the span as <span class="formula" alt="..." data-texts="4"> around <math ...>; the values are
# already escaped for an attribute by pandoc, and are copied as they are.
MATH_IN_SPAN = re.compile(r'<span class="formula"(?P<attrs>[^>]*)><math (?P<math>[^>]*)>')
ATTRIBUTE = re.compile(r'(?:data-)?(?P<key>alt|texts)="(?P<value>[^"]*)"')


def label_mathml(markup: str, epub: bool = False) -> str:
    """The alt text on the MathML itself: `alttext` (MathML's own) and `aria-label` (what browsers expose;
    <math> has the role math already). A display formula's span becomes a block that the formula
    fits: its words (mtext) wrap within their share of the column (`--texts`, style.css), and where even
    that is too wide (a phone) it scrolls, as a focusable region labelled with the same sentence. EPUB's
    MathML schema allows neither `role` nor `aria-label` on <math>: there the label is on the span only."""
    def label(match: re.Match) -> str:
        found = {m.group("key"): m.group("value") for m in ATTRIBUTE.finditer(match.group("attrs"))}
        alt, math = found.get("alt", ""), re.sub(r'\s*alttext="[^"]*"', "", match.group("math"))
        if 'display="block"' in math:
            texts = found.get("texts", "0")
            outer = (f'<span class="formula formula-block" role="region" tabindex="0" aria-label="{alt}" '
                     f'style="--texts: {max(1, int(texts)) if texts.isdigit() else 1}">')
        else:
            outer = '<span class="formula">'
        if 'display="block"' not in math and epub:
            outer = f'<span class="formula" role="math" aria-label="{alt}">'
        aria = "" if epub else f' aria-label="{alt}"'
        return f'{outer}<math {math} alttext="{alt}"{aria}>'
    return MATH_IN_SPAN.sub(label, markup)


def plain(value: str) -> str:
    """An attribute value back as text (for tests and read-back)."""
    return html.unescape(value)


MIRROR = {"(": ")", ")": "(", "[": "]", "]": "[", "<": ">", ">": "<", "\\{": "\\}", "\\}": "\\{",
          "\\leq": "\\geq", "\\geq": "\\leq", "\\le": "\\ge", "\\ge": "\\le", "\\lt": "\\gt", "\\gt": "\\lt"}
ATOM = re.compile(r"\\[A-Za-z]+|\\.|\s+|.", re.S)


def _group(tex: str, start: int) -> int:
    """The index just past the brace group opening at `start`."""
    depth = 0
    for index in range(start, len(tex)):
        if tex[index] == "\\":
            continue
        if tex[index] == "{" and (index == 0 or tex[index - 1] != "\\"):
            depth += 1
        elif tex[index] == "}" and tex[index - 1] != "\\":
            depth -= 1
            if depth == 0:
                return index + 1
    return len(tex)


def _atoms(tex: str) -> list[tuple[str, tuple[str, ...]]]:
    """The formula's top-level terms, left to right: (kind, parts), kind `frac` (parts: numerator, denominator),
    `text` (\\text{...} and other commands with an argument: parts = the whole command), `group` ({...}:
    its inside) or `token`; a sub- or superscript stays with the term before it."""
    atoms: list[tuple[str, tuple[str, ...]]] = []
    index = 0
    while index < len(tex):
        match = ATOM.match(tex, index)
        token, end = match.group(0), match.end()
        if token.isspace():
            index = end
            continue
        if token in ("\\frac", "\\dfrac", "\\tfrac"):
            first = _group(tex, _skip(tex, end))
            second = _group(tex, _skip(tex, first))
            atom = ("frac", (token, tex[_skip(tex, end) + 1:first - 1], tex[_skip(tex, first) + 1:second - 1]))
            end = second
        elif token.startswith("\\") and token[1:].isalpha() and _skip(tex, end) < len(tex) and \
                tex[_skip(tex, end)] == "{":  # \text{...}, \mathrm{...}, \sqrt{...}: one atom
            end = _group(tex, _skip(tex, end))
            atom = ("text" if token in TEXT_COMMANDS else "token", (tex[index:end],))
        elif token == "{":
            end = _group(tex, index)
            atom = ("group", (tex[index + 1:end - 1],))
        elif token in ("^", "_") and atoms:  # a script belongs to the atom before it
            start = _skip(tex, end)
            close = _group(tex, start) if start < len(tex) and tex[start] == "{" else start + 1
            kind, parts = atoms[-1]
            atoms[-1] = (kind, parts[:-1] + (parts[-1] + token + tex[start:close],)) if kind != "frac" else \
                ("token", (_write(atoms[-1]) + token + tex[start:close],))
            index = close
            continue
        else:
            atom = ("token", (token,))
        atoms.append(atom)
        index = end
    return atoms


TEXT_COMMANDS = {"\\text", "\\textrm", "\\textit", "\\textbf", "\\mathrm", "\\mbox", "\\operatorname"}


def _write(atom: tuple[str, tuple[str, ...]]) -> str:
    kind, parts = atom
    if kind == "frac":
        return f"{parts[0]}{{{parts[1]}}}{{{parts[2]}}}"
    return "{" + parts[0] + "}" if kind == "group" else parts[0]


def mirrored_tex(tex: str) -> str:
    """The formula's top-level terms in reverse order, fractions mirrored inside, brackets swapped: for
    engines that lay math out only left to right (Typst, LibreOffice), so that a right-to-left formula
    (`\\frac{a + b}{c} = d` in Arabic) reads from the right, as MathML's dir="rtl" lays it out. Words
    inside \\text{} stay as they are (the text engine shapes them right to left)."""
    out = []
    for kind, parts in reversed(_atoms(tex)):
        if kind == "frac":
            out.append(f"{parts[0]}{{{mirrored_tex(parts[1])}}}{{{mirrored_tex(parts[2])}}}")
        elif kind == "group":
            out.append("{" + mirrored_tex(parts[0]) + "}")
        else:
            out.append(MIRROR.get(parts[0], parts[0]))
    return " ".join(out)


def texts_in_a_row(tex: str) -> int:
    """How many \\text pieces stand side by side on the formula's widest row (a fraction counts its wider
    part): the HTML lets each take that share of the column, so the words wrap instead of overflowing."""
    count = 0
    for kind, parts in _atoms(tex):
        if kind == "frac":
            count += max(texts_in_a_row(parts[1]), texts_in_a_row(parts[2]))
        elif kind == "group":
            count += texts_in_a_row(parts[0])
        elif kind == "text":
            count += 1
    return count


def _skip(tex: str, index: int) -> int:
    while index < len(tex) and tex[index].isspace():
        index += 1
    return index


def width_em(tex: str, measure, stacked: bool = False) -> float:
    """The formula's natural width in em, roughly: its words by `measure` (text -> em in the body face),
    a fraction as wide as its wider part (`stacked`: a numerator's terms one under the other, as
    `stack_numerators` sets them), an operator with its spacing about 1 em."""
    width = 0.0
    for kind, parts in _atoms(tex):
        if kind == "frac":
            if stacked:
                terms = re.split(r"(?<=[+\-])", parts[1])
                top = max(width_em(term, measure) for term in terms) if len(_atoms(parts[1])) > 1 else \
                    width_em(parts[1], measure)
            else:
                top = width_em(parts[1], measure)
            width += max(top, width_em(parts[2], measure)) + 0.4
        elif kind == "group":
            width += width_em(parts[0], measure)
        elif kind == "text":
            inner = parts[0][parts[0].index("{") + 1:-1]
            width += measure(inner)
        elif parts[0] in ("\\quad", "\\qquad"):
            width += 1.0 if parts[0] == "\\quad" else 2.0
        elif parts[0] in "+-=<>" or parts[0].startswith("\\"):
            width += 1.0
        else:
            width += 0.5
    return width


M = "http://schemas.openxmlformats.org/officeDocument/2006/math"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def for_docx(ast: dict, direction: str, measure=None, size_pt: float = 10.5,
             width_pt: float = 415.0) -> tuple[dict, list[tuple[str, list[str]]]]:
    """A copy of the AST in which each display formula's span has an id (`formula-N`, which pandoc writes
    as a bookmark, so `docx_alt_controls` finds its paragraph), mirrored in a right-to-left edition (Word
    and LibreOffice lay OMML out left to right) and, when `measure` estimates it wider than `width_pt`
    (A4 less the margins and a list indent), broken before its relation into two centred rows
    (`broken_tex`, an m:eqArr), as in the PDF; and the (alt text, TeX of each row) of each, in order."""
    found: list[tuple[str, list[str]]] = []

    def walk(node):
        if isinstance(node, list):
            return [child if type(child) is dict and child.get("t") in LEAVES else walk(child) for child in node]
        if not isinstance(node, dict):
            return node
        span = formula_span(node)
        if span and span[1]["c"][0]["t"] == "DisplayMath":
            alt, math = span
            source = math["c"][1]
            tex = mirrored_tex(source) if direction == "rtl" else source
            rows = [source]
            broken = broken_tex(source, direction == "rtl")
            if broken and measure and width_em(source, measure) * size_pt > width_pt:
                tex, rows = broken, _rows(source)
            found.append((alt, rows))
            return {"t": "Span", "c": [[f"formula-{len(found)}", [FORMULA], []],
                                       [{"t": "Math", "c": [math["c"][0], tex]}]]}
        return {key: walk(value) for key, value in node.items()}

    return walk(ast), found


def _rows(tex: str) -> list[str]:
    """The two rows `broken_tex` makes, as TeX (for estimating their widths)."""
    atoms = _atoms(tex)
    index = next(i for i, (kind, parts) in enumerate(atoms) if i > 0 and kind == "token" and parts[0] in RELATIONS)
    return [" ".join(_write(atom) for atom in part) for part in (atoms[:index], atoms[index:])]


def docx_alt_controls(xml: bytes, formulas: list[tuple[str, list[str]]], measure, size_pt: float) -> bytes:
    """Each display formula's paragraph goes into a content control whose title (w:alias) is its alt text:
    Word's equations have no alt-text field, and a content control's title is what Word shows and screen
    readers announce for it. A formula still wider than the column (its rows estimated with `measure`) gets
    its numerators stacked, then a smaller size on its runs (w:sz), as the PDF scales it, to stay on the page."""
    from lxml import etree

    root = etree.fromstring(xml)
    section = root.find(f"{{{W}}}body/{{{W}}}sectPr")
    width_pt = 451.0  # A4 with 2.2 cm margins, if the section does not say
    if section is not None and section.find(f"{{{W}}}pgSz") is not None:
        size, margins = section.find(f"{{{W}}}pgSz"), section.find(f"{{{W}}}pgMar")
        twips = int(size.get(f"{{{W}}}w")) - int(margins.get(f"{{{W}}}left", 0)) - int(margins.get(f"{{{W}}}right", 0))
        width_pt = twips / 20
    width_pt -= 36  # a list item's indentation
    for number, (alt, rows) in enumerate(formulas, start=1):
        mark = root.find(f".//{{{W}}}bookmarkStart[@{{{W}}}name='formula-{number}']")
        paragraph = next((a for a in mark.iterancestors(f"{{{W}}}p")), None) if mark is not None else None
        if paragraph is None:
            continue
        relations_as_text(paragraph)
        natural = max(width_em(row, measure) for row in rows) * size_pt
        if natural > width_pt:  # then the numerators' terms one under the other, then a smaller size if need be
            stack_numerators(paragraph)
            natural = max(width_em(row, measure, stacked=True) for row in rows) * size_pt
        if natural > width_pt:
            half_points = str(max(12, int(2 * size_pt * width_pt / natural)))
            for run in paragraph.iter(f"{{{M}}}r"):
                properties = run.find(f"{{{W}}}rPr")
                if properties is None:
                    properties = etree.Element(f"{{{W}}}rPr")
                    math_properties = run.find(f"{{{M}}}rPr")
                    run.insert(0 if math_properties is None else 1, properties)
                for tag in ("sz", "szCs"):
                    etree.SubElement(properties, f"{{{W}}}{tag}").set(f"{{{W}}}val", half_points)
        control = etree.Element(f"{{{W}}}sdt")
        properties = etree.SubElement(control, f"{{{W}}}sdtPr")
        etree.SubElement(properties, f"{{{W}}}alias").set(f"{{{W}}}val", alt)
        etree.SubElement(properties, f"{{{W}}}tag").set(f"{{{W}}}val", f"formula-{number}")
        content = etree.SubElement(control, f"{{{W}}}sdtContent")
        paragraph.addprevious(control)
        content.append(paragraph)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


@functools.lru_cache(maxsize=8)
def _advances(path: str) -> tuple[dict[int, int], int]:
    """code point -> advance width, and units per em, of the face's first font: read from its tables
    (render/sfnt.py), through fontTools only for a cmap format other than 4 and 12."""
    from pubpipe.render import sfnt

    found = sfnt.advances(path)
    if found is not None:
        return found
    from fontTools.ttLib import TTFont

    font = TTFont(path, fontNumber=0, lazy=True)
    widths = {name: advance for name, (advance, _) in font["hmtx"].metrics.items()}
    return {code: widths[name] for code, name in font.getBestCmap().items() if name in widths}, \
        font["head"].unitsPerEm


def text_measure(path: str):
    """text -> its width in em in the face at `path` (advance widths, no shaping: an estimate)."""
    advances, units = _advances(path)
    fallback = units // 2

    def measure(text: str) -> float:
        # isolated forms, no narrowing for joined Arabic letters: the readers set OMML text in their own math
        # faces (LibreOffice: DejaVu, wider than Noto Naskh), and the Arabic formula ran past the margin with it
        return sum(advances.get(ord(ch), fallback) for ch in text) / units
    return measure


def stack_numerators(paragraph) -> None:
    """Each fraction's numerator with several terms becomes an equation array, one term per row, the + or -
    starting the row after it: narrower, as a typesetter breaks a long numerator before the operator (an
    operator ending a row is a missing operand to LibreOffice, which draws it as '¿')."""
    from lxml import etree

    for numerator in list(paragraph.iter(f"{{{M}}}num")):
        rows, row = [], []
        for child in list(numerator):
            if row and child.tag == f"{{{M}}}r" and "".join(child.itertext()).strip() in ("+", "-", "\u2212"):
                rows.append(row)
                row = []
            row.append(child)
        if row:
            rows.append(row)
        if len(rows) < 2:
            continue
        array = etree.SubElement(numerator, f"{{{M}}}eqArr")
        for items in rows:
            element = etree.SubElement(array, f"{{{M}}}e")
            for item in items:
                element.append(item)


RELATION_SIGNS = {"=", "<", ">", "\u2264", "\u2265", "\u2260", "\u2248", "\u2261", "\u223c", "\u221d"}


def relations_as_text(paragraph) -> None:
    """A relation that opens or closes a row of a broken formula (`= False equivalence` on its second line)
    is set as text (m:nor): as an operator it misses an operand, and LibreOffice draws '¿' in its place."""
    for row in paragraph.iter(f"{{{M}}}mr"):
        for cell in row.iter(f"{{{M}}}e"):
            runs = [child for child in cell if child.tag == f"{{{M}}}r"]
            for run in {id(r): r for r in runs[:1] + runs[-1:]}.values():
                if "".join(run.itertext()).strip() in RELATION_SIGNS:
                    properties = run.find(f"{{{M}}}rPr")
                    if properties is None:
                        properties = run.makeelement(f"{{{M}}}rPr", {})
                        run.insert(0, properties)
                    if properties.find(f"{{{M}}}nor") is None:
                        properties.insert(0, properties.makeelement(f"{{{M}}}nor", {}))


RELATIONS = {"=", "<", ">", "\\leq", "\\geq", "\\le", "\\ge", "\\neq", "\\approx", "\\equiv", "\\sim", "\\propto"}


def broken_tex(tex: str, rtl: bool = False) -> str | None:
    """The formula on two centred lines, broken before its first relation (=, <, ...) as a typesetter breaks
    a display formula too wide for the measure; each line mirrored in a right-to-left edition, so the first
    line still holds the first term. None if it has no relation to break at."""
    atoms = _atoms(tex)
    index = next((i for i, (kind, parts) in enumerate(atoms) if i > 0 and kind == "token" and parts[0] in RELATIONS),
                 None)
    if index is None:
        return None
    first, second = (" ".join(_write(atom) for atom in part) for part in (atoms[:index], atoms[index:]))
    if rtl:
        first, second = mirrored_tex(first), mirrored_tex(second)
    return f"\\begin{{gathered}}{first} \\\\ {second}\\end{{gathered}}"
