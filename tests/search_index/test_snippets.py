"""Snippets are safe HTML made only of the stored body, whatever that body holds."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from search_index.analysis import fold
from search_index.query import plan_query, positive_leaves
from search_index.snippets import ELLIPSIS, make_snippet


def snippet(body: str, query: str, language: str = "fr") -> str:
    return make_snippet(body, language, positive_leaves(plan_query(query)))


def test_fragments_in_text_order_at_most_three() -> None:
    filler = " ".join(["remplissage"] * 40)
    body = f"un {filler} deux {filler} trois {filler} quatre {filler}"
    marked = re.findall(r"<mark>(.*?)</mark>", snippet(body, "un OR deux OR trois OR quatre"))
    assert marked == ["un", "deux", "trois"]


def test_nearby_matches_share_a_fragment() -> None:
    result = snippet("les soldats et les villageois au marché", "soldats villageois")
    assert ELLIPSIS not in result
    assert result == "les <mark>soldats</mark> et les <mark>villageois</mark> au marché"


def test_empty_body() -> None:
    assert snippet("", "moura") == ""


text_with_markup = st.lists(
    st.sampled_from([*"ab é<>&\"'/\n", "script", "moura", "…"]), max_size=30
).map("".join)


@given(body=st.lists(text_with_markup, max_size=12).map(" ".join))
def test_snippets_are_escaped_pieces_of_the_body(body: str) -> None:
    words = fold(body)
    query = words[0] if words else "moura"
    result = snippet(body, query)
    bare = re.sub(r"</?mark>", "", result)
    assert "<" not in bare and ">" not in bare
    collapsed = " ".join(body.split())
    for piece in html.unescape(bare).split(f" {ELLIPSIS} "):
        piece = piece.removeprefix(f"{ELLIPSIS} ").removesuffix(f" {ELLIPSIS}").strip()
        assert piece in collapsed
