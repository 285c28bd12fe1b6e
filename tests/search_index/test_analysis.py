"""Which words count as names, and what the stemmed subfields hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search_index.analysis import (
    SUBFIELDS_BY_NAME,
    analyse_document,
    analysed_words,
    analyzer_for,
    fold_key,
    name_flags,
    name_forms,
    stemmed_words,
    subfield_texts,
    tokenize,
)
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


_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(list("éÉèçÇœŒæßẞﬁＡａ\u0301\u00a0 .'-Moura")),
    max_size=60,
)


@given(_TEXT)
def test_tokenize_is_the_folding_analyzer(text: str) -> None:
    """The fast path folds exactly as the Whoosh analyzer the ``_plain`` subfields use."""
    expected = [
        (t.text, t.startchar, t.endchar)
        for t in analyzer_for(None)(text, chars=True, positions=True, mode="index")
    ]
    assert [(t.text, t.start, t.end) for t in tokenize(text)] == expected


def test_tokenize_remembers_a_bounded_number_of_words(monkeypatch: pytest.MonkeyPatch) -> None:
    from search_index import analysis

    monkeypatch.setattr(analysis, "_FOLDED", {})
    monkeypatch.setattr(analysis, "_FOLDED_MAX", 50)
    text = " ".join(f"Témoin{n} Œuvre{n} \u0301 ﬁn{n}" for n in range(40))  # 121 distinct words
    expected = [
        (t.text, t.startchar, t.endchar)
        for t in analyzer_for(None)(text, chars=True, positions=True, mode="index")
    ]
    for _ in range(3):  # words forgotten and learnt again give the same tokens
        assert [(t.text, t.start, t.end) for t in tokenize(text)] == expected
        assert 0 < len(analysis._FOLDED) <= 50


@given(_TEXT, _TEXT, _TEXT, st.sampled_from(["fr", "en", "bm", "fr-FR"]))
def test_analyse_document_is_each_subfield_analysed_alone(
    title: str, body: str, place: str, language: str
) -> None:
    """One tokenization per text gives what analysing each subfield on its own gives."""
    tags = ("Tag Un", place)
    analysis = analyse_document(title=title, body=body, place=place, tags=tags, language=language)
    texts = subfield_texts(title=title, body=body, place=place, tags=tags, language=language)
    assert analysis.subfields == {
        name: analysed_words(text, SUBFIELDS_BY_NAME[name].language) for name, text in texts.items()
    }
    assert (analysis.names, analysis.words) == name_forms(title, body, place)
