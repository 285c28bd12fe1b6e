"""Ingest through the HTTP API with concurrent clients, and how long each testimony takes
to become searchable.

    python -m bench.ingest [--clients 4] [--workers 4] [--seconds 60]

The archive is served for real (``temoin serve``: gunicorn, ``--workers`` processes, the
outbox applied in the background after each commit). ``--clients`` threads POST
testimonies to ``/api/v1/cases/<case>/testimonies`` with the admin's token for
``--seconds``. Meanwhile a poller in this process watches the restricted index itself
(not through the API, whose restricted searches are recorded as custody events) for each
created item's id. Figures are printed and written as JSON into ``--out``; nothing is
asserted on time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from whoosh import index as whoosh_index

from archive.models import OutboxEntry, ProtectedPerson
from archive.services.runtime import BOOTSTRAP_TOKEN_FILE, Archive
from bench.corpus import generate
from bench.run import CASE_SLUG, log, machine_info, percentile, setup_archive, write_result
from bench.search import BACKENDS, loadavg, reset_database
from search_index.whoosh_backend import INDEX_NAME

POLL_INTERVAL = 0.02


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(arc: Archive, port: int, workers: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TEMOIN_DATA_DIR": str(arc.settings.data_dir),
        "TEMOIN_DATABASE_URL": arc.settings.database_url,
        "TEMOIN_SEARCH_BACKEND": arc.settings.search_backend,
        "TEMOIN_INDEX_MODE": "async",
    }
    temoin = Path(sys.executable).with_name("temoin")
    with log_path.open("wb") as out:
        server = subprocess.Popen(
            [str(temoin), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped; see {log_path}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not answer within 60 s")


class Poller:
    """Finds when each created item is in the restricted index, looking at the index as a
    reader (a Whoosh reader over its files, or the PostgreSQL table)."""

    def __init__(self, arc: Archive) -> None:
        self.arc = arc
        self.pending: dict[str, float] = {}  # uid -> when its POST returned
        self.visible: dict[str, float] = {}  # uid -> when it was first seen in the index
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="poller", daemon=True)

    def created(self, uid: str, at: float) -> None:
        with self.lock:
            self.pending[uid] = at

    def _found(self, uids: list[str]) -> set[str]:
        if self.arc.settings.search_backend == "whoosh":
            path = self.arc.settings.index_dir / "restricted"
            index = whoosh_index.open_dir(str(path), indexname=INDEX_NAME)
            try:
                with index.reader() as reader:
                    return {u for u in uids if ("doc_id", u) in reader}
            finally:
                index.close()
        with self.arc.db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT doc_id FROM search_restricted WHERE doc_id = ANY(:ids)"),
                {"ids": uids},
            ).scalars()
            return set(rows)

    def _run(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                uids = list(self.pending)
            if uids:
                try:
                    found = self._found(uids)
                except FileNotFoundError:  # a writer replaced a generation: look again
                    found = set()
                now = time.perf_counter()
                with self.lock:
                    for uid in found:
                        self.visible[uid] = now
                        self.pending.pop(uid, None)
            time.sleep(POLL_INTERVAL)

    def wait_empty(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    return True
            time.sleep(0.1)
        return False


def client(
    port: int,
    token: str,
    bodies: list[dict[str, Any]],
    until: float,
    poller: Poller,
    out: list[dict[str, Any]],
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for body in bodies:
        if time.perf_counter() >= until:
            break
        start = time.perf_counter()
        conn.request("POST", f"/api/v1/cases/{CASE_SLUG}/testimonies", json.dumps(body), headers)
        response = conn.getresponse()
        data = response.read()
        end = time.perf_counter()
        record: dict[str, Any] = {
            "status": response.status,
            "seconds": end - start,
            "returned": end,
        }
        if response.status == 201:
            uid = json.loads(data)["id"]
            record["uid"] = uid
            poller.created(uid, end)
        out.append(record)
    conn.close()


def outbox_lags(arc: Archive, uids: set[str]) -> list[float]:
    """Per item: from its first outbox entry's creation (in the request's transaction,
    just before the commit) to the last one's ``done_at`` (after the index commit)."""
    with arc.db.sessions() as session:
        rows = session.execute(
            select(OutboxEntry.item_uid, OutboxEntry.created_at, OutboxEntry.done_at)
        ).all()
    first: dict[str, dt.datetime] = {}
    last: dict[str, dt.datetime] = {}
    for uid, created, done in rows:
        if uid not in uids or done is None:
            continue
        first[uid] = min(first.get(uid, created), created)
        last[uid] = max(last.get(uid, done), done)
    return [(last[u] - first[u]).total_seconds() for u in first]


def spread(values: list[float], method: str) -> dict[str, Any]:
    return {
        "method": method,
        "items": len(values),
        "p50_s": percentile(values, 50) if values else None,
        "p95_s": percentile(values, 95) if values else None,
        "max_s": max(values) if values else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (4)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long clients post (60)")
    parser.add_argument("--backend", choices=BACKENDS, default="whoosh")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEMOIN_BENCH_DATABASE_URL"),
        help="PostgreSQL URL for --backend postgres; EVERYTHING IN THAT DATABASE IS DROPPED",
    )
    parser.add_argument("--seed", type=int, default=20220327, help="corpus seed")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="JSON results dir")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir afterwards")
    args = parser.parse_args(argv)
    if args.backend == "postgres" and not args.database_url:
        parser.error("--backend postgres needs --database-url (a database of its own)")

    info = machine_info()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="temoin-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    log(f"working in {work}")
    if args.backend == "postgres":
        reset_database(args.database_url)
    arc, _ = setup_archive(work, database_url=args.database_url, search_backend=args.backend)
    with arc.db.sessions() as session:
        person = session.scalar(select(ProtectedPerson).order_by(ProtectedPerson.id))
        assert person is not None
        person_uid = person.uid
    token = (arc.settings.signing_key_file.parent / BOOTSTRAP_TOKEN_FILE).read_text().strip()
    # More than the clients can send in the time: a generous guess of 100 items/s.
    docs = generate(max(1000, int(args.seconds * 100)), seed=args.seed)
    bodies = [
        {
            "language": d.language,
            "text": d.text,
            "title": d.title,
            "person": person_uid,
            "place": d.place,
            "tags": list(d.tags),
            "event_date": d.event_date.isoformat(),
        }
        for d in docs
    ]
    port = free_port()
    server = serve(arc, port, args.workers, work / "server.log")
    poller = Poller(arc)
    records: list[list[dict[str, Any]]] = [[] for _ in range(args.clients)]
    try:
        poller.thread.start()
        log(f"{args.clients} clients posting for {args.seconds:g} s to {args.workers} workers…")
        start = time.perf_counter()
        until = start + args.seconds
        threads = [
            threading.Thread(
                target=client,
                args=(port, token, bodies[i :: args.clients], until, poller, records[i]),
            )
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        load_end_of_posting = loadavg()
        log("waiting for the index to catch up…")
        caught_up = poller.wait_empty(300)
        poller.stop.set()
        poller.thread.join()
    finally:
        server.terminate()
        server.wait(30)
    done = [r for rs in records for r in rs]
    created = [r for r in done if r["status"] == 201]
    seen = []
    for r in created:
        visible = poller.visible.get(r["uid"])
        if visible is not None:
            seen.append(visible - r["returned"])
    outbox = outbox_lags(arc, {r["uid"] for r in created})
    arc.close()
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)

    latencies = [r["seconds"] for r in created]
    result: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "backend": args.backend,
        "machine": {
            **info,
            "loadavg_end_of_posting": load_end_of_posting,
            "loadavg_at_end": loadavg(),
        },
        "requests": len(done),
        "created": len(created),
        "failed_statuses": sorted({r["status"] for r in done if r["status"] != 201}),
        "seconds": elapsed,
        "items_per_s": len(created) / elapsed,
        "post_p50_ms": percentile(latencies, 50) * 1000,
        "post_p95_ms": percentile(latencies, 95) * 1000,
        "index_caught_up": caught_up,
        "searchable_after_response": spread(
            seen,
            "poll of the restricted index every 20 ms, from the POST's response "
            "(after the commit) to the item's id being in the index",
        ),
        "outbox_lag": spread(
            outbox,
            "outbox created_at (in the request's transaction, before the commit) "
            "to done_at (after the index commit): an upper bound",
        ),
    }
    result["args"].pop("database_url", None)
    print_report(result)
    path = write_result(args.out, f"ingest-{args.backend}", result)
    print(f"\nresults written to {path}")
    return 0


def print_report(result: dict[str, Any]) -> None:
    a, m = result["args"], result["machine"]
    print()
    print(
        f"API ingest — backend {result['backend']}, {a['clients']} clients, "
        f"{a['workers']} gunicorn workers, {result['seconds']:.0f} s"
    )
    print(
        f"machine: {m['cpu_count']} CPUs, load {m['loadavg_at_start']} -> "
        f"{m['loadavg_end_of_posting']} (end of posting)"
    )
    print(
        f"  created {result['created']} testimonies: {result['items_per_s']:.1f} items/s;"
        f" POST p50 {result['post_p50_ms']:.0f} ms, p95 {result['post_p95_ms']:.0f} ms"
        + (f"; failed: {result['failed_statuses']}" if result["failed_statuses"] else "")
    )
    for key, label in (
        ("searchable_after_response", "searchable after the response (poll)"),
        ("outbox_lag", "outbox created -> done (upper bound)"),
    ):
        lag = result[key]
        if lag["items"]:
            print(
                f"  {label:<40} p50 {lag['p50_s']:6.2f} s   p95 {lag['p95_s']:6.2f} s"
                f"   max {lag['max_s']:6.2f} s   ({lag['items']} items)"
            )
    if not result["index_caught_up"]:
        print("  (the index had not caught up 300 s after the clients stopped)")


if __name__ == "__main__":
    sys.exit(main())
