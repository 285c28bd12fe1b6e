"""`temoin serve` for real: gunicorn with several forked workers, over HTTP on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from archive.config import Settings
from archive.services.runtime import InitReport


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(url: str, *, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, method="POST" if body is not None else "GET")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        request.add_header("Content-Type", "application/json")
        data = json.dumps(body).encode()
    with urllib.request.urlopen(request, data, timeout=20) as response:
        return response.status, json.loads(response.read())


def test_served_by_gunicorn_workers(
    settings: Settings, initialized: InitReport, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TEMOIN_DATA_DIR": str(settings.data_dir),
        "TEMOIN_DATABASE_URL": settings.database_url,
        "TEMOIN_LOG_ORIGIN": settings.log_origin,
        "TEMOIN_SEARCH_BACKEND": settings.search_backend,
    }
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "archive.cli", "serve", "--port", str(port), "--workers", "3"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                call(f"{base}/api/v1/cases")
                break
            except OSError:
                time.sleep(0.2)
        token = initialized.admin_token
        assert (
            call(f"{base}/api/v1/cases", token=token, body={"slug": "served", "title": "Served"})[0]
            == 201
        )
        for n in range(6):  # spread over the workers
            status, _ = call(
                f"{base}/api/v1/cases/served/excerpts",
                token=token,
                body={
                    "text": f"Kolokani ferry {n}",
                    "title": f"t{n}",
                    "language": "en",
                    "citation": {"publication": "P"},
                },
            )
            assert status == 201
        for _ in range(50):  # the index follows in the background
            if call(f"{base}/api/v1/search?q=Kolokani", token=token)[1]["total"] == 6:
                break
            time.sleep(0.2)
        assert call(f"{base}/api/v1/search?q=Kolokani", token=token)[1]["total"] == 6
    finally:
        server.terminate()
        server.wait(20)
        log.close()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
