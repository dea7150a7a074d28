"""What every wing agrees on about artifacts: the formats, their file names and media types."""

from __future__ import annotations

from pubpipe.translate.edition import Edition

FORMATS = ("html", "pdf", "epub", "docx")


CITATION_FORMATS = ("bib", "ris")  # written with the HTML edition, which links them


MIME = {"pdf": "application/pdf", "epub": "application/epub+zip", "bib": "application/x-bibtex",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "ris": "application/x-research-info-systems"}


def artifact_name(edition: Edition, fmt: str) -> str:
    return "index.html" if fmt == "html" else f"{edition.publication.slug}.{edition.tag}.{fmt}"
