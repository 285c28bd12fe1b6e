"""evidence/ stays pure: standard library and cryptography only, and a README says so."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "evidence"
ALLOWED_THIRD_PARTY = {"cryptography"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_stdlib_and_cryptography() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) >= 9
    for path in files:
        outside = imported_roots(path) - {"evidence", "__future__"}
        foreign = {m for m in outside if m not in sys.stdlib_module_names}
        assert foreign <= ALLOWED_THIRD_PARTY, f"{path.name} imports {sorted(foreign)}"


def test_readme_states_the_rule() -> None:
    text = (PACKAGE / "README.md").read_text()
    assert "pure" in text
    assert "standard library" in text
    assert "cryptography" in text
