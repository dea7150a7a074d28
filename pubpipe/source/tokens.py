"""What must pass through a translation unchanged, defined once.

The catalog notes ("Keep unchanged: ..."), the entry checks and the
pseudo-locale all use these patterns, so they agree on what a citation key,
a footnote mark, a placeholder or an address is.
"""

from __future__ import annotations

import re

CITATION_KEY = re.compile(r"(?<![\w@\\])-?@(?:\{([^}]+)\}|(\w(?:[\w:.#$%&+?<>~/-]*\w)?))")
CITATION = re.compile(r"\[[^\[\]]*@[^\[\]]*\]")  # a bracketed citation, [@key] or [see @key, p. 3]
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")  # names from publication.yaml: {working_group}
PYTHON_FORMAT = re.compile(r"%\(\w+\)[sd]")  # template strings: %(date)s
FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]+)\]")
URL = re.compile(r"(?:https?|ftp|mailto):[^\s)\]>\"'»]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LINK_TARGET = re.compile(r"\]\(([^)\s]*)\)")
TEX_COMMAND = re.compile(r"\\[A-Za-z]+")
CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)  # inline code: (backticks, content)


def citation_keys(text: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in CITATION_KEY.finditer(text)]


def protected(text: str) -> list[str]:
    """Every token of `text` a translation must keep, in order of appearance."""
    found = []
    for pattern in (CODE_SPAN, CITATION, FOOTNOTE_REF, PLACEHOLDER, PYTHON_FORMAT, URL, LINK_TARGET):
        found += [(m.start(), m.group(0)) for m in pattern.finditer(text)]
    return [token for _start, token in sorted(found)]
