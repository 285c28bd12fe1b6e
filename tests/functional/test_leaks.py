"""Leak tests: plant protected names, publish, then look for them on every public surface.

Every GET route of the URL map is crawled anonymously (so a new route is covered the day it
is added), with its parameters filled from real published and unpublished records.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import random
import re
import string
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from archive.services.redaction import fold
from archive.services.runtime import Archive

SYLLABLES = ["ka", "mo", "di", "ba", "sou", "ma", "ne", "tio", "ga", "lé", "zé", "rou", "fi", "dja"]


def fresh_name(rng: random.Random, parts: int = 2) -> str:
    return " ".join(
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize()
        for _ in range(parts)
    )


@pytest.fixture
def planted(client: FlaskClient, auth: dict[str, str], seeded: Archive) -> dict:
    """A case with freshly generated witnesses, named in odd forms in published items."""
    rng = random.Random()
    full = fresh_name(rng)
    alias = fresh_name(rng, 1)
    pairs = " ".join(f"{rng.randint(10, 99):02d}" for _ in range(3))
    phone = f"+223 7{rng.randint(0, 9)} {pairs}"
    email = "".join(rng.choice(string.ascii_lowercase) for _ in range(8)) + "@mail.example.net"
    client.post("/api/v1/cases", json={"slug": "planted", "title": "Planted"}, headers=auth)
    person = client.post(
        "/api/v1/cases/planted/persons",
        json={"names": [full], "aliases": [alias], "contact": phone},
        headers=auth,
    ).json
    first, last = full.split(" ")
    texts = [
        f"{full} told us what happened. {alias.upper()} was there too; call {phone} or {email}.",
        f"Le témoin {first}\n   {last} a parlé. D'{alias} et l’{alias} : "
        f"« {full.lower()} » était au marché.",
        f"{alias}'s brother saw {fold(full)} near the river.",
    ]
    uids = []
    for n, text in enumerate(texts):
        item = client.post(
            "/api/v1/cases/planted/testimonies",
            json={
                "text": text,
                "person": person["id"],
                "language": "fr" if n == 1 else "en",
                "title": f"Testimony {n}",
                "tags": ["planted"],
                "place": "Moura",
            },
            headers=auth,
        ).json
        uids.append(item["id"])
    excerpt = client.post(
        "/api/v1/cases/planted/excerpts",
        json={
            "text": f"A  report  quoted\u00a0{full.upper()}\tand wrote to {email}.",
            "title": f"Report on {last}",
            "language": "en",
            "tags": [alias],
            "place": "Moura",
            "citation": {"publication": "Local radio", "title": f"Interview with {first}"},
        },
        headers=auth,
    ).json
    uids.insert(2, excerpt["id"])
    for uid in uids[:3]:
        client.post(f"/api/v1/items/{uid}/redaction", json={}, headers=auth)
        assert client.post(f"/api/v1/items/{uid}/publish", headers=auth).status_code == 200
    marker = "".join(rng.choice(string.ascii_lowercase) for _ in range(12))
    log_indexes = plant_access_records(
        client, auth, uids, person["id"], words=[full, alias, phone, email, marker]
    )
    # Published again after the looks: the new `published` events chain onto access events.
    client.patch(
        f"/api/v1/cases/planted/persons/{person['id']}",
        json={"aliases": [f"{alias}ou"]},
        headers=auth,
    )
    # Two file exhibits whose title, description and file name name the witness: one
    # published, one left sealed. Their bytes also name them (a photo's metadata could).
    exhibits = []
    for n in range(2):
        content = f"EXIF artist={full} phone={phone} #{n} {rng.random()}".encode()
        exhibit = client.post(
            "/api/v1/cases/planted/exhibits",
            data={
                "title": f"Photo {n} taken by {full}",
                "description": f"{alias} sent this from {phone}",
                "language": "en",
                "tags": f"planted,{alias}",
                "place": "Moura",
                "file": (io.BytesIO(content), f"{last}-{n}.jpg", "image/jpeg"),
            },
            headers=auth,
            content_type="multipart/form-data",
        )
        assert exhibit.status_code == 201, exhibit.json
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
        assert exhibit.json["digest"] == digest
        exhibits.append((exhibit.json["id"], digest))
    client.post(f"/api/v1/items/{exhibits[0][0]}/redaction", json={}, headers=auth)
    assert client.post(f"/api/v1/items/{exhibits[0][0]}/publish", headers=auth).status_code == 200
    return {
        "secrets": [full, first, last, alias, phone, email, phone.replace(" ", ""), marker],
        "published": [*uids[:3], exhibits[0][0]],
        "published_texts": uids[:3],
        "unpublished": [*uids[3:], exhibits[1][0]],
        "published_digests": [exhibits[0][1]],
        "unpublished_digests": [exhibits[1][1]],
        "access_log_indexes": log_indexes,
        "person": person["id"],
    }


def reason_header(text: str) -> dict[str, str]:
    """RFC 8187 form, so that any name travels in a header."""
    return {"X-Temoin-Reason": "UTF-8''" + quote(text, safe="")}


def plant_access_records(
    client: FlaskClient, auth: dict[str, str], uids: list[str], person: str, words: list[str]
) -> list[int]:
    """Looks at protected material whose reasons and queries name the witness: reads of
    originals, exports, restricted searches, similar items, a reveal and a grant. Returns
    the log indexes of the events they left."""
    full, alias, phone, email, marker = words
    why = f"checking what {full} ({alias}, {phone}, {email}) said, file {marker}"
    for uid in uids:
        assert client.get(f"/api/v1/items/{uid}", headers={**auth, **reason_header(why)}).is_json
        bundle = client.get(f"/api/v1/items/{uid}/bundle", headers={**auth, **reason_header(why)})
        assert bundle.status_code == 200
        similar = client.get(f"/api/v1/items/{uid}/similar", headers={**auth, **reason_header(why)})
        assert similar.status_code == 200
    for query in (full, f'"{alias}" {marker}', phone):
        found = client.get(
            "/api/v1/search",
            query_string={"q": query, "case": "planted"},
            headers={**auth, **reason_header(why)},
        )
        assert found.status_code == 200
    everywhere = client.get("/api/v1/search", query_string={"q": alias}, headers=auth)
    assert everywhere.status_code == 200
    revealed = client.post(
        f"/api/v1/cases/planted/persons/{person}/reveal", json={"reason": why}, headers=auth
    )
    assert revealed.status_code == 200
    client.post("/api/v1/users", json={"name": "lawyer", "role": "legal"}, headers=auth)
    granted = client.put(
        "/api/v1/users/lawyer/grants/planted", headers={**auth, **reason_header(why)}
    )
    assert granted.status_code == 200
    report = client.get("/api/v1/cases/planted/access", headers=auth).json
    assert len(report) >= 3 * len(uids) + 5
    # every entry carries the planted reason, but the search without one and the case's
    # creation grant
    assert sum(marker in (entry["reason"] or "") for entry in report) == len(report) - 2
    return [entry["log_index"] for entry in report]


def protected_terms(planted: dict) -> list[str]:
    return [*planted["secrets"], "Amadou", "Seydou Bah", "Seydou"]


def assert_clean(text: str, terms: list[str], where: str) -> None:
    folded = fold(text)
    compact = re.sub(r"\s+", "", text)
    for term in terms:
        needle = fold(term)
        if re.search(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])", folded):
            raise AssertionError(f"{where} shows protected term {term!r}")
        if any(c.isdigit() for c in term) and re.sub(r"\s+", "", term) in compact:
            raise AssertionError(f"{where} shows protected number {term!r}")


def crawl_targets(app: Flask, planted: dict) -> list[str]:
    values = {
        "uid": planted["published"] + planted["unpublished"] + ["no-such-item"],
        "slug": ["planted", "moura-2022", "no-such-case"],
        "filename": ["temoin.css"],
        "size": ["1", "32", "999999"],
        "name": ["admin", "lawyer", "no-such-user"],
        "digest": [
            *planted["published_digests"],
            *planted["unpublished_digests"],
            "sha256:" + "0" * 64,
            "not-a-digest",
        ],
        "person": [planted["person"], "no-such-person"],
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        args = sorted(rule.arguments)
        if not args:
            urls.append(rule.rule)
            continue
        unknown = [a for a in args if a not in values]
        assert not unknown, (
            f"leak crawl does not know how to fill {unknown} in {rule.rule}: teach it"
        )
        for value in values[args[0]]:
            urls.append(
                rule.rule.replace(f"<{args[0]}>", value).replace(f"<path:{args[0]}>", value)
            )
    return urls


QUERIES = [
    "{name}",
    "body:{name}",
    "title:{name}",
    "place:{name}",
    "tags:{name}",
    "{prefix}*",
    "{name}~1",
    "{name}~2",
    '"{name}"',
    "{name} OR moura",
    "NOT moura",
    "moura AND {name}",
    "{lower}",
    "{upper}",
]


def test_no_public_surface_shows_a_protected_name(
    app: Flask, client: FlaskClient, planted: dict, caplog: pytest.LogCaptureFixture
) -> None:
    terms = protected_terms(planted)
    caplog.set_level(logging.DEBUG)
    pages = crawl_targets(app, planted)
    assert len(pages) > 10
    for url in pages:
        with client.get(url) as response:
            assert response.status_code < 500, url
            assert_clean(response.get_data(as_text=True), terms, f"GET {url}")
    for url in ("/records/{}", "/api/v1/items/{}"):
        for uid in planted["published"]:
            assert client.get(url.format(uid)).status_code == 200
    # Pages with query strings the crawl cannot guess: filters, facets, a digest, French.
    digests = planted["published_digests"] + planted["unpublished_digests"]
    extra = [
        "/search?q=moura&case=planted&tag=planted",
        "/search?q=moura&kind=file_exhibit&lang=fr",
        "/search?q=photo&sort=date&year=2022",
        *(f"/verify?digest={d}" for d in digests),
        *(f"/verify?digest={d.removeprefix('sha256:')}&lang=fr" for d in digests),
        "/?lang=fr",
        "/log?lang=fr",
        *(f"/records/{uid}?lang=fr" for uid in planted["published"]),
    ]
    for url in extra:
        with client.get(url) as response:
            assert response.status_code == 200, url
            assert_clean(response.get_data(as_text=True), terms, f"GET {url}")


def test_no_desk_page_answers_an_anonymous_caller(
    app: Flask, client: FlaskClient, planted: dict
) -> None:
    """Every page behind sign-in (from the URL map, so a new one is covered the day it is
    added), with every method, filled with real cases, persons and items: an anonymous
    caller is sent to sign in, and the answer carries nothing of the case."""
    terms = [*protected_terms(planted), "Witness A", "Testimony 0", "Photo 0"]
    values = {
        "slug": ["planted"],
        "uid": [*planted["published"], *planted["unpublished"]],
        "person": [planted["person"]],
    }
    checked = 0
    for rule in app.url_map.iter_rules():
        if not (
            rule.endpoint.startswith("desk.") or rule.endpoint in ("signin.desk", "signin.account")
        ):
            continue
        paths = [rule.rule]
        for name in sorted(rule.arguments):
            paths = [p.replace(f"<{name}>", v) for p in paths for v in values[name]]
        for path in paths:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                response = client.open(
                    path, method=method, data={"text": "x", "reason": "looking around here"}
                )
                where = f"{method} {path}"
                assert response.status_code == 303, where
                assert response.headers["Location"].startswith("/login?next="), where
                assert_clean(response.get_data(as_text=True), terms, where)
                checked += 1
    assert checked > 20


def test_access_records_stay_off_every_public_surface(client: FlaskClient, planted: dict) -> None:
    """Reasons and queries name the witness; they exist only in restricted records. The
    public bundle carries only the `sealed` and `published` events; the log's public
    proofs carry hashes, never an event."""
    terms = protected_terms(planted)
    for uid in planted["published_texts"]:
        bundle = client.get(f"/api/v1/items/{uid}/public-bundle")
        assert bundle.status_code == 200
        types = [
            json.loads(base64.b64decode(e["canonical"]))["type"] for e in bundle.json["events"]
        ]
        assert set(types) <= {"sealed", "published"}, types
        assert_clean(bundle.get_data(as_text=True), terms, f"public bundle of {uid}")
    for index in planted["access_log_indexes"]:
        proof = client.get(f"/api/v1/log/proof/inclusion?index={index}")
        assert proof.status_code == 200
        assert set(proof.json) == {"index", "size", "leaf_hash", "root_hash", "hashes"}
        assert_clean(proof.get_data(as_text=True), terms, f"inclusion proof of {index}")
    marker = planted["secrets"][-1]
    for url in ("/api/v1/search", "/search"):
        assert marker not in client.get(url, query_string={"q": "checking"}).get_data(as_text=True)
    assert client.get("/api/v1/search", query_string={"q": marker}).json["total"] == 0


def test_search_finds_nothing_for_a_protected_name(client: FlaskClient, planted: dict) -> None:
    terms = protected_terms(planted)
    for secret in [*planted["secrets"][:4], "Amadou", "Seydou"]:
        word = secret.split(" ")[0]
        for template in QUERIES:
            query = template.format(
                name=word, prefix=word[:4], lower=word.lower(), upper=word.upper()
            )
            for url in ("/api/v1/search", "/search"):
                response = client.get(url, query_string={"q": query})
                # The caller's own query is echoed back; everything else must be clean.
                if response.is_json:
                    payload = dict(response.json)
                    payload.pop("query", None)
                    payload.get("errors", {}).pop("q", None)
                    payload.pop("message", None) if response.status_code == 400 else None
                    body = json.dumps(payload, ensure_ascii=False)
                else:
                    body = response.get_data(as_text=True)
                    for echo in (str(escape(query)), quote_plus(query), quote(query)):
                        body = body.replace(echo, "")
                assert response.status_code in (200, 400), (url, response.status_code)
                if template in ("NOT moura",):
                    continue
                assert_clean(body, terms, f"search {query!r}")
    hits = client.get("/api/v1/search", query_string={"q": planted["secrets"][0]}).json
    noise = client.get("/api/v1/search", query_string={"q": "qzxwvut"}).json
    assert hits["total"] == noise["total"] == 0


def test_a_digest_lookup_is_no_oracle(
    client: FlaskClient, auth: dict[str, str], planted: dict
) -> None:
    """An unpublished exhibit's digest answers exactly like a digest nobody ever stored."""
    unknown = "sha256:" + hashlib.sha256(b"never stored anywhere").hexdigest()
    for digest in planted["unpublished_digests"]:
        sealed, never = (client.get(f"/api/v1/exhibits/by-digest/{d}") for d in (digest, unknown))
        assert sealed.status_code == never.status_code == 200
        assert sealed.headers.get("Cache-Control") == never.headers.get("Cache-Control")
        assert sealed.json == {"digest": digest, "published": False, "matches": []}
        assert never.get_data() == sealed.get_data().replace(digest.encode(), unknown.encode())
        page_sealed = client.get(f"/verify?digest={digest}").get_data(as_text=True)
        page_never = client.get(f"/verify?digest={unknown}").get_data(as_text=True)
        for a, b in ((digest, unknown), (quote_plus(digest), quote_plus(unknown))):
            page_sealed = page_sealed.replace(a, b)
        assert page_sealed == page_never
    published = planted["published_digests"][0]
    found = client.get(f"/api/v1/exhibits/by-digest/{published}")
    assert found.json["published"] is True
    assert [m["id"] for m in found.json["matches"]] == [planted["published"][-1]]
    assert "[Witness A]" in found.json["matches"][0]["title"]
    # Text originals are never matched, published or not: their digest would confirm a name.
    for uid in planted["published_texts"]:
        full = client.get(
            f"/api/v1/items/{uid}", headers={**auth, **reason_header("digest lookup test")}
        )
        original = full.json["digest"]
        answer = client.get(f"/api/v1/exhibits/by-digest/{original}").json
        assert answer == {"digest": original, "published": False, "matches": []}


def test_published_text_is_still_findable(client: FlaskClient, planted: dict) -> None:
    response = client.get("/api/v1/search", query_string={"q": "marché"}).json
    assert response["total"] >= 1
    assert "[Witness A]" in client.get(f"/api/v1/items/{planted['published'][1]}").json["text"]


def stored_index(settings, name: str) -> bytes:
    """Everything an index keeps: the files of a Whoosh directory, or every row of a table."""
    if settings.search_backend == "postgres":
        from sqlalchemy import create_engine, text

        engine = create_engine(settings.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text(f"SELECT * FROM search_{name}")).all()
        finally:
            engine.dispose()
        return "\n".join(repr(tuple(row)) for row in rows).encode()
    files = [p for p in Path(settings.index_dir / name).rglob("*") if p.is_file()]
    assert files
    return b"".join(p.read_bytes() for p in files)


def test_the_public_index_holds_no_protected_name(app: Flask, planted: dict, settings) -> None:
    blob = stored_index(settings, "public")
    text = blob.decode("utf-8", errors="ignore")
    for term in protected_terms(planted):
        for form in {term, term.lower(), fold(term), term.upper()}:
            assert form.encode() not in blob, f"public index holds {term!r}"
    assert_clean(text, protected_terms(planted), "public index")
    restricted = stored_index(settings, "restricted")
    alias = planted["secrets"][3]
    assert fold(alias).encode() in restricted.lower() or alias.encode() in restricted


def test_the_log_holds_no_protected_name(
    app: Flask,
    client: FlaskClient,
    auth: dict[str, str],
    planted: dict,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client.get("/api/v1/search?q=%22" + planted["secrets"][0])
    client.get(f"/api/v1/items/{planted['unpublished'][0]}")
    client.post(
        "/api/v1/cases/planted/persons",
        json={"names": [planted["secrets"][0]], "role": "nobody"},
        headers=auth,
    )
    client.post(
        "/api/v1/cases/planted/testimonies",
        json={"text": planted["secrets"][0], "person": "x", "language": "en"},
        headers=auth,
    )
    name = planted["secrets"][0]
    for why in (f"about {name}, again", name[:5], f"{name} " * 300):
        client.get(
            f"/api/v1/items/{planted['unpublished'][0]}", headers={**auth, **reason_header(why)}
        )
        client.get(
            f"/api/v1/items/{planted['published'][0]}/bundle",
            headers={**auth, **reason_header(why)},
        )
        client.get(
            "/api/v1/search", query_string={"q": name}, headers={**auth, **reason_header(why)}
        )
    client.get(
        f"/api/v1/items/{planted['unpublished'][0]}",
        headers={**auth, "X-Temoin-Reason": "UTF-8''%ff" + name},
    )
    assert_clean(
        "\n".join(r.getMessage() for r in caplog.records), protected_terms(planted), "log output"
    )
