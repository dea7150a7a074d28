"""The citation gate: one bibliographic record, many renderings, all verified.

The brief's own record lives in publication.yaml. From it come the suggested
citation (citeproc, in pandoc_ast), CITATION.cff, the .bib and .ris
downloads, the HTML meta tags and JSON-LD, and the document properties of
every format. The checks here read each of those back and compare them with
the record, so a hand edit anywhere shows up as a diagnostic.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from lxml import etree, html

from pubpipe.diagnostics import Diagnostic, display_path, error
from pubpipe.render import pandoc_ast
from pubpipe.render.page import edition_ast, notice_markdown
from pubpipe.render.record import babel_name, edition_record
from pubpipe.source.deposit import DEPOSIT_SUFFIX, iso639_3, read_deposit_fields
from pubpipe.source.project import Project
from pubpipe.source.publication import Publication
from pubpipe.source.record import CFF_NAME, Record, cff_text
from pubpipe.source.tokens import citation_keys
from pubpipe.source.yamlfile import line_of
from pubpipe.verify.inputs import changed_inputs
from pubpipe.verify.readback import docx_paragraphs, epub_documents, read_text, squash, unreadable

DC = "{http://purl.org/dc/elements/1.1/}"
XMP_NS = {"dc": "http://purl.org/dc/elements/1.1/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}


@dataclass(frozen=True)
class Expected:
    """What every artifact of an edition must carry."""

    citation: str
    citation_label: str
    references: dict[str, str]  # key -> rendered reference-list entry
    record: Record
    fields: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- renderings


# ---------------------------------------------------------------- reading back

def read_record_fields(path: Path) -> dict[str, str]:
    """The record as a format stores it: title, author, year, language, identifier (where present)."""
    suffix = path.suffix
    if path.name.endswith(DEPOSIT_SUFFIX):  # the deposit metadata (source/deposit.py)
        return read_deposit_fields(path.read_text(encoding="utf-8"))
    if suffix == ".html":
        page = html.parse(str(path))
        meta = {m.get("name"): m.get("content") for m in page.xpath("//meta[@name]")}
        authors = page.xpath("//meta[@name='citation_author']/@content")
        fields = {"title": meta.get("citation_title"), "author": authors[0] if authors else None,
                  "authors": "; ".join(authors), "date": meta.get("citation_publication_date"),
                  "year": (meta.get("citation_publication_date") or "")[:4] or None,
                  "publisher": meta.get("citation_publisher"),
                  "institution": meta.get("citation_technical_report_institution"),
                  "number": meta.get("citation_technical_report_number"),
                  "language": meta.get("citation_language"), "identifier": meta.get("DC.identifier")}
        for script in page.xpath("//script[@type='application/ld+json']"):
            data = json.loads(script.text)
            fields.update({"ld:title": data.get("name"), "ld:author": data.get("author", {}).get("name"),
                           "ld:year": str(data.get("datePublished", ""))[:4], "ld:language": data.get("inLanguage")})
        return {k: v for k, v in fields.items() if v is not None}
    if suffix == ".epub":
        with zipfile.ZipFile(path) as epub:
            container = etree.fromstring(epub.read("META-INF/container.xml"))
            opf = etree.fromstring(epub.read(container.find(".//{*}rootfile").get("full-path")))
        return {"title": opf.findtext(f".//{DC}title"), "author": opf.findtext(f".//{DC}creator"),
                "year": (opf.findtext(f".//{DC}date") or "")[:4], "date": opf.findtext(f".//{DC}date"),
                "language": opf.findtext(f".//{DC}language"), "identifier": opf.findtext(f".//{DC}identifier")}
    if suffix == ".pdf":
        import pypdf  # here: an HTML preview never reads a PDF

        reader = pypdf.PdfReader(str(path))
        info = reader.metadata or {}
        fields = {"title": str(info.get("/Title", "")), "author": str(info.get("/Author", "")),
                  "language": str(reader.trailer["/Root"].get("/Lang", ""))}
        if "/Metadata" in reader.trailer["/Root"]:
            xmp = etree.fromstring(reader.trailer["/Root"]["/Metadata"].get_object().get_data())
            fields["xmp:title"] = "".join(xmp.xpath("//dc:title//rdf:li/text()", namespaces=XMP_NS))
            fields["xmp:author"] = "".join(xmp.xpath("//dc:creator//rdf:li/text()", namespaces=XMP_NS))
        return fields
    if suffix == ".docx":
        with zipfile.ZipFile(path) as docx:
            core = etree.fromstring(docx.read("docProps/core.xml"))
        return {"title": core.findtext(f".//{DC}title"), "author": core.findtext(f".//{DC}creator"),
                "language": core.findtext(f".//{DC}language")}
    if suffix == ".bib":
        text = path.read_text(encoding="utf-8")
        raw = dict(re.findall(r"^\s*(\w+) = \{(.*)\},?$", text, re.M))
        def unescape(value: str) -> str:
            if value.startswith("{") and value.endswith("}"):  # {{Corporate author}}: one level of grouping
                value = value[1:-1]
            return re.sub(r"\\([&%$#_{}])", r"\1", value)

        authors = [unescape(name) for name in re.split(r" and (?![^{]*\})", raw.get("author", ""))] \
            if raw.get("author") else []
        return {"title": unescape(raw.get("title", "")), "author": authors[0] if authors else "",
                "authors": "; ".join(authors), "year": raw.get("date", "")[:4], "date": raw.get("date", ""),
                "publisher": unescape(raw.get("institution", "")), "language": raw.get("langid", ""),
                "identifier": unescape(raw.get("number", "")), "type": unescape(raw.get("type", ""))}
    if suffix == ".ris":
        pairs = re.findall(r"^([A-Z][A-Z0-9])  - (.*?)\r?$", path.read_text(encoding="utf-8"), re.M)
        tags, authors = dict(pairs), [value for tag, value in pairs if tag == "AU"]
        return {"title": tags.get("TI", ""), "author": authors[0] if authors else "", "authors": "; ".join(authors),
                "year": tags.get("PY", ""), "date": tags.get("DA", ""), "publisher": tags.get("PB", ""),
                "language": tags.get("LA", ""), "identifier": tags.get("M1", ""), "type": tags.get("TY", "")}
    return {}


def expected_fields(record: Record, suffix: str, pdf_lang: str) -> dict[str, str]:
    common = {"title": record.title, "author": record.author}
    cited = {"year": str(record.year), "publisher": record.publisher, "identifier": record.identifier,
             "authors": "; ".join(record.authors)}
    if suffix == ".html":
        return {**common, **cited, "language": record.language, "date": record.slashed_date(),
                "institution": record.publisher, "number": record.number, "ld:title": record.title,
                "ld:author": record.author, "ld:year": str(record.year), "ld:language": record.language}
    if suffix == ".epub":
        return {**common, "year": str(record.year), "date": record.date, "language": record.language,
                "identifier": record.identifier}
    if suffix == ".pdf":
        return {**common, "language": pdf_lang, "xmp:title": record.title, "xmp:author": record.author}
    if suffix == ".bib":
        return {**common, **cited, "date": record.date, "language": babel_name(record.language),
                "type": record.genre}
    if suffix == ".ris":
        return {**common, **cited, "date": record.slashed_date(trailing=True), "language": record.language,
                "type": "RPRT"}
    if suffix == ".docx":
        return {**common, "language": record.language}
    if suffix == ".json":  # <slug>.<lang>.zenodo.json: Zenodo wants ISO 639-3 and the date as written
        return {**common, "year": str(record.year), "date": record.date, "language": iso639_3(record.language),
                "identifier": record.identifier}
    return common


def citation_block(path: Path, label: str, text: str | None = None) -> str | None:
    """The text of the suggested-citation block of an artifact, without its label; None if not found.

    `text` is the artifact's text if the caller has read it already (a PDF's costs a pdftotext run).
    """
    key = squash(label)
    if path.suffix in (".html", ".epub"):
        documents = [path.read_bytes()] if path.suffix == ".html" else [d for _n, d in epub_documents(path)]
        for data in documents:
            tree = html.fromstring(data) if path.suffix == ".html" else etree.fromstring(data)
            found = tree.xpath("//*[@id='suggested-citation']")
            if found:
                return _after_label("".join(found[0].itertext()), key)
        return None
    if path.suffix == ".docx":
        for paragraph in docx_paragraphs(path):
            if squash(paragraph).startswith(key):
                return _after_label(paragraph, key)
        return None
    paragraph = pdf_paragraph(text if text is not None else read_text(path), key)
    if paragraph is None:
        return None
    if RIGHT_TO_LEFT.search(paragraph):
        return _without_label_words(paragraph, label)  # the label may sit anywhere on its line (see same_words)
    start = paragraph.find(label.strip().rstrip(":：").strip())
    return _after_label(paragraph[max(start, 0):], key)


RTL_CHARS = "\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF"
RIGHT_TO_LEFT = re.compile(f"[{RTL_CHARS}]")
DIRECTION_RUNS = re.compile(f"[{RTL_CHARS}]+|[^{RTL_CHARS}]+")


def pdf_paragraph(text: str, squashed_label: str) -> str | None:
    """The paragraph of a PDF's text that starts with the label: from the label's line to the next blank line.

    Found by its structure, not by reading to the end of the text, so a footnote or anything else after
    the block stays out of it.
    """
    lines = text.split("\n")
    hits = [index for index, line in enumerate(lines) if squashed_label in squash(line)]
    if not hits:
        return None
    paragraph = []
    for line in lines[hits[-1]:]:
        if paragraph and not line.strip():
            break
        paragraph.append(line)
    return re.sub(r"\s+", " ", " ".join(paragraph)).strip()


def _without_label_words(paragraph: str, label: str) -> str:
    """The paragraph without the label's words, wherever on the line pdftotext placed them."""
    wanted = [squash(word) for word in label.split() if squash(word)]
    tokens = paragraph.split(" ")
    keys = [squash(token) for token in tokens]
    for start in range(len(tokens)):
        matched, index = 0, start
        while index < len(tokens) and matched < len(wanted):
            if keys[index]:
                if keys[index] != wanted[matched]:
                    break
                matched += 1
            index += 1
        if matched == len(wanted):
            return " ".join(tokens[:start] + tokens[index:]).strip(" :：")
    return paragraph


def same_words(found: str, expected: str) -> bool:
    """The same words, in any order: pdftotext orders the words of mixed right-to-left and left-to-right
    lines by its own guess of the paragraph direction, which a fallback paragraph on the page can flip."""
    def words(text: str) -> Counter:
        out: Counter = Counter()
        for run in re.split(r"[\s\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]+", text):
            # a bidi control or a change of direction may glue two words without a space
            for word in DIRECTION_RUNS.findall(run):
                if squash(word):
                    out[squash(word)] += 1
        return out

    return words(found) == words(expected)


def _after_label(text: str, squashed_label: str) -> str:
    """Drop the label from the start of `text`, comparing the way squash does."""
    count = 0
    for index, char in enumerate(text):
        if count == len(squashed_label):
            return text[index:].strip(" :：\n\u00a0\u202f")
        if squash(char):
            count += 1
    return ""


def verify_artifact(path: Path, shown: str, expected: Expected, pdf_lang: str) -> list[Diagnostic]:
    """The suggested citation (whole, and nothing else), every key reference and the record fields."""
    problems = []
    if path.suffix in (".html", ".epub", ".docx", ".pdf"):
        text = read_text(path)
        block = citation_block(path, expected.citation_label, text)
        if path.suffix == ".pdf" and block is not None and RIGHT_TO_LEFT.search(block):
            matches = same_words(block, expected.citation)
        else:
            matches = block is not None and squash(block) == squash(expected.citation)
        if not matches:
            problems.append(error(shown, 1, f"suggested citation differs from the record; expected: "
                                            f"«{expected.citation}» | found: "
                                            f"«{block if block is not None else '(no suggested-citation block)'}»",
                                  "suggested-citation"))
        flat = squash(text)
        for key, entry in expected.references.items():
            if squash(entry) not in flat:
                problems.append(error(shown, 1, f"key reference @{key} is missing from the reference list; "
                                                f"expected: «{entry}»", "key-reference"))
    found = read_record_fields(path)
    for name, value in expected_fields(expected.record, path.suffix, pdf_lang).items():
        if str(found.get(name, "")).strip() != str(value).strip():
            problems.append(error(shown, 1, f"{name} in the document's metadata differs from the record; "
                                            f"expected: «{value}» | found: «{found.get(name, '(none)')}»",
                                  "record-metadata"))
    return problems


# ---------------------------------------------------------------- checks

def check_bibliography_use(publication: Publication) -> list[Diagnostic]:
    """Every bibliography entry is cited somewhere or declared a key reference."""
    cited = {key for segment in publication.segments for key in citation_keys(segment.text)}
    declared = set(publication.meta.get("key_references", []))
    problems = []
    for index, item in enumerate(publication.references):
        if item["id"] not in cited | declared:
            problems.append(error(publication.references_path,
                                  line_of(publication.reference_lines, "references", index),
                                  f"'{item['id']}' is neither cited nor listed under key_references in "
                                  "publication.yaml", "citation-key"))
    return problems


def check_cff(project_root: Path, publication: Publication) -> list[Diagnostic]:
    """CITATION.cff agrees with the record, field by field, then byte for byte."""
    path = publication.root / CFF_NAME
    shown = str(path)
    full = path if path.is_absolute() else project_root / path
    if not full.exists():
        return [error(shown, 1, "CITATION.cff is missing; run 'python build.py update'", "citation-cff")]
    text = full.read_text(encoding="utf-8")
    expected = cff_text(publication)
    if text == expected:
        return []
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [error(shown, mark.line + 1 if mark else 1, f"invalid YAML: {exc}", "citation-cff")]
    want = yaml.safe_load(expected)
    lines = {}
    node = yaml.compose(text)
    if node is not None:
        from pubpipe.source.yamlfile import _walk

        _walk(node, (), lines)
    problems = []
    for path_keys in [("title",), ("preferred-citation", "year"),
                      ("preferred-citation", "title"), ("preferred-citation", "authors", 0, "name"),
                      ("preferred-citation", "publisher", "name"), ("identifiers", 0, "value"), ("authors", 0, "name")]:
        if _get(data, path_keys) != _get(want, path_keys):
            problems.append(error(shown, line_of(lines, *path_keys),
                                  f"{'.'.join(map(str, path_keys))} is {_get(data, path_keys)!r} but the record in "
                                  f"publication.yaml says {_get(want, path_keys)!r}; CITATION.cff is generated: "
                                  "run 'python build.py update' instead of editing it", "citation-cff"))
    if not problems:
        pairs = zip(text.split("\n") + [""], expected.split("\n") + [""], strict=False)
        first = next(n for n, (a, b) in enumerate(pairs, 1) if a != b)
        problems.append(error(shown, first, "CITATION.cff differs from what publication.yaml generates; "
                                            "run 'python build.py update'", "citation-cff"))
    return problems


def _get(data, keys):
    for key in keys:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def check_sources(root: Path, publications: list[Publication]) -> list[Diagnostic]:
    problems = []
    for publication in publications:
        problems += check_bibliography_use(publication)
        problems += check_cff(root, publication)
    return problems


def expectations_for(edition, ast: dict) -> Expected:
    """What each artifact of the edition must carry, from its parsed sources: the gate's reference."""
    plain = {key: pandoc_ast.meta_string(ast, key) for key in ("title", "genre", "citation_label")}
    keys = edition.publication.meta.get("key_references", [])
    return Expected(pandoc_ast.suggested_citation(ast), plain["citation_label"],
                    {key: pandoc_ast.reference_entry(ast, key) for key in keys},
                    edition_record(edition, plain["title"], plain["genre"]))


def check_artifacts(project: Project, dist: Path, editions: list, required: bool = True,
                    parses: int = 1) -> list[Diagnostic]:
    """Read back every artifact in dist/ of the `editions` ((edition, ui) pairs) and verify it.

    What the artifacts must carry comes from one parse of the edition's sources (render/page.edition_ast).
    An edition whose inputs (sources, catalogs, templates, style: verify.inputs) differ from those the
    manifest recorded at build time gets one [stale-artifact] line naming them. An artifact that cannot
    be read (corrupt, truncated, unreadable) gives one [artifact] line and the others are still checked.
    The editions' parses run ahead (render/pandoc_ast.Prefetch), `parses` at a time (the pipeline passes one
    per worker), while this process reads the artifacts back.
    """
    present = [(edition, ui) for edition, ui in editions if (dist / edition.publication.slug / edition.tag).is_dir()]
    with tempfile.TemporaryDirectory(prefix="pubpipe-check-") as scratch:
        ahead = pandoc_ast.Prefetch(Path(scratch), limit=max(1, parses))
        try:
            for edition, ui in present:
                try:
                    ahead.start(edition, project.style(edition.publication.citation_style),
                                notice_markdown(project.templates, edition, ui))
                except (OSError, RuntimeError):
                    pass  # the parse below runs it again and reports it with the edition
            return _check_editions(project, dist, editions, required, ahead)
        finally:
            ahead.close()


def _check_editions(project: Project, dist: Path, editions: list, required: bool,
                    ahead: pandoc_ast.Prefetch) -> list[Diagnostic]:
    problems = []
    for edition, ui in editions:
        ahead.advance()  # the next parse starts as one ends
        folder = dist / edition.publication.slug / edition.tag
        if not folder.is_dir():
            if not required:
                continue
            problems.append(error(folder, 1, "no artifacts for this edition; run "
                                  "'python build.py' first (or check --build)", "missing-artifact"))
            continue
        try:
            paths = sorted(p for p in folder.iterdir() if p.suffix in (".html", ".pdf", ".epub", ".docx", ".bib",
                                                                         ".ris") or p.name.endswith(DEPOSIT_SUFFIX))
            expected = expectations_for(edition, edition_ast(project, edition, ui))
        except (OSError, RuntimeError) as exc:
            problems.append(error(folder, 1, f"cannot check the {edition.tag} artifacts: {unreadable(exc)}",
                                  "artifact"))
            continue
        for path in paths:
            shown = display_path(path)
            try:
                problems += verify_artifact(path, shown, expected, edition.language.pdf_lang)
            except Exception as exc:  # a corrupt file can make a parser fail in any way
                problems.append(error(shown, 1, f"cannot read {path.name}: {unreadable(exc)}", "artifact"))
        problems += stale_problems(project, dist, edition, folder)
    return problems


def stale_problems(project: Project, dist: Path, edition, folder: Path) -> list[Diagnostic]:
    """One [stale-artifact] line when the edition's inputs changed since the manifest recorded them."""
    try:
        manifest = json.loads((dist / "manifest.json").read_text(encoding="utf-8"))
        entry = next((e for p in manifest.get("publications", []) if p.get("slug") == edition.publication.slug
                      for e in p.get("editions", []) if e.get("lang") == edition.tag), None)
    except (OSError, ValueError, AttributeError, TypeError):
        entry = None
    if not isinstance(entry, dict) or not isinstance(entry.get("inputs"), dict) or not entry["inputs"]:
        return [error(folder, 1, "manifest.json records no inputs for this edition, so it cannot tell whether "
                                "it is current; build again", "stale-artifact")]
    changed = changed_inputs(project, edition, entry["inputs"])
    if not changed:
        return []
    return [error(folder, 1, f"built from inputs that changed since: {', '.join(changed)}; build again",
                  "stale-artifact")]
