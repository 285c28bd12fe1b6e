"""The query language, parsed once here and planned into subfield queries for any backend.

Syntax (what a search box accepts):

* words: ``moura soldats`` — every word must match (AND, as in a web search box);
  results are ranked by relevance (BM25F);
* ``"a phrase"`` — the words next to each other, in this order;
* ``AND``, ``OR``, ``NOT`` in capitals (lower-case ``and`` is a word); ``NOT`` binds
  tighter than ``AND``, which binds tighter than ``OR``: ``a OR b c`` is ``a OR (b AND c)``;
* ``( … )`` to group;
* ``ter*`` — prefix (at least two letters before the star, ``*`` only at the end);
* ``tern~`` / ``tern~1`` / ``tern~2`` — fuzzy, up to 1 (default) or 2 edits; the first
  letter must match;
* ``title:``, ``body:``, ``place:``, ``tags:`` before a word, phrase or group restrict it
  to that field; without one, a word is looked for in all four.

Everything is accent- and case-insensitive. A query that cannot be understood raises
``QuerySyntaxError`` with a message meant for the person who typed it; an empty query
(or one with no letters or digits) raises ``QuerySyntaxError("empty query")``. A query of
only exclusions (``NOT x``) matches every document without ``x``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Union

from search_index.analysis import SEARCHABLE_FIELDS, SUBFIELDS, fold, stem
from search_index.errors import QuerySyntaxError

OPERATORS = ("AND", "OR", "NOT")
MIN_PREFIX = 2
MAX_FUZZY = 2

# ---------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Word:
    text: str
    field: str | None = None


@dataclass(frozen=True)
class Phrase:
    text: str
    field: str | None = None


@dataclass(frozen=True)
class Prefix:
    text: str
    field: str | None = None


@dataclass(frozen=True)
class Fuzzy:
    text: str
    distance: int
    field: str | None = None


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Union[Word, Phrase, Prefix, Fuzzy, And, Or, Not]  # noqa: UP007 (used at runtime)

# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Tok:
    kind: str  # WORD PHRASE FIELD LPAREN RPAREN AND OR NOT
    value: str
    glued: bool = False  # FIELD only: its value follows without a space


_FIELD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(.*)", re.DOTALL)
_WORD_END = set(' \t\n\r\f\v()"')


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "(":
            out.append(_Tok("LPAREN", c))
            i += 1
        elif c == ")":
            out.append(_Tok("RPAREN", c))
            i += 1
        elif c == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise QuerySyntaxError(
                    'a quotation mark (") is never closed: add the closing one or remove it'
                )
            out.append(_Tok("PHRASE", text[i + 1 : close]))
            i = close + 1
            if i < n and text[i] in "*~":
                raise QuerySyntaxError(
                    f'"{text[i]}" cannot follow a phrase: use it at the end of a single word'
                )
        else:
            j = i
            while j < n and text[j] not in _WORD_END and not text[j].isspace():
                j += 1
            out.extend(_word_tokens(text[i:j], glued_next=j < n and text[j] in '("'))
            i = j
    return out


def _word_tokens(raw: str, *, glued_next: bool) -> list[_Tok]:
    if raw in OPERATORS:
        return [_Tok(raw, raw)]
    match = _FIELD_RE.fullmatch(raw)
    if match is None:
        return [_Tok("WORD", raw)]
    name, rest = match.group(1).lower(), match.group(2)
    if name not in SEARCHABLE_FIELDS:
        raise QuerySyntaxError(
            f"there is no field {match.group(1)!r}: you can search in "
            + ", ".join(f"{f}:" for f in SEARCHABLE_FIELDS)
        )
    if not rest:
        if not glued_next:
            raise QuerySyntaxError(
                f"{name}: must be followed directly by a word, a phrase or a group, "
                f'as in {name}:moura or {name}:"a phrase"'
            )
        return [_Tok("FIELD", name, glued=True)]
    return [_Tok("FIELD", name, glued=True), _Tok("WORD", rest)]


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at_operand(self) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind not in ("AND", "OR", "RPAREN")

    def parse(self) -> Node:
        node = self.parse_or(None)
        if self.peek() is not None:  # only a stray ")" can stop parse_or early
            raise QuerySyntaxError("a closing parenthesis ) has no opening one")
        return node

    def parse_or(self, field: str | None) -> Node:
        children = [self.parse_and(field)]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            if not self.at_operand():
                raise QuerySyntaxError("OR must stand between two search terms")
            children.append(self.parse_and(field))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self, field: str | None) -> Node:
        if not self.at_operand():
            tok = self.peek()
            if tok is not None and tok.kind in ("AND", "OR"):
                raise QuerySyntaxError(f"{tok.kind} must stand between two search terms")
            if tok is not None and tok.kind == "RPAREN":
                raise QuerySyntaxError("a closing parenthesis ) has no opening one")
            raise QuerySyntaxError("the query ends where a search term was expected")
        children = [self.parse_unary(field)]
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "RPAREN"):
            if tok.kind == "AND":
                self.take()
                if not self.at_operand():
                    raise QuerySyntaxError("AND must stand between two search terms")
            children.append(self.parse_unary(field))
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self, field: str | None) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "NOT":
            self.take()
            if not self.at_operand():
                raise QuerySyntaxError("NOT must be followed by a search term")
            return Not(self.parse_unary(field))
        return self.parse_primary(field)

    def parse_primary(self, field: str | None) -> Node:
        tok = self.take()
        if tok.kind == "LPAREN":
            nxt = self.peek()
            if nxt is not None and nxt.kind == "RPAREN":
                raise QuerySyntaxError("there is nothing between the parentheses ()")
            node = self.parse_or(field)
            nxt = self.peek()
            if nxt is None or nxt.kind != "RPAREN":
                raise QuerySyntaxError("an opening parenthesis ( is never closed")
            self.take()
            return node
        if tok.kind == "FIELD":
            if field is not None:
                raise QuerySyntaxError(
                    f"{tok.value}: cannot be used inside {field}:( … ); use one field"
                )
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("WORD", "PHRASE", "LPAREN"):
                raise QuerySyntaxError(
                    f"{tok.value}: must be followed by a word, a phrase or a group"
                )
            return self.parse_primary(tok.value)
        if tok.kind == "PHRASE":
            if not tok.value.strip():
                raise QuerySyntaxError('the phrase "" is empty: put words between the quotes')
            return Phrase(tok.value, field)
        if tok.kind == "WORD":
            return _word_node(tok.value, field)
        raise AssertionError(f"unexpected token {tok}")  # pragma: no cover


def _word_node(raw: str, field: str | None) -> Node:
    if "*" in raw:
        if raw.count("*") > 1 or not raw.endswith("*") or "~" in raw:
            raise QuerySyntaxError(
                f"in {raw!r}, * may only end a word (a prefix search, as in ter*)"
            )
        return Prefix(raw[:-1], field)
    if "~" in raw:
        match = re.fullmatch(r"([^~]+)~(\d*)", raw)
        if match is None:
            raise QuerySyntaxError(
                f"in {raw!r}, ~ may only end a word, optionally with 1 or 2 (as in tern~1)"
            )
        distance = int(match.group(2)) if match.group(2) else 1
        if not 1 <= distance <= MAX_FUZZY:
            raise QuerySyntaxError(f"in {raw!r}, the fuzzy distance must be 1 or 2 (as in tern~1)")
        return Fuzzy(match.group(1), distance, field)
    return Word(raw, field)


def parse(text: str) -> Node:
    """Parse query text into a syntax tree; raise QuerySyntaxError if it is malformed."""
    if not text.strip():
        raise QuerySyntaxError("empty query")
    tokens = _tokens(text)
    if not tokens:
        raise QuerySyntaxError("empty query")
    return _Parser(tokens).parse()


# ---------------------------------------------------------------- plan
# What each backend executes: leaves address one subfield with already-analysed terms.


@dataclass(frozen=True)
class TermQ:
    field: str
    text: str
    boost: float


@dataclass(frozen=True)
class PhraseQ:
    field: str
    words: tuple[str, ...]
    boost: float


@dataclass(frozen=True)
class PrefixQ:
    field: str
    text: str
    boost: float


@dataclass(frozen=True)
class FuzzyQ:
    field: str
    text: str
    maxdist: int
    boost: float


@dataclass(frozen=True)
class AllQ:
    children: tuple[Plan, ...]


@dataclass(frozen=True)
class AnyQ:
    children: tuple[Plan, ...]


@dataclass(frozen=True)
class NotQ:
    child: Plan


@dataclass(frozen=True)
class EveryQ:
    pass


Leaf = Union[TermQ, PhraseQ, PrefixQ, FuzzyQ]  # noqa: UP007
Plan = Union[TermQ, PhraseQ, PrefixQ, FuzzyQ, AllQ, AnyQ, NotQ, EveryQ]  # noqa: UP007

FUZZY_PREFIX = 1  # the first letter of a fuzzy word must match (as Whoosh's default)


def _fields(field: str | None) -> tuple[str, ...]:
    return SEARCHABLE_FIELDS if field is None else (field,)


def _any(children: list[Plan]) -> Plan | None:
    if not children:
        return None
    return children[0] if len(children) == 1 else AnyQ(tuple(children))


def _words(text: str, field: str | None, names: Collection[str]) -> Plan | None:
    folded = fold(text)
    if not folded:
        return None
    leaves: list[Plan] = []
    for sub in SUBFIELDS:
        if sub.field in _fields(field):
            words = [w if w in names else stem([w], sub.language)[0] for w in folded]
            if len(words) == 1:
                leaves.append(TermQ(sub.name, words[0], sub.boost))
            else:
                leaves.append(PhraseQ(sub.name, tuple(words), sub.boost))
    return _any(leaves)


def _single_word(text: str, what: str, example: str) -> str:
    folded = fold(text)
    if len(folded) != 1:
        raise QuerySyntaxError(f"a {what} search takes one word (as in {example}), not {text!r}")
    return folded[0]


def _plan(node: Node, names: Collection[str] = frozenset()) -> Plan | None:
    if isinstance(node, Word | Phrase):
        return _words(node.text, node.field, names)
    if isinstance(node, Prefix):
        text = _single_word(node.text, "prefix", "ter*")
        if len(text) < MIN_PREFIX:
            raise QuerySyntaxError(
                f"a prefix search needs at least {MIN_PREFIX} letters before the * (as in ter*)"
            )
        return _any(
            [
                PrefixQ(s.name, text, s.boost)
                for s in SUBFIELDS
                if s.language is None and s.field in _fields(node.field)
            ]
        )
    if isinstance(node, Fuzzy):
        text = _single_word(node.text, "fuzzy", "tern~1")
        return _any(
            [
                FuzzyQ(s.name, text, node.distance, s.boost)
                for s in SUBFIELDS
                if s.language is None and s.field in _fields(node.field)
            ]
        )
    if isinstance(node, Not):
        child = _plan(node.child, names)
        return None if child is None else NotQ(child)
    if isinstance(node, And):
        kids = [p for c in node.children if (p := _plan(c, names)) is not None]
        if not kids:
            return None
        if all(isinstance(k, NotQ) for k in kids):
            kids.insert(0, EveryQ())
        return kids[0] if len(kids) == 1 else AllQ(tuple(kids))
    # Or
    return _any([_anchored(p) for c in node.children if (p := _plan(c, names)) is not None])


def _anchored(plan: Plan) -> Plan:
    """A lone exclusion means "every document but": make that explicit for the backends."""
    return AllQ((EveryQ(), plan)) if isinstance(plan, NotQ) else plan


def query_words(node: Node) -> set[str]:
    """The folded words of the words and phrases of a tree (those a stemmer would see)."""
    if isinstance(node, Word | Phrase):
        return set(fold(node.text))
    if isinstance(node, Not):
        return query_words(node.child)
    if isinstance(node, And | Or):
        return {w for child in node.children for w in query_words(child)}
    return set()


NameLookup = Callable[[set[str]], Collection[str]]


def plan_query(text: str, names: NameLookup | None = None) -> Plan:
    """Parse and analyse query text into a plan; raise QuerySyntaxError.

    ``names`` receives the folded query words and returns those the index knows only as
    names (see ``analysis.name_forms``): they are looked up unstemmed in the stemmed
    subfields too, so ``moura`` does not find ``mourir``.
    """
    tree = parse(text)
    known_names: Collection[str] = frozenset()
    if names is not None:
        words = query_words(tree)
        known_names = set(names(words)) if words else frozenset()
    plan = _plan(tree, known_names)
    if plan is None:
        raise QuerySyntaxError("empty query")
    return _anchored(plan)


def positive_leaves(plan: Plan) -> list[Leaf]:
    """The leaves a match is made of (not those under NOT): what snippets highlight."""
    if isinstance(plan, AllQ | AnyQ):
        return [leaf for child in plan.children for leaf in positive_leaves(child)]
    if isinstance(plan, NotQ | EveryQ):
        return []
    return [plan]
