"""Which words count as names, and what the stemmed subfields hold."""

from __future__ import annotations

import pytest

from search_index.analysis import fold_key, name_flags, name_forms, stemmed_words, tokenize
from search_index.query import TermQ, plan_query, positive_leaves


def flags(text: str) -> dict[str, bool | None]:
    tokens = tokenize(text)
    return {t.text: flag for t, flag in zip(tokens, name_flags(text, tokens), strict=True)}


def test_capitalised_words_mid_sentence_are_names() -> None:
    assert flags("Le témoin Hamadoun est arrivé à Moura.") == {
        "le": None,  # opens the text: cannot tell
        "temoin": False,
        "hamadoun": True,
        "est": False,
        "arrive": False,
        "a": False,
        "moura": True,
    }


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Il est venu. Moura brûlait.", "moura"),  # after a full stop
        ("Il a dit : Mourir ici", "mourir"),  # after a colon
        ("« Tués », dit-il", "tues"),  # after an opening quote
        ("civils\nTués au marché", "tues"),  # a new line
        ("les civils TUÉS", "tues"),  # capitals: shouting or an acronym
    ],
)
def test_words_that_may_just_open_a_sentence_are_not_names(text: str, word: str) -> None:
    assert flags(text)[word] is None


def test_a_title_case_headline_has_no_names() -> None:
    assert set(flags("Soldiers Killed In Moura Village").values()) == {None}
    assert flags("Civils tués à Moura")["moura"] is True


def test_stemmed_words_keep_names() -> None:
    assert stemmed_words("Les soldats ont tué Moussa à Moura", "fr") == [
        "le",
        "soldat",
        "ont",
        "tu",
        "moussa",
        "a",
        "moura",
    ]
    assert stemmed_words("Il mourait", "fr") == ["il", "mour"]


def test_name_forms_of_a_document() -> None:
    names, words = name_forms("Récit de Hamadoun", "Il est parti vers Moura et Mopti.")
    assert names == {"hamadoun", "moura", "mopti"}
    assert {"de", "est", "parti", "vers", "et"} <= words
    assert "recit" not in names | words


def test_a_known_name_is_not_stemmed_in_the_query() -> None:
    plain = plan_query("moura")
    named = plan_query("moura", lambda words: {"moura"} & words)
    stems = {leaf.text for leaf in positive_leaves(plain) if isinstance(leaf, TermQ)}
    kept = {leaf.text for leaf in positive_leaves(named) if isinstance(leaf, TermQ)}
    assert stems == {"moura", "mour"}
    assert kept == {"moura"}


def test_fold_key() -> None:
    assert fold_key("  Moura,  MOPTI ") == fold_key("moura mopti") == "moura mopti"
