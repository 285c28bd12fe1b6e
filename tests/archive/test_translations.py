"""The French catalog covers every string of the web pages, and what is installed matches it.

The compiled ``messages.mo`` is committed (an install needs no build step), so these tests
fail when a new string is not in the catalog, is untranslated or fuzzy, when a translation
loses a placeholder, when the ``.mo`` is older than its ``.po``, or when the package data
would leave the catalogs out of a wheel. ``make translations`` fixes the first and third.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "archive" / "web"
TRANSLATIONS = WEB / "translations"
LANGUAGES = ("fr",)
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")


def extracted() -> set[str]:
    """Every message id the pages use, extracted as `make translations` does."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    method_map = [(m["pattern"], m["method"]) for m in config["tool"]["babel"]["mappings"]]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(WEB), method_map=method_map, keywords=keywords
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def catalog(language: str) -> Catalog:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=language)


def key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def forms(string: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (string,) if isinstance(string, str) else tuple(string)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(language: str) -> None:
    wanted = extracted()
    assert len(wanted) > 150  # the extraction found the templates, not nothing
    entries = {key(m.id): m for m in catalog(language) if m.id}
    assert sorted(wanted - entries.keys()) == [], "strings missing: run `make translations`"
    assert sorted(entries.keys() - wanted) == [], "stale strings: run `make translations`"
    untranslated = [
        k
        for k, m in entries.items()
        if m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    assert untranslated == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_their_placeholders(language: str) -> None:
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = {p for i in ids for p in PLACEHOLDER.findall(i)}
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) <= wanted, (message.id, string)
            # ngettext forms may leave out %(num)s ("1 passage"); nothing else may go.
            assert wanted - {"%(num)s"} <= set(PLACEHOLDER.findall(string)), (message.id, string)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_is_the_compiled_po(language: str) -> None:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = {key(m.id): forms(m.string) for m in read_mo(f) if m.id}
    source = {key(m.id): forms(m.string) for m in catalog(language) if m.id}
    assert compiled == source, "messages.mo is stale: run `make translations`"


def test_the_catalogs_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["archive"]
    for language in LANGUAGES:
        for name in ("messages.mo", "messages.po"):
            path = f"web/translations/{language}/LC_MESSAGES/{name}"
            assert any(fnmatch.fnmatch(path, p) for p in patterns), path


def template_keys(template_id: str) -> set[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in (WEB / "templates").glob("*.html"))
    block = re.search(rf'<template id="{template_id}">(.*?)</template>', text, re.DOTALL)
    assert block is not None, template_id
    keys = re.findall(r'data-msg="(\w+)"', block.group(1))
    assert len(keys) == len(set(keys)), f"a message key is defined twice in {template_id}"
    return set(keys)


def test_every_message_the_scripts_show_is_in_the_page() -> None:
    """The scripts take their words from a <template> the server translates: each code they
    can show must be there (else the reader would see the bare code)."""
    verifier = (WEB / "static" / "verifier.js").read_text(encoding="utf-8")
    pages = (WEB / "static" / "pages.js").read_text(encoding="utf-8")
    codes = set(re.findall(r'fail\([^,()]+,\s*"(\w+)"', verifier))
    codes |= set(re.findall(r'"(\w+_ok(?:_\w+)?)"', verifier))
    codes |= set(re.findall(r'warnings\.push\("(\w+)"\)', verifier))
    codes |= set(re.findall(r'VerifyError\("\w+", "(\w+)"', pages))
    record_part = pages.split("function setupVerify")[0]
    verify_part = pages.split("function setupVerify")[1]
    codes |= set(re.findall(r'msg\("(\w+)"', record_part)) - {"state_"}
    codes |= {f"state_{s}" for s in ("ok", "failed", "skipped", "pending", "running")}
    assert len(codes) > 60
    assert sorted(codes - template_keys("verify-messages")) == []
    file_codes = set(re.findall(r'msg\("(\w+)"', verify_part))
    assert len(file_codes) > 8
    assert sorted(file_codes - template_keys("verify-file-messages")) == []
