"""PostgresIndex: the full-text backend for deployments with several application servers.

One table per index (the archive uses ``search_public`` and ``search_restricted``),
created if absent. Every write is one SQL transaction, so any number of processes may
read and write at once; there is no lock to hold between calls.

Analysis is the package's own (``search_index.analysis``), done in Python: each row keeps
a ``tsvector`` built from the same folded and stemmed words the other backends index, every
lexeme tagged with its subfield (``b.moura`` is ``moura`` in ``body_plain``, ``bf.mour`` is
``mour`` in ``body_fr``…) and weighted by field (title A, place and tags B, body D). A
query plan (``search_index.query``) becomes one ``tsquery`` over that column (``&``, ``|``,
``!``, ``<->`` for phrases, ``:*`` for prefixes), served by a GIN index and ranked with
``ts_rank``. PostgreSQL's own ``french``/``english`` configurations are *not* used to
build the vector: they drop stop words and stem names, and ``unaccent`` folds differently
from the other backends, so the same query would find different documents. Accent folding
is therefore always available, with no extension to install.

Fuzzy words (``tern~1``) are expanded in Python against the index's vocabulary (one scan
of the words starting with the same letter, then the same edit distance as the other
backends), then searched as alternatives. Snippets are cut by ``search_index.snippets``
from the body stored in the row, exactly as the other backends do.

Limits: PostgreSQL keeps word positions up to 16,383 and 256 positions per word, so a
phrase is not found beyond about the 16,000th word of a document (its words still are), and
a ``tsvector`` is at most 1 MB. Deleted rows are removed by ``DELETE``; their bytes stay in
the table's pages until PostgreSQL vacuums them (``vacuum()`` rewrites the table now).
"""

from __future__ import annotations

import datetime
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, TextClause, bindparam, create_engine, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import Text

from search_index._common import (
    Filters,
    build_hit,
    check_limit,
    check_page,
    check_sort,
    coalesce,
    key_term_candidates,
    key_terms,
    make_filters,
    more_like_plan,
    ordered_facets,
)
from search_index.analysis import (
    SUBFIELDS,
    SUBFIELDS_BY_NAME,
    DocumentAnalysis,
    analyse_document,
    fold_key,
)
from search_index.documents import SearchDocument, SearchHit, SearchResults
from search_index.errors import IndexBusy, SearchError
from search_index.matching import edit_distance
from search_index.query import (
    FUZZY_PREFIX,
    AllQ,
    AnyQ,
    EveryQ,
    FuzzyQ,
    Leaf,
    NotQ,
    PhraseQ,
    Plan,
    PrefixQ,
    TermQ,
    plan_query,
    positive_leaves,
)

DEFAULT_LOCK_TIMEOUT = 60.0

# The tag of each subfield's lexemes: "<code>.<word>". No code is a prefix of another
# followed by the dot, so a prefix query cannot reach into another subfield.
CODES = {
    "title_plain": "t",
    "title_fr": "tf",
    "title_en": "te",
    "body_plain": "b",
    "body_fr": "bf",
    "body_en": "be",
    "place_plain": "p",
    "tags_plain": "g",
}
assert set(CODES) == set(SUBFIELDS_BY_NAME)
EVERY = "~all"  # a lexeme every row has: "every document" in a tsquery
NOTHING = f"( '{EVERY}' & !'{EVERY}' )"
# ts_rank weights, in PostgreSQL's order {D, C, B, A}: body 1, place and tags 1.5, title 2.
WEIGHT_OF_FIELD = {"title": "A", "place": "B", "tags": "B", "body": "D"}
_RANK = "ts_rank(CAST('{{0.5, 0.75, 0.75, 1.0}}' AS float4[]), tsv, CAST(:q AS tsquery))"
_SELECT_HIT = (
    "SELECT doc_id, title, body, kind, case_id, language, place, tags, event_date, "
    f"{_RANK} AS score "
)
_ORDERS = {
    "relevance": "score DESC, doc_id",
    "date": "event_date DESC NULLS LAST, score DESC, doc_id",
    "date_asc": "event_date ASC NULLS LAST, score DESC, doc_id",
}
#: A search: every match ranked once into ``m``; one row per hit of the page (one row of
#: NULLs when the page is empty), each carrying the total and the facets.
#: (Built from this module's constants only; every value is a bound parameter.)
_SEARCH = (
    "WITH m AS MATERIALIZED ("  # noqa: S608
    f"SELECT doc_id, case_id, kind, language, event_date, tags, {_RANK} AS score "
    "FROM {t} WHERE tsv @@ CAST(:q AS tsquery) AND {where}), "
    "page AS (SELECT doc_id, score, row_number() OVER (ORDER BY {order}) AS n "
    "FROM m ORDER BY {order} LIMIT :limit OFFSET :offset) "
    "SELECT (SELECT count(*) FROM m) AS total, {facets} AS facets, "
    "d.doc_id, d.title, d.body, d.kind, d.case_id, d.language, d.place, d.tags, d.event_date, "
    "page.score "
    "FROM (SELECT 1) AS one LEFT JOIN (page JOIN {t} AS d USING (doc_id)) ON TRUE "
    "ORDER BY page.n"
)
#: The facets of the matches in ``m``: [facet, value, count] triples, as JSON.
_FACETS_JSON = (
    "(SELECT json_agg(json_build_array(facet, value, n)) FROM ("
    "SELECT 'case' AS facet, case_id AS value, count(*) AS n FROM m GROUP BY case_id "
    "UNION ALL SELECT 'kind', kind, count(*) FROM m GROUP BY kind "
    "UNION ALL SELECT 'language', language, count(*) FROM m GROUP BY language "
    "UNION ALL SELECT 'year', CAST(EXTRACT(YEAR FROM event_date) AS integer)::text, "
    "count(*) FROM m WHERE event_date IS NOT NULL GROUP BY 2 "
    "UNION ALL SELECT 'tags', tag, count(*) FROM m, "
    "LATERAL (SELECT DISTINCT unnest(m.tags) AS tag) AS tg GROUP BY tag) AS f)"
)
MAX_POSITION = 16383
MAX_LEXEME_BYTES = 2046
FIELD_ORDER = ("title", "place", "tags", "body")  # positions run on in this order

_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_RETRY_STATES = {"40P01", "40001"}  # deadlock detected, serialization failure
_BUSY_STATES = {"55P03"}  # lock_not_available (lock_timeout expired)
_ATTEMPTS = 3

COLUMNS = (
    "doc_id",
    "case_id",
    "kind",
    "language",
    "title",
    "body",
    "place",
    "place_key",
    "tags",
    "tag_keys",
    "event_date",
    "collected_date",
    "name_forms",
    "word_forms",
    "tsv",
)

T = TypeVar("T")


def _quote(lexeme: str) -> str:
    """A lexeme in tsvector/tsquery input syntax."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _lexeme(subfield: str, word: str) -> str:
    return f"{CODES[subfield]}.{word}"


def build_tsvector(doc: SearchDocument, analysis: DocumentAnalysis | None = None) -> str:
    """The tsvector (input syntax) of a document: every subfield's words, tagged.
    ``analysis``: the document's ``analyse_document``, if already made."""
    if analysis is None:
        analysis = _analyse(doc)
    positions: dict[str, set[int]] = defaultdict(set)
    weights: dict[str, str] = {}
    offset = 0
    for field in FIELD_ORDER:
        longest = 0
        for sub in SUBFIELDS:
            if sub.field != field or sub.name not in analysis.subfields:
                continue
            words = analysis.subfields[sub.name]
            longest = max(longest, len(words))
            weight = WEIGHT_OF_FIELD[field]
            for index, word in enumerate(words):
                lexeme = _lexeme(sub.name, word)
                if len(lexeme.encode("utf-8")) > MAX_LEXEME_BYTES:
                    continue
                positions[lexeme].add(min(offset + index + 1, MAX_POSITION))
                weights[lexeme] = weight
        offset += longest
    parts = [
        _quote(lexeme) + ":" + ",".join(f"{p}{weights[lexeme]}" for p in sorted(pos)[:256])
        for lexeme, pos in positions.items()
    ]
    parts.append(_quote(EVERY))
    return " ".join(parts)


class _Translator:
    """A query plan as tsquery text. Fuzzy leaves are expanded with ``expand``."""

    def __init__(self, expand: Callable[[FuzzyQ], list[str]]) -> None:
        self.expand = expand

    def __call__(self, plan: Plan) -> str:
        if isinstance(plan, TermQ):
            return _quote(_lexeme(plan.field, plan.text))
        if isinstance(plan, PhraseQ):
            return "( " + " <-> ".join(_quote(_lexeme(plan.field, w)) for w in plan.words) + " )"
        if isinstance(plan, PrefixQ):
            return _quote(_lexeme(plan.field, plan.text)) + ":*"
        if isinstance(plan, FuzzyQ):
            words = self.expand(plan)
            if not words:
                return NOTHING
            return "( " + " | ".join(_quote(_lexeme(plan.field, w)) for w in words) + " )"
        if isinstance(plan, AllQ):
            return "( " + " & ".join(self(c) for c in plan.children) + " )"
        if isinstance(plan, AnyQ):
            return "( " + " | ".join(self(c) for c in plan.children) + " )"
        if isinstance(plan, NotQ):
            return f"!{self(plan.child)}"
        if isinstance(plan, EveryQ):
            return _quote(EVERY)
        raise TypeError(f"not a query plan: {plan!r}")  # pragma: no cover


def to_tsquery(plan: Plan, expand: Callable[[FuzzyQ], list[str]] | None = None) -> str:
    """Translate a plan into tsquery input text (fuzzy leaves need ``expand``)."""

    def no_expansion(leaf: FuzzyQ) -> list[str]:
        raise ValueError("a fuzzy query needs the index's vocabulary to expand it")

    return _Translator(expand or no_expansion)(plan)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PostgresIndex:
    """A search index in one PostgreSQL table, created (with its indexes) if absent.

    ``engine_or_url``: an SQLAlchemy engine (left open by ``close``) or a database URL
    (``postgresql+psycopg://…``; the engine made from it is disposed by ``close``).
    ``lock_timeout``: how long a write waits for row or table locks held by another
    writer before ``IndexBusy`` is raised.
    """

    def __init__(
        self,
        engine_or_url: Engine | str,
        *,
        table: str,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        if not _TABLE_NAME.fullmatch(table):
            raise ValueError(
                f"table must be a plain SQL name of at most 40 letters, digits and _, not {table!r}"
            )
        if isinstance(engine_or_url, str):
            self.engine = create_engine(engine_or_url, pool_pre_ping=True)
            self._owns_engine = True
        else:
            self.engine = engine_or_url
            self._owns_engine = False
        if self.engine.dialect.name != "postgresql":
            raise SearchError(f"PostgresIndex needs PostgreSQL, not {self.engine.dialect.name}")
        self.table = table
        self.lock_timeout = lock_timeout
        self._sql_table = f'"{table}"'
        self._closed = False
        self._thread_lock = threading.Lock()
        self._create()

    # ------------------------------------------------------------ set-up

    def _create(self) -> None:
        t, name = self._sql_table, self.table
        statements = [
            f"""CREATE TABLE IF NOT EXISTS {t} (
                doc_id text PRIMARY KEY,
                case_id text NOT NULL,
                kind text NOT NULL,
                language text NOT NULL,
                title text NOT NULL,
                body text NOT NULL,
                place text,
                place_key text,
                tags text[] NOT NULL,
                tag_keys text[] NOT NULL,
                event_date date,
                collected_date date,
                name_forms text[] NOT NULL,
                word_forms text[] NOT NULL,
                tsv tsvector NOT NULL
            )""",
            f'CREATE INDEX IF NOT EXISTS "{name}_tsv" ON {t} USING gin (tsv)',
            f'CREATE INDEX IF NOT EXISTS "{name}_tag_keys" ON {t} USING gin (tag_keys)',
            f'CREATE INDEX IF NOT EXISTS "{name}_name_forms" ON {t} USING gin (name_forms)',
            f'CREATE INDEX IF NOT EXISTS "{name}_word_forms" ON {t} USING gin (word_forms)',
            f'CREATE INDEX IF NOT EXISTS "{name}_case_id" ON {t} (case_id)',
            f'CREATE INDEX IF NOT EXISTS "{name}_event_date" ON {t} (event_date)',
            f'CREATE INDEX IF NOT EXISTS "{name}_collected_date" ON {t} (collected_date)',
        ]
        with self.engine.begin() as conn:
            # Two processes creating the same table at once would collide in the catalog.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": name})
            conn.execute(text(statements[0]))
            found = set(
                conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND table_name = :n"
                    ),
                    {"n": name},
                ).scalars()
            )
            if found != set(COLUMNS):
                raise SearchError(
                    f"the table {name} was built for another version of the search index: "
                    "drop it and rebuild it (temoin reindex)"
                )
            # Only the missing indexes: CREATE INDEX waits for running writes even when the
            # index exists, and every process opening the index comes through here.
            existing = set(
                conn.execute(
                    text(
                        "SELECT indexname FROM pg_indexes "
                        "WHERE schemaname = current_schema() AND tablename = :n"
                    ),
                    {"n": name},
                ).scalars()
            )
            for statement in statements[1:]:
                if statement.split('"')[1] not in existing:
                    conn.execute(text(statement))

    # ------------------------------------------------------------ plumbing

    def _sql(self, template: str, **parts: str) -> TextClause:
        """A statement with ``{t}`` (the table) and ``parts`` filled in. Only identifiers
        and fragments written in this module go into SQL text (the table name was checked
        against _TABLE_NAME); every value is a bound parameter."""
        return text(template.format(t=self._sql_table, **parts))

    def _check_open(self) -> None:
        if self._closed:
            raise SearchError("this index is closed")

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """One consistent snapshot for the count, the page and the facets."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.execute(text("SET TRANSACTION READ ONLY"))
                yield conn

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction; retry deadlocks, turn lock waits into IndexBusy."""
        for attempt in range(_ATTEMPTS):
            try:
                with self._thread_lock, self.engine.begin() as conn:
                    conn.execute(
                        text("SELECT set_config('lock_timeout', :v, true)"),
                        {"v": f"{max(int(self.lock_timeout * 1000), 1)}ms"},
                    )
                    return work(conn)
            except DBAPIError as exc:
                state = getattr(exc.orig, "sqlstate", None)
                if state in _BUSY_STATES:
                    raise IndexBusy(
                        f"the search table {self.table} stayed locked by another writer "
                        f"for {self.lock_timeout:g} seconds"
                    ) from exc
                if state not in _RETRY_STATES or attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------ the interface

    def apply(self, *, upserts: Sequence[SearchDocument] = (), deletes: Sequence[str] = ()) -> None:
        self._check_open()
        docs, gone = coalesce(upserts, deletes)
        if not docs and not gone:
            return
        # Rows in doc_id order, so two writers lock shared rows in the same order.
        rows = [_row(doc) for doc in sorted(docs, key=lambda d: d.doc_id)]
        names = ", ".join(COLUMNS)
        values = ", ".join("CAST(:tsv AS tsvector)" if c == "tsv" else f":{c}" for c in COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "doc_id")
        insert = self._sql(
            "INSERT INTO {t} ({names}) VALUES ({values}) "
            "ON CONFLICT (doc_id) DO UPDATE SET {updates}",
            names=names,
            values=values,
            updates=updates,
        ).bindparams(
            *(
                bindparam(c, type_=ARRAY(Text))
                for c in ("tags", "tag_keys", "name_forms", "word_forms")
            )
        )
        delete = self._sql("DELETE FROM {t} WHERE doc_id = ANY(:ids)").bindparams(
            bindparam("ids", type_=ARRAY(Text))
        )

        def work(conn: Connection) -> None:
            if gone:
                conn.execute(delete, {"ids": sorted(gone)})
            if rows:
                conn.execute(insert, rows)

        self._write(work)

    def search(
        self,
        query: str,
        *,
        page: int = 1,
        page_size: int = 20,
        case_id: str | None = None,
        kind: str | None = None,
        language: str | None = None,
        event_from: datetime.date | None = None,
        event_to: datetime.date | None = None,
        collected_from: datetime.date | None = None,
        collected_to: datetime.date | None = None,
        place: str | None = None,
        tags: Sequence[str] | None = None,
        sort: str = "relevance",
        facets: bool = True,
    ) -> SearchResults:
        self._check_open()
        check_page(page, page_size)
        check_sort(sort)
        filters = make_filters(
            case_id=case_id,
            kind=kind,
            language=language,
            event_from=event_from,
            event_to=event_to,
            collected_from=collected_from,
            collected_to=collected_to,
            place=place,
            tags=tags,
        )
        with self._reading() as conn:
            plan = plan_query(query, lambda words: self._names_only(conn, words))
            tsquery = to_tsquery(plan, lambda leaf: self._expand(conn, leaf))
            where, params = _where(filters)
            params.update(q=tsquery, limit=page_size, offset=(page - 1) * page_size)
            # One statement, one pass over the matches: they are ranked once into `m`
            # (their small columns only), and the total, the facets and the page all come
            # from there; only the page's documents are read whole.
            rows = conn.execute(
                self._sql(
                    _SEARCH,
                    where=where,
                    order=_ORDERS[sort],
                    facets=_FACETS_JSON if facets else "NULL",
                ),
                params,
            ).mappings()
            leaves = positive_leaves(plan)
            hits, total, counts = [], 0, {}
            for row in rows:
                total = row["total"]
                if row["facets"]:
                    counts = _facet_counts(row["facets"])
                if row["doc_id"] is not None:
                    hits.append(_hit(row, leaves))
        return SearchResults(
            query=query,
            total=int(total),
            page=page,
            page_size=page_size,
            hits=hits,
            facets=ordered_facets(counts) if facets else {},
        )

    def more_like(
        self, doc_id: str, *, limit: int = 10, case_id: str | None = None
    ) -> list[SearchHit]:
        self._check_open()
        check_limit(limit)
        with self._reading() as conn:
            source = (
                conn.execute(
                    self._sql("SELECT title, body FROM {t} WHERE doc_id = :id"),
                    {"id": doc_id},
                )
                .mappings()
                .first()
            )
            if source is None:
                return []
            candidates = key_term_candidates(source["title"], source["body"])
            if not candidates:
                return []
            words = list(candidates)
            queries = [
                f"{_quote(_lexeme('body_plain', w))} | {_quote(_lexeme('title_plain', w))}"
                for w in words
            ]
            counts = conn.execute(
                self._sql(
                    "SELECT q.i, (SELECT count(*) FROM {t} WHERE tsv @@ CAST(q.query AS tsquery)) "
                    "FROM unnest(:qs) WITH ORDINALITY AS q(query, i)"
                ).bindparams(bindparam("qs", type_=ARRAY(Text))),
                {"qs": queries},
            ).all()
            doc_freq = {words[int(i) - 1]: int(n) for i, n in counts}
            doc_count = conn.execute(self._sql("SELECT count(*) FROM {t}")).scalar_one()
            terms = key_terms(candidates, doc_freq, int(doc_count))
            if not terms:
                return []
            where, params = _where(make_filters(case_id=case_id))
            params.update({"q": to_tsquery(more_like_plan(terms)), "id": doc_id, "limit": limit})
            rows = conn.execute(
                self._sql(
                    _SELECT_HIT
                    + "FROM {t} WHERE tsv @@ CAST(:q AS tsquery) AND doc_id <> :id AND "
                    + where
                    + " ORDER BY score DESC, doc_id LIMIT :limit"
                ),
                params,
            ).mappings()
            return [_hit(row, []) for row in rows]

    def doc_count(self) -> int:
        self._check_open()
        with self.engine.connect() as conn:
            return int(conn.execute(self._sql("SELECT count(*) FROM {t}")).scalar_one())

    def clear(self) -> None:
        """Remove every document (TRUNCATE: the table gets new, empty files)."""
        self._check_open()

        def work(conn: Connection) -> None:
            conn.execute(self._sql("TRUNCATE {t}"))

        self._write(work)

    def vacuum(self) -> None:
        """Rewrite the table (VACUUM FULL) so deleted and replaced text leaves the disk now
        instead of at PostgreSQL's next vacuum. Locks the table while it runs."""
        self._check_open()
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(self._sql("VACUUM FULL {t}"))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._owns_engine:
                self.engine.dispose()

    # ------------------------------------------------------------ helpers

    def _names_only(self, conn: Connection, words: set[str]) -> set[str]:
        found = conn.execute(
            self._sql(
                "SELECT w FROM unnest(:words) AS w "
                "WHERE EXISTS (SELECT 1 FROM {t} WHERE name_forms @> ARRAY[w]) "
                "AND NOT EXISTS (SELECT 1 FROM {t} WHERE word_forms @> ARRAY[w])"
            ).bindparams(bindparam("words", type_=ARRAY(Text))),
            {"words": sorted(words)},
        ).scalars()
        return set(found)

    def _expand(self, conn: Connection, leaf: FuzzyQ) -> list[str]:
        """The words of the leaf's subfield within its edit distance (first letter fixed)."""
        code = f"{CODES[leaf.field]}."
        lexemes = conn.execute(
            self._sql(
                "SELECT DISTINCT u.lexeme FROM {t} AS t, unnest(t.tsv) AS u "
                "WHERE u.lexeme LIKE :pattern ESCAPE '\\' "
                "AND char_length(u.lexeme) BETWEEN :shortest AND :longest"
            ),
            {
                "pattern": _like_escape(code + leaf.text[:FUZZY_PREFIX]) + "%",
                "shortest": len(code) + len(leaf.text) - leaf.maxdist,
                "longest": len(code) + len(leaf.text) + leaf.maxdist,
            },
        ).scalars()
        words = (lexeme[len(code) :] for lexeme in lexemes)
        return sorted(w for w in words if edit_distance(w, leaf.text, leaf.maxdist) <= leaf.maxdist)


def _facet_counts(triples: list[list[Any]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for facet, value, count in triples:
        counts[facet][value] = int(count)
    return dict(counts)


def _analyse(doc: SearchDocument) -> DocumentAnalysis:
    return analyse_document(
        title=doc.title, body=doc.body, place=doc.place, tags=doc.tags, language=doc.language
    )


def _row(doc: SearchDocument) -> dict[str, Any]:
    analysis = _analyse(doc)
    return {
        "doc_id": doc.doc_id,
        "case_id": doc.case_id,
        "kind": doc.kind,
        "language": doc.language,
        "title": doc.title,
        "body": doc.body,
        "place": doc.place,
        "place_key": None if doc.place is None else fold_key(doc.place),
        "tags": list(doc.tags),
        "tag_keys": sorted({fold_key(tag) for tag in doc.tags}),
        "event_date": doc.event_date,
        "collected_date": doc.collected_date,
        "name_forms": sorted(analysis.names),
        "word_forms": sorted(analysis.words),
        "tsv": build_tsvector(doc, analysis),
    }


def _where(filters: Filters) -> tuple[str, dict[str, Any]]:
    """The filters as an SQL condition and its parameters."""
    clauses = ["TRUE"]
    params: dict[str, Any] = {}
    for column, value in (
        ("case_id", filters.case_id),
        ("kind", filters.kind),
        ("language", filters.language),
        ("place_key", filters.place),
    ):
        if value is not None:
            clauses.append(f"{column} = :f_{column}")
            params[f"f_{column}"] = value
    if filters.tags:
        # A literal array: binding a Python list here would need a typed bindparam.
        clauses.append("tag_keys @> CAST(:f_tags AS text[])")
        params["f_tags"] = "{" + ",".join(_array_item(tag) for tag in filters.tags) + "}"
    for column, start, end in (
        ("event_date", filters.event_from, filters.event_to),
        ("collected_date", filters.collected_from, filters.collected_to),
    ):
        if start is not None:
            clauses.append(f"{column} >= :f_{column}_from")
            params[f"f_{column}_from"] = start
        if end is not None:
            clauses.append(f"{column} <= :f_{column}_to")
            params[f"f_{column}_to"] = end
    return " AND ".join(clauses), params


def _array_item(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _hit(row: Any, leaves: Sequence[Leaf]) -> SearchHit:
    return build_hit(
        doc_id=row["doc_id"],
        score=float(row["score"]),
        title=row["title"],
        body=row["body"],
        kind=row["kind"],
        case_id=row["case_id"],
        language=row["language"],
        place=row["place"],
        tags=tuple(row["tags"] or ()),
        event_date=row["event_date"],
        leaves=leaves,
    )
