"""Write catalogs exactly as GNU gettext does: the same wrapping, header, `#|` and `#~` lines.

Two steps, and no format of our own: `po_text` writes every field a Babel
catalog holds as plain, valid PO (each string on one line), and GNU `msgcat`
then lays it out as `msgmerge` and `msgcat` do (79 columns, GNU's line-break
rules, or `--no-wrap`). So a catalog saved by Poedit, Weblate (Translate
Toolkit), polib or msgcat comes out of `update` byte-identical to what GNU
gettext would have written.

Babel's own writer is not used for catalogs: it drops the flags, extracted
comments and previous msgids of obsolete entries (a fuzzy entry deleted and
restored would come back as translated), re-wraps translators' comments and
forgets header fields it does not know (`X-Generator`, ...).
"""

from __future__ import annotations

import os
import shutil
import subprocess

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import escape

WIDTH = 79  # GNU's default page width: what msgmerge, msgcat and xgettext write
EXTRA_HEADERS = "_pubpipe_extra_headers"  # header fields Babel does not model, kept on the catalog object


class GettextMissing(RuntimeError):
    """GNU gettext's msgcat is not installed, so GNU formatting cannot be guaranteed."""


def msgcat() -> str | None:
    return shutil.which("msgcat")


def _string(keyword: str, value: str, prefix: str = "") -> str:
    return f"{prefix}{keyword} {escape(value)}"


def _message_lines(message: Message, num_plurals: int, obsolete: bool) -> list[str]:
    lines = ["#" if not comment else f"# {comment}" for comment in message.user_comments]
    lines += [f"#. {comment}".rstrip() for comment in message.auto_comments]
    references = list(dict.fromkeys(f"{path}:{line}" if line else str(path) for path, line in message.locations))
    if references:
        lines.append("#: " + " ".join(references))
    flags = sorted(message.flags - {"fuzzy"})
    if "fuzzy" in message.flags:
        flags.insert(0, "fuzzy")
    if flags:
        lines.append("#, " + ", ".join(flags))
    keyword = "#~ " if obsolete else ""
    previous = message.previous_id or []
    if isinstance(previous, str):
        previous = [previous]
    if previous and previous[0]:
        lines.append(_string("msgid", previous[0], "#~| " if obsolete else "#| "))
        if len(previous) > 1 and previous[1]:
            lines.append(_string("msgid_plural", previous[1], "#~| " if obsolete else "#| "))
    if message.context:
        lines.append(_string("msgctxt", message.context, keyword))
    if isinstance(message.id, (list, tuple)):
        lines.append(_string("msgid", message.id[0], keyword))
        lines.append(_string("msgid_plural", message.id[1], keyword))
        strings = list(message.string) if isinstance(message.string, (list, tuple)) else [message.string or ""]
        for index in range(max(num_plurals, len(strings))):
            lines.append(_string(f"msgstr[{index}]", strings[index] if index < len(strings) else "", keyword))
    else:
        lines.append(_string("msgid", message.id, keyword))
        lines.append(_string("msgstr", message.string or "", keyword))
    return lines


def po_text(catalog: Catalog) -> str:
    """Every entry of `catalog`, obsolete ones included, as valid PO text (not yet in GNU's layout)."""
    out: list[str] = []
    messages = iter(catalog)
    header = next(messages)
    comment = catalog.header_comment
    if comment:
        out += [line if line.startswith("#") else f"# {line}".rstrip() for line in comment.split("\n")]
    fields = header.string or ""
    extra = getattr(catalog, EXTRA_HEADERS, [])
    if extra:
        fields = fields + ("" if not fields or fields.endswith("\n") else "\n")
        fields += "".join(f"{name}: {value}\n" for name, value in extra)
    if header.flags:
        out.append("#, " + ", ".join(sorted(header.flags)))
    out += ['msgid ""', _string("msgstr", fields), ""]
    for message in messages:
        out += _message_lines(message, catalog.num_plurals, obsolete=False) + [""]
    for message in catalog.obsolete.values():
        out += _message_lines(message, catalog.num_plurals, obsolete=True) + [""]
    return "\n".join(out)


def gnu_layout(text: str, wrap: bool = True) -> str:
    """`text` laid out by GNU msgcat: 79 columns (or `--no-wrap`), everything else kept."""
    program = msgcat()
    if program is None:
        raise GettextMissing("GNU gettext is not installed (msgcat not found); install it: apt-get install gettext")
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANGUAGE": ""}
    result = subprocess.run([program, "--force-po", f"--width={WIDTH}" if wrap else "--no-wrap", "-o", "-", "-"],
                            input=text.encode("utf-8"), capture_output=True, env=env, check=False)
    if result.returncode != 0:
        raise ValueError("msgcat refused the catalog: " + result.stderr.decode("utf-8", "replace").strip())
    return result.stdout.decode("utf-8")


def wrapped(text: str) -> bool:
    """Whether a catalog is laid out wrapped (GNU's default) rather than with `--no-wrap`.

    Evidence of wrapping is a string broken across lines other than after a
    `\\n`; evidence of no wrapping is a one-line string wider than the page. A
    catalog with neither (only short strings) reads the same both ways.
    """
    from unicodedata import east_asian_width

    def columns(line: str) -> int:
        return sum(2 if east_asian_width(ch) in "WF" else 1 for ch in line)

    long_line = False
    lines = text.split("\n")
    for number, line in enumerate(lines):
        body = line[3:] if line.startswith(("#~ ", "#| ")) else line[4:] if line.startswith("#~| ") else line
        if not body.endswith('"'):
            continue
        following = lines[number + 1] if number + 1 < len(lines) else ""
        following = following[3:] if following.startswith(("#~ ", "#| ")) else following
        following = following[4:] if following.startswith("#~| ") else following
        continued = following.startswith('"')
        if continued and body.startswith('"') and not body.endswith('\\n"') and body != '""':
            return True
        if continued and not body.startswith('"') and not body.endswith(' ""') and not body.endswith('\\n"'):
            return True
        if columns(line) > WIDTH and " " in body.strip('"'):
            long_line = True
    return not long_line
