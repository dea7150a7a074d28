"""EPUB 3 through pandoc: MathML, the edition's language and direction, a stable identifier, a title page.

Pandoc's sandbox cannot read our stylesheet or fonts while writing, so pandoc
writes the EPUB with its built-in stylesheet and we rewrite the archive
afterwards (our CSS; `dir` on every XHTML document of a right-to-left
edition; a subset of the Arabic face, since many e-readers lack one; the
dates, which the sandbox hides SOURCE_DATE_EPOCH from; accessibility metadata
that says what is true of this edition), deterministically: mimetype first
and stored, every entry dated with the build's date.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zipfile
from pathlib import Path, PurePosixPath

from babel.support import NullTranslations

from pubpipe.render.figures import header_scope, with_data_uris
from pubpipe.render.fonts import SCRIPTS, css_rules, face_path, faces_for
from pubpipe.render.formulas import label_mathml
from pubpipe.render.html import environment, math_direction
from pubpipe.render.pandoc_ast import write
from pubpipe.source.languages import Language
from pubpipe.source.project import Project
from pubpipe.source.record import build_moment, w3c_datetime, zip_date_time
from pubpipe.translate.edition import Edition
from pubpipe.translate.ui import load_ui

FIXED_TIME = (1980, 1, 1, 0, 0, 0)

ACCESSIBILITY = "accessibility.txt.j2"  # the summary of the package's accessibility metadata


def compile_templates(templates: Path) -> None:
    """Compiled here, once, before the workers fork: they inherit the compiled code (the process's
    CompiledTemplates), where each would compile it again (2 ms)."""
    environment(templates, NullTranslations()).get_template(ACCESSIBILITY)


def embedded_face(language: Language) -> str | None:
    """The language's own face, subset into its EPUBs, for scripts many readers lack a font for: every
    script of the font table except Latin, Cyrillic, Greek and CJK (whose faces are too large to embed)."""
    own = faces_for(language)
    return None if own.cjk or own.families == SCRIPTS["Latn"].families else own.serif


def render_epub(edition: Edition, ast: dict, output: Path, css: Path, ui=None, epoch: int | None = None) -> None:
    """`ui`: the edition's ui translations (for the accessibility summary); read from the project's
    locales/ (beside templates/, where `css` lives) when not given. `epoch`: the build's date (seconds),
    else SOURCE_DATE_EPOCH or the publication date."""
    write(with_data_uris(notices_in_first_chapter(ast), edition.publication.root), "epub3",
          ["--mathml", "--split-level=1", "--toc", "--toc-depth=1", "--epub-title-page=true",
           "--syntax-highlighting=monochrome"], outputfile=output)
    with zipfile.ZipFile(output) as epub:
        names = epub.namelist()
        opf_name = next(n for n in names if n.endswith(".opf"))
        opf = epub.read(opf_name).decode("utf-8")
        documents = {n: epub.read(n).decode("utf-8") for n in names if n.endswith(".xhtml")}
    stylesheet = css.read_text(encoding="utf-8") + css_rules((edition.tag,))
    replacements: dict[str, bytes] = {}
    additions: dict[str, bytes] = {}
    for name, doc in list(documents.items()):  # header cells name their scope, as in the HTML edition
        scoped = label_mathml(header_scope(doc), epub=True)  # and every formula carries its alt text
        if scoped != doc:
            documents[name] = scoped
            replacements[name] = scoped.encode("utf-8")
    family = embedded_face(edition.language)
    if family:
        text = "".join(re.sub(r"<[^>]+>", "", doc) for doc in documents.values())
        font_name = f"fonts/{family.replace(' ', '')}-subset.ttf"
        additions[str(PurePosixPath(opf_name).parent / font_name)] = subset_font(family, text)
        opf = opf.replace("</manifest>", f'  <item id="embedded-font" href="{font_name}" media-type="font/ttf" />\n'
                                         "  </manifest>")
        stylesheet = (f'@font-face {{ font-family: "{family}"; src: url("../{font_name}"); }}\n' + stylesheet
                      + f'body {{ font-family: "{family}", var(--serif-faces); }}\n')  # last, so it wins
    if edition.language.direction == "rtl":
        for name, doc in documents.items():
            doc = math_direction(doc, edition.language.direction)
            replacements[name] = re.sub(r"<html\b", f'<html dir="{edition.language.direction}"', doc,
                                        count=1).encode("utf-8")
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else build_moment(edition.publication)
    if ui is None:
        ui, _problems = load_ui(Project(css.parent.parent).locales, edition.language,
                                edition.publication.source_language)
    opf = with_dates(opf, str(edition.publication.meta["date"]), moment)
    opf = with_accessibility(opf, accessibility_facts(documents), css.parent, ui, edition.tag)
    replacements[opf_name] = opf.encode("utf-8")
    for name in names:
        if name.endswith(".css"):
            replacements[name] = stylesheet.encode("utf-8")
    replace_members(output, replacements, additions, zip_date_time(moment))


def notices_in_first_chapter(ast: dict) -> dict:
    """The notices (draft, fallback) move from before the first heading to just after it.

    With --split-level=1 pandoc makes a chapter of whatever precedes the first level-1 heading, with a
    table-of-contents entry of its own; the notices belong to the first chapter. Anything else before
    the first heading (an introduction) keeps the text's order, and the notices stay with it."""
    blocks = ast["blocks"]
    first = next((i for i, b in enumerate(blocks) if b.get("t") == "Header" and b["c"][0] == 1), None)
    if not first or not all(b.get("t") == "Div" and "notice" in b["c"][0][1] for b in blocks[:first]):
        return ast
    return {**ast, "blocks": [blocks[first]] + blocks[:first] + blocks[first + 1:]}


def with_dates(opf: str, published: str, moment: dt.datetime) -> str:
    """dc:date is the publication date (YYYY or YYYY-MM-DD); dcterms:modified is the build's date."""
    opf = re.sub(r"(<dc:date\b[^>]*>)[^<]*(</dc:date>)", lambda m: m.group(1) + published + m.group(2), opf)
    return re.sub(r'(<meta property="dcterms:modified">)[^<]*(</meta>)',
                  lambda m: m.group(1) + w3c_datetime(moment) + m.group(2), opf)


def accessibility_facts(documents: dict[str, str]) -> dict[str, bool]:
    """What the edition's XHTML holds: images (all with alt text?), tables, MathML (all with alttext?)."""
    text = "".join(documents.values())
    images = re.findall(r"<img\b[^>]*>", text)
    formulas = re.findall(r"<math\b.*?</math>", text, re.S)
    return {
        "images": bool(images), "tables": "<table" in text, "math": bool(formulas),
        "described_images": all(re.search(r'\balt="[^"]+"', tag) for tag in images),
        "described_math": all(re.match(r'<math\b[^>]*\b(alttext|aria-label)="[^"]+"', formula)
                              or "<annotation-xml" in formula for formula in formulas),
        "page_list": 'epub:type="page-list"' in text,
    }


def with_accessibility(opf: str, facts: dict[str, bool], templates: Path, ui, tag: str) -> str:
    """schema.org accessibility metadata that is true of this edition, replacing pandoc's fixed set
    (which claims alternativeText with no image), and a summary in the edition's language (ui catalog)."""
    modes = ["textual"] + (["visual"] if facts["images"] else [])
    sufficient = "textual" if facts["described_images"] else "textual,visual"
    features = ["readingOrder", "structuralNavigation", "tableOfContents"]
    features += ["alternativeText"] if facts["images"] and facts["described_images"] else []
    features += ["MathML"] + (["describedMath"] if facts["described_math"] else []) if facts["math"] else []
    features += ["pageNavigation"] if facts["page_list"] else []
    summary, english = (" ".join(environment(templates, translations).get_template(ACCESSIBILITY)
                                 .render(**facts).split()) for translations in (ui, NullTranslations()))
    # untranslated (no ui catalog for the language yet): the English sentences say so, not the package's language
    language = ' xml:lang="en"' if summary == english and not tag.startswith("en") else ""
    lines = [f'<meta property="schema:accessMode">{mode}</meta>' for mode in modes]
    lines.append(f'<meta property="schema:accessModeSufficient">{sufficient}</meta>')
    lines += [f'<meta property="schema:accessibilityFeature">{feature}</meta>' for feature in features]
    lines.append('<meta property="schema:accessibilityHazard">none</meta>')  # no sound, motion or flashing
    lines.append(f'<meta property="schema:accessibilitySummary"{language}>{summary}</meta>')  # escaped by Jinja
    opf = re.sub(r'\s*<meta property="schema:(accessMode|accessModeSufficient|accessibilityFeature|'
                 r'accessibilityHazard|accessibilitySummary)">[^<]*</meta>', "", opf)
    return re.sub(r"\s*</metadata>", lambda _m: "".join(f"\n    {line}" for line in lines) + "\n  </metadata>", opf,
                  count=1)


def subset_font(family: str, text: str) -> bytes:
    """The regular face of `family`, cut down to the characters of `text`, with every layout feature (Arabic
    shaping: init, medi, fina, liga, mark...) and name kept. HarfBuzz's subsetter takes a millisecond where
    fontTools' took 90 ms plus 100 ms of import; it leaves the head table's dates as they were, so the bytes
    are reproducible. tests/test_every_publication.py shapes each paragraph with both faces and compares."""
    import uharfbuzz as hb  # here: only an edition whose script e-readers lack embeds a face

    request = hb.SubsetInput()
    text += " 0123456789.,:;()[]«»،؛؟"
    # and what a shaper may turn the text into: Thai SARA AM is drawn as NIKHAHIT + SARA AA (its NFKD), a
    # decomposed letter as its precomposed glyph (NFC); without them the reader draws a .notdef box
    for code in sorted({ord(ch) for form in (text, *(unicodedata.normalize(f, text) for f in ("NFC", "NFKD")))
                        for ch in form}):
        request.unicode_set.add(code)
    for kept in (hb.SubsetInputSets.LAYOUT_FEATURE_TAG, hb.SubsetInputSets.NAME_ID):
        chosen = request.sets(kept)
        chosen.clear()
        chosen.invert()  # an empty set inverted: all of them (inverting the default set would drop the defaults)
    subset = hb.subset(hb.Face(hb.Blob.from_file_path(face_path(family)), 0), request)
    if subset is None:
        raise ValueError(f"HarfBuzz could not subset the regular face of {family}")
    return subset.blob.data


def replace_members(path: Path, replacements: dict[str, bytes], additions: dict[str, bytes] | None = None,
                    date_time: tuple = FIXED_TIME) -> None:
    """Rewrite an EPUB with some members replaced or added, keeping it valid and reproducible; every entry
    gets `date_time` (the build's date)."""
    with zipfile.ZipFile(path) as source:
        members = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    members = [(name, replacements.get(name, data)) for name, data in members]
    members += sorted((additions or {}).items())
    with zipfile.ZipFile(path, "w") as target:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time)
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            target.writestr(info, data)
