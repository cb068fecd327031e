"""private_key_jwt (RFC 7523 §2.2, OIDC Core §9): a relying service that signs a client
assertion with its own key instead of sending a secret, at /token, /introspect and
/revoke; every assertion that fails a check is invalid_client (401) and audited."""
import base64
import json

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from idp.models import AuditEvent, UsedAssertion
from idp.oidc.client_assertion import NOT_AUTHENTICATED, PrivateKeyJWT
from idp.services import clock
from tests.support.journeys import authorize, tokens_for
from tests.support.races import at_once, barrier_after
from tests.support.rp import RelyingParty


@pytest.fixture
def key():
    return ECKey.generate_key("P-256", auto_kid=True)


@pytest.fixture
def signer(app, key):
    """A service that signs its users in and authenticates with its key."""
    return RelyingParty.register(app, name="Kirjasto", key=key)


@pytest.fixture
def machine(app, key):
    return RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"], key=key)


def _client_credentials(machine, **data):
    return machine.token_request(grant_type="client_credentials", **data)


def _refused(response, description: str) -> None:
    """invalid_client, 401, with the reason in the audit record; in the answer too, unless
    telling it would say whether the client exists (before its signature is checked)."""
    body = response.get_json()
    assert response.status_code == 401 and body["error"] == "invalid_client", body
    reason = AuditEvent.query.filter_by(event="client.assertion_refused").order_by(AuditEvent.id.desc()).first()
    assert description in reason.details["reason"]
    assert body["error_description"] in (reason.details["reason"], NOT_AUTHENTICATED), body


def test_before_its_signature_is_checked_an_assertion_learns_nothing_of_the_client(app, machine, rp):
    """Nobody learns which clients exist, nor how they authenticate."""
    stranger = ECKey.generate_key("P-256", auto_kid=True)
    answers = [_client_credentials(machine, client_assertion=machine.assertion(iss="nobody", sub="nobody")),
               _client_credentials(machine, client_assertion=machine.assertion(key=stranger)),
               _client_credentials(machine, client_assertion=machine.assertion(iss=rp.client_id, sub=rp.client_id))]
    assert {(answer.status_code, answer.get_json()["error_description"]) for answer in answers} == {
        (401, NOT_AUTHENTICATED)}
    told = _client_credentials(machine, client_assertion=machine.assertion(exp=clock.timestamp() + 3600))
    assert "exp is more than 300 s ahead" in told.get_json()["error_description"]  # signed by the client


def test_code_exchange_and_refresh_with_assertions(browser, signer, user):
    tokens = tokens_for(browser, signer, user)
    assert signer.verify_id_token(tokens["id_token"])["sub"] == user.sub
    refreshed = signer.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    assert signer.userinfo(refreshed.get_json()["access_token"]).get_json()["sub"] == user.sub


@pytest.mark.parametrize("make, alg", [(lambda: RSAKey.generate_key(2048, auto_kid=True), "RS256"),
                                        (lambda: RSAKey.generate_key(2048, auto_kid=True), "PS256"),
                                        (lambda: ECKey.generate_key("P-256", auto_kid=True), "ES256"),
                                        (lambda: OKPKey.generate_key("Ed25519", auto_kid=True), "Ed25519"),
                                        (lambda: OKPKey.generate_key("Ed25519", auto_kid=True), "EdDSA")])
def test_client_credentials_introspection_and_revocation(app, make, alg):
    machine = RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"], key=make())
    issued = _client_credentials(machine, client_assertion=machine.assertion(header={"alg": alg}))
    assert issued.status_code == 200, issued.get_json()
    token = issued.get_json()["access_token"]
    assert machine.introspect(token).get_json()["client_id"] == machine.client_id
    assert machine.revoke(token).status_code == 200
    assert machine.introspect(token).get_json() == {"active": False}


def _unsigned(machine) -> str:
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    claims = jwt.decode(machine.assertion(), machine.key).claims
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _hmac_with_public_key(machine) -> str:
    # Algorithm confusion: the public key, which anyone may know, used as an HMAC secret.
    public = json.dumps(machine.key.as_dict(private=False)).encode()
    claims = jwt.decode(machine.assertion(), machine.key).claims
    return jwt.encode({"alg": "HS256", "kid": machine.key.kid}, claims, OctKey.import_key(public),
                      algorithms=["HS256"])


def _other_key_same_kid(machine) -> str:
    impostor = ECKey.generate_key("P-256", parameters={"kid": machine.key.kid})
    return machine.assertion(key=impostor)


REFUSALS = {
    "wrong key": (_other_key_same_kid, "the signature is not by the client's key"),
    "unknown kid": (lambda m: m.assertion(key=ECKey.generate_key("P-256", auto_kid=True)),
                    "none of the client's keys has the kid"),
    "expired": (lambda m: m.assertion(iat=clock.timestamp() - 600, exp=clock.timestamp() - 60), "expired"),
    "exp too far ahead": (lambda m: m.assertion(exp=clock.timestamp() + 3600), "exp is more than 300 s ahead"),
    "no exp": (lambda m: m.assertion(exp=None), "exp"),
    "not yet valid": (lambda m: m.assertion(nbf=clock.timestamp() + 300), "not yet valid"),
    "issued in the future": (lambda m: m.assertion(iat=clock.timestamp() + 300), "issued in the future"),
    "token endpoint as aud": (lambda m: m.assertion(aud="http://localhost/token"), "aud must be the issuer identifier"),
    "another server as aud": (lambda m: m.assertion(aud="https://elsewhere.example"), "aud must be the issuer"),
    "issuer beside another aud": (lambda m: m.assertion(aud=["http://localhost", "https://elsewhere.example"]),
                                  "alone"),
    "iss is not sub": (lambda m: m.assertion(iss="someone-else"), "iss and sub must both be the client_id"),
    "no jti": (lambda m: m.assertion(jti=None), "jti"),
    "alg none": (_unsigned, "alg must be one of RS256, PS256, ES256, EdDSA, Ed25519"),
    "HS256 keyed with the public key": (_hmac_with_public_key, "alg must be one of"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_an_assertion_failing_a_check_is_invalid_client_and_audited(machine, case):
    make, description = REFUSALS[case]
    _refused(_client_credentials(machine, client_assertion=make(machine)), description)
    event = AuditEvent.query.filter_by(event="client.assertion_refused").one()
    assert event.result == "failure" and event.client_id == machine.client_id
    assert description in event.details["reason"]


def test_an_assertion_naming_no_client_is_audited_with_the_name_it_gave(machine):
    _refused(_client_credentials(machine, client_assertion="not.a.jwt"), "client_assertion is not a signed JWT")
    _refused(_client_credentials(machine, client_assertion=machine.assertion(iss="nobody", sub="nobody")),
             "sub must be the client_id of a registered client")
    events = AuditEvent.query.filter_by(event="client.assertion_refused").order_by(AuditEvent.id).all()
    assert [(e.client_id, e.details["claimed_client_id"]) for e in events] == [(None, None), (None, "nobody")]


def test_an_assertion_is_used_once(machine):
    assertion = machine.assertion()
    assert _client_credentials(machine, client_assertion=assertion).status_code == 200
    _refused(_client_credentials(machine, client_assertion=assertion), "this assertion was used already")
    _refused(machine.introspect("anything", client_assertion=assertion), "used already")
    assert _client_credentials(machine).status_code == 200  # a new assertion, a new jti


def test_an_assertion_presented_twice_at_once_is_accepted_once(app, machine, monkeypatch):
    barrier_after(monkeypatch, PrivateKeyJWT, "verify_claims")  # both checked it before either records it
    assertion = machine.assertion()
    answers = at_once(*[lambda: _client_credentials(machine, client_assertion=assertion)] * 2)
    assert sorted(answer.status_code for answer in answers) == [200, 401]
    assert UsedAssertion.query.count() == 1


def test_wrong_assertion_type_and_another_client_id_are_refused(machine, rp):
    _refused(_client_credentials(machine, client_assertion_type="urn:ietf:params:oauth:client-assertion-type:saml2"
                                                                 "-bearer"), "client_assertion_type must be")
    _refused(_client_credentials(machine, client_id=rp.client_id), "client_id names another client")
    assert _client_credentials(machine, client_id=machine.client_id).status_code == 200


def test_a_secret_does_not_authenticate_a_client_with_keys(machine):
    for auth in ("basic", "post"):
        machine.secret = "whatever-it-might-be"
        response = _client_credentials(machine, auth=auth)
        assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    machine.secret = None
    response = _client_credentials(machine, auth="post")  # the client_id alone
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_an_assertion_does_not_authenticate_a_client_with_a_secret(app, rp, public_rp, key):
    for holder in (rp, public_rp):
        holder.key = key
        _refused(holder.token_request(grant_type="refresh_token", refresh_token="x"),
                 f"this client authenticates with {holder.client.token_endpoint_auth_method}")


def test_a_secret_and_an_assertion_together_are_refused(app):
    both = RelyingParty.register(app, name="Kaksi", grant_types=["client_credentials"])
    response = _client_credentials(both, auth="post", client_assertion_type="x", client_assertion="y")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_used_assertions_are_pruned_once_expired(machine, runner):
    assert _client_credentials(machine).status_code == 200
    assert UsedAssertion.query.count() == 1
    assert json.loads(runner.invoke(args=["prune", "--older-than", "1s", "--json"]).output)[
        "used_client_assertions"] == 0
    clock.advance(60 + 30 + 2)  # the assertion's exp, the leeway
    assert json.loads(runner.invoke(args=["prune", "--older-than", "1s", "--json"]).output)[
        "used_client_assertions"] == 1


def test_discovery_lists_private_key_jwt_and_its_algorithms(app):
    found = app.test_client().get("/.well-known/openid-configuration").get_json()
    for endpoint in ("token", "introspection", "revocation"):
        assert "private_key_jwt" in found[f"{endpoint}_endpoint_auth_methods_supported"]
        assert found[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] == ["RS256", "PS256", "ES256",
                                                                                   "EdDSA", "Ed25519"]


def test_a_service_with_a_key_pushes_its_request_with_an_assertion(browser, signer, user):
    callback = authorize(browser, signer, user, pushed=True)
    assert signer.redeem(callback["code"]).status_code == 200
    refused = signer.push(auth="post")  # a client with keys has no secret to post
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"


def test_an_assertion_nested_deeper_than_python_reads_is_invalid_client(app):
    """Its subject is read to count the client's requests before anything is verified."""
    payload = base64.urlsafe_b64encode(b"[" * 5000).rstrip(b"=").decode()
    response = app.test_client().post("/token", data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": f"eyJhbGciOiJFUzI1NiJ9.{payload}.c2ln"})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
