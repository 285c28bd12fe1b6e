"""Snippets: safe HTML cut from a stored body, matches wrapped in ``<mark>``.

The text is HTML-escaped piece by piece and only ``<mark>``/``</mark>`` are added, so a
body containing ``<script>`` comes back as ``&lt;script&gt;``. Fragments are joined with
``…``; a body without any match gives its opening words.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from search_index.analysis import Analysed, name_flags, stem_language, tokenize, words_of
from search_index.matching import leaf_spans
from search_index.query import Leaf

MAX_FRAGMENTS = 3
CONTEXT_CHARS = 60  # around each match
MAX_FRAGMENT_CHARS = 240  # matches closer than CONTEXT_CHARS join a fragment up to this
FALLBACK_CHARS = 200  # opening shown when nothing in the body matched
ELLIPSIS = "…"

_SPACES = re.compile(r"\s+")


@dataclass
class _Fragment:
    start: int
    end: int
    marks: list[tuple[int, int]] = field(default_factory=list)


def make_snippet(body: str, language: str, leaves: Sequence[Leaf]) -> str:
    tokens = tokenize(body)
    lang = stem_language(language)
    words = {"body_plain": [t.text for t in tokens]}
    if lang is not None and any(leaf.field == f"body_{lang}" for leaf in leaves):
        words[f"body_{lang}"] = words_of(Analysed(tokens, name_flags(body, tokens)), lang)
    marked: set[int] = set()
    for leaf in leaves:
        if leaf.field in words:
            for first, count in leaf_spans(leaf, words[leaf.field]):
                marked.update(range(first, first + count))
    if not marked:
        return _opening(body)

    fragments: list[_Fragment] = []
    for index in sorted(marked):
        tok = tokens[index]
        last = fragments[-1] if fragments else None
        if (
            last is not None
            and tok.start - last.end <= CONTEXT_CHARS
            and tok.end - last.start <= MAX_FRAGMENT_CHARS
        ):
            last.end = tok.end
            last.marks.append((tok.start, tok.end))
        else:
            fragments.append(_Fragment(tok.start, tok.end, [(tok.start, tok.end)]))
    best = sorted(fragments, key=lambda f: (-len(f.marks), f.start))[:MAX_FRAGMENTS]
    chosen = sorted(best, key=lambda f: f.start)

    windows: list[_Fragment] = []
    for frag in chosen:
        start = _snap_left(body, frag.start - CONTEXT_CHARS, frag.start)
        end = _snap_right(body, frag.end + CONTEXT_CHARS, frag.end)
        if windows and start <= windows[-1].end:
            windows[-1].end = max(windows[-1].end, end)
            windows[-1].marks.extend(frag.marks)
        else:
            windows.append(_Fragment(start, end, list(frag.marks)))

    parts = [_render(body, w) for w in windows]
    snippet = f" {ELLIPSIS} ".join(parts)
    if windows[0].start > 0:
        snippet = f"{ELLIPSIS} {snippet}"
    if windows[-1].end < len(body):
        snippet = f"{snippet} {ELLIPSIS}"
    return snippet


def _snap_left(body: str, position: int, limit: int) -> int:
    """Start at a word boundary at or after ``position`` (never after ``limit``)."""
    if position <= 0:
        return 0
    space = _SPACES.search(body, position, limit)
    return space.end() if space else limit


def _snap_right(body: str, position: int, limit: int) -> int:
    """End at a word boundary at or before ``position`` (never before ``limit``)."""
    if position >= len(body):
        return len(body)
    cut = max((m.start() for m in _SPACES.finditer(body, limit, position + 1)), default=None)
    return cut if cut is not None else limit


def _text(piece: str) -> str:
    return html.escape(_SPACES.sub(" ", piece))


def _render(body: str, window: _Fragment) -> str:
    out: list[str] = []
    position = window.start
    for start, end in sorted(set(window.marks)):
        out.append(_text(body[position:start]))
        out.append(f"<mark>{_text(body[start:end])}</mark>")
        position = end
    out.append(_text(body[position : window.end]))
    return "".join(out).strip()


def _opening(body: str) -> str:
    if len(body) <= FALLBACK_CHARS:
        return _text(body).strip()
    end = _snap_right(body, FALLBACK_CHARS, 0)
    if end == 0:
        end = FALLBACK_CHARS
    return f"{_text(body[:end]).strip()} {ELLIPSIS}"
