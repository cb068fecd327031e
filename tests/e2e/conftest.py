"""Fixtures for tests that drive a real Chromium against Tunnus served over real HTTP.

Here `app` is overridden: the issuer must be the origin the browser talks to, so the
server socket is bound first (on a free port) and the app is built for that port.
The `user` and `rp` fixtures from tests/conftest.py then use this app.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server


from ..conftest import running_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def http_server():
    """A bound, not yet serving, HTTP server; its app is attached by `live_server`."""
    server = make_server("127.0.0.1", 0, None, threaded=True)  # port 0: the OS picks a free one
    yield server
    server.server_close()


@pytest.fixture
def issuer(http_server) -> str:
    return f"http://127.0.0.1:{http_server.server_port}"


@pytest.fixture
def app(base_config, migrated, issuer):
    with running_app(dict(base_config, IDP_ISSUER=issuer)) as app:
        yield app


@pytest.fixture
def live_server(app, http_server, issuer) -> str:
    """Serve the app in a background thread; yields the origin (which is also the issuer)."""
    http_server.app = app
    thread = threading.Thread(target=http_server.serve_forever, name="tunnus-live-server", daemon=True)
    thread.start()
    yield issuer
    http_server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} not found; install Debian's chromium package to run the browser tests"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium):
    context = chromium.new_context(locale="en-US")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context, live_server):
    return context.new_page()
