"""The dependency rules of DESIGN.md, enforced by walking every import."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


def violations(
    package: str, allowed: set[str], forbidden_prefixes: tuple[str, ...] = ()
) -> list[str]:
    problems = []
    for path in modules(package):
        for name in imports_of(path):
            forbidden = any(name == p or name.startswith(p + ".") for p in forbidden_prefixes)
            if forbidden or (top(name) not in STDLIB and top(name) not in allowed):
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    return problems


def test_evidence_is_pure() -> None:
    assert violations("evidence", {"evidence", "cryptography"}) == []


def test_search_index_never_imports_the_archive() -> None:
    assert violations("search_index", {"search_index", "whoosh", "sqlalchemy"}) == []


def test_services_know_nothing_of_the_web() -> None:
    allowed = {
        "archive",
        "evidence",
        "search_index",
        "sqlalchemy",
        "cryptography",
        "alembic",
        "pyotp",
    }
    forbidden = (
        "archive.web",
        "archive.schemas",
        "archive.cli",
        "flask",
        "marshmallow",
        "flask_smorest",
    )
    assert violations("archive/services", allowed, forbidden) == []


def test_models_are_the_bottom_layer() -> None:
    forbidden = ("archive.web", "archive.schemas", "archive.services", "archive.cli")
    assert violations("archive/models", {"archive", "sqlalchemy"}, forbidden) == []


def test_only_the_web_uses_schemas() -> None:
    users = [
        str(path.relative_to(ROOT))
        for path in modules("archive")
        if any(n == "archive.schemas" or n.startswith("archive.schemas.") for n in imports_of(path))
    ]
    assert users and all(u.startswith("archive/web/") for u in users), users


def test_seeds_load_through_services() -> None:
    forbidden = ("archive.models", "archive.db", "archive.web", "sqlalchemy")
    assert violations("seeds", {"archive", "seeds"}, forbidden) == []
