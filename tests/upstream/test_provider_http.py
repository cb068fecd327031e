"""What Tunnus asks of a provider (discovery, JWKS, the token request) is bounded as every
request to another's server is (services/outbound_http.py): the whole exchange within
IDP_UPSTREAM_TIMEOUT, an answer of at most 256 kB, no redirect followed. Before, a provider
answering a byte a second held the person's request as long as it went on, a 300 MB answer
was read whole, and the token request, client secret and all, was sent wherever the token
endpoint redirected."""
from __future__ import annotations

import gzip
import json
import time
from urllib.parse import parse_qs, urlsplit

from idp.models import AuditEvent
from idp.services import upstreams
from tests.support.browser import Browser
from tests.support.raw_http import RawAnswers

TIMEOUT = 2
UNAVAILABLE = "The identification service is not answering. Try again in a moment."
REFUSED = "The identification could not be completed. Start again."


def _start(app, issuer: str) -> tuple[Browser, float]:
    app.config["IDP_UPSTREAM_TIMEOUT"] = TIMEOUT
    upstreams.add("Pankki", issuer, "tunnus", "s3cret")
    browser = Browser(app)
    browser.get("/login")
    started = time.monotonic()
    browser.submit("/identify/pankki", follow=False)
    return browser, time.monotonic() - started


def _dripping(conn, _head) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(20):
        conn.sendall(b" ")
        time.sleep(1)


def _flood(conn, _head) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
    for _ in range(300 * 16):  # 300 MB
        conn.sendall(b" " * 65536)


def _start_at(app, answer) -> tuple[Browser, float, RawAnswers]:
    """_start with a provider answering `answer` (RawAnswers), stopped after."""
    provider = RawAnswers(answer)
    try:
        return (*_start(app, provider.base), provider)
    finally:
        provider.stop()


def test_a_provider_answering_a_byte_a_second_is_given_up_at_the_timeout(app):
    browser, took, _ = _start_at(app, _dripping)
    assert browser.page.status_code == 502 and UNAVAILABLE in browser.text and took < TIMEOUT + 1.5


def test_an_answer_beyond_256_kb_is_not_read_on(app):
    browser, took, _ = _start_at(app, _flood)
    assert browser.page.status_code == 400 and REFUSED in browser.text and took < TIMEOUT
    reason = AuditEvent.query.filter_by(event="upstream.started", result="failure").one().details["reason"]
    assert "longer than 262144 bytes" in reason


def test_a_compressed_answer_is_not_inflated(app):
    bomb = gzip.compress(b" " * (50 * 1024 * 1024) + b"{}", 9)
    browser, _, provider = _start_at(app, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                          b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb)
    assert browser.page.status_code == 400 and REFUSED in browser.text
    assert b"gzip" not in provider.requests[0].lower()  # none was asked for


def test_a_discovery_redirect_is_not_followed(app):
    elsewhere = RawAnswers(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")  # e.g. 169.254.169.254
    try:
        browser, _, _ = _start_at(app, f"HTTP/1.1 302 Found\r\nLocation: {elsewhere.url('/latest/meta-data/')}\r\n"
                                       "Content-Length: 0\r\n\r\n".encode())
    finally:
        elsewhere.stop()
    assert browser.page.status_code == 502 and UNAVAILABLE in browser.text and elsewhere.requests == []


def test_the_token_request_is_not_sent_where_the_token_endpoint_redirects(app):
    collected = []
    elsewhere = RawAnswers(lambda conn, head: collected.append(head))

    def provider(conn, head):
        if b"/.well-known/openid-configuration" in head.split(b"\r\n")[0]:
            body = json.dumps({
                "issuer": issuer, "authorization_endpoint": issuer + "/authorize", "token_endpoint": issuer + "/token",
                "jwks_uri": issuer + "/jwks", "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"]}).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        else:
            conn.sendall(f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere.url('/collect')}\r\n"
                         "Content-Length: 0\r\n\r\n".encode())

    redirecting = RawAnswers(provider)
    issuer = redirecting.base
    try:
        browser, _ = _start(app, issuer)
        state = parse_qs(urlsplit(browser.page.headers["Location"]).query)["state"][0]
        browser.get(f"/identify/pankki/callback?code=the-code&state={state}&iss={issuer}")
    finally:
        redirecting.stop()
        elsewhere.stop()
    assert browser.page.status_code == 502 and UNAVAILABLE in browser.text and collected == []
    reason = AuditEvent.query.filter_by(event="upstream.identified").one().details["reason"]
    assert reason == "token_endpoint_answered 307"
