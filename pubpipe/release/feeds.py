"""The series as feeds: an Atom 1.0 feed of every edition (dist/feed.atom) and an OPDS 1.2 acquisition
catalog of the EPUBs (dist/opds.xml), for feed readers and e-reading apps.

Written from the manifest alone, so a merge of shards writes the same bytes as
a full build. Ids are URIs that never change: each entry is the edition's own
identifier (a URN from publication.yaml), each feed a name-based UUID (urn:uuid,
version 5) of its series; `updated` is SOURCE_DATE_EPOCH, never the clock.
Links are relative to dist/, as the page's are (Atom resolves them against the
feed's own address).
"""

from __future__ import annotations

import datetime as dt
import uuid

from lxml import etree

from pubpipe.release.manifest import title_language

ATOM = "http://www.w3.org/2005/Atom"
DCTERMS = "http://purl.org/dc/terms/"
OPDS_NS = "http://opds-spec.org/2010/catalog"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
OPDS_ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
MIME = {"html": "text/html", "pdf": "application/pdf", "epub": "application/epub+zip",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def series_name(manifest: dict) -> str:
    names = sorted({p.get("series") or "publications" for p in manifest["publications"]})
    return names[0] if len(names) == 1 else "publications"


def feed_id(manifest: dict, kind: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:pubpipe:{kind}:{series_name(manifest)}"))


def timestamp(manifest: dict) -> str:
    epoch = int(manifest.get("provenance", {}).get("source_date_epoch", 0))
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _el(parent, tag: str, text: str | None = None, ns: str = ATOM, **attrs):
    node = etree.SubElement(parent, f"{{{ns}}}{tag}", {k.replace("_", "-") if k != "lang" else XML_LANG: v
                                                         for k, v in attrs.items()})
    if text is not None:
        node.text = text
    return node


def _head(manifest: dict, kind: str, title: str, self_type: str, self_href: str, nsmap: dict):
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM, **nsmap})
    feed.set(XML_LANG, "en")
    _el(feed, "id", feed_id(manifest, kind))
    _el(feed, "title", title)
    _el(feed, "updated", timestamp(manifest))
    publishers = sorted({(e.get("record") or {}).get("publisher", "") for p in manifest["publications"]
                         for e in p["editions"]} - {""})
    _el(_el(feed, "author"), "name", ", ".join(publishers) or "pubpipe")
    _el(feed, "link", rel="self", type=self_type, href=self_href)
    _el(feed, "link", rel="alternate", type="text/html", href="index.html")
    return feed


def _entry(feed, manifest: dict, publication: dict, edition: dict):
    record = edition.get("record") or {}
    entry = _el(feed, "entry")
    _el(entry, "id", record.get("identifier") or f"{feed_id(manifest, 'edition')}:{publication['slug']}:"
                                                  f"{edition['lang']}")
    _el(entry, "title", record.get("title") or publication["title"], lang=title_language(publication, edition)[0])
    _el(entry, "updated", timestamp(manifest))
    _el(_el(entry, "author"), "name", record.get("author") or "unknown")
    return entry, record


def _text(tree) -> str:
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8", pretty_print=True).decode("utf-8")


def atom_feed(manifest: dict) -> str:
    """One entry per edition: its HTML page as the alternate link, the other editions as alternates in their
    language (hreflang), every download as an enclosure."""
    feed = _head(manifest, "atom", "Publications", "application/atom+xml", "feed.atom", {})
    for publication in manifest["publications"]:
        for edition in publication["editions"]:
            entry, _record = _entry(feed, manifest, publication, edition)
            page = f"{publication['slug']}/{edition['lang']}/index.html"
            _el(entry, "link", rel="alternate", type="text/html", hreflang=edition["lang"], href=page)
            for other in publication["editions"]:
                if other["lang"] != edition["lang"]:
                    _el(entry, "link", rel="alternate", type="text/html", hreflang=other["lang"],
                        href=f"{publication['slug']}/{other['lang']}/index.html", title=other["name"])
            for artifact in edition["artifacts"]:
                if artifact["format"] in MIME and artifact["format"] != "html":
                    _el(entry, "link", rel="enclosure", type=MIME[artifact["format"]], href=artifact["path"],
                        length=str(artifact["bytes"]), hreflang=edition["lang"])
            _el(entry, "summary", edition.get("suggested_citation", ""), lang=edition["lang"])
    return _text(feed)


def opds_catalog(manifest: dict) -> str:
    """OPDS 1.2 acquisition feed: one entry per edition with an EPUB, free to take (open-access)."""
    feed = _head(manifest, "opds", "Publications (EPUB)", OPDS_ACQUISITION, "opds.xml",
                 {"dc": DCTERMS, "opds": OPDS_NS})
    _el(feed, "link", rel="start", type=OPDS_ACQUISITION, href="opds.xml")
    for publication in manifest["publications"]:
        for edition in publication["editions"]:
            epub = next((a for a in edition["artifacts"] if a["format"] == "epub"), None)
            if epub is None:
                continue
            entry, record = _entry(feed, manifest, publication, edition)
            _el(entry, "language", edition["lang"], ns=DCTERMS)
            if record.get("date"):
                _el(entry, "issued", record["date"], ns=DCTERMS)
            if record.get("publisher"):
                _el(entry, "publisher", record["publisher"], ns=DCTERMS)
            _el(entry, "summary", edition.get("suggested_citation", ""), lang=edition["lang"])
            if publication.get("cover"):
                for rel in ("http://opds-spec.org/image", "http://opds-spec.org/image/thumbnail"):
                    _el(entry, "link", rel=rel, type="image/png", href=publication["cover"]["path"])
            _el(entry, "link", rel="http://opds-spec.org/acquisition/open-access", type=MIME["epub"],
                href=epub["path"], length=str(epub["bytes"]))
    return _text(feed)
