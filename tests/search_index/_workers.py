"""Run in child processes by the concurrency test (importable, so "spawn" can find it)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import whoosh.util

from search_index import SearchDocument, WhooshIndex


def write_batches(path: str, prefix: str, batches: int, per_batch: int, start: Any) -> int:
    whoosh.util.random = random.SystemRandom()
    start.wait()
    index = WhooshIndex(Path(path))
    for b in range(batches):
        index.apply(
            upserts=[
                SearchDocument(
                    doc_id=f"{prefix}-{b}-{i}",
                    case_id="moura",
                    kind="testimony",
                    language="fr",
                    title=f"{prefix} {b} {i}",
                    body=f"témoignage numéro {i} du lot {b} écrit par {prefix}",
                )
                for i in range(per_batch)
            ]
        )
    index.close()
    return batches * per_batch
