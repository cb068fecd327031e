"""Answers from the provider that must not sign anyone in: a tampered or misdirected ID
token (rewritten on its way from the upstream's token endpoint), and callbacks that do not
belong to this browser's identification. Each ends on a clear page, with no session and
an audit record of why."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import OctKey

from idp.models import AuditEvent, Flow, LoginSession, UpstreamLink
from idp.services import clock, upstreams
from tests.support.races import at_once, barrier_after, clone, row_locks
from tests.support.smtp import free_port
from tests.support.upstream import claims_of, identify_at_bank

REFUSED = "The identification could not be completed. Start again."
CALLBACK = "http://localhost/identify/pankki/callback"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def resigned(upstream, **changes):
    """A token the upstream's own key signs, with some claims changed (None: removed)."""
    def rewrite(token):
        claims = {k: v for k, v in {**claims_of(token), **changes}.items() if v is not None}
        return upstream.sign(claims)
    return rewrite


def assert_refused(browser, reason_contains: str, status: int = 400, message: str = REFUSED):
    assert browser.page.status_code == status, browser.text
    assert message in browser.text and 'data-testid="upstream-error"' in browser.text
    assert LoginSession.query.count() == 0 and UpstreamLink.query.count() == 0
    failure = AuditEvent.query.filter_by(event="upstream.identified", result="failure").one()
    assert reason_contains in failure.details["reason"], failure.details
    browser.get("/account")
    assert "/login" in browser.url  # nobody is signed in


def identify(browser, email):
    browser.get("/login")
    browser.submit("/identify/pankki")
    return identify_at_bank(browser, email)


@pytest.fixture
def maija(upstream_tunnus, user):
    """Known to the bank and to Tunnus (same verified address): an honest answer would sign her in."""
    upstream_tunnus.person(user.email, "Maija Meikäläinen")
    return user


def test_honest_answer_signs_in(browser, bank, maija):
    identify(browser, maija.email)
    assert browser.url.endswith("/account") and LoginSession.query.count() == 1


def test_tampered_id_token_is_refused(browser, bank, upstream_tunnus, maija, matti):
    def tamper(token):  # another person's sub, the bank's signature kept
        header, _payload, signature = token.split(".")
        return ".".join([header, b64({**claims_of(token), "sub": matti[2]}), signature])

    upstream_tunnus.tampering.rewrite = tamper
    identify(browser, maija.email)
    assert_refused(browser, "bad_signature")


@pytest.mark.parametrize("forge", [
    lambda token, secret: f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_of(token))}.",
    # Signed with the client secret Tunnus holds too (algorithm confusion).
    lambda token, secret: jwt.encode({"alg": "HS256", "typ": "JWT"}, claims_of(token), OctKey.import_key(secret)),
], ids=["alg none", "HS256 with the client secret"])
def test_unsigned_and_symmetrically_signed_tokens_are_refused(browser, bank, upstream_tunnus, maija, forge):
    upstream_tunnus.tampering.rewrite = lambda token: forge(token, upstream_tunnus.secret)
    identify(browser, maija.email)
    assert_refused(browser, "id_token")


@pytest.mark.parametrize("changes, reason", [
    (lambda now: {"nonce": "another-login"}, "nonce"),
    (lambda now: {"nonce": None}, "nonce"),
    (lambda now: {"iss": "https://pankki.example"}, "iss"),
    (lambda now: {"aud": "another-client"}, "aud"),
    (lambda now: {"aud": ["another-client"]}, "aud"),
    (lambda now: {"exp": now - 3600, "iat": now - 7200}, "expired"),
    (lambda now: {"iat": now + 3600}, "issued in the future"),
    (lambda now: {"sub": None}, "sub"),
], ids=["wrong nonce", "no nonce", "wrong issuer", "wrong audience", "wrong audience list", "expired",
        "issued in the future", "no subject"])
def test_validly_signed_token_with_a_wrong_claim_is_refused(browser, bank, upstream_tunnus, maija, changes, reason):
    upstream_tunnus.tampering.rewrite = resigned(upstream_tunnus, **changes(clock.timestamp()))
    identify(browser, maija.email)
    assert_refused(browser, reason)


def test_token_expired_a_moment_ago_is_accepted_within_the_leeway(browser, bank, upstream_tunnus, maija):
    upstream_tunnus.tampering.rewrite = resigned(upstream_tunnus, exp=clock.timestamp() - 30)
    identify(browser, maija.email)
    assert LoginSession.query.count() == 1


def reach_callback(browser, upstream_tunnus, email) -> str:
    """Identify at the bank but stop before its answer reaches Tunnus; returns that answer's URL."""
    browser.stop_before = CALLBACK
    identify(browser, email)
    browser.stop_before = None
    assert browser.url.startswith(CALLBACK)
    return browser.url


def with_params(url: str, **changes) -> str:
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    params.update(changes)
    return CALLBACK + "?" + urlencode(params)


def test_state_of_no_identification_is_refused(browser, bank, upstream_tunnus, maija):
    answer = reach_callback(browser, upstream_tunnus, maija.email)
    browser.get(with_params(answer, state="not-the-state-we-sent"))
    assert browser.page.status_code == 400 and REFUSED in browser.text
    assert LoginSession.query.count() == 0
    [refused] = AuditEvent.query.filter_by(event="upstream.identified").all()  # as README says
    assert (refused.result, refused.details["reason"]) == ("failure", "state_mismatch")


def test_answer_opened_in_another_browser_is_refused(app, browser, bank, upstream_tunnus, maija):
    answer = reach_callback(browser, upstream_tunnus, maija.email)
    attacker = type(browser)(app, upstream_tunnus)  # e.g. a victim lured to the attacker's answer
    attacker.get(answer)
    assert attacker.page.status_code == 400 and REFUSED in attacker.text
    assert LoginSession.query.count() == 0
    assert [e.details["reason"] for e in AuditEvent.query.filter_by(event="upstream.identified", result="failure")
            ] == ["state_mismatch"]

    browser.get(answer)  # the browser that started it still can, once
    assert browser.url.endswith("/account") and LoginSession.query.count() == 1
    browser.get(answer)
    assert browser.page.status_code == 400 and REFUSED in browser.text


def test_answer_naming_another_issuer_is_refused(browser, bank, upstream_tunnus, maija):
    answer = reach_callback(browser, upstream_tunnus, maija.email)
    browser.get(with_params(answer, iss="https://pankki.example"))  # mix-up: RFC 9207
    assert_refused(browser, "response_issuer_mismatch")


def test_refusal_is_told_in_finnish(browser, bank, upstream_tunnus, maija):
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    upstream_tunnus.tampering.rewrite = resigned(upstream_tunnus, nonce="another-login")
    identify(browser, maija.email)
    assert_refused(browser, "nonce", message="Tunnistautumista ei voitu viedä loppuun. Aloita alusta.")


def test_unreachable_provider_is_said_plainly(app, browser):
    upstreams.add("Pankki", f"http://127.0.0.1:{free_port()}", "tunnus", "s3cret")
    browser.get("/login")
    browser.submit("/identify/pankki")
    assert browser.page.status_code == 502
    assert "The identification service is not answering. Try again in a moment." in browser.text
    assert Flow.query.filter_by(kind="identification").count() == 0


@pytest.mark.parametrize("document", [b"[1]", b'{"issuer": 5}', b'{"token_endpoint": ["x"]}', b"[" * 100_000],
                         ids=["a list", "a number for a URL", "a list for a URL", "nested too deeply"])
def test_a_discovery_document_that_is_none_is_refused_plainly(browser, bank, upstream_tunnus, document):
    upstream_tunnus.tampering.answers["/.well-known/openid-configuration"] = document
    browser.get("/login")
    browser.submit("/identify/pankki")
    assert browser.page.status_code == 400 and REFUSED in browser.text
    assert Flow.query.filter_by(kind="identification").count() == 0


@pytest.mark.parametrize("keys", [b"{}", b'{"keys": [{"kty": "EC", "kid": "k1", "crv": "P-999", "x": "AA", '
                                         b'"y": "AA"}]}'], ids=["no keys", "an unknown curve"])
def test_a_key_set_that_is_none_is_refused(browser, bank, upstream_tunnus, maija, keys):
    jwks_uri = requests.get(upstream_tunnus.issuer + "/.well-known/openid-configuration", timeout=10).json()["jwks_uri"]
    upstream_tunnus.tampering.answers[urlsplit(jwks_uri).path] = keys
    identify(browser, maija.email)
    assert_refused(browser, "bad_jwks")


@pytest.mark.parametrize("changes", [{"expires_in": float("inf")}, {"access_token": ["x"]}, {"token_type": None}],
                         ids=["expires_in Infinity", "access_token a list", "no token_type"])
def test_a_token_response_that_is_none_is_refused(browser, bank, upstream_tunnus, maija, changes):
    upstream_tunnus.tampering.token_changes = changes
    identify(browser, maija.email)
    assert_refused(browser, "token_error")


def test_an_id_token_with_a_claim_of_another_type_is_refused(browser, bank, upstream_tunnus, maija):
    upstream_tunnus.tampering.rewrite = resigned(upstream_tunnus, at_hash=["x", 1])
    identify(browser, maija.email)
    assert_refused(browser, "id_token")


@pytest.mark.parametrize("sub", ["a\u0000b", "a\ud800b", "a\x1bb", "pankki-ä", "x" * 256],
                         ids=["NUL", "half a character", "escape", "beyond ASCII", "256 characters"])
def test_a_subject_that_is_not_printable_ascii_is_refused(browser, bank, upstream_tunnus, maija, sub):
    """OIDC Core §2: at most 255 ASCII characters (a NUL in a flow broke other people's requests)."""
    upstream_tunnus.tampering.rewrite = resigned(upstream_tunnus, sub=sub)
    identify(browser, maija.email)
    assert_refused(browser, "id_token_bad_sub")


@row_locks
def test_one_answer_arriving_twice_at_once_is_checked_once(app, browser, bank, upstream_tunnus, maija, monkeypatch):
    """A double click on the bank's last button: the later request waits for the first and
    is refused (and recorded) as an answer already used."""
    from idp.flows.identification import IdentificationFlow

    answer = reach_callback(browser, upstream_tunnus, maija.email)
    barrier_after(monkeypatch, IdentificationFlow, "for_callback")
    first, second = at_once(*[lambda: clone(app, browser).get(urlsplit(answer).path + "?" + urlsplit(answer).query)]
                            * 2)
    assert sorted([first.status_code, second.status_code]) == [302, 400]
    assert REFUSED in (first if first.status_code == 400 else second).get_data(as_text=True)
    assert LoginSession.query.count() == 1
    assert sorted((e.result, e.details.get("reason") or "") for e in AuditEvent.query.filter_by(
        event="upstream.identified")) == [("failure", "state_mismatch"), ("success", "")]
