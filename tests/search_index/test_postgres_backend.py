"""What only the PostgreSQL backend can get wrong: its table, rows, SQL and concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from search_index import IndexBusy, SearchDocument, SearchError
from search_index.postgres_backend import PostgresIndex, build_tsvector, to_tsquery
from search_index.query import plan_query


def doc(doc_id: str, body: str, **extra: str) -> SearchDocument:
    return SearchDocument(
        doc_id=doc_id,
        case_id="moura",
        kind="testimony",
        language=extra.get("language", "fr"),
        title=extra.get("title", f"Document {doc_id}"),
        body=body,
    )


@pytest.fixture
def engine(pg_table: tuple[str, str]) -> Iterator[Engine]:
    built = create_engine(pg_table[0])
    yield built
    built.dispose()


@pytest.fixture
def table(pg_table: tuple[str, str]) -> str:
    return pg_table[1]


@pytest.fixture
def index(engine: Engine, table: str) -> Iterator[PostgresIndex]:
    built = PostgresIndex(engine, table=table)
    yield built
    built.close()


def rows(engine: Engine, table: str, where: str = "TRUE") -> list[dict[str, object]]:
    with engine.connect() as conn:
        result = conn.execute(
            text(f'SELECT doc_id, body, tsv::text AS tsv FROM "{table}" WHERE {where}')
        )
        return [dict(row) for row in result.mappings()]


# ------------------------------------------------------------------ the table


def test_the_table_is_created_with_its_indexes(engine: Engine, index: PostgresIndex) -> None:
    with engine.connect() as conn:
        indexes = set(
            conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE tablename = :t"), {"t": index.table}
            ).scalars()
        )
    assert any("USING gin (tsv)" in i for i in indexes)
    assert any("USING gin (tag_keys)" in i for i in indexes)


def test_a_deleted_document_leaves_no_row(engine: Engine, index: PostgresIndex, table: str) -> None:
    index.apply(upserts=[doc("keep", "soldats"), doc("gone", "le nom zqxkonatezq ici")])
    assert len(rows(engine, table, "body LIKE '%zqxkonatezq%'")) == 1
    index.apply(deletes=["gone"])
    assert rows(engine, table, "doc_id = 'gone'") == []
    assert rows(engine, table, "body LIKE '%zqxkonatezq%' OR tsv::text LIKE '%zqxkonatezq%'") == []
    assert index.doc_count() == 1


def test_replaced_text_leaves_the_row_and_its_vector(
    engine: Engine, index: PostgresIndex, table: str
) -> None:
    index.apply(upserts=[doc("a", "temoin zqxdiallozq a vu les soldats")])
    index.apply(upserts=[doc("a", "temoin [Witness A] a vu les soldats")])
    (row,) = rows(engine, table)
    assert "zqxdiallozq" not in str(row["body"]) + str(row["tsv"])
    index.vacuum()  # rewrites the table: the old tuple's bytes leave the disk now
    assert index.search("zqxdiallozq").total == 0


def test_clear_truncates(engine: Engine, index: PostgresIndex, table: str) -> None:
    index.apply(upserts=[doc("a", "moura"), doc("b", "moura")])
    index.clear()
    assert rows(engine, table) == []


def test_two_indexes_are_two_tables(engine: Engine, table: str) -> None:
    public = PostgresIndex(engine, table=table)
    restricted = PostgresIndex(engine, table=f"{table}_r")
    try:
        restricted.apply(upserts=[doc("a", "le témoin Konaté a vu les soldats")])
        public.apply(upserts=[doc("a", "le témoin [Witness A] a vu les soldats")])
        assert public.search("konate").total == 0
        assert restricted.search("konate").total == 1
        assert public.more_like("a") == []
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP TABLE "{table}_r"'))


def test_reopening_sees_the_same_rows(engine: Engine, table: str) -> None:
    first = PostgresIndex(engine, table=table)
    first.apply(upserts=[doc("a", "moura")])
    second = PostgresIndex(engine, table=table)
    assert second.search("moura").total == 1


def test_a_url_makes_an_engine_that_close_disposes(pg_table: tuple[str, str]) -> None:
    url, table = pg_table
    index = PostgresIndex(url, table=table)
    index.apply(upserts=[doc("a", "moura")])
    index.close()
    with pytest.raises(SearchError, match="closed"):
        index.doc_count()


@pytest.mark.parametrize("name", ["", "a-b", 'x"; DROP TABLE y; --', "1abc", "a" * 41, "s.t"])
def test_table_names_must_be_plain(engine: Engine, name: str) -> None:
    with pytest.raises(ValueError, match="plain SQL name"):
        PostgresIndex(engine, table=name)


def test_an_engine_that_is_not_postgresql_is_refused(tmp_path: object) -> None:
    sqlite = create_engine("sqlite://")
    with pytest.raises(SearchError, match="needs PostgreSQL"):
        PostgresIndex(sqlite, table="search_public")
    sqlite.dispose()


def test_a_table_of_another_shape_is_refused(engine: Engine, table: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f'CREATE TABLE "{table}" (doc_id text PRIMARY KEY, body text)'))
    with pytest.raises(SearchError, match="another version"):
        PostgresIndex(engine, table=table)


# ------------------------------------------------------------------ several writers


def test_many_writers_at_once(pg_table: tuple[str, str]) -> None:
    """Each thread has its own engine, as separate processes would: the table is created
    once (concurrent CREATE TABLE IF NOT EXISTS collide without the advisory lock) and no
    batch is lost, even when batches overlap."""
    url, table = pg_table
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def write(prefix: str) -> None:
        try:
            start.wait()
            index = PostgresIndex(url, table=table)
            for batch in range(5):
                index.apply(
                    upserts=[doc(f"shared-{i}", f"version {prefix}") for i in range(5)]
                    + [doc(f"{prefix}-{batch}-{i}", "témoignage") for i in range(10)]
                )
            index.close()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    index = PostgresIndex(url, table=table)
    assert index.doc_count() == 4 * 5 * 10 + 5
    assert index.search("temoignage", page_size=1).total == 200
    index.close()


def test_a_writer_that_waits_too_long_gets_index_busy(engine: Engine, table: str) -> None:
    index = PostgresIndex(engine, table=table, lock_timeout=0.2)
    index.apply(upserts=[doc("a", "moura")])
    with engine.connect() as holder, holder.begin():
        holder.execute(text(f"SELECT 1 FROM \"{table}\" WHERE doc_id = 'a' FOR UPDATE"))
        with pytest.raises(IndexBusy, match="stayed locked"):
            index.apply(upserts=[doc("a", "autre")])
    index.apply(upserts=[doc("a", "autre")])
    assert index.search("autre").total == 1


# ------------------------------------------------------------------ text search


def test_words_past_the_position_limit_are_still_found(index: PostgresIndex) -> None:
    index.apply(upserts=[doc("long", "remplissage " * 17000 + "zqxmoura fin")])
    assert index.search("zqxmoura").total == 1


def test_query_plans_become_tsqueries() -> None:
    # Without the index's word list (names), every word is stemmed for stemmed subfields.
    assert to_tsquery(plan_query("body:moura")) == "( 'b.moura' | 'bf.mour' | 'be.moura' )"
    assert to_tsquery(plan_query('title:"forces armées"')).startswith(
        "( ( 't.forces' <-> 't.armees' ) | ( 'tf.forc' <-> 'tf.arme' )"
    )
    assert to_tsquery(plan_query("tags:ter*")) == "'g.ter':*"
    assert to_tsquery(plan_query("NOT place:mopti")) == "( '~all' & !'p.mopti' )"
    with pytest.raises(ValueError, match="vocabulary"):
        to_tsquery(plan_query("moura~1"))


def test_tsvectors_tag_and_weight_each_field() -> None:
    vector = build_tsvector(
        SearchDocument(
            doc_id="a",
            case_id="c",
            kind="testimony",
            language="fr",
            title="Civils tués à Moura",
            body="l'armée",
            place="Mopti",
            tags=("marché",),
        )
    )
    for lexeme in ("'t.tues':2A", "'tf.tu':2A", "'tf.moura':4A", "'p.mopti':5B", "'g.marche':6B"):
        assert lexeme in vector
    assert "'b.l':7D 'b.armee':8D" in vector
    assert "'~all'" in vector


def test_fuzzy_words_are_expanded_from_the_vocabulary(index: PostgresIndex) -> None:
    index.apply(upserts=[doc("a", "un_mot l'armée Moura"), doc("b", "mourir")])
    assert {h.doc_id for h in index.search("muora~2").hits} == {"a"}
    assert {h.doc_id for h in index.search("un_mor~1").hits} == {"a"}
    assert index.search("zzz~1").total == 0
