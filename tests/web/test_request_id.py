"""X-Request-ID: a sane one from the proxy is kept, anything else replaced; it is echoed
and lands in the audit record. Behind IDP_PROXY_HOPS proxies the client IP is the one
they forwarded, and a client cannot forge it with more hops."""
from __future__ import annotations

import re

import pytest

from idp.models import AuditEvent
from tests.conftest import running_app
from tests.support.browser import Browser
from tests.support.journeys import authorize, sign_in

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_a_sane_request_id_is_echoed_and_others_are_replaced(app):
    client = app.test_client()
    assert client.get("/healthz", headers={"X-Request-ID": "Root=1-67891233-abcdef012345678912345678"}
                      ).headers["X-Request-ID"] == "Root=1-67891233-abcdef012345678912345678"
    generated = {client.get("/healthz", headers=headers).headers["X-Request-ID"]
                 for headers in ({}, {"X-Request-ID": "short"}, {"X-Request-ID": "a b<script>x</script>"},
                                 {"X-Request-ID": "x" * 129}, {"X-Request-ID": "ok-but%0d%0asplit"})}
    assert len(generated) == 5 and all(GENERATED.fullmatch(value) for value in generated)
    assert GENERATED.fullmatch(client.get("/no-such-page").headers["X-Request-ID"])


def test_the_audit_record_carries_the_request_id(app, browser, user):
    browser.get("/login")
    browser.client.environ_base["HTTP_X_REQUEST_ID"] = "edge-0f9e8d7c"
    sign_in(browser, user.email, "not the password")
    failure = AuditEvent.query.filter_by(event="login.password").one()
    assert (failure.result, failure.request_id, failure.ip) == ("failure", "edge-0f9e8d7c", "127.0.0.1")


def test_token_records_say_where_the_relying_service_called_from(app, browser, rp, user):
    code = authorize(browser, rp, user, scope="openid offline_access", prompt="consent")["code"]
    issued = rp.redeem(code)
    refreshed = rp.refresh(issued.get_json()["refresh_token"])
    revoked = rp.revoke(refreshed.get_json()["refresh_token"])
    for event, answer in (("token.issued", issued), ("token.refreshed", refreshed), ("token.revoked", revoked)):
        record = AuditEvent.query.filter_by(event=event).one()
        assert (record.ip, record.request_id) == ("127.0.0.1", answer.headers["X-Request-ID"]), event


@pytest.mark.parametrize("hops, forwarded, seen", [
    (0, "203.0.113.7", "127.0.0.1"),               # no proxy configured: the header is ignored
    (1, "203.0.113.7", "203.0.113.7"),
    (1, "198.51.100.66, 203.0.113.7", "203.0.113.7"),  # the client's own forged hop is not believed
    (1, "1" * 65, "127.0.0.1"),  # no address (a proxy passing on what a client wrote): the proxy's own
    (1, "203.0.113.7<script>", "127.0.0.1"),
    (1, "2001:db8::7", "2001:db8::7"),
])
def test_client_ip_comes_from_as_many_proxies_as_configured(base_config, migrated, hops, forwarded, seen):
    with running_app(dict(base_config, IDP_PROXY_HOPS=hops)) as app:
        from idp.services import identities

        person = identities.create("maija@example.fi", "correct horse battery staple", verified=True)
        browser = Browser(app)
        browser.client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
        browser.get("/login")
        sign_in(browser, person.email, "not the password")
        assert AuditEvent.query.filter_by(event="login.password").one().ip == seen

