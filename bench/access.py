"""What recording every look costs: restricted searches and full reads through HTTP, each
beside the same work unrecorded, and the access report's latency as the record grows.

    python -m bench.access [--n 2000] [--requests 300]
    python -m bench.access --n 400 --requests 60     # quick

Figures are printed (and written as JSON into ``--out``); nothing is asserted on time.
See bench/README.md, section "Access records".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from archive.models import Item
from archive.services import accountability
from archive.services import search as search_service
from archive.services.cases import get_case
from archive.services.runtime import BOOTSTRAP_TOKEN_FILE, Archive
from archive.web import create_app
from bench.corpus import generate, make_queries
from bench.run import CASE_SLUG, ingest_temoin_batch, log, machine_info, percentile, setup_archive

REASON = "benchmark of the access record"


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 3),
        "p95_ms": round(percentile(values, 95) * 1000, 3),
        "n": len(values),
    }


def _timed(call: Any) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def run(arc: Archive, client: FlaskClient, token: str, queries: list[str], uids: list[str]) -> dict:
    """Interleaved, so that every side sees the same load on a shared machine."""
    auth = {"Authorization": f"Bearer {token}", "X-Temoin-Reason": REASON}
    times: dict[str, list[float]] = {
        k: []
        for k in (
            "search_service",
            "record_search",
            "http_restricted_search",
            "http_public_search",
            "record_read",
            "http_full_read",
            "http_public_read",
        )
    }

    def record_search(q: str) -> None:
        with arc.unit_of_work() as session:
            accountability.record_search(
                arc, session, actor="bench", cases=[CASE_SLUG], query=q, reason=REASON, via="bench"
            )

    def record_read(uid: str) -> None:
        with arc.unit_of_work() as session:
            item = session.scalar(select(Item).where(Item.uid == uid))
            assert item is not None
            accountability.record_original_read(
                arc, session, item, actor="bench", reason=REASON, via="bench"
            )

    def http(url: str, headers: dict[str, str], **kwargs: Any) -> None:
        response = client.get(url, headers=headers, **kwargs)
        assert response.status_code == 200, (url, response.status_code)

    for q, uid in zip(queries, uids, strict=True):
        times["search_service"].append(
            _timed(
                lambda q=q: search_service.search(
                    arc, q, restricted=True, filters=search_service.Filters(case=CASE_SLUG)
                )
            )
        )
        times["record_search"].append(_timed(lambda q=q: record_search(q)))
        times["http_restricted_search"].append(
            _timed(
                lambda q=q: http("/api/v1/search", auth, query_string={"q": q, "case": CASE_SLUG})
            )
        )
        times["http_public_search"].append(
            _timed(lambda q=q: http("/api/v1/search", {}, query_string={"q": q}))
        )
        times["record_read"].append(_timed(lambda uid=uid: record_read(uid)))
        times["http_full_read"].append(_timed(lambda uid=uid: http(f"/api/v1/items/{uid}", auth)))
        times["http_public_read"].append(_timed(lambda uid=uid: http(f"/api/v1/items/{uid}", {})))
    result = {name: _ms(values) for name, values in times.items()}
    for recorded, bare in (
        ("http_restricted_search", "http_public_search"),
        ("http_full_read", "http_public_read"),
    ):
        result[f"{recorded}_over_{bare}_p50"] = round(
            result[recorded]["p50_ms"] / result[bare]["p50_ms"], 2
        )
    return result


def run_report(arc: Archive, client: FlaskClient, token: str, repeats: int) -> dict:
    """The case's whole access report, through the service and through HTTP (one page of
    1,000), once the benchmark above has filled it."""
    with arc.db.sessions() as session:
        case = get_case(session, CASE_SLUG)
        entries = len(accountability.case_access(session, case))
    service, http = [], []
    for _ in range(repeats):
        with arc.db.sessions() as session:
            case = get_case(session, CASE_SLUG)
            service.append(_timed(lambda case=case: accountability.case_access(session, case)))
        http.append(
            _timed(
                lambda: client.get(
                    f"/api/v1/cases/{CASE_SLUG}/access?limit=1000",
                    headers={"Authorization": f"Bearer {token}"},
                )
            )
        )
    return {"entries": entries, "service_full": _ms(service), "http_page_1000": _ms(http)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.access", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--n", type=int, default=2000, help="testimonies (2000)")
    parser.add_argument("--requests", type=int, default=300, help="requests of each kind (300)")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="JSON results dir")
    parser.add_argument("--seed", type=int, default=20220327, help="corpus seed")
    args = parser.parse_args(argv)
    if args.n < 1 or args.requests < 1:
        parser.error("--n and --requests must be positive")
    info = machine_info()
    docs = generate(args.n, seed=args.seed)
    queries = make_queries(docs, args.requests, seed=args.seed + 1).term
    work = Path(tempfile.mkdtemp(prefix="temoin-bench-access-"))
    arc = app = None
    try:
        arc, person_ids = setup_archive(work)
        log(f"ingesting {args.n} testimonies…")
        for start in range(0, len(docs), 200):
            ingest_temoin_batch(arc, person_ids, docs[start : start + 200])
        token = (arc.settings.signing_key_file.parent / BOOTSTRAP_TOKEN_FILE).read_text().strip()
        app = create_app(arc.settings)
        client = app.test_client()
        with arc.db.sessions() as session:
            every = list(session.scalars(select(Item.uid).where(Item.kind == "testimony")))
        uids = random.Random(args.seed).choices(every, k=args.requests)
        log(f"{args.requests} requests of each kind, interleaved…")
        result = {
            "n": args.n,
            "requests": run(arc, client, token, queries, uids),
            "report": run_report(arc, client, token, repeats=20),
            "machine": {**info, "loadavg_at_end": list(os.getloadavg())},
        }
    finally:
        if app is not None:
            app.extensions["temoin"].close()
        if arc is not None:
            arc.close()
        shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    body = json.dumps(result, indent=2)
    (args.out / f"access-n{args.n}-{stamp}.json").write_text(body)
    (args.out / "access-latest.json").write_text(body)
    print(json.dumps({k: result[k] for k in ("n", "requests", "report")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
