"""The public site over HTTP: languages, localised dates and numbers, the overview, search
state in the URL, the digest lookup API, and the log page's monitoring recipe, run for real."""

from __future__ import annotations

import html
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from archive.services.runtime import Archive

SEARCH = "/search?q=Moura"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def lang_of(body: str) -> str:
    match = re.search(r'<html lang="(\w+)">', body)
    assert match, body[:200]
    return match.group(1)


# ---- language ----------------------------------------------------------------------------


def test_language_comes_from_the_browser_then_a_switch_that_is_remembered(
    client: FlaskClient, seeded: Archive
) -> None:
    assert lang_of(text_of(client.get("/"))) == "en"
    french = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert lang_of(text_of(french)) == "fr"
    assert "Ce que contient l’archive" in text_of(french)
    assert "Accept-Language" in french.headers["Vary"]
    assert lang_of(text_of(client.get("/", headers={"Accept-Language": "de, ar"}))) == "en"

    # The switch: ?lang= wins over the browser, and sets a cookie for the next pages.
    switched = client.get("/?lang=fr", headers={"Accept-Language": "en"})
    assert lang_of(text_of(switched)) == "fr"
    cookie = switched.headers["Set-Cookie"]
    assert cookie.startswith("temoin_lang=fr") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert lang_of(text_of(client.get("/log", headers={"Accept-Language": "en"}))) == "fr"
    assert "Journal de conservation" in text_of(client.get("/log"))
    back = client.get("/log?lang=en")
    assert lang_of(text_of(back)) == "en"
    assert lang_of(text_of(client.get("/"))) == "en"
    # An unknown language is ignored, and sets nothing.
    ignored = client.get("/?lang=xx")
    assert lang_of(text_of(ignored)) == "en" and "Set-Cookie" not in ignored.headers
    # The API speaks JSON the same in every language.
    api = client.get("/api/v1/search?q=Moura&lang=fr", headers={"Accept-Language": "fr"})
    assert api.json["total"] >= 3 and "Set-Cookie" in api.headers


def test_the_switch_links_keep_the_page_and_its_query(client: FlaskClient, seeded: Archive) -> None:
    body = text_of(client.get(SEARCH + "&kind=testimony&tag=witness"))
    link = re.search(r'<a href="([^"]+)" hreflang="fr"', body)
    assert link is not None
    assert html.unescape(link.group(1)) == "/search?q=Moura&kind=testimony&tag=witness&lang=fr"
    assert '<span aria-current="true" lang="en">English</span>' in body


def test_dates_and_numbers_are_localised(
    client: FlaskClient, auth: dict[str, str], seeded: Archive
) -> None:
    content = b"x" * 12345
    uid = client.post(
        "/api/v1/cases/moura-2022/exhibits",
        data={"title": "A big file", "language": "en", "file": (io.BytesIO(content), "f.bin")},
        headers=auth,
        content_type="multipart/form-data",
    ).json["id"]
    client.post(f"/api/v1/items/{uid}/redaction", json={}, headers=auth)
    assert client.post(f"/api/v1/items/{uid}/publish", headers=auth).status_code == 200
    english = text_of(client.get(f"/records/{uid}"))
    french = text_of(client.get(f"/records/{uid}?lang=fr"))
    assert "12,345 bytes" in english
    assert "12\u202f345 octets" in french
    hit = client.get("/api/v1/search", query_string={"q": "riverbank"}).json["hits"][0]["id"]
    assert "March 27, 2022" in text_of(client.get(f"/records/{hit}?lang=en"))
    assert "27 mars 2022" in text_of(client.get(f"/records/{hit}?lang=fr"))
    assert "Témoignage" in text_of(client.get(f"/records/{hit}?lang=fr"))


def test_error_pages_are_translated_and_json_errors_stay_json(
    client: FlaskClient, seeded: Archive
) -> None:
    missing = client.get("/records/nothing", headers={"Accept-Language": "fr"})
    assert missing.status_code == 404
    body = text_of(missing)
    assert lang_of(body) == "fr" and "Introuvable" in body
    assert "no published item" not in body  # the service's English message is not shown
    wrong = client.post("/search?lang=fr")
    assert wrong.status_code == 405 and "Requête refusée" in text_of(wrong)
    api = client.get("/api/v1/items/nothing", headers={"Accept-Language": "fr"})
    assert api.status_code == 404 and api.json["status"] == 404


# ---- home, search -------------------------------------------------------------------------


def test_home_says_what_the_archive_holds(client: FlaskClient, seeded: Archive) -> None:
    body = text_of(client.get("/"))
    counts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([\d,]+)</dd>", body.split('class="counts"')[1]))
    assert counts == {"Testimonies": "2", "Source excerpts": "6", "File exhibits": "0"}
    assert "Search 8 published records in 1 case." in body
    assert "Moura killings, Mali, March 2022" in body
    size = int(client.get("/api/v1/log/checkpoint").get_data(as_text=True).split("\n")[1])
    assert f"the last signed checkpoint covers {size} events" in body
    assert 'href="/verify"' in body and 'href="/log"' in body


def test_search_state_lives_in_the_url(client: FlaskClient, seeded: Archive) -> None:
    body = html.unescape(text_of(client.get(SEARCH)))
    assert "8 results for “Moura”" in body
    # Each facet value links to the same search with that filter, back on page 1.
    assert 'href="/search?q=Moura&kind=testimony"' in body
    assert 'href="/search?q=Moura&language=fr"' in body
    assert 'href="/search?q=Moura&year=2022"' in body
    assert 'href="/search?q=Moura&tag=witness"' in body
    filtered = html.unescape(text_of(client.get(SEARCH + "&kind=testimony&tag=witness&page=1")))
    assert "2 results for “Moura”" in filtered
    # A chosen value links to the search without it; the other filters stay.
    assert 'href="/search?q=Moura&tag=witness" aria-current="true"' in filtered
    assert 'href="/search?q=Moura&kind=testimony" aria-current="true"' in filtered
    assert '<input type="hidden" name="kind" value="testimony">' in filtered
    years = html.unescape(text_of(client.get(SEARCH + "&year=2021")))
    assert "0 results for “Moura”" in years


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("&year=22", "A year is four digits"),
        ("&from=2022-13-01", "Not a date"),
        ("&from=2022-04-01&to=2022-03-01", "before its start"),
    ],
)
def test_bad_filters_are_explained(
    client: FlaskClient, seeded: Archive, query: str, message: str
) -> None:
    response = client.get(SEARCH + query)
    assert response.status_code == 400
    assert message in text_of(response)
    assert 'id="result-count"' not in text_of(response)


# ---- the digest lookup --------------------------------------------------------------------


def test_the_digest_lookup_reads_every_spelling_and_refuses_others(
    client: FlaskClient, seeded: Archive
) -> None:
    hexdigest = "ab" * 32
    for spelling in (f"sha256:{hexdigest}", hexdigest, hexdigest.upper(), f"SHA256:{hexdigest}"):
        response = client.get(f"/api/v1/exhibits/by-digest/{spelling}")
        assert response.status_code == 200, spelling
        assert response.json == {"digest": f"sha256:{hexdigest}", "published": False, "matches": []}
        assert response.headers["Cache-Control"] == "no-store"
    for bad in ("sha256:abc", "md5:" + "a" * 32, "z" * 64):
        response = client.get(f"/api/v1/exhibits/by-digest/{bad}")
        assert response.status_code == 422, bad
        assert response.json["errors"] == {"digest": ["not a SHA-256 digest"]}
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/exhibits/by-digest/{digest}" in spec["paths"]


# ---- the log page's recipe, run -------------------------------------------------------------


def test_the_log_pages_monitoring_recipe_works(
    client: FlaskClient, auth: dict[str, str], seeded: Archive, tmp_path: Path
) -> None:
    page = text_of(client.get("/log"))
    script = re.search(
        r'<pre id="monitor-script" tabindex="0"><code>(.*?)</code></pre>', page, re.S
    )
    assert script is not None
    recipe = html.unescape(script.group(1))
    (tmp_path / "keys.txt").write_text(text_of(client.get("/api/v1/log/keys")))
    old = text_of(client.get("/api/v1/log/checkpoint"))
    (tmp_path / "old.txt").write_text(old)
    added = client.post(
        "/api/v1/cases/moura-2022/excerpts",
        json={
            "text": "Another excerpt about Moura.",
            "title": "Later",
            "language": "en",
            "citation": {"publication": "Tests"},
        },
        headers=auth,
    )
    assert added.status_code == 201, added.json
    new = text_of(client.get("/api/v1/log/checkpoint"))
    old_size, new_size = int(old.split("\n")[1]), int(new.split("\n")[1])
    assert new_size > old_size
    (tmp_path / "new.txt").write_text(new)
    proof = client.get(f"/api/v1/log/proof/consistency?old={old_size}&new={new_size}")
    (tmp_path / "proof.json").write_text(text_of(proof))
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }

    def run() -> subprocess.CompletedProcess[str]:
        # The page's own recipe, run in a temporary directory.
        return subprocess.run(
            ["/bin/bash", "-c", recipe], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    done = run()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"consistent: the log of {old_size} entries is the start of the log of {new_size}"
    )
    # A proof for another history fails loudly.
    (tmp_path / "proof.json").write_text(
        text_of(proof).replace(proof.json["hashes"][0], "A" * 43 + "=")
    )
    assert run().returncode != 0
