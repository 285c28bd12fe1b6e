from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import whoosh.util

from search_index import MemoryIndex, SearchIndex, WhooshIndex


@pytest.fixture(autouse=True)
def _whoosh_system_random(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis reseeds ``random``; Whoosh names segments with it, so two segments could
    get the same name. SystemRandom cannot be reseeded."""
    monkeypatch.setattr(whoosh.util, "random", random.SystemRandom())


@pytest.fixture(params=["whoosh", "memory"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    built: SearchIndex = (
        WhooshIndex(tmp_path / "index") if request.param == "whoosh" else MemoryIndex()
    )
    yield built
    built.close()
