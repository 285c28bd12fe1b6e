"""Indexes as other versions of Témoin left them (for the upgrade tests)."""

from __future__ import annotations

from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import KEYWORD

from search_index.whoosh_backend import INDEX_NAME, build_schema


def built_by_an_earlier_version(path: Path) -> None:
    """Leave in ``path`` an empty Whoosh index as the previous version built it: its
    schema had ``word_forms`` where this one has ``unworded_forms``."""
    for old in path.iterdir():
        old.unlink()
    schema = build_schema()
    schema.remove("unworded_forms")
    schema.add("word_forms", KEYWORD())
    whoosh_index.create_in(str(path), schema, indexname=INDEX_NAME)
