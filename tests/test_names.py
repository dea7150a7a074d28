"""The hand-typed name check (source/names.py) over every publication's recurring names: a near variant of a
name is found wherever it stands in a text, and the fast window search answers as the plain one did."""

from __future__ import annotations

from collections import Counter
from difflib import SequenceMatcher

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pubpipe.source.names import MIN_LENGTH, SIMILARITY, best_match, bigram_positions, normalize
from pubpipe.source.publication import load_publication

from .conftest import PUBLICATIONS


def _names() -> list[str]:
    found = []
    for known in PUBLICATIONS:
        publication, _problems = load_publication(known.source)
        found += [name for _key, _tag, _form, name in publication.name_rules._normalized]
    return sorted(set(found))


NAMES = _names()
FILLER = st.text(st.sampled_from("abcdefghij klmnopqrstuvwxyz,.草原畜牧业碳市场 éàüş"), max_size=60)


def reference_match(text: str, name: str) -> tuple[str, float] | None:
    """The search as first written (one Counter update per bigram occurrence, most_common(20)): the oracle
    for the faster counting in best_match."""
    if len(name) < MIN_LENGTH or len(text) < len(name) - 4:
        return None
    bigrams = bigram_positions(name)
    needed = max(3, int(0.4 * (len(name) - 1)))
    positions = {}
    for i in range(len(text) - 1):
        positions.setdefault(text[i : i + 2], []).append(i)
    if sum(len(js) for pair, js in bigrams.items() if pair in positions) < needed:
        return None
    votes: Counter[int] = Counter()
    for pair, js in bigrams.items():
        if pair in positions:
            for j in js:
                votes.update([i - j for i in positions[pair]])
    best = None
    for start, count in votes.most_common(20):
        if count < needed:
            break
        for size in (len(name) - 2, len(name), len(name) + 2, len(name) + 4):
            window = text[max(0, start) : max(0, start) + size]
            ratio = SequenceMatcher(None, window, name, autojunk=False).ratio()
            if ratio >= SIMILARITY and (best is None or ratio > best[1]):
                best = (window.strip(), ratio)
    return best


def _variant(name: str, data) -> str:
    """The name with one character changed, dropped or doubled: what a translator's typing gives."""
    at = data.draw(st.integers(0, len(name) - 1))
    edit = data.draw(st.sampled_from(["change", "drop", "double"]))
    if edit == "change":
        return name[:at] + data.draw(st.sampled_from("xyzé碳 ")) + name[at + 1 :]
    if edit == "drop":
        return name[:at] + name[at + 1 :]
    return name[:at] + name[at] + name[at:]


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), before=FILLER, after=FILLER)
def test_a_near_variant_of_a_name_is_found_anywhere(name, data, before, after):
    variant = normalize(_variant(name, data))
    text = f"{before} {variant} {after}"
    found = best_match(text, name)
    assert found is not None, f"{variant!r} should be found in {text!r}"
    assert found[1] >= SIMILARITY
    assert found == reference_match(text, name)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None)
@given(text=st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz &草原畜牧业与碳市场全球联盟工作组"), max_size=120))
def test_the_window_search_answers_as_the_plain_one(name, text):
    assert best_match(text, name) == reference_match(text, name)
