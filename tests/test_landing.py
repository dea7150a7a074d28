"""dist/index.html, feed.atom and opds.xml: the landing page of the series and its feeds, for every publication.

Every known publication (content/ and the fixtures) is built into one series (after update); the
page is read back with lxml (cover, titles, one column order per row, sizes
and SHA-256 equal to the files), the feeds are parsed and their required
elements checked, and the page passes the Nu HTML Checker and axe-core in
headless Chromium with no finding at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree, html

from pubpipe.cli import main

from .conftest import PUBLICATIONS, ROOT, publication_project


def _title_language(publication: dict, edition: dict) -> tuple[str, str]:
    """An untranslated title (the same as the source's) is in the source language; any other, the edition's."""
    source = next(e for e in publication["editions"] if e["lang"] == publication["source_language"])
    untranslated = edition is not source and edition["record"]["title"] == source["record"]["title"]
    return (source["lang"], source["dir"]) if untranslated else (edition["lang"], edition["dir"])

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/terms/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
REFEREES = ROOT / "tools" / "referees"
VNU = REFEREES / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
EPOCH = "1767225600"  # 2026-01-01T00:00:00Z


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    """(project root, manifest) after update and a full build of a series holding every known publication."""
    root = tmp_path_factory.mktemp("landing")
    for known in PUBLICATIONS:
        publication_project(known, root)
    assert main(["update"], root) == 0
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        assert main(["--quiet"], root) == 0
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)
        if old is not None:
            os.environ["SOURCE_DATE_EPOCH"] = old
    manifest = json.loads((root / "dist" / "manifest.json").read_text(encoding="utf-8"))
    assert [p["slug"] for p in manifest["publications"]] == sorted(p.slug for p in PUBLICATIONS)
    return root, manifest


def test_each_publication_shows_cover_title_subtitle_genre_and_date(landing):
    root, manifest = landing
    page = html.parse(str(root / "dist" / "index.html"))
    for publication in manifest["publications"]:
        section = page.xpath(f"//section[@aria-labelledby='title-{publication['slug']}']")[0]
        text = " ".join(section.xpath(".//div[@class='publication-head']")[0].text_content().split())
        source = next(e for e in publication["editions"] if e["lang"] == publication["source_language"])
        for value in (publication["title"], publication["subtitle"], source["record"]["genre"],
                      source["record"]["date"]):
            assert value in text, (value, text)
        (cover,) = section.xpath(".//img[@class='cover']")
        assert publication["title"] in cover.get("alt") and "PDF" in cover.get("alt")
        png = root / "dist" / cover.get("src")
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and hashlib.sha256(data).hexdigest() == publication["cover"]["sha256"]
        assert (int(cover.get("width")), int(cover.get("height"))) == \
            (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))


def test_every_row_keeps_one_column_order_and_only_cells_take_the_language(landing):
    root, manifest = landing
    page = html.parse(str(root / "dist" / "index.html"))
    assert page.getroot().get("lang") == "en" and page.getroot().get("dir") == "ltr"
    for publication in manifest["publications"]:
        rows = page.xpath(f"//section[@aria-labelledby='title-{publication['slug']}']//tbody/tr")
        assert len(rows) == len(publication["editions"])
        for row, edition in zip(rows, publication["editions"], strict=True):
            assert row.get("lang") is None and row.get("dir") is None
            assert [cell.tag for cell in row] == ["th", "td", "td", "td"]
            assert all(cell.get("dir") is None and cell.get("lang") is None for cell in row)
            name = row[0].xpath(".//a/span")[0]
            assert (name.get("lang"), name.get("dir"), name.text) == (edition["lang"], edition["dir"], edition["name"])
            title = row[0].xpath(".//span[@class='edition-title']")[0]
            assert (title.get("lang"), title.get("dir"), title.text) == (*_title_language(publication, edition),
                                                                         edition["record"]["title"])
            status = " ".join(row[1].text_content().split())
            assert status.startswith("Official" if edition["status"] == "official" else "Draft")
            assert f"{round(edition['completeness'] * 100)}% translated" in status
            files = {a.get("href"): a.getparent() for a in row[2].xpath(".//a")}
            for artifact in edition["artifacts"]:
                if artifact["format"] in ("bib", "ris"):
                    continue
                item = files[artifact["path"]]
                data = (root / "dist" / artifact["path"]).read_bytes()
                assert item.xpath(".//code[@class='hash']")[0].text == hashlib.sha256(data).hexdigest()
                assert item.xpath(".//a")[0].text == artifact["format"].upper()
            cite = {a.get("href") for a in row[3].xpath(".//a[@download]")}
            assert {a["path"] for a in edition["artifacts"] if a["format"] in ("bib", "ris")} <= cite
            assert edition["deposit"]["path"] in cite


def test_the_page_links_its_feeds(landing):
    root, _manifest = landing
    page = html.parse(str(root / "dist" / "index.html"))
    links = {link.get("type"): link.get("href") for link in page.xpath("//head/link[@rel='alternate']")}
    assert links["application/atom+xml"] == "feed.atom"
    assert links["application/atom+xml;profile=opds-catalog;kind=acquisition"] == "opds.xml"


ATOM_SCHEMA = ROOT / "tests" / "schemas" / "atom.rng"  # RFC 4287 Appendix B, in RELAX NG's XML syntax


@pytest.mark.parametrize("name", ["feed.atom", "opds.xml"])
def test_feeds_are_valid_atom_by_the_rfc_4287_schema(landing, name):
    root, _manifest = landing
    schema = etree.RelaxNG(etree.parse(str(ATOM_SCHEMA)))
    assert schema.validate(etree.parse(str(root / "dist" / name))), schema.error_log
    broken = etree.parse(str(root / "dist" / name))
    broken.getroot().remove(broken.getroot().find(ATOM + "id"))  # the schema does catch a missing feed id
    assert not schema.validate(broken)


def _required_atom(node, where: str) -> None:
    for tag in ("id", "title", "updated"):
        assert node.find(ATOM + tag) is not None and (node.find(ATOM + tag).text or "").strip(), (where, tag)
    identifier = node.findtext(ATOM + "id")
    assert identifier.startswith(("urn:", "tag:")), identifier
    assert node.findtext(ATOM + "updated") == "2026-01-01T00:00:00Z"  # SOURCE_DATE_EPOCH, RFC 3339


def test_atom_feed_has_an_entry_per_edition_with_alternates_per_language(landing):
    root, manifest = landing
    feed = etree.parse(str(root / "dist" / "feed.atom")).getroot()
    assert feed.tag == ATOM + "feed"
    _required_atom(feed, "feed")
    assert feed.find(f"{ATOM}author/{ATOM}name").text
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == "feed.atom"
    entries = feed.findall(ATOM + "entry")
    editions = [(p, e) for p in manifest["publications"] for e in p["editions"]]
    assert len(entries) == len(editions)
    ids = [entry.findtext(ATOM + "id") for entry in entries]
    assert len(set(ids)) == len(ids)
    for entry, (publication, edition) in zip(entries, editions, strict=True):
        _required_atom(entry, edition["lang"])
        assert entry.findtext(ATOM + "id") == edition["record"]["identifier"]
        assert entry.find(ATOM + "title").get(XML_LANG) == _title_language(publication, edition)[0]
        alternates = {link.get("hreflang"): link.get("href") for link in entry.findall(f"{ATOM}link[@rel='alternate']")}
        assert alternates == {e["lang"]: f"{publication['slug']}/{e['lang']}/index.html"
                              for e in publication["editions"]}
        for link in entry.findall(f"{ATOM}link[@rel='enclosure']"):
            assert (root / "dist" / link.get("href")).stat().st_size == int(link.get("length"))


def test_opds_catalog_offers_every_epub(landing):
    root, manifest = landing
    feed = etree.parse(str(root / "dist" / "opds.xml")).getroot()
    _required_atom(feed, "opds")
    assert "profile=opds-catalog;kind=acquisition" in feed.find(f"{ATOM}link[@rel='self']").get("type")
    entries = feed.findall(ATOM + "entry")
    epubs = [(e, a) for p in manifest["publications"] for e in p["editions"] for a in e["artifacts"]
             if a["format"] == "epub"]
    assert len(entries) == len(epubs)
    for entry, (edition, epub) in zip(entries, epubs, strict=True):
        _required_atom(entry, edition["lang"])
        assert entry.findtext(DC + "language") == edition["lang"]
        (acquisition,) = entry.findall(f"{ATOM}link[@rel='http://opds-spec.org/acquisition/open-access']")
        assert (acquisition.get("type"), acquisition.get("href")) == ("application/epub+zip", epub["path"])
        thumbnail = entry.find(f"{ATOM}link[@rel='http://opds-spec.org/image/thumbnail']")
        assert (root / "dist" / thumbnail.get("href")).exists()


def _tool_or_skip(found: bool, what: str) -> None:
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is not installed (required under CI)")
        pytest.skip(f"{what} is not installed")


def test_the_page_passes_the_nu_checker_without_a_message(landing):
    root, _manifest = landing
    _tool_or_skip(VNU.exists() and shutil.which("java") is not None, "java and vnu-jar (tools/referees)")
    done = subprocess.run(["java", "-jar", str(VNU), "--format", "json", str(root / "dist" / "index.html")],
                          capture_output=True, text=True, timeout=300)
    messages = json.loads(done.stderr or done.stdout)["messages"]
    assert messages == [], messages


AXE = """
const { createRequire } = require("node:module");
const req = createRequire(process.argv[1] + "/package.json");
const puppeteer = req("puppeteer-core");
const axe = require("node:fs").readFileSync(req.resolve("axe-core/axe.min.js"), "utf8");
(async () => {
  const browser = await puppeteer.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"],
                                           headless: true });
  const out = {};
  try {
    const page = await browser.newPage();
    for (const width of [390, 1280]) {
      await page.setViewport({ width, height: 900 });
      await page.goto("file://" + process.argv[2], { waitUntil: "load" });
      await page.evaluate(axe);
      const found = await page.evaluate(() => window.axe.run(document, { runOnly: { type: "tag", values:
        ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] } }));
      out[width] = found.violations.map((v) => [v.id, v.nodes.map((n) => n.html)]);
    }
    // where each row's cells and first download sit, at the desktop width
    out.rows = await page.evaluate(() => [...document.querySelectorAll("tbody tr")].map((row) => ({
      lang: row.querySelector("th span[lang]").getAttribute("lang"),
      cells: [...row.children].map((cell) => Math.round(cell.getBoundingClientRect().left)),
      link: Math.round(row.children[2].querySelector("a").getBoundingClientRect().left),
    })));
  } finally { await browser.close(); }
  console.log(JSON.stringify(out));
})();
"""


def test_the_page_passes_axe_without_a_violation(landing):
    root, _manifest = landing
    _tool_or_skip(shutil.which("node") is not None and Path("/usr/bin/chromium").exists()
                  and (REFEREES / "node_modules" / "axe-core").is_dir(), "node, chromium and axe-core")
    done = subprocess.run(["node", "-e", AXE, str(REFEREES), str(root / "dist" / "index.html")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert (found["390"], found["1280"]) == ([], [])
    # an Arabic or Hebrew row is not mirrored: its cells and download links start where every row's do
    rows = found["rows"]
    assert {row["lang"] for row in rows} >= {"ar", "he"}
    tables = {}
    for row in rows:  # one table per publication: the rows of one table share their column positions
        tables.setdefault(tuple(row["cells"]), []).append(row)
    for cells, members in tables.items():
        assert cells == tuple(sorted(cells)), cells  # left to right, Language first, in every row
        assert len({row["link"] for row in members}) == 1, members


def test_feed_times_come_from_source_date_epoch_not_the_clock(landing):
    root, manifest = landing
    assert manifest["provenance"]["source_date_epoch"] == int(EPOCH)
    stamp = dt.datetime.fromtimestamp(int(EPOCH), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in ("feed.atom", "opds.xml"):
        feed = etree.parse(str(root / "dist" / name)).getroot()
        assert {node.text for node in feed.iter(ATOM + "updated")} == {stamp}


def test_a_cover_is_rendered_again_only_when_its_pdf_changed(publication, tmp_path, monkeypatch):
    """Covers are remembered in build/cache/ by the PDF's SHA-256: a page-only rebuild keeps the cover without
    running pdftoppm; a PDF with other bytes (another SOURCE_DATE_EPOCH: other dates inside) gets a new one."""
    from pubpipe.release import finish

    root = publication_project(publication, tmp_path)
    assert main(["update"], root) == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    assert main(["--quiet"], root) == 0
    cover = root / "dist" / publication.slug / "cover.png"
    before = cover.read_bytes()
    runs, rendered_at, finishing = [], [], []
    real_run, real_write_covers = subprocess.run, finish.write_covers
    def counted(args, *more, **options):
        if args[0] == "pdftoppm":  # the module is everyone's: git and pandoc go through here too
            runs.append(args[0])
            rendered_at.append("finish" if finishing else "pdf task")
        return real_run(args, *more, **options)

    def write_covers(*args, **options):  # the landing page's step, at the end of a build
        finishing.append(True)
        try:
            return real_write_covers(*args, **options)
        finally:
            finishing.clear()

    monkeypatch.setattr(finish.subprocess, "run", counted)
    monkeypatch.setattr(finish, "write_covers", write_covers)
    monkeypatch.setenv("PUBPIPE_JOBS", "1")  # the PDF's worker renders the cover: here, in this process, counted
    assert main(["--quiet", "--format", "html"], root) == 0
    assert runs == [] and cover.read_bytes() == before
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(EPOCH) + 86400))
    assert main(["--quiet", "--format", "pdf"], root) == 0
    assert runs == ["pdftoppm"]
    assert rendered_at == ["pdf task"], "the source edition's PDF task renders the cover, before the landing page"
    assert cover.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
