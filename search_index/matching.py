"""How a planned leaf matches a list of analysed words: used by MemoryIndex to search and by
every backend to highlight, so both agree with what Whoosh matches."""

from __future__ import annotations

from collections.abc import Sequence

from search_index.query import FUZZY_PREFIX, FuzzyQ, Leaf, PhraseQ, PrefixQ, TermQ


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance (insert, delete, substitute), capped at ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return min(previous[-1], limit + 1)


def word_matches(leaf: TermQ | PrefixQ | FuzzyQ, word: str) -> bool:
    if isinstance(leaf, TermQ):
        return word == leaf.text
    if isinstance(leaf, PrefixQ):
        return word.startswith(leaf.text)
    return (
        word[:FUZZY_PREFIX] == leaf.text[:FUZZY_PREFIX]
        and edit_distance(word, leaf.text, leaf.maxdist) <= leaf.maxdist
    )


def leaf_spans(leaf: Leaf, words: Sequence[str]) -> list[tuple[int, int]]:
    """Each match as (first word index, number of words)."""
    if isinstance(leaf, PhraseQ):
        n = len(leaf.words)
        return [(i, n) for i in range(len(words) - n + 1) if tuple(words[i : i + n]) == leaf.words]
    # The kind of leaf is looked at once, not once per word: a snippet runs this over
    # every word of a hit's body.
    if isinstance(leaf, TermQ):
        text = leaf.text
        return [(i, 1) for i, word in enumerate(words) if word == text]
    if isinstance(leaf, PrefixQ):
        starts = leaf.text
        return [(i, 1) for i, word in enumerate(words) if word.startswith(starts)]
    return [(i, 1) for i, word in enumerate(words) if word_matches(leaf, word)]
