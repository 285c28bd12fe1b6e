"""Shared fixtures: a real database (SQLite file, or PostgreSQL when
TEMOIN_TEST_DATABASE_URL is set), a real data directory, the app and its client."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import whoosh.util
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from archive.config import Settings
from archive.services.runtime import Archive, InitReport, init_archive
from archive.web import create_app

PG_URL = os.environ.get("TEMOIN_TEST_DATABASE_URL")
SEARCH_BACKEND = os.environ.get("TEMOIN_TEST_SEARCH_BACKEND", "whoosh")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip locally with a clear reason; in CI a missing dependency is a failure."""
    if IN_CI:
        pytest.fail(f"CI must not skip: {reason}")
    pytest.skip(reason)


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _whoosh_system_random(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis reseeds ``random``; Whoosh names segments with it.

    SystemRandom can't be reseeded, so segment names stay unique."""
    monkeypatch.setattr(whoosh.util, "random", random.SystemRandom())


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    if PG_URL:
        reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'data' / 'temoin.db'}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.from_env(
        environ={},
        data_dir=tmp_path / "data",
        database_url=database_url,
        testing=True,
        log_origin="test.temoin/log",
        search_backend=SEARCH_BACKEND,
        index_mode="sync",
    )


@pytest.fixture
def initialized(settings: Settings) -> InitReport:
    return init_archive(settings)


@pytest.fixture
def arc(settings: Settings, initialized: InitReport) -> Iterator[Archive]:
    archive = Archive(settings)
    yield archive
    archive.close()


@pytest.fixture
def app(settings: Settings, initialized: InitReport) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    application.extensions["temoin"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_token(initialized: InitReport) -> str:
    assert initialized.admin_token
    return initialized.admin_token


@pytest.fixture
def auth(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
def seeded(arc: Archive) -> Archive:
    from seeds.loader import load_seed

    load_seed(arc)
    return arc
