"""Headers on every kind of page: HTML pages, protocol JSON, errors, redirects."""
import re

import pytest

from idp import create_app
from tests.conftest import IsolatedClient


@pytest.mark.parametrize("path", ["/login", "/.well-known/openid-configuration", "/jwks", "/nope", "/account",
                                  "/logout"])
def test_every_response_forbids_framing_and_sniffing(browser, path):
    response = browser.client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert re.search(r"script-src 'self' 'nonce-[\w-]{16,}'", csp)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_nonce_differs_per_response(browser):
    first = browser.client.get("/login").headers["Content-Security-Policy"]
    second = browser.client.get("/login").headers["Content-Security-Policy"]
    assert first != second


def test_html_pages_are_not_cached(browser):
    browser.get("/login")
    assert browser.page.headers["Cache-Control"] == "no-store"


def test_https_issuer_gets_hsts_and_host_prefixed_secure_cookie(base_config, migrated):
    app = create_app(dict(base_config, IDP_ISSUER="https://tunnus.example"))
    app.test_client_class = IsolatedClient
    client = app.test_client()
    response = client.get("/login", base_url="https://tunnus.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-tunnus_session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "Domain" not in cookie and "Path=/" in cookie


def test_over_https_a_form_posts_without_a_referer(base_config, migrated, user):
    """Every page says Referrer-Policy: no-referrer, so browsers send no Referer, not even
    to the same site (and Origin: null): the forms must post without one."""
    app = create_app(dict(base_config, IDP_ISSUER="https://tunnus.example"))
    app.test_client_class = IsolatedClient
    client = app.test_client()
    page = client.get("/login", base_url="https://tunnus.example", follow_redirects=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    action = re.search(r'<form[^>]*action="([^"]*identify[^"]*)"', html).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    answer = client.post(action, base_url="https://tunnus.example", data={"csrf_token": token, "email": user.email})
    assert answer.status_code == 302, answer.get_data(as_text=True)  # on to the password step


def test_http_issuer_sends_no_hsts(browser):
    assert "Strict-Transport-Security" not in browser.client.get("/login").headers
