"""Review state and intended copies, as translator comments that every tool keeps.

A reviewer marks an entry with the translator comment line `# reviewed`; a
translation that is meant to equal its source (a name, a code, a title kept
in English) carries `# identical: intended`. Translator comments are the one
per-entry annotation that GNU msgcat and msgmerge, polib, Translate Toolkit
(Weblate) and Poedit (its "comment" field) all read and write back: GNU
msgcat drops flags it does not know (`#, reviewed` would be lost), and
Poedit has no way to set one.

A mark counts only on a translated, non-fuzzy entry: when the source changes
the entry goes fuzzy, and `update` removes the mark (`unmark_fuzzy`), so a
changed entry has to be reviewed again.
"""

from __future__ import annotations

import re

from babel.messages.catalog import Catalog, Message

REVIEWED = "reviewed"
IDENTICAL = "identical: intended"
PROSE = re.compile(r"[^\W\d_]{4}")  # a copy of a formula, a number or a code is not an untranslated copy


def _marks(message: Message) -> set[str]:
    return {" ".join(comment.split()).lower() for comment in message.user_comments}


def is_translated(message: Message | None) -> bool:
    if message is None or message.fuzzy:
        return False
    forms = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    return bool(forms) and all(isinstance(form, str) and form for form in forms)


def is_reviewed(message: Message | None) -> bool:
    """Translated, not fuzzy, and marked `# reviewed`."""
    return is_translated(message) and REVIEWED in _marks(message)


def is_intended_identical(message: Message) -> bool:
    return IDENTICAL in _marks(message)


def is_untranslated_copy(message: Message) -> bool:
    """A prose entry whose translation is its source, not marked `# identical: intended`."""
    if not isinstance(message.id, str) or not isinstance(message.string, str):
        return False
    return message.string == message.id and bool(PROSE.search(message.id)) and not is_intended_identical(message)


def unmark_fuzzy(catalog: Catalog) -> None:
    """A fuzzy entry is no longer reviewed: its `# reviewed` line goes (used by `update`)."""
    for message in catalog:
        if message.id and message.fuzzy:
            message.user_comments = [c for c in message.user_comments if " ".join(c.split()).lower() != REVIEWED]
