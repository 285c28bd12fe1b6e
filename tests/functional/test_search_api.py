"""Search through HTTP: filters, facets, sorting, similar items, and clear errors."""

from __future__ import annotations

from flask.testing import FlaskClient

from archive.services.runtime import Archive


def test_facets_count_every_match(client: FlaskClient, seeded: Archive) -> None:
    results = client.get("/api/v1/search?q=Moura").json
    assert results["total"] == 8
    facets = results["facets"]
    assert facets["case"] == {"moura-2022": 8}
    assert sum(facets["kind"].values()) == 8 and facets["kind"]["testimony"] == 2
    assert set(facets["language"]) == {"en", "fr"}
    assert facets["year"] == {"2022": 8}


def test_filters_narrow_the_results(client: FlaskClient, seeded: Archive) -> None:
    assert client.get("/api/v1/search?q=Moura&kind=testimony").json["total"] == 2
    french = client.get("/api/v1/search?q=Moura&language=fr").json
    assert french["total"] >= 1 and all(h["language"] == "fr" for h in french["hits"])
    assert client.get("/api/v1/search?q=Moura&event_from=2023-01-01").json["total"] == 0
    assert (
        client.get("/api/v1/search?q=Moura&event_from=2022-03-01&event_to=2022-03-31").json["total"]
        == 8
    )
    assert client.get("/api/v1/search?q=Moura&case=another").json["total"] == 0


def test_sort_by_date_and_bad_input(client: FlaskClient, seeded: Archive) -> None:
    assert client.get("/api/v1/search?q=Moura&sort=date").status_code == 200
    assert client.get("/api/v1/search?q=Moura&sort=sideways").status_code == 422
    reversed_range = client.get("/api/v1/search?q=Moura&event_from=2022-04-01&event_to=2022-03-01")
    assert reversed_range.status_code == 400
    assert "ends before it starts" in reversed_range.json["message"]
    assert client.get("/api/v1/search?q=Moura&event_from=yesterday").status_code == 422


def test_similar_items_for_corroboration(
    client: FlaskClient, auth: dict[str, str], seeded: Archive
) -> None:
    hits = client.get("/api/v1/search?q=riverbank", headers=auth).json["hits"]
    uid = hits[0]["id"]
    assert client.get(f"/api/v1/items/{uid}/similar").status_code == 401
    similar = client.get(f"/api/v1/items/{uid}/similar?limit=5", headers=auth).json
    assert similar and uid not in {h["id"] for h in similar}
    assert all(h["case"] == "moura-2022" for h in similar)
