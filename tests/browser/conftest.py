"""Browser fixtures: the seeded app served on loopback, and headless Debian Chromium.

Chromium is the distribution's (``apt-get install chromium``), never one downloaded by
``playwright install``. Without it (or without the playwright package) the tests skip
locally and fail in CI, through ``skip_or_fail``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from archive.services.runtime import Archive
from tests.conftest import skip_or_fail

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these, Chromium phones home and this closed machine refuses the connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"  # git-ignored
HOST = "127.0.0.1"


@dataclass
class LiveServer:
    url: str
    app: Flask

    def __call__(self, path: str = "/") -> str:
        return self.url + path


def _closed_before_sending(app: Flask) -> WSGIApplication:
    """``app`` with each response read whole and closed before the server sends it.

    werkzeug's development server closes a response only after draining the request
    socket; when Chromium drops a connection (a page left while its script loads) that
    drain can raise first, and the response's open file (a static file) is left to the
    garbage collector: a ResourceWarning, an error under this suite's warning filter,
    raised in whichever test runs next."""

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture
def live_server(seeded: Archive, app: Flask) -> Iterator[LiveServer]:
    """The app (created after the founding case was loaded) on a free loopback port.

    Single-threaded on purpose: werkzeug then speaks HTTP/1.0 and closes every
    connection, so nothing outlives ``shutdown()`` + ``server_close()``.
    """
    server = make_server(HOST, 0, _closed_before_sending(app), threaded=False)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield LiveServer(url=f"http://{HOST}:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - depends on the environment
        skip_or_fail("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        skip_or_fail(f"Chromium not installed at {CHROMIUM}")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Recorder:
    """Everything a page did that a test may want to assert on."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} @ {message.location.get('url')}")

    def on_page_error(self, error: Any) -> None:
        self.page_errors.append(str(error))


def _artifact_name(node: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name).strip("_")


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Any:
    """``shoot(page, "step")`` saves a full-page PNG under test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    prefix = _artifact_name(request.node)
    counter = iter(range(1, 100))

    def take(page: Page, step: str) -> Path:
        path = ARTIFACTS / f"{prefix}-{next(counter):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def _new_page(browser: Browser, recorder: Recorder, **context_args: Any) -> Iterator[Page]:
    context = browser.new_context(**context_args)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.on("request", recorder.on_request)
        page.on("console", recorder.on_console)
        page.on("pageerror", recorder.on_page_error)
        yield page
    finally:
        context.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, recorder: Recorder) -> Iterator[Page]:
    """A fresh desktop-sized context per test, recording requests and console errors."""
    yield from _new_page(browser, recorder, viewport={"width": 1280, "height": 900}, locale="en-GB")


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer, recorder: Recorder) -> Iterator[Page]:
    """A phone-sized context (375x740, touch, mobile meta viewport honoured)."""
    yield from _new_page(
        browser,
        recorder,
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
    )
