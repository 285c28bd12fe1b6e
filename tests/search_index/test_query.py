"""The parser on its own: shapes of trees, precedence, and the plan's corner cases."""

from __future__ import annotations

import pytest

from search_index.query import (
    AllQ,
    And,
    EveryQ,
    Fuzzy,
    Not,
    NotQ,
    Or,
    Phrase,
    Prefix,
    Word,
    parse,
    plan_query,
    positive_leaves,
)


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("a", Word("a")),
        ("a b", And((Word("a"), Word("b")))),
        ("a AND b", And((Word("a"), Word("b")))),
        ("a OR b c", Or((Word("a"), And((Word("b"), Word("c")))))),
        ("(a OR b) c", And((Or((Word("a"), Word("b"))), Word("c")))),
        ("a NOT b OR c", Or((And((Word("a"), Not(Word("b")))), Word("c")))),
        ("NOT NOT a", Not(Not(Word("a")))),
        ('"a b" c*', And((Phrase("a b"), Prefix("c")))),
        ("ab~ ab~2", And((Fuzzy("ab", 1), Fuzzy("ab", 2)))),
        ("Title:a", Word("a", "title")),
        ('body:"a b"', Phrase("a b", "body")),
        ("tags:(a OR b)", Or((Word("a", "tags"), Word("b", "tags")))),
        ("a and b or not c", And(tuple(map(Word, ["a", "and", "b", "or", "not", "c"])))),
        ("10:30", Word("10:30")),
    ],
)
def test_parse_trees(query: str, tree: object) -> None:
    assert parse(query) == tree


def test_a_lone_exclusion_means_every_document_but() -> None:
    plan = plan_query("NOT a")
    assert isinstance(plan, AllQ)
    assert isinstance(plan.children[0], EveryQ)
    assert isinstance(plan.children[1], NotQ)
    assert positive_leaves(plan) == []


def test_punctuation_only_words_are_dropped() -> None:
    assert plan_query("moura —") == plan_query("moura")


def test_excluded_words_are_not_highlighted() -> None:
    fields = {leaf.field for leaf in positive_leaves(plan_query("title:a NOT b"))}
    assert fields == {"title_plain", "title_fr", "title_en"}
