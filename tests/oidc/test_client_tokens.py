"""A client's own access tokens (client_credentials): self-contained JWTs, never stored,
yet introspection and revocation answer for them as for stored ones."""
import base64
import json

import pytest
import sqlalchemy as sa
from joserfc import jwt

from idp import create_app
from idp.extensions import db
from idp.oidc import client_tokens
from idp.services import clients, clock
from tests.conftest import IsolatedClient
from tests.support.journeys import authorize
from tests.support.rp import RelyingParty


@pytest.fixture
def machine(app):
    return RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"])


def _token(machine):
    response = machine.token_request(grant_type="client_credentials")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def _active(machine, token):
    return machine.introspect(token).get_json()["active"]


def test_the_token_is_an_rfc9068_jwt_naming_the_client(machine):
    token = _token(machine)
    decoded = jwt.decode(token, machine.jwks(), algorithms=["ES256"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["sub"] == decoded.claims["client_id"] == decoded.claims["aud"] == machine.client_id
    info = machine.introspect(token).get_json()
    assert info["exp"] == decoded.claims["exp"] and info["iat"] == decoded.claims["iat"]
    assert info["iss"] == "http://localhost" and info["token_type"] == "Bearer"


def test_issuing_a_client_token_touches_no_database_once_the_client_is_known(app, machine):
    _token(machine)
    statements = []

    def count(_conn, _cursor, statement, *_):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        _token(machine)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert statements == []


def test_revoked_client_token_is_inactive(machine):
    token = _token(machine)
    assert machine.revoke(token).status_code == 200
    assert machine.introspect(token).get_json() == {"active": False}
    assert _active(machine, _token(machine))  # other tokens of the client live on


def test_only_the_client_itself_may_introspect_or_revoke_its_token(app, machine):
    token = _token(machine)
    other = RelyingParty.register(app, name="Toinen", grant_types=["client_credentials"])
    assert other.introspect(token).get_json() == {"active": False}
    refused = other.revoke(token)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert _active(machine, token)


def test_expired_client_token_is_inactive(app, machine):
    token = _token(machine)
    clock.advance(app.config["IDP_ACCESS_TOKEN_TTL"] + 1)
    assert machine.introspect(token).get_json() == {"active": False}


def test_altered_client_token_is_inactive(machine):
    header, payload, signature = _token(machine).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "everything"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert machine.introspect(f"{header}.{forged}.{signature}").get_json() == {"active": False}


def test_revocation_through_another_worker_reaches_this_one(app, base_config, machine, monkeypatch):
    monkeypatch.setattr(client_tokens, "REVOCATIONS_REFRESH", 0.0)
    worker = create_app(base_config)  # another process: its own memory, the same database
    worker.test_client_class = IsolatedClient
    elsewhere = RelyingParty(worker, machine.client, machine.secret)
    token = _token(machine)
    assert _active(elsewhere, token)
    assert machine.revoke(token).status_code == 200
    assert elsewhere.introspect(token).get_json() == {"active": False}


def test_client_change_applies_at_once_in_this_process(app, machine):
    assert _token(machine)
    machine.client.grant_types = ["authorization_code"]
    db.session.commit()
    response = machine.token_request(grant_type="client_credentials")
    assert response.status_code == 400 and response.get_json()["error"] == "unauthorized_client"


def test_client_change_made_elsewhere_applies_after_the_cache_time(app, base_config, machine):
    worker = create_app(dict(base_config, IDP_CLIENT_CACHE_SECONDS=0))
    worker.test_client_class = IsolatedClient
    elsewhere = RelyingParty(worker, machine.client, machine.secret)
    assert _token(elsewhere)
    with db.engine.begin() as conn:  # as another process would: no events in this one
        conn.execute(sa.text("UPDATE clients SET secret_hash = :h WHERE client_id = :c"),
                     {"h": "0" * 64, "c": machine.client_id})
    assert elsewhere.token_request(grant_type="client_credentials").status_code == 401


def test_a_person_whose_subject_equals_the_client_id_gets_no_token(app, browser, user):
    client, secret = clients.create("Sekava", ["https://rp.example/callback"], client_id=user.sub)
    rp = RelyingParty(app, client, secret)
    response = rp.redeem(authorize(browser, rp, user)["code"])
    assert response.status_code == 400 and response.get_json()["error"] == "unauthorized_client"
