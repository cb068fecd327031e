"""JWTs whose header or claims an outsider writes (a DPoP proof, a client assertion, an
id_token_hint, a token to introspect): a member of another type than RFC 7515, 7519 or
9449 gives it, or text no client_id or jti can be, is refused with the endpoint's usual
error, never a 500, and is not carried into Redis or the audit record."""
import base64
import json
import logging
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jws
from joserfc.jwk import ECKey

from idp.models import AuditEvent
from idp.oidc.client_assertion import ASSERTION_TYPE
from idp.services import clock
from tests.support.journeys import tokens_for
from tests.support.rp import RelyingParty


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict) -> str:
    """A JWS whose header is refused before any signature is looked at."""
    return f"{b64(json.dumps(header))}.{b64(json.dumps(claims))}.{b64('x' * 64)}"


def signed_as_written(header: dict, claims: dict, key: ECKey) -> str:
    """An ES256 JWS of the header as given: joserfc checks a header before it signs."""
    signing_input = f"{b64(json.dumps(header))}.{b64(json.dumps(claims))}"
    r, s = decode_dss_signature(key.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    signature = base64.urlsafe_b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).rstrip(b"=").decode()
    return f"{signing_input}.{signature}"


@pytest.fixture
def key():
    return ECKey.generate_key("P-256", auto_kid=True)


@pytest.fixture
def machine(app, key):
    return RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"], key=key)


def assertion_grant(machine, assertion):
    return machine.http.post("/token", data={"grant_type": "client_credentials", "client_assertion": assertion,
                                             "client_assertion_type": ASSERTION_TYPE})


def test_a_dpop_proof_whose_key_names_a_curve_of_another_key_type_is_refused(app, machine):
    dpop_key = ECKey.generate_key("P-256", private=True)
    jwk = {**dpop_key.as_dict(private=False), "crv": "Ed25519"}
    for method, url in (("POST", "http://localhost/token"), ("GET", "http://localhost/userinfo")):
        proof = jws.serialize_compact({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}, json.dumps(
            {"jti": "j-" + method, "htm": method, "htu": url, "iat": clock.timestamp()}), dpop_key)
        if method == "POST":
            answer = machine.http.post("/token", data={"grant_type": "client_credentials"},
                                       headers={**machine.basic_auth(), "DPoP": proof})
            assert answer.status_code == 400 and answer.get_json()["error"] == "invalid_dpop_proof"
        else:
            answer = machine.http.get("/userinfo", headers={"Authorization": "DPoP x", "DPoP": proof})
            assert answer.status_code == 401 and 'error="invalid_dpop_proof"' in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize("crit", [1, None, [["a"]]], ids=["a number", "null", "a nested list"])
def test_a_header_whose_crit_is_no_list_of_names_is_refused_everywhere(app, browser, rp, user, machine, crit):
    assertion = unsigned({"alg": "ES256", "kid": machine.key.kid, "crit": crit},
                         {"iss": machine.client_id, "sub": machine.client_id})
    answer = assertion_grant(machine, assertion)
    assert answer.status_code == 401 and answer.get_json()["error"] == "invalid_client"

    hint = unsigned({"alg": "ES256", "typ": "JWT", "crit": crit}, {})
    browser.get(rp.authorize_url(id_token_hint=hint))
    assert rp.callback_params(browser.url)["error"] == "invalid_request"
    browser.get("/logout?" + urlencode({"id_token_hint": hint}))
    assert browser.page.status_code == 400 and "invalid_request" in browser.text

    token = unsigned({"alg": "ES256", "typ": "at+jwt", "crit": crit}, {"sub": "a", "client_id": "a", "jti": "j"})
    assert rp.introspect(token).get_json() == {"active": False}


@pytest.mark.parametrize("crit", [1, [], ["exp"], ["b64"]], ids=["a number", "empty", "a claim", "b64"])
def test_a_signed_assertion_with_crit_is_refused_saying_so(app, machine, crit):
    """RFC 7515 §4.1.11. Before, an empty crit was taken, and one of another type was
    recorded as a signature not by the client's key."""
    now = clock.timestamp()
    claims = {"iss": machine.client_id, "sub": machine.client_id, "aud": app.config["IDP_ISSUER"], "exp": now + 60,
              "jti": f"crit-{crit}"}
    header = {"alg": "ES256", "kid": machine.key.kid, "crit": crit, **({"b64": True} if crit == ["b64"] else {})}
    answer = assertion_grant(machine, signed_as_written(header, claims, machine.key))
    assert answer.status_code == 401 and answer.get_json()["error"] == "invalid_client"
    recorded = AuditEvent.query.filter_by(event="client.assertion_refused").one()
    assert recorded.details["reason"] == "the header's crit names JWS extensions, and Tunnus understands none"


@pytest.mark.parametrize("kid", ["ä", 'a"b', "a\\b"])
def test_a_logout_hint_whose_kid_no_error_may_quote_is_refused(browser, rp, user, kid):
    """RFC 6749 §5.2 allows no such character in error_description, where Authlib put it."""
    tokens_for(browser, rp, user)
    browser.get("/logout?" + urlencode({"id_token_hint": unsigned({"alg": "ES256", "typ": "JWT", "kid": kid}, {})}))
    assert browser.page.status_code == 400 and "invalid_request" in browser.text
    assert "You are still signed in to Tunnus." in browser.text


def test_an_assertion_whose_jti_is_not_printable_text_is_refused(app, machine):
    now = clock.timestamp()
    claims = {"iss": machine.client_id, "sub": machine.client_id, "aud": app.config["IDP_ISSUER"], "exp": now + 60,
              "jti": "\ud800"}  # half a character, written as JSON's escape
    signed = jws.serialize_compact({"alg": "ES256", "kid": machine.key.kid}, json.dumps(claims).encode(), machine.key)
    answer = assertion_grant(machine, signed)
    assert answer.status_code == 401 and "jti must be at most 256 printable characters" in answer.get_json()[
        "error_description"]


@pytest.mark.parametrize("sub", ["a\u0000", "x\ud800", "\x01\x7f\n"], ids=["NUL", "half a character", "controls"])
def test_an_assertion_naming_what_no_client_id_can_be_is_neither_counted_nor_stored_under_it(app, machine, caplog,
                                                                                             sub):
    with caplog.at_level(logging.WARNING):
        assert assertion_grant(machine, unsigned({"alg": "ES256"}, {"sub": sub})).status_code == 401
        assert machine.token_request(grant_type="client_credentials", client_assertion=machine.assertion(),
                                     client_assertion_type=ASSERTION_TYPE).status_code == 200
    assert not [r for r in caplog.records if "Rate limit storage unreachable" in r.getMessage()]
    refused = AuditEvent.query.filter_by(event="client.assertion_refused").one()
    assert refused.details["claimed_client_id"] is None
