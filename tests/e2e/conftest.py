"""Browser tests: Playwright driving Debian's Chromium against a live Yonten.

The server runs in a thread on a free port with real commits (browsers and
servers do not share the test's transaction); the database is emptied after
each test. Without Chromium the tests skip with the reason, except in CI.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from lms import create_app
from lms.core.queue import make_consumer
from tests.conftest import IN_CI

CHROMIUM = os.environ.get("LMS_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if IN_CI:
            pytest.fail(f"Chromium not found at {CHROMIUM} (CI=true: browser tests must run)")
        pytest.skip(f"Chromium not found at {CHROMIUM}; `make test` installs it on Debian")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def live_app(base_config, committed_db):
    """The app a live server serves: real job queue (SQLite) and a worker beside it."""
    app = create_app({**base_config, "SERVER_NAME": None, "JOB_QUEUE": "real",
                      "QUEUE_NAME": f"e2e-{uuid.uuid4().hex[:8]}"})
    consumer = make_consumer(app, workers=2, embedded=True)
    consumer.start()
    yield app
    consumer.stop(graceful=False)


@pytest.fixture
def live_server(live_app) -> Iterator[str]:
    """A Yonten server with its worker on a free local port; yields its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def new_page(browser, live_server, request):
    """Open a fresh tab as a new person (own cookies): ``new_page("learner")``.

    Each tab is screenshotted when the test ends, into test-artifacts/screenshots/.
    """
    opened: list[tuple[str, object, object]] = []

    def open_page(name: str = "page", locale: str = "en-US"):
        context = browser.new_context(base_url=live_server, locale=locale,
                                      viewport={"width": 412, "height": 915},
                                      accept_downloads=True)
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        opened.append((name, context, tab))
        return tab

    yield open_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, context, tab in opened:
        tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-{name}.png"), full_page=True)
        context.close()


@pytest.fixture
def page(new_page):
    """A fresh browser tab."""
    return new_page()


def log_in(page, contact: str, password: str) -> None:
    """Log in through the login form."""
    page.goto("/account/login")
    page.fill("#contact", contact)
    page.fill("#password", password)
    page.click("form.card button")
    page.wait_for_url("**/dashboard")
