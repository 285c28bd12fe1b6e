"""search_index imports only the standard library and Whoosh (SQLAlchemy is reserved for a
PostgreSQL backend module), and never the archive."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "search_index"
ALLOWED = {"whoosh", "search_index"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_standard_library_and_whoosh() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert modules
    for module in modules:
        allowed = ALLOWED | {"sqlalchemy"} if module.name.startswith("postgres") else ALLOWED
        foreign = imported_roots(module) - allowed - set(sys.stdlib_module_names)
        assert not foreign, f"{module.name} imports {sorted(foreign)}"
