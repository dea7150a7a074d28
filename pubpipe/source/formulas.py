"""Formulas and their alternative text, as the canonical source declares them.

A display formula carries its alternative text on a div around it,

    ::: {.formula alt="A fraction: new emissions ... over zero emissions, equals ..."}
    $$\\frac{\\text{New emissions ...}}{...} = ...$$
    :::

and the segmenter makes that sentence a translatable segment of its own (kind `alt`), so each edition
reads its formula aloud in its own language (PDF /Alt, MathML alttext, aria-label, DOCX). A formula
without one falls back to `reading()`, words made from the TeX, never the TeX itself; `check_formulas`
warns about it.
"""

from __future__ import annotations

import re

from pubpipe.diagnostics import Diagnostic, warning
from pubpipe.source.segments import SegmentedDocument, Slot

TEXT = re.compile(r"\\(?:text|textrm|textit|textbf|mathrm|mbox|operatorname)\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
ARG = r"\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}"  # a brace group, two levels of nesting inside
FRAC = re.compile(r"\\[dt]?frac\s*" + ARG + r"\s*" + ARG)
SPACES = re.compile(r"\\(?:quad|qquad|[,;:! ])")
COMMAND = re.compile(r"\\[A-Za-z]+")


def reading(tex: str) -> str:
    """A plain reading of a formula when the source gives none: its words and operators, no TeX.

    `\\frac{a}{b} = \\text{c}` reads "a / b = c"; Greek letters and other commands read as their names
    ("\\alpha" -> "alpha"). Good enough to be read aloud; the source's own sentence is better.
    """
    text = tex.strip().strip("$")
    text = TEXT.sub(lambda m: " " + m.group(1).replace("{", "").replace("}", "") + " ", text)
    for _ in range(5):  # nested fractions, innermost last
        text = FRAC.sub(lambda m: f" ({m.group(1)}) / ({m.group(2)}) ", text)
    text = SPACES.sub(" ", text)
    text = COMMAND.sub(lambda m: " " + m.group(0)[1:] + " ", text)
    text = re.sub(r"[{}^_&\\]", " ", text)
    text = re.sub(r"\(\s*([^()/+=-]*?)\s*\)(?=\s*/)|(?<=/ )\(\s*([^()/+=-]*?)\s*\)",
                  lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)  # (a) / (b) -> a / b
    text = " ".join(text.split())
    return re.sub(r"\(\s+|\s+\)", lambda m: m.group(0).strip(), text) or "formula"


def formula_alts(document: SegmentedDocument) -> list[tuple[int, str | None]]:
    """(line, alt text or None) of every display formula of the source, in order."""
    found, alt = [], None
    for piece in document.pieces:
        if not isinstance(piece, Slot):
            continue
        if piece.segment.kind == "alt":
            alt = piece.segment.text
        elif piece.segment.kind == "formula":
            found.append((piece.segment.line, alt))
            alt = None
        else:
            alt = None
    return found


def check_formulas(publication) -> list[Diagnostic]:
    """path:line: warning: ... [formula-alt] for a display formula without its alternative text."""
    source = publication.root / "brief.md"
    return [warning(source, line, 'display formula without alternative text: put it in a div '
                                  '::: {.formula alt="one sentence that reads the formula"} ... ::: '
                                  "(until then every edition reads the words of its TeX)", "formula-alt")
            for line, alt in formula_alts(publication.document) if not (alt or "").strip()]
