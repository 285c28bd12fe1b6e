from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import whoosh.util

from search_index import MemoryIndex, SearchIndex, WhooshIndex
from tests.conftest import skip_or_fail

BACKENDS = ["memory", "whoosh", "postgres"]


@pytest.fixture(autouse=True)
def _whoosh_system_random(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis reseeds ``random``; Whoosh names segments with it, so two segments could
    get the same name. SystemRandom cannot be reseeded."""
    monkeypatch.setattr(whoosh.util, "random", random.SystemRandom())


def postgres_url() -> str:
    """The PostgreSQL server of the tests, or a skip (a failure in CI) if there is none."""
    url = os.environ.get("TEMOIN_TEST_POSTGRES_URL") or os.environ.get("TEMOIN_TEST_DATABASE_URL")
    if not url:
        skip_or_fail(
            "PostgreSQL backend: set TEMOIN_TEST_POSTGRES_URL "
            "(or TEMOIN_TEST_DATABASE_URL) to run it"
        )
    assert url is not None
    return url


@pytest.fixture
def pg_table() -> Iterator[tuple[str, str]]:
    """A fresh table name on the test server (dropped afterwards) and the server's URL."""
    from sqlalchemy import create_engine, text

    url = postgres_url()
    table = f"search_test_{uuid.uuid4().hex[:12]}"
    yield url, table
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def index(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    built: SearchIndex
    if backend == "whoosh":
        built = WhooshIndex(tmp_path / "index")
    elif backend == "memory":
        built = MemoryIndex()
    else:
        from search_index import PostgresIndex

        url, table = request.getfixturevalue("pg_table")
        built = PostgresIndex(url, table=table)
    yield built
    built.close()
