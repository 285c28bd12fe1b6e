"""One behaviour contract, run against every backend (see conftest.index)."""

from __future__ import annotations

import datetime
import inspect
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search_index import (
    MemoryIndex,
    PostgresIndex,
    QuerySyntaxError,
    SearchDocument,
    SearchError,
    SearchIndex,
    SearchResults,
    WhooshIndex,
)


def doc(doc_id: str, body: str = "", **fields: Any) -> SearchDocument:
    values: dict[str, Any] = {
        "case_id": "moura",
        "kind": "testimony",
        "language": "fr",
        "title": f"Document {doc_id}",
    }
    values.update(fields)
    return SearchDocument(doc_id=doc_id, body=body, **values)


def ids(results: SearchResults) -> list[str]:
    return [hit.doc_id for hit in results.hits]


def found(index: SearchIndex, query: str, **filters: Any) -> set[str]:
    return set(ids(index.search(query, page_size=100, **filters)))


# ------------------------------------------------------------------ the interface


@pytest.mark.parametrize("backend_class", [WhooshIndex, MemoryIndex, PostgresIndex])
def test_backend_signatures_match_the_protocol(backend_class: type) -> None:
    for name in ("apply", "search", "more_like", "doc_count", "clear", "close"):
        assert inspect.signature(getattr(backend_class, name)) == inspect.signature(
            getattr(SearchIndex, name)
        ), name


def test_the_archive_calls_still_work(index: SearchIndex) -> None:
    """The calls the archive made before filters, facets and sorting existed."""
    index.apply(upserts=[doc("a", "moura")], deletes=[])
    results = index.search("moura", page=1, page_size=20, case_id=None, kind=None, language=None)
    assert (results.total, ids(results)) == (1, ["a"])
    assert SearchResults(query="q", total=0, page=1, page_size=20, hits=[]).facets == {}


def test_backend_is_a_search_index(index: SearchIndex) -> None:
    assert isinstance(index, SearchIndex)


# ------------------------------------------------------------------ writing


def test_empty_index_finds_nothing(index: SearchIndex) -> None:
    assert index.doc_count() == 0
    results = index.search("moura")
    assert (results.total, results.hits, results.page, results.page_size) == (0, [], 1, 20)
    assert results.query == "moura"


def test_upsert_adds_documents(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "les soldats"), doc("b", "les villageois")])
    assert index.doc_count() == 2
    assert found(index, "soldats") == {"a"}


def test_upsert_replaces_by_doc_id(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "texte original avec Konaté")])
    index.apply(upserts=[doc("a", "texte caviardé avec [Witness A]")])
    assert index.doc_count() == 1
    assert found(index, "konate") == set()
    assert found(index, "caviardé") == {"a"}


def test_last_upsert_of_a_batch_wins(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "premier"), doc("b", "autre"), doc("a", "second")])
    assert index.doc_count() == 2
    assert found(index, "premier") == set()
    assert found(index, "second") == {"a"}


def test_delete_removes_documents(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "moura"), doc("b", "moura"), doc("c", "moura")])
    index.apply(deletes=["b", "never-indexed"])
    assert index.doc_count() == 2
    assert found(index, "moura") == {"a", "c"}


def test_delete_wins_over_upsert_in_the_same_batch(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "moura")])
    index.apply(upserts=[doc("a", "moura encore"), doc("b", "moura")], deletes=["a"])
    assert found(index, "moura") == {"b"}


def test_upserts_and_deletes_apply_together(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "moura")])
    index.apply(upserts=[doc("b", "moura")], deletes=["a"])
    assert found(index, "moura") == {"b"}


def test_empty_batch_changes_nothing(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "moura")])
    index.apply()
    assert index.doc_count() == 1


def test_clear_empties_the_index_and_it_stays_usable(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "moura"), doc("b", "moura")])
    index.clear()
    assert index.doc_count() == 0
    assert index.search("moura").total == 0
    index.apply(upserts=[doc("c", "moura")])
    assert found(index, "moura") == {"c"}


def test_a_closed_index_refuses_work(index: SearchIndex) -> None:
    index.close()
    with pytest.raises(SearchError):
        index.search("moura")
    with pytest.raises(SearchError):
        index.apply(upserts=[doc("a", "moura")])


def test_deletes_must_be_a_sequence_of_ids(index: SearchIndex) -> None:
    with pytest.raises(TypeError):
        index.apply(deletes="abc")


# ------------------------------------------------------------------ analysis


@pytest.mark.parametrize(
    ("body", "query"),
    [
        ("Le témoignage recueilli", "temoignage"),
        ("Le temoignage recueilli", "témoignage"),
        ("Le TÉMOIGNAGE recueilli", "Témoignage"),
        ("arrivés à Moura", "MOURA"),
        ("arrivés à Moura", "moura"),
        ("Le te\u0301moignage (accent décomposé)", "témoignage"),
        ("un cœur brisé", "coeur"),
        ("Ségou, Mopti, Tombouctou", "SEGOU"),
    ],
)
def test_accents_and_case_are_folded(index: SearchIndex, body: str, query: str) -> None:
    index.apply(upserts=[doc("a", body), doc("b", "sans rapport")])
    assert found(index, query) == {"a"}


@pytest.mark.parametrize("query", ["tuer", "tués", "tues", "tué", "tuant", "TUÉ"])
def test_french_documents_are_stemmed(index: SearchIndex, query: str) -> None:
    index.apply(upserts=[doc("a", "Des civils ont été tués au marché."), doc("b", "Les tueurs")])
    assert found(index, query) == {"a"}


@pytest.mark.parametrize(("body", "query"), [("killing", "killed"), ("villagers", "villager")])
def test_english_documents_are_stemmed(index: SearchIndex, body: str, query: str) -> None:
    index.apply(upserts=[doc("a", f"Soldiers were {body} people", language="en")])
    assert found(index, query) == {"a"}


def test_stemming_follows_the_document_language(index: SearchIndex) -> None:
    index.apply(
        upserts=[
            doc("en", "killing", language="en"),
            doc("en-gb", "killing", language="en-GB"),
            doc("fr", "killing", language="fr"),
            doc("bm", "killing", language="bm"),
        ]
    )
    assert found(index, "killed") == {"en", "en-gb"}
    assert found(index, "killing") == {"en", "en-gb", "fr", "bm"}


def test_other_languages_are_folded_but_not_stemmed(index: SearchIndex) -> None:
    index.apply(upserts=[doc("bm", "Sɔgɔma, sòrodasiw nana Moura", language="bm")])
    assert found(index, "moura") == {"bm"}
    assert found(index, "sorodasiw") == {"bm"}
    assert found(index, "sorodasi") == set()


# ------------------------------------------------------------------ query syntax


def test_words_are_all_required(index: SearchIndex) -> None:
    index.apply(upserts=[doc("both", "soldats et marché"), doc("one", "soldats"), doc("none", "x")])
    assert found(index, "soldats marché") == {"both"}
    assert found(index, "soldats AND marché") == {"both"}


def test_or_not_and_grouping(index: SearchIndex) -> None:
    index.apply(
        upserts=[
            doc("a", "soldats marché"),
            doc("b", "soldats puits"),
            doc("c", "villageois puits"),
            doc("d", "villageois"),
        ]
    )
    assert found(index, "marché OR puits") == {"a", "b", "c"}
    assert found(index, "soldats NOT marché") == {"b"}
    assert found(index, "(soldats OR villageois) AND puits") == {"b", "c"}
    # AND binds tighter than OR: villageois OR (soldats AND marché)
    assert found(index, "villageois OR soldats marché") == {"a", "c", "d"}
    assert found(index, "NOT puits") == {"a", "d"}
    assert found(index, "puits NOT (villageois OR marché)") == {"b"}


def test_lower_case_operators_are_words(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "rock and roll", language="en"), doc("b", "rock")])
    assert found(index, "rock and roll") == {"a"}


def test_phrases_need_adjacent_words_in_order(index: SearchIndex) -> None:
    index.apply(
        upserts=[
            doc("in-order", "les forces armées sont arrivées"),
            doc("reversed", "armées et forces"),
            doc("stemmed", "une force armée"),
        ]
    )
    assert found(index, '"forces armées"') == {"in-order", "stemmed"}
    assert found(index, '"FORCES ARMEES"') == {"in-order", "stemmed"}
    assert found(index, "forces armées") == {"in-order", "reversed", "stemmed"}


def test_words_joined_by_punctuation_match_as_a_phrase(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "l'armée est venue"), doc("b", "la armée l")])
    assert found(index, "l'armée") == {"a"}


@pytest.mark.parametrize(("query", "expected"), [("ter*", {"a", "b"}), ("TÉMOI*", {"c"})])
def test_prefix(index: SearchIndex, query: str, expected: set[str]) -> None:
    index.apply(
        upserts=[
            doc("a", "le terrain"),
            doc("b", "la terreur"),
            doc("c", "un témoin"),
            doc("d", "autre"),
        ]
    )
    assert found(index, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("mourra~1", {"moura"}),
        ("mourra~", {"moura"}),
        ("mura~1", {"moura"}),
        ("murra~1", set()),
        ("murra~2", {"moura"}),
        ("noura~1", set()),  # the first letter must match
    ],
)
def test_fuzzy(index: SearchIndex, query: str, expected: set[str]) -> None:
    index.apply(upserts=[doc("moura", "arrivés à Moura"), doc("other", "arrivés à Ségou")])
    assert found(index, query) == expected


def test_fields_restrict_where_a_term_is_looked_for(index: SearchIndex) -> None:
    index.apply(
        upserts=[
            doc("title", "rien", title="Marché de Moura"),
            doc("body", "le marché", title="Autre"),
            doc("place", "rien", title="Autre", place="Marché central"),
            doc("tags", "rien", title="Autre", tags=("marché", "exécutions")),
        ]
    )
    assert found(index, "marché") == {"title", "body", "place", "tags"}
    assert found(index, "title:marché") == {"title"}
    assert found(index, "body:marché") == {"body"}
    assert found(index, "place:marché") == {"place"}
    assert found(index, "tags:marché") == {"tags"}
    assert found(index, 'TITLE:"marché de moura"') == {"title"}
    assert found(index, "body:(marché OR rien) NOT title:moura") == {"body", "place", "tags"}


def test_title_words_are_stemmed_too(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "rien", title="Civils tués à Moura")])
    assert found(index, "title:tuer") == {"a"}


# ------------------------------------------------------------------ syntax errors


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ('"forces armées', "quotation mark"),
        ("(soldats OR villageois", "never closed"),
        ("soldats)", "no opening"),
        ("AND", "AND"),
        ("soldats AND", "AND"),
        ("OR soldats", "OR"),
        ("soldats OR OR villageois", "OR"),
        ("NOT", "NOT"),
        ("soldats NOT", "NOT"),
        ("auteur:Diallo", "no field 'auteur'"),
        ("doc_id:a", "no field"),
        ("title:", "title:"),
        ("title: moura", "title:"),
        ("t*r", "*"),
        ("*", "*"),
        ("t*", "at least 2"),
        ("tern~3", "1 or 2"),
        ("te~rn", "~"),
        ('"forces armées"~2', "phrase"),
        ("()", "nothing between"),
        ('""', "empty"),
        ("title:(body:moura)", "body:"),
    ],
)
def test_malformed_queries_raise_a_plain_message(
    index: SearchIndex, query: str, words: str
) -> None:
    index.apply(upserts=[doc("a", "soldats moura")])
    with pytest.raises(QuerySyntaxError, match=re.escape(words)):
        index.search(query)


@pytest.mark.parametrize("query", ["", "   ", "\n", "!!!", "« — »"])
def test_empty_query_is_an_error(index: SearchIndex, query: str) -> None:
    with pytest.raises(QuerySyntaxError, match="empty query"):
        index.search(query)


def test_query_errors_are_search_errors() -> None:
    assert issubclass(QuerySyntaxError, SearchError)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    query=st.lists(
        st.sampled_from([*'ab é"()*~:-', " AND ", " OR ", " NOT ", "title:", "x:", "a~2"]),
        max_size=10,
    ).map("".join)
    | st.text(max_size=20)
)
def test_any_query_either_runs_or_raises_query_syntax_error(index: SearchIndex, query: str) -> None:
    if index.doc_count() == 0:
        index.apply(upserts=[doc("a", "a b é")])
    message = ""
    try:
        results = index.search(query)
    except QuerySyntaxError as exc:
        message = str(exc)
    else:
        assert results.total == len(results.hits)
        return
    assert message


# ------------------------------------------------------------------ results


def test_filters(index: SearchIndex) -> None:
    index.apply(
        upserts=[
            doc("1", "moura", case_id="moura", kind="testimony", language="fr"),
            doc("2", "moura", case_id="moura", kind="source_excerpt", language="en"),
            doc("3", "moura", case_id="other", kind="testimony", language="en"),
        ]
    )
    assert found(index, "moura", case_id="moura") == {"1", "2"}
    assert found(index, "moura", kind="testimony") == {"1", "3"}
    assert found(index, "moura", language="en") == {"2", "3"}
    assert found(index, "moura", case_id="other", language="en") == {"3"}
    assert found(index, "moura", case_id="nowhere") == set()
    assert index.search("moura", kind="testimony").total == 2


def test_pagination(index: SearchIndex) -> None:
    index.apply(upserts=[doc(f"d{i:02}", "moura " * (1 + i % 5)) for i in range(25)])
    pages = [index.search("moura", page=p, page_size=10) for p in (1, 2, 3, 4)]
    assert [len(p.hits) for p in pages] == [10, 10, 5, 0]
    assert {p.total for p in pages} == {25}
    assert [p.page for p in pages] == [1, 2, 3, 4]
    seen = [hit.doc_id for p in pages for hit in p.hits]
    assert sorted(seen) == [f"d{i:02}" for i in range(25)]
    scores = [hit.score for p in pages for hit in p.hits]
    assert scores == sorted(scores, reverse=True)
    assert index.search("moura", page=99, page_size=10).total == 25


@pytest.mark.parametrize(("page", "page_size"), [(0, 10), (-1, 10), (1, 0)])
def test_bad_page_arguments(index: SearchIndex, page: int, page_size: int) -> None:
    with pytest.raises(ValueError, match="must be 1 or more"):
        index.search("moura", page=page, page_size=page_size)


def test_more_occurrences_rank_higher(index: SearchIndex) -> None:
    filler = "des gens sont venus ce jour la au village pour parler"
    index.apply(
        upserts=[
            doc("once", f"massacre {filler} {filler}"),
            doc("thrice", f"massacre {filler} massacre {filler} massacre"),
            doc("none", filler),
        ]
    )
    assert ids(index.search("massacre")) == ["thrice", "once"]


def test_a_title_match_ranks_above_a_body_match(index: SearchIndex) -> None:
    filler = "des gens sont venus ce jour la au village pour parler"
    index.apply(
        upserts=[
            doc("body", f"{filler} exécutions {filler}", title="Récit de Witness B"),
            doc("title", f"{filler} {filler}", title="Exécutions à Moura"),
        ]
    )
    assert ids(index.search("exécutions")) == ["title", "body"]


def test_hits_carry_the_stored_fields(index: SearchIndex) -> None:
    index.apply(
        upserts=[
            doc(
                "a",
                "moura",
                title="Témoignage de Witness A",
                case_id="moura-2022",
                kind="source_excerpt",
                language="en",
                place="Moura, Mopti",
                tags=("massacre", "civilians"),
                event_date=datetime.date(2022, 3, 27),
                collected_date=datetime.date(2022, 4, 5),
            ),
            doc("b", "moura", title="B"),
        ]
    )
    hits = {hit.doc_id: hit for hit in index.search("moura").hits}
    a = hits["a"]
    assert (a.title, a.case_id, a.kind, a.language) == (
        "Témoignage de Witness A",
        "moura-2022",
        "source_excerpt",
        "en",
    )
    assert (a.place, a.tags, a.event_date) == (
        "Moura, Mopti",
        ("massacre", "civilians"),
        datetime.date(2022, 3, 27),
    )
    assert (hits["b"].place, hits["b"].tags, hits["b"].event_date) == (None, (), None)
    assert isinstance(a.score, float)


# ------------------------------------------------------------------ snippets


def test_snippet_escapes_html_and_marks_matches(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", 'Moura <script>alert("x")</script> & <b>soldats</b>')])
    (hit,) = index.search("soldats").hits
    assert "<script>" not in hit.snippet
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;" in hit.snippet
    assert "&lt;b&gt;<mark>soldats</mark>&lt;/b&gt;" in hit.snippet
    assert re.sub(r"</?mark>", "", hit.snippet).count("<") == 0


def test_snippet_marks_folded_and_stemmed_matches(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "Les civils TUÉS à Moura, les témoins tués.")])
    (hit,) = index.search("tuer temoin*").hits
    assert hit.snippet.count("<mark>") == 3
    assert "<mark>TUÉS</mark>" in hit.snippet
    assert "<mark>témoins</mark>" in hit.snippet


def test_snippet_does_not_mark_excluded_words(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "soldats au marché")])
    (hit,) = index.search("soldats NOT puits").hits
    assert hit.snippet == "<mark>soldats</mark> au marché"


def test_snippet_joins_distant_fragments_with_an_ellipsis(index: SearchIndex) -> None:
    filler = " ".join(["remplissage"] * 60)
    index.apply(upserts=[doc("a", f"{filler} soldats {filler} puits {filler}")])
    (hit,) = index.search("soldats OR puits").hits
    first, _, _ = hit.snippet.partition("<mark>puits</mark>")
    assert "<mark>soldats</mark>" in first
    assert " … " in first
    assert hit.snippet.startswith("… ")
    assert hit.snippet.endswith(" …")
    assert len(hit.snippet) < 600


def test_snippet_without_a_body_match_shows_the_opening(index: SearchIndex) -> None:
    body = "Récit recueilli par l'équipe. " * 20
    index.apply(upserts=[doc("a", body, title="Moura")])
    (hit,) = index.search("title:moura").hits
    assert "<mark>" not in hit.snippet
    assert hit.snippet.startswith("Récit recueilli par l&#x27;équipe.")
    assert hit.snippet.endswith(" …")
    assert len(hit.snippet) < 260


# ------------------------------------------------------------------ names keep their form


def test_a_name_does_not_find_words_that_share_its_stem(index: SearchIndex) -> None:
    index.apply(
        upserts=[
            doc("name", "Les soldats sont arrivés à Moura le dimanche matin."),
            doc("verb", "Le vieil homme mourait de faim."),
        ]
    )
    assert found(index, "moura") == {"name"}
    assert found(index, "Moura") == {"name"}
    assert found(index, "mourir") == {"verb"}  # ordinary words are still stemmed
    assert found(index, "meurt OR mourir") == {"verb"}
    (hit,) = index.search("mourir").hits
    assert "<mark>mourait</mark>" in hit.snippet
    (hit,) = index.search("moura").hits
    assert "<mark>Moura</mark>" in hit.snippet


def test_names_keep_their_form_in_titles_and_phrases(index: SearchIndex) -> None:
    index.apply(
        upserts=[
            doc("name", "rien", title="Le récit de Hamadoun à Moura"),
            doc("verb", "Ils mouraient tous.", title="Le récit des mourants"),
        ]
    )
    assert found(index, "title:moura") == {"name"}
    assert found(index, '"hamadoun a moura"') == {"name"}
    assert found(index, "mourir") == {"verb"}


def test_a_word_seen_in_lower_case_somewhere_is_stemmed_again(index: SearchIndex) -> None:
    """A surname that is also a common word (Blanc, blanc) must not lose its plurals."""
    index.apply(
        upserts=[
            doc("name", "Le témoin a parlé avec Blanc hier."),
            doc("plural", "Des drapeaux blancs flottaient."),
            doc("word", "Un mur blanc."),
        ]
    )
    assert found(index, "blanc") == {"name", "plural", "word"}


# "Rose" (a name) and "rose" (pink) share nothing once stemmed: "rose" and "roses" stem to
# "ros". A query word known only as a name is looked up as it is, "rose", and then misses
# "roses"; known also as an ordinary word, it is stemmed and finds it.
ROSE = doc("name", "Le témoin a parlé avec Rose hier.")
ROSES = doc("plural", "Des drapeaux roses flottaient.")


@pytest.mark.parametrize(
    "ordinary",
    [
        doc("ordinary", "Un mur rose."),
        doc("ordinary", "rien", title="Un drapeau rose"),
        doc("ordinary", "rien", place="quartier du puits rose"),
        doc("ordinary", "Le témoin Rose a vu un mur rose."),  # a name here too
    ],
    ids=["body", "title", "place", "same document"],
)
def test_a_lower_case_use_in_any_field_makes_a_name_an_ordinary_word(
    index: SearchIndex, ordinary: SearchDocument
) -> None:
    index.apply(upserts=[ROSE, ROSES])
    assert found(index, "rose") == {"name"}
    index.apply(upserts=[ordinary])
    assert found(index, "rose") == {"name", "plural", "ordinary"}


def test_a_name_is_a_name_again_once_its_lower_case_use_is_gone(index: SearchIndex) -> None:
    index.apply(upserts=[ROSE, ROSES, doc("word", "Un mur rose.")])
    assert found(index, "rose") == {"name", "plural", "word"}
    index.apply(deletes=["word"])
    assert found(index, "rose") == {"name"}
    index.apply(upserts=[doc("word", "Un mur rose.")])
    assert found(index, "rose") == {"name", "plural", "word"}
    index.apply(upserts=[doc("word", "Un mur gris.")])  # replaced: no longer uses it
    assert found(index, "rose") == {"name"}
    index.apply(upserts=[doc("opening", "Rose. Le mur était de cette couleur.")])
    assert found(index, "rose") == {"name", "opening"}  # a sentence's first word tells nothing


def test_capitalised_words_opening_a_sentence_are_still_stemmed(index: SearchIndex) -> None:
    index.apply(upserts=[doc("a", "Le matin. Tués au marché, les civils."), doc("b", "rien")])
    assert found(index, "tuer") == {"a"}


# ------------------------------------------------------------------ more filters


def dated_docs() -> list[SearchDocument]:
    return [
        doc(
            "early",
            "moura",
            event_date=datetime.date(2021, 12, 31),
            collected_date=datetime.date(2022, 2, 1),
            place="Moura, Mopti",
            tags=("Exécutions", "marché"),
        ),
        doc(
            "mid",
            "moura",
            event_date=datetime.date(2022, 3, 27),
            collected_date=datetime.date(2022, 4, 5),
            place="MOURA, mopti",
            tags=("exécutions",),
        ),
        doc(
            "late",
            "moura",
            event_date=datetime.date(2022, 3, 31),
            collected_date=datetime.date(2023, 1, 10),
            place="Moura",
            tags=("marché", "forces armées"),
        ),
        doc("undated", "moura", tags=("exécutions", "marché")),
    ]


def test_event_date_range_is_inclusive_and_skips_undated(index: SearchIndex) -> None:
    index.apply(upserts=dated_docs())
    d = datetime.date
    assert found(index, "moura", event_from=d(2022, 1, 1)) == {"mid", "late"}
    assert found(index, "moura", event_to=d(2022, 3, 27)) == {"early", "mid"}
    assert found(index, "moura", event_from=d(2022, 3, 27), event_to=d(2022, 3, 27)) == {"mid"}
    assert found(index, "moura", event_from=d(2022, 4, 1)) == set()
    assert found(index, "moura", event_from=d(2023, 1, 1), event_to=d(2020, 1, 1)) == set()


def test_collected_date_range(index: SearchIndex) -> None:
    index.apply(upserts=dated_docs())
    d = datetime.date
    assert found(index, "moura", collected_from=d(2022, 4, 5)) == {"mid", "late"}
    assert found(index, "moura", collected_to=d(2022, 12, 31)) == {"early", "mid"}
    assert found(index, "moura", collected_from=d(2022, 1, 1), event_from=d(2022, 3, 28)) == {
        "late"
    }


def test_place_is_matched_whole_and_folded(index: SearchIndex) -> None:
    index.apply(upserts=dated_docs())
    assert found(index, "moura", place="moura, MOPTI") == {"early", "mid"}
    assert found(index, "moura", place="Moura") == {"late"}
    assert found(index, "moura", place="Mopti") == set()


def test_every_given_tag_must_match(index: SearchIndex) -> None:
    index.apply(upserts=dated_docs())
    assert found(index, "moura", tags=["executions"]) == {"early", "mid", "undated"}
    assert found(index, "moura", tags=["Exécutions", "MARCHÉ"]) == {"early", "undated"}
    assert found(index, "moura", tags=["Forces armées"]) == {"late"}
    assert found(index, "moura", tags=["forces"]) == set()
    assert found(index, "moura", tags=[]) == {"early", "mid", "late", "undated"}


def test_filters_combine_with_the_query_and_with_each_other(index: SearchIndex) -> None:
    index.apply(upserts=[*dated_docs(), doc("other", "soldats", tags=("marché",))])
    assert found(index, "moura OR soldats", tags=["marché"], kind="testimony") == {
        "early",
        "late",
        "undated",
        "other",
    }
    assert index.search("NOT soldats", tags=["marché"], place="moura").total == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"tags": "marché"},
        {"event_from": "2022-01-01"},
        {"collected_to": datetime.datetime(2022, 1, 1, 12, 0)},
    ],
)
def test_filter_arguments_of_the_wrong_type_raise(index: SearchIndex, bad: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        index.search("moura", **bad)


# ------------------------------------------------------------------ facets


def test_facets_count_every_match_not_just_the_page(index: SearchIndex) -> None:
    index.apply(
        upserts=[
            *dated_docs(),
            doc("en", "moura", language="en", case_id="other", kind="source_excerpt"),
            doc("no-match", "soldats", tags=("marché",), event_date=datetime.date(2020, 1, 1)),
        ]
    )
    results = index.search("moura", page_size=2)
    assert len(results.hits) == 2
    assert results.total == 5
    assert results.facets == {
        "case": {"moura": 4, "other": 1},
        "kind": {"testimony": 4, "source_excerpt": 1},
        "language": {"fr": 4, "en": 1},
        "year": {"2022": 2, "2021": 1},
        "tags": {"marché": 3, "exécutions": 2, "Exécutions": 1, "forces armées": 1},
    }
    assert list(results.facets) == ["case", "kind", "language", "year", "tags"]
    assert list(results.facets["tags"]) == ["marché", "exécutions", "Exécutions", "forces armées"]


def test_facets_follow_the_filters(index: SearchIndex) -> None:
    index.apply(upserts=dated_docs())
    results = index.search("moura", event_from=datetime.date(2022, 1, 1), page=9)
    assert results.hits == []
    assert results.facets["year"] == {"2022": 2}
    assert results.facets["tags"] == {"exécutions": 1, "forces armées": 1, "marché": 1}


def test_facets_and_totals_over_batches_updates_and_deletes(index: SearchIndex) -> None:
    """Documents written in several batches (several Whoosh segments), some then deleted
    or rewritten with other values: only what the index holds now is counted, and the
    counts stay right when the same index is searched again after a change."""
    index.apply(upserts=[doc(f"a{n}", "moura", tags=("marché",)) for n in range(6)])
    index.apply(
        upserts=[
            doc(f"b{n}", "moura", kind="source_excerpt", event_date=datetime.date(2021, 5, n + 1))
            for n in range(4)
        ]
    )
    first = index.search("moura", page_size=3)
    assert first.total == 10
    assert first.facets["kind"] == {"testimony": 6, "source_excerpt": 4}
    index.apply(
        upserts=[doc("a0", "moura", language="en", tags=("exécutions",)), doc("c0", "soldats")],
        deletes=["a1", "a2", "b3"],
    )
    results = index.search("moura", page=2, page_size=3)
    assert len(results.hits) == 3
    assert results.total == 7
    assert results.facets == {
        "case": {"moura": 7},
        "kind": {"testimony": 4, "source_excerpt": 3},
        "language": {"fr": 6, "en": 1},
        "year": {"2021": 3},
        "tags": {"marché": 3, "exécutions": 1},
    }
    filtered = index.search("moura", kind="testimony", page_size=1)
    assert filtered.total == 4
    assert filtered.facets["tags"] == {"marché": 3, "exécutions": 1}
    by_date = index.search("moura", sort="date", page_size=2)
    assert by_date.total == 7
    assert by_date.facets == results.facets


@pytest.mark.parametrize("facets", [True, False])
def test_the_total_counts_matches_that_cannot_reach_the_page(
    index: SearchIndex, facets: bool
) -> None:
    """A few strong matches first, then many weak ones: a top-N search may stop looking at
    the weak ones once the page is full, but the total and the facets must not."""
    strong = [doc(f"s{n:03}", "moura " * 30, title="moura moura") for n in range(5)]
    weak = [doc(f"w{n:03}", "soldats " + "marché " * 40, tags=("marché",)) for n in range(150)]
    index.apply(upserts=[*strong, *weak])
    results = index.search("moura OR soldats", page_size=1, facets=facets)
    assert results.hits[0].doc_id.startswith("s")
    assert results.total == 155
    if facets:
        assert results.facets["tags"] == {"marché": 150}
        assert results.facets["case"] == {"moura": 155}
    prefixed = index.search("mou* OR sold*", page_size=1, facets=facets)
    assert prefixed.total == 155


def test_facets_of_no_match_and_facets_off(index: SearchIndex) -> None:
    index.apply(upserts=dated_docs())
    empty = index.search("introuvable")
    assert empty.facets == {name: {} for name in ("case", "kind", "language", "year", "tags")}
    assert index.search("moura", facets=False).facets == {}


# ------------------------------------------------------------------ sort


def test_sort_by_date_newest_first_undated_last(index: SearchIndex) -> None:
    index.apply(upserts=dated_docs())
    assert ids(index.search("moura", sort="date")) == ["late", "mid", "early", "undated"]
    assert ids(index.search("moura", sort="date_asc")) == ["early", "mid", "late", "undated"]
    assert ids(index.search("moura", sort="relevance", page_size=100)) != []


def test_date_sort_pages_and_keeps_relevance_scores(index: SearchIndex) -> None:
    index.apply(
        upserts=[
            doc(f"d{i}", "moura " * (1 + i % 3), event_date=datetime.date(2020, 1, 1 + i))
            for i in range(7)
        ]
    )
    pages = [index.search("moura", sort="date", page=p, page_size=3) for p in (1, 2, 3)]
    assert [ids(p) for p in pages] == [["d6", "d5", "d4"], ["d3", "d2", "d1"], ["d0"]]
    assert {p.total for p in pages} == {7}
    by_id = {h.doc_id: h.score for p in pages for h in p.hits}
    assert by_id["d2"] > by_id["d0"] > 0  # each hit still carries its relevance


def test_same_date_ties_break_by_relevance(index: SearchIndex) -> None:
    day = datetime.date(2022, 3, 27)
    index.apply(
        upserts=[
            doc("once", "massacre et autres choses", event_date=day),
            doc("twice", "massacre massacre et autres choses", event_date=day),
        ]
    )
    assert ids(index.search("massacre", sort="date")) == ["twice", "once"]
    assert ids(index.search("massacre", sort="date_asc")) == ["twice", "once"]


def test_unknown_sort_raises(index: SearchIndex) -> None:
    with pytest.raises(ValueError, match="sort must be one of"):
        index.search("moura", sort="newest")


# ------------------------------------------------------------------ more like this


def related_docs() -> list[SearchDocument]:
    return [
        doc(
            "source",
            "Les soldats ont encerclé le marché de Moura puis exécuté des villageois "
            "près du puits. Les hélicoptères survolaient le marché.",
            title="Exécutions au marché de Moura",
        ),
        doc(
            "close",
            "Au marché de Moura, les soldats ont exécuté des villageois; des hélicoptères "
            "tournaient au-dessus du marché.",
            title="Le marché de Moura",
        ),
        doc(
            "partial",
            "Des villageois ont fui vers le puits au lever du jour.",
            title="Fuite",
        ),
        doc(
            "other-case",
            "Le marché de Moura et les soldats, les hélicoptères au-dessus du marché.",
            case_id="ailleurs",
        ),
        doc("unrelated", "La saison des pluies a commencé tôt cette année.", title="Pluies"),
    ]


def test_more_like_finds_similar_documents_but_never_itself(index: SearchIndex) -> None:
    index.apply(upserts=related_docs())
    hits = index.more_like("source")
    found_ids = [h.doc_id for h in hits]
    assert "source" not in found_ids
    assert "unrelated" not in found_ids
    assert found_ids[0] in {"close", "other-case"}
    assert found_ids.index("close") < found_ids.index("partial")
    assert all(h.score > 0 for h in hits)
    assert all("<mark>" not in h.snippet for h in hits)


def test_more_like_limit_and_case(index: SearchIndex) -> None:
    index.apply(upserts=related_docs())
    assert len(index.more_like("source", limit=1)) == 1
    in_case = [h.doc_id for h in index.more_like("source", case_id="moura")]
    assert "other-case" not in in_case
    assert "close" in in_case
    assert [h.doc_id for h in index.more_like("source", case_id="ailleurs")] == ["other-case"]
    with pytest.raises(ValueError, match="limit"):
        index.more_like("source", limit=0)


def test_more_like_of_an_unknown_or_lonely_document(index: SearchIndex) -> None:
    assert index.more_like("nothing") == []
    index.apply(upserts=[doc("alone", "des mots que personne n'emploie", title="Seul")])
    assert index.more_like("alone") == []
    index.apply(upserts=[doc("x", "rien en commun", title="Autre")])
    assert index.more_like("alone") == []
